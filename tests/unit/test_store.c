/*
 * test_store.c: the broker's database opens in WAL mode with
 * synchronous=FULL, migrates old files forward and refuses newer ones,
 * empty ones, other programs' and damaged ones; has an identity; and keeps
 * accounts, rooms and logs with sequence, de-duplication and pruning.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"

static char	 dir[] = "/tmp/test_store.XXXXXX";
static char	 path[sizeof(dir) + 32];

static int
setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/test.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[sizeof(dir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
remove_db(void)
{
	char	 p[sizeof(path) + 8];

	(void)unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	(void)unlink(p);
}

static int
raw_int(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
raw_exec(const char *sql)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
new_database_is_migrated_wal_and_full(void **state)
{
	struct store	*s;
	char		 err[256];

	remove_db();
	s = store_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	assert_int_equal(store_synchronous(s), 2);	/* FULL */
	store_close(s);
	assert_int_equal(raw_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	/* WAL is a property of the file: a plain reopen still sees it. */
	assert_int_equal(raw_int("SELECT journal_mode = 'wal' FROM "
	    "pragma_journal_mode"), 1);
	assert_int_equal(raw_int("SELECT count(*) FROM server WHERE key = "
	    "'created'"), 1);
}

static void
reopen_keeps_data_and_version(void **state)
{
	struct store	*s;
	char		 err[256];

	remove_db();
	s = store_open(path, err, sizeof(err));
	assert_non_null(s);
	store_close(s);
	s = store_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	store_close(s);
	/* Migrations did not run twice: 'created' and 'epoch'. */
	assert_int_equal(raw_int("SELECT count(*) FROM server"), 2);
	assert_int_equal(raw_int("PRAGMA application_id"),
	    STORE_APPLICATION_ID);
}

/* Each database its own identity, kept across opens. */
static void
epoch_is_random_and_kept(void **state)
{
	struct store	*s;
	uint8_t		 first[STORE_EPOCH_LEN], zero[STORE_EPOCH_LEN];
	char		 err[256];

	remove_db();
	assert_non_null(s = store_open(path, err, sizeof(err)));
	memcpy(first, store_epoch(s), sizeof(first));
	memset(zero, 0, sizeof(zero));
	assert_memory_not_equal(first, zero, sizeof(zero));
	store_close(s);
	assert_non_null(s = store_open(path, err, sizeof(err)));
	assert_memory_equal(store_epoch(s), first, sizeof(first));
	store_close(s);
	/* Deleted (after restoring a backup): a new one is drawn. */
	assert_non_null(s = store_open(path, err, sizeof(err)));
	memcpy(first, store_epoch(s), sizeof(first));
	store_close(s);
	assert_int_equal(raw_int("SELECT count(*) FROM (SELECT 1 FROM server "
	    "WHERE key = 'epoch')"), 1);
	raw_exec("DELETE FROM server WHERE key = 'epoch'");
	assert_non_null(s = store_open(path, err, sizeof(err)));
	assert_memory_not_equal(store_epoch(s), first, sizeof(first));
	store_close(s);
	remove_db();
	assert_non_null(s = store_open(path, err, sizeof(err)));
	assert_memory_not_equal(store_epoch(s), first, sizeof(first));
	store_close(s);
}

/* Another program's SQLite file: neither migrated into nor changed. */
static void
foreign_file_is_refused(void **state)
{
	sqlite3		*db;
	char		 err[256];

	remove_db();
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE keepme (x); INSERT "
	    "INTO keepme VALUES (42);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "not a securechat database"));
	assert_int_equal(raw_int("SELECT x FROM keepme"), 42);
	assert_int_equal(raw_int("PRAGMA user_version"), 0);
	assert_int_equal(raw_int("SELECT count(*) FROM sqlite_master"), 1);
}

/* An empty file is refused, not made a new database under the old name. */
static void
empty_or_unreadable_file_is_refused(void **state)
{
	char	 err[256];
	int	 fd;

	remove_db();
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) != -1);
	assert_int_equal(close(fd), 0);
	assert_null(store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "exists but is empty"));
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) != -1);
	assert_true(write(fd, "not a database\n", 15) == 15);
	assert_int_equal(close(fd), 0);
	assert_null(store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "not a database"));
	remove_db();
}

/* A damaged page is found at open, before anything is served from it. */
static void
damaged_file_fails_the_quick_check(void **state)
{
	struct store	*s;
	uint8_t		 junk[512];
	char		 err[256];
	int		 fd;

	s = NULL;
	remove_db();
	assert_non_null(s = store_open(path, err, sizeof(err)));
	store_close(s);
	/* The b-tree page of the third table, overwritten with junk. */
	assert_true((fd = open(path, O_WRONLY)) != -1);
	memset(junk, 0x5a, sizeof(junk));
	assert_true(pwrite(fd, junk, sizeof(junk), 4 * 4096) ==
	    (ssize_t)sizeof(junk));
	assert_int_equal(close(fd), 0);
	assert_null(store_open(path, err, sizeof(err)));
	assert_true(strstr(err, "quick_check") != NULL ||
	    strstr(err, "malformed") != NULL);
	remove_db();
}

static void
newer_schema_is_refused(void **state)
{
	sqlite3		*db;
	char		 err[256], sql[64];

	remove_db();
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; "
	    "PRAGMA user_version = %d", STORE_APPLICATION_ID,
	    STORE_SCHEMA_VERSION + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "newer than this securechatd"));
}

static void
unopenable_path_is_an_error(void **state)
{
	char	 err[256];

	assert_null(store_open("/nonexistent/dir/x.db", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/dir/x.db"));
}

static void
version_one_file_with_data_migrates_to_current(void **state)
{
	struct store	*s;
	sqlite3		*db;
	char		 err[256];

	remove_db();
	/* Exactly what migration 0 -> 1 made, plus a fact of its own. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE server(key TEXT "
	    "PRIMARY KEY, value TEXT NOT NULL); INSERT INTO server VALUES "
	    "('created', '2020-01-01T00:00:00Z'), ('motd', 'hello');"
	    "PRAGMA user_version=1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = store_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	store_close(s);
	assert_int_equal(raw_int("PRAGMA user_version"), STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int("SELECT count(*) FROM server WHERE "
	    "(key = 'motd' AND value = 'hello') OR (key = 'created' AND "
	    "value = '2020-01-01T00:00:00Z')"), 2);
	assert_int_equal(raw_int("SELECT count(*) FROM users"), 0);
	assert_int_equal(raw_int("SELECT count(*) FROM sent"), 0);
	assert_int_equal(raw_int("SELECT count(*) FROM prekeys"), 0);
}

/* Helpers for the tests of the interface. */

static struct store *
fresh(void)
{
	struct store	*s;
	char		 err[256];

	remove_db();
	s = store_open(path, err, sizeof(err));
	assert_non_null(s);
	return s;
}

static void
keys_for(const char *name, uint8_t sign[STORE_KEY_LEN],
    uint8_t dh[STORE_KEY_LEN])
{
	memset(sign, name[0], STORE_KEY_LEN);
	memset(dh, name[0] ^ 0xff, STORE_KEY_LEN);
	sign[0] = 's';
	dh[0] = 'd';
}

static int64_t
add_user(struct store *s, const char *name)
{
	uint8_t		 sign[STORE_KEY_LEN], dh[STORE_KEY_LEN];
	int64_t		 id = -1;

	keys_for(name, sign, dh);
	assert_int_equal(store_user_add(s, name, sign, dh, &id), 0);
	assert_true(id > 0);
	return id;
}

static int64_t
add_room(struct store *s, const char *name)
{
	int64_t		 id = -1;

	assert_int_equal(store_room_create(s, name, &id), 0);
	assert_true(id > 0);
	return id;
}

static uint64_t
room_append(struct store *s, int64_t room, int64_t sender, uint64_t msgid,
    const char *text, int *dup)
{
	uint64_t	 seq = 0;
	int		 d = -1;

	assert_int_equal(store_room_append(s, room, sender, msgid, LOG_MESSAGE,
	    1000, (const uint8_t *)text, strlen(text), &seq, &d), 0);
	if (dup != NULL)
		*dup = d;
	return seq;
}

static uint64_t
inbox_append(struct store *s, int64_t to, int64_t sender, uint64_t msgid,
    const char *text, int *dup)
{
	uint64_t	 seq = 0;
	int		 d = -1;

	assert_int_equal(store_inbox_append(s, to, sender, msgid, LOG_MESSAGE,
	    1000, (const uint8_t *)text, strlen(text), &seq, &d), 0);
	if (dup != NULL)
		*dup = d;
	return seq;
}

static uint64_t
room_last(struct store *s, const char *name)
{
	uint64_t	 last = 0;

	assert_int_equal(store_room_get(s, name, NULL, &last), 0);
	return last;
}

/* What a read saw. */
struct seen {
	size_t		 n;
	size_t		 stop_after;	/* 0: never stop */
	uint64_t	 seq[16];
	int64_t		 sender_id[16];
	char		 sender[16][STORE_NAME_MAX + 1];
	char		 recipient[16][STORE_NAME_MAX + 1];
	char		 body[16][64];
	uint64_t	 msgid[16];
	uint8_t		 kind[16];
	uint64_t	 ts[16];
};

static int
seen_cb(const struct store_row *r, void *arg)
{
	struct seen	*sn = arg;
	assert_true(sn->n < 16);
	uint8_t		 sign[STORE_KEY_LEN], dh[STORE_KEY_LEN];

	assert_non_null(r->sender);
	assert_true(r->body_len < sizeof(sn->body[0]));
	/* Each row carries its sender's identity key, for the clients. */
	assert_non_null(r->sender_sign_pub);
	keys_for(r->sender, sign, dh);
	assert_memory_equal(r->sender_sign_pub, sign, STORE_KEY_LEN);
	sn->seq[sn->n] = r->seq;
	sn->sender_id[sn->n] = r->sender_id;
	snprintf(sn->sender[sn->n], sizeof(sn->sender[0]), "%s", r->sender);
	snprintf(sn->recipient[sn->n], sizeof(sn->recipient[0]), "%s",
	    r->recipient != NULL ? r->recipient : "(null)");
	memcpy(sn->body[sn->n], r->body, r->body_len);
	sn->body[sn->n][r->body_len] = '\0';
	sn->msgid[sn->n] = r->client_msg_id;
	sn->kind[sn->n] = r->kind;
	sn->ts[sn->n] = r->ts_ms;
	sn->n++;
	return sn->stop_after != 0 && sn->n >= sn->stop_after;
}

static size_t
room_rows(struct store *s, int64_t room)
{
	struct seen	 sn;

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, 0, 16, seen_cb, &sn), 0);
	return sn.n;
}

static size_t
inbox_rows(struct store *s, int64_t user)
{
	struct seen	 sn;

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_inbox_read(s, user, 0, 16, seen_cb, &sn), 0);
	return sn.n;
}

static void
users_add_get_get_id_and_count(void **state)
{
	struct store		*s = fresh();
	struct store_user	 u;
	uint8_t			 sign[STORE_KEY_LEN], dh[STORE_KEY_LEN];
	uint64_t		 n = 99;
	int64_t			 alice, bob;

	assert_int_equal(store_user_count(s, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_user_get(s, "alice", &u), STORE_NOT_FOUND);
	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	assert_true(alice != bob);

	assert_int_equal(store_user_get(s, "alice", &u), 0);
	keys_for("alice", sign, dh);
	assert_int_equal(u.id, alice);
	assert_string_equal(u.name, "alice");
	assert_memory_equal(u.sign_pub, sign, STORE_KEY_LEN);
	assert_memory_equal(u.dh_pub, dh, STORE_KEY_LEN);
	assert_int_equal(u.disabled, 0);
	assert_int_equal(u.inbox_cursor, 0);
	assert_int_equal(u.inbox_last, 0);

	assert_int_equal(store_user_get_id(s, bob, &u), 0);
	assert_string_equal(u.name, "bob");
	keys_for("bob", sign, dh);
	assert_memory_equal(u.sign_pub, sign, STORE_KEY_LEN);
	assert_int_equal(store_user_get_id(s, bob + 100, &u), STORE_NOT_FOUND);

	assert_int_equal(store_user_count(s, &n), 0);
	assert_int_equal(n, 2);
	store_close(s);
}

static void
taken_user_name_is_exists_and_keeps_the_first_keys(void **state)
{
	struct store		*s = fresh();
	struct store_user	 u;
	uint8_t			 sign[STORE_KEY_LEN], dh[STORE_KEY_LEN];
	uint64_t		 n;
	int64_t			 alice, id = -1;

	alice = add_user(s, "alice");
	keys_for("zed", sign, dh);
	assert_int_equal(store_user_add(s, "alice", sign, dh, &id),
	    STORE_EXISTS);
	assert_int_equal(store_user_get(s, "alice", &u), 0);
	assert_int_equal(u.id, alice);
	keys_for("alice", sign, dh);
	assert_memory_equal(u.sign_pub, sign, STORE_KEY_LEN);
	assert_int_equal(store_user_count(s, &n), 0);
	assert_int_equal(n, 1);
	store_close(s);
}

/* A user's one current prekey: replaced, never accumulated. */
static void
prekey_set_get_replace(void **state)
{
	struct store		*s = fresh();
	struct store_prekey	 pk, got;
	int64_t			 alice;

	alice = add_user(s, "alice");
	assert_int_equal(store_prekey_get(s, alice, &got), STORE_NOT_FOUND);
	memset(&pk, 0, sizeof(pk));
	pk.id = 7;
	pk.created_s = 1700000000;
	memset(pk.pub, 0x11, sizeof(pk.pub));
	memset(pk.sig, 0x22, sizeof(pk.sig));
	assert_int_equal(store_prekey_set(s, alice, &pk), 0);
	assert_int_equal(store_prekey_get(s, alice, &got), 0);
	assert_int_equal(got.id, 7);
	assert_int_equal(got.created_s, 1700000000);
	assert_memory_equal(got.pub, pk.pub, sizeof(pk.pub));
	assert_memory_equal(got.sig, pk.sig, sizeof(pk.sig));
	pk.id = 0xfffffffe;	/* ids are u32: all of them survive */
	memset(pk.pub, 0x33, sizeof(pk.pub));
	assert_int_equal(store_prekey_set(s, alice, &pk), 0);
	assert_int_equal(store_prekey_get(s, alice, &got), 0);
	assert_int_equal(got.id, 0xfffffffe);
	assert_memory_equal(got.pub, pk.pub, sizeof(pk.pub));
	assert_int_equal(raw_int("SELECT count(*) FROM prekeys"), 1);
	store_close(s);
}

/* Only a reset user's keys can be replaced, once, and its prekey goes. */
static void
key_reset_then_replace_once(void **state)
{
	struct store		*s = fresh();
	struct store_prekey	 pk;
	struct store_user	 u;
	uint8_t			 sign[STORE_KEY_LEN], dh[STORE_KEY_LEN];
	uint8_t			 code[STORE_KEY_LEN];
	int64_t			 alice;

	memset(code, 0xc0, sizeof(code));
	alice = add_user(s, "alice");
	assert_int_equal(store_user_get(s, "alice", &u), 0);
	assert_int_equal(u.has_reset_code, 0);
	memset(&pk, 0, sizeof(pk));
	assert_int_equal(store_prekey_set(s, alice, &pk), 0);
	keys_for("zed", sign, dh);
	assert_int_equal(store_key_replace(s, alice, sign, dh),
	    STORE_NOT_FOUND);
	assert_int_equal(store_key_reset(s, "nobody", code), STORE_NOT_FOUND);
	assert_int_equal(store_key_reset(s, "alice", code), 0);
	assert_int_equal(store_user_get(s, "alice", &u), 0);
	assert_int_equal(u.key_reset, 1);
	assert_int_equal(u.has_reset_code, 1);
	assert_memory_equal(u.reset_code, code, sizeof(code));
	assert_int_equal(store_key_replace(s, alice, sign, dh), 0);
	assert_int_equal(store_user_get(s, "alice", &u), 0);
	assert_int_equal(u.key_reset, 0);
	assert_int_equal(u.has_reset_code, 0);
	assert_memory_equal(u.sign_pub, sign, STORE_KEY_LEN);
	assert_memory_equal(u.dh_pub, dh, STORE_KEY_LEN);
	assert_int_equal(store_prekey_get(s, alice, &pk), STORE_NOT_FOUND);
	keys_for("alice", sign, dh);
	assert_int_equal(store_key_replace(s, alice, sign, dh),
	    STORE_NOT_FOUND);
	store_close(s);
}

static void
invite_is_used_once_and_unknown_is_not_found(void **state)
{
	struct store	*s = fresh();
	int64_t		 alice, bob;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	assert_int_equal(store_invite_add(s, "code-1"), 0);
	assert_int_equal(store_invite_add(s, "code-1"), STORE_EXISTS);
	assert_int_equal(store_invite_check(s, "code-1"), 0);
	/* Checking does not use it. */
	assert_int_equal(store_invite_check(s, "code-1"), 0);
	assert_int_equal(store_invite_use(s, "code-1", alice), 0);
	assert_int_equal(store_invite_check(s, "code-1"), STORE_USED);
	assert_int_equal(store_invite_use(s, "code-1", bob), STORE_USED);
	assert_int_equal(store_invite_check(s, "nope"), STORE_NOT_FOUND);
	assert_int_equal(store_invite_use(s, "nope", bob), STORE_NOT_FOUND);
	store_close(s);
	/* The first user keeps the credit for it. */
	assert_int_equal(raw_int("SELECT used_by FROM invites WHERE code = "
	    "'code-1'"), (int)alice);
	assert_int_equal(raw_int("SELECT used_at > 0 FROM invites"), 1);
}

static void
room_create_get_and_exists(void **state)
{
	struct store	*s = fresh();
	int64_t		 a, b, id = -1;
	uint64_t	 last = 99;

	assert_int_equal(store_room_get(s, "#a", &id, &last), STORE_NOT_FOUND);
	a = add_room(s, "#a");
	b = add_room(s, "#b");
	assert_true(a != b);
	assert_int_equal(store_room_get(s, "#a", &id, &last), 0);
	assert_int_equal(id, a);
	assert_int_equal(last, 0);
	id = -1;
	assert_int_equal(store_room_create(s, "#b", &id), STORE_EXISTS);
	assert_int_equal(id, b);
	store_close(s);
	assert_int_equal(raw_int("SELECT count(*) FROM rooms"), 2);
}

static void
membership_add_twice_remove_and_is_member(void **state)
{
	struct store	*s = fresh();
	int64_t		 alice, bob, room;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	room = add_room(s, "#r");
	assert_int_equal(store_is_member(s, room, alice), 0);
	assert_int_equal(store_member_add(s, room, alice, 0), 0);
	assert_int_equal(store_member_add(s, room, alice, 5), STORE_EXISTS);
	assert_int_equal(store_is_member(s, room, alice), 1);
	assert_int_equal(store_is_member(s, room, bob), 0);
	assert_int_equal(store_member_remove(s, room, alice), 0);
	assert_int_equal(store_is_member(s, room, alice), 0);
	assert_int_equal(store_member_remove(s, room, alice), STORE_NOT_FOUND);
	/* Leaving is not forever. */
	assert_int_equal(store_member_add(s, room, alice, 0), 0);
	assert_int_equal(store_is_member(s, room, alice), 1);
	store_close(s);
}

struct room_list {
	size_t		 n;
	int64_t		 id[8];
	char		 name[8][STORE_NAME_MAX + 2];
	uint64_t	 a[8], b[8];
};

static void
user_rooms_cb(int64_t id, const char *name, uint64_t cursor, uint64_t last,
    void *arg)
{
	struct room_list	*rl = arg;

	assert_true(rl->n < 8);
	rl->id[rl->n] = id;
	snprintf(rl->name[rl->n], sizeof(rl->name[0]), "%s", name);
	rl->a[rl->n] = cursor;
	rl->b[rl->n] = last;
	rl->n++;
}

static void
members_cb(int64_t id, const char *name, void *arg)
{
	user_rooms_cb(id, name, 0, 0, arg);
}

static void
rooms_cb(const char *name, uint64_t count, void *arg)
{
	user_rooms_cb(0, name, count, 0, arg);
}

static void
user_rooms_and_room_members_list_what_was_joined(void **state)
{
	struct store		*s = fresh();
	struct room_list	 rl;
	int64_t			 alice, bob, carol, ra, rb, rc;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	carol = add_user(s, "carol");
	rb = add_room(s, "#b");
	ra = add_room(s, "#a");
	rc = add_room(s, "#c");
	room_append(s, ra, bob, 0, "x", NULL);
	room_append(s, ra, bob, 0, "y", NULL);
	room_append(s, rb, bob, 0, "z", NULL);
	assert_int_equal(store_member_add(s, rb, alice, 1), 0);
	assert_int_equal(store_member_add(s, ra, alice, 2), 0);
	assert_int_equal(store_member_add(s, ra, bob, 0), 0);
	assert_int_equal(store_member_add(s, rc, bob, 0), 0);

	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_user_rooms(s, alice, user_rooms_cb, &rl), 0);
	assert_int_equal(rl.n, 2);
	assert_int_equal(rl.id[0], ra);
	assert_string_equal(rl.name[0], "#a");
	assert_int_equal(rl.a[0], 2);		/* cursor as given */
	assert_int_equal(rl.b[0], 2);		/* last seq */
	assert_int_equal(rl.id[1], rb);
	assert_string_equal(rl.name[1], "#b");
	assert_int_equal(rl.a[1], 1);
	assert_int_equal(rl.b[1], 1);

	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_user_rooms(s, carol, user_rooms_cb, &rl), 0);
	assert_int_equal(rl.n, 0);

	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_room_members(s, ra, members_cb, &rl), 0);
	assert_int_equal(rl.n, 2);
	assert_int_equal(rl.id[0], alice);
	assert_string_equal(rl.name[0], "alice");
	assert_int_equal(rl.id[1], bob);
	assert_string_equal(rl.name[1], "bob");

	assert_int_equal(store_member_remove(s, ra, alice), 0);
	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_room_members(s, ra, members_cb, &rl), 0);
	assert_int_equal(rl.n, 1);
	assert_string_equal(rl.name[0], "bob");
	store_close(s);
}

static void
rooms_are_listed_by_name_with_member_counts(void **state)
{
	struct store		*s = fresh();
	struct room_list	 rl;
	int64_t			 alice, bob, rb, ra;

	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_rooms(s, rooms_cb, &rl), 0);
	assert_int_equal(rl.n, 0);
	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	rb = add_room(s, "#b");
	ra = add_room(s, "#a");
	(void)add_room(s, "#c");
	assert_int_equal(store_member_add(s, rb, alice, 0), 0);
	assert_int_equal(store_member_add(s, rb, bob, 0), 0);
	assert_int_equal(store_member_add(s, ra, bob, 0), 0);
	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_rooms(s, rooms_cb, &rl), 0);
	assert_int_equal(rl.n, 3);
	assert_string_equal(rl.name[0], "#a");
	assert_int_equal(rl.a[0], 1);
	assert_string_equal(rl.name[1], "#b");
	assert_int_equal(rl.a[1], 2);
	assert_string_equal(rl.name[2], "#c");
	assert_int_equal(rl.a[2], 0);
	store_close(s);
}

/* Pages: after a name, at most limit, by name; the count of all rooms. */
static void
rooms_and_members_come_in_pages(void **state)
{
	struct store		*s = fresh();
	struct room_list	 rl;
	uint64_t		 n = 99;
	int64_t			 alice, bob, carol, ra;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	carol = add_user(s, "carol");
	ra = add_room(s, "#a");
	(void)add_room(s, "#b");
	(void)add_room(s, "#c");
	(void)add_room(s, "#d");
	assert_int_equal(store_room_count(s, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(store_member_add(s, ra, carol, 0), 0);
	assert_int_equal(store_member_add(s, ra, alice, 0), 0);
	assert_int_equal(store_member_add(s, ra, bob, 0), 0);
	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_rooms_page(s, "", 2, rooms_cb, &rl), 0);
	assert_int_equal(rl.n, 2);
	assert_string_equal(rl.name[0], "#a");
	assert_int_equal(rl.a[0], 3);
	assert_string_equal(rl.name[1], "#b");
	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_rooms_page(s, "#b", 2, rooms_cb, &rl), 0);
	assert_int_equal(rl.n, 2);
	assert_string_equal(rl.name[0], "#c");
	assert_string_equal(rl.name[1], "#d");
	/* A name that is gone still says where to go on. */
	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_rooms_page(s, "#bb", 8, rooms_cb, &rl), 0);
	assert_int_equal(rl.n, 2);
	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_room_members_page(s, ra, "", 2, members_cb,
	    &rl), 0);
	assert_int_equal(rl.n, 2);
	assert_string_equal(rl.name[0], "alice");
	assert_string_equal(rl.name[1], "bob");
	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_room_members_page(s, ra, "bob", 2, members_cb,
	    &rl), 0);
	assert_int_equal(rl.n, 1);
	assert_string_equal(rl.name[0], "carol");
	assert_int_equal(rl.id[0], carol);
	store_close(s);
}

/* The offline quota's counts follow every insert and every delete. */
static void
inbox_counts_follow_appends_and_prunes(void **state)
{
	struct store		*s = fresh();
	struct store_user	 u;
	uint64_t		 seq = 0, deleted = 0;
	int64_t			 alice, bob;
	int			 dup;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	assert_int_equal(store_user_get(s, "bob", &u), 0);
	assert_int_equal(u.inbox_rows, 0);
	assert_int_equal(u.inbox_bytes, 0);
	(void)inbox_append(s, bob, alice, 1, "hello", NULL);
	(void)inbox_append(s, bob, alice, 2, "world!", NULL);
	/* A duplicate stores nothing, and counts nothing. */
	(void)inbox_append(s, bob, alice, 2, "world!", &dup);
	assert_int_equal(dup, 1);
	assert_int_equal(store_user_get_id(s, bob, &u), 0);
	assert_int_equal(u.inbox_rows, 2);
	assert_int_equal(u.inbox_bytes, 11);
	assert_int_equal(store_sent_seq(s, alice, 2, &seq), 0);
	assert_int_equal(seq, 2);
	assert_int_equal(store_sent_seq(s, alice, 3, &seq), STORE_NOT_FOUND);
	assert_int_equal(store_inbox_ack(s, bob, 1), 0);
	assert_int_equal(store_prune(s, 0, 0, &deleted), 0);
	assert_int_equal(store_user_get(s, "bob", &u), 0);
	assert_int_equal(u.inbox_rows, 1);
	assert_int_equal(u.inbox_bytes, 6);
	assert_int_equal(store_user_get(s, "alice", &u), 0);
	assert_int_equal(u.inbox_rows, 0);
	store_close(s);
}

static void
room_append_allocates_1_2_3_per_room_independently(void **state)
{
	struct store	*s = fresh();
	int64_t		 alice, ra, rb;
	int		 dup = -1;

	alice = add_user(s, "alice");
	ra = add_room(s, "#a");
	rb = add_room(s, "#b");
	assert_int_equal(room_append(s, ra, alice, 0, "a1", &dup), 1);
	assert_int_equal(dup, 0);
	assert_int_equal(room_append(s, ra, alice, 0, "a2", NULL), 2);
	assert_int_equal(room_append(s, rb, alice, 0, "b1", NULL), 1);
	assert_int_equal(room_append(s, ra, alice, 0, "a3", NULL), 3);
	assert_int_equal(room_append(s, rb, alice, 0, "b2", NULL), 2);
	assert_int_equal(room_last(s, "#a"), 3);
	assert_int_equal(room_last(s, "#b"), 2);
	/* Inboxes count on their own too. */
	assert_int_equal(inbox_append(s, alice, alice, 0, "i1", NULL), 1);
	store_close(s);
}

static void
duplicate_message_returns_first_seq_and_stores_nothing(void **state)
{
	struct store		*s = fresh();
	struct store_user	 u;
	struct seen		 sn;
	int64_t			 alice, bob, room;
	int			 dup = -1;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	room = add_room(s, "#r");
	assert_int_equal(room_append(s, room, alice, 7, "first", &dup), 1);
	assert_int_equal(dup, 0);
	assert_int_equal(room_append(s, room, alice, 8, "other", &dup), 2);
	assert_int_equal(room_append(s, room, alice, 7, "again", &dup), 1);
	assert_int_equal(dup, 1);
	assert_int_equal(room_last(s, "#r"), 2);	/* no seq consumed */
	/* The same id from another sender is another message. */
	assert_int_equal(room_append(s, room, bob, 7, "bob's", &dup), 3);
	assert_int_equal(dup, 0);
	/* Unique across all logs: an inbox append is the same message. */
	assert_int_equal(inbox_append(s, bob, alice, 7, "dm", &dup), 1);
	assert_int_equal(dup, 1);
	assert_int_equal(store_user_get_id(s, bob, &u), 0);
	assert_int_equal(u.inbox_last, 0);
	assert_int_equal(inbox_rows(s, bob), 0);
	/* And the other way round. */
	assert_int_equal(inbox_append(s, bob, alice, 9, "dm", &dup), 1);
	assert_int_equal(dup, 0);
	assert_int_equal(room_append(s, room, alice, 9, "room", &dup), 1);
	assert_int_equal(dup, 1);
	assert_int_equal(room_last(s, "#r"), 3);

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, 0, 16, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 3);
	assert_string_equal(sn.body[0], "first");
	assert_string_equal(sn.body[1], "other");
	assert_string_equal(sn.body[2], "bob's");
	store_close(s);
}

static void
client_msg_id_zero_is_never_deduplicated(void **state)
{
	struct store	*s = fresh();
	int64_t		 alice, room;
	int		 dup = -1;

	alice = add_user(s, "alice");
	room = add_room(s, "#r");
	assert_int_equal(room_append(s, room, alice, 0, "join", &dup), 1);
	assert_int_equal(room_append(s, room, alice, 0, "join", &dup), 2);
	assert_int_equal(dup, 0);
	assert_int_equal(inbox_append(s, alice, alice, 0, "k", &dup), 1);
	assert_int_equal(inbox_append(s, alice, alice, 0, "k", &dup), 2);
	assert_int_equal(dup, 0);
	assert_int_equal(room_rows(s, room), 2);
	assert_int_equal(inbox_rows(s, alice), 2);
	store_close(s);
	assert_int_equal(raw_int("SELECT count(*) FROM sent"), 0);
}

static void
client_msg_id_keeps_all_64_bits(void **state)
{
	struct store	*s = fresh();
	struct seen	 sn;
	int64_t		 alice, room;
	int		 dup = -1;

	alice = add_user(s, "alice");
	room = add_room(s, "#r");
	assert_int_equal(room_append(s, room, alice, UINT64_MAX, "a", &dup), 1);
	assert_int_equal(room_append(s, room, alice, INT64_MAX, "b", &dup), 2);
	assert_int_equal(dup, 0);
	assert_int_equal(room_append(s, room, alice, UINT64_MAX, "a", &dup), 1);
	assert_int_equal(dup, 1);
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, 0, 16, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 2);
	assert_true(sn.msgid[0] == UINT64_MAX);
	assert_true(sn.msgid[1] == (uint64_t)INT64_MAX);
	/* An absurd position is past everything, not before it. */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, UINT64_MAX, 16, seen_cb,
	    &sn), 0);
	assert_int_equal(sn.n, 0);
	store_close(s);
}

static void
read_after_limit_in_order_with_names_and_early_stop(void **state)
{
	struct store	*s = fresh();
	struct seen	 sn;
	uint64_t	 seq;
	int64_t		 alice, bob, room;
	int		 dup, i;
	char		 text[16];

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	room = add_room(s, "#r");
	assert_int_equal(store_room_append(s, room, bob, 0, LOG_JOIN, 500,
	    (const uint8_t *)"bob", 3, &seq, &dup), 0);
	for (i = 2; i <= 6; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		assert_int_equal(store_room_append(s, room,
		    i % 2 ? alice : bob, 100 + i, LOG_MESSAGE, 1000 + i,
		    (const uint8_t *)text, strlen(text), &seq, &dup), 0);
		assert_int_equal(seq, i);
	}
	/* An empty body is a body. */
	assert_int_equal(store_room_append(s, room, alice, 0, LOG_MESSAGE, 2000,
	    (const uint8_t *)"", 0, &seq, &dup), 0);
	assert_int_equal(seq, 7);

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, 0, 100, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 7);
	assert_int_equal(sn.seq[0], 1);
	assert_int_equal(sn.kind[0], LOG_JOIN);
	assert_string_equal(sn.sender[0], "bob");
	assert_int_equal(sn.sender_id[0], bob);
	assert_string_equal(sn.body[0], "bob");
	assert_int_equal(sn.ts[0], 500);
	assert_int_equal(sn.msgid[0], 0);
	assert_string_equal(sn.recipient[0], "(null)");
	assert_int_equal(sn.seq[3], 4);
	assert_string_equal(sn.sender[3], "bob");
	assert_string_equal(sn.body[3], "m4");
	assert_int_equal(sn.msgid[3], 104);
	assert_int_equal(sn.kind[3], LOG_MESSAGE);
	assert_int_equal(sn.ts[3], 1004);
	assert_string_equal(sn.sender[4], "alice");
	assert_string_equal(sn.body[6], "");

	/* After and limit. */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, 2, 3, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 3);
	assert_int_equal(sn.seq[0], 3);
	assert_int_equal(sn.seq[1], 4);
	assert_int_equal(sn.seq[2], 5);
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, 7, 3, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 0);

	/* A callback that says stop is obeyed, and it is not an error. */
	memset(&sn, 0, sizeof(sn));
	sn.stop_after = 2;
	assert_int_equal(store_room_read(s, room, 0, 100, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 2);
	/* The statement was reset: the next read starts afresh. */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, 5, 100, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 2);
	assert_int_equal(sn.seq[0], 6);
	/* Another room's log is another log. */
	assert_int_equal(room_rows(s, add_room(s, "#other")), 0);
	store_close(s);
}

static void
inbox_append_read_and_ack(void **state)
{
	struct store		*s = fresh();
	struct store_user	 u;
	struct seen		 sn;
	int64_t			 alice, bob, carol;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	carol = add_user(s, "carol");
	assert_int_equal(inbox_append(s, bob, alice, 1, "hi bob", NULL), 1);
	assert_int_equal(inbox_append(s, bob, carol, 1, "yo bob", NULL), 2);
	assert_int_equal(inbox_append(s, carol, alice, 2, "hi carol", NULL), 1);
	assert_int_equal(store_user_get_id(s, bob, &u), 0);
	assert_int_equal(u.inbox_last, 2);
	assert_int_equal(u.inbox_cursor, 0);

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_inbox_read(s, bob, 0, 16, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 2);
	assert_int_equal(sn.seq[0], 1);
	assert_string_equal(sn.sender[0], "alice");
	assert_string_equal(sn.recipient[0], "bob");
	assert_string_equal(sn.body[0], "hi bob");
	assert_int_equal(sn.seq[1], 2);
	assert_string_equal(sn.sender[1], "carol");
	assert_string_equal(sn.recipient[1], "bob");
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_inbox_read(s, bob, 1, 16, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 1);
	assert_int_equal(sn.seq[0], 2);

	assert_int_equal(store_inbox_ack(s, bob, 1), 0);
	assert_int_equal(store_user_get_id(s, bob, &u), 0);
	assert_int_equal(u.inbox_cursor, 1);
	assert_int_equal(store_user_get_id(s, carol, &u), 0);
	assert_int_equal(u.inbox_cursor, 0);
	assert_int_equal(u.inbox_last, 1);
	/* Nobody to deliver to. */
	assert_int_equal(store_inbox_append(s, 9999, alice, 0, LOG_MESSAGE, 1,
	    (const uint8_t *)"x", 1, &(uint64_t){0}, &(int){0}),
	    STORE_NOT_FOUND);
	assert_int_equal(store_inbox_ack(s, 9999, 1), STORE_NOT_FOUND);
	store_close(s);
}

static uint64_t
member_cursor(struct store *s, int64_t user, int64_t room)
{
	struct room_list	 rl;
	size_t			 i;

	memset(&rl, 0, sizeof(rl));
	assert_int_equal(store_user_rooms(s, user, user_rooms_cb, &rl), 0);
	for (i = 0; i < rl.n; i++)
		if (rl.id[i] == room)
			return rl.a[i];
	fail_msg("not a member");
	return 0;
}

static void
ack_is_cumulative_never_backwards_never_past_last(void **state)
{
	struct store		*s = fresh();
	struct store_user	 u;
	int64_t			 alice, bob, room;
	int			 i;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	room = add_room(s, "#r");
	assert_int_equal(store_member_add(s, room, alice, 0), 0);
	for (i = 0; i < 5; i++)
		room_append(s, room, bob, 0, "m", NULL);

	assert_int_equal(store_room_ack(s, room, alice, 3), 0);
	assert_int_equal(member_cursor(s, alice, room), 3);
	assert_int_equal(store_room_ack(s, room, alice, 2), 0);
	assert_int_equal(member_cursor(s, alice, room), 3);
	assert_int_equal(store_room_ack(s, room, alice, 99), 0);
	assert_int_equal(member_cursor(s, alice, room), 5);
	assert_int_equal(store_room_ack(s, room, alice, UINT64_MAX), 0);
	assert_int_equal(member_cursor(s, alice, room), 5);
	/* A later row is still unread. */
	room_append(s, room, bob, 0, "m", NULL);
	assert_int_equal(member_cursor(s, alice, room), 5);
	assert_int_equal(store_room_ack(s, room, bob, 1), STORE_NOT_FOUND);

	for (i = 0; i < 3; i++)
		inbox_append(s, alice, bob, 0, "d", NULL);
	assert_int_equal(store_inbox_ack(s, alice, 2), 0);
	assert_int_equal(store_inbox_ack(s, alice, 1), 0);
	assert_int_equal(store_user_get_id(s, alice, &u), 0);
	assert_int_equal(u.inbox_cursor, 2);
	assert_int_equal(store_inbox_ack(s, alice, 50), 0);
	assert_int_equal(store_user_get_id(s, alice, &u), 0);
	assert_int_equal(u.inbox_cursor, 3);
	assert_int_equal(u.inbox_last, 3);
	store_close(s);
}

static void
prune_keeps_rows_the_slowest_member_has_not_acked(void **state)
{
	struct store	*s = fresh();
	struct seen	 sn;
	uint64_t	 deleted = 99;
	int64_t		 alice, bob, room, quiet;
	int		 i;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	room = add_room(s, "#r");
	quiet = add_room(s, "#quiet");
	assert_int_equal(store_member_add(s, room, alice, 0), 0);
	assert_int_equal(store_member_add(s, room, bob, 0), 0);
	assert_int_equal(store_member_add(s, quiet, alice, 0), 0);
	for (i = 0; i < 6; i++)
		room_append(s, room, alice, 0, "m", NULL);
	room_append(s, quiet, alice, 0, "q", NULL);

	assert_int_equal(store_prune(s, 0, 0, &deleted), 0);
	assert_int_equal(deleted, 0);

	assert_int_equal(store_room_ack(s, room, alice, 6), 0);
	assert_int_equal(store_room_ack(s, room, bob, 2), 0);
	assert_int_equal(store_prune(s, 0, 0, &deleted), 0);
	assert_int_equal(deleted, 2);
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, 0, 16, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 4);
	assert_int_equal(sn.seq[0], 3);
	assert_int_equal(room_rows(s, quiet), 1);

	assert_int_equal(store_room_ack(s, room, bob, 5), 0);
	assert_int_equal(store_prune(s, 0, 0, &deleted), 0);
	assert_int_equal(deleted, 3);
	assert_int_equal(room_rows(s, room), 1);
	/* Pruning frees rows, never sequence numbers. */
	assert_int_equal(room_append(s, room, alice, 0, "m", NULL), 7);
	store_close(s);
}

static void
prune_empties_memberless_room_and_ignores_parted_members(void **state)
{
	struct store	*s = fresh();
	uint64_t	 deleted = 0;
	int64_t		 alice, bob, room, empty;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	room = add_room(s, "#r");
	empty = add_room(s, "#empty");
	assert_int_equal(store_member_add(s, room, alice, 0), 0);
	assert_int_equal(store_member_add(s, room, bob, 0), 0);
	room_append(s, room, alice, 0, "a", NULL);
	room_append(s, room, alice, 0, "b", NULL);
	room_append(s, empty, alice, 0, "c", NULL);
	assert_int_equal(store_room_ack(s, room, alice, 2), 0);
	assert_int_equal(store_prune(s, 0, 0, &deleted), 0);
	assert_int_equal(deleted, 1);		/* #empty's row */
	assert_int_equal(room_rows(s, empty), 0);
	assert_int_equal(room_rows(s, room), 2);
	/* Bob, who read nothing, leaves: his cursor holds nothing back. */
	assert_int_equal(store_member_remove(s, room, bob), 0);
	assert_int_equal(store_prune(s, 0, 0, &deleted), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(room_rows(s, room), 0);
	store_close(s);
}

/*
 * Without a retention the logs keep what is unread, but de-duplication
 * records still age out (sent_before_ms): after that, the same client id
 * is a new message.  Before, it is the same one.
 */
static void
prune_ages_dedup_records_without_retention(void **state)
{
	struct store	*s = fresh();
	uint64_t	 deleted = 0;
	int64_t		 alice, bob, room;
	int		 dup = -1;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	room = add_room(s, "#r");
	assert_int_equal(store_member_add(s, room, alice, 0), 0);
	assert_int_equal(store_member_add(s, room, bob, 0), 0);
	assert_int_equal(room_append(s, room, alice, 41, "m", NULL), 1);

	/* Records at ts 1000: younger than 1000, kept; a resend is a dup. */
	assert_int_equal(store_prune(s, 0, 1000, &deleted), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(room_append(s, room, alice, 41, "m", &dup), 1);
	assert_int_equal(dup, 1);

	/* Older than 2000: the record goes, the unread row stays. */
	assert_int_equal(store_prune(s, 0, 2000, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(room_rows(s, room), 1);
	assert_int_equal(room_append(s, room, alice, 41, "m", &dup), 2);
	assert_int_equal(dup, 0);
	store_close(s);
}

static void
prune_deletes_acked_inbox_rows(void **state)
{
	struct store	*s = fresh();
	uint64_t	 deleted = 0;
	int64_t		 alice, bob;
	int		 i;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	for (i = 0; i < 4; i++)
		inbox_append(s, bob, alice, 0, "d", NULL);
	inbox_append(s, alice, bob, 0, "d", NULL);
	assert_int_equal(store_inbox_ack(s, bob, 3), 0);
	assert_int_equal(store_prune(s, 0, 0, &deleted), 0);
	assert_int_equal(deleted, 3);
	assert_int_equal(inbox_rows(s, bob), 1);
	assert_int_equal(inbox_rows(s, alice), 1);
	assert_int_equal(inbox_append(s, bob, alice, 0, "d", NULL), 5);
	store_close(s);
}

static void
prune_by_age_deletes_old_rows_and_old_dedup_records(void **state)
{
	struct store	*s = fresh();
	struct seen	 sn;
	uint64_t	 seq, deleted = 0;
	int64_t		 alice, bob, room;
	int		 dup;

	alice = add_user(s, "alice");
	bob = add_user(s, "bob");
	room = add_room(s, "#r");
	/* Members who read nothing: only age can remove these. */
	assert_int_equal(store_member_add(s, room, alice, 0), 0);
	assert_int_equal(store_room_append(s, room, alice, 1, LOG_MESSAGE, 100,
	    (const uint8_t *)"old", 3, &seq, &dup), 0);
	assert_int_equal(store_room_append(s, room, alice, 2, LOG_MESSAGE, 300,
	    (const uint8_t *)"new", 3, &seq, &dup), 0);
	assert_int_equal(store_inbox_append(s, bob, alice, 3, LOG_MESSAGE, 150,
	    (const uint8_t *)"old", 3, &seq, &dup), 0);
	assert_int_equal(store_inbox_append(s, bob, alice, 4, LOG_MESSAGE, 250,
	    (const uint8_t *)"new", 3, &seq, &dup), 0);

	/* 2 log rows and their 2 de-duplication records. */
	assert_int_equal(store_prune(s, 200, 200, &deleted), 0);
	assert_int_equal(deleted, 4);
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_room_read(s, room, 0, 16, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 1);
	assert_string_equal(sn.body[0], "new");
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_inbox_read(s, bob, 0, 16, seen_cb, &sn), 0);
	assert_int_equal(sn.n, 1);
	assert_string_equal(sn.body[0], "new");
	/* The young record still de-duplicates; the old one is forgotten. */
	assert_int_equal(room_append(s, room, alice, 2, "new", &dup), 2);
	assert_int_equal(dup, 1);
	assert_int_equal(room_append(s, room, alice, 1, "old", &dup), 3);
	assert_int_equal(dup, 0);
	/* before_ms 0 is no age limit at all. */
	assert_int_equal(store_prune(s, 0, 0, &deleted), 0);
	assert_int_equal(deleted, 0);
	store_close(s);
}

static void
rollback_of_group_commit_leaves_nothing(void **state)
{
	struct store		*s = fresh();
	struct store_user	 u;
	int64_t			 alice, room;

	alice = add_user(s, "alice");
	room = add_room(s, "#r");
	assert_int_equal(store_in_transaction(s), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_in_transaction(s), 1);
	assert_int_equal(room_append(s, room, alice, 1, "a", NULL), 1);
	assert_int_equal(room_append(s, room, alice, 2, "b", NULL), 2);
	assert_int_equal(inbox_append(s, alice, alice, 3, "c", NULL), 1);
	assert_int_equal(store_member_add(s, room, alice, 0), 0);
	/* Still one transaction after the appends' own savepoints. */
	assert_int_equal(store_in_transaction(s), 1);
	store_rollback(s);
	assert_int_equal(store_in_transaction(s), 0);

	assert_int_equal(room_last(s, "#r"), 0);
	assert_int_equal(room_rows(s, room), 0);
	assert_int_equal(inbox_rows(s, alice), 0);
	assert_int_equal(store_is_member(s, room, alice), 0);
	assert_int_equal(store_user_get_id(s, alice, &u), 0);
	assert_int_equal(u.inbox_last, 0);
	/* The ids are free again: nothing was recorded as sent. */
	assert_int_equal(room_append(s, room, alice, 1, "a", NULL), 1);
	store_close(s);
	assert_int_equal(raw_int("SELECT count(*) FROM sent"), 1);
}

static void
commit_of_group_commit_persists_across_reopen(void **state)
{
	struct store	*s = fresh();
	char		 err[256];
	int64_t		 alice, room;
	int		 dup = -1;

	alice = add_user(s, "alice");
	room = add_room(s, "#r");
	assert_int_equal(store_begin(s), 0);
	/* Begin inside a transaction is a no-op, not a nested failure. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(room_append(s, room, alice, 1, "a", NULL), 1);
	assert_int_equal(room_append(s, room, alice, 2, "b", NULL), 2);
	/* Uncommitted: another connection does not see it yet. */
	assert_int_equal(raw_int("SELECT count(*) FROM room_log"), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_in_transaction(s), 0);
	assert_int_equal(raw_int("SELECT count(*) FROM room_log"), 2);
	store_close(s);

	s = store_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(room_last(s, "#r"), 2);
	assert_int_equal(room_rows(s, room), 2);
	assert_int_equal(room_append(s, room, alice, 2, "b", &dup), 2);
	assert_int_equal(dup, 1);
	assert_int_equal(room_append(s, room, alice, 3, "c", &dup), 3);
	store_close(s);
}

static void
append_outside_a_transaction_is_atomic_and_durable(void **state)
{
	struct store	*s = fresh();
	uint64_t	 seq = 0;
	int64_t		 alice, room;
	int		 dup = 0;

	alice = add_user(s, "alice");
	room = add_room(s, "#r");
	/* On its own, an append is committed when it returns. */
	assert_int_equal(room_append(s, room, alice, 1, "a", NULL), 1);
	assert_int_equal(store_in_transaction(s), 0);
	assert_int_equal(raw_int("SELECT count(*) FROM room_log"), 1);
	assert_int_equal(raw_int("SELECT count(*) FROM sent"), 1);

	/*
	 * An unknown sender fails the row insert after the seq was bumped:
	 * the bump must go too, or the log would have a hole at seq 2.
	 */
	assert_int_equal(store_room_append(s, room, 9999, 2, LOG_MESSAGE, 1,
	    (const uint8_t *)"x", 1, &seq, &dup), -1);
	assert_int_equal(store_in_transaction(s), 0);
	assert_int_equal(room_last(s, "#r"), 1);
	assert_int_equal(raw_int("SELECT last_seq FROM rooms"), 1);
	assert_int_equal(raw_int("SELECT count(*) FROM sent"), 1);
	/* An unknown room is not found and changes nothing. */
	assert_int_equal(store_room_append(s, 9999, alice, 3, LOG_MESSAGE, 1,
	    (const uint8_t *)"x", 1, &seq, &dup), STORE_NOT_FOUND);
	assert_int_equal(raw_int("SELECT count(*) FROM sent"), 1);

	/* Inside a transaction, a failed append undoes itself alone. */
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(room_append(s, room, alice, 4, "b", NULL), 2);
	assert_int_equal(store_room_append(s, room, 9999, 5, LOG_MESSAGE, 1,
	    (const uint8_t *)"x", 1, &seq, &dup), -1);
	assert_int_equal(store_in_transaction(s), 1);
	assert_int_equal(room_append(s, room, alice, 6, "c", NULL), 3);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(room_rows(s, room), 3);
	store_close(s);
	assert_int_equal(raw_int("SELECT count(*) FROM room_log"), 3);
}

static int
count_cb(const struct store_row *r, void *arg)
{
	uint64_t	*n = arg;

	if (r->seq != *n + 1)
		return 1;	/* a hole or disorder: the count will say */
	(*n)++;
	return 0;
}

static void
ten_thousand_appends_in_one_transaction(void **state)
{
	struct store	*s = fresh();
	uint64_t	 i, seq, n = 0;
	int64_t		 alice, room;
	char		 body[32];
	int		 dup;

	alice = add_user(s, "alice");
	room = add_room(s, "#r");
	assert_int_equal(store_begin(s), 0);
	for (i = 1; i <= 10000; i++) {
		snprintf(body, sizeof(body), "message %llu",
		    (unsigned long long)i);
		if (store_room_append(s, room, alice, i, LOG_MESSAGE, i,
		    (const uint8_t *)body, strlen(body), &seq, &dup) != 0 ||
		    seq != i || dup != 0)
			fail_msg("append %llu", (unsigned long long)i);
	}
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(room_last(s, "#r"), 10000);
	assert_int_equal(store_room_read(s, room, 0, 20000, count_cb, &n), 0);
	assert_int_equal(n, 10000);
	store_close(s);
	assert_int_equal(raw_int("SELECT count(*) FROM sent"), 10000);
}

/*
 * One big turn grows the WAL; once checkpointed it is cut back to
 * STORE_WAL_LIMIT, so that what it held returns to the file system.
 */
static void
wal_is_cut_back_after_a_big_turn(void **state)
{
	struct store	*s;
	struct stat	 st;
	static uint8_t	 body[60000];
	char		 wal[sizeof(path) + 8];
	uint64_t	 seq;
	int64_t		 room, user;
	int		 i, dup;

	s = fresh();
	user = add_user(s, "alice");
	room = add_room(s, "#big");
	memset(body, 0x5a, sizeof(body));
	/* About 12 MiB in one transaction, far beyond the limit. */
	assert_int_equal(store_begin(s), 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(store_room_append(s, room, user, i + 1,
		    LOG_MESSAGE, 1, body, sizeof(body), &seq, &dup), 0);
	assert_int_equal(store_commit(s), 0);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size > 2 * STORE_WAL_LIMIT);
	/* Small turns after it: the checkpoints come, and the cut. */
	for (i = 0; i < 20; i++) {
		assert_int_equal(store_begin(s), 0);
		assert_int_equal(store_room_append(s, room, user, 1000 + i,
		    LOG_MESSAGE, 1, body, 100, &seq, &dup), 0);
		assert_int_equal(store_commit(s), 0);
	}
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size <= STORE_WAL_LIMIT);
	store_close(s);
}

/*
 * A request's savepoint: a failed request's writes go, the turn's other
 * writes stay and commit.
 */
static void
request_savepoint_undoes_one_request(void **state)
{
	struct store	*s;
	int64_t		 room, user;
	uint64_t	 last;

	s = fresh();
	user = add_user(s, "alice");
	room = add_room(s, "#r");
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_savepoint(s), 0);
	assert_int_equal(room_append(s, room, user, 1, "kept", NULL), 1);
	assert_int_equal(store_release(s), 0);
	assert_int_equal(store_savepoint(s), 0);
	assert_int_equal(room_append(s, room, user, 2, "undone", NULL), 2);
	assert_int_equal(store_rollback_to(s), 0);
	assert_true(store_in_transaction(s));
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_room_get(s, "#r", NULL, &last), 0);
	assert_int_equal(last, 1);
	store_close(s);
}

static int
roster_cb(uint32_t idx, const uint8_t *entry, size_t len, void *arg)
{
	uint32_t	*seen = arg;

	assert_int_equal(idx, seen[0]);
	assert_int_equal(len, 3);
	assert_int_equal(entry[0], 'e');
	assert_int_equal(entry[2], '0' + idx);
	seen[0]++;
	return seen[0] == seen[1];	/* stop when told */
}

/* Roster entries (schema 5): stored as given, in order, once per index. */
static void
roster_append_count_read(void **state)
{
	struct store	*s = fresh();
	uint8_t		 hash[STORE_KEY_LEN];
	uint32_t	 n, seen[2];
	int64_t		 room;
	char		 entry[4];

	memset(hash, 0xab, sizeof(hash));
	room = add_room(s, "#r");
	assert_int_equal(store_roster_count(s, room, &n), 0);
	assert_int_equal(n, 0);
	for (n = 0; n < 5; n++) {
		(void)snprintf(entry, sizeof(entry), "e-%u", n);
		assert_int_equal(store_roster_append(s, room, n,
		    (const uint8_t *)entry, 3, hash), 0);
	}
	/* An index taken: refused, nothing changes. */
	assert_int_equal(store_roster_append(s, room, 2,
	    (const uint8_t *)"xxx", 3, hash), -1);
	assert_int_equal(store_roster_count(s, room, &n), 0);
	assert_int_equal(n, 5);
	seen[0] = 2;
	seen[1] = 100;
	assert_int_equal(store_roster_read(s, room, 2, 10, roster_cb, seen),
	    0);
	assert_int_equal(seen[0], 5);
	seen[0] = 0;
	seen[1] = 2;
	assert_int_equal(store_roster_read(s, room, 0, 10, roster_cb, seen),
	    0);
	assert_int_equal(seen[0], 2);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_database_is_migrated_wal_and_full),
		cmocka_unit_test(reopen_keeps_data_and_version),
		cmocka_unit_test(epoch_is_random_and_kept),
		cmocka_unit_test(foreign_file_is_refused),
		cmocka_unit_test(empty_or_unreadable_file_is_refused),
		cmocka_unit_test(damaged_file_fails_the_quick_check),
		cmocka_unit_test(wal_is_cut_back_after_a_big_turn),
		cmocka_unit_test(request_savepoint_undoes_one_request),
		cmocka_unit_test(newer_schema_is_refused),
		cmocka_unit_test(unopenable_path_is_an_error),
		cmocka_unit_test(version_one_file_with_data_migrates_to_current),
		cmocka_unit_test(users_add_get_get_id_and_count),
		cmocka_unit_test(
		    taken_user_name_is_exists_and_keeps_the_first_keys),
		cmocka_unit_test(prekey_set_get_replace),
		cmocka_unit_test(key_reset_then_replace_once),
		cmocka_unit_test(invite_is_used_once_and_unknown_is_not_found),
		cmocka_unit_test(room_create_get_and_exists),
		cmocka_unit_test(membership_add_twice_remove_and_is_member),
		cmocka_unit_test(
		    user_rooms_and_room_members_list_what_was_joined),
		cmocka_unit_test(rooms_are_listed_by_name_with_member_counts),
		cmocka_unit_test(rooms_and_members_come_in_pages),
		cmocka_unit_test(inbox_counts_follow_appends_and_prunes),
		cmocka_unit_test(
		    room_append_allocates_1_2_3_per_room_independently),
		cmocka_unit_test(
		    duplicate_message_returns_first_seq_and_stores_nothing),
		cmocka_unit_test(client_msg_id_zero_is_never_deduplicated),
		cmocka_unit_test(client_msg_id_keeps_all_64_bits),
		cmocka_unit_test(
		    read_after_limit_in_order_with_names_and_early_stop),
		cmocka_unit_test(inbox_append_read_and_ack),
		cmocka_unit_test(
		    ack_is_cumulative_never_backwards_never_past_last),
		cmocka_unit_test(
		    prune_keeps_rows_the_slowest_member_has_not_acked),
		cmocka_unit_test(
		    prune_empties_memberless_room_and_ignores_parted_members),
		cmocka_unit_test(prune_deletes_acked_inbox_rows),
		cmocka_unit_test(prune_ages_dedup_records_without_retention),
		cmocka_unit_test(
		    prune_by_age_deletes_old_rows_and_old_dedup_records),
		cmocka_unit_test(rollback_of_group_commit_leaves_nothing),
		cmocka_unit_test(commit_of_group_commit_persists_across_reopen),
		cmocka_unit_test(
		    append_outside_a_transaction_is_atomic_and_durable),
		cmocka_unit_test(ten_thousand_appends_in_one_transaction),
		cmocka_unit_test(roster_append_count_read),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
