/*
 * setup.c: everything a start needs besides the configuration's syntax:
 * the account, the directories with their owners and modes, the files in
 * the state directory, and the TLS identity.  securechatd -n runs the
 * same checks without making anything and says what a start would make,
 * so a configuration -n passes does not then fail at start.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "log.h"
#include "ops.h"
#include "sandbox.h"
#include "securechatd.h"
#include "tls.h"
#include "util.h"

#define PEM_MAX		(64 * 1024)

/* The database files the broker must be able to write. */
static const char *const db_files[] = {
	"securechat.db", "securechat.db-wal", "securechat.db-shm",
};

struct dir_spec {
	const char	*option;	/* for messages: "state_dir" */
	const char	*path;
	mode_t		 mode;
	uid_t		 uid;
	gid_t		 gid;		/* the directory's group */
	const char	*owner;		/* user name, for messages */
	const char	*within;	/* a directory made just before, or NULL */
};

static int
serr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
serr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

static int
is_empty_dir(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	int		 empty = 1;

	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	(void)closedir(d);
	return empty;
}

static int
parent_exists(const char *path, char *parent, size_t parentsz)
{
	char		 tmp[PATH_MAX];
	struct stat	 st;

	if (str_copy(tmp, path, sizeof(tmp)) == -1)
		return 0;
	(void)str_copy(parent, dirname(tmp), parentsz);
	return stat(parent, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * A directory of ours.  Missing: made (create) or announced.  Present:
 * it must be a directory; its mode is put right; a wrong owner is put
 * right only while it is empty, since chown of a tree the unprivileged
 * user can write would follow its links.
 */
static int
dir_check(const struct dir_spec *d, int create, const struct setup_report *r,
    char *err, size_t errsz)
{
	struct stat	 st;
	char		 parent[PATH_MAX];

	if (lstat(d->path, &st) == -1) {
		if (errno != ENOENT)
			return serr(err, errsz, "%s %s: %s", d->option, d->path,
			    strerror(errno));
		if (!parent_exists(d->path, parent, sizeof(parent)) &&
		    (create || d->within == NULL || strcmp(parent,
		    d->within) != 0))
			return serr(err, errsz, "%s %s: the directory %s does "
			    "not exist", d->option, d->path, parent);
		if (!create) {
			r->would(r->arg, "would create %s %s (owner %s, mode "
			    "%04o)", d->option, d->path, d->owner,
			    (unsigned int)d->mode);
			return 0;
		}
		if (mkdir(d->path, d->mode) == -1 || lstat(d->path, &st) == -1)
			return serr(err, errsz, "mkdir %s: %s", d->path,
			    strerror(errno));
		log_info("created %s %s", d->option, d->path);
	}
	if (!S_ISDIR(st.st_mode))
		return serr(err, errsz, "%s %s is not a directory", d->option,
		    d->path);
	/*
	 * A wrong owner is put right only while the directory is empty:
	 * chown of a tree the unprivileged user can write would follow its
	 * links.  The group and mode of the directory itself are safe to fix.
	 */
	if (st.st_uid != d->uid && !is_empty_dir(d->path))
		return serr(err, errsz, "%s %s belongs to uid %ld, not to %s: "
		    "the processes that use it could not write it (fix it "
		    "with: chown -R %s %s)", d->option, d->path,
		    (long)st.st_uid, d->owner, d->owner, d->path);
	if (st.st_uid != d->uid || st.st_gid != d->gid) {
		if (!create)
			r->would(r->arg, "would give %s %s to uid %ld gid %ld",
			    d->option, d->path, (long)d->uid, (long)d->gid);
		else if (chown(d->path, d->uid, d->gid) == -1)
			return serr(err, errsz, "%s %s: owner %ld:%ld, wanted "
			    "%ld:%ld, and chown failed: %s (systemd-tmpfiles "
			    "--create puts it right)", d->option, d->path,
			    (long)st.st_uid, (long)st.st_gid, (long)d->uid,
			    (long)d->gid, strerror(errno));
	}
	if ((st.st_mode & 07777) != d->mode) {
		if (!create)
			r->would(r->arg, "would change the mode of %s %s from "
			    "%04o to %04o", d->option, d->path,
			    (unsigned int)(st.st_mode & 07777),
			    (unsigned int)d->mode);
		else if (chmod(d->path, d->mode) == -1)
			return serr(err, errsz, "%s %s: mode %04o, wanted %04o, "
			    "and chmod failed: %s (systemd-tmpfiles --create "
			    "puts it right)", d->option, d->path,
			    (unsigned int)(st.st_mode & 07777),
			    (unsigned int)d->mode, strerror(errno));
	}
	return 0;
}

/*
 * The broker opens these as the unprivileged user, in a directory root
 * itself may not search (no CAP_DAC_OVERRIDE under the unit): ask a child
 * that has become that user whether it could write them.  Exit 0 yes,
 * 10 + i for db_files[i], 9 for the directory.
 */
static int
writable_as(const struct dir_spec *d, gid_t gid)
{
	char	 path[PATH_MAX];
	pid_t	 pid;
	size_t	 i;
	int	 status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if (geteuid() == 0 && (setgroups(1, &gid) == -1 ||
		    setresgid(gid, gid, gid) == -1 ||
		    setresuid(d->uid, d->uid, d->uid) == -1))
			_exit(8);
		if (access(d->path, W_OK | X_OK) == -1)
			_exit(9);
		for (i = 0; i < sizeof(db_files) / sizeof(db_files[0]); i++) {
			(void)snprintf(path, sizeof(path), "%s/%s", d->path,
			    db_files[i]);
			if (access(path, F_OK) == 0 &&
			    access(path, R_OK | W_OK) == -1)
				_exit(10 + (int)i);
		}
		_exit(0);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
db_files_check(const struct dir_spec *d, gid_t gid, char *err, size_t errsz)
{
	struct stat	 st;
	int		 rv;

	if (lstat(d->path, &st) == -1)
		return 0;	/* announced: it will be made */
	if ((rv = writable_as(d, gid)) == 0)
		return 0;
	if (rv == 9)
		return serr(err, errsz, "%s %s: %s cannot write it", d->option,
		    d->path, d->owner);
	if (rv >= 10 && rv < 10 + (int)(sizeof(db_files) / sizeof(db_files[0])))
		return serr(err, errsz, "%s/%s: %s cannot write it, so the "
		    "broker could not (fix it with: chown -R %s: %s)", d->path,
		    db_files[rv - 10], d->owner, d->owner, d->path);
	return serr(err, errsz, "%s %s: cannot check it as %s", d->option,
	    d->path, d->owner);
}

/* The workers' chroot: root's, writable by nobody else, and empty. */
static int
empty_dir_check(const struct conf *c, int root, int create,
    const struct setup_report *r, char *err, size_t errsz)
{
	struct dir_spec	 d = { "empty_dir", c->empty_dir, 0755, geteuid(),
	    getegid(), root ? "root" : "the daemon's user", c->runtime_dir };
	struct stat	 st;

	if (dir_check(&d, create, r, err, errsz) == -1)
		return -1;
	if (stat(c->empty_dir, &st) == -1)
		return 0;	/* announced: it will be made right */
	if (!is_empty_dir(c->empty_dir))
		return serr(err, errsz, "empty_dir %s is not empty: the workers "
		    "are chrooted there", c->empty_dir);
	return 0;
}

int
setup_read_pem(const char *path, size_t max, unsigned char **out,
    size_t *outlen, char *err, size_t errsz)
{
	struct stat	 st;
	unsigned char	*buf;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	/* Links are followed: certbot's live/ directory is made of them. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return serr(err, errsz, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > max) {
		(void)close(fd);
		return serr(err, errsz, "%s: not a regular file of 1..%zu "
		    "bytes", path, max);
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL) {
		(void)close(fd);
		return serr(err, errsz, "%s: out of memory", path);
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			OPENSSL_cleanse(buf, (size_t)st.st_size);
			free(buf);
			(void)close(fd);
			return serr(err, errsz, "%s: short read", path);
		}
		off += (size_t)n;
	}
	(void)close(fd);
	*out = buf;
	*outlen = off;
	return 0;
}

SSL_CTX *
setup_tls_load(const struct conf *c, unsigned char **cert, size_t *cert_len,
    unsigned char **key, size_t *key_len, char *err, size_t errsz)
{
	SSL_CTX	*ctx;
	char	 why[512];

	if (setup_read_pem(c->tls_certificate, PEM_MAX, cert, cert_len, err,
	    errsz) == -1)
		return NULL;
	if (setup_read_pem(c->tls_private_key, PEM_MAX, key, key_len, err,
	    errsz) == -1) {
		free(*cert);
		return NULL;
	}
	/* Parses both and checks that the key is the certificate's. */
	if ((ctx = tls_ctx_server(*cert, *cert_len, *key, *key_len, why,
	    sizeof(why))) == NULL) {
		OPENSSL_cleanse(*key, *key_len);
		free(*key);
		free(*cert);
		(void)snprintf(err, errsz, "%s and %s: %s", c->tls_certificate,
		    c->tls_private_key, why);
	}
	return ctx;
}

/* A private key anyone may read, or others may replace, is refused. */
static int
key_mode_check(const char *path, char *err, size_t errsz)
{
	struct stat	 st;

	if (stat(path, &st) == -1)
		return serr(err, errsz, "%s: %s", path, strerror(errno));
	if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP))
		return serr(err, errsz, "%s: mode %04o: a private key must not "
		    "be readable by others or writable by anyone but its "
		    "owner (chmod 600 %s)", path,
		    (unsigned int)(st.st_mode & 07777), path);
	return 0;
}

static int
tls_check(const struct conf *c, int create, const struct setup_report *r,
    char *err, size_t errsz)
{
	unsigned char	*cert = NULL, *key = NULL, fp[TLS_FP_LEN];
	size_t		 cert_len, key_len;
	char		 hex[2 * TLS_FP_LEN + 1];
	SSL_CTX		*ctx;
	int		 plan;

	if ((plan = certgen_plan(c->tls_certificate, c->tls_private_key,
	    c->tls_generate, err, errsz)) == -1)
		return -1;
	if (plan == CERTGEN_GENERATE) {
		if (create)
			return certgen_ensure(c->tls_certificate,
			    c->tls_private_key, c->tls_generate, err, errsz);
		r->would(r->arg, "would generate a new TLS key %s and a "
		    "self-signed certificate %s", c->tls_private_key,
		    c->tls_certificate);
		return 0;
	}
	if (key_mode_check(c->tls_private_key, err, errsz) == -1 ||
	    (ctx = setup_tls_load(c, &cert, &cert_len, &key, &key_len, err,
	    errsz)) == NULL)
		return -1;
	OPENSSL_cleanse(key, key_len);
	free(key);
	free(cert);
	if (!create && tls_spki_fingerprint(SSL_CTX_get0_privatekey(ctx),
	    fp) == 0) {
		hex_encode(fp, sizeof(fp), hex);
		r->would(r->arg, "TLS key %s, fingerprint SHA256:%s",
		    c->tls_private_key, hex);
	}
	SSL_CTX_free(ctx);
	return 0;
}

int
setup_check(const struct conf *c, int create, const struct setup_report *r,
    char *err, size_t errsz)
{
	/*
	 * The broker's, and group root with search only: the master chroots
	 * the broker there as root, and under the unit root has no
	 * CAP_DAC_OVERRIDE to enter someone else's 0700 directory.
	 */
	struct dir_spec	 state = { "state_dir", c->state_dir, 0710, geteuid(),
	    getegid(), c->user, NULL };
	struct dir_spec	 run = { "runtime_dir", c->runtime_dir, 0755, geteuid(),
	    getegid(), "root", NULL };
	gid_t		 gid = getegid();
	int		 root = geteuid() == 0;

	if (root) {
		if (privdrop_lookup(c->user, &state.uid, &gid, err,
		    errsz) == -1)
			return -1;
	} else {
		state.mode = 0700;
		state.owner = run.owner = "the daemon's user";
		if (!create)
			r->would(r->arg, "not root: every process would run as "
			    "uid %ld, without chroot", (long)geteuid());
	}
	if (dir_check(&state, create, r, err, errsz) == -1 ||
	    db_files_check(&state, gid, err, errsz) == -1 ||
	    dir_check(&run, create, r, err, errsz) == -1 ||
	    empty_dir_check(c, root, create, r, err, errsz) == -1 ||
	    tls_check(c, create, r, err, errsz) == -1)
		return -1;
	return 0;
}
