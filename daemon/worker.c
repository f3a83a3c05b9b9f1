/*
 * worker.c: one process per client, forked by the template (template.c)
 * with the settings and TLS context the template took from the master.  It
 * finishes its sandbox, and only then reads the network: TLS 1.3, frames,
 * deadlines and key updates.  Anything impossible ends this worker.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "frame.h"
#include "ipc.h"
#include "keysign.h"
#include "log.h"
#include "sandbox.h"
#include "securechatd.h"
#include "tls.h"
#include "util.h"
#include "xmalloc.h"

#define WORKER_MAX_FDS		16
#define CLOSE_GRACE_MS		2000	/* bound on flushing a last frame */
#define PING_TOKEN_LEN		8
/* Relay bounds: past HIGH queued bytes one side stops reading the other. */
#define RELAY_HIGH		(256 * 1024)
#define RELAY_LOW		(64 * 1024)
/* Client KeyUpdates: this many at once, then one a second, or we close. */
#define KEYUPDATE_BURST		16
#define KEYUPDATE_EVERY_MS	1000
/* Our timed KeyUpdate, refused while a write waits: tried again after. */
#define REKEY_RETRY_S		1
/*
 * The largest TLS record's plaintext: what one wake took from the broker
 * goes to the client in pieces of this size, one record and one write
 * each.  A write event may send a few of them.
 */
#define TLS_RECORD_MAX		16384
#define CLIENT_WRITE_MAX	(4 * TLS_RECORD_MAX)
/*
 * libevent 2.1 reads at most this much per wake (EVBUFFER_MAX_READ in its
 * buffer.c); broker_read_rest takes up to BROKER_READ_MAX more at once.
 */
#define LIBEVENT_READ_MAX	4096
#define BROKER_READ_MAX		(64 * 1024)
/* This long after the last large read, free heap pages go back. */
#define TRIM_AFTER_S		1

static struct {
	struct event_base	*base;
	SSL_CTX			*ctx;
	SSL			*ssl;
	struct bufferevent	*client;
	struct bufferevent	*broker;
	struct evbuffer		*cork;		/* broker frames of this wake */
	struct evbuffer		*bcork;		/* client frames of this wake */
	struct event		*handshake_ev;
	struct event		*login_ev;
	struct event		*rekey_ev;
	struct event		*idle_ev;
	struct event		*close_ev;
	struct event		*gone_ev;	/* the client hung up */
	struct event		*sigterm_ev;
	struct event		*keyupdate_ev;
	struct event		*trim_ev;	/* after a large read */

	char			 addr[64];
	char			 user[64];
	char			 chroot[PATH_MAX];
	uint64_t		 session_id;
	uint32_t		 handshake_timeout;
	uint32_t		 idle_timeout;
	uint32_t		 login_timeout;
	uint32_t		 rekey_min;
	uint32_t		 rekey_max;
	uint32_t		 max_frame;

	int			 handshake_done;
	int			 hello_done;
	int			 welcome_sent;
	int			 have_nonce;
	int			 logged_in;
	uint8_t			 nonce[NONCE_LEN];
	uint8_t			 epoch[EPOCH_LEN];
	int			 closing;
	int			 client_gone;	/* EOF or error: reads no more */
	int			 ending;	/* the broker's output, then exit */
	int			 ping_outstanding;
	uint64_t		 last_rx_ms;
	unsigned int		 key_updates;
	unsigned int		 peer_updates;	/* the client's, leaky bucket */
	uint64_t		 peer_updates_ms;
} w;

static void	 client_gone(void);
static void	 broker_flush(void);
static size_t	 broker_owed(void);
static void	 written_cb(struct bufferevent *, void *);
static void	 broker_event_cb(struct bufferevent *, short, void *);
static void	 set_reading(struct bufferevent *, int);

static void __attribute__((noreturn))
worker_exit(int code)
{
	/*
	 * SSL_free wipes the session keys.  bufferevent_free would only
	 * schedule it for a loop pass that never comes, so free it directly.
	 */
	if (w.ssl != NULL)
		SSL_free(w.ssl);
	_exit(code);
}

static void
ssl_errors(char *buf, size_t bufsz)
{
	unsigned long	 e;
	size_t		 off = 0;

	buf[0] = '\0';
	while (w.client != NULL &&
	    (e = bufferevent_get_openssl_error(w.client)) != 0 &&
	    off < bufsz - 1) {
		ERR_error_string_n(e, buf + off, bufsz - off);
		off = strlen(buf);
		if (off < bufsz - 2) {
			buf[off++] = ' ';
			buf[off] = '\0';
		}
	}
	while ((e = ERR_get_error()) != 0 && off < bufsz - 1) {
		ERR_error_string_n(e, buf + off, bufsz - off);
		off = strlen(buf);
	}
	if (buf[0] == '\0')
		(void)str_copy(buf, errno ? strerror(errno) : "no detail", bufsz);
}

/*
 * A piece goes straight to the socket when nothing waits before it.
 * libevent 2.1's TLS bufferevent would only ask for EV_WRITE here and
 * write on the next turn of the loop: two epoll_ctl and one epoll_wait
 * more for every wake that carries one frame.  When the socket does not
 * take it all, OpenSSL keeps what it began, and the same bytes go first
 * into the bufferevent's output, where libevent's own SSL_write retries
 * them: libevent sets SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, and the retry
 * is at least as long.  1 if the piece went, 0 if the output takes it.
 */
static int
client_write_now(const uint8_t *p, size_t n)
{
	char	 err[512];
	SSL	*ssl;
	int	 r, e;

	/* Nobody reads it: what the client sent still goes to the broker. */
	if (w.client_gone)
		return 1;
	/* As libevent's own writer: not while a read waits to write. */
	if (!w.handshake_done || w.client == NULL || n > INT_MAX ||
	    (ssl = bufferevent_openssl_get_ssl(w.client)) == NULL ||
	    SSL_want_write(ssl) ||
	    evbuffer_get_length(bufferevent_get_output(w.client)) != 0)
		return 0;
	ERR_clear_error();
	if ((r = SSL_write(ssl, p, (int)n)) > 0) {
		/* No SSL_MODE_ENABLE_PARTIAL_WRITE: all or nothing. */
		if ((size_t)r != n)
			fatalx("SSL_write wrote %d of %zu bytes", r, n);
		return 1;
	}
	e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
		return 0;
	ssl_errors(err, sizeof(err));
	log_info("client %s: connection error: %s", w.addr, err);
	client_gone();
	return 1;
}

/*
 * What the cork holds goes to the client's output in record-sized pieces,
 * each contiguous (libevent writes one TLS record per contiguous piece,
 * so frames added one by one would go out in as many records as their
 * buffer has segments).
 */
static void
client_flush(void)
{
	struct evbuffer	*out;
	uint8_t		*p;
	size_t		 n;

	if (w.cork == NULL || w.client == NULL)
		return;
	out = bufferevent_get_output(w.client);
	while ((n = evbuffer_get_length(w.cork)) > 0) {
		if (n > TLS_RECORD_MAX)
			n = TLS_RECORD_MAX;
		if ((p = evbuffer_pullup(w.cork, (ssize_t)n)) == NULL)
			fatalx("client_flush");
		if (!client_write_now(p, n) &&
		    (evbuffer_expand(out, n) == -1 ||
		    bufferevent_write(w.client, p, n) == -1))
			fatalx("client_flush");
		if (evbuffer_drain(w.cork, n) == -1)
			fatalx("client_flush");
	}
}

/* The worker's own frames follow whatever the broker's wait in the cork. */
static void
send_frame(struct frame_buf *b)
{
	if (frame_finish(b) == -1)
		fatalx("cannot build frame type 0x%04x", b->data ?
		    be16_get(b->data + 4) : 0);
	client_flush();
	if (!client_write_now(b->data, b->len) &&
	    bufferevent_write(w.client, b->data, b->len) == -1)
		fatalx("bufferevent_write");
	frame_buf_free(b);
}

static void
close_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	size_t	 owed = broker_owed();

	if (owed > 0)
		log_warnx("client %s: %zu bytes of its frames not taken by the "
		    "broker in %u ms: dropped", w.addr, owed, CLOSE_GRACE_MS);
	worker_exit(EXIT_SESSION_DONE);
}

/*
 * CLOSE_GRACE_MS bounds each of the last flushes: to the client, then to
 * the broker (each call starts it afresh).
 */
static void
close_timer_arm(void)
{
	struct timeval	 tv = { CLOSE_GRACE_MS / 1000, 0 };

	if ((w.close_ev == NULL && (w.close_ev = evtimer_new(w.base,
	    close_timeout_cb, NULL)) == NULL) ||
	    evtimer_add(w.close_ev, &tv) == -1)
		worker_exit(EXIT_SESSION_DONE);
}

/* Bytes of the client's frames that the broker has not taken yet. */
static size_t
broker_owed(void)
{
	if (w.broker == NULL)
		return 0;
	return evbuffer_get_length(w.bcork) +
	    evbuffer_get_length(bufferevent_get_output(w.broker));
}

/* Closing: what the broker still sends goes nowhere. */
static void
broker_discard_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);

	if (evbuffer_drain(in, evbuffer_get_length(in)) == -1)
		fatalx("evbuffer_drain");
}

/*
 * Closing with frames the broker has not taken: its frames are read and
 * dropped, since a broker whose output to us is full reads nothing from
 * us until it drains.  Owing it nothing, we stop reading: it would only
 * feed a link that drains.
 */
static void
broker_closing(void)
{
	if (w.broker == NULL)
		return;
	if (!broker_owed()) {
		set_reading(w.broker, 0);
		return;
	}
	bufferevent_setcb(w.broker, broker_discard_cb, written_cb,
	    broker_event_cb, NULL);
	broker_discard_cb(w.broker, NULL);
	set_reading(w.broker, 1);
}

/*
 * The end: what the client sent before it reaches the broker first (an
 * exit would drop what the socket has not taken), then exit.
 */
static void
finish_close(void)
{
	if (w.ending)
		return;
	/* Best effort close_notify; the socket closes with the process. */
	if (w.ssl != NULL && w.handshake_done && !w.client_gone)
		(void)SSL_shutdown(w.ssl);
	w.ending = 1;
	broker_flush();
	if (!broker_owed())
		worker_exit(EXIT_SESSION_DONE);
	/* written_cb ends it once the broker has taken the rest. */
	bufferevent_setwatermark(w.broker, EV_WRITE, 0, 0);
	broker_closing();
	close_timer_arm();
}

static void
client_drained_cb(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		finish_close();
}

static void
set_reading(struct bufferevent *bev, int on)
{
	int	 enabled = (bufferevent_get_enabled(bev) & EV_READ) != 0;

	if (on && !enabled && bufferevent_enable(bev, EV_READ) == -1)
		fatalx("bufferevent_enable");
	if (!on && enabled && bufferevent_disable(bev, EV_READ) == -1)
		fatalx("bufferevent_disable");
}

/*
 * Stop reading the client, and the broker but for what it sends while we
 * still owe it (broker_closing), let what is queued reach the client,
 * then end.
 */
static void
close_after_flush(void)
{
	if (w.closing)
		return;
	client_flush();
	w.closing = 1;
	broker_closing();
	if (w.client == NULL)
		worker_exit(EXIT_SESSION_DONE);
	bufferevent_disable(w.client, EV_READ);
	if (w.client_gone ||
	    evbuffer_get_length(bufferevent_get_output(w.client)) == 0) {
		finish_close();
		return;
	}
	bufferevent_setcb(w.client, NULL, client_drained_cb, NULL, NULL);
	close_timer_arm();
}

static void
send_error(uint16_t code, const char *text)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_ERROR, w.max_frame);
	frame_put_u16(&b, F_CODE, code);
	frame_put_str(&b, F_TEXT, text);
	if (code == ERR_VERSION) {
		uint8_t	 v[2];

		be16_put(v, PROTO_VERSION);
		frame_put_bytes(&b, F_VERSIONS, v, sizeof(v));
	}
	send_frame(&b);
}

/* A fatal protocol error: say why, close, and log it as a security event. */
static void
reject(uint16_t code, const char *text)
{
	log_security("client %s: %s: %s", w.addr, proto_err_name(code), text);
	send_error(code, text);
	close_after_flush();
}

static void
send_ping(void)
{
	struct frame_buf	 b;
	uint8_t			 token[PING_TOKEN_LEN];

	if (RAND_bytes(token, sizeof(token)) != 1)
		fatalx("RAND_bytes");
	frame_begin(&b, MSG_PING, w.max_frame);
	frame_put_bytes(&b, F_TOKEN, token, sizeof(token));
	send_frame(&b);
}

static void
idle_arm(void)
{
	uint64_t	 due, now = now_ms(), half = w.idle_timeout * 500ULL;
	struct timeval	 tv;

	due = w.last_rx_ms + (w.ping_outstanding ? 2 * half : half);
	due = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(due / 1000);
	tv.tv_usec = (suseconds_t)((due % 1000) * 1000);
	if (evtimer_add(w.idle_ev, &tv) == -1)
		fatalx("evtimer_add idle");
}

/* Half the idle time without a frame: PING; the whole of it: close. */
static void
idle_cb(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t	 quiet = now_ms() - w.last_rx_ms;

	if (w.closing)
		return;
	if (quiet >= w.idle_timeout * 1000ULL) {
		log_info("client %s: idle for %u s: closing", w.addr,
		    w.idle_timeout);
		send_error(ERR_TIMEOUT, "idle timeout");
		close_after_flush();
		return;
	}
	if (!w.ping_outstanding && quiet >= w.idle_timeout * 500ULL) {
		send_ping();
		w.ping_outstanding = 1;
	}
	idle_arm();
}

/*
 * Each KeyUpdate costs us a key derivation, and one that asks for ours
 * back costs a record too: a client may not send them without bound.
 * Called inside OpenSSL, so the verdict waits for the event loop.
 */
static void
peer_msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	const uint8_t	*p = buf;
	uint64_t	 now, drained;

	if (write_p || content_type != SSL3_RT_HANDSHAKE || len < 1 ||
	    p[0] != SSL3_MT_KEY_UPDATE)
		return;
	now = now_ms();
	drained = (now - w.peer_updates_ms) / KEYUPDATE_EVERY_MS;
	if (drained >= w.peer_updates) {
		w.peer_updates = 0;
		w.peer_updates_ms = now;
	} else {
		w.peer_updates -= (unsigned int)drained;
		w.peer_updates_ms += drained * KEYUPDATE_EVERY_MS;
	}
	if (++w.peer_updates > KEYUPDATE_BURST)
		event_active(w.keyupdate_ev, EV_TIMEOUT, 0);
}

static void
keyupdate_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (!w.closing)
		reject(ERR_PROTOCOL, "too many TLS key updates");
}

static void
rekey_arm(void)
{
	struct timeval	 tv = { random_between(w.rekey_min, w.rekey_max), 0 };

	if (evtimer_add(w.rekey_ev, &tv) == -1)
		fatalx("evtimer_add rekey");
}

/*
 * Frames for the broker wait in the worker's own buffer until the end of
 * the callback that made them, then go in one writev when nothing waits
 * before them.  Written through the bufferevent, each first frame would
 * cost an epoll_ctl to enable EV_WRITE, a loop turn to write it and
 * another epoll_ctl to disable it.  What the socket does not take (or an
 * error, which libevent's own write then reports) goes to the
 * bufferevent, and libevent writes it as before.
 */
static void
broker_write(const uint8_t *p, size_t len)
{
	if (evbuffer_add(w.bcork, p, len) == -1)
		fatalx("evbuffer_add to the broker cork");
}

static void
broker_flush(void)
{
	struct evbuffer	*out;

	if (w.broker == NULL || evbuffer_get_length(w.bcork) == 0)
		return;
	out = bufferevent_get_output(w.broker);
	if (evbuffer_get_length(out) == 0)
		(void)evbuffer_write(w.bcork, bufferevent_getfd(w.broker));
	if (evbuffer_get_length(w.bcork) > 0 &&
	    bufferevent_write_buffer(w.broker, w.bcork) == -1)
		fatalx("bufferevent_write_buffer to broker");
}

/*
 * Time-based random rekeying.  SSL_key_update only queues the KeyUpdate;
 * SSL_do_handshake sends it now rather than with the next write.
 */
/* For the operator's counters (securechatctl stats): the broker counts. */
static void
key_update_note(void)
{
	struct frame_buf	 b;

	if (w.broker == NULL)
		return;
	frame_begin(&b, IMSG_KEY_UPDATE, w.max_frame);
	if (frame_finish(&b) == -1)
		fatalx("key update note");
	broker_write(b.data, b.len);
	broker_flush();
	frame_buf_free(&b);
}

static void
rekey_cb(evutil_socket_t fd, short ev, void *arg)
{
	const struct timeval	 retry = { REKEY_RETRY_S, 0 };

	if (w.closing)
		return;
	/*
	 * Refused while a record waits for a slow reader (or while the
	 * client's own KeyUpdate is answered): no more is written under
	 * the old key meanwhile, so try again shortly.
	 */
	if (SSL_key_update(w.ssl, SSL_KEY_UPDATE_REQUESTED) != 1) {
		ERR_clear_error();
		log_debug("client %s: key update waits for a pending write",
		    w.addr);
		if (evtimer_add(w.rekey_ev, &retry) == -1)
			fatalx("evtimer_add rekey");
		return;
	}
	if (SSL_do_handshake(w.ssl) != 1) {
		/* Not an error: the record goes out with the next write. */
		ERR_clear_error();
		log_debug("client %s: key update queued for the next write",
		    w.addr);
	}
	w.key_updates++;
	log_debug("client %s: TLS key update %u", w.addr, w.key_updates);
	key_update_note();
	rekey_arm();
}

/* WELCOME carries the broker's login challenge: it waits for both. */
static void
send_welcome(void)
{
	struct frame_buf	 b;

	if (!w.hello_done || !w.have_nonce || w.welcome_sent)
		return;
	w.welcome_sent = 1;
	frame_begin(&b, MSG_WELCOME, w.max_frame);
	frame_put_u16(&b, F_VERSION, PROTO_VERSION);
	frame_put_str(&b, F_SOFTWARE, SC_VERSION_STRING);
	frame_put_u32(&b, F_MAX_FRAME, w.max_frame);
	frame_put_u32(&b, F_IDLE_TIMEOUT, w.idle_timeout);
	frame_put_bytes(&b, F_NONCE, w.nonce, sizeof(w.nonce));
	/* Clients replace their room chains on the same schedule. */
	frame_put_u32(&b, F_REKEY_MIN, w.rekey_min);
	frame_put_u32(&b, F_REKEY_MAX, w.rekey_max);
	frame_put_bytes(&b, F_EPOCH, w.epoch, sizeof(w.epoch));
	send_frame(&b);
}

static void
handle_hello(const struct frame *f)
{
	uint16_t		 version;
	char			 text[128];

	if (frame_get_u16(f, F_VERSION, &version) == -1) {
		reject(ERR_PROTOCOL, "HELLO without a version");
		return;
	}
	if (version != PROTO_VERSION) {
		snprintf(text, sizeof(text), "protocol version %u is not "
		    "spoken here; this server speaks version %u", version,
		    PROTO_VERSION);
		log_info("client %s: %s", w.addr, text);
		send_error(ERR_VERSION, text);
		close_after_flush();
		return;
	}
	w.hello_done = 1;
	send_welcome();
}

static void
handle_ping(const struct frame *f)
{
	struct frame_buf	 b;
	const uint8_t		*token;
	size_t			 len;

	if (frame_get_bytes(f, F_TOKEN, &token, &len) == -1) {
		reject(ERR_PROTOCOL, "PING without a token");
		return;
	}
	frame_begin(&b, MSG_PONG, w.max_frame);
	frame_put_bytes(&b, F_TOKEN, token, len);
	send_frame(&b);
}

/*
 * Which messages each phase permits, as OpenSSH's monitor does: before
 * WELCOME only HELLO; before login only the account messages; after login
 * everything but those.  The broker checks the same again.
 */
static int
permitted(uint16_t type)
{
	if (!w.welcome_sent)
		return proto_phase_permits(PHASE_GREETING, type) &&
		    !w.hello_done;
	return proto_phase_permits(w.logged_in ? PHASE_CHAT : PHASE_ACCOUNT,
	    type);
}

/*
 * Bounded memory: a side whose output passed RELAY_HIGH stops the reading
 * that feeds it (a client that never reads its PONGs, a slow broker, a slow
 * client), until the write callbacks see it drain below RELAY_LOW.
 */
static void
flow_update(void)
{
	size_t	 cq = evbuffer_get_length(bufferevent_get_output(w.client)) +
		    evbuffer_get_length(w.cork);
	size_t	 bq = evbuffer_get_length(bufferevent_get_output(w.broker)) +
		    evbuffer_get_length(w.bcork);

	if (w.closing)
		return;
	set_reading(w.client, cq <= RELAY_HIGH && bq <= RELAY_HIGH);
	set_reading(w.broker, cq <= RELAY_HIGH);
}

/* One whole, decoded and validated client frame. */
static void
client_frame(const struct frame *f, const uint8_t *raw, size_t rawlen)
{
	char	 text[128];

	w.last_rx_ms = now_ms();
	w.ping_outstanding = 0;

	if (!permitted(f->type)) {
		snprintf(text, sizeof(text), "%s is not allowed %s",
		    proto_msg_name(f->type), !w.hello_done ?
		    "before HELLO" : !w.welcome_sent ? "before WELCOME" :
		    !w.logged_in ? "before login" : "now");
		reject(ERR_NOT_ALLOWED, text);
		return;
	}
	switch (f->type) {
	case MSG_HELLO:
		handle_hello(f);
		break;
	case MSG_PING:
		handle_ping(f);
		break;
	case MSG_PONG:
		break;
	case MSG_SEND:
		if (rawlen + SEND_OVERHEAD > w.max_frame) {
			snprintf(text, sizeof(text), "message body too large "
			    "(a SEND frame may take at most %u bytes)",
			    w.max_frame - SEND_OVERHEAD);
			reject(ERR_TOO_LARGE, text);
			return;
		}
		broker_write(raw, rawlen);
		break;
	default:
		/* Unchanged: the broker decides everything else. */
		broker_write(raw, rawlen);
		break;
	}
}

static void
client_read_frames(struct bufferevent *bev)
{
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct frame	 f;
	uint8_t		*p;
	size_t		 flen;
	int		 rv;
	char		 text[128];

	/* Answer a key update the client requested without waiting to write. */
	if (SSL_get_key_update_type(w.ssl) != SSL_KEY_UPDATE_NONE &&
	    SSL_do_handshake(w.ssl) != 1)
		ERR_clear_error();

	while (!w.closing) {
		rv = frame_evbuffer_next(in, w.max_frame, proto_client_spec, &f,
		    &p, &flen);
		if (rv == FRAME_NEED_MORE)
			return;
		if (rv == FRAME_E_TOO_LARGE) {
			snprintf(text, sizeof(text), "%s (limit %u bytes)",
			    frame_strerror(rv), w.max_frame);
			reject(frame_err_code(rv), text);
			return;
		}
		if (rv != FRAME_OK) {
			/* The header names the type even when decoding failed. */
			snprintf(text, sizeof(text), "%s in %s",
			    frame_strerror(rv), p != NULL ?
			    proto_msg_name(be16_get(p + 4)) : "frame");
			reject(frame_err_code(rv), text);
			return;
		}
		client_frame(&f, p, flen);
		if (evbuffer_drain(in, flen) == -1)
			fatalx("evbuffer_drain");
		flow_update();
		/* A client that hung up sends no more: take all it sent. */
		if (!w.client_gone &&
		    !(bufferevent_get_enabled(w.client) & EV_READ))
			return;
	}
}

/* Every frame of the wake is read, then relayed in one write. */
static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	client_read_frames(bev);
	broker_flush();
}

static void
session_to_broker(void)
{
	struct frame_buf	 b;
	uint8_t			 exporter[EXPORTER_LEN];

	/* RFC 9266 tls-exporter: the login signature binds this channel. */
	if (SSL_export_keying_material(w.ssl, exporter, sizeof(exporter),
	    EXPORTER_LABEL, strlen(EXPORTER_LABEL), NULL, 0, 0) != 1)
		fatalx("SSL_export_keying_material");
	frame_begin(&b, IMSG_SESSION, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_TLS_VERSION, SSL_get_version(w.ssl));
	frame_put_str(&b, F_TLS_CIPHER, SSL_get_cipher_name(w.ssl));
	frame_put_str(&b, F_TLS_GROUP, tls_group_name(w.ssl));
	frame_put_bytes(&b, F_EXPORTER, exporter, sizeof(exporter));
	OPENSSL_cleanse(exporter, sizeof(exporter));
	if (frame_finish(&b) == -1)
		fatalx("session to broker");
	broker_write(b.data, b.len);
	broker_flush();
	frame_buf_free(&b);
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	char	 err[512];

	if (what & BEV_EVENT_CONNECTED) {
		w.handshake_done = 1;
		evtimer_del(w.handshake_ev);
		/* Its one signature is made: the key link has done its work. */
		keysign_close();
		/*
		 * The handshake's memory is free now; give whole free pages
		 * back (madvise), so that an idle worker costs what it holds.
		 */
		(void)malloc_trim(0);
		log_info("client %s: %s %s %s", w.addr, SSL_get_version(w.ssl),
		    SSL_get_cipher_name(w.ssl), tls_group_name(w.ssl));
		session_to_broker();
		w.last_rx_ms = now_ms();
		idle_arm();
		rekey_arm();
		return;
	}
	if (what & BEV_EVENT_EOF) {
		log_debug("client %s: closed the connection", w.addr);
		if (!w.handshake_done)
			worker_exit(EXIT_SESSION_DONE);
		client_gone();
	}
	if (what & BEV_EVENT_ERROR) {
		ssl_errors(err, sizeof(err));
		if (!w.handshake_done) {
			log_security("client %s: TLS handshake failed: %s",
			    w.addr, err);
			worker_exit(EXIT_SESSION_DONE);
		}
		log_info("client %s: connection error: %s", w.addr, err);
		client_gone();
	}
}

/*
 * The client hung up, or its connection failed; what it sent before is
 * still its to say.  libevent commits the last bytes of the read that
 * met the end only after the event callback returns, and the read
 * callback may still take them, so the rest waits for the next pass.
 */
static void
client_gone(void)
{
	struct timeval	 now = { 0, 0 };

	if (w.client_gone)
		return;
	w.client_gone = 1;
	if (evtimer_add(w.gone_ev, &now) == -1)
		worker_exit(EXIT_SESSION_DONE);
}

/* Every whole frame it sent goes to the broker, then the worker ends. */
static void
gone_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (!w.closing) {
		client_read_frames(w.client);
		broker_flush();
	}
	w.closing = 1;
	if (bufferevent_disable(w.client, EV_READ | EV_WRITE) == -1)
		fatalx("bufferevent_disable");
	finish_close();
}

/*
 * A connection must be logged in this long after it was accepted, PING or
 * not: until then it holds a slot of limits.max_clients for nobody.
 */
static void
login_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (w.logged_in || w.closing)
		return;
	log_security("client %s: not logged in within %u s", w.addr,
	    w.login_timeout);
	if (!w.handshake_done)
		worker_exit(EXIT_SESSION_DONE);
	send_error(ERR_TIMEOUT, "login timeout");
	close_after_flush();
}

static void
handshake_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	log_security("client %s: no TLS handshake within %u s", w.addr,
	    w.handshake_timeout);
	worker_exit(EXIT_SESSION_DONE);
}

/* A frame from the broker: the challenge, or something for the client. */
static void
broker_frame(const struct frame *f, const uint8_t *raw, size_t rawlen)
{
	uint16_t	 code;

	switch (f->type) {
	case IMSG_CHALLENGE:
		if (w.have_nonce || frame_get(f, F_NONCE)->len != NONCE_LEN)
			fatalx("bad challenge from the broker");
		memcpy(w.nonce, frame_get(f, F_NONCE)->val, NONCE_LEN);
		if (frame_get(f, F_EPOCH)->len != EPOCH_LEN)
			fatalx("bad epoch from the broker");
		memcpy(w.epoch, frame_get(f, F_EPOCH)->val, EPOCH_LEN);
		w.have_nonce = 1;
		send_welcome();
		return;
	case MSG_LOGGED_IN:
		w.logged_in = 1;
		evtimer_del(w.login_ev);
		break;
	default:
		break;
	}
	/* Corked: broker_read_cb sends what this wake took, together. */
	if (evbuffer_add(w.cork, raw, rawlen) == -1)
		fatalx("evbuffer_add to the cork");
	/* The broker ends sessions with a fatal ERROR; we close for it. */
	if (f->type == MSG_ERROR && frame_get_u16(f, F_CODE, &code) == 0 &&
	    proto_err_is_fatal(code))
		close_after_flush();
}

/*
 * A burst leaves the worker's heap at its high-water mark (the large
 * reads, the cork, the records); once the burst is over, whole free pages
 * go back, so that an idle worker again costs what it holds.  Re-arming a
 * pending timer is a heap operation in libevent, no system call.
 */
static void
trim_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)malloc_trim(0);
}

static void
trim_arm(void)
{
	struct timeval	 tv = { TRIM_AFTER_S, 0 };

	if (evtimer_add(w.trim_ev, &tv) == -1)
		fatalx("evtimer_add trim");
}

/*
 * A fan-out batch is often larger than the 4096 bytes libevent 2.1 reads
 * per wake, and each slice cost a loop turn, a TLS record and a write to
 * the client.  When the bufferevent's read may have stopped short, the
 * rest of the batch (up to BROKER_READ_MAX) is read now, so that a wake's
 * frames go out together.  A read that fails or finds the end is left to
 * the bufferevent, whose next read sees it again and reports it.
 */
static void
broker_read_rest(struct evbuffer *in)
{
	struct evbuffer_iovec	 v[2];
	struct iovec		 iov[2];
	ssize_t			 got;
	size_t			 left;
	int			 fd, avail, i, n;

	if (evbuffer_get_length(in) < LIBEVENT_READ_MAX ||
	    !(bufferevent_get_enabled(w.broker) & EV_READ))
		return;
	fd = bufferevent_getfd(w.broker);
	if (ioctl(fd, FIONREAD, &avail) == -1 || avail <= 0)
		return;
	if (avail > BROKER_READ_MAX)
		avail = BROKER_READ_MAX;
	/* A socket bufferevent thaws its input's end only for its reads. */
	if (evbuffer_unfreeze(in, 0) == -1 ||
	    (n = evbuffer_reserve_space(in, avail, v, 2)) <= 0)
		fatalx("evbuffer_reserve_space");
	/* The reservation may be larger than asked: read what was. */
	left = (size_t)avail;
	for (i = 0; i < n; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	left = (got = readv(fd, iov, n)) > 0 ? (size_t)got : 0;
	for (i = 0; i < n && left > 0; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	if (evbuffer_commit_space(in, v, i) == -1 ||
	    evbuffer_freeze(in, 0) == -1)
		fatalx("evbuffer_commit_space");
	if (got > 0)
		trim_arm();
}

/*
 * The broker is trusted more than a client, but its frames are checked.
 * Every whole frame waiting is taken; what is for the client is corked
 * and sent at the end, in as few TLS records and writes as fit.  The
 * cork is bounded by what one wake read: the read callback empties it
 * before it returns, and the relay bounds count it.
 */
static void
broker_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct frame	 f;
	uint8_t		*p;
	size_t		 flen;
	int		 rv;

	if (w.closing)
		return;
	broker_read_rest(in);
	while (!w.closing) {
		rv = frame_evbuffer_next(in, w.max_frame + 1024,
		    proto_broker_spec, &f, &p, &flen);
		if (rv == FRAME_NEED_MORE)
			break;
		if (rv != FRAME_OK)
			fatalx("broker frame: %s", frame_strerror(rv));
		broker_frame(&f, p, flen);
		if (evbuffer_drain(in, flen) == -1)
			fatalx("evbuffer_drain");
		flow_update();
		if (!(bufferevent_get_enabled(w.broker) & EV_READ))
			break;
	}
	client_flush();
	flow_update();
}

/* Output drained below the low mark: let both sides flow again. */
static void
written_cb(struct bufferevent *bev, void *arg)
{
	if (w.ending && !broker_owed())
		worker_exit(EXIT_SESSION_DONE);
	if (w.closing)
		return;
	flow_update();
	/* Frames may already wait in an input buffer: no new read will say. */
	if ((bufferevent_get_enabled(w.broker) & EV_READ) &&
	    evbuffer_get_length(bufferevent_get_input(w.broker)) > 0)
		broker_read_cb(w.broker, NULL);
	if (!w.closing && (bufferevent_get_enabled(w.client) & EV_READ) &&
	    evbuffer_get_length(bufferevent_get_input(w.client)) > 0)
		client_read_cb(w.client, NULL);
}

static void
broker_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	log_info("client %s: broker link lost: telling the client to "
	    "reconnect", w.addr);
	if (!w.handshake_done || w.closing)
		worker_exit(EXIT_SESSION_DONE);
	send_error(ERR_RESTARTING, "server restarting");
	close_after_flush();
}

static void
sigterm_cb(evutil_socket_t sig, short ev, void *arg)
{
	if (!w.handshake_done || w.closing)
		worker_exit(EXIT_SESSION_DONE);
	send_error(ERR_SHUTDOWN, "server shutting down");
	close_after_flush();
}

/*
 * Settings and the TLS certificate, from the master, read by the template
 * before any worker exists; every worker it forks inherits them.
 */
void
worker_configure(const struct frame *f)
{
	const uint8_t	*cert;
	size_t		 cert_len;
	uint8_t		 level;
	char		 err[256];

	if (frame_get_bytes(f, F_CERT_PEM, &cert, &cert_len) == -1 ||
	    frame_get_str(f, F_USER_NAME, w.user, sizeof(w.user)) == -1 ||
	    frame_get_str(f, F_CHROOT, w.chroot, sizeof(w.chroot)) == -1 ||
	    frame_get_u32(f, F_HANDSHAKE_TIMEOUT, &w.handshake_timeout) == -1 ||
	    frame_get_u32(f, F_IDLE_TIMEOUT, &w.idle_timeout) == -1 ||
	    frame_get_u32(f, F_LOGIN_TIMEOUT, &w.login_timeout) == -1 ||
	    frame_get_u32(f, F_REKEY_MIN, &w.rekey_min) == -1 ||
	    frame_get_u32(f, F_REKEY_MAX, &w.rekey_max) == -1 ||
	    frame_get_u32(f, F_MAX_FRAME, &w.max_frame) == -1 ||
	    frame_get_u8(f, F_LOG_LEVEL, &level) == -1)
		fatalx("worker: incomplete settings from the master");
	log_setlevel(level);
	/* No key here: the key process signs for us (keysign.c). */
	if ((w.ctx = keysign_ctx(cert, cert_len, err, sizeof(err))) == NULL)
		fatalx("worker: TLS context: %s", err);
	/* An idle worker keeps no record buffers (about 20 KiB each). */
	SSL_CTX_set_mode(w.ctx, SSL_MODE_RELEASE_BUFFERS);
	/*
	 * A read returns after each record that is not application data (a
	 * KeyUpdate), and libevent goes back to its loop, where the limit on
	 * KeyUpdates and every deadline run.  With OpenSSL 3's default
	 * AUTO_RETRY one read went on for as long as a client kept sending
	 * them: 271,000 in 5 s, with no timer run (t-tls).
	 */
	SSL_CTX_clear_mode(w.ctx, SSL_MODE_AUTO_RETRY);
}

const char *
worker_user(void)
{
	return w.user;
}

const char *
worker_chroot(void)
{
	return w.chroot;
}

/* The deadlines' timers (tests/fuzz/fuzz_worker.c makes them too). */
static int
timers_new(void)
{
	if ((w.handshake_ev = evtimer_new(w.base, handshake_timeout_cb,
	    NULL)) == NULL ||
	    (w.login_ev = evtimer_new(w.base, login_timeout_cb,
	    NULL)) == NULL ||
	    (w.rekey_ev = evtimer_new(w.base, rekey_cb, NULL)) == NULL ||
	    (w.idle_ev = evtimer_new(w.base, idle_cb, NULL)) == NULL ||
	    (w.keyupdate_ev = evtimer_new(w.base, keyupdate_cb,
	    NULL)) == NULL ||
	    (w.trim_ev = evtimer_new(w.base, trim_cb, NULL)) == NULL ||
	    (w.gone_ev = evtimer_new(w.base, gone_cb, NULL)) == NULL)
		return -1;
	return 0;
}

/*
 * The environment is the template's, not for libevent to act on; it still
 * asks whether it runs setuid for one getenv (the template's filter
 * allows the get*id calls for that).
 */
static struct event_base *
worker_event_base(void)
{
	struct event_config	*cfg;
	struct event_base	*base = NULL;

	if ((cfg = event_config_new()) != NULL &&
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_IGNORE_ENV) == 0)
		base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/*
 * In a child the template just forked, chrooted and unprivileged already:
 * its own objects, then its own limits and filter, then the network.
 */
void
worker_run(int client, int broker, int key, const char *addr,
    uint64_t session_id, const struct sandbox_prog *filter)
{
	struct timeval	 tv;
	char		 err[512];

	log_procname("worker");
	/* Until the sandbox is whole, a failure is the master's to throttle. */
	log_fatal_status(EXIT_STARTUP);
	(void)str_copy(w.addr, addr, sizeof(w.addr));
	w.session_id = session_id;
	keysign_set_fd(key);

	if ((w.ssl = SSL_new(w.ctx)) == NULL ||
	    (w.cork = evbuffer_new()) == NULL ||
	    (w.bcork = evbuffer_new()) == NULL ||
	    (w.base = worker_event_base()) == NULL || timers_new() == -1 ||
	    (w.sigterm_ev = evsignal_new(w.base, SIGTERM, sigterm_cb,
	    NULL)) == NULL || event_add(w.sigterm_ev, NULL) == -1)
		fatalx("worker: setup failed");
	if (fd_set_nonblock(client) == -1 || fd_set_nonblock(broker) == -1)
		fatal("worker: nonblock");
	SSL_set_msg_callback(w.ssl, peer_msg_cb);

	if (sandbox_fork_limits(WORKER_MAX_FDS, err, sizeof(err)) == -1 ||
	    sandbox_apply(filter, err, sizeof(err)) == -1)
		fatalx("worker: %s", err);
	log_fatal_status(1);

	/* From here on the network is read, inside the sandbox. */
	if ((w.broker = bufferevent_socket_new(w.base, broker,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (w.client = bufferevent_openssl_socket_new(w.base, client,
	    w.ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("worker: bufferevent");
	bufferevent_setcb(w.broker, broker_read_cb, written_cb,
	    broker_event_cb, NULL);
	bufferevent_setcb(w.client, client_read_cb, written_cb,
	    client_event_cb, NULL);
	/*
	 * No read high-water mark on the client: libevent's OpenSSL reader,
	 * held by one, leaves the rest of a TLS record inside OpenSSL, where
	 * no socket event fetches it until the client sends more.  A wake
	 * reads two records (16 KiB each) at most and client_read_frames
	 * takes every whole frame, so the input holds at most that and a
	 * partial frame; flow_update stops the reading when the relay is full.
	 */
	/* A write event may carry a few whole records, not one and a part. */
	if (bufferevent_set_max_single_write(w.client, CLIENT_WRITE_MAX) == -1)
		fatalx("worker: bufferevent_set_max_single_write");
	bufferevent_setwatermark(w.client, EV_WRITE, RELAY_LOW, 0);
	bufferevent_setwatermark(w.broker, EV_WRITE, RELAY_LOW, 0);
	if (bufferevent_enable(w.broker, EV_READ) == -1 ||
	    bufferevent_enable(w.client, EV_READ | EV_WRITE) == -1)
		fatalx("worker: bufferevent_enable");
	tv.tv_sec = w.handshake_timeout;
	tv.tv_usec = 0;
	if (evtimer_add(w.handshake_ev, &tv) == -1)
		fatalx("worker: handshake timer");
	tv.tv_sec = w.login_timeout;
	if (evtimer_add(w.login_ev, &tv) == -1)
		fatalx("worker: login timer");

	if (event_base_dispatch(w.base) == -1)
		fatalx("worker: event loop failed");
	worker_exit(EXIT_SESSION_DONE);
}
