/*
 * test_e2e_state.c: receivers and the seen-set written and read back, as
 * a client restart does, and every way a stored record may be damaged.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "e2e.h"
#include "e2e-state.h"

/* cmocka hands every test a state pointer these tests do not need. */
#define UNUSED		__attribute__((__unused__))

#define ROOM		"#room"
#define MSG_MAX		256

/* A receiver record for ROOM and a 5-byte sender (docs/E2E.md, 7). */
#define OFF_NADDED	14
#define OFF_NCHAINS	22
#define OFF_CHAIN	23		/* the first chain */
#define CH_ID		0		/* offsets within a chain */
#define CH_BASE		8
#define CH_FLOOR	12
#define CH_NEXT		16
#define CH_ADDED	24
#define CH_FLAGS	32
#define CH_NSKIPPED	97
#define CHAIN_LEN	101		/* without its skipped keys */
#define SKIPPED_LEN	36
/* A seen-set record. */
#define SEEN_OFF_COUNT	2
#define SEEN_OFF_NEXT	6
#define SEEN_HDR_LEN	10

/* A group message and the text it carries. */
struct gmsg {
	uint8_t		 b[MSG_MAX];
	size_t		 len;
	char		 pt[32];
};

struct rec {
	uint8_t		*b;
	size_t		 len;
};

static const struct e2e_group_receiver	 zero_receiver;

static void
put_be(uint8_t *p, uint64_t v, size_t width)
{
	while (width-- > 0) {
		p[width] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t
get_be(const uint8_t *p, size_t width)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/* Append a big-endian field to a record built by hand. */
static void
add_be(uint8_t *p, size_t *off, uint64_t v, size_t width)
{
	put_be(p + *off, v, width);
	*off += width;
}

static void
add_bytes(uint8_t *p, size_t *off, const void *b, size_t len)
{
	memcpy(p + *off, b, len);
	*off += len;
}

/* The next n messages of chain c, each text naming its iteration. */
static void
seal_range(struct e2e_chain *c, const char *sender, struct gmsg *m,
    uint32_t n)
{
	uint32_t	 i;
	int		 ptlen;

	for (i = 0; i < n; i++) {
		ptlen = snprintf(m[i].pt, sizeof(m[i].pt), "%s says %u",
		    sender, c->iteration);
		assert_true(ptlen > 0 && (size_t)ptlen < sizeof(m[i].pt));
		assert_int_equal(e2e_group_seal(c, ROOM, sender, 1, m[i].pt,
		    (size_t)ptlen, c->iteration, m[i].b, sizeof(m[i].b),
		    &m[i].len), E2E_OK);
	}
}

/* E2E_OK only with the right text: a wrong key must never pass. */
static int
open_msg(struct e2e_group_receiver *r, const struct gmsg *m)
{
	uint8_t	 out[MSG_MAX];
	size_t	 outlen = 0;
	int	 rc;

	rc = e2e_group_open(r, m->b, m->len, out, sizeof(out), &outlen, NULL);
	if (rc == E2E_OK) {
		assert_int_equal(outlen, strlen(m->pt));
		assert_memory_equal(out, m->pt, outlen);
	}
	return rc;
}

/* r learns c from its owner, r's sender. */
static void
learn(struct e2e_group_receiver *r, const struct e2e_chain *c)
{
	uint8_t	 skdm[E2E_SKDM_MAX];
	size_t	 len;

	assert_int_equal(e2e_chain_skdm(c, ROOM, 1, skdm, sizeof(skdm), &len),
	    E2E_OK);
	assert_int_equal(e2e_group_receiver_add_skdm(r, r->sender, skdm, len),
	    E2E_OK);
}

/* The record of r, or of s if r is NULL, exactly as long as announced. */
static struct rec
save_any(const struct e2e_group_receiver *r, const struct e2e_seen *s)
{
	struct rec	 rec;
	size_t		 sz;
	int		 rc;

	sz = r != NULL ? e2e_receiver_state_size(r) : e2e_seen_state_size(s);
	assert_true(sz > 0);
	assert_non_null(rec.b = malloc(sz));
	if (r != NULL)
		rc = e2e_receiver_state_write(r, rec.b, sz, &rec.len);
	else
		rc = e2e_seen_state_write(s, rec.b, sz, &rec.len);
	assert_int_equal(rc, E2E_OK);
	assert_int_equal(rec.len, sz);
	return rec;
}

static struct rec
save(const struct e2e_group_receiver *r)
{
	return save_any(r, NULL);
}

static struct rec
seen_save(const struct e2e_seen *s)
{
	return save_any(NULL, s);
}

/* What a restart does: save, forget everything, load. */
static void
restart(struct e2e_group_receiver *r)
{
	struct rec	 a, b;
	size_t		 used = 0;

	a = save(r);
	e2e_group_receiver_free(r);
	assert_int_equal(e2e_receiver_state_read(r, a.b, a.len, &used),
	    E2E_OK);
	assert_int_equal(used, a.len);
	/* Nothing lost or invented on the way: the same bytes again. */
	b = save(r);
	assert_int_equal(b.len, a.len);
	assert_memory_equal(b.b, a.b, a.len);
	free(a.b);
	free(b.b);
}

/* A refused record leaves nothing behind: no keys, nothing to free. */
static void
assert_wiped(const struct e2e_group_receiver *r)
{
	assert_memory_equal(r, &zero_receiver, sizeof(*r));
}

static void
make_id(uint8_t id[E2E_MSGID_LEN], uint32_t n)
{
	memset(id, 0xa5, E2E_MSGID_LEN);
	put_be(id, n, 4);
}

static struct e2e_seen *
seen_new(uint32_t nids)
{
	struct e2e_seen	*s;
	uint8_t		 id[E2E_MSGID_LEN];
	uint32_t	 i;

	assert_non_null(s = malloc(sizeof(*s)));
	e2e_seen_init(s);
	for (i = 0; i < nids; i++) {
		make_id(id, i);
		assert_int_equal(e2e_seen_check_add(s, id), E2E_OK);
	}
	return s;
}

/* Save *sp, load it into a fresh set that replaces it. */
static void
seen_restart(struct e2e_seen **sp)
{
	struct e2e_seen	*t;
	struct rec	 rec;
	size_t		 used = 0;

	rec = seen_save(*sp);
	assert_non_null(t = malloc(sizeof(*t)));
	assert_int_equal(e2e_seen_state_read(t, rec.b, rec.len, &used),
	    E2E_OK);
	assert_int_equal(used, rec.len);
	assert_int_equal(t->count, (*sp)->count);
	assert_int_equal(t->next, (*sp)->next);
	assert_memory_equal(t->ids, (*sp)->ids, t->count * E2E_MSGID_LEN);
	free(*sp);
	free(rec.b);
	*sp = t;
}

static int
seen_has(struct e2e_seen *s, uint32_t n)
{
	uint8_t	 id[E2E_MSGID_LEN];

	make_id(id, n);
	return e2e_seen_check_add(s, id) == E2E_EREPLAY;
}

static void
receiver_survives_restart(void **state UNUSED)
{
	static const int		 opened[] = { 2, 5, 9 };
	static const int		 held[] = { 3, 4, 6, 7, 8 };
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct gmsg			 m[14];
	size_t				 i;

	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	seal_range(&c, "alice", m, 2);		/* before the SKDM */
	learn(&r, &c);
	seal_range(&c, "alice", m + 2, 10);
	for (i = 0; i < 3; i++)
		assert_int_equal(open_msg(&r, &m[opened[i]]), E2E_OK);
	assert_int_equal(r.chains[0].nskipped, 5);

	restart(&r);
	for (i = 0; i < 3; i++)
		assert_int_equal(open_msg(&r, &m[opened[i]]), E2E_EREPLAY);
	assert_int_equal(open_msg(&r, &m[0]), E2E_ETOO_OLD);
	assert_int_equal(open_msg(&r, &m[1]), E2E_ETOO_OLD);
	for (i = 0; i < 5; i++) {
		assert_int_equal(open_msg(&r, &m[held[i]]), E2E_OK);
		assert_int_equal(open_msg(&r, &m[held[i]]), E2E_EREPLAY);
	}
	assert_int_equal(open_msg(&r, &m[11]), E2E_OK);
	assert_int_equal(open_msg(&r, &m[10]), E2E_OK);
	/* The sender carries on as if nothing happened. */
	seal_range(&c, "alice", m + 12, 2);
	assert_int_equal(open_msg(&r, &m[12]), E2E_OK);
	assert_int_equal(open_msg(&r, &m[13]), E2E_OK);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

static void
erased_keys_stay_too_old_after_restart(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct gmsg			*m;

	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	learn(&r, &c);
	assert_non_null(m = calloc(2004, sizeof(*m)));
	seal_range(&c, "alice", m, 2004);
	/* 2002 keys skipped: the bound erased 0 and raised floor to 1. */
	assert_int_equal(open_msg(&r, &m[1000]), E2E_OK);
	assert_int_equal(open_msg(&r, &m[2001]), E2E_OK);
	assert_int_equal(open_msg(&r, &m[2003]), E2E_OK);
	assert_int_equal(r.chains[0].floor, 1);

	restart(&r);
	assert_int_equal(r.chains[0].nskipped, E2E_MAX_SKIPPED);
	assert_int_equal(open_msg(&r, &m[0]), E2E_ETOO_OLD);
	assert_int_equal(open_msg(&r, &m[1000]), E2E_EREPLAY);
	assert_int_equal(open_msg(&r, &m[1]), E2E_OK);
	assert_int_equal(open_msg(&r, &m[2002]), E2E_OK);
	assert_int_equal(open_msg(&r, &m[2000]), E2E_OK);
	free(m);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

static void
several_chains_survive_restart(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c[7];
	struct gmsg			 m[7][4];
	int				 k;

	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	for (k = 0; k < 6; k++) {
		assert_int_equal(e2e_chain_new(&c[k], 0), E2E_OK);
		learn(&r, &c[k]);
		seal_range(&c[k], "alice", m[k], 4);
		assert_int_equal(open_msg(&r, &m[k][1]), E2E_OK);
		assert_int_equal(open_msg(&r, &m[k][3]), E2E_OK);
	}
	/* Chain 5 took chain 0's slot: slots no longer say who came first. */
	assert_int_equal(r.chains[0].chain_id, c[5].chain_id);

	restart(&r);
	assert_int_equal(open_msg(&r, &m[0][0]), E2E_EUNKNOWN_CHAIN);
	for (k = 1; k < 6; k++) {
		assert_int_equal(open_msg(&r, &m[k][0]), E2E_OK);
		assert_int_equal(open_msg(&r, &m[k][2]), E2E_OK);
		assert_int_equal(open_msg(&r, &m[k][1]), E2E_EREPLAY);
		assert_int_equal(open_msg(&r, &m[k][3]), E2E_EREPLAY);
	}
	/* The oldest is still chain 1, so a seventh evicts it, not chain 5. */
	assert_int_equal(e2e_chain_new(&c[6], 0), E2E_OK);
	learn(&r, &c[6]);
	seal_range(&c[1], "alice", &m[6][0], 1);
	seal_range(&c[5], "alice", &m[6][1], 1);
	seal_range(&c[6], "alice", &m[6][2], 1);
	assert_int_equal(open_msg(&r, &m[6][0]), E2E_EUNKNOWN_CHAIN);
	assert_int_equal(open_msg(&r, &m[6][1]), E2E_OK);
	assert_int_equal(open_msg(&r, &m[6][2]), E2E_OK);
	for (k = 0; k < 7; k++)
		e2e_chain_wipe(&c[k]);
	e2e_group_receiver_free(&r);
}

static void
empty_receiver_round_trip(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct gmsg			 m;
	int				 k;

	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "bob"), E2E_OK);
	assert_int_equal(e2e_receiver_state_size(&r), 2 + 6 + 4 + 8 + 1);
	restart(&r);
	assert_string_equal(r.room, ROOM);
	assert_string_equal(r.sender, "bob");
	assert_int_equal(r.nadded, 0);
	for (k = 0; k < E2E_MAX_CHAINS; k++)
		assert_false(r.chains[k].used);
	/* A reloaded receiver learns and reads like a new one. */
	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	learn(&r, &c);
	seal_range(&c, "bob", &m, 1);
	assert_int_equal(open_msg(&r, &m), E2E_OK);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

static void
seen_set_survives_restart(void **state UNUSED)
{
	struct e2e_seen	*s;
	uint32_t	 i;

	/* Not full: every id seen before the save is a replay after it. */
	s = seen_new(100);
	seen_restart(&s);
	for (i = 0; i < 100; i++)
		assert_true(seen_has(s, i));
	assert_false(seen_has(s, 100));
	assert_int_equal(s->count, 101);
	free(s);

	/* Empty. */
	s = seen_new(0);
	seen_restart(&s);
	assert_int_equal(s->count, 0);
	assert_false(seen_has(s, 0));
	free(s);

	/* Wrapped: ids 10.. are held, and 10 is the next to go. */
	s = seen_new(E2E_SEEN_MAX + 10);
	seen_restart(&s);
	assert_int_equal(s->next, 10);
	assert_false(seen_has(s, 9));		/* forgot 10 */
	assert_true(seen_has(s, 11));
	assert_true(seen_has(s, E2E_SEEN_MAX + 9));
	assert_false(seen_has(s, 10));		/* forgot 11 */
	assert_false(seen_has(s, 11));		/* forgot 12 */
	assert_true(seen_has(s, 13));
	free(s);
}

static void
receiver_follows_spec_layout(void **state UNUSED)
{
	static const uint8_t		 b1 = 1, b2 = 2;
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c;
	struct e2e_seen			*s;
	struct gmsg			 m[3];
	struct rec			 got;
	uint8_t				 want[512], ck[32], seed[2][32];
	uint8_t				 id[E2E_MSGID_LEN];
	size_t				 off = 0;
	int				 i;

	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	memcpy(ck, c.ck, sizeof(ck));
	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	learn(&r, &c);
	seal_range(&c, "alice", m, 3);
	assert_int_equal(open_msg(&r, &m[2]), E2E_OK);
	/* Held: seed_0, seed_1 and CK_3 (docs/E2E.md 3.1). */
	for (i = 0; i < 3; i++) {
		if (i < 2)
			assert_int_equal(crypto_hmac_sha256(ck, 32, &b1, 1,
			    seed[i]), 0);
		assert_int_equal(crypto_hmac_sha256(ck, 32, &b2, 1, ck), 0);
	}

	add_be(want, &off, E2E_STATE_VERSION, 1);
	add_be(want, &off, E2E_STATE_RECEIVER, 1);
	add_be(want, &off, 5, 1);
	add_bytes(want, &off, ROOM, 5);
	add_be(want, &off, 5, 1);
	add_bytes(want, &off, "alice", 5);
	add_be(want, &off, 1, 8);		/* nadded */
	add_be(want, &off, 1, 1);		/* nchains */
	assert_int_equal(off, OFF_CHAIN);
	add_be(want, &off, c.chain_id, 4);
	add_be(want, &off, 1, 4);		/* epoch */
	add_be(want, &off, 0, 4);		/* base */
	add_be(want, &off, 0, 4);		/* floor */
	add_be(want, &off, 3, 8);		/* next */
	add_be(want, &off, 1, 8);		/* added */
	add_be(want, &off, 0, 1);		/* flags */
	add_bytes(want, &off, ck, 32);
	add_bytes(want, &off, c.sign_pub, 32);
	add_be(want, &off, 2, 4);		/* nskipped */
	assert_int_equal(off, OFF_CHAIN + CHAIN_LEN);
	for (i = 0; i < 2; i++) {
		add_be(want, &off, (uint64_t)i, 4);
		add_bytes(want, &off, seed[i], 32);
	}
	got = save(&r);
	assert_int_equal(got.len, off);
	assert_memory_equal(got.b, want, off);
	free(got.b);

	/* Version 1 (the first client's) had no flags byte: still read. */
	{
		struct e2e_group_receiver	 v1;
		size_t				 used;

		want[0] = 1;
		memmove(want + OFF_CHAIN + CH_FLAGS, want + OFF_CHAIN +
		    CH_FLAGS + 1, off - OFF_CHAIN - CH_FLAGS - 1);
		assert_int_equal(e2e_receiver_state_read(&v1, want, off - 1,
		    &used), E2E_OK);
		assert_int_equal(used, off - 1);
		assert_int_equal(v1.chains[0].next, 3);
		assert_int_equal(v1.chains[0].nskipped, 2);
		assert_int_equal(v1.chains[0].ended, 0);
		e2e_group_receiver_free(&v1);
	}

	/* The seen-set: count, next, then the ring's slots in order. */
	s = seen_new(2);
	off = 0;
	add_be(want, &off, E2E_STATE_VERSION, 1);
	add_be(want, &off, E2E_STATE_SEEN, 1);
	add_be(want, &off, 2, 4);
	add_be(want, &off, 2, 4);
	assert_int_equal(off, SEEN_HDR_LEN);
	for (i = 0; i < 2; i++) {
		make_id(id, (uint32_t)i);
		add_bytes(want, &off, id, sizeof(id));
	}
	got = seen_save(s);
	assert_int_equal(got.len, off);
	assert_memory_equal(got.b, want, off);
	free(got.b);
	free(s);
	e2e_chain_wipe(&c);
	e2e_group_receiver_free(&r);
}

/* Two chains from alice: one holding keys 1 and 2 (next 4), one at 1. */
static struct rec
two_chain_record(struct e2e_chain c[2], struct gmsg m[2][6])
{
	struct e2e_group_receiver	 r;
	struct rec			 rec;

	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	assert_int_equal(e2e_chain_new(&c[0], 0), E2E_OK);
	assert_int_equal(e2e_chain_new(&c[1], 0), E2E_OK);
	learn(&r, &c[0]);
	learn(&r, &c[1]);
	seal_range(&c[0], "alice", m[0], 6);
	seal_range(&c[1], "alice", m[1], 6);
	assert_int_equal(open_msg(&r, &m[0][0]), E2E_OK);
	assert_int_equal(open_msg(&r, &m[0][3]), E2E_OK);
	assert_int_equal(open_msg(&r, &m[1][0]), E2E_OK);
	rec = save(&r);
	e2e_group_receiver_free(&r);
	return rec;
}

#define SKIPPED1	(OFF_CHAIN + CHAIN_LEN + SKIPPED_LEN)
#define CHAIN1		(OFF_CHAIN + CHAIN_LEN + 2 * SKIPPED_LEN)

static void
truncated_records_refused(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c[2];
	struct gmsg			 m[2][6];
	struct e2e_seen			*s;
	struct rec			 rec;
	size_t				 cut, used;

	rec = two_chain_record(c, m);
	assert_int_equal(rec.len, CHAIN1 + CHAIN_LEN);
	for (cut = 0; cut < rec.len; cut++) {
		assert_int_equal(e2e_receiver_state_read(&r, rec.b, cut,
		    &used), E2E_EMALFORMED);
		assert_wiped(&r);
	}
	assert_int_equal(e2e_receiver_state_read(&r, rec.b, rec.len, &used),
	    E2E_OK);
	e2e_group_receiver_free(&r);
	free(rec.b);

	s = seen_new(5);
	rec = seen_save(s);
	for (cut = 0; cut < rec.len; cut++) {
		assert_int_equal(e2e_seen_state_read(s, rec.b, cut, &used),
		    E2E_EMALFORMED);
		assert_int_equal(s->count, 0);
	}
	free(rec.b);
	free(s);
	e2e_chain_wipe(&c[0]);
	e2e_chain_wipe(&c[1]);
}

/*
 * A record that reads despite a changed byte must still be a receiver
 * e2e-group.c can run: no crash, no message opened twice, and no text
 * but the right one.
 */
static int
try_changed_receiver(const struct rec *rec, struct gmsg m[2][6])
{
	static const int		 opened[][2] = { { 0, 0 }, { 0, 3 },
					    { 1, 0 } };
	struct e2e_group_receiver	 r;
	size_t				 used = 0, i, j;
	int				 rc;

	rc = e2e_receiver_state_read(&r, rec->b, rec->len, &used);
	if (rc != E2E_OK) {
		assert_true(rc == E2E_EMALFORMED || rc == E2E_EVERSION);
		assert_wiped(&r);
		return 0;
	}
	/* A shorter count leaves bytes behind: the caller's next record. */
	assert_true(used <= rec->len);
	for (i = 0; i < 3; i++)
		assert_int_not_equal(open_msg(&r, &m[opened[i][0]][opened[i][1]]),
		    E2E_OK);
	for (i = 0; i < 2; i++)
		for (j = 1; j < 6; j++)
			(void)open_msg(&r, &m[i][j]);
	restart(&r);
	e2e_group_receiver_free(&r);
	return 1;
}

static void
single_byte_changes_refused_or_safe(void **state UNUSED)
{
	static const uint8_t	 masks[] = { 0x01, 0x80 };
	struct e2e_chain	 c[2];
	struct gmsg		 m[2][6];
	struct e2e_seen		*s;
	struct rec		 rec;
	uint8_t			 id[E2E_MSGID_LEN];
	size_t			 pos, k, used, accepted = 0, refused = 0;

	rec = two_chain_record(c, m);
	for (pos = 0; pos < rec.len; pos++) {
		for (k = 0; k < sizeof(masks); k++) {
			rec.b[pos] ^= masks[k];
			if (try_changed_receiver(&rec, m))
				accepted++;
			else
				refused++;
			rec.b[pos] ^= masks[k];
		}
	}
	/* Keys and ids change freely; counts and bounds do not. */
	assert_true(accepted > rec.len);
	assert_true(refused > 40);
	free(rec.b);

	s = seen_new(5);
	rec = seen_save(s);
	for (pos = 0; pos < rec.len; pos++) {
		for (k = 0; k < sizeof(masks); k++) {
			rec.b[pos] ^= masks[k];
			if (e2e_seen_state_read(s, rec.b, rec.len, &used) ==
			    E2E_OK) {
				assert_true(used <= rec.len);
				assert_true(s->count < E2E_SEEN_MAX);
				make_id(id, 1000);
				assert_int_equal(e2e_seen_check_add(s, id),
				    E2E_OK);
			} else
				assert_int_equal(s->count, 0);
			rec.b[pos] ^= masks[k];
		}
	}
	free(rec.b);
	free(s);
	e2e_chain_wipe(&c[0]);
	e2e_chain_wipe(&c[1]);
}

struct patch {
	size_t		 off;
	size_t		 width;
	uint64_t	 v;
	int		 rc;
};

static void
inconsistent_fields_refused(void **state UNUSED)
{
	/* Chain 0: base 0, floor 0, next 4, keys 1 and 2; chain 1: next 1. */
	static const struct patch	 p[] = {
		{ 0, 1, 3, E2E_EVERSION },
		{ 1, 1, E2E_STATE_SEEN, E2E_EVERSION },
		{ 2, 1, 0, E2E_EMALFORMED },		/* empty room */
		{ 4, 1, 0, E2E_EMALFORMED },		/* NUL in the room */
		{ OFF_NADDED, 8, 1, E2E_EMALFORMED },	/* chain 1 added 2 */
		{ OFF_NADDED, 8, 1000, E2E_OK },
		{ OFF_CHAIN + CH_BASE, 4, 1, E2E_EMALFORMED },
		{ OFF_CHAIN + CH_FLOOR, 4, 2, E2E_EMALFORMED },
		{ OFF_CHAIN + CH_FLOOR, 4, 1, E2E_OK },
		{ OFF_CHAIN + CH_NEXT, 8, 2, E2E_EMALFORMED },
		{ OFF_CHAIN + CH_NEXT, 8, 3, E2E_OK },
		{ OFF_CHAIN + CH_ADDED, 8, 0, E2E_EMALFORMED },
		{ OFF_CHAIN + CH_FLAGS, 1, 2, E2E_EMALFORMED },	/* unknown */
		{ OFF_CHAIN + CH_FLAGS, 1, 1, E2E_OK },		/* ended */
		{ SKIPPED1, 4, 1, E2E_EMALFORMED },	/* not increasing */
		{ SKIPPED1, 4, 3, E2E_OK },
		{ SKIPPED1, 4, 4, E2E_EMALFORMED },	/* not below next */
		{ OFF_CHAIN + CHAIN_LEN, 4, 0, E2E_OK },
		{ CHAIN1 + CH_FLOOR, 4, 2, E2E_EMALFORMED },
		{ CHAIN1 + CH_FLOOR, 4, 1, E2E_OK },
		{ CHAIN1 + CH_NEXT, 8, (uint64_t)1 << 32, E2E_OK },
		{ CHAIN1 + CH_NEXT, 8, ((uint64_t)1 << 32) + 1,
		    E2E_EMALFORMED },
		{ CHAIN1 + CH_ADDED, 8, 1, E2E_EMALFORMED },	/* chain 0's */
		{ CHAIN1 + CH_ADDED, 8, 3, E2E_EMALFORMED },	/* > nadded */
		{ OFF_NCHAINS, 1, 6, E2E_EMALFORMED },
	};
	struct e2e_group_receiver	 r;
	struct e2e_chain		 c[2];
	struct gmsg			 m[2][6];
	struct rec			 rec;
	uint8_t				*b;
	size_t				 i, used;
	int				 rc;

	rec = two_chain_record(c, m);
	assert_non_null(b = malloc(rec.len));
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		memcpy(b, rec.b, rec.len);
		put_be(b + p[i].off, p[i].v, p[i].width);
		rc = e2e_receiver_state_read(&r, b, rec.len, &used);
		if (rc != p[i].rc)
			fail_msg("patch %zu: %d, not %d", i, rc, p[i].rc);
		if (rc == E2E_OK)
			e2e_group_receiver_free(&r);
		else
			assert_wiped(&r);
	}
	/* Two chains under one id. */
	memcpy(b, rec.b, rec.len);
	memcpy(b + CHAIN1 + CH_ID, b + OFF_CHAIN + CH_ID, 4);
	assert_int_equal(e2e_receiver_state_read(&r, b, rec.len, &used),
	    E2E_EMALFORMED);
	assert_wiped(&r);
	free(b);
	free(rec.b);
	e2e_chain_wipe(&c[0]);
	e2e_chain_wipe(&c[1]);
}

/* One more skipped key, just below next, on the record's only chain. */
static void
add_skipped(struct rec *rec)
{
	uint8_t		*p = rec->b + OFF_CHAIN;
	uint64_t	 next;

	next = get_be(p + CH_NEXT, 8);
	put_be(p + CH_NSKIPPED, get_be(p + CH_NSKIPPED, 4) + 1, 4);
	assert_non_null(rec->b = realloc(rec->b, rec->len + SKIPPED_LEN));
	memset(rec->b + rec->len, 0x5a, SKIPPED_LEN);
	put_be(rec->b + rec->len, next - 1, 4);
	rec->len += SKIPPED_LEN;
}

/* One more chain, a copy of the last (which holds no keys), arrived last. */
static void
add_chain(struct rec *rec)
{
	uint64_t	 nadded;
	uint8_t		*p;

	nadded = get_be(rec->b + OFF_NADDED, 8) + 1;
	put_be(rec->b + OFF_NADDED, nadded, 8);
	rec->b[OFF_NCHAINS]++;
	assert_non_null(rec->b = realloc(rec->b, rec->len + CHAIN_LEN));
	p = rec->b + rec->len;
	memcpy(p, p - CHAIN_LEN, CHAIN_LEN);
	put_be(p + CH_ID, get_be(p + CH_ID, 4) + 1, 4);
	put_be(p + CH_ADDED, nadded, 8);
	rec->len += CHAIN_LEN;
}

static void
counts_above_bounds_refused(void **state UNUSED)
{
	struct e2e_group_receiver	 r[2];
	struct e2e_chain		 c;
	struct e2e_seen			*s;
	struct gmsg			*m;
	struct rec			 rec[2];
	size_t				 used, i;

	/* Keys: 1999 and 2000 held, then one more on each. */
	assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
	for (i = 0; i < 2; i++) {
		assert_int_equal(e2e_group_receiver_init(&r[i], ROOM, "alice"),
		    E2E_OK);
		learn(&r[i], &c);
	}
	assert_non_null(m = calloc(2002, sizeof(*m)));
	seal_range(&c, "alice", m, 2002);
	for (i = 0; i < 2; i++) {
		assert_int_equal(open_msg(&r[i], &m[1000]), E2E_OK);
		assert_int_equal(open_msg(&r[i], &m[2000 + i]), E2E_OK);
		assert_int_equal(r[i].chains[0].nskipped, 1999 + i);
		rec[i] = save(&r[i]);
		e2e_group_receiver_free(&r[i]);
		add_skipped(&rec[i]);
	}
	assert_int_equal(e2e_receiver_state_read(&r[0], rec[0].b, rec[0].len,
	    &used), E2E_OK);
	assert_int_equal(r[0].chains[0].nskipped, E2E_MAX_SKIPPED);
	e2e_group_receiver_free(&r[0]);
	assert_int_equal(e2e_receiver_state_read(&r[1], rec[1].b, rec[1].len,
	    &used), E2E_EMALFORMED);
	assert_wiped(&r[1]);
	free(rec[0].b);
	free(rec[1].b);
	free(m);
	e2e_chain_wipe(&c);

	/* Chains: a fifth is read, a sixth is not. */
	assert_int_equal(e2e_group_receiver_init(&r[0], ROOM, "alice"),
	    E2E_OK);
	for (i = 0; i < 4; i++) {
		assert_int_equal(e2e_chain_new(&c, 0), E2E_OK);
		learn(&r[0], &c);
		e2e_chain_wipe(&c);
	}
	rec[0] = save(&r[0]);
	e2e_group_receiver_free(&r[0]);
	add_chain(&rec[0]);
	assert_int_equal(e2e_receiver_state_read(&r[0], rec[0].b, rec[0].len,
	    &used), E2E_OK);
	assert_int_equal(used, rec[0].len);
	assert_true(r[0].chains[4].used);
	e2e_group_receiver_free(&r[0]);
	add_chain(&rec[0]);
	assert_int_equal(e2e_receiver_state_read(&r[0], rec[0].b, rec[0].len,
	    &used), E2E_EMALFORMED);
	assert_wiped(&r[0]);
	free(rec[0].b);

	/* The seen-set: a full ring, then one id over. */
	s = seen_new(E2E_SEEN_MAX);
	rec[0] = seen_save(s);
	put_be(rec[0].b + SEEN_OFF_NEXT, E2E_SEEN_MAX - 1, 4);
	assert_int_equal(e2e_seen_state_read(s, rec[0].b, rec[0].len, &used),
	    E2E_OK);
	put_be(rec[0].b + SEEN_OFF_NEXT, E2E_SEEN_MAX, 4);
	assert_int_equal(e2e_seen_state_read(s, rec[0].b, rec[0].len, &used),
	    E2E_EMALFORMED);
	put_be(rec[0].b + SEEN_OFF_NEXT, 0, 4);
	put_be(rec[0].b + SEEN_OFF_COUNT, E2E_SEEN_MAX + 1, 4);
	assert_non_null(rec[0].b = realloc(rec[0].b,
	    rec[0].len + E2E_MSGID_LEN));
	memset(rec[0].b + rec[0].len, 0x77, E2E_MSGID_LEN);
	rec[0].len += E2E_MSGID_LEN;
	assert_int_equal(e2e_seen_state_read(s, rec[0].b, rec[0].len, &used),
	    E2E_EMALFORMED);
	/* Not full: next must be count, or a live id would be overwritten. */
	put_be(rec[0].b + SEEN_OFF_COUNT, 3, 4);
	put_be(rec[0].b + SEEN_OFF_NEXT, 2, 4);
	assert_int_equal(e2e_seen_state_read(s, rec[0].b, rec[0].len, &used),
	    E2E_EMALFORMED);
	put_be(rec[0].b + SEEN_OFF_NEXT, 3, 4);
	assert_int_equal(e2e_seen_state_read(s, rec[0].b, rec[0].len, &used),
	    E2E_OK);
	assert_int_equal(used, SEEN_HDR_LEN + 3 * E2E_MSGID_LEN);
	free(rec[0].b);
	free(s);
}

static void
concatenated_records_read_in_turn(void **state UNUSED)
{
	struct e2e_group_receiver	 a, b, x;
	struct e2e_chain		 ca, cb;
	struct e2e_seen			*s;
	struct gmsg			 ma[3], mb[2];
	struct rec			 ra, rb, rs;
	uint8_t				*all;
	size_t				 total, off, used;

	assert_int_equal(e2e_group_receiver_init(&a, ROOM, "alice"), E2E_OK);
	assert_int_equal(e2e_group_receiver_init(&b, ROOM, "carol"), E2E_OK);
	assert_int_equal(e2e_chain_new(&ca, 0), E2E_OK);
	assert_int_equal(e2e_chain_new(&cb, 0), E2E_OK);
	learn(&a, &ca);
	learn(&b, &cb);
	seal_range(&ca, "alice", ma, 3);
	seal_range(&cb, "carol", mb, 2);
	assert_int_equal(open_msg(&a, &ma[2]), E2E_OK);
	s = seen_new(7);
	ra = save(&a);
	rb = save(&b);
	rs = seen_save(s);
	e2e_group_receiver_free(&a);
	e2e_group_receiver_free(&b);
	free(s);

	total = ra.len + rb.len + rs.len;
	assert_non_null(all = malloc(total));
	memcpy(all, ra.b, ra.len);
	memcpy(all + ra.len, rb.b, rb.len);
	memcpy(all + ra.len + rb.len, rs.b, rs.len);
	/* Each record is told the rest of the buffer and takes its own. */
	assert_int_equal(e2e_receiver_state_read(&a, all, total, &used),
	    E2E_OK);
	assert_int_equal(used, ra.len);
	off = used;
	assert_int_equal(e2e_receiver_state_read(&b, all + off, total - off,
	    &used), E2E_OK);
	assert_int_equal(used, rb.len);
	off += used;
	/* A seen-set record is not a receiver, nor the other way round. */
	assert_int_equal(e2e_receiver_state_read(&x, all + off, total - off,
	    &used), E2E_EVERSION);
	assert_non_null(s = malloc(sizeof(*s)));
	assert_int_equal(e2e_seen_state_read(s, all, total, &used),
	    E2E_EVERSION);
	assert_int_equal(e2e_seen_state_read(s, all + off, total - off,
	    &used), E2E_OK);
	assert_int_equal(off + used, total);
	assert_true(seen_has(s, 6));
	assert_false(seen_has(s, 7));

	assert_string_equal(a.sender, "alice");
	assert_string_equal(b.sender, "carol");
	assert_int_equal(open_msg(&a, &ma[2]), E2E_EREPLAY);
	assert_int_equal(open_msg(&a, &ma[0]), E2E_OK);
	assert_int_equal(open_msg(&b, &mb[1]), E2E_OK);
	assert_int_equal(open_msg(&b, &ma[1]), E2E_ESENDER);
	free(all);
	free(ra.b);
	free(rb.b);
	free(rs.b);
	free(s);
	e2e_chain_wipe(&ca);
	e2e_chain_wipe(&cb);
	e2e_group_receiver_free(&a);
	e2e_group_receiver_free(&b);
}

static void
bad_arguments_refused(void **state UNUSED)
{
	struct e2e_group_receiver	 r;
	struct e2e_seen			*s;
	uint8_t				 buf[64], copy[64];
	size_t				 len = 0, used;

	assert_int_equal(e2e_group_receiver_init(&r, ROOM, "alice"), E2E_OK);
	memset(buf, 0xcc, sizeof(buf));
	memcpy(copy, buf, sizeof(buf));
	assert_int_equal(e2e_receiver_state_write(&r, buf,
	    e2e_receiver_state_size(&r) - 1, &len), E2E_ENOSPC);
	assert_memory_equal(buf, copy, sizeof(buf));
	assert_int_equal(e2e_receiver_state_write(&r, NULL, sizeof(buf),
	    &len), E2E_EINVAL);
	assert_int_equal(e2e_receiver_state_write(NULL, buf, sizeof(buf),
	    &len), E2E_EINVAL);
	assert_int_equal(e2e_receiver_state_size(NULL), 0);
	r.room[0] = '\0';
	assert_int_equal(e2e_receiver_state_size(&r), 0);
	assert_int_equal(e2e_receiver_state_write(&r, buf, sizeof(buf),
	    &len), E2E_EINVAL);
	assert_int_equal(e2e_receiver_state_read(&r, NULL, 0, &used),
	    E2E_EINVAL);
	assert_int_equal(e2e_receiver_state_read(NULL, buf, 1, &used),
	    E2E_EINVAL);

	s = seen_new(5);
	assert_int_equal(e2e_seen_state_write(s, buf, SEEN_HDR_LEN, &len),
	    E2E_ENOSPC);
	/* A ring the reader would refuse is not written either. */
	s->next = 7;
	assert_int_equal(e2e_seen_state_size(s), 0);
	assert_int_equal(e2e_seen_state_write(s, buf, sizeof(buf), &len),
	    E2E_EINVAL);
	assert_int_equal(e2e_seen_state_read(s, buf, 0, NULL), E2E_EINVAL);
	free(s);
}

/* An id that says which number it is. */
static void
replay_id(uint8_t id[E2E_MSGID_LEN], uint32_t n)
{
	memset(id, 0xa5, E2E_MSGID_LEN);
	put_be(id + 3, n, 4);
}

static struct rec
replay_save(struct e2e_replay *r)
{
	struct rec	 rec;

	rec.len = 0;
	assert_true(e2e_replay_state_size(r) > 0);
	assert_non_null(rec.b = malloc(e2e_replay_state_size(r)));
	assert_int_equal(e2e_replay_state_write(r, rec.b,
	    e2e_replay_state_size(r), &rec.len), E2E_OK);
	assert_int_equal(rec.len, e2e_replay_state_size(r));
	return rec;
}

/*
 * Issue 10: a direct message replayed after 4096 others opened again.
 * Ids are now kept as long as their prekey, whatever their number, and
 * across a restart.
 */
static void
replay_not_count_bounded(void **state UNUSED)
{
	struct e2e_replay	 r, t;
	struct rec		 rec;
	uint8_t			 id[E2E_MSGID_LEN];
	uint32_t		 i;
	size_t			 used;

	e2e_replay_init(&r);
	for (i = 0; i < 3 * E2E_SEEN_MAX; i++) {
		replay_id(id, i);
		assert_int_equal(e2e_replay_check_add(&r, id, 1 + i % 2,
		    1000 + i), E2E_OK);
	}
	for (i = 0; i < 3 * E2E_SEEN_MAX; i += 97) {
		replay_id(id, i);
		assert_int_equal(e2e_replay_check_add(&r, id, 1, 5000),
		    E2E_EREPLAY);
	}
	assert_int_equal(e2e_replay_count(&r), 3 * E2E_SEEN_MAX);

	/* A restart keeps every one. */
	rec = replay_save(&r);
	e2e_replay_init(&t);
	assert_int_equal(e2e_replay_state_read(&t, rec.b, rec.len, &used),
	    E2E_OK);
	assert_int_equal(used, rec.len);
	replay_id(id, 0);
	assert_int_equal(e2e_replay_check_add(&t, id, 1, 1), E2E_EREPLAY);
	replay_id(id, 3 * E2E_SEEN_MAX - 1);
	assert_int_equal(e2e_replay_check_add(&t, id, 1, 1), E2E_EREPLAY);
	free(rec.b);

	/* Prekey 1 erased: its ids go, prekey 2's stay. */
	{
		const uint32_t	 held = 2;

		assert_int_equal(e2e_replay_retain(&t, &held, 1),
		    3 * E2E_SEEN_MAX / 2);
	}
	replay_id(id, 0);			/* sealed to prekey 1 */
	assert_int_equal(e2e_replay_check_add(&t, id, 3, 1), E2E_OK);
	replay_id(id, 1);			/* sealed to prekey 2 */
	assert_int_equal(e2e_replay_check_add(&t, id, 3, 1), E2E_EREPLAY);
	e2e_replay_free(&r);
	e2e_replay_free(&t);
}

/* Past the bound the oldest eighth goes, and older envelopes are refused. */
static void
replay_flood_raises_floor(void **state UNUSED)
{
	struct e2e_replay	 r;
	uint8_t			 id[E2E_MSGID_LEN];
	uint32_t		 i;

	e2e_replay_init(&r);
	for (i = 0; i < E2E_REPLAY_MAX; i++) {
		replay_id(id, i);
		assert_int_equal(e2e_replay_check_add(&r, id, 1, 10 + i),
		    E2E_OK);
	}
	assert_int_equal(r.floor_ms, 0);
	replay_id(id, E2E_REPLAY_MAX);
	assert_int_equal(e2e_replay_check_add(&r, id, 1, 10 + E2E_REPLAY_MAX),
	    E2E_OK);
	assert_int_equal(r.floor_ms, 10 + E2E_REPLAY_MAX / 8 - 1);
	assert_int_equal(e2e_replay_count(&r), E2E_REPLAY_MAX -
	    E2E_REPLAY_MAX / 8 + 1);
	/* Forgotten, but at or below the floor: refused. */
	replay_id(id, 0);
	assert_int_equal(e2e_replay_check_add(&r, id, 1, 10), E2E_ETOO_OLD);
	replay_id(id, E2E_REPLAY_MAX / 8 - 1);
	assert_int_equal(e2e_replay_check_add(&r, id, 1, r.floor_ms),
	    E2E_ETOO_OLD);
	/* Still held: a replay; newer: fine. */
	replay_id(id, E2E_REPLAY_MAX / 8);
	assert_int_equal(e2e_replay_check_add(&r, id, 1, r.floor_ms + 1),
	    E2E_EREPLAY);
	replay_id(id, E2E_REPLAY_MAX + 1);
	assert_int_equal(e2e_replay_check_add(&r, id, 1, r.floor_ms + 1),
	    E2E_OK);
	e2e_replay_free(&r);
}

/*
 * A flood stamped far ahead left a floor there, saved with the state:
 * clamped, it and the ids come back to the bound, and an envelope
 * stamped after it is taken again.
 */
static void
replay_clamp_brings_floor_back(void **state UNUSED)
{
	struct e2e_replay	 r;
	uint8_t			 id[E2E_MSGID_LEN];
	const uint64_t		 ahead = (uint64_t)1 << 62, now = 1000000;
	uint32_t		 i;

	e2e_replay_init(&r);
	for (i = 0; i <= E2E_REPLAY_MAX; i++) {
		replay_id(id, i);
		assert_int_equal(e2e_replay_check_add(&r, id, 1, ahead),
		    E2E_OK);
	}
	assert_int_equal(r.floor_ms, ahead);
	replay_id(id, E2E_REPLAY_MAX + 1);
	assert_int_equal(e2e_replay_check_add(&r, id, 1, now), E2E_ETOO_OLD);
	e2e_replay_clamp(&r, now + 10);
	assert_int_equal(r.floor_ms, now + 10);
	for (i = 0; i < r.n; i++)
		assert_true(r.v[i].ts_ms <= now + 10);
	assert_int_equal(e2e_replay_check_add(&r, id, 1, now + 11), E2E_OK);
	/* Ids held stay held. */
	replay_id(id, E2E_REPLAY_MAX);
	assert_int_equal(e2e_replay_check_add(&r, id, 1, now + 11),
	    E2E_EREPLAY);
	e2e_replay_free(&r);
}

/* A record out of order, with a duplicate, too long or cut: refused. */
static void
replay_record_damage_refused(void **state UNUSED)
{
	struct e2e_replay	 r, t;
	struct rec		 rec;
	uint8_t			 id[E2E_MSGID_LEN], save[E2E_MSGID_LEN];
	uint32_t		 i;
	size_t			 used;

	e2e_replay_init(&r);
	for (i = 0; i < 3; i++) {
		replay_id(id, i);
		assert_int_equal(e2e_replay_check_add(&r, id, 7, i), E2E_OK);
	}
	rec = replay_save(&r);
	assert_int_equal(rec.len, 14 + 3 * 28);
	assert_int_equal(rec.b[1], E2E_STATE_REPLAY);
	e2e_replay_init(&t);
	/* Swap the first two ids: no longer sorted. */
	memcpy(save, rec.b + 14, E2E_MSGID_LEN);
	memcpy(rec.b + 14, rec.b + 14 + 28, E2E_MSGID_LEN);
	memcpy(rec.b + 14 + 28, save, E2E_MSGID_LEN);
	assert_int_equal(e2e_replay_state_read(&t, rec.b, rec.len, &used),
	    E2E_EMALFORMED);
	/* The same id twice. */
	memcpy(rec.b + 14, rec.b + 14 + 28, E2E_MSGID_LEN);
	assert_int_equal(e2e_replay_state_read(&t, rec.b, rec.len, &used),
	    E2E_EMALFORMED);
	assert_int_equal(e2e_replay_count(&t), 0);
	free(rec.b);
	rec = replay_save(&r);
	/* Cut short, a count above the bound, a count above the bytes. */
	assert_int_equal(e2e_replay_state_read(&t, rec.b, rec.len - 1, &used),
	    E2E_EMALFORMED);
	put_be(rec.b + 10, E2E_REPLAY_MAX + 1, 4);
	assert_int_equal(e2e_replay_state_read(&t, rec.b, rec.len, &used),
	    E2E_EMALFORMED);
	put_be(rec.b + 10, 4, 4);
	assert_int_equal(e2e_replay_state_read(&t, rec.b, rec.len, &used),
	    E2E_EMALFORMED);
	put_be(rec.b + 10, 2, 4);	/* fewer: the rest is the next record */
	assert_int_equal(e2e_replay_state_read(&t, rec.b, rec.len, &used),
	    E2E_OK);
	assert_int_equal(used, 14 + 2 * 28);
	rec.b[0] = 9;
	assert_int_equal(e2e_replay_state_read(&t, rec.b, rec.len, &used),
	    E2E_EVERSION);
	assert_int_equal(e2e_replay_count(&t), 0);
	free(rec.b);
	e2e_replay_free(&r);
	e2e_replay_free(&t);
}

/* DM counters and chain ends: round trips and what readers refuse. */
static void
order_records_round_trip(void **state UNUSED)
{
	struct e2e_dm_peer	 p[2], *q = NULL;
	struct e2e_chain_end	 e[2], *f = NULL;
	struct e2e_order	 o;
	uint8_t			 b[512];
	uint32_t		 stream;
	uint64_t		 n;
	size_t			 len, used, nq, nf;

	assert_int_equal(e2e_dm_peer_init(&p[0], "alice"), E2E_OK);
	assert_int_equal(e2e_dm_peer_init(&p[1], "bobby"), E2E_OK);
	assert_int_equal(e2e_dm_next(&p[0], &stream, &n), E2E_OK);
	assert_int_equal(e2e_dm_check(&p[1], 77, 5, &o), E2E_OK);
	assert_int_equal(e2e_dm_state_size(p, 2), 2 + 4 + 2 * (1 + 5 + 60));
	assert_int_equal(e2e_dm_state_write(p, 2, b, sizeof(b), &len), E2E_OK);
	assert_int_equal(b[0], E2E_STATE_VERSION);
	assert_int_equal(b[1], E2E_STATE_DM);
	assert_int_equal(e2e_dm_state_read(&q, &nq, b, len, &used), E2E_OK);
	assert_int_equal(nq, 2);
	assert_int_equal(used, len);
	assert_string_equal(q[1].name, "bobby");
	assert_int_equal(q[0].out_stream, stream);
	assert_int_equal(q[0].out_next, 2);
	/* Read back, the counters go on where they were. */
	assert_int_equal(e2e_dm_check(&q[1], 77, 6, &o), E2E_OK);
	assert_int_equal(o.missing, 0);
	assert_int_equal(e2e_dm_check(&q[1], 77, 5, &o), E2E_OK);
	assert_true(o.late);
	free(q);
	/* Out of order names, a stream slot with a count but no stream. */
	{
		struct e2e_dm_peer	 swap[2] = { p[1], p[0] };

		assert_int_equal(e2e_dm_state_write(swap, 2, b, sizeof(b),
		    &len), E2E_EINVAL);
	}
	assert_int_equal(e2e_dm_state_write(p, 2, b, sizeof(b), &len), E2E_OK);
	b[7] = 'c';			/* "alice" -> "clice", after "bobby" */
	assert_int_equal(e2e_dm_state_read(&q, &nq, b, len, &used),
	    E2E_EMALFORMED);
	assert_null(q);
	assert_int_equal(e2e_dm_state_write(p, 2, b, sizeof(b), &len), E2E_OK);
	b[len - 1] = 1;			/* bobby's last slot: high, no stream */
	assert_int_equal(e2e_dm_state_read(&q, &nq, b, len, &used),
	    E2E_EMALFORMED);
	assert_int_equal(e2e_dm_state_read(&q, &nq, b, len - 20, &used),
	    E2E_EMALFORMED);

	memset(e, 0, sizeof(e));
	(void)strcpy(e[0].room, "#a");
	e[0].chain_id = 9;
	e[0].count = 100;
	(void)strcpy(e[1].room, "#b");
	e[1].chain_id = 10;
	assert_int_equal(e2e_ends_state_write(e, 2, b, sizeof(b), &len),
	    E2E_OK);
	assert_int_equal(len, 2 + 4 + 2 * (1 + 2 + 8));
	assert_int_equal(b[1], E2E_STATE_ENDS);
	assert_int_equal(e2e_ends_state_read(&f, &nf, b, len, &used), E2E_OK);
	assert_int_equal(nf, 2);
	assert_int_equal(f[0].count, 100);
	assert_int_equal(f[1].chain_id, 10);
	free(f);
	b[9] = 0;			/* #a's chain id 0: names no chain */
	b[10] = 0;
	b[11] = 0;
	b[12] = 0;
	assert_int_equal(e2e_ends_state_read(&f, &nf, b, len, &used),
	    E2E_EMALFORMED);
	assert_null(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(receiver_survives_restart),
		cmocka_unit_test(erased_keys_stay_too_old_after_restart),
		cmocka_unit_test(several_chains_survive_restart),
		cmocka_unit_test(empty_receiver_round_trip),
		cmocka_unit_test(seen_set_survives_restart),
		cmocka_unit_test(receiver_follows_spec_layout),
		cmocka_unit_test(truncated_records_refused),
		cmocka_unit_test(single_byte_changes_refused_or_safe),
		cmocka_unit_test(inconsistent_fields_refused),
		cmocka_unit_test(counts_above_bounds_refused),
		cmocka_unit_test(concatenated_records_read_in_turn),
		cmocka_unit_test(bad_arguments_refused),
		cmocka_unit_test(replay_not_count_bounded),
		cmocka_unit_test(replay_flood_raises_floor),
		cmocka_unit_test(replay_clamp_brings_floor_back),
		cmocka_unit_test(replay_record_damage_refused),
		cmocka_unit_test(order_records_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
