/*
 * util.c: helpers every program needs: descriptor flags, hex, clocks,
 * big-endian integers, "host[:port]" parsing and uniform random numbers.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "log.h"
#include "util.h"

int
fd_set_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
fd_set_cloexec(int fd, int on)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl);
}

int
fd_stdio_null(void)
{
	int	 fd;

	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1) {
		(void)close(fd);
		return -1;
	}
	if (fd > STDERR_FILENO)
		(void)close(fd);
	return 0;
}

void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int
hex_value(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int
hex_decode(const char *s, size_t slen, uint8_t *out, size_t len)
{
	size_t	 i;
	int	 hi, lo;

	if (slen != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		if ((hi = hex_value((unsigned char)s[2 * i])) == -1 ||
		    (lo = hex_value((unsigned char)s[2 * i + 1])) == -1)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
hex_colons(const uint8_t *in, size_t len, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	if (len == 0) {
		out[0] = '\0';
		return;
	}
	for (i = 0; i < len; i++) {
		out[3 * i] = digits[in[i] >> 4];
		out[3 * i + 1] = digits[in[i] & 0xf];
		out[3 * i + 2] = ':';
	}
	out[3 * len - 1] = '\0';
}

static uint64_t
clock_ms(clockid_t id)
{
	struct timespec	 ts;

	if (clock_gettime(id, &ts) == -1)
		fatal("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t
wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int
parse_hostport(const char *s, char *host, size_t hostsz, uint16_t *port,
    uint16_t defport)
{
	const char	*p, *end;
	size_t		 hlen;
	long		 v;
	char		*ep;

	*port = defport;
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		hlen = (size_t)(end - s - 1);
		p = end + 1;
		if (*p != '\0' && *p != ':')
			return -1;
		s++;
	} else {
		p = strrchr(s, ':');
		/* A bare IPv6 address has several colons and no port. */
		if (p != NULL && strchr(s, ':') != p)
			p = NULL;
		hlen = p ? (size_t)(p - s) : strlen(s);
	}
	if (hlen == 0 || hlen >= hostsz)
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (p != NULL && *p == ':') {
		errno = 0;
		v = strtol(p + 1, &ep, 10);
		if (p[1] == '\0' || *ep != '\0' || errno != 0 || v < 1 ||
		    v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	return 0;
}

uint32_t
random_between(uint32_t lo, uint32_t hi)
{
	uint64_t	 range, limit, v;

	if (hi <= lo)
		return lo;
	range = (uint64_t)hi - lo + 1;
	/* Reject the top sliver so every value is equally likely. */
	limit = UINT64_MAX - (UINT64_MAX % range);
	do {
		if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
			fatalx("RAND_bytes failed");
	} while (v >= limit);
	return (uint32_t)(lo + v % range);
}

int
str_copy(char *dst, const char *src, size_t dstsz)
{
	size_t	 len = strlen(src);

	if (len >= dstsz)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

uint16_t
be16_get(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t
be32_get(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

uint64_t
be64_get(const uint8_t *p)
{
	return ((uint64_t)be32_get(p) << 32) | be32_get(p + 4);
}

void
be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void
be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

static void
mask_bits(uint8_t *a, size_t len, int bits)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			a[i] &= (uint8_t)(0xff00 >> bits);
			bits = 0;
		}
	}
}

int
addr_prefix(const char *addr, int v4bits, int v6bits, char *out,
    size_t outsz)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	uint8_t			 a[16];
	char			 text[INET6_ADDRSTRLEN];
	int			 v6, bits, n;

	v4bits = v4bits < 0 ? 0 : v4bits > 32 ? 32 : v4bits;
	v6bits = v6bits < 0 ? 0 : v6bits > 128 ? 128 : v6bits;
	if (inet_pton(AF_INET, addr, a) == 1)
		v6 = 0;
	else if (inet_pton(AF_INET6, addr, a) == 1) {
		v6 = memcmp(a, mapped, sizeof(mapped)) != 0;
		if (!v6)
			memmove(a, a + 12, 4);
	} else
		return -1;
	bits = v6 ? v6bits : v4bits;
	mask_bits(a, v6 ? 16 : 4, bits);
	if (inet_ntop(v6 ? AF_INET6 : AF_INET, a, text, sizeof(text)) == NULL)
		return -1;
	n = snprintf(out, outsz, "%s/%d", text, bits);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

size_t
utf8_decode(const uint8_t *p, size_t left, uint32_t *cp)
{
	uint32_t	 c, min;
	size_t		 n, i;

	if (left == 0)
		return 0;
	c = p[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past Unicode: refused. */
	if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}
