/*
 * e2e-client.h: the client's end-to-end encryption state, between the
 * pure library (common/e2e.h) and the chat: whose keys we know, our
 * outbound chain per room, what we learnt of others' chains, and the
 * messages waiting for keys before they can be sealed.
 */
#ifndef SC_E2E_CLIENT_H
#define SC_E2E_CLIENT_H

#include <sys/queue.h>

#include <stdint.h>

#include "e2e.h"
#include "e2e-state.h"
#include "e2e-roster.h"
#include "localfile.h"
#include "prekeys.h"
#include "proto.h"
#include "trust.h"

#define E2EC_PEER_FRESH_MS	60000	/* keys older than this are asked again */
#define E2EC_RX_MAX		10000	/* (room, sender) receivers kept */
/* What the state file holds at most, under the file's own bound. */
#define E2EC_STATE_MAX		(LOCALFILE_MAX - 64 * 1024)
#define E2EC_CLOCK_AHEAD_MS	600000	/* an envelope stamped further ahead
					   of our clock is refused */
#define E2EC_PENDING_MAX	10000	/* lines waiting for keys */
#define E2EC_HELD_MAX		64	/* joins, parts and keys held per roster */
#define E2EC_HELD_ALL_MAX	1024	/* with the messages after those keys */
#define E2EC_HELD_BYTES_MAX	(4 * 1024 * 1024)	/* messages held, all */
							/* rooms */
#define E2EC_REKEY_MIN_S	30	/* docs/DESIGN.md section 7, unless the */
#define E2EC_REKEY_MAX_S	120	/* server's WELCOME says otherwise */
#define E2EC_REKEY_CAP_S	3600	/* the longest a server may ask */
#define E2EC_PREKEY_CHECK_S	3600	/* rotate a long-running client's prekey */
/*
 * Keys pinned unasked stop here: a server showing one a second would fill
 * known_users (TRUST_MAX) in 28 hours, and no new contact could be pinned.
 */
#define E2EC_UNASKED_MAX	90000	/* TRUST_MAX less 10,000 */
#define E2EC_PIN_BURST		100	/* keys pinned unasked at once, */
					/* then one a second */
#define E2EC_TRUST_SAVE_S	1	/* known_users written at most this often */
#define E2EC_MEMBERS_MAX	10000	/* names taken from one WHO answer */
#define E2EC_DM_MAX		E2E_STATE_DM_MAX	/* counters kept */
#define E2EC_TX_MAX		E2E_STATE_ENDS_MAX	/* chain ends kept */
#define E2EC_ROSTERS_MAX	1000	/* rooms whose rosters we follow */

struct client;
struct frame;

/* A bundle of SKDM envelopes, travelling in a room's log. */
#define E2E_TYPE_BUNDLE		0x11

enum peer_state {
	PEER_NONE,		/* never asked */
	PEER_FETCHING,		/* KEYS_GET in flight */
	PEER_READY,		/* KEYS arrived and verified */
	PEER_FAILED,		/* no such user, or a bad prekey */
};

/* Someone's public keys as the server last showed them. */
struct peer {
	TAILQ_ENTRY(peer)	 entry;
	char			 name[NAME_MAX_LEN + 1];
	enum peer_state		 state;
	uint64_t		 fetched_ms;
	uint8_t			 sign_pub[32];
	int			 has_spk;
	uint32_t		 spk_id;
	uint64_t		 spk_created;
	uint8_t			 spk_pub[32];
	int			 want_verify;	/* print the safety number */
	int			 named;		/* by the user: DM, /invite, /verify */
};
TAILQ_HEAD(peerlist, peer);

/* How a key came, for pin_allowed. */
enum key_source {
	KEY_SHOWN,		/* stamped on an event, unasked */
	KEY_FETCHED,		/* KEYS_GET for a room's members */
	KEY_NAMED,		/* KEYS_GET for a user the user named */
};

/* A line waiting to be sealed: for a room, or for one person. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	char			 to[NAME_MAX_LEN + 1];	/* DMs only */
	char			*text;
	char			 reqid[CLIENT_REQID_MAX + 1];	/* a script's */
};
TAILQ_HEAD(pendinglist, pending);

enum tx_state {
	TX_IDLE,		/* chain usable, or nothing to send */
	TX_ROSTER,		/* new chain: fetching the room's roster */
	TX_WHO,			/* new chain: asked who the members are */
	TX_KEYS,		/* new chain: fetching their keys */
};

/* Our side of one room: the outbound chain and why it must change. */
struct txroom {
	TAILQ_ENTRY(txroom)	 entry;
	char			 room[ROOM_MAX_LEN + 1];
	int			 has_chain;
	struct e2e_chain	 chain;
	uint64_t		 deadline_ms;	/* rotate after, wall clock */
	int			 stale;		/* members or keys changed */
	uint32_t		 epoch;		/* seq of the last membership event */
	unsigned		 rekeys;
	enum tx_state		 state;	/* TX_ROSTER: fetching its roster */
	uint32_t		 prev_id;	/* the chain last replaced, */
	uint32_t		 prev_count;	/* and its messages */
	char			(*members)[NAME_MAX_LEN + 1];
	size_t			 nmembers;
	struct pendinglist	 pending;
};
TAILQ_HEAD(txlist, txroom);

/* A room's roster as we verified it (roster.c); r.mark says how far. */
#define RR_UNKNOWN	0	/* never fetched */
#define RR_VERIFIED	1	/* a chain, verified to its head */
#define RR_UNVERIFIED	2	/* the server has none: members are its word */
#define RR_BROKEN	3	/* an entry did not verify: frozen as it was */

#define RR_WANT_NONE	0
#define RR_WANT_JOIN	1
#define RR_WANT_CREATE	2
#define RR_WANT_PART	3
#define RR_WANT_INVITE	4
#define RR_WANT_REMOVE	5

/*
 * A join or part whose entry is ahead of the roster held, or came while
 * it was being fetched: shown once the fetch says whether it is in it.
 * A message of a sender the roster held does not list, during a fetch:
 * opened once the fetch says whether the sender is a member.
 */
struct held_event {
	uint8_t			 kind;
	char			 user[NAME_MAX_LEN + 1];
	uint64_t		 seq;
	uint64_t		 ts;
	uint32_t		 index;		/* of its entry */
	uint8_t			 hash[E2E_HASH_LEN];
	int			 judged;	/* by the entry verified at index:
						   1 this one, -1 another */
	uint8_t			*body;		/* a message's */
	size_t			 len;
	uint8_t			 sign_pub[32];	/* stamped on it, if has_pub */
	int			 has_pub;
};

struct rroom {
	TAILQ_ENTRY(rroom)	 entry;
	struct e2e_roster	 r;
	int			 syncing;	/* ROSTER_GET in flight */
	int			 want;		/* RR_WANT_*: our op, once synced */
	uint8_t			 want_arg;	/* policy, or role */
	int			 next;		/* RR_WANT_*: asked meanwhile */
	uint8_t			 next_arg;
	char			 subject[NAME_MAX_LEN + 1];
	uint8_t			 subject_key[32];
	int			 put_sent;	/* our entry is on its way */
	uint8_t			 put_hash[E2E_HASH_LEN];
	int			 retries;
	int			 migrate_tried;
	int			 warned;	/* roster_differs said for */
	uint8_t			 warned_head[E2E_HASH_LEN];
	struct held_event	*held;		/* events waiting for the fetch */
	size_t			 nheld;
	size_t			 nheld_first;	/* of them joins, parts, keys */
};
TAILQ_HEAD(rroomlist, rroom);

/* What one sender's SKDMs in one room gave us, and who signed them. */
struct rxchain {
	TAILQ_ENTRY(rxchain)	 entry;
	uint8_t			 id_pub[32];	/* identity key of the SKDMs */
	struct e2e_group_receiver r;
};
TAILQ_HEAD(rxlist, rxchain);

struct e2ec {
	struct prekeys		 prekeys;
	char			*prekeys_file;
	struct trust		 trust;
	char			*state_file;
	struct e2e_replay	 replay;	/* envelope ids opened */
	struct rroomlist	 rosters;
	size_t			 nrosters;
	int			 rosters_full;	/* said once */
	struct e2e_dm_peer	*dm;		/* direct-message counters, */
	size_t			 ndm, dmcap;	/* sorted by name */
	struct peerlist		 peers;
	struct txlist		 tx;
	struct rxlist		 rx;
	size_t			 nrx;
	struct pendinglist	 dms;
	size_t			 npending;
	int			 dirty;		/* state file behind memory */
	int			 may_erase;	/* backlog read once: erase due keys */
	struct event		*ev_prekey;
	int			 trust_dirty;	/* known_users behind memory */
	struct event		*ev_trust;
	unsigned		 pin_tokens;	/* pin_allowed's bucket */
	uint64_t		 pin_refilled_ms;
	int			 pin_said;
	int			 pins_full_said;	/* E2EC_UNASKED_MAX said */
	size_t			 held_bytes;	/* messages held, all rooms */
};

void	e2ec_pending_pop(struct e2ec *, struct pendinglist *,
	    struct pending *);
struct e2e_dm_peer *dm_peer_get(struct client *, const char *);
void	e2ec_tx_restore(struct client *, const struct e2e_chain_end *);
/* 1 and the key if name's keys are in and trusted, 0 asked, -1 none. */
int	e2ec_peer_key(struct client *, const char *, uint8_t [32]);
/* The roster of room is as current as it gets: a waiting chain goes. */
void	e2ec_roster_synced(struct client *, const char *);
struct jbuf;

/* roster.c */
int	 roster_join(struct client *, const char *, uint8_t);
int	 roster_part(struct client *, const char *);
void	 roster_admin(struct client *, const char *, const char *, int,
	    uint8_t);
void	 roster_pump(struct client *);
void	 roster_logged_in(struct client *);
void	 roster_answer(struct client *, const struct frame *);
int	 roster_error(struct client *, uint16_t, const char *);
struct outmsg *roster_limited(struct client *, const char *);
/* roster_event: the membership event waits for its roster's fetch. */
#define ROSTER_HELD		2
int	 roster_event(struct client *, const char *, const char *, uint8_t,
	    const uint8_t *, size_t, uint64_t, uint64_t);
size_t	 roster_held(struct client *);
int	 roster_hold_message(struct client *, const char *, const char *,
	    const uint8_t *, const uint8_t *, size_t, uint64_t, uint64_t);
/* A room message as it came, or a held one and what the fetch said. */
#define ROSTER_ARRIVED		0
#define ROSTER_RELEASED		1
#define ROSTER_ADMITTED		2
const char *roster_admits(struct client *, const char *, const char *,
	    const uint8_t *, int, int *);
int	 e2ec_key_for_us(struct client *, const uint8_t *, size_t);
void	 roster_flush_held(struct client *, const char *);
uint8_t	 roster_mark(struct client *, const char *);
void	 roster_heard(struct client *, const char *);
const struct e2e_roster *roster_of(struct client *, const char *);
int	 roster_prepare(struct client *, const char *);
const uint8_t *roster_head(struct client *, const char *);
void	 roster_check_head(struct client *, const char *, const char *,
	    const uint8_t [E2E_HASH_LEN]);
size_t	 roster_export(struct client *, struct e2e_roster **);
void	 roster_import(struct client *, struct e2e_roster *, size_t);
void	 roster_free_all(struct client *);
void	 roster_reset(struct client *);
void	 roster_status(struct client *, struct jbuf *);
size_t	e2ec_tx_ends(struct client *, struct e2e_chain_end **);
/* One receiver of others' chains, out of the list and wiped. */
void	e2ec_rx_drop(struct client *, struct rxchain *);
/* Write known_users now if it changed. */
void	e2ec_save_trust(struct client *);

#endif
