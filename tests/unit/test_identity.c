/*
 * test_identity.c: the client's identity file: creation, the refusals
 * (mode, owner, symlink, damage, passphrase) and the two signatures.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto.h"
#include "identity.h"
#include "proto.h"
#include "util.h"

#define PASS		"correct horse battery staple"

struct fixture {
	char	 dir[64];
	char	 path[128];	/* DIR/alice.key */
	char	 err[512];
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	strcpy(f->dir, "/tmp/test_identity.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/alice.key", f->dir);
	/* The real N (2^15, 32 MiB) makes each test take a second or more. */
	identity_scrypt_n = 1024;
	*state = f;
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	int		 rc;

	rc = nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

/* The whole file as a string (small files only). */
static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(buf = calloc(1, 8192));
	n = fread(buf, 1, 8191, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void
spit(const char *path, const char *text, mode_t mode)
{
	FILE	*fp;

	(void)unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int
all_zero(const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static int
load(struct fixture *f, const char *name, const char *pass,
    struct identity *id, int *created)
{
	f->err[0] = '\0';
	return identity_load_or_create(f->dir, name, pass, id, created,
	    f->err, sizeof(f->err));
}

/* Assert the load fails, the message contains want, and id is wiped. */
static void
assert_refused(struct fixture *f, const char *name, const char *pass,
    const char *want)
{
	struct identity	 id;
	int		 created = -1;

	memset(&id, 0x5a, sizeof(id));
	assert_int_equal(load(f, name, pass, &id, &created), -1);
	if (strstr(f->err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", f->err, want);
	assert_int_equal(created, 0);
	assert_true(all_zero(&id, sizeof(id)));
}

/* First use creates the keys; the second load gives the same keys back. */
static void
create_then_load_same_keys(void **state)
{
	struct fixture	*f = *state;
	struct identity	 a, b;
	uint8_t		 pub[32];
	int		 created;

	assert_int_equal(load(f, "alice", NULL, &a, &created), 0);
	assert_int_equal(created, 1);
	assert_string_equal(a.name, "alice");
	assert_int_equal(crypto_ed25519_public(a.sign_priv, pub), 0);
	assert_memory_equal(pub, a.sign_pub, 32);
	assert_int_equal(crypto_x25519_public(a.dh_priv, pub), 0);
	assert_memory_equal(pub, a.dh_pub, 32);

	assert_int_equal(load(f, "alice", NULL, &b, &created), 0);
	assert_int_equal(created, 0);
	assert_memory_equal(&a, &b, sizeof(a));
	identity_wipe(&a);
	assert_true(all_zero(&a, sizeof(a)));
	identity_wipe(&b);
}

/* The new file is 0600 even under a lax umask, and no temp file stays. */
static void
created_file_is_0600_and_alone(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	char		*text;
	int		 created, n = 0;
	mode_t		 old;

	old = umask(0);
	assert_int_equal(load(f, "alice", NULL, &id, &created), 0);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	text = slurp(f->path);
	assert_int_equal(strncmp(text, "securechat-identity v1 plain\nsign ",
	    34), 0);
	free(text);
	assert_non_null(d = opendir(f->dir));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	identity_wipe(&id);
}

/* The name is folded, and one that could escape the directory is refused. */
static void
name_folded_and_checked(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	int		 created;

	assert_int_equal(load(f, "Alice", NULL, &id, &created), 0);
	assert_string_equal(id.name, "alice");
	assert_int_equal(access(f->path, F_OK), 0);
	identity_wipe(&id);
	assert_refused(f, "../alice", NULL, "invalid user name");
	assert_refused(f, "", NULL, "invalid user name");
	assert_refused(f, "a23456789012345678901234567890123", NULL,
	    "invalid user name");
}

/* A 0644 file is refused with the exact command that fixes it. */
static void
mode_0644_refused_with_chmod(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	char		 want[512];
	int		 created;

	assert_int_equal(load(f, "alice", NULL, &id, &created), 0);
	identity_wipe(&id);
	assert_int_equal(chmod(f->path, 0644), 0);
	snprintf(want, sizeof(want), "identity file %s is readable by group "
	    "or others (mode 0644): run 'chmod 600 %s'", f->path, f->path);
	assert_refused(f, "alice", NULL, want);
	assert_string_equal(f->err, want);
	/* Group write alone is refused too: it allows replacing the keys. */
	assert_int_equal(chmod(f->path, 0620), 0);
	assert_refused(f, "alice", NULL, "(mode 0620)");
	/* And after the advice is followed, it loads. */
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(load(f, "alice", NULL, &id, &created), 0);
	assert_int_equal(created, 0);
	identity_wipe(&id);
}

/* A symlink (even to a good key file, even dangling) is not followed. */
static void
symlink_refused(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	char		 target[160];
	int		 created;

	assert_int_equal(load(f, "bob", NULL, &id, &created), 0);
	identity_wipe(&id);
	snprintf(target, sizeof(target), "%s/bob.key", f->dir);
	assert_int_equal(symlink(target, f->path), 0);
	assert_refused(f, "alice", NULL, "is a symbolic link");
	/* Dangling: must not create a file through the link either. */
	assert_int_equal(unlink(target), 0);
	assert_refused(f, "alice", NULL, "is a symbolic link");
	assert_int_equal(access(target, F_OK), -1);
}

static void
directory_refused(void **state)
{
	struct fixture	*f = *state;

	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_refused(f, "alice", NULL, "is not a regular file");
}

/* A missing data directory is an error, not a crash or a stray file. */
static void
missing_directory_refused(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	char		 sub[128];
	int		 created;

	snprintf(sub, sizeof(sub), "%s/nope", f->dir);
	assert_int_equal(identity_load_or_create(sub, "alice", NULL, &id,
	    &created, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "cannot create identity file in"));
}

/* Under a passphrase: the keys come back, and are not in the clear. */
static void
encrypted_round_trip(void **state)
{
	struct fixture	*f = *state;
	struct identity	 a, b;
	char		*text, hex[65];
	int		 created;

	assert_int_equal(load(f, "alice", PASS, &a, &created), 0);
	assert_int_equal(created, 1);
	text = slurp(f->path);
	assert_int_equal(strncmp(text,
	    "securechat-identity v1 scrypt 1024 8 1 ", 39), 0);
	/* Two lines only, and no key in hex anywhere. */
	assert_null(strstr(text, "sign "));
	hex_encode(a.sign_priv, 32, hex);
	assert_null(strstr(text, hex));
	hex_encode(a.sign_pub, 32, hex);
	assert_null(strstr(text, hex));
	free(text);

	assert_int_equal(load(f, "alice", PASS, &b, &created), 0);
	assert_int_equal(created, 0);
	assert_memory_equal(&a, &b, sizeof(a));
	identity_wipe(&a);
	identity_wipe(&b);
}

static void
wrong_passphrase_refused(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	char		 want[256];
	int		 created;

	assert_int_equal(load(f, "alice", PASS, &id, &created), 0);
	identity_wipe(&id);
	snprintf(want, sizeof(want), "wrong passphrase for %s", f->path);
	assert_refused(f, "alice", "correct horse battery stapler", want);
	assert_refused(f, "alice", "", want);
}

static void
encrypted_without_passphrase_refused(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	char		 want[256];
	int		 created;

	assert_int_equal(load(f, "alice", PASS, &id, &created), 0);
	identity_wipe(&id);
	snprintf(want, sizeof(want), "%s is protected by a passphrase: use "
	    "--passphrase-file or run on a terminal", f->path);
	assert_refused(f, "alice", NULL, want);
	assert_string_equal(f->err, want);
}

/* A passphrase given for a plain file is not needed: it loads anyway. */
static void
plain_file_ignores_passphrase(void **state)
{
	struct fixture	*f = *state;
	struct identity	 a, b;
	int		 created;

	assert_int_equal(load(f, "alice", NULL, &a, &created), 0);
	assert_int_equal(load(f, "alice", PASS, &b, &created), 0);
	assert_int_equal(created, 0);
	assert_memory_equal(&a, &b, sizeof(a));
	identity_wipe(&a);
	identity_wipe(&b);
}

/* Replace one hex digit by another at offset off of the file. */
static void
flip_digit(const char *path, size_t off)
{
	char	*text;

	text = slurp(path);
	assert_true(off < strlen(text));
	text[off] = text[off] == '0' ? '1' : '0';
	spit(path, text, 0600);
	free(text);
}

/* One digit changed in the encrypted line, or in line 1: refused. */
static void
tampered_encrypted_refused(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	char		*text, *nl, *orig;
	size_t		 l2;
	int		 created;

	assert_int_equal(load(f, "alice", PASS, &id, &created), 0);
	identity_wipe(&id);
	orig = slurp(f->path);
	nl = strchr(orig, '\n');
	assert_non_null(nl);
	l2 = (size_t)(nl - orig) + 1;

	/* In the ciphertext, in the middle and in the tag at the end. */
	flip_digit(f->path, l2 + 10);
	assert_refused(f, "alice", PASS, "wrong passphrase for");
	spit(f->path, orig, 0600);
	flip_digit(f->path, strlen(orig) - 2);
	assert_refused(f, "alice", PASS, "wrong passphrase for");
	/* In the nonce, the last field of line 1 (authenticated as AAD). */
	spit(f->path, orig, 0600);
	flip_digit(f->path, l2 - 2);
	assert_refused(f, "alice", PASS, "wrong passphrase for");
	/* Parameters that no longer make sense are named as damage. */
	text = strdup(orig);
	assert_non_null(text);
	memcpy(text + strlen("securechat-identity v1 scrypt "), "1000", 4);
	spit(f->path, text, 0600);
	assert_refused(f, "alice", PASS, "is damaged");
	free(text);
	/* The original still loads: the refusals were about the changes. */
	spit(f->path, orig, 0600);
	assert_int_equal(load(f, "alice", PASS, &id, &created), 0);
	identity_wipe(&id);
	free(orig);
}

/* A plain file whose public key line does not match: refused. */
static void
damaged_plain_refused(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	char		*orig, *p, buf[1024];
	int		 created;

	assert_int_equal(load(f, "alice", NULL, &id, &created), 0);
	identity_wipe(&id);
	orig = slurp(f->path);
	assert_non_null(p = strstr(orig, "sign-pub "));
	flip_digit(f->path, (size_t)(p - orig) + 9);
	assert_refused(f, "alice", NULL, "does not match");

	snprintf(buf, sizeof(buf), "%sextra 00\n", orig);
	spit(f->path, buf, 0600);
	assert_refused(f, "alice", NULL, "unknown line 'extra'");

	spit(f->path, "securechat-identity v2 plain\n", 0600);
	assert_refused(f, "alice", NULL, "has format v2");
	spit(f->path, "-----BEGIN PRIVATE KEY-----\n", 0600);
	assert_refused(f, "alice", NULL, "is not a securechat identity file");
	spit(f->path, "securechat-identity v1 plain\nsign 00\n", 0600);
	assert_refused(f, "alice", NULL, "not 64 hex digits");
	/* The pub lines are optional: sign and dh alone are a whole file. */
	p = strstr(orig, "sign-pub ");
	*p = '\0';
	spit(f->path, orig, 0600);
	assert_int_equal(load(f, "alice", NULL, &id, &created), 0);
	identity_wipe(&id);
	free(orig);
}

/* The binding signature covers BINDING_CONTEXT || dh_pub, nothing else. */
static void
binding_sig_verifies(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	uint8_t		 sig[64], msg[sizeof(BINDING_CONTEXT) - 1 + 32];
	size_t		 clen = sizeof(BINDING_CONTEXT) - 1;
	int		 created;

	assert_int_equal(load(f, "alice", NULL, &id, &created), 0);
	assert_int_equal(identity_binding_sig(&id, sig), 0);
	memcpy(msg, BINDING_CONTEXT, clen);
	memcpy(msg + clen, id.dh_pub, 32);
	assert_int_equal(crypto_ed25519_verify(id.sign_pub, msg, sizeof(msg),
	    sig), 0);
	/* Another X25519 key is not bound by it. */
	msg[clen] ^= 1;
	assert_int_equal(crypto_ed25519_verify(id.sign_pub, msg, sizeof(msg),
	    sig), -1);
	/* Nor is the same key under the login context. */
	assert_int_equal(crypto_ed25519_verify(id.sign_pub, id.dh_pub, 32,
	    sig), -1);
	identity_wipe(&id);
}

static int
verify_login(const struct identity *id, const uint8_t *nonce,
    const uint8_t *exporter, const char *name, const uint8_t *sig)
{
	uint8_t	 msg[256];
	size_t	 clen = sizeof(LOGIN_CONTEXT) - 1, len;

	len = clen + 64 + strlen(name);
	assert_true(len <= sizeof(msg));
	memcpy(msg, LOGIN_CONTEXT, clen);
	memcpy(msg + clen, nonce, 32);
	memcpy(msg + clen + 32, exporter, 32);
	memcpy(msg + clen + 64, name, strlen(name));
	return crypto_ed25519_verify(id->sign_pub, msg, len, sig);
}

/* LOGIN_CONTEXT || nonce || exporter || name, and only that. */
static void
login_sig_verifies(void **state)
{
	struct fixture	*f = *state;
	struct identity	 id;
	uint8_t		 nonce[32], exporter[32], other[32], sig[64];
	int		 created;

	assert_int_equal(load(f, "alice", NULL, &id, &created), 0);
	assert_int_equal(crypto_random(nonce, 32), 0);
	assert_int_equal(crypto_random(exporter, 32), 0);
	assert_int_equal(crypto_random(other, 32), 0);
	assert_int_equal(identity_login_sig(&id, nonce, exporter, sig), 0);
	assert_int_equal(verify_login(&id, nonce, exporter, "alice", sig), 0);
	assert_int_equal(verify_login(&id, other, exporter, "alice", sig), -1);
	assert_int_equal(verify_login(&id, nonce, other, "alice", sig), -1);
	assert_int_equal(verify_login(&id, exporter, nonce, "alice", sig), -1);
	assert_int_equal(verify_login(&id, nonce, exporter, "alicf", sig), -1);
	assert_int_equal(verify_login(&id, nonce, exporter, "alic", sig), -1);
	identity_wipe(&id);
}

/* First line without newline (or CR), 0600 only, not empty, bounded. */
static void
passphrase_file_rules(void **state)
{
	struct fixture	*f = *state;
	char		 path[160], out[16], want[512];

	snprintf(path, sizeof(path), "%s/pass", f->dir);
	spit(path, "hunter2\nsecond line\n", 0600);
	assert_int_equal(identity_read_passphrase_file(path, out, sizeof(out),
	    f->err, sizeof(f->err)), 0);
	assert_string_equal(out, "hunter2");

	spit(path, "no newline", 0400);
	assert_int_equal(identity_read_passphrase_file(path, out, sizeof(out),
	    f->err, sizeof(f->err)), 0);
	assert_string_equal(out, "no newline");

	spit(path, "dos\r\n", 0600);
	assert_int_equal(identity_read_passphrase_file(path, out, sizeof(out),
	    f->err, sizeof(f->err)), 0);
	assert_string_equal(out, "dos");

	/* 15 bytes fit in 16 with the NUL; 16 do not. */
	spit(path, "123456789012345\n", 0600);
	assert_int_equal(identity_read_passphrase_file(path, out, sizeof(out),
	    f->err, sizeof(f->err)), 0);
	spit(path, "1234567890123456\n", 0600);
	assert_int_equal(identity_read_passphrase_file(path, out, sizeof(out),
	    f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "longer than 15 bytes"));
	assert_true(all_zero(out, sizeof(out)));

	spit(path, "\nsecret on line 2\n", 0600);
	assert_int_equal(identity_read_passphrase_file(path, out, sizeof(out),
	    f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "empty first line"));

	spit(path, "hunter2\n", 0644);
	assert_int_equal(identity_read_passphrase_file(path, out, sizeof(out),
	    f->err, sizeof(f->err)), -1);
	snprintf(want, sizeof(want), "passphrase file %s is readable by group "
	    "or others (mode 0644): run 'chmod 600 %s'", path, path);
	assert_string_equal(f->err, want);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(identity_read_passphrase_file(path, out, sizeof(out),
	    f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "cannot open passphrase file"));
	assert_int_equal(identity_read_passphrase_file(f->dir, out,
	    sizeof(out), f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "not a regular file"));
}

/* A pipe works, as for --passphrase-file <(command). */
static void
passphrase_from_pipe(void **state)
{
	struct fixture	*f = *state;
	char		 path[64], out[32];
	int		 fds[2];

	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "piped\n", 6), 6);
	close(fds[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	assert_int_equal(identity_read_passphrase_file(path, out, sizeof(out),
	    f->err, sizeof(f->err)), 0);
	assert_string_equal(out, "piped");
	close(fds[0]);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(create_then_load_same_keys),
		T(created_file_is_0600_and_alone),
		T(name_folded_and_checked),
		T(mode_0644_refused_with_chmod),
		T(symlink_refused),
		T(directory_refused),
		T(missing_directory_refused),
		T(encrypted_round_trip),
		T(wrong_passphrase_refused),
		T(encrypted_without_passphrase_refused),
		T(plain_file_ignores_passphrase),
		T(tampered_encrypted_refused),
		T(damaged_plain_refused),
		T(binding_sig_verifies),
		T(login_sig_verifies),
		T(passphrase_file_rules),
		T(passphrase_from_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
