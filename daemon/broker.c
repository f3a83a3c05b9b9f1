/*
 * broker.c: the one process that keeps state.  Sandboxed in the state
 * directory, it owns the database and a link to every worker, which the
 * master hands over with SCM_RIGHTS.  It trusts no worker's claims.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "frame.h"
#include "ipc.h"
#include "log.h"
#include "sandbox.h"
#include "securechatd.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define DB_NAME			"securechat.db"
#define BROKER_FD_HEADROOM	32	/* db, wal, shm, epoll, signals ... */
#define MASTER_MSG_MAX		4096

/* One worker, as the broker knows it: identity comes from the master only. */
struct link {
	TAILQ_ENTRY(link)	 entry;
	struct bufferevent	*bev;
	uint64_t		 session_id;
	pid_t			 pid;
	char			 addr[64];
	int			 has_session;
	char			 tls_version[32];
	char			 tls_cipher[64];
	char			 tls_group[32];
};
TAILQ_HEAD(linklist, link);

static struct {
	struct event_base	*base;
	struct store		*store;
	struct event		*master_ev;
	struct event		*sigterm_ev;
	struct linklist		 links;
	unsigned int		 nlinks;
	char			 user[64];
	char			 state_dir[PATH_MAX];
	char			 registration[16];
	uint32_t		 max_clients;
	uint32_t		 max_frame;
} b;

static void
link_free(struct link *l, const char *why)
{
	log_debug("worker %ld (%s) detached: %s", (long)l->pid, l->addr, why);
	TAILQ_REMOVE(&b.links, l, entry);
	b.nlinks--;
	bufferevent_free(l->bev);
	free(l);
}

static void
link_session(struct link *l, const struct frame *f)
{
	if (frame_get_str(f, F_TLS_VERSION, l->tls_version,
	    sizeof(l->tls_version)) == -1 ||
	    frame_get_str(f, F_TLS_CIPHER, l->tls_cipher,
	    sizeof(l->tls_cipher)) == -1 ||
	    frame_get_str(f, F_TLS_GROUP, l->tls_group,
	    sizeof(l->tls_group)) == -1) {
		link_free(l, "bad SESSION");
		return;
	}
	l->has_session = 1;
	log_debug("worker %ld (%s): session %s %s %s", (long)l->pid, l->addr,
	    l->tls_version, l->tls_cipher, l->tls_group);
}

/* Returns 0 when the link is still alive afterwards. */
static int
link_frame(struct link *l, const struct frame *f)
{
	switch (f->type) {
	case IMSG_SESSION:
		if (l->has_session) {
			log_security("worker %ld (%s) sent SESSION twice",
			    (long)l->pid, l->addr);
			link_free(l, "protocol violation");
			return -1;
		}
		link_session(l, f);
		return l->has_session ? 0 : -1;
	default:
		log_security("worker %ld (%s) sent unexpected message 0x%04x",
		    (long)l->pid, l->addr, f->type);
		link_free(l, "protocol violation");
		return -1;
	}
}

/* Workers are untrusted: a bad frame ends that link, never the broker. */
static void
link_read_cb(struct bufferevent *bev, void *arg)
{
	struct link	*l = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct frame	 f;
	uint8_t		*p;
	size_t		 avail, flen;
	int		 rv;

	while ((avail = evbuffer_get_length(in)) >= FRAME_HDR_LEN) {
		if ((p = evbuffer_pullup(in, FRAME_HDR_LEN)) == NULL)
			fatalx("evbuffer_pullup");
		rv = frame_peek(p, FRAME_HDR_LEN, b.max_frame, &flen);
		if (rv == FRAME_NEED_MORE)
			flen = FRAME_HDR_LEN + be32_get(p);
		else if (rv != FRAME_OK)
			goto bad;
		if (avail < flen)
			return;
		if ((p = evbuffer_pullup(in, (ev_ssize_t)flen)) == NULL)
			fatalx("evbuffer_pullup");
		if ((rv = frame_decode(p, flen, &f)) == FRAME_OK)
			rv = frame_validate(&f, proto_worker_spec(f.type));
		if (rv != FRAME_OK)
			goto bad;
		if (link_frame(l, &f) == -1)
			return;
		if (evbuffer_drain(in, flen) == -1)
			fatalx("evbuffer_drain");
	}
	return;
bad:
	log_security("worker %ld (%s): malformed frame: %s", (long)l->pid,
	    l->addr, frame_strerror(rv));
	link_free(l, "malformed frame");
}

static void
link_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		link_free(arg, (what & BEV_EVENT_EOF) ? "closed" : "error");
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
	if (fd_set_nonblock(fd) == -1)
		fatal("nonblock");
	if ((l->bev = bufferevent_socket_new(b.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(l->bev, link_read_cb, NULL, link_event_cb, l);
	bufferevent_setwatermark(l->bev, EV_READ, 0, b.max_frame);
	if (bufferevent_enable(l->bev, EV_READ) == -1)
		fatalx("bufferevent_enable");
	TAILQ_INSERT_TAIL(&b.links, l, entry);
	b.nlinks++;
	log_debug("worker %ld (%s) attached, %u live", (long)l->pid, l->addr,
	    b.nlinks);
}

static void
settings(const struct frame *f)
{
	uint8_t	 level;

	if (frame_get_str(f, F_USER_NAME, b.user, sizeof(b.user)) == -1 ||
	    frame_get_str(f, F_CHROOT, b.state_dir, sizeof(b.state_dir)) == -1 ||
	    frame_get_str(f, F_REGISTRATION, b.registration,
	    sizeof(b.registration)) == -1 ||
	    frame_get_u8(f, F_LOG_LEVEL, &level) == -1 ||
	    frame_get_u32(f, F_MAX_CLIENTS, &b.max_clients) == -1 ||
	    frame_get_u32(f, F_MAX_FRAME, &b.max_frame) == -1)
		fatalx("malformed settings from the master");
	log_setlevel(level);
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
		event_base_loopexit(b.base, NULL);
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
	default:
		fatalx("unexpected message 0x%04x from the master", f.type);
	}
}

static void
sigterm_cb(evutil_socket_t sig, short ev, void *arg)
{
	log_info("stopping on signal %d", (int)sig);
	event_base_loopexit(b.base, NULL);
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

int
broker_main(int foreground)
{
	struct link	*l;
	char		 err[512], path[PATH_MAX + 32];
	int		 rv;

	log_init(foreground, LOG_LEVEL_INFO);
	log_procname("broker");
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	if (fcntl(BROKER_FD_MASTER, F_GETFD) == -1)
		fatalx("broker: started without its master channel");
	closefrom(BROKER_FD_MASTER + 1);
	read_settings();
	TAILQ_INIT(&b.links);

	rv = privdrop(b.user, b.state_dir, err, sizeof(err));
	if (rv == PRIVDROP_FAILED)
		fatalx("broker: %s", err);
	if (rv == PRIVDROP_NOT_ROOT) {
		log_warnx("WARNING: broker runs as uid %ld without chroot: the "
		    "daemon was not started as root", (long)getuid());
		if (chdir(b.state_dir) == -1)
			fatal("chdir %s", b.state_dir);
	}
	/* Relative to the state directory, inside the chroot or not. */
	snprintf(path, sizeof(path), "%s", DB_NAME);
	if ((b.store = store_open(path, err, sizeof(err))) == NULL)
		fatalx("broker: database: %s", err);
	log_info("database %s/%s, schema version %d", b.state_dir, DB_NAME,
	    store_schema_version(b.store));

	if ((b.base = event_base_new()) == NULL ||
	    (b.master_ev = event_new(b.base, BROKER_FD_MASTER,
	    EV_READ | EV_PERSIST, master_cb, NULL)) == NULL ||
	    event_add(b.master_ev, NULL) == -1 ||
	    (b.sigterm_ev = evsignal_new(b.base, SIGTERM, sigterm_cb,
	    NULL)) == NULL || event_add(b.sigterm_ev, NULL) == -1)
		fatalx("broker: event setup");
	if (fd_set_nonblock(BROKER_FD_MASTER) == -1)
		fatal("nonblock");

	if (sandbox_limits(SANDBOX_BROKER, (int)b.max_clients +
	    BROKER_FD_HEADROOM, err, sizeof(err)) == -1 ||
	    sandbox_seccomp(SANDBOX_BROKER, err, sizeof(err)) == -1)
		fatalx("broker: %s", err);

	if (event_base_dispatch(b.base) == -1)
		fatalx("broker: event loop failed");

	while ((l = TAILQ_FIRST(&b.links)) != NULL)
		link_free(l, "broker stopping");
	event_free(b.master_ev);
	event_free(b.sigterm_ev);
	event_base_free(b.base);
	store_close(b.store);
	return 0;
}
