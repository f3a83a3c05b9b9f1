/*
 * test_client_queue.c: the client's delivery bookkeeping: the outbox keeps
 * order and resends what was rate limited or lost, and the .seen file
 * survives a restart, is replaced atomically, and refuses garbage.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "proto.h"

static struct outmsg *
add_text(struct outbox *ob, const char *room, const char *text)
{
	struct outmsg	*m;

	m = outbox_add(ob, MSG_SEND, room, NULL, text, strlen(text));
	assert_non_null(m);
	return m;
}

/* Ids are nonzero and distinct; an ACK finds its message wherever it is. */
static void
test_outbox_ids_and_ack(void **state)
{
	struct outbox	 ob;
	struct outmsg	*a, *b, *c;
	uint64_t	 bid;

	outbox_init(&ob);
	a = add_text(&ob, "#r", "one");
	b = add_text(&ob, "#r", "two");
	c = outbox_add(&ob, MSG_SEND, NULL, "bob", "dm", 2);
	assert_int_not_equal(a->id, 0);
	assert_int_not_equal(a->id, b->id);
	assert_int_not_equal(b->id, c->id);
	assert_int_equal(ob.n, 3);
	assert_int_equal(ob.nsend, 3);
	assert_ptr_equal(outbox_find_id(&ob, b->id), b);
	bid = b->id;
	outbox_remove(&ob, b);
	assert_null(outbox_find_id(&ob, bid));	/* a second ACK: ignored */
	assert_ptr_equal(TAILQ_FIRST(&ob.q), a);
	assert_ptr_equal(TAILQ_NEXT(a, entry), c);
	assert_string_equal(c->to, "bob");
	assert_memory_equal(c->body, "dm", 2);
	outbox_clear(&ob);
	assert_int_equal(ob.n, 0);
	assert_int_equal(ob.nsend, 0);
}

/*
 * Rate limited: the message and every message behind it go again; the
 * ones in front and the requests behind it (already served) do not.
 */
static void
test_outbox_unsend_from(void **state)
{
	struct outbox	 ob;
	struct outmsg	*m1, *m2, *j, *m3, *m;

	outbox_init(&ob);
	m1 = add_text(&ob, "#r", "1");
	m2 = add_text(&ob, "#r", "2");
	j = outbox_add(&ob, MSG_JOIN, "#s", NULL, NULL, 0);
	m3 = add_text(&ob, "#r", "3");
	TAILQ_FOREACH(m, &ob.q, entry)
		m->sent = 1;
	outbox_unsend_from(&ob, m2);
	assert_int_equal(m1->sent, 1);
	assert_int_equal(m2->sent, 0);
	assert_int_equal(j->sent, 1);
	assert_int_equal(m3->sent, 0);
	outbox_unsend_all(&ob);
	assert_int_equal(m1->sent, 0);
	assert_int_equal(j->sent, 0);
	outbox_clear(&ob);
}

/* A reply answers the first request sent of its type (and room). */
static void
test_outbox_requests(void **state)
{
	struct outbox	 ob;
	struct outmsg	*w1, *w2, *r;

	outbox_init(&ob);
	w1 = outbox_add(&ob, MSG_WHO, "#a", NULL, NULL, 0);
	w2 = outbox_add(&ob, MSG_WHO, "#b", NULL, NULL, 0);
	r = outbox_add(&ob, MSG_ROOMS, NULL, NULL, NULL, 0);
	assert_int_equal(ob.nsend, 0);
	/* Not sent yet: nothing can be its answer. */
	assert_null(outbox_find_request(&ob, MSG_WHO, NULL));
	w1->sent = w2->sent = r->sent = 1;
	assert_ptr_equal(outbox_find_request(&ob, MSG_WHO, "#b"), w2);
	assert_ptr_equal(outbox_find_request(&ob, MSG_WHO, NULL), w1);
	assert_ptr_equal(outbox_find_request(&ob, MSG_ROOMS, NULL), r);
	assert_null(outbox_find_request(&ob, MSG_INFO, NULL));
	outbox_clear(&ob);
}

static char	 dir[] = "/tmp/test_client_queue.XXXXXX";
static char	 file[256];

static int
setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	(void)snprintf(file, sizeof(file), "%s/alice@127.0.0.1_7443.seen",
	    dir);
	return 0;
}

static int
teardown(void **state)
{
	char	 tmp[300];

	(void)unlink(file);
	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	(void)unlink(tmp);
	return rmdir(dir);
}

static void
write_file(const char *text)
{
	FILE	*fp;

	fp = fopen(file, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(file, 0600), 0);
}

/* What one run saved, the next loads: a restarted client shows nothing twice. */
static void
test_seen_round_trip(void **state)
{
	struct seen		 s, t;
	struct seen_entry	*e;
	struct stat		 st;
	char			 err[256];

	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	(void)unlink(file);
	assert_int_equal(seen_load(&s, file, err, sizeof(err)), 0);
	assert_int_equal(s.n, 0);	/* no file yet: nothing seen */
	seen_get(&s, "#lobby", 1)->shown = 42;
	seen_get(&s, SEEN_INBOX, 1)->shown = 7;
	seen_get(&s, "#empty", 1);	/* nothing shown: not written */
	assert_null(seen_get(&s, "#missing", 0));
	assert_int_equal(seen_save(&s, file, err, sizeof(err)), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(seen_load(&t, file, err, sizeof(err)), 0);
	assert_int_equal(t.n, 2);
	e = seen_get(&t, "#lobby", 0);
	assert_non_null(e);
	assert_int_equal(e->shown, 42);
	assert_int_equal(e->told, 0);
	e = seen_get(&t, SEEN_INBOX, 0);
	assert_non_null(e);
	assert_int_equal(e->shown, 7);
	assert_null(seen_get(&t, "#empty", 0));

	/* A second save replaces the first whole. */
	seen_get(&t, "#lobby", 0)->shown = 43;
	assert_int_equal(seen_save(&t, file, err, sizeof(err)), 0);
	seen_free(&s);
	assert_int_equal(seen_load(&s, file, err, sizeof(err)), 0);
	assert_int_equal(seen_get(&s, "#lobby", 0)->shown, 43);
	seen_free(&s);
	seen_free(&t);
}

/* A damaged file is an error, not a silent reset that would show all again. */
static void
test_seen_refuses_garbage(void **state)
{
	static const char	*bad[] = {
		"#lobby\n",
		"#lobby x\n",
		"#Lobby 3\n",
		"lobby 3\n",
		"#lobby 3 4\n",
		"#lobby 99999999999999999999999\n",
	};
	struct seen		 s;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0, sizeof(s));
		write_file(bad[i]);
		assert_int_equal(seen_load(&s, file, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "line 1"));
		seen_free(&s);
	}
	/* Duplicates keep the highest: never show again what was shown. */
	memset(&s, 0, sizeof(s));
	write_file("#a 5\n\n#a 3\n@ 2\n");
	assert_int_equal(seen_load(&s, file, err, sizeof(err)), 0);
	assert_int_equal(seen_get(&s, "#a", 0)->shown, 5);
	assert_int_equal(seen_get(&s, SEEN_INBOX, 0)->shown, 2);
	seen_free(&s);
}

/*
 * The marks count in one server database.  Another one (a new epoch in
 * WELCOME) resets them all, so that its seqs, which start again from 1,
 * are not hidden; the same one leaves them; the epoch is saved with them.
 */
static void
test_seen_epoch(void **state)
{
	struct seen	 s;
	uint8_t		 one[EPOCH_LEN], two[EPOCH_LEN];
	char		 err[256];

	memset(one, 0x11, sizeof(one));
	memset(two, 0x22, sizeof(two));
	memset(&s, 0, sizeof(s));
	/* A file from before epochs: its marks cannot be trusted. */
	write_file("#a 5\n@ 2\n");
	assert_int_equal(seen_load(&s, file, err, sizeof(err)), 0);
	assert_int_equal(s.has_epoch, 0);
	assert_int_equal(seen_epoch(&s, one), SEEN_EPOCH_RESET);
	assert_int_equal(seen_get(&s, "#a", 0)->shown, 0);
	assert_int_equal(seen_get(&s, SEEN_INBOX, 0)->shown, 0);
	assert_int_equal(seen_epoch(&s, one), SEEN_EPOCH_SAME);
	seen_get(&s, "#a", 0)->shown = 3;
	assert_int_equal(seen_save(&s, file, err, sizeof(err)), 0);
	seen_free(&s);

	assert_int_equal(seen_load(&s, file, err, sizeof(err)), 0);
	assert_int_equal(s.has_epoch, 1);
	assert_memory_equal(s.epoch, one, sizeof(one));
	assert_int_equal(seen_epoch(&s, one), SEEN_EPOCH_SAME);
	assert_int_equal(seen_get(&s, "#a", 0)->shown, 3);
	/* The database was made anew: every mark goes. */
	assert_int_equal(seen_epoch(&s, two), SEEN_EPOCH_RESET);
	assert_int_equal(seen_get(&s, "#a", 0)->shown, 0);
	assert_memory_equal(s.epoch, two, sizeof(two));
	seen_free(&s);

	/* Nothing shown yet: the epoch is only adopted. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(seen_epoch(&s, two), SEEN_EPOCH_NEW);
	seen_free(&s);
	write_file("epoch 0011\n");
	assert_int_equal(seen_load(&s, file, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an epoch"));
	seen_free(&s);
}

/*
 * What a server could have put there through an older client does not
 * stop the client: a seq above the bound and rooms past the table's size
 * are skipped and counted (issue 10).
 */
static void
test_seen_skips_server_damage(void **state)
{
	struct seen	 s;
	char		 err[256];
	FILE		*fp;
	size_t		 i;

	memset(&s, 0, sizeof(s));
	write_file("#a 5\n#b 18446744073709551615\n#c 9007199254740991\n"
	    "#d 9007199254740992\n");
	assert_int_equal(seen_load(&s, file, err, sizeof(err)), 0);
	assert_int_equal(s.skipped, 2);
	assert_int_equal(seen_get(&s, "#a", 0)->shown, 5);
	assert_null(seen_get(&s, "#b", 0));
	assert_int_equal(seen_get(&s, "#c", 0)->shown, SEEN_SEQ_MAX);
	assert_null(seen_get(&s, "#d", 0));
	seen_free(&s);

	assert_non_null(fp = fopen(file, "w"));
	for (i = 0; i < SEEN_MAX_ENTRIES + 10; i++)
		assert_true(fprintf(fp, "#r%zu 1\n", i) > 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(file, 0600), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(seen_load(&s, file, err, sizeof(err)), 0);
	assert_int_equal(s.n, SEEN_MAX_ENTRIES);
	assert_int_equal(s.skipped, 10);
	/* Full: a new room evicts the tenth least recently used. */
	assert_non_null(seen_get(&s, "#r0", 0));
	assert_non_null(seen_get(&s, "#new", 1));
	assert_int_equal(s.evicted, SEEN_MAX_ENTRIES / 10);
	assert_int_equal(s.n, SEEN_MAX_ENTRIES - SEEN_MAX_ENTRIES / 10 + 1);
	assert_non_null(seen_get(&s, "#r0", 0));	/* used just now */
	assert_null(seen_get(&s, "#r1", 0));
	assert_non_null(seen_get(&s, "#new", 0));
	seen_free(&s);
}

/* Whoever could write it could hide messages: others' access is refused. */
static void
test_seen_refuses_open_modes(void **state)
{
	struct seen	 s;
	char		 err[256], link[300];

	memset(&s, 0, sizeof(s));
	write_file("#a 5\n");
	assert_int_equal(chmod(file, 0620), 0);
	assert_int_equal(seen_load(&s, file, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(file, 0600), 0);
	assert_int_equal(seen_load(&s, file, err, sizeof(err)), 0);
	assert_int_equal(seen_get(&s, "#a", 0)->shown, 5);
	seen_free(&s);

	/* A symbolic link is not followed. */
	(void)snprintf(link, sizeof(link), "%s.link", file);
	(void)unlink(link);
	assert_int_equal(symlink(file, link), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(seen_load(&s, link, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	seen_free(&s);
	assert_int_equal(unlink(link), 0);
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_outbox_ids_and_ack),
		cmocka_unit_test(test_outbox_unsend_from),
		cmocka_unit_test(test_outbox_requests),
		cmocka_unit_test(test_seen_round_trip),
		cmocka_unit_test(test_seen_epoch),
		cmocka_unit_test(test_seen_refuses_garbage),
		cmocka_unit_test(test_seen_skips_server_damage),
		cmocka_unit_test(test_seen_refuses_open_modes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
