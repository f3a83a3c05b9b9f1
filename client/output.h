/*
 * output.h: the pieces output.c shares with output-chat.c: the JSON line
 * builder, and writing a line without garbling the one being typed.
 */
#ifndef SC_OUTPUT_H
#define SC_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct jbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 nfields;
};

extern int	 out_json;
extern int	 out_colour;

void	 jb_begin(struct jbuf *, const char *);
void	 jb_add(struct jbuf *, const char *, size_t);
void	 jb_adds(struct jbuf *, const char *);
void	 jb_key(struct jbuf *, const char *);
void	 jb_string_n(struct jbuf *, const char *, size_t);
void	 jb_str(struct jbuf *, const char *, const char *);
void	 jb_str_n(struct jbuf *, const char *, const char *, size_t);
void	 jb_num(struct jbuf *, const char *, unsigned long long);
void	 jb_bool(struct jbuf *, const char *, int);
void	 jb_emit(struct jbuf *);
char	*out_sanitize_n(const char *, size_t);
void	 out_stderr(const char *, const char *);
void	 out_hold(void);
void	 out_release(void);
void	 out_human_at(FILE *, uint64_t, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 out_err(const char *, ...) __attribute__((format(printf, 1, 2)));

/* ts (ms, 0 for now), whether it is an error, the line (no newline). */
typedef void out_sink_fn(uint64_t, int, const char *);
void	 out_set_sink(out_sink_fn *);

#endif
