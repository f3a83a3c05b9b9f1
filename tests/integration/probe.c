/*
 * probe.c: what the test peers (scprobe, schostile) share: bounded waits
 * on a non-blocking socket, TCP and TLS set-up without verification, and
 * frames printed as JSON lines.
 */
#include "config.h"

#include <sys/types.h>
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

#include <openssl/ssl.h>

#include "frame.h"
#include "probe.h"
#include "proto.h"
#include "util.h"

#define HEX_SHOWN	256	/* bytes of an undecodable frame we print */

const char	*probe_progname = "probe";
const char	*probe_source;
uint64_t	 probe_deadline;

void __attribute__((noreturn))
probe_die(const char *what)
{
	fprintf(stderr, "%s: %s\n", probe_progname, what);
	exit(1);
}

long long
probe_number(const char *s, long long lo, long long hi, const char *what)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		fprintf(stderr, "%s: %s: bad %s (%lld..%lld)\n", probe_progname, s, what,
		    lo, hi);
		exit(2);
	}
	return v;
}

int
probe_remaining_ms(void)
{
	uint64_t	 now;

	now = now_ms();
	if (now >= probe_deadline)
		return 0;
	return probe_deadline - now > INT_MAX ? INT_MAX : (int)(probe_deadline - now);
}

/* 1 when fd is ready for events, 0 at the deadline, -1 on error. */
int
probe_wait_fd(int fd, short events)
{
	struct pollfd	 pfd;
	int		 r, ms;

	for (;;) {
		if ((ms = probe_remaining_ms()) == 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			return 0;
		return 1;
	}
}

static int
set_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

static int
bind_source(int fd, int family)
{
	struct addrinfo	 hints, *res;
	int		 r;

	if (probe_source == NULL)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	if ((r = getaddrinfo(probe_source, NULL, &hints, &res)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", probe_progname, probe_source,
		    gai_strerror(r));
		return -1;
	}
	r = bind(fd, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (r == -1)
		fprintf(stderr, "%s: bind: %s\n", probe_progname, strerror(errno));
	return r;
}

/*
 * A non-blocking socket with the connect started on it.  *done says
 * whether it already completed (loopback sometimes does at once).
 */
int
probe_start_connect(const struct addrinfo *ai, int *done)
{
	int	 fd;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol)) == -1)
		return -1;
	if (set_nonblock(fd) == -1 || bind_source(fd, ai->ai_family) == -1) {
		(void)close(fd);
		return -1;
	}
	*done = 0;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		*done = 1;
	else if (errno != EINPROGRESS) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

int
probe_connect_error(int fd)
{
	socklen_t	 len;
	int		 err;

	len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

struct addrinfo *
probe_resolve(const char *host, const char *port)
{
	struct addrinfo	 hints, *res;
	int		 r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "%s: %s port %s: %s\n", probe_progname, host, port,
		    gai_strerror(r));
		exit(1);
	}
	return res;
}

/* One connected, non-blocking TCP socket to host:port, or exit 1. */
int
probe_tcp_connect(const char *host, const char *port)
{
	struct addrinfo	*res, *ai;
	int		 fd, done, err = 0;

	res = probe_resolve(host, port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = probe_start_connect(ai, &done)) == -1) {
			err = errno;
			continue;
		}
		if (!done && probe_wait_fd(fd, POLLOUT) != 1)
			err = ETIMEDOUT;
		else if (done || (err = probe_connect_error(fd)) == 0) {
			freeaddrinfo(res);
			return fd;
		}
		(void)close(fd);
	}
	freeaddrinfo(res);
	errno = err;
	fprintf(stderr, "%s: connect: %s\n", probe_progname, strerror(errno));
	exit(1);
}

void
probe_json_str(const uint8_t *p, size_t len)
{
	size_t	 i;

	putchar('"');
	for (i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			printf("\\u%04x", p[i]);
		else
			putchar(p[i]);
	}
	putchar('"');
}

void
probe_json_hex(const uint8_t *p, size_t len)
{
	size_t	 i;

	putchar('"');
	for (i = 0; i < len; i++)
		printf("%02x", p[i]);
	putchar('"');
}

/* Text is whatever the codec would accept as a string field. */
static int
is_text(const struct frame_field *fld)
{
	struct field_spec	 fs;
	struct msg_spec		 ms;
	struct frame		 one;

	if (fld->len == 0)
		return 0;
	memset(&fs, 0, sizeof(fs));
	fs.tag = fld->tag;
	fs.kind = FK_STR;
	fs.required = 1;
	fs.max_len = UINT32_MAX;
	memset(&ms, 0, sizeof(ms));
	ms.type = 0;
	ms.name = "text";
	ms.fields = &fs;
	ms.nfields = 1;
	memset(&one, 0, sizeof(one));
	one.nfields = 1;
	one.fields[0] = *fld;
	return frame_validate(&one, &ms) == FRAME_OK;
}

void
probe_print_frame(const uint8_t *buf, size_t len)
{
	struct frame			 f;
	const struct frame_field	*fld;
	const char			*name;
	size_t				 i;
	int				 r;

	if ((r = frame_decode(buf, len, &f)) != FRAME_OK) {
		printf("{\"malformed\":\"%s\",\"hex\":", frame_strerror(r));
		probe_json_hex(buf, len > HEX_SHOWN ? HEX_SHOWN : len);
		printf("}\n");
		return;
	}
	name = proto_msg_name(f.type);
	if (strcmp(name, "UNKNOWN") == 0)
		printf("{\"type\":\"0x%04x\"", f.type);
	else
		printf("{\"type\":\"%s\"", name);
	for (i = 0; i < f.nfields; i++) {
		fld = &f.fields[i];
		if (fld->tag == F_CODE && fld->len == 2) {
			name = proto_err_name(be16_get(fld->val));
			if (strcmp(name, "UNKNOWN") == 0)
				printf(",\"code\":%u", be16_get(fld->val));
			else
				printf(",\"code\":\"%s\"", name);
			continue;
		}
		if (fld->tag == F_TEXT)
			printf(",\"text\":");
		else
			printf(",\"tag_0x%04x\":", fld->tag);
		if (is_text(fld))
			probe_json_str(fld->val, fld->len);
		else
			probe_json_hex(fld->val, fld->len);
	}
	printf("}\n");
}

/* Drive one SSL call to completion or the deadline: >0 ok, 0 eof/deadline. */
int
probe_ssl_wait(SSL *ssl, int fd, int r)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return probe_wait_fd(fd, POLLIN) == 1;
	case SSL_ERROR_WANT_WRITE:
		return probe_wait_fd(fd, POLLOUT) == 1;
	default:
		return -1;
	}
}

SSL_CTX *
probe_client_ctx(void)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		probe_die("SSL_CTX_new failed");
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		probe_die("cannot restrict to TLS 1.3");
	/*
	 * No certificate verification at all: this is a test tool talking to
	 * a private daemon with a throwaway self-signed certificate.  Never
	 * copy this into the client.
	 */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return ctx;
}

/*
 * The command line every probe has: [-s source] [-t timeout] and the
 * tool's own options in more (handled by opt), then host port command
 * [args].  The deadline starts now; a server hanging up mid-write must be
 * a result, not our death, so SIGPIPE is ignored.
 */
void
probe_args(const char *name, int argc, char *argv[], const char *more,
    void (*opt)(int, const char *), void (*usage)(void), int timeout,
    struct probe_cmd *pc)
{
	char	 opts[32];
	int	 ch;

	probe_progname = name;
	(void)snprintf(opts, sizeof(opts), "s:t:%s", more);
	while ((ch = getopt(argc, argv, opts)) != -1) {
		switch (ch) {
		case 's':
			probe_source = optarg;
			break;
		case 't':
			timeout = (int)probe_number(optarg, 1,
			    PROBE_MAX_TIMEOUT, "timeout");
			break;
		case '?':
			usage();
			break;
		default:
			opt(ch, optarg);
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		usage();
	pc->host = argv[0];
	pc->port = argv[1];
	pc->cmd = argv[2];
	pc->argc = argc - 3;
	pc->argv = argv + 3;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		probe_die("signal");
	setvbuf(stdout, NULL, _IOLBF, 0);
	probe_deadline = now_ms() + (uint64_t)timeout * 1000;
}

/*
 * len bytes as TLS records of record bytes each (0: as few as fit), cut
 * without regard to frame bounds, then the close_notify if close_notify,
 * all into a memory BIO that becomes ssl's write side: the caller writes
 * its contents (BIO_get_mem_data) in one go.  NULL if OpenSSL refused.
 */
BIO *
probe_records(SSL *ssl, const uint8_t *p, size_t len, size_t record,
    int close_notify)
{
	BIO	*mem;
	size_t	 off, chunk;

	if ((mem = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	SSL_set0_wbio(ssl, mem);
	if (record == 0 || record > INT_MAX)
		record = INT_MAX;
	for (off = 0; off < len; off += chunk) {
		chunk = len - off < record ? len - off : record;
		if (SSL_write(ssl, p + off, (int)chunk) != (int)chunk)
			return NULL;
	}
	if (close_notify && SSL_shutdown(ssl) < 0)
		return NULL;
	return mem;
}
