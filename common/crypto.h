/*
 * crypto.h: the only door to cryptography in securechat.  Thin EVP wrappers
 * on raw 32-byte keys; each returns 0 on success or -1, and wipes what it held.
 */
#ifndef SC_CRYPTO_H
#define SC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN		32	/* Ed25519, X25519, AES-256 keys */
#define CRYPTO_SIG_LEN		64	/* Ed25519 signature */
#define CRYPTO_HASH_LEN		32	/* SHA-256, HMAC-SHA256 */
#define CRYPTO_AEAD_NONCE_LEN	12	/* AES-256-GCM nonce */
#define CRYPTO_AEAD_TAG_LEN	16	/* GCM tag, after the ciphertext */
/* Ed25519 needs the whole message at once: bound what _parts may join. */
#define CRYPTO_PARTS_MAX	(1024 * 1024)

/* One piece of a message that is signed as the concatenation of pieces. */
struct crypto_part {
	const void	*p;
	size_t		 len;
};

int	crypto_random(void *buf, size_t len);
int	crypto_sha256(const void *msg, size_t len, uint8_t out[32]);
int	crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
	    size_t len, uint8_t out[32]);
/*
 * RFC 5869 extract-and-expand; an empty salt means HashLen zero bytes.
 * OpenSSL 3.0 takes at most 1024 bytes of info, and outlen <= 8160.
 */
int	crypto_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm,
	    size_t ikmlen, const void *info, size_t infolen, void *out,
	    size_t outlen);

int	crypto_ed25519_keygen(uint8_t priv[32], uint8_t pub[32]);
int	crypto_ed25519_public(const uint8_t priv[32], uint8_t pub[32]);
int	crypto_ed25519_sign(const uint8_t priv[32], const void *msg,
	    size_t len, uint8_t sig[64]);
/* 0 only for a valid signature; -1 for an invalid one or any error. */
int	crypto_ed25519_verify(const uint8_t pub[32], const void *msg,
	    size_t len, const uint8_t sig[64]);
/* Sign or verify p[0] || p[1] || ... (at most CRYPTO_PARTS_MAX bytes). */
int	crypto_ed25519_sign_parts(const uint8_t priv[32],
	    const struct crypto_part *parts, size_t n, uint8_t sig[64]);
int	crypto_ed25519_verify_parts(const uint8_t pub[32],
	    const struct crypto_part *parts, size_t n, const uint8_t sig[64]);

int	crypto_x25519_keygen(uint8_t priv[32], uint8_t pub[32]);
int	crypto_x25519_public(const uint8_t priv[32], uint8_t pub[32]);
/* -1 also when the peer key is of low order (the result is all zero). */
int	crypto_x25519(const uint8_t priv[32], const uint8_t peer_pub[32],
	    uint8_t shared[32]);

/* AES-256-GCM: out gets ptlen bytes of ciphertext, then the 16-byte tag. */
int	crypto_aead_seal(const uint8_t key[32], const uint8_t nonce[12],
	    const void *aad, size_t aadlen, const void *pt, size_t ptlen,
	    uint8_t *out);
/* out gets inlen - 16 bytes; on failure (-1) nothing of it is left. */
int	crypto_aead_open(const uint8_t key[32], const uint8_t nonce[12],
	    const void *aad, size_t aadlen, const void *in, size_t inlen,
	    uint8_t *out);

/* RFC 7914 scrypt; N a power of two. */
int	crypto_scrypt(const void *pass, size_t passlen, const void *salt,
	    size_t saltlen, uint64_t n, uint32_t r, uint32_t p, void *out,
	    size_t outlen);

#endif
