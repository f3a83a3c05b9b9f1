/*
 * schostile.c: a hostile but well-formed client for the integration tests
 * and bench/abuse.sh.  It logs in like a real client and then abuses the
 * service: floods of requests it never reads, room and registration floods,
 * an inbox filled to the brim.  Every result is one JSON line.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "crypto.h"
#include "frame.h"
#include "probe.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

#define DEFAULT_TIMEOUT	60
#define MAX_COUNT	1000000
#define WINDOW		64		/* requests in flight at once */
#define STALL_MS	3000		/* no write progress: the server holds us */
#define IN_MAX		(FRAME_MAX_CEILING + FRAME_HDR_LEN)
#define MAX_CODES	256
#define FILL_WAIT_MAX_MS 10000	/* a longer RATE_LIMITED ends a fill */

/* One logged-in (or logging-in) connection. */
struct peer {
	int		 fd;
	SSL		*ssl;
	char		 name[NAME_MAX_LEN + 1];
	uint8_t		 sign_priv[KEY_LEN], sign_pub[KEY_LEN];
	uint8_t		 dh_priv[KEY_LEN], dh_pub[KEY_LEN];
	size_t		 max_frame;
	uint8_t		*in;
	size_t		 inlen, incap;
	uint8_t		*out;
	size_t		 outlen, outcap;
	int		 closed;	/* EOF or error from the server */
	int		 registered;
	uint16_t	 error;		/* the ERROR that ended the login */
	uint64_t	 login_ms;
};

/* Error codes seen, for the JSON summary. */
static unsigned long	 errors[MAX_CODES];

static const char	*host, *port;
static const char	*go_file;	/* -W: lastwords waits for it to exist */
static SSL_CTX		*ctx;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: schostile [-s source] [-t timeout] [-u user] [-W file] "
	    "host port command [args]\n"
	    "commands: login | relogin n | join n prefix |\n"
	    "          amplify rooms|info|who:#room|keys:name n hold |\n"
	    "          burst rooms|info|who:#room|keys:name n |\n"
	    "          fill to n size | lastwords to n size [record [bad]] |\n"
	    "          inbox [ack] | register n prefix | list rooms|who:#room\n");
	exit(2);
}

static void
count_error(uint16_t code)
{
	errors[code < MAX_CODES ? code : 0]++;
}

/* The keys of a name: the same every run, so a user can come back. */
static void
peer_keys(struct peer *p, const char *name)
{
	char	 seed[64];

	if (str_copy(p->name, name, sizeof(p->name)) == -1 ||
	    proto_fold_user(p->name) == -1)
		probe_die("not a valid user name");
	(void)snprintf(seed, sizeof(seed), "schostile sign %s", p->name);
	if (crypto_sha256(seed, strlen(seed), p->sign_priv) == -1 ||
	    crypto_ed25519_public(p->sign_priv, p->sign_pub) == -1)
		probe_die("cannot make keys");
	(void)snprintf(seed, sizeof(seed), "schostile dh %s", p->name);
	if (crypto_sha256(seed, strlen(seed), p->dh_priv) == -1 ||
	    crypto_x25519_public(p->dh_priv, p->dh_pub) == -1)
		probe_die("cannot make keys");
}

static void
peer_queue(struct peer *p, struct frame_buf *b)
{
	if (frame_finish(b) == -1)
		probe_die("cannot build a frame");
	if (p->outlen + b->len > p->outcap) {
		p->outcap = (p->outlen + b->len) * 2;
		p->out = xreallocarray(p->out, p->outcap, 1);
	}
	memcpy(p->out + p->outlen, b->data, b->len);
	p->outlen += b->len;
	frame_buf_free(b);
}

/*
 * One step of I/O: write what the socket takes, read what is there when
 * reading, wait at most ms for either.  Returns 1 if something moved.
 */
static int
peer_io(struct peer *p, int reading, int ms)
{
	struct pollfd	 pfd;
	int		 r, moved = 0, left;

	while (p->outlen > 0 && !p->closed) {
		r = SSL_write(p->ssl, p->out, (int)(p->outlen > INT_MAX ?
		    INT_MAX : p->outlen));
		if (r <= 0) {
			if (SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_WRITE &&
			    SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_READ)
				p->closed = 1;
			ERR_clear_error();
			break;
		}
		memmove(p->out, p->out + r, p->outlen - r);
		p->outlen -= r;
		moved = 1;
	}
	while (reading && !p->closed) {
		if (p->incap - p->inlen < 16384) {
			if (p->incap >= IN_MAX)
				break;
			p->incap = p->incap ? p->incap * 2 : 65536;
			p->in = xreallocarray(p->in, p->incap, 1);
		}
		r = SSL_read(p->ssl, p->in + p->inlen, (int)(p->incap -
		    p->inlen));
		if (r <= 0) {
			if (SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_READ &&
			    SSL_get_error(p->ssl, r) != SSL_ERROR_WANT_WRITE)
				p->closed = 1;
			ERR_clear_error();
			break;
		}
		p->inlen += r;
		moved = 1;
	}
	if (moved || p->closed || ms == 0)
		return moved;
	if ((left = probe_remaining_ms()) == 0)
		return 0;
	pfd.fd = p->fd;
	pfd.events = (reading ? POLLIN : 0) | (p->outlen > 0 ? POLLOUT : 0);
	pfd.revents = 0;
	/* Nothing to wait for (answers unread on purpose): just sleep. */
	(void)poll(&pfd, pfd.events != 0, ms < left ? ms : left);
	return 0;
}

/*
 * The next whole frame read, decoded into f (pointing into *copy), PINGs
 * answered on the way as a client does; 0 if none is there yet.
 */
static int
peer_frame(struct peer *p, struct frame *f, uint8_t **copy)
{
	struct frame_buf	 b;
	const uint8_t		*tok;
	size_t			 flen, len;
	int			 r;

	for (;;) {
		free(*copy);
		*copy = NULL;
		r = frame_peek(p->in, p->inlen, FRAME_MAX_CEILING, &flen);
		if (r == FRAME_NEED_MORE)
			return 0;
		if (r != FRAME_OK)
			probe_die("the server sent an oversized frame");
		*copy = xmalloc(flen);
		memcpy(*copy, p->in, flen);
		memmove(p->in, p->in + flen, p->inlen - flen);
		p->inlen -= flen;
		if (frame_decode(*copy, flen, f) != FRAME_OK ||
		    frame_validate(f, proto_server_spec(f->type)) != FRAME_OK)
			probe_die("the server sent a frame that does not "
			    "validate");
		if (f->type != MSG_PING)
			return 1;
		if (frame_get_bytes(f, F_TOKEN, &tok, &len) == -1)
			continue;
		frame_begin(&b, MSG_PONG, p->max_frame);
		frame_put_bytes(&b, F_TOKEN, tok, len);
		peer_queue(p, &b);
	}
}

/* Wait for the next frame; 0 at the deadline or when the server closed. */
static int
peer_wait(struct peer *p, struct frame *f, uint8_t **copy)
{
	for (;;) {
		if (peer_frame(p, f, copy))
			return 1;
		if (p->closed || probe_remaining_ms() == 0)
			return 0;
		(void)peer_io(p, 1, 100);
	}
}

static void
peer_close(struct peer *p)
{
	if (p->ssl != NULL) {
		(void)SSL_shutdown(p->ssl);
		SSL_free(p->ssl);
	}
	if (p->fd != -1)
		(void)close(p->fd);
	free(p->in);
	free(p->out);
	OPENSSL_cleanse(p->sign_priv, sizeof(p->sign_priv));
	OPENSSL_cleanse(p->dh_priv, sizeof(p->dh_priv));
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

static void
sign_or_die(const uint8_t priv[KEY_LEN], const struct crypto_part *parts,
    size_t n, uint8_t sig[SIG_LEN])
{
	if (crypto_ed25519_sign_parts(priv, parts, n, sig) == -1)
		probe_die("cannot sign");
}

/*
 * Connect and log in as name, registering it on UNKNOWN_USER.  0 when
 * logged in; else -1 with p->error the code that refused it (0 if none).
 */
static int
peer_open(struct peer *p, const char *name)
{
	struct crypto_part	 parts[4];
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			*copy = NULL, nonce[NONCE_LEN];
	uint8_t			 exporter[EXPORTER_LEN], sig[SIG_LEN];
	uint8_t			 bsig[SIG_LEN];
	const uint8_t		*v;
	uint64_t		 start = now_ms();
	size_t			 len;
	uint32_t		 mf;
	uint16_t		 code;
	uint8_t			 reg;
	int			 r, w;

	memset(p, 0, sizeof(*p));
	peer_keys(p, name);
	p->max_frame = FRAME_MAX_DEFAULT;
	p->fd = probe_tcp_connect(host, port);
	if ((p->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(p->ssl, p->fd) != 1)
		probe_die("SSL_new failed");
	while ((r = SSL_connect(p->ssl)) != 1)
		if ((w = probe_ssl_wait(p->ssl, p->fd, r)) != 1)
			goto fail;
	frame_begin(&b, MSG_HELLO, p->max_frame);
	frame_put_u16(&b, F_VERSION, PROTO_VERSION);
	frame_put_str(&b, F_SOFTWARE, "schostile");
	peer_queue(p, &b);
	if (!peer_wait(p, &f, &copy) || f.type != MSG_WELCOME ||
	    frame_get_bytes(&f, F_NONCE, &v, &len) == -1 || len != NONCE_LEN ||
	    frame_get_u32(&f, F_MAX_FRAME, &mf) == -1)
		goto fail;
	memcpy(nonce, v, NONCE_LEN);
	p->max_frame = mf;
	if (SSL_export_keying_material(p->ssl, exporter, EXPORTER_LEN,
	    EXPORTER_LABEL, strlen(EXPORTER_LABEL), NULL, 0, 0) != 1)
		probe_die("no exporter");
	parts[0].p = LOGIN_CONTEXT;
	parts[0].len = strlen(LOGIN_CONTEXT);
	parts[1].p = nonce;
	parts[1].len = NONCE_LEN;
	parts[2].p = exporter;
	parts[2].len = EXPORTER_LEN;
	parts[3].p = p->name;
	parts[3].len = strlen(p->name);
	sign_or_die(p->sign_priv, parts, 4, sig);
	frame_begin(&b, MSG_LOGIN, p->max_frame);
	frame_put_str(&b, F_NAME, p->name);
	frame_put_bytes(&b, F_SIGNATURE, sig, SIG_LEN);
	peer_queue(p, &b);
	while (peer_wait(p, &f, &copy)) {
		if (f.type == MSG_LOGGED_IN) {
			if (frame_get_u8(&f, F_REGISTERED, &reg) == 0)
				p->registered = reg;
			p->login_ms = now_ms() - start;
			free(copy);
			return 0;
		}
		if (f.type != MSG_ERROR || frame_get_u16(&f, F_CODE,
		    &code) == -1)
			continue;
		if (code != ERR_UNKNOWN_USER) {
			p->error = code;
			break;
		}
		parts[0].p = BINDING_CONTEXT;
		parts[0].len = strlen(BINDING_CONTEXT);
		parts[1].p = p->dh_pub;
		parts[1].len = KEY_LEN;
		sign_or_die(p->sign_priv, parts, 2, bsig);
		frame_begin(&b, MSG_REGISTER, p->max_frame);
		frame_put_str(&b, F_NAME, p->name);
		frame_put_bytes(&b, F_SIGN_PUB, p->sign_pub, KEY_LEN);
		frame_put_bytes(&b, F_DH_PUB, p->dh_pub, KEY_LEN);
		frame_put_bytes(&b, F_BINDING_SIG, bsig, SIG_LEN);
		frame_put_bytes(&b, F_SIGNATURE, sig, SIG_LEN);
		peer_queue(p, &b);
	}
fail:
	ERR_clear_error();
	free(copy);
	return -1;
}

static void
peer_open_or_die(struct peer *p, const char *name)
{
	if (peer_open(p, name) == -1) {
		printf("{\"login\":false,\"code\":\"%s\"}\n",
		    p->error ? proto_err_name(p->error) : "none");
		exit(1);
	}
}

static void
print_errors(void)
{
	size_t	 i;
	int	 n = 0;

	printf("\"errors\":{");
	for (i = 1; i < MAX_CODES; i++)
		if (errors[i] > 0)
			printf("%s\"%s\":%lu", n++ ? "," : "",
			    proto_err_name((uint16_t)i), errors[i]);
	printf("}");
}

static uint16_t
error_code(const struct frame *f)
{
	uint16_t	 code = 0;

	(void)frame_get_u16(f, F_CODE, &code);
	return code;
}

/* login: how long it takes, and how long until the backlog is in. */
static int
cmd_login(const char *user)
{
	struct peer	 p;
	struct frame	 f;
	uint8_t		*copy = NULL;
	uint64_t	 start = now_ms();
	long long	 caught = -1;

	peer_open_or_die(&p, user);
	while (peer_wait(&p, &f, &copy))
		if (f.type == MSG_CAUGHT_UP) {
			caught = (long long)(now_ms() - start);
			break;
		}
	printf("{\"user\":\"%s\",\"registered\":%d,\"login_ms\":%llu,"
	    "\"caught_up_ms\":%lld}\n", p.name, p.registered,
	    (unsigned long long)p.login_ms, caught);
	free(copy);
	peer_close(&p);
	return caught < 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* relogin: n logins in a row, each until CAUGHT_UP, then close. */
static int
cmd_relogin(const char *user, int n)
{
	struct peer	 p;
	struct frame	 f;
	uint8_t		*copy = NULL;
	uint64_t	*ms, start;
	int		 i, done = 0;

	ms = xcalloc(n, sizeof(*ms));
	for (i = 0; i < n && probe_remaining_ms() > 0; i++) {
		start = now_ms();
		if (peer_open(&p, user) == -1)
			break;
		while (peer_wait(&p, &f, &copy))
			if (f.type == MSG_CAUGHT_UP)
				break;
		ms[done++] = now_ms() - start;
		peer_close(&p);
	}
	free(copy);
	qsort(ms, done, sizeof(*ms), cmp_u64);
	printf("{\"logins\":%d,\"median_ms\":%llu,\"max_ms\":%llu}\n", done,
	    done ? (unsigned long long)ms[done / 2] : 0ULL,
	    done ? (unsigned long long)ms[done - 1] : 0ULL);
	free(ms);
	return done < n;
}

/* join: rooms PREFIX-1 .. PREFIX-n, WINDOW at a time; count the answers. */
static int
cmd_join(const char *user, int n, const char *prefix)
{
	struct peer		 p;
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			*copy = NULL, kind;
	char			 room[ROOM_MAX_LEN + 1], from[NAME_MAX_LEN + 1];
	int			 sent = 0, joined = 0, notices = 0, refused = 0;

	peer_open_or_die(&p, user);
	/* Its own joins from before come in the catch-up: not these. */
	while (peer_wait(&p, &f, &copy) && f.type != MSG_CAUGHT_UP)
		continue;
	while (joined + notices + refused < n && probe_remaining_ms() > 0 &&
	    !p.closed) {
		while (sent < n && sent - (joined + notices + refused) <
		    WINDOW) {
			(void)snprintf(room, sizeof(room), "#%s-%d", prefix,
			    ++sent);
			frame_begin(&b, MSG_JOIN, p.max_frame);
			frame_put_str(&b, F_ROOM, room);
			peer_queue(&p, &b);
		}
		if (!peer_wait(&p, &f, &copy))
			break;
		switch (f.type) {
		case MSG_ROOM_EVENT:
			if (frame_get_u8(&f, F_KIND, &kind) == 0 &&
			    kind == EVENT_JOIN && frame_get_str(&f, F_FROM,
			    from, sizeof(from)) == 0 &&
			    strcmp(from, p.name) == 0)
				joined++;
			break;
		case MSG_NOTICE:
			notices++;	/* already in it */
			break;
		case MSG_ERROR:
			count_error(error_code(&f));
			refused++;
			break;
		default:
			break;
		}
	}
	printf("{\"joined\":%d,\"already\":%d,\"refused\":%d,", joined,
	    notices, refused);
	print_errors();
	printf("}\n");
	free(copy);
	peer_close(&p);
	return 0;
}

/* The request an amplify or list command sends. */
static void
request_frame(struct frame_buf *b, size_t max_frame, const char *kind,
    const char *after)
{
	if (strcmp(kind, "rooms") == 0) {
		frame_begin(b, MSG_ROOMS, max_frame);
	} else if (strcmp(kind, "info") == 0) {
		frame_begin(b, MSG_INFO, max_frame);
	} else if (strncmp(kind, "who:", 4) == 0) {
		frame_begin(b, MSG_WHO, max_frame);
		frame_put_str(b, F_ROOM, kind + 4);
	} else if (strncmp(kind, "keys:", 5) == 0) {
		frame_begin(b, MSG_KEYS_GET, max_frame);
		frame_put_str(b, F_NAME, kind + 5);
	} else
		usage();
	if (after != NULL)
		frame_put_str(b, F_AFTER, after);
}

/*
 * amplify: n requests whose answers are never read, written as fast as
 * the server takes them; then the connection is held for hold seconds.
 * A server with back-pressure stops taking them.
 */
static int
cmd_amplify(const char *user, const char *kind, int n, int hold)
{
	struct peer		 p;
	struct frame_buf	 b;
	uint64_t		 last, bytes = 0, until;
	size_t			 flen, before;
	int			 i, stalled = 0;

	peer_open_or_die(&p, user);
	request_frame(&b, p.max_frame, kind, NULL);
	if (frame_finish(&b) == -1)
		probe_die("cannot build the request");
	flen = b.len;
	last = now_ms();
	for (i = 0; i < n && !p.closed; ) {
		/* At most a window of frames waits in our own buffer. */
		while (i < n && p.outlen < WINDOW * flen) {
			if (p.outlen + flen > p.outcap) {
				p.outcap = (p.outlen + flen) * 2;
				p.out = xreallocarray(p.out, p.outcap, 1);
			}
			memcpy(p.out + p.outlen, b.data, flen);
			p.outlen += flen;
			i++;
		}
		before = p.outlen;
		(void)peer_io(&p, 0, 100);
		bytes += before - p.outlen;
		if (before != p.outlen)
			last = now_ms();
		else if (now_ms() - last > STALL_MS) {
			stalled = 1;
			break;
		}
		if (probe_remaining_ms() == 0)
			break;
	}
	frame_buf_free(&b);
	/* Keep the connection, and its unread answers, for a while. */
	until = now_ms() + (uint64_t)hold * 1000;
	while (now_ms() < until && !p.closed) {
		before = p.outlen;
		(void)peer_io(&p, 0, 200);
		bytes += before - p.outlen;
	}
	printf("{\"requests\":%d,\"written\":%llu,\"frame_bytes\":%zu,"
	    "\"stalled\":%s,\"closed\":%s}\n", i, (unsigned long long)
	    (bytes / flen), flen, stalled ? "true" : "false",
	    p.closed ? "true" : "false");
	peer_close(&p);
	return 0;
}

/*
 * burst: n requests at once, every answer read; how long they took.  A
 * server that paces requests answers them no faster than its rate.
 */
static int
cmd_burst(const char *user, const char *kind, int n)
{
	struct peer		 p;
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			*copy = NULL;
	uint64_t		 start;
	int			 i, answers = 0;

	peer_open_or_die(&p, user);
	start = now_ms();
	for (i = 0; i < n; i++) {
		request_frame(&b, p.max_frame, kind, NULL);
		peer_queue(&p, &b);
	}
	while (answers < n && peer_wait(&p, &f, &copy)) {
		switch (f.type) {
		case MSG_ERROR:
			count_error(error_code(&f));
			/* FALLTHROUGH */
		case MSG_ROOM_LIST:
		case MSG_WHO_LIST:
		case MSG_INFO_REPLY:
		case MSG_KEYS:
			answers++;
			break;
		default:
			break;
		}
	}
	printf("{\"answers\":%d,\"elapsed_ms\":%llu,", answers,
	    (unsigned long long)(now_ms() - start));
	print_errors();
	printf("}\n");
	free(copy);
	peer_close(&p);
	return answers < n;
}

enum mstate { M_UNSENT, M_INFLIGHT, M_ACKED, M_REFUSED };

/*
 * fill: n direct messages of size bytes to one user, resent after
 * RATE_LIMITED like a client (in order), refused ones counted.  A wait
 * longer than FILL_WAIT_MAX_MS (the storage rate) ends it.
 */
static int
cmd_fill(const char *user, const char *to, int n, int size)
{
	struct peer		 p;
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			*copy = NULL, *body, *st;
	uint64_t		 base, id, hold_until = 0;
	uint32_t		 retry;
	int			 i, j, next = 0, inflight = 0, acked = 0;
	int			 refused = 0, first_refused = -1, gave_up = 0;
	uint32_t		 max_retry = 0;
	uint16_t		 code;

	peer_open_or_die(&p, user);
	body = xmalloc(size > 0 ? size : 1);
	if (size > 0 && RAND_bytes(body, size) != 1)
		probe_die("RAND_bytes");
	st = xcalloc(n, 1);
	if (RAND_bytes((uint8_t *)&base, sizeof(base)) != 1)
		probe_die("RAND_bytes");
	base = (base >> 1) | 1;
	while (acked + refused < n && probe_remaining_ms() > 0 && !p.closed &&
	    !gave_up) {
		while (now_ms() >= hold_until && next < n &&
		    inflight < WINDOW) {
			if (st[next] != M_UNSENT) {
				next++;
				continue;
			}
			frame_begin(&b, MSG_SEND, p.max_frame);
			frame_put_str(&b, F_TO, to);
			frame_put_u64(&b, F_CLIENT_MSG_ID, base + next);
			frame_put_bytes(&b, F_BODY, body, size);
			peer_queue(&p, &b);
			st[next++] = M_INFLIGHT;
			inflight++;
		}
		if (!peer_frame(&p, &f, &copy)) {
			(void)peer_io(&p, 1, 50);
			continue;
		}
		if ((f.type != MSG_ACK && f.type != MSG_ERROR) ||
		    frame_get_u64(&f, F_CLIENT_MSG_ID, &id) == -1 ||
		    id < base || id - base >= (uint64_t)n)
			continue;
		i = (int)(id - base);
		if (st[i] != M_INFLIGHT)
			continue;
		inflight--;
		if (f.type == MSG_ACK) {
			st[i] = M_ACKED;
			acked++;
			continue;
		}
		code = error_code(&f);
		count_error(code);
		if (code != ERR_RATE_LIMITED) {
			st[i] = M_REFUSED;
			refused++;
			if (first_refused == -1 || i < first_refused)
				first_refused = i;
			continue;
		}
		/* This one and every one after it go again, in order. */
		retry = 1000;
		(void)frame_get_u32(&f, F_RETRY_AFTER_MS, &retry);
		if (retry > max_retry)
			max_retry = retry;
		if (retry > FILL_WAIT_MAX_MS) {
			gave_up = 1;	/* a storage limit, not a hiccup */
			break;
		}
		hold_until = now_ms() + retry;
		st[i] = M_UNSENT;
		for (j = i + 1; j < n; j++)
			if (st[j] == M_INFLIGHT) {
				st[j] = M_UNSENT;
				inflight--;
			}
		next = i;
		/* Answers to those still come: they are ignored above. */
	}
	printf("{\"acked\":%d,\"refused\":%d,\"first_refused\":%d,"
	    "\"max_retry_ms\":%u,\"gave_up\":%s,", acked, refused,
	    first_refused, max_retry, gave_up ? "true" : "false");
	print_errors();
	printf("}\n");
	free(copy);
	free(body);
	free(st);
	peer_close(&p);
	return 0;
}

/*
 * lastwords: n direct messages and the close_notify, made in memory and
 * written in one write(2), so that the server reads them in one pass:
 * what a client says just before it hangs up must still be relayed.
 * The frames go in TLS records of record bytes each (0: as few as fit),
 * cut without regard to frame bounds, so that the server's reads end at
 * ever other places.  With bad, a frame header past any limit takes the
 * close_notify's place: the server ends the connection itself.  Nothing
 * is waited for but the server's close.
 */
static int
cmd_lastwords(const char *user, const char *to, int n, int size, int record,
    int bad)
{
	static const uint8_t	 oversized[FRAME_HDR_LEN] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x22, 0x00, 0x00
	};
	struct peer		 p;
	struct frame_buf	 b;
	BIO			*mem;
	uint8_t			*body, scratch[4096];
	uint64_t		 base;
	char			*data;
	long			 len, off = 0;
	ssize_t			 w;
	int			 i, closed = 0;

	peer_open_or_die(&p, user);
	/* Logged in; the test may stop the broker before what follows. */
	printf("{\"logged_in\":true}\n");
	(void)fflush(stdout);
	while (go_file != NULL && access(go_file, F_OK) == -1 &&
	    probe_remaining_ms() > 0)
		(void)poll(NULL, 0, 50);
	body = xmalloc(size > 0 ? size : 1);
	if ((size > 0 && RAND_bytes(body, size) != 1) ||
	    RAND_bytes((uint8_t *)&base, sizeof(base)) != 1)
		probe_die("RAND_bytes");
	base = (base >> 1) | 1;
	for (i = 0; i < n; i++) {
		frame_begin(&b, MSG_SEND, p.max_frame);
		frame_put_str(&b, F_TO, to);
		frame_put_u64(&b, F_CLIENT_MSG_ID, base + i);
		frame_put_bytes(&b, F_BODY, body, size);
		peer_queue(&p, &b);
	}
	if (bad) {
		p.out = xreallocarray(p.out, p.outlen + sizeof(oversized), 1);
		memcpy(p.out + p.outlen, oversized, sizeof(oversized));
		p.outlen += sizeof(oversized);
	}
	/* Records go to memory, then to the socket at once. */
	if ((mem = probe_records(p.ssl, p.out, p.outlen, (size_t)record,
	    !bad)) == NULL)
		probe_die("cannot make the records");
	p.outlen = 0;
	len = BIO_get_mem_data(mem, &data);
	while (off < len && probe_wait_fd(p.fd, POLLOUT) == 1) {
		if ((w = write(p.fd, data + off, (size_t)(len - off))) == -1 &&
		    (errno == EAGAIN || errno == EINTR))
			continue;
		if (w <= 0)
			break;
		off += w;
	}
	/* The server's answers are not read: only its close is awaited. */
	while (off == len && !closed && probe_wait_fd(p.fd, POLLIN) == 1) {
		w = read(p.fd, scratch, sizeof(scratch));
		if (w == 0 || (w == -1 && errno != EAGAIN && errno != EINTR))
			closed = 1;
	}
	printf("{\"sent\":%d,\"bytes\":%ld,\"written\":%s,"
	    "\"server_closed\":%s}\n", n, len, off == len ? "true" : "false",
	    closed ? "true" : "false");
	free(body);
	SSL_free(p.ssl);	/* no second close_notify */
	p.ssl = NULL;
	peer_close(&p);
	return off < len;
}

/* inbox: the direct messages waiting, counted until CAUGHT_UP. */
static int
cmd_inbox(const char *user, int ack)
{
	struct peer		 p;
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			*copy = NULL;
	uint64_t		 seq, last = 0;
	unsigned long		 n = 0, bytes = 0;
	const uint8_t		*body;
	size_t			 len;
	int			 caught = 0;

	peer_open_or_die(&p, user);
	while (!caught && peer_wait(&p, &f, &copy)) {
		if (f.type == MSG_CAUGHT_UP)
			caught = 1;
		if (f.type != MSG_DIRECT ||
		    frame_get_u64(&f, F_SEQ, &seq) == -1 ||
		    frame_get_bytes(&f, F_BODY, &body, &len) == -1)
			continue;
		n++;
		bytes += len;
		if (seq > last)
			last = seq;
	}
	if (ack && last > 0) {
		frame_begin(&b, MSG_DELIVERED, p.max_frame);
		frame_put_u64(&b, F_SEQ, last);
		peer_queue(&p, &b);
		while (p.outlen > 0 && !p.closed && probe_remaining_ms() > 0)
			(void)peer_io(&p, 1, 100);
	}
	printf("{\"direct\":%lu,\"bytes\":%lu,\"last_seq\":%llu,"
	    "\"caught_up\":%s}\n", n, bytes, (unsigned long long)last,
	    caught ? "true" : "false");
	free(copy);
	peer_close(&p);
	return !caught;
}

/* register: n new accounts, each on its own connection. */
static int
cmd_register(int n, const char *prefix)
{
	struct peer	 p;
	char		 name[NAME_MAX_LEN + 1];
	int		 i, ok = 0, refused = 0;

	for (i = 1; i <= n && probe_remaining_ms() > 0; i++) {
		(void)snprintf(name, sizeof(name), "%s-%d", prefix, i);
		if (peer_open(&p, name) == 0)
			ok += p.registered;
		else {
			refused++;
			count_error(p.error);
		}
		peer_close(&p);
	}
	printf("{\"registered\":%d,\"refused\":%d,", ok, refused);
	print_errors();
	printf("}\n");
	return 0;
}

/* list: every page of a list, following F_NEXT; counts lines and pages. */
static int
cmd_list(const char *user, const char *kind)
{
	struct peer		 p;
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			*copy = NULL;
	const uint8_t		*list;
	char			 next[ROOM_MAX_LEN + 1];
	size_t			 len, k;
	unsigned long		 lines = 0, pages = 0;
	int			 more = 1, first = 1;

	peer_open_or_die(&p, user);
	while (more && probe_remaining_ms() > 0) {
		request_frame(&b, p.max_frame, kind, first ? NULL : next);
		peer_queue(&p, &b);
		first = 0;
		more = 0;
		while (peer_wait(&p, &f, &copy)) {
			if (f.type == MSG_ERROR) {
				count_error(error_code(&f));
				break;
			}
			if (f.type != MSG_ROOM_LIST && f.type != MSG_WHO_LIST)
				continue;
			pages++;
			if (frame_get_bytes(&f, F_LIST, &list, &len) == 0)
				for (k = 0; k < len; k++)
					lines += list[k] == '\n';
			more = frame_get_str(&f, F_NEXT, next,
			    sizeof(next)) == 0;
			break;
		}
	}
	printf("{\"items\":%lu,\"pages\":%lu,", lines, pages);
	print_errors();
	printf("}\n");
	free(copy);
	peer_close(&p);
	return 0;
}

static const char	*user = "hostile";

static void
user_option(int ch, const char *arg)
{
	if (ch == 'u')
		user = arg;
	else if (ch == 'W')
		go_file = arg;
	else
		usage();
}

int
main(int argc, char *argv[])
{
	struct probe_cmd	 pc;
	const char		*cmd;
	int			 r;

	probe_args("schostile", argc, argv, "u:W:", user_option, usage,
	    DEFAULT_TIMEOUT, &pc);
	host = pc.host;
	port = pc.port;
	cmd = pc.cmd;
	argc = pc.argc;
	argv = pc.argv;
	/* No certificate check: a private daemon of the tests. */
	ctx = probe_client_ctx();

#define N(i)	((int)probe_number(argv[i], 0, MAX_COUNT, "count"))
	if (strcmp(cmd, "login") == 0 && argc == 0)
		r = cmd_login(user);
	else if (strcmp(cmd, "relogin") == 0 && argc == 1)
		r = cmd_relogin(user, N(0));
	else if (strcmp(cmd, "join") == 0 && argc == 2)
		r = cmd_join(user, N(0), argv[1]);
	else if (strcmp(cmd, "burst") == 0 && argc == 2)
		r = cmd_burst(user, argv[0], N(1));
	else if (strcmp(cmd, "amplify") == 0 && argc == 3)
		r = cmd_amplify(user, argv[0], N(1), N(2));
	else if (strcmp(cmd, "fill") == 0 && argc == 3)
		r = cmd_fill(user, argv[0], N(1), N(2));
	else if (strcmp(cmd, "lastwords") == 0 && argc >= 3 && argc <= 5 &&
	    (argc < 5 || strcmp(argv[4], "bad") == 0))
		r = cmd_lastwords(user, argv[0], N(1), N(2), argc >= 4 ? N(3) :
		    0, argc == 5);
	else if (strcmp(cmd, "inbox") == 0 && argc <= 1)
		r = cmd_inbox(user, argc == 1 && strcmp(argv[0], "ack") == 0);
	else if (strcmp(cmd, "register") == 0 && argc == 2)
		r = cmd_register(N(0), argv[1]);
	else if (strcmp(cmd, "list") == 0 && argc == 1)
		r = cmd_list(user, argv[0]);
	else
		usage();
#undef N
	SSL_CTX_free(ctx);
	return r;
}
