/*
 * output.c: every event the user sees, as a timestamped line for people or
 * one JSON object per line for scripts, without garbling a line being typed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <editline/readline.h>

#include "client.h"
#include "output.h"
#include "proto.h"
#include "text.h"
#include "util.h"
#include "xmalloc.h"

int		 out_json;
int		 out_colour;		/* stdout is a terminal: colour names */
static int	 out_rl;		/* readline owns the terminal line */
static out_sink_fn *out_sink;		/* the full-screen interface */

void
out_init(int json, int colour)
{
	out_json = json;
	out_colour = colour && !json;
}

void
out_set_readline(int on)
{
	out_rl = on;
}

/* While the full-screen interface owns the terminal, it takes every line. */
void
out_set_sink(out_sink_fn *fn)
{
	out_sink = fn;
}

/* A growing line of JSON; one is built per event and written at once. */
void
jb_add(struct jbuf *jb, const char *s, size_t n)
{
	size_t	 need;

	need = jb->len + n + 1;
	if (need > jb->cap) {
		jb->cap = need < 256 ? 256 : need * 2;
		jb->p = xreallocarray(jb->p, jb->cap, 1);
	}
	memcpy(jb->p + jb->len, s, n);
	jb->len += n;
	jb->p[jb->len] = '\0';
}

void
jb_adds(struct jbuf *jb, const char *s)
{
	jb_add(jb, s, strlen(s));
}

/*
 * A JSON string.  Controls, C1 included, and the bidirectional controls
 * are escaped (\uXXXX), so the text stays exact but raw output cannot
 * move a terminal that shows it.  Invalid UTF-8 becomes U+FFFD rather
 * than an error: the event still reaches the script and the output is
 * always valid JSON (bodies also give their exact bytes, out_text_hex).
 */
void
jb_string_n(struct jbuf *jb, const char *s, size_t left)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 n;
	char			 esc[8];

	jb_add(jb, "\"", 1);
	while (left > 0) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			jb_add(jb, esc, 2);
			n = 1;
		} else if ((n = utf8_decode(p, left, &cp)) == 0) {
			jb_adds(jb, "\\ufffd");
			n = 1;
		} else if (text_is_unsafe(cp)) {
			(void)snprintf(esc, sizeof(esc), "\\u%04x",
			    (unsigned int)cp);
			jb_adds(jb, esc);
		} else
			jb_add(jb, (const char *)p, n);
		p += n;
		left -= n;
	}
	jb_add(jb, "\"", 1);
}

static void
jb_string(struct jbuf *jb, const char *s)
{
	jb_string_n(jb, s, strlen(s));
}

void
jb_key(struct jbuf *jb, const char *key)
{
	jb_adds(jb, jb->nfields++ == 0 ? "{" : ",");
	jb_string(jb, key);
	jb_add(jb, ":", 1);
}

void
jb_str(struct jbuf *jb, const char *key, const char *val)
{
	jb_key(jb, key);
	jb_string(jb, val);
}

/* Message bodies are bytes: they may hold a NUL. */
void
jb_str_n(struct jbuf *jb, const char *key, const char *val, size_t len)
{
	jb_key(jb, key);
	jb_string_n(jb, val, len);
}

void
jb_bool(struct jbuf *jb, const char *key, int val)
{
	jb_key(jb, key);
	jb_adds(jb, val ? "true" : "false");
}

void
jb_num(struct jbuf *jb, const char *key, unsigned long long val)
{
	char	 num[32];

	jb_key(jb, key);
	(void)snprintf(num, sizeof(num), "%llu", val);
	jb_adds(jb, num);
}

static void
jb_ms(struct jbuf *jb, const char *key, double ms)
{
	char	 num[32];

	jb_key(jb, key);
	(void)snprintf(num, sizeof(num), "%.3f", ms);
	jb_adds(jb, num);
}

void
jb_begin(struct jbuf *jb, const char *type)
{
	memset(jb, 0, sizeof(*jb));
	jb_str(jb, "type", type);
	if (outbox_request()[0] != '\0')
		jb_str(jb, "request_id", outbox_request());
}

/* Clear the line being edited so our output starts at column 0. */
void
out_hold(void)
{
	if (out_rl) {
		(void)fputs("\r\033[K", stdout);
		(void)fflush(stdout);
	}
}

/* Put back the prompt and whatever the user had typed so far. */
void
out_release(void)
{
	(void)fflush(stdout);
	(void)fflush(stderr);
	if (out_rl)
		(void)rl_forced_update_display();
}

void
jb_emit(struct jbuf *jb)
{
	jb_adds(jb, "}\n");
	out_hold();
	(void)fwrite(jb->p, 1, jb->len, stdout);
	out_release();
	free(jb->p);
	jb->p = NULL;
}

/*
 * Text from others goes to a terminal: controls (escape sequences that
 * could rewrite the screen), bidirectional controls and invalid UTF-8
 * are shown as '?' (text.c).
 */
char *
out_sanitize_n(const char *s, size_t len)
{
	return text_for_terminal(s, len);
}

static char *
sanitize(const char *s)
{
	return out_sanitize_n(s, strlen(s));
}

static void
vhuman_at(FILE *fp, uint64_t ts_ms, const char *fmt, va_list ap)
{
	char		 ts[16], *text;
	time_t		 t;
	struct tm	 tm;

	if (out_sink != NULL) {
		if (vasprintf(&text, fmt, ap) == -1)
			return;
		out_sink(ts_ms, fp == stderr, text);
		free(text);
		return;
	}
	t = ts_ms != 0 ? (time_t)(ts_ms / 1000) : time(NULL);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%H:%M", &tm) == 0)
		(void)snprintf(ts, sizeof(ts), "--:--");
	out_hold();
	(void)fprintf(fp, "%s ", ts);
	(void)vfprintf(fp, fmt, ap);
	(void)fputc('\n', fp);
	out_release();
}

/* One line for people, stamped with when it happened (0: now). */
void
out_human_at(FILE *fp, uint64_t ts_ms, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vhuman_at(fp, ts_ms, fmt, ap);
	va_end(ap);
}

/*
 * A warning or error for people, on stderr (lines may follow, indented),
 * or in the full-screen interface.
 */
void
out_err(const char *fmt, ...)
{
	va_list	 ap;
	char	*text = NULL, *line, *next;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	if (text == NULL)
		return;
	if (out_sink == NULL) {
		out_hold();
		(void)fprintf(stderr, "securechat: %s\n", text);
		out_release();
	} else
		for (line = text; line != NULL; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			out_sink(0, 1, line);
		}
	free(text);
}

static void
human(FILE *fp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
human(FILE *fp, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vhuman_at(fp, 0, fmt, ap);
	va_end(ap);
}

void
out_connected(struct client *c)
{
	struct jbuf	 jb;

	if (!out_json) {
		human(stdout, "connected to %s (%s, %s, %s), server key %s",
		    c->hostport, c->tls_version, c->cipher, c->group,
		    c->fp_str);
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "event", "connected");
	jb_str(&jb, "server", c->hostport);
	jb_str(&jb, "fingerprint", c->fp_str);
	jb_str(&jb, "tls_version", c->tls_version);
	jb_str(&jb, "cipher", c->cipher);
	jb_str(&jb, "group", c->group);
	jb_str(&jb, "verified_by", c->ca_file != NULL ? "ca" : "pin");
	jb_emit(&jb);
}

/*
 * A first connection pins the key under the name as typed: say so when
 * another spelling of this machine (localhost, 127.0.0.1, ::1) would be
 * pinned on its own.
 */
void
out_pinned(struct client *c)
{
	const char	*kv[] = { "server", c->hostport, "fingerprint",
			    c->fp_str, "file", c->known_file, NULL };

	out_event(c, "pinned", kv, "new server %s, key fingerprint %s, pinned "
	    "in %s%s", c->hostport, c->fp_str, c->known_file,
	    known_loopback(c->host) ? " (localhost, 127.0.0.1 and ::1 are "
	    "pinned separately)" : "");
}

void
out_welcome(struct client *c)
{
	struct jbuf	 jb;
	char		*sw;

	sw = sanitize(c->software);
	if (!out_json) {
		human(stdout, "server %s speaks protocol %u%s%s", sw,
		    c->proto_version, c->user[0] != '\0' ? "; you are " : "",
		    c->user);
		free(sw);
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "event", "welcome");
	jb_str(&jb, "server", c->software);
	jb_num(&jb, "protocol", c->proto_version);
	jb_num(&jb, "max_frame", c->max_frame);
	jb_num(&jb, "idle_timeout", c->idle_timeout);
	if (c->user[0] != '\0')
		jb_str(&jb, "user", c->user);
	jb_emit(&jb);
	free(sw);
}

void
out_server_notice(struct client *c, const char *text)
{
	struct jbuf	 jb;
	char		*s;

	if (!out_json) {
		s = sanitize(text);
		human(stdout, "notice: %s", s);
		free(s);
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "text", text);
	jb_emit(&jb);
}

/*
 * The operator's announcement (securechatctl notice): plaintext from the
 * server itself, never from a user, and said so.
 */
void
out_operator_notice(struct client *c, const char *room, const char *text)
{
	struct jbuf	 jb;
	char		*s;

	if (!out_json) {
		s = sanitize(text);
		human(stdout, "*** notice from the server operator%s%s: %s",
		    room ? " to " : "", room ? room : "", s);
		free(s);
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "from", "server");
	jb_bool(&jb, "operator", 1);
	if (room != NULL)
		jb_str(&jb, "room", room);
	jb_str(&jb, "text", text);
	jb_emit(&jb);
}

void
out_server_error(struct client *c, uint16_t code, const char *text,
    int has_retry, uint32_t retry_ms)
{
	struct jbuf	 jb;
	const char	*name;
	char		*s;

	if (c->exit_status == EXIT_OK)
		c->exit_status = EXIT_ERROR;
	if ((name = proto_err_name(code)) == NULL)
		name = "UNKNOWN";
	s = sanitize(text);
	if (has_retry)
		out_err("error %s: %s (retry after %lu ms)", name, s,
		    (unsigned long)retry_ms);
	else
		out_err("error %s: %s", name, s);
	free(s);
	if (!out_json)
		return;
	jb_begin(&jb, "error");
	jb_str(&jb, "code", name);
	jb_str(&jb, "text", text);
	jb_str(&jb, "origin", "server");
	if (has_retry)
		jb_num(&jb, "retry_after_ms", retry_ms);
	jb_emit(&jb);
}

/* When the state began, as people read it: "12:34" today, else a date. */
static void
since_text(uint64_t ms, char *out, size_t outsz)
{
	time_t		 t = (time_t)(ms / 1000), now = time(NULL);
	struct tm	 tm, tn;

	if (localtime_r(&t, &tm) == NULL || localtime_r(&now, &tn) == NULL ||
	    strftime(out, outsz, tm.tm_yday == tn.tm_yday &&
	    tm.tm_year == tn.tm_year ? "%H:%M" : "%Y-%m-%d %H:%M", &tm) == 0)
		(void)snprintf(out, outsz, "?");
}

/*
 * /status: the connection's state, and when connected what it is made
 * of (rtt_ms < 0: not connected, nothing measured).
 */
void
out_status(struct client *c, double rtt_ms)
{
	struct jbuf	 jb;
	const char	*state = session_state(c);
	char		*sw, since[32], *why;

	since_text(c->since_ms, since, sizeof(since));
	if (!out_json) {
		why = sanitize(c->halted[0] != '\0' ? c->halted :
		    c->last_error);
		if (rtt_ms >= 0)
			human(stdout, "status: connected to %s as %s since %s, "
			    "%lu reconnects", c->hostport, c->user, since,
			    c->reconnects);
		else
			human(stdout, "status: %s (%s since %s, attempt %u)%s%s",
			    state, c->hostport, since, c->attempt,
			    why[0] != '\0' ? ": " : "", why);
		free(why);
		view_status(c, NULL);
		if (rtt_ms < 0)
			return;
		sw = sanitize(c->software);
		human(stdout, "status: protocol %u, %s, %s, group %s",
		    c->proto_version, c->tls_version, c->cipher, c->group);
		human(stdout, "status: server %s (%s), key %s", c->hostport,
		    sw, c->fp_str);
		human(stdout, "status: key updates received %lu, sent %lu, "
		    "round trip %.3f ms", c->key_updates_rx, c->key_updates_tx,
		    rtt_ms);
		free(sw);
		e2ec_status(c, NULL);
		return;
	}
	jb_begin(&jb, "status");
	jb_str(&jb, "state", state);
	jb_str(&jb, "address", c->hostport);
	jb_str(&jb, "user", c->user);
	jb_num(&jb, "since", c->since_ms);
	jb_num(&jb, "reconnects", c->reconnects);
	if (c->halted[0] != '\0' || c->last_error[0] != '\0')
		jb_str(&jb, "last_error", c->halted[0] != '\0' ? c->halted :
		    c->last_error);
	view_status(c, &jb);
	if (rtt_ms >= 0) {
		jb_num(&jb, "protocol", c->proto_version);
		jb_str(&jb, "tls_version", c->tls_version);
		jb_str(&jb, "cipher", c->cipher);
		jb_str(&jb, "group", c->group);
		jb_str(&jb, "fingerprint", c->fp_str);
		jb_str(&jb, "server", c->software);
		jb_num(&jb, "key_updates", c->key_updates_rx);
		jb_num(&jb, "key_updates_sent", c->key_updates_tx);
		jb_ms(&jb, "rtt_ms", rtt_ms);
		e2ec_status(c, &jb);
	}
	jb_emit(&jb);
}

void
out_pong(struct client *c, double rtt_ms)
{
	struct jbuf	 jb;

	if (!out_json) {
		human(stdout, "pong from %s: %.3f ms", c->hostport, rtt_ms);
		return;
	}
	jb_begin(&jb, "pong");
	jb_ms(&jb, "rtt_ms", rtt_ms);
	jb_emit(&jb);
}

/* One line of /help; width is the longest usage, for one column. */
void
out_help(struct client *c, const char *usage, const char *help, int width)
{
	struct jbuf	 jb;

	if (!out_json) {
		if (out_sink != NULL)
			human(stdout, "  %-*s  %s", width, usage, help);
		else {
			out_hold();
			(void)printf("  %-*s  %s\n", width, usage, help);
			out_release();
		}
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "event", "help");
	jb_str(&jb, "command", usage);
	jb_str(&jb, "text", help);
	jb_emit(&jb);
}

/* "securechat: PREFIX TEXT" on stderr, TEXT made safe for a terminal. */
void
out_stderr(const char *prefix, const char *text)
{
	char	*s;

	/* The terminal interface shows it in its window, else stderr. */
	s = text_for_terminal(text, strlen(text));
	out_err("%s%s", prefix, s);
	free(s);
}

/* Client-side errors: stderr always, and an event for scripts too. */
void
out_error(struct client *c, const char *code, const char *fmt, ...)
{
	struct jbuf	 jb;
	va_list		 ap;
	char		*text = NULL;

	if (c->exit_status == EXIT_OK)
		c->exit_status = EXIT_ERROR;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	out_stderr("", text != NULL ? text : code);
	if (out_json) {
		jb_begin(&jb, "error");
		jb_str(&jb, "code", code);
		jb_str(&jb, "text", text != NULL ? text : code);
		jb_emit(&jb);
	}
	free(text);
}

void
out_key_changed(struct client *c, const char *pinned, const char *offered)
{
	struct jbuf	 jb;

	out_err("WARNING: the key of server %s has changed!\n"
	    "  pinned:  %s\n"
	    "  offered: %s\n"
	    "Someone may be intercepting the connection, or the server's key "
	    "was replaced. If you know the change is legitimate, run "
	    "'securechat forget-server %s' (it edits %s) and connect again.",
	    c->hostport, pinned, offered, c->hostport, c->known_file);
	if (!out_json)
		return;
	jb_begin(&jb, "error");
	jb_str(&jb, "code", "KEY_CHANGED");
	jb_str(&jb, "text", "the key of the server has changed");
	jb_str(&jb, "server", c->hostport);
	jb_str(&jb, "pinned", pinned);
	jb_str(&jb, "offered", offered);
	jb_str(&jb, "file", c->known_file);
	jb_emit(&jb);
}

static void
vevent(const char *event, const char *const *kv, const char *fmt, va_list ap)
{
	struct jbuf	 jb;
	char		*text = NULL, *s;

	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	if (!out_json) {
		s = text_for_terminal(text != NULL ? text : event,
		    strlen(text != NULL ? text : event));
		human(stdout, "%s", s);
		free(s);
	} else {
		jb_begin(&jb, "notice");
		jb_str(&jb, "event", event);
		for (; kv != NULL && kv[0] != NULL; kv += 2)
			jb_str(&jb, kv[0], kv[1]);
		jb_str(&jb, "text", text != NULL ? text : event);
		jb_emit(&jb);
	}
	free(text);
}

/*
 * A client event worth a line, with fields for scripts: kv holds key,
 * value pairs and ends with NULL (kv itself may be NULL).
 */
void
out_event(struct client *c, const char *event, const char *const *kv,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vevent(event, kv, fmt, ap);
	va_end(ap);
}

/* A client event worth a line: "event" names it for scripts. */
void
out_notice(struct client *c, const char *event, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vevent(event, NULL, fmt, ap);
	va_end(ap);
}

void
out_logged_in(struct client *c, int registered)
{
	struct jbuf	 jb;

	if (!out_json) {
		human(stdout, registered ? "registered and logged in as %s" :
		    "logged in as %s", c->user);
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "event", "logged_in");
	jb_str(&jb, "user", c->user);
	jb_bool(&jb, "registered", registered);
	jb_emit(&jb);
}

void
out_key_created(struct client *c, const char *file)
{
	struct jbuf	 jb;

	if (!out_json) {
		human(stdout, "created a new identity key for %s in %s",
		    c->user, file);
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "event", "key_created");
	jb_str(&jb, "user", c->user);
	jb_str(&jb, "file", file);
	jb_emit(&jb);
}

void
out_reconnecting(struct client *c, unsigned attempt, unsigned delay_ms,
    const char *why)
{
	struct jbuf	 jb;
	char		*s;

	if (!out_json) {
		s = sanitize(why);
		human(stdout, "%s; reconnecting in %.1f s (attempt %u)", s,
		    delay_ms / 1000.0, attempt);
		free(s);
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "event", "reconnecting");
	jb_num(&jb, "attempt", attempt);
	jb_num(&jb, "delay_ms", delay_ms);
	jb_str(&jb, "text", why);
	jb_emit(&jb);
}

void
out_reconnected(struct client *c)
{
	struct jbuf	 jb;

	if (!out_json) {
		human(stdout, "reconnected to %s", c->hostport);
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "event", "reconnected");
	jb_str(&jb, "server", c->hostport);
	jb_emit(&jb);
}
