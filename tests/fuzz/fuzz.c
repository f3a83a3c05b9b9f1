/*
 * fuzz.c: helpers of the fuzz harnesses and the seed generator (fuzz.h).
 * The fixed random stream is for reproducible inputs only: nothing built
 * with it is ever a secret.
 */
#include "config.h"

/* RAND_METHOD is deprecated, and the only way to fix what keygen draws. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "crypto.h"
#include "e2e-prekey.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

static uint64_t	 rand_state;

/* splitmix64: fast, and the same on every machine. */
static int
fixed_bytes(unsigned char *buf, int num)
{
	uint64_t	 z;
	int		 i;

	for (i = 0; i < num; i++) {
		if (i % 8 == 0) {
			z = (rand_state += 0x9e3779b97f4a7c15ULL);
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
			z ^= z >> 31;
		}
		buf[i] = (unsigned char)(z >> (8 * (i % 8)));
	}
	return 1;
}

static int
fixed_status(void)
{
	return 1;
}

static RAND_METHOD fixed_method = {
	NULL, fixed_bytes, NULL, NULL, fixed_bytes, fixed_status,
};

void
fuzz_rand_reset(void)
{
	rand_state = 0x5ec0eca7f022ULL;
}

void
fuzz_setup(void)
{
	/* As every securechat process does: a closed peer is an error. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		abort();
	fuzz_rand_reset();
	if (RAND_set_rand_method(&fixed_method) != 1)
		abort();
	log_procname("fuzz");
	log_init(1, getenv("FUZZ_VERBOSE") != NULL ? LOG_LEVEL_DEBUG : -1);
}

/* SHA-256 of "securechat fuzz NAME WHAT": a key no one else has. */
static void
derive(const char *name, const char *what, uint8_t out[32])
{
	char	 label[128];

	(void)snprintf(label, sizeof(label), "securechat fuzz %s %s", name,
	    what);
	if (crypto_sha256(label, strlen(label), out) == -1)
		abort();
}

void
fuzz_keys(const char *name, struct fuzz_keys *k)
{
	derive(name, "sign", k->sign_priv);
	derive(name, "dh", k->dh_priv);
	derive(name, "spk", k->spk_priv);
	if (crypto_ed25519_public(k->sign_priv, k->sign_pub) == -1 ||
	    crypto_x25519_public(k->dh_priv, k->dh_pub) == -1 ||
	    crypto_x25519_public(k->spk_priv, k->spk_pub) == -1 ||
	    e2e_prekey_sign(k->sign_priv, FUZZ_SPK_ID, FUZZ_SPK_CREATED,
	    k->spk_pub, k->spk_sig) == -1)
		abort();
}

static char	*tmpdirs[4];

/* At exit, the scratch directories go; a crash leaves them to see. */
static void
tmpdirs_remove(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(tmpdirs) / sizeof(tmpdirs[0]); i++)
		if (tmpdirs[i] != NULL)
			fuzz_rmdir(tmpdirs[i]);
}

char *
fuzz_tmpdir(const char *what)
{
	static int	 registered;
	size_t		 i;
	const char	*base = getenv("TMPDIR");
	struct stat	 st;
	char		*dir;

	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	else if (base == NULL || *base == '\0')
		base = "/tmp";
	(void)xasprintf(&dir, "%s/securechat-%s.XXXXXX", base, what);
	if (mkdtemp(dir) == NULL)
		abort();
	for (i = 0; i < sizeof(tmpdirs) / sizeof(tmpdirs[0]); i++)
		if (tmpdirs[i] == NULL) {
			tmpdirs[i] = dir;
			break;
		}
	if (!registered && atexit(tmpdirs_remove) == 0)
		registered = 1;
	return dir;
}

void
fuzz_rmdir(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[PATH_MAX];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		(void)unlink(path);
	}
	(void)closedir(d);
	(void)rmdir(dir);
}

uint8_t *
fuzz_sign_body(const char *label, const uint8_t priv[32], const uint8_t *hdr,
    size_t hdrlen, const uint8_t *ct, size_t ctlen, size_t *len)
{
	struct crypto_part	 parts[3];
	uint8_t			*msg;

	*len = hdrlen + 4 + ctlen + CRYPTO_SIG_LEN;
	msg = xmalloc(*len);
	if (hdrlen > 0)
		memcpy(msg, hdr, hdrlen);
	be32_put(msg + hdrlen, (uint32_t)ctlen);
	if (ctlen > 0)
		memcpy(msg + hdrlen + 4, ct, ctlen);
	parts[0].p = label;
	parts[0].len = strlen(label);
	parts[1].p = hdr;
	parts[1].len = hdrlen;
	parts[2].p = ct;
	parts[2].len = ctlen;
	if (crypto_ed25519_sign_parts(priv, parts, 3,
	    msg + hdrlen + 4 + ctlen) == -1)
		abort();
	return msg;
}

uint8_t *
fuzz_copy(const uint8_t *data, size_t size)
{
	uint8_t	*p;

	p = xmalloc(size == 0 ? 1 : size);
	if (size > 0)
		memcpy(p, data, size);
	return p;
}

uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t	 v;

	if (in->len == 0)
		return 0;
	v = in->p[0];
	in->p++;
	in->len--;
	return v;
}

uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t	 hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

uint32_t
fuzz_u32(struct fuzz_in *in)
{
	uint32_t	 hi = fuzz_u16(in);

	return hi << 16 | fuzz_u16(in);
}

uint64_t
fuzz_u64(struct fuzz_in *in)
{
	uint64_t	 hi = fuzz_u32(in);

	return hi << 32 | fuzz_u32(in);
}

const uint8_t *
fuzz_bytes(struct fuzz_in *in, size_t n, size_t *got)
{
	const uint8_t	*p = in->p;

	if (n > in->len)
		n = in->len;
	in->p += n;
	in->len -= n;
	*got = n;
	return p;
}

void
fuzz_str(struct fuzz_in *in, char *out, size_t outsz)
{
	const uint8_t	*p;
	size_t		 n, i;

	p = fuzz_bytes(in, fuzz_u8(in), &n);
	for (i = 0; i < n && i < outsz - 1 && p[i] != '\0'; i++)
		out[i] = (char)p[i];
	out[i] = '\0';
}
