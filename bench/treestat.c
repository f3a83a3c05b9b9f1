/*
 * treestat.c: print one line about a server's process tree for the bench
 * scripts: processes, summed PSS (KiB), summed CPU seconds (and what
 * /proc/PID/stat alone would say).  Exit 1 if the root is gone or any
 * member's smaps_rollup could not be read.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ptree.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: treestat [-c] pid\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct ptree_sample	 s;
	char			 err[256], *end;
	long			 pid;
	int			 ch, flags = PTREE_PSS;

	while ((ch = getopt(argc, argv, "c")) != -1) {
		switch (ch) {
		case 'c':
			flags = 0;	/* CPU only: no smaps_rollup */
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	errno = 0;
	pid = strtol(argv[optind], &end, 10);
	if (*argv[optind] == '\0' || *end != '\0' || errno != 0 || pid <= 1)
		usage();
	if (ptree_sample((pid_t)pid, flags, &s, err, sizeof(err)) == -1) {
		fprintf(stderr, "treestat: %s\n", err);
		return 1;
	}
	printf("procs=%d pss_kib=%llu cpu_s=%.3f stat_cpu_s=%.2f unreadable=%d "
	    "vanished=%d\n", s.procs, (unsigned long long)s.pss_kib, s.cpu_s,
	    s.stat_cpu_s, s.unreadable, s.vanished);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		perror("treestat: stdout");
		return 1;
	}
	return s.unreadable == 0 ? 0 : 1;
}
