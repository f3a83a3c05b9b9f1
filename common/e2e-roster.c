/*
 * e2e-roster.c: signed, hash-chained room rosters (docs/E2E.md 9).  The
 * room's creator signs its first entry, with the policy; every later
 * entry names the hash of the one before it and is signed by whoever
 * the policy lets make it: a joiner or leaver itself, an admin for an
 * admission or a removal.  Members bind their identity keys, so whoever
 * verifies the chain knows whom to seal a room key to, and the server,
 * which holds no member's private key, can neither add nor drop anyone.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "e2e.h"
#include "e2e-local.h"
#include "e2e-roster.h"

#define LABEL_ROSTER_SIG	"securechat/v1/roster"
#define LABEL_ROSTER_HASH	"securechat/v1/roster-hash"

static const uint8_t	 zero_hash[E2E_HASH_LEN];

/* Everything the signature covers: the entry up to its signature. */
static void
entry_write(struct e2e_wr *w, const struct e2e_roster_entry *e)
{
	e2e_wr_u8(w, E2E_VERSION);
	e2e_wr_u8(w, E2E_TYPE_ROSTER);
	e2e_wr_name(w, e->room);
	e2e_wr_u32(w, e->index);
	e2e_wr_bytes(w, e->prev, sizeof(e->prev));
	e2e_wr_u8(w, e->op);
	e2e_wr_name(w, e->subject);
	e2e_wr_bytes(w, e->subject_key, sizeof(e->subject_key));
	e2e_wr_name(w, e->actor);
	e2e_wr_bytes(w, e->actor_key, sizeof(e->actor_key));
	e2e_wr_u8(w, e->arg);
	e2e_wr_u64(w, e->ts_ms);
}

int
e2e_roster_entry_sign(struct e2e_roster_entry *e, const uint8_t actor_priv[32],
    uint8_t *out, size_t outsz, size_t *outlen)
{
	struct crypto_part	 parts[2];
	struct e2e_wr		 w;

	if (e == NULL || actor_priv == NULL || out == NULL || outlen == NULL)
		return E2E_EINVAL;
	e2e_wr_init(&w, out, outsz);
	entry_write(&w, e);
	if (w.bad)
		return w.off + CRYPTO_SIG_LEN > outsz ? E2E_ENOSPC : E2E_EINVAL;
	if (outsz - w.off < CRYPTO_SIG_LEN)
		return E2E_ENOSPC;
	parts[0].p = LABEL_ROSTER_SIG;
	parts[0].len = strlen(LABEL_ROSTER_SIG);
	parts[1].p = out;
	parts[1].len = w.off;
	if (crypto_ed25519_sign_parts(actor_priv, parts, 2, out + w.off) == -1)
		return E2E_ECRYPTO;
	memcpy(e->sig, out + w.off, sizeof(e->sig));
	e->version = E2E_VERSION;
	e->type = E2E_TYPE_ROSTER;
	*outlen = e->len = w.off + CRYPTO_SIG_LEN;
	return E2E_OK;
}

int
e2e_roster_entry_parse(const uint8_t *buf, size_t len,
    struct e2e_roster_entry *e)
{
	struct e2e_rd	 r;

	if (buf == NULL || e == NULL)
		return E2E_EINVAL;
	memset(e, 0, sizeof(*e));
	e2e_rd_init(&r, buf, len);
	e->version = e2e_rd_u8(&r);
	e->type = e2e_rd_u8(&r);
	if (r.bad)
		return E2E_EMALFORMED;
	if (e->version != E2E_VERSION || e->type != E2E_TYPE_ROSTER)
		return E2E_EVERSION;
	e2e_rd_name(&r, e->room);
	e->index = e2e_rd_u32(&r);
	e2e_rd_bytes(&r, e->prev, sizeof(e->prev));
	e->op = e2e_rd_u8(&r);
	e2e_rd_name(&r, e->subject);
	e2e_rd_bytes(&r, e->subject_key, sizeof(e->subject_key));
	e2e_rd_name(&r, e->actor);
	e2e_rd_bytes(&r, e->actor_key, sizeof(e->actor_key));
	e->arg = e2e_rd_u8(&r);
	e->ts_ms = e2e_rd_u64(&r);
	e2e_rd_bytes(&r, e->sig, sizeof(e->sig));
	/* Exactly one entry: nothing may trail it unsigned. */
	if (r.bad || r.off != len || e->op < E2E_ROSTER_CREATE ||
	    e->op > E2E_ROSTER_REMOVE) {
		memset(e, 0, sizeof(*e));
		return E2E_EMALFORMED;
	}
	e->len = len;
	return E2E_OK;
}

int
e2e_roster_entry_hash(const uint8_t *buf, size_t len,
    uint8_t out[E2E_HASH_LEN])
{
	uint8_t	*tmp;
	size_t	 l = strlen(LABEL_ROSTER_HASH);
	int	 rc;

	if (buf == NULL || out == NULL || len > E2E_ROSTER_ENTRY_MAX)
		return E2E_EINVAL;
	if ((tmp = malloc(l + len)) == NULL)
		return E2E_ENOMEM;
	memcpy(tmp, LABEL_ROSTER_HASH, l);
	memcpy(tmp + l, buf, len);
	rc = crypto_sha256(tmp, l + len, out) == -1 ? E2E_ECRYPTO : E2E_OK;
	free(tmp);
	return rc;
}

int
e2e_roster_init(struct e2e_roster *r, const char *room)
{
	if (r == NULL || !e2e_name_ok(room))
		return E2E_EINVAL;
	memset(r, 0, sizeof(*r));
	memcpy(r->room, room, strlen(room) + 1);
	return E2E_OK;
}

void
e2e_roster_free(struct e2e_roster *r)
{
	if (r == NULL)
		return;
	free(r->m);
	memset(r, 0, sizeof(*r));
}

int
e2e_roster_copy(struct e2e_roster *dst, const struct e2e_roster *src)
{
	if (dst == NULL || src == NULL)
		return E2E_EINVAL;
	*dst = *src;
	dst->m = NULL;
	if (src->nm == 0)
		return E2E_OK;
	if ((dst->m = calloc(src->nm, sizeof(*dst->m))) == NULL) {
		memset(dst, 0, sizeof(*dst));
		return E2E_ENOMEM;
	}
	memcpy(dst->m, src->m, src->nm * sizeof(*src->m));
	return E2E_OK;
}

/* The index where name is, or would go; *found says which. */
static size_t
member_find(const struct e2e_roster *r, const char *name, int *found)
{
	size_t	 lo = 0, hi = r->nm, mid;
	int	 c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(name, r->m[mid].name)) == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

const struct e2e_roster_member *
e2e_roster_member(const struct e2e_roster *r, const char *name)
{
	size_t	 i;
	int	 found;

	if (r == NULL || name == NULL)
		return NULL;
	i = member_find(r, name, &found);
	return found ? &r->m[i] : NULL;
}

static int
member_add(struct e2e_roster *r, const char *name, const uint8_t key[32],
    uint8_t role)
{
	struct e2e_roster_member	*m;
	size_t				 i;
	int				 found;

	i = member_find(r, name, &found);
	if (found) {
		memcpy(r->m[i].key, key, 32);	/* a new key: rebound */
		return E2E_OK;
	}
	if (r->nm >= E2E_ROSTER_MEMBERS_MAX)
		return E2E_EROSTER;
	if ((m = reallocarray(r->m, r->nm + 1, sizeof(*m))) == NULL)
		return E2E_ENOMEM;
	r->m = m;
	memmove(&r->m[i + 1], &r->m[i], (r->nm - i) * sizeof(*r->m));
	memset(&r->m[i], 0, sizeof(r->m[i]));
	memcpy(r->m[i].name, name, strlen(name) + 1);
	memcpy(r->m[i].key, key, 32);
	r->m[i].role = role;
	r->nm++;
	return E2E_OK;
}

static void
member_remove(struct e2e_roster *r, const char *name)
{
	size_t	 i;
	int	 found;

	i = member_find(r, name, &found);
	if (!found)
		return;
	memmove(&r->m[i], &r->m[i + 1], (r->nm - i - 1) * sizeof(*r->m));
	r->nm--;
}

/* Is name a member bound to exactly key? */
static const struct e2e_roster_member *
member_with_key(const struct e2e_roster *r, const char *name,
    const uint8_t key[32])
{
	const struct e2e_roster_member	*m;

	if ((m = e2e_roster_member(r, name)) == NULL ||
	    memcmp(m->key, key, 32) != 0)
		return NULL;
	return m;
}

/*
 * May the actor do e->op to the subject, in r as it stands?  The rules
 * of docs/E2E.md 9.3, in the same order.
 */
static int
allowed(const struct e2e_roster *r, const struct e2e_roster_entry *e)
{
	const struct e2e_roster_member	*actor, *subject;
	int				 self;

	self = strcmp(e->actor, e->subject) == 0 &&
	    memcmp(e->actor_key, e->subject_key, 32) == 0;
	subject = e2e_roster_member(r, e->subject);
	actor = member_with_key(r, e->actor, e->actor_key);
	switch (e->op) {
	case E2E_ROSTER_CREATE:
		return e->index == 0 && self &&
		    (e->arg == E2E_ROSTER_OPEN ||
		    e->arg == E2E_ROSTER_INVITE_ONLY);
	case E2E_ROSTER_JOIN:
		/* Open to all; in an invite-only room, a member's new key. */
		if (e->index == 0 || !self || e->arg != 0)
			return 0;
		if (subject != NULL)
			return memcmp(subject->key, e->subject_key, 32) != 0;
		return r->policy == E2E_ROSTER_OPEN;
	case E2E_ROSTER_PART:
		return e->index > 0 && self && e->arg == 0 && actor != NULL;
	case E2E_ROSTER_INVITE:
		return e->index > 0 && !self && subject == NULL &&
		    actor != NULL && actor->role == E2E_ROSTER_ADMIN &&
		    (e->arg == E2E_ROSTER_MEMBER || e->arg == E2E_ROSTER_ADMIN);
	case E2E_ROSTER_REMOVE:
		return e->index > 0 && e->arg == 0 && actor != NULL &&
		    actor->role == E2E_ROSTER_ADMIN &&
		    member_with_key(r, e->subject, e->subject_key) != NULL;
	}
	return 0;
}

int
e2e_roster_apply(struct e2e_roster *r, const uint8_t *buf, size_t len,
    struct e2e_roster_entry *ep)
{
	struct e2e_roster_entry	 e;
	struct crypto_part	 parts[2];
	uint8_t			 hash[E2E_HASH_LEN];
	int			 rc;

	if (r == NULL || buf == NULL)
		return E2E_EINVAL;
	if ((rc = e2e_roster_entry_parse(buf, len, &e)) != E2E_OK)
		return rc;
	if (strcmp(e.room, r->room) != 0)
		return E2E_EROOM;
	/* It must continue our chain exactly: else it is another chain. */
	if (e.index != r->count || r->count == UINT32_MAX ||
	    memcmp(e.prev, r->count == 0 ? zero_hash : r->head,
	    E2E_HASH_LEN) != 0)
		return E2E_EFORK;
	parts[0].p = LABEL_ROSTER_SIG;
	parts[0].len = strlen(LABEL_ROSTER_SIG);
	parts[1].p = buf;
	parts[1].len = len - CRYPTO_SIG_LEN;
	if (crypto_ed25519_verify_parts(e.actor_key, parts, 2, e.sig) == -1)
		return E2E_ESIG;
	if (!allowed(r, &e))
		return E2E_EROSTER;
	if ((rc = e2e_roster_entry_hash(buf, len, hash)) != E2E_OK)
		return rc;

	/*
	 * In place: member_add fails (bound, memory) before it changes
	 * anything, and nothing else can fail, so a refusal leaves the
	 * roster as it was without copying it.
	 */
	switch (e.op) {
	case E2E_ROSTER_CREATE:
		rc = member_add(r, e.subject, e.subject_key, E2E_ROSTER_ADMIN);
		if (rc == E2E_OK)
			r->policy = e.arg;
		break;
	case E2E_ROSTER_JOIN:
		rc = member_add(r, e.subject, e.subject_key, E2E_ROSTER_MEMBER);
		break;
	case E2E_ROSTER_INVITE:
		rc = member_add(r, e.subject, e.subject_key, e.arg);
		break;
	case E2E_ROSTER_PART:
	case E2E_ROSTER_REMOVE:
		member_remove(r, e.subject);
		break;
	}
	if (rc != E2E_OK)
		return rc;
	if (r->nhist == E2E_ROSTER_HISTORY) {
		memmove(r->hist[0], r->hist[1],
		    (E2E_ROSTER_HISTORY - 1) * E2E_HASH_LEN);
		r->nhist--;
	}
	memcpy(r->hist[r->nhist++], hash, E2E_HASH_LEN);
	memcpy(r->head, hash, E2E_HASH_LEN);
	r->count++;
	if (ep != NULL)
		*ep = e;
	return E2E_OK;
}

int
e2e_roster_knows(const struct e2e_roster *r, const uint8_t *hash)
{
	size_t	 i;

	if (r == NULL || hash == NULL)
		return 0;
	for (i = 0; i < r->nhist; i++)
		if (memcmp(r->hist[i], hash, E2E_HASH_LEN) == 0)
			return 1;
	return 0;
}

const uint8_t *
e2e_roster_hash_at(const struct e2e_roster *r, uint32_t index)
{
	uint32_t	 oldest;

	if (r == NULL || index >= r->count)
		return NULL;
	oldest = r->count - (uint32_t)r->nhist;
	if (index < oldest)
		return NULL;
	return r->hist[index - oldest];
}
