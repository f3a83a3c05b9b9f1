/*
 * settings.h: the client's configuration file (XDG config directory):
 * "key = value" lines for the server, the user, how things look and what
 * is kept.  Options on the command line override it.
 */
#ifndef SC_SETTINGS_H
#define SC_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SETTINGS_FILE_MAX	(64 * 1024)	/* bytes */
#define SETTINGS_LINE_MAX	1024
#define SETTINGS_VALUE_MAX	256
#define SETTINGS_TSFMT_MAX	32
#define SETTINGS_RETENTION_MAX	36500		/* days */
#define SETTINGS_DEFAULT_RETENTION 90		/* days */

enum settings_notify {
	NOTIFY_MENTIONS,	/* bell for a mention or a direct message */
	NOTIFY_ALL,		/* bell for anything in a window not shown */
	NOTIFY_NONE,
};

enum settings_interface {
	IFACE_AUTO,		/* full screen when the terminal can */
	IFACE_LINE,		/* always the line-based interface */
};

struct settings {
	char	 server[SETTINGS_VALUE_MAX];	/* "" when not set */
	char	 user[SETTINGS_VALUE_MAX];
	char	 ca_file[SETTINGS_VALUE_MAX];
	int	 colours;
	int	 timestamps;
	char	 timestamp_format[SETTINGS_TSFMT_MAX];
	enum settings_notify notify;
	char	 highlight[SETTINGS_VALUE_MAX];	/* extra words, blank-separated */
	int	 history_retention;	/* days; 0: keep none, -1: forever */
	enum settings_interface interface;
};

void	 settings_defaults(struct settings *);
/* strftime with timestamp_format, which is no literal. */
size_t	 settings_strftime(char *, size_t, const char *, const struct tm *);
/*
 * Read path into s (which holds the defaults or earlier values).
 * 0 on success, 1 if the file does not exist, -1 with "path:line: why"
 * in err.  The file must not be writable by group or others.
 */
int	 settings_load(struct settings *, const char *path, char *err,
	    size_t errsz);
/* Parse one buffer (the file's text); lines are counted from 1. */
int	 settings_parse(struct settings *, const char *name, const char *buf,
	    size_t len, char *err, size_t errsz);
/* $XDG_CONFIG_HOME/securechat/config or ~/.config/securechat/config. */
char	*settings_default_path(void);
/* $env/leaf, or ~/under_home/leaf; NULL if there is no home. */
char	*settings_xdg_path(const char *env, const char *under_home,
	    const char *leaf);

#endif
