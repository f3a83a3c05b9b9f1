/*
 * logsum.h: repeated log events, summarised.  The first event of a kind
 * for one subject is logged in full; those that follow within
 * LOGSUM_WINDOW_MS are only counted, and when the window closes one
 * security line says how many there were.
 */
#ifndef SC_LOGSUM_H
#define SC_LOGSUM_H

#include <event2/event.h>

#define LOGSUM_WINDOW_MS	10000
#define LOGSUM_MAX		256	/* subjects tracked at once */

/* The summaries are written from a timer of base. */
void	 logsum_init(struct event_base *base);
void	 logsum_free(void);
/*
 * One event of kind what ("rate limit") for who ("alice").  Returns 1
 * when the caller should log it in full, 0 when it was only counted.
 */
int	 logsum_event(const char *what, const char *who);
/* Write the summaries of windows that closed (all of them if all). */
void	 logsum_flush(int all);

#endif
