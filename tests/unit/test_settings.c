/*
 * test_settings.c: the client's configuration file parser: every key,
 * quoting, comments, and errors that name the line; a file others may
 * write is refused.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "settings.h"

static int
parse(struct settings *s, const char *text, char *err, size_t errsz)
{
	settings_defaults(s);
	err[0] = '\0';
	return settings_parse(s, "config", text, strlen(text), err, errsz);
}

static void
test_settings_defaults(void **state)
{
	struct settings	 s;
	char		 err[256];

	assert_int_equal(parse(&s, "", err, sizeof(err)), 0);
	assert_string_equal(s.server, "");
	assert_int_equal(s.colours, 1);
	assert_int_equal(s.timestamps, 1);
	assert_string_equal(s.timestamp_format, "%H:%M");
	assert_int_equal(s.notify, NOTIFY_MENTIONS);
	assert_int_equal(s.history_retention, SETTINGS_DEFAULT_RETENTION);
	assert_int_equal(s.interface, IFACE_AUTO);
}

static void
test_settings_every_key(void **state)
{
	struct settings	 s;
	char		 err[256];

	assert_int_equal(parse(&s,
	    "# a comment\n"
	    "\n"
	    "server = chat.example.org:7000\n"
	    "  user=Alice  \n"
	    "ca_file = \"/etc/ssl/my ca.pem\"\n"
	    "colours = no\n"
	    "timestamps = off\n"
	    "timestamp_format = \"%H:%M:%S\"\n"
	    "notify = all\r\n"
	    "highlight = deploy \"oncall\"\n"
	    "history_retention = 30d\n"
	    "interface = line\n", err, sizeof(err)), 0);
	assert_string_equal(s.server, "chat.example.org:7000");
	assert_string_equal(s.user, "alice");	/* folded */
	assert_string_equal(s.ca_file, "/etc/ssl/my ca.pem");
	assert_int_equal(s.colours, 0);
	assert_int_equal(s.timestamps, 0);
	assert_string_equal(s.timestamp_format, "%H:%M:%S");
	assert_int_equal(s.notify, NOTIFY_ALL);
	assert_string_equal(s.highlight, "deploy \"oncall\"");
	assert_int_equal(s.history_retention, 30);
	assert_int_equal(s.interface, IFACE_LINE);

	assert_int_equal(parse(&s, "history_retention = forever\n", err,
	    sizeof(err)), 0);
	assert_int_equal(s.history_retention, -1);
	assert_int_equal(parse(&s, "history_retention = 0", err,
	    sizeof(err)), 0);
	assert_int_equal(s.history_retention, 0);
	assert_int_equal(parse(&s, "timestamp_format = \"a \\\"q\\\" \\\\\"",
	    err, sizeof(err)), 0);
	assert_string_equal(s.timestamp_format, "a \"q\" \\");
}

/* Mistakes name the file and the line, and say what is expected. */
static void
test_settings_errors(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;
	} bad[] = {
		{ "servr = x\n", "config:1: unknown key 'servr'" },
		{ "\n\ncolours = maybe\n", "config:3: expected yes or no" },
		{ "user = not a name\n", "config:1: bad user" },
		{ "server = host:99999\n", "config:1: bad server" },
		{ "notify = loud\n", "config:1: notify is mentions" },
		{ "history_retention = -1\n", "config:1: history_retention" },
		{ "history_retention = 5y\n", "config:1: history_retention" },
		{ "interface = fancy\n", "config:1: interface is auto or line" },
		{ "server\n", "config:1: expected 'key = value'" },
		{ "server = \"x\n", "config:1: missing closing quote" },
		{ "server = \"x\" y\n", "config:1: text after the closing" },
		{ "user = a\nuser = b\n", "config:2: user given twice" },
		{ "highlight = a\tb\x01\n", "config:1: control character" },
		{ "timestamp_format = \"\"\n", "config:1: timestamp_format" },
	};
	struct settings	 s;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&s, bad[i].text, err, sizeof(err)), -1);
		if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
			fail_msg("'%s': got '%s', want '%s...'", bad[i].text,
			    err, bad[i].err);
	}
}

static void
test_settings_long_line(void **state)
{
	struct settings	 s;
	char		 err[256], *text;

	text = calloc(1, SETTINGS_LINE_MAX + 32);
	assert_non_null(text);
	memcpy(text, "highlight = ", 12);
	memset(text + 12, 'a', SETTINGS_LINE_MAX);
	assert_int_equal(parse(&s, text, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line longer than"));
	free(text);
}

/* A file others could write could send us to their server: refused. */
static void
test_settings_file_mode(void **state)
{
	struct settings	 s;
	char		 dir[] = "/tmp/test_settings.XXXXXX", path[64], err[256];
	FILE		*fp;

	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/config", dir);
	settings_defaults(&s);
	assert_int_equal(settings_load(&s, path, err, sizeof(err)), 1);
	assert_non_null(fp = fopen(path, "w"));
	assert_true(fputs("server = a.example:1\n", fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(settings_load(&s, path, err, sizeof(err)), 0);
	assert_string_equal(s.server, "a.example:1");
	assert_int_equal(chmod(path, 0666), 0);
	settings_defaults(&s);
	assert_int_equal(settings_load(&s, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "only you may write"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_settings_xdg(void **state)
{
	char	*p;

	assert_int_equal(setenv("XDG_CONFIG_HOME", "/x/cfg", 1), 0);
	p = settings_default_path();
	assert_string_equal(p, "/x/cfg/securechat/config");
	free(p);
	/* Relative: ignored, as the XDG spec says. */
	assert_int_equal(setenv("XDG_CONFIG_HOME", "cfg", 1), 0);
	assert_int_equal(setenv("HOME", "/home/u", 1), 0);
	p = settings_default_path();
	assert_string_equal(p, "/home/u/.config/securechat/config");
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_defaults),
		cmocka_unit_test(test_settings_every_key),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_settings_long_line),
		cmocka_unit_test(test_settings_file_mode),
		cmocka_unit_test(test_settings_xdg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
