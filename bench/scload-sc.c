/*
 * scload-sc.c: scload's securechat side: HELLO, LOGIN (or REGISTER for a
 * new user), JOIN, SEND, and the frames that come back, with the project's
 * own frame codec.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "crypto.h"
#include "frame.h"
#include "proto.h"
#include "scload.h"
#include "util.h"

/* As the client (CLIENT_DELIVERED_*): DELIVERED this late, or this often. */
#define ACK_EVERY	256		/* events */
#define ACK_LATE_NS	(1000 * 1000 * 1000ULL)
#define SC_ID_OFF	8		/* sender and seq follow the time */
#define SC_MAX_BODY	60000

static void
send_frame(struct client *c, struct frame_buf *b)
{
	if (frame_finish(b) == -1) {
		load_trouble("%s: cannot build a frame", c->name);
		frame_buf_free(b);
		return;
	}
	load_write(c, b->data, b->len);
	frame_buf_free(b);
}

static void
sc_start(struct client *c)
{
	struct frame_buf	 b;

	c->sc.max_frame = FRAME_MAX_DEFAULT;	/* until WELCOME says */
	frame_begin(&b, MSG_HELLO, c->sc.max_frame);
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
		load_close(c, "unexpected or bad WELCOME");
		return;
	}
	c->sc.max_frame = mf;
	memcpy(c->sc.nonce, nonce, NONCE_LEN);
	ssl = bufferevent_openssl_get_ssl(c->bev);
	if (ssl == NULL || SSL_export_keying_material(ssl, c->sc.exporter,
	    EXPORTER_LEN, EXPORTER_LABEL, strlen(EXPORTER_LABEL), NULL, 0,
	    0) != 1) {
		load_close(c, "no TLS exporter");
		return;
	}
	parts[0].p = LOGIN_CONTEXT;
	parts[0].len = strlen(LOGIN_CONTEXT);
	parts[1].p = c->sc.nonce;
	parts[1].len = NONCE_LEN;
	parts[2].p = c->sc.exporter;
	parts[2].len = EXPORTER_LEN;
	parts[3].p = c->name;
	parts[3].len = strlen(c->name);
	if (crypto_ed25519_sign_parts(c->sc.sign_priv, parts, 4,
	    c->sc.login_sig) == -1) {
		load_close(c, "cannot sign");
		return;
	}
	frame_begin(&b, MSG_LOGIN, c->sc.max_frame);
	frame_put_str(&b, F_NAME, c->name);
	frame_put_bytes(&b, F_SIGNATURE, c->sc.login_sig, SIG_LEN);
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
	parts[1].p = c->sc.dh_pub;
	parts[1].len = KEY_LEN;
	if (crypto_ed25519_sign_parts(c->sc.sign_priv, parts, 2, bsig) == -1) {
		load_close(c, "cannot sign");
		return;
	}
	frame_begin(&b, MSG_REGISTER, c->sc.max_frame);
	frame_put_str(&b, F_NAME, c->name);
	frame_put_bytes(&b, F_SIGN_PUB, c->sc.sign_pub, KEY_LEN);
	frame_put_bytes(&b, F_DH_PUB, c->sc.dh_pub, KEY_LEN);
	frame_put_bytes(&b, F_BINDING_SIG, bsig, SIG_LEN);
	frame_put_bytes(&b, F_SIGNATURE, c->sc.login_sig, SIG_LEN);
	send_frame(c, &b);
	c->state = CS_REGISTER;
}

static void
on_logged_in(struct client *c)
{
	if (c->state != CS_LOGIN && c->state != CS_REGISTER) {
		load_close(c, "unexpected LOGGED_IN");
		return;
	}
	load_logged_in(c);
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
		load.registrations++;
		send_register(c);
		return;
	}
	load_error(proto_err_name(code));
	if (code == ERR_RATE_LIMITED) {
		/* The message was refused, not stored: send it again later. */
		(void)frame_get_u32(f, F_RETRY_AFTER_MS, &retry);
		load_refused(c, retry);
		return;
	}
	if (frame_get_str(f, F_TEXT, text, sizeof(text)) == -1)
		(void)str_copy(text, "?", sizeof(text));
	if (proto_err_is_fatal(code)) {
		fprintf(stderr, "scload: %s: ERROR %s: %s\n", c->name,
		    proto_err_name(code), text);
		load_close(c, proto_err_name(code));
	} else
		load_trouble("%s: ERROR %s: %s", c->name, proto_err_name(code),
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
	load.pings++;
	frame_begin(&b, MSG_PONG, c->sc.max_frame);
	frame_put_bytes(&b, F_TOKEN, tok, len);
	send_frame(c, &b);
}

static void
send_delivered(struct client *c)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_DELIVERED, c->sc.max_frame);
	frame_put_str(&b, F_ROOM, c->room);
	frame_put_u64(&b, F_SEQ, c->sc.last_seq);
	send_frame(c, &b);
	c->sc.unacked = 0;
}

static void
on_room_event(struct client *c, const struct frame *f)
{
	const uint8_t	*body;
	size_t		 len;
	uint64_t	 seq, ts = 0;
	uint32_t	 mseq = 0;
	uint64_t	 now = load_now();
	uint8_t		 kind;
	int		 sender = -1;
	char		 from[NAME_MAX_LEN + 1];

	if (frame_get_u8(f, F_KIND, &kind) == -1 ||
	    frame_get_u64(f, F_SEQ, &seq) == -1 ||
	    frame_get_str(f, F_FROM, from, sizeof(from)) == -1) {
		load.bad_frames++;
		return;
	}
	if (seq > c->sc.last_seq)
		c->sc.last_seq = seq;
	/* The client's timer is checked at the next event: close enough. */
	if (c->sc.unacked++ == 0)
		c->sc.unacked_ns = now;
	if (c->sc.unacked >= ACK_EVERY || now - c->sc.unacked_ns >= ACK_LATE_NS)
		send_delivered(c);
	if (kind == EVENT_JOIN)
		load_join_seen(c, strcmp(from, c->name) == 0);
	else if (kind == EVENT_MESSAGE) {
		if (frame_get_bytes(f, F_BODY, &body, &len) == 0 && len >= 8) {
			ts = be64_get(body);
			if (len >= SC_ID_OFF + 8) {
				sender = (int)be32_get(body + SC_ID_OFF);
				mseq = be32_get(body + SC_ID_OFF + 4);
			}
		}
		load_delivered(c, ts, sender, mseq);
	}
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
		load_accepted(c);
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
sc_input(struct client *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	struct frame	 f;
	uint8_t		*p;
	size_t		 avail, flen;
	int		 r;

	while (c->bev != NULL && (avail = evbuffer_get_length(in)) >=
	    FRAME_HDR_LEN) {
		if ((p = evbuffer_pullup(in, FRAME_HDR_LEN)) == NULL)
			break;
		flen = FRAME_HDR_LEN + (size_t)be32_get(p);
		if (flen > c->sc.max_frame) {
			load.bad_frames++;
			load_close(c, "frame above max_frame");
			return;
		}
		if (avail < flen)
			break;
		if ((p = evbuffer_pullup(in, (ssize_t)flen)) == NULL)
			break;
		if ((r = frame_decode(p, flen, &f)) != FRAME_OK ||
		    (r = frame_validate(&f, proto_server_spec(f.type))) !=
		    FRAME_OK) {
			load.bad_frames++;
			fprintf(stderr, "scload: %s: bad frame from the "
			    "server: %s\n", c->name, frame_strerror(r));
			load_close(c, "bad frame");
			return;
		}
		dispatch(c, &f);
		if (c->bev == NULL)
			return;
		(void)evbuffer_drain(in, flen);
	}
}

static void
sc_join(struct client *c)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_JOIN, c->sc.max_frame);
	frame_put_str(&b, F_ROOM, c->room);
	send_frame(c, &b);
}

/*
 * One chat message: the 8-byte send time; with room for them, the sender's
 * index and the message's seq (for the flood window); then padding.
 */
static void
sc_message(struct client *c, uint64_t ts, int sender, uint64_t seq)
{
	static uint8_t		 body[SC_MAX_BODY];
	struct frame_buf	 b;
	uint64_t		 id;

	if (load.body > sizeof(body))
		abort();
	memset(body, 'x', load.body);
	be64_put(body, ts);
	if (load.body >= SC_ID_OFF + 8) {
		be32_put(body + SC_ID_OFF, (uint32_t)sender);
		be32_put(body + SC_ID_OFF + 4, (uint32_t)seq);
	}
	do {
		if (crypto_random(&id, sizeof(id)) == -1) {
			fprintf(stderr, "scload: crypto_random failed\n");
			exit(1);
		}
	} while (id == 0);
	frame_begin(&b, MSG_SEND, c->sc.max_frame);
	frame_put_str(&b, F_ROOM, c->room);
	frame_put_u64(&b, F_CLIENT_MSG_ID, id);
	frame_put_bytes(&b, F_BODY, body, load.body);
	send_frame(c, &b);
}

const struct load_proto load_proto_sc = {
	.name = "securechat",
	.has_ack = 1,
	.self_delivery = 1,
	.min_body = 8,
	.ids_body = SC_ID_OFF + 8,
	.max_body = SC_MAX_BODY,
	.start = sc_start,
	.input = sc_input,
	.join = sc_join,
	.message = sc_message,
};
