/*
 * fuzz_client.c: libFuzzer harness for the client's handling of server
 * frames: the codec, the server table, and what each frame does to the
 * session, the chat and the end-to-end state, in every phase.  A hostile
 * server may send anything; the client must stay whole.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "client.h"
#include "fuzz-client.h"
#include "fuzz.h"

/* The second input byte: bit 0 JSON output, bits 1-7 where to cut. */
enum mode {
	MODE_HELLO,	/* HELLO sent, WELCOME awaited */
	MODE_LOGIN,	/* LOGIN sent */
	MODE_READY,	/* logged in */
	MODE_ACTIVE,	/* logged in, and the user has asked for things */
	MODE_COUNT
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct client	*c;

/*
 * What a user of a logged-in client types, so that answers have a place.
 * Not /verify: a safety number is 5200 hashes, longer than the rest.
 */
static void
user_types(void)
{
	cmd_line(c, "/join #fuzz");
	cmd_line(c, "hello, room");
	cmd_line(c, "/msg alice hello, alice");
	cmd_line(c, "/who");
	cmd_line(c, "/rooms");
	cmd_line(c, "/info");
	cmd_line(c, "/ping");
	chat_flush(c);
}

static void
arrive(const uint8_t *p, size_t len)
{
	struct evbuffer	*buf = bufferevent_get_input(c->bev);

	if (evbuffer_unfreeze(buf, 0) == -1 ||
	    (len > 0 && evbuffer_add(buf, p, len) == -1) ||
	    evbuffer_freeze(buf, 0) == -1)
		abort();
	conn_process_input(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in	 in = { data, size };
	size_t		 split;
	uint8_t		 mode, flags;

	if (c == NULL) {
		fuzz_setup();
		c = fuzz_client_new();
	}
	mode = fuzz_u8(&in) % MODE_COUNT;
	flags = fuzz_u8(&in);
	fuzz_client_begin(c, mode == MODE_HELLO ? CS_HELLO : mode ==
	    MODE_LOGIN ? CS_LOGIN : CS_READY, flags & 1);
	if (mode == MODE_ACTIVE)
		user_types();
	/*
	 * The server's bytes, as TLS would hand them over: in two reads,
	 * split where the flags say, so that frames arrive cut too.
	 */
	split = in.len * (flags >> 1) / 128;
	arrive(in.p, split);
	if (c->bev != NULL)
		arrive(in.p + split, in.len - split);
	fuzz_client_end(c);
	return 0;
}
