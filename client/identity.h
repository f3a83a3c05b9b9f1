/*
 * identity.h: the client's long-term keys (Ed25519 to sign, X25519 for
 * key agreement), kept in DIR/NAME.key, optionally under a passphrase.
 */
#ifndef SC_IDENTITY_H
#define SC_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

struct identity {
	char	 name[33];		/* folded user name */
	uint8_t	 sign_priv[32];
	uint8_t	 sign_pub[32];
	uint8_t	 dh_priv[32];
	uint8_t	 dh_pub[32];
};

/* scrypt cost for files this process writes (docs/DESIGN.md section 5). */
#define IDENTITY_SCRYPT_N	32768
#define IDENTITY_SCRYPT_R	8
#define IDENTITY_SCRYPT_P	1

/*
 * The N used when writing a new encrypted file.  Only the unit tests
 * lower it, to stay fast; loading always uses the N written in the file.
 */
extern uint64_t identity_scrypt_n;

/*
 * Load DIR/NAME.key, or create it with fresh keys if it does not exist
 * (*created is then 1).  passphrase NULL means none.  -1 with a message
 * in err that says what to do.  The file is refused if it is not a regular
 * file we own, or if group or others may read it.
 */
int	identity_load_or_create(const char *dir, const char *name,
	    const char *passphrase, struct identity *id, int *created,
	    char *err, size_t errsz);
void	identity_wipe(struct identity *id);

/* Ed25519 by sign_priv over BINDING_CONTEXT || dh_pub. */
int	identity_binding_sig(const struct identity *id, uint8_t sig[64]);
/* Ed25519 by sign_priv over LOGIN_CONTEXT || nonce || exporter || name. */
int	identity_login_sig(const struct identity *id, const uint8_t nonce[32],
	    const uint8_t exporter[32], uint8_t sig[64]);

/*
 * The first line of path, without its newline, into out.  The file (or
 * pipe) must not be readable by group or others.
 */
int	identity_read_passphrase_file(const char *path, char *out,
	    size_t outsz, char *err, size_t errsz);

#endif
