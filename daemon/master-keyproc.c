/*
 * master-keyproc.c: the master's side of the key process.  It spawns it,
 * sends it the key (again after a reload), hands it its end of each
 * worker's key link, and respawns it when it dies; while it is down no
 * client is accepted, since no handshake could complete.
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
	struct child	*child;
	unsigned int	 backoff_ms;
} mk = { -1, NULL, NULL, NULL, 0 };

static void
send_key(void)
{
	struct frame_buf	 b;
	const struct conf	*c = master_conf();
	const uint8_t		*pem;
	size_t			 len;

	master_key_pem(&pem, &len);
	frame_begin(&b, IMSG_KEY_INIT, KEY_INIT_MAX);
	frame_put_bytes(&b, F_KEY_PEM, pem, len);
	frame_put_str(&b, F_USER_NAME, c->user);
	frame_put_str(&b, F_CHROOT, c->empty_dir);
	frame_put_u8(&b, F_LOG_LEVEL, (uint8_t)c->log_level);
	frame_put_u32(&b, F_MAX_CLIENTS, c->max_clients);
	if (frame_finish(&b) == -1)
		fatalx("the key does not fit a frame");
	if (ipc_send(mk.fd, &b, -1) == -1)
		log_warn("send the key to the key process");
	frame_buf_free(&b);	/* wipes the key */
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

/* The channel carries nothing back: readable means the key process died. */
static void
readable(evutil_socket_t fd, short ev, void *arg)
{
	uint8_t		 buf[64];
	ssize_t		 n;

	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		log_warnx("unexpected message from the key process");
		return;
	}
	channel_close();
	if (mk.child != NULL && kill(mk.child->pid, SIGKILL) == -1 &&
	    errno != ESRCH)
		log_warn("kill key process");
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

	if (mk.respawn_ev == NULL && (mk.respawn_ev =
	    evtimer_new(master_base(), respawn_cb, NULL)) == NULL)
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
	send_key();
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

void
mkeyproc_reload(void)
{
	if (mk.fd != -1)
		send_key();
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
	channel_free();
}
