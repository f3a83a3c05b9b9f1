/*
 * conn.c: the client's connection: TCP to each resolved address in turn,
 * TLS 1.3 over a bufferevent, the server key check, then framed messages.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "e2e-client.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "tls.h"
#include "util.h"
#include "xmalloc.h"

static void	 connect_next(struct client *);
static void	 conn_fail(struct client *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 conn_lost_text(struct client *, const char *, const char *);

uint64_t
conn_now_us(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* An error that ends the connection: report it and leave the loop. */
static void
conn_fail(struct client *c, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*text = NULL;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	out_error(c, code, "%s", text != NULL ? text : "connection failed");
	(void)snprintf(c->last_error, sizeof(c->last_error), "%s",
	    text != NULL ? text : code);
	free(text);
	client_exit(c, EXIT_ERROR);
}

/*
 * A failure that may pass: the server restarting, a worker lost, the
 * network, a keepalive without an answer.  Once logged in (or on a
 * terminal) we try again; a script's first connection reports it.
 */
void
conn_drop(struct client *c, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*text = NULL;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	conn_lost_text(c, code, text);
	free(text);
}

static void
conn_lost_text(struct client *c, const char *code, const char *text)
{
	const char	*why;

	why = c->restart_why[0] != '\0' ? c->restart_why :
	    text != NULL ? text : code;
	(void)snprintf(c->last_error, sizeof(c->last_error), "%s", why);
	if (session_can_reconnect(c))
		session_lost(c, c->last_error);
	else {
		out_error(c, code, "%s", text != NULL ? text :
		    "connection failed");
		client_exit(c, EXIT_ERROR);
	}
	c->restart_why[0] = '\0';
}

/*
 * Count KeyUpdate messages both ways.  The callback sees decrypted
 * handshake messages, so this works although they travel encrypted.
 */
static void
msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct client	*c = arg;
	const uint8_t	*p = buf;

	if (c == NULL || content_type != SSL3_RT_HANDSHAKE || len < 1 ||
	    p[0] != SSL3_MT_KEY_UPDATE)
		return;
	if (write_p)
		c->key_updates_tx++;
	else
		c->key_updates_rx++;
}

int
conn_init(struct client *c)
{
	char	 err[512];

	TAILQ_INIT(&c->pings);
	c->fd = -1;
	c->max_frame = FRAME_MAX_DEFAULT;
	if ((c->ctx = tls_ctx_client(c->ca_file, err, sizeof(err))) == NULL) {
		out_error(c, "TLS", "%s", err);
		return -1;
	}
	SSL_CTX_set_msg_callback(c->ctx, msg_cb);
	SSL_CTX_set_msg_callback_arg(c->ctx, c);
	return 0;
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;

	if (c->state == CS_HANDSHAKE)
		conn_drop(c, "HANDSHAKE", "%s: no TLS handshake within %d "
		    "seconds", c->hostport, CLIENT_HANDSHAKE_SECS);
	else if (c->state == CS_HELLO)
		conn_drop(c, "PROTOCOL", "%s: no answer to HELLO within %d "
		    "seconds", c->hostport, CLIENT_HANDSHAKE_SECS);
	else if (c->state == CS_LOGIN)
		conn_drop(c, "PROTOCOL", "%s: no answer to LOGIN within %d "
		    "seconds", c->hostport, CLIENT_HANDSHAKE_SECS);
}

void
conn_start(struct client *c)
{
	struct addrinfo	 hints;
	char		 port[8];
	int		 r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	(void)snprintf(port, sizeof(port), "%u", c->port);
	c->max_frame = FRAME_MAX_DEFAULT;
	if ((r = getaddrinfo(c->host, port, &hints, &c->ai_list)) != 0) {
		conn_drop(c, "CONNECT", "cannot resolve %s: %s", c->host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return;
	}
	c->ai_next = c->ai_list;
	c->connect_errno = 0;
	connect_next(c);
}

SSL *
conn_ssl(struct client *c)
{
	if (c->bev == NULL)
		return NULL;
	return bufferevent_openssl_get_ssl(c->bev);
}

/*
 * The server has closed its side (a FIN or a reset came), perhaps after
 * an ERROR we have not read yet: we were stopped (Ctrl-Z, a suspended
 * laptop) or a timer fired first.  A write now draws a reset, and a
 * reset fails the next write and ends the connection with those words
 * unread.  So from here what we send waits until the input has been
 * read, or CLOSED_HOLD_MS at most; it would be lost anyway.
 */
static int
peer_closed(struct client *c)
{
	struct pollfd	 pfd;

	pfd.fd = bufferevent_getfd(c->bev);
	pfd.events = POLLIN | POLLRDHUP;
	pfd.revents = 0;
	if (pfd.fd == -1 || poll(&pfd, 1, 0) != 1)
		return 0;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static void
release_writes(struct client *c)
{
	struct evbuffer	*held = c->held_out;

	if (held == NULL)
		return;
	c->held_out = NULL;
	if (c->ev_held != NULL)
		(void)event_del(c->ev_held);
	if (c->bev != NULL && evbuffer_get_length(held) > 0 &&
	    bufferevent_write_buffer(c->bev, held) == -1) {
		evbuffer_free(held);
		conn_fail(c, "INTERNAL", "cannot queue a frame");
		return;
	}
	evbuffer_free(held);
}

static void
held_cb(evutil_socket_t fd, short what, void *arg)
{
	release_writes(arg);
}

static void
hold_writes(struct client *c)
{
	struct timeval	 tv = { CLOSED_HOLD_MS / 1000,
			    (CLOSED_HOLD_MS % 1000) * 1000 };

	if (c->ev_held == NULL &&
	    (c->ev_held = evtimer_new(c->base, held_cb, c)) == NULL)
		fatalx("evtimer_new");
	if ((c->held_out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	if (evtimer_add(c->ev_held, &tv) == -1)
		fatalx("evtimer_add");
}

void
conn_send(struct client *c, struct frame_buf *b)
{
	if (c->bev == NULL) {
		/* The connection went while a reply was being built. */
		frame_buf_free(b);
		return;
	}
	if (frame_finish(b) == -1) {
		frame_buf_free(b);
		conn_fail(c, "INTERNAL", "cannot build a frame");
		return;
	}
	if (c->held_out == NULL && c->state != CS_CLOSING && peer_closed(c))
		hold_writes(c);
	if (c->held_out != NULL) {
		if (evbuffer_add(c->held_out, b->data, b->len) == -1) {
			frame_buf_free(b);
			conn_fail(c, "INTERNAL", "cannot hold a frame");
			return;
		}
	} else if (bufferevent_write(c->bev, b->data, b->len) == -1) {
		frame_buf_free(b);
		conn_fail(c, "INTERNAL", "cannot queue a frame");
		return;
	}
	frame_buf_free(b);
}

static void
send_hello(struct client *c)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_HELLO, c->max_frame);
	frame_put_u16(&b, F_VERSION, PROTO_VERSION);
	frame_put_str(&b, F_SOFTWARE, PROTO_NAME " " PACKAGE_VERSION);
	conn_send(c, &b);
}

static void
send_token(struct client *c, uint16_t type, const uint8_t *tok, size_t len)
{
	struct frame_buf	 b;

	frame_begin(&b, type, c->max_frame);
	frame_put_bytes(&b, F_TOKEN, tok, len);
	conn_send(c, &b);
}

int
conn_ping(struct client *c, enum ping_kind kind)
{
	struct ping	*p;

	if (c->state != CS_READY) {
		out_error(c, "NOT_CONNECTED", "not connected");
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	if (RAND_bytes(p->token, sizeof(p->token)) != 1) {
		free(p);
		out_error(c, "INTERNAL", "RAND_bytes failed");
		return -1;
	}
	p->kind = kind;
	p->sent_us = conn_now_us();
	(void)str_copy(p->reqid, outbox_request(), sizeof(p->reqid));
	TAILQ_INSERT_TAIL(&c->pings, p, entry);
	send_token(c, MSG_PING, p->token, sizeof(p->token));
	return 0;
}

/* Pings lost with a connection are asked again: a script waits for them. */
void
conn_resend_pings(struct client *c)
{
	struct ping	*p;

	TAILQ_FOREACH(p, &c->pings, entry) {
		p->sent_us = conn_now_us();
		send_token(c, MSG_PING, p->token, sizeof(p->token));
	}
}

/* Our close_notify goes out only after everything queued has been sent. */
static void
finish_close(struct client *c)
{
	SSL	*ssl;

	if ((ssl = bufferevent_openssl_get_ssl(c->bev)) != NULL &&
	    SSL_shutdown(ssl) < 0)
		/* The peer may be gone already; we are leaving anyway. */
		ERR_clear_error();
	client_exit(c, c->exit_status);
}

void
conn_close(struct client *c)
{
	if (c->state == CS_DONE || c->state == CS_CLOSING)
		return;
	if (c->bev == NULL || c->state != CS_READY) {
		chat_delivered(c, 1);
		client_exit(c, c->exit_status);
		return;
	}
	/* What was shown is told before we go, or it comes again next time. */
	chat_delivered(c, 1);
	release_writes(c);
	if (c->bev == NULL)
		return;
	c->state = CS_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		finish_close(c);
	/* Otherwise write_cb finishes once the output has drained. */
}

/* Drop the connection, keep what outlives it (pings, TLS context). */
void
conn_reset(struct client *c)
{
	keepalive_stop(c);
	if (c->ev_connect != NULL)
		event_free(c->ev_connect);
	c->ev_connect = NULL;
	if (c->ev_deadline != NULL)
		event_free(c->ev_deadline);
	c->ev_deadline = NULL;
	if (c->held_out != NULL)
		evbuffer_free(c->held_out);	/* for this connection only */
	c->held_out = NULL;
	if (c->ev_held != NULL)
		(void)event_del(c->ev_held);
	if (c->bev != NULL)
		bufferevent_free(c->bev);	/* closes the socket, frees SSL */
	c->bev = NULL;
	if (c->fd != -1)
		(void)close(c->fd);
	c->fd = -1;
	if (c->ai_list != NULL)
		freeaddrinfo(c->ai_list);
	c->ai_list = NULL;
	c->ai_next = NULL;
	c->server_error = 0;
}

void
conn_free(struct client *c)
{
	struct ping	*p;

	while ((p = TAILQ_FIRST(&c->pings)) != NULL) {
		TAILQ_REMOVE(&c->pings, p, entry);
		free(p);
	}
	conn_reset(c);
	if (c->ev_held != NULL)
		event_free(c->ev_held);
	c->ev_held = NULL;
	keepalive_free(c);
	SSL_CTX_free(c->ctx);
	c->ctx = NULL;
	OPENSSL_cleanse(c->fp, sizeof(c->fp));
}

static void
protocol_error(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
protocol_error(struct client *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*text = NULL;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	conn_fail(c, "PROTOCOL", "protocol error from %s: %s", c->hostport,
	    text != NULL ? text : "?");
	free(text);
}

/*
 * The server's rekey interval also paces our room chains (docs/DESIGN.md
 * section 7).  The server is not trusted to stretch a chain's life: its
 * values are capped at E2EC_REKEY_CAP_S, and without them the defaults
 * hold.
 */
static void
welcome_rekey(struct client *c, const struct frame *f)
{
	uint32_t	 lo, hi;

	c->rekey_min_s = E2EC_REKEY_MIN_S;
	c->rekey_max_s = E2EC_REKEY_MAX_S;
	if (frame_get_u32(f, F_REKEY_MIN, &lo) == -1 ||
	    frame_get_u32(f, F_REKEY_MAX, &hi) == -1 || lo == 0 || lo > hi)
		return;
	if (hi > E2EC_REKEY_CAP_S)
		hi = E2EC_REKEY_CAP_S;
	if (lo > hi)
		lo = hi;
	c->rekey_min_s = lo;
	c->rekey_max_s = hi;
}

static void
handle_welcome(struct client *c, const struct frame *f)
{
	uint32_t	 max, idle = 0;
	uint16_t	 version;
	const uint8_t	*nonce, *epoch;
	size_t		 noncelen, epochlen;

	if (c->state != CS_HELLO) {
		protocol_error(c, "unexpected WELCOME");
		return;
	}
	if (frame_get_u16(f, F_VERSION, &version) == -1) {
		protocol_error(c, "WELCOME without a version");
		return;
	}
	if (version != PROTO_VERSION) {
		protocol_error(c, "server speaks protocol %u, we speak %u",
		    version, PROTO_VERSION);
		return;
	}
	if (frame_get_str(f, F_SOFTWARE, c->software,
	    sizeof(c->software)) == -1)
		(void)snprintf(c->software, sizeof(c->software), "unknown");
	if (frame_get_u32(f, F_MAX_FRAME, &max) == 0) {
		if (max < FRAME_MIN_MAX || max > FRAME_MAX_CEILING) {
			protocol_error(c, "max frame %lu out of range",
			    (unsigned long)max);
			return;
		}
		c->max_frame = max;
	}
	if (frame_get_u32(f, F_IDLE_TIMEOUT, &idle) == 0)
		c->idle_timeout = idle;
	welcome_rekey(c, f);
	if (frame_get_bytes(f, F_NONCE, &nonce, &noncelen) == -1 ||
	    noncelen != NONCE_LEN) {
		protocol_error(c, "WELCOME without a %d-byte login nonce",
		    NONCE_LEN);
		return;
	}
	c->proto_version = version;
	if (!c->logged_in_once || c->json)
		out_welcome(c);
	/* Before any event: seqs count in this database. */
	if (frame_get_bytes(f, F_EPOCH, &epoch, &epochlen) == 0 &&
	    epochlen == EPOCH_LEN)
		chat_epoch(c, epoch);
	/* The deadline keeps running: it now bounds the login too. */
	session_welcome(c, nonce);
}

static void
handle_pong(struct client *c, const struct frame *f)
{
	struct ping	*p;
	const uint8_t	*tok;
	size_t		 len;
	double		 rtt;

	if (frame_get_bytes(f, F_TOKEN, &tok, &len) == -1) {
		protocol_error(c, "PONG without a token");
		return;
	}
	TAILQ_FOREACH(p, &c->pings, entry) {
		if (len == sizeof(p->token) &&
		    CRYPTO_memcmp(tok, p->token, len) == 0)
			break;
	}
	/* A keepalive's, or one we did not ask for: nothing to show. */
	if (p == NULL)
		return;
	TAILQ_REMOVE(&c->pings, p, entry);
	rtt = (double)(conn_now_us() - p->sent_us) / 1000.0;
	outbox_set_request(p->reqid);
	if (p->kind == PING_STATUS)
		out_status(c, rtt);
	else
		out_pong(c, rtt);
	outbox_set_request(NULL);
	free(p);
	client_check_done(c);
}

static void
handle_error(struct client *c, const struct frame *f)
{
	uint16_t	 code = 0;
	uint32_t	 retry = 0;
	char		 text[1024];
	int		 has_retry;

	if (session_error(c, f))
		return;
	if (frame_get_u16(f, F_CODE, &code) == -1)
		code = 0;
	if (frame_get_str(f, F_TEXT, text, sizeof(text)) == -1)
		(void)snprintf(text, sizeof(text), "(no text)");
	has_retry = frame_get_u32(f, F_RETRY_AFTER_MS, &retry) == 0;
	c->server_error = 1;
	out_server_error(c, code, text, has_retry, retry);
	(void)snprintf(c->last_error, sizeof(c->last_error), "server error "
	    "%s: %.200s", proto_err_name(code) != NULL ?
	    proto_err_name(code) : "UNKNOWN", text);
	/* The server ends the session after an ERROR; so do we. */
	c->exit_status = EXIT_ERROR;
	c->no_reconnect = 1;
	if (c->state == CS_READY)
		conn_close(c);
	else
		client_exit(c, EXIT_ERROR);
}

static void
handle_frame(struct client *c, const struct frame *f)
{
	const struct frame_field	*fld;
	char				 text[4096];
	int				 r;

	if ((r = frame_validate(f, proto_server_spec(f->type))) != FRAME_OK) {
		protocol_error(c, "bad %s frame: %s", proto_msg_name(f->type),
		    frame_strerror(r));
		return;
	}
	switch (f->type) {
	case MSG_WELCOME:
		handle_welcome(c, f);
		break;
	case MSG_PING:
		if ((fld = frame_get(f, F_TOKEN)) == NULL) {
			protocol_error(c, "PING without a token");
			return;
		}
		send_token(c, MSG_PONG, fld->val, fld->len);
		break;
	case MSG_PONG:
		if (c->state != CS_READY && c->state != CS_CLOSING) {
			protocol_error(c, "unexpected PONG");
			return;
		}
		handle_pong(c, f);
		break;
	case MSG_ERROR:
		handle_error(c, f);
		break;
	case MSG_NOTICE:
		if (frame_get_str(f, F_TEXT, text, sizeof(text)) == -1) {
			protocol_error(c, "NOTICE without text");
			return;
		}
		if (frame_get(f, F_OPERATOR) != NULL) {
			char	 room[ROOM_MAX_LEN + 1];
			int	 has_room;

			has_room = frame_get_str(f, F_ROOM, room,
			    sizeof(room)) == 0;
			out_operator_notice(c, has_room ? room : NULL, text);
			break;
		}
		/* It may answer a request: the event says which. */
		if (c->state == CS_READY)
			chat_notice(c, text);
		out_server_notice(c, text);
		outbox_set_request(NULL);
		break;
	default:
		if (c->state == CS_LOGIN) {
			if (c->ev_deadline != NULL)
				(void)event_del(c->ev_deadline);
			session_frame(c, f);
		} else if (c->state != CS_READY || !chat_frame(c, f))
			protocol_error(c, "unexpected %s",
			    proto_msg_name(f->type));
		break;
	}
}

/*
 * Take every whole frame off the input; a partial one waits for more.
 * Only the buffer is read, so the fuzz harness calls it without a socket.
 */
void
conn_process_input(struct client *c)
{
	struct evbuffer	*in;
	struct frame	 f;
	uint8_t		*p;
	size_t		 len, flen;
	int		 r;

	in = bufferevent_get_input(c->bev);
	while (c->state == CS_HELLO || c->state == CS_LOGIN ||
	    c->state == CS_READY) {
		if ((len = evbuffer_get_length(in)) < FRAME_HDR_LEN)
			break;
		if (len > c->max_frame)
			len = c->max_frame;
		if ((p = evbuffer_pullup(in, (ev_ssize_t)len)) == NULL) {
			conn_fail(c, "INTERNAL", "out of memory");
			return;
		}
		r = frame_peek(p, len, c->max_frame, &flen);
		if (r == FRAME_NEED_MORE)
			break;
		if (r != FRAME_OK) {
			protocol_error(c, "%s", frame_strerror(r));
			return;
		}
		if ((r = frame_decode(p, flen, &f)) != FRAME_OK) {
			protocol_error(c, "%s", frame_strerror(r));
			return;
		}
		handle_frame(c, &f);
		/* f points into the buffer: drain only after handling it. */
		if (c->bev != NULL && evbuffer_drain(in, flen) == -1) {
			conn_fail(c, "INTERNAL", "evbuffer_drain failed");
			return;
		}
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;
	SSL		*ssl;

	keepalive_seen(c);
	if (c->state == CS_HELLO || c->state == CS_LOGIN ||
	    c->state == CS_READY)
		conn_process_input(c);
	else
		/* Closing: the session is over, what follows is not read. */
		(void)evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
	/*
	 * libevent only writes when it has data, so a KeyUpdate the server
	 * asked us to answer would wait for our next message; push it now.
	 */
	if (c->bev == NULL)
		return;		/* the session dropped this connection */
	if (c->state != CS_DONE && (ssl = bufferevent_openssl_get_ssl(bev)) &&
	    SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE &&
	    SSL_do_handshake(ssl) != 1)
		/* WANT_WRITE: it leaves with the next record instead. */
		ERR_clear_error();
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	if (c->state == CS_CLOSING)
		finish_close(c);
}

/*
 * After the handshake, before any byte of ours: is this the server we
 * meant?  With --ca-file the TLS layer already checked the chain and the
 * name; otherwise the key must match the pin, or be new.
 */
static void
check_server(struct client *c)
{
	SSL		*ssl;
	X509		*peer;
	uint8_t		 pinned[TLS_FP_LEN];
	char		 pinned_str[FP_STR_LEN], err[512];
	const char	*s;
	int		 r;

	ssl = bufferevent_openssl_get_ssl(c->bev);
	if ((peer = SSL_get1_peer_certificate(ssl)) == NULL) {
		conn_fail(c, "HANDSHAKE", "%s sent no certificate",
		    c->hostport);
		return;
	}
	r = tls_spki_fingerprint(X509_get0_pubkey(peer), c->fp);
	X509_free(peer);
	if (r == -1) {
		conn_fail(c, "HANDSHAKE", "cannot hash the key of %s",
		    c->hostport);
		return;
	}
	known_fp_string(c->fp, c->fp_str);
	(void)snprintf(c->tls_version, sizeof(c->tls_version), "%s",
	    SSL_get_version(ssl));
	s = SSL_get_cipher_name(ssl);
	(void)snprintf(c->cipher, sizeof(c->cipher), "%s", s ? s : "unknown");
	(void)snprintf(c->group, sizeof(c->group), "%s", tls_group_name(ssl));

	if (c->ca_file != NULL) {
		if (SSL_get_verify_result(ssl) != X509_V_OK) {
			conn_fail(c, "HANDSHAKE", "certificate of %s not "
			    "verified", c->hostport);
			return;
		}
	} else {
		r = known_lookup(c->known_file, c->hostport, pinned, err,
		    sizeof(err));
		if (r == -1) {
			conn_fail(c, "KNOWN_SERVERS", "%s", err);
			return;
		}
		if (r == KNOWN_FOUND &&
		    CRYPTO_memcmp(pinned, c->fp, TLS_FP_LEN) != 0) {
			known_fp_string(pinned, pinned_str);
			c->no_reconnect = 1;
			out_key_changed(c, pinned_str, c->fp_str);
			(void)snprintf(c->last_error, sizeof(c->last_error),
			    "the server's key has changed (see above)");
			client_exit(c, EXIT_KEY_CHANGED);
			return;
		}
		if (r == KNOWN_NONE) {
			if (known_add(c->known_file, c->hostport, c->fp, err,
			    sizeof(err)) == -1) {
				conn_fail(c, "KNOWN_SERVERS", "%s", err);
				return;
			}
			out_pinned(c);
		}
	}
	/* After a reconnect people need one line ("reconnected"), not three. */
	if (!c->logged_in_once || c->json)
		out_connected(c);
	c->state = CS_HELLO;
	send_hello(c);
}

/*
 * Why did the handshake end?  A TLS alert or a certificate problem is a
 * handshake failure; a bare close or reset with nothing from OpenSSL is
 * the server turning us away before TLS started (connection limits).
 */
static void
handshake_failed(struct client *c, short what)
{
	SSL		*ssl;
	unsigned long	 e, tlserr = 0;
	long		 vr;
	char		 buf[256];

	while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
		/* libevent also queues bare SSL_get_error() codes (lib 0). */
		if (ERR_GET_LIB(e) == 0)
			continue;
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			continue;
		if (tlserr == 0)
			tlserr = e;
	}
	if (tlserr == 0) {
		conn_drop(c, "REFUSED", "%s: server refused the connection "
		    "(closed during the TLS handshake: connection limit "
		    "reached?)", c->hostport);
		return;
	}
	ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl != NULL && c->ca_file != NULL &&
	    (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		conn_fail(c, "HANDSHAKE", "%s: certificate verification "
		    "failed: %s", c->hostport,
		    X509_verify_cert_error_string(vr));
		return;
	}
	ERR_error_string_n(tlserr, buf, sizeof(buf));
	conn_fail(c, "HANDSHAKE", "%s: TLS handshake failed: %s",
	    c->hostport, buf);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;
	unsigned long	 e;
	char		 buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		check_server(c);
		return;
	}
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
		return;
	switch (c->state) {
	case CS_HANDSHAKE:
		handshake_failed(c, what);
		break;
	case CS_HELLO:
	case CS_LOGIN:
	case CS_READY:
		/* An ERROR frame may sit in front of the close. */
		conn_process_input(c);
		if (c->state == CS_DONE || c->state == CS_BACKOFF)
			break;
		if (c->server_error) {
			client_exit(c, EXIT_ERROR);
			break;
		}
		if (what & BEV_EVENT_EOF) {
			conn_drop(c, "CLOSED", "%s closed the connection",
			    c->hostport);
			break;
		}
		buf[0] = '\0';
		while ((e = bufferevent_get_openssl_error(bev)) != 0)
			if (ERR_GET_LIB(e) != 0 && buf[0] == '\0')
				ERR_error_string_n(e, buf, sizeof(buf));
		conn_drop(c, "CLOSED", "connection to %s lost: %s",
		    c->hostport, buf[0] != '\0' ? buf :
		    strerror(EVUTIL_SOCKET_ERROR()));
		break;
	case CS_CLOSING:
		/* We were leaving anyway; the server was quicker. */
		client_exit(c, c->exit_status);
		break;
	default:
		break;
	}
}

static void
tls_start(struct client *c)
{
	SSL		*ssl;
	struct in6_addr	 a6;
	struct in_addr	 a4;
	struct timeval	 tv;
	int		 is_ip, fd;

	if ((ssl = SSL_new(c->ctx)) == NULL) {
		conn_fail(c, "TLS", "SSL_new failed");
		return;
	}
	is_ip = inet_pton(AF_INET, c->host, &a4) == 1 ||
	    inet_pton(AF_INET6, c->host, &a6) == 1;
	/* SNI carries names only (RFC 6066). */
	if (!is_ip && SSL_set_tlsext_host_name(ssl, c->host) != 1) {
		SSL_free(ssl);
		conn_fail(c, "TLS", "cannot set the server name");
		return;
	}
	if (c->ca_file != NULL) {
		/* SSL_set1_host takes DNS names; addresses need their own check. */
		if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    c->host) != 1 : SSL_set1_host(ssl, c->host) != 1) {
			SSL_free(ssl);
			conn_fail(c, "TLS", "cannot set the expected name");
			return;
		}
	}
	fd = c->fd;
	c->fd = -1;
	/*
	 * Deferred callbacks run the read callback before the event one:
	 * without them, libevent would report the end before committing the
	 * last bytes of the read that met it, and an ERROR sent with the
	 * close_notify would be lost (t-bye).
	 */
	c->bev = bufferevent_openssl_socket_new(c->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		/* On failure libevent has already freed ssl and closed fd. */
		conn_fail(c, "TLS", "cannot create the TLS bufferevent");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1) {
		conn_fail(c, "TLS", "cannot enable the TLS bufferevent");
		return;
	}
	c->state = CS_HANDSHAKE;
	/* A server that accepts and then stalls must not hang a script. */
	if ((c->ev_deadline = evtimer_new(c->base, deadline_cb, c)) == NULL)
		fatalx("evtimer_new");
	tv.tv_sec = CLIENT_HANDSHAKE_SECS;
	tv.tv_usec = 0;
	if (evtimer_add(c->ev_deadline, &tv) == -1)
		fatalx("evtimer_add");
}

static void
connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	socklen_t	 len;
	int		 err = 0;

	event_free(c->ev_connect);
	c->ev_connect = NULL;
	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else {
		len = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
	}
	if (err != 0) {
		c->connect_errno = err;
		(void)close(c->fd);
		c->fd = -1;
		connect_next(c);
		return;
	}
	tls_start(c);
}

/* Try the next address; report the last failure when none is left. */
static void
connect_next(struct client *c)
{
	struct addrinfo	*ai;
	struct timeval	 tv;
	int		 fd, on = 1;

	c->state = CS_CONNECTING;
	while ((ai = c->ai_next) != NULL) {
		c->ai_next = ai->ai_next;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			c->connect_errno = errno;
			continue;
		}
		c->fd = fd;
		/* Small interactive messages: do not hold one back for an ACK. */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on)) == -1)
			c->connect_errno = errno;	/* slower, not broken */
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			tls_start(c);
			return;
		}
		if (errno != EINPROGRESS) {
			c->connect_errno = errno;
			(void)close(fd);
			c->fd = -1;
			continue;
		}
		c->ev_connect = event_new(c->base, fd, EV_WRITE, connect_cb, c);
		if (c->ev_connect == NULL)
			fatalx("event_new");
		tv.tv_sec = CLIENT_CONNECT_SECS;
		tv.tv_usec = 0;
		if (event_add(c->ev_connect, &tv) == -1)
			fatalx("event_add");
		return;
	}
	conn_drop(c, "CONNECT", "cannot connect to %s: %s", c->hostport,
	    strerror(c->connect_errno != 0 ? c->connect_errno : EHOSTUNREACH));
}
