/*
 * history.h: the client's local history, an SQLite file in the data
 * directory whose rows are sealed (AES-256-GCM) under a key that is
 * itself sealed to the identity, like the other local files.
 */
#ifndef SC_HISTORY_H
#define SC_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define HISTORY_KEY_LABEL	"history-key"	/* localfile label */
#define HISTORY_CONV_MAX	(ROOM_MAX_LEN + 1)	/* "#room" or "@user" */
#define HISTORY_TEXT_MAX	(256 * 1024)	/* bytes of one message */
#define HISTORY_PAGE_MAX	1000	/* rows in one page */
#define HISTORY_SCAN_MAX	200000	/* rows one search may read */
#define HISTORY_STATE_MAX	65536	/* bytes of one state blob */

enum history_kind {
	HIST_MESSAGE = 1,	/* in a room */
	HIST_DIRECT = 2,	/* a direct message, either way */
	HIST_JOIN = 3,
	HIST_PART = 4,
};

struct hist_rec {
	int64_t		 id;		/* set when read */
	uint64_t	 ts;		/* ms since the epoch */
	uint64_t	 seq;		/* the server's, 0 if none */
	uint8_t		 kind;
	char		 conv[HISTORY_CONV_MAX + 1];
	char		 from[NAME_MAX_LEN + 1];
	const char	*text;		/* not NUL-terminated */
	size_t		 len;
};

struct history;

/* Called oldest first; a non-zero return stops the walk. */
typedef int history_cb(const struct hist_rec *, void *);

/*
 * Open (or create) db, with the row key in keyfile sealed to
 * key_material.  A key file that does not open (another identity, or
 * altered) is an error; a database without its key file is unreadable
 * and is started afresh.
 */
int	 history_open(struct history **, const char *db, const char *keyfile,
	    const uint8_t key_material[32], char *err, size_t errsz);
void	 history_close(struct history *);
/* *id (if not NULL) gets the new row's id, for paging back from it. */
int	 history_add(struct history *, const struct hist_rec *, int64_t *id,
	    char *err, size_t errsz);
/* Up to n rows of conv before row id before (0: the newest). */
int	 history_page(struct history *, const char *conv, int64_t before,
	    size_t n, history_cb *, void *);
/* Rows whose text holds needle (ASCII case folded), newest max of them. */
int	 history_search(struct history *, const char *needle, size_t max,
	    history_cb *, void *, size_t *found);
/* Delete rows older than ts_ms; returns how many, or -1. */
int64_t	 history_prune(struct history *, uint64_t ts_ms);
int64_t	 history_count(struct history *);
/*
 * Erase everything: the files go, and a new key is made, so nothing
 * written before can be read even from a copy of the old file.
 */
int	 history_clear(struct history *, const uint8_t key_material[32],
	    char *err, size_t errsz);
/* Small named blobs (the window list), sealed like the rows. */
int	 history_state_put(struct history *, const char *name,
	    const uint8_t *data, size_t len);
/* 0 with *data (free it), 1 if none, -1. */
int	 history_state_get(struct history *, const char *name,
	    uint8_t **data, size_t *len);

#endif
