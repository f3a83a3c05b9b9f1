/*
 * scsystemd.c: what systemd does for securechat.service, small enough for
 * a test.  It binds the listening sockets (securechat.socket) and passes
 * them (LISTEN_FDS), listens on a notify socket (NOTIFY_SOCKET) and, when
 * asked, on a journal socket, writing what arrives to files the test
 * reads.  SIGUSR2 recreates the journal socket as a restart of journald
 * would, SIGHUP is passed on, SIGTERM stops the service (TimeoutStopSec=15,
 * then SIGKILL) and exits with its status.
 *
 * usage: scsystemd [-l addr:port]... [-n notify] [-N notify.log]
 *	[-j journal] [-J journal.log] [-p pidfile] -- command [args...]
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LISTEN	8
#define DGRAM_MAX	65536

static volatile sig_atomic_t	 got_term, got_hup, got_relog;

static void
handler(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR2)
		got_relog = 1;
}

static void __attribute__((noreturn))
die(const char *what)
{
	fprintf(stderr, "scsystemd: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
listen_on(const char *spec)
{
	struct sockaddr_storage	 ss;
	char			 host[128], *colon;
	socklen_t		 len;
	int			 fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	snprintf(host, sizeof(host), "%s", spec);
	if ((colon = strrchr(host, ':')) == NULL)
		die("address:port");
	*colon = '\0';
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) ==
	    1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(atoi(colon + 1));
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(atoi(colon + 1));
		len = sizeof(struct sockaddr_in6);
	} else
		die("numeric address");
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		die("socket");
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		die("IPV6_V6ONLY");
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		die(spec);
	if (listen(fd, 128) == -1)
		die("listen");
	return fd;
}

static int
dgram_at(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, on = 1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0666) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1)
		die(path);
	return fd;
}

static void
json_str(FILE *fp, const char *s, size_t n)
{
	size_t	 i;

	fputc('"', fp);
	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

/* The journal's native protocol: KEY=value lines, or KEY\n len64 data \n. */
static void
journal_entry(FILE *fp, const char *p, size_t len)
{
	const char	*end = p + len, *nl, *eq;
	uint64_t	 vlen;
	int		 first = 1;

	fputc('{', fp);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		if (!first)
			fputc(',', fp);
		first = 0;
		if ((eq = memchr(p, '=', (size_t)(nl - p))) != NULL) {
			json_str(fp, p, (size_t)(eq - p));
			fputc(':', fp);
			json_str(fp, eq + 1, (size_t)(nl - eq - 1));
			p = nl + 1;
			continue;
		}
		json_str(fp, p, (size_t)(nl - p));
		fputc(':', fp);
		p = nl + 1;
		if ((size_t)(end - p) < 8)
			break;
		memcpy(&vlen, p, 8);
		p += 8;
		if (vlen > (uint64_t)(end - p))
			break;
		json_str(fp, p, (size_t)vlen);
		p += vlen + 1;
	}
	fputs("}\n", fp);
	fflush(fp);
}

static void
drain(int fd, FILE *fp, int journal)
{
	static char	 buf[DGRAM_MAX + 1];
	ssize_t		 n;
	size_t		 i;

	while ((n = recv(fd, buf, DGRAM_MAX, MSG_DONTWAIT)) > 0) {
		if (fp == NULL)
			continue;
		if (journal) {
			journal_entry(fp, buf, (size_t)n);
			continue;
		}
		for (i = 0; i < (size_t)n; i++)
			if (buf[i] == '\n')
				buf[i] = ' ';
		buf[n] = '\0';
		fprintf(fp, "%s\n", buf);
		fflush(fp);
	}
}

static int	 nfd = -1, jfd = -1;
static FILE	*nlog, *jlog;

static void
drain_all(void)
{
	if (nfd != -1)
		drain(nfd, nlog, 0);
	if (jfd != -1)
		drain(jfd, jlog, 1);
}

static pid_t
start(char **argv, const int *lfds, int nl, const char *notify,
    const char *pidfile)
{
	char	 v[64];
	pid_t	 pid;
	int	 i, moved[MAX_LISTEN];
	FILE	*fp;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		for (i = 0; i < nl; i++)
			if ((moved[i] = fcntl(lfds[i], F_DUPFD, 3 + nl)) == -1)
				_exit(126);
		for (i = 0; i < nl; i++)
			if (dup2(moved[i], 3 + i) == -1)
				_exit(126);
		closefrom(3 + nl);
		if (nl > 0) {
			snprintf(v, sizeof(v), "%d", nl);
			setenv("LISTEN_FDS", v, 1);
			snprintf(v, sizeof(v), "%ld", (long)getpid());
			setenv("LISTEN_PID", v, 1);
		}
		if (notify != NULL)
			setenv("NOTIFY_SOCKET", notify, 1);
		setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef", 1);
		signal(SIGHUP, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGUSR2, SIG_DFL);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pidfile != NULL) {
		if ((fp = fopen(pidfile, "w")) == NULL)
			die(pidfile);
		fprintf(fp, "%ld\n", (long)pid);
		fclose(fp);
	}
	return pid;
}

static int
stop(pid_t pid)
{
	int	 status, i;

	(void)kill(pid, SIGTERM);
	/* TimeoutStopSec=15, then SIGKILL to the whole service. */
	for (i = 0; i < 150; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(100000);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	return status;
}

int
main(int argc, char *argv[])
{
	struct pollfd	 pfd[2];
	struct sigaction sa;
	const char	*notify = NULL, *journal = NULL, *pidfile = NULL;
	int		 lfds[MAX_LISTEN], nl = 0, ch, status, np;
	pid_t		 pid;

	while ((ch = getopt(argc, argv, "l:n:N:j:J:p:")) != -1) {
		switch (ch) {
		case 'l':
			if (nl == MAX_LISTEN)
				die("too many -l");
			lfds[nl++] = listen_on(optarg);
			break;
		case 'n':
			notify = optarg;
			break;
		case 'N':
			if ((nlog = fopen(optarg, "a")) == NULL)
				die(optarg);
			break;
		case 'j':
			journal = optarg;
			break;
		case 'J':
			if ((jlog = fopen(optarg, "a")) == NULL)
				die(optarg);
			break;
		case 'p':
			pidfile = optarg;
			break;
		default:
			fprintf(stderr, "usage: scsystemd [-l addr:port] "
			    "[-n notify] ... -- command\n");
			return 2;
		}
	}
	argv += optind;
	if (argv[0] == NULL)
		return 2;
	if (notify != NULL)
		nfd = dgram_at(notify);
	if (journal != NULL)
		jfd = dgram_at(journal);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	pid = start(argv, lfds, nl, notify, pidfile);
	for (;;) {
		np = 0;
		if (nfd != -1)
			pfd[np++] = (struct pollfd){ .fd = nfd, .events = POLLIN };
		if (jfd != -1)
			pfd[np++] = (struct pollfd){ .fd = jfd, .events = POLLIN };
		(void)poll(pfd, np, 100);
		drain_all();
		if (got_hup) {
			got_hup = 0;
			(void)kill(pid, SIGHUP);
		}
		if (got_relog) {
			/* journald restarts: a new socket. */
			got_relog = 0;
			if (jfd != -1) {
				close(jfd);
				jfd = dgram_at(journal);
			}
		}
		if (got_term) {
			status = stop(pid);
			drain_all();
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
			    WTERMSIG(status);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			/* Restart=on-failure is the test's to judge. */
			drain_all();
			fprintf(stderr, "scsystemd: service exited, status "
			    "%d\n", status);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
			    WTERMSIG(status);
		}
	}
}
