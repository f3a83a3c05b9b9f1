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
#include "securechatd.h"
#include "util.h"
#include "xmalloc.h"

#define LIST_RESERVE	256	/* frame room kept around a list */
#define MIB		(1024ULL * 1024)

static struct user *
user_find(int64_t id)
{
	struct hnode	*n;
	struct user	*u;

	for (n = htab_first(&br.users_by_id, htab_hash_u64(&br.users_by_id,
	    (uint64_t)id)); n != NULL; n = htab_next(n)) {
		u = HTAB_ENTRY(n, struct user, node);
		if (u->id == id)
			return u;
	}
	return NULL;
}

static struct room *
room_find_id(int64_t id)
{
	struct hnode	*n;
	struct room	*r;

	for (n = htab_first(&br.rooms_by_id, htab_hash_u64(&br.rooms_by_id,
	    (uint64_t)id)); n != NULL; n = htab_next(n)) {
		r = HTAB_ENTRY(n, struct room, id_node);
		if (r->id == id)
			return r;
	}
	return NULL;
}

static struct room *
room_find_name(const char *name)
{
	struct hnode	*n;
	struct room	*r;

	for (n = htab_first(&br.rooms_by_name, htab_hash_str(&br.rooms_by_name,
	    name)); n != NULL; n = htab_next(n)) {
		r = HTAB_ENTRY(n, struct room, name_node);
		if (strcmp(r->name, name) == 0)
			return r;
	}
	return NULL;
}

static struct member *
member_find(const struct room *r, int64_t user_id)
{
	struct hnode	*n;
	struct member	*m;

	for (n = htab_first(&r->members, htab_hash_u64(&r->members,
	    (uint64_t)user_id)); n != NULL; n = htab_next(n)) {
		m = HTAB_ENTRY(n, struct member, node);
		if (m->user_id == user_id)
			return m;
	}
	return NULL;
}

static int
room_has_member(const struct room *r, int64_t user_id)
{
	return member_find(r, user_id) != NULL;
}

static void
room_add_member(struct room *r, int64_t user_id)
{
	struct member	*m;

	if (room_has_member(r, user_id))
		return;
	m = xcalloc(1, sizeof(*m));
	m->user_id = user_id;
	htab_insert(&r->members, &m->node, htab_hash_u64(&r->members,
	    (uint64_t)user_id));
}

static void
room_remove_member(struct room *r, int64_t user_id)
{
	struct member	*m;

	if ((m = member_find(r, user_id)) == NULL)
		return;
	htab_remove(&r->members, &m->node);
	free(m);
}

static void
member_cb(int64_t user_id, const char *name, void *arg)
{
	room_add_member(arg, user_id);
}

/* Into the cache, with its members from the store. */
static struct room *
room_cache(int64_t id, const char *name, uint64_t last)
{
	struct room	*r;

	r = xcalloc(1, sizeof(*r));
	r->id = id;
	(void)str_copy(r->name, name, sizeof(r->name));
	/* Nothing of this room was appended through us yet: all committed. */
	r->last_seq = r->durable_seq = last;
	htab_init(&r->members);
	TAILQ_INIT(&r->lrooms);
	if (store_room_members(br.store, id, member_cb, r) == -1)
		fatalx("store_room_members");
	htab_insert(&br.rooms_by_id, &r->id_node, htab_hash_u64(
	    &br.rooms_by_id, (uint64_t)id));
	htab_insert(&br.rooms_by_name, &r->name_node, htab_hash_str(
	    &br.rooms_by_name, r->name));
	return r;
}

/* The room, from the cache or the store; NULL if there is none. */
static struct room *
room_get(const char *name)
{
	struct room	*r;
	int64_t		 id;
	uint64_t	 last;
	int		 rv;

	if ((r = room_find_name(name)) != NULL)
		return r;
	rv = store_room_get(br.store, name, &id, &last);
	if (rv == -1)
		fatalx("store_room_get");
	if (rv == STORE_NOT_FOUND)
		return NULL;
	return room_cache(id, name, last);
}

static struct room *
room_create(const char *name)
{
	int64_t	 id;

	tx_begin();
	if (store_room_create(br.store, name, &id) != 0)
		fatalx("store_room_create");
	br.nrooms++;
	log_info("room %s created", name);
	return room_cache(id, name, 0);
}

static struct link_room *
link_room_find(struct link *l, int64_t room_id)
{
	struct hnode		*n;
	struct link_room	*lr;

	for (n = htab_first(&l->rooms, htab_hash_u64(&l->rooms,
	    (uint64_t)room_id)); n != NULL; n = htab_next(n)) {
		lr = HTAB_ENTRY(n, struct link_room, node);
		if (lr->room->id == room_id)
			return lr;
	}
	return NULL;
}

/* The link has more of this room to be sent: the pump will see to it. */
static void
behind_add(struct link_room *lr)
{
	if (lr->behind)
		return;
	TAILQ_INSERT_TAIL(&lr->link->behind, lr, behind_entry);
	lr->behind = 1;
}

static void
behind_remove(struct link_room *lr)
{
	if (!lr->behind)
		return;
	TAILQ_REMOVE(&lr->link->behind, lr, behind_entry);
	lr->behind = 0;
}

static void
link_room_add(struct link *l, struct room *r, uint64_t sent)
{
	struct link_room	*lr;

	if (link_room_find(l, r->id) != NULL)
		return;
	lr = xcalloc(1, sizeof(*lr));
	lr->link = l;
	lr->room = r;
	lr->sent = lr->told = sent;
	htab_insert(&l->rooms, &lr->node, htab_hash_u64(&l->rooms,
	    (uint64_t)r->id));
	TAILQ_INSERT_TAIL(&r->lrooms, lr, room_entry);
	if (sent < r->durable_seq)
		behind_add(lr);
}

static void
link_room_free(struct link_room *lr)
{
	behind_remove(lr);
	TAILQ_REMOVE(&lr->room->lrooms, lr, room_entry);
	free(lr);
}

static void
link_room_remove(struct link_room *lr)
{
	htab_remove(&lr->link->rooms, &lr->node);
	link_room_free(lr);
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

/* Has the link been sent everything durable, in every room and its inbox? */
static int
caught_up(const struct link *l)
{
	return TAILQ_EMPTY(&l->behind) &&
	    l->inbox_sent >= l->user->inbox_durable;
}

/*
 * Catch a link up from the log, room by room, until its output is full.
 * Only the rooms it is behind in are visited.  The link's write callback
 * calls this again when the output drains, so a slow reader costs a
 * bounded buffer and its position, nothing more.
 */
void
chat_pump(struct link *l)
{
	struct pump_ctx		 pc;
	struct frame_buf	 b;
	struct link_room	*lr;
	struct room		*r;
	uint64_t		 before;

	pc.link = l;
	while (link_queued(l) < LINK_HIGH &&
	    (lr = TAILQ_FIRST(&l->behind)) != NULL) {
		r = lr->room;
		pc.room = r;
		pc.sent = &lr->sent;
		pc.durable = r->durable_seq;
		while (*pc.sent < pc.durable && link_queued(l) < LINK_HIGH) {
			before = *pc.sent;
			if (store_room_read(br.store, r->id, *pc.sent,
			    CATCHUP_BATCH, pump_row_cb, &pc) == -1)
				fatalx("store_room_read");
			if (*pc.sent == before) {
				/* Pruned by retention: skip the gap. */
				*pc.sent = pc.durable;
			}
		}
		if (lr->sent >= r->durable_seq)
			behind_remove(lr);
	}
	pc.room = NULL;
	pc.sent = &l->inbox_sent;
	pc.durable = l->user->inbox_durable;
	while (*pc.sent < pc.durable && link_queued(l) < LINK_HIGH) {
		before = *pc.sent;
		if (store_inbox_read(br.store, l->user->id, *pc.sent,
		    CATCHUP_BATCH, pump_row_cb, &pc) == -1)
			fatalx("store_inbox_read");
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

/* Push one committed inbox row to a link exactly one behind, or pump. */
static void
deliver(struct link *l, uint64_t *sent, uint64_t seq, const struct after *a)
{
	if (*sent + 1 == seq && link_queued(l) < LINK_HIGH) {
		link_send(l, a->frame, a->len);
		*sent = seq;
	} else if (*sent < seq && link_queued(l) < LINK_LOW)
		chat_pump(l);
}

/* The same for a room: a link that cannot take it now is behind in it. */
static void
deliver_room(struct link_room *lr, const struct after *a)
{
	if (lr->sent >= a->seq)
		return;
	if (!lr->link->delivering) {
		behind_add(lr);		/* chat_start() pumps it */
		return;
	}
	if (lr->sent + 1 != a->seq || link_queued(lr->link) >= LINK_HIGH)
		behind_add(lr);
	deliver(lr->link, &lr->sent, a->seq, a);
}

/* After commit: the row is durable; hand it to every connection concerned. */
void
chat_fanout(const struct after *a)
{
	struct room		*r;
	struct user		*u;
	struct link		*l;
	struct link_room	*lr, *next;

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
	/*
	 * Every link that has the room, whatever the number of members who
	 * are away.  The one who left is no longer a member (chat_part took
	 * it out at once) but still has the room: it hears its own PART,
	 * then forgets the room.  If it joined again in the same pass it is
	 * a member and keeps it.
	 */
	for (lr = TAILQ_FIRST(&r->lrooms); lr != NULL; lr = next) {
		next = TAILQ_NEXT(lr, room_entry);
		deliver_room(lr, a);
		if (a->row_kind == LOG_PART &&
		    lr->link->user->id == a->sender_id &&
		    !room_has_member(r, a->sender_id))
			link_room_remove(lr);
	}
}

struct bind_ctx {
	struct link	*link;
	unsigned int	 nrooms;
};

static void
bind_room_cb(int64_t room_id, const char *name, uint64_t cursor,
    uint64_t last_seq, void *arg)
{
	struct bind_ctx	*bc = arg;
	struct room	*r;

	if ((r = room_find_id(room_id)) == NULL &&
	    (r = room_get(name)) == NULL)
		fatalx("room %s vanished", name);
	link_room_add(bc->link, r, cursor);
	bc->nrooms++;
}

/*
 * A link is now this user's: load where it stands and catch it up.  The
 * cost is the user's own rooms, whatever the number of others.
 */
void
chat_bind(struct link *l, const struct store_user *su)
{
	struct bind_ctx	 bc;
	struct user	*u;
	int		 fresh = 0;

	if ((u = user_find(su->id)) == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->id = su->id;
		(void)str_copy(u->name, su->name, sizeof(u->name));
		TAILQ_INIT(&u->links);
		u->inbox_durable = su->inbox_last;
		rate_user_online(u);
		TAILQ_INSERT_TAIL(&br.users, u, entry);
		htab_insert(&br.users_by_id, &u->node,
		    htab_hash_u64(&br.users_by_id, (uint64_t)u->id));
		br.nusers_online++;
		fresh = 1;
	}
	/* An operator's key reset may have replaced it since. */
	memcpy(u->sign_pub, su->sign_pub, KEY_LEN);
	u->nlinks++;
	l->user = u;
	l->inbox_sent = l->inbox_told = su->inbox_cursor;
	memset(&bc, 0, sizeof(bc));
	bc.link = l;
	if (store_user_rooms(br.store, u->id, bind_room_cb, &bc) == -1)
		fatalx("store_user_rooms");
	if (fresh)
		u->nrooms = bc.nrooms;
	after_pump(l);
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
	struct user		*u = l->user;
	struct hnode		*n, *tmp;
	struct link_room	*lr;
	size_t			 i;

	HTAB_FOREACH_SAFE(n, &l->rooms, i, tmp) {
		lr = HTAB_ENTRY(n, struct link_room, node);
		link_room_free(lr);
	}
	htab_free(&l->rooms);
	if (u == NULL)
		return;
	if (l->delivering)
		TAILQ_REMOVE(&u->links, l, user_entry);
	l->user = NULL;
	if (--u->nlinks == 0) {
		rate_user_offline(u);
		TAILQ_REMOVE(&br.users, u, entry);
		htab_remove(&br.users_by_id, &u->node);
		br.nusers_online--;
		free(u);
	}
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

/* Append a join or part row and schedule its fan-out. */
static uint64_t
room_announce(struct room *r, struct user *u, uint8_t kind)
{
	struct store_row	 row;
	struct frame_buf	 b;
	struct after		*a;
	uint64_t		 seq;
	int			 dup;

	memset(&row, 0, sizeof(row));
	row.ts_ms = wall_ms();
	if (store_room_append(br.store, r->id, u->id, 0, kind, row.ts_ms,
	    (const uint8_t *)u->name, strlen(u->name), &seq, &dup) != 0)
		fatalx("store_room_append");
	r->last_seq = seq;
	row.seq = seq;
	row.sender = u->name;
	row.sender_sign_pub = u->sign_pub;
	row.kind = kind;
	room_event_frame(&b, r->name, &row);
	a = after_fanout(AFTER_ROOM, r->id, seq, &b);
	a->sender_id = u->id;
	a->row_kind = kind;
	return seq;
}

static void
notice(struct link *l, const char *text)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_NOTICE, br.max_frame);
	frame_put_str(&b, F_TEXT, text);
	link_reply(l, &b);
}

/*
 * A JOIN that would pass a cap, or create a room faster than the client's
 * address prefix may: 0 if it may go on, else -1 with the refusal sent.
 */
static int
join_allowed(struct link *l, const char *name, const struct room *r)
{
	char		 text[160];
	uint32_t	 wait;

	if (l->user->nrooms >= br.max_rooms_per_user) {
		snprintf(text, sizeof(text), "you are in %u rooms, the most "
		    "this server allows: /part one first", l->user->nrooms);
		link_refuse(l, ERR_TOO_MANY_ROOMS, text, 0, name, NULL, 0);
		return -1;
	}
	if (r != NULL && r->members.count >= br.max_members_per_room) {
		snprintf(text, sizeof(text), "%s is full: %zu members", name,
		    r->members.count);
		link_refuse(l, ERR_ROOM_FULL, text, 0, name, NULL, 0);
		return -1;
	}
	if (r != NULL)
		return 0;
	if (br.nrooms >= br.max_rooms) {
		snprintf(text, sizeof(text), "this server has %llu rooms, its "
		    "most: join an existing one", (unsigned long long)br.nrooms);
		link_refuse(l, ERR_TOO_MANY_ROOMS, text, 0, name, NULL, 0);
		return -1;
	}
	if ((wait = rate_prefix_take(RATE_ROOM_CREATE, l->addr)) != 0) {
		rate_refused(l, "room creation", wait);
		link_refuse(l, ERR_RATE_LIMITED, "too many new rooms from your "
		    "network: try later", 0, name, NULL, wait);
		return -1;
	}
	return 0;
}

static void
chat_join(struct link *l, const struct frame *f)
{
	struct room		*r;
	struct link		*ul;
	char			 name[ROOM_MAX_LEN + 1], text[128];
	uint64_t		 seq;

	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	tx_begin();
	r = room_get(name);
	if (r != NULL && room_has_member(r, l->user->id)) {
		snprintf(text, sizeof(text), "already in %s", r->name);
		notice(l, text);
		return;
	}
	if (join_allowed(l, name, r) == -1)
		return;
	if (r == NULL)
		r = room_create(name);
	seq = room_announce(r, l->user, LOG_JOIN);
	/* A new member starts at its own join: no history before it. */
	if (store_member_add(br.store, r->id, l->user->id, seq - 1) != 0)
		fatalx("store_member_add");
	room_add_member(r, l->user->id);
	l->user->nrooms++;
	TAILQ_FOREACH(ul, &l->user->links, user_entry)
		link_room_add(ul, r, seq - 1);
}

static void
chat_part(struct link *l, const struct frame *f)
{
	struct room	*r;
	char		 name[ROOM_MAX_LEN + 1], text[128];

	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	if ((r = room_get(name)) == NULL || !room_has_member(r,
	    l->user->id)) {
		snprintf(text, sizeof(text), "not a member of %s", name);
		link_error_about(l, ERR_NOT_MEMBER, text, 0, name);
		return;
	}
	tx_begin();
	(void)room_announce(r, l->user, LOG_PART);
	if (store_member_remove(br.store, r->id, l->user->id) != 0)
		fatalx("store_member_remove");
	/*
	 * Out of the members now, as in the store: a JOIN, SEND or WHO
	 * later in this pass must see the room as it will be committed.
	 */
	room_remove_member(r, l->user->id);
	if (l->user->nrooms > 0)
		l->user->nrooms--;
}

static void
ack(struct link *l, uint64_t id, uint64_t seq, const char *room,
    const char *to)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_ACK, br.max_frame);
	frame_put_u64(&b, F_CLIENT_MSG_ID, id);
	frame_put_u64(&b, F_SEQ, seq);
	if (room != NULL)
		frame_put_str(&b, F_ROOM, room);
	if (to != NULL)
		frame_put_str(&b, F_TO, to);
	after_frame(l, &b);
}

/*
 * Hold a SEND back: RATE_LIMITED with the wait, and later SENDs on the
 * link are refused too until this one comes back, so that a token that
 * refills meanwhile does not let a later one in ahead of it (order per
 * sender).
 */
static void
send_hold(struct link *l, uint64_t id, const char *what, uint32_t wait)
{
	char	 text[128];

	if (l->limited_id == 0)
		l->limited_id = id;
	rate_refused(l, what, wait);
	snprintf(text, sizeof(text), "too many %s: slow down", what);
	link_refuse(l, ERR_RATE_LIMITED, text, id, NULL, NULL, wait);
}

/*
 * A resend of a stored message is acknowledged again with its seq: it was
 * accepted once, whatever the limits say now.  1 if it was.
 */
static int
send_again(struct link *l, uint64_t id, const char *room, const char *to)
{
	uint64_t	 seq;
	int		 rv;

	if ((rv = store_sent_seq(br.store, l->user->id, id, &seq)) == -1)
		fatalx("store_sent_seq");
	if (rv != 0)
		return 0;
	ack(l, id, seq, room, to);
	return 1;
}

/* The bytes about to be stored, against limits.storage_mib_per_day. */
static int
storage_take(struct link *l, uint64_t id, size_t len)
{
	double		 burst = br.storage_burst_mib * (double)MIB;
	double		 per_s = br.storage_mib_per_day * (double)MIB / 86400.0;
	double		 cost = (double)len > burst ? burst : (double)len;
	uint32_t	 wait;

	if ((wait = rate_wait(&l->user->storage, per_s, burst, cost)) != 0) {
		send_hold(l, id, "bytes stored", wait);
		return -1;
	}
	rate_spend(&l->user->storage, cost);
	return 0;
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

	if ((r = room_get(name)) == NULL || !room_has_member(r,
	    l->user->id)) {
		snprintf(text, sizeof(text), "not a member of %s: /join it "
		    "first", name);
		link_error_about(l, ERR_NOT_MEMBER, text, id, name);
		return;
	}
	if (send_again(l, id, r->name, NULL) || storage_take(l, id, len) == -1)
		return;
	tx_begin();
	memset(&row, 0, sizeof(row));
	row.ts_ms = wall_ms();
	if (store_room_append(br.store, r->id, l->user->id, id, LOG_MESSAGE,
	    row.ts_ms, body, len, &row.seq, &dup) != 0 || dup)
		fatalx("store_room_append");
	ack(l, id, row.seq, r->name, NULL);
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

/*
 * The recipient's offline quota: what its inbox holds (unread, or read
 * and not yet pruned) plus this message, within limits.inbox_max_messages
 * and limits.inbox_max_mib.  Nothing stored is ever dropped to make room:
 * the new message is refused, with its own code.
 */
static int
inbox_full(struct link *l, uint64_t id, const struct store_user *su,
    size_t len)
{
	char	 text[192];

	if (su->inbox_rows < br.inbox_max_messages &&
	    su->inbox_bytes + len <= br.inbox_max_mib * MIB)
		return 0;
	snprintf(text, sizeof(text), "the inbox of '%s' is full (%llu "
	    "messages, %llu bytes waiting): try when they have read it",
	    su->name, (unsigned long long)su->inbox_rows,
	    (unsigned long long)su->inbox_bytes);
	log_info("inbox of %s full: refused a message from %s", su->name,
	    l->user->name);
	link_refuse(l, ERR_INBOX_FULL, text, id, NULL, su->name, 0);
	return 1;
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
	if (rv == -1)
		fatalx("store_user_get");
	if (rv == STORE_NOT_FOUND) {
		snprintf(text, sizeof(text), "no user '%s' here", to);
		link_error_about(l, ERR_NO_SUCH_USER, text, id, NULL);
		return;
	}
	if (send_again(l, id, NULL, su.name) || inbox_full(l, id, &su, len) ||
	    storage_take(l, id, len) == -1)
		return;
	tx_begin();
	memset(&row, 0, sizeof(row));
	row.ts_ms = wall_ms();
	if (store_inbox_append(br.store, su.id, l->user->id, id, LOG_MESSAGE,
	    row.ts_ms, body, len, &row.seq, &dup) != 0 || dup)
		fatalx("store_inbox_append");
	ack(l, id, row.seq, NULL, su.name);
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
	/* Every SEND takes a message token, resends included. */
	if (l->limited_id != 0 && id != l->limited_id)
		wait = 1;
	else if ((wait = rate_wait(&l->user->messages, br.message_rate,
	    br.message_burst, 1)) == 0) {
		rate_spend(&l->user->messages, 1);
		l->limited_id = 0;
	}
	if (wait != 0) {
		send_hold(l, id, "messages", wait);
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

/*
 * Cumulative: everything up to seq has been shown by the client.  It is
 * written only when it moves this link's mark, at most up to what is
 * stored: so DELIVERED costs at most one write per entry delivered, and
 * a flood of them only lookups.
 */
static void
chat_delivered(struct link *l, const struct frame *f)
{
	struct room		*r;
	struct link_room	*lr;
	uint64_t		 seq;
	char			 name[ROOM_MAX_LEN + 1];

	if (frame_get_u64(f, F_SEQ, &seq) == -1)
		return;
	if (frame_get(f, F_ROOM) == NULL) {
		if (seq > l->user->inbox_durable)
			seq = l->user->inbox_durable;
		if (seq <= l->inbox_told)
			return;
		tx_begin();
		if (store_inbox_ack(br.store, l->user->id, seq) == -1)
			fatalx("store_inbox_ack");
		l->inbox_told = seq;
		return;
	}
	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	if ((r = room_get(name)) == NULL || !room_has_member(r,
	    l->user->id))
		return;		/* parted meanwhile: nothing to advance */
	if (seq > r->last_seq)
		seq = r->last_seq;
	if ((lr = link_room_find(l, r->id)) != NULL && seq <= lr->told)
		return;
	tx_begin();
	if (store_room_ack(br.store, r->id, l->user->id, seq) == -1)
		fatalx("store_room_ack");
	if (lr != NULL)
		lr->told = seq;
}

/*
 * One page of a list: at most LIST_PAGE_MAX lines that fit in a frame.
 * The store is asked for one line more, to know whether another page
 * follows; the last line sent is where it starts (F_NEXT, F_AFTER).
 */
struct list_ctx {
	struct evbuffer	*buf;
	size_t		 max;
	size_t		 count;
	int		 more;
	char		 last[ROOM_MAX_LEN + 1];
};

static void
list_append(struct list_ctx *lc, const char *item, const char *value)
{
	size_t	 need = strlen(item) + strlen(value) + 2;

	if (lc->more)
		return;
	if (lc->count == LIST_PAGE_MAX ||
	    evbuffer_get_length(lc->buf) + need > lc->max) {
		lc->more = 1;
		return;
	}
	if (evbuffer_add_printf(lc->buf, "%s %s\n", item, value) == -1)
		fatalx("evbuffer_add_printf");
	(void)str_copy(lc->last, item, sizeof(lc->last));
	lc->count++;
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
	if (lc->more)
		frame_put_str(&b, F_NEXT, lc->last);
	link_reply(l, &b);
	evbuffer_free(lc->buf);
}

/* The page's start: F_AFTER, or "" (before every name) when absent. */
static int
list_init(struct link *l, const struct frame *f, struct list_ctx *lc,
    char after[ROOM_MAX_LEN + 1])
{
	after[0] = '\0';
	if (frame_get(f, F_AFTER) != NULL &&
	    frame_get_str(f, F_AFTER, after, ROOM_MAX_LEN + 1) == -1) {
		link_error(l, ERR_PROTOCOL, "bad F_AFTER");
		return -1;
	}
	memset(lc, 0, sizeof(*lc));
	if ((lc->buf = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	lc->max = br.max_frame - LIST_RESERVE;
	return 0;
}

static void
chat_rooms(struct link *l, const struct frame *f)
{
	struct list_ctx	 lc;
	char		 after[ROOM_MAX_LEN + 1];

	if (list_init(l, f, &lc, after) == -1)
		return;
	if (store_rooms_page(br.store, after, LIST_PAGE_MAX + 1, rooms_cb,
	    &lc) == -1)
		fatalx("store_rooms_page");
	list_reply(l, MSG_ROOM_LIST, NULL, &lc);
}

static void
chat_who(struct link *l, const struct frame *f)
{
	struct list_ctx	 lc;
	struct room	*r;
	char		 name[ROOM_MAX_LEN + 1], text[128];
	char		 after[ROOM_MAX_LEN + 1];

	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	if ((r = room_get(name)) == NULL) {
		snprintf(text, sizeof(text), "no room %s", name);
		link_error_about(l, ERR_NO_SUCH_ROOM, text, 0, name);
		return;
	}
	if (list_init(l, f, &lc, after) == -1)
		return;
	if (store_room_members_page(br.store, r->id, after, LIST_PAGE_MAX + 1,
	    who_cb, &lc) == -1)
		fatalx("store_room_members_page");
	list_reply(l, MSG_WHO_LIST, r->name, &lc);
}

static void
chat_info(struct link *l)
{
	struct frame_buf	 b;
	uint64_t		 users = 0;

	if (store_user_count(br.store, &users) == -1)
		fatalx("store_user_count");
	frame_begin(&b, MSG_INFO_REPLY, br.max_frame);
	frame_put_str(&b, F_SOFTWARE, SC_VERSION_STRING);
	frame_put_u64(&b, F_UPTIME, (now_ms() - br.started_ms) / 1000);
	frame_put_u32(&b, F_USERS_ONLINE, br.nusers_online);
	frame_put_u32(&b, F_USERS, (uint32_t)users);
	frame_put_u32(&b, F_ROOMS, (uint32_t)br.nrooms);
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
		chat_rooms(l, f);
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
	tx_begin();
	if (store_prune(br.store, before, sent_before, &deleted) == -1)
		fatalx("store_prune");
	if (deleted > 0)
		log_debug("pruned %llu rows", (unsigned long long)deleted);
}

/* The broker starts: how many rooms there are, for the cap. */
void
chat_init(void)
{
	htab_init(&br.users_by_id);
	htab_init(&br.rooms_by_id);
	htab_init(&br.rooms_by_name);
	if (store_room_count(br.store, &br.nrooms) == -1)
		fatalx("store_room_count");
}

void
chat_free(void)
{
	struct hnode	*n, *tmp, *mn, *mtmp;
	struct room	*r;
	size_t		 i, j;

	HTAB_FOREACH_SAFE(n, &br.rooms_by_id, i, tmp) {
		r = HTAB_ENTRY(n, struct room, id_node);
		HTAB_FOREACH_SAFE(mn, &r->members, j, mtmp)
			free(HTAB_ENTRY(mn, struct member, node));
		htab_free(&r->members);
		free(r);
	}
	htab_free(&br.rooms_by_id);
	htab_free(&br.rooms_by_name);
	htab_free(&br.users_by_id);
}

/*
 * The operator takes su out of a room (securechatctl room remove-member,
 * user delete): as if it had parted, so the members' clients see it go
 * and start a new sender-key chain.  STORE_NOT_FOUND if it was not in.
 */
int
chat_remove_member(const char *name, const struct store_user *su)
{
	struct user	*u, tmp;
	struct room	*r;

	if ((r = room_get(name)) == NULL || !room_has_member(r, su->id))
		return STORE_NOT_FOUND;
	if ((u = user_find(su->id)) == NULL) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.id = su->id;
		(void)str_copy(tmp.name, su->name, sizeof(tmp.name));
		memcpy(tmp.sign_pub, su->sign_pub, KEY_LEN);
		u = &tmp;
	} else if (u->nrooms > 0)
		u->nrooms--;
	tx_begin();
	(void)room_announce(r, u, LOG_PART);
	if (store_member_remove(br.store, r->id, su->id) != 0)
		fatalx("store_member_remove");
	room_remove_member(r, su->id);
	return 0;
}

/*
 * The operator deleted a room: forget it, and what this turn would still
 * have fanned out to it, and tell its members who are online.
 */
void
chat_room_forget(const char *name, const uint8_t *notice, size_t len)
{
	struct room		*r;
	struct user		*u;
	struct link_room	*lr;
	struct after		*a, *next;
	struct hnode		*n, *tmp;
	size_t			 i;

	/* One room fewer in the store, for limits.max_rooms. */
	if (br.nrooms > 0)
		br.nrooms--;
	if ((r = room_find_name(name)) == NULL)
		return;
	for (a = TAILQ_FIRST(&br.after); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (a->kind == AFTER_ROOM && a->target == r->id) {
			TAILQ_REMOVE(&br.after, a, entry);
			free(a->frame);
			free(a);
		}
	}
	while ((lr = TAILQ_FIRST(&r->lrooms)) != NULL) {
		if (lr->link->delivering)
			link_send(lr->link, notice, len);
		link_room_remove(lr);
	}
	HTAB_FOREACH_SAFE(n, &r->members, i, tmp) {
		if ((u = user_find(HTAB_ENTRY(n, struct member,
		    node)->user_id)) != NULL && u->nrooms > 0)
			u->nrooms--;
		free(HTAB_ENTRY(n, struct member, node));
	}
	htab_free(&r->members);
	htab_remove(&br.rooms_by_id, &r->id_node);
	htab_remove(&br.rooms_by_name, &r->name_node);
	free(r);
}
