/*
 * tls.c: the TLS 1.3 contexts of both ends, built in one place so the
 * protocol limits cannot drift apart, and the helpers that describe a session.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls.h"

static void
set_err(char *err, size_t errsz, const char *what)
{
	char	 ebuf[256];

	if (err == NULL || errsz == 0)
		return;
	(void)snprintf(err, errsz, "%s: %s", what,
	    tls_error_string(ebuf, sizeof(ebuf)));
}

/* The limits both ends share: TLS 1.3 only, our suites, X25519 only. */
static int
ctx_limits(SSL_CTX *ctx, char *err, size_t errsz)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		set_err(err, errsz, "cannot restrict the protocol to TLS 1.3");
		return -1;
	}
	if (SSL_CTX_set_ciphersuites(ctx, TLS_CIPHERSUITES) != 1) {
		set_err(err, errsz, "cannot set the TLS 1.3 ciphersuites");
		return -1;
	}
	if (SSL_CTX_set1_groups_list(ctx, TLS_GROUPS) != 1) {
		set_err(err, errsz, "cannot set the key exchange groups");
		return -1;
	}
	/*
	 * Without IGNORE_UNEXPECTED_EOF, OpenSSL 3 turns a peer that vanishes
	 * into a protocol error and libevent 2.1 reports it as such.  Tickets
	 * and the session cache are off: every connection is a full handshake,
	 * so no resumption secret outlives it.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET |
	    SSL_OP_NO_RENEGOTIATION);
	(void)SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return 0;
}

SSL_CTX *
tls_ctx_server_pkey(const uint8_t *cert_pem, size_t cert_len, EVP_PKEY *pkey,
    char *err, size_t errsz)
{
	SSL_CTX		*ctx = NULL;
	BIO		*bio = NULL;
	X509		*x = NULL;

	if (cert_len > INT_MAX) {
		if (err != NULL && errsz > 0)
			(void)snprintf(err, errsz, "certificate too large");
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		set_err(err, errsz, "SSL_CTX_new");
		goto fail;
	}
	if (ctx_limits(ctx, err, errsz) == -1)
		goto fail;
	/*
	 * SSL_OP_NO_TICKET alone does not stop TLS 1.3 tickets: OpenSSL still
	 * sends stateful ones after each handshake.  None at all.
	 */
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		set_err(err, errsz, "cannot turn session tickets off");
		goto fail;
	}

	/* The first certificate is ours; any that follow form the chain. */
	if ((bio = BIO_new_mem_buf(cert_pem, (int)cert_len)) == NULL) {
		set_err(err, errsz, "BIO_new_mem_buf");
		goto fail;
	}
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		set_err(err, errsz, "cannot read the certificate");
		goto fail;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		set_err(err, errsz, "cannot use the certificate");
		goto fail;
	}
	X509_free(x);
	x = NULL;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		/* On success the context owns x. */
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			set_err(err, errsz, "cannot add a chain certificate");
			goto fail;
		}
		x = NULL;
	}
	/* The loop ends on "no start line", which is not an error. */
	ERR_clear_error();
	BIO_free(bio);
	bio = NULL;

	if (pkey == NULL)
		return ctx;
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		set_err(err, errsz, "cannot use the private key");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		set_err(err, errsz, "the private key does not match the certificate");
		goto fail;
	}
	return ctx;

 fail:
	X509_free(x);
	BIO_free(bio);
	SSL_CTX_free(ctx);
	return NULL;
}

EVP_PKEY *
tls_key_read(const uint8_t *key_pem, size_t key_len, char *err, size_t errsz)
{
	BIO		*bio;
	EVP_PKEY	*pkey;

	if (key_len > INT_MAX) {
		if (err != NULL && errsz > 0)
			(void)snprintf(err, errsz, "private key too large");
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(key_pem, (int)key_len)) == NULL) {
		set_err(err, errsz, "BIO_new_mem_buf");
		return NULL;
	}
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		set_err(err, errsz, "cannot read the private key");
	/* The memory BIO points at the caller's buffer, which it wipes. */
	BIO_free(bio);
	return pkey;
}

SSL_CTX *
tls_ctx_server(const uint8_t *cert_pem, size_t cert_len,
    const uint8_t *key_pem, size_t key_len, char *err, size_t errsz)
{
	SSL_CTX		*ctx;
	EVP_PKEY	*pkey;

	if ((pkey = tls_key_read(key_pem, key_len, err, errsz)) == NULL)
		return NULL;
	ctx = tls_ctx_server_pkey(cert_pem, cert_len, pkey, err, errsz);
	EVP_PKEY_free(pkey);
	return ctx;
}

SSL_CTX *
tls_ctx_client(const char *ca_file, char *err, size_t errsz)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		set_err(err, errsz, "SSL_CTX_new");
		return NULL;
	}
	if (ctx_limits(ctx, err, errsz) == -1)
		goto fail;
	if (ca_file != NULL) {
		/* Only this CA: the system store is not what the user asked for. */
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			set_err(err, errsz, ca_file);
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		/*
		 * Pinning: the chain means nothing to us, the key does.  The
		 * handshake still proves the server holds the certified key
		 * (CertificateVerify); the caller compares the pin before it
		 * sends any application data.
		 */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	return ctx;

 fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_spki_fingerprint(EVP_PKEY *pkey, uint8_t out[TLS_FP_LEN])
{
	unsigned char	*der = NULL;
	unsigned int	 mdlen = 0;
	int		 len, ret = -1;

	if (pkey == NULL)
		return -1;
	if ((len = i2d_PUBKEY(pkey, &der)) <= 0)
		return -1;
	if (EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL) == 1 &&
	    mdlen == TLS_FP_LEN)
		ret = 0;
	OPENSSL_free(der);
	return ret;
}

const char *
tls_group_name(SSL *ssl)
{
	const char	*name;
	int		 nid;

	if (ssl == NULL)
		return "unknown";
	if ((nid = SSL_get_negotiated_group(ssl)) <= 0)
		return "unknown";
	/*
	 * Known groups come back as NIDs, whose short names are the ones
	 * people know ("X25519"); SSL_group_to_name says "x25519".
	 */
	if ((nid & TLSEXT_nid_unknown) == 0 &&
	    (name = OBJ_nid2sn(nid)) != NULL)
		return name;
	if ((name = SSL_group_to_name(ssl, nid)) != NULL)
		return name;
	return "unknown";
}

const char *
tls_error_string(char *buf, size_t bufsz)
{
	unsigned long	 e;

	if (bufsz == 0)
		return "";
	if ((e = ERR_get_error()) == 0)
		(void)snprintf(buf, bufsz, "no TLS error recorded");
	else
		ERR_error_string_n(e, buf, bufsz);
	/* Later entries are consequences of the first; do not let them linger. */
	ERR_clear_error();
	return buf;
}
