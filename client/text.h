/*
 * text.h: text that others wrote (messages, names, the server's notices)
 * on its way to a terminal or a script.  Pure functions, unit-tested.
 */
#ifndef SC_TEXT_H
#define SC_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* 1 if all of s[0..len) is well-formed UTF-8. */
int	 text_is_utf8(const char *s, size_t len);
/*
 * Code points a terminal must not receive from others: C0 and C1
 * controls and DEL (escape sequences), and the bidirectional controls
 * (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) with the line
 * and paragraph separators U+2028, U+2029, which reorder or break what
 * is around them.
 */
int	 text_is_unsafe(uint32_t cp);
/*
 * A copy of s[0..len) for a terminal, NUL-terminated and allocated:
 * every unsafe code point and every byte of invalid UTF-8 becomes '?'.
 */
char	*text_for_terminal(const char *s, size_t len);

#endif
