/*
 * history.c: decrypted messages kept between runs, for scrollback and
 * /search.  Only ciphertext reaches the disk: each row is sealed with
 * AES-256-GCM under a random key kept in a local file sealed to the
 * identity, and rows are found by a keyed hash of their conversation.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "crypto.h"
#include "history.h"
#include "localfile.h"
#include "util.h"
#include "xmalloc.h"

#define INFO_ROW	"securechat/v1/history/row"
#define INFO_TAG	"securechat/v1/history/conv"
#define AAD_STATE	"securechat/v1/history/state"
#define TAG_LEN		16
#define HDR_LEN		(1 + 8 + 1 + 1)	/* kind, seq, conv and from lengths */
#define SCHEMA_VERSION	1

struct history {
	sqlite3		*db;
	char		*dbpath;
	char		*keypath;
	uint8_t		 row_key[32];
	uint8_t		 tag_key[32];
};

static const char *schema =
    "CREATE TABLE IF NOT EXISTS msgs ("
    " id INTEGER PRIMARY KEY,"
    " conv BLOB NOT NULL,"		/* keyed hash of "#room" or "@user" */
    " ts INTEGER NOT NULL,"		/* ms, for retention */
    " nonce BLOB NOT NULL,"
    " body BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS msgs_conv ON msgs(conv, id);"
    "CREATE INDEX IF NOT EXISTS msgs_ts ON msgs(ts);"
    "CREATE TABLE IF NOT EXISTS state ("
    " name BLOB PRIMARY KEY,"
    " nonce BLOB NOT NULL,"
    " body BLOB NOT NULL);";

static void
seterr(char *err, size_t errsz, const char *what, const char *why)
{
	(void)snprintf(err, errsz, "%s: %s", what, why);
}

static int
keys_from(struct history *h, const uint8_t master[32])
{
	return crypto_hkdf_sha256(NULL, 0, master, 32, INFO_ROW,
	    sizeof(INFO_ROW) - 1, h->row_key, 32) == -1 ||
	    crypto_hkdf_sha256(NULL, 0, master, 32, INFO_TAG,
	    sizeof(INFO_TAG) - 1, h->tag_key, 32) == -1 ? -1 : 0;
}

static void
conv_tag(const struct history *h, const char *conv, uint8_t tag[TAG_LEN])
{
	uint8_t	 mac[32];

	if (crypto_hmac_sha256(h->tag_key, 32, conv, strlen(conv), mac) == -1)
		memset(mac, 0, sizeof(mac));	/* found by nothing */
	memcpy(tag, mac, TAG_LEN);
}

static void
unlink_db(const char *db)
{
	char	*p = NULL;

	(void)unlink(db);
	(void)xasprintf(&p, "%s-wal", db);
	(void)unlink(p);
	free(p);
	(void)xasprintf(&p, "%s-shm", db);
	(void)unlink(p);
	free(p);
}

/*
 * The row key from its file, or a new one (and then any old database,
 * which nothing can read any more, goes).
 */
static int
load_key(struct history *h, const uint8_t km[32], char *err, size_t errsz)
{
	uint8_t	 master[32], *data = NULL;
	size_t	 len = 0;
	int	 r;

	r = localfile_read(h->keypath, km, HISTORY_KEY_LABEL, &data, &len,
	    err, errsz);
	if (r == -1)
		return -1;
	if (r == 0 && len != sizeof(master)) {
		OPENSSL_clear_free(data, len);
		seterr(err, errsz, h->keypath, "not a history key");
		return -1;
	}
	if (r == 0) {
		memcpy(master, data, sizeof(master));
		OPENSSL_clear_free(data, len);
	} else {
		unlink_db(h->dbpath);
		if (crypto_random(master, sizeof(master)) == -1 ||
		    localfile_write(h->keypath, km, HISTORY_KEY_LABEL, master,
		    sizeof(master), err, errsz) == -1) {
			OPENSSL_cleanse(master, sizeof(master));
			return -1;
		}
	}
	r = keys_from(h, master);
	OPENSSL_cleanse(master, sizeof(master));
	if (r == -1)
		seterr(err, errsz, h->keypath, "cannot derive the row keys");
	return r;
}

/* The database file, made 0600 before SQLite (whose -wal copies it) opens it. */
static int
make_file(const char *path, char *err, size_t errsz)
{
	int	 fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || fchmod(fd, 0600) == -1) {
		seterr(err, errsz, path, strerror(errno));
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	(void)close(fd);
	return 0;
}

static int
open_db(struct history *h, char *err, size_t errsz)
{
	char	*msg = NULL, sql[64];

	if (make_file(h->dbpath, err, errsz) == -1)
		return -1;
	if (sqlite3_open_v2(h->dbpath, &h->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		seterr(err, errsz, h->dbpath, h->db != NULL ?
		    sqlite3_errmsg(h->db) : "cannot open");
		return -1;
	}
	(void)sqlite3_busy_timeout(h->db, 2000);
	(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;",
	    SCHEMA_VERSION);
	/* Deleted rows are overwritten, not left in free pages. */
	if (sqlite3_exec(h->db, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA secure_delete = ON;", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(h->db, schema, NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(h->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		seterr(err, errsz, h->dbpath, msg != NULL ? msg :
		    sqlite3_errmsg(h->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static void
close_db(struct history *h)
{
	if (h->db != NULL && sqlite3_close(h->db) != SQLITE_OK)
		(void)sqlite3_close_v2(h->db);
	h->db = NULL;
}

int
history_open(struct history **hp, const char *db, const char *keyfile,
    const uint8_t km[32], char *err, size_t errsz)
{
	struct history	*h;

	*hp = NULL;
	h = xcalloc(1, sizeof(*h));
	h->dbpath = xstrdup(db);
	h->keypath = xstrdup(keyfile);
	if (load_key(h, km, err, errsz) == -1 ||
	    open_db(h, err, errsz) == -1) {
		history_close(h);
		return -1;
	}
	*hp = h;
	return 0;
}

void
history_close(struct history *h)
{
	if (h == NULL)
		return;
	close_db(h);
	OPENSSL_cleanse(h->row_key, sizeof(h->row_key));
	OPENSSL_cleanse(h->tag_key, sizeof(h->tag_key));
	free(h->dbpath);
	free(h->keypath);
	free(h);
}

/* INFO_ROW || tag || ts: a row cannot be moved to another conversation or time. */
static size_t
row_aad(const uint8_t tag[TAG_LEN], uint64_t ts, uint8_t *aad)
{
	memcpy(aad, INFO_ROW, sizeof(INFO_ROW) - 1);
	memcpy(aad + sizeof(INFO_ROW) - 1, tag, TAG_LEN);
	be64_put(aad + sizeof(INFO_ROW) - 1 + TAG_LEN, ts);
	return sizeof(INFO_ROW) - 1 + TAG_LEN + 8;
}

int
history_add(struct history *h, const struct hist_rec *r, int64_t *id,
    char *err, size_t errsz)
{
	sqlite3_stmt	*st = NULL;
	uint8_t		 tag[TAG_LEN], nonce[CRYPTO_AEAD_NONCE_LEN];
	uint8_t		 aad[sizeof(INFO_ROW) + TAG_LEN + 8], *pt, *ct;
	size_t		 clen = strlen(r->conv), flen = strlen(r->from), n;
	int		 rc = -1;

	if (clen == 0 || clen > HISTORY_CONV_MAX || flen > NAME_MAX_LEN ||
	    r->len > HISTORY_TEXT_MAX) {
		seterr(err, errsz, h->dbpath, "record out of bounds");
		return -1;
	}
	n = HDR_LEN + clen + flen + r->len;
	pt = xmalloc(n);
	ct = xmalloc(n + CRYPTO_AEAD_TAG_LEN);
	pt[0] = r->kind;
	be64_put(pt + 1, r->seq);
	pt[9] = (uint8_t)clen;
	pt[10] = (uint8_t)flen;
	memcpy(pt + HDR_LEN, r->conv, clen);
	memcpy(pt + HDR_LEN + clen, r->from, flen);
	if (r->len > 0)
		memcpy(pt + HDR_LEN + clen + flen, r->text, r->len);
	conv_tag(h, r->conv, tag);
	if (crypto_random(nonce, sizeof(nonce)) == -1 ||
	    crypto_aead_seal(h->row_key, nonce, aad, row_aad(tag, r->ts, aad),
	    pt, n, ct) == -1) {
		seterr(err, errsz, h->dbpath, "cannot seal a row");
		goto out;
	}
	if (sqlite3_prepare_v2(h->db, "INSERT INTO msgs (conv, ts, nonce, "
	    "body) VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 1, tag, TAG_LEN, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->ts) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, nonce, sizeof(nonce), SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_blob(st, 4, ct, (int)(n + CRYPTO_AEAD_TAG_LEN),
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		seterr(err, errsz, h->dbpath, sqlite3_errmsg(h->db));
		goto out;
	}
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(h->db);
	rc = 0;
 out:
	sqlite3_finalize(st);
	OPENSSL_clear_free(pt, n);
	free(ct);
	return rc;
}

/*
 * Open one row into r (its strings point into buf, n + 1 bytes).  A row
 * that does not open was altered, or sealed under another key: skipped.
 */
static int
open_row(struct history *h, sqlite3_stmt *st, struct hist_rec *r,
    uint8_t **buf, size_t *bufsz)
{
	uint8_t		 aad[sizeof(INFO_ROW) + TAG_LEN + 8];
	const uint8_t	*tag, *nonce, *ct;
	size_t		 ctlen, n, clen, flen;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	tag = sqlite3_column_blob(st, 1);
	r->ts = (uint64_t)sqlite3_column_int64(st, 2);
	nonce = sqlite3_column_blob(st, 3);
	ct = sqlite3_column_blob(st, 4);
	ctlen = (size_t)sqlite3_column_bytes(st, 4);
	if (tag == NULL || sqlite3_column_bytes(st, 1) != TAG_LEN ||
	    nonce == NULL || sqlite3_column_bytes(st, 3) !=
	    CRYPTO_AEAD_NONCE_LEN || ct == NULL ||
	    ctlen < CRYPTO_AEAD_TAG_LEN + HDR_LEN)
		return -1;
	n = ctlen - CRYPTO_AEAD_TAG_LEN;
	if (n + 1 > *bufsz) {
		OPENSSL_clear_free(*buf, *bufsz);
		*bufsz = n + 1;
		*buf = xmalloc(*bufsz);
	}
	if (crypto_aead_open(h->row_key, nonce, aad, row_aad(tag, r->ts, aad),
	    ct, ctlen, *buf) == -1)
		return -1;
	(*buf)[n] = '\0';
	r->kind = (*buf)[0];
	r->seq = be64_get(*buf + 1);
	clen = (*buf)[9];
	flen = (*buf)[10];
	if (clen == 0 || clen > HISTORY_CONV_MAX || flen > NAME_MAX_LEN ||
	    HDR_LEN + clen + flen > n)
		return -1;
	memcpy(r->conv, *buf + HDR_LEN, clen);
	r->conv[clen] = '\0';
	memcpy(r->from, *buf + HDR_LEN + clen, flen);
	r->from[flen] = '\0';
	r->text = (const char *)*buf + HDR_LEN + clen + flen;
	r->len = n - HDR_LEN - clen - flen;
	return 0;
}

struct page {
	struct hist_rec	 rec;
	uint8_t		*buf;
	size_t		 bufsz;
};

int
history_page(struct history *h, const char *conv, int64_t before, size_t n,
    history_cb *cb, void *arg)
{
	sqlite3_stmt	*st = NULL;
	struct page	*v;
	uint8_t		 tag[TAG_LEN];
	size_t		 got = 0, i;
	int		 rc = -1, s;

	if (n > HISTORY_PAGE_MAX)
		n = HISTORY_PAGE_MAX;
	v = xcalloc(n + 1, sizeof(*v));
	conv_tag(h, conv, tag);
	if (sqlite3_prepare_v2(h->db, "SELECT id, conv, ts, nonce, body FROM "
	    "msgs WHERE conv = ? AND id < ? ORDER BY id DESC LIMIT ?", -1,
	    &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 1, tag, TAG_LEN, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, before > 0 ? before : INT64_MAX) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)n) != SQLITE_OK)
		goto out;
	while ((s = sqlite3_step(st)) == SQLITE_ROW)
		if (open_row(h, st, &v[got].rec, &v[got].buf,
		    &v[got].bufsz) == 0 && strcmp(v[got].rec.conv, conv) == 0)
			got++;
	if (s != SQLITE_DONE)
		goto out;
	rc = 0;
	/* Newest first from the database; oldest first to the caller. */
	for (i = got; i > 0; i--)
		if (cb(&v[i - 1].rec, arg) != 0)
			break;
 out:
	sqlite3_finalize(st);
	for (i = 0; i <= n; i++)
		OPENSSL_clear_free(v[i].buf, v[i].bufsz);
	free(v);
	return rc;
}

/* ASCII case folded: names and commands are ASCII, and so are most searches. */
static int
contains(const char *hay, size_t hlen, const char *needle)
{
	size_t	 nlen = strlen(needle), i, j;
	char	 a, b;

	for (i = 0; nlen <= hlen && i <= hlen - nlen; i++) {
		for (j = 0; j < nlen; j++) {
			a = hay[i + j];
			b = needle[j];
			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (b >= 'A' && b <= 'Z')
				b = (char)(b - 'A' + 'a');
			if (a != b)
				break;
		}
		if (j == nlen)
			return 1;
	}
	return 0;
}

int
history_search(struct history *h, const char *needle, size_t max,
    history_cb *cb, void *arg, size_t *found)
{
	sqlite3_stmt	*st = NULL;
	struct page	*v;
	size_t		 got = 0, scanned = 0, i;
	int		 rc = -1, s;

	*found = 0;
	if (max > HISTORY_PAGE_MAX)
		max = HISTORY_PAGE_MAX;
	v = xcalloc(max + 1, sizeof(*v));
	if (sqlite3_prepare_v2(h->db, "SELECT id, conv, ts, nonce, body FROM "
	    "msgs ORDER BY id DESC", -1, &st, NULL) != SQLITE_OK)
		goto out;
	while (got < max && scanned++ < HISTORY_SCAN_MAX &&
	    (s = sqlite3_step(st)) == SQLITE_ROW)
		if (open_row(h, st, &v[got].rec, &v[got].buf,
		    &v[got].bufsz) == 0 && (v[got].rec.kind == HIST_MESSAGE ||
		    v[got].rec.kind == HIST_DIRECT) &&
		    contains(v[got].rec.text, v[got].rec.len, needle))
			got++;
	rc = 0;
	*found = got;
	for (i = got; i > 0; i--)
		if (cb(&v[i - 1].rec, arg) != 0)
			break;
 out:
	sqlite3_finalize(st);
	for (i = 0; i <= max; i++)
		OPENSSL_clear_free(v[i].buf, v[i].bufsz);
	free(v);
	return rc;
}

static int64_t
exec_count(struct history *h, const char *sql, int64_t arg)
{
	sqlite3_stmt	*st = NULL;
	int64_t		 n = -1;

	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK ||
	    (arg >= 0 && sqlite3_bind_int64(st, 1, arg) != SQLITE_OK))
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		n = sqlite3_column_int64(st, 0);
		break;
	case SQLITE_DONE:
		n = sqlite3_changes(h->db);
		break;
	default:
		break;
	}
 out:
	sqlite3_finalize(st);
	return n;
}

int64_t
history_prune(struct history *h, uint64_t ts_ms)
{
	return exec_count(h, "DELETE FROM msgs WHERE ts < ?",
	    (int64_t)(ts_ms > INT64_MAX ? INT64_MAX : ts_ms));
}

int64_t
history_count(struct history *h)
{
	return exec_count(h, "SELECT count(*) FROM msgs", -1);
}

int
history_clear(struct history *h, const uint8_t km[32], char *err,
    size_t errsz)
{
	close_db(h);
	OPENSSL_cleanse(h->row_key, sizeof(h->row_key));
	OPENSSL_cleanse(h->tag_key, sizeof(h->tag_key));
	unlink_db(h->dbpath);
	if (unlink(h->keypath) == -1 && errno != ENOENT) {
		seterr(err, errsz, h->keypath, strerror(errno));
		return -1;
	}
	if (load_key(h, km, err, errsz) == -1 || open_db(h, err, errsz) == -1)
		return -1;
	return 0;
}

static size_t
state_aad(const uint8_t tag[TAG_LEN], uint8_t *aad)
{
	memcpy(aad, AAD_STATE, sizeof(AAD_STATE) - 1);
	memcpy(aad + sizeof(AAD_STATE) - 1, tag, TAG_LEN);
	return sizeof(AAD_STATE) - 1 + TAG_LEN;
}

int
history_state_put(struct history *h, const char *name, const uint8_t *data,
    size_t len)
{
	sqlite3_stmt	*st = NULL;
	uint8_t		 tag[TAG_LEN], nonce[CRYPTO_AEAD_NONCE_LEN];
	uint8_t		 aad[sizeof(AAD_STATE) + TAG_LEN], *ct;
	int		 rc = -1;

	if (h->db == NULL || len > HISTORY_STATE_MAX)
		return -1;
	ct = xmalloc(len + CRYPTO_AEAD_TAG_LEN);
	conv_tag(h, name, tag);
	if (crypto_random(nonce, sizeof(nonce)) == -1 ||
	    crypto_aead_seal(h->row_key, nonce, aad, state_aad(tag, aad), data,
	    len, ct) == -1)
		goto out;
	if (sqlite3_prepare_v2(h->db, "INSERT OR REPLACE INTO state (name, "
	    "nonce, body) VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 1, tag, TAG_LEN, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 2, nonce, sizeof(nonce), SQLITE_STATIC) !=
	    SQLITE_OK ||
	    sqlite3_bind_blob(st, 3, ct, (int)(len + CRYPTO_AEAD_TAG_LEN),
	    SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		goto out;
	rc = 0;
 out:
	sqlite3_finalize(st);
	free(ct);
	return rc;
}

int
history_state_get(struct history *h, const char *name, uint8_t **data,
    size_t *len)
{
	sqlite3_stmt	*st = NULL;
	uint8_t		 tag[TAG_LEN], aad[sizeof(AAD_STATE) + TAG_LEN];
	const uint8_t	*nonce, *ct;
	size_t		 ctlen;
	int		 rc = -1, s;

	*data = NULL;
	*len = 0;
	if (h->db == NULL)
		return -1;
	conv_tag(h, name, tag);
	if (sqlite3_prepare_v2(h->db, "SELECT nonce, body FROM state WHERE "
	    "name = ?", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 1, tag, TAG_LEN, SQLITE_STATIC) != SQLITE_OK)
		goto out;
	if ((s = sqlite3_step(st)) == SQLITE_DONE) {
		rc = 1;
		goto out;
	}
	if (s != SQLITE_ROW)
		goto out;
	nonce = sqlite3_column_blob(st, 0);
	ct = sqlite3_column_blob(st, 1);
	ctlen = (size_t)sqlite3_column_bytes(st, 1);
	if (nonce == NULL || sqlite3_column_bytes(st, 0) !=
	    CRYPTO_AEAD_NONCE_LEN || ct == NULL || ctlen < CRYPTO_AEAD_TAG_LEN ||
	    ctlen > HISTORY_STATE_MAX + CRYPTO_AEAD_TAG_LEN)
		goto out;
	*data = xmalloc(ctlen - CRYPTO_AEAD_TAG_LEN + 1);
	if (crypto_aead_open(h->row_key, nonce, aad, state_aad(tag, aad), ct,
	    ctlen, *data) == -1) {
		free(*data);
		*data = NULL;
		goto out;
	}
	*len = ctlen - CRYPTO_AEAD_TAG_LEN;
	rc = 0;
 out:
	sqlite3_finalize(st);
	return rc;
}
