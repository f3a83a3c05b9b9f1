/*
 * broker-rate.c: how fast anyone may make the broker work or store.  Token
 * buckets per user (messages, bytes stored, every other request), which
 * outlive the user's connections, and per client address prefix
 * (registrations, room creations).  Every table here is bounded.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "hash.h"
#include "log.h"
#include "logsum.h"
#include "util.h"
#include "xmalloc.h"

#define RATE_MEMO_MAX		4096	/* users remembered offline */
#define PREFIX_MAX		4096	/* address prefixes remembered */
#define PREFIX_LEN		64	/* "2001:db8::/64", an address at worst */
#define MIB			(1024.0 * 1024.0)

/*
 * The buckets of a user who went offline before they refilled: kept until
 * they would be full, so that reconnecting does not refill them.
 */
struct rate_memo {
	TAILQ_ENTRY(rate_memo)	 entry;		/* oldest first */
	struct hnode		 node;		/* by user id */
	int64_t			 user_id;
	struct bucket		 messages;
	struct bucket		 storage;
	struct bucket		 requests;
};
TAILQ_HEAD(rate_memolist, rate_memo);

/* The bucket of one kind of action from one address prefix. */
struct prefix_bucket {
	TAILQ_ENTRY(prefix_bucket) entry;	/* least recently used first */
	struct hnode		 node;		/* by kind and prefix */
	enum rate_kind		 kind;
	char			 prefix[PREFIX_LEN];
	struct bucket		 b;
};
TAILQ_HEAD(prefix_list, prefix_bucket);

static struct rate_memolist	 memo_list = TAILQ_HEAD_INITIALIZER(memo_list);
static struct htab		 memos;
static struct prefix_list	 prefix_list = TAILQ_HEAD_INITIALIZER(prefix_list);
static struct htab		 prefixes;

void
rate_init(void)
{
	htab_init(&memos);
	htab_init(&prefixes);
}

/* Bring b up to now at per_s tokens a second, at most burst. */
static void
refill(struct bucket *b, double per_s, double burst, uint64_t now)
{
	if (now > b->at_ms)
		b->tokens += (double)(now - b->at_ms) * per_s / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	b->at_ms = now;
}

/*
 * 0 if b holds cost tokens now (taking none), else the milliseconds until
 * it will.  A cost above the burst waits for a full bucket, not for ever.
 */
uint32_t
rate_wait(struct bucket *b, double per_s, double burst, double cost)
{
	double	 ms;

	refill(b, per_s, burst, now_ms());
	if (cost > burst)
		cost = burst;
	if (b->tokens >= cost)
		return 0;
	ms = (cost - b->tokens) * 1000.0 / per_s + 1.0;
	return ms > 86400000.0 ? 86400000 : (uint32_t)ms;
}

void
rate_spend(struct bucket *b, double cost)
{
	b->tokens -= cost;
	if (b->tokens < 0)
		b->tokens = 0;
}

static double
storage_per_s(void)
{
	return br.storage_mib_per_day * MIB / 86400.0;
}

static void
bucket_full(struct bucket *b, double burst)
{
	b->tokens = burst;
	b->at_ms = now_ms();
}

static int
is_full(struct bucket *b, double per_s, double burst)
{
	refill(b, per_s, burst, now_ms());
	return b->tokens >= burst;
}

static int
memo_full(struct rate_memo *m)
{
	return is_full(&m->messages, br.message_rate, br.message_burst) &&
	    is_full(&m->storage, storage_per_s(), br.storage_burst_mib * MIB) &&
	    is_full(&m->requests, br.request_rate, br.request_burst);
}

static void
memo_free(struct rate_memo *m)
{
	TAILQ_REMOVE(&memo_list, m, entry);
	htab_remove(&memos, &m->node);
	free(m);
}

/* A user comes online: its buckets as it left them, or full ones. */
void
rate_user_online(struct user *u)
{
	struct hnode		*n;
	struct rate_memo	*m;

	for (n = htab_first(&memos, htab_hash_u64(&memos, u->id)); n != NULL;
	    n = htab_next(n)) {
		m = HTAB_ENTRY(n, struct rate_memo, node);
		if (m->user_id == u->id) {
			u->messages = m->messages;
			u->storage = m->storage;
			u->requests = m->requests;
			memo_free(m);
			return;
		}
	}
	bucket_full(&u->messages, br.message_burst);
	bucket_full(&u->storage, br.storage_burst_mib * MIB);
	bucket_full(&u->requests, br.request_burst);
}

/* The user's last connection closed: remember buckets not yet full. */
void
rate_user_offline(const struct user *u)
{
	struct rate_memo	*m;

	m = xcalloc(1, sizeof(*m));
	m->user_id = u->id;
	m->messages = u->messages;
	m->storage = u->storage;
	m->requests = u->requests;
	if (memo_full(m)) {
		free(m);
		return;
	}
	/* The oldest go first, when full or when there are too many. */
	while (!TAILQ_EMPTY(&memo_list) &&
	    (memo_full(TAILQ_FIRST(&memo_list)) ||
	    memos.count >= RATE_MEMO_MAX))
		memo_free(TAILQ_FIRST(&memo_list));
	TAILQ_INSERT_TAIL(&memo_list, m, entry);
	htab_insert(&memos, &m->node, htab_hash_u64(&memos, m->user_id));
}

static void
prefix_rate(enum rate_kind kind, double *per_s, double *burst)
{
	switch (kind) {
	case RATE_REGISTER:
		*burst = br.registrations_per_hour;
		break;
	case RATE_ROOM_CREATE:
		*burst = br.room_creates_per_hour;
		break;
	default:
		fatalx("unexpected rate kind %d", (int)kind);
	}
	*per_s = *burst / 3600.0;
}

static uint64_t
prefix_hash(enum rate_kind kind, const char *prefix)
{
	char	 key[PREFIX_LEN + 8];

	(void)snprintf(key, sizeof(key), "%d %s", (int)kind, prefix);
	return htab_hash_str(&prefixes, key);
}

/*
 * One action of kind from addr, counted against its prefix
 * (limits.ipv4_prefix, limits.ipv6_prefix): 0 and counted if allowed,
 * else the milliseconds until it will be.
 */
uint32_t
rate_prefix_take(enum rate_kind kind, const char *addr)
{
	struct prefix_bucket	*pb = NULL;
	struct hnode		*n;
	char			 prefix[PREFIX_LEN];
	double			 per_s, burst;
	uint64_t		 h;
	uint32_t		 wait;

	/* Not a numeric address (a test's socketpair): count it as it is. */
	if (addr_prefix(addr, (int)br.ipv4_prefix, (int)br.ipv6_prefix,
	    prefix, sizeof(prefix)) == -1)
		(void)str_copy(prefix, addr, sizeof(prefix));
	prefix_rate(kind, &per_s, &burst);
	h = prefix_hash(kind, prefix);
	for (n = htab_first(&prefixes, h); n != NULL; n = htab_next(n)) {
		pb = HTAB_ENTRY(n, struct prefix_bucket, node);
		if (pb->kind == kind && strcmp(pb->prefix, prefix) == 0)
			break;
		pb = NULL;
	}
	if (pb == NULL) {
		while (!TAILQ_EMPTY(&prefix_list) &&
		    prefixes.count >= PREFIX_MAX) {
			pb = TAILQ_FIRST(&prefix_list);
			TAILQ_REMOVE(&prefix_list, pb, entry);
			htab_remove(&prefixes, &pb->node);
			free(pb);
		}
		pb = xcalloc(1, sizeof(*pb));
		pb->kind = kind;
		(void)str_copy(pb->prefix, prefix, sizeof(pb->prefix));
		bucket_full(&pb->b, burst);
		htab_insert(&prefixes, &pb->node, h);
	} else
		TAILQ_REMOVE(&prefix_list, pb, entry);
	TAILQ_INSERT_TAIL(&prefix_list, pb, entry);
	if ((wait = rate_wait(&pb->b, per_s, burst, 1)) == 0)
		rate_spend(&pb->b, 1);
	return wait;
}

/*
 * A request from a logged-in link: 0 if it may be handled now (its token
 * taken), else how long the link must wait.  SEND has its own buckets;
 * DELIVERED writes only when it moves a cursor, which what others send
 * bounds, so neither costs a request token.
 */
uint32_t
rate_request(struct link *l, uint16_t type)
{
	uint32_t	 wait;

	if (l->user == NULL || type == MSG_SEND || type == MSG_DELIVERED)
		return 0;
	wait = rate_wait(&l->user->requests, br.request_rate, br.request_burst,
	    1);
	if (wait == 0)
		rate_spend(&l->user->requests, 1);
	return wait;
}

/*
 * Bytes about to be stored for u (a message body, a roster entry), against
 * limits.storage_mib_per_day: 0 if they may be (and are taken), else the
 * milliseconds to wait.  More than the burst costs the burst.
 */
uint32_t
rate_storage(struct user *u, size_t len)
{
	double		 burst = br.storage_burst_mib * MIB;
	double		 cost = (double)len > burst ? burst : (double)len;
	uint32_t	 wait;

	if ((wait = rate_wait(&u->storage, storage_per_s(), burst, cost)) == 0)
		rate_spend(&u->storage, cost);
	return wait;
}

/*
 * Count a refusal or a wait, and say so in the log: in full the first time
 * for a user (or an address, before login), then summarised (logsum.c),
 * so that a flood does not flood the log.
 */
void
rate_refused(struct link *l, const char *what, uint32_t wait)
{
	const char	*who = l->user != NULL ? l->user->name : l->addr;

	br.rate_limited++;
	if (logsum_event("rate limit", who))
		log_security("rate limit: %s from %s: %s, retry in %u ms",
		    l->user != NULL ? l->user->name : "(not logged in)",
		    l->addr, what, wait);
}

void
rate_free(void)
{
	struct rate_memo	*m;
	struct prefix_bucket	*pb;

	while ((m = TAILQ_FIRST(&memo_list)) != NULL) {
		TAILQ_REMOVE(&memo_list, m, entry);
		free(m);
	}
	while ((pb = TAILQ_FIRST(&prefix_list)) != NULL) {
		TAILQ_REMOVE(&prefix_list, pb, entry);
		free(pb);
	}
	htab_free(&memos);
	htab_free(&prefixes);
}
