/*
 * test_store.c: the broker's database opens in WAL mode with
 * synchronous=FULL, migrates a version 0 file to the current schema, keeps
 * its version across reopening, and refuses a schema newer than it knows.
 */
#include "config.h"

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
	/* Migrations did not run twice. */
	assert_int_equal(raw_int("SELECT count(*) FROM server"), 1);
}

static void
version_zero_file_with_data_is_migrated(void **state)
{
	struct store	*s;
	sqlite3		*db;
	char		 err[256];

	remove_db();
	/* A version 0 file that already holds an unrelated table. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE keepme (x); INSERT "
	    "INTO keepme VALUES (42);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = store_open(path, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
	store_close(s);
	assert_int_equal(raw_int("SELECT x FROM keepme"), 42);
}

static void
newer_schema_is_refused(void **state)
{
	sqlite3		*db;
	char		 err[256], sql[64];

	remove_db();
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_database_is_migrated_wal_and_full),
		cmocka_unit_test(reopen_keeps_data_and_version),
		cmocka_unit_test(version_zero_file_with_data_is_migrated),
		cmocka_unit_test(newer_schema_is_refused),
		cmocka_unit_test(unopenable_path_is_an_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
