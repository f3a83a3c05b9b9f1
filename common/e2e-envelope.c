/*
 * e2e-envelope.c: sealed envelopes (ephemeral X25519 to a signed prekey,
 * HKDF, AES-256-GCM, Ed25519 by the sender), the seen-set and the codec.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "e2e.h"
#include "e2e-local.h"
#include "util.h"

#define LABEL_PAIRWISE		"securechat/v1/pairwise"
#define LABEL_PAIRWISE_SIG	"securechat/v1/pairwise-sig"

/* Fixed part of the envelope header: all but the two names. */
#define ENV_HDR_FIXED	(1 + 1 + 1 + 1 + 4 + CRYPTO_KEY_LEN + \
			    E2E_MSGID_LEN + 8 + 4 + 8)

const char *
e2e_strerror(int code)
{
	switch (code) {
	case E2E_OK:
		return "success";
	case E2E_EINVAL:
		return "invalid argument";
	case E2E_ENOSPC:
		return "output buffer too small";
	case E2E_ECRYPTO:
		return "cryptographic primitive failed";
	case E2E_ENOMEM:
		return "out of memory";
	case E2E_EMALFORMED:
		return "malformed message";
	case E2E_EVERSION:
		return "unknown version or message type";
	case E2E_ESIG:
		return "bad signature";
	case E2E_ERECIPIENT:
		return "addressed to another recipient";
	case E2E_EDECRYPT:
		return "decryption failed";
	case E2E_EUNKNOWN_CHAIN:
		return "unknown sender chain";
	case E2E_EREPLAY:
		return "replayed message";
	case E2E_ETOO_FAR:
		return "message too far ahead in its chain";
	case E2E_ETOO_OLD:
		return "message too old: its key is gone";
	case E2E_EROOM:
		return "message belongs to another room";
	case E2E_ESENDER:
		return "message claims another sender";
	case E2E_EEXHAUSTED:
		return "sender chain exhausted";
	case E2E_EROSTER:
		return "roster entry not allowed by the room's policy";
	case E2E_EFORK:
		return "roster entry does not continue the roster";
	}
	return "unknown error";
}

void
e2e_wr_init(struct e2e_wr *w, uint8_t *p, size_t sz)
{
	w->p = p;
	w->sz = sz;
	w->off = 0;
	w->bad = 0;
}

void
e2e_wr_bytes(struct e2e_wr *w, const void *p, size_t len)
{
	if (w->bad || len > w->sz - w->off) {
		w->bad = 1;
		return;
	}
	if (len > 0)
		memcpy(w->p + w->off, p, len);
	w->off += len;
}

void
e2e_wr_u8(struct e2e_wr *w, uint8_t v)
{
	e2e_wr_bytes(w, &v, 1);
}

void
e2e_wr_u32(struct e2e_wr *w, uint32_t v)
{
	uint8_t	 b[4];

	be32_put(b, v);
	e2e_wr_bytes(w, b, sizeof(b));
}

void
e2e_wr_u64(struct e2e_wr *w, uint64_t v)
{
	uint8_t	 b[8];

	be64_put(b, v);
	e2e_wr_bytes(w, b, sizeof(b));
}

void
e2e_wr_name(struct e2e_wr *w, const char *name)
{
	size_t	 len;

	if (!e2e_name_ok(name)) {
		w->bad = 1;
		return;
	}
	len = strlen(name);
	e2e_wr_u8(w, (uint8_t)len);
	e2e_wr_bytes(w, name, len);
}

void
e2e_rd_init(struct e2e_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->bad = 0;
}

void
e2e_rd_bytes(struct e2e_rd *r, void *out, size_t len)
{
	if (r->bad || len > r->len - r->off) {
		r->bad = 1;
		memset(out, 0, len);
		return;
	}
	memcpy(out, r->p + r->off, len);
	r->off += len;
}

uint8_t
e2e_rd_u8(struct e2e_rd *r)
{
	uint8_t	 v;

	e2e_rd_bytes(r, &v, 1);
	return v;
}

uint32_t
e2e_rd_u32(struct e2e_rd *r)
{
	uint8_t	 b[4];

	e2e_rd_bytes(r, b, sizeof(b));
	return be32_get(b);
}

uint64_t
e2e_rd_u64(struct e2e_rd *r)
{
	uint8_t	 b[8];

	e2e_rd_bytes(r, b, sizeof(b));
	return be64_get(b);
}

void
e2e_rd_name(struct e2e_rd *r, char *out)
{
	size_t	 len;

	len = e2e_rd_u8(r);
	e2e_rd_bytes(r, out, len);
	out[r->bad ? 0 : len] = '\0';
	/* Names become C strings: an empty one or an inner NUL is not one. */
	if (len == 0 || memchr(out, '\0', len) != NULL)
		r->bad = 1;
}

int
e2e_rd_body(struct e2e_rd *r, struct e2e_body *b)
{
	uint32_t	 ctlen;

	ctlen = e2e_rd_u32(r);
	if (r->bad || ctlen < CRYPTO_AEAD_TAG_LEN ||
	    ctlen > E2E_PT_MAX + CRYPTO_AEAD_TAG_LEN)
		return E2E_EMALFORMED;
	/* Exactly the body and the signature: no trailing bytes to ignore. */
	if (r->len - r->off != (size_t)ctlen + CRYPTO_SIG_LEN)
		return E2E_EMALFORMED;
	b->ct = r->p + r->off;
	b->ctlen = ctlen;
	b->sig = b->ct + ctlen;
	r->off = r->len;
	return E2E_OK;
}

static void
sig_parts(struct crypto_part parts[3], const char *label,
    const uint8_t *hdr, size_t hdrlen, const uint8_t *ct, size_t ctlen)
{
	parts[0].p = label;
	parts[0].len = strlen(label);
	parts[1].p = hdr;
	parts[1].len = hdrlen;
	parts[2].p = ct;
	parts[2].len = ctlen;
}

int
e2e_wr_body(struct e2e_wr *w, size_t hdrlen, size_t need,
    const uint8_t okm[E2E_OKM_LEN], const char *sig_label,
    const uint8_t sign_priv[32], const void *pt, size_t ptlen)
{
	struct crypto_part	 parts[3];
	size_t			 ctlen = ptlen + CRYPTO_AEAD_TAG_LEN;
	uint8_t			*ct;

	e2e_wr_u32(w, (uint32_t)ctlen);
	if (w->bad || w->off + ctlen + CRYPTO_SIG_LEN != need)
		return E2E_EINVAL;
	ct = w->p + w->off;
	if (crypto_aead_seal(okm, okm + CRYPTO_KEY_LEN, w->p, hdrlen, pt,
	    ptlen, ct) == -1)
		return E2E_ECRYPTO;
	sig_parts(parts, sig_label, w->p, hdrlen, ct, ctlen);
	if (crypto_ed25519_sign_parts(sign_priv, parts, 3, ct + ctlen) == -1)
		return E2E_ECRYPTO;
	w->off = need;
	return E2E_OK;
}

int
e2e_body_verify(const char *sig_label, const uint8_t sign_pub[32],
    const uint8_t *msg, size_t hdrlen, const struct e2e_body *b)
{
	struct crypto_part	 parts[3];

	sig_parts(parts, sig_label, msg, hdrlen, b->ct, b->ctlen);
	return crypto_ed25519_verify_parts(sign_pub, parts, 3, b->sig) == 0 ?
	    E2E_OK : E2E_ESIG;
}

int
e2e_name_ok(const char *name)
{
	size_t	 len;

	if (name == NULL)
		return 0;
	len = strlen(name);
	return len >= 1 && len <= E2E_NAME_MAX;
}

size_t
e2e_seal_size(const char *sender, const char *recipient, size_t ptlen)
{
	if (!e2e_name_ok(sender) || !e2e_name_ok(recipient) ||
	    ptlen > E2E_PT_MAX)
		return 0;
	return ENV_HDR_FIXED + strlen(sender) + strlen(recipient) + 4 +
	    ptlen + CRYPTO_AEAD_TAG_LEN + CRYPTO_SIG_LEN;
}

static int
env_type_ok(uint8_t type)
{
	/* Group messages are never envelopes: no kind passes for another. */
	return type == E2E_TYPE_DM || type == E2E_TYPE_SKDM;
}

/*
 * key || nonce for one envelope.  The salt binds both public keys and the
 * info both names and the type, so a key serves one pair and one kind.
 */
static int
env_derive(const uint8_t shared[32], const uint8_t e_pub[32],
    const uint8_t spk_pub[32], uint8_t type, const char *sender,
    const char *recipient, uint8_t okm[E2E_OKM_LEN])
{
	uint8_t		 salt[2 * CRYPTO_KEY_LEN], info[E2E_INFO_MAX];
	struct e2e_wr	 w;

	memcpy(salt, e_pub, CRYPTO_KEY_LEN);
	memcpy(salt + CRYPTO_KEY_LEN, spk_pub, CRYPTO_KEY_LEN);
	e2e_wr_init(&w, info, sizeof(info));
	e2e_wr_bytes(&w, LABEL_PAIRWISE, strlen(LABEL_PAIRWISE));
	e2e_wr_u8(&w, type);
	e2e_wr_name(&w, sender);
	e2e_wr_name(&w, recipient);
	if (w.bad)
		return E2E_EINVAL;
	if (crypto_hkdf_sha256(salt, sizeof(salt), shared, CRYPTO_KEY_LEN,
	    info, w.off, okm, E2E_OKM_LEN) == -1)
		return E2E_ECRYPTO;
	return E2E_OK;
}

int
e2e_seal(const uint8_t sender_sign_priv[32], const char *sender,
    const char *recipient, uint32_t spk_id, const uint8_t spk_pub[32],
    uint8_t type, const void *pt, size_t ptlen, uint64_t ts_ms,
    uint8_t *out, size_t outsz, size_t *outlen)
{
	return e2e_seal_counted(sender_sign_priv, sender, recipient, spk_id,
	    spk_pub, type, 0, 0, pt, ptlen, ts_ms, out, outsz, outlen);
}

int
e2e_seal_counted(const uint8_t sender_sign_priv[32], const char *sender,
    const char *recipient, uint32_t spk_id, const uint8_t spk_pub[32],
    uint8_t type, uint32_t stream, uint64_t counter, const void *pt,
    size_t ptlen, uint64_t ts_ms, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	uint8_t			 e_priv[CRYPTO_KEY_LEN], e_pub[CRYPTO_KEY_LEN];
	uint8_t			 shared[CRYPTO_KEY_LEN], okm[E2E_OKM_LEN];
	uint8_t			 msg_id[E2E_MSGID_LEN];
	struct e2e_wr		 w;
	size_t			 need;
	int			 rc;

	if (sender_sign_priv == NULL || spk_pub == NULL || out == NULL ||
	    outlen == NULL || (pt == NULL && ptlen > 0) || !env_type_ok(type))
		return E2E_EINVAL;
	if ((need = e2e_seal_size(sender, recipient, ptlen)) == 0)
		return E2E_EINVAL;
	if (outsz < need)
		return E2E_ENOSPC;

	if (crypto_random(msg_id, sizeof(msg_id)) == -1 ||
	    crypto_x25519_keygen(e_priv, e_pub) == -1)
		return E2E_ECRYPTO;
	/* A low-order prekey would make the key public: refuse to use it. */
	if (crypto_x25519(e_priv, spk_pub, shared) == -1) {
		rc = E2E_EINVAL;
		goto out;
	}
	if ((rc = env_derive(shared, e_pub, spk_pub, type, sender, recipient,
	    okm)) != E2E_OK)
		goto out;

	e2e_wr_init(&w, out, outsz);
	e2e_wr_u8(&w, E2E_VERSION);
	e2e_wr_u8(&w, type);
	e2e_wr_name(&w, sender);
	e2e_wr_name(&w, recipient);
	e2e_wr_u32(&w, spk_id);
	e2e_wr_bytes(&w, e_pub, sizeof(e_pub));
	e2e_wr_bytes(&w, msg_id, sizeof(msg_id));
	e2e_wr_u64(&w, ts_ms);
	e2e_wr_u32(&w, stream);
	e2e_wr_u64(&w, counter);
	if ((rc = e2e_wr_body(&w, w.off, need, okm, LABEL_PAIRWISE_SIG,
	    sender_sign_priv, pt, ptlen)) == E2E_OK)
		*outlen = need;
 out:
	OPENSSL_cleanse(e_priv, sizeof(e_priv));
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(okm, sizeof(okm));
	/* Half an envelope must not go out by mistake. */
	if (rc != E2E_OK)
		OPENSSL_cleanse(out, need);
	return rc;
}

static int
env_parse_hdr(struct e2e_rd *r, struct e2e_env_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->version = e2e_rd_u8(r);
	h->type = e2e_rd_u8(r);
	if (r->bad)
		return E2E_EMALFORMED;
	/* The rest of the layout belongs to the version: stop here. */
	if (h->version != E2E_VERSION || !env_type_ok(h->type))
		return E2E_EVERSION;
	e2e_rd_name(r, h->sender);
	e2e_rd_name(r, h->recipient);
	h->spk_id = e2e_rd_u32(r);
	e2e_rd_bytes(r, h->e_pub, sizeof(h->e_pub));
	e2e_rd_bytes(r, h->msg_id, sizeof(h->msg_id));
	h->ts_ms = e2e_rd_u64(r);
	h->stream = e2e_rd_u32(r);
	h->counter = e2e_rd_u64(r);
	return r->bad ? E2E_EMALFORMED : E2E_OK;
}

int
e2e_peek(const uint8_t *env, size_t len, struct e2e_env_hdr *h)
{
	struct e2e_rd	 r;
	struct e2e_body	 b;
	int		 rc;

	if (env == NULL || h == NULL)
		return E2E_EINVAL;
	e2e_rd_init(&r, env, len);
	if ((rc = env_parse_hdr(&r, h)) != E2E_OK)
		return rc;
	return e2e_rd_body(&r, &b);
}

int
e2e_open(const uint8_t *env, size_t len, const char *me,
    const uint8_t sender_sign_pub[32], const uint8_t spk_priv[32],
    uint8_t *out, size_t outsz, size_t *outlen, struct e2e_env_hdr *hdrp)
{
	struct e2e_env_hdr	 h;
	struct e2e_rd		 r;
	struct e2e_body		 b;
	uint8_t			 spk_pub[CRYPTO_KEY_LEN];
	uint8_t			 shared[CRYPTO_KEY_LEN], okm[E2E_OKM_LEN];
	size_t			 hdrlen;
	int			 rc;

	if (env == NULL || me == NULL || sender_sign_pub == NULL ||
	    spk_priv == NULL || out == NULL || outlen == NULL)
		return E2E_EINVAL;
	e2e_rd_init(&r, env, len);
	if ((rc = env_parse_hdr(&r, &h)) != E2E_OK)
		return rc;
	hdrlen = r.off;
	if ((rc = e2e_rd_body(&r, &b)) != E2E_OK)
		return rc;
	if (outsz < b.ctlen - CRYPTO_AEAD_TAG_LEN)
		return E2E_ENOSPC;

	/* Nothing in the header is believed before the pinned key vouches. */
	if ((rc = e2e_body_verify(LABEL_PAIRWISE_SIG, sender_sign_pub, env,
	    hdrlen, &b)) != E2E_OK)
		return rc;
	/* Signed for someone else: surreptitious forwarding. */
	if (strcmp(h.recipient, me) != 0)
		return E2E_ERECIPIENT;

	if (crypto_x25519_public(spk_priv, spk_pub) == -1)
		return E2E_EINVAL;
	/* Fails for a low-order e_pub, whose shared secret anyone knows. */
	if (crypto_x25519(spk_priv, h.e_pub, shared) == -1) {
		rc = E2E_EDECRYPT;
		goto out;
	}
	if ((rc = env_derive(shared, h.e_pub, spk_pub, h.type, h.sender,
	    h.recipient, okm)) != E2E_OK)
		goto out;
	if (crypto_aead_open(okm, okm + CRYPTO_KEY_LEN, env, hdrlen, b.ct,
	    b.ctlen, out) == -1) {
		rc = E2E_EDECRYPT;
		goto out;
	}
	*outlen = b.ctlen - CRYPTO_AEAD_TAG_LEN;
	if (hdrp != NULL)
		*hdrp = h;
	rc = E2E_OK;
 out:
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(okm, sizeof(okm));
	return rc;
}

void
e2e_seen_init(struct e2e_seen *s)
{
	memset(s, 0, sizeof(*s));
}

int
e2e_seen_check_add(struct e2e_seen *s, const uint8_t id[16])
{
	size_t	 i;

	/* 4096 compares of 16 bytes: cheaper than any index we would keep. */
	for (i = 0; i < s->count; i++)
		if (memcmp(s->ids[i], id, E2E_MSGID_LEN) == 0)
			return E2E_EREPLAY;
	memcpy(s->ids[s->next], id, E2E_MSGID_LEN);
	s->next = (s->next + 1) % E2E_SEEN_MAX;
	if (s->count < E2E_SEEN_MAX)
		s->count++;
	return E2E_OK;
}
