/*
 * gen.h: the seed generator's parts (gen_corpus.c, gen-daemon.c,
 * gen-client.c): each writes the seeds of its harnesses.
 */
#ifndef SC_GEN_H
#define SC_GEN_H

#include <stddef.h>
#include <stdint.h>

struct frame_buf;

/* Bytes put together for one seed. */
struct gen_buf {
	uint8_t	*p;
	size_t	 len;
};

void	gen_write(const char *target, const char *name, const void *p,
	    size_t len);
void	gen_text(const char *target, const char *name, const char *text);
void	gen_frame(const char *target, const char *name, const void *prefix,
	    size_t plen, struct frame_buf *b);
struct frame_buf *gen_fb(uint16_t type);
void	gen_cat(struct gen_buf *, const void *, size_t);
void	gen_u8(struct gen_buf *, uint8_t);
void	gen_u16(struct gen_buf *, uint16_t);
void	gen_u32(struct gen_buf *, uint32_t);
void	gen_u64(struct gen_buf *, uint64_t);
void	gen_str(struct gen_buf *, const char *);
void	gen_frame_cat(struct gen_buf *, struct frame_buf *);
/* Write g as target/name and empty it. */
void	gen_done(struct gen_buf *, const char *target, const char *name);

/* alice's signed entry creating room (an open one), into buf. */
size_t	gen_roster_create(const char *room, uint8_t *buf, size_t bufsz);
void	gen_daemon_seeds(void);
void	gen_client_seeds(void);

#endif
