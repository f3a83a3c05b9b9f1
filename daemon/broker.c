/*
 * broker.c: the one process that keeps state.  Sandboxed in the state
 * directory, it owns the database and a link to every worker, which the
 * master hands over with SCM_RIGHTS.  It trusts no worker's claims.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "broker.h"
#include "frame.h"
#include "ipc.h"
#include "log.h"
#include "logsum.h"
#include "sandbox.h"
#include "securechatd.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define DB_NAME			"securechat.db"
_Static_assert(STORE_EPOCH_LEN == EPOCH_LEN, "F_EPOCH carries the store's");
#define BROKER_FD_HEADROOM	32	/* db, wal, shm, epoll, signals ... */
#define MASTER_MSG_MAX		4096
#define PRUNE_INTERVAL_S	60
/* The heap (heap_settings): kept, not given back turn by turn. */
#define BROKER_MMAP_THRESHOLD	(1024 * 1024)
#define BROKER_TRIM_THRESHOLD	(32 * 1024 * 1024)
#define BROKER_TOP_PAD		(1024 * 1024)

struct broker	 br;
static struct event	*master_ev;
static struct event	*sigterm_ev;

struct link *
link_by_session(uint64_t session_id)
{
	struct hnode	*n;
	struct link	*l;

	for (n = htab_first(&br.links_by_session, htab_hash_u64(
	    &br.links_by_session, session_id)); n != NULL; n = htab_next(n)) {
		l = HTAB_ENTRY(n, struct link, node);
		if (l->session_id == session_id)
			return l;
	}
	return NULL;
}

/*
 * What the link's worker has not read yet.  A gone worker reads nothing
 * more: its link counts as full, so no catch-up is made for it.
 */
size_t
link_queued(const struct link *l)
{
	if (l->gone)
		return LINK_HIGH;
	return evbuffer_get_length(bufferevent_get_output(l->bev));
}

/* "1h 2m 3s" */
static void
duration(uint64_t ms, char *buf, size_t bufsz)
{
	uint64_t	 s = ms / 1000;

	if (s >= 3600)
		(void)snprintf(buf, bufsz, "%lluh %llum %llus",
		    (unsigned long long)(s / 3600),
		    (unsigned long long)(s / 60 % 60),
		    (unsigned long long)(s % 60));
	else if (s >= 60)
		(void)snprintf(buf, bufsz, "%llum %llus",
		    (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	else
		(void)snprintf(buf, bufsz, "%llu.%03llus",
		    (unsigned long long)s, (unsigned long long)(ms % 1000));
}

/* Off br.flush or br.drained, whichever it is on. */
static void
link_unflush(struct link *l)
{
	if (l->flush_on == 0)
		return;
	TAILQ_REMOVE(l->flush_on == 1 ? &br.flush : &br.drained, l,
	    flush_entry);
	l->flush_on = 0;
}

static void
link_free(struct link *l, const char *why)
{
	char	 took[64];

	if (l->user != NULL) {
		duration(now_ms() - l->authed_ms, took, sizeof(took));
		log_info("logout: %s from %s after %s (session %llu, %s)",
		    l->user->name, l->addr, took,
		    (unsigned long long)l->session_id, why);
	}
	log_debug("worker %ld (%s) detached: %s", (long)l->pid, l->addr, why);
	auth_link_gone(l);
	chat_link_gone(l);
	link_unflush(l);
	TAILQ_REMOVE(&br.links, l, entry);
	htab_remove(&br.links_by_session, &l->node);
	br.nlinks--;
	if (l->pause_ev != NULL)
		event_free(l->pause_ev);
	bufferevent_free(l->bev);
	OPENSSL_cleanse(l->nonce, sizeof(l->nonce));
	free(l);
}

void
link_send(struct link *l, const uint8_t *frame, size_t len)
{
	if (l->state == LINK_DEAD || l->gone)
		return;
	if (bufferevent_write(l->bev, frame, len) == -1)
		fatalx("bufferevent_write");
	if (l->flush_on != 1 && !l->writing) {
		link_unflush(l);
		TAILQ_INSERT_TAIL(&br.flush, l, flush_entry);
		l->flush_on = 1;
	}
}

/*
 * One write per worker per pass: what a pass of the event loop queued for
 * a link (its pushes, answers, catch-up) leaves in one writev once the
 * pass is committed, not a write and two epoll changes per frame.  What
 * the socket does not take now, libevent writes when it can (EV_WRITE is
 * on only then); its write callback then takes over (link_write_cb).
 */
static void
link_flush_all(void)
{
	struct link	*l;
	struct evbuffer	*out;

	while ((l = TAILQ_FIRST(&br.flush)) != NULL) {
		link_unflush(l);
		out = bufferevent_get_output(l->bev);
		/*
		 * A socket bufferevent keeps its output's start frozen and
		 * thaws it only around its own writes, as here.
		 */
		if (evbuffer_get_length(out) > 0) {
			if (evbuffer_unfreeze(out, 1) == -1)
				fatalx("evbuffer_unfreeze");
			(void)evbuffer_write(out, bufferevent_getfd(l->bev));
			if (evbuffer_freeze(out, 1) == -1)
				fatalx("evbuffer_freeze");
		}
		/* Left, or an error: libevent's write goes on, or reports it. */
		if (evbuffer_get_length(out) > 0) {
			l->writing = 1;
			if (bufferevent_enable(l->bev, EV_WRITE) == -1)
				fatalx("bufferevent_enable");
		} else if (l->stalled || chat_wants_pump(l)) {
			/* What link_write_cb would do, in the next pass. */
			TAILQ_INSERT_TAIL(&br.drained, l, flush_entry);
			l->flush_on = 2;
			event_active(br.drain_ev, EV_WRITE, 0);
		}
	}
}

/*
 * Whether this turn's end writes the links' output: yes if the turn took
 * every link that was ready; if it stopped at TURN_MAX_READS, only once
 * the turns since the last write have read PASS_MAX_READS links or taken
 * PASS_MAX_MS.  The commit is every turn's all the same.
 */
static int
flush_due(void)
{
	uint64_t	 now;

	if (br.turn_reads < TURN_MAX_READS) {
		br.pass_reads = 0;
		return 1;
	}
	now = now_ms();
	if (br.pass_reads == 0)
		br.pass_start_ms = now;
	br.pass_reads += br.turn_reads;
	if (br.pass_reads < PASS_MAX_READS &&
	    now - br.pass_start_ms < PASS_MAX_MS)
		return 0;
	br.pass_reads = 0;
	return 1;
}

void
link_send_buf(struct link *l, struct frame_buf *b)
{
	/* A row stored under a larger limits.max_frame_bytes cannot go. */
	if (frame_finish(b) == -1)
		log_warnx("dropping a frame for %s: larger than "
		    "limits.max_frame_bytes", l->addr);
	else
		link_send(l, b->data, b->len);
	frame_buf_free(b);
}

/* An ERROR, with what it is about: a SEND, a room, a recipient. */
static void
error_frame(struct frame_buf *b, uint16_t code, const char *text,
    uint64_t client_msg_id, const char *room, const char *to,
    uint32_t retry_ms)
{
	frame_begin(b, MSG_ERROR, br.max_frame);
	frame_put_u16(b, F_CODE, code);
	frame_put_str(b, F_TEXT, text);
	if (retry_ms != 0)
		frame_put_u32(b, F_RETRY_AFTER_MS, retry_ms);
	if (client_msg_id != 0)
		frame_put_u64(b, F_CLIENT_MSG_ID, client_msg_id);
	if (room != NULL)
		frame_put_str(b, F_ROOM, room);
	if (to != NULL)
		frame_put_str(b, F_TO, to);
}

void
link_error_about(struct link *l, uint16_t code, const char *text,
    uint64_t client_msg_id, const char *room)
{
	struct frame_buf	 b;

	error_frame(&b, code, text, client_msg_id, room, NULL, 0);
	link_send_buf(l, &b);
	/* The worker closes its client after a fatal error; we stop listening. */
	if (proto_err_is_fatal(code))
		l->state = LINK_DEAD;
}

void
link_error(struct link *l, uint16_t code, const char *text)
{
	link_error_about(l, code, text, 0, NULL);
}

/*
 * A refusal the client can act on (not fatal): what it is about, and for
 * RATE_LIMITED when to try again.  In order with this turn's ACKs.
 */
void
link_refuse(struct link *l, uint16_t code, const char *text,
    uint64_t client_msg_id, const char *room, const char *to,
    uint32_t retry_ms)
{
	struct frame_buf	 b;

	error_frame(&b, code, text, client_msg_id, room, to, retry_ms);
	link_reply(l, &b);
}

/*
 * Group commit.  The first write of an event-loop turn opens a transaction
 * (tx_begin, broker-tx.c); the main loop commits it when the turn ends.
 * Nothing that depends on a write leaves the broker before the commit:
 * acknowledgements and pushes wait in br.after.
 */
static uint8_t *
frame_copy(struct frame_buf *b, size_t *len)
{
	uint8_t	*p;

	if (frame_finish(b) == -1)
		fatalx("cannot build frame");
	p = xmalloc(b->len);
	memcpy(p, b->data, b->len);
	*len = b->len;
	frame_buf_free(b);
	return p;
}

static struct after *
after_new(enum after_kind kind, struct frame_buf *b)
{
	struct after	*a;

	a = xcalloc(1, sizeof(*a));
	a->kind = kind;
	if (b != NULL)
		a->frame = frame_copy(b, &a->len);
	TAILQ_INSERT_TAIL(&br.after, a, entry);
	return a;
}

/* Instead of a's frame, should what it depends on be undone. */
void
after_set_fail(struct after *a, struct frame_buf *fail)
{
	a->fail = frame_copy(fail, &a->fail_len);
}

/*
 * A frame for l that waits for the commit.  Counted against the link now
 * (link->pending): back-pressure sees it before the commit.
 */
static struct after *
after_link(struct link *l, struct frame_buf *b)
{
	struct after	*a;

	a = after_new(AFTER_FRAME, b);
	a->session_id = l->session_id;
	l->pending += a->len;
	return a;
}

/* The link a frame waits for no longer counts it: sent, or not to be. */
static void
after_unpend(const struct after *a)
{
	struct link	*l;

	if (a->kind == AFTER_FRAME &&
	    (l = link_by_session(a->session_id)) != NULL)
		l->pending -= a->len;
}

/* A frame that waits for the commit, but depends on no write. */
void
after_frame(struct link *l, struct frame_buf *b)
{
	after_link(l, b)->keep = 1;
}

/* A frame that says a write is on disk; fail (or nothing) if it is not. */
struct after *
after_frame_or(struct link *l, struct frame_buf *b, struct frame_buf *fail)
{
	struct after	*a;

	a = after_link(l, b);
	if (fail != NULL)
		after_set_fail(a, fail);
	return a;
}

/* What a frame said was undone: its fail frame goes instead, for good. */
void
after_use_fail(struct after *a)
{
	struct link	*l;

	after_unpend(a);
	free(a->frame);
	a->frame = a->fail;
	a->len = a->fail_len;
	a->fail = NULL;
	a->keep = 1;
	if (a->kind == AFTER_FRAME &&
	    (l = link_by_session(a->session_id)) != NULL)
		l->pending += a->len;
}

/* Out of the queue, unsent: what it depends on was undone or is gone. */
void
after_drop(struct after *a)
{
	if (br.req_after == a)
		br.req_after = TAILQ_PREV(a, afterlist, entry);
	after_unpend(a);
	TAILQ_REMOVE(&br.after, a, entry);
	free(a->frame);
	free(a->fail);
	free(a);
}

/* A reply that must not overtake this turn's acknowledgements. */
void
link_reply(struct link *l, struct frame_buf *b)
{
	if (store_in_transaction(br.store))
		after_frame(l, b);
	else
		link_send_buf(l, b);
}

/*
 * A reply made of what the store holds.  In a turn that has written, it
 * may show those writes: it goes only once they are committed, and if
 * they are undone the client is told to ask again instead (an ERROR
 * STORAGE in the reply's place, naming its room if it has one).
 */
void
link_reply_read(struct link *l, struct frame_buf *b, const char *room)
{
	struct frame_buf	 fail;

	if (!store_in_transaction(br.store)) {
		link_send_buf(l, b);
		return;
	}
	storage_error_frame(&fail, 0, room);
	(void)after_frame_or(l, b, &fail);
}

struct after *
after_fanout(enum after_kind kind, int64_t target, uint64_t seq,
    struct frame_buf *b)
{
	struct after	*a;

	a = after_new(kind, b);
	a->target = target;
	a->seq = seq;
	return a;
}

void
after_pump(struct link *l)
{
	struct after	*a;

	/* A link undone meanwhile is no longer LINK_AUTHED: see commit(). */
	a = after_new(AFTER_PUMP, NULL);
	a->session_id = l->session_id;
	a->keep = 1;
}

static void
commit(void)
{
	struct after	*a;
	struct link	*l;

	/*
	 * A failed commit acknowledged nothing: tx_end turns the turn's
	 * acknowledgements into ERROR STORAGE, and clients send again.
	 */
	tx_end();
	while ((a = TAILQ_FIRST(&br.after)) != NULL) {
		TAILQ_REMOVE(&br.after, a, entry);
		switch (a->kind) {
		case AFTER_FRAME:
			after_unpend(a);
			if ((l = link_by_session(a->session_id)) != NULL)
				link_send(l, a->frame, a->len);
			break;
		case AFTER_PUMP:
			if ((l = link_by_session(a->session_id)) != NULL &&
			    l->state == LINK_AUTHED)
				chat_start(l);
			break;
		case AFTER_ROOM:
		case AFTER_INBOX:
			chat_fanout(a);
			break;
		case AFTER_CTL:
			ctl_reply_after(a->session_id, a->frame, a->len);
			break;
		}
		free(a->frame);
		free(a->fail);
		free(a);
	}
}

static void
link_frame(struct link *l, const struct frame *f)
{
	if (l->state == LINK_DEAD || l->state == LINK_PENALTY)
		return;
	switch (f->type) {
	case IMSG_SESSION:
		if (l->state != LINK_NEW)
			goto violation;
		auth_session(l, f);
		return;
	case MSG_LOGIN:
		/* One LOGIN per link: UNKNOWN_USER is no oracle for many names. */
		if (l->state != LINK_CHALLENGED || l->probed)
			goto violation;
		auth_login(l, f);
		return;
	case MSG_REGISTER:
		if (l->state != LINK_CHALLENGED)
			goto violation;
		auth_register(l, f);
		return;
	case IMSG_KEY_UPDATE:
		/* The worker's own note, in any phase: a counter. */
		br.key_updates++;
		return;
	default:
		/* Nothing but the account messages before the broker says so. */
		if (l->state != LINK_AUTHED)
			goto violation;
		chat_frame(l, f);
		return;
	}
violation:
	log_security("worker %ld (%s) sent %s in the wrong phase",
	    (long)l->pid, l->addr, proto_msg_name(f->type));
	link_error(l, ERR_NOT_ALLOWED, "message not allowed now");
}

/*
 * Back-pressure: while what the link's worker has not read, and what waits
 * for the commit, pass LINK_HIGH, its requests stay unread.  The bufferevent
 * stops reading the socket once max_frame bytes wait, so the worker, and
 * in turn its client, are held at the source.
 */
static int
link_full(const struct link *l)
{
	/* Its answers go nowhere: nothing to hold its requests back for. */
	if (l->gone)
		return 0;
	return link_queued(l) + l->pending >= LINK_HIGH;
}

static int	 link_read(struct link *);

/*
 * Stop reading the link until link_resume(): what it sent waits in its
 * socket, and its worker, then its client, stop at the source.
 */
static int
link_hold(struct link *l)
{
	if (bufferevent_disable(l->bev, EV_READ) == -1)
		fatalx("bufferevent_disable");
	return 0;
}

static int
link_resume(struct link *l)
{
	if (bufferevent_enable(l->bev, EV_READ) == -1)
		fatalx("bufferevent_enable");
	return link_read(l);
}

/*
 * Workers are untrusted: a bad frame ends that link, never the broker.
 * Returns -1 if it did, and the link is gone.
 */
static int
link_read(struct link *l)
{
	struct evbuffer	*in = bufferevent_get_input(l->bev);
	struct frame	 f;
	uint8_t		*p;
	size_t		 flen;
	uint32_t	 wait;
	int		 rv;

	for (;;) {
		if (l->pause_ev != NULL && evtimer_pending(l->pause_ev, NULL))
			return link_hold(l);
		if (link_full(l)) {
			l->stalled = 1;
			return link_hold(l);
		}
		rv = frame_evbuffer_next(in, br.max_frame, proto_worker_spec, &f,
		    &p, &flen);
		if (rv == FRAME_NEED_MORE)
			return 0;
		if (rv != FRAME_OK) {
			log_security("worker %ld (%s): malformed frame: %s",
			    (long)l->pid, l->addr, frame_strerror(rv));
			link_free(l, "malformed frame");
			return -1;
		}
		/* Every request kind but SEND, which has its own, is paced. */
		if (l->state == LINK_AUTHED &&
		    (wait = rate_request(l, f.type)) != 0) {
			rate_refused(l, "requests", wait);
			link_pause(l, wait);
			return link_hold(l);
		}
		/* One request: its writes stand or fall together. */
		req_begin(l);
		link_frame(l, &f);
		req_end();
		if (evbuffer_drain(in, flen) == -1)
			fatalx("evbuffer_drain");
	}
}

static void
link_read_cb(struct bufferevent *bev, void *arg)
{
	/* The links still ready stay active for the next turn. */
	if (++br.turn_reads >= TURN_MAX_READS)
		event_base_loopbreak(br.base);
	(void)link_read(arg);
}

static void
pause_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)link_resume(arg);
}

/* Leave the link's frames unread for ms: they wait in order, none lost. */
void
link_pause(struct link *l, uint32_t ms)
{
	struct timeval	 tv;

	if (l->pause_ev == NULL &&
	    (l->pause_ev = evtimer_new(br.base, pause_cb, l)) == NULL)
		fatalx("evtimer_new");
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(l->pause_ev, &tv) == -1)
		fatalx("evtimer_add");
}

/*
 * The link's output fell below LINK_LOW: read the requests held back,
 * then feed it what it has missed.
 */
static void
link_drained(struct link *l)
{
	if (l->stalled) {
		l->stalled = 0;
		if (link_resume(l) == -1)
			return;
	}
	if (l->state == LINK_AUTHED && l->delivering)
		chat_pump(l);
}

static void
link_write_cb(struct bufferevent *bev, void *arg)
{
	struct link	*l = arg;

	/* All written: the next pass's output goes out by link_flush_all. */
	if (link_queued(l) == 0) {
		l->writing = 0;
		if (bufferevent_disable(l->bev, EV_WRITE) == -1)
			fatalx("bufferevent_disable");
	}
	link_drained(l);
}

static void
drain_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct link	*l;

	while ((l = TAILQ_FIRST(&br.drained)) != NULL) {
		link_unflush(l);
		link_drained(l);
	}
}

/*
 * The worker closed, or its socket failed (a write to a worker that has
 * exited fails first, while its last requests may still wait unread).
 * What it wrote before it went is still its client's: every whole frame
 * left is read and handled, answering nobody, up to LAST_WORDS_MAX bytes.
 * A request that would wait for the request rate ends it, unanswered with
 * the rest; the client resends what was not answered.  Returns -1 if a bad
 * frame freed the link.
 */
static int
link_last_words(struct link *l)
{
	struct evbuffer	*in = bufferevent_get_input(l->bev);
	size_t		 taken = 0;
	int		 n;

	l->gone = 1;
	if (bufferevent_disable(l->bev, EV_READ | EV_WRITE) == -1)
		fatalx("bufferevent_disable");
	for (;;) {
		if (link_read(l) == -1)
			return -1;
		if ((l->pause_ev != NULL && evtimer_pending(l->pause_ev,
		    NULL)) || taken >= LAST_WORDS_MAX)
			return 0;
		/* The input's end is frozen but around libevent's own reads. */
		if (evbuffer_unfreeze(in, 0) == -1)
			fatalx("evbuffer_unfreeze");
		n = evbuffer_read(in, bufferevent_getfd(l->bev), br.max_frame);
		if (evbuffer_freeze(in, 0) == -1)
			fatalx("evbuffer_freeze");
		if (n <= 0)
			return 0;
		taken += (size_t)n;
	}
}

static void
link_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct link	*l = arg;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (l->state != LINK_DEAD && link_last_words(l) == -1)
		return;
	link_free(l, (what & BEV_EVENT_EOF) ? "closed" : "error");
}

static void
attach(const struct frame *f, int fd)
{
	struct link	*l;
	uint32_t	 pid;

	if (fd == -1)
		fatalx("ATTACH without a descriptor");
	l = xcalloc(1, sizeof(*l));
	if (frame_get_u32(f, F_PID, &pid) == -1 ||
	    frame_get_u64(f, F_SESSION_ID, &l->session_id) == -1 ||
	    frame_get_str(f, F_ADDR, l->addr, sizeof(l->addr)) == -1)
		fatalx("malformed ATTACH from the master");
	l->pid = (pid_t)pid;
	l->state = LINK_NEW;
	htab_init(&l->rooms);
	TAILQ_INIT(&l->behind);
	if (fd_set_nonblock(fd) == -1)
		fatal("nonblock");
	if ((l->bev = bufferevent_socket_new(br.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(l->bev, link_read_cb, link_write_cb, link_event_cb, l);
	bufferevent_setwatermark(l->bev, EV_READ, 0, br.max_frame);
	bufferevent_setwatermark(l->bev, EV_WRITE, LINK_LOW, 0);
	/* Writes: link_flush_all, and libevent for what is left. */
	if (bufferevent_disable(l->bev, EV_WRITE) == -1 ||
	    bufferevent_enable(l->bev, EV_READ) == -1)
		fatalx("bufferevent_enable");
	TAILQ_INSERT_TAIL(&br.links, l, entry);
	htab_insert(&br.links_by_session, &l->node,
	    htab_hash_u64(&br.links_by_session, l->session_id));
	br.nlinks++;
	br.connections++;
	log_debug("worker %ld (%s) attached, %u live", (long)l->pid, l->addr,
	    br.nlinks);
}

static void
settings(const struct frame *f)
{
	uint8_t	 level;

	if (frame_get_str(f, F_USER_NAME, br.user, sizeof(br.user)) == -1 ||
	    frame_get_str(f, F_CHROOT, br.state_dir, sizeof(br.state_dir)) == -1 ||
	    frame_get_str(f, F_REGISTRATION, br.registration,
	    sizeof(br.registration)) == -1 ||
	    frame_get_u8(f, F_LOG_LEVEL, &level) == -1 ||
	    frame_get_u32(f, F_MAX_CLIENTS, &br.max_clients) == -1 ||
	    frame_get_u32(f, F_MAX_FRAME, &br.max_frame) == -1 ||
	    frame_get_u32(f, F_MESSAGE_RATE, &br.message_rate) == -1 ||
	    frame_get_u32(f, F_MESSAGE_BURST, &br.message_burst) == -1 ||
	    frame_get_u32(f, F_RETENTION, &br.retention_days) == -1 ||
	    frame_get_u32(f, F_CTL_UID, &br.ctl_uid) == -1 ||
	    frame_get_u32(f, F_IPV4_PREFIX, &br.ipv4_prefix) == -1 ||
	    frame_get_u32(f, F_IPV6_PREFIX, &br.ipv6_prefix) == -1 ||
	    frame_get_u32(f, F_REQUEST_RATE, &br.request_rate) == -1 ||
	    frame_get_u32(f, F_REQUEST_BURST, &br.request_burst) == -1 ||
	    frame_get_u32(f, F_STORAGE_PER_DAY, &br.storage_mib_per_day) == -1 ||
	    frame_get_u32(f, F_STORAGE_BURST, &br.storage_burst_mib) == -1 ||
	    frame_get_u32(f, F_INBOX_MAX_MESSAGES,
	    &br.inbox_max_messages) == -1 ||
	    frame_get_u32(f, F_INBOX_MAX_MIB, &br.inbox_max_mib) == -1 ||
	    frame_get_u32(f, F_REGISTRATIONS_PER_HOUR,
	    &br.registrations_per_hour) == -1 ||
	    frame_get_u32(f, F_ROOM_CREATES_PER_HOUR,
	    &br.room_creates_per_hour) == -1 ||
	    frame_get_u32(f, F_MAX_ROOMS_PER_USER,
	    &br.max_rooms_per_user) == -1 ||
	    frame_get_u32(f, F_MAX_MEMBERS_PER_ROOM,
	    &br.max_members_per_room) == -1 ||
	    frame_get_u32(f, F_MAX_ROOMS, &br.max_rooms) == -1)
		fatalx("malformed settings from the master");
	/* Zero rates would divide by zero; the master never sends them. */
	if (br.message_rate == 0 || br.request_rate == 0 ||
	    br.storage_mib_per_day == 0 || br.registrations_per_hour == 0 ||
	    br.room_creates_per_hour == 0)
		fatalx("a zero rate in the settings from the master");
	log_setlevel(level);
}

/* The master's liveness check: answer with the same number. */
static void
pong(const struct frame *f)
{
	if (ipc_pong(BROKER_FD_MASTER, f, IMSG_BROKER_PONG) == -1) {
		if (errno == EINVAL)
			fatalx("PING without a seq from the master");
		log_warn("answer the master's ping");
	}
}

/* The master is trusted: anything unexpected from it is a bug. */
static void
master_cb(evutil_socket_t fd, short ev, void *arg)
{
	uint8_t		 buf[MASTER_MSG_MAX];
	struct frame	 f;
	ssize_t		 n;
	int		 passed;

	n = ipc_recv(fd, buf, sizeof(buf), &f, &passed);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0) {
		log_info("master gone: exiting");
		event_base_loopexit(br.base, NULL);
		return;
	}
	if (n == -1 && errno == EBADMSG) {
		/* Out of descriptors: that worker goes without us, we live on. */
		log_warnx("dropped a message from the master (descriptor table "
		    "full?)");
		return;
	}
	if (n == -1)
		fatal("master channel");
	switch (f.type) {
	case IMSG_ATTACH:
		attach(&f, passed);
		break;
	case IMSG_BROKER_INIT:
		if (passed != -1)
			fatalx("settings with a descriptor");
		settings(&f);
		log_info("settings updated");
		break;
	case IMSG_BROKER_PING:
		if (passed != -1)
			fatalx("ping with a descriptor");
		pong(&f);
		break;
	case IMSG_RELOAD_DONE:
		if (passed != -1)
			fatalx("reload answer with a descriptor");
		admin_reload_done(&f);
		break;
	default:
		fatalx("unexpected message 0x%04x from the master", f.type);
	}
}

static void
prune_cb(evutil_socket_t fd, short ev, void *arg)
{
	req_begin(NULL);
	chat_prune();
	req_end();
}

static void
sigterm_cb(evutil_socket_t sig, short ev, void *arg)
{
	log_info("stopping on signal %d", (int)sig);
	event_base_loopexit(br.base, NULL);
}

/* One message with no field or only a text, to the master. */
static void
tell_master(uint16_t type, const char *text)
{
	struct frame_buf	 b;

	frame_begin(&b, type, MASTER_MSG_MAX);
	if (text != NULL)
		frame_put_str(&b, F_TEXT, text);
	if (frame_finish(&b) == -1 || ipc_send(BROKER_FD_MASTER, &b, -1) == -1)
		log_warn("message to the master");
	frame_buf_free(&b);
}

/*
 * We cannot start: say why to the master, which stops after a few such
 * starts in a row rather than respawn us for ever, then exit.
 */
static void __attribute__((noreturn, format(printf, 1, 2)))
startup_fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 text[512];

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	tell_master(IMSG_BROKER_FAILED, text);
	fatalx("%s", text);
}

static void
read_settings(void)
{
	uint8_t		 buf[MASTER_MSG_MAX];
	struct frame	 f;
	int		 fd;

	if (ipc_recv(BROKER_FD_MASTER, buf, sizeof(buf), &f, &fd) <= 0 ||
	    f.type != IMSG_BROKER_INIT || fd != -1)
		fatalx("broker: no settings from the master");
	settings(&f);
}

static void
open_database(void)
{
	char	 err[512];
	int	 rv;

	rv = privdrop(br.user, br.state_dir, err, sizeof(err));
	if (rv == PRIVDROP_FAILED)
		startup_fatal("broker: %s", err);
	if (rv == PRIVDROP_NOT_ROOT) {
		log_warnx("WARNING: broker runs as uid %ld without chroot: the "
		    "daemon was not started as root", (long)getuid());
		if (chdir(br.state_dir) == -1)
			startup_fatal("chdir %s: %s", br.state_dir,
			    strerror(errno));
	}
	/* Relative to the state directory, inside the chroot or not. */
	if ((br.store = store_open(DB_NAME, err, sizeof(err))) == NULL)
		startup_fatal("database %s/%s: %s", br.state_dir, DB_NAME, err);
	log_info("database %s/%s, schema version %d", br.state_dir, DB_NAME,
	    store_schema_version(br.store));
}

/* One descriptor per worker and some; never above what we may have. */
static int
broker_max_fds(void)
{
	struct rlimit	 rl;
	rlim_t		 want = (rlim_t)br.max_clients + BROKER_FD_HEADROOM;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
		log_warnx("limits.max_clients %u needs %llu descriptors, the "
		    "hard limit is %llu: using it", br.max_clients,
		    (unsigned long long)want, (unsigned long long)rl.rlim_max);
		want = rl.rlim_max;
	}
	return (int)want;
}

/* Empty lists, the clock started (tests/fuzz/fuzz_broker.c starts here too). */
static void
state_init(void)
{
	TAILQ_INIT(&br.links);
	TAILQ_INIT(&br.flush);
	TAILQ_INIT(&br.drained);
	htab_init(&br.links_by_session);
	TAILQ_INIT(&br.users);
	TAILQ_INIT(&br.after);
	TAILQ_INIT(&br.undo);
	br.started_ms = now_ms();
}

/*
 * Every turn fills the links' output buffers and empties them again.  With
 * glibc's defaults the free heap top went back to the kernel at the end
 * of most turns and was faulted in, zeroed, at the next: under a flood,
 * some 3,000 brk calls and 90,000 page faults in 5 s (docs/PERFORMANCE.md).
 * The broker is one process: it keeps what it freed.
 */
static void
heap_settings(void)
{
	/* Only speed depends on it; a sanitizer's allocator refuses it. */
	if (mallopt(M_MMAP_THRESHOLD, BROKER_MMAP_THRESHOLD) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, BROKER_TRIM_THRESHOLD) != 1 ||
	    mallopt(M_TOP_PAD, BROKER_TOP_PAD) != 1)
		log_debug("broker: mallopt refused; the heap keeps its "
		    "defaults");
}

int
broker_main(int foreground)
{
	struct link	*l;
	struct timeval	 tv = { PRUNE_INTERVAL_S, 0 };
	char		 err[512];

	log_procname("broker");
	log_child();
	/* Until it serves, a failure is a failed start for the master. */
	log_fatal_status(EXIT_STARTUP);
	if (fcntl(BROKER_FD_MASTER, F_GETFD) == -1 ||
	    fcntl(BROKER_FD_CONTROL, F_GETFD) == -1)
		fatalx("broker: started without its descriptors");
	closefrom(BROKER_FD_CONTROL + 1);
	/* Without -d, stderr is the master's log relay (master-log.c). */
	if (foreground)
		log_init(1, LOG_LEVEL_INFO);
	else
		log_init_relay(LOG_LEVEL_INFO);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	heap_settings();
	read_settings();
	state_init();
	open_database();
	if (chat_init() == -1)
		startup_fatal("database %s/%s: cannot count its rooms",
		    br.state_dir, DB_NAME);
	rate_init();
	roster_init();

	/* Two priorities: the master's channel (0) before everything (1). */
	if ((br.base = event_base_new()) == NULL ||
	    event_base_priority_init(br.base, 2) == -1 ||
	    (br.prune_ev = event_new(br.base, -1, EV_PERSIST, prune_cb,
	    NULL)) == NULL || event_add(br.prune_ev, &tv) == -1 ||
	    (master_ev = event_new(br.base, BROKER_FD_MASTER,
	    EV_READ | EV_PERSIST, master_cb, NULL)) == NULL ||
	    event_priority_set(master_ev, 0) == -1 ||
	    event_add(master_ev, NULL) == -1 ||
	    (sigterm_ev = evsignal_new(br.base, SIGTERM, sigterm_cb,
	    NULL)) == NULL || event_add(sigterm_ev, NULL) == -1 ||
	    (br.drain_ev = event_new(br.base, -1, 0, drain_cb, NULL)) == NULL)
		fatalx("broker: event setup");
	if (fd_set_nonblock(BROKER_FD_MASTER) == -1)
		fatal("nonblock");
	ctl_init();
	logsum_init(br.base);

	if (sandbox_limits(SANDBOX_BROKER, broker_max_fds(), err,
	    sizeof(err)) == -1 ||
	    sandbox_seccomp(SANDBOX_BROKER, err, sizeof(err)) == -1)
		startup_fatal("broker: %s", err);
	tell_master(IMSG_BROKER_READY, NULL);
	log_fatal_status(1);

	/*
	 * One turn: wait for events, handle those ready (at most
	 * TURN_MAX_READS links), then commit what they wrote and only then
	 * answer and push, one write per link (flush_due).  (A commit event
	 * of low priority would starve under load in libevent 2.1.)  Output
	 * held back must not wait for an event: then the turn only polls.
	 */
	while (!event_base_got_exit(br.base)) {
		br.turn_reads = 0;
		if (event_base_loop(br.base, EVLOOP_ONCE |
		    (br.pass_reads > 0 ? EVLOOP_NONBLOCK : 0)) == -1)
			fatalx("broker: event loop failed");
		commit();
		/* Leaving: what is held back goes before the links are freed. */
		if (flush_due() || event_base_got_exit(br.base))
			link_flush_all();
	}
	while ((l = TAILQ_FIRST(&br.links)) != NULL)
		link_free(l, "broker stopping");
	chat_free();
	rate_free();
	htab_free(&br.links_by_session);
	roster_free();
	ctl_free();
	logsum_free();
	event_free(master_ev);
	event_free(sigterm_ev);
	event_free(br.drain_ev);
	event_free(br.prune_ev);
	event_base_free(br.base);
	store_close(br.store);
	return 0;
}
