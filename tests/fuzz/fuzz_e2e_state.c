/*
 * fuzz_e2e_state.c: libFuzzer harness for the records of the client's E2E
 * state file (e2e-state.h): receivers, the version 1 seen ring, the replay
 * set, direct-message counters, chain ends and rosters.  Whatever decodes
 * must encode, and what that encoding decodes to must encode the same.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "e2e-roster.h"
#include "e2e-state.h"
#include "fuzz.h"
#include "xmalloc.h"

enum mode {
	MODE_RECEIVER,
	MODE_SEEN,
	MODE_REPLAY,
	MODE_DM,
	MODE_ENDS,
	MODE_ROSTERS,
	MODE_COUNT
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One record kind: read, write, free, each on an opaque state. */
struct codec {
	int	 (*read)(void **, const uint8_t *, size_t, size_t *);
	size_t	 (*size)(void *);
	int	 (*write)(void *, uint8_t *, size_t, size_t *);
	void	 (*free)(void *);
};

static int
rcv_read(void **s, const uint8_t *in, size_t len, size_t *used)
{
	*s = xcalloc(1, sizeof(struct e2e_group_receiver));
	return e2e_receiver_state_read(*s, in, len, used);
}
static size_t
rcv_size(void *s)
{
	return e2e_receiver_state_size(s);
}
static int
rcv_write(void *s, uint8_t *out, size_t sz, size_t *len)
{
	return e2e_receiver_state_write(s, out, sz, len);
}
static void
rcv_free(void *s)
{
	e2e_group_receiver_free(s);
	free(s);
}

static int
seen_read(void **s, const uint8_t *in, size_t len, size_t *used)
{
	*s = xcalloc(1, sizeof(struct e2e_seen));
	return e2e_seen_state_read(*s, in, len, used);
}
static size_t
seen_size(void *s)
{
	return e2e_seen_state_size(s);
}
static int
seen_write(void *s, uint8_t *out, size_t sz, size_t *len)
{
	return e2e_seen_state_write(s, out, sz, len);
}

static int
replay_read(void **s, const uint8_t *in, size_t len, size_t *used)
{
	*s = xcalloc(1, sizeof(struct e2e_replay));
	e2e_replay_init(*s);
	return e2e_replay_state_read(*s, in, len, used);
}
static size_t
replay_size(void *s)
{
	return e2e_replay_state_size(s);
}
static int
replay_write(void *s, uint8_t *out, size_t sz, size_t *len)
{
	return e2e_replay_state_write(s, out, sz, len);
}
static void
replay_free(void *s)
{
	e2e_replay_free(s);
	free(s);
}

/* The list kinds: an array and its length. */
struct list {
	void	*v;
	size_t	 n;
};

static int
dm_read(void **s, const uint8_t *in, size_t len, size_t *used)
{
	struct list	*l = *s = xcalloc(1, sizeof(*l));

	return e2e_dm_state_read((struct e2e_dm_peer **)&l->v, &l->n, in, len,
	    used);
}
static size_t
dm_size(void *s)
{
	struct list	*l = s;

	return e2e_dm_state_size(l->v, l->n);
}
static int
dm_write(void *s, uint8_t *out, size_t sz, size_t *len)
{
	struct list	*l = s;

	return e2e_dm_state_write(l->v, l->n, out, sz, len);
}
static void
list_free(void *s)
{
	struct list	*l = s;

	free(l->v);
	free(l);
}

static int
ends_read(void **s, const uint8_t *in, size_t len, size_t *used)
{
	struct list	*l = *s = xcalloc(1, sizeof(*l));

	return e2e_ends_state_read((struct e2e_chain_end **)&l->v, &l->n, in,
	    len, used);
}
static size_t
ends_size(void *s)
{
	struct list	*l = s;

	return e2e_ends_state_size(l->v, l->n);
}
static int
ends_write(void *s, uint8_t *out, size_t sz, size_t *len)
{
	struct list	*l = s;

	return e2e_ends_state_write(l->v, l->n, out, sz, len);
}

static int
rosters_read(void **s, const uint8_t *in, size_t len, size_t *used)
{
	struct list	*l = *s = xcalloc(1, sizeof(*l));

	return e2e_rosters_state_read((struct e2e_roster **)&l->v, &l->n, in,
	    len, used);
}
static size_t
rosters_size(void *s)
{
	struct list	*l = s;

	return e2e_rosters_state_size(l->v, l->n);
}
static int
rosters_write(void *s, uint8_t *out, size_t sz, size_t *len)
{
	struct list	*l = s;

	return e2e_rosters_state_write(l->v, l->n, out, sz, len);
}
static void
rosters_free(void *s)
{
	struct list		*l = s;
	struct e2e_roster	*r = l->v;
	size_t			 i;

	for (i = 0; i < l->n; i++)
		e2e_roster_free(&r[i]);
	list_free(l);
}

static const struct codec codecs[MODE_COUNT] = {
	{ rcv_read, rcv_size, rcv_write, rcv_free },
	{ seen_read, seen_size, seen_write, free },
	{ replay_read, replay_size, replay_write, replay_free },
	{ dm_read, dm_size, dm_write, list_free },
	{ ends_read, ends_size, ends_write, list_free },
	{ rosters_read, rosters_size, rosters_write, rosters_free },
};

/* Write s; the bytes in a new buffer of *len. */
static uint8_t *
encode(const struct codec *k, void *s, size_t *len)
{
	uint8_t	*out;
	size_t	 sz = k->size(s);

	out = xmalloc(sz == 0 ? 1 : sz);
	if (sz == 0 || k->write(s, out, sz, len) != E2E_OK || *len > sz)
		abort();
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	const struct codec	*k;
	void			*s, *again;
	uint8_t			*in, *a, *b;
	size_t			 used, alen, blen;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	if (size == 0)
		return 0;
	k = &codecs[data[0] % MODE_COUNT];
	in = fuzz_copy(data + 1, size - 1);
	if (k->read(&s, in, size - 1, &used) == E2E_OK) {
		if (used > size - 1)
			abort();
		a = encode(k, s, &alen);
		if (k->read(&again, a, alen, &used) != E2E_OK || used != alen)
			abort();
		b = encode(k, again, &blen);
		if (alen != blen || memcmp(a, b, alen) != 0)
			abort();
		OPENSSL_cleanse(a, alen);
		OPENSSL_cleanse(b, blen);
		free(a);
		free(b);
		k->free(again);
	}
	k->free(s);
	free(in);
	return 0;
}
