/*
 * test_sandbox.c: the sandbox kills what it must (exec, fork, executable
 * memory, other ABIs), refuses quietly what libc probes, still lets a
 * worker and the broker do their work, and privdrop really drops root.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sandbox.h"

/*
 * A child reports the first check that failed as its exit status, so a
 * failure names the step; 0 means every check passed.
 */
#define CHECK(step, cond) do {			\
	if (!(cond))				\
		_exit(step);			\
} while (0)

/* What the daemon passes; small, but above the test's own descriptors. */
#define TEST_MAX_FDS	64

extern char **environ;

static char	 tmpdir[] = "/tmp/test_sandbox.XXXXXX";

static int	 run_child(void (*)(void *), void *);
static void	 assert_exited_ok(int, const char *);
static void	 assert_sigsys(int, const char *);
static void	 enter_sandbox(enum sandbox_role);
static int	 nobody_ids(uid_t *, gid_t *);

/*
 * A child must die of the signal it gets, not run cmocka's handler: that
 * handler would take the child back into the test runner, and the suite
 * would then run twice, side by side, in one temporary directory.
 */
static void
child_reset_signals(void)
{
	struct sigaction	 sa;
	sigset_t		 none;
	int			 sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);	/* EINVAL for KILL, STOP */
	(void)sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		_exit(120);
}

/*
 * Run fn in a forked child.  The child leaves with _exit: exit() would run
 * atexit handlers and LeakSanitizer, which need calls the filter kills.
 */
static int
run_child(void (*fn)(void *), void *arg)
{
	pid_t	 pid;
	int	 status;

	(void)fflush(stdout);
	(void)fflush(stderr);
	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		child_reset_signals();
		fn(arg);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
	return status;
}

static void
assert_exited_ok(int status, const char *what)
{
	if (WIFSIGNALED(status))
		fail_msg("%s: child killed by signal %d", what,
		    WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s: child failed at step %d", what,
		    WEXITSTATUS(status));
}

static void
assert_sigsys(int status, const char *what)
{
	if (WIFEXITED(status))
		fail_msg("%s: not killed, exited %d (step that got through)",
		    what, WEXITSTATUS(status));
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("%s: killed by signal %d, not SIGSYS", what,
		    WTERMSIG(status));
}

/* As a worker or the broker does it: limits, then the filter. */
static void
enter_sandbox(enum sandbox_role role)
{
	char	 err[256];

	CHECK(90, sandbox_limits(role, TEST_MAX_FDS, err, sizeof(err)) == 0);
	CHECK(91, sandbox_seccomp(role, err, sizeof(err)) == 0);
}

static int
nobody_ids(uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;

	if ((pw = getpwnam("nobody")) == NULL)
		return -1;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* (a) A worker cannot run another program. */
static void
child_execve(void *arg)
{
	char	*argv[] = { "/bin/true", NULL };

	enter_sandbox(SANDBOX_WORKER);
	(void)execve(argv[0], argv, environ);
	_exit(1);
}

static void
test_worker_execve_killed(void **state)
{
	assert_sigsys(run_child(child_execve, NULL), "execve in worker");
}

/* (b) A worker cannot make processes, through libc or directly. */
static void
child_fork(void *arg)
{
	pid_t	 pid;

	enter_sandbox(SANDBOX_WORKER);
	if ((pid = fork()) == 0)
		_exit(2);	/* the grandchild must never exist */
	_exit(1);
}

static void
test_worker_fork_killed(void **state)
{
	assert_sigsys(run_child(child_fork, NULL), "fork in worker");
}

/*
 * (b') The worker template may fork, but only that: the worker it forks
 * loads the worker's filter (compiled in the template) on top of the
 * template's, and then cannot fork either.  Exit codes: the step that
 * went wrong.
 */
static void
child_template(void *arg)
{
	struct sandbox_prog	*prog;
	char			 err[256];
	pid_t			 pid;
	int			 status;

	CHECK(10, (prog = sandbox_prepare(SANDBOX_WORKER, err,
	    sizeof(err))) != NULL);
	enter_sandbox(SANDBOX_TEMPLATE);
	if ((pid = fork()) == 0) {
		CHECK(20, sandbox_fork_limits(TEST_MAX_FDS, err,
		    sizeof(err)) == 0);
		CHECK(21, sandbox_apply(prog, err, sizeof(err)) == 0);
		/* Still allowed after its own filter: what a worker does. */
		CHECK(22, getpid() > 0);
		if (fork() == 0)
			_exit(23);	/* the grandchild must never exist */
		_exit(24);
	}
	CHECK(11, pid > 0);
	CHECK(12, waitpid(pid, &status, 0) == pid);
	CHECK(13, WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
	_exit(0);
}

/* A clone with other flags (a thread, a namespace) kills the template. */
static void
child_template_clone(void *arg)
{
	enter_sandbox(SANDBOX_TEMPLATE);
	(void)syscall(SYS_clone, (long)(CLONE_NEWNET | SIGCHLD), 0L, 0L, 0L,
	    0L);
	_exit(1);
}

static void
test_template_forks_worker_cannot(void **state)
{
	assert_exited_ok(run_child(child_template, NULL),
	    "template forks; its worker's fork is killed");
	assert_sigsys(run_child(child_template_clone, NULL),
	    "clone with CLONE_NEWNET in the template");
}

/*
 * Calls no role may make, made raw so no libc wrapper can fake them.  If
 * one is let through, the child exits with its index + 1.
 */
static const struct {
	const char	*what;
	long		 nr;
} forbidden[] = {
	{ "execveat", SYS_execveat },
	{ "clone", SYS_clone },
#ifdef SYS_fork
	{ "fork", SYS_fork },
#endif
	{ "ptrace", SYS_ptrace },
	{ "kill", SYS_kill },
	{ "setuid", SYS_setuid },
	{ "chroot", SYS_chroot },
	{ "socketpair", SYS_socketpair },
	{ "bind", SYS_bind },
	{ "listen", SYS_listen },
	{ "unshare", SYS_unshare },
	{ "mount", SYS_mount },
	{ "seccomp", SYS_seccomp },
	{ "process_vm_writev", SYS_process_vm_writev },
};

struct raw_arg {
	enum sandbox_role	 role;
	size_t			 i;
};

static void
child_raw(void *arg)
{
	const struct raw_arg	*ra = arg;
	long			 nr = forbidden[ra->i].nr;
	static const char	 path[] = "/bin/true";

	enter_sandbox(ra->role);
	if (nr == SYS_execveat)
		(void)syscall(nr, AT_FDCWD, path, NULL, NULL, 0);
	else if (nr == SYS_clone)
		(void)syscall(nr, (long)SIGCHLD, 0L, 0L, 0L, 0L);
	else if (nr == SYS_kill)
		(void)syscall(nr, (long)getppid(), 0L);
	else
		(void)syscall(nr, 0L, 0L, 0L, 0L, 0L);
	/* Reached only if let through (a forked copy also lands here). */
	_exit((int)ra->i + 1);
}

static void
test_forbidden_killed(void **state)
{
	struct raw_arg	 ra;
	char		 what[64];
	int		 role;

	for (role = SANDBOX_WORKER; role <= SANDBOX_BROKER; role++) {
		ra.role = role;
		for (ra.i = 0; ra.i < sizeof(forbidden) / sizeof(forbidden[0]);
		    ra.i++) {
			(void)snprintf(what, sizeof(what), "%s in %s",
			    forbidden[ra.i].what,
			    role == SANDBOX_WORKER ? "worker" : "broker");
			assert_sigsys(run_child(child_raw, &ra), what);
		}
	}
}

/* (c) What libc probes fails with EACCES instead of killing. */
static void
child_denied_quietly(void *arg)
{
	char	 path[512];
	int	 fd;

	(void)snprintf(path, sizeof(path), "%s/new", tmpdir);
	enter_sandbox(SANDBOX_WORKER);
	errno = 0;
	CHECK(1, socket(AF_UNIX, SOCK_DGRAM, 0) == -1);
	CHECK(2, errno == EACCES);
	errno = 0;
	CHECK(3, open("/etc/passwd", O_RDONLY) == -1);
	CHECK(4, errno == EACCES);
	errno = 0;
	CHECK(5, (fd = open(path, O_WRONLY | O_CREAT, 0600)) == -1);
	CHECK(6, errno == EACCES);
	errno = 0;
	CHECK(7, access("/etc/passwd", R_OK) == -1 && errno == EACCES);
	_exit(0);
}

static void
test_worker_denied_quietly(void **state)
{
	char		 path[512];
	struct stat	 st;

	assert_exited_ok(run_child(child_denied_quietly, NULL),
	    "EACCES for socket/open in worker");
	(void)snprintf(path, sizeof(path), "%s/new", tmpdir);
	assert_int_equal(stat(path, &st), -1);
}

/* (d) What a worker does all day still works. */
static int
sha256_abc_ok(void)
{
	static const unsigned char	 want[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	unsigned char			 md[EVP_MAX_MD_SIZE];
	unsigned int			 len;
	EVP_MD_CTX			*ctx;
	int				 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, "abc", 3) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &len) == 1 &&
	    len == sizeof(want) && memcmp(md, want, len) == 0;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static int
x25519_keygen_ok(void)
{
	EVP_PKEY	*pk;

	if ((pk = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL)
		return 0;
	EVP_PKEY_free(pk);
	return 1;
}

static void
child_worker_works(void *arg)
{
	unsigned char	 buf[64], back[64];
	struct timespec	 ts;
	int		 p[2];
	void		*m;

	/* Warm up as the worker does: providers load files once. */
	CHECK(1, OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) == 1);
	CHECK(2, x25519_keygen_ok());
	CHECK(3, sha256_abc_ok());
	CHECK(4, pipe(p) == 0);

	enter_sandbox(SANDBOX_WORKER);

	CHECK(10, getrandom(buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	CHECK(11, write(p[1], buf, sizeof(buf)) == (ssize_t)sizeof(buf));
	CHECK(12, read(p[0], back, sizeof(back)) == (ssize_t)sizeof(back));
	CHECK(13, memcmp(buf, back, sizeof(buf)) == 0);
	CHECK(14, clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	CHECK(15, syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) == 0);
	CHECK(16, RAND_bytes(buf, sizeof(buf)) == 1);
	CHECK(17, sha256_abc_ok());
	CHECK(18, x25519_keygen_ok());
	CHECK(19, close(p[0]) == 0 && close(p[1]) == 0);
	/* Memory that is not executable comes and goes. */
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(20, m != MAP_FAILED);
	CHECK(21, mprotect(m, 4096, PROT_READ) == 0);
	CHECK(22, munmap(m, 1 << 20) == 0);
	_exit(0);
}

static void
test_worker_allowed_calls(void **state)
{
	assert_exited_ok(run_child(child_worker_works, NULL),
	    "allowed calls in worker");
}

static void
child_mmap_exec(void *arg)
{
	enter_sandbox(*(enum sandbox_role *)arg);
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	_exit(1);
}

static void
child_mprotect_exec(void *arg)
{
	void	*m;

	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(1, m != MAP_FAILED);
	enter_sandbox(*(enum sandbox_role *)arg);
	(void)mprotect(m, 4096, PROT_READ | PROT_EXEC);
	_exit(2);
}

static void
child_mmap_shared(void *arg)
{
	enter_sandbox(SANDBOX_WORKER);
	(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	_exit(1);
}

static void
test_exec_memory_killed(void **state)
{
	enum sandbox_role	 w = SANDBOX_WORKER, b = SANDBOX_BROKER;

	assert_sigsys(run_child(child_mmap_exec, &w), "mmap exec in worker");
	assert_sigsys(run_child(child_mprotect_exec, &w),
	    "mprotect exec in worker");
	assert_sigsys(run_child(child_mmap_exec, &b), "mmap exec in broker");
	assert_sigsys(run_child(child_mprotect_exec, &b),
	    "mprotect exec in broker");
	assert_sigsys(run_child(child_mmap_shared, NULL),
	    "shared mapping in worker");
}

/* (e) The broker keeps its database in its directory. */
static void
child_broker_files(void *arg)
{
	struct flock	 fl;
	struct stat	 st;
	char		 path[512], buf[16];
	void		*m;
	int		 fd, dfd;

	(void)snprintf(path, sizeof(path), "%s/db", tmpdir);
	CHECK(1, (dfd = open(tmpdir, O_RDONLY | O_DIRECTORY)) != -1);
	enter_sandbox(SANDBOX_BROKER);

	CHECK(10, (fd = openat(dfd, "db", O_RDWR | O_CREAT | O_CLOEXEC,
	    0600)) != -1);
	CHECK(11, pwrite(fd, "0123456789abcdef", 16, 4096) == 16);
	CHECK(12, fsync(fd) == 0 && fdatasync(fd) == 0);
	CHECK(13, pread(fd, buf, sizeof(buf), 4096) == 16);
	CHECK(14, memcmp(buf, "0123456789abcdef", 16) == 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	CHECK(15, fcntl(fd, F_SETLK, &fl) == 0);
	CHECK(16, fcntl(fd, F_GETLK, &fl) == 0);
	/* The WAL index is a shared mapping. */
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(17, m != MAP_FAILED);
	CHECK(18, munmap(m, 4096) == 0);
	CHECK(19, ftruncate(fd, 0) == 0);
	CHECK(20, fstat(fd, &st) == 0 && st.st_size == 0);
	CHECK(21, stat(path, &st) == 0);
	CHECK(22, lseek(fd, 0, SEEK_END) == 0);
	CHECK(23, close(fd) == 0);
	CHECK(24, unlink(path) == 0);
	CHECK(25, (fd = openat(dfd, "db2", O_RDWR | O_CREAT, 0600)) != -1);
	CHECK(26, close(fd) == 0);
	CHECK(27, unlinkat(dfd, "db2", 0) == 0);
	/* Still no sockets of its own. */
	errno = 0;
	CHECK(28, socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == EACCES);
	_exit(0);
}

static void
child_broker_execve(void *arg)
{
	char	*argv[] = { "/bin/true", NULL };

	enter_sandbox(SANDBOX_BROKER);
	(void)execve(argv[0], argv, environ);
	_exit(1);
}

static void
test_broker_files(void **state)
{
	char		 path[512];
	struct stat	 st;

	assert_exited_ok(run_child(child_broker_files, NULL),
	    "file operations in broker");
	(void)snprintf(path, sizeof(path), "%s/db", tmpdir);
	assert_int_equal(stat(path, &st), -1);
	assert_sigsys(run_child(child_broker_execve, NULL),
	    "execve in broker");
}

/* (f) Limits, no_new_privs, not dumpable. */
static int
status_says_nnp(void)
{
	char	 line[256];
	FILE	*f;
	int	 found = 0;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strcmp(line, "NoNewPrivs:\t1\n") == 0)
			found = 1;
	(void)fclose(f);
	return found;
}

static int
limit_is(int resource, rlim_t want)
{
	struct rlimit	 rl;

	return getrlimit(resource, &rl) == 0 && rl.rlim_cur == want &&
	    rl.rlim_max == want;
}

struct limits_arg {
	enum sandbox_role	 role;
	int			 stderr_file;	/* else /dev/null */
};

static void
child_limits(void *arg)
{
	const struct limits_arg	*la = arg;
	struct rlimit		 before;
	char			 err[256], path[512];
	int			 fd;

	if (la->stderr_file) {
		(void)snprintf(path, sizeof(path), "%s/stderr", tmpdir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	} else
		fd = open("/dev/null", O_WRONLY);
	CHECK(1, fd != -1 && dup2(fd, STDERR_FILENO) == STDERR_FILENO);
	CHECK(2, getrlimit(RLIMIT_FSIZE, &before) == 0);
	CHECK(3, sandbox_limits(la->role, 0, err, sizeof(err)) == -1);
	CHECK(4, sandbox_limits(la->role, 32, err, sizeof(err)) == 0);

	CHECK(10, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHECK(11, prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	CHECK(12, limit_is(RLIMIT_NOFILE, 32));
	CHECK(13, limit_is(RLIMIT_NPROC, 0));
	CHECK(14, limit_is(RLIMIT_CORE, 0));
	CHECK(15, status_says_nnp());
	if (la->role == SANDBOX_WORKER && !la->stderr_file)
		CHECK(16, limit_is(RLIMIT_FSIZE, 0));
	else
		CHECK(17, limit_is(RLIMIT_FSIZE, before.rlim_cur));
	/* A log line to a stderr file must not die of SIGXFSZ. */
	CHECK(18, write(STDERR_FILENO, "log\n", 4) == 4);
	_exit(0);
}

static void
test_limits(void **state)
{
	struct limits_arg	 la;
	char			 path[512];

	la.role = SANDBOX_WORKER;
	la.stderr_file = 0;
	assert_exited_ok(run_child(child_limits, &la), "worker limits");
	la.stderr_file = 1;
	assert_exited_ok(run_child(child_limits, &la),
	    "worker limits, stderr a file");
	la.role = SANDBOX_BROKER;
	la.stderr_file = 0;
	assert_exited_ok(run_child(child_limits, &la), "broker limits");
	(void)snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	assert_int_equal(unlink(path), 0);
}

/* (g) privdrop as root: chrooted, nobody, and no way back. */
static void
child_privdrop(void *arg)
{
	char	 err[256], cwd[64];
	uid_t	 uid, ru, eu, su;
	gid_t	 gid, rg, eg, sg;

	CHECK(1, nobody_ids(&uid, &gid) == 0);
	CHECK(2, privdrop("nobody", tmpdir, err, sizeof(err)) ==
	    PRIVDROP_DONE);
	CHECK(3, getresuid(&ru, &eu, &su) == 0);
	CHECK(4, ru == uid && eu == uid && su == uid);
	CHECK(5, getresgid(&rg, &eg, &sg) == 0);
	CHECK(6, rg == gid && eg == gid && sg == gid);
	CHECK(7, setuid(0) == -1);
	CHECK(8, seteuid(0) == -1);
	CHECK(9, setgid(0) == -1);
	CHECK(10, getcwd(cwd, sizeof(cwd)) != NULL && strcmp(cwd, "/") == 0);
	CHECK(11, access("/marker", F_OK) == 0);
	CHECK(12, access("/etc/passwd", F_OK) == -1);
	CHECK(13, getgroups(0, NULL) == 1);
	_exit(0);
}

static void
test_privdrop_root(void **state)
{
	char	 path[512];
	int	 fd;

	if (geteuid() != 0) {
		print_message("privdrop needs root for chroot and setresuid: "
		    "skipped (the CI runs this as root)\n");
		skip();
	}
	(void)snprintf(path, sizeof(path), "%s/marker", tmpdir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0644)) != -1);
	assert_int_equal(close(fd), 0);
	/* nobody must be able to look into its new root. */
	assert_int_equal(chmod(tmpdir, 0755), 0);
	assert_exited_ok(run_child(child_privdrop, NULL), "privdrop nobody");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(chmod(tmpdir, 0700), 0);
}

static const char useradd_hint[] = "create it with 'useradd --system "
    "--no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "
    "_sc_no_such_user'";

static void
child_privdrop_missing(void *arg)
{
	char	 err[512], cwd[512], before[512];

	CHECK(1, getcwd(before, sizeof(before)) != NULL);
	CHECK(2, privdrop("_sc_no_such_user", tmpdir, err, sizeof(err)) ==
	    PRIVDROP_FAILED);
	CHECK(3, strstr(err, "user '_sc_no_such_user' does not exist") !=
	    NULL);
	CHECK(4, strstr(err, useradd_hint) != NULL);
	/* Nothing was done: still root, not chrooted. */
	CHECK(5, geteuid() == 0);
	CHECK(6, getcwd(cwd, sizeof(cwd)) != NULL &&
	    strcmp(cwd, before) == 0);
	_exit(0);
}

static void
test_privdrop_missing_user(void **state)
{
	char	 err[512];
	uid_t	 uid;
	gid_t	 gid;

	assert_int_equal(privdrop_lookup("_sc_no_such_user", &uid, &gid,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, useradd_hint));
	/* A uid 0 target would make the whole drop a no-op. */
	assert_int_equal(privdrop_lookup("root", &uid, &gid, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "uid 0"));
	if (geteuid() == 0)
		assert_exited_ok(run_child(child_privdrop_missing, NULL),
		    "privdrop to a missing user");
}

static void
child_privdrop_not_root(void *arg)
{
	char	 err[256], cwd[512], before[512];
	uid_t	 uid;
	gid_t	 gid;

	CHECK(1, nobody_ids(&uid, &gid) == 0);
	if (geteuid() == 0) {
		CHECK(2, setgroups(1, &gid) == 0);
		CHECK(3, setresgid(gid, gid, gid) == 0);
		CHECK(4, setresuid(uid, uid, uid) == 0);
	}
	CHECK(5, getcwd(before, sizeof(before)) != NULL);
	err[0] = '\0';
	CHECK(6, privdrop("nobody", tmpdir, err, sizeof(err)) ==
	    PRIVDROP_NOT_ROOT);
	CHECK(7, err[0] != '\0');
	CHECK(8, getcwd(cwd, sizeof(cwd)) != NULL &&
	    strcmp(cwd, before) == 0);
	_exit(0);
}

static void
test_privdrop_not_root(void **state)
{
	assert_exited_ok(run_child(child_privdrop_not_root, NULL),
	    "privdrop when not root");
}

/* Debug mode names the denied call and exits 159 instead of dying. */
static void
child_debug(void *arg)
{
	int	*p = arg;
	char	*argv[] = { "/bin/true", NULL };

	CHECK(1, dup2(p[1], STDERR_FILENO) == STDERR_FILENO);
	CHECK(2, setenv("SC_SANDBOX_DEBUG", "1", 1) == 0);
	enter_sandbox(SANDBOX_WORKER);
	(void)execve(argv[0], argv, environ);
	_exit(3);
}

static void
test_debug_mode_names_call(void **state)
{
	char	 out[4096], want[64];
	ssize_t	 n;
	size_t	 len = 0;
	int	 p[2], status;

	assert_int_equal(pipe(p), 0);
	status = run_child(child_debug, p);
	assert_int_equal(close(p[1]), 0);
	while (len < sizeof(out) - 1 &&
	    (n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	assert_int_equal(close(p[0]), 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 159)
		fail_msg("debug mode: want exit 159, got status %#x: %s",
		    status, out);
	(void)snprintf(want, sizeof(want), "denied system call %d (",
	    SCMP_SYS(execve));
	if (strstr(out, want) == NULL)
		fail_msg("debug mode: \"%s\" not in \"%s\"", want, out);
}

/* Calls made through another ABI than the native one are killed. */
#if defined(__x86_64__)
static long
i386_getpid(void)
{
	long	 r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L)
	    : "memory", "r8", "r9", "r10", "r11");
	return r;
}

static void
child_i386_probe(void *arg)
{
	CHECK(1, i386_getpid() == (long)getpid());
	_exit(0);
}

static void
child_i386(void *arg)
{
	enter_sandbox(*(enum sandbox_role *)arg);
	(void)i386_getpid();
	_exit(1);
}

static void
child_x32(void *arg)
{
	enter_sandbox(*(enum sandbox_role *)arg);
	(void)syscall(0x40000000L | SYS_getpid);
	_exit(1);
}

static void
test_other_abi_killed(void **state)
{
	enum sandbox_role	 w = SANDBOX_WORKER, b = SANDBOX_BROKER;
	int			 status;

	/* getpid is allowed natively: only the ABI check can kill these. */
	assert_sigsys(run_child(child_x32, &w), "x32 getpid in worker");
	assert_sigsys(run_child(child_x32, &b), "x32 getpid in broker");
	status = run_child(child_i386_probe, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_message("no i386 emulation in this kernel: int $0x80 "
		    "part skipped\n");
		return;
	}
	assert_sigsys(run_child(child_i386, &w), "i386 getpid in worker");
	assert_sigsys(run_child(child_i386, &b), "i386 getpid in broker");
}
#endif

/* Both roles build, and neither lists exec or process creation at all. */
static void
test_filter_lists(void **state)
{
	static const char	*never[] = {
		"\"execve\"", "\"execveat\"", "\"fork\"", "\"vfork\"",
		"\"clone\"", "\"clone3\"", "\"ptrace\"", "\"kill\"",
		"\"setuid\"", "\"chroot\"", "\"bind\"", "\"listen\"",
	};
	char			 err[256], *buf = NULL;
	size_t			 len = 0, i;
	void			*ctx;
	int			 role;

	assert_null(sandbox_filter((enum sandbox_role)42, 0, err,
	    sizeof(err)));
	for (role = SANDBOX_WORKER; role <= SANDBOX_BROKER; role++) {
		char	 path[512];
		FILE	*pf;
		int	 fd;

		(void)snprintf(path, sizeof(path), "%s/pfc", tmpdir);
		assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC,
		    0600)) != -1);
		ctx = sandbox_filter(role, 0, err, sizeof(err));
		if (ctx == NULL)
			fail_msg("sandbox_filter: %s", err);
		assert_int_equal(seccomp_export_pfc(ctx, fd), 0);
		seccomp_release(ctx);
		assert_int_equal(close(fd), 0);
		assert_non_null(pf = fopen(path, "r"));
		assert_int_equal(getdelim(&buf, &len, '\0', pf) > 0, 1);
		(void)fclose(pf);
		assert_int_equal(unlink(path), 0);
		assert_non_null(strstr(buf, "\"read\""));
		assert_non_null(strstr(buf, "KILL_PROCESS"));
		for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
			if (strstr(buf, never[i]) != NULL)
				fail_msg("%s listed for role %d", never[i],
				    role);
		free(buf);
		buf = NULL;
		len = 0;
	}
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_filter_lists),
		cmocka_unit_test(test_worker_execve_killed),
		cmocka_unit_test(test_worker_fork_killed),
		cmocka_unit_test(test_template_forks_worker_cannot),
		cmocka_unit_test(test_forbidden_killed),
		cmocka_unit_test(test_worker_denied_quietly),
		cmocka_unit_test(test_worker_allowed_calls),
		cmocka_unit_test(test_exec_memory_killed),
		cmocka_unit_test(test_broker_files),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_debug_mode_names_call),
#if defined(__x86_64__)
		cmocka_unit_test(test_other_abi_killed),
#endif
		cmocka_unit_test(test_privdrop_root),
		cmocka_unit_test(test_privdrop_missing_user),
		cmocka_unit_test(test_privdrop_not_root),
	};
	int			 rc;

	/* A developer's debug setting would turn every kill into exit 159. */
	if (unsetenv("SC_SANDBOX_DEBUG") == -1)
		return 1;
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	(void)rmdir(tmpdir);
	return rc;
}
