/*
 * view.c: between the chat and what people see.  Each message shown is
 * kept in the local history; the rooms joined and the conversations open
 * are remembered (they are the windows of the full-screen interface);
 * the full-screen interface or the line output gets each event.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "client.h"
#include "history.h"
#include "identity.h"
#include "log.h"
#include "output.h"
#include "tui.h"
#include "util.h"
#include "xmalloc.h"

#define VIEW_CONVS_MAX		256	/* rooms and conversations open */
#define VIEW_SEARCH_MAX		100	/* results shown by /search */
#define VIEW_STATE		"windows"
#define DAY_MS			(24ULL * 3600 * 1000)

struct view {
	struct history	 *hist;
	char		(*convs)[HISTORY_CONV_MAX + 1];
	size_t		  n;
};

static void
history_warn(struct client *c, const char *err)
{
	out_error(c, "HISTORY", "local history: %s", err);
}

/* The open conversations, one "#room" or "@user" per line. */
static void
save_convs(struct client *c)
{
	struct view	*v = c->view;
	char		*buf;
	size_t		 i, len = 0;

	if (v->hist == NULL)
		return;
	buf = xmalloc(v->n * (HISTORY_CONV_MAX + 2) + 1);
	for (i = 0; i < v->n; i++)
		len += (size_t)sprintf(buf + len, "%s\n", v->convs[i]);
	if (history_state_put(v->hist, VIEW_STATE, (const uint8_t *)buf,
	    len) == -1)
		history_warn(c, "cannot save the window list");
	free(buf);
}

static int
valid_conv(const char *s)
{
	char	 tmp[HISTORY_CONV_MAX + 1];

	if (str_copy(tmp, s, sizeof(tmp)) == -1)
		return 0;
	if (tmp[0] == '#')
		return proto_fold_room(tmp) == 0 && strcmp(tmp, s) == 0;
	return tmp[0] == '@' && proto_fold_user(tmp + 1) == 0 &&
	    strcmp(tmp, s) == 0;
}

static void
load_convs(struct client *c)
{
	struct view	*v = c->view;
	uint8_t		*data;
	char		*p, *nl;
	size_t		 len;

	if (v->hist == NULL ||
	    history_state_get(v->hist, VIEW_STATE, &data, &len) != 0)
		return;
	data[len] = '\0';
	for (p = (char *)data; *p != '\0' && v->n < VIEW_CONVS_MAX; p = nl) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl++ = '\0';
		if (valid_conv(p))
			(void)view_open(c, p);
	}
	free(data);
}

/*
 * The history is per account and server, beside the .seen file; its key
 * is sealed to the identity's X25519 key, so a passphrase-protected
 * identity leaves nothing readable.
 */
void
view_init(struct client *c)
{
	struct view	*v;
	char		*db = NULL, *key = NULL, err[512];
	int64_t		 n;

	v = c->view = xcalloc(1, sizeof(*v));
	v->convs = xcalloc(VIEW_CONVS_MAX, sizeof(*v->convs));
	if (c->set.history_retention == 0)
		return;
	(void)xasprintf(&db, "%s/%s@%s_%u.history", c->home, c->user, c->host,
	    c->port);
	(void)xasprintf(&key, "%s/%s@%s_%u.history-key", c->home, c->user,
	    c->host, c->port);
	if (history_open(&v->hist, db, key, c->id->dh_priv, err,
	    sizeof(err)) == -1)
		history_warn(c, err);
	else if (c->set.history_retention > 0 &&
	    (n = history_prune(v->hist, wall_ms() -
	    (uint64_t)c->set.history_retention * DAY_MS)) > 0)
		log_debug("history: %lld messages past retention erased",
		    (long long)n);
	free(db);
	free(key);
	load_convs(c);
}

/*
 * The line-based interface on a terminal goes on where it was: lines go
 * to the room joined last.  (The full-screen one starts in window 1.)
 */
void
view_resume(struct client *c)
{
	size_t	 i;

	for (i = view_count(c); i > 0; i--)
		if (view_key(c, i - 1)[0] == '#') {
			view_focus(c, view_key(c, i - 1));
			return;
		}
}

void
view_free(struct client *c)
{
	if (c->view == NULL)
		return;
	history_close(c->view->hist);
	free(c->view->convs);
	free(c->view);
	c->view = NULL;
}

size_t
view_count(const struct client *c)
{
	return c->view != NULL ? c->view->n : 0;
}

const char *
view_key(const struct client *c, size_t i)
{
	return c->view != NULL && i < c->view->n ? c->view->convs[i] : NULL;
}

int
view_index(const struct client *c, const char *key)
{
	size_t	 i;

	for (i = 0; c->view != NULL && i < c->view->n; i++)
		if (strcmp(c->view->convs[i], key) == 0)
			return (int)i;
	return -1;
}

/* A room joined or a conversation begun: it gets a window. */
int
view_open(struct client *c, const char *key)
{
	struct view	*v = c->view;
	int		 i;

	if ((i = view_index(c, key)) != -1)
		return i;
	if (v->n >= VIEW_CONVS_MAX)
		return -1;
	(void)str_copy(v->convs[v->n], key, sizeof(v->convs[0]));
	v->n++;
	save_convs(c);
	if (c->tui)
		tui_redraw(c);
	return (int)v->n - 1;
}

void
view_close(struct client *c, const char *key)
{
	struct view	*v = c->view;
	int		 i;

	if ((i = view_index(c, key)) == -1)
		return;
	memmove(v->convs[i], v->convs[i + 1], (v->n - (size_t)i - 1) *
	    sizeof(v->convs[0]));
	v->n--;
	save_convs(c);
}

/* Make key ("#room", "@user" or "" for none) where plain lines go. */
void
view_focus(struct client *c, const char *key)
{
	c->room[0] = c->query[0] = '\0';
	if (key[0] == '#')
		(void)str_copy(c->room, key, sizeof(c->room));
	else if (key[0] == '@')
		(void)str_copy(c->query, key + 1, sizeof(c->query));
	input_set_prompt(c);
}

void
view_joined(struct client *c, const char *room)
{
	(void)view_open(c, room);
}

/*
 * Leaving the current room: lines go to the room joined last before it,
 * not nowhere.
 */
void
view_parted(struct client *c, const char *room)
{
	const char	*next = "";
	size_t		 i;

	view_close(c, room);
	if (c->tui)
		out_notice(c, "parted", "you left %s", room);
	if (strcmp(c->room, room) != 0)
		return;
	for (i = view_count(c); i > 0; i--)
		if (view_key(c, i - 1)[0] == '#') {
			next = view_key(c, i - 1);
			break;
		}
	view_focus(c, next);
}

/* Into the history; the row's id (0 if none) pages back from it. */
static int64_t
keep(struct client *c, uint8_t kind, const char *conv, const char *from,
    const uint8_t *text, size_t len, uint64_t seq, uint64_t ts)
{
	struct hist_rec	 r;
	char		 err[512];
	int64_t		 id = 0;

	if (c->view == NULL || c->view->hist == NULL)
		return 0;
	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.seq = seq;
	r.ts = ts != 0 ? ts : wall_ms();
	(void)str_copy(r.conv, conv, sizeof(r.conv));
	(void)str_copy(r.from, from, sizeof(r.from));
	r.text = (const char *)text;
	r.len = len > HISTORY_TEXT_MAX ? HISTORY_TEXT_MAX : len;
	if (history_add(c->view->hist, &r, &id, err, sizeof(err)) == -1)
		history_warn(c, err);
	return id;
}

/* A word of text is the user's name or a highlight word, case folded. */
int
view_mentions(const struct client *c, const char *text, size_t len)
{
	char		 words[SETTINGS_VALUE_MAX + NAME_MAX_LEN + 2];
	const char	*w;
	size_t		 wl, i;

	(void)snprintf(words, sizeof(words), "%s %s", c->user,
	    c->set.highlight);
	for (w = words; *w != '\0'; w += wl) {
		w += strspn(w, " \t,");
		if ((wl = strcspn(w, " \t,")) == 0)
			break;
		for (i = 0; i + wl <= len; i++) {
			if (strncasecmp(text + i, w, wl) != 0)
				continue;
			/* Whole words: "al" is not a mention of "alice". */
			if ((i == 0 || !isalnum((unsigned char)text[i - 1])) &&
			    (i + wl == len ||
			    !isalnum((unsigned char)text[i + wl])))
				return 1;
		}
	}
	return 0;
}

/* In the terminal interface, the note the line interface appends. */
static void
view_late(struct client *c, const char *conv, const char *from,
    uint64_t ts)
{
	char	 text[128];

	(void)snprintf(text, sizeof(text), "the message above from %s came "
	    "after ones written later: shown out of order", from);
	tui_show(c, conv, NULL, text, strlen(text), ts, TUI_NOTICE, 0);
}

void
view_message(struct client *c, const char *room, const char *from,
    const uint8_t *body, size_t len, uint64_t seq, uint64_t ts, int late)
{
	int64_t	 id;

	id = keep(c, HIST_MESSAGE, room, from, body, len, seq, ts);
	if (c->tui) {
		(void)view_open(c, room);
		tui_show(c, room, from, (const char *)body, len, ts,
		    strcmp(from, c->user) != 0 &&
		    view_mentions(c, (const char *)body, len) ? TUI_MENTION : 0,
		    id);
		if (late)
			view_late(c, room, from, ts);
	} else
		out_message(c, room, from, body, len, seq, ts, late);
}

void
view_direct(struct client *c, const char *from, const char *to,
    const uint8_t *body, size_t len, uint64_t seq, uint64_t ts, int late)
{
	char	 conv[HISTORY_CONV_MAX + 1];
	int64_t	 id;

	(void)snprintf(conv, sizeof(conv), "@%s", strcmp(from, c->user) == 0 ?
	    to : from);
	id = keep(c, HIST_DIRECT, conv, from, body, len, seq, ts);
	if (c->tui) {
		(void)view_open(c, conv);
		/* Someone writing to us is as good as a mention. */
		tui_show(c, conv, from, (const char *)body, len, ts,
		    strcmp(from, c->user) != 0 ? TUI_MENTION : 0, id);
		if (late)
			view_late(c, conv, from, ts);
	} else
		out_direct(c, from, to, body, len, seq, ts, late);
}

/* Our direct message, acknowledged: it does not come back to us. */
void
view_sent_direct(struct client *c, const struct outmsg *m, uint64_t seq)
{
	char	 conv[HISTORY_CONV_MAX + 1];
	int64_t	 id;

	(void)snprintf(conv, sizeof(conv), "@%s", m->to);
	id = keep(c, HIST_DIRECT, conv, c->user, (const uint8_t *)m->text,
	    strlen(m->text), seq, 0);
	if (c->tui) {
		(void)view_open(c, conv);
		tui_show(c, conv, c->user, m->text, strlen(m->text), 0, 0, id);
	}
}

void
view_membership(struct client *c, int kind, const char *room,
    const char *user, uint64_t seq, uint64_t ts, int sig)
{
	int64_t	 id;

	if (kind == EVENT_JOIN && strcmp(user, c->user) == 0)
		(void)view_open(c, room);
	id = keep(c, kind == EVENT_JOIN ? HIST_JOIN : HIST_PART, room, user,
	    NULL, 0, seq, ts);
	if (c->tui)
		tui_show(c, room, user, NULL, 0, ts, kind == EVENT_JOIN ?
		    TUI_JOIN : TUI_PART, id);
	else
		out_membership(c, kind, room, user, seq, ts, sig);
}

/* Older lines of a conversation, for scrollback (oldest first to cb). */
int
view_older(struct client *c, const char *conv, int64_t before, size_t n,
    history_cb *cb, void *arg)
{
	if (c->view == NULL || c->view->hist == NULL)
		return -1;
	return history_page(c->view->hist, conv, before, n, cb, arg);
}

struct found {
	struct client	*c;
	struct jbuf	*jb;
	size_t		 n;
};

static int
search_one(const struct hist_rec *r, void *arg)
{
	struct found	*f = arg;
	char		 when[32], *text;
	time_t		 t = (time_t)(r->ts / 1000);
	struct tm	 tm;

	if (f->jb != NULL) {
		jb_adds(f->jb, f->n++ > 0 ? ",{" : "{");
		jb_adds(f->jb, "\"conversation\":");
		jb_string_n(f->jb, r->conv, strlen(r->conv));
		jb_adds(f->jb, ",\"from\":");
		jb_string_n(f->jb, r->from, strlen(r->from));
		jb_adds(f->jb, ",\"text\":");
		jb_string_n(f->jb, r->text, r->len);
		(void)snprintf(when, sizeof(when), ",\"ts\":%llu}",
		    (unsigned long long)r->ts);
		jb_adds(f->jb, when);
		return 0;
	}
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm) == 0)
		(void)snprintf(when, sizeof(when), "?");
	text = out_sanitize_n(r->text, r->len);
	out_human_at(stdout, 0, "search: %s %s <%s> %s", when, r->conv,
	    r->from, text);
	free(text);
	return 0;
}

void
view_search(struct client *c, const char *needle)
{
	struct found	 f;
	struct jbuf	 jb;
	size_t		 n = 0;

	if (c->view == NULL || c->view->hist == NULL) {
		out_error(c, "NO_HISTORY", "no local history is kept "
		    "(history_retention = 0, or it could not be opened)");
		return;
	}
	memset(&f, 0, sizeof(f));
	f.c = c;
	if (out_json) {
		jb_begin(&jb, "search");
		jb_str(&jb, "query", needle);
		jb_key(&jb, "results");
		jb_adds(&jb, "[");
		f.jb = &jb;
	}
	if (history_search(c->view->hist, needle, VIEW_SEARCH_MAX, search_one,
	    &f, &n) == -1) {
		if (f.jb != NULL)
			free(jb.p);
		out_error(c, "HISTORY", "local history: search failed");
		return;
	}
	if (f.jb != NULL) {
		jb_adds(&jb, "]");
		jb.nfields = 1;
		jb_num(&jb, "matches", n);
		jb_emit(&jb);
	} else
		out_human_at(stdout, 0, "search: %zu match%s for '%s'%s", n,
		    n == 1 ? "" : "es", needle, n == VIEW_SEARCH_MAX ?
		    " (the newest shown)" : "");
}

/* /clear: the history goes, files and key; the windows stay open. */
void
view_clear(struct client *c)
{
	char	 err[512];

	if (c->view == NULL || c->view->hist == NULL) {
		out_error(c, "NO_HISTORY", "no local history is kept");
		return;
	}
	if (history_clear(c->view->hist, c->id->dh_priv, err,
	    sizeof(err)) == -1) {
		history_warn(c, err);
		history_close(c->view->hist);
		c->view->hist = NULL;
		return;
	}
	save_convs(c);
	if (c->tui)
		tui_clear(c);
	out_notice(c, "history_cleared", "local history erased (a new key "
	    "seals what comes next)");
}

void
view_status(struct client *c, struct jbuf *jb)
{
	int64_t	 n = -1;
	char	 ret[32];

	if (c->view != NULL && c->view->hist != NULL)
		n = history_count(c->view->hist);
	if (c->set.history_retention < 0)
		(void)snprintf(ret, sizeof(ret), "forever");
	else
		(void)snprintf(ret, sizeof(ret), "%d days",
		    c->set.history_retention);
	if (jb != NULL) {
		jb_num(jb, "history_messages", n < 0 ? 0 : (uint64_t)n);
		jb_num(jb, "history_retention_days",
		    c->set.history_retention < 0 ? 0 :
		    (uint64_t)c->set.history_retention);
		/* Else 0 days would say forever and none alike. */
		jb_bool(jb, "history_forever", c->set.history_retention < 0);
		return;
	}
	if (n < 0)
		out_human_at(stdout, 0, "status: no local history kept");
	else
		out_human_at(stdout, 0, "status: local history: %lld "
		    "messages, kept %s", (long long)n, ret);
}
