/*
 * crypto.c: EVP compositions behind crypto.h.  Nothing here is written by
 * hand: every primitive is OpenSSL's; this file only checks and wipes.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "crypto.h"

/*
 * A zero-length input still needs a non-NULL pointer: some EVP calls
 * read NULL as "no parameter" or "query the size".
 */
static const uint8_t	 empty[1];

#define NONNULL(p)	((p) != NULL ? (const void *)(p) : (const void *)empty)

/*
 * Our callers see 0 or -1, never the OpenSSL error queue; a stale entry
 * left there would later make SSL_get_error() (and libevent's TLS
 * bufferevents) report an error on a healthy connection.
 */
static int
fail(void)
{
	ERR_clear_error();
	return -1;
}

int
crypto_random(void *buf, size_t len)
{
	uint8_t	*p = buf;
	int	 chunk;

	/* RAND_bytes takes an int: feed it in slices. */
	while (len > 0) {
		chunk = len > INT_MAX ? INT_MAX : (int)len;
		if (RAND_bytes(p, chunk) != 1)
			return fail();
		p += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

int
crypto_sha256(const void *msg, size_t len, uint8_t out[32])
{
	unsigned int	 outlen = 0;

	if (EVP_Digest(NONNULL(msg), len, out, &outlen, EVP_sha256(),
	    NULL) != 1 || outlen != CRYPTO_HASH_LEN)
		return fail();
	return 0;
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t len, uint8_t out[32])
{
	EVP_MAC		*mac;
	EVP_MAC_CTX	*ctx = NULL;
	OSSL_PARAM	 params[2];
	size_t		 outlen = 0;
	int		 rc = -1;

	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return fail();
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto out;
	/* A NULL key would mean "keep the previous key": pass empty instead. */
	if (EVP_MAC_init(ctx, NONNULL(key), keylen, params) != 1)
		goto out;
	if (len > 0 && EVP_MAC_update(ctx, msg, len) != 1)
		goto out;
	if (EVP_MAC_final(ctx, out, &outlen, CRYPTO_HASH_LEN) != 1 ||
	    outlen != CRYPTO_HASH_LEN)
		goto out;
	rc = 0;
 out:
	/* The context holds the padded key; EVP_MAC_CTX_free wipes it. */
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	if (rc != 0) {
		OPENSSL_cleanse(out, CRYPTO_HASH_LEN);
		return fail();
	}
	return 0;
}

int
crypto_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm,
    size_t ikmlen, const void *info, size_t infolen, void *out, size_t outlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*ctx = NULL;
	OSSL_PARAM	 params[5], *pp = params;
	int		 rc = -1;

	if (outlen == 0)
		return fail();
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return fail();
	*pp++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)NONNULL(ikm), ikmlen);
	/* Absent salt and info are the RFC's defaults (zeros, empty). */
	if (saltlen > 0)
		*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, saltlen);
	if (infolen > 0)
		*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, infolen);
	*pp = OSSL_PARAM_construct_end();
	if ((ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	if (EVP_KDF_derive(ctx, out, outlen, params) != 1)
		goto out;
	rc = 0;
 out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	if (rc != 0) {
		OPENSSL_cleanse(out, outlen);
		return fail();
	}
	return 0;
}

/* Generate a key pair of the named type and export both raw halves. */
static int
raw_keygen(const char *type, uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY	*pkey;
	size_t		 privlen = CRYPTO_KEY_LEN, publen = CRYPTO_KEY_LEN;
	int		 rc = -1;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, type)) == NULL)
		return fail();
	if (EVP_PKEY_get_raw_private_key(pkey, priv, &privlen) == 1 &&
	    EVP_PKEY_get_raw_public_key(pkey, pub, &publen) == 1 &&
	    privlen == CRYPTO_KEY_LEN && publen == CRYPTO_KEY_LEN)
		rc = 0;
	EVP_PKEY_free(pkey);	/* wipes the private half */
	if (rc != 0) {
		OPENSSL_cleanse(priv, CRYPTO_KEY_LEN);
		return fail();
	}
	return 0;
}

static int
raw_public(const char *type, const uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY	*pkey;
	size_t		 publen = CRYPTO_KEY_LEN;
	int		 rc = -1;

	pkey = EVP_PKEY_new_raw_private_key_ex(NULL, type, NULL, priv,
	    CRYPTO_KEY_LEN);
	if (pkey == NULL)
		return fail();
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) == 1 &&
	    publen == CRYPTO_KEY_LEN)
		rc = 0;
	EVP_PKEY_free(pkey);
	return rc == 0 ? 0 : fail();
}

int
crypto_ed25519_keygen(uint8_t priv[32], uint8_t pub[32])
{
	return raw_keygen("ED25519", priv, pub);
}

int
crypto_ed25519_public(const uint8_t priv[32], uint8_t pub[32])
{
	return raw_public("ED25519", priv, pub);
}

int
crypto_ed25519_sign(const uint8_t priv[32], const void *msg, size_t len,
    uint8_t sig[64])
{
	EVP_PKEY	*pkey;
	EVP_MD_CTX	*ctx = NULL;
	size_t		 siglen = CRYPTO_SIG_LEN;
	int		 rc = -1;

	pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "ED25519", NULL, priv,
	    CRYPTO_KEY_LEN);
	if (pkey == NULL)
		return fail();
	/* PureEdDSA: no digest, and only the one-shot EVP_DigestSign. */
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, pkey,
	    NULL) != 1)
		goto out;
	if (EVP_DigestSign(ctx, sig, &siglen, NONNULL(msg), len) != 1 ||
	    siglen != CRYPTO_SIG_LEN)
		goto out;
	rc = 0;
 out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc == 0 ? 0 : fail();
}

int
crypto_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len,
    const uint8_t sig[64])
{
	EVP_PKEY	*pkey;
	EVP_MD_CTX	*ctx = NULL;
	int		 rc = -1;

	pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, pub,
	    CRYPTO_KEY_LEN);
	if (pkey == NULL)
		return fail();
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pkey,
	    NULL) != 1)
		goto out;
	/* Only 1 is "valid"; 0 and negative values both reject. */
	if (EVP_DigestVerify(ctx, sig, CRYPTO_SIG_LEN, NONNULL(msg),
	    len) == 1)
		rc = 0;
 out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return rc == 0 ? 0 : fail();
}

/*
 * Join the parts into one heap buffer, since Ed25519 cannot stream.
 * Callers list the fields instead of hand-copying them, so an offset
 * mistake cannot make what is signed differ from what is verified.
 */
static uint8_t *
join_parts(const struct crypto_part *parts, size_t n, size_t *lenp)
{
	uint8_t	*buf;
	size_t	 i, total = 0, off = 0;

	for (i = 0; i < n; i++) {
		if (parts[i].len > 0 && parts[i].p == NULL)
			return NULL;
		if (parts[i].len > CRYPTO_PARTS_MAX - total)
			return NULL;
		total += parts[i].len;
	}
	/* One byte more so that an empty message is still an allocation. */
	if ((buf = malloc(total + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (parts[i].len > 0)
			memcpy(buf + off, parts[i].p, parts[i].len);
		off += parts[i].len;
	}
	*lenp = total;
	return buf;
}

int
crypto_ed25519_sign_parts(const uint8_t priv[32],
    const struct crypto_part *parts, size_t n, uint8_t sig[64])
{
	uint8_t	*buf;
	size_t	 len = 0;
	int	 rc;

	if ((buf = join_parts(parts, n, &len)) == NULL)
		return -1;
	rc = crypto_ed25519_sign(priv, buf, len, sig);
	/* The parts may carry secrets (key distribution): wipe the copy. */
	OPENSSL_clear_free(buf, len + 1);
	return rc;
}

int
crypto_ed25519_verify_parts(const uint8_t pub[32],
    const struct crypto_part *parts, size_t n, const uint8_t sig[64])
{
	uint8_t	*buf;
	size_t	 len = 0;
	int	 rc;

	if ((buf = join_parts(parts, n, &len)) == NULL)
		return -1;
	rc = crypto_ed25519_verify(pub, buf, len, sig);
	OPENSSL_clear_free(buf, len + 1);
	return rc;
}

int
crypto_x25519_keygen(uint8_t priv[32], uint8_t pub[32])
{
	return raw_keygen("X25519", priv, pub);
}

int
crypto_x25519_public(const uint8_t priv[32], uint8_t pub[32])
{
	return raw_public("X25519", priv, pub);
}

int
crypto_x25519(const uint8_t priv[32], const uint8_t peer_pub[32],
    uint8_t shared[32])
{
	EVP_PKEY	*pkey, *peer = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	size_t		 len = CRYPTO_KEY_LEN, i;
	uint8_t		 acc = 0;
	int		 rc = -1;

	pkey = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, priv,
	    CRYPTO_KEY_LEN);
	if (pkey == NULL)
		return fail();
	peer = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, peer_pub,
	    CRYPTO_KEY_LEN);
	if (peer == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1)
		goto out;
	/* OpenSSL already refuses low-order points; we check again below. */
	if (EVP_PKEY_derive(ctx, shared, &len) != 1 || len != CRYPTO_KEY_LEN)
		goto out;
	/* RFC 7748 section 6.1: an all-zero result must be rejected. */
	for (i = 0; i < CRYPTO_KEY_LEN; i++)
		acc |= shared[i];
	if (acc != 0)
		rc = 0;
 out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(pkey);
	if (rc != 0) {
		OPENSSL_cleanse(shared, CRYPTO_KEY_LEN);
		return fail();
	}
	return 0;
}

int
crypto_aead_seal(const uint8_t key[32], const uint8_t nonce[12],
    const void *aad, size_t aadlen, const void *pt, size_t ptlen,
    uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx;
	int		 len, rc = -1;

	/* EVP lengths are ints; leave room for the tag after the text. */
	if (aadlen > INT_MAX || ptlen > INT_MAX - CRYPTO_AEAD_TAG_LEN)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return fail();
	if (EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce,
	    NULL) != 1)
		goto out;
	if (aadlen > 0 && EVP_EncryptUpdate(ctx, NULL, &len, aad,
	    (int)aadlen) != 1)
		goto out;
	if (ptlen > 0 && (EVP_EncryptUpdate(ctx, out, &len, pt,
	    (int)ptlen) != 1 || (size_t)len != ptlen))
		goto out;
	/* GCM is a stream mode: Final writes nothing. */
	if (EVP_EncryptFinal_ex(ctx, out + ptlen, &len) != 1 || len != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
	    CRYPTO_AEAD_TAG_LEN, out + ptlen) != 1)
		goto out;
	rc = 0;
 out:
	EVP_CIPHER_CTX_free(ctx);	/* wipes the key schedule */
	if (rc != 0) {
		OPENSSL_cleanse(out, ptlen + CRYPTO_AEAD_TAG_LEN);
		return fail();
	}
	return 0;
}

int
crypto_aead_open(const uint8_t key[32], const uint8_t nonce[12],
    const void *aad, size_t aadlen, const void *in, size_t inlen,
    uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx;
	const uint8_t	*ct = in;
	uint8_t		 tag[CRYPTO_AEAD_TAG_LEN], dummy[1];
	size_t		 ctlen;
	int		 len, rc = -1;

	if (inlen < CRYPTO_AEAD_TAG_LEN || inlen > INT_MAX ||
	    aadlen > INT_MAX)
		return -1;
	ctlen = inlen - CRYPTO_AEAD_TAG_LEN;
	/* Copy the tag first: out may overlap in (decryption in place). */
	memcpy(tag, ct + ctlen, sizeof(tag));
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return fail();
	if (EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce,
	    NULL) != 1)
		goto out;
	if (aadlen > 0 && EVP_DecryptUpdate(ctx, NULL, &len, aad,
	    (int)aadlen) != 1)
		goto out;
	if (ctlen > 0 && (EVP_DecryptUpdate(ctx, out, &len, ct,
	    (int)ctlen) != 1 || (size_t)len != ctlen))
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
	    CRYPTO_AEAD_TAG_LEN, tag) != 1)
		goto out;
	/* This is where the tag is checked: anything but 1 is a forgery. */
	if (EVP_DecryptFinal_ex(ctx, ctlen > 0 ? out + ctlen : dummy,
	    &len) != 1 || len != 0)
		goto out;
	rc = 0;
 out:
	EVP_CIPHER_CTX_free(ctx);
	if (rc != 0) {
		/* Unauthenticated plaintext must never reach a caller. */
		OPENSSL_cleanse(out, ctlen);
		return fail();
	}
	return 0;
}

int
crypto_scrypt(const void *pass, size_t passlen, const void *salt,
    size_t saltlen, uint64_t n, uint32_t r, uint32_t p, void *out,
    size_t outlen)
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*ctx = NULL;
	OSSL_PARAM	 params[6];
	int		 rc = -1;

	if (outlen == 0)
		return -1;
	if ((kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL)
		return fail();
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)NONNULL(pass), passlen);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)NONNULL(salt), saltlen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	/*
	 * OpenSSL's own maxmem (about 1 GiB) bounds N * r; callers bound it
	 * tighter where the parameters come from a file.
	 */
	if (EVP_KDF_derive(ctx, out, outlen, params) != 1)
		goto out;
	rc = 0;
 out:
	EVP_KDF_CTX_free(ctx);	/* wipes its copy of the password */
	EVP_KDF_free(kdf);
	if (rc != 0) {
		OPENSSL_cleanse(out, outlen);
		return fail();
	}
	return 0;
}
