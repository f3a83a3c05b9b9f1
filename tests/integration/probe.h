/*
 * probe.h: helpers shared by the test peers scprobe and schostile:
 * bounded waits, connecting, TLS without verification, frames as JSON.
 */
#ifndef SC_PROBE_H
#define SC_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define PROBE_MAX_TIMEOUT	3600	/* seconds, for -t and the like */

struct addrinfo;

extern const char	*probe_progname;	/* prefix of messages */
extern const char	*probe_source;		/* -s: local address, or NULL */
extern uint64_t		 probe_deadline;	/* now_ms(): ends every wait */

/* What follows the options: host port command [args]. */
struct probe_cmd {
	const char	*host;
	const char	*port;
	const char	*cmd;
	int		 argc;
	char		**argv;
};

void	 probe_args(const char *name, int argc, char *argv[],
	    const char *more, void (*opt)(int, const char *),
	    void (*usage)(void), int timeout, struct probe_cmd *pc);
void	 probe_die(const char *what) __attribute__((noreturn));
long long probe_number(const char *s, long long lo, long long hi,
	    const char *what);
int	 probe_remaining_ms(void);
/* 1 when fd is ready for events, 0 at the deadline, -1 on error. */
int	 probe_wait_fd(int fd, short events);
struct addrinfo *probe_resolve(const char *host, const char *port);
int	 probe_start_connect(const struct addrinfo *ai, int *done);
int	 probe_connect_error(int fd);
/* One connected, non-blocking TCP socket to host:port, or exit 1. */
int	 probe_tcp_connect(const char *host, const char *port);
/* Drive one SSL call: 1 go on, 0 deadline, -1 error or EOF. */
int	 probe_ssl_wait(SSL *ssl, int fd, int r);
SSL_CTX	*probe_client_ctx(void);
void	 probe_json_str(const uint8_t *p, size_t len);
void	 probe_json_hex(const uint8_t *p, size_t len);
void	 probe_print_frame(const uint8_t *buf, size_t len);
BIO	*probe_records(SSL *ssl, const uint8_t *p, size_t len, size_t record,
	    int close_notify);

#endif
