/*
 * gen-client.c: seeds of the client's harnesses (fuzz_client,
 * fuzz_e2e_client): server frames and E2E bodies for the user FUZZ_ME,
 * sealed to the prekey the harnesses' client makes for itself.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client.h"
#include "e2e-client.h"
#include "e2e.h"
#include "frame.h"
#include "fuzz-client.h"
#include "fuzz.h"
#include "gen.h"
#include "identity.h"
#include "proto.h"
#include "util.h"

/* fuzz_client's modes. */
#define CLIENT_HELLO	0
#define CLIENT_LOGIN	1
#define CLIENT_READY	2
#define CLIENT_ACTIVE	3

/* fuzz_e2e_client's item kinds and flags. */
#define ITEM_ROOM	0
#define ITEM_DIRECT	1
#define ITEM_WHO	2
#define ITEM_BOB	0x04
#define ITEM_WRONG_KEY	0x10

/* What alice sends FUZZ_ME: a bundle with its chain, then on the chain. */
struct bodies {
	uint8_t	 bundle[1024];
	size_t	 bundle_len;
	uint8_t	 group[2][512];
	size_t	 group_len[2];
	uint8_t	 dm[512];
	size_t	 dm_len;
};

static void
make_bodies(struct client *c, struct bodies *o)
{
	struct fuzz_keys	 alice;
	const struct prekey	*pk = prekeys_current(&c->e2e->prekeys);
	struct e2e_chain	 ch;
	uint8_t			 skdm[E2E_SKDM_MAX];
	size_t			 skdmlen, envlen, i;

	fuzz_keys(FUZZ_PEER, &alice);
	if (pk == NULL || e2e_chain_new(&ch, 1) != E2E_OK ||
	    e2e_chain_skdm(&ch, FUZZ_ROOM, FUZZ_EPOCH, skdm, sizeof(skdm),
	    &skdmlen) != E2E_OK ||
	    e2e_seal(alice.sign_priv, FUZZ_PEER, FUZZ_ME, pk->id, pk->pub,
	    E2E_TYPE_SKDM, skdm, skdmlen, 1700000000000ULL, o->bundle + 8,
	    sizeof(o->bundle) - 8, &envlen) != E2E_OK)
		abort();
	/* A bundle: version, type, u16 count, then u32 length, envelope. */
	o->bundle[0] = E2E_VERSION;
	o->bundle[1] = E2E_TYPE_BUNDLE;
	be16_put(o->bundle + 2, 1);
	be32_put(o->bundle + 4, (uint32_t)envlen);
	o->bundle_len = 8 + envlen;
	for (i = 0; i < 2; i++)
		if (e2e_group_seal(&ch, FUZZ_ROOM, FUZZ_PEER, FUZZ_EPOCH,
		    "hello, room", 11, 1700000000001ULL, o->group[i],
		    sizeof(o->group[i]), &o->group_len[i]) != E2E_OK)
			abort();
	if (e2e_seal(alice.sign_priv, FUZZ_PEER, FUZZ_ME, pk->id, pk->pub,
	    E2E_TYPE_DM, "hello, fuzz", 11, 1700000000002ULL, o->dm,
	    sizeof(o->dm), &o->dm_len) != E2E_OK)
		abort();
	e2e_chain_wipe(&ch);
	OPENSSL_cleanse(skdm, sizeof(skdm));
}

static void
room_event(struct gen_buf *g, const char *from, uint64_t seq, uint8_t kind,
    const uint8_t *body, size_t len)
{
	struct fuzz_keys	 k;
	struct frame_buf	*b = gen_fb(MSG_ROOM_EVENT);

	fuzz_keys(from, &k);
	frame_put_str(b, F_ROOM, FUZZ_ROOM);
	frame_put_u64(b, F_SEQ, seq);
	frame_put_u64(b, F_TS, 1700000000000ULL + seq);
	frame_put_str(b, F_FROM, from);
	frame_put_u8(b, F_KIND, kind);
	if (body != NULL)
		frame_put_bytes(b, F_BODY, body, len);
	frame_put_bytes(b, F_SIGN_PUB, k.sign_pub, KEY_LEN);
	gen_frame_cat(g, b);
}

static void
direct(struct gen_buf *g, uint64_t seq, const uint8_t *body, size_t len)
{
	struct fuzz_keys	 k;
	struct frame_buf	*b = gen_fb(MSG_DIRECT);

	fuzz_keys(FUZZ_PEER, &k);
	frame_put_u64(b, F_SEQ, seq);
	frame_put_u64(b, F_TS, 1700000000000ULL + seq);
	frame_put_str(b, F_FROM, FUZZ_PEER);
	frame_put_str(b, F_TO, FUZZ_ME);
	frame_put_bytes(b, F_BODY, body, len);
	frame_put_u64(b, F_CLIENT_MSG_ID, 77);
	frame_put_bytes(b, F_SIGN_PUB, k.sign_pub, KEY_LEN);
	gen_frame_cat(g, b);
}

static void
keys(struct gen_buf *g, const char *name)
{
	struct fuzz_keys	 k;
	struct frame_buf	*b = gen_fb(MSG_KEYS);

	fuzz_keys(name, &k);
	frame_put_str(b, F_NAME, name);
	frame_put_bytes(b, F_SIGN_PUB, k.sign_pub, KEY_LEN);
	frame_put_u32(b, F_SPK_ID, FUZZ_SPK_ID);
	frame_put_bytes(b, F_SPK_PUB, k.spk_pub, KEY_LEN);
	frame_put_u64(b, F_SPK_CREATED, FUZZ_SPK_CREATED);
	frame_put_bytes(b, F_SPK_SIG, k.spk_sig, SIG_LEN);
	gen_frame_cat(g, b);
}

static void
error(struct gen_buf *g, uint16_t code, uint32_t retry, uint64_t id)
{
	struct frame_buf	*b = gen_fb(MSG_ERROR);

	frame_put_u16(b, F_CODE, code);
	frame_put_str(b, F_TEXT, proto_err_name(code));
	if (retry != 0)
		frame_put_u32(b, F_RETRY_AFTER_MS, retry);
	if (id != 0)
		frame_put_u64(b, F_CLIENT_MSG_ID, id);
	if (code == ERR_NOT_MEMBER)
		frame_put_str(b, F_ROOM, "#elsewhere");
	gen_frame_cat(g, b);
}

/* A list page; next, if not NULL, says another follows after it. */
static void
page(struct gen_buf *g, uint16_t type, const char *text, const char *next)
{
	struct frame_buf	*b = gen_fb(type);

	if (type == MSG_WHO_LIST)
		frame_put_str(b, F_ROOM, FUZZ_ROOM);
	frame_put_bytes(b, F_LIST, text, strlen(text));
	if (next != NULL)
		frame_put_str(b, F_NEXT, next);
	gen_frame_cat(g, b);
}

static void
list(struct gen_buf *g, uint16_t type, const char *text)
{
	page(g, type, text, NULL);
}

/* Everything a server says to a logged-in client, once. */
static void
ready_events(struct gen_buf *g, const struct bodies *o)
{
	struct frame_buf	*b;

	room_event(g, FUZZ_PEER, 1, EVENT_JOIN, NULL, 0);
	room_event(g, FUZZ_PEER, 2, EVENT_MESSAGE, o->bundle, o->bundle_len);
	room_event(g, FUZZ_PEER, 3, EVENT_MESSAGE, o->group[0],
	    o->group_len[0]);
	room_event(g, FUZZ_PEER, 3, EVENT_MESSAGE, o->group[0],
	    o->group_len[0]);
	room_event(g, FUZZ_PEER, 4, EVENT_MESSAGE, o->group[1],
	    o->group_len[1]);
	direct(g, 1, o->dm, o->dm_len);
	direct(g, 2, o->dm, o->dm_len);
	room_event(g, FUZZ_PEER2, 5, EVENT_PART, NULL, 0);
	b = gen_fb(MSG_ACK);
	frame_put_u64(b, F_CLIENT_MSG_ID, 5);
	frame_put_u64(b, F_SEQ, 6);
	frame_put_str(b, F_ROOM, FUZZ_ROOM);
	gen_frame_cat(g, b);
	list(g, MSG_ROOM_LIST, "#fuzz 2\n#other 10\n");
	list(g, MSG_WHO_LIST, "alice online\nfuzz online\nbob offline\n");
	/* Lists in pages (PROTOCOL.md 4.8): F_NEXT, then the last page. */
	page(g, MSG_ROOM_LIST, "#a 1\n#fuzz 2\n", "#fuzz");
	list(g, MSG_ROOM_LIST, "#other 10\n");
	page(g, MSG_WHO_LIST, "alice online\n", "alice");
	list(g, MSG_WHO_LIST, "bob offline\nfuzz online\n");
	b = gen_fb(MSG_INFO_REPLY);
	frame_put_str(b, F_SOFTWARE, "securechatd 0.1.0");
	frame_put_u64(b, F_UPTIME, 3600);
	frame_put_u32(b, F_USERS_ONLINE, 2);
	frame_put_u32(b, F_USERS, 3);
	frame_put_u32(b, F_ROOMS, 1);
	gen_frame_cat(g, b);
	keys(g, FUZZ_PEER2);
	gen_frame_cat(g, gen_fb(MSG_CAUGHT_UP));
	b = gen_fb(MSG_NOTICE);
	frame_put_str(b, F_TEXT, "already in #fuzz");
	gen_frame_cat(g, b);
	b = gen_fb(MSG_PING);
	frame_put_bytes(b, F_TOKEN, "token", 5);
	gen_frame_cat(g, b);
	error(g, ERR_NOT_MEMBER, 0, 9);
	error(g, ERR_RATE_LIMITED, 250, 10);
	/* The broker's caps and quotas. */
	error(g, ERR_INBOX_FULL, 0, 11);
	error(g, ERR_TOO_MANY_ROOMS, 0, 0);
	error(g, ERR_ROOM_FULL, 0, 0);
	error(g, ERR_STORAGE, 0, 12);
	error(g, ERR_RESTARTING, 0, 0);
}

static void
client_seeds(struct client *c, const struct bodies *o)
{
	struct gen_buf		 g = { NULL, 0 };
	struct frame_buf	*b;
	uint8_t			 nonce[NONCE_LEN], entry[1024];
	size_t			 len;

	memset(nonce, 0x6e, sizeof(nonce));
	gen_u8(&g, CLIENT_HELLO);
	gen_u8(&g, 0);
	b = gen_fb(MSG_WELCOME);
	frame_put_u16(b, F_VERSION, PROTO_VERSION);
	frame_put_str(b, F_SOFTWARE, "securechatd 0.1.0");
	frame_put_u32(b, F_MAX_FRAME, FRAME_MAX_DEFAULT);
	frame_put_u32(b, F_IDLE_TIMEOUT, 300);
	frame_put_bytes(b, F_NONCE, nonce, sizeof(nonce));
	frame_put_u32(b, F_REKEY_MIN, 30);
	frame_put_u32(b, F_REKEY_MAX, 120);
	frame_put_bytes(b, F_EPOCH, nonce, EPOCH_LEN);
	gen_frame_cat(&g, b);
	gen_done(&g, "client", "welcome");

	gen_u8(&g, CLIENT_LOGIN);
	gen_u8(&g, 1);
	b = gen_fb(MSG_LOGGED_IN);
	frame_put_str(b, F_NAME, FUZZ_ME);
	frame_put_u8(b, F_REGISTERED, 1);
	gen_frame_cat(&g, b);
	ready_events(&g, o);
	gen_done(&g, "client", "logged-in-json");

	gen_u8(&g, CLIENT_LOGIN);
	gen_u8(&g, 0);
	error(&g, ERR_UNKNOWN_USER, 0, 0);
	gen_done(&g, "client", "unknown-user");

	gen_u8(&g, CLIENT_READY);
	gen_u8(&g, 0);
	ready_events(&g, o);
	error(&g, ERR_PROTOCOL, 0, 0);
	gen_done(&g, "client", "ready");

	/* The answers to what fuzz_client's user types. */
	gen_u8(&g, CLIENT_ACTIVE);
	gen_u8(&g, 0);
	room_event(&g, FUZZ_ME, 1, EVENT_JOIN, NULL, 0);
	list(&g, MSG_WHO_LIST, "alice online\nfuzz online\n");
	keys(&g, FUZZ_PEER);
	keys(&g, FUZZ_PEER2);
	list(&g, MSG_WHO_LIST, "alice online\nfuzz online\n");
	list(&g, MSG_ROOM_LIST, "#fuzz 2\n");
	room_event(&g, FUZZ_PEER, 2, EVENT_MESSAGE, o->bundle, o->bundle_len);
	room_event(&g, FUZZ_PEER, 3, EVENT_MESSAGE, o->group[0],
	    o->group_len[0]);
	gen_done(&g, "client", "active");

	/* The signed roster of #fuzz, as the server hands it out. */
	gen_u8(&g, CLIENT_READY);
	gen_u8(&g, 0);
	len = gen_roster_create(FUZZ_ROOM, entry + 4, sizeof(entry) - 4);
	be32_put(entry, (uint32_t)len);
	b = gen_fb(MSG_ROSTER);
	frame_put_str(b, F_ROOM, FUZZ_ROOM);
	frame_put_u64(b, F_SEQ, 0);
	frame_put_u64(b, F_COUNT, 1);
	frame_put_bytes(b, F_ENTRIES, entry, len + 4);
	gen_frame_cat(&g, b);
	room_event(&g, FUZZ_PEER, 1, EVENT_JOIN, NULL, 0);
	gen_done(&g, "client", "roster");
}

static void
item(struct gen_buf *g, uint8_t kind, const void *body, size_t len)
{
	gen_u8(g, kind);
	gen_u16(g, (uint16_t)len);
	gen_cat(g, body, len);
}

static void
e2e_client_seeds(const struct bodies *o)
{
	static const char	 who[] = "alice online\nfuzz online\n";
	struct gen_buf		 g = { NULL, 0 };

	item(&g, ITEM_ROOM, o->bundle, o->bundle_len);
	item(&g, ITEM_ROOM, o->group[0], o->group_len[0]);
	item(&g, ITEM_ROOM, o->group[0], o->group_len[0]);
	item(&g, ITEM_ROOM, o->group[1], o->group_len[1]);
	item(&g, ITEM_DIRECT, o->dm, o->dm_len);
	item(&g, ITEM_DIRECT, o->dm, o->dm_len);
	gen_done(&g, "e2e_client", "bundle-messages-dm");
	item(&g, ITEM_ROOM | ITEM_WRONG_KEY, o->bundle, o->bundle_len);
	item(&g, ITEM_ROOM | ITEM_BOB, o->group[0], o->group_len[0]);
	item(&g, ITEM_DIRECT | ITEM_WRONG_KEY, o->dm, o->dm_len);
	gen_done(&g, "e2e_client", "lies");
	item(&g, ITEM_WHO, who, strlen(who));
	item(&g, ITEM_ROOM, o->bundle, o->bundle_len);
	gen_done(&g, "e2e_client", "who");
}

void
gen_client_seeds(void)
{
	struct client	*c;
	struct bodies	*o;

	c = fuzz_client_new();
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		abort();
	fuzz_rand_reset();
	make_bodies(c, o);
	client_seeds(c, o);
	e2e_client_seeds(o);
	free(o);
	fuzz_client_free(c);
}
