/*
 * e2e-prekey.c: sign and check a signed prekey.  The id and creation time
 * are signed too, so a server cannot pass an old prekey off under a new id.
 */
#include "config.h"

#include <stdint.h>

#include "crypto.h"
#include "e2e-prekey.h"
#include "util.h"

#define NPARTS	3

/* What is signed: LABEL || u32 id || u64 created_s || pub. */
static void
signed_parts(struct crypto_part parts[NPARTS], uint8_t meta[12], uint32_t id,
    uint64_t created_s, const uint8_t pub[32])
{
	be32_put(meta, id);
	be64_put(meta + 4, created_s);
	parts[0].p = E2E_PREKEY_LABEL;
	parts[0].len = sizeof(E2E_PREKEY_LABEL) - 1;
	parts[1].p = meta;
	parts[1].len = 12;
	parts[2].p = pub;
	parts[2].len = 32;
}

int
e2e_prekey_sign(const uint8_t sign_priv[32], uint32_t id, uint64_t created_s,
    const uint8_t pub[32], uint8_t sig[64])
{
	struct crypto_part	 parts[NPARTS];
	uint8_t			 meta[12];

	signed_parts(parts, meta, id, created_s, pub);
	return crypto_ed25519_sign_parts(sign_priv, parts, NPARTS, sig);
}

int
e2e_prekey_verify(const uint8_t sign_pub[32], uint32_t id, uint64_t created_s,
    const uint8_t pub[32], const uint8_t sig[64])
{
	struct crypto_part	 parts[NPARTS];
	uint8_t			 meta[12];

	signed_parts(parts, meta, id, created_s, pub);
	return crypto_ed25519_verify_parts(sign_pub, parts, NPARTS, sig);
}
