/*
 * test_crypto.c: the EVP wrappers against published vectors (RFC 7748,
 * 8032, 5869, 4231, 7914, the GCM spec) and their failure paths.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/err.h>

#include "crypto.h"
#include "util.h"

/* cmocka hands every test a state pointer these tests do not need. */
#define UNUSED		__attribute__((__unused__))

/* Decode a vector; its length must be exactly len bytes. */
static void
unhex(const char *s, uint8_t *out, size_t len)
{
	assert_int_equal(hex_decode(s, strlen(s), out, len), 0);
}

static void
assert_hex(const uint8_t *got, const char *want)
{
	uint8_t	 buf[256];
	size_t	 len = strlen(want) / 2;

	assert_true(len <= sizeof(buf));
	unhex(want, buf, len);
	assert_memory_equal(got, buf, len);
}

static int
all_zero(const uint8_t *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* A wrapper that fails must not leave errors behind for TLS code to see. */
static void
assert_no_openssl_error(void)
{
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- X25519 ---- */

/* RFC 7748 section 5.2: the two single scalar multiplications. */
static void
x25519_rfc7748_5_2(void **state UNUSED)
{
	static const char	*v[][3] = {
		{ "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		  "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		  "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552" },
		/* The u-coordinate has its top bit set: it must be masked. */
		{ "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		  "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		  "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957" },
	};
	uint8_t		 k[32], u[32], out[32];
	size_t		 i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unhex(v[i][0], k, 32);
		unhex(v[i][1], u, 32);
		assert_int_equal(crypto_x25519(k, u, out), 0);
		assert_hex(out, v[i][2]);
	}
}

/* RFC 7748 section 6.1: Alice's and Bob's keys and their shared secret. */
static void
x25519_rfc7748_6_1(void **state UNUSED)
{
	uint8_t	 a[32], b[32], apub[32], bpub[32], k1[32], k2[32];

	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	    a, 32);
	unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	    b, 32);
	assert_int_equal(crypto_x25519_public(a, apub), 0);
	assert_hex(apub,
	    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	assert_int_equal(crypto_x25519_public(b, bpub), 0);
	assert_hex(bpub,
	    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(crypto_x25519(a, bpub, k1), 0);
	assert_int_equal(crypto_x25519(b, apub, k2), 0);
	assert_hex(k1,
	    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_memory_equal(k1, k2, 32);
}

/* All-zero and other low-order peer keys give -1 and no shared secret. */
static void
x25519_low_order_peer_fails(void **state UNUSED)
{
	uint8_t	 priv[32], pub[32], peer[32], out[32];

	assert_int_equal(crypto_x25519_keygen(priv, pub), 0);
	memset(peer, 0, sizeof(peer));
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(crypto_x25519(priv, peer, out), -1);
	assert_true(all_zero(out, sizeof(out)));
	assert_no_openssl_error();
	peer[0] = 1;	/* u = 1: order 4 */
	assert_int_equal(crypto_x25519(priv, peer, out), -1);
	assert_no_openssl_error();
}

/* Generated pairs agree with the derived public key and with each other. */
static void
x25519_keygen_agrees(void **state UNUSED)
{
	uint8_t	 a[32], apub[32], b[32], bpub[32], pub[32], k1[32], k2[32];

	assert_int_equal(crypto_x25519_keygen(a, apub), 0);
	assert_int_equal(crypto_x25519_keygen(b, bpub), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(crypto_x25519_public(a, pub), 0);
	assert_memory_equal(pub, apub, 32);
	assert_int_equal(crypto_x25519(a, bpub, k1), 0);
	assert_int_equal(crypto_x25519(b, apub, k2), 0);
	assert_memory_equal(k1, k2, 32);
}

/* ---- Ed25519 ---- */

/* RFC 8032 section 7.1, TEST 1, TEST 2 and TEST 3. */
static const char	*ed_vectors[][4] = {
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	  "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	  "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

static void
ed25519_rfc8032_7_1(void **state UNUSED)
{
	uint8_t	 sk[32], pk[32], want[32], msg[2], sig[64], wantsig[64];
	size_t	 i, mlen;

	for (i = 0; i < sizeof(ed_vectors) / sizeof(ed_vectors[0]); i++) {
		unhex(ed_vectors[i][0], sk, 32);
		unhex(ed_vectors[i][1], want, 32);
		mlen = strlen(ed_vectors[i][2]) / 2;
		unhex(ed_vectors[i][2], msg, mlen);
		unhex(ed_vectors[i][3], wantsig, 64);

		assert_int_equal(crypto_ed25519_public(sk, pk), 0);
		assert_memory_equal(pk, want, 32);
		/* Ed25519 is deterministic: the signature is the vector's. */
		assert_int_equal(crypto_ed25519_sign(sk, msg, mlen, sig), 0);
		assert_memory_equal(sig, wantsig, 64);
		assert_int_equal(crypto_ed25519_verify(pk, msg, mlen, sig), 0);
	}
}

/* One flipped bit in the message, the signature or the key: rejected. */
static void
ed25519_bit_flips_fail(void **state UNUSED)
{
	uint8_t	 pk[32], msg[2], sig[64];
	size_t	 i;

	/* TEST 3 has a message to flip; TEST 1's empty one is extended. */
	unhex(ed_vectors[2][1], pk, 32);
	unhex(ed_vectors[2][2], msg, 2);
	unhex(ed_vectors[2][3], sig, 64);
	assert_int_equal(crypto_ed25519_verify(pk, msg, 2, sig), 0);

	msg[1] ^= 0x01;
	assert_int_equal(crypto_ed25519_verify(pk, msg, 2, sig), -1);
	msg[1] ^= 0x01;
	assert_int_equal(crypto_ed25519_verify(pk, msg, 1, sig), -1);

	for (i = 0; i < 64; i += 21) {
		sig[i] ^= 0x10;
		assert_int_equal(crypto_ed25519_verify(pk, msg, 2, sig), -1);
		sig[i] ^= 0x10;
	}
	pk[5] ^= 0x02;
	assert_int_equal(crypto_ed25519_verify(pk, msg, 2, sig), -1);
	pk[5] ^= 0x02;
	assert_int_equal(crypto_ed25519_verify(pk, msg, 2, sig), 0);
	assert_no_openssl_error();
}

/* Fresh keys sign and verify; the derived public key matches keygen's. */
static void
ed25519_keygen_roundtrip(void **state UNUSED)
{
	uint8_t		 sk[32], pk[32], pk2[32], sig[64];
	const char	 msg[] = "hello";

	assert_int_equal(crypto_ed25519_keygen(sk, pk), 0);
	assert_int_equal(crypto_ed25519_public(sk, pk2), 0);
	assert_memory_equal(pk, pk2, 32);
	assert_int_equal(crypto_ed25519_sign(sk, msg, 5, sig), 0);
	assert_int_equal(crypto_ed25519_verify(pk, msg, 5, sig), 0);
	assert_int_equal(crypto_ed25519_verify(pk, msg, 4, sig), -1);
}

/* Signing parts is signing their concatenation, and nothing else. */
static void
ed25519_parts_equal_concatenation(void **state UNUSED)
{
	uint8_t			 sk[32], pk[32], sig1[64], sig2[64];
	struct crypto_part	 parts[3] = {
		{ "abc", 3 }, { NULL, 0 }, { "defg", 4 }
	};
	struct crypto_part	 moved[2] = { { "abcd", 4 }, { "efg", 3 } };

	assert_int_equal(crypto_ed25519_keygen(sk, pk), 0);
	assert_int_equal(crypto_ed25519_sign_parts(sk, parts, 3, sig1), 0);
	assert_int_equal(crypto_ed25519_sign(sk, "abcdefg", 7, sig2), 0);
	assert_memory_equal(sig1, sig2, 64);
	assert_int_equal(crypto_ed25519_verify_parts(pk, parts, 3, sig1), 0);
	assert_int_equal(crypto_ed25519_verify(pk, "abcdefg", 7, sig1), 0);
	/* Boundaries are not signed: callers must use fixed-size fields. */
	assert_int_equal(crypto_ed25519_verify_parts(pk, moved, 2, sig1), 0);
	assert_int_equal(crypto_ed25519_verify_parts(pk, parts, 1, sig1), -1);
	/* An empty list signs the empty message. */
	assert_int_equal(crypto_ed25519_sign_parts(sk, NULL, 0, sig1), 0);
	assert_int_equal(crypto_ed25519_verify(pk, "", 0, sig1), 0);
}

/* More than CRYPTO_PARTS_MAX bytes, or a NULL part, is refused. */
static void
ed25519_parts_bounded(void **state UNUSED)
{
	uint8_t			 sk[32], pk[32], sig[64];
	uint8_t			*big;
	struct crypto_part	 parts[2];

	assert_int_equal(crypto_ed25519_keygen(sk, pk), 0);
	big = calloc(1, CRYPTO_PARTS_MAX);
	assert_non_null(big);
	parts[0].p = big;
	parts[0].len = CRYPTO_PARTS_MAX;
	assert_int_equal(crypto_ed25519_sign_parts(sk, parts, 1, sig), 0);
	assert_int_equal(crypto_ed25519_verify_parts(pk, parts, 1, sig), 0);
	parts[1].p = "x";
	parts[1].len = 1;
	assert_int_equal(crypto_ed25519_sign_parts(sk, parts, 2, sig), -1);
	assert_int_equal(crypto_ed25519_verify_parts(pk, parts, 2, sig), -1);
	/* A length that would wrap the sum must not pass the bound. */
	parts[1].len = SIZE_MAX;
	assert_int_equal(crypto_ed25519_sign_parts(sk, parts, 2, sig), -1);
	parts[0].p = NULL;
	parts[0].len = 1;
	assert_int_equal(crypto_ed25519_sign_parts(sk, parts, 1, sig), -1);
	free(big);
}

/* ---- HKDF, HMAC, SHA-256 ---- */

static void
fill_range(uint8_t *p, uint8_t first, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(first + i);
}

/* RFC 5869 appendix A, test cases 1, 2 and 3 (SHA-256). */
static void
hkdf_rfc5869(void **state UNUSED)
{
	uint8_t	 ikm[80], salt[80], info[80], okm[82];

	/* Test case 1. */
	memset(ikm, 0x0b, 22);
	fill_range(salt, 0x00, 13);
	fill_range(info, 0xf0, 10);
	assert_int_equal(crypto_hkdf_sha256(salt, 13, ikm, 22, info, 10, okm,
	    42), 0);
	assert_hex(okm, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
	    "2d56ecc4c5bf34007208d5b887185865");

	/* Test case 2: longer inputs and output. */
	fill_range(ikm, 0x00, 80);
	fill_range(salt, 0x60, 80);
	fill_range(info, 0xb0, 80);
	assert_int_equal(crypto_hkdf_sha256(salt, 80, ikm, 80, info, 80, okm,
	    82), 0);
	assert_hex(okm, "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050"
	    "cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b83677"
	    "93a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");

	/* Test case 3: zero-length salt and info. */
	memset(ikm, 0x0b, 22);
	assert_int_equal(crypto_hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm,
	    42), 0);
	assert_hex(okm, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec345"
	    "4e5f3c738d2d9d201395faa4b61a96c8");
}

/* HKDF cannot give more than 255 hash lengths; nor zero bytes. */
static void
hkdf_too_long_fails(void **state UNUSED)
{
	uint8_t	 ikm[32] = { 1 }, *out;

	out = malloc(255 * 32 + 1);
	assert_non_null(out);
	assert_int_equal(crypto_hkdf_sha256(NULL, 0, ikm, 32, "x", 1, out,
	    255 * 32), 0);
	assert_int_equal(crypto_hkdf_sha256(NULL, 0, ikm, 32, "x", 1, out,
	    255 * 32 + 1), -1);
	assert_int_equal(crypto_hkdf_sha256(NULL, 0, ikm, 32, "x", 1, out,
	    0), -1);
	assert_no_openssl_error();
	free(out);
}

/* RFC 4231 section 4.2 and 4.3: test cases 1 and 2, HMAC-SHA-256. */
static void
hmac_rfc4231(void **state UNUSED)
{
	uint8_t	 key[20], out[32];

	memset(key, 0x0b, sizeof(key));
	assert_int_equal(crypto_hmac_sha256(key, 20, "Hi There", 8, out), 0);
	assert_hex(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9"
	    "376c2e32cff7");
	assert_int_equal(crypto_hmac_sha256("Jefe", 4,
	    "what do ya want for nothing?", 28, out), 0);
	assert_hex(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec"
	    "58b964ec3843");
}

/* FIPS 180-2 appendix B.1: SHA-256("abc"); and of the empty string. */
static void
sha256_known(void **state UNUSED)
{
	uint8_t	 out[32];

	assert_int_equal(crypto_sha256("abc", 3, out), 0);
	assert_hex(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410"
	    "ff61f20015ad");
	assert_int_equal(crypto_sha256(NULL, 0, out), 0);
	assert_hex(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495"
	    "991b7852b855");
}

/* Two draws differ, and a zero-length draw is fine. */
static void
random_fills(void **state UNUSED)
{
	uint8_t	 a[32], b[32];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(crypto_random(a, sizeof(a)), 0);
	assert_int_equal(crypto_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(crypto_random(a, 0), 0);
}

/* ---- AES-256-GCM ---- */

/*
 * McGrew and Viega, "The Galois/Counter Mode of Operation", appendix B,
 * test cases 13 to 16 (256-bit keys).
 */
#define GCM_K15	"feffe9928665731c6d6a8f9467308308" \
		"feffe9928665731c6d6a8f9467308308"
#define GCM_P15	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define GCM_C15	"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" \
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"

static const struct gcm_vector {
	const char	*name, *key, *iv, *pt, *aad, *ct, *tag;
	size_t		 ptlen, aadlen;
} gcm_vectors[] = {
	{ "13", "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "", "", "",
	  "530f8afbc74536b9a963b4f1c4cb738b", 0, 0 },
	{ "14", "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "00000000000000000000000000000000", "",
	  "cea7403d4d606b6e074ec5d3baf39d18",
	  "d0d1c8a799996bf0265b98b5d48ab919", 16, 0 },
	{ "15", GCM_K15, "cafebabefacedbaddecaf888", GCM_P15, "", GCM_C15,
	  "b094dac5d93471bdec1a502270e3cc6c", 64, 0 },
	/* Case 16: the first 60 bytes of case 15, with associated data. */
	{ "16", GCM_K15, "cafebabefacedbaddecaf888", GCM_P15,
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2", GCM_C15,
	  "76fc6ece0f4e1768cddf8853bb2d551b", 60, 20 },
};

static void
gcm_spec_vectors(void **state UNUSED)
{
	const struct gcm_vector	*v;
	uint8_t			 key[32], iv[12], pt[64], aad[20], want[80];
	uint8_t			 out[80], back[64];
	size_t			 i;

	for (i = 0; i < sizeof(gcm_vectors) / sizeof(gcm_vectors[0]); i++) {
		v = &gcm_vectors[i];
		unhex(v->key, key, 32);
		unhex(v->iv, iv, 12);
		/* Case 16 takes a prefix of case 15's texts. */
		unhex(v->pt, pt, strlen(v->pt) / 2);
		unhex(v->aad, aad, v->aadlen);
		unhex(v->ct, want, strlen(v->ct) / 2);
		unhex(v->tag, want + v->ptlen, 16);

		assert_int_equal(crypto_aead_seal(key, iv, aad, v->aadlen, pt,
		    v->ptlen, out), 0);
		assert_memory_equal(out, want, v->ptlen + 16);
		memset(back, 0xee, sizeof(back));
		assert_int_equal(crypto_aead_open(key, iv, aad, v->aadlen, out,
		    v->ptlen + 16, back), 0);
		if (v->ptlen > 0)
			assert_memory_equal(back, pt, v->ptlen);
	}
}

/*
 * Test case 16 with one bit changed in the ciphertext, the tag, the
 * associated data or the nonce: open fails and leaves no plaintext.
 */
static void
gcm_tamper_fails(void **state UNUSED)
{
	const struct gcm_vector	*v = &gcm_vectors[3];
	uint8_t			 key[32], iv[12], pt[64], aad[20], box[76];
	uint8_t			 out[60];
	size_t			 i;
	struct {
		uint8_t	*p;
		size_t	 off;
	} flips[] = {
		{ box, 0 }, { box, 59 },	/* ciphertext */
		{ box, 60 }, { box, 75 },	/* tag */
		{ aad, 0 }, { aad, 19 },	/* associated data */
		{ iv, 0 }, { iv, 11 },		/* nonce */
	};

	unhex(v->key, key, 32);
	unhex(v->iv, iv, 12);
	unhex(v->pt, pt, 64);
	unhex(v->aad, aad, 20);
	assert_int_equal(crypto_aead_seal(key, iv, aad, 20, pt, 60, box), 0);

	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		flips[i].p[flips[i].off] ^= 0x80;
		memset(out, 0xee, sizeof(out));
		assert_int_equal(crypto_aead_open(key, iv, aad, 20, box, 76,
		    out), -1);
		assert_true(all_zero(out, sizeof(out)));
		flips[i].p[flips[i].off] ^= 0x80;
	}
	/* Dropping the associated data is a change too. */
	assert_int_equal(crypto_aead_open(key, iv, NULL, 0, box, 76, out), -1);
	/* Shorter than a tag: nothing to authenticate. */
	assert_int_equal(crypto_aead_open(key, iv, aad, 20, box, 15, out), -1);
	/* And the untouched box still opens. */
	assert_int_equal(crypto_aead_open(key, iv, aad, 20, box, 76, out), 0);
	assert_memory_equal(out, pt, 60);
	assert_no_openssl_error();
}

/* Opening in place (out == in) works: callers decrypt into the frame. */
static void
gcm_in_place(void **state UNUSED)
{
	uint8_t	 key[32], iv[12], buf[5 + 16];

	memset(key, 7, sizeof(key));
	memset(iv, 9, sizeof(iv));
	memcpy(buf, "hello", 5);
	assert_int_equal(crypto_aead_seal(key, iv, "h", 1, buf, 5, buf), 0);
	assert_memory_not_equal(buf, "hello", 5);
	assert_int_equal(crypto_aead_open(key, iv, "h", 1, buf, sizeof(buf),
	    buf), 0);
	assert_memory_equal(buf, "hello", 5);
}

/* ---- scrypt ---- */

/* RFC 7914 section 12: the first and second vectors. */
static void
scrypt_rfc7914(void **state UNUSED)
{
	uint8_t	 out[64];

	assert_int_equal(crypto_scrypt("", 0, "", 0, 16, 1, 1, out, 64), 0);
	assert_hex(out, "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdf"
	    "fa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35"
	    "e20c38d18906");
	assert_int_equal(crypto_scrypt("password", 8, "NaCl", 4, 1024, 8, 16,
	    out, 64), 0);
	assert_hex(out, "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e773"
	    "76634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360"
	    "cbdfa2cc0640");
}

/* N must be a power of two greater than one. */
static void
scrypt_bad_n_fails(void **state UNUSED)
{
	uint8_t	 out[32];

	memset(out, 0xee, sizeof(out));
	assert_int_equal(crypto_scrypt("a", 1, "b", 1, 1000, 1, 1, out, 32),
	    -1);
	assert_true(all_zero(out, sizeof(out)));
	assert_int_equal(crypto_scrypt("a", 1, "b", 1, 1, 1, 1, out, 32), -1);
	assert_no_openssl_error();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(x25519_rfc7748_5_2),
		cmocka_unit_test(x25519_rfc7748_6_1),
		cmocka_unit_test(x25519_low_order_peer_fails),
		cmocka_unit_test(x25519_keygen_agrees),
		cmocka_unit_test(ed25519_rfc8032_7_1),
		cmocka_unit_test(ed25519_bit_flips_fail),
		cmocka_unit_test(ed25519_keygen_roundtrip),
		cmocka_unit_test(ed25519_parts_equal_concatenation),
		cmocka_unit_test(ed25519_parts_bounded),
		cmocka_unit_test(hkdf_rfc5869),
		cmocka_unit_test(hkdf_too_long_fails),
		cmocka_unit_test(hmac_rfc4231),
		cmocka_unit_test(sha256_known),
		cmocka_unit_test(random_fills),
		cmocka_unit_test(gcm_spec_vectors),
		cmocka_unit_test(gcm_tamper_fails),
		cmocka_unit_test(gcm_in_place),
		cmocka_unit_test(scrypt_rfc7914),
		cmocka_unit_test(scrypt_bad_n_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
