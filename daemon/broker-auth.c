/*
 * broker-auth.c: who a worker's client is, decided by the broker alone.
 * A fresh nonce per link, a signature over that nonce and the channel's
 * tls-exporter, and failures slowed down and counted per address.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "broker.h"
#include "crypto.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define PENALTY_BASE_MS		250
#define PENALTY_MAX_MS		8000
#define FAILURE_FORGET_MS	(15 * 60 * 1000)
#define MAX_FAILURE_ADDRS	4096	/* bounded: the oldest is forgotten */
#define REGISTER_PAUSE_MS	1000	/* a link refused a registration */

/* Failed logins per client address, to slow down guessing. */
struct failure {
	TAILQ_ENTRY(failure)	 entry;
	char			 addr[64];
	unsigned int		 count;
	uint64_t		 last_ms;
};
TAILQ_HEAD(failurelist, failure);

static struct failurelist	 failures = TAILQ_HEAD_INITIALIZER(failures);
static unsigned int		 nfailures;

static struct failure *
failure_find(const char *addr, int create)
{
	struct failure	*fl, *next;
	uint64_t	 now = now_ms();

	/* glibc's queue.h has no TAILQ_FOREACH_SAFE. */
	for (fl = TAILQ_FIRST(&failures); fl != NULL; fl = next) {
		next = TAILQ_NEXT(fl, entry);
		if (now - fl->last_ms > FAILURE_FORGET_MS) {
			TAILQ_REMOVE(&failures, fl, entry);
			free(fl);
			nfailures--;
			continue;
		}
		if (strcmp(fl->addr, addr) == 0)
			return fl;
	}
	if (!create)
		return NULL;
	if (nfailures >= MAX_FAILURE_ADDRS) {
		fl = TAILQ_FIRST(&failures);
		TAILQ_REMOVE(&failures, fl, entry);
		free(fl);
		nfailures--;
	}
	fl = xcalloc(1, sizeof(*fl));
	(void)str_copy(fl->addr, addr, sizeof(fl->addr));
	TAILQ_INSERT_TAIL(&failures, fl, entry);
	nfailures++;
	return fl;
}

static void
penalty_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct link	*l = arg;

	l->state = LINK_CHALLENGED;	/* so the error goes out */
	link_error(l, l->penalty_code, l->penalty_text);
}

/*
 * A failed login: count it against the address and answer only after a
 * delay that doubles with each failure, so guessing is slow.
 */
static void
login_failed(struct link *l, const char *name, uint16_t code, const char *text)
{
	struct failure	*fl = failure_find(l->addr, 1);
	struct timeval	 tv;
	uint64_t	 delay;

	fl->count++;
	fl->last_ms = now_ms();
	br.failed_logins++;
	delay = (uint64_t)PENALTY_BASE_MS << (fl->count > 6 ? 6 : fl->count - 1);
	if (delay > PENALTY_MAX_MS)
		delay = PENALTY_MAX_MS;
	log_security("failed login for '%s' from %s: %s (%u failures from "
	    "this address)", name, l->addr, proto_err_name(code), fl->count);
	l->state = LINK_PENALTY;
	l->penalty_code = code;
	(void)str_copy(l->penalty_text, text, sizeof(l->penalty_text));
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)((delay % 1000) * 1000);
	if ((l->penalty_ev = evtimer_new(br.base, penalty_cb, l)) == NULL ||
	    evtimer_add(l->penalty_ev, &tv) == -1)
		fatalx("penalty timer");
}

void
auth_link_gone(struct link *l)
{
	if (l->penalty_ev != NULL) {
		event_free(l->penalty_ev);
		l->penalty_ev = NULL;
	}
}

/* The worker's TLS facts: keep the exporter, answer with a fresh nonce. */
void
auth_session(struct link *l, const struct frame *f)
{
	struct frame_buf	 b;
	const uint8_t		*exp;
	size_t			 len;

	if (frame_get_bytes(f, F_EXPORTER, &exp, &len) == -1 ||
	    len != EXPORTER_LEN) {
		link_error(l, ERR_PROTOCOL, "bad session facts");
		return;
	}
	memcpy(l->exporter, exp, EXPORTER_LEN);
	if (crypto_random(l->nonce, sizeof(l->nonce)) == -1)
		fatalx("crypto_random");
	l->state = LINK_CHALLENGED;
	frame_begin(&b, IMSG_CHALLENGE, br.max_frame);
	frame_put_bytes(&b, F_NONCE, l->nonce, sizeof(l->nonce));
	/* Which database: a client resets its seen marks when it changes. */
	frame_put_bytes(&b, F_EPOCH, store_epoch(br.store), EPOCH_LEN);
	link_send_buf(l, &b);
}

/* "securechat login v1" || nonce || tls-exporter || name, by sign_pub. */
static int
login_sig_ok(const struct link *l, const char *name, const uint8_t *sign_pub,
    const struct frame *f)
{
	struct crypto_part	 parts[4];
	const uint8_t		*sig;
	size_t			 len;

	if (frame_get_bytes(f, F_SIGNATURE, &sig, &len) == -1 || len != SIG_LEN)
		return 0;
	parts[0].p = LOGIN_CONTEXT;
	parts[0].len = strlen(LOGIN_CONTEXT);
	parts[1].p = l->nonce;
	parts[1].len = NONCE_LEN;
	parts[2].p = l->exporter;
	parts[2].len = EXPORTER_LEN;
	parts[3].p = name;
	parts[3].len = strlen(name);
	return crypto_ed25519_verify_parts(sign_pub, parts, 4, sig) == 0;
}

/* The account is not there after all: the session ends. */
static void
account_lost(struct link *l)
{
	link_error(l, ERR_INTERNAL, "the server could not read or store "
	    "your account (its storage failed): try again later");
}

/*
 * The account could not be read or written: this login fails, with an
 * error that ends the session, and the broker goes on.
 */
static void
storage_failed(struct link *l, const char *what)
{
	req_fail_quiet(what);
	account_lost(l);
}

/*
 * A registration that was not stored after all (its commit failed): the
 * link, bound to a user that does not exist, is unbound and ended.  It
 * is undone while another request, or none, is under way: that request
 * has not failed, and still answers.
 */
void
auth_unbind(struct link *l)
{
	chat_link_gone(l);
	if (l->state != LINK_DEAD)
		account_lost(l);
}

/* Bind the link to the user, for good, and tell the client after commit. */
static void
logged_in(struct link *l, const struct store_user *u, int registered)
{
	struct frame_buf	 b;
	struct failure		*fl;

	/* One use per nonce: a replayed signature finds nothing to match. */
	OPENSSL_cleanse(l->nonce, sizeof(l->nonce));
	l->state = LINK_AUTHED;
	if (chat_bind(l, u) == -1) {
		chat_link_gone(l);
		storage_failed(l, "store_user_rooms");
		return;
	}
	if ((fl = failure_find(l->addr, 0)) != NULL)
		fl->count = 0;
	frame_begin(&b, MSG_LOGGED_IN, br.max_frame);
	frame_put_str(&b, F_NAME, u->name);
	frame_put_u8(&b, F_REGISTERED, (uint8_t)registered);
	/* A registration is only one once committed; a login stands. */
	if (registered) {
		(void)after_frame_or(l, &b, NULL);
		undo_push(UNDO_BOUND, 0, u->id, l->session_id);
	} else
		after_frame(l, &b);
	after_pump(l);
	l->authed_ms = now_ms();
	br.logins++;
	if (registered)
		br.registrations++;
	/*
	 * Statistics: a login does not fail for them (quiet), but if they
	 * cannot be written a registration in the same request is undone.
	 */
	if (tx_begin() == -1 ||
	    store_user_login(br.store, u->id, wall_ms()) == -1)
		req_fail_quiet("store_user_login");
	log_info("login: %s from %s%s (session %llu, worker %ld)", u->name,
	    l->addr, registered ? ", registered" : "",
	    (unsigned long long)l->session_id, (long)l->pid);
}

/* F_NAME, folded; -1 (and the fatal BAD_NAME sent) if it is not valid. */
int
auth_get_name(struct link *l, const struct frame *f,
    char name[NAME_MAX_LEN + 1])
{
	if (frame_get_str(f, F_NAME, name, NAME_MAX_LEN + 1) == -1 ||
	    proto_fold_user(name) == -1) {
		link_error(l, ERR_BAD_NAME, "user names are 1 to 32 of "
		    "a-z 0-9 _ -");
		return -1;
	}
	return 0;
}

void
auth_login(struct link *l, const struct frame *f)
{
	struct store_user	 u;
	char			 name[NAME_MAX_LEN + 1], text[160];
	int			 rv;

	if (auth_get_name(l, f, name) == -1)
		return;
	if ((rv = store_user_get(br.store, name, &u)) == -1) {
		storage_failed(l, "store_user_get");
		return;
	}
	if (rv == STORE_NOT_FOUND || u.key_reset) {
		/*
		 * Not a failure: the client registers next, same nonce.  A
		 * reset key logs nobody in: a new one must be registered.
		 */
		snprintf(text, sizeof(text), rv == STORE_NOT_FOUND ? "no user "
		    "'%s' here" : "the key of '%s' was reset: register a new "
		    "one", name);
		link_error(l, ERR_UNKNOWN_USER, text);
		l->probed = 1;
		return;
	}
	if (!login_sig_ok(l, name, u.sign_pub, f)) {
		snprintf(text, sizeof(text), "the signature does not match the "
		    "key registered for '%s'", name);
		login_failed(l, name, ERR_BAD_SIGNATURE, text);
		return;
	}
	if (u.disabled) {
		snprintf(text, sizeof(text), "the account '%s' is disabled",
		    name);
		login_failed(l, name, ERR_DISABLED, text);
		return;
	}
	logged_in(l, &u, 0);
}

static int
binding_sig_ok(const uint8_t *sign_pub, const uint8_t *dh_pub,
    const struct frame *f)
{
	struct crypto_part	 parts[2];
	const uint8_t		*sig;
	size_t			 len;

	if (frame_get_bytes(f, F_BINDING_SIG, &sig, &len) == -1 ||
	    len != SIG_LEN)
		return 0;
	parts[0].p = BINDING_CONTEXT;
	parts[0].len = strlen(BINDING_CONTEXT);
	parts[1].p = dh_pub;
	parts[1].len = KEY_LEN;
	return crypto_ed25519_verify_parts(sign_pub, parts, 2, sig) == 0;
}

/* Returns 0 if the invite (or the mode) lets this registration in. */
static int
invite_check(struct link *l, const struct frame *f, char *code, size_t codesz)
{
	code[0] = '\0';
	if (strcmp(br.registration, "closed") == 0) {
		link_error(l, ERR_REGISTRATION_CLOSED, "registration is closed "
		    "on this server");
		return -1;
	}
	if (strcmp(br.registration, "invite") != 0)
		return 0;
	if (frame_get_str(f, F_INVITE, code, codesz) == -1) {
		link_error(l, ERR_INVITE_REQUIRED, "registration needs an "
		    "invite code (--invite) from the operator");
		return -1;
	}
	return 0;
}

/*
 * A registration that replaces a reset key must show the code the
 * operator gave with the reset (F_INVITE): whoever still holds the old
 * key, a thief included, cannot take the name back.
 */
static int
reset_code_ok(struct link *l, const char *name, const struct store_user *u,
    const struct frame *f)
{
	uint8_t	 hash[CRYPTO_HASH_LEN];
	char	 code[65], text[192];

	if (frame_get_str(f, F_INVITE, code, sizeof(code)) == -1) {
		snprintf(text, sizeof(text), "the key of '%s' was reset: a new "
		    "one needs the code the operator gave (--invite)", name);
		link_error(l, ERR_INVITE_REQUIRED, text);
		return 0;
	}
	if (crypto_sha256(code, strlen(code), hash) == -1)
		fatalx("crypto_sha256");
	if (!u->has_reset_code ||
	    CRYPTO_memcmp(hash, u->reset_code, sizeof(hash)) != 0) {
		snprintf(text, sizeof(text), "not the code of the key reset "
		    "of '%s'", name);
		login_failed(l, name, ERR_INVITE_INVALID, text);
		return 0;
	}
	return 1;
}

void
auth_register(struct link *l, const struct frame *f)
{
	struct store_user	 u;
	const uint8_t		*sign_pub, *dh_pub;
	size_t			 slen, dlen;
	char			 name[NAME_MAX_LEN + 1], code[65], text[160];
	uint32_t		 wait;
	int			 rv;

	if (auth_get_name(l, f, name) == -1)
		return;
	if (frame_get_bytes(f, F_SIGN_PUB, &sign_pub, &slen) == -1 ||
	    frame_get_bytes(f, F_DH_PUB, &dh_pub, &dlen) == -1 ||
	    slen != KEY_LEN || dlen != KEY_LEN ||
	    !binding_sig_ok(sign_pub, dh_pub, f) ||
	    !login_sig_ok(l, name, sign_pub, f)) {
		login_failed(l, name, ERR_BAD_SIGNATURE, "the registration's "
		    "signatures do not verify");
		return;
	}
	if (tx_begin() == -1) {
		storage_failed(l, "begin");
		return;
	}
	if ((rv = store_user_get(br.store, name, &u)) == -1) {
		storage_failed(l, "store_user_get");
		return;
	}
	if (rv == 0 && u.key_reset && u.disabled) {
		snprintf(text, sizeof(text), "the account '%s' is disabled",
		    name);
		login_failed(l, name, ERR_DISABLED, text);
		return;
	}
	if (rv == 0 && u.key_reset) {
		/* The operator reset a lost key: this one takes its place. */
		if (!reset_code_ok(l, name, &u, f))
			return;
		if (store_key_replace(br.store, u.id, sign_pub, dh_pub) != 0) {
			storage_failed(l, "store_key_replace");
			return;
		}
		memcpy(u.sign_pub, sign_pub, KEY_LEN);
		memcpy(u.dh_pub, dh_pub, KEY_LEN);
		log_security("user %s registered a new identity key after a "
		    "reset, from %s", name, l->addr);
		logged_in(l, &u, 1);
		return;
	}
	if (rv == 0) {
		snprintf(text, sizeof(text), "the name '%s' is taken", name);
		link_error(l, ERR_NAME_TAKEN, text);
		return;
	}
	if (invite_check(l, f, code, sizeof(code)) == -1)
		return;
	/* Check before writing: other links' writes share this transaction. */
	if (code[0] != '\0' && (rv = store_invite_check(br.store, code)) != 0) {
		if (rv == -1) {
			storage_failed(l, "store_invite_check");
			return;
		}
		if (rv == STORE_USED)
			link_error(l, ERR_INVITE_USED, "this invite code has "
			    "already been used");
		else if (rv == STORE_EXPIRED)
			link_error(l, ERR_INVITE_INVALID, "this invite code "
			    "has expired");
		else
			link_error(l, ERR_INVITE_INVALID, "no such invite code");
		return;
	}
	/*
	 * Last, so that only a registration that would succeed counts.  The
	 * link is then not read for a while, so that one connection cannot
	 * make the broker check signatures in a loop; not for the whole
	 * wait, as an unread link does not see its worker go.
	 */
	if ((wait = rate_prefix_take(RATE_REGISTER, l->addr)) != 0) {
		rate_refused(l, "registration", wait);
		link_refuse(l, ERR_RATE_LIMITED, "too many new accounts from "
		    "your network: try later", 0, NULL, NULL, wait);
		link_pause(l, wait < REGISTER_PAUSE_MS ? wait :
		    REGISTER_PAUSE_MS);
		return;
	}
	memset(&u, 0, sizeof(u));
	if (store_user_add(br.store, name, sign_pub, dh_pub, &u.id) != 0 ||
	    (code[0] != '\0' && store_invite_use(br.store, code, u.id) != 0)) {
		storage_failed(l, "store_user_add");
		return;
	}
	(void)str_copy(u.name, name, sizeof(u.name));
	memcpy(u.sign_pub, sign_pub, KEY_LEN);
	memcpy(u.dh_pub, dh_pub, KEY_LEN);
	logged_in(l, &u, 1);
}
