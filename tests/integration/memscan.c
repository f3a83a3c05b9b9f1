/*
 * memscan.c: search a live process's memory for byte strings, as root
 * (/proc/PID/maps and /proc/PID/mem).  Used to show that no worker holds
 * the TLS private key, and that the key process does.
 *
 * usage: memscan PID HEX...
 * Prints "found HEX" for each string present, then exits 1 if any was
 * found, 0 if none, 2 on error (a region that cannot be read is skipped
 * and counted on stderr).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define MAX_PATTERNS	32
#define MAX_PATTERN	1024
#define CHUNK		(1024 * 1024)
/* Larger regions are reserved, not used (ASan's shadow): not read. */
#define REGION_MAX	(1024UL * 1024 * 1024)

struct pattern {
	const char	*hex;
	uint8_t		 bytes[MAX_PATTERN];
	size_t		 len;
	int		 found;
};

static struct pattern	 pat[MAX_PATTERNS];
static int		 npat;

static void
search(const uint8_t *buf, size_t len)
{
	int	 i;

	for (i = 0; i < npat; i++)
		if (!pat[i].found && len >= pat[i].len &&
		    memmem(buf, len, pat[i].bytes, pat[i].len) != NULL)
			pat[i].found = 1;
}

/* One region, read in chunks that overlap by the longest pattern. */
static int
scan_region(int mem, unsigned long start, unsigned long end, size_t overlap)
{
	static uint8_t	 buf[CHUNK + MAX_PATTERN];
	unsigned long	 off = start;
	size_t		 keep = 0, want, total;
	ssize_t		 n;

	while (off < end) {
		want = end - off < CHUNK ? end - off : CHUNK;
		n = pread(mem, buf + keep, want, (off_t)off);
		if (n <= 0)
			return -1;
		total = keep + (size_t)n;
		search(buf, total);
		off += (unsigned long)n;
		/* Keep the tail: a string may straddle two chunks. */
		keep = total < overlap ? total : overlap;
		memmove(buf, buf + total - keep, keep);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	char		 path[64], line[512], perms[8];
	unsigned long	 start, end;
	size_t		 longest = 0;
	FILE		*maps;
	int		 i, mem, skipped = 0, any = 0;

	if (argc < 3 || argc - 2 > MAX_PATTERNS) {
		fprintf(stderr, "usage: memscan PID HEX...\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		struct pattern	*p = &pat[npat++];

		p->hex = argv[i];
		p->len = strlen(argv[i]) / 2;
		if (p->len == 0 || p->len > MAX_PATTERN ||
		    hex_decode(argv[i], strlen(argv[i]), p->bytes,
		    p->len) == -1) {
			fprintf(stderr, "memscan: %s: not hex\n", argv[i]);
			return 2;
		}
		if (p->len > longest)
			longest = p->len;
	}
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	if ((maps = fopen(path, "r")) == NULL) {
		fprintf(stderr, "memscan: %s: %s\n", path, strerror(errno));
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	if ((mem = open(path, O_RDONLY)) == -1) {
		fprintf(stderr, "memscan: %s: %s\n", path, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3)
			continue;
		/* Readable regions only; the kernel's vsyscall and vvar pages cannot be read. */
		if (perms[0] != 'r' || strstr(line, "[vsyscall]") != NULL ||
		    strstr(line, "[vvar") != NULL)
			continue;
		if (end - start > REGION_MAX) {
			fprintf(stderr, "memscan: too large, not read: %s",
			    line);
			skipped++;
			continue;
		}
		if (scan_region(mem, start, end, longest - 1) == -1) {
			fprintf(stderr, "memscan: cannot read %s", line);
			skipped++;
		}
	}
	fclose(maps);
	close(mem);
	if (skipped > 0)
		fprintf(stderr, "memscan: %d region(s) could not be read\n",
		    skipped);
	for (i = 0; i < npat; i++)
		if (pat[i].found) {
			printf("found %s\n", pat[i].hex);
			any = 1;
		}
	return any ? 1 : 0;
}
