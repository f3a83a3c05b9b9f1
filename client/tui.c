/*
 * tui.c: the full-screen interface, in the manner of irssi: one window
 * per room or conversation (and window 1 for the client's own lines), a
 * status line with the windows, their unread counts and highlights, and
 * the input line at the bottom.  ncurses draws; nothing else writes to
 * the terminal while it is on (stray output is caught and shown).
 */
#include "config.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>
#include <term.h>

#include <event2/event.h>

#include "client.h"
#include "log.h"
#include "output.h"
#include "tui.h"
#include "util.h"
#include "xmalloc.h"

#define NICK_COLOURS	6
#define PAIR_NICK	1		/* .. PAIR_NICK + NICK_COLOURS - 1 */
#define PAIR_BAR	(PAIR_NICK + NICK_COLOURS)
#define PAIR_MENTION	(PAIR_BAR + 1)
#define PAIR_ERROR	(PAIR_BAR + 2)
#define PAIR_DIM	(PAIR_BAR + 3)
#define STRAY_MAX	4096		/* bytes of caught output per line */
#define INPUT_MAX	(CLIENT_LINE_MAX + 1)

struct wline {
	uint64_t	 ts;
	int		 flags;
	int64_t		 hid;		/* history row, 0 if none */
	char		*from;		/* NULL: a notice */
	char		*text;
};

struct win {
	char		 key[HISTORY_CONV_MAX + 1];	/* "" for window 1 */
	struct wline	*ln;
	size_t		 n, cap;
	unsigned	 unread;
	int		 highlight;
	int		 scroll;	/* rows up from the bottom */
	int		 loaded;	/* the last page of history was read */
	int		 no_older;	/* the history has nothing older */
};

static struct {
	struct client	*c;
	SCREEN		*scr;
	FILE		*ttyout;
	FILE		*ttyin;
	int		 colour;
	struct win	 status;
	struct win	**wins;
	size_t		 nwins;
	int		 saved_out, saved_err;	/* the real stdout, stderr */
	int		 stray[2];		/* where they go meanwhile */
	struct event	*ev_stray, *ev_stdin, *ev_winch;
	char		 strayline[STRAY_MAX];
	size_t		 straylen;
	wchar_t		 input[INPUT_MAX];
	size_t		 inlen, incur;
	char		 hint[256];
} t = { .saved_out = -1, .saved_err = -1, .stray = { -1, -1 } };

static void	 draw(void);

/* The window plain lines go to now. */
static const char *
cur_key(char *buf, size_t bufsz)
{
	struct client	*c = t.c;

	if (c->room[0] != '\0')
		(void)snprintf(buf, bufsz, "%s", c->room);
	else if (c->query[0] != '\0')
		(void)snprintf(buf, bufsz, "@%s", c->query);
	else
		buf[0] = '\0';
	return buf;
}

static void
wline_free(struct wline *l)
{
	free(l->from);
	free(l->text);
}

static void
win_free(struct win *w)
{
	size_t	 i;

	for (i = 0; i < w->n; i++)
		wline_free(&w->ln[i]);
	free(w->ln);
	w->ln = NULL;
	w->n = w->cap = 0;
}

/* Text from elsewhere, made safe to draw: the output layer's rules. */
static char *
clean(const char *s, size_t len)
{
	return out_sanitize_n(s, len);
}

static void
win_insert(struct win *w, size_t at, uint64_t ts, int flags, int64_t hid,
    const char *from, const char *text, size_t len)
{
	struct wline	*l;

	if (w->n == w->cap) {
		w->cap = w->cap == 0 ? 64 : w->cap * 2;
		w->ln = xreallocarray(w->ln, w->cap, sizeof(*w->ln));
	}
	memmove(&w->ln[at + 1], &w->ln[at], (w->n - at) *
	    sizeof(*w->ln));
	w->n++;
	l = &w->ln[at];
	l->ts = ts != 0 ? ts : wall_ms();
	l->flags = flags;
	l->hid = hid;
	l->from = from != NULL ? clean(from, strlen(from)) : NULL;
	l->text = clean(text != NULL ? text : "", text != NULL ? len : 0);
}

/* A new line at the bottom; the oldest go past TUI_LINES_MAX. */
static void
win_append(struct win *w, uint64_t ts, int flags, int64_t hid,
    const char *from, const char *text, size_t len)
{
	win_insert(w, w->n, ts, flags, hid, from, text, len);
	while (w->n > TUI_LINES_MAX) {
		wline_free(&w->ln[0]);
		memmove(&w->ln[0], &w->ln[1], (w->n - 1) *
		    sizeof(*w->ln));
		w->n--;
		w->no_older = 0;
	}
}

struct older {
	struct win	*w;
	size_t		 at;
};

static int
older_cb(const struct hist_rec *r, void *arg)
{
	struct older	*o = arg;
	int		 flags = TUI_OLD;

	if (r->kind == HIST_JOIN)
		flags |= TUI_JOIN;
	else if (r->kind == HIST_PART)
		flags |= TUI_PART;
	win_insert(o->w, o->at++, r->ts, flags, r->id, r->from, r->text,
	    r->len);
	return 0;
}

/* The oldest history row shown, to page back from. */
static int64_t
oldest_hid(const struct win *w)
{
	size_t	 i;

	for (i = 0; i < w->n; i++)
		if (w->ln[i].hid > 0)
			return w->ln[i].hid;
	return 0;
}

/* Read a page of older lines from the history; 0 if there was none. */
static size_t
win_load_older(struct win *w)
{
	struct older	 o;
	int64_t		 before = oldest_hid(w);
	size_t		 n0 = w->n;

	if (w->key[0] == '\0' || w->no_older || w->n >= 2 * TUI_LINES_MAX)
		return 0;
	if (w->loaded && before == 0)
		return 0;	/* nothing shown came from the history */
	o.w = w;
	o.at = 0;
	if (view_older(t.c, w->key, before, TUI_PAGE_LOAD, older_cb, &o) == -1)
		w->no_older = 1;
	w->loaded = 1;
	if (w->n == n0)
		w->no_older = 1;
	return w->n - n0;
}

static struct win *
win_find(const char *key)
{
	size_t	 i;

	if (key[0] == '\0')
		return &t.status;
	for (i = 0; i < t.nwins; i++)
		if (strcmp(t.wins[i]->key, key) == 0)
			return t.wins[i];
	return NULL;
}

/* A window for key, made with its last lines from the history. */
static struct win *
win_get(const char *key)
{
	struct win	*w;

	if ((w = win_find(key)) != NULL)
		return w;
	w = xcalloc(1, sizeof(*w));
	(void)str_copy(w->key, key, sizeof(w->key));
	t.wins = xreallocarray(t.wins, t.nwins + 1, sizeof(*t.wins));
	t.wins[t.nwins++] = w;
	(void)win_load_older(w);
	return w;
}

/* Windows whose conversation was closed go (their lines with them). */
static void
win_sync(void)
{
	size_t	 i = 0;

	while (i < t.nwins) {
		if (view_index(t.c, t.wins[i]->key) == -1) {
			win_free(t.wins[i]);
			free(t.wins[i]);
			t.wins[i] = t.wins[--t.nwins];
		} else
			i++;
	}
}

static struct win *
win_current(void)
{
	char	 key[HISTORY_CONV_MAX + 1];

	cur_key(key, sizeof(key));
	if (key[0] != '\0' && view_index(t.c, key) == -1)
		(void)view_open(t.c, key);	/* /join typed: at once */
	if (key[0] != '\0' && view_index(t.c, key) == -1)
		return &t.status;		/* too many windows */
	return win_get(key);
}

/* The same name always gets the same colour, as in the line output. */
static int
nick_pair(const char *name)
{
	uint32_t	 h = 2166136261u;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 16777619u;
	}
	return PAIR_NICK + (int)(h % NICK_COLOURS);
}

/* One styled piece of a line. */
struct seg {
	const char	*s;
	size_t		 len;
	attr_t		 attr;
	short		 pair;
};

/*
 * Lay a line out in width columns, wrapping under the text (past the
 * timestamp), and draw its rows from..to-1 at screen row y (row from at
 * y).  Returns how many rows the whole line takes.
 */
static int
layout(const struct seg *segs, size_t nsegs, int width, int indent, int y,
    int from, int to)
{
	mbstate_t	 mbs;
	wchar_t		 wc;
	size_t		 i, off, n;
	int		 row = 0, col = 0, w;

	if (indent > width / 3)
		indent = width / 3;
	for (i = 0; i < nsegs; i++) {
		memset(&mbs, 0, sizeof(mbs));
		for (off = 0; off < segs[i].len; off += n) {
			n = mbrtowc(&wc, segs[i].s + off, segs[i].len - off,
			    &mbs);
			if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
				memset(&mbs, 0, sizeof(mbs));
				n = 1;
				wc = L'?';
			}
			if ((w = wcwidth(wc)) < 0) {
				wc = L'?';
				w = 1;
			}
			if (col + w > width) {
				row++;
				col = indent;
			}
			if (row >= from && row < to) {
				attr_set(segs[i].attr, segs[i].pair, NULL);
				if (wc == L'?' && segs[i].s[off] != '?')
					mvaddch(y + row - from, col, '?');
				else
					mvaddnstr(y + row - from, col,
					    segs[i].s + off, (int)n);
			}
			col += w;
		}
	}
	attr_set(A_NORMAL, 0, NULL);
	return row + 1;
}

/* A line as pieces: "12:34 <bob> text", "12:34 -!- bob joined", ... */
static size_t
segments(const struct wline *l, struct seg *segs, char *ts, size_t tssz,
    char *nick, size_t nicksz)
{
	const struct settings	*set = &t.c->set;
	time_t			 when = (time_t)(l->ts / 1000);
	struct tm		 tm;
	size_t			 n = 0;
	attr_t			 body = A_NORMAL;
	short			 bpair = 0;

	ts[0] = '\0';
	if (set->timestamps && localtime_r(&when, &tm) != NULL &&
	    settings_strftime(ts, tssz - 1, set->timestamp_format, &tm) > 0)
		(void)strcat(ts, " ");
	segs[n++] = (struct seg){ ts, strlen(ts), A_NORMAL,
	    t.colour ? PAIR_DIM : 0 };
	if (l->flags & TUI_MENTION) {
		body = A_BOLD;
		bpair = t.colour ? PAIR_MENTION : 0;
	} else if (l->flags & TUI_ERROR) {
		body = t.colour ? A_NORMAL : A_BOLD;
		bpair = t.colour ? PAIR_ERROR : 0;
	}
	if (l->from != NULL && (l->flags & (TUI_JOIN | TUI_PART))) {
		(void)snprintf(nick, nicksz, "-!- ");
		segs[n++] = (struct seg){ nick, strlen(nick), A_BOLD, 0 };
		segs[n++] = (struct seg){ l->from, strlen(l->from), A_NORMAL,
		    t.colour ? nick_pair(l->from) : 0 };
		segs[n++] = (struct seg){ l->flags & TUI_JOIN ? " joined" :
		    " left", l->flags & TUI_JOIN ? 7 : 5, A_NORMAL, 0 };
		return n;
	}
	if (l->from != NULL) {
		/* Mentions stand out even without colour. */
		(void)snprintf(nick, nicksz, "<%s>", l->from);
		segs[n++] = (struct seg){ nick, strlen(nick),
		    l->flags & TUI_MENTION ? A_REVERSE | A_BOLD : A_NORMAL,
		    t.colour ? nick_pair(l->from) : 0 };
		segs[n++] = (struct seg){ " ", 1, A_NORMAL, 0 };
	}
	segs[n++] = (struct seg){ l->text, strlen(l->text), body, bpair };
	return n;
}

static int
line_rows(const struct wline *l, int width, int y, int from, int to)
{
	struct seg	 segs[6];
	char		 ts[SETTINGS_TSFMT_MAX + 2], nick[NAME_MAX_LEN + 8];
	size_t		 n;

	n = segments(l, segs, ts, sizeof(ts), nick, sizeof(nick));
	return layout(segs, n, width, (int)strlen(ts) + (l->from != NULL &&
	    !(l->flags & (TUI_JOIN | TUI_PART)) ? (int)strlen(nick) + 1 : 0),
	    y, from, to);
}

/* Rows of w's lines from the bottom, scrolled up by w->scroll. */
static void
draw_lines(struct win *w, int y0, int height, int width)
{
	int	 bottom = height, skip = w->scroll, r, vis, top;
	size_t	 i;

	for (i = w->n; i > 0 && bottom > 0; i--) {
		r = line_rows(&w->ln[i - 1], width, 0, 0, 0);
		if (skip >= r) {
			skip -= r;
			continue;
		}
		vis = r - skip;
		skip = 0;
		top = bottom - vis;
		(void)line_rows(&w->ln[i - 1], width, y0 + (top < 0 ? 0 :
		    top), top < 0 ? -top : 0, vis);
		bottom = top;
	}
}

/* All rows of a window, for bounding the scroll. */
static int
total_rows(struct win *w, int width, int stop)
{
	int	 rows = 0;
	size_t	 i;

	for (i = w->n; i > 0 && rows < stop; i--)
		rows += line_rows(&w->ln[i - 1], width, 0, 0, 0);
	return rows;
}

static void
bar(int y, const char *text)
{
	attr_set(A_REVERSE, t.colour ? PAIR_BAR : 0, NULL);
	mvhline(y, 0, ' ', COLS);
	mvaddnstr(y, 0, text, COLS);
	attr_set(A_NORMAL, 0, NULL);
}

/*
 * " alice@host:7443 | 1:status [2:#lobby] 3:#ops(2) 4:@bob(1!) |
 * connected": the current window in brackets, unread counts, and '!'
 * for a mention.
 */
static void
draw_status(int y)
{
	struct client	*c = t.c;
	struct win	*cur = win_current(), *w;
	char		 buf[2048], item[HISTORY_CONV_MAX + 32];
	const char	*key;
	size_t		 i, len;

	len = (size_t)snprintf(buf, sizeof(buf), " %s@%s |", c->user,
	    c->hostport);
	for (i = 0; i <= view_count(c) && len < sizeof(buf) - 1; i++) {
		key = i == 0 ? "" : view_key(c, i - 1);
		w = win_find(key);
		if (w != NULL && w->unread > 0)
			(void)snprintf(item, sizeof(item), "%zu:%s(%u%s)",
			    i + 1, i == 0 ? "status" : key, w->unread,
			    w->highlight ? "!" : "");
		else
			(void)snprintf(item, sizeof(item), "%zu:%s%s", i + 1,
			    i == 0 ? "status" : key, w != NULL &&
			    w->highlight ? "(!)" : "");
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    w == cur ? " [%s]" : " %s", item);
	}
	if (len < sizeof(buf) - 1)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, " | %s%s",
		    session_state(c), cur->scroll > 0 ? " | -- more --" : "");
	bar(y, buf);
}

/* The prompt and the part of the line around the cursor that fits. */
static void
draw_input(int y)
{
	char	 prompt[HISTORY_CONV_MAX + 8], key[HISTORY_CONV_MAX + 1];
	size_t	 start = 0, i;
	int	 pw, col, w, avail;

	(void)snprintf(prompt, sizeof(prompt), "[%s] ",
	    cur_key(key, sizeof(key))[0] != '\0' ? key : "status");
	move(y, 0);
	clrtoeol();
	mvaddnstr(y, 0, prompt, COLS);
	pw = (int)strlen(prompt);
	avail = COLS - pw - 1;
	if (avail < 1)
		return;
	/* Scroll so the cursor is on screen, as irssi does. */
	for (;;) {
		for (w = 0, i = start; i < t.incur; i++)
			w += wcwidth(t.input[i]) > 0 ? wcwidth(t.input[i]) : 1;
		if (w <= avail)
			break;
		start += (size_t)avail / 2 > 0 ? (size_t)avail / 2 : 1;
	}
	col = pw;
	for (i = start; i < t.inlen; i++) {
		w = wcwidth(t.input[i]) > 0 ? wcwidth(t.input[i]) : 1;
		if (col + w > COLS)
			break;
		if (wcwidth(t.input[i]) > 0)
			mvaddnwstr(y, col, &t.input[i], 1);
		else
			mvaddch(y, col, '?');
		col += w;
	}
	for (w = pw, i = start; i < t.incur; i++)
		w += wcwidth(t.input[i]) > 0 ? wcwidth(t.input[i]) : 1;
	move(y, w < COLS ? w : COLS - 1);
}

static void
draw(void)
{
	struct win	*w;
	char		 title[512], key[HISTORY_CONV_MAX + 1];

	if (t.scr == NULL)
		return;
	win_sync();
	w = win_current();
	erase();
	(void)snprintf(title, sizeof(title), " securechat %s | %s%s%s",
	    PACKAGE_VERSION, cur_key(key, sizeof(key))[0] != '\0' ? key :
	    "status", t.hint[0] != '\0' ? " | " : "", t.hint);
	bar(0, title);
	if (LINES > 3)
		draw_lines(w, 1, LINES - 3, COLS);
	draw_status(LINES - 2);
	draw_input(LINES - 1);
	refresh();
}

void
tui_redraw(struct client *c)
{
	draw();
}

/* A completion's candidates, or the like: shown until the next key. */
void
tui_hint(struct client *c, const char *text)
{
	(void)snprintf(t.hint, sizeof(t.hint), "%s", text);
	draw();
}

void
tui_beep(struct client *c)
{
	if (t.scr != NULL)
		(void)beep();
}

/*
 * An event for window key.  In a window not shown it counts as unread,
 * and a mention marks it and rings the bell (as notify says).
 */
void
tui_show(struct client *c, const char *key, const char *from,
    const char *text, size_t len, uint64_t ts, int flags, int64_t hid)
{
	struct win	*w, *cur = win_current();
	int		 rows;

	if ((w = win_find(key)) == NULL) {
		if (view_index(c, key) != -1)
			w = win_get(key);
		else
			w = &t.status;	/* a room we are not in */
	}
	win_append(w, ts, flags, hid, from, text, len);
	if (w == cur && w->scroll > 0) {
		/* Reading back: what is on the screen stays put. */
		rows = line_rows(&w->ln[w->n - 1], COLS, 0, 0, 0);
		w->scroll += rows;
	}
	if (w != cur && !(flags & (TUI_NOTICE | TUI_OLD | TUI_JOIN |
	    TUI_PART))) {
		w->unread++;
		if (flags & TUI_MENTION)
			w->highlight = 1;
		if (c->set.notify == NOTIFY_ALL ||
		    (c->set.notify == NOTIFY_MENTIONS && (flags & TUI_MENTION)))
			tui_beep(c);
	}
	draw();
}

/* The output layer's lines (notices, errors, replies): the current window. */
static void
sink(uint64_t ts, int error, const char *text)
{
	struct win	*w;

	if (t.scr == NULL)
		return;
	w = win_current();
	win_append(w, ts, error ? TUI_NOTICE | TUI_ERROR : TUI_NOTICE, 0, NULL,
	    text, strlen(text));
	draw();
}

void
tui_clear(struct client *c)
{
	size_t	 i;

	win_free(&t.status);
	for (i = 0; i < t.nwins; i++) {
		win_free(t.wins[i]);
		t.wins[i]->scroll = 0;
		t.wins[i]->no_older = 1;
	}
	draw();
}

/* PgUp (dir 1) and PgDn (-1): half a screen, older lines read as needed. */
void
tui_scroll(struct client *c, int dir)
{
	struct win	*w = win_current();
	int		 page = LINES > 6 ? (LINES - 3) / 2 : 1, height = LINES - 3;
	int		 total;

	if (dir < 0) {
		w->scroll -= page;
		if (w->scroll < 0)
			w->scroll = 0;
		draw();
		return;
	}
	w->scroll += page;
	total = total_rows(w, COLS, w->scroll + height + 1);
	while (total < w->scroll + height && win_load_older(w) > 0)
		total = total_rows(w, COLS, w->scroll + height + 1);
	if (w->scroll > total - height)
		w->scroll = total - height > 0 ? total - height : 0;
	draw();
}

static void
focus(struct win *w)
{
	view_focus(t.c, w->key);	/* redraws through input_set_prompt */
	w->unread = 0;
	w->highlight = 0;
	w->scroll = 0;
	draw();
}

/* Window n (1: the client's own): Alt-n and /win n. */
void
tui_switch(struct client *c, int n)
{
	const char	*key;

	if (n < 1 || (size_t)n > view_count(c) + 1) {
		out_error(c, "NO_WINDOW", "no window %d: there are %zu", n,
		    view_count(c) + 1);
		return;
	}
	key = n == 1 ? "" : view_key(c, (size_t)n - 2);
	focus(win_get(key));
}

/* Alt-a: the next window with a mention, else with unread lines. */
void
tui_next_active(struct client *c)
{
	struct win	*w, *best = NULL;
	size_t		 i;

	for (i = 0; i < view_count(c); i++) {
		if ((w = win_find(view_key(c, i))) == NULL || w->unread == 0)
			continue;
		if (best == NULL || (w->highlight && !best->highlight))
			best = w;
	}
	if (best != NULL)
		focus(best);
}

/* /win [N | close] */
int
tui_window_cmd(struct client *c, const char *args)
{
	struct win	*w = win_current();
	char		*end;
	long		 n;
	size_t		 i;

	if (*args == '\0') {
		out_human_at(stdout, 0, "windows: 1 status");
		for (i = 0; i < view_count(c); i++) {
			w = win_find(view_key(c, i));
			out_human_at(stdout, 0, "windows: %zu %s%s", i + 2,
			    view_key(c, i), w != NULL && w->unread > 0 ?
			    " (unread)" : "");
		}
		return 0;
	}
	if (strcmp(args, "close") == 0) {
		if (w->key[0] == '\0') {
			out_error(c, "USAGE", "window 1 stays open");
			return -1;
		}
		if (w->key[0] == '#') {
			/* A room's window is its membership: leave it. */
			chat_request(c, MSG_PART, w->key);
			return 0;
		}
		view_close(c, w->key);
		view_focus(c, "");
		return 0;
	}
	errno = 0;
	n = strtol(args, &end, 10);
	if (end == args || *end != '\0' || errno != 0 || n < 1 || n > INT_MAX) {
		out_error(c, "USAGE", "usage: /win N, /win, /close");
		return -1;
	}
	tui_switch(c, (int)n);
	return 0;
}

void
tui_draw_input(struct client *c, const wchar_t *buf, size_t len,
    size_t cursor)
{
	if (len >= INPUT_MAX)
		len = INPUT_MAX - 1;
	wmemcpy(t.input, buf, len);
	t.inlen = len;
	t.incur = cursor <= len ? cursor : len;
	if (t.scr == NULL)
		return;
	draw_input(LINES - 1);
	refresh();
}

/* What escaped ncurses (log lines, a library's warning): shown, not lost. */
static void
stray_cb(evutil_socket_t fd, short what, void *arg)
{
	char	 buf[1024];
	ssize_t	 n, i;

	if ((n = read(fd, buf, sizeof(buf))) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n' || t.straylen == sizeof(t.strayline) - 1) {
			t.strayline[t.straylen] = '\0';
			if (t.straylen > 0)
				sink(0, 1, t.strayline);
			t.straylen = 0;
			if (buf[i] == '\n')
				continue;
		}
		t.strayline[t.straylen++] = buf[i];
	}
}

static void
stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	uint8_t		 buf[512];
	ssize_t		 n;

	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* The terminal went away: there is nobody left to talk to. */
		client_leave(c);
		return;
	}
	t.hint[0] = '\0';
	tui_input_feed(c, buf, (size_t)n);
}

static void
winch_cb(evutil_socket_t sig, short what, void *arg)
{
	struct winsize	 ws;

	if (t.scr == NULL)
		return;
	if (ioctl(fileno(t.ttyout), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0)
		(void)resizeterm(ws.ws_row, ws.ws_col);
	draw();
}

/* Ctrl-Z: the terminal as the shell wants it, until tui_resume. */
void
tui_stop_screen(struct client *c)
{
	if (t.scr == NULL)
		return;
	endwin();
	(void)fflush(t.ttyout);
}

/* Back from Ctrl-Z or SIGSTOP: the terminal may have been used meanwhile. */
void
tui_resume(struct client *c)
{
	if (t.scr == NULL)
		return;
	reset_prog_mode();
	clearok(curscr, TRUE);
	winch_cb(SIGWINCH, 0, NULL);
}

static void
colours(void)
{
	static const short	 nick[NICK_COLOURS] = { COLOR_RED, COLOR_GREEN,
				    COLOR_YELLOW, COLOR_BLUE, COLOR_MAGENTA,
				    COLOR_CYAN };
	short			 i;

	if (!t.colour || !has_colors() || start_color() == ERR) {
		t.colour = 0;
		return;
	}
	(void)use_default_colors();
	for (i = 0; i < NICK_COLOURS; i++)
		(void)init_pair(PAIR_NICK + i, nick[i], -1);
	(void)init_pair(PAIR_BAR, COLOR_WHITE, COLOR_BLUE);
	(void)init_pair(PAIR_MENTION, COLOR_YELLOW, -1);
	(void)init_pair(PAIR_ERROR, COLOR_RED, -1);
	(void)init_pair(PAIR_DIM, COLOR_CYAN, -1);
}

/* Give the terminal back, and what was caught meanwhile to stderr. */
static void
restore(void)
{
	if (t.scr != NULL) {
		endwin();
		(void)fflush(t.ttyout);
	}
	(void)fflush(stdout);
	(void)fflush(stderr);
	if (t.saved_out != -1) {
		(void)dup2(t.saved_out, STDOUT_FILENO);
		(void)close(t.saved_out);
		t.saved_out = -1;
	}
	if (t.saved_err != -1) {
		(void)dup2(t.saved_err, STDERR_FILENO);
		(void)close(t.saved_err);
		t.saved_err = -1;
	}
	if (t.stray[0] != -1) {
		/* The write ends are gone: this reads what is left. */
		if (t.stray[1] != -1)
			(void)close(t.stray[1]);
		t.stray[1] = -1;
		/* Best effort: the terminal may be gone too. */
		if (t.straylen > 0 && write(STDERR_FILENO, t.strayline,
		    t.straylen) == -1)
			t.straylen = 0;
		t.straylen = 0;
		for (;;) {
			char	 buf[1024];
			ssize_t	 n = read(t.stray[0], buf, sizeof(buf));

			if (n <= 0 || write(STDERR_FILENO, buf, (size_t)n) != n)
				break;
		}
		(void)close(t.stray[0]);
		t.stray[0] = -1;
	}
}

/* A fatal() ends the process through exit(): the terminal is put back. */
static void
at_exit(void)
{
	restore();
}

/*
 * Can this terminal be driven full screen?  Not for TERM=dumb or unset,
 * not without cursor addressing, and both ends must be the terminal.
 */
static int
capable(void)
{
	const char	*term = getenv("TERM");
	char		*cup;
	int		 err;

	if (term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0 ||
	    !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return 0;
	if (setupterm(NULL, STDOUT_FILENO, &err) != OK)
		return 0;
	cup = tigetstr("cup");
	err = cup != NULL && cup != (char *)-1;
	(void)del_curterm(cur_term);
	return err;
}

/* Our stdout and stderr go to a pipe; ncurses gets the terminal. */
static int
catch_output(void)
{
	int	 fd;

	if ((fd = dup(STDOUT_FILENO)) == -1 ||
	    (t.ttyout = fdopen(fd, "w")) == NULL ||
	    (fd = dup(STDIN_FILENO)) == -1 ||
	    (t.ttyin = fdopen(fd, "r")) == NULL ||
	    pipe2(t.stray, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    (t.saved_out = dup(STDOUT_FILENO)) == -1 ||
	    (t.saved_err = dup(STDERR_FILENO)) == -1 ||
	    fd_set_cloexec(t.saved_out, 1) == -1 ||
	    fd_set_cloexec(t.saved_err, 1) == -1)
		return -1;
	(void)fflush(stdout);
	(void)fflush(stderr);
	if (dup2(t.stray[1], STDOUT_FILENO) == -1 ||
	    dup2(t.stray[1], STDERR_FILENO) == -1)
		return -1;
	return 0;
}

int
tui_start(struct client *c)
{
	if (!capable())
		return -1;
	t.c = c;
	t.colour = c->colour;
	/* Before ncurses, which would install its own handler otherwise. */
	if ((t.ev_winch = evsignal_new(c->base, SIGWINCH, winch_cb, c)) ==
	    NULL || evsignal_add(t.ev_winch, NULL) == -1)
		fatalx("cannot watch SIGWINCH");
	/*
	 * libedit reads the terminal's description (tgetent) when it
	 * starts, which replaces ncurses' own: it must come first.
	 */
	tui_input_init(c);
	if (catch_output() == -1 ||
	    (t.scr = newterm(NULL, t.ttyout, t.ttyin)) == NULL) {
		restore();
		tui_input_stop(c);
		return -1;
	}
	if (atexit(at_exit) != 0)
		fatalx("atexit");

	(void)raw();
	(void)noecho();
	(void)nonl();
	(void)keypad(stdscr, FALSE);	/* we read the bytes ourselves */
	colours();
	if ((t.ev_stray = event_new(c->base, t.stray[0], EV_READ | EV_PERSIST,
	    stray_cb, c)) == NULL || event_add(t.ev_stray, NULL) == -1)
		fatalx("cannot watch caught output");
	if ((t.ev_stdin = event_new(c->base, STDIN_FILENO, EV_READ |
	    EV_PERSIST, stdin_cb, c)) == NULL)
		fatalx("cannot watch the terminal");
	/* Names are drawn with ncurses colours, not escape codes. */
	out_init(0, 0);
	out_set_sink(sink);
	draw();
	return 0;
}

void
tui_stop(struct client *c)
{
	size_t	 i;

	out_set_sink(NULL);
	if (t.ev_stdin != NULL)
		event_free(t.ev_stdin);
	if (t.ev_stray != NULL)
		event_free(t.ev_stray);
	if (t.ev_winch != NULL)
		event_free(t.ev_winch);
	t.ev_stdin = t.ev_stray = t.ev_winch = NULL;
	restore();
	if (t.scr != NULL)
		delscreen(t.scr);
	t.scr = NULL;
	if (t.ttyout != NULL)
		(void)fclose(t.ttyout);
	if (t.ttyin != NULL)
		(void)fclose(t.ttyin);
	t.ttyout = t.ttyin = NULL;
	win_free(&t.status);
	for (i = 0; i < t.nwins; i++) {
		win_free(t.wins[i]);
		free(t.wins[i]);
	}
	free(t.wins);
	t.wins = NULL;
	t.nwins = 0;
	c->tui = 0;
	out_init(c->json, c->colour);
}

/* Reading the terminal starts with the input line (tui-input.c). */
void
tui_input_watch(struct client *c, int on)
{
	if (t.ev_stdin == NULL)
		return;
	if (on && event_add(t.ev_stdin, NULL) == -1)
		fatalx("event_add");
	if (!on)
		(void)event_del(t.ev_stdin);
}
