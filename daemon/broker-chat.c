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

/* An online user by name: the operator's commands name users. */
struct user *
chat_user_by_name(const char *name)
{
	struct hnode	*n;
	struct user	*u;

	for (n = htab_first(&br.users_by_name, htab_hash_str(&br.users_by_name,
	    name)); n != NULL; n = htab_next(n)) {
		u = HTAB_ENTRY(n, struct user, name_node);
		if (strcmp(u->name, name) == 0)
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
room_free_members(struct room *r)
{
	struct hnode	*n, *tmp;
	size_t		 i;

	HTAB_FOREACH_SAFE(n, &r->members, i, tmp)
		free(HTAB_ENTRY(n, struct member, node));
	htab_free(&r->members);
}

/*
 * user_id becomes a member of r, or stops being one: in the room's table,
 * and in the count of rooms of the user, if online, for its cap.
 */
static void
membership_add(struct room *r, int64_t user_id)
{
	struct user	*u;

	if (room_has_member(r, user_id))
		return;
	room_add_member(r, user_id);
	if ((u = user_find(user_id)) != NULL)
		u->nrooms++;
}

static void
membership_remove(struct room *r, int64_t user_id)
{
	struct user	*u;

	if (!room_has_member(r, user_id))
		return;
	room_remove_member(r, user_id);
	if ((u = user_find(user_id)) != NULL && u->nrooms > 0)
		u->nrooms--;
}

static void
member_cb(int64_t user_id, const char *name, void *arg)
{
	room_add_member(arg, user_id);
}

/*
 * Into the cache, with its members from the store; NULL when they cannot
 * be read (the request failed).
 */
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
	if (store_room_members(br.store, id, member_cb, r) == -1) {
		req_fail("store_room_members", 0, name);
		room_free_members(r);
		free(r);
		return NULL;
	}
	htab_insert(&br.rooms_by_id, &r->id_node, htab_hash_u64(
	    &br.rooms_by_id, (uint64_t)id));
	htab_insert(&br.rooms_by_name, &r->name_node, htab_hash_str(
	    &br.rooms_by_name, r->name));
	return r;
}

/* Out of the cache; nothing may refer to it any more. */
static void
room_uncache(struct room *r)
{
	ring_free(&r->ring);
	room_free_members(r);
	htab_remove(&br.rooms_by_id, &r->id_node);
	htab_remove(&br.rooms_by_name, &r->name_node);
	free(r);
}

/*
 * The room, from the cache or the store.  NULL when there is none, or when
 * the store failed (req_failed()).
 */
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
	if (rv == -1) {
		req_fail("store_room_get", 0, name);
		return NULL;
	}
	if (rv == STORE_NOT_FOUND)
		return NULL;
	return room_cache(id, name, last);
}

/* A new room, or NULL (the request failed). */
static struct room *
room_create(const char *name)
{
	struct room	*r;
	int64_t		 id;

	if (tx_begin() == -1)
		return NULL;
	if (store_room_create(br.store, name, &id) != 0) {
		req_fail("store_room_create", 0, name);
		return NULL;
	}
	if ((r = room_cache(id, name, 0)) == NULL)
		return NULL;
	br.nrooms++;
	undo_push(UNDO_ROOM_CREATED, r->id, 0, 0);
	log_info("room %s created", name);
	return r;
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
	br.catchup_store++;
	return link_queued(pc->link) >= LINK_HIGH;
}

/*
 * From the room's ring, what it has from the link's position on: the very
 * frames that were pushed to the members who kept up.
 */
static void
pump_ring(struct pump_ctx *pc)
{
	const struct ring_event	*ev;

	while (*pc->sent < pc->durable && link_queued(pc->link) < LINK_HIGH &&
	    (ev = ring_get(&pc->room->ring, *pc->sent + 1)) != NULL) {
		/* Pushed under a larger limits.max_frame_bytes: it cannot go. */
		if (ev->len > br.max_frame)
			log_warnx("dropping a frame for %s: larger than "
			    "limits.max_frame_bytes", pc->link->addr);
		else
			link_send(pc->link, ev->frame, ev->len);
		*pc->sent = ev->seq;
		br.catchup_memory++;
	}
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
	uint64_t		 before, ring_seq, limit;

	if (l->state != LINK_AUTHED)
		return;
	pc.link = l;
	while (link_queued(l) < LINK_HIGH &&
	    (lr = TAILQ_FIRST(&l->behind)) != NULL) {
		r = lr->room;
		pc.room = r;
		pc.sent = &lr->sent;
		pc.durable = r->durable_seq;
		while (*pc.sent < pc.durable && link_queued(l) < LINK_HIGH) {
			pump_ring(&pc);
			if (*pc.sent >= pc.durable ||
			    link_queued(l) >= LINK_HIGH)
				break;
			/* Older than the ring: from the store, up to it. */
			before = *pc.sent;
			ring_seq = ring_first(&r->ring);
			if (ring_seq <= before)
				ring_seq = pc.durable + 1;
			limit = ring_seq - 1 - before;
			if (limit > CATCHUP_BATCH)
				limit = CATCHUP_BATCH;
			if (store_room_read(br.store, r->id, *pc.sent, limit,
			    pump_row_cb, &pc) == -1) {
				pump_failed(l, r->name);
				return;
			}
			if (*pc.sent == before) {
				/* Pruned by retention: skip the gap. */
				*pc.sent = ring_seq - 1;
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
chat_fanout(struct after *a)
{
	struct room		*r;
	struct user		*u;
	struct link		*l;
	struct link_room	*lr, *next;
	int			 kept;

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
	kept = ring_add(&r->ring, a->seq, a->ts_ms, a->frame, a->len);
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
	if (kept)
		a->frame = NULL;	/* the ring's now */
}

/* Is there more for the link to be sent once its output has room? */
int
chat_wants_pump(const struct link *l)
{
	return l->state == LINK_AUTHED && l->delivering &&
	    (!l->caught_up || !caught_up(l));
}

struct bind_ctx {
	struct link	*link;
	unsigned int	 nrooms;
	int		 failed;
};

static void
bind_room_cb(int64_t room_id, const char *name, uint64_t cursor,
    uint64_t last_seq, void *arg)
{
	struct bind_ctx	*bc = arg;
	struct room	*r;

	if (bc->failed)
		return;
	if ((r = room_find_id(room_id)) == NULL &&
	    (r = room_get(name)) == NULL) {
		bc->failed = 1;
		return;
	}
	link_room_add(bc->link, r, cursor);
	bc->nrooms++;
}

/*
 * The user's last committed inbox seq: the store's, read inside the
 * open transaction, less the rows this turn wrote.  Their fan-out after
 * the commit raises it; if the commit fails they were never there, and
 * the seqs are handed out again.
 */
static uint64_t
inbox_committed(int64_t user_id, uint64_t last)
{
	const struct after	*a;

	TAILQ_FOREACH(a, &br.after, entry)
		if (a->kind == AFTER_INBOX && a->target == user_id &&
		    a->seq <= last)
			last = a->seq - 1;
	return last;
}

/*
 * A link is now this user's: load where it stands (the caller schedules
 * its catch-up).  The cost is the user's own rooms, whatever the number
 * of others.  -1 when its rooms cannot be read; the caller unbinds it.
 */
int
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
		u->inbox_durable = inbox_committed(su->id, su->inbox_last);
		rate_user_online(u);
		TAILQ_INSERT_TAIL(&br.users, u, entry);
		htab_insert(&br.users_by_id, &u->node,
		    htab_hash_u64(&br.users_by_id, (uint64_t)u->id));
		htab_insert(&br.users_by_name, &u->name_node,
		    htab_hash_str(&br.users_by_name, u->name));
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
	if (store_user_rooms(br.store, u->id, bind_room_cb, &bc) == -1 ||
	    bc.failed) {
		if (!req_failed())
			req_fail_quiet("store_user_rooms");
		return -1;
	}
	if (fresh)
		u->nrooms = bc.nrooms;
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
	l->delivering = 0;
	l->user = NULL;
	if (--u->nlinks == 0) {
		rate_user_offline(u);
		TAILQ_REMOVE(&br.users, u, entry);
		htab_remove(&br.users_by_id, &u->node);
		htab_remove(&br.users_by_name, &u->name_node);
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
	a->ts_ms = row.ts_ms;
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

/*
 * user_id joined r at seq (its history starts there): a member in the
 * store and here, and the links of the user, if online, have the room.
 * -1 if the store failed (the request did).
 */
static int
member_join(struct room *r, int64_t user_id, uint64_t seq)
{
	struct user	*u;
	struct link	*ul;

	if (store_member_add(br.store, r->id, user_id, seq - 1) != 0) {
		req_fail("store_member_add", 0, r->name);
		return -1;
	}
	membership_add(r, user_id);
	undo_push(UNDO_MEMBER_ADDED, r->id, user_id, 0);
	if ((u = user_find(user_id)) != NULL)
		TAILQ_FOREACH(ul, &u->links, user_entry)
			link_room_add(ul, r, seq - 1);
	return 0;
}

/*
 * user_id left r.  Out of the members now, as in the store: a JOIN, SEND
 * or WHO later in this turn must see the room as it will be committed.
 * Its links keep the room until they have heard the PART (chat_fanout).
 */
static int
member_part(struct room *r, int64_t user_id)
{
	if (store_member_remove(br.store, r->id, user_id) != 0) {
		req_fail("store_member_remove", 0, r->name);
		return -1;
	}
	membership_remove(r, user_id);
	undo_push(UNDO_MEMBER_REMOVED, r->id, user_id, 0);
	return 0;
}

static void
notice(struct link *l, const char *text)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_NOTICE, br.max_frame);
	frame_put_str(&b, F_TEXT, text);
	link_reply(l, &b);
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

/*
 * The rooms user_id is in: counted in memory while it is online, else
 * asked of the store.  -1 if the store failed (the request did).
 */
static int
user_rooms(int64_t user_id, uint64_t *n)
{
	struct user	*u;

	if ((u = user_find(user_id)) != NULL) {
		*n = u->nrooms;
		return 0;
	}
	if (store_user_room_count(br.store, user_id, n) == -1) {
		req_fail("store_user_room_count", 0, NULL);
		return -1;
	}
	return 0;
}

/*
 * Would user_id (named other, NULL when it is the link's own user) joining
 * the room (r, NULL if it does not exist yet) pass a cap?  0 if it may
 * join, else -1 with the refusal sent, or the request failed.  A member
 * already in changes nothing and may.
 */
static int
join_caps(struct link *l, const char *name, const struct room *r,
    int64_t user_id, const char *other)
{
	char		 text[160];
	uint64_t	 n;

	if (r != NULL && room_has_member(r, user_id))
		return 0;
	if (user_rooms(user_id, &n) == -1)
		return -1;
	if (n >= br.max_rooms_per_user) {
		if (other == NULL)
			snprintf(text, sizeof(text), "you are in %llu rooms, "
			    "the most this server allows: /part one first",
			    (unsigned long long)n);
		else
			snprintf(text, sizeof(text), "%s is in %llu rooms, the "
			    "most this server allows", other,
			    (unsigned long long)n);
		link_refuse(l, ERR_TOO_MANY_ROOMS, text, 0, name, NULL, 0);
		return -1;
	}
	if (r != NULL && r->members.count >= br.max_members_per_room) {
		snprintf(text, sizeof(text), "%s is full: %zu members", name,
		    r->members.count);
		link_refuse(l, ERR_ROOM_FULL, text, 0, name, NULL, 0);
		return -1;
	}
	return 0;
}

/*
 * Would the link creating a room pass limits.max_rooms, or the rate of
 * its address prefix?  0 if it may (a token taken), else -1 and refused.
 * Last of the checks, so that only a creation that happens counts.
 */
static int
create_allowed(struct link *l, const char *name)
{
	char		 text[160];
	uint32_t	 wait;

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

/* The id of a room, or -1 (none, or the request failed). */
int64_t
chat_room_id(const char *name)
{
	struct room	*r;

	return (r = room_get(name)) == NULL ? -1 : r->id;
}

/*
 * A roster entry would make subject join the room name (create: make it
 * too): the caps and rates a plain JOIN meets.  0 if it may, else -1,
 * refused or failed.
 */
int
chat_roster_join_allowed(struct link *l, const char *name, int create,
    const struct store_user *subject)
{
	struct room	*r = NULL;

	if (!create && (r = room_get(name)) == NULL)
		return req_failed() ? -1 : 0;
	if (join_caps(l, name, r, subject->id, subject->id == l->user->id ?
	    NULL : subject->name) == -1)
		return -1;
	return create ? create_allowed(l, name) : 0;
}

/* A room for a roster's CREATE, made past chat_roster_join_allowed(). */
int64_t
chat_room_create(const char *name)
{
	struct room	*r;

	return (r = room_create(name)) == NULL ? -1 : r->id;
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
	uint64_t	 seq;
	int		 member;

	if (tx_begin() == -1)
		return -1;
	if ((r = room_get(name)) == NULL) {
		if (!req_failed())
			req_fail("roster room vanished", 0, name);
		return -1;
	}
	member = room_has_member(r, u->id);
	if ((seq = room_announce_user(r, u->id, u->name, u->sign_pub, kind,
	    entry, len)) == 0)
		return -1;
	/* A new member starts at this join: no history before it. */
	if (kind == LOG_JOIN && !member)
		return member_join(r, u->id, seq);
	if (kind == LOG_PART && member)
		return member_part(r, u->id);
	return 0;
}

int
chat_is_member(const char *name, int64_t user_id)
{
	struct room	*r;

	return (r = room_get(name)) != NULL && room_has_member(r, user_id);
}

static void
chat_join(struct link *l, const struct frame *f)
{
	struct room		*r;
	char			 name[ROOM_MAX_LEN + 1], text[128];
	uint64_t		 seq;

	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	if (tx_begin() == -1)
		return;
	if ((r = room_get(name)) == NULL && req_failed())
		return;
	if (r != NULL && roster_required(l, r))
		return;
	if (r != NULL && room_has_member(r, l->user->id)) {
		snprintf(text, sizeof(text), "already in %s", r->name);
		notice(l, text);
		return;
	}
	if (join_caps(l, name, r, l->user->id, NULL) == -1 ||
	    (r == NULL && create_allowed(l, name) == -1))
		return;
	if (r == NULL && (r = room_create(name)) == NULL)
		return;
	if ((seq = room_announce(r, l->user, LOG_JOIN)) == 0)
		return;
	/* A new member starts at its own join: no history before it. */
	(void)member_join(r, l->user->id, seq);
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
	(void)member_part(r, l->user->id);
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

	if (l->limited_id == 0) {
		l->limited_id = id;
		l->limited_code = ERR_RATE_LIMITED;
	}
	rate_refused(l, what, wait);
	snprintf(text, sizeof(text), "too many %s: slow down", what);
	link_refuse(l, ERR_RATE_LIMITED, text, id, NULL, NULL, wait);
}

/*
 * A resend of a stored message is acknowledged again with its seq: it was
 * accepted once, whatever the limits say now.  1 if it was, or if the
 * store failed (the request did).
 */
static int
send_again(struct link *l, uint64_t id, const char *room, const char *to)
{
	uint64_t	 seq;
	int		 rv;

	if ((rv = store_sent_seq(br.store, l->user->id, id, &seq)) == -1) {
		req_fail("store_sent_seq", id, room);
		return 1;
	}
	if (rv != 0)
		return 0;
	ack(l, id, seq, room, to);
	return 1;
}

/* The bytes about to be stored, against limits.storage_mib_per_day. */
static int
storage_take(struct link *l, uint64_t id, size_t len)
{
	uint32_t	 wait;

	if ((wait = rate_storage(l->user, len)) != 0) {
		send_hold(l, id, "bytes stored", wait);
		return -1;
	}
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
		if (req_failed()) {
			req_fail("store_room_get", id, name);
			return;
		}
		snprintf(text, sizeof(text), "not a member of %s: /join it "
		    "first", name);
		link_error_about(l, ERR_NOT_MEMBER, text, id, name);
		return;
	}
	if (send_again(l, id, r->name, NULL) || storage_take(l, id, len) == -1)
		return;
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
	after_fanout(AFTER_ROOM, r->id, row.seq, &b)->ts_ms = row.ts_ms;
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
	if (rv == -1) {
		req_fail("store_user_get", id, NULL);
		return;
	}
	if (rv == STORE_NOT_FOUND) {
		snprintf(text, sizeof(text), "no user '%s' here", to);
		link_error_about(l, ERR_NO_SUCH_USER, text, id, NULL);
		return;
	}
	if (send_again(l, id, NULL, su.name) || inbox_full(l, id, &su, len) ||
	    storage_take(l, id, len) == -1)
		return;
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
	if (l->limited_id != 0 && id != l->limited_id &&
	    l->limited_code == ERR_STORAGE) {
		/* An earlier one was not stored: nothing may pass it. */
		storage_error_frame(&b, id, NULL);
		link_reply(l, &b);
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
		/* No answer is expected: a failure leaves the cursor behind. */
		if (tx_begin() == -1)
			return;
		if (store_inbox_ack(br.store, l->user->id, seq) == -1) {
			req_fail_quiet("store_inbox_ack");
			return;
		}
		undo_push_told(l, 0, l->inbox_told);
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
	if (tx_begin() == -1)
		return;
	if (store_room_ack(br.store, r->id, l->user->id, seq) == -1) {
		req_fail_quiet("store_room_ack");
		return;
	}
	if (lr != NULL) {
		undo_push_told(l, r->id, lr->told);
		lr->told = seq;
	}
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
	link_reply_read(l, &b, room);
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
	    &lc) == -1) {
		req_fail("store_rooms_page", 0, NULL);
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
	char		 after[ROOM_MAX_LEN + 1];

	if (get_room_name(l, f, name, sizeof(name), 0) == -1)
		return;
	if ((r = room_get(name)) == NULL) {
		if (req_failed())
			return;
		snprintf(text, sizeof(text), "no room %s", name);
		link_error_about(l, ERR_NO_SUCH_ROOM, text, 0, name);
		return;
	}
	if (list_init(l, f, &lc, after) == -1)
		return;
	if (store_room_members_page(br.store, r->id, after, LIST_PAGE_MAX + 1,
	    who_cb, &lc) == -1) {
		req_fail("store_room_members_page", 0, r->name);
		evbuffer_free(lc.buf);
		return;
	}
	list_reply(l, MSG_WHO_LIST, r->name, &lc);
}

static void
chat_info(struct link *l)
{
	struct frame_buf	 b;
	uint64_t		 users = 0;

	if (store_user_count(br.store, &users) == -1) {
		req_fail("store_user_count", 0, NULL);
		return;
	}
	frame_begin(&b, MSG_INFO_REPLY, br.max_frame);
	frame_put_str(&b, F_SOFTWARE, SC_VERSION_STRING);
	frame_put_u64(&b, F_UPTIME, (now_ms() - br.started_ms) / 1000);
	frame_put_u32(&b, F_USERS_ONLINE, br.nusers_online);
	frame_put_u32(&b, F_USERS, (uint32_t)users);
	frame_put_u32(&b, F_ROOMS, (uint32_t)br.nrooms);
	link_reply_read(l, &b, NULL);
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
	struct hnode	*n;
	size_t		 i;
	uint64_t	 before = 0, sent_before, deleted = 0;

	if (br.retention_days > 0) {
		before = wall_ms() - (uint64_t)br.retention_days * 86400000ULL;
		HTAB_FOREACH(n, &br.rooms_by_id, i)
			ring_prune(&HTAB_ENTRY(n, struct room, id_node)->ring,
			    before);
	}
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

/* The broker starts: how many rooms there are, for the cap; -1 if unread. */
int
chat_init(void)
{
	htab_init(&br.users_by_id);
	htab_init(&br.users_by_name);
	htab_init(&br.rooms_by_id);
	htab_init(&br.rooms_by_name);
	return store_room_count(br.store, &br.nrooms);
}

void
chat_free(void)
{
	struct hnode	*n, *tmp;
	struct room	*r;
	size_t		 i;

	HTAB_FOREACH_SAFE(n, &br.rooms_by_id, i, tmp) {
		r = HTAB_ENTRY(n, struct room, id_node);
		ring_free(&r->ring);
		room_free_members(r);
		free(r);
	}
	htab_free(&br.rooms_by_id);
	htab_free(&br.rooms_by_name);
	htab_free(&br.users_by_id);
	htab_free(&br.users_by_name);
}

/* A write of this turn was undone: so is what the cache made of it. */
/* A DELIVERED mark whose write was undone: the next DELIVERED writes it. */
void
chat_undo_told(const struct undo *u)
{
	struct link		*l;
	struct link_room	*lr;

	if ((l = link_by_session(u->session_id)) == NULL ||
	    l->state != LINK_AUTHED)
		return;
	if (u->room_id == 0)
		l->inbox_told = u->value;
	else if ((lr = link_room_find(l, u->room_id)) != NULL)
		lr->told = u->value;
}

void
chat_undo(const struct undo *u)
{
	struct room		*r;
	struct link_room	*lr, *next;

	if ((r = room_find_id(u->room_id)) == NULL)
		return;
	switch (u->kind) {
	case UNDO_ROOM_CREATED:
		/* Its members' undos came first: no link has it any more. */
		while ((lr = TAILQ_FIRST(&r->lrooms)) != NULL)
			link_room_remove(lr);
		/* Its id may come again, for another room. */
		roster_forget(r->id);
		room_uncache(r);
		if (br.nrooms > 0)
			br.nrooms--;
		break;
	case UNDO_ROOM_SEQ:
		r->last_seq = u->value;
		break;
	case UNDO_MEMBER_ADDED:
		membership_remove(r, u->user_id);
		/*
		 * Every link of the user that has the room: those delivering,
		 * and one bound later in the turn, which read the membership.
		 */
		for (lr = TAILQ_FIRST(&r->lrooms); lr != NULL; lr = next) {
			next = TAILQ_NEXT(lr, room_entry);
			if (lr->link->user != NULL &&
			    lr->link->user->id == u->user_id)
				link_room_remove(lr);
		}
		break;
	case UNDO_MEMBER_REMOVED:
		membership_add(r, u->user_id);
		break;
	case UNDO_BOUND:
	case UNDO_ROSTER:
	case UNDO_TOLD:
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

	if ((r = room_get(name)) == NULL || !room_has_member(r, su->id))
		return req_failed() ? -1 : STORE_NOT_FOUND;
	if ((u = user_find(su->id)) == NULL) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.id = su->id;
		(void)str_copy(tmp.name, su->name, sizeof(tmp.name));
		memcpy(tmp.sign_pub, su->sign_pub, KEY_LEN);
		u = &tmp;
	}
	if (tx_begin() == -1 || room_announce(r, u, LOG_PART) == 0 ||
	    member_part(r, su->id) == -1)
		return -1;
	return 0;
}

/*
 * The operator's NOTICE to a room: to the sessions of its members that are
 * online, found through the room's own list of links.  How many, or -1 if
 * the store failed (req_failed()).
 */
int
chat_room_notice(const char *name, const uint8_t *notice, size_t len)
{
	struct room		*r;
	struct link_room	*lr;
	int			 n = 0;

	if ((r = room_get(name)) == NULL)
		return req_failed() ? -1 : 0;
	TAILQ_FOREACH(lr, &r->lrooms, room_entry) {
		if (!lr->link->delivering ||
		    !room_has_member(r, lr->link->user->id))
			continue;
		link_send(lr->link, notice, len);
		n++;
	}
	return n;
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
	struct hnode		*n;
	size_t			 i;

	/* One room fewer in the store, for limits.max_rooms. */
	if (br.nrooms > 0)
		br.nrooms--;
	if ((r = room_find_name(name)) == NULL)
		return;
	for (a = TAILQ_FIRST(&br.after); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (a->kind == AFTER_ROOM && a->target == r->id)
			after_drop(a);
	}
	while ((lr = TAILQ_FIRST(&r->lrooms)) != NULL) {
		if (lr->link->delivering)
			link_send(lr->link, notice, len);
		link_room_remove(lr);
	}
	HTAB_FOREACH(n, &r->members, i)
		if ((u = user_find(HTAB_ENTRY(n, struct member,
		    node)->user_id)) != NULL && u->nrooms > 0)
			u->nrooms--;
	roster_forget(r->id);
	room_uncache(r);
}
