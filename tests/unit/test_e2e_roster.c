/*
 * test_e2e_roster.c: the signed, hash-chained room roster (common/
 * e2e-roster.c, docs/E2E.md 9): its bytes, built again from the
 * specification, a fixed vector, the policy, and every way a server
 * without the members' keys could try to change it (issue 10).
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

#include "crypto.h"
#include "e2e.h"
#include "e2e-roster.h"
#include "e2e-state.h"
#include "util.h"

#define UNUSED		__attribute__((__unused__))
#define ROOM		"#room"

struct who {
	const char	*name;
	uint8_t		 priv[32];
	uint8_t		 pub[32];
};

/* Fixed keys, so the vector below stays the same. */
static struct who	 alice = { .name = "alice" }, bobby = { .name = "bobby" };
static struct who	 carol = { .name = "carol" }, mallo = { .name = "mallo" };

struct ent {
	uint8_t		 b[E2E_ROSTER_ENTRY_MAX];
	size_t		 len;
};

static int
setup(void **state UNUSED)
{
	struct who	*w[] = { &alice, &bobby, &carol, &mallo };
	size_t		 i;

	for (i = 0; i < 4; i++) {
		memset(w[i]->priv, 0x11 * (int)(i + 1), 32);
		assert_int_equal(crypto_ed25519_public(w[i]->priv, w[i]->pub),
		    0);
	}
	return 0;
}

/* An entry signed by actor about subject, following r. */
static struct ent
entry(const struct e2e_roster *r, uint8_t op, const struct who *subject,
    const struct who *actor, uint8_t arg)
{
	struct e2e_roster_entry	 e;
	struct ent		 x;

	memset(&e, 0, sizeof(e));
	(void)strcpy(e.room, r->room);
	e.index = r->count;
	if (r->count > 0)
		memcpy(e.prev, r->head, 32);
	e.op = op;
	(void)strcpy(e.subject, subject->name);
	memcpy(e.subject_key, subject->pub, 32);
	(void)strcpy(e.actor, actor->name);
	memcpy(e.actor_key, actor->pub, 32);
	e.arg = arg;
	e.ts_ms = 1700000000000ULL + r->count;
	assert_int_equal(e2e_roster_entry_sign(&e, actor->priv, x.b,
	    sizeof(x.b), &x.len), E2E_OK);
	return x;
}

static int
apply(struct e2e_roster *r, const struct ent *x)
{
	return e2e_roster_apply(r, x->b, x->len, NULL);
}

/* Offsets in an entry of #room with 5-byte names (docs/E2E.md 9.1). */
#define OFF_INDEX	8
#define OFF_PREV	12
#define OFF_OP		44
#define OFF_SUBJECT	45
#define OFF_SKEY	51
#define OFF_ACTOR	83
#define OFF_AKEY	89
#define OFF_ARG		121
#define OFF_TS		122
#define OFF_SIG		130
#define ENTRY_LEN	194

static void
entry_follows_spec_layout(void **state UNUSED)
{
	struct e2e_roster	 r;
	struct ent		 x;
	struct crypto_part	 parts[2];
	uint8_t			 h[32], want[32], buf[300];
	const char		*label = "securechat/v1/roster";

	assert_int_equal(e2e_roster_init(&r, ROOM), E2E_OK);
	x = entry(&r, E2E_ROSTER_CREATE, &alice, &alice,
	    E2E_ROSTER_INVITE_ONLY);
	assert_int_equal(x.len, ENTRY_LEN);
	assert_int_equal(x.b[0], 2);
	assert_int_equal(x.b[1], 0x30);
	assert_int_equal(x.b[2], 5);
	assert_memory_equal(x.b + 3, ROOM, 5);
	assert_int_equal(x.b[OFF_INDEX + 3], 0);
	assert_memory_equal(x.b + OFF_PREV, "\0\0\0\0\0\0\0\0", 8);
	assert_int_equal(x.b[OFF_OP], E2E_ROSTER_CREATE);
	assert_int_equal(x.b[OFF_SUBJECT], 5);
	assert_memory_equal(x.b + OFF_SUBJECT + 1, "alice", 5);
	assert_memory_equal(x.b + OFF_SKEY, alice.pub, 32);
	assert_memory_equal(x.b + OFF_ACTOR + 1, "alice", 5);
	assert_memory_equal(x.b + OFF_AKEY, alice.pub, 32);
	assert_int_equal(x.b[OFF_ARG], E2E_ROSTER_INVITE_ONLY);
	assert_int_equal(x.b[OFF_TS + 7], 1700000000000ULL & 0xff);
	/* The signature: identity key over label || the entry before it. */
	parts[0].p = label;
	parts[0].len = strlen(label);
	parts[1].p = x.b;
	parts[1].len = OFF_SIG;
	assert_int_equal(crypto_ed25519_verify_parts(alice.pub, parts, 2,
	    x.b + OFF_SIG), 0);
	/* The hash: SHA-256(label || the whole entry). */
	memcpy(buf, "securechat/v1/roster-hash", 25);
	memcpy(buf + 25, x.b, x.len);
	assert_int_equal(crypto_sha256(buf, 25 + x.len, want), 0);
	assert_int_equal(e2e_roster_entry_hash(x.b, x.len, h), E2E_OK);
	assert_memory_equal(h, want, 32);
	assert_int_equal(apply(&r, &x), E2E_OK);
	assert_memory_equal(r.head, want, 32);
	assert_int_equal(r.count, 1);
	e2e_roster_free(&r);
}

/*
 * A fixed vector: alice (private key 32 bytes of 0x11) creates #room,
 * open, at ts 1700000000000.  Ed25519 is deterministic, so these bytes
 * are the format: another implementation must produce the same.
 */
static void
entry_vector(void **state UNUSED)
{
	static const char	*want_hash =
	    "5a6a1a83c95b7cd9c22f280b5b6be3be3fead99982202e00c5d7afda6c2741fb";
	struct e2e_roster	 r;
	struct ent		 x;
	uint8_t			 h[32];
	char			 hex[65];

	assert_int_equal(e2e_roster_init(&r, ROOM), E2E_OK);
	x = entry(&r, E2E_ROSTER_CREATE, &alice, &alice, E2E_ROSTER_OPEN);
	assert_int_equal(e2e_roster_entry_hash(x.b, x.len, h), E2E_OK);
	hex_encode(h, 32, hex);
	assert_string_equal(hex, want_hash);
	e2e_roster_free(&r);
}

/* An open room: anyone joins and leaves by their own signature. */
static void
open_room_chain(void **state UNUSED)
{
	struct e2e_roster		 r;
	const struct e2e_roster_member	*m;
	struct ent			 x[5];
	uint8_t				 h1[32];

	assert_int_equal(e2e_roster_init(&r, ROOM), E2E_OK);
	x[0] = entry(&r, E2E_ROSTER_CREATE, &alice, &alice, E2E_ROSTER_OPEN);
	assert_int_equal(apply(&r, &x[0]), E2E_OK);
	x[1] = entry(&r, E2E_ROSTER_JOIN, &bobby, &bobby, 0);
	assert_int_equal(apply(&r, &x[1]), E2E_OK);
	memcpy(h1, r.head, 32);
	x[2] = entry(&r, E2E_ROSTER_JOIN, &carol, &carol, 0);
	assert_int_equal(apply(&r, &x[2]), E2E_OK);
	assert_int_equal(r.nm, 3);
	assert_non_null(m = e2e_roster_member(&r, "alice"));
	assert_int_equal(m->role, E2E_ROSTER_ADMIN);
	assert_non_null(m = e2e_roster_member(&r, "bobby"));
	assert_int_equal(m->role, E2E_ROSTER_MEMBER);
	assert_memory_equal(m->key, bobby.pub, 32);
	x[3] = entry(&r, E2E_ROSTER_PART, &bobby, &bobby, 0);
	assert_int_equal(apply(&r, &x[3]), E2E_OK);
	assert_null(e2e_roster_member(&r, "bobby"));
	assert_int_equal(r.count, 4);
	/* A sender a few entries behind is known; an unknown head is not. */
	assert_true(e2e_roster_knows(&r, h1));
	assert_true(e2e_roster_knows(&r, r.head));
	assert_false(e2e_roster_knows(&r, alice.pub));
	assert_memory_equal(e2e_roster_hash_at(&r, 1), h1, 32);
	assert_null(e2e_roster_hash_at(&r, 4));
	/* The same entry again: its index is taken. */
	assert_int_equal(apply(&r, &x[2]), E2E_EFORK);
	/* Joining twice with the same key says nothing: refused. */
	x[4] = entry(&r, E2E_ROSTER_JOIN, &carol, &carol, 0);
	assert_int_equal(apply(&r, &x[4]), E2E_EROSTER);
	e2e_roster_free(&r);
}

/*
 * What a server that holds no member's key can do: nothing but replay,
 * reorder or cut entries, and each of those is refused.  (It can sign
 * as an account it registered itself: in an open room that is a join
 * like any other, shown to every member.)
 */
static void
server_cannot_write(void **state UNUSED)
{
	struct e2e_roster	 r, s;
	struct ent		 c, j, forged, x;
	size_t			 pos;
	int			 rc;

	assert_int_equal(e2e_roster_init(&r, ROOM), E2E_OK);
	c = entry(&r, E2E_ROSTER_CREATE, &alice, &alice,
	    E2E_ROSTER_INVITE_ONLY);
	assert_int_equal(apply(&r, &c), E2E_OK);
	/* A ghost's own join in an invite-only room: the policy says no. */
	j = entry(&r, E2E_ROSTER_JOIN, &mallo, &mallo, 0);
	assert_int_equal(apply(&r, &j), E2E_EROSTER);
	/* An admission claiming alice but signed by mallory. */
	forged = entry(&r, E2E_ROSTER_INVITE, &mallo, &alice, 0);
	memcpy(forged.b + OFF_SIG, j.b + OFF_SIG, 64);
	assert_int_equal(apply(&r, &forged), E2E_ESIG);
	/* Signed by mallory, naming mallory's key as alice's. */
	{
		struct e2e_roster_entry	 e;

		assert_int_equal(e2e_roster_entry_parse(forged.b, forged.len,
		    &e), E2E_OK);
		memcpy(e.actor_key, mallo.pub, 32);
		assert_int_equal(e2e_roster_entry_sign(&e, mallo.priv, x.b,
		    sizeof(x.b), &x.len), E2E_OK);
		assert_int_equal(apply(&r, &x), E2E_EROSTER);
	}
	/* Every single bit of a genuine admission changed: refused. */
	x = entry(&r, E2E_ROSTER_INVITE, &carol, &alice, 0);
	for (pos = 0; pos < x.len; pos++) {
		forged = x;
		forged.b[pos] ^= 0x04;
		assert_int_equal(e2e_roster_copy(&s, &r), E2E_OK);
		rc = apply(&s, &forged);
		if (rc == E2E_OK)
			fail_msg("a flipped bit at %zu was accepted", pos);
		e2e_roster_free(&s);
	}
	/* Cut short or extended. */
	assert_int_equal(e2e_roster_apply(&r, x.b, x.len - 1, NULL),
	    E2E_EMALFORMED);
	assert_int_equal(apply(&r, &x), E2E_OK);
	assert_int_equal(r.nm, 2);
	/* A removal is an admin's: carol cannot remove alice. */
	x = entry(&r, E2E_ROSTER_REMOVE, &alice, &carol, 0);
	assert_int_equal(apply(&r, &x), E2E_EROSTER);
	x = entry(&r, E2E_ROSTER_REMOVE, &carol, &alice, 0);
	assert_int_equal(apply(&r, &x), E2E_OK);
	assert_null(e2e_roster_member(&r, "carol"));
	/* Another room's entry. */
	assert_int_equal(e2e_roster_init(&s, "#rook"), E2E_OK);
	assert_int_equal(apply(&s, &c), E2E_EROOM);
	e2e_roster_free(&s);
	e2e_roster_free(&r);
}

/* Invite-only: only admins admit; an admitted admin admits too. */
static void
invite_only_policy(void **state UNUSED)
{
	struct e2e_roster	 r;
	struct ent		 x;

	assert_int_equal(e2e_roster_init(&r, ROOM), E2E_OK);
	x = entry(&r, E2E_ROSTER_CREATE, &alice, &alice,
	    E2E_ROSTER_INVITE_ONLY);
	assert_int_equal(apply(&r, &x), E2E_OK);
	x = entry(&r, E2E_ROSTER_INVITE, &bobby, &alice, E2E_ROSTER_MEMBER);
	assert_int_equal(apply(&r, &x), E2E_OK);
	/* bobby is no admin. */
	x = entry(&r, E2E_ROSTER_INVITE, &carol, &bobby, E2E_ROSTER_MEMBER);
	assert_int_equal(apply(&r, &x), E2E_EROSTER);
	x = entry(&r, E2E_ROSTER_INVITE, &carol, &alice, E2E_ROSTER_ADMIN);
	assert_int_equal(apply(&r, &x), E2E_OK);
	x = entry(&r, E2E_ROSTER_INVITE, &mallo, &carol, E2E_ROSTER_MEMBER);
	assert_int_equal(apply(&r, &x), E2E_OK);
	/* Not twice; not a role that does not exist. */
	x = entry(&r, E2E_ROSTER_INVITE, &mallo, &alice, E2E_ROSTER_MEMBER);
	assert_int_equal(apply(&r, &x), E2E_EROSTER);
	x = entry(&r, E2E_ROSTER_PART, &mallo, &mallo, 0);
	assert_int_equal(apply(&r, &x), E2E_OK);
	x = entry(&r, E2E_ROSTER_INVITE, &mallo, &alice, 7);
	assert_int_equal(apply(&r, &x), E2E_EROSTER);
	/* A CREATE is entry 0 only. */
	x = entry(&r, E2E_ROSTER_CREATE, &bobby, &bobby, 0);
	assert_int_equal(apply(&r, &x), E2E_EROSTER);
	e2e_roster_free(&r);
}

/* The verified state across a restart, and what its reader refuses. */
static void
rosters_record(void **state UNUSED)
{
	struct e2e_roster	 r[2], *v = NULL;
	struct ent		 x;
	uint8_t			 b[4096];
	size_t			 len, used, n, i;

	assert_int_equal(e2e_roster_init(&r[0], "#a"), E2E_OK);
	x = entry(&r[0], E2E_ROSTER_CREATE, &alice, &alice, E2E_ROSTER_OPEN);
	assert_int_equal(apply(&r[0], &x), E2E_OK);
	x = entry(&r[0], E2E_ROSTER_JOIN, &bobby, &bobby, 0);
	assert_int_equal(apply(&r[0], &x), E2E_OK);
	r[0].mark = 1;
	assert_int_equal(e2e_roster_init(&r[1], "#b"), E2E_OK);
	r[1].mark = 2;			/* a room without a roster */
	assert_int_equal(e2e_rosters_state_write(r, 2, b, sizeof(b), &len),
	    E2E_OK);
	assert_int_equal(len, e2e_rosters_state_size(r, 2));
	assert_int_equal(b[1], E2E_STATE_ROSTERS);
	assert_int_equal(e2e_rosters_state_read(&v, &n, b, len, &used),
	    E2E_OK);
	assert_int_equal(n, 2);
	assert_int_equal(used, len);
	assert_int_equal(v[0].count, 2);
	assert_memory_equal(v[0].head, r[0].head, 32);
	assert_int_equal(v[0].nm, 2);
	assert_int_equal(v[0].mark, 1);
	assert_int_equal(v[1].mark, 2);
	/* It goes on from where it was. */
	x = entry(&v[0], E2E_ROSTER_JOIN, &carol, &carol, 0);
	assert_int_equal(apply(&v[0], &x), E2E_OK);
	for (i = 0; i < n; i++)
		e2e_roster_free(&v[i]);
	free(v);
	/* Every byte changed: refused or still consistent, never a crash. */
	for (i = 2; i < len; i++) {
		b[i] ^= 0xff;
		if (e2e_rosters_state_read(&v, &n, b, len, &used) == E2E_OK) {
			while (n > 0)
				e2e_roster_free(&v[--n]);
			free(v);
		} else
			assert_null(v);
		b[i] ^= 0xff;
	}
	for (i = 0; i < len; i++)
		assert_int_not_equal(e2e_rosters_state_read(&v, &n, b, i,
		    &used), E2E_OK);
	e2e_roster_free(&r[0]);
	e2e_roster_free(&r[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entry_follows_spec_layout),
		cmocka_unit_test(entry_vector),
		cmocka_unit_test(open_room_chain),
		cmocka_unit_test(server_cannot_write),
		cmocka_unit_test(invite_only_policy),
		cmocka_unit_test(rosters_record),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
