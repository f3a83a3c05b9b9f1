/*
 * tui-input.c: the full-screen interface's keys and input line.  We read
 * the terminal ourselves: window keys (Alt-N, PgUp/PgDn, Ctrl-C, ...) are
 * ours, the rest goes to libedit, which edits the line (emacs keys, the
 * user's ~/.editrc, history, our completion).
 *
 * Why libedit runs on a pseudo-terminal: it draws the line itself with
 * termcap and insists (tty_setup) that its input and output be a
 * terminal, and its readline layer turns editing off when that terminal
 * does not echo, as the curses one never does; its getc hook alone
 * would still let it draw over ncurses' screen.  So libedit gets a pty
 * of its own, whose output nobody reads but us (and we throw it away),
 * and its native API in unbuffered mode: one el_wgets() per key, each
 * fed through EL_GETCFN, after which el_wline() gives the buffer and
 * cursor that tui.c draws.  The readline layer's callback interface was
 * not used: it reads keys one byte at a time (so UTF-8 arrives split),
 * prints completion lists itself, and its rl_line_buffer may point at a
 * buffer libedit has since reallocated.
 */
#include "config.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include <histedit.h>

#include <event2/event.h>

#include "client.h"
#include "log.h"
#include "tui.h"
#include "util.h"
#include "xmalloc.h"

#define KEY_MAX		16	/* bytes of one key's sequence */
#define ESC_WAIT_MS	50	/* a lone ESC, not the start of a sequence */
#define QUEUE_MAX	64	/* characters of one key for libedit */
#define HISTORY_SIZE	500	/* lines typed, kept for Up/Down */

static struct {
	struct client	*c;
	EditLine	*el;
	History		*hist;
	int		 master;
	FILE		*slave;
	struct event	*ev_pty;
	struct event	*ev_esc;
	uint8_t		 key[KEY_MAX];	/* a sequence being read */
	size_t		 nkey;
	wchar_t		 q[QUEUE_MAX];	/* what libedit reads next */
	size_t		 qn, qi;
} in = { .master = -1 };

/* libedit's read function: the key being fed, nothing more. */
static int
getc_fn(EditLine *el, wchar_t *wc)
{
	if (in.qi >= in.qn)
		return 0;
	*wc = in.q[in.qi++];
	return 1;
}

static const char *
prompt_fn(EditLine *el)
{
	return "";
}

/* libedit draws on its pty for nobody: drop it. */
static void
pty_cb(evutil_socket_t fd, short what, void *arg)
{
	char	 buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static void
show_line(void)
{
	const LineInfoW	*li = el_wline(in.el);

	tui_draw_input(in.c, li->buffer, (size_t)(li->lastchar - li->buffer),
	    (size_t)(li->cursor - li->buffer));
}

/* A fresh, empty line (and history browsing starts over). */
static void
new_line(void)
{
	(void)el_set(in.el, EL_UNBUFFERED, 0);
	(void)el_set(in.el, EL_UNBUFFERED, 1);
	pty_cb(in.master, 0, NULL);
}

/* The finished line, as the multibyte text the commands read. */
static void
line_done(const wchar_t *w, size_t n)
{
	HistEvent	 ev;
	char		*line, mb[MB_LEN_MAX];
	size_t		 i, len = 0, k;
	mbstate_t	 mbs;

	line = xmalloc(n * MB_LEN_MAX + 1);
	memset(&mbs, 0, sizeof(mbs));
	for (i = 0; i < n; i++) {
		if ((k = wcrtomb(mb, w[i], &mbs)) == (size_t)-1) {
			memset(&mbs, 0, sizeof(mbs));
			mb[0] = '?';
			k = 1;
		}
		memcpy(line + len, mb, k);
		len += k;
	}
	line[len] = '\0';
	new_line();
	show_line();
	if (line[strspn(line, " \t")] != '\0')
		(void)history(in.hist, &ev, H_ENTER, line);
	cmd_line(in.c, line);
	free(line);
}

/* Hand the queued characters to libedit, one command at a time. */
static void
run_editor(void)
{
	const wchar_t	*buf;
	size_t		 before;
	int		 n;

	while (in.qi < in.qn && in.el != NULL) {
		before = in.qi;
		buf = el_wgets(in.el, &n);
		pty_cb(in.master, 0, NULL);
		if (buf != NULL && n > 0 && buf[n - 1] == L'\n') {
			line_done(buf, (size_t)n - 1);
			if (in.el == NULL)
				return;		/* /quit */
		}
		if (in.qi == before)
			break;
	}
	in.qn = in.qi = 0;
	show_line();
}

static void
queue(const wchar_t *w, size_t n)
{
	if (in.qn + n > QUEUE_MAX)
		return;
	wmemcpy(in.q + in.qn, w, n);
	in.qn += n;
}

static void
queue_bytes(const uint8_t *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && in.qn < QUEUE_MAX; i++)
		in.q[in.qn++] = b[i];
}

/* Ctrl-Z: give the terminal back and stop, as a shell expects. */
static void
suspend(void)
{
	tui_stop_screen(in.c);
	(void)raise(SIGTSTP);
	/* SIGCONT brings tui_resume(). */
}

/* Is this escape sequence one libedit is bound to by default? */
static int
editor_key(const uint8_t *k, size_t n)
{
	static const char *const known[] = {
		"\033[A", "\033[B", "\033[C", "\033[D", "\033[H", "\033[F",
		"\033OA", "\033OB", "\033OC", "\033OD", "\033OH", "\033OF",
		"\033[1~", "\033[3~", "\033[4~", "\033[7~", "\033[8~",
		"\033[1;5C", "\033[1;5D", "\033[5C", "\033[5D",
	};
	size_t	 i;

	/* Alt-letter: libedit's emacs meta keys (word motion, ...). */
	if (n == 2 && k[1] >= 0x20 && k[1] != '[' && k[1] != 'O')
		return 1;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == n && memcmp(known[i], k, n) == 0)
			return 1;
	return 0;
}

/* A whole escape sequence: ours, libedit's, or dropped. */
static void
escape_key(struct client *c, const uint8_t *k, size_t n)
{
	int	 cur;

	if (n == 2 && k[1] >= '0' && k[1] <= '9') {
		tui_switch(c, k[1] == '0' ? 10 : k[1] - '0');
		return;
	}
	if (n == 2 && k[1] == 'a') {
		tui_next_active(c);
		return;
	}
	if (n == 4 && memcmp(k, "\033[5~", 4) == 0) {
		tui_scroll(c, 1);
		return;
	}
	if (n == 4 && memcmp(k, "\033[6~", 4) == 0) {
		tui_scroll(c, -1);
		return;
	}
	/* Alt-Left and Alt-Right: the window before, the one after. */
	if (n == 6 && (memcmp(k, "\033[1;3D", 6) == 0 ||
	    memcmp(k, "\033[1;3C", 6) == 0)) {
		cur = view_index(c, c->room[0] != '\0' ? c->room : "") + 2;
		if (c->room[0] == '\0' && c->query[0] != '\0') {
			char	 q[NAME_MAX_LEN + 2];

			(void)snprintf(q, sizeof(q), "@%s", c->query);
			cur = view_index(c, q) + 2;
		}
		if (cur < 1)
			cur = 1;
		cur += k[5] == 'C' ? 1 : -1;
		if (cur >= 1 && (size_t)cur <= view_count(c) + 1)
			tui_switch(c, cur);
		return;
	}
	if (editor_key(k, n)) {
		queue_bytes(k, n);
		run_editor();
	}
}

/* A control key or a character (a Unicode code point). */
static void
plain_key(struct client *c, wchar_t wc)
{
	const LineInfoW	*li;

	switch (wc) {
	case 0x03:		/* Ctrl-C: drop the line, as a shell does */
		tui_input_clear(c);
		return;
	case 0x04:		/* Ctrl-D: on an empty line, leave */
		li = el_wline(in.el);
		if (li->lastchar == li->buffer) {
			client_leave(c);
			return;
		}
		break;
	case 0x0c:		/* Ctrl-L: draw everything again */
		tui_resume(c);
		return;
	case 0x1a:		/* Ctrl-Z */
		suspend();
		return;
	default:
		break;
	}
	queue(&wc, 1);
	run_editor();
}

static void
esc_cb(evutil_socket_t fd, short what, void *arg)
{
	/* A lone ESC: libedit would wait for the next key; nothing to do. */
	in.nkey = 0;
}

/* How long a UTF-8 sequence starting with b is; 0 for a bad lead byte. */
static size_t
utf8_len(uint8_t b)
{
	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	return 0;
}

/* A whole key's UTF-8 sequence as one character; '?' if not valid. */
static wchar_t
key_char(const uint8_t *k, size_t n)
{
	uint32_t	 cp;

	return utf8_decode(k, n, &cp) == n ? (wchar_t)cp : L'?';
}

/* Is the sequence in in.key complete? */
static int
key_complete(void)
{
	const uint8_t	*k = in.key;
	size_t		 n = in.nkey;

	if (k[0] != 0x1b)
		return n >= utf8_len(k[0]);
	if (n < 2)
		return 0;
	if (k[1] == '[')
		return n >= 3 && k[n - 1] >= 0x40 && k[n - 1] <= 0x7e;
	if (k[1] == 'O')
		return n >= 3;
	return 1;
}

/* Bytes from the terminal: whole keys are acted on, partial ones wait. */
void
tui_input_feed(struct client *c, const uint8_t *buf, size_t len)
{
	struct timeval	 tv;
	size_t		 i;

	if (in.el == NULL)
		return;
	if (in.ev_esc != NULL)
		(void)event_del(in.ev_esc);
	for (i = 0; i < len && in.el != NULL; i++) {
		if (in.nkey == 0 && buf[i] != 0x1b && utf8_len(buf[i]) == 0)
			continue;		/* not a lead byte */
		if (in.nkey == KEY_MAX) {
			in.nkey = 0;		/* no key is that long */
			continue;
		}
		in.key[in.nkey++] = buf[i];
		if (!key_complete())
			continue;
		if (in.key[0] == 0x1b)
			escape_key(c, in.key, in.nkey);
		else if (in.nkey == 1)
			plain_key(c, in.key[0]);
		else
			plain_key(c, key_char(in.key, in.nkey));
		in.nkey = 0;
	}
	if (in.nkey > 0 && in.ev_esc != NULL) {
		tv.tv_sec = 0;
		tv.tv_usec = ESC_WAIT_MS * 1000;
		if (evtimer_add(in.ev_esc, &tv) == -1)
			fatalx("evtimer_add");
	}
}

/*
 * Tab: complete the word before the cursor (commands, #rooms, @users,
 * names); the shared start of several, and the choices shown above.
 */
static unsigned char
complete_fn(EditLine *el, int ch)
{
	const LineInfoW	*li = el_wline(el);
	const wchar_t	*start = li->cursor, *p;
	const char	**v;
	char		 word[256], prefix[256], hint[256], mb[MB_LEN_MAX];
	size_t		 n, i, len = 0, k, hl;
	mbstate_t	 mbs;

	while (start > li->buffer && start[-1] != L' ' && start[-1] != L'\t')
		start--;
	memset(&mbs, 0, sizeof(mbs));
	for (p = start; p < li->cursor; p++) {
		if ((k = wcrtomb(mb, *p, &mbs)) == (size_t)-1 ||
		    len + k >= sizeof(word))
			return CC_ERROR;
		memcpy(word + len, mb, k);
		len += k;
	}
	word[len] = '\0';
	for (p = li->buffer; p < start && (*p == L' ' || *p == L'\t'); p++)
		;
	n = complete_word(word, p == start, &v, prefix, sizeof(prefix));
	if (n == 0) {
		tui_beep(in.c);
		return CC_NORM;
	}
	if (n == 1 && strlen(prefix) + 1 < sizeof(prefix))
		(void)strcat(prefix, " ");
	if (strlen(prefix) > len) {
		el_deletestr(el, (int)(li->cursor - start));
		if (el_insertstr(el, prefix) == -1)
			return CC_ERROR;
	}
	if (n > 1) {
		hl = (size_t)snprintf(hint, sizeof(hint), "%zu choices:", n);
		for (i = 0; i < n && hl < sizeof(hint) - 1; i++)
			hl += (size_t)snprintf(hint + hl, sizeof(hint) - hl,
			    " %s", v[i]);
		tui_hint(in.c, hint);
	}
	return CC_REFRESH;
}

/* libedit's own terminal: a pty, wide enough never to wrap. */
static int
open_pty(char *err, size_t errsz)
{
	struct winsize	 ws = { .ws_row = 24, .ws_col = 1000 };
	int		 s;

	if ((in.master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    grantpt(in.master) == -1 || unlockpt(in.master) == -1 ||
	    ioctl(in.master, TIOCSWINSZ, &ws) == -1 ||
	    fd_set_nonblock(in.master) == -1) {
		(void)snprintf(err, errsz, "pty: %s", strerror(errno));
		return -1;
	}
	if ((s = open(ptsname(in.master), O_RDWR | O_NOCTTY | O_CLOEXEC)) ==
	    -1 || fd_set_nonblock(s) == -1 ||
	    (in.slave = fdopen(s, "r+")) == NULL) {
		(void)snprintf(err, errsz, "pty: %s", strerror(errno));
		if (s != -1)
			(void)close(s);
		return -1;
	}
	return 0;
}

/* Before ncurses starts: see tui_start. */
void
tui_input_init(struct client *c)
{
	HistEvent	 ev;
	char		 err[256];

	in.c = c;
	if (open_pty(err, sizeof(err)) == -1)
		fatalx("the input line needs a %s", err);
	if ((in.el = el_init("securechat", in.slave, in.slave, in.slave)) ==
	    NULL || (in.hist = history_init()) == NULL)
		fatalx("cannot start libedit");
	(void)history(in.hist, &ev, H_SETSIZE, HISTORY_SIZE);
	(void)history(in.hist, &ev, H_SETUNIQUE, 1);
	(void)el_set(in.el, EL_EDITOR, "emacs");
	(void)el_set(in.el, EL_SIGNAL, 0);	/* libevent has the signals */
	(void)el_set(in.el, EL_PROMPT, prompt_fn);
	(void)el_set(in.el, EL_HIST, history, in.hist);
	(void)el_set(in.el, EL_GETCFN, getc_fn);
	(void)el_set(in.el, EL_ADDFN, "sc-complete", "complete a name",
	    complete_fn);
	(void)el_set(in.el, EL_BIND, "^I", "sc-complete", NULL);
	/* The same keys as at a shell prompt: ~/.editrc applies. */
	(void)el_source(in.el, NULL);
	(void)el_set(in.el, EL_UNBUFFERED, 1);
}

void
tui_input_start(struct client *c)
{
	if ((in.ev_pty = event_new(c->base, in.master, EV_READ | EV_PERSIST,
	    pty_cb, NULL)) == NULL || event_add(in.ev_pty, NULL) == -1 ||
	    (in.ev_esc = evtimer_new(c->base, esc_cb, NULL)) == NULL)
		fatalx("cannot watch the input line's pty");
	complete_init();
	tui_input_watch(c, 1);
	show_line();
}

void
tui_input_stop(struct client *c)
{
	tui_input_watch(c, 0);
	if (in.ev_pty != NULL)
		event_free(in.ev_pty);
	if (in.ev_esc != NULL)
		event_free(in.ev_esc);
	in.ev_pty = in.ev_esc = NULL;
	if (in.el != NULL) {
		(void)el_set(in.el, EL_UNBUFFERED, 0);
		el_end(in.el);
	}
	in.el = NULL;
	if (in.hist != NULL)
		history_end(in.hist);
	in.hist = NULL;
	if (in.slave != NULL)
		(void)fclose(in.slave);
	in.slave = NULL;
	if (in.master != -1)
		(void)close(in.master);
	in.master = -1;
}

/* Ctrl-C, or SIGINT: the line goes, the screen stays. */
void
tui_input_clear(struct client *c)
{
	if (in.el == NULL)
		return;
	new_line();
	show_line();
}
