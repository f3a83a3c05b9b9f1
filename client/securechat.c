/*
 * securechat.c: the securechat client: options, the data directory, the
 * event loop, and reading commands from a terminal or from a script.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <editline/readline.h>

#include "client.h"
#include "e2e-client.h"
#include "log.h"
#include "settings.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

#define PROMPT		"securechat> "

/* readline's callbacks carry no argument; this is the one client. */
static struct client	*the_client;

enum {
	OPT_SERVER = 256,
	OPT_USER,
	OPT_HOME,
	OPT_CA_FILE,
	OPT_BATCH,
	OPT_JSON,
	OPT_PASSPHRASE_FILE,
	OPT_INVITE,
	OPT_CONFIG,
	OPT_LINE,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option longopts[] = {
	{ "server",	required_argument,	NULL, OPT_SERVER },
	{ "user",	required_argument,	NULL, OPT_USER },
	{ "home",	required_argument,	NULL, OPT_HOME },
	{ "ca-file",	required_argument,	NULL, OPT_CA_FILE },
	{ "batch",	no_argument,		NULL, OPT_BATCH },
	{ "json",	no_argument,		NULL, OPT_JSON },
	{ "passphrase-file", required_argument,	NULL, OPT_PASSPHRASE_FILE },
	{ "invite",	required_argument,	NULL, OPT_INVITE },
	{ "config",	required_argument,	NULL, OPT_CONFIG },
	{ "line",	no_argument,		NULL, OPT_LINE },
	{ "help",	no_argument,		NULL, OPT_HELP },
	{ "version",	no_argument,		NULL, OPT_VERSION },
	{ NULL,		0,			NULL, 0 }
};

static void
usage(FILE *fp)
{
	(void)fprintf(fp,
	    "usage: securechat [--batch] [--json] [--line] [--server host[:port]]\n"
	    "                  [--user name] [--home dir] [--config file]\n"
	    "                  [--ca-file file] [--passphrase-file file] "
	    "[--invite code]\n"
	    "       securechat [--home dir] [--json] forget-server "
	    "host[:port]\n"
	    "       securechat --help | --version\n");
}

/*
 * The end of the program, or, on a terminal, of trying: a person
 * leaves with /quit, Ctrl-D or a signal, never because of the network.
 */
void
client_exit(struct client *c, int status)
{
	if (c->interactive && !c->leaving && c->state != CS_DONE) {
		if (c->exit_status == EXIT_OK)
			c->exit_status = status;
		session_halt(c, c->last_error);
		return;
	}
	c->exit_status = status;
	c->state = CS_DONE;
	if (event_base_loopbreak(c->base) == -1)
		exit(status);
}

/* /quit, the end of the input, a signal. */
void
client_leave(struct client *c)
{
	c->leaving = 1;
	conn_close(c);
}

/*
 * Batch mode ends when the script has said everything, every message is
 * acknowledged and every question it asked has an answer.
 */
void
client_check_done(struct client *c)
{
	if (c->interactive || !c->input_eof || !TAILQ_EMPTY(&c->pings) ||
	    !chat_done(c))
		return;
	if (c->state == CS_READY)
		client_leave(c);
}

/* Is a script still waiting for something? */
static int
waiting(struct client *c)
{
	return c->input_eof || !TAILQ_EMPTY(&c->pings) || !chat_done(c) ||
	    c->state != CS_READY;
}

static void
progress_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;

	if (!waiting(c)) {
		client_progress(c);
		return;
	}
	out_error(c, "TIMEOUT", "no progress with %s for %d seconds: giving "
	    "up", c->hostport, CLIENT_PROGRESS_SECS);
	client_exit(c, EXIT_ERROR);
}

/*
 * Something moved (a line read, an answer, a login): a script is bounded
 * by the time since the last such thing, not by its total length.
 */
void
client_progress(struct client *c)
{
	struct timeval	 tv;

	if (c->interactive || c->state == CS_DONE)
		return;
	if (c->ev_progress == NULL &&
	    (c->ev_progress = evtimer_new(c->base, progress_cb, c)) == NULL)
		fatalx("evtimer_new");
	tv.tv_sec = CLIENT_PROGRESS_SECS;
	tv.tv_usec = 0;
	if (evtimer_add(c->ev_progress, &tv) == -1)
		fatalx("evtimer_add");
}

static void
input_eof(struct client *c)
{
	c->input_eof = 1;
	if (c->ev_stdin != NULL)
		(void)event_del(c->ev_stdin);
	if (c->interactive) {
		client_leave(c);
		return;
	}
	client_progress(c);
	client_check_done(c);
}

/* Every complete line in the buffer; an overlong one is refused whole. */
static void
batch_lines(struct client *c, int eof)
{
	char	*line;
	size_t	 len;

	while (c->state == CS_READY &&
	    (line = evbuffer_readln(c->inbuf, &len, EVBUFFER_EOL_CRLF)) != NULL) {
		if (c->input_skip)
			c->input_skip = 0;	/* the tail of a refused line */
		else if (len > CLIENT_LINE_MAX)
			out_error(c, "INPUT", "line longer than %d bytes "
			    "refused", CLIENT_LINE_MAX);
		else if (strlen(line) != len)
			out_error(c, "INPUT", "line with a NUL byte refused");
		else
			cmd_line(c, line);
		free(line);
	}
	if (c->state != CS_READY)
		return;
	len = evbuffer_get_length(c->inbuf);
	if (len > CLIENT_LINE_MAX + 1) {
		if (!c->input_skip)
			out_error(c, "INPUT", "line longer than %d bytes "
			    "refused", CLIENT_LINE_MAX);
		c->input_skip = 1;
		(void)evbuffer_drain(c->inbuf, len);
	} else if (eof && len > 0) {
		/* A last line without a newline still counts. */
		if ((line = xcalloc(1, len + 1)) != NULL &&
		    evbuffer_remove(c->inbuf, line, len) == (int)len &&
		    !c->input_skip)
			cmd_line(c, line);
		free(line);
	}
}

static void
batch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	int		 n;

	n = evbuffer_read(c->inbuf, STDIN_FILENO, 4096);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		goto again;
	if (n == -1)
		out_error(c, "INPUT", "stdin: %s", strerror(errno));
	batch_lines(c, n <= 0);
	if (c->state != CS_READY) {
		/* The rest waits for the next login. */
		if (c->state != CS_CLOSING && c->state != CS_DONE)
			input_pause(c);
		return;
	}
	client_progress(c);
	if (n <= 0) {
		input_eof(c);
		return;
	}
 again:
	/* A file never blocks: read on at once, without the poller. */
	if (c->input_file)
		event_active(c->ev_stdin, EV_READ, 0);
}

static void
rl_line_cb(char *line)
{
	struct client	*c = the_client;

	if (line == NULL) {
		input_eof(c);
		return;
	}
	if (*line != '\0')
		(void)add_history(line);
	/*
	 * libedit's callback mode redraws the previous line when output
	 * arrives later; starting a fresh line editor state avoids that.
	 */
	rl_callback_handler_remove();
	rl_callback_handler_install(c->prompt, rl_line_cb);
	cmd_line(c, line);
	free(line);
}

static void
rl_read_cb(evutil_socket_t fd, short what, void *arg)
{
	rl_callback_read_char();
}

/* Commands are read only once the server has welcomed us. */
void
input_start(struct client *c)
{
	struct stat	 st;

	if (c->input_on)
		return;
	c->input_on = 1;
	if (c->tui) {
		tui_input_start(c);
		return;
	}
	if (c->interactive) {
		input_set_prompt(c);
		complete_init();
		rl_callback_handler_install(c->prompt, rl_line_cb);
		out_set_readline(1);
		c->ev_stdin = event_new(c->base, STDIN_FILENO,
		    EV_READ | EV_PERSIST, rl_read_cb, c);
	} else {
		if ((c->inbuf = evbuffer_new()) == NULL)
			fatalx("evbuffer_new");
		/* epoll refuses regular files and /dev/null. */
		if (fstat(STDIN_FILENO, &st) == -1)
			fatal("fstat stdin");
		if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
		    isatty(STDIN_FILENO))
			c->ev_stdin = event_new(c->base, STDIN_FILENO,
			    EV_READ | EV_PERSIST, batch_read_cb, c);
		else {
			c->input_file = 1;
			c->ev_stdin = event_new(c->base, -1, 0, batch_read_cb,
			    c);
		}
	}
	if (c->ev_stdin == NULL)
		fatalx("event_new");
	if (c->input_file)
		event_active(c->ev_stdin, EV_READ, 0);
	else if (event_add(c->ev_stdin, NULL) == -1)
		fatalx("event_add stdin");
}

/* Batch: lines wait while there is no session to say them in. */
void
input_pause(struct client *c)
{
	if (c->interactive || !c->input_on || c->input_paused ||
	    c->input_eof)
		return;
	c->input_paused = 1;
	if (c->ev_stdin != NULL)
		(void)event_del(c->ev_stdin);
}

void
input_resume(struct client *c)
{
	if (!c->input_paused)
		return;
	c->input_paused = 0;
	if (c->ev_stdin == NULL)
		return;
	/* Reading again finds what is buffered, or the end of the input. */
	if (c->input_file)
		event_active(c->ev_stdin, EV_READ, 0);
	else {
		if (event_add(c->ev_stdin, NULL) == -1)
			fatalx("event_add stdin");
		batch_lines(c, 0);
	}
}

/* The prompt names the room plain lines go to. */
void
input_set_prompt(struct client *c)
{
	if (c->room[0] != '\0')
		(void)snprintf(c->prompt, sizeof(c->prompt), "%s> ", c->room);
	else
		(void)snprintf(c->prompt, sizeof(c->prompt), "%s", PROMPT);
	if (c->tui)
		tui_redraw(c);
	else if (c->interactive && c->input_on)
		(void)rl_set_prompt(c->prompt);
}

/* Ctrl-C: the line being typed is dropped, and a fresh prompt shown. */
void
input_clear(struct client *c)
{
	if (c->tui) {
		tui_input_clear(c);
		return;
	}
	rl_callback_handler_remove();
	(void)fputc('\n', stdout);
	(void)fflush(stdout);
	rl_callback_handler_install(c->prompt, rl_line_cb);
}

void
input_stop(struct client *c)
{
	if (c->ev_stdin != NULL)
		event_free(c->ev_stdin);
	c->ev_stdin = NULL;
	if (c->inbuf != NULL)
		evbuffer_free(c->inbuf);
	c->inbuf = NULL;
	if (c->tui && c->input_on)
		tui_input_stop(c);
	else if (c->interactive && c->input_on) {
		out_set_readline(0);
		rl_callback_handler_remove();
		/* Leave the shell prompt on a line of its own. */
		(void)fputc('\n', stdout);
		(void)fflush(stdout);
	}
	c->input_on = 0;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct client	*c = arg;

	switch (sig) {
	case SIGINT:
		if (c->interactive && c->input_on) {
			/* Ctrl-C drops the line being typed, as in a shell. */
			input_clear(c);
			return;
		}
		break;
	case SIGCONT:
		/* Back from a stop: the connection may have died meanwhile. */
		keepalive_probe(c);
		if (c->tui)
			tui_resume(c);
		return;
	default:
		break;
	}
	if (c->exit_status == EXIT_OK)
		c->exit_status = EXIT_ERROR;
	client_leave(c);
}

/* Usernames are case-folded; the server sees one spelling of each. */
static int
valid_user(const char *in, char *out, size_t outsz)
{
	if (str_copy(out, in, outsz) == -1 || proto_fold_user(out) == -1) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

static int
bad_user(const char *name, const char *where)
{
	(void)fprintf(stderr, "securechat: invalid user name '%s'%s: user "
	    "names are [a-z0-9_-]{1,32} (upper case is folded)\n", name,
	    where);
	return EXIT_USAGE;
}

/* mkdir -p, each new level 0700: the directory will hold private keys. */
static int
make_dirs(const char *path)
{
	char		*p, *s;
	struct stat	 st;

	s = xstrdup(path);
	for (p = s + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(s, 0700) == -1 && errno != EEXIST) {
			free(s);
			return -1;
		}
		*p = '/';
	}
	if (mkdir(s, 0700) == -1 && errno != EEXIST) {
		free(s);
		return -1;
	}
	free(s);
	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/*
 * The identity key, prekeys and chain keys live in this process: no core
 * file may hold them, and other processes of the same user may not
 * attach to read them (as ssh-agent does).
 */
static void
disable_dumps(void)
{
	struct rlimit	 rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");
}

/*
 * The configuration file first, then options over it.  An explicit
 * --config must exist; the default one may not.
 */
static int
load_settings(struct client *c, const char *path)
{
	char	*dflt = NULL, err[1024];
	int	 r;

	settings_defaults(&c->set);
	if (path == NULL && (path = dflt = settings_default_path()) == NULL)
		return 0;
	r = settings_load(&c->set, path, err, sizeof(err));
	if (r == 1 && dflt == NULL) {
		(void)fprintf(stderr, "securechat: %s: no such file\n", path);
		r = -1;
	} else if (r == -1)
		(void)fprintf(stderr, "securechat: %s\n", err);
	free(dflt);
	return r == -1 ? -1 : 0;
}

/* Colour only on a terminal, unless the file or NO_COLOR says no. */
static int
want_colour(const struct client *c)
{
	const char	*nc = getenv("NO_COLOR");

	/* no-color.org: set and not empty, whatever its value. */
	if (nc != NULL && nc[0] != '\0')
		return 0;
	return c->set.colours && isatty(STDOUT_FILENO);
}

static int
forget_server(struct client *c, const char *arg)
{
	char		 host[CLIENT_HOST_MAX], err[512];
	uint16_t	 port = 0;
	int		 r;

	if (parse_hostport(arg, host, sizeof(host), &port, 0) == -1) {
		(void)fprintf(stderr, "securechat: bad server '%s': expected "
		    "host[:port] or [address]:port\n", arg);
		return EXIT_USAGE;
	}
	r = known_forget(c->known_file, host, port, err, sizeof(err));
	if (r == -1) {
		out_error(c, "KNOWN_SERVERS", "%s", err);
		return EXIT_ERROR;
	}
	return r > 0 ? EXIT_OK : EXIT_ERROR;
}

static void
client_free(struct client *c)
{
	/* Events held for a fetch are not lost with the client. */
	roster_flush_held(c, "the client stopped before their roster came");
	input_stop(c);
	if (c->tui)
		tui_stop(c);
	view_free(c);
	chat_free(c);
	session_free(c);
	conn_free(c);
	complete_free();
	if (c->ev_progress != NULL)
		event_free(c->ev_progress);
	(void)fflush(stdout);
	free(c->home);
	free(c->known_file);
	free(c->ca_file);
}

int
main(int argc, char *argv[])
{
	struct client	 c;
	struct event	*ev_sig[5];
	static const int sigs[5] = { SIGINT, SIGTERM, SIGHUP, SIGCONT, 0 };
	const char	*server_arg = NULL, *config = NULL;
	struct passwd	*pw;
	size_t		 i;
	int		 ch;

	memset(&c, 0, sizeof(c));
	memset(ev_sig, 0, sizeof(ev_sig));
	the_client = &c;
	log_procname("securechat");
	disable_dumps();

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SERVER:
			server_arg = optarg;
			break;
		case OPT_USER:
			if (valid_user(optarg, c.user, sizeof(c.user)) == -1)
				return bad_user(optarg, "");
			break;
		case OPT_PASSPHRASE_FILE:
			free(c.passphrase_file);
			c.passphrase_file = xstrdup(optarg);
			break;
		case OPT_INVITE:
			free(c.invite);
			c.invite = xstrdup(optarg);
			break;
		case OPT_HOME:
			free(c.home);
			c.home = xstrdup(optarg);
			break;
		case OPT_CA_FILE:
			free(c.ca_file);
			c.ca_file = xstrdup(optarg);
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_LINE:
			c.line_mode = 1;
			break;
		case OPT_BATCH:
			c.batch = 1;
			break;
		case OPT_JSON:
			c.json = 1;
			break;
		case OPT_HELP:
			usage(stdout);
			return EXIT_OK;
		case OPT_VERSION:
			(void)printf("securechat %s (protocol %d)\n",
			    PACKAGE_VERSION, PROTO_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc && (strcmp(argv[optind], "forget-server") != 0 ||
	    optind + 2 != argc)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (load_settings(&c, config) == -1)
		return EXIT_USAGE;
	if (server_arg == NULL)
		server_arg = c.set.server[0] != '\0' ? c.set.server :
		    "localhost";
	if (c.ca_file == NULL && c.set.ca_file[0] != '\0')
		c.ca_file = xstrdup(c.set.ca_file);
	if (c.user[0] == '\0' && c.set.user[0] != '\0')
		(void)str_copy(c.user, c.set.user, sizeof(c.user));
	if (c.user[0] == '\0') {
		/* The login name, as ssh does. */
		if ((pw = getpwuid(getuid())) == NULL) {
			(void)fprintf(stderr, "securechat: who are you? use "
			    "--user\n");
			return EXIT_USAGE;
		}
		if (valid_user(pw->pw_name, c.user, sizeof(c.user)) == -1)
			return bad_user(pw->pw_name, " (the login name): use "
			    "--user");
	}
	if (parse_hostport(server_arg, c.host, sizeof(c.host), &c.port,
	    PROTO_DEFAULT_PORT) == -1) {
		(void)fprintf(stderr, "securechat: bad server '%s': expected "
		    "host[:port] or [address]:port\n", server_arg);
		return EXIT_USAGE;
	}
	/* Names are case-insensitive: one pin per server, however spelt. */
	for (ch = 0; c.host[ch] != '\0'; ch++)
		c.host[ch] = (char)tolower((unsigned char)c.host[ch]);
	(void)snprintf(c.hostport, sizeof(c.hostport),
	    strchr(c.host, ':') != NULL ? "[%s]:%u" : "%s:%u", c.host, c.port);

	if (c.home == NULL && (c.home = settings_xdg_path("XDG_DATA_HOME",
	    ".local/share", "securechat")) == NULL) {
		(void)fprintf(stderr, "securechat: cannot find a home "
		    "directory: use --home\n");
		return EXIT_USAGE;
	}
	if (make_dirs(c.home) == -1) {
		(void)fprintf(stderr, "securechat: %s: %s\n", c.home,
		    strerror(errno));
		return EXIT_ERROR;
	}
	(void)xasprintf(&c.known_file, "%s/known_servers", c.home);
	out_init(c.json, 0);
	if (optind != argc) {
		ch = forget_server(&c, argv[optind + 1]);
		free(c.home);
		free(c.known_file);
		free(c.ca_file);
		return ch;
	}

	c.interactive = !c.batch && isatty(STDIN_FILENO);
	if (c.interactive && setlocale(LC_CTYPE, "") == NULL)
		(void)setlocale(LC_CTYPE, "C");
	/* A write to a closed socket must be an error, not our death. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	c.colour = want_colour(&c);
	out_init(c.json, c.colour);
	(void)snprintf(c.prompt, sizeof(c.prompt), "%s", PROMPT);

	/* The key first: a wrong passphrase should not cost a connection. */
	if (session_init(&c) == -1) {
		/* chat_free writes the seen table to c.seen_file: first. */
		chat_free(&c);
		session_free(&c);
		free(c.home);
		free(c.known_file);
		free(c.ca_file);
		return EXIT_ERROR;
	}

	if ((c.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; sigs[i] != 0; i++)
		if ((ev_sig[i] = evsignal_new(c.base, sigs[i], signal_cb,
		    &c)) == NULL || evsignal_add(ev_sig[i], NULL) == -1)
			fatalx("cannot set up signal events");
	view_init(&c);
	/* Full screen on a terminal that can, unless asked not to. */
	if (c.interactive && !c.json && !c.line_mode &&
	    c.set.interface == IFACE_AUTO && tui_start(&c) == 0)
		c.tui = 1;
	/* On a terminal, typing (and /quit) works before the first login. */
	if (c.interactive && !c.tui)
		view_resume(&c);
	if (c.interactive)
		input_start(&c);

	if (conn_init(&c) == 0) {
		conn_start(&c);
		if (c.state != CS_DONE &&
		    event_base_dispatch(c.base) == -1)
			out_error(&c, "INTERNAL", "event loop failed");
	} else
		c.exit_status = EXIT_ERROR;

	client_free(&c);
	for (i = 0; sigs[i] != 0; i++)
		event_free(ev_sig[i]);
	event_base_free(c.base);
	return c.exit_status;
}
