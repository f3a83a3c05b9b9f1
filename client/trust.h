/*
 * trust.h: the known_users file (others' identity keys, pinned on first
 * use per server) and safety numbers, for /verify (docs/DESIGN.md section 7).
 */
#ifndef SC_TRUST_H
#define SC_TRUST_H

#include <stddef.h>
#include <stdint.h>

#define TRUST_FILE		"known_users"	/* in the data directory */
#define TRUST_MAX		100000		/* entries in the file */
#define TRUST_SERVER_LEN	264		/* HOSTPORT and its NUL */
#define TRUST_SAFETY_DIGITS	60
#define TRUST_SAFETY_LEN	(12 * 5 + 11 + 1)	/* groups, spaces, NUL */

struct trust_entry {
	char	 server[TRUST_SERVER_LEN];	/* HOSTPORT, as known_servers */
	char	 name[33];		/* folded user name */
	uint8_t	 sign_pub[32];		/* the pinned identity key */
	int	 verified;		/* safety number compared */
	int	 changed;		/* the server showed new_sign_pub */
	uint8_t	 new_sign_pub[32];
	int	 shown;		/* this run, not saved: the user was shown
				   new_sign_pub (a warning, /verify) */
};

struct trust {
	struct trust_entry	*v;
	size_t			 n, cap;
	char			*path;
};

enum trust_result {
	TRUST_NEW,		/* first sight: pinned now */
	TRUST_SAME,		/* the pinned key, nothing pending */
	TRUST_CHANGED,		/* a new key: now pending, not trusted */
	TRUST_STILL_CHANGED,	/* the key already pending */
	TRUST_WITHDRAWN		/* the pinned key again: pending forgotten */
};

/* A missing file is an empty list.  -1 names the file and line. */
int	trust_load(struct trust *t, const char *path, char *err,
	    size_t errsz);
/* Replace the file atomically (0600); comments in it are not kept. */
int	trust_save(const struct trust *t, char *err, size_t errsz);
void	trust_free(struct trust *t);

/*
 * Compare the key the server shows for (server, name) with the pin, and
 * record a first pin or a change (the caller saves).  A pending change
 * the server stops showing (it shows the pin again) is forgotten: only
 * the key the server shows now may be accepted.  -1 on a bad name or
 * server, or when full.
 */
int	trust_check(struct trust *t, const char *server, const char *name,
	    const uint8_t sign_pub[32], enum trust_result *res);
const struct trust_entry *trust_get(const struct trust *t,
	    const char *server, const char *name);
/*
 * The pending key becomes the pin, not verified, if it is key: the one
 * the user decided on.  -1 if none is pending or another one is.
 */
int	trust_accept(struct trust *t, const char *server, const char *name,
	    const uint8_t key[32]);
/* The user was shown the pending key key (a warning, /verify). */
void	trust_set_shown(struct trust *t, const char *server, const char *name,
	    const uint8_t key[32]);
/* 1 if sign_pub is the pin and no change is pending, else 0. */
int	trust_is_trusted(const struct trust *t, const char *server,
	    const char *name, const uint8_t sign_pub[32]);
/* Mark the pin verified; -1 if unknown or a change is pending. */
int	trust_set_verified(struct trust *t, const char *server,
	    const char *name);

/*
 * The safety number of two users' identity keys, the same whichever of
 * them computes it: "NNNNN NNNNN ..." (12 groups of 5 digits).
 */
int	trust_safety_number(const char *name_a, const uint8_t pub_a[32],
	    const char *name_b, const uint8_t pub_b[32],
	    char out[TRUST_SAFETY_LEN]);
/* The 60 digits of a number the user typed (spaces ignored), or -1. */
int	trust_safety_parse(const char *text,
	    char out[TRUST_SAFETY_DIGITS + 1]);

#endif
