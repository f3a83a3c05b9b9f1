/*
 * ops.h: the master's service glue, kept out of master.c: where logs go
 * (master-log.c), talking to systemd (notify.c), and making and checking
 * the directories and TLS files a start needs (setup.c).
 */
#ifndef SC_OPS_H
#define SC_OPS_H

#include <sys/types.h>

#include <stddef.h>

#include <event2/event.h>

#include "conf.h"

/* master-log.c */
/* Decide where lines go: stderr (foreground), the journal or syslog. */
void	 mlog_start(int foreground, int level);
/* The descriptor children get as stderr: the relay, or 2 in the foreground. */
int	 mlog_child_fd(void);
/* Read relayed lines from the event loop; who(pid) names a child's role. */
void	 mlog_event_init(struct event_base *base, const char *(*who)(pid_t));
/* Pass on every line waiting (before a child is reaped, and at exit). */
void	 mlog_drain(void);
void	 mlog_free(void);
/* "journal", "syslog" or "stderr". */
const char *mlog_target(void);

/* notify.c: sd_notify(3), a no-op when not started by systemd. */
void	 notify_init(struct event_base *base);
void	 notify_free(void);
void	 notify_ready(unsigned int clients);
void	 notify_reloading(void);
void	 notify_stopping(void);
void	 notify_status(unsigned int clients);
/* Listening sockets passed by systemd (sd_listen_fds), or 0. */
int	 notify_listen_fds(void);
/* Check the n passed sockets against listen; their fds and names. */
int	 notify_take_listeners(const struct conf *c, int n, int *fds,
	    char (*names)[80], size_t max, char *err, size_t errsz);

/* setup.c: what a start needs, checked (and with create, made). */
struct setup_report {
	void	(*would)(void *arg, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
	void	*arg;
};
/*
 * Check the account, the directories and their owners, and the TLS
 * identity.  With create, make what is missing (directories, a first
 * key); without, report what a start would make through r.  Returns 0,
 * or -1 with the first problem, naming its path, in err.
 */
int	 setup_check(const struct conf *c, int create,
	    const struct setup_report *r, char *err, size_t errsz);
/*
 * Read the certificate and key (links followed) and build a context with
 * them, which checks that the key is the certificate's.  NULL with err.
 */
struct ssl_ctx_st;
struct ssl_ctx_st *setup_tls_load(const struct conf *c, unsigned char **cert,
	    size_t *cert_len, unsigned char **key, size_t *key_len, char *err,
	    size_t errsz);
/* Read one PEM file (following links), regular, 1..max bytes. */
int	 setup_read_pem(const char *path, size_t max, unsigned char **out,
	    size_t *outlen, char *err, size_t errsz);

#endif
