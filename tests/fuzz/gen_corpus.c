/*
 * gen_corpus.c: writes the seed corpus of every fuzz harness, built with
 * the project's own frame builders and E2E sealers, from fixed keys and a
 * fixed random stream, so that the same tree always gives the same seeds.
 * usage: gen_corpus DIR (make fuzz-corpus writes tests/fuzz/corpus).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "e2e-roster.h"
#include "e2e-state.h"
#include "e2e.h"
#include "frame.h"
#include "fuzz.h"
#include "gen.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

static const char	*outdir;

void
gen_write(const char *target, const char *name, const void *p, size_t len)
{
	char	 path[PATH_MAX];
	int	 fd;

	(void)snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		goto fail;
	(void)snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    (len > 0 && write(fd, p, len) != (ssize_t)len) || close(fd) == -1)
		goto fail;
	return;
 fail:
	perror(path);
	exit(1);
}

void
gen_text(const char *target, const char *name, const char *text)
{
	gen_write(target, name, text, strlen(text));
}

/* A finished frame after prefix bytes (mode bytes and the like). */
void
gen_frame(const char *target, const char *name, const void *prefix,
    size_t plen, struct frame_buf *b)
{
	uint8_t	*p;

	if (frame_finish(b) == -1)
		abort();
	p = xmalloc(plen + b->len);
	if (plen > 0)
		memcpy(p, prefix, plen);
	memcpy(p + plen, b->data, b->len);
	gen_write(target, name, p, plen + b->len);
	free(p);
	frame_buf_free(b);
}

/* A frame to fill, then hand to gen_frame_cat; one at a time. */
struct frame_buf *
gen_fb(uint16_t type)
{
	static struct frame_buf	 b;

	frame_begin(&b, type, FRAME_MAX_DEFAULT);
	return &b;
}

/* Grow buf by len bytes of p. */
void
gen_cat(struct gen_buf *g, const void *p, size_t len)
{
	g->p = xreallocarray(g->p, g->len + len + 1, 1);
	if (len > 0)
		memcpy(g->p + g->len, p, len);
	g->len += len;
}

void
gen_u8(struct gen_buf *g, uint8_t v)
{
	gen_cat(g, &v, 1);
}

void
gen_u16(struct gen_buf *g, uint16_t v)
{
	uint8_t	 b[2];

	be16_put(b, v);
	gen_cat(g, b, 2);
}

void
gen_u32(struct gen_buf *g, uint32_t v)
{
	uint8_t	 b[4];

	be32_put(b, v);
	gen_cat(g, b, 4);
}

void
gen_u64(struct gen_buf *g, uint64_t v)
{
	uint8_t	 b[8];

	be64_put(b, v);
	gen_cat(g, b, 8);
}

/* As fuzz_str reads it: a length byte, then the bytes. */
void
gen_str(struct gen_buf *g, const char *s)
{
	gen_u8(g, (uint8_t)strlen(s));
	gen_cat(g, s, strlen(s));
}

void
gen_frame_cat(struct gen_buf *g, struct frame_buf *b)
{
	if (frame_finish(b) == -1)
		abort();
	gen_cat(g, b->data, b->len);
	frame_buf_free(b);
}

void
gen_done(struct gen_buf *g, const char *target, const char *name)
{
	gen_write(target, name, g->p, g->len);
	free(g->p);
	memset(g, 0, sizeof(*g));
}

/* The seeds fuzz_frame always had. */
static void
frame_seeds(void)
{
	struct frame_buf	 b;
	static const uint8_t	 tok[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
				    10, 11, 12, 13, 14, 15 };
	static const uint8_t	 huge[8] = { 0x40, 0, 0, 0, 0, 1, 0, 0 };
	uint8_t			 v[2] = { 0, 1 };

	frame_begin(&b, MSG_HELLO, FRAME_MAX_DEFAULT);
	frame_put_u16(&b, F_VERSION, PROTO_VERSION);
	frame_put_str(&b, F_SOFTWARE, "securechat-0.1.0");
	gen_frame("frame", "hello", NULL, 0, &b);
	frame_begin(&b, MSG_PING, FRAME_MAX_DEFAULT);
	frame_put_bytes(&b, F_TOKEN, tok, sizeof(tok));
	gen_frame("frame", "ping", NULL, 0, &b);
	frame_begin(&b, MSG_ERROR, FRAME_MAX_DEFAULT);
	frame_put_u16(&b, F_CODE, ERR_VERSION);
	frame_put_str(&b, F_TEXT, "version not spoken \xc3\xa9");
	frame_put_u32(&b, F_RETRY_AFTER_MS, 1000);
	frame_put_bytes(&b, F_VERSIONS, v, sizeof(v));
	frame_put_bytes(&b, 0x8077, NULL, 0);
	gen_frame("frame", "error-version", NULL, 0, &b);
	frame_begin(&b, IMSG_SESSION, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_TLS_VERSION, "TLSv1.3");
	frame_put_str(&b, F_TLS_CIPHER, "TLS_AES_256_GCM_SHA384");
	frame_put_str(&b, F_TLS_GROUP, "X25519");
	gen_frame("frame", "session", NULL, 0, &b);
	gen_write("frame", "too-large", huge, sizeof(huge));
}

static void
ipc_seeds(void)
{
	struct frame_buf	 b;
	/* fuzz_ipc's flags: descriptors sent, then (bits 5-7) the receiver. */
	static const uint8_t	 no_fd = 0x00, one_fd = 0x01, two_fds = 0x0a;
	static const uint8_t	 spawn_fds = 0x03 | (4 << 5);
	static const uint8_t	 four_fds_empty = 0x04 | (5 << 5);
	static const uint8_t	 pem[] = "-----BEGIN CERTIFICATE-----\n"
				    "MA==\n-----END CERTIFICATE-----\n";
	uint8_t			 nonce[NONCE_LEN];

	frame_begin(&b, IMSG_WORKER_INIT, FRAME_MAX_CEILING);
	frame_put_bytes(&b, F_CERT_PEM, pem, sizeof(pem) - 1);
	frame_put_str(&b, F_USER_NAME, "_securechat");
	frame_put_str(&b, F_CHROOT, "/run/securechat/empty");
	frame_put_u32(&b, F_HANDSHAKE_TIMEOUT, 10);
	frame_put_u32(&b, F_IDLE_TIMEOUT, 300);
	frame_put_u32(&b, F_LOGIN_TIMEOUT, 30);
	frame_put_u32(&b, F_REKEY_MIN, 30);
	frame_put_u32(&b, F_REKEY_MAX, 120);
	frame_put_u32(&b, F_MAX_FRAME, FRAME_MAX_DEFAULT);
	frame_put_u8(&b, F_LOG_LEVEL, 2);
	gen_frame("ipc", "worker-init", &no_fd, 1, &b);
	frame_begin(&b, IMSG_BROKER_INIT, FRAME_MAX_CEILING);
	frame_put_str(&b, F_USER_NAME, "_securechat");
	frame_put_str(&b, F_CHROOT, "/var/lib/securechat");
	frame_put_str(&b, F_REGISTRATION, "open");
	frame_put_u8(&b, F_LOG_LEVEL, 2);
	frame_put_u32(&b, F_MAX_CLIENTS, 1024);
	frame_put_u32(&b, F_MAX_FRAME, FRAME_MAX_DEFAULT);
	frame_put_u32(&b, F_MESSAGE_RATE, 20);
	frame_put_u32(&b, F_MESSAGE_BURST, 40);
	frame_put_u32(&b, F_RETENTION, 30);
	frame_put_u32(&b, F_CTL_UID, 0);
	gen_frame("ipc", "broker-init", &no_fd, 1, &b);
	frame_begin(&b, IMSG_ATTACH, FRAME_MAX_CEILING);
	frame_put_u32(&b, F_PID, 4242);
	frame_put_u64(&b, F_SESSION_ID, 7);
	frame_put_str(&b, F_ADDR, "2001:db8::1");
	gen_frame("ipc", "attach", &one_fd, 1, &b);
	memset(nonce, 0x6e, sizeof(nonce));
	frame_begin(&b, IMSG_CHALLENGE, FRAME_MAX_CEILING);
	frame_put_bytes(&b, F_NONCE, nonce, sizeof(nonce));
	frame_put_bytes(&b, F_EPOCH, nonce, EPOCH_LEN);
	gen_frame("ipc", "challenge", &no_fd, 1, &b);
	frame_begin(&b, CTL_REQUEST, FRAME_MAX_CEILING);
	frame_put_str(&b, F_TEXT, "invite");
	gen_frame("ipc", "ctl-request", &no_fd, 1, &b);
	frame_begin(&b, CTL_REPLY, FRAME_MAX_CEILING);
	frame_put_u16(&b, F_CODE, 0);
	frame_put_bytes(&b, F_LIST, "#fuzz 2\n", 8);
	gen_frame("ipc", "ctl-reply", &no_fd, 1, &b);
	/* A worker's client, broker link and key link, to the template. */
	frame_begin(&b, IMSG_SPAWN, FRAME_MAX_CEILING);
	frame_put_u64(&b, F_SESSION_ID, 7);
	frame_put_str(&b, F_ADDR, "192.0.2.1");
	gen_frame("ipc", "spawn", &spawn_fds, 1, &b);
	/* Bug 1 of docs/FUZZING.md: two descriptors on an empty packet. */
	gen_write("ipc", "empty-with-fds", &two_fds, 1);
	/* The same through ipc_recv_fds, four descriptors. */
	gen_write("ipc", "empty-with-four-fds", &four_fds_empty, 1);
}

static void
conf_seeds(const char *srcdir)
{
	char	 path[PATH_MAX];
	char	*buf;
	FILE	*fp;
	long	 len;

	(void)snprintf(path, sizeof(path), "%s/etc/securechat.conf", srcdir);
	if ((fp = fopen(path, "r")) == NULL || fseek(fp, 0, SEEK_END) == -1 ||
	    (len = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) == -1)
		goto fail;
	buf = xmalloc((size_t)len + 1);
	if (fread(buf, 1, (size_t)len, fp) != (size_t)len)
		goto fail;
	(void)fclose(fp);
	gen_write("conf", "shipped", buf, (size_t)len);
	free(buf);
	gen_text("conf", "listen", "listen = ( { address = \"::1\"; port = "
	    "7444; }, { address = \"127.0.0.1\"; } );\nuser = \"_sc\";\n");
	gen_text("conf", "limits", "limits = { max_clients = 10; "
	    "max_clients_per_ip = 0x0a; max_frame_bytes = 1024; "
	    "idle_timeout = 10; };\nrekey = { min_seconds = 5; "
	    "max_seconds = 5; };\nregistration = \"invite\";\n"
	    "log = { level = \"debug\"; };\nretention = 0;\n");
	gen_text("conf", "bad-int", "limits = { max_clients = 99999999999; };"
	    "\n");
	return;
 fail:
	perror(path);
	exit(1);
}

static void
envelope_seeds(void)
{
	struct fuzz_keys	 me, alice;
	struct e2e_chain	 ch;
	struct gen_buf		 g = { NULL, 0 };
	static const char	 text[] = "hello, fuzz";
	uint8_t			 env[1024], skdm[E2E_SKDM_MAX];
	size_t			 len, skdmlen, ctlen, hdrlen;

	fuzz_keys(FUZZ_ME, &me);
	fuzz_keys(FUZZ_PEER, &alice);
	if (e2e_seal(alice.sign_priv, FUZZ_PEER, FUZZ_ME, FUZZ_SPK_ID,
	    me.spk_pub, E2E_TYPE_DM, text, strlen(text), 1700000000000ULL,
	    env, sizeof(env), &len) != E2E_OK)
		abort();
	gen_u8(&g, 0);
	gen_cat(&g, env, len);
	gen_done(&g, "e2e_envelope", "dm");
	/* The same, as mode 1 takes it: header, then ciphertext. */
	ctlen = strlen(text) + 16;
	hdrlen = len - 64 - ctlen - 4;
	gen_u8(&g, 1);
	gen_u16(&g, (uint16_t)hdrlen);
	gen_cat(&g, env, hdrlen);
	gen_cat(&g, env + hdrlen + 4, ctlen);
	gen_done(&g, "e2e_envelope", "dm-signed");
	if (e2e_chain_new(&ch, 1) != E2E_OK ||
	    e2e_chain_skdm(&ch, FUZZ_ROOM, FUZZ_EPOCH, skdm, sizeof(skdm),
	    &skdmlen) != E2E_OK ||
	    e2e_seal(alice.sign_priv, FUZZ_PEER, FUZZ_ME, FUZZ_SPK_ID,
	    me.spk_pub, E2E_TYPE_SKDM, skdm, skdmlen, 1700000000001ULL, env,
	    sizeof(env), &len) != E2E_OK)
		abort();
	gen_u8(&g, 0);
	gen_cat(&g, env, len);
	gen_done(&g, "e2e_envelope", "skdm");
	gen_u8(&g, 2);
	gen_u8(&g, E2E_TYPE_SKDM);
	gen_str(&g, FUZZ_PEER);
	gen_str(&g, FUZZ_ME);
	gen_u32(&g, FUZZ_SPK_ID);
	gen_u64(&g, 1700000000002ULL);
	gen_cat(&g, skdm, skdmlen);
	gen_done(&g, "e2e_envelope", "skdm-sealed");
	gen_u8(&g, 2);
	gen_u8(&g, E2E_TYPE_DM);
	gen_str(&g, FUZZ_PEER);
	gen_str(&g, FUZZ_PEER2);
	gen_u32(&g, 1);
	gen_u64(&g, 0);
	gen_cat(&g, text, strlen(text));
	gen_done(&g, "e2e_envelope", "dm-sealed-other");
	e2e_chain_wipe(&ch);
	OPENSSL_cleanse(skdm, sizeof(skdm));
}

static void
group_seeds(void)
{
	struct e2e_group_receiver	 r;
	struct e2e_chain		 ch;
	struct gen_buf			 g = { NULL, 0 };
	/* Scripts of at most eight steps (fuzz_e2e_group's MAX_STEPS). */
	static const uint16_t		 scripts[3][8] = {
		/* chain 0's SKDM at 0, messages 0 to 3, 2 again */
		{ 0x0000, 0x2000, 0x2004, 0x2008, 0x200c, 0x2008 },
		/* chain 1 from 16: message 20, then 17, a restart, 17 again */
		{ 0x0005, 0x2051, 0x2045, 0xc000, 0x2045 },
		/* the far jump, an altered message, bob's, the chain's end */
		{ 0x0009, 0x20c0, 0x6004, 0x8004, 0x8002, 0xa000, 0xa001,
		    0xe444 },
	};
	static const size_t		 nsteps[3] = { 6, 5, 8 };
	uint8_t				 skdm[E2E_SKDM_MAX], msg[512];
	uint8_t				 pt[512], rec[8192];
	size_t				 skdmlen, len, ptlen, i, n;
	char				 name[16];

	if (e2e_chain_new(&ch, 1) != E2E_OK ||
	    e2e_chain_skdm(&ch, FUZZ_ROOM, FUZZ_EPOCH, skdm, sizeof(skdm),
	    &skdmlen) != E2E_OK)
		abort();
	for (i = 0; i < 3; i++)
		if (e2e_group_seal(&ch, FUZZ_ROOM, FUZZ_PEER, FUZZ_EPOCH,
		    "hi", 2, 1, msg, sizeof(msg), &len) != E2E_OK)
			abort();
	gen_u8(&g, 0);
	gen_u16(&g, (uint16_t)skdmlen);
	gen_cat(&g, skdm, skdmlen);
	gen_cat(&g, msg, len);
	gen_done(&g, "e2e_group", "skdm-then-third");
	gen_u8(&g, 1);
	gen_u16(&g, (uint16_t)(len - 64 - 18 - 4));
	gen_cat(&g, msg, len - 64 - 18 - 4);
	gen_cat(&g, msg + len - 64 - 18, 18);
	gen_done(&g, "e2e_group", "signed");
	for (i = 0; i < 3; i++) {
		gen_u8(&g, 2);
		for (n = 0; n < nsteps[i]; n++)
			gen_u16(&g, scripts[i][n]);
		(void)snprintf(name, sizeof(name), "script-%zu", i + 1);
		gen_done(&g, "e2e_group", name);
	}

	/* A receiver that skipped two keys, as a state record. */
	if (e2e_group_receiver_init(&r, FUZZ_ROOM, FUZZ_PEER) != E2E_OK ||
	    e2e_group_receiver_add_skdm(&r, FUZZ_PEER, skdm, skdmlen) !=
	    E2E_OK || e2e_group_open(&r, msg, len, pt, sizeof(pt), &ptlen,
	    NULL) != E2E_OK ||
	    e2e_receiver_state_write(&r, rec, sizeof(rec), &n) != E2E_OK)
		abort();
	gen_u8(&g, 0);
	gen_cat(&g, rec, n);
	gen_done(&g, "e2e_state", "receiver");
	e2e_group_receiver_free(&r);
	e2e_chain_wipe(&ch);
	OPENSSL_cleanse(skdm, sizeof(skdm));
}

/* State records: a seen ring, a replay set, counters of two peers. */
static void
state_seeds(void)
{
	struct e2e_seen		*seen;
	struct e2e_replay	 rp;
	struct e2e_dm_peer	 dm[2];
	struct gen_buf		 g = { NULL, 0 };
	uint8_t			 id[E2E_MSGID_LEN], rec[4096];
	uint32_t		 stream;
	uint64_t		 counter;
	size_t			 i, n;

	seen = calloc(1, sizeof(*seen));
	e2e_seen_init(seen);
	e2e_replay_init(&rp);
	for (i = 0; i < 3; i++) {
		memset(id, (int)i + 1, sizeof(id));
		if (e2e_seen_check_add(seen, id) != E2E_OK ||
		    e2e_replay_check_add(&rp, id, FUZZ_SPK_ID,
		    1700000000000ULL + i) != E2E_OK)
			abort();
	}
	if (e2e_seen_state_write(seen, rec, sizeof(rec), &n) != E2E_OK)
		abort();
	gen_u8(&g, 1);
	gen_cat(&g, rec, n);
	gen_done(&g, "e2e_state", "seen");
	if (e2e_replay_state_write(&rp, rec, sizeof(rec), &n) != E2E_OK)
		abort();
	gen_u8(&g, 2);
	gen_cat(&g, rec, n);
	gen_done(&g, "e2e_state", "replay");
	if (e2e_dm_peer_init(&dm[0], FUZZ_PEER) != E2E_OK ||
	    e2e_dm_peer_init(&dm[1], FUZZ_PEER2) != E2E_OK ||
	    e2e_dm_next(&dm[0], &stream, &counter) != E2E_OK ||
	    e2e_dm_check(&dm[1], 7, 3, NULL) != E2E_OK ||
	    e2e_dm_state_write(dm, 2, rec, sizeof(rec), &n) != E2E_OK)
		abort();
	gen_u8(&g, 3);
	gen_cat(&g, rec, n);
	gen_done(&g, "e2e_state", "dm");
	e2e_replay_free(&rp);
	free(seen);
}

size_t
gen_roster_create(const char *room, uint8_t *buf, size_t bufsz)
{
	struct e2e_roster_entry	 e;
	struct fuzz_keys	 alice;
	size_t			 len;

	fuzz_keys(FUZZ_PEER, &alice);
	memset(&e, 0, sizeof(e));
	(void)snprintf(e.room, sizeof(e.room), "%s", room);
	e.op = E2E_ROSTER_CREATE;
	(void)snprintf(e.subject, sizeof(e.subject), "%s", FUZZ_PEER);
	memcpy(e.subject_key, alice.sign_pub, 32);
	(void)snprintf(e.actor, sizeof(e.actor), "%s", FUZZ_PEER);
	memcpy(e.actor_key, alice.sign_pub, 32);
	e.arg = E2E_ROSTER_OPEN;
	e.ts_ms = 1700000000000ULL;
	if (e2e_roster_entry_sign(&e, alice.sign_priv, buf, bufsz, &len) !=
	    E2E_OK)
		abort();
	return len;
}

/* fuzz_e2e_roster: a room made, joined, an invite, a part; one raw entry. */
static void
roster_seeds(void)
{
	static const uint8_t	 steps[4][3] = {
		/* op, subject | actor << 2, arg */
		{ E2E_ROSTER_CREATE, 0, E2E_ROSTER_OPEN },
		{ E2E_ROSTER_JOIN, 1 | 1 << 2, 0 },
		{ E2E_ROSTER_INVITE, 2, E2E_ROSTER_MEMBER },
		{ E2E_ROSTER_PART, 1 | 1 << 2, 0 },
	};
	struct gen_buf		 g = { NULL, 0 };
	uint8_t			 buf[E2E_ROSTER_ENTRY_MAX];
	size_t			 i, len;

	for (i = 0; i < 4; i++) {
		gen_u8(&g, 1);
		gen_cat(&g, steps[i], 3);
		gen_u64(&g, 1700000000000ULL + i);
	}
	gen_done(&g, "e2e_roster", "signed-chain");
	len = gen_roster_create(FUZZ_ROOM, buf, sizeof(buf));
	gen_u8(&g, 0);
	gen_u16(&g, (uint16_t)len);
	gen_cat(&g, buf, len);
	gen_done(&g, "e2e_roster", "raw-create");
}

int
main(int argc, char *argv[])
{
	if (argc != 3) {
		fprintf(stderr, "usage: gen_corpus SRCDIR OUTDIR\n");
		return 2;
	}
	outdir = argv[2];
	if (mkdir(outdir, 0755) == -1 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	fuzz_setup();
	frame_seeds();
	fuzz_rand_reset();
	ipc_seeds();
	conf_seeds(argv[1]);
	fuzz_rand_reset();
	envelope_seeds();
	fuzz_rand_reset();
	group_seeds();
	fuzz_rand_reset();
	state_seeds();
	fuzz_rand_reset();
	roster_seeds();
	gen_daemon_seeds();
	gen_client_seeds();
	return 0;
}
