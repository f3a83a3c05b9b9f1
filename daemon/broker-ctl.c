/*
 * broker-ctl.c: the operator's requests, from securechatctl over the
 * control socket.  Only the daemon's own starting uid (root) is heard; one
 * request per connection, bounded in size, time and number.
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

#include <openssl/crypto.h>

#include "broker.h"
#include "crypto.h"
#include "log.h"
#include "securechatd.h"
#include "util.h"
#include "xmalloc.h"

#define CTL_MAX_CONNS		8
#define CTL_TIMEOUT_S		5
#define CTL_MSG_MAX		4096
#define INVITE_BYTES		10	/* 80 bits: invites and reset codes */
#define CODE_HEX_LEN		(2 * INVITE_BYTES)
#define STORAGE_FAILED		"the server's storage failed: nothing was " \
				"changed; try again later\n"

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	uint64_t		 id;
	struct bufferevent	*bev;
	int			 answered;
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

static void
rooms_cb(const char *name, uint64_t members, void *arg)
{
	(void)evbuffer_add_printf(arg, "%s %llu\n", name,
	    (unsigned long long)members);
}

/* A fresh one-time code, as the operator hands it out: hex digits. */
static void
new_code(char hex[CODE_HEX_LEN + 1])
{
	uint8_t	 raw[INVITE_BYTES];

	if (crypto_random(raw, sizeof(raw)) == -1)
		fatalx("crypto_random");
	hex_encode(raw, sizeof(raw), hex);
	OPENSSL_cleanse(raw, sizeof(raw));
}

/* The sessions of a reset key end: it is no longer the account's. */
static void
end_sessions(const char *name)
{
	struct user	*u;
	struct link	*l;
	char		 text[128];

	TAILQ_FOREACH(u, &br.users, entry)
		if (strcmp(u->name, name) == 0)
			break;
	if (u == NULL)
		return;
	snprintf(text, sizeof(text), "the identity key of %s was reset by "
	    "the operator", name);
	TAILQ_FOREACH(l, &u->links, user_entry)
		link_error(l, ERR_KEY_RESET, text);
}

/*
 * A user who lost the identity key may register a new one under the same
 * name, keeping rooms and inbox, with the one-time code printed here: a
 * thief of the old key cannot.  Others' clients see the key change and
 * refuse it until each of them accepts it (/trust).
 */
static int
reset_key(const char *arg, struct evbuffer *out, uint16_t *code)
{
	uint8_t	 hash[CRYPTO_HASH_LEN];
	char	 name[NAME_MAX_LEN + 1], hex[CODE_HEX_LEN + 1];
	int	 rv;

	if (str_copy(name, arg, sizeof(name)) == -1 ||
	    proto_fold_user(name) == -1) {
		*code = 1;
		(void)evbuffer_add_printf(out, "not a user name: '%s'\n", arg);
		return 0;
	}
	new_code(hex);
	if (crypto_sha256(hex, strlen(hex), hash) == -1)
		fatalx("crypto_sha256");
	if (tx_begin() == -1 ||
	    (rv = store_key_reset(br.store, name, hash)) == -1) {
		req_fail_quiet("store_key_reset");
		*code = 1;
		(void)evbuffer_add_printf(out, STORAGE_FAILED);
		return 0;
	}
	if (rv == STORE_NOT_FOUND) {
		*code = 1;
		(void)evbuffer_add_printf(out, "no user '%s'\n", name);
		return 1;
	}
	/* A crash before the commit ends the sessions anyway. */
	end_sessions(name);
	log_security("control: identity key of %s reset: a registration of "
	    "that name with the code given replaces it", name);
	(void)evbuffer_add_printf(out, "%s\n", hex);
	OPENSSL_cleanse(hex, sizeof(hex));
	return 1;
}

/* Returns 1 when the reply must wait for the commit. */
static int
run(const char *line, struct evbuffer *out, uint16_t *code)
{
	struct user	*u;
	char		 hex[CODE_HEX_LEN + 1];

	*code = 0;
	if (strcmp(line, "invite") == 0) {
		new_code(hex);
		if (tx_begin() == -1 || store_invite_add(br.store, hex) != 0) {
			req_fail_quiet("store_invite_add");
			*code = 1;
			(void)evbuffer_add_printf(out, STORAGE_FAILED);
			return 0;
		}
		log_info("control: invite created");
		(void)evbuffer_add_printf(out, "%s\n", hex);
		return 1;
	}
	if (strcmp(line, "stats") == 0) {
		(void)evbuffer_add_printf(out,
		    "connections %u\nusers_online %u\nmessages %llu\n"
		    "failed_logins %llu\nrate_limited %llu\n"
		    "storage_errors %llu\nuptime %llu\n",
		    br.nlinks, br.nusers_online,
		    (unsigned long long)br.messages,
		    (unsigned long long)br.failed_logins,
		    (unsigned long long)br.rate_limited,
		    (unsigned long long)br.storage_errors,
		    (unsigned long long)((now_ms() - br.started_ms) / 1000));
		return 0;
	}
	if (strcmp(line, "who") == 0) {
		TAILQ_FOREACH(u, &br.users, entry)
			(void)evbuffer_add_printf(out, "%s %u\n", u->name,
			    u->nlinks);
		return 0;
	}
	if (strcmp(line, "rooms") == 0) {
		if (store_rooms(br.store, rooms_cb, out) == -1) {
			req_fail_quiet("store_rooms");
			*code = 1;
			(void)evbuffer_drain(out, evbuffer_get_length(out));
			(void)evbuffer_add_printf(out, STORAGE_FAILED);
		}
		return 0;
	}
	if (strncmp(line, "reset-key ", 10) == 0)
		return reset_key(line + 10, out, code);
	*code = 1;
	(void)evbuffer_add_printf(out, "unknown command '%s': try invite, "
	    "reset-key USER, stats, who or rooms\n", line);
	return 0;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ctl_conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev), *out;
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			*p;
	size_t			 flen;
	uint16_t		 code;
	char			 line[513];
	int			 rv, later;

	if (c->answered)
		return;
	rv = frame_evbuffer_next(in, CTL_MSG_MAX, proto_ctl_spec, &f, &p, &flen);
	if (rv == FRAME_NEED_MORE)
		return;
	if (rv != FRAME_OK || f.type != CTL_REQUEST ||
	    frame_get_str(&f, F_TEXT, line, sizeof(line)) == -1)
		goto bad;
	if ((out = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	req_begin(NULL);
	later = run(line, out, &code);
	req_end();
	reply_build(&b, code, out);
	evbuffer_free(out);
	if (later) {
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
