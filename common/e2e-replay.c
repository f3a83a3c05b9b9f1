/*
 * e2e-replay.c: the envelope ids a client has opened, remembered for as
 * long as the prekey each was sealed to can open it again: an envelope
 * sealed to an erased prekey cannot be opened, so its id can go with the
 * prekey.  Time-bounded, not count-bounded; a count bound remains only as
 * a fallback against a flood, and then everything older than what it
 * forgot is refused.  Pure: no I/O, no clock (docs/E2E.md 2.4).
 *
 * Ids are kept sorted for bisection, with the newest in a small unsorted
 * tail merged in when it fills: lookups stay logarithmic, inserts cheap,
 * and no choice of ids by a sender can make either slow.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

#define TAIL_MAX	256	/* unsorted ids before a merge */

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(((const struct e2e_replay_id *)a)->id,
	    ((const struct e2e_replay_id *)b)->id, E2E_MSGID_LEN);
}

static int
ts_cmp(const void *a, const void *b)
{
	const struct e2e_replay_id	*x = a, *y = b;

	return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

void
e2e_replay_init(struct e2e_replay *r)
{
	memset(r, 0, sizeof(*r));
}

void
e2e_replay_free(struct e2e_replay *r)
{
	if (r == NULL)
		return;
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Make the whole array sorted by id again. */
static void
merge_tail(struct e2e_replay *r)
{
	if (r->n == r->sorted)
		return;
	qsort(r->v, r->n, sizeof(*r->v), id_cmp);
	r->sorted = r->n;
}

static int
held(const struct e2e_replay *r, const uint8_t id[E2E_MSGID_LEN])
{
	size_t	 lo = 0, hi = r->sorted, mid, i;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = memcmp(id, r->v[mid].id, E2E_MSGID_LEN)) == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (i = r->sorted; i < r->n; i++)
		if (memcmp(id, r->v[i].id, E2E_MSGID_LEN) == 0)
			return 1;
	return 0;
}

/*
 * Full: forget the eighth with the oldest timestamps, and refuse from
 * now on anything not newer than the newest of them.
 */
static void
evict_oldest(struct e2e_replay *r)
{
	size_t	 drop = E2E_REPLAY_MAX / 8;

	qsort(r->v, r->n, sizeof(*r->v), ts_cmp);
	if (r->v[drop - 1].ts_ms > r->floor_ms)
		r->floor_ms = r->v[drop - 1].ts_ms;
	memmove(r->v, r->v + drop, (r->n - drop) * sizeof(*r->v));
	r->n -= drop;
	r->sorted = 0;
	merge_tail(r);
}

int
e2e_replay_check_add(struct e2e_replay *r, const uint8_t id[E2E_MSGID_LEN],
    uint32_t spk_id, uint64_t ts_ms)
{
	struct e2e_replay_id	*v;
	size_t			 cap;

	if (r == NULL || id == NULL)
		return E2E_EINVAL;
	if (held(r, id))
		return E2E_EREPLAY;
	/* Older than what a flood made us forget: it may be a replay. */
	if (r->floor_ms > 0 && ts_ms <= r->floor_ms)
		return E2E_ETOO_OLD;
	if (r->n >= E2E_REPLAY_MAX)
		evict_oldest(r);
	if (r->n == r->cap) {
		cap = r->cap == 0 ? 64 : r->cap * 2;
		if (cap > E2E_REPLAY_MAX)
			cap = E2E_REPLAY_MAX;
		if ((v = reallocarray(r->v, cap, sizeof(*v))) == NULL)
			return E2E_ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	memcpy(r->v[r->n].id, id, E2E_MSGID_LEN);
	r->v[r->n].spk_id = spk_id;
	r->v[r->n].ts_ms = ts_ms;
	r->n++;
	if (r->n - r->sorted >= TAIL_MAX)
		merge_tail(r);
	return E2E_OK;
}

size_t
e2e_replay_retain(struct e2e_replay *r, const uint32_t *spk_ids, size_t nids)
{
	size_t	 i, j, k, before;

	if (r == NULL)
		return 0;
	merge_tail(r);
	before = r->n;
	for (i = 0, k = 0; i < r->n; i++) {
		for (j = 0; j < nids; j++)
			if (r->v[i].spk_id == spk_ids[j])
				break;
		if (j < nids)
			r->v[k++] = r->v[i];
	}
	r->n = r->sorted = k;
	return before - k;
}

void
e2e_replay_clamp(struct e2e_replay *r, uint64_t max_ms)
{
	size_t	 i;

	if (r == NULL)
		return;
	if (r->floor_ms > max_ms)
		r->floor_ms = max_ms;
	for (i = 0; i < r->n; i++)
		if (r->v[i].ts_ms > max_ms)
			r->v[i].ts_ms = max_ms;
}

size_t
e2e_replay_count(const struct e2e_replay *r)
{
	return r == NULL ? 0 : r->n;
}

/* The ids in order, for the state writer: sorts the tail in place. */
const struct e2e_replay_id *
e2e_replay_ids(struct e2e_replay *r)
{
	merge_tail(r);
	return r->v;
}

int
e2e_replay_load(struct e2e_replay *r, const struct e2e_replay_id *ids,
    size_t n, uint64_t floor_ms)
{
	size_t	 i;

	if (r == NULL || (ids == NULL && n > 0) || n > E2E_REPLAY_MAX)
		return E2E_EINVAL;
	e2e_replay_free(r);
	/* Sorted and unique, or bisection would miss ids. */
	for (i = 1; i < n; i++)
		if (id_cmp(&ids[i - 1], &ids[i]) >= 0)
			return E2E_EMALFORMED;
	if (n > 0) {
		if ((r->v = calloc(n, sizeof(*r->v))) == NULL)
			return E2E_ENOMEM;
		memcpy(r->v, ids, n * sizeof(*ids));
	}
	r->n = r->sorted = r->cap = n;
	r->floor_ms = floor_ms;
	return E2E_OK;
}
