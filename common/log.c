/*
 * log.c: one logging interface for every process.  In the foreground lines
 * go to stderr as "securechatd[pid]: role: text"; otherwise to syslog, opened
 * with LOG_NDELAY so the socket exists before a chroot.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static int		 log_foreground = 1;
static int		 log_level = LOG_LEVEL_INFO;
static const char	*log_proc = "main";
static int		 log_exit_status = 1;
static int		 log_quick_exit;
static void		(*log_fatal_cb)(void);

void
log_init(int foreground, int level)
{
	log_foreground = foreground;
	log_level = level;
	if (!foreground)
		openlog("securechatd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
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

void
log_fatal_hook(void (*cb)(void))
{
	log_fatal_cb = cb;
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
	if (log_fatal_cb != NULL)
		log_fatal_cb();
	if (log_quick_exit)
		_exit(log_exit_status);
	exit(log_exit_status);
}

static void __attribute__((format(printf, 4, 0)))
vlog(int level, int pri, const char *tag, const char *fmt, va_list ap,
    const char *suffix)
{
	char	 msg[1024];
	int	 saved = errno;

	if (level > log_level)
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_foreground)
		(void)dprintf(STDERR_FILENO, "securechatd[%ld]: %s: %s%s%s%s\n",
		    (long)getpid(), log_proc, tag, msg, suffix ? ": " : "",
		    suffix ? suffix : "");
	else
		syslog(pri, "%s: %s%s%s%s", log_proc, tag, msg,
		    suffix ? ": " : "", suffix ? suffix : "");
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
