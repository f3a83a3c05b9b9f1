/*
 * test_history.c: the client's local history: rows survive a restart,
 * come back per conversation in pages and through search, age out, are
 * erased by a clear, and nothing of a message is readable on disk.
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

#include "history.h"
#include "localfile.h"
#include "xmalloc.h"

struct fx {
	char		 dir[64];
	char		*db;
	char		*key;
	uint8_t		 km[32];
};

static int
setup(void **state)
{
	struct fx	*f = xcalloc(1, sizeof(*f));

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/test_history.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void)xasprintf(&f->db, "%s/alice@host_7443.history", f->dir);
	(void)xasprintf(&f->key, "%s/alice@host_7443.history-key", f->dir);
	memset(f->km, 0x42, sizeof(f->km));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	char		*cmd = NULL;

	(void)xasprintf(&cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->db);
	free(f->key);
	free(f);
	return 0;
}

static void
add(struct history *h, const char *conv, const char *from, const char *text,
    uint64_t ts)
{
	struct hist_rec	 r;
	char		 err[256];

	memset(&r, 0, sizeof(r));
	r.kind = conv[0] == '@' ? HIST_DIRECT : HIST_MESSAGE;
	r.ts = ts;
	r.seq = ts;
	(void)snprintf(r.conv, sizeof(r.conv), "%s", conv);
	(void)snprintf(r.from, sizeof(r.from), "%s", from);
	r.text = text;
	r.len = strlen(text);
	assert_int_equal(history_add(h, &r, NULL, err, sizeof(err)), 0);
}

struct got {
	char	 lines[16][128];
	int64_t	 ids[16];
	size_t	 n;
};

static int
collect(const struct hist_rec *r, void *arg)
{
	struct got	*g = arg;

	if (g->n < 16) {
		(void)snprintf(g->lines[g->n], sizeof(g->lines[0]),
		    "%s <%s> %.*s", r->conv, r->from, (int)r->len, r->text);
		g->ids[g->n] = r->id;
		g->n++;
	}
	return 0;
}

/* What was written comes back after a restart, per conversation, in order. */
static void
test_history_restart_and_pages(void **state)
{
	struct fx	*f = *state;
	struct history	*h;
	struct got	 g;
	char		 err[256];

	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	add(h, "#lobby", "bob", "one", 1000);
	add(h, "#ops", "carol", "deploy", 1001);
	add(h, "#lobby", "alice", "two", 1002);
	add(h, "@bob", "bob", "psst", 1003);
	add(h, "#lobby", "bob", "three", 1004);
	history_close(h);

	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(history_page(h, "#lobby", 0, 2, collect, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.lines[0], "#lobby <alice> two");
	assert_string_equal(g.lines[1], "#lobby <bob> three");
	/* The page before the oldest shown. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(history_page(h, "#lobby", 3, 10, collect, &g), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.lines[0], "#lobby <bob> one");
	memset(&g, 0, sizeof(g));
	assert_int_equal(history_page(h, "@bob", 0, 10, collect, &g), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.lines[0], "@bob <bob> psst");
	assert_int_equal(history_count(h), 5);
	history_close(h);
}

static void
test_history_search(void **state)
{
	struct fx	*f = *state;
	struct history	*h;
	struct got	 g;
	char		 err[256];
	size_t		 found;

	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	add(h, "#lobby", "bob", "the Deploy is done", 1000);
	add(h, "#ops", "carol", "nothing here", 1001);
	add(h, "@bob", "bob", "deploy again?", 1002);
	memset(&g, 0, sizeof(g));
	assert_int_equal(history_search(h, "deploy", 10, collect, &g, &found),
	    0);
	assert_int_equal(found, 2);
	assert_string_equal(g.lines[0], "#lobby <bob> the Deploy is done");
	assert_string_equal(g.lines[1], "@bob <bob> deploy again?");
	memset(&g, 0, sizeof(g));
	assert_int_equal(history_search(h, "deploy", 1, collect, &g, &found),
	    0);
	assert_int_equal(found, 1);	/* the newest */
	assert_string_equal(g.lines[0], "@bob <bob> deploy again?");
	history_close(h);
}

/* Retention: rows older than the cut go, newer ones stay. */
static void
test_history_prune(void **state)
{
	struct fx	*f = *state;
	struct history	*h;
	char		 err[256];

	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	add(h, "#a", "x", "old", 1000);
	add(h, "#a", "x", "older", 500);
	add(h, "#a", "x", "new", 5000);
	assert_int_equal(history_prune(h, 2000), 2);
	assert_int_equal(history_count(h), 1);
	history_close(h);
}

static int
file_has(const char *path, const char *needle)
{
	FILE	*fp;
	char	*buf;
	size_t	 n, i, nl = strlen(needle);
	int	 found = 0;

	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	buf = xmalloc(1 << 22);
	n = fread(buf, 1, 1 << 22, fp);
	(void)fclose(fp);
	for (i = 0; i + nl <= n; i++)
		if (memcmp(buf + i, needle, nl) == 0)
			found = 1;
	free(buf);
	return found;
}

/*
 * Nothing readable on disk: not the text, not the sender, not the room;
 * and the row key only opens with the identity's key material.
 */
static void
test_history_sealed_at_rest(void **state)
{
	struct fx	*f = *state;
	struct history	*h;
	char		 err[256], *wal = NULL;
	uint8_t		 other[32];
	struct stat	 st;

	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	add(h, "#secretroom", "mallory", "the launch code is 0000", 1000);
	history_close(h);
	(void)xasprintf(&wal, "%s-wal", f->db);
	assert_false(file_has(f->db, "launch code"));
	assert_false(file_has(wal, "launch code"));
	assert_false(file_has(f->db, "mallory"));
	assert_false(file_has(f->db, "secretroom"));
	assert_false(file_has(wal, "secretroom"));
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	free(wal);

	memset(other, 0x43, sizeof(other));
	assert_int_equal(history_open(&h, f->db, f->key, other, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "another key"));
}

/* /clear: the rows go, and a copy of the old files stays unreadable. */
static void
test_history_clear(void **state)
{
	struct fx	*f = *state;
	struct history	*h;
	struct got	 g;
	char		 err[256];
	uint8_t		*old = NULL, *new = NULL;
	size_t		 oldlen, newlen;

	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	add(h, "#lobby", "bob", "forget me", 1000);
	assert_int_equal(localfile_read(f->key, f->km, HISTORY_KEY_LABEL,
	    &old, &oldlen, err, sizeof(err)), 0);
	assert_int_equal(history_clear(h, f->km, err, sizeof(err)), 0);
	assert_int_equal(history_count(h), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(history_page(h, "#lobby", 0, 10, collect, &g), 0);
	assert_int_equal(g.n, 0);
	assert_int_equal(localfile_read(f->key, f->km, HISTORY_KEY_LABEL,
	    &new, &newlen, err, sizeof(err)), 0);
	assert_int_equal(oldlen, newlen);
	assert_memory_not_equal(old, new, oldlen);
	add(h, "#lobby", "bob", "after", 2000);
	assert_int_equal(history_count(h), 1);
	history_close(h);
	free(old);
	free(new);
}

/* State blobs (the window list) round-trip, sealed like rows. */
static void
test_history_state(void **state)
{
	struct fx	*f = *state;
	struct history	*h;
	char		 err[256];
	uint8_t		*data;
	size_t		 len;

	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	assert_int_equal(history_state_get(h, "windows", &data, &len), 1);
	assert_int_equal(history_state_put(h, "windows",
	    (const uint8_t *)"#lobby\n@bob\n", 12), 0);
	assert_int_equal(history_state_put(h, "windows",
	    (const uint8_t *)"#ops\n", 5), 0);
	history_close(h);
	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	assert_int_equal(history_state_get(h, "windows", &data, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "#ops\n", 5);
	free(data);
	history_close(h);
	assert_false(file_has(f->db, "#ops"));
}

/* A database whose key file is gone cannot be read: it starts afresh. */
static void
test_history_lost_key(void **state)
{
	struct fx	*f = *state;
	struct history	*h;
	char		 err[256];

	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	add(h, "#lobby", "bob", "x", 1000);
	history_close(h);
	assert_int_equal(unlink(f->key), 0);
	assert_int_equal(history_open(&h, f->db, f->key, f->km, err,
	    sizeof(err)), 0);
	assert_int_equal(history_count(h), 0);
	history_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_history_restart_and_pages,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_search, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_prune, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_sealed_at_rest,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_clear, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_lost_key, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
