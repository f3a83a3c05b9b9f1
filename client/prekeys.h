/*
 * prekeys.h: the client's signed X25519 prekeys (docs/DESIGN.md section 7),
 * kept sealed in a local file, rotated weekly, erased after two weeks.
 */
#ifndef SC_PREKEYS_H
#define SC_PREKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define PREKEY_ROTATE_S		(7 * 86400)	/* a new one after a week */
#define PREKEY_ERASE_S		(14 * 86400)	/* private half gone after two */
#define PREKEYS_MAX		4
#define PREKEYS_LABEL		"prekeys"	/* of the sealed file */

struct prekey {
	uint32_t	 id;
	uint64_t	 created_s;	/* wall clock, seconds */
	uint8_t		 priv[32];
	uint8_t		 pub[32];
	uint8_t		 sig[64];	/* e2e_prekey_sign by the identity */
};

/* Oldest first; v[n - 1] is the current one, the one to publish. */
struct prekeys {
	struct prekey	 v[PREKEYS_MAX];
	size_t		 n;
	size_t		 dropped;	/* prekeys_load: dated in the future */
};

/*
 * Load path (sealed to id), make a new prekey if there is none or the
 * current one is PREKEY_ROTATE_S old, erase those PREKEY_ERASE_S old
 * (never the current one) if erase is set, and write the file back if
 * anything changed (*changed = 1: publish prekeys_current).  A client
 * back from a long absence loads with erase 0 until it has read its
 * backlog: what was sealed to a key while it was away still opens.
 * A prekey created more than a day ahead (the clock was ahead when it was
 * made, and the server refused it) is erased and counted in pk->dropped,
 * so that a wrong clock once does not stop the client for good.
 * -1 with a message in err, pk wiped, on a damaged file.
 */
int	prekeys_load(const char *path, const struct identity *id,
	    uint64_t now_s, int erase, struct prekeys *pk, int *changed,
	    char *err, size_t errsz);
const struct prekey	*prekeys_current(const struct prekeys *pk);
/* The prekey an envelope names by its spk_id; NULL if erased or unknown. */
const struct prekey	*prekeys_find(const struct prekeys *pk, uint32_t id);
void	prekeys_wipe(struct prekeys *pk);

#endif
