/*
 * fuzz-client.h: one securechat client for the client harnesses and the
 * seed generator: a real home directory, identity and prekeys, made from
 * the fixed random stream, and a fresh session around each input.
 */
#ifndef SC_FUZZ_CLIENT_H
#define SC_FUZZ_CLIENT_H

struct client;

/*
 * Once per process, right after fuzz_setup(): the same keys each time,
 * so gen_corpus can seal to them.  stdout goes to /dev/null unless
 * FUZZ_VERBOSE is set.
 */
struct client	*fuzz_client_new(void);
/*
 * Before each input: an empty outbox and .seen, a new connection (a
 * socket pair, no TLS) in state (enum conn_state), output as JSON or for
 * people; every so many inputs, nothing learnt or pinned either.
 */
void		 fuzz_client_begin(struct client *, int state, int json);
/* After each input: the connection and what the input left, gone. */
void		 fuzz_client_end(struct client *);
/* All of it, as main() leaves. */
void		 fuzz_client_free(struct client *);

#endif
