/*
 * fuzz_e2e_state.c: libFuzzer harness for the client's E2E state file:
 * its receiver and seen-set records, and the whole plaintext as the
 * client decodes it.  Whatever decodes must encode back to the same bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "e2e-client.h"
#include "e2e-state.h"
#include "fuzz.h"
#include "xmalloc.h"

enum mode {
	MODE_RECEIVER,	/* one receiver record */
	MODE_SEEN,	/* one seen-set record */
	MODE_FILE,	/* the state file's plaintext */
	MODE_COUNT
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen || (alen > 0 && memcmp(a, b, alen) != 0))
		abort();
}

static void
mode_receiver(const uint8_t *in, size_t len)
{
	struct e2e_group_receiver	 r;
	uint8_t				*out;
	size_t				 used, sz, n;

	if (e2e_receiver_state_read(&r, in, len, &used) != E2E_OK)
		return;
	if (used > len || (sz = e2e_receiver_state_size(&r)) == 0)
		abort();
	out = xmalloc(sz);
	if (e2e_receiver_state_write(&r, out, sz, &n) != E2E_OK)
		abort();
	same(in, used, out, n);
	OPENSSL_cleanse(out, sz);
	free(out);
	e2e_group_receiver_free(&r);
}

static void
mode_seen(const uint8_t *in, size_t len)
{
	struct e2e_seen	*s;
	uint8_t		*out;
	size_t		 used, sz, n;

	s = xcalloc(1, sizeof(*s));
	if (e2e_seen_state_read(s, in, len, &used) == E2E_OK) {
		if (used > len || (sz = e2e_seen_state_size(s)) == 0)
			abort();
		out = xmalloc(sz);
		if (e2e_seen_state_write(s, out, sz, &n) != E2E_OK)
			abort();
		same(in, used, out, n);
		free(out);
	} else if (s->count != 0 || s->next != 0)
		abort();	/* a failed read leaves it empty */
	free(s);
}

static void
mode_file(const uint8_t *in, size_t len)
{
	struct e2ec	*e;
	uint8_t		*out;
	size_t		 n;

	e = xcalloc(1, sizeof(*e));
	TAILQ_INIT(&e->rx);
	e2e_seen_init(&e->seen);
	if (e2ec_state_decode(e, in, len) == 0) {
		out = e2ec_state_encode(e, &n);
		same(in, len, out, n);
		OPENSSL_cleanse(out, n);
		free(out);
	}
	fuzz_rx_free(e);
	free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 ready;
	uint8_t		*in;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	if (size == 0)
		return 0;
	in = fuzz_copy(data + 1, size - 1);
	switch (data[0] % MODE_COUNT) {
	case MODE_RECEIVER:
		mode_receiver(in, size - 1);
		break;
	case MODE_SEEN:
		mode_seen(in, size - 1);
		break;
	case MODE_FILE:
		mode_file(in, size - 1);
		break;
	}
	free(in);
	return 0;
}
