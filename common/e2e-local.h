/*
 * e2e-local.h: the byte codec the parts of e2e share.  Private to
 * e2e-envelope.c, e2e-group.c and e2e-state.c; callers include e2e.h and
 * e2e-state.h only.
 */
#ifndef SC_E2E_LOCAL_H
#define SC_E2E_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/*
 * A message key kept for a message that has not arrived yet.  A chain's
 * skipped array, once allocated, always has room for E2E_MAX_SKIPPED:
 * e2e-group.c appends in place and frees that many.
 */
struct e2e_skipped {
	uint32_t	 iteration;
	uint8_t		 seed[CRYPTO_HASH_LEN];
};

/*
 * Writers and readers remember the first overrun instead of failing at
 * each call, so a layout reads as one list of fields and one check.
 */
struct e2e_wr {
	uint8_t		*p;
	size_t		 sz;
	size_t		 off;
	int		 bad;
};

struct e2e_rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 bad;
};

/* ciphertext || tag, then the signature, as both wire formats end. */
struct e2e_body {
	const uint8_t	*ct;		/* ciphertext || tag */
	size_t		 ctlen;
	const uint8_t	*sig;
};

void	 e2e_wr_init(struct e2e_wr *, uint8_t *, size_t);
void	 e2e_wr_bytes(struct e2e_wr *, const void *, size_t);
void	 e2e_wr_u8(struct e2e_wr *, uint8_t);
void	 e2e_wr_u32(struct e2e_wr *, uint32_t);
void	 e2e_wr_u64(struct e2e_wr *, uint64_t);
/* One length byte, then the name without its NUL. */
void	 e2e_wr_name(struct e2e_wr *, const char *);

void	 e2e_rd_init(struct e2e_rd *, const uint8_t *, size_t);
void	 e2e_rd_bytes(struct e2e_rd *, void *, size_t);
uint8_t	 e2e_rd_u8(struct e2e_rd *);
uint32_t e2e_rd_u32(struct e2e_rd *);
uint64_t e2e_rd_u64(struct e2e_rd *);
/* A length-prefixed name into out[E2E_NAME_MAX + 1]: non-empty, no NUL. */
void	 e2e_rd_name(struct e2e_rd *, char *);
/* The rest of r is u32 ctlen || ct||tag || sig, exactly. */
int	 e2e_rd_body(struct e2e_rd *, struct e2e_body *);

/* HKDF output for one message: AES-256 key, then the GCM nonce. */
#define E2E_OKM_LEN	(CRYPTO_KEY_LEN + CRYPTO_AEAD_NONCE_LEN)
/* OpenSSL 3.0 takes at most 1024 bytes of HKDF info. */
#define E2E_INFO_MAX	1024

/*
 * Both wire formats end alike.  e2e_wr_body finishes a message whose
 * header is the first hdrlen bytes of w: u32 ctlen, AES-256-GCM of pt
 * under okm with the header as associated data, then an Ed25519 signature
 * by sign_priv over sig_label || header || ciphertext.  w must then be
 * exactly need bytes long.  e2e_body_verify checks that signature:
 * E2E_OK or E2E_ESIG.
 */
int	 e2e_wr_body(struct e2e_wr *w, size_t hdrlen, size_t need,
	    const uint8_t okm[E2E_OKM_LEN], const char *sig_label,
	    const uint8_t sign_priv[32], const void *pt, size_t ptlen);
int	 e2e_body_verify(const char *sig_label, const uint8_t sign_pub[32],
	    const uint8_t *msg, size_t hdrlen, const struct e2e_body *b);

/* 1 if name is 1..E2E_NAME_MAX bytes. */
int	 e2e_name_ok(const char *);

#endif
