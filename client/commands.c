/*
 * commands.c: the /command table and the dispatch of one input line.  New
 * commands are one table entry and one handler; /help is built from the table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "client.h"

struct command {
	const char	*name;		/* without the slash */
	const char	*usage;
	const char	*help;
	int		 takes_args;
	void		(*fn)(struct client *, const char *);
};

static void	 cmd_status(struct client *, const char *);
static void	 cmd_ping(struct client *, const char *);
static void	 cmd_quit(struct client *, const char *);
static void	 cmd_help(struct client *, const char *);

static const struct command commands[] = {
	{ "status", "/status", "show the connection, the server's key and "
	    "the round-trip time", 0, cmd_status },
	{ "ping", "/ping", "measure the round-trip time to the server", 0,
	    cmd_ping },
	{ "quit", "/quit", "close the connection and leave", 0, cmd_quit },
	{ "help", "/help", "list the commands", 0, cmd_help },
};

/* The answer to the PING completes the status, so the RTT is fresh. */
static void
cmd_status(struct client *c, const char *args)
{
	(void)conn_ping(c, PING_STATUS);
}

static void
cmd_ping(struct client *c, const char *args)
{
	(void)conn_ping(c, PING_PING);
}

static void
cmd_quit(struct client *c, const char *args)
{
	conn_close(c);
}

static void
cmd_help(struct client *c, const char *args)
{
	size_t	 i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		out_help(c, commands[i].usage, commands[i].help);
}

void
cmd_line(struct client *c, const char *line)
{
	const struct command	*cmd;
	const char		*args;
	size_t			 i, n;

	if (strlen(line) > CLIENT_LINE_MAX) {
		out_error(c, "INPUT", "line longer than %d bytes refused",
		    CLIENT_LINE_MAX);
		return;
	}
	line += strspn(line, " \t");
	if (*line == '\0')
		return;
	if (*line != '/') {
		out_error(c, "UNSUPPORTED", "chat messages arrive with the "
		    "next version");
		return;
	}
	n = strcspn(line + 1, " \t");
	args = line + 1 + n;
	args += strspn(args, " \t");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		cmd = &commands[i];
		if (strlen(cmd->name) != n ||
		    strncmp(cmd->name, line + 1, n) != 0)
			continue;
		if (!cmd->takes_args && *args != '\0') {
			out_error(c, "USAGE", "usage: %s", cmd->usage);
			return;
		}
		cmd->fn(c, args);
		return;
	}
	out_error(c, "UNKNOWN_COMMAND", "unknown command '%.*s': try /help",
	    (int)(n + 1 > 64 ? 64 : n + 1), line);
}
