/*
 * fuzz_e2e_client.c: libFuzzer harness for the client's end-to-end
 * decoding of message bodies: key bundles (SKDMs in envelopes), room
 * messages on the chains they teach, direct messages, member lists, as
 * the server relays them and with the sender's key it claims.  After the
 * input, the state learnt must survive the state file unchanged.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client.h"
#include "e2e-client.h"
#include "fuzz-client.h"
#include "fuzz.h"
#include "xmalloc.h"

#define MAX_ITEMS	8

/* An item's first byte. */
#define ITEM_KIND	0x03	/* which decoder, below */
#define ITEM_BOB	0x04	/* from bob, not alice */
#define ITEM_NO_KEY	0x08	/* the server stamped no sender key */
#define ITEM_WRONG_KEY	0x10	/* the server stamped the other's key */

enum kind {
	KIND_ROOM,	/* a room message (a bundle or a group message) */
	KIND_DIRECT,	/* a direct message to us */
	KIND_WHO,	/* the member list of our own WHO */
	KIND_OTHER,	/* a direct message the server says is to another */
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct client	*c;
static struct fuzz_keys	 alice, bob;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };
	const uint8_t	*body, *pub;
	const char	*from;
	uint8_t		*copy, item;
	size_t		 len, n;

	if (c == NULL) {
		fuzz_setup();
		c = fuzz_client_new();
		fuzz_keys(FUZZ_PEER, &alice);
		fuzz_keys(FUZZ_PEER2, &bob);
	}
	fuzz_client_begin(c, CS_READY, 0);
	for (n = 0; n < MAX_ITEMS && in.len > 0; n++) {
		item = fuzz_u8(&in);
		body = fuzz_bytes(&in, fuzz_u16(&in), &len);
		copy = fuzz_copy(body, len);
		from = (item & ITEM_BOB) ? FUZZ_PEER2 : FUZZ_PEER;
		pub = (item & ITEM_BOB) ? bob.sign_pub : alice.sign_pub;
		if (item & ITEM_WRONG_KEY)
			pub = (item & ITEM_BOB) ? alice.sign_pub : bob.sign_pub;
		if (item & ITEM_NO_KEY)
			pub = NULL;
		switch (item & ITEM_KIND) {
		case KIND_ROOM:
			e2ec_room_message(c, FUZZ_ROOM, from, pub, copy, len,
			    n + 1, 1, ROSTER_ARRIVED);
			break;
		case KIND_DIRECT:
			e2ec_direct(c, from, FUZZ_ME, pub, copy, len, n + 1, 1);
			break;
		case KIND_WHO:
			e2ec_who_list(c, FUZZ_ROOM, copy, len);
			break;
		case KIND_OTHER:
			e2ec_direct(c, from, FUZZ_PEER2, pub, copy, len, n + 1,
			    1);
			break;
		}
		free(copy);
	}
	fuzz_client_end(c);
	return 0;
}
