/*
 * test_conf.c: securechat.conf parsing.  The built-in defaults, the sample
 * etc/securechat.conf, every error with its file and line, and what a
 * SIGHUP reload may and may not change.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "log.h"
#include "proto.h"

static char	 tmpdir[PATH_MAX];
static char	 tmpfile_path[PATH_MAX];
static int	 tmpcount;

static int
setup_dir(void **state)
{
	const char	*t;

	if ((t = getenv("TMPDIR")) == NULL || *t == '\0')
		t = "/tmp";
	if (snprintf(tmpdir, sizeof(tmpdir), "%s/test_conf.XXXXXX", t) >=
	    (int)sizeof(tmpdir))
		return -1;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown_dir(void **state)
{
	char	 p[PATH_MAX];
	int	 i;

	for (i = 0; i < tmpcount; i++) {
		if (snprintf(p, sizeof(p), "%s/%d.conf", tmpdir, i) <
		    (int)sizeof(p))
			(void)unlink(p);
	}
	if (rmdir(tmpdir) == -1)
		return -1;
	return 0;
}

/* Each call writes a new file so a failing test leaves evidence behind. */
static const char *
write_conf(const char *text)
{
	FILE	*fp;

	assert_true(snprintf(tmpfile_path, sizeof(tmpfile_path),
	    "%s/%d.conf", tmpdir, tmpcount) < (int)sizeof(tmpfile_path));
	tmpcount++;
	assert_non_null(fp = fopen(tmpfile_path, "w"));
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	return tmpfile_path;
}

static int
load_text(const char *text, struct conf *c, char *err, size_t errsz)
{
	return conf_load(c, write_conf(text), 1, err, errsz);
}

/* The text must be refused with exactly "FILE:" + expect. */
static void
expect_error(const char *text, const char *expect)
{
	struct conf	 c, before;
	char		 err[512], want[1024];
	const char	*path;

	memset(&c, 0xa5, sizeof(c));
	before = c;
	path = write_conf(text);
	assert_int_equal(conf_load(&c, path, 1, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s:%s", path, expect);
	assert_string_equal(err, want);
	/* A refused file must leave the caller's settings alone. */
	assert_memory_equal(&c, &before, sizeof(c));
}

static void
assert_defaults(const struct conf *c)
{
	assert_int_equal(c->nlisten, 1);
	assert_string_equal(c->listen[0].address, "127.0.0.1");
	assert_int_equal(c->listen[0].port, 7443);
	assert_string_equal(c->user, "_securechat");
	assert_string_equal(c->state_dir, LOCALSTATEDIR "/lib/securechat");
	assert_string_equal(c->runtime_dir, RUNSTATEDIR "/securechat");
	assert_string_equal(c->empty_dir, RUNSTATEDIR "/securechat/empty");
	assert_string_equal(c->tls_certificate,
	    SYSCONFDIR "/securechat/server.crt");
	assert_string_equal(c->tls_private_key,
	    SYSCONFDIR "/securechat/server.key");
	assert_int_equal(c->tls_generate, 1);
	assert_int_equal(c->max_clients, 1024);
	assert_int_equal(c->max_clients_per_ip, 32);
	assert_int_equal(c->ipv4_prefix, 32);
	assert_int_equal(c->ipv6_prefix, 64);
	assert_int_equal(c->max_clients_per_prefix, 64);
	assert_int_equal(c->accept_rate, 10);
	assert_int_equal(c->accept_burst, 20);
	assert_int_equal(c->accept_rate_per_prefix, 20);
	assert_int_equal(c->accept_burst_per_prefix, 40);
	assert_int_equal(c->max_frame_bytes, 65536);
	assert_int_equal(c->handshake_timeout, 10);
	assert_int_equal(c->idle_timeout, 300);
	assert_int_equal(c->login_timeout, 30);
	assert_int_equal(c->message_rate, 5);
	assert_int_equal(c->message_burst, 10);
	assert_int_equal(c->request_rate, 20);
	assert_int_equal(c->request_burst, 200);
	assert_int_equal(c->storage_mib_per_day, 256);
	assert_int_equal(c->storage_burst_mib, 16);
	assert_int_equal(c->inbox_max_messages, 10000);
	assert_int_equal(c->inbox_max_mib, 64);
	assert_int_equal(c->registrations_per_hour, 10);
	assert_int_equal(c->room_creates_per_hour, 60);
	assert_int_equal(c->max_rooms_per_user, 1000);
	assert_int_equal(c->max_members_per_room, 5000);
	assert_int_equal(c->max_rooms, 100000);
	assert_int_equal(c->retention, 30);
	assert_int_equal(c->rekey_min, 30);
	assert_int_equal(c->rekey_max, 120);
	assert_int_equal(c->registration, REG_OPEN);
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
}

static void
test_defaults(void **state)
{
	struct conf	 c;

	memset(&c, 0xa5, sizeof(c));
	conf_defaults(&c);
	assert_string_equal(c.path, "");
	assert_defaults(&c);
	assert_string_equal(CONF_DEFAULT_FILE, SYSCONFDIR "/securechat.conf");
}

static void
test_empty_file(void **state)
{
	struct conf	 c;
	char		 err[512];
	const char	*path;

	path = write_conf("");
	assert_int_equal(conf_load(&c, path, 1, err, sizeof(err)), 0);
	assert_string_equal(c.path, path);
	assert_defaults(&c);

	path = write_conf("# only a comment\n\n// and another\n");
	assert_int_equal(conf_load(&c, path, 1, err, sizeof(err)), 0);
	assert_defaults(&c);
}

static void
test_missing_file(void **state)
{
	struct conf	 c, before;
	char		 err[512], path[PATH_MAX + 32], want[PATH_MAX + 128];

	(void)snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);

	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(conf_load(&c, path, 0, err, sizeof(err)), 0);
	assert_string_equal(c.path, "");
	assert_defaults(&c);

	memset(&c, 0xa5, sizeof(c));
	before = c;
	assert_int_equal(conf_load(&c, path, 1, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(ENOENT));
	assert_string_equal(err, want);
	assert_memory_equal(&c, &before, sizeof(c));

	/* Only a missing file is forgiven, not one that cannot be read. */
	assert_int_equal(conf_load(&c, tmpdir, 0, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	assert_string_equal(err, want);
}

static const char full_sample[] =
    "# every option away from its default\n"
    "listen = (\n"
    "\t{ address = \"0.0.0.0\"; port = 9000; },\n"
    "\t{ address = \"::\"; },\n"
    "\t{ port = 1; address = \"fe80::1\"; }\n"
    ");\n"
    "user = \"chat-d_1\";\n"
    "state_dir = \"/srv/sc/state\";\n"
    "runtime_dir = \"/run/sc\";\n"
    "empty_dir = \"/run/sc/empty\";\n"
    "tls = {\n"
    "\tcertificate = \"/etc/sc/cert.pem\";\n"
    "\tprivate_key = \"/etc/sc/key.pem\";\n"
    "\tgenerate = false;\n"
    "};\n"
    "limits = {\n"
    "\tmax_clients = 65535;\n"
    "\tmax_clients_per_ip = 65535;\n"
    "\tipv4_prefix = 24;\n"
    "\tipv6_prefix = 48;\n"
    "\tmax_clients_per_prefix = 65535;\n"
    "\taccept_rate = 100000;\n"
    "\taccept_burst = 1000000;\n"
    "\taccept_rate_per_prefix = 3;\n"
    "\taccept_burst_per_prefix = 4;\n"
    "\tmax_frame_bytes = 16777216L;\n"
    "\thandshake_timeout = 300;\n"
    "\tidle_timeout = 10;\n"
    "\tlogin_timeout = 3600;\n"
    "\trequest_rate = 7;\n"
    "\trequest_burst = 70;\n"
    "\tstorage_mib_per_day = 3;\n"
    "\tstorage_burst_mib = 2;\n"
    "\tinbox_max_messages = 99;\n"
    "\tinbox_max_mib = 9;\n"
    "\tregistrations_per_hour = 4;\n"
    "\troom_creates_per_hour = 6;\n"
    "\tmax_rooms_per_user = 11;\n"
    "\tmax_members_per_room = 12;\n"
    "\tmax_rooms = 13;\n"
    "};\n"
    "rekey = { min_seconds = 1; max_seconds = 1; };\n"
    "registration = \"invite\";\n"
    "log = { level = \"debug\"; };\n";

/* The rates, quotas and caps of full_sample, read or reloaded. */
static void
assert_abuse_limits(const struct conf *c)
{
	assert_int_equal(c->request_rate, 7);
	assert_int_equal(c->request_burst, 70);
	assert_int_equal(c->storage_mib_per_day, 3);
	assert_int_equal(c->storage_burst_mib, 2);
	assert_int_equal(c->inbox_max_messages, 99);
	assert_int_equal(c->inbox_max_mib, 9);
	assert_int_equal(c->registrations_per_hour, 4);
	assert_int_equal(c->room_creates_per_hour, 6);
	assert_int_equal(c->max_rooms_per_user, 11);
	assert_int_equal(c->max_members_per_room, 12);
	assert_int_equal(c->max_rooms, 13);
}

static void
test_full_sample(void **state)
{
	struct conf	 c;
	char		 err[512];

	err[0] = '\0';
	if (load_text(full_sample, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.nlisten, 3);
	assert_string_equal(c.listen[0].address, "0.0.0.0");
	assert_int_equal(c.listen[0].port, 9000);
	assert_string_equal(c.listen[1].address, "::");
	assert_int_equal(c.listen[1].port, 7443);
	assert_string_equal(c.listen[2].address, "fe80::1");
	assert_int_equal(c.listen[2].port, 1);
	assert_string_equal(c.user, "chat-d_1");
	assert_string_equal(c.state_dir, "/srv/sc/state");
	assert_string_equal(c.runtime_dir, "/run/sc");
	assert_string_equal(c.empty_dir, "/run/sc/empty");
	assert_string_equal(c.tls_certificate, "/etc/sc/cert.pem");
	assert_string_equal(c.tls_private_key, "/etc/sc/key.pem");
	assert_int_equal(c.tls_generate, 0);
	assert_int_equal(c.max_clients, 65535);
	assert_int_equal(c.max_clients_per_ip, 65535);
	assert_int_equal(c.ipv4_prefix, 24);
	assert_int_equal(c.ipv6_prefix, 48);
	assert_int_equal(c.max_clients_per_prefix, 65535);
	assert_int_equal(c.accept_rate, 100000);
	assert_int_equal(c.accept_burst, 1000000);
	assert_int_equal(c.accept_rate_per_prefix, 3);
	assert_int_equal(c.accept_burst_per_prefix, 4);
	assert_int_equal(c.max_frame_bytes, 16777216);
	assert_int_equal(c.handshake_timeout, 300);
	assert_int_equal(c.idle_timeout, 10);
	assert_int_equal(c.login_timeout, 3600);
	assert_abuse_limits(&c);
	assert_int_equal(c.rekey_min, 1);
	assert_int_equal(c.rekey_max, 1);
	assert_int_equal(c.registration, REG_INVITE);
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
}

static void
test_enum_values(void **state)
{
	static const struct {
		const char	*text;
		int		 reg;
		int		 level;
	} t[] = {
		{ "registration = \"open\"; log = { level = \"error\"; };",
		    REG_OPEN, LOG_LEVEL_ERROR },
		{ "registration = \"invite\"; log = { level = \"warn\"; };",
		    REG_INVITE, LOG_LEVEL_WARN },
		{ "registration = \"closed\"; log = { level = \"info\"; };",
		    REG_CLOSED, LOG_LEVEL_INFO },
		{ "registration = \"open\"; log = { level = \"debug\"; };",
		    REG_OPEN, LOG_LEVEL_DEBUG },
	};
	struct conf	 c;
	char		 err[512];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(load_text(t[i].text, &c, err, sizeof(err)),
		    0);
		assert_int_equal(c.registration, t[i].reg);
		assert_int_equal(c.log_level, t[i].level);
	}
	assert_string_equal(conf_registration_name(REG_OPEN), "open");
	assert_string_equal(conf_registration_name(REG_INVITE), "invite");
	assert_string_equal(conf_registration_name(REG_CLOSED), "closed");
	assert_string_equal(conf_log_level_name(LOG_LEVEL_ERROR), "error");
	assert_string_equal(conf_log_level_name(LOG_LEVEL_WARN), "warn");
	assert_string_equal(conf_log_level_name(LOG_LEVEL_INFO), "info");
	assert_string_equal(conf_log_level_name(LOG_LEVEL_DEBUG), "debug");
	assert_string_equal(conf_log_level_name(4), "unknown");
	assert_string_equal(conf_log_level_name(-1), "unknown");
}

static void
test_etc_sample(void **state)
{
	struct conf	 c;
	char		 err[512], path[PATH_MAX];
	const char	*top;

	if ((top = getenv("top_srcdir")) == NULL || *top == '\0')
		top = ".";
	assert_true(snprintf(path, sizeof(path), "%s/etc/securechat.conf",
	    top) < (int)sizeof(path));
	err[0] = '\0';
	if (conf_load(&c, path, 1, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.path, path);
	/* The sample documents the defaults; it changes none of them. */
	assert_defaults(&c);
}

static void
test_unknown_options(void **state)
{
	expect_error("user = \"_securechat\";\nfoo = 1;\n",
	    "2: unknown option 'foo'");
	expect_error("limits = {\n\tmax_clients = 10;\n\tmax_client = 5;\n};\n",
	    "3: unknown option 'limits.max_client'");
	expect_error("tls = {\n\tgenerate = true;\n\textra = { a = 1; };\n};\n",
	    "3: unknown option 'tls.extra'");
	expect_error("listen = (\n\t{ address = \"::1\"; },\n"
	    "\t{ address = \"::1\"; port = 2;\n\t  host = \"x\"; }\n);\n",
	    "4: unknown option 'listen[1].host'");
	/* A name of a nested option is not valid at the top. */
	expect_error("\n\nmax_clients = 10;\n",
	    "3: unknown option 'max_clients'");
	/* Nor a top-level one inside a group. */
	expect_error("log = { user = \"x\"; };\n",
	    "1: unknown option 'log.user'");
}

static void
test_wrong_types(void **state)
{
	expect_error("\nlimits = { max_clients = \"10\"; };\n",
	    "2: limits.max_clients: expected an integer");
	expect_error("limits = {\n\tidle_timeout = 1.5;\n};\n",
	    "2: limits.idle_timeout: expected an integer");
	expect_error("rekey = { min_seconds = true; };\n",
	    "1: rekey.min_seconds: expected an integer");
	expect_error("listen = ( { address = \"::1\"; port = \"7443\"; } );\n",
	    "1: listen[0].port: expected an integer");
	expect_error("user = 5;\n", "1: user: expected a string");
	expect_error("\nstate_dir = true;\n", "2: state_dir: expected a string");
	expect_error("tls = { certificate = [ \"/a\" ]; };\n",
	    "1: tls.certificate: expected a string");
	expect_error("registration = 1;\n",
	    "1: registration: expected a string");
	expect_error("log = { level = 3; };\n",
	    "1: log.level: expected a string");
	expect_error("listen = ( { address = 127; } );\n",
	    "1: listen[0].address: expected a string");
	expect_error("tls = {\n\tgenerate = 1;\n};\n",
	    "2: tls.generate: expected a boolean (true or false)");
	expect_error("tls = { generate = \"yes\"; };\n",
	    "1: tls.generate: expected a boolean (true or false)");
	expect_error("listen = { address = \"::1\"; };\n",
	    "1: listen: expected a list of groups");
	expect_error("listen = \"127.0.0.1\";\n",
	    "1: listen: expected a list of groups");
	expect_error("listen = (\n\t\"127.0.0.1\"\n);\n",
	    "1: listen[0]: expected a group");
	expect_error("limits = 5;\n", "1: limits: expected a group ({ ... })");
	expect_error("rekey = ( 1, 2 );\n",
	    "1: rekey: expected a group ({ ... })");
}

static void
test_integer_ranges(void **state)
{
	/* extra: the sibling that lets both ends of the range be valid. */
#define R(g, n, lo, hi, extra, m)	{ g, n, lo, hi, extra, \
	    offsetof(struct conf, m) }
	static const struct {
		const char	*group;
		const char	*name;
		long long	 min;
		long long	 max;
		const char	*extra;
		size_t		 off;
	} t[] = {
		R("limits", "max_clients", 1, 65535, "max_clients_per_ip = 1; "
		    "max_clients_per_prefix = 1; ", max_clients),
		R("limits", "max_clients_per_ip", 1, 65535,
		    "max_clients = 65535; ", max_clients_per_ip),
		R("limits", "max_clients_per_prefix", 1, 65535,
		    "max_clients = 65535; ", max_clients_per_prefix),
		R("limits", "accept_rate", 1, 100000, "", accept_rate),
		R("limits", "accept_burst", 1, 1000000, "", accept_burst),
		R("limits", "accept_rate_per_prefix", 1, 100000, "",
		    accept_rate_per_prefix),
		R("limits", "accept_burst_per_prefix", 1, 1000000, "",
		    accept_burst_per_prefix),
		R("limits", "max_frame_bytes", FRAME_MIN_MAX,
		    FRAME_MAX_CEILING, "", max_frame_bytes),
		R("limits", "handshake_timeout", 1, 300, "", handshake_timeout),
		R("limits", "idle_timeout", 10, 86400, "", idle_timeout),
		R("limits", "login_timeout", 2, 3600, "", login_timeout),
		R("limits", "message_rate", 1, 100000, "", message_rate),
		R("limits", "message_burst", 1, 1000000, "", message_burst),
		R("limits", "request_rate", 1, 100000, "", request_rate),
		R("limits", "request_burst", 1, 1000000, "", request_burst),
		R("limits", "storage_mib_per_day", 1, 1048576, "",
		    storage_mib_per_day),
		R("limits", "storage_burst_mib", 1, 65536, "",
		    storage_burst_mib),
		R("limits", "inbox_max_messages", 1, 100000000, "",
		    inbox_max_messages),
		R("limits", "inbox_max_mib", 1, 1048576, "", inbox_max_mib),
		R("limits", "registrations_per_hour", 1, 1000000, "",
		    registrations_per_hour),
		R("limits", "room_creates_per_hour", 1, 1000000, "",
		    room_creates_per_hour),
		R("limits", "max_rooms_per_user", 1, 1000000, "",
		    max_rooms_per_user),
		R("limits", "max_members_per_room", 2, 1000000, "",
		    max_members_per_room),
		R("limits", "max_rooms", 1, 100000000, "", max_rooms),
		R("rekey", "min_seconds", 1, 86400, "max_seconds = 86400; ",
		    rekey_min),
		R("rekey", "max_seconds", 1, 86400, "min_seconds = 1; ",
		    rekey_max),
	};
#undef R
	struct conf	 c;
	char		 text[256], want[256], err[512];
	long long	 bad[3], v;
	unsigned int	 got;
	size_t		 i, j;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bad[0] = t[i].min - 1;
		bad[1] = t[i].max + 1;
		bad[2] = -1;
		for (j = 0; j < 3; j++) {
			(void)snprintf(text, sizeof(text),
			    "%s = {\n\t%s = %lld;\n};\n", t[i].group,
			    t[i].name, bad[j]);
			(void)snprintf(want, sizeof(want),
			    "2: %s.%s: %lld is out of range (%lld..%lld)",
			    t[i].group, t[i].name, bad[j], t[i].min,
			    t[i].max);
			expect_error(text, want);
		}
		for (j = 0; j < 2; j++) {
			v = j ? t[i].max : t[i].min;
			(void)snprintf(text, sizeof(text),
			    "%s = { %s%s = %lld; };\n", t[i].group,
			    t[i].extra, t[i].name, v);
			if (load_text(text, &c, err, sizeof(err)) != 0)
				fail_msg("%s: %s", text, err);
			memcpy(&got, (const char *)&c + t[i].off, sizeof(got));
			assert_int_equal(got, v);
		}
	}
	/*
	 * libconfig 1.5 truncates a literal past 32 bits (4294968320 would
	 * read as 1024), so such a literal is refused before it gets there.
	 */
	expect_error("limits = {\n\tmax_frame_bytes = 4294968320;\n};\n",
	    "2: integer 4294968320 does not fit in 32 bits");
	expect_error("\nlimits = { max_clients = 0x100000401; };\n",
	    "2: integer 0x100000401 does not fit in 32 bits");
	expect_error("limits = { max_clients = 0xFFFFFFFF; };\n",
	    "1: integer 0xFFFFFFFF does not fit in 32 bits");
	expect_error("limits = { max_clients = -2147483649; };\n",
	    "1: integer -2147483649 does not fit in 32 bits");
	expect_error("limits = { max_clients = "
	    "123456789012345678901234567890123456789; };\n",
	    "1: integer 1234567890123456789012345678901... "
	    "does not fit in 32 bits");
	expect_error("limits = { max_clients = 2147483647; };\n",
	    "1: limits.max_clients: 2147483647 is out of range (1..65535)");
	expect_error("limits = { max_clients = -2147483648; };\n",
	    "1: limits.max_clients: -2147483648 is out of range (1..65535)");
	/* An int64 literal is read whole, and range-checked. */
	expect_error("limits = { max_frame_bytes = 4294968320L; };\n",
	    "1: limits.max_frame_bytes: 4294968320 is out of range "
	    "(1024..16777216)");
	/* Digits in strings, comments, names and floats are not integers. */
	assert_int_equal(load_text("# 99999999999\n"
	    "/* 4294967296\n 4294967296 */ // 4294967296\n"
	    "state_dir = \"/srv/4294967296\\\" 4294967296\";\n"
	    "limits = { idle_timeout = 4294967296.5; };\n", &c, err,
	    sizeof(err)), -1);
	assert_string_equal(strchr(err, ':') + 1,
	    "5: limits.idle_timeout: expected an integer");
	assert_int_equal(load_text("limits = { max_frame_bytes = 2048L; };\n",
	    &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_frame_bytes, 2048);
	assert_int_equal(load_text("limits = { max_frame_bytes = 0x800; };\n",
	    &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_frame_bytes, 2048);
}

static void
test_cross_checks(void **state)
{
	struct conf	 c;
	char		 err[512];

	expect_error("limits = {\n\tmax_clients_per_ip = 11;\n"
	    "\tmax_clients = 10;\n};\n",
	    "2: limits.max_clients_per_ip: 11 is out of range "
	    "(1..10, limits.max_clients)");
	/* Checked after every option is read, whatever the order. */
	expect_error("limits = {\n\tmax_clients_per_ip = 2000;\n};\n",
	    "2: limits.max_clients_per_ip: 2000 is out of range "
	    "(1..1024, limits.max_clients)");
	assert_int_equal(load_text("limits = { max_clients = 10; "
	    "max_clients_per_ip = 10; };\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_clients_per_ip, 10);
	/* An unset per-address limit follows a lowered total. */
	assert_int_equal(load_text("limits = { max_clients = 10; };\n",
	    &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_clients, 10);
	assert_int_equal(c.max_clients_per_ip, 10);
	assert_int_equal(c.max_clients_per_prefix, 10);
	/* The per-prefix limit likewise. */
	expect_error("limits = {\n\tmax_clients = 100;\n"
	    "\tmax_clients_per_prefix = 101;\n};\n",
	    "3: limits.max_clients_per_prefix: 101 is out of range "
	    "(1..100, limits.max_clients)");

	expect_error("rekey = {\n\tmin_seconds = 60;\n\tmax_seconds = 50;\n};\n",
	    "3: rekey.min_seconds (60) is greater than rekey.max_seconds (50)");
	expect_error("\nrekey = {\n\tmin_seconds = 200;\n};\n",
	    "3: rekey.min_seconds (200) is greater than rekey.max_seconds (120)");
	expect_error("rekey = {\n\tmax_seconds = 20;\n};\n",
	    "2: rekey.min_seconds (30) is greater than rekey.max_seconds (20)");
	assert_int_equal(load_text("rekey = { min_seconds = 45; "
	    "max_seconds = 45; };\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.rekey_min, 45);
	assert_int_equal(c.rekey_max, 45);
}

static void
test_listen(void **state)
{
	struct conf	 c;
	char		 text[4096], err[512];
	size_t		 len;
	int		 i, j;

	expect_error("listen = (\n\t{ address = \"127.0.0.1\"; },\n"
	    "\t{ address = \"10.0.0.x\"; }\n);\n",
	    "3: listen[1].address: '10.0.0.x' is not a numeric IP address");
	expect_error("listen = ( { address = \"localhost\"; } );\n",
	    "1: listen[0].address: 'localhost' is not a numeric IP address");
	expect_error("listen = ( { address = \"\"; } );\n",
	    "1: listen[0].address: '' is not a numeric IP address");
	expect_error("listen = ( { address = \"127.0.0.1:80\"; } );\n",
	    "1: listen[0].address: '127.0.0.1:80' is not a numeric IP "
	    "address");
	expect_error("listen = (\n\t{ address = \"::1\";\n\t  port = 0; }\n);\n",
	    "3: listen[0].port: 0 is out of range (1..65535)");
	expect_error("listen = ( { address = \"::1\"; port = 65536; } );\n",
	    "1: listen[0].port: 65536 is out of range (1..65535)");
	expect_error("listen = ( { address = \"::1\"; port = -1; } );\n",
	    "1: listen[0].port: -1 is out of range (1..65535)");
	expect_error("listen = ();\n",
	    "1: listen: at least one entry is required");
	expect_error("\nlisten = [];\n",
	    "2: listen: at least one entry is required");
	expect_error("listen = (\n\t{ port = 7000; }\n);\n",
	    "2: listen[0].address: missing");
	/* The same socket twice, even spelt differently, cannot bind. */
	expect_error("listen = (\n\t{ address = \"::1\"; },\n"
	    "\t{ address = \"0:0::1\"; port = 7443; }\n);\n",
	    "3: listen[1]: 0:0::1 port 7443 is already listen[0]");

	/* CONF_MAX_LISTEN entries fit; one more does not. */
	for (i = CONF_MAX_LISTEN; i <= CONF_MAX_LISTEN + 1; i++) {
		len = (size_t)snprintf(text, sizeof(text), "\nlisten = (");
		for (j = 0; j < i; j++) {
			assert_true(len < sizeof(text));
			len += (size_t)snprintf(text + len, sizeof(text) - len,
			    "%s{ address = \"127.0.0.%d\"; port = %d; }",
			    j ? ", " : "", j + 1, 7000 + j);
		}
		assert_true(len < sizeof(text));
		(void)snprintf(text + len, sizeof(text) - len, ");\n");
		if (i == CONF_MAX_LISTEN) {
			if (load_text(text, &c, err, sizeof(err)) != 0)
				fail_msg("%s", err);
			assert_int_equal(c.nlisten, CONF_MAX_LISTEN);
			assert_string_equal(c.listen[15].address, "127.0.0.16");
			assert_int_equal(c.listen[15].port, 7015);
		} else
			expect_error(text, "2: listen: 17 entries, at most 16");
	}
}

static void
test_strings(void **state)
{
	static const struct {
		const char	*pre;
		const char	*post;
		const char	*name;	/* line and option in the error */
	} paths[] = {
		{ "state_dir = \"", "\";\n", "1: state_dir" },
		{ "runtime_dir = \"", "\";\n", "1: runtime_dir" },
		{ "empty_dir = \"", "\";\n", "1: empty_dir" },
		{ "tls = {\n\tcertificate = \"", "\";\n};\n",
		    "2: tls.certificate" },
		{ "tls = {\n\tprivate_key = \"", "\";\n};\n",
		    "2: tls.private_key" },
	};
	struct conf	 c;
	char		 text[PATH_MAX + 128], want[256], err[512];
	char		 longpath[PATH_MAX + 1];
	size_t		 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		(void)snprintf(text, sizeof(text), "%s%s%s", paths[i].pre,
		    "var/lib/sc", paths[i].post);
		(void)snprintf(want, sizeof(want),
		    "%s: 'var/lib/sc' is not an absolute path", paths[i].name);
		expect_error(text, want);
		(void)snprintf(text, sizeof(text), "%s%s", paths[i].pre,
		    paths[i].post);
		(void)snprintf(want, sizeof(want),
		    "%s: '' is not an absolute path", paths[i].name);
		expect_error(text, want);
		/* One byte more than the struct can hold. */
		memset(longpath, 'a', PATH_MAX);
		longpath[0] = '/';
		longpath[PATH_MAX] = '\0';
		(void)snprintf(text, sizeof(text), "%s%s%s", paths[i].pre,
		    longpath, paths[i].post);
		(void)snprintf(want, sizeof(want),
		    "%s: value is too long (at most %d bytes)", paths[i].name,
		    PATH_MAX - 1);
		expect_error(text, want);
	}

	expect_error("user = \"Root\";\n", "1: user: 'Root' is not a valid "
	    "user name ([a-z_][a-z0-9_-]{0,31})");
	expect_error("user = \"\";\n", "1: user: '' is not a valid "
	    "user name ([a-z_][a-z0-9_-]{0,31})");
	expect_error("user = \"1chat\";\n", "1: user: '1chat' is not a "
	    "valid user name ([a-z_][a-z0-9_-]{0,31})");
	expect_error("user = \"-chat\";\n", "1: user: '-chat' is not a "
	    "valid user name ([a-z_][a-z0-9_-]{0,31})");
	expect_error("user = \"ch at\";\n", "1: user: 'ch at' is not a "
	    "valid user name ([a-z_][a-z0-9_-]{0,31})");
	expect_error("user = \"a23456789012345678901234567890123\";\n",
	    "1: user: 'a23456789012345678901234567890123' is not a valid "
	    "user name ([a-z_][a-z0-9_-]{0,31})");
	assert_int_equal(load_text(
	    "user = \"a2345678901234567890123456789012\";\n",
	    &c, err, sizeof(err)), 0);
	assert_string_equal(c.user, "a2345678901234567890123456789012");

	expect_error("\n\nregistration = \"free\";\n",
	    "3: registration: 'free' is not one of open, invite, closed");
	expect_error("registration = \"Open\";\n",
	    "1: registration: 'Open' is not one of open, invite, closed");
	expect_error("log = {\n\tlevel = \"verbose\";\n};\n",
	    "2: log.level: 'verbose' is not one of error, warn, info, debug");
	expect_error("log = { level = \"\"; };\n",
	    "1: log.level: '' is not one of error, warn, info, debug");
}

static void
test_syntax_error(void **state)
{
	struct conf	 c, before;
	char		 err[512], want[PATH_MAX + 64];
	const char	*path;
	static const struct {
		const char	*text;
		int		 line;
	} t[] = {
		{ "user = \"_securechat\";\nlimits = {\n\tmax_clients 10;\n};\n",
		    3 },
		{ "\n\n\n\nuser = ;\n", 5 },
		{ "tls = { generate = yes; };\n", 1 },
		{ "limits = { max_clients = 1; };\nlimits = { };\n", 2 },
		{ "user = \"a\";\nuser = \"b\";\n", 2 },
	};
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&c, 0xa5, sizeof(c));
		before = c;
		path = write_conf(t[i].text);
		assert_int_equal(conf_load(&c, path, 1, err, sizeof(err)), -1);
		(void)snprintf(want, sizeof(want), "%s:%d: syntax error: ",
		    path, t[i].line);
		if (strncmp(err, want, strlen(want)) != 0 ||
		    strlen(err) == strlen(want))
			fail_msg("got \"%s\", want \"%s...\"", err, want);
		assert_memory_equal(&c, &before, sizeof(c));
	}
}

static char	reported[8][32];
static int	nreported;

static void
record_report(const char *option)
{
	assert_true(nreported < 8);
	(void)snprintf(reported[nreported++], sizeof(reported[0]), "%s",
	    option);
}

static void
test_reload(void **state)
{
	struct conf	 live, fresh;
	char		 err[512];

	conf_defaults(&live);
	assert_int_equal(load_text(full_sample, &fresh, err, sizeof(err)), 0);

	nreported = 0;
	assert_int_equal(conf_reload(&live, &fresh, record_report), 5);
	assert_int_equal(nreported, 5);
	assert_string_equal(reported[0], "listen");
	assert_string_equal(reported[1], "user");
	assert_string_equal(reported[2], "state_dir");
	assert_string_equal(reported[3], "runtime_dir");
	assert_string_equal(reported[4], "empty_dir");

	/* Kept: what was bound and dropped to at start. */
	assert_int_equal(live.nlisten, 1);
	assert_string_equal(live.listen[0].address, "127.0.0.1");
	assert_int_equal(live.listen[0].port, 7443);
	assert_string_equal(live.user, "_securechat");
	assert_string_equal(live.state_dir, LOCALSTATEDIR "/lib/securechat");
	assert_string_equal(live.runtime_dir, RUNSTATEDIR "/securechat");
	assert_string_equal(live.empty_dir, RUNSTATEDIR "/securechat/empty");

	/* Copied: everything else. */
	assert_string_equal(live.tls_certificate, "/etc/sc/cert.pem");
	assert_string_equal(live.tls_private_key, "/etc/sc/key.pem");
	assert_int_equal(live.tls_generate, 0);
	assert_int_equal(live.max_clients, 65535);
	assert_int_equal(live.max_clients_per_ip, 65535);
	assert_int_equal(live.max_clients_per_prefix, 65535);
	assert_int_equal(live.accept_rate, 100000);
	assert_int_equal(live.accept_burst, 1000000);
	assert_int_equal(live.accept_rate_per_prefix, 3);
	assert_int_equal(live.accept_burst_per_prefix, 4);
	assert_int_equal(live.max_frame_bytes, 16777216);
	assert_int_equal(live.handshake_timeout, 300);
	assert_int_equal(live.idle_timeout, 10);
	assert_int_equal(live.login_timeout, 3600);
	assert_abuse_limits(&live);
	assert_int_equal(live.rekey_min, 1);
	assert_int_equal(live.rekey_max, 1);
	assert_int_equal(live.registration, REG_INVITE);
	assert_int_equal(live.log_level, LOG_LEVEL_DEBUG);

	/* Reloading the same file again changes and reports nothing. */
	conf_defaults(&live);
	conf_defaults(&fresh);
	nreported = 0;
	assert_int_equal(conf_reload(&live, &fresh, record_report), 0);
	assert_int_equal(nreported, 0);

	/* A respelt address is the same socket; a new port is not. */
	(void)snprintf(fresh.listen[0].address,
	    sizeof(fresh.listen[0].address), "127.000.0.1");
	snprintf(live.listen[0].address, sizeof(live.listen[0].address),
	    "::1");
	snprintf(fresh.listen[0].address, sizeof(fresh.listen[0].address),
	    "0:0:0::1");
	assert_int_equal(conf_reload(&live, &fresh, record_report), 0);
	fresh.listen[0].port = 7444;
	assert_int_equal(conf_reload(&live, &fresh, record_report), 1);
	assert_string_equal(reported[0], "listen");
	assert_int_equal(live.listen[0].port, 7443);
	fresh.listen[0].port = 7443;
	fresh.nlisten = 2;
	(void)snprintf(fresh.listen[1].address,
	    sizeof(fresh.listen[1].address), "::");
	fresh.listen[1].port = 7443;
	nreported = 0;
	assert_int_equal(conf_reload(&live, &fresh, record_report), 1);
	assert_int_equal(live.nlisten, 1);

	/* Only user differs: only user is reported. */
	conf_defaults(&live);
	conf_defaults(&fresh);
	(void)snprintf(fresh.user, sizeof(fresh.user), "other");
	fresh.log_level = LOG_LEVEL_WARN;
	nreported = 0;
	assert_int_equal(conf_reload(&live, &fresh, record_report), 1);
	assert_int_equal(nreported, 1);
	assert_string_equal(reported[0], "user");
	assert_string_equal(live.user, "_securechat");
	assert_int_equal(live.log_level, LOG_LEVEL_WARN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_full_sample),
		cmocka_unit_test(test_enum_values),
		cmocka_unit_test(test_etc_sample),
		cmocka_unit_test(test_unknown_options),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_integer_ranges),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
