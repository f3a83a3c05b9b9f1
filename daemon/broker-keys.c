/*
 * broker-keys.c: the directory of public keys that end-to-end encryption
 * needs.  The broker stores each user's signed prekey and hands out keys;
 * it checks the prekey's signature so that garbage is refused early, but
 * clients never trust it for that: they verify against pinned keys.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdio.h>
#include <string.h>

#include "broker.h"
#include "e2e-prekey.h"
#include "log.h"
#include "util.h"

/* Clocks differ: a prekey from up to a day ahead is still believed. */
#define PREKEY_FUTURE_S		86400

/*
 * KEYS for su; after a write (wrote), only once it is committed, and
 * ERROR STORAGE if that fails.
 */
static void
keys_reply(struct link *l, const struct store_user *su, int wrote)
{
	struct store_prekey	 pk;
	struct frame_buf	 b, fail;
	int			 rv;

	if ((rv = store_prekey_get(br.store, su->id, &pk)) == -1) {
		req_fail("store_prekey_get", 0, NULL);
		return;
	}
	frame_begin(&b, MSG_KEYS, br.max_frame);
	frame_put_str(&b, F_NAME, su->name);
	frame_put_bytes(&b, F_SIGN_PUB, su->sign_pub, KEY_LEN);
	if (rv == 0) {
		frame_put_u32(&b, F_SPK_ID, pk.id);
		frame_put_bytes(&b, F_SPK_PUB, pk.pub, KEY_LEN);
		frame_put_u64(&b, F_SPK_CREATED, pk.created_s);
		frame_put_bytes(&b, F_SPK_SIG, pk.sig, SIG_LEN);
	}
	if (wrote) {
		storage_error_frame(&fail, 0, NULL);
		(void)after_frame_or(l, &b, &fail);
	} else
		link_reply_read(l, &b, NULL);
}

/* PREKEY: replace the user's published prekey, answer with its KEYS. */
void
keys_prekey(struct link *l, const struct frame *f)
{
	struct store_prekey	 pk;
	struct store_user	 su;
	const uint8_t		*pub, *sig;
	size_t			 plen, slen;

	memset(&pk, 0, sizeof(pk));
	if (frame_get_u32(f, F_SPK_ID, &pk.id) == -1 ||
	    frame_get_u64(f, F_SPK_CREATED, &pk.created_s) == -1 ||
	    frame_get_bytes(f, F_SPK_PUB, &pub, &plen) == -1 ||
	    frame_get_bytes(f, F_SPK_SIG, &sig, &slen) == -1 ||
	    plen != KEY_LEN || slen != SIG_LEN) {
		link_error(l, ERR_PROTOCOL, "malformed PREKEY");
		return;
	}
	memcpy(pk.pub, pub, KEY_LEN);
	memcpy(pk.sig, sig, SIG_LEN);
	if (pk.created_s > wall_ms() / 1000 + PREKEY_FUTURE_S ||
	    e2e_prekey_verify(l->user->sign_pub, pk.id, pk.created_s, pk.pub,
	    pk.sig) == -1) {
		log_security("user %s (%s) published a prekey that does not "
		    "verify", l->user->name, l->addr);
		link_error(l, ERR_BAD_SIGNATURE, "the prekey's signature does "
		    "not verify with your identity key");
		return;
	}
	if (tx_begin() == -1)
		return;
	if (store_prekey_set(br.store, l->user->id, &pk) != 0 ||
	    store_user_get_id(br.store, l->user->id, &su) != 0) {
		req_fail("store_prekey_set", 0, NULL);
		return;
	}
	log_debug("user %s published prekey %u", l->user->name, pk.id);
	keys_reply(l, &su, 1);
}

/* KEYS_GET: a user's identity key and current prekey. */
void
keys_get(struct link *l, const struct frame *f)
{
	struct store_user	 su;
	char			 name[NAME_MAX_LEN + 1], text[128];
	int			 rv;

	if (auth_get_name(l, f, name) == -1)
		return;
	if ((rv = store_user_get(br.store, name, &su)) == -1) {
		req_fail("store_user_get", 0, NULL);
		return;
	}
	if (rv == STORE_NOT_FOUND) {
		snprintf(text, sizeof(text), "no user '%s' here", name);
		link_error_about(l, ERR_NO_SUCH_USER, text, 0, NULL);
		return;
	}
	keys_reply(l, &su, 0);
}
