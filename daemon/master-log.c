/*
 * master-log.c: where the daemon's lines go when it is not in the
 * foreground.  Started by systemd, to the journal, each line with its
 * priority and fields (SECURECHAT_ROLE, SECURECHAT_EVENT=security, the
 * child's pid); otherwise to syslog.  Sandboxed children cannot reopen a
 * log socket, so they never hold one: they send each line as a datagram
 * on their stderr, one socketpair shared by all, and the master, which
 * can reconnect after syslog or journald restarts, passes it on.  The
 * master names the sender from the kernel's credentials, not from what
 * the child claims to be.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include <event2/event.h>

#include "log.h"
#include "ops.h"
#include "util.h"

#define RELAY_RCVBUF	(256 * 1024)
#define DRAIN_MAX	256	/* lines per event: others wait their turn */

enum mlog_kind {
	MLOG_STDERR,
	MLOG_JOURNAL,
	MLOG_SYSLOG,
};

static enum mlog_kind	 kind = MLOG_STDERR;
static int		 relay[2] = { -1, -1 };
static struct event	*relay_ev;
static const char	*(*child_role)(pid_t);

static void
journal_sink(int pri, int security, long pid, const char *proc,
    const char *line)
{
	struct iovec	 iov[7];
	char		 msg[LOG_RELAY_MAX + 64], fpri[32], fpid[32];
	char		 frole[48];
	int		 n = 0;

	(void)snprintf(msg, sizeof(msg), "MESSAGE=%s: %s", proc, line);
	(void)snprintf(fpri, sizeof(fpri), "PRIORITY=%d", pri);
	(void)snprintf(fpid, sizeof(fpid), "SYSLOG_PID=%ld", pid);
	(void)snprintf(frole, sizeof(frole), "SECURECHAT_ROLE=%s", proc);
	iov[n].iov_base = msg;
	iov[n++].iov_len = strlen(msg);
	iov[n].iov_base = fpri;
	iov[n++].iov_len = strlen(fpri);
	iov[n].iov_base = "SYSLOG_IDENTIFIER=securechatd";
	iov[n++].iov_len = strlen("SYSLOG_IDENTIFIER=securechatd");
	iov[n].iov_base = "SYSLOG_FACILITY=3";		/* LOG_DAEMON */
	iov[n++].iov_len = strlen("SYSLOG_FACILITY=3");
	iov[n].iov_base = fpid;
	iov[n++].iov_len = strlen(fpid);
	iov[n].iov_base = frole;
	iov[n++].iov_len = strlen(frole);
	if (security) {
		iov[n].iov_base = "SECURECHAT_EVENT=security";
		iov[n++].iov_len = strlen("SECURECHAT_EVENT=security");
	}
	/* Nowhere to report a failure: journald is down, the line is lost. */
	(void)sd_journal_sendv(iov, n);
}

static void
syslog_sink(int pri, int security, long pid, const char *proc,
    const char *line)
{
	/* glibc reconnects to /dev/log when a send fails. */
	if (pid == (long)getpid())
		syslog(LOG_DAEMON | pri, "%s: %s", proc, line);
	else
		syslog(LOG_DAEMON | pri, "%s[%ld]: %s", proc, pid, line);
}

/* Started by systemd: it sets these for every service it runs. */
static int
under_systemd(void)
{
	return getenv("INVOCATION_ID") != NULL ||
	    getenv("JOURNAL_STREAM") != NULL;
}

void
mlog_start(int foreground, int level)
{
	int	 on = 1, sz = RELAY_RCVBUF;

	if (foreground) {
		kind = MLOG_STDERR;
		log_init(1, level);
		return;
	}
	if (under_systemd()) {
		kind = MLOG_JOURNAL;
		log_setlevel(level);
		log_set_sink(journal_sink);
	} else {
		kind = MLOG_SYSLOG;
		openlog("securechatd", LOG_PID, LOG_DAEMON);
		log_setlevel(level);
		log_set_sink(syslog_sink);
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, relay) == -1)
		fatal("log relay socketpair");
	if (setsockopt(relay[0], SOL_SOCKET, SO_PASSCRED, &on,
	    sizeof(on)) == -1)
		fatal("SO_PASSCRED");
	/* Best effort: a larger queue rides out a burst of lines. */
	(void)setsockopt(relay[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (fd_set_nonblock(relay[0]) == -1)
		fatal("log relay");
}

const char *
mlog_target(void)
{
	switch (kind) {
	case MLOG_STDERR:
		return "stderr";
	case MLOG_JOURNAL:
		return "the journal";
	case MLOG_SYSLOG:
		return "syslog";
	}
	return "?";
}

int
mlog_child_fd(void)
{
	return relay[1] != -1 ? relay[1] : STDERR_FILENO;
}

/* One datagram; 0 when there was none. */
static int
relay_one(void)
{
	char		 rec[LOG_RELAY_MAX + 1];
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(struct ucred))];
	} cbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cm;
	struct ucred	 cred;
	const char	*proc, *text, *role = NULL;
	ssize_t		 n;
	int		 pri, security, have_cred = 0;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = rec;
	iov.iov_len = sizeof(rec) - 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf.buf;
	msg.msg_controllen = sizeof(cbuf.buf);
	if ((n = recvmsg(relay[0], &msg, MSG_DONTWAIT)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("log relay");
		return 0;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
			have_cred = 1;
		}
	if (!have_cred || (msg.msg_flags & MSG_TRUNC) ||
	    log_relay_parse(rec, (size_t)n, &pri, &security, &proc,
	    &text) == -1) {
		log_warnx("log relay: a malformed line%s", have_cred ?
		    "" : " without credentials");
		return 1;
	}
	/* A child is what the master started it as, whatever it says. */
	if (child_role == NULL || (role = child_role(cred.pid)) == NULL)
		role = "child";
	switch (kind) {
	case MLOG_JOURNAL:
		journal_sink(pri, security, (long)cred.pid, role, text);
		break;
	case MLOG_SYSLOG:
		syslog_sink(pri, security, (long)cred.pid, role, text);
		break;
	case MLOG_STDERR:
		break;
	}
	return 1;
}

void
mlog_drain(void)
{
	int	 i;

	if (relay[0] == -1)
		return;
	for (i = 0; i < DRAIN_MAX && relay_one(); i++)
		;
}

static void
relay_cb(evutil_socket_t fd, short ev, void *arg)
{
	mlog_drain();
}

void
mlog_event_init(struct event_base *base, const char *(*who)(pid_t))
{
	child_role = who;
	if (relay[0] == -1)
		return;
	if ((relay_ev = event_new(base, relay[0], EV_READ | EV_PERSIST,
	    relay_cb, NULL)) == NULL || event_add(relay_ev, NULL) == -1)
		fatalx("log relay event");
}

void
mlog_free(void)
{
	mlog_drain();
	if (relay_ev != NULL)
		event_free(relay_ev);
	relay_ev = NULL;
	if (relay[0] != -1) {
		(void)close(relay[0]);
		(void)close(relay[1]);
		relay[0] = relay[1] = -1;
	}
}
