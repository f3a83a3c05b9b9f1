/*
 * scload.c: a load generator for securechatd.  N TLS clients log in and
 * join rooms, S of them send at a set rate; reports connects per second,
 * end-to-end fan-out latency and delivered messages per second.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "crypto.h"
#include "frame.h"
#include "proto.h"
#include "tls.h"
#include "util.h"
#include "xmalloc.h"

#define MAX_CLIENTS	20000
#define MAX_INFLIGHT	50		/* connects+logins under way at once */
#define ACK_EVERY	64		/* DELIVERED after this many events */
#define TICK_US		1000		/* sender clock */
#define DRAIN_SECS	30		/* wait for the last deliveries */
#define HOLD_SECS	120		/* wait for the memory measurement */
#define SLACK_SECS	120		/* hard timeout: duration + this */
#define MAX_ERR_CODE	64
#define MAX_LATENCIES	(64u * 1024 * 1024)
#define NS		1000000000ull

enum cstate {
	CS_IDLE, CS_TLS, CS_HELLO, CS_LOGIN, CS_REGISTER, CS_LOGGED_IN,
	CS_CLOSED
};

enum phase {
	PH_CONNECT, PH_JOIN, PH_SEND, PH_DRAIN, PH_HOLD, PH_DONE
};

static const char *phase_names[] = {
	"connect", "join", "send", "drain", "hold", "done"
};

struct client {
	int			 idx;
	enum cstate		 state;
	char			 name[NAME_MAX_LEN + 1];
	char			 room[ROOM_MAX_LEN + 1];
	int			 roomno;
	int			 joined;
	int			 sender;
	struct bufferevent	*bev;
	size_t			 max_frame;
	uint8_t			 sign_priv[KEY_LEN];
	uint8_t			 sign_pub[KEY_LEN];
	uint8_t			 dh_priv[KEY_LEN];
	uint8_t			 dh_pub[KEY_LEN];
	uint8_t			 nonce[NONCE_LEN];
	uint8_t			 exporter[EXPORTER_LEN];
	uint8_t			 login_sig[SIG_LEN];
	uint64_t		 t_start;	/* connect started */
	uint64_t		 t_login;	/* LOGGED_IN seen */
	uint64_t		 last_seq;	/* of its room's events */
	unsigned int		 unacked;	/* events since DELIVERED */
	uint64_t		 backlog;	/* messages due, not yet sent */
	uint64_t		 blocked_until;	/* RATE_LIMITED: not before */
};

static struct {
	/* Options. */
	uint16_t		 port;
	int			 n, rooms, senders, json;
	uint32_t		 rate, duration, body;
	const char		*marker;

	struct event_base	*base;
	SSL_CTX			*ctx;
	struct sockaddr_in	 sin;
	struct client		*cl;
	int			*room_members;	/* joined and connected */
	struct event		*tick, *hard, *sigint;
	enum phase		 phase;
	int			 status;	/* exit status */
	char			 why[256];	/* first reason for failure */

	int			 launched, inflight, logged_in, failed;
	int			 alive, joined, disconnects;
	uint64_t		 t_first, t_connected, t_join, t_joined;
	uint64_t		 t_send, t_sent, t_last_rx, t_drain;
	uint64_t		 total, scheduled, sent, acked, rejected;
	uint64_t		 delivered, expected, joins_seen, pings;
	uint64_t		 registrations;
	uint64_t		*lat;
	size_t			 nlat, latcap;
	uint64_t		 errors[MAX_ERR_CODE];
	uint64_t		 errors_other, bad_frames;
} g;

static void	launch_more(void);
static void	read_cb(struct bufferevent *, void *);
static void	event_cb(struct bufferevent *, short, void *);
static void	advance(void);
static void	finish(void);
static void	hold_start(void);

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: scload [-j] -p port [-n clients] [-r rooms] [-s senders]\n"
	    "              [-R rate] [-d seconds] [-b body] [-M marker]\n");
	exit(2);
}

static long long
number(const char *s, long long lo, long long hi, const char *what)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		fprintf(stderr, "scload: %s: bad %s (%lld..%lld)\n", s, what,
		    lo, hi);
		exit(2);
	}
	return v;
}

/* CLOCK_MONOTONIC in nanoseconds: the clock of every timestamp here. */
static uint64_t
mono_ns(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		abort();
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static double
secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static double
msecs(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Remember the first reason the run went wrong. */
static void
trouble(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
trouble(const char *fmt, ...)
{
	va_list	 ap;

	g.status = 1;
	if (g.why[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(g.why, sizeof(g.why), fmt, ap);
	va_end(ap);
}

static void
send_frame(struct client *c, struct frame_buf *b)
{
	if (frame_finish(b) == -1) {
		trouble("%s: cannot build a frame", c->name);
		frame_buf_free(b);
		return;
	}
	if (c->bev != NULL && bufferevent_write(c->bev, b->data, b->len) == -1)
		trouble("%s: cannot queue a frame", c->name);
	frame_buf_free(b);
}


/* One client is gone: its slot stays, its counters move. */
static void
client_close(struct client *c, const char *why)
{
	if (c->state == CS_CLOSED)
		return;
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->state < CS_LOGGED_IN) {
		g.inflight--;
		g.failed++;
		trouble("%s: %s before login", c->name, why);
	} else {
		g.alive--;
		g.disconnects++;
		if (c->joined) {
			g.joined--;
			g.room_members[c->roomno]--;
		}
		if (g.phase < PH_HOLD)
			trouble("%s: %s in phase %s", c->name, why,
			    phase_names[g.phase]);
	}
	c->state = CS_CLOSED;
	if (g.phase == PH_CONNECT)
		launch_more();
	advance();
}

static void
send_hello(struct client *c)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_HELLO, c->max_frame);
	frame_put_u16(&b, F_VERSION, PROTO_VERSION);
	frame_put_str(&b, F_SOFTWARE, "scload");
	send_frame(c, &b);
	c->state = CS_HELLO;
}

static void
on_welcome(struct client *c, const struct frame *f)
{
	struct crypto_part	 parts[4];
	struct frame_buf	 b;
	const uint8_t		*nonce;
	size_t			 len;
	uint32_t		 mf;
	SSL			*ssl;

	if (c->state != CS_HELLO ||
	    frame_get_bytes(f, F_NONCE, &nonce, &len) == -1 ||
	    len != NONCE_LEN || frame_get_u32(f, F_MAX_FRAME, &mf) == -1 ||
	    mf < FRAME_MIN_MAX || mf > FRAME_MAX_CEILING) {
		client_close(c, "unexpected or bad WELCOME");
		return;
	}
	c->max_frame = mf;
	memcpy(c->nonce, nonce, NONCE_LEN);
	ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl == NULL || SSL_export_keying_material(ssl, c->exporter,
	    EXPORTER_LEN, EXPORTER_LABEL, strlen(EXPORTER_LABEL), NULL, 0,
	    0) != 1) {
		client_close(c, "no TLS exporter");
		return;
	}
	parts[0].p = LOGIN_CONTEXT;
	parts[0].len = strlen(LOGIN_CONTEXT);
	parts[1].p = c->nonce;
	parts[1].len = NONCE_LEN;
	parts[2].p = c->exporter;
	parts[2].len = EXPORTER_LEN;
	parts[3].p = c->name;
	parts[3].len = strlen(c->name);
	if (crypto_ed25519_sign_parts(c->sign_priv, parts, 4,
	    c->login_sig) == -1) {
		client_close(c, "cannot sign");
		return;
	}
	frame_begin(&b, MSG_LOGIN, c->max_frame);
	frame_put_str(&b, F_NAME, c->name);
	frame_put_bytes(&b, F_SIGNATURE, c->login_sig, SIG_LEN);
	send_frame(c, &b);
	c->state = CS_LOGIN;
}

/* LOGIN said UNKNOWN_USER: register, signing with the same nonce. */
static void
send_register(struct client *c)
{
	struct crypto_part	 parts[2];
	struct frame_buf	 b;
	uint8_t			 bsig[SIG_LEN];

	parts[0].p = BINDING_CONTEXT;
	parts[0].len = strlen(BINDING_CONTEXT);
	parts[1].p = c->dh_pub;
	parts[1].len = KEY_LEN;
	if (crypto_ed25519_sign_parts(c->sign_priv, parts, 2, bsig) == -1) {
		client_close(c, "cannot sign");
		return;
	}
	frame_begin(&b, MSG_REGISTER, c->max_frame);
	frame_put_str(&b, F_NAME, c->name);
	frame_put_bytes(&b, F_SIGN_PUB, c->sign_pub, KEY_LEN);
	frame_put_bytes(&b, F_DH_PUB, c->dh_pub, KEY_LEN);
	frame_put_bytes(&b, F_BINDING_SIG, bsig, SIG_LEN);
	frame_put_bytes(&b, F_SIGNATURE, c->login_sig, SIG_LEN);
	send_frame(c, &b);
	c->state = CS_REGISTER;
}

static void
on_logged_in(struct client *c)
{
	if (c->state != CS_LOGIN && c->state != CS_REGISTER) {
		client_close(c, "unexpected LOGGED_IN");
		return;
	}
	c->state = CS_LOGGED_IN;
	c->t_login = mono_ns();
	g.inflight--;
	g.logged_in++;
	g.alive++;
	if (c->t_login > g.t_connected)
		g.t_connected = c->t_login;
	launch_more();
	advance();
}

static void
on_error(struct client *c, const struct frame *f)
{
	uint32_t	 retry = 0;
	uint16_t	 code = 0;
	char		 text[160];

	(void)frame_get_u16(f, F_CODE, &code);
	if (code == ERR_UNKNOWN_USER && c->state == CS_LOGIN) {
		/* The expected way in for a new user: not an error. */
		g.registrations++;
		send_register(c);
		return;
	}
	if (code < MAX_ERR_CODE)
		g.errors[code]++;
	else
		g.errors_other++;
	if (code == ERR_RATE_LIMITED) {
		/* The message was refused, not stored: send it again later. */
		(void)frame_get_u32(f, F_RETRY_AFTER_MS, &retry);
		if (retry == 0)
			retry = 1;
		c->blocked_until = mono_ns() + (uint64_t)retry * 1000000;
		c->backlog++;
		g.rejected++;
		return;
	}
	if (frame_get_str(f, F_TEXT, text, sizeof(text)) == -1)
		(void)str_copy(text, "?", sizeof(text));
	if (proto_err_is_fatal(code)) {
		fprintf(stderr, "scload: %s: ERROR %s: %s\n", c->name,
		    proto_err_name(code), text);
		client_close(c, proto_err_name(code));
	} else
		trouble("%s: ERROR %s: %s", c->name, proto_err_name(code),
		    text);
}

static void
on_ping(struct client *c, const struct frame *f)
{
	struct frame_buf	 b;
	const uint8_t		*tok;
	size_t			 len;

	if (frame_get_bytes(f, F_TOKEN, &tok, &len) == -1)
		return;
	g.pings++;
	frame_begin(&b, MSG_PONG, c->max_frame);
	frame_put_bytes(&b, F_TOKEN, tok, len);
	send_frame(c, &b);
}

static void
latency_add(uint64_t ns)
{
	if (g.nlat == g.latcap) {
		if (g.latcap >= MAX_LATENCIES)
			return;
		g.latcap = g.latcap == 0 ? 65536 : g.latcap * 2;
		g.lat = xreallocarray(g.lat, g.latcap, sizeof(*g.lat));
	}
	g.lat[g.nlat++] = ns;
}

static void
send_delivered(struct client *c)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_DELIVERED, c->max_frame);
	frame_put_str(&b, F_ROOM, c->room);
	frame_put_u64(&b, F_SEQ, c->last_seq);
	send_frame(c, &b);
	c->unacked = 0;
}

static void
on_room_event(struct client *c, const struct frame *f)
{
	const uint8_t	*body;
	size_t		 len;
	uint64_t	 seq, now, ts;
	uint8_t		 kind;
	char		 from[NAME_MAX_LEN + 1];

	if (frame_get_u8(f, F_KIND, &kind) == -1 ||
	    frame_get_u64(f, F_SEQ, &seq) == -1 ||
	    frame_get_str(f, F_FROM, from, sizeof(from)) == -1) {
		g.bad_frames++;
		return;
	}
	now = mono_ns();
	if (kind == EVENT_JOIN) {
		g.joins_seen++;
		if (!c->joined && strcmp(from, c->name) == 0) {
			c->joined = 1;
			g.joined++;
			g.room_members[c->roomno]++;
		}
	} else if (kind == EVENT_MESSAGE) {
		g.delivered++;
		g.t_last_rx = now;
		if (frame_get_bytes(f, F_BODY, &body, &len) == 0 &&
		    len >= 8 && (ts = be64_get(body)) <= now &&
		    ts >= g.t_send)
			latency_add(now - ts);
	}
	if (seq > c->last_seq)
		c->last_seq = seq;
	if (++c->unacked >= ACK_EVERY)
		send_delivered(c);
	if (kind == EVENT_JOIN)
		advance();
}

static void
on_ack(struct client *c, const struct frame *f)
{
	(void)f;
	g.acked++;
	/* Every connected member of the room, the sender included. */
	g.expected += (uint64_t)g.room_members[c->roomno];
}

static void
dispatch(struct client *c, const struct frame *f)
{
	switch (f->type) {
	case MSG_WELCOME:
		on_welcome(c, f);
		break;
	case MSG_ERROR:
		on_error(c, f);
		break;
	case MSG_LOGGED_IN:
		on_logged_in(c);
		break;
	case MSG_PING:
		on_ping(c, f);
		break;
	case MSG_ROOM_EVENT:
		on_room_event(c, f);
		break;
	case MSG_ACK:
		on_ack(c, f);
		break;
	default:
		break;		/* NOTICE, PONG, DIRECT: nothing to count */
	}
}

/*
 * Every whole frame in the input.  Each turn drains at least a header, so
 * the loop ends with the buffer; it also ends when a handler closes c.
 */
static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct frame	 f;
	uint8_t		*p;
	size_t		 avail, flen;
	int		 r;

	while (c->bev != NULL && (avail = evbuffer_get_length(in)) >=
	    FRAME_HDR_LEN) {
		if ((p = evbuffer_pullup(in, FRAME_HDR_LEN)) == NULL)
			break;
		flen = FRAME_HDR_LEN + (size_t)be32_get(p);
		if (flen > c->max_frame) {
			g.bad_frames++;
			client_close(c, "frame above max_frame");
			return;
		}
		if (avail < flen)
			break;
		if ((p = evbuffer_pullup(in, (ssize_t)flen)) == NULL)
			break;
		if ((r = frame_decode(p, flen, &f)) != FRAME_OK ||
		    (r = frame_validate(&f, proto_server_spec(f.type))) !=
		    FRAME_OK) {
			g.bad_frames++;
			fprintf(stderr, "scload: %s: bad frame from the "
			    "server: %s\n", c->name, frame_strerror(r));
			client_close(c, "bad frame");
			return;
		}
		dispatch(c, &f);
		if (c->bev == NULL)
			return;
		(void)evbuffer_drain(in, flen);
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;
	unsigned long	 e;
	char		 buf[256], why[300];

	if (what & BEV_EVENT_CONNECTED) {
		send_hello(c);
		return;
	}
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
		return;
	/* An ERROR frame may sit in front of the close. */
	read_cb(bev, c);
	if (c->bev == NULL)
		return;
	buf[0] = '\0';
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (ERR_GET_LIB(e) != 0 && buf[0] == '\0')
			ERR_error_string_n(e, buf, sizeof(buf));
	if (buf[0] == '\0' && (what & BEV_EVENT_ERROR) &&
	    EVUTIL_SOCKET_ERROR() != 0)
		(void)str_copy(buf, strerror(EVUTIL_SOCKET_ERROR()),
		    sizeof(buf));
	(void)snprintf(why, sizeof(why), "%s%s%s",
	    c->state == CS_TLS ? "connect or TLS handshake failed" :
	    (what & BEV_EVENT_EOF) ? "closed by the server" : "error",
	    buf[0] != '\0' ? ": " : "", buf);
	client_close(c, why);
}

static void
launch_more(void)
{
	struct client	*c;
	SSL		*ssl;
	uint64_t	 now;

	while (g.phase == PH_CONNECT && g.launched < g.n &&
	    g.inflight < MAX_INFLIGHT) {
		c = &g.cl[g.launched++];
		now = mono_ns();
		if (g.t_first == 0)
			g.t_first = now;
		c->t_start = now;
		c->state = CS_TLS;
		c->max_frame = FRAME_MAX_DEFAULT;
		g.inflight++;
		if ((ssl = SSL_new(g.ctx)) == NULL) {
			client_close(c, "SSL_new failed");
			continue;
		}
		c->bev = bufferevent_openssl_socket_new(g.base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			client_close(c, "cannot create a bufferevent");
			continue;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
		if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1 ||
		    bufferevent_socket_connect(c->bev,
		    (struct sockaddr *)&g.sin, sizeof(g.sin)) == -1) {
			client_close(c, strerror(errno));
			continue;
		}
	}
}

static void
send_join(struct client *c)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_JOIN, c->max_frame);
	frame_put_str(&b, F_ROOM, c->room);
	send_frame(c, &b);
}

/* One chat message: 8-byte send time, then padding up to the body size. */
static void
send_message(struct client *c)
{
	struct frame_buf	 b;
	uint8_t			*body;
	uint64_t		 id;

	body = xcalloc(1, g.body);
	memset(body + 8, 'x', g.body - 8);
	do {
		if (crypto_random(&id, sizeof(id)) == -1) {
			fprintf(stderr, "scload: crypto_random failed\n");
			exit(1);
		}
	} while (id == 0);
	be64_put(body, mono_ns());
	frame_begin(&b, MSG_SEND, c->max_frame);
	frame_put_str(&b, F_ROOM, c->room);
	frame_put_u64(&b, F_CLIENT_MSG_ID, id);
	frame_put_bytes(&b, F_BODY, body, g.body);
	send_frame(c, &b);
	free(body);
	g.sent++;
}

/* Senders: hand out what is due, then let each unblocked one send. */
static void
senders_run(uint64_t now)
{
	struct client	*c;
	uint64_t	 due, k;
	int		 i;

	if (g.phase == PH_SEND) {
		due = (uint64_t)((double)(now - g.t_send) * g.rate / 1e9);
		if (due > g.total)
			due = g.total;
		for (k = g.scheduled; k < due; k++)
			g.cl[k % (uint64_t)g.senders].backlog++;
		g.scheduled = due;
	}
	for (i = 0; i < g.senders; i++) {
		c = &g.cl[i];
		if (c->state != CS_LOGGED_IN) {
			c->backlog = 0;		/* its loss is reported */
			continue;
		}
		if (now < c->blocked_until)
			continue;
		for (; c->backlog > 0; c->backlog--)
			send_message(c);
	}
}

static uint64_t
backlog_total(void)
{
	uint64_t	 t = 0;
	int		 i;

	for (i = 0; i < g.senders; i++)
		t += g.cl[i].backlog;
	return t;
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t	 now = mono_ns();

	(void)fd;
	(void)ev;
	(void)arg;
	switch (g.phase) {
	case PH_SEND:
	case PH_DRAIN:
		senders_run(now);
		if (g.phase == PH_DRAIN && now > g.t_sent + DRAIN_SECS * NS) {
			trouble("drain: %" PRIu64 " of %" PRIu64 " messages "
			    "acknowledged, %" PRIu64 " of %" PRIu64
			    " deliveries after %d s", g.acked, g.sent,
			    g.delivered, g.expected, DRAIN_SECS);
			g.t_drain = now;
			g.phase = PH_HOLD;
			hold_start();
			break;
		}
		advance();
		break;
	case PH_HOLD:
		if (g.marker == NULL || access(g.marker, F_OK) == -1 ||
		    now > g.t_drain + HOLD_SECS * NS) {
			if (g.marker != NULL && access(g.marker, F_OK) == 0) {
				trouble("nobody removed %s", g.marker);
				(void)unlink(g.marker);
			}
			finish();
		}
		break;
	default:
		break;
	}
}

static void
tick_start(void)
{
	struct timeval	 tv = { 0, TICK_US };

	if (g.tick != NULL)
		return;
	if ((g.tick = event_new(g.base, -1, EV_PERSIST, tick_cb, NULL)) ==
	    NULL || event_add(g.tick, &tv) == -1) {
		fprintf(stderr, "scload: cannot start the timer\n");
		exit(1);
	}
}

static void
hold_start(void)
{
	FILE	*fp;

	if (g.marker == NULL) {
		finish();
		return;
	}
	if ((fp = fopen(g.marker, "w")) == NULL) {
		trouble("%s: %s", g.marker, strerror(errno));
		finish();
		return;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	(void)fclose(fp);
	fprintf(stderr, "scload: %d clients connected; holding until %s "
	    "is removed\n", g.alive, g.marker);
	tick_start();
}

/* Move to the next phase when this one is complete. */
static void
advance(void)
{
	uint64_t	 now;
	int		 i;

	switch (g.phase) {
	case PH_CONNECT:
		if (g.logged_in + g.failed < g.n)
			return;
		if (g.alive == 0) {
			trouble("no client logged in");
			finish();
			return;
		}
		g.phase = PH_JOIN;
		g.t_join = mono_ns();
		for (i = 0; i < g.n; i++)
			if (g.cl[i].state == CS_LOGGED_IN)
				send_join(&g.cl[i]);
		break;
	case PH_JOIN:
		if (g.joined < g.alive)
			return;
		g.phase = PH_SEND;
		g.t_joined = g.t_send = mono_ns();
		tick_start();
		break;
	case PH_SEND:
		if (g.scheduled < g.total || backlog_total() > 0)
			return;
		g.phase = PH_DRAIN;
		g.t_sent = mono_ns();
		/* FALLTHROUGH */
	case PH_DRAIN:
		if (backlog_total() > 0 || g.acked + g.rejected < g.sent ||
		    g.delivered < g.expected)
			return;
		now = mono_ns();
		g.t_drain = now;
		g.phase = PH_HOLD;
		hold_start();
		break;
	case PH_HOLD:
		if (g.alive == 0)
			finish();
		break;
	default:
		break;
	}
}

static void
finish(void)
{
	if (g.phase == PH_DONE)
		return;
	g.phase = PH_DONE;
	(void)event_base_loopexit(g.base, NULL);
}

static void
hard_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	trouble("hard timeout in phase %s", phase_names[g.phase]);
	finish();
}

static void
sigint_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	trouble("interrupted in phase %s", phase_names[g.phase]);
	finish();
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of a sorted array, nearest rank. */
static uint64_t
percentile(const uint64_t *v, size_t n, double p)
{
	size_t	 i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i == 0)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

static void
report(void)
{
	uint64_t	*conn, connect_ns, send_ns, lat50, lat99, latmax;
	uint64_t	 c50, c99;
	double		 cps, dps;
	size_t		 nconn = 0;
	int		 i, first;

	conn = xcalloc((size_t)g.n + 1, sizeof(*conn));
	for (i = 0; i < g.n; i++)
		if (g.cl[i].t_login != 0)
			conn[nconn++] = g.cl[i].t_login - g.cl[i].t_start;
	qsort(conn, nconn, sizeof(*conn), cmp_u64);
	c50 = percentile(conn, nconn, 50);
	c99 = percentile(conn, nconn, 99);
	free(conn);
	qsort(g.lat, g.nlat, sizeof(*g.lat), cmp_u64);
	lat50 = percentile(g.lat, g.nlat, 50);
	lat99 = percentile(g.lat, g.nlat, 99);
	latmax = g.nlat > 0 ? g.lat[g.nlat - 1] : 0;
	connect_ns = g.t_connected > g.t_first ? g.t_connected - g.t_first : 0;
	cps = connect_ns > 0 ? (double)g.logged_in / secs(connect_ns) : 0;
	send_ns = g.t_last_rx > g.t_send ? g.t_last_rx - g.t_send : 0;
	dps = send_ns > 0 ? (double)g.delivered / secs(send_ns) : 0;

	if (g.json) {
		printf("{\"clients\":%d,\"logged_in\":%d,\"failed\":%d,"
		    "\"registered\":%" PRIu64 ",\"rooms\":%d,\"senders\":%d,\"rate\":%u,\"duration\":%u,"
		    "\"body\":%u,\"connect_s\":%.3f,\"connects_per_s\":%.1f,"
		    "\"login_p50_ms\":%.3f,\"login_p99_ms\":%.3f,"
		    "\"join_s\":%.3f,\"sent\":%" PRIu64 ",\"acked\":%" PRIu64
		    ",\"rate_limited\":%" PRIu64 ",\"delivered\":%" PRIu64
		    ",\"expected\":%" PRIu64 ",\"delivered_per_s\":%.1f,"
		    "\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,"
		    "\"latency_max_ms\":%.3f,\"disconnects\":%d,"
		    "\"bad_frames\":%" PRIu64 ",\"errors\":{",
		    g.n, g.logged_in, g.failed, g.registrations, g.rooms,
		    g.senders, g.rate, g.duration, g.body, secs(connect_ns), cps, msecs(c50),
		    msecs(c99), g.t_joined > g.t_join ?
		    secs(g.t_joined - g.t_join) : 0.0, g.sent, g.acked,
		    g.rejected, g.delivered, g.expected, dps, msecs(lat50),
		    msecs(lat99), msecs(latmax), g.disconnects, g.bad_frames);
		for (first = 1, i = 0; i < MAX_ERR_CODE; i++)
			if (g.errors[i] != 0) {
				printf("%s\"%s\":%" PRIu64, first ? "" : ",",
				    proto_err_name((uint16_t)i), g.errors[i]);
				first = 0;
			}
		if (g.errors_other != 0)
			printf("%s\"OTHER\":%" PRIu64, first ? "" : ",",
			    g.errors_other);
		printf("},\"ok\":%s}\n", g.status == 0 ? "true" : "false");
	} else {
		printf("clients %d: logged in %d (registered %" PRIu64 "), "
		    "failed %d; rooms %d, senders %d, rate %u/s for %u s, body "
		    "%u bytes\n", g.n, g.logged_in, g.registrations, g.failed,
		    g.rooms, g.senders, g.rate,
		    g.duration, g.body);
		printf("connect: %.3f s, %.1f connects/s (connect+login per "
		    "client: p50 %.3f ms, p99 %.3f ms)\n", secs(connect_ns),
		    cps, msecs(c50), msecs(c99));
		printf("join: %.3f s\n", g.t_joined > g.t_join ?
		    secs(g.t_joined - g.t_join) : 0.0);
		printf("messages: sent %" PRIu64 ", acked %" PRIu64
		    ", rate-limited %" PRIu64 ", delivered %" PRIu64 " of %"
		    PRIu64 " expected, %.1f delivered/s\n", g.sent, g.acked,
		    g.rejected, g.delivered, g.expected, dps);
		printf("latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%zu "
		    "samples)\n", msecs(lat50), msecs(lat99), msecs(latmax),
		    g.nlat);
		printf("errors:");
		for (first = 1, i = 0; i < MAX_ERR_CODE; i++)
			if (g.errors[i] != 0) {
				printf(" %s=%" PRIu64, proto_err_name((uint16_t)i),
				    g.errors[i]);
				first = 0;
			}
		if (g.errors_other != 0) {
			printf(" OTHER=%" PRIu64, g.errors_other);
			first = 0;
		}
		printf("%s; disconnects %d, bad frames %" PRIu64 "\n",
		    first ? " none" : "", g.disconnects, g.bad_frames);
	}
	if (g.why[0] != '\0')
		fprintf(stderr, "scload: %s\n", g.why);
}

/* Room for n connections and some: raise the soft descriptor limit. */
static void
raise_nofile(int n)
{
	struct rlimit	 rl;
	rlim_t		 need = (rlim_t)n + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		perror("scload: getrlimit");
		exit(1);
	}
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >
		    need ? need : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < need) {
		fprintf(stderr, "scload: %d clients need %llu descriptors; "
		    "raise ulimit -n\n", n, (unsigned long long)need);
		exit(1);
	}
}

static void
clients_init(void)
{
	struct client	*c;
	int		 i;

	g.cl = xcalloc((size_t)g.n, sizeof(*g.cl));
	g.room_members = xcalloc((size_t)g.rooms, sizeof(*g.room_members));
	for (i = 0; i < g.n; i++) {
		c = &g.cl[i];
		c->idx = i;
		c->roomno = i % g.rooms;
		c->sender = i < g.senders;
		(void)snprintf(c->name, sizeof(c->name), "bench-%04d", i + 1);
		(void)snprintf(c->room, sizeof(c->room), "#bench-%03d",
		    c->roomno + 1);
		if (crypto_ed25519_keygen(c->sign_priv, c->sign_pub) == -1 ||
		    crypto_x25519_keygen(c->dh_priv, c->dh_pub) == -1) {
			fprintf(stderr, "scload: key generation failed\n");
			exit(1);
		}
	}
}

int
main(int argc, char *argv[])
{
	struct timeval	 tv;
	char		 err[256];
	int		 ch, port = 0;

	g.n = 10;
	g.rooms = -1;
	g.senders = -1;
	g.rate = 100;
	g.duration = 10;
	g.body = 64;
	while ((ch = getopt(argc, argv, "b:d:jM:n:p:r:R:s:")) != -1) {
		switch (ch) {
		case 'b':
			g.body = (uint32_t)number(optarg, 8, 60000, "body size");
			break;
		case 'd':
			g.duration = (uint32_t)number(optarg, 1, 3600,
			    "duration");
			break;
		case 'j':
			g.json = 1;
			break;
		case 'M':
			g.marker = optarg;
			break;
		case 'n':
			g.n = (int)number(optarg, 1, MAX_CLIENTS, "clients");
			break;
		case 'p':
			port = (int)number(optarg, 1, 65535, "port");
			break;
		case 'r':
			g.rooms = (int)number(optarg, 1, MAX_CLIENTS, "rooms");
			break;
		case 'R':
			g.rate = (uint32_t)number(optarg, 1, 100000, "rate");
			break;
		case 's':
			g.senders = (int)number(optarg, 1, MAX_CLIENTS,
			    "senders");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || port == 0)
		usage();
	if (g.rooms == -1)
		g.rooms = g.n / 50 > 1 ? g.n / 50 : 1;
	if (g.senders == -1)
		g.senders = g.n < 10 ? g.n : 10;
	if (g.rooms > g.n || g.senders > g.n) {
		fprintf(stderr, "scload: rooms and senders are at most the "
		    "number of clients\n");
		exit(2);
	}
	g.port = (uint16_t)port;
	g.total = (uint64_t)g.rate * g.duration;

	raise_nofile(g.n);
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&g.sin, 0, sizeof(g.sin));
	g.sin.sin_family = AF_INET;
	g.sin.sin_port = htons(g.port);
	g.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/*
	 * No certificate check: this is a load tool for a daemon of our own
	 * on loopback, and the handshake cost is the same either way.
	 * Full handshakes only, so every connect costs what a new one does.
	 */
	if ((g.ctx = tls_ctx_client(NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scload: TLS: %s\n", err);
		exit(1);
	}
	SSL_CTX_set_options(g.ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(g.ctx, SSL_SESS_CACHE_OFF);

	clients_init();
	if ((g.base = event_base_new()) == NULL) {
		fprintf(stderr, "scload: event_base_new failed\n");
		exit(1);
	}
	tv.tv_sec = (time_t)g.duration + SLACK_SECS;
	tv.tv_usec = 0;
	if ((g.hard = evtimer_new(g.base, hard_cb, NULL)) == NULL ||
	    evtimer_add(g.hard, &tv) == -1 ||
	    (g.sigint = evsignal_new(g.base, SIGINT, sigint_cb, NULL)) ==
	    NULL || evsignal_add(g.sigint, NULL) == -1) {
		fprintf(stderr, "scload: cannot set up events\n");
		exit(1);
	}
	g.phase = PH_CONNECT;
	launch_more();
	advance();
	if (g.phase != PH_DONE && event_base_dispatch(g.base) == -1)
		trouble("event loop failed");
	if (g.delivered < g.expected || g.acked + g.rejected < g.sent)
		trouble("%" PRIu64 " deliveries missing",
		    g.expected > g.delivered ? g.expected - g.delivered : 0);
	report();
	if (g.marker != NULL)
		(void)unlink(g.marker);
	return g.status;
}
