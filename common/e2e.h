/*
 * e2e.h: end-to-end encryption as a pure library (no I/O): sealed envelopes
 * for direct messages and key distribution, sender keys for rooms.
 */
#ifndef SC_E2E_H
#define SC_E2E_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/*
 * docs/E2E.md is the byte-level specification of everything below.
 * Every function returns E2E_OK (0) or one of the negative codes, so a
 * caller can log e2e_strerror() and decide what the user is shown.
 */
enum e2e_err {
	E2E_OK			= 0,
	E2E_EINVAL		= -1,	/* bad argument from the caller */
	E2E_ENOSPC		= -2,	/* output buffer too small */
	E2E_ECRYPTO		= -3,	/* a primitive failed (RNG, OpenSSL) */
	E2E_ENOMEM		= -4,
	E2E_EMALFORMED		= -5,	/* cannot be parsed */
	E2E_EVERSION		= -6,	/* unknown version or type */
	E2E_ESIG		= -7,	/* signature does not verify */
	E2E_ERECIPIENT		= -8,	/* envelope addressed to someone else */
	E2E_EDECRYPT		= -9,	/* key agreement or AEAD failed */
	E2E_EUNKNOWN_CHAIN	= -10,	/* no SKDM received for this chain */
	E2E_EREPLAY		= -11,	/* seen before, or chain already held */
	E2E_ETOO_FAR		= -12,	/* forward jump above E2E_MAX_JUMP */
	E2E_ETOO_OLD		= -13,	/* its key was never held or is gone */
	E2E_EROOM		= -14,	/* group message from another room */
	E2E_ESENDER		= -15,	/* group message from another sender */
	E2E_EEXHAUSTED		= -16,	/* chain iteration at its end: rotate */
	E2E_EROSTER		= -17,	/* roster entry the policy forbids */
	E2E_EFORK		= -18	/* roster entry that does not follow */
};

#define E2E_VERSION		2	/* 1: no counters, no roster head */
#define E2E_TYPE_DM		0x01	/* envelope: direct message */
#define E2E_TYPE_SKDM		0x10	/* envelope: sender key distribution */
#define E2E_TYPE_GROUP		0x20	/* group message (never an envelope) */

#define E2E_NAME_MAX		255	/* user and room names: 1..255 bytes */
#define E2E_MSGID_LEN		16
#define E2E_PT_MAX		(512 * 1024)	/* fits CRYPTO_PARTS_MAX */

/* Receiver limits (docs/DESIGN.md section 7). */
#define E2E_MAX_JUMP		1000	/* keys skipped by one message */
#define E2E_MAX_SKIPPED		2000	/* skipped keys held per chain */
#define E2E_MAX_CHAINS		5	/* chains held per (room, sender) */
#define E2E_ROTATE_MSGS		100	/* messages per outbound chain */
#define E2E_SEEN_MAX		4096	/* envelope ids remembered */

/*
 * The SKDM payload: len+room, epoch, chain id, iteration, CK, key, and
 * the chain it replaces: its id and how many messages it carried.
 */
#define E2E_SKDM_MAX		(1 + E2E_NAME_MAX + 12 + 2 * CRYPTO_KEY_LEN + 8)
#define E2E_HASH_LEN		32	/* a roster head (e2e-roster.c) */

const char	*e2e_strerror(int);

/*
 * Sealed envelopes.  The header is authenticated (AAD and signature);
 * e2e_peek reads it without verifying anything, only so the caller can
 * find the sender's pinned key and the prekey named by spk_id.
 */
struct e2e_env_hdr {
	uint8_t		 version;
	uint8_t		 type;
	char		 sender[E2E_NAME_MAX + 1];
	char		 recipient[E2E_NAME_MAX + 1];
	uint32_t	 spk_id;
	uint8_t		 e_pub[CRYPTO_KEY_LEN];
	uint8_t		 msg_id[E2E_MSGID_LEN];
	uint64_t	 ts_ms;
	uint32_t	 stream;	/* the sender's counter stream, or 0 */
	uint64_t	 counter;	/* per pair and stream, from 1; or 0 */
};

/* Wire length of an envelope, or 0 if the names or length are invalid. */
size_t	 e2e_seal_size(const char *sender, const char *recipient,
	    size_t ptlen);
int	 e2e_seal(const uint8_t sender_sign_priv[32], const char *sender,
	    const char *recipient, uint32_t spk_id, const uint8_t spk_pub[32],
	    uint8_t type, const void *pt, size_t ptlen, uint64_t ts_ms,
	    uint8_t *out, size_t outsz, size_t *outlen);
/*
 * The same with the sender's counter: a direct message names its stream
 * (random, per sender and recipient) and its place in it (1, 2, ...), so
 * that the recipient notices what is missing or late (e2e_dm_check).
 * e2e_seal seals with stream and counter 0: no order is claimed.
 */
int	 e2e_seal_counted(const uint8_t sender_sign_priv[32],
	    const char *sender, const char *recipient, uint32_t spk_id,
	    const uint8_t spk_pub[32], uint8_t type, uint32_t stream,
	    uint64_t counter, const void *pt, size_t ptlen, uint64_t ts_ms,
	    uint8_t *out, size_t outsz, size_t *outlen);
int	 e2e_peek(const uint8_t *env, size_t len, struct e2e_env_hdr *);
/*
 * Verify the signature with the sender's pinned key, check that the
 * recipient is me, then decrypt into out (outsz >= len is always enough).
 * hdr may be NULL.  The msg_id must then go through e2e_replay_check_add.
 */
int	 e2e_open(const uint8_t *env, size_t len, const char *me,
	    const uint8_t sender_sign_pub[32], const uint8_t spk_priv[32],
	    uint8_t *out, size_t outsz, size_t *outlen,
	    struct e2e_env_hdr *hdr);

/*
 * Envelope ids opened, each with the prekey it was sealed to and the
 * sender's timestamp, for replay detection (e2e-replay.c).  An id is kept
 * as long as its prekey is held (e2e_replay_retain drops the others);
 * past E2E_REPLAY_MAX the eighth with the oldest timestamps goes and
 * floor_ms rises: an envelope stamped at or before it is refused.
 */
#define E2E_REPLAY_MAX		65536

struct e2e_replay_id {
	uint8_t		 id[E2E_MSGID_LEN];
	uint32_t	 spk_id;
	uint64_t	 ts_ms;
};

struct e2e_replay {
	struct e2e_replay_id	*v;	/* v[0..sorted) by id, then a tail */
	size_t			 n;
	size_t			 sorted;
	size_t			 cap;
	uint64_t		 floor_ms;
};

void	 e2e_replay_init(struct e2e_replay *);
void	 e2e_replay_free(struct e2e_replay *);
/*
 * After e2e_open: E2E_OK if the id is new (now remembered), E2E_EREPLAY
 * if it was opened before, E2E_ETOO_OLD if ts_ms is at or below floor_ms.
 */
int	 e2e_replay_check_add(struct e2e_replay *, const uint8_t id[16],
	    uint32_t spk_id, uint64_t ts_ms);
/* Forget the ids of prekeys not in spk_ids (erased); how many went. */
size_t	 e2e_replay_retain(struct e2e_replay *, const uint32_t *spk_ids,
	    size_t nids);
size_t	 e2e_replay_count(const struct e2e_replay *);
/* All ids sorted by id (the tail is merged first), count of them above. */
const struct e2e_replay_id *e2e_replay_ids(struct e2e_replay *);
/* Replace the contents: ids sorted by id and unique, or E2E_EMALFORMED. */
int	 e2e_replay_load(struct e2e_replay *, const struct e2e_replay_id *ids,
	    size_t n, uint64_t floor_ms);
/*
 * No timestamp, and so no floor, later than max_ms: a sender's clock
 * pushed into the future must not refuse every envelope after it.
 */
void	 e2e_replay_clamp(struct e2e_replay *, uint64_t max_ms);

/*
 * The last E2E_SEEN_MAX envelope ids, as version 1 of the client kept
 * them: read only to carry them over into an e2e_replay.
 */
struct e2e_seen {
	uint8_t		 ids[E2E_SEEN_MAX][E2E_MSGID_LEN];
	size_t		 next;
	size_t		 count;
};

void	 e2e_seen_init(struct e2e_seen *);
/* E2E_OK if the id is new (it is now remembered), E2E_EREPLAY if not. */
int	 e2e_seen_check_add(struct e2e_seen *, const uint8_t id[16]);

/*
 * Sender keys.  An outbound chain is one member's key for one room; its
 * fields are secrets, wiped by e2e_chain_wipe.
 */
struct e2e_chain {
	uint32_t	 chain_id;
	uint32_t	 iteration;		/* of the next message */
	uint8_t		 ck[CRYPTO_KEY_LEN];	/* CK_iteration */
	uint8_t		 sign_priv[CRYPTO_KEY_LEN];
	uint8_t		 sign_pub[CRYPTO_KEY_LEN];
	uint64_t	 created_ms;
	uint32_t	 sent;			/* messages sealed */
};

struct e2e_group_hdr {
	uint8_t		 version;
	uint8_t		 type;
	char		 room[E2E_NAME_MAX + 1];
	char		 sender[E2E_NAME_MAX + 1];
	uint32_t	 epoch;
	uint32_t	 chain_id;
	uint32_t	 iteration;
	uint8_t		 msg_id[E2E_MSGID_LEN];
	uint64_t	 ts_ms;
	uint8_t		 roster_head[E2E_HASH_LEN];	/* the sender's view */
};

struct e2e_skdm {
	char		 room[E2E_NAME_MAX + 1];
	uint32_t	 epoch;
	uint32_t	 chain_id;
	uint32_t	 iteration;
	uint8_t		 ck[CRYPTO_KEY_LEN];
	uint8_t		 sign_pub[CRYPTO_KEY_LEN];
	uint32_t	 prev_chain_id;	/* the chain replaced, or 0 */
	uint32_t	 prev_count;	/* messages it carried */
};

/*
 * What a message or key says about order: how many of its sender's
 * messages are missing before it (or, for an SKDM, at the end of the
 * chain it replaces), and whether it came after later ones.
 */
struct e2e_order {
	uint64_t	 missing;
	int		 late;
};

/* Chain ids are random and never 0: 0 names no chain. */
int	 e2e_chain_new(struct e2e_chain *, uint64_t now_ms);
void	 e2e_chain_wipe(struct e2e_chain *);
/*
 * The SKDM payload at the chain's current iteration: its holder reads
 * from the next message on, never before.  buf holds the chain key:
 * wipe it once it is sealed.
 */
int	 e2e_chain_skdm(const struct e2e_chain *, const char *room,
	    uint32_t epoch, uint8_t *buf, size_t bufsz, size_t *len);
/*
 * The same, naming the chain this one replaces in the room (its id, 0
 * for none, and its iteration: how many messages it carried), so that a
 * drop at that chain's end is noticed.
 */
int	 e2e_chain_skdm_prev(const struct e2e_chain *, const char *room,
	    uint32_t epoch, uint32_t prev_chain_id, uint32_t prev_count,
	    uint8_t *buf, size_t bufsz, size_t *len);
/* Parse an SKDM payload; the caller wipes skdm->ck. */
int	 e2e_skdm_parse(const uint8_t *buf, size_t len, struct e2e_skdm *);
/*
 * True when the chain must be replaced before the next message: after
 * E2E_ROTATE_MSGS messages, at deadline_ms, on a membership or identity
 * change, or when its iteration is at the end.
 */
int	 e2e_chain_needs_rotation(const struct e2e_chain *, uint64_t now_ms,
	    int membership_changed, int identity_changed, uint64_t deadline_ms);
/* now_ms plus a uniformly random delay in [min_s, max_s] seconds. */
int	 e2e_rotation_deadline(uint64_t now_ms, uint32_t min_s, uint32_t max_s,
	    uint64_t *deadline_ms);

size_t	 e2e_group_seal_size(const char *room, const char *sender,
	    size_t ptlen);
/* Seal the next message and advance the chain, erasing the used key. */
int	 e2e_group_seal(struct e2e_chain *, const char *room,
	    const char *sender, uint32_t epoch, const void *pt, size_t ptlen,
	    uint64_t ts_ms, uint8_t *out, size_t outsz, size_t *outlen);
/*
 * The same, with the roster head the sender sees (e2e-roster.c) in the
 * header; e2e_group_seal puts 32 zero bytes (a room without a roster).
 */
int	 e2e_group_seal_head(struct e2e_chain *, const char *room,
	    const char *sender, uint32_t epoch,
	    const uint8_t roster_head[E2E_HASH_LEN], const void *pt,
	    size_t ptlen, uint64_t ts_ms, uint8_t *out, size_t outsz,
	    size_t *outlen);
/* Parse a group message header without verifying anything. */
int	 e2e_group_peek(const uint8_t *msg, size_t len, struct e2e_group_hdr *);

/*
 * What one member knows of another member's chains in one room.  Its
 * fields are private; e2e_group_receiver_free wipes and frees them.
 */
struct e2e_skipped;

struct e2e_in_chain {
	int			 used;
	uint32_t		 chain_id;
	uint32_t		 epoch;
	uint32_t		 base;		/* first iteration ever held */
	uint32_t		 floor;		/* below: keys erased */
	uint64_t		 next;		/* iteration ck belongs to */
	uint8_t			 ck[CRYPTO_KEY_LEN];
	uint8_t			 sign_pub[CRYPTO_KEY_LEN];
	uint64_t		 added;		/* order of arrival */
	int			 ended;		/* a newer chain replaced it */
	struct e2e_skipped	*skipped;	/* sorted by iteration */
	size_t			 nskipped;
};

struct e2e_group_receiver {
	char			 room[E2E_NAME_MAX + 1];
	char			 sender[E2E_NAME_MAX + 1];
	struct e2e_in_chain	 chains[E2E_MAX_CHAINS];
	uint64_t		 nadded;
};

int	 e2e_group_receiver_init(struct e2e_group_receiver *, const char *room,
	    const char *sender);
void	 e2e_group_receiver_free(struct e2e_group_receiver *);
/*
 * Learn a chain from an SKDM payload that arrived in an envelope whose
 * signature e2e_open verified; sender is that envelope's sender.
 */
int	 e2e_group_receiver_add_skdm(struct e2e_group_receiver *,
	    const char *sender, const uint8_t *skdm, size_t len);
/*
 * The same; order (may be NULL) says how many messages of the chain it
 * replaces, held here, never arrived, and that chain is marked ended:
 * its messages arriving from now on are late.
 */
int	 e2e_group_receiver_learn(struct e2e_group_receiver *,
	    const char *sender, const uint8_t *skdm, size_t len,
	    struct e2e_order *order);
/*
 * Open a message delivered in r's room from r's sender (as the server
 * names them); the header must name the same.  hdr may be NULL.
 */
int	 e2e_group_open(struct e2e_group_receiver *r, const uint8_t *msg,
	    size_t len, uint8_t *out, size_t outsz, size_t *outlen,
	    struct e2e_group_hdr *hdr);
/*
 * The same; order (may be NULL) says how many iterations this message
 * skipped (messages missing so far) and whether it is late: its key was
 * a skipped one, or its chain was replaced already.
 */
int	 e2e_group_open_order(struct e2e_group_receiver *r,
	    const uint8_t *msg, size_t len, uint8_t *out, size_t outsz,
	    size_t *outlen, struct e2e_group_hdr *hdr, struct e2e_order *order);

/*
 * Direct-message order (e2e-order.c): per sender, the highest counter
 * seen in each of its last E2E_DM_STREAMS streams (one per device, or
 * per lost state).  Our own counter towards that user lives beside it.
 */
#define E2E_DM_STREAMS		4

struct e2e_dm_stream {
	uint32_t	 stream;	/* 0: slot unused */
	uint64_t	 high;		/* highest counter seen */
	uint64_t	 used;		/* e2e_dm_peer.clock when last seen */
};

struct e2e_dm_peer {
	char			 name[E2E_NAME_MAX + 1];
	uint32_t		 out_stream;	/* ours to them, 0: none yet */
	uint64_t		 out_next;	/* the next counter we send */
	struct e2e_dm_stream	 in[E2E_DM_STREAMS];
	uint64_t		 clock;
};

int	 e2e_dm_peer_init(struct e2e_dm_peer *, const char *name);
/*
 * The stream and counter for our next message to this peer: a fresh
 * random stream the first time.  The caller saves the peer before the
 * message leaves, or a restart would send a counter twice.
 */
int	 e2e_dm_next(struct e2e_dm_peer *, uint32_t *stream, uint64_t *counter);
/*
 * A direct message from the peer opened (and not a replay): what its
 * counter says.  Counter 0 claims no order.  A stream not held takes the
 * least recently used slot; its counters before this one are missing.
 */
int	 e2e_dm_check(struct e2e_dm_peer *, uint32_t stream, uint64_t counter,
	    struct e2e_order *order);

#endif
