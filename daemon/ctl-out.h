/*
 * ctl-out.h: the answers of securechatctl's commands, as text or as JSON
 * from the same calls.  Text: "key value" lines, and one line per record
 * with its values separated by spaces.  JSON: one object.
 */
#ifndef SC_CTL_OUT_H
#define SC_CTL_OUT_H

#include <stdint.h>

#include <event2/buffer.h>

struct ctl_out {
	struct evbuffer	*buf;
	int		 json;
	int		 code;		/* 0 done, 1 refused */
	int		 first;		/* nothing yet in the open container */
	int		 in_list;
	int		 in_record;
};

void	 out_init(struct ctl_out *o, struct evbuffer *buf, int json);
/* Close the JSON object; text needs nothing. */
void	 out_finish(struct ctl_out *o);
/* A refusal: code 1, and the text (or {"error": text}) only. */
void	 out_error(struct ctl_out *o, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A line of text for people; "message" in JSON. */
void	 out_message(struct ctl_out *o, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 out_str(struct ctl_out *o, const char *key, const char *v);
void	 out_u64(struct ctl_out *o, const char *key, uint64_t v);
void	 out_bool(struct ctl_out *o, const char *key, int v);
/* Milliseconds since the epoch, as 2024-05-01T12:00:00Z; 0 is "-" / null. */
void	 out_time(struct ctl_out *o, const char *key, uint64_t ms);
void	 out_list_begin(struct ctl_out *o, const char *key);
void	 out_list_end(struct ctl_out *o);
void	 out_record_begin(struct ctl_out *o);
void	 out_record_end(struct ctl_out *o);

#endif
