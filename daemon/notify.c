/*
 * notify.c: the master and systemd.  Type=notify: READY=1 once it listens
 * and the broker runs, RELOADING=1 and READY=1 around a reload,
 * STOPPING=1 at shutdown, and STATUS= with the number of clients, at most
 * once a second.  Without NOTIFY_SOCKET (not started by systemd) these
 * are no-ops.  And socket activation: the listening sockets systemd
 * passes, which must be the configuration's listen addresses.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include <event2/event.h>

#include "log.h"
#include "ops.h"
#include "util.h"

#define STATUS_EVERY_MS		1000

static struct event	*status_ev;
static unsigned int	 status_clients;
static uint64_t		 status_sent_ms;
static int		 status_set;

static void
notify(const char *what, unsigned int clients, int with_status)
{
	int	 rv;

	if (with_status)
		rv = sd_notifyf(0, "%s%sSTATUS=%u client%s connected", what,
		    what[0] ? "\n" : "", clients, clients == 1 ? "" : "s");
	else
		rv = sd_notify(0, what);
	if (rv < 0)
		log_debug("sd_notify: error %d", -rv);
}

void
notify_ready(unsigned int clients)
{
	notify("READY=1", clients, 1);
}

void
notify_reloading(void)
{
	struct timespec	 ts;
	char		 buf[64];

	/* systemd 253 and later match RELOADING=1 with this timestamp. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
		notify("RELOADING=1", 0, 0);
		return;
	}
	(void)snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	notify(buf, 0, 0);
}

void
notify_stopping(void)
{
	notify("STOPPING=1", 0, 0);
}

static void
status_cb(evutil_socket_t fd, short ev, void *arg)
{
	status_sent_ms = now_ms();
	notify("", status_clients, 1);
}

void
notify_status(unsigned int clients)
{
	struct timeval	 tv = { 0, STATUS_EVERY_MS * 1000 };

	status_clients = clients;
	if (!status_set || status_ev == NULL || evtimer_pending(status_ev, NULL))
		return;
	if (now_ms() - status_sent_ms >= STATUS_EVERY_MS)
		status_cb(-1, 0, NULL);
	else if (evtimer_add(status_ev, &tv) == -1)
		log_warnx("status timer");
}

void
notify_init(struct event_base *base)
{
	status_set = getenv("NOTIFY_SOCKET") != NULL;
	if ((status_ev = evtimer_new(base, status_cb, NULL)) == NULL)
		fatalx("status timer");
}

void
notify_free(void)
{
	if (status_ev != NULL)
		event_free(status_ev);
	status_ev = NULL;
}

/* The address of a passed socket, as "127.0.0.1:7443" or "[::1]:7443". */
static int
sock_name(int fd, struct sockaddr_storage *ss, char *out, size_t outsz)
{
	socklen_t	 len = sizeof(*ss);
	char		 a[INET6_ADDRSTRLEN];
	const void	*p;
	uint16_t	 port;

	if (getsockname(fd, (struct sockaddr *)ss, &len) == -1)
		return -1;
	if (ss->ss_family == AF_INET) {
		p = &((struct sockaddr_in *)ss)->sin_addr;
		port = ntohs(((struct sockaddr_in *)ss)->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		p = &((struct sockaddr_in6 *)ss)->sin6_addr;
		port = ntohs(((struct sockaddr_in6 *)ss)->sin6_port);
	} else
		return -1;
	if (inet_ntop(ss->ss_family, p, a, sizeof(a)) == NULL)
		return -1;
	(void)snprintf(out, outsz, "%s%s%s:%u", ss->ss_family == AF_INET6 ?
	    "[" : "", a, ss->ss_family == AF_INET6 ? "]" : "", port);
	return 0;
}

/* Is this passed socket the configured address l? */
static int
sock_is(const struct sockaddr_storage *ss, const struct conf_listen *l)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (ss->ss_family == AF_INET)
		return inet_pton(AF_INET, l->address, &a4) == 1 &&
		    ((const struct sockaddr_in *)ss)->sin_port == htons(l->port) &&
		    memcmp(&((const struct sockaddr_in *)ss)->sin_addr, &a4,
		    sizeof(a4)) == 0;
	return inet_pton(AF_INET6, l->address, &a6) == 1 &&
	    ((const struct sockaddr_in6 *)ss)->sin6_port == htons(l->port) &&
	    memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &a6,
	    sizeof(a6)) == 0;
}

/*
 * systemd's sockets must be exactly the configuration's listen entries:
 * a unit that opened more, or other, addresses than the file says would
 * expose the server where the operator did not mean to.
 */
int
notify_take_listeners(const struct conf *c, int n, int *fds,
    char (*names)[80], size_t max, char *err, size_t errsz)
{
	struct sockaddr_storage	 ss;
	int			 used[CONF_MAX_LISTEN];
	int			 i, fd;
	size_t			 j;

	if ((size_t)n > max || (size_t)n > CONF_MAX_LISTEN) {
		(void)snprintf(err, errsz, "systemd passed %d sockets, at most "
		    "%d", n, CONF_MAX_LISTEN);
		return -1;
	}
	memset(used, 0, sizeof(used));
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0 ||
		    sock_name(fd, &ss, names[i], sizeof(names[i])) == -1) {
			(void)snprintf(err, errsz, "systemd passed descriptor %d, "
			    "which is not a listening TCP socket", fd);
			return -1;
		}
		for (j = 0; j < c->nlisten; j++)
			if (!used[j] && sock_is(&ss, &c->listen[j]))
				break;
		if (j == c->nlisten) {
			(void)snprintf(err, errsz, "systemd passed a socket on "
			    "%s, which is not in listen in %s: make "
			    "securechat.socket (ListenStream=) and listen the "
			    "same", names[i], c->path[0] ? c->path :
			    "the built-in defaults");
			return -1;
		}
		used[j] = 1;
		if (fd_set_nonblock(fd) == -1) {
			(void)snprintf(err, errsz, "descriptor %d: %s", fd,
			    strerror(errno));
			return -1;
		}
		fds[i] = fd;
	}
	for (j = 0; j < c->nlisten; j++)
		if (!used[j]) {
			(void)snprintf(err, errsz, "listen in %s has %s port %u, "
			    "but systemd passed no socket for it: make "
			    "securechat.socket (ListenStream=) and listen the "
			    "same", c->path[0] ? c->path : "the built-in defaults",
			    c->listen[j].address, c->listen[j].port);
			return -1;
		}
	return 0;
}

int
notify_listen_fds(void)
{
	int	 n;

	/* Unset the variables: children must not think they were passed. */
	if ((n = sd_listen_fds(1)) < 0)
		fatalx("sd_listen_fds: error %d", -n);
	return n;
}
