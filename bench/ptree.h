/*
 * ptree.h: one server's whole process tree, read from /proc: how many
 * processes, their summed PSS and their summed CPU time.  For the bench
 * tools only (scload -S, treestat); nothing here runs in the daemon.
 */
#ifndef SC_PTREE_H
#define SC_PTREE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define PTREE_PSS	0x1	/* also read every smaps_rollup */

struct ptree_sample {
	int		 procs;		/* the root and its descendants */
	int		 unreadable;	/* in the tree, smaps_rollup unread */
	int		 vanished;	/* exited between listing and reading */
	uint64_t	 pss_kib;	/* summed Pss (with PTREE_PSS) */
	/*
	 * CPU time of the tree: every thread's run time from schedstat (in
	 * nanoseconds, exact), plus the cutime and cstime of each member
	 * (children it reaped, in clock ticks).
	 */
	double		 cpu_s;
	/*
	 * utime + stime + cutime + cstime from /proc/PID/stat alone.  These
	 * are sampled at the clock tick: a worker that runs 10 ms in short
	 * bursts may show 0.  Kept to show the difference, not to be used.
	 */
	double		 stat_cpu_s;
};

/* What ptree reads from /proc/PID/stat. */
struct ptree_stat {
	pid_t		 ppid;
	uint64_t	 ticks;		/* utime + stime */
	uint64_t	 child_ticks;	/* cutime + cstime */
	long		 threads;
};

/* Sample root and every descendant.  0, or -1 with a message in err. */
int	 ptree_sample(pid_t root, int flags, struct ptree_sample *out,
	    char *err, size_t errsz);
/*
 * The text of /proc/PID/stat (the command name may hold spaces and
 * parentheses).  0, or -1 if it does not parse.
 */
int	 ptree_parse_stat(const char *buf, struct ptree_stat *st);
/* The "Pss:" line of smaps_rollup, in KiB.  0, or -1 if absent. */
int	 ptree_parse_pss(const char *buf, uint64_t *kib);
/* The first field of a schedstat file: run time in ns.  0, or -1. */
int	 ptree_parse_schedstat(const char *buf, uint64_t *ns);

#endif
