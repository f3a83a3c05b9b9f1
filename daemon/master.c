/*
 * master.c: the privileged parent.  It listens, enforces connection limits,
 * starts the broker, the key process and the worker template, and has the
 * template fork one worker per client.  It never reads a byte a client
 * sends: descriptors are handed on unread.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "frame.h"
#include "ipc.h"
#include "log.h"
#include "master.h"
#include "ops.h"
#include "sandbox.h"
#include "securechatd.h"
#include "tls.h"
#include "util.h"
#include "xmalloc.h"

#define BROKER_BACKOFF_MIN_MS	250
#define BROKER_BACKOFF_MAX_MS	30000
#define BROKER_STABLE_MS	60000	/* up this long: reset the backoff */
#define BROKER_START_TRIES	3	/* failed starts in a row: give up */
#define BROKER_MSG_MAX		1024
#define THROTTLE_AFTER		3	/* startup failures in a row */
#define THROTTLE_MIN_MS		1000
#define THROTTLE_MAX_MS		60000
#define SHUTDOWN_WORKERS_MS	5000	/* bound on the clean close */
#define SHUTDOWN_BROKER_MS	3000
#define PEM_MAX			(64 * 1024)
#define CHILD_ENV_MAX		8
#define RELOAD_SUMMARY_MAX	3072	/* what a reload tells securechatctl */

TAILQ_HEAD(childlist, child);

struct listener {
	int			 fd;
	struct event		*ev;
	char			 name[80];
};

static struct {
	struct conf		*conf;
	struct event_base	*base;
	char			 exe[PATH_MAX];
	char			*child_env[CHILD_ENV_MAX];
	int			 foreground;
	struct listener		 listeners[CONF_MAX_LISTEN];
	size_t			 nlisteners;
	int			 accepting;
	struct childlist	 children;
	unsigned int		 nworkers;
	uint64_t		 next_session;

	/* TLS identity: the certificate for workers, the key for the key process. */
	uint8_t			*cert_pem;
	size_t			 cert_len;
	uint8_t			*key_pem;
	size_t			 key_len;

	/* The broker, its control socket and its respawn backoff. */
	int			 broker_fd;
	int			 control_fd;
	char			 control_path[PATH_MAX];
	struct child		*broker;
	struct event		*broker_ev;
	struct event		*broker_wev;	/* ATTACHes wait for room */
	unsigned int		 attaches_waiting;
	struct event		*respawn_ev;
	unsigned int		 broker_backoff_ms;
	/* Its descriptor limit is fixed at start, for this many clients. */
	unsigned int		 broker_max_clients;
	/* Ready: serving.  Before that it is starting; after, pinged. */
	int			 broker_ready;
	unsigned int		 broker_start_failures;
	char			 broker_failure[256];	/* its own words */
	struct event		*ping_ev;
	uint64_t		 ping_seq;
	uint64_t		 broker_answer_ms;	/* last PONG or READY */
	uint64_t		 broker_tick_ms;	/* last broker_ping_cb */
	int			 exit_status;

	/* Throttle when workers fail before doing any work. */
	unsigned int		 startup_failures;
	unsigned int		 throttle_ms;
	struct event		*throttle_ev;
	int			 throttled;
	int			 verbose;
	int			 socket_activated;	/* listeners from systemd */

	int			 shutting_down;
	uint64_t		 shutdown_started;
	struct event		*shutdown_ev;
} m;

static void	 listeners_enable(int);
static void	 throttle(unsigned int);
static void	 broker_spawn(void);
static void	 shutdown_begin(void);
static int	 master_reload(char *, size_t);

static void
tls_identity_free(void)
{
	if (m.key_pem != NULL) {
		OPENSSL_cleanse(m.key_pem, m.key_len);
		free(m.key_pem);
	}
	free(m.cert_pem);
	m.key_pem = m.cert_pem = NULL;
	m.key_len = m.cert_len = 0;
}

/* Load (generating if allowed) the TLS identity and check it works. */
static int
tls_identity_load(const struct conf *c, char *err, size_t errsz)
{
	uint8_t		*cert = NULL, *key = NULL, fp[TLS_FP_LEN];
	size_t		 cert_len, key_len;
	char		 hex[2 * TLS_FP_LEN + 1];
	SSL_CTX		*ctx;

	if (certgen_ensure(c->tls_certificate, c->tls_private_key,
	    c->tls_generate, err, errsz) == -1)
		return -1;
	/* Built once here so a bad pair fails at start, not per client. */
	if ((ctx = setup_tls_load(c, &cert, &cert_len, &key, &key_len, err,
	    errsz)) == NULL)
		return -1;
	if (tls_spki_fingerprint(SSL_CTX_get0_privatekey(ctx), fp) == 0) {
		hex_encode(fp, sizeof(fp), hex);
		log_info("TLS key fingerprint SHA256:%s", hex);
	}
	SSL_CTX_free(ctx);
	tls_identity_free();
	m.cert_pem = cert;
	m.cert_len = cert_len;
	m.key_pem = key;
	m.key_len = key_len;
	return 0;
}

/*
 * The operator's socket: made here, where the runtime directory is in
 * reach, and handed listening to the broker, which checks each peer.
 */
static void
control_listen(const struct conf *c)
{
	struct sockaddr_un	 sun;
	mode_t			 old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(m.control_path, sizeof(m.control_path), "%s/%s",
	    c->runtime_dir, CONTROL_SOCKET) >= (int)sizeof(sun.sun_path))
		fatalx("control socket path too long: %s", m.control_path);
	(void)str_copy(sun.sun_path, m.control_path, sizeof(sun.sun_path));
	if ((m.control_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (unlink(m.control_path) == -1 && errno != ENOENT)
		fatal("unlink %s", m.control_path);
	old = umask(0177);
	if (bind(m.control_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("bind %s", m.control_path);
	(void)umask(old);
	if (listen(m.control_fd, 16) == -1)
		fatal("listen %s", m.control_path);
}

static int
listen_one(const struct conf_listen *l, struct listener *out)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, l->address,
	    &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(l->port);
		sslen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, l->address,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(l->port);
		sslen = sizeof(struct sockaddr_in6);
	} else
		fatalx("listen address %s is not numeric", l->address);

	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		fatal("SO_REUSEADDR");
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		fatal("IPV6_V6ONLY");
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		fatal("bind %s port %u", l->address, l->port);
	if (listen(fd, 128) == -1)
		fatal("listen %s port %u", l->address, l->port);
	out->fd = fd;
	snprintf(out->name, sizeof(out->name), "%s%s%s:%u",
	    ss.ss_family == AF_INET6 ? "[" : "", l->address,
	    ss.ss_family == AF_INET6 ? "]" : "", l->port);
	return 0;
}

/*
 * What waitpid returned: our own child, or a worker adopted from a
 * template that is gone (the template reaps and reports the others).
 */
static struct child *
child_find(pid_t pid)
{
	struct child	*ch;

	TAILQ_FOREACH(ch, &m.children, entry)
		if (ch->pid == pid && (ch->kind != CHILD_WORKER ||
		    mtemplate_gone(ch->tpl)))
			return ch;
	return NULL;
}

struct child *
master_child_next(struct child *ch)
{
	return ch == NULL ? TAILQ_FIRST(&m.children) : TAILQ_NEXT(ch, entry);
}

/*
 * limits.max_clients, but no more than the broker's descriptor limit was
 * set for when it started: a raise on reload waits for its next start.
 */
static unsigned int
max_clients_now(void)
{
	if (m.broker_max_clients != 0 &&
	    m.broker_max_clients < m.conf->max_clients)
		return m.broker_max_clients;
	return m.conf->max_clients;
}

static void
workers_from(const char *addr, const char *prefix, struct gate_counts *n)
{
	struct child	*ch;

	memset(n, 0, sizeof(*n));
	n->total = m.nworkers;
	TAILQ_FOREACH(ch, &m.children, entry) {
		if (ch->kind != CHILD_WORKER)
			continue;
		if (strcmp(ch->addr, addr) == 0)
			n->addr++;
		if (strcmp(ch->prefix, prefix) == 0)
			n->prefix++;
	}
}

/*
 * What children may inherit of our environment: nothing they do not need
 * (a secret in the operator's shell, a LD_ or locale variable that makes
 * libc open files in the sandbox).  The sandbox's debug switch, and the
 * sanitizer runtimes' options in such a build.
 */
static void
child_env_init(void)
{
	static const char *const keep[] = {
		"SC_SANDBOX_DEBUG",
#ifdef SC_SANITIZERS
		"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
#endif
	};
	const char	*v;
	size_t		 i, n = 0;

	_Static_assert(sizeof(keep) / sizeof(keep[0]) < CHILD_ENV_MAX,
	    "child_env has room for every kept variable");
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if ((v = getenv(keep[i])) != NULL)
			(void)xasprintf(&m.child_env[n++], "%s=%s", keep[i], v);
	m.child_env[n] = NULL;
}

struct event_base *
master_base(void)
{
	return m.base;
}

const struct conf *
master_conf(void)
{
	return m.conf;
}

int
master_shutting_down(void)
{
	return m.shutting_down;
}

void
master_key_pem(const uint8_t **pem, size_t *len)
{
	*pem = m.key_pem;
	*len = m.key_len;
}

struct child *
master_child_add(pid_t pid, enum child_kind kind)
{
	struct child	*ch;

	ch = xcalloc(1, sizeof(*ch));
	ch->pid = pid;
	ch->kind = kind;
	ch->started_ms = now_ms();
	ch->broker_end = -1;
	TAILQ_INSERT_TAIL(&m.children, ch, entry);
	return ch;
}

unsigned int
master_backoff(unsigned int *backoff_ms, uint64_t lived_ms)
{
	if (lived_ms >= RESPAWN_STABLE_MS)
		*backoff_ms = 0;
	*backoff_ms = *backoff_ms == 0 ? RESPAWN_MIN_MS : *backoff_ms * 2;
	if (*backoff_ms > RESPAWN_MAX_MS)
		*backoff_ms = RESPAWN_MAX_MS;
	return *backoff_ms;
}

/*
 * Fork and re-execute ourselves in a role, with fds placed on fixed numbers
 * (fds[i] becomes i + 3).  The child inherits nothing else, environment
 * included (child_env_init).
 */
pid_t
master_spawn(const char *role, const int *fds, int nfds)
{
	char		*argv[6];
	sigset_t	 all, old;
	pid_t		 pid;
	int		 i, argc = 0, moved[8];

	argv[argc++] = "securechatd";
	argv[argc++] = "-x";
	argv[argc++] = (char *)role;
	if (m.foreground)
		argv[argc++] = "-d";
	argv[argc] = NULL;

	/* No signal handler may run in the child before exec. */
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) == -1)
		fatal("sigprocmask");
	pid = fork();
	if (pid == -1) {
		log_warn("fork");
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	if (pid == 0) {
		struct sigaction	 sa;
		int			 sig;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGPIPE)
				(void)sigaction(sig, &sa, NULL);
		/* Below 3: no source is moved onto it. */
		if (mlog_child_fd() != STDERR_FILENO &&
		    dup2(mlog_child_fd(), STDERR_FILENO) == -1)
			_exit(127);
		/* Move sources above the targets first so dup2 never clobbers. */
		for (i = 0; i < nfds; i++)
			if ((moved[i] = fcntl(fds[i], F_DUPFD, 3 + nfds)) == -1)
				_exit(127);
		for (i = 0; i < nfds; i++)
			if (dup2(moved[i], 3 + i) == -1)
				_exit(127);
		closefrom(3 + nfds);
		sigemptyset(&all);
		(void)sigprocmask(SIG_SETMASK, &all, NULL);
		execve(m.exe, argv, m.child_env);
		_exit(127);
	}
	if (sigprocmask(SIG_SETMASK, &old, NULL) == -1)
		fatal("sigprocmask");
	return pid;
}

static void
broker_send_settings(void)
{
	struct frame_buf	 b;
	const struct conf	*c = m.conf;

	frame_begin(&b, IMSG_BROKER_INIT, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_USER_NAME, c->user);
	frame_put_str(&b, F_CHROOT, c->state_dir);
	frame_put_str(&b, F_REGISTRATION, conf_registration_name(c->registration));
	frame_put_u8(&b, F_LOG_LEVEL, (uint8_t)c->log_level);
	frame_put_u32(&b, F_MAX_CLIENTS, c->max_clients);
	frame_put_u32(&b, F_MAX_FRAME, c->max_frame_bytes);
	frame_put_u32(&b, F_MESSAGE_RATE, c->message_rate);
	frame_put_u32(&b, F_MESSAGE_BURST, c->message_burst);
	frame_put_u32(&b, F_RETENTION, c->retention);
	frame_put_u32(&b, F_CTL_UID, (uint32_t)geteuid());
	frame_put_u32(&b, F_IPV4_PREFIX, c->ipv4_prefix);
	frame_put_u32(&b, F_IPV6_PREFIX, c->ipv6_prefix);
	frame_put_u32(&b, F_REQUEST_RATE, c->request_rate);
	frame_put_u32(&b, F_REQUEST_BURST, c->request_burst);
	frame_put_u32(&b, F_STORAGE_PER_DAY, c->storage_mib_per_day);
	frame_put_u32(&b, F_STORAGE_BURST, c->storage_burst_mib);
	frame_put_u32(&b, F_INBOX_MAX_MESSAGES, c->inbox_max_messages);
	frame_put_u32(&b, F_INBOX_MAX_MIB, c->inbox_max_mib);
	frame_put_u32(&b, F_REGISTRATIONS_PER_HOUR, c->registrations_per_hour);
	frame_put_u32(&b, F_ROOM_CREATES_PER_HOUR, c->room_creates_per_hour);
	frame_put_u32(&b, F_MAX_ROOMS_PER_USER, c->max_rooms_per_user);
	frame_put_u32(&b, F_MAX_MEMBERS_PER_ROOM, c->max_members_per_room);
	frame_put_u32(&b, F_MAX_ROOMS, c->max_rooms);
	if (frame_finish(&b) == -1)
		fatalx("broker settings do not fit a frame");
	if (ipc_send(m.broker_fd, &b, -1) == -1)
		log_warn("send settings to broker");
	frame_buf_free(&b);
}

/* securechatctl reload, by way of the broker: reload, then say how it went. */
static void
broker_reload_request(void)
{
	struct frame_buf	 b;
	char			 summary[RELOAD_SUMMARY_MAX];
	int			 rv;

	rv = master_reload(summary, sizeof(summary));
	if (m.broker_fd == -1)
		return;
	frame_begin(&b, IMSG_RELOAD_DONE, FRAME_MAX_DEFAULT);
	frame_put_u16(&b, F_CODE, rv == 0 ? 0 : 1);
	frame_put_str(&b, F_TEXT, summary);
	if (frame_finish(&b) == -1 || ipc_send(m.broker_fd, &b, -1) == -1)
		log_warnx("cannot tell the broker how the reload went");
	frame_buf_free(&b);
}

/*
 * The broker gets its end of the worker's link, and who it is.  0, or -1
 * (errno; EAGAIN: its channel is full, as when it was stopped a while).
 */
static int
attach_send(struct child *ch)
{
	struct frame_buf	 b;
	int			 rv;

	frame_begin(&b, IMSG_ATTACH, FRAME_MAX_DEFAULT);
	frame_put_u32(&b, F_PID, (uint32_t)ch->pid);
	frame_put_u64(&b, F_SESSION_ID, ch->session_id);
	frame_put_str(&b, F_ADDR, ch->addr);
	errno = EMSGSIZE;
	rv = frame_finish(&b) == -1 ? -1 :
	    ipc_send(m.broker_fd, &b, ch->broker_end);
	frame_buf_free(&b);
	if (rv == 0) {
		(void)close(ch->broker_end);
		ch->broker_end = -1;
	}
	return rv;
}

/* Sent, or given up: a link the broker never got ends its worker. */
static void
attach_done(struct child *ch)
{
	if (ch->attach_waits) {
		ch->attach_waits = 0;
		m.attaches_waiting--;
	}
	if (ch->broker_end == -1)
		return;
	log_warnx("cannot attach worker %ld to the broker", (long)ch->pid);
	(void)close(ch->broker_end);
	ch->broker_end = -1;
}

/*
 * The broker's channel has room again: what waited goes, in order.  The
 * wait is bounded by the workers (max_clients) and by the broker's ping
 * deadline, past which it is killed and these links end with it.
 */
static void
broker_writable(evutil_socket_t fd, short ev, void *arg)
{
	struct child	*ch, *next;

	for (ch = TAILQ_FIRST(&m.children); ch != NULL; ch = next) {
		next = TAILQ_NEXT(ch, entry);
		if (!ch->attach_waits)
			continue;
		if (attach_send(ch) == -1 && errno == EAGAIN) {
			if (event_add(m.broker_wev, NULL) == -1)
				fatalx("event_add");
			return;
		}
		attach_done(ch);
	}
}

/* The broker is gone: the links that waited for it end their workers. */
static void
attaches_drop(void)
{
	struct child	*ch;

	TAILQ_FOREACH(ch, &m.children, entry)
		if (ch->attach_waits)
			attach_done(ch);
}

/* A broker without its channel is useless: make sure it ends. */
static void
broker_channel_close(int kill_it)
{
	if (m.broker_ev != NULL) {
		event_free(m.broker_ev);
		m.broker_ev = NULL;
		event_free(m.broker_wev);
		m.broker_wev = NULL;
		(void)close(m.broker_fd);
		m.broker_fd = -1;
	}
	attaches_drop();
	listeners_enable(0);
	if (kill_it && m.broker != NULL && kill(m.broker->pid, SIGKILL) == -1 &&
	    errno != ESRCH)
		log_warn("kill broker");
}

static void
broker_message(const struct frame *f)
{
	switch (f->type) {
	case IMSG_BROKER_READY:
		/* Clients wait in the backlog until the broker can serve them. */
		log_info("broker ready (pid %ld)", (long)m.broker->pid);
		m.broker_ready = 1;
		m.broker_start_failures = 0;
		m.broker_answer_ms = now_ms();
		master_listeners_update();
		break;
	case IMSG_BROKER_PONG:
		m.broker_answer_ms = now_ms();
		break;
	case IMSG_RELOAD:
		/* securechatctl reload, by way of the broker. */
		if (f->nfields == 0)
			broker_reload_request();
		else
			log_warnx("malformed RELOAD from the broker");
		break;
	case IMSG_BROKER_FAILED:
		if (frame_get_str(f, F_TEXT, m.broker_failure,
		    sizeof(m.broker_failure)) == -1)
			(void)str_copy(m.broker_failure, "(no reason given)",
			    sizeof(m.broker_failure));
		break;
	default:
		log_warnx("unexpected message 0x%04x from the broker: "
		    "restarting it", f->type);
		broker_channel_close(1);
		break;
	}
}

/* The broker says it is ready, that it cannot start, or that it lives. */
static void
broker_readable(evutil_socket_t fd, short ev, void *arg)
{
	uint8_t		 buf[BROKER_MSG_MAX];
	struct frame	 f;
	ssize_t		 n;
	int		 passed;

	n = ipc_recv(fd, buf, sizeof(buf), &f, &passed);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1 && errno == EBADMSG) {
		if (passed != -1)
			(void)close(passed);
		log_warnx("malformed message from the broker");
		return;
	}
	if (passed != -1)
		(void)close(passed);
	if (n > 0) {
		broker_message(&f);
		return;
	}
	if (n == -1)
		log_warn("broker channel");
	broker_channel_close(1);
}

/*
 * Whether the master's own loop stalled since *tick_ms (a ping timer
 * firing far later than its period: stopped, swapped out): then no child
 * had a chance to answer, and none is judged on that tick.
 */
int
master_stalled(uint64_t *tick_ms)
{
	uint64_t	 now = now_ms(), last = *tick_ms;

	*tick_ms = now;
	return last != 0 && now - last > CHILD_DEADLINE_MS / 2;
}

/*
 * Every CHILD_PING_MS a ping; a broker that has not answered for
 * CHILD_DEADLINE_MS (stopped, or stuck in a loop) is killed, and the
 * usual respawn follows.
 */
static void
broker_ping_cb(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t	 quiet;

	if (m.broker == NULL || !m.broker_ready || m.broker_fd == -1 ||
	    m.shutting_down)
		return;
	if (master_stalled(&m.broker_tick_ms))
		m.broker_answer_ms = now_ms();
	quiet = now_ms() - m.broker_answer_ms;
	if (quiet >= CHILD_DEADLINE_MS) {
		log_warnx("broker pid %ld has not answered for %llu ms: "
		    "killing it to start a new one", (long)m.broker->pid,
		    (unsigned long long)quiet);
		m.broker_answer_ms = now_ms();
		broker_channel_close(1);
		return;
	}
	if (ipc_ping(m.broker_fd, IMSG_BROKER_PING, ++m.ping_seq) == -1 &&
	    errno != EAGAIN)
		log_warn("ping the broker");
}

static void
broker_respawn_cb(evutil_socket_t fd, short ev, void *arg)
{
	if (!m.shutting_down && m.broker == NULL)
		broker_spawn();
}

static void
broker_spawn(void)
{
	struct child	*ch;
	struct timeval	 tv = { 1, 0 };
	int		 sp[2], fds[2];
	pid_t		 pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair for the broker: retrying in 1 s");
		evtimer_add(m.respawn_ev, &tv);
		return;
	}
	fds[0] = sp[1];
	fds[1] = m.control_fd;
	/* Non-blocking on our side: a stopped broker must not stop us. */
	if (fd_set_nonblock(sp[0]) == -1 ||
	    (pid = master_spawn("broker", fds, 2)) == -1) {
		(void)close(sp[0]);
		(void)close(sp[1]);
		evtimer_add(m.respawn_ev, &tv);
		return;
	}
	(void)close(sp[1]);
	m.broker_fd = sp[0];
	ch = xcalloc(1, sizeof(*ch));
	ch->pid = pid;
	ch->kind = CHILD_BROKER;
	ch->started_ms = now_ms();
	TAILQ_INSERT_TAIL(&m.children, ch, entry);
	m.broker = ch;
	m.broker_ready = 0;
	m.broker_failure[0] = '\0';
	m.broker_max_clients = m.conf->max_clients;
	broker_send_settings();
	if ((m.broker_ev = event_new(m.base, m.broker_fd, EV_READ | EV_PERSIST,
	    broker_readable, NULL)) == NULL || event_add(m.broker_ev, NULL) == -1 ||
	    (m.broker_wev = event_new(m.base, m.broker_fd, EV_WRITE,
	    broker_writable, NULL)) == NULL)
		fatalx("broker event");
	/* Listeners open when it says it is ready (broker_message). */
	log_info("broker started (pid %ld)", (long)pid);
}

/* The settings and certificate every worker of a template shares. */
void
master_worker_send_init(int fd)
{
	struct frame_buf	 b;
	const struct conf	*c = m.conf;

	frame_begin(&b, IMSG_WORKER_INIT, PEM_MAX + 4096);
	frame_put_bytes(&b, F_CERT_PEM, m.cert_pem, m.cert_len);
	frame_put_str(&b, F_USER_NAME, c->user);
	frame_put_str(&b, F_CHROOT, c->empty_dir);
	frame_put_u32(&b, F_HANDSHAKE_TIMEOUT, c->handshake_timeout);
	frame_put_u32(&b, F_IDLE_TIMEOUT, c->idle_timeout);
	frame_put_u32(&b, F_LOGIN_TIMEOUT, c->login_timeout);
	frame_put_u32(&b, F_REKEY_MIN, c->rekey_min);
	frame_put_u32(&b, F_REKEY_MAX, c->rekey_max);
	frame_put_u32(&b, F_MAX_FRAME, c->max_frame_bytes);
	frame_put_u8(&b, F_LOG_LEVEL, (uint8_t)c->log_level);
	if (frame_finish(&b) == -1)
		fatalx("worker settings do not fit a frame");
	if (ipc_send(fd, &b, -1) == -1)
		log_warn("send settings to the worker template");
	frame_buf_free(&b);
}

static void
child_free(struct child *ch)
{
	if (ch->kind == CHILD_WORKER && ch->broker_end != -1)
		(void)close(ch->broker_end);
	if (ch->attach_waits)
		m.attaches_waiting--;
	TAILQ_REMOVE(&m.children, ch, entry);
	free(ch);
}

static void
worker_spawn(int client, const char *addr, const char *prefix)
{
	struct child	*ch;
	int		 wb[2] = { -1, -1 }, wk[2] = { -1, -1 };
	uint64_t	 sid = ++m.next_session;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wb) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, wk) == -1) {
		log_warn("socketpair");
		goto out;
	}
	/* The key process signs this worker's handshake, and only that. */
	if (mkeyproc_attach(sid, addr, wk[0]) == -1) {
		log_warn("cannot attach a key link for %s", addr);
		goto out;
	}
	ch = master_child_add(0, CHILD_WORKER);
	ch->session_id = sid;
	(void)str_copy(ch->addr, addr, sizeof(ch->addr));
	(void)str_copy(ch->prefix, prefix, sizeof(ch->prefix));
	if (mtemplate_fork(ch, client, wb[1], wk[1]) == -1) {
		child_free(ch);
		goto out;
	}
	/* The broker gets its end once the template says which pid it is. */
	ch->broker_end = wb[0];
	wb[0] = -1;
	m.nworkers++;
	notify_status(m.nworkers);
out:
	(void)close(client);
	if (wb[0] != -1)
		(void)close(wb[0]);
	if (wb[1] != -1)
		(void)close(wb[1]);
	if (wk[0] != -1) {
		(void)close(wk[0]);
		(void)close(wk[1]);
	}
}

static void	 worker_startup_failed(void);

/* A worker that never was: its record goes, and its client with it. */
static void
worker_unborn(struct child *ch)
{
	m.nworkers--;
	notify_status(m.nworkers);
	mtemplate_worker_ended(ch, 0);
	child_free(ch);
}

/*
 * A client whose SPAWN waited for a template replaced at once (after a
 * crash, or hung): dropped, not a startup failure of the workers.
 */
void
master_worker_dropped(struct child *ch)
{
	log_warnx("client %s: dropped with the worker template it waited for",
	    ch->addr);
	worker_unborn(ch);
}

void
master_worker_spawned(struct child *ch, pid_t pid)
{
	if (pid == 0) {
		log_warnx("client %s: the worker template could not fork",
		    ch->addr);
		worker_unborn(ch);
		worker_startup_failed();
		return;
	}
	ch->pid = pid;
	log_debug("client %s: worker pid %ld, session %llu", ch->addr,
	    (long)pid, (unsigned long long)ch->session_id);
	/* Behind those already waiting, or when the channel is full. */
	if (m.broker_fd != -1 && (m.attaches_waiting > 0 ||
	    (attach_send(ch) == -1 && errno == EAGAIN))) {
		ch->attach_waits = 1;
		m.attaches_waiting++;
		if (event_add(m.broker_wev, NULL) == -1)
			fatalx("event_add");
		return;
	}
	attach_done(ch);
}

static void
addr_string(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	const void	*a;

	if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	else
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	if (inet_ntop(ss->ss_family, a, out, (socklen_t)outsz) == NULL)
		(void)str_copy(out, "unknown", outsz);
}

static void
accept_cb(evutil_socket_t lfd, short ev, void *arg)
{
	struct sockaddr_storage	 ss;
	struct gate_counts	 n;
	socklen_t		 sslen = sizeof(ss);
	char			 addr[INET6_ADDRSTRLEN];
	char			 prefix[INET6_ADDRSTRLEN + 4];
	int			 fd, on = 1;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sslen,
	    SOCK_CLOEXEC)) == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* Level-triggered: without a pause this would spin. */
			log_warn("accept: pausing for 1 s");
			throttle(1000);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	addr_string(&ss, addr, sizeof(addr));
	if (addr_prefix(addr, (int)m.conf->ipv4_prefix,
	    (int)m.conf->ipv6_prefix, prefix, sizeof(prefix)) == -1)
		(void)str_copy(prefix, addr, sizeof(prefix));
	/* Before any fork: a refusal costs this close and nothing else. */
	workers_from(addr, prefix, &n);
	if (gate_admit(m.conf, addr, prefix, &n, max_clients_now()) == -1) {
		(void)close(fd);
		return;
	}
	/* Small frames (PONG, ACK) must not wait for Nagle. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		log_warn("TCP_NODELAY");
	worker_spawn(fd, addr, prefix);
}

void
master_listeners_update(void)
{
	listeners_enable(!m.shutting_down && !m.throttled &&
	    m.broker_fd != -1 && m.broker_ready && mkeyproc_up() &&
	    mtemplate_ready());
}

static void
listeners_enable(int on)
{
	size_t	 i;

	if (m.accepting == on)
		return;
	for (i = 0; i < m.nlisteners; i++) {
		if (on && event_add(m.listeners[i].ev, NULL) == -1)
			fatalx("event_add listener");
		if (!on && event_del(m.listeners[i].ev) == -1)
			fatalx("event_del listener");
	}
	m.accepting = on;
}

static void
throttle_end(evutil_socket_t fd, short ev, void *arg)
{
	log_info("resuming accepting clients after throttling");
	m.throttled = 0;
	master_listeners_update();
}

/* Stop accepting for ms milliseconds. */
static void
throttle(unsigned int ms)
{
	struct timeval	 tv;

	m.throttled = 1;
	listeners_enable(0);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(m.throttle_ev, &tv);
}

/* Postfix's rule: children that die before working must not make us spin. */
static void
worker_startup_failed(void)
{
	if (++m.startup_failures < THROTTLE_AFTER)
		return;
	m.throttle_ms = m.throttle_ms == 0 ? THROTTLE_MIN_MS :
	    (m.throttle_ms * 2 > THROTTLE_MAX_MS ? THROTTLE_MAX_MS :
	    m.throttle_ms * 2);
	log_warnx("%u workers failed at startup in a row: pausing accept for "
	    "%u ms", m.startup_failures, m.throttle_ms);
	throttle(m.throttle_ms);
}

/* How a child ended, in words, for a reason that names no other. */
static void
status_text(int status, char *buf, size_t bufsz)
{
	if (WIFSIGNALED(status))
		(void)snprintf(buf, bufsz, "killed by signal %d",
		    WTERMSIG(status));
	else
		(void)snprintf(buf, bufsz, "exit status %d",
		    WEXITSTATUS(status));
}

/*
 * The broker is gone.  One that never said it was ready failed to start:
 * after BROKER_START_TRIES in a row there is no point in trying again
 * with the port open and clients hanging in the backlog, so the master
 * stops, non-zero, saying why.
 */
static void
broker_ended(int status)
{
	uint8_t		 buf[BROKER_MSG_MAX];
	struct frame	 f;
	char		 why[sizeof(m.broker_failure)];
	int		 passed;

	/* Its last words may still wait in the channel. */
	while (m.broker_fd != -1 && ipc_recv(m.broker_fd, buf, sizeof(buf),
	    &f, &passed) > 0) {
		if (passed != -1)
			(void)close(passed);
		if (f.type == IMSG_BROKER_FAILED)
			broker_message(&f);
	}
	broker_channel_close(0);
	m.broker = NULL;
	if (m.broker_ready || m.shutting_down) {
		m.broker_ready = 0;
		return;
	}
	if (m.broker_failure[0] != '\0')
		(void)str_copy(why, m.broker_failure, sizeof(why));
	else
		status_text(status, why, sizeof(why));
	if (++m.broker_start_failures < BROKER_START_TRIES) {
		log_warnx("the broker could not start (%u of %d tries): %s",
		    m.broker_start_failures, BROKER_START_TRIES, why);
		return;
	}
	log_warnx("stopping: the broker failed to start %u times in a row: "
	    "%s", m.broker_start_failures, why);
	m.exit_status = 1;
	shutdown_begin();
}

static void
child_ended(struct child *ch, int status)
{
	const char	*what = ch->kind == CHILD_BROKER ? "broker" :
	    ch->kind == CHILD_KEYPROC ? "key process" :
	    ch->kind == CHILD_TEMPLATE ? "worker template" : "worker";
	uint64_t	 lived = now_ms() - ch->started_ms;
	struct timeval	 tv;

	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		log_security("%s pid %ld (%s) killed by the seccomp filter "
		    "(SIGSYS)", what, (long)ch->pid, ch->addr[0] ? ch->addr :
		    "-");
	else if (WIFSIGNALED(status))
		log_warnx("%s pid %ld (%s) killed by signal %d after %llu ms",
		    what, (long)ch->pid, ch->addr[0] ? ch->addr : "-",
		    WTERMSIG(status), (unsigned long long)lived);
	else if (ch->kind != CHILD_WORKER || WEXITSTATUS(status) != 0)
		log_info("%s pid %ld (%s) exited with status %d after %llu ms",
		    what, (long)ch->pid, ch->addr[0] ? ch->addr : "-",
		    WEXITSTATUS(status), (unsigned long long)lived);
	else
		log_debug("worker pid %ld (%s) exited with status 0 after "
		    "%llu ms", (long)ch->pid, ch->addr, (unsigned long long)lived);

	if (ch->kind == CHILD_KEYPROC)
		mkeyproc_ended(ch, lived);
	else if (ch->kind == CHILD_TEMPLATE)
		mtemplate_ended(ch, lived);
	else if (ch->kind == CHILD_WORKER) {
		m.nworkers--;
		notify_status(m.nworkers);
		mtemplate_worker_ended(ch, status);
		if (WIFEXITED(status) && (WEXITSTATUS(status) == EXIT_STARTUP ||
		    WEXITSTATUS(status) == 127))
			worker_startup_failed();
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			m.startup_failures = 0;
			m.throttle_ms = 0;
		}
	} else {
		broker_ended(status);
		if (!m.shutting_down) {
			if (lived >= BROKER_STABLE_MS)
				m.broker_backoff_ms = 0;
			m.broker_backoff_ms = m.broker_backoff_ms == 0 ?
			    BROKER_BACKOFF_MIN_MS : m.broker_backoff_ms * 2;
			if (m.broker_backoff_ms > BROKER_BACKOFF_MAX_MS)
				m.broker_backoff_ms = BROKER_BACKOFF_MAX_MS;
			log_warnx("broker lost: restarting it in %u ms",
			    m.broker_backoff_ms);
			tv.tv_sec = m.broker_backoff_ms / 1000;
			tv.tv_usec = (m.broker_backoff_ms % 1000) * 1000;
			evtimer_add(m.respawn_ev, &tv);
		}
	}
	child_free(ch);
}

void
master_child_ended(struct child *ch, int status)
{
	child_ended(ch, status);
	if (m.shutting_down && TAILQ_EMPTY(&m.children))
		event_base_loopexit(m.base, NULL);
}

static void
sigchld_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct child	*ch;
	pid_t		 pid;
	int		 status;

	/* Reports first: an adopted worker must be known before it is reaped. */
	mtemplate_drain();
	/* Their last lines first, while the master still knows who they were. */
	mlog_drain();
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		/*
		 * A worker adopted as its template died after the drain above:
		 * the template's last reports and its EOF are there now.
		 */
		if ((ch = child_find(pid)) == NULL) {
			mtemplate_drain();
			ch = child_find(pid);
		}
		if (ch == NULL) {
			log_warnx("reaped unknown child pid %ld", (long)pid);
			continue;
		}
		child_ended(ch, status);
	}
	if (m.shutting_down && TAILQ_EMPTY(&m.children))
		event_base_loopexit(m.base, NULL);
}

static void
signal_children(enum child_kind kind, int sig)
{
	struct child	*ch;

	TAILQ_FOREACH(ch, &m.children, entry)
		if (ch->kind == kind && kill(ch->pid, sig) == -1 &&
		    errno != ESRCH)
			log_warn("kill %ld", (long)ch->pid);
}

static int
workers_left(void)
{
	return m.nworkers > 0;
}

/* Runs every 100 ms during shutdown: workers first, then the broker. */
static void
shutdown_tick(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t	 elapsed = now_ms() - m.shutdown_started;

	if (workers_left()) {
		if (elapsed >= SHUTDOWN_WORKERS_MS) {
			log_warnx("workers still running after %d ms: killing",
			    SHUTDOWN_WORKERS_MS);
			mtemplate_signal(SIGKILL);
		}
	} else if (m.broker != NULL) {
		if (elapsed >= SHUTDOWN_WORKERS_MS + SHUTDOWN_BROKER_MS)
			signal_children(CHILD_BROKER, SIGKILL);
		else
			signal_children(CHILD_BROKER, SIGTERM);
	}
	/* Nothing more to sign or fork once the workers are gone. */
	if (!workers_left()) {
		signal_children(CHILD_KEYPROC, elapsed >= SHUTDOWN_WORKERS_MS +
		    SHUTDOWN_BROKER_MS ? SIGKILL : SIGTERM);
		mtemplate_retire_all();
		if (elapsed >= SHUTDOWN_WORKERS_MS + SHUTDOWN_BROKER_MS)
			signal_children(CHILD_TEMPLATE, SIGKILL);
	}
	if (TAILQ_EMPTY(&m.children))
		event_base_loopexit(m.base, NULL);
}

static void
sigterm_cb(evutil_socket_t sig, short ev, void *arg)
{
	if (m.shutting_down)
		return;
	log_info("shutting down on signal %d", (int)sig);
	shutdown_begin();
}

/* Workers first, then the broker; the loop ends when no child is left. */
static void
shutdown_begin(void)
{
	struct timeval	 tick = { 0, 100000 };

	notify_stopping();
	m.shutting_down = 1;
	m.shutdown_started = now_ms();
	listeners_enable(0);
	evtimer_del(m.respawn_ev);
	mtemplate_signal(SIGTERM);
	if ((m.shutdown_ev = event_new(m.base, -1, EV_PERSIST, shutdown_tick,
	    NULL)) == NULL || event_add(m.shutdown_ev, &tick) == -1)
		fatalx("shutdown timer");
	shutdown_tick(-1, 0, NULL);
}

struct reload_ctx {
	char	*summary;
	size_t	 len;
	size_t	 size;
	int	 changed;
};

static void
reload_say(struct reload_ctx *rc, const char *line)
{
	int	 n;

	if (rc->len >= rc->size)
		return;
	n = snprintf(rc->summary + rc->len, rc->size - rc->len, "%s\n", line);
	if (n > 0)
		rc->len += (size_t)n < rc->size - rc->len ? (size_t)n :
		    rc->size - rc->len - 1;
}

/* Each value that differs, old and new, in the log and for securechatctl. */
static void
reload_changed(const char *name, const char *old, const char *new, void *arg)
{
	struct reload_ctx	*rc = arg;
	char			 line[PATH_MAX * 2 + 128];

	rc->changed++;
	if (conf_option_fixed(name)) {
		snprintf(line, sizeof(line), "%s: %s -> %s: cannot change while "
		    "running, keeping %s (restart to apply)", name, old, new,
		    old);
		log_warnx("reload: %s", line);
	} else {
		snprintf(line, sizeof(line), "%s: %s -> %s", name, old, new);
		log_info("reload: %s", line);
	}
	reload_say(rc, line);
}

/* SIGHUP, systemctl reload or securechatctl reload.  0, or -1: kept all. */
static int
master_reload(char *summary, size_t size)
{
	struct reload_ctx	 rc = { summary, 0, size, 0 };
	struct conf		 fresh;
	char			 err[PATH_MAX + 256], line[PATH_MAX + 320];

	summary[0] = '\0';
	if (m.shutting_down) {
		reload_say(&rc, "shutting down: not reloading");
		return -1;
	}
	notify_reloading();
	log_info("reloading %s", m.conf->path[0] ? m.conf->path :
	    "(built-in defaults)");
	conf_defaults(&fresh);
	if (m.conf->path[0] != '\0' &&
	    conf_load(&fresh, m.conf->path, 1, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		snprintf(line, sizeof(line), "reload failed, keeping the running "
		    "configuration: %s", err);
		reload_say(&rc, line);
		notify_ready(m.nworkers);
		return -1;
	}
	/* What the file said last time: -v raised the level, not the file. */
	m.conf->log_level -= m.verbose;
	if (m.conf->log_level < LOG_LEVEL_ERROR)
		m.conf->log_level = LOG_LEVEL_ERROR;
	conf_diff(m.conf, &fresh, reload_changed, &rc);
	(void)conf_reload(m.conf, &fresh, NULL);
	m.conf->log_level += m.verbose;
	if (m.conf->log_level > LOG_LEVEL_DEBUG)
		m.conf->log_level = LOG_LEVEL_DEBUG;
	log_setlevel(m.conf->log_level);
	/* New settings and certificate reach workers through a new template. */
	if (tls_identity_load(m.conf, err, sizeof(err)) == -1) {
		log_warnx("reload: TLS identity: %s: keeping the previous one",
		    err);
		snprintf(line, sizeof(line), "TLS identity: %s: keeping the "
		    "previous one", err);
		reload_say(&rc, line);
		mtemplate_reload(0);
	} else
		mtemplate_reload(1);
	if (m.broker_fd != -1)
		broker_send_settings();
	if (m.conf->max_clients > m.broker_max_clients) {
		log_warnx("reload: limits.max_clients %u is above the %u the "
		    "broker's descriptor limit was set for: %u until the "
		    "broker restarts", m.conf->max_clients,
		    m.broker_max_clients, m.broker_max_clients);
		snprintf(line, sizeof(line), "limits.max_clients %u: %u until "
		    "the broker restarts", m.conf->max_clients,
		    m.broker_max_clients);
		reload_say(&rc, line);
	}
	log_info("configuration reloaded: %d value%s changed", rc.changed,
	    rc.changed == 1 ? "" : "s");
	snprintf(line, sizeof(line), "configuration reloaded: %d value%s "
	    "changed", rc.changed, rc.changed == 1 ? "" : "s");
	reload_say(&rc, line);
	notify_ready(m.nworkers);
	return 0;
}

static void
sighup_cb(evutil_socket_t sig, short ev, void *arg)
{
	char	 summary[RELOAD_SUMMARY_MAX];

	(void)master_reload(summary, sizeof(summary));
}

/* For the log relay: a child is what the master started it as. */
static const char *
child_role(pid_t pid)
{
	struct child	*ch;

	TAILQ_FOREACH(ch, &m.children, entry)
		if (ch->pid == pid)
			break;
	/* A worker may speak before its template's report is read. */
	if (ch == NULL)
		return mtemplate_forked(pid) ? "worker" : NULL;
	switch (ch->kind) {
	case CHILD_BROKER:
		return "broker";
	case CHILD_KEYPROC:
		return "keyproc";
	case CHILD_TEMPLATE:
		return "template";
	case CHILD_WORKER:
		return "worker";
	}
	return NULL;
}

/* Sockets systemd bound (securechat.socket), or our own. */
static void
listeners_open(const struct conf *c)
{
	int	 fds[CONF_MAX_LISTEN];
	char	 names[CONF_MAX_LISTEN][80], err[1024];
	int	 i, n;

	if ((n = notify_listen_fds()) <= 0) {
		for (i = 0; i < (int)c->nlisten; i++)
			listen_one(&c->listen[i], &m.listeners[i]);
		m.nlisteners = c->nlisten;
		return;
	}
	if (notify_take_listeners(c, n, fds, names, CONF_MAX_LISTEN, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	for (i = 0; i < n; i++) {
		m.listeners[i].fd = fds[i];
		(void)str_copy(m.listeners[i].name, names[i],
		    sizeof(m.listeners[i].name));
	}
	m.nlisteners = n;
	m.socket_activated = 1;
}

int
master_main(struct conf *c, int foreground, int verbose)
{
	struct event	*sig_ev[5];
	struct timeval	 ping_tv;
	char		 err[PATH_MAX + 256];
	ssize_t		 n;
	size_t		 i;

	memset(&m, 0, sizeof(m));
	m.conf = c;
	m.foreground = foreground;
	m.verbose = verbose;
	m.broker_fd = -1;
	m.control_fd = -1;
	TAILQ_INIT(&m.children);

	if ((n = readlink("/proc/self/exe", m.exe, sizeof(m.exe) - 1)) == -1)
		fatal("readlink /proc/self/exe");
	m.exe[n] = '\0';
	child_env_init();

	/*
	 * Type=notify: no fork, and every line, the first ones too, goes to
	 * the journal with its priority.  Otherwise, until daemon(), failures
	 * reach the terminal that started us.
	 */
	if (!foreground && getenv("NOTIFY_SOCKET") != NULL)
		mlog_start(0, c->log_level);
	else
		log_init(1, c->log_level);
	log_procname("master");
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");

	if (geteuid() != 0)
		log_warnx("WARNING: not started as root: workers and the broker "
		    "cannot chroot or change user; they run as uid %ld with "
		    "seccomp and no_new_privs only", (long)geteuid());
	if (setup_check(c, 1, NULL, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (tls_identity_load(c, err, sizeof(err)) == -1)
		fatalx("TLS: %s", err);

	listeners_open(c);
	control_listen(c);
	if (!foreground && getenv("NOTIFY_SOCKET") == NULL) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		mlog_start(0, c->log_level);
	}

	if ((m.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	mlog_event_init(m.base, child_role);
	notify_init(m.base);
	for (i = 0; i < m.nlisteners; i++)
		if ((m.listeners[i].ev = event_new(m.base, m.listeners[i].fd,
		    EV_READ | EV_PERSIST, accept_cb, NULL)) == NULL)
			fatalx("event_new");
	gate_init(m.base);
	if ((m.respawn_ev = evtimer_new(m.base, broker_respawn_cb, NULL)) == NULL ||
	    (m.throttle_ev = evtimer_new(m.base, throttle_end, NULL)) == NULL ||
	    (m.ping_ev = event_new(m.base, -1, EV_PERSIST, broker_ping_cb,
	    NULL)) == NULL)
		fatalx("evtimer_new");
	ping_tv.tv_sec = CHILD_PING_MS / 1000;
	ping_tv.tv_usec = (CHILD_PING_MS % 1000) * 1000;
	if (event_add(m.ping_ev, &ping_tv) == -1)
		fatalx("event_add");
	sig_ev[0] = evsignal_new(m.base, SIGCHLD, sigchld_cb, NULL);
	sig_ev[1] = evsignal_new(m.base, SIGTERM, sigterm_cb, NULL);
	sig_ev[2] = evsignal_new(m.base, SIGINT, sigterm_cb, NULL);
	sig_ev[3] = evsignal_new(m.base, SIGHUP, sighup_cb, NULL);
	sig_ev[4] = NULL;
	for (i = 0; i < 4; i++)
		if (sig_ev[i] == NULL || event_add(sig_ev[i], NULL) == -1)
			fatalx("signal events");

	/*
	 * Workers are forked by a template: when one ends, or the template,
	 * what is left is reparented to us, and we reap it.
	 */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1)
		fatal("PR_SET_CHILD_SUBREAPER");
	/* The broker, the key process, a template: no client is accepted without. */
	broker_spawn();
	mkeyproc_spawn();
	mtemplate_spawn();
	for (i = 0; i < m.nlisteners; i++)
		log_info("listening on %s%s", m.listeners[i].name,
		    m.socket_activated ? " (socket from systemd)" : "");
	log_info("%s started (pid %ld), logging to %s", SC_VERSION_STRING,
	    (long)getpid(), mlog_target());
	notify_ready(m.nworkers);

	if (event_base_dispatch(m.base) == -1)
		fatalx("event loop failed");

	log_info("stopped");
	for (i = 0; i < 4; i++)
		event_free(sig_ev[i]);
	for (i = 0; i < m.nlisteners; i++) {
		event_free(m.listeners[i].ev);
		(void)close(m.listeners[i].fd);
	}
	if (m.shutdown_ev != NULL)
		event_free(m.shutdown_ev);
	event_free(m.respawn_ev);
	event_free(m.throttle_ev);
	mkeyproc_cancel();
	mtemplate_cancel();
	event_free(m.ping_ev);
	gate_free();
	if (m.broker_fd != -1)
		(void)close(m.broker_fd);
	(void)close(m.control_fd);
	(void)unlink(m.control_path);
	notify_free();
	mlog_free();
	event_base_free(m.base);
	tls_identity_free();
	for (i = 0; m.child_env[i] != NULL; i++)
		free(m.child_env[i]);
	return m.exit_status;
}
