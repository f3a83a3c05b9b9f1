/*
 * broker-tx.c: what a request wrote stands or falls with it, and what a
 * turn wrote with its commit.  A failing disk or a damaged page is an
 * error for the requests it touches, never the end of the broker: their
 * writes are rolled back, the memory that followed them is undone, and
 * their clients get ERROR STORAGE instead of an acknowledgement.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define STORAGE_RETRY_MS	2000	/* ERROR STORAGE's F_RETRY_AFTER_MS */
#define STORAGE_LOG_MS		10000	/* one line a trouble, this often */

static uint64_t	 trouble_logged_ms;
static unsigned long trouble_unlogged;
static int	 in_trouble;

/*
 * Storage failed: say so, but a full disk under a stream of messages is
 * one line every STORAGE_LOG_MS, not one per turn.
 */
static void
trouble(const char *what)
{
	uint64_t	 now = now_ms();

	br.storage_errors++;
	in_trouble = 1;
	if (trouble_logged_ms != 0 &&
	    now - trouble_logged_ms < STORAGE_LOG_MS) {
		trouble_unlogged++;
		return;
	}
	log_warnx("storage: %s failed: writes are refused with ERROR STORAGE "
	    "until it works again (%lu more failures not logged)", what,
	    trouble_unlogged);
	trouble_logged_ms = now;
	trouble_unlogged = 0;
}

/* The ERROR STORAGE a client gets for what was not stored. */
void
storage_error_frame(struct frame_buf *b, uint64_t client_msg_id,
    const char *room)
{
	frame_begin(b, MSG_ERROR, br.max_frame);
	frame_put_u16(b, F_CODE, ERR_STORAGE);
	frame_put_str(b, F_TEXT, "the server could not store this (its "
	    "storage failed): nothing was changed; send it again later");
	frame_put_u32(b, F_RETRY_AFTER_MS, STORAGE_RETRY_MS);
	if (client_msg_id != 0)
		frame_put_u64(b, F_CLIENT_MSG_ID, client_msg_id);
	if (room != NULL)
		frame_put_str(b, F_ROOM, room);
}

struct undo *
undo_push(enum undo_kind kind, int64_t room_id, int64_t user_id,
    uint64_t value)
{
	struct undo	*u;

	u = xcalloc(1, sizeof(*u));
	u->kind = kind;
	u->room_id = room_id;
	u->user_id = user_id;
	u->value = value;
	TAILQ_INSERT_TAIL(&br.undo, u, entry);
	return u;
}

/* A link's DELIVERED mark moves with a write: it moves back without it. */
void
undo_push_told(const struct link *l, int64_t room_id, uint64_t told)
{
	undo_push(UNDO_TOLD, room_id, 0, told)->session_id = l->session_id;
}

static void
undo_one(const struct undo *u)
{
	struct link	*l;

	switch (u->kind) {
	case UNDO_BOUND:
		if ((l = link_by_session(u->value)) != NULL)
			auth_unbind(l);
		break;
	case UNDO_ROSTER:
		roster_forget(u->room_id);
		break;
	case UNDO_TOLD:
		chat_undo_told(u);
		break;
	case UNDO_ROOM_CREATED:
	case UNDO_ROOM_SEQ:
	case UNDO_MEMBER_ADDED:
	case UNDO_MEMBER_REMOVED:
		chat_undo(u);
		break;
	}
}

/* Undo, newest first, every change made after mark (NULL: all). */
static void
undo_back_to(struct undo *mark)
{
	struct undo	*u;

	while ((u = TAILQ_LAST(&br.undo, undolist)) != NULL && u != mark) {
		TAILQ_REMOVE(&br.undo, u, entry);
		undo_one(u);
		free(u);
	}
}

static void
undo_forget(void)
{
	struct undo	*u;

	while ((u = TAILQ_FIRST(&br.undo)) != NULL) {
		TAILQ_REMOVE(&br.undo, u, entry);
		free(u);
	}
}

/*
 * A SEND was refused after others on its link may have passed it: until
 * it comes back, the link's later SENDs are refused too (chat_send), so
 * that a sender's messages stay in order.
 */
static void
hold(const struct after *a)
{
	struct link	*l;

	if (a->hold_id != 0 && (l = link_by_session(a->session_id)) != NULL &&
	    l->limited_id == 0) {
		l->limited_id = a->hold_id;
		l->limited_code = ERR_STORAGE;
	}
}

/*
 * The writes after mark (NULL: all) were undone: of what waits for the
 * commit, frames that do not depend on them still go, acknowledgements
 * become their fail frame, and fan-outs of rows that are not there go.
 */
static void
after_undone(struct after *mark)
{
	struct after	*a, *next;

	a = mark != NULL ? TAILQ_NEXT(mark, entry) : TAILQ_FIRST(&br.after);
	for (; a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		if (a->keep)
			continue;
		if (a->fail != NULL) {
			hold(a);
			after_use_fail(a);
			continue;
		}
		after_drop(a);
	}
}

/* The whole turn's writes are gone: so must be all that followed them. */
static void
turn_undone(void)
{
	undo_back_to(NULL);
	after_undone(NULL);
	br.req_after = TAILQ_LAST(&br.after, afterlist);
	br.req_undo = NULL;
	br.req_savepoint = 0;
	br.tx_open = 0;
}

/*
 * SQLite rolls the whole transaction back on its own after some errors
 * (I/O, out of memory), in a read as in a write, and only the call that
 * failed hears of it.  Then the turn's writes are gone, and so must be
 * all that followed them, before anything more is written or said: a
 * new transaction would otherwise commit the turn's later writes, and
 * its acknowledgements with the earlier ones'.
 */
static int
tx_lost(void)
{
	if (!br.tx_open || store_in_transaction(br.store))
		return 0;
	trouble("a statement (SQLite rolled the transaction back)");
	turn_undone();
	return 1;
}

int
tx_begin(void)
{
	int	 wrote = br.req_active && br.req_savepoint;

	/* This request's own writes went too: it cannot go on in part. */
	if (tx_lost() && wrote) {
		br.req_failed = 1;
		return -1;
	}
	if (!store_in_transaction(br.store)) {
		if (store_begin(br.store) == -1) {
			req_fail("begin", 0, NULL);
			return -1;
		}
		br.tx_open = 1;
	}
	/* A request's writes can be undone alone, the others' kept. */
	if (br.req_active && !br.req_savepoint) {
		if (store_savepoint(br.store) == -1) {
			req_fail("savepoint", 0, NULL);
			return -1;
		}
		br.req_savepoint = 1;
	}
	return 0;
}

/* The end of a turn: commit, or, when that fails, undo all of it. */
void
tx_end(void)
{
	if (tx_lost()) {
		store_checkpoint(br.store);
		return;
	}
	if (!store_in_transaction(br.store)) {
		undo_forget();
		return;
	}
	if (store_commit(br.store) == 0) {
		br.tx_open = 0;
		undo_forget();
		if (in_trouble) {
			log_info("storage: writing again");
			in_trouble = 0;
			trouble_logged_ms = 0;
		}
		return;
	}
	trouble("commit");
	/* store_commit rolled back; give the file system back what it can. */
	turn_undone();
	store_checkpoint(br.store);
}

void
req_begin(struct link *l)
{
	br.req_active = 1;
	br.req_failed = 0;
	br.req_savepoint = 0;
	br.req_session = l != NULL ? l->session_id : 0;
	br.req_msg_id = 0;
	br.req_quiet = 0;
	br.req_room[0] = '\0';
	br.req_after = TAILQ_LAST(&br.after, afterlist);
	br.req_undo = TAILQ_LAST(&br.undo, undolist);
}

/*
 * A store call of this request failed (a full disk, a damaged page): it
 * will be undone at req_end, and its client told: the ERROR names the
 * SEND and the room, when a failure along the way knew them.
 */
void
req_fail(const char *what, uint64_t client_msg_id, const char *room)
{
	if (client_msg_id != 0 && br.req_msg_id == 0)
		br.req_msg_id = client_msg_id;
	if (room != NULL && br.req_room[0] == '\0')
		(void)str_copy(br.req_room, room, sizeof(br.req_room));
	br.req_failed = 1;
	trouble(what);
}

/* A failure the client is not told of: it asked for no answer. */
void
req_fail_quiet(const char *what)
{
	req_fail(what, 0, NULL);
	br.req_quiet = 1;
}

int
req_failed(void)
{
	return br.req_failed;
}

void
req_end(void)
{
	struct frame_buf	 b;
	struct link		*l;

	if (!br.req_active)
		return;
	br.req_active = 0;
	if (!br.req_failed) {
		if (!br.req_savepoint || store_release(br.store) == 0)
			return;
		br.req_failed = 1;
		trouble("release");
	}
	/*
	 * Only this request's writes go, when the transaction is still
	 * there; SQLite rolls all of it back after some I/O errors, and then
	 * every request of the turn so far goes with it (tx_lost).
	 */
	if (!tx_lost()) {
		if (!br.req_savepoint || store_rollback_to(br.store) == 0) {
			undo_back_to(br.req_undo);
			after_undone(br.req_after);
		} else {
			store_rollback(br.store);
			turn_undone();
		}
	}
	if (br.req_session == 0 || br.req_quiet ||
	    (l = link_by_session(br.req_session)) == NULL ||
	    l->state == LINK_DEAD)
		return;
	if (br.req_msg_id != 0 && l->limited_id == 0) {
		l->limited_id = br.req_msg_id;
		l->limited_code = ERR_STORAGE;
	}
	storage_error_frame(&b, br.req_msg_id, br.req_room[0] != '\0' ?
	    br.req_room : NULL);
	link_send_buf(l, &b);
}
