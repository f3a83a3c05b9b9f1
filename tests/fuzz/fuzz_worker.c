/*
 * fuzz_worker.c: libFuzzer harness for what a worker decodes: its client's
 * frames in each phase, and the broker's frames.  The worker's functions
 * are static around one state, so this file includes worker.c and drives
 * its read callbacks on socket pairs, without TLS and without a sandbox.
 * The state is what worker_run makes in a forked worker: the timers, the
 * corks for the broker's frames and for the broker, an SSL object that
 * never handshakes (the
 * worker holds no key: the key process signs, keysign.c, and no input here
 * reaches a handshake).
 */
#include "worker.c"

#include <setjmp.h>

#include "fuzz.h"

enum mode {
	MODE_HELLO,	/* a client before HELLO */
	MODE_WELCOMED,	/* a client after WELCOME, before login */
	MODE_LOGGED_IN,	/* a client after LOGGED_IN */
	MODE_BROKER,	/* the broker, which may end the worker with fatalx */
	MODE_COUNT
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static jmp_buf	 fatal_jmp;
static int	 fatal_armed;
static int	 broker_peer = -1;	/* the broker's end of w.broker */

static void
fatal_cb(void)
{
	if (fatal_armed)
		longjmp(fatal_jmp, 1);
}

static void
setup(void)
{
	fuzz_setup();
	log_fatal_hook(fatal_cb);
	if ((w.cork = evbuffer_new()) == NULL ||
	    (w.bcork = evbuffer_new()) == NULL ||
	    (w.base = event_base_new()) == NULL || timers_new() == -1 ||
	    (w.ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    (w.ssl = SSL_new(w.ctx)) == NULL)
		abort();
	(void)str_copy(w.addr, "192.0.2.9", sizeof(w.addr));
	w.max_frame = FRAME_MAX_DEFAULT;
	w.handshake_timeout = 10;
	w.idle_timeout = 300;
	w.rekey_min = 30;
	w.rekey_max = 120;
	w.handshake_done = 1;
}

/* A bufferevent on a socket pair; peer, if not NULL, keeps the other end. */
static struct bufferevent *
bev_new(int *peer)
{
	struct bufferevent	*bev;
	int			 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1 ||
	    (bev = bufferevent_socket_new(w.base, sp[0],
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		abort();
	if (peer == NULL)
		(void)close(sp[1]);
	else if (fd_set_nonblock(sp[1]) == -1)
		abort();
	else
		*peer = sp[1];
	return bev;
}

/* Bytes arrive on bev as its socket would bring them. */
static void
arrive(struct bufferevent *bev, const uint8_t *p, size_t len)
{
	struct evbuffer	*in = bufferevent_get_input(bev);

	if (evbuffer_unfreeze(in, 0) == -1 ||
	    (len > 0 && evbuffer_add(in, p, len) == -1) ||
	    evbuffer_freeze(in, 0) == -1)
		abort();
}

/*
 * The oracle: what the worker passed to the broker is whole, valid
 * frames, each one the phase permits.  Nothing before WELCOME; only
 * LOGIN and REGISTER before login; never HELLO, PING or PONG.
 */
static void
check_relayed(int welcomed, int logged_in)
{
	struct evbuffer	*out, *queued = bufferevent_get_output(w.broker);
	struct frame	 f;
	uint8_t		*p;
	size_t		 flen;
	int		 n;

	/* What the worker wrote to the socket itself, then what it queued. */
	if ((out = evbuffer_new()) == NULL)
		abort();
	while ((n = evbuffer_read(out, broker_peer, 65536)) > 0)
		;
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
		abort();
	if (evbuffer_unfreeze(queued, 1) == -1 ||
	    evbuffer_add_buffer(out, queued) == -1)
		abort();
	while (evbuffer_get_length(out) > 0) {
		if (!welcomed)
			abort();
		if (frame_evbuffer_next(out, w.max_frame, proto_worker_spec, &f,
		    &p, &flen) != FRAME_OK)
			abort();
		if ((f.type == MSG_LOGIN || f.type == MSG_REGISTER) ==
		    logged_in)
			abort();
		if (evbuffer_drain(out, flen) == -1)
			abort();
	}
	evbuffer_free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };
	uint8_t		 mode, flags;
	int		 welcomed, logged_in;

	if (w.base == NULL)
		setup();
	fuzz_rand_reset();
	mode = fuzz_u8(&in) % MODE_COUNT;
	flags = fuzz_u8(&in);
	w.client = bev_new(NULL);
	w.broker = bev_new(&broker_peer);
	w.closing = 0;
	w.client_gone = 0;
	w.ending = 0;
	w.ping_outstanding = 0;
	w.last_rx_ms = now_ms();
	w.hello_done = mode != MODE_HELLO;
	w.welcome_sent = mode != MODE_HELLO;
	w.have_nonce = mode != MODE_HELLO || (flags & 1);
	w.logged_in = mode == MODE_LOGGED_IN;
	memset(w.nonce, 0x6e, sizeof(w.nonce));
	if (mode == MODE_BROKER) {
		/* A challenge may or may not have come, WELCOME gone or not. */
		w.have_nonce = flags & 1;
		w.hello_done = (flags & 2) != 0;
		w.welcome_sent = w.hello_done && w.have_nonce;
		arrive(w.broker, in.p, in.len);
		fatal_armed = 1;
		if (setjmp(fatal_jmp) == 0) {
			broker_read_cb(w.broker, NULL);
			/* What one wake corked went out before it returned. */
			if (evbuffer_get_length(w.cork) != 0)
				abort();
		}
		fatal_armed = 0;
		/* A fatalx may leave the cork full; that worker is gone. */
		if (evbuffer_drain(w.cork, evbuffer_get_length(w.cork)) == -1)
			abort();
	} else {
		arrive(w.client, in.p, in.len);
		welcomed = w.welcome_sent;
		logged_in = w.logged_in;
		client_read_cb(w.client, NULL);
		/* A frame relayed before WELCOME would show here. */
		check_relayed(welcomed || w.welcome_sent, logged_in);
	}
	if (w.close_ev != NULL)
		event_free(w.close_ev);
	w.close_ev = NULL;
	/* No deadline may fire in the loop below: it would end the worker. */
	(void)evtimer_del(w.handshake_ev);
	(void)evtimer_del(w.login_ev);
	(void)evtimer_del(w.rekey_ev);
	(void)evtimer_del(w.idle_ev);
	(void)evtimer_del(w.keyupdate_ev);
	(void)evtimer_del(w.trim_ev);
	bufferevent_free(w.client);
	bufferevent_free(w.broker);
	w.client = w.broker = NULL;
	(void)close(broker_peer);
	broker_peer = -1;
	/* libevent closes freed bufferevents' sockets in its loop. */
	if (event_base_loop(w.base, EVLOOP_NONBLOCK) == -1)
		abort();
	return 0;
}
