/*
 * fuzz_e2e_group.c: libFuzzer harness for room messages and the key
 * distribution payloads (SKDMs) that feed the receiver's hash ratchet.
 * Raw bytes, bytes a hostile chain holder signed, and real messages and
 * SKDMs delivered in any order, replayed or altered.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto.h"
#include "e2e.h"
#include "e2e-state.h"
#include "fuzz.h"
#include "xmalloc.h"

/* e2e-group.c's signature label, checked at start like the envelope's. */
#define GROUP_SIG_LABEL		"securechat/v1/group-sig"

#define NCHAINS		4	/* alice's chains in FUZZ_ROOM */
#define NMSGS		48	/* sealed per chain */
#define NSKDMS		3	/* per chain: at iterations 0, 16 and 40 */
#define MAX_STEPS	8	/* per input: keeps each run short */
#define FAR_JUMP	(E2E_MAX_JUMP + 1)

enum mode {
	MODE_RAW,	/* an SKDM, then a message, as the server relays them */
	MODE_SIGNED,	/* header and ciphertext signed with a held chain */
	MODE_SCRIPT,	/* real messages and SKDMs, in the order given */
	MODE_COUNT
};

struct sealed {
	uint8_t		*msg;
	size_t		 len;
	uint32_t	 iteration;
	char		 text[32];
};

/* One of alice's chains, and what it sealed. */
struct chain {
	struct e2e_chain c;
	uint8_t		 skdm[NSKDMS][E2E_SKDM_MAX];
	size_t		 skdmlen[NSKDMS];
	uint32_t	 skdm_at[NSKDMS];
	struct sealed	 m[NMSGS + 1];	/* the last one past a far jump */
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct chain	*chains;
/* Chains from elsewhere: another room, another sender, the ratchet's end. */
static uint8_t		 other_skdm[3][E2E_SKDM_MAX];
static size_t		 other_skdmlen[3];
static struct sealed	 end_msgs[3];

static void
seal_next(struct e2e_chain *c, const char *room, const char *sender,
    struct sealed *s)
{
	size_t	 need, len;

	s->iteration = c->iteration;
	(void)snprintf(s->text, sizeof(s->text), "message %u", c->iteration);
	need = e2e_group_seal_size(room, sender, strlen(s->text));
	s->msg = xmalloc(need);
	if (e2e_group_seal(c, room, sender, FUZZ_EPOCH, s->text,
	    strlen(s->text), 1, s->msg, need, &len) != E2E_OK || len != need)
		abort();
	s->len = len;
}

static void
make_skdm(const struct e2e_chain *c, const char *room, uint8_t *out,
    size_t *len)
{
	if (e2e_chain_skdm(c, room, FUZZ_EPOCH, out, E2E_SKDM_MAX, len) !=
	    E2E_OK)
		abort();
}

static void
setup(void)
{
	struct e2e_chain	 tmp;
	struct chain		*ch;
	uint8_t			 buf[256];
	size_t			 i, j, k;

	chains = xcalloc(NCHAINS, sizeof(*chains));
	for (i = 0; i < NCHAINS; i++) {
		ch = &chains[i];
		if (e2e_chain_new(&ch->c, 1) != E2E_OK)
			abort();
		for (j = 0, k = 0; j < NMSGS; j++) {
			if (k < NSKDMS && (j == 0 || j == 16 || j == 40)) {
				ch->skdm_at[k] = ch->c.iteration;
				make_skdm(&ch->c, FUZZ_ROOM, ch->skdm[k],
				    &ch->skdmlen[k]);
				k++;
			}
			seal_next(&ch->c, FUZZ_ROOM, FUZZ_PEER, &ch->m[j]);
		}
		/*
		 * One key past the longest jump a receiver makes from the
		 * last SKDM: refused before any ratchet step is taken.
		 */
		while (ch->c.iteration < ch->skdm_at[NSKDMS - 1] + FAR_JUMP) {
			seal_next(&ch->c, FUZZ_ROOM, FUZZ_PEER, &ch->m[NMSGS]);
			free(ch->m[NMSGS].msg);
		}
		seal_next(&ch->c, FUZZ_ROOM, FUZZ_PEER, &ch->m[NMSGS]);
	}
	/* An SKDM for another room, and one of bob's. */
	if (e2e_chain_new(&tmp, 1) != E2E_OK)
		abort();
	make_skdm(&tmp, "#elsewhere", other_skdm[0], &other_skdmlen[0]);
	make_skdm(&tmp, FUZZ_ROOM, other_skdm[1], &other_skdmlen[1]);
	/* A chain three messages from the end of its iterations. */
	tmp.iteration = UINT32_MAX - 3;
	make_skdm(&tmp, FUZZ_ROOM, other_skdm[2], &other_skdmlen[2]);
	for (i = 0; i < 3; i++)
		seal_next(&tmp, FUZZ_ROOM, FUZZ_PEER, &end_msgs[i]);
	if (e2e_group_seal(&tmp, FUZZ_ROOM, FUZZ_PEER, 0, "x", 1, 1, buf,
	    sizeof(buf), &k) != E2E_EEXHAUSTED)
		abort();
	e2e_chain_wipe(&tmp);
}

/* A receiver of alice's chains in FUZZ_ROOM; the first SKDM of chain 0. */
static void
receiver_new(struct e2e_group_receiver *r, int with_chain)
{
	if (e2e_group_receiver_init(r, FUZZ_ROOM, FUZZ_PEER) != E2E_OK)
		abort();
	if (with_chain && e2e_group_receiver_add_skdm(r, FUZZ_PEER,
	    chains[0].skdm[0], chains[0].skdmlen[0]) != E2E_OK)
		abort();
}

/* The record of r, written, read back and written again, must not move. */
static void
state_roundtrip(struct e2e_group_receiver *r)
{
	struct e2e_group_receiver	 again;
	uint8_t				*a, *b;
	size_t				 sz, la, lb, used;

	if ((sz = e2e_receiver_state_size(r)) == 0)
		abort();
	a = xmalloc(sz);
	b = xmalloc(sz);
	if (e2e_receiver_state_write(r, a, sz, &la) != E2E_OK ||
	    e2e_receiver_state_read(&again, a, la, &used) != E2E_OK ||
	    used != la ||
	    e2e_receiver_state_write(&again, b, sz, &lb) != E2E_OK ||
	    la != lb || memcmp(a, b, la) != 0)
		abort();
	/* Carry on with the copy: what was restored must work alike. */
	e2e_group_receiver_free(r);
	*r = again;
	OPENSSL_cleanse(a, sz);
	OPENSSL_cleanse(b, sz);
	free(a);
	free(b);
}

static int
open_msg(struct e2e_group_receiver *r, const uint8_t *msg, size_t len,
    uint8_t **pt, size_t *ptlen)
{
	struct e2e_group_hdr	 h, h2;
	int			 peek, rc;

	*pt = xmalloc(len == 0 ? 1 : len);
	if ((peek = e2e_group_peek(msg, len, &h)) == E2E_OK &&
	    (strnlen(h.room, sizeof(h.room)) == 0 ||
	    strnlen(h.sender, sizeof(h.sender)) == 0))
		abort();
	rc = e2e_group_open(r, msg, len, *pt, len, ptlen, &h2);
	(void)e2e_strerror(rc);
	if (rc == E2E_OK && (peek != E2E_OK ||
	    memcmp(&h, &h2, sizeof(h)) != 0 || *ptlen > len))
		abort();
	return rc;
}

/* u16 SKDM length, an SKDM from alice, then a message for its chain. */
static void
mode_raw(struct fuzz_in *in)
{
	struct e2e_group_receiver	 r;
	struct e2e_skdm			 s;
	const uint8_t			*p;
	uint8_t				*buf, *pt;
	size_t				 len, ptlen;

	receiver_new(&r, 0);
	p = fuzz_bytes(in, fuzz_u16(in), &len);
	buf = fuzz_copy(p, len);
	if (e2e_skdm_parse(buf, len, &s) == E2E_OK)
		OPENSSL_cleanse(&s, sizeof(s));
	(void)e2e_group_receiver_add_skdm(&r, FUZZ_PEER, buf, len);
	free(buf);
	buf = fuzz_copy(in->p, in->len);
	(void)open_msg(&r, buf, in->len, &pt, &ptlen);
	free(pt);
	free(buf);
	state_roundtrip(&r);
	e2e_group_receiver_free(&r);
}

/*
 * Whoever holds chain 0 (alice, or anyone she gave its SKDM) can sign
 * any header: u16 header length, header, ciphertext.
 */
static void
mode_signed(struct fuzz_in *in)
{
	struct e2e_group_receiver	 r;
	const uint8_t			*hdr, *ct;
	uint8_t				*msg, *pt;
	size_t				 hdrlen, ctlen, len, ptlen;

	receiver_new(&r, 1);
	hdr = fuzz_bytes(in, fuzz_u16(in), &hdrlen);
	ct = fuzz_bytes(in, in->len, &ctlen);
	msg = fuzz_sign_body(GROUP_SIG_LABEL, chains[0].c.sign_priv, hdr,
	    hdrlen, ct, ctlen, &len);
	(void)open_msg(&r, msg, len, &pt, &ptlen);
	free(pt);
	free(msg);
	e2e_group_receiver_free(&r);
}

/*
 * Two bytes per step: the operation in the top three bits, its argument
 * in the other thirteen.  The oracle: a message opens to what was sealed,
 * at most once per time its chain is learnt, never from before the SKDM
 * that taught the chain, and never once altered.
 */
static void
mode_script(struct fuzz_in *in)
{
	struct e2e_group_receiver	 r;
	static uint8_t			 opened[NCHAINS][NMSGS + 1];
	static uint32_t			 learnt_at[NCHAINS];
	const struct sealed		*s;
	uint8_t				*pt, *bad;
	size_t				 ptlen, ci, mi, n;
	uint16_t			 step;
	unsigned			 op, arg;
	int				 rc;

	memset(opened, 0, sizeof(opened));
	memset(learnt_at, 0xff, sizeof(learnt_at));
	receiver_new(&r, 0);
	for (n = 0; n < MAX_STEPS && in->len >= 2; n++) {
		step = fuzz_u16(in);
		op = step >> 13;
		arg = step & 0x1fff;
		ci = arg % NCHAINS;
		mi = (arg / NCHAINS) % (NMSGS + 1);
		s = &chains[ci].m[mi];
		switch (op) {
		case 0:		/* an SKDM of one of alice's chains */
			mi = (arg / NCHAINS) % NSKDMS;
			rc = e2e_group_receiver_add_skdm(&r, FUZZ_PEER,
			    chains[ci].skdm[mi], chains[ci].skdmlen[mi]);
			if (rc == E2E_OK) {
				memset(opened[ci], 0, sizeof(opened[ci]));
				learnt_at[ci] = chains[ci].skdm_at[mi];
			}
			break;
		case 1:		/* a message, maybe again */
		case 2:
			rc = open_msg(&r, s->msg, s->len, &pt, &ptlen);
			if (rc == E2E_OK) {
				if (opened[ci][mi] || learnt_at[ci] ==
				    UINT32_MAX || s->iteration <
				    learnt_at[ci] || ptlen !=
				    strlen(s->text) || memcmp(pt, s->text,
				    ptlen) != 0)
					abort();
				opened[ci][mi] = 1;
			}
			free(pt);
			break;
		case 3:		/* a message with one byte altered */
			bad = fuzz_copy(s->msg, s->len);
			bad[(arg >> 5) % s->len] ^= (uint8_t)(1 |
			    (arg & 0x1f) << 3);
			if (open_msg(&r, bad, s->len, &pt, &ptlen) == E2E_OK)
				abort();
			free(pt);
			free(bad);
			break;
		case 4:		/* other rooms, senders, the chain's end */
			mi = arg % 3;
			rc = e2e_group_receiver_add_skdm(&r, (arg & 4) ?
			    FUZZ_PEER2 : FUZZ_PEER, other_skdm[mi],
			    other_skdmlen[mi]);
			if (rc == E2E_OK && (mi == 0 || (arg & 4)))
				abort();
			break;
		case 5:
			s = &end_msgs[arg % 3];
			(void)open_msg(&r, s->msg, s->len, &pt, &ptlen);
			free(pt);
			break;
		case 6:		/* saved and restored, as at a restart */
			state_roundtrip(&r);
			break;
		case 7:		/* a message cut short */
			bad = fuzz_copy(s->msg, (arg >> 5) % s->len);
			if (open_msg(&r, bad, (arg >> 5) % s->len, &pt,
			    &ptlen) == E2E_OK)
				abort();
			free(pt);
			free(bad);
			break;
		}
	}
	e2e_group_receiver_free(&r);
}

/* A real message, re-signed by the harness, must come out identical. */
static void
self_check(void)
{
	const struct sealed	*s = &chains[0].m[0];
	uint8_t			*again;
	size_t			 ctlen = strlen(s->text) + CRYPTO_AEAD_TAG_LEN;
	size_t			 hdrlen = s->len - CRYPTO_SIG_LEN - ctlen - 4;
	size_t			 len;

	again = fuzz_sign_body(GROUP_SIG_LABEL, chains[0].c.sign_priv, s->msg,
	    hdrlen, s->msg + hdrlen + 4, ctlen, &len);
	if (len != s->len || memcmp(again, s->msg, len) != 0) {
		fprintf(stderr, "fuzz_e2e_group: the message format changed: "
		    "update GROUP_SIG_LABEL\n");
		abort();
	}
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };

	if (chains == NULL) {
		fuzz_setup();
		setup();
		self_check();
	}
	fuzz_rand_reset();
	switch (fuzz_u8(&in) % MODE_COUNT) {
	case MODE_RAW:
		mode_raw(&in);
		break;
	case MODE_SIGNED:
		mode_signed(&in);
		break;
	case MODE_SCRIPT:
		mode_script(&in);
		break;
	}
	return 0;
}
