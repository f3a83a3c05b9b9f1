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
	SANDBOX_KEYPROC,	/* the worker's filter: it has no files either */
	SANDBOX_TEMPLATE,	/* the worker's, and fork, wait, the child's setup */
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
/*
 * The role's filter compiled to BPF, to be loaded later, many times, by
 * sandbox_apply (in forked children, where no_new_privs is inherited).
 * Debug mode is taken from the environment when it is prepared.
 */
struct sandbox_prog;
struct sandbox_prog *sandbox_prepare(enum sandbox_role role, char *err,
	    size_t errsz);
int	 sandbox_apply(const struct sandbox_prog *p, char *err, size_t errsz);
/*
 * What a worker forked from the template still sets itself: no new
 * processes, max_fds descriptors.  The rest is inherited.
 */
int	 sandbox_fork_limits(int max_fds, char *err, size_t errsz);
/* want, or the hard RLIMIT_NOFILE when that is lower (with a warning). */
int	 sandbox_nofile(unsigned int want);
/*
 * The role's seccomp filter, built but not loaded (a scmp_filter_ctx: free
 * it with seccomp_release).  debug makes a denied call trap instead of
 * kill.  sandbox_seccomp loads exactly this, so tests see the same lists.
 */
void	*sandbox_filter(enum sandbox_role role, int debug, char *err,
	    size_t errsz);
/*
 * Load the role's seccomp allow-list.  Must come last.  With
 * SC_SANDBOX_DEBUG in the environment a denied call is named on stderr
 * and the process exits 159 instead of being killed by SIGSYS.
 */
int	 sandbox_seccomp(enum sandbox_role role, char *err, size_t errsz);
/*
 * Built with sanitizers: run LeakSanitizer's check now, since it cannot
 * run in a chroot or under the filter; it then stays off, at exit too.
 * Otherwise nothing.  privdrop and sandbox_limits call it first.
 */
void	 sandbox_leak_check(void);

#endif
