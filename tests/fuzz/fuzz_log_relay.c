/*
 * fuzz_log_relay.c: libFuzzer harness for the master's reading of its
 * children's log lines: one datagram from a sandboxed child (a worker a
 * client took over, at worst) through relay_one, the kernel's
 * credentials, log_relay_parse and the journal or syslog sink.  This file
 * includes master-log.c, whose functions are static; the sinks' library
 * calls are replaced by checks, so nothing reaches the machine's logs.
 */
#include "config.h"

#include <sys/uio.h>

#include <stdarg.h>

/* Before master-log.c declares and calls them. */
#define sd_journal_sendv	fuzz_journal_sendv
#define syslog			fuzz_syslog

#include "master-log.c"

#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	fuzz_journal_sendv(const struct iovec *, int);
void	fuzz_syslog(int, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* The first input byte. */
#define FLAG_SYSLOG	0x01	/* else the journal */
#define FLAG_KNOWN	0x02	/* the master knows the sender's pid */

static int	 known;

/* Every field a whole "NAME=value" string, the message bounded. */
int
fuzz_journal_sendv(const struct iovec *iov, int n)
{
	const char	*p, *eq;
	int		 i;

	if (n < 6 || n > 7)
		abort();
	for (i = 0; i < n; i++) {
		p = iov[i].iov_base;
		if (iov[i].iov_len == 0 || memchr(p, '\0',
		    iov[i].iov_len) != NULL ||
		    (eq = memchr(p, '=', iov[i].iov_len)) == NULL || eq == p)
			abort();
	}
	if (iov[0].iov_len > LOG_RELAY_MAX + 64 ||
	    strncmp(iov[0].iov_base, "MESSAGE=", 8) != 0)
		abort();
	return 0;
}

void
fuzz_syslog(int pri, const char *fmt, ...)
{
	char	 line[4096];
	va_list	 ap;

	if ((pri & LOG_FACMASK) != LOG_DAEMON)
		abort();
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
}

static const char *
role_of(pid_t pid)
{
	return known && pid == getpid() ? "worker" : NULL;
}

static void
setup(void)
{
	int	 on = 1;

	fuzz_setup();
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, relay) == -1 ||
	    setsockopt(relay[0], SOL_SOCKET, SO_PASSCRED, &on,
	    sizeof(on)) == -1 || fd_set_nonblock(relay[0]) == -1)
		abort();
	child_role = role_of;
}

/* What log_relay_parse says it found lies within what it was given. */
static void
parse(const uint8_t *data, size_t size)
{
	const char	*proc, *text;
	char		*rec;
	int		 pri, security;

	rec = malloc(size + 1);
	memcpy(rec, data, size);
	if (log_relay_parse(rec, size, &pri, &security, &proc, &text) == 0 &&
	    (pri < 0 || pri > LOG_DEBUG || (security != 0 && security != 1) ||
	    proc < rec || proc > rec + size || text < proc ||
	    text > rec + size || strlen(text) > size))
		abort();
	free(rec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	 flags;

	if (child_role == NULL)
		setup();
	if (size == 0)
		return 0;
	flags = data[0];
	kind = (flags & FLAG_SYSLOG) ? MLOG_SYSLOG : MLOG_JOURNAL;
	known = (flags & FLAG_KNOWN) != 0;
	/* One datagram, as a child's log_relay sends it, credentials added. */
	if (send(relay[1], data + 1, size - 1, 0) != (ssize_t)(size - 1))
		abort();
	if (relay_one() != 1 || relay_one() != 0)
		abort();
	parse(data + 1, size - 1);
	return 0;
}
