/*
 * privdrop.c: a child started as root gives root up for good: chroot to
 * its directory, take the unprivileged user's ids, then prove that root
 * cannot be had back.  Not root (development): nothing is done.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

static int	verify_dropped(uid_t, gid_t, char *, size_t);

int
privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, char *err,
    size_t errsz)
{
	struct passwd	*pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		/* getpwnam(3): these errno values, or none, mean "no such". */
		if (errno != 0 && errno != ENOENT && errno != ESRCH &&
		    errno != EBADF && errno != EPERM)
			(void)snprintf(err, errsz, "getpwnam %s: %s", user,
			    strerror(errno));
		else
			(void)snprintf(err, errsz, "user '%s' does not exist: "
			    "create it with 'useradd --system "
			    "--no-create-home --home-dir /nonexistent "
			    "--shell /usr/sbin/nologin %s'", user, user);
		return -1;
	}
	/* The whole point is not to be root; a uid 0 alias would undo it. */
	if (pw->pw_uid == 0) {
		(void)snprintf(err, errsz, "user '%s' has uid 0: refusing to "
		    "run as root", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* As uidswap.c in OpenSSH: trust no return value, look at the result. */
static int
verify_dropped(uid_t uid, gid_t gid, char *err, size_t errsz)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg, groups[2];
	int	 n;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1) {
		(void)snprintf(err, errsz, "getresuid: %s", strerror(errno));
		return -1;
	}
	if (ru != uid || eu != uid || su != uid ||
	    rg != gid || eg != gid || sg != gid) {
		(void)snprintf(err, errsz, "ids not dropped: uid %lu/%lu/%lu "
		    "gid %lu/%lu/%lu, wanted %lu/%lu",
		    (unsigned long)ru, (unsigned long)eu, (unsigned long)su,
		    (unsigned long)rg, (unsigned long)eg, (unsigned long)sg,
		    (unsigned long)uid, (unsigned long)gid);
		return -1;
	}
	if ((n = getgroups(2, groups)) == -1) {
		(void)snprintf(err, errsz, "getgroups: %s", strerror(errno));
		return -1;
	}
	if (n != 1 || groups[0] != gid) {
		(void)snprintf(err, errsz, "supplementary groups not dropped");
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1) {
		(void)snprintf(err, errsz, "was able to regain uid 0");
		return -1;
	}
	if (setgid(0) != -1 || setegid(0) != -1) {
		(void)snprintf(err, errsz, "was able to regain gid 0");
		return -1;
	}
	return 0;
}

int
privdrop(const char *user, const char *dir, char *err, size_t errsz)
{
	uid_t	 uid;
	gid_t	 gid;

	/* Sanitizer builds: the last moment a leak check can run. */
	sandbox_leak_check();
	if (geteuid() != 0) {
		(void)snprintf(err, errsz, "not running as root: no chroot to "
		    "%s, no change to user %s", dir, user);
		return PRIVDROP_NOT_ROOT;
	}
	/* Before chroot: the password database is outside it. */
	if (privdrop_lookup(user, &uid, &gid, err, errsz) == -1)
		return PRIVDROP_FAILED;
	if (chroot(dir) == -1) {
		(void)snprintf(err, errsz, "chroot %s: %s", dir,
		    strerror(errno));
		return PRIVDROP_FAILED;
	}
	if (chdir("/") == -1) {
		(void)snprintf(err, errsz, "chdir / in %s: %s", dir,
		    strerror(errno));
		return PRIVDROP_FAILED;
	}
	if (setgroups(1, &gid) == -1) {
		(void)snprintf(err, errsz, "setgroups: %s", strerror(errno));
		return PRIVDROP_FAILED;
	}
	if (setresgid(gid, gid, gid) == -1) {
		(void)snprintf(err, errsz, "setresgid %lu: %s",
		    (unsigned long)gid, strerror(errno));
		return PRIVDROP_FAILED;
	}
	if (setresuid(uid, uid, uid) == -1) {
		(void)snprintf(err, errsz, "setresuid %lu: %s",
		    (unsigned long)uid, strerror(errno));
		return PRIVDROP_FAILED;
	}
	if (verify_dropped(uid, gid, err, errsz) == -1)
		return PRIVDROP_FAILED;
	return PRIVDROP_DONE;
}
