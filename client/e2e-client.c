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
 * What the server says is name's identity key, against known_users: the
 * first key is pinned; a different one is announced once and not trusted
 * until the user accepts it.  Returns 1 if the key is the trusted one.
 */
static int
check_identity(struct client *c, const char *name, const uint8_t key[32])
{
	struct e2ec		*e = c->e2e;
	struct txroom		*tx;
	struct peer		*p;
	enum trust_result	 res;
	char			 err[512], hex[65];

	if (strcmp(name, c->user) == 0)
		return memcmp(key, c->id->sign_pub, 32) == 0;
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
		if (trust_save(&e->trust, err, sizeof(err)) == -1)
			out_error(c, "KNOWN_USERS", "%s", err);
		/* Every new key is shown: the server could invent members. */
		hex_encode(key, 32, hex);
		out_notice(c, "key_pinned", "first key seen for %s, pinned: "
		    "%s (/verify @%s to check it)", name, hex, name);
		return 1;
	case TRUST_CHANGED:
		if (trust_save(&e->trust, err, sizeof(err)) == -1)
			out_error(c, "KNOWN_USERS", "%s", err);
		out_user_key_changed(c, name, key);
		/* Our chains reached the old key: the next ones must not. */
		TAILQ_FOREACH(tx, &e->tx, entry)
			tx->stale = 1;
		return 0;
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

/* Receivers: what others' chains we hold, per room and sender. */

static struct rxchain *
rx_get(struct client *c, const char *room, const char *sender, int create)
{
	struct e2ec	*e = c->e2e;
	struct rxchain	*x;

	TAILQ_FOREACH(x, &e->rx, entry)
		if (strcmp(x->r.room, room) == 0 &&
		    strcmp(x->r.sender, sender) == 0)
			return x;
	if (!create)
		return NULL;
	if (e->nrx >= E2EC_RX_MAX) {
		/* The oldest is the least likely to be needed again. */
		x = TAILQ_FIRST(&e->rx);
		TAILQ_REMOVE(&e->rx, x, entry);
		e2e_group_receiver_free(&x->r);
		free(x);
		e->nrx--;
	}
	x = xcalloc(1, sizeof(*x));
	if (e2e_group_receiver_init(&x->r, room, sender) != E2E_OK)
		fatalx("e2e_group_receiver_init");
	TAILQ_INSERT_TAIL(&e->rx, x, entry);
	e->nrx++;
	return x;
}

/* Learn a chain; a new identity key starts the sender's chains afresh. */
static int
rx_learn(struct client *c, const char *room, const char *sender,
    const uint8_t id_pub[32], const uint8_t *skdm, size_t len)
{
	struct rxchain	*x = rx_get(c, room, sender, 1);
	int		 rc;

	if (memcmp(x->id_pub, id_pub, 32) != 0) {
		e2e_group_receiver_free(&x->r);
		if (e2e_group_receiver_init(&x->r, room, sender) != E2E_OK)
			fatalx("e2e_group_receiver_init");
		memcpy(x->id_pub, id_pub, 32);
	}
	rc = e2e_group_receiver_add_skdm(&x->r, sender, skdm, len);
	c->e2e->dirty = 1;
	return rc;
}

/* Rooms: our outbound chains. */

static struct txroom *
tx_get(struct client *c, const char *room)
{
	struct txroom	*tx;

	TAILQ_FOREACH(tx, &c->e2e->tx, entry)
		if (strcmp(tx->room, room) == 0)
			return tx;
	tx = xcalloc(1, sizeof(*tx));
	(void)str_copy(tx->room, room, sizeof(tx->room));
	TAILQ_INIT(&tx->pending);
	TAILQ_INSERT_TAIL(&c->e2e->tx, tx, entry);
	return tx;
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
	TAILQ_INSERT_TAIL(q, p, entry);
	c->e2e->npending++;
	return 0;
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
	struct peer	*p;
	uint8_t		 skdm[E2E_SKDM_MAX], *bundle, *env;
	size_t		 skdmlen, i, blen = 0, envlen, envmax, bmax, count = 0;

	bmax = c->max_frame - SEND_OVERHEAD;
	bundle = xmalloc(bmax);
	if (tx->has_chain)
		e2e_chain_wipe(&tx->chain);
	if (e2e_chain_new(&tx->chain, wall_ms()) != E2E_OK ||
	    e2e_rotation_deadline(wall_ms(), c->rekey_min_s,
	    c->rekey_max_s, &tx->deadline_ms) != E2E_OK ||
	    e2e_chain_skdm(&tx->chain, tx->room, tx->epoch, skdm,
	    sizeof(skdm), &skdmlen) != E2E_OK)
		fatalx("cannot start a sender-key chain");
	tx->has_chain = 1;
	tx->stale = 0;
	tx->rekeys++;
	/* Our own echo of the room must open too. */
	if (rx_learn(c, tx->room, c->user, c->id->sign_pub, skdm,
	    skdmlen) != E2E_OK)
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
			struct outmsg	*m;

			tx->state = TX_WHO;
			m = outbox_add(&c->outbox, MSG_WHO, tx->room, NULL,
			    NULL, 0);
			m->quiet = 1;
			break;
		}
		outsz = e2e_group_seal_size(tx->room, c->user,
		    strlen(p->text));
		out = xmalloc(outsz);
		if (e2e_group_seal(&tx->chain, tx->room, c->user, tx->epoch,
		    p->text, strlen(p->text), now, out, outsz, &outlen) !=
		    E2E_OK)
			fatalx("e2e_group_seal");
		(void)queue_send(c, tx->room, NULL, out, outlen, p->text, 0);
		free(out);
		e2ec_pending_pop(c->e2e, &tx->pending, p);
	}
	chat_flush(c);
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

	while ((d = TAILQ_FIRST(&e->dms)) != NULL) {
		p = peer_get(c, d->to, 1);
		if (peer_need(c, p))
			break;
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
			outsz = e2e_seal_size(c->user, d->to,
			    strlen(d->text));
			out = xmalloc(outsz);
			if (e2e_seal(c->id->sign_priv, c->user, d->to,
			    p->spk_id, p->spk_pub, E2E_TYPE_DM, d->text,
			    strlen(d->text), wall_ms(), out, outsz,
			    &outlen) != E2E_OK)
				fatalx("e2e_seal");
			(void)queue_send(c, NULL, d->to, out, outlen, d->text,
			    0);
			free(out);
		}
		e2ec_pending_pop(c->e2e, &e->dms, d);
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
	struct txroom	*tx = tx_get(c, room);
	const uint8_t	*p = list, *end = list + len;
	char		 user[NAME_MAX_LEN + 1], state[16];

	free(tx->members);
	tx->members = NULL;
	tx->nmembers = 0;
	while (out_list_next(&p, end, user, sizeof(user), state,
	    sizeof(state))) {
		if (proto_fold_user(user) == -1)
			continue;
		tx->members = xreallocarray(tx->members, tx->nmembers + 1,
		    sizeof(*tx->members));
		(void)str_copy(tx->members[tx->nmembers++], user,
		    sizeof(*tx->members));
	}
	tx->state = TX_KEYS;
	tx_pump(c, tx);
}

/* Someone joined, left or changed keys: the next message starts a chain. */
void
e2ec_membership(struct client *c, const char *room, uint64_t seq)
{
	struct txroom	*tx = tx_get(c, room);

	tx->stale = 1;
	tx->epoch = (uint32_t)seq;
}

/* KEYS: an answer to our KEYS_GET, or to our PREKEY. */
void
e2ec_keys(struct client *c, const struct frame *f)
{
	struct peer	*p;
	const uint8_t	*sign_pub, *spk_pub, *spk_sig;
	char		 name[NAME_MAX_LEN + 1], safety[TRUST_SAFETY_LEN];
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
	(void)check_identity(c, name, sign_pub);
	if (p->want_verify) {
		p->want_verify = 0;
		if (trust_safety_number(c->user, c->id->sign_pub, name,
		    sign_pub, safety) == 0)
			out_safety_number(c, name, safety,
			    trust_get(&c->e2e->trust, c->hostport, name));
	}
	pump_all(c);
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

/*
 * Check and open an envelope the server says is from `from`, signed by
 * sign_pub (which check_identity records); the id must be new.  NULL, or
 * why not (*rc says which E2E error, if any).
 */
static const char *
open_envelope(struct client *c, const char *from, const uint8_t *sign_pub,
    const uint8_t *env, size_t len, uint8_t *out, size_t outsz,
    size_t *outlen, int *rc)
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
	(void)check_identity(c, from, sign_pub);
	*rc = e2e_open(env, len, c->user, sign_pub, pk->priv, out, outsz,
	    outlen, &h);
	if (*rc == E2E_OK)
		*rc = e2e_seen_check_add(&c->e2e->seen, h.msg_id);
	c->e2e->dirty = 1;
	return *rc == E2E_OK ? NULL : e2e_strerror(*rc);
}

/* Our envelope in a bundle: learn the sender's chain. */
static void
open_bundle(struct client *c, const char *room, const char *from,
    const uint8_t *sign_pub, const uint8_t *body, size_t len, uint64_t seq,
    uint64_t ts)
{
	struct e2e_env_hdr	 h;
	uint8_t			 skdm[E2E_SKDM_MAX + 64];
	size_t			 off = BUNDLE_HDR_LEN, n, count, elen, skdmlen;
	const char		*why;
	int			 rc;

	if (strcmp(from, c->user) == 0)
		return;		/* learnt when we made it */
	count = be16_get(body + 2);
	for (n = 0; n < count; n++) {
		if (len - off < 4 || (elen = be32_get(body + off)) >
		    len - off - 4) {
			undecryptable(c, room, from, NULL, seq, ts,
			    "malformed key bundle");
			return;
		}
		off += 4;
		if (e2e_peek(body + off, elen, &h) == E2E_OK &&
		    strcmp(h.recipient, c->user) == 0)
			break;
		off += elen;
	}
	if (n == count)
		return;		/* a bundle for others: nothing for us */
	if (h.type != E2E_TYPE_SKDM) {
		undecryptable(c, room, from, NULL, seq, ts, "not a room key");
		return;
	}
	why = open_envelope(c, from, sign_pub, body + off, elen, skdm,
	    sizeof(skdm), &skdmlen, &rc);
	if (why == NULL)
		rc = rx_learn(c, room, from, sign_pub, skdm, skdmlen);
	OPENSSL_cleanse(skdm, sizeof(skdm));
	if (why == NULL && rc != E2E_OK)
		why = e2e_strerror(rc);
	/* A replayed bundle changes nothing: no need to say it. */
	if (why != NULL && rc != E2E_EREPLAY)
		undecryptable(c, room, from, NULL, seq, ts, why);
}

void
e2ec_room_message(struct client *c, const char *room, const char *from,
    const uint8_t *sign_pub, const uint8_t *body, size_t len, uint64_t seq,
    uint64_t ts)
{
	struct rxchain	*x;
	uint8_t		*pt;
	size_t		 ptlen;
	int		 rc;

	if (len < BUNDLE_HDR_LEN || body[0] != E2E_VERSION) {
		undecryptable(c, room, from, NULL, seq, ts, "not encrypted");
		return;
	}
	if (body[1] == E2E_TYPE_BUNDLE) {
		open_bundle(c, room, from, sign_pub, body, len, seq, ts);
		return;
	}
	if ((x = rx_get(c, room, from, 0)) == NULL) {
		undecryptable(c, room, from, NULL, seq, ts, "no key for this "
		    "chain: sent before we joined, or its key never reached "
		    "us");
		return;
	}
	pt = xmalloc(len);
	rc = e2e_group_open(&x->r, body, len, pt, len, &ptlen, NULL);
	c->e2e->dirty = 1;
	if (rc != E2E_OK)
		undecryptable(c, room, from, NULL, seq, ts, e2e_strerror(rc));
	else if (!is_trusted(c, from, x->id_pub))
		undecryptable(c, room, from, NULL, seq, ts, "signed by a key "
		    "you have not accepted: /verify, then /trust the sender");
	else
		out_message(c, room, from, pt, ptlen, seq, ts);
	OPENSSL_cleanse(pt, len);
	free(pt);
}

void
e2ec_direct(struct client *c, const char *from, const char *to,
    const uint8_t *sign_pub, const uint8_t *body, size_t len, uint64_t seq,
    uint64_t ts)
{
	uint8_t		*pt;
	size_t		 ptlen;
	const char	*why;
	int		 rc;

	if (len < 2 || body[1] != E2E_TYPE_DM) {
		undecryptable(c, NULL, from, to, seq, ts, "not an encrypted "
		    "direct message");
		return;
	}
	pt = xmalloc(len);
	why = open_envelope(c, from, sign_pub, body, len, pt, len, &ptlen, &rc);
	if (why != NULL)
		undecryptable(c, NULL, from, to, seq, ts, why);
	else if (!is_trusted(c, from, sign_pub))
		undecryptable(c, NULL, from, to, seq, ts, "signed by a key you "
		    "have not accepted: /verify, then /trust the sender");
	else
		out_direct(c, from, to, pt, ptlen, seq, ts);
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
 * Accept the pending key.  With a safety number, only if it is the
 * number of that key (not of one that replaced it since it was shown),
 * and then it is verified too.
 */
void
e2ec_trust(struct client *c, const char *name, const char *number)
{
	const struct trust_entry	*te;
	struct txroom			*tx;
	char				 err[512];
	int				 rv;

	te = trust_get(&c->e2e->trust, c->hostport, name);
	if (te == NULL || !te->changed) {
		out_error(c, "NOT_CHANGED", "the key of %s has not changed: "
		    "nothing to accept", name);
		return;
	}
	if (number != NULL &&
	    (rv = safety_matches(c, name, te->new_sign_pub, number)) != 1) {
		if (rv == 0)
			out_error(c, "MISMATCH", "the safety number of the new "
			    "key of %s does NOT match: not accepted", name);
		return;
	}
	if (trust_accept(&c->e2e->trust, c->hostport, name) == -1)
		fatalx("trust_accept of a pending key");
	if (number != NULL &&
	    trust_set_verified(&c->e2e->trust, c->hostport, name) == -1)
		fatalx("trust_set_verified of an accepted key");
	if (trust_save(&c->e2e->trust, err, sizeof(err)) == -1)
		out_error(c, "KNOWN_USERS", "%s", err);
	TAILQ_FOREACH(tx, &c->e2e->tx, entry)
		tx->stale = 1;
	out_notice(c, "trusted", "accepted the new key of %s", name);
	if (number != NULL)
		out_notice(c, "verified", "the key of %s is verified", name);
}

void
e2ec_verify(struct client *c, const char *name, const char *number)
{
	const struct trust_entry	*te;
	struct peer			*p;
	char				 err[512];
	int				 rv;

	te = trust_get(&c->e2e->trust, c->hostport, name);
	if (number == NULL) {
		/* Ask the server even when pinned: it shows a change. */
		p = peer_get(c, name, 1);
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
	if (trust_set_verified(&c->e2e->trust, c->hostport, name) == -1 ||
	    trust_save(&c->e2e->trust, err, sizeof(err)) == -1) {
		out_error(c, "KNOWN_USERS", "cannot record the verification");
		return;
	}
	out_notice(c, "verified", "the key of %s is verified", name);
}

int
e2ec_done(struct client *c)
{
	return c->e2e == NULL || c->e2e->npending == 0;
}
