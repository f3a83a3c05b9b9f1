/*
 * client.h: the securechat client's one state structure and the interfaces
 * between its parts: connection, commands, output, known servers, input.
 */
#ifndef SC_CLIENT_H
#define SC_CLIENT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "tls.h"

/* Exit statuses; securechat(1) documents them, scripts rely on them. */
#define EXIT_OK			0
#define EXIT_ERROR		1
#define EXIT_USAGE		2
#define EXIT_KEY_CHANGED	3

#define CLIENT_LINE_MAX		4096	/* longest input line accepted */
#define CLIENT_USER_MAX		32
#define CLIENT_HOST_MAX		256
#define CLIENT_SOFTWARE_MAX	256
#define CLIENT_CONNECT_SECS	10	/* per address, TCP only */
#define CLIENT_HANDSHAKE_SECS	15	/* TLS handshake up to WELCOME */
#define CLIENT_DRAIN_SECS	10	/* batch: wait for answers after EOF */
#define CLIENT_TOKEN_LEN	16	/* our PING tokens */

/* "SHA256:" and 64 hex digits. */
#define FP_STR_LEN		(7 + 2 * TLS_FP_LEN + 1)

enum conn_state {
	CS_IDLE,
	CS_CONNECTING,		/* TCP */
	CS_HANDSHAKE,		/* TLS */
	CS_HELLO,		/* HELLO sent, waiting for WELCOME */
	CS_READY,
	CS_CLOSING,		/* flushing, then close_notify */
	CS_DONE,
};

enum ping_kind {
	PING_STATUS,		/* answer completes a /status */
	PING_PING,		/* answer completes a /ping */
};

struct ping {
	TAILQ_ENTRY(ping)	 entry;
	uint8_t			 token[CLIENT_TOKEN_LEN];
	uint64_t		 sent_us;
	enum ping_kind		 kind;
};
TAILQ_HEAD(pinglist, ping);

struct evbuffer;
struct event;
struct event_base;
struct bufferevent;
struct addrinfo;

struct client {
	struct event_base	*base;
	int			 exit_status;

	/* Options. */
	char			 host[CLIENT_HOST_MAX];
	uint16_t		 port;
	char			 hostport[CLIENT_HOST_MAX + 8];	/* pin key */
	char			 user[CLIENT_USER_MAX + 1];
	char			*home;
	char			*known_file;
	char			*ca_file;
	int			 batch;
	int			 json;
	int			 interactive;	/* tty and not --batch */

	/* Connection. */
	enum conn_state		 state;
	SSL_CTX			*ctx;
	struct addrinfo		*ai_list;
	struct addrinfo		*ai_next;
	int			 fd;		/* only while CS_CONNECTING */
	int			 connect_errno;
	struct event		*ev_connect;
	struct event		*ev_deadline;
	struct bufferevent	*bev;
	size_t			 max_frame;
	int			 server_error;	/* an ERROR frame arrived */

	/* What we know about the session, for /status. */
	uint8_t			 fp[TLS_FP_LEN];
	char			 fp_str[FP_STR_LEN];
	char			 tls_version[32];
	char			 cipher[64];
	char			 group[32];
	char			 software[CLIENT_SOFTWARE_MAX];
	uint16_t		 proto_version;
	uint32_t		 idle_timeout;
	unsigned long		 key_updates_rx;
	unsigned long		 key_updates_tx;
	struct pinglist		 pings;

	/* Input. */
	struct event		*ev_stdin;
	struct evbuffer		*inbuf;
	int			 input_on;
	int			 input_eof;
	int			 input_skip;	/* inside an overlong line */
	int			 input_file;	/* stdin cannot be polled */
	struct event		*ev_drain;
};

/* securechat.c */
void	 client_exit(struct client *, int);
void	 client_check_done(struct client *);
void	 input_start(struct client *);
void	 input_stop(struct client *);

/* conn.c */
int	 conn_init(struct client *);
void	 conn_start(struct client *);
int	 conn_ping(struct client *, enum ping_kind);
void	 conn_close(struct client *);
void	 conn_free(struct client *);
uint64_t conn_now_us(void);

/* commands.c */
void	 cmd_line(struct client *, const char *);

/* output.c */
void	 out_init(int json);
void	 out_set_readline(int);
void	 out_connected(struct client *);
void	 out_pinned(struct client *);
void	 out_welcome(struct client *);
void	 out_server_notice(struct client *, const char *);
void	 out_server_error(struct client *, uint16_t, const char *, int,
	    uint32_t);
void	 out_status(struct client *, double);
void	 out_pong(struct client *, double);
void	 out_help(struct client *, const char *, const char *);
void	 out_error(struct client *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 out_key_changed(struct client *, const char *, const char *);

/* known.c */
#define KNOWN_NONE	0
#define KNOWN_FOUND	1
int	 known_lookup(const char *, const char *, uint8_t [TLS_FP_LEN],
	    char *, size_t);
int	 known_add(const char *, const char *, const uint8_t [TLS_FP_LEN],
	    char *, size_t);
void	 known_fp_string(const uint8_t [TLS_FP_LEN], char [FP_STR_LEN]);

#endif
