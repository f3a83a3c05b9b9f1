/*
 * keyproc.h: the key process, which alone holds the TLS private key, and
 * its signing policy: only a TLS 1.3 server CertificateVerify, and only
 * KEYPROC_SIGNS_PER_LINK of them per worker link.
 */
#ifndef SC_KEYPROC_H
#define SC_KEYPROC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

struct frame;

/* One handshake per worker, one CertificateVerify per handshake. */
#define KEYPROC_SIGNS_PER_LINK	1
/* RFC 8446 4.4.3: 64 spaces, this context string, a zero byte, a hash. */
#define KEYPROC_CV_PAD		64
#define KEYPROC_CV_CONTEXT	"TLS 1.3, server CertificateVerify"
/* The key process starts with its master channel on this descriptor. */
#define KEYPROC_FD_MASTER	3
/* Descriptors beyond the worker links: stdio, syslog, the event loop. */
#define KEYPROC_FD_HEADROOM	16

/*
 * Is msg exactly a TLS 1.3 server CertificateVerify input, over a
 * transcript hash of one of our suites (SHA-256 or SHA-384)?
 */
int	 keyproc_tbs_ok(const uint8_t *msg, size_t len);
/*
 * Sign msg with key under the policy: a CertificateVerify input, the
 * digest mdname ("" for EdDSA; SHA-256, -384 or -512 otherwise), RSA
 * only with PSS and a salt as long as the digest.  0, or -1 with the
 * reason in *why.  sig holds *siglen bytes on entry, the length on exit.
 */
int	 keyproc_sign(EVP_PKEY *key, const char *mdname, const uint8_t *msg,
	    size_t len, uint8_t *sig, size_t *siglen, const char **why);

/*
 * A worker's request, as received on its link: a well-formed SIGN while
 * the link has signed fewer than KEYPROC_SIGNS_PER_LINK, and its message
 * signed under keyproc_sign's policy.  0 with *signs counted up, or -1
 * with the reason in *why (the link is then closed).
 */
int	 keyproc_request(EVP_PKEY *key, unsigned int *signs,
	    const struct frame *f, uint8_t *sig, size_t *siglen,
	    const char **why);

#endif
