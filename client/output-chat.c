/*
 * output-chat.c: how chat events look: room messages, direct messages,
 * joins and parts, acknowledgements, list replies and per-message errors.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "crypto.h"
#include "log.h"
#include "output.h"
#include "proto.h"
#include "text.h"
#include "trust.h"
#include "util.h"
#include "xmalloc.h"

#define NCOLOURS	6

/*
 * The same name always gets the same colour, in every run and on every
 * terminal, so people are recognised at a glance.  FNV-1a: stable, cheap.
 */
static const char *
name_colour(const char *name)
{
	static const char	*colours[NCOLOURS] = {
		"\033[31m", "\033[32m", "\033[33m", "\033[34m", "\033[35m",
		"\033[36m",
	};
	uint32_t		 h = 2166136261u;

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 16777619u;
	}
	return colours[h % NCOLOURS];
}

/* Names come from the broker, which only lets valid ones in; still, no escapes. */
static void
fmt_name(char *out, size_t outsz, const char *name)
{
	char	*s;

	s = out_sanitize_n(name, strlen(name));
	if (out_colour)
		(void)snprintf(out, outsz, "%s%s\033[0m", name_colour(name), s);
	else
		(void)snprintf(out, outsz, "%s", s);
	free(s);
}

/*
 * A message's text; a text that is not UTF-8 also gives its exact bytes
 * in hexadecimal, since a JSON string can only approximate it.
 */
static void
jb_text(struct jbuf *jb, const uint8_t *body, size_t len)
{
	char	*hex;

	jb_str_n(jb, "text", (const char *)body, len);
	if (text_is_utf8((const char *)body, len))
		return;
	hex = xmalloc(2 * len + 1);
	hex_encode(body, len, hex);
	jb_str(jb, "text_hex", hex);
	free(hex);
}

/* late: it came after messages its sender wrote later. */
void
out_message(struct client *c, const char *room, const char *from,
    const uint8_t *body, size_t len, uint64_t seq, uint64_t ts, int late)
{
	struct jbuf	 jb;
	char		 who[NAME_MAX_LEN + 16], *text;

	if (!out_json) {
		fmt_name(who, sizeof(who), from);
		text = out_sanitize_n((const char *)body, len);
		out_human_at(stdout, ts, "%s <%s> %s%s", room, who, text,
		    late ? "  [shown out of order]" : "");
		free(text);
		return;
	}
	jb_begin(&jb, "message");
	jb_str(&jb, "room", room);
	jb_str(&jb, "from", from);
	jb_text(&jb, body, len);
	jb_num(&jb, "seq", seq);
	jb_num(&jb, "ts", ts);
	if (late)
		jb_bool(&jb, "out_of_order", 1);
	jb_emit(&jb);
}

void
out_direct(struct client *c, const char *from, const char *to,
    const uint8_t *body, size_t len, uint64_t seq, uint64_t ts, int late)
{
	struct jbuf	 jb;
	char		 a[NAME_MAX_LEN + 16], b[NAME_MAX_LEN + 16], *text;

	if (!out_json) {
		fmt_name(a, sizeof(a), from);
		fmt_name(b, sizeof(b), to);
		text = out_sanitize_n((const char *)body, len);
		out_human_at(stdout, ts, "[%s -> %s] %s%s", a, b, text,
		    late ? "  [shown out of order]" : "");
		free(text);
		return;
	}
	jb_begin(&jb, "direct");
	jb_str(&jb, "from", from);
	jb_str(&jb, "to", to);
	jb_text(&jb, body, len);
	jb_num(&jb, "seq", seq);
	jb_num(&jb, "ts", ts);
	if (late)
		jb_bool(&jb, "out_of_order", 1);
	jb_emit(&jb);
}

/*
 * Messages the sender's counters say were sent and never came: in a
 * room (before this one, or at the end of the chain just replaced) or
 * directly.  Said loudly, before what follows them.
 */
void
out_missing(struct client *c, const char *room, const char *from,
    uint64_t count, int at_end, uint64_t ts)
{
	struct jbuf	 jb;
	char		*text = NULL;

	if (room != NULL)
		(void)xasprintf(&text, "%llu message%s from %s in %s %s "
		    "missing%s", (unsigned long long)count, count == 1 ? "" :
		    "s", from, room, count == 1 ? "is" : "are", at_end ?
		    " (at the end of its previous room key)" : "");
	else
		(void)xasprintf(&text, "%llu direct message%s from %s %s "
		    "missing", (unsigned long long)count, count == 1 ? "" : "s",
		    from, count == 1 ? "is" : "are");
	if (!out_json) {
		out_human_at(stdout, ts, "*** %s", text);
		free(text);
		return;
	}
	jb_begin(&jb, "missing");
	if (room != NULL)
		jb_str(&jb, "room", room);
	jb_str(&jb, "from", from);
	jb_num(&jb, "count", count);
	if (at_end)
		jb_bool(&jb, "at_end", 1);
	jb_str(&jb, "text", text);
	jb_emit(&jb);
	free(text);
}

/*
 * signed: 1 the join or part came with a roster entry we verified, 0
 * without one, -1 with one we refused (roster.c said why).
 */
void
out_membership(struct client *c, int kind, const char *room,
    const char *user, uint64_t seq, uint64_t ts, int sig)
{
	struct jbuf	 jb;
	char		 who[NAME_MAX_LEN + 16];

	if (!out_json) {
		fmt_name(who, sizeof(who), user);
		out_human_at(stdout, ts, "%s: %s %s%s", room, who,
		    kind == EVENT_JOIN ? "joined" : "left", sig < 0 ?
		    "  [its roster entry is refused]" : "");
		return;
	}
	jb_begin(&jb, kind == EVENT_JOIN ? "join" : "part");
	jb_str(&jb, "room", room);
	jb_str(&jb, "user", user);
	jb_num(&jb, "seq", seq);
	jb_num(&jb, "ts", ts);
	jb_bool(&jb, "signed", sig > 0);
	jb_emit(&jb);
}

/*
 * What the server shows of a room's members disagrees with its signed
 * roster: loud, on standard error too, like a key change.
 */
void
out_roster_warning(struct client *c, const char *event, const char *room,
    const char *fmt, ...)
{
	struct jbuf	 jb;
	va_list		 ap;
	char		*text = NULL;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	out_stderr("WARNING: ", text != NULL ? text : event);
	if (out_json) {
		jb_begin(&jb, "roster");
		jb_str(&jb, "event", event);
		jb_str(&jb, "room", room);
		jb_str(&jb, "text", text != NULL ? text : event);
		jb_emit(&jb);
	}
	free(text);
}

/*
 * People see their room messages come back as events; a direct message
 * does not come back, so its acknowledgement is where it is shown.
 */
void
out_ack(struct client *c, const struct outmsg *m, uint64_t seq)
{
	struct jbuf	 jb;
	char		 id[17];

	if (!out_json) {
		if (m->room[0] == '\0' && m->text != NULL)
			out_direct(c, c->user, m->to, (const uint8_t *)m->text,
			    strlen(m->text), seq, 0, 0);
		return;
	}
	(void)snprintf(id, sizeof(id), "%016" PRIx64, m->id);
	jb_begin(&jb, "ack");
	jb_str(&jb, "id", id);
	jb_num(&jb, "seq", seq);
	if (m->room[0] != '\0')
		jb_str(&jb, "room", m->room);
	else
		jb_str(&jb, "to", m->to);
	jb_emit(&jb);
}

/*
 * An error that concerns one message or room.  RATE_LIMITED, and STORAGE
 * for a message (id), are a delay, not a failure: the message is sent
 * again, and the exit status does not change.
 */
void
out_chat_error(struct client *c, uint16_t code, const char *text,
    uint64_t id, const char *room, int has_retry, uint32_t retry_ms)
{
	struct jbuf	 jb;
	const char	*name = proto_err_name(code);
	char		 idhex[17], *s;

	if (code != ERR_RATE_LIMITED && !(code == ERR_STORAGE && id != 0) &&
	    c->exit_status == EXIT_OK)
		c->exit_status = EXIT_ERROR;
	(void)snprintf(idhex, sizeof(idhex), "%016" PRIx64, id);
	s = out_sanitize_n(text, strlen(text));
	if (has_retry)
		out_err("%s%s%s (%s; retrying in %lu ms)", room != NULL ?
		    room : "", room != NULL ? ": " : "", s, name,
		    (unsigned long)retry_ms);
	else
		out_err("%s%s%s (%s)", room != NULL ? room : "",
		    room != NULL ? ": " : "", s, name);
	free(s);
	if (!out_json)
		return;
	jb_begin(&jb, "error");
	jb_str(&jb, "code", name);
	jb_str(&jb, "text", text);
	jb_str(&jb, "origin", "server");
	if (id != 0)
		jb_str(&jb, "id", idhex);
	if (room != NULL)
		jb_str(&jb, "room", room);
	if (has_retry)
		jb_num(&jb, "retry_after_ms", retry_ms);
	jb_emit(&jb);
}

/*
 * The next "word rest" line of a list; 0 at the end.  Lines that do not
 * parse are skipped: the list is information, not something to act on.
 */
int
out_list_next(const uint8_t **p, const uint8_t *end, char *word, size_t wordsz,
    char *rest, size_t restsz)
{
	const uint8_t	*nl, *sp;
	size_t		 n;

	while (*p < end) {
		if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
			nl = end;
		sp = memchr(*p, ' ', (size_t)(nl - *p));
		if (sp != NULL && (size_t)(sp - *p) < wordsz &&
		    (size_t)(nl - sp - 1) < restsz) {
			n = (size_t)(sp - *p);
			memcpy(word, *p, n);
			word[n] = '\0';
			n = (size_t)(nl - sp - 1);
			memcpy(rest, sp + 1, n);
			rest[n] = '\0';
			*p = nl < end ? nl + 1 : end;
			if (word[0] != '\0')
				return 1;
			continue;
		}
		*p = nl < end ? nl + 1 : end;
	}
	return 0;
}

void
out_rooms(struct client *c, const uint8_t *list, size_t len)
{
	struct jbuf	 jb;
	const uint8_t	*p = list, *end = list + len;
	char		 room[ROOM_MAX_LEN + 1], count[32], *s;
	int		 n = 0;

	if (out_json) {
		jb_begin(&jb, "rooms");
		jb_key(&jb, "rooms");
		jb_adds(&jb, "[");
	}
	while (out_list_next(&p, end, room, sizeof(room), count, sizeof(count))) {
		complete_add_room(room);
		if (out_json) {
			jb_adds(&jb, n > 0 ? ",{" : "{");
			jb_adds(&jb, "\"room\":");
			jb_string_n(&jb, room, strlen(room));
			jb_adds(&jb, ",\"members\":");
			jb_adds(&jb, strspn(count, "0123456789") ==
			    strlen(count) && count[0] != '\0' ? count : "0");
			jb_adds(&jb, "}");
		} else {
			s = out_sanitize_n(room, strlen(room));
			out_human_at(stdout, 0, "  %-20s %s members", s,
			    strspn(count, "0123456789") == strlen(count) ?
			    count : "?");
			free(s);
		}
		n++;
	}
	if (out_json) {
		jb_adds(&jb, "]");
		jb_emit(&jb);
	} else if (n == 0)
		out_human_at(stdout, 0, "no rooms yet: /join #name creates one");
}

void
out_who(struct client *c, const char *room, const uint8_t *list, size_t len)
{
	struct jbuf	 jb;
	const uint8_t	*p = list, *end = list + len;
	char		 user[NAME_MAX_LEN + 1], state[16], who[NAME_MAX_LEN + 16];
	char		*line = NULL, *tmp;
	int		 n = 0, online;

	if (out_json) {
		jb_begin(&jb, "who");
		jb_str(&jb, "room", room);
		jb_key(&jb, "members");
		jb_adds(&jb, "[");
	}
	while (out_list_next(&p, end, user, sizeof(user), state, sizeof(state))) {
		online = strcmp(state, "online") == 0;
		complete_add_user(user);
		if (out_json) {
			jb_adds(&jb, n > 0 ? ",{" : "{");
			jb_adds(&jb, "\"user\":");
			jb_string_n(&jb, user, strlen(user));
			jb_adds(&jb, online ? ",\"online\":true}" :
			    ",\"online\":false}");
		} else {
			fmt_name(who, sizeof(who), user);
			tmp = NULL;
			(void)xasprintf(&tmp, "%s%s%s%s", line != NULL ? line :
			    "", line != NULL ? ", " : "", who,
			    online ? "" : " (offline)");
			free(line);
			line = tmp;
		}
		n++;
	}
	if (out_json) {
		jb_adds(&jb, "]");
		jb_emit(&jb);
		return;
	}
	out_human_at(stdout, 0, "%s: %s", room, line != NULL ? line :
	    "no members");
	free(line);
}

void
out_info(struct client *c, const char *software, uint64_t uptime,
    uint32_t online, uint32_t users, uint32_t rooms)
{
	struct jbuf	 jb;
	char		*s;

	if (!out_json) {
		s = out_sanitize_n(software, strlen(software));
		out_human_at(stdout, 0, "server %s, up %" PRIu64 "d %02" PRIu64
		    ":%02" PRIu64 ", %lu of %lu users online, %lu rooms", s,
		    uptime / 86400, uptime / 3600 % 24, uptime / 60 % 60,
		    (unsigned long)online, (unsigned long)users,
		    (unsigned long)rooms);
		free(s);
		return;
	}
	jb_begin(&jb, "info");
	jb_str(&jb, "server", software);
	jb_num(&jb, "uptime", uptime);
	jb_num(&jb, "users_online", online);
	jb_num(&jb, "users", users);
	jb_num(&jb, "rooms", rooms);
	jb_emit(&jb);
}

/*
 * A message that did not decrypt or verify: said as such, never dropped
 * and never shown as if it were fine.
 */
void
out_undecryptable(struct client *c, const char *room, const char *from,
    const char *to, uint64_t seq, uint64_t ts, const char *why)
{
	struct jbuf	 jb;
	char		 who[NAME_MAX_LEN + 16];

	if (!out_json) {
		fmt_name(who, sizeof(who), from);
		if (room != NULL)
			out_human_at(stdout, ts, "%s <%s> [message could not "
			    "be decrypted: %s]", room, who, why);
		else
			out_human_at(stdout, ts, "[%s -> you] [message could "
			    "not be decrypted: %s]", who, why);
		return;
	}
	jb_begin(&jb, "undecryptable");
	if (room != NULL)
		jb_str(&jb, "room", room);
	jb_str(&jb, "from", from);
	if (to != NULL)
		jb_str(&jb, "to", to);
	jb_num(&jb, "seq", seq);
	jb_num(&jb, "ts", ts);
	jb_str(&jb, "reason", why);
	jb_emit(&jb);
}

/* "SHA256:" and the hex of the key's hash, as server keys are shown. */
static void
key_fingerprint(const uint8_t key[32], char out[FP_STR_LEN])
{
	uint8_t	 h[32];

	if (crypto_sha256(key, 32, h) == -1)
		fatalx("crypto_sha256");
	known_fp_string(h, out);
}

/*
 * Something happened to the identity key of user: scripts get the user,
 * the key's fingerprint and its state (pinned, verified, changed).
 */
void
out_key_event(struct client *c, const char *event, const char *user,
    const uint8_t key[32], const char *state, const char *fmt, ...)
{
	char		 fp[FP_STR_LEN], *text = NULL;
	const char	*kv[] = { "user", user, "fingerprint", fp, "state",
			    state, NULL };
	va_list		 ap;

	key_fingerprint(key, fp);
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	va_end(ap);
	out_event(c, event, kv, "%s", text != NULL ? text : event);
	free(text);
}

/* Loud: someone's identity key is not the one pinned. */
void
out_user_key_changed(struct client *c, const char *user,
    const uint8_t key[32])
{
	struct jbuf	 jb;
	char		 hex[65], fp[FP_STR_LEN];

	hex_encode(key, 32, hex);
	out_err("WARNING: the identity key of %s has changed!\n"
	    "  new key: %s\n"
	    "Nothing is sent to %s and nothing from it is shown until you "
	    "accept the new key. Compare safety numbers (/verify @%s) with "
	    "%s in person or by a channel you trust, then /trust @%s "
	    "NUMBER.", user, hex, user, user, user, user);
	if (!out_json)
		return;
	key_fingerprint(key, fp);
	jb_begin(&jb, "key_changed");
	jb_str(&jb, "user", user);
	jb_str(&jb, "key", hex);
	jb_str(&jb, "fingerprint", fp);
	jb_str(&jb, "state", "changed");
	jb_emit(&jb);
}

/*
 * One key's safety number, labelled: state is "pinned" or "verified" for
 * the pinned key (pending: a change waits), "changed" for the new key
 * the server shows.  The fingerprint names the key the number is of.
 */
void
out_safety_number(struct client *c, const char *user, const char *number,
    const uint8_t key[32], const char *state, int pending)
{
	struct jbuf	 jb;
	char		 hex[65], fp[FP_STR_LEN];
	int		 isnew = strcmp(state, "changed") == 0;

	hex_encode(key, 32, hex);
	if (!out_json) {
		if (isnew) {
			out_human_at(stdout, 0, "safety number with %s, NEW key "
			    "the server shows (not accepted) %.16s...: %s",
			    user, hex, number);
			out_human_at(stdout, 0, "if %s reads you this number, "
			    "/trust @%s followed by it accepts that key", user,
			    user);
			return;
		}
		out_human_at(stdout, 0, "safety number with %s, pinned key "
		    "(%s) %.16s...: %s", user, state, hex, number);
		if (!pending)
			out_human_at(stdout, 0, "compare it with %s out of band, "
			    "then type /verify @%s followed by the number",
			    user, user);
		return;
	}
	jb_begin(&jb, "safety_number");
	jb_str(&jb, "user", user);
	jb_str(&jb, "number", number);
	jb_str(&jb, "key", state);
	jb_str(&jb, "state", state);
	key_fingerprint(key, fp);
	jb_str(&jb, "fingerprint", fp);
	if (pending)
		jb_bool(&jb, "pending", 1);
	jb_emit(&jb);
}
