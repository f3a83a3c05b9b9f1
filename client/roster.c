/*
 * roster.c: the client's view of each room's signed roster (docs/E2E.md
 * 9).  It fetches and verifies the chain, signs its own entries (join,
 * part, and an admin's invite or removal), follows the entries the
 * server relays with joins and parts, and says so whenever what the
 * server shows disagrees with what was signed: room keys go only to the
 * members of the verified roster (e2e-client.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client.h"
#include "e2e-client.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "output.h"
#include "util.h"
#include "xmalloc.h"

#define ROSTER_RETRIES		3	/* conflicts before an op gives up */
/* What a held message counts in E2EC_HELD_BYTES_MAX: an empty one too. */
#define HELD_COST(len)		((len) + sizeof(struct held_event))

static const uint8_t	 zero_hash[E2E_HASH_LEN];

static const char *
mark_name(uint8_t mark)
{
	switch (mark) {
	case RR_VERIFIED:
		return "verified";
	case RR_UNVERIFIED:
		return "unverified";
	case RR_BROKEN:
		return "broken";
	default:
		return "unknown";
	}
}

static struct rroom *
rr_find(struct client *c, const char *room)
{
	struct rroom	*rr;

	TAILQ_FOREACH(rr, &c->e2e->rosters, entry)
		if (strcmp(rr->r.room, room) == 0)
			return rr;
	return NULL;
}

/* Made for rooms we are in or act on; bounded like the state record. */
static struct rroom *
rr_get(struct client *c, const char *room)
{
	struct e2ec	*e = c->e2e;
	struct rroom	*rr;

	if ((rr = rr_find(c, room)) != NULL)
		return rr;
	if (e->nrosters >= E2EC_ROSTERS_MAX) {
		if (!e->rosters_full)
			out_error(c, "TOO_MANY", "rosters of more than %d "
			    "rooms: %s and any further room are not followed",
			    E2EC_ROSTERS_MAX, room);
		e->rosters_full = 1;
		return NULL;
	}
	rr = xcalloc(1, sizeof(*rr));
	if (e2e_roster_init(&rr->r, room) != E2E_OK)
		fatalx("e2e_roster_init");
	TAILQ_INSERT_TAIL(&e->rosters, rr, entry);
	e->nrosters++;
	return rr;
}

static void
send_get(struct client *c, struct rroom *rr)
{
	struct frame_buf	 b;

	rr->syncing = 1;
	frame_begin(&b, MSG_ROSTER_GET, c->max_frame);
	frame_put_str(&b, F_ROOM, rr->r.room);
	frame_put_u64(&b, F_SEQ, rr->r.count);
	conn_send(c, &b);
}

/* Ask for what follows our verified chain, unless asking already. */
static void
sync_start(struct client *c, struct rroom *rr)
{
	if (!rr->syncing && c->state == CS_READY)
		send_get(c, rr);
}

/*
 * What is said next answers the outbox request a roster op stands for, if
 * any: it carries the script's request id.
 */
static void
request_said(struct client *c, uint16_t type, const char *room)
{
	struct outmsg	*m;

	m = outbox_find_request(&c->outbox, type, room);
	outbox_set_request(m != NULL ? m->reqid : NULL);
}

/* The outbox request a roster op stands for, if any, is over. */
static void
request_done(struct client *c, uint16_t type, const char *room)
{
	struct outmsg	*m;

	if ((m = outbox_find_request(&c->outbox, type, room)) == NULL)
		return;
	outbox_remove(&c->outbox, m);
	client_progress(c);
	client_check_done(c);
}

static void	 want(struct client *, struct rroom *, int, uint8_t);

/*
 * Our op in this room is over (done, or failed): a /join or /part asked
 * while it was under way starts now, in the order they were typed.
 */
static void
op_done(struct client *c, struct rroom *rr)
{
	int	 next = rr->next;

	rr->want = RR_WANT_NONE;
	rr->put_sent = 0;
	rr->retries = 0;
	rr->next = RR_WANT_NONE;
	if (next != RR_WANT_NONE)
		want(c, rr, next, rr->next_arg);
}

static void
want_fail(struct client *c, struct rroom *rr, const char *code,
    const char *why)
{
	uint16_t	 type = 0;

	if (rr->want == RR_WANT_JOIN || rr->want == RR_WANT_CREATE)
		type = MSG_JOIN;
	else if (rr->want == RR_WANT_PART)
		type = MSG_PART;
	request_said(c, type, rr->r.room);
	out_error(c, code, "%s: %s", rr->r.room, why);
	outbox_set_request(NULL);
	if (type != 0)
		request_done(c, type, rr->r.room);
	op_done(c, rr);
}

/* Sign and send the entry for op on subject, following our chain. */
static void
put(struct client *c, struct rroom *rr, uint8_t op, const char *subject,
    const uint8_t subject_key[32], uint8_t arg)
{
	struct e2e_roster_entry	 e;
	struct frame_buf	 b;
	uint8_t			 buf[E2E_ROSTER_ENTRY_MAX];
	size_t			 len;

	memset(&e, 0, sizeof(e));
	(void)str_copy(e.room, rr->r.room, sizeof(e.room));
	e.index = rr->r.count;
	if (rr->r.count > 0)
		memcpy(e.prev, rr->r.head, sizeof(e.prev));
	e.op = op;
	(void)str_copy(e.subject, subject, sizeof(e.subject));
	memcpy(e.subject_key, subject_key, 32);
	(void)str_copy(e.actor, c->user, sizeof(e.actor));
	memcpy(e.actor_key, c->id->sign_pub, 32);
	e.arg = arg;
	e.ts_ms = wall_ms();
	if (e2e_roster_entry_sign(&e, c->id->sign_priv, buf, sizeof(buf),
	    &len) != E2E_OK ||
	    e2e_roster_entry_hash(buf, len, rr->put_hash) != E2E_OK)
		fatalx("cannot sign a roster entry");
	rr->put_sent = 1;
	frame_begin(&b, MSG_ROSTER_PUT, c->max_frame);
	frame_put_str(&b, F_ROOM, rr->r.room);
	frame_put_bytes(&b, F_ENTRY, buf, len);
	conn_send(c, &b);
}

static void
plain_request(struct client *c, uint16_t type, const char *room)
{
	struct frame_buf	 b;

	frame_begin(&b, type, c->max_frame);
	frame_put_str(&b, F_ROOM, room);
	conn_send(c, &b);
}

/* The chain is as current as the server will say: do what was asked. */
static void
do_want(struct client *c, struct rroom *rr)
{
	const struct e2e_roster_member	*me, *who;

	me = e2e_roster_member(&rr->r, c->user);
	switch (rr->want) {
	case RR_WANT_NONE:
		return;
	case RR_WANT_CREATE:
		put(c, rr, E2E_ROSTER_CREATE, c->user, c->id->sign_pub,
		    rr->want_arg);
		return;
	case RR_WANT_JOIN:
		if (rr->r.mark == RR_BROKEN) {
			want_fail(c, rr, "ROSTER_BROKEN", "its roster does not "
			    "verify: not joined");
			return;
		}
		/* A room without one: our join creates it (migration). */
		if (rr->r.mark != RR_VERIFIED) {
			rr->want = RR_WANT_CREATE;
			do_want(c, rr);
			return;
		}
		if (me != NULL && memcmp(me->key, c->id->sign_pub, 32) == 0) {
			request_said(c, MSG_JOIN, rr->r.room);
			out_notice(c, "already_in_roster", "already in %s (its "
			    "roster lists you)", rr->r.room);
			outbox_set_request(NULL);
			request_done(c, MSG_JOIN, rr->r.room);
			op_done(c, rr);
			return;
		}
		if (me == NULL && rr->r.policy != E2E_ROSTER_OPEN) {
			want_fail(c, rr, "NOT_INVITED", "the room is "
			    "invite-only: an admin must /invite you");
			return;
		}
		put(c, rr, E2E_ROSTER_JOIN, c->user, c->id->sign_pub, 0);
		return;
	case RR_WANT_PART:
		if (rr->r.mark == RR_UNVERIFIED) {
			plain_request(c, MSG_PART, rr->r.room);
			op_done(c, rr);
			return;
		}
		if (me == NULL) {
			want_fail(c, rr, "NOT_MEMBER", "its roster does not "
			    "list you");
			return;
		}
		put(c, rr, E2E_ROSTER_PART, c->user, me->key, 0);
		return;
	case RR_WANT_INVITE:
	case RR_WANT_REMOVE:
		if (rr->r.mark != RR_VERIFIED || me == NULL ||
		    me->role != E2E_ROSTER_ADMIN) {
			want_fail(c, rr, "NOT_ADMIN", "only an admin of its "
			    "verified roster admits or removes members");
			return;
		}
		who = e2e_roster_member(&rr->r, rr->subject);
		if (rr->want == RR_WANT_REMOVE) {
			if (who == NULL) {
				want_fail(c, rr, "NOT_MEMBER", "no such "
				    "member in its roster");
				return;
			}
			put(c, rr, E2E_ROSTER_REMOVE, rr->subject, who->key, 0);
			return;
		}
		if (who != NULL) {
			want_fail(c, rr, "ALREADY_MEMBER", "already in its "
			    "roster");
			return;
		}
		put(c, rr, E2E_ROSTER_INVITE, rr->subject, rr->subject_key,
		    rr->want_arg);
		return;
	}
}

/* Start an op: bring the chain up to date first, then do it. */
static void
want(struct client *c, struct rroom *rr, int op, uint8_t arg)
{
	/*
	 * A second /join while the first is under way waits for it: the
	 * join event answers the first, and the rest hear they are in.
	 */
	if (op == RR_WANT_JOIN && (rr->want == RR_WANT_JOIN ||
	    rr->want == RR_WANT_CREATE))
		return;
	/* Another op under way: this one follows it (the last one asked). */
	if (rr->want != RR_WANT_NONE && op != rr->want) {
		rr->next = op;
		rr->next_arg = arg;
		return;
	}
	rr->want = op;
	rr->want_arg = arg;
	rr->retries = 0;
	rr->put_sent = 0;
	/* Waiting for a sync, or for the subject's keys (roster_pump). */
	if (op == RR_WANT_INVITE)
		return;
	if (rr->syncing)
		return;
	send_get(c, rr);
}

int
roster_join(struct client *c, const char *room, uint8_t policy)
{
	struct rroom	*rr;

	if ((rr = rr_get(c, room)) == NULL)
		return 0;
	want(c, rr, RR_WANT_JOIN, policy);
	return 1;
}

int
roster_part(struct client *c, const char *room)
{
	struct rroom	*rr;

	if ((rr = rr_get(c, room)) == NULL)
		return 0;
	want(c, rr, RR_WANT_PART, 0);
	return 1;
}

/* /invite and /remove: an admin's entry about another user. */
void
roster_admin(struct client *c, const char *room, const char *user, int op,
    uint8_t role)
{
	struct rroom	*rr;

	if (strcmp(user, c->user) == 0) {
		out_error(c, "USAGE", "/invite and /remove are for others: "
		    "/join and /part yourself");
		return;
	}
	if ((rr = rr_get(c, room)) == NULL)
		return;
	(void)str_copy(rr->subject, user, sizeof(rr->subject));
	want(c, rr, op, role);
	roster_pump(c);
}

/* Keys arrived: an invitation waiting for its subject's key may go. */
void
roster_pump(struct client *c)
{
	struct rroom	*rr;
	int		 rv;

	TAILQ_FOREACH(rr, &c->e2e->rosters, entry) {
		if (rr->want != RR_WANT_INVITE || rr->put_sent || rr->syncing)
			continue;
		if ((rv = e2ec_peer_key(c, rr->subject, rr->subject_key)) ==
		    0)
			continue;
		if (rv == -1) {
			want_fail(c, rr, "NO_KEY", "no trusted key for that "
			    "user: not invited");
			continue;
		}
		send_get(c, rr);
	}
}

/* After a reconnect nothing asked on the old connection will answer. */
void
roster_logged_in(struct client *c)
{
	struct rroom	*rr;
	int		 was;

	TAILQ_FOREACH(rr, &c->e2e->rosters, entry) {
		was = rr->syncing;
		rr->syncing = 0;
		rr->put_sent = 0;
		/* Joins and parts come back from the outbox by themselves. */
		if (was || rr->want == RR_WANT_REMOVE || (rr->want ==
		    RR_WANT_INVITE && e2ec_peer_key(c, rr->subject,
		    rr->subject_key) == 1))
			send_get(c, rr);
	}
}

/* The chain broke (an entry from the server does not verify): frozen. */
static void
broken(struct client *c, struct rroom *rr, const char *why)
{
	out_roster_warning(c, "roster_invalid", rr->r.room, "the server shows "
	    "an entry of the roster of %s that does not verify (%s): its "
	    "members stay as last verified (%u entries)", rr->r.room, why,
	    rr->r.count);
	rr->r.mark = RR_BROKEN;
	c->e2e->dirty = 1;
}

/*
 * A CREATE just verified, in a room we were in while it had none (we
 * saw it unverified): a member migrating it.  Open: we join it too.  A
 * room we never saw without a roster is not joined for us this way.
 */
static void
migrated(struct client *c, struct rroom *rr,
    const struct e2e_roster_entry *e, uint8_t was)
{
	if (was != RR_UNVERIFIED || e->op != E2E_ROSTER_CREATE ||
	    strcmp(e->actor, c->user) == 0 ||
	    e2e_roster_member(&rr->r, c->user) != NULL ||
	    rr->r.policy != E2E_ROSTER_OPEN || rr->want != RR_WANT_NONE)
		return;
	rr->want = RR_WANT_JOIN;
	put(c, rr, E2E_ROSTER_JOIN, c->user, c->id->sign_pub, 0);
}

/* Apply one entry; on our own put coming back, the op is done. */
static int
apply(struct client *c, struct rroom *rr, const uint8_t *buf, size_t len)
{
	struct e2e_roster_entry	 e;
	struct held_event	*h;
	uint8_t			 hash[E2E_HASH_LEN], was = rr->r.mark;
	size_t			 i;
	int			 rc;

	if ((rc = e2e_roster_apply(&rr->r, buf, len, &e)) != E2E_OK)
		return rc;
	rr->r.mark = RR_VERIFIED;
	c->e2e->dirty = 1;
	if (e2e_roster_entry_hash(buf, len, hash) != E2E_OK)
		fatalx("e2e_roster_entry_hash of an applied entry");
	/*
	 * Held events of this index are judged now, while it is known; a
	 * held message's sender is admitted if an entry made him a member
	 * under its key and no later one removed him (he may have left).
	 */
	for (i = 0; i < rr->nheld; i++) {
		h = &rr->held[i];
		if (h->kind != EVENT_MESSAGE && h->index == e.index)
			h->judged = memcmp(hash, h->hash, sizeof(hash)) == 0 ?
			    1 : -1;
		else if (h->kind != EVENT_MESSAGE ||
		    strcmp(e.subject, h->user) != 0)
			continue;
		else if ((e.op == E2E_ROSTER_CREATE || e.op ==
		    E2E_ROSTER_JOIN || e.op == E2E_ROSTER_INVITE) &&
		    h->has_pub && memcmp(e.subject_key, h->sign_pub, 32) == 0)
			h->judged = 1;
		else if (e.op == E2E_ROSTER_REMOVE)
			h->judged = 0;		/* an admin put him out */
	}
	migrated(c, rr, &e, was);
	if (rr->put_sent && memcmp(hash, rr->put_hash, sizeof(hash)) == 0)
		op_done(c, rr);
	return E2E_OK;
}

/* A new held event (the list has room for it). */
static struct held_event *
held_add(struct rroom *rr, const char *user, uint8_t kind, uint64_t seq,
    uint64_t ts)
{
	struct held_event	*h;

	rr->held = xreallocarray(rr->held, rr->nheld + 1, sizeof(*rr->held));
	h = &rr->held[rr->nheld++];
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	(void)str_copy(h->user, user, sizeof(h->user));
	h->seq = seq;
	h->ts = ts;
	return h;
}

/*
 * Hold a join or part until the fetch under way says whether its entry is
 * in the roster; 0 if there is no room for it (shown now, unverified).
 */
static int
hold(struct rroom *rr, const char *user, uint8_t kind, uint64_t seq,
    uint64_t ts, uint32_t index, const uint8_t *entry, size_t len)
{
	struct held_event	*h;
	uint8_t			 hash[E2E_HASH_LEN];

	if (rr->nheld_first >= E2EC_HELD_MAX ||
	    rr->nheld >= E2EC_HELD_ALL_MAX ||
	    e2e_roster_entry_hash(entry, len, hash) != E2E_OK)
		return 0;
	rr->nheld_first++;
	h = held_add(rr, user, kind, seq, ts);
	memcpy(h->hash, hash, sizeof(h->hash));
	h->index = index;
	return ROSTER_HELD;
}

/* Whether the verified roster lists user, under the key stamped on him. */
static int
listed(const struct rroom *rr, const char *user, const uint8_t *sign_pub)
{
	const struct e2e_roster_member	*m;

	return (rr->r.mark == RR_VERIFIED || rr->r.mark == RR_BROKEN) &&
	    (m = e2e_roster_member(&rr->r, user)) != NULL && sign_pub != NULL &&
	    memcmp(m->key, sign_pub, sizeof(m->key)) == 0;
}

/* Whether a message of user waits in the held events. */
static int
holds_message_of(const struct rroom *rr, const char *user)
{
	size_t	 i;

	for (i = 0; i < rr->nheld; i++)
		if (rr->held[i].kind == EVENT_MESSAGE &&
		    strcmp(rr->held[i].user, user) == 0)
			return 1;
	return 0;
}

/*
 * A room message during a fetch, from a sender the roster held does not
 * list (a join held with it, say): a room key for us waits with the held
 * events (counted with the joins and parts), and so do the messages that
 * follow it, in their order; they are opened once the fetch has said who
 * the members are.  ROSTER_HELD, or 0 to open it now.
 */
int
roster_hold_message(struct client *c, const char *room, const char *from,
    const uint8_t *sign_pub, const uint8_t *body, size_t len, uint64_t seq,
    uint64_t ts)
{
	struct rroom		*rr;
	struct held_event	*h;
	int			 follows;

	if (strcmp(from, c->user) == 0 || (rr = rr_find(c, room)) == NULL ||
	    !rr->syncing || rr->nheld >= E2EC_HELD_ALL_MAX ||
	    HELD_COST(len) > E2EC_HELD_BYTES_MAX - c->e2e->held_bytes)
		return 0;
	/* What follows a held key waits behind it, listed by now or not. */
	if (!(follows = holds_message_of(rr, from)) &&
	    (listed(rr, from, sign_pub) || !e2ec_key_for_us(c, body, len) ||
	    rr->nheld_first >= E2EC_HELD_MAX))
		return 0;
	if (!follows)
		rr->nheld_first++;
	h = held_add(rr, from, EVENT_MESSAGE, seq, ts);
	h->body = xmalloc(len + 1);	/* a body may be empty */
	memcpy(h->body, body, len);
	h->len = len;
	if ((h->has_pub = sign_pub != NULL))
		memcpy(h->sign_pub, sign_pub, sizeof(h->sign_pub));
	c->e2e->held_bytes += HELD_COST(len);
	/* The server is talking: a script waiting for the fetch goes on. */
	client_progress(c);
	return ROSTER_HELD;
}

/*
 * May from's room key be taken?  NULL, or why not (*outsider set if the
 * roster says he is not a member): in a room with a signed roster only
 * from its members, signed with the key their entry binds.  A server
 * could otherwise have an account of its own write in any room, under a
 * member list that never named it.  held: ROSTER_ARRIVED, or the verdict
 * of a held message (ROSTER_ADMITTED if a fetched entry made him a member
 * under that key, and none removed him).
 */
const char *
roster_admits(struct client *c, const char *room, const char *from,
    const uint8_t *sign_pub, int held, int *outsider)
{
	struct rroom	*rr;

	*outsider = 0;
	if (strcmp(from, c->user) == 0 || held == ROSTER_ADMITTED ||
	    (rr = rr_find(c, room)) == NULL || listed(rr, from, sign_pub))
		return NULL;
	if ((rr->r.mark == RR_VERIFIED && rr->r.count > 0) ||
	    rr->r.mark == RR_BROKEN) {
		*outsider = 1;
		return e2e_roster_member(&rr->r, from) == NULL ?
		    "the room's signed roster does not list the sender" :
		    "the sender's key is not the one its roster entry binds";
	}
	/* Not held, as too many wait for the fetch: it cannot wait. */
	if (held == ROSTER_ARRIVED && rr->syncing)
		return "too many room keys wait for the fetch of the room's "
		    "roster";
	return NULL;
}

static void
held_free(struct client *c, struct held_event *held, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (held[i].body == NULL)
			continue;
		c->e2e->held_bytes -= HELD_COST(held[i].len);
		OPENSSL_cleanse(held[i].body, held[i].len);
		free(held[i].body);
	}
	free(held);
}

/*
 * What the fetch said of a held event's entry: verified if the entry it
 * verified at that index is this one (apply() compared them).
 */
static int
held_verdict(struct client *c, struct rroom *rr, const struct held_event *h)
{
	const char	*what = h->kind == EVENT_JOIN ? "join" : "part";

	if (h->judged > 0)
		return 1;
	if (h->judged < 0) {
		out_roster_warning(c, "roster_fork", rr->r.room, "the server "
		    "relayed a %s of %s in %s with entry %u, and then a roster "
		    "whose entry %u is another: refused", what, h->user,
		    rr->r.room, h->index, h->index);
		return -1;
	}
	out_roster_warning(c, "roster_mismatch", rr->r.room, "the server "
	    "relayed a %s of %s in %s with entry %u, which the roster it "
	    "gave does not reach: not verified", what, h->user, rr->r.room,
	    h->index);
	return 0;
}

/*
 * The events held are shown: with the fetch's verdict when it is over,
 * or unverified (why says why) when it cannot be waited for.
 */
static void
show_held(struct client *c, struct rroom *rr, const char *why)
{
	struct held_event	*held = rr->held, *h;
	size_t			 i, n = rr->nheld, joins = 0;
	char			 room[ROOM_MAX_LEN + 1];

	if (n == 0)
		return;
	rr->held = NULL;
	rr->nheld = rr->nheld_first = 0;
	(void)str_copy(room, rr->r.room, sizeof(room));
	for (i = 0; i < n; i++)
		joins += held[i].kind != EVENT_MESSAGE;
	if (why != NULL && joins > 0)
		out_roster_warning(c, "roster_mismatch", room, "%zu join%s or "
		    "part%s in %s shown unverified: %s", joins, joins == 1 ?
		    "" : "s", joins == 1 ? "" : "s", room, why);
	/* A message is checked as it is opened (roster_admits). */
	for (i = 0; i < n; i++) {
		h = &held[i];
		if (h->kind == EVENT_MESSAGE) {
			e2ec_room_message(c, room, h->user, h->has_pub ?
			    h->sign_pub : NULL, h->body, h->len, h->seq, h->ts,
			    h->judged > 0 ? ROSTER_ADMITTED : ROSTER_RELEASED);
			/* Hundreds of held chains take a while to open. */
			client_progress(c);
		} else
			chat_membership(c, room, h->user, h->kind, h->seq,
			    h->ts, why != NULL ? 0 : held_verdict(c, rr, h));
	}
	held_free(c, held, n);
}

static void
release(struct client *c, struct rroom *rr)
{
	if (!rr->syncing)
		show_held(c, rr, NULL);
}

/* Events held for a fetch, in all rooms: a script waits. */
size_t
roster_held(struct client *c)
{
	struct rroom	*rr;
	size_t		 n = 0;

	if (c->e2e == NULL)
		return 0;
	TAILQ_FOREACH(rr, &c->e2e->rosters, entry)
		n += rr->nheld;
	return n;
}

/* Stopping, or a new database: what is held is shown now, unverified. */
void
roster_flush_held(struct client *c, const char *why)
{
	struct rroom	*rr;

	if (c->e2e == NULL)
		return;
	TAILQ_FOREACH(rr, &c->e2e->rosters, entry)
		show_held(c, rr, why);
}

static void	 answer_page(struct client *, struct rroom *, const char *,
		    const struct frame *);

/* ROSTER: a page of entries from the index we asked for. */
void
roster_answer(struct client *c, const struct frame *f)
{
	struct rroom	*rr;
	char		 room[ROOM_MAX_LEN + 1];

	if (frame_get_str(f, F_ROOM, room, sizeof(room)) == -1 ||
	    proto_fold_room(room) == -1 ||
	    (rr = rr_find(c, room)) == NULL || !rr->syncing)
		return;
	answer_page(c, rr, room, f);
	release(c, rr);
}

static void
answer_page(struct client *c, struct rroom *rr, const char *room,
    const struct frame *f)
{
	const uint8_t	*p;
	uint64_t	 first, total;
	size_t		 len, off, elen;
	uint32_t	 before;
	int		 rc;

	rr->syncing = 0;
	if (frame_get_u64(f, F_SEQ, &first) == -1 ||
	    frame_get_u64(f, F_COUNT, &total) == -1 ||
	    frame_get_bytes(f, F_ENTRIES, &p, &len) == -1)
		return;
	if (total < rr->r.count) {
		out_roster_warning(c, "roster_rollback", room, "the server "
		    "shows %llu entries of the roster of %s, fewer than the %u "
		    "you verified: it rolled the roster back, or shows members "
		    "different views", (unsigned long long)total, room,
		    rr->r.count);
		want_fail(c, rr, "ROSTER_ROLLBACK", "roster rolled back");
		return;
	}
	if (first != rr->r.count) {
		send_get(c, rr);	/* not what we asked: ask again */
		return;
	}
	before = rr->r.count;
	for (off = 0; off < len; off += elen) {
		if (len - off < 4 || (elen = be32_get(p + off)) >
		    len - off - 4) {
			broken(c, rr, "malformed page");
			want_fail(c, rr, "ROSTER_BROKEN", "roster broken");
			return;
		}
		off += 4;
		if ((rc = apply(c, rr, p + off, elen)) != E2E_OK) {
			broken(c, rr, e2e_strerror(rc));
			want_fail(c, rr, "ROSTER_BROKEN", "roster broken");
			return;
		}
	}
	if (rr->r.count < total) {
		if (rr->r.count == before) {
			broken(c, rr, "a page without entries");
			return;
		}
		send_get(c, rr);
		return;
	}
	if (total == 0 && rr->r.mark != RR_BROKEN)
		rr->r.mark = RR_UNVERIFIED;
	c->e2e->dirty = 1;
	do_want(c, rr);
	e2ec_roster_synced(c, room);
}

/*
 * The server refused our entry for now (RATE_LIMITED: the room creations
 * of our network, or the bytes we stored): the op starts again, from a
 * fresh copy of the chain, when the request that asked for it is sent
 * again after the wait.  That request, or NULL when none stands for the
 * op (an /invite or /remove: it is over, the error says why).
 */
struct outmsg *
roster_limited(struct client *c, const char *room)
{
	struct rroom	*rr;
	uint16_t	 type = 0;

	/* A plain JOIN, of a room whose roster we do not follow. */
	if ((rr = rr_find(c, room)) == NULL || rr->want == RR_WANT_NONE)
		return outbox_find_request(&c->outbox, MSG_JOIN, room);
	if (rr->want == RR_WANT_JOIN || rr->want == RR_WANT_CREATE)
		type = MSG_JOIN;
	else if (rr->want == RR_WANT_PART)
		type = MSG_PART;
	if (type == 0) {
		/* An /invite or /remove is over; what was asked next goes. */
		op_done(c, rr);
		return NULL;
	}
	/* What was asked after it (rr->next) still waits for it. */
	rr->want = RR_WANT_NONE;
	rr->put_sent = 0;
	rr->retries = 0;
	return outbox_find_request(&c->outbox, type, room);
}

static int	 error_op(struct client *, struct rroom *, uint16_t, const char *);

/* An ERROR about a room; 1 when it belongs to a roster op and is handled. */
int
roster_error(struct client *c, uint16_t code, const char *room)
{
	struct rroom	*rr;
	int		 handled;

	if (room == NULL || (rr = rr_find(c, room)) == NULL)
		return 0;
	handled = error_op(c, rr, code, room);
	release(c, rr);
	return handled;
}

static int
error_op(struct client *c, struct rroom *rr, uint16_t code, const char *room)
{
	switch (code) {
	case ERR_NO_SUCH_ROOM:
		if (!rr->syncing)
			return 0;
		rr->syncing = 0;
		if (rr->want != RR_WANT_JOIN) {
			e2ec_roster_synced(c, room);
			return 0;
		}
		/* A new room: its first entry is ours. */
		rr->want = RR_WANT_CREATE;
		do_want(c, rr);
		return 1;
	case ERR_ROSTER_CONFLICT:
		/* Someone's entry got in first: catch up and sign again. */
		rr->put_sent = 0;
		if (rr->want != RR_WANT_NONE && rr->retries++ <
		    ROSTER_RETRIES) {
			send_get(c, rr);
			return 1;
		}
		return 0;
	case ERR_ROSTER_INVALID:
	case ERR_ROSTER_REQUIRED:
	case ERR_TOO_MANY_ROOMS:
	case ERR_ROOM_FULL:
	case ERR_STORAGE:		/* not read or not stored: ask again */
		/* The op is over, and the request it stood for, if any. */
		rr->syncing = 0;
		op_done(c, rr);
		return 0;
	default:
		return 0;
	}
}

/*
 * A join or part the server relays, with its entry or without.  Returns
 * 1 when it is a verified entry, 0 when it has none, -1 when refused, and
 * ROSTER_HELD when the roster must be fetched first: release() shows it
 * then.
 */
int
roster_event(struct client *c, const char *room, const char *user,
    uint8_t kind, const uint8_t *entry, size_t len, uint64_t seq, uint64_t ts)
{
	struct e2e_roster_entry	 e;
	struct rroom		*rr;
	const uint8_t		*held;
	uint8_t			 hash[E2E_HASH_LEN];
	int			 rc;

	if ((rr = rr_get(c, room)) == NULL)
		return -1;
	if (rr->r.mark == RR_UNKNOWN && entry == NULL) {
		sync_start(c, rr);	/* a room we had not checked yet */
		return 0;
	}
	if (entry == NULL) {
		if (rr->r.mark == RR_VERIFIED || rr->r.mark == RR_BROKEN)
			out_roster_warning(c, "roster_mismatch", room, "the "
			    "server says %s %s %s without a signed roster "
			    "entry: %s gets no room key", user, kind ==
			    EVENT_JOIN ? "joined" : "left", room, user);
		return 0;
	}
	if (e2e_roster_entry_parse(entry, len, &e) != E2E_OK ||
	    strcmp(e.room, room) != 0 || strcmp(e.subject, user) != 0 ||
	    (kind == EVENT_JOIN) != (e.op == E2E_ROSTER_CREATE ||
	    e.op == E2E_ROSTER_JOIN || e.op == E2E_ROSTER_INVITE)) {
		out_roster_warning(c, "roster_invalid", room, "the server "
		    "relays a %s of %s in %s with an entry that does not say "
		    "so: refused", kind == EVENT_JOIN ? "join" : "part", user,
		    room);
		return -1;
	}
	if (e.index < rr->r.count) {
		/* Known already, or another chain than ours. */
		if (e2e_roster_entry_hash(entry, len, hash) != E2E_OK ||
		    (held = e2e_roster_hash_at(&rr->r, e.index)) == NULL ||
		    memcmp(held, hash, sizeof(hash)) == 0)
			return 1;
		out_roster_warning(c, "roster_fork", room, "the server shows "
		    "members different views of the roster of %s: its entry "
		    "%u is not the one you verified", room, e.index);
		return -1;
	}
	/* A fetch under way, or entries we missed: fetch, then verify. */
	if (rr->syncing || e.index > rr->r.count) {
		sync_start(c, rr);
		if (!rr->syncing)
			return 0;
		return hold(rr, user, kind, seq, ts, e.index, entry, len);
	}
	if ((rc = apply(c, rr, entry, len)) != E2E_OK) {
		out_roster_warning(c, "roster_invalid", room, "the %s of %s "
		    "in %s comes with an entry that does not verify (%s): "
		    "refused", kind == EVENT_JOIN ? "join" : "part", user,
		    room, e2e_strerror(rc));
		return -1;
	}
	return 1;
}

/* A message in room: a roster never checked is fetched now. */
void
roster_heard(struct client *c, const char *room)
{
	struct rroom	*rr;

	if ((rr = rr_get(c, room)) != NULL && rr->r.mark == RR_UNKNOWN)
		sync_start(c, rr);
}

uint8_t
roster_mark(struct client *c, const char *room)
{
	struct rroom	*rr;

	return (rr = rr_find(c, room)) == NULL ? RR_UNKNOWN : rr->r.mark;
}

/* The roster whose members get room keys: verified (or frozen). */
const struct e2e_roster *
roster_of(struct client *c, const char *room)
{
	struct rroom	*rr;

	if ((rr = rr_find(c, room)) == NULL || (rr->r.mark != RR_VERIFIED &&
	    rr->r.mark != RR_BROKEN))
		return NULL;
	return &rr->r;
}

/*
 * Before a chain starts in room: 1 if its roster must be fetched first
 * (e2ec_roster_synced says when), 0 if what we hold will do.  A room
 * without a roster is migrated in the background.
 */
int
roster_prepare(struct client *c, const char *room)
{
	struct rroom	*rr;

	if ((rr = rr_get(c, room)) == NULL)
		return 0;
	if (rr->syncing)
		return 1;
	if (rr->r.mark == RR_UNKNOWN) {
		send_get(c, rr);
		return 1;
	}
	if (rr->r.mark == RR_UNVERIFIED && rr->want == RR_WANT_NONE &&
	    !rr->migrate_tried) {
		rr->migrate_tried = 1;
		rr->want = RR_WANT_CREATE;
		rr->want_arg = E2E_ROSTER_OPEN;
		do_want(c, rr);
	}
	return 0;
}

/* The head a message we seal names: zero for a room without a roster. */
const uint8_t *
roster_head(struct client *c, const char *room)
{
	const struct e2e_roster	*r = roster_of(c, room);

	return r != NULL && r->count > 0 ? r->head : zero_hash;
}

/*
 * A member's message names the roster head it saw.  One we never
 * verified means the server shows members different views; said once
 * per head.
 */
void
roster_check_head(struct client *c, const char *room, const char *from,
    const uint8_t head[E2E_HASH_LEN])
{
	struct rroom	*rr;
	char		 hex[17];

	if ((rr = rr_find(c, room)) == NULL || rr->syncing ||
	    rr->r.mark != RR_VERIFIED || e2e_roster_knows(&rr->r, head))
		return;
	if (rr->warned && memcmp(rr->warned_head, head, E2E_HASH_LEN) == 0)
		return;
	rr->warned = 1;
	memcpy(rr->warned_head, head, E2E_HASH_LEN);
	hex_encode(head, 8, hex);
	out_roster_warning(c, "roster_differs", room, "%s wrote in %s seeing "
	    "a roster you did not verify (%s%s): the server shows members "
	    "different views of who is in the room", from, room,
	    memcmp(head, zero_hash, E2E_HASH_LEN) == 0 ? "none" : hex,
	    memcmp(head, zero_hash, E2E_HASH_LEN) == 0 ? "" : "...");
}

/* For the state file: the rosters worth keeping, sorted by room. */
static int
roster_cmp(const void *a, const void *b)
{
	return strcmp(((const struct e2e_roster *)a)->room,
	    ((const struct e2e_roster *)b)->room);
}

size_t
roster_export(struct client *c, struct e2e_roster **vp)
{
	struct e2e_roster	*v;
	struct rroom		*rr;
	size_t			 n = 0;

	v = xcalloc(c->e2e->nrosters + 1, sizeof(*v));
	TAILQ_FOREACH(rr, &c->e2e->rosters, entry)
		if (rr->r.mark != RR_UNKNOWN)
			v[n++] = rr->r;		/* shallow: written, not kept */
	qsort(v, n, sizeof(*v), roster_cmp);
	*vp = v;
	return n;
}

/* From the state file: takes the rosters (and their members) over. */
void
roster_import(struct client *c, struct e2e_roster *v, size_t n)
{
	struct rroom	*rr;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if ((rr = rr_get(c, v[i].room)) == NULL) {
			e2e_roster_free(&v[i]);
			continue;
		}
		e2e_roster_free(&rr->r);
		rr->r = v[i];
	}
}

/*
 * The server's database is a new one (another epoch in WELCOME): its
 * rosters start again, and the ones verified before would all look rolled
 * back.  Said loudly for each, since a server could do this on purpose to
 * hide earlier membership changes; then verified afresh.
 */
void
roster_reset(struct client *c)
{
	struct rroom	*rr;
	char		 room[ROOM_MAX_LEN + 1];

	if (c->e2e == NULL)
		return;
	roster_flush_held(c, "the server's database is a new one");
	TAILQ_FOREACH(rr, &c->e2e->rosters, entry) {
		if (rr->r.count > 0)
			out_roster_warning(c, "roster_reset", rr->r.room,
			    "the server's database is a new one: the roster "
			    "of %s (%u entries verified) is verified again "
			    "from the start", rr->r.room, rr->r.count);
		(void)str_copy(room, rr->r.room, sizeof(room));
		e2e_roster_free(&rr->r);
		if (e2e_roster_init(&rr->r, room) != E2E_OK)
			fatalx("e2e_roster_init");
	}
	c->e2e->dirty = 1;
}

void
roster_free_all(struct client *c)
{
	struct rroom	*rr;

	while ((rr = TAILQ_FIRST(&c->e2e->rosters)) != NULL) {
		TAILQ_REMOVE(&c->e2e->rosters, rr, entry);
		e2e_roster_free(&rr->r);
		held_free(c, rr->held, rr->nheld);
		free(rr);
	}
	c->e2e->nrosters = 0;
}

/* /status: each room's roster, and whether it is verified. */
void
roster_status(struct client *c, struct jbuf *jb)
{
	struct rroom	*rr;
	char		 hex[17];
	int		 n = 0, nfields;

	if (jb == NULL) {
		TAILQ_FOREACH(rr, &c->e2e->rosters, entry) {
			hex_encode(rr->r.head, 8, hex);
			out_human_at(stdout, 0, "status: %s: roster %s, %u "
			    "entries, %zu members%s%s", rr->r.room,
			    mark_name(rr->r.mark), rr->r.count, rr->r.nm,
			    rr->r.count > 0 ? ", head " : "",
			    rr->r.count > 0 ? hex : "");
		}
		return;
	}
	nfields = jb->nfields;
	jb_key(jb, "rosters");
	jb_adds(jb, "[");
	TAILQ_FOREACH(rr, &c->e2e->rosters, entry) {
		if (n++ > 0)
			jb_adds(jb, ",");
		jb->nfields = 0;
		jb_str(jb, "room", rr->r.room);
		jb_str(jb, "roster", mark_name(rr->r.mark));
		jb_num(jb, "entries", rr->r.count);
		jb_num(jb, "members", rr->r.nm);
		jb_str(jb, "policy", rr->r.policy == E2E_ROSTER_OPEN ? "open" :
		    "invite-only");
		hex_encode(rr->r.head, 8, hex);
		jb_str(jb, "head", rr->r.count > 0 ? hex : "");
		jb_adds(jb, "}");
	}
	jb_adds(jb, "]");
	jb->nfields = nfields + 1;
}
