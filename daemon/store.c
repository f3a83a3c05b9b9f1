/*
 * store.c: every SQL statement of the broker.  SQLite in WAL mode with
 * synchronous=FULL, so a committed row survives a crash of any process;
 * the schema version lives in PRAGMA user_version and migrates forward.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "xmalloc.h"

struct store {
	sqlite3		*db;
};

/*
 * Migrations, in order: entry i takes the schema from version i to i + 1.
 * Never edit one that has shipped; append a new one.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the server's own facts. */
	"CREATE TABLE server ("
	"  key   TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	");"
	"INSERT INTO server (key, value) VALUES"
	"  ('created', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));",
};

static int
exec_sql(struct store *s, const char *sql, char *err, size_t errsz)
{
	char	*msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errsz, "%s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
pragma_int(struct store *s, const char *sql, int *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int
check_journal_mode(struct store *s, char *err, size_t errsz)
{
	sqlite3_stmt		*st;
	const unsigned char	*mode;
	int			 ok = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st,
	    NULL) != SQLITE_OK) {
		snprintf(err, errsz, "journal_mode: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (mode = sqlite3_column_text(st, 0)) != NULL &&
	    strcmp((const char *)mode, "wal") == 0)
		ok = 1;
	sqlite3_finalize(st);
	if (!ok) {
		snprintf(err, errsz, "cannot switch the database to WAL mode");
		return -1;
	}
	return 0;
}

static int
migrate(struct store *s, char *err, size_t errsz)
{
	const int	 latest = (int)(sizeof(migrations) / sizeof(migrations[0]));
	char		 sql[64], why[256];
	int		 version;

	if (pragma_int(s, "PRAGMA user_version", &version) == -1) {
		snprintf(err, errsz, "user_version: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (version > latest) {
		snprintf(err, errsz, "database schema version %d is newer than "
		    "this securechatd understands (%d)", version, latest);
		return -1;
	}
	for (; version < latest; version++) {
		/* One transaction per step: a crash leaves a whole version. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		if (exec_sql(s, "BEGIN IMMEDIATE", why, sizeof(why)) == -1 ||
		    exec_sql(s, migrations[version], why, sizeof(why)) == -1 ||
		    exec_sql(s, sql, why, sizeof(why)) == -1 ||
		    exec_sql(s, "COMMIT", why, sizeof(why)) == -1) {
			(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			snprintf(err, errsz, "migration %d -> %d failed: %s",
			    version, version + 1, why);
			return -1;
		}
		log_info("database migrated to schema version %d", version + 1);
	}
	return 0;
}

struct store *
store_open(const char *path, char *err, size_t errsz)
{
	struct store	*s;

	s = xcalloc(1, sizeof(*s));
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	if (check_journal_mode(s, err, errsz) == -1 ||
	    exec_sql(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
	    "PRAGMA temp_store=MEMORY;", err, errsz) == -1 ||
	    sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
	    migrate(s, err, errsz) == -1)
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("database close: %s", sqlite3_errmsg(s->db));
	free(s);
}

int
store_schema_version(struct store *s)
{
	int	 v;

	if (pragma_int(s, "PRAGMA user_version", &v) == -1)
		return -1;
	return v;
}

int
store_synchronous(struct store *s)
{
	int	 v;

	if (pragma_int(s, "PRAGMA synchronous", &v) == -1)
		return -1;
	return v;
}
