/*
 * e2e-state.h: the client's receive-side E2E state as bytes, so that a
 * restart keeps chain keys and replay memory.  A pure codec: no I/O.
 */
#ifndef SC_E2E_STATE_H
#define SC_E2E_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"
#include "e2e-roster.h"

/*
 * docs/E2E.md section 7 is the layout.  The records hold chain keys in
 * the clear: the caller seals them before they reach disk and wipes
 * its buffers after.  Each record says its own length, so records may
 * be concatenated; a reader reports in *used where the next one starts.
 */
#define E2E_STATE_VERSION	2	/* 1: chains without flags */
#define E2E_STATE_RECEIVER	0x01	/* one e2e_group_receiver */
#define E2E_STATE_SEEN		0x02	/* one e2e_seen (read only: version 1) */
#define E2E_STATE_REPLAY	0x03	/* one e2e_replay */
#define E2E_STATE_DM		0x04	/* e2e_dm_peers, by name */
#define E2E_STATE_ENDS		0x05	/* our last chain per room, by room */
#define E2E_STATE_ROSTERS	0x06	/* verified rosters, by room */
#define E2E_STATE_ROSTERS_MAX	10000	/* rooms in one record */

#define E2E_STATE_DM_MAX	10000	/* peers in one record */
#define E2E_STATE_ENDS_MAX	10000	/* rooms in one record */

/* Our outbound chain in a room, as far as a successor must name it. */
struct e2e_chain_end {
	char		 room[E2E_NAME_MAX + 1];
	uint32_t	 chain_id;
	uint32_t	 count;		/* messages it carried */
};

/* Bytes the record needs, or 0 if the receiver cannot be written. */
size_t	 e2e_receiver_state_size(const struct e2e_group_receiver *);
int	 e2e_receiver_state_write(const struct e2e_group_receiver *,
	    uint8_t *out, size_t outsz, size_t *len);
/*
 * Initialise r from the record at the start of in[0..len).  On success
 * the caller owns r (e2e_group_receiver_free); on failure r is wiped
 * and holds nothing to free.
 */
int	 e2e_receiver_state_read(struct e2e_group_receiver *r,
	    const uint8_t *in, size_t len, size_t *used);

size_t	 e2e_seen_state_size(const struct e2e_seen *);
int	 e2e_seen_state_write(const struct e2e_seen *, uint8_t *out,
	    size_t outsz, size_t *len);
/* As above; on failure s is left empty, as e2e_seen_init makes it. */
int	 e2e_seen_state_read(struct e2e_seen *s, const uint8_t *in,
	    size_t len, size_t *used);

/*
 * The replay set: its ids in id order and floor_ms.  Writing merges r's
 * unsorted tail first (the contents do not change).
 */
size_t	 e2e_replay_state_size(const struct e2e_replay *);
int	 e2e_replay_state_write(struct e2e_replay *, uint8_t *out,
	    size_t outsz, size_t *len);
/* Replaces r's contents; on failure r is left empty. */
int	 e2e_replay_state_read(struct e2e_replay *r, const uint8_t *in,
	    size_t len, size_t *used);

/*
 * Direct-message counters: v[0..n) sorted by name, each name once.  The
 * reader allocates *v (free it); on failure *v is NULL and *n 0.
 */
size_t	 e2e_dm_state_size(const struct e2e_dm_peer *v, size_t n);
int	 e2e_dm_state_write(const struct e2e_dm_peer *v, size_t n,
	    uint8_t *out, size_t outsz, size_t *len);
int	 e2e_dm_state_read(struct e2e_dm_peer **v, size_t *n,
	    const uint8_t *in, size_t len, size_t *used);

/* Chain ends, likewise sorted by room. */
size_t	 e2e_ends_state_size(const struct e2e_chain_end *v, size_t n);
int	 e2e_ends_state_write(const struct e2e_chain_end *v, size_t n,
	    uint8_t *out, size_t outsz, size_t *len);
int	 e2e_ends_state_read(struct e2e_chain_end **v, size_t *n,
	    const uint8_t *in, size_t len, size_t *used);

/*
 * Rosters as verified (e2e-roster.h), v[0..n) sorted by room.  The reader
 * allocates *v and each member array (e2e_roster_free each, then free).
 */
size_t	 e2e_rosters_state_size(const struct e2e_roster *v, size_t n);
int	 e2e_rosters_state_write(const struct e2e_roster *v, size_t n,
	    uint8_t *out, size_t outsz, size_t *len);
int	 e2e_rosters_state_read(struct e2e_roster **v, size_t *n,
	    const uint8_t *in, size_t len, size_t *used);

#endif
