/*
 * master-template.c: the master's side of the worker templates.  One ready
 * template takes the clients; the master starts its successor after
 * TEMPLATE_MAX_FORKS forks or TEMPLATE_MAX_AGE_S seconds (switching once
 * the successor is ready), after a reload, and at once after any worker
 * ended abnormally, since a crash may be an exploit probing the layout
 * every child of that template shares.  A template retired or dead leaves
 * its workers to the master (a child subreaper), which reaps them itself.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "frame.h"
#include "ipc.h"
#include "log.h"
#include "master.h"
#include "ops.h"
#include "securechatd.h"
#include "util.h"
#include "xmalloc.h"

#define TEMPLATE_MSG_MAX	1024
#define UNQUEUE_SENT		0
#define UNQUEUE_FAILED		1
#define UNQUEUE_DROPPED		2

struct template {
	TAILQ_ENTRY(template)	 entry;
	struct child		*child;		/* NULL once reaped */
	pid_t			 pid;		/* also its process group */
	int			 fd;		/* channel; -1 after EOF */
	struct event		*ev;
	int			 ready;
	int			 retired;
	uint64_t		 answer_ms;	/* its last PONG, or READY */
	uint64_t		 retired_ms;
	unsigned int		 forks;
	unsigned int		 workers;	/* records of its live workers */
	/* A SPAWN its full channel did not take yet: accepting waits. */
	struct frame_buf	 queued;
	struct child		*queued_ch;
	int			 queued_fds[3];
	struct event		*wev;
};
TAILQ_HEAD(templates, template);

static struct {
	struct templates	 all;
	struct template		*cur;		/* takes the clients */
	struct template		*next;		/* starting, to replace cur */
	struct event		*respawn_ev;
	struct event		*age_ev;
	struct event		*ping_ev;
	uint64_t		 ping_seq;
	uint64_t		 tick_ms;	/* the last ping_cb */
	unsigned int		 backoff_ms;
	int			 key_pending;	/* reload the key when next is ready */
	int			 initialised;
} mt;

static void	 replace(int, const char *);
static void	 unqueue(struct template *, int);

static void
init(void)
{
	if (mt.initialised)
		return;
	TAILQ_INIT(&mt.all);
	mt.initialised = 1;
}

/* Freed once its process is reaped, its channel closed, its workers gone. */
static void
tpl_maybe_free(struct template *t)
{
	if (t->child != NULL || t->fd != -1 || t->workers > 0)
		return;
	TAILQ_REMOVE(&mt.all, t, entry);
	free(t);
}

static void
channel_close(struct template *t)
{
	struct child	*ch, *tmp;

	if (t->fd == -1)
		return;
	unqueue(t, UNQUEUE_FAILED);
	event_free(t->ev);
	t->ev = NULL;
	if (t->wev != NULL)
		event_free(t->wev);
	t->wev = NULL;
	(void)close(t->fd);
	t->fd = -1;
	/*
	 * Workers it never reported: their links close with it.  The extra
	 * count keeps t while they go.
	 */
	t->workers++;
	for (ch = master_child_next(NULL); ch != NULL; ch = tmp) {
		tmp = master_child_next(ch);
		if (ch->kind != CHILD_WORKER || ch->tpl != t || ch->pid != 0)
			continue;
		/* One retired (replaced, hung) failed no worker's start. */
		if (t->retired)
			master_worker_dropped(ch);
		else
			master_worker_spawned(ch, 0);
	}
	t->workers--;
	if (t == mt.cur || t == mt.next) {
		if (!t->retired)
			log_warnx("worker template pid %ld lost its channel",
			    (long)t->pid);
		if (t == mt.cur)
			mt.cur = NULL;
		else
			mt.next = NULL;
		master_listeners_update();
	}
	tpl_maybe_free(t);
}

/*
 * No more clients for it: it forks what it was sent, sees the end of its
 * input, and exits; its reports still reach us until then.  A SPAWN its
 * full channel held back still goes to it (keep: a routine replacement),
 * or its client is dropped (its template must fork nothing more).
 */
static void
retire(struct template *t, int keep)
{
	if (t->retired)
		return;
	t->retired = 1;
	t->retired_ms = now_ms();
	if (t == mt.cur)
		mt.cur = NULL;
	if (t->fd == -1)
		return;
	if (keep && t->queued_ch != NULL)
		return;		/* unqueue shuts its input once it is sent */
	unqueue(t, UNQUEUE_DROPPED);
	if (shutdown(t->fd, SHUT_WR) == -1)
		log_warn("retire template pid %ld", (long)t->pid);
}

static struct child *
find_worker(struct template *t, uint64_t sid, pid_t pid)
{
	struct child	*ch;

	for (ch = master_child_next(NULL); ch != NULL;
	    ch = master_child_next(ch))
		if (ch->kind == CHILD_WORKER && ch->tpl == t &&
		    (pid != 0 ? ch->pid == pid : ch->session_id == sid &&
		    ch->pid == 0))
			return ch;
	return NULL;
}

static void
ready(struct template *t)
{
	struct timeval	 tv = { TEMPLATE_MAX_AGE_S, 0 };

	/* One retired while it started (a reload, the shutdown) says so too. */
	if (t->retired)
		return;
	if (t != mt.next || t->ready)
		fatalx("unexpected TEMPLATE_READY from pid %ld", (long)t->pid);
	t->ready = 1;
	t->answer_ms = now_ms();
	mt.next = NULL;
	if (mt.cur != NULL)
		retire(mt.cur, 1);
	mt.cur = t;
	/* Links attached from now on are for this template's workers. */
	if (mt.key_pending) {
		mkeyproc_reload();
		mt.key_pending = 0;
	}
	evtimer_add(mt.age_ev, &tv);
	log_info("worker template ready (pid %ld)", (long)t->pid);
	master_listeners_update();
}

static void
report(struct template *t, const struct frame *f)
{
	struct child	*ch;
	uint64_t	 sid;
	uint32_t	 pid, status;

	switch (f->type) {
	case IMSG_TEMPLATE_READY:
		ready(t);
		break;
	case IMSG_SPAWNED:
		if (frame_get_u64(f, F_SESSION_ID, &sid) == -1 ||
		    frame_get_u32(f, F_PID, &pid) == -1)
			fatalx("incomplete SPAWNED");
		if ((ch = find_worker(t, sid, 0)) == NULL)
			fatalx("SPAWNED for unknown session %llu",
			    (unsigned long long)sid);
		master_worker_spawned(ch, (pid_t)pid);
		break;
	case IMSG_CHILD_PONG:
		t->answer_ms = now_ms();
		break;
	case IMSG_REAPED:
		if (frame_get_u32(f, F_PID, &pid) == -1 || pid == 0 ||
		    frame_get_u32(f, F_STATUS, &status) == -1)
			fatalx("incomplete REAPED");
		/* Its last lines first, while its record says what it was. */
		mlog_drain();
		if ((ch = find_worker(t, 0, (pid_t)pid)) == NULL)
			log_warnx("template reaped unknown pid %ld",
			    (long)pid);
		else
			master_child_ended(ch, (int)status);
		break;
	default:
		fatalx("unexpected message %s from a template",
		    proto_msg_name(f->type));
	}
}

/*
 * Everything the template has said, up to its EOF.  A template that died
 * with a SPAWN unread makes the kernel report ECONNRESET first, and only
 * then the reports it sent before (a REAPED, a SPAWNED): they are read,
 * or their workers' records would never end.
 */
static void
drain(struct template *t)
{
	struct frame	 f;
	uint8_t		 buf[TEMPLATE_MSG_MAX];
	ssize_t		 n;
	int		 fd, reset = 0;

	while (t->fd != -1) {
		n = ipc_recv(t->fd, buf, sizeof(buf), &f, &fd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1 && errno == ECONNRESET && !reset) {
			reset = 1;
			continue;
		}
		if (fd != -1)
			fatalx("a descriptor from a template");
		if (n <= 0) {
			if (n == -1)
				log_warn("template pid %ld channel",
				    (long)t->pid);
			channel_close(t);
			return;
		}
		report(t, &f);
	}
}

static void
readable(evutil_socket_t fd, short ev, void *arg)
{
	drain(arg);
}

void
mtemplate_drain(void)
{
	struct template	*t, *tmp;

	if (!mt.initialised)
		return;
	/* drain may free the template it reads. */
	for (t = TAILQ_FIRST(&mt.all); t != NULL; t = tmp) {
		tmp = TAILQ_NEXT(t, entry);
		drain(t);
	}
}

static void
respawn_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (!master_shutting_down() && mt.next == NULL)
		mtemplate_spawn();
}

/*
 * Every CHILD_PING_MS the template taking clients is pinged; one that has
 * not answered for CHILD_DEADLINE_MS (stopped, or stuck) forks nothing
 * and reaps nothing: it is replaced and killed.  A retired one leaves as
 * soon as it reads the end of its input; one still there that long is
 * stuck too, and would never reap its workers.
 */
static void
ping_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct template		*t;
	uint64_t		 now = now_ms();
	int			 stalled = master_stalled(&mt.tick_ms);

	if (master_shutting_down())
		return;
	TAILQ_FOREACH(t, &mt.all, entry) {
		if (t->child == NULL || t->fd == -1)
			continue;
		/* The master itself stalled: no template had a chance. */
		if (stalled) {
			t->answer_ms = now;
			t->retired_ms = now;
		}
		if (t->retired) {
			if (now - t->retired_ms >= CHILD_DEADLINE_MS &&
			    kill(t->pid, SIGKILL) == 0)
				log_warnx("retired worker template pid %ld "
				    "still there after %llu ms: killed",
				    (long)t->pid, (unsigned long long)(now -
				    t->retired_ms));
			continue;
		}
		if (!t->ready)
			continue;
		if (now - t->answer_ms >= CHILD_DEADLINE_MS) {
			log_warnx("worker template pid %ld has not answered "
			    "for %llu ms: killing it", (long)t->pid,
			    (unsigned long long)(now - t->answer_ms));
			replace(1, "it stopped answering");
			if (kill(t->pid, SIGKILL) == -1 && errno != ESRCH)
				log_warn("kill worker template");
			continue;
		}
		if (ipc_ping(t->fd, IMSG_CHILD_PING, ++mt.ping_seq) == -1 &&
		    errno != EAGAIN)
			log_warn("ping worker template pid %ld", (long)t->pid);
	}
}

static void
age_cb(evutil_socket_t fd, short ev, void *arg)
{
	replace(0, "its age");
}

static void
retry_later(unsigned int ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(mt.respawn_ev, &tv);
}

void
mtemplate_spawn(void)
{
	struct template	*t;
	struct timeval	 ping_tv = { CHILD_PING_MS / 1000,
			    (CHILD_PING_MS % 1000) * 1000 };
	int		 sp[2];
	pid_t		 pid;

	init();
	if (mt.respawn_ev == NULL &&
	    ((mt.respawn_ev = evtimer_new(master_base(), respawn_cb,
	    NULL)) == NULL || (mt.age_ev = evtimer_new(master_base(), age_cb,
	    NULL)) == NULL || (mt.ping_ev = event_new(master_base(), -1,
	    EV_PERSIST, ping_cb, NULL)) == NULL ||
	    event_add(mt.ping_ev, &ping_tv) == -1))
		fatalx("evtimer_new");
	if (mt.next != NULL)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair for a worker template: retrying in 1 s");
		retry_later(1000);
		return;
	}
	if ((pid = master_spawn("template", &sp[1], 1)) == -1) {
		(void)close(sp[0]);
		(void)close(sp[1]);
		retry_later(1000);
		return;
	}
	(void)close(sp[1]);
	t = xcalloc(1, sizeof(*t));
	t->pid = pid;
	t->fd = sp[0];
	t->child = master_child_add(pid, CHILD_TEMPLATE);
	t->child->tpl = t;
	TAILQ_INSERT_TAIL(&mt.all, t, entry);
	mt.next = t;
	if (fd_set_nonblock(t->fd) == -1)
		fatal("template channel nonblock");
	master_worker_send_init(t->fd);
	if ((t->ev = event_new(master_base(), t->fd, EV_READ | EV_PERSIST,
	    readable, t)) == NULL || event_add(t->ev, NULL) == -1)
		fatalx("template event");
	log_debug("worker template starting (pid %ld)", (long)pid);
}

/* now: stop forking from the current one at once, not when the next is up. */
static void
replace(int now, const char *why)
{
	if (master_shutting_down() || (!now && mt.next != NULL))
		return;
	if (mt.cur != NULL)
		log_info("replacing worker template pid %ld after %u forks: "
		    "%s", (long)mt.cur->pid, mt.cur->forks, why);
	if (now && mt.cur != NULL) {
		retire(mt.cur, 0);
		master_listeners_update();
	}
	if (mt.next == NULL && !evtimer_pending(mt.respawn_ev, NULL))
		mtemplate_spawn();
}

int
mtemplate_ready(void)
{
	return mt.cur != NULL && mt.cur->fd != -1 && mt.cur->queued_ch == NULL;
}

/*
 * The queued SPAWN is sent (UNQUEUE_SENT), or given up: its worker never
 * was, a startup failure (UNQUEUE_FAILED) or a client dropped with the
 * template it waited for (UNQUEUE_DROPPED).  Either way its descriptors
 * are closed here and accepting may resume.
 */
static void
unqueue(struct template *t, int how)
{
	struct child	*ch = t->queued_ch;
	int		 i;

	if (ch == NULL)
		return;
	for (i = 0; i < 3; i++)
		(void)close(t->queued_fds[i]);
	frame_buf_free(&t->queued);
	t->queued_ch = NULL;
	if (how == UNQUEUE_FAILED)
		master_worker_spawned(ch, 0);
	else if (how == UNQUEUE_DROPPED)
		master_worker_dropped(ch);
	master_listeners_update();
	/* Retired while it waited: its input ends after this SPAWN. */
	if (how != UNQUEUE_DROPPED && t->retired && t->fd != -1 &&
	    shutdown(t->fd, SHUT_WR) == -1)
		log_warn("retire template pid %ld", (long)t->pid);
}

static void
writable(evutil_socket_t fd, short ev, void *arg)
{
	struct template	*t = arg;

	if (t->queued_ch == NULL)
		return;
	if (ipc_send_fds(t->fd, &t->queued, t->queued_fds, 3) == 0)
		unqueue(t, UNQUEUE_SENT);
	else if (errno == EAGAIN || errno == EINTR)
		event_add(t->wev, NULL);
	else {
		log_warn("hand a client to the worker template");
		unqueue(t, UNQUEUE_FAILED);
	}
}

/*
 * The template forks as fast as it can; when its channel is full the
 * SPAWN waits here, and accepting stops, so connections wait in the
 * kernel's listen queue instead.
 */
static int
queue(struct template *t, struct child *ch, struct frame_buf *b,
    const int *fds)
{
	int	 i;

	if (t->wev == NULL && (t->wev = event_new(master_base(), t->fd,
	    EV_WRITE, writable, t)) == NULL)
		return -1;
	for (i = 0; i < 3; i++)
		if ((t->queued_fds[i] = dup(fds[i])) == -1) {
			while (--i >= 0)
				(void)close(t->queued_fds[i]);
			return -1;
		}
	t->queued = *b;
	memset(b, 0, sizeof(*b));
	t->queued_ch = ch;
	if (event_add(t->wev, NULL) == -1)
		fatalx("event_add");
	master_listeners_update();
	return 0;
}

int
mtemplate_fork(struct child *ch, int client, int broker, int key)
{
	struct frame_buf	 b;
	struct template		*t = mt.cur;
	int			 fds[3] = { client, broker, key }, rv;

	if (t == NULL || t->fd == -1 || t->queued_ch != NULL)
		return -1;
	frame_begin(&b, IMSG_SPAWN, FRAME_MAX_DEFAULT);
	frame_put_u64(&b, F_SESSION_ID, ch->session_id);
	frame_put_str(&b, F_ADDR, ch->addr);
	rv = frame_finish(&b) == -1 ? -1 : ipc_send_fds(t->fd, &b, fds, 3);
	if (rv == -1 && errno == EAGAIN)
		rv = queue(t, ch, &b, fds);
	frame_buf_free(&b);
	if (rv == -1) {
		log_warn("hand a client to the worker template");
		return -1;
	}
	ch->tpl = t;
	t->workers++;
	if (++t->forks >= TEMPLATE_MAX_FORKS)
		replace(0, "its forks");
	return 0;
}

/*
 * A process whose SPAWNED report is still on its way: is its parent one
 * of our templates?  (It is alive or not reaped yet: the template reports
 * a reaped one only after the master has drained its lines.)
 */
int
mtemplate_forked(pid_t pid)
{
	struct template	*t;
	char		 path[64], buf[512], *p;
	ssize_t		 n;
	long		 ppid;
	int		 fd;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything but ")". */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return 0;
	if (!mt.initialised)
		return 0;
	TAILQ_FOREACH(t, &mt.all, entry)
		if (t->child != NULL && t->pid == (pid_t)ppid)
			return 1;
	return 0;
}

int
mtemplate_gone(const struct template *t)
{
	return t == NULL || t->fd == -1;
}

/* A crash may be an exploit probing the layout: no more forks from it. */
void
mtemplate_worker_ended(struct child *ch, int status)
{
	struct template	*t = ch->tpl;
	int		 abnormal;

	abnormal = WIFSIGNALED(status) || (WIFEXITED(status) &&
	    WEXITSTATUS(status) != EXIT_SESSION_DONE &&
	    WEXITSTATUS(status) != EXIT_STARTUP);
	if (t == NULL)
		return;
	ch->tpl = NULL;
	t->workers--;
	if (abnormal && t == mt.cur)
		replace(1, "a worker ended abnormally");
	tpl_maybe_free(t);
}

void
mtemplate_ended(struct child *ch, uint64_t lived_ms)
{
	struct template	*t = ch->tpl;
	int		 expected = t->retired;
	unsigned int	 ms;

	drain(t);
	channel_close(t);
	t->child = NULL;
	tpl_maybe_free(t);
	if (expected || master_shutting_down())
		return;
	ms = master_backoff(&mt.backoff_ms, lived_ms);
	log_warnx("worker template lost: starting another in %u ms", ms);
	retry_later(ms);
}

void
mtemplate_reload(int key_changed)
{
	if (key_changed)
		mt.key_pending = 1;
	/* One still starting has the old settings: it never takes a client. */
	if (mt.next != NULL) {
		retire(mt.next, 0);
		mt.next = NULL;
	}
	replace(0, "reload");
}

void
mtemplate_signal(int sig)
{
	struct template	*t;

	if (!mt.initialised)
		return;
	TAILQ_FOREACH(t, &mt.all, entry)
		if ((t->workers > 0 || t->child != NULL) &&
		    kill(-t->pid, sig) == -1 && errno != ESRCH)
			log_warn("kill process group %ld", (long)t->pid);
}

void
mtemplate_retire_all(void)
{
	struct template	*t;

	if (!mt.initialised)
		return;
	mt.next = NULL;
	TAILQ_FOREACH(t, &mt.all, entry)
		if (t->child != NULL)
			retire(t, 0);
}

void
mtemplate_cancel(void)
{
	struct template	*t;

	if (!mt.initialised)
		return;
	if (mt.respawn_ev != NULL) {
		event_free(mt.respawn_ev);
		event_free(mt.age_ev);
		event_free(mt.ping_ev);
		mt.respawn_ev = mt.age_ev = mt.ping_ev = NULL;
	}
	while ((t = TAILQ_FIRST(&mt.all)) != NULL) {
		if (t->ev != NULL)
			event_free(t->ev);
		if (t->wev != NULL)
			event_free(t->wev);
		frame_buf_free(&t->queued);
		if (t->fd != -1)
			(void)close(t->fd);
		TAILQ_REMOVE(&mt.all, t, entry);
		free(t);
	}
}
