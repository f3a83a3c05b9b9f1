/*
 * conf.c: read securechat.conf with libconfig into a struct conf, check
 * every value against one table of options, and say which file, line and
 * option is wrong.  Nothing outside this file sees a config_t.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "conf.h"
#include "log.h"
#include "proto.h"

#ifndef nitems
#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define CONF_DEFAULT_ADDRESS	"127.0.0.1"
#define CONF_DEFAULT_USER	"_securechat"
#define CONF_USER_MAX		32	/* what useradd accepts by default */
#define CONF_MAX_SIZE		(1024 * 1024)	/* a typo, not a config file */

enum opt_kind {
	OPT_GROUP,		/* a libconfig group holding more options */
	OPT_INT,		/* unsigned int, or uint16_t when size says */
	OPT_BOOL,
	OPT_PATH,		/* absolute path */
	OPT_USER,		/* account name */
	OPT_ADDRESS,		/* numeric IPv4 or IPv6 address */
	OPT_ENUM,		/* one of names[], stored as its index */
	OPT_LISTEN,		/* list of groups, each parsed with listen_opts */
};

struct opt {
	const char		*name;	/* dotted path within its table */
	enum opt_kind		 kind;
	size_t			 off;
	size_t			 size;
	long long		 min;
	long long		 max;
	const char *const	*names;	/* OPT_ENUM only, NULL-terminated */
};

/* Indexed by enum registration and by LOG_LEVEL_*: order matters. */
static const char *const registration_names[] = {
	"open", "invite", "closed", NULL
};
static const char *const log_level_names[] = {
	"error", "warn", "info", "debug", NULL
};

_Static_assert(REG_OPEN == 0 && REG_INVITE == 1 && REG_CLOSED == 2,
    "registration_names follows enum registration");
_Static_assert(LOG_LEVEL_ERROR == 0 && LOG_LEVEL_WARN == 1 &&
    LOG_LEVEL_INFO == 2 && LOG_LEVEL_DEBUG == 3,
    "log_level_names follows LOG_LEVEL_*");
/* OPT_ENUM stores an int; both targets must have an int's size. */
_Static_assert(sizeof(enum registration) == sizeof(int),
    "enum registration is stored as an int");

#define F(m)		offsetof(struct conf, m), sizeof(((struct conf *)0)->m)
#define L(m)		offsetof(struct conf_listen, m), \
			    sizeof(((struct conf_listen *)0)->m)

static const struct opt conf_opts[] = {
	{ "listen",			OPT_LISTEN,	0, 0, 0, 0, NULL },
	{ "user",			OPT_USER,	F(user), 0, 0, NULL },
	{ "state_dir",			OPT_PATH,	F(state_dir), 0, 0, NULL },
	{ "runtime_dir",		OPT_PATH,	F(runtime_dir), 0, 0, NULL },
	{ "empty_dir",			OPT_PATH,	F(empty_dir), 0, 0, NULL },
	{ "tls",			OPT_GROUP,	0, 0, 0, 0, NULL },
	{ "tls.certificate",		OPT_PATH,	F(tls_certificate), 0, 0,
	    NULL },
	{ "tls.private_key",		OPT_PATH,	F(tls_private_key), 0, 0,
	    NULL },
	{ "tls.generate",		OPT_BOOL,	F(tls_generate), 0, 0, NULL },
	{ "limits",			OPT_GROUP,	0, 0, 0, 0, NULL },
	{ "limits.max_clients",		OPT_INT,	F(max_clients), 1, 65535,
	    NULL },
	/* The upper bound is limits.max_clients, checked in conf_check(). */
	{ "limits.max_clients_per_ip",	OPT_INT,	F(max_clients_per_ip), 1,
	    65535, NULL },
	{ "limits.ipv4_prefix",		OPT_INT,	F(ipv4_prefix), 8, 32, NULL },
	{ "limits.ipv6_prefix",		OPT_INT,	F(ipv6_prefix), 16, 128,
	    NULL },
	/* The upper bound is limits.max_clients, checked in conf_check(). */
	{ "limits.max_clients_per_prefix", OPT_INT,	F(max_clients_per_prefix),
	    1, 65535, NULL },
	{ "limits.accept_rate",		OPT_INT,	F(accept_rate), 1, 100000,
	    NULL },
	{ "limits.accept_burst",	OPT_INT,	F(accept_burst), 1, 1000000,
	    NULL },
	{ "limits.accept_rate_per_prefix", OPT_INT,	F(accept_rate_per_prefix),
	    1, 100000, NULL },
	{ "limits.accept_burst_per_prefix", OPT_INT,	F(accept_burst_per_prefix),
	    1, 1000000, NULL },
	{ "limits.max_frame_bytes",	OPT_INT,	F(max_frame_bytes),
	    FRAME_MIN_MAX, FRAME_MAX_CEILING, NULL },
	{ "limits.handshake_timeout",	OPT_INT,	F(handshake_timeout), 1, 300,
	    NULL },
	{ "limits.idle_timeout",	OPT_INT,	F(idle_timeout), 10, 86400,
	    NULL },
	{ "limits.login_timeout",	OPT_INT,	F(login_timeout), 2, 3600,
	    NULL },
	{ "limits.message_rate",	OPT_INT,	F(message_rate), 1, 100000,
	    NULL },
	{ "limits.message_burst",	OPT_INT,	F(message_burst), 1, 1000000,
	    NULL },
	{ "limits.request_rate",	OPT_INT,	F(request_rate), 1, 100000,
	    NULL },
	{ "limits.request_burst",	OPT_INT,	F(request_burst), 1, 1000000,
	    NULL },
	{ "limits.storage_mib_per_day",	OPT_INT,	F(storage_mib_per_day), 1,
	    1048576, NULL },
	{ "limits.storage_burst_mib",	OPT_INT,	F(storage_burst_mib), 1,
	    65536, NULL },
	{ "limits.inbox_max_messages",	OPT_INT,	F(inbox_max_messages), 1,
	    100000000, NULL },
	{ "limits.inbox_max_mib",	OPT_INT,	F(inbox_max_mib), 1, 1048576,
	    NULL },
	{ "limits.registrations_per_hour", OPT_INT,
	    F(registrations_per_hour), 1, 1000000, NULL },
	{ "limits.room_creates_per_hour", OPT_INT,	F(room_creates_per_hour),
	    1, 1000000, NULL },
	{ "limits.max_rooms_per_user",	OPT_INT,	F(max_rooms_per_user), 1,
	    1000000, NULL },
	{ "limits.max_members_per_room", OPT_INT,	F(max_members_per_room), 2,
	    1000000, NULL },
	{ "limits.max_rooms",		OPT_INT,	F(max_rooms), 1, 100000000,
	    NULL },
	{ "retention",			OPT_INT,	F(retention), 0, 36500,
	    NULL },
	{ "rekey",			OPT_GROUP,	0, 0, 0, 0, NULL },
	{ "rekey.min_seconds",		OPT_INT,	F(rekey_min), 1, 86400, NULL },
	{ "rekey.max_seconds",		OPT_INT,	F(rekey_max), 1, 86400, NULL },
	{ "registration",		OPT_ENUM,	F(registration), 0, 0,
	    registration_names },
	{ "log",			OPT_GROUP,	0, 0, 0, 0, NULL },
	{ "log.level",			OPT_ENUM,	F(log_level), 0, 0,
	    log_level_names },
};

static const struct opt listen_opts[] = {
	{ "address",			OPT_ADDRESS,	L(address), 0, 0, NULL },
	{ "port",			OPT_INT,	L(port), 1, 65535, NULL },
};

#undef F
#undef L

struct parser {
	const char	*path;
	char		*err;
	size_t		 errsz;
	/* Where each conf_opts entry was set, 0 if not: for the cross checks. */
	int		 line[nitems(conf_opts)];
};

static int	 perr(struct parser *, const config_setting_t *, const char *,
		    ...) __attribute__((format(printf, 3, 4)));
static int	 parse_group(struct parser *, const config_setting_t *,
		    const char *, const char *, const struct opt *, size_t,
		    void *);

static int
perr(struct parser *p, const config_setting_t *s, const char *fmt, ...)
{
	va_list		 ap;
	const char	*file = NULL;
	int		 n;

	/* A setting from an @include file names that file, not ours. */
	if (s != NULL)
		file = config_setting_source_file(s);
	if (file == NULL)
		file = p->path;
	n = snprintf(p->err, p->errsz, "%s:%u: ", file,
	    s != NULL ? (unsigned int)config_setting_source_line(s) : 0u);
	if (n < 0 || (size_t)n >= p->errsz)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(p->err + n, p->errsz - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
addr_parse(const char *s, struct in6_addr *a6, int *af)
{
	struct in_addr	 a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(a6, 0, sizeof(*a6));
		memcpy(a6, &a4, sizeof(a4));
		*af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a6) == 1) {
		*af = AF_INET6;
		return 0;
	}
	return -1;
}

/* Same address whatever its spelling ("::1" and "0::1"). */
static int
addr_equal(const char *a, const char *b)
{
	struct in6_addr	 aa, bb;
	int		 afa, afb;

	if (addr_parse(a, &aa, &afa) == -1 || addr_parse(b, &bb, &afb) == -1)
		return strcmp(a, b) == 0;
	return afa == afb && memcmp(&aa, &bb, sizeof(aa)) == 0;
}

static int
user_valid(const char *s)
{
	size_t	 i, len;

	len = strlen(s);
	if (len == 0 || len > CONF_USER_MAX)
		return 0;
	if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; i < len; i++) {
		if (!(s[i] == '_' || s[i] == '-' ||
		    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	}
	return 1;
}

static int
set_string(struct parser *p, const config_setting_t *s, const char *name,
    const char *v, char *dst, size_t dstsz)
{
	if (strlen(v) >= dstsz)
		return perr(p, s, "%s: value is too long (at most %zu bytes)",
		    name, dstsz - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
parse_int(struct parser *p, const config_setting_t *s, const char *name,
    const struct opt *o, void *base)
{
	long long	 v;
	uint16_t	 v16;
	unsigned int	 vu;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		v = config_setting_get_int(s);
		break;
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		break;
	default:
		return perr(p, s, "%s: expected an integer", name);
	}
	if (v < o->min || v > o->max)
		return perr(p, s, "%s: %lld is out of range (%lld..%lld)",
		    name, v, o->min, o->max);
	if (o->size == sizeof(uint16_t)) {
		v16 = (uint16_t)v;
		memcpy((char *)base + o->off, &v16, sizeof(v16));
	} else {
		vu = (unsigned int)v;
		memcpy((char *)base + o->off, &vu, sizeof(vu));
	}
	return 0;
}

static int
parse_listen(struct parser *p, const config_setting_t *s, struct conf *c)
{
	struct conf_listen	 l[CONF_MAX_LISTEN];
	const config_setting_t	*e;
	char			 pfx[32];
	int			 i, j, n;

	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    config_setting_type(s) != CONFIG_TYPE_ARRAY)
		return perr(p, s, "listen: expected a list of groups");
	n = config_setting_length(s);
	if (n == 0)
		return perr(p, s, "listen: at least one entry is required");
	if (n > CONF_MAX_LISTEN)
		return perr(p, s, "listen: %d entries, at most %d", n,
		    CONF_MAX_LISTEN);
	memset(l, 0, sizeof(l));
	for (i = 0; i < n; i++) {
		if ((e = config_setting_get_elem(s, i)) == NULL)
			return perr(p, s, "listen[%d]: cannot read", i);
		/*
		 * A scalar element's line is that of the token after it,
		 * so name the line of "listen" instead.
		 */
		if (config_setting_type(e) != CONFIG_TYPE_GROUP)
			return perr(p, s, "listen[%d]: expected a group", i);
		l[i].port = PROTO_DEFAULT_PORT;
		(void)snprintf(pfx, sizeof(pfx), "listen[%d].", i);
		if (parse_group(p, e, pfx, "", listen_opts,
		    nitems(listen_opts), &l[i]) == -1)
			return -1;
		if (l[i].address[0] == '\0')
			return perr(p, e, "listen[%d].address: missing", i);
		for (j = 0; j < i; j++) {
			if (l[j].port == l[i].port &&
			    addr_equal(l[j].address, l[i].address))
				return perr(p, e, "listen[%d]: %s port %u is "
				    "already listen[%d]", i, l[i].address,
				    l[i].port, j);
		}
	}
	memcpy(c->listen, l, sizeof(c->listen));
	c->nlisten = n;
	return 0;
}

/* "open, invite, closed" for the error that lists the choices. */
static void
names_join(const char *const *names, char *buf, size_t bufsz)
{
	size_t	 i, len = 0;
	int	 n;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && len < bufsz; i++) {
		n = snprintf(buf + len, bufsz - len, "%s%s", i ? ", " : "",
		    names[i]);
		if (n < 0)
			return;
		len += n;
	}
}

static int
parse_value(struct parser *p, const config_setting_t *s, const char *name,
    const struct opt *o, void *base)
{
	char		*dst = (char *)base + o->off;
	char		 choices[64];
	const char	*v = NULL;
	int		 i, b;

	switch (o->kind) {
	case OPT_INT:
		return parse_int(p, s, name, o, base);
	case OPT_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			return perr(p, s, "%s: expected a boolean (true or "
			    "false)", name);
		b = config_setting_get_bool(s) ? 1 : 0;
		memcpy(dst, &b, sizeof(b));
		return 0;
	case OPT_LISTEN:
		return parse_listen(p, s, base);
	case OPT_GROUP:
		break;		/* parse_group() walks into groups itself */
	case OPT_PATH:
	case OPT_USER:
	case OPT_ADDRESS:
	case OPT_ENUM:
		if (config_setting_type(s) != CONFIG_TYPE_STRING ||
		    (v = config_setting_get_string(s)) == NULL)
			return perr(p, s, "%s: expected a string", name);
		break;
	}

	switch (o->kind) {
	case OPT_PATH:
		if (v[0] != '/')
			return perr(p, s, "%s: '%s' is not an absolute path",
			    name, v);
		return set_string(p, s, name, v, dst, o->size);
	case OPT_USER:
		if (!user_valid(v))
			return perr(p, s, "%s: '%s' is not a valid user name "
			    "([a-z_][a-z0-9_-]{0,31})", name, v);
		return set_string(p, s, name, v, dst, o->size);
	case OPT_ADDRESS: {
		struct in6_addr	 a;
		int		 af;

		if (addr_parse(v, &a, &af) == -1)
			return perr(p, s, "%s: '%s' is not a numeric IP "
			    "address", name, v);
		return set_string(p, s, name, v, dst, o->size);
	}
	case OPT_ENUM:
		for (i = 0; o->names[i] != NULL; i++) {
			if (strcmp(o->names[i], v) == 0) {
				memcpy(dst, &i, sizeof(i));
				return 0;
			}
		}
		names_join(o->names, choices, sizeof(choices));
		return perr(p, s, "%s: '%s' is not one of %s", name, v,
		    choices);
	default:
		break;
	}
	return perr(p, s, "%s: internal error: unhandled option", name);
}

/* An option's table entry: keypfx ("limits.") + the setting's own name. */
static const struct opt *
opt_find(const struct opt *tab, size_t ntab, const char *keypfx,
    const char *name)
{
	size_t	 i, len = strlen(keypfx);

	for (i = 0; i < ntab; i++) {
		if (strncmp(tab[i].name, keypfx, len) == 0 &&
		    strcmp(tab[i].name + len, name) == 0)
			return &tab[i];
	}
	return NULL;
}

/*
 * Every setting of the group must be in the table: a misspelt option is
 * an error, never silently a default.
 */
static int
parse_group(struct parser *p, const config_setting_t *grp, const char *msgpfx,
    const char *keypfx, const struct opt *tab, size_t ntab, void *base)
{
	const config_setting_t	*s;
	const struct opt	*o;
	const char		*sname;
	char			 name[256], sub[128];
	int			 i, n;

	n = config_setting_length(grp);
	for (i = 0; i < n; i++) {
		if ((s = config_setting_get_elem(grp, i)) == NULL ||
		    (sname = config_setting_name(s)) == NULL)
			return perr(p, grp, "%s%s: cannot read setting %d",
			    msgpfx, keypfx, i);
		(void)snprintf(name, sizeof(name), "%s%s%s", msgpfx, keypfx,
		    sname);
		if ((o = opt_find(tab, ntab, keypfx, sname)) == NULL)
			return perr(p, s, "unknown option '%s'", name);
		if (tab == conf_opts)
			p->line[o - conf_opts] = config_setting_source_line(s);
		if (o->kind != OPT_GROUP) {
			if (parse_value(p, s, name, o, base) == -1)
				return -1;
			continue;
		}
		if (config_setting_type(s) != CONFIG_TYPE_GROUP)
			return perr(p, s, "%s: expected a group ({ ... })",
			    name);
		(void)snprintf(sub, sizeof(sub), "%s.", o->name);
		if (parse_group(p, s, msgpfx, sub, tab, ntab, base) == -1)
			return -1;
	}
	return 0;
}

static int
opt_line(const struct parser *p, size_t off)
{
	size_t	 i;

	for (i = 0; i < nitems(conf_opts); i++) {
		if (conf_opts[i].kind == OPT_INT && conf_opts[i].off == off)
			return p->line[i];
	}
	return 0;
}

/*
 * A limit on part of the clients may not exceed limits.max_clients.  A
 * small server that only lowers max_clients should not have to restate
 * the part's default as well: an unset one follows it down.
 */
static int
bound_by_max_clients(struct parser *p, struct conf *c, size_t off,
    const char *name)
{
	unsigned int	*v = (unsigned int *)((char *)c + off);
	int		 line = opt_line(p, off);

	if (*v <= c->max_clients)
		return 0;
	if (line == 0) {
		*v = c->max_clients;
		return 0;
	}
	(void)snprintf(p->err, p->errsz, "%s:%d: %s: %u is out of range "
	    "(1..%u, limits.max_clients)", p->path, line, name, *v,
	    c->max_clients);
	return -1;
}

/* Options bounded by each other, checked once all of them are read. */
static int
conf_check(struct parser *p, struct conf *c)
{
	int	 lmin, lmax;

	lmin = opt_line(p, offsetof(struct conf, rekey_min));
	lmax = opt_line(p, offsetof(struct conf, rekey_max));

	if (bound_by_max_clients(p, c, offsetof(struct conf,
	    max_clients_per_ip), "limits.max_clients_per_ip") == -1 ||
	    bound_by_max_clients(p, c, offsetof(struct conf,
	    max_clients_per_prefix), "limits.max_clients_per_prefix") == -1)
		return -1;
	if (c->rekey_min > c->rekey_max) {
		(void)snprintf(p->err, p->errsz, "%s:%d: rekey.min_seconds "
		    "(%u) is greater than rekey.max_seconds (%u)", p->path,
		    lmin > lmax ? lmin : lmax, c->rekey_min, c->rekey_max);
		return -1;
	}
	return 0;
}

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->path[0] = '\0';
	(void)snprintf(c->listen[0].address, sizeof(c->listen[0].address),
	    "%s", CONF_DEFAULT_ADDRESS);
	c->listen[0].port = PROTO_DEFAULT_PORT;
	c->nlisten = 1;
	(void)snprintf(c->user, sizeof(c->user), "%s", CONF_DEFAULT_USER);
	(void)snprintf(c->state_dir, sizeof(c->state_dir), "%s",
	    LOCALSTATEDIR "/lib/securechat");
	(void)snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s",
	    RUNSTATEDIR "/securechat");
	(void)snprintf(c->empty_dir, sizeof(c->empty_dir), "%s",
	    RUNSTATEDIR "/securechat/empty");
	(void)snprintf(c->tls_certificate, sizeof(c->tls_certificate), "%s",
	    SYSCONFDIR "/securechat/server.crt");
	(void)snprintf(c->tls_private_key, sizeof(c->tls_private_key), "%s",
	    SYSCONFDIR "/securechat/server.key");
	c->tls_generate = 1;
	c->max_clients = 1024;
	c->max_clients_per_ip = 32;
	c->ipv4_prefix = 32;
	c->ipv6_prefix = 64;
	c->max_clients_per_prefix = 64;
	c->accept_rate = 10;
	c->accept_burst = 20;
	c->accept_rate_per_prefix = 20;
	c->accept_burst_per_prefix = 40;
	c->max_frame_bytes = FRAME_MAX_DEFAULT;
	c->handshake_timeout = 10;
	c->idle_timeout = 300;
	c->login_timeout = 30;
	c->message_rate = 5;
	c->message_burst = 10;
	c->request_rate = 20;
	c->request_burst = 200;
	c->storage_mib_per_day = 256;
	c->storage_burst_mib = 16;
	c->inbox_max_messages = 10000;
	c->inbox_max_mib = 64;
	c->registrations_per_hour = 10;
	c->room_creates_per_hour = 60;
	c->max_rooms_per_user = 1000;
	c->max_members_per_room = 5000;
	c->max_rooms = 100000;
	c->retention = 30;
	c->rekey_min = 30;
	c->rekey_max = 120;
	c->registration = REG_OPEN;
	c->log_level = LOG_LEVEL_INFO;
}

/*
 * libconfig 1.5 reads a decimal integer with atoi() and a hex one with
 * strtoul(), so "max_clients = 4294967297" silently becomes 1.  Find such
 * literals in the text before libconfig sees it.  Strings, comments and
 * names are skipped the way libconfig's scanner skips them.
 */
static int
int_prescan(const char *buf, const char *path, char *err, size_t errsz)
{
	const char	*q, *start;
	char		 lit[32];
	long long	 v;
	char		*end;
	int		 line = 1, hex;

	for (q = buf; *q != '\0'; q++) {
		if (*q == '\n') {
			line++;
		} else if (*q == '#' || (q[0] == '/' && q[1] == '/')) {
			while (q[1] != '\0' && q[1] != '\n')
				q++;
		} else if (q[0] == '/' && q[1] == '*') {
			for (q += 2; *q != '\0' && !(q[0] == '*' && q[1] == '/');
			    q++)
				if (*q == '\n')
					line++;
			if (*q == '\0')
				break;
			q++;
		} else if (*q == '"') {
			for (q++; *q != '\0' && *q != '"'; q++) {
				if (*q == '\n')
					line++;
				else if (*q == '\\' && q[1] != '\0')
					q++;
			}
			if (*q == '\0')
				break;
		} else if ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
		    *q == '*') {
			while (q[1] == '-' || q[1] == '_' || q[1] == '*' ||
			    (q[1] >= 'A' && q[1] <= 'Z') ||
			    (q[1] >= 'a' && q[1] <= 'z') ||
			    (q[1] >= '0' && q[1] <= '9'))
				q++;
		} else if ((*q >= '0' && *q <= '9') || ((*q == '-' ||
		    *q == '+') && q[1] >= '0' && q[1] <= '9')) {
			start = q;
			if (*q == '-' || *q == '+')
				q++;
			hex = q[0] == '0' && (q[1] == 'x' || q[1] == 'X');
			if (hex)
				q += 2;
			while ((*q >= '0' && *q <= '9') || (hex &&
			    ((*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F'))))
				q++;
			/* A float or a 64-bit integer is read correctly. */
			if (*q == '.' || *q == 'L' || (!hex && (*q == 'e' ||
			    *q == 'E'))) {
				while (q[1] != '\0' && ((q[1] >= '0' && q[1] <= '9') ||
				    q[1] == '.' || q[1] == 'e' || q[1] == 'E' ||
				    q[1] == 'L'))
					q++;
				continue;
			}
			(void)snprintf(lit, sizeof(lit), "%.*s",
			    (int)(q - start), start);
			errno = 0;
			v = strtoll(lit, &end, hex ? 16 : 10);
			if (errno != 0 || v < INT_MIN || v > INT_MAX ||
			    (size_t)(q - start) >= sizeof(lit)) {
				(void)snprintf(err, errsz, "%s:%d: integer %s%s "
				    "does not fit in 32 bits", path, line, lit,
				    (size_t)(q - start) >= sizeof(lit) ?
				    "..." : "");
				return -1;
			}
			q--;
		}
	}
	return 0;
}

/* The whole file, NUL-terminated, or NULL with err set. */
static char *
read_file(FILE *fp, const char *path, char *err, size_t errsz)
{
	struct stat	 st;
	char		*buf;
	size_t		 len;

	/* A directory opens fine and then reads as a confusing error. */
	if (fstat(fileno(fp), &st) == -1) {
		(void)snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err, errsz, "%s: not a regular file", path);
		return NULL;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		(void)snprintf(err, errsz, "%s: larger than %d bytes", path,
		    CONF_MAX_SIZE);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 2)) == NULL) {
		(void)snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* Read one byte more than fstat said to notice a growing file. */
	len = fread(buf, 1, (size_t)st.st_size + 1, fp);
	if (ferror(fp) || len > (size_t)st.st_size) {
		(void)snprintf(err, errsz, "%s: read error", path);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		(void)snprintf(err, errsz, "%s: contains a NUL byte", path);
		free(buf);
		return NULL;
	}
	return buf;
}

int
conf_load(struct conf *c, const char *path, int must_exist, char *err,
    size_t errsz)
{
	struct conf	 scratch;
	struct parser	 p;
	config_t	 cfg;
	FILE		*fp;
	char		*buf;
	const char	*efile;
	int		 rv = -1;

	if (errsz > 0)
		err[0] = '\0';
	conf_defaults(&scratch);
	if (strlen(path) >= sizeof(scratch.path)) {
		(void)snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist) {
			*c = scratch;
			return 0;
		}
		(void)snprintf(err, errsz, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	buf = read_file(fp, path, err, errsz);
	(void)fclose(fp);	/* read only: nothing to lose */
	if (buf == NULL)
		return -1;
	if (int_prescan(buf, path, err, errsz) == -1) {
		free(buf);
		return -1;
	}

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.err = err;
	p.errsz = errsz;

	config_init(&cfg);
	if (config_read_string(&cfg, buf) != CONFIG_TRUE) {
		if ((efile = config_error_file(&cfg)) == NULL)
			efile = path;
		(void)snprintf(err, errsz, "%s:%d: syntax error: %s", efile,
		    config_error_line(&cfg), config_error_text(&cfg));
		goto done;
	}
	if (parse_group(&p, config_root_setting(&cfg), "", "", conf_opts,
	    nitems(conf_opts), &scratch) == -1)
		goto done;
	if (conf_check(&p, &scratch) == -1)
		goto done;
	memcpy(scratch.path, path, strlen(path) + 1);
	*c = scratch;
	rv = 0;
 done:
	config_destroy(&cfg);
	free(buf);
	return rv;
}

/* The value of option o in base, as the file would spell it. */
static void
opt_format(const struct opt *o, const void *base, char *out, size_t outsz)
{
	const struct conf	*c = base;
	const char		*p = (const char *)base + o->off;
	unsigned int		 u;
	size_t			 i, len = 0;
	int			 v, n;

	out[0] = '\0';
	switch (o->kind) {
	case OPT_INT:
		memcpy(&u, p, sizeof(u));
		(void)snprintf(out, outsz, "%u", u);
		break;
	case OPT_BOOL:
		memcpy(&v, p, sizeof(v));
		(void)snprintf(out, outsz, "%s", v ? "true" : "false");
		break;
	case OPT_PATH:
	case OPT_USER:
	case OPT_ADDRESS:
		(void)snprintf(out, outsz, "\"%s\"", p);
		break;
	case OPT_ENUM:
		memcpy(&v, p, sizeof(v));
		(void)snprintf(out, outsz, "\"%s\"", o->names[v]);
		break;
	case OPT_LISTEN:
		for (i = 0; i < c->nlisten && len < outsz; i++) {
			n = snprintf(out + len, outsz - len, "%s%s:%u",
			    i ? ", " : "", c->listen[i].address,
			    c->listen[i].port);
			if (n < 0)
				break;
			len += (size_t)n;
		}
		break;
	case OPT_GROUP:
		break;
	}
}

void
conf_diff(const struct conf *old, const struct conf *new,
    void (*cb)(const char *, const char *, const char *, void *), void *arg)
{
	char	 a[PATH_MAX + 64], b[PATH_MAX + 64];
	size_t	 i;

	for (i = 0; i < nitems(conf_opts); i++) {
		if (conf_opts[i].kind == OPT_GROUP)
			continue;
		opt_format(&conf_opts[i], old, a, sizeof(a));
		opt_format(&conf_opts[i], new, b, sizeof(b));
		if (strcmp(a, b) != 0)
			cb(conf_opts[i].name, a, b, arg);
	}
}

/*
 * The sockets are bound and the privileges dropped with these before the
 * first reload; changing them needs a restart.
 */
static const char *const fixed_options[] = {
	"listen", "user", "state_dir", "runtime_dir", "empty_dir",
};

int
conf_option_fixed(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(fixed_options); i++)
		if (strcmp(fixed_options[i], name) == 0)
			return 1;
	return 0;
}

void
conf_option_names(void (*cb)(const char *name, void *arg), void *arg)
{
	size_t	 i;

	for (i = 0; i < nitems(conf_opts); i++)
		if (conf_opts[i].kind != OPT_GROUP)
			cb(conf_opts[i].name, arg);
}

static int
listen_equal(const struct conf *a, const struct conf *b)
{
	size_t	 i;

	if (a->nlisten != b->nlisten)
		return 0;
	for (i = 0; i < a->nlisten; i++) {
		if (a->listen[i].port != b->listen[i].port ||
		    !addr_equal(a->listen[i].address, b->listen[i].address))
			return 0;
	}
	return 1;
}

int
conf_reload(struct conf *live, const struct conf *fresh,
    void (*report)(const char *option))
{
	/*
	 * The sockets are bound and the privileges dropped with these
	 * before the first reload; changing them needs a restart.
	 */
	static const struct {
		const char	*name;
		size_t		 off;
	} fixed[] = {
		{ "user",		offsetof(struct conf, user) },
		{ "state_dir",		offsetof(struct conf, state_dir) },
		{ "runtime_dir",	offsetof(struct conf, runtime_dir) },
		{ "empty_dir",		offsetof(struct conf, empty_dir) },
	};
	size_t	 i;
	int	 kept = 0;

	if (!listen_equal(live, fresh)) {
		if (report != NULL)
			report("listen");
		kept++;
	}
	for (i = 0; i < nitems(fixed); i++) {
		if (strcmp((const char *)live + fixed[i].off,
		    (const char *)fresh + fixed[i].off) != 0) {
			if (report != NULL)
				report(fixed[i].name);
			kept++;
		}
	}

	memcpy(live->tls_certificate, fresh->tls_certificate,
	    sizeof(live->tls_certificate));
	memcpy(live->tls_private_key, fresh->tls_private_key,
	    sizeof(live->tls_private_key));
	live->tls_generate = fresh->tls_generate;
	live->max_clients = fresh->max_clients;
	live->max_clients_per_ip = fresh->max_clients_per_ip;
	live->ipv4_prefix = fresh->ipv4_prefix;
	live->ipv6_prefix = fresh->ipv6_prefix;
	live->max_clients_per_prefix = fresh->max_clients_per_prefix;
	live->accept_rate = fresh->accept_rate;
	live->accept_burst = fresh->accept_burst;
	live->accept_rate_per_prefix = fresh->accept_rate_per_prefix;
	live->accept_burst_per_prefix = fresh->accept_burst_per_prefix;
	live->max_frame_bytes = fresh->max_frame_bytes;
	live->handshake_timeout = fresh->handshake_timeout;
	live->idle_timeout = fresh->idle_timeout;
	live->login_timeout = fresh->login_timeout;
	live->message_rate = fresh->message_rate;
	live->message_burst = fresh->message_burst;
	live->request_rate = fresh->request_rate;
	live->request_burst = fresh->request_burst;
	live->storage_mib_per_day = fresh->storage_mib_per_day;
	live->storage_burst_mib = fresh->storage_burst_mib;
	live->inbox_max_messages = fresh->inbox_max_messages;
	live->inbox_max_mib = fresh->inbox_max_mib;
	live->registrations_per_hour = fresh->registrations_per_hour;
	live->room_creates_per_hour = fresh->room_creates_per_hour;
	live->max_rooms_per_user = fresh->max_rooms_per_user;
	live->max_members_per_room = fresh->max_members_per_room;
	live->max_rooms = fresh->max_rooms;
	live->retention = fresh->retention;
	live->rekey_min = fresh->rekey_min;
	live->rekey_max = fresh->rekey_max;
	live->registration = fresh->registration;
	live->log_level = fresh->log_level;
	return kept;
}

const char *
conf_registration_name(enum registration r)
{
	if ((unsigned int)r >= nitems(registration_names) - 1)
		return "unknown";
	return registration_names[r];
}

const char *
conf_log_level_name(int level)
{
	if (level < 0 || (size_t)level >= nitems(log_level_names) - 1)
		return "unknown";
	return log_level_names[level];
}
