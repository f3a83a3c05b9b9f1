/*
 * proto.h: the securechat protocol, on the wire and between processes.
 * Message types, field tags, error codes and limits.  Bump PROTO_VERSION
 * whenever the meaning of anything below changes; docs/PROTOCOL.md follows.
 */
#ifndef SC_PROTO_H
#define SC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION		1
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
 * worker and broker; 0x02xx between master and its children.
 */
enum msg_type {
	MSG_HELLO		= 0x0001,	/* client: version, software */
	MSG_WELCOME		= 0x0002,	/* server: version, software, limits */
	MSG_PING		= 0x0003,	/* either side: token */
	MSG_PONG		= 0x0004,	/* either side: same token */
	MSG_ERROR		= 0x0005,	/* code, text, retry_after_ms? */
	MSG_NOTICE		= 0x0006,	/* server: text */

	IMSG_SESSION		= 0x0101,	/* worker->broker: TLS session facts */
	IMSG_RESTARTING		= 0x0102,	/* broker->worker: close, come back */

	IMSG_WORKER_INIT	= 0x0201,	/* master->worker: settings, TLS */
	IMSG_BROKER_INIT	= 0x0202,	/* master->broker: settings */
	IMSG_ATTACH		= 0x0203,	/* master->broker: worker link fd */
	IMSG_DETACH		= 0x0204,	/* master->broker: worker ended */
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
	F_FOREGROUND		= 0x0112,	/* u8 */
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
};

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
/* The messages a server may send to a client. */
const struct msg_spec	*proto_server_spec(uint16_t type);
const char		*proto_msg_name(uint16_t type);
const char		*proto_err_name(uint16_t code);	/* "PROTOCOL", ... */

#endif
