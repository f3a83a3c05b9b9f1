/*
 * test_broker_ipc.c: the broker decides identity, never the worker.  The
 * test plays the master and a lying worker against a real broker process
 * (securechatd -x broker) over the same channels the daemon uses.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker.h"
#include "crypto.h"
#include "frame.h"
#include "ipc.h"
#include "proto.h"
#include "util.h"

#define WAIT_MS		10000

static char	 statedir[] = "/tmp/test_broker_ipc.XXXXXX";
static pid_t	 broker_pid = -1;
static int	 master_fd = -1;
static uint64_t	 next_session = 1;

struct ident {
	uint8_t	 sign_priv[32], sign_pub[32], dh_priv[32], dh_pub[32];
};

/* A fake worker: its end of the broker link, and the challenge it got. */
struct fake {
	int	 fd;
	uint8_t	 nonce[NONCE_LEN];
	uint8_t	 exporter[EXPORTER_LEN];
	uint8_t	 buf[FRAME_MAX_DEFAULT + 1024];
	size_t	 have;
};

static void
send_buf(int fd, struct frame_buf *b)
{
	assert_int_equal(frame_finish(b), 0);
	assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
	frame_buf_free(b);
}

/* Read one frame from a fake worker's link, or fail after WAIT_MS. */
static void
read_any_frame(struct fake *w, struct frame *f)
{
	struct pollfd	 pfd = { .fd = w->fd, .events = POLLIN };
	size_t		 flen;
	ssize_t		 n;
	int		 rv;

	for (;;) {
		if (w->have >= FRAME_HDR_LEN) {
			rv = frame_peek(w->buf, w->have, sizeof(w->buf), &flen);
			assert_true(rv == FRAME_OK || rv == FRAME_NEED_MORE);
			if (rv == FRAME_OK) {
				static uint8_t	 copy[sizeof(w->buf)];

				memcpy(copy, w->buf, flen);
				memmove(w->buf, w->buf + flen, w->have - flen);
				w->have -= flen;
				assert_int_equal(frame_decode(copy, flen, f),
				    FRAME_OK);
				return;
			}
		}
		assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
		n = read(w->fd, w->buf + w->have, sizeof(w->buf) - w->have);
		assert_true(n > 0);
		w->have += (size_t)n;
	}
}

/* CAUGHT_UP frames read_frame skipped since a test last cleared it. */
static int	 caught_up_seen;

/* The same, past CAUGHT_UP: one test looks at where it comes. */
static void
read_frame(struct fake *w, struct frame *f)
{
	for (;;) {
		read_any_frame(w, f);
		if (f->type != MSG_CAUGHT_UP)
			return;
		caught_up_seen++;
	}
}

static uint16_t
expect_error(struct fake *w)
{
	struct frame	 f;
	uint16_t	 code;

	read_frame(w, &f);
	assert_int_equal(f.type, MSG_ERROR);
	assert_int_equal(frame_get_u16(&f, F_CODE, &code), 0);
	return code;
}

static void
ident_new(struct ident *id)
{
	assert_int_equal(crypto_ed25519_keygen(id->sign_priv, id->sign_pub), 0);
	assert_int_equal(crypto_x25519_keygen(id->dh_priv, id->dh_pub), 0);
}

static void
login_sig(const struct ident *id, const uint8_t *nonce, const uint8_t *exporter,
    const char *name, uint8_t sig[SIG_LEN])
{
	struct crypto_part	 parts[4] = {
		{ LOGIN_CONTEXT, strlen(LOGIN_CONTEXT) },
		{ nonce, NONCE_LEN },
		{ exporter, EXPORTER_LEN },
		{ name, strlen(name) },
	};

	assert_int_equal(crypto_ed25519_sign_parts(id->sign_priv, parts, 4,
	    sig), 0);
}

/* The master hands the broker a new worker link; we keep the other end. */
static void
attach(struct fake *w)
{
	struct frame_buf	 b;
	struct frame		 f;
	int			 sp[2];

	memset(w, 0, sizeof(*w));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	frame_begin(&b, IMSG_ATTACH, FRAME_MAX_DEFAULT);
	frame_put_u32(&b, F_PID, 4242);
	frame_put_u64(&b, F_SESSION_ID, next_session++);
	frame_put_str(&b, F_ADDR, "192.0.2.7");
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(ipc_send(master_fd, &b, sp[1]), 0);
	frame_buf_free(&b);
	close(sp[1]);
	w->fd = sp[0];

	/* The TLS facts a worker reports, with its channel's exporter. */
	assert_int_equal(crypto_random(w->exporter, sizeof(w->exporter)), 0);
	frame_begin(&b, IMSG_SESSION, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_TLS_VERSION, "TLSv1.3");
	frame_put_str(&b, F_TLS_CIPHER, "TLS_AES_256_GCM_SHA384");
	frame_put_str(&b, F_TLS_GROUP, "X25519");
	frame_put_bytes(&b, F_EXPORTER, w->exporter, sizeof(w->exporter));
	send_buf(w->fd, &b);
	read_frame(w, &f);
	assert_int_equal(f.type, IMSG_CHALLENGE);
	memcpy(w->nonce, frame_get(&f, F_NONCE)->val, NONCE_LEN);
}

static void
send_login(struct fake *w, const char *name, const uint8_t sig[SIG_LEN])
{
	struct frame_buf	 b;

	frame_begin(&b, MSG_LOGIN, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_NAME, name);
	frame_put_bytes(&b, F_SIGNATURE, sig, SIG_LEN);
	send_buf(w->fd, &b);
}

static void
send_register(struct fake *w, const struct ident *id, const char *name)
{
	struct frame_buf	 b;
	struct crypto_part	 bind[2] = {
		{ BINDING_CONTEXT, strlen(BINDING_CONTEXT) },
		{ id->dh_pub, KEY_LEN },
	};
	uint8_t			 bsig[SIG_LEN], lsig[SIG_LEN];

	assert_int_equal(crypto_ed25519_sign_parts(id->sign_priv, bind, 2,
	    bsig), 0);
	login_sig(id, w->nonce, w->exporter, name, lsig);
	frame_begin(&b, MSG_REGISTER, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_NAME, name);
	frame_put_bytes(&b, F_SIGN_PUB, id->sign_pub, KEY_LEN);
	frame_put_bytes(&b, F_DH_PUB, id->dh_pub, KEY_LEN);
	frame_put_bytes(&b, F_BINDING_SIG, bsig, SIG_LEN);
	frame_put_bytes(&b, F_SIGNATURE, lsig, SIG_LEN);
	send_buf(w->fd, &b);
}

static void
expect_logged_in(struct fake *w, const char *name)
{
	struct frame	 f;
	char		 got[NAME_MAX_LEN + 1];

	read_frame(w, &f);
	assert_int_equal(f.type, MSG_LOGGED_IN);
	assert_int_equal(frame_get_str(&f, F_NAME, got, sizeof(got)), 0);
	assert_string_equal(got, name);
}

static struct ident	 alice, mallory;

static int
setup(void **state)
{
	struct frame_buf	 b;
	struct passwd		*pw = NULL;
	const char		*builddir = getenv("top_builddir");
	char			 exe[4096];
	int			 sp[2], ctl[2];

	if (builddir == NULL)
		builddir = ".";
	snprintf(exe, sizeof(exe), "%s/daemon/securechatd", builddir);
	if (mkdtemp(statedir) == NULL)
		return -1;
	/* As root, run the broker as nobody: not root means no privdrop. */
	if (geteuid() == 0) {
		if ((pw = getpwnam("nobody")) == NULL ||
		    chown(statedir, pw->pw_uid, pw->pw_gid) == -1)
			return -1;
	}
	/* The control socket: a listening-socket stand-in the broker polls. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, ctl) == -1)
		return -1;
	if ((broker_pid = fork()) == -1)
		return -1;
	if (broker_pid == 0) {
		if (dup2(sp[1], 3) == -1 || dup2(ctl[1], 4) == -1)
			_exit(127);
		if (pw != NULL && (setgroups(0, NULL) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1))
			_exit(126);
		execl(exe, "securechatd", "-x", "broker", "-d", (char *)NULL);
		_exit(127);
	}
	close(sp[1]);
	close(ctl[1]);
	master_fd = sp[0];
	frame_begin(&b, IMSG_BROKER_INIT, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_USER_NAME, "nobody");
	frame_put_str(&b, F_CHROOT, statedir);
	frame_put_str(&b, F_REGISTRATION, "open");
	frame_put_u8(&b, F_LOG_LEVEL, 1);
	frame_put_u32(&b, F_MAX_CLIENTS, 8 * TURN_MAX_READS);
	frame_put_u32(&b, F_MAX_FRAME, FRAME_MAX_DEFAULT);
	frame_put_u32(&b, F_MESSAGE_RATE, 100);
	frame_put_u32(&b, F_MESSAGE_BURST, 100);
	frame_put_u32(&b, F_RETENTION, 0);
	frame_put_u32(&b, F_CTL_UID, 0);
	frame_put_u32(&b, F_IPV4_PREFIX, 32);
	frame_put_u32(&b, F_IPV6_PREFIX, 64);
	frame_put_u32(&b, F_REQUEST_RATE, 1000);
	frame_put_u32(&b, F_REQUEST_BURST, 1000);
	frame_put_u32(&b, F_STORAGE_PER_DAY, 1024);
	frame_put_u32(&b, F_STORAGE_BURST, 64);
	frame_put_u32(&b, F_INBOX_MAX_MESSAGES, 10000);
	frame_put_u32(&b, F_INBOX_MAX_MIB, 64);
	frame_put_u32(&b, F_REGISTRATIONS_PER_HOUR, 1000);
	frame_put_u32(&b, F_ROOM_CREATES_PER_HOUR, 1000);
	frame_put_u32(&b, F_MAX_ROOMS_PER_USER, 1000);
	frame_put_u32(&b, F_MAX_MEMBERS_PER_ROOM, 1000);
	frame_put_u32(&b, F_MAX_ROOMS, 1000);
	if (frame_finish(&b) == -1 || ipc_send(master_fd, &b, -1) == -1)
		return -1;
	frame_buf_free(&b);
	ident_new(&alice);
	ident_new(&mallory);
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[sizeof(statedir) + 16];
	int	 status;

	if (broker_pid > 0) {
		kill(broker_pid, SIGTERM);
		waitpid(broker_pid, &status, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", statedir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
nothing_but_account_messages_before_login(void **state)
{
	struct fake		 w;
	struct frame_buf	 b;

	attach(&w);
	frame_begin(&b, MSG_JOIN, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_ROOM, "#lobby");
	send_buf(w.fd, &b);
	assert_int_equal(expect_error(&w), ERR_NOT_ALLOWED);
	close(w.fd);
}

static void
register_then_login_with_the_same_key(void **state)
{
	struct fake	 w;
	uint8_t		 sig[SIG_LEN];

	attach(&w);
	login_sig(&alice, w.nonce, w.exporter, "alice", sig);
	send_login(&w, "alice", sig);
	assert_int_equal(expect_error(&w), ERR_UNKNOWN_USER);
	send_register(&w, &alice, "alice");
	expect_logged_in(&w, "alice");
	close(w.fd);

	attach(&w);
	login_sig(&alice, w.nonce, w.exporter, "alice", sig);
	send_login(&w, "alice", sig);
	expect_logged_in(&w, "alice");
	close(w.fd);
}

static void
taken_and_bad_names_are_refused(void **state)
{
	struct fake	 w;
	uint8_t		 sig[SIG_LEN];

	/* "alice" is registered by the previous test. */
	attach(&w);
	send_register(&w, &mallory, "alice");
	assert_int_equal(expect_error(&w), ERR_NAME_TAKEN);
	close(w.fd);

	attach(&w);
	login_sig(&mallory, w.nonce, w.exporter, "no spaces", sig);
	send_login(&w, "no spaces", sig);
	assert_int_equal(expect_error(&w), ERR_BAD_NAME);
	close(w.fd);
}

static void
worker_claiming_another_users_name_is_refused(void **state)
{
	struct fake	 w;
	uint8_t		 sig[SIG_LEN];

	/* Mallory's worker says "alice" and signs with Mallory's key. */
	attach(&w);
	login_sig(&mallory, w.nonce, w.exporter, "alice", sig);
	send_login(&w, "alice", sig);
	assert_int_equal(expect_error(&w), ERR_BAD_SIGNATURE);
	close(w.fd);
}

static void
signature_from_another_channel_is_refused(void **state)
{
	struct fake	 w1, w2;
	uint8_t		 sig[SIG_LEN], other[EXPORTER_LEN];

	/* Alice's genuine signature, made for link 1, replayed on link 2. */
	attach(&w1);
	attach(&w2);
	login_sig(&alice, w1.nonce, w1.exporter, "alice", sig);
	send_login(&w2, "alice", sig);
	assert_int_equal(expect_error(&w2), ERR_BAD_SIGNATURE);
	/* Same nonce but another TLS channel's exporter: refused too. */
	assert_int_equal(crypto_random(other, sizeof(other)), 0);
	login_sig(&alice, w1.nonce, other, "alice", sig);
	send_login(&w1, "alice", sig);
	assert_int_equal(expect_error(&w1), ERR_BAD_SIGNATURE);
	close(w1.fd);
	close(w2.fd);
}

static void
sender_is_stamped_by_the_broker(void **state)
{
	struct fake		 w;
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			 sig[SIG_LEN];
	char			 from[NAME_MAX_LEN + 1];
	uint8_t			 kind;

	attach(&w);
	login_sig(&alice, w.nonce, w.exporter, "alice", sig);
	send_login(&w, "alice", sig);
	expect_logged_in(&w, "alice");
	frame_begin(&b, MSG_JOIN, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_ROOM, "#lobby");
	send_buf(w.fd, &b);
	read_frame(&w, &f);
	assert_int_equal(f.type, MSG_ROOM_EVENT);
	assert_int_equal(frame_get_u8(&f, F_KIND, &kind), 0);
	assert_int_equal(kind, EVENT_JOIN);

	/* A SEND that claims to be from bob: F_FROM is not the worker's to say. */
	frame_begin(&b, MSG_SEND, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_ROOM, "#lobby");
	frame_put_u64(&b, F_CLIENT_MSG_ID, 77);
	frame_put_bytes(&b, F_BODY, "hi", 2);
	frame_put_str(&b, F_FROM, "bob");
	send_buf(w.fd, &b);
	read_frame(&w, &f);
	if (f.type == MSG_ACK)
		read_frame(&w, &f);
	assert_int_equal(f.type, MSG_ROOM_EVENT);
	assert_int_equal(frame_get_str(&f, F_FROM, from, sizeof(from)), 0);
	assert_string_equal(from, "alice");

	/* A second LOGIN on a bound link is refused. */
	send_login(&w, "bob", sig);
	assert_int_equal(expect_error(&w), ERR_NOT_ALLOWED);
	close(w.fd);
}

/* Frames built into one buffer reach the broker in one read: one pass. */
static void
room_frame(struct frame_buf *all, uint16_t type, const char *room)
{
	struct frame_buf	 b;

	frame_begin(&b, type, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_ROOM, room);
	assert_int_equal(frame_finish(&b), 0);
	memcpy(all->data + all->len, b.data, b.len);
	all->len += b.len;
	frame_buf_free(&b);
}

static void
expect_room_event(struct fake *w, uint8_t want)
{
	struct frame	 f;
	uint8_t		 kind;

	read_frame(w, &f);
	assert_int_equal(f.type, MSG_ROOM_EVENT);
	assert_int_equal(frame_get_u8(&f, F_KIND, &kind), 0);
	assert_int_equal(kind, want);
}

/* Send to #lobby; skip catch-up until both its ACK and its echo came. */
static void
send_in_lobby(struct fake *w, uint64_t id)
{
	struct frame_buf	 b;
	struct frame		 f;
	uint64_t		 got;
	int			 acked = 0, echoed = 0;

	frame_begin(&b, MSG_SEND, FRAME_MAX_DEFAULT);
	frame_put_str(&b, F_ROOM, "#lobby");
	frame_put_u64(&b, F_CLIENT_MSG_ID, id);
	frame_put_bytes(&b, F_BODY, "hi", 2);
	send_buf(w->fd, &b);
	while (!acked || !echoed) {
		read_frame(w, &f);
		assert_true(f.type == MSG_ACK || f.type == MSG_ROOM_EVENT);
		if (frame_get_u64(&f, F_CLIENT_MSG_ID, &got) == -1 || got != id)
			continue;
		if (f.type == MSG_ACK)
			acked = 1;
		else
			echoed = 1;
	}
}

/* A PART and a JOIN in the same broker pass leave the user a member. */
static void
part_then_join_in_one_pass_stays_a_member(void **state)
{
	struct fake	 w;
	struct {
		struct frame_buf	 b;
		uint8_t			 space[1024];
	}		 all;
	uint8_t		 sig[SIG_LEN];

	/* alice joined #lobby in the previous test. */
	attach(&w);
	login_sig(&alice, w.nonce, w.exporter, "alice", sig);
	send_login(&w, "alice", sig);
	expect_logged_in(&w, "alice");
	send_in_lobby(&w, 78);	/* catches the link up on #lobby, too */

	memset(&all, 0, sizeof(all));
	all.b.data = all.space;
	room_frame(&all.b, MSG_PART, "#lobby");
	room_frame(&all.b, MSG_JOIN, "#lobby");
	assert_int_equal(write(w.fd, all.b.data, all.b.len),
	    (ssize_t)all.b.len);
	expect_room_event(&w, EVENT_PART);
	expect_room_event(&w, EVENT_JOIN);
	send_in_lobby(&w, 79);
	close(w.fd);

	/* And still one after a new login: the store agrees. */
	attach(&w);
	login_sig(&alice, w.nonce, w.exporter, "alice", sig);
	send_login(&w, "alice", sig);
	expect_logged_in(&w, "alice");
	send_in_lobby(&w, 80);
	close(w.fd);
}

/* After login: the backlog, then CAUGHT_UP, once; then only live traffic. */
static void
caught_up_follows_the_backlog(void **state)
{
	struct fake	 w;
	struct frame	 f;
	uint8_t		 sig[SIG_LEN];
	int		 events = 0;

	/* alice never acknowledged #lobby: all of it is her backlog. */
	attach(&w);
	login_sig(&alice, w.nonce, w.exporter, "alice", sig);
	send_login(&w, "alice", sig);
	expect_logged_in(&w, "alice");
	for (;;) {
		read_any_frame(&w, &f);
		if (f.type == MSG_CAUGHT_UP)
			break;
		assert_int_equal(f.type, MSG_ROOM_EVENT);
		events++;
	}
	assert_true(events >= 3);
	caught_up_seen = 0;
	/* Once per connection: live traffic brings no second one. */
	send_in_lobby(&w, 81);
	send_in_lobby(&w, 82);
	assert_false(caught_up_seen);
	close(w.fd);
}

/*
 * Links ready at once, a whole number of TURN_MAX_READS: every turn stops
 * at the limit and holds its output back, and the last one finds nothing
 * more.  The answers must still go out without another event (here no
 * ping comes: the test plays the master).  libevent's epoll backend takes
 * 32 events a poll at first and doubles that each time a poll fills it,
 * so the first bursts grow it and the last one comes in whole.
 */
static void
a_burst_of_whole_turns_is_answered(void **state)
{
	static struct fake	 w[2 * TURN_MAX_READS];
	struct frame_buf	 b;
	size_t			 i, n = sizeof(w) / sizeof(w[0]);
	int			 round, status;

	for (round = 0; round < 3; round++) {
		for (i = 0; i < n; i++)
			attach(&w[i]);
		/* Stopped, so that its next poll finds them all ready. */
		assert_int_equal(kill(broker_pid, SIGSTOP), 0);
		assert_int_equal(waitpid(broker_pid, &status, WUNTRACED),
		    broker_pid);
		assert_true(WIFSTOPPED(status));
		for (i = 0; i < n; i++) {
			frame_begin(&b, MSG_JOIN, FRAME_MAX_DEFAULT);
			frame_put_str(&b, F_ROOM, "#lobby");
			send_buf(w[i].fd, &b);
		}
		assert_int_equal(kill(broker_pid, SIGCONT), 0);
		for (i = 0; i < n; i++) {
			assert_int_equal(expect_error(&w[i]), ERR_NOT_ALLOWED);
			close(w[i].fd);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing_but_account_messages_before_login),
		cmocka_unit_test(register_then_login_with_the_same_key),
		cmocka_unit_test(taken_and_bad_names_are_refused),
		cmocka_unit_test(worker_claiming_another_users_name_is_refused),
		cmocka_unit_test(signature_from_another_channel_is_refused),
		cmocka_unit_test(sender_is_stamped_by_the_broker),
		cmocka_unit_test(part_then_join_in_one_pass_stays_a_member),
		cmocka_unit_test(caught_up_follows_the_backlog),
		cmocka_unit_test(a_burst_of_whole_turns_is_answered),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
