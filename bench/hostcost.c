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
 * fn run in a child forked now, which sends back what it measured (nr
 * figures): the child's first touches are what is measured.
 */
static void
in_child(void (*fn)(void *, double *), void *arg, double *r, size_t nr)
{
	int	 p[2];
	pid_t	 pid;

	if (pipe(p) == -1)
		err(1, "pipe");
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		fn(arg, r);
		xwrite(p[1], r, nr * sizeof(*r));
		_exit(0);
	}
	xread(p[0], r, nr * sizeof(*r));
	if (waitpid(pid, NULL, 0) == -1)
		err(1, "waitpid");
	close(p[0]);
	close(p[1]);
}

struct heap {
	uint8_t	*base;
	size_t	 npages;
};

/* Each inherited page read once, then written (copy on write). */
static void
touch_heap(void *arg, double *r)
{
	struct heap	*h = arg;
	volatile uint8_t sink = 0;
	double		 t0;
	size_t		 i;

	t0 = now_us(CLOCK_MONOTONIC);
	for (i = 0; i < h->npages; i++)
		sink ^= h->base[i * PAGE];
	r[0] = (now_us(CLOCK_MONOTONIC) - t0) / (double)h->npages;
	t0 = now_us(CLOCK_MONOTONIC);
	for (i = 0; i < h->npages; i++)
		h->base[i * PAGE + 1] = sink;
	r[1] = (now_us(CLOCK_MONOTONIC) - t0) / (double)h->npages;
}

/* A fork of a process holding the heap, with the child's exit and reaping. */
static double
fork_exit_us(int rounds)
{
	double	 t0;
	int	 k;
	pid_t	 pid;

	t0 = now_us(CLOCK_MONOTONIC);
	for (k = 0; k < rounds; k++) {
		if ((pid = fork()) == -1)
			err(1, "fork");
		if (pid == 0)
			_exit(0);
		if (waitpid(pid, NULL, 0) == -1)
			err(1, "waitpid");
	}
	return (now_us(CLOCK_MONOTONIC) - t0) / rounds;
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

/* SSL_new's CPU time, in the thread-CPU clock. */
static void
time_ssl_new(void *ctx, double *r)
{
	SSL	*ssl;
	double	 t0;

	t0 = now_us(CLOCK_THREAD_CPUTIME_ID);
	if ((ssl = SSL_new(ctx)) == NULL)
		errx(1, "SSL_new");
	r[0] = now_us(CLOCK_THREAD_CPUTIME_ID) - t0;
	SSL_free(ssl);
}

int
main(int argc, char **argv)
{
	struct heap	 h;
	SSL_CTX		*ctx;
	double		 sys, wake, fork_exit, touch[2], fresh, ssl_parent,
			 ssl_child;
	long		 kib = 1536, rounds = 200;
	int		 ch, i;

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
	h.npages = (size_t)kib / 4;
	h.base = mmap(NULL, h.npages * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h.base == MAP_FAILED)
		err(1, "mmap");
	memset(h.base, 1, h.npages * PAGE);

	sys = syscall_us((int)rounds * 50);
	wake = wake_us((int)rounds * 10);
	fork_exit = fork_exit_us((int)rounds);
	in_child(touch_heap, &h, touch, 2);
	fresh = fresh_page_us(h.npages);

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		errx(1, "SSL_CTX_new");
	for (i = 0; i < 3; i++)		/* the first one fills the caches */
		time_ssl_new(ctx, &ssl_parent);
	in_child(time_ssl_new, ctx, &ssl_child, 1);
	SSL_CTX_free(ctx);

	printf("syscall_us=%.2f wake_us=%.1f fork_exit_us=%.0f heap_kib=%ld "
	    "child_first_read_us_per_page=%.2f child_cow_us_per_page=%.2f "
	    "fresh_page_us=%.2f ssl_new_parent_us=%.1f "
	    "ssl_new_child_us=%.1f\n", sys, wake, fork_exit, kib, touch[0],
	    touch[1], fresh, ssl_parent, ssl_child);
	return 0;
}
