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
#include "xmalloc.h"

int		 out_json;
int		 out_colour;		/* stdout is a terminal: colour names */
static int	 out_rl;		/* readline owns the terminal line */

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

/* Length of a valid UTF-8 sequence at p, or 0. */
size_t
out_utf8_len(const unsigned char *p, size_t left)
{
	uint32_t	 c, min;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
}

/*
 * A JSON string.  Invalid UTF-8 becomes U+FFFD rather than an error: the
 * event still reaches the script and the output is always valid JSON.
 */
void
jb_string_n(struct jbuf *jb, const char *s, size_t left)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;
	char			 esc[8];

	jb_add(jb, "\"", 1);
	while (left > 0) {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			jb_add(jb, esc, 2);
			n = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			(void)snprintf(esc, sizeof(esc), "\\u%04x", *p);
			jb_adds(jb, esc);
			n = 1;
		} else if ((n = out_utf8_len(p, left)) == 0) {
			jb_adds(jb, "\\ufffd");
			n = 1;
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
 * Server text goes to a terminal: control characters (escape sequences
 * that could rewrite the screen) are shown as '?'.
 */
char *
out_sanitize_n(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	char			*out;
	size_t			 i;

	out = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		out[i] = (p[i] < 0x20 || p[i] == 0x7f) ? '?' : (char)p[i];
	out[len] = '\0';
	return out;
}

static char *
sanitize(const char *s)
{
	return out_sanitize_n(s, strlen(s));
}

static void
vhuman_at(FILE *fp, uint64_t ts_ms, const char *fmt, va_list ap)
{
	char		 ts[16];
	time_t		 t;
	struct tm	 tm;

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

void
out_pinned(struct client *c)
{
	struct jbuf	 jb;
	char		*text = NULL;

	(void)xasprintf(&text, "new server %s, key fingerprint %s, pinned "
	    "in %s", c->hostport, c->fp_str, c->known_file);
	if (!out_json) {
		human(stdout, "%s", text);
		free(text);
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "event", "pinned");
	jb_str(&jb, "server", c->hostport);
	jb_str(&jb, "fingerprint", c->fp_str);
	jb_str(&jb, "file", c->known_file);
	jb_str(&jb, "text", text);
	jb_emit(&jb);
	free(text);
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
	out_hold();
	if (has_retry)
		(void)fprintf(stderr, "securechat: error %s: %s (retry after "
		    "%lu ms)\n", name, s, (unsigned long)retry_ms);
	else
		(void)fprintf(stderr, "securechat: error %s: %s\n", name, s);
	out_release();
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

void
out_status(struct client *c, double rtt_ms)
{
	struct jbuf	 jb;
	char		*sw;

	if (!out_json) {
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
	jb_num(&jb, "protocol", c->proto_version);
	jb_str(&jb, "tls_version", c->tls_version);
	jb_str(&jb, "cipher", c->cipher);
	jb_str(&jb, "group", c->group);
	jb_str(&jb, "fingerprint", c->fp_str);
	jb_str(&jb, "server", c->software);
	jb_str(&jb, "address", c->hostport);
	jb_num(&jb, "key_updates", c->key_updates_rx);
	jb_num(&jb, "key_updates_sent", c->key_updates_tx);
	jb_ms(&jb, "rtt_ms", rtt_ms);
	e2ec_status(c, &jb);
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

void
out_help(struct client *c, const char *usage, const char *help)
{
	struct jbuf	 jb;

	if (!out_json) {
		out_hold();
		(void)printf("  %-10s %s\n", usage, help);
		out_release();
		return;
	}
	jb_begin(&jb, "notice");
	jb_str(&jb, "event", "help");
	jb_str(&jb, "command", usage);
	jb_str(&jb, "text", help);
	jb_emit(&jb);
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
	out_hold();
	(void)fprintf(stderr, "securechat: %s\n", text != NULL ? text : code);
	out_release();
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

	out_hold();
	(void)fprintf(stderr,
	    "securechat: WARNING: the key of server %s has changed!\n"
	    "  pinned:  %s\n"
	    "  offered: %s\n"
	    "Someone may be intercepting the connection, or the server's key "
	    "was replaced. If you know the change is legitimate, delete the "
	    "line for %s from %s and connect again.\n",
	    c->hostport, pinned, offered, c->hostport, c->known_file);
	out_release();
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

/* A client event worth a line: "event" names it for scripts. */
void
out_notice(struct client *c, const char *event, const char *fmt, ...)
{
	struct jbuf	 jb;
	va_list		 ap;
	char		*text = NULL;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	if (!out_json)
		human(stdout, "%s", text != NULL ? text : event);
	else {
		jb_begin(&jb, "notice");
		jb_str(&jb, "event", event);
		jb_str(&jb, "text", text != NULL ? text : event);
		jb_emit(&jb);
	}
	free(text);
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
