/*
 * xmalloc.h: allocation that cannot fail quietly.  Out of memory is fatal:
 * a process that cannot allocate cannot keep its promises.
 */
#ifndef SC_XMALLOC_H
#define SC_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));

#endif
