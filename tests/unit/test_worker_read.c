/*
 * test_worker_read.c: a worker takes the broker's whole batch in one wake
 * (broker_read_rest in daemon/worker.c), though libevent 2.1 reads at most
 * 4096 bytes per read event.  Every frame reaches the client's output in
 * order and verbatim; one wake takes at most BROKER_READ_MAX more; a small
 * batch costs no extra system call; the end of the link is left for the
 * bufferevent to meet; a large read arms the heap trim.  Like
 * tests/fuzz/fuzz_worker.c this includes worker.c and drives its read
 * callback on socket pairs, without TLS.
 */
#include "worker.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define NOTICE_TEXT	480	/* a NOTICE frame of about 500 bytes */
#define WAKES_MAX	100

static int	 broker_peer = -1;	/* the broker's end of w.broker */
static int	 client_peer = -1;	/* the client's end of w.client */

static struct bufferevent *
bev_pair(int *peer)
{
	struct bufferevent	*bev;
	int			 sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(fd_set_nonblock(sp[0]), 0);
	assert_non_null(bev = bufferevent_socket_new(w.base, sp[0],
	    BEV_OPT_CLOSE_ON_FREE));
	*peer = sp[1];
	return bev;
}

static int
setup(void **state)
{
	memset(&w, 0, sizeof(w));
	assert_non_null(w.cork = evbuffer_new());
	assert_non_null(w.bcork = evbuffer_new());
	assert_non_null(w.base = event_base_new());
	assert_int_equal(timers_new(), 0);
	w.client = bev_pair(&client_peer);
	w.broker = bev_pair(&broker_peer);
	assert_int_equal(bufferevent_enable(w.broker, EV_READ), 0);
	(void)str_copy(w.addr, "192.0.2.9", sizeof(w.addr));
	w.max_frame = FRAME_MAX_DEFAULT;
	w.handshake_done = w.hello_done = w.have_nonce = 1;
	w.welcome_sent = w.logged_in = 1;
	return 0;
}

static int
teardown(void **state)
{
	bufferevent_free(w.client);
	bufferevent_free(w.broker);
	(void)close(client_peer);
	(void)close(broker_peer);
	evbuffer_free(w.cork);
	evbuffer_free(w.bcork);
	event_free(w.handshake_ev);
	event_free(w.login_ev);
	event_free(w.rekey_ev);
	event_free(w.idle_ev);
	event_free(w.keyupdate_ev);
	event_free(w.trim_ev);
	event_free(w.gone_ev);
	event_base_free(w.base);
	memset(&w, 0, sizeof(w));
	return 0;
}

/*
 * The broker sends count NOTICEs in one write, as its fan-out does (one
 * write per frame would fill the socket with small buffers); sent keeps
 * a copy of the bytes.
 */
static void
broker_sends(struct evbuffer *sent, int first, int count)
{
	struct frame_buf	 b;
	char			 text[NOTICE_TEXT + 1];
	uint8_t			*p;
	size_t			 len, off;
	ssize_t			 n;
	int			 i;

	off = evbuffer_get_length(sent);
	for (i = first; i < first + count; i++) {
		memset(text, 'a' + i % 26, NOTICE_TEXT);
		(void)snprintf(text, sizeof(text), "notice %06d", i);
		text[strlen(text)] = ' ';
		text[NOTICE_TEXT] = '\0';
		frame_begin(&b, MSG_NOTICE, FRAME_MAX_DEFAULT);
		frame_put_str(&b, F_TEXT, text);
		assert_int_equal(frame_finish(&b), 0);
		assert_int_equal(evbuffer_add(sent, b.data, b.len), 0);
		frame_buf_free(&b);
	}
	len = evbuffer_get_length(sent) - off;
	assert_non_null(p = evbuffer_pullup(sent, -1));
	while (len > 0) {
		n = write(broker_peer, p + off, len);
		assert_true(n > 0);
		off += (size_t)n;
		len -= (size_t)n;
	}
}

/* A read event as libevent 2.1 handles it: at most 4096 bytes. */
static int
libevent_read(void)
{
	struct evbuffer	*in = bufferevent_get_input(w.broker);
	int		 n;

	assert_int_equal(evbuffer_unfreeze(in, 0), 0);
	n = evbuffer_read(in, bufferevent_getfd(w.broker), -1);
	assert_int_equal(evbuffer_freeze(in, 0), 0);
	assert_true(n <= LIBEVENT_READ_MAX);
	return n;
}

static int
waiting(int fd)
{
	int	 n;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

static size_t
relayed(void)
{
	return evbuffer_get_length(bufferevent_get_output(w.client));
}

/* The client's output is exactly what the broker sent, in order. */
static void
assert_relayed(struct evbuffer *sent)
{
	struct evbuffer	*out = bufferevent_get_output(w.client);
	size_t		 len = evbuffer_get_length(sent);

	assert_int_equal(evbuffer_get_length(out), len);
	assert_memory_equal(evbuffer_pullup(out, -1), evbuffer_pullup(sent, -1),
	    len);
}

/* 40 frames, 20 KiB: one wake takes them all. */
static void
test_whole_batch(void **state)
{
	struct evbuffer	*sent = evbuffer_new();

	assert_non_null(sent);
	broker_sends(sent, 0, 40);
	assert_true(evbuffer_get_length(sent) > 4 * LIBEVENT_READ_MAX);
	assert_int_equal(libevent_read(), LIBEVENT_READ_MAX);
	broker_read_cb(w.broker, NULL);
	assert_int_equal(waiting(bufferevent_getfd(w.broker)), 0);
	assert_int_equal(evbuffer_get_length(bufferevent_get_input(w.broker)),
	    0);
	assert_relayed(sent);
	assert_true(evtimer_pending(w.trim_ev, NULL));
	evbuffer_free(sent);
}

/* 200 frames, 100 KiB: BROKER_READ_MAX more a wake, all of it in the end. */
static void
test_bounded(void **state)
{
	struct evbuffer	*sent = evbuffer_new();
	int		 wakes;

	assert_non_null(sent);
	broker_sends(sent, 0, 200);
	assert_true(evbuffer_get_length(sent) > LIBEVENT_READ_MAX +
	    BROKER_READ_MAX);
	assert_int_equal(libevent_read(), LIBEVENT_READ_MAX);
	broker_read_cb(w.broker, NULL);
	assert_true(relayed() > LIBEVENT_READ_MAX);
	assert_true(relayed() <= LIBEVENT_READ_MAX + BROKER_READ_MAX);
	assert_true(waiting(bufferevent_getfd(w.broker)) > 0);
	for (wakes = 1; wakes < WAKES_MAX &&
	    waiting(bufferevent_getfd(w.broker)) > 0; wakes++) {
		assert_true(libevent_read() > 0);
		broker_read_cb(w.broker, NULL);
	}
	assert_true(wakes <= 3);
	assert_relayed(sent);
	evbuffer_free(sent);
}

/* A batch libevent reads whole: no second read, no trim. */
static void
test_small_batch(void **state)
{
	struct evbuffer	*sent = evbuffer_new();

	assert_non_null(sent);
	broker_sends(sent, 0, 3);
	assert_true(evbuffer_get_length(sent) < LIBEVENT_READ_MAX);
	assert_int_equal(libevent_read(), (int)evbuffer_get_length(sent));
	broker_read_cb(w.broker, NULL);
	assert_relayed(sent);
	assert_false(evtimer_pending(w.trim_ev, NULL));
	evbuffer_free(sent);
}

/* The broker's last batch, then its end: the batch whole, the end left. */
static void
test_end_of_link(void **state)
{
	struct evbuffer	*sent = evbuffer_new();

	assert_non_null(sent);
	broker_sends(sent, 0, 20);
	assert_int_equal(shutdown(broker_peer, SHUT_WR), 0);
	assert_int_equal(libevent_read(), LIBEVENT_READ_MAX);
	broker_read_cb(w.broker, NULL);
	assert_relayed(sent);
	assert_false(w.closing);
	/* The bufferevent's next read meets the end and reports it. */
	assert_int_equal(libevent_read(), 0);
	evbuffer_free(sent);
}

/*
 * A worker closing (its client sent what it may not) reads no more from
 * the broker: what the broker still sends would only pile up unsent, and
 * the broker, seeing the link drain, would send more.
 */
static void
test_closing_reads_no_more(void **state)
{
	struct evbuffer	*sent = evbuffer_new();
	size_t		 before;

	assert_non_null(sent);
	broker_sends(sent, 0, 3);
	assert_int_equal(libevent_read(), (int)evbuffer_get_length(sent));
	broker_read_cb(w.broker, NULL);
	assert_relayed(sent);
	close_after_flush();
	assert_true(w.closing);
	assert_false(bufferevent_get_enabled(w.broker) & EV_READ);
	/* A read libevent had under way: no more is pulled after it. */
	broker_sends(sent, 3, 200);
	assert_int_equal(libevent_read(), LIBEVENT_READ_MAX);
	before = evbuffer_get_length(bufferevent_get_input(w.broker));
	broker_read_cb(w.broker, NULL);
	assert_int_equal(evbuffer_get_length(bufferevent_get_input(w.broker)),
	    before);
	assert_true(waiting(bufferevent_getfd(w.broker)) > 0);
	event_free(w.close_ev);
	evbuffer_free(sent);
}

/*
 * A worker ending with client frames the broker has not taken waits for
 * them to go, and meanwhile reads and drops what the broker sends: a
 * broker whose output to the worker is full reads no more from it.
 */
static void
owing_reads_broker(int client_busy)
{
	bufferevent_data_cb	 readcb;
	struct evbuffer		*sent = evbuffer_new();
	uint8_t			 fill[4096];
	int			 fd = bufferevent_getfd(w.broker);

	assert_non_null(sent);
	memset(fill, 0, sizeof(fill));
	/* The broker's socket is full: what the worker owes waits. */
	while (write(fd, fill, sizeof(fill)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(evbuffer_add(w.bcork, fill, 1000), 0);
	if (client_busy)
		/* The client has yet to take an ERROR: that goes first. */
		assert_int_equal(bufferevent_write(w.client, fill, 100), 0);
	close_after_flush();
	assert_int_equal(w.ending, !client_busy);
	assert_true(broker_owed());
	assert_true(bufferevent_get_enabled(w.broker) & EV_READ);
	bufferevent_getcb(w.broker, &readcb, NULL, NULL, NULL);
	assert_ptr_equal(readcb, broker_discard_cb);
	broker_sends(sent, 0, 3);
	assert_int_equal(libevent_read(), (int)evbuffer_get_length(sent));
	broker_discard_cb(w.broker, NULL);
	assert_int_equal(evbuffer_get_length(bufferevent_get_input(w.broker)),
	    0);
	/* Nothing of it went to the client. */
	assert_int_equal(evbuffer_get_length(bufferevent_get_output(w.client)),
	    client_busy ? 100 : 0);
	event_free(w.close_ev);
	evbuffer_free(sent);
}

static void
test_ending_drops_broker_frames(void **state)
{
	owing_reads_broker(0);
}

/* The same while the client's last frames still drain: from the start. */
static void
test_closing_owing_reads_broker(void **state)
{
	owing_reads_broker(1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_whole_batch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closing_reads_no_more,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_batch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_end_of_link, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ending_drops_broker_frames,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_closing_owing_reads_broker,
		    setup, teardown),
	};

	log_init(1, LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
