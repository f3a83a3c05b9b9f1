/*
 * sandbox.c: the last things a worker or the broker gives up before it
 * reads untrusted input: rlimits, no_new_privs, dumpability, and a seccomp
 * allow-list per role whose default action kills the whole process.
 *
 * How the lists were derived (Linux 6.x x86_64, glibc 2.36, OpenSSL 3.0,
 * libevent 2.1, SQLite 3.40): by running real code under the filter with
 * SC_SANDBOX_DEBUG set and under strace -f, and adding only what was
 * trapped.  For the worker: a bufferevent_openssl TLS 1.3 server over a
 * socketpair, chrooted and running as nobody, echoing data, forwarding it
 * to a plain bufferevent (the broker link), answering SSL_key_update and
 * SSL_export_keying_material, and writing logs to stderr and syslog.  For
 * the broker: SQLite with journal_mode=WAL and synchronous=FULL in a
 * chroot, database opened before the filter, inserts, checkpoints and
 * close after it.  Start from OpenSSH's sandbox-seccomp-filter.c for the
 * shape: what libc probes on its own fails with EACCES instead of killing.
 * A new library version may need a new entry: run with SC_SANDBOX_DEBUG=1,
 * which names the call, and add it here with the reason.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/sched.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* Exit status of a process that made a denied call in debug mode. */
#define SANDBOX_DEBUG_EXIT	159

enum sc_action {
	SC_ALLOW,
	SC_EACCES,	/* fail with EACCES: libc probes, harmless to refuse */
};

enum sc_cond {
	SC_ANY,		/* any arguments */
	SC_NOEXEC,	/* arg2 (prot) without PROT_EXEC */
	SC_NOEXEC_PRIV,	/* SC_NOEXEC, and arg3 (flags) without MAP_SHARED */
	SC_ARG1,	/* arg1 == val (an ioctl request, an fcntl command) */
	SC_ARG0,	/* arg0 == val (clone's flags, seccomp's operation) */
};

struct sc_rule {
	const char	*name;
	enum sc_action	 action;
	enum sc_cond	 cond;
	unsigned long	 val;
};

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define ALLOW(n)	{ n, SC_ALLOW, SC_ANY, 0 }
#define ALLOW_IF(n, c)	{ n, SC_ALLOW, c, 0 }
#define ALLOW_ARG1(n, v) { n, SC_ALLOW, SC_ARG1, v }
#define ALLOW_ARG0(n, v) { n, SC_ALLOW, SC_ARG0, v }
#define EACCES_ANY(n)	{ n, SC_EACCES, SC_ANY, 0 }
#define EACCES_ARG1(n, v) { n, SC_EACCES, SC_ARG1, v }

/*
 * Both roles.  Names a given architecture lacks (open, poll, epoll_wait on
 * arm64) are skipped by libseccomp.
 */
static const struct sc_rule common_rules[] = {
	/* The connections: TLS records, frames, descriptors from the master. */
	ALLOW("read"), ALLOW("write"), ALLOW("readv"), ALLOW("writev"),
	ALLOW("recvfrom"), ALLOW("sendto"), ALLOW("recvmsg"),
	ALLOW("sendmsg"), ALLOW("shutdown"), ALLOW("getsockopt"),
	ALLOW("close"),

	/* log.c's dprintf asks for the offset of stderr (ESPIPE on a pipe). */
	ALLOW("lseek"),

	/* libevent's loop, created before the filter; poll for a deadline. */
	ALLOW("epoll_wait"), ALLOW("epoll_pwait"), ALLOW("epoll_ctl"),
	ALLOW("poll"), ALLOW("ppoll"),

	/*
	 * libevent sizes every read with FIONREAD.  stdio asks isatty(2)
	 * when stderr is a character device (/dev/null): "no" is the answer.
	 */
	ALLOW_ARG1("ioctl", FIONREAD), EACCES_ARG1("ioctl", TCGETS),

	/* libevent makes descriptors non-blocking and close-on-exec. */
	ALLOW_ARG1("fcntl", F_GETFL), ALLOW_ARG1("fcntl", F_SETFL),
	ALLOW_ARG1("fcntl", F_GETFD), ALLOW_ARG1("fcntl", F_SETFD),

	/* Clocks and sleeps, when the vDSO falls back to the kernel. */
	ALLOW("clock_gettime"), ALLOW("gettimeofday"),
	ALLOW("nanosleep"), ALLOW("clock_nanosleep"),

	/* OpenSSL reseeds from getrandom; getpid tells it that it forked. */
	ALLOW("getrandom"), ALLOW("getpid"), ALLOW("gettid"),

	/* malloc and OpenSSL's secure heap: never executable memory. */
	ALLOW("brk"), ALLOW("munmap"), ALLOW("mremap"), ALLOW("madvise"),
	ALLOW_IF("mprotect", SC_NOEXEC),

	/* glibc's locks (stdio, malloc) may wait on a futex. */
	ALLOW("futex"),

	/*
	 * Signals blocked around critical sections; leaving a handler.
	 * libevent puts the old handler back when a signal event is freed,
	 * so a worker tearing down its event base at exit needs sigaction.
	 */
	ALLOW("rt_sigprocmask"), ALLOW("rt_sigreturn"), ALLOW("rt_sigaction"),

	ALLOW("exit"), ALLOW("exit_group"),

	/*
	 * glibc's syslog reconnects to /dev/log when its socket broke, and
	 * that must fail, not kill; nothing else may make a socket.
	 */
	EACCES_ANY("socket"), EACCES_ANY("connect"),

	/*
	 * ASan reads /proc/self/exe for its report, SQLite resolves links in
	 * a path it opens: "not allowed" is a fine answer for both.
	 */
	EACCES_ANY("readlink"),
};

static const struct sc_rule worker_rules[] = {
	/* A worker has no files: no shared mappings. */
	ALLOW_IF("mmap", SC_NOEXEC_PRIV),

	/*
	 * libc and OpenSSL probe files on their own (stdio buffering, config,
	 * locale); refuse quietly, as OpenSSH does.  The chroot is empty.
	 */
	EACCES_ANY("open"), EACCES_ANY("openat"), EACCES_ANY("stat"),
	EACCES_ANY("lstat"), EACCES_ANY("fstat"), EACCES_ANY("newfstatat"),
	EACCES_ANY("statx"), EACCES_ANY("access"), EACCES_ANY("faccessat"),
};

/*
 * The worker template (template.c) on top of the worker's list: it forks
 * a worker per client, reaps them, and each child sets up its event loop
 * and then loads its own filter (the worker list), which has none of
 * these.  fork() is glibc's clone with exactly these flags; a thread, a
 * shared address space or a new namespace is something else and kills.
 */
static const struct sc_rule template_rules[] = {
	ALLOW_ARG0("clone", CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | SIGCHLD),
	ALLOW("wait4"),
	/* glibc's fork registers the child's robust futex list again. */
	ALLOW("set_robust_list"),
	/*
	 * The child's event loop: epoll, and libevent's signal pipe; libevent
	 * 2.1 asks whether it runs setuid before one getenv, whatever flags.
	 */
	ALLOW("epoll_create1"), ALLOW("pipe2"),
	ALLOW("getuid"), ALLOW("geteuid"), ALLOW("getgid"), ALLOW("getegid"),
	/* The child's own limits and filter. */
	ALLOW_ARG1("prlimit64", RLIMIT_NPROC), ALLOW_ARG1("prlimit64",
	    RLIMIT_NOFILE),
	ALLOW_ARG0("seccomp", SECCOMP_SET_MODE_FILTER),
};

static const struct sc_rule broker_rules[] = {
	/* SQLite maps the WAL index (-shm) shared; still never executable. */
	ALLOW_IF("mmap", SC_NOEXEC),

	/* SQLite in its chroot: the database, its -wal and -shm. */
	ALLOW("openat"), ALLOW("open"), ALLOW("fstat"), ALLOW("newfstatat"),
	ALLOW("stat"), ALLOW("lstat"),
	ALLOW("pread64"), ALLOW("pwrite64"),
	ALLOW("fsync"), ALLOW("fdatasync"), ALLOW("ftruncate"),
	ALLOW("unlink"), ALLOW("unlinkat"), ALLOW("getcwd"),
	ALLOW("access"), ALLOW("faccessat"),

	/* SQLite's POSIX advisory locks (and the OFD kind some builds use). */
	ALLOW_ARG1("fcntl", F_GETLK), ALLOW_ARG1("fcntl", F_SETLK),
	ALLOW_ARG1("fcntl", F_SETLKW), ALLOW_ARG1("fcntl", F_OFD_GETLK),
	ALLOW_ARG1("fcntl", F_OFD_SETLK), ALLOW_ARG1("fcntl", F_OFD_SETLKW),

	/* SQLite asks whether it runs as root before it chowns a new file. */
	ALLOW("geteuid"), ALLOW("getuid"),

	/* The control socket (securechatctl). */
	ALLOW("accept4"),
};

#ifdef SC_SANITIZERS
/*
 * ASan and UBSan, in --enable-sanitizers builds only.  Found by running
 * the tests and a report (overflow, double free, signed overflow) under
 * the filter: ASan's _exit takes its alternate signal stack down, and it
 * reads /proc/self/exe (refused above: the report is still printed).
 */
static const struct sc_rule sanitizer_rules[] = {
	ALLOW("sigaltstack"),
};

/* Weak: a UBSan-only build has no LeakSanitizer. */
void	__lsan_do_leak_check(void) __attribute__((weak));
#endif

/*
 * LeakSanitizer's check at exit reads /proc/self/task (gone after chroot)
 * and stops the world with clone and ptrace (refused by RLIMIT_NPROC 0,
 * killed by the filter).  So it runs once, here, while it still can;
 * later calls and the check at exit then do nothing.
 */
void
sandbox_leak_check(void)
{
#ifdef SC_SANITIZERS
	if (__lsan_do_leak_check != NULL)
		__lsan_do_leak_check();
#endif
}

static int	add_rules(scmp_filter_ctx, const struct sc_rule *, size_t,
		    char *, size_t);
static int	add_rule(scmp_filter_ctx, const struct sc_rule *, char *,
		    size_t);
static void	append_uint(char *, size_t, size_t *, unsigned int);
static void	append_str(char *, size_t, size_t *, const char *);
static void	sigsys_handler(int, siginfo_t *, void *);
static int	sigsys_install(char *, size_t);
static int	set_limit(int, const char *, rlim_t, char *, size_t);

static int
add_rule(scmp_filter_ctx ctx, const struct sc_rule *r, char *err,
    size_t errsz)
{
	uint32_t	 action;
	int		 nr, rc;

	nr = seccomp_syscall_resolve_name(r->name);
	if (nr == __NR_SCMP_ERROR) {
		(void)snprintf(err, errsz, "seccomp: unknown system call %s",
		    r->name);
		return -1;
	}
	action = r->action == SC_ALLOW ? SCMP_ACT_ALLOW :
	    SCMP_ACT_ERRNO(EACCES);

	switch (r->cond) {
	case SC_ANY:
		rc = seccomp_rule_add(ctx, action, nr, 0);
		break;
	case SC_NOEXEC:
		rc = seccomp_rule_add(ctx, action, nr, 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		break;
	case SC_NOEXEC_PRIV:
		rc = seccomp_rule_add(ctx, action, nr, 2,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
		    SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_SHARED, 0));
		break;
	case SC_ARG1:
		rc = seccomp_rule_add(ctx, action, nr, 1,
		    SCMP_A1(SCMP_CMP_EQ, r->val, 0));
		break;
	case SC_ARG0:
		rc = seccomp_rule_add(ctx, action, nr, 1,
		    SCMP_A0(SCMP_CMP_EQ, r->val, 0));
		break;
	default:
		(void)snprintf(err, errsz, "seccomp: bad condition for %s",
		    r->name);
		return -1;
	}
	if (rc != 0) {
		(void)snprintf(err, errsz, "seccomp_rule_add %s: %s", r->name,
		    strerror(-rc));
		return -1;
	}
	return 0;
}

static int
add_rules(scmp_filter_ctx ctx, const struct sc_rule *rules, size_t n,
    char *err, size_t errsz)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (add_rule(ctx, &rules[i], err, errsz) == -1)
			return -1;
	return 0;
}

void *
sandbox_filter(enum sandbox_role role, int debug, char *err, size_t errsz)
{
	scmp_filter_ctx	 ctx;
	int		 rc;

	if (role != SANDBOX_WORKER && role != SANDBOX_BROKER &&
	    role != SANDBOX_KEYPROC && role != SANDBOX_TEMPLATE) {
		(void)snprintf(err, errsz, "seccomp: unknown role %d",
		    (int)role);
		return NULL;
	}
	if ((ctx = seccomp_init(debug ? SCMP_ACT_TRAP :
	    SCMP_ACT_KILL_PROCESS)) == NULL) {
		(void)snprintf(err, errsz, "seccomp_init failed");
		return NULL;
	}
	/*
	 * Only the native architecture: a call made through another ABI
	 * (int $0x80, x32) would bypass every rule below, so it kills even
	 * in debug mode.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0) {
		(void)snprintf(err, errsz, "seccomp_attr_set BADARCH: %s",
		    strerror(-rc));
		goto fail;
	}
	/* Load with no_new_privs, even if sandbox_limits was skipped. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) != 0) {
		(void)snprintf(err, errsz, "seccomp_attr_set NNP: %s",
		    strerror(-rc));
		goto fail;
	}
	if (add_rules(ctx, common_rules, nitems(common_rules), err,
	    errsz) == -1)
		goto fail;
	if (role != SANDBOX_BROKER) {
		if (add_rules(ctx, worker_rules, nitems(worker_rules), err,
		    errsz) == -1)
			goto fail;
		if (role == SANDBOX_TEMPLATE && add_rules(ctx, template_rules,
		    nitems(template_rules), err, errsz) == -1)
			goto fail;
	} else {
		if (add_rules(ctx, broker_rules, nitems(broker_rules), err,
		    errsz) == -1)
			goto fail;
	}
#ifdef SC_SANITIZERS
	if (add_rules(ctx, sanitizer_rules, nitems(sanitizer_rules), err,
	    errsz) == -1)
		goto fail;
#endif
	return ctx;

 fail:
	seccomp_release(ctx);
	return NULL;
}

/* Async-signal-safe: append the decimal digits of u to buf at *len. */
static void
append_uint(char *buf, size_t bufsz, size_t *len, unsigned int u)
{
	char	 num[16];
	size_t	 n = sizeof(num);

	do {
		num[--n] = '0' + u % 10;
		u /= 10;
	} while (u != 0 && n > 0);
	if (*len + sizeof(num) - n <= bufsz) {
		memcpy(buf + *len, num + n, sizeof(num) - n);
		*len += sizeof(num) - n;
	}
}

static void
append_str(char *buf, size_t bufsz, size_t *len, const char *s)
{
	size_t	 n = strlen(s);

	if (*len + n <= bufsz) {
		memcpy(buf + *len, s, n);
		*len += n;
	}
}

/*
 * Debug mode: name the denied call, with nothing but write(2) and _exit(2),
 * both allowed: "sandbox: denied system call 59 (scmp_sys_resolver 59)".
 */
static void
sigsys_handler(int sig, siginfo_t *si, void *ctx)
{
	char		 buf[128];
	size_t		 len = 0;
	unsigned int	 nr;

	nr = si->si_syscall < 0 ? 0 : (unsigned int)si->si_syscall;
	append_str(buf, sizeof(buf), &len, "sandbox: denied system call ");
	append_uint(buf, sizeof(buf), &len, nr);
	append_str(buf, sizeof(buf), &len, " (scmp_sys_resolver ");
	append_uint(buf, sizeof(buf), &len, nr);
	append_str(buf, sizeof(buf), &len, ")\n");
	/* Nothing to do if it fails: the exit status says it all. */
	if (write(STDERR_FILENO, buf, len) == -1)
		_exit(SANDBOX_DEBUG_EXIT);
	_exit(SANDBOX_DEBUG_EXIT);
}

static int
sigsys_install(char *err, size_t errsz)
{
	struct sigaction	 sa;
	sigset_t		 set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	if (sigemptyset(&sa.sa_mask) == -1 ||
	    sigaction(SIGSYS, &sa, NULL) == -1) {
		(void)snprintf(err, errsz, "sigaction SIGSYS: %s",
		    strerror(errno));
		return -1;
	}
	/* A blocked SIGSYS would be forced to its default: a silent kill. */
	if (sigemptyset(&set) == -1 || sigaddset(&set, SIGSYS) == -1 ||
	    sigprocmask(SIG_UNBLOCK, &set, NULL) == -1) {
		(void)snprintf(err, errsz, "sigprocmask SIGSYS: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
sandbox_seccomp(enum sandbox_role role, char *err, size_t errsz)
{
	scmp_filter_ctx	 ctx;
	int		 debug, rc;

	debug = getenv("SC_SANDBOX_DEBUG") != NULL;
	if (debug) {
		log_warnx("sandbox debug mode: a denied system call is named "
		    "on stderr and exits %d", SANDBOX_DEBUG_EXIT);
		if (sigsys_install(err, errsz) == -1)
			return -1;
	}
	if ((ctx = sandbox_filter(role, debug, err, errsz)) == NULL)
		return -1;
	sandbox_leak_check();
	if ((rc = seccomp_load(ctx)) != 0) {
		(void)snprintf(err, errsz, "seccomp_load: %s", strerror(-rc));
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}

static int
set_limit(int resource, const char *name, rlim_t value, char *err,
    size_t errsz)
{
	struct rlimit	 rl;

	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(resource, &rl) == -1) {
		(void)snprintf(err, errsz, "setrlimit %s %llu: %s", name,
		    (unsigned long long)value, strerror(errno));
		return -1;
	}
	return 0;
}

int
sandbox_limits(enum sandbox_role role, int max_fds, char *err, size_t errsz)
{
	struct stat	 st;

	if (max_fds < 1) {
		(void)snprintf(err, errsz, "sandbox: max_fds %d out of range",
		    max_fds);
		return -1;
	}
	sandbox_leak_check();
	/*
	 * Per uid, and root ignores it: it binds once the user is dropped.
	 * The template forks workers; each of them sets it to 0 itself.
	 */
	if (role != SANDBOX_TEMPLATE &&
	    set_limit(RLIMIT_NPROC, "RLIMIT_NPROC", 0, err, errsz) == -1)
		return -1;
	/* A core dump would hold session keys. */
	if (set_limit(RLIMIT_CORE, "RLIMIT_CORE", 0, err, errsz) == -1)
		return -1;
	if (set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", (rlim_t)max_fds,
	    err, errsz) == -1)
		return -1;
	/*
	 * A worker writes no files, but one whose stderr was redirected to a
	 * log file would die of SIGXFSZ at its first log line.
	 */
	if (role != SANDBOX_BROKER) {
		if (fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode))
			log_debug("sandbox: stderr is a file, "
			    "RLIMIT_FSIZE left alone");
		else if (set_limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", 0, err,
		    errsz) == -1)
			return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		(void)snprintf(err, errsz, "prctl PR_SET_DUMPABLE: %s",
		    strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		(void)snprintf(err, errsz, "prctl PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
sandbox_nofile(unsigned int want)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("getrlimit RLIMIT_NOFILE");
		return (int)want;
	}
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
		log_warnx("%u descriptors wanted, the hard limit is %llu: "
		    "using it", want, (unsigned long long)rl.rlim_max);
		return (int)rl.rlim_max;
	}
	return (int)want;
}

/*
 * A filter compiled once, in the template, and loaded by each worker it
 * forks: generating the BPF for every client would cost more than
 * loading it.
 */
struct sandbox_prog {
	struct sock_fprog	 fprog;
	int			 debug;
};

struct sandbox_prog *
sandbox_prepare(enum sandbox_role role, char *err, size_t errsz)
{
	struct sandbox_prog	*p;
	scmp_filter_ctx		 ctx;
	uint8_t			*buf = NULL;
	size_t			 len = 0, cap = 0;
	ssize_t			 n;
	int			 pfd[2], rc, debug;

	debug = getenv("SC_SANDBOX_DEBUG") != NULL;
	if ((ctx = sandbox_filter(role, debug, err, errsz)) == NULL)
		return NULL;
	if (pipe(pfd) == -1) {
		(void)snprintf(err, errsz, "pipe: %s", strerror(errno));
		seccomp_release(ctx);
		return NULL;
	}
	/* A pipe holds 64 KiB: far more than any of our filters. */
	rc = seccomp_export_bpf(ctx, pfd[1]);
	seccomp_release(ctx);
	(void)close(pfd[1]);
	if (rc != 0) {
		(void)snprintf(err, errsz, "seccomp_export_bpf: %s",
		    strerror(-rc));
		(void)close(pfd[0]);
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if ((buf = realloc(buf, cap)) == NULL) {
				(void)snprintf(err, errsz, "out of memory");
				(void)close(pfd[0]);
				return NULL;
			}
		}
		if ((n = read(pfd[0], buf + len, cap - len)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	(void)close(pfd[0]);
	if (n == -1 || len == 0 || len % sizeof(struct sock_filter) != 0 ||
	    len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		(void)snprintf(err, errsz, "seccomp: bad exported filter "
		    "(%zu bytes)", len);
		free(buf);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		free(buf);
		(void)snprintf(err, errsz, "out of memory");
		return NULL;
	}
	p->fprog.len = (unsigned short)(len / sizeof(struct sock_filter));
	p->fprog.filter = (struct sock_filter *)(void *)buf;
	p->debug = debug;
	return p;
}

int
sandbox_apply(const struct sandbox_prog *p, char *err, size_t errsz)
{
	if (p->debug && sigsys_install(err, errsz) == -1)
		return -1;
	/* no_new_privs was set by the template and is inherited. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p->fprog) == -1) {
		(void)snprintf(err, errsz, "seccomp: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
sandbox_fork_limits(int max_fds, char *err, size_t errsz)
{
	if (set_limit(RLIMIT_NPROC, "RLIMIT_NPROC", 0, err, errsz) == -1 ||
	    set_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", (rlim_t)max_fds, err,
	    errsz) == -1)
		return -1;
	return 0;
}
