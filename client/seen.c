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

#define SEEN_EPOCH_KEY		"epoch"
/* Slots of the index: a power of two, at least three per entry. */
#define SEEN_INDEX	32768

void
seen_free(struct seen *s)
{
	free(s->v);
	free(s->index);
	memset(s, 0, sizeof(*s));
}

/* FNV-1a: keys are short names; the index only needs them spread. */
static size_t
slot_of(const char *key)
{
	uint32_t	 h = 2166136261u;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 16777619u;
	}
	return h & (SEEN_INDEX - 1);
}

static void
index_put(struct seen *s, size_t i)
{
	size_t	 slot = slot_of(s->v[i].key);

	while (s->index[slot] != 0)
		slot = (slot + 1) & (SEEN_INDEX - 1);
	s->index[slot] = (uint32_t)i + 1;
}

static void
index_rebuild(struct seen *s)
{
	size_t	 i;

	memset(s->index, 0, SEEN_INDEX * sizeof(*s->index));
	for (i = 0; i < s->n; i++)
		index_put(s, i);
}

static int
used_cmp(const void *a, const void *b)
{
	const struct seen_entry	*ea = a, *eb = b;

	return ea->used < eb->used ? -1 : ea->used > eb->used;
}

/*
 * Full: forget the tenth least recently used marks at once.  A server
 * that floods rooms then costs us their marks (what was shown there may
 * be shown again), never the ability to follow a new room.
 */
static void
evict(struct seen *s)
{
	size_t	 drop = SEEN_MAX_ENTRIES / 10;

	qsort(s->v, s->n, sizeof(*s->v), used_cmp);
	memmove(s->v, s->v + drop, (s->n - drop) * sizeof(*s->v));
	s->n -= drop;
	s->evicted += drop;
	index_rebuild(s);
}

/* The entry of key, found through the index; NULL with create 0. */
struct seen_entry *
seen_get(struct seen *s, const char *key, int create)
{
	struct seen_entry	*e;
	size_t			 slot;

	if (s->index == NULL)
		s->index = xcalloc(SEEN_INDEX, sizeof(*s->index));
	for (slot = slot_of(key); s->index[slot] != 0;
	    slot = (slot + 1) & (SEEN_INDEX - 1)) {
		e = &s->v[s->index[slot] - 1];
		if (strcmp(e->key, key) == 0) {
			e->used = ++s->clock;
			return e;
		}
	}
	if (!create || strlen(key) >= sizeof(s->v[0].key))
		return NULL;
	if (s->n >= SEEN_MAX_ENTRIES)
		evict(s);
	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 16 : s->cap * 2;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	e = &s->v[s->n];
	memset(e, 0, sizeof(*e));
	(void)str_copy(e->key, key, sizeof(e->key));
	e->used = ++s->clock;
	index_put(s, s->n);
	s->n++;
	return e;
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

/*
 * A missing file is an empty table: the first run.  A line that is not
 * ours is an error; a seq above the bound, or a room past the table's
 * size (both could only come from a server, through an older client) is
 * skipped and counted: the client must start, whatever a server sent.
 */
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
			if (errno == 0 && *end == '\0' && valid_key(key))
				n = 0;
		}
		if (n == -1) {
			(void)snprintf(err, errsz, "%s: line %zu is not "
			    "\"#room seq\"", file, lineno);
			(void)fclose(fp);
			return -1;
		}
		if (v > SEEN_SEQ_MAX || ((e = seen_get(s, key, 0)) == NULL &&
		    (s->n >= SEEN_MAX_ENTRIES ||
		    (e = seen_get(s, key, 1)) == NULL))) {
			s->skipped++;
			continue;
		}
		if (v > e->shown)
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
 * Written whole, synced, and renamed over the old one
 * (localfile_replace), so a client killed, or a machine losing power, at
 * any moment leaves either the old or the new table: the DELIVERED that
 * follows never runs ahead of what is on disk.
 */
int
seen_save(const struct seen *s, const char *file, char *err, size_t errsz)
{
	char	*buf = NULL, hex[2 * EPOCH_LEN + 1];
	FILE	*fp;
	size_t	 i, len = 0;
	int	 bad, rv;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		(void)snprintf(err, errsz, "%s: %s", file, strerror(errno));
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
	bad = ferror(fp);
	if (fclose(fp) == EOF || bad) {
		(void)snprintf(err, errsz, "%s: out of memory", file);
		free(buf);
		return -1;
	}
	rv = localfile_replace(file, buf, len, err, errsz);
	free(buf);
	return rv;
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
