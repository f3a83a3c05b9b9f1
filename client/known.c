/*
 * known.c: the known_servers file, the client's memory of which key each
 * server showed the first time ("host:port SHA256:<hex>" per line).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "client.h"
#include "localfile.h"
#include "util.h"
#include "xmalloc.h"

#define FP_PREFIX	"SHA256:"

void
known_fp_string(const uint8_t fp[TLS_FP_LEN], char out[FP_STR_LEN])
{
	memcpy(out, FP_PREFIX, sizeof(FP_PREFIX) - 1);
	hex_encode(fp, TLS_FP_LEN, out + sizeof(FP_PREFIX) - 1);
}

static int
parse_fp(const char *s, uint8_t fp[TLS_FP_LEN])
{
	if (strncmp(s, FP_PREFIX, sizeof(FP_PREFIX) - 1) != 0)
		return -1;
	s += sizeof(FP_PREFIX) - 1;
	return hex_decode(s, strlen(s), fp, TLS_FP_LEN);
}

/*
 * Find the pin for hostport.  A malformed line for this server is an error,
 * not a miss: treating it as unknown would silently re-pin whatever key
 * the next connection offers.
 */
int
known_lookup(const char *file, const char *hostport, uint8_t fp[TLS_FP_LEN],
    char *err, size_t errsz)
{
	FILE		*f;
	char		*line = NULL, *p, *val;
	size_t		 linesz = 0;
	ssize_t		 n;
	unsigned long	 lineno = 0;
	int		 ret = KNOWN_NONE, rv;

	/* Whoever can write the pins can redirect us: ours, 0600. */
	if ((rv = localfile_fopen("known servers file", file, &f, err,
	    errsz)) != 0)
		return rv == 1 ? KNOWN_NONE : -1;
	while ((n = getline(&line, &linesz, f)) != -1) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		val = p + strcspn(p, " \t");
		if (*val != '\0')
			*val++ = '\0';
		if (strcmp(p, hostport) != 0)
			continue;
		val += strspn(val, " \t");
		val[strcspn(val, " \t")] = '\0';
		if (parse_fp(val, fp) == -1) {
			(void)snprintf(err, errsz, "%s:%lu: malformed entry "
			    "for %s", file, lineno, hostport);
			ret = -1;
		} else
			ret = KNOWN_FOUND;
		break;
	}
	if (ret == KNOWN_NONE && ferror(f)) {
		(void)snprintf(err, errsz, "%s: read error", file);
		ret = -1;
	}
	free(line);
	(void)fclose(f);
	return ret;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read the whole current file, or nothing when there is none yet. */
static int
read_existing(const char *file, char **data, size_t *len)
{
	FILE	*f;
	char	 buf[4096];
	size_t	 n, cap = 0;

	*data = NULL;
	*len = 0;
	if ((f = fopen(file, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (*len + n > cap) {
			cap = (*len + n) * 2;
			*data = xreallocarray(*data, cap, 1);
		}
		memcpy(*data + *len, buf, n);
		*len += n;
	}
	if (ferror(f)) {
		(void)fclose(f);
		free(*data);
		*data = NULL;
		return -1;
	}
	(void)fclose(f);
	return 0;
}

/*
 * Append a pin by writing a new file beside the old one and renaming it
 * over, so a crash leaves either the old list or the new one, never half.
 */
int
known_add(const char *file, const char *hostport,
    const uint8_t fp[TLS_FP_LEN], char *err, size_t errsz)
{
	char	*tmp = NULL, *old = NULL, *line = NULL;
	char	 fpstr[FP_STR_LEN];
	size_t	 oldlen;
	int	 fd = -1, saved, created = 0;

	if (read_existing(file, &old, &oldlen) == -1) {
		(void)snprintf(err, errsz, "%s: %s", file, strerror(errno));
		return -1;
	}
	known_fp_string(fp, fpstr);
	(void)xasprintf(&line, "%s %s\n", hostport, fpstr);
	(void)xasprintf(&tmp, "%s.XXXXXX", file);
	/* mkstemp creates the file 0600. */
	if ((fd = mkstemp(tmp)) == -1)
		goto fail;
	created = 1;
	if (oldlen > 0 && write_all(fd, old, oldlen) == -1)
		goto fail;
	if (oldlen > 0 && old[oldlen - 1] != '\n' && write_all(fd, "\n", 1) == -1)
		goto fail;
	if (write_all(fd, line, strlen(line)) == -1)
		goto fail;
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, file) == -1)
		goto fail;
	free(old);
	free(line);
	free(tmp);
	return 0;

 fail:
	saved = errno;
	(void)snprintf(err, errsz, "cannot write %s: %s", file,
	    strerror(saved));
	if (fd != -1)
		(void)close(fd);
	if (created)
		(void)unlink(tmp);
	free(old);
	free(line);
	free(tmp);
	return -1;
}
