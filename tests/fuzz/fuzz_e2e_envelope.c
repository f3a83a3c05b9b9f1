/*
 * fuzz_e2e_envelope.c: libFuzzer harness for sealed envelopes (direct
 * messages and the SKDMs inside key bundles), as the recipient opens them.
 * A relaying server may send any bytes; a hostile peer may also sign them.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "e2e.h"
#include "fuzz.h"
#include "xmalloc.h"

/*
 * e2e-envelope.c's signature label.  The start-up check below re-signs a
 * real envelope with it and aborts if the result differs, so a change of
 * the format cannot silently turn the signed modes into no-ops.
 */
#define PAIRWISE_SIG_LABEL	"securechat/v1/pairwise-sig"

/* The first input byte picks how the rest is used. */
enum mode {
	MODE_RAW,	/* an envelope as it came from the server */
	MODE_SIGNED,	/* header and ciphertext a hostile sender signed */
	MODE_SEALED,	/* fields a hostile sender sealed with e2e_seal */
	MODE_COUNT
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct fuzz_keys	 me, alice;
static struct e2e_seen	*seen;

/* What every decoder must hold to, whatever it was given. */
static void
check_hdr(const struct e2e_env_hdr *h)
{
	size_t	 s = strnlen(h->sender, sizeof(h->sender));
	size_t	 r = strnlen(h->recipient, sizeof(h->recipient));

	if (s == 0 || s > E2E_NAME_MAX || r == 0 || r > E2E_NAME_MAX ||
	    h->version != E2E_VERSION ||
	    (h->type != E2E_TYPE_DM && h->type != E2E_TYPE_SKDM))
		abort();
}

/*
 * Open env as FUZZ_ME would.  Returns the E2E result; on success the
 * plaintext is in *pt (caller frees) and must be what a sender sealed.
 */
static int
open_one(const uint8_t *env, size_t len, uint8_t **pt, size_t *ptlen)
{
	struct e2e_env_hdr	 h, h2;
	struct e2e_skdm		 s;
	int			 peek, rc;

	*pt = xmalloc(len == 0 ? 1 : len);
	*ptlen = 0;
	if ((peek = e2e_peek(env, len, &h)) == E2E_OK)
		check_hdr(&h);
	(void)e2e_strerror(peek);
	rc = e2e_open(env, len, FUZZ_ME, alice.sign_pub, me.spk_priv, *pt,
	    len, ptlen, &h2);
	(void)e2e_strerror(rc);
	if (rc != E2E_OK)
		return rc;
	/* Whatever opens must also peek, to the same header. */
	if (peek != E2E_OK || memcmp(&h, &h2, sizeof(h)) != 0 ||
	    *ptlen > len || strcmp(h2.recipient, FUZZ_ME) != 0)
		abort();
	/* Its id is new once, then a replay. */
	if (e2e_seen_check_add(seen, h2.msg_id) != E2E_OK ||
	    e2e_seen_check_add(seen, h2.msg_id) != E2E_EREPLAY)
		abort();
	if (h2.type == E2E_TYPE_SKDM && e2e_skdm_parse(*pt, *ptlen, &s) ==
	    E2E_OK) {
		if (strnlen(s.room, sizeof(s.room)) == 0)
			abort();
		OPENSSL_cleanse(&s, sizeof(s));
	}
	return rc;
}

static void
mode_raw(const uint8_t *data, size_t size)
{
	uint8_t	*env = fuzz_copy(data, size), *pt;
	size_t	 ptlen;

	(void)open_one(env, size, &pt, &ptlen);
	free(pt);
	free(env);
}

/* u16 header length, then the header, then the ciphertext. */
static void
mode_signed(struct fuzz_in *in)
{
	const uint8_t	*hdr, *ct;
	uint8_t		*env, *pt;
	size_t		 hdrlen, ctlen, len, ptlen;

	hdr = fuzz_bytes(in, fuzz_u16(in), &hdrlen);
	ct = fuzz_bytes(in, in->len, &ctlen);
	env = fuzz_sign_body(PAIRWISE_SIG_LABEL, alice.sign_priv, hdr, hdrlen,
	    ct, ctlen, &len);
	(void)open_one(env, len, &pt, &ptlen);
	free(pt);
	free(env);
}

/* type, sender, recipient, spk id, time, then the plaintext. */
static void
mode_sealed(struct fuzz_in *in)
{
	char		 sender[E2E_NAME_MAX + 1], recipient[E2E_NAME_MAX + 1];
	const uint8_t	*msg;
	uint8_t		*env, *pt, type;
	uint32_t	 spk_id;
	uint64_t	 ts;
	size_t		 msglen, need, len, ptlen;
	int		 rc;

	type = fuzz_u8(in);
	fuzz_str(in, sender, sizeof(sender));
	fuzz_str(in, recipient, sizeof(recipient));
	spk_id = fuzz_u32(in);
	ts = fuzz_u64(in);
	msg = fuzz_bytes(in, in->len, &msglen);
	if ((need = e2e_seal_size(sender, recipient, msglen)) == 0)
		return;
	env = xmalloc(need);
	rc = e2e_seal(alice.sign_priv, sender, recipient, spk_id, me.spk_pub,
	    type, msg, msglen, ts, env, need, &len);
	if (rc != E2E_OK) {
		/* Only a kind that is not an envelope is refused. */
		if (type == E2E_TYPE_DM || type == E2E_TYPE_SKDM)
			abort();
		free(env);
		return;
	}
	if (len != need)
		abort();
	rc = open_one(env, len, &pt, &ptlen);
	/* Sealed to us: it opens, to what was sealed.  To another: never. */
	if (strcmp(recipient, FUZZ_ME) == 0) {
		if (rc != E2E_OK || ptlen != msglen ||
		    (msglen > 0 && memcmp(pt, msg, msglen) != 0))
			abort();
	} else if (rc != E2E_ERECIPIENT)
		abort();
	free(pt);
	free(env);
}

/* A real envelope, re-signed by the harness, must come out identical. */
static void
self_check(void)
{
	static const char	 text[] = "self check";
	uint8_t			 env[512], *again;
	size_t			 len, len2, hdrlen, ctlen;

	if (e2e_seal(alice.sign_priv, FUZZ_PEER, FUZZ_ME, FUZZ_SPK_ID,
	    me.spk_pub, E2E_TYPE_DM, text, sizeof(text), 1, env, sizeof(env),
	    &len) != E2E_OK)
		abort();
	ctlen = sizeof(text) + CRYPTO_AEAD_TAG_LEN;
	hdrlen = len - CRYPTO_SIG_LEN - ctlen - 4;
	again = fuzz_sign_body(PAIRWISE_SIG_LABEL, alice.sign_priv, env, hdrlen,
	    env + hdrlen + 4, ctlen, &len2);
	if (len2 != len || memcmp(again, env, len) != 0) {
		fprintf(stderr, "fuzz_e2e_envelope: the envelope format "
		    "changed: update PAIRWISE_SIG_LABEL\n");
		abort();
	}
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };

	if (seen == NULL) {
		fuzz_setup();
		fuzz_keys(FUZZ_ME, &me);
		fuzz_keys(FUZZ_PEER, &alice);
		seen = xcalloc(1, sizeof(*seen));
		self_check();
	}
	fuzz_rand_reset();
	e2e_seen_init(seen);
	switch (fuzz_u8(&in) % MODE_COUNT) {
	case MODE_RAW:
		mode_raw(in.p, in.len);
		break;
	case MODE_SIGNED:
		mode_signed(&in);
		break;
	case MODE_SEALED:
		mode_sealed(&in);
		break;
	}
	return 0;
}
