/*
 * fuzz_e2e_roster.c: libFuzzer harness for signed room rosters: entries
 * as the server relays them (e2e_roster_entry_parse, e2e_roster_apply),
 * and entries that alice, bob or carol sign with any fields, applied in
 * the order given.  What a roster holds must survive its state record.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2e-roster.h"
#include "e2e-state.h"
#include "fuzz.h"
#include "xmalloc.h"

#define MAX_STEPS	16

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct fuzz_keys	 keys[3];
static const char	*names[3] = { FUZZ_PEER, FUZZ_PEER2, "carol" };

/* The roster through its state record and back must write the same. */
static void
roundtrip(const struct e2e_roster *r)
{
	struct e2e_roster	*v = NULL;
	uint8_t			*a, *b;
	size_t			 sz, alen, blen, n, used, i;

	sz = e2e_rosters_state_size(r, 1);
	a = xmalloc(sz);
	b = xmalloc(sz);
	if (e2e_rosters_state_write(r, 1, a, sz, &alen) != E2E_OK ||
	    e2e_rosters_state_read(&v, &n, a, alen, &used) != E2E_OK ||
	    n != 1 || used != alen ||
	    e2e_rosters_state_write(v, n, b, sz, &blen) != E2E_OK ||
	    alen != blen || memcmp(a, b, alen) != 0)
		abort();
	for (i = 0; i < n; i++)
		e2e_roster_free(&v[i]);
	free(v);
	free(a);
	free(b);
}

/*
 * One step: a kind byte, then either raw entry bytes (u16 length) or the
 * fields of an entry its actor signs: op, subject, actor, arg, and how
 * far its index and prev are from the roster's head.
 */
static void
step(struct e2e_roster *r, struct fuzz_in *in)
{
	struct e2e_roster_entry	 e, parsed;
	const uint8_t		*p;
	uint8_t			 buf[E2E_ROSTER_ENTRY_MAX], kind, who;
	size_t			 len;
	int			 rc, bad;

	kind = fuzz_u8(in);
	if ((kind & 1) == 0) {
		p = fuzz_bytes(in, fuzz_u16(in), &len);
		p = fuzz_copy(p, len);
		if (e2e_roster_entry_parse(p, len, &parsed) == E2E_OK &&
		    (parsed.len != len || strnlen(parsed.room,
		    sizeof(parsed.room)) == 0))
			abort();
		(void)e2e_roster_apply(r, p, len, NULL);
		free((void *)p);
		return;
	}
	memset(&e, 0, sizeof(e));
	(void)strcpy(e.room, (kind & 2) ? "#elsewhere" : r->room);
	e.index = r->count + ((kind >> 2) & 1);
	if (r->count > 0 && !(kind & 8))
		memcpy(e.prev, r->head, sizeof(e.prev));
	e.op = fuzz_u8(in);
	who = fuzz_u8(in);
	(void)strcpy(e.subject, names[who % 3]);
	memcpy(e.subject_key, keys[who % 3].sign_pub, 32);
	(void)strcpy(e.actor, names[(who >> 2) % 3]);
	memcpy(e.actor_key, keys[(who >> 2) % 3].sign_pub, 32);
	e.arg = fuzz_u8(in);
	e.ts_ms = fuzz_u64(in);
	/* Bit 4: signed by someone else than the actor it names. */
	if (e2e_roster_entry_sign(&e, keys[((who >> 2) + ((kind >> 4) & 1)) %
	    3].sign_priv, buf, sizeof(buf), &len) != E2E_OK)
		return;
	/* Another room, an index ahead, no prev, a forged signature. */
	bad = (kind & 0x16) != 0 || ((kind & 8) && r->count > 0);
	rc = e2e_roster_apply(r, buf, len, &parsed);
	if (rc == E2E_OK && (bad || parsed.index + 1 != r->count))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in		 in = { data, size };
	struct e2e_roster	 r;
	size_t			 i;

	if (keys[0].sign_priv[0] == 0 && keys[0].sign_pub[0] == 0) {
		fuzz_setup();
		for (i = 0; i < 3; i++)
			fuzz_keys(names[i], &keys[i]);
	}
	fuzz_rand_reset();
	if (e2e_roster_init(&r, FUZZ_ROOM) != E2E_OK)
		abort();
	for (i = 0; i < MAX_STEPS && in.len > 0; i++)
		step(&r, &in);
	roundtrip(&r);
	e2e_roster_free(&r);
	return 0;
}
