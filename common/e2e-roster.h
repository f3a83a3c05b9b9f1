/*
 * e2e-roster.h: a room's membership as a hash chain of entries, each
 * signed by the identity key its room's policy allows (docs/E2E.md 9).
 * The server stores and relays the chain; it cannot write an entry.
 * Pure: no I/O, no clock.
 */
#ifndef SC_E2E_ROSTER_H
#define SC_E2E_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"

#define E2E_TYPE_ROSTER		0x30	/* a roster entry */

/* Operations. */
#define E2E_ROSTER_CREATE	1	/* index 0: the creator, the policy */
#define E2E_ROSTER_JOIN		2	/* the subject itself */
#define E2E_ROSTER_PART		3	/* the subject itself */
#define E2E_ROSTER_INVITE	4	/* an admin admits the subject */
#define E2E_ROSTER_REMOVE	5	/* an admin removes the subject */

/* arg of CREATE: the policy; of INVITE: the role. */
#define E2E_ROSTER_OPEN		0	/* anyone may join */
#define E2E_ROSTER_INVITE_ONLY	1	/* only an admin admits */
#define E2E_ROSTER_MEMBER	0
#define E2E_ROSTER_ADMIN	1

#define E2E_ROSTER_MEMBERS_MAX	10000	/* members of one roster */
#define E2E_ROSTER_HISTORY	64	/* entry hashes remembered */
#define E2E_ROSTER_ENTRY_MAX	(2 + 1 + E2E_NAME_MAX + 4 + E2E_HASH_LEN + \
				    1 + 2 * (1 + E2E_NAME_MAX + 32) + 1 + 8 + \
				    64)

struct e2e_roster_entry {
	uint8_t		 version;
	uint8_t		 type;
	char		 room[E2E_NAME_MAX + 1];
	uint32_t	 index;
	uint8_t		 prev[E2E_HASH_LEN];	/* zero for index 0 */
	uint8_t		 op;
	char		 subject[E2E_NAME_MAX + 1];
	uint8_t		 subject_key[32];
	char		 actor[E2E_NAME_MAX + 1];
	uint8_t		 actor_key[32];
	uint8_t		 arg;
	uint64_t	 ts_ms;
	uint8_t		 sig[64];
	size_t		 len;		/* of the encoded entry */
};

struct e2e_roster_member {
	char		 name[E2E_NAME_MAX + 1];
	uint8_t		 key[32];	/* the identity key its entry bound */
	uint8_t		 role;
};

/* A verified chain, as its last entry left it. */
struct e2e_roster {
	char				 room[E2E_NAME_MAX + 1];
	uint8_t				 policy;
	uint32_t			 count;		/* entries applied */
	uint8_t				 head[E2E_HASH_LEN];	/* last one's hash */
	struct e2e_roster_member	*m;		/* sorted by name */
	size_t				 nm;
	uint8_t				 hist[E2E_ROSTER_HISTORY][E2E_HASH_LEN];
	size_t				 nhist;		/* newest at nhist-1 */
	uint8_t				 mark;		/* the caller's; kept
							   by the record */
};

/*
 * Sign an entry: fields from e (version, type, len and sig are set),
 * signed with actor_priv, whose public half must be e->actor_key.
 */
int	 e2e_roster_entry_sign(struct e2e_roster_entry *e,
	    const uint8_t actor_priv[32], uint8_t *out, size_t outsz,
	    size_t *outlen);
/* Parse, without verifying: E2E_EVERSION, E2E_EMALFORMED. */
int	 e2e_roster_entry_parse(const uint8_t *buf, size_t len,
	    struct e2e_roster_entry *e);
/* SHA-256("securechat/v1/roster-hash" || the whole entry). */
int	 e2e_roster_entry_hash(const uint8_t *buf, size_t len,
	    uint8_t out[E2E_HASH_LEN]);

int	 e2e_roster_init(struct e2e_roster *, const char *room);
void	 e2e_roster_free(struct e2e_roster *);
/* A deep copy of src into dst (dst's old contents are not freed). */
int	 e2e_roster_copy(struct e2e_roster *dst, const struct e2e_roster *src);
/*
 * Verify an entry against the chain and apply it: the room, the index
 * (E2E_EFORK if it does not follow: an index taken, or a gap), the
 * previous hash (E2E_EFORK), the signature by actor_key (E2E_ESIG), and
 * the policy (E2E_EROSTER: the actor may not do that to the subject).
 * Nothing changes unless it is E2E_OK.  e may be NULL.
 */
int	 e2e_roster_apply(struct e2e_roster *, const uint8_t *buf, size_t len,
	    struct e2e_roster_entry *e);
const struct e2e_roster_member *e2e_roster_member(const struct e2e_roster *,
	    const char *name);
/*
 * Is hash the head or one of the last E2E_ROSTER_HISTORY entries?
 * (A sender a few entries behind is not a fork.)
 */
int	 e2e_roster_knows(const struct e2e_roster *, const uint8_t *hash);
/* The hash of entry index, if it is still in the history; else NULL. */
const uint8_t *e2e_roster_hash_at(const struct e2e_roster *, uint32_t index);

#endif
