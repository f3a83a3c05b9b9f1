/*
 * keepalive.c: noticing a dead or frozen server.  When nothing has come
 * from the server for a while we PING it; if nothing at all arrives by a
 * deadline, the connection is given up and the session reconnects.
 */
#include "config.h"

#include <string.h>

#include <event2/event.h>

#include <openssl/crypto.h>

#include "client.h"
#include "crypto.h"
#include "frame.h"
#include "log.h"
#include "proto.h"

/*
 * Quiet for a third of the server's idle timeout (so that our PING also
 * keeps the server from timing us out), between 2 and 30 s; then twice
 * that, between 5 and 15 s, for an answer.
 */
static unsigned
interval_s(const struct client *c)
{
	unsigned	 s = c->idle_timeout / 3;

	if (s < KEEPALIVE_MIN_S)
		s = KEEPALIVE_MIN_S;
	if (s > KEEPALIVE_MAX_S || c->idle_timeout == 0)
		s = KEEPALIVE_MAX_S;
	return s;
}

unsigned
keepalive_deadline_s(const struct client *c)
{
	unsigned	 s = 2 * interval_s(c);

	if (s < KEEPALIVE_DEADLINE_MIN_S)
		s = KEEPALIVE_DEADLINE_MIN_S;
	if (s > KEEPALIVE_DEADLINE_MAX_S)
		s = KEEPALIVE_DEADLINE_MAX_S;
	return s;
}

static void
arm(struct client *c, uint64_t due_us)
{
	struct timeval	 tv;
	uint64_t	 now = conn_now_us(), wait;

	c->ka_due_us = due_us;
	wait = due_us > now ? due_us - now : 0;
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	if (evtimer_add(c->ev_keepalive, &tv) == -1)
		fatalx("evtimer_add");
}

static void
keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client		*c = arg;
	struct frame_buf	 b;
	uint64_t		 now = conn_now_us();
	uint64_t		 quiet_us = interval_s(c) * 1000000ULL;
	uint64_t		 deadline_us = keepalive_deadline_s(c) * 1000000ULL;

	if (c->state != CS_READY)
		return;
	/*
	 * Much later than due: this process was stopped.  What the server
	 * said meanwhile (an ERROR TIMEOUT, a PONG) is read first; writing
	 * first to a server that closed would reset the connection and
	 * lose it.
	 */
	if (now > c->ka_due_us + KEEPALIVE_LATE_US) {
		arm(c, now + KEEPALIVE_LATE_US / 4);
		return;
	}
	if (c->ka_outstanding) {
		if (now - c->ka_sent_us < deadline_us) {
			arm(c, c->ka_sent_us + deadline_us);
			return;
		}
		c->ka_outstanding = 0;
		conn_drop(c, "TIMEOUT", "no answer from %s for %u seconds",
		    c->hostport, keepalive_deadline_s(c));
		return;
	}
	if (now - c->ka_last_rx_us < quiet_us) {
		arm(c, c->ka_last_rx_us + quiet_us);
		return;
	}
	if (crypto_random(c->ka_token, sizeof(c->ka_token)) == -1)
		fatalx("crypto_random");
	frame_begin(&b, MSG_PING, c->max_frame);
	frame_put_bytes(&b, F_TOKEN, c->ka_token, sizeof(c->ka_token));
	conn_send(c, &b);
	c->ka_outstanding = 1;
	c->ka_sent_us = now;
	arm(c, now + deadline_us);
}

/* Logged in: start watching. */
void
keepalive_start(struct client *c)
{
	if (c->ev_keepalive == NULL &&
	    (c->ev_keepalive = evtimer_new(c->base, keepalive_cb, c)) == NULL)
		fatalx("evtimer_new");
	c->ka_outstanding = 0;
	c->ka_last_rx_us = conn_now_us();
	arm(c, c->ka_last_rx_us + interval_s(c) * 1000000ULL);
}

void
keepalive_stop(struct client *c)
{
	if (c->ev_keepalive != NULL)
		(void)event_del(c->ev_keepalive);
	c->ka_outstanding = 0;
}

/* Anything from the server shows it is alive. */
void
keepalive_seen(struct client *c)
{
	c->ka_last_rx_us = conn_now_us();
	c->ka_outstanding = 0;
}

/*
 * After a stop (Ctrl-Z, SIGSTOP, a suspended laptop) the connection may
 * be long dead: ask at once rather than after the next interval.
 */
void
keepalive_probe(struct client *c)
{
	if (c->state != CS_READY || c->ev_keepalive == NULL ||
	    c->ka_outstanding)
		return;
	c->ka_last_rx_us = 0;
	arm(c, conn_now_us() + KEEPALIVE_LATE_US / 4);
}

/* 1 if the PONG answers our keepalive. */
int
keepalive_pong(struct client *c, const uint8_t *tok, size_t len)
{
	return len == sizeof(c->ka_token) &&
	    CRYPTO_memcmp(tok, c->ka_token, len) == 0;
}

void
keepalive_free(struct client *c)
{
	if (c->ev_keepalive != NULL)
		event_free(c->ev_keepalive);
	c->ev_keepalive = NULL;
}
