/*
 * e2e-prekey.h: the identity signature over a signed prekey (docs/DESIGN.md
 * section 7), so a server cannot hand out a prekey of its own.
 */
#ifndef SC_E2E_PREKEY_H
#define SC_E2E_PREKEY_H

#include <stdint.h>

#define E2E_PREKEY_LABEL	"securechat/v1/prekey"

/*
 * Ed25519 by the identity key over LABEL || u32 id || u64 created_s || pub
 * (big endian).  Both return 0, or -1: an error, or an invalid signature.
 */
int	e2e_prekey_sign(const uint8_t sign_priv[32], uint32_t id,
	    uint64_t created_s, const uint8_t pub[32], uint8_t sig[64]);
int	e2e_prekey_verify(const uint8_t sign_pub[32], uint32_t id,
	    uint64_t created_s, const uint8_t pub[32], const uint8_t sig[64]);

#endif
