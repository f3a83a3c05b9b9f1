/*
 * store.h: the broker's database.  All SQL lives in store.c, behind this
 * narrow interface, so that another engine can replace it.
 */
#ifndef SC_STORE_H
#define SC_STORE_H

#define STORE_SCHEMA_VERSION	1

struct store;

/* Open (creating) the database at path: WAL, synchronous=FULL, migrated. */
struct store	*store_open(const char *path, char *err, size_t errsz);
void		 store_close(struct store *s);
int		 store_schema_version(struct store *s);
/* PRAGMA synchronous as a number (2 = FULL), for the tests. */
int		 store_synchronous(struct store *s);

#endif
