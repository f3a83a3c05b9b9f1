/*
 * seen.c: the last sequence number shown per room and for the inbox, and
 * the NAME@HOST_PORT.seen file that keeps them across runs of the client,
 * so that nothing is shown twice, even by a client started again.  The
 * marks count in one server database: when its identity (the epoch in
 * WELCOME) changes, they start again from nothing, so that nothing is
 * hidden either.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "localfile.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

#define SEEN_MAX_ENTRIES	100000	/* a bigger file is not ours */
#define SEEN_EPOCH_KEY		"epoch"

void
seen_free(struct seen *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

struct seen_entry *
seen_get(struct seen *s, const char *key, int create)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0)
			return &s->v[i];
	if (!create || strlen(key) >= sizeof(s->v[0].key))
		return NULL;
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 16 : s->cap * 2;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	(void)str_copy(s->v[s->n].key, key, sizeof(s->v[0].key));
	return &s->v[s->n++];
}

/* A key is a room name, or SEEN_INBOX for direct messages. */
static int
valid_key(const char *key)
{
	char	 tmp[ROOM_MAX_LEN + 1];

	if (strcmp(key, SEEN_INBOX) == 0)
		return 1;
	if (str_copy(tmp, key, sizeof(tmp)) == -1)
		return 0;
	return proto_fold_room(tmp) == 0 && strcmp(tmp, key) == 0;
}

/* A missing file is an empty table: the first run. */
int
seen_load(struct seen *s, const char *file, char *err, size_t errsz)
{
	FILE			*fp;
	char			 line[256], key[ROOM_MAX_LEN + 1], *end;
	struct seen_entry	*e;
	unsigned long long	 v;
	size_t			 lineno = 0;
	int			 n, rv;

	/* Whoever can write it can hide messages from us: ours, 0600. */
	if ((rv = localfile_fopen("shown-messages file", file, &fp, err,
	    errsz)) != 0)
		return rv == 1 ? 0 : -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (strncmp(line, SEEN_EPOCH_KEY " ",
		    strlen(SEEN_EPOCH_KEY) + 1) == 0) {
			end = line + strlen(SEEN_EPOCH_KEY) + 1;
			if (hex_decode(end, strlen(end), s->epoch,
			    sizeof(s->epoch)) == -1) {
				(void)snprintf(err, errsz, "%s: line %zu: not "
				    "an epoch", file, lineno);
				(void)fclose(fp);
				return -1;
			}
			s->has_epoch = 1;
			continue;
		}
		n = -1;
		end = strchr(line, ' ');
		if (end != NULL && (size_t)(end - line) < sizeof(key)) {
			memcpy(key, line, (size_t)(end - line));
			key[end - line] = '\0';
			errno = 0;
			v = strtoull(end + 1, &end, 10);
			if (errno == 0 && *end == '\0' && valid_key(key) &&
			    lineno <= SEEN_MAX_ENTRIES)
				n = 0;
		}
		if (n == -1) {
			(void)snprintf(err, errsz, "%s: line %zu is not "
			    "\"#room seq\"", file, lineno);
			(void)fclose(fp);
			return -1;
		}
		if ((e = seen_get(s, key, 1)) != NULL && v > e->shown)
			e->shown = v;
	}
	if (ferror(fp)) {
		(void)snprintf(err, errsz, "%s: %s", file, strerror(errno));
		(void)fclose(fp);
		return -1;
	}
	(void)fclose(fp);
	return 0;
}

/*
 * Written whole to a temporary file and renamed over the old one, so a
 * client killed at any moment leaves either the old or the new table.
 */
int
seen_save(const struct seen *s, const char *file, char *err, size_t errsz)
{
	char	*tmp = NULL, hex[2 * EPOCH_LEN + 1];
	FILE	*fp;
	size_t	 i;
	int	 fd, bad;

	(void)xasprintf(&tmp, "%s.tmp", file);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		(void)snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		(void)snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		(void)close(fd);
		(void)unlink(tmp);
		free(tmp);
		return -1;
	}
	if (s->has_epoch) {
		hex_encode(s->epoch, sizeof(s->epoch), hex);
		(void)fprintf(fp, "%s %s\n", SEEN_EPOCH_KEY, hex);
	}
	for (i = 0; i < s->n; i++)
		if (s->v[i].shown > 0)
			(void)fprintf(fp, "%s %" PRIu64 "\n", s->v[i].key,
			    s->v[i].shown);
	bad = fflush(fp) == EOF || ferror(fp);
	if (fclose(fp) == EOF)
		bad = 1;
	if (bad || rename(tmp, file) == -1) {
		(void)snprintf(err, errsz, "%s: %s", file, strerror(errno));
		(void)unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/*
 * The server's database identity, from WELCOME.  Marks made in another
 * database (or before the server said which) would hide its messages,
 * whose seqs start again from 1: they are all reset.  Returns
 * SEEN_EPOCH_SAME, SEEN_EPOCH_NEW (no mark to reset) or SEEN_EPOCH_RESET.
 */
int
seen_epoch(struct seen *s, const uint8_t *epoch)
{
	size_t	 i;
	int	 rv = SEEN_EPOCH_NEW;

	if (s->has_epoch && memcmp(s->epoch, epoch, sizeof(s->epoch)) == 0)
		return SEEN_EPOCH_SAME;
	for (i = 0; i < s->n; i++) {
		if (s->v[i].shown > 0 || s->v[i].told > 0)
			rv = SEEN_EPOCH_RESET;
		s->v[i].shown = s->v[i].told = 0;
	}
	memcpy(s->epoch, epoch, sizeof(s->epoch));
	s->has_epoch = 1;
	return rv;
}
