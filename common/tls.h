/*
 * tls.h: the TLS 1.3 context for both ends: TLS 1.3 only, AES-GCM suites,
 * X25519, no renegotiation surprises, and the helpers that describe a
 * session (fingerprint, group name, exporter).
 */
#ifndef SC_TLS_H
#define SC_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#define TLS_CIPHERSUITES	"TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"
#define TLS_GROUPS		"X25519"
#define TLS_FP_LEN		32	/* SHA-256 of the SubjectPublicKeyInfo */

SSL_CTX	*tls_ctx_server(const uint8_t *cert_pem, size_t cert_len,
	    const uint8_t *key_pem, size_t key_len, char *err, size_t errsz);
/*
 * The same with a key already read (or NULL: certificates only, the key
 * is set by the caller).
 */
SSL_CTX	*tls_ctx_server_pkey(const uint8_t *cert_pem, size_t cert_len,
	    EVP_PKEY *pkey, char *err, size_t errsz);
/* Read a PEM private key (no passphrase); NULL with err on failure. */
EVP_PKEY *tls_key_read(const uint8_t *key_pem, size_t key_len, char *err,
	    size_t errsz);
SSL_CTX	*tls_ctx_client(const char *ca_file, char *err, size_t errsz);
/* SHA-256 of the DER SubjectPublicKeyInfo of pkey. */
int	 tls_spki_fingerprint(EVP_PKEY *pkey, uint8_t out[TLS_FP_LEN]);
/* Name of the negotiated key exchange group ("X25519"), or "unknown". */
const char *tls_group_name(SSL *ssl);
/* Last OpenSSL error as text, and clear the queue. */
const char *tls_error_string(char *buf, size_t bufsz);

#endif
