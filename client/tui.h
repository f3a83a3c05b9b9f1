/*
 * tui.h: the full-screen interface's pieces: the screen and its windows
 * (tui.c) and the input line, driven by libedit (tui-input.c).
 */
#ifndef SC_TUI_H
#define SC_TUI_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#include "history.h"

struct client;

#define TUI_LINES_MAX	2000	/* lines a window keeps in memory */
#define TUI_PAGE_LOAD	200	/* lines read from the history at a time */

/* What kind of line, for how it looks and what it counts as. */
#define TUI_MENTION	0x01	/* highlighted, rings the bell if hidden */
#define TUI_JOIN	0x02
#define TUI_PART	0x04
#define TUI_NOTICE	0x08	/* the client's own lines: not unread */
#define TUI_ERROR	0x10
#define TUI_OLD		0x20	/* from the history: not unread */

void	 tui_show(struct client *, const char *, const char *, const char *,
	    size_t, uint64_t, int, int64_t);
void	 tui_clear(struct client *);
void	 tui_scroll(struct client *, int);
void	 tui_switch(struct client *, int);
void	 tui_next_active(struct client *);
void	 tui_draw_input(struct client *, const wchar_t *, size_t, size_t);
void	 tui_beep(struct client *);
void	 tui_hint(struct client *, const char *);
void	 tui_stop_screen(struct client *);
void	 tui_input_watch(struct client *, int);

/* tui-input.c */
void	 tui_input_init(struct client *);
void	 tui_input_feed(struct client *, const uint8_t *, size_t);
void	 tui_input_refresh(struct client *);

/* view.c */
int	 view_older(struct client *, const char *, int64_t, size_t,
	    history_cb *, void *);

#endif
