/*
 * fuzz-client.c: the client the client harnesses drive (fuzz-client.h).
 * Everything goes through the client's own functions; the harness only
 * plays the parts main() and the TLS layer would.
 */
#include "config.h"

#include <sys/socket.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "client.h"
#include "e2e-client.h"
#include "fuzz-client.h"
#include "fuzz.h"
#include "util.h"
#include "xmalloc.h"

/* Inputs between two fresh E2E states. */
#define FUZZ_CLIENT_RESET	64

static char	*files[3];
/*
 * The server's end stays open through an input: on a closed one the
 * client would hold every write back (conn.c, peer_closed), and no input
 * would reach the write path a live connection takes.
 */
static int	 server = -1;

struct client *
fuzz_client_new(void)
{
	struct client	*c;
	int		 fd;

	/*
	 * The client's words go nowhere; the stream, not descriptor 2, so
	 * that libFuzzer and the sanitizers are still heard.
	 */
	if (getenv("FUZZ_VERBOSE") == NULL) {
		if ((fd = open("/dev/null", O_WRONLY)) == -1 ||
		    dup2(fd, STDOUT_FILENO) == -1 || close(fd) == -1 ||
		    (stderr = fopen("/dev/null", "w")) == NULL)
			abort();
	}
	c = xcalloc(1, sizeof(*c));
	c->home = fuzz_tmpdir("fuzz-client");
	(void)str_copy(c->user, FUZZ_ME, sizeof(c->user));
	(void)str_copy(c->host, FUZZ_HOST, sizeof(c->host));
	c->port = FUZZ_PORT;
	(void)snprintf(c->hostport, sizeof(c->hostport), "%s:%u", c->host,
	    c->port);
	(void)xasprintf(&c->known_file, "%s/known_servers", c->home);
	c->batch = 1;
	settings_defaults(&c->set);
	out_init(0, 0);
	fuzz_rand_reset();
	if (session_init(c) == -1 || (c->base = event_base_new()) == NULL)
		abort();
	view_init(c);
	if (conn_init(c) == -1)
		abort();
	/* What a session may write, removed after each input. */
	(void)xasprintf(&files[0], "%s/known_users", c->home);
	files[1] = xstrdup(c->e2e->state_file);
	files[2] = xstrdup(c->seen_file);
	return c;
}

void
fuzz_client_begin(struct client *c, int state, int json)
{
	static unsigned long	 inputs;
	size_t			 i;
	int			 sp[2];

	/*
	 * Forget what earlier inputs taught (pins, chains, peers), without
	 * writing it; not each time: loading the prekeys verifies their
	 * signatures, which would cost more than most inputs.
	 */
	if (inputs++ % FUZZ_CLIENT_RESET == 0) {
		c->e2e->dirty = 0;
		e2ec_free(c);
		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			(void)unlink(files[i]);
		if (e2ec_init(c) == -1)
			abort();
		/*
		 * Only here: our own new chains' ids must not repeat while
		 * the state that holds the old ones lives on.
		 */
		fuzz_rand_reset();
	}
	seen_free(&c->seen);
	outbox_clear(&c->outbox);
	c->room[0] = '\0';
	c->state = state;
	c->logged_in_once = state == CS_READY;
	c->exit_status = EXIT_OK;
	c->no_reconnect = c->restart_pending = c->server_error = 0;
	c->registering = 0;
	c->held = c->careful = 0;
	c->unsaved = c->untold = 0;
	c->save_due_ms = c->tell_due_ms = c->armed_due_ms = 0;
	c->attempt = 0;
	c->input_eof = c->input_skip = c->input_paused = 0;
	c->max_frame = FRAME_MAX_DEFAULT;
	c->rekey_min_s = E2EC_REKEY_MIN_S;
	c->rekey_max_s = E2EC_REKEY_MAX_S;
	c->json = json;
	out_init(json, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1 ||
	    (c->bev = bufferevent_socket_new(c->base, sp[0],
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		abort();
	server = sp[1];
}

static void
timer_stop(struct event *ev)
{
	if (ev != NULL)
		(void)event_del(ev);
}

void
fuzz_client_end(struct client *c)
{
	struct ping	*p;

	input_stop(c);
	timer_stop(c->ev_hold);
	timer_stop(c->ev_delivered);
	timer_stop(c->ev_progress);
	timer_stop(c->ev_reconnect);
	timer_stop(c->e2e->ev_prekey);
	while ((p = TAILQ_FIRST(&c->pings)) != NULL) {
		TAILQ_REMOVE(&c->pings, p, entry);
		free(p);
	}
	conn_reset(c);
	complete_free();
	/* libevent closes a freed bufferevent's socket in its loop. */
	if (event_base_loop(c->base, EVLOOP_NONBLOCK) == -1)
		abort();
	if (server != -1)
		(void)close(server);
	server = -1;
}

void
fuzz_client_free(struct client *c)
{
	size_t	 i;

	/* What main() frees on the way out. */
	fuzz_client_end(c);
	c->e2e->dirty = 0;
	view_free(c);
	chat_free(c);
	session_free(c);
	conn_free(c);
	complete_free();
	if (c->ev_progress != NULL)
		event_free(c->ev_progress);
	event_base_free(c->base);
	free(c->known_file);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		free(files[i]);
	free(c);
}
