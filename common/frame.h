/*
 * frame.h: the one bounded codec for every channel.  A frame is an 8-byte
 * header (u32 body length, u16 type, u16 flags, big endian) and a body of
 * TLV fields (u16 tag, u32 length, value).  Decoding never allocates and
 * never reads past the buffer it is given.
 */
#ifndef SC_FRAME_H
#define SC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Results; negative values name what was wrong. */
#define FRAME_OK		0
#define FRAME_NEED_MORE		1	/* not a whole frame yet */
#define FRAME_E_TOO_LARGE	(-1)	/* length above the bound */
#define FRAME_E_TRUNCATED	(-2)	/* field runs past the body */
#define FRAME_E_FLAGS		(-3)	/* unknown header flag */
#define FRAME_E_TOO_MANY	(-4)	/* more than FRAME_MAX_FIELDS */
#define FRAME_E_DUPLICATE	(-5)	/* a tag appears twice */
#define FRAME_E_UNKNOWN_TYPE	(-6)
#define FRAME_E_UNKNOWN_FIELD	(-7)	/* unknown critical field */
#define FRAME_E_MISSING		(-8)	/* required field absent */
#define FRAME_E_BAD_VALUE	(-9)	/* wrong size, bad string */

struct frame_field {
	uint16_t	 tag;
	uint32_t	 len;
	const uint8_t	*val;		/* points into the decoded buffer */
};

struct frame {
	uint16_t		 type;
	uint16_t		 flags;
	size_t			 nfields;
	struct frame_field	 fields[FRAME_MAX_FIELDS];
};

/*
 * Look at the start of buf: FRAME_OK with *framelen set when a whole frame
 * of at most max bytes (header included) is there, FRAME_NEED_MORE when not
 * yet, FRAME_E_TOO_LARGE as soon as the header claims more than max.
 */
int	 frame_peek(const uint8_t *buf, size_t len, size_t max, size_t *framelen);
/* Decode exactly one whole frame of len bytes; fields point into buf. */
int	 frame_decode(const uint8_t *buf, size_t len, struct frame *f);
/*
 * Check f against a table entry: unknown critical fields, missing required
 * ones, sizes and string contents.  spec NULL means an unknown type.
 */
int	 frame_validate(const struct frame *f, const struct msg_spec *spec);
/* The ERROR code (enum err_code) that answers a FRAME_E_* result. */
uint16_t frame_err_code(int result);
const char *frame_strerror(int result);

const struct frame_field *frame_get(const struct frame *f, uint16_t tag);
int	 frame_get_u8(const struct frame *f, uint16_t tag, uint8_t *out);
int	 frame_get_u16(const struct frame *f, uint16_t tag, uint16_t *out);
int	 frame_get_u32(const struct frame *f, uint16_t tag, uint32_t *out);
int	 frame_get_u64(const struct frame *f, uint16_t tag, uint64_t *out);
/* Copy a string field into out (NUL-terminated); -1 if absent, too long or has a NUL. */
int	 frame_get_str(const struct frame *f, uint16_t tag, char *out, size_t outsz);
int	 frame_get_bytes(const struct frame *f, uint16_t tag, const uint8_t **val, size_t *len);

/*
 * The next frame in a libevent input buffer (frame-evbuffer.c): FRAME_OK
 * with f decoded and checked against spec(type) (spec NULL: not checked),
 * FRAME_NEED_MORE, or an error.  *raw points at the frame (or its header,
 * once one is there) and *rawlen is what to drain after handling it.
 */
struct evbuffer;
int	 frame_evbuffer_next(struct evbuffer *in, size_t max,
	    const struct msg_spec *(*spec)(uint16_t), struct frame *f,
	    uint8_t **raw, size_t *rawlen);

/*
 * Building.  Errors are sticky: put functions after a failure do nothing
 * and frame_finish reports it, so callers check once.
 */
struct frame_buf {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	size_t		 max;		/* whole frame bound */
	int		 error;
};

void	 frame_begin(struct frame_buf *b, uint16_t type, size_t max);
void	 frame_put_u8(struct frame_buf *b, uint16_t tag, uint8_t v);
void	 frame_put_u16(struct frame_buf *b, uint16_t tag, uint16_t v);
void	 frame_put_u32(struct frame_buf *b, uint16_t tag, uint32_t v);
void	 frame_put_u64(struct frame_buf *b, uint16_t tag, uint64_t v);
void	 frame_put_str(struct frame_buf *b, uint16_t tag, const char *s);
void	 frame_put_bytes(struct frame_buf *b, uint16_t tag, const void *v, size_t len);
/* Write the length; 0 on success, -1 if any put failed (too large, no memory). */
int	 frame_finish(struct frame_buf *b);
/* Free the buffer, wiping it first (it may have held key material). */
void	 frame_buf_free(struct frame_buf *b);

#endif
