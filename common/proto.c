/*
 * proto.c: which messages each side may send and what fields they carry,
 * as tables that frame_validate checks against, plus names for logs.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Field lists.  A message's fields appear in one list; a list may serve
 * several messages (PING and PONG, either direction).
 */
#define REQ	1
#define OPT	0

static const struct field_spec hello_fields[] = {
	{ F_VERSION,		FK_U16,		REQ,	0 },
	{ F_SOFTWARE,		FK_STR,		OPT,	64 },
};

static const struct field_spec welcome_fields[] = {
	{ F_VERSION,		FK_U16,		REQ,	0 },
	{ F_SOFTWARE,		FK_STR,		REQ,	64 },
	{ F_MAX_FRAME,		FK_U32,		REQ,	0 },
	{ F_IDLE_TIMEOUT,	FK_U32,		REQ,	0 },
	{ F_NONCE,		FK_BYTES,	REQ,	NONCE_LEN },
	{ F_REKEY_MIN,		FK_U32,		OPT,	0 },
	{ F_REKEY_MAX,		FK_U32,		OPT,	0 },
	{ F_EPOCH,		FK_BYTES,	OPT,	EPOCH_LEN },
};

static const struct field_spec login_fields[] = {
	{ F_NAME,		FK_STR,		REQ,	NAME_MAX_LEN },
	{ F_SIGNATURE,		FK_BYTES,	REQ,	SIG_LEN },
};

static const struct field_spec register_fields[] = {
	{ F_NAME,		FK_STR,		REQ,	NAME_MAX_LEN },
	{ F_SIGN_PUB,		FK_BYTES,	REQ,	KEY_LEN },
	{ F_DH_PUB,		FK_BYTES,	REQ,	KEY_LEN },
	{ F_BINDING_SIG,	FK_BYTES,	REQ,	SIG_LEN },
	{ F_SIGNATURE,		FK_BYTES,	REQ,	SIG_LEN },
	{ F_INVITE,		FK_STR,		OPT,	64 },
};

static const struct field_spec logged_in_fields[] = {
	{ F_NAME,		FK_STR,		REQ,	NAME_MAX_LEN },
	{ F_REGISTERED,		FK_U8,		REQ,	0 },
};

static const struct field_spec room_fields[] = {
	{ F_ROOM,		FK_STR,		REQ,	ROOM_MAX_LEN },
};

static const struct field_spec send_fields[] = {
	{ F_ROOM,		FK_STR,		OPT,	ROOM_MAX_LEN },
	{ F_TO,			FK_STR,		OPT,	NAME_MAX_LEN },
	{ F_CLIENT_MSG_ID,	FK_U64,		REQ,	0 },
	{ F_BODY,		FK_BYTES,	REQ,	FRAME_MAX_CEILING },
};

static const struct field_spec ack_fields[] = {
	{ F_CLIENT_MSG_ID,	FK_U64,		REQ,	0 },
	{ F_SEQ,		FK_U64,		REQ,	0 },
	{ F_ROOM,		FK_STR,		OPT,	ROOM_MAX_LEN },
	{ F_TO,			FK_STR,		OPT,	NAME_MAX_LEN },
};

static const struct field_spec delivered_fields[] = {
	{ F_ROOM,		FK_STR,		OPT,	ROOM_MAX_LEN },
	{ F_SEQ,		FK_U64,		REQ,	0 },
};

static const struct field_spec room_event_fields[] = {
	{ F_ROOM,		FK_STR,		REQ,	ROOM_MAX_LEN },
	{ F_SEQ,		FK_U64,		REQ,	0 },
	{ F_TS,			FK_U64,		REQ,	0 },
	{ F_FROM,		FK_STR,		REQ,	NAME_MAX_LEN },
	{ F_KIND,		FK_U8,		REQ,	0 },
	{ F_BODY,		FK_BYTES,	OPT,	FRAME_MAX_CEILING },
	{ F_CLIENT_MSG_ID,	FK_U64,		OPT,	0 },
	{ F_SIGN_PUB,		FK_BYTES,	OPT,	KEY_LEN },
	{ F_ENTRY,		FK_BYTES,	OPT,	ROSTER_ENTRY_MAX },
};

static const struct field_spec direct_fields[] = {
	{ F_SEQ,		FK_U64,		REQ,	0 },
	{ F_TS,			FK_U64,		REQ,	0 },
	{ F_FROM,		FK_STR,		REQ,	NAME_MAX_LEN },
	{ F_TO,			FK_STR,		REQ,	NAME_MAX_LEN },
	{ F_BODY,		FK_BYTES,	REQ,	FRAME_MAX_CEILING },
	{ F_CLIENT_MSG_ID,	FK_U64,		OPT,	0 },
	{ F_SIGN_PUB,		FK_BYTES,	OPT,	KEY_LEN },
};

/* Lists come in pages: a request names where its page starts. */
static const struct field_spec rooms_fields[] = {
	{ F_AFTER,		FK_STR,		OPT,	ROOM_MAX_LEN },
};

static const struct field_spec who_fields[] = {
	{ F_ROOM,		FK_STR,		REQ,	ROOM_MAX_LEN },
	{ F_AFTER,		FK_STR,		OPT,	ROOM_MAX_LEN },
};

static const struct field_spec list_fields[] = {
	{ F_LIST,		FK_BYTES,	REQ,	FRAME_MAX_CEILING },
	{ F_NEXT,		FK_STR,		OPT,	ROOM_MAX_LEN },
};

static const struct field_spec who_list_fields[] = {
	{ F_ROOM,		FK_STR,		REQ,	ROOM_MAX_LEN },
	{ F_LIST,		FK_BYTES,	REQ,	FRAME_MAX_CEILING },
	{ F_NEXT,		FK_STR,		OPT,	ROOM_MAX_LEN },
};

static const struct field_spec info_reply_fields[] = {
	{ F_SOFTWARE,		FK_STR,		REQ,	64 },
	{ F_UPTIME,		FK_U64,		REQ,	0 },
	{ F_USERS_ONLINE,	FK_U32,		REQ,	0 },
	{ F_USERS,		FK_U32,		REQ,	0 },
	{ F_ROOMS,		FK_U32,		REQ,	0 },
};

static const struct field_spec prekey_fields[] = {
	{ F_SPK_ID,		FK_U32,		REQ,	0 },
	{ F_SPK_PUB,		FK_BYTES,	REQ,	KEY_LEN },
	{ F_SPK_CREATED,	FK_U64,		REQ,	0 },
	{ F_SPK_SIG,		FK_BYTES,	REQ,	SIG_LEN },
};

static const struct field_spec keys_get_fields[] = {
	{ F_NAME,		FK_STR,		REQ,	NAME_MAX_LEN },
};

/* The prekey fields come all together or not at all. */
static const struct field_spec keys_fields[] = {
	{ F_NAME,		FK_STR,		REQ,	NAME_MAX_LEN },
	{ F_SIGN_PUB,		FK_BYTES,	REQ,	KEY_LEN },
	{ F_SPK_ID,		FK_U32,		OPT,	0 },
	{ F_SPK_PUB,		FK_BYTES,	OPT,	KEY_LEN },
	{ F_SPK_CREATED,	FK_U64,		OPT,	0 },
	{ F_SPK_SIG,		FK_BYTES,	OPT,	SIG_LEN },
};

static const struct field_spec roster_get_fields[] = {
	{ F_ROOM,		FK_STR,		REQ,	ROOM_MAX_LEN },
	{ F_SEQ,		FK_U64,		OPT,	0 },
};

static const struct field_spec roster_fields[] = {
	{ F_ROOM,		FK_STR,		REQ,	ROOM_MAX_LEN },
	{ F_SEQ,		FK_U64,		REQ,	0 },
	{ F_COUNT,		FK_U64,		REQ,	0 },
	{ F_ENTRIES,		FK_BYTES,	REQ,	FRAME_MAX_CEILING },
};

static const struct field_spec roster_put_fields[] = {
	{ F_ROOM,		FK_STR,		REQ,	ROOM_MAX_LEN },
	{ F_ENTRY,		FK_BYTES,	REQ,	ROSTER_ENTRY_MAX },
};

static const struct field_spec challenge_fields[] = {
	{ F_NONCE,		FK_BYTES,	REQ,	NONCE_LEN },
	{ F_EPOCH,		FK_BYTES,	REQ,	EPOCH_LEN },
};

static const struct field_spec ping_fields[] = {
	{ F_TOKEN,		FK_BYTES,	REQ,	64 },
};

static const struct field_spec error_fields[] = {
	{ F_CODE,		FK_U16,		REQ,	0 },
	{ F_TEXT,		FK_STR,		REQ,	512 },
	{ F_RETRY_AFTER_MS,	FK_U32,		OPT,	0 },
	{ F_VERSIONS,		FK_BYTES,	OPT,	64 },
	{ F_CLIENT_MSG_ID,	FK_U64,		OPT,	0 },
	{ F_ROOM,		FK_STR,		OPT,	ROOM_MAX_LEN },
	{ F_TO,			FK_STR,		OPT,	NAME_MAX_LEN },
};

static const struct field_spec notice_fields[] = {
	{ F_TEXT,		FK_STR,		REQ,	1024 },
	{ F_ROOM,		FK_STR,		OPT,	ROOM_MAX_LEN },
	{ F_OPERATOR,		FK_U8,		OPT,	0 },
};

static const struct field_spec session_fields[] = {
	{ F_TLS_VERSION,	FK_STR,		REQ,	32 },
	{ F_TLS_CIPHER,		FK_STR,		REQ,	64 },
	{ F_TLS_GROUP,		FK_STR,		REQ,	32 },
	{ F_EXPORTER,		FK_BYTES,	REQ,	EXPORTER_LEN },
};

static const struct field_spec sign_fields[] = {
	{ F_MD_NAME,		FK_STR,		REQ,	32 },
	{ F_TBS,		FK_BYTES,	REQ,	TBS_MAX },
};

static const struct field_spec signature_fields[] = {
	{ F_TLS_SIG,		FK_BYTES,	REQ,	TLS_SIG_MAX },
};

#define MSG(t, n, fl)	{ (t), (n), (fl), nitems(fl) }
#define MSG0(t, n)	{ (t), (n), NULL, 0 }

/*
 * Each direction's table: a type absent here is refused from that sender.
 * Workers relay client messages to the broker unchanged, so the broker
 * checks them against the client table too.
 */
static const struct msg_spec client_msgs[] = {
	MSG(MSG_HELLO,		"HELLO",	hello_fields),
	MSG(MSG_PING,		"PING",		ping_fields),
	MSG(MSG_PONG,		"PONG",		ping_fields),
	MSG(MSG_LOGIN,		"LOGIN",	login_fields),
	MSG(MSG_REGISTER,	"REGISTER",	register_fields),
	MSG(MSG_JOIN,		"JOIN",		room_fields),
	MSG(MSG_PART,		"PART",		room_fields),
	MSG(MSG_SEND,		"SEND",		send_fields),
	MSG(MSG_DELIVERED,	"DELIVERED",	delivered_fields),
	MSG(MSG_ROOMS,		"ROOMS",	rooms_fields),
	MSG(MSG_WHO,		"WHO",		who_fields),
	MSG0(MSG_INFO,		"INFO"),
	MSG(MSG_PREKEY,		"PREKEY",	prekey_fields),
	MSG(MSG_KEYS_GET,	"KEYS_GET",	keys_get_fields),
	MSG(MSG_ROSTER_GET,	"ROSTER_GET",	roster_get_fields),
	MSG(MSG_ROSTER_PUT,	"ROSTER_PUT",	roster_put_fields),
};

static const struct msg_spec server_msgs[] = {
	MSG(MSG_WELCOME,	"WELCOME",	welcome_fields),
	MSG(MSG_PING,		"PING",		ping_fields),
	MSG(MSG_PONG,		"PONG",		ping_fields),
	MSG(MSG_ERROR,		"ERROR",	error_fields),
	MSG(MSG_NOTICE,		"NOTICE",	notice_fields),
	MSG(MSG_LOGGED_IN,	"LOGGED_IN",	logged_in_fields),
	MSG(MSG_ACK,		"ACK",		ack_fields),
	MSG(MSG_ROOM_EVENT,	"ROOM_EVENT",	room_event_fields),
	MSG(MSG_DIRECT,		"DIRECT",	direct_fields),
	MSG(MSG_ROOM_LIST,	"ROOM_LIST",	list_fields),
	MSG(MSG_WHO_LIST,	"WHO_LIST",	who_list_fields),
	MSG(MSG_INFO_REPLY,	"INFO_REPLY",	info_reply_fields),
	MSG0(MSG_CAUGHT_UP,	"CAUGHT_UP"),
	MSG(MSG_KEYS,		"KEYS",		keys_fields),
	MSG(MSG_ROSTER,		"ROSTER",	roster_fields),
};

static const struct msg_spec worker_msgs[] = {
	MSG(IMSG_SESSION,	"SESSION",	session_fields),
	MSG0(IMSG_KEY_UPDATE,	"KEY_UPDATE"),
};

/* The command's arguments, each ended by a NUL. */
static const struct field_spec ctl_request_fields[] = {
	{ F_LIST,		FK_BYTES,	REQ,	CTL_ARGS_MAX },
	{ F_JSON,		FK_U8,		OPT,	0 },
};

static const struct field_spec ctl_reply_fields[] = {
	{ F_CODE,		FK_U16,		REQ,	0 },
	{ F_LIST,		FK_BYTES,	REQ,	FRAME_MAX_CEILING },
};

static const struct msg_spec ctl_msgs[] = {
	MSG(CTL_REQUEST,	"CTL_REQUEST",	ctl_request_fields),
	MSG(CTL_REPLY,		"CTL_REPLY",	ctl_reply_fields),
};

static const struct msg_spec broker_msgs[] = {
	MSG(IMSG_CHALLENGE,	"CHALLENGE",	challenge_fields),
};

static const struct msg_spec keylink_msgs[] = {
	MSG(IMSG_SIGN,		"SIGN",		sign_fields),
};

static const struct msg_spec keyproc_msgs[] = {
	MSG(IMSG_SIGNATURE,	"SIGNATURE",	signature_fields),
};

static const struct msg_spec *
lookup(const struct msg_spec *tab, size_t n, uint16_t type)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (tab[i].type == type)
			return &tab[i];
	return NULL;
}

const struct msg_spec *
proto_client_spec(uint16_t type)
{
	return lookup(client_msgs, nitems(client_msgs), type);
}

/* What a worker may send the broker: its own messages, or relayed ones. */
const struct msg_spec *
proto_worker_spec(uint16_t type)
{
	const struct msg_spec	*spec;

	if ((spec = lookup(worker_msgs, nitems(worker_msgs), type)) != NULL)
		return spec;
	if (type == MSG_HELLO || type == MSG_PING || type == MSG_PONG)
		return NULL;	/* the worker answers these itself */
	return lookup(client_msgs, nitems(client_msgs), type);
}

const struct msg_spec *
proto_ctl_spec(uint16_t type)
{
	return lookup(ctl_msgs, nitems(ctl_msgs), type);
}

/* What the broker may send a worker: its own messages, or ones to relay. */
const struct msg_spec *
proto_broker_spec(uint16_t type)
{
	const struct msg_spec	*spec;

	if ((spec = lookup(broker_msgs, nitems(broker_msgs), type)) != NULL)
		return spec;
	if (type == MSG_WELCOME || type == MSG_PING || type == MSG_PONG)
		return NULL;	/* the worker's own */
	return lookup(server_msgs, nitems(server_msgs), type);
}

const struct msg_spec *
proto_keylink_spec(uint16_t type)
{
	return lookup(keylink_msgs, nitems(keylink_msgs), type);
}

const struct msg_spec *
proto_keyproc_spec(uint16_t type)
{
	return lookup(keyproc_msgs, nitems(keyproc_msgs), type);
}

const struct msg_spec *
proto_server_spec(uint16_t type)
{
	return lookup(server_msgs, nitems(server_msgs), type);
}

struct code_name {
	uint16_t	 code;
	const char	*name;
};

/* Names of every type, including those no table above accepts yet. */
static const struct code_name msg_names[] = {
	{ MSG_HELLO,		"HELLO" },
	{ MSG_WELCOME,		"WELCOME" },
	{ MSG_PING,		"PING" },
	{ MSG_PONG,		"PONG" },
	{ MSG_ERROR,		"ERROR" },
	{ MSG_NOTICE,		"NOTICE" },
	{ MSG_LOGIN,		"LOGIN" },
	{ MSG_REGISTER,		"REGISTER" },
	{ MSG_LOGGED_IN,	"LOGGED_IN" },
	{ MSG_JOIN,		"JOIN" },
	{ MSG_PART,		"PART" },
	{ MSG_SEND,		"SEND" },
	{ MSG_ACK,		"ACK" },
	{ MSG_DELIVERED,	"DELIVERED" },
	{ MSG_ROOM_EVENT,	"ROOM_EVENT" },
	{ MSG_DIRECT,		"DIRECT" },
	{ MSG_ROOMS,		"ROOMS" },
	{ MSG_ROOM_LIST,	"ROOM_LIST" },
	{ MSG_WHO,		"WHO" },
	{ MSG_WHO_LIST,		"WHO_LIST" },
	{ MSG_INFO,		"INFO" },
	{ MSG_INFO_REPLY,	"INFO_REPLY" },
	{ MSG_CAUGHT_UP,	"CAUGHT_UP" },
	{ MSG_PREKEY,		"PREKEY" },
	{ MSG_KEYS_GET,		"KEYS_GET" },
	{ MSG_KEYS,		"KEYS" },
	{ MSG_ROSTER_GET,	"ROSTER_GET" },
	{ MSG_ROSTER,		"ROSTER" },
	{ MSG_ROSTER_PUT,	"ROSTER_PUT" },
	{ IMSG_SESSION,		"SESSION" },
	{ IMSG_CHALLENGE,	"CHALLENGE" },
	{ IMSG_WORKER_INIT,	"WORKER_INIT" },
	{ IMSG_BROKER_INIT,	"BROKER_INIT" },
	{ IMSG_ATTACH,		"ATTACH" },
	{ IMSG_KEY_UPDATE,	"KEY_UPDATE" },
	{ IMSG_RELOAD,		"RELOAD" },
	{ IMSG_RELOAD_DONE,	"RELOAD_DONE" },
	{ IMSG_BROKER_READY,	"BROKER_READY" },
	{ IMSG_BROKER_FAILED,	"BROKER_FAILED" },
	{ IMSG_BROKER_PING,	"BROKER_PING" },
	{ IMSG_BROKER_PONG,	"BROKER_PONG" },
	{ IMSG_KEY_INIT,	"KEY_INIT" },
	{ IMSG_KEY_ATTACH,	"KEY_ATTACH" },
	{ IMSG_TEMPLATE_READY,	"TEMPLATE_READY" },
	{ IMSG_SPAWN,		"SPAWN" },
	{ IMSG_SPAWNED,		"SPAWNED" },
	{ IMSG_REAPED,		"REAPED" },
	{ IMSG_CHILD_PING,	"CHILD_PING" },
	{ IMSG_CHILD_PONG,	"CHILD_PONG" },
	{ CTL_REQUEST,		"CTL_REQUEST" },
	{ CTL_REPLY,		"CTL_REPLY" },
	{ IMSG_SIGN,		"SIGN" },
	{ IMSG_SIGNATURE,	"SIGNATURE" },
};

/* The names proto.h gives the tags, for logs and the docs check. */
static const struct code_name field_names[] = {
	{ F_VERSION,		"F_VERSION" },
	{ F_SOFTWARE,		"F_SOFTWARE" },
	{ F_TOKEN,		"F_TOKEN" },
	{ F_CODE,		"F_CODE" },
	{ F_TEXT,		"F_TEXT" },
	{ F_RETRY_AFTER_MS,	"F_RETRY_AFTER_MS" },
	{ F_MAX_FRAME,		"F_MAX_FRAME" },
	{ F_VERSIONS,		"F_VERSIONS" },
	{ F_IDLE_TIMEOUT,	"F_IDLE_TIMEOUT" },
	{ F_NONCE,		"F_NONCE" },
	{ F_NAME,		"F_NAME" },
	{ F_SIGNATURE,		"F_SIGNATURE" },
	{ F_SIGN_PUB,		"F_SIGN_PUB" },
	{ F_DH_PUB,		"F_DH_PUB" },
	{ F_BINDING_SIG,	"F_BINDING_SIG" },
	{ F_INVITE,		"F_INVITE" },
	{ F_REGISTERED,		"F_REGISTERED" },
	{ F_ROOM,		"F_ROOM" },
	{ F_TO,			"F_TO" },
	{ F_FROM,		"F_FROM" },
	{ F_CLIENT_MSG_ID,	"F_CLIENT_MSG_ID" },
	{ F_SEQ,		"F_SEQ" },
	{ F_TS,			"F_TS" },
	{ F_BODY,		"F_BODY" },
	{ F_KIND,		"F_KIND" },
	{ F_LIST,		"F_LIST" },
	{ F_UPTIME,		"F_UPTIME" },
	{ F_USERS_ONLINE,	"F_USERS_ONLINE" },
	{ F_USERS,		"F_USERS" },
	{ F_ROOMS,		"F_ROOMS" },
	{ F_SPK_ID,		"F_SPK_ID" },
	{ F_SPK_PUB,		"F_SPK_PUB" },
	{ F_SPK_CREATED,	"F_SPK_CREATED" },
	{ F_SPK_SIG,		"F_SPK_SIG" },
	{ F_OPERATOR,		"F_OPERATOR" },
	{ F_EPOCH,		"F_EPOCH" },
	{ F_ENTRY,		"F_ENTRY" },
	{ F_ENTRIES,		"F_ENTRIES" },
	{ F_COUNT,		"F_COUNT" },
	{ F_AFTER,		"F_AFTER" },
	{ F_NEXT,		"F_NEXT" },
	{ F_PID,		"F_PID" },
	{ F_ADDR,		"F_ADDR" },
	{ F_TLS_VERSION,	"F_TLS_VERSION" },
	{ F_TLS_CIPHER,		"F_TLS_CIPHER" },
	{ F_TLS_GROUP,		"F_TLS_GROUP" },
	{ F_CERT_PEM,		"F_CERT_PEM" },
	{ F_KEY_PEM,		"F_KEY_PEM" },
	{ F_HANDSHAKE_TIMEOUT,	"F_HANDSHAKE_TIMEOUT" },
	{ F_REKEY_MIN,		"F_REKEY_MIN" },
	{ F_REKEY_MAX,		"F_REKEY_MAX" },
	{ F_LOG_LEVEL,		"F_LOG_LEVEL" },
	{ F_USER_NAME,		"F_USER_NAME" },
	{ F_CHROOT,		"F_CHROOT" },
	{ F_REGISTRATION,	"F_REGISTRATION" },
	{ F_SESSION_ID,		"F_SESSION_ID" },
	{ F_STATUS,		"F_STATUS" },
	{ F_MAX_CLIENTS,	"F_MAX_CLIENTS" },
	{ F_EXPORTER,		"F_EXPORTER" },
	{ F_MESSAGE_RATE,	"F_MESSAGE_RATE" },
	{ F_MESSAGE_BURST,	"F_MESSAGE_BURST" },
	{ F_RETENTION,		"F_RETENTION" },
	{ F_CTL_UID,		"F_CTL_UID" },
	{ F_JSON,		"F_JSON" },
	{ F_LOGIN_TIMEOUT,	"F_LOGIN_TIMEOUT" },
	{ F_IPV4_PREFIX,	"F_IPV4_PREFIX" },
	{ F_IPV6_PREFIX,	"F_IPV6_PREFIX" },
	{ F_REQUEST_RATE,	"F_REQUEST_RATE" },
	{ F_REQUEST_BURST,	"F_REQUEST_BURST" },
	{ F_STORAGE_PER_DAY,	"F_STORAGE_PER_DAY" },
	{ F_STORAGE_BURST,	"F_STORAGE_BURST" },
	{ F_INBOX_MAX_MESSAGES,	"F_INBOX_MAX_MESSAGES" },
	{ F_INBOX_MAX_MIB,	"F_INBOX_MAX_MIB" },
	{ F_REGISTRATIONS_PER_HOUR, "F_REGISTRATIONS_PER_HOUR" },
	{ F_ROOM_CREATES_PER_HOUR, "F_ROOM_CREATES_PER_HOUR" },
	{ F_MAX_ROOMS_PER_USER,	"F_MAX_ROOMS_PER_USER" },
	{ F_MAX_MEMBERS_PER_ROOM, "F_MAX_MEMBERS_PER_ROOM" },
	{ F_MAX_ROOMS,		"F_MAX_ROOMS" },
	{ F_TBS,		"F_TBS" },
	{ F_MD_NAME,		"F_MD_NAME" },
	{ F_TLS_SIG,		"F_TLS_SIG" },
};

/* Stable names: scripts and the client's --json output use them. */
static const struct code_name err_names[] = {
	{ ERR_PROTOCOL,		"PROTOCOL" },
	{ ERR_VERSION,		"VERSION" },
	{ ERR_TOO_LARGE,	"TOO_LARGE" },
	{ ERR_UNKNOWN_TYPE,	"UNKNOWN_TYPE" },
	{ ERR_UNKNOWN_FIELD,	"UNKNOWN_FIELD" },
	{ ERR_MISSING_FIELD,	"MISSING_FIELD" },
	{ ERR_NOT_ALLOWED,	"NOT_ALLOWED" },
	{ ERR_TIMEOUT,		"TIMEOUT" },
	{ ERR_RESTARTING,	"RESTARTING" },
	{ ERR_SHUTDOWN,		"SHUTDOWN" },
	{ ERR_RATE_LIMITED,	"RATE_LIMITED" },
	{ ERR_INTERNAL,		"INTERNAL" },
	{ ERR_UNKNOWN_USER,	"UNKNOWN_USER" },
	{ ERR_NAME_TAKEN,	"NAME_TAKEN" },
	{ ERR_BAD_NAME,		"BAD_NAME" },
	{ ERR_BAD_SIGNATURE,	"BAD_SIGNATURE" },
	{ ERR_REGISTRATION_CLOSED, "REGISTRATION_CLOSED" },
	{ ERR_INVITE_REQUIRED,	"INVITE_REQUIRED" },
	{ ERR_INVITE_INVALID,	"INVITE_INVALID" },
	{ ERR_INVITE_USED,	"INVITE_USED" },
	{ ERR_NOT_MEMBER,	"NOT_MEMBER" },
	{ ERR_BAD_ROOM,		"BAD_ROOM" },
	{ ERR_NO_SUCH_USER,	"NO_SUCH_USER" },
	{ ERR_NO_SUCH_ROOM,	"NO_SUCH_ROOM" },
	{ ERR_DISABLED,		"DISABLED" },
	{ ERR_KEY_RESET,	"KEY_RESET" },
	{ ERR_KICKED,		"KICKED" },
	{ ERR_STORAGE,		"STORAGE" },
	{ ERR_ROSTER_CONFLICT,	"ROSTER_CONFLICT" },
	{ ERR_ROSTER_INVALID,	"ROSTER_INVALID" },
	{ ERR_ROSTER_REQUIRED,	"ROSTER_REQUIRED" },
	{ ERR_INBOX_FULL,	"INBOX_FULL" },
	{ ERR_TOO_MANY_ROOMS,	"TOO_MANY_ROOMS" },
	{ ERR_ROOM_FULL,	"ROOM_FULL" },
};

static const char *
name_of(const struct code_name *tab, size_t n, uint16_t code)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (tab[i].code == code)
			return tab[i].name;
	return "UNKNOWN";
}

const char *
proto_msg_name(uint16_t type)
{
	return name_of(msg_names, nitems(msg_names), type);
}

const char *
proto_field_name(uint16_t tag)
{
	return name_of(field_names, nitems(field_names), tag);
}

const char *
proto_err_name(uint16_t code)
{
	return name_of(err_names, nitems(err_names), code);
}

/*
 * The errors after which the session goes on.  Every other error is
 * followed by the server closing the connection.
 */
int
proto_err_is_fatal(uint16_t code)
{
	switch (code) {
	case ERR_RATE_LIMITED:
	case ERR_UNKNOWN_USER:
	case ERR_NOT_MEMBER:
	case ERR_BAD_ROOM:
	case ERR_NO_SUCH_USER:
	case ERR_NO_SUCH_ROOM:
	case ERR_STORAGE:
	case ERR_ROSTER_CONFLICT:
	case ERR_ROSTER_INVALID:
	case ERR_ROSTER_REQUIRED:
	case ERR_INBOX_FULL:
	case ERR_TOO_MANY_ROOMS:
	case ERR_ROOM_FULL:
		return 0;
	default:
		return 1;
	}
}

int
proto_phase_permits(enum proto_phase phase, uint16_t type)
{
	switch (phase) {
	case PHASE_GREETING:
		return type == MSG_HELLO;
	case PHASE_ACCOUNT:
		return type == MSG_LOGIN || type == MSG_REGISTER ||
		    type == MSG_PING || type == MSG_PONG;
	case PHASE_CHAT:
		return proto_client_spec(type) != NULL && type != MSG_HELLO &&
		    type != MSG_LOGIN && type != MSG_REGISTER;
	}
	return 0;
}

static int
fold_chars(char *s, size_t min, size_t max)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++) {
		if (s[n] >= 'A' && s[n] <= 'Z')
			s[n] = (char)(s[n] - 'A' + 'a');
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' &&
		    s[n] <= '9') || s[n] == '_' || s[n] == '-'))
			return -1;
		if (n + 1 > max)
			return -1;
	}
	return n >= min ? 0 : -1;
}

int
proto_fold_user(char *name)
{
	return fold_chars(name, 1, NAME_MAX_LEN);
}

int
proto_fold_room(char *room)
{
	if (room[0] != '#')
		return -1;
	return fold_chars(room + 1, 1, ROOM_MAX_LEN - 1);
}
