/*
 * broker-admin.c: what securechatctl's commands do in the broker: users,
 * sessions, rooms, invites, notices, counters and metrics, and reload
 * (passed to the master).  Each command writes its answer once, through
 * ctl-out.c, as text or JSON.  Commands that write answer after the
 * commit, like every acknowledgement of the broker.
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include <openssl/crypto.h>

#include "broker.h"
#include "crypto.h"
#include "ctl-out.h"
#include "ipc.h"
#include "log.h"
#include "securechatd.h"
#include "util.h"

#define INVITE_BYTES		10	/* 80 bits: invites and reset codes */
#define CODE_HEX_LEN		(2 * INVITE_BYTES)
#define CODE_TRIES		4	/* draws of a fresh invite code */
#define INVITE_MAX_USES		100000
#define EXPIRES_MAX_S		(3650ULL * 86400)	/* ten years */
#define DAY_MS			86400000ULL
#define NOTICE_MAX		1024	/* F_TEXT of a NOTICE */
#define RELOADS_MAX		8	/* requests waiting for the master */

struct admin_req {
	uint64_t	 id;
	struct ctl_out	*o;
};

struct admin_cmd {
	const char	*name;		/* one or two words */
	int		 min;		/* arguments after the name */
	int		 max;
	int		 (*fn)(struct admin_req *, int, char **);
};

/* Requests waiting for the master's IMSG_RELOAD_DONE, with their format. */
static struct {
	uint64_t	 id;
	int		 json;
} reloads[RELOADS_MAX];
static size_t		 nreloads;

/* A fresh one-time code, as the operator hands it out: hex digits. */
static void
new_code(char hex[CODE_HEX_LEN + 1])
{
	uint8_t	 raw[INVITE_BYTES];

	if (crypto_random(raw, sizeof(raw)) == -1)
		fatalx("crypto_random");
	hex_encode(raw, sizeof(raw), hex);
	OPENSSL_cleanse(raw, sizeof(raw));
}

/* End every session of name with a fatal code; how many there were. */
static unsigned int
end_sessions(const char *name, uint16_t code, const char *text)
{
	struct user	*u;
	struct link	*l;
	unsigned int	 n = 0;

	if ((u = chat_user_by_name(name)) == NULL)
		return 0;
	TAILQ_FOREACH(l, &u->links, user_entry) {
		link_error(l, code, text);
		n++;
	}
	return n;
}

/* A user name argument, folded; -1 (and the answer written) if not one. */
static int
arg_user(struct admin_req *r, const char *arg, char name[NAME_MAX_LEN + 1])
{
	if (str_copy(name, arg, NAME_MAX_LEN + 1) == -1 ||
	    proto_fold_user(name) == -1) {
		out_error(r->o, "not a user name: '%s'", arg);
		return -1;
	}
	return 0;
}

static int
arg_room(struct admin_req *r, const char *arg, char room[ROOM_MAX_LEN + 1])
{
	if (str_copy(room, arg, ROOM_MAX_LEN + 1) == -1 ||
	    proto_fold_room(room) == -1) {
		out_error(r->o, "not a room name: '%s' (#name)", arg);
		return -1;
	}
	return 0;
}

/*
 * The store failed (a full disk, a damaged page): the request is undone
 * and the operator told (broker-ctl.c), the broker goes on.
 */
static int
store_failed(const char *what)
{
	req_fail_quiet(what);
	return ADMIN_NOW;
}

/* The stored user, or -1 with the answer written. */
static int
find_user(struct admin_req *r, const char *arg, struct store_user *su)
{
	char	 name[NAME_MAX_LEN + 1];
	int	 rv;

	if (arg_user(r, arg, name) == -1)
		return -1;
	if ((rv = store_user_get(br.store, name, su)) == -1) {
		(void)store_failed("store_user_get");
		return -1;
	}
	if (rv == STORE_NOT_FOUND) {
		out_error(r->o, "no user '%s'", name);
		return -1;
	}
	return 0;
}

static void
user_cb(const struct store_user_info *ui, void *arg)
{
	struct ctl_out	*o = arg;
	struct user	*u = chat_user_by_name(ui->name);

	out_record_begin(o);
	out_str(o, "name", ui->name);
	out_bool(o, "disabled", ui->disabled);
	out_u64(o, "sessions", u != NULL ? u->nlinks : 0);
	out_time(o, "created", ui->created_ms);
	out_time(o, "last_login", ui->last_login_ms);
	out_record_end(o);
}

static int
cmd_user_list(struct admin_req *r, int argc, char **argv)
{
	out_list_begin(r->o, "users");
	if (store_users_list(br.store, user_cb, r->o) == -1)
		return store_failed("store_users_list");
	out_list_end(r->o);
	return ADMIN_NOW;
}

static int
user_disabled(struct admin_req *r, const char *arg, int on)
{
	struct store_user	 su;
	unsigned int		 n = 0;
	char			 text[128];

	if (find_user(r, arg, &su) == -1)
		return ADMIN_NOW;
	if (tx_begin() == -1 ||
	    store_user_set_disabled(br.store, su.name, on) != 0)
		return store_failed("store_user_set_disabled");
	if (on) {
		/* A crash before the commit ends the sessions anyway. */
		snprintf(text, sizeof(text), "the account '%s' was disabled by "
		    "the operator", su.name);
		n = end_sessions(su.name, ERR_DISABLED, text);
	}
	log_security("control: user %s %s (%u sessions ended)", su.name,
	    on ? "disabled" : "enabled", n);
	out_str(r->o, "user", su.name);
	out_bool(r->o, "disabled", on);
	out_u64(r->o, "sessions_ended", n);
	return ADMIN_AFTER_COMMIT;
}

static int
cmd_user_disable(struct admin_req *r, int argc, char **argv)
{
	return user_disabled(r, argv[0], 1);
}

static int
cmd_user_enable(struct admin_req *r, int argc, char **argv)
{
	return user_disabled(r, argv[0], 0);
}

struct rooms_of {
	char	 names[64][ROOM_MAX_LEN + 1];
	size_t	 n;
	int	 more;
};

static void
rooms_of_cb(int64_t room_id, const char *name, uint64_t cursor,
    uint64_t last_seq, void *arg)
{
	struct rooms_of	*ro = arg;

	if (ro->n == sizeof(ro->names) / sizeof(ro->names[0])) {
		ro->more = 1;
		return;
	}
	(void)str_copy(ro->names[ro->n++], name, sizeof(ro->names[0]));
}

/*
 * For good: the account, its memberships (announced as parts), its inbox,
 * and what it sent.  Its name is free again; others' clients will see any
 * new key under it as a changed key.
 */
static int
cmd_user_delete(struct admin_req *r, int argc, char **argv)
{
	struct store_user	 su;
	struct rooms_of		 ro;
	unsigned int		 n;
	char			 text[128];
	size_t			 i;

	if (find_user(r, argv[0], &su) == -1)
		return ADMIN_NOW;
	if (tx_begin() == -1)
		return store_failed("begin");
	do {
		memset(&ro, 0, sizeof(ro));
		if (store_user_rooms(br.store, su.id, rooms_of_cb, &ro) == -1)
			return store_failed("store_user_rooms");
		for (i = 0; i < ro.n; i++)
			if (chat_remove_member(ro.names[i], &su) == -1)
				return ADMIN_NOW;
	} while (ro.more);
	snprintf(text, sizeof(text), "the account '%s' was deleted by the "
	    "operator", su.name);
	n = end_sessions(su.name, ERR_DISABLED, text);
	if (store_user_delete(br.store, su.id) != 0)
		return store_failed("store_user_delete");
	log_security("control: user %s deleted (%u sessions ended)", su.name,
	    n);
	out_str(r->o, "deleted", su.name);
	out_u64(r->o, "sessions_ended", n);
	return ADMIN_AFTER_COMMIT;
}

static int
cmd_kick(struct admin_req *r, int argc, char **argv)
{
	char		 name[NAME_MAX_LEN + 1], text[128];
	unsigned int	 n;

	if (arg_user(r, argv[0], name) == -1)
		return ADMIN_NOW;
	snprintf(text, sizeof(text), "the operator ended the sessions of %s",
	    name);
	if ((n = end_sessions(name, ERR_KICKED, text)) == 0) {
		out_error(r->o, "%s has no session", name);
		return ADMIN_NOW;
	}
	log_security("control: kicked %s (%u sessions)", name, n);
	out_str(r->o, "user", name);
	out_u64(r->o, "sessions_ended", n);
	return ADMIN_NOW;
}

static void
room_cb(const char *name, uint64_t members, void *arg)
{
	struct ctl_out	*o = arg;

	out_record_begin(o);
	out_str(o, "name", name);
	out_u64(o, "members", members);
	out_record_end(o);
}

static int
cmd_room_list(struct admin_req *r, int argc, char **argv)
{
	out_list_begin(r->o, "rooms");
	if (store_rooms(br.store, room_cb, r->o) == -1)
		return store_failed("store_rooms");
	out_list_end(r->o);
	return ADMIN_NOW;
}

static void
notice_frame(struct frame_buf *b, const char *room, const char *text)
{
	frame_begin(b, MSG_NOTICE, br.max_frame);
	frame_put_str(b, F_TEXT, text);
	if (room != NULL)
		frame_put_str(b, F_ROOM, room);
	frame_put_u8(b, F_OPERATOR, 1);
	if (frame_finish(b) == -1)
		fatalx("notice frame");
}

static int
cmd_room_delete(struct admin_req *r, int argc, char **argv)
{
	struct frame_buf	 b;
	char			 room[ROOM_MAX_LEN + 1], text[128];
	int64_t			 id;
	uint64_t		 last;
	int			 rv;

	if (arg_room(r, argv[0], room) == -1)
		return ADMIN_NOW;
	if ((rv = store_room_get(br.store, room, &id, &last)) == -1)
		return store_failed("store_room_get");
	if (rv == STORE_NOT_FOUND) {
		out_error(r->o, "no room %s", room);
		return ADMIN_NOW;
	}
	if (tx_begin() == -1 || store_room_delete(br.store, id) != 0)
		return store_failed("store_room_delete");
	snprintf(text, sizeof(text), "the room %s was deleted by the "
	    "operator", room);
	notice_frame(&b, room, text);
	chat_room_forget(room, b.data, b.len);
	frame_buf_free(&b);
	log_security("control: room %s deleted", room);
	out_str(r->o, "deleted", room);
	return ADMIN_AFTER_COMMIT;
}

static int
cmd_room_remove_member(struct admin_req *r, int argc, char **argv)
{
	struct store_user	 su;
	char			 room[ROOM_MAX_LEN + 1];

	if (arg_room(r, argv[0], room) == -1 ||
	    find_user(r, argv[1], &su) == -1)
		return ADMIN_NOW;
	if (chat_remove_member(room, &su) == STORE_NOT_FOUND) {
		out_error(r->o, "%s is not a member of %s", su.name, room);
		return ADMIN_NOW;
	}
	log_security("control: %s removed from %s", su.name, room);
	out_str(r->o, "room", room);
	out_str(r->o, "removed", su.name);
	return ADMIN_AFTER_COMMIT;
}

/* "30" (days), "30d", "12h", "45m", "90s", "2w": seconds, or 0. */
static uint64_t
parse_duration(const char *s)
{
	unsigned long long	 v;
	char			*end;
	uint64_t		 unit = 86400;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v == 0)
		return 0;
	if (*end != '\0') {
		if (end[1] != '\0')
			return 0;
		switch (*end) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		case 'w':
			unit = 7 * 86400;
			break;
		default:
			return 0;
		}
	}
	if (v > EXPIRES_MAX_S / unit)
		return 0;
	return v * unit;
}

static int
cmd_invite_create(struct admin_req *r, int argc, char **argv)
{
	char			 hex[CODE_HEX_LEN + 1];
	unsigned long long	 uses = 1;
	uint64_t		 secs = 0, expires = 0;
	char			*end;
	int			 i, rv, tries = 0;

	for (i = 0; i < argc; i++) {
		if (i + 1 == argc) {
			out_error(r->o, "%s needs a value", argv[i]);
			return ADMIN_NOW;
		}
		if (strcmp(argv[i], "--uses") == 0) {
			errno = 0;
			uses = strtoull(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || uses < 1 ||
			    uses > INVITE_MAX_USES) {
				out_error(r->o, "--uses: '%s' is not a number "
				    "of 1..%d", argv[i], INVITE_MAX_USES);
				return ADMIN_NOW;
			}
		} else if (strcmp(argv[i], "--expires") == 0) {
			if ((secs = parse_duration(argv[++i])) == 0) {
				out_error(r->o, "--expires: '%s' is not a "
				    "duration (30d, 12h, 45m, 90s, 2w; a "
				    "number is days)", argv[i]);
				return ADMIN_NOW;
			}
			expires = wall_ms() + secs * 1000;
		} else {
			out_error(r->o, "invite create: unknown option '%s'",
			    argv[i]);
			return ADMIN_NOW;
		}
	}
	/* A code drawn twice is drawn again: no error, a new code. */
	if (tx_begin() == -1)
		return store_failed("store_invite_create");
	do {
		new_code(hex);
		rv = store_invite_create(br.store, hex, (unsigned int)uses,
		    expires);
	} while (rv == STORE_EXISTS && ++tries < CODE_TRIES);
	if (rv != 0)
		return store_failed("store_invite_create");
	log_info("control: invite created (%llu uses%s)", uses,
	    expires ? ", expires" : "");
	if (r->o->json) {
		out_str(r->o, "code", hex);
		out_u64(r->o, "uses", uses);
		out_time(r->o, "expires", expires);
	} else
		out_message(r->o, "%s", hex);
	return ADMIN_AFTER_COMMIT;
}

static void
invite_cb(const struct store_invite_info *in, void *arg)
{
	struct ctl_out	*o = arg;
	int		 expired = in->expires_ms != 0 &&
	    in->expires_ms <= wall_ms();

	out_record_begin(o);
	out_str(o, "code", in->code);
	out_u64(o, "uses_left", in->uses_left > 0 ? (uint64_t)in->uses_left :
	    0);
	out_time(o, "created", in->created_ms);
	out_time(o, "expires", in->expires_ms);
	out_str(o, "state", in->uses_left <= 0 ? "used" : expired ? "expired" :
	    "valid");
	out_record_end(o);
}

static int
cmd_invite_list(struct admin_req *r, int argc, char **argv)
{
	out_list_begin(r->o, "invites");
	if (store_invites_list(br.store, invite_cb, r->o) == -1)
		return store_failed("store_invites_list");
	out_list_end(r->o);
	return ADMIN_NOW;
}

static int
cmd_invite_revoke(struct admin_req *r, int argc, char **argv)
{
	int	 rv;

	if (tx_begin() == -1 ||
	    (rv = store_invite_revoke(br.store, argv[0])) == -1)
		return store_failed("store_invite_revoke");
	if (rv == STORE_NOT_FOUND) {
		out_error(r->o, "no invite '%s'", argv[0]);
		return ADMIN_NOW;
	}
	log_info("control: invite revoked");
	out_str(r->o, "revoked", argv[0]);
	return ADMIN_AFTER_COMMIT;
}

/*
 * A user who lost the identity key may register a new one under the same
 * name, keeping rooms and inbox, with the one-time code printed here: a
 * thief of the old key cannot.  Others' clients see the key change and
 * refuse it until each of them accepts it (/trust).
 */
static int
cmd_reset_key(struct admin_req *r, int argc, char **argv)
{
	uint8_t	 hash[CRYPTO_HASH_LEN];
	char	 name[NAME_MAX_LEN + 1], hex[CODE_HEX_LEN + 1], text[128];
	int	 rv;

	if (arg_user(r, argv[0], name) == -1)
		return ADMIN_NOW;
	new_code(hex);
	if (crypto_sha256(hex, strlen(hex), hash) == -1)
		fatalx("crypto_sha256");
	if (tx_begin() == -1 ||
	    (rv = store_key_reset(br.store, name, hash)) == -1) {
		OPENSSL_cleanse(hex, sizeof(hex));
		return store_failed("store_key_reset");
	}
	if (rv == STORE_NOT_FOUND) {
		OPENSSL_cleanse(hex, sizeof(hex));
		out_error(r->o, "no user '%s'", name);
		return ADMIN_AFTER_COMMIT;
	}
	/* A crash before the commit ends the sessions anyway. */
	snprintf(text, sizeof(text), "the identity key of %s was reset by "
	    "the operator", name);
	(void)end_sessions(name, ERR_KEY_RESET, text);
	log_security("control: identity key of %s reset: a registration of "
	    "that name with the code given replaces it", name);
	if (r->o->json) {
		out_str(r->o, "user", name);
		out_str(r->o, "code", hex);
	} else
		out_message(r->o, "%s", hex);
	OPENSSL_cleanse(hex, sizeof(hex));
	return ADMIN_AFTER_COMMIT;
}

/* The rest of argv, joined by spaces, as one notice text. */
static int
notice_text(struct admin_req *r, int argc, char **argv, char *text,
    size_t textsz)
{
	size_t	 len = 0;
	int	 i, n;

	text[0] = '\0';
	for (i = 0; i < argc; i++) {
		n = snprintf(text + len, textsz - len, "%s%s", i ? " " : "",
		    argv[i]);
		if (n < 0 || (size_t)n >= textsz - len) {
			out_error(r->o, "notice: longer than %zu bytes",
			    textsz - 1);
			return -1;
		}
		len += (size_t)n;
	}
	if (len == 0) {
		out_error(r->o, "notice: no text");
		return -1;
	}
	return 0;
}

/* The frame to every session of u; how many. */
static unsigned int
notice_user(const struct user *u, const struct frame_buf *b)
{
	struct link	*l;
	unsigned int	 n = 0;

	TAILQ_FOREACH(l, &u->links, user_entry) {
		link_send(l, b->data, b->len);
		n++;
	}
	return n;
}

/*
 * Plaintext from the operator, to the sessions online now: all of them,
 * one user's, or those of a room's members.  Not stored.  Clients show it
 * as coming from the server.
 */
static int
cmd_notice(struct admin_req *r, int argc, char **argv)
{
	struct frame_buf	 b;
	struct user		*u;
	char			 text[NOTICE_MAX + 1], name[ROOM_MAX_LEN + 1];
	const char		*room = NULL, *to = argv[0];
	unsigned int		 n = 0;
	int			 rv, skip;

	if (strcmp(to, "all") == 0)
		skip = 1;
	else if (strcmp(to, "room") == 0 || strcmp(to, "user") == 0) {
		if (argc < 3) {
			out_error(r->o, "usage: notice %s NAME TEXT", to);
			return ADMIN_NOW;
		}
		skip = 2;
	} else {
		out_error(r->o, "notice: to 'all', 'room #NAME' or 'user NAME', "
		    "not '%s'", to);
		return ADMIN_NOW;
	}
	if (notice_text(r, argc - skip, argv + skip, text, sizeof(text)) == -1)
		return ADMIN_NOW;
	if (strcmp(to, "room") == 0) {
		if (arg_room(r, argv[1], name) == -1)
			return ADMIN_NOW;
		if (chat_room_id(name) == -1) {
			if (req_failed())
				return ADMIN_NOW;
			out_error(r->o, "no room %s", name);
			return ADMIN_NOW;
		}
		room = name;
	} else if (strcmp(to, "user") == 0 && arg_user(r, argv[1], name) == -1)
		return ADMIN_NOW;
	notice_frame(&b, room, text);
	/* The room's own list of links, or the user's: not everyone's. */
	if (room != NULL) {
		if ((rv = chat_room_notice(room, b.data, b.len)) == -1) {
			frame_buf_free(&b);
			return ADMIN_NOW;
		}
		n = (unsigned int)rv;
	} else if (strcmp(to, "user") == 0) {
		if ((u = chat_user_by_name(name)) != NULL)
			n = notice_user(u, &b);
	} else
		TAILQ_FOREACH(u, &br.users, entry)
			n += notice_user(u, &b);
	frame_buf_free(&b);
	log_info("control: notice to %s%s%s, %u sessions", to, skip == 2 ?
	    " " : "", skip == 2 ? name : "", n);
	out_u64(r->o, "sessions", n);
	return ADMIN_NOW;
}

static int
cmd_who(struct admin_req *r, int argc, char **argv)
{
	struct user	*u;

	out_list_begin(r->o, "users");
	TAILQ_FOREACH(u, &br.users, entry) {
		out_record_begin(r->o);
		out_str(r->o, "name", u->name);
		out_u64(r->o, "sessions", u->nlinks);
		out_record_end(r->o);
	}
	out_list_end(r->o);
	return ADMIN_NOW;
}

struct counter {
	const char	*name;
	const char	*type;		/* Prometheus: counter or gauge */
	const char	*help;
	uint64_t	 value;
};

/* One table for stats and metrics, so they never disagree. */
static size_t
counters(struct counter *c, size_t max)
{
	uint64_t	 day = 0, week = 0, users = 0, now = wall_ms();
	size_t		 n = 0;

	if (store_active_users(br.store, now - DAY_MS, &day) == -1 ||
	    store_active_users(br.store, now - 7 * DAY_MS, &week) == -1 ||
	    store_user_count(br.store, &users) == -1)
		(void)store_failed("counting users");
#define C(nm, ty, hp, v) do {						\
	if (n < max) {							\
		c[n].name = (nm); c[n].type = (ty); c[n].help = (hp);	\
		c[n].value = (v); n++;					\
	}								\
} while (0)
	C("connections", "gauge", "Client connections open now.", br.nlinks);
	C("connections_total", "counter", "Client connections since the "
	    "broker started.", br.connections);
	C("users_online", "gauge", "Users with a logged-in session.",
	    br.nusers_online);
	C("users", "gauge", "Registered users.", users);
	C("users_active_day", "gauge", "Users who logged in within 24 "
	    "hours.", day);
	C("users_active_week", "gauge", "Users who logged in within 7 days.",
	    week);
	C("logins", "counter", "Logins, registrations included.", br.logins);
	C("registrations", "counter", "New accounts.", br.registrations);
	C("failed_logins", "counter", "Logins refused: wrong signature or "
	    "disabled account.", br.failed_logins);
	C("messages", "counter", "Messages stored (rooms and direct).",
	    br.messages);
	C("message_bytes", "counter", "Bytes of the encrypted bodies "
	    "stored.", br.message_bytes);
	C("rate_limited", "counter", "Messages refused by the rate limit.",
	    br.rate_limited);
	C("key_updates", "counter", "TLS key updates of the sessions.",
	    br.key_updates);
	C("storage_errors", "counter", "Database writes and reads that "
	    "failed (a full or failing disk, a damaged page).",
	    br.storage_errors);
	C("catchup_memory", "counter", "Room events sent to a session "
	    "behind from the recent events kept in memory.", br.catchup_memory);
	C("catchup_store", "counter", "Rows read back from the database to "
	    "catch a session up.", br.catchup_store);
	C("room_cache_bytes", "gauge", "Bytes of recent room events kept in "
	    "memory.", br.ring_bytes);
	C("uptime", "gauge", "Seconds since the broker started.",
	    (now_ms() - br.started_ms) / 1000);
#undef C
	return n;
}

static int
cmd_stats(struct admin_req *r, int argc, char **argv)
{
	struct counter	 c[32];
	size_t		 i, n = counters(c, 32);

	for (i = 0; i < n; i++)
		out_u64(r->o, c[i].name, c[i].value);
	return ADMIN_NOW;
}

/* The Prometheus text format, for node_exporter's textfile collector. */
static int
cmd_metrics(struct admin_req *r, int argc, char **argv)
{
	struct counter	 c[32];
	size_t		 i, n = counters(c, 32);

	if (r->o->json)
		return cmd_stats(r, argc, argv);
	for (i = 0; i < n; i++)
		if (evbuffer_add_printf(r->o->buf, "# HELP securechat_%s %s\n"
		    "# TYPE securechat_%s %s\nsecurechat_%s %llu\n", c[i].name,
		    c[i].help, c[i].name, c[i].type, c[i].name,
		    (unsigned long long)c[i].value) == -1)
			fatalx("evbuffer_add_printf");
	return ADMIN_NOW;
}

/* The master reloads; its answer comes back as IMSG_RELOAD_DONE. */
static int
cmd_reload(struct admin_req *r, int argc, char **argv)
{
	struct frame_buf	 b;

	if (nreloads == RELOADS_MAX) {
		out_error(r->o, "too many reloads waiting");
		return ADMIN_NOW;
	}
	frame_begin(&b, IMSG_RELOAD, FRAME_MAX_DEFAULT);
	if (frame_finish(&b) == -1 || ipc_send(BROKER_FD_MASTER, &b, -1) ==
	    -1) {
		frame_buf_free(&b);
		out_error(r->o, "cannot ask the master to reload");
		return ADMIN_NOW;
	}
	frame_buf_free(&b);
	reloads[nreloads].id = r->id;
	reloads[nreloads].json = r->o->json;
	nreloads++;
	return ADMIN_PENDING;
}

void
admin_reload_done(const struct frame *f)
{
	struct ctl_out	 o;
	struct evbuffer	*buf;
	uint16_t	 code;
	char		 text[4096], *line, *next;
	size_t		 i;

	if (frame_get_u16(f, F_CODE, &code) == -1 ||
	    frame_get_str(f, F_TEXT, text, sizeof(text)) == -1)
		fatalx("malformed RELOAD_DONE from the master");
	for (i = 0; i < nreloads; i++) {
		if ((buf = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		out_init(&o, buf, reloads[i].json);
		if (code != 0)
			out_error(&o, "%s", text);
		else if (o.json) {
			out_bool(&o, "reloaded", 1);
			out_list_begin(&o, "changes");
			for (line = text; *line != '\0'; line = next) {
				if ((next = strchr(line, '\n')) != NULL)
					*next++ = '\0';
				else
					next = line + strlen(line);
				out_record_begin(&o);
				out_str(&o, "line", line);
				out_record_end(&o);
			}
			out_list_end(&o);
		} else if (evbuffer_add(buf, text, strlen(text)) == -1)
			fatalx("evbuffer_add");
		out_finish(&o);
		ctl_reply_later(reloads[i].id, o.code, buf);
		evbuffer_free(buf);
	}
	nreloads = 0;
}

static const struct admin_cmd cmds[] = {
	{ "user list",		0, 0, cmd_user_list },
	{ "user disable",	1, 1, cmd_user_disable },
	{ "user enable",	1, 1, cmd_user_enable },
	{ "user delete",	1, 1, cmd_user_delete },
	{ "kick",		1, 1, cmd_kick },
	{ "room list",		0, 0, cmd_room_list },
	{ "rooms",		0, 0, cmd_room_list },
	{ "room delete",	1, 1, cmd_room_delete },
	{ "room remove-member",	2, 2, cmd_room_remove_member },
	{ "invite create",	0, 4, cmd_invite_create },
	{ "invite list",	0, 0, cmd_invite_list },
	{ "invite revoke",	1, 1, cmd_invite_revoke },
	{ "invite",		0, 4, cmd_invite_create },
	{ "reset-key",		1, 1, cmd_reset_key },
	{ "notice",		2, CTL_ARGS_COUNT, cmd_notice },
	{ "who",		0, 0, cmd_who },
	{ "stats",		0, 0, cmd_stats },
	{ "metrics",		0, 0, cmd_metrics },
	{ "reload",		0, 0, cmd_reload },
};

/* Does argv start with the words of name?  How many, or 0. */
static int
matches(const char *name, int argc, char **argv)
{
	const char	*sp = strchr(name, ' ');

	if (sp == NULL)
		return argc >= 1 && strcmp(argv[0], name) == 0 ? 1 : 0;
	if (argc < 2 || strncmp(argv[0], name, (size_t)(sp - name)) != 0 ||
	    argv[0][sp - name] != '\0' || strcmp(argv[1], sp + 1) != 0)
		return 0;
	return 2;
}

int
admin_run(uint64_t id, int argc, char **argv, int json, struct evbuffer *out,
    uint16_t *code)
{
	struct admin_req	 r;
	struct ctl_out		 o;
	size_t			 i;
	int			 words = 0, rv = ADMIN_NOW;

	out_init(&o, out, json);
	r.id = id;
	r.o = &o;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if ((words = matches(cmds[i].name, argc, argv)) > 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		out_error(&o, "unknown command '%s%s%s': see securechatctl(8)",
		    argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
	else if (argc - words < cmds[i].min || argc - words > cmds[i].max)
		out_error(&o, "%s: wrong number of arguments: see "
		    "securechatctl(8)", cmds[i].name);
	else
		rv = cmds[i].fn(&r, argc - words, argv + words);
	if (rv == ADMIN_PENDING)
		return rv;
	out_finish(&o);
	*code = (uint16_t)o.code;
	return rv;
}
