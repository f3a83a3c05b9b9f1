/*
 * identity.c: the client's identity file, DIR/NAME.key.  A short text file
 * (so a human can tell what it is), 0600, written atomically, never replaced.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "identity.h"
#include "localfile.h"
#include "proto.h"
#include "util.h"

#ifndef BINDING_CONTEXT
#define BINDING_CONTEXT		"securechat/v1/identity-binding"
#endif
#ifndef LOGIN_CONTEXT
#define LOGIN_CONTEXT		"securechat login v1"
#endif

#define FILE_MAGIC		"securechat-identity"
#define FILE_VERSION		"v1"
#define FILE_MAX	4096	/* ours are under 1 KiB */
#define SALT_LEN	16
#define BODY_MAX	512	/* four "name HEX64" lines */
/* Bounds for the scrypt parameters read from a file: at most 256 MiB. */
#define SCRYPT_N_MAX	(1u << 20)
#define SCRYPT_R_MAX	32
#define SCRYPT_P_MAX	16
#define SCRYPT_MEM_MAX	(256u * 1024 * 1024)

uint64_t identity_scrypt_n = IDENTITY_SCRYPT_N;

/* The lines of the (plain) body, in the order they are written. */
enum { K_SIGN, K_DH, K_SIGN_PUB, K_DH_PUB, K_COUNT };
static const char *const body_keys[K_COUNT] = {
	"sign", "dh", "sign-pub", "dh-pub"
};

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/*
 * Parse the plain body: lines "KEY HEX64".  sign and dh are required;
 * sign-pub and dh-pub, if present, must match the derived public keys.
 */
static int
parse_body(const char *body, size_t len, const char *path,
    struct identity *id, char *err, size_t errsz)
{
	uint8_t		 pubs[2][32];
	int		 seen[K_COUNT] = { 0 };
	const char	*line, *end, *sp, *next;
	size_t		 llen, klen;
	int		 k, rc = -1;
	uint8_t		*dst;

	for (line = body; line < body + len; line = next) {
		if ((end = memchr(line, '\n', body + len - line)) == NULL) {
			end = body + len;	/* last newline optional */
			next = end;
		} else
			next = end + 1;
		llen = (size_t)(end - line);
		if (llen == 0)
			continue;
		if ((sp = memchr(line, ' ', llen)) == NULL) {
			seterr(err, errsz, "identity file %s is damaged: "
			    "a line has no value", path);
			goto out;
		}
		klen = (size_t)(sp - line);
		for (k = 0; k < K_COUNT; k++)
			if (strlen(body_keys[k]) == klen &&
			    memcmp(body_keys[k], line, klen) == 0)
				break;
		if (k == K_COUNT) {
			/* Only the key word: the value may be a secret. */
			seterr(err, errsz, "identity file %s is damaged: "
			    "unknown line '%.*s'", path,
			    (int)(klen > 16 ? 16 : klen), line);
			goto out;
		}
		if (seen[k]++) {
			seterr(err, errsz, "identity file %s is damaged: "
			    "'%s' appears twice", path, body_keys[k]);
			goto out;
		}
		switch (k) {
		case K_SIGN:
			dst = id->sign_priv;
			break;
		case K_DH:
			dst = id->dh_priv;
			break;
		case K_SIGN_PUB:
			dst = pubs[0];
			break;
		default:
			dst = pubs[1];
			break;
		}
		if (hex_decode(sp + 1, llen - klen - 1, dst, 32) == -1) {
			seterr(err, errsz, "identity file %s is damaged: "
			    "'%s' is not 64 hex digits", path, body_keys[k]);
			goto out;
		}
	}
	if (!seen[K_SIGN] || !seen[K_DH]) {
		seterr(err, errsz, "identity file %s is damaged: it lacks "
		    "the '%s' key", path, seen[K_SIGN] ? "dh" : "sign");
		goto out;
	}
	if (crypto_ed25519_public(id->sign_priv, id->sign_pub) == -1 ||
	    crypto_x25519_public(id->dh_priv, id->dh_pub) == -1) {
		seterr(err, errsz, "identity file %s: cannot derive the "
		    "public keys", path);
		goto out;
	}
	if ((seen[K_SIGN_PUB] && memcmp(pubs[0], id->sign_pub, 32) != 0) ||
	    (seen[K_DH_PUB] && memcmp(pubs[1], id->dh_pub, 32) != 0)) {
		seterr(err, errsz, "identity file %s is damaged: a public key "
		    "does not match its private key", path);
		goto out;
	}
	rc = 0;
 out:
	return rc;
}

/* The whole token as unsigned decimal: no sign, no space, no suffix. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char			*end;
	unsigned long long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Line 1 "securechat-identity v1 scrypt N r p SALT NONCE", then one line
 * of hex: AES-256-GCM(scrypt(passphrase), NONCE, aad = line 1) of the
 * plain body.  Line 1 is authenticated, so its parameters cannot be
 * changed without the open failing.
 */
static int
load_scrypt(const char *line1, size_t l1len, char **tok, const char *rest,
    size_t restlen, const char *path, const char *passphrase,
    struct identity *id, char *err, size_t errsz)
{
	uint8_t		 salt[SALT_LEN], nonce[CRYPTO_AEAD_NONCE_LEN];
	uint8_t		 key[32], *box = NULL, *body = NULL;
	uint64_t	 n, r, p;
	size_t		 boxlen = 0, bodylen = 0;
	int		 rc = -1;

	if (parse_u64(tok[0], SCRYPT_N_MAX, &n) == -1 || n < 2 ||
	    (n & (n - 1)) != 0 ||
	    parse_u64(tok[1], SCRYPT_R_MAX, &r) == -1 || r == 0 ||
	    parse_u64(tok[2], SCRYPT_P_MAX, &p) == -1 || p == 0 ||
	    128 * r * n > SCRYPT_MEM_MAX ||
	    hex_decode(tok[3], strlen(tok[3]), salt, sizeof(salt)) == -1 ||
	    hex_decode(tok[4], strlen(tok[4]), nonce, sizeof(nonce)) == -1) {
		seterr(err, errsz, "identity file %s is damaged: bad "
		    "parameters on line 1", path);
		return -1;
	}
	if (restlen > 0 && rest[restlen - 1] == '\n')
		restlen--;
	if (restlen % 2 != 0 || restlen / 2 < CRYPTO_AEAD_TAG_LEN ||
	    restlen / 2 > BODY_MAX + CRYPTO_AEAD_TAG_LEN) {
		seterr(err, errsz, "identity file %s is damaged: bad "
		    "length of the encrypted line", path);
		return -1;
	}
	/* Checked after the format, so a damaged file is named as such. */
	if (passphrase == NULL) {
		seterr(err, errsz, "%s is protected by a passphrase: use "
		    "--passphrase-file or run on a terminal", path);
		return -1;
	}
	boxlen = restlen / 2;
	bodylen = boxlen - CRYPTO_AEAD_TAG_LEN;
	if ((box = malloc(boxlen)) == NULL ||
	    (body = malloc(bodylen + 1)) == NULL) {
		seterr(err, errsz, "out of memory");
		goto out;
	}
	if (hex_decode(rest, restlen, box, boxlen) == -1) {
		seterr(err, errsz, "identity file %s is damaged: the "
		    "encrypted line is not hex", path);
		goto out;
	}
	if (crypto_scrypt(passphrase, strlen(passphrase), salt, sizeof(salt),
	    n, (uint32_t)r, (uint32_t)p, key, sizeof(key)) == -1) {
		seterr(err, errsz, "identity file %s: scrypt failed", path);
		goto out;
	}
	if (crypto_aead_open(key, nonce, line1, l1len, box, boxlen,
	    body) == -1) {
		/* Usually the passphrase; a bit flip in the file is the other. */
		seterr(err, errsz, "wrong passphrase for %s (or the file "
		    "was altered)", path);
		goto out;
	}
	rc = parse_body((const char *)body, bodylen, path, id, err, errsz);
 out:
	OPENSSL_cleanse(key, sizeof(key));
	if (body != NULL)
		OPENSSL_clear_free(body, bodylen + 1);
	free(box);	/* ciphertext: nothing secret */
	return rc;
}

/* Parse a whole file held in buf (NUL-terminated, len bytes). */
static int
parse_file(char *buf, size_t len, const char *path, const char *passphrase,
    struct identity *id, char *err, size_t errsz)
{
	char	 line1[256], *tok[9], *save = NULL, *t;
	char	*nl;
	size_t	 l1len, ntok = 0;

	if (memchr(buf, '\0', len) != NULL ||
	    (nl = memchr(buf, '\n', len)) == NULL ||
	    (l1len = (size_t)(nl - buf)) >= sizeof(line1)) {
		seterr(err, errsz, "identity file %s is damaged: no "
		    "'" FILE_MAGIC "' first line", path);
		return -1;
	}
	memcpy(line1, buf, l1len);
	line1[l1len] = '\0';
	for (t = strtok_r(line1, " ", &save); t != NULL && ntok < 9;
	    t = strtok_r(NULL, " ", &save))
		tok[ntok++] = t;
	if (ntok < 3 || strcmp(tok[0], FILE_MAGIC) != 0) {
		seterr(err, errsz, "%s is not a securechat identity file "
		    "(its first line is not '" FILE_MAGIC " ...')", path);
		return -1;
	}
	if (strcmp(tok[1], FILE_VERSION) != 0) {
		seterr(err, errsz, "identity file %s has format %.8s; this "
		    "securechat reads " FILE_VERSION, path, tok[1]);
		return -1;
	}
	if (strcmp(tok[2], "plain") == 0 && ntok == 3)
		return parse_body(nl + 1, len - l1len - 1, path, id, err,
		    errsz);
	if (strcmp(tok[2], "scrypt") == 0 && ntok == 8)
		/* The AAD is line 1 as stored, not our tokenised copy. */
		return load_scrypt(buf, l1len, tok + 3, nl + 1,
		    len - l1len - 1, path, passphrase, id, err, errsz);
	seterr(err, errsz, "identity file %s is damaged: cannot parse "
	    "line 1", path);
	return -1;
}

/* 0 loaded, 1 missing, -1 refused or damaged. */
static int
load_file(const char *path, const char *passphrase, struct identity *id,
    char *err, size_t errsz)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rc;

	if ((rc = localfile_slurp("identity file", path, FILE_MAX, &buf, &len,
	    err, errsz)) != 0)
		return rc;
	rc = parse_file((char *)buf, len, path, passphrase, id, err, errsz);
	OPENSSL_clear_free(buf, len + 1);
	return rc;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	 nw;

	while (len > 0) {
		if ((nw = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += nw;
		len -= (size_t)nw;
	}
	return 0;
}

/* The text of a new file for id, plain or under passphrase, into out. */
static int
format_file(const struct identity *id, const char *passphrase, char *out,
    size_t outsz)
{
	char		 hex[4][65], line1[256];
	char		 body[BODY_MAX], *boxhex = NULL;
	uint8_t		 salt[SALT_LEN], nonce[CRYPTO_AEAD_NONCE_LEN];
	uint8_t		 key[32], box[BODY_MAX + CRYPTO_AEAD_TAG_LEN];
	char		 salthex[2 * SALT_LEN + 1];
	char		 noncehex[2 * CRYPTO_AEAD_NONCE_LEN + 1];
	int		 n, blen, rc = -1;

	hex_encode(id->sign_priv, 32, hex[0]);
	hex_encode(id->dh_priv, 32, hex[1]);
	hex_encode(id->sign_pub, 32, hex[2]);
	hex_encode(id->dh_pub, 32, hex[3]);
	blen = snprintf(body, sizeof(body), "sign %s\ndh %s\nsign-pub %s\n"
	    "dh-pub %s\n", hex[0], hex[1], hex[2], hex[3]);
	if (blen < 0 || (size_t)blen >= sizeof(body))
		goto out;
	if (passphrase == NULL) {
		n = snprintf(out, outsz, FILE_MAGIC " " FILE_VERSION
		    " plain\n%s", body);
		if (n < 0 || (size_t)n >= outsz)
			goto out;
		rc = 0;
		goto out;
	}
	if (crypto_random(salt, sizeof(salt)) == -1 ||
	    crypto_random(nonce, sizeof(nonce)) == -1)
		goto out;
	hex_encode(salt, sizeof(salt), salthex);
	hex_encode(nonce, sizeof(nonce), noncehex);
	n = snprintf(line1, sizeof(line1), FILE_MAGIC " " FILE_VERSION
	    " scrypt %llu %d %d %s %s", (unsigned long long)identity_scrypt_n,
	    IDENTITY_SCRYPT_R, IDENTITY_SCRYPT_P, salthex, noncehex);
	if (n < 0 || (size_t)n >= sizeof(line1))
		goto out;
	/* A fresh salt gives a fresh key, so the random nonce is unique. */
	if (crypto_scrypt(passphrase, strlen(passphrase), salt, sizeof(salt),
	    identity_scrypt_n, IDENTITY_SCRYPT_R, IDENTITY_SCRYPT_P, key,
	    sizeof(key)) == -1)
		goto out;
	if (crypto_aead_seal(key, nonce, line1, (size_t)n, body,
	    (size_t)blen, box) == -1)
		goto out;
	if ((boxhex = malloc(2 * ((size_t)blen + CRYPTO_AEAD_TAG_LEN) +
	    1)) == NULL)
		goto out;
	hex_encode(box, (size_t)blen + CRYPTO_AEAD_TAG_LEN, boxhex);
	n = snprintf(out, outsz, "%s\n%s\n", line1, boxhex);
	if (n < 0 || (size_t)n >= outsz)
		goto out;
	rc = 0;
 out:
	free(boxhex);
	OPENSSL_cleanse(hex, sizeof(hex));
	OPENSSL_cleanse(body, sizeof(body));
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0)
		OPENSSL_cleanse(out, outsz);
	return rc;
}

/*
 * Write a new file: temp file (O_EXCL, 0600) in the same directory,
 * fsync, then link() to the final name, which, unlike rename(), never
 * replaces an identity another process created meanwhile.  0 created,
 * 1 someone else's file is there now, -1 error.
 */
static int
create_file(const char *dir, const char *path, const char *passphrase,
    struct identity *id, char *err, size_t errsz)
{
	char	 tmp[PATH_MAX], text[FILE_MAX];
	int	 fd = -1, rc = -1, n;

	if (crypto_ed25519_keygen(id->sign_priv, id->sign_pub) == -1 ||
	    crypto_x25519_keygen(id->dh_priv, id->dh_pub) == -1) {
		seterr(err, errsz, "cannot generate keys");
		return -1;
	}
	if (format_file(id, passphrase, text, sizeof(text)) == -1) {
		seterr(err, errsz, "cannot encode identity file %s", path);
		return -1;
	}
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.key.XXXXXX", dir, id->name);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		seterr(err, errsz, "path too long: %s", dir);
		goto out;
	}
	/* mkostemp: O_CREAT | O_EXCL, mode 0600 whatever the umask. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		seterr(err, errsz, "cannot create identity file in %s: %s",
		    dir, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) == -1 ||
	    write_all(fd, text, strlen(text)) == -1 || fsync(fd) == -1) {
		seterr(err, errsz, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto unlink;
	}
	if (close(fd) == -1) {
		fd = -1;
		seterr(err, errsz, "cannot write %s: %s", tmp,
		    strerror(errno));
		goto unlink;
	}
	fd = -1;
	if (link(tmp, path) == -1) {
		if (errno == EEXIST) {
			rc = 1;
			goto unlink;
		}
		/* No hard links here (some network/FUSE file systems). */
		if (rename(tmp, path) == -1) {
			seterr(err, errsz, "cannot create %s: %s", path,
			    strerror(errno));
			goto unlink;
		}
	} else
		(void)unlink(tmp);
	/* Make the new name durable before anyone registers its keys. */
	if (localfile_sync_dir(path, err, errsz) == -1)
		goto out;
	rc = 0;
	goto out;
 unlink:
	(void)unlink(tmp);
 out:
	if (fd != -1)
		close(fd);
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int
identity_load_or_create(const char *dir, const char *name,
    const char *passphrase, struct identity *id, int *created, char *err,
    size_t errsz)
{
	char	 path[PATH_MAX];
	int	 attempt, n, rc;

	memset(id, 0, sizeof(*id));
	if (created != NULL)
		*created = 0;
	if (str_copy(id->name, name, sizeof(id->name)) == -1 ||
	    proto_fold_user(id->name) == -1) {
		seterr(err, errsz, "invalid user name '%.40s': use 1 to 32 "
		    "of a-z 0-9 _ -", name);
		goto fail;
	}
	n = snprintf(path, sizeof(path), "%s/%s.key", dir, id->name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		seterr(err, errsz, "path too long: %s", dir);
		goto fail;
	}
	/* Twice: a file created by another process between the two steps. */
	for (attempt = 0; attempt < 2; attempt++) {
		if ((rc = load_file(path, passphrase, id, err, errsz)) == 0)
			return 0;
		if (rc == -1)
			goto fail;
		if ((rc = create_file(dir, path, passphrase, id, err,
		    errsz)) == 0) {
			if (created != NULL)
				*created = 1;
			return 0;
		}
		if (rc == -1)
			goto fail;
		OPENSSL_cleanse(id->sign_priv, sizeof(id->sign_priv));
		OPENSSL_cleanse(id->dh_priv, sizeof(id->dh_priv));
	}
	seterr(err, errsz, "identity file %s keeps appearing and "
	    "disappearing", path);
 fail:
	identity_wipe(id);
	return -1;
}

void
identity_wipe(struct identity *id)
{
	OPENSSL_cleanse(id, sizeof(*id));
}

int
identity_binding_sig(const struct identity *id, uint8_t sig[64])
{
	const struct crypto_part	 parts[] = {
		{ BINDING_CONTEXT, sizeof(BINDING_CONTEXT) - 1 },
		{ id->dh_pub, sizeof(id->dh_pub) },
	};

	return crypto_ed25519_sign_parts(id->sign_priv, parts, 2, sig);
}

int
identity_login_sig(const struct identity *id, const uint8_t nonce[32],
    const uint8_t exporter[32], uint8_t sig[64])
{
	const struct crypto_part	 parts[] = {
		{ LOGIN_CONTEXT, sizeof(LOGIN_CONTEXT) - 1 },
		{ nonce, 32 },
		{ exporter, 32 },
		{ id->name, strlen(id->name) },
	};

	return crypto_ed25519_sign_parts(id->sign_priv, parts, 4, sig);
}

int
identity_read_passphrase_file(const char *path, char *out, size_t outsz,
    char *err, size_t errsz)
{
	struct stat	 st;
	size_t		 len = 0;
	ssize_t		 nr;
	char		 c;
	int		 fd, rc = -1;

	if (outsz < 2) {
		seterr(err, errsz, "no room for a passphrase");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1) {
		seterr(err, errsz, "cannot open passphrase file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, errsz, "cannot stat %s: %s", path,
		    strerror(errno));
		goto out;
	}
	/* A pipe is fine too: --passphrase-file <(pass show securechat). */
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
		seterr(err, errsz, "passphrase file %s is not a regular file",
		    path);
		goto out;
	}
	if (localfile_check_mode("passphrase file", path, &st, err, errsz) == -1)
		goto out;
	/* A byte at a time: never read past the line into a buffer. */
	for (;;) {
		if ((nr = read(fd, &c, 1)) == -1) {
			if (errno == EINTR)
				continue;
			seterr(err, errsz, "cannot read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (nr == 0 || c == '\n')
			break;
		if (len + 1 >= outsz) {
			seterr(err, errsz, "the first line of %s is longer "
			    "than %zu bytes", path, outsz - 1);
			goto out;
		}
		out[len++] = c;
	}
	if (len > 0 && out[len - 1] == '\r')	/* written on Windows */
		len--;
	if (len == 0) {
		seterr(err, errsz, "passphrase file %s has an empty first "
		    "line", path);
		goto out;
	}
	out[len] = '\0';
	rc = 0;
 out:
	OPENSSL_cleanse(&c, sizeof(c));
	if (rc != 0)
		OPENSSL_cleanse(out, outsz);
	close(fd);
	return rc;
}
