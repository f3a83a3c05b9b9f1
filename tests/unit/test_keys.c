/*
 * test_keys.c: the client's key files: signed prekeys and their rotation,
 * sealed local files, known_users pinning, and safety numbers.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto.h"
#include "e2e-prekey.h"
#include "identity.h"
#include "localfile.h"
#include "prekeys.h"
#include "trust.h"
#include "util.h"

#define T0		1700000000ULL	/* a creation time for the prekeys */
#define DAY		86400ULL
#define LABEL		"test-label"
#define KEYHEX		"0123456789abcdef0123456789abcdef" \
			"0123456789abcdef0123456789abcdef"

struct fixture {
	char		 dir[64];
	char		 path[128];	/* DIR/file */
	char		 err[512];
	struct identity	 id;
};

static void
make_identity(struct identity *id, const char *name)
{
	memset(id, 0, sizeof(*id));
	strcpy(id->name, name);
	assert_int_equal(crypto_ed25519_keygen(id->sign_priv, id->sign_pub),
	    0);
	assert_int_equal(crypto_x25519_keygen(id->dh_priv, id->dh_pub), 0);
}

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	strcpy(f->dir, "/tmp/test_keys.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/file", f->dir);
	make_identity(&f->id, "alice");
	*state = f;
	return 0;
}

/* Entries of dir other than . and .. (the tests make no subdirectory). */
static int
entries(const char *dir, int remove_them)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0, bad = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (remove_them && unlinkat(dirfd(d), de->d_name, 0) == -1)
			bad = 1;
		n++;
	}
	closedir(d);
	return bad ? -1 : n;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	int		 rc;

	rc = entries(f->dir, 1) < 0 || rmdir(f->dir) == -1 ? -1 : 0;
	identity_wipe(&f->id);
	free(f);
	return rc;
}

static uint8_t *
read_raw(const char *path, size_t *len)
{
	FILE	*fp;
	uint8_t	*buf;

	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(buf = malloc(65536));
	*len = fread(buf, 1, 65536, fp);
	assert_true(*len < 65536);
	fclose(fp);
	return buf;
}

static void
write_raw(const char *path, const void *buf, size_t len, mode_t mode)
{
	FILE	*fp;

	(void)unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
assert_err(const char *err, const char *want)
{
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
}

/* ---- signed prekeys ---- */

/* The signature holds for what was signed, and any bit flip breaks it. */
static void
prekey_sig_binds_every_field(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 priv[32], pub[32], sig[64], other[32];
	uint32_t	 id = 0x01020304;
	uint64_t	 created = T0;
	size_t		 bit;

	assert_int_equal(crypto_x25519_keygen(priv, pub), 0);
	assert_int_equal(e2e_prekey_sign(f->id.sign_priv, id, created, pub,
	    sig), 0);
	assert_int_equal(e2e_prekey_verify(f->id.sign_pub, id, created, pub,
	    sig), 0);
	for (bit = 0; bit < 32; bit++)
		assert_int_equal(e2e_prekey_verify(f->id.sign_pub,
		    id ^ (1u << bit), created, pub, sig), -1);
	for (bit = 0; bit < 64; bit++)
		assert_int_equal(e2e_prekey_verify(f->id.sign_pub, id,
		    created ^ (1ULL << bit), pub, sig), -1);
	for (bit = 0; bit < 256; bit++) {
		pub[bit / 8] ^= 1u << (bit % 8);
		assert_int_equal(e2e_prekey_verify(f->id.sign_pub, id,
		    created, pub, sig), -1);
		pub[bit / 8] ^= 1u << (bit % 8);
	}
	for (bit = 0; bit < 512; bit++) {
		sig[bit / 8] ^= 1u << (bit % 8);
		assert_int_equal(e2e_prekey_verify(f->id.sign_pub, id,
		    created, pub, sig), -1);
		sig[bit / 8] ^= 1u << (bit % 8);
	}
	/* Another identity's key, and the prekey itself, are not the signer. */
	assert_int_equal(crypto_ed25519_keygen(priv, other), 0);
	assert_int_equal(e2e_prekey_verify(other, id, created, pub, sig), -1);
	assert_int_equal(e2e_prekey_verify(pub, id, created, pub, sig), -1);
	assert_int_equal(e2e_prekey_verify(f->id.sign_pub, id, created, pub,
	    sig), 0);
}

static int
load_pk_erase(struct fixture *f, uint64_t now, int erase, struct prekeys *pk,
    int *changed)
{
	f->err[0] = '\0';
	return prekeys_load(f->path, &f->id, now, erase, pk, changed, f->err,
	    sizeof(f->err));
}

static int
load_pk(struct fixture *f, uint64_t now, struct prekeys *pk, int *changed)
{
	return load_pk_erase(f, now, 1, pk, changed);
}

/* The first load makes a valid signed prekey; before 7 days it stays. */
static void
prekeys_created_then_kept(void **state)
{
	struct fixture		*f = *state;
	struct prekeys		 a, b;
	const struct prekey	*k;
	uint8_t			 pub[32];
	struct stat		 st;
	int			 changed;

	assert_int_equal(load_pk(f, T0, &a, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(a.n, 1);
	assert_non_null(k = prekeys_current(&a));
	assert_int_not_equal(k->id, 0);
	assert_int_equal(k->created_s, T0);
	assert_int_equal(crypto_x25519_public(k->priv, pub), 0);
	assert_memory_equal(pub, k->pub, 32);
	assert_int_equal(e2e_prekey_verify(f->id.sign_pub, k->id,
	    k->created_s, k->pub, k->sig), 0);
	assert_ptr_equal(prekeys_find(&a, k->id), k);
	assert_null(prekeys_find(&a, k->id + 1));
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(load_pk(f, T0 + 7 * DAY - 1, &b, &changed), 0);
	assert_int_equal(changed, 0);
	assert_memory_equal(&a, &b, sizeof(a));
	prekeys_wipe(&a);
	prekeys_wipe(&b);
	assert_null(prekeys_current(&a));
}

/* At 7 days a new one becomes current; the old one still opens. */
static void
prekeys_rotate_at_7_days(void **state)
{
	struct fixture		*f = *state;
	struct prekeys		 a, b, c;
	const struct prekey	*old, *cur;
	int			 changed;

	assert_int_equal(load_pk(f, T0, &a, &changed), 0);
	assert_int_equal(load_pk(f, T0 + 7 * DAY, &b, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(b.n, 2);
	cur = prekeys_current(&b);
	assert_int_equal(cur->id, a.v[0].id + 1);
	assert_int_equal(cur->created_s, T0 + 7 * DAY);
	assert_memory_not_equal(cur->priv, a.v[0].priv, 32);
	assert_int_equal(e2e_prekey_verify(f->id.sign_pub, cur->id,
	    cur->created_s, cur->pub, cur->sig), 0);
	assert_non_null(old = prekeys_find(&b, a.v[0].id));
	assert_memory_equal(old, &a.v[0], sizeof(*old));

	/* Saved: the next run sees the same two. */
	assert_int_equal(load_pk(f, T0 + 7 * DAY + 1, &c, &changed), 0);
	assert_int_equal(changed, 0);
	assert_memory_equal(&b, &c, sizeof(b));
	prekeys_wipe(&a);
	prekeys_wipe(&b);
	prekeys_wipe(&c);
}

/* At 14 days the first private half is gone, in memory and on disk. */
static void
prekeys_erase_after_14_days(void **state)
{
	struct fixture	*f = *state;
	struct prekeys	 a, b, c;
	uint32_t	 first, second;
	int		 changed;

	assert_int_equal(load_pk(f, T0, &a, &changed), 0);
	first = prekeys_current(&a)->id;
	/* Rotated a day late: at T0 + 14 days nothing is due but erasure. */
	assert_int_equal(load_pk(f, T0 + 8 * DAY, &b, &changed), 0);
	second = prekeys_current(&b)->id;
	prekeys_wipe(&b);
	assert_int_equal(load_pk(f, T0 + 14 * DAY - 1, &b, &changed), 0);
	assert_int_equal(changed, 0);
	assert_non_null(prekeys_find(&b, first));
	prekeys_wipe(&b);

	assert_int_equal(load_pk(f, T0 + 14 * DAY, &b, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(b.n, 1);
	assert_null(prekeys_find(&b, first));
	assert_int_equal(prekeys_current(&b)->id, second);

	assert_int_equal(load_pk(f, T0 + 14 * DAY, &c, &changed), 0);
	assert_int_equal(changed, 0);
	assert_null(prekeys_find(&c, first));
	assert_memory_equal(&b, &c, sizeof(b));
	prekeys_wipe(&a);
	prekeys_wipe(&b);
	prekeys_wipe(&c);
}

/*
 * Back after a month, the client holds the expired key until its backlog
 * is read (erase 0), then erases it: nothing sealed while away is lost.
 */
static void
prekeys_erase_waits_for_the_backlog(void **state)
{
	struct fixture	*f = *state;
	struct prekeys	 a, b, c;
	uint32_t	 first;
	int		 changed;

	assert_int_equal(load_pk(f, T0, &a, &changed), 0);
	first = prekeys_current(&a)->id;
	assert_int_equal(load_pk_erase(f, T0 + 30 * DAY, 0, &b, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(b.n, 2);
	assert_memory_equal(prekeys_find(&b, first), &a.v[0], sizeof(a.v[0]));
	assert_int_not_equal(prekeys_current(&b)->id, first);

	assert_int_equal(load_pk_erase(f, T0 + 30 * DAY, 1, &c, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(c.n, 1);
	assert_null(prekeys_find(&c, first));
	assert_int_equal(prekeys_current(&c)->id, prekeys_current(&b)->id);
	prekeys_wipe(&a);
	prekeys_wipe(&b);
	prekeys_wipe(&c);
}

/* Rotation and erasure at once: the current one is never erased. */
static void
prekeys_long_absence_keeps_only_current(void **state)
{
	struct fixture	*f = *state;
	struct prekeys	 a, b;
	int		 changed;

	assert_int_equal(load_pk(f, T0, &a, &changed), 0);
	assert_int_equal(load_pk(f, T0 + 30 * DAY, &b, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(b.n, 1);
	assert_null(prekeys_find(&b, a.v[0].id));
	assert_int_equal(prekeys_current(&b)->id, a.v[0].id + 1);
	assert_int_equal(prekeys_current(&b)->created_s, T0 + 30 * DAY);
	prekeys_wipe(&a);
	prekeys_wipe(&b);
}

/* Seal a prekeys payload as prekeys_load would find it. */
static void
write_prekeys(struct fixture *f, const uint8_t *buf, size_t len)
{
	assert_int_equal(localfile_write(f->path, f->id.dh_priv, "prekeys",
	    buf, len, f->err, sizeof(f->err)), 0);
}

/* Sign an entry of the payload again, as it now reads. */
static void
resign(struct fixture *f, uint8_t *e)
{
	assert_int_equal(e2e_prekey_sign(f->id.sign_priv, be32_get(e),
	    be64_get(e + 4), e + 44, e + 76), 0);
}

/* Even inside an authentic file, every prekey is checked. */
static void
prekeys_damaged_payload_refused(void **state)
{
	struct fixture	*f = *state;
	struct prekeys	 a, b;
	uint8_t		 good[2 + 2 * 140], bad[sizeof(good) + 1];
	uint8_t		*e0 = good + 2, *e1 = good + 2 + 140, *e;
	size_t		 i, len;
	int		 changed;

	assert_int_equal(load_pk(f, T0, &a, &changed), 0);
	assert_int_equal(load_pk(f, T0 + 7 * DAY, &a, &changed), 0);
	/* The layout prekeys.c writes, rebuilt from what it loaded. */
	good[0] = 1;
	good[1] = 2;
	for (i = 0; i < 2; i++) {
		e = good + 2 + 140 * i;
		be32_put(e, a.v[i].id);
		be64_put(e + 4, a.v[i].created_s);
		memcpy(e + 12, a.v[i].priv, 32);
		memcpy(e + 44, a.v[i].pub, 32);
		memcpy(e + 76, a.v[i].sig, 64);
	}
	write_prekeys(f, good, sizeof(good));
	assert_int_equal(load_pk(f, T0 + 7 * DAY, &b, &changed), 0);
	assert_memory_equal(&a, &b, sizeof(a));

	/* Each damage, one at a time, on a copy of the good payload. */
	for (i = 0; i < 8; i++) {
		len = sizeof(good);
		memset(bad, 0, sizeof(bad));
		memcpy(bad, good, sizeof(good));
		switch (i) {
		case 0:		/* unknown format */
			bad[0] = 2;
			break;
		case 1:		/* count and length disagree */
			bad[1] = 1;
			break;
		case 2:		/* a byte too many */
			len++;
			break;
		case 3:		/* public key not the private key's */
			bad[2 + 44] ^= 1;
			resign(f, bad + 2);
			break;
		case 4:		/* signature only */
			bad[2 + 76] ^= 1;
			break;
		case 5:		/* the same id twice */
			memcpy(bad + 2 + 140, e0, 4);
			resign(f, bad + 2 + 140);
			break;
		case 6:		/* the current one older than the other */
			memcpy(bad + 2, e1, 140);
			memcpy(bad + 2 + 140, e0, 140);
			break;
		default:	/* no prekey at all */
			bad[1] = 0;
			len = 2;
			break;
		}
		write_prekeys(f, bad, len);
		assert_int_equal(load_pk(f, T0 + 7 * DAY, &b, &changed), -1);
		assert_err(f->err, "is damaged");
	}
	prekeys_wipe(&a);
}

/*
 * A creation time more than a day ahead of the clock (a clock that was
 * ahead, a prekey the server refused) is erased and replaced, not a
 * reason never to start again (issue 10).
 */
static void
prekeys_future_dropped(void **state)
{
	struct fixture	*f = *state;
	struct prekeys	 a, b, c;
	int		 changed = -1;

	assert_int_equal(load_pk(f, T0 + 7 * DAY, &a, &changed), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(load_pk(f, T0 + 6 * DAY, &b, &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(b.dropped, 0);
	prekeys_wipe(&b);
	changed = -1;
	assert_int_equal(load_pk(f, T0, &b, &changed), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(b.dropped, 1);
	assert_int_equal(b.n, 1);
	assert_non_null(prekeys_current(&b));
	assert_int_equal(prekeys_current(&b)->created_s, T0);
	assert_true(prekeys_current(&b)->id != prekeys_current(&a)->id);
	assert_null(prekeys_find(&b, prekeys_current(&a)->id));
	/* Written back: the next start finds only the new one. */
	assert_int_equal(load_pk(f, T0, &c, &changed), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(c.dropped, 0);
	assert_int_equal(prekeys_current(&c)->id, prekeys_current(&b)->id);
	prekeys_wipe(&a);
	prekeys_wipe(&b);
	prekeys_wipe(&c);
}

/* The file is the identity's: another one cannot open or sign it. */
static void
prekeys_other_identity_refused(void **state)
{
	struct fixture	*f = *state;
	struct prekeys	 a, b;
	struct identity	 mine = f->id;
	int		 changed;

	assert_int_equal(load_pk(f, T0, &a, &changed), 0);
	make_identity(&f->id, "alice");
	assert_int_equal(load_pk(f, T0, &b, &changed), -1);
	assert_err(f->err, "was altered or belongs to another key");
	/* Same sealing key, another signing key: the signatures fail. */
	memcpy(f->id.dh_priv, mine.dh_priv, 32);
	assert_int_equal(load_pk(f, T0, &b, &changed), -1);
	assert_err(f->err, "is not valid for alice");
	identity_wipe(&mine);
	prekeys_wipe(&a);
}

/* ---- sealed local files ---- */

static int
lf_read(struct fixture *f, const uint8_t key[32], const char *label,
    uint8_t **data, size_t *len)
{
	f->err[0] = '\0';
	return localfile_read(f->path, key, label, data, len, f->err,
	    sizeof(f->err));
}

static void
lf_write(struct fixture *f, const char *text)
{
	assert_int_equal(localfile_write(f->path, f->id.dh_priv, LABEL,
	    (const uint8_t *)text, strlen(text), f->err, sizeof(f->err)), 0);
}

/* What is written reads back, only with the same key and label. */
static void
localfile_round_trip(void **state)
{
	struct fixture	*f = *state;
	uint8_t		*data = NULL, other[32];
	size_t		 len = 0;
	struct stat	 st;

	assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len), 1);
	assert_null(data);
	lf_write(f, "hello, world");
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(data, "hello, world", 12);
	free(data);

	assert_int_equal(lf_read(f, f->id.dh_priv, "other", &data, &len), -1);
	assert_err(f->err, "was altered or belongs to another key");
	assert_null(data);
	assert_int_equal(crypto_random(other, sizeof(other)), 0);
	assert_int_equal(lf_read(f, other, LABEL, &data, &len), -1);
	assert_err(f->err, "was altered or belongs to another key");

	lf_write(f, "");
	assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len), 0);
	assert_int_equal(len, 0);
	free(data);
}

/* Any changed byte, and any truncation, is refused. */
static void
localfile_every_byte_checked(void **state)
{
	struct fixture	*f = *state;
	uint8_t		*raw, *data;
	size_t		 rawlen, len, i;

	lf_write(f, "some state worth keeping");
	raw = read_raw(f->path, &rawlen);
	for (i = 0; i < rawlen; i++) {
		raw[i] ^= 0x01;
		write_raw(f->path, raw, rawlen, 0600);
		assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len),
		    -1);
		raw[i] ^= 0x01;
	}
	for (i = 0; i < rawlen; i++) {
		write_raw(f->path, raw, i, 0600);
		assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len),
		    -1);
	}
	write_raw(f->path, raw, 3, 0600);
	assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len), -1);
	assert_err(f->err, "is not a securechat local file");
	write_raw(f->path, raw, 30, 0600);
	assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len), -1);
	assert_err(f->err, "is truncated");
	memcpy(raw + 23, "v2", 2);
	write_raw(f->path, raw, rawlen, 0600);
	assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len), -1);
	assert_err(f->err, "unknown format version");
	free(raw);
}

/* Group or other access, a link, a directory, a huge file: refused. */
static void
localfile_refusals(void **state)
{
	struct fixture	*f = *state;
	uint8_t		*data;
	size_t		 len;
	char		 want[256], link[160];

	lf_write(f, "x");
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len), -1);
	snprintf(want, sizeof(want), "(mode 0644): run 'chmod 600 %s'",
	    f->path);
	assert_err(f->err, want);
	assert_int_equal(chmod(f->path, 0600), 0);

	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(localfile_read(link, f->id.dh_priv, LABEL, &data,
	    &len, f->err, sizeof(f->err)), -1);
	assert_err(f->err, "is a symbolic link");
	assert_int_equal(localfile_read(f->dir, f->id.dh_priv, LABEL, &data,
	    &len, f->err, sizeof(f->err)), -1);
	assert_err(f->err, "is not a regular file");

	assert_int_equal(truncate(f->path, LOCALFILE_MAX + 1), 0);
	assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len), -1);
	assert_err(f->err, "too large");
}

/* A replace leaves the new file alone: no .tmp, even a stale one. */
static void
localfile_atomic_replace(void **state)
{
	struct fixture	*f = *state;
	uint8_t		*data;
	size_t		 len;
	char		 tmp[160];
	struct stat	 st;

	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	write_raw(tmp, "stale", 5, 0644);
	lf_write(f, "first");
	assert_int_equal(entries(f->dir, 0), 1);
	lf_write(f, "second");
	assert_int_equal(entries(f->dir, 0), 1);
	assert_int_equal(stat(tmp, &st), -1);
	assert_int_equal(lf_read(f, f->id.dh_priv, LABEL, &data, &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "second", 6);
	free(data);
}

/* ---- known_users ---- */

static void
tr_load(struct fixture *f, struct trust *t)
{
	f->err[0] = '\0';
	if (trust_load(t, f->path, f->err, sizeof(f->err)) != 0)
		fail_msg("trust_load: %s", f->err);
}

static void
tr_save_reload(struct fixture *f, struct trust *t)
{
	assert_int_equal(trust_save(t, f->err, sizeof(f->err)), 0);
	trust_free(t);
	tr_load(f, t);
}

static enum trust_result
tr_check(struct trust *t, const char *server, const char *name,
    const uint8_t key[32])
{
	enum trust_result	 res;

	assert_int_equal(trust_check(t, server, name, key, &res), 0);
	return res;
}

/* First use pins; a change stays pending until accepted; all saved. */
static void
trust_pin_change_accept(void **state)
{
	struct fixture			*f = *state;
	struct trust			 t;
	const struct trust_entry	*e;
	uint8_t				 k[3][32];
	struct stat			 st;
	const char			*s = "chat.example:6697";
	int				 i;

	for (i = 0; i < 3; i++)
		assert_int_equal(crypto_random(k[i], 32), 0);
	tr_load(f, &t);
	assert_int_equal(t.n, 0);
	assert_null(trust_get(&t, s, "bob"));
	assert_int_equal(tr_check(&t, s, "bob", k[0]), TRUST_NEW);
	assert_int_equal(trust_is_trusted(&t, s, "bob", k[0]), 1);
	tr_save_reload(f, &t);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(entries(f->dir, 0), 1);
	assert_int_equal(tr_check(&t, s, "bob", k[0]), TRUST_SAME);
	assert_int_equal(trust_set_verified(&t, s, "bob"), 0);
	tr_save_reload(f, &t);
	assert_int_equal(trust_get(&t, s, "bob")->verified, 1);

	assert_int_equal(tr_check(&t, s, "bob", k[1]), TRUST_CHANGED);
	assert_int_equal(trust_is_trusted(&t, s, "bob", k[0]), 0);
	assert_int_equal(trust_is_trusted(&t, s, "bob", k[1]), 0);
	assert_int_equal(trust_set_verified(&t, s, "bob"), -1);
	tr_save_reload(f, &t);
	assert_non_null(e = trust_get(&t, s, "bob"));
	assert_int_equal(e->changed, 1);
	assert_memory_equal(e->sign_pub, k[0], 32);
	assert_memory_equal(e->new_sign_pub, k[1], 32);
	assert_int_equal(tr_check(&t, s, "bob", k[1]), TRUST_STILL_CHANGED);
	/*
	 * The pinned key again withdraws the change: k[1] is forgotten and
	 * can no longer be accepted (issue 10: /trust must not pin a key
	 * the server showed once and then hid).
	 */
	assert_int_equal(tr_check(&t, s, "bob", k[0]), TRUST_WITHDRAWN);
	assert_int_equal(trust_is_trusted(&t, s, "bob", k[0]), 1);
	assert_int_equal(trust_get(&t, s, "bob")->changed, 0);
	assert_int_equal(trust_accept(&t, s, "bob", k[1]), -1);
	assert_int_equal(tr_check(&t, s, "bob", k[0]), TRUST_SAME);
	assert_int_equal(tr_check(&t, s, "bob", k[1]), TRUST_CHANGED);
	assert_int_equal(tr_check(&t, s, "bob", k[2]), TRUST_CHANGED);
	assert_int_equal(tr_check(&t, s, "bob", k[2]), TRUST_STILL_CHANGED);
	assert_int_equal(trust_get(&t, s, "bob")->shown, 0);
	trust_set_shown(&t, s, "bob", k[1]);	/* not the pending one */
	assert_int_equal(trust_get(&t, s, "bob")->shown, 0);
	trust_set_shown(&t, s, "bob", k[2]);
	assert_int_equal(trust_get(&t, s, "bob")->shown, 1);

	/* Only the pending key itself is accepted. */
	assert_int_equal(trust_accept(&t, s, "bob", k[1]), -1);
	assert_int_equal(trust_accept(&t, s, "bob", k[2]), 0);
	assert_int_equal(trust_accept(&t, s, "bob", k[2]), -1);
	assert_int_equal(trust_accept(&t, s, "carol", k[2]), -1);
	tr_save_reload(f, &t);
	assert_non_null(e = trust_get(&t, s, "bob"));
	assert_memory_equal(e->sign_pub, k[2], 32);
	assert_int_equal(e->changed, 0);
	assert_int_equal(e->verified, 0);
	assert_int_equal(trust_is_trusted(&t, s, "bob", k[2]), 1);
	assert_int_equal(trust_is_trusted(&t, s, "bob", k[0]), 0);
	assert_int_equal(trust_is_trusted(&t, s, "carol", k[2]), 0);
	trust_free(&t);
}

/* The same name on two servers is two people: two pins. */
static void
trust_servers_separate(void **state)
{
	struct fixture	*f = *state;
	struct trust	 t;
	uint8_t		 a[32], b[32];
	enum trust_result res;

	assert_int_equal(crypto_random(a, 32), 0);
	assert_int_equal(crypto_random(b, 32), 0);
	tr_load(f, &t);
	assert_int_equal(tr_check(&t, "one.example:6697", "bob", a),
	    TRUST_NEW);
	assert_int_equal(tr_check(&t, "two.example:6697", "bob", b),
	    TRUST_NEW);
	tr_save_reload(f, &t);
	assert_int_equal(t.n, 2);
	assert_int_equal(tr_check(&t, "one.example:6697", "bob", a),
	    TRUST_SAME);
	assert_int_equal(tr_check(&t, "two.example:6697", "bob", b),
	    TRUST_SAME);
	assert_int_equal(trust_is_trusted(&t, "one.example:6697", "bob", b),
	    0);
	/* Names are stored folded, servers have no spaces. */
	assert_int_equal(trust_check(&t, "one.example:6697", "Bob", a, &res),
	    -1);
	assert_int_equal(trust_check(&t, "one example", "bob", a, &res), -1);
	assert_int_equal(trust_check(&t, "", "bob", a, &res), -1);
	assert_int_equal(t.n, 2);
	trust_free(&t);
}

/* A malformed line is named by file and line; nothing half-loaded. */
static void
trust_malformed_line(void **state)
{
	struct fixture		*f = *state;
	struct trust		 t;
	static const char	*bad[] = {
		"s:1 bob 00 pinned",
		"s:1 bob " KEYHEX " trusted",
		"s:1 Bob " KEYHEX " pinned",
		"s:1 bob " KEYHEX " pinned extra",
		"s:1 bob " KEYHEX " pinned changed",
		"s:1 bob " KEYHEX " pinned changed 1234",
		"s:1 bob " KEYHEX " pinned moved " KEYHEX,
		"s:1 bob " KEYHEX,
		"s:1 bob " KEYHEX "0 pinned",
		"s:1 bob " KEYHEX "g pinned",
	};
	char			 text[1024], want[200];
	size_t			 i;

	snprintf(want, sizeof(want), "%s:4: malformed line", f->path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "# known users\n\n"
		    "s:1 carol " KEYHEX " verified\n%s\n", bad[i]);
		write_raw(f->path, text, strlen(text), 0600);
		assert_int_equal(trust_load(&t, f->path, f->err,
		    sizeof(f->err)), -1);
		assert_err(f->err, want);
		assert_null(t.v);
		assert_null(t.path);
	}
	snprintf(text, sizeof(text), "s:1 bob " KEYHEX " pinned\n"
	    "  s:1 bob " KEYHEX " verified\n");
	write_raw(f->path, text, strlen(text), 0600);
	assert_int_equal(trust_load(&t, f->path, f->err, sizeof(f->err)), -1);
	assert_err(f->err, "bob on s:1 is listed twice");

	/* No final newline, upper-case hex: still fine, once it is 0600. */
	snprintf(text, sizeof(text), "s:1 bob " KEYHEX " pinned changed "
	    "ABCDEF" KEYHEX);
	text[strlen(text) - 6] = '\0';
	write_raw(f->path, text, strlen(text), 0644);
	assert_int_equal(trust_load(&t, f->path, f->err, sizeof(f->err)), -1);
	assert_err(f->err, "run 'chmod 600");
	assert_int_equal(chmod(f->path, 0600), 0);
	tr_load(f, &t);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.v[0].changed, 1);
	assert_int_equal(t.v[0].new_sign_pub[0], 0xab);
	assert_int_equal(t.v[0].sign_pub[0], 0x01);
	trust_free(&t);
}

/* ---- safety numbers ---- */

/* Both sides get the same 12 groups of 5 digits. */
static void
safety_number_symmetric(void **state)
{
	uint8_t	 a[32], b[32];
	char	 ab[TRUST_SAFETY_LEN], ba[TRUST_SAFETY_LEN];
	size_t	 i;

	(void)state;
	assert_int_equal(crypto_random(a, 32), 0);
	assert_int_equal(crypto_random(b, 32), 0);
	assert_int_equal(trust_safety_number("alice", a, "bob", b, ab), 0);
	assert_int_equal(trust_safety_number("bob", b, "alice", a, ba), 0);
	assert_string_equal(ab, ba);
	assert_int_equal(strlen(ab), TRUST_SAFETY_LEN - 1);
	for (i = 0; i < TRUST_SAFETY_LEN - 1; i++) {
		if (i % 6 == 5)
			assert_int_equal(ab[i], ' ');
		else
			assert_true(ab[i] >= '0' && ab[i] <= '9');
	}
	/* One name on two servers: ordered by key, still symmetric. */
	assert_int_equal(trust_safety_number("bob", a, "bob", b, ab), 0);
	assert_int_equal(trust_safety_number("bob", b, "bob", a, ba), 0);
	assert_string_equal(ab, ba);
	assert_int_equal(trust_safety_number("", a, "bob", b, ab), -1);
}

/* Any other key or name gives another number. */
static void
safety_number_changes(void **state)
{
	uint8_t	 a[32], b[32], c[32];
	char	 base[TRUST_SAFETY_LEN], other[TRUST_SAFETY_LEN];

	(void)state;
	assert_int_equal(crypto_random(a, 32), 0);
	assert_int_equal(crypto_random(b, 32), 0);
	assert_int_equal(crypto_random(c, 32), 0);
	assert_int_equal(trust_safety_number("alice", a, "bob", b, base), 0);
	assert_int_equal(trust_safety_number("alice", c, "bob", b, other), 0);
	assert_string_not_equal(base, other);
	assert_int_equal(trust_safety_number("alice", a, "bob", c, other), 0);
	assert_string_not_equal(base, other);
	assert_int_equal(trust_safety_number("alicf", a, "bob", b, other), 0);
	assert_string_not_equal(base, other);
	assert_int_equal(trust_safety_number("alice", a, "bob2", b, other), 0);
	assert_string_not_equal(base, other);
	/* The keys are tied to the names: swapping them is another number. */
	assert_int_equal(trust_safety_number("alice", b, "bob", a, other), 0);
	assert_string_not_equal(base, other);
}

/* What a user types: 60 digits, spaces anywhere, nothing else. */
static void
safety_number_parse(void **state)
{
	uint8_t	 a[32], b[32];
	char	 num[TRUST_SAFETY_LEN], d1[61], d2[61], text[128];
	char	 digits[61];
	size_t	 i, n = 0;

	(void)state;
	assert_int_equal(crypto_random(a, 32), 0);
	assert_int_equal(crypto_random(b, 32), 0);
	assert_int_equal(trust_safety_number("alice", a, "bob", b, num), 0);
	for (i = 0; num[i] != '\0'; i++)
		if (num[i] != ' ')
			digits[n++] = num[i];
	digits[n] = '\0';
	assert_int_equal(n, 60);
	assert_int_equal(trust_safety_parse(num, d1), 0);
	assert_int_equal(trust_safety_parse(digits, d2), 0);
	assert_string_equal(d1, digits);
	assert_string_equal(d2, digits);
	snprintf(text, sizeof(text), "  %.30s   %s ", digits, digits + 30);
	assert_int_equal(trust_safety_parse(text, d2), 0);
	assert_string_equal(d2, digits);

	digits[59] = '\0';
	assert_int_equal(trust_safety_parse(digits, d1), -1);
	snprintf(text, sizeof(text), "%s12", digits);
	assert_int_equal(trust_safety_parse(text, d1), -1);
	snprintf(text, sizeof(text), "%s-", digits);
	assert_int_equal(trust_safety_parse(text, d1), -1);
	snprintf(text, sizeof(text), "%sx", digits);
	assert_int_equal(trust_safety_parse(text, d1), -1);
	assert_int_equal(trust_safety_parse("", d1), -1);
}

#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		T(prekey_sig_binds_every_field),
		T(prekeys_created_then_kept),
		T(prekeys_rotate_at_7_days),
		T(prekeys_erase_after_14_days),
		T(prekeys_long_absence_keeps_only_current),
		T(prekeys_erase_waits_for_the_backlog),
		T(prekeys_damaged_payload_refused),
		T(prekeys_future_dropped),
		T(prekeys_other_identity_refused),
		T(localfile_round_trip),
		T(localfile_every_byte_checked),
		T(localfile_refusals),
		T(localfile_atomic_replace),
		T(trust_pin_change_accept),
		T(trust_servers_separate),
		T(trust_malformed_line),
		cmocka_unit_test(safety_number_symmetric),
		cmocka_unit_test(safety_number_changes),
		cmocka_unit_test(safety_number_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
