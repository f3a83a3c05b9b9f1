/*
 * securechatd.c: main().  Parses the command line and the configuration,
 * then becomes the master, or, when re-executed with -x, a worker or the
 * broker with a fresh address space.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "securechatd.h"

static void
usage(void)
{
	fprintf(stderr, "usage: securechatd [-dnv] [-f file]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct conf	 conf;
	const char	*path = CONF_DEFAULT_FILE, *role = NULL;
	char		 err[PATH_MAX + 256];
	int		 ch, foreground = 0, checkonly = 0, verbose = 0;
	int		 path_given = 0;

	while ((ch = getopt(argc, argv, "df:nvx:")) != -1) {
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
	if (conf_load(&conf, path, path_given, err, sizeof(err)) == -1) {
		fprintf(stderr, "securechatd: %s\n", err);
		return 1;
	}
	if (checkonly) {
		printf("configuration OK%s%s\n", conf.path[0] ? ": " : " (built-in defaults)",
		    conf.path);
		return 0;
	}
	conf.log_level += verbose;
	if (conf.log_level > LOG_LEVEL_DEBUG)
		conf.log_level = LOG_LEVEL_DEBUG;
	return master_main(&conf, foreground, verbose);
}
