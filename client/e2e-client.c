/*
 * e2e-client.c: end-to-end encryption in the client (docs/DESIGN.md section 7).
 * Lines typed for a room are sealed with our sender-key chain; a new chain
 * goes first to every member, inside identity-signed envelopes bundled in
 * one room message, so that it travels in the room's own order.  Direct
 * messages are sealed envelopes to the recipient's signed prekey.  The
 * server only ever sees ciphertext.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "client.h"
#include "e2e-client.h"
#include "e2e-prekey.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define BUNDLE_HDR_LEN		4	/* version, type, u16 count */

static void	tx_pump(struct client *, struct txroom *);
static void	dms_pump(struct client *);

/* Peers: keys fetched from the server this run. */

static struct peer *
peer_get(struct client *c, const char *name, int create)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &c->e2e->peers, entry)
		if (strcmp(p->name, name) == 0)
			return p;
	if (!create)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	(void)str_copy(p->name, name, sizeof(p->name));
	TAILQ_INSERT_TAIL(&c->e2e->peers, p, entry);
	return p;
}

/*
 * The user names p (a direct message, /invite, /verify): its key may
 * have the entries kept for such (pin_allowed).  One fetched before and
 * refused for want of room is asked again.
 */
static void
peer_named(struct client *c, struct peer *p)
{
	if (p->named)
		return;
	p->named = 1;
	if (p->state == PEER_READY &&
	    trust_get(&c->e2e->trust, c->hostport, p->name) == NULL)
		p->state = PEER_NONE;
}

/* Ask for a peer's keys unless a fresh answer is here or on its way. */
static int
peer_need(struct client *c, struct peer *p)
{
	struct outmsg	*m;

	if (p->state == PEER_FETCHING)
		return 1;
	if ((p->state == PEER_READY || p->state == PEER_FAILED) &&
	    now_ms() - p->fetched_ms < E2EC_PEER_FRESH_MS)
		return 0;
	p->state = PEER_FETCHING;
	m = outbox_add(&c->outbox, MSG_KEYS_GET, NULL, p->name, NULL, 0);
	m->quiet = 1;
	return 1;
}

/*
 * known_users is written at most once a second however many keys the
 * server shows: a flood of new names must not mean a flood of rewrites.
 */
static void
trust_save_cb(evutil_socket_t fd, short what, void *arg)
{
	e2ec_save_trust(arg);
}

static void
trust_dirty(struct client *c)
{
	struct e2ec	*e = c->e2e;
	struct timeval	 tv = { E2EC_TRUST_SAVE_S, 0 };

	e->trust_dirty = 1;
	if (c->base == NULL)
		return;
	if (e->ev_trust == NULL &&
	    (e->ev_trust = evtimer_new(c->base, trust_save_cb, c)) == NULL)
		fatalx("evtimer_new");
	if (!evtimer_pending(e->ev_trust, NULL) &&
	    evtimer_add(e->ev_trust, &tv) == -1)
		fatalx("evtimer_add");
}

/*
 * May a new key be pinned, given how it came (enum key_source)?  Only
 * what the user named has the last TRUST_MAX - E2EC_UNASKED_MAX entries:
 * a server can make the client fetch the keys of a room's members (a WHO
 * answer, a roster padded with accounts) as easily as show keys unasked.
 * Keys shown unasked also go through a bucket: E2EC_PIN_BURST at once,
 * then one a second.
 */
_Static_assert(E2EC_UNASKED_MAX < TRUST_MAX, "no room left for asked keys");

static int
pin_allowed(struct client *c, enum key_source from)
{
	struct e2ec	*e = c->e2e;
	uint64_t	 now = now_ms(), add;

	if (from == KEY_NAMED)
		return 1;
	add = (now - e->pin_refilled_ms) / 1000;
	if (add > 0) {
		e->pin_tokens = e->pin_tokens + add > E2EC_PIN_BURST ?
		    E2EC_PIN_BURST : e->pin_tokens + add;
		e->pin_refilled_ms += add * 1000;
	}
	/* What is left is for the users the user names. */
	if (e->trust.n >= E2EC_UNASKED_MAX) {
		if (!e->pins_full_said)
			out_error(c, "TOO_MANY_KEYS", "%zu users' keys are "
			    "pinned: only the keys of users you write to, "
			    "invite or /verify are pinned now; others' "
			    "messages are not shown and they get no room key",
			    e->trust.n);
		e->pins_full_said = 1;
		return 0;
	}
	if (from == KEY_FETCHED)
		return 1;
	if (e->pin_tokens == 0) {
		if (!e->pin_said)
			out_error(c, "TOO_MANY_KEYS", "the server shows more "
			    "than %d new users' keys at once: their messages "
			    "are not shown until it slows down",
			    E2EC_PIN_BURST);
		e->pin_said = 1;
		return 0;
	}
	e->pin_tokens--;
	e->pin_said = 0;
	return 1;
}

/*
 * What the server says is name's identity key, against known_users: the
 * first key is pinned (if pin_allowed); a different one is announced once
 * and not trusted until the user accepts it.  Returns 1 if the key is the
 * trusted one.
 */
static int
check_identity(struct client *c, const char *name, const uint8_t key[32],
    enum key_source from)
{
	struct e2ec		*e = c->e2e;
	struct txroom		*tx;
	struct peer		*p;
	enum trust_result	 res;
	char			 hex[65];

	if (strcmp(name, c->user) == 0)
		return memcmp(key, c->id->sign_pub, 32) == 0;
	if (trust_get(&e->trust, c->hostport, name) == NULL &&
	    !pin_allowed(c, from))
		return 0;
	/* Keys fetched before are stale if the server now shows others. */
	if ((p = peer_get(c, name, 0)) != NULL && p->state == PEER_READY &&
	    memcmp(p->sign_pub, key, 32) != 0)
		p->state = PEER_NONE;
	if (trust_check(&e->trust, c->hostport, name, key, &res) == -1) {
		out_error(c, "INTERNAL", "cannot record the key of %s", name);
		return 0;
	}
	switch (res) {
	case TRUST_SAME:
		return 1;
	case TRUST_NEW:
		trust_dirty(c);
		/* Every new key is shown: the server could invent members. */
		hex_encode(key, 32, hex);
		out_key_event(c, "key_pinned", name, key, "pinned", "first key "
		    "seen for %s, pinned: %s (/verify @%s to check it)", name,
		    hex, name);
		return 1;
	case TRUST_CHANGED:
		trust_dirty(c);
		out_user_key_changed(c, name, key);
		trust_set_shown(&e->trust, c->hostport, name, key);
		/* Our chains reached the old key: the next ones must not. */
		TAILQ_FOREACH(tx, &e->tx, entry)
			tx->stale = 1;
		return 0;
	case TRUST_WITHDRAWN:
		trust_dirty(c);
		hex_encode(key, 32, hex);
		out_notice(c, "key_change_withdrawn", "the server shows the "
		    "pinned key of %s again (%s): the change announced before "
		    "is forgotten and cannot be accepted", name, hex);
		return 1;
	case TRUST_STILL_CHANGED:
	default:
		return 0;
	}
}

static int
is_trusted(struct client *c, const char *name, const uint8_t key[32])
{
	if (strcmp(name, c->user) == 0)
		return memcmp(key, c->id->sign_pub, 32) == 0;
	return trust_is_trusted(&c->e2e->trust, c->hostport, name, key);
}

/*
 * Receivers: what others' chains we hold, per room, sender and the
 * identity key that sent them.  At most two per room and sender: the
 * trusted key's, and one other's (a changed key not yet accepted, whose
 * chains are there once it is, and which never replaces the trusted
 * key's).
 */

static int
rx_is(const struct rxchain *x, const char *room, const char *sender)
{
	return strcmp(x->r.room, room) == 0 && strcmp(x->r.sender, sender) == 0;
}

/* The receiver of the trusted key, whose messages are shown. */
static struct rxchain *
rx_trusted(struct client *c, const char *room, const char *sender)
{
	struct rxchain	*x;

	TAILQ_FOREACH(x, &c->e2e->rx, entry)
		if (rx_is(x, room, sender) && is_trusted(c, sender, x->id_pub))
			return x;
	return NULL;
}

/* Whether chains of another key than the trusted one are held. */
static int
rx_other(struct client *c, const char *room, const char *sender)
{
	struct rxchain	*x;

	TAILQ_FOREACH(x, &c->e2e->rx, entry)
		if (rx_is(x, room, sender) && !is_trusted(c, sender, x->id_pub))
			return 1;
	return 0;
}

void
e2ec_rx_drop(struct client *c, struct rxchain *x)
{
	TAILQ_REMOVE(&c->e2e->rx, x, entry);
	e2e_group_receiver_free(&x->r);
	free(x);
	c->e2e->nrx--;
}

/*
 * The receiver for id_pub, made if need be.  A trusted key's replaces
 * every other of the room and sender; another key's only the other
 * untrusted one.
 */
static struct rxchain *
rx_get(struct client *c, const char *room, const char *sender,
    const uint8_t id_pub[32])
{
	struct e2ec	*e = c->e2e;
	struct rxchain	*x, *next;
	int		 trusted = is_trusted(c, sender, id_pub);

	TAILQ_FOREACH(x, &e->rx, entry)
		if (rx_is(x, room, sender) && memcmp(x->id_pub, id_pub, 32) == 0)
			return x;
	for (x = TAILQ_FIRST(&e->rx); x != NULL; x = next) {
		next = TAILQ_NEXT(x, entry);
		if (rx_is(x, room, sender) &&
		    (trusted || !is_trusted(c, sender, x->id_pub)))
			e2ec_rx_drop(c, x);
	}
	if (e->nrx >= E2EC_RX_MAX) {
		/* The oldest is the least likely to be needed again. */
		e2ec_rx_drop(c, TAILQ_FIRST(&e->rx));
	}
	x = xcalloc(1, sizeof(*x));
	if (e2e_group_receiver_init(&x->r, room, sender) != E2E_OK)
		fatalx("e2e_group_receiver_init");
	memcpy(x->id_pub, id_pub, 32);
	TAILQ_INSERT_TAIL(&e->rx, x, entry);
	e->nrx++;
	return x;
}

/*
 * Learn a chain of the sender's identity key id_pub; a new key starts
 * its chains afresh.  order (may be NULL): what the new chain says of
 * the one it replaces.
 */
static int
rx_learn(struct client *c, const char *room, const char *sender,
    const uint8_t id_pub[32], const uint8_t *skdm, size_t len,
    struct e2e_order *order)
{
	struct rxchain	*x = rx_get(c, room, sender, id_pub);
	int		 rc;

	rc = e2e_group_receiver_learn(&x->r, sender, skdm, len, order);
	c->e2e->dirty = 1;
	return rc;
}

/* Rooms: our outbound chains. */

static struct txroom *
tx_find(struct client *c, const char *room)
{
	struct txroom	*tx;

	TAILQ_FOREACH(tx, &c->e2e->tx, entry)
		if (strcmp(tx->room, room) == 0)
			return tx;
	return NULL;
}

/* Made only for a room we write to: the server cannot grow the list. */
static struct txroom *
tx_get(struct client *c, const char *room)
{
	struct txroom	*tx;

	if ((tx = tx_find(c, room)) != NULL)
		return tx;
	tx = xcalloc(1, sizeof(*tx));
	(void)str_copy(tx->room, room, sizeof(tx->room));
	TAILQ_INIT(&tx->pending);
	TAILQ_INSERT_TAIL(&c->e2e->tx, tx, entry);
	return tx;
}

/* A room's chain end from the state file: its successor names it. */
void
e2ec_tx_restore(struct client *c, const struct e2e_chain_end *end)
{
	struct txroom	*tx = tx_get(c, end->room);

	tx->prev_id = end->chain_id;
	tx->prev_count = end->count;
}

static int
end_cmp(const void *a, const void *b)
{
	return strcmp(((const struct e2e_chain_end *)a)->room,
	    ((const struct e2e_chain_end *)b)->room);
}

/*
 * Our last chain per room, sorted, for the state file: the current one,
 * or the one a restart found.  *v is allocated; the count is returned.
 */
size_t
e2ec_tx_ends(struct client *c, struct e2e_chain_end **vp)
{
	struct e2e_chain_end	*v;
	struct txroom		*tx;
	size_t			 n = 0;

	TAILQ_FOREACH(tx, &c->e2e->tx, entry)
		n++;
	v = xcalloc(n + 1, sizeof(*v));
	n = 0;
	TAILQ_FOREACH(tx, &c->e2e->tx, entry) {
		if (n == E2EC_TX_MAX)
			break;
		if (!tx->has_chain && tx->prev_id == 0)
			continue;
		(void)str_copy(v[n].room, tx->room, sizeof(v[n].room));
		v[n].chain_id = tx->has_chain ? tx->chain.chain_id :
		    tx->prev_id;
		v[n].count = tx->has_chain ? tx->chain.iteration :
		    tx->prev_count;
		n++;
	}
	qsort(v, n, sizeof(*v), end_cmp);
	*vp = v;
	return n;
}

static int
pending_add(struct client *c, struct pendinglist *q, const char *to,
    const char *text)
{
	struct pending	*p;

	if (c->e2e->npending >= E2EC_PENDING_MAX) {
		out_error(c, "TOO_MANY", "%zu lines are already waiting for "
		    "keys: this one is dropped", c->e2e->npending);
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	if (to != NULL)
		(void)str_copy(p->to, to, sizeof(p->to));
	p->text = xstrdup(text);
	(void)str_copy(p->reqid, outbox_request(), sizeof(p->reqid));
	TAILQ_INSERT_TAIL(q, p, entry);
	c->e2e->npending++;
	return 0;
}

/*
 * A line that waited for keys is sent (or refused) under the request id
 * it was typed with; NULL puts back the one of the command running now.
 */
static void
pending_request(const struct pending *p)
{
	static char	 saved[CLIENT_REQID_MAX + 1];
	static int	 inside;

	if (p != NULL && !inside) {
		(void)str_copy(saved, outbox_request(), sizeof(saved));
		inside = 1;
	}
	if (p != NULL)
		outbox_set_request(p->reqid);
	else if (inside) {
		outbox_set_request(saved);
		inside = 0;
	}
}

/* Drop a line waiting for keys (sent, refused, or at exit), wiped. */
void
e2ec_pending_pop(struct e2ec *e, struct pendinglist *q, struct pending *p)
{
	TAILQ_REMOVE(q, p, entry);
	e->npending--;
	OPENSSL_cleanse(p->text, strlen(p->text));
	free(p->text);
	free(p);
}

static struct outmsg *
queue_send(struct client *c, const char *room, const char *to,
    const uint8_t *body, size_t len, const char *text, int quiet)
{
	struct outmsg	*m;

	if ((m = outbox_add(&c->outbox, MSG_SEND, room, to, body, len)) ==
	    NULL) {
		out_error(c, "INTERNAL", "no random id for the message");
		return NULL;
	}
	m->quiet = quiet;
	if (text != NULL)
		m->text = xstrdup(text);
	return m;
}

/* A bundle of count envelopes after its header: one quiet room SEND. */
static void
bundle_send(struct client *c, const char *room, uint8_t *bundle, size_t len,
    size_t count)
{
	bundle[0] = E2E_VERSION;
	bundle[1] = E2E_TYPE_BUNDLE;
	be16_put(bundle + 2, (uint16_t)count);
	(void)queue_send(c, room, NULL, bundle, len, NULL, 1);
}

/*
 * Seal our new chain's SKDM to each member whose trusted key and prekey
 * we have, and send the envelopes as bundles that fit a frame.
 */
static void
tx_distribute(struct client *c, struct txroom *tx)
{
	const struct e2e_roster		*roster = roster_of(c, tx->room);
	const struct e2e_roster_member	*rm;
	struct peer			*p;
	uint8_t				 skdm[E2E_SKDM_MAX], *bundle, *env;
	size_t				 skdmlen, i, blen = 0, envlen, envmax;
	size_t				 bmax, count = 0;

	bmax = c->max_frame - SEND_OVERHEAD;
	bundle = xmalloc(bmax);
	/* The new chain names the one it replaces: a drop at its end shows. */
	if (tx->has_chain) {
		tx->prev_id = tx->chain.chain_id;
		tx->prev_count = tx->chain.iteration;
		e2e_chain_wipe(&tx->chain);
	}
	if (e2e_chain_new(&tx->chain, wall_ms()) != E2E_OK ||
	    e2e_rotation_deadline(wall_ms(), c->rekey_min_s,
	    c->rekey_max_s, &tx->deadline_ms) != E2E_OK ||
	    e2e_chain_skdm_prev(&tx->chain, tx->room, tx->epoch, tx->prev_id,
	    tx->prev_count, skdm, sizeof(skdm), &skdmlen) != E2E_OK)
		fatalx("cannot start a sender-key chain");
	c->e2e->dirty = 1;
	tx->has_chain = 1;
	tx->stale = 0;
	tx->rekeys++;
	/* Our own echo of the room must open too. */
	if (rx_learn(c, tx->room, c->user, c->id->sign_pub, skdm,
	    skdmlen, NULL) != E2E_OK)
		fatalx("cannot learn our own chain");

	for (i = 0; i < tx->nmembers; i++) {
		const char	*name = tx->members[i];

		if (strcmp(name, c->user) == 0)
			continue;
		p = peer_get(c, name, 0);
		if (p == NULL || p->state != PEER_READY)
			continue;	/* said when it failed */
		if (!is_trusted(c, name, p->sign_pub)) {
			out_notice(c, "key_withheld", "%s: not sending the "
			    "room key to %s, whose key changed: /verify @%s, "
			    "then /trust @%s", tx->room, name, name, name);
			continue;
		}
		if (roster != NULL && ((rm = e2e_roster_member(roster,
		    name)) == NULL || memcmp(rm->key, p->sign_pub, 32) != 0)) {
			out_notice(c, "key_withheld", "%s: not sending the "
			    "room key to %s: the key the server shows is not "
			    "the one its roster entry binds", tx->room, name);
			continue;
		}
		if (!p->has_spk) {
			out_notice(c, "key_withheld", "%s: %s has no prekey "
			    "yet and cannot read this room until connecting",
			    tx->room, name);
			continue;
		}
		envmax = e2e_seal_size(c->user, name, skdmlen);
		if (envmax == 0)
			continue;
		if (blen + 4 + envmax > bmax && count > 0) {
			bundle_send(c, tx->room, bundle, blen, count);
			count = 0;
		}
		if (count == 0)
			blen = BUNDLE_HDR_LEN;
		env = bundle + blen + 4;
		if (e2e_seal(c->id->sign_priv, c->user, name, p->spk_id,
		    p->spk_pub, E2E_TYPE_SKDM, skdm, skdmlen, wall_ms(),
		    env, bmax - blen - 4, &envlen) != E2E_OK) {
			out_error(c, "E2E", "cannot seal the room key for %s",
			    name);
			continue;
		}
		be32_put(bundle + blen, (uint32_t)envlen);
		blen += 4 + envlen;
		count++;
	}
	if (count > 0)
		bundle_send(c, tx->room, bundle, blen, count);
	OPENSSL_cleanse(skdm, sizeof(skdm));
	OPENSSL_cleanse(bundle, bmax);
	free(bundle);
	log_debug("%s: new chain %08x for %zu members", tx->room,
	    tx->chain.chain_id, tx->nmembers);
}

/* All member keys in (or failed)? */
static int
tx_keys_ready(struct client *c, struct txroom *tx)
{
	struct peer	*p;
	size_t		 i;

	for (i = 0; i < tx->nmembers; i++) {
		if (strcmp(tx->members[i], c->user) == 0)
			continue;
		p = peer_get(c, tx->members[i], 1);
		if (peer_need(c, p))
			return 0;
	}
	return 1;
}

/* Ask who the server says is in the room: compared with the roster. */
static void
tx_ask_who(struct client *c, struct txroom *tx)
{
	struct outmsg	*m;

	tx->state = TX_WHO;
	m = outbox_add(&c->outbox, MSG_WHO, tx->room, NULL, NULL, 0);
	m->quiet = 1;
}

void
e2ec_roster_synced(struct client *c, const char *room)
{
	struct txroom	*tx;

	if ((tx = tx_find(c, room)) == NULL || tx->state != TX_ROSTER)
		return;
	tx_ask_who(c, tx);
	chat_flush(c);
}

static void
tx_pump(struct client *c, struct txroom *tx)
{
	struct pending	*p;
	uint8_t		*out;
	size_t		 outsz, outlen;
	uint64_t	 now;

	if (tx->state == TX_KEYS && tx_keys_ready(c, tx)) {
		tx_distribute(c, tx);
		tx->state = TX_IDLE;
	}
	while (tx->state == TX_IDLE && (p = TAILQ_FIRST(&tx->pending)) !=
	    NULL) {
		now = wall_ms();
		if (!tx->has_chain || e2e_chain_needs_rotation(&tx->chain, now,
		    tx->stale, 0, tx->deadline_ms)) {
			/* Its members come from the roster: current first. */
			if (roster_prepare(c, tx->room)) {
				tx->state = TX_ROSTER;
				break;
			}
			tx_ask_who(c, tx);
			break;
		}
		outsz = e2e_group_seal_size(tx->room, c->user,
		    strlen(p->text));
		out = xmalloc(outsz);
		if (e2e_group_seal_head(&tx->chain, tx->room, c->user,
		    tx->epoch, roster_head(c, tx->room), p->text,
		    strlen(p->text), now, out, outsz, &outlen) != E2E_OK)
			fatalx("e2e_group_seal");
		c->e2e->dirty = 1;	/* the chain's count, for its successor */
		pending_request(p);
		(void)queue_send(c, tx->room, NULL, out, outlen, p->text, 0);
		pending_request(NULL);
		free(out);
		e2ec_pending_pop(c->e2e, &tx->pending, p);
	}
	chat_flush(c);
}

static int
dm_cmp(const void *a, const void *b)
{
	return strcmp(((const struct e2e_dm_peer *)a)->name,
	    ((const struct e2e_dm_peer *)b)->name);
}

/*
 * The counters with one user, sorted by name; made on first use.  Past
 * E2EC_DM_MAX the least active goes (its next message from us starts a
 * new stream; its next to us reads as a new stream too).
 */
struct e2e_dm_peer *
dm_peer_get(struct client *c, const char *name)
{
	struct e2ec		*e = c->e2e;
	struct e2e_dm_peer	 key, *p;
	size_t			 i, lo = 0, hi, mid, victim = 0;
	int			 cmp;

	(void)str_copy(key.name, name, sizeof(key.name));
	if (e->ndm > 0 && (p = bsearch(&key, e->dm, e->ndm, sizeof(*e->dm),
	    dm_cmp)) != NULL)
		return p;
	if (e->ndm >= E2EC_DM_MAX) {
		for (i = 1; i < e->ndm; i++)
			if (e->dm[i].clock < e->dm[victim].clock)
				victim = i;
		memmove(&e->dm[victim], &e->dm[victim + 1],
		    (e->ndm - victim - 1) * sizeof(*e->dm));
		e->ndm--;
	}
	if (e->ndm == e->dmcap) {
		e->dmcap = e->dmcap == 0 ? 16 : e->dmcap * 2;
		e->dm = xreallocarray(e->dm, e->dmcap, sizeof(*e->dm));
	}
	for (hi = e->ndm; lo < hi; ) {
		mid = lo + (hi - lo) / 2;
		if ((cmp = strcmp(name, e->dm[mid].name)) < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	memmove(&e->dm[lo + 1], &e->dm[lo], (e->ndm - lo) * sizeof(*e->dm));
	if (e2e_dm_peer_init(&e->dm[lo], name) != E2E_OK)
		fatalx("e2e_dm_peer_init");
	e->ndm++;
	return &e->dm[lo];
}

/* Direct messages: one envelope each, to the recipient's prekey. */
static void
dms_pump(struct client *c)
{
	struct e2ec	*e = c->e2e;
	struct pending	*d;
	struct peer	*p;
	uint8_t		*out;
	size_t		 outsz, outlen;
	uint32_t	 stream;
	uint64_t	 counter;
	int		 sealed = 0;

	while ((d = TAILQ_FIRST(&e->dms)) != NULL) {
		p = peer_get(c, d->to, 1);
		peer_named(c, p);
		if (peer_need(c, p))
			break;
		pending_request(d);
		if (p->state != PEER_READY) {
			out_error(c, "NO_SUCH_USER", "no keys for %s: message "
			    "not sent", d->to);
		} else if (!is_trusted(c, d->to, p->sign_pub)) {
			out_error(c, "KEY_CHANGED", "the key of %s changed: "
			    "nothing is sent to it until you accept it "
			    "(/verify @%s, then /trust @%s)", d->to, d->to,
			    d->to);
		} else if (!p->has_spk) {
			out_error(c, "NO_PREKEY", "%s has not published a "
			    "prekey yet (never connected with this version)",
			    d->to);
		} else {
			if (e2e_dm_next(dm_peer_get(c, d->to), &stream,
			    &counter) != E2E_OK)
				fatalx("e2e_dm_next");
			outsz = e2e_seal_size(c->user, d->to,
			    strlen(d->text));
			out = xmalloc(outsz);
			if (e2e_seal_counted(c->id->sign_priv, c->user, d->to,
			    p->spk_id, p->spk_pub, E2E_TYPE_DM, stream, counter,
			    d->text, strlen(d->text), wall_ms(), out, outsz,
			    &outlen) != E2E_OK)
				fatalx("e2e_seal");
			(void)queue_send(c, NULL, d->to, out, outlen, d->text,
			    0);
			free(out);
			sealed = 1;
		}
		pending_request(NULL);
		e2ec_pending_pop(c->e2e, &e->dms, d);
	}
	/* A counter is used once: on disk before the message leaves. */
	if (sealed) {
		e->dirty = 1;
		(void)e2ec_save(c);
	}
	chat_flush(c);
	client_check_done(c);
}

static void
pump_all(struct client *c)
{
	struct txroom	*tx;

	TAILQ_FOREACH(tx, &c->e2e->tx, entry)
		tx_pump(c, tx);
	dms_pump(c);
}

/* Is the sealed form of text small enough for the server's frames? */
static int
fits(struct client *c, size_t sealed, size_t len)
{
	if (sealed != 0 && sealed + SEND_OVERHEAD <= c->max_frame)
		return 1;
	out_error(c, "TOO_LARGE", "message of %zu bytes is too large for "
	    "the server's limit of %zu bytes once encrypted", len,
	    c->max_frame);
	return 0;
}

void
e2ec_say_room(struct client *c, const char *room, const char *text)
{
	struct txroom	*tx = tx_get(c, room);

	if (!fits(c, e2e_group_seal_size(room, c->user, strlen(text)),
	    strlen(text)))
		return;
	if (pending_add(c, &tx->pending, NULL, text) == -1)
		return;
	tx_pump(c, tx);
}

void
e2ec_say_direct(struct client *c, const char *to, const char *text)
{
	if (!fits(c, e2e_seal_size(c->user, to, strlen(text)), strlen(text)))
		return;
	if (pending_add(c, &c->e2e->dms, to, text) == -1)
		return;
	dms_pump(c);
}

/* Our quiet WHO for a new chain: these members get its key. */
void
e2ec_who_list(struct client *c, const char *room, const uint8_t *list,
    size_t len)
{
	const struct e2e_roster	*r;
	struct txroom		*tx;
	const uint8_t		*p = list, *end = list + len;
	char			 user[NAME_MAX_LEN + 1], state[16];
	size_t			 i, j, nwho = 0;
	char			(*who)[NAME_MAX_LEN + 1] = NULL;

	if ((tx = tx_find(c, room)) == NULL)
		return;
	free(tx->members);
	tx->members = NULL;
	tx->nmembers = 0;
	while (out_list_next(&p, end, user, sizeof(user), state,
	    sizeof(state))) {
		if (proto_fold_user(user) == -1)
			continue;
		if (nwho == E2EC_MEMBERS_MAX) {
			out_error(c, "TOO_MANY", "%s: the server lists more than "
			    "%d members: the others get no room key", room,
			    E2EC_MEMBERS_MAX);
			break;
		}
		who = xreallocarray(who, nwho + 1, sizeof(*who));
		(void)str_copy(who[nwho++], user, sizeof(*who));
	}
	if ((r = roster_of(c, room)) == NULL) {
		/* No roster (yet): the server's word, as /status says. */
		tx->members = who;
		tx->nmembers = nwho;
	} else {
		/*
		 * The verified roster decides; the WHO answer is only
		 * compared with it, and its extras get nothing.
		 */
		for (i = 0; i < nwho; i++)
			if (e2e_roster_member(r, who[i]) == NULL)
				out_roster_warning(c, "roster_mismatch", room,
				    "the server lists %s in %s, who is not in "
				    "its signed roster: %s gets no room key",
				    who[i], room, who[i]);
		tx->members = xcalloc(r->nm + 1, sizeof(*tx->members));
		for (i = 0; i < r->nm; i++) {
			for (j = 0; j < nwho; j++)
				if (strcmp(who[j], r->m[i].name) == 0)
					break;
			if (j == nwho)
				out_roster_warning(c, "roster_mismatch", room,
				    "the server does not list %s in %s, whom "
				    "its signed roster lists: %s gets the room "
				    "key all the same", r->m[i].name, room,
				    r->m[i].name);
			(void)str_copy(tx->members[tx->nmembers++],
			    r->m[i].name, sizeof(*tx->members));
		}
		free(who);
	}
	tx->state = TX_KEYS;
	tx_pump(c, tx);
}

/* Someone joined, left or changed keys: the next message starts a chain. */
void
e2ec_membership(struct client *c, const char *room, uint64_t seq)
{
	struct txroom	*tx;

	/* A room we never wrote to has no chain to replace. */
	if ((tx = tx_find(c, room)) == NULL)
		return;
	tx->stale = 1;
	tx->epoch = (uint32_t)seq;
}

/*
 * /verify: the number of the pinned key and, with a change pending, that
 * of the new key the server shows, each labelled.  Only a key shown here
 * (or in the warning) can be accepted by a /trust without a number.
 */
static void
show_safety_numbers(struct client *c, const char *name)
{
	const struct trust_entry	*te;
	char				 safety[TRUST_SAFETY_LEN];

	if ((te = trust_get(&c->e2e->trust, c->hostport, name)) == NULL)
		return;
	if (trust_safety_number(c->user, c->id->sign_pub, name, te->sign_pub,
	    safety) == 0)
		out_safety_number(c, name, safety, te->sign_pub,
		    te->verified ? "verified" : "pinned", te->changed);
	if (!te->changed)
		return;
	if (trust_safety_number(c->user, c->id->sign_pub, name,
	    te->new_sign_pub, safety) == 0) {
		out_safety_number(c, name, safety, te->new_sign_pub, "changed",
		    0);
		trust_set_shown(&c->e2e->trust, c->hostport, name,
		    te->new_sign_pub);
	}
}

/* KEYS: an answer to our KEYS_GET, or to our PREKEY. */
void
e2ec_keys(struct client *c, const struct frame *f)
{
	struct peer	*p;
	const uint8_t	*sign_pub, *spk_pub, *spk_sig;
	char		 name[NAME_MAX_LEN + 1];
	size_t		 slen, plen, glen;
	uint32_t	 spk_id;
	uint64_t	 created;
	int		 has_spk;

	if (frame_get_str(f, F_NAME, name, sizeof(name)) == -1 ||
	    proto_fold_user(name) == -1 ||
	    frame_get_bytes(f, F_SIGN_PUB, &sign_pub, &slen) == -1 ||
	    slen != 32)
		return;
	if (strcmp(name, c->user) == 0)
		return;		/* our PREKEY stored */
	p = peer_get(c, name, 1);
	p->fetched_ms = now_ms();
	p->state = PEER_READY;
	memcpy(p->sign_pub, sign_pub, 32);
	has_spk = frame_get_u32(f, F_SPK_ID, &spk_id) == 0 &&
	    frame_get_u64(f, F_SPK_CREATED, &created) == 0 &&
	    frame_get_bytes(f, F_SPK_PUB, &spk_pub, &plen) == 0 &&
	    frame_get_bytes(f, F_SPK_SIG, &spk_sig, &glen) == 0 &&
	    plen == 32 && glen == 64;
	p->has_spk = 0;
	if (has_spk && e2e_prekey_verify(sign_pub, spk_id, created, spk_pub,
	    spk_sig) == 0 && created + PREKEY_ERASE_S > wall_ms() / 1000) {
		p->has_spk = 1;
		p->spk_id = spk_id;
		p->spk_created = created;
		memcpy(p->spk_pub, spk_pub, 32);
	} else if (has_spk)
		log_warnx("the prekey the server gave for %s is not signed "
		    "by its identity key, or too old: ignored", name);
	(void)check_identity(c, name, sign_pub, p->named ? KEY_NAMED :
	    KEY_FETCHED);
	if (p->want_verify) {
		p->want_verify = 0;
		show_safety_numbers(c, name);
	}
	roster_pump(c);
	pump_all(c);
}

int
e2ec_peer_key(struct client *c, const char *name, uint8_t key[32])
{
	struct peer	*p = peer_get(c, name, 1);

	peer_named(c, p);	/* an /invite's subject */
	if (peer_need(c, p)) {
		chat_flush(c);
		return 0;
	}
	if (p->state != PEER_READY || !is_trusted(c, name, p->sign_pub))
		return -1;
	memcpy(key, p->sign_pub, 32);
	return 1;
}

/* NO_SUCH_USER for a KEYS_GET: that name cannot be written to. */
void
e2ec_keys_failed(struct client *c, const char *name)
{
	struct peer	*p;

	if ((p = peer_get(c, name, 0)) == NULL)
		return;
	p->state = PEER_FAILED;
	p->fetched_ms = now_ms();
	if (p->want_verify)
		out_error(c, "NO_SUCH_USER", "no user '%s' here", name);
	p->want_verify = 0;
	roster_pump(c);
	pump_all(c);
}

/* Receiving. */

static void
undecryptable(struct client *c, const char *room, const char *from,
    const char *to, uint64_t seq, uint64_t ts, const char *why)
{
	log_warnx("%s%s from %s (seq %llu) not shown: %s",
	    room != NULL ? "message in " : "direct message",
	    room != NULL ? room : "", from, (unsigned long long)seq, why);
	out_undecryptable(c, room, from, to, seq, ts, why);
}

#define NOT_ACCEPTED	"signed by a key you have not accepted: /verify, then " \
			"/trust the sender"

/*
 * Check and open an envelope the server says is from `from`, signed by
 * sign_pub (which check_identity records); the id must be new.  NULL, or
 * why not (*rc says which E2E error, if any).  A key not accepted is
 * not opened unless other_key_ok (a room key, kept apart from the
 * trusted key's: rx_get); a direct message under it would move the
 * counters of the trusted key's.
 */
static const char *
open_envelope(struct client *c, const char *from, const uint8_t *sign_pub,
    int other_key_ok, const uint8_t *env, size_t len, uint8_t *out,
    size_t outsz, size_t *outlen, int *rc, struct e2e_env_hdr *hp)
{
	struct e2e_env_hdr	 h;
	const struct prekey	*pk;

	*rc = E2E_OK;
	if (sign_pub == NULL || e2e_peek(env, len, &h) != E2E_OK)
		return "not an encrypted message";
	if (strcmp(h.sender, from) != 0)
		return "sealed by another sender than the server names";
	if ((pk = prekeys_find(&c->e2e->prekeys, h.spk_id)) == NULL)
		return "sealed to a prekey that is gone (older than 14 days)";
	if (!check_identity(c, from, sign_pub, KEY_SHOWN) && !other_key_ok)
		return NOT_ACCEPTED;
	*rc = e2e_open(env, len, c->user, sign_pub, pk->priv, out, outsz,
	    outlen, &h);
	/*
	 * Remembered as long as the prekey it was sealed to is held.  One
	 * stamped far ahead is not: remembered, it would raise the floor
	 * that a full memory sets past every envelope to come.
	 */
	if (*rc == E2E_OK && h.ts_ms > wall_ms() + E2EC_CLOCK_AHEAD_MS)
		return "stamped more than 10 minutes ahead of this machine's "
		    "clock";
	if (*rc == E2E_OK)
		*rc = e2e_replay_check_add(&c->e2e->replay, h.msg_id,
		    h.spk_id, h.ts_ms);
	if (hp != NULL)
		*hp = h;
	c->e2e->dirty = 1;
	return *rc == E2E_OK ? NULL : e2e_strerror(*rc);
}

/*
 * Our envelope in a bundle (a room message at least BUNDLE_HDR_LEN long):
 * 1 and where it is, 0 if there is none, -1 if the bundle is malformed.
 */
static int
bundle_find(struct client *c, const uint8_t *body, size_t len,
    size_t *offp, size_t *elenp, struct e2e_env_hdr *h)
{
	size_t	 off = BUNDLE_HDR_LEN, n, count, elen;

	count = be16_get(body + 2);
	for (n = 0; n < count; n++) {
		if (len - off < 4 || (elen = be32_get(body + off)) >
		    len - off - 4)
			return -1;
		off += 4;
		if (e2e_peek(body + off, elen, h) == E2E_OK &&
		    strcmp(h->recipient, c->user) == 0) {
			*offp = off;
			*elenp = elen;
			return 1;
		}
		off += elen;
	}
	return 0;
}

/* Whether a room message is a bundle with a room key for us. */
int
e2ec_key_for_us(struct client *c, const uint8_t *body, size_t len)
{
	struct e2e_env_hdr	 h;
	size_t			 off, elen;

	return len >= BUNDLE_HDR_LEN && body[0] == E2E_VERSION &&
	    body[1] == E2E_TYPE_BUNDLE && bundle_find(c, body, len, &off,
	    &elen, &h) == 1 && h.type == E2E_TYPE_SKDM;
}

/* Our envelope in a bundle: learn the sender's chain. */
static void
open_bundle(struct client *c, const char *room, const char *from,
    const uint8_t *sign_pub, const uint8_t *body, size_t len, uint64_t seq,
    uint64_t ts, int held)
{
	struct e2e_env_hdr	 h;
	struct e2e_order	 order;
	uint8_t			 skdm[E2E_SKDM_MAX + 64];
	size_t			 off, elen, skdmlen;
	const char		*why;
	int			 rc, outsider;

	if (strcmp(from, c->user) == 0)
		return;		/* learnt when we made it */
	if ((rc = bundle_find(c, body, len, &off, &elen, &h)) == -1) {
		undecryptable(c, room, from, NULL, seq, ts,
		    "malformed key bundle");
		return;
	}
	if (rc == 0)
		return;		/* a bundle for others: nothing for us */
	if (h.type != E2E_TYPE_SKDM) {
		undecryptable(c, room, from, NULL, seq, ts, "not a room key");
		return;
	}
	if ((why = roster_admits(c, room, from, sign_pub, held,
	    &outsider)) != NULL) {
		/* Before the signature is checked: the server's word. */
		if (outsider)
			out_roster_warning(c, "roster_outsider", room, "the "
			    "server relays a room key of %s in %s, whom the "
			    "signed roster does not make a member under that "
			    "key: refused (%s)", from, room, why);
		undecryptable(c, room, from, NULL, seq, ts, why);
		return;
	}
	why = open_envelope(c, from, sign_pub, 1, body + off, elen, skdm,
	    sizeof(skdm), &skdmlen, &rc, NULL);
	if (why == NULL)
		rc = rx_learn(c, room, from, sign_pub, skdm, skdmlen, &order);
	OPENSSL_cleanse(skdm, sizeof(skdm));
	if (why == NULL && rc != E2E_OK)
		why = e2e_strerror(rc);
	else if (why == NULL && order.missing > 0)
		out_missing(c, room, from, order.missing, 1, ts);
	/* A replayed bundle changes nothing: no need to say it. */
	if (why != NULL && rc != E2E_EREPLAY)
		undecryptable(c, room, from, NULL, seq, ts, why);
}

void
e2ec_room_message(struct client *c, const char *room, const char *from,
    const uint8_t *sign_pub, const uint8_t *body, size_t len, uint64_t seq,
    uint64_t ts, int held)
{
	struct rxchain		*x;
	struct e2e_order	 order;
	struct e2e_group_hdr	 hdr;
	uint8_t			*pt;
	size_t			 ptlen;
	const char		*why;
	int			 rc, outsider;

	if (len < BUNDLE_HDR_LEN || body[0] != E2E_VERSION) {
		undecryptable(c, room, from, NULL, seq, ts, "not encrypted");
		return;
	}
	if (body[1] == E2E_TYPE_BUNDLE) {
		open_bundle(c, room, from, sign_pub, body, len, seq, ts,
		    held);
		return;
	}
	/* Only the trusted key's chains are opened, and their state moved. */
	if ((x = rx_trusted(c, room, from)) == NULL) {
		if (rx_other(c, room, from))
			why = NOT_ACCEPTED;
		else if ((why = roster_admits(c, room, from, sign_pub, held,
		    &outsider)) == NULL || !outsider)
			why = "no key for this chain: sent before we joined, "
			    "or its key never reached us";
		undecryptable(c, room, from, NULL, seq, ts, why);
		return;
	}
	pt = xmalloc(len);
	rc = e2e_group_open_order(&x->r, body, len, pt, len, &ptlen, &hdr,
	    &order);
	if (rc == E2E_OK && strcmp(from, c->user) != 0)
		roster_check_head(c, room, from, hdr.roster_head);
	c->e2e->dirty = 1;
	/* Our own echoes may trail our new chain: no order is claimed. */
	if (strcmp(from, c->user) == 0)
		memset(&order, 0, sizeof(order));
	if (rc == E2E_OK && order.missing > 0)
		out_missing(c, room, from, order.missing, 0, ts);
	if (rc != E2E_OK)
		undecryptable(c, room, from, NULL, seq, ts, e2e_strerror(rc));
	else
		view_message(c, room, from, pt, ptlen, seq, ts, order.late);
	OPENSSL_cleanse(pt, len);
	free(pt);
}

void
e2ec_direct(struct client *c, const char *from, const char *to,
    const uint8_t *sign_pub, const uint8_t *body, size_t len, uint64_t seq,
    uint64_t ts)
{
	struct e2e_env_hdr	 h;
	struct e2e_order	 order;
	uint8_t			*pt;
	size_t			 ptlen;
	const char		*why;
	int			 rc;

	if (len < 2 || body[1] != E2E_TYPE_DM) {
		undecryptable(c, NULL, from, to, seq, ts, "not an encrypted "
		    "direct message");
		return;
	}
	pt = xmalloc(len);
	why = open_envelope(c, from, sign_pub, 0, body, len, pt, len, &ptlen,
	    &rc, &h);
	memset(&order, 0, sizeof(order));
	/* Authentic (signed by the key the server stamped): counted. */
	if (why == NULL) {
		(void)e2e_dm_check(dm_peer_get(c, from), h.stream, h.counter,
		    &order);
		if (order.missing > 0)
			out_missing(c, NULL, from, order.missing, 0, ts);
	}
	if (why != NULL)
		undecryptable(c, NULL, from, to, seq, ts, why);
	else
		view_direct(c, from, to, pt, ptlen, seq, ts, order.late);
	OPENSSL_cleanse(pt, len);
	free(pt);
}

/* Commands. */

/*
 * Does number (as typed) match the safety number of our key and pub?
 * 1 yes, 0 no, -1 (error shown) if it is not a safety number at all.
 */
static int
safety_matches(struct client *c, const char *name, const uint8_t pub[32],
    const char *number)
{
	char	 mine[TRUST_SAFETY_LEN], a[64], b[64];

	if (trust_safety_parse(number, b) == -1) {
		out_error(c, "BAD_NUMBER", "a safety number is 60 digits");
		return -1;
	}
	if (trust_safety_number(c->user, c->id->sign_pub, name, pub,
	    mine) == -1 || trust_safety_parse(mine, a) == -1) {
		out_error(c, "INTERNAL", "cannot compute the safety number");
		return -1;
	}
	return CRYPTO_memcmp(a, b, TRUST_SAFETY_DIGITS) == 0;
}

/*
 * Accept the pending key, the very one the user decided on: with a
 * safety number, the key whose number it is (then verified too); without
 * one, the key last shown to the user (in the warning or by /verify),
 * refused if the server has shown another since.
 */
void
e2ec_trust(struct client *c, const char *name, const char *number)
{
	const struct trust_entry	*te;
	struct txroom			*tx;
	uint8_t				 key[32];
	int				 rv;

	te = trust_get(&c->e2e->trust, c->hostport, name);
	if (te == NULL || !te->changed) {
		out_error(c, "NOT_CHANGED", "the key of %s has not changed: "
		    "nothing to accept", name);
		return;
	}
	memcpy(key, te->new_sign_pub, sizeof(key));
	if (number != NULL &&
	    (rv = safety_matches(c, name, key, number)) != 1) {
		if (rv == 0)
			out_error(c, "MISMATCH", "the safety number of the new "
			    "key of %s does NOT match: not accepted", name);
		return;
	}
	if (number == NULL && !te->shown) {
		out_error(c, "NOT_SHOWN", "the new key of %s was not shown to "
		    "you in this session: /verify @%s shows it, then /trust "
		    "@%s NUMBER", name, name, name);
		return;
	}
	if (trust_accept(&c->e2e->trust, c->hostport, name, key) == -1)
		fatalx("trust_accept of the pending key");
	if (number != NULL &&
	    trust_set_verified(&c->e2e->trust, c->hostport, name) == -1)
		fatalx("trust_set_verified of an accepted key");
	c->e2e->trust_dirty = 1;
	e2ec_save_trust(c);
	TAILQ_FOREACH(tx, &c->e2e->tx, entry)
		tx->stale = 1;
	out_key_event(c, "trusted", name, key, number != NULL ?
	    "verified" : "pinned", "accepted the new key of %s", name);
	if (number != NULL)
		out_key_event(c, "verified", name, key, "verified",
		    "the key of %s is verified", name);
}

void
e2ec_verify(struct client *c, const char *name, const char *number)
{
	const struct trust_entry	*te;
	struct peer			*p;
	int				 rv;

	te = trust_get(&c->e2e->trust, c->hostport, name);
	if (number == NULL) {
		/* Ask the server even when pinned: it shows a change. */
		p = peer_get(c, name, 1);
		peer_named(c, p);
		p->want_verify = 1;
		p->state = PEER_NONE;
		(void)peer_need(c, p);
		chat_flush(c);
		return;
	}
	if (te == NULL) {
		out_error(c, "UNKNOWN_KEY", "no key of %s is pinned yet: "
		    "/verify @%s first", name, name);
		return;
	}
	if (te->changed) {
		out_error(c, "KEY_CHANGED", "the key of %s has changed: "
		    "/trust @%s NUMBER accepts the new one if NUMBER is its "
		    "safety number", name, name);
		return;
	}
	if ((rv = safety_matches(c, name, te->sign_pub, number)) == -1)
		return;
	if (rv == 0) {
		out_error(c, "MISMATCH", "the safety number of %s does NOT "
		    "match: do not trust this key", name);
		return;
	}
	if (trust_set_verified(&c->e2e->trust, c->hostport, name) == -1) {
		out_error(c, "KNOWN_USERS", "cannot record the verification");
		return;
	}
	c->e2e->trust_dirty = 1;
	e2ec_save_trust(c);
	out_key_event(c, "verified", name, te->sign_pub, "verified",
	    "the key of %s is verified", name);
}

int
e2ec_done(struct client *c)
{
	return c->e2e == NULL || c->e2e->npending == 0;
}
