/*
 * store.h: the broker's database.  All SQL lives in store.c and, for the
 * operator's commands, store-admin.c, behind this narrow interface, so
 * that another engine can replace it.  Message bodies
 * are opaque bytes here: the store never looks inside them.
 */
#ifndef SC_STORE_H
#define SC_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION	8
/* PRAGMA application_id of our files: "scDB". */
#define STORE_APPLICATION_ID	0x73634442
/* Random at creation: which database this is (F_EPOCH). */
#define STORE_EPOCH_LEN		16
/* The WAL file is cut back to this after each checkpoint. */
#define STORE_WAL_LIMIT		(4 * 1024 * 1024)

/* Results besides 0 (done) and -1 (database error, logged). */
#define STORE_NOT_FOUND		1
#define STORE_EXISTS		2
#define STORE_USED		3
#define STORE_EXPIRED		4

#define STORE_NAME_MAX		64	/* user names <= 32, room names <= 65 */
#define STORE_KEY_LEN		32

/* Kinds of log row: the F_KIND values of proto.h. */
#define LOG_MESSAGE		0	/* a chat message (room or direct) */
#define LOG_JOIN		1	/* body: the user name */
#define LOG_PART		2	/* body: the user name */

struct store;

struct store_user {
	int64_t		 id;
	char		 name[STORE_NAME_MAX + 1];
	uint8_t		 sign_pub[STORE_KEY_LEN];	/* Ed25519 */
	uint8_t		 dh_pub[STORE_KEY_LEN];		/* X25519 */
	int		 disabled;
	uint64_t	 inbox_cursor;	/* highest inbox seq acknowledged */
	uint64_t	 inbox_last;	/* highest inbox seq stored */
	int		 key_reset;	/* the next REGISTER may replace keys */
	int		 has_reset_code;
	uint8_t		 reset_code[STORE_KEY_LEN];	/* its SHA-256 */
	uint64_t	 inbox_rows;	/* stored in the inbox, read or not */
	uint64_t	 inbox_bytes;	/* their bodies */
};

/* A user's current signed prekey, as the user published it. */
struct store_prekey {
	uint32_t	 id;
	uint64_t	 created_s;
	uint8_t		 pub[STORE_KEY_LEN];
	uint8_t		 sig[64];
};

struct store_row {
	uint64_t	 seq;
	int64_t		 sender_id;
	const char	*sender;	/* name */
	const uint8_t	*sender_sign_pub;	/* 32 bytes, or NULL */
	const char	*recipient;	/* name, inbox rows only */
	uint64_t	 client_msg_id;
	uint8_t		 kind;		/* LOG_* */
	uint64_t	 ts_ms;
	const uint8_t	*body;
	size_t		 body_len;
};

/*
 * Open the database at path: WAL, synchronous=FULL, migrated.  A missing
 * file is created.  An existing one must be ours (not empty, not another
 * program's SQLite file) and pass PRAGMA quick_check, or it is refused
 * with the reason in err: nothing is created in place of lost data.
 */
struct store	*store_open(const char *path, char *err, size_t errsz);
void		 store_close(struct store *s);
int		 store_schema_version(struct store *s);
/* The database's identity, random at its creation. */
const uint8_t	*store_epoch(struct store *s);
/* PRAGMA synchronous as a number (2 = FULL), for the tests. */
int		 store_synchronous(struct store *s);

/*
 * Group commit: the broker opens one transaction per event-loop turn and
 * commits it before any acknowledgement of that turn leaves the process.
 * store_begin is a no-op inside an open transaction.
 */
int		 store_begin(struct store *s);
int		 store_commit(struct store *s);
void		 store_rollback(struct store *s);
int		 store_in_transaction(struct store *s);
/*
 * One request inside the turn's transaction: a savepoint that a failed
 * request rolls back to, leaving the others' writes in place.
 */
int		 store_savepoint(struct store *s);
int		 store_release(struct store *s);
int		 store_rollback_to(struct store *s);
/* Move the WAL into the database and truncate it: space back, if it can. */
void		 store_checkpoint(struct store *s);

/* Users.  Names are already validated and case-folded by the caller. */
int	 store_user_get(struct store *s, const char *name, struct store_user *u);
int	 store_user_get_id(struct store *s, int64_t id, struct store_user *u);
/* STORE_EXISTS if the name is taken. */
int	 store_user_add(struct store *s, const char *name,
	    const uint8_t sign_pub[STORE_KEY_LEN],
	    const uint8_t dh_pub[STORE_KEY_LEN], int64_t *id);
int	 store_user_count(struct store *s, uint64_t *n);

/* Keys for end-to-end encryption.  STORE_NOT_FOUND if none published. */
int	 store_prekey_set(struct store *s, int64_t user_id,
	    const struct store_prekey *pk);
int	 store_prekey_get(struct store *s, int64_t user_id,
	    struct store_prekey *pk);
/*
 * Let the next REGISTER of name that shows the code whose SHA-256 is
 * code_hash replace its keys.  STORE_NOT_FOUND.
 */
int	 store_key_reset(struct store *s, const char *name,
	    const uint8_t code_hash[STORE_KEY_LEN]);
/* Replace a reset user's keys and forget its prekey.  STORE_NOT_FOUND. */
int	 store_key_replace(struct store *s, int64_t user_id,
	    const uint8_t sign_pub[STORE_KEY_LEN],
	    const uint8_t dh_pub[STORE_KEY_LEN]);

/* Invites: one-time codes.  STORE_NOT_FOUND, STORE_USED, STORE_EXPIRED. */
int	 store_invite_add(struct store *s, const char *code);
int	 store_invite_use(struct store *s, const char *code, int64_t user_id);
/* 0 if the code exists and is unused, without using it. */
int	 store_invite_check(struct store *s, const char *code);

/* Rooms and membership. */
int	 store_room_get(struct store *s, const char *name, int64_t *room_id,
	    uint64_t *last_seq);	/* STORE_NOT_FOUND */
int	 store_room_create(struct store *s, const char *name, int64_t *room_id);
/* STORE_EXISTS if already a member; cursor = seq the member has seen. */
int	 store_member_add(struct store *s, int64_t room_id, int64_t user_id,
	    uint64_t cursor);
int	 store_member_remove(struct store *s, int64_t room_id, int64_t user_id);
int	 store_is_member(struct store *s, int64_t room_id, int64_t user_id);
/* For each room of a user: cb(room_id, name, cursor, last_seq, arg). */
int	 store_user_rooms(struct store *s, int64_t user_id,
	    void (*cb)(int64_t, const char *, uint64_t, uint64_t, void *),
	    void *arg);
/* For each member of a room: cb(user_id, name, arg). */
int	 store_room_members(struct store *s, int64_t room_id,
	    void (*cb)(int64_t, const char *, void *), void *arg);
/* For each room: cb(name, member count, arg), by name. */
int	 store_rooms(struct store *s, void (*cb)(const char *, uint64_t, void *),
	    void *arg);
/* The same for at most limit rooms whose names sort after after. */
int	 store_rooms_page(struct store *s, const char *after, size_t limit,
	    void (*cb)(const char *, uint64_t, void *), void *arg);
/* At most limit members of a room whose names sort after after, by name. */
int	 store_room_members_page(struct store *s, int64_t room_id,
	    const char *after, size_t limit,
	    void (*cb)(int64_t, const char *, void *), void *arg);
int	 store_room_count(struct store *s, uint64_t *n);
/* The rooms a user is a member of. */
int	 store_user_room_count(struct store *s, int64_t user_id, uint64_t *n);

/*
 * Logs.  Appending allocates the next seq of the room or the recipient's
 * inbox.  (sender, client_msg_id) is unique across all logs: a second
 * append with the same pair stores nothing, sets *duplicate and returns
 * the first seq.
 * client_msg_id 0 means "no de-duplication" (joins and parts).
 */
int	 store_room_append(struct store *s, int64_t room_id, int64_t sender_id,
	    uint64_t client_msg_id, uint8_t kind, uint64_t ts_ms,
	    const uint8_t *body, size_t len, uint64_t *seq, int *duplicate);
int	 store_inbox_append(struct store *s, int64_t user_id, int64_t sender_id,
	    uint64_t client_msg_id, uint8_t kind, uint64_t ts_ms,
	    const uint8_t *body, size_t len, uint64_t *seq, int *duplicate);
/* 0 and the seq if (sender, client_msg_id) is stored, STORE_NOT_FOUND. */
int	 store_sent_seq(struct store *s, int64_t sender_id,
	    uint64_t client_msg_id, uint64_t *seq);
/* Rows with seq > after, in order, at most limit; cb returns 0 to go on. */
int	 store_room_read(struct store *s, int64_t room_id, uint64_t after,
	    size_t limit, int (*cb)(const struct store_row *, void *), void *arg);
int	 store_inbox_read(struct store *s, int64_t user_id, uint64_t after,
	    size_t limit, int (*cb)(const struct store_row *, void *), void *arg);
/* Cumulative acknowledgement: cursor = max(cursor, seq), seq <= last. */
int	 store_room_ack(struct store *s, int64_t room_id, int64_t user_id,
	    uint64_t seq);
int	 store_inbox_ack(struct store *s, int64_t user_id, uint64_t seq);

/*
 * Delete rows every member's cursor has passed, and rows older than
 * before_ms (retention).  *deleted counts the rows removed.
 */
int	 store_prune(struct store *s, uint64_t before_ms,
	    uint64_t sent_before_ms, uint64_t *deleted);

/*
 * Rosters (docs/E2E.md 9): the entries members signed, as they sent
 * them, in index order.  The broker checks them before it appends.
 */
int	 store_roster_count(struct store *s, int64_t room_id, uint32_t *count);
/* Entries with index >= from, at most limit; cb returns 0 to go on. */
int	 store_roster_read(struct store *s, int64_t room_id, uint32_t from,
	    size_t limit, int (*cb)(uint32_t, const uint8_t *, size_t, void *),
	    void *arg);
int	 store_roster_append(struct store *s, int64_t room_id, uint32_t idx,
	    const uint8_t *entry, size_t len,
	    const uint8_t hash[STORE_KEY_LEN]);

/*
 * store-admin.c: the operator's commands (securechatctl).  Rare, so
 * prepared at each call.
 */
struct store_user_info {
	const char	*name;
	uint64_t	 created_ms;
	uint64_t	 last_login_ms;	/* 0: never */
	int		 disabled;
};
struct store_invite_info {
	const char	*code;
	uint64_t	 created_ms;
	uint64_t	 expires_ms;	/* 0: never */
	int64_t		 uses_left;
	uint64_t	 used_at_ms;	/* last use, 0: never */
};
int	 store_users_list(struct store *s,
	    void (*cb)(const struct store_user_info *, void *), void *arg);
/* STORE_NOT_FOUND */
int	 store_user_set_disabled(struct store *s, const char *name, int on);
/* The account and everything it owns or sent.  STORE_NOT_FOUND. */
int	 store_user_delete(struct store *s, int64_t user_id);
int	 store_user_login(struct store *s, int64_t user_id, uint64_t now_ms);
/* Users who logged in at or after since_ms. */
int	 store_active_users(struct store *s, uint64_t since_ms, uint64_t *n);
/* The room, its members and its log.  STORE_NOT_FOUND. */
int	 store_room_delete(struct store *s, int64_t room_id);
/* uses >= 1; expires_ms 0 for never.  STORE_EXISTS. */
int	 store_invite_create(struct store *s, const char *code, unsigned int uses,
	    uint64_t expires_ms);
int	 store_invites_list(struct store *s,
	    void (*cb)(const struct store_invite_info *, void *), void *arg);
/* STORE_NOT_FOUND */
int	 store_invite_revoke(struct store *s, const char *code);

/* For store-admin.c only: the connection. */
struct sqlite3;
struct sqlite3	*store_db(struct store *s);

#endif
