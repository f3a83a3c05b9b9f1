/*
 * keysign.h: the TLS server key as a worker sees it.  Its public half comes
 * from the certificate; every private operation goes to the key process
 * over the worker's key link (docs/ARCHITECTURE.md section 12).
 */
#ifndef SC_KEYSIGN_H
#define SC_KEYSIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* How long a worker waits for the key process to sign. */
#define KEYSIGN_TIMEOUT_MS	10000

/*
 * Register the delegating provider and load it with the default one.
 * Once per process, before any other OpenSSL use.  0 or -1 (err).
 */
int	 keysign_init(char *err, size_t errsz);
/*
 * A server context for the certificate chain in cert_pem whose key is the
 * delegated one: it signs by asking the key process.  NULL on error (err).
 */
SSL_CTX	*keysign_ctx(const uint8_t *cert_pem, size_t cert_len, char *err,
	    size_t errsz);
/* The key link signatures are asked over, or -1. */
void	 keysign_set_fd(int fd);
/* Close the key link: after the handshake no signature is needed. */
void	 keysign_close(void);

#endif
