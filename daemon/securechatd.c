/*
 * securechatd.c: main().  Parses the command line and the configuration,
 * then becomes the master, or, when re-executed with -x, a worker or the
 * broker with a fresh address space.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "ops.h"
#include "securechatd.h"

static void
usage(void)
{
	fprintf(stderr, "usage: securechatd [-dnVv] [-f file]\n");
	exit(2);
}

/*
 * The file's absolute path, so that a reload after the daemon has left
 * its starting directory reads the same file.  Links are kept: a reload
 * follows where they point then.
 */
static const char *
absolute(const char *path, char *buf, size_t bufsz)
{
	char	 cwd[PATH_MAX];

	if (path[0] == '/')
		return path;
	if (getcwd(cwd, sizeof(cwd)) == NULL ||
	    snprintf(buf, bufsz, "%s/%s", cwd, path) >= (int)bufsz) {
		fprintf(stderr, "securechatd: %s: cannot make the path "
		    "absolute\n", path);
		exit(1);
	}
	return buf;
}

static void
would(void *arg, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vprintf(fmt, ap);
	va_end(ap);
	(void)putchar('\n');
}

/* -n: everything a start checks, nothing made; say what a start would make. */
static int
check_only(const struct conf *c)
{
	struct setup_report	 r = { would, NULL };
	char			 err[PATH_MAX + 512];

	if (setup_check(c, 0, &r, err, sizeof(err)) == -1) {
		fprintf(stderr, "securechatd: %s\n", err);
		return 1;
	}
	printf("configuration OK%s%s\n", c->path[0] ? ": " :
	    " (built-in defaults)", c->path);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	const char	*path = CONF_DEFAULT_FILE, *role = NULL;
	char		 err[PATH_MAX + 256], abspath[PATH_MAX];
	int		 ch, foreground = 0, checkonly = 0, verbose = 0;
	int		 path_given = 0;

	while ((ch = getopt(argc, argv, "df:nVvx:")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			path = optarg;
			path_given = 1;
			break;
		case 'n':
			checkonly = 1;
			break;
		case 'V':
			printf("%s\n", SC_VERSION_STRING);
			return 0;
		case 'v':
			verbose++;
			break;
		case 'x':
			role = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* Re-executed children: settings arrive from the master. */
	if (role != NULL) {
		if (strcmp(role, "template") == 0)
			return template_main(foreground, argv);
		if (strcmp(role, "broker") == 0)
			return broker_main(foreground);
		if (strcmp(role, "keyproc") == 0)
			return keyproc_main(foreground);
		fprintf(stderr, "securechatd: unknown role '%s'\n", role);
		return 2;
	}

	conf_defaults(&conf);
	path = absolute(path, abspath, sizeof(abspath));
	if (conf_load(&conf, path, path_given, err, sizeof(err)) == -1) {
		fprintf(stderr, "securechatd: %s\n", err);
		return 1;
	}
	if (checkonly)
		return check_only(&conf);
	conf.log_level += verbose;
	if (conf.log_level > LOG_LEVEL_DEBUG)
		conf.log_level = LOG_LEVEL_DEBUG;
	return master_main(&conf, foreground, verbose);
}
