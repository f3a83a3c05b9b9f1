/*
 * broker-chat.c: rooms, direct messages and delivery.  Every message is
 * committed before it is acknowledged or pushed; each connection is fed
 * from its own position, directly when it keeps up, from the log when not.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "broker.h"
#include "log.h"
#include "logsum.h"
#include "securechatd.h"
#include "util.h"
#include "xmalloc.h"

#define LIST_RESERVE	256	/* frame room kept around a list */

static size_t
link_queued(const struct link *l)
{
	return evbuffer_get_length(bufferevent_get_output(l->bev));
}

static struct user *
user_find(int64_t id)
{
	struct user	*u;

	TAILQ_FOREACH(u, &br.users, entry)
		if (u->id == id)
			return u;
	return NULL;
}

static struct room *
room_find_id(int64_t id)
{
	struct room	*r;

	TAILQ_FOREACH(r, &br.rooms, entry)
		if (r->id == id)
			return r;
	return NULL;
}

static void
room_add_member(struct room *r, int64_t user_id)
{
	size_t	 i;

	for (i = 0; i < r->nmembers; i++)
		if (r->members[i] == user_id)
			return;
	if (r->nmembers == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->members = xreallocarray(r->members, r->cap,
		    sizeof(*r->members));
	}
	r->members[r->nmembers++] = user_id;
}

static void
room_remove_member(struct room *r, int64_t user_id)
{
	size_t	 i;

	for (i = 0; i < r->nmembers; i++)
		if (r->members[i] == user_id) {
			r->members[i] = r->members[--r->nmembers];
			return;
		}
}

static void
member_cb(int64_t user_id, const char *name, void *arg)
{
	room_add_member(arg, user_id);
}

/*
 * The room, from the cache or the store; create only if asked.  NULL when
 * it does not exist, or when the store failed (req_failed()).
 */
static struct room *
room_get(const char *name, int create)
{
	struct room	*r;
	int64_t		 id;
	uint64_t	 last;
	int		 rv, created = 0;

	TAILQ_FOREACH(r, &br.rooms, entry)
		if (strcmp(r->name, name) == 0)
			return r;
	rv = store_room_get(br.store, name, &id, &last);
	if (rv == -1) {
		req_fail("store_room_get", 0, name);
		return NULL;
	}
	if (rv == STORE_NOT_FOUND) {
		if (!create || tx_begin() == -1)
			return NULL;
		if (store_room_create(br.store, name, &id) != 0) {
			req_fail("store_room_create", 0, name);
			return NULL;
		}
		last = 0;
		created = 1;
	}
	r = xcalloc(1, sizeof(*r));
	r->id = id;
	(void)str_copy(r->name, name, sizeof(r->name));
	/* Nothing of this room was appended through us yet: all committed. */
	r->last_seq = r->durable_seq = last;
	if (store_room_members(br.store, id, member_cb, r) == -1) {
		req_fail("store_room_members", 0, name);
		free(r->members);
		free(r);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&br.rooms, r, entry);
	if (created) {
		undo_push(UNDO_ROOM_CREATED, r->id, 0, 0);
		log_info("room %s created", name);
	}
	return r;
}

static int
room_has_member(const struct room *r, int64_t user_id)
{
	size_t	 i;

	for (i = 0; i < r->nmembers; i++)
		if (r->members[i] == user_id)
			return 1;
	return 0;
}

static struct link_room *
link_room_find(struct link *l, int64_t room_id)
{
	size_t	 i;

	for (i = 0; i < l->nrooms; i++)
		if (l->rooms[i].room_id == room_id)
			return &l->rooms[i];
	return NULL;
}

static void
link_room_add(struct link *l, int64_t room_id, uint64_t sent)
{
	if (link_room_find(l, room_id) != NULL)
		return;
	if (l->nrooms == l->roomcap) {
		l->roomcap = l->roomcap ? l->roomcap * 2 : 8;
		l->rooms = xreallocarray(l->rooms, l->roomcap,
		    sizeof(*l->rooms));
	}
	l->rooms[l->nrooms].room_id = room_id;
	l->rooms[l->nrooms].sent = sent;
	l->nrooms++;
}

static void
link_room_remove(struct link *l, int64_t room_id)
{
	size_t	 i;

	for (i = 0; i < l->nrooms; i++)
		if (l->rooms[i].room_id == room_id) {
			l->rooms[i] = l->rooms[--l->nrooms];
			return;
		}
}

static void
room_event_frame(struct frame_buf *b, const char *room,
    const struct store_row *row)
{
	frame_begin(b, MSG_ROOM_EVENT, br.max_frame);
	frame_put_str(b, F_ROOM, room);
	frame_put_u64(b, F_SEQ, row->seq);
	frame_put_u64(b, F_TS, row->ts_ms);
	frame_put_str(b, F_FROM, row->sender);
	frame_put_u8(b, F_KIND, row->kind);
	if (row->kind == LOG_MESSAGE)
		frame_put_bytes(b, F_BODY, row->body, row->body_len);
	/* A join or part row holds the user's name, or its roster entry. */
	else if (row->body_len > NAME_MAX_LEN)
		frame_put_bytes(b, F_ENTRY, row->body, row->body_len);
	if (row->client_msg_id != 0)
		frame_put_u64(b, F_CLIENT_MSG_ID, row->client_msg_id);
	if (row->sender_sign_pub != NULL)
		frame_put_bytes(b, F_SIGN_PUB, row->sender_sign_pub, KEY_LEN);
}

static void
direct_frame(struct frame_buf *b, const struct store_row *row)
{
	frame_begin(b, MSG_DIRECT, br.max_frame);
	frame_put_u64(b, F_SEQ, row->seq);
	frame_put_u64(b, F_TS, row->ts_ms);
	frame_put_str(b, F_FROM, row->sender);
	frame_put_str(b, F_TO, row->recipient);
	frame_put_bytes(b, F_BODY, row->body, row->body_len);
	if (row->client_msg_id != 0)
		frame_put_u64(b, F_CLIENT_MSG_ID, row->client_msg_id);
	if (row->sender_sign_pub != NULL)
		frame_put_bytes(b, F_SIGN_PUB, row->sender_sign_pub, KEY_LEN);
}

struct pump_ctx {
	struct link		*link;
	const struct room	*room;
	uint64_t		*sent;
	uint64_t		 durable;
};

static int
pump_row_cb(const struct store_row *row, void *arg)
{
	struct pump_ctx		*pc = arg;
	struct frame_buf	 b;

	/* Never deliver what is not yet on disk. */
	if (row->seq > pc->durable)
		return 1;
	if (pc->room != NULL)
		room_event_frame(&b, pc->room->name, row);
	else
		direct_frame(&b, row);
	link_send_buf(pc->link, &b);
	*pc->sent = row->seq;
	return link_queued(pc->link) >= LINK_HIGH;
}

/*
 * A log this link must be fed from cannot be read (a damaged page): it
 * would miss messages without knowing, so its session ends; the broker,
 * and everyone else, goes on.
 */
static void
pump_failed(struct link *l, const char *what)
{
	char	 text[160];

	log_warnx("storage: cannot read %s for %s (%s): ending that session",
	    what, l->user->name, l->addr);
	br.storage_errors++;
	snprintf(text, sizeof(text), "the server cannot read %s (its storage "
	    "failed): try again later", what);
	link_error(l, ERR_INTERNAL, text);
}

/* Has the link been sent everything durable, in every room and its inbox? */
static int
caught_up(const struct link *l)
{
	const struct room	*r;
	size_t			 i;

	for (i = 0; i < l->nrooms; i++)
		if ((r = room_find_id(l->rooms[i].room_id)) != NULL &&
		    l->rooms[i].sent < r->durable_seq)
			return 0;
	return l->inbox_sent >= l->user->inbox_durable;
}

/*
 * Catch a link up from the log, room by room, until its output is full.
 * The link's write callback calls this again when the output drains, so
 * a slow reader costs a bounded buffer and its position, nothing more.
 */
void
chat_pump(struct link *l)
{
	struct pump_ctx		 pc;
	struct frame_buf	 b;
	struct room		*r;
	uint64_t		 before;
	size_t			 i;

	if (l->state != LINK_AUTHED)
		return;
	pc.link = l;
	for (i = 0; i < l->nrooms && link_queued(l) < LINK_HIGH; i++) {
		if ((r = room_find_id(l->rooms[i].room_id)) == NULL)
			continue;
		pc.room = r;
		pc.sent = &l->rooms[i].sent;
		pc.durable = r->durable_seq;
		while (*pc.sent < pc.durable && link_queued(l) < LINK_HIGH) {
			before = *pc.sent;
			if (store_room_read(br.store, r->id, *pc.sent,
			    CATCHUP_BATCH, pump_row_cb, &pc) == -1) {
				pump_failed(l, r->name);
				return;
			}
			if (*pc.sent == before) {
				/* Pruned by retention: skip the gap. */
				*pc.sent = pc.durable;
			}
		}
	}
	pc.room = NULL;
	pc.sent = &l->inbox_sent;
	pc.durable = l->user->inbox_durable;
	while (*pc.sent < pc.durable && link_queued(l) < LINK_HIGH) {
		before = *pc.sent;
		if (store_inbox_read(br.store, l->user->id, *pc.sent,
		    CATCHUP_BATCH, pump_row_cb, &pc) == -1) {
			pump_failed(l, "your direct messages");
			return;
		}
		if (*pc.sent == before)
			*pc.sent = pc.durable;
	}
	if (l->delivering && !l->caught_up && caught_up(l)) {
		/* Clients hold expired prekeys until the backlog is in. */
		l->caught_up = 1;
		frame_begin(&b, MSG_CAUGHT_UP, br.max_frame);
		link_send_buf(l, &b);
	}
}

/* Push one committed row to a link that is exactly one behind, or pump. */
static void
deliver(struct link *l, uint64_t *sent, uint64_t seq, const struct after *a)
{
	if (*sent + 1 == seq && link_queued(l) < LINK_HIGH) {
		link_send(l, a->frame, a->len);
		*sent = seq;
	} else if (*sent < seq && link_queued(l) < LINK_LOW)
		chat_pump(l);
}

/* After commit: the row is durable; hand it to every connection concerned. */
void
chat_fanout(const struct after *a)
{
	struct room		*r;
	struct user		*u;
	struct link		*l;
	struct link_room	*lr;
	size_t			 i;

	if (a->kind == AFTER_INBOX) {
		if ((u = user_find(a->target)) == NULL)
			return;
		if (a->seq > u->inbox_durable)
			u->inbox_durable = a->seq;
		TAILQ_FOREACH(l, &u->links, user_entry)
			deliver(l, &l->inbox_sent, a->seq, a);
		return;
	}
	if ((r = room_find_id(a->target)) == NULL)
		fatalx("fan-out to a room not in the cache");
	if (a->seq > r->durable_seq)
		r->durable_seq = a->seq;
	for (i = 0; i < r->nmembers; i++) {
		if ((u = user_find(r->members[i])) == NULL)
			continue;
		TAILQ_FOREACH(l, &u->links, user_entry)
			if ((lr = link_room_find(l, r->id)) != NULL)
				deliver(l, &lr->sent, a->seq, a);
	}
	/*
	 * The one who left is no longer in members (chat_part took it out
	 * at once), but hears its own PART before its links forget the
	 * room.  If it joined again in the same pass it is a member and
	 * heard the PART above; its links keep the room.
	 */
	if (a->row_kind == LOG_PART && !room_has_member(r, a->sender_id) &&
	    (u = user_find(a->sender_id)) != NULL) {
		TAILQ_FOREACH(l, &u->links, user_entry) {
			if ((lr = link_room_find(l, r->id)) == NULL)
				continue;
			deliver(l, &lr->sent, a->seq, a);
			link_room_remove(l, r->id);
		}
	}
}

struct bind_ctx {
	struct link	*link;
	int		 failed;
};

static void
bind_room_cb(int64_t room_id, const char *name, uint64_t cursor,
    uint64_t last_seq, void *arg)
{
	struct bind_ctx	*bc = arg;

	if (bc->failed || room_get(name, 0) == NULL) {
		bc->failed = 1;
		return;
	}
	link_room_add(bc->link, room_id, cursor);
}

/* Tokens the bucket has at now, refilled since it was last used. */
static double
rate_tokens(double tokens, uint64_t refilled_ms, uint64_t now)
{
	if (now > refilled_ms)
		tokens += (double)(now - refilled_ms) * br.message_rate /
		    1000.0;
	return tokens > br.message_burst ? br.message_burst : tokens;
}

static void
rate_memo_free(struct rate_memo *m)
{
	TAILQ_REMOVE(&br.rate_memos, m, entry);
	br.nrate_memos--;
	free(m);
}

/* The user's last connection closed: remember a bucket not yet full. */
static void
rate_remember(const struct user *u)
{
	struct rate_memo	*m, *next;
	uint64_t		 now = now_ms();

	if (rate_tokens(u->tokens, u->refilled_ms, now) >= br.message_burst)
		return;
	for (m = TAILQ_FIRST(&br.rate_memos); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (rate_tokens(m->tokens, m->refilled_ms, now) >=
		    br.message_burst)
			rate_memo_free(m);
	}
	if (br.nrate_memos >= RATE_MEMO_MAX)
		rate_memo_free(TAILQ_FIRST(&br.rate_memos));
	m = xcalloc(1, sizeof(*m));
	m->user_id = u->id;
	m->tokens = u->tokens;
	m->refilled_ms = u->refilled_ms;
	TAILQ_INSERT_TAIL(&br.rate_memos, m, entry);
	br.nrate_memos++;
}

/* A user comes online: its bucket as it was left, or a full one. */
static void
rate_recall(struct user *u)
{
	struct rate_memo	*m;

	u->tokens = br.message_burst;
	u->refilled_ms = now_ms();
	TAILQ_FOREACH(m, &br.rate_memos, entry)
		if (m->user_id == u->id) {
			u->tokens = m->tokens;
			u->refilled_ms = m->refilled_ms;
			rate_memo_free(m);
			return;
		}
}

/*
 * A link is now this user's: load where it stands (the caller schedules
 * its catch-up).  -1 when its rooms cannot be read; the caller unbinds it.
 */
int
chat_bind(struct link *l, const struct store_user *su)
{
	struct bind_ctx	 bc;
	struct user	*u;

	if ((u = user_find(su->id)) == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->id = su->id;
		(void)str_copy(u->name, su->name, sizeof(u->name));
		TAILQ_INIT(&u->links);
		u->inbox_durable = su->inbox_last;
		rate_recall(u);
		TAILQ_INSERT_TAIL(&br.users, u, entry);
		br.nusers_online++;
	}
	/* An operator's key reset may have replaced it since. */
	memcpy(u->sign_pub, su->sign_pub, KEY_LEN);
	u->nlinks++;
	l->user = u;
	l->inbox_sent = su->inbox_cursor;
	bc.link = l;
	bc.failed = 0;
	if (store_user_rooms(br.store, u->id, bind_room_cb, &bc) == -1 ||
	    bc.failed) {
		if (!req_failed())
			req_fail_quiet("store_user_rooms");
		return -1;
	}
	return 0;
}

/*
 * After commit, once LOGGED_IN has gone out: from now on the link gets
 * live pushes, and the pump sends what it missed since its cursor.
 */
void
chat_start(struct link *l)
{
	TAILQ_INSERT_TAIL(&l->user->links, l, user_entry);
	l->delivering = 1;
	chat_pump(l);
}

void
chat_link_gone(struct link *l)
{
	struct user	*u = l->user;

	if (u == NULL)
		return;
	if (l->delivering)
		TAILQ_REMOVE(&u->links, l, user_entry);
	l->delivering = 0;
	l->user = NULL;
	if (--u->nlinks == 0) {
		rate_remember(u);
		TAILQ_REMOVE(&br.users, u, entry);
		br.nusers_online--;
		free(u);
	}
}

/* Token bucket per user: 0 if allowed, else the wait in ms. */
static uint32_t
rate_check(struct user *u)
{
	uint64_t	 now = now_ms();
	double		 rate = br.message_rate;

	u->tokens = rate_tokens(u->tokens, u->refilled_ms, now);
	u->refilled_ms = now;
	if (u->tokens >= 1.0) {
		u->tokens -= 1.0;
		return 0;
	}
	return (uint32_t)((1.0 - u->tokens) * 1000.0 / rate) + 1;
}

static int
get_room_name(struct link *l, const struct frame *f, char *room, size_t roomsz,
    uint64_t client_msg_id)
{
	if (frame_get_str(f, F_ROOM, room, roomsz) == -1 ||
	    proto_fold_room(room) == -1) {
		link_error_about(l, ERR_BAD_ROOM, "room names are # and 1 to "
		    "64 of a-z 0-9 _ -", client_msg_id, NULL);
		return -1;
	}
	return 0;
}

/*
 * Append a join or part row of a user and schedule its fan-out; 0 if it
 * failed.  Its body is the user's name, or the roster entry that made the
 * change.
 */
static uint64_t
room_announce_user(struct room *r, int64_t user_id, const char *name,
    const uint8_t *sign_pub, uint8_t kind, const uint8_t *entry, size_t len)
{
	struct store_row	 row;
	struct frame_buf	 b;
	struct after		*a;
	uint64_t		 seq;
	int			 dup;

	memset(&row, 0, sizeof(row));
	row.ts_ms = wall_ms();
	if (entry == NULL) {
		entry = (const uint8_t *)name;
		len = strlen(name);
	}
	if (store_room_append(br.store, r->id, user_id, 0, kind, row.ts_ms,
	    entry, len, &seq, &dup) != 0) {
		req_fail("store_room_append", 0, r->name);
		return 0;
	}
	undo_push(UNDO_ROOM_SEQ, r->id, 0, r->last_seq);
	r->last_seq = seq;
	row.seq = seq;
	row.sender = name;
	row.sender_sign_pub = sign_pub;
	row.kind = kind;
	row.body = entry;
	row.body_len = len;
	room_event_frame(&b, r->name, &row);
	a = after_fanout(AFTER_ROOM, r->id, seq, &b);
	a->sender_id = user_id;
	a->row_kind = kind;
	return seq;
}

static uint64_t
room_announce(struct room *r, struct user *u, uint8_t kind)
{
	return room_announce_user(r, u->id, u->name, u->sign_pub, kind, NULL,
	    0);
}

/* A room with a signed roster is joined and left only by entries. */
static int
roster_required(struct link *l, struct room *r)
{
	char	 text[128];
	int	 rv;

	if ((rv = roster_exists(r->id, r->name)) == 0)
		return 0;
	if (rv == -1)
		return 1;	/* unreadable: the request failed */
	snprintf(text, sizeof(text), "%s has a signed roster: join and leave "
	    "it with roster entries", r->name);
	link_error_about(l, ERR_ROSTER_REQUIRED, text, 0, r->name);
	return 1;
}

/* The id of a room (made if asked), or -1. */
int64_t
chat_room_id(const char *name, int create)
{
	struct room	*r;

	if (create && tx_begin() == -1)
		return -1;
	return (r = room_get(name, create)) == NULL ? -1 : r->id;
}

/*
 * What a roster entry does to the room (broker-roster.c has checked
 * it): u joins (LOG_JOIN) or leaves (LOG_PART), and every member hears
 * it with the entry.  A member who joins again (a new key, or a room
 * that had no roster) stays a member; the entry is announced all the
 * same.
 */
int
chat_roster_change(const char *name, const struct store_user *u,
    uint8_t kind, const uint8_t *entry, size_t len)
{
	struct room	*r;
	struct user	*on;
	struct link	*ul;
	uint64_t	 seq;
	int		 member;

	if (tx_begin() == -1 || (r = room_get(name, 1)) == NULL)
		return -1;
	member = room_has_member(r, u->id);
	if ((seq = room_announce_user(r, u->id, u->name, u->sign_pub, kind,
	    entry, len)) == 0)
		return -1;
	on = user_find(u->id);
	if (kind == LOG_JOIN && !member) {
		/* A new member starts at this join: no history before it. */
		if (store_member_add(br.store, r->id, u->id, seq - 1) != 0) {
			req_fail("store_member_add", 0, r->name);
			return -1;
		}
		room_add_member(r, u->id);
		undo_push(UNDO_MEMBER_ADDED, r->id, u->id, 0);
		if (on != NULL)
			TAILQ_FOREACH(ul, &on->links, user_entry)
				link_room_add(ul, r->id, seq - 1);
	} else if (kind == LOG_PART && member) {
		if (store_member_remove(br.store, r->id, u->id) != 0) {
			req_fail("store_member_remove", 0, r->name);
			return -1;
		}
		room_remove_member(r, u->id);
		undo_push(UNDO_MEMBER_REMOVED, r->id, u->id, 0);
	}
	return 0;
}

int
chat_is_member(const char *name, int64_t user_id)
{
	struct room	*r;

	return (r = room_get(name, 0)) != NULL && room_has_member(r, user_id);
}

static void
chat_join(struct link *l, const struct frame *f)
{
	struct frame_buf	 b;
	struct room		*r;
	struct link		*ul;
	char			 name[ROOM_MAX_LEN + 1], text[128];
	uint64_t		 seq;

	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	if (tx_begin() == -1 || (r = room_get(name, 1)) == NULL ||
	    roster_required(l, r))
		return;
	if (room_has_member(r, l->user->id)) {
		snprintf(text, sizeof(text), "already in %s", r->name);
		frame_begin(&b, MSG_NOTICE, br.max_frame);
		frame_put_str(&b, F_TEXT, text);
		link_reply(l, &b);
		return;
	}
	if ((seq = room_announce(r, l->user, LOG_JOIN)) == 0)
		return;
	/* A new member starts at its own join: no history before it. */
	if (store_member_add(br.store, r->id, l->user->id, seq - 1) != 0) {
		req_fail("store_member_add", 0, r->name);
		return;
	}
	room_add_member(r, l->user->id);
	undo_push(UNDO_MEMBER_ADDED, r->id, l->user->id, 0);
	TAILQ_FOREACH(ul, &l->user->links, user_entry)
		link_room_add(ul, r->id, seq - 1);
}

static void
chat_part(struct link *l, const struct frame *f)
{
	struct room	*r;
	char		 name[ROOM_MAX_LEN + 1], text[128];

	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	if ((r = room_get(name, 0)) == NULL || !room_has_member(r,
	    l->user->id)) {
		if (req_failed())
			return;
		snprintf(text, sizeof(text), "not a member of %s", name);
		link_error_about(l, ERR_NOT_MEMBER, text, 0, name);
		return;
	}
	if (roster_required(l, r))
		return;
	if (tx_begin() == -1 || room_announce(r, l->user, LOG_PART) == 0)
		return;
	if (store_member_remove(br.store, r->id, l->user->id) != 0) {
		req_fail("store_member_remove", 0, r->name);
		return;
	}
	/*
	 * Out of the members now, as in the store: a JOIN, SEND or WHO
	 * later in this pass must see the room as it will be committed.
	 */
	room_remove_member(r, l->user->id);
	undo_push(UNDO_MEMBER_REMOVED, r->id, l->user->id, 0);
}

/* After the commit; if it fails, ERROR STORAGE instead, and no ACK. */
static void
ack(struct link *l, uint64_t id, uint64_t seq, const char *room,
    const char *to)
{
	struct frame_buf	 b, fail;

	frame_begin(&b, MSG_ACK, br.max_frame);
	frame_put_u64(&b, F_CLIENT_MSG_ID, id);
	frame_put_u64(&b, F_SEQ, seq);
	if (room != NULL)
		frame_put_str(&b, F_ROOM, room);
	if (to != NULL)
		frame_put_str(&b, F_TO, to);
	storage_error_frame(&fail, id, room);
	after_frame_or(l, &b, &fail)->hold_id = id;
}

static void
send_room(struct link *l, uint64_t id, const char *name, const uint8_t *body,
    size_t len)
{
	struct store_row	 row;
	struct frame_buf	 b;
	struct room		*r;
	char			 text[128];
	int			 dup;

	if ((r = room_get(name, 0)) == NULL || !room_has_member(r,
	    l->user->id)) {
		if (req_failed()) {
			req_fail("store_room_get", id, name);
			return;
		}
		snprintf(text, sizeof(text), "not a member of %s: /join it "
		    "first", name);
		link_error_about(l, ERR_NOT_MEMBER, text, id, name);
		return;
	}
	if (tx_begin() == -1) {
		req_fail("begin", id, r->name);
		return;
	}
	memset(&row, 0, sizeof(row));
	row.ts_ms = wall_ms();
	if (store_room_append(br.store, r->id, l->user->id, id, LOG_MESSAGE,
	    row.ts_ms, body, len, &row.seq, &dup) != 0) {
		req_fail("store_room_append", id, r->name);
		return;
	}
	ack(l, id, row.seq, r->name, NULL);
	if (dup)
		return;		/* stored once already: acknowledge only */
	undo_push(UNDO_ROOM_SEQ, r->id, 0, r->last_seq);
	r->last_seq = row.seq;
	row.sender = l->user->name;
	row.sender_sign_pub = l->user->sign_pub;
	row.client_msg_id = id;
	row.kind = LOG_MESSAGE;
	row.body = body;
	row.body_len = len;
	room_event_frame(&b, r->name, &row);
	(void)after_fanout(AFTER_ROOM, r->id, row.seq, &b);
	br.messages++;
	br.message_bytes += len;
}

static void
send_direct(struct link *l, uint64_t id, char *to, const uint8_t *body,
    size_t len)
{
	struct store_user	 su;
	struct store_row	 row;
	struct frame_buf	 b;
	char			 text[128];
	int			 dup, rv;

	rv = proto_fold_user(to) == -1 ? STORE_NOT_FOUND :
	    store_user_get(br.store, to, &su);
	if (rv == -1) {
		req_fail("store_user_get", id, NULL);
		return;
	}
	if (rv == STORE_NOT_FOUND) {
		snprintf(text, sizeof(text), "no user '%s' here", to);
		link_error_about(l, ERR_NO_SUCH_USER, text, id, NULL);
		return;
	}
	if (tx_begin() == -1) {
		req_fail("begin", id, NULL);
		return;
	}
	memset(&row, 0, sizeof(row));
	row.ts_ms = wall_ms();
	if (store_inbox_append(br.store, su.id, l->user->id, id, LOG_MESSAGE,
	    row.ts_ms, body, len, &row.seq, &dup) != 0) {
		req_fail("store_inbox_append", id, NULL);
		return;
	}
	ack(l, id, row.seq, NULL, su.name);
	if (dup)
		return;
	row.sender = l->user->name;
	row.sender_sign_pub = l->user->sign_pub;
	row.recipient = su.name;
	row.client_msg_id = id;
	row.body = body;
	row.body_len = len;
	direct_frame(&b, &row);
	(void)after_fanout(AFTER_INBOX, su.id, row.seq, &b);
	br.messages++;
	br.message_bytes += len;
}

static void
chat_send(struct link *l, const struct frame *f)
{
	struct frame_buf	 b;
	const uint8_t		*body;
	size_t			 len;
	uint64_t		 id;
	uint32_t		 wait;
	char			 room[ROOM_MAX_LEN + 1], to[NAME_MAX_LEN + 1];
	int			 has_room, has_to;

	has_room = frame_get(f, F_ROOM) != NULL;
	has_to = frame_get(f, F_TO) != NULL;
	if (has_room == has_to || frame_get_u64(f, F_CLIENT_MSG_ID, &id) == -1 ||
	    id == 0 || frame_get_bytes(f, F_BODY, &body, &len) == -1) {
		link_error(l, ERR_PROTOCOL, "SEND needs a room or a recipient, "
		    "a nonzero id and a body");
		return;
	}
	/* The worker checks this too, but maybe under an older limit. */
	if (len + SEND_OVERHEAD > br.max_frame) {
		link_error(l, ERR_TOO_LARGE, "message body too large");
		return;
	}
	/*
	 * Once a SEND is refused, later ones on the link are refused too
	 * until that one comes back: a token that refills meanwhile must
	 * not let a later message in ahead of it (order per sender).
	 */
	if (l->limited_id != 0 && id != l->limited_id &&
	    l->limited_code == ERR_STORAGE) {
		/* An earlier one was not stored: nothing may pass it. */
		storage_error_frame(&b, id, NULL);
		link_reply(l, &b);
		return;
	}
	if (l->limited_id != 0 && id != l->limited_id)
		wait = 1;
	else if ((wait = rate_check(l->user)) == 0)
		l->limited_id = 0;
	if (wait != 0) {
		if (l->limited_id == 0) {
			l->limited_id = id;
			l->limited_code = ERR_RATE_LIMITED;
		}
		br.rate_limited++;
		/* A paste is one line and a summary, not a line a message. */
		if (logsum_event("rate limit", l->user->name))
			log_security("rate limit: %s from %s, retry in %u ms",
			    l->user->name, l->addr, wait);
		frame_begin(&b, MSG_ERROR, br.max_frame);
		frame_put_u16(&b, F_CODE, ERR_RATE_LIMITED);
		frame_put_str(&b, F_TEXT, "too many messages: slow down");
		frame_put_u32(&b, F_RETRY_AFTER_MS, wait);
		frame_put_u64(&b, F_CLIENT_MSG_ID, id);
		link_reply(l, &b);
		return;
	}
	if (has_room) {
		if (get_room_name(l, f, room, sizeof(room), id) == -1)
			return;
		send_room(l, id, room, body, len);
	} else {
		if (frame_get_str(f, F_TO, to, sizeof(to)) == -1) {
			link_error(l, ERR_PROTOCOL, "bad recipient");
			return;
		}
		send_direct(l, id, to, body, len);
	}
}

/* Cumulative: everything up to seq has been shown by the client. */
static void
chat_delivered(struct link *l, const struct frame *f)
{
	struct room	*r;
	uint64_t	 seq;
	char		 name[ROOM_MAX_LEN + 1];

	if (frame_get_u64(f, F_SEQ, &seq) == -1)
		return;
	/* No answer is expected: a failure only leaves the cursor behind. */
	if (frame_get(f, F_ROOM) == NULL) {
		if (tx_begin() == 0 &&
		    store_inbox_ack(br.store, l->user->id, seq) == -1)
			req_fail_quiet("store_inbox_ack");
		return;
	}
	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	if ((r = room_get(name, 0)) == NULL || !room_has_member(r,
	    l->user->id))
		return;		/* parted meanwhile: nothing to advance */
	if (tx_begin() == 0 &&
	    store_room_ack(br.store, r->id, l->user->id, seq) == -1)
		req_fail_quiet("store_room_ack");
}

struct list_ctx {
	struct evbuffer	*buf;
	size_t		 max;
	size_t		 count;
	int		 truncated;
};

static void
list_append(struct list_ctx *lc, const char *item, const char *value)
{
	size_t	 need = strlen(item) + strlen(value) + 2;

	lc->count++;
	if (evbuffer_get_length(lc->buf) + need > lc->max) {
		lc->truncated = 1;
		return;
	}
	if (evbuffer_add_printf(lc->buf, "%s %s\n", item, value) == -1)
		fatalx("evbuffer_add_printf");
}

static void
rooms_cb(const char *name, uint64_t members, void *arg)
{
	char	 n[32];

	snprintf(n, sizeof(n), "%llu", (unsigned long long)members);
	list_append(arg, name, n);
}

static void
who_cb(int64_t user_id, const char *name, void *arg)
{
	list_append(arg, name, user_find(user_id) ? "online" : "offline");
}

static void
list_reply(struct link *l, uint16_t type, const char *room,
    struct list_ctx *lc)
{
	struct frame_buf	 b;

	frame_begin(&b, type, br.max_frame);
	if (room != NULL)
		frame_put_str(&b, F_ROOM, room);
	frame_put_bytes(&b, F_LIST, evbuffer_pullup(lc->buf, -1),
	    evbuffer_get_length(lc->buf));
	link_reply(l, &b);
	if (lc->truncated) {
		frame_begin(&b, MSG_NOTICE, br.max_frame);
		frame_put_str(&b, F_TEXT, "list truncated to fit one frame");
		link_reply(l, &b);
	}
	evbuffer_free(lc->buf);
}

static void
list_init(struct list_ctx *lc)
{
	memset(lc, 0, sizeof(*lc));
	if ((lc->buf = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	lc->max = br.max_frame - LIST_RESERVE;
}

static void
chat_rooms(struct link *l)
{
	struct list_ctx	 lc;

	list_init(&lc);
	if (store_rooms(br.store, rooms_cb, &lc) == -1) {
		req_fail("store_rooms", 0, NULL);
		evbuffer_free(lc.buf);
		return;
	}
	list_reply(l, MSG_ROOM_LIST, NULL, &lc);
}

static void
chat_who(struct link *l, const struct frame *f)
{
	struct list_ctx	 lc;
	struct room	*r;
	char		 name[ROOM_MAX_LEN + 1], text[128];

	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	if ((r = room_get(name, 0)) == NULL) {
		if (req_failed())
			return;
		snprintf(text, sizeof(text), "no room %s", name);
		link_error_about(l, ERR_NO_SUCH_ROOM, text, 0, name);
		return;
	}
	list_init(&lc);
	if (store_room_members(br.store, r->id, who_cb, &lc) == -1) {
		req_fail("store_room_members", 0, r->name);
		evbuffer_free(lc.buf);
		return;
	}
	list_reply(l, MSG_WHO_LIST, r->name, &lc);
}

static void
count_rooms_cb(const char *name, uint64_t members, void *arg)
{
	(*(uint64_t *)arg)++;
}

static void
chat_info(struct link *l)
{
	struct frame_buf	 b;
	uint64_t		 users = 0, rooms = 0;

	if (store_user_count(br.store, &users) == -1 ||
	    store_rooms(br.store, count_rooms_cb, &rooms) == -1) {
		req_fail("info counts", 0, NULL);
		return;
	}
	frame_begin(&b, MSG_INFO_REPLY, br.max_frame);
	frame_put_str(&b, F_SOFTWARE, SC_VERSION_STRING);
	frame_put_u64(&b, F_UPTIME, (now_ms() - br.started_ms) / 1000);
	frame_put_u32(&b, F_USERS_ONLINE, br.nusers_online);
	frame_put_u32(&b, F_USERS, (uint32_t)users);
	frame_put_u32(&b, F_ROOMS, (uint32_t)rooms);
	link_reply(l, &b);
}

/* A relayed client message from an authenticated link. */
void
chat_frame(struct link *l, const struct frame *f)
{
	switch (f->type) {
	case MSG_JOIN:
		chat_join(l, f);
		break;
	case MSG_PART:
		chat_part(l, f);
		break;
	case MSG_SEND:
		chat_send(l, f);
		break;
	case MSG_DELIVERED:
		chat_delivered(l, f);
		break;
	case MSG_ROOMS:
		chat_rooms(l);
		break;
	case MSG_WHO:
		chat_who(l, f);
		break;
	case MSG_INFO:
		chat_info(l);
		break;
	case MSG_PREKEY:
		keys_prekey(l, f);
		break;
	case MSG_KEYS_GET:
		keys_get(l, f);
		break;
	case MSG_ROSTER_GET:
		roster_get(l, f);
		break;
	case MSG_ROSTER_PUT:
		roster_put(l, f);
		break;
	default:
		log_security("worker %ld (%s) relayed %s after login",
		    (long)l->pid, l->addr, proto_msg_name(f->type));
		link_error(l, ERR_NOT_ALLOWED, "message not allowed after "
		    "login");
		break;
	}
}

/*
 * Rows every member has acknowledged, or older than the retention, go.
 * De-duplication records go with the retention, or after DEDUP_KEEP_DAYS
 * without one: a client resends only what it still holds unacknowledged,
 * never a month later, and the table must not grow for ever.
 */
void
chat_prune(void)
{
	uint64_t	 before = 0, sent_before, deleted = 0;

	if (br.retention_days > 0)
		before = wall_ms() - (uint64_t)br.retention_days * 86400000ULL;
	sent_before = before > 0 ? before :
	    wall_ms() - (uint64_t)DEDUP_KEEP_DAYS * 86400000ULL;
	if (tx_begin() == -1)
		return;
	if (store_prune(br.store, before, sent_before, &deleted) == -1) {
		req_fail_quiet("store_prune");
		return;
	}
	if (deleted > 0)
		log_debug("pruned %llu rows", (unsigned long long)deleted);
}

void
chat_free(void)
{
	struct room	*r;

	while ((r = TAILQ_FIRST(&br.rooms)) != NULL) {
		TAILQ_REMOVE(&br.rooms, r, entry);
		free(r->members);
		free(r);
	}
}

/* A write of this turn was undone: so is what the cache made of it. */
void
chat_undo(const struct undo *u)
{
	struct room	*r;
	struct user	*usr;
	struct link	*l;

	if ((r = room_find_id(u->room_id)) == NULL)
		return;
	switch (u->kind) {
	case UNDO_ROOM_CREATED:
		/* Its members' undos came first: nothing refers to it. */
		TAILQ_REMOVE(&br.rooms, r, entry);
		free(r->members);
		free(r);
		break;
	case UNDO_ROOM_SEQ:
		r->last_seq = u->value;
		break;
	case UNDO_MEMBER_ADDED:
		room_remove_member(r, u->user_id);
		if ((usr = user_find(u->user_id)) != NULL)
			TAILQ_FOREACH(l, &usr->links, user_entry)
				link_room_remove(l, r->id);
		break;
	case UNDO_MEMBER_REMOVED:
		room_add_member(r, u->user_id);
		break;
	case UNDO_BOUND:
	case UNDO_ROSTER:
		fatalx("unexpected undo %d", u->kind);
	}
}

/*
 * The operator takes su out of a room (securechatctl room remove-member,
 * user delete): as if it had parted, so the members' clients see it go
 * and start a new sender-key chain.  STORE_NOT_FOUND if it was not in, -1
 * if the store failed (req_failed()).
 */
int
chat_remove_member(const char *name, const struct store_user *su)
{
	struct user	*u, tmp;
	struct room	*r;

	if ((r = room_get(name, 0)) == NULL || !room_has_member(r, su->id))
		return req_failed() ? -1 : STORE_NOT_FOUND;
	if ((u = user_find(su->id)) == NULL) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.id = su->id;
		(void)str_copy(tmp.name, su->name, sizeof(tmp.name));
		memcpy(tmp.sign_pub, su->sign_pub, KEY_LEN);
		u = &tmp;
	}
	if (tx_begin() == -1 || room_announce(r, u, LOG_PART) == 0)
		return -1;
	if (store_member_remove(br.store, r->id, su->id) != 0) {
		req_fail_quiet("store_member_remove");
		return -1;
	}
	room_remove_member(r, su->id);
	undo_push(UNDO_MEMBER_REMOVED, r->id, su->id, 0);
	return 0;
}

/*
 * The operator deleted a room: forget it, and what this turn would still
 * have fanned out to it, and tell its members who are online.
 */
void
chat_room_forget(const char *name, const uint8_t *notice, size_t len)
{
	struct room	*r;
	struct user	*u;
	struct link	*l;
	struct after	*a, *next;
	size_t		 i;

	TAILQ_FOREACH(r, &br.rooms, entry)
		if (strcmp(r->name, name) == 0)
			break;
	if (r == NULL)
		return;
	for (a = TAILQ_FIRST(&br.after); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (a->kind == AFTER_ROOM && a->target == r->id) {
			TAILQ_REMOVE(&br.after, a, entry);
			free(a->frame);
			free(a);
		}
	}
	for (i = 0; i < r->nmembers; i++) {
		if ((u = user_find(r->members[i])) == NULL)
			continue;
		TAILQ_FOREACH(l, &u->links, user_entry) {
			link_room_remove(l, r->id);
			link_send(l, notice, len);
		}
	}
	roster_forget(r->id);
	TAILQ_REMOVE(&br.rooms, r, entry);
	free(r->members);
	free(r);
}
