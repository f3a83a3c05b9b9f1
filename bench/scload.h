/*
 * scload.h: the load generator's shared state.  scload.c drives the
 * scenario (connect, join, send, drain, hold) and reports; scload-sc.c and
 * scload-irc.c speak securechat and IRC for it through struct load_proto.
 */
#ifndef SC_SCLOAD_H
#define SC_SCLOAD_H

#include <sys/types.h>

#include <netinet/in.h>

#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include <openssl/ssl.h>

#include "proto.h"

#define MAX_CLIENTS	20000
#define MAX_ERR_NAMES	64		/* distinct error names counted */
#define LOAD_NAME_LEN	(NAME_MAX_LEN + 1)
#define LOAD_ROOM_LEN	(ROOM_MAX_LEN + 1)
#define NS		1000000000ull

enum cstate {
	CS_IDLE, CS_TLS, CS_HELLO, CS_LOGIN, CS_REGISTER, CS_LOGGED_IN,
	CS_CLOSED
};

enum phase {
	PH_CONNECT, PH_JOIN, PH_SEND, PH_DRAIN, PH_HOLD, PH_DONE
};

enum mode {
	MODE_PACED,		/* a fixed offered rate, open loop */
	MODE_FLOOD		/* as fast as a window of deliveries allows */
};

/* What the securechat protocol keeps per client. */
struct sc_client {
	size_t		 max_frame;
	uint8_t		 sign_priv[KEY_LEN];
	uint8_t		 sign_pub[KEY_LEN];
	uint8_t		 dh_priv[KEY_LEN];
	uint8_t		 dh_pub[KEY_LEN];
	uint8_t		 nonce[NONCE_LEN];
	uint8_t		 exporter[EXPORTER_LEN];
	uint8_t		 login_sig[SIG_LEN];
	uint64_t	 last_seq;	/* of its room's events */
	unsigned int	 unacked;	/* events since DELIVERED */
	uint64_t	 unacked_ns;	/* when the first of them came */
};

struct client {
	int			 idx;
	enum cstate		 state;
	char			 name[LOAD_NAME_LEN];
	char			 room[LOAD_ROOM_LEN];
	int			 roomno;
	int			 joined;
	struct bufferevent	*bev;
	uint64_t		 t_start;	/* connect started */
	uint64_t		 t_login;	/* logged in */
	uint64_t		 backlog;	/* messages due, not yet sent */
	uint64_t		 blocked_until;	/* rate-limited: not before */
	struct sc_client	 sc;
};

/*
 * A sender's flood window: message seq is complete once every member that
 * was connected when it left has received it; at most `window` messages
 * may be incomplete.
 */
struct sender {
	uint64_t	 next_seq;	/* messages sent */
	uint64_t	 done_seq;	/* all below this are complete */
	uint64_t	 resp_seq;	/* ACKs and refusals seen (securechat) */
	uint32_t	*remaining;	/* deliveries missing, by seq % window */
};

struct load_proto {
	const char	*name;
	/* The server answers each message (ACK or refusal) in order. */
	int		 has_ack;
	/* The sender receives its own message. */
	int		 self_delivery;
	uint32_t	 min_body;	/* room for the timestamp */
	uint32_t	 ids_body;	/* room for timestamp, sender and seq */
	uint32_t	 max_body;
	void		(*start)(struct client *);	/* TLS is up */
	void		(*input)(struct client *);	/* bytes arrived */
	void		(*join)(struct client *);
	void		(*message)(struct client *, uint64_t ts, int sender,
			    uint64_t seq);
};

extern const struct load_proto load_proto_sc;
extern const struct load_proto load_proto_irc;

struct errcount {
	char		 name[32];
	uint64_t	 n;
};

struct load {
	/* Options. */
	const struct load_proto	*proto;
	enum mode		 mode;
	uint16_t		 port;
	int			 n, rooms, senders, json, nodelay, inflight_max;
	int			 realtime, realtime_on;	/* -X, and granted */
	uint32_t		 rate, duration, body, window, drain_secs;
	uint32_t		 hold_secs;
	const char		*marker;
	pid_t			 server;	/* -S: its tree is measured */

	struct event_base	*base;
	SSL_CTX			*ctx;
	struct sockaddr_in	 sin;
	struct client		*cl;
	struct sender		*snd;
	int			*room_members;	/* joined and connected */
	struct event		*tick, *hard, *sigint;
	enum phase		 phase;
	int			 status;	/* exit status */
	char			 why[256];	/* first reason for failure */

	int			 launched, inflight, logged_in, failed;
	int			 alive, joined, disconnects;
	uint64_t		 t_first, t_connected, t_join, t_joined;
	uint64_t		 t_send, t_sent, t_last_rx, t_drain, t_end;
	uint64_t		 total, scheduled, sent, acked, rejected;
	uint64_t		 delivered, expected, joins_seen, pings;
	uint64_t		 registrations, bad_frames;
	uint64_t		*lat;
	size_t			 nlat, latcap;
	struct errcount		 errors[MAX_ERR_NAMES];
	uint64_t		 errors_other;

	/* Server measurements (-S). */
	int			 measured;
	double			 cpu_at[4];	/* start, connected, joined,
						   drained */
	int			 srv_procs, srv_unreadable;
	uint64_t		 srv_pss_kib;
};

extern struct load load;

/* Driver services for the protocols (scload.c). */
uint64_t load_now(void);
void	 load_trouble(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 load_close(struct client *, const char *);
void	 load_write(struct client *, const void *, size_t);
void	 load_logged_in(struct client *);
void	 load_join_seen(struct client *, int);
void	 load_delivered(struct client *, uint64_t, int, uint32_t);
void	 load_accepted(struct client *);
void	 load_refused(struct client *, uint32_t);
void	 load_error(const char *);

#endif
