/*
 * fuzz_conf.c: libFuzzer harness for the configuration loader: any bytes
 * as securechat.conf.  A file is refused with a message or loaded within
 * the documented bounds; then it reloads over the defaults.
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "proto.h"
#include "xmalloc.h"

int		 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
const char	*__lsan_default_suppressions(void);

/*
 * libconfig 1.5 (Debian 12) leaks the text of a string literal that
 * stands where a setting's name belongs (a file that is just "x" leaks
 * 64 bytes).  Its bug, not ours, and only on a refused file: tell
 * LeakSanitizer so the harness goes on looking for ours.
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static char	*dir, *path;

static void
report(const char *option)
{
	if (option == NULL || *option == '\0')
		abort();
}

static void
terminated(const char *s, size_t sz)
{
	if (strnlen(s, sz) == sz)
		abort();
}

/* What the rest of the daemon counts on once conf_load said yes. */
static void
check(const struct conf *c)
{
	size_t	 i;

	if (c->nlisten < 1 || c->nlisten > CONF_MAX_LISTEN ||
	    c->max_clients < 1 || c->max_clients_per_ip < 1 ||
	    c->max_clients_per_ip > c->max_clients ||
	    c->max_frame_bytes < FRAME_MIN_MAX ||
	    c->max_frame_bytes > FRAME_MAX_CEILING ||
	    c->rekey_min < 1 || c->rekey_min > c->rekey_max ||
	    c->rekey_max > 86400 ||
	    c->ipv4_prefix < 8 || c->ipv4_prefix > 32 ||
	    c->ipv6_prefix < 16 || c->ipv6_prefix > 128 ||
	    c->handshake_timeout < 1 || c->handshake_timeout > 300 ||
	    c->idle_timeout < 10 || c->idle_timeout > 86400 ||
	    c->message_rate < 1 || c->message_rate > 100000 ||
	    c->message_burst < 1 || c->message_burst > 1000000 ||
	    c->retention > 36500 ||
	    c->registration > REG_CLOSED)
		abort();
	for (i = 0; i < c->nlisten; i++) {
		terminated(c->listen[i].address, sizeof(c->listen[i].address));
		if (c->listen[i].port == 0)
			abort();
	}
	terminated(c->path, sizeof(c->path));
	terminated(c->user, sizeof(c->user));
	terminated(c->state_dir, sizeof(c->state_dir));
	terminated(c->runtime_dir, sizeof(c->runtime_dir));
	terminated(c->empty_dir, sizeof(c->empty_dir));
	terminated(c->tls_certificate, sizeof(c->tls_certificate));
	terminated(c->tls_private_key, sizeof(c->tls_private_key));
	(void)conf_registration_name(c->registration);
	(void)conf_log_level_name(c->log_level);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	 c, live;
	char		 err[1024];
	int		 fd;

	if (dir == NULL) {
		fuzz_setup();
		dir = fuzz_tmpdir("fuzz-conf");
		(void)xasprintf(&path, "%s/securechat.conf", dir);
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    close(fd) == -1)
		abort();
	memset(&c, 0xa5, sizeof(c));
	if (conf_load(&c, path, 1, err, sizeof(err)) == -1) {
		/* A refusal always says why. */
		if (strnlen(err, sizeof(err)) == 0 ||
		    strnlen(err, sizeof(err)) == sizeof(err))
			abort();
		return 0;
	}
	check(&c);
	conf_defaults(&live);
	(void)conf_reload(&live, &c, report);
	check(&live);
	return 0;
}
