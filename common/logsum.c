/*
 * logsum.c: one line per burst, not per event.  A paste of 60 lines that
 * trips the rate limit 104 times gives two lines: the first refusal, and
 * "rate limit: 104 times in 10 s for alice" when its window closes.  The
 * table is bounded: a new subject beyond it closes the oldest window early.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "logsum.h"
#include "util.h"

struct logsum_entry {
	char		 what[32];
	char		 who[96];
	uint64_t	 first_ms;
	unsigned long	 count;
	int		 used;
};

static struct logsum_entry	 tab[LOGSUM_MAX];
static struct event		*timer;

static void
entry_close(struct logsum_entry *e, uint64_t now)
{
	uint64_t	 secs = (now - e->first_ms) / 1000;

	if (e->count > 1)
		log_security("%s: %lu times in %llu s for %s", e->what,
		    e->count, (unsigned long long)(secs ? secs : 1), e->who);
	e->used = 0;
}

static void
timer_arm(void)
{
	struct timeval	 tv = { 1, 0 };

	if (timer != NULL && !evtimer_pending(timer, NULL) &&
	    evtimer_add(timer, &tv) == -1)
		fatalx("logsum timer");
}

void
logsum_flush(int all)
{
	uint64_t	 now = now_ms();
	size_t		 i;
	int		 left = 0;

	for (i = 0; i < LOGSUM_MAX; i++) {
		if (!tab[i].used)
			continue;
		if (all || now - tab[i].first_ms >= LOGSUM_WINDOW_MS)
			entry_close(&tab[i], now);
		else
			left = 1;
	}
	if (left)
		timer_arm();
}

static void
timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	logsum_flush(0);
}

void
logsum_init(struct event_base *base)
{
	if ((timer = evtimer_new(base, timer_cb, NULL)) == NULL)
		fatalx("logsum timer");
}

void
logsum_free(void)
{
	logsum_flush(1);
	if (timer != NULL)
		event_free(timer);
	timer = NULL;
}

int
logsum_event(const char *what, const char *who)
{
	struct logsum_entry	*e, *oldest = NULL;
	uint64_t		 now = now_ms();
	size_t			 i;

	for (i = 0; i < LOGSUM_MAX; i++) {
		e = &tab[i];
		if (!e->used) {
			if (oldest == NULL || oldest->used)
				oldest = e;
			continue;
		}
		if (strcmp(e->what, what) == 0 && strcmp(e->who, who) == 0) {
			if (now - e->first_ms < LOGSUM_WINDOW_MS) {
				e->count++;
				return 0;
			}
			entry_close(e, now);
			oldest = e;
			break;
		}
		if (oldest == NULL || (oldest->used &&
		    e->first_ms < oldest->first_ms))
			oldest = e;
	}
	if (oldest->used)
		entry_close(oldest, now);
	(void)str_copy(oldest->what, what, sizeof(oldest->what));
	if (str_copy(oldest->who, who, sizeof(oldest->who)) == -1)
		(void)str_copy(oldest->who, "(long name)", sizeof(oldest->who));
	oldest->first_ms = now;
	oldest->count = 1;
	oldest->used = 1;
	timer_arm();
	return 1;
}
