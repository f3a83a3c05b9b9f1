/*
 * e2e-order.c: direct-message counters.  Each sender numbers what it
 * seals to one recipient (1, 2, ...) in a stream of its own choosing, so
 * that the recipient can say what a server dropped or reordered.  A
 * stream per device, or per lost state: a new stream is not a rollback.
 * Pure: no I/O (docs/E2E.md 2.5).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "e2e.h"
#include "e2e-local.h"

int
e2e_dm_peer_init(struct e2e_dm_peer *p, const char *name)
{
	if (p == NULL || !e2e_name_ok(name))
		return E2E_EINVAL;
	memset(p, 0, sizeof(*p));
	memcpy(p->name, name, strlen(name) + 1);
	return E2E_OK;
}

int
e2e_dm_next(struct e2e_dm_peer *p, uint32_t *stream, uint64_t *counter)
{
	if (p == NULL || stream == NULL || counter == NULL)
		return E2E_EINVAL;
	while (p->out_stream == 0) {
		if (crypto_random(&p->out_stream, sizeof(p->out_stream)) == -1)
			return E2E_ECRYPTO;
		p->out_next = 1;
	}
	if (p->out_next == 0 || p->out_next == UINT64_MAX)
		return E2E_EEXHAUSTED;
	*stream = p->out_stream;
	*counter = p->out_next++;
	return E2E_OK;
}

int
e2e_dm_check(struct e2e_dm_peer *p, uint32_t stream, uint64_t counter,
    struct e2e_order *order)
{
	struct e2e_dm_stream	*s = NULL, *lru = NULL;
	size_t			 i;

	if (order != NULL)
		memset(order, 0, sizeof(*order));
	if (p == NULL)
		return E2E_EINVAL;
	if (stream == 0 || counter == 0)
		return E2E_OK;		/* no order claimed */
	p->clock++;
	for (i = 0; i < E2E_DM_STREAMS; i++) {
		if (p->in[i].stream == stream) {
			s = &p->in[i];
			break;
		}
		if (lru == NULL || p->in[i].used < lru->used)
			lru = &p->in[i];
	}
	if (s == NULL) {
		/* A stream we do not hold: what came before it is missing. */
		s = lru;
		s->stream = stream;
		s->high = 0;
	}
	s->used = p->clock;
	if (counter > s->high) {
		if (order != NULL)
			order->missing = counter - s->high - 1;
		s->high = counter;
	} else if (order != NULL)
		order->late = 1;
	return E2E_OK;
}
