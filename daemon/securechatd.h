/*
 * securechatd.h: what the daemon's processes share: the fixed descriptor
 * numbers across re-exec, and each role's entry point.
 */
#ifndef SC_SECURECHATD_H
#define SC_SECURECHATD_H

#include "conf.h"

#define SC_VERSION_STRING	PACKAGE_NAME " " PACKAGE_VERSION

/* The template starts with its channel to the master (and 0-2). */
#define TEMPLATE_FD_MASTER	3
/*
 * A template is replaced after this many forks or this many seconds, so
 * that no address space layout serves clients for long.
 */
#define TEMPLATE_MAX_FORKS	1000
#define TEMPLATE_MAX_AGE_S	600
/* The broker starts with its channel to the master and the control socket. */
#define BROKER_FD_MASTER	3
#define BROKER_FD_CONTROL	4
#define CONTROL_SOCKET		"securechat.sock"	/* in runtime_dir */

/* Exit codes a child uses so the master can tell how it ended. */
#define EXIT_SESSION_DONE	0	/* served its client */
#define EXIT_STARTUP		70	/* failed before serving: throttle */

int	master_main(struct conf *c, int foreground, int verbose);
int	template_main(int foreground, char **argv);
int	broker_main(int foreground);
int	keyproc_main(int foreground);

/* worker.c, in the template: settings from IMSG_WORKER_INIT; then a child. */
struct frame;
struct sandbox_prog;
void	worker_configure(const struct frame *f);
const char *worker_user(void);
const char *worker_chroot(void);
void	worker_run(int client, int broker, int key, const char *addr,
	    uint64_t session_id, const struct sandbox_prog *filter)
	    __attribute__((noreturn));

/* master-gate.c: the master's checks of a connection before it forks. */
struct event_base;
struct gate_counts {
	unsigned int	 total;		/* workers now */
	unsigned int	 addr;		/* of them, from the address */
	unsigned int	 prefix;	/* of them, from its prefix */
};
void	gate_init(struct event_base *base);
void	gate_free(void);
/* 0 to admit a connection from addr in prefix; -1 refused (logged). */
int	gate_admit(const struct conf *c, const char *addr, const char *prefix,
	    const struct gate_counts *n, unsigned int max_total);

/* certgen.c: make a self-signed key and certificate when missing. */
#define CERTGEN_PRESENT		0	/* both files exist */
#define CERTGEN_GENERATE	1	/* both missing: a start makes them */
/* What a start would do, or -1 with the reason in err. */
int	certgen_plan(const char *cert_path, const char *key_path, int generate,
	    char *err, size_t errsz);
int	certgen_ensure(const char *cert_path, const char *key_path, int generate,
	    char *err, size_t errsz);

#endif
