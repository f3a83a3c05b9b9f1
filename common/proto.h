/*
 * proto.h: the securechat protocol, on the wire and between processes.
 * Message types, field tags, error codes and limits.  Bump PROTO_VERSION
 * whenever the meaning of anything below changes; docs/PROTOCOL.md follows.
 */
#ifndef SC_PROTO_H
#define SC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION		2	/* 1: no rosters, E2E version 1 */
#define PROTO_DEFAULT_PORT	7443
#define PROTO_NAME		"securechat"

/* Frame header: u32 body length, u16 type, u16 flags (all big endian). */
#define FRAME_HDR_LEN		8
#define FRAME_MAX_DEFAULT	65536	/* limits.max_frame_bytes default */
#define FRAME_MAX_CEILING	(16u * 1024 * 1024)	/* no config may exceed */
#define FRAME_MIN_MAX		1024	/* no config may go below */
#define FRAME_MAX_FIELDS	32
#define FRAME_FLAGS_KNOWN	0x0000	/* no flag is defined in version 1 */

/* A field tag with this bit set must be understood by the receiver. */
#define FIELD_CRITICAL		0x8000

/*
 * Message types.  0x00xx travel between client and worker; 0x01xx between
 * worker and broker; 0x02xx between master and its children; 0x03xx on
 * the control socket; 0x04xx between a worker and the key process.
 */
enum msg_type {
	MSG_HELLO		= 0x0001,	/* client: version, software */
	MSG_WELCOME		= 0x0002,	/* server: version, software, limits */
	MSG_PING		= 0x0003,	/* either side: token */
	MSG_PONG		= 0x0004,	/* either side: same token */
	MSG_ERROR		= 0x0005,	/* code, text, retry_after_ms? */
	MSG_NOTICE		= 0x0006,	/* server: text */

	/* Accounts (before login only). */
	MSG_LOGIN		= 0x0010,	/* client: name, signature */
	MSG_REGISTER		= 0x0011,	/* client: name, keys, signatures */
	MSG_LOGGED_IN		= 0x0012,	/* server: name, registered */

	/* Rooms, direct messages, delivery (after login only). */
	MSG_JOIN		= 0x0020,	/* client: room */
	MSG_PART		= 0x0021,	/* client: room */
	MSG_SEND		= 0x0022,	/* client: room | to, id, body */
	MSG_ACK			= 0x0023,	/* server: id, seq, room | to */
	MSG_DELIVERED		= 0x0024,	/* client: room?, seq (cumulative) */
	MSG_ROOM_EVENT		= 0x0025,	/* server: room, seq, ts, from, kind, body? */
	MSG_DIRECT		= 0x0026,	/* server: seq, ts, from, to, body */
	MSG_ROOMS		= 0x0027,	/* client: list rooms */
	MSG_ROOM_LIST		= 0x0028,	/* server: list */
	MSG_WHO			= 0x0029,	/* client: room */
	MSG_WHO_LIST		= 0x002a,	/* server: room, list */
	MSG_INFO		= 0x002b,	/* client */
	MSG_INFO_REPLY		= 0x002c,	/* server: software, uptime, counts */
	MSG_CAUGHT_UP		= 0x002d,	/* server: the backlog is all sent */

	/* Public keys for end-to-end encryption (after login only). */
	MSG_PREKEY		= 0x0030,	/* client: its signed prekey */
	MSG_KEYS_GET		= 0x0031,	/* client: name */
	MSG_KEYS		= 0x0032,	/* server: name, keys, prekey? */

	/* Signed room rosters (after login only). */
	MSG_ROSTER_GET		= 0x0033,	/* client: room, from index */
	MSG_ROSTER		= 0x0034,	/* server: room, first, total, entries */
	MSG_ROSTER_PUT		= 0x0035,	/* client: room, entry */

	IMSG_SESSION		= 0x0101,	/* worker->broker: TLS facts, exporter */
	IMSG_CHALLENGE		= 0x0102,	/* broker->worker: login nonce */
	IMSG_KEY_UPDATE		= 0x0103,	/* worker->broker: a TLS key update */

	IMSG_WORKER_INIT	= 0x0201,	/* master->template: settings, cert */
	IMSG_BROKER_INIT	= 0x0202,	/* master->broker: settings */
	IMSG_ATTACH		= 0x0203,	/* master->broker: worker link fd */
	IMSG_RELOAD		= 0x0204,	/* broker->master: securechatctl reload */
	IMSG_RELOAD_DONE	= 0x0205,	/* master->broker: code, text */
	IMSG_BROKER_READY	= 0x0206,	/* broker->master: serving */
	IMSG_BROKER_FAILED	= 0x0207,	/* broker->master: why it cannot start */
	IMSG_BROKER_PING	= 0x0208,	/* master->broker: seq */
	IMSG_BROKER_PONG	= 0x0209,	/* broker->master: same seq */
	IMSG_KEY_INIT		= 0x0210,	/* master->key process: key, settings */
	IMSG_KEY_ATTACH		= 0x0211,	/* master->key process: worker link fd */
	IMSG_TEMPLATE_READY	= 0x0213,	/* template->master: sandboxed */
	IMSG_SPAWN		= 0x0214,	/* master->template: client, links */
	IMSG_SPAWNED		= 0x0215,	/* template->master: session, pid */
	IMSG_REAPED		= 0x0216,	/* template->master: pid, status */
	IMSG_CHILD_PING		= 0x0217,	/* master->template, key process: seq */
	IMSG_CHILD_PONG		= 0x0218,	/* back to the master: same seq */

	/* securechatctl <-> broker, over the control socket. */
	CTL_REQUEST		= 0x0301,	/* list: the arguments, json? */
	CTL_REPLY		= 0x0302,	/* code (0 ok), output lines */

	/* A worker and the key process, over the worker's key link. */
	IMSG_SIGN		= 0x0401,	/* worker: digest, message to sign */
	IMSG_SIGNATURE		= 0x0402,	/* key process: the signature */
};

/* Field tags.  One namespace for every message type. */
enum field_tag {
	F_VERSION		= 0x0001,	/* u16 */
	F_SOFTWARE		= 0x0002,	/* str */
	F_TOKEN			= 0x0003,	/* bytes, <= 64 */
	F_CODE			= 0x0004,	/* u16, enum err_code */
	F_TEXT			= 0x0005,	/* str */
	F_RETRY_AFTER_MS	= 0x0006,	/* u32 */
	F_MAX_FRAME		= 0x0007,	/* u32 */
	F_VERSIONS		= 0x0008,	/* bytes: u16 list of versions spoken */
	F_IDLE_TIMEOUT		= 0x0009,	/* u32 seconds */
	F_NONCE			= 0x000a,	/* bytes[32]: login challenge */
	F_NAME			= 0x000b,	/* str: user name */
	F_SIGNATURE		= 0x000c,	/* bytes[64]: Ed25519 */
	F_SIGN_PUB		= 0x000d,	/* bytes[32]: Ed25519 public key */
	F_DH_PUB		= 0x000e,	/* bytes[32]: X25519 public key */
	F_BINDING_SIG		= 0x000f,	/* bytes[64]: sign_pub over dh_pub */
	F_INVITE		= 0x0010,	/* str: one-time invite code */
	F_REGISTERED		= 0x0011,	/* u8: 1 if this login registered */
	F_ROOM			= 0x0012,	/* str: "#name" */
	F_TO			= 0x0013,	/* str: user name */
	F_FROM			= 0x0014,	/* str: user name (stamped by broker) */
	F_CLIENT_MSG_ID		= 0x0015,	/* u64: sender's de-duplication id */
	F_SEQ			= 0x0016,	/* u64: position in a room or inbox */
	F_TS			= 0x0017,	/* u64: milliseconds since the epoch */
	F_BODY			= 0x0018,	/* bytes: opaque to every server process */
	F_KIND			= 0x0019,	/* u8: 0 message, 1 join, 2 part */
	F_LIST			= 0x001a,	/* bytes: "item value\n" lines */
	F_UPTIME		= 0x001b,	/* u64 seconds */
	F_USERS_ONLINE		= 0x001c,	/* u32 */
	F_USERS			= 0x001d,	/* u32 */
	F_ROOMS			= 0x001e,	/* u32 */
	F_SPK_ID		= 0x001f,	/* u32: signed prekey id */
	F_SPK_PUB		= 0x0020,	/* bytes[32]: X25519 prekey */
	F_SPK_CREATED		= 0x0021,	/* u64: seconds since the epoch */
	F_SPK_SIG		= 0x0022,	/* bytes[64]: identity over prekey */
	F_OPERATOR		= 0x0023,	/* u8: 1, NOTICE from the operator */
	F_EPOCH			= 0x0024,	/* bytes[16]: the database's identity */
	F_ENTRY			= 0x0025,	/* bytes: one signed roster entry */
	F_ENTRIES		= 0x0026,	/* bytes: (u32 len, entry) ... */
	F_COUNT			= 0x0027,	/* u64: entries in a roster */
	F_AFTER			= 0x0028,	/* str: a list page starts after it */
	F_NEXT			= 0x0029,	/* str: another page follows: its F_AFTER */

	/* internal */
	F_PID			= 0x0101,	/* u32 */
	F_ADDR			= 0x0102,	/* str: client address */
	F_TLS_VERSION		= 0x0103,	/* str */
	F_TLS_CIPHER		= 0x0104,	/* str */
	F_TLS_GROUP		= 0x0105,	/* str */
	F_CERT_PEM		= 0x0106,	/* bytes */
	F_KEY_PEM		= 0x0107,	/* bytes, wiped after use */
	F_HANDSHAKE_TIMEOUT	= 0x0108,	/* u32 seconds */
	F_REKEY_MIN		= 0x0109,	/* u32 seconds */
	F_REKEY_MAX		= 0x010a,	/* u32 seconds */
	F_LOG_LEVEL		= 0x010b,	/* u8 */
	F_USER_NAME		= 0x010c,	/* str: unprivileged account */
	F_CHROOT		= 0x010d,	/* str */
	F_REGISTRATION		= 0x010e,	/* str */
	F_SESSION_ID		= 0x010f,	/* u64 */
	F_STATUS		= 0x0110,	/* u32: wait(2) status */
	F_MAX_CLIENTS		= 0x0111,	/* u32 */
	F_EXPORTER		= 0x0112,	/* bytes[32]: RFC 9266 tls-exporter */
	F_MESSAGE_RATE		= 0x0113,	/* u32 per second */
	F_MESSAGE_BURST		= 0x0114,	/* u32 */
	F_RETENTION		= 0x0115,	/* u32 days */
	F_CTL_UID		= 0x0116,	/* u32: who may use the control socket */
	F_JSON			= 0x0117,	/* u8: 1, answer in JSON */
	F_LOGIN_TIMEOUT		= 0x0118,	/* u32 seconds */
	F_IPV4_PREFIX		= 0x0120,	/* u32 bits */
	F_IPV6_PREFIX		= 0x0121,	/* u32 bits */
	F_REQUEST_RATE		= 0x0122,	/* u32 per second */
	F_REQUEST_BURST		= 0x0123,	/* u32 */
	F_STORAGE_PER_DAY	= 0x0124,	/* u32 MiB per user */
	F_STORAGE_BURST		= 0x0125,	/* u32 MiB */
	F_INBOX_MAX_MESSAGES	= 0x0126,	/* u32 */
	F_INBOX_MAX_MIB		= 0x0127,	/* u32 MiB */
	F_REGISTRATIONS_PER_HOUR = 0x0128,	/* u32 per address prefix */
	F_ROOM_CREATES_PER_HOUR	= 0x0129,	/* u32 per address prefix */
	F_MAX_ROOMS_PER_USER	= 0x012a,	/* u32 */
	F_MAX_MEMBERS_PER_ROOM	= 0x012b,	/* u32 */
	F_MAX_ROOMS		= 0x012c,	/* u32 */
	F_TBS			= 0x0130,	/* bytes: a message to sign */
	F_MD_NAME		= 0x0131,	/* str: digest name, "" for EdDSA */
	F_TLS_SIG		= 0x0132,	/* bytes: a TLS CertificateVerify signature */
};

/* Error codes carried in MSG_ERROR.  Stable: scripts see them. */
enum err_code {
	ERR_PROTOCOL		= 1,	/* malformed frame or field */
	ERR_VERSION		= 2,	/* protocol version not spoken */
	ERR_TOO_LARGE		= 3,	/* frame above limits.max_frame_bytes */
	ERR_UNKNOWN_TYPE	= 4,
	ERR_UNKNOWN_FIELD	= 5,	/* unknown critical field */
	ERR_MISSING_FIELD	= 6,
	ERR_NOT_ALLOWED		= 7,	/* message not allowed in this phase */
	ERR_TIMEOUT		= 8,	/* handshake or idle deadline */
	ERR_RESTARTING		= 9,	/* server restarting: reconnect */
	ERR_SHUTDOWN		= 10,	/* server shutting down */
	ERR_RATE_LIMITED	= 11,
	ERR_INTERNAL		= 12,
	ERR_UNKNOWN_USER	= 13,	/* LOGIN for a name not registered */
	ERR_NAME_TAKEN		= 14,	/* REGISTER for a name in use */
	ERR_BAD_NAME		= 15,	/* not [a-z0-9_-]{1,32} */
	ERR_BAD_SIGNATURE	= 16,	/* wrong key: signature does not verify */
	ERR_REGISTRATION_CLOSED	= 17,
	ERR_INVITE_REQUIRED	= 18,
	ERR_INVITE_INVALID	= 19,
	ERR_INVITE_USED		= 20,
	ERR_NOT_MEMBER		= 21,	/* send to or part a room not joined */
	ERR_BAD_ROOM		= 22,	/* not #[a-z0-9_-]{1,64} */
	ERR_NO_SUCH_USER	= 23,	/* direct message to an unknown user */
	ERR_NO_SUCH_ROOM	= 24,
	ERR_DISABLED		= 25,	/* account disabled by the operator */
	ERR_KEY_RESET		= 26,	/* the operator reset this user's key */
	ERR_KICKED		= 27,	/* the operator ended the sessions */
	ERR_STORAGE		= 28,	/* not stored: the server's storage failed */
	ERR_ROSTER_CONFLICT	= 29,	/* entry does not follow the stored head */
	ERR_ROSTER_INVALID	= 30,	/* entry the broker found invalid */
	ERR_ROSTER_REQUIRED	= 31,	/* plain JOIN/PART of a room with a roster */
	ERR_INBOX_FULL		= 32,	/* the recipient's offline quota */
	ERR_TOO_MANY_ROOMS	= 33,	/* the user's or the server's room cap */
	ERR_ROOM_FULL		= 34,	/* the room's member cap */
};

/* F_KIND of a ROOM_EVENT. */
#define EVENT_MESSAGE		0
#define EVENT_JOIN		1
#define EVENT_PART		2

/* A securechatctl command: at most this many bytes of arguments. */
#define CTL_ARGS_MAX		2048
#define CTL_ARGS_COUNT		16

/* Bytes a SEND frame leaves for the broker to address and stamp it. */
#define SEND_OVERHEAD		256

/* Room and user names (docs/DESIGN.md section 5), after case folding. */
#define NAME_MAX_LEN		32
#define ROOM_MAX_LEN		65	/* '#' and up to 64 characters */
#define KEY_LEN			32
#define SIG_LEN			64
#define NONCE_LEN		32
#define EPOCH_LEN		16
#define EXPORTER_LEN		32
#define EXPORTER_LABEL		"EXPORTER-Channel-Binding"
#define ROSTER_ENTRY_MAX	1024	/* F_ENTRY; e2e-roster.h's bound fits */
#define TLS_SIG_MAX		1024	/* RSA up to 8192 bits */
#define TBS_MAX			256	/* a TLS 1.3 CertificateVerify input */
#define LOGIN_CONTEXT		"securechat login v1"
#define BINDING_CONTEXT		"securechat/v1/identity-binding"

/*
 * The phases of a client session (docs/PROTOCOL.md 1.1).  HELLO is
 * permitted once in the greeting; the caller counts it.
 */
enum proto_phase {
	PHASE_GREETING,		/* TLS done, no WELCOME yet */
	PHASE_ACCOUNT,		/* WELCOME sent, not logged in */
	PHASE_CHAT,		/* logged in */
};

/* May a client send this message type in this phase? */
int	proto_phase_permits(enum proto_phase phase, uint16_t type);

/* Lowercase name in place; 0 if it is a valid user (or room) name. */
int	proto_fold_user(char *name);
int	proto_fold_room(char *room);
/* Is this error one after which the server closes the connection? */
int	proto_err_is_fatal(uint16_t code);

/* Kinds of field value, for validation. */
enum field_kind {
	FK_U8, FK_U16, FK_U32, FK_U64,
	FK_STR,		/* printable UTF-8, no NUL, no control characters */
	FK_BYTES,
};

struct field_spec {
	uint16_t	 tag;
	uint8_t		 kind;
	uint8_t		 required;
	uint32_t	 max_len;	/* for FK_STR and FK_BYTES */
};

struct msg_spec {
	uint16_t		 type;
	const char		*name;
	const struct field_spec	*fields;
	size_t			 nfields;
};

/* The messages a client may send to a worker, and their fields. */
const struct msg_spec	*proto_client_spec(uint16_t type);
/* The messages a worker may send to the broker. */
const struct msg_spec	*proto_worker_spec(uint16_t type);
/* The messages the broker may send to a worker. */
const struct msg_spec	*proto_broker_spec(uint16_t type);
/* The messages securechatctl and the broker exchange. */
const struct msg_spec	*proto_ctl_spec(uint16_t type);
/* The messages a worker may send the key process. */
const struct msg_spec	*proto_keylink_spec(uint16_t type);
/* The messages the key process may send a worker. */
const struct msg_spec	*proto_keyproc_spec(uint16_t type);
/* The messages a server may send to a client. */
const struct msg_spec	*proto_server_spec(uint16_t type);
const char		*proto_msg_name(uint16_t type);
const char		*proto_field_name(uint16_t tag);	/* "F_ROOM", ... */
const char		*proto_err_name(uint16_t code);	/* "PROTOCOL", ... */

#endif
