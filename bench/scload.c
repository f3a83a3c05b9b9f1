/*
 * scload.c: a load generator for securechatd, and for IRC servers to
 * compare it with.  N TLS clients log in and join rooms, S of them send at
 * a set rate (paced) or as fast as a window allows (flood); reports
 * connects per second, end-to-end fan-out latency, delivered messages per
 * second and, with -S, the server's CPU and memory over its process tree.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "crypto.h"
#include "ptree.h"
#include "scload.h"
#include "tls.h"
#include "util.h"
#include "xmalloc.h"

#define INFLIGHT_DEFAULT 50		/* connects+logins under way at once */
#define WINDOW_DEFAULT	16		/* flood: incomplete messages a sender */
#define WINDOW_MAX	4096
#define TICK_US		1000		/* sender clock */
#define DRAIN_SECS	30		/* wait for the last deliveries */
#define HOLD_SECS	120		/* wait for the memory measurement */
#define SLACK_SECS	120		/* hard timeout: duration + this ... */
#define SLACK_PER_CLIENT_MS 50		/* ... + this per client */
#define MAX_LATENCIES	(64u * 1024 * 1024)

enum { CPU_START, CPU_CONNECTED, CPU_JOINED, CPU_DRAINED };

static const char *phase_names[] = {
	"connect", "join", "send", "drain", "hold", "done"
};

struct load load;

static void	launch_more(void);
static void	advance(void);
static void	finish(void);
static void	hold_start(void);
static void	flood_send(int);

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: scload [-FjNX] -p port [-b body] [-c inflight] [-d seconds]\n"
	    "              [-H seconds] [-M marker] [-n clients] "
	    "[-P securechat|irc]\n"
	    "              [-R rate] [-r rooms] [-S pid] [-s senders] "
	    "[-t seconds]\n"
	    "              [-W window]\n");
	exit(2);
}

static long long
number(const char *s, long long lo, long long hi, const char *what)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
		fprintf(stderr, "scload: %s: bad %s (%lld..%lld)\n", s, what,
		    lo, hi);
		exit(2);
	}
	return v;
}

/* CLOCK_MONOTONIC in nanoseconds: the clock of every timestamp here. */
uint64_t
load_now(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		abort();
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static double
secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static double
msecs(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Remember the first reason the run went wrong. */
void
load_trouble(const char *fmt, ...)
{
	va_list	 ap;

	load.status = 1;
	if (load.why[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(load.why, sizeof(load.why), fmt, ap);
	va_end(ap);
}

void
load_write(struct client *c, const void *p, size_t len)
{
	if (c->bev != NULL && bufferevent_write(c->bev, p, len) == -1)
		load_trouble("%s: cannot queue %zu bytes", c->name, len);
}

/* Counted by name, in the order first seen. */
void
load_error(const char *name)
{
	int	 i;

	for (i = 0; i < MAX_ERR_NAMES && load.errors[i].name[0] != '\0'; i++)
		if (strcmp(load.errors[i].name, name) == 0) {
			load.errors[i].n++;
			return;
		}
	if (i == MAX_ERR_NAMES ||
	    str_copy(load.errors[i].name, name, sizeof(load.errors[i].name)) ==
	    -1) {
		load.errors_other++;
		return;
	}
	load.errors[i].n = 1;
}

/* Deliveries a message of c's is due: the members connected now. */
static uint32_t
due_per_message(const struct client *c)
{
	int	 m = load.room_members[c->roomno];

	if (!load.proto->self_delivery && c->joined)
		m--;
	return m > 0 ? (uint32_t)m : 0;
}

/* The sender's oldest messages that are complete leave its window. */
static void
window_advance(int s)
{
	struct sender	*sd = &load.snd[s];

	while (sd->done_seq < sd->next_seq &&
	    sd->remaining[sd->done_seq % load.window] == 0)
		sd->done_seq++;
}

/* Message seq (its low 32 bits) of sender s reached one more member. */
static void
window_delivered(int s, uint32_t seq32)
{
	struct sender	*sd = &load.snd[s];
	uint64_t	 seq;
	uint32_t	*slot;

	seq = sd->done_seq + (uint32_t)(seq32 - (uint32_t)sd->done_seq);
	if (seq >= sd->next_seq)
		return;			/* not in the window: complete */
	slot = &sd->remaining[seq % load.window];
	if (*slot > 0)
		(*slot)--;
	window_advance(s);
	flood_send(s);
}

/*
 * A member of room r left while messages were under way: each incomplete
 * one now waits for one member fewer.  (For one it already had, that
 * frees the slot early; the run has failed anyway, this only keeps the
 * window from stalling until the end.)
 */
static void
window_relax(int r)
{
	struct sender	*sd;
	uint64_t	 q;
	uint32_t	*slot;
	int		 s;

	if (load.mode != MODE_FLOOD)
		return;
	for (s = 0; s < load.senders; s++) {
		if (load.cl[s].roomno != r)
			continue;
		sd = &load.snd[s];
		for (q = sd->done_seq; q < sd->next_seq; q++) {
			slot = &sd->remaining[q % load.window];
			if (*slot > 0)
				(*slot)--;
		}
		window_advance(s);
		flood_send(s);
	}
}

/* One client is gone: its slot stays, its counters move. */
void
load_close(struct client *c, const char *why)
{
	if (c->state == CS_CLOSED)
		return;
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->state < CS_LOGGED_IN) {
		load.inflight--;
		load.failed++;
		load_trouble("%s: %s before login", c->name, why);
	} else {
		load.alive--;
		load.disconnects++;
		if (load.phase < PH_HOLD ||
		    (load.phase == PH_HOLD && load.hold_secs > 0))
			load_trouble("%s: %s in phase %s", c->name, why,
			    phase_names[load.phase]);
	}
	c->state = CS_CLOSED;
	if (c->joined) {
		c->joined = 0;
		load.joined--;
		load.room_members[c->roomno]--;
		if (load.phase == PH_SEND || load.phase == PH_DRAIN)
			window_relax(c->roomno);
	}
	if (load.phase == PH_CONNECT)
		launch_more();
	advance();
}

void
load_logged_in(struct client *c)
{
	c->state = CS_LOGGED_IN;
	c->t_login = load_now();
	load.inflight--;
	load.logged_in++;
	load.alive++;
	if (c->t_login > load.t_connected)
		load.t_connected = c->t_login;
	launch_more();
	advance();
}

/* A join was announced to c; own: it is c's own. */
void
load_join_seen(struct client *c, int own)
{
	load.joins_seen++;
	if (!own || c->joined)
		return;
	c->joined = 1;
	load.joined++;
	load.room_members[c->roomno]++;
	advance();
}

static void
latency_add(uint64_t ns)
{
	if (load.nlat == load.latcap) {
		if (load.latcap >= MAX_LATENCIES)
			return;
		load.latcap = load.latcap == 0 ? 65536 : load.latcap * 2;
		load.lat = xreallocarray(load.lat, load.latcap,
		    sizeof(*load.lat));
	}
	load.lat[load.nlat++] = ns;
}

/*
 * A chat message reached c.  ts: its send time (0 if the body was not
 * ours); sender and seq32 name it for the flood window (sender -1: not).
 */
void
load_delivered(struct client *c, uint64_t ts, int sender, uint32_t seq32)
{
	uint64_t	 now = load_now();

	(void)c;
	load.delivered++;
	load.t_last_rx = now;
	if (ts != 0 && ts <= now && ts >= load.t_send)
		latency_add(now - ts);
	if (load.mode == MODE_FLOOD && sender >= 0 && sender < load.senders)
		window_delivered(sender, seq32);
}

/* The server took c's oldest unanswered message (securechat's ACK). */
void
load_accepted(struct client *c)
{
	load.acked++;
	/* Every connected member of the room, the sender too if it gets it. */
	load.expected += due_per_message(c);
	if (c->idx < load.senders)
		load.snd[c->idx].resp_seq++;
}

/* The server refused c's oldest unanswered message: send it again later. */
void
load_refused(struct client *c, uint32_t retry_ms)
{
	struct sender	*sd;

	if (retry_ms == 0)
		retry_ms = 1;
	c->blocked_until = load_now() + (uint64_t)retry_ms * 1000000;
	load.rejected++;
	if (c->idx >= load.senders)
		return;
	sd = &load.snd[c->idx];
	if (load.mode == MODE_PACED) {
		c->backlog++;
	} else if (sd->resp_seq >= sd->done_seq &&
	    sd->resp_seq < sd->next_seq) {
		/* It will never arrive: its slot is free. */
		sd->remaining[sd->resp_seq % load.window] = 0;
	}
	sd->resp_seq++;
	if (load.mode == MODE_FLOOD)
		window_advance(c->idx);	/* sends again after retry_ms */
}

/* Send one message of c's now; without ACKs, it is expected now too. */
static void
send_one(struct client *c)
{
	struct sender	*sd = &load.snd[c->idx];
	uint64_t	 seq = sd->next_seq++;
	uint32_t	 due = due_per_message(c);

	if (load.mode == MODE_FLOOD)
		sd->remaining[seq % load.window] = due;
	if (!load.proto->has_ack)
		load.expected += due;
	load.sent++;
	load.proto->message(c, load_now(), c->idx, seq);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	(void)bev;
	if (c->bev != NULL)
		load.proto->input(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;
	unsigned long	 e;
	char		 buf[256], why[300];

	if (what & BEV_EVENT_CONNECTED) {
		load.proto->start(c);
		return;
	}
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
		return;
	/* An ERROR frame may sit in front of the close. */
	read_cb(bev, c);
	if (c->bev == NULL)
		return;
	buf[0] = '\0';
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (ERR_GET_LIB(e) != 0 && buf[0] == '\0')
			ERR_error_string_n(e, buf, sizeof(buf));
	if (buf[0] == '\0' && (what & BEV_EVENT_ERROR) &&
	    EVUTIL_SOCKET_ERROR() != 0)
		(void)str_copy(buf, strerror(EVUTIL_SOCKET_ERROR()),
		    sizeof(buf));
	(void)snprintf(why, sizeof(why), "%s%s%s",
	    c->state == CS_TLS ? "connect or TLS handshake failed" :
	    (what & BEV_EVENT_EOF) ? "closed by the server" : "error",
	    buf[0] != '\0' ? ": " : "", buf);
	load_close(c, why);
}

static void
launch_more(void)
{
	struct client	*c;
	SSL		*ssl;
	int		 one = 1;

	while (load.phase == PH_CONNECT && load.launched < load.n &&
	    load.inflight < load.inflight_max) {
		c = &load.cl[load.launched++];
		c->t_start = load_now();
		if (load.t_first == 0)
			load.t_first = c->t_start;
		c->state = CS_TLS;
		load.inflight++;
		if ((ssl = SSL_new(load.ctx)) == NULL) {
			load_close(c, "SSL_new failed");
			continue;
		}
		c->bev = bufferevent_openssl_socket_new(load.base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			load_close(c, "cannot create a bufferevent");
			continue;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
		if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) == -1 ||
		    bufferevent_socket_connect(c->bev,
		    (struct sockaddr *)&load.sin, sizeof(load.sin)) == -1) {
			load_close(c, strerror(errno));
			continue;
		}
		/* Before the first byte: the ClientHello goes out unbatched. */
		if (load.nodelay && setsockopt(bufferevent_getfd(c->bev),
		    IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
			load_close(c, "cannot set TCP_NODELAY");
			continue;
		}
	}
}

/* Paced: hand out what is due, then let each unblocked sender send. */
static void
paced_run(uint64_t now)
{
	struct client	*c;
	uint64_t	 due, k;
	int		 i;

	if (load.phase == PH_SEND) {
		due = (uint64_t)((double)(now - load.t_send) * load.rate / 1e9);
		if (due > load.total)
			due = load.total;
		for (k = load.scheduled; k < due; k++)
			load.cl[k % (uint64_t)load.senders].backlog++;
		load.scheduled = due;
	}
	for (i = 0; i < load.senders; i++) {
		c = &load.cl[i];
		if (c->state != CS_LOGGED_IN) {
			c->backlog = 0;		/* its loss is reported */
			continue;
		}
		if (now < c->blocked_until)
			continue;
		for (; c->backlog > 0; c->backlog--)
			send_one(c);
	}
}

/*
 * Flood: sender s fills its window while the sending time lasts.  At most
 * one window per call: messages no one else is due (a room of one) are
 * complete at once, and the next tick sends the next window.
 */
static void
flood_send(int s)
{
	struct client	*c = &load.cl[s];
	struct sender	*sd = &load.snd[s];
	uint64_t	 now;

	if (load.mode != MODE_FLOOD || load.phase != PH_SEND)
		return;
	now = load_now();
	if (c->state != CS_LOGGED_IN || now < c->blocked_until ||
	    now >= load.t_send + (uint64_t)load.duration * NS)
		return;
	while (sd->next_seq - sd->done_seq < load.window)
		send_one(c);
	window_advance(s);
}

static uint64_t
backlog_total(void)
{
	uint64_t	 t = 0;
	int		 i;

	for (i = 0; i < load.senders; i++)
		t += load.cl[i].backlog;
	return t;
}

/* Sending is over: all of the paced schedule out, or the flood's time. */
static int
sending_done(uint64_t now)
{
	if (load.mode == MODE_FLOOD)
		return now >= load.t_send + (uint64_t)load.duration * NS;
	return load.scheduled >= load.total && backlog_total() == 0;
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t	 now = load_now();
	int		 s;

	(void)fd;
	(void)ev;
	(void)arg;
	switch (load.phase) {
	case PH_SEND:
	case PH_DRAIN:
		if (load.mode == MODE_PACED)
			paced_run(now);
		else
			for (s = 0; s < load.senders; s++)
				flood_send(s);	/* after a refusal's wait */
		if (load.phase == PH_DRAIN &&
		    now > load.t_sent + (uint64_t)load.drain_secs * NS) {
			load_trouble("drain: %" PRIu64 " of %" PRIu64
			    " messages acknowledged, %" PRIu64 " of %" PRIu64
			    " deliveries after %u s", load.acked, load.sent,
			    load.delivered, load.expected, load.drain_secs);
			load.t_drain = now;
			load.phase = PH_HOLD;
			hold_start();
			break;
		}
		advance();
		break;
	case PH_HOLD:
		if (load.marker != NULL) {
			if (access(load.marker, F_OK) == -1)
				finish();
			else if (now > load.t_drain + HOLD_SECS * NS) {
				load_trouble("nobody removed %s", load.marker);
				(void)unlink(load.marker);
				finish();
			}
		} else if (now >= load.t_drain + (uint64_t)load.hold_secs *
		    NS)
			finish();
		break;
	default:
		break;
	}
}

static void
tick_start(void)
{
	struct timeval	 tv = { 0, TICK_US };

	if (load.tick != NULL)
		return;
	if ((load.tick = event_new(load.base, -1, EV_PERSIST, tick_cb,
	    NULL)) == NULL || event_add(load.tick, &tv) == -1) {
		fprintf(stderr, "scload: cannot start the timer\n");
		exit(1);
	}
}

/*
 * The server's tree (-S): its CPU at phase boundaries; at the hold, its
 * memory too.  Reading /proc takes a moment; it happens between phases.
 */
static void
server_sample(int at)
{
	struct ptree_sample	 s;
	char			 err[256];

	if (load.server == 0)
		return;
	if (ptree_sample(load.server, at == CPU_DRAINED ? PTREE_PSS : 0, &s,
	    err, sizeof(err)) == -1) {
		load_trouble("server: %s", err);
		return;
	}
	load.cpu_at[at] = s.cpu_s;
	if (at == CPU_DRAINED) {
		load.measured = 1;
		load.srv_procs = s.procs;
		load.srv_pss_kib = s.pss_kib;
		load.srv_unreadable = s.unreadable;
		if (s.unreadable != 0)
			load_trouble("server: %d of %d processes' "
			    "smaps_rollup unreadable", s.unreadable, s.procs);
	}
}

static void
hold_start(void)
{
	FILE	*fp;

	server_sample(CPU_DRAINED);
	if (load.marker == NULL) {
		if (load.hold_secs == 0)
			finish();
		else {
			fprintf(stderr, "scload: %d clients connected; holding "
			    "%u s\n", load.alive, load.hold_secs);
			tick_start();
		}
		return;
	}
	if ((fp = fopen(load.marker, "w")) == NULL) {
		load_trouble("%s: %s", load.marker, strerror(errno));
		finish();
		return;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) == EOF) {
		load_trouble("%s: %s", load.marker, strerror(errno));
		finish();
		return;
	}
	fprintf(stderr, "scload: %d clients connected; holding until %s "
	    "is removed\n", load.alive, load.marker);
	tick_start();
}

/* Move to the next phase when this one is complete. */
static void
advance(void)
{
	uint64_t	 now;
	int		 i;

	switch (load.phase) {
	case PH_CONNECT:
		if (load.logged_in + load.failed < load.n)
			return;
		if (load.alive == 0) {
			load_trouble("no client logged in");
			finish();
			return;
		}
		server_sample(CPU_CONNECTED);
		load.phase = PH_JOIN;
		load.t_join = load_now();
		for (i = 0; i < load.n; i++)
			if (load.cl[i].state == CS_LOGGED_IN)
				load.proto->join(&load.cl[i]);
		break;
	case PH_JOIN:
		if (load.joined < load.alive)
			return;
		server_sample(CPU_JOINED);
		load.phase = PH_SEND;
		load.t_joined = load.t_send = load_now();
		tick_start();
		if (load.mode == MODE_FLOOD)
			for (i = 0; i < load.senders; i++)
				flood_send(i);
		break;
	case PH_SEND:
		if (!sending_done(load_now()))
			return;
		load.phase = PH_DRAIN;
		load.t_sent = load_now();
		/* FALLTHROUGH */
	case PH_DRAIN:
		if (backlog_total() > 0 || (load.proto->has_ack &&
		    load.acked + load.rejected < load.sent) ||
		    load.delivered < load.expected)
			return;
		now = load_now();
		load.t_drain = now;
		load.phase = PH_HOLD;
		hold_start();
		break;
	case PH_HOLD:
		if (load.alive == 0)
			finish();
		break;
	default:
		break;
	}
}

static void
finish(void)
{
	if (load.phase == PH_DONE)
		return;
	load.phase = PH_DONE;
	load.t_end = load_now();
	(void)event_base_loopexit(load.base, NULL);
}

static void
hard_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	load_trouble("hard timeout in phase %s", phase_names[load.phase]);
	finish();
}

static void
sigint_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	load_trouble("interrupted in phase %s", phase_names[load.phase]);
	finish();
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of a sorted array, nearest rank. */
static uint64_t
percentile(const uint64_t *v, size_t n, double p)
{
	size_t	 i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (i == 0)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

/* scload's own CPU seconds and peak resident memory (KiB). */
static double
client_usage(long *maxrss_kib)
{
	struct rusage	 ru;

	*maxrss_kib = 0;
	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	*maxrss_kib = ru.ru_maxrss;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

struct summary {
	uint64_t	 connect_ns, c50, c99, lat50, lat99, latmax;
	double		 cps, dps, join_s;
};

static void
summarise(struct summary *s)
{
	uint64_t	*conn, send_ns;
	size_t		 nconn = 0;
	int		 i;

	conn = xcalloc((size_t)load.n + 1, sizeof(*conn));
	for (i = 0; i < load.n; i++)
		if (load.cl[i].t_login != 0)
			conn[nconn++] = load.cl[i].t_login - load.cl[i].t_start;
	qsort(conn, nconn, sizeof(*conn), cmp_u64);
	s->c50 = percentile(conn, nconn, 50);
	s->c99 = percentile(conn, nconn, 99);
	free(conn);
	qsort(load.lat, load.nlat, sizeof(*load.lat), cmp_u64);
	s->lat50 = percentile(load.lat, load.nlat, 50);
	s->lat99 = percentile(load.lat, load.nlat, 99);
	s->latmax = load.nlat > 0 ? load.lat[load.nlat - 1] : 0;
	s->connect_ns = load.t_connected > load.t_first ?
	    load.t_connected - load.t_first : 0;
	s->cps = s->connect_ns > 0 ?
	    (double)load.logged_in / secs(s->connect_ns) : 0;
	send_ns = load.t_last_rx > load.t_send ?
	    load.t_last_rx - load.t_send : 0;
	s->dps = send_ns > 0 ? (double)load.delivered / secs(send_ns) : 0;
	s->join_s = load.t_joined > load.t_join ?
	    secs(load.t_joined - load.t_join) : 0.0;
}

static double
cpu_between(int from, int to)
{
	double	 d = load.cpu_at[to] - load.cpu_at[from];

	return d > 0 ? d : 0;
}

static void
report_json(const struct summary *s)
{
	double	 cpu;
	long	 rss;
	int	 i;

	printf("{\"clients\":%d,\"logged_in\":%d,\"failed\":%d,"
	    "\"registered\":%" PRIu64 ",\"rooms\":%d,\"senders\":%d,"
	    "\"rate\":%u,\"duration\":%u,"
	    "\"body\":%u,\"connect_s\":%.3f,\"connects_per_s\":%.1f,"
	    "\"login_p50_ms\":%.3f,\"login_p99_ms\":%.3f,"
	    "\"join_s\":%.3f,\"sent\":%" PRIu64 ",\"acked\":%" PRIu64
	    ",\"rate_limited\":%" PRIu64 ",\"delivered\":%" PRIu64
	    ",\"expected\":%" PRIu64 ",\"delivered_per_s\":%.1f,"
	    "\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,"
	    "\"latency_max_ms\":%.3f,\"disconnects\":%d,"
	    "\"bad_frames\":%" PRIu64 ",",
	    load.n, load.logged_in, load.failed, load.registrations,
	    load.rooms, load.senders, load.rate, load.duration, load.body,
	    secs(s->connect_ns), s->cps, msecs(s->c50), msecs(s->c99),
	    s->join_s, load.sent, load.acked, load.rejected, load.delivered,
	    load.expected, s->dps, msecs(s->lat50), msecs(s->lat99),
	    msecs(s->latmax), load.disconnects, load.bad_frames);
	cpu = client_usage(&rss);
	printf("\"proto\":\"%s\",\"mode\":\"%s\",\"window\":%u,"
	    "\"inflight\":%d,\"nodelay\":%s,\"sched\":\"%s\","
	    "\"alive\":%d,\"client_cpu_s\":%.2f,\"client_maxrss_kib\":%ld,",
	    load.proto->name, load.mode == MODE_FLOOD ? "flood" : "paced",
	    load.mode == MODE_FLOOD ? load.window : 0, load.inflight_max,
	    load.nodelay ? "true" : "false", load.realtime_on ? "fifo" :
	    "other", load.alive, cpu, rss);
	/* Phase boundaries on CLOCK_MONOTONIC, for perf report --time. */
	printf("\"mono_connect_s\":%.6f,\"mono_connected_s\":%.6f,"
	    "\"mono_send_s\":%.6f,\"mono_drained_s\":%.6f,",
	    secs(load.t_first), secs(load.t_connected), secs(load.t_send),
	    secs(load.t_drain));
	if (load.server != 0)
		printf("\"server_measured\":%s,\"server_procs\":%d,"
		    "\"server_pss_kib\":%" PRIu64 ",\"server_unreadable\":%d,"
		    "\"server_cpu_connect_s\":%.2f,\"server_cpu_join_s\":%.2f,"
		    "\"server_cpu_traffic_s\":%.2f,",
		    load.measured ? "true" : "false", load.srv_procs,
		    load.srv_pss_kib, load.srv_unreadable,
		    cpu_between(CPU_START, CPU_CONNECTED),
		    cpu_between(CPU_CONNECTED, CPU_JOINED),
		    cpu_between(CPU_JOINED, CPU_DRAINED));
	printf("\"errors\":{");
	for (i = 0; i < MAX_ERR_NAMES && load.errors[i].name[0] != '\0'; i++)
		printf("%s\"%s\":%" PRIu64, i == 0 ? "" : ",",
		    load.errors[i].name, load.errors[i].n);
	if (load.errors_other != 0)
		printf("%s\"OTHER\":%" PRIu64, i == 0 ? "" : ",",
		    load.errors_other);
	printf("},\"ok\":%s}\n", load.status == 0 ? "true" : "false");
}

static void
report_text(const struct summary *s)
{
	double	 traffic;
	int	 i;

	printf("clients %d: logged in %d (registered %" PRIu64 "), "
	    "failed %d; rooms %d, senders %d, ", load.n, load.logged_in,
	    load.registrations, load.failed, load.rooms, load.senders);
	if (load.mode == MODE_FLOOD)
		printf("flood (window %u) for %u s", load.window,
		    load.duration);
	else
		printf("rate %u/s for %u s", load.rate, load.duration);
	printf(", body %u bytes%s%s\n", load.body,
	    load.proto == &load_proto_irc ? ", IRC" : "",
	    load.realtime_on ? ", scload at SCHED_FIFO" : "");
	printf("connect: %.3f s, %.1f connects/s (connect+login per "
	    "client: p50 %.3f ms, p99 %.3f ms)\n", secs(s->connect_ns),
	    s->cps, msecs(s->c50), msecs(s->c99));
	printf("join: %.3f s\n", s->join_s);
	printf("messages: sent %" PRIu64 ", acked %" PRIu64
	    ", rate-limited %" PRIu64 ", delivered %" PRIu64 " of %"
	    PRIu64 " expected, %.1f delivered/s\n", load.sent, load.acked,
	    load.rejected, load.delivered, load.expected, s->dps);
	printf("latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%zu "
	    "samples)\n", msecs(s->lat50), msecs(s->lat99), msecs(s->latmax),
	    load.nlat);
	if (load.server != 0) {
		traffic = cpu_between(CPU_JOINED, CPU_DRAINED);
		printf("server: %d processes, PSS %" PRIu64 " KiB, CPU: "
		    "connect %.2f s, join %.2f s, traffic %.2f s (%.2f s per "
		    "million deliveries)\n", load.srv_procs, load.srv_pss_kib,
		    cpu_between(CPU_START, CPU_CONNECTED),
		    cpu_between(CPU_CONNECTED, CPU_JOINED), traffic,
		    load.delivered > 0 ? traffic * 1e6 /
		    (double)load.delivered : 0.0);
	}
	printf("errors:");
	for (i = 0; i < MAX_ERR_NAMES && load.errors[i].name[0] != '\0'; i++)
		printf(" %s=%" PRIu64, load.errors[i].name, load.errors[i].n);
	if (load.errors_other != 0)
		printf(" OTHER=%" PRIu64, load.errors_other);
	printf("%s; disconnects %d, bad frames %" PRIu64 "\n",
	    i == 0 && load.errors_other == 0 ? " none" : "",
	    load.disconnects, load.bad_frames);
}

static void
report(void)
{
	struct summary	 s;

	summarise(&s);
	if (load.json)
		report_json(&s);
	else
		report_text(&s);
	if (fflush(stdout) == EOF || ferror(stdout))
		load_trouble("stdout: %s", strerror(errno));
	if (load.why[0] != '\0')
		fprintf(stderr, "scload: %s\n", load.why);
}

/*
 * -X: the lowest real-time priority, so that a server of a thousand
 * processes on the same CPUs cannot starve the one process that plays
 * all its clients (under CFS each runnable worker weighs what scload
 * does).  scload mostly waits in epoll; the kernel's real-time
 * throttling still leaves the server a share of scload's CPU.
 */
static void
go_realtime(void)
{
	struct sched_param	 sp;

	if (!load.realtime)
		return;
	memset(&sp, 0, sizeof(sp));
	sp.sched_priority = 1;
	if (sched_setscheduler(0, SCHED_FIFO, &sp) == -1) {
		fprintf(stderr, "scload: -X: SCHED_FIFO: %s; running at the "
		    "normal priority\n", strerror(errno));
		return;
	}
	load.realtime_on = 1;
}

/* Room for n connections and some: raise the soft descriptor limit. */
static void
raise_nofile(int n)
{
	struct rlimit	 rl;
	rlim_t		 need = (rlim_t)n + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		perror("scload: getrlimit");
		exit(1);
	}
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >
		    need ? need : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < need) {
		fprintf(stderr, "scload: %d clients need %llu descriptors; "
		    "raise ulimit -n\n", n, (unsigned long long)need);
		exit(1);
	}
}

static void
clients_init(void)
{
	struct client	*c;
	int		 i;

	load.cl = xcalloc((size_t)load.n, sizeof(*load.cl));
	load.room_members = xcalloc((size_t)load.rooms,
	    sizeof(*load.room_members));
	load.snd = xcalloc((size_t)load.senders, sizeof(*load.snd));
	for (i = 0; i < load.senders && load.mode == MODE_FLOOD; i++)
		load.snd[i].remaining = xcalloc(load.window,
		    sizeof(*load.snd[i].remaining));
	for (i = 0; i < load.n; i++) {
		c = &load.cl[i];
		c->idx = i;
		c->roomno = i % load.rooms;
		(void)snprintf(c->name, sizeof(c->name), "bench-%04d", i + 1);
		(void)snprintf(c->room, sizeof(c->room), "#bench-%03d",
		    c->roomno + 1);
		if (load.proto != &load_proto_sc)
			continue;
		if (crypto_ed25519_keygen(c->sc.sign_priv, c->sc.sign_pub) ==
		    -1 || crypto_x25519_keygen(c->sc.dh_priv, c->sc.dh_pub) ==
		    -1) {
			fprintf(stderr, "scload: key generation failed\n");
			exit(1);
		}
	}
}

static void
options(int argc, char *argv[])
{
	int	 ch, port = 0;

	load.proto = &load_proto_sc;
	load.mode = MODE_PACED;
	load.n = 10;
	load.rooms = -1;
	load.senders = -1;
	load.rate = 100;
	load.duration = 10;
	load.body = 64;
	load.window = WINDOW_DEFAULT;
	load.inflight_max = INFLIGHT_DEFAULT;
	load.drain_secs = DRAIN_SECS;
	while ((ch = getopt(argc, argv, "b:c:d:FH:jM:Nn:P:p:r:R:S:s:t:W:X")) !=
	    -1) {
		switch (ch) {
		case 'b':
			load.body = (uint32_t)number(optarg, 8, 60000,
			    "body size");
			break;
		case 'c':
			load.inflight_max = (int)number(optarg, 1, MAX_CLIENTS,
			    "connects in flight");
			break;
		case 'd':
			load.duration = (uint32_t)number(optarg, 1, 3600,
			    "duration");
			break;
		case 'F':
			load.mode = MODE_FLOOD;
			break;
		case 'H':
			load.hold_secs = (uint32_t)number(optarg, 0, 3600,
			    "hold");
			break;
		case 'j':
			load.json = 1;
			break;
		case 'M':
			load.marker = optarg;
			break;
		case 'N':
			load.nodelay = 1;
			break;
		case 'n':
			load.n = (int)number(optarg, 1, MAX_CLIENTS, "clients");
			break;
		case 'P':
			if (strcmp(optarg, "securechat") == 0 ||
			    strcmp(optarg, "sc") == 0)
				load.proto = &load_proto_sc;
			else if (strcmp(optarg, "irc") == 0)
				load.proto = &load_proto_irc;
			else
				usage();
			break;
		case 'p':
			port = (int)number(optarg, 1, 65535, "port");
			break;
		case 'r':
			load.rooms = (int)number(optarg, 1, MAX_CLIENTS,
			    "rooms");
			break;
		case 'R':
			load.rate = (uint32_t)number(optarg, 1, 100000, "rate");
			break;
		case 'S':
			load.server = (pid_t)number(optarg, 2, INT_MAX,
			    "server pid");
			break;
		case 's':
			load.senders = (int)number(optarg, 1, MAX_CLIENTS,
			    "senders");
			break;
		case 't':
			load.drain_secs = (uint32_t)number(optarg, 1, 3600,
			    "drain time");
			break;
		case 'W':
			load.window = (uint32_t)number(optarg, 1, WINDOW_MAX,
			    "window");
			break;
		case 'X':
			load.realtime = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || port == 0)
		usage();
	if (load.rooms == -1)
		load.rooms = load.n / 50 > 1 ? load.n / 50 : 1;
	if (load.senders == -1)
		load.senders = load.n < 10 ? load.n : 10;
	if (load.rooms > load.n || load.senders > load.n) {
		fprintf(stderr, "scload: rooms and senders are at most the "
		    "number of clients\n");
		exit(2);
	}
	if (load.body < (load.mode == MODE_FLOOD ? load.proto->ids_body :
	    load.proto->min_body) || load.body > load.proto->max_body) {
		fprintf(stderr, "scload: %s %s needs a body of %u..%u bytes\n",
		    load.proto->name, load.mode == MODE_FLOOD ? "flood" :
		    "paced", load.mode == MODE_FLOOD ? load.proto->ids_body :
		    load.proto->min_body, load.proto->max_body);
		exit(2);
	}
	if (load.marker != NULL && load.hold_secs != 0) {
		fprintf(stderr, "scload: -M and -H exclude each other\n");
		exit(2);
	}
	load.port = (uint16_t)port;
	load.total = (uint64_t)load.rate * load.duration;
}

int
main(int argc, char *argv[])
{
	struct timeval	 tv;
	char		 err[256];

	options(argc, argv);
	raise_nofile(load.n);
	go_realtime();
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&load.sin, 0, sizeof(load.sin));
	load.sin.sin_family = AF_INET;
	load.sin.sin_port = htons(load.port);
	load.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/*
	 * No certificate check: this is a load tool for a server of our own
	 * on loopback, and the handshake cost is the same either way.
	 * Full handshakes only, so every connect costs what a new one does.
	 */
	if ((load.ctx = tls_ctx_client(NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scload: TLS: %s\n", err);
		exit(1);
	}
	SSL_CTX_set_options(load.ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(load.ctx, SSL_SESS_CACHE_OFF);

	clients_init();
	if ((load.base = event_base_new()) == NULL) {
		fprintf(stderr, "scload: event_base_new failed\n");
		exit(1);
	}
	/* Long enough for N connects at 20/s on top of the traffic. */
	tv.tv_sec = (time_t)load.duration + load.drain_secs + SLACK_SECS +
	    (time_t)load.n * SLACK_PER_CLIENT_MS / 1000;
	tv.tv_usec = 0;
	if ((load.hard = evtimer_new(load.base, hard_cb, NULL)) == NULL ||
	    evtimer_add(load.hard, &tv) == -1 ||
	    (load.sigint = evsignal_new(load.base, SIGINT, sigint_cb, NULL)) ==
	    NULL || evsignal_add(load.sigint, NULL) == -1) {
		fprintf(stderr, "scload: cannot set up events\n");
		exit(1);
	}
	load.phase = PH_CONNECT;
	server_sample(CPU_START);
	launch_more();
	advance();
	if (load.phase != PH_DONE && event_base_dispatch(load.base) == -1)
		load_trouble("event loop failed");
	if (load.delivered < load.expected || (load.proto->has_ack &&
	    load.acked + load.rejected < load.sent))
		load_trouble("%" PRIu64 " deliveries missing",
		    load.expected > load.delivered ?
		    load.expected - load.delivered : 0);
	report();
	if (load.marker != NULL)
		(void)unlink(load.marker);
	return load.status;
}
