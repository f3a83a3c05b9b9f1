/*
 * fuzz_frame.c: libFuzzer harness for the frame codec and protocol tables.
 * Any input must be refused or accepted cleanly; accepted ones re-encode.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every tag the tables know, plus one of each unknown class. */
static const uint16_t tags[] = {
	F_VERSION, F_SOFTWARE, F_TOKEN, F_CODE, F_TEXT, F_RETRY_AFTER_MS,
	F_MAX_FRAME, F_VERSIONS, F_IDLE_TIMEOUT, F_PID, F_ADDR, F_TLS_VERSION,
	F_TLS_CIPHER, F_TLS_GROUP, F_CERT_PEM, F_KEY_PEM, F_HANDSHAKE_TIMEOUT,
	F_REKEY_MIN, F_REKEY_MAX, F_LOG_LEVEL, F_USER_NAME, F_CHROOT,
	F_REGISTRATION, F_SESSION_ID, F_STATUS, F_MAX_CLIENTS, F_EXPORTER,
	0x0000, 0x7fff, 0x8001, 0xffff,
};

static void
getters(const struct frame *f)
{
	const uint8_t	*val;
	size_t		 i, len;
	uint8_t		 u8;
	uint16_t	 u16;
	uint32_t	 u32;
	uint64_t	 u64;
	char		 s[1025];

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		(void)frame_get(f, tags[i]);
		(void)frame_get_u8(f, tags[i], &u8);
		(void)frame_get_u16(f, tags[i], &u16);
		(void)frame_get_u32(f, tags[i], &u32);
		(void)frame_get_u64(f, tags[i], &u64);
		if (frame_get_str(f, tags[i], s, sizeof(s)) == 0 &&
		    strlen(s) > sizeof(s) - 1)
			abort();
		(void)frame_get_str(f, tags[i], s, 4);
		if (frame_get_bytes(f, tags[i], &val, &len) == 0 && len > 0)
			u8 = val[len - 1];
	}
}

/* Whatever decodes must come out of the builder byte for byte. */
static void
reencode(const uint8_t *buf, size_t len, const struct frame *f)
{
	struct frame_buf	 b;
	size_t			 i;

	frame_begin(&b, f->type, len);
	for (i = 0; i < f->nfields; i++)
		frame_put_bytes(&b, f->fields[i].tag, f->fields[i].val,
		    f->fields[i].len);
	if (frame_finish(&b) != 0 || b.len != len ||
	    memcmp(b.data, buf, len) != 0)
		abort();
	frame_buf_free(&b);
}

static void
check(const uint8_t *buf, size_t len)
{
	struct frame	 f;
	int		 r;

	r = frame_decode(buf, len, &f);
	(void)frame_strerror(r);
	(void)frame_err_code(r);
	if (r != FRAME_OK) {
		if (r >= 0 || f.nfields != 0)
			abort();
		return;
	}
	if (f.nfields > FRAME_MAX_FIELDS)
		abort();
	(void)frame_validate(&f, proto_client_spec(f.type));
	(void)frame_validate(&f, proto_server_spec(f.type));
	(void)frame_validate(&f, proto_worker_spec(f.type));
	(void)proto_msg_name(f.type);
	getters(&f);
	reencode(buf, len, &f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t	*copy;
	size_t	 framelen;
	int	 r;

	/*
	 * An exact-size heap copy, so ASan sees any read one byte past the
	 * end (the fuzzer's own buffer may have slack).
	 */
	if ((copy = malloc(size == 0 ? 1 : size)) == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);

	/* As a stream: the first frame, bounded like a worker would. */
	r = frame_peek(copy, size, FRAME_MAX_DEFAULT, &framelen);
	if (r == FRAME_OK) {
		if (framelen > size || framelen < FRAME_HDR_LEN)
			abort();
		check(copy, framelen);
	} else if (r != FRAME_NEED_MORE && r != FRAME_E_TOO_LARGE)
		abort();
	/* As one datagram, the way SOCK_SEQPACKET channels decode. */
	check(copy, size);
	/* A tiny bound must still answer without reading past the header. */
	(void)frame_peek(copy, size, FRAME_MIN_MAX, &framelen);
	if (size >= 2)
		(void)proto_err_name((uint16_t)((copy[0] << 8) | copy[1]));

	free(copy);
	return 0;
}
