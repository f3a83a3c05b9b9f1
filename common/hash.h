/*
 * hash.h: a small chained hash table whose nodes live inside the objects
 * it indexes, as <sys/queue.h> lists do.  Keys are hashed with SipHash-2-4
 * under a random key per table, so names a client chooses cannot be made
 * to collide.  The table grows and shrinks with what it holds.
 */
#ifndef SC_HASH_H
#define SC_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode	*next;
	uint64_t	 hash;
};

struct htab {
	struct hnode	**slots;
	size_t		 nslots;	/* 0 or a power of two */
	size_t		 count;
	uint64_t	 k0, k1;	/* the SipHash key */
};

/* The object holding node n, whose struct hnode is member. */
#define HTAB_ENTRY(n, type, member) \
	((type *)(void *)((char *)(n) - offsetof(type, member)))

/* Every node, in no particular order; none may be removed meanwhile. */
#define HTAB_FOREACH(n, t, i) \
	for ((i) = 0; (i) < (t)->nslots; (i)++) \
		for ((n) = (t)->slots[(i)]; (n) != NULL; (n) = (n)->next)

/*
 * The same, for freeing every object before htab_free(): the body may
 * free n's object, but must not call htab_remove (it resizes the table).
 */
#define HTAB_FOREACH_SAFE(n, t, i, tmp) \
	for ((i) = 0; (i) < (t)->nslots; (i)++) \
		for ((n) = (t)->slots[(i)]; \
		    (n) != NULL && ((tmp) = (n)->next, 1); (n) = (tmp))

void		 htab_init(struct htab *t);
/* Frees the slots; the nodes belong to the caller. */
void		 htab_free(struct htab *t);
uint64_t	 htab_hash(const struct htab *t, const void *key, size_t len);
uint64_t	 htab_hash_str(const struct htab *t, const char *key);
uint64_t	 htab_hash_u64(const struct htab *t, uint64_t key);
void		 htab_insert(struct htab *t, struct hnode *n, uint64_t hash);
void		 htab_remove(struct htab *t, struct hnode *n);
/*
 * The nodes whose hash is hash, which the caller compares keys of:
 *	for (n = htab_first(t, h); n != NULL; n = htab_next(n))
 */
struct hnode	*htab_first(const struct htab *t, uint64_t hash);
struct hnode	*htab_next(const struct hnode *n);
/* SipHash-2-4 of len bytes under the 128-bit key (k0, k1). */
uint64_t	 siphash24(uint64_t k0, uint64_t k1, const void *in, size_t len);

#endif
