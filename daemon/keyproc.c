/*
 * keyproc.c: the key process.  The only process besides the master that
 * holds the TLS private key.  Sandboxed like a worker (chroot, the
 * unprivileged user, seccomp), it gets the key from the master and one
 * link per worker, and answers each link's request to sign the TLS 1.3
 * CertificateVerify of that worker's one handshake.  It signs nothing
 * else and nothing twice on a link, so a compromised worker gains one
 * signature for one handshake of its choosing, never the key.  As
 * OpenSMTPD's ca process and OpenSSH's monitor do.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "frame.h"
#include "ipc.h"
#include "keyproc.h"
#include "log.h"
#include "sandbox.h"
#include "securechatd.h"
#include "tls.h"
#include "util.h"
#include "xmalloc.h"

#define KP_MASTER_MAX	(80 * 1024)	/* a key of up to 64 KiB, settings */
#define KP_LINK_MAX	(TBS_MAX + 256)

struct kp_link {
	TAILQ_ENTRY(kp_link)	 entry;
	int			 fd;
	struct event		*ev;
	EVP_PKEY		*key;	/* the key when it was attached */
	uint64_t		 session_id;
	char			 addr[64];
	unsigned int		 signs;
};
TAILQ_HEAD(kp_links, kp_link);

static struct {
	struct event_base	*base;
	struct event		*master_ev;
	struct event		*sigterm_ev;
	EVP_PKEY		*key;
	char			 user[64];
	char			 chroot[PATH_MAX];
	uint32_t		 max_clients;
	struct kp_links		 links;
	unsigned int		 nlinks;
	uint8_t			 buf[KP_MASTER_MAX];
} kp;

static const char *const kp_digests[] = { "SHA2-256", "SHA2-384", "SHA2-512" };

int
keyproc_tbs_ok(const uint8_t *msg, size_t len)
{
	size_t	 ctxlen = sizeof(KEYPROC_CV_CONTEXT) - 1, head, i;

	head = KEYPROC_CV_PAD + ctxlen + 1;
	/* The transcript hash of TLS_AES_128_GCM_SHA256 or _256_GCM_SHA384. */
	if (len != head + 32 && len != head + 48)
		return 0;
	for (i = 0; i < KEYPROC_CV_PAD; i++)
		if (msg[i] != 0x20)
			return 0;
	if (memcmp(msg + KEYPROC_CV_PAD, KEYPROC_CV_CONTEXT, ctxlen) != 0 ||
	    msg[KEYPROC_CV_PAD + ctxlen] != 0x00)
		return 0;
	return 1;
}

static int
digest_allowed(const EVP_MD *md)
{
	size_t	 i;

	for (i = 0; i < sizeof(kp_digests) / sizeof(kp_digests[0]); i++)
		if (EVP_MD_is_a(md, kp_digests[i]))
			return 1;
	return 0;
}

int
keyproc_sign(EVP_PKEY *key, const char *mdname, const uint8_t *msg,
    size_t len, uint8_t *sig, size_t *siglen, const char **why)
{
	EVP_MD_CTX	*mctx = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_MD		*md = NULL;
	size_t		 n = *siglen;
	int		 eddsa, rsa, rv = -1;

	if (!keyproc_tbs_ok(msg, len)) {
		*why = "not a TLS 1.3 server CertificateVerify";
		return -1;
	}
	eddsa = EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448");
	rsa = EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS");
	if (eddsa && mdname[0] != '\0') {
		*why = "a digest for EdDSA";
		return -1;
	}
	if (!eddsa && ((md = EVP_MD_fetch(NULL, mdname, NULL)) == NULL ||
	    !digest_allowed(md))) {
		*why = "a digest TLS 1.3 does not sign with";
		goto out;
	}
	*why = "signing failed";
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(mctx, &pctx, md == NULL ? NULL :
	    EVP_MD_get0_name(md), NULL, NULL, key, NULL) != 1)
		goto out;
	/* RFC 8446 4.2.3: RSA signs with PSS, salt as long as the digest. */
	if (rsa && (EVP_PKEY_CTX_set_rsa_padding(pctx,
	    RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	if (EVP_DigestSign(mctx, sig, &n, msg, len) != 1)
		goto out;
	*siglen = n;
	rv = 0;
 out:
	EVP_MD_CTX_free(mctx);
	EVP_MD_free(md);
	return rv;
}

int
keyproc_request(EVP_PKEY *key, unsigned int *signs, const struct frame *f,
    uint8_t *sig, size_t *siglen, const char **why)
{
	const uint8_t	*tbs;
	char		 md[40];
	size_t		 tbslen;

	if (frame_validate(f, proto_keylink_spec(f->type)) != FRAME_OK ||
	    f->type != IMSG_SIGN) {
		*why = "a malformed request";
		return -1;
	}
	if (*signs >= KEYPROC_SIGNS_PER_LINK) {
		*why = "a signature beyond the one a handshake needs";
		return -1;
	}
	if (frame_get_str(f, F_MD_NAME, md, sizeof(md)) == -1 ||
	    frame_get_bytes(f, F_TBS, &tbs, &tbslen) == -1) {
		*why = "an incomplete request";
		return -1;
	}
	if (keyproc_sign(key, md, tbs, tbslen, sig, siglen, why) == -1)
		return -1;
	(*signs)++;
	return 0;
}

/*
 * Sign and verify a CertificateVerify of our own with every digest the
 * key may be asked for: the key works, and everything signing needs is
 * loaded before the sandbox closes the files.
 */
static int
self_test(EVP_PKEY *key, char *err, size_t errsz)
{
	uint8_t		 msg[KEYPROC_CV_PAD + sizeof(KEYPROC_CV_CONTEXT) + 32];
	uint8_t		 sig[TLS_SIG_MAX];
	const char	*why;
	size_t		 i, siglen, n;
	int		 eddsa;

	memset(msg, 0x20, KEYPROC_CV_PAD);
	memcpy(msg + KEYPROC_CV_PAD, KEYPROC_CV_CONTEXT,
	    sizeof(KEYPROC_CV_CONTEXT));
	memset(msg + sizeof(msg) - 32, 0x5a, 32);
	eddsa = EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448");
	n = eddsa ? 1 : sizeof(kp_digests) / sizeof(kp_digests[0]);
	for (i = 0; i < n; i++) {
		siglen = sizeof(sig);
		if (keyproc_sign(key, eddsa ? "" : kp_digests[i], msg,
		    sizeof(msg), sig, &siglen, &why) == -1) {
			(void)snprintf(err, errsz, "%s key, %s: %s",
			    EVP_PKEY_get0_type_name(key),
			    eddsa ? "EdDSA" : kp_digests[i], why);
			return -1;
		}
	}
	return 0;
}

static void
link_free(struct kp_link *l)
{
	TAILQ_REMOVE(&kp.links, l, entry);
	kp.nlinks--;
	event_free(l->ev);
	(void)close(l->fd);
	EVP_PKEY_free(l->key);
	free(l);
}

/* A link that broke the rules is a security event; a closed one is not. */
static void
link_refuse(struct kp_link *l, const char *why)
{
	log_security("worker session %llu (%s): key process refused: %s",
	    (unsigned long long)l->session_id, l->addr, why);
	link_free(l);
}

static void
link_reply(struct kp_link *l, const uint8_t *sig, size_t siglen)
{
	struct frame_buf	 b;

	frame_begin(&b, IMSG_SIGNATURE, KP_LINK_MAX + TLS_SIG_MAX);
	frame_put_bytes(&b, F_TLS_SIG, sig, siglen);
	if (frame_finish(&b) == -1 || ipc_send(l->fd, &b, -1) == -1) {
		log_info("worker session %llu (%s): cannot answer: %s",
		    (unsigned long long)l->session_id, l->addr,
		    strerror(errno));
		frame_buf_free(&b);
		link_free(l);
		return;
	}
	frame_buf_free(&b);
}

static void
link_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct kp_link	*l = arg;
	struct frame	 f;
	uint8_t		 buf[KP_LINK_MAX], sig[TLS_SIG_MAX];
	const char	*why;
	size_t		 siglen = sizeof(sig);
	ssize_t		 n;
	int		 rfd;

	n = ipc_recv(fd, buf, sizeof(buf), &f, &rfd);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (rfd != -1) {
		(void)close(rfd);
		link_refuse(l, "a descriptor from a worker");
		return;
	}
	if (n == 0) {
		log_debug("worker session %llu (%s): key link closed after "
		    "%u signature(s)", (unsigned long long)l->session_id,
		    l->addr, l->signs);
		link_free(l);
		return;
	}
	if (n == -1) {
		link_refuse(l, "a malformed request");
		return;
	}
	if (keyproc_request(l->key, &l->signs, &f, sig, &siglen, &why) == -1) {
		link_refuse(l, why);
		return;
	}
	log_debug("worker session %llu (%s): signed its CertificateVerify",
	    (unsigned long long)l->session_id, l->addr);
	link_reply(l, sig, siglen);
}

static void
attach(const struct frame *f, int fd)
{
	struct kp_link	*l;

	if (fd == -1)
		fatalx("KEY_ATTACH without a descriptor");
	if (kp.key == NULL)
		fatalx("KEY_ATTACH before KEY_INIT");
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	if (frame_get_u64(f, F_SESSION_ID, &l->session_id) == -1 ||
	    frame_get_str(f, F_ADDR, l->addr, sizeof(l->addr)) == -1)
		fatalx("incomplete KEY_ATTACH");
	if (fd_set_nonblock(fd) == -1)
		fatal("key link nonblock");
	if ((l->ev = event_new(kp.base, fd, EV_READ | EV_PERSIST,
	    link_read_cb, l)) == NULL || event_add(l->ev, NULL) == -1)
		fatalx("key link event");
	if (EVP_PKEY_up_ref(kp.key) != 1)
		fatalx("EVP_PKEY_up_ref");
	l->key = kp.key;
	TAILQ_INSERT_TAIL(&kp.links, l, entry);
	kp.nlinks++;
}

/* The key and settings; again on reload, when only the key may change. */
static void
settings(const struct frame *f, size_t len)
{
	const uint8_t	*pem;
	size_t		 pem_len;
	uint8_t		 level;
	EVP_PKEY	*key;
	char		 err[512];
	int		 first = kp.key == NULL;

	if (frame_get_bytes(f, F_KEY_PEM, &pem, &pem_len) == -1 ||
	    frame_get_u8(f, F_LOG_LEVEL, &level) == -1 ||
	    (first && (frame_get_str(f, F_USER_NAME, kp.user,
	    sizeof(kp.user)) == -1 || frame_get_str(f, F_CHROOT, kp.chroot,
	    sizeof(kp.chroot)) == -1 || frame_get_u32(f, F_MAX_CLIENTS,
	    &kp.max_clients) == -1)))
		fatalx("incomplete KEY_INIT");
	log_setlevel(level);
	key = tls_key_read(pem, pem_len, err, sizeof(err));
	OPENSSL_cleanse(kp.buf, len);
	if (key == NULL)
		fatalx("key: %s", err);
	if (self_test(key, err, sizeof(err)) == -1)
		fatalx("key self-test: %s", err);
	EVP_PKEY_free(kp.key);
	kp.key = key;
	log_info("%s key loaded%s", EVP_PKEY_get0_type_name(key),
	    first ? "" : " (reload)");
}

static void __attribute__((noreturn))
keyproc_exit(int code)
{
	struct kp_link	*l;

	while ((l = TAILQ_FIRST(&kp.links)) != NULL)
		link_free(l);
	EVP_PKEY_free(kp.key);
	_exit(code);
}

static void
master_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct frame	 f;
	ssize_t		 n;
	int		 rfd;

	n = ipc_recv(KEYPROC_FD_MASTER, kp.buf, sizeof(kp.buf), &f, &rfd);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0) {
		log_debug("the master is gone: exiting");
		keyproc_exit(0);
	}
	if (n == -1)
		fatal("master channel");
	switch (f.type) {
	case IMSG_KEY_INIT:
		if (rfd != -1)
			fatalx("KEY_INIT with a descriptor");
		settings(&f, (size_t)n);
		break;
	case IMSG_KEY_ATTACH:
		attach(&f, rfd);
		break;
	case IMSG_CHILD_PING:
		/* Alive and reading (a full channel: the master asks again). */
		if (rfd != -1 || (ipc_pong(KEYPROC_FD_MASTER, &f,
		    IMSG_CHILD_PONG) == -1 && errno != EAGAIN))
			fatal("answer the master's ping");
		break;
	default:
		fatalx("unexpected message %s from the master",
		    proto_msg_name(f.type));
	}
}

static void
sigterm_cb(evutil_socket_t sig, short ev, void *arg)
{
	log_debug("stopping on signal %d", (int)sig);
	keyproc_exit(0);
}

static void
read_init(void)
{
	struct frame	 f;
	ssize_t		 n;
	int		 fd;

	if ((n = ipc_recv(KEYPROC_FD_MASTER, kp.buf, sizeof(kp.buf), &f,
	    &fd)) <= 0 || f.type != IMSG_KEY_INIT || fd != -1)
		fatalx("no key from the master");
	settings(&f, (size_t)n);
}

static void
enter_sandbox(void)
{
	char	 err[512];
	int	 rv;

	rv = privdrop(kp.user, kp.chroot, err, sizeof(err));
	if (rv == PRIVDROP_FAILED)
		fatalx("%s", err);
	if (rv == PRIVDROP_NOT_ROOT)
		log_warnx("WARNING: key process runs as uid %ld without "
		    "chroot: the daemon was not started as root",
		    (long)getuid());
	if (sandbox_limits(SANDBOX_KEYPROC, sandbox_nofile(kp.max_clients +
	    KEYPROC_FD_HEADROOM), err, sizeof(err)) == -1 ||
	    sandbox_seccomp(SANDBOX_KEYPROC, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

int
keyproc_main(int foreground)
{
	log_procname("keyproc");
	log_child();
	log_fatal_status(EXIT_STARTUP);
	if (fcntl(KEYPROC_FD_MASTER, F_GETFD) == -1)
		fatalx("started without its master channel");
	closefrom(KEYPROC_FD_MASTER + 1);
	if (fd_stdio_null() == -1)
		fatal("/dev/null");
	/* Without -d, stderr is the master's log relay (master-log.c). */
	if (foreground)
		log_init(1, LOG_LEVEL_INFO);
	else
		log_init_relay(LOG_LEVEL_INFO);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("signal");
	TAILQ_INIT(&kp.links);
	read_init();

	if ((kp.base = event_base_new()) == NULL ||
	    (kp.master_ev = event_new(kp.base, KEYPROC_FD_MASTER,
	    EV_READ | EV_PERSIST, master_cb, NULL)) == NULL ||
	    event_add(kp.master_ev, NULL) == -1 ||
	    (kp.sigterm_ev = evsignal_new(kp.base, SIGTERM, sigterm_cb,
	    NULL)) == NULL || event_add(kp.sigterm_ev, NULL) == -1 ||
	    fd_set_nonblock(KEYPROC_FD_MASTER) == -1)
		fatalx("event setup");
	enter_sandbox();
	log_fatal_status(1);

	if (event_base_dispatch(kp.base) == -1)
		fatalx("event loop failed");
	keyproc_exit(0);
	return 0;
}
