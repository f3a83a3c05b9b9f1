/*
 * scfake.c: a scripted hostile server for the integration tests (issue
 * 10).  It speaks enough of the protocol for a client to log in, then
 * sends what its script says: frames no honest broker would send, such
 * as a seq of 2^64 - 1, a hundred thousand rooms or a flood of keys.
 * Every frame a client sends is printed as one JSON line.
 *
 * usage: scfake -p port -c cert.pem -k key.pem script
 *
 * Connections are served one after the other.  The script's sections,
 * separated by lines "next", belong to the first, second, ... connection;
 * after its section a connection is only answered (PING, PREKEY,
 * KEYS_GET, WHO) until the client closes it.  Commands:
 *   event ROOM SEQ KIND FROM      a ROOM_EVENT (kind 0 with a short body)
 *   rooms PREFIX N                join events of N rooms PREFIX0.., seq 1
 *   events ROOM SEQ N             N join events in ROOM of users j0..,
 *                                 seqs SEQ, SEQ + 1, ...
 *   keys PREFIX N                 N unasked KEYS, random identity keys
 *   stamped ROOM SEQ N            N messages of N new senders, each
 *                                 stamped with a random identity key
 *   dms N                         N direct messages of N new senders, each
 *                                 a real envelope to the client's prekey
 *                                 (after "wait PREKEY"), signed by and
 *                                 stamped with a random identity key
 *   futuredms N TS                N direct messages of one new sender,
 *                                 real envelopes stamped TS (ms)
 *   skippers ROOM SEQ N C         N new senders, C chains each in ROOM:
 *                                 a real room key to the client, then
 *                                 messages 1000 and 2000 of the chain,
 *                                 which leave 1998 skipped keys held
 *   notice HEX                    a NOTICE whose text is these bytes
 *   caughtup                      CAUGHT_UP
 *   answerkeys                    from now on every KEYS_GET is
 *                                 answered: a new random key
 *   rosters [storage]             from now on every ROSTER_GET is
 *                                 answered: an empty roster, or with
 *                                 storage an ERROR STORAGE for its room
 *   aheadjoin ROOM SEQ USER INDEX a join of USER whose roster entry,
 *                                 made up, claims index INDEX
 *   chain ROOM N [part|remove]    a real roster of N entries for ROOM
 *                                 (c0 creates it, c1.. join; then c1
 *                                 leaves, or c0 removes c1, in entry N),
 *                                 which ROSTER_GET then gets (one room)
 *   chainjoins SEQ FROM TO        the joins of entries FROM..TO of it,
 *                                 with their entries, seqs SEQ, SEQ + 1..
 *   speak ROOM SEQ WHO [other|wait]
 *                                 WHO's room key to the client, then a
 *                                 message "from WHO", seqs SEQ, SEQ + 1:
 *                                 under the key of WHO's entry in the
 *                                 chain, or (other) a new one; with
 *                                 wait, the message once a ROSTER_GET
 *                                 came (after "wait PREKEY")
 *   bye CODE N RECORD             N NOTICEs, an ERROR of CODE and the
 *                                 close_notify, in TLS records of RECORD
 *                                 bytes (0: as few as fit), all in one
 *                                 write; then the connection ends
 *   wait TYPE                     answer frames until one of TYPE came
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "crypto.h"
#include "e2e.h"
#include "e2e-roster.h"
#include "frame.h"
#include "probe.h"
#include "proto.h"
#include "tls.h"
#include "util.h"
#include "xmalloc.h"

#define MAX_FRAME	65536
#define SCRIPT_MAX	(1024 * 1024)
#define COUNT_MAX	1000000
#define BUNDLE_MAX	2048
#define BUNDLE_TYPE	0x11	/* a bundle of room keys (docs/E2E.md 8.1) */

static SSL	*ssl;
static int	 conn_fd = -1;
static int	 said_bye;	/* bye: the connection is over */
static int	 answer_rosters;	/* rosters: ROSTER_GET has an answer */
static int	 rosters_fail;	/* rosters storage: that answer, an ERROR */
static int	 answer_keys;	/* answerkeys: KEYS_GET has an answer */
static char	 chain_room[ROOM_MAX_LEN + 1];	/* chain: its room, */
static uint8_t	*chain_buf;	/* its entries, each u32 length || entry */
static size_t	 chain_len, chain_n;
static size_t	*chain_off;	/* where entry i starts in chain_buf */
static uint8_t	*chain_priv;	/* ci's keys at i * KEY_LEN */
static uint8_t	*chain_pub;
static size_t	 chain_nkeys;
static uint8_t	 inbuf[2 * MAX_FRAME];
static size_t	 inlen;
static int	 conn_no;
static char	 user[NAME_MAX_LEN + 1];
static uint32_t	 spk_id;		/* the client's prekey, from PREKEY */
static uint64_t	 dm_seq;		/* the last DIRECT's seq */
static uint8_t	 spk_pub[KEY_LEN];

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "scfake: %s\n", what);
	exit(1);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE	*fp;
	uint8_t	*buf;

	if ((fp = fopen(path, "r")) == NULL)
		die(path);
	buf = xmalloc(SCRIPT_MAX + 1);
	*len = fread(buf, 1, SCRIPT_MAX, fp);
	if (ferror(fp) || !feof(fp))
		die("cannot read a file (or it is too large)");
	(void)fclose(fp);
	buf[*len] = '\0';
	return buf;
}

static void
send_frame(struct frame_buf *b)
{
	size_t	 off = 0;
	int	 n;

	if (frame_finish(b) == -1)
		die("a frame the script asked for does not encode");
	while (off < b->len) {
		if ((n = SSL_write(ssl, b->data + off, (int)(b->len - off))) <=
		    0)
			break;	/* the client went away: the reader says so */
		off += (size_t)n;
	}
	frame_buf_free(b);
}

/* The next whole frame from the client; -1 at the end of the connection. */
static int
read_frame(struct frame *f, uint8_t *raw, size_t *rawlen)
{
	size_t	 flen;
	int	 n, r;

	for (;;) {
		r = frame_peek(inbuf, inlen, MAX_FRAME, &flen);
		if (r == FRAME_OK)
			break;
		if (r != FRAME_NEED_MORE)
			return -1;
		if ((n = SSL_read(ssl, inbuf + inlen, (int)(sizeof(inbuf) -
		    inlen))) <= 0)
			return -1;
		inlen += (size_t)n;
	}
	memcpy(raw, inbuf, flen);
	*rawlen = flen;
	memmove(inbuf, inbuf + flen, inlen - flen);
	inlen -= flen;
	if (frame_decode(raw, flen, f) != FRAME_OK ||
	    frame_validate(f, proto_client_spec(f->type)) != FRAME_OK)
		return -1;
	return 0;
}

/* Print what the client sent, for the test to look at. */
static void
print_frame(const struct frame *f)
{
	char		 room[ROOM_MAX_LEN + 1] = "";
	uint64_t	 seq = 0;

	(void)frame_get_str(f, F_ROOM, room, sizeof(room));
	(void)frame_get_u64(f, F_SEQ, &seq);
	printf("{\"conn\":%d,\"type\":\"%s\",\"room\":\"%s\",\"seq\":%llu}\n",
	    conn_no, proto_msg_name(f->type), room, (unsigned long long)seq);
	(void)fflush(stdout);
}

static void
random_key(uint8_t key[KEY_LEN])
{
	if (RAND_bytes(key, KEY_LEN) != 1)
		die("RAND_bytes");
}

/*
 * ROSTER: the chain's entries from the index asked, as many as fit a
 * frame (a real broker pages the same way).
 */
static void
send_chain_page(const struct frame *f)
{
	struct frame_buf	 b;
	uint64_t		 from;
	size_t			 end;

	if (frame_get_u64(f, F_SEQ, &from) == -1 || from > chain_n)
		return;
	for (end = from; end < chain_n && chain_off[end + 1] -
	    chain_off[from] < MAX_FRAME / 2; end++)
		;
	frame_begin(&b, MSG_ROSTER, MAX_FRAME);
	frame_put_str(&b, F_ROOM, chain_room);
	frame_put_u64(&b, F_SEQ, from);
	frame_put_u64(&b, F_COUNT, chain_n);
	frame_put_bytes(&b, F_ENTRIES, from == chain_n ? chain_buf :
	    chain_buf + chain_off[from], chain_off[end] - chain_off[from]);
	send_frame(&b);
}

/* KEYS for name: a new random identity key, no prekey. */
static void
send_random_keys(const char *name)
{
	struct frame_buf	 b;
	uint8_t			 key[KEY_LEN];

	random_key(key);
	frame_begin(&b, MSG_KEYS, MAX_FRAME);
	frame_put_str(&b, F_NAME, name);
	frame_put_bytes(&b, F_SIGN_PUB, key, KEY_LEN);
	send_frame(&b);
}

/* The answers a client waits for; everything else is only printed. */
static void
answer(const struct frame *f)
{
	struct frame_buf	 b;
	const uint8_t		*tok;
	size_t			 len;
	char			 room[ROOM_MAX_LEN + 1];

	print_frame(f);
	switch (f->type) {
	case MSG_PING:
		if (frame_get_bytes(f, F_TOKEN, &tok, &len) == -1)
			return;
		frame_begin(&b, MSG_PONG, MAX_FRAME);
		frame_put_bytes(&b, F_TOKEN, tok, len);
		send_frame(&b);
		break;
	case MSG_PREKEY:
		if (frame_get_u32(f, F_SPK_ID, &spk_id) == 0 &&
		    frame_get_bytes(f, F_SPK_PUB, &tok, &len) == 0 &&
		    len == KEY_LEN)
			memcpy(spk_pub, tok, KEY_LEN);
		send_random_keys(user);
		break;
	case MSG_KEYS_GET:
		if (answer_keys &&
		    frame_get_str(f, F_NAME, room, sizeof(room)) == 0) {
			send_random_keys(room);
			break;
		}
		frame_begin(&b, MSG_ERROR, MAX_FRAME);
		frame_put_u16(&b, F_CODE, ERR_NO_SUCH_USER);
		frame_put_str(&b, F_TEXT, "nobody here");
		send_frame(&b);
		break;
	case MSG_ROSTER_GET:
		/* The chain's room, or (rosters) any other: none or STORAGE. */
		if (frame_get_str(f, F_ROOM, room, sizeof(room)) == -1)
			return;
		if (chain_n > 0 && strcmp(room, chain_room) == 0) {
			send_chain_page(f);
			break;
		}
		if (!answer_rosters)
			return;
		if (rosters_fail) {
			frame_begin(&b, MSG_ERROR, MAX_FRAME);
			frame_put_u16(&b, F_CODE, ERR_STORAGE);
			frame_put_str(&b, F_TEXT, "the disk is full");
			frame_put_str(&b, F_ROOM, room);
			send_frame(&b);
			break;
		}
		frame_begin(&b, MSG_ROSTER, MAX_FRAME);
		frame_put_str(&b, F_ROOM, room);
		frame_put_u64(&b, F_SEQ, 0);
		frame_put_u64(&b, F_COUNT, 0);
		frame_put_bytes(&b, F_ENTRIES, "", 0);
		send_frame(&b);
		break;
	case MSG_WHO:
		if (frame_get_str(f, F_ROOM, room, sizeof(room)) == -1)
			return;
		frame_begin(&b, MSG_WHO_LIST, MAX_FRAME);
		frame_put_str(&b, F_ROOM, room);
		frame_put_bytes(&b, F_LIST, "", 0);
		send_frame(&b);
		break;
	default:
		break;
	}
}

/*
 * A ROOM_EVENT; body (may be NULL) in the field tag: F_BODY for a
 * message, F_ENTRY for a join's or part's roster entry.
 */
static void
room_event_field(const char *room, uint64_t seq, uint8_t kind,
    const char *from, const uint8_t *sign_pub, uint16_t tag, const void *body,
    size_t len)
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_ROOM_EVENT, MAX_FRAME);
	frame_put_str(&b, F_ROOM, room);
	frame_put_u64(&b, F_SEQ, seq);
	frame_put_u64(&b, F_TS, now_ms());
	frame_put_str(&b, F_FROM, from);
	frame_put_u8(&b, F_KIND, kind);
	if (body != NULL)
		frame_put_bytes(&b, tag, body, len);
	if (sign_pub != NULL)
		frame_put_bytes(&b, F_SIGN_PUB, sign_pub, KEY_LEN);
	send_frame(&b);
}

static void
room_event_body(const char *room, uint64_t seq, uint8_t kind,
    const char *from, const uint8_t *sign_pub, const void *body, size_t len)
{
	room_event_field(room, seq, kind, from, sign_pub, F_BODY, body, len);
}

/* A message's body is two bytes that decrypt to nothing. */
static void
room_event(const char *room, uint64_t seq, uint8_t kind, const char *from,
    const uint8_t *sign_pub)
{
	room_event_body(room, seq, kind, from, sign_pub,
	    kind == EVENT_MESSAGE ? "\x01\x20" : NULL, 2);
}

/* A direct message really sealed, from `from` with its key, stamped ts. */
static void
direct_sealed(const char *from, const uint8_t priv[KEY_LEN],
    const uint8_t pub[KEY_LEN], uint64_t ts)
{
	struct frame_buf	 b;
	uint8_t			 env[1024];
	size_t			 len;

	if (e2e_seal(priv, from, user, spk_id, spk_pub, E2E_TYPE_DM, "hi", 2,
	    ts, env, sizeof(env), &len) != E2E_OK)
		die("cannot seal (no PREKEY from the client yet?)");
	frame_begin(&b, MSG_DIRECT, MAX_FRAME);
	frame_put_u64(&b, F_SEQ, ++dm_seq);
	frame_put_u64(&b, F_TS, now_ms());
	frame_put_str(&b, F_FROM, from);
	frame_put_str(&b, F_TO, user);
	frame_put_bytes(&b, F_BODY, env, len);
	frame_put_bytes(&b, F_SIGN_PUB, pub, KEY_LEN);
	send_frame(&b);
}

/*
 * A new chain of from's in room, of epoch: its key sealed to the client,
 * in a bundle at *seq.
 */
static void
room_key(struct e2e_chain *chain, const char *room, uint32_t epoch,
    uint64_t *seq, const char *from, const uint8_t priv[KEY_LEN],
    const uint8_t pub[KEY_LEN])
{
	uint8_t			 skdm[E2E_SKDM_MAX], env[1024];
	uint8_t			 bundle[BUNDLE_MAX];
	size_t			 skdmlen, envlen;

	if (e2e_chain_new(chain, now_ms()) != E2E_OK ||
	    e2e_chain_skdm(chain, room, epoch, skdm, sizeof(skdm),
	    &skdmlen) != E2E_OK ||
	    e2e_seal(priv, from, user, spk_id, spk_pub, E2E_TYPE_SKDM, skdm,
	    skdmlen, now_ms(), env, sizeof(env), &envlen) != E2E_OK ||
	    envlen + 8 > sizeof(bundle))
		die("cannot make a room key (no PREKEY from the client yet?)");
	OPENSSL_cleanse(skdm, sizeof(skdm));
	bundle[0] = E2E_VERSION;
	bundle[1] = BUNDLE_TYPE;
	be16_put(bundle + 2, 1);
	be32_put(bundle + 4, (uint32_t)envlen);
	memcpy(bundle + 8, env, envlen);
	room_event_body(room, (*seq)++, EVENT_MESSAGE, from, pub, bundle,
	    envlen + 8);
}

/*
 * A chain of from's in room, its key sealed to the client in a bundle at
 * *seq, then its messages 1000 and 2000 (the ones between are sealed and
 * thrown away): the client holds the keys it skipped.
 */
static void
skipping_chain(const char *room, uint64_t *seq, const char *from,
    const uint8_t priv[KEY_LEN], const uint8_t pub[KEY_LEN])
{
	struct e2e_chain	 chain;
	uint8_t			 msg[1024];
	size_t			 msglen;
	uint32_t		 epoch = (uint32_t)*seq, i;

	room_key(&chain, room, epoch, seq, from, priv, pub);
	for (i = 1; i <= 2000; i++) {
		if (e2e_group_seal(&chain, room, from, epoch, "x", 1, now_ms(),
		    msg, sizeof(msg), &msglen) != E2E_OK)
			die("e2e_group_seal");
		if (i % 1000 == 0)
			room_event_body(room, (*seq)++, EVENT_MESSAGE, from,
			    pub, msg, msglen);
	}
	e2e_chain_wipe(&chain);
}

/* Answer frames until one of type came (or the client is gone). */
static void
wait_for(const char *type)
{
	struct frame	 f;
	uint8_t		 raw[MAX_FRAME];
	size_t		 rawlen;

	do {
		if (read_frame(&f, raw, &rawlen) == -1)
			return;
		answer(&f);
	} while (strcmp(proto_msg_name(f.type), type) != 0);
}

/*
 * who's room key in room, then a message "from WHO", at seq and seq + 1:
 * under the key of who's entry in the chain, or (other) a new one; with
 * wait, the message once a ROSTER_GET came.
 */
static void
speak(const char *room, uint64_t seq, const char *who, int other, int wait)
{
	struct e2e_chain	 chain;
	uint8_t			 priv[KEY_LEN], pub[KEY_LEN], msg[1024];
	char			 text[NAME_MAX_LEN + 8], name[NAME_MAX_LEN + 1];
	size_t			 i, msglen;
	uint32_t		 epoch = (uint32_t)seq;

	if (crypto_ed25519_keygen(priv, pub) == -1)
		die("keygen");
	for (i = 0; !other && i < chain_nkeys && strcmp(room, chain_room) == 0;
	    i++) {
		(void)snprintf(name, sizeof(name), "c%zu", i);
		if (strcmp(name, who) == 0) {
			memcpy(priv, chain_priv + i * KEY_LEN, KEY_LEN);
			memcpy(pub, chain_pub + i * KEY_LEN, KEY_LEN);
		}
	}
	room_key(&chain, room, epoch, &seq, who, priv, pub);
	if (wait)
		wait_for("ROSTER_GET");
	(void)snprintf(text, sizeof(text), "from %s", who);
	if (e2e_group_seal(&chain, room, who, epoch, text,
	    strlen(text), now_ms(), msg, sizeof(msg), &msglen) != E2E_OK)
		die("e2e_group_seal");
	room_event_body(room, seq, EVENT_MESSAGE, who, pub, msg, msglen);
	e2e_chain_wipe(&chain);
	OPENSSL_cleanse(priv, sizeof(priv));
}

/* A direct message from a user the client never saw. */
static void
direct_from_stranger(unsigned long long i)
{
	uint8_t	 priv[KEY_LEN], pub[KEY_LEN];
	char	 from[NAME_MAX_LEN + 1];

	(void)snprintf(from, sizeof(from), "d%llu", i);
	if (crypto_ed25519_keygen(priv, pub) == -1)
		die("keygen");
	direct_sealed(from, priv, pub, now_ms());
}

static unsigned long long
number(const char *s)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0)
		die("bad number in the script");
	return v;
}

/*
 * Frames, an ERROR and the close_notify, made in memory and written at
 * once, so that the client reads the ERROR in the same pass as the end.
 */
static void
bye(uint16_t code, unsigned long long count, unsigned long long record)
{
	struct frame_buf	 b;
	BIO			*mem;
	uint8_t			*all = NULL;
	size_t			 len = 0;
	char			*data;
	long			 dlen, done = 0;
	ssize_t			 w;
	unsigned long long	 i;

	if (count > COUNT_MAX)
		die("too many");
	for (i = 0; i <= count; i++) {
		if (i < count) {
			frame_begin(&b, MSG_NOTICE, MAX_FRAME);
			frame_put_str(&b, F_TEXT, "scfake is leaving");
		} else {
			frame_begin(&b, MSG_ERROR, MAX_FRAME);
			frame_put_u16(&b, F_CODE, code);
			frame_put_str(&b, F_TEXT, "scfake says goodbye");
		}
		if (frame_finish(&b) == -1)
			die("a frame the script asked for does not encode");
		all = xreallocarray(all, len + b.len, 1);
		memcpy(all + len, b.data, b.len);
		len += b.len;
		frame_buf_free(&b);
	}
	if ((mem = probe_records(ssl, all, len, (size_t)record, 1)) == NULL)
		die("cannot make the records");
	dlen = BIO_get_mem_data(mem, &data);
	while (done < dlen) {
		if ((w = write(conn_fd, data + done, (size_t)(dlen - done))) ==
		    -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += w;
	}
	free(all);
	said_bye = 1;
}

/*
 * Roster entry index of room, after prev: who creates the room (an open
 * one) or joins it, with a key of its own, made here.  e keeps the key,
 * priv its private half.
 */
static size_t
sign_entry(struct e2e_roster_entry *e, const char *room, uint32_t index,
    const uint8_t prev[E2E_HASH_LEN], const char *who,
    uint8_t buf[E2E_ROSTER_ENTRY_MAX], uint8_t priv[KEY_LEN])
{
	size_t	 len;

	memset(e, 0, sizeof(*e));
	(void)str_copy(e->room, room, sizeof(e->room));
	e->index = index;
	memcpy(e->prev, prev, sizeof(e->prev));
	if (crypto_ed25519_keygen(priv, e->actor_key) == -1)
		die("keygen");
	e->op = index == 0 ? E2E_ROSTER_CREATE : E2E_ROSTER_JOIN;
	e->arg = E2E_ROSTER_OPEN;
	(void)str_copy(e->subject, who, sizeof(e->subject));
	(void)str_copy(e->actor, who, sizeof(e->actor));
	memcpy(e->subject_key, e->actor_key, sizeof(e->subject_key));
	e->ts_ms = now_ms();
	if (e2e_roster_entry_sign(e, priv, buf, E2E_ROSTER_ENTRY_MAX,
	    &len) != E2E_OK)
		die("e2e_roster_entry_sign");
	return len;
}

/*
 * The chain's entry index, after prev: c1 leaves (op E2E_ROSTER_PART) or
 * c0, who created the room, removes c1 (E2E_ROSTER_REMOVE).
 */
static size_t
sign_leave(uint32_t index, const uint8_t prev[E2E_HASH_LEN], uint8_t op,
    uint8_t buf[E2E_ROSTER_ENTRY_MAX])
{
	struct e2e_roster_entry	 e;
	size_t			 actor = op == E2E_ROSTER_PART ? 1 : 0, len;

	memset(&e, 0, sizeof(e));
	(void)str_copy(e.room, chain_room, sizeof(e.room));
	e.index = index;
	memcpy(e.prev, prev, sizeof(e.prev));
	e.op = op;
	(void)snprintf(e.actor, sizeof(e.actor), "c%zu", actor);
	memcpy(e.actor_key, chain_pub + actor * KEY_LEN, KEY_LEN);
	(void)str_copy(e.subject, "c1", sizeof(e.subject));
	memcpy(e.subject_key, chain_pub + KEY_LEN, KEY_LEN);
	e.ts_ms = now_ms();
	if (e2e_roster_entry_sign(&e, chain_priv + actor * KEY_LEN, buf,
	    E2E_ROSTER_ENTRY_MAX, &len) != E2E_OK)
		die("e2e_roster_entry_sign");
	return len;
}

/*
 * A join of user in room whose roster entry claims index: made up, after
 * no entry that exists, ahead of any roster the client holds.
 */
static void
ahead_join(const char *room, uint64_t seq, const char *who, uint32_t index)
{
	struct e2e_roster_entry	 e;
	uint8_t			 prev[E2E_HASH_LEN], buf[E2E_ROSTER_ENTRY_MAX];
	uint8_t			 priv[KEY_LEN];
	size_t			 len;

	if (index == 0 || RAND_bytes(prev, sizeof(prev)) != 1)
		die("aheadjoin: an index past 0, and random bytes");
	len = sign_entry(&e, room, index, prev, who, buf, priv);
	OPENSSL_cleanse(priv, sizeof(priv));
	room_event_field(room, seq, EVENT_JOIN, who, e.actor_key, F_ENTRY, buf,
	    len);
}

/*
 * A real roster of count entries for room, checked as a client checks it
 * (e2e_roster_apply): c0 creates it open, c1, c2, ... join it, each with
 * a key of its own; with leave (E2E_ROSTER_PART or _REMOVE), c1 leaves or
 * is removed in one more entry.
 */
static void
make_chain(const char *room, unsigned long long count, uint8_t leave)
{
	struct e2e_roster	 r;
	struct e2e_roster_entry	 e;
	uint8_t			 buf[E2E_ROSTER_ENTRY_MAX];
	char			 who[NAME_MAX_LEN + 1];
	size_t			 len, i;

	if (count == 0 || count > 10000 || chain_n > 0 || (leave && count < 2))
		die("one chain of 1 to 10000 entries (2 with a leave)");
	(void)str_copy(chain_room, room, sizeof(chain_room));
	if (e2e_roster_init(&r, room) != E2E_OK)
		die("e2e_roster_init");
	chain_off = xcalloc(count + 2, sizeof(*chain_off));
	chain_priv = xcalloc(count, KEY_LEN);
	chain_pub = xcalloc(count, KEY_LEN);
	for (i = 0; i < count + (leave != 0); i++) {
		(void)snprintf(who, sizeof(who), "c%zu", i);
		/* The head of an empty roster is zero: index 0's prev. */
		if (i < count) {
			len = sign_entry(&e, room, (uint32_t)i, r.head, who,
			    buf, chain_priv + i * KEY_LEN);
			memcpy(chain_pub + i * KEY_LEN, e.actor_key, KEY_LEN);
		} else
			len = sign_leave((uint32_t)i, r.head, leave, buf);
		if (e2e_roster_apply(&r, buf, len, NULL) != E2E_OK)
			die("an entry of the chain does not verify");
		chain_buf = xreallocarray(chain_buf, chain_len + 4 + len, 1);
		be32_put(chain_buf + chain_len, (uint32_t)len);
		memcpy(chain_buf + chain_len + 4, buf, len);
		chain_len += 4 + len;
		chain_off[i + 1] = chain_len;
	}
	chain_n = count + (leave != 0);
	chain_nkeys = count;
	e2e_roster_free(&r);
}

/* The joins of the chain's entries from..to, relayed as a broker would. */
static void
chain_joins(uint64_t seq, unsigned long long from, unsigned long long to)
{
	struct e2e_roster_entry	 e;
	const uint8_t		*p;
	size_t			 len;
	unsigned long long	 i;

	if (from > to || to >= chain_n)
		die("chainjoins: not entries of the chain");
	for (i = from; i <= to; i++) {
		p = chain_buf + chain_off[i] + 4;
		len = chain_off[i + 1] - chain_off[i] - 4;
		if (e2e_roster_entry_parse(p, len, &e) != E2E_OK)
			die("e2e_roster_entry_parse");
		room_event_field(chain_room, seq++, e.op == E2E_ROSTER_PART ?
		    EVENT_PART : EVENT_JOIN, e.subject, e.actor_key, F_ENTRY, p,
		    len);
	}
}

/* One script line; the words are NUL-separated in w[0..n). */
static void
run(char **w, size_t n)
{
	struct frame_buf	 b;
	uint8_t			 key[KEY_LEN], priv[KEY_LEN], *text;
	char			 name[ROOM_MAX_LEN + 1];
	unsigned long long	 i, j, count;
	uint64_t		 seq;
	size_t			 len;

	if (strcmp(w[0], "event") == 0 && n == 5)
		room_event(w[1], number(w[2]), (uint8_t)number(w[3]), w[4],
		    NULL);
	else if (strcmp(w[0], "rooms") == 0 && n == 3) {
		if ((count = number(w[2])) > COUNT_MAX)
			die("too many");
		for (i = 0; i < count; i++) {
			(void)snprintf(name, sizeof(name), "%s%llu", w[1], i);
			room_event(name, 1, EVENT_JOIN, user, NULL);
		}
	} else if (strcmp(w[0], "events") == 0 && n == 4) {
		if ((count = number(w[3])) > COUNT_MAX)
			die("too many");
		for (i = 0; i < count; i++) {
			(void)snprintf(name, sizeof(name), "j%llu", i);
			room_event(w[1], number(w[2]) + i, EVENT_JOIN, name,
			    NULL);
		}
	} else if (strcmp(w[0], "keys") == 0 && n == 3) {
		if ((count = number(w[2])) > COUNT_MAX)
			die("too many");
		for (i = 0; i < count; i++) {
			(void)snprintf(name, sizeof(name), "%s%llu", w[1], i);
			random_key(key);
			frame_begin(&b, MSG_KEYS, MAX_FRAME);
			frame_put_str(&b, F_NAME, name);
			frame_put_bytes(&b, F_SIGN_PUB, key, KEY_LEN);
			send_frame(&b);
		}
	} else if (strcmp(w[0], "stamped") == 0 && n == 4) {
		if ((count = number(w[3])) > COUNT_MAX)
			die("too many");
		for (i = 0; i < count; i++) {
			(void)snprintf(name, sizeof(name), "s%llu", i);
			random_key(key);
			room_event(w[1], number(w[2]) + i, EVENT_MESSAGE, name,
			    key);
		}
	} else if (strcmp(w[0], "dms") == 0 && n == 2) {
		if ((count = number(w[1])) > COUNT_MAX)
			die("too many");
		for (i = 0; i < count; i++)
			direct_from_stranger(i);
	} else if (strcmp(w[0], "futuredms") == 0 && n == 3) {
		if ((count = number(w[1])) > COUNT_MAX)
			die("too many");
		if (crypto_ed25519_keygen(priv, key) == -1)
			die("keygen");
		for (i = 0; i < count; i++)
			direct_sealed("f", priv, key, number(w[2]));
	} else if (strcmp(w[0], "skippers") == 0 && n == 5) {
		seq = number(w[2]);
		if ((count = number(w[3])) > COUNT_MAX ||
		    number(w[4]) > COUNT_MAX)
			die("too many");
		for (i = 0; i < count; i++) {
			(void)snprintf(name, sizeof(name), "k%llu", i);
			if (crypto_ed25519_keygen(priv, key) == -1)
				die("keygen");
			for (j = 0; j < number(w[4]); j++)
				skipping_chain(w[1], &seq, name, priv, key);
		}
	} else if (strcmp(w[0], "notice") == 0 && n == 2) {
		len = strlen(w[1]) / 2;
		text = xmalloc(len + 1);
		if (hex_decode(w[1], strlen(w[1]), text, len) == -1)
			die("bad hex in the script");
		text[len] = '\0';
		/* Bytes as they are: the encoder must not clean them. */
		frame_begin(&b, MSG_NOTICE, MAX_FRAME);
		frame_put_bytes(&b, F_TEXT, text, len);
		send_frame(&b);
		free(text);
	} else if (strcmp(w[0], "bye") == 0 && n == 4) {
		bye((uint16_t)number(w[1]), number(w[2]), number(w[3]));
	} else if (strcmp(w[0], "speak") == 0 && (n == 4 || (n == 5 &&
	    (strcmp(w[4], "other") == 0 || strcmp(w[4], "wait") == 0)))) {
		speak(w[1], number(w[2]), w[3], n == 5 && w[4][0] == 'o',
		    n == 5 && w[4][0] == 'w');
	} else if (strcmp(w[0], "aheadjoin") == 0 && n == 5) {
		if (number(w[4]) > UINT32_MAX)
			die("index too large");
		ahead_join(w[1], number(w[2]), w[3], (uint32_t)number(w[4]));
	} else if (strcmp(w[0], "chain") == 0 && n == 3) {
		make_chain(w[1], number(w[2]), 0);
	} else if (strcmp(w[0], "chain") == 0 && n == 4 &&
	    (strcmp(w[3], "part") == 0 || strcmp(w[3], "remove") == 0)) {
		make_chain(w[1], number(w[2]), w[3][0] == 'p' ?
		    E2E_ROSTER_PART : E2E_ROSTER_REMOVE);
	} else if (strcmp(w[0], "chainjoins") == 0 && n == 4) {
		chain_joins(number(w[1]), number(w[2]), number(w[3]));
	} else if (strcmp(w[0], "answerkeys") == 0 && n == 1) {
		answer_keys = 1;
	} else if (strcmp(w[0], "rosters") == 0 && (n == 1 || (n == 2 &&
	    strcmp(w[1], "storage") == 0))) {
		answer_rosters = 1;
		rosters_fail = n == 2;
	} else if (strcmp(w[0], "caughtup") == 0 && n == 1) {
		frame_begin(&b, MSG_CAUGHT_UP, MAX_FRAME);
		send_frame(&b);
	} else if (strcmp(w[0], "wait") == 0 && n == 2) {
		wait_for(w[1]);
	} else
		die("unknown script line");
}

/* HELLO, LOGIN or REGISTER: the client is in. */
static int
greet(void)
{
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			 raw[MAX_FRAME], nonce[NONCE_LEN];
	size_t			 rawlen;

	if (read_frame(&f, raw, &rawlen) == -1 || f.type != MSG_HELLO)
		return -1;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		die("RAND_bytes");
	frame_begin(&b, MSG_WELCOME, MAX_FRAME);
	frame_put_u16(&b, F_VERSION, PROTO_VERSION);
	frame_put_str(&b, F_SOFTWARE, "scfake");
	frame_put_u32(&b, F_MAX_FRAME, MAX_FRAME);
	frame_put_u32(&b, F_IDLE_TIMEOUT, 300);
	frame_put_bytes(&b, F_NONCE, nonce, sizeof(nonce));
	send_frame(&b);
	if (read_frame(&f, raw, &rawlen) == -1 ||
	    (f.type != MSG_LOGIN && f.type != MSG_REGISTER) ||
	    frame_get_str(&f, F_NAME, user, sizeof(user)) == -1)
		return -1;
	frame_begin(&b, MSG_LOGGED_IN, MAX_FRAME);
	frame_put_str(&b, F_NAME, user);
	frame_put_u8(&b, F_REGISTERED, 0);
	send_frame(&b);
	return 0;
}

/* Run the lines of section `section` of the script. */
static void
run_section(const char *script, int section)
{
	char	*copy, *line, *save = NULL, *w[8], *p, *wsave;
	size_t	 n;
	int	 at = 0;

	copy = xstrdup(script);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strcmp(line, "next") == 0) {
			at++;
			continue;
		}
		if (at != section)
			continue;
		n = 0;
		for (p = strtok_r(line, " ", &wsave); p != NULL && n < 8;
		    p = strtok_r(NULL, " ", &wsave))
			w[n++] = p;
		if (n > 0)
			run(w, n);
	}
	free(copy);
}

static void
serve(SSL_CTX *ctx, int fd, const char *script)
{
	struct frame	 f;
	uint8_t		 raw[MAX_FRAME];
	size_t		 rawlen;

	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1)
		die("SSL_new");
	conn_fd = fd;
	said_bye = 0;
	inlen = 0;
	if (SSL_accept(ssl) == 1 && greet() == 0) {
		printf("{\"conn\":%d,\"type\":\"logged_in\",\"user\":\"%s\"}\n",
		    conn_no, user);
		(void)fflush(stdout);
		run_section(script, conn_no);
		while (!said_bye && read_frame(&f, raw, &rawlen) == 0)
			answer(&f);
	}
	printf("{\"conn\":%d,\"type\":\"closed\"}\n", conn_no);
	(void)fflush(stdout);
	if (!said_bye)
		(void)SSL_shutdown(ssl);
	SSL_free(ssl);
	ssl = NULL;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	SSL_CTX			*ctx;
	uint8_t			*cert, *key, *script;
	size_t			 certlen, keylen, scriptlen;
	char			 err[256];
	int			 ch, s, fd, one = 1, port = 0;
	const char		*certfile = NULL, *keyfile = NULL;

	while ((ch = getopt(argc, argv, "p:c:k:")) != -1) {
		switch (ch) {
		case 'p':
			port = (int)number(optarg);
			break;
		case 'c':
			certfile = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		default:
			die("usage: scfake -p port -c cert -k key script");
		}
	}
	if (optind + 1 != argc || port <= 0 || port > 65535 ||
	    certfile == NULL || keyfile == NULL)
		die("usage: scfake -p port -c cert -k key script");
	(void)signal(SIGPIPE, SIG_IGN);
	cert = slurp(certfile, &certlen);
	key = slurp(keyfile, &keylen);
	script = slurp(argv[optind], &scriptlen);
	if ((ctx = tls_ctx_server(cert, certlen, key, keylen, err,
	    sizeof(err))) == NULL)
		die(err);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		die("socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(s, 8) == -1)
		die("bind or listen");
	printf("{\"type\":\"listening\",\"port\":%d}\n", port);
	(void)fflush(stdout);
	for (conn_no = 0;; conn_no++) {
		if ((fd = accept(s, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		serve(ctx, fd, (const char *)script);
		(void)close(fd);
	}
}
