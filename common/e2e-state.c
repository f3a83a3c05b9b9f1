/*
 * e2e-state.c: receivers and the seen-set to bytes and back, for the
 * client to seal and keep across restarts.  Reading trusts nothing.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "e2e.h"
#include "e2e-local.h"
#include "e2e-state.h"

/* version, type, nadded, nchains: all but the two names. */
#define RCV_FIXED	(1 + 1 + 8 + 1)
/* chain_id, epoch, base, floor, next, added, flags, CK, sign_pub, nskipped. */
#define CHAIN_FIXED	(4 + 4 + 4 + 4 + 8 + 8 + 1 + 2 * CRYPTO_KEY_LEN + 4)
#define CHAIN_ENDED	0x01	/* flags: a newer chain replaced it */
#define SKIPPED_REC	(4 + CRYPTO_HASH_LEN)
/* version, type, count, next. */
#define SEEN_FIXED	(1 + 1 + 4 + 4)
/* version, type: every record's start. */
#define REC_HDR		2
/* A DM peer after its name: out stream and next, then each in stream. */
#define DM_FIXED	(4 + 8 + E2E_DM_STREAMS * (4 + 8))
/* version, type, floor_ms, count; then per id: id, spk_id, ts_ms. */
#define REPLAY_FIXED	(1 + 1 + 8 + 4)
#define REPLAY_REC	(E2E_MSGID_LEN + 4 + 8)

/* next is one past the last iteration opened, and iterations are u32. */
#define NEXT_MAX	((uint64_t)UINT32_MAX + 1)

/*
 * Version 1 records (receivers, the seen ring) are still read; the
 * others exist only in version 2.
 */
static int
state_hdr_read(struct e2e_rd *rd, uint8_t type, uint8_t *versionp)
{
	uint8_t	 version, t;

	version = e2e_rd_u8(rd);
	t = e2e_rd_u8(rd);
	if (rd->bad)
		return E2E_EMALFORMED;
	/* The rest of the layout belongs to the version: stop here. */
	if (t != type || (version != E2E_STATE_VERSION && (version != 1 ||
	    (type != E2E_STATE_RECEIVER && type != E2E_STATE_SEEN))))
		return E2E_EVERSION;
	if (versionp != NULL)
		*versionp = version;
	return E2E_OK;
}

/*
 * Every writer's start: the arguments, room for need bytes (the record's
 * size, 0 if it cannot be written), then version and type.
 */
static int
state_hdr_write(struct e2e_wr *w, uint8_t type, size_t need, uint8_t *out,
    size_t outsz, const size_t *len)
{
	if (out == NULL || len == NULL || need == 0)
		return E2E_EINVAL;
	if (outsz < need)
		return E2E_ENOSPC;
	e2e_wr_init(w, out, outsz);
	e2e_wr_u8(w, E2E_STATE_VERSION);
	e2e_wr_u8(w, type);
	return E2E_OK;
}

/* Every writer's end: exactly the size it announced. */
static int
state_end(const struct e2e_wr *w, size_t need, size_t *len)
{
	if (w->bad || w->off != need)
		return E2E_EINVAL;
	*len = need;
	return E2E_OK;
}

static size_t
chains_used(const struct e2e_group_receiver *r)
{
	size_t	 i, n = 0;

	for (i = 0; i < E2E_MAX_CHAINS; i++)
		n += r->chains[i].used != 0;
	return n;
}

size_t
e2e_receiver_state_size(const struct e2e_group_receiver *r)
{
	const struct e2e_in_chain	*c;
	size_t				 i, sz;

	if (r == NULL || !e2e_name_ok(r->room) || !e2e_name_ok(r->sender))
		return 0;
	sz = RCV_FIXED + 1 + strlen(r->room) + 1 + strlen(r->sender);
	for (i = 0; i < E2E_MAX_CHAINS; i++) {
		c = &r->chains[i];
		if (!c->used)
			continue;
		/* Not one e2e-group.c made: its reader would refuse it. */
		if (c->nskipped > E2E_MAX_SKIPPED ||
		    (c->nskipped > 0 && c->skipped == NULL))
			return 0;
		sz += CHAIN_FIXED + c->nskipped * SKIPPED_REC;
	}
	return sz;
}

static void
in_chain_write(struct e2e_wr *w, const struct e2e_in_chain *c)
{
	size_t	 i;

	e2e_wr_u32(w, c->chain_id);
	e2e_wr_u32(w, c->epoch);
	e2e_wr_u32(w, c->base);
	e2e_wr_u32(w, c->floor);
	e2e_wr_u64(w, c->next);
	e2e_wr_u64(w, c->added);
	e2e_wr_u8(w, c->ended ? CHAIN_ENDED : 0);
	e2e_wr_bytes(w, c->ck, sizeof(c->ck));
	e2e_wr_bytes(w, c->sign_pub, sizeof(c->sign_pub));
	e2e_wr_u32(w, (uint32_t)c->nskipped);
	for (i = 0; i < c->nskipped; i++) {
		e2e_wr_u32(w, c->skipped[i].iteration);
		e2e_wr_bytes(w, c->skipped[i].seed,
		    sizeof(c->skipped[i].seed));
	}
}

int
e2e_receiver_state_write(const struct e2e_group_receiver *r, uint8_t *out,
    size_t outsz, size_t *len)
{
	struct e2e_wr	 w;
	size_t		 need, i;
	int		 rc;

	need = e2e_receiver_state_size(r);
	if ((rc = state_hdr_write(&w, E2E_STATE_RECEIVER, need, out, outsz,
	    len)) != E2E_OK)
		return rc;
	e2e_wr_name(&w, r->room);
	e2e_wr_name(&w, r->sender);
	e2e_wr_u64(&w, r->nadded);
	e2e_wr_u8(&w, (uint8_t)chains_used(r));
	/* Slot order: the reader keeps arrival order in each chain's added. */
	for (i = 0; i < E2E_MAX_CHAINS; i++)
		if (r->chains[i].used)
			in_chain_write(&w, &r->chains[i]);
	if (w.bad || w.off != need) {
		/* Half a record of chain keys must not linger. */
		OPENSSL_cleanse(out, need);
		return E2E_EINVAL;
	}
	*len = need;
	return E2E_OK;
}

/* Chain k, checked against the record's receiver and chains 0..k-1. */
static int
in_chain_read(struct e2e_rd *rd, struct e2e_group_receiver *r, size_t k,
    uint8_t version)
{
	struct e2e_in_chain	*c = &r->chains[k];
	struct e2e_skipped	*s;
	uint32_t		 n, j;
	uint8_t			 flags = 0;
	size_t			 i;

	c->used = 1;
	c->chain_id = e2e_rd_u32(rd);
	c->epoch = e2e_rd_u32(rd);
	c->base = e2e_rd_u32(rd);
	c->floor = e2e_rd_u32(rd);
	c->next = e2e_rd_u64(rd);
	c->added = e2e_rd_u64(rd);
	if (version > 1 && ((flags = e2e_rd_u8(rd)) & ~CHAIN_ENDED) != 0)
		return E2E_EMALFORMED;
	c->ended = (flags & CHAIN_ENDED) != 0;
	e2e_rd_bytes(rd, c->ck, sizeof(c->ck));
	e2e_rd_bytes(rd, c->sign_pub, sizeof(c->sign_pub));
	n = e2e_rd_u32(rd);
	/* The order e2e-group.c keeps: base <= floor <= next. */
	if (rd->bad || c->base > c->floor || c->floor > c->next ||
	    c->next > NEXT_MAX || c->added == 0 || c->added > r->nadded ||
	    n > E2E_MAX_SKIPPED)
		return E2E_EMALFORMED;
	/* Two chains with one id would make lookups and eviction ambiguous. */
	for (i = 0; i < k; i++)
		if (r->chains[i].chain_id == c->chain_id ||
		    r->chains[i].added == c->added)
			return E2E_EMALFORMED;
	if (n == 0)
		return E2E_OK;
	/* A short record must not cost a full array first. */
	if ((rd->len - rd->off) / SKIPPED_REC < n)
		return E2E_EMALFORMED;
	if ((c->skipped = calloc(E2E_MAX_SKIPPED, sizeof(*c->skipped))) ==
	    NULL)
		return E2E_ENOMEM;
	for (j = 0; j < n; j++) {
		s = &c->skipped[j];
		s->iteration = e2e_rd_u32(rd);
		e2e_rd_bytes(rd, s->seed, sizeof(s->seed));
		/* Sorted and unique, or skipped_find's bisection goes wrong. */
		if (rd->bad || s->iteration < c->floor ||
		    s->iteration >= c->next ||
		    (j > 0 && s->iteration <= c->skipped[j - 1].iteration))
			return E2E_EMALFORMED;
	}
	c->nskipped = n;
	return E2E_OK;
}

int
e2e_receiver_state_read(struct e2e_group_receiver *r, const uint8_t *in,
    size_t len, size_t *used)
{
	struct e2e_rd	 rd;
	char		 room[E2E_NAME_MAX + 1], sender[E2E_NAME_MAX + 1];
	size_t		 n, i;
	uint8_t		 version;
	int		 rc;

	if (r == NULL || in == NULL || used == NULL)
		return E2E_EINVAL;
	memset(r, 0, sizeof(*r));
	e2e_rd_init(&rd, in, len);
	if ((rc = state_hdr_read(&rd, E2E_STATE_RECEIVER, &version)) !=
	    E2E_OK)
		return rc;
	e2e_rd_name(&rd, room);
	e2e_rd_name(&rd, sender);
	if (rd.bad || e2e_group_receiver_init(r, room, sender) != E2E_OK)
		return E2E_EMALFORMED;
	r->nadded = e2e_rd_u64(&rd);
	n = e2e_rd_u8(&rd);
	rc = E2E_EMALFORMED;
	if (rd.bad || n > E2E_MAX_CHAINS)
		goto fail;
	for (i = 0; i < n; i++)
		if ((rc = in_chain_read(&rd, r, i, version)) != E2E_OK)
			goto fail;
	*used = rd.off;
	return E2E_OK;
 fail:
	/* Frees any skipped arrays and wipes the keys read so far. */
	e2e_group_receiver_free(r);
	return rc;
}

/*
 * The ring fills from slot 0 and wraps only when full: any other next
 * would overwrite a live id, or count an empty slot as seen.
 */
static int
seen_ring_ok(size_t count, size_t next)
{
	return count <= E2E_SEEN_MAX && next < E2E_SEEN_MAX &&
	    (count == E2E_SEEN_MAX || next == count);
}

size_t
e2e_seen_state_size(const struct e2e_seen *s)
{
	if (s == NULL || !seen_ring_ok(s->count, s->next))
		return 0;
	return SEEN_FIXED + s->count * E2E_MSGID_LEN;
}

int
e2e_seen_state_write(const struct e2e_seen *s, uint8_t *out, size_t outsz,
    size_t *len)
{
	struct e2e_wr	 w;
	size_t		 need;
	int		 rc;

	need = e2e_seen_state_size(s);
	if ((rc = state_hdr_write(&w, E2E_STATE_SEEN, need, out, outsz,
	    len)) != E2E_OK)
		return rc;
	e2e_wr_u32(&w, (uint32_t)s->count);
	e2e_wr_u32(&w, (uint32_t)s->next);
	/* The ring as it stands: next keeps pointing at the oldest id. */
	e2e_wr_bytes(&w, s->ids, s->count * E2E_MSGID_LEN);
	return state_end(&w, need, len);
}

int
e2e_seen_state_read(struct e2e_seen *s, const uint8_t *in, size_t len,
    size_t *used)
{
	struct e2e_rd	 rd;
	uint32_t	 count, next;
	int		 rc;

	if (s == NULL || in == NULL || used == NULL)
		return E2E_EINVAL;
	e2e_seen_init(s);
	e2e_rd_init(&rd, in, len);
	if ((rc = state_hdr_read(&rd, E2E_STATE_SEEN, NULL)) != E2E_OK)
		return rc;
	count = e2e_rd_u32(&rd);
	next = e2e_rd_u32(&rd);
	if (rd.bad || !seen_ring_ok(count, next))
		return E2E_EMALFORMED;
	e2e_rd_bytes(&rd, s->ids, (size_t)count * E2E_MSGID_LEN);
	if (rd.bad) {
		e2e_seen_init(s);
		return E2E_EMALFORMED;
	}
	s->count = count;
	s->next = next;
	*used = rd.off;
	return E2E_OK;
}

size_t
e2e_replay_state_size(const struct e2e_replay *r)
{
	if (r == NULL || r->n > E2E_REPLAY_MAX)
		return 0;
	return REPLAY_FIXED + r->n * REPLAY_REC;
}

int
e2e_replay_state_write(struct e2e_replay *r, uint8_t *out, size_t outsz,
    size_t *len)
{
	const struct e2e_replay_id	*ids;
	struct e2e_wr			 w;
	size_t				 need, i;
	int				 rc;

	need = e2e_replay_state_size(r);
	if ((rc = state_hdr_write(&w, E2E_STATE_REPLAY, need, out, outsz,
	    len)) != E2E_OK)
		return rc;
	ids = e2e_replay_ids(r);
	e2e_wr_u64(&w, r->floor_ms);
	e2e_wr_u32(&w, (uint32_t)r->n);
	for (i = 0; i < r->n; i++) {
		e2e_wr_bytes(&w, ids[i].id, E2E_MSGID_LEN);
		e2e_wr_u32(&w, ids[i].spk_id);
		e2e_wr_u64(&w, ids[i].ts_ms);
	}
	return state_end(&w, need, len);
}

int
e2e_replay_state_read(struct e2e_replay *r, const uint8_t *in, size_t len,
    size_t *used)
{
	struct e2e_replay_id	*ids = NULL;
	struct e2e_rd		 rd;
	uint64_t		 floor_ms;
	uint32_t		 count, i;
	int			 rc;

	if (r == NULL || in == NULL || used == NULL)
		return E2E_EINVAL;
	e2e_replay_free(r);
	e2e_rd_init(&rd, in, len);
	if ((rc = state_hdr_read(&rd, E2E_STATE_REPLAY, NULL)) != E2E_OK)
		return rc;
	floor_ms = e2e_rd_u64(&rd);
	count = e2e_rd_u32(&rd);
	/* A short record must not cost a large array first. */
	if (rd.bad || count > E2E_REPLAY_MAX ||
	    (rd.len - rd.off) / REPLAY_REC < count)
		return E2E_EMALFORMED;
	if (count > 0 && (ids = calloc(count, sizeof(*ids))) == NULL)
		return E2E_ENOMEM;
	for (i = 0; i < count; i++) {
		e2e_rd_bytes(&rd, ids[i].id, E2E_MSGID_LEN);
		ids[i].spk_id = e2e_rd_u32(&rd);
		ids[i].ts_ms = e2e_rd_u64(&rd);
	}
	rc = rd.bad ? E2E_EMALFORMED : e2e_replay_load(r, ids, count,
	    floor_ms);
	free(ids);
	if (rc != E2E_OK) {
		e2e_replay_free(r);
		return rc;
	}
	*used = rd.off;
	return E2E_OK;
}

/* Names strictly increasing (bytewise), as the writers keep them. */
static int
name_after(const char *prev, const char *name)
{
	return prev == NULL || strcmp(prev, name) < 0;
}

size_t
e2e_dm_state_size(const struct e2e_dm_peer *v, size_t n)
{
	size_t	 i, sz = REC_HDR + 4;

	if ((v == NULL && n > 0) || n > E2E_STATE_DM_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (!e2e_name_ok(v[i].name))
			return 0;
		sz += 1 + strlen(v[i].name) + DM_FIXED;
	}
	return sz;
}

int
e2e_dm_state_write(const struct e2e_dm_peer *v, size_t n, uint8_t *out,
    size_t outsz, size_t *len)
{
	struct e2e_wr	 w;
	size_t		 need, i, j;
	int		 rc;

	need = e2e_dm_state_size(v, n);
	if ((rc = state_hdr_write(&w, E2E_STATE_DM, need, out, outsz, len)) !=
	    E2E_OK)
		return rc;
	e2e_wr_u32(&w, (uint32_t)n);
	for (i = 0; i < n; i++) {
		if (!name_after(i > 0 ? v[i - 1].name : NULL, v[i].name))
			return E2E_EINVAL;
		e2e_wr_name(&w, v[i].name);
		e2e_wr_u32(&w, v[i].out_stream);
		e2e_wr_u64(&w, v[i].out_next);
		for (j = 0; j < E2E_DM_STREAMS; j++) {
			e2e_wr_u32(&w, v[i].in[j].stream);
			e2e_wr_u64(&w, v[i].in[j].high);
		}
	}
	return state_end(&w, need, len);
}

/* count, checked against what is left for at least min bytes each. */
static int
count_read(struct e2e_rd *rd, uint32_t max, size_t min, uint32_t *count)
{
	*count = e2e_rd_u32(rd);
	if (rd->bad || *count > max || (rd->len - rd->off) / min < *count)
		return E2E_EMALFORMED;
	return E2E_OK;
}

/* The start every list record shares: header, then a bounded count. */
static int
list_begin(struct e2e_rd *rd, const uint8_t *in, size_t len, uint8_t type,
    uint32_t max, size_t min, uint32_t *n)
{
	int	 rc;

	e2e_rd_init(rd, in, len);
	if ((rc = state_hdr_read(rd, type, NULL)) != E2E_OK)
		return rc;
	return count_read(rd, max, min, n);
}

int
e2e_dm_state_read(struct e2e_dm_peer **vp, size_t *np, const uint8_t *in,
    size_t len, size_t *used)
{
	struct e2e_dm_peer	*v = NULL, *p;
	struct e2e_rd		 rd;
	uint32_t		 n, i, j;
	int			 rc;

	if (vp == NULL || np == NULL || in == NULL || used == NULL)
		return E2E_EINVAL;
	*vp = NULL;
	*np = 0;
	if ((rc = list_begin(&rd, in, len, E2E_STATE_DM, E2E_STATE_DM_MAX,
	    2 + DM_FIXED, &n)) != E2E_OK)
		return rc;
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL)
		return E2E_ENOMEM;
	for (i = 0; i < n; i++) {
		p = &v[i];
		e2e_rd_name(&rd, p->name);
		p->out_stream = e2e_rd_u32(&rd);
		p->out_next = e2e_rd_u64(&rd);
		for (j = 0; j < E2E_DM_STREAMS; j++) {
			p->in[j].stream = e2e_rd_u32(&rd);
			p->in[j].high = e2e_rd_u64(&rd);
			p->in[j].used = j;
			/* An unused slot holds nothing. */
			if (p->in[j].stream == 0 && p->in[j].high != 0)
				rd.bad = 1;
		}
		p->clock = E2E_DM_STREAMS;
		/* No stream yet, nothing sent: one without the other is not. */
		if (rd.bad || (p->out_stream == 0) != (p->out_next == 0) ||
		    !name_after(i > 0 ? v[i - 1].name : NULL, p->name)) {
			free(v);
			return E2E_EMALFORMED;
		}
	}
	*vp = v;
	*np = n;
	*used = rd.off;
	return E2E_OK;
}

size_t
e2e_ends_state_size(const struct e2e_chain_end *v, size_t n)
{
	size_t	 i, sz = REC_HDR + 4;

	if ((v == NULL && n > 0) || n > E2E_STATE_ENDS_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (!e2e_name_ok(v[i].room))
			return 0;
		sz += 1 + strlen(v[i].room) + 8;
	}
	return sz;
}

int
e2e_ends_state_write(const struct e2e_chain_end *v, size_t n, uint8_t *out,
    size_t outsz, size_t *len)
{
	struct e2e_wr	 w;
	size_t		 need, i;
	int		 rc;

	need = e2e_ends_state_size(v, n);
	if ((rc = state_hdr_write(&w, E2E_STATE_ENDS, need, out, outsz,
	    len)) != E2E_OK)
		return rc;
	e2e_wr_u32(&w, (uint32_t)n);
	for (i = 0; i < n; i++) {
		if (!name_after(i > 0 ? v[i - 1].room : NULL, v[i].room) ||
		    v[i].chain_id == 0)
			return E2E_EINVAL;
		e2e_wr_name(&w, v[i].room);
		e2e_wr_u32(&w, v[i].chain_id);
		e2e_wr_u32(&w, v[i].count);
	}
	return state_end(&w, need, len);
}

int
e2e_ends_state_read(struct e2e_chain_end **vp, size_t *np, const uint8_t *in,
    size_t len, size_t *used)
{
	struct e2e_chain_end	*v = NULL;
	struct e2e_rd		 rd;
	uint32_t		 n, i;
	int			 rc;

	if (vp == NULL || np == NULL || in == NULL || used == NULL)
		return E2E_EINVAL;
	*vp = NULL;
	*np = 0;
	if ((rc = list_begin(&rd, in, len, E2E_STATE_ENDS, E2E_STATE_ENDS_MAX,
	    2 + 8, &n)) != E2E_OK)
		return rc;
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL)
		return E2E_ENOMEM;
	for (i = 0; i < n; i++) {
		e2e_rd_name(&rd, v[i].room);
		v[i].chain_id = e2e_rd_u32(&rd);
		v[i].count = e2e_rd_u32(&rd);
		if (rd.bad || v[i].chain_id == 0 ||
		    !name_after(i > 0 ? v[i - 1].room : NULL, v[i].room)) {
			free(v);
			return E2E_EMALFORMED;
		}
	}
	*vp = v;
	*np = n;
	*used = rd.off;
	return E2E_OK;
}

/* room, mark, policy, count, head, nhist; then hist, nm, members. */
#define ROSTER_FIXED	(1 + 1 + 4 + E2E_HASH_LEN + 1)
#define MEMBER_FIXED	(32 + 1)

static size_t
roster_size(const struct e2e_roster *r)
{
	size_t	 i, sz;

	if (!e2e_name_ok(r->room) || r->nhist > E2E_ROSTER_HISTORY ||
	    r->nm > E2E_ROSTER_MEMBERS_MAX)
		return 0;
	sz = 1 + strlen(r->room) + ROSTER_FIXED + r->nhist * E2E_HASH_LEN + 4;
	for (i = 0; i < r->nm; i++) {
		if (!e2e_name_ok(r->m[i].name))
			return 0;
		sz += 1 + strlen(r->m[i].name) + MEMBER_FIXED;
	}
	return sz;
}

size_t
e2e_rosters_state_size(const struct e2e_roster *v, size_t n)
{
	size_t	 i, sz = REC_HDR + 4, one;

	if ((v == NULL && n > 0) || n > E2E_STATE_ROSTERS_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if ((one = roster_size(&v[i])) == 0)
			return 0;
		sz += one;
	}
	return sz;
}

int
e2e_rosters_state_write(const struct e2e_roster *v, size_t n, uint8_t *out,
    size_t outsz, size_t *len)
{
	const struct e2e_roster	*r;
	struct e2e_wr		 w;
	size_t			 need, i, j;
	int			 rc;

	need = e2e_rosters_state_size(v, n);
	if ((rc = state_hdr_write(&w, E2E_STATE_ROSTERS, need, out, outsz,
	    len)) != E2E_OK)
		return rc;
	e2e_wr_u32(&w, (uint32_t)n);
	for (i = 0; i < n; i++) {
		r = &v[i];
		if (!name_after(i > 0 ? v[i - 1].room : NULL, r->room))
			return E2E_EINVAL;
		e2e_wr_name(&w, r->room);
		e2e_wr_u8(&w, r->mark);
		e2e_wr_u8(&w, r->policy);
		e2e_wr_u32(&w, r->count);
		e2e_wr_bytes(&w, r->head, sizeof(r->head));
		e2e_wr_u8(&w, (uint8_t)r->nhist);
		for (j = 0; j < r->nhist; j++)
			e2e_wr_bytes(&w, r->hist[j], E2E_HASH_LEN);
		e2e_wr_u32(&w, (uint32_t)r->nm);
		for (j = 0; j < r->nm; j++) {
			e2e_wr_name(&w, r->m[j].name);
			e2e_wr_bytes(&w, r->m[j].key, 32);
			e2e_wr_u8(&w, r->m[j].role);
		}
	}
	return state_end(&w, need, len);
}

/* One roster, checked as e2e_roster_apply would have left it. */
static int
roster_read(struct e2e_rd *rd, struct e2e_roster *r)
{
	static const uint8_t	 zero[E2E_HASH_LEN];
	char			 room[E2E_NAME_MAX + 1];
	uint32_t		 nm, j;

	e2e_rd_name(rd, room);
	if (rd->bad || e2e_roster_init(r, room) != E2E_OK)
		return E2E_EMALFORMED;
	r->mark = e2e_rd_u8(rd);
	r->policy = e2e_rd_u8(rd);
	r->count = e2e_rd_u32(rd);
	e2e_rd_bytes(rd, r->head, sizeof(r->head));
	r->nhist = e2e_rd_u8(rd);
	if (rd->bad || r->policy > E2E_ROSTER_INVITE_ONLY ||
	    r->nhist > E2E_ROSTER_HISTORY || r->nhist > r->count ||
	    (r->count > 0 && r->nhist == 0) ||
	    (r->count == 0 && memcmp(r->head, zero, sizeof(zero)) != 0))
		return E2E_EMALFORMED;
	for (j = 0; j < r->nhist; j++)
		e2e_rd_bytes(rd, r->hist[j], E2E_HASH_LEN);
	/* The newest hash is the head. */
	if (r->nhist > 0 &&
	    memcmp(r->hist[r->nhist - 1], r->head, E2E_HASH_LEN) != 0)
		return E2E_EMALFORMED;
	if (count_read(rd, E2E_ROSTER_MEMBERS_MAX, 2 + MEMBER_FIXED, &nm) !=
	    E2E_OK || (r->count == 0 && nm > 0))
		return E2E_EMALFORMED;
	if (nm > 0 && (r->m = calloc(nm, sizeof(*r->m))) == NULL)
		return E2E_ENOMEM;
	for (j = 0; j < nm; j++) {
		e2e_rd_name(rd, r->m[j].name);
		e2e_rd_bytes(rd, r->m[j].key, 32);
		r->m[j].role = e2e_rd_u8(rd);
		r->nm = j + 1;
		/* Sorted and unique: members are found by bisection. */
		if (rd->bad || r->m[j].role > E2E_ROSTER_ADMIN ||
		    !name_after(j > 0 ? r->m[j - 1].name : NULL,
		    r->m[j].name))
			return E2E_EMALFORMED;
	}
	return E2E_OK;
}

int
e2e_rosters_state_read(struct e2e_roster **vp, size_t *np, const uint8_t *in,
    size_t len, size_t *used)
{
	struct e2e_roster	*v = NULL;
	struct e2e_rd		 rd;
	uint32_t		 n, i;
	int			 rc;

	if (vp == NULL || np == NULL || in == NULL || used == NULL)
		return E2E_EINVAL;
	*vp = NULL;
	*np = 0;
	if ((rc = list_begin(&rd, in, len, E2E_STATE_ROSTERS,
	    E2E_STATE_ROSTERS_MAX, 2 + ROSTER_FIXED + 4, &n)) != E2E_OK)
		return rc;
	if (n > 0 && (v = calloc(n, sizeof(*v))) == NULL)
		return E2E_ENOMEM;
	for (i = 0; i < n; i++) {
		if ((rc = roster_read(&rd, &v[i])) == E2E_OK &&
		    !name_after(i > 0 ? v[i - 1].room : NULL, v[i].room))
			rc = E2E_EMALFORMED;
		if (rc != E2E_OK) {
			for (n = 0; n <= i; n++)
				e2e_roster_free(&v[n]);
			free(v);
			return rc;
		}
	}
	*vp = v;
	*np = n;
	*used = rd.off;
	return E2E_OK;
}
