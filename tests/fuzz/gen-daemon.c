/*
 * gen-daemon.c: seeds of the daemon's harnesses (fuzz_broker, fuzz_worker,
 * fuzz_log_relay, fuzz_keyproc): real frame sequences a worker, a broker
 * or the master would send.
 */
#include "config.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "e2e-prekey.h"
#include "frame.h"
#include "fuzz.h"
#include "gen.h"
#include "keyproc.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

/* fuzz_broker's modes, and its MODE_BODIES turn marker. */
#define BROKER_NEW	0
#define BROKER_AUTHED	1
#define BROKER_BODIES	2
#define BROKER_MASTER	3
#define BROKER_CTL	4
#define TURN_END	0xffff
#define PAST_CREATED	1700000000u

static void
session(struct gen_buf *g)
{
	struct frame_buf	*b = gen_fb(IMSG_SESSION);
	uint8_t			 exp[EXPORTER_LEN];

	memset(exp, 0xe5, sizeof(exp));
	frame_put_str(b, F_TLS_VERSION, "TLSv1.3");
	frame_put_str(b, F_TLS_CIPHER, "TLS_AES_256_GCM_SHA384");
	frame_put_str(b, F_TLS_GROUP, "X25519");
	frame_put_bytes(b, F_EXPORTER, exp, sizeof(exp));
	gen_frame_cat(g, b);
}

static void
room_msg(struct gen_buf *g, uint16_t type, const char *room)
{
	struct frame_buf	*b = gen_fb(type);

	frame_put_str(b, F_ROOM, room);
	gen_frame_cat(g, b);
}

static void
send_msg(struct gen_buf *g, const char *room, const char *to, uint64_t id,
    const char *body)
{
	struct frame_buf	*b = gen_fb(MSG_SEND);

	if (room != NULL)
		frame_put_str(b, F_ROOM, room);
	if (to != NULL)
		frame_put_str(b, F_TO, to);
	frame_put_u64(b, F_CLIENT_MSG_ID, id);
	frame_put_bytes(b, F_BODY, body, strlen(body));
	gen_frame_cat(g, b);
}

/* A list's page after item (PROTOCOL.md 4.8): ROOMS, or WHO of room. */
static void
list_page(struct gen_buf *g, uint16_t type, const char *room,
    const char *after)
{
	struct frame_buf	*b = gen_fb(type);

	if (room != NULL)
		frame_put_str(b, F_ROOM, room);
	frame_put_str(b, F_AFTER, after);
	gen_frame_cat(g, b);
}

/* What a logged-in client says, each kind at least once. */
static void
chat(struct gen_buf *g)
{
	struct fuzz_keys	 alice;
	struct frame_buf	*b;
	uint8_t			 sig[SIG_LEN];

	fuzz_keys(FUZZ_PEER, &alice);
	room_msg(g, MSG_JOIN, FUZZ_ROOM);
	room_msg(g, MSG_JOIN, "#New");
	send_msg(g, FUZZ_ROOM, NULL, 11, "\x01\x20sealed");
	send_msg(g, NULL, FUZZ_PEER2, 12, "\x01\x01sealed");
	send_msg(g, NULL, "nobody", 13, "x");
	send_msg(g, "#new", NULL, 11, "again");
	b = gen_fb(MSG_DELIVERED);
	frame_put_str(b, F_ROOM, FUZZ_ROOM);
	frame_put_u64(b, F_SEQ, 2);
	gen_frame_cat(g, b);
	b = gen_fb(MSG_DELIVERED);
	frame_put_u64(b, F_SEQ, 1);
	gen_frame_cat(g, b);
	gen_frame_cat(g, gen_fb(MSG_ROOMS));
	room_msg(g, MSG_WHO, FUZZ_ROOM);
	gen_frame_cat(g, gen_fb(MSG_INFO));
	/* The broker believes no prekey from the future: one from 2023. */
	if (e2e_prekey_sign(alice.sign_priv, FUZZ_SPK_ID, PAST_CREATED,
	    alice.spk_pub, sig) == -1)
		abort();
	b = gen_fb(MSG_PREKEY);
	frame_put_u32(b, F_SPK_ID, FUZZ_SPK_ID);
	frame_put_bytes(b, F_SPK_PUB, alice.spk_pub, KEY_LEN);
	frame_put_u64(b, F_SPK_CREATED, PAST_CREATED);
	frame_put_bytes(b, F_SPK_SIG, sig, SIG_LEN);
	gen_frame_cat(g, b);
	b = gen_fb(MSG_KEYS_GET);
	frame_put_str(b, F_NAME, "Bob");
	gen_frame_cat(g, b);
	room_msg(g, MSG_PART, "#new");
	room_msg(g, MSG_PART, "#nope");
}

/* The frames of g as fuzz_broker's MODE_BODIES steps, a turn each. */
static void
as_bodies(struct gen_buf *out, const struct gen_buf *g)
{
	size_t	 off, len;

	for (off = 0; off + FRAME_HDR_LEN <= g->len; off += FRAME_HDR_LEN +
	    len) {
		len = be32_get(g->p + off);
		gen_u16(out, be16_get(g->p + off + 4));
		gen_u16(out, (uint16_t)len);
		gen_cat(out, g->p + off + FRAME_HDR_LEN, len);
		gen_u16(out, TURN_END);
		gen_u16(out, 0);
	}
}

static void
master_packet(struct gen_buf *g, uint8_t flags, struct frame_buf *b)
{
	if (frame_finish(b) == -1)
		abort();
	gen_u8(g, flags);
	gen_u16(g, (uint16_t)b->len);
	gen_cat(g, b->data, b->len);
	frame_buf_free(b);
}

/* One securechatctl request: NUL-ended words, maybe JSON. */
static void
ctl_request(const char *name, int json, const char *words, size_t len)
{
	struct gen_buf		 g = { NULL, 0 };
	struct frame_buf	*b = gen_fb(CTL_REQUEST);

	frame_put_bytes(b, F_LIST, words, len);
	if (json)
		frame_put_u8(b, F_JSON, 1);
	gen_u8(&g, BROKER_CTL);
	gen_frame_cat(&g, b);
	gen_done(&g, "broker", name);
}

#define CTL(name, json, words)	ctl_request(name, json, words, sizeof(words))

static void
ctl_seeds(void)
{
	CTL("ctl-user-list", 1, "user\0list");
	CTL("ctl-user-disable", 0, "user\0disable\0bob");
	CTL("ctl-user-delete", 0, "user\0delete\0alice");
	CTL("ctl-kick", 0, "kick\0alice");
	CTL("ctl-rooms", 1, "rooms");
	CTL("ctl-room-delete", 0, "room\0delete\0#fuzz");
	CTL("ctl-room-remove-member", 0, "room\0remove-member\0#fuzz\0bob");
	CTL("ctl-invite", 1, "invite\0create\0--uses\0002\0--expires\0001d");
	/* Bug 2 of docs/FUZZING.md: a second invite draws the same code. */
	CTL("ctl-invite-again", 0, "invite");
	CTL("ctl-invite-list", 0, "invite\0list");
	CTL("ctl-invite-revoke", 0, "invite\0revoke\0000123456789abcdef0123");
	CTL("ctl-reset-key", 0, "reset-key\0bob");
	CTL("ctl-notice", 0, "notice\0#fuzz\0maintenance\0at\0noon");
	CTL("ctl-who", 1, "who");
	CTL("ctl-stats", 0, "stats");
	CTL("ctl-metrics", 0, "metrics");
	CTL("ctl-reload", 1, "reload");
}

static void
broker_seeds(void)
{
	struct fuzz_keys	 carol;
	struct gen_buf		 g = { NULL, 0 }, c = { NULL, 0 };
	struct crypto_part	 parts[2];
	struct frame_buf	*b;
	uint8_t			 sig[SIG_LEN], entry[1024];
	int			 i;

	fuzz_keys("carol", &carol);
	gen_u8(&g, BROKER_NEW);
	session(&g);
	b = gen_fb(MSG_LOGIN);
	frame_put_str(b, F_NAME, FUZZ_PEER);
	frame_put_bytes(b, F_SIGNATURE, carol.spk_sig, SIG_LEN);
	gen_frame_cat(&g, b);
	gen_done(&g, "broker", "login-bad-signature");

	parts[0].p = BINDING_CONTEXT;
	parts[0].len = strlen(BINDING_CONTEXT);
	parts[1].p = carol.dh_pub;
	parts[1].len = KEY_LEN;
	if (crypto_ed25519_sign_parts(carol.sign_priv, parts, 2, sig) == -1)
		abort();
	gen_u8(&g, BROKER_NEW);
	session(&g);
	b = gen_fb(MSG_REGISTER);
	frame_put_str(b, F_NAME, "carol");
	frame_put_bytes(b, F_SIGN_PUB, carol.sign_pub, KEY_LEN);
	frame_put_bytes(b, F_DH_PUB, carol.dh_pub, KEY_LEN);
	frame_put_bytes(b, F_BINDING_SIG, sig, SIG_LEN);
	frame_put_bytes(b, F_SIGNATURE, sig, SIG_LEN);
	frame_put_str(b, F_INVITE, "0123456789abcdef0123");
	gen_frame_cat(&g, b);
	gen_done(&g, "broker", "register");


	gen_u8(&g, BROKER_NEW);
	session(&g);
	room_msg(&g, MSG_JOIN, FUZZ_ROOM);
	gen_done(&g, "broker", "join-before-login");

	gen_u8(&g, BROKER_AUTHED);
	chat(&g);
	gen_done(&g, "broker", "chat");

	gen_u8(&g, BROKER_AUTHED);
	for (i = 0; i < 48; i++)
		send_msg(&g, FUZZ_ROOM, NULL, 100 + (uint64_t)i, "flood");
	gen_done(&g, "broker", "rate-limited");

	gen_u8(&g, BROKER_AUTHED);
	session(&g);
	gen_done(&g, "broker", "session-again");

	/*
	 * Past the request burst: the link is paused with the rest unread,
	 * and reads it when the pause ends, in the event loop, where a
	 * malformed frame ends it (the harness must see alice gone).
	 */
	gen_u8(&g, BROKER_AUTHED);
	for (i = 0; i < 100; i++)
		room_msg(&g, MSG_WHO, FUZZ_ROOM);
	gen_u32(&g, 3);
	gen_u16(&g, MSG_WHO);
	gen_u16(&g, 0);
	gen_cat(&g, "\0\1\0", 3);
	gen_done(&g, "broker", "paused-then-malformed");

	/* Lists in pages (PROTOCOL.md 4.8), past the end and from nowhere. */
	gen_u8(&g, BROKER_AUTHED);
	for (i = 0; i < 3; i++) {
		b = gen_fb(MSG_JOIN);
		frame_put_str(b, F_ROOM, i == 0 ? "#a" : i == 1 ? "#b" : "#z");
		gen_frame_cat(&g, b);
	}
	list_page(&g, MSG_ROOMS, NULL, "#b");
	list_page(&g, MSG_ROOMS, NULL, "#gone");
	list_page(&g, MSG_ROOMS, NULL, "");
	list_page(&g, MSG_WHO, FUZZ_ROOM, FUZZ_PEER);
	list_page(&g, MSG_WHO, FUZZ_ROOM, "zzz");
	gen_done(&g, "broker", "lists-after");

	/* More rooms than fuzz_broker lets one user be in. */
	gen_u8(&g, BROKER_AUTHED);
	for (i = 0; i < 10; i++) {
		(void)snprintf((char *)entry, sizeof(entry), "#cap%d", i);
		room_msg(&g, MSG_JOIN, (const char *)entry);
	}
	gen_done(&g, "broker", "too-many-rooms");

	/* alice leaves #fuzz and comes back to find it full (bob is in). */
	gen_u8(&g, BROKER_AUTHED);
	room_msg(&g, MSG_PART, FUZZ_ROOM);
	room_msg(&g, MSG_JOIN, FUZZ_ROOM);
	gen_done(&g, "broker", "room-full");

	/* More for offline bob than fuzz_broker's inbox quota holds. */
	gen_u8(&g, BROKER_AUTHED);
	for (i = 0; i < 20; i++)
		send_msg(&g, NULL, FUZZ_PEER2, 200 + (uint64_t)i,
		    "\x01\x01sealed");
	gen_done(&g, "broker", "inbox-full");

	/* A signed roster: alice makes #made's, then it and #fuzz's read. */
	gen_u8(&g, BROKER_AUTHED);
	b = gen_fb(MSG_ROSTER_PUT);
	frame_put_str(b, F_ROOM, "#made");
	frame_put_bytes(b, F_ENTRY, entry, gen_roster_create("#made", entry,
	    sizeof(entry)));
	gen_frame_cat(&g, b);
	b = gen_fb(MSG_ROSTER_GET);
	frame_put_str(b, F_ROOM, "#made");
	gen_frame_cat(&g, b);
	b = gen_fb(MSG_ROSTER_GET);
	frame_put_str(b, F_ROOM, FUZZ_ROOM);
	frame_put_u64(b, F_SEQ, 0);
	gen_frame_cat(&g, b);
	gen_done(&g, "broker", "roster");

	gen_u8(&g, BROKER_BODIES);
	chat(&c);
	as_bodies(&g, &c);
	free(c.p);
	gen_done(&g, "broker", "chat-turns");

	gen_u8(&g, BROKER_MASTER);
	b = gen_fb(IMSG_BROKER_INIT);
	frame_put_str(b, F_USER_NAME, "_securechat");
	frame_put_str(b, F_CHROOT, "/var/lib/securechat");
	frame_put_str(b, F_REGISTRATION, "invite");
	frame_put_u8(b, F_LOG_LEVEL, 0);
	frame_put_u32(b, F_MAX_CLIENTS, 1024);
	frame_put_u32(b, F_MAX_FRAME, FRAME_MAX_DEFAULT);
	frame_put_u32(b, F_MESSAGE_RATE, 20);
	frame_put_u32(b, F_MESSAGE_BURST, 40);
	frame_put_u32(b, F_RETENTION, 30);
	frame_put_u32(b, F_CTL_UID, 0);
	frame_put_u32(b, F_IPV4_PREFIX, 24);
	frame_put_u32(b, F_IPV6_PREFIX, 48);
	frame_put_u32(b, F_REQUEST_RATE, 20);
	frame_put_u32(b, F_REQUEST_BURST, 200);
	frame_put_u32(b, F_STORAGE_PER_DAY, 256);
	frame_put_u32(b, F_STORAGE_BURST, 16);
	frame_put_u32(b, F_INBOX_MAX_MESSAGES, 10000);
	frame_put_u32(b, F_INBOX_MAX_MIB, 64);
	frame_put_u32(b, F_REGISTRATIONS_PER_HOUR, 10);
	frame_put_u32(b, F_ROOM_CREATES_PER_HOUR, 60);
	frame_put_u32(b, F_MAX_ROOMS_PER_USER, 1000);
	frame_put_u32(b, F_MAX_MEMBERS_PER_ROOM, 5000);
	frame_put_u32(b, F_MAX_ROOMS, 100000);
	master_packet(&g, 0, b);
	b = gen_fb(IMSG_ATTACH);
	frame_put_u32(b, F_PID, 4243);
	frame_put_u64(b, F_SESSION_ID, 99);
	frame_put_str(b, F_ADDR, "2001:db8::7");
	master_packet(&g, 1, b);
	b = gen_fb(IMSG_BROKER_PING);
	frame_put_u64(b, F_SEQ, 7);
	master_packet(&g, 0, b);
	b = gen_fb(IMSG_RELOAD_DONE);
	frame_put_u16(b, F_CODE, 0);
	frame_put_str(b, F_TEXT, "limits.message_rate: 20 -> 30");
	master_packet(&g, 0, b);
	gen_done(&g, "broker", "master");

	/* A worker's note of a TLS key update, before and after login. */
	gen_u8(&g, BROKER_NEW);
	gen_frame_cat(&g, gen_fb(IMSG_KEY_UPDATE));
	session(&g);
	gen_frame_cat(&g, gen_fb(IMSG_KEY_UPDATE));
	gen_done(&g, "broker", "key-update");
	ctl_seeds();
}

/* fuzz_worker's modes; its second byte's flags. */
#define WORKER_HELLO	0
#define WORKER_WELCOMED	1
#define WORKER_LOGGED_IN 2
#define WORKER_BROKER	3
#define WORKER_NONCE	1	/* the broker's challenge came */
#define WORKER_HELLOED	2	/* the client's HELLO came */

static void
hello(struct gen_buf *g)
{
	struct frame_buf	*b = gen_fb(MSG_HELLO);

	frame_put_u16(b, F_VERSION, PROTO_VERSION);
	frame_put_str(b, F_SOFTWARE, "securechat 0.1.0");
	gen_frame_cat(g, b);
}

static void
ping(struct gen_buf *g, uint16_t type)
{
	struct frame_buf	*b = gen_fb(type);

	frame_put_bytes(b, F_TOKEN, "0123456789abcdef", 16);
	gen_frame_cat(g, b);
}

static void
login(struct gen_buf *g)
{
	struct frame_buf	*b = gen_fb(MSG_LOGIN);
	uint8_t			 sig[SIG_LEN];

	memset(sig, 0x51, sizeof(sig));
	frame_put_str(b, F_NAME, FUZZ_PEER);
	frame_put_bytes(b, F_SIGNATURE, sig, sizeof(sig));
	gen_frame_cat(g, b);
}

static void
server_error(struct gen_buf *g, uint16_t code)
{
	struct frame_buf	*b = gen_fb(MSG_ERROR);

	frame_put_u16(b, F_CODE, code);
	frame_put_str(b, F_TEXT, proto_err_name(code));
	gen_frame_cat(g, b);
}

static void
gen_worker_seeds(void)
{
	struct gen_buf		 g = { NULL, 0 };
	struct frame_buf	*b;
	uint8_t			 nonce[NONCE_LEN], epoch[EPOCH_LEN];

	gen_u8(&g, WORKER_HELLO);
	gen_u8(&g, WORKER_NONCE);
	hello(&g);
	login(&g);
	gen_done(&g, "worker", "hello-login");
	gen_u8(&g, WORKER_HELLO);
	gen_u8(&g, 0);
	hello(&g);
	ping(&g, MSG_PING);
	gen_done(&g, "worker", "hello-before-challenge");
	gen_u8(&g, WORKER_WELCOMED);
	gen_u8(&g, 0);
	ping(&g, MSG_PING);
	ping(&g, MSG_PONG);
	login(&g);
	room_msg(&g, MSG_JOIN, FUZZ_ROOM);
	gen_done(&g, "worker", "before-login");
	gen_u8(&g, WORKER_LOGGED_IN);
	gen_u8(&g, 0);
	chat(&g);
	ping(&g, MSG_PING);
	hello(&g);
	gen_done(&g, "worker", "logged-in");

	memset(nonce, 0x6e, sizeof(nonce));
	gen_u8(&g, WORKER_BROKER);
	gen_u8(&g, WORKER_HELLOED);
	memset(epoch, 0xe0, sizeof(epoch));
	b = gen_fb(IMSG_CHALLENGE);
	frame_put_bytes(b, F_NONCE, nonce, sizeof(nonce));
	frame_put_bytes(b, F_EPOCH, epoch, sizeof(epoch));
	gen_frame_cat(&g, b);
	b = gen_fb(MSG_LOGGED_IN);
	frame_put_str(b, F_NAME, FUZZ_PEER);
	frame_put_u8(b, F_REGISTERED, 0);
	gen_frame_cat(&g, b);
	b = gen_fb(MSG_ROOM_EVENT);
	frame_put_str(b, F_ROOM, FUZZ_ROOM);
	frame_put_u64(b, F_SEQ, 1);
	frame_put_u64(b, F_TS, 1);
	frame_put_str(b, F_FROM, FUZZ_PEER2);
	frame_put_u8(b, F_KIND, 0);
	frame_put_bytes(b, F_BODY, "x", 1);
	gen_frame_cat(&g, b);
	gen_frame_cat(&g, gen_fb(MSG_CAUGHT_UP));
	server_error(&g, ERR_NOT_MEMBER);
	server_error(&g, ERR_PROTOCOL);
	gen_done(&g, "worker", "broker");
}

/*
 * Log lines as a sandboxed child sends them: log.c itself writes them,
 * to a socket pair standing in for its stderr.
 */
static void
log_relay_seeds(void)
{
	static const uint8_t	 flags[] = { 0x02, 0x03, 0x00 };
	struct gen_buf		 g = { NULL, 0 };
	uint8_t			 rec[LOG_RELAY_MAX];
	char			 name[32];
	ssize_t			 n;
	size_t			 i;
	int			 sp[2], saved;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) == -1 ||
	    (saved = dup(STDERR_FILENO)) == -1 ||
	    dup2(sp[1], STDERR_FILENO) == -1)
		abort();
	log_procname("worker");
	log_init_relay(LOG_LEVEL_DEBUG);
	log_info("client 192.0.2.1: TLSv1.3 TLS_AES_256_GCM_SHA384 X25519");
	log_security("client 192.0.2.1: NOT_ALLOWED: JOIN is not allowed "
	    "before login");
	log_warnx("client 2001:db8::1: idle for 300 s: closing");
	if (dup2(saved, STDERR_FILENO) == -1)
		abort();
	(void)close(saved);
	log_procname("fuzz");
	log_init(1, -1);
	for (i = 0; i < sizeof(flags); i++) {
		if ((n = recv(sp[0], rec, sizeof(rec), MSG_DONTWAIT)) <= 0)
			abort();
		gen_u8(&g, flags[i]);
		gen_cat(&g, rec, (size_t)n);
		(void)snprintf(name, sizeof(name), "line-%zu", i + 1);
		gen_done(&g, "log_relay", name);
	}
	(void)close(sp[0]);
	(void)close(sp[1]);
}

/* One SIGN request, as fuzz_keyproc reads it: a u16 length, the frame. */
static void
sign_request(struct gen_buf *g, const char *md, size_t hashlen, int bad)
{
	struct frame_buf	*b = gen_fb(IMSG_SIGN);
	uint8_t			 tbs[KEYPROC_CV_PAD +
				    sizeof(KEYPROC_CV_CONTEXT) + 48];
	size_t			 len = KEYPROC_CV_PAD +
				    sizeof(KEYPROC_CV_CONTEXT) + hashlen;

	memset(tbs, 0x20, KEYPROC_CV_PAD);
	memcpy(tbs + KEYPROC_CV_PAD, KEYPROC_CV_CONTEXT,
	    sizeof(KEYPROC_CV_CONTEXT));
	memset(tbs + KEYPROC_CV_PAD + sizeof(KEYPROC_CV_CONTEXT), 0x5a,
	    hashlen);
	/* A client CertificateVerify: what a worker must not get signed. */
	if (bad)
		memcpy(tbs + KEYPROC_CV_PAD + 10, "client", 6);
	frame_put_str(b, F_MD_NAME, md);
	frame_put_bytes(b, F_TBS, tbs, len);
	if (frame_finish(b) == -1)
		abort();
	gen_u16(g, (uint16_t)b->len);
	gen_cat(g, b->data, b->len);
	frame_buf_free(b);
}

/* A key (0 EC, 1 Ed25519, 2 RSA), then the requests of one link. */
static void
keyproc_seeds(void)
{
	static const struct {
		const char	*name;
		uint8_t		 key, n, hashlen, bad;
		const char	*md;
	} seeds[] = {
		{ "ec-sha256",		0, 1, 32, 0, "SHA2-256" },
		{ "ec-twice",		0, 2, 48, 0, "SHA2-384" },
		{ "ec-client-context",	0, 1, 48, 1, "SHA2-512" },
		{ "ed25519",		1, 1, 32, 0, "" },
		{ "ed25519-digest",	1, 1, 32, 0, "SHA2-256" },
		{ "rsa-pss",		2, 1, 32, 0, "SHA2-256" },
		{ "rsa-md5",		2, 1, 32, 0, "MD5" },
	};
	struct gen_buf	 g = { NULL, 0 };
	size_t		 i, j;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		gen_u8(&g, seeds[i].key);
		for (j = 0; j < seeds[i].n; j++)
			sign_request(&g, seeds[i].md, seeds[i].hashlen,
			    seeds[i].bad);
		gen_done(&g, "keyproc", seeds[i].name);
	}
}

void
gen_daemon_seeds(void)
{
	log_relay_seeds();
	fuzz_rand_reset();
	broker_seeds();
	fuzz_rand_reset();
	gen_worker_seeds();
	keyproc_seeds();
}
