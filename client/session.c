/*
 * session.c: who we are and staying logged in: the identity key and its
 * passphrase, LOGIN (or REGISTER on first use), and reconnecting with
 * backoff when the connection is lost or the server restarts.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <event2/event.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "client.h"
#include "frame.h"
#include "identity.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "xmalloc.h"

#define KEY_MAGIC_SCRYPT	"securechat-identity v1 scrypt"

/*
 * Read one line from the terminal with echo off; -1 at EOF or error.
 * Echo goes off, and what was typed before is discarded, before the
 * prompt shows: what is typed once it shows is never thrown away.
 */
static int
read_secret(const char *prompt, char *out, size_t outsz)
{
	struct termios	 old, quiet;
	int		 restore = 0, ch;
	size_t		 n = 0;

	if (tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0)
			restore = 1;
	}
	(void)fputs(prompt, stderr);
	(void)fflush(stderr);
	/* stdio would keep what follows the line in its buffer; read bytes. */
	for (;;) {
		unsigned char	 b;
		ssize_t		 r = read(STDIN_FILENO, &b, 1);

		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			ch = EOF;
			break;
		}
		ch = b;
		if (ch == '\n' || ch == '\r')
			break;
		if (n + 1 < outsz)
			out[n++] = (char)ch;
	}
	out[n] = '\0';
	if (restore)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	(void)fputc('\n', stderr);
	if (ch == EOF && n == 0)
		return -1;
	return 0;
}

/* Does the key file exist, and is it protected by a passphrase? */
static int
key_state(const char *file, int *exists, int *protected)
{
	FILE	*fp;
	char	 line[128];

	*exists = *protected = 0;
	if ((fp = fopen(file, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	*exists = 1;
	if (fgets(line, sizeof(line), fp) != NULL &&
	    strncmp(line, KEY_MAGIC_SCRYPT, strlen(KEY_MAGIC_SCRYPT)) == 0)
		*protected = 1;
	(void)fclose(fp);
	return 0;
}

/*
 * The passphrase: from --passphrase-file, else asked on the terminal when
 * one is needed (a protected key) or may be chosen (a new key).  A script
 * cannot answer a prompt, so a protected key in batch mode needs the file.
 */
static int
get_passphrase(struct client *c, char *pass, size_t passsz, int *have)
{
	char	 again[CLIENT_PASS_MAX], err[512], prompt[128];
	int	 exists, protected, i;

	*have = 0;
	if (key_state(c->key_file, &exists, &protected) == -1) {
		out_error(c, "IDENTITY", "%s: %s", c->key_file,
		    strerror(errno));
		return -1;
	}
	/* A plain key needs none: a passphrase file is simply not read. */
	if (exists && !protected)
		return 0;
	if (c->passphrase_file != NULL) {
		if (identity_read_passphrase_file(c->passphrase_file, pass,
		    passsz, err, sizeof(err)) == -1) {
			out_error(c, "PASSPHRASE", "%s", err);
			return -1;
		}
		*have = pass[0] != '\0';
		return 0;
	}
	if (!c->interactive) {
		if (!protected)
			return 0;	/* a new key for a script: no passphrase */
		out_error(c, "PASSPHRASE", "%s is protected by a passphrase: "
		    "use --passphrase-file in --batch mode", c->key_file);
		return -1;
	}
	(void)snprintf(prompt, sizeof(prompt), "Passphrase for %s's key "
	    "(empty for none): ", c->user);
	for (i = 0; i < 3; i++) {
		if (read_secret(prompt, pass, passsz) == -1) {
			out_error(c, "PASSPHRASE", "no passphrase given");
			return -1;
		}
		if (exists)
			break;
		if (read_secret("Again: ", again, sizeof(again)) == -1) {
			OPENSSL_cleanse(pass, passsz);
			out_error(c, "PASSPHRASE", "no passphrase given");
			return -1;
		}
		if (strcmp(pass, again) == 0)
			break;
		OPENSSL_cleanse(pass, passsz);
		(void)fprintf(stderr, "securechat: the passphrases differ; "
		    "try again\n");
	}
	OPENSSL_cleanse(again, sizeof(again));
	if (i == 3) {
		out_error(c, "PASSPHRASE", "the passphrases differ");
		return -1;
	}
	*have = pass[0] != '\0';
	return 0;
}

/* Load or create the identity, and the record of what was shown. */
int
session_init(struct client *c)
{
	char	 pass[CLIENT_PASS_MAX], err[512];
	int	 have, created = 0, r;

	(void)xasprintf(&c->key_file, "%s/%s.key", c->home, c->user);
	/* One file per account and server: seqs are the server's. */
	(void)xasprintf(&c->seen_file, "%s/%s@%s_%u.seen", c->home, c->user,
	    c->host, c->port);
	outbox_init(&c->outbox);

	memset(pass, 0, sizeof(pass));
	if (get_passphrase(c, pass, sizeof(pass), &have) == -1)
		return -1;
	c->id = xcalloc(1, sizeof(*c->id));
	r = identity_load_or_create(c->home, c->user, have ? pass : NULL,
	    c->id, &created, err, sizeof(err));
	OPENSSL_cleanse(pass, sizeof(pass));
	if (r == -1) {
		out_error(c, "IDENTITY", "%s", err);
		return -1;
	}
	if (created)
		out_key_created(c, c->key_file);
	if (seen_load(&c->seen, c->seen_file, err, sizeof(err)) == -1) {
		out_error(c, "SEEN", "%s", err);
		return -1;
	}
	if (c->seen.skipped > 0)
		out_notice(c, "seen_skipped", "%s: %zu lines out of bounds "
		    "(a seq above %llu, or more than %d rooms) ignored",
		    c->seen_file, c->seen.skipped,
		    (unsigned long long)SEEN_SEQ_MAX, SEEN_MAX_ENTRIES);
	return e2ec_init(c);
}

void
session_free(struct client *c)
{
	if (c->ev_reconnect != NULL)
		event_free(c->ev_reconnect);
	c->ev_reconnect = NULL;
	e2ec_free(c);
	if (c->id != NULL) {
		identity_wipe(c->id);
		OPENSSL_cleanse(c->id, sizeof(*c->id));
		free(c->id);
		c->id = NULL;
	}
	OPENSSL_cleanse(c->nonce, sizeof(c->nonce));
	free(c->key_file);
	free(c->seen_file);
	free(c->invite);
	free(c->passphrase_file);
	/* Whatever runs after must find nothing, not freed memory. */
	c->key_file = c->seen_file = c->invite = c->passphrase_file = NULL;
}

/*
 * The signature covers the broker's nonce and this TLS session's exporter,
 * so it proves the key holder is at this end of this connection.
 */
static int
login_sig(struct client *c, uint8_t sig[SIG_LEN])
{
	uint8_t	 exporter[EXPORTER_LEN];
	SSL	*ssl;
	int	 r = -1;

	if ((ssl = conn_ssl(c)) != NULL &&
	    SSL_export_keying_material(ssl, exporter, sizeof(exporter),
	    EXPORTER_LABEL, strlen(EXPORTER_LABEL), NULL, 0, 0) == 1 &&
	    identity_login_sig(c->id, c->nonce, exporter, sig) == 0)
		r = 0;
	OPENSSL_cleanse(exporter, sizeof(exporter));
	return r;
}

void
session_welcome(struct client *c, const uint8_t nonce[NONCE_LEN])
{
	struct frame_buf	 b;
	uint8_t			 sig[SIG_LEN];

	memcpy(c->nonce, nonce, NONCE_LEN);
	c->registering = 0;
	if (login_sig(c, sig) == -1) {
		c->no_reconnect = 1;
		out_error(c, "INTERNAL", "cannot sign the login challenge");
		client_exit(c, EXIT_ERROR);
		return;
	}
	c->state = CS_LOGIN;
	frame_begin(&b, MSG_LOGIN, c->max_frame);
	frame_put_str(&b, F_NAME, c->user);
	frame_put_bytes(&b, F_SIGNATURE, sig, sizeof(sig));
	conn_send(c, &b);
	OPENSSL_cleanse(sig, sizeof(sig));
}

/* UNKNOWN_USER: the first connection of a new name registers it. */
static void
send_register(struct client *c)
{
	struct frame_buf	 b;
	uint8_t			 sig[SIG_LEN], bind[SIG_LEN];

	if (login_sig(c, sig) == -1 ||
	    identity_binding_sig(c->id, bind) == -1) {
		c->no_reconnect = 1;
		out_error(c, "INTERNAL", "cannot sign the registration");
		client_exit(c, EXIT_ERROR);
		return;
	}
	c->registering = 1;
	frame_begin(&b, MSG_REGISTER, c->max_frame);
	frame_put_str(&b, F_NAME, c->user);
	frame_put_bytes(&b, F_SIGN_PUB, c->id->sign_pub, KEY_LEN);
	frame_put_bytes(&b, F_DH_PUB, c->id->dh_pub, KEY_LEN);
	frame_put_bytes(&b, F_BINDING_SIG, bind, sizeof(bind));
	frame_put_bytes(&b, F_SIGNATURE, sig, sizeof(sig));
	if (c->invite != NULL)
		frame_put_str(&b, F_INVITE, c->invite);
	conn_send(c, &b);
	OPENSSL_cleanse(sig, sizeof(sig));
}

/* LOGGED_IN: the only message the server may send us while logging in. */
void
session_frame(struct client *c, const struct frame *f)
{
	char	 name[NAME_MAX_LEN + 1];
	uint8_t	 registered = 0;
	int	 again;

	if (f->type != MSG_LOGGED_IN ||
	    frame_get_str(f, F_NAME, name, sizeof(name)) == -1 ||
	    strcmp(name, c->user) != 0 ||
	    frame_get_u8(f, F_REGISTERED, &registered) == -1) {
		c->no_reconnect = 1;
		out_error(c, "PROTOCOL", "protocol error from %s: unexpected "
		    "%s while logging in", c->hostport,
		    proto_msg_name(f->type));
		conn_close(c);
		return;
	}
	OPENSSL_cleanse(c->nonce, sizeof(c->nonce));
	again = c->logged_in_once;
	c->logged_in_once = 1;
	c->attempt = 0;
	c->state = CS_READY;
	c->since_ms = wall_ms();
	c->halted[0] = '\0';
	if (again)
		c->reconnects++;
	keepalive_start(c);
	if (!again || c->json)
		out_logged_in(c, registered != 0);
	if (again)
		out_reconnected(c);
	chat_logged_in(c);
	conn_resend_pings(c);
	if (c->input_on)
		input_resume(c);
	else
		input_start(c);
	client_progress(c);
	client_check_done(c);
}

/*
 * A server ERROR.  Returns 1 when it is handled here and the connection
 * goes on (or will be made again); 0 when it ends the session.
 */
int
session_error(struct client *c, const struct frame *f)
{
	uint16_t	 code = 0;
	char		 text[1024];

	if (frame_get_u16(f, F_CODE, &code) == -1)
		return 0;
	if (frame_get_str(f, F_TEXT, text, sizeof(text)) == -1)
		(void)snprintf(text, sizeof(text), "(no text)");
	if (code == ERR_UNKNOWN_USER && c->state == CS_LOGIN &&
	    !c->registering) {
		send_register(c);
		return 1;
	}
	/*
	 * TIMEOUT after login means we were stopped or suspended for longer
	 * than the server waits: nothing is wrong with the session itself.
	 */
	if (code == ERR_RESTARTING || code == ERR_SHUTDOWN ||
	    (code == ERR_TIMEOUT && c->logged_in_once)) {
		/* The server closes next; be ready to come back. */
		c->server_error = 0;
		c->restart_pending = 1;
		(void)snprintf(c->restart_why, sizeof(c->restart_why),
		    "server %s: %.200s", proto_err_name(code), text);
		return 1;
	}
	if (!proto_err_is_fatal(code) && c->state == CS_READY) {
		chat_error(c, f, code, text);
		return 1;
	}
	/* Account errors, VERSION and the like: trying again cannot help. */
	c->no_reconnect = 1;
	return 0;
}

static void
reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;

	conn_start(c);
}

/* May this failure be followed by another attempt? */
int
session_can_reconnect(struct client *c)
{
	if (c->no_reconnect || c->state == CS_CLOSING || c->state == CS_DONE)
		return 0;
	/*
	 * A script's first connection that fails is reported, not retried
	 * forever; on a terminal the client never leaves on its own.
	 */
	return c->logged_in_once || c->restart_pending || c->interactive;
}

/*
 * Interactive, and trying again cannot help (the server's key changed,
 * the account was refused): stay, say why, and wait for /reconnect.
 */
void
session_halt(struct client *c, const char *why)
{
	conn_reset(c);
	if (c->ev_reconnect != NULL)
		(void)event_del(c->ev_reconnect);
	c->state = CS_IDLE;
	c->since_ms = wall_ms();
	(void)snprintf(c->halted, sizeof(c->halted), "%s", why != NULL &&
	    why[0] != '\0' ? why : "connection failed");
	out_notice(c, "halted", "not connected: %s; /reconnect to try again, "
	    "/quit to leave", c->halted);
	if (!c->input_on)
		input_start(c);
}

/* /reconnect: now, whatever the state; a live connection is dropped. */
void
session_reconnect(struct client *c)
{
	switch (c->state) {
	case CS_READY:
		conn_drop(c, "RECONNECT", "reconnecting, as asked");
		return;
	case CS_CLOSING:
	case CS_DONE:
		return;
	default:
		break;
	}
	conn_reset(c);
	if (c->ev_reconnect != NULL)
		(void)event_del(c->ev_reconnect);
	c->no_reconnect = 0;
	c->halted[0] = '\0';
	c->attempt = 0;
	conn_start(c);
}

/* For /status and the status line. */
const char *
session_state(const struct client *c)
{
	switch (c->state) {
	case CS_READY:
		return "connected";
	case CS_CONNECTING:
	case CS_HANDSHAKE:
	case CS_HELLO:
	case CS_LOGIN:
		return c->logged_in_once ? "reconnecting" : "connecting";
	case CS_BACKOFF:
		return "reconnecting";
	case CS_CLOSING:
	case CS_DONE:
		return "closing";
	case CS_IDLE:
		return "stopped";
	}
	return "unknown";
}

/*
 * The connection is gone: wait, then connect again.  The delay doubles
 * from 250 ms to 10 s; the jitter keeps many clients from coming back to
 * a restarted server all in the same instant.
 */
void
session_lost(struct client *c, const char *why)
{
	struct timeval	 tv;
	uint32_t	 base, delay;
	unsigned	 i;

	chat_delivered(c, 1);	/* keeps the .seen file current */
	conn_reset(c);
	if (c->state == CS_READY)
		c->since_ms = wall_ms();
	c->state = CS_BACKOFF;
	c->restart_pending = 0;
	c->held = 0;
	if (c->ev_hold != NULL)
		(void)event_del(c->ev_hold);
	if (!c->interactive)
		input_pause(c);
	c->attempt++;
	base = CLIENT_BACKOFF_MIN_MS;
	for (i = 1; i < c->attempt && base < CLIENT_BACKOFF_MAX_MS; i++)
		base *= 2;
	if (base > CLIENT_BACKOFF_MAX_MS)
		base = CLIENT_BACKOFF_MAX_MS;
	delay = base / 2 + random_between(0, base / 2);
	out_reconnecting(c, c->attempt, delay, why);
	if (c->ev_reconnect == NULL &&
	    (c->ev_reconnect = evtimer_new(c->base, reconnect_cb, c)) == NULL)
		fatalx("evtimer_new");
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	if (evtimer_add(c->ev_reconnect, &tv) == -1)
		fatalx("evtimer_add");
}
