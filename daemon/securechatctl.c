/*
 * securechatctl.c: the operator's tool.  Sends one command to the broker
 * over the root-only control socket and prints the answer, as text or
 * JSON.  backup runs here: an online copy of the database with SQLite's
 * backup API, checked before it replaces the file named.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "conf.h"
#include "frame.h"
#include "proto.h"
#include "util.h"

#define REPLY_MAX	(1024 * 1024)
#define TIMEOUT_MS	10000
#define DB_NAME		"securechat.db"
#define SOCKET_NAME	"securechat.sock"

/* Every command; securechatctl(8) documents exactly these (t-docs.sh). */
static const struct command {
	const char	*name;
	const char	*args;
} commands[] = {
	{ "user list",		"" },
	{ "user disable",	"USER" },
	{ "user enable",	"USER" },
	{ "user delete",	"USER" },
	{ "kick",		"USER" },
	{ "room list",		"" },
	{ "room delete",	"#ROOM" },
	{ "room remove-member",	"#ROOM USER" },
	{ "invite create",	"[--uses N] [--expires D]" },
	{ "invite list",	"" },
	{ "invite revoke",	"CODE" },
	{ "reset-key",		"USER" },
	{ "notice",		"all | room #ROOM | user USER  TEXT ..." },
	{ "who",		"" },
	{ "stats",		"" },
	{ "metrics",		"[FILE]" },
	{ "backup",		"FILE" },
	{ "reload",		"" },
};
/* Older spellings, still accepted. */
static const char *const aliases[] = { "invite", "rooms" };

static int	 json;

static void
usage(void)
{
	size_t	 i;

	fprintf(stderr, "usage: securechatctl [-j] [-f config | -s socket] "
	    "command [argument ...]\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "\t%s%s%s\n", commands[i].name,
		    commands[i].args[0] ? " " : "", commands[i].args);
	exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[PATH_MAX + 512];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json) {
		fputs("{\"error\":\"", stdout);
		for (const char *p = msg; *p; p++)
			if (*p == '"' || *p == '\\')
				printf("\\%c", *p);
			else if ((unsigned char)*p < 0x20)
				printf("\\u%04x", *p);
			else
				putchar(*p);
		fputs("\"}\n", stdout);
	}
	fprintf(stderr, "securechatctl: %s\n", msg);
	exit(1);
}

static int
known(int argc, char **argv)
{
	const char	*sp;
	size_t		 i, n;

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(argv[0], aliases[i]) == 0)
			return 1;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		sp = strchr(commands[i].name, ' ');
		n = sp ? (size_t)(sp - commands[i].name) :
		    strlen(commands[i].name);
		if (strncmp(argv[0], commands[i].name, n) != 0 ||
		    argv[0][n] != '\0')
			continue;
		if (sp == NULL || (argc > 1 && strcmp(argv[1], sp + 1) == 0))
			return 1;
	}
	return 0;
}

static int
connect_to(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) == -1)
		die("%s: path too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		die("%s: %s (is securechatd running, and are you root?)", path,
		    strerror(errno));
	return fd;
}

/* Read one whole reply frame, bounded in size and time. */
static uint8_t *
read_reply(int fd, size_t *len)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	uint8_t		*buf;
	size_t		 have = 0, flen = 0;
	ssize_t		 n;
	int		 rv;

	if ((buf = malloc(REPLY_MAX)) == NULL)
		die("malloc: %s", strerror(errno));
	for (;;) {
		if (have >= FRAME_HDR_LEN) {
			rv = frame_peek(buf, have, REPLY_MAX, &flen);
			if (rv == FRAME_OK)
				break;
			if (rv != FRAME_NEED_MORE)
				die("bad reply");
		}
		if (poll(&pfd, 1, TIMEOUT_MS) != 1)
			die("no reply within %d s", TIMEOUT_MS / 1000);
		if ((n = read(fd, buf + have, REPLY_MAX - have)) <= 0)
			die("connection closed (the daemon refused this user?)");
		have += (size_t)n;
	}
	*len = flen;
	return buf;
}

/* One command to the broker; its answer, and whether it refused. */
static uint8_t *
request(const char *path, int argc, char **argv, const uint8_t **text,
    size_t *tlen, uint16_t *code)
{
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			 args[CTL_ARGS_MAX], *reply;
	size_t			 alen = 0, n, len;
	int			 i, fd;

	if (argc > CTL_ARGS_COUNT)
		die("more than %d arguments", CTL_ARGS_COUNT);
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]) + 1;
		if (alen + n > sizeof(args))
			die("arguments longer than %d bytes", CTL_ARGS_MAX);
		memcpy(args + alen, argv[i], n);
		alen += n;
	}
	fd = connect_to(path);
	frame_begin(&b, CTL_REQUEST, 4096);
	frame_put_bytes(&b, F_LIST, args, alen);
	if (json)
		frame_put_u8(&b, F_JSON, 1);
	if (frame_finish(&b) == -1 || write(fd, b.data, b.len) != (ssize_t)b.len)
		die("cannot send the command");
	frame_buf_free(&b);
	reply = read_reply(fd, &len);
	(void)close(fd);
	if (frame_decode(reply, len, &f) != FRAME_OK ||
	    frame_validate(&f, proto_ctl_spec(f.type)) != FRAME_OK ||
	    f.type != CTL_REPLY || frame_get_u16(&f, F_CODE, code) == -1 ||
	    frame_get_bytes(&f, F_LIST, text, tlen) == -1)
		die("malformed reply");
	return reply;
}

/* Replace path with the bytes atomically: a reader never sees half. */
static void
write_atomic(const char *path, const uint8_t *p, size_t len)
{
	char	 tmp[PATH_MAX];
	int	 fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		die("%s: path too long", path);
	if ((fd = mkstemp(tmp)) == -1)
		die("%s: %s", tmp, strerror(errno));
	if (fchmod(fd, 0644) == -1 || write(fd, p, len) != (ssize_t)len ||
	    fsync(fd) == -1 || close(fd) == -1 || rename(tmp, path) == -1) {
		(void)unlink(tmp);
		die("%s: %s", path, strerror(errno));
	}
}

static int
sql_int(sqlite3 *db, const char *sql, long long *v)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	(void)sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* The copy must be whole and readable before it takes the name. */
static void
backup_check(sqlite3 *db, const char *tmp, long long *users, long long *rooms,
    long long *version)
{
	sqlite3_stmt		*st;
	const unsigned char	*ok = NULL;
	int			 good;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
	    NULL) != SQLITE_OK)
		die("%s: %s", tmp, sqlite3_errmsg(db));
	good = sqlite3_step(st) == SQLITE_ROW &&
	    (ok = sqlite3_column_text(st, 0)) != NULL &&
	    strcmp((const char *)ok, "ok") == 0;
	if (!good) {
		fprintf(stderr, "securechatctl: %s: integrity check: %s\n", tmp,
		    ok ? (const char *)ok : sqlite3_errmsg(db));
		(void)sqlite3_finalize(st);
		(void)unlink(tmp);
		die("the copy failed its check: nothing written");
	}
	(void)sqlite3_finalize(st);
	if (sql_int(db, "PRAGMA user_version", version) == -1 ||
	    sql_int(db, "SELECT count(*) FROM users", users) == -1 ||
	    sql_int(db, "SELECT count(*) FROM rooms", rooms) == -1) {
		(void)unlink(tmp);
		die("%s: cannot read the copy: %s", tmp, sqlite3_errmsg(db));
	}
}

/*
 * Online: the broker keeps writing (WAL lets a reader have a snapshot
 * meanwhile).  The copy is made beside FILE, switched out of WAL so it is
 * one self-contained file, synced, checked, and only then renamed.
 */
static void
backup(const struct conf *c, const char *dest)
{
	sqlite3		*src = NULL, *dst = NULL;
	sqlite3_backup	*bk;
	struct stat	 st;
	char		 path[PATH_MAX], tmp[PATH_MAX], dir[PATH_MAX];
	long long	 users = 0, rooms = 0, version = 0;
	int		 fd, rc;

	if (snprintf(path, sizeof(path), "%s/%s", c->state_dir, DB_NAME) >=
	    (int)sizeof(path) || snprintf(tmp, sizeof(tmp), "%s.XXXXXX",
	    dest) >= (int)sizeof(tmp))
		die("path too long");
	if (stat(path, &st) == -1)
		die("%s: %s (state_dir of %s)", path, strerror(errno),
		    c->path[0] ? c->path : "the built-in defaults");
	(void)umask(077);
	if ((fd = mkstemp(tmp)) == -1)
		die("%s: %s", tmp, strerror(errno));
	(void)close(fd);
	if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK || sqlite3_busy_timeout(src, 5000) != SQLITE_OK) {
		(void)unlink(tmp);
		die("%s: %s", path, src ? sqlite3_errmsg(src) : "cannot open");
	}
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		(void)unlink(tmp);
		die("%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "cannot open");
	}
	if ((bk = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		(void)unlink(tmp);
		die("backup: %s", sqlite3_errmsg(dst));
	}
	/* All pages in one step: one consistent snapshot of the source. */
	rc = sqlite3_backup_step(bk, -1);
	if (sqlite3_backup_finish(bk) != SQLITE_OK || rc != SQLITE_DONE) {
		(void)unlink(tmp);
		die("backup of %s: %s", path, sqlite3_errmsg(dst));
	}
	(void)sqlite3_close(src);
	if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE; "
	    "PRAGMA synchronous=FULL; VACUUM;", NULL, NULL, NULL) != SQLITE_OK) {
		(void)unlink(tmp);
		die("%s: %s", tmp, sqlite3_errmsg(dst));
	}
	backup_check(dst, tmp, &users, &rooms, &version);
	if (sqlite3_close(dst) != SQLITE_OK) {
		(void)unlink(tmp);
		die("%s: close failed", tmp);
	}
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) == -1 || fsync(fd) == -1 ||
	    fstat(fd, &st) == -1 || close(fd) == -1 || rename(tmp, dest) == -1) {
		(void)unlink(tmp);
		die("%s: %s", dest, strerror(errno));
	}
	(void)str_copy(dir, dest, sizeof(dir));
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		(void)close(fd);
	}
	if (json)
		printf("{\"backup\":\"%s\",\"bytes\":%lld,\"integrity\":\"ok\","
		    "\"schema_version\":%lld,\"users\":%lld,\"rooms\":%lld}\n",
		    dest, (long long)st.st_size, version, users, rooms);
	else
		printf("%s: %lld bytes, integrity ok, schema version %lld, "
		    "%lld users, %lld rooms\n", dest, (long long)st.st_size,
		    version, users, rooms);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "config",	required_argument,	NULL, 'f' },
		{ "socket",	required_argument,	NULL, 's' },
		{ NULL,		0,			NULL, 0 },
	};
	struct conf	 conf;
	const char	*sock = NULL, *cpath = NULL, *out_file = NULL;
	const uint8_t	*text;
	uint8_t		*reply;
	size_t		 tlen;
	uint16_t	 code;
	char		 err[PATH_MAX + 256], path[PATH_MAX];
	int		 ch;

	while ((ch = getopt_long(argc, argv, "+f:hjs:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			cpath = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || !known(argc, argv))
		usage();

	/* The socket and the database are where the configuration says. */
	conf_defaults(&conf);
	if ((sock == NULL || strcmp(argv[0], "backup") == 0) &&
	    conf_load(&conf, cpath ? cpath : CONF_DEFAULT_FILE, cpath != NULL,
	    err, sizeof(err)) == -1)
		die("%s", err);
	if (sock == NULL) {
		if (snprintf(path, sizeof(path), "%s/%s", conf.runtime_dir,
		    SOCKET_NAME) >= (int)sizeof(path))
			die("%s: path too long", conf.runtime_dir);
		sock = path;
	}
	if (strcmp(argv[0], "backup") == 0) {
		if (argc != 2)
			usage();
		backup(&conf, argv[1]);
		return 0;
	}
	if (strcmp(argv[0], "metrics") == 0 && argc == 2) {
		out_file = argv[1];
		argc = 1;
	}
	reply = request(sock, argc, argv, &text, &tlen, &code);
	if (out_file != NULL && code == 0)
		write_atomic(out_file, text, tlen);
	else if (fwrite(text, 1, tlen, code && !json ? stderr : stdout) != tlen)
		return 1;
	free(reply);
	return code ? 1 : 0;
}
