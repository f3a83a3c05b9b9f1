/*
 * ptree.c: sum PSS and CPU over a server's process tree from /proc, in one
 * process and one pass: list /proc once, find the root's descendants by
 * their parents, then open each one's files directly.  No process per pid,
 * no argument list, so 10,000 workers cost 10,000 small reads.  CPU comes
 * from schedstat, not from stat's tick-sampled utime and stime.
 */
#include "config.h"

#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ptree.h"
#include "xmalloc.h"

#define PTREE_MAX_PROCS	(1u << 22)	/* the kernel's pid_max ceiling */
#define PTREE_MAX_DEPTH	256		/* generations below init */
#define PTREE_BUF	4096		/* stat and smaps_rollup fit */

enum { PT_UNKNOWN, PT_IN, PT_OUT };

struct pentry {
	pid_t			 pid;
	struct ptree_stat	 st;
	int			 mark;
};

/*
 * Read a small /proc file whole into buf (NUL-terminated).  0, or -1 with
 * errno: ENOENT or ESRCH when the process is gone.
 */
static int
read_small(const char *path, char *buf, size_t bufsz)
{
	ssize_t	 r;
	size_t	 off = 0;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (off < bufsz - 1) {
		r = read(fd, buf + off, bufsz - 1 - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			saved = errno;
			(void)close(fd);
			errno = saved;
			return -1;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	buf[off] = '\0';
	if (close(fd) == -1)
		return -1;
	return 0;
}

int
ptree_parse_stat(const char *buf, struct ptree_stat *st)
{
	const char		*p;
	char			*end;
	unsigned long long	 v;
	long			 l;
	int			 field;

	memset(st, 0, sizeof(*st));
	/* The name ends at the last ')': it may itself hold one. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	/*
	 * Fields after the name: 3 state, 4 ppid, 5-13 (tpgid may be -1),
	 * 14 utime, 15 stime, 16 cutime, 17 cstime, 18-19, 20 num_threads.
	 */
	for (field = 3; field <= 20; field++) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return -1;
		errno = 0;
		switch (field) {
		case 4:
		case 20:
			l = strtol(p, &end, 10);
			if (end == p || errno != 0 || l < 0)
				return -1;
			if (field == 4)
				st->ppid = (pid_t)l;
			else
				st->threads = l;
			break;
		case 14:
		case 15:
		case 16:
		case 17:
			/* cutime and cstime are signed in the kernel. */
			v = strtoull(p, &end, 10);
			if (end == p || errno != 0 || *p == '-')
				return -1;
			if (field <= 15)
				st->ticks += v;
			else
				st->child_ticks += v;
			break;
		default:
			end = (char *)p + strcspn(p, " ");
			break;
		}
		p = end;
	}
	return 0;
}

int
ptree_parse_schedstat(const char *buf, uint64_t *ns)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(buf, &end, 10);
	if (end == buf || errno != 0 || (*end != ' ' && *end != '\n'))
		return -1;
	*ns = v;
	return 0;
}

int
ptree_parse_pss(const char *buf, uint64_t *kib)
{
	const char		*p = buf;
	char			*end;
	unsigned long long	 v;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, "Pss:", 4) == 0) {
			p += 4;
			while (*p == ' ' || *p == '\t')
				p++;
			errno = 0;
			v = strtoull(p, &end, 10);
			if (end == p || errno != 0 || strncmp(end, " kB", 3) != 0)
				return -1;
			*kib = v;
			return 0;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Every process on the system with its parent and CPU ticks. */
static int
list_procs(struct pentry **out, size_t *nout, char *err, size_t errsz)
{
	struct pentry	*e = NULL;
	struct dirent	*de;
	DIR		*d;
	size_t		 n = 0, cap = 0;
	char		 path[64], buf[PTREE_BUF];
	long		 pid;
	int		 saved;

	if ((d = opendir("/proc")) == NULL) {
		(void)snprintf(err, errsz, "/proc: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (!all_digits(de->d_name))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		if (pid <= 0 || n == PTREE_MAX_PROCS)
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if (read_small(path, buf, sizeof(buf)) == -1)
			continue;	/* gone since readdir */
		if (n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			e = xreallocarray(e, cap, sizeof(*e));
		}
		if (ptree_parse_stat(buf, &e[n].st) == -1)
			continue;
		e[n].pid = (pid_t)pid;
		e[n].mark = PT_UNKNOWN;
		n++;
	}
	saved = errno;
	(void)closedir(d);
	if (saved != 0) {
		(void)snprintf(err, errsz, "reading /proc: %s",
		    strerror(saved));
		free(e);
		return -1;
	}
	*out = e;
	*nout = n;
	return 0;
}

static int
cmp_pid(const void *a, const void *b)
{
	pid_t	 x = ((const struct pentry *)a)->pid;
	pid_t	 y = ((const struct pentry *)b)->pid;

	return x < y ? -1 : x > y;
}

static struct pentry *
find_pid(struct pentry *e, size_t n, pid_t pid)
{
	struct pentry	 key;

	key.pid = pid;
	return bsearch(&key, e, n, sizeof(*e), cmp_pid);
}

/*
 * Is e[i] the root or below it?  Walks up the parents until an answer is
 * known, then marks the whole path, so every entry is walked about once.
 */
static int
in_tree(struct pentry *e, size_t n, size_t i, pid_t root)
{
	struct pentry	*path[PTREE_MAX_DEPTH], *k = &e[i];
	int		 depth = 0, verdict = PT_OUT, d;

	for (;;) {
		if (k->mark != PT_UNKNOWN) {
			verdict = k->mark;
			break;
		}
		if (depth == PTREE_MAX_DEPTH)
			break;
		path[depth++] = k;
		if (k->pid == root) {
			verdict = PT_IN;
			break;
		}
		if (k->st.ppid <= 1 ||
		    (k = find_pid(e, n, k->st.ppid)) == NULL)
			break;
	}
	for (d = 0; d < depth; d++)
		path[d]->mark = verdict;
	return verdict == PT_IN;
}

/*
 * One member's Pss.  A process that exited meanwhile is left out: 0, or
 * -1 if it is gone.
 */
static int
add_pss(pid_t pid, struct ptree_sample *s)
{
	char		 path[64], buf[PTREE_BUF];
	uint64_t	 kib;

	(void)snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup",
	    (long)pid);
	if (read_small(path, buf, sizeof(buf)) == -1) {
		if (errno == ENOENT || errno == ESRCH)
			return -1;
		s->unreadable++;
		return 0;
	}
	/* An exiting process (its mm gone) reads as empty. */
	if (buf[0] == '\0')
		return -1;
	if (ptree_parse_pss(buf, &kib) == -1)
		s->unreadable++;
	else
		s->pss_kib += kib;
	return 0;
}

/*
 * One member's run time in ns, every thread's: a single-threaded process
 * has one schedstat, others one per task.  0, or -1 if it is gone.
 */
static int
add_runtime(const struct pentry *e, uint64_t *ns)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[96], buf[256];
	uint64_t	 v;

	if (e->st.threads <= 1) {
		(void)snprintf(path, sizeof(path), "/proc/%ld/schedstat",
		    (long)e->pid);
		if (read_small(path, buf, sizeof(buf)) == -1 ||
		    ptree_parse_schedstat(buf, &v) == -1)
			return -1;
		*ns += v;
		return 0;
	}
	(void)snprintf(path, sizeof(path), "/proc/%ld/task", (long)e->pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	/* A thread that ended meanwhile is left out; the bound is pid_max. */
	while ((de = readdir(d)) != NULL) {
		if (!all_digits(de->d_name))
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%ld/task/%.16s/schedstat",
		    (long)e->pid, de->d_name);
		if (read_small(path, buf, sizeof(buf)) == 0 &&
		    ptree_parse_schedstat(buf, &v) == 0)
			*ns += v;
	}
	(void)closedir(d);
	return 0;
}

int
ptree_sample(pid_t root, int flags, struct ptree_sample *out, char *err,
    size_t errsz)
{
	struct pentry	*e;
	size_t		 n, i;
	uint64_t	 run_ns = 0, child_ticks = 0, ticks = 0;
	long		 hz;
	int		 found = 0;

	memset(out, 0, sizeof(*out));
	if ((hz = sysconf(_SC_CLK_TCK)) <= 0) {
		(void)snprintf(err, errsz, "sysconf(_SC_CLK_TCK) failed");
		return -1;
	}
	if (list_procs(&e, &n, err, errsz) == -1)
		return -1;
	qsort(e, n, sizeof(*e), cmp_pid);
	for (i = 0; i < n; i++) {
		if (!in_tree(e, n, i, root))
			continue;
		if (add_runtime(&e[i], &run_ns) == -1 ||
		    ((flags & PTREE_PSS) && add_pss(e[i].pid, out) == -1)) {
			out->vanished++;
			continue;
		}
		if (e[i].pid == root)
			found = 1;
		out->procs++;
		child_ticks += e[i].st.child_ticks;
		ticks += e[i].st.ticks;
	}
	free(e);
	if (!found) {
		(void)snprintf(err, errsz, "no process %ld", (long)root);
		return -1;
	}
	out->cpu_s = (double)run_ns / 1e9 + (double)child_ticks / (double)hz;
	out->stat_cpu_s = (double)(ticks + child_ticks) / (double)hz;
	return 0;
}
