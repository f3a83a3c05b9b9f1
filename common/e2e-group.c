/*
 * e2e-group.c: sender keys for rooms.  An HMAC hash ratchet per member and
 * room, messages sealed with AES-256-GCM and signed by the chain's own key.
 */
#include "config.h"

#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "e2e.h"
#include "e2e-local.h"

#define LABEL_GROUP_MSG		"securechat/v1/group-msg"
#define LABEL_GROUP_SIG		"securechat/v1/group-sig"

/* Fixed part of the group header: all but the two names. */
#define GRP_HDR_FIXED	(1 + 1 + 1 + 1 + 4 + 4 + 4 + E2E_MSGID_LEN + 8 + \
			    E2E_HASH_LEN)

/* Signal's constants: one input byte per use of the chain key. */
#define SEED_BYTE	0x01
#define CHAIN_BYTE	0x02

#define SKIPPED_BYTES	(E2E_MAX_SKIPPED * sizeof(struct e2e_skipped))

/* seed_i and CK_{i+1} from CK_i. */
static int
chain_step(const uint8_t ck[32], uint8_t seed[32], uint8_t next[32])
{
	static const uint8_t	 seed_byte = SEED_BYTE, chain_byte = CHAIN_BYTE;

	if (crypto_hmac_sha256(ck, CRYPTO_KEY_LEN, &seed_byte, 1,
	    seed) == -1 ||
	    crypto_hmac_sha256(ck, CRYPTO_KEY_LEN, &chain_byte, 1,
	    next) == -1) {
		OPENSSL_cleanse(seed, CRYPTO_HASH_LEN);
		OPENSSL_cleanse(next, CRYPTO_HASH_LEN);
		return E2E_ECRYPTO;
	}
	return E2E_OK;
}

/*
 * key || nonce of message i.  The info names the room, the sender and
 * the position, so one seed can never serve another message.
 */
static int
group_derive(const uint8_t seed[32], const char *room, const char *sender,
    uint32_t chain_id, uint32_t iteration, uint8_t okm[E2E_OKM_LEN])
{
	uint8_t		 info[E2E_INFO_MAX];
	struct e2e_wr	 w;

	e2e_wr_init(&w, info, sizeof(info));
	e2e_wr_bytes(&w, LABEL_GROUP_MSG, strlen(LABEL_GROUP_MSG));
	e2e_wr_name(&w, room);
	e2e_wr_name(&w, sender);
	e2e_wr_u32(&w, chain_id);
	e2e_wr_u32(&w, iteration);
	if (w.bad)
		return E2E_EINVAL;
	/* No salt: HKDF then uses HashLen zero bytes (RFC 5869). */
	if (crypto_hkdf_sha256(NULL, 0, seed, CRYPTO_HASH_LEN, info, w.off,
	    okm, E2E_OKM_LEN) == -1)
		return E2E_ECRYPTO;
	return E2E_OK;
}

/* Uniform in [0, bound], by rejection: a plain modulo favours the low end. */
static int
random_upto(uint64_t bound, uint64_t *v)
{
	uint64_t	 n, limit, x;

	if (bound == UINT64_MAX) {
		if (crypto_random(v, sizeof(*v)) == -1)
			return E2E_ECRYPTO;
		return E2E_OK;
	}
	n = bound + 1;
	limit = UINT64_MAX - (UINT64_MAX % n);	/* a multiple of n */
	do {
		if (crypto_random(&x, sizeof(x)) == -1)
			return E2E_ECRYPTO;
	} while (x >= limit);
	*v = x % n;
	return E2E_OK;
}

int
e2e_chain_new(struct e2e_chain *c, uint64_t now_ms)
{
	if (c == NULL)
		return E2E_EINVAL;
	memset(c, 0, sizeof(*c));
	do {
		if (crypto_random(&c->chain_id, sizeof(c->chain_id)) == -1) {
			e2e_chain_wipe(c);
			return E2E_ECRYPTO;
		}
	} while (c->chain_id == 0);	/* 0 names no chain in an SKDM */
	if (crypto_random(c->ck, sizeof(c->ck)) == -1 ||
	    crypto_ed25519_keygen(c->sign_priv, c->sign_pub) == -1) {
		e2e_chain_wipe(c);
		return E2E_ECRYPTO;
	}
	c->created_ms = now_ms;
	return E2E_OK;
}

void
e2e_chain_wipe(struct e2e_chain *c)
{
	if (c != NULL)
		OPENSSL_cleanse(c, sizeof(*c));
}

int
e2e_chain_skdm(const struct e2e_chain *c, const char *room, uint32_t epoch,
    uint8_t *buf, size_t bufsz, size_t *len)
{
	return e2e_chain_skdm_prev(c, room, epoch, 0, 0, buf, bufsz, len);
}

int
e2e_chain_skdm_prev(const struct e2e_chain *c, const char *room,
    uint32_t epoch, uint32_t prev_chain_id, uint32_t prev_count, uint8_t *buf,
    size_t bufsz, size_t *len)
{
	struct e2e_wr	 w;

	if (c == NULL || buf == NULL || len == NULL || !e2e_name_ok(room))
		return E2E_EINVAL;
	e2e_wr_init(&w, buf, bufsz);
	e2e_wr_name(&w, room);
	e2e_wr_u32(&w, epoch);
	e2e_wr_u32(&w, c->chain_id);
	e2e_wr_u32(&w, c->iteration);
	e2e_wr_bytes(&w, c->ck, sizeof(c->ck));
	e2e_wr_bytes(&w, c->sign_pub, sizeof(c->sign_pub));
	e2e_wr_u32(&w, prev_chain_id);
	e2e_wr_u32(&w, prev_count);
	if (w.bad) {
		OPENSSL_cleanse(buf, bufsz);
		return E2E_ENOSPC;
	}
	*len = w.off;
	return E2E_OK;
}

int
e2e_skdm_parse(const uint8_t *buf, size_t len, struct e2e_skdm *s)
{
	struct e2e_rd	 r;

	if (buf == NULL || s == NULL)
		return E2E_EINVAL;
	memset(s, 0, sizeof(*s));
	e2e_rd_init(&r, buf, len);
	e2e_rd_name(&r, s->room);
	s->epoch = e2e_rd_u32(&r);
	s->chain_id = e2e_rd_u32(&r);
	s->iteration = e2e_rd_u32(&r);
	e2e_rd_bytes(&r, s->ck, sizeof(s->ck));
	e2e_rd_bytes(&r, s->sign_pub, sizeof(s->sign_pub));
	s->prev_chain_id = e2e_rd_u32(&r);
	s->prev_count = e2e_rd_u32(&r);
	if (r.bad || r.off != len) {
		OPENSSL_cleanse(s, sizeof(*s));
		return E2E_EMALFORMED;
	}
	return E2E_OK;
}

int
e2e_chain_needs_rotation(const struct e2e_chain *c, uint64_t now_ms,
    int membership_changed, int identity_changed, uint64_t deadline_ms)
{
	/* A member who left must not read on; a new one must not read back. */
	if (membership_changed || identity_changed)
		return 1;
	return c->sent >= E2E_ROTATE_MSGS || now_ms >= deadline_ms ||
	    c->iteration == UINT32_MAX;
}

int
e2e_rotation_deadline(uint64_t now_ms, uint32_t min_s, uint32_t max_s,
    uint64_t *deadline_ms)
{
	uint64_t	 lo, hi, delay;
	int		 rc;

	if (deadline_ms == NULL || min_s > max_s)
		return E2E_EINVAL;
	lo = (uint64_t)min_s * 1000;
	hi = (uint64_t)max_s * 1000;
	if (now_ms > UINT64_MAX - hi)
		return E2E_EINVAL;
	/* Millisecond grain: members' rotations do not line up on seconds. */
	if ((rc = random_upto(hi - lo, &delay)) != E2E_OK)
		return rc;
	*deadline_ms = now_ms + lo + delay;
	return E2E_OK;
}

size_t
e2e_group_seal_size(const char *room, const char *sender, size_t ptlen)
{
	if (!e2e_name_ok(room) || !e2e_name_ok(sender) || ptlen > E2E_PT_MAX)
		return 0;
	return GRP_HDR_FIXED + strlen(room) + strlen(sender) + 4 + ptlen +
	    CRYPTO_AEAD_TAG_LEN + CRYPTO_SIG_LEN;
}

int
e2e_group_seal(struct e2e_chain *c, const char *room, const char *sender,
    uint32_t epoch, const void *pt, size_t ptlen, uint64_t ts_ms,
    uint8_t *out, size_t outsz, size_t *outlen)
{
	static const uint8_t	 no_roster[E2E_HASH_LEN];

	return e2e_group_seal_head(c, room, sender, epoch, no_roster, pt,
	    ptlen, ts_ms, out, outsz, outlen);
}

int
e2e_group_seal_head(struct e2e_chain *c, const char *room,
    const char *sender, uint32_t epoch, const uint8_t roster_head[32],
    const void *pt, size_t ptlen, uint64_t ts_ms, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	uint8_t			 seed[CRYPTO_HASH_LEN], next[CRYPTO_HASH_LEN];
	uint8_t			 okm[E2E_OKM_LEN], msg_id[E2E_MSGID_LEN];
	struct e2e_wr		 w;
	size_t			 need;
	int			 rc;

	if (c == NULL || out == NULL || outlen == NULL || roster_head == NULL ||
	    (pt == NULL && ptlen > 0))
		return E2E_EINVAL;
	if ((need = e2e_group_seal_size(room, sender, ptlen)) == 0)
		return E2E_EINVAL;
	if (outsz < need)
		return E2E_ENOSPC;
	/* CK_{2^32} would not fit the header: the chain must be replaced. */
	if (c->iteration == UINT32_MAX)
		return E2E_EEXHAUSTED;
	if (crypto_random(msg_id, sizeof(msg_id)) == -1)
		return E2E_ECRYPTO;
	if ((rc = chain_step(c->ck, seed, next)) != E2E_OK)
		goto out;
	if ((rc = group_derive(seed, room, sender, c->chain_id, c->iteration,
	    okm)) != E2E_OK)
		goto out;

	e2e_wr_init(&w, out, outsz);
	e2e_wr_u8(&w, E2E_VERSION);
	e2e_wr_u8(&w, E2E_TYPE_GROUP);
	e2e_wr_name(&w, room);
	e2e_wr_name(&w, sender);
	e2e_wr_u32(&w, epoch);
	e2e_wr_u32(&w, c->chain_id);
	e2e_wr_u32(&w, c->iteration);
	e2e_wr_bytes(&w, msg_id, sizeof(msg_id));
	e2e_wr_u64(&w, ts_ms);
	e2e_wr_bytes(&w, roster_head, E2E_HASH_LEN);
	if ((rc = e2e_wr_body(&w, w.off, need, okm, LABEL_GROUP_SIG,
	    c->sign_priv, pt, ptlen)) != E2E_OK)
		goto out;

	/* The old chain key goes now: forward secrecy per message. */
	memcpy(c->ck, next, sizeof(c->ck));
	c->iteration++;
	c->sent++;
	*outlen = need;
 out:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(next, sizeof(next));
	OPENSSL_cleanse(okm, sizeof(okm));
	if (rc != E2E_OK)
		OPENSSL_cleanse(out, need);
	return rc;
}

static int
group_parse_hdr(struct e2e_rd *r, struct e2e_group_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->version = e2e_rd_u8(r);
	h->type = e2e_rd_u8(r);
	if (r->bad)
		return E2E_EMALFORMED;
	if (h->version != E2E_VERSION || h->type != E2E_TYPE_GROUP)
		return E2E_EVERSION;
	e2e_rd_name(r, h->room);
	e2e_rd_name(r, h->sender);
	h->epoch = e2e_rd_u32(r);
	h->chain_id = e2e_rd_u32(r);
	h->iteration = e2e_rd_u32(r);
	e2e_rd_bytes(r, h->msg_id, sizeof(h->msg_id));
	h->ts_ms = e2e_rd_u64(r);
	e2e_rd_bytes(r, h->roster_head, sizeof(h->roster_head));
	return r->bad ? E2E_EMALFORMED : E2E_OK;
}

int
e2e_group_peek(const uint8_t *msg, size_t len, struct e2e_group_hdr *h)
{
	struct e2e_rd	 r;
	struct e2e_body	 b;
	int		 rc;

	if (msg == NULL || h == NULL)
		return E2E_EINVAL;
	e2e_rd_init(&r, msg, len);
	if ((rc = group_parse_hdr(&r, h)) != E2E_OK)
		return rc;
	return e2e_rd_body(&r, &b);
}

int
e2e_group_receiver_init(struct e2e_group_receiver *r, const char *room,
    const char *sender)
{
	if (r == NULL || !e2e_name_ok(room) || !e2e_name_ok(sender))
		return E2E_EINVAL;
	memset(r, 0, sizeof(*r));
	memcpy(r->room, room, strlen(room) + 1);
	memcpy(r->sender, sender, strlen(sender) + 1);
	return E2E_OK;
}

static void
in_chain_wipe(struct e2e_in_chain *c)
{
	if (c->skipped != NULL)
		OPENSSL_clear_free(c->skipped, SKIPPED_BYTES);
	OPENSSL_cleanse(c, sizeof(*c));
	memset(c, 0, sizeof(*c));
}

void
e2e_group_receiver_free(struct e2e_group_receiver *r)
{
	size_t	 i;

	if (r == NULL)
		return;
	for (i = 0; i < E2E_MAX_CHAINS; i++)
		in_chain_wipe(&r->chains[i]);
	OPENSSL_cleanse(r, sizeof(*r));
}

int
e2e_group_receiver_add_skdm(struct e2e_group_receiver *r, const char *sender,
    const uint8_t *buf, size_t len)
{
	return e2e_group_receiver_learn(r, sender, buf, len, NULL);
}

static struct e2e_in_chain	*find_chain(struct e2e_group_receiver *,
				    uint32_t);

int
e2e_group_receiver_learn(struct e2e_group_receiver *r, const char *sender,
    const uint8_t *buf, size_t len, struct e2e_order *order)
{
	struct e2e_skdm		 s;
	struct e2e_in_chain	*c, *slot = NULL, *prev;
	size_t			 i;
	int			 rc;

	if (order != NULL)
		memset(order, 0, sizeof(*order));
	if (r == NULL || sender == NULL || buf == NULL)
		return E2E_EINVAL;
	/* Only a chain's owner may hand it out: no forwarded keys. */
	if (strcmp(sender, r->sender) != 0)
		return E2E_ESENDER;
	if ((rc = e2e_skdm_parse(buf, len, &s)) != E2E_OK)
		return rc;
	if (strcmp(s.room, r->room) != 0) {
		rc = E2E_EROOM;
		goto out;
	}
	for (i = 0; i < E2E_MAX_CHAINS; i++) {
		c = &r->chains[i];
		/*
		 * A chain is learnt once: a second SKDM, even genuine, could
		 * only rewind it (reopening replays) or skip keys unseen.
		 */
		if (c->used && c->chain_id == s.chain_id) {
			rc = E2E_EREPLAY;
			goto out;
		}
		if (!c->used) {
			if (slot == NULL || slot->used)
				slot = c;
		} else if (slot == NULL ||
		    (slot->used && c->added < slot->added))
			slot = c;
	}
	/*
	 * The chain replaced: what it carried beyond what arrived is
	 * missing, and whatever of it arrives from now on is late.
	 */
	if (s.prev_chain_id != 0 && s.prev_chain_id != s.chain_id &&
	    (prev = find_chain(r, s.prev_chain_id)) != NULL) {
		if (order != NULL && s.prev_count > prev->next)
			order->missing = s.prev_count - prev->next;
		prev->ended = 1;
	}
	/* A free slot, else the oldest chain: it and its keys are gone. */
	in_chain_wipe(slot);
	slot->used = 1;
	slot->chain_id = s.chain_id;
	slot->epoch = s.epoch;
	slot->base = s.iteration;
	slot->floor = s.iteration;
	slot->next = s.iteration;
	memcpy(slot->ck, s.ck, sizeof(slot->ck));
	memcpy(slot->sign_pub, s.sign_pub, sizeof(slot->sign_pub));
	slot->added = ++r->nadded;
	rc = E2E_OK;
 out:
	OPENSSL_cleanse(&s, sizeof(s));
	return rc;
}

static struct e2e_in_chain *
find_chain(struct e2e_group_receiver *r, uint32_t chain_id)
{
	size_t	 i;

	for (i = 0; i < E2E_MAX_CHAINS; i++)
		if (r->chains[i].used && r->chains[i].chain_id == chain_id)
			return &r->chains[i];
	return NULL;
}

/* Index of the skipped key for iteration i, or -1. */
static ssize_t
skipped_find(const struct e2e_in_chain *c, uint32_t i)
{
	size_t	 lo = 0, hi = c->nskipped, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->skipped[mid].iteration == i)
			return (ssize_t)mid;
		if (c->skipped[mid].iteration < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Used keys are deleted at once: a replay then finds nothing. */
static void
skipped_remove(struct e2e_in_chain *c, size_t k)
{
	memmove(&c->skipped[k], &c->skipped[k + 1],
	    (c->nskipped - k - 1) * sizeof(c->skipped[0]));
	c->nskipped--;
	OPENSSL_cleanse(&c->skipped[c->nskipped], sizeof(c->skipped[0]));
}

/*
 * Append n keys (all above those held), dropping the oldest past the
 * bound; floor remembers where the dropped ones ended so that a late
 * message for one of them reads as "too old", not as a replay.
 */
static int
skipped_append(struct e2e_in_chain *c, const struct e2e_skipped *add,
    size_t n)
{
	size_t	 drop;

	if (n == 0)
		return E2E_OK;
	if (c->skipped == NULL &&
	    (c->skipped = calloc(E2E_MAX_SKIPPED, sizeof(*c->skipped))) ==
	    NULL)
		return E2E_ENOMEM;
	if (c->nskipped + n > E2E_MAX_SKIPPED) {
		drop = c->nskipped + n - E2E_MAX_SKIPPED;
		c->floor = c->skipped[drop - 1].iteration + 1;
		OPENSSL_cleanse(c->skipped, drop * sizeof(c->skipped[0]));
		memmove(c->skipped, c->skipped + drop,
		    (c->nskipped - drop) * sizeof(c->skipped[0]));
		c->nskipped -= drop;
		OPENSSL_cleanse(c->skipped + c->nskipped,
		    drop * sizeof(c->skipped[0]));
	}
	memcpy(c->skipped + c->nskipped, add, n * sizeof(add[0]));
	c->nskipped += n;
	return E2E_OK;
}

static int
open_body(const struct e2e_group_hdr *h, const uint8_t seed[32],
    const uint8_t *msg, size_t hdrlen, const struct e2e_body *b,
    uint8_t *out)
{
	uint8_t	 okm[E2E_OKM_LEN];
	int	 rc;

	if ((rc = group_derive(seed, h->room, h->sender, h->chain_id,
	    h->iteration, okm)) == E2E_OK &&
	    crypto_aead_open(okm, okm + CRYPTO_KEY_LEN, msg, hdrlen, b->ct,
	    b->ctlen, out) == -1)
		rc = E2E_EDECRYPT;
	OPENSSL_cleanse(okm, sizeof(okm));
	return rc;
}

/* A message at or past c->next: walk the ratchet, keep what is skipped. */
static int
open_ahead(struct e2e_in_chain *c, const struct e2e_group_hdr *h,
    const uint8_t *msg, size_t hdrlen, const struct e2e_body *b,
    uint8_t *out)
{
	struct e2e_skipped	*tmp = NULL;
	uint8_t			 ck[CRYPTO_KEY_LEN], seed[CRYPTO_HASH_LEN];
	uint8_t			 next[CRYPTO_HASH_LEN];
	size_t			 n, j;
	int			 rc;

	n = (size_t)(h->iteration - c->next);
	if (n > E2E_MAX_JUMP)
		return E2E_ETOO_FAR;
	if (n > 0 && (tmp = calloc(n, sizeof(*tmp))) == NULL)
		return E2E_ENOMEM;
	/* Work on a copy: a message that fails must not move the chain. */
	memcpy(ck, c->ck, sizeof(ck));
	for (j = 0; j <= n; j++) {
		if ((rc = chain_step(ck, seed, next)) != E2E_OK)
			goto out;
		memcpy(ck, next, sizeof(ck));
		if (j < n) {
			tmp[j].iteration = (uint32_t)(c->next + j);
			memcpy(tmp[j].seed, seed, sizeof(seed));
		}
	}
	if ((rc = open_body(h, seed, msg, hdrlen, b, out)) != E2E_OK)
		goto out;
	if ((rc = skipped_append(c, tmp, n)) != E2E_OK) {
		OPENSSL_cleanse(out, b->ctlen - CRYPTO_AEAD_TAG_LEN);
		goto out;
	}
	memcpy(c->ck, ck, sizeof(c->ck));
	c->next = (uint64_t)h->iteration + 1;
 out:
	if (tmp != NULL)
		OPENSSL_clear_free(tmp, n * sizeof(*tmp));
	OPENSSL_cleanse(ck, sizeof(ck));
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(next, sizeof(next));
	return rc;
}

int
e2e_group_open(struct e2e_group_receiver *r, const uint8_t *msg, size_t len,
    uint8_t *out, size_t outsz, size_t *outlen, struct e2e_group_hdr *hdrp)
{
	return e2e_group_open_order(r, msg, len, out, outsz, outlen, hdrp,
	    NULL);
}

int
e2e_group_open_order(struct e2e_group_receiver *r, const uint8_t *msg,
    size_t len, uint8_t *out, size_t outsz, size_t *outlen,
    struct e2e_group_hdr *hdrp, struct e2e_order *order)
{
	struct e2e_group_hdr	 h;
	struct e2e_in_chain	*c;
	struct e2e_rd		 rd;
	struct e2e_body		 b;
	struct e2e_order	 o;
	size_t			 hdrlen;
	ssize_t			 k;
	int			 rc;

	memset(&o, 0, sizeof(o));
	if (order != NULL)
		*order = o;
	if (r == NULL || msg == NULL || out == NULL || outlen == NULL)
		return E2E_EINVAL;
	e2e_rd_init(&rd, msg, len);
	if ((rc = group_parse_hdr(&rd, &h)) != E2E_OK)
		return rc;
	hdrlen = rd.off;
	if ((rc = e2e_rd_body(&rd, &b)) != E2E_OK)
		return rc;
	if (outsz < b.ctlen - CRYPTO_AEAD_TAG_LEN)
		return E2E_ENOSPC;
	/* Where the server delivered it must be what the sender said. */
	if (strcmp(h.room, r->room) != 0)
		return E2E_EROOM;
	if (strcmp(h.sender, r->sender) != 0)
		return E2E_ESENDER;
	if ((c = find_chain(r, h.chain_id)) == NULL)
		return E2E_EUNKNOWN_CHAIN;
	/* Before any state is touched: only the chain's holder can pass. */
	if ((rc = e2e_body_verify(LABEL_GROUP_SIG, c->sign_pub, msg, hdrlen,
	    &b)) != E2E_OK)
		return rc;

	o.late = c->ended;
	if (h.iteration >= c->next) {
		o.missing = h.iteration - c->next;
		rc = open_ahead(c, &h, msg, hdrlen, &b, out);
	} else if ((k = skipped_find(c, h.iteration)) >= 0) {
		o.late = 1;
		if ((rc = open_body(&h, c->skipped[k].seed, msg, hdrlen,
		    &b, out)) == E2E_OK)
			skipped_remove(c, (size_t)k);
	} else
		rc = h.iteration < c->floor ? E2E_ETOO_OLD : E2E_EREPLAY;
	if (rc != E2E_OK)
		return rc;
	if (order != NULL)
		*order = o;
	*outlen = b.ctlen - CRYPTO_AEAD_TAG_LEN;
	if (hdrp != NULL)
		*hdrp = h;
	return E2E_OK;
}
