/*
 * master-gate.c: what the master checks before it forks a worker for a new
 * connection: how fast an address and its network prefix open connections,
 * and how many clients each holds.  A refusal costs an accept and a close,
 * never a process.  Refusals are security events, logged at most
 * GATE_LOG_PER_S a second for each limit; the rest are counted and summed
 * up.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "log.h"
#include "securechatd.h"
#include "util.h"

#define GATE_SLOTS	4096	/* rate buckets remembered (a power of 2) */
#define GATE_PROBE	8	/* slots looked at for one key */
#define GATE_KEY_LEN	64	/* "a " or "p " and an address or prefix */
#define GATE_LOG_PER_S	10

/* Why a connection was refused: each has its own share of the log. */
enum gate_reason {
	GATE_RATE,
	GATE_RATE_PREFIX,
	GATE_TOTAL,
	GATE_PER_IP,
	GATE_PER_PREFIX,
	GATE_NREASONS
};

static const char *const gate_limit[GATE_NREASONS] = {
	"limits.accept_rate", "limits.accept_rate_per_prefix",
	"limits.max_clients", "limits.max_clients_per_ip",
	"limits.max_clients_per_prefix",
};

/* A token bucket for one address ("a ADDR") or one prefix ("p PREFIX"). */
struct gate_slot {
	char		 key[GATE_KEY_LEN];
	double		 tokens;
	double		 rate;		/* tokens a second */
	double		 burst;
	uint64_t	 at_ms;
};

static struct {
	struct gate_slot	 slot[GATE_SLOTS];
	uint64_t		 seed;
	struct event		*log_ev;
	uint64_t		 log_since_ms;
	unsigned int		 logged[GATE_NREASONS];
	unsigned long		 unlogged[GATE_NREASONS];
	int			 flush_due;
} g;

static void	 gate_log(enum gate_reason, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* The refusals of the past second not logged, summed up once it is over. */
static void
gate_log_flush(evutil_socket_t fd, short ev, void *arg)
{
	int	 r;

	for (r = 0; r < GATE_NREASONS; r++) {
		if (g.unlogged[r] > 0)
			log_security("refused %lu more connections in the last "
			    "second (%s), not logged one by one",
			    g.unlogged[r], gate_limit[r]);
		g.unlogged[r] = 0;
		g.logged[r] = 0;
	}
	g.flush_due = 0;
	g.log_since_ms = now_ms();
}

/* A refusal: a security event, unless a flood has had its share. */
static void
gate_log(enum gate_reason r, const char *fmt, ...)
{
	struct timeval	 tv = { 1, 0 };
	va_list		 ap;
	char		 text[256];

	if (!g.flush_due && now_ms() - g.log_since_ms >= 1000)
		gate_log_flush(-1, 0, NULL);
	if (g.logged[r] >= GATE_LOG_PER_S) {
		g.unlogged[r]++;
		if (!g.flush_due && evtimer_add(g.log_ev, &tv) == -1)
			fatalx("evtimer_add");
		g.flush_due = 1;
		return;
	}
	g.logged[r]++;
	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_security("%s", text);
}

/* FNV-1a from a secret start: a flood cannot aim at one chain of slots. */
static uint64_t
gate_hash(const char *key)
{
	uint64_t	 h = g.seed;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static double
gate_refill(const struct gate_slot *s, uint64_t now)
{
	double	 t = s->tokens;

	if (now > s->at_ms)
		t += (double)(now - s->at_ms) * s->rate / 1000.0;
	return t > s->burst ? s->burst : t;
}

/* 0 for a slot as good as free (unused, or full again), else its age. */
static uint64_t
gate_used(const struct gate_slot *s, uint64_t now)
{
	if (s->key[0] == '\0' || gate_refill(s, now) >= s->burst)
		return 0;
	return s->at_ms + 1;
}

/*
 * Take a token from the key's bucket: 0, or -1 when it is empty.  A key
 * not remembered starts full, in a free slot, one whose bucket has filled
 * up again (as good as forgotten), or the least recently used one.
 */
static int
gate_take(const char *kind, const char *what, double rate, double burst)
{
	struct gate_slot	*s, *found = NULL, *victim = NULL;
	char			 key[GATE_KEY_LEN];
	uint64_t		 h, now = now_ms();
	size_t			 i;

	(void)snprintf(key, sizeof(key), "%s %s", kind, what);
	h = gate_hash(key);
	for (i = 0; i < GATE_PROBE && found == NULL; i++) {
		s = &g.slot[(h + i) & (GATE_SLOTS - 1)];
		if (strcmp(s->key, key) == 0)
			found = s;
		else if (victim == NULL ||
		    gate_used(s, now) < gate_used(victim, now))
			victim = s;
	}
	if ((s = found) == NULL) {
		s = victim;
		(void)str_copy(s->key, key, sizeof(s->key));
		s->tokens = burst;
		s->at_ms = now;
	}
	/* A reload may have changed the limits: the bucket follows. */
	s->rate = rate;
	s->burst = burst;
	s->tokens = gate_refill(s, now);
	s->at_ms = now;
	if (s->tokens < 1.0)
		return -1;
	s->tokens -= 1.0;
	return 0;
}

int
gate_admit(const struct conf *c, const char *addr, const char *prefix,
    const struct gate_counts *n, unsigned int max_total)
{
	if (gate_take("a", addr, c->accept_rate, c->accept_burst) == -1) {
		gate_log(GATE_RATE, "refused %s: limits.accept_rate (%u a "
		    "second, burst %u) exceeded", addr, c->accept_rate,
		    c->accept_burst);
		return -1;
	}
	if (gate_take("p", prefix, c->accept_rate_per_prefix,
	    c->accept_burst_per_prefix) == -1) {
		gate_log(GATE_RATE_PREFIX, "refused %s: "
		    "limits.accept_rate_per_prefix (%u a second, burst %u) "
		    "exceeded by %s", addr, c->accept_rate_per_prefix,
		    c->accept_burst_per_prefix, prefix);
		return -1;
	}
	if (n->total >= max_total) {
		gate_log(GATE_TOTAL, "refused %s: limits.max_clients (%u) "
		    "reached", addr, max_total);
		return -1;
	}
	if (n->addr >= c->max_clients_per_ip) {
		gate_log(GATE_PER_IP, "refused %s: limits.max_clients_per_ip "
		    "(%u) reached", addr, c->max_clients_per_ip);
		return -1;
	}
	if (n->prefix >= c->max_clients_per_prefix) {
		gate_log(GATE_PER_PREFIX, "refused %s: "
		    "limits.max_clients_per_prefix (%u) reached by %s", addr,
		    c->max_clients_per_prefix, prefix);
		return -1;
	}
	return 0;
}

void
gate_init(struct event_base *base)
{
	memset(&g, 0, sizeof(g));
	if (RAND_bytes((unsigned char *)&g.seed, sizeof(g.seed)) != 1)
		fatalx("RAND_bytes");
	g.seed ^= 0xcbf29ce484222325ULL;
	if ((g.log_ev = evtimer_new(base, gate_log_flush, NULL)) == NULL)
		fatalx("evtimer_new");
	g.log_since_ms = now_ms();
}

void
gate_free(void)
{
	if (g.log_ev != NULL)
		event_free(g.log_ev);
	g.log_ev = NULL;
}
