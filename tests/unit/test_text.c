/*
 * test_text.c: what the client lets through to a terminal (client/text.c):
 * C0 and C1 controls, raw or encoded, invalid UTF-8 and bidirectional
 * controls become '?'; everything else is kept as it is (issue 10).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"
#include "util.h"

static void
expect_terminal(const char *in, size_t len, const char *want)
{
	char	*out = text_for_terminal(in, len);

	assert_string_equal(out, want);
	free(out);
}

#define T(in, want)	expect_terminal((in), sizeof(in) - 1, (want))

static void
terminal_keeps_text(void **state)
{
	T("hello, world", "hello, world");
	T("", "");
	T("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* U+00A0 follows the C1 block: it stays. */
	T("a\xc2\xa0" "b", "a\xc2\xa0" "b");
	/* Arabic, Hebrew: right-to-left letters are text, not controls. */
	T("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
}

static void
terminal_replaces_controls(void **state)
{
	/* C0, DEL, an escape sequence. */
	T("a\x1b[2Jb\x07\x7f\tc\r\n", "a?[2Jb???c??");
	/* C1 encoded in UTF-8: NEL, CSI, APC. */
	T("a\xc2\x85" "b\xc2\x9b" "c\xc2\x9f", "a?b?c?");
	/* C1 as raw bytes: not UTF-8 either. */
	T("a\x9b" "2Jb\x85", "a?2Jb?");
	T("\x80\x9f", "??");
}

static void
terminal_replaces_bidi(void **state)
{
	/* U+202E RIGHT-TO-LEFT OVERRIDE, U+202A-U+202D, U+2066-U+2069. */
	T("pay \xe2\x80\xae" "0001$", "pay ?0001$");
	T("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "????");
	T("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", "????");
	/* LRM, RLM, ALM, line and paragraph separators. */
	T("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c\xe2\x80\xa8\xe2\x80\xa9", "?????");
	/* Neighbours that are not controls stay. */
	T("\xe2\x80\x8d\xe2\x80\xaf\xe2\x81\xa5", "\xe2\x80\x8d\xe2\x80\xaf\xe2\x81\xa5");
}

static void
terminal_replaces_invalid_utf8(void **state)
{
	T("a\xff" "b", "a?b");
	/* Overlong '/', a surrogate, above U+10FFFF, truncated. */
	T("\xc0\xaf", "??");
	T("\xed\xa0\x80", "???");
	T("\xf4\x90\x80\x80", "????");
	T("ok\xe2\x82", "ok??");
	/* A NUL inside a body is a control like the others. */
	expect_terminal("a\0b", 3, "a?b");
}

static void
utf8_checks(void **state)
{
	uint32_t	 cp = 0;

	assert_true(text_is_utf8("", 0));
	assert_true(text_is_utf8("caf\xc3\xa9", 5));
	assert_false(text_is_utf8("caf\xe9", 4));
	assert_false(text_is_utf8("\xc2", 1));
	assert_int_equal(utf8_decode((const unsigned char *)"\xe2\x80\xae",
	    3, &cp), 3);
	assert_int_equal(cp, 0x202e);
	assert_true(text_is_unsafe(cp));
	assert_int_equal(utf8_decode((const unsigned char *)"\xc2\x85", 2,
	    &cp), 2);
	assert_true(text_is_unsafe(cp));
	assert_false(text_is_unsafe('a'));
	assert_false(text_is_unsafe(0xa0));
	assert_int_equal(utf8_decode((const unsigned char *)"", 0, &cp), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(terminal_keeps_text),
		cmocka_unit_test(terminal_replaces_controls),
		cmocka_unit_test(terminal_replaces_bidi),
		cmocka_unit_test(terminal_replaces_invalid_utf8),
		cmocka_unit_test(utf8_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
