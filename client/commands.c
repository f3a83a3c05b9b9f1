/*
 * commands.c: the /command table and the dispatch of one input line.  New
 * commands are one table entry and one handler; /help is built from the table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "e2e-client.h"
#include "proto.h"
#include "util.h"

struct command {
	const char	*name;		/* without the slash */
	const char	*usage;
	const char	*help;
	int		 takes_args;
	void		(*fn)(struct client *, const char *);
};

static void	 cmd_join(struct client *, const char *);
static void	 cmd_part(struct client *, const char *);
static void	 cmd_rooms(struct client *, const char *);
static void	 cmd_who(struct client *, const char *);
static void	 cmd_msg(struct client *, const char *);
static void	 cmd_trust(struct client *, const char *);
static void	 cmd_invite(struct client *, const char *);
static void	 cmd_remove(struct client *, const char *);
static void	 cmd_verify(struct client *, const char *);
static void	 cmd_info(struct client *, const char *);
static void	 cmd_status(struct client *, const char *);
static void	 cmd_ping(struct client *, const char *);
static void	 cmd_quit(struct client *, const char *);
static void	 cmd_help(struct client *, const char *);
static void	 cmd_win(struct client *, const char *);
static void	 cmd_close(struct client *, const char *);
static void	 cmd_search(struct client *, const char *);
static void	 cmd_clear(struct client *, const char *);
static void	 cmd_reconnect(struct client *, const char *);

static const struct command commands[] = {
	{ "join", "/join #room [invite-only]", "join a room (created if new, "
	    "open unless invite-only); it becomes the current room", 1,
	    cmd_join },
	{ "part", "/part [#room]", "leave a room (the current one if none is "
	    "given)", 1, cmd_part },
	{ "rooms", "/rooms", "list the rooms and their member counts", 0,
	    cmd_rooms },
	{ "who", "/who [#room]", "list the members of a room and who is "
	    "online", 1, cmd_who },
	{ "msg", "/msg @user text", "send a direct message", 1, cmd_msg },
	{ "verify", "/verify @user [number]", "show the safety number to "
	    "compare with user; with the number, mark the key verified", 1,
	    cmd_verify },
	{ "trust", "/trust @user [number]", "accept the new identity key of a "
	    "user; with its safety number, only that key, verified", 1,
	    cmd_trust },
	{ "invite", "/invite @user [#room] [admin]", "admit a user to a room's "
	    "signed roster (room admins only)", 1, cmd_invite },
	{ "remove", "/remove @user [#room]", "remove a member from a room's "
	    "signed roster (room admins only)", 1, cmd_remove },
	{ "info", "/info", "show the server's version, uptime and users "
	    "online", 0, cmd_info },
	{ "win", "/win N", "show window N (also Alt-N); /win alone lists "
	    "them", 1, cmd_win },
	{ "close", "/close", "close the current window (a room's window "
	    "leaves the room, as /part)", 0, cmd_close },
	{ "search", "/search text", "search the local history of every "
	    "room and conversation", 1, cmd_search },
	{ "clear", "/clear", "erase the local history (and its key)", 0,
	    cmd_clear },
	{ "status", "/status", "show the connection's state, the server's "
	    "key and the round-trip time", 0, cmd_status },
	{ "ping", "/ping", "measure the round-trip time to the server", 0,
	    cmd_ping },
	{ "reconnect", "/reconnect", "connect again now (after an error "
	    "that stopped the retries, or to drop a stuck connection)", 0,
	    cmd_reconnect },
	{ "quit", "/quit", "close the connection and leave", 0, cmd_quit },
	{ "help", "/help", "list the commands", 0, cmd_help },
};

/* Names as typed: "Lobby" and "#Lobby" both mean #lobby. */
static int
room_arg(struct client *c, const char *args, char *room, size_t roomsz,
    const char *usage)
{
	size_t	 n;

	n = strcspn(args, " \t");
	if (n == 0) {
		if (c->room[0] == '\0') {
			out_error(c, "USAGE", "no current room: usage: %s",
			    usage);
			return -1;
		}
		(void)str_copy(room, c->room, roomsz);
		return 0;
	}
	if (args[n + strspn(args + n, " \t")] != '\0') {
		out_error(c, "USAGE", "usage: %s", usage);
		return -1;
	}
	if ((args[0] == '#' ? n : n + 1) > ROOM_MAX_LEN) {
		out_error(c, "BAD_ROOM", "room names are # and 1 to 64 of "
		    "a-z 0-9 _ -");
		return -1;
	}
	(void)snprintf(room, roomsz, "%s%.*s", args[0] == '#' ? "" : "#",
	    (int)n, args);
	if (proto_fold_room(room) == -1) {
		out_error(c, "BAD_ROOM", "room names are # and 1 to 64 of "
		    "a-z 0-9 _ -");
		return -1;
	}
	return 0;
}

/* "#room [word]": the room, and the word after it (or ""). */
static int
room_and_word(struct client *c, const char *args, char *room, size_t roomsz,
    char *word, size_t wordsz, const char *usage)
{
	char	 first[ROOM_MAX_LEN + 2];
	size_t	 n;

	n = strcspn(args, " \t");
	if (n >= sizeof(first)) {
		out_error(c, "BAD_ROOM", "room names are # and 1 to 64 of "
		    "a-z 0-9 _ -");
		return -1;
	}
	memcpy(first, args, n);
	first[n] = '\0';
	args += n;
	args += strspn(args, " \t");
	if (str_copy(word, args, wordsz) == -1 || strpbrk(word, " \t") !=
	    NULL) {
		out_error(c, "USAGE", "usage: %s", usage);
		return -1;
	}
	return room_arg(c, first, room, roomsz, usage);
}

static void
cmd_join(struct client *c, const char *args)
{
	const char	*usage = "/join #room [invite-only]";
	struct outmsg	*m;
	char		 room[ROOM_MAX_LEN + 1], policy[16];

	if (*args == '\0') {
		out_error(c, "USAGE", "usage: %s", usage);
		return;
	}
	if (room_and_word(c, args, room, sizeof(room), policy, sizeof(policy),
	    usage) == -1)
		return;
	if (policy[0] != '\0' && strcmp(policy, "invite-only") != 0 &&
	    strcmp(policy, "open") != 0) {
		out_error(c, "USAGE", "usage: %s", usage);
		return;
	}
	/* At once, so that the lines typed next go there. */
	(void)str_copy(c->room, room, sizeof(c->room));
	input_set_prompt(c);
	complete_add_room(room);
	m = outbox_add(&c->outbox, MSG_JOIN, room, NULL, NULL, 0);
	m->arg = strcmp(policy, "invite-only") == 0;
	chat_flush(c);
}

static void
cmd_part(struct client *c, const char *args)
{
	char	 room[ROOM_MAX_LEN + 1];

	if (room_arg(c, args, room, sizeof(room), "/part [#room]") == -1)
		return;
	chat_request(c, MSG_PART, room);
}

static void
cmd_rooms(struct client *c, const char *args)
{
	chat_request(c, MSG_ROOMS, NULL);
}

static void
cmd_who(struct client *c, const char *args)
{
	char	 room[ROOM_MAX_LEN + 1];

	if (room_arg(c, args, room, sizeof(room), "/who [#room]") == -1)
		return;
	chat_request(c, MSG_WHO, room);
}

static void
cmd_info(struct client *c, const char *args)
{
	chat_request(c, MSG_INFO, NULL);
}

/*
 * "@user rest": the folded name into to, *args past it and its blanks.
 * -1 (said) if there is no valid name.
 */
static int
take_user(struct client *c, const char **args, char to[NAME_MAX_LEN + 1],
    const char *usage)
{
	const char	*a = *args;
	size_t		 n;

	if (*a == '@')
		a++;
	n = strcspn(a, " \t");
	if (n == 0 || n > NAME_MAX_LEN) {
		out_error(c, "USAGE", "usage: %s", usage);
		return -1;
	}
	memcpy(to, a, n);
	to[n] = '\0';
	if (proto_fold_user(to) == -1) {
		out_error(c, "BAD_NAME", "user names are 1 to %d of a-z 0-9 "
		    "_ -", NAME_MAX_LEN);
		return -1;
	}
	a += n;
	*args = a + strspn(a, " \t");
	return 0;
}

static void
cmd_msg(struct client *c, const char *args)
{
	char	 to[NAME_MAX_LEN + 1];

	if (take_user(c, &args, to, "/msg @user text") == -1)
		return;
	if (*args == '\0') {
		out_error(c, "USAGE", "usage: /msg @user text");
		return;
	}
	complete_add_user(to);
	chat_say(c, NULL, to, args);
}

static void
cmd_trust(struct client *c, const char *args)
{
	char	 who[NAME_MAX_LEN + 1];

	if (take_user(c, &args, who, "/trust @user [number]") == -1)
		return;
	e2ec_trust(c, who, *args != '\0' ? args : NULL);
}

static void
cmd_invite(struct client *c, const char *args)
{
	const char	*usage = "/invite @user [#room] [admin]";
	char		 who[NAME_MAX_LEN + 1], room[ROOM_MAX_LEN + 1];
	char		 role[16];

	if (take_user(c, &args, who, usage) == -1)
		return;
	if (*args == '#' || *args == '\0') {
		if (room_and_word(c, args, room, sizeof(room), role,
		    sizeof(role), usage) == -1)
			return;
	} else {
		if (room_arg(c, "", room, sizeof(room), usage) == -1 ||
		    str_copy(role, args, sizeof(role)) == -1)
			return;
	}
	if (role[0] != '\0' && strcmp(role, "admin") != 0) {
		out_error(c, "USAGE", "usage: %s", usage);
		return;
	}
	roster_admin(c, room, who, RR_WANT_INVITE, role[0] != '\0');
	chat_flush(c);
}

static void
cmd_remove(struct client *c, const char *args)
{
	char	 who[NAME_MAX_LEN + 1], room[ROOM_MAX_LEN + 1];

	if (take_user(c, &args, who, "/remove @user [#room]") == -1 ||
	    room_arg(c, args, room, sizeof(room), "/remove @user [#room]") ==
	    -1)
		return;
	roster_admin(c, room, who, RR_WANT_REMOVE, 0);
	chat_flush(c);
}

static void
cmd_verify(struct client *c, const char *args)
{
	char	 who[NAME_MAX_LEN + 1];

	if (take_user(c, &args, who, "/verify @user [number]") == -1)
		return;
	e2ec_verify(c, who, *args != '\0' ? args : NULL);
}

/*
 * Connected, the answer to the PING completes the status, so the RTT is
 * fresh; otherwise the state is all there is to say, at once.
 */
static void
cmd_status(struct client *c, const char *args)
{
	if (c->state == CS_READY)
		(void)conn_ping(c, PING_STATUS);
	else
		out_status(c, -1);
}

static void
cmd_reconnect(struct client *c, const char *args)
{
	session_reconnect(c);
}

static void
cmd_win(struct client *c, const char *args)
{
	if (!c->tui) {
		out_error(c, "NO_WINDOWS", "windows are part of the "
		    "full-screen interface; /join #room changes the room "
		    "lines go to");
		return;
	}
	(void)tui_window_cmd(c, args);
}

static void
cmd_close(struct client *c, const char *args)
{
	cmd_win(c, "close");
}

static void
cmd_search(struct client *c, const char *args)
{
	if (*args == '\0') {
		out_error(c, "USAGE", "usage: /search text");
		return;
	}
	view_search(c, args);
}

static void
cmd_clear(struct client *c, const char *args)
{
	view_clear(c);
}

static void
cmd_ping(struct client *c, const char *args)
{
	(void)conn_ping(c, PING_PING);
}

static void
cmd_quit(struct client *c, const char *args)
{
	client_leave(c);
}

static void
cmd_help(struct client *c, const char *args)
{
	size_t	 i, w = 0;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strlen(commands[i].usage) > w)
			w = strlen(commands[i].usage);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		out_help(c, commands[i].usage, commands[i].help, (int)w);
}

/* For completion: the i-th command's name, NULL after the last. */
const char *
cmd_name(size_t i)
{
	if (i >= sizeof(commands) / sizeof(commands[0]))
		return NULL;
	return commands[i].name;
}

/*
 * --json: "@id=TOKEN " before a line tags it; every event that answers
 * it carries "request_id": TOKEN.  Returns the rest of the line, or NULL
 * (said) for a malformed tag.
 */
static const char *
take_request_id(struct client *c, const char *line)
{
	char	 id[CLIENT_REQID_MAX + 1];
	size_t	 n;

	if (!c->json || strncmp(line, "@id=", 4) != 0)
		return line;
	line += 4;
	n = strspn(line, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-");
	if (n == 0 || n > CLIENT_REQID_MAX || (line[n] != ' ' &&
	    line[n] != '\t' && line[n] != '\0')) {
		out_error(c, "BAD_REQUEST_ID", "a request id is 1 to %d of "
		    "A-Z a-z 0-9 . _ : - after '@id=', then a blank",
		    CLIENT_REQID_MAX);
		return NULL;
	}
	memcpy(id, line, n);
	id[n] = '\0';
	outbox_set_request(id);
	return line + n + strspn(line + n, " \t");
}

static void	 cmd_dispatch(struct client *, const char *);

void
cmd_line(struct client *c, const char *line)
{
	if (strlen(line) > CLIENT_LINE_MAX) {
		out_error(c, "INPUT", "line longer than %d bytes refused",
		    CLIENT_LINE_MAX);
		return;
	}
	if ((line = take_request_id(c, line)) != NULL)
		cmd_dispatch(c, line);
	outbox_set_request(NULL);
}

static void
cmd_dispatch(struct client *c, const char *line)
{
	const struct command	*cmd;
	const char		*args, *text;
	size_t			 i, n;

	text = line;
	line += strspn(line, " \t");
	if (*line == '\0')
		return;
	/* A chat line is sent as typed; "//" sends one starting with '/'. */
	if (line[0] != '/' || line[1] == '/') {
		if (c->room[0] == '\0' && c->query[0] == '\0') {
			out_error(c, "NO_ROOM", "no current room: /join #room "
			    "first, or /msg @user");
			return;
		}
		/* A conversation's window sends to that person. */
		chat_say(c, c->room[0] != '\0' ? c->room : NULL,
		    c->room[0] != '\0' ? NULL : c->query,
		    line[0] == '/' ? line + 1 : text);
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
