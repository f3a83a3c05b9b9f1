/*
 * complete.c: tab completion of commands, rooms and user names on the
 * terminal, through libedit's readline interface.  Names are learnt from
 * what the client sees: events, /rooms and /who answers, what was typed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <editline/readline.h>

#include "client.h"
#include "xmalloc.h"

#define COMPLETE_MAX_NAMES	4096	/* bounded: a busy server has more */

struct names {
	char	**v;
	size_t	  n;
};

static struct names	 rooms, users;
static struct names	 cands;		/* of the completion under way */
static const char	**match;	/* those that fit, complete_word */
/*
 * Names are learnt only once a terminal may complete them: a script
 * never does, and a server's 100,000 rooms would cost it a scan of the
 * list for each.
 */
static int		 learning;

static void
names_add(struct names *ns, const char *name)
{
	size_t	 i;

	for (i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return;
	if (ns->n >= COMPLETE_MAX_NAMES)
		return;
	ns->v = xreallocarray(ns->v, ns->n + 1, sizeof(*ns->v));
	ns->v[ns->n++] = xstrdup(name);
}

static void
names_free(struct names *ns)
{
	size_t	 i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

void
complete_add_room(const char *room)
{
	if (learning)
		names_add(&rooms, room);
}

void
complete_add_user(const char *user)
{
	if (learning)
		names_add(&users, user);
}

/* readline calls this until it returns NULL; state 0 starts over. */
static char *
generate(const char *text, int state)
{
	static size_t	 i, len;
	const char	*s;

	if (state == 0) {
		i = 0;
		len = strlen(text);
	}
	while (i < cands.n) {
		s = cands.v[i++];
		if (strncmp(s, text, len) == 0)
			return strdup(s);	/* readline frees it */
	}
	return NULL;
}

/*
 * What fits where: a command at the start of the line, "#room" and
 * "@user" anywhere, and a bare word is a user name (to address someone).
 * Fills cands with every name of that kind.
 */
static void
kind_of(const char *text, int at_start)
{
	char	*s = NULL;
	size_t	 i;

	names_free(&cands);
	if (text[0] == '/' && at_start) {
		for (i = 0; cmd_name(i) != NULL; i++) {
			(void)xasprintf(&s, "/%s", cmd_name(i));
			names_add(&cands, s);
			free(s);
		}
	} else if (text[0] == '#') {
		for (i = 0; i < rooms.n; i++)
			names_add(&cands, rooms.v[i]);
	} else if (text[0] == '@') {
		for (i = 0; i < users.n; i++) {
			(void)xasprintf(&s, "@%s", users.v[i]);
			names_add(&cands, s);
			free(s);
		}
	} else {
		for (i = 0; i < users.n; i++)
			names_add(&cands, users.v[i]);
	}
}

static char **
attempt(const char *text, int start, int end)
{
	rl_attempted_completion_over = 1;	/* never file names */
	kind_of(text, start == (int)strspn(rl_line_buffer, " \t"));
	return rl_completion_matches(text, generate);
}

/*
 * For the full-screen interface: the names that complete word, the
 * first *n of them in v (valid until the next call), and in prefix
 * (prefixsz bytes) the longest beginning they share.
 */
size_t
complete_word(const char *word, int at_start, const char ***v,
    char *prefix, size_t prefixsz)
{
	size_t			 i, n = 0, len = strlen(word), k;

	kind_of(word, at_start);
	free(match);
	match = xcalloc(cands.n + 1, sizeof(*match));
	for (i = 0; i < cands.n; i++)
		if (strncmp(cands.v[i], word, len) == 0)
			match[n++] = cands.v[i];
	*v = match;
	(void)snprintf(prefix, prefixsz, "%s", n > 0 ? match[0] : word);
	for (i = 1; i < n; i++) {
		for (k = 0; prefix[k] != '\0' && prefix[k] == match[i][k]; k++)
			;
		prefix[k] = '\0';
	}
	return n;
}

void
complete_init(void)
{
	/* Only blanks separate words: '#', '@' and '/' belong to them. */
	static char	 breaks[] = " \t";

	learning = 1;
	rl_attempted_completion_function = attempt;
	rl_completer_word_break_characters = breaks;
	rl_basic_word_break_characters = breaks;
}

void
complete_free(void)
{
	names_free(&rooms);
	names_free(&users);
	names_free(&cands);
	free(match);
	match = NULL;
}
