/*
 * scload-irc.c: scload's IRC side, for the comparison with IRC servers:
 * NICK and USER, JOIN, PRIVMSG to the channel, PONG to PING; lines in, one
 * at a time, bounded.  IRC does not echo a message to its sender and has
 * no ACK, so each message is expected by the other members only.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "scload.h"

#define IRC_LINE_MAX	4096	/* RFC 1459 says 512; tags may add more */
#define IRC_MAX_BODY	400	/* with the prefix, under 512 */
/* The body: 16 hex digits of time, 4 of sender, 8 of seq, then padding. */
#define IRC_TS_HEX	16
#define IRC_SENDER_HEX	4
#define IRC_SEQ_HEX	8
#define IRC_IDS_BODY	(IRC_TS_HEX + IRC_SENDER_HEX + IRC_SEQ_HEX)

static void
irc_printf(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
irc_printf(struct client *c, const char *fmt, ...)
{
	char	 line[IRC_LINE_MAX];
	va_list	 ap;
	int	 r;

	va_start(ap, fmt);
	r = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(line)) {
		load_trouble("%s: IRC line too long to send", c->name);
		return;
	}
	load_write(c, line, (size_t)r);
}

static void
irc_start(struct client *c)
{
	irc_printf(c, "NICK %s\r\nUSER scload 0 * :scload\r\n", c->name);
	c->state = CS_LOGIN;
}

/* n hex digits at p; -1 if any is not one. */
static int
hex_field(const char *p, int n, uint64_t *out)
{
	uint64_t	 v = 0;
	int		 i, d;

	for (i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = p[i] - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* "#room :body": a delivery, timed if the body is one of ours. */
static void
on_privmsg(struct client *c, const char *args)
{
	const char	*text;
	uint64_t	 ts = 0, sender = 0, seq = 0;

	if ((text = strstr(args, " :")) == NULL) {
		load.bad_frames++;
		return;
	}
	text += 2;
	if (strlen(text) < IRC_IDS_BODY ||
	    hex_field(text, IRC_TS_HEX, &ts) == -1 ||
	    hex_field(text + IRC_TS_HEX, IRC_SENDER_HEX, &sender) == -1 ||
	    hex_field(text + IRC_TS_HEX + IRC_SENDER_HEX, IRC_SEQ_HEX,
	    &seq) == -1) {
		load_delivered(c, 0, -1, 0);
		return;
	}
	load_delivered(c, ts, (int)sender, (uint32_t)seq);
}

/* ":nick!user@host JOIN :#room": ours once it names us. */
static void
on_join(struct client *c, const char *prefix, const char *args)
{
	size_t	 nlen, rlen;

	if (prefix == NULL)
		return;
	nlen = strcspn(prefix, "!@ ");
	if (*args == ':')
		args++;
	rlen = strcspn(args, " ");
	load_join_seen(c, nlen == strlen(c->name) &&
	    memcmp(prefix, c->name, nlen) == 0 && rlen == strlen(c->room) &&
	    memcmp(args, c->room, rlen) == 0);
}

/* A 4xx or 5xx reply: fatal before login, an error to count after it. */
static void
on_err_numeric(struct client *c, const char *cmd, const char *line)
{
	char	 name[16];

	(void)snprintf(name, sizeof(name), "IRC_%.3s", cmd);
	load_error(name);
	if (c->state != CS_LOGGED_IN) {
		fprintf(stderr, "scload: %s: %s\n", c->name, line);
		load_close(c, name);
	} else
		load_trouble("%s: %s", c->name, line);
}

/* cmd (clen bytes) is the command word w. */
static int
is_cmd(const char *cmd, size_t clen, const char *w)
{
	return clen == strlen(w) && memcmp(cmd, w, clen) == 0;
}

/*
 * One line, CR LF gone: [@tags] [:prefix] command arguments, as RFC 1459.
 * Read in place, not modified, so that it can be quoted whole.
 */
static void
irc_line(struct client *c, const char *line)
{
	const char	*p = line, *prefix = NULL, *cmd, *args;
	size_t		 clen;

	if (*p == '@' && (p = strchr(p, ' ')) == NULL)
		goto bad;
	while (*p == ' ')
		p++;
	if (*p == ':') {
		prefix = p + 1;
		if ((p = strchr(p, ' ')) == NULL)
			goto bad;
		while (*p == ' ')
			p++;
	}
	cmd = p;
	clen = strcspn(cmd, " ");
	args = cmd + clen;
	while (*args == ' ')
		args++;
	if (clen == 0)
		goto bad;

	if (is_cmd(cmd, clen, "PRIVMSG"))
		on_privmsg(c, args);
	else if (is_cmd(cmd, clen, "PING")) {
		load.pings++;
		irc_printf(c, "PONG %s\r\n", args);
	} else if (is_cmd(cmd, clen, "JOIN"))
		on_join(c, prefix, args);
	else if (is_cmd(cmd, clen, "001")) {
		if (c->state != CS_LOGIN) {
			load_close(c, "unexpected 001");
			return;
		}
		load_logged_in(c);
	} else if (is_cmd(cmd, clen, "ERROR")) {
		fprintf(stderr, "scload: %s: %s\n", c->name, line);
		load_error("IRC_ERROR");
		load_close(c, "ERROR from the server");
	} else if (clen == 3 && (cmd[0] == '4' || cmd[0] == '5') &&
	    !is_cmd(cmd, clen, "422"))
		on_err_numeric(c, cmd, line);
	/* Other numerics (422: no MOTD), NOTICE, MODE: nothing to count. */
	return;
bad:
	load.bad_frames++;
	fprintf(stderr, "scload: %s: bad line from the server: %s\n", c->name,
	    line);
	load_close(c, "bad line");
}

/* Every whole line in the input; a line above the bound ends the client. */
static void
irc_input(struct client *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 eol;
	size_t			 eol_len;
	char			 line[IRC_LINE_MAX + 1];

	while (c->bev != NULL) {
		eol = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_CRLF);
		if (eol.pos == -1) {
			if (evbuffer_get_length(in) > IRC_LINE_MAX) {
				load.bad_frames++;
				load_close(c, "line above the bound");
			}
			return;
		}
		if ((size_t)eol.pos > IRC_LINE_MAX) {
			load.bad_frames++;
			load_close(c, "line above the bound");
			return;
		}
		if (evbuffer_remove(in, line, (size_t)eol.pos) != eol.pos ||
		    evbuffer_drain(in, eol_len) == -1) {
			load_close(c, "cannot read a line");
			return;
		}
		line[eol.pos] = '\0';
		irc_line(c, line);
	}
}

static void
irc_join(struct client *c)
{
	irc_printf(c, "JOIN %s\r\n", c->room);
}

static void
irc_message(struct client *c, uint64_t ts, int sender, uint64_t seq)
{
	char	 body[IRC_MAX_BODY + 1];

	if (load.body > IRC_MAX_BODY || load.body < IRC_IDS_BODY)
		abort();
	memset(body, 'x', load.body);
	body[load.body] = '\0';
	(void)snprintf(body, sizeof(body), "%016llx%04x%08x",
	    (unsigned long long)ts, (unsigned int)sender & 0xffff,
	    (unsigned int)seq);
	if (load.body > IRC_IDS_BODY)
		body[IRC_IDS_BODY] = 'x';	/* snprintf's NUL */
	irc_printf(c, "PRIVMSG %s :%s\r\n", c->room, body);
}

const struct load_proto load_proto_irc = {
	.name = "irc",
	.has_ack = 0,
	.self_delivery = 0,
	.min_body = IRC_IDS_BODY,
	.ids_body = IRC_IDS_BODY,
	.max_body = IRC_MAX_BODY,
	.start = irc_start,
	.input = irc_input,
	.join = irc_join,
	.message = irc_message,
};
