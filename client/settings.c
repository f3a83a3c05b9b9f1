/*
 * settings.c: the client's configuration file.  One "key = value" per
 * line, '#' starts a comment line, values may be double-quoted.  Unknown
 * keys and bad values are errors naming the file and line, as ssh does.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "settings.h"
#include "util.h"
#include "xmalloc.h"

struct key {
	const char	*name;
	int		(*set)(struct settings *, const char *, char *, size_t);
};

void
settings_defaults(struct settings *s)
{
	memset(s, 0, sizeof(*s));
	s->colours = 1;
	s->timestamps = 1;
	(void)str_copy(s->timestamp_format, "%H:%M",
	    sizeof(s->timestamp_format));
	s->notify = NOTIFY_MENTIONS;
	s->history_retention = SETTINGS_DEFAULT_RETENTION;
	s->interface = IFACE_AUTO;
}

static int
parse_bool(const char *v, int *out, char *err, size_t errsz)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "on") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else {
		(void)snprintf(err, errsz, "expected yes or no, not '%s'", v);
		return -1;
	}
	return 0;
}

static int
set_server(struct settings *s, const char *v, char *err, size_t errsz)
{
	char		 host[256];
	uint16_t	 port;

	if (parse_hostport(v, host, sizeof(host), &port,
	    PROTO_DEFAULT_PORT) == -1) {
		(void)snprintf(err, errsz, "bad server '%s': expected "
		    "host[:port] or [address]:port", v);
		return -1;
	}
	return str_copy(s->server, v, sizeof(s->server));
}

static int
set_user(struct settings *s, const char *v, char *err, size_t errsz)
{
	char	 name[NAME_MAX_LEN + 1];

	if (str_copy(name, v, sizeof(name)) == -1 ||
	    proto_fold_user(name) == -1) {
		(void)snprintf(err, errsz, "bad user '%s': user names are "
		    "[a-z0-9_-]{1,32}", v);
		return -1;
	}
	return str_copy(s->user, name, sizeof(s->user));
}

/* "~/x" is under $HOME, as a shell would say it. */
static int
set_ca_file(struct settings *s, const char *v, char *err, size_t errsz)
{
	const char	*home;
	int		 n;

	if (strncmp(v, "~/", 2) != 0)
		return str_copy(s->ca_file, v, sizeof(s->ca_file));
	if ((home = getenv("HOME")) == NULL || home[0] != '/') {
		(void)snprintf(err, errsz, "cannot expand '~': no HOME");
		return -1;
	}
	n = snprintf(s->ca_file, sizeof(s->ca_file), "%s/%s", home, v + 2);
	if (n < 0 || (size_t)n >= sizeof(s->ca_file)) {
		(void)snprintf(err, errsz, "path too long");
		return -1;
	}
	return 0;
}

static int
set_colours(struct settings *s, const char *v, char *err, size_t errsz)
{
	return parse_bool(v, &s->colours, err, errsz);
}

static int
set_timestamps(struct settings *s, const char *v, char *err, size_t errsz)
{
	return parse_bool(v, &s->timestamps, err, errsz);
}

/* A format strftime can fill in a 32-byte field. */
static int
set_timestamp_format(struct settings *s, const char *v, char *err,
    size_t errsz)
{
	struct tm	 tm;
	char		 out[64];

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 100;
	tm.tm_mday = 28;
	tm.tm_hour = 23;
	tm.tm_min = 59;
	if (v[0] == '\0' || str_copy(s->timestamp_format, v,
	    sizeof(s->timestamp_format)) == -1 ||
	    settings_strftime(out, sizeof(s->timestamp_format), v, &tm) == 0) {
		(void)snprintf(err, errsz, "timestamp_format '%s' is empty "
		    "or too long (at most %d characters once filled in)", v,
		    SETTINGS_TSFMT_MAX - 1);
		return -1;
	}
	return 0;
}

/* The user's timestamp_format: a format string that is not a literal. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
size_t
settings_strftime(char *out, size_t outsz, const char *fmt,
    const struct tm *tm)
{
	return strftime(out, outsz, fmt, tm);
}
#pragma GCC diagnostic pop

static int
set_notify(struct settings *s, const char *v, char *err, size_t errsz)
{
	if (strcmp(v, "mentions") == 0)
		s->notify = NOTIFY_MENTIONS;
	else if (strcmp(v, "all") == 0)
		s->notify = NOTIFY_ALL;
	else if (strcmp(v, "none") == 0)
		s->notify = NOTIFY_NONE;
	else {
		(void)snprintf(err, errsz, "notify is mentions, all or none, "
		    "not '%s'", v);
		return -1;
	}
	return 0;
}

static int
set_highlight(struct settings *s, const char *v, char *err, size_t errsz)
{
	if (str_copy(s->highlight, v, sizeof(s->highlight)) == -1) {
		(void)snprintf(err, errsz, "highlight is too long");
		return -1;
	}
	return 0;
}

/* "forever", or days: "30" or "30d"; 0 keeps nothing. */
static int
set_history_retention(struct settings *s, const char *v, char *err,
    size_t errsz)
{
	char		*end;
	long		 n;

	if (strcmp(v, "forever") == 0) {
		s->history_retention = -1;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (end != v && *end == 'd')
		end++;
	if (!isdigit((unsigned char)v[0]) || *end != '\0' || errno != 0 ||
	    n < 0 || n > SETTINGS_RETENTION_MAX) {
		(void)snprintf(err, errsz, "history_retention is a number of "
		    "days (0 to %d, 0 keeps nothing) or forever, not '%s'",
		    SETTINGS_RETENTION_MAX, v);
		return -1;
	}
	s->history_retention = (int)n;
	return 0;
}

static int
set_interface(struct settings *s, const char *v, char *err, size_t errsz)
{
	if (strcmp(v, "auto") == 0)
		s->interface = IFACE_AUTO;
	else if (strcmp(v, "line") == 0)
		s->interface = IFACE_LINE;
	else {
		(void)snprintf(err, errsz, "interface is auto or line, not "
		    "'%s'", v);
		return -1;
	}
	return 0;
}

static const struct key keys[] = {
	{ "server",		set_server },
	{ "user",		set_user },
	{ "ca_file",		set_ca_file },
	{ "colours",		set_colours },
	{ "timestamps",		set_timestamps },
	{ "timestamp_format",	set_timestamp_format },
	{ "notify",		set_notify },
	{ "highlight",		set_highlight },
	{ "history_retention",	set_history_retention },
	{ "interface",		set_interface },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

/*
 * The value after '=': quoted (\" and \\ escape) or bare up to the end
 * of the line, blanks around it dropped.  Control characters are refused.
 */
static int
take_value(const char *p, char *out, size_t outsz, char *err, size_t errsz)
{
	size_t	 n = 0, len;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0') {
				(void)snprintf(err, errsz, "missing closing "
				    "quote");
				return -1;
			}
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			if (n + 1 >= outsz)
				goto toolong;
			out[n++] = *p;
		}
		p++;
		if (p[strspn(p, " \t")] != '\0') {
			(void)snprintf(err, errsz, "text after the closing "
			    "quote");
			return -1;
		}
	} else {
		len = strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= outsz)
			goto toolong;
		memcpy(out, p, len);
		n = len;
	}
	out[n] = '\0';
	for (len = 0; len < n; len++)
		if ((unsigned char)out[len] < 0x20 || out[len] == 0x7f) {
			(void)snprintf(err, errsz, "control character in the "
			    "value");
			return -1;
		}
	return 0;
 toolong:
	(void)snprintf(err, errsz, "value longer than %zu bytes", outsz - 1);
	return -1;
}

static int
parse_line(struct settings *s, char *line, unsigned *given, char *err,
    size_t errsz)
{
	char	 value[SETTINGS_VALUE_MAX];
	char	*p = line + strspn(line, " \t"), *k;
	size_t	 i, klen;

	if (*p == '\0' || *p == '#')
		return 0;
	k = p;
	klen = strspn(k, "abcdefghijklmnopqrstuvwxyz_");
	p = k + klen;
	p += strspn(p, " \t");
	if (klen == 0 || *p != '=') {
		(void)snprintf(err, errsz, "expected 'key = value'");
		return -1;
	}
	p++;
	p += strspn(p, " \t");
	for (i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == klen &&
		    strncmp(keys[i].name, k, klen) == 0)
			break;
	if (i == NKEYS) {
		(void)snprintf(err, errsz, "unknown key '%.*s'",
		    (int)(klen > 32 ? 32 : klen), k);
		return -1;
	}
	if (*given & (1u << i)) {
		(void)snprintf(err, errsz, "%s given twice", keys[i].name);
		return -1;
	}
	*given |= 1u << i;
	if (take_value(p, value, sizeof(value), err, errsz) == -1)
		return -1;
	return keys[i].set(s, value, err, errsz);
}

int
settings_parse(struct settings *s, const char *name, const char *buf,
    size_t len, char *err, size_t errsz)
{
	char		 line[SETTINGS_LINE_MAX + 1], why[512];
	const char	*p = buf, *end = buf + len, *nl;
	unsigned	 lineno = 0, given = 0;
	size_t		 n;

	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > SETTINGS_LINE_MAX) {
			(void)snprintf(err, errsz, "%s:%u: line longer than "
			    "%d bytes", name, lineno, SETTINGS_LINE_MAX);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (strlen(line) != n) {
			(void)snprintf(err, errsz, "%s:%u: NUL byte", name,
			    lineno);
			return -1;
		}
		if (parse_line(s, line, &given, why, sizeof(why)) == -1) {
			(void)snprintf(err, errsz, "%s:%u: %s", name, lineno,
			    why);
			return -1;
		}
		p = nl < end ? nl + 1 : end;
	}
	return 0;
}

/*
 * Whoever can write the file can send us to another server: like ssh,
 * refuse one that others may write.
 */
int
settings_load(struct settings *s, const char *path, char *err, size_t errsz)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return 1;
		(void)snprintf(err, errsz, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & 022) != 0 || st.st_size > SETTINGS_FILE_MAX) {
		(void)snprintf(err, errsz, "%s: not a regular file of yours "
		    "of at most %d bytes that only you may write", path,
		    SETTINGS_FILE_MAX);
		(void)close(fd);
		return -1;
	}
	buf = xmalloc(SETTINGS_FILE_MAX + 1);
	while (len <= SETTINGS_FILE_MAX &&
	    (n = read(fd, buf + len, SETTINGS_FILE_MAX + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			(void)snprintf(err, errsz, "cannot read %s: %s", path,
			    strerror(errno));
			free(buf);
			(void)close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	(void)close(fd);
	if (len > SETTINGS_FILE_MAX) {
		(void)snprintf(err, errsz, "%s: larger than %d bytes", path,
		    SETTINGS_FILE_MAX);
		free(buf);
		return -1;
	}
	rc = settings_parse(s, path, buf, len, err, errsz);
	free(buf);
	return rc;
}

/*
 * $ENV/leaf, or ~/under_home/leaf when ENV is unset.  The XDG spec says
 * relative values are invalid and ignored.
 */
char *
settings_xdg_path(const char *env, const char *under_home, const char *leaf)
{
	const char	*xdg, *home;
	struct passwd	*pw;
	char		*path = NULL;

	if ((xdg = getenv(env)) != NULL && xdg[0] == '/') {
		(void)xasprintf(&path, "%s/%s", xdg, leaf);
		return path;
	}
	if ((home = getenv("HOME")) == NULL || home[0] == '\0') {
		if ((pw = getpwuid(getuid())) == NULL)
			return NULL;
		home = pw->pw_dir;
	}
	(void)xasprintf(&path, "%s/%s/%s", home, under_home, leaf);
	return path;
}

char *
settings_default_path(void)
{
	return settings_xdg_path("XDG_CONFIG_HOME", ".config",
	    "securechat/config");
}
