/*
 * util.h: small helpers shared by every program: descriptors, hex,
 * time, and parsing of "host[:port]".
 */
#ifndef SC_UTIL_H
#define SC_UTIL_H

#include <stddef.h>
#include <stdint.h>

int	 fd_set_nonblock(int fd);
int	 fd_set_cloexec(int fd, int on);
/* /dev/null onto stdin and stdout (stderr is kept for -d logging). */
int	 fd_stdio_null(void);
/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void	 hex_encode(const uint8_t *in, size_t len, char *out);
/* s[0..slen) must be exactly 2*len hex digits (either case); -1 if not. */
int	 hex_decode(const char *s, size_t slen, uint8_t *out, size_t len);
/*
 * The code point of the well-formed UTF-8 sequence at p (no overlong
 * form, no surrogate, at most U+10FFFF) and its length 1..4; 0 if none.
 */
size_t	 utf8_decode(const uint8_t *p, size_t left, uint32_t *cp);
/* "aa:bb:..." form used for fingerprints (3*len bytes). */
void	 hex_colons(const uint8_t *in, size_t len, char *out);
uint64_t now_ms(void);		/* CLOCK_MONOTONIC milliseconds */
uint64_t wall_ms(void);		/* CLOCK_REALTIME milliseconds */
/*
 * Split "host[:port]" or "[v6]:port"; host copied into host (hostsz).
 * Returns 0, or -1 with a message in err.
 */
int	 parse_hostport(const char *s, char *host, size_t hostsz, uint16_t *port,
	    uint16_t defport);
/*
 * The network prefix of a numeric address, as "192.0.2.0/24" or
 * "2001:db8::/64": the unit that per-prefix limits count.  IPv4-mapped IPv6
 * addresses count as IPv4.  Bits are clamped to 0..32 and 0..128.  Returns
 * 0, or -1 if addr is not a numeric address.
 */
int	 addr_prefix(const char *addr, int v4bits, int v6bits, char *out,
	    size_t outsz);
/* Uniform random integer in [lo, hi] from the OpenSSL DRBG. */
uint32_t random_between(uint32_t lo, uint32_t hi);
/* Copy with a terminating NUL; -1 (and nothing copied) if it does not fit. */
int	 str_copy(char *dst, const char *src, size_t dstsz);
uint16_t be16_get(const uint8_t *);
uint32_t be32_get(const uint8_t *);
uint64_t be64_get(const uint8_t *);
void	 be16_put(uint8_t *, uint16_t);
void	 be32_put(uint8_t *, uint32_t);
void	 be64_put(uint8_t *, uint64_t);

#endif
