/*
 * sandbox.h: how a worker and the broker give up what they do not need,
 * in the order of docs/ARCHITECTURE.md: chroot and user (privdrop.c),
 * then rlimits, no_new_privs, not dumpable, and a seccomp allow-list whose
 * default kills the process (sandbox.c).  Any failure is fatal to the caller.
 */
#ifndef SC_SANDBOX_H
#define SC_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

enum sandbox_role {
	SANDBOX_WORKER,
	SANDBOX_BROKER,
};

/* Result of privdrop(). */
#define PRIVDROP_DONE		0	/* chrooted and running as user */
#define PRIVDROP_NOT_ROOT	1	/* not root: nothing done, warn loudly */
#define PRIVDROP_FAILED		(-1)

int	 privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, char *err,
	    size_t errsz);
/*
 * chroot(dir), chdir("/"), setgroups, setresgid, setresuid to user, then
 * verify that root cannot be regained.
 */
int	 privdrop(const char *user, const char *dir, char *err, size_t errsz);
/*
 * rlimits (no new processes, no core dumps, max_fds descriptors; no file
 * writes for a worker unless stderr is a regular file), PR_SET_NO_NEW_PRIVS,
 * PR_SET_DUMPABLE 0.
 */
int	 sandbox_limits(enum sandbox_role role, int max_fds, char *err, size_t errsz);
/* Load the role's seccomp allow-list.  Must come last. */
int	 sandbox_seccomp(enum sandbox_role role, char *err, size_t errsz);

#endif
