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
};

static const struct field_spec ping_fields[] = {
	{ F_TOKEN,		FK_BYTES,	REQ,	64 },
};

static const struct field_spec error_fields[] = {
	{ F_CODE,		FK_U16,		REQ,	0 },
	{ F_TEXT,		FK_STR,		REQ,	512 },
	{ F_RETRY_AFTER_MS,	FK_U32,		OPT,	0 },
	{ F_VERSIONS,		FK_BYTES,	OPT,	64 },
};

static const struct field_spec notice_fields[] = {
	{ F_TEXT,		FK_STR,		REQ,	1024 },
};

static const struct field_spec session_fields[] = {
	{ F_TLS_VERSION,	FK_STR,		REQ,	32 },
	{ F_TLS_CIPHER,		FK_STR,		REQ,	64 },
	{ F_TLS_GROUP,		FK_STR,		REQ,	32 },
};

#define MSG(t, n, fl)	{ (t), (n), (fl), nitems(fl) }

/* Each direction's table: a type absent here is refused from that sender. */
static const struct msg_spec client_msgs[] = {
	MSG(MSG_HELLO,		"HELLO",	hello_fields),
	MSG(MSG_PING,		"PING",		ping_fields),
	MSG(MSG_PONG,		"PONG",		ping_fields),
};

static const struct msg_spec server_msgs[] = {
	MSG(MSG_WELCOME,	"WELCOME",	welcome_fields),
	MSG(MSG_PING,		"PING",		ping_fields),
	MSG(MSG_PONG,		"PONG",		ping_fields),
	MSG(MSG_ERROR,		"ERROR",	error_fields),
	MSG(MSG_NOTICE,		"NOTICE",	notice_fields),
};

static const struct msg_spec worker_msgs[] = {
	MSG(IMSG_SESSION,	"SESSION",	session_fields),
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

const struct msg_spec *
proto_worker_spec(uint16_t type)
{
	return lookup(worker_msgs, nitems(worker_msgs), type);
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
	{ IMSG_SESSION,		"SESSION" },
	{ IMSG_RESTARTING,	"RESTARTING" },
	{ IMSG_WORKER_INIT,	"WORKER_INIT" },
	{ IMSG_BROKER_INIT,	"BROKER_INIT" },
	{ IMSG_ATTACH,		"ATTACH" },
	{ IMSG_DETACH,		"DETACH" },
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
proto_err_name(uint16_t code)
{
	return name_of(err_names, nitems(err_names), code);
}
