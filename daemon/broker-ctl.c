/*
 * broker-ctl.c: the operator's connections, from securechatctl over the
 * control socket.  Only the daemon's own starting uid (root) is heard; one
 * request per connection, bounded in size, time and number.  What each
 * command does is broker-admin.c's.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "broker.h"
#include "log.h"
#include "securechatd.h"
#include "util.h"
#include "xmalloc.h"

#define CTL_MAX_CONNS		8
#define CTL_TIMEOUT_S		5
#define CTL_MSG_MAX		4096
#define STORAGE_FAILED		"the server's storage failed: nothing was " \
				"changed; try again later\n"

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint64_t		 id;
	struct bufferevent	*bev;
	int			 answered;
	int			 pending;	/* waits for the master */
};
TAILQ_HEAD(ctllist, ctl_conn);

static struct ctllist	 conns = TAILQ_HEAD_INITIALIZER(conns);
static unsigned int	 nconns;
static uint64_t		 next_id;
static struct event	*accept_ev;

static void
conn_free(struct ctl_conn *c)
{
	TAILQ_REMOVE(&conns, c, entry);
	nconns--;
	bufferevent_free(c->bev);
	free(c);
}

static void
conn_drained_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn	*c = arg;

	if (c->answered && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void
conn_send(struct ctl_conn *c, const uint8_t *frame, size_t len)
{
	c->answered = 1;
	if (bufferevent_write(c->bev, frame, len) == -1)
		fatalx("bufferevent_write");
}

/* After commit: the reply of a request that wrote something. */
void
ctl_reply_after(uint64_t id, const uint8_t *frame, size_t len)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &conns, entry)
		if (c->id == id) {
			conn_send(c, frame, len);
			return;
		}
}

static void
reply_build(struct frame_buf *b, uint16_t code, struct evbuffer *text)
{
	frame_begin(b, CTL_REPLY, FRAME_MAX_CEILING);
	frame_put_u16(b, F_CODE, code);
	frame_put_bytes(b, F_LIST, evbuffer_pullup(text, -1),
	    evbuffer_get_length(text));
	if (frame_finish(b) == -1)
		fatalx("control reply too large");
}

/* The reply of the request id, once it is known (a reload). */
void
ctl_reply_later(uint64_t id, uint16_t code, struct evbuffer *text)
{
	struct frame_buf	 b;

	reply_build(&b, code, text);
	ctl_reply_after(id, b.data, b.len);
	frame_buf_free(&b);
}

/* NUL-ended arguments into argv; -1 if they are not that. */
static int
split_args(const uint8_t *p, size_t len, char *buf, size_t bufsz,
    char **argv, int max)
{
	size_t	 i;
	int	 argc = 0;

	if (len == 0 || len >= bufsz || p[len - 1] != '\0')
		return -1;
	memcpy(buf, p, len);
	argv[argc++] = buf;
	for (i = 0; i < len - 1; i++) {
		if (buf[i] != '\0')
			continue;
		if (argc == max)
			return -1;
		argv[argc++] = buf + i + 1;
	}
	return argc;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev), *out;
	struct frame_buf	 b;
	struct frame		 f;
	const uint8_t		*args;
	uint8_t			*p;
	size_t			 flen, alen;
	uint8_t			 json = 0;
	char			 buf[CTL_ARGS_MAX + 1], *argv[CTL_ARGS_COUNT];
	int			 rv, argc, later;
	uint16_t		 code;

	if (c->answered || c->pending)
		return;
	rv = frame_evbuffer_next(in, CTL_MSG_MAX, proto_ctl_spec, &f, &p, &flen);
	if (rv == FRAME_NEED_MORE)
		return;
	if (rv != FRAME_OK || f.type != CTL_REQUEST ||
	    frame_get_bytes(&f, F_LIST, &args, &alen) == -1 ||
	    (argc = split_args(args, alen, buf, sizeof(buf), argv,
	    CTL_ARGS_COUNT)) == -1)
		goto bad;
	if (frame_get(&f, F_JSON) != NULL && frame_get_u8(&f, F_JSON,
	    &json) == -1)
		goto bad;
	if ((out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	/* One request: its writes stand or fall together (broker-tx.c). */
	req_begin(NULL);
	later = admin_run(c->id, argc, argv, json, out, &code);
	if (req_failed()) {
		code = 1;
		(void)evbuffer_drain(out, evbuffer_get_length(out));
		(void)evbuffer_add_printf(out, STORAGE_FAILED);
		later = ADMIN_NOW;
	}
	req_end();
	if (later == ADMIN_PENDING) {
		/* The answer comes with the master's (ctl_reply_later). */
		c->pending = 1;
		evbuffer_free(out);
		return;
	}
	reply_build(&b, code, out);
	evbuffer_free(out);
	if (later == ADMIN_AFTER_COMMIT) {
		struct after	*a;

		a = after_fanout(AFTER_CTL, 0, 0, &b);
		a->session_id = c->id;
		/* Should the commit fail, the operator is told so. */
		if ((out = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		(void)evbuffer_add_printf(out, STORAGE_FAILED);
		reply_build(&b, 1, out);
		evbuffer_free(out);
		after_set_fail(a, &b);
	} else {
		conn_send(c, b.data, b.len);
		frame_buf_free(&b);
	}
	return;
bad:
	log_warnx("control: malformed request");
	conn_free(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	conn_free(arg);
}

static void
accept_cb(evutil_socket_t lfd, short ev, void *arg)
{
	struct ctl_conn	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	struct timeval	 tv = { CTL_TIMEOUT_S, 0 };
	int		 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("control: accept");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.uid != br.ctl_uid) {
		log_security("control: refused a connection from uid %ld",
		    (long)cred.uid);
		(void)close(fd);
		return;
	}
	if (nconns >= CTL_MAX_CONNS) {
		log_warnx("control: too many connections");
		(void)close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->id = ++next_id;
	if ((c->bev = bufferevent_socket_new(br.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(c->bev, conn_read_cb, conn_drained_cb, conn_event_cb,
	    c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1)
		fatalx("bufferevent_enable");
	TAILQ_INSERT_TAIL(&conns, c, entry);
	nconns++;
}

void
ctl_init(void)
{
	if (fd_set_nonblock(BROKER_FD_CONTROL) == -1)
		fatal("control socket");
	if ((accept_ev = event_new(br.base, BROKER_FD_CONTROL,
	    EV_READ | EV_PERSIST, accept_cb, NULL)) == NULL ||
	    event_add(accept_ev, NULL) == -1)
		fatalx("control event");
}

void
ctl_free(void)
{
	struct ctl_conn	*c;

	while ((c = TAILQ_FIRST(&conns)) != NULL)
		conn_free(c);
	if (accept_ev != NULL)
		event_free(accept_ev);
}
