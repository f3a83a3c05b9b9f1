/*
 * fanoutcost.c: what the broker's fan-out would save with a shared
 * read-only log.  One writer and N reader processes, as the broker and
 * its workers: either the writer writes each frame to every reader's
 * socket (what the broker does), or it copies each frame once into a
 * shared memfd mapping and writes every reader an 8-byte offset, from
 * which the reader copies the frame (a shared log still has to wake each
 * worker).  Prints the CPU per delivery of the writer and of everyone.
 *
 * usage: fanoutcost [-n readers] [-m messages] [-b per pass] [-s bytes]
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_READERS	4096
#define MAX_BATCH	64

static double
tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static double
cpu_s(int who)
{
	struct rusage	 ru;

	if (getrusage(who, &ru) == -1)
		err(1, "getrusage");
	return tv_s(&ru.ru_utime) + tv_s(&ru.ru_stime);
}

/* A reader: until EOF, frames (or offsets into the log, then the frame). */
static void
reader(int fd, const uint8_t *log, size_t size)
{
	uint8_t		 buf[65536], frame[4096];
	uint64_t	 off;
	ssize_t		 n, i;
	volatile uint8_t sink = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (log == NULL) {
			sink ^= buf[n - 1];
			continue;
		}
		for (i = 0; i + 8 <= n; i += 8) {
			memcpy(&off, buf + i, 8);
			memcpy(frame, log + off, size);
			sink ^= frame[size - 1];
		}
	}
	if (n == -1)
		err(1, "read");
	(void)sink;	/* read once more: clang counts only reads as uses */
	_exit(0);
}

static void
run(int shared, int nr, int msgs, int batch, size_t size)
{
	static int	 fds[MAX_READERS];
	struct iovec	 iov[MAX_BATCH];
	struct timespec	 t0, t1;
	uint8_t		*log = NULL, frame[4096];
	uint64_t	 offs[MAX_BATCH];
	double		 c0, c1, k0, k1, wall;
	int		 sp[2], i, j, m, k;

	if (shared) {
		int mfd = memfd_create("fanoutcost", 0);

		if (mfd == -1 || ftruncate(mfd, (off_t)(msgs * size)) == -1)
			err(1, "memfd");
		log = mmap(NULL, msgs * size, PROT_READ | PROT_WRITE,
		    MAP_SHARED, mfd, 0);
		if (log == MAP_FAILED)
			err(1, "mmap");
		close(mfd);
	}
	for (i = 0; i < nr; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
			err(1, "socketpair");
		switch (fork()) {
		case -1:
			err(1, "fork");
		case 0:
			for (j = 0; j < i; j++)
				close(fds[j]);
			close(sp[0]);
			reader(sp[1], log, size);
		}
		close(sp[1]);
		fds[i] = sp[0];
	}
	memset(frame, 'x', sizeof(frame));
	c0 = cpu_s(RUSAGE_SELF);
	k0 = cpu_s(RUSAGE_CHILDREN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (m = 0; m < msgs; m += batch) {
		k = msgs - m < batch ? msgs - m : batch;
		/* One pass: k frames, then one write per reader. */
		for (j = 0; j < k; j++) {
			if (shared) {
				offs[j] = (uint64_t)(m + j) * size;
				memcpy(log + offs[j], frame, size);
				iov[j].iov_base = &offs[j];
				iov[j].iov_len = 8;
			} else {
				iov[j].iov_base = frame;
				iov[j].iov_len = size;
			}
		}
		for (i = 0; i < nr; i++)
			if (writev(fds[i], iov, k) == -1)
				err(1, "writev");
	}
	c1 = cpu_s(RUSAGE_SELF);
	for (i = 0; i < nr; i++)
		close(fds[i]);
	for (i = 0; i < nr; i++)
		if (wait(NULL) == -1)
			err(1, "wait");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	k1 = cpu_s(RUSAGE_CHILDREN);
	wall = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%-7s readers=%d messages=%d per_pass=%d bytes=%zu "
	    "writer_us_per_delivery=%.3f all_us_per_delivery=%.3f "
	    "deliveries_per_s=%.0f\n", shared ? "memfd" : "sockets", nr,
	    msgs, batch, size,
	    (c1 - c0) * 1e6 / ((double)nr * msgs),
	    ((c1 - c0) + (k1 - k0)) * 1e6 / ((double)nr * msgs),
	    (double)nr * msgs / wall);
	if (log != NULL)
		munmap(log, msgs * size);
}

int
main(int argc, char **argv)
{
	int	 nr = 500, msgs = 2000, batch = 1, ch;
	size_t	 size = 230;

	while ((ch = getopt(argc, argv, "b:m:n:s:")) != -1) {
		switch (ch) {
		case 'b':
			batch = atoi(optarg);
			break;
		case 'm':
			msgs = atoi(optarg);
			break;
		case 'n':
			nr = atoi(optarg);
			break;
		case 's':
			size = (size_t)atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: fanoutcost [-n readers] "
			    "[-m messages] [-b per pass] [-s bytes]\n");
			return 2;
		}
	}
	if (nr < 1 || nr > MAX_READERS || msgs < 1 || batch < 1 ||
	    batch > MAX_BATCH || size < 8 || size > 4096)
		errx(2, "out of range");
	run(0, nr, msgs, batch, size);
	run(1, nr, msgs, batch, size);
	return 0;
}
