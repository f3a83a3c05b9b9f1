/*
 * certgen.c: the server's TLS identity.  Like sshd's host keys, a missing
 * key and certificate are generated at first start (Ed25519, self-signed);
 * clients pin the key's SHA-256 fingerprint.  Only when both files are
 * missing and their directories exist: a mistyped path fails the start
 * instead of silently making a key no client has pinned.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"
#include "securechatd.h"
#include "util.h"

/* Write through a new file opened with mode, never following a link. */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, char *err,
    size_t errsz)
{
	FILE	*fp;
	int	 fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode)) == -1) {
		snprintf(err, errsz, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if ((fp = fdopen(fd, "w")) == NULL) {
		(void)close(fd);
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (key != NULL)
		ok = PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(fp, cert);
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
		ok = 0;
	if (fclose(fp) != 0)
		ok = 0;
	if (!ok) {
		(void)unlink(path);
		snprintf(err, errsz, "cannot write %s", path);
		return -1;
	}
	return 0;
}

static int
generate(const char *cert_path, const char *key_path, char *err, size_t errsz)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	X509_NAME	*name;
	int		 rv = -1;

	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (x = X509_new()) == NULL) {
		snprintf(err, errsz, "key generation failed");
		goto out;
	}
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 86400) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"securechatd", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_sign(x, key, NULL) <= 0) {
		snprintf(err, errsz, "certificate generation failed");
		goto out;
	}
	if (write_pem(key_path, 0600, key, NULL, err, errsz) == -1)
		goto out;
	if (write_pem(cert_path, 0644, NULL, x, err, errsz) == -1) {
		(void)unlink(key_path);
		goto out;
	}
	rv = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rv;
}

/* The directory path is in exists: a typo must not make a new key. */
static int
dir_of_exists(const char *path, const char *what, char *err, size_t errsz)
{
	char		 tmp[PATH_MAX], *dir;
	struct stat	 st;

	if (str_copy(tmp, path, sizeof(tmp)) == -1) {
		snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	dir = dirname(tmp);
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "%s %s is missing and its directory %s "
		    "does not exist: not generating a key (a typo in the "
		    "path?)", what, path, dir);
		return -1;
	}
	return 0;
}

/* Does the file exist?  -1 (err set) when it cannot be told. */
static int
file_exists(const char *path, char *err, size_t errsz)
{
	struct stat	 st;

	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT && lstat(path, &st) == -1)
		return 0;
	/* A dangling link, a loop, a directory we may not search. */
	snprintf(err, errsz, "%s: %s", path, errno == ENOENT ?
	    "a symbolic link to a file that does not exist" : strerror(errno));
	return -1;
}

int
certgen_plan(const char *cert_path, const char *key_path, int gen, char *err,
    size_t errsz)
{
	int	 have_cert, have_key;

	if ((have_cert = file_exists(cert_path, err, errsz)) == -1 ||
	    (have_key = file_exists(key_path, err, errsz)) == -1)
		return -1;
	if (have_cert && have_key)
		return CERTGEN_PRESENT;
	if (have_cert != have_key) {
		/* Never overwrite half of an identity the operator made. */
		snprintf(err, errsz, "%s exists but %s does not: supply both "
		    "or neither", have_cert ? cert_path : key_path,
		    have_cert ? key_path : cert_path);
		return -1;
	}
	if (!gen) {
		snprintf(err, errsz, "%s is missing and tls.generate is false",
		    cert_path);
		return -1;
	}
	if (dir_of_exists(cert_path, "tls.certificate", err, errsz) == -1 ||
	    dir_of_exists(key_path, "tls.private_key", err, errsz) == -1)
		return -1;
	return CERTGEN_GENERATE;
}

int
certgen_ensure(const char *cert_path, const char *key_path, int gen, char *err,
    size_t errsz)
{
	int	 plan;

	if ((plan = certgen_plan(cert_path, key_path, gen, err, errsz)) == -1)
		return -1;
	if (plan == CERTGEN_PRESENT)
		return 0;
	if (generate(cert_path, key_path, err, errsz) == -1)
		return -1;
	log_info("generated a new TLS key %s and certificate %s", key_path,
	    cert_path);
	return 0;
}
