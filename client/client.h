/*
 * client.h: the securechat client's one state structure and the interfaces
 * between its parts: connection, session, chat, commands, output, input.
 */
#ifndef SC_CLIENT_H
#define SC_CLIENT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "proto.h"
#include "settings.h"
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
#define CLIENT_PROGRESS_SECS	60	/* batch: give up after no progress */
#define CLIENT_BACKOFF_MIN_MS	250	/* first reconnect delay */
#define CLIENT_BACKOFF_MAX_MS	10000
#define CLIENT_SEEN_MS		100	/* .seen written at most this late, */
#define CLIENT_SEEN_EVENTS	64	/* or after this many events */
#define CLIENT_DELIVERED_MS	1000	/* DELIVERED at most this late, */
#define CLIENT_DELIVERED_EVENTS	256	/* or after this many events */
#define CLIENT_PASS_MAX		1024
#define CLIENT_WINDOW		64	/* SENDs in flight, normally */
#define CLIENT_TOKEN_LEN	16	/* our PING tokens */
#define CLIENT_LIST_MAX		(16 * 1024 * 1024)	/* a list, all pages */
#define CLIENT_REQID_MAX	64	/* a script's request id, "@id=..." */
#define KEEPALIVE_MIN_S		2	/* quiet this long: PING the server */
#define KEEPALIVE_MAX_S		30
#define KEEPALIVE_DEADLINE_MIN_S 5	/* no answer this long: reconnect */
#define KEEPALIVE_DEADLINE_MAX_S 15
#define KEEPALIVE_LATE_US	1000000	/* a timer this late: we were stopped */
#define CLOSED_HOLD_MS		1000	/* the server closed: writes wait */

/* "SHA256:" and 64 hex digits. */
#define FP_STR_LEN		(7 + 2 * TLS_FP_LEN + 1)

enum conn_state {
	CS_IDLE,
	CS_CONNECTING,		/* TCP */
	CS_HANDSHAKE,		/* TLS */
	CS_HELLO,		/* HELLO sent, waiting for WELCOME */
	CS_LOGIN,		/* LOGIN or REGISTER sent */
	CS_READY,		/* logged in */
	CS_BACKOFF,		/* connection lost, waiting to reconnect */
	CS_CLOSING,		/* flushing, then close_notify */
	CS_DONE,
};
/* CS_IDLE once logged in: interactive, stopped trying (c->halted says why). */

enum ping_kind {
	PING_STATUS,		/* answer completes a /status */
	PING_PING,		/* answer completes a /ping */
};

struct ping {
	TAILQ_ENTRY(ping)	 entry;
	uint8_t			 token[CLIENT_TOKEN_LEN];
	uint64_t		 sent_us;
	enum ping_kind		 kind;
	char			 reqid[CLIENT_REQID_MAX + 1];
};
TAILQ_HEAD(pinglist, ping);

/* Something said and not yet answered: a SEND until its ACK, a request until its reply. */
struct outmsg {
	TAILQ_ENTRY(outmsg)	 entry;
	uint16_t		 type;		/* MSG_SEND, MSG_JOIN, ... */
	int			 sent;		/* on the current connection */
	int			 quiet;		/* ours: no ack or reply shown */
	uint64_t		 id;		/* MSG_SEND only */
	char			 room[ROOM_MAX_LEN + 1];
	char			 to[NAME_MAX_LEN + 1];
	uint8_t			*body;
	size_t			 len;
	char			*text;		/* what the user typed, to show */
	char			 after[ROOM_MAX_LEN + 1];	/* list page */
	uint8_t			*pages;		/* a list's pages so far */
	size_t			 pagelen;
	uint8_t			 arg;		/* MSG_JOIN: the roster policy */
	char			 reqid[CLIENT_REQID_MAX + 1];	/* a script's */
};
TAILQ_HEAD(outlist, outmsg);

struct outbox {
	struct outlist		 q;
	size_t			 n;
	size_t			 nsend;
};

/* The last seq shown of a room ("#name") or of the inbox (SEEN_INBOX). */
#define SEEN_INBOX		"@"
/*
 * What a server may send is bounded: a seq is at most 2^53 - 1 (exact in
 * JSON, and far beyond any log), at most 2^32 past the last one shown
 * there, and the table holds so many rooms.  Otherwise one event could
 * silence a room for good, or a flood of rooms stop the client starting.
 */
#define SEEN_SEQ_MAX		((UINT64_C(1) << 53) - 1)
#define SEEN_SEQ_JUMP		(UINT64_C(1) << 32)
#define SEEN_MAX_ENTRIES	10000
struct seen_entry {
	char			 key[ROOM_MAX_LEN + 1];
	uint64_t		 shown;		/* persisted before it is told */
	uint64_t		 told;		/* DELIVERED on this connection */
	int			 active;	/* heard of on this connection */
	uint64_t		 used;		/* seen_get's clock, for eviction */
};

struct seen {
	struct seen_entry	*v;
	size_t			 n;
	size_t			 cap;
	/* The server database the marks count in (WELCOME's F_EPOCH). */
	int			 has_epoch;
	uint8_t			 epoch[EPOCH_LEN];
	size_t			 skipped;	/* lines seen_load ignored */
	size_t			 evicted;	/* marks forgotten: table full */
	uint64_t		 clock;
	uint32_t		*index;		/* hash slots: position + 1 */
};

struct evbuffer;
struct frame;
struct frame_buf;
struct identity;
struct event;
struct event_base;
struct bufferevent;
struct addrinfo;
struct e2ec;
struct jbuf;
struct trust_entry;
struct history;
struct view;

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
	char			*passphrase_file;
	char			*invite;
	int			 colour;	/* stdout is a terminal */
	struct settings		 set;		/* config file, then options */
	int			 line_mode;	/* --line: never full screen */
	int			 tui;		/* the full-screen interface is on */

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
	int			 server_error;	/* a fatal ERROR frame arrived */
	int			 leaving;	/* /quit, end of input, a signal */
	char			 halted[256];	/* interactive: why we stopped */
	char			 last_error[256]; /* why the last connection ended */
	uint64_t		 since_ms;	/* wall clock: logged in, or lost */
	unsigned long		 reconnects;	/* logins after the first */
	struct event		*ev_keepalive;
	uint64_t		 ka_last_rx_us;	/* anything from the server */
	uint64_t		 ka_sent_us;
	uint64_t		 ka_due_us;	/* when the timer should fire */
	int			 ka_outstanding;
	uint8_t			 ka_token[CLIENT_TOKEN_LEN];
	struct evbuffer		*held_out;	/* the server closed: waits */
	struct event		*ev_held;	/* bounds that wait */

	/* Session: identity, login, reconnects. */
	struct identity		*id;
	char			*key_file;
	uint8_t			 nonce[NONCE_LEN];
	int			 registering;	/* REGISTER sent */
	int			 logged_in_once;
	int			 no_reconnect;	/* fatal: do not try again */
	int			 restart_pending; /* RESTARTING or SHUTDOWN */
	char			 restart_why[256];
	unsigned		 attempt;	/* reconnects since last login */
	struct event		*ev_reconnect;

	/* End-to-end encryption: keys, chains, known_users. */
	struct e2ec		*e2e;

	/* Chat. */
	char			 room[ROOM_MAX_LEN + 1];	/* current */
	char			 query[NAME_MAX_LEN + 1]; /* or a person's window */
	struct outbox		 outbox;
	struct event		*ev_hold;	/* rate limited until it fires */
	int			 held;
	int			 careful;	/* one SEND in flight: limited */
	struct seen		 seen;
	char			*seen_file;
	int			 seen_full;	/* said once: table full */
	struct event		*ev_delivered;
	unsigned		 unsaved;	/* events shown, not in .seen */
	unsigned		 untold;	/* in .seen, not told */
	uint64_t		 save_due_ms;	/* 0, or .seen written by then */
	uint64_t		 tell_due_ms;	/* 0, or DELIVERED sent by then */
	uint64_t		 armed_due_ms;	/* ev_delivered's, 0: not armed */
	struct event		*ev_progress;	/* batch watchdog */
	char			 prompt[ROOM_MAX_LEN + 16];
	struct view		*view;		/* rooms joined, the history store */

	/* What we know about the session, for /status. */
	uint8_t			 fp[TLS_FP_LEN];
	char			 fp_str[FP_STR_LEN];
	char			 tls_version[32];
	char			 cipher[64];
	char			 group[32];
	char			 software[CLIENT_SOFTWARE_MAX];
	uint16_t		 proto_version;
	uint32_t		 idle_timeout;
	uint32_t		 rekey_min_s;	/* room chain deadline, WELCOME */
	uint32_t		 rekey_max_s;
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
	int			 input_paused;	/* batch: waiting for login */
};

/* securechat.c */
void	 client_exit(struct client *, int);
void	 client_leave(struct client *);
void	 input_clear(struct client *);
void	 client_check_done(struct client *);
void	 input_start(struct client *);
void	 input_stop(struct client *);
void	 input_pause(struct client *);
void	 input_resume(struct client *);
void	 input_set_prompt(struct client *);
void	 client_progress(struct client *);

/* conn.c */
int	 conn_init(struct client *);
void	 conn_drop(struct client *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 conn_start(struct client *);
int	 conn_ping(struct client *, enum ping_kind);
void	 conn_close(struct client *);
void	 conn_reset(struct client *);
void	 conn_free(struct client *);
uint64_t conn_now_us(void);
void	 conn_send(struct client *, struct frame_buf *);
SSL	*conn_ssl(struct client *);
void	 conn_resend_pings(struct client *);
void	 conn_process_input(struct client *);

/* keepalive.c */
void	 keepalive_start(struct client *);
void	 keepalive_stop(struct client *);
void	 keepalive_seen(struct client *);
void	 keepalive_probe(struct client *);
int	 keepalive_pong(struct client *, const uint8_t *, size_t);
unsigned keepalive_deadline_s(const struct client *);
void	 keepalive_free(struct client *);

/* session.c */
int	 session_init(struct client *);
void	 session_halt(struct client *, const char *);
void	 session_reconnect(struct client *);
const char *session_state(const struct client *);
void	 session_free(struct client *);
void	 session_welcome(struct client *, const uint8_t [NONCE_LEN]);
void	 session_frame(struct client *, const struct frame *);
int	 session_error(struct client *, const struct frame *);
int	 session_can_reconnect(struct client *);
void	 session_lost(struct client *, const char *);

/* chat.c */
void	 chat_logged_in(struct client *);
int	 chat_frame(struct client *, const struct frame *);
void	 chat_error(struct client *, const struct frame *, uint16_t,
	    const char *);
void	 chat_flush(struct client *);
void	 chat_notice(struct client *, const char *);
void	 chat_say(struct client *, const char *, const char *, const char *);
void	 chat_request(struct client *, uint16_t, const char *);
void	 chat_delivered(struct client *, int);
void	 chat_membership(struct client *, const char *, const char *, uint8_t,
	    uint64_t, uint64_t, int);
void	 chat_epoch(struct client *, const uint8_t *);
int	 chat_done(struct client *);
void	 chat_free(struct client *);

/* e2e-client.c, e2e-session.c */
int	 e2ec_init(struct client *);
void	 e2ec_free(struct client *);
void	 e2ec_logged_in(struct client *);
void	 e2ec_caught_up(struct client *);
void	 e2ec_put_prekey(struct client *, struct frame_buf *);
int	 e2ec_save(struct client *);
int	 e2ec_done(struct client *);
void	 e2ec_status(struct client *, struct jbuf *);
void	 e2ec_say_room(struct client *, const char *, const char *);
void	 e2ec_say_direct(struct client *, const char *, const char *);
void	 e2ec_who_list(struct client *, const char *, const uint8_t *,
	    size_t);
void	 e2ec_membership(struct client *, const char *, uint64_t);
void	 e2ec_keys(struct client *, const struct frame *);
void	 e2ec_keys_failed(struct client *, const char *);
void	 e2ec_room_message(struct client *, const char *, const char *,
	    const uint8_t *, const uint8_t *, size_t, uint64_t, uint64_t,
	    int);
void	 e2ec_direct(struct client *, const char *, const char *,
	    const uint8_t *, const uint8_t *, size_t, uint64_t, uint64_t);
void	 e2ec_trust(struct client *, const char *, const char *);
void	 e2ec_verify(struct client *, const char *, const char *);

/* outbox.c */
void	 outbox_init(struct outbox *);
struct outmsg *outbox_add(struct outbox *, uint16_t, const char *,
	    const char *, const void *, size_t);
void	 outbox_remove(struct outbox *, struct outmsg *);
void	 outbox_clear(struct outbox *);
struct outmsg *outbox_find_id(struct outbox *, uint64_t);
struct outmsg *outbox_find_request(struct outbox *, uint16_t, const char *);
void	 outbox_unsend_all(struct outbox *);
void	 outbox_unsend_from(struct outbox *, struct outmsg *);
void	 outbox_set_request(const char *);
const char *outbox_request(void);

/* seen.c */
struct seen_entry *seen_get(struct seen *, const char *, int);
int	 seen_load(struct seen *, const char *, char *, size_t);
int	 seen_save(const struct seen *, const char *, char *, size_t);
#define SEEN_EPOCH_SAME		0
#define SEEN_EPOCH_NEW		1
#define SEEN_EPOCH_RESET	2
int	 seen_epoch(struct seen *, const uint8_t *);
void	 seen_free(struct seen *);

/* view.c: what is shown where, and kept in the history */
void	 view_init(struct client *);
void	 view_free(struct client *);
void	 view_resume(struct client *);
void	 view_message(struct client *, const char *, const char *,
	    const uint8_t *, size_t, uint64_t, uint64_t, int);
void	 view_direct(struct client *, const char *, const char *,
	    const uint8_t *, size_t, uint64_t, uint64_t, int);
void	 view_membership(struct client *, int, const char *, const char *,
	    uint64_t, uint64_t, int);
void	 view_sent_direct(struct client *, const struct outmsg *, uint64_t);
size_t	 view_count(const struct client *);
const char *view_key(const struct client *, size_t);
int	 view_index(const struct client *, const char *);
int	 view_open(struct client *, const char *);
void	 view_close(struct client *, const char *);
void	 view_focus(struct client *, const char *);
void	 view_joined(struct client *, const char *);
void	 view_parted(struct client *, const char *);
int	 view_mentions(const struct client *, const char *, size_t);
void	 view_search(struct client *, const char *);
void	 view_clear(struct client *);
void	 view_status(struct client *, struct jbuf *);

/* tui.c, tui-input.c: the full-screen interface */
int	 tui_start(struct client *);
void	 tui_stop(struct client *);
void	 tui_resume(struct client *);
void	 tui_redraw(struct client *);
void	 tui_input_start(struct client *);
void	 tui_input_stop(struct client *);
void	 tui_input_clear(struct client *);
int	 tui_window_cmd(struct client *, const char *);

/* complete.c */
void	 complete_init(void);
void	 complete_add_room(const char *);
void	 complete_add_user(const char *);
size_t	 complete_word(const char *, int, const char ***, char *, size_t);
void	 complete_free(void);

/* commands.c */
void	 cmd_line(struct client *, const char *);
const char *cmd_name(size_t);

/* output.c */
void	 out_init(int, int);
void	 out_set_readline(int);
void	 out_connected(struct client *);
void	 out_pinned(struct client *);
void	 out_welcome(struct client *);
void	 out_server_notice(struct client *, const char *);
void	 out_operator_notice(struct client *, const char *, const char *);
void	 out_server_error(struct client *, uint16_t, const char *, int,
	    uint32_t);
void	 out_status(struct client *, double);
void	 out_pong(struct client *, double);
void	 out_help(struct client *, const char *, const char *, int);
void	 out_event(struct client *, const char *, const char *const *,
	    const char *, ...) __attribute__((format(printf, 4, 5)));

void	 out_error(struct client *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 out_key_changed(struct client *, const char *, const char *);
void	 out_notice(struct client *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 out_logged_in(struct client *, int);
void	 out_key_created(struct client *, const char *);
void	 out_reconnecting(struct client *, unsigned, unsigned, const char *);
void	 out_reconnected(struct client *);

/* output-chat.c */
void	 out_message(struct client *, const char *, const char *,
	    const uint8_t *, size_t, uint64_t, uint64_t, int);
void	 out_direct(struct client *, const char *, const char *,
	    const uint8_t *, size_t, uint64_t, uint64_t, int);
void	 out_missing(struct client *, const char *, const char *, uint64_t,
	    int, uint64_t);
void	 out_roster_warning(struct client *, const char *, const char *,
	    const char *, ...) __attribute__((format(printf, 4, 5)));
void	 out_membership(struct client *, int, const char *, const char *,
	    uint64_t, uint64_t, int);
void	 out_ack(struct client *, const struct outmsg *, uint64_t);
void	 out_chat_error(struct client *, uint16_t, const char *, uint64_t,
	    const char *, int, uint32_t);
void	 out_rooms(struct client *, const uint8_t *, size_t);
void	 out_who(struct client *, const char *, const uint8_t *, size_t);
void	 out_info(struct client *, const char *, uint64_t, uint32_t,
	    uint32_t, uint32_t);
int	 out_list_next(const uint8_t **, const uint8_t *, char *, size_t,
	    char *, size_t);

/* output-chat.c: end-to-end encryption */
void	 out_undecryptable(struct client *, const char *, const char *,
	    const char *, uint64_t, uint64_t, const char *);
void	 out_user_key_changed(struct client *, const char *,
	    const uint8_t [32]);
void	 out_safety_number(struct client *, const char *, const char *,
	    const uint8_t [32], const char *, int);
void	 out_key_event(struct client *, const char *, const char *,
	    const uint8_t [32], const char *, const char *, ...)
	    __attribute__((format(printf, 6, 7)));

/* known.c */
#define KNOWN_NONE	0
#define KNOWN_FOUND	1
int	 known_lookup(const char *, const char *, uint8_t [TLS_FP_LEN],
	    char *, size_t);
int	 known_add(const char *, const char *, const uint8_t [TLS_FP_LEN],
	    char *, size_t);
int	 known_forget(const char *, const char *, uint16_t, char *, size_t);
int	 known_loopback(const char *);
void	 known_fp_string(const uint8_t [TLS_FP_LEN], char [FP_STR_LEN]);

#endif
