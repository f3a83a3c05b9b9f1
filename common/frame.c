/*
 * frame.c: the bounded frame and TLV field codec used on every channel.
 * Decoding only points into the caller's buffer; building wipes what it frees.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "frame.h"
#include "util.h"
#include "xmalloc.h"

#define FIELD_HDR_LEN	6	/* u16 tag, u32 length */
#define BUILD_INITIAL	256

int
frame_peek(const uint8_t *buf, size_t len, size_t max, size_t *framelen)
{
	uint64_t	 total;

	if (len < FRAME_HDR_LEN)
		return FRAME_NEED_MORE;
	/* 64-bit sum: a 4 GiB claim must not wrap on a 32-bit size_t. */
	total = (uint64_t)FRAME_HDR_LEN + be32_get(buf);
	if (total > max)
		return FRAME_E_TOO_LARGE;
	if (len < total)
		return FRAME_NEED_MORE;
	*framelen = (size_t)total;
	return FRAME_OK;
}

static const struct frame_field *
find_field(const struct frame_field *fields, size_t n, uint16_t tag)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (fields[i].tag == tag)
			return &fields[i];
	return NULL;
}

static int
decode_fields(const uint8_t *p, size_t left, struct frame *f)
{
	struct frame_field	*fld;
	uint16_t		 tag;
	uint32_t		 flen;

	while (left > 0) {
		if (left < FIELD_HDR_LEN)
			return FRAME_E_TRUNCATED;
		tag = be16_get(p);
		flen = be32_get(p + 2);
		p += FIELD_HDR_LEN;
		left -= FIELD_HDR_LEN;
		if (flen > left)
			return FRAME_E_TRUNCATED;
		if (f->nfields == FRAME_MAX_FIELDS)
			return FRAME_E_TOO_MANY;
		/* Two values for one tag let layers disagree on which wins. */
		if (find_field(f->fields, f->nfields, tag) != NULL)
			return FRAME_E_DUPLICATE;
		fld = &f->fields[f->nfields++];
		fld->tag = tag;
		fld->len = flen;
		fld->val = p;
		p += flen;
		left -= flen;
	}
	return FRAME_OK;
}

int
frame_decode(const uint8_t *buf, size_t len, struct frame *f)
{
	uint32_t	 bodylen;
	int		 r;

	memset(f, 0, sizeof(*f));
	if (len < FRAME_HDR_LEN)
		return FRAME_E_TRUNCATED;
	bodylen = be32_get(buf);
	/* The caller hands us exactly one frame, as frame_peek measured it. */
	if ((uint64_t)bodylen != (uint64_t)len - FRAME_HDR_LEN)
		return FRAME_E_TRUNCATED;
	f->type = be16_get(buf + 4);
	f->flags = be16_get(buf + 6);
	if ((f->flags & ~FRAME_FLAGS_KNOWN) != 0)
		return FRAME_E_FLAGS;
	if ((r = decode_fields(buf + FRAME_HDR_LEN, bodylen, f)) != FRAME_OK) {
		/* Leave nothing half-decoded for a careless caller to use. */
		memset(f, 0, sizeof(*f));
		return r;
	}
	return FRAME_OK;
}

/*
 * Strings end up on terminals and in logs: besides NUL, refuse every C0
 * control but tab, DEL, and the C1 controls (U+0080..U+009F, which some
 * terminals obey as escape sequences).
 */
static int
str_ok(const uint8_t *p, size_t len)
{
	uint32_t	 cp;
	size_t		 n;

	while (len > 0) {
		if ((n = utf8_decode(p, len, &cp)) == 0)
			return 0;
		if ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f))
			return 0;
		p += n;
		len -= n;
	}
	return 1;
}

static int
value_ok(const struct frame_field *fld, const struct field_spec *fs)
{
	switch (fs->kind) {
	case FK_U8:
		return fld->len == 1;
	case FK_U16:
		return fld->len == 2;
	case FK_U32:
		return fld->len == 4;
	case FK_U64:
		return fld->len == 8;
	case FK_STR:
		return fld->len <= fs->max_len && str_ok(fld->val, fld->len);
	case FK_BYTES:
		return fld->len <= fs->max_len;
	}
	/* A table with a kind we do not know is a bug; refuse, do not guess. */
	return 0;
}

static const struct field_spec *
find_spec(const struct msg_spec *spec, uint16_t tag)
{
	size_t	 i;

	for (i = 0; i < spec->nfields; i++)
		if (spec->fields[i].tag == tag)
			return &spec->fields[i];
	return NULL;
}

int
frame_validate(const struct frame *f, const struct msg_spec *spec)
{
	const struct frame_field	*fld;
	const struct field_spec		*fs;
	size_t				 i;

	if (spec == NULL || spec->type != f->type)
		return FRAME_E_UNKNOWN_TYPE;
	if (f->nfields > FRAME_MAX_FIELDS)
		return FRAME_E_TOO_MANY;
	for (i = 0; i < f->nfields; i++) {
		fld = &f->fields[i];
		if ((fs = find_spec(spec, fld->tag)) == NULL) {
			/* Newer peers add fields; only critical ones bind. */
			if (fld->tag & FIELD_CRITICAL)
				return FRAME_E_UNKNOWN_FIELD;
			continue;
		}
		if (!value_ok(fld, fs))
			return FRAME_E_BAD_VALUE;
	}
	for (i = 0; i < spec->nfields; i++) {
		fs = &spec->fields[i];
		if (fs->required &&
		    find_field(f->fields, f->nfields, fs->tag) == NULL)
			return FRAME_E_MISSING;
	}
	return FRAME_OK;
}

uint16_t
frame_err_code(int result)
{
	switch (result) {
	case FRAME_E_TOO_LARGE:
		return ERR_TOO_LARGE;
	case FRAME_E_UNKNOWN_TYPE:
		return ERR_UNKNOWN_TYPE;
	case FRAME_E_UNKNOWN_FIELD:
		return ERR_UNKNOWN_FIELD;
	case FRAME_E_MISSING:
		return ERR_MISSING_FIELD;
	default:
		return ERR_PROTOCOL;
	}
}

const char *
frame_strerror(int result)
{
	switch (result) {
	case FRAME_OK:
		return "ok";
	case FRAME_NEED_MORE:
		return "incomplete frame";
	case FRAME_E_TOO_LARGE:
		return "frame too large";
	case FRAME_E_TRUNCATED:
		return "truncated frame or field";
	case FRAME_E_FLAGS:
		return "unknown frame flags";
	case FRAME_E_TOO_MANY:
		return "too many fields";
	case FRAME_E_DUPLICATE:
		return "duplicate field";
	case FRAME_E_UNKNOWN_TYPE:
		return "unknown message type";
	case FRAME_E_UNKNOWN_FIELD:
		return "unknown critical field";
	case FRAME_E_MISSING:
		return "required field missing";
	case FRAME_E_BAD_VALUE:
		return "bad field value";
	default:
		return "unknown frame error";
	}
}

const struct frame_field *
frame_get(const struct frame *f, uint16_t tag)
{
	size_t	 n;

	n = f->nfields > FRAME_MAX_FIELDS ? FRAME_MAX_FIELDS : f->nfields;
	return find_field(f->fields, n, tag);
}

/* The field for tag when it holds exactly len bytes. */
static const struct frame_field *
get_sized(const struct frame *f, uint16_t tag, uint32_t len)
{
	const struct frame_field	*fld;

	if ((fld = frame_get(f, tag)) == NULL || fld->len != len)
		return NULL;
	return fld;
}

int
frame_get_u8(const struct frame *f, uint16_t tag, uint8_t *out)
{
	const struct frame_field	*fld;

	if ((fld = get_sized(f, tag, 1)) == NULL)
		return -1;
	*out = fld->val[0];
	return 0;
}

int
frame_get_u16(const struct frame *f, uint16_t tag, uint16_t *out)
{
	const struct frame_field	*fld;

	if ((fld = get_sized(f, tag, 2)) == NULL)
		return -1;
	*out = be16_get(fld->val);
	return 0;
}

int
frame_get_u32(const struct frame *f, uint16_t tag, uint32_t *out)
{
	const struct frame_field	*fld;

	if ((fld = get_sized(f, tag, 4)) == NULL)
		return -1;
	*out = be32_get(fld->val);
	return 0;
}

int
frame_get_u64(const struct frame *f, uint16_t tag, uint64_t *out)
{
	const struct frame_field	*fld;

	if ((fld = get_sized(f, tag, 8)) == NULL)
		return -1;
	*out = be64_get(fld->val);
	return 0;
}

int
frame_get_str(const struct frame *f, uint16_t tag, char *out, size_t outsz)
{
	const struct frame_field	*fld;

	if ((fld = frame_get(f, tag)) == NULL || outsz == 0 ||
	    fld->len > outsz - 1)
		return -1;
	/* A NUL inside would silently shorten the string the caller sees. */
	if (fld->len > 0 && memchr(fld->val, '\0', fld->len) != NULL)
		return -1;
	if (fld->len > 0)
		memcpy(out, fld->val, fld->len);
	out[fld->len] = '\0';
	return 0;
}

int
frame_get_bytes(const struct frame *f, uint16_t tag, const uint8_t **val,
    size_t *len)
{
	const struct frame_field	*fld;

	if ((fld = frame_get(f, tag)) == NULL)
		return -1;
	*val = fld->val;
	*len = fld->len;
	return 0;
}

void
frame_begin(struct frame_buf *b, uint16_t type, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	if (max < FRAME_HDR_LEN) {
		b->error = FRAME_E_TOO_LARGE;
		return;
	}
	b->cap = max < BUILD_INITIAL ? max : BUILD_INITIAL;
	b->data = xmalloc(b->cap);
	be32_put(b->data, 0);
	be16_put(b->data + 4, type);
	be16_put(b->data + 6, 0);
	b->len = FRAME_HDR_LEN;
}

/*
 * Make room for need more bytes.  Grow by hand rather than realloc so the
 * old copy, which may hold key material, is wiped before it is freed.
 */
static int
reserve(struct frame_buf *b, size_t need)
{
	uint8_t	*p;
	size_t	 ncap;

	if (need > b->max - b->len) {
		b->error = FRAME_E_TOO_LARGE;
		return -1;
	}
	if (need <= b->cap - b->len)
		return 0;
	ncap = b->cap;
	while (ncap - b->len < need)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	p = xmalloc(ncap);
	memcpy(p, b->data, b->len);
	OPENSSL_cleanse(b->data, b->cap);
	free(b->data);
	b->data = p;
	b->cap = ncap;
	return 0;
}

static void
put_field(struct frame_buf *b, uint16_t tag, const void *v, size_t len)
{
	if (b->error != 0)
		return;
	if (len > UINT32_MAX || len > SIZE_MAX - FIELD_HDR_LEN) {
		b->error = FRAME_E_TOO_LARGE;
		return;
	}
	if (reserve(b, FIELD_HDR_LEN + len) == -1)
		return;
	be16_put(b->data + b->len, tag);
	be32_put(b->data + b->len + 2, (uint32_t)len);
	if (len > 0)
		memcpy(b->data + b->len + FIELD_HDR_LEN, v, len);
	b->len += FIELD_HDR_LEN + len;
}

void
frame_put_u8(struct frame_buf *b, uint16_t tag, uint8_t v)
{
	put_field(b, tag, &v, 1);
}

void
frame_put_u16(struct frame_buf *b, uint16_t tag, uint16_t v)
{
	uint8_t	 w[2];

	be16_put(w, v);
	put_field(b, tag, w, sizeof(w));
}

void
frame_put_u32(struct frame_buf *b, uint16_t tag, uint32_t v)
{
	uint8_t	 w[4];

	be32_put(w, v);
	put_field(b, tag, w, sizeof(w));
}

void
frame_put_u64(struct frame_buf *b, uint16_t tag, uint64_t v)
{
	uint8_t	 w[8];

	be64_put(w, v);
	put_field(b, tag, w, sizeof(w));
}

void
frame_put_str(struct frame_buf *b, uint16_t tag, const char *s)
{
	if (s == NULL) {
		if (b->error == 0)
			b->error = FRAME_E_BAD_VALUE;
		return;
	}
	put_field(b, tag, s, strlen(s));
}

void
frame_put_bytes(struct frame_buf *b, uint16_t tag, const void *v, size_t len)
{
	if (v == NULL && len > 0) {
		if (b->error == 0)
			b->error = FRAME_E_BAD_VALUE;
		return;
	}
	put_field(b, tag, v, len);
}

int
frame_finish(struct frame_buf *b)
{
	struct frame	 f;
	int		 r;

	if (b->error != 0)
		return -1;
	if (b->data == NULL) {
		b->error = FRAME_E_TRUNCATED;
		return -1;
	}
	be32_put(b->data, (uint32_t)(b->len - FRAME_HDR_LEN));
	/*
	 * Decode what we built: a sender must never emit a frame its peer
	 * would refuse (too many fields, a tag twice).
	 */
	if ((r = frame_decode(b->data, b->len, &f)) != FRAME_OK) {
		b->error = r;
		return -1;
	}
	return 0;
}

void
frame_buf_free(struct frame_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}
