/*
 * scprobe.c: a deliberately rude peer for the integration tests.  Sends
 * exact bytes over TLS, garbage over TCP, stalls and floods; prints JSON.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
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

#include "frame.h"
#include "probe.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

#define DEFAULT_TIMEOUT	10
#define MAX_GARBAGE	(16 * 1024 * 1024)
#define MAX_FLOOD	100000
#define KEYUPDATE_WELCOME_MS 2000	/* for the WELCOME before the flood */
#define KEYUPDATE_BATCH	1000		/* made in memory, written at once */
#define MAX_STREAM_S	60

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: scprobe [-s source] [-t timeout] host port command [args]\n"
	    "commands: send hex ... | hello [version] | garbage n | stall |\n"
	    "          flood n hold | holdping interval_ms | keyupdate n |\n"
	    "          keyupdate-stream seconds |\n"
	    "          churn n\n");
	exit(2);
}

/* Decode hex s into a fresh buffer; exits on a malformed argument. */
static uint8_t *
hex_arg(const char *s, size_t *lenp)
{
	uint8_t	*out;
	size_t	 n = strlen(s) / 2;

	out = xmalloc(n + 1);
	if (hex_decode(s, strlen(s), out, n) == -1) {
		fprintf(stderr, "scprobe: %s: not an even number of hex "
		    "digits\n", s);
		exit(2);
	}
	*lenp = n;
	return out;
}

/* Wait for the peer to close: 1 closed, 0 deadline.  Data is discarded. */
static int
wait_close(int fd)
{
	uint8_t	 scratch[4096];
	ssize_t	 n;
	int	 r;

	for (;;) {
		if ((r = probe_wait_fd(fd, POLLIN)) == 0)
			return 0;
		if (r == -1)
			return 1;
		n = recv(fd, scratch, sizeof(scratch), 0);
		if (n == 0)
			return 1;
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return 1;
	}
}

/* Frames read so far and not yet printed, across calls. */
struct rbuf {
	uint8_t	*buf;
	size_t	 cap;
	size_t	 len;
	int	 broken;
};

/*
 * Read frames and print them until the peer closes (1) or until the
 * deadline or until_ms, whichever comes first (0).
 */
static int
read_frames_until(SSL *ssl, int fd, struct rbuf *rb, uint64_t until_ms)
{
	uint64_t	 saved = probe_deadline;
	size_t		 framelen;
	int		 r, w;

	if (rb->buf == NULL) {
		rb->cap = FRAME_MAX_DEFAULT;
		rb->buf = xmalloc(rb->cap);
	}
	if (until_ms < probe_deadline)
		probe_deadline = until_ms;
	for (;;) {
		while (!rb->broken && (r = frame_peek(rb->buf, rb->len,
		    FRAME_MAX_CEILING, &framelen)) != FRAME_NEED_MORE) {
			if (r != FRAME_OK) {
				/* Past the ceiling: say so, then just drain. */
				printf("{\"malformed\":\"%s\",\"hex\":",
				    frame_strerror(r));
				probe_json_hex(rb->buf, FRAME_HDR_LEN);
				printf("}\n");
				rb->broken = 1;
				break;
			}
			probe_print_frame(rb->buf, framelen);
			memmove(rb->buf, rb->buf + framelen, rb->len - framelen);
			rb->len -= framelen;
		}
		(void)fflush(stdout);
		if (rb->broken)
			rb->len = 0;
		if (rb->len == rb->cap) {
			rb->buf = xreallocarray(rb->buf, 2, rb->cap);
			rb->cap *= 2;
		}
		r = SSL_read(ssl, rb->buf + rb->len, (int)(rb->cap - rb->len >
		    INT_MAX ? INT_MAX : rb->cap - rb->len));
		if (r > 0) {
			rb->len += r;
			continue;
		}
		if ((w = probe_ssl_wait(ssl, fd, r)) == 1)
			continue;
		ERR_clear_error();
		/* A deadline shows as 0 with time left exhausted. */
		r = w == 0 && probe_remaining_ms() == 0 ? 0 : 1;
		probe_deadline = saved;
		return r;
	}
}

/* Read frames until close or the deadline and print them; returns "closed". */
static int
read_frames(SSL *ssl, int fd)
{
	struct rbuf	 rb;
	int		 closed;

	memset(&rb, 0, sizeof(rb));
	closed = read_frames_until(ssl, fd, &rb, probe_deadline);
	free(rb.buf);
	return closed;
}

/* A TLS connection to host:port, or -1 with what happened printed. */
static int
tls_open(const char *host, const char *port, SSL_CTX **ctxp, SSL **sslp,
    int *fdp)
{
	SSL	*ssl;
	int	 fd, r, w;

	fd = probe_tcp_connect(host, port);
	*ctxp = probe_client_ctx();
	if ((ssl = SSL_new(*ctxp)) == NULL || SSL_set_fd(ssl, fd) != 1)
		probe_die("SSL_new failed");
	*sslp = ssl;
	*fdp = fd;
	while ((r = SSL_connect(ssl)) != 1) {
		if ((w = probe_ssl_wait(ssl, fd, r)) == 1)
			continue;
		if (w == 0 && probe_remaining_ms() == 0)
			printf("{\"timeout\":true,\"during\":\"handshake\"}\n");
		else
			printf("{\"closed\":true,\"during\":\"handshake\"}\n");
		ERR_clear_error();
		return -1;
	}
	return 0;
}

static void
tls_close(SSL_CTX *ctx, SSL *ssl, int fd)
{
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	(void)close(fd);
}

/* 0 when all of it went out, -1 when the peer or the deadline stopped it. */
static int
tls_write(SSL *ssl, int fd, const uint8_t *data, size_t len)
{
	int	 r;

	while (len > 0 && (r = SSL_write(ssl, data, (int)len)) <= 0) {
		if (probe_ssl_wait(ssl, fd, r) != 1) {
			ERR_clear_error();
			return -1;
		}
	}
	return 0;
}

/* A frame with at most one field, built and written. */
static int
tls_write_frame(SSL *ssl, int fd, uint16_t type, uint16_t tag,
    const uint8_t *val, size_t len)
{
	struct frame_buf	 b;
	int			 r;

	frame_begin(&b, type, FRAME_MAX_DEFAULT);
	if (type == MSG_HELLO) {
		frame_put_u16(&b, F_VERSION, PROTO_VERSION);
		frame_put_str(&b, F_SOFTWARE, "scprobe");
	} else if (tag != 0)
		frame_put_bytes(&b, tag, val, len);
	if (frame_finish(&b) != 0)
		probe_die("cannot build a frame");
	r = tls_write(ssl, fd, b.data, b.len);
	frame_buf_free(&b);
	return r;
}

static int
cmd_send(const char *host, const char *port, int n, char **hex)
{
	SSL_CTX		*ctx;
	SSL		*ssl;
	uint8_t		*data;
	size_t		 len;
	int		 fd, i, ok, closed;

	if (tls_open(host, port, &ctx, &ssl, &fd) == -1)
		goto done;
	ok = 1;
	for (i = 0; ok && i < n; i++) {
		data = hex_arg(hex[i], &len);
		/* Go on if it fails: what the server said is the point. */
		ok = tls_write(ssl, fd, data, len) == 0;
		free(data);
	}
	closed = read_frames(ssl, fd);
	printf(closed ? "{\"closed\":true}\n" : "{\"timeout\":true}\n");
done:
	tls_close(ctx, ssl, fd);
	return 0;
}

/*
 * A client that never logs in: HELLO, then a PING every interval_ms,
 * until the server closes or the deadline.  Says how long it was held.
 */
static int
cmd_holdping(const char *host, const char *port, int interval_ms)
{
	SSL_CTX		*ctx;
	SSL		*ssl;
	struct rbuf	 rb;
	uint64_t	 start, next;
	uint8_t		 token[8];
	int		 fd, pings = 0, closed = 0;

	memset(&rb, 0, sizeof(rb));
	start = now_ms();
	if (tls_open(host, port, &ctx, &ssl, &fd) == -1)
		goto done;
	if (tls_write_frame(ssl, fd, MSG_HELLO, 0, NULL, 0) == -1)
		closed = 1;
	next = now_ms() + (uint64_t)interval_ms;
	while (!closed && probe_remaining_ms() > 0) {
		if ((closed = read_frames_until(ssl, fd, &rb, next)) != 0)
			break;
		if (probe_remaining_ms() == 0)
			break;
		memset(token, 0, sizeof(token));
		be32_put(token, (uint32_t)++pings);
		if (tls_write_frame(ssl, fd, MSG_PING, F_TOKEN, token,
		    sizeof(token)) == -1)
			closed = 1;
		next = now_ms() + (uint64_t)interval_ms;
	}
	printf("{\"%s\":true,\"after_ms\":%llu,\"pings\":%d}\n",
	    closed ? "closed" : "timeout",
	    (unsigned long long)(now_ms() - start), pings);
done:
	free(rb.buf);
	tls_close(ctx, ssl, fd);
	return 0;
}

/* Readable now, without waiting? */
static int
poll_in(int fd)
{
	struct pollfd	 pfd;

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 1;
}

/*
 * Reads what is waiting without taking application data: 1 if it was only
 * TLS handshake records (a KeyUpdate of the server's rekey timer).
 */
static int
key_update_only(SSL *ssl)
{
	char	 c;
	int	 r;

	r = SSL_peek(ssl, &c, 1);
	if (r <= 0 && SSL_get_error(ssl, r) == SSL_ERROR_WANT_READ) {
		ERR_clear_error();
		return 1;
	}
	return 0;
}

/*
 * HELLO and its WELCOME, then n KeyUpdates as fast as they go out, until
 * the server says something more; prints what it said.
 */
static int
cmd_keyupdate(const char *host, const char *port, int n)
{
	SSL_CTX		*ctx;
	SSL		*ssl;
	struct rbuf	 rb;
	int		 fd, i, r, sent = 0, closed;

	memset(&rb, 0, sizeof(rb));
	if (tls_open(host, port, &ctx, &ssl, &fd) == -1)
		goto done;
	if (tls_write_frame(ssl, fd, MSG_HELLO, 0, NULL, 0) == -1 ||
	    read_frames_until(ssl, fd, &rb, now_ms() + KEYUPDATE_WELCOME_MS))
		n = 0;
	for (i = 0; i < n; i++) {
		/*
		 * Application data now is the answer: stop and read it.  The
		 * server's own timed KeyUpdate is not: take it and go on.
		 */
		if ((poll_in(fd) || SSL_has_pending(ssl)) && !key_update_only(ssl))
			break;
		if (SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1)
			break;
		while ((r = SSL_do_handshake(ssl)) != 1)
			if (probe_ssl_wait(ssl, fd, r) != 1)
				break;
		if (r != 1)
			break;
		sent++;
	}
	ERR_clear_error();
	printf("{\"key_updates_sent\":%d}\n", sent);
	closed = read_frames_until(ssl, fd, &rb, probe_deadline);
	printf(closed ? "{\"closed\":true}\n" : "{\"timeout\":true}\n");
done:
	free(rb.buf);
	tls_close(ctx, ssl, fd);
	return 0;
}

/*
 * HELLO and its WELCOME, then KeyUpdates made in memory and written in
 * bulk for up to seconds, faster than a server takes them one record at
 * a time; prints whether the server ended the connection meanwhile.  A
 * server that does not go back to its event loop while the bytes keep
 * coming never applies its limit on them.
 */
static int
cmd_keyupdate_stream(const char *host, const char *port, int seconds)
{
	SSL_CTX		*ctx;
	SSL		*ssl;
	BIO		*mem;
	struct rbuf	 rb;
	char		*data;
	long		 len, off;
	ssize_t		 n;
	uint64_t	 end;
	unsigned long	 sent = 0;
	int		 fd, i, closed = 0;

	memset(&rb, 0, sizeof(rb));
	if (tls_open(host, port, &ctx, &ssl, &fd) == -1)
		goto done;
	if (tls_write_frame(ssl, fd, MSG_HELLO, 0, NULL, 0) == -1 ||
	    read_frames_until(ssl, fd, &rb, now_ms() + KEYUPDATE_WELCOME_MS)) {
		printf("{\"closed\":true,\"during\":\"hello\"}\n");
		tls_close(ctx, ssl, fd);
		goto done;
	}
	/* Records go to memory now; the socket still reads. */
	if ((mem = BIO_new(BIO_s_mem())) == NULL)
		probe_die("BIO_new");
	SSL_set0_wbio(ssl, mem);
	end = now_ms() + (uint64_t)seconds * 1000;
	while (!closed && now_ms() < end) {
		for (i = 0; i < KEYUPDATE_BATCH; i++)
			if (SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED) !=
			    1 || SSL_do_handshake(ssl) != 1)
				probe_die("key update");
		sent += KEYUPDATE_BATCH;
		len = BIO_get_mem_data(mem, &data);
		for (off = 0; off < len && !closed; ) {
			if (probe_wait_fd(fd, POLLOUT) != 1)
				break;		/* the deadline: not closed */
			if ((n = write(fd, data + off, (size_t)(len - off))) ==
			    -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0)
				closed = 1;
			else
				off += n;
		}
		if (off < len && !closed)
			break;
		(void)BIO_reset(mem);
	}
	ERR_clear_error();
	printf("{\"key_updates_sent\":%lu,\"closed_while_sending\":%s}\n",
	    sent, closed ? "true" : "false");
	tls_close(ctx, ssl, fd);
done:
	free(rb.buf);
	return 0;
}

static int
cmd_hello(const char *host, const char *port, uint16_t version)
{
	struct frame_buf	 b;
	char			*hex, *argv[1];
	int			 r;

	frame_begin(&b, MSG_HELLO, FRAME_MAX_DEFAULT);
	frame_put_u16(&b, F_VERSION, version);
	frame_put_str(&b, F_SOFTWARE, "scprobe");
	if (frame_finish(&b) != 0)
		probe_die("cannot build HELLO");
	hex = xmalloc(2 * b.len + 1);
	hex_encode(b.data, b.len, hex);
	frame_buf_free(&b);
	argv[0] = hex;
	r = cmd_send(host, port, 1, argv);
	free(hex);
	return r;
}

static int
cmd_garbage(const char *host, const char *port, size_t n)
{
	uint8_t	*junk;
	size_t	 off;
	ssize_t	 w;
	int	 fd, closed = 0;

	fd = probe_tcp_connect(host, port);
	junk = xmalloc(n == 0 ? 1 : n);
	if (n > 0 && RAND_bytes(junk, (int)n) != 1)
		probe_die("RAND_bytes failed");
	for (off = 0; off < n;) {
		w = send(fd, junk + off, n - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += w;
			continue;
		}
		if (w == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (probe_wait_fd(fd, POLLOUT) == 1)
				continue;
			if (probe_remaining_ms() > 0)
				closed = 1;
			break;
		}
		/* EPIPE or a reset: the server already hung up. */
		closed = 1;
		break;
	}
	free(junk);
	if (!closed && probe_remaining_ms() > 0)
		closed = wait_close(fd);
	printf(closed ? "{\"closed\":true}\n" : "{\"timeout\":true}\n");
	(void)close(fd);
	return 0;
}

static int
cmd_stall(const char *host, const char *port)
{
	uint64_t	 start;
	int		 fd;

	fd = probe_tcp_connect(host, port);
	start = now_ms();
	if (wait_close(fd))
		printf("{\"closed\":true,\"after_ms\":%llu}\n",
		    (unsigned long long)(now_ms() - start));
	else
		printf("{\"timeout\":true}\n");
	(void)close(fd);
	return 0;
}

/*
 * Connect and close at once, n times in a row: what costs the client a
 * SYN and a FIN must not cost the server a process each.
 */
static int
cmd_churn(const char *host, const char *port, int n)
{
	struct addrinfo	*res;
	uint64_t	 start = now_ms();
	int		 i, fd, done, ok = 0, failed = 0;

	res = probe_resolve(host, port);
	for (i = 0; i < n && probe_remaining_ms() > 0; i++) {
		if ((fd = probe_start_connect(res, &done)) == -1) {
			failed++;
			continue;
		}
		if (!done && (probe_wait_fd(fd, POLLOUT) != 1 ||
		    probe_connect_error(fd) != 0))
			failed++;
		else
			ok++;
		(void)close(fd);
	}
	freeaddrinfo(res);
	printf("{\"connected\":%d,\"failed\":%d,\"ms\":%llu}\n", ok, failed,
	    (unsigned long long)(now_ms() - start));
	return 0;
}

/* As many descriptors as the hard limit allows: the flood needs them. */
static void
raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			perror("scprobe: setrlimit");
	}
}

enum { C_PENDING, C_OPEN, C_CLOSED, C_FAILED };

struct flood {
	struct pollfd	*pfd;
	uint8_t		*st;
	int		 n;
	int		 opened;
	int		 closed;
	int		 failed;
};

static void
flood_drop(struct flood *fl, int i, int state)
{
	fl->st[i] = state;
	(void)close(fl->pfd[i].fd);
	fl->pfd[i].fd = -1;
}

/*
 * Poll every connection until the deadline, or, with connecting set, until
 * none is still connecting; or until none is left.
 */
static void
flood_poll(struct flood *fl, int connecting)
{
	uint8_t	 scratch[512];
	ssize_t	 r;
	int	 i, live, pending, ms;

	for (;;) {
		live = pending = 0;
		for (i = 0; i < fl->n; i++) {
			pending += fl->st[i] == C_PENDING;
			live += fl->st[i] == C_PENDING || fl->st[i] == C_OPEN;
		}
		if (live == 0 || (connecting && pending == 0) ||
		    (ms = probe_remaining_ms()) == 0)
			return;
		if (poll(fl->pfd, fl->n, ms) == -1) {
			if (errno == EINTR)
				continue;
			probe_die("poll failed");
		}
		for (i = 0; i < fl->n; i++) {
			if (fl->pfd[i].fd == -1 || fl->pfd[i].revents == 0)
				continue;
			if (fl->st[i] == C_PENDING) {
				if (probe_connect_error(fl->pfd[i].fd) != 0) {
					flood_drop(fl, i, C_FAILED);
					fl->failed++;
					continue;
				}
				fl->st[i] = C_OPEN;
				fl->opened++;
				fl->pfd[i].events = POLLIN;
				continue;
			}
			r = recv(fl->pfd[i].fd, scratch, sizeof(scratch), 0);
			if (r > 0 || (r == -1 && (errno == EAGAIN ||
			    errno == EINTR)))
				continue;
			flood_drop(fl, i, C_CLOSED);
			fl->closed++;
		}
	}
}

static int
cmd_flood(const char *host, const char *port, int n, int hold)
{
	struct addrinfo	*res;
	struct flood	 fl;
	int		 i, done;

	raise_nofile();
	res = probe_resolve(host, port);
	memset(&fl, 0, sizeof(fl));
	fl.n = n;
	fl.pfd = xcalloc(n, sizeof(*fl.pfd));
	fl.st = xcalloc(n, sizeof(*fl.st));
	for (i = 0; i < n; i++) {
		if ((fl.pfd[i].fd = probe_start_connect(res, &done)) == -1) {
			/* Out of descriptors, or refused: so is the rest. */
			fprintf(stderr, "scprobe: connection %d: %s\n", i,
			    strerror(errno));
			for (; i < n; i++) {
				fl.pfd[i].fd = -1;
				fl.st[i] = C_FAILED;
				fl.failed++;
			}
			break;
		}
		fl.st[i] = done ? C_OPEN : C_PENDING;
		fl.opened += done;
		fl.pfd[i].events = done ? POLLIN : POLLOUT;
	}
	freeaddrinfo(res);

	/* Connecting is bounded by -t; then HOLD, which may outlast it. */
	flood_poll(&fl, 1);
	probe_deadline = now_ms() + (uint64_t)hold * 1000;
	flood_poll(&fl, 0);

	if (fl.failed > 0)
		fprintf(stderr, "scprobe: %d connections failed\n", fl.failed);
	printf("{\"opened\":%d,\"closed_by_server\":%d}\n", fl.opened,
	    fl.closed);
	for (i = 0; i < n; i++)
		if (fl.pfd[i].fd != -1)
			(void)close(fl.pfd[i].fd);
	free(fl.pfd);
	free(fl.st);
	return 0;
}

/* scprobe has no options of its own. */
static void
no_option(int ch, const char *arg)
{
	usage();
}

int
main(int argc, char *argv[])
{
	struct probe_cmd	 pc;
	const char		*c, *h, *p;
	int			 n, r;

	probe_args("scprobe", argc, argv, "", no_option, usage,
	    DEFAULT_TIMEOUT, &pc);
	c = pc.cmd;
	h = pc.host;
	p = pc.port;
	n = pc.argc;
	if (strcmp(c, "send") == 0 && n >= 1)
		r = cmd_send(h, p, n, pc.argv);
	else if (strcmp(c, "hello") == 0 && n <= 1)
		r = cmd_hello(h, p, n == 1 ? (uint16_t)probe_number(pc.argv[0],
		    0, UINT16_MAX, "version") : PROTO_VERSION);
	else if (strcmp(c, "garbage") == 0 && n == 1)
		r = cmd_garbage(h, p, (size_t)probe_number(pc.argv[0], 0,
		    MAX_GARBAGE, "byte count"));
	else if (strcmp(c, "stall") == 0 && n == 0)
		r = cmd_stall(h, p);
	else if (strcmp(c, "holdping") == 0 && n == 1)
		r = cmd_holdping(h, p, (int)probe_number(pc.argv[0], 1,
		    3600000, "interval ms"));
	else if (strcmp(c, "keyupdate") == 0 && n == 1)
		r = cmd_keyupdate(h, p, (int)probe_number(pc.argv[0], 1,
		    MAX_FLOOD, "key update count"));
	else if (strcmp(c, "keyupdate-stream") == 0 && n == 1)
		r = cmd_keyupdate_stream(h, p, (int)probe_number(pc.argv[0], 1,
		    MAX_STREAM_S, "seconds"));
	else if (strcmp(c, "churn") == 0 && n == 1)
		r = cmd_churn(h, p, (int)probe_number(pc.argv[0], 1, MAX_FLOOD,
		    "connection count"));
	else if (strcmp(c, "flood") == 0 && n == 2)
		r = cmd_flood(h, p, (int)probe_number(pc.argv[0], 1, MAX_FLOOD,
		    "connection count"), (int)probe_number(pc.argv[1], 0,
		    PROBE_MAX_TIMEOUT, "hold seconds"));
	else
		usage();
	return r;
}
