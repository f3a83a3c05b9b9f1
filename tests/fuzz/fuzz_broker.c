/*
 * fuzz_broker.c: libFuzzer harness for what the broker decodes: a worker's
 * link (SESSION, LOGIN, REGISTER and every client message it relays,
 * before and after a real login), the master's channel and securechatctl's
 * requests.  The broker's functions are static by design, so this file
 * includes broker.c and broker-ctl.c and drives them on a real database,
 * one event-loop turn at a time, each ending as broker_main's loop ends a
 * pass: commit, then one write per link (link_flush_all, broker-ring.c's
 * fan-out included).
 */
#include "broker.c"
#include "broker-ctl.c"

#include <sys/un.h>

#include <dirent.h>
#include <setjmp.h>

#include "crypto.h"
#include "fuzz.h"

#define RESET_EVERY	256	/* inputs on one database, then a fresh one */
#define MAX_TURNS	64	/* turns of one input in MODE_BODIES */
#define TURN_END	0xffff	/* MODE_BODIES: commit here */
#define LOOP_PASSES	4	/* loop passes after each input */

enum mode {
	MODE_NEW,	/* bytes from a worker whose client has not logged in */
	MODE_AUTHED,	/* the same after a real LOGIN as alice */
	MODE_BODIES,	/* frames the harness frames, turns, as alice */
	MODE_MASTER,	/* packets from the master, descriptors and all */
	MODE_CTL,	/* bytes from securechatctl on the control socket */
	MODE_COUNT
};

int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
const char	*__lsan_default_suppressions(void);

/*
 * A fatalx about the master leaves attach()'s half-made link behind,
 * which the real broker never outlives.
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:attach\n";
}

static char		*dir;
static struct fuzz_keys	 alice, bob;
static uint8_t		 exporter[EXPORTER_LEN];
static uint64_t		 sessions;
static unsigned long	 inputs;
static jmp_buf		 fatal_jmp;
static int		 fatal_armed;
static int		 master_peer = -1, ctl_lfd = -1;
static char		 ctl_path[PATH_MAX];
/* The LOGIN signature over the last nonce: the random stream repeats. */
static uint8_t		 sig_nonce[NONCE_LEN], sig[SIG_LEN];

static void
fatal_cb(void)
{
	if (fatal_armed)
		longjmp(fatal_jmp, 1);
}

static void
db_path(char *path, size_t sz, const char *suffix)
{
	(void)snprintf(path, sz, "%s/%s%s", dir, DB_NAME, suffix);
}

/* alice and bob, bob's prekey, #fuzz with both, a message each way. */
static void
db_open(void)
{
	struct store_prekey	 pk;
	char			 path[PATH_MAX], err[512];
	int64_t			 a, b, room;
	uint64_t		 seq;
	int			 dup;

	db_path(path, sizeof(path), "");
	(void)unlink(path);
	db_path(path, sizeof(path), "-wal");
	(void)unlink(path);
	db_path(path, sizeof(path), "-shm");
	(void)unlink(path);
	db_path(path, sizeof(path), "");
	if ((br.store = store_open(path, err, sizeof(err))) == NULL)
		abort();
	memset(&pk, 0, sizeof(pk));
	pk.id = FUZZ_SPK_ID;
	pk.created_s = FUZZ_SPK_CREATED;
	memcpy(pk.pub, bob.spk_pub, sizeof(pk.pub));
	memcpy(pk.sig, bob.spk_sig, sizeof(pk.sig));
	if (store_begin(br.store) == -1 ||
	    store_user_add(br.store, FUZZ_PEER, alice.sign_pub, alice.dh_pub,
	    &a) != 0 ||
	    store_user_add(br.store, FUZZ_PEER2, bob.sign_pub, bob.dh_pub,
	    &b) != 0 ||
	    store_prekey_set(br.store, b, &pk) != 0 ||
	    store_room_create(br.store, FUZZ_ROOM, &room) != 0 ||
	    store_member_add(br.store, room, a, 0) != 0 ||
	    store_member_add(br.store, room, b, 0) != 0 ||
	    store_room_append(br.store, room, b, 1, LOG_MESSAGE, 1,
	    (const uint8_t *)"hi", 2, &seq, &dup) != 0 ||
	    store_inbox_append(br.store, a, b, 2, LOG_MESSAGE, 1,
	    (const uint8_t *)"psst", 4, &seq, &dup) != 0 ||
	    store_invite_add(br.store, "0123456789abcdef0123") != 0 ||
	    store_commit(br.store) == -1 || chat_init() == -1)
		abort();
}

static void	ctl_listen(void);

static void
setup(void)
{
	int	 sp[2];

	fuzz_setup();
	log_fatal_hook(fatal_cb);
	dir = fuzz_tmpdir("fuzz-broker");
	fuzz_keys(FUZZ_PEER, &alice);
	fuzz_keys(FUZZ_PEER2, &bob);
	memset(exporter, 0xe5, sizeof(exporter));
	state_init();
	(void)str_copy(br.user, "_securechat", sizeof(br.user));
	(void)str_copy(br.state_dir, dir, sizeof(br.state_dir));
	(void)str_copy(br.registration, "open", sizeof(br.registration));
	br.max_clients = 1024;
	br.max_frame = FRAME_MAX_DEFAULT;
	br.retention_days = 30;
	br.ctl_uid = getuid();
	br.ipv4_prefix = 32;
	br.ipv6_prefix = 64;
	/*
	 * Rates that refill within a millisecond, with small bursts: an
	 * input that asks too much in one turn meets the limit, the next
	 * input finds the bucket full again.  Caps and quotas that a few
	 * inputs on one database reach: a room with one member is full, so
	 * alice, back in #fuzz (bob's), is refused.
	 */
	br.message_rate = 1000000;
	br.message_burst = 32;
	br.request_rate = 1000000;
	br.request_burst = 32;
	br.storage_mib_per_day = 4000000;
	br.storage_burst_mib = 1;
	br.inbox_max_messages = 16;
	br.inbox_max_mib = 1;
	br.registrations_per_hour = 360000;
	br.room_creates_per_hour = 360000;
	br.max_rooms_per_user = 8;
	br.max_members_per_room = 1;
	br.max_rooms = 16;
	/*
	 * The broker writes to the master on a fixed descriptor (a reload):
	 * ours, drained, if it is free; else those writes fail, as they
	 * would with the master gone.
	 */
	if (fcntl(BROKER_FD_MASTER, F_GETFD) == -1) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1 ||
		    dup2(sp[0], BROKER_FD_MASTER) == -1)
			abort();
		(void)close(sp[0]);
		master_peer = sp[1];
	}
	if ((br.base = event_base_new()) == NULL ||
	    (br.drain_ev = event_new(br.base, -1, 0, drain_cb, NULL)) == NULL)
		abort();
	logsum_init(br.base);
	db_open();
	rate_init();
	roster_init();
	ctl_listen();
}

/* The end of a pass, as in broker_main: commit, then write to the links. */
static void
pass_end(void)
{
	commit();
	link_flush_all();
}

/*
 * A worker's link, attached as the master does it.  *peer is the worker's
 * end of the socket, or -1: closed at once, for a link freed before the
 * event loop could see it.
 */
static struct link *
link_new(int *peer)
{
	struct frame_buf	 b;
	struct frame		 f;
	int			 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		abort();
	frame_begin(&b, IMSG_ATTACH, FRAME_MAX_DEFAULT);
	frame_put_u32(&b, F_PID, 4242);
	frame_put_u64(&b, F_SESSION_ID, ++sessions);
	frame_put_str(&b, F_ADDR, "192.0.2.7");
	if (frame_finish(&b) == -1 || frame_decode(b.data, b.len, &f) != 0)
		abort();
	attach(&f, sp[0]);
	frame_buf_free(&b);
	if (peer != NULL)
		*peer = sp[1];
	else
		(void)close(sp[1]);
	return TAILQ_LAST(&br.links, linklist);
}

/* The worker reads everything the broker wrote, and drops it. */
static void
peer_drain(int fd)
{
	char	 buf[16384];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* One turn: the bytes arrive, the link reads them, the turn commits. */
static struct link *
turn(uint64_t session_id, const void *p, size_t len)
{
	struct evbuffer	*in;
	struct link	*l;

	if ((l = link_by_session(session_id)) == NULL)
		return NULL;
	/* The bytes arrive as the socket would bring them. */
	in = bufferevent_get_input(l->bev);
	if (evbuffer_unfreeze(in, 0) == -1 ||
	    (len > 0 && evbuffer_add(in, p, len) == -1) ||
	    evbuffer_freeze(in, 0) == -1)
		abort();
	link_read_cb(l->bev, l);
	pass_end();
	return link_by_session(session_id);
}

static struct link *
send_frame(struct link *l, struct frame_buf *b)
{
	struct link	*after;

	if (frame_finish(b) == -1)
		abort();
	after = turn(l->session_id, b->data, b->len);
	frame_buf_free(b);
	return after;
}

/* SESSION, then a LOGIN that verifies: the link is alice's. */
static struct link *
login(struct link *l)
{
	struct crypto_part	 parts[4];
	struct frame_buf	 b;

	frame_begin(&b, IMSG_SESSION, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_TLS_VERSION, "TLSv1.3");
	frame_put_str(&b, F_TLS_CIPHER, "TLS_AES_256_GCM_SHA384");
	frame_put_str(&b, F_TLS_GROUP, "X25519");
	frame_put_bytes(&b, F_EXPORTER, exporter, sizeof(exporter));
	if ((l = send_frame(l, &b)) == NULL || l->state != LINK_CHALLENGED)
		abort();
	if (memcmp(sig_nonce, l->nonce, NONCE_LEN) != 0) {
		parts[0].p = LOGIN_CONTEXT;
		parts[0].len = strlen(LOGIN_CONTEXT);
		parts[1].p = l->nonce;
		parts[1].len = NONCE_LEN;
		parts[2].p = exporter;
		parts[2].len = EXPORTER_LEN;
		parts[3].p = FUZZ_PEER;
		parts[3].len = strlen(FUZZ_PEER);
		if (crypto_ed25519_sign_parts(alice.sign_priv, parts, 4,
		    sig) == -1)
			abort();
		memcpy(sig_nonce, l->nonce, NONCE_LEN);
	}
	frame_begin(&b, MSG_LOGIN, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_NAME, FUZZ_PEER);
	frame_put_bytes(&b, F_SIGNATURE, sig, sizeof(sig));
	if ((l = send_frame(l, &b)) == NULL || l->state != LINK_AUTHED)
		return NULL;
	return l;
}


/*
 * Steps of u16 type, u16 length, body: the harness writes each header,
 * so the bodies get the mutations.  TURN_END commits.
 */
static void
bodies(uint64_t session_id, struct fuzz_in *in)
{
	uint8_t		*acc = NULL;
	const uint8_t	*body;
	uint16_t	 type = TURN_END;
	size_t		 acclen = 0, len, n;
	int		 at_end;

	for (n = 0; n < MAX_TURNS; ) {
		if (!(at_end = in->len < 4)) {
			type = fuzz_u16(in);
			body = fuzz_bytes(in, fuzz_u16(in), &len);
		}
		if (!at_end && type != TURN_END) {
			acc = xreallocarray(acc, acclen + FRAME_HDR_LEN + len,
			    1);
			be32_put(acc + acclen, (uint32_t)len);
			be16_put(acc + acclen + 4, type);
			be16_put(acc + acclen + 6, 0);
			if (len > 0)
				memcpy(acc + acclen + FRAME_HDR_LEN, body, len);
			acclen += FRAME_HDR_LEN + len;
			continue;
		}
		if (acclen > 0 && turn(session_id, acc, acclen) == NULL)
			break;
		acclen = 0;
		n++;
		if (at_end)
			break;
	}
	free(acc);
}

/*
 * The descriptors open now, to close those a fatalx left open later
 * (only those: the sanitizers keep some of their own).
 */
struct fdset {
	uint8_t	 open[1024];
};

static void
fds_open(struct fdset *s)
{
	DIR		*d;
	struct dirent	*e;
	long		 fd;

	memset(s, 0, sizeof(*s));
	if ((d = opendir("/proc/self/fd")) == NULL)
		abort();
	while ((e = readdir(d)) != NULL)
		if ((fd = strtol(e->d_name, NULL, 10)) >= 0 &&
		    fd < (long)sizeof(s->open))
			s->open[fd] = 1;
	(void)closedir(d);
}

static void
fds_close_new(const struct fdset *before)
{
	struct fdset	 now;
	size_t		 fd;

	fds_open(&now);
	for (fd = 0; fd < sizeof(now.open); fd++)
		if (now.open[fd] && !before->open[fd])
			(void)close((int)fd);
}

/* Packets of u8 flags (bit 0: with a descriptor), u16 length, bytes. */
static void
master(struct fuzz_in *in)
{
	struct broker	 saved = br;
	struct link	*l, *last = TAILQ_LAST(&br.links, linklist);
	const uint8_t	*p;
	struct frame_buf b;
	size_t		 len;
	uint8_t		 flags;
	struct fdset	 before;
	int		 sp[2], wk[2], level = log_getlevel();

	fds_open(&before);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1)
		abort();
	fatal_armed = 1;
	if (setjmp(fatal_jmp) == 0) {
		while (in->len >= 3) {
			flags = fuzz_u8(in);
			p = fuzz_bytes(in, fuzz_u16(in), &len);
			memset(&b, 0, sizeof(b));
			b.data = (uint8_t *)p;
			b.len = len;
			wk[0] = wk[1] = -1;
			if ((flags & 1) &&
			    socketpair(AF_UNIX, SOCK_STREAM, 0, wk) == -1)
				abort();
			if (ipc_send(sp[0], &b, wk[0]) == -1)
				abort();
			if (wk[0] != -1) {
				(void)close(wk[0]);
				(void)close(wk[1]);
			}
			master_cb(sp[1], EV_READ, NULL);
			pass_end();
		}
	}
	fatal_armed = 0;
	/* The settings as they were, whatever the master said. */
	(void)memcpy(br.user, saved.user, sizeof(br.user));
	(void)memcpy(br.state_dir, saved.state_dir, sizeof(br.state_dir));
	(void)memcpy(br.registration, saved.registration,
	    sizeof(br.registration));
	br.max_clients = saved.max_clients;
	br.max_frame = saved.max_frame;
	br.message_rate = saved.message_rate;
	br.message_burst = saved.message_burst;
	br.retention_days = saved.retention_days;
	br.ctl_uid = saved.ctl_uid;
	br.ipv4_prefix = saved.ipv4_prefix;
	br.ipv6_prefix = saved.ipv6_prefix;
	br.request_rate = saved.request_rate;
	br.request_burst = saved.request_burst;
	br.storage_mib_per_day = saved.storage_mib_per_day;
	br.storage_burst_mib = saved.storage_burst_mib;
	br.inbox_max_messages = saved.inbox_max_messages;
	br.inbox_max_mib = saved.inbox_max_mib;
	br.registrations_per_hour = saved.registrations_per_hour;
	br.room_creates_per_hour = saved.room_creates_per_hour;
	br.max_rooms_per_user = saved.max_rooms_per_user;
	br.max_members_per_room = saved.max_members_per_room;
	br.max_rooms = saved.max_rooms;
	log_setlevel(level);
	/* Links it attached, then what a fatalx left open. */
	while ((l = TAILQ_LAST(&br.links, linklist)) != NULL && l != last)
		link_free(l, "fuzz");
	(void)close(sp[0]);
	(void)close(sp[1]);
	/*
	 * A pass of the loop, ended as broker_main ends it: new settings may
	 * let a paused link go on with the requests it held.
	 */
	if (event_base_loop(br.base, EVLOOP_NONBLOCK) == -1)
		abort();
	pass_end();
	fds_close_new(&before);
}

/* The control socket, as the master makes it for the broker. */
static void
ctl_listen(void)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)snprintf(ctl_path, sizeof(ctl_path), "%s/ctl.sock", dir);
	(void)str_copy(sun.sun_path, ctl_path, sizeof(sun.sun_path));
	if ((ctl_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(ctl_lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(ctl_lfd, 8) == -1)
		abort();
}

/* One securechatctl connection: accepted as the broker does, then fed. */
static void
ctl(const uint8_t *p, size_t len)
{
	struct sockaddr_un	 sun;
	struct ctl_conn		*c;
	struct evbuffer		*in;
	uint64_t		 id;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)str_copy(sun.sun_path, ctl_path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		abort();
	accept_cb(ctl_lfd, EV_READ, NULL);
	if ((c = TAILQ_LAST(&conns, ctllist)) == NULL)
		abort();
	id = c->id;
	in = bufferevent_get_input(c->bev);
	if (evbuffer_unfreeze(in, 0) == -1 ||
	    (len > 0 && evbuffer_add(in, p, len) == -1) ||
	    evbuffer_freeze(in, 0) == -1)
		abort();
	conn_read_cb(c->bev, c);
	pass_end();
	TAILQ_FOREACH(c, &conns, entry)
		if (c->id == id) {
			conn_free(c);
			break;
		}
	(void)close(fd);
}

/*
 * alice's link lives on from input to input while it stays logged in, as
 * a long session does: a LOGIN per input would cost more than the input.
 */
static uint64_t		 alice_id;
static int		 alice_peer = -1;

static void
alice_free(void)
{
	struct link	*l;

	if (alice_id != 0 && (l = link_by_session(alice_id)) != NULL)
		link_free(l, "fuzz");
	if (alice_peer != -1)
		(void)close(alice_peer);
	alice_id = 0;
	alice_peer = -1;
}

/*
 * A fresh database: alice, bob and #fuzz as db_open makes them, and what
 * the broker keeps of the old one gone, as a restart would leave it (room
 * and user ids come again, for others).
 */
static void
db_reset(void)
{
	alice_free();
	chat_free();
	/* Every room's ring went with its room, and counts no more. */
	if (br.ring_bytes != 0)
		abort();
	roster_free();
	rate_free();
	store_close(br.store);
	db_open();
	rate_init();
	roster_init();
}

static uint64_t
alice_link(void)
{
	struct link	*l;

	if (alice_id != 0 && (l = link_by_session(alice_id)) != NULL &&
	    l->state == LINK_AUTHED)
		return alice_id;
	alice_free();
	if ((l = login(link_new(&alice_peer))) == NULL) {
		/* An operator's request deleted, disabled or reset alice. */
		db_reset();
		if ((l = login(link_new(&alice_peer))) == NULL)
			abort();
	}
	alice_id = l->session_id;
	return alice_id;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };
	struct link	*l;
	uint64_t	 id;
	uint8_t		 mode;
	int		 n;

	if (dir == NULL)
		setup();
	/* Between passes nothing waits for a commit, as in broker_main. */
	if (!TAILQ_EMPTY(&br.after))
		abort();
	if (++inputs % RESET_EVERY == 0)
		db_reset();
	/*
	 * The same random stream for every input: an operator's invite code
	 * comes out the same each time, and must be drawn again.
	 */
	fuzz_rand_reset();
	mode = fuzz_u8(&in) % MODE_COUNT;
	if (mode == MODE_MASTER) {
		master(&in);
		return 0;
	}
	if (mode == MODE_CTL) {
		ctl(in.p, in.len);
		pass_end();
	} else if (mode == MODE_NEW) {
		id = link_new(NULL)->session_id;
		(void)turn(id, in.p, in.len);
		/* The worker goes: what it sent, not read yet, is read now. */
		if ((l = link_by_session(id)) != NULL)
			link_event_cb(l->bev, BEV_EVENT_EOF | BEV_EVENT_READING,
			    l);
		pass_end();
	} else {
		id = alice_link();
		if (mode == MODE_BODIES)
			bodies(id, &in);
		else
			(void)turn(id, in.p, in.len);
		if ((l = link_by_session(id)) == NULL || l->state !=
		    LINK_AUTHED)
			alice_free();
		pass_end();
	}
	/*
	 * The loop: libevent finalizes freed bufferevents (closing their
	 * sockets), alice's link writes what the flush left, and the broker
	 * pumps more when that drains (drain_cb, a pass later).  Then the
	 * worker reads it all.
	 */
	for (n = 0; n < LOOP_PASSES; n++) {
		if (event_base_loop(br.base, EVLOOP_NONBLOCK) == -1)
			abort();
		pass_end();
	}
	/*
	 * A link paused by its request rate reads the frames it held when
	 * its timer fires, in this loop: one of them may have ended it.
	 */
	if (alice_id != 0 && ((l = link_by_session(alice_id)) == NULL ||
	    l->state != LINK_AUTHED))
		alice_free();
	if (alice_peer != -1)
		peer_drain(alice_peer);
	if (master_peer != -1)
		peer_drain(master_peer);
	if (br.nlinks != (alice_id != 0) || !TAILQ_EMPTY(&br.after) ||
	    br.nusers_online != (alice_id != 0))
		abort();
	return 0;
}
