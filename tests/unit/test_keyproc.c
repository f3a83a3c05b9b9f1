/*
 * test_keyproc.c: the key process signs a TLS 1.3 server CertificateVerify
 * and nothing else, once per worker link.  The policy is tested in
 * process (keyproc_tbs_ok, keyproc_sign, for Ed25519, ECDSA and RSA), and
 * then a real key process (securechatd -x keyproc) is played against as
 * the master and as a worker over the same channels the daemon uses.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "frame.h"
#include "ipc.h"
#include "keyproc.h"
#include "proto.h"

#define WAIT_MS		10000
#define HEAD		(KEYPROC_CV_PAD + sizeof(KEYPROC_CV_CONTEXT))

static pid_t	 kp_pid = -1;
static int	 master_fd = -1;
static char	 logpath[] = "/tmp/test_keyproc.XXXXXX";
static EVP_PKEY	*ed_key, *ec_key, *rsa_key;

/* A CertificateVerify input over a hash of hashlen bytes. */
static size_t
cv_message(uint8_t *msg, const char *context, size_t hashlen)
{
	size_t	 clen = strlen(context);

	memset(msg, 0x20, KEYPROC_CV_PAD);
	memcpy(msg + KEYPROC_CV_PAD, context, clen);
	msg[KEYPROC_CV_PAD + clen] = 0;
	memset(msg + KEYPROC_CV_PAD + clen + 1, 0xab, hashlen);
	return KEYPROC_CV_PAD + clen + 1 + hashlen;
}

static EVP_PKEY *
keygen(const char *type, const char *param)
{
	EVP_PKEY	*k;

	if (param != NULL)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, param);
	else if (strcmp(type, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, type, (size_t)2048);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(k);
	return k;
}

static int
verify(EVP_PKEY *k, const char *md, int pss, const uint8_t *msg, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX	*mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pctx = NULL;
	int		 ok;

	assert_non_null(mctx);
	assert_int_equal(EVP_DigestVerifyInit_ex(mctx, &pctx, md, NULL, NULL,
	    k, NULL), 1);
	if (pss) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST), 1);
	}
	ok = EVP_DigestVerify(mctx, sig, siglen, msg, len) == 1;
	EVP_MD_CTX_free(mctx);
	return ok;
}

static void
only_a_server_certificate_verify(void **state)
{
	uint8_t	 msg[TBS_MAX];
	size_t	 len;

	assert_true(keyproc_tbs_ok(msg, cv_message(msg,
	    KEYPROC_CV_CONTEXT, 32)));
	assert_true(keyproc_tbs_ok(msg, cv_message(msg,
	    KEYPROC_CV_CONTEXT, 48)));
	/* Another hash length, another context, a broken pad or separator. */
	assert_false(keyproc_tbs_ok(msg, cv_message(msg,
	    KEYPROC_CV_CONTEXT, 64)));
	assert_false(keyproc_tbs_ok(msg, cv_message(msg,
	    KEYPROC_CV_CONTEXT, 20)));
	assert_false(keyproc_tbs_ok(msg, cv_message(msg,
	    "TLS 1.3, client CertificateVerify", 32)));
	len = cv_message(msg, KEYPROC_CV_CONTEXT, 32);
	msg[3] = 0x21;
	assert_false(keyproc_tbs_ok(msg, len));
	len = cv_message(msg, KEYPROC_CV_CONTEXT, 32);
	msg[HEAD - 1] = 0x01;
	assert_false(keyproc_tbs_ok(msg, len));
	/* A bare digest, as a TLS 1.2 or X.509 signature would be. */
	memset(msg, 0xab, 32);
	assert_false(keyproc_tbs_ok(msg, 32));
	assert_false(keyproc_tbs_ok(msg, 0));
}

static void
signs_each_key_type(void **state)
{
	uint8_t		 msg[TBS_MAX], sig[TLS_SIG_MAX];
	size_t		 len, siglen;
	const char	*why = NULL;

	len = cv_message(msg, KEYPROC_CV_CONTEXT, 32);
	siglen = sizeof(sig);
	assert_int_equal(keyproc_sign(ed_key, "", msg, len, sig, &siglen,
	    &why), 0);
	assert_int_equal(siglen, 64);
	assert_true(verify(ed_key, NULL, 0, msg, len, sig, siglen));

	siglen = sizeof(sig);
	assert_int_equal(keyproc_sign(ec_key, "SHA256", msg, len, sig,
	    &siglen, &why), 0);
	assert_true(verify(ec_key, "SHA256", 0, msg, len, sig, siglen));

	/* RSA: PSS with a salt as long as the digest, never PKCS#1 v1.5. */
	len = cv_message(msg, KEYPROC_CV_CONTEXT, 48);
	siglen = sizeof(sig);
	assert_int_equal(keyproc_sign(rsa_key, "SHA2-384", msg, len, sig,
	    &siglen, &why), 0);
	assert_int_equal(siglen, 256);
	assert_true(verify(rsa_key, "SHA384", 1, msg, len, sig, siglen));
	assert_false(verify(rsa_key, "SHA384", 0, msg, len, sig, siglen));
}

static void
refuses_other_messages_and_digests(void **state)
{
	uint8_t		 msg[TBS_MAX], sig[TLS_SIG_MAX];
	size_t		 len, siglen = sizeof(sig);
	const char	*why = NULL;

	len = cv_message(msg, "TLS 1.3, client CertificateVerify", 32);
	assert_int_equal(keyproc_sign(ed_key, "", msg, len, sig, &siglen,
	    &why), -1);
	assert_string_equal(why, "not a TLS 1.3 server CertificateVerify");
	memset(msg, 0x11, 32);
	assert_int_equal(keyproc_sign(rsa_key, "SHA256", msg, 32, sig, &siglen,
	    &why), -1);

	len = cv_message(msg, KEYPROC_CV_CONTEXT, 32);
	assert_int_equal(keyproc_sign(ed_key, "SHA256", msg, len, sig, &siglen,
	    &why), -1);
	assert_int_equal(keyproc_sign(ec_key, "SHA1", msg, len, sig, &siglen,
	    &why), -1);
	assert_int_equal(keyproc_sign(ec_key, "", msg, len, sig, &siglen,
	    &why), -1);
	assert_int_equal(keyproc_sign(rsa_key, "MD5", msg, len, sig, &siglen,
	    &why), -1);
}

/* --- A real key process -------------------------------------------------- */

static void
send_frame(int fd, struct frame_buf *b, int pass_fd)
{
	assert_int_equal(frame_finish(b), 0);
	assert_int_equal(ipc_send(fd, b, pass_fd), 0);
	frame_buf_free(b);
}

/* A new worker link, attached by the "master"; we keep the worker's end. */
static int
attach(uint64_t session)
{
	struct frame_buf	 b;
	int			 sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	frame_begin(&b, IMSG_KEY_ATTACH, FRAME_MAX_DEFAULT);
	frame_put_u64(&b, F_SESSION_ID, session);
	frame_put_str(&b, F_ADDR, "192.0.2.1");
	send_frame(master_fd, &b, sp[1]);
	close(sp[1]);
	return sp[0];
}

static void
ask(int link, const char *md, const uint8_t *msg, size_t len)
{
	struct frame_buf	 b;

	frame_begin(&b, IMSG_SIGN, 1024);
	frame_put_str(&b, F_MD_NAME, md);
	frame_put_bytes(&b, F_TBS, msg, len);
	send_frame(link, &b, -1);
}

/* The answer: 1 and the signature, or 0 when the link was closed. */
static int
answer(int link, uint8_t *sig, size_t *siglen)
{
	struct pollfd	 pfd = { .fd = link, .events = POLLIN };
	struct frame	 f;
	uint8_t		 buf[TLS_SIG_MAX + 256];
	const uint8_t	*val;
	ssize_t		 n;
	int		 fd;

	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
	n = ipc_recv(link, buf, sizeof(buf), &f, &fd);
	if (n == 0)
		return 0;
	assert_true(n > 0);
	assert_int_equal(fd, -1);
	assert_int_equal(frame_validate(&f, proto_keyproc_spec(f.type)),
	    FRAME_OK);
	assert_int_equal(f.type, IMSG_SIGNATURE);
	assert_int_equal(frame_get_bytes(&f, F_TLS_SIG, &val, siglen), 0);
	memcpy(sig, val, *siglen);
	return 1;
}

static int
log_has(const char *what)
{
	char	 line[1024];
	FILE	*fp;
	int	 found = 0;

	if ((fp = fopen(logpath, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), fp) != NULL)
		found = strstr(line, what) != NULL;
	fclose(fp);
	return found;
}

/* Wait for a line in the key process's log (it writes after closing). */
static void
wait_log(const char *what)
{
	int	 i;

	for (i = 0; i < WAIT_MS / 50 && !log_has(what); i++)
		usleep(50000);
	assert_true(log_has(what));
}

static void
live_signs_once_per_link(void **state)
{
	uint8_t	 msg[TBS_MAX], sig[TLS_SIG_MAX];
	size_t	 len, siglen;
	int	 link = attach(1);

	len = cv_message(msg, KEYPROC_CV_CONTEXT, 32);
	ask(link, "", msg, len);
	assert_int_equal(answer(link, sig, &siglen), 1);
	assert_true(verify(ed_key, NULL, 0, msg, len, sig, siglen));
	/* A second handshake's worth is refused: the link is closed. */
	ask(link, "", msg, len);
	assert_int_equal(answer(link, sig, &siglen), 0);
	close(link);
	wait_log("worker session 1 (192.0.2.1): key process refused: a "
	    "signature beyond the one a handshake needs");
}

static void
live_refuses_other_messages(void **state)
{
	uint8_t	 msg[TBS_MAX], sig[TLS_SIG_MAX];
	size_t	 len, siglen;
	int	 link = attach(2), sp[2];

	len = cv_message(msg, "TLS 1.3, client CertificateVerify", 32);
	ask(link, "", msg, len);
	assert_int_equal(answer(link, sig, &siglen), 0);
	close(link);
	wait_log("worker session 2 (192.0.2.1): key process refused: not a "
	    "TLS 1.3 server CertificateVerify");

	/* Garbage, and a descriptor: workers send neither. */
	link = attach(3);
	assert_int_equal(write(link, "\0\0\0\1\4\1\0\0x", 9), 9);
	assert_int_equal(answer(link, sig, &siglen), 0);
	close(link);
	wait_log("worker session 3 (192.0.2.1): key process refused: a "
	    "malformed request");
	link = attach(4);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	{
		struct frame_buf	 b;

		frame_begin(&b, IMSG_SIGN, 1024);
		frame_put_str(&b, F_MD_NAME, "");
		frame_put_bytes(&b, F_TBS, msg, len);
		send_frame(link, &b, sp[0]);
	}
	assert_int_equal(answer(link, sig, &siglen), 0);
	close(link);
	close(sp[0]);
	close(sp[1]);
	wait_log("worker session 4 (192.0.2.1): key process refused: a "
	    "descriptor from a worker");

	/* The process is still there for the next worker. */
	link = attach(5);
	len = cv_message(msg, KEYPROC_CV_CONTEXT, 48);
	ask(link, "", msg, len);
	assert_int_equal(answer(link, sig, &siglen), 1);
	assert_true(verify(ed_key, NULL, 0, msg, len, sig, siglen));
	close(link);
}

static int
setup(void **state)
{
	struct frame_buf	 b;
	struct passwd		*pw = NULL;
	const char		*builddir = getenv("top_builddir");
	char			 exe[4096];
	BIO			*bio;
	BUF_MEM			*mem;
	int			 sp[2], logfd;

	ed_key = keygen("ED25519", NULL);
	ec_key = keygen("EC", "P-256");
	rsa_key = keygen("RSA", NULL);
	if (builddir == NULL)
		builddir = ".";
	snprintf(exe, sizeof(exe), "%s/daemon/securechatd", builddir);
	if ((logfd = mkstemp(logpath)) == -1)
		return -1;
	/* As root, run it as nobody: not root means no privdrop. */
	if (geteuid() == 0 && (pw = getpwnam("nobody")) == NULL)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1)
		return -1;
	if ((kp_pid = fork()) == -1)
		return -1;
	if (kp_pid == 0) {
		/* stderr first: the log may be on descriptor 3. */
		if (dup2(logfd, 2) == -1 || dup2(sp[1], 3) == -1)
			_exit(127);
		if (pw != NULL && (setgroups(0, NULL) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1))
			_exit(126);
		execl(exe, "securechatd", "-x", "keyproc", "-d", (char *)NULL);
		_exit(127);
	}
	close(sp[1]);
	close(logfd);
	master_fd = sp[0];
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, ed_key, NULL, NULL, 0, NULL,
	    NULL) != 1)
		return -1;
	BIO_get_mem_ptr(bio, &mem);
	frame_begin(&b, IMSG_KEY_INIT, 80 * 1024);
	frame_put_bytes(&b, F_KEY_PEM, mem->data, mem->length);
	frame_put_str(&b, F_USER_NAME, "nobody");
	frame_put_str(&b, F_CHROOT, "/");
	frame_put_u8(&b, F_LOG_LEVEL, 3);
	frame_put_u32(&b, F_MAX_CLIENTS, 16);
	BIO_free(bio);
	if (frame_finish(&b) == -1 || ipc_send(master_fd, &b, -1) == -1)
		return -1;
	frame_buf_free(&b);
	return 0;
}

static int
teardown(void **state)
{
	int	 status = 0;

	if (kp_pid > 0) {
		kill(kp_pid, SIGTERM);
		waitpid(kp_pid, &status, 0);
	}
	if (getenv("KEEP_LOG") == NULL)
		unlink(logpath);
	EVP_PKEY_free(ed_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	/* The key process must have lived through every refusal. */
	return WIFEXITED(status) || (WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGTERM) ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(only_a_server_certificate_verify),
		cmocka_unit_test(signs_each_key_type),
		cmocka_unit_test(refuses_other_messages_and_digests),
		cmocka_unit_test(live_signs_once_per_link),
		cmocka_unit_test(live_refuses_other_messages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
