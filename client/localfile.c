/*
 * localfile.c: the client's small state files.  Sealed ones are
 * MAGIC || nonce || AES-256-GCM(data) || tag under a key derived from the
 * identity; every one is 0600, ours, and replaced whole by a rename.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "localfile.h"

#define MAGIC		"securechat-local-file "
#define FORMAT_NAME	"v1"
#define FORMAT_LINE	FORMAT_NAME "\n"
#define HEAD_LEN	(sizeof(MAGIC) - 1 + sizeof(FORMAT_LINE) - 1)
#define KDF_INFO	"securechat/v1/local-file"
#define OVERHEAD	(HEAD_LEN + CRYPTO_AEAD_NONCE_LEN + CRYPTO_AEAD_TAG_LEN)

int
localfile_check_mode(const char *what, const char *path,
    const struct stat *st, char *err, size_t errsz)
{
	/* Others could copy the keys, or, with write access, replace them. */
	if ((st->st_mode & 077) != 0) {
		(void)snprintf(err, errsz, "%s %s is readable by group or "
		    "others (mode %04o): run 'chmod 600 %s'", what, path,
		    (unsigned int)(st->st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* The checks localfile_slurp makes on the open file before reading it. */
static int
check_file(int fd, const char *what, const char *path, size_t max,
    struct stat *st, char *err, size_t errsz)
{
	if (fstat(fd, st) == -1) {
		(void)snprintf(err, errsz, "cannot stat %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		(void)snprintf(err, errsz, "%s %s is not a regular file",
		    what, path);
		return -1;
	}
	if (st->st_uid != geteuid()) {
		(void)snprintf(err, errsz, "%s %s is owned by uid %lu, not by "
		    "you (uid %lu)", what, path, (unsigned long)st->st_uid,
		    (unsigned long)geteuid());
		return -1;
	}
	if (localfile_check_mode(what, path, st, err, errsz) == -1)
		return -1;
	if (st->st_size < 0 || (uint64_t)st->st_size > max) {
		(void)snprintf(err, errsz, "%s %s is too large: over %zu "
		    "bytes", what, path, max);
		return -1;
	}
	return 0;
}

/* Open without following a link; errors worded as localfile_slurp's. */
static int
open_checked(const char *what, const char *path, size_t max, struct stat *st,
    char *err, size_t errsz)
{
	int	 fd;

	/* NOFOLLOW: a symlink could point anywhere, e.g. at another key. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return -2;
		if (errno == ELOOP)
			(void)snprintf(err, errsz, "%s %s is a symbolic link: "
			    "refusing to follow it", what, path);
		else
			(void)snprintf(err, errsz, "cannot open %s %s: %s",
			    what, path, strerror(errno));
		return -1;
	}
	if (check_file(fd, what, path, max, st, err, errsz) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

int
localfile_fopen(const char *what, const char *path, FILE **fp, char *err,
    size_t errsz)
{
	struct stat	 st;
	int		 fd;

	*fp = NULL;
	if ((fd = open_checked(what, path, LOCALFILE_MAX, &st, err,
	    errsz)) == -2)
		return 1;
	if (fd == -1)
		return -1;
	if ((*fp = fdopen(fd, "r")) == NULL) {
		(void)snprintf(err, errsz, "cannot read %s %s: %s", what,
		    path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	return 0;
}

int
localfile_slurp(const char *what, const char *path, size_t max,
    uint8_t **data, size_t *len, char *err, size_t errsz)
{
	struct stat	 st;
	uint8_t		*buf = NULL;
	size_t		 cap = 0, n = 0;
	ssize_t		 nr;
	int		 fd, rc = -1;

	*data = NULL;
	*len = 0;
	if ((fd = open_checked(what, path, max, &st, err, errsz)) == -2)
		return 1;
	if (fd == -1)
		return -1;
	/* One byte more than stat said: seeing it means the file grew. */
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		(void)snprintf(err, errsz, "out of memory");
		goto out;
	}
	while ((nr = read(fd, buf + n, cap - n)) != 0) {
		if (nr == -1) {
			if (errno == EINTR)
				continue;
			(void)snprintf(err, errsz, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if ((n += (size_t)nr) == cap) {
			(void)snprintf(err, errsz, "%s %s changed while it "
			    "was read", what, path);
			goto out;
		}
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	buf = NULL;
	rc = 0;
 out:
	if (buf != NULL)
		OPENSSL_clear_free(buf, cap);
	(void)close(fd);
	return rc;
}

int
localfile_sync_dir(const char *path, char *err, size_t errsz)
{
	char		 dir[PATH_MAX];
	const char	*from = path, *slash;
	size_t		 dlen;
	int		 dfd, rc = 0;

	if ((slash = strrchr(path, '/')) == NULL) {
		from = ".";
		dlen = 1;
	} else
		dlen = slash == path ? 1 : (size_t)(slash - path);
	if (dlen >= sizeof(dir)) {
		(void)snprintf(err, errsz, "path too long: %s", path);
		return -1;
	}
	memcpy(dir, from, dlen);
	dir[dlen] = '\0';
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errsz, "cannot open directory %s: %s",
		    dir, strerror(errno));
		return -1;
	}
	/* Some file systems cannot sync a directory: nothing more to do. */
	if (fsync(dfd) == -1 && errno != EINVAL) {
		(void)snprintf(err, errsz, "cannot sync directory %s: %s",
		    dir, strerror(errno));
		rc = -1;
	}
	(void)close(dfd);
	return rc;
}

/* Write all of data to a new tmp (0600) and make it durable. */
static int
write_tmp(const char *tmp, const void *data, size_t len)
{
	FILE	*fp;
	int	 fd, saved;

	/* A stale one from a crash: O_EXCL below must not trip over it. */
	if (unlink(tmp) == -1 && errno != ENOENT)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return -1;
	if (fchmod(fd, 0600) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	if ((len > 0 && fwrite(data, 1, len, fp) != len) ||
	    fflush(fp) == EOF || fsync(fd) == -1) {
		saved = errno;
		(void)fclose(fp);
		errno = saved;
		return -1;
	}
	return fclose(fp) == EOF ? -1 : 0;
}

int
localfile_replace(const char *path, const void *data, size_t len, char *err,
    size_t errsz)
{
	char	 tmp[PATH_MAX];
	int	 n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		(void)snprintf(err, errsz, "path too long: %s", path);
		return -1;
	}
	if (write_tmp(tmp, data, len) == -1) {
		(void)snprintf(err, errsz, "cannot write %s: %s", tmp,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		(void)snprintf(err, errsz, "cannot replace %s: %s", path,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return localfile_sync_dir(path, err, errsz);
}

/* The file's key: HKDF(salt = label, ikm, info = KDF_INFO || label). */
static int
derive_key(const uint8_t key_material[32], const char *label, size_t llen,
    uint8_t key[32])
{
	uint8_t	 info[sizeof(KDF_INFO) - 1 + LOCALFILE_LABEL_MAX];

	memcpy(info, KDF_INFO, sizeof(KDF_INFO) - 1);
	memcpy(info + sizeof(KDF_INFO) - 1, label, llen);
	return crypto_hkdf_sha256(label, llen, key_material, 32, info,
	    sizeof(KDF_INFO) - 1 + llen, key, 32);
}

/* MAGIC || FORMAT_LINE || label: authenticated along with the data. */
static size_t
make_aad(const char *label, size_t llen, uint8_t *aad)
{
	memcpy(aad, MAGIC FORMAT_LINE, HEAD_LEN);
	memcpy(aad + HEAD_LEN, label, llen);
	return HEAD_LEN + llen;
}

static int
label_ok(const char *label, size_t *llen, char *err, size_t errsz)
{
	*llen = strlen(label);
	if (*llen == 0 || *llen > LOCALFILE_LABEL_MAX) {
		(void)snprintf(err, errsz, "bad local file label");
		return 0;
	}
	return 1;
}

int
localfile_write(const char *path, const uint8_t key_material[32],
    const char *label, const uint8_t *data, size_t len, char *err,
    size_t errsz)
{
	uint8_t	 key[32], aad[HEAD_LEN + LOCALFILE_LABEL_MAX], *buf;
	size_t	 llen, aadlen, total;
	int	 rc = -1;

	if (!label_ok(label, &llen, err, errsz))
		return -1;
	if (len > LOCALFILE_MAX - OVERHEAD) {
		(void)snprintf(err, errsz, "%s: too much to write (%zu "
		    "bytes)", path, len);
		return -1;
	}
	total = OVERHEAD + len;
	if ((buf = malloc(total)) == NULL) {
		(void)snprintf(err, errsz, "out of memory");
		return -1;
	}
	aadlen = make_aad(label, llen, aad);
	memcpy(buf, aad, HEAD_LEN);
	/* A random nonce per write: the key stays the same across writes. */
	if (crypto_random(buf + HEAD_LEN, CRYPTO_AEAD_NONCE_LEN) == -1 ||
	    derive_key(key_material, label, llen, key) == -1 ||
	    crypto_aead_seal(key, buf + HEAD_LEN, aad, aadlen, data, len,
	    buf + HEAD_LEN + CRYPTO_AEAD_NONCE_LEN) == -1) {
		(void)snprintf(err, errsz, "cannot seal %s", path);
		goto out;
	}
	rc = localfile_replace(path, buf, total, err, errsz);
 out:
	OPENSSL_cleanse(key, sizeof(key));
	free(buf);	/* ciphertext only */
	return rc;
}

/* Check the head of a sealed file; -1 with a message if it is not one. */
static int
check_head(const char *path, const uint8_t *buf, size_t len, char *err,
    size_t errsz)
{
	if (len < sizeof(MAGIC) - 1 ||
	    memcmp(buf, MAGIC, sizeof(MAGIC) - 1) != 0) {
		(void)snprintf(err, errsz, "%s is not a securechat local file",
		    path);
		return -1;
	}
	if (len < HEAD_LEN || memcmp(buf + sizeof(MAGIC) - 1, FORMAT_LINE,
	    sizeof(FORMAT_LINE) - 1) != 0) {
		(void)snprintf(err, errsz, "%s has an unknown format version; "
		    "this securechat reads " FORMAT_NAME, path);
		return -1;
	}
	if (len < OVERHEAD) {
		(void)snprintf(err, errsz, "%s is truncated", path);
		return -1;
	}
	return 0;
}

int
localfile_read(const char *path, const uint8_t key_material[32],
    const char *label, uint8_t **data, size_t *len, char *err, size_t errsz)
{
	uint8_t	 key[32], aad[HEAD_LEN + LOCALFILE_LABEL_MAX];
	uint8_t	*buf = NULL, *out = NULL;
	size_t	 llen, aadlen, flen, ctlen;
	int	 rc;

	*data = NULL;
	*len = 0;
	if (!label_ok(label, &llen, err, errsz))
		return -1;
	if ((rc = localfile_slurp("file", path, LOCALFILE_MAX, &buf, &flen,
	    err, errsz)) != 0)
		return rc;
	rc = -1;
	if (check_head(path, buf, flen, err, errsz) == -1)
		goto out;
	ctlen = flen - HEAD_LEN - CRYPTO_AEAD_NONCE_LEN;
	/* +1: malloc(0) may return NULL for an empty payload. */
	if ((out = malloc(ctlen - CRYPTO_AEAD_TAG_LEN + 1)) == NULL) {
		(void)snprintf(err, errsz, "out of memory");
		goto out;
	}
	aadlen = make_aad(label, llen, aad);
	if (derive_key(key_material, label, llen, key) == -1) {
		(void)snprintf(err, errsz, "cannot derive the key for %s",
		    path);
		goto out;
	}
	if (crypto_aead_open(key, buf + HEAD_LEN, aad, aadlen,
	    buf + HEAD_LEN + CRYPTO_AEAD_NONCE_LEN, ctlen, out) == -1) {
		(void)snprintf(err, errsz, "%s was altered or belongs to "
		    "another key", path);
		goto out;
	}
	*data = out;
	*len = ctlen - CRYPTO_AEAD_TAG_LEN;
	out = NULL;
	rc = 0;
 out:
	OPENSSL_cleanse(key, sizeof(key));
	free(out);	/* nothing of it was written on failure */
	free(buf);	/* ciphertext only */
	return rc;
}
