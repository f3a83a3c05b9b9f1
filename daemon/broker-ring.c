/*
 * broker-ring.c: each room's most recent events, as the frames that were
 * pushed, so that catching a lagging session up does not read the database
 * again for every member.  Only a cache: every event in it was committed
 * before it got here, and what it no longer holds is read from the store.
 * Bounded per room (RING_MAX_EVENTS, RING_MAX_BYTES) and in all
 * (RING_TOTAL_BYTES).
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "xmalloc.h"

#define RING_FIRST_SLOTS	16

/* What one event costs the total: its frame and its slot. */
static size_t
ring_cost(size_t len)
{
	return len + sizeof(struct ring_event);
}

static struct ring_event *
ring_slot(const struct ring *rg, size_t i)
{
	return &rg->ev[(rg->head + i) % rg->cap];
}

static void
ring_drop_oldest(struct ring *rg)
{
	struct ring_event	*ev = ring_slot(rg, 0);

	rg->bytes -= ring_cost(ev->len);
	br.ring_bytes -= ring_cost(ev->len);
	free(ev->frame);
	memset(ev, 0, sizeof(*ev));
	rg->head = (rg->head + 1) % rg->cap;
	rg->first++;
	rg->n--;
}

void
ring_clear(struct ring *rg)
{
	while (rg->n > 0)
		ring_drop_oldest(rg);
	rg->head = 0;
}

void
ring_free(struct ring *rg)
{
	ring_clear(rg);
	free(rg->ev);
	memset(rg, 0, sizeof(*rg));
}

/* Twice the slots, up to RING_MAX_EVENTS, the events in order from 0. */
static void
ring_grow(struct ring *rg)
{
	struct ring_event	*ev;
	size_t			 cap, i;

	cap = rg->cap == 0 ? RING_FIRST_SLOTS : rg->cap * 2;
	if (cap > RING_MAX_EVENTS)
		cap = RING_MAX_EVENTS;
	ev = xcalloc(cap, sizeof(*ev));
	for (i = 0; i < rg->n; i++)
		ev[i] = *ring_slot(rg, i);
	free(rg->ev);
	rg->ev = ev;
	rg->cap = cap;
	rg->head = 0;
}

/*
 * The event seq, committed, as the frame pushed to the members.  The ring
 * holds consecutive seqs; one that does not follow starts it again.  The
 * oldest events make room.  1 if the ring took frame (it frees it); 0 if
 * the event cannot fit, and is read from the store when wanted.
 */
int
ring_add(struct ring *rg, uint64_t seq, uint64_t ts_ms, uint8_t *frame,
    size_t len)
{
	struct ring_event	*ev;
	size_t			 cost = ring_cost(len);

	if (rg->n > 0 && seq != rg->first + rg->n)
		ring_clear(rg);
	while (rg->n > 0 && (rg->n == RING_MAX_EVENTS ||
	    rg->bytes + cost > RING_MAX_BYTES ||
	    br.ring_bytes + cost > RING_TOTAL_BYTES))
		ring_drop_oldest(rg);
	if (cost > RING_MAX_BYTES || br.ring_bytes + cost > RING_TOTAL_BYTES)
		return 0;
	if (rg->n == rg->cap)
		ring_grow(rg);
	if (rg->n == 0) {
		rg->head = 0;
		rg->first = seq;
	}
	ev = ring_slot(rg, rg->n);
	ev->seq = seq;
	ev->ts_ms = ts_ms;
	ev->frame = frame;
	ev->len = len;
	rg->n++;
	rg->bytes += cost;
	br.ring_bytes += cost;
	return 1;
}

/* The event seq if the ring has it, else NULL: read it from the store. */
const struct ring_event *
ring_get(const struct ring *rg, uint64_t seq)
{
	if (rg->n == 0 || seq < rg->first || seq - rg->first >= rg->n)
		return NULL;
	return ring_slot(rg, (size_t)(seq - rg->first));
}

/* The oldest seq the ring has, 0 if none. */
uint64_t
ring_first(const struct ring *rg)
{
	return rg->n == 0 ? 0 : rg->first;
}

/* Retention: what is older than before_ms has left the store, and goes. */
void
ring_prune(struct ring *rg, uint64_t before_ms)
{
	while (rg->n > 0 && ring_slot(rg, 0)->ts_ms < before_ms)
		ring_drop_oldest(rg);
}
