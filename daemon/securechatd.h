/*
 * securechatd.h: what the daemon's processes share: the fixed descriptor
 * numbers across re-exec, and each role's entry point.
 */
#ifndef SC_SECURECHATD_H
#define SC_SECURECHATD_H

#include "conf.h"

#define SC_VERSION_STRING	PACKAGE_NAME " " PACKAGE_VERSION

/* A worker starts with these descriptors and no others (but 0-2). */
#define WORKER_FD_CLIENT	3
#define WORKER_FD_MASTER	4
#define WORKER_FD_BROKER	5
#define WORKER_FD_KEY		6	/* the key link: signatures */
/* The broker starts with its channel to the master and the control socket. */
#define BROKER_FD_MASTER	3
#define BROKER_FD_CONTROL	4
#define CONTROL_SOCKET		"securechat.sock"	/* in runtime_dir */

/* Exit codes a child uses so the master can tell how it ended. */
#define EXIT_SESSION_DONE	0	/* served its client */
#define EXIT_STARTUP		70	/* failed before serving: throttle */

int	master_main(struct conf *c, int foreground, int verbose);
int	worker_main(int foreground);
int	broker_main(int foreground);
int	keyproc_main(int foreground);

/* certgen.c: make a self-signed key and certificate when missing. */
int	certgen_ensure(const char *cert_path, const char *key_path, int generate,
	    char *err, size_t errsz);

#endif
