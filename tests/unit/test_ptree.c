/*
 * test_ptree.c: the bench's process-tree reader: /proc/PID/stat with any
 * command name, smaps_rollup and schedstat, and a sample of a real tree of
 * a thousand processes (non-dumpable and, as root, of another user, as the
 * daemon's workers are) that must count every one and all their CPU.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
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

#include "ptree.h"

#define CHILDREN	500	/* each with one child: 1000 below the test */
#define BURN_NS		30000000ull	/* CPU one child spends, in bursts */
#define NOBODY		65534

static void
test_parse_stat(void **state)
{
	struct ptree_stat	 st;
	/* A name with spaces and ')' in it, tpgid -1, big tick counts. */
	const char	*line = "4242 (a) b) (c) S 17 4242 4242 0 -1 4194560 "
	    "501 0 0 0 123 45 6000000000 7 20 0 3 0 468353 13574144 1929 "
	    "18446744073709551615 1 2 3\n";

	(void)state;
	assert_int_equal(ptree_parse_stat(line, &st), 0);
	assert_int_equal(st.ppid, 17);
	assert_int_equal(st.ticks, 168);
	assert_int_equal(st.child_ticks, 6000000007ull);
	assert_int_equal(st.threads, 3);
	assert_int_equal(ptree_parse_stat("4242 (x S 1 2", &st), -1);
	assert_int_equal(ptree_parse_stat("4242 (x) S 1 2 3", &st), -1);
	assert_int_equal(ptree_parse_stat("4242 (x) S -1 1 1 0 -1 0 0 0 0 0 "
	    "1 1 1 1 20 0 1 0", &st), -1);
}

static void
test_parse_pss(void **state)
{
	uint64_t	 kib = 0, ns = 0;

	(void)state;
	assert_int_equal(ptree_parse_pss("55d0-7ffd ---p 00000000 00:00 0 "
	    "[rollup]\nRss:     1929 kB\nPss:      837 kB\nPss_Dirty: 600 kB\n",
	    &kib), 0);
	assert_int_equal(kib, 837);
	assert_int_equal(ptree_parse_pss("Rss: 1 kB\nPss_Anon: 3 kB\n", &kib),
	    -1);
	assert_int_equal(ptree_parse_pss("Pss: many kB\n", &kib), -1);
	assert_int_equal(ptree_parse_pss("", &kib), -1);
	assert_int_equal(ptree_parse_schedstat("10826915 2044 35\n", &ns), 0);
	assert_int_equal(ns, 10826915);
	assert_int_equal(ptree_parse_schedstat("x 1 2\n", &ns), -1);
}

static uint64_t
cpu_ns(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == -1)
		_exit(1);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Spend BURN_NS of CPU the way a worker does: short bursts, each right
 * after a timer wakes it, which is what tick-sampled utime misses.
 */
static void
burn(void)
{
	struct timespec	 nap = { 0, 1000000 };
	uint64_t	 start = cpu_ns(), t;

	while (cpu_ns() - start < BURN_NS) {
		t = cpu_ns();
		while (cpu_ns() - t < 200000)
			;
		(void)nanosleep(&nap, NULL);
	}
}

/*
 * A child of the test: like a worker, not dumpable and (as root) of
 * another user; it forks one child of its own, tells the test its own CPU
 * time, and both wait for the pipe to close.
 */
static void
child(int hold, int report, int burner)
{
	uint64_t	 used;
	char		 c;
	pid_t		 pid;

	if ((pid = fork()) == -1)
		_exit(1);
	/* Without root, only root could read a non-dumpable process. */
	if (geteuid() == 0 && (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    setresgid(NOBODY, NOBODY, NOBODY) == -1 ||
	    setresuid(NOBODY, NOBODY, NOBODY) == -1))
		_exit(1);
	if (burner && pid != 0)
		burn();
	used = cpu_ns();
	if (write(report, &used, sizeof(used)) != (ssize_t)sizeof(used))
		_exit(1);
	while (read(hold, &c, 1) == -1 && errno == EINTR)
		;
	if (pid != 0)
		(void)waitpid(pid, NULL, 0);
	_exit(0);
}

static void
test_sample_tree(void **state)
{
	struct ptree_sample	 before, after;
	pid_t			 pids[CHILDREN];
	uint64_t		 used, total = 0;
	char			 err[256];
	int			 hold[2], report[2], i, status;

	(void)state;
	assert_int_equal(ptree_sample(getpid(), PTREE_PSS, &before, err,
	    sizeof(err)), 0);
	assert_int_equal(pipe(hold), 0);
	assert_int_equal(pipe(report), 0);
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0) {
			(void)close(hold[1]);
			(void)close(report[0]);
			child(hold[0], report[1], i < 4);
		}
	}
	(void)close(hold[0]);
	(void)close(report[1]);
	/* Every process has reported: all are up, the burners are done. */
	for (i = 0; i < 2 * CHILDREN; i++) {
		assert_int_equal(read(report[0], &used, sizeof(used)),
		    (ssize_t)sizeof(used));
		total += used;
	}
	assert_int_equal(ptree_sample(getpid(), PTREE_PSS, &after, err,
	    sizeof(err)), 0);
	(void)close(hold[1]);
	for (i = 0; i < CHILDREN; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	(void)close(report[0]);

	assert_int_equal(after.procs, before.procs + 2 * CHILDREN);
	assert_int_equal(after.unreadable, 0);
	assert_int_equal(after.vanished, 0);
	assert_true(after.pss_kib > before.pss_kib);
	/* All the CPU the children say they used, and the test's own. */
	assert_true(after.cpu_s - before.cpu_s >= (double)total / 1e9 * 0.99);
}

static void
test_no_root(void **state)
{
	struct ptree_sample	 s;
	char			 err[256];

	(void)state;
	/* The largest pid there can be is not running. */
	assert_int_equal(ptree_sample(4194304, 0, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no process"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_parse_pss),
		cmocka_unit_test(test_sample_tree),
		cmocka_unit_test(test_no_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
