/*
 * keysign.c: a small built-in OpenSSL provider, so that a worker's TLS
 * context can use the server key without holding it.  Its key management
 * knows only the public half (taken from the certificate, kept as a
 * default-provider key that answers every parameter query); its one
 * signature algorithm sends the whole message libssl asks to sign to the
 * key process and returns the answer.  libssl sees an ordinary key of
 * type ED25519, ED448, EC, RSA or RSA-PSS: the names are the default
 * provider's, the implementations are preferred only when asked for by
 * property ("provider=scdelegate").  See provider-keymgmt(7) and
 * provider-signature(7); the anchor is OpenSMTPD's ca process.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "frame.h"
#include "ipc.h"
#include "keysign.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#define KS_PROVIDER	"scdelegate"
#define KS_PROPS	"provider=" KS_PROVIDER
#define KS_SIGNATURE	"SC-DELEGATED"
#define KS_MD_MAX	32
#define KS_MSG_MAX	(TLS_SIG_MAX + 256)

/* The key types a server certificate may carry, with the default's names. */
enum ks_type {
	KS_ED25519,
	KS_ED448,
	KS_EC,
	KS_RSA,
	KS_RSA_PSS,
	KS_NTYPES,
};

static const char *const ks_type_name[KS_NTYPES] = {
	[KS_ED25519] = "ED25519",
	[KS_ED448] = "ED448",
	[KS_EC] = "EC",
	[KS_RSA] = "RSA",
	[KS_RSA_PSS] = "RSA-PSS",
};

/* Key data: a public key of the default provider, and its type. */
struct ks_key {
	enum ks_type	 type;
	EVP_PKEY	*pub;
};

/* Signature context: the key and the digest libssl chose. */
struct ks_sig {
	struct ks_key	*key;
	char		 md[KS_MD_MAX];
};

static struct {
	int		 initialised;
	int		 fd;			/* the key link, or -1 */
	OSSL_PROVIDER	*dflt;
	OSSL_PROVIDER	*self;
	EVP_KEYMGMT	*keymgmt[KS_NTYPES];	/* the default's, for tables */
} ks = { 0, -1, NULL, NULL, { NULL } };

static int	 ks_remote_sign(const char *, const uint8_t *, size_t,
		    uint8_t *, size_t *, size_t);

/* --- Key management ----------------------------------------------------- */

static void *
ks_new(enum ks_type type)
{
	struct ks_key	*k;

	if ((k = OPENSSL_zalloc(sizeof(*k))) == NULL)
		return NULL;
	k->type = type;
	return k;
}

static void
ks_free(void *keydata)
{
	struct ks_key	*k = keydata;

	if (k == NULL)
		return;
	EVP_PKEY_free(k->pub);
	OPENSSL_free(k);
}

/* Private or public, we "have" the key once we know its public half. */
static int
ks_has(const void *keydata, int selection)
{
	const struct ks_key	*k = keydata;

	return k != NULL && k->pub != NULL;
}

/*
 * Only the public half and the domain parameters are ever taken: a private
 * part offered (by an export of a whole key pair) is not read.
 */
static int
ks_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct ks_key	*k = keydata;
	EVP_PKEY_CTX	*pctx;
	EVP_PKEY	*pub = NULL;
	int		 ok;

	if (k == NULL || (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0)
		return 0;
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, ks_type_name[k->type],
	    "provider=default")) == NULL)
		return 0;
	ok = EVP_PKEY_fromdata_init(pctx) > 0 &&
	    EVP_PKEY_fromdata(pctx, &pub, EVP_PKEY_PUBLIC_KEY,
	    (OSSL_PARAM *)params) > 0;
	EVP_PKEY_CTX_free(pctx);
	if (!ok)
		return 0;
	EVP_PKEY_free(k->pub);
	k->pub = pub;
	return 1;
}

static int
ks_match(const void *a, const void *b, int selection)
{
	const struct ks_key	*ka = a, *kb = b;

	if (ka == NULL || kb == NULL || ka->pub == NULL || kb->pub == NULL)
		return 0;
	return EVP_PKEY_eq(ka->pub, kb->pub) == 1;
}

/* Size, security bits, group, default digest: the public key answers. */
static int
ks_get_params(void *keydata, OSSL_PARAM params[])
{
	struct ks_key	*k = keydata;

	if (k == NULL || k->pub == NULL)
		return 0;
	return EVP_PKEY_get_params(k->pub, params);
}

static const char *
ks_operation_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? KS_SIGNATURE : NULL;
}

/* What import reads: the public parameters of each type. */
static const OSSL_PARAM ks_ecx_types[] = {
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM ks_ec_types[] = {
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
	    NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM ks_rsa_types[] = {
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM *
ks_import_types_of(enum ks_type type)
{
	switch (type) {
	case KS_ED25519:
	case KS_ED448:
		return ks_ecx_types;
	case KS_EC:
		return ks_ec_types;
	case KS_RSA:
	case KS_RSA_PSS:
		return ks_rsa_types;
	default:
		return NULL;
	}
}

/* One dispatch table per type: new and the tables cannot see the key. */
#define KS_KEYMGMT(id, tag)						\
static void *								\
ks_new_##tag(void *provctx)						\
{									\
	return ks_new(id);						\
}									\
static const OSSL_PARAM *						\
ks_import_types_##tag(int selection)					\
{									\
	return ks_import_types_of(id);					\
}									\
static const OSSL_PARAM *						\
ks_gettable_##tag(void *provctx)					\
{									\
	return EVP_KEYMGMT_gettable_params(ks.keymgmt[id]);		\
}									\
static const OSSL_DISPATCH ks_keymgmt_##tag[] = {			\
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ks_new_##tag },	\
	{ OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))ks_free },		\
	{ OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))ks_has },		\
	{ OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))ks_match },		\
	{ OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))ks_import },	\
	{ OSSL_FUNC_KEYMGMT_IMPORT_TYPES,				\
	    (void (*)(void))ks_import_types_##tag },			\
	{ OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))ks_get_params }, \
	{ OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,				\
	    (void (*)(void))ks_gettable_##tag },			\
	{ OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,			\
	    (void (*)(void))ks_operation_name },			\
	{ 0, NULL }							\
};

KS_KEYMGMT(KS_ED25519, ed25519)
KS_KEYMGMT(KS_ED448, ed448)
KS_KEYMGMT(KS_EC, ec)
KS_KEYMGMT(KS_RSA, rsa)
KS_KEYMGMT(KS_RSA_PSS, rsa_pss)

/* The default provider's name lists, so that EVP_PKEY_is_a() agrees. */
static const OSSL_ALGORITHM ks_keymgmt_algs[] = {
	{ "ED25519:1.3.101.112", KS_PROPS, ks_keymgmt_ed25519, NULL },
	{ "ED448:1.3.101.113", KS_PROPS, ks_keymgmt_ed448, NULL },
	{ "EC:id-ecPublicKey:1.2.840.10045.2.1", KS_PROPS, ks_keymgmt_ec,
	    NULL },
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", KS_PROPS, ks_keymgmt_rsa,
	    NULL },
	{ "RSA-PSS:RSASSA-PSS:1.2.840.113549.1.1.10", KS_PROPS,
	    ks_keymgmt_rsa_pss, NULL },
	{ NULL, NULL, NULL, NULL }
};

/* --- Signature ---------------------------------------------------------- */

static void *
ks_sig_new(void *provctx, const char *propq)
{
	return OPENSSL_zalloc(sizeof(struct ks_sig));
}

static void
ks_sig_free(void *vctx)
{
	OPENSSL_free(vctx);
}

static void *
ks_sig_dup(void *vctx)
{
	struct ks_sig	*c;

	if ((c = OPENSSL_malloc(sizeof(*c))) != NULL)
		memcpy(c, vctx, sizeof(*c));
	return c;
}

/*
 * The digest is passed on by name; RSA's padding and salt length are
 * the key process's to decide (TLS 1.3 allows PSS with a salt as long
 * as the digest, nothing else), so those settings are accepted as given.
 */
static int
ks_sig_set_params(void *vctx, const OSSL_PARAM params[])
{
	struct ks_sig	*c = vctx;
	const OSSL_PARAM *p;
	char		*md = c->md;

	if (params == NULL)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p != NULL && !OSSL_PARAM_get_utf8_string(p, &md, sizeof(c->md)))
		return 0;
	return 1;
}

static const OSSL_PARAM ks_sig_settable[] = {
	OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM *
ks_sig_settable_params(void *vctx, void *provctx)
{
	return ks_sig_settable;
}

static int
ks_digest_sign_init(void *vctx, const char *mdname, void *provkey,
    const OSSL_PARAM params[])
{
	struct ks_sig	*c = vctx;

	if (provkey == NULL || ((struct ks_key *)provkey)->pub == NULL)
		return 0;
	c->key = provkey;
	c->md[0] = '\0';
	if (mdname != NULL && str_copy(c->md, mdname, sizeof(c->md)) == -1)
		return 0;
	return ks_sig_set_params(vctx, params);
}

/* One shot: libssl hands over the whole CertificateVerify input. */
static int
ks_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
    const unsigned char *tbs, size_t tbslen)
{
	struct ks_sig	*c = vctx;
	int		 max;

	if (c->key == NULL || (max = EVP_PKEY_get_size(c->key->pub)) <= 0)
		return 0;
	if (sig == NULL) {
		*siglen = (size_t)max;
		return 1;
	}
	return ks_remote_sign(c->md, tbs, tbslen, sig, siglen, sigsize);
}

static const OSSL_DISPATCH ks_signature[] = {
	{ OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))ks_sig_new },
	{ OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))ks_sig_free },
	{ OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))ks_sig_dup },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT,
	    (void (*)(void))ks_digest_sign_init },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))ks_digest_sign },
	{ OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS,
	    (void (*)(void))ks_sig_set_params },
	{ OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS,
	    (void (*)(void))ks_sig_settable_params },
	{ 0, NULL }
};

static const OSSL_ALGORITHM ks_signature_algs[] = {
	{ KS_SIGNATURE, KS_PROPS, ks_signature, NULL },
	{ NULL, NULL, NULL, NULL }
};

/* --- The provider ------------------------------------------------------- */

static const OSSL_ALGORITHM *
ks_query(void *provctx, int operation_id, int *no_cache)
{
	*no_cache = 0;
	switch (operation_id) {
	case OSSL_OP_KEYMGMT:
		return ks_keymgmt_algs;
	case OSSL_OP_SIGNATURE:
		return ks_signature_algs;
	default:
		return NULL;
	}
}

static const OSSL_DISPATCH ks_provider[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))ks_query },
	{ 0, NULL }
};

static int
ks_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	*out = ks_provider;
	*provctx = (void *)handle;
	return 1;
}

/* --- The key link ------------------------------------------------------- */

static int
ks_fail(const char *what)
{
	log_warnx("key process: %s", what);
	return 0;
}

/* Wait for the answer at most KEYSIGN_TIMEOUT_MS: libssl waits with us. */
static int
ks_wait(int fd)
{
	struct pollfd	 pfd;
	uint64_t	 end = now_ms() + KEYSIGN_TIMEOUT_MS, now;
	int		 rv;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((now = now_ms()) < end) {
		rv = poll(&pfd, 1, (int)(end - now));
		if (rv == -1 && errno == EINTR)
			continue;
		return rv == 1 ? 0 : -1;
	}
	return -1;
}

static int
ks_remote_sign(const char *md, const uint8_t *tbs, size_t tbslen,
    uint8_t *sig, size_t *siglen, size_t sigsize)
{
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			 buf[KS_MSG_MAX];
	const uint8_t		*val;
	size_t			 len;
	int			 fd;

	if (ks.fd == -1)
		return ks_fail("no key link");
	frame_begin(&b, IMSG_SIGN, KS_MSG_MAX);
	frame_put_str(&b, F_MD_NAME, md);
	frame_put_bytes(&b, F_TBS, tbs, tbslen);
	if (frame_finish(&b) == -1 || ipc_send(ks.fd, &b, -1) == -1) {
		frame_buf_free(&b);
		return ks_fail("cannot send the request");
	}
	frame_buf_free(&b);
	if (ks_wait(ks.fd) == -1)
		return ks_fail("no answer in time");
	if (ipc_recv(ks.fd, buf, sizeof(buf), &f, &fd) <= 0)
		return ks_fail("refused to sign (link closed)");
	if (fd != -1) {
		(void)close(fd);
		return ks_fail("sent a descriptor");
	}
	if (frame_validate(&f, proto_keyproc_spec(f.type)) != FRAME_OK ||
	    f.type != IMSG_SIGNATURE ||
	    frame_get_bytes(&f, F_TLS_SIG, &val, &len) == -1 || len > sigsize)
		return ks_fail("bad answer");
	memcpy(sig, val, len);
	*siglen = len;
	return 1;
}

void
keysign_set_fd(int fd)
{
	ks.fd = fd;
}

void
keysign_close(void)
{
	if (ks.fd != -1)
		(void)close(ks.fd);
	ks.fd = -1;
}

/* --- Setting up --------------------------------------------------------- */

int
keysign_init(char *err, size_t errsz)
{
	char	 ebuf[256];
	int	 i;

	if (ks.initialised)
		return 0;
	/*
	 * Loading a provider explicitly stops the default one loading by
	 * itself, so it is loaded first; and it stays the one fetched when
	 * nobody asks for ours by name.
	 */
	if ((ks.dflt = OSSL_PROVIDER_load(NULL, "default")) == NULL ||
	    OSSL_PROVIDER_add_builtin(NULL, KS_PROVIDER,
	    ks_provider_init) != 1 ||
	    (ks.self = OSSL_PROVIDER_load(NULL, KS_PROVIDER)) == NULL ||
	    EVP_set_default_properties(NULL, "?provider=default") != 1) {
		(void)snprintf(err, errsz, "delegated key provider: %s",
		    tls_error_string(ebuf, sizeof(ebuf)));
		return -1;
	}
	for (i = 0; i < KS_NTYPES; i++)
		if ((ks.keymgmt[i] = EVP_KEYMGMT_fetch(NULL, ks_type_name[i],
		    "provider=default")) == NULL) {
			(void)snprintf(err, errsz, "key type %s: %s",
			    ks_type_name[i], tls_error_string(ebuf,
			    sizeof(ebuf)));
			return -1;
		}
	ks.initialised = 1;
	return 0;
}

/* Our key of the same type and public half as pub. */
static EVP_PKEY *
ks_pkey(EVP_PKEY *pub, char *err, size_t errsz)
{
	EVP_PKEY_CTX	*pctx = NULL;
	EVP_PKEY	*pkey = NULL;
	OSSL_PARAM	*params = NULL;
	char		 ebuf[256];
	int		 i;

	for (i = 0; i < KS_NTYPES; i++)
		if (EVP_PKEY_is_a(pub, ks_type_name[i]))
			break;
	if (i == KS_NTYPES) {
		(void)snprintf(err, errsz, "the certificate's key type %s "
		    "cannot be delegated (Ed25519, Ed448, EC, RSA, RSA-PSS "
		    "can)", EVP_PKEY_get0_type_name(pub));
		return NULL;
	}
	if (EVP_PKEY_todata(pub, EVP_PKEY_PUBLIC_KEY, &params) != 1 ||
	    (pctx = EVP_PKEY_CTX_new_from_name(NULL, ks_type_name[i],
	    KS_PROPS)) == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		(void)snprintf(err, errsz, "delegated %s key: %s",
		    ks_type_name[i], tls_error_string(ebuf, sizeof(ebuf)));
		pkey = NULL;
	}
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(pctx);
	return pkey;
}

SSL_CTX *
keysign_ctx(const uint8_t *cert_pem, size_t cert_len, char *err, size_t errsz)
{
	SSL_CTX		*ctx;
	X509		*x;
	EVP_PKEY	*pub, *key;
	char		 ebuf[256];

	if (keysign_init(err, errsz) == -1)
		return NULL;
	if ((ctx = tls_ctx_server_pkey(cert_pem, cert_len, NULL, err,
	    errsz)) == NULL)
		return NULL;
	if ((x = SSL_CTX_get0_certificate(ctx)) == NULL ||
	    (pub = X509_get0_pubkey(x)) == NULL) {
		(void)snprintf(err, errsz, "no public key in the certificate");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if ((key = ks_pkey(pub, err, errsz)) == NULL) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		(void)snprintf(err, errsz, "delegated key: %s",
		    tls_error_string(ebuf, sizeof(ebuf)));
		EVP_PKEY_free(key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	EVP_PKEY_free(key);
	return ctx;
}
