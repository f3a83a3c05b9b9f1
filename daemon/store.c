/*
 * store.c: every SQL statement of the broker.  SQLite in WAL mode with
 * synchronous=FULL, so a committed row survives a crash of any process;
 * the schema version lives in PRAGMA user_version and migrates forward.
 *
 * Every statement is prepared once, at open, because the broker appends
 * thousands of rows a second and preparing costs more than stepping.  The
 * operator's rare statements are in store-admin.c.
 * Callbacks run while their statement is being stepped: a callback may
 * call any other store function, but not the one it is being called from.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

/* Milliseconds since the epoch, computed by SQLite (3.31 has no unixepoch). */
#define NOW_MS	"CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

/* Append targets, as stored in sent.target_kind. */
#define TARGET_ROOM	0
#define TARGET_INBOX	1

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_REQ_SAVEPOINT,
	ST_REQ_RELEASE,
	ST_REQ_ROLLBACK_TO,
	ST_USER_GET,
	ST_USER_GET_ID,
	ST_USER_ADD,
	ST_USER_COUNT,
	ST_INVITE_ADD,
	ST_INVITE_CHECK,
	ST_INVITE_USE,
	ST_ROOM_GET,
	ST_ROOM_CREATE,
	ST_MEMBER_ADD,
	ST_MEMBER_REMOVE,
	ST_IS_MEMBER,
	ST_USER_ROOMS,
	ST_ROOM_MEMBERS,
	ST_ROOMS,
	ST_ROOMS_PAGE,
	ST_MEMBERS_PAGE,
	ST_ROOM_COUNT,
	ST_USER_ROOM_COUNT,
	ST_SENT_GET,
	ST_SENT_ADD,
	ST_ROOM_NEXT,
	ST_ROOM_LAST,
	ST_ROOM_INSERT,
	ST_INBOX_NEXT,
	ST_INBOX_LAST,
	ST_INBOX_INSERT,
	ST_ROOM_READ,
	ST_INBOX_READ,
	ST_ROOM_ACK,
	ST_INBOX_ACK,
	ST_PRUNE_ROOMS,
	ST_PRUNE_INBOXES,
	ST_PRUNE_ROOM_AGE,
	ST_PRUNE_INBOX_AGE,
	ST_PRUNE_SENT,
	ST_PREKEY_SET,
	ST_PREKEY_GET,
	ST_KEY_RESET,
	ST_KEY_REPLACE,
	ST_PREKEY_DELETE,
	ST_ROSTER_COUNT,
	ST_ROSTER_READ,
	ST_ROSTER_APPEND,
	ST_MAX
};

struct stmt_def {
	const char	*name;	/* for the log */
	const char	*sql;
};

/* The columns read_user() reads, in its order. */
#define USER_COLUMNS \
	"id, name, sign_pub, dh_pub, disabled, inbox_cursor, inbox_last," \
	" key_reset, reset_code, inbox_rows, inbox_bytes"

/*
 * The columns of a log read, shared by rooms and inboxes so that one
 * function turns either into struct store_row.
 */
#define READ_COLUMNS \
	"l.seq, l.sender_id, u.name, l.client_msg_id, l.kind, l.ts, l.body," \
	" u.sign_pub"

static const struct stmt_def stmt_defs[ST_MAX] = {
	[ST_BEGIN] = { "begin", "BEGIN IMMEDIATE" },
	[ST_COMMIT] = { "commit", "COMMIT" },
	[ST_ROLLBACK] = { "rollback", "ROLLBACK" },
	[ST_SAVEPOINT] = { "savepoint", "SAVEPOINT store_unit" },
	[ST_RELEASE] = { "release", "RELEASE store_unit" },
	[ST_ROLLBACK_TO] = { "rollback to", "ROLLBACK TO store_unit" },
	[ST_REQ_SAVEPOINT] = { "request savepoint", "SAVEPOINT store_req" },
	[ST_REQ_RELEASE] = { "request release", "RELEASE store_req" },
	[ST_REQ_ROLLBACK_TO] = { "request rollback", "ROLLBACK TO store_req" },
	[ST_USER_GET] = { "user get",
	    "SELECT " USER_COLUMNS " FROM users WHERE name = ?1" },
	[ST_USER_GET_ID] = { "user get id",
	    "SELECT " USER_COLUMNS " FROM users WHERE id = ?1" },
	[ST_USER_ADD] = { "user add",
	    "INSERT INTO users (name, sign_pub, dh_pub, created)"
	    " VALUES (?1, ?2, ?3, " NOW_MS ") ON CONFLICT (name) DO NOTHING" },
	[ST_USER_COUNT] = { "user count", "SELECT count(*) FROM users" },
	[ST_INVITE_ADD] = { "invite add",
	    "INSERT INTO invites (code, created) VALUES (?1, " NOW_MS ")"
	    " ON CONFLICT (code) DO NOTHING" },
	/* 0 usable, 1 used up, 2 expired. */
	[ST_INVITE_CHECK] = { "invite check",
	    "SELECT CASE WHEN uses_left <= 0 THEN 1"
	    " WHEN expires IS NOT NULL AND expires <= " NOW_MS " THEN 2"
	    " ELSE 0 END FROM invites WHERE code = ?1" },
	[ST_INVITE_USE] = { "invite use",
	    "UPDATE invites SET uses_left = uses_left - 1, used_by = ?2,"
	    " used_at = " NOW_MS " WHERE code = ?1 AND uses_left > 0"
	    " AND (expires IS NULL OR expires > " NOW_MS ")" },
	[ST_ROOM_GET] = { "room get",
	    "SELECT id, last_seq FROM rooms WHERE name = ?1" },
	[ST_ROOM_CREATE] = { "room create",
	    "INSERT INTO rooms (name, created) VALUES (?1, " NOW_MS ")"
	    " ON CONFLICT (name) DO NOTHING" },
	[ST_MEMBER_ADD] = { "member add",
	    "INSERT INTO members (room_id, user_id, cursor, joined)"
	    " VALUES (?1, ?2, ?3, " NOW_MS ")"
	    " ON CONFLICT (room_id, user_id) DO NOTHING" },
	[ST_MEMBER_REMOVE] = { "member remove",
	    "DELETE FROM members WHERE room_id = ?1 AND user_id = ?2" },
	[ST_IS_MEMBER] = { "is member",
	    "SELECT 1 FROM members WHERE room_id = ?1 AND user_id = ?2" },
	[ST_USER_ROOMS] = { "user rooms",
	    "SELECT r.id, r.name, m.cursor, r.last_seq FROM members m"
	    " JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ?1"
	    " ORDER BY r.name" },
	[ST_ROOM_MEMBERS] = { "room members",
	    "SELECT m.user_id, u.name FROM members m"
	    " JOIN users u ON u.id = m.user_id WHERE m.room_id = ?1"
	    " ORDER BY u.name" },
	[ST_ROOMS] = { "rooms",
	    "SELECT r.name, (SELECT count(*) FROM members m"
	    " WHERE m.room_id = r.id) FROM rooms r ORDER BY r.name" },
	/* Pages walk the name indexes: a page costs its own rows. */
	[ST_ROOMS_PAGE] = { "rooms page",
	    "SELECT r.name, (SELECT count(*) FROM members m"
	    " WHERE m.room_id = r.id) FROM rooms r WHERE r.name > ?1"
	    " ORDER BY r.name LIMIT ?2" },
	[ST_MEMBERS_PAGE] = { "members page",
	    "SELECT m.user_id, u.name FROM members m"
	    " JOIN users u ON u.id = m.user_id WHERE m.room_id = ?1"
	    " AND u.name > ?2 ORDER BY u.name LIMIT ?3" },
	[ST_ROOM_COUNT] = { "room count", "SELECT count(*) FROM rooms" },
	[ST_USER_ROOM_COUNT] = { "user room count",
	    "SELECT count(*) FROM members WHERE user_id = ?1" },
	[ST_SENT_GET] = { "sent get",
	    "SELECT seq FROM sent"
	    " WHERE sender_id = ?1 AND client_msg_id = ?2" },
	[ST_SENT_ADD] = { "sent add",
	    "INSERT INTO sent (sender_id, client_msg_id, target_kind,"
	    " target_id, seq, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)" },
	[ST_ROOM_NEXT] = { "room next seq",
	    "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ?1" },
	[ST_ROOM_LAST] = { "room last seq",
	    "SELECT last_seq FROM rooms WHERE id = ?1" },
	[ST_ROOM_INSERT] = { "room append",
	    "INSERT INTO room_log (room_id, seq, sender_id, client_msg_id,"
	    " kind, ts, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)" },
	[ST_INBOX_NEXT] = { "inbox next seq",
	    "UPDATE users SET inbox_last = inbox_last + 1 WHERE id = ?1" },
	[ST_INBOX_LAST] = { "inbox last seq",
	    "SELECT inbox_last FROM users WHERE id = ?1" },
	[ST_INBOX_INSERT] = { "inbox append",
	    "INSERT INTO inbox_log (user_id, seq, sender_id, client_msg_id,"
	    " kind, ts, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)" },
	[ST_ROOM_READ] = { "room read",
	    "SELECT " READ_COLUMNS ", NULL FROM room_log l"
	    " LEFT JOIN users u ON u.id = l.sender_id"
	    " WHERE l.room_id = ?1 AND l.seq > ?2 ORDER BY l.seq LIMIT ?3" },
	[ST_INBOX_READ] = { "inbox read",
	    "SELECT " READ_COLUMNS ", r.name FROM inbox_log l"
	    " JOIN users r ON r.id = l.user_id"
	    " LEFT JOIN users u ON u.id = l.sender_id"
	    " WHERE l.user_id = ?1 AND l.seq > ?2 ORDER BY l.seq LIMIT ?3" },
	/* Never past last: a cursor beyond it would hide future rows. */
	[ST_ROOM_ACK] = { "room ack",
	    "UPDATE members SET cursor = max(cursor, min(?3,"
	    " (SELECT last_seq FROM rooms WHERE id = ?1)))"
	    " WHERE room_id = ?1 AND user_id = ?2" },
	[ST_INBOX_ACK] = { "inbox ack",
	    "UPDATE users SET inbox_cursor = max(inbox_cursor,"
	    " min(?2, inbox_last)) WHERE id = ?1" },
	/*
	 * CROSS JOIN fixes the loop order: over the few rooms (users), then
	 * a range of each log's (id, seq) index, never a scan of a log.  A
	 * room nobody is in keeps nothing, as nobody can read it.
	 */
	[ST_PRUNE_ROOMS] = { "prune rooms",
	    "DELETE FROM room_log WHERE id IN (SELECT l.id FROM rooms r"
	    " CROSS JOIN room_log l ON l.room_id = r.id AND l.seq <= coalesce("
	    "(SELECT min(m.cursor) FROM members m WHERE m.room_id = r.id),"
	    " r.last_seq))" },
	[ST_PRUNE_INBOXES] = { "prune inboxes",
	    "DELETE FROM inbox_log WHERE id IN (SELECT l.id FROM users u"
	    " CROSS JOIN inbox_log l ON l.user_id = u.id"
	    " AND l.seq <= u.inbox_cursor WHERE u.inbox_cursor > 0)" },
	[ST_PRUNE_ROOM_AGE] = { "prune room age",
	    "DELETE FROM room_log WHERE ts < ?1" },
	[ST_PRUNE_INBOX_AGE] = { "prune inbox age",
	    "DELETE FROM inbox_log WHERE ts < ?1" },
	[ST_PRUNE_SENT] = { "prune sent",
	    "DELETE FROM sent WHERE ts < ?1" },
	[ST_PREKEY_SET] = { "prekey set",
	    "INSERT INTO prekeys (user_id, spk_id, pub, created, sig,"
	    " published) VALUES (?1, ?2, ?3, ?4, ?5, " NOW_MS ")"
	    " ON CONFLICT (user_id) DO UPDATE SET spk_id = ?2, pub = ?3,"
	    " created = ?4, sig = ?5, published = " NOW_MS },
	[ST_PREKEY_GET] = { "prekey get",
	    "SELECT spk_id, pub, created, sig FROM prekeys WHERE user_id = ?1" },
	[ST_KEY_RESET] = { "key reset",
	    "UPDATE users SET key_reset = 1, reset_code = ?2 WHERE name = ?1" },
	[ST_KEY_REPLACE] = { "key replace",
	    "UPDATE users SET sign_pub = ?2, dh_pub = ?3, key_reset = 0,"
	    " reset_code = NULL WHERE id = ?1 AND key_reset = 1" },
	[ST_PREKEY_DELETE] = { "prekey delete",
	    "DELETE FROM prekeys WHERE user_id = ?1" },
	[ST_ROSTER_COUNT] = { "roster count",
	    "SELECT count(*) FROM roster WHERE room_id = ?1" },
	[ST_ROSTER_READ] = { "roster read",
	    "SELECT idx, entry FROM roster WHERE room_id = ?1 AND idx >= ?2"
	    " ORDER BY idx LIMIT ?3" },
	[ST_ROSTER_APPEND] = { "roster append",
	    "INSERT INTO roster (room_id, idx, entry, hash, ts)"
	    " VALUES (?1, ?2, ?3, ?4, " NOW_MS ")" },
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*st[ST_MAX];
	uint8_t		 epoch[STORE_EPOCH_LEN];
};

/* What differs between appending to a room and to an inbox. */
struct log_target {
	int		 kind;		/* TARGET_* */
	enum stmt_id	 next;		/* bump the last seq */
	enum stmt_id	 last;		/* read it back (3.31: no RETURNING) */
	enum stmt_id	 insert;
	enum stmt_id	 read;
};

static const struct log_target room_target = {
	TARGET_ROOM, ST_ROOM_NEXT, ST_ROOM_LAST, ST_ROOM_INSERT, ST_ROOM_READ
};
static const struct log_target inbox_target = {
	TARGET_INBOX, ST_INBOX_NEXT, ST_INBOX_LAST, ST_INBOX_INSERT,
	ST_INBOX_READ
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

	/*
	 * 1 -> 2: accounts, rooms and the logs.  Times are milliseconds since
	 * the epoch.  The logs are rowid tables with a UNIQUE (owner, seq)
	 * key rather than WITHOUT ROWID: their rows carry message bodies, and
	 * SQLite advises WITHOUT ROWID only for rows far smaller than a page.
	 * The ts indexes let retention delete without scanning a log.  sent
	 * outlives the log rows it names, so a message resent after everyone
	 * acknowledged (and pruned) it is still recognised as a duplicate.
	 */
	"CREATE TABLE users ("
	"  id           INTEGER PRIMARY KEY,"
	"  name         TEXT NOT NULL UNIQUE,"
	"  sign_pub     BLOB NOT NULL CHECK (length(sign_pub) = 32),"
	"  dh_pub       BLOB NOT NULL CHECK (length(dh_pub) = 32),"
	"  created      INTEGER NOT NULL,"
	"  disabled     INTEGER NOT NULL DEFAULT 0,"
	"  inbox_last   INTEGER NOT NULL DEFAULT 0,"
	"  inbox_cursor INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE invites ("
	"  code    TEXT PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  used_by INTEGER REFERENCES users (id),"
	"  used_at INTEGER"
	");"
	"CREATE TABLE rooms ("
	"  id       INTEGER PRIMARY KEY,"
	"  name     TEXT NOT NULL UNIQUE,"
	"  created  INTEGER NOT NULL,"
	"  last_seq INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE members ("
	"  room_id INTEGER NOT NULL REFERENCES rooms (id),"
	"  user_id INTEGER NOT NULL REFERENCES users (id),"
	"  cursor  INTEGER NOT NULL,"
	"  joined  INTEGER NOT NULL,"
	"  PRIMARY KEY (room_id, user_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX members_user ON members (user_id);"
	"CREATE TABLE room_log ("
	"  id            INTEGER PRIMARY KEY,"
	"  room_id       INTEGER NOT NULL REFERENCES rooms (id),"
	"  seq           INTEGER NOT NULL,"
	"  sender_id     INTEGER NOT NULL REFERENCES users (id),"
	"  client_msg_id INTEGER NOT NULL,"
	"  kind          INTEGER NOT NULL,"
	"  ts            INTEGER NOT NULL,"
	"  body          BLOB NOT NULL,"
	"  UNIQUE (room_id, seq)"
	");"
	"CREATE INDEX room_log_ts ON room_log (ts);"
	"CREATE TABLE inbox_log ("
	"  id            INTEGER PRIMARY KEY,"
	"  user_id       INTEGER NOT NULL REFERENCES users (id),"
	"  seq           INTEGER NOT NULL,"
	"  sender_id     INTEGER NOT NULL REFERENCES users (id),"
	"  client_msg_id INTEGER NOT NULL,"
	"  kind          INTEGER NOT NULL,"
	"  ts            INTEGER NOT NULL,"
	"  body          BLOB NOT NULL,"
	"  UNIQUE (user_id, seq)"
	");"
	"CREATE INDEX inbox_log_ts ON inbox_log (ts);"
	"CREATE TABLE sent ("
	"  sender_id     INTEGER NOT NULL,"
	"  client_msg_id INTEGER NOT NULL,"
	"  target_kind   INTEGER NOT NULL,"	/* 0 room, 1 inbox */
	"  target_id     INTEGER NOT NULL,"
	"  seq           INTEGER NOT NULL,"
	"  ts            INTEGER NOT NULL,"
	"  PRIMARY KEY (sender_id, client_msg_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX sent_ts ON sent (ts);",

	/*
	 * 2 -> 3: end-to-end encryption.  Each user's current signed prekey
	 * (public half), and the operator's reset of a lost identity key.
	 */
	"ALTER TABLE users ADD COLUMN key_reset INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE prekeys ("
	"  user_id   INTEGER PRIMARY KEY REFERENCES users (id),"
	"  spk_id    INTEGER NOT NULL,"
	"  pub       BLOB NOT NULL CHECK (length(pub) = 32),"
	"  created   INTEGER NOT NULL,"
	"  sig       BLOB NOT NULL CHECK (length(sig) = 64),"
	"  published INTEGER NOT NULL"
	");",

	/*
	 * 3 -> 4: a key reset comes with a one-time code (its SHA-256 here)
	 * that the new registration must show.  A reset made before has
	 * none and admits no registration: the operator resets it again.
	 */
	"ALTER TABLE users ADD COLUMN reset_code BLOB"
	"  CHECK (reset_code IS NULL OR length(reset_code) = 32);",

	/*
	 * 4 -> 5: the operator's tools.  When each user last logged in (for
	 * the daily and weekly active users), and invites that may be used
	 * more than once and may expire.
	 */
	"ALTER TABLE users ADD COLUMN last_login INTEGER;"
	"ALTER TABLE invites ADD COLUMN uses_left INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE invites ADD COLUMN expires INTEGER;"
	"UPDATE invites SET uses_left = 0 WHERE used_at IS NOT NULL;"
	"CREATE INDEX users_last_login ON users (last_login);",

	/*
	 * 5 -> 6: the file says it is ours (application_id), and each
	 * database has an identity, random at creation, that clients see
	 * in WELCOME: a database made anew is not the one whose seqs they
	 * remember.
	 */
	"PRAGMA application_id = 1935885378;"
	"INSERT INTO server (key, value) VALUES"
	"  ('epoch', lower(hex(randomblob(16))));",

	/*
	 * 6 -> 7: signed room rosters (docs/E2E.md 9), one row per entry,
	 * kept for good: a member joining later verifies the whole chain.
	 * The broker never writes an entry of its own: it stores what
	 * members signed.  Rooms made before have none and stay
	 * "unverified" until a member creates one.
	 */
	"CREATE TABLE roster ("
	"  room_id INTEGER NOT NULL REFERENCES rooms (id),"
	"  idx     INTEGER NOT NULL,"
	"  entry   BLOB NOT NULL,"
	"  hash    BLOB NOT NULL CHECK (length(hash) = 32),"
	"  ts      INTEGER NOT NULL,"
	"  PRIMARY KEY (room_id, idx)"
	") WITHOUT ROWID;",

	/*
	 * 7 -> 8: what each inbox holds, for the offline quota
	 * (limits.inbox_max_messages, limits.inbox_max_mib).  Triggers keep
	 * the counts whatever deletes a row: prune, retention, or a future
	 * statement that forgets to.
	 */
	"ALTER TABLE users ADD COLUMN inbox_rows INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN inbox_bytes INTEGER NOT NULL DEFAULT 0;"
	"UPDATE users SET"
	"  inbox_rows = (SELECT count(*) FROM inbox_log l"
	"    WHERE l.user_id = users.id),"
	"  inbox_bytes = (SELECT coalesce(sum(length(l.body)), 0)"
	"    FROM inbox_log l WHERE l.user_id = users.id);"
	"CREATE TRIGGER inbox_log_added AFTER INSERT ON inbox_log BEGIN"
	"  UPDATE users SET inbox_rows = inbox_rows + 1,"
	"    inbox_bytes = inbox_bytes + length(NEW.body)"
	"    WHERE id = NEW.user_id;"
	" END;"
	"CREATE TRIGGER inbox_log_removed AFTER DELETE ON inbox_log BEGIN"
	"  UPDATE users SET inbox_rows = inbox_rows - 1,"
	"    inbox_bytes = inbox_bytes - length(OLD.body)"
	"    WHERE id = OLD.user_id;"
	" END;",
};
_Static_assert(STORE_APPLICATION_ID == 1935885378,
    "migration 5 -> 6 writes STORE_APPLICATION_ID");

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

/* One text value of a query that returns one row, into out. */
static int
query_text(struct store *s, const char *sql, char *out, size_t outsz)
{
	sqlite3_stmt		*st;
	const unsigned char	*v;
	int			 rc, ok = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    (v = sqlite3_column_text(st, 0)) != NULL &&
	    str_copy(out, (const char *)v, outsz) == 0)
		ok = 0;
	else if (rc == SQLITE_DONE && outsz > 0) {
		out[0] = '\0';
		ok = 0;
	}
	sqlite3_finalize(st);
	return ok;
}

/*
 * Is the existing file at hand ours?  Ours carry STORE_APPLICATION_ID;
 * before schema 5 they did not, but had the server table that migration
 * 0 -> 1 made.  A file with no schema at all holds nothing to lose (a
 * first start that stopped before its first migration).  Anything else is
 * another program's database, which we must neither migrate into nor
 * serve.
 */
static int
check_ours(struct store *s, char *err, size_t errsz)
{
	char	 created[64];
	int	 appid, version, objects;

	if (pragma_int(s, "PRAGMA application_id", &appid) == -1 ||
	    pragma_int(s, "PRAGMA user_version", &version) == -1 ||
	    pragma_int(s, "SELECT count(*) FROM sqlite_master",
	    &objects) == -1) {
		snprintf(err, errsz, "%s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (appid == STORE_APPLICATION_ID)
		return 0;
	if (appid == 0 && version == 0 && objects == 0)
		return 0;
	if (appid == 0 && version >= 1 && query_text(s, "SELECT value FROM "
	    "sqlite_master m, server WHERE m.name = 'server' AND "
	    "key = 'created'", created, sizeof(created)) == 0 &&
	    created[0] != '\0')
		return 0;
	snprintf(err, errsz, "not a securechat database (application_id "
	    "0x%08x, user_version %d, %d schema objects): refusing to use or "
	    "change it", (unsigned int)appid, version, objects);
	return -1;
}

/* The cheap half of PRAGMA integrity_check: every page, not every index. */
static int
quick_check(struct store *s, char *err, size_t errsz)
{
	char	 result[256];

	if (query_text(s, "PRAGMA quick_check(1)", result,
	    sizeof(result)) == -1) {
		snprintf(err, errsz, "quick_check: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (strcmp(result, "ok") != 0) {
		snprintf(err, errsz, "the database fails PRAGMA quick_check: "
		    "%s; restore it from a backup", result);
		return -1;
	}
	return 0;
}

/*
 * The database's identity.  None (the operator deleted it after restoring
 * a backup, whose seqs clients may have seen past) draws a new one.
 */
static int
load_epoch(struct store *s, char *err, size_t errsz)
{
	static const char	 query[] = "SELECT value FROM server WHERE "
	    "key = 'epoch'";
	char			 hex[2 * STORE_EPOCH_LEN + 1];

	if (query_text(s, query, hex, sizeof(hex)) == 0 && hex[0] == '\0') {
		if (exec_sql(s, "INSERT INTO server (key, value) VALUES "
		    "('epoch', lower(hex(randomblob(16))))", err, errsz) == -1)
			return -1;
		log_warnx("database: no epoch: a new one was drawn; clients "
		    "will count what they were shown afresh");
	}
	if (query_text(s, query, hex, sizeof(hex)) == -1 ||
	    hex_decode(hex, strlen(hex), s->epoch, sizeof(s->epoch)) == -1) {
		snprintf(err, errsz, "the database's epoch is not 32 hex "
		    "digits");
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

static int
prepare_all(struct store *s, char *err, size_t errsz)
{
	size_t	 i;

	for (i = 0; i < ST_MAX; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_defs[i].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errsz, "prepare %s: %s",
			    stmt_defs[i].name, sqlite3_errmsg(s->db));
			return -1;
		}
	}
	return 0;
}

struct store *
store_open(const char *path, char *err, size_t errsz)
{
	struct store	*s;
	struct stat	 st;
	char		 pragmas[256];
	int		 flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	(void)snprintf(pragmas, sizeof(pragmas), "PRAGMA synchronous=FULL; "
	    "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
	    "PRAGMA wal_autocheckpoint=1000; PRAGMA journal_size_limit=%d;",
	    STORE_WAL_LIMIT);

	/*
	 * A file that exists but is empty (a failed restore, a full disk)
	 * would become a new, empty database under the old name, and clients
	 * would go on trusting seqs it never gave out.  Only a missing file
	 * is created.
	 */
	if (stat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errsz, "%s: not a regular file", path);
			return NULL;
		}
		if (st.st_size == 0) {
			snprintf(err, errsz, "%s exists but is empty: refusing "
			    "to make a new database in its place (remove it to "
			    "start afresh, or restore it from a backup)", path);
			return NULL;
		}
	} else if (errno == ENOENT)
		flags |= SQLITE_OPEN_CREATE;
	else {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	/*
	 * The WAL is checkpointed every 1000 pages and cut back to
	 * STORE_WAL_LIMIT after: whatever one big turn made it grow to is
	 * given back to the file system, which a full disk needs.
	 */
	if (check_ours(s, err, errsz) == -1 ||
	    quick_check(s, err, errsz) == -1 ||
	    check_journal_mode(s, err, errsz) == -1 ||
	    exec_sql(s, pragmas, err, errsz) == -1 ||
	    sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
	    migrate(s, err, errsz) == -1 ||
	    load_epoch(s, err, errsz) == -1 ||
	    prepare_all(s, err, errsz) == -1)
		goto fail;
	return s;
fail:
	store_close(s);
	return NULL;
}

sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

void
store_close(struct store *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	/* sqlite3_close refuses a connection with a statement left over. */
	for (i = 0; i < ST_MAX; i++)
		(void)sqlite3_finalize(s->st[i]);
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

const uint8_t *
store_epoch(struct store *s)
{
	return s->epoch;
}

int
store_synchronous(struct store *s)
{
	int	 v;

	if (pragma_int(s, "PRAGMA synchronous", &v) == -1)
		return -1;
	return v;
}

/*
 * Statement plumbing.  Every failure is logged here with the statement's
 * name, so callers only pass -1 up.
 */
static void
db_error(struct store *s, enum stmt_id id)
{
	static uint64_t		 logged_ms;
	static unsigned long	 unlogged;
	uint64_t		 now = now_ms();

	/* A full disk fails every turn: one line a second is enough. */
	if (logged_ms != 0 && now - logged_ms < 1000) {
		unlogged++;
		return;
	}
	log_warnx("database: %s: %s (%d)%s", stmt_defs[id].name,
	    sqlite3_errmsg(s->db), sqlite3_extended_errcode(s->db),
	    unlogged > 0 ? ", and more errors not logged" : "");
	logged_ms = now;
	unlogged = 0;
}

/*
 * Make a statement ready for its next use.  reset's result repeats the
 * error of the last step, which step() has already reported.
 */
static void
done(struct store *s, enum stmt_id id)
{
	(void)sqlite3_reset(s->st[id]);
	(void)sqlite3_clear_bindings(s->st[id]);
}

/* SQLITE_ROW, SQLITE_DONE, or -1 (logged, statement reset). */
static int
step(struct store *s, enum stmt_id id)
{
	int	 rc;

	rc = sqlite3_step(s->st[id]);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	db_error(s, id);
	done(s, id);
	return -1;
}

/* Run a statement that returns no rows. */
static int
run(struct store *s, enum stmt_id id)
{
	int	 rc;

	rc = step(s, id);
	if (rc == -1)
		return -1;
	done(s, id);
	if (rc != SQLITE_DONE) {
		log_warnx("database: %s: unexpected row", stmt_defs[id].name);
		return -1;
	}
	return 0;
}

static int
bind_check(struct store *s, enum stmt_id id, int rc)
{
	if (rc == SQLITE_OK)
		return 0;
	db_error(s, id);
	done(s, id);
	return -1;
}

static int
bind_i64(struct store *s, enum stmt_id id, int idx, int64_t v)
{
	return bind_check(s, id, sqlite3_bind_int64(s->st[id], idx, v));
}

/*
 * Sequence numbers and times are compared in SQL, so a value SQLite cannot
 * hold is clamped: "after 2^64 - 1" must still mean "nothing".
 */
static int
bind_u64(struct store *s, enum stmt_id id, int idx, uint64_t v)
{
	return bind_i64(s, id, idx, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* Client message ids are only compared for equality: keep every bit. */
static int
bind_msgid(struct store *s, enum stmt_id id, int idx, uint64_t v)
{
	return bind_i64(s, id, idx, (int64_t)v);
}

static uint64_t
column_u64(sqlite3_stmt *st, int col)
{
	sqlite3_int64	 v = sqlite3_column_int64(st, col);

	return v < 0 ? 0 : (uint64_t)v;
}

static int
bind_text(struct store *s, enum stmt_id id, int idx, const char *v)
{
	return bind_check(s, id, sqlite3_bind_text(s->st[id], idx, v, -1,
	    SQLITE_STATIC));
}

static int
bind_blob(struct store *s, enum stmt_id id, int idx, const void *v,
    size_t len)
{
	/* A NULL pointer would bind SQL NULL, which body NOT NULL refuses. */
	if (len == 0)
		return bind_check(s, id, sqlite3_bind_zeroblob(s->st[id], idx,
		    0));
	if (len > INT32_MAX) {
		log_warnx("database: %s: blob of %zu bytes", stmt_defs[id].name,
		    len);
		done(s, id);
		return -1;
	}
	return bind_check(s, id, sqlite3_bind_blob(s->st[id], idx, v,
	    (int)len, SQLITE_STATIC));
}

/*
 * A unit of work that must be all or nothing even when the caller has
 * no transaction open.  Nested inside the caller's transaction, a failed
 * unit is undone alone; on its own, the savepoint is the transaction.
 */
static int
unit_begin(struct store *s, int *outer)
{
	*outer = sqlite3_get_autocommit(s->db);
	return run(s, ST_SAVEPOINT);
}

static int
unit_end(struct store *s, int outer, int ok)
{
	if (ok && run(s, ST_RELEASE) == 0)
		return 0;
	/* A serious error may already have rolled the whole lot back. */
	if (sqlite3_get_autocommit(s->db))
		return -1;
	if (outer)
		(void)run(s, ST_ROLLBACK);
	else if (run(s, ST_ROLLBACK_TO) == 0)
		(void)run(s, ST_RELEASE);
	return -1;
}

int
store_begin(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	/* IMMEDIATE: take the write lock now, not halfway through a turn. */
	return run(s, ST_BEGIN);
}

int
store_commit(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return 0;
	if (run(s, ST_COMMIT) == 0)
		return 0;
	/* Leave no half-open transaction for the next turn to build on. */
	if (!sqlite3_get_autocommit(s->db))
		(void)run(s, ST_ROLLBACK);
	return -1;
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)run(s, ST_ROLLBACK);
}

int
store_in_transaction(struct store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

int
store_savepoint(struct store *s)
{
	return run(s, ST_REQ_SAVEPOINT);
}

int
store_release(struct store *s)
{
	return run(s, ST_REQ_RELEASE);
}

/* Undo the request's writes and drop its savepoint; the rest stays. */
int
store_rollback_to(struct store *s)
{
	if (run(s, ST_REQ_ROLLBACK_TO) == -1)
		return -1;
	return run(s, ST_REQ_RELEASE);
}

void
store_checkpoint(struct store *s)
{
	(void)sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL,
	    NULL, NULL);
}

/* Users. */

static int
read_user(struct store *s, enum stmt_id id, struct store_user *u)
{
	sqlite3_stmt	*st = s->st[id];
	const char	*name;
	int		 rc;

	if ((rc = step(s, id)) == -1)
		return -1;
	if (rc == SQLITE_DONE) {
		done(s, id);
		return STORE_NOT_FOUND;
	}
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(st, 0);
	name = (const char *)sqlite3_column_text(st, 1);
	if (name == NULL || strlen(name) > STORE_NAME_MAX ||
	    sqlite3_column_bytes(st, 2) != STORE_KEY_LEN ||
	    sqlite3_column_bytes(st, 3) != STORE_KEY_LEN) {
		log_warnx("database: %s: malformed user %lld",
		    stmt_defs[id].name, (long long)u->id);
		done(s, id);
		return -1;
	}
	memcpy(u->name, name, strlen(name) + 1);
	memcpy(u->sign_pub, sqlite3_column_blob(st, 2), STORE_KEY_LEN);
	memcpy(u->dh_pub, sqlite3_column_blob(st, 3), STORE_KEY_LEN);
	u->disabled = sqlite3_column_int(st, 4) != 0;
	u->inbox_cursor = column_u64(st, 5);
	u->inbox_last = column_u64(st, 6);
	u->key_reset = sqlite3_column_int(st, 7) != 0;
	if (sqlite3_column_bytes(st, 8) == STORE_KEY_LEN) {
		memcpy(u->reset_code, sqlite3_column_blob(st, 8),
		    STORE_KEY_LEN);
		u->has_reset_code = 1;
	}
	u->inbox_rows = column_u64(st, 9);
	u->inbox_bytes = column_u64(st, 10);
	done(s, id);
	return 0;
}

int
store_user_get(struct store *s, const char *name, struct store_user *u)
{
	if (bind_text(s, ST_USER_GET, 1, name) == -1)
		return -1;
	return read_user(s, ST_USER_GET, u);
}

int
store_user_get_id(struct store *s, int64_t id, struct store_user *u)
{
	if (bind_i64(s, ST_USER_GET_ID, 1, id) == -1)
		return -1;
	return read_user(s, ST_USER_GET_ID, u);
}

int
store_user_add(struct store *s, const char *name,
    const uint8_t sign_pub[STORE_KEY_LEN], const uint8_t dh_pub[STORE_KEY_LEN],
    int64_t *id)
{
	if (bind_text(s, ST_USER_ADD, 1, name) == -1 ||
	    bind_blob(s, ST_USER_ADD, 2, sign_pub, STORE_KEY_LEN) == -1 ||
	    bind_blob(s, ST_USER_ADD, 3, dh_pub, STORE_KEY_LEN) == -1 ||
	    run(s, ST_USER_ADD) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return STORE_EXISTS;
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* A single-row, single-integer query. */
static int
query_u64(struct store *s, enum stmt_id id, uint64_t *v)
{
	int	 rc;

	if ((rc = step(s, id)) == -1)
		return -1;
	if (rc == SQLITE_DONE) {
		done(s, id);
		return STORE_NOT_FOUND;
	}
	*v = column_u64(s->st[id], 0);
	done(s, id);
	return 0;
}

int
store_user_count(struct store *s, uint64_t *n)
{
	return query_u64(s, ST_USER_COUNT, n) == 0 ? 0 : -1;
}

/* Keys for end-to-end encryption: public halves only. */

int
store_prekey_set(struct store *s, int64_t user_id, const struct store_prekey *pk)
{
	if (bind_i64(s, ST_PREKEY_SET, 1, user_id) == -1 ||
	    bind_i64(s, ST_PREKEY_SET, 2, pk->id) == -1 ||
	    bind_blob(s, ST_PREKEY_SET, 3, pk->pub, STORE_KEY_LEN) == -1 ||
	    bind_u64(s, ST_PREKEY_SET, 4, pk->created_s) == -1 ||
	    bind_blob(s, ST_PREKEY_SET, 5, pk->sig, sizeof(pk->sig)) == -1)
		return -1;
	return run(s, ST_PREKEY_SET);
}

int
store_prekey_get(struct store *s, int64_t user_id, struct store_prekey *pk)
{
	sqlite3_stmt	*st = s->st[ST_PREKEY_GET];
	int		 rc;

	if (bind_i64(s, ST_PREKEY_GET, 1, user_id) == -1 ||
	    (rc = step(s, ST_PREKEY_GET)) == -1)
		return -1;
	if (rc == SQLITE_DONE) {
		done(s, ST_PREKEY_GET);
		return STORE_NOT_FOUND;
	}
	if (sqlite3_column_bytes(st, 1) != STORE_KEY_LEN ||
	    sqlite3_column_bytes(st, 3) != (int)sizeof(pk->sig)) {
		log_warnx("database: malformed prekey of user %lld",
		    (long long)user_id);
		done(s, ST_PREKEY_GET);
		return -1;
	}
	pk->id = (uint32_t)sqlite3_column_int64(st, 0);
	memcpy(pk->pub, sqlite3_column_blob(st, 1), STORE_KEY_LEN);
	pk->created_s = column_u64(st, 2);
	memcpy(pk->sig, sqlite3_column_blob(st, 3), sizeof(pk->sig));
	done(s, ST_PREKEY_GET);
	return 0;
}

int
store_key_reset(struct store *s, const char *name,
    const uint8_t code_hash[STORE_KEY_LEN])
{
	if (bind_text(s, ST_KEY_RESET, 1, name) == -1 ||
	    bind_blob(s, ST_KEY_RESET, 2, code_hash, STORE_KEY_LEN) == -1 ||
	    run(s, ST_KEY_RESET) == -1)
		return -1;
	return sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : 0;
}

int
store_key_replace(struct store *s, int64_t user_id,
    const uint8_t sign_pub[STORE_KEY_LEN], const uint8_t dh_pub[STORE_KEY_LEN])
{
	if (bind_i64(s, ST_KEY_REPLACE, 1, user_id) == -1 ||
	    bind_blob(s, ST_KEY_REPLACE, 2, sign_pub, STORE_KEY_LEN) == -1 ||
	    bind_blob(s, ST_KEY_REPLACE, 3, dh_pub, STORE_KEY_LEN) == -1 ||
	    run(s, ST_KEY_REPLACE) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return STORE_NOT_FOUND;
	if (bind_i64(s, ST_PREKEY_DELETE, 1, user_id) == -1 ||
	    run(s, ST_PREKEY_DELETE) == -1)
		return -1;
	return 0;
}

/* Invites. */

int
store_invite_add(struct store *s, const char *code)
{
	if (bind_text(s, ST_INVITE_ADD, 1, code) == -1 ||
	    run(s, ST_INVITE_ADD) == -1)
		return -1;
	return sqlite3_changes(s->db) == 0 ? STORE_EXISTS : 0;
}

int
store_invite_check(struct store *s, const char *code)
{
	uint64_t	 used;
	int		 rv;

	if (bind_text(s, ST_INVITE_CHECK, 1, code) == -1)
		return -1;
	if ((rv = query_u64(s, ST_INVITE_CHECK, &used)) != 0)
		return rv;
	return used == 1 ? STORE_USED : used == 2 ? STORE_EXPIRED : 0;
}

int
store_invite_use(struct store *s, const char *code, int64_t user_id)
{
	int	 rv;

	if (bind_text(s, ST_INVITE_USE, 1, code) == -1 ||
	    bind_i64(s, ST_INVITE_USE, 2, user_id) == -1 ||
	    run(s, ST_INVITE_USE) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 1)
		return 0;
	/* Nothing updated: say why. */
	if ((rv = store_invite_check(s, code)) == 0) {
		log_warnx("database: invite use: unused code not updated");
		return -1;
	}
	return rv;
}

/* Rooms and membership. */

int
store_room_get(struct store *s, const char *name, int64_t *room_id,
    uint64_t *last_seq)
{
	sqlite3_stmt	*st = s->st[ST_ROOM_GET];
	int		 rc;

	if (bind_text(s, ST_ROOM_GET, 1, name) == -1 ||
	    (rc = step(s, ST_ROOM_GET)) == -1)
		return -1;
	if (rc == SQLITE_DONE) {
		done(s, ST_ROOM_GET);
		return STORE_NOT_FOUND;
	}
	if (room_id != NULL)
		*room_id = sqlite3_column_int64(st, 0);
	if (last_seq != NULL)
		*last_seq = column_u64(st, 1);
	done(s, ST_ROOM_GET);
	return 0;
}

int
store_room_create(struct store *s, const char *name, int64_t *room_id)
{
	if (bind_text(s, ST_ROOM_CREATE, 1, name) == -1 ||
	    run(s, ST_ROOM_CREATE) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 1) {
		if (room_id != NULL)
			*room_id = sqlite3_last_insert_rowid(s->db);
		return 0;
	}
	if (store_room_get(s, name, room_id, NULL) != 0)
		return -1;
	return STORE_EXISTS;
}

int
store_member_add(struct store *s, int64_t room_id, int64_t user_id,
    uint64_t cursor)
{
	if (bind_i64(s, ST_MEMBER_ADD, 1, room_id) == -1 ||
	    bind_i64(s, ST_MEMBER_ADD, 2, user_id) == -1 ||
	    bind_u64(s, ST_MEMBER_ADD, 3, cursor) == -1 ||
	    run(s, ST_MEMBER_ADD) == -1)
		return -1;
	return sqlite3_changes(s->db) == 0 ? STORE_EXISTS : 0;
}

/* STORE_NOT_FOUND if the user was not a member. */
int
store_member_remove(struct store *s, int64_t room_id, int64_t user_id)
{
	if (bind_i64(s, ST_MEMBER_REMOVE, 1, room_id) == -1 ||
	    bind_i64(s, ST_MEMBER_REMOVE, 2, user_id) == -1 ||
	    run(s, ST_MEMBER_REMOVE) == -1)
		return -1;
	return sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : 0;
}

/* 1 if a member, 0 if not. */
int
store_is_member(struct store *s, int64_t room_id, int64_t user_id)
{
	int	 rc;

	if (bind_i64(s, ST_IS_MEMBER, 1, room_id) == -1 ||
	    bind_i64(s, ST_IS_MEMBER, 2, user_id) == -1 ||
	    (rc = step(s, ST_IS_MEMBER)) == -1)
		return -1;
	done(s, ST_IS_MEMBER);
	return rc == SQLITE_ROW;
}

/* After a loop of steps, done or stopped early: 0, or -1 if a step failed. */
static int
finished(struct store *s, enum stmt_id id, int rc)
{
	if (rc == -1)
		return -1;
	done(s, id);
	return 0;
}

int
store_user_rooms(struct store *s, int64_t user_id,
    void (*cb)(int64_t, const char *, uint64_t, uint64_t, void *), void *arg)
{
	sqlite3_stmt	*st = s->st[ST_USER_ROOMS];
	int		 rc;

	if (bind_i64(s, ST_USER_ROOMS, 1, user_id) == -1)
		return -1;
	while ((rc = step(s, ST_USER_ROOMS)) == SQLITE_ROW)
		cb(sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    column_u64(st, 2), column_u64(st, 3), arg);
	return finished(s, ST_USER_ROOMS, rc);
}

int
store_room_members(struct store *s, int64_t room_id,
    void (*cb)(int64_t, const char *, void *), void *arg)
{
	sqlite3_stmt	*st = s->st[ST_ROOM_MEMBERS];
	int		 rc;

	if (bind_i64(s, ST_ROOM_MEMBERS, 1, room_id) == -1)
		return -1;
	while ((rc = step(s, ST_ROOM_MEMBERS)) == SQLITE_ROW)
		cb(sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1), arg);
	return finished(s, ST_ROOM_MEMBERS, rc);
}

int
store_rooms(struct store *s, void (*cb)(const char *, uint64_t, void *),
    void *arg)
{
	sqlite3_stmt	*st = s->st[ST_ROOMS];
	int		 rc;

	while ((rc = step(s, ST_ROOMS)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0), column_u64(st, 1),
		    arg);
	return finished(s, ST_ROOMS, rc);
}

int
store_rooms_page(struct store *s, const char *after, size_t limit,
    void (*cb)(const char *, uint64_t, void *), void *arg)
{
	sqlite3_stmt	*st = s->st[ST_ROOMS_PAGE];
	int		 rc;

	if (bind_text(s, ST_ROOMS_PAGE, 1, after) == -1 ||
	    bind_u64(s, ST_ROOMS_PAGE, 2, limit) == -1)
		return -1;
	while ((rc = step(s, ST_ROOMS_PAGE)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0), column_u64(st, 1),
		    arg);
	return finished(s, ST_ROOMS_PAGE, rc);
}

int
store_room_members_page(struct store *s, int64_t room_id, const char *after,
    size_t limit, void (*cb)(int64_t, const char *, void *), void *arg)
{
	sqlite3_stmt	*st = s->st[ST_MEMBERS_PAGE];
	int		 rc;

	if (bind_i64(s, ST_MEMBERS_PAGE, 1, room_id) == -1 ||
	    bind_text(s, ST_MEMBERS_PAGE, 2, after) == -1 ||
	    bind_u64(s, ST_MEMBERS_PAGE, 3, limit) == -1)
		return -1;
	while ((rc = step(s, ST_MEMBERS_PAGE)) == SQLITE_ROW)
		cb(sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1), arg);
	return finished(s, ST_MEMBERS_PAGE, rc);
}

int
store_room_count(struct store *s, uint64_t *n)
{
	return query_u64(s, ST_ROOM_COUNT, n);
}

int
store_user_room_count(struct store *s, int64_t user_id, uint64_t *n)
{
	if (bind_i64(s, ST_USER_ROOM_COUNT, 1, user_id) == -1)
		return -1;
	return query_u64(s, ST_USER_ROOM_COUNT, n) == 0 ? 0 : -1;
}

/* Logs. */

/* 0 and *seq if (sender, client_msg_id) was stored, else STORE_NOT_FOUND. */
int
store_sent_seq(struct store *s, int64_t sender_id, uint64_t client_msg_id,
    uint64_t *seq)
{
	if (bind_i64(s, ST_SENT_GET, 1, sender_id) == -1 ||
	    bind_msgid(s, ST_SENT_GET, 2, client_msg_id) == -1)
		return -1;
	return query_u64(s, ST_SENT_GET, seq);
}

/* Inside a unit: allocate the next seq of the target, store the row. */
static int
append_row(struct store *s, const struct log_target *t, int64_t target_id,
    int64_t sender_id, uint64_t client_msg_id, uint8_t kind, uint64_t ts_ms,
    const uint8_t *body, size_t len, uint64_t *seq)
{
	int	 rv;

	if (bind_i64(s, t->next, 1, target_id) == -1 || run(s, t->next) == -1)
		return -1;
	if (sqlite3_changes(s->db) != 1)
		return STORE_NOT_FOUND;
	if (bind_i64(s, t->last, 1, target_id) == -1)
		return -1;
	if ((rv = query_u64(s, t->last, seq)) != 0)
		return -1;
	if (bind_i64(s, t->insert, 1, target_id) == -1 ||
	    bind_u64(s, t->insert, 2, *seq) == -1 ||
	    bind_i64(s, t->insert, 3, sender_id) == -1 ||
	    bind_msgid(s, t->insert, 4, client_msg_id) == -1 ||
	    bind_i64(s, t->insert, 5, kind) == -1 ||
	    bind_u64(s, t->insert, 6, ts_ms) == -1 ||
	    bind_blob(s, t->insert, 7, body, len) == -1 ||
	    run(s, t->insert) == -1)
		return -1;
	if (client_msg_id == 0)
		return 0;
	if (bind_i64(s, ST_SENT_ADD, 1, sender_id) == -1 ||
	    bind_msgid(s, ST_SENT_ADD, 2, client_msg_id) == -1 ||
	    bind_i64(s, ST_SENT_ADD, 3, t->kind) == -1 ||
	    bind_i64(s, ST_SENT_ADD, 4, target_id) == -1 ||
	    bind_u64(s, ST_SENT_ADD, 5, *seq) == -1 ||
	    bind_u64(s, ST_SENT_ADD, 6, ts_ms) == -1 ||
	    run(s, ST_SENT_ADD) == -1)
		return -1;
	return 0;
}

static int
log_append(struct store *s, const struct log_target *t, int64_t target_id,
    int64_t sender_id, uint64_t client_msg_id, uint8_t kind, uint64_t ts_ms,
    const uint8_t *body, size_t len, uint64_t *seq, int *duplicate)
{
	uint64_t	 first;
	int		 outer, rv;

	*duplicate = 0;
	if (client_msg_id != 0) {
		if ((rv = store_sent_seq(s, sender_id, client_msg_id,
		    &first)) == -1)
			return -1;
		if (rv == 0) {
			*seq = first;
			*duplicate = 1;
			return 0;
		}
	}
	if (unit_begin(s, &outer) == -1)
		return -1;
	rv = append_row(s, t, target_id, sender_id, client_msg_id, kind, ts_ms,
	    body, len, seq);
	if (unit_end(s, outer, rv == 0) == -1 && rv == 0)
		rv = -1;
	return rv;
}

int
store_room_append(struct store *s, int64_t room_id, int64_t sender_id,
    uint64_t client_msg_id, uint8_t kind, uint64_t ts_ms,
    const uint8_t *body, size_t len, uint64_t *seq, int *duplicate)
{
	return log_append(s, &room_target, room_id, sender_id, client_msg_id,
	    kind, ts_ms, body, len, seq, duplicate);
}

int
store_inbox_append(struct store *s, int64_t user_id, int64_t sender_id,
    uint64_t client_msg_id, uint8_t kind, uint64_t ts_ms,
    const uint8_t *body, size_t len, uint64_t *seq, int *duplicate)
{
	return log_append(s, &inbox_target, user_id, sender_id, client_msg_id,
	    kind, ts_ms, body, len, seq, duplicate);
}

static int
log_read(struct store *s, const struct log_target *t, int64_t target_id,
    uint64_t after, size_t limit, int (*cb)(const struct store_row *, void *),
    void *arg)
{
	sqlite3_stmt		*st = s->st[t->read];
	struct store_row	 row;
	const char		*sender;
	int			 rc;

	if (bind_i64(s, t->read, 1, target_id) == -1 ||
	    bind_u64(s, t->read, 2, after) == -1 ||
	    bind_u64(s, t->read, 3, limit) == -1)
		return -1;
	while ((rc = step(s, t->read)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		row.seq = column_u64(st, 0);
		row.sender_id = sqlite3_column_int64(st, 1);
		sender = (const char *)sqlite3_column_text(st, 2);
		row.sender = sender != NULL ? sender : "";
		row.client_msg_id = (uint64_t)sqlite3_column_int64(st, 3);
		row.kind = (uint8_t)sqlite3_column_int(st, 4);
		row.ts_ms = column_u64(st, 5);
		/* Blob before its length: the documented safe order. */
		row.body = sqlite3_column_blob(st, 6);
		row.body_len = (size_t)sqlite3_column_bytes(st, 6);
		if (row.body == NULL)
			row.body = (const uint8_t *)"";
		/* A sender whose row is gone (never, in practice) has none. */
		if (sqlite3_column_bytes(st, 7) == STORE_KEY_LEN)
			row.sender_sign_pub = sqlite3_column_blob(st, 7);
		else
			row.sender_sign_pub = NULL;
		row.recipient = (const char *)sqlite3_column_text(st, 8);
		if (cb(&row, arg) != 0)
			break;
	}
	return finished(s, t->read, rc);
}

int
store_room_read(struct store *s, int64_t room_id, uint64_t after,
    size_t limit, int (*cb)(const struct store_row *, void *), void *arg)
{
	return log_read(s, &room_target, room_id, after, limit, cb, arg);
}

int
store_inbox_read(struct store *s, int64_t user_id, uint64_t after,
    size_t limit, int (*cb)(const struct store_row *, void *), void *arg)
{
	return log_read(s, &inbox_target, user_id, after, limit, cb, arg);
}

/* STORE_NOT_FOUND if the user is not a member. */
int
store_room_ack(struct store *s, int64_t room_id, int64_t user_id,
    uint64_t seq)
{
	if (bind_i64(s, ST_ROOM_ACK, 1, room_id) == -1 ||
	    bind_i64(s, ST_ROOM_ACK, 2, user_id) == -1 ||
	    bind_u64(s, ST_ROOM_ACK, 3, seq) == -1 ||
	    run(s, ST_ROOM_ACK) == -1)
		return -1;
	return sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : 0;
}

/* STORE_NOT_FOUND if there is no such user. */
int
store_inbox_ack(struct store *s, int64_t user_id, uint64_t seq)
{
	if (bind_i64(s, ST_INBOX_ACK, 1, user_id) == -1 ||
	    bind_u64(s, ST_INBOX_ACK, 2, seq) == -1 ||
	    run(s, ST_INBOX_ACK) == -1)
		return -1;
	return sqlite3_changes(s->db) == 0 ? STORE_NOT_FOUND : 0;
}

/*
 * *deleted counts log rows and de-duplication records.  Log rows older
 * than before_ms go (none if 0), de-duplication records older than
 * sent_before_ms (none if 0).
 */
int
store_prune(struct store *s, uint64_t before_ms, uint64_t sent_before_ms,
    uint64_t *deleted)
{
	static const enum stmt_id	 by_cursor[] = {
		ST_PRUNE_ROOMS, ST_PRUNE_INBOXES
	};
	static const enum stmt_id	 by_age[] = {
		ST_PRUNE_ROOM_AGE, ST_PRUNE_INBOX_AGE
	};
	uint64_t			 n = 0;
	size_t				 i;

	for (i = 0; i < sizeof(by_cursor) / sizeof(by_cursor[0]); i++) {
		if (run(s, by_cursor[i]) == -1)
			return -1;
		n += (uint64_t)sqlite3_changes(s->db);
	}
	for (i = 0; before_ms > 0 && i < sizeof(by_age) / sizeof(by_age[0]);
	    i++) {
		if (bind_u64(s, by_age[i], 1, before_ms) == -1 ||
		    run(s, by_age[i]) == -1)
			return -1;
		n += (uint64_t)sqlite3_changes(s->db);
	}
	if (sent_before_ms > 0) {
		if (bind_u64(s, ST_PRUNE_SENT, 1, sent_before_ms) == -1 ||
		    run(s, ST_PRUNE_SENT) == -1)
			return -1;
		n += (uint64_t)sqlite3_changes(s->db);
	}
	if (deleted != NULL)
		*deleted = n;
	return 0;
}

/* Rosters. */

int
store_roster_count(struct store *s, int64_t room_id, uint32_t *count)
{
	int	 rc;

	if (bind_i64(s, ST_ROSTER_COUNT, 1, room_id) == -1 ||
	    (rc = step(s, ST_ROSTER_COUNT)) == -1)
		return -1;
	*count = rc == SQLITE_ROW ?
	    (uint32_t)column_u64(s->st[ST_ROSTER_COUNT], 0) : 0;
	done(s, ST_ROSTER_COUNT);
	return 0;
}

int
store_roster_read(struct store *s, int64_t room_id, uint32_t from,
    size_t limit, int (*cb)(uint32_t, const uint8_t *, size_t, void *),
    void *arg)
{
	sqlite3_stmt	*st = s->st[ST_ROSTER_READ];
	int		 rc, stop = 0;

	if (bind_i64(s, ST_ROSTER_READ, 1, room_id) == -1 ||
	    bind_i64(s, ST_ROSTER_READ, 2, from) == -1 ||
	    bind_u64(s, ST_ROSTER_READ, 3, limit) == -1)
		return -1;
	while (!stop && (rc = step(s, ST_ROSTER_READ)) == SQLITE_ROW)
		stop = cb((uint32_t)column_u64(st, 0), sqlite3_column_blob(st,
		    1), (size_t)sqlite3_column_bytes(st, 1), arg);
	if (!stop && rc == -1)
		return -1;
	done(s, ST_ROSTER_READ);
	return 0;
}

int
store_roster_append(struct store *s, int64_t room_id, uint32_t idx,
    const uint8_t *entry, size_t len, const uint8_t hash[STORE_KEY_LEN])
{
	if (bind_i64(s, ST_ROSTER_APPEND, 1, room_id) == -1 ||
	    bind_i64(s, ST_ROSTER_APPEND, 2, idx) == -1 ||
	    bind_blob(s, ST_ROSTER_APPEND, 3, entry, len) == -1 ||
	    bind_blob(s, ST_ROSTER_APPEND, 4, hash, STORE_KEY_LEN) == -1)
		return -1;
	return run(s, ST_ROSTER_APPEND);
}
