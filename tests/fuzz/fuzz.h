/*
 * fuzz.h: what the libFuzzer harnesses and the seed generator share:
 * deterministic randomness, fixed keys for the parties of the corpus,
 * quiet logs and scratch directories.  Never linked into a product.
 */
#ifndef SC_FUZZ_H
#define SC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The user the client harnesses play, and the peers that write to it. */
#define FUZZ_ME			"fuzz"
#define FUZZ_PEER		"alice"
#define FUZZ_PEER2		"bob"
#define FUZZ_ROOM		"#fuzz"
#define FUZZ_SPK_ID		0x0f0f0f0fu	/* the client's prekey */
/* Far ahead, so that a client never finds the prekey too old. */
#define FUZZ_SPK_CREATED	4000000000u
#define FUZZ_EPOCH		3
/* The server the client harnesses believe they talk to. */
#define FUZZ_HOST		"fuzz.invalid"
#define FUZZ_PORT		7443

/* A party's keys, all derived from its name: the corpus can be remade. */
struct fuzz_keys {
	uint8_t	 sign_priv[32];
	uint8_t	 sign_pub[32];
	uint8_t	 dh_priv[32];
	uint8_t	 dh_pub[32];
	uint8_t	 spk_priv[32];
	uint8_t	 spk_pub[32];
	uint8_t	 spk_sig[64];	/* over FUZZ_SPK_ID, FUZZ_SPK_CREATED */
};

/*
 * Once per process: OpenSSL randomness from a fixed stream (so a crash
 * replays and the generator writes the same bytes every time), logs off
 * unless FUZZ_VERBOSE is set in the environment, SIGPIPE ignored.
 */
void	 fuzz_setup(void);
/* Reset the random stream, so each input starts from the same state. */
void	 fuzz_rand_reset(void);
void	 fuzz_keys(const char *name, struct fuzz_keys *k);
/*
 * A fresh private directory, removed with its files at exit; prefers a
 * memory file system.
 */
char	*fuzz_tmpdir(const char *what);
/* Remove a directory made by fuzz_tmpdir and the files in it. */
void	 fuzz_rmdir(const char *dir);
/*
 * Harnesses that play a sequence of operations read them off the input
 * with these; past its end every read yields zeros or nothing.
 */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 len;
};

uint8_t	 fuzz_u8(struct fuzz_in *);
uint16_t fuzz_u16(struct fuzz_in *);
uint32_t fuzz_u32(struct fuzz_in *);
uint64_t fuzz_u64(struct fuzz_in *);
/* Up to n bytes; *got says how many there were. */
const uint8_t *fuzz_bytes(struct fuzz_in *, size_t n, size_t *got);
/* A u8-length-prefixed string into out (outsz > 255), NULs cut it short. */
void	 fuzz_str(struct fuzz_in *, char *out, size_t outsz);

/*
 * hdr || u32 ctlen || ct || Ed25519 by priv over label || hdr || ct: how
 * both E2E wire formats end (e2e_wr_body).  A hostile sender that holds
 * the key can sign any header; the result is heap-allocated, exact size.
 */
uint8_t	*fuzz_sign_body(const char *label, const uint8_t priv[32],
	    const uint8_t *hdr, size_t hdrlen, const uint8_t *ct, size_t ctlen,
	    size_t *len);

/* An exact-size heap copy, so ASan sees a read one byte past the end. */
uint8_t	*fuzz_copy(const uint8_t *data, size_t size);

#endif
