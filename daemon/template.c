/*
 * template.c: the worker template.  Re-executed once by the master, it
 * takes the workers' settings and TLS certificate, initialises OpenSSL
 * and builds the TLS context (with the delegated key: keysign.c), compiles
 * the workers' seccomp filter, and locks itself in: chroot, the
 * unprivileged user, rlimits, its own filter.  It never sees a client
 * byte.  Then, for each client, the master sends it the client's socket
 * and the worker's broker and key links, and it forks the worker, which
 * loads its own filter before it reads anything (worker_run).  It reports
 * each child's pid and, when it reaps one, its wait status: the master
 * keeps the accounting and the security log as for its own children.
 * Postfix's master and Android's zygote fork from a prepared image the
 * same way; docs/ARCHITECTURE.md section 12 weighs it against one exec
 * per client.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "frame.h"
#include "ipc.h"
#include "log.h"
#include "sandbox.h"
#include "securechatd.h"
#include "util.h"

#define TEMPLATE_MSG_MAX	(80 * 1024)	/* a certificate chain, settings */
#define TEMPLATE_MAX_FDS	32
/*
 * The template and its workers run this much nicer than the daemon: the
 * processes every client shares (broker, key process, master) keep their
 * turn however many workers are runnable.
 */
#define WORKER_NICE_INCREMENT	10
#define AUTOGROUP_TRIES		10	/* writes refused as too soon ... */
#define AUTOGROUP_RETRY_MS	110	/* ... are tried again after this */
#define SPAWN_FDS		3		/* client, broker link, key link */

static struct {
	struct sandbox_prog	*filter;	/* the workers' */
	char			*title;		/* argv[2], "template" */
	size_t			 title_len;
	volatile sig_atomic_t	 sigchld;
	uint8_t			 buf[TEMPLATE_MSG_MAX];
} t;

static void
sigchld_handler(int sig)
{
	t.sigchld = 1;
}

static void
send_msg(struct frame_buf *b)
{
	if (frame_finish(b) == -1)
		fatalx("cannot build a message for the master");
	if (ipc_send(TEMPLATE_FD_MASTER, b, -1) == -1)
		fatal("send to the master");
	frame_buf_free(b);
}

/* Every child that ended, with its wait status, for the master's log. */
static void
reap(void)
{
	struct frame_buf	 b;
	pid_t			 pid;
	int			 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		frame_begin(&b, IMSG_REAPED, FRAME_MAX_DEFAULT);
		frame_put_u32(&b, F_PID, (uint32_t)pid);
		frame_put_u32(&b, F_STATUS, (uint32_t)status);
		send_msg(&b);
	}
}

/* In the child: what the template set up for itself is not the worker's. */
static void
child_reset(void)
{
	struct sigaction	 sa;
	sigset_t		 none;

	(void)close(TEMPLATE_FD_MASTER);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	/* ps and the tests tell workers by "-x worker". */
	if (t.title != NULL) {
		memset(t.title, 0, t.title_len);
		memcpy(t.title, "worker", t.title_len < 6 ? t.title_len : 6);
	}
}

static void
spawn(const struct frame *f, const int *fds, int nfds)
{
	struct frame_buf	 b;
	uint64_t		 sid;
	char			 addr[64];
	pid_t			 pid;
	int			 i;

	if (nfds != SPAWN_FDS)
		fatalx("SPAWN with %d descriptors", nfds);
	if (frame_get_u64(f, F_SESSION_ID, &sid) == -1 ||
	    frame_get_str(f, F_ADDR, addr, sizeof(addr)) == -1)
		fatalx("incomplete SPAWN");
	if ((pid = fork()) == 0) {
		child_reset();
		worker_run(fds[0], fds[1], fds[2], addr, sid, t.filter);
	}
	if (pid == -1)
		log_warn("fork for session %llu", (unsigned long long)sid);
	for (i = 0; i < nfds; i++)
		(void)close(fds[i]);
	/* pid 0: the master cleans up and counts a startup failure. */
	frame_begin(&b, IMSG_SPAWNED, FRAME_MAX_DEFAULT);
	frame_put_u64(&b, F_SESSION_ID, sid);
	frame_put_u32(&b, F_PID, pid == -1 ? 0 : (uint32_t)pid);
	send_msg(&b);
}

static void
master_read(void)
{
	struct frame	 f;
	ssize_t		 n;
	int		 fds[SPAWN_FDS], nfds;

	n = ipc_recv_fds(TEMPLATE_FD_MASTER, t.buf, sizeof(t.buf), &f, fds,
	    SPAWN_FDS, &nfds);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1)
		fatal("master channel");
	if (n == 0) {
		/*
		 * Retired (or the master is gone).  Leave at once and reap
		 * nothing more: what runs is adopted by the master, which
		 * reaps it itself.
		 */
		log_debug("retired after its last fork");
		_exit(0);
	}
	switch (f.type) {
	case IMSG_SPAWN:
		spawn(&f, fds, nfds);
		break;
	case IMSG_CHILD_PING:
		/* Alive and reading. */
		if (nfds != 0 || ipc_pong(TEMPLATE_FD_MASTER, &f,
		    IMSG_CHILD_PONG) == -1)
			fatal("answer the master's ping");
		break;
	default:
		fatalx("unexpected message %s from the master",
		    proto_msg_name(f.type));
	}
}

static void
loop(void)
{
	struct pollfd		 pfd;
	struct sigaction	 sa;
	sigset_t		 block, none;
	int			 rv;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigchld_handler;
	if (sigemptyset(&sa.sa_mask) == -1 ||
	    sigaction(SIGCHLD, &sa, NULL) == -1)
		fatal("sigaction SIGCHLD");
	/* SIGCHLD arrives only inside ppoll, so no wakeup is lost. */
	if (sigemptyset(&block) == -1 || sigaddset(&block, SIGCHLD) == -1 ||
	    sigprocmask(SIG_BLOCK, &block, NULL) == -1 ||
	    sigemptyset(&none) == -1)
		fatal("sigprocmask");
	pfd.fd = TEMPLATE_FD_MASTER;
	pfd.events = POLLIN;
	for (;;) {
		if (t.sigchld) {
			t.sigchld = 0;
			reap();
		}
		rv = ppoll(&pfd, 1, NULL, &none);
		if (rv == -1 && errno == EINTR)
			continue;
		if (rv == -1)
			fatal("ppoll");
		if (pfd.revents != 0)
			master_read();
	}
}

/*
 * What every handshake fetches, fetched once here: the children find it
 * in OpenSSL's caches instead of each building its own copy.
 */
static void
warm_up(void)
{
	EVP_PKEY	*a, *b;
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_KDF		*kdf;
	uint8_t		 secret[32];
	size_t		 len = sizeof(secret);
	const char	*kdfs[] = { "HKDF", "TLS13-KDF" };
	size_t		 i;

	if ((a = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL ||
	    (b = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL ||
	    (pctx = EVP_PKEY_CTX_new_from_pkey(NULL, a, NULL)) == NULL ||
	    EVP_PKEY_derive_init(pctx) != 1 ||
	    EVP_PKEY_derive_set_peer(pctx, b) != 1 ||
	    EVP_PKEY_derive(pctx, secret, &len) != 1)
		fatalx("X25519 warm-up failed");
	OPENSSL_cleanse(secret, sizeof(secret));
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	for (i = 0; i < sizeof(kdfs) / sizeof(kdfs[0]); i++) {
		if ((kdf = EVP_KDF_fetch(NULL, kdfs[i], NULL)) == NULL)
			fatalx("%s warm-up failed", kdfs[i]);
		EVP_KDF_free(kdf);
	}
}

static void
read_init(void)
{
	struct frame	 f;
	ssize_t		 n;
	int		 fd;

	if ((n = ipc_recv(TEMPLATE_FD_MASTER, t.buf, sizeof(t.buf), &f,
	    &fd)) <= 0 || f.type != IMSG_WORKER_INIT || fd != -1)
		fatalx("no settings from the master");
	worker_configure(&f);
	OPENSSL_cleanse(t.buf, (size_t)n);
}

/*
 * Where the scheduler weighs each session as one group (autogroups), the
 * template's setsid() made a group for it and its workers, and the nice
 * value that weighs it is the group's own.  A replaced template's workers
 * keep its group, so there is one per template with workers left.  At
 * nice 0 each weighs what the broker's session does, and the 15 templates
 * of 15,000 clients left the broker a sixteenth of a CPU; at nice 10 (a
 * ninth of the weight) the 15 weigh less than twice the broker's session.
 * Where there are no autogroups the file is missing, or writing it
 * changes nothing.
 */
static void
lower_group_priority(int nice)
{
	const struct timespec	 pause = { 0, AUTOGROUP_RETRY_MS * 1000000L };
	char			 buf[16];
	int			 fd, len, try;
	ssize_t			 n = -1;

	if ((fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("/proc/self/autogroup");
		return;
	}
	len = snprintf(buf, sizeof(buf), "%d\n", nice);
	/* Without CAP_SYS_ADMIN one write a tenth of a second, host-wide. */
	for (try = 0; try < AUTOGROUP_TRIES; try++) {
		if ((n = write(fd, buf, (size_t)len)) != -1 || errno != EAGAIN)
			break;
		(void)nanosleep(&pause, NULL);
	}
	if (n != len)
		log_warn("/proc/self/autogroup: nice %d", nice);
	(void)close(fd);
}

/*
 * Per-client processes yield to the shared ones: where the scheduler
 * weighs each process alone, thousands of runnable workers would leave
 * the broker one worker's share.  Raising one's own nice value needs no
 * privilege.
 */
static void
lower_priority(void)
{
	int	 now, want;

	errno = 0;
	now = getpriority(PRIO_PROCESS, 0);
	if (now == -1 && errno != 0) {
		log_warn("getpriority");
		return;
	}
	want = now + WORKER_NICE_INCREMENT;
	if (want > PRIO_MAX - 1)
		want = PRIO_MAX - 1;
	if (want != now && setpriority(PRIO_PROCESS, 0, want) == -1)
		log_warn("setpriority %d", want);
	lower_group_priority(want);
}

static void
enter_sandbox(void)
{
	char	 err[512];
	int	 rv;

	rv = privdrop(worker_user(), worker_chroot(), err, sizeof(err));
	if (rv == PRIVDROP_FAILED)
		fatalx("%s", err);
	if (rv == PRIVDROP_NOT_ROOT)
		log_warnx("WARNING: workers run as uid %ld without chroot: the "
		    "daemon was not started as root", (long)getuid());
	if (sandbox_limits(SANDBOX_TEMPLATE, TEMPLATE_MAX_FDS, err,
	    sizeof(err)) == -1 ||
	    sandbox_seccomp(SANDBOX_TEMPLATE, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

int
template_main(int foreground, char **argv)
{
	struct frame_buf	 b;
	struct sigaction	 sa;
	uint8_t			 warm[16];
	char			 err[512];
	int			 ok;

	log_procname("template");
	log_child();
	log_fatal_status(EXIT_STARTUP);
	if (fcntl(TEMPLATE_FD_MASTER, F_GETFD) == -1)
		fatalx("started without its master channel");
	closefrom(TEMPLATE_FD_MASTER + 1);
	if (fd_stdio_null() == -1)
		fatal("/dev/null");
	/* Without -d, stderr is the master's log relay (master-log.c). */
	if (foreground)
		log_init(1, LOG_LEVEL_INFO);
	else
		log_init_relay(LOG_LEVEL_INFO);
	/* The master starts us as "securechatd -x template". */
	if (argv[1] != NULL && argv[2] != NULL &&
	    strcmp(argv[2], "template") == 0) {
		t.title = argv[2];
		t.title_len = strlen(argv[2]);
	}
	/*
	 * Its own process group, which its workers share: the master
	 * signals them all at once, whoever has reaped whom.
	 */
	if (setsid() == -1)
		fatal("setsid");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1)
		fatal("sigaction");
	read_init();

	/* Seed the DRBG now; each child reseeds when it sees a new pid. */
	ok = RAND_bytes(warm, sizeof(warm)) == 1;
	OPENSSL_cleanse(warm, sizeof(warm));
	if (!ok)
		fatalx("RAND_bytes");
	warm_up();
	lower_priority();
	if ((t.filter = sandbox_prepare(SANDBOX_WORKER, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	enter_sandbox();
	log_fatal_status(1);

	frame_begin(&b, IMSG_TEMPLATE_READY, FRAME_MAX_DEFAULT);
	send_msg(&b);
	loop();
	return 0;
}
