/*
 * ctl-out.c: one writer for both forms of an answer, so that --json says
 * exactly what the text says.  Strings are escaped for JSON; text values
 * are names, numbers and times, which hold no spaces.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "ctl-out.h"
#include "log.h"

static void
add(struct ctl_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add(struct ctl_out *o, const char *fmt, ...)
{
	va_list	 ap;
	int	 rv;

	va_start(ap, fmt);
	rv = evbuffer_add_vprintf(o->buf, fmt, ap);
	va_end(ap);
	if (rv == -1)
		fatalx("evbuffer_add_vprintf");
}

static void
json_string(struct ctl_out *o, const char *s)
{
	const unsigned char	*p;

	add(o, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			add(o, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			add(o, "\\u%04x", *p);
		else
			add(o, "%c", *p);
	}
	add(o, "\"");
}

/* JSON: the separator and the key; text: the separator of a record. */
static void
key(struct ctl_out *o, const char *k)
{
	if (o->json) {
		if (!o->first)
			add(o, ",");
		o->first = 0;
		if (!(o->in_list && !o->in_record)) {
			json_string(o, k);
			add(o, ":");
		}
		return;
	}
	if (o->in_record) {
		if (!o->first)
			add(o, " ");
		o->first = 0;
	} else
		add(o, "%s ", k);
}

static void
text_end(struct ctl_out *o)
{
	if (!o->json && !o->in_record)
		add(o, "\n");
}

void
out_init(struct ctl_out *o, struct evbuffer *buf, int json)
{
	memset(o, 0, sizeof(*o));
	o->buf = buf;
	o->json = json;
	o->first = 1;
	if (json)
		add(o, "{");
}

void
out_finish(struct ctl_out *o)
{
	if (o->json)
		add(o, "}\n");
}

void
out_error(struct ctl_out *o, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->code = 1;
	/* Whatever was written so far is not the answer. */
	if (evbuffer_drain(o->buf, evbuffer_get_length(o->buf)) == -1)
		fatalx("evbuffer_drain");
	o->in_list = o->in_record = 0;
	o->first = 1;
	if (o->json) {
		add(o, "{");
		out_str(o, "error", msg);
	} else
		add(o, "%s\n", msg);
}

void
out_message(struct ctl_out *o, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->json)
		out_str(o, "message", msg);
	else
		add(o, "%s\n", msg);
}

void
out_str(struct ctl_out *o, const char *k, const char *v)
{
	key(o, k);
	if (o->json)
		json_string(o, v);
	else
		add(o, "%s", v);
	text_end(o);
}

void
out_u64(struct ctl_out *o, const char *k, uint64_t v)
{
	key(o, k);
	add(o, "%llu", (unsigned long long)v);
	text_end(o);
}

void
out_bool(struct ctl_out *o, const char *k, int v)
{
	key(o, k);
	if (o->json)
		add(o, "%s", v ? "true" : "false");
	else
		add(o, "%s", v ? "yes" : "no");
	text_end(o);
}

void
out_time(struct ctl_out *o, const char *k, uint64_t ms)
{
	struct tm	 tm;
	time_t		 t = (time_t)(ms / 1000);
	char		 buf[32];

	key(o, k);
	if (ms == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		add(o, "%s", o->json ? "null" : "-");
	else if (o->json)
		add(o, "\"%s\"", buf);
	else
		add(o, "%s", buf);
	text_end(o);
}

void
out_list_begin(struct ctl_out *o, const char *k)
{
	if (o->json) {
		key(o, k);
		add(o, "[");
		o->first = 1;
	}
	o->in_list = 1;
}

void
out_list_end(struct ctl_out *o)
{
	if (o->json)
		add(o, "]");
	o->in_list = 0;
	o->first = 0;
}

void
out_record_begin(struct ctl_out *o)
{
	if (o->json) {
		key(o, NULL);
		add(o, "{");
	}
	o->in_record = 1;
	o->first = 1;
}

void
out_record_end(struct ctl_out *o)
{
	o->in_record = 0;
	o->first = 0;
	if (o->json)
		add(o, "}");
	else
		add(o, "\n");
}
