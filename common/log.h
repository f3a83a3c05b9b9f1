/*
 * log.h: logging for every process.  stderr in the foreground; otherwise
 * the master's sink (journal or syslog), to which sandboxed children relay
 * their lines.  Each line names the process role.  Security events carry
 * the tag "security:" (and, in the journal, SECURECHAT_EVENT=security).
 */
#ifndef SC_LOG_H
#define SC_LOG_H

#include <stdarg.h>
#include <stddef.h>

#define LOG_LEVEL_ERROR	0
#define LOG_LEVEL_WARN	1
#define LOG_LEVEL_INFO	2
#define LOG_LEVEL_DEBUG	3

/* The longest relayed record, with its "<PRI>F" head. */
#define LOG_RELAY_MAX	1280

/* Where the master's lines (and those it relays) go: pri is LOG_*. */
typedef void (*log_sink_fn)(int pri, int security, long pid, const char *proc,
    const char *line);

/* stderr when foreground, else syslog(3). */
void	log_init(int foreground, int level);
/* A child without -d: lines go as datagrams on stderr to the master. */
void	log_init_relay(int level);
/* The master: every line goes to sink (NULL: back to stderr). */
void	log_set_sink(log_sink_fn sink);
/* Split a relayed record in place; -1 if it is not one. */
int	log_relay_parse(char *rec, size_t len, int *pri, int *security,
	    const char **proc, const char **text);
void	log_setlevel(int level);
int	log_getlevel(void);
void	log_procname(const char *name);
/* The status fatal() and fatalx() exit with (default 1). */
void	log_fatal_status(int status);
/* A sandboxed child: fatal() and fatalx() leave by _exit, not exit. */
void	log_child(void);
/* The text of errnum, in buf or a static string. */
const char *log_strerror(int errnum, char *buf, size_t len);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_security(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
