/*
 * e2e-client.h: the client's end-to-end encryption state, between the
 * pure library (common/e2e.h) and the chat: whose keys we know, our
 * outbound chain per room, what we learnt of others' chains, and the
 * messages waiting for keys before they can be sealed.
 */
#ifndef SC_E2E_CLIENT_H
#define SC_E2E_CLIENT_H

#include <sys/queue.h>

#include <stdint.h>

#include "e2e.h"
#include "prekeys.h"
#include "proto.h"
#include "trust.h"

#define E2EC_PEER_FRESH_MS	60000	/* keys older than this are asked again */
#define E2EC_RX_MAX		10000	/* (room, sender) receivers kept */
#define E2EC_PENDING_MAX	10000	/* lines waiting for keys */
#define E2EC_REKEY_MIN_S	30	/* docs/DESIGN.md section 7, unless the */
#define E2EC_REKEY_MAX_S	120	/* server's WELCOME says otherwise */
#define E2EC_REKEY_CAP_S	3600	/* the longest a server may ask */
#define E2EC_PREKEY_CHECK_S	3600	/* rotate a long-running client's prekey */

/* A bundle of SKDM envelopes, travelling in a room's log. */
#define E2E_TYPE_BUNDLE		0x11

enum peer_state {
	PEER_NONE,		/* never asked */
	PEER_FETCHING,		/* KEYS_GET in flight */
	PEER_READY,		/* KEYS arrived and verified */
	PEER_FAILED,		/* no such user, or a bad prekey */
};

/* Someone's public keys as the server last showed them. */
struct peer {
	TAILQ_ENTRY(peer)	 entry;
	char			 name[NAME_MAX_LEN + 1];
	enum peer_state		 state;
	uint64_t		 fetched_ms;
	uint8_t			 sign_pub[32];
	int			 has_spk;
	uint32_t		 spk_id;
	uint64_t		 spk_created;
	uint8_t			 spk_pub[32];
	int			 want_verify;	/* print the safety number */
};
TAILQ_HEAD(peerlist, peer);

/* A line waiting to be sealed: for a room, or for one person. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	char			 to[NAME_MAX_LEN + 1];	/* DMs only */
	char			*text;
};
TAILQ_HEAD(pendinglist, pending);

enum tx_state {
	TX_IDLE,		/* chain usable, or nothing to send */
	TX_WHO,			/* new chain: asked who the members are */
	TX_KEYS,		/* new chain: fetching their keys */
};

/* Our side of one room: the outbound chain and why it must change. */
struct txroom {
	TAILQ_ENTRY(txroom)	 entry;
	char			 room[ROOM_MAX_LEN + 1];
	int			 has_chain;
	struct e2e_chain	 chain;
	uint64_t		 deadline_ms;	/* rotate after, wall clock */
	int			 stale;		/* members or keys changed */
	uint32_t		 epoch;		/* seq of the last membership event */
	unsigned		 rekeys;
	enum tx_state		 state;
	char			(*members)[NAME_MAX_LEN + 1];
	size_t			 nmembers;
	struct pendinglist	 pending;
};
TAILQ_HEAD(txlist, txroom);

/* What one sender's SKDMs in one room gave us, and who signed them. */
struct rxchain {
	TAILQ_ENTRY(rxchain)	 entry;
	uint8_t			 id_pub[32];	/* identity key of the SKDMs */
	struct e2e_group_receiver r;
};
TAILQ_HEAD(rxlist, rxchain);

struct e2ec {
	struct prekeys		 prekeys;
	char			*prekeys_file;
	struct trust		 trust;
	char			*state_file;
	struct e2e_seen		 seen;
	struct peerlist		 peers;
	struct txlist		 tx;
	struct rxlist		 rx;
	size_t			 nrx;
	struct pendinglist	 dms;
	size_t			 npending;
	int			 dirty;		/* state file behind memory */
	int			 may_erase;	/* backlog read once: erase due keys */
	struct event		*ev_prekey;
};

void	e2ec_pending_pop(struct e2ec *, struct pendinglist *,
	    struct pending *);

#endif
