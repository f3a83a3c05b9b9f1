/*
 * localfile.h: small files the client keeps between runs: sealed to the
 * identity (localfile_read/write) or plain, always 0600 and replaced whole.
 */
#ifndef SC_LOCALFILE_H
#define SC_LOCALFILE_H

#include <sys/stat.h>

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define LOCALFILE_MAX	(16 * 1024 * 1024)	/* whole file, in bytes */
#define LOCALFILE_LABEL_MAX	64

/*
 * Seal data to key_material (the identity's X25519 private key) under
 * label, which names what the file holds: a file cannot be passed off for
 * another.  Replaces path atomically (see localfile_replace).
 */
int	localfile_write(const char *path, const uint8_t key_material[32],
	    const char *label, const uint8_t *data, size_t len, char *err,
	    size_t errsz);
/*
 * 0 with *data (malloc'd, *len bytes; the caller wipes and frees it),
 * 1 if path does not exist, -1 with a message in err.
 */
int	localfile_read(const char *path, const uint8_t key_material[32],
	    const char *label, uint8_t **data, size_t *len, char *err,
	    size_t errsz);

/* -1 with "run 'chmod 600 PATH'" in err if group or others have access. */
int	localfile_check_mode(const char *what, const char *path,
	    const struct stat *st, char *err, size_t errsz);
/*
 * Read a whole file of at most max bytes, refused unless it is a regular
 * file (not a link) that we own with mode 0600 or stricter; what names it
 * in messages ("identity file").  0 with *data holding *len bytes and a
 * NUL (free with OPENSSL_clear_free(*data, *len + 1)), 1 missing, -1.
 */
int	localfile_slurp(const char *what, const char *path, size_t max,
	    uint8_t **data, size_t *len, char *err, size_t errsz);
/*
 * Open a plain text file for reading, with the checks of localfile_slurp
 * (what names it in messages).  0 with *fp open, 1 missing, -1.
 */
int	localfile_fopen(const char *what, const char *path, FILE **fp,
	    char *err, size_t errsz);
/*
 * Replace path with data: PATH.tmp (O_EXCL, 0600), fsync, rename over
 * path, fsync the directory.  A crash leaves the old file or the new one.
 */
int	localfile_replace(const char *path, const void *data, size_t len,
	    char *err, size_t errsz);
/* fsync the directory holding path, so a new name there is durable. */
int	localfile_sync_dir(const char *path, char *err, size_t errsz);

#endif
