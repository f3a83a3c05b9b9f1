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
 * -m KiB of written heap with its child's exit and reaping (and the same
 * with vfork, which makes no address space), a page first
 * read and first written (copy on write) in such a child, a fresh page,
 * and SSL_new in the parent (its caches warm) and in a forked child.
 * -H asks for that heap in transparent huge pages (2 MiB aligned,
 * MADV_HUGEPAGE) and prints how much of it the kernel gave as such: a
 * child then shares the parent's huge mappings, and its first reads
 * fault nowhere, while its first write to each page still copies one.
 *
 * With -k, it measures instead what a wake costs when K processes take
 * turns: a token goes round a ring of K processes joined by pipes, and
 * each writes -t pages of its own memory when it holds the token, as a
 * worker touches its buffers and libevent's state at each wake.  With
 * thousands of workers each wake finds its process's pages, page tables
 * and TLB entries cold; this is what that costs the host, per hop.  -T
 * makes the ring's members threads of one process instead: the same
 * wakes without a switch of address space.
 *
 * usage: hostcost [-H] [-m heap KiB] [-n rounds]
 *        hostcost -k members [-T] [-t pages] [-n rounds]
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include <err.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define PAGE		4096
#define HUGE_PAGE	(2 * 1024 * 1024)
#define HEAP_MAX_KIB	(1024 * 1024)
#define ROUNDS_MAX	100000
#define RING_MAX	30000		/* processes in the ring */
#define RING_THREADS_MAX 9000		/* threads: two descriptors each */
#define RING_STACK	(64 * 1024)
#define RING_PAGES_MAX	1024		/* pages each writes per hop */
#define RING_HOPS_MAX	2000000		/* hops timed, all rounds */

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

/*
 * npages of written memory; with huge, from a 2 MiB boundary and marked
 * for transparent huge pages.
 */
static uint8_t *
heap_map(size_t npages, int huge)
{
	uint8_t		*m, *base;
	size_t		 len = npages * PAGE, pad = huge ? HUGE_PAGE : 0;

	m = mmap(NULL, len + pad, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		err(1, "mmap");
	base = m;
	if (huge) {
		base = (uint8_t *)(((uintptr_t)m + HUGE_PAGE - 1) &
		    ~(uintptr_t)(HUGE_PAGE - 1));
		/* A kernel without them says so; the figures still hold. */
		if (madvise(base, len, MADV_HUGEPAGE) == -1)
			warn("madvise MADV_HUGEPAGE");
	}
	memset(base, 1, len);
	return base;
}

/* What of this process's anonymous memory is in huge pages, in KiB. */
static long
anon_huge_kib(void)
{
	FILE	*f;
	char	 line[128];
	long	 kib = -1;

	if ((f = fopen("/proc/self/smaps_rollup", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * A fork of a process holding the heap, with the child's exit and
 * reaping; or a vfork, whose child borrows the parent's address space:
 * what fork costs beyond it is making and tearing down an address space.
 */
static double
spawn_exit_us(int rounds, int borrow)
{
	double	 t0;
	int	 k;
	pid_t	 pid;

	t0 = now_us(CLOCK_MONOTONIC);
	for (k = 0; k < rounds; k++) {
		if ((pid = borrow ? vfork() : fork()) == -1)
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

struct ring_member {
	int		 in, out;
	size_t		 npages;
};

/* One member of the ring: pass the token on, writing its pages first. */
static void *
ring_member(void *arg)
{
	struct ring_member	*rm = arg;
	uint8_t			*m;
	size_t			 i;
	char			 c;

	m = mmap(NULL, rm->npages * PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		err(1, "mmap");
	memset(m, 0, rm->npages * PAGE);
	while (read(rm->in, &c, 1) == 1) {
		for (i = 0; i < rm->npages; i++)
			m[i * PAGE + (size_t)(uint8_t)c]++;
		c++;
		xwrite(rm->out, &c, 1);
	}
	close(rm->in);
	close(rm->out);
	munmap(m, rm->npages * PAGE);
	return NULL;
}

/*
 * A ring of n members, processes or threads: this thread writes the token
 * into the first pipe and reads it back from the last.  A member's input
 * closing (EOF) ends it, so closing the first pipe unwinds the ring.
 */
static double
ring_hop_us(long n, int threads, long npages, long rounds)
{
	struct ring_member	*rm;
	pthread_attr_t		 attr;
	pthread_t		*tid = NULL;
	int			 first[2], next[2], prev;
	long			 i, r;
	double			 t0, t;
	char			 c = 0;
	pid_t			 pid;

	if ((rm = calloc((size_t)n, sizeof(*rm))) == NULL ||
	    (threads && (tid = calloc((size_t)n, sizeof(*tid))) == NULL))
		err(1, "calloc");
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, RING_STACK) != 0)
		errx(1, "pthread_attr");
	if (pipe(first) == -1)
		err(1, "pipe");
	prev = first[0];
	for (i = 0; i < n; i++) {
		if (pipe(next) == -1)
			err(1, "pipe");
		rm[i].in = prev;
		rm[i].out = next[1];
		rm[i].npages = (size_t)npages;
		if (threads) {
			if (pthread_create(&tid[i], &attr, ring_member,
			    &rm[i]) != 0)
				errx(1, "pthread_create");
		} else {
			if ((pid = fork()) == -1)
				err(1, "fork");
			if (pid == 0) {
				close(first[1]);
				close(next[0]);
				ring_member(&rm[i]);
				_exit(0);
			}
			close(prev);
			close(next[1]);
		}
		prev = next[0];
	}
	/* One round to let every member map and write its pages. */
	xwrite(first[1], &c, 1);
	xread(prev, &c, 1);
	t0 = now_us(CLOCK_MONOTONIC);
	for (r = 0; r < rounds; r++) {
		xwrite(first[1], &c, 1);
		xread(prev, &c, 1);
	}
	t = (now_us(CLOCK_MONOTONIC) - t0) / (double)rounds / (double)(n + 1);
	close(first[1]);
	close(prev);
	if (threads) {
		for (i = 0; i < n; i++)
			if (pthread_join(tid[i], NULL) != 0)
				errx(1, "pthread_join");
	} else {
		while (wait(NULL) != -1)
			;
	}
	pthread_attr_destroy(&attr);
	free(tid);
	free(rm);
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
	double		 sys, wake, fork_exit, vfork_exit, touch[2], fresh,
			 ssl_parent, ssl_child;
	long		 kib = 1536, rounds = 200, ring = -1, ring_pages = 16;
	int		 ch, i, threads = 0, huge = 0;

	while ((ch = getopt(argc, argv, "Hk:m:n:Tt:")) != -1) {
		switch (ch) {
		case 'H':
			huge = 1;
			break;
		case 'k':
			ring = atol(optarg);
			break;
		case 'm':
			kib = atol(optarg);
			break;
		case 'n':
			rounds = atol(optarg);
			break;
		case 'T':
			threads = 1;
			break;
		case 't':
			ring_pages = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: hostcost [-H] [-m heap KiB] "
			    "[-n rounds]\n"
			    "       hostcost -k members [-T] [-t pages] "
			    "[-n rounds]\n");
			return 2;
		}
	}
	if (ring != -1) {		/* -k given */
		if (ring < 1 || ring > (threads ? RING_THREADS_MAX : RING_MAX) ||
		    ring_pages < 1 || ring_pages > RING_PAGES_MAX ||
		    rounds < 1 || rounds > RING_HOPS_MAX / (ring + 1))
			errx(2, "out of range: -k 1..%d (-T: 1..%d), -t 1..%d, "
			    "-n times (k + 1) at most %d", RING_MAX,
			    RING_THREADS_MAX, RING_PAGES_MAX, RING_HOPS_MAX);
		printf("ring_members=%ld ring_%s ring_pages=%ld "
		    "ring_rounds=%ld ring_hop_us=%.1f\n", ring,
		    threads ? "threads" : "processes", ring_pages, rounds,
		    ring_hop_us(ring, threads, ring_pages, rounds));
		return 0;
	}
	if (kib < 4 || kib > HEAP_MAX_KIB || rounds < 1 ||
	    rounds > ROUNDS_MAX)
		errx(2, "out of range");
	h.npages = (size_t)kib / 4;
	h.base = heap_map(h.npages, huge);

	sys = syscall_us((int)rounds * 50);
	wake = wake_us((int)rounds * 10);
	fork_exit = spawn_exit_us((int)rounds, 0);
	vfork_exit = spawn_exit_us((int)rounds, 1);
	in_child(touch_heap, &h, touch, 2);
	fresh = fresh_page_us(h.npages);

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		errx(1, "SSL_CTX_new");
	for (i = 0; i < 3; i++)		/* the first one fills the caches */
		time_ssl_new(ctx, &ssl_parent);
	in_child(time_ssl_new, ctx, &ssl_child, 1);
	SSL_CTX_free(ctx);

	printf("syscall_us=%.2f wake_us=%.1f fork_exit_us=%.0f "
	    "vfork_exit_us=%.0f heap_kib=%ld heap_huge_kib=%ld "
	    "child_first_read_us_per_page=%.2f child_cow_us_per_page=%.2f "
	    "fresh_page_us=%.2f ssl_new_parent_us=%.1f "
	    "ssl_new_child_us=%.1f\n", sys, wake, fork_exit, vfork_exit, kib,
	    huge ? anon_huge_kib() : 0, touch[0], touch[1], fresh, ssl_parent,
	    ssl_child);
	return 0;
}
