/*
 * test_util.c: the shared helpers: error texts in log lines, how fatal()
 * leaves a sandboxed child, and the network prefixes limits count by.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "logsum.h"
#include "util.h"

/* Run fn in a child with stderr on a pipe; its output and status. */
static int
capture_child(void (*fn)(void), char *out, size_t outsz)
{
	struct sigaction	 sa;
	int			 p[2], status, sig;
	ssize_t			 n;
	size_t			 len = 0;
	pid_t			 pid;

	assert_int_equal(pipe(p), 0);
	(void)fflush(stdout);
	(void)fflush(stderr);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		/* Die of signals, not in cmocka's handler (see test_sandbox). */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			(void)sigaction(sig, &sa, NULL);
		if (dup2(p[1], STDERR_FILENO) == -1)
			_exit(120);
		(void)close(p[0]);
		fn();
		_exit(0);
	}
	assert_int_equal(close(p[1]), 0);
	while (len < outsz - 1 &&
	    (n = read(p[0], out + len, outsz - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	assert_int_equal(close(p[0]), 0);
	while (waitpid(pid, &status, 0) == -1)
		assert_int_equal(errno, EINTR);
	return status;
}

static void
warn_addrinuse(void)
{
	log_init(1, LOG_LEVEL_INFO);
	log_procname("master");
	errno = EADDRINUSE;
	log_warn("bind 127.0.0.1 port %d", 7443);
}

/* The reason follows the colon: GNU strerror_r does not fill the buffer. */
static void
log_warn_says_why(void **state)
{
	char	 out[512];
	int	 status;

	status = capture_child(warn_addrinuse, out, sizeof(out));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(out,
	    "master: bind 127.0.0.1 port 7443: Address already in use\n"));
}

static void
at_exit_marker(void)
{
	if (write(STDERR_FILENO, "atexit ran\n", 11) != 11)
		_exit(122);
}

static void
fatal_enoent(void)
{
	log_init(1, LOG_LEVEL_INFO);
	log_procname("master");
	if (atexit(at_exit_marker) != 0)
		_exit(121);
	log_fatal_status(3);
	errno = ENOENT;
	fatal("open %s", "/etc/securechat.conf");
}

static void
fatal_child_enoent(void)
{
	log_child();
	fatal_enoent();
}

/* fatal() names the error and exits with the status it was given. */
static void
fatal_says_why_and_exits(void **state)
{
	char	 out[512];
	int	 status;

	status = capture_child(fatal_enoent, out, sizeof(out));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	assert_non_null(strstr(out, "master: fatal: open /etc/securechat.conf: "
	    "No such file or directory\n"));
	/* The master is not sandboxed: it leaves by exit(), handlers run. */
	assert_non_null(strstr(out, "atexit ran"));
}

/* A sandboxed child leaves by _exit: no atexit handler runs. */
static void
fatal_in_child_skips_atexit(void **state)
{
	char	 out[512];
	int	 status;

	status = capture_child(fatal_child_enoent, out, sizeof(out));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	assert_non_null(strstr(out, "No such file or directory\n"));
	assert_null(strstr(out, "atexit ran"));
}

static void
log_strerror_any_errno(void **state)
{
	char	 buf[64];

	assert_string_equal(log_strerror(EACCES, buf, sizeof(buf)),
	    "Permission denied");
	/* An unknown number still gives a text, never an empty one. */
	assert_true(strlen(log_strerror(99999, buf, sizeof(buf))) > 0);
}

static void
expect_prefix(const char *addr, int v4, int v6, const char *want)
{
	char	 out[64];

	assert_int_equal(addr_prefix(addr, v4, v6, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
addr_prefix_masks(void **state)
{
	char	 out[64];

	expect_prefix("192.0.2.77", 32, 64, "192.0.2.77/32");
	expect_prefix("192.0.2.77", 24, 64, "192.0.2.0/24");
	expect_prefix("192.0.2.77", 20, 64, "192.0.0.0/20");
	expect_prefix("192.0.2.77", 0, 64, "0.0.0.0/0");
	/* A /64 walks no further: every address in it is one prefix. */
	expect_prefix("2001:db8:1:2:aaaa::1", 32, 64, "2001:db8:1:2::/64");
	expect_prefix("2001:db8:1:2:ffff:ffff:ffff:fffe", 32, 64,
	    "2001:db8:1:2::/64");
	expect_prefix("2001:db8:1:2::1", 32, 48, "2001:db8:1::/48");
	expect_prefix("2001:db8:1:2::1", 32, 128, "2001:db8:1:2::1/128");
	expect_prefix("2001:db8:1:2::1", 32, 61, "2001:db8:1::/61");
	/* An IPv4 client on a dual-stack socket is an IPv4 client. */
	expect_prefix("::ffff:192.0.2.77", 24, 64, "192.0.2.0/24");
	/* Out-of-range bits are clamped. */
	expect_prefix("192.0.2.77", 40, 200, "192.0.2.77/32");
	assert_int_equal(addr_prefix("example.org", 32, 64, out, sizeof(out)),
	    -1);
	assert_int_equal(addr_prefix("192.0.2.1", 32, 64, out, 8), -1);
}

/* A relayed record splits into priority, flag, role and text, or not. */
static void
log_relay_records(void **state)
{
	char		 rec[LOG_RELAY_MAX];
	const char	*proc, *text;
	int		 pri, sec;

	strcpy(rec, "<5>Sworker: security: client 192.0.2.1: TOO_LARGE");
	assert_int_equal(log_relay_parse(rec, strlen(rec), &pri, &sec, &proc,
	    &text), 0);
	assert_int_equal(pri, 5);
	assert_int_equal(sec, 1);
	assert_string_equal(proc, "worker");
	assert_string_equal(text, "security: client 192.0.2.1: TOO_LARGE");
	strcpy(rec, "<9>-broker: x");
	assert_int_equal(log_relay_parse(rec, strlen(rec), &pri, &sec, &proc,
	    &text), -1);
	strcpy(rec, "<6>?broker: x");
	assert_int_equal(log_relay_parse(rec, strlen(rec), &pri, &sec, &proc,
	    &text), -1);
	strcpy(rec, "<6>-no colon");
	assert_int_equal(log_relay_parse(rec, strlen(rec), &pri, &sec, &proc,
	    &text), -1);
	strcpy(rec, "6>-broker: x");
	assert_int_equal(log_relay_parse(rec, strlen(rec), &pri, &sec, &proc,
	    &text), -1);
}

static void
burst(void)
{
	int	 i, full = 0;

	log_init(1, LOG_LEVEL_INFO);
	log_procname("broker");
	for (i = 0; i < 104; i++)
		full += logsum_event("rate limit", "alice");
	if (full != 1)
		_exit(3);
	logsum_flush(1);
}

/* 104 events: one to log in full, then one summary line with the count. */
static void
logsum_summarises(void **state)
{
	char	 out[512];
	int	 status;

	status = capture_child(burst, out, sizeof(out));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(strstr(out, "broker: security: rate limit: 104 times "
	    "in 1 s for alice\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(log_warn_says_why),
		cmocka_unit_test(fatal_says_why_and_exits),
		cmocka_unit_test(fatal_in_child_skips_atexit),
		cmocka_unit_test(log_strerror_any_errno),
		cmocka_unit_test(addr_prefix_masks),
		cmocka_unit_test(log_relay_records),
		cmocka_unit_test(logsum_summarises),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
