/*
 * fuzz_keyproc.c: libFuzzer harness for the key process's decoder of a
 * worker's requests (keyproc_request): the frames one link sends, in
 * order until one is refused (the key process then closes the link), to
 * a key of the kind the input chooses.  Whatever is signed
 * must be a TLS 1.3 server CertificateVerify input, at most once per
 * link, and its signature must verify under the key.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "frame.h"
#include "fuzz.h"
#include "keyproc.h"
#include "proto.h"
#include "tls.h"

#define MAX_FRAMES	4

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static EVP_PKEY	*keys[3];

static void
setup(void)
{
	fuzz_setup();
	if ((keys[0] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (keys[1] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (keys[2] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
	    (size_t)2048)) == NULL)
		abort();
}

/* The signature the key process gave must verify, as the client checks. */
static void
verify(EVP_PKEY *key, const struct frame *f, const uint8_t *sig,
    size_t siglen)
{
	EVP_MD_CTX	*mctx;
	EVP_PKEY_CTX	*pctx = NULL;
	const uint8_t	*tbs;
	char		 md[40];
	size_t		 tbslen;

	if (frame_get_str(f, F_MD_NAME, md, sizeof(md)) == -1 ||
	    frame_get_bytes(f, F_TBS, &tbs, &tbslen) == -1 ||
	    !keyproc_tbs_ok(tbs, tbslen) || siglen == 0 ||
	    siglen > TLS_SIG_MAX || (mctx = EVP_MD_CTX_new()) == NULL)
		abort();
	if (EVP_DigestVerifyInit_ex(mctx, &pctx, md[0] == '\0' ? NULL : md,
	    NULL, NULL, key, NULL) != 1)
		abort();
	if (EVP_PKEY_is_a(key, "RSA") &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	    RSA_PSS_SALTLEN_DIGEST) != 1))
		abort();
	if (EVP_DigestVerify(mctx, sig, siglen, tbs, tbslen) != 1)
		abort();
	EVP_MD_CTX_free(mctx);
}

/*
 * A key byte, then up to MAX_FRAMES frames, each a u16 length and that
 * many bytes, as ipc_recv would hand them over.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };
	struct frame	 f;
	EVP_PKEY	*key;
	const uint8_t	*p;
	uint8_t		*copy, sig[TLS_SIG_MAX];
	const char	*why;
	size_t		 len, siglen;
	unsigned int	 signs = 0, before;
	int		 i;

	if (keys[0] == NULL)
		setup();
	fuzz_rand_reset();
	key = keys[fuzz_u8(&in) % 3];
	for (i = 0; i < MAX_FRAMES && in.len > 0; i++) {
		p = fuzz_bytes(&in, fuzz_u16(&in), &len);
		copy = fuzz_copy(p, len);
		if (frame_decode(copy, len, &f) == FRAME_OK) {
			before = signs;
			siglen = sizeof(sig);
			why = NULL;
			if (keyproc_request(key, &signs, &f, sig, &siglen,
			    &why) == 0) {
				if (before != 0 || signs != 1 ||
				    f.type != IMSG_SIGN)
					abort();
				verify(key, &f, sig, siglen);
			} else {
				if (why == NULL || signs != before)
					abort();
				/* The key process closes the link. */
				free(copy);
				break;
			}
		}
		free(copy);
	}
	return 0;
}
