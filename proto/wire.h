/*
 * wire.h - the only wire code: seal (sign) and open (verify) messages.
 *
 * A message is an Envelope { version, type, key_id, payload, signature }.
 * The signature is Ed25519 over "bancluster/v1/<type>\0" || payload, so a
 * signature made for one message type is never valid for another.
 * Versions: this release seals BC_WIRE_VERSION and opens every envelope
 * whose version lies in BC_WIRE_VERSION_MIN..BC_WIRE_VERSION; the two
 * differ only in optional payload fields, which an older peer skips, so
 * the signing context ("v1") is the same for both.
 * bc_wire_open checks, in this order: frame size, envelope, version,
 * signer known
 * (pinned keys only), signature, payload, type allowed on this socket
 * and for this signer (bc_peer.allowed_types),
 * cluster and sender, counter above the last seen on this channel, send
 * time within the skew, value ranges. A rejected message changes no
 * state (the counter is recorded only after every check passed).
 */
#ifndef BC_WIRE_H
#define BC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/counter.h"
#include "common/keys.h"
#include "proto/bancluster.pb-c.h"

#define BC_WIRE_VERSION_MIN 1 /* oldest envelope version opened */
#define BC_WIRE_VERSION 2     /* this release's: sealed, newest opened */
#define BC_WIRE_SOFTWARE_MAX 64 /* Heartbeat/Hugz/AgentStatus.software */
#define BC_WIRE_MAX_FRAME (4u << 20)   /* largest frame accepted: 4 MiB */
#define BC_WIRE_MAX_ADMIN_FRAME 65536  /* admin requests are small */
#define BC_WIRE_SKEW_MS 120000         /* allowed clock skew */
#define BC_WIRE_MAX_BANS_PER_MSG 20000 /* snapshot part size */
#define BC_WIRE_MAX_EVENTS 10000       /* events per report */
#define BC_WIRE_MAX_TEXT 512           /* reason, line excerpt */
#define BC_WIRE_MAX_DECISIONS 100      /* show: decisions per reply */
#define BC_WIRE_MAX_EVIDENCE 1000      /* show: evidence items per list */
#define BC_WIRE_MAX_ALLOWS 1000        /* allow list entries (allow add) */
#define BC_WIRE_MAX_ALLOW_S (3650LL * 86400) /* allow add --for: 10 years */
#define BC_WIRE_MAX_LOCAL_PER_MSG 2000 /* local bans per LocalBans part,
					* lifts per LocalLift, entries per
					* AdminReply list */
#define BC_CLUSTER_DEFAULT "bancluster"

/* Receiving channels: each keeps its own replay counter per sender. */
enum bc_chan {
	BC_CHAN_ROUTER = 0, /* coordinator intake */
	BC_CHAN_SUB = 1,    /* agent: published updates */
	BC_CHAN_DEALER = 2, /* agent / CLI: replies */
};

enum bc_reject {
	BC_REJ_OK = 0,
	BC_REJ_SIZE,
	BC_REJ_ENVELOPE,
	BC_REJ_SIGNER,
	BC_REJ_SIGNATURE,
	BC_REJ_PAYLOAD,
	BC_REJ_TYPE,
	BC_REJ_SENDER,
	BC_REJ_REPLAY,
	BC_REJ_SKEW,
	BC_REJ_RANGE,
	BC_REJ_VERSION, /* envelope version set, outside MIN..VERSION */
	BC_REJ_MAX
};

struct bc_signer {
	struct bc_key key;
	char cluster[BC_NAME_MAX];
	char sender[BC_NAME_MAX];
	struct bc_counter counter;
};

/* Name of a reject reason, for logs and metrics ("bad_signature", ...). */
const char *bc_wire_reject_name(enum bc_reject r);

/*
 * Fill p's header (cluster, sender, counter, send time), pack it, sign it
 * for `type` and pack the envelope into a malloc'd buffer (*out, *outlen;
 * caller frees). The body must already be set. Returns 0 or -1.
 */
int bc_wire_seal(struct bc_signer *s, Bancluster__MsgType type,
		 Bancluster__Payload *p, uint8_t **out, size_t *outlen);

/*
 * bc_wire_seal with an envelope version of BC_WIRE_VERSION_MIN..
 * BC_WIRE_VERSION (any other is -1): what a peer that speaks an older
 * wire can open. The payload is the caller's; fields that peer does not
 * know are skipped by its decoder.
 */
int bc_wire_seal_version(struct bc_signer *s, uint32_t version,
			 Bancluster__MsgType type, Bancluster__Payload *p,
			 uint8_t **out, size_t *outlen);

/*
 * The version to seal with for a peer that stated the range
 * peer_min..peer_max (both 0: it stated none, i.e. it speaks wire 1
 * only): the highest both sides speak, or 0 if there is none.
 */
uint32_t bc_wire_common_version(uint32_t peer_min, uint32_t peer_max);

/*
 * The version field of an envelope, for the log line of an
 * unsupported_version rejection: 0 when absent or when buf is no
 * envelope. Decodes buf again (size-capped); use on the reject path only.
 */
uint32_t bc_wire_peek_version(const uint8_t *buf, size_t len);

/*
 * Verify and decode a frame. allowed is a bit mask of (1u << MsgType).
 * On BC_REJ_OK, *out is the decoded payload (free it with
 * bancluster__payload__free_unpacked(*out, NULL)) and *from the signer,
 * whose wire_version is set to the envelope's version.
 * On a rejection nothing is allocated and no state changes.
 */
enum bc_reject bc_wire_open(struct bc_keyring *kr, const uint8_t *buf,
			    size_t len, size_t maxlen, uint32_t allowed,
			    enum bc_chan chan, const char *cluster,
			    int64_t now_ms, Bancluster__Payload **out,
			    struct bc_peer **from);

/*
 * What bc_wire_open saw of a frame it rejected, for the log line that
 * names the peer (bc_wire_open_seen). Set as far as the checks got:
 * key_id_len when the envelope named a key id (untrusted until
 * verified), peer when that id is a pinned key, verified when the
 * signature checked out with it; only then are sender and cluster (what
 * the payload claims, cut to BC_NAME_MAX - 1 bytes, not escaped), type
 * and, for an admin_req, its nonce set.
 */
struct bc_wire_seen {
	uint8_t key_id[BC_KEY_ID_BYTES];
	size_t key_id_len; /* 0: none or not BC_KEY_ID_BYTES long */
	struct bc_peer *peer;
	bool verified;
	uint32_t version, type;
	char sender[BC_NAME_MAX];
	char cluster[BC_NAME_MAX];
	uint8_t nonce[16];
	size_t nonce_len; /* 16 for an admin_req with a nonce of 16 bytes */
};

/* bc_wire_open, also filling *seen (not NULL) on every outcome. */
enum bc_reject bc_wire_open_seen(struct bc_keyring *kr, const uint8_t *buf,
				 size_t len, size_t maxlen, uint32_t allowed,
				 enum bc_chan chan, const char *cluster,
				 int64_t now_ms, Bancluster__Payload **out,
				 struct bc_peer **from, struct bc_wire_seen *seen);

/*
 * UNVERIFIED: when buf decodes as an envelope of type update whose
 * payload decodes as an Update, its epoch and seq, and true. Nothing is
 * checked: a caller may only use them to drop a frame it would drop
 * anyway once opened (an update it applied already), never to act.
 */
bool bc_wire_peek_update(const uint8_t *buf, size_t len, uint64_t *epoch,
			 uint64_t *seq);

/*
 * The signature check of bc_wire_open alone, for a verify pool: 1 when
 * buf is an envelope (within maxlen) whose key id is a pinned key of kr
 * and whose signature checks out with it, else 0. Reads kr and buf only,
 * so several threads may call it at once while nobody changes kr.
 * bc_wire_open_pre with preverified = 1 then skips that check (and only
 * that) for the same buf and kr; with 0 it is bc_wire_open_seen.
 */
int bc_wire_preverify(const struct bc_keyring *kr, const uint8_t *buf,
		      size_t len, size_t maxlen);
enum bc_reject bc_wire_open_pre(struct bc_keyring *kr, const uint8_t *buf,
				size_t len, size_t maxlen, uint32_t allowed,
				enum bc_chan chan, const char *cluster,
				int64_t now_ms, int preverified,
				ProtobufCAllocator *alloc,
				Bancluster__Payload **out, struct bc_peer **from,
				struct bc_wire_seen *seen);

/*
 * Where bc_wire_open_pre unpacks (alloc; NULL: malloc, and *out is freed
 * with bancluster__payload__free_unpacked(*out, alloc) either way): a
 * bump region hands out its block in order (16-byte aligned), past its
 * end malloc, and takes it all back at once in bc_wire_bump_reset, for
 * a loop that opens reports of thousands of events, each a message of
 * its own in protobuf-c. Reset only once nothing unpacked into it is in
 * use. One thread at a time.
 */
struct bc_wire_bump {
	ProtobufCAllocator pa; /* what bc_wire_open_pre takes */
	uint8_t *buf;
	size_t cap, used;
	uint64_t spilled;      /* allocations past the block (malloc) */
};

int bc_wire_bump_init(struct bc_wire_bump *b, size_t cap);
void bc_wire_bump_reset(struct bc_wire_bump *b);
void bc_wire_bump_free(struct bc_wire_bump *b);

/*
 * A software version as Heartbeat, Hugz, AgentStatus and AdminReply may
 * state it: empty, or at most BC_WIRE_SOFTWARE_MAX bytes of
 * [0-9A-Za-z.+~:_-]. Anything else is out_of_range.
 */
bool bc_wire_software_ok(const char *s);

/* Value-range checks of a decoded payload (also used by tests). */
int bc_wire_check_ranges(const Bancluster__Payload *p);

/* Ban <-> address helpers shared by every program. */
struct bc_addr;
int bc_wire_ban_addr(const Bancluster__Ban *b, struct bc_addr *a);
/* The same for any message's (family, addr, plen) triple: 0, or -1 when
 * they do not make an address (a is then left as it was). */
int bc_wire_addr(uint32_t family, const ProtobufCBinaryData *bin,
		 uint32_t plen, struct bc_addr *a);
void bc_wire_addr_fill(const struct bc_addr *a, uint32_t *family,
		       ProtobufCBinaryData *bin, uint32_t *plen);

#endif
