/*
 * hostcost.c: what the process model costs on this host, apart from
 * securechatd.  A worker's connect is a fork of the template, pages of
 * the template's memory first read and first written in the child, and
 * an exit; each relay is a wake of another process.  Kernels and
 * hypervisors price these very differently (a shadow-paging guest pays
 * for every first touch of a page in a new process), and these figures
 * are what tells one host from another in docs/PERFORMANCE.md.
 *
 * Prints one line: a system call, a wake of another process (a pipe
 * round trip between two processes, halved), a fork of a process holding
 * -m KiB of written heap with its child's exit and reaping, a page first
 * read and first written (copy on write) in such a child, a fresh page,
 * and SSL_new in the parent (its caches warm) and in a forked child.
 *
 * usage: hostcost [-m heap KiB] [-n rounds]
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define PAGE		4096
#define HEAP_MAX_KIB	(1024 * 1024)
#define ROUNDS_MAX	100000

static double
now_us(clockid_t clock)
{
	struct timespec	 ts;

	if (clock_gettime(clock, &ts) == -1)
		err(1, "clock_gettime");
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void
xread(int fd, void *buf, size_t len)
{
	if (read(fd, buf, len) != (ssize_t)len)
		err(1, "read");
}

static void
xwrite(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		err(1, "write");
}

static double
syscall_us(int rounds)
{
	double	 t0;
	int	 i;

	t0 = now_us(CLOCK_MONOTONIC);
	for (i = 0; i < rounds; i++)
		(void)getppid();
	return (now_us(CLOCK_MONOTONIC) - t0) / rounds;
}

/* A byte to a child and back: two wakes, each with a read and a write. */
static double
wake_us(int rounds)
{
	int	 to[2], from[2], i;
	double	 t0, t;
	char	 c = 0;
	pid_t	 pid;

	if (pipe(to) == -1 || pipe(from) == -1)
		err(1, "pipe");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		/* Only the parent's end open: its close is our EOF. */
		close(to[1]);
		close(from[0]);
		while (read(to[0], &c, 1) == 1)
			xwrite(from[1], &c, 1);
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	xwrite(to[1], &c, 1);
	xread(from[0], &c, 1);
	t0 = now_us(CLOCK_MONOTONIC);
	for (i = 0; i < rounds; i++) {
		xwrite(to[1], &c, 1);
		xread(from[0], &c, 1);
	}
	t = (now_us(CLOCK_MONOTONIC) - t0) / rounds / 2;
	close(to[1]);
	if (waitpid(pid, NULL, 0) == -1)
		err(1, "waitpid");
	close(from[0]);
	return t;
}

/*
 * Forks of a process holding npages of written heap: the fork with the
 * child's exit and reaping; then, in one more child, each page read once,
 * read again, and written (copy on write), timed by the child and sent
 * back over a pipe.
 */
static void
fork_costs(uint8_t *heap, size_t npages, int rounds, double *fork_us,
    double *read_us, double *cow_us)
{
	double		 t0, r[2];
	volatile uint8_t sink = 0;
	size_t		 i;
	int		 p[2], k;
	pid_t		 pid;

	t0 = now_us(CLOCK_MONOTONIC);
	for (k = 0; k < rounds; k++) {
		if ((pid = fork()) == -1)
			err(1, "fork");
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, NULL, 0) == -1)
			err(1, "waitpid");
	}
	*fork_us = (now_us(CLOCK_MONOTONIC) - t0) / rounds;

	if (pipe(p) == -1)
		err(1, "pipe");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		t0 = now_us(CLOCK_MONOTONIC);
		for (i = 0; i < npages; i++)
			sink ^= heap[i * PAGE];
		r[0] = (now_us(CLOCK_MONOTONIC) - t0) / (double)npages;
		t0 = now_us(CLOCK_MONOTONIC);
		for (i = 0; i < npages; i++)
			heap[i * PAGE + 1] = sink;
		r[1] = (now_us(CLOCK_MONOTONIC) - t0) / (double)npages;
		xwrite(p[1], r, sizeof(r));
		_exit(0);
	}
	xread(p[0], r, sizeof(r));
	if (waitpid(pid, NULL, 0) == -1)
		err(1, "waitpid");
	close(p[0]);
	close(p[1]);
	*read_us = r[0];
	*cow_us = r[1];
}

static double
fresh_page_us(size_t npages)
{
	uint8_t	*m;
	double	 t0, t;
	size_t	 i;

	m = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		err(1, "mmap");
	t0 = now_us(CLOCK_MONOTONIC);
	for (i = 0; i < npages; i++)
		m[i * PAGE] = 1;
	t = (now_us(CLOCK_MONOTONIC) - t0) / (double)npages;
	munmap(m, npages * PAGE);
	return t;
}

/* SSL_new's CPU time in this process, its caches warm, and in a child. */
static void
ssl_new_costs(double *parent_us, double *child_us)
{
	SSL_CTX	*ctx;
	SSL	*ssl;
	double	 t0, t;
	int	 p[2], i;
	pid_t	 pid;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		errx(1, "SSL_CTX_new");
	*parent_us = 0;
	for (i = 0; i < 3; i++) {	/* the first one fills the caches */
		t0 = now_us(CLOCK_THREAD_CPUTIME_ID);
		if ((ssl = SSL_new(ctx)) == NULL)
			errx(1, "SSL_new");
		*parent_us = now_us(CLOCK_THREAD_CPUTIME_ID) - t0;
		SSL_free(ssl);
	}
	if (pipe(p) == -1)
		err(1, "pipe");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		t0 = now_us(CLOCK_THREAD_CPUTIME_ID);
		if ((ssl = SSL_new(ctx)) == NULL)
			errx(1, "SSL_new");
		t = now_us(CLOCK_THREAD_CPUTIME_ID) - t0;
		xwrite(p[1], &t, sizeof(t));
		_exit(0);
	}
	xread(p[0], child_us, sizeof(*child_us));
	if (waitpid(pid, NULL, 0) == -1)
		err(1, "waitpid");
	close(p[0]);
	close(p[1]);
	SSL_CTX_free(ctx);
}

int
main(int argc, char **argv)
{
	uint8_t		*heap;
	size_t		 npages;
	double		 fork_us, read_us, cow_us, ssl_parent, ssl_child;
	long		 kib = 1536, rounds = 200;
	int		 ch;

	while ((ch = getopt(argc, argv, "m:n:")) != -1) {
		switch (ch) {
		case 'm':
			kib = atol(optarg);
			break;
		case 'n':
			rounds = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: hostcost [-m heap KiB] "
			    "[-n rounds]\n");
			return 2;
		}
	}
	if (kib < 4 || kib > HEAP_MAX_KIB || rounds < 1 ||
	    rounds > ROUNDS_MAX)
		errx(2, "out of range");
	npages = (size_t)kib / 4;
	heap = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (heap == MAP_FAILED)
		err(1, "mmap");
	memset(heap, 1, npages * PAGE);

	fork_costs(heap, npages, (int)rounds, &fork_us, &read_us, &cow_us);
	ssl_new_costs(&ssl_parent, &ssl_child);
	printf("syscall_us=%.2f wake_us=%.1f fork_exit_us=%.0f heap_kib=%ld "
	    "child_first_read_us_per_page=%.2f child_cow_us_per_page=%.2f "
	    "fresh_page_us=%.2f ssl_new_parent_us=%.1f "
	    "ssl_new_child_us=%.1f\n", syscall_us((int)rounds * 50),
	    wake_us((int)rounds * 10), fork_us, kib, read_us, cow_us,
	    fresh_page_us(npages), ssl_parent, ssl_child);
	return 0;
}
