/*
 * chat.c: rooms and messages once logged in: sending from the outbox in
 * order, holding it while rate limited, showing each event exactly once,
 * and telling the server (DELIVERED) what has been shown.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "client.h"
#include "e2e-client.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

/* Room of an event or request, folded; NULL if absent or invalid. */
static const char *
get_room(const struct frame *f, char room[ROOM_MAX_LEN + 1])
{
	if (frame_get_str(f, F_ROOM, room, ROOM_MAX_LEN + 1) == -1 ||
	    proto_fold_room(room) == -1)
		return NULL;
	return room;
}

/* A user name of an event, folded; NULL if absent or not a valid name. */
static const char *
get_user(const struct frame *f, uint16_t tag, char name[NAME_MAX_LEN + 1])
{
	if (frame_get_str(f, tag, name, NAME_MAX_LEN + 1) == -1 ||
	    proto_fold_user(name) == -1)
		return NULL;
	return name;
}

static struct outmsg *answer_begin(struct client *, uint16_t, const char *);
static void	 answer_end(struct client *, struct outmsg *);

static void
send_one(struct client *c, struct outmsg *m)
{
	struct frame_buf	 b;

	/* Joins and parts go through the room's signed roster. */
	if ((m->type == MSG_JOIN && roster_join(c, m->room, m->arg)) ||
	    (m->type == MSG_PART && roster_part(c, m->room))) {
		m->sent = 1;
		return;
	}
	frame_begin(&b, m->type, c->max_frame);
	switch (m->type) {
	case MSG_SEND:
		if (m->room[0] != '\0')
			frame_put_str(&b, F_ROOM, m->room);
		else
			frame_put_str(&b, F_TO, m->to);
		frame_put_u64(&b, F_CLIENT_MSG_ID, m->id);
		frame_put_bytes(&b, F_BODY, m->body, m->len);
		break;
	case MSG_JOIN:
	case MSG_PART:
		frame_put_str(&b, F_ROOM, m->room);
		break;
	case MSG_WHO:
		frame_put_str(&b, F_ROOM, m->room);
		if (m->after[0] != '\0')
			frame_put_str(&b, F_AFTER, m->after);
		break;
	case MSG_ROOMS:
		if (m->after[0] != '\0')
			frame_put_str(&b, F_AFTER, m->after);
		break;
	case MSG_KEYS_GET:
		frame_put_str(&b, F_NAME, m->to);
		break;
	case MSG_PREKEY:
		e2ec_put_prekey(c, &b);
		break;
	default:
		break;		/* INFO: no fields */
	}
	m->sent = 1;
	conn_send(c, &b);
}

/*
 * Send what has not gone out on this connection, in order.  Few SENDs are
 * in flight at a time: the broker takes a message whenever a token is
 * there, so one behind a rate-limited message could get in before it.
 * Once limited, one at a time until the outbox is empty keeps the order.
 */
void
chat_flush(struct client *c)
{
	struct outmsg	*m;
	size_t		 inflight = 0, window;

	if (c->state != CS_READY || c->held)
		return;
	if (c->outbox.nsend == 0)
		c->careful = 0;
	window = c->careful ? 1 : CLIENT_WINDOW;
	TAILQ_FOREACH(m, &c->outbox.q, entry) {
		if (m->type == MSG_SEND) {
			if (!m->sent && inflight >= window)
				return;
			inflight++;
		}
		if (!m->sent)
			send_one(c, m);
		if (c->state != CS_READY)
			return;
	}
}

static void
hold_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;

	c->held = 0;
	chat_flush(c);
}

/*
 * A line to a room or a person: sealed end to end once the keys are
 * there, then in the outbox until its ACK.
 */
void
chat_say(struct client *c, const char *room, const char *to, const char *text)
{
	if (room != NULL)
		e2ec_say_room(c, room, text);
	else
		e2ec_say_direct(c, to, text);
	client_progress(c);
}

/* JOIN, PART, WHO, ROOMS, INFO: answered in order, resent after a reconnect. */
void
chat_request(struct client *c, uint16_t type, const char *room)
{
	(void)outbox_add(&c->outbox, type, room, NULL, NULL, 0);
	chat_flush(c);
}

void
chat_logged_in(struct client *c)
{
	size_t	 i;

	/* The new connection's cursor is what the server stored. */
	for (i = 0; i < c->seen.n; i++) {
		c->seen.v[i].told = 0;
		c->seen.v[i].active = 0;
	}
	/* Nothing is told on the new connection until events come. */
	c->untold = 0;
	c->tell_due_ms = 0;
	c->held = 0;
	if (c->ev_hold != NULL)
		(void)event_del(c->ev_hold);
	outbox_unsend_all(&c->outbox);
	e2ec_logged_in(c);
	roster_logged_in(c);
	chat_flush(c);
}

static void
delivered_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;

	c->armed_due_ms = 0;
	chat_delivered(c, 0);
}

/* The timer fires at the earlier of the two deadlines, if any. */
static void
delivered_arm(struct client *c, uint64_t t)
{
	struct timeval	 tv;
	uint64_t	 due = c->save_due_ms;

	if (c->tell_due_ms != 0 && (due == 0 || c->tell_due_ms < due))
		due = c->tell_due_ms;
	/* Called for every event shown: the timer moves only when it must. */
	if (due == c->armed_due_ms)
		return;
	c->armed_due_ms = due;
	if (due == 0) {
		if (c->ev_delivered != NULL)
			(void)event_del(c->ev_delivered);
		return;
	}
	if (c->ev_delivered == NULL &&
	    (c->ev_delivered = evtimer_new(c->base, delivered_cb, c)) == NULL)
		fatalx("evtimer_new");
	due = due > t ? due - t : 1;
	tv.tv_sec = (time_t)(due / 1000);
	tv.tv_usec = (suseconds_t)(due % 1000) * 1000;
	if (evtimer_add(c->ev_delivered, &tv) == -1)
		fatalx("evtimer_add");
}

/* Something shown is not told yet: it will be, by this deadline. */
static void
delivered_due(struct client *c, uint64_t t)
{
	if (c->tell_due_ms == 0)
		c->tell_due_ms = t + CLIENT_DELIVERED_MS;
}

/* DELIVERED for every log whose mark moved since the server was told. */
static void
delivered_tell(struct client *c)
{
	struct frame_buf	 b;
	struct seen_entry	*e;
	size_t			 i;

	c->untold = 0;
	c->tell_due_ms = 0;
	for (i = 0; i < c->seen.n; i++) {
		e = &c->seen.v[i];
		if (c->state != CS_READY && c->state != CS_CLOSING)
			break;
		if (!e->active || e->shown <= e->told)
			continue;
		frame_begin(&b, MSG_DELIVERED, c->max_frame);
		if (strcmp(e->key, SEEN_INBOX) != 0)
			frame_put_str(&b, F_ROOM, e->key);
		frame_put_u64(&b, F_SEQ, e->shown);
		conn_send(c, &b);
		e->told = e->shown;
	}
}

/*
 * What has been shown is recorded in the .seen file at most
 * CLIENT_SEEN_MS late or every CLIENT_SEEN_EVENTS events, and told to
 * the server (DELIVERED) at most CLIENT_DELIVERED_MS late or every
 * CLIENT_DELIVERED_EVENTS events; both at once when now is set (the
 * session ends).  The file is written first: a client killed between
 * the two shows nothing twice, the server merely sends it again.  The
 * server is told less often than the file is written because every
 * DELIVERED costs it a wake of this client's worker and of the broker
 * (docs/PERFORMANCE.md); a cursor that lags only means events sent
 * again at the next login, which the marks drop.  Each save writes the
 * whole table: with many rooms, both wait for more events, so that a
 * flood costs in proportion to what it sends.
 */
void
chat_delivered(struct client *c, int now)
{
	char		 err[512];
	uint64_t	 t;
	unsigned	 more = (unsigned)(c->seen.n / 8);

	if (c->seen_file == NULL)
		return;
	t = now_ms();
	if (c->unsaved > 0 && (now || c->unsaved >= CLIENT_SEEN_EVENTS +
	    more || t >= c->save_due_ms)) {
		/* Chains learnt from what was shown must outlive a restart too. */
		if (e2ec_save(c) == -1)
			return;
		if (seen_save(&c->seen, c->seen_file, err,
		    sizeof(err)) == -1) {
			/* Without the file, telling the server could lose messages. */
			out_error(c, "SEEN", "%s", err);
			return;
		}
		c->untold += c->unsaved;
		c->unsaved = 0;
		c->save_due_ms = 0;
		delivered_due(c, t);
	}
	if (c->unsaved == 0 && c->tell_due_ms != 0 && (now ||
	    c->untold >= CLIENT_DELIVERED_EVENTS + more ||
	    t >= c->tell_due_ms))
		delivered_tell(c);
	delivered_arm(c, t);
}

/*
 * WELCOME named the server's database.  Marks of another one (made anew,
 * or restored) would hide its messages: they start afresh, and the file
 * says which database they count in from now on.
 */
void
chat_epoch(struct client *c, const uint8_t *epoch)
{
	char	 err[512];
	int	 rv;

	if ((rv = seen_epoch(&c->seen, epoch)) == SEEN_EPOCH_SAME)
		return;
	if (rv == SEEN_EPOCH_RESET) {
		out_notice(c, "database_changed", "the server's database is "
		    "not the one this client saw before: what was shown is "
		    "counted afresh");
		roster_reset(c);
	}
	if (c->seen_file != NULL &&
	    seen_save(&c->seen, c->seen_file, err, sizeof(err)) == -1)
		out_error(c, "SEEN", "%s", err);
}

/*
 * Exactly once: an event at or below the last seq shown there was shown
 * before (by this run or an earlier one) and is only acknowledged again.
 */
static int
first_time(struct client *c, const char *key, uint64_t seq)
{
	struct seen_entry	*e;

	/*
	 * Nothing the server sends may silence a room for good: a seq out
	 * of bounds is refused (not shown, not recorded, not acknowledged).
	 */
	if (seq == 0 || seq > SEEN_SEQ_MAX) {
		out_error(c, "BAD_SEQ", "the server sent an event of %s with "
		    "seq %llu, out of bounds: ignored", key,
		    (unsigned long long)seq);
		return 0;
	}
	if ((e = seen_get(&c->seen, key, 1)) == NULL)
		return 0;
	if (c->seen.evicted > 0 && !c->seen_full) {
		out_error(c, "TOO_MANY_ROOMS", "the server sends events of more "
		    "than %d rooms: the marks of those least recently used "
		    "are forgotten", SEEN_MAX_ENTRIES);
		c->seen_full = 1;
	}
	e->active = 1;
	if (seq <= e->shown) {
		/* Let the server's cursor catch up with what we know. */
		if (e->shown > e->told) {
			delivered_due(c, now_ms());
			chat_delivered(c, 0);
		}
		return 0;
	}
	if (seq - e->shown > SEEN_SEQ_JUMP) {
		out_error(c, "BAD_SEQ", "the server sent an event of %s with "
		    "seq %llu, more than 2^32 past the last one shown (%llu): "
		    "ignored", key, (unsigned long long)seq,
		    (unsigned long long)e->shown);
		return 0;
	}
	e->shown = seq;
	if (c->unsaved++ == 0)
		c->save_due_ms = now_ms() + CLIENT_SEEN_MS;
	return 1;
}

/* The sender's identity key the broker stamped on an event, or NULL. */
static const uint8_t *
event_sign_pub(const struct frame *f)
{
	const uint8_t	*key;
	size_t		 len;

	if (frame_get_bytes(f, F_SIGN_PUB, &key, &len) == -1 || len != 32)
		return NULL;
	return key;
}

/*
 * A join or part shown, with what its roster entry proved (sig: 1
 * verified, 0 none, -1 refused), and what follows from it.  (The new
 * chain it calls for is not waited for: room_event asked for it.)
 */
void
chat_membership(struct client *c, const char *room, const char *from,
    uint8_t kind, uint64_t seq, uint64_t ts, int sig)
{
	struct outmsg	*m;

	/* Our own join or part answers our request. */
	m = strcmp(from, c->user) != 0 ? NULL : answer_begin(c,
	    kind == EVENT_JOIN ? MSG_JOIN : MSG_PART, room);
	view_membership(c, kind, room, from, seq, ts, sig);
	if (strcmp(from, c->user) == 0 && kind == EVENT_JOIN)
		view_joined(c, room);
	else if (strcmp(from, c->user) == 0)
		view_parted(c, room);
	/* It may have been the last thing a script waited for. */
	answer_end(c, m);
	/* A /join of it sent meanwhile: we are in now. */
	while (kind == EVENT_JOIN && strcmp(from, c->user) == 0 &&
	    (m = outbox_find_request(&c->outbox, MSG_JOIN, room)) != NULL) {
		outbox_set_request(m->reqid);
		out_notice(c, "already_in_roster", "already in %s", room);
		answer_end(c, m);
	}
}

static void
room_event(struct client *c, const struct frame *f)
{
	char		 room[ROOM_MAX_LEN + 1], from[NAME_MAX_LEN + 1];
	const uint8_t	*body = (const uint8_t *)"", *sign_pub, *entry = NULL;
	uint64_t	 seq, ts;
	size_t		 len = 0, elen = 0;
	uint8_t		 kind;
	int		 sig;

	if (get_room(f, room) == NULL ||
	    frame_get_u64(f, F_SEQ, &seq) == -1 ||
	    frame_get_u64(f, F_TS, &ts) == -1 ||
	    get_user(f, F_FROM, from) == NULL ||
	    frame_get_u8(f, F_KIND, &kind) == -1)
		return;
	if (frame_get(f, F_BODY) != NULL)
		(void)frame_get_bytes(f, F_BODY, &body, &len);
	if (frame_get(f, F_ENTRY) != NULL)
		(void)frame_get_bytes(f, F_ENTRY, &entry, &elen);
	sign_pub = event_sign_pub(f);
	complete_add_room(room);
	complete_add_user(from);
	if (!first_time(c, room, seq))
		return;
	switch (kind) {
	case EVENT_MESSAGE:
		roster_heard(c, room);
		if (roster_hold_message(c, room, from, sign_pub, body, len,
		    seq, ts) != ROSTER_HELD)
			e2ec_room_message(c, room, from, sign_pub, body, len,
			    seq, ts, ROSTER_ARRIVED);
		break;
	case EVENT_JOIN:
	case EVENT_PART:
		/*
		 * Our next message in the room starts a new chain at once;
		 * the event is shown once its roster entry is judged, which
		 * may wait for a fetch (roster.c shows it then).
		 */
		e2ec_membership(c, room, seq);
		if ((sig = roster_event(c, room, from, kind, entry, elen, seq,
		    ts)) != ROSTER_HELD)
			chat_membership(c, room, from, kind, seq, ts, sig);
		break;
	default:
		break;		/* a kind from a newer server: not for us */
	}
	chat_delivered(c, 0);
}

static void
direct_event(struct client *c, const struct frame *f)
{
	char		 from[NAME_MAX_LEN + 1], to[NAME_MAX_LEN + 1];
	const uint8_t	*body, *sign_pub;
	uint64_t	 seq, ts;
	size_t		 len;

	if (frame_get_u64(f, F_SEQ, &seq) == -1 ||
	    frame_get_u64(f, F_TS, &ts) == -1 ||
	    get_user(f, F_FROM, from) == NULL ||
	    get_user(f, F_TO, to) == NULL ||
	    frame_get_bytes(f, F_BODY, &body, &len) == -1)
		return;
	sign_pub = event_sign_pub(f);
	complete_add_user(from);
	if (!first_time(c, SEEN_INBOX, seq))
		return;
	e2ec_direct(c, from, to, sign_pub, body, len, seq, ts);
	chat_delivered(c, 0);
}

static void
ack(struct client *c, const struct frame *f)
{
	struct outmsg	*m;
	uint64_t	 id, seq;

	if (frame_get_u64(f, F_CLIENT_MSG_ID, &id) == -1 ||
	    frame_get_u64(f, F_SEQ, &seq) == -1)
		return;
	/* A second ACK for a message sent twice across a reconnect. */
	if ((m = outbox_find_id(&c->outbox, id)) == NULL)
		return;
	outbox_set_request(m->reqid);
	if (!m->quiet)
		out_ack(c, m, seq);
	/* A direct message does not come back: it is kept as it is acked. */
	if (m->room[0] == '\0' && m->text != NULL)
		view_sent_direct(c, m, seq);
	outbox_set_request(NULL);
	outbox_remove(&c->outbox, m);
	client_progress(c);
	chat_flush(c);		/* room in the window */
	client_check_done(c);
}

/*
 * The request a reply answers (NULL if none is waiting): its events carry
 * the script's request id until answer_end takes it off the outbox.
 */
static struct outmsg *
answer_begin(struct client *c, uint16_t type, const char *room)
{
	struct outmsg	*m;

	if ((m = outbox_find_request(&c->outbox, type, room)) == NULL &&
	    room != NULL)
		m = outbox_find_request(&c->outbox, type, NULL);
	outbox_set_request(m != NULL ? m->reqid : NULL);
	return m;
}

static void
answer_end(struct client *c, struct outmsg *m)
{
	outbox_set_request(NULL);
	if (m != NULL) {
		outbox_remove(&c->outbox, m);
		client_progress(c);
		client_check_done(c);
	}
}

/*
 * A page of a list that m asked for.  When F_NEXT says more follow, the
 * page is kept and the next one asked for: 1.  On the last page, 0, and
 * *list, *len are the whole list; *whole (to free) holds it if it took
 * more than one page.  Lists longer than CLIENT_LIST_MAX end there.
 */
static int
list_page(struct client *c, struct outmsg *m, const struct frame *f,
    const uint8_t **list, size_t *len, uint8_t **whole)
{
	char	 next[ROOM_MAX_LEN + 1];
	int	 more;

	*whole = NULL;
	if (m == NULL)
		return 0;
	more = frame_get_str(f, F_NEXT, next, sizeof(next)) == 0 &&
	    m->pagelen + *len <= CLIENT_LIST_MAX;
	if (more || m->pagelen > 0) {
		m->pages = xreallocarray(m->pages, m->pagelen + *len + 1, 1);
		memcpy(m->pages + m->pagelen, *list, *len);
		m->pagelen += *len;
	}
	if (more) {
		(void)str_copy(m->after, next, sizeof(m->after));
		send_one(c, m);
		return 1;
	}
	if (m->pagelen > 0) {
		*whole = m->pages;
		*list = m->pages;
		*len = m->pagelen;
		m->pages = NULL;
		m->pagelen = 0;
	}
	return 0;
}

/* Our KEYS_GET for name (or our PREKEY) is answered. */
static void
keys_answered(struct client *c, const struct frame *f)
{
	struct outmsg	*m;
	char		 name[NAME_MAX_LEN + 1];

	if (frame_get_str(f, F_NAME, name, sizeof(name)) == -1 ||
	    proto_fold_user(name) == -1)
		return;
	TAILQ_FOREACH(m, &c->outbox.q, entry) {
		if (!m->sent)
			continue;
		if ((m->type == MSG_KEYS_GET && strcmp(m->to, name) == 0) ||
		    (m->type == MSG_PREKEY && strcmp(name, c->user) == 0))
			break;
	}
	/* Unasked: a server flooding keys gets nothing pinned or written. */
	if (m == NULL) {
		log_debug("KEYS for %s that we did not ask for: ignored", name);
		return;
	}
	/* A /verify's safety number answers the script that asked. */
	outbox_set_request(m->reqid);
	outbox_remove(&c->outbox, m);
	client_progress(c);
	e2ec_keys(c, f);
	outbox_set_request(NULL);
	client_check_done(c);
}

/* The messages of a logged-in session; 0 for one that has no place here. */
int
chat_frame(struct client *c, const struct frame *f)
{
	struct outmsg	*m;
	const uint8_t	*list;
	uint8_t		*whole;
	char		 room[ROOM_MAX_LEN + 1], sw[CLIENT_SOFTWARE_MAX];
	int		 quiet;
	uint64_t	 uptime;
	uint32_t	 online, users, rooms;
	size_t		 len;

	switch (f->type) {
	case MSG_ROOM_EVENT:
		room_event(c, f);
		return 1;
	case MSG_DIRECT:
		direct_event(c, f);
		return 1;
	case MSG_ACK:
		ack(c, f);
		return 1;
	case MSG_ROOM_LIST:
		m = answer_begin(c, MSG_ROOMS, NULL);
		if (frame_get_bytes(f, F_LIST, &list, &len) == 0) {
			/* Another page is asked for: the request waits. */
			if (list_page(c, m, f, &list, &len, &whole)) {
				outbox_set_request(NULL);
				return 1;
			}
			out_rooms(c, list, len);
			free(whole);
		}
		answer_end(c, m);
		return 1;
	case MSG_WHO_LIST:
		if (get_room(f, room) != NULL &&
		    frame_get_bytes(f, F_LIST, &list, &len) == 0) {
			/* Ours, for a new chain, or the user's /who. */
			m = answer_begin(c, MSG_WHO, room);
			if (list_page(c, m, f, &list, &len, &whole)) {
				outbox_set_request(NULL);
				return 1;
			}
			quiet = m != NULL && m->quiet;
			if (!quiet)
				out_who(c, room, list, len);
			answer_end(c, m);
			if (quiet)
				e2ec_who_list(c, room, list, len);
			free(whole);
		} else
			answer_end(c, answer_begin(c, MSG_WHO, NULL));
		return 1;
	case MSG_KEYS:
		keys_answered(c, f);
		return 1;
	case MSG_CAUGHT_UP:
		e2ec_caught_up(c);
		return 1;
	case MSG_ROSTER:
		roster_answer(c, f);
		client_progress(c);
		/* The joins it held are shown: a script may be done. */
		client_check_done(c);
		return 1;
	case MSG_INFO_REPLY:
		m = answer_begin(c, MSG_INFO, NULL);
		if (frame_get_str(f, F_SOFTWARE, sw, sizeof(sw)) == 0 &&
		    frame_get_u64(f, F_UPTIME, &uptime) == 0 &&
		    frame_get_u32(f, F_USERS_ONLINE, &online) == 0 &&
		    frame_get_u32(f, F_USERS, &users) == 0 &&
		    frame_get_u32(f, F_ROOMS, &rooms) == 0)
			out_info(c, sw, uptime, online, users, rooms);
		answer_end(c, m);
		return 1;
	default:
		return 0;
	}
}

/*
 * "already in #room" is how the broker answers a JOIN of a member: the
 * notice, shown next, carries that request's id.
 */
void
chat_notice(struct client *c, const char *text)
{
	struct outmsg	*m;

	TAILQ_FOREACH(m, &c->outbox.q, entry) {
		if (m->sent && m->type == MSG_JOIN &&
		    strstr(text, m->room) != NULL) {
			outbox_set_request(m->reqid);
			view_joined(c, m->room);
			outbox_remove(&c->outbox, m);
			client_progress(c);
			client_check_done(c);
			return;
		}
	}
}

/*
 * A non-fatal ERROR about one message or room.  RATE_LIMITED, and STORAGE
 * for a message (the server could not store it now), hold the outbox from
 * that message on until the server allows more; the others mean the
 * message or request can never succeed: it is dropped, and said.
 */
void
chat_error(struct client *c, const struct frame *f, uint16_t code,
    const char *text)
{
	struct outmsg	*m = NULL;
	struct timeval	 tv;
	char		 roombuf[ROOM_MAX_LEN + 1];
	const char	*room;
	uint64_t	 id = 0;
	uint32_t	 retry = 0;
	int		 has_retry, was_held = c->held;

	(void)frame_get_u64(f, F_CLIENT_MSG_ID, &id);
	has_retry = frame_get_u32(f, F_RETRY_AFTER_MS, &retry) == 0;
	room = get_room(f, roombuf);
	if (id != 0)
		m = outbox_find_id(&c->outbox, id);
	if (m != NULL && room == NULL && m->room[0] != '\0')
		room = m->room;

	if (code == ERR_RATE_LIMITED || (code == ERR_STORAGE && m != NULL &&
	    m->type == MSG_SEND)) {
		if (!has_retry || retry == 0)
			retry = 1000;
		if (m != NULL)
			outbox_unsend_from(&c->outbox, m);
		/*
		 * A JOIN that would create a room too soon goes again too,
		 * and a roster op its entry stood for starts again with it.
		 */
		if (m == NULL && room != NULL &&
		    (m = roster_limited(c, room)) != NULL)
			m->sent = 0;
		c->held = 1;
		c->careful = 1;
		if (c->ev_hold == NULL &&
		    (c->ev_hold = evtimer_new(c->base, hold_cb, c)) == NULL)
			fatalx("evtimer_new");
		tv.tv_sec = retry / 1000;
		tv.tv_usec = (retry % 1000) * 1000;
		if (evtimer_add(c->ev_hold, &tv) == -1)
			fatalx("evtimer_add");
		/* One line per hold is enough for people; scripts get each. */
		outbox_set_request(m != NULL ? m->reqid : NULL);
		if (!was_held || c->json)
			out_chat_error(c, code, text, id, room, 1, retry);
		outbox_set_request(NULL);
		return;
	}
	if (code == ERR_STORAGE && id == 0 && room == NULL) {
		/* In a request's place (the broker answers in order). */
		TAILQ_FOREACH(m, &c->outbox.q, entry)
			if (m->sent && m->type != MSG_SEND)
				break;
		if (m != NULL && m->type != MSG_KEYS_GET)
			m = NULL;
	}
	if (m == NULL && code == ERR_NO_SUCH_USER && id == 0) {
		/* A KEYS_GET: the broker answers them in order. */
		TAILQ_FOREACH(m, &c->outbox.q, entry)
			if (m->sent && m->type == MSG_KEYS_GET)
				break;
	}
	if (m != NULL && m->type == MSG_KEYS_GET) {
		/* What waited for the keys says what failed. */
		(void)str_copy(roombuf, m->to, sizeof(roombuf));
		outbox_remove(&c->outbox, m);
		e2ec_keys_failed(c, roombuf);
		client_progress(c);
		chat_flush(c);
		client_check_done(c);
		return;
	}
	/* A step of a roster op: it goes on (catching up, creating). */
	if (id == 0 && roster_error(c, code, room)) {
		client_progress(c);
		client_check_done(c);
		return;
	}
	if (m == NULL && id == 0) {
		/* A request: the first one still waiting for that room. */
		TAILQ_FOREACH(m, &c->outbox.q, entry)
			if (m->sent && m->type != MSG_SEND &&
			    (room == NULL || strcmp(m->room, room) == 0))
				break;
	}
	outbox_set_request(m != NULL ? m->reqid : NULL);
	out_chat_error(c, code, text, id, room, has_retry, retry);
	outbox_set_request(NULL);
	if (m != NULL)
		outbox_remove(&c->outbox, m);
	client_progress(c);
	chat_flush(c);
	client_check_done(c);
}

/* Batch mode may end: everything said is acknowledged and answered. */
int
chat_done(struct client *c)
{
	return TAILQ_EMPTY(&c->outbox.q) && e2ec_done(c) && roster_held(c) == 0;
}

void
chat_free(struct client *c)
{
	char	 err[512];

	/*
	 * Whatever was shown is remembered, even if the server never heard;
	 * the chains and ids it learnt first, as in chat_delivered, or the
	 * same messages sent again would be new to a state that never saw
	 * them.
	 */
	if (c->seen_file != NULL && c->seen.n > 0 && e2ec_save(c) == 0 &&
	    seen_save(&c->seen, c->seen_file, err, sizeof(err)) == -1)
		log_warnx("%s", err);
	if (c->ev_hold != NULL)
		event_free(c->ev_hold);
	if (c->ev_delivered != NULL)
		event_free(c->ev_delivered);
	c->ev_hold = c->ev_delivered = NULL;
	c->armed_due_ms = 0;
	outbox_clear(&c->outbox);
	seen_free(&c->seen);
}
