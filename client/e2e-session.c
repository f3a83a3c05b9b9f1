/*
 * e2e-session.c: the life of the client's encryption state: prekeys
 * loaded, rotated and published, known_users loaded, and what we learnt
 * of others' chains kept across restarts in a file sealed to our identity.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "client.h"
#include "e2e-client.h"
#include "e2e-state.h"
#include "frame.h"
#include "identity.h"
#include "localfile.h"
#include "log.h"
#include "output.h"
#include "util.h"
#include "xmalloc.h"

#define STATE_LABEL		"e2e-state"
#define STATE_VERSION		2	/* 1: the seen ring instead of records */

/* An envelope to an erased prekey cannot open: its id may go. */
static void
replay_retain(struct e2ec *e)
{
	uint32_t	 held[PREKEYS_MAX];
	size_t		 i;

	for (i = 0; i < e->prekeys.n; i++)
		held[i] = e->prekeys.v[i].id;
	if (e2e_replay_retain(&e->replay, held, e->prekeys.n) > 0)
		e->dirty = 1;
}

/*
 * Rotate and erase by the calendar; publish again when it changed.  Until
 * the server says the backlog is all sent (CAUGHT_UP), or an hour after
 * login with a server that does not say it, expired private halves are
 * kept: what was sealed to them while we were away must still open.
 */
static int
prekeys_refresh(struct client *c, int *changed)
{
	struct e2ec	*e = c->e2e;
	struct prekeys	 fresh;
	char		 err[512];

	/* A damaged file leaves the keys in memory as they were. */
	if (prekeys_load(e->prekeys_file, c->id, wall_ms() / 1000,
	    e->may_erase, &fresh, changed, err, sizeof(err)) == -1) {
		out_error(c, "PREKEYS", "%s", err);
		return -1;
	}
	if (fresh.dropped > 0)
		out_notice(c, "prekey_dropped", "%zu prekeys dated more than a "
		    "day ahead (was the clock ahead?) were erased; a new one "
		    "is published", fresh.dropped);
	prekeys_wipe(&e->prekeys);
	e->prekeys = fresh;
	prekeys_wipe(&fresh);
	replay_retain(e);
	return 0;
}

static void
publish_prekey(struct client *c)
{
	struct outmsg	*m;

	/* One not yet sent will carry the current prekey when it goes. */
	TAILQ_FOREACH(m, &c->outbox.q, entry)
		if (m->type == MSG_PREKEY && !m->sent)
			return;
	m = outbox_add(&c->outbox, MSG_PREKEY, NULL, NULL, NULL, 0);
	m->quiet = 1;
}

static void
prekey_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	struct timeval	 tv = { E2EC_PREKEY_CHECK_S, 0 };
	int		 changed = 0;

	c->e2e->may_erase = 1;
	if (prekeys_refresh(c, &changed) == 0 && changed) {
		publish_prekey(c);
		chat_flush(c);
	}
	if (evtimer_add(c->e2e->ev_prekey, &tv) == -1)
		fatalx("evtimer_add");
}

/* The backlog is in: keys that expired while we were away may go now. */
void
e2ec_caught_up(struct client *c)
{
	int	 changed = 0;

	if (c->e2e->may_erase)
		return;
	c->e2e->may_erase = 1;
	if (prekeys_refresh(c, &changed) == 0 && changed) {
		publish_prekey(c);
		chat_flush(c);
	}
}

/* The PREKEY frame: the current prekey, as signed by our identity. */
void
e2ec_put_prekey(struct client *c, struct frame_buf *b)
{
	const struct prekey	*pk = prekeys_current(&c->e2e->prekeys);

	frame_put_u32(b, F_SPK_ID, pk->id);
	frame_put_bytes(b, F_SPK_PUB, pk->pub, sizeof(pk->pub));
	frame_put_u64(b, F_SPK_CREATED, pk->created_s);
	frame_put_bytes(b, F_SPK_SIG, pk->sig, sizeof(pk->sig));
}

/* Logged in: the server gets our current prekey before anything else. */
void
e2ec_logged_in(struct client *c)
{
	struct e2ec	*e = c->e2e;
	struct outmsg	*m;
	struct timeval	 tv = { E2EC_PREKEY_CHECK_S, 0 };

	if (e->ev_prekey == NULL &&
	    ((e->ev_prekey = evtimer_new(c->base, prekey_timer_cb, c)) ==
	    NULL || evtimer_add(e->ev_prekey, &tv) == -1))
		fatalx("evtimer");
	TAILQ_FOREACH(m, &c->outbox.q, entry)
		if (m->type == MSG_PREKEY)
			return;		/* still queued: resent as it is */
	publish_prekey(c);
	/* First in line, so that nobody finds us without one. */
	m = TAILQ_LAST(&c->outbox.q, outlist);
	TAILQ_REMOVE(&c->outbox.q, m, entry);
	TAILQ_INSERT_HEAD(&c->outbox.q, m, entry);
}

/*
 * Version 1 kept the last 4096 envelope ids in a ring: they carry over
 * as ids of the newest prekey held, kept until it is erased, which is
 * as long as any prekey they could have been sealed to.
 */
static int
seen_carry_over(struct e2ec *e, const uint8_t *buf, size_t len,
    size_t *used)
{
	struct e2e_seen		*old;
	const struct prekey	*pk = prekeys_current(&e->prekeys);
	size_t			 i;
	int			 rc;

	old = xmalloc(sizeof(*old));
	if ((rc = e2e_seen_state_read(old, buf, len, used)) == E2E_OK)
		for (i = 0; i < old->count && rc == E2E_OK; i++)
			rc = e2e_replay_check_add(&e->replay, old->ids[i],
			    pk != NULL ? pk->id : 0, 0);
	free(old);
	return rc == E2E_OK ? 0 : -1;
}

/*
 * The records after the receivers, each at most once: the replay set,
 * the direct-message counters, our chain ends.  -1 if damaged.
 */
static int
state_records(struct client *c, const uint8_t *buf, size_t len)
{
	struct e2ec		*e = c->e2e;
	struct e2e_chain_end	*ends;
	struct e2e_dm_peer	*dm;
	struct e2e_roster	*rosters;
	size_t			 off = 0, used, n, i;
	unsigned		 seen = 0;
	int			 rc;

	while (off < len) {
		if (len - off < 2 || buf[off + 1] > 31 ||
		    (seen & (1u << buf[off + 1])) != 0)
			return -1;
		seen |= 1u << buf[off + 1];
		switch (buf[off + 1]) {
		case E2E_STATE_REPLAY:
			rc = e2e_replay_state_read(&e->replay, buf + off,
			    len - off, &used);
			/* A floor a flood pushed ahead comes back. */
			e2e_replay_clamp(&e->replay, wall_ms() +
			    E2EC_CLOCK_AHEAD_MS);
			break;
		case E2E_STATE_DM:
			if ((rc = e2e_dm_state_read(&dm, &n, buf + off,
			    len - off, &used)) != E2E_OK)
				break;
			free(e->dm);
			e->dm = dm;
			e->ndm = e->dmcap = n;
			break;
		case E2E_STATE_ROSTERS:
			if ((rc = e2e_rosters_state_read(&rosters, &n,
			    buf + off, len - off, &used)) != E2E_OK)
				break;
			roster_import(c, rosters, n);
			free(rosters);
			break;
		case E2E_STATE_ENDS:
			if ((rc = e2e_ends_state_read(&ends, &n, buf + off,
			    len - off, &used)) != E2E_OK)
				break;
			for (i = 0; i < n; i++)
				e2ec_tx_restore(c, &ends[i]);
			free(ends);
			break;
		default:
			return -1;
		}
		if (rc != E2E_OK)
			return -1;
		off += used;
	}
	return 0;
}

/*
 * State file: u8 version, u32 count, then count times (identity key,
 * receiver record), then the records of state_records (version 1: the
 * seen ring alone).  Sealed by localfile.
 */
static int
state_load(struct client *c, char *err, size_t errsz)
{
	struct e2ec	*e = c->e2e;
	struct rxchain	*x;
	uint8_t		*buf = NULL;
	size_t		 len = 0, off, used, n, count;
	int		 rv;

	rv = localfile_read(e->state_file, c->id->dh_priv, STATE_LABEL, &buf,
	    &len, err, errsz);
	if (rv != 0)
		return rv == 1 ? 0 : -1;
	rv = -1;
	if (len < 5 || (buf[0] != STATE_VERSION && buf[0] != 1))
		goto bad;
	count = be32_get(buf + 1);
	off = 5;
	if (count > E2EC_RX_MAX)
		goto bad;
	for (n = 0; n < count; n++) {
		if (len - off < 32)
			goto bad;
		x = xcalloc(1, sizeof(*x));
		memcpy(x->id_pub, buf + off, 32);
		off += 32;
		if (e2e_receiver_state_read(&x->r, buf + off, len - off,
		    &used) != E2E_OK) {
			free(x);
			goto bad;
		}
		off += used;
		TAILQ_INSERT_TAIL(&e->rx, x, entry);
		e->nrx++;
	}
	if (buf[0] == 1) {
		if (seen_carry_over(e, buf + off, len - off, &used) == -1 ||
		    off + used != len)
			goto bad;
		e->dirty = 1;
	} else if (state_records(c, buf + off, len - off) == -1)
		goto bad;
	rv = 0;
bad:
	if (rv == -1)
		(void)snprintf(err, errsz, "%s is damaged: move it away to "
		    "start afresh (messages on chains it held will not "
		    "open)", e->state_file);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rv;
}

void
e2ec_save_trust(struct client *c)
{
	struct e2ec	*e = c->e2e;
	char		 err[512];

	if (e == NULL || !e->trust_dirty)
		return;
	if (e->ev_trust != NULL)
		(void)evtimer_del(e->ev_trust);
	if (trust_save(&e->trust, err, sizeof(err)) == -1) {
		out_error(c, "KNOWN_USERS", "%s", err);
		return;
	}
	e->trust_dirty = 0;
}

/*
 * Others' chains held, skipped keys and all, can outgrow what the state
 * file may hold (a server inventing senders that skip ahead): then the
 * oldest receivers go, as when there are too many, rather than a state
 * that can no longer be written and a DELIVERED that never goes out.
 * Returns the receivers' share of the file.
 */
static size_t
rx_fit(struct client *c, size_t rest)
{
	struct e2ec	*e = c->e2e;
	struct rxchain	*x;
	size_t		 total = 0, dropped = 0;

	TAILQ_FOREACH(x, &e->rx, entry)
		total += 32 + e2e_receiver_state_size(&x->r);
	while (rest + total > E2EC_STATE_MAX &&
	    (x = TAILQ_FIRST(&e->rx)) != NULL) {
		total -= 32 + e2e_receiver_state_size(&x->r);
		e2ec_rx_drop(c, x);
		dropped++;
	}
	if (dropped > 0)
		out_notice(c, "keys_dropped", "others' room keys dropped, the "
		    "oldest, to keep the state file under %u bytes: %zu",
		    (unsigned int)E2EC_STATE_MAX, dropped);
	return total;
}

/* Write the state file if anything changed since the last time. */
int
e2ec_save(struct client *c)
{
	struct e2ec		*e = c->e2e;
	struct rxchain		*x;
	struct e2e_chain_end	*ends;
	struct e2e_roster	*rosters;
	uint8_t			*buf;
	size_t			 len = 5, off, n, nends, nrosters;
	char			 err[512];
	int			 rv;

	e2ec_save_trust(c);
	if (e == NULL || !e->dirty)
		return 0;
	nends = e2ec_tx_ends(c, &ends);
	nrosters = roster_export(c, &rosters);
	len += e2e_replay_state_size(&e->replay) +
	    e2e_dm_state_size(e->dm, e->ndm) +
	    e2e_ends_state_size(ends, nends) +
	    e2e_rosters_state_size(rosters, nrosters);
	len += rx_fit(c, len);
	buf = xmalloc(len);
	buf[0] = STATE_VERSION;
	be32_put(buf + 1, (uint32_t)e->nrx);
	off = 5;
	TAILQ_FOREACH(x, &e->rx, entry) {
		memcpy(buf + off, x->id_pub, 32);
		off += 32;
		if (e2e_receiver_state_write(&x->r, buf + off, len - off,
		    &n) != E2E_OK)
			fatalx("e2e_receiver_state_write");
		off += n;
	}
	if (e2e_replay_state_write(&e->replay, buf + off, len - off, &n) !=
	    E2E_OK)
		fatalx("e2e_replay_state_write");
	off += n;
	if (e2e_dm_state_write(e->dm, e->ndm, buf + off, len - off, &n) !=
	    E2E_OK)
		fatalx("e2e_dm_state_write");
	off += n;
	if (e2e_ends_state_write(ends, nends, buf + off, len - off, &n) !=
	    E2E_OK)
		fatalx("e2e_ends_state_write");
	off += n;
	free(ends);
	if (e2e_rosters_state_write(rosters, nrosters, buf + off, len - off,
	    &n) != E2E_OK)
		fatalx("e2e_rosters_state_write");
	off += n;
	free(rosters);
	rv = localfile_write(e->state_file, c->id->dh_priv, STATE_LABEL, buf,
	    off, err, sizeof(err));
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (rv == -1) {
		out_error(c, "E2E_STATE", "%s", err);
		return -1;
	}
	e->dirty = 0;
	return 0;
}

int
e2ec_init(struct client *c)
{
	struct e2ec	*e;
	char		 err[512], *path;
	int		 changed = 0;

	c->e2e = e = xcalloc(1, sizeof(*e));
	TAILQ_INIT(&e->peers);
	TAILQ_INIT(&e->tx);
	TAILQ_INIT(&e->rx);
	TAILQ_INIT(&e->dms);
	TAILQ_INIT(&e->rosters);
	e2e_replay_init(&e->replay);
	e->pin_tokens = E2EC_PIN_BURST;
	e->pin_refilled_ms = now_ms();
	(void)xasprintf(&e->prekeys_file, "%s/%s.prekeys", c->home, c->user);
	(void)xasprintf(&e->state_file, "%s/%s@%s_%u.e2e", c->home, c->user,
	    c->host, c->port);
	(void)xasprintf(&path, "%s/known_users", c->home);
	if (trust_load(&e->trust, path, err, sizeof(err)) == -1) {
		free(path);
		out_error(c, "KNOWN_USERS", "%s", err);
		return -1;
	}
	free(path);
	if (prekeys_refresh(c, &changed) == -1)
		return -1;
	if (state_load(c, err, sizeof(err)) == -1) {
		out_error(c, "E2E_STATE", "%s", err);
		return -1;
	}
	replay_retain(e);
	return 0;
}

void
e2ec_free(struct client *c)
{
	struct e2ec	*e = c->e2e;
	struct peer	*p;
	struct txroom	*tx;
	struct rxchain	*x;
	struct pending	*d;

	if (e == NULL)
		return;
	(void)e2ec_save(c);
	if (e->ev_prekey != NULL)
		event_free(e->ev_prekey);
	if (e->ev_trust != NULL)
		event_free(e->ev_trust);
	while ((p = TAILQ_FIRST(&e->peers)) != NULL) {
		TAILQ_REMOVE(&e->peers, p, entry);
		free(p);
	}
	while ((tx = TAILQ_FIRST(&e->tx)) != NULL) {
		TAILQ_REMOVE(&e->tx, tx, entry);
		while ((d = TAILQ_FIRST(&tx->pending)) != NULL)
			e2ec_pending_pop(e, &tx->pending, d);
		e2e_chain_wipe(&tx->chain);
		free(tx->members);
		free(tx);
	}
	while ((x = TAILQ_FIRST(&e->rx)) != NULL) {
		TAILQ_REMOVE(&e->rx, x, entry);
		e2e_group_receiver_free(&x->r);
		free(x);
	}
	while ((d = TAILQ_FIRST(&e->dms)) != NULL)
		e2ec_pending_pop(e, &e->dms, d);
	prekeys_wipe(&e->prekeys);
	e2e_replay_free(&e->replay);
	free(e->dm);
	roster_free_all(c);
	trust_free(&e->trust);
	free(e->prekeys_file);
	free(e->state_file);
	free(e);
	c->e2e = NULL;
}

/* /status, per room: our chain and what we know of the members' keys. */
void
e2ec_status(struct client *c, struct jbuf *jb)
{
	const struct trust_entry	*te;
	const struct prekey		*pk;
	struct txroom			*tx;
	const char			*state;
	uint64_t			 age;
	size_t				 i, pinned, verified;
	int				 n = 0, nfields = 0;

	if (c->e2e == NULL)
		return;
	if (jb != NULL)
		jb_num(jb, "prekeys", c->e2e->prekeys.n);
	else if ((pk = prekeys_current(&c->e2e->prekeys)) != NULL)
		out_human_at(stdout, 0, "status: %zu prekeys held, the current "
		    "one %08x", c->e2e->prekeys.n, pk->id);
	if (jb != NULL) {
		nfields = jb->nfields;
		jb_key(jb, "rooms");
		jb_adds(jb, "[");
	}
	TAILQ_FOREACH(tx, &c->e2e->tx, entry) {
		age = tx->has_chain ? (wall_ms() - tx->chain.created_ms) / 1000 :
		    0;
		pinned = verified = 0;
		for (i = 0; i < tx->nmembers; i++) {
			te = trust_get(&c->e2e->trust, c->hostport,
			    tx->members[i]);
			if (te != NULL && !te->changed)
				pinned++;
			if (te != NULL && !te->changed && te->verified)
				verified++;
		}
		if (jb == NULL) {
			out_human_at(stdout, 0, "status: %s: chain %08x, %llu s "
			    "old, %u sent, %u rekeys; of %zu others, %zu "
			    "pinned, %zu verified", tx->room,
			    tx->has_chain ? tx->chain.chain_id : 0,
			    (unsigned long long)age, tx->has_chain ?
			    tx->chain.sent : 0, tx->rekeys,
			    tx->nmembers > 0 ? tx->nmembers - 1 : 0, pinned,
			    verified);
			continue;
		}
		/* Nested objects: jb_key opens each at its first field. */
		if (n++ > 0)
			jb_adds(jb, ",");
		jb->nfields = 0;
		jb_str(jb, "room", tx->room);
		jb_num(jb, "chain", tx->has_chain ? tx->chain.chain_id : 0);
		jb_num(jb, "chain_age_s", age);
		jb_num(jb, "chain_messages", tx->has_chain ?
		    tx->chain.sent : 0);
		jb_num(jb, "rekeys", tx->rekeys);
		jb_key(jb, "members");
		jb_adds(jb, "[");
		for (i = 0; i < tx->nmembers; i++) {
			te = trust_get(&c->e2e->trust, c->hostport,
			    tx->members[i]);
			state = strcmp(tx->members[i], c->user) == 0 ? "self" :
			    te == NULL ? "unknown" : te->changed ? "changed" :
			    te->verified ? "verified" : "pinned";
			if (i > 0)
				jb_adds(jb, ",");
			jb->nfields = 0;
			jb_str(jb, "user", tx->members[i]);
			jb_str(jb, "key", state);
			jb_adds(jb, "}");
		}
		jb_adds(jb, "]}");
	}
	if (jb != NULL) {
		jb_adds(jb, "]");
		jb->nfields = nfields + 1;
	}
	roster_status(c, jb);
}
