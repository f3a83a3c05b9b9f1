/*
 * master-keyproc.c: the master's side of the key process.  It spawns it,
 * sends it the key (again after a reload), hands it its end of each
 * worker's key link, pings it, and respawns it when it dies or stops
 * answering; while it is down no client is accepted, since no handshake
 * could complete.  The channel is non-blocking: a key process that does
 * not read costs a client its connection, never the master its loop.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "frame.h"
#include "ipc.h"
#include "log.h"
#include "master.h"
#include "securechatd.h"
#include "tls.h"
#include "util.h"

#define KEY_INIT_MAX	(80 * 1024)

static struct {
	int		 fd;		/* channel, -1 while down */
	struct event	*ev;
	struct event	*respawn_ev;
	struct event	*ping_ev;
	struct child	*child;
	unsigned int	 backoff_ms;
	uint64_t	 ping_seq;
	uint64_t	 answer_ms;	/* its last PONG, or its start */
	uint64_t	 tick_ms;	/* the last ping_cb */
} mk = { -1, NULL, NULL, NULL, NULL, 0, 0, 0, 0 };

static int
send_key(void)
{
	struct frame_buf	 b;
	const struct conf	*c = master_conf();
	const uint8_t		*pem;
	size_t			 len;
	int			 rv;

	master_key_pem(&pem, &len);
	frame_begin(&b, IMSG_KEY_INIT, KEY_INIT_MAX);
	frame_put_bytes(&b, F_KEY_PEM, pem, len);
	frame_put_str(&b, F_USER_NAME, c->user);
	frame_put_str(&b, F_CHROOT, c->empty_dir);
	frame_put_u8(&b, F_LOG_LEVEL, (uint8_t)c->log_level);
	frame_put_u32(&b, F_MAX_CLIENTS, c->max_clients);
	if (frame_finish(&b) == -1)
		fatalx("the key does not fit a frame");
	if ((rv = ipc_send(mk.fd, &b, -1)) == -1)
		log_warn("send the key to the key process");
	frame_buf_free(&b);	/* wipes the key */
	return rv;
}

static void
channel_free(void)
{
	if (mk.ev != NULL)
		event_free(mk.ev);
	mk.ev = NULL;
	if (mk.fd != -1)
		(void)close(mk.fd);
	mk.fd = -1;
}

static void
channel_close(void)
{
	channel_free();
	master_listeners_update();
}

/* No channel, and no key process left to hold the key. */
static void
channel_end(void)
{
	channel_close();
	if (mk.child != NULL && kill(mk.child->pid, SIGKILL) == -1 &&
	    errno != ESRCH)
		log_warn("kill key process");
}

/* The channel carries only PONGs back; EOF is the key process gone. */
static void
readable(evutil_socket_t fd, short ev, void *arg)
{
	struct frame	 f;
	uint8_t		 buf[64];
	ssize_t		 n;
	int		 rfd;

	while ((n = ipc_recv(fd, buf, sizeof(buf), &f, &rfd)) > 0) {
		if (rfd != -1)
			(void)close(rfd);
		if (f.type == IMSG_CHILD_PONG && rfd == -1)
			mk.answer_ms = now_ms();
		else
			log_warnx("unexpected message from the key process");
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	channel_end();
}

/*
 * Every CHILD_PING_MS a ping; a key process that has not answered for
 * CHILD_DEADLINE_MS (stopped, or stuck) signs no handshake: it is killed,
 * and the usual respawn follows.
 */
static void
ping_cb(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t	 quiet;

	if (mk.fd == -1 || mk.child == NULL || master_shutting_down())
		return;
	/* The master itself stalled: the key process had no chance. */
	if (master_stalled(&mk.tick_ms))
		mk.answer_ms = now_ms();
	quiet = now_ms() - mk.answer_ms;
	if (quiet >= CHILD_DEADLINE_MS) {
		log_warnx("key process pid %ld has not answered for %llu ms: "
		    "killing it to start a new one", (long)mk.child->pid,
		    (unsigned long long)quiet);
		channel_end();
		return;
	}
	if (ipc_ping(mk.fd, IMSG_CHILD_PING, ++mk.ping_seq) == -1 &&
	    errno != EAGAIN)
		log_warn("ping the key process");
}

static void
respawn_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (!master_shutting_down() && mk.child == NULL)
		mkeyproc_spawn();
}

static void
retry_later(void)
{
	struct timeval	 tv = { 1, 0 };

	evtimer_add(mk.respawn_ev, &tv);
}

void
mkeyproc_spawn(void)
{
	int	 sp[2];
	pid_t	 pid;

	struct timeval	 tv = { CHILD_PING_MS / 1000,
			    (CHILD_PING_MS % 1000) * 1000 };

	if (mk.respawn_ev == NULL && ((mk.respawn_ev =
	    evtimer_new(master_base(), respawn_cb, NULL)) == NULL ||
	    (mk.ping_ev = event_new(master_base(), -1, EV_PERSIST, ping_cb,
	    NULL)) == NULL || event_add(mk.ping_ev, &tv) == -1))
		fatalx("evtimer_new");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair for the key process: retrying in 1 s");
		retry_later();
		return;
	}
	if ((pid = master_spawn("keyproc", &sp[1], 1)) == -1) {
		(void)close(sp[0]);
		(void)close(sp[1]);
		retry_later();
		return;
	}
	(void)close(sp[1]);
	mk.fd = sp[0];
	mk.child = master_child_add(pid, CHILD_KEYPROC);
	mk.answer_ms = now_ms();
	/* The key first, on an empty channel: it fits. */
	(void)send_key();
	if (fd_set_nonblock(mk.fd) == -1)
		fatal("key process channel nonblock");
	if ((mk.ev = event_new(master_base(), mk.fd, EV_READ | EV_PERSIST,
	    readable, NULL)) == NULL || event_add(mk.ev, NULL) == -1)
		fatalx("key process event");
	log_info("key process started (pid %ld)", (long)pid);
	master_listeners_update();
}

int
mkeyproc_up(void)
{
	return mk.fd != -1;
}

int
mkeyproc_attach(uint64_t session_id, const char *addr, int fd)
{
	struct frame_buf	 b;
	int			 rv;

	if (mk.fd == -1)
		return -1;
	frame_begin(&b, IMSG_KEY_ATTACH, FRAME_MAX_DEFAULT);
	frame_put_u64(&b, F_SESSION_ID, session_id);
	frame_put_str(&b, F_ADDR, addr);
	rv = frame_finish(&b) == -1 ? -1 : ipc_send(mk.fd, &b, fd);
	frame_buf_free(&b);
	return rv;
}

/*
 * A key process with a full channel would keep signing with the old key
 * for a certificate that names the new one: a new one, started with the
 * new key, instead.
 */
void
mkeyproc_reload(void)
{
	if (mk.fd != -1 && send_key() == -1)
		channel_end();
}

void
mkeyproc_ended(struct child *ch, uint64_t lived_ms)
{
	struct timeval	 tv;
	unsigned int	 ms;

	mk.child = NULL;
	channel_close();
	if (master_shutting_down())
		return;
	ms = master_backoff(&mk.backoff_ms, lived_ms);
	log_warnx("key process lost: restarting it in %u ms", ms);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(mk.respawn_ev, &tv);
}

void
mkeyproc_cancel(void)
{
	if (mk.respawn_ev != NULL) {
		evtimer_del(mk.respawn_ev);
		event_free(mk.respawn_ev);
		mk.respawn_ev = NULL;
	}
	if (mk.ping_ev != NULL) {
		event_free(mk.ping_ev);
		mk.ping_ev = NULL;
	}
	channel_free();
}
