/*
 * store-admin.c: the SQL of the operator's commands (securechatctl):
 * listing, disabling and deleting users, deleting rooms, invites with
 * uses and an expiry, and the activity counts.  These run rarely, so each
 * statement is prepared when it is used; the broker's hot statements stay
 * in store.c.  Callers run these inside the broker's open transaction.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"

#define NOW_MS	"CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

/* One statement: prepared, bound by the caller, stepped, finalized. */
static sqlite3_stmt *
prep(struct store *s, const char *sql)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("database: %s: %s", sql, sqlite3_errmsg(store_db(s)));
		return NULL;
	}
	return st;
}

/* Step to the end; -1 on an error (logged). */
static int
finish(struct store *s, sqlite3_stmt *st)
{
	int	 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		log_warnx("database: %s: %s", sqlite3_sql(st),
		    sqlite3_errmsg(store_db(s)));
	(void)sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A statement with one integer parameter and no rows. */
static int
exec_i64(struct store *s, const char *sql, int64_t v)
{
	sqlite3_stmt	*st;

	if ((st = prep(s, sql)) == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, v) != SQLITE_OK) {
		(void)sqlite3_finalize(st);
		return -1;
	}
	return finish(s, st);
}

static uint64_t
col_u64(sqlite3_stmt *st, int col)
{
	sqlite3_int64	 v = sqlite3_column_int64(st, col);

	return v < 0 ? 0 : (uint64_t)v;
}

int
store_users_list(struct store *s,
    void (*cb)(const struct store_user_info *, void *), void *arg)
{
	struct store_user_info	 u;
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = prep(s, "SELECT name, created, coalesce(last_login, 0),"
	    " disabled FROM users ORDER BY name")) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		u.name = (const char *)sqlite3_column_text(st, 0);
		u.created_ms = col_u64(st, 1);
		u.last_login_ms = col_u64(st, 2);
		u.disabled = sqlite3_column_int(st, 3) != 0;
		if (u.name != NULL)
			cb(&u, arg);
	}
	(void)sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_user_set_disabled(struct store *s, const char *name, int on)
{
	sqlite3_stmt	*st;

	if ((st = prep(s, "UPDATE users SET disabled = ?2 WHERE name = ?1")) ==
	    NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, on ? 1 : 0) != SQLITE_OK) {
		(void)sqlite3_finalize(st);
		return -1;
	}
	if (finish(s, st) == -1)
		return -1;
	return sqlite3_changes(store_db(s)) == 0 ? STORE_NOT_FOUND : 0;
}

/*
 * Everything that refers to the user goes first (the foreign keys say
 * so): memberships, what it sent and was sent, its prekey.  Others' logs
 * keep a gap where its messages were, which readers skip.
 */
int
store_user_delete(struct store *s, int64_t user_id)
{
	static const char *const sql[] = {
		"DELETE FROM members WHERE user_id = ?1",
		"DELETE FROM room_log WHERE sender_id = ?1",
		"DELETE FROM inbox_log WHERE user_id = ?1 OR sender_id = ?1",
		"DELETE FROM sent WHERE sender_id = ?1",
		"DELETE FROM prekeys WHERE user_id = ?1",
		"UPDATE invites SET used_by = NULL WHERE used_by = ?1",
		"DELETE FROM users WHERE id = ?1",
	};
	size_t	 i;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (exec_i64(s, sql[i], user_id) == -1)
			return -1;
	return sqlite3_changes(store_db(s)) == 0 ? STORE_NOT_FOUND : 0;
}

int
store_user_login(struct store *s, int64_t user_id, uint64_t now)
{
	sqlite3_stmt	*st;

	if ((st = prep(s, "UPDATE users SET last_login = ?2 WHERE id = ?1")) ==
	    NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, user_id) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)now) != SQLITE_OK) {
		(void)sqlite3_finalize(st);
		return -1;
	}
	return finish(s, st);
}

int
store_active_users(struct store *s, uint64_t since_ms, uint64_t *n)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = prep(s, "SELECT count(*) FROM users WHERE last_login >= ?1"))
	    == NULL)
		return -1;
	if (sqlite3_bind_int64(st, 1, (sqlite3_int64)since_ms) != SQLITE_OK) {
		(void)sqlite3_finalize(st);
		return -1;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = col_u64(st, 0);
	(void)sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
store_room_delete(struct store *s, int64_t room_id)
{
	static const char *const sql[] = {
		"DELETE FROM members WHERE room_id = ?1",
		"DELETE FROM room_log WHERE room_id = ?1",
		"DELETE FROM sent WHERE target_kind = 0 AND target_id = ?1",
		"DELETE FROM roster WHERE room_id = ?1",
		"DELETE FROM rooms WHERE id = ?1",
	};
	size_t	 i;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (exec_i64(s, sql[i], room_id) == -1)
			return -1;
	return sqlite3_changes(store_db(s)) == 0 ? STORE_NOT_FOUND : 0;
}

int
store_invite_create(struct store *s, const char *code, unsigned int uses,
    uint64_t expires_ms)
{
	sqlite3_stmt	*st;

	if ((st = prep(s, "INSERT INTO invites (code, created, uses_left,"
	    " expires) VALUES (?1, " NOW_MS ", ?2, ?3)"
	    " ON CONFLICT (code) DO NOTHING")) == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, uses) != SQLITE_OK ||
	    (expires_ms != 0 ? sqlite3_bind_int64(st, 3,
	    (sqlite3_int64)expires_ms) : sqlite3_bind_null(st, 3)) !=
	    SQLITE_OK) {
		(void)sqlite3_finalize(st);
		return -1;
	}
	if (finish(s, st) == -1)
		return -1;
	return sqlite3_changes(store_db(s)) == 0 ? STORE_EXISTS : 0;
}

int
store_invites_list(struct store *s,
    void (*cb)(const struct store_invite_info *, void *), void *arg)
{
	struct store_invite_info	 in;
	sqlite3_stmt			*st;
	int				 rc;

	if ((st = prep(s, "SELECT code, created, coalesce(expires, 0),"
	    " uses_left, coalesce(used_at, 0) FROM invites"
	    " ORDER BY created, code")) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		in.code = (const char *)sqlite3_column_text(st, 0);
		in.created_ms = col_u64(st, 1);
		in.expires_ms = col_u64(st, 2);
		in.uses_left = sqlite3_column_int64(st, 3);
		in.used_at_ms = col_u64(st, 4);
		if (in.code != NULL)
			cb(&in, arg);
	}
	(void)sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_invite_revoke(struct store *s, const char *code)
{
	sqlite3_stmt	*st;

	if ((st = prep(s, "DELETE FROM invites WHERE code = ?1")) == NULL)
		return -1;
	if (sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC) != SQLITE_OK) {
		(void)sqlite3_finalize(st);
		return -1;
	}
	if (finish(s, st) == -1)
		return -1;
	return sqlite3_changes(store_db(s)) == 0 ? STORE_NOT_FOUND : 0;
}
