/*
 * test_hash.c: the broker's hash table.  SipHash-2-4 against the reference
 * vectors, lookups by string and number with colliding hashes, growth and
 * shrinking, and removal from the middle of a chain.
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

#include "hash.h"

struct item {
	struct hnode	 node;
	char		 name[32];
	uint64_t	 id;
};

/* Reference key 00 01 .. 0f, as the SipHash paper gives it. */
#define K0	0x0706050403020100ULL
#define K1	0x0f0e0d0c0b0a0908ULL

static void
test_siphash_vectors(void **state)
{
	uint8_t	 in[64];
	size_t	 i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	/* From the reference implementation's vectors.h (64-bit output). */
	assert_true(siphash24(K0, K1, in, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(siphash24(K0, K1, in, 1) == 0x74f839c593dc67fdULL);
	assert_true(siphash24(K0, K1, in, 7) == 0xab0200f58b01d137ULL);
	assert_true(siphash24(K0, K1, in, 8) == 0x93f5f5799a932462ULL);
	assert_true(siphash24(K0, K1, in, 15) == 0xa129ca6149be45e5ULL);
	assert_true(siphash24(K0, K1, in, 63) == 0x958a324ceb064572ULL);
}

static void
test_keyed(void **state)
{
	struct htab	 a, b;

	htab_init(&a);
	htab_init(&b);
	/* Two tables, two keys: a collision in one is none in the other. */
	assert_true(htab_hash_str(&a, "#lobby") != htab_hash_str(&b,
	    "#lobby"));
	assert_true(htab_hash_str(&a, "#lobby") == htab_hash_str(&a,
	    "#lobby"));
	assert_true(htab_hash_u64(&a, 1) != htab_hash_u64(&a, 2));
	htab_free(&a);
	htab_free(&b);
}

static struct item *
find_name(const struct htab *t, const char *name)
{
	struct hnode	*n;
	struct item	*it;

	for (n = htab_first(t, htab_hash_str(t, name)); n != NULL;
	    n = htab_next(n)) {
		it = HTAB_ENTRY(n, struct item, node);
		if (strcmp(it->name, name) == 0)
			return it;
	}
	return NULL;
}

/* Many names in, every one found, a missing one not; then all out. */
static void
test_grow_and_shrink(void **state)
{
	struct htab	 t;
	struct item	*items;
	struct hnode	*n;
	size_t		 i, seen, peak, slot;
	const size_t	 count = 20000;

	htab_init(&t);
	assert_null(find_name(&t, "nobody"));
	items = calloc(count, sizeof(*items));
	assert_non_null(items);
	for (i = 0; i < count; i++) {
		(void)snprintf(items[i].name, sizeof(items[i].name),
		    "user-%zu", i);
		htab_insert(&t, &items[i].node, htab_hash_str(&t,
		    items[i].name));
	}
	assert_int_equal(t.count, count);
	/* At most one node per slot on average, never fewer than 1/8. */
	assert_true(t.nslots >= count / 2 && t.nslots <= count * 2);
	peak = t.nslots;
	for (i = 0; i < count; i++)
		assert_ptr_equal(find_name(&t, items[i].name), &items[i]);
	assert_null(find_name(&t, "user-20000"));
	seen = 0;
	HTAB_FOREACH(n, &t, slot)
		seen++;
	assert_int_equal(seen, count);

	/* Remove every other one, then the rest. */
	for (i = 0; i < count; i += 2)
		htab_remove(&t, &items[i].node);
	for (i = 0; i < count; i++) {
		if (i % 2 == 0)
			assert_null(find_name(&t, items[i].name));
		else
			assert_ptr_equal(find_name(&t, items[i].name),
			    &items[i]);
	}
	for (i = 1; i < count; i += 2)
		htab_remove(&t, &items[i].node);
	assert_int_equal(t.count, 0);
	assert_true(t.nslots < peak / 8);
	htab_free(&t);
	free(items);
}

/* Equal hashes (forced): the chain holds both, keys tell them apart. */
static void
test_collisions(void **state)
{
	struct htab	 t;
	struct item	 it[4];
	struct hnode	*n;
	size_t		 i, found;

	htab_init(&t);
	memset(it, 0, sizeof(it));
	for (i = 0; i < 4; i++) {
		it[i].id = i;
		htab_insert(&t, &it[i].node, 42);
	}
	found = 0;
	for (n = htab_first(&t, 42); n != NULL; n = htab_next(n))
		found |= 1u << HTAB_ENTRY(n, struct item, node)->id;
	assert_int_equal(found, 0xf);
	assert_null(htab_first(&t, 43));
	/* Out of the middle of the chain. */
	htab_remove(&t, &it[2].node);
	found = 0;
	for (n = htab_first(&t, 42); n != NULL; n = htab_next(n))
		found |= 1u << HTAB_ENTRY(n, struct item, node)->id;
	assert_int_equal(found, 0xb);
	htab_free(&t);
}

/* Numbers as keys: the broker's users and rooms by id. */
static void
test_u64_keys(void **state)
{
	struct htab	 t;
	struct item	 it[100];
	struct hnode	*n, *tmp;
	size_t		 i, slot, freed = 0;
	uint64_t	 h;

	htab_init(&t);
	for (i = 0; i < 100; i++) {
		it[i].id = i * 1000003ULL;
		htab_insert(&t, &it[i].node, htab_hash_u64(&t, it[i].id));
	}
	for (i = 0; i < 100; i++) {
		h = htab_hash_u64(&t, it[i].id);
		for (n = htab_first(&t, h); n != NULL; n = htab_next(n))
			if (HTAB_ENTRY(n, struct item, node)->id == it[i].id)
				break;
		assert_ptr_equal(n, &it[i].node);
	}
	/* What a teardown does: visit each once, then drop the slots. */
	HTAB_FOREACH_SAFE(n, &t, slot, tmp)
		freed++;
	assert_int_equal(freed, 100);
	htab_free(&t);
	assert_int_equal(t.nslots, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_keyed),
		cmocka_unit_test(test_grow_and_shrink),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_u64_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
