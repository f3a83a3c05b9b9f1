/*
 * hash.c: the chained hash table of hash.h and the SipHash-2-4 it keys
 * with.  A table costs one pointer per slot; slots double when there are
 * more nodes than slots and halve when fewer than one in eight is used.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "hash.h"
#include "log.h"
#include "xmalloc.h"

#define HTAB_MIN_SLOTS	16

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
le64(const uint8_t *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
siphash24(uint64_t k0, uint64_t k1, const void *in, size_t len)
{
	const uint8_t	*p = in;
	uint64_t	 v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t	 v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t	 v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t	 v3 = 0x7465646279746573ULL ^ k1;
	uint64_t	 m, b = (uint64_t)len << 56;
	size_t		 i;

	for (; len >= 8; len -= 8, p += 8) {
		m = le64(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (i = 0; i < len; i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void
htab_init(struct htab *t)
{
	uint8_t	 key[16];

	memset(t, 0, sizeof(*t));
	if (RAND_bytes(key, sizeof(key)) != 1)
		fatalx("RAND_bytes for a hash key");
	t->k0 = le64(key);
	t->k1 = le64(key + 8);
}

void
htab_free(struct htab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->nslots = t->count = 0;
}

uint64_t
htab_hash(const struct htab *t, const void *key, size_t len)
{
	return siphash24(t->k0, t->k1, key, len);
}

uint64_t
htab_hash_str(const struct htab *t, const char *key)
{
	return siphash24(t->k0, t->k1, key, strlen(key));
}

uint64_t
htab_hash_u64(const struct htab *t, uint64_t key)
{
	uint8_t	 b[8];
	int	 i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(key >> (8 * i));
	return siphash24(t->k0, t->k1, b, sizeof(b));
}

static void
resize(struct htab *t, size_t nslots)
{
	struct hnode	**slots, *n, *next;
	size_t		 i, s;

	slots = xcalloc(nslots, sizeof(*slots));
	for (i = 0; i < t->nslots; i++) {
		for (n = t->slots[i]; n != NULL; n = next) {
			next = n->next;
			s = n->hash & (nslots - 1);
			n->next = slots[s];
			slots[s] = n;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
}

void
htab_insert(struct htab *t, struct hnode *n, uint64_t hash)
{
	size_t	 s;

	if (t->nslots == 0)
		resize(t, HTAB_MIN_SLOTS);
	else if (t->count >= t->nslots)
		resize(t, t->nslots * 2);
	n->hash = hash;
	s = hash & (t->nslots - 1);
	n->next = t->slots[s];
	t->slots[s] = n;
	t->count++;
}

void
htab_remove(struct htab *t, struct hnode *n)
{
	struct hnode	**pp;

	if (t->nslots == 0)
		fatalx("htab_remove from an empty table");
	for (pp = &t->slots[n->hash & (t->nslots - 1)]; *pp != n;
	    pp = &(*pp)->next)
		if (*pp == NULL)
			fatalx("htab_remove of a node not in the table");
	*pp = n->next;
	n->next = NULL;
	t->count--;
	/* Memory follows what is held, after a flood as after a quiet day. */
	if (t->nslots > HTAB_MIN_SLOTS && t->count < t->nslots / 8)
		resize(t, t->nslots / 2);
}

struct hnode *
htab_first(const struct htab *t, uint64_t hash)
{
	struct hnode	*n;

	if (t->nslots == 0)
		return NULL;
	for (n = t->slots[hash & (t->nslots - 1)]; n != NULL; n = n->next)
		if (n->hash == hash)
			return n;
	return NULL;
}

struct hnode *
htab_next(const struct hnode *n)
{
	struct hnode	*m;

	for (m = n->next; m != NULL; m = m->next)
		if (m->hash == n->hash)
			return m;
	return NULL;
}
