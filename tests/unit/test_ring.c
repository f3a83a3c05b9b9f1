/*
 * test_ring.c: a room's recent events in the broker's memory
 * (daemon/broker-ring.c).  Consecutive seqs only, the bounds by count,
 * bytes per room and bytes in all, an event too large to keep, retention,
 * and that freeing gives every byte back.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker.h"
#include "xmalloc.h"

struct broker	 br;	/* the ring counts its bytes in br.ring_bytes */

/* A frame of len bytes whose first bytes say seq. */
static uint8_t *
frame(uint64_t seq, size_t len)
{
	uint8_t	*f = xcalloc(1, len);

	memcpy(f, &seq, len < sizeof(seq) ? len : sizeof(seq));
	return f;
}

static uint64_t
frame_seq(const struct ring_event *ev)
{
	uint64_t	 seq;

	memcpy(&seq, ev->frame, sizeof(seq));
	return seq;
}

static void
test_consecutive(void **state)
{
	struct ring			 rg;
	const struct ring_event		*ev;
	uint64_t			 s;

	memset(&rg, 0, sizeof(rg));
	assert_null(ring_get(&rg, 1));
	assert_int_equal(ring_first(&rg), 0);
	for (s = 5; s <= 100; s++)
		assert_int_equal(ring_add(&rg, s, s, frame(s, 64), 64), 1);
	assert_int_equal(ring_first(&rg), 5);
	assert_null(ring_get(&rg, 4));
	assert_null(ring_get(&rg, 101));
	for (s = 5; s <= 100; s++) {
		assert_non_null(ev = ring_get(&rg, s));
		assert_int_equal(ev->seq, s);
		assert_int_equal(frame_seq(ev), s);
	}
	/* A seq that does not follow starts the ring again. */
	assert_int_equal(ring_add(&rg, 200, 0, frame(200, 64), 64), 1);
	assert_int_equal(ring_first(&rg), 200);
	assert_null(ring_get(&rg, 100));
	assert_int_equal(rg.n, 1);
	ring_free(&rg);
	assert_int_equal(br.ring_bytes, 0);
}

static void
test_count_bound(void **state)
{
	struct ring	 rg;
	uint64_t	 s, last = RING_MAX_EVENTS + 500;

	memset(&rg, 0, sizeof(rg));
	for (s = 1; s <= last; s++)
		assert_int_equal(ring_add(&rg, s, 0, frame(s, 16), 16), 1);
	assert_int_equal(rg.n, RING_MAX_EVENTS);
	assert_int_equal(ring_first(&rg), last - RING_MAX_EVENTS + 1);
	for (s = ring_first(&rg); s <= last; s++)
		assert_int_equal(frame_seq(ring_get(&rg, s)), s);
	ring_free(&rg);
	assert_int_equal(br.ring_bytes, 0);
}

static void
test_byte_bound(void **state)
{
	struct ring	 rg;
	uint64_t	 s;
	uint8_t		*big;
	size_t		 len = 10000;

	memset(&rg, 0, sizeof(rg));
	for (s = 1; s <= 100; s++)
		assert_int_equal(ring_add(&rg, s, 0, frame(s, len), len), 1);
	assert_true(rg.bytes <= RING_MAX_BYTES);
	assert_int_equal(rg.n, RING_MAX_BYTES /
	    (len + sizeof(struct ring_event)));
	assert_int_equal(br.ring_bytes, rg.bytes);
	assert_int_equal(frame_seq(ring_get(&rg, 100)), 100);
	assert_null(ring_get(&rg, ring_first(&rg) - 1));

	/* Too large to keep: not kept, the caller keeps its frame. */
	big = frame(101, RING_MAX_BYTES);
	assert_int_equal(ring_add(&rg, 101, 0, big, RING_MAX_BYTES), 0);
	free(big);
	assert_null(ring_get(&rg, 101));
	/* The next one starts the ring at itself. */
	assert_int_equal(ring_add(&rg, 102, 0, frame(102, 64), 64), 1);
	assert_int_equal(ring_first(&rg), 102);
	assert_int_equal(rg.n, 1);
	ring_free(&rg);
	assert_int_equal(br.ring_bytes, 0);
}

static void
test_total_bound(void **state)
{
	struct ring	 a, b;
	uint64_t	 s;
	uint8_t		*f;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (s = 1; s <= 10; s++)
		assert_int_equal(ring_add(&a, s, 0, frame(s, 100), 100), 1);
	/* The other rooms hold the rest of the total. */
	br.ring_bytes = RING_TOTAL_BYTES;
	/* a makes room from its own oldest. */
	assert_int_equal(ring_add(&a, 11, 0, frame(11, 100), 100), 1);
	assert_int_equal(ring_first(&a), 2);
	/* b has none to give: its event is not kept. */
	f = frame(1, 100);
	assert_int_equal(ring_add(&b, 1, 0, f, 100), 0);
	free(f);
	assert_int_equal(b.n, 0);
	br.ring_bytes -= RING_TOTAL_BYTES - a.bytes;
	ring_free(&a);
	ring_free(&b);
	assert_int_equal(br.ring_bytes, 0);
}

static void
test_prune(void **state)
{
	struct ring	 rg;
	uint64_t	 s;

	memset(&rg, 0, sizeof(rg));
	for (s = 1; s <= 50; s++)
		assert_int_equal(ring_add(&rg, s, 1000 + s, frame(s, 32), 32),
		    1);
	ring_prune(&rg, 1021);		/* ts 1001 .. 1020 go */
	assert_int_equal(ring_first(&rg), 21);
	assert_int_equal(rg.n, 30);
	assert_null(ring_get(&rg, 20));
	assert_int_equal(frame_seq(ring_get(&rg, 21)), 21);
	/* It goes on after the prune, in order. */
	assert_int_equal(ring_add(&rg, 51, 2000, frame(51, 32), 32), 1);
	assert_int_equal(frame_seq(ring_get(&rg, 51)), 51);
	ring_prune(&rg, 5000);
	assert_int_equal(rg.n, 0);
	assert_null(ring_get(&rg, 51));
	ring_free(&rg);
	assert_int_equal(br.ring_bytes, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consecutive),
		cmocka_unit_test(test_count_bound),
		cmocka_unit_test(test_byte_bound),
		cmocka_unit_test(test_total_bound),
		cmocka_unit_test(test_prune),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
