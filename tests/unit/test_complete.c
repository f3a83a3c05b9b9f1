/*
 * test_complete.c: the client's tab completion learns names only once a
 * terminal may complete them (complete_init): a script never completes,
 * and a server that names 100,000 rooms must not cost it a scan of the
 * list for each.  Learnt names complete by their prefix.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"

/* complete.c lists the commands of commands.c; two stand in for them. */
const char *
cmd_name(size_t i)
{
	static const char	*names[] = { "join", "quit" };

	return i < sizeof(names) / sizeof(names[0]) ? names[i] : NULL;
}

static size_t
matches(const char *word, char *prefix, size_t prefixsz)
{
	const char	**v;

	return complete_word(word, 0, &v, prefix, prefixsz);
}

static void
test_nothing_learnt_before_init(void **state)
{
	char	 prefix[64];

	(void)state;
	complete_add_room("#early");
	complete_add_user("early");
	assert_int_equal(matches("#", prefix, sizeof(prefix)), 0);
	assert_int_equal(matches("@", prefix, sizeof(prefix)), 0);
	assert_int_equal(matches("e", prefix, sizeof(prefix)), 0);
	complete_free();
}

static void
test_learnt_after_init(void **state)
{
	const char	**v;
	char		 prefix[64];

	(void)state;
	complete_add_room("#before");
	complete_init();
	complete_add_room("#lobby");
	complete_add_room("#lounge");
	complete_add_room("#lobby");		/* once */
	complete_add_user("alice");
	assert_int_equal(matches("#", prefix, sizeof(prefix)), 2);
	assert_string_equal(prefix, "#lo");
	assert_int_equal(matches("#lob", prefix, sizeof(prefix)), 1);
	assert_string_equal(prefix, "#lobby");
	assert_int_equal(matches("@a", prefix, sizeof(prefix)), 1);
	assert_string_equal(prefix, "@alice");
	/* Commands complete at the start of the line only. */
	assert_int_equal(complete_word("/q", 1, &v, prefix, sizeof(prefix)),
	    1);
	assert_string_equal(v[0], "/quit");
	assert_int_equal(complete_word("/q", 0, &v, prefix, sizeof(prefix)),
	    0);
	complete_free();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_learnt_before_init),
		cmocka_unit_test(test_learnt_after_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
