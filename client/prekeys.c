/*
 * prekeys.c: the client's signed prekeys.  Erasing the old private halves
 * is the point: stolen long-term keys must not open old direct messages.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "e2e-prekey.h"
#include "localfile.h"
#include "prekeys.h"
#include "util.h"

/* The sealed payload: u8 FORMAT, u8 n, n * (u32 id, u64 created, keys). */
#define FORMAT		1
#define ENTRY_LEN	(4 + 8 + 32 + 32 + 64)
#define PAYLOAD_MAX	(2 + PREKEYS_MAX * ENTRY_LEN)
/* Clocks differ a little between runs; a day ahead is not "a little". */
#define FUTURE_SLACK_S	86400

const struct prekey *
prekeys_current(const struct prekeys *pk)
{
	return pk->n > 0 ? &pk->v[pk->n - 1] : NULL;
}

const struct prekey *
prekeys_find(const struct prekeys *pk, uint32_t id)
{
	size_t	 i;

	for (i = 0; i < pk->n; i++)
		if (pk->v[i].id == id)
			return &pk->v[i];
	return NULL;
}

void
prekeys_wipe(struct prekeys *pk)
{
	OPENSSL_cleanse(pk, sizeof(*pk));
}

static void
erase_at(struct prekeys *pk, size_t i)
{
	OPENSSL_cleanse(&pk->v[i], sizeof(pk->v[i]));
	memmove(&pk->v[i], &pk->v[i + 1], (pk->n - i - 1) * sizeof(pk->v[0]));
	pk->n--;
	OPENSSL_cleanse(&pk->v[pk->n], sizeof(pk->v[0]));
}

/* Check one decoded prekey against those before it and the identity. */
static int
check_entry(const struct prekeys *pk, const struct prekey *k,
    const struct identity *id, uint64_t now_s, const char *path, char *err,
    size_t errsz)
{
	uint8_t	 pub[32];

	if (k->id == 0 || prekeys_find(pk, k->id) != NULL ||
	    (pk->n > 0 && k->created_s < pk->v[pk->n - 1].created_s) ||
	    crypto_x25519_public(k->priv, pub) == -1 ||
	    memcmp(pub, k->pub, sizeof(pub)) != 0 ||
	    e2e_prekey_verify(id->sign_pub, k->id, k->created_s, k->pub,
	    k->sig) == -1) {
		(void)snprintf(err, errsz, "%s is damaged: prekey %u is not "
		    "valid for %s", path, (unsigned int)k->id, id->name);
		return -1;
	}
	return 0;
}

static int
decode(const uint8_t *buf, size_t len, const struct identity *id,
    uint64_t now_s, struct prekeys *pk, const char *path, char *err,
    size_t errsz)
{
	struct prekey	*k;
	size_t		 i, n;

	if (len < 2 || buf[0] != FORMAT || (n = buf[1]) == 0 ||
	    n > PREKEYS_MAX || len != 2 + n * ENTRY_LEN) {
		(void)snprintf(err, errsz, "%s is damaged: bad prekey count "
		    "or length", path);
		return -1;
	}
	for (i = 0, buf += 2; i < n; i++, buf += ENTRY_LEN) {
		k = &pk->v[i];
		k->id = be32_get(buf);
		k->created_s = be64_get(buf + 4);
		memcpy(k->priv, buf + 12, 32);
		memcpy(k->pub, buf + 44, 32);
		memcpy(k->sig, buf + 76, 64);
		if (check_entry(pk, k, id, now_s, path, err, errsz) == -1)
			return -1;
		/* Made while the clock was ahead: nobody can use it now. */
		if (k->created_s > now_s + FUTURE_SLACK_S) {
			OPENSSL_cleanse(k, sizeof(*k));
			pk->dropped++;
			continue;
		}
		pk->n++;
	}
	return 0;
}

static int
save(const char *path, const struct identity *id, const struct prekeys *pk,
    char *err, size_t errsz)
{
	uint8_t			 buf[PAYLOAD_MAX], *p = buf + 2;
	const struct prekey	*k;
	size_t			 i;
	int			 rc;

	buf[0] = FORMAT;
	buf[1] = (uint8_t)pk->n;
	for (i = 0; i < pk->n; i++, p += ENTRY_LEN) {
		k = &pk->v[i];
		be32_put(p, k->id);
		be64_put(p + 4, k->created_s);
		memcpy(p + 12, k->priv, 32);
		memcpy(p + 44, k->pub, 32);
		memcpy(p + 76, k->sig, 64);
	}
	rc = localfile_write(path, id->dh_priv, PREKEYS_LABEL, buf,
	    (size_t)(p - buf), err, errsz);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* Append a fresh prekey, the new current one. */
static int
add_new(struct prekeys *pk, const struct identity *id, uint64_t now_s)
{
	struct prekey	*k;
	uint32_t	 next;

	if (pk->n > 0)
		next = pk->v[pk->n - 1].id + 1;
	else if (crypto_random(&next, sizeof(next)) == -1)
		return -1;
	/* 0 is never an id; and an id still held must not name two keys. */
	while (next == 0 || prekeys_find(pk, next) != NULL)
		next++;
	if (pk->n == PREKEYS_MAX)
		erase_at(pk, 0);	/* the oldest, never the current */
	k = &pk->v[pk->n];
	k->id = next;
	k->created_s = now_s;
	if (crypto_x25519_keygen(k->priv, k->pub) == -1 ||
	    e2e_prekey_sign(id->sign_priv, k->id, k->created_s, k->pub,
	    k->sig) == -1) {
		OPENSSL_cleanse(k, sizeof(*k));
		return -1;
	}
	pk->n++;
	return 0;
}

/* Erase the private halves due for it; 1 if any went. */
static int
erase_old(struct prekeys *pk, uint64_t now_s)
{
	size_t	 i = 0;
	int	 erased = 0;

	while (i + 1 < pk->n) {
		if (pk->v[i].created_s + PREKEY_ERASE_S <= now_s) {
			erase_at(pk, i);
			erased = 1;
		} else
			i++;
	}
	return erased;
}

int
prekeys_load(const char *path, const struct identity *id, uint64_t now_s,
    int erase, struct prekeys *pk, int *changed, char *err, size_t errsz)
{
	const struct prekey	*cur;
	uint8_t			*buf = NULL;
	size_t			 len = 0;
	int			 rc;

	memset(pk, 0, sizeof(*pk));
	*changed = 0;
	rc = localfile_read(path, id->dh_priv, PREKEYS_LABEL, &buf, &len, err,
	    errsz);
	if (rc == -1)
		goto fail;
	if (rc == 0) {
		rc = decode(buf, len, id, now_s, pk, path, err, errsz);
		OPENSSL_clear_free(buf, len);
		if (rc == -1)
			goto fail;
	}
	if ((cur = prekeys_current(pk)) == NULL ||
	    cur->created_s + PREKEY_ROTATE_S <= now_s) {
		if (add_new(pk, id, now_s) == -1) {
			(void)snprintf(err, errsz, "cannot make a new prekey");
			goto fail;
		}
		*changed = 1;
	}
	if ((erase && erase_old(pk, now_s)) || pk->dropped > 0)
		*changed = 1;
	/* Not saved, not published: a key we could lose must not be used. */
	if (*changed && save(path, id, pk, err, errsz) == -1)
		goto fail;
	return 0;
 fail:
	prekeys_wipe(pk);
	*changed = 0;
	return -1;
}
