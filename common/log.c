/*
 * log.c: one logging interface for every process.  In the foreground lines
 * go to stderr as "securechatd[pid]: role: text".  Otherwise the master
 * hands each line to a sink (the journal or syslog, daemon/master-log.c),
 * and a sandboxed child, which could never reopen a log socket, sends it
 * as a datagram on its stderr to the master, which relays it.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sys/socket.h>

#include "log.h"

enum log_dest {
	DEST_STDERR,
	DEST_SYSLOG,
	DEST_RELAY,		/* datagrams on stderr, to the master */
	DEST_SINK,
};

static enum log_dest	 log_dest = DEST_STDERR;
static log_sink_fn	 log_sink;
static int		 log_level = LOG_LEVEL_INFO;
static const char	*log_proc = "main";
static int		 log_exit_status = 1;
static int		 log_quick_exit;
static unsigned long	 log_dropped;	/* relay lines the master missed */

void
log_init(int foreground, int level)
{
	log_level = level;
	log_dest = foreground ? DEST_STDERR : DEST_SYSLOG;
	if (!foreground)
		openlog("securechatd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_init_relay(int level)
{
	log_level = level;
	log_dest = DEST_RELAY;
}

void
log_set_sink(log_sink_fn sink)
{
	log_sink = sink;
	log_dest = sink != NULL ? DEST_SINK : DEST_STDERR;
}

/*
 * A relayed record is "<PRI>F" (F: 'S' for a security event, '-' else),
 * the role, ": " and the text.  Never blocks: a master too busy to read
 * loses lines, and the next one that gets through says how many.
 */
static void
log_relay(int pri, int security, const char *line)
{
	char	 rec[LOG_RELAY_MAX];
	int	 n;

	if (log_dropped > 0)
		n = snprintf(rec, sizeof(rec), "<%d>%c%s: %s (%lu earlier "
		    "lines lost: the master was busy)", pri,
		    security ? 'S' : '-', log_proc, line, log_dropped);
	else
		n = snprintf(rec, sizeof(rec), "<%d>%c%s: %s", pri,
		    security ? 'S' : '-', log_proc, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(rec))
		n = sizeof(rec) - 1;
	if (send(STDERR_FILENO, rec, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    -1) {
		log_dropped++;
		return;
	}
	log_dropped = 0;
}

int
log_relay_parse(char *rec, size_t len, int *pri, int *security,
    const char **proc, const char **text)
{
	char	*p, *end, *colon;
	long	 v;

	if (len == 0 || len >= LOG_RELAY_MAX || rec[0] != '<')
		return -1;
	rec[len] = '\0';
	v = strtol(rec + 1, &end, 10);
	if (end == rec + 1 || *end != '>' || v < 0 || v > LOG_DEBUG)
		return -1;
	p = end + 1;
	if (*p != 'S' && *p != '-')
		return -1;
	*security = *p == 'S';
	*pri = (int)v;
	p++;
	if ((colon = strstr(p, ": ")) == NULL)
		return -1;
	*colon = '\0';
	*proc = p;
	*text = colon + 2;
	return 0;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

void
log_procname(const char *name)
{
	log_proc = name;
}

void
log_fatal_status(int status)
{
	log_exit_status = status;
}

void
log_child(void)
{
	log_quick_exit = 1;
}

/*
 * The text of an error number.  With _GNU_SOURCE, strerror_r returns the
 * text and may leave buf untouched; the XSI version fills buf.
 */
const char *
log_strerror(int errnum, char *buf, size_t len)
{
#ifdef STRERROR_R_CHAR_P
	return strerror_r(errnum, buf, len);
#else
	if (strerror_r(errnum, buf, len) != 0)
		(void)snprintf(buf, len, "error %d", errnum);
	return buf;
#endif
}

static void __attribute__((noreturn))
log_exit(void)
{
	/* Sandboxed children run no atexit handler: it could make a call
	 * their filter kills, and they have nothing to flush. */
	if (log_quick_exit)
		_exit(log_exit_status);
	exit(log_exit_status);
}

static void
vlog(int level, int pri, const char *tag, const char *fmt, va_list ap,
    const char *suffix)
{
	char	 msg[1024], line[1200];
	int	 saved = errno;
	int	 security = strncmp(tag, "security", 8) == 0;

	if (level > log_level)
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	(void)snprintf(line, sizeof(line), "%s%s%s%s", tag, msg,
	    suffix ? ": " : "", suffix ? suffix : "");
	switch (log_dest) {
	case DEST_STDERR:
		(void)dprintf(STDERR_FILENO, "securechatd[%ld]: %s: %s\n",
		    (long)getpid(), log_proc, line);
		break;
	case DEST_SYSLOG:
		syslog(pri, "%s: %s", log_proc, line);
		break;
	case DEST_RELAY:
		log_relay(pri, security, line);
		break;
	case DEST_SINK:
		log_sink(pri, security, (long)getpid(), log_proc, line);
		break;
	}
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list		 ap;
	char		 buf[128];
	const char	*err = log_strerror(errno, buf, sizeof(buf));

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, LOG_WARNING, "", fmt, ap, err);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_WARN, LOG_WARNING, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_INFO, LOG_INFO, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_DEBUG, LOG_DEBUG, "", fmt, ap, NULL);
	va_end(ap);
}

/* Security events are never filtered by level: operators alert on them. */
void
log_security(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, LOG_NOTICE, "security: ", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list		 ap;
	char		 buf[128];
	const char	*err = log_strerror(errno, buf, sizeof(buf));

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, LOG_CRIT, "fatal: ", fmt, ap, err);
	va_end(ap);
	log_exit();
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, LOG_CRIT, "fatal: ", fmt, ap, NULL);
	va_end(ap);
	log_exit();
}
