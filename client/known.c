/*
 * known.c: the known_servers file, the client's memory of which key each
 * server showed the first time ("host:port SHA256:<hex>" per line).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Split "host:port" or "[v6]:port" as known_servers spells them. */
static int
split_entry(const char *hp, char *host, size_t hostsz, uint16_t *port)
{
	return parse_hostport(hp, host, hostsz, port, 0) == -1 || *port == 0 ?
	    -1 : 0;
}

/* localhost, 127.0.0.0/8 and ::1: one machine, several pins. */
int
known_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6);
}

/* The same machine under another spelling, as far as we can tell offline. */
static int
same_machine(const char *a, const char *b)
{
	uint8_t	 na[16], nb[16];
	int	 fa, fb;

	if (known_loopback(a) && known_loopback(b))
		return 1;
	fa = inet_pton(AF_INET6, a, na) == 1 ? AF_INET6 :
	    inet_pton(AF_INET, a, na) == 1 ? AF_INET : 0;
	fb = inet_pton(AF_INET6, b, nb) == 1 ? AF_INET6 :
	    inet_pton(AF_INET, b, nb) == 1 ? AF_INET : 0;
	return fa != 0 && fa == fb &&
	    memcmp(na, nb, fa == AF_INET ? 4 : 16) == 0;
}

/* Say one pin removed: its server and the fingerprint that was there. */
static void
forgotten(const char *entry, const char *rest)
{
	char		 fp[FP_STR_LEN];
	const char	*kv[] = { "server", entry, "fingerprint", fp, NULL };
	size_t		 n;

	rest += strspn(rest, " \t");
	n = strcspn(rest, " \t\r\n");
	(void)snprintf(fp, sizeof(fp), "%.*s", (int)n, rest);
	out_event(NULL, "forgotten", kv, "removed %s %s", entry, fp);
}

/*
 * forget-server HOST[:PORT]: drop the pins of HOST (on PORT, or on every
 * port when it is 0), like ssh-keygen -R, saying each one removed.  Pins
 * are per name as typed: other spellings of the same machine are named,
 * not removed.  Returns how many were removed, or -1.
 */
int
known_forget(const char *file, const char *host, uint16_t port, char *err,
    size_t errsz)
{
	FILE		*f;
	char		*line = NULL, *keep = NULL, *p, ehost[CLIENT_HOST_MAX];
	char		 entry[CLIENT_HOST_MAX + 8];
	size_t		 linesz = 0, klen = 0, kcap = 0, n;
	const char	*kv[] = { "server", NULL, NULL };
	uint16_t	 eport;
	int		 rv, removed = 0, matches;

	if ((rv = localfile_fopen("known servers file", file, &f, err,
	    errsz)) == -1)
		return -1;
	while (rv == 0 && getline(&line, &linesz, f) != -1) {
		p = line + strspn(line, " \t");
		n = strcspn(p, " \t\r\n");
		matches = 0;
		if (*p != '#' && n > 0 && n < sizeof(entry)) {
			memcpy(entry, p, n);
			entry[n] = '\0';
			matches = split_entry(entry, ehost, sizeof(ehost),
			    &eport) == 0 && (port == 0 || eport == port);
			if (matches && strcasecmp(ehost, host) == 0) {
				forgotten(entry, p + n);
				removed++;
				continue;
			}
			if (matches && same_machine(ehost, host)) {
				kv[1] = entry;
				out_event(NULL, "pinned_separately", kv, "kept "
				    "%s: the same machine as %s, but pinned "
				    "separately (forget-server %s to remove "
				    "it too)", entry, host, entry);
			}
		}
		n = strlen(line);
		if (klen + n + 1 > kcap) {
			kcap = (klen + n + 1) * 2;
			keep = xreallocarray(keep, kcap, 1);
		}
		memcpy(keep + klen, line, n);
		klen += n;
	}
	if (rv == 0 && ferror(f)) {
		(void)snprintf(err, errsz, "%s: read error", file);
		removed = -1;
	}
	if (rv == 0)
		(void)fclose(f);
	free(line);
	if (removed > 0 && localfile_replace(file, keep != NULL ? keep : "",
	    klen, err, errsz) == -1)
		removed = -1;
	free(keep);
	if (removed == 0) {
		kv[1] = host;
		out_event(NULL, "not_found", kv, "no key pinned for %s%s in %s",
		    host, port == 0 ? " on any port" : "", file);
	}
	return removed;
}
