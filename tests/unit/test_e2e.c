/*
 * test_e2e.c: sealed envelopes and sender keys, against docs/E2E.md built
 * independently here, and every way a message may be tampered with.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "e2e.h"

/* cmocka hands every test a state pointer these tests do not need. */
#define UNUSED		__attribute__((__unused__))

#define ROOM		"#room"
#define ROOM2		"#rook"		/* same length: headers can be edited */
#define MSG_MAX		512

/* Equal-length names, so a test can rewrite one into another in place. */
struct party {
	const char	*name;
	uint8_t		 sign_priv[32];
	uint8_t		 sign_pub[32];
	uint32_t	 spk_id;
	uint8_t		 spk_priv[32];
	uint8_t		 spk_pub[32];
};

struct msg {
	uint8_t		 b[MSG_MAX];
	size_t		 len;
};

static struct party	 alice = { .name = "alice", .spk_id = 7 };
static struct party	 bobby = { .name = "bobby", .spk_id = 9 };
static struct party	 carol = { .name = "carol", .spk_id = 11 };
static struct party	 mallo = { .name = "mallo", .spk_id = 13 };

static void
party_keys(struct party *p)
{
	assert_int_equal(crypto_ed25519_keygen(p->sign_priv, p->sign_pub), 0);
	assert_int_equal(crypto_x25519_keygen(p->spk_priv, p->spk_pub), 0);
}

static int
setup_parties(void **state UNUSED)
{
	party_keys(&alice);
	party_keys(&bobby);
	party_keys(&carol);
	party_keys(&mallo);
	return 0;
}

/* The roster head every test message names (docs/E2E.md 3.2). */
static const uint8_t	 head[32] = "the roster head, thirty-two byte";

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put_name(uint8_t *p, size_t *off, const char *name)
{
	size_t	 len = strlen(name);

	p[(*off)++] = (uint8_t)len;
	memcpy(p + *off, name, len);
	*off += len;
}

/* Offsets of the fixed envelope fields for 5-byte names (docs/E2E.md). */
#define ENV_OFF_SENDER		3
#define ENV_OFF_RECIPIENT	9
#define ENV_OFF_SPK_ID		14
#define ENV_OFF_E_PUB		18
#define ENV_OFF_MSG_ID		50
#define ENV_OFF_STREAM		74
#define ENV_OFF_COUNTER		78
#define ENV_HDR_LEN		86

/*
 * An envelope built from the specification alone, with a chosen
 * ephemeral public key and shared secret, as a broken or hostile
 * sender might build it.
 */
static size_t
craft_envelope(const struct party *from, const char *to,
    const uint8_t spk_pub[32], const uint8_t e_pub[32],
    const uint8_t shared[32], const char *pt, uint8_t *out)
{
	const char		*label = "securechat/v1/pairwise";
	const char		*siglabel = "securechat/v1/pairwise-sig";
	uint8_t			 salt[64], info[64], okm[44];
	struct crypto_part	 parts[3];
	size_t			 off = 0, ioff, hdrlen, ptlen = strlen(pt);

	out[off++] = 2;
	out[off++] = E2E_TYPE_DM;
	put_name(out, &off, from->name);
	put_name(out, &off, to);
	put32(out + off, 9);
	off += 4;
	memcpy(out + off, e_pub, 32);
	off += 32;
	assert_int_equal(crypto_random(out + off, 16), 0);
	off += 16;
	memset(out + off, 0, 8);
	out[off + 7] = 42;
	off += 8;
	put32(out + off, 0x0a0b0c0d);		/* stream */
	off += 4;
	memset(out + off, 0, 8);		/* counter 3 */
	out[off + 7] = 3;
	off += 8;
	hdrlen = off;
	assert_int_equal(hdrlen, ENV_HDR_LEN);

	memcpy(salt, e_pub, 32);
	memcpy(salt + 32, spk_pub, 32);
	ioff = strlen(label);
	memcpy(info, label, ioff);
	info[ioff++] = E2E_TYPE_DM;
	put_name(info, &ioff, from->name);
	put_name(info, &ioff, to);
	assert_int_equal(crypto_hkdf_sha256(salt, 64, shared, 32, info, ioff,
	    okm, sizeof(okm)), 0);
	put32(out + off, (uint32_t)(ptlen + 16));
	off += 4;
	assert_int_equal(crypto_aead_seal(okm, okm + 32, out, hdrlen, pt,
	    ptlen, out + off), 0);
	parts[0].p = siglabel;
	parts[0].len = strlen(siglabel);
	parts[1].p = out;
	parts[1].len = hdrlen;
	parts[2].p = out + off;
	parts[2].len = ptlen + 16;
	assert_int_equal(crypto_ed25519_sign_parts(from->sign_priv, parts, 3,
	    out + off + ptlen + 16), 0);
	return off + ptlen + 16 + 64;
}

static void
seal_dm(const struct party *from, const struct party *to, const char *pt,
    struct msg *m)
{
	size_t	 ptlen = strlen(pt);

	assert_int_equal(e2e_seal_counted(from->sign_priv, from->name,
	    to->name, to->spk_id, to->spk_pub, E2E_TYPE_DM, 0x0a0b0c0d, 3, pt,
	    ptlen, 1234, m->b, sizeof(m->b), &m->len), E2E_OK);
	assert_int_equal(m->len, e2e_seal_size(from->name, to->name, ptlen));
}

static int
open_dm(const struct msg *m, const struct party *me,
    const struct party *from)
{
	uint8_t	 out[MSG_MAX];
	size_t	 outlen = 0;

	return e2e_open(m->b, m->len, me->name, from->sign_pub,
	    me->spk_priv, out, sizeof(out), &outlen, NULL);
}

static void
envelope_round_trip(void **state UNUSED)
{
	struct e2e_env_hdr	 peek, h;
	struct msg		 m;
	uint8_t			 out[MSG_MAX];
	size_t			 outlen = 0;
	const char		*pt = "hello bobby, this is alice";

	seal_dm(&alice, &bobby, pt, &m);
	assert_int_equal(e2e_peek(m.b, m.len, &peek), E2E_OK);
	assert_int_equal(peek.version, E2E_VERSION);
	assert_int_equal(peek.type, E2E_TYPE_DM);
	assert_string_equal(peek.sender, "alice");
	assert_string_equal(peek.recipient, "bobby");
	assert_int_equal(peek.spk_id, bobby.spk_id);
	assert_int_equal(peek.ts_ms, 1234);

	assert_int_equal(e2e_open(m.b, m.len, "bobby", alice.sign_pub,
	    bobby.spk_priv, out, sizeof(out), &outlen, &h), E2E_OK);
	assert_int_equal(outlen, strlen(pt));
	assert_memory_equal(out, pt, outlen);
	assert_memory_equal(&h, &peek, sizeof(h));

	/* An empty message and an SKDM-typed one travel the same way. */
	assert_int_equal(e2e_seal(alice.sign_priv, "alice", "bobby",
	    bobby.spk_id, bobby.spk_pub, E2E_TYPE_SKDM, NULL, 0, 5, m.b,
	    sizeof(m.b), &m.len), E2E_OK);
	assert_int_equal(e2e_open(m.b, m.len, "bobby", alice.sign_pub,
	    bobby.spk_priv, out, sizeof(out), &outlen, &h), E2E_OK);
	assert_int_equal(outlen, 0);
	assert_int_equal(h.type, E2E_TYPE_SKDM);
}

static void
envelope_ids_and_ephemerals_are_fresh(void **state UNUSED)
{
	struct e2e_env_hdr	 h1, h2;
	struct msg		 m1, m2;

	seal_dm(&alice, &bobby, "same", &m1);
	seal_dm(&alice, &bobby, "same", &m2);
	assert_int_equal(e2e_peek(m1.b, m1.len, &h1), E2E_OK);
	assert_int_equal(e2e_peek(m2.b, m2.len, &h2), E2E_OK);
	assert_memory_not_equal(h1.msg_id, h2.msg_id, 16);
	assert_memory_not_equal(h1.e_pub, h2.e_pub, 32);
}

/* Both directions: the spec's bytes open, and ours open by the spec. */
static void
envelope_follows_spec_layout(void **state UNUSED)
{
	const char		*siglabel = "securechat/v1/pairwise-sig";
	uint8_t			 e_priv[32], e_pub[32], shared[32];
	uint8_t			 salt[64], info[64], okm[44], out[MSG_MAX];
	struct crypto_part	 parts[3];
	struct msg		 m;
	size_t			 ioff, outlen = 0, ctlen;
	const char		*pt = "by the book";

	assert_int_equal(crypto_x25519_keygen(e_priv, e_pub), 0);
	assert_int_equal(crypto_x25519(e_priv, bobby.spk_pub, shared), 0);
	m.len = craft_envelope(&alice, "bobby", bobby.spk_pub, e_pub, shared,
	    pt, m.b);
	assert_int_equal(e2e_open(m.b, m.len, "bobby", alice.sign_pub,
	    bobby.spk_priv, out, sizeof(out), &outlen, NULL), E2E_OK);
	assert_memory_equal(out, pt, strlen(pt));

	seal_dm(&alice, &bobby, pt, &m);
	assert_int_equal(m.b[0], 2);
	assert_int_equal(m.b[1], E2E_TYPE_DM);
	assert_int_equal(m.b[2], 5);
	assert_memory_equal(m.b + ENV_OFF_SENDER, "alice", 5);
	assert_int_equal(m.b[8], 5);
	assert_memory_equal(m.b + ENV_OFF_RECIPIENT, "bobby", 5);
	assert_int_equal(m.b[ENV_OFF_SPK_ID + 3], bobby.spk_id);
	assert_int_equal(m.b[ENV_OFF_MSG_ID + 16 + 7], 1234 & 0xff);
	assert_int_equal(m.b[ENV_OFF_STREAM], 0x0a);
	assert_int_equal(m.b[ENV_OFF_STREAM + 3], 0x0d);
	assert_int_equal(m.b[ENV_OFF_COUNTER + 7], 3);
	ctlen = strlen(pt) + 16;
	assert_int_equal(m.b[ENV_HDR_LEN + 3], ctlen);
	assert_int_equal(m.len, ENV_HDR_LEN + 4 + ctlen + 64);

	assert_int_equal(crypto_x25519(bobby.spk_priv, m.b + ENV_OFF_E_PUB,
	    shared), 0);
	memcpy(salt, m.b + ENV_OFF_E_PUB, 32);
	memcpy(salt + 32, bobby.spk_pub, 32);
	ioff = strlen("securechat/v1/pairwise");
	memcpy(info, "securechat/v1/pairwise", ioff);
	info[ioff++] = E2E_TYPE_DM;
	put_name(info, &ioff, "alice");
	put_name(info, &ioff, "bobby");
	assert_int_equal(crypto_hkdf_sha256(salt, 64, shared, 32, info, ioff,
	    okm, sizeof(okm)), 0);
	assert_int_equal(crypto_aead_open(okm, okm + 32, m.b, ENV_HDR_LEN,
	    m.b + ENV_HDR_LEN + 4, ctlen, out), 0);
	assert_memory_equal(out, pt, strlen(pt));
	parts[0].p = siglabel;
	parts[0].len = strlen(siglabel);
	parts[1].p = m.b;
	parts[1].len = ENV_HDR_LEN;
	parts[2].p = m.b + ENV_HDR_LEN + 4;
	parts[2].len = ctlen;
	assert_int_equal(crypto_ed25519_verify_parts(alice.sign_pub, parts, 3,
	    m.b + ENV_HDR_LEN + 4 + ctlen), 0);
}

static void
envelope_every_bit_flip_refused(void **state UNUSED)
{
	struct msg	 m, t;
	size_t		 pos, bit, nbits;
	int		 rc;

	seal_dm(&alice, &bobby, "flip me if you can, thirty-two b", &m);
	for (pos = 0; pos < m.len; pos++) {
		/* Every bit of the header, one bit of each byte after it. */
		nbits = pos < ENV_HDR_LEN ? 8 : 1;
		for (bit = 0; bit < nbits; bit++) {
			t = m;
			t.b[pos] ^= (uint8_t)(1u << ((pos + bit) % 8));
			rc = open_dm(&t, &bobby, &alice);
			if (pos < 2)
				assert_int_equal(rc, E2E_EVERSION);
			else if (pos == ENV_OFF_SENDER - 1 ||
			    pos == ENV_OFF_RECIPIENT - 1) {
				/* A name length: the layout shifts. */
				if (rc != E2E_EMALFORMED && rc != E2E_ESIG)
					fail_msg("byte %zu bit %zu: %s", pos,
					    bit, e2e_strerror(rc));
			} else if (pos >= ENV_HDR_LEN && pos < ENV_HDR_LEN + 4)
				assert_int_equal(rc, E2E_EMALFORMED);
			else
				assert_int_equal(rc, E2E_ESIG);
		}
	}
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_OK);
}

static void
envelope_truncated_or_extended_refused(void **state UNUSED)
{
	struct e2e_env_hdr	 h;
	struct msg		 m;
	size_t			 full;

	seal_dm(&alice, &bobby, "cut", &m);
	full = m.len;
	for (m.len = 0; m.len < full; m.len++) {
		assert_int_equal(e2e_peek(m.b, m.len, &h), E2E_EMALFORMED);
		assert_int_equal(open_dm(&m, &bobby, &alice), E2E_EMALFORMED);
	}
	/* One byte too many is no more acceptable than one too few. */
	m.b[full] = 0;
	m.len = full + 1;
	assert_int_equal(e2e_peek(m.b, m.len, &h), E2E_EMALFORMED);
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_EMALFORMED);
	m.len = full;
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_OK);
}

static void
envelope_to_another_recipient_refused(void **state UNUSED)
{
	struct msg	 m;
	size_t		 len;

	/*
	 * Addressed to carol but encrypted to bobby's prekey: decryption
	 * would succeed, so only the recipient check can refuse it.
	 */
	assert_int_equal(e2e_seal(alice.sign_priv, "alice", "carol",
	    bobby.spk_id, bobby.spk_pub, E2E_TYPE_DM, "for carol", 9, 1, m.b,
	    sizeof(m.b), &len), E2E_OK);
	m.len = len;
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_ERECIPIENT);

	/* What carol received, forwarded as is to bobby. */
	seal_dm(&alice, &carol, "for carol", &m);
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_ERECIPIENT);
	assert_int_equal(open_dm(&m, &carol, &alice), E2E_OK);
}

static void
envelope_readdressed_refused(void **state UNUSED)
{
	struct msg	 m;

	/* Carol rewrites the recipient of what alice sent her. */
	seal_dm(&alice, &carol, "for carol", &m);
	memcpy(m.b + ENV_OFF_RECIPIENT, "bobby", 5);
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_ESIG);
	/* And the sender: still alice's signature, now on other bytes. */
	seal_dm(&alice, &bobby, "from alice", &m);
	memcpy(m.b + ENV_OFF_SENDER, "carol", 5);
	assert_int_equal(open_dm(&m, &bobby, &carol), E2E_ESIG);
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_ESIG);
}

static void
envelope_other_senders_key_refused(void **state UNUSED)
{
	struct msg	 m;
	size_t		 len;

	seal_dm(&alice, &bobby, "from alice", &m);
	assert_int_equal(open_dm(&m, &bobby, &mallo), E2E_ESIG);
	/* Mallo claims to be alice: bobby checks alice's pinned key. */
	assert_int_equal(e2e_seal(mallo.sign_priv, "alice", "bobby",
	    bobby.spk_id, bobby.spk_pub, E2E_TYPE_DM, "hi", 2, 1, m.b,
	    sizeof(m.b), &len), E2E_OK);
	m.len = len;
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_ESIG);
}

static void
envelope_decrypt_failure_detected(void **state UNUSED)
{
	struct crypto_part	 parts[3];
	struct msg		 m;
	uint8_t			 out[MSG_MAX];
	size_t			 outlen = 0, ctlen;

	/* Signed correctly, but bobby has erased that prekey's private half. */
	seal_dm(&alice, &bobby, "old prekey", &m);
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(e2e_open(m.b, m.len, "bobby", alice.sign_pub,
	    carol.spk_priv, out, sizeof(out), &outlen, NULL), E2E_EDECRYPT);
	assert_int_equal(outlen, 0);

	/* The ciphertext changed and signed again: only the tag can tell. */
	ctlen = m.len - ENV_HDR_LEN - 4 - 64;
	m.b[ENV_HDR_LEN + 4] ^= 0x80;
	parts[0].p = "securechat/v1/pairwise-sig";
	parts[0].len = strlen(parts[0].p);
	parts[1].p = m.b;
	parts[1].len = ENV_HDR_LEN;
	parts[2].p = m.b + ENV_HDR_LEN + 4;
	parts[2].len = ctlen;
	assert_int_equal(crypto_ed25519_sign_parts(alice.sign_priv, parts, 3,
	    m.b + ENV_HDR_LEN + 4 + ctlen), 0);
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_EDECRYPT);
}

static void
envelope_low_order_e_pub_refused(void **state UNUSED)
{
	/* 0 and 1 are points of small order; both give an all-zero secret. */
	static const uint8_t	 one[32] = { 1 };
	uint8_t			 zero[32] = { 0 }, shared[32] = { 0 };
	struct msg		 m;

	m.len = craft_envelope(&alice, "bobby", bobby.spk_pub, zero, shared,
	    "anyone can read this", m.b);
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_EDECRYPT);
	m.len = craft_envelope(&alice, "bobby", bobby.spk_pub, one, shared,
	    "anyone can read this", m.b);
	assert_int_equal(open_dm(&m, &bobby, &alice), E2E_EDECRYPT);
	/* Nor does e2e_seal encrypt to such a prekey. */
	assert_int_equal(e2e_seal(alice.sign_priv, "alice", "bobby", 1, zero,
	    E2E_TYPE_DM, "x", 1, 1, m.b, sizeof(m.b), &m.len), E2E_EINVAL);
}

static void
envelope_bad_arguments_refused(void **state UNUSED)
{
	char		 longname[E2E_NAME_MAX + 2];
	struct msg	 m;
	size_t		 len;

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(e2e_seal(alice.sign_priv, "alice", "bobby", 1,
	    bobby.spk_pub, E2E_TYPE_GROUP, "x", 1, 1, m.b, sizeof(m.b), &len),
	    E2E_EINVAL);
	assert_int_equal(e2e_seal(alice.sign_priv, "", "bobby", 1,
	    bobby.spk_pub, E2E_TYPE_DM, "x", 1, 1, m.b, sizeof(m.b), &len),
	    E2E_EINVAL);
	assert_int_equal(e2e_seal(alice.sign_priv, "alice", longname, 1,
	    bobby.spk_pub, E2E_TYPE_DM, "x", 1, 1, m.b, sizeof(m.b), &len),
	    E2E_EINVAL);
	assert_int_equal(e2e_seal(alice.sign_priv, "alice", "bobby", 1,
	    bobby.spk_pub, E2E_TYPE_DM, "x", 1, 1, m.b,
	    e2e_seal_size("alice", "bobby", 1) - 1, &len), E2E_ENOSPC);
	assert_int_equal(e2e_seal_size("alice", "bobby", E2E_PT_MAX + 1), 0);
}

static void
seen_set_detects_replay(void **state UNUSED)
{
	struct e2e_seen		*seen;
	struct e2e_env_hdr	 h;
	struct msg		 m;
	uint8_t			 out[MSG_MAX], id[16];
	size_t			 outlen, i;

	assert_non_null(seen = malloc(sizeof(*seen)));
	e2e_seen_init(seen);
	seal_dm(&alice, &bobby, "once", &m);
	assert_int_equal(e2e_open(m.b, m.len, "bobby", alice.sign_pub,
	    bobby.spk_priv, out, sizeof(out), &outlen, &h), E2E_OK);
	assert_int_equal(e2e_seen_check_add(seen, h.msg_id), E2E_OK);
	/* The same envelope again: it opens, and the seen-set refuses it. */
	assert_int_equal(e2e_open(m.b, m.len, "bobby", alice.sign_pub,
	    bobby.spk_priv, out, sizeof(out), &outlen, &h), E2E_OK);
	assert_int_equal(e2e_seen_check_add(seen, h.msg_id), E2E_EREPLAY);

	/* Remembered until E2E_SEEN_MAX newer ids have pushed it out. */
	memset(id, 0, sizeof(id));
	for (i = 0; i < E2E_SEEN_MAX - 1; i++) {
		id[0] = (uint8_t)i;
		id[1] = (uint8_t)(i >> 8);
		id[15] = 0xee;
		assert_int_equal(e2e_seen_check_add(seen, id), E2E_OK);
	}
	assert_int_equal(e2e_seen_check_add(seen, h.msg_id), E2E_EREPLAY);
	id[15] = 0xef;
	assert_int_equal(e2e_seen_check_add(seen, id), E2E_OK);
	assert_int_equal(e2e_seen_check_add(seen, h.msg_id), E2E_OK);
	free(seen);
}

/* Group helpers. */

static void
gseal(struct e2e_chain *c, const char *room, const char *sender,
    uint32_t epoch, uint32_t n, struct msg *m)
{
	char	 pt[64];
	int	 ptlen;

	ptlen = snprintf(pt, sizeof(pt), "message %u from %s", n, sender);
	assert_int_equal(e2e_group_seal_head(c, room, sender, epoch, head, pt,
	    (size_t)ptlen, 1000 + n, m->b, sizeof(m->b), &m->len), E2E_OK);
}

/* Open and check the text gseal put in message n. */
static int
gopen(struct e2e_group_receiver *r, const struct msg *m, uint32_t n)
{
	struct e2e_group_hdr	 h;
	uint8_t			 out[MSG_MAX];
	char			 want[64];
	size_t			 outlen = 0;
	int			 rc, wlen;

	rc = e2e_group_open(r, m->b, m->len, out, sizeof(out), &outlen, &h);
	if (rc == E2E_OK) {
		wlen = snprintf(want, sizeof(want), "message %u from %s", n,
		    r->sender);
		assert_int_equal(outlen, (size_t)wlen);
		assert_memory_equal(out, want, outlen);
		assert_int_equal(h.ts_ms, 1000 + n);
	}
	return rc;
}

static void
give_skdm(const struct e2e_chain *c, const char *room, uint32_t epoch,
    struct e2e_group_receiver *r, const char *sender)
{
	uint8_t	 buf[E2E_SKDM_MAX];
	size_t	 len;

	assert_int_equal(e2e_chain_skdm(c, room, epoch, buf, sizeof(buf),
	    &len), E2E_OK);
	assert_int_equal(e2e_group_receiver_add_skdm(r, sender, buf, len),
	    E2E_OK);
}

/* alice's new chain in ROOM, and a receiver that learnt it (epoch 1). */
static void
alice_chain(struct e2e_chain *c, struct e2e_group_receiver *r)
{
	assert_int_equal(e2e_chain_new(c, 0), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(r, ROOM, "alice"), E2E_OK);
	give_skdm(c, ROOM, 1, r, "alice");
}

static struct msg *
seal_many(struct e2e_chain *c, const char *sender, uint32_t n)
{
	struct msg	*m;
	uint32_t	 i;

	assert_non_null(m = calloc(n, sizeof(*m)));
	for (i = 0; i < n; i++)
		gseal(c, ROOM, sender, 1, i, &m[i]);
	return m;
}

/* Offsets in a group header with 5-byte room and sender. */
#define GRP_OFF_ROOM		3
#define GRP_OFF_SENDER		9
#define GRP_OFF_CHAIN_ID	18
#define GRP_OFF_ITERATION	22
#define GRP_OFF_ROSTER		50
#define GRP_HDR_LEN		82

static void
group_follows_spec_layout(void **state UNUSED)
{
	const char		*label = "securechat/v1/group-msg";
	const char		*siglabel = "securechat/v1/group-sig";
	static const uint8_t	 b1 = 1, b2 = 2;
	struct e2e_chain	 c;
	struct e2e_skdm		 s;
	struct crypto_part	 parts[3];
	uint8_t			 skdm[E2E_SKDM_MAX], ck[32], seed[32];
	uint8_t			 info[64], okm[44], out[MSG_MAX];
	struct msg		 m[2];
	size_t			 len, ioff, ctlen;
	int			 i;

	assert_int_equal(e2e_chain_new(&c, 5), E2E_OK);
	assert_int_equal(e2e_chain_skdm_prev(&c, ROOM, 3, 0x01020304, 77,
	    skdm, sizeof(skdm), &len), E2E_OK);
	assert_int_equal(len, 1 + 5 + 12 + 64 + 8);
	assert_int_equal(skdm[0], 5);
	assert_memory_equal(skdm + 1, ROOM, 5);
	assert_int_equal(skdm[9], 3);			/* epoch */
	assert_int_equal(skdm[82], 1);			/* prev chain id */
	assert_int_equal(skdm[85], 4);
	assert_int_equal(skdm[89], 77);			/* prev count */
	assert_int_equal(e2e_skdm_parse(skdm, len, &s), E2E_OK);
	assert_int_equal(s.prev_chain_id, 0x01020304);
	assert_int_equal(s.prev_count, 77);
	assert_string_equal(s.room, ROOM);
	assert_int_equal(s.epoch, 3);
	assert_int_equal(s.chain_id, c.chain_id);
	assert_int_equal(s.iteration, 0);
	assert_memory_equal(s.ck, c.ck, 32);
	assert_memory_equal(s.sign_pub, c.sign_pub, 32);
	memcpy(ck, s.ck, 32);

	gseal(&c, ROOM, "alice", 3, 0, &m[0]);
	gseal(&c, ROOM, "alice", 3, 1, &m[1]);
	for (i = 0; i < 2; i++) {
		assert_int_equal(m[i].b[0], 2);
		assert_int_equal(m[i].b[1], E2E_TYPE_GROUP);
		assert_memory_equal(m[i].b + GRP_OFF_ROOM, ROOM, 5);
		assert_memory_equal(m[i].b + GRP_OFF_SENDER, "alice", 5);
		assert_int_equal(m[i].b[GRP_OFF_CHAIN_ID - 1], 3);
		assert_memory_equal(m[i].b + GRP_OFF_CHAIN_ID, skdm + 10, 4);
		assert_int_equal(m[i].b[GRP_OFF_ITERATION + 3], i);
		assert_memory_equal(m[i].b + GRP_OFF_ROSTER, head, 32);

		/* seed_i = HMAC(CK_i, 01), CK_i+1 = HMAC(CK_i, 02). */
		assert_int_equal(crypto_hmac_sha256(ck, 32, &b1, 1, seed), 0);
		assert_int_equal(crypto_hmac_sha256(ck, 32, &b2, 1, ck), 0);
		ioff = strlen(label);
		memcpy(info, label, ioff);
		put_name(info, &ioff, ROOM);
		put_name(info, &ioff, "alice");
		memcpy(info + ioff, skdm + 10, 4);
		put32(info + ioff + 4, (uint32_t)i);
		ioff += 8;
		assert_int_equal(crypto_hkdf_sha256(NULL, 0, seed, 32, info,
		    ioff, okm, sizeof(okm)), 0);
		ctlen = m[i].len - GRP_HDR_LEN - 4 - 64;
		assert_int_equal(m[i].b[GRP_HDR_LEN + 3], ctlen);
		assert_int_equal(crypto_aead_open(okm, okm + 32, m[i].b,
		    GRP_HDR_LEN, m[i].b + GRP_HDR_LEN + 4, ctlen, out), 0);
		assert_memory_equal(out, i == 0 ? "message 0 from alice" :
		    "message 1 from alice", ctlen - 16);
		parts[0].p = siglabel;
		parts[0].len = strlen(siglabel);
		parts[1].p = m[i].b;
		parts[1].len = GRP_HDR_LEN;
		parts[2].p = m[i].b + GRP_HDR_LEN + 4;
		parts[2].len = ctlen;
		assert_int_equal(crypto_ed25519_verify_parts(c.sign_pub, parts,
		    3, m[i].b + GRP_HDR_LEN + 4 + ctlen), 0);
	}
	/* The sender's chain key moved on: the used ones are gone. */
	assert_memory_equal(c.ck, ck, 32);
	assert_memory_not_equal(c.ck, s.ck, 32);
	assert_int_equal(c.iteration, 2);
	assert_int_equal(c.sent, 2);
	e2e_chain_wipe(&c);
}

static void
skdm_malformed_refused(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct e2e_skdm			 s;
	uint8_t				 buf[E2E_SKDM_MAX + 1];
	size_t				 len, l;

	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	assert_int_equal(e2e_chain_skdm(&c, ROOM, 1, buf, sizeof(buf), &len),
	    E2E_OK);
	for (l = 0; l < len; l++)
		assert_int_equal(e2e_skdm_parse(buf, l, &s), E2E_EMALFORMED);
	assert_int_equal(e2e_skdm_parse(buf, len + 1, &s), E2E_EMALFORMED);
	assert_int_equal(e2e_chain_skdm(&c, ROOM, 1, buf, len - 1, &l),
	    E2E_ENOSPC);

	/* For another room, or handed out by someone else. */
	assert_int_equal(e2e_group_receiver_init(&r, ROOM2, "alice"), E2E_OK);
	assert_int_equal(e2e_chain_skdm(&c, ROOM, 1, buf, sizeof(buf), &len),
	    E2E_OK);
	assert_int_equal(e2e_group_receiver_add_skdm(&r, "alice", buf, len),
	    E2E_EROOM);
	assert_int_equal(e2e_group_receiver_add_skdm(&r, "carol", buf, len),
	    E2E_ESENDER);
	e2e_group_receiver_free(&r);
	e2e_chain_wipe(&c);
}

/* Rotations happen as the client would do them: SKDM in an envelope. */
static void
group_round_trip_300_messages_with_rotation(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_env_hdr		 h;
	struct e2e_chain		 c;
	struct msg			 env, m;
	uint8_t				 skdm[E2E_SKDM_MAX], out[MSG_MAX];
	uint64_t			 deadline = UINT64_MAX, now = 1000;
	uint32_t			 n, chains = 0, last_id = 0;
	size_t				 len, outlen;

	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	memset(&c, 0, sizeof(c));
	for (n = 0; n < 300; n++, now += 10) {
		if (chains == 0 || e2e_chain_needs_rotation(&c, now, 0, 0,
		    deadline)) {
			assert_true(chains == 0 || c.sent == 100);
			e2e_chain_wipe(&c);
			assert_int_equal(e2e_chain_new(&c, now), E2E_OK);
			assert_int_not_equal(c.chain_id, last_id);
			last_id = c.chain_id;
			chains++;
			assert_int_equal(e2e_chain_skdm(&c, ROOM, chains, skdm,
			    sizeof(skdm), &len), E2E_OK);
			assert_int_equal(e2e_seal(alice.sign_priv, "alice",
			    "bobby", bobby.spk_id, bobby.spk_pub,
			    E2E_TYPE_SKDM, skdm, len, now, env.b,
			    sizeof(env.b), &env.len), E2E_OK);
			assert_int_equal(e2e_open(env.b, env.len, "bobby",
			    alice.sign_pub, bobby.spk_priv, out, sizeof(out),
			    &outlen, &h), E2E_OK);
			assert_int_equal(h.type, E2E_TYPE_SKDM);
			assert_int_equal(e2e_group_receiver_add_skdm(&r,
			    h.sender, out, outlen), E2E_OK);
		}
		gseal(&c, ROOM, "alice", chains, n, &m);
		assert_int_equal(gopen(&r, &m, n), E2E_OK);
	}
	assert_int_equal(chains, 3);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

static void
group_out_of_order_within_bounds(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct msg			*m;
	uint32_t			 order[50], i, j, t, x = 2463534242u;

	alice_chain(&c, &r);
	m = seal_many(&c, "alice", 50);
	/* Fisher-Yates with a fixed xorshift: the same order every run. */
	for (i = 0; i < 50; i++)
		order[i] = i;
	for (i = 49; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		j = x % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	/* Far from delivery order, or the test proves nothing. */
	for (i = 0, t = 0; i < 50; i++)
		t += order[i] != i;
	assert_true(t > 40);
	for (i = 0; i < 50; i++)
		assert_int_equal(gopen(&r, &m[order[i]], order[i]), E2E_OK);
	/* Every key was used once and deleted. */
	for (i = 0; i < 50; i++)
		assert_int_equal(gopen(&r, &m[i], i), E2E_EREPLAY);
	free(m);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

/* Open message n of ROOM from alice and say what its order is. */
static struct e2e_order
gorder(struct e2e_group_receiver *r, const struct msg *m)
{
	struct e2e_order	 o;
	uint8_t			 out[MSG_MAX];
	size_t			 outlen;

	assert_int_equal(e2e_group_open_order(r, m->b, m->len, out,
	    sizeof(out), &outlen, NULL, &o), E2E_OK);
	return o;
}

/*
 * Issue 10: "m1 I agree / m2 NOT / m3 to the deal" shown as "m3", "m1"
 * without a word.  A skipped iteration is reported as missing, a message
 * older than one shown as late.
 */
static void
group_order_reported(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct e2e_order		 o;
	struct msg			*m;

	alice_chain(&c, &r);
	m = seal_many(&c, "alice", 6);
	o = gorder(&r, &m[0]);
	assert_int_equal(o.missing, 0);
	assert_false(o.late);
	o = gorder(&r, &m[3]);			/* 1 and 2 dropped, so far */
	assert_int_equal(o.missing, 2);
	assert_false(o.late);
	o = gorder(&r, &m[1]);			/* 1 after all: late */
	assert_int_equal(o.missing, 0);
	assert_true(o.late);
	o = gorder(&r, &m[4]);
	assert_int_equal(o.missing, 0);
	assert_false(o.late);
	free(m);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

/*
 * A new chain names the one it replaces and how many messages it
 * carried: the last ones dropped are noticed, and a message of the old
 * chain arriving after the new key is late.
 */
static void
group_chain_end_reported(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c, d;
	struct e2e_order		 o;
	struct msg			*m;
	uint8_t				 skdm[E2E_SKDM_MAX];
	size_t				 len;

	alice_chain(&c, &r);
	m = seal_many(&c, "alice", 5);
	(void)gorder(&r, &m[0]);
	(void)gorder(&r, &m[1]);		/* 2, 3, 4 never come */
	assert_int_equal(e2e_chain_new(&d, 0), E2E_OK);
	assert_int_equal(e2e_chain_skdm_prev(&d, ROOM, 1, c.chain_id,
	    c.iteration, skdm, sizeof(skdm), &len), E2E_OK);
	assert_int_equal(e2e_group_receiver_learn(&r, "alice", skdm, len, &o),
	    E2E_OK);
	assert_int_equal(o.missing, 3);
	o = gorder(&r, &m[3]);
	assert_true(o.late);
	/* No previous chain, or one we never held: nothing to say. */
	e2e_chain_wipe(&d);
	assert_int_equal(e2e_chain_new(&d, 0), E2E_OK);
	assert_int_equal(e2e_chain_skdm_prev(&d, ROOM, 1, 0xdeadbeef, 50, skdm,
	    sizeof(skdm), &len), E2E_OK);
	assert_int_equal(e2e_group_receiver_learn(&r, "alice", skdm, len, &o),
	    E2E_OK);
	assert_int_equal(o.missing, 0);
	free(m);
	e2e_chain_wipe(&c);
	e2e_chain_wipe(&d);
	e2e_group_receiver_free(&r);
}

/* Direct messages: a counter per pair and stream (e2e-order.c). */
static void
dm_counters_reported(void **state UNUSED)
{
	struct e2e_dm_peer	 out, in;
	struct e2e_order	 o;
	uint32_t		 stream, s2;
	uint64_t		 n, i;

	assert_int_equal(e2e_dm_peer_init(&out, "bobby"), E2E_OK);
	assert_int_equal(e2e_dm_peer_init(&in, "alice"), E2E_OK);
	assert_int_equal(e2e_dm_next(&out, &stream, &n), E2E_OK);
	assert_int_not_equal(stream, 0);
	assert_int_equal(n, 1);
	assert_int_equal(e2e_dm_next(&out, &s2, &n), E2E_OK);
	assert_int_equal(s2, stream);
	assert_int_equal(n, 2);

	assert_int_equal(e2e_dm_check(&in, stream, 1, &o), E2E_OK);
	assert_int_equal(o.missing, 0);
	assert_false(o.late);
	assert_int_equal(e2e_dm_check(&in, stream, 4, &o), E2E_OK);
	assert_int_equal(o.missing, 2);
	assert_int_equal(e2e_dm_check(&in, stream, 3, &o), E2E_OK);
	assert_true(o.late);
	assert_int_equal(o.missing, 0);
	/* No counter: no claim. */
	assert_int_equal(e2e_dm_check(&in, 0, 0, &o), E2E_OK);
	assert_int_equal(o.missing, 0);
	assert_false(o.late);
	/* Another device's stream beside it; the first is kept. */
	assert_int_equal(e2e_dm_check(&in, stream + 1, 1, &o), E2E_OK);
	assert_int_equal(o.missing, 0);
	assert_int_equal(e2e_dm_check(&in, stream, 5, &o), E2E_OK);
	assert_int_equal(o.missing, 0);
	/* A new stream that starts at 3: 1 and 2 are missing. */
	assert_int_equal(e2e_dm_check(&in, stream + 2, 3, &o), E2E_OK);
	assert_int_equal(o.missing, 2);
	/* Five streams: the least recently used one is forgotten. */
	for (i = 3; i < 6; i++)
		assert_int_equal(e2e_dm_check(&in, stream + (uint32_t)i, 1, &o),
		    E2E_OK);
	assert_int_equal(e2e_dm_check(&in, stream + 1, 2, &o), E2E_OK);
	assert_int_equal(o.missing, 1);		/* it was forgotten */
	assert_int_equal(e2e_dm_peer_init(&in, ""), E2E_EINVAL);
}

static void
group_jump_of_1001_refused_1000_accepted(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct msg			*m;

	alice_chain(&c, &r);
	m = seal_many(&c, "alice", 1002);
	assert_int_equal(gopen(&r, &m[1001], 1001), E2E_ETOO_FAR);
	assert_int_equal(gopen(&r, &m[1000], 1000), E2E_OK);
	/* Once 1000 is in, 1001 is the very next one. */
	assert_int_equal(gopen(&r, &m[1001], 1001), E2E_OK);
	assert_int_equal(gopen(&r, &m[0], 0), E2E_OK);
	assert_int_equal(gopen(&r, &m[999], 999), E2E_OK);
	free(m);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

static void
group_skipped_keys_bounded_oldest_gone(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct msg			*m;

	alice_chain(&c, &r);
	m = seal_many(&c, "alice", 2004);
	/* 1000 skipped (0..999), 1000 more (1001..2000): the bound is full. */
	assert_int_equal(gopen(&r, &m[1000], 1000), E2E_OK);
	assert_int_equal(gopen(&r, &m[2001], 2001), E2E_OK);
	/* 2002 skipped: one key too many, and the oldest, 0, goes. */
	assert_int_equal(gopen(&r, &m[2003], 2003), E2E_OK);
	assert_int_equal(gopen(&r, &m[0], 0), E2E_ETOO_OLD);
	assert_int_equal(gopen(&r, &m[1], 1), E2E_OK);
	assert_int_equal(gopen(&r, &m[2000], 2000), E2E_OK);
	assert_int_equal(gopen(&r, &m[2002], 2002), E2E_OK);
	/* Consumed keys read as replays, dropped ones as too old. */
	assert_int_equal(gopen(&r, &m[2002], 2002), E2E_EREPLAY);
	assert_int_equal(gopen(&r, &m[0], 0), E2E_ETOO_OLD);
	free(m);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

static void
group_replay_refused(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct msg			*m;
	uint8_t				 skdm[E2E_SKDM_MAX];
	size_t				 len;

	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	assert_int_equal(e2e_chain_skdm(&c, ROOM, 1, skdm, sizeof(skdm), &len),
	    E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	assert_int_equal(e2e_group_receiver_add_skdm(&r, "alice", skdm, len),
	    E2E_OK);
	m = seal_many(&c, "alice", 3);
	assert_int_equal(gopen(&r, &m[0], 0), E2E_OK);
	assert_int_equal(gopen(&r, &m[0], 0), E2E_EREPLAY);
	assert_int_equal(gopen(&r, &m[2], 2), E2E_OK);
	assert_int_equal(gopen(&r, &m[2], 2), E2E_EREPLAY);
	assert_int_equal(gopen(&r, &m[1], 1), E2E_OK);
	assert_int_equal(gopen(&r, &m[1], 1), E2E_EREPLAY);
	/* The SKDM replayed cannot rewind the chain to reopen them. */
	assert_int_equal(e2e_group_receiver_add_skdm(&r, "alice", skdm, len),
	    E2E_EREPLAY);
	assert_int_equal(gopen(&r, &m[0], 0), E2E_EREPLAY);
	free(m);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

static void
group_every_bit_flip_refused(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct msg			 m, t;
	size_t				 pos, bit, nbits;
	int				 rc;

	alice_chain(&c, &r);
	gseal(&c, ROOM, "alice", 1, 0, &m);
	for (pos = 0; pos < m.len; pos++) {
		nbits = pos < GRP_HDR_LEN ? 8 : 1;
		for (bit = 0; bit < nbits; bit++) {
			t = m;
			t.b[pos] ^= (uint8_t)(1u << ((pos + bit) % 8));
			rc = gopen(&r, &t, 0);
			if (pos < 2)
				assert_int_equal(rc, E2E_EVERSION);
			else if (pos == GRP_OFF_ROOM - 1 ||
			    pos == GRP_OFF_SENDER - 1) {
				if (rc != E2E_EMALFORMED && rc != E2E_EROOM &&
				    rc != E2E_ESENDER)
					fail_msg("byte %zu bit %zu: %s", pos,
					    bit, e2e_strerror(rc));
			} else if (pos < GRP_OFF_ROOM + 5)
				assert_int_equal(rc, E2E_EROOM);
			else if (pos < GRP_OFF_SENDER + 5)
				assert_int_equal(rc, E2E_ESENDER);
			else if (pos >= GRP_OFF_CHAIN_ID &&
			    pos < GRP_OFF_CHAIN_ID + 4)
				assert_int_equal(rc, E2E_EUNKNOWN_CHAIN);
			else if (pos >= GRP_HDR_LEN && pos < GRP_HDR_LEN + 4)
				assert_int_equal(rc, E2E_EMALFORMED);
			else
				assert_int_equal(rc, E2E_ESIG);
		}
	}
	/* The refusals left the chain as it was. */
	assert_int_equal(gopen(&r, &m, 0), E2E_OK);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

static void
group_decrypt_failure_detected(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct crypto_part		 parts[3];
	struct msg			 m;
	size_t				 ctlen;

	/*
	 * Re-signed with the chain's own key after the ciphertext was
	 * changed: only the AEAD tag can catch it.
	 */
	alice_chain(&c, &r);
	gseal(&c, ROOM, "alice", 1, 0, &m);
	ctlen = m.len - GRP_HDR_LEN - 4 - 64;
	m.b[GRP_HDR_LEN + 4] ^= 1;
	parts[0].p = "securechat/v1/group-sig";
	parts[0].len = strlen(parts[0].p);
	parts[1].p = m.b;
	parts[1].len = GRP_HDR_LEN;
	parts[2].p = m.b + GRP_HDR_LEN + 4;
	parts[2].len = ctlen;
	assert_int_equal(crypto_ed25519_sign_parts(c.sign_priv, parts, 3,
	    m.b + GRP_HDR_LEN + 4 + ctlen), 0);
	assert_int_equal(gopen(&r, &m, 0), E2E_EDECRYPT);
	/* Nothing was consumed by the failure. */
	m.b[GRP_HDR_LEN + 4] ^= 1;
	assert_int_equal(gopen(&r, &m, 0), E2E_ESIG);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

static void
group_moved_to_another_room_refused(void **state UNUSED)
{
	struct e2e_group_receiver	 r1, r2;
	struct e2e_chain		 c;
	struct msg			 m;

	/*
	 * Worst case: alice handed the same chain out for both rooms, so
	 * only the room binding stands between them.
	 */
	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&r1, ROOM, "alice"), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&r2, ROOM2, "alice"),
	    E2E_OK);
	give_skdm(&c, ROOM, 1, &r1, "alice");
	give_skdm(&c, ROOM2, 1, &r2, "alice");
	gseal(&c, ROOM, "alice", 1, 0, &m);
	assert_int_equal(gopen(&r2, &m, 0), E2E_EROOM);
	memcpy(m.b + GRP_OFF_ROOM, ROOM2, 5);
	assert_int_equal(gopen(&r2, &m, 0), E2E_ESIG);
	memcpy(m.b + GRP_OFF_ROOM, ROOM, 5);
	assert_int_equal(gopen(&r1, &m, 0), E2E_OK);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r1);
	e2e_group_receiver_free(&r2);
}

static void
group_claimed_by_another_sender_refused(void **state UNUSED)
{
	struct e2e_group_receiver	 ra, rc;
	struct e2e_chain		 ca, cc;
	struct msg			 m;

	assert_int_equal(e2e_chain_new(&ca, 0), E2E_OK);
	assert_int_equal(e2e_chain_new(&cc, 0), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&ra, ROOM, "alice"), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&rc, ROOM, "carol"), E2E_OK);
	give_skdm(&ca, ROOM, 1, &ra, "alice");
	give_skdm(&cc, ROOM, 1, &rc, "carol");
	gseal(&ca, ROOM, "alice", 1, 0, &m);
	/* The server says carol sent it. */
	assert_int_equal(gopen(&rc, &m, 0), E2E_ESENDER);
	/* And rewrites the header to match. */
	memcpy(m.b + GRP_OFF_SENDER, "carol", 5);
	assert_int_equal(gopen(&rc, &m, 0), E2E_EUNKNOWN_CHAIN);
	/* Carol's chain id on alice's message: carol's key must sign it. */
	m.b[GRP_OFF_CHAIN_ID] = (uint8_t)(cc.chain_id >> 24);
	m.b[GRP_OFF_CHAIN_ID + 1] = (uint8_t)(cc.chain_id >> 16);
	m.b[GRP_OFF_CHAIN_ID + 2] = (uint8_t)(cc.chain_id >> 8);
	m.b[GRP_OFF_CHAIN_ID + 3] = (uint8_t)cc.chain_id;
	assert_int_equal(gopen(&rc, &m, 0), E2E_ESIG);
	e2e_chain_wipe(&ca);
	e2e_chain_wipe(&cc);
	e2e_group_receiver_free(&ra);
	e2e_group_receiver_free(&rc);
}

static void
group_removed_member_locked_out_by_rotation(void **state UNUSED)
{
	struct e2e_group_receiver	 rb, rc;
	struct e2e_chain		 c;
	struct msg			 m;
	uint64_t			 deadline = UINT64_MAX;

	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&rb, ROOM, "alice"), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&rc, ROOM, "alice"), E2E_OK);
	give_skdm(&c, ROOM, 1, &rb, "alice");
	give_skdm(&c, ROOM, 1, &rc, "alice");
	gseal(&c, ROOM, "alice", 1, 0, &m);
	assert_int_equal(gopen(&rb, &m, 0), E2E_OK);
	assert_int_equal(gopen(&rc, &m, 0), E2E_OK);

	/* Carol leaves: alice rotates and tells bobby only. */
	assert_true(e2e_chain_needs_rotation(&c, 1, 1, 0, deadline));
	e2e_chain_wipe(&c);
	assert_int_equal(e2e_chain_new(&c, 1), E2E_OK);
	give_skdm(&c, ROOM, 2, &rb, "alice");
	gseal(&c, ROOM, "alice", 2, 1, &m);
	assert_int_equal(gopen(&rb, &m, 1), E2E_OK);
	assert_int_equal(gopen(&rc, &m, 1), E2E_EUNKNOWN_CHAIN);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&rb);
	e2e_group_receiver_free(&rc);
}

static void
group_new_member_reads_from_its_skdm_on(void **state UNUSED)
{
	struct e2e_group_receiver	 old, new;
	struct e2e_chain		 c;
	struct msg			 m[15];
	uint32_t			 i;

	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&old, ROOM, "alice"), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&new, ROOM, "alice"), E2E_OK);
	give_skdm(&c, ROOM, 1, &old, "alice");
	for (i = 0; i < 10; i++)
		gseal(&c, ROOM, "alice", 1, i, &m[i]);
	give_skdm(&c, ROOM, 2, &new, "alice");		/* at iteration 10 */
	for (i = 10; i < 15; i++)
		gseal(&c, ROOM, "alice", 1, i, &m[i]);
	for (i = 0; i < 15; i++) {
		assert_int_equal(gopen(&new, &m[i], i), i < 10 ?
		    E2E_ETOO_OLD : E2E_OK);
		assert_int_equal(gopen(&old, &m[i], i), E2E_OK);
	}
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&old);
	e2e_group_receiver_free(&new);
}

static void
group_at_most_5_chains_per_sender(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c[6];
	struct msg			 m[6], m0;
	int				 i;

	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	for (i = 0; i < 6; i++) {
		assert_int_equal(e2e_chain_new(&c[i], 0), E2E_OK);
		give_skdm(&c[i], ROOM, 1, &r, "alice");
		gseal(&c[i], ROOM, "alice", 1, 0, &m[i]);
	}
	/* The first chain was held with four others, not with five. */
	assert_int_equal(gopen(&r, &m[0], 0), E2E_EUNKNOWN_CHAIN);
	gseal(&c[0], ROOM, "alice", 1, 1, &m0);
	assert_int_equal(gopen(&r, &m0, 1), E2E_EUNKNOWN_CHAIN);
	for (i = 1; i < 6; i++)
		assert_int_equal(gopen(&r, &m[i], 0), E2E_OK);
	for (i = 0; i < 6; i++)
		e2e_chain_wipe(&c[i]);
	e2e_group_receiver_free(&r);
}

static void
group_fifth_chain_kept_sixth_evicts_oldest(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c[6];
	struct msg			 a, b;
	int				 i;

	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	for (i = 0; i < 5; i++) {
		assert_int_equal(e2e_chain_new(&c[i], 0), E2E_OK);
		give_skdm(&c[i], ROOM, 1, &r, "alice");
	}
	gseal(&c[0], ROOM, "alice", 1, 0, &a);
	gseal(&c[0], ROOM, "alice", 1, 1, &b);
	assert_int_equal(gopen(&r, &a, 0), E2E_OK);
	assert_int_equal(e2e_chain_new(&c[5], 0), E2E_OK);
	give_skdm(&c[5], ROOM, 1, &r, "alice");
	assert_int_equal(gopen(&r, &b, 1), E2E_EUNKNOWN_CHAIN);
	for (i = 0; i < 6; i++)
		e2e_chain_wipe(&c[i]);
	e2e_group_receiver_free(&r);
}

static void
rotation_after_100_messages_and_at_deadline(void **state UNUSED)
{
	struct e2e_chain	 c;
	struct msg		 m;
	uint64_t		 deadline;
	int			 i;

	assert_int_equal(e2e_chain_new(&c, 1000), E2E_OK);
	assert_int_equal(e2e_rotation_deadline(1000, 60, 120, &deadline),
	    E2E_OK);
	for (i = 0; i < 100; i++) {
		assert_false(e2e_chain_needs_rotation(&c, 1000, 0, 0,
		    deadline));
		gseal(&c, ROOM, "alice", 1, (uint32_t)i, &m);
	}
	assert_true(e2e_chain_needs_rotation(&c, 1000, 0, 0, deadline));
	e2e_chain_wipe(&c);

	assert_int_equal(e2e_chain_new(&c, 1000), E2E_OK);
	assert_false(e2e_chain_needs_rotation(&c, deadline - 1, 0, 0,
	    deadline));
	assert_true(e2e_chain_needs_rotation(&c, deadline, 0, 0, deadline));
	assert_true(e2e_chain_needs_rotation(&c, 1000, 1, 0, deadline));
	assert_true(e2e_chain_needs_rotation(&c, 1000, 0, 1, deadline));
	/* A chain at the end of its iterations can seal no more. */
	c.iteration = UINT32_MAX;
	assert_true(e2e_chain_needs_rotation(&c, 1000, 0, 0, deadline));
	assert_int_equal(e2e_group_seal(&c, ROOM, "alice", 1, "x", 1, 1, m.b,
	    sizeof(m.b), &m.len), E2E_EEXHAUSTED);
	e2e_chain_wipe(&c);
}

static void
rotation_deadline_within_bounds(void **state UNUSED)
{
	uint64_t	 d, now = 5000000, lo, hi, mid;
	int		 i, below = 0, above = 0;

	lo = now + 30 * 1000;
	hi = now + 120 * 1000;
	mid = (lo + hi) / 2;
	for (i = 0; i < 1000; i++) {
		assert_int_equal(e2e_rotation_deadline(now, 30, 120, &d),
		    E2E_OK);
		assert_true(d >= lo && d <= hi);
		if (d < mid)
			below++;
		else
			above++;
	}
	/* A fixed or one-sided draw would leave one half empty. */
	assert_true(below > 0 && above > 0);
	assert_int_equal(e2e_rotation_deadline(now, 60, 60, &d), E2E_OK);
	assert_int_equal(d, now + 60000);
	assert_int_equal(e2e_rotation_deadline(now, 61, 60, &d), E2E_EINVAL);
	assert_int_equal(e2e_rotation_deadline(UINT64_MAX - 10, 0, 1, &d),
	    E2E_EINVAL);
}

static void
strerror_names_every_code(void **state UNUSED)
{
	int	 i, j;

	for (i = E2E_EEXHAUSTED; i <= E2E_OK; i++) {
		assert_string_not_equal(e2e_strerror(i), "unknown error");
		for (j = i + 1; j <= E2E_OK; j++)
			assert_string_not_equal(e2e_strerror(i),
			    e2e_strerror(j));
	}
	assert_string_equal(e2e_strerror(1), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envelope_round_trip),
		cmocka_unit_test(envelope_ids_and_ephemerals_are_fresh),
		cmocka_unit_test(envelope_follows_spec_layout),
		cmocka_unit_test(envelope_every_bit_flip_refused),
		cmocka_unit_test(envelope_truncated_or_extended_refused),
		cmocka_unit_test(envelope_to_another_recipient_refused),
		cmocka_unit_test(envelope_readdressed_refused),
		cmocka_unit_test(envelope_other_senders_key_refused),
		cmocka_unit_test(envelope_decrypt_failure_detected),
		cmocka_unit_test(envelope_low_order_e_pub_refused),
		cmocka_unit_test(envelope_bad_arguments_refused),
		cmocka_unit_test(seen_set_detects_replay),
		cmocka_unit_test(group_follows_spec_layout),
		cmocka_unit_test(skdm_malformed_refused),
		cmocka_unit_test(group_round_trip_300_messages_with_rotation),
		cmocka_unit_test(group_out_of_order_within_bounds),
		cmocka_unit_test(group_order_reported),
		cmocka_unit_test(group_chain_end_reported),
		cmocka_unit_test(dm_counters_reported),
		cmocka_unit_test(group_jump_of_1001_refused_1000_accepted),
		cmocka_unit_test(group_skipped_keys_bounded_oldest_gone),
		cmocka_unit_test(group_replay_refused),
		cmocka_unit_test(group_every_bit_flip_refused),
		cmocka_unit_test(group_decrypt_failure_detected),
		cmocka_unit_test(group_moved_to_another_room_refused),
		cmocka_unit_test(group_claimed_by_another_sender_refused),
		cmocka_unit_test(group_removed_member_locked_out_by_rotation),
		cmocka_unit_test(group_new_member_reads_from_its_skdm_on),
		cmocka_unit_test(group_at_most_5_chains_per_sender),
		cmocka_unit_test(group_fifth_chain_kept_sixth_evicts_oldest),
		cmocka_unit_test(rotation_after_100_messages_and_at_deadline),
		cmocka_unit_test(rotation_deadline_within_bounds),
		cmocka_unit_test(strerror_names_every_code),
	};

	return cmocka_run_group_tests(tests, setup_parties, NULL);
}
