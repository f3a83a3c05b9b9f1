/*
 * test_frame.c: unit tests for the frame codec and the protocol tables.
 * Each test names the behaviour it proves; every error path has one.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"
#include "proto.h"

/* cmocka hands every test a state pointer these tests do not need. */
#define UNUSED		__attribute__((__unused__))

#define T_KINDS		0x7001
#define T_ONE		0x7002
#define T_BADKIND	0x7003

#define TAG_U8		0x0010
#define TAG_U16		0x0011
#define TAG_U32		0x0012
#define TAG_U64		0x0013
#define TAG_STR		0x0014
#define TAG_BYTES	0x0015
#define TAG_OPTSTR	0x0016

static const struct field_spec kinds_fields[] = {
	{ TAG_U8,	FK_U8,		1,	0 },
	{ TAG_U16,	FK_U16,		1,	0 },
	{ TAG_U32,	FK_U32,		1,	0 },
	{ TAG_U64,	FK_U64,		1,	0 },
	{ TAG_STR,	FK_STR,		1,	16 },
	{ TAG_BYTES,	FK_BYTES,	1,	16 },
	{ TAG_OPTSTR,	FK_STR,		0,	16 },
};
static const struct msg_spec kinds_spec = {
	T_KINDS, "KINDS", kinds_fields,
	sizeof(kinds_fields) / sizeof(kinds_fields[0])
};

/* One field, its kind chosen per test. */
static struct field_spec one_field[1];
static const struct msg_spec one_spec = { T_ONE, "ONE", one_field, 1 };

static const struct field_spec badkind_fields[] = {
	{ TAG_U8,	99,		1,	0 },
};
static const struct msg_spec badkind_spec = { T_BADKIND, "BADKIND",
	badkind_fields, 1 };

/* Raw encoders, independent of the builder under test. */
static size_t
put_tlv(uint8_t *p, uint16_t tag, const void *v, uint32_t len)
{
	p[0] = tag >> 8;
	p[1] = tag & 0xff;
	p[2] = len >> 24;
	p[3] = (len >> 16) & 0xff;
	p[4] = (len >> 8) & 0xff;
	p[5] = len & 0xff;
	if (len > 0)
		memcpy(p + 6, v, len);
	return 6 + (size_t)len;
}

static void
put_hdr(uint8_t *p, uint32_t bodylen, uint16_t type, uint16_t flags)
{
	p[0] = bodylen >> 24;
	p[1] = (bodylen >> 16) & 0xff;
	p[2] = (bodylen >> 8) & 0xff;
	p[3] = bodylen & 0xff;
	p[4] = type >> 8;
	p[5] = type & 0xff;
	p[6] = flags >> 8;
	p[7] = flags & 0xff;
}

/* Wrap body into a frame in out; returns the whole length. */
static size_t
wrap(uint8_t *out, uint16_t type, uint16_t flags, const uint8_t *body,
    size_t bodylen)
{
	put_hdr(out, (uint32_t)bodylen, type, flags);
	if (bodylen > 0)
		memcpy(out + FRAME_HDR_LEN, body, bodylen);
	return FRAME_HDR_LEN + bodylen;
}

/* Decode a frame holding a single field of kind k and validate it. */
static int
validate_one(uint8_t kind, uint32_t max_len, const void *v, uint32_t len)
{
	static uint8_t	 body[4096], buf[4200];
	struct frame	 f;
	size_t		 n;

	one_field[0].tag = TAG_STR;
	one_field[0].kind = kind;
	one_field[0].required = 1;
	one_field[0].max_len = max_len;
	n = put_tlv(body, TAG_STR, v, len);
	n = wrap(buf, T_ONE, 0, body, n);
	assert_int_equal(frame_decode(buf, n, &f), FRAME_OK);
	return frame_validate(&f, &one_spec);
}

static int
validate_str(const char *s, size_t len)
{
	return validate_one(FK_STR, 64, s, (uint32_t)len);
}

/* A frame with every kind of field, built with the builder. */
static void
build_kinds(struct frame_buf *b, size_t max)
{
	static const uint8_t	 raw[3] = { 0x00, 0xff, 0x7f };

	frame_begin(b, T_KINDS, max);
	frame_put_u8(b, TAG_U8, 0xab);
	frame_put_u16(b, TAG_U16, 0xbeef);
	frame_put_u32(b, TAG_U32, 0xdeadbeefU);
	frame_put_u64(b, TAG_U64, 0x0123456789abcdefULL);
	frame_put_str(b, TAG_STR, "h\xc3\xa9llo\tw");
	frame_put_bytes(b, TAG_BYTES, raw, sizeof(raw));
}

static void
builder_output_round_trips_every_field_kind(void **state UNUSED)
{
	struct frame_buf	 b;
	struct frame		 f;
	const uint8_t		*val;
	size_t			 framelen, len;
	uint8_t			 u8;
	uint16_t		 u16;
	uint32_t		 u32;
	uint64_t		 u64;
	char			 s[32];

	build_kinds(&b, FRAME_MAX_DEFAULT);
	frame_put_bytes(&b, 0x0042, NULL, 0);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_peek(b.data, b.len, FRAME_MAX_DEFAULT,
	    &framelen), FRAME_OK);
	assert_int_equal(framelen, b.len);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_int_equal(f.type, T_KINDS);
	assert_int_equal(f.flags, 0);
	assert_int_equal(f.nfields, 7);
	assert_int_equal(frame_validate(&f, &kinds_spec), FRAME_OK);

	assert_int_equal(frame_get_u8(&f, TAG_U8, &u8), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(frame_get_u16(&f, TAG_U16, &u16), 0);
	assert_int_equal(u16, 0xbeef);
	assert_int_equal(frame_get_u32(&f, TAG_U32, &u32), 0);
	assert_int_equal(u32, 0xdeadbeefU);
	assert_int_equal(frame_get_u64(&f, TAG_U64, &u64), 0);
	assert_true(u64 == 0x0123456789abcdefULL);
	assert_int_equal(frame_get_str(&f, TAG_STR, s, sizeof(s)), 0);
	assert_string_equal(s, "h\xc3\xa9llo\tw");
	assert_int_equal(frame_get_bytes(&f, TAG_BYTES, &val, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "\x00\xff\x7f", 3);
	/* Fields point into the buffer, not into copies. */
	assert_true(val > b.data && val < b.data + b.len);
	assert_int_equal(frame_get_bytes(&f, 0x0042, &val, &len), 0);
	assert_int_equal(len, 0);
	frame_buf_free(&b);
}

static void
builder_writes_big_endian_header_and_tlv(void **state UNUSED)
{
	static const uint8_t	 want[] = {
		0x00, 0x00, 0x00, 0x08,		/* body length */
		0x00, 0x01, 0x00, 0x00,		/* HELLO, no flags */
		0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
	};
	struct frame_buf	 b;

	frame_begin(&b, MSG_HELLO, FRAME_MAX_DEFAULT);
	frame_put_u16(&b, F_VERSION, 1);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	frame_buf_free(&b);
}

static void
builder_grows_past_its_initial_buffer(void **state UNUSED)
{
	static uint8_t		 big[5000];
	struct frame_buf	 b;
	struct frame		 f;
	const uint8_t		*val;
	size_t			 len;

	memset(big, 0x5a, sizeof(big));
	frame_begin(&b, T_ONE, FRAME_MAX_DEFAULT);
	frame_put_u8(&b, TAG_U8, 1);
	frame_put_bytes(&b, TAG_BYTES, big, sizeof(big));
	frame_put_u8(&b, TAG_U16, 2);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(b.len, 8 + 3 * 6 + 2 + sizeof(big));
	assert_true(b.cap <= FRAME_MAX_DEFAULT);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_int_equal(frame_get_bytes(&f, TAG_BYTES, &val, &len), 0);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(val, big, sizeof(big));
	frame_buf_free(&b);
}

static void
peek_needs_more_at_every_prefix_length(void **state UNUSED)
{
	struct frame_buf	 b;
	size_t			 i, framelen;

	build_kinds(&b, FRAME_MAX_DEFAULT);
	assert_int_equal(frame_finish(&b), 0);
	for (i = 0; i < b.len; i++) {
		framelen = 12345;
		assert_int_equal(frame_peek(b.data, i, FRAME_MAX_DEFAULT,
		    &framelen), FRAME_NEED_MORE);
		assert_int_equal(framelen, 12345);
	}
	assert_int_equal(frame_peek(b.data, b.len, FRAME_MAX_DEFAULT,
	    &framelen), FRAME_OK);
	assert_int_equal(framelen, b.len);
	frame_buf_free(&b);
}

static void
peek_measures_only_the_first_of_two_frames(void **state UNUSED)
{
	uint8_t		 buf[64];
	size_t		 n, framelen;

	n = wrap(buf, MSG_PING, 0, NULL, 0);
	n += wrap(buf + n, MSG_PONG, 0, NULL, 0);
	assert_int_equal(frame_peek(buf, n, FRAME_MAX_DEFAULT, &framelen),
	    FRAME_OK);
	assert_int_equal(framelen, FRAME_HDR_LEN);
}

static void
peek_refuses_1gib_claim_after_8_bytes(void **state UNUSED)
{
	uint8_t		 hdr[FRAME_HDR_LEN];
	size_t		 framelen;

	put_hdr(hdr, 1U << 30, MSG_HELLO, 0);
	assert_int_equal(frame_peek(hdr, 7, FRAME_MAX_DEFAULT, &framelen),
	    FRAME_NEED_MORE);
	assert_int_equal(frame_peek(hdr, 8, FRAME_MAX_DEFAULT, &framelen),
	    FRAME_E_TOO_LARGE);
}

static void
peek_bounds_the_whole_frame_not_the_body(void **state UNUSED)
{
	uint8_t		 hdr[FRAME_HDR_LEN];
	size_t		 framelen;

	put_hdr(hdr, 1024 - FRAME_HDR_LEN, MSG_HELLO, 0);
	assert_int_equal(frame_peek(hdr, 8, 1024, &framelen),
	    FRAME_NEED_MORE);
	put_hdr(hdr, 1024 - FRAME_HDR_LEN + 1, MSG_HELLO, 0);
	assert_int_equal(frame_peek(hdr, 8, 1024, &framelen),
	    FRAME_E_TOO_LARGE);
}

static void
peek_does_not_wrap_on_maximum_length_claim(void **state UNUSED)
{
	uint8_t		 hdr[FRAME_HDR_LEN];
	size_t		 framelen;

	put_hdr(hdr, UINT32_MAX, MSG_HELLO, 0);
	assert_int_equal(frame_peek(hdr, 8, FRAME_MAX_CEILING, &framelen),
	    FRAME_E_TOO_LARGE);
	/* With no bound at all it is merely incomplete, never "whole". */
	assert_int_equal(frame_peek(hdr, 8, SIZE_MAX, &framelen),
	    sizeof(size_t) > 4 ? FRAME_NEED_MORE : FRAME_E_TOO_LARGE);
}

static void
builder_refuses_to_exceed_max(void **state UNUSED)
{
	uint8_t			 pad[64];
	struct frame_buf	 b;
	size_t			 len;

	memset(pad, 0, sizeof(pad));
	frame_begin(&b, T_ONE, 64);
	frame_put_bytes(&b, TAG_BYTES, pad, 64 - FRAME_HDR_LEN - 6 + 1);
	assert_int_equal(b.error, FRAME_E_TOO_LARGE);
	len = b.len;
	/* Sticky: a small put after the failure changes nothing. */
	frame_put_u8(&b, TAG_U8, 1);
	assert_int_equal(b.len, len);
	assert_int_equal(frame_finish(&b), -1);
	assert_int_equal(b.error, FRAME_E_TOO_LARGE);
	frame_buf_free(&b);
}

static void
builder_fills_exactly_to_max(void **state UNUSED)
{
	uint8_t			 pad[300];
	struct frame_buf	 b;
	size_t			 framelen;

	memset(pad, 0, sizeof(pad));
	frame_begin(&b, T_ONE, 300);
	frame_put_bytes(&b, TAG_BYTES, pad, 300 - FRAME_HDR_LEN - 6);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(b.len, 300);
	/* Growing stops at the bound rather than doubling past it. */
	assert_int_equal(b.cap, 300);
	assert_int_equal(frame_peek(b.data, b.len, 300, &framelen), FRAME_OK);
	assert_int_equal(frame_peek(b.data, b.len, 299, &framelen),
	    FRAME_E_TOO_LARGE);
	frame_buf_free(&b);
}

static void
builder_refuses_max_smaller_than_header(void **state UNUSED)
{
	struct frame_buf	 b;

	frame_begin(&b, T_ONE, FRAME_HDR_LEN - 1);
	frame_put_u8(&b, TAG_U8, 1);
	assert_int_equal(frame_finish(&b), -1);
	assert_int_equal(b.error, FRAME_E_TOO_LARGE);
	frame_buf_free(&b);
}

static void
builder_refuses_field_longer_than_u32(void **state UNUSED)
{
	struct frame_buf	 b;
	uint8_t			 one = 0;

	if (sizeof(size_t) <= 4)
		skip();
	frame_begin(&b, T_ONE, SIZE_MAX);
	/* Refused on the length alone: the value is never read. */
	frame_put_bytes(&b, TAG_BYTES, &one, (size_t)UINT32_MAX + 1);
	assert_int_equal(frame_finish(&b), -1);
	assert_int_equal(b.error, FRAME_E_TOO_LARGE);
	frame_buf_free(&b);
}

static void
builder_refuses_null_string_and_null_bytes(void **state UNUSED)
{
	struct frame_buf	 b;

	frame_begin(&b, T_ONE, FRAME_MAX_DEFAULT);
	frame_put_str(&b, TAG_STR, NULL);
	assert_int_equal(frame_finish(&b), -1);
	assert_int_equal(b.error, FRAME_E_BAD_VALUE);
	/* The first error is the one reported. */
	frame_put_bytes(&b, TAG_BYTES, NULL, 1);
	frame_put_str(&b, TAG_STR, NULL);
	assert_int_equal(b.error, FRAME_E_BAD_VALUE);
	frame_buf_free(&b);

	frame_begin(&b, T_ONE, FRAME_MAX_DEFAULT);
	frame_put_bytes(&b, TAG_BYTES, NULL, 1);
	assert_int_equal(frame_finish(&b), -1);
	assert_int_equal(b.error, FRAME_E_BAD_VALUE);
	frame_put_bytes(&b, TAG_BYTES, NULL, 1);
	assert_int_equal(b.error, FRAME_E_BAD_VALUE);
	frame_buf_free(&b);
}

static void
builder_refuses_duplicate_tag(void **state UNUSED)
{
	struct frame_buf	 b;

	frame_begin(&b, T_ONE, FRAME_MAX_DEFAULT);
	frame_put_u8(&b, TAG_U8, 1);
	frame_put_u8(&b, TAG_U8, 2);
	assert_int_equal(frame_finish(&b), -1);
	assert_int_equal(b.error, FRAME_E_DUPLICATE);
	frame_buf_free(&b);
}

static void
builder_refuses_too_many_fields(void **state UNUSED)
{
	struct frame_buf	 b;
	uint16_t		 i;

	frame_begin(&b, T_ONE, FRAME_MAX_DEFAULT);
	for (i = 0; i < FRAME_MAX_FIELDS; i++)
		frame_put_u8(&b, 0x0100 + i, 0);
	assert_int_equal(frame_finish(&b), 0);
	frame_put_u8(&b, 0x0200, 0);
	assert_int_equal(frame_finish(&b), -1);
	assert_int_equal(b.error, FRAME_E_TOO_MANY);
	frame_buf_free(&b);
}

static void
finish_refuses_a_buffer_never_begun(void **state UNUSED)
{
	struct frame_buf	 b;

	memset(&b, 0, sizeof(b));
	assert_int_equal(frame_finish(&b), -1);
	assert_int_equal(b.error, FRAME_E_TRUNCATED);
}

static void
buf_free_leaves_an_empty_struct(void **state UNUSED)
{
	struct frame_buf	 b, zero;

	build_kinds(&b, FRAME_MAX_DEFAULT);
	frame_buf_free(&b);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&b, &zero, sizeof(b));
	/* Freeing twice is harmless. */
	frame_buf_free(&b);
}

static void
decode_refuses_buffer_shorter_than_header(void **state UNUSED)
{
	uint8_t		 buf[FRAME_HDR_LEN];
	struct frame	 f;

	put_hdr(buf, 0, MSG_PING, 0);
	assert_int_equal(frame_decode(buf, 7, &f), FRAME_E_TRUNCATED);
	assert_int_equal(frame_decode(buf, 0, &f), FRAME_E_TRUNCATED);
	assert_int_equal(frame_decode(buf, 8, &f), FRAME_OK);
	assert_int_equal(f.nfields, 0);
}

static void
decode_refuses_length_disagreeing_with_header(void **state UNUSED)
{
	uint8_t		 buf[64], body[16];
	struct frame	 f;
	size_t		 n, bl;

	bl = put_tlv(body, TAG_U8, "\x01", 1);
	n = wrap(buf, T_ONE, 0, body, bl);
	assert_int_equal(frame_decode(buf, n - 1, &f), FRAME_E_TRUNCATED);
	assert_int_equal(frame_decode(buf, n + 1, &f), FRAME_E_TRUNCATED);
	assert_int_equal(frame_decode(buf, n, &f), FRAME_OK);
}

static void
decode_refuses_field_value_past_body(void **state UNUSED)
{
	uint8_t		 buf[64], body[32];
	struct frame	 f;
	size_t		 n, bl;

	bl = put_tlv(body, TAG_BYTES, "abcd", 4);
	/* Claim 5 bytes of value where the body holds 4. */
	body[5] = 5;
	n = wrap(buf, T_ONE, 0, body, bl);
	assert_int_equal(frame_decode(buf, n, &f), FRAME_E_TRUNCATED);

	/* A huge claim must not wrap the bound check either. */
	body[2] = body[3] = body[4] = body[5] = 0xff;
	n = wrap(buf, T_ONE, 0, body, bl);
	assert_int_equal(frame_decode(buf, n, &f), FRAME_E_TRUNCATED);
}

static void
decode_refuses_trailing_bytes_after_last_field(void **state UNUSED)
{
	uint8_t		 buf[64], body[32];
	struct frame	 f;
	size_t		 n, bl, extra;

	/* One good field, then a TLV header cut short at every length. */
	for (extra = 1; extra < 6; extra++) {
		bl = put_tlv(body, TAG_U8, "\x01", 1);
		memset(body + bl, 0, extra);
		n = wrap(buf, T_ONE, 0, body, bl + extra);
		assert_int_equal(frame_decode(buf, n, &f), FRAME_E_TRUNCATED);
		/* Nothing half-decoded survives an error. */
		assert_int_equal(f.nfields, 0);
	}
}

static void
decode_refuses_unknown_flags(void **state UNUSED)
{
	uint8_t		 buf[FRAME_HDR_LEN];
	struct frame	 f;

	put_hdr(buf, 0, MSG_PING, 0x0001);
	assert_int_equal(frame_decode(buf, sizeof(buf), &f), FRAME_E_FLAGS);
	put_hdr(buf, 0, MSG_PING, 0x8000);
	assert_int_equal(frame_decode(buf, sizeof(buf), &f), FRAME_E_FLAGS);
}

static void
decode_accepts_32_fields_and_refuses_33(void **state UNUSED)
{
	uint8_t		 buf[1024], body[1024];
	struct frame	 f;
	size_t		 n, bl;
	uint16_t	 i;

	bl = 0;
	for (i = 0; i < FRAME_MAX_FIELDS; i++)
		bl += put_tlv(body + bl, 0x0100 + i, NULL, 0);
	n = wrap(buf, T_ONE, 0, body, bl);
	assert_int_equal(frame_decode(buf, n, &f), FRAME_OK);
	assert_int_equal(f.nfields, FRAME_MAX_FIELDS);

	bl += put_tlv(body + bl, 0x0200, NULL, 0);
	n = wrap(buf, T_ONE, 0, body, bl);
	assert_int_equal(frame_decode(buf, n, &f), FRAME_E_TOO_MANY);
}

static void
decode_refuses_duplicate_tag(void **state UNUSED)
{
	uint8_t		 buf[64], body[32];
	struct frame	 f;
	size_t		 n, bl;

	bl = put_tlv(body, TAG_U8, "\x01", 1);
	bl += put_tlv(body + bl, TAG_U16, "\x00\x01", 2);
	bl += put_tlv(body + bl, TAG_U8, "\x02", 1);
	n = wrap(buf, T_ONE, 0, body, bl);
	assert_int_equal(frame_decode(buf, n, &f), FRAME_E_DUPLICATE);
}

static void
decode_treats_critical_bit_as_part_of_the_tag(void **state UNUSED)
{
	uint8_t		 buf[64], body[32];
	struct frame	 f;
	size_t		 n, bl;

	bl = put_tlv(body, TAG_U8, "\x01", 1);
	bl += put_tlv(body + bl, TAG_U8 | FIELD_CRITICAL, "\x02", 1);
	n = wrap(buf, T_ONE, 0, body, bl);
	assert_int_equal(frame_decode(buf, n, &f), FRAME_OK);
	assert_int_equal(f.nfields, 2);
}

static void
validate_refuses_unknown_type(void **state UNUSED)
{
	struct frame_buf	 b;
	struct frame		 f;

	frame_begin(&b, MSG_WELCOME, FRAME_MAX_DEFAULT);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	/* Clients do not send WELCOME: no entry in their table. */
	assert_null(proto_client_spec(MSG_WELCOME));
	assert_int_equal(frame_validate(&f, proto_client_spec(f.type)),
	    FRAME_E_UNKNOWN_TYPE);
	assert_int_equal(frame_validate(&f, NULL), FRAME_E_UNKNOWN_TYPE);
	/* A spec for another type is not a spec for this one. */
	assert_int_equal(frame_validate(&f, &kinds_spec),
	    FRAME_E_UNKNOWN_TYPE);
	frame_buf_free(&b);
}

static void
validate_refuses_frame_claiming_too_many_fields(void **state UNUSED)
{
	struct frame	 f;

	memset(&f, 0, sizeof(f));
	f.type = T_ONE;
	f.nfields = FRAME_MAX_FIELDS + 1;
	assert_int_equal(frame_validate(&f, &one_spec), FRAME_E_TOO_MANY);
	/* frame_get on the same struct stays inside the array. */
	assert_null(frame_get(&f, 0x7777));
}

static void
validate_refuses_unknown_critical_field(void **state UNUSED)
{
	struct frame_buf	 b;
	struct frame		 f;

	build_kinds(&b, FRAME_MAX_DEFAULT);
	frame_put_u8(&b, 0x0777 | FIELD_CRITICAL, 1);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_int_equal(frame_validate(&f, &kinds_spec),
	    FRAME_E_UNKNOWN_FIELD);
	frame_buf_free(&b);
}

static void
validate_ignores_unknown_noncritical_field(void **state UNUSED)
{
	struct frame_buf	 b;
	struct frame		 f;

	build_kinds(&b, FRAME_MAX_DEFAULT);
	/* Even a value that would be bad for any known kind. */
	frame_put_bytes(&b, 0x0777, "\x00\n\xff", 3);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_int_equal(frame_validate(&f, &kinds_spec), FRAME_OK);
	frame_buf_free(&b);
}

static void
validate_refuses_missing_required_field(void **state UNUSED)
{
	struct frame_buf	 b;
	struct frame		 f;

	frame_begin(&b, T_KINDS, FRAME_MAX_DEFAULT);
	frame_put_u8(&b, TAG_U8, 0xab);
	frame_put_u16(&b, TAG_U16, 0xbeef);
	frame_put_u32(&b, TAG_U32, 1);
	frame_put_u64(&b, TAG_U64, 1);
	frame_put_str(&b, TAG_STR, "x");
	/* TAG_BYTES left out. */
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_int_equal(frame_validate(&f, &kinds_spec), FRAME_E_MISSING);
	frame_buf_free(&b);
}

static void
validate_accepts_missing_optional_field(void **state UNUSED)
{
	struct frame_buf	 b;
	struct frame		 f;

	build_kinds(&b, FRAME_MAX_DEFAULT);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_null(frame_get(&f, TAG_OPTSTR));
	assert_int_equal(frame_validate(&f, &kinds_spec), FRAME_OK);
	frame_buf_free(&b);
}

static void
validate_requires_exact_integer_sizes(void **state UNUSED)
{
	static const struct {
		uint8_t		 kind;
		uint32_t	 size;
	} k[] = { { FK_U8, 1 }, { FK_U16, 2 }, { FK_U32, 4 }, { FK_U64, 8 } };
	uint8_t		 v[16];
	uint32_t	 len;
	size_t		 i;

	memset(v, 0, sizeof(v));
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		for (len = 0; len <= 9; len++)
			assert_int_equal(validate_one(k[i].kind, 0, v, len),
			    len == k[i].size ? FRAME_OK : FRAME_E_BAD_VALUE);
	}
}

static void
validate_bounds_string_and_bytes_length(void **state UNUSED)
{
	uint8_t		 v[32];

	memset(v, 'a', sizeof(v));
	assert_int_equal(validate_one(FK_STR, 16, v, 16), FRAME_OK);
	assert_int_equal(validate_one(FK_STR, 16, v, 17), FRAME_E_BAD_VALUE);
	assert_int_equal(validate_one(FK_STR, 16, v, 0), FRAME_OK);
	assert_int_equal(validate_one(FK_BYTES, 16, v, 16), FRAME_OK);
	assert_int_equal(validate_one(FK_BYTES, 16, v, 17),
	    FRAME_E_BAD_VALUE);
}

static void
validate_accepts_well_formed_utf8(void **state UNUSED)
{
	/* 1-, 2-, 3- and 4-byte forms, the extremes, and a tab. */
	static const char	 ok[] =
	    "a\t\xc2\xa0\xc3\xa9\xe2\x82\xac\xef\xbf\xbd\xf0\x9d\x84\x9e"
	    "\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80~";

	assert_int_equal(validate_str(ok, sizeof(ok) - 1), FRAME_OK);
}

static void
validate_refuses_malformed_utf8(void **state UNUSED)
{
	static const char	*bad[] = {
		"\x80",			/* lone continuation */
		"\xc0\xaf",		/* overlong lead, never valid */
		"\xc1\xbf",
		"\xe0\x80\xaf",		/* overlong 3-byte */
		"\xf0\x80\x80\xaf",	/* overlong 4-byte */
		"\xed\xa0\x80",		/* surrogate U+D800 */
		"\xed\xbf\xbf",		/* surrogate U+DFFF */
		"\xf4\x90\x80\x80",	/* U+110000 */
		"\xf5\x80\x80\x80",	/* lead past U+10FFFF */
		"\xff",
		"\xc3\x28",		/* bad continuation */
		"\xe2\x82",		/* cut short at the end */
		"ok\xf0\x9d\x84",
	};
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(validate_str(bad[i], strlen(bad[i])),
		    FRAME_E_BAD_VALUE);
}

static void
validate_refuses_embedded_nul(void **state UNUSED)
{
	assert_int_equal(validate_str("ab\0cd", 5), FRAME_E_BAD_VALUE);
	assert_int_equal(validate_str("\0", 1), FRAME_E_BAD_VALUE);
}

static void
validate_refuses_control_characters_but_tab(void **state UNUSED)
{
	static const char	*bad[] = {
		"a\nb", "a\rb", "\x1b[2J", "\x01", "\x1f", "a\x7f",
		"\xc2\x80", "\xc2\x9b\x33\x31m",	/* C1: U+0080, CSI */
	};
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(validate_str(bad[i], strlen(bad[i])),
		    FRAME_E_BAD_VALUE);
	assert_int_equal(validate_str("a\tb", 3), FRAME_OK);
	assert_int_equal(validate_str(" ~", 2), FRAME_OK);
}

static void
validate_refuses_field_of_unknown_kind_in_table(void **state UNUSED)
{
	uint8_t		 buf[64], body[32];
	struct frame	 f;
	size_t		 n, bl;

	bl = put_tlv(body, TAG_U8, "\x01", 1);
	n = wrap(buf, T_BADKIND, 0, body, bl);
	assert_int_equal(frame_decode(buf, n, &f), FRAME_OK);
	assert_int_equal(frame_validate(&f, &badkind_spec), FRAME_E_BAD_VALUE);
}

/* A frame with one field TAG_BYTES of len bytes, for getter tests. */
static void
decode_one(uint8_t *buf, const void *v, uint32_t len, struct frame *f)
{
	uint8_t		 body[64];
	size_t		 n, bl;

	bl = put_tlv(body, TAG_BYTES, v, len);
	n = wrap(buf, T_ONE, 0, body, bl);
	assert_int_equal(frame_decode(buf, n, f), FRAME_OK);
}

static void
getters_fail_on_absent_field(void **state UNUSED)
{
	uint8_t		 buf[64];
	struct frame	 f;
	const uint8_t	*val;
	size_t		 len;
	uint8_t		 u8;
	uint16_t	 u16;
	uint32_t	 u32;
	uint64_t	 u64;
	char		 s[8];

	decode_one(buf, "x", 1, &f);
	assert_null(frame_get(&f, TAG_U8));
	assert_int_equal(frame_get_u8(&f, TAG_U8, &u8), -1);
	assert_int_equal(frame_get_u16(&f, TAG_U8, &u16), -1);
	assert_int_equal(frame_get_u32(&f, TAG_U8, &u32), -1);
	assert_int_equal(frame_get_u64(&f, TAG_U8, &u64), -1);
	assert_int_equal(frame_get_str(&f, TAG_U8, s, sizeof(s)), -1);
	assert_int_equal(frame_get_bytes(&f, TAG_U8, &val, &len), -1);
}

static void
getters_fail_on_wrong_size(void **state UNUSED)
{
	static const uint8_t	 v[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	uint8_t			 buf[64];
	struct frame		 f;
	uint8_t			 u8 = 0x55;
	uint16_t		 u16 = 0x5555;
	uint32_t		 u32 = 0x55555555U;
	uint64_t		 u64 = 0x5555555555555555ULL;
	uint32_t		 len;

	for (len = 0; len <= 9; len++) {
		decode_one(buf, v, len, &f);
		assert_int_equal(frame_get_u8(&f, TAG_BYTES, &u8),
		    len == 1 ? 0 : -1);
		assert_int_equal(frame_get_u16(&f, TAG_BYTES, &u16),
		    len == 2 ? 0 : -1);
		assert_int_equal(frame_get_u32(&f, TAG_BYTES, &u32),
		    len == 4 ? 0 : -1);
		assert_int_equal(frame_get_u64(&f, TAG_BYTES, &u64),
		    len == 8 ? 0 : -1);
	}
	/* Successful reads were big endian. */
	assert_int_equal(u8, 1);
	assert_int_equal(u16, 0x0102);
	assert_int_equal(u32, 0x01020304U);
	assert_true(u64 == 0x0102030405060708ULL);
}

static void
get_str_fails_when_output_too_small(void **state UNUSED)
{
	uint8_t		 buf[64];
	struct frame	 f;
	char		 s[8];

	decode_one(buf, "abcdefg", 7, &f);
	assert_int_equal(frame_get_str(&f, TAG_BYTES, s, 8), 0);
	assert_string_equal(s, "abcdefg");
	assert_int_equal(frame_get_str(&f, TAG_BYTES, s, 7), -1);
	assert_int_equal(frame_get_str(&f, TAG_BYTES, s, 0), -1);

	decode_one(buf, NULL, 0, &f);
	assert_int_equal(frame_get_str(&f, TAG_BYTES, s, 1), 0);
	assert_string_equal(s, "");
}

static void
get_str_fails_on_embedded_nul(void **state UNUSED)
{
	uint8_t		 buf[64];
	struct frame	 f;
	char		 s[8];

	decode_one(buf, "ab\0c", 4, &f);
	assert_int_equal(frame_get_str(&f, TAG_BYTES, s, sizeof(s)), -1);
}

static void
err_code_maps_each_result(void **state UNUSED)
{
	assert_int_equal(frame_err_code(FRAME_E_TOO_LARGE), ERR_TOO_LARGE);
	assert_int_equal(frame_err_code(FRAME_E_UNKNOWN_TYPE),
	    ERR_UNKNOWN_TYPE);
	assert_int_equal(frame_err_code(FRAME_E_UNKNOWN_FIELD),
	    ERR_UNKNOWN_FIELD);
	assert_int_equal(frame_err_code(FRAME_E_MISSING), ERR_MISSING_FIELD);
	assert_int_equal(frame_err_code(FRAME_E_TRUNCATED), ERR_PROTOCOL);
	assert_int_equal(frame_err_code(FRAME_E_FLAGS), ERR_PROTOCOL);
	assert_int_equal(frame_err_code(FRAME_E_TOO_MANY), ERR_PROTOCOL);
	assert_int_equal(frame_err_code(FRAME_E_DUPLICATE), ERR_PROTOCOL);
	assert_int_equal(frame_err_code(FRAME_E_BAD_VALUE), ERR_PROTOCOL);
	assert_int_equal(frame_err_code(-100), ERR_PROTOCOL);
}

static void
strerror_names_each_result_distinctly(void **state UNUSED)
{
	const char	*s[13];
	int		 r;
	size_t		 i, j, n = 0;

	for (r = FRAME_E_BAD_VALUE; r <= FRAME_NEED_MORE; r++) {
		s[n] = frame_strerror(r);
		assert_non_null(s[n]);
		assert_true(strlen(s[n]) > 0);
		n++;
	}
	s[n++] = frame_strerror(-100);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			assert_string_not_equal(s[i], s[j]);
}

static void
proto_tables_accept_only_each_senders_messages(void **state UNUSED)
{
	assert_non_null(proto_client_spec(MSG_HELLO));
	assert_non_null(proto_client_spec(MSG_PING));
	assert_non_null(proto_client_spec(MSG_PONG));
	assert_null(proto_client_spec(MSG_ERROR));
	assert_null(proto_client_spec(IMSG_SESSION));

	assert_non_null(proto_server_spec(MSG_WELCOME));
	assert_non_null(proto_server_spec(MSG_PING));
	assert_non_null(proto_server_spec(MSG_PONG));
	assert_non_null(proto_server_spec(MSG_ERROR));
	assert_non_null(proto_server_spec(MSG_NOTICE));
	assert_null(proto_server_spec(MSG_HELLO));

	assert_non_null(proto_worker_spec(IMSG_SESSION));
	assert_null(proto_worker_spec(MSG_HELLO));
	assert_int_equal(proto_worker_spec(IMSG_SESSION)->type, IMSG_SESSION);
}

static void
proto_hello_spec_bounds_software(void **state UNUSED)
{
	char			 sw[66];
	struct frame_buf	 b;
	struct frame		 f;

	memset(sw, 'x', sizeof(sw));
	sw[64] = '\0';
	frame_begin(&b, MSG_HELLO, FRAME_MAX_DEFAULT);
	frame_put_u16(&b, F_VERSION, PROTO_VERSION);
	frame_put_str(&b, F_SOFTWARE, sw);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_int_equal(frame_validate(&f, proto_client_spec(f.type)),
	    FRAME_OK);
	frame_buf_free(&b);

	sw[64] = 'x';
	sw[65] = '\0';
	frame_begin(&b, MSG_HELLO, FRAME_MAX_DEFAULT);
	frame_put_u16(&b, F_VERSION, PROTO_VERSION);
	frame_put_str(&b, F_SOFTWARE, sw);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_int_equal(frame_validate(&f, proto_client_spec(f.type)),
	    FRAME_E_BAD_VALUE);
	frame_buf_free(&b);
}

static void
proto_error_spec_requires_code_and_text(void **state UNUSED)
{
	struct frame_buf	 b;
	struct frame		 f;

	frame_begin(&b, MSG_ERROR, FRAME_MAX_DEFAULT);
	frame_put_u16(&b, F_CODE, ERR_TOO_LARGE);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_int_equal(frame_validate(&f, proto_server_spec(f.type)),
	    FRAME_E_MISSING);
	frame_buf_free(&b);

	frame_begin(&b, MSG_ERROR, FRAME_MAX_DEFAULT);
	frame_put_u16(&b, F_CODE, ERR_VERSION);
	frame_put_str(&b, F_TEXT, "version not spoken");
	frame_put_bytes(&b, F_VERSIONS, "\x00\x01", 2);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(frame_decode(b.data, b.len, &f), FRAME_OK);
	assert_int_equal(frame_validate(&f, proto_server_spec(f.type)),
	    FRAME_OK);
	frame_buf_free(&b);
}

static void
proto_names_messages_and_errors(void **state UNUSED)
{
	assert_string_equal(proto_msg_name(MSG_HELLO), "HELLO");
	assert_string_equal(proto_msg_name(MSG_ERROR), "ERROR");
	assert_string_equal(proto_msg_name(IMSG_SESSION), "SESSION");
	assert_string_equal(proto_msg_name(0x7fff), "UNKNOWN");
	assert_string_equal(proto_err_name(ERR_PROTOCOL), "PROTOCOL");
	assert_string_equal(proto_err_name(ERR_TOO_LARGE), "TOO_LARGE");
	assert_string_equal(proto_err_name(ERR_MISSING_FIELD),
	    "MISSING_FIELD");
	assert_string_equal(proto_err_name(ERR_INTERNAL), "INTERNAL");
	assert_string_equal(proto_err_name(0), "UNKNOWN");
	assert_string_equal(proto_err_name(999), "UNKNOWN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(builder_output_round_trips_every_field_kind),
		cmocka_unit_test(builder_writes_big_endian_header_and_tlv),
		cmocka_unit_test(builder_grows_past_its_initial_buffer),
		cmocka_unit_test(peek_needs_more_at_every_prefix_length),
		cmocka_unit_test(peek_measures_only_the_first_of_two_frames),
		cmocka_unit_test(peek_refuses_1gib_claim_after_8_bytes),
		cmocka_unit_test(peek_bounds_the_whole_frame_not_the_body),
		cmocka_unit_test(peek_does_not_wrap_on_maximum_length_claim),
		cmocka_unit_test(builder_refuses_to_exceed_max),
		cmocka_unit_test(builder_fills_exactly_to_max),
		cmocka_unit_test(builder_refuses_max_smaller_than_header),
		cmocka_unit_test(builder_refuses_field_longer_than_u32),
		cmocka_unit_test(builder_refuses_null_string_and_null_bytes),
		cmocka_unit_test(builder_refuses_duplicate_tag),
		cmocka_unit_test(builder_refuses_too_many_fields),
		cmocka_unit_test(finish_refuses_a_buffer_never_begun),
		cmocka_unit_test(buf_free_leaves_an_empty_struct),
		cmocka_unit_test(decode_refuses_buffer_shorter_than_header),
		cmocka_unit_test(decode_refuses_length_disagreeing_with_header),
		cmocka_unit_test(decode_refuses_field_value_past_body),
		cmocka_unit_test(decode_refuses_trailing_bytes_after_last_field),
		cmocka_unit_test(decode_refuses_unknown_flags),
		cmocka_unit_test(decode_accepts_32_fields_and_refuses_33),
		cmocka_unit_test(decode_refuses_duplicate_tag),
		cmocka_unit_test(decode_treats_critical_bit_as_part_of_the_tag),
		cmocka_unit_test(validate_refuses_unknown_type),
		cmocka_unit_test(validate_refuses_frame_claiming_too_many_fields),
		cmocka_unit_test(validate_refuses_unknown_critical_field),
		cmocka_unit_test(validate_ignores_unknown_noncritical_field),
		cmocka_unit_test(validate_refuses_missing_required_field),
		cmocka_unit_test(validate_accepts_missing_optional_field),
		cmocka_unit_test(validate_requires_exact_integer_sizes),
		cmocka_unit_test(validate_bounds_string_and_bytes_length),
		cmocka_unit_test(validate_accepts_well_formed_utf8),
		cmocka_unit_test(validate_refuses_malformed_utf8),
		cmocka_unit_test(validate_refuses_embedded_nul),
		cmocka_unit_test(validate_refuses_control_characters_but_tab),
		cmocka_unit_test(validate_refuses_field_of_unknown_kind_in_table),
		cmocka_unit_test(getters_fail_on_absent_field),
		cmocka_unit_test(getters_fail_on_wrong_size),
		cmocka_unit_test(get_str_fails_when_output_too_small),
		cmocka_unit_test(get_str_fails_on_embedded_nul),
		cmocka_unit_test(err_code_maps_each_result),
		cmocka_unit_test(strerror_names_each_result_distinctly),
		cmocka_unit_test(proto_tables_accept_only_each_senders_messages),
		cmocka_unit_test(proto_hello_spec_bounds_software),
		cmocka_unit_test(proto_error_spec_requires_code_and_text),
		cmocka_unit_test(proto_names_messages_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
