/*
 * master.h: what the master's parts share.  master.c listens, accepts,
 * spawns and reaps; master-keyproc.c looks after the key process,
 * master-template.c after the worker templates.
 */
#ifndef SC_MASTER_H
#define SC_MASTER_H

#include <sys/queue.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <stdint.h>

struct event_base;
struct conf;
struct template;

enum child_kind {
	CHILD_WORKER,
	CHILD_BROKER,
	CHILD_KEYPROC,
	CHILD_TEMPLATE,
};

struct child {
	TAILQ_ENTRY(child)	 entry;
	pid_t			 pid;		/* 0: a worker not forked yet */
	enum child_kind		 kind;
	uint64_t		 session_id;
	uint64_t		 started_ms;
	char			 addr[INET6_ADDRSTRLEN];
	char			 prefix[INET6_ADDRSTRLEN + 4];	/* "/bits" */
	/* A worker: its template, and the broker's end of its link. */
	struct template		*tpl;
	int			 broker_end;
	int			 attach_waits;	/* the broker's channel was full */
};

/* Respawn backoff of the master's long-lived children. */
#define RESPAWN_MIN_MS		250
#define RESPAWN_MAX_MS		30000
#define RESPAWN_STABLE_MS	60000	/* up this long: reset the backoff */
/* The broker, the template and the key process are pinged. */
#define CHILD_PING_MS		2000
#define CHILD_DEADLINE_MS	15000	/* no answer this long: hung, killed */

/* master.c */
struct event_base *master_base(void);
const struct conf *master_conf(void);
int		 master_shutting_down(void);
/* The TLS key the master read, as PEM. */
void		 master_key_pem(const uint8_t **pem, size_t *len);
/* Fork and re-execute in a role, fds[i] on descriptor 3 + i. */
pid_t		 master_spawn(const char *role, const int *fds, int nfds);
struct child	*master_child_add(pid_t pid, enum child_kind kind);
/* A worker the template forked (pid), or could not fork (pid 0). */
void		 master_worker_spawned(struct child *ch, pid_t pid);
void		 master_worker_dropped(struct child *ch);
int		 master_stalled(uint64_t *tick_ms);
/* A worker the template reaped. */
void		 master_child_ended(struct child *ch, int status);
/* Each child record in turn; NULL to start. */
struct child	*master_child_next(struct child *ch);
void		 master_worker_send_init(int fd);
/* Accept when every child a client needs is there, else stop. */
void		 master_listeners_update(void);
/* The next respawn delay after a child that lived lived_ms. */
unsigned int	 master_backoff(unsigned int *backoff_ms, uint64_t lived_ms);

/* master-keyproc.c */
void		 mkeyproc_spawn(void);
int		 mkeyproc_up(void);
/* Hand the key process its end of a worker's key link (fd stays ours). */
int		 mkeyproc_attach(uint64_t session_id, const char *addr, int fd);
/* A new key after a reload. */
void		 mkeyproc_reload(void);
void		 mkeyproc_ended(struct child *ch, uint64_t lived_ms);
void		 mkeyproc_cancel(void);

/* master-template.c */
void		 mtemplate_spawn(void);
int		 mtemplate_ready(void);
/* Hand a client to the template; 0, or -1 (nothing was sent). */
int		 mtemplate_fork(struct child *ch, int client, int broker,
		    int key);
/* Read every template's reports now (before reaping adopted workers). */
void		 mtemplate_drain(void);
/* Was pid forked by one of our templates (not reported yet, perhaps)? */
int		 mtemplate_forked(pid_t pid);
/* Is this template's process gone, so its workers are ours to reap? */
int		 mtemplate_gone(const struct template *tpl);
void		 mtemplate_worker_ended(struct child *ch, int status);
void		 mtemplate_ended(struct child *ch, uint64_t lived_ms);
/* New settings or certificate: a new template, and the key with it. */
void		 mtemplate_reload(int key_changed);
/* Signal every worker (each template's process group). */
void		 mtemplate_signal(int sig);
/* Shutdown, no worker left: templates go. */
void		 mtemplate_retire_all(void);
void		 mtemplate_cancel(void);
#endif
