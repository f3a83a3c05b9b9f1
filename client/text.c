/*
 * text.c: what the client lets through to a terminal.  A message or a
 * name could otherwise carry escape sequences (C0 or C1 controls, raw or
 * encoded) that rewrite the screen, or bidirectional overrides that make
 * a line read differently from what it says.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "text.h"
#include "util.h"
#include "xmalloc.h"

int
text_is_utf8(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 n;

	while (len > 0) {
		if ((n = utf8_decode(p, len, &cp)) == 0)
			return 0;
		p += n;
		len -= n;
	}
	return 1;
}

int
text_is_unsafe(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return 1;
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *
text_for_terminal(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 n, off = 0;
	char			*out;

	/* Never longer than the input: each thing kept or one '?'. */
	out = xmalloc(len + 1);
	while (len > 0) {
		if ((n = utf8_decode(p, len, &cp)) == 0) {
			out[off++] = '?';
			n = 1;
		} else if (text_is_unsafe(cp))
			out[off++] = '?';
		else {
			memcpy(out + off, p, n);
			off += n;
		}
		p += n;
		len -= n;
	}
	out[off] = '\0';
	return out;
}
