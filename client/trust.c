/*
 * trust.c: known_users, one "HOSTPORT NAME KEY pinned|verified [changed
 * KEY]" line per user and server, kept sorted; and the safety numbers.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "localfile.h"
#include "proto.h"
#include "trust.h"
#include "util.h"

#define LINE_MAX_LEN	512	/* the longest valid line is under 450 */
#define FILE_MAX	(64 * 1024 * 1024)
#define FILE_HEADER	"# securechat known_users: HOSTPORT NAME KEY " \
			    "pinned|verified [changed NEW_KEY]\n"
#define SAFETY_LABEL	"securechat/v1/safety-number"
#define SAFETY_ITER	5200	/* makes a search for a collision costly */

static int
server_ok(const char *s)
{
	size_t	 i, len = strlen(s);

	if (len == 0 || len >= TRUST_SERVER_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!isgraph((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A valid user name, already folded: the server folds before it sends. */
static int
name_ok(const char *s)
{
	char	 folded[NAME_MAX_LEN + 1];

	if (str_copy(folded, s, sizeof(folded)) == -1 ||
	    proto_fold_user(folded) == -1)
		return 0;
	return strcmp(folded, s) == 0;
}

static int
entry_cmp(const char *server, const char *name, const struct trust_entry *e)
{
	int	 c;

	if ((c = strcmp(server, e->server)) != 0)
		return c;
	return strcmp(name, e->name);
}

static int
qsort_cmp(const void *a, const void *b)
{
	const struct trust_entry	*ea = a;

	return entry_cmp(ea->server, ea->name, b);
}

/* Binary search: 1 and its index if found, else 0 and where it goes. */
static int
find(const struct trust *t, const char *server, const char *name,
    size_t *idx)
{
	size_t	 lo = 0, hi = t->n, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = entry_cmp(server, name, &t->v[mid])) == 0) {
			*idx = mid;
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*idx = lo;
	return 0;
}

/* A new zeroed entry at idx, the rest moved up; NULL when full. */
static struct trust_entry *
insert_at(struct trust *t, size_t idx)
{
	struct trust_entry	*v;
	size_t			 cap;

	if (t->n >= TRUST_MAX)
		return NULL;
	if (t->n == t->cap) {
		cap = t->cap == 0 ? 16 : t->cap * 2;
		if ((v = reallocarray(t->v, cap, sizeof(*v))) == NULL)
			return NULL;
		t->v = v;
		t->cap = cap;
	}
	memmove(&t->v[idx + 1], &t->v[idx], (t->n - idx) * sizeof(*t->v));
	t->n++;
	memset(&t->v[idx], 0, sizeof(*t->v));
	return &t->v[idx];
}

/* One line, NUL-terminated: 0 (appended, or a comment), -1 bad, -2 full. */
static int
parse_line(struct trust *t, char *line)
{
	struct trust_entry	 e, *slot;
	char			*tok[7], *save = NULL, *p;
	size_t			 ntok = 0;

	line += strspn(line, " \t");
	if (*line == '\0' || *line == '#' || *line == '\r')
		return 0;
	for (p = strtok_r(line, " \t\r", &save); p != NULL && ntok < 7;
	    p = strtok_r(NULL, " \t\r", &save))
		tok[ntok++] = p;
	memset(&e, 0, sizeof(e));
	if ((ntok != 4 && ntok != 6) || !server_ok(tok[0]) ||
	    !name_ok(tok[1]) || hex_decode(tok[2], strlen(tok[2]), e.sign_pub, 32) == -1)
		return -1;
	if (strcmp(tok[3], "verified") == 0)
		e.verified = 1;
	else if (strcmp(tok[3], "pinned") != 0)
		return -1;
	if (ntok == 6) {
		if (strcmp(tok[4], "changed") != 0 ||
		    hex_decode(tok[5], strlen(tok[5]),
		    e.new_sign_pub, 32) == -1)
			return -1;
		e.changed = 1;
	}
	(void)str_copy(e.server, tok[0], sizeof(e.server));
	(void)str_copy(e.name, tok[1], sizeof(e.name));
	if ((slot = insert_at(t, t->n)) == NULL)
		return -2;
	*slot = e;
	return 0;
}

static int
parse(struct trust *t, char *buf, size_t len, char *err, size_t errsz)
{
	char	*line, *end;
	size_t	 lineno = 0;
	int	 rc = 0;

	for (line = buf; line < buf + len; line = end + 1) {
		lineno++;
		/* buf[len] is a NUL: the last newline may be missing. */
		if ((end = memchr(line, '\n', buf + len - line)) == NULL)
			end = buf + len;
		*end = '\0';
		if (strlen(line) != (size_t)(end - line) ||
		    end - line > LINE_MAX_LEN)
			rc = -1;
		else
			rc = parse_line(t, line);
		if (rc == -2) {
			(void)snprintf(err, errsz, "%s:%zu: more than %d "
			    "entries", t->path, lineno, TRUST_MAX);
			return -1;
		}
		if (rc == -1) {
			(void)snprintf(err, errsz, "%s:%zu: malformed line",
			    t->path, lineno);
			return -1;
		}
	}
	return 0;
}

int
trust_load(struct trust *t, const char *path, char *err, size_t errsz)
{
	uint8_t	*buf;
	size_t	 len, i;
	int	 rc;

	memset(t, 0, sizeof(*t));
	if ((t->path = strdup(path)) == NULL) {
		(void)snprintf(err, errsz, "out of memory");
		return -1;
	}
	rc = localfile_slurp("known users file", path, FILE_MAX, &buf, &len,
	    err, errsz);
	if (rc == 1)
		return 0;
	if (rc == -1)
		goto fail;
	rc = parse(t, (char *)buf, len, err, errsz);
	free(buf);	/* public keys only */
	if (rc == -1)
		goto fail;
	/* Written sorted, but a hand edit may not be. */
	qsort(t->v, t->n, sizeof(*t->v), qsort_cmp);
	for (i = 1; i < t->n; i++)
		if (qsort_cmp(&t->v[i - 1], &t->v[i]) == 0) {
			(void)snprintf(err, errsz, "%s: %s on %s is listed "
			    "twice", path, t->v[i].name, t->v[i].server);
			goto fail;
		}
	return 0;
 fail:
	trust_free(t);
	return -1;
}

int
trust_save(const struct trust *t, char *err, size_t errsz)
{
	const struct trust_entry	*e;
	FILE				*fp;
	char				*text = NULL, hex[65], newhex[65];
	size_t				 len = 0, i;
	int				 bad, rc;

	if ((fp = open_memstream(&text, &len)) == NULL) {
		(void)snprintf(err, errsz, "out of memory");
		return -1;
	}
	bad = fputs(FILE_HEADER, fp) == EOF;
	for (i = 0; i < t->n && !bad; i++) {
		e = &t->v[i];
		hex_encode(e->sign_pub, sizeof(e->sign_pub), hex);
		hex_encode(e->new_sign_pub, sizeof(e->new_sign_pub), newhex);
		bad = fprintf(fp, "%s %s %s %s%s%s\n", e->server, e->name, hex,
		    e->verified ? "verified" : "pinned",
		    e->changed ? " changed " : "", e->changed ? newhex : "") < 0;
	}
	if (fclose(fp) == EOF || bad) {
		(void)snprintf(err, errsz, "out of memory");
		free(text);
		return -1;
	}
	rc = localfile_replace(t->path, text, len, err, errsz);
	free(text);
	return rc;
}

void
trust_free(struct trust *t)
{
	free(t->v);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

static struct trust_entry *
lookup(const struct trust *t, const char *server, const char *name)
{
	size_t	 idx;

	return find(t, server, name, &idx) ? &t->v[idx] : NULL;
}

const struct trust_entry *
trust_get(const struct trust *t, const char *server, const char *name)
{
	return lookup(t, server, name);
}

int
trust_check(struct trust *t, const char *server, const char *name,
    const uint8_t sign_pub[32], enum trust_result *res)
{
	struct trust_entry	*e;
	size_t			 idx;

	if (!server_ok(server) || !name_ok(name))
		return -1;
	if (!find(t, server, name, &idx)) {
		if ((e = insert_at(t, idx)) == NULL)
			return -1;
		(void)str_copy(e->server, server, sizeof(e->server));
		(void)str_copy(e->name, name, sizeof(e->name));
		memcpy(e->sign_pub, sign_pub, sizeof(e->sign_pub));
		*res = TRUST_NEW;
		return 0;
	}
	e = &t->v[idx];
	if (memcmp(e->sign_pub, sign_pub, sizeof(e->sign_pub)) == 0) {
		/*
		 * A change the server no longer shows is not accepted later
		 * by mistake: /trust would take a key nobody compared.
		 */
		*res = e->changed ? TRUST_WITHDRAWN : TRUST_SAME;
		e->changed = 0;
		e->shown = 0;
		memset(e->new_sign_pub, 0, sizeof(e->new_sign_pub));
	} else if (e->changed &&
	    memcmp(e->new_sign_pub, sign_pub, sizeof(e->new_sign_pub)) == 0)
		*res = TRUST_STILL_CHANGED;
	else {
		/* The latest key shown is the one the user may accept. */
		e->changed = 1;
		e->shown = 0;
		memcpy(e->new_sign_pub, sign_pub, sizeof(e->new_sign_pub));
		*res = TRUST_CHANGED;
	}
	return 0;
}

/* The entry whose pending key is key, or NULL. */
static struct trust_entry *
pending_is(const struct trust *t, const char *server, const char *name,
    const uint8_t key[32])
{
	struct trust_entry	*e;

	if ((e = lookup(t, server, name)) == NULL || !e->changed ||
	    memcmp(e->new_sign_pub, key, sizeof(e->new_sign_pub)) != 0)
		return NULL;
	return e;
}

int
trust_accept(struct trust *t, const char *server, const char *name,
    const uint8_t key[32])
{
	struct trust_entry	*e;

	if ((e = pending_is(t, server, name, key)) == NULL)
		return -1;
	memcpy(e->sign_pub, e->new_sign_pub, sizeof(e->sign_pub));
	memset(e->new_sign_pub, 0, sizeof(e->new_sign_pub));
	e->changed = 0;
	e->shown = 0;
	e->verified = 0;	/* the new key has not been compared */
	return 0;
}

void
trust_set_shown(struct trust *t, const char *server, const char *name,
    const uint8_t key[32])
{
	struct trust_entry	*e;

	if ((e = pending_is(t, server, name, key)) != NULL)
		e->shown = 1;
}

int
trust_is_trusted(const struct trust *t, const char *server, const char *name,
    const uint8_t sign_pub[32])
{
	const struct trust_entry	*e;

	if ((e = lookup(t, server, name)) == NULL || e->changed)
		return 0;
	return memcmp(e->sign_pub, sign_pub, sizeof(e->sign_pub)) == 0;
}

int
trust_set_verified(struct trust *t, const char *server, const char *name)
{
	struct trust_entry	*e;

	/* With a change pending, which key was compared is unclear. */
	if ((e = lookup(t, server, name)) == NULL || e->changed)
		return -1;
	e->verified = 1;
	return 0;
}

/* Append u8 len || name || key to buf at *off. */
static void
put_user(uint8_t *buf, size_t *off, const char *name, size_t nlen,
    const uint8_t pub[32])
{
	buf[(*off)++] = (uint8_t)nlen;
	memcpy(buf + *off, name, nlen);
	*off += nlen;
	memcpy(buf + *off, pub, 32);
	*off += 32;
}

/*
 * 64 bytes: h = SHA-256(LABEL || user 1 || user 2), iterated over
 * h || key 1 || key 2; then h || SHA-256(LABEL "/2" || h).  The users are
 * sorted by name (then key), so both sides get the same bytes.
 */
static int
safety_hash(const char *na, const uint8_t *pa, const char *nb,
    const uint8_t *pb, uint8_t out[64])
{
	uint8_t		 buf[sizeof(SAFETY_LABEL) + 2 + 2 * (255 + 1 + 32)];
	const char	*n1 = na, *n2 = nb;
	const uint8_t	*p1 = pa, *p2 = pb;
	size_t		 l1, l2, off;
	int		 c, i;

	l1 = strlen(na);
	l2 = strlen(nb);
	if (l1 == 0 || l1 > 255 || l2 == 0 || l2 > 255)
		return -1;
	if ((c = strcmp(na, nb)) > 0 || (c == 0 && memcmp(pa, pb, 32) > 0)) {
		n1 = nb;
		n2 = na;
		p1 = pb;
		p2 = pa;
		l1 = strlen(nb);
		l2 = strlen(na);
	}
	off = sizeof(SAFETY_LABEL) - 1;
	memcpy(buf, SAFETY_LABEL, off);
	put_user(buf, &off, n1, l1, p1);
	put_user(buf, &off, n2, l2, p2);
	if (crypto_sha256(buf, off, out) == -1)
		return -1;
	memcpy(buf + 32, p1, 32);
	memcpy(buf + 64, p2, 32);
	for (i = 0; i < SAFETY_ITER; i++) {
		memcpy(buf, out, 32);
		if (crypto_sha256(buf, 96, out) == -1)
			return -1;
	}
	off = sizeof(SAFETY_LABEL "/2") - 1;
	memcpy(buf, SAFETY_LABEL "/2", off);
	memcpy(buf + off, out, 32);
	return crypto_sha256(buf, off + 32, out + 32);
}

int
trust_safety_number(const char *name_a, const uint8_t pub_a[32],
    const char *name_b, const uint8_t pub_b[32], char out[TRUST_SAFETY_LEN])
{
	uint8_t		 h[64];
	uint64_t	 v;
	size_t		 g, i;
	char		*p = out;

	if (safety_hash(name_a, pub_a, name_b, pub_b, h) == -1)
		return -1;
	/* 40 bits per group: the bias of the modulo is under 1e-7. */
	for (g = 0; g < 12; g++) {
		for (v = 0, i = 0; i < 5; i++)
			v = v << 8 | h[5 * g + i];
		(void)snprintf(p, 7, g == 0 ? "%05u" : " %05u",
		    (unsigned int)(v % 100000));
		p += g == 0 ? 5 : 6;
	}
	return 0;
}

int
trust_safety_parse(const char *text, char out[TRUST_SAFETY_DIGITS + 1])
{
	size_t	 n = 0;

	for (; *text != '\0'; text++) {
		if (*text == ' ')
			continue;
		if (*text < '0' || *text > '9' || n == TRUST_SAFETY_DIGITS)
			return -1;
		out[n++] = *text;
	}
	if (n != TRUST_SAFETY_DIGITS)
		return -1;
	out[n] = '\0';
	return 0;
}
