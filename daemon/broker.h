/*
 * broker.h: what the broker's files share: a link per worker, the users and
 * rooms it has in memory, and the group-commit queue.  broker.c runs the
 * process, broker-auth.c decides identities, broker-chat.c routes.
 */
#ifndef SC_BROKER_H
#define SC_BROKER_H

#include <sys/queue.h>

#include <limits.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "frame.h"
#include "hash.h"
#include "proto.h"
#include "store.h"

/*
 * A link stops being fed, and its requests stop being read, past HIGH
 * queued bytes; both resume below LOW.
 */
#define LINK_HIGH		(256 * 1024)
#define LINK_LOW		(64 * 1024)
/* What a gone worker's socket may still hold: more than its buffers do. */
#define LAST_WORDS_MAX		(1024 * 1024)
#define CATCHUP_BATCH		64
/*
 * A turn reads at most this many links, then commits and answers: a
 * burst of thousands of ready links is several short turns, and the
 * master's ping, read first in each, is answered between them.
 */
#define TURN_MAX_READS		64
/*
 * While turns end with links still ready, what they queued for the links
 * waits for the turn that takes the last of them, or this many reads, or
 * this long: a worker woken once takes many turns' frames, as it did when
 * one turn read every ready link.
 */
#define PASS_MAX_READS		4096
#define PASS_MAX_MS		100
#define DEDUP_KEEP_DAYS		30	/* de-duplication without retention */
#define LIST_PAGE_MAX		500	/* items in one ROOM_LIST or WHO_LIST */

enum link_state {
	LINK_NEW,		/* attached, no TLS session facts yet */
	LINK_CHALLENGED,	/* nonce sent, waiting for LOGIN/REGISTER */
	LINK_PENALTY,		/* failed login: answer delayed, then closed */
	LINK_AUTHED,		/* bound to one user, decided by the broker */
	LINK_DEAD,		/* fatal error sent: ignore until the worker closes */
};

/*
 * A token bucket: tokens refill continuously up to a burst.  Rates are
 * per second; the buckets of registrations and room creations are
 * counted per address prefix (broker-rate.c).
 */
struct bucket {
	double		 tokens;
	uint64_t	 at_ms;		/* when tokens was last brought up to date */
};

/*
 * Per link and room: how far this connection has been sent and what it
 * has acknowledged.  In its link's table, and in its room's list of
 * links to fan out to.
 */
struct link_room {
	struct hnode		 node;		/* link->rooms, by room id */
	TAILQ_ENTRY(link_room)	 room_entry;	/* room->lrooms */
	TAILQ_ENTRY(link_room)	 behind_entry;	/* link->behind */
	struct link		*link;
	struct room		*room;
	uint64_t		 sent;
	uint64_t		 told;		/* highest DELIVERED written */
	int			 behind;	/* on link->behind */
};
TAILQ_HEAD(link_roomlist, link_room);

struct link {
	TAILQ_ENTRY(link)	 entry;
	TAILQ_ENTRY(link)	 flush_entry;	/* br.flush or br.drained */
	int			 flush_on;	/* on one of them */
	int			 writing;	/* output left: libevent writes it */
	TAILQ_ENTRY(link)	 user_entry;	/* links of the same user */
	struct hnode		 node;		/* br.links_by_session */
	struct bufferevent	*bev;
	uint64_t		 session_id;
	pid_t			 pid;
	char			 addr[64];
	enum link_state		 state;
	int			 probed;	/* had its UNKNOWN_USER */
	int			 delivering;	/* LOGGED_IN sent: in user->links */
	int			 caught_up;	/* CAUGHT_UP sent */
	uint8_t			 nonce[NONCE_LEN];
	uint8_t			 exporter[EXPORTER_LEN];
	struct event		*penalty_ev;
	uint64_t		 authed_ms;	/* logged in at, for the logout line */
	uint16_t		 penalty_code;
	char			 penalty_text[160];

	/* Back-pressure: bytes of this link's frames waiting for the commit. */
	size_t			 pending;
	int			 stalled;	/* output full: not reading */
	int			 gone;		/* its worker went: last words */
	struct event		*pause_ev;	/* paced: not reading until it fires */

	struct user		*user;
	struct htab		 rooms;		/* struct link_room by room id */
	struct link_roomlist	 behind;	/* rooms with more to send */
	uint64_t		 inbox_sent;
	uint64_t		 inbox_told;	/* highest inbox DELIVERED written */
	uint64_t		 limited_id;	/* first SEND refused, until resent */
	uint16_t		 limited_code;	/* RATE_LIMITED or STORAGE */
};
TAILQ_HEAD(linklist, link);

/* A user with at least one live connection. */
struct user {
	TAILQ_ENTRY(user)	 entry;
	struct hnode		 node;		/* br.users_by_id */
	struct hnode		 name_node;	/* br.users_by_name */
	int64_t			 id;
	char			 name[NAME_MAX_LEN + 1];
	uint8_t			 sign_pub[KEY_LEN];	/* stamped on its messages */
	struct linklist		 links;
	unsigned int		 nlinks;
	uint64_t		 inbox_durable;	/* highest committed inbox seq */
	unsigned int		 nrooms;	/* memberships, for the cap */
	struct bucket		 messages;	/* SEND */
	struct bucket		 storage;	/* bytes stored, per second */
	struct bucket		 requests;	/* everything else */
};
TAILQ_HEAD(userlist, user);

/*
 * A room's recent events in memory, as the frames pushed (broker-ring.c):
 * consecutive seqs from first, at most RING_MAX_EVENTS and RING_MAX_BYTES
 * per room, RING_TOTAL_BYTES in all rooms (frames and slots counted).
 */
#define RING_MAX_EVENTS		1024
#define RING_MAX_BYTES		(256 * 1024)
#define RING_TOTAL_BYTES	(64 * 1024 * 1024)

struct ring_event {
	uint64_t		 seq;
	uint64_t		 ts_ms;		/* the row's, for retention */
	uint8_t			*frame;
	size_t			 len;
};

struct ring {
	struct ring_event	*ev;		/* cap slots, n used from head */
	size_t			 cap;
	size_t			 head;
	size_t			 n;
	uint64_t		 first;		/* seq of the oldest */
	size_t			 bytes;
};

/* A member of a room, in the room's table. */
struct member {
	struct hnode		 node;
	int64_t			 user_id;
};

/* A room whose members are cached, loaded on first use. */
struct room {
	struct hnode		 id_node;	/* br.rooms_by_id */
	struct hnode		 name_node;	/* br.rooms_by_name */
	int64_t			 id;
	char			 name[ROOM_MAX_LEN + 1];
	uint64_t		 last_seq;	/* allocated, maybe uncommitted */
	uint64_t		 durable_seq;	/* committed: safe to deliver */
	struct htab		 members;	/* struct member by user id */
	struct link_roomlist	 lrooms;	/* links that have the room */
	struct ring		 ring;		/* recent committed events */
};

/* Work that may only happen once the current transaction is on disk. */
enum after_kind {
	AFTER_FRAME,		/* send frame bytes to one session */
	AFTER_ROOM,		/* fan a room row out to online members */
	AFTER_INBOX,		/* fan an inbox row out to the user's links */
	AFTER_PUMP,		/* catch a newly logged-in link up */
	AFTER_CTL,		/* reply to a control connection */
};

struct after {
	TAILQ_ENTRY(after)	 entry;
	enum after_kind		 kind;
	uint64_t		 session_id;
	int64_t			 target;	/* room or user id */
	uint64_t		 seq;
	int64_t			 sender_id;
	uint8_t			 row_kind;	/* LOG_* */
	uint64_t		 ts_ms;		/* a room row's */
	uint8_t			*frame;
	size_t			 len;
	/*
	 * When what was written is undone (broker-tx.c): a frame that does
	 * not depend on it is kept; one that does goes, or is replaced by
	 * fail (an ERROR STORAGE for an ACK).
	 */
	int			 keep;
	uint8_t			*fail;
	size_t			 fail_len;
	uint64_t		 hold_id;	/* the SEND an ACK is for */
};
TAILQ_HEAD(afterlist, after);

/*
 * A change to the broker's memory made with a write of the open
 * transaction, undone with it if the write is (broker-tx.c).
 */
enum undo_kind {
	UNDO_ROOM_CREATED,	/* room_id: out of the cache again */
	UNDO_ROOM_SEQ,		/* room_id, seq: last_seq back to seq */
	UNDO_MEMBER_ADDED,	/* room_id, user_id */
	UNDO_MEMBER_REMOVED,	/* room_id, user_id */
	UNDO_BOUND,		/* session_id: a registration's link */
	UNDO_ROSTER,		/* room_id: its cached roster is reloaded */
	UNDO_TOLD,		/* session_id, room_id (0: inbox), value: a
				   link's DELIVERED mark back to value */
};

struct undo {
	TAILQ_ENTRY(undo)	 entry;
	enum undo_kind		 kind;
	int64_t			 room_id;
	int64_t			 user_id;
	uint64_t		 value;		/* a seq or a session id */
	uint64_t		 session_id;	/* UNDO_TOLD's link */
};
TAILQ_HEAD(undolist, undo);

struct broker {
	struct event_base	*base;
	struct store		*store;
	struct event		*prune_ev;
	struct linklist		 links;
	struct linklist		 flush;		/* output to write this pass */
	struct linklist		 drained;	/* written out: pump, resume */
	struct event		*drain_ev;
	unsigned int		 turn_reads;	/* links read this turn */
	unsigned int		 pass_reads;	/* since the last flush, if > 0 */
	uint64_t		 pass_start_ms;	/* the first of those turns */
	struct htab		 links_by_session;
	unsigned int		 nlinks;
	struct userlist		 users;
	struct htab		 users_by_id;
	struct htab		 users_by_name;
	unsigned int		 nusers_online;
	struct htab		 rooms_by_id;
	struct htab		 rooms_by_name;
	uint64_t		 nrooms;	/* in the store */
	struct afterlist	 after;
	struct undolist		 undo;
	int			 tx_open;	/* the turn began a transaction */
	uint64_t		 started_ms;

	/* The request being handled (broker-tx.c). */
	int			 req_active;
	int			 req_failed;
	int			 req_savepoint;
	int			 req_quiet;	/* no ERROR: none is expected */
	uint64_t		 req_session;	/* 0: not a link's */
	uint64_t		 req_msg_id;	/* the SEND that failed */
	char			 req_room[ROOM_MAX_LEN + 1];
	struct after		*req_after;	/* the queue before it */
	struct undo		*req_undo;

	/* settings from the master */
	char			 user[64];
	char			 state_dir[PATH_MAX];
	char			 registration[16];
	uint32_t		 max_clients;
	uint32_t		 max_frame;
	uint32_t		 message_rate;
	uint32_t		 message_burst;
	uint32_t		 retention_days;
	uint32_t		 ctl_uid;
	uint32_t		 ipv4_prefix;
	uint32_t		 ipv6_prefix;
	uint32_t		 request_rate;
	uint32_t		 request_burst;
	uint32_t		 storage_mib_per_day;
	uint32_t		 storage_burst_mib;
	uint32_t		 inbox_max_messages;
	uint32_t		 inbox_max_mib;
	uint32_t		 registrations_per_hour;
	uint32_t		 room_creates_per_hour;
	uint32_t		 max_rooms_per_user;
	uint32_t		 max_members_per_room;
	uint32_t		 max_rooms;

	/* counters, since the broker started (securechatctl stats) */
	uint64_t		 connections;	/* worker links attached */
	uint64_t		 logins;	/* including registrations */
	uint64_t		 registrations;
	uint64_t		 messages;
	uint64_t		 message_bytes;	/* ciphertext bodies stored */
	uint64_t		 failed_logins;
	uint64_t		 rate_limited;
	uint64_t		 storage_errors;
	uint64_t		 key_updates;	/* TLS key updates by workers */
	uint64_t		 catchup_memory;	/* events pumped from rings */
	uint64_t		 catchup_store;	/* rows pumped from the store */
	size_t			 ring_bytes;	/* every room's ring */
};

extern struct broker	 br;

/* broker.c */
struct link	*link_by_session(uint64_t session_id);
size_t		 link_queued(const struct link *l);
void		 link_pause(struct link *l, uint32_t ms);
void		 link_send(struct link *l, const uint8_t *frame, size_t len);
void		 link_send_buf(struct link *l, struct frame_buf *b);
void		 link_error(struct link *l, uint16_t code, const char *text);
void		 link_refuse(struct link *l, uint16_t code, const char *text,
		    uint64_t client_msg_id, const char *room, const char *to,
		    uint32_t retry_ms);
void		 link_error_about(struct link *l, uint16_t code, const char *text,
		    uint64_t client_msg_id, const char *room);
void		 after_frame(struct link *l, struct frame_buf *b);
struct after	*after_frame_or(struct link *l, struct frame_buf *b,
		    struct frame_buf *fail);
void		 after_set_fail(struct after *a, struct frame_buf *fail);
void		 after_use_fail(struct after *a);
void		 after_drop(struct after *a);
void		 link_reply(struct link *l, struct frame_buf *b);
void		 link_reply_read(struct link *l, struct frame_buf *b,
		    const char *room);
struct after	*after_fanout(enum after_kind kind, int64_t target,
		    uint64_t seq, struct frame_buf *b);
void		 after_pump(struct link *l);

/* broker-ring.c */
int	 ring_add(struct ring *rg, uint64_t seq, uint64_t ts_ms, uint8_t *frame,
	    size_t len);
const struct ring_event *ring_get(const struct ring *rg, uint64_t seq);
uint64_t ring_first(const struct ring *rg);
void	 ring_prune(struct ring *rg, uint64_t before_ms);
void	 ring_clear(struct ring *rg);
void	 ring_free(struct ring *rg);

/* broker-tx.c */
int	 tx_begin(void);
void	 tx_end(void);
void	 req_begin(struct link *l);
void	 req_end(void);
void	 req_fail(const char *what, uint64_t client_msg_id, const char *room);
void	 req_fail_quiet(const char *what);
int	 req_failed(void);
void	 undo_push_told(const struct link *l, int64_t room_id, uint64_t told);
struct undo *undo_push(enum undo_kind kind, int64_t room_id, int64_t user_id,
	    uint64_t value);
void	 storage_error_frame(struct frame_buf *b, uint64_t client_msg_id,
	    const char *room);

/* broker-ctl.c */
void	 ctl_init(void);
void	 ctl_free(void);
void	 ctl_reply_after(uint64_t id, const uint8_t *frame, size_t len);
void	 ctl_reply_later(uint64_t id, uint16_t code, struct evbuffer *text);

/* broker-auth.c */
void	 auth_session(struct link *l, const struct frame *f);
void	 auth_login(struct link *l, const struct frame *f);
void	 auth_register(struct link *l, const struct frame *f);
void	 auth_link_gone(struct link *l);
void	 auth_unbind(struct link *l);
int	 auth_get_name(struct link *l, const struct frame *f,
	    char name[NAME_MAX_LEN + 1]);

/* broker-keys.c */
void	 keys_prekey(struct link *l, const struct frame *f);
void	 keys_get(struct link *l, const struct frame *f);

/* broker-rate.c */
enum rate_kind {
	RATE_REGISTER,		/* new accounts, per address prefix */
	RATE_ROOM_CREATE,	/* new rooms, per address prefix */
};
void	 rate_init(void);
void	 rate_free(void);
void	 rate_user_online(struct user *u);
void	 rate_user_offline(const struct user *u);
uint32_t rate_wait(struct bucket *b, double per_s, double burst, double cost);
void	 rate_spend(struct bucket *b, double cost);
uint32_t rate_prefix_take(enum rate_kind kind, const char *addr);
uint32_t rate_request(struct link *l, uint16_t type);
uint32_t rate_storage(struct user *u, size_t len);
void	 rate_refused(struct link *l, const char *what, uint32_t wait);

/* broker-roster.c */
void	 roster_init(void);
void	 roster_get(struct link *l, const struct frame *f);
void	 roster_put(struct link *l, const struct frame *f);
int	 roster_exists(int64_t room_id, const char *room);
void	 roster_forget(int64_t room_id);
void	 roster_free(void);

/* broker-chat.c */
int	 chat_init(void);
struct user *chat_user_by_name(const char *name);
int64_t	 chat_room_id(const char *name);
int64_t	 chat_room_create(const char *name);
int	 chat_roster_join_allowed(struct link *l, const char *name, int create,
	    const struct store_user *subject);
int	 chat_roster_change(const char *name, const struct store_user *u,
	    uint8_t kind, const uint8_t *entry, size_t len);
int	 chat_is_member(const char *name, int64_t user_id);
int	 chat_bind(struct link *l, const struct store_user *u);
void	 chat_start(struct link *l);
void	 chat_frame(struct link *l, const struct frame *f);
void	 chat_fanout(struct after *a);
int	 chat_wants_pump(const struct link *l);
void	 chat_pump(struct link *l);
void	 chat_link_gone(struct link *l);
void	 chat_prune(void);
void	 chat_free(void);
void	 chat_undo(const struct undo *u);
void	 chat_undo_told(const struct undo *u);
int	 chat_remove_member(const char *room, const struct store_user *su);
int	 chat_room_notice(const char *room, const uint8_t *notice, size_t len);
void	 chat_room_forget(const char *room, const uint8_t *notice, size_t len);

/* broker-admin.c: securechatctl's commands. */
#define ADMIN_NOW		0	/* answer at once */
#define ADMIN_AFTER_COMMIT	1	/* answer once this turn is on disk */
#define ADMIN_PENDING		2	/* the master answers (reload) */
int	 admin_run(uint64_t id, int argc, char **argv, int json,
	    struct evbuffer *out, uint16_t *code);
void	 admin_reload_done(const struct frame *f);

#endif
