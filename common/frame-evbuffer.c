/*
 * frame-evbuffer.c: take the next whole frame from a libevent input
 * buffer, bounded before anything is pulled up, then decode and check it.
 * Kept apart from frame.c so programs without libevent need not link it.
 */
#include "config.h"

#include <event2/buffer.h>

#include "frame.h"
#include "util.h"

int
frame_evbuffer_next(struct evbuffer *in, size_t max,
    const struct msg_spec *(*spec)(uint16_t), struct frame *f,
    uint8_t **raw, size_t *rawlen)
{
	uint8_t	*p;
	size_t	 avail = evbuffer_get_length(in), flen;
	int	 rv;

	*raw = NULL;
	*rawlen = 0;
	if (avail < FRAME_HDR_LEN)
		return FRAME_NEED_MORE;
	if ((p = evbuffer_pullup(in, FRAME_HDR_LEN)) == NULL)
		return FRAME_E_TRUNCATED;
	*raw = p;
	/* The header alone says whether the frame may be waited for at all. */
	rv = frame_peek(p, FRAME_HDR_LEN, max, &flen);
	if (rv == FRAME_NEED_MORE)
		flen = FRAME_HDR_LEN + be32_get(p);
	else if (rv != FRAME_OK)
		return rv;
	if (avail < flen)
		return FRAME_NEED_MORE;
	if ((p = evbuffer_pullup(in, (ev_ssize_t)flen)) == NULL)
		return FRAME_E_TRUNCATED;
	*raw = p;
	*rawlen = flen;
	if ((rv = frame_decode(p, flen, f)) != FRAME_OK)
		return rv;
	return spec == NULL ? FRAME_OK : frame_validate(f, spec(f->type));
}
