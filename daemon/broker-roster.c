/*
 * broker-roster.c: signed room rosters (docs/E2E.md 9, PROTOCOL.md 4.10).
 * The broker stores the entries members sign and relays them; it never
 * writes one.  It checks what it can (the signature by the sender's own
 * registered key, that the entry follows the stored chain, the room's
 * policy) so that an honest server keeps every chain valid, but clients
 * verify everything themselves: they do not trust this file.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "e2e-roster.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define ROSTER_RESERVE	256	/* frame room kept around the entries */

/* A room's chain as the broker verified it, loaded on first use. */
struct roster_cache {
	struct hnode		 node;		/* cache, by room id */
	int64_t			 room_id;
	struct e2e_roster	 r;
};
static struct htab	 cache;

void
roster_init(void)
{
	htab_init(&cache);
}

static struct roster_cache *
cache_find(int64_t room_id)
{
	struct hnode		*n;
	struct roster_cache	*rc;

	for (n = htab_first(&cache, htab_hash_u64(&cache, (uint64_t)room_id));
	    n != NULL; n = htab_next(n)) {
		rc = HTAB_ENTRY(n, struct roster_cache, node);
		if (rc->room_id == room_id)
			return rc;
	}
	return NULL;
}

static void
cache_free(struct roster_cache *rc)
{
	e2e_roster_free(&rc->r);
	free(rc);
}

struct load_ctx {
	struct e2e_roster	*r;
	int64_t			 room_id;
};

static int
load_cb(uint32_t idx, const uint8_t *entry, size_t len, void *arg)
{
	struct load_ctx	*lc = arg;
	int		 rc;

	/* Someone edited the table: keep what verifies, say it once. */
	if ((rc = e2e_roster_apply(lc->r, entry, len, NULL)) != E2E_OK) {
		log_warnx("roster of room %lld: entry %u does not verify (%s): "
		    "the chain stops before it", (long long)lc->room_id, idx,
		    e2e_strerror(rc));
		return 1;
	}
	return 0;
}

/* The room's roster, read once; NULL (the request failed) if unreadable. */
static struct roster_cache *
roster_load(int64_t room_id, const char *room)
{
	struct roster_cache	*rc;
	struct load_ctx		 lc;
	uint32_t		 before;

	if ((rc = cache_find(room_id)) != NULL)
		return rc;
	rc = xcalloc(1, sizeof(*rc));
	rc->room_id = room_id;
	if (e2e_roster_init(&rc->r, room) != E2E_OK)
		fatalx("e2e_roster_init %s", room);
	lc.r = &rc->r;
	lc.room_id = room_id;
	do {
		before = rc->r.count;
		if (store_roster_read(br.store, room_id, rc->r.count,
		    CATCHUP_BATCH, load_cb, &lc) == -1) {
			req_fail("store_roster_read", 0, room);
			cache_free(rc);
			return NULL;
		}
	} while (rc->r.count != before && rc->r.count % CATCHUP_BATCH == 0);
	htab_insert(&cache, &rc->node, htab_hash_u64(&cache,
	    (uint64_t)room_id));
	return rc;
}

/* 1 if the room has a roster, 0 if not, -1 (request failed) unreadable. */
int
roster_exists(int64_t room_id, const char *room)
{
	struct roster_cache	*rc;

	if ((rc = roster_load(room_id, room)) == NULL)
		return -1;
	return rc->r.count > 0;
}

static int
get_room(struct link *l, const struct frame *f, char room[ROOM_MAX_LEN + 1])
{
	if (frame_get_str(f, F_ROOM, room, ROOM_MAX_LEN + 1) == -1 ||
	    proto_fold_room(room) == -1) {
		link_error_about(l, ERR_BAD_ROOM, "room names are # and 1 to "
		    "64 of a-z 0-9 _ -", 0, NULL);
		return -1;
	}
	return 0;
}

struct page_ctx {
	struct frame_buf	*b;
	uint8_t			*buf;
	size_t			 len;
	size_t			 max;
};

static int
page_cb(uint32_t idx, const uint8_t *entry, size_t len, void *arg)
{
	struct page_ctx	*pc = arg;

	if (pc->len + 4 + len > pc->max)
		return 1;
	be32_put(pc->buf + pc->len, (uint32_t)len);
	memcpy(pc->buf + pc->len + 4, entry, len);
	pc->len += 4 + len;
	return 0;
}

/*
 * ROSTER_GET: the entries from F_SEQ on, as many as fit one frame; the
 * client asks again from where the answer stopped.  No membership is
 * needed: a joiner verifies the chain before it joins.
 */
void
roster_get(struct link *l, const struct frame *f)
{
	struct roster_cache	*rc;
	struct page_ctx		 pc;
	struct frame_buf	 b;
	char			 room[ROOM_MAX_LEN + 1], text[128];
	uint64_t		 from = 0;
	int64_t			 id;

	if (get_room(l, f, room) == -1)
		return;
	(void)frame_get_u64(f, F_SEQ, &from);
	if ((id = chat_room_id(room)) == -1) {
		if (req_failed())
			return;
		snprintf(text, sizeof(text), "no room %s", room);
		link_error_about(l, ERR_NO_SUCH_ROOM, text, 0, room);
		return;
	}
	if ((rc = roster_load(id, room)) == NULL)
		return;
	if (from > rc->r.count)
		from = rc->r.count;
	pc.max = br.max_frame - ROSTER_RESERVE;
	pc.buf = xmalloc(pc.max);
	pc.len = 0;
	if (from < rc->r.count && store_roster_read(br.store, id,
	    (uint32_t)from, rc->r.count - from, page_cb, &pc) == -1) {
		req_fail("store_roster_read", 0, room);
		free(pc.buf);
		return;
	}
	frame_begin(&b, MSG_ROSTER, br.max_frame);
	frame_put_str(&b, F_ROOM, room);
	frame_put_u64(&b, F_SEQ, from);
	frame_put_u64(&b, F_COUNT, rc->r.count);
	frame_put_bytes(&b, F_ENTRIES, pc.buf, pc.len);
	link_reply_read(l, &b, room);
	free(pc.buf);
}

static void
refuse(struct link *l, uint16_t code, const char *room, const char *why)
{
	char	 text[256];

	snprintf(text, sizeof(text), "roster entry for %s refused: %s", room,
	    why);
	link_error_about(l, code, text, 0, room);
}

/* An entry that does not follow the chain, or breaks its rules. */
static void
refuse_entry(struct link *l, const struct e2e_roster_entry *e,
    const char *room, int rv)
{
	log_security("user %s (%s): roster entry %u for %s refused: %s",
	    l->user->name, l->addr, e->index, room, e2e_strerror(rv));
	refuse(l, rv == E2E_EFORK ? ERR_ROSTER_CONFLICT : ERR_ROSTER_INVALID,
	    room, e2e_strerror(rv));
}

/*
 * Would the entry start the chain of a room that does not exist yet?
 * Checked before the room is made: a refused CREATE makes no room, and
 * costs nothing of limits.max_rooms or of the rate of room creations.
 */
static int
starts_chain(const char *room, const uint8_t *entry, size_t len)
{
	struct e2e_roster	 r;
	int			 rv;

	if (e2e_roster_init(&r, room) != E2E_OK)
		fatalx("e2e_roster_init %s", room);
	rv = e2e_roster_apply(&r, entry, len, NULL);
	e2e_roster_free(&r);
	return rv;
}

/*
 * ROSTER_PUT: a member's signed entry.  Checked, stored, and announced
 * as the join or part it is; then the room's membership follows it.  The
 * limits of a plain JOIN hold for it: the bytes stored, the caps on rooms
 * and members, the rate and cap of new rooms.
 */
void
roster_put(struct link *l, const struct frame *f)
{
	struct roster_cache	*rc;
	struct e2e_roster_entry	 e;
	struct store_user	 subject;
	const uint8_t		*entry;
	uint8_t			 hash[E2E_HASH_LEN], kind;
	char			 room[ROOM_MAX_LEN + 1];
	size_t			 len;
	int64_t			 id;
	uint32_t		 wait;
	int			 rv, create;

	if (get_room(l, f, room) == -1)
		return;
	if (frame_get_bytes(f, F_ENTRY, &entry, &len) == -1 ||
	    e2e_roster_entry_parse(entry, len, &e) != E2E_OK ||
	    strcmp(e.room, room) != 0) {
		refuse(l, ERR_ROSTER_INVALID, room, "malformed");
		return;
	}
	/* Whoever sends an entry signed it, with the key it logged in with. */
	if (strcmp(e.actor, l->user->name) != 0 ||
	    memcmp(e.actor_key, l->user->sign_pub, KEY_LEN) != 0) {
		refuse(l, ERR_ROSTER_INVALID, room, "not signed by you");
		return;
	}
	if ((id = chat_room_id(room)) == -1 && req_failed())
		return;
	if (id == -1 && e.op != E2E_ROSTER_CREATE) {
		refuse(l, ERR_ROSTER_CONFLICT, room, "no such room");
		return;
	}
	if ((rv = store_user_get(br.store, e.subject, &subject)) == -1) {
		req_fail("store_user_get", 0, room);
		return;
	}
	if (rv == STORE_NOT_FOUND ||
	    memcmp(subject.sign_pub, e.subject_key, KEY_LEN) != 0) {
		refuse(l, ERR_ROSTER_INVALID, room, "the subject's key is not "
		    "the one registered");
		return;
	}
	create = id == -1;
	if (create && (rv = starts_chain(room, entry, len)) != E2E_OK) {
		refuse_entry(l, &e, room, rv);
		return;
	}
	kind = e.op == E2E_ROSTER_PART || e.op == E2E_ROSTER_REMOVE ?
	    LOG_PART : LOG_JOIN;
	if ((wait = rate_storage(l->user, len)) != 0) {
		rate_refused(l, "bytes stored", wait);
		link_refuse(l, ERR_RATE_LIMITED, "too many bytes stored: slow "
		    "down", 0, room, NULL, wait);
		return;
	}
	if (kind == LOG_JOIN && chat_roster_join_allowed(l, room, create,
	    &subject) == -1)
		return;
	if (create && (id = chat_room_create(room)) == -1)
		return;		/* the request failed */
	if ((rc = roster_load(id, room)) == NULL)
		return;
	if ((rv = e2e_roster_apply(&rc->r, entry, len, NULL)) != E2E_OK) {
		refuse_entry(l, &e, room, rv);
		return;
	}
	if (e2e_roster_entry_hash(entry, len, hash) != E2E_OK)
		fatalx("e2e_roster_entry_hash");
	/* The cache holds the entry now: undone, it is read again. */
	undo_push(UNDO_ROSTER, id, 0, 0);
	if (tx_begin() == -1)
		return;
	if (store_roster_append(br.store, id, e.index, entry, len, hash) !=
	    0) {
		req_fail("store_roster_append", 0, room);
		return;
	}
	if (chat_roster_change(room, &subject, kind, entry, len) == 0)
		log_info("roster of %s: entry %u by %s", room, e.index,
		    e.actor);
}

/* The room is gone (securechatctl): its id may be used again. */
void
roster_forget(int64_t room_id)
{
	struct roster_cache	*rc;

	if ((rc = cache_find(room_id)) == NULL)
		return;
	htab_remove(&cache, &rc->node);
	cache_free(rc);
}

void
roster_free(void)
{
	struct hnode	*n, *tmp;
	size_t		 i;

	HTAB_FOREACH_SAFE(n, &cache, i, tmp)
		cache_free(HTAB_ENTRY(n, struct roster_cache, node));
	htab_free(&cache);
}
