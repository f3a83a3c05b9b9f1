/*
 * outbox.c: what the client has said and not yet seen answered, in order.
 * Messages stay until their ACK, requests until their reply, so a reconnect
 * can send everything again; the broker de-duplicates messages by id.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "client.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

/* The request a script tagged "@id=..." that is being said or answered. */
static char	 cur_request[CLIENT_REQID_MAX + 1];

/*
 * Set while a tagged command runs (what it adds to the outbox keeps the
 * id) and while its answer is written (every JSON event carries it).
 */
void
outbox_set_request(const char *id)
{
	(void)str_copy(cur_request, id != NULL ? id : "",
	    sizeof(cur_request));
}

const char *
outbox_request(void)
{
	return cur_request;
}

void
outbox_init(struct outbox *ob)
{
	TAILQ_INIT(&ob->q);
	ob->n = 0;
	ob->nsend = 0;
}

/*
 * Ids are random so that two runs of the client for the same user never
 * collide in the broker's de-duplication table.
 */
static uint64_t
new_id(void)
{
	uint64_t	 id = 0;

	while (id == 0)
		if (RAND_bytes((unsigned char *)&id, sizeof(id)) != 1)
			return 0;
	return id;
}

struct outmsg *
outbox_add(struct outbox *ob, uint16_t type, const char *room, const char *to,
    const void *body, size_t len)
{
	struct outmsg	*m;

	m = xcalloc(1, sizeof(*m));
	m->type = type;
	(void)str_copy(m->reqid, cur_request, sizeof(m->reqid));
	if (room != NULL)
		(void)str_copy(m->room, room, sizeof(m->room));
	if (to != NULL)
		(void)str_copy(m->to, to, sizeof(m->to));
	if (type == MSG_SEND) {
		if ((m->id = new_id()) == 0) {
			free(m);
			return NULL;
		}
		ob->nsend++;
	}
	if (body != NULL) {
		m->body = xmalloc(len > 0 ? len : 1);
		memcpy(m->body, body, len);
		m->len = len;
	}
	TAILQ_INSERT_TAIL(&ob->q, m, entry);
	ob->n++;
	return m;
}

void
outbox_remove(struct outbox *ob, struct outmsg *m)
{
	TAILQ_REMOVE(&ob->q, m, entry);
	ob->n--;
	if (m->type == MSG_SEND)
		ob->nsend--;
	if (m->body != NULL) {
		OPENSSL_cleanse(m->body, m->len);
		free(m->body);
	}
	if (m->text != NULL) {
		OPENSSL_cleanse(m->text, strlen(m->text));
		free(m->text);
	}
	free(m->pages);
	free(m);
}

void
outbox_clear(struct outbox *ob)
{
	struct outmsg	*m;

	while ((m = TAILQ_FIRST(&ob->q)) != NULL)
		outbox_remove(ob, m);
}

/* ACKs come in the order of the SENDs: the head is almost always it. */
struct outmsg *
outbox_find_id(struct outbox *ob, uint64_t id)
{
	struct outmsg	*m;

	TAILQ_FOREACH(m, &ob->q, entry)
		if (m->type == MSG_SEND && m->id == id)
			return m;
	return NULL;
}

/*
 * The request a reply answers: the broker answers in order, so it is the
 * first one sent of that type (and for that room, when the reply names one).
 */
struct outmsg *
outbox_find_request(struct outbox *ob, uint16_t type, const char *room)
{
	struct outmsg	*m;

	TAILQ_FOREACH(m, &ob->q, entry) {
		if (!m->sent || m->type != type)
			continue;
		if (room == NULL || strcmp(m->room, room) == 0)
			return m;
	}
	return NULL;
}

/* After a reconnect nothing sent on the old connection is known to have arrived. */
void
outbox_unsend_all(struct outbox *ob)
{
	struct outmsg	*m;

	TAILQ_FOREACH(m, &ob->q, entry)
		m->sent = 0;
}

/*
 * A rate-limited message goes again later, and so does every message
 * behind it, or they would overtake it.  Requests behind it were served.
 */
void
outbox_unsend_from(struct outbox *ob, struct outmsg *from)
{
	struct outmsg	*m;

	for (m = from; m != NULL; m = TAILQ_NEXT(m, entry))
		if (m->type == MSG_SEND)
			m->sent = 0;
}
