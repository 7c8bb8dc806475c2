/*
 * wire.c - sealing and opening signed envelopes (see wire.h).
 *
 * Everything arriving here is untrusted until the signature checks out,
 * and still range-checked after. protobuf-c does the decoding; sizes are
 * capped before it runs. Nothing is printed: callers count and log the
 * returned reject reason.
 */
#include "wire.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/addr.h"
#include "common/event.h"

#define CTX_MAX 48

static const char *type_names[] = {
	"none", "report", "heartbeat", "snapshot_req", "snapshot",
	"update", "ack", "admin_req", "admin_reply", "hugz",
	"local_bans", "local_lift",
};
#define TYPE_MAX ((uint32_t)(sizeof(type_names) / sizeof(type_names[0])) - 1)

const char *bc_wire_reject_name(enum bc_reject r)
{
	static const char *names[BC_REJ_MAX] = {
		"ok", "oversize", "bad_envelope", "unknown_signer",
		"bad_signature", "bad_payload", "wrong_type", "wrong_sender",
		"replay", "clock_skew", "out_of_range", "unsupported_version",
	};
	return r < BC_REJ_MAX ? names[r] : "?";
}

/* "bancluster/v1/<type>" plus its NUL, so it cannot run into the body. */
static size_t context(char ctx[CTX_MAX], uint32_t type)
{
	int n = snprintf(ctx, CTX_MAX, "bancluster/v1/%s", type_names[type]);

	return (size_t)n + 1;
}

static int sign(const struct bc_key *k, uint32_t type, const uint8_t *body,
		size_t len, uint8_t sig[crypto_sign_BYTES])
{
	char ctx[CTX_MAX];
	size_t clen = context(ctx, type);
	uint8_t *m = malloc(clen + len);
	int rc;

	if (m == NULL)
		return -1;
	memcpy(m, ctx, clen);
	if (len > 0)
		memcpy(m + clen, body, len);
	rc = crypto_sign_detached(sig, NULL, m, clen + len, k->sk);
	free(m);
	return rc;
}

static int verify(const uint8_t pk[32], uint32_t type, const uint8_t *body,
		  size_t len, const uint8_t *sig)
{
	char ctx[CTX_MAX];
	size_t clen = context(ctx, type);
	uint8_t *m = malloc(clen + len);
	int rc;

	if (m == NULL)
		return -1;
	memcpy(m, ctx, clen);
	if (len > 0)
		memcpy(m + clen, body, len);
	rc = crypto_sign_verify_detached(sig, m, clen + len, pk);
	free(m);
	return rc;
}

uint32_t bc_wire_common_version(uint32_t peer_min, uint32_t peer_max)
{
	uint32_t v;

	if (peer_max == 0) /* no range stated: a peer of wire 1 */
		peer_min = peer_max = 1;
	v = peer_max < BC_WIRE_VERSION ? peer_max : BC_WIRE_VERSION;
	return v >= BC_WIRE_VERSION_MIN && v >= peer_min ? v : 0;
}

uint32_t bc_wire_peek_version(const uint8_t *buf, size_t len)
{
	Bancluster__Envelope *env;
	uint32_t v;

	if (len > BC_WIRE_MAX_FRAME)
		return 0;
	env = bancluster__envelope__unpack(NULL, len, buf);
	if (env == NULL)
		return 0;
	v = env->version;
	bancluster__envelope__free_unpacked(env, NULL);
	return v;
}

int bc_wire_seal(struct bc_signer *s, Bancluster__MsgType type,
		 Bancluster__Payload *p, uint8_t **out, size_t *outlen)
{
	return bc_wire_seal_version(s, BC_WIRE_VERSION, type, p, out, outlen);
}

int bc_wire_seal_version(struct bc_signer *s, uint32_t version,
			 Bancluster__MsgType type, Bancluster__Payload *p,
			 uint8_t **out, size_t *outlen)
{
	Bancluster__Envelope env = BANCLUSTER__ENVELOPE__INIT;
	uint8_t sig[crypto_sign_BYTES], *body, *buf;
	size_t blen, elen;
	uint64_t counter;

	if (version < BC_WIRE_VERSION_MIN || version > BC_WIRE_VERSION ||
	    (uint32_t)type == 0 || (uint32_t)type > TYPE_MAX ||
	    (uint32_t)p->body_case != (uint32_t)type + 10)
		return -1;
	counter = bc_counter_next(&s->counter);
	if (counter == 0)
		return -1;
	p->cluster = s->cluster;
	p->sender = s->sender;
	p->counter = counter;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		p->sent_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	blen = bancluster__payload__get_packed_size(p);
	body = malloc(blen ? blen : 1);
	if (body == NULL)
		return -1;
	bancluster__payload__pack(p, body);
	if (sign(&s->key, (uint32_t)type, body, blen, sig) < 0) {
		free(body);
		return -1;
	}
	env.version = version;
	env.type = (uint32_t)type;
	env.key_id.data = s->key.id;
	env.key_id.len = BC_KEY_ID_BYTES;
	env.payload.data = body;
	env.payload.len = blen;
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	elen = bancluster__envelope__get_packed_size(&env);
	buf = malloc(elen);
	if (buf == NULL) {
		free(body);
		return -1;
	}
	bancluster__envelope__pack(&env, buf);
	free(body);
	*out = buf;
	*outlen = elen;
	return 0;
}

static bool text_ok(const char *s, size_t max)
{
	return s != NULL && strnlen(s, max + 1) <= max;
}

static bool ban_ok(const Bancluster__Ban *b)
{
	if (b == NULL)
		return false;
	if (b->family == 4) {
		if (b->addr.len != 4 || b->plen > 32)
			return false;
	} else if (b->family == 6) {
		if (b->addr.len != 16 || b->plen > 128)
			return false;
	} else {
		return false;
	}
	return b->expires_ms >= 0 && b->created_ms >= 0 &&
	       text_ok(b->reason, BC_WIRE_MAX_TEXT) &&
	       text_ok(b->origin, BC_WIRE_MAX_TEXT);
}

/* An allow entry: address as a ban's, times, the admins' text bounded. */
static bool allow_ok(const Bancluster__Allow *a)
{
	return a != NULL &&
	       ((a->family == 4 && a->addr.len == 4 && a->plen <= 32) ||
		(a->family == 6 && a->addr.len == 16 && a->plen <= 128)) &&
	       a->expires_ms >= 0 && a->created_ms >= 0 &&
	       text_ok(a->comment, BC_WIRE_MAX_TEXT) &&
	       text_ok(a->added_by, BC_NAME_MAX);
}

static bool addr_ok(uint32_t family, const ProtobufCBinaryData *a,
		    uint32_t plen)
{
	return (family == 4 && a->len == 4 && plen <= 32) ||
	       (family == 6 && a->len == 16 && plen <= 128);
}

static bool local_ban_ok(const Bancluster__LocalBan *b)
{
	return b != NULL && addr_ok(b->family, &b->addr, b->plen) &&
	       b->expires_ms >= 0 && b->created_ms >= 0 &&
	       text_ok(b->reason, BC_WIRE_MAX_TEXT);
}

static bool local_entries_ok(Bancluster__LocalEntry **v, size_t n)
{
	size_t i;

	if (n > BC_WIRE_MAX_LOCAL_PER_MSG)
		return false;
	for (i = 0; i < n; i++)
		if (!text_ok(v[i]->host, BC_NAME_MAX) || !local_ban_ok(v[i]->ban))
			return false;
	return true;
}

static bool evidence_ok(const Bancluster__EvidenceItem *e)
{
	return text_ok(e->host, BC_NAME_MAX) && text_ok(e->addr, BC_NAME_MAX) &&
	       text_ok(e->service, BC_NAME_MAX) &&
	       text_ok(e->line, BC_WIRE_MAX_TEXT) && e->kind <= BC_KIND_MAX;
}

/* [0-9A-Za-z.+~:_-]: what a VERSION file or a Debian version holds, so
 * it prints as it is in a terminal or in JSON. */
bool bc_wire_software_ok(const char *s)
{
	size_t i, n;

	if (!text_ok(s, BC_WIRE_SOFTWARE_MAX))
		return false;
	n = strlen(s);
	for (i = 0; i < n; i++)
		if (strchr("0123456789abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ.+~:_-", s[i]) == NULL)
			return false;
	return true;
}

/* A stated wire range: none (0, 0) or 1 <= min <= max. */
static bool wire_range_ok(uint32_t min, uint32_t max)
{
	return (min == 0 && max == 0) || (min >= 1 && min <= max);
}

/* An enrolment role: agent or admin. */
static bool key_role_ok(Bancluster__KeyRole r)
{
	return r == BANCLUSTER__KEY_ROLE__KEY_ROLE_AGENT ||
	       r == BANCLUSTER__KEY_ROLE__KEY_ROLE_ADMIN;
}

int bc_wire_check_ranges(const Bancluster__Payload *p)
{
	size_t i;

	switch (p->body_case) {
	case BANCLUSTER__PAYLOAD__BODY_REPORT:
		if (p->report->n_events > BC_WIRE_MAX_EVENTS)
			return -1;
		for (i = 0; i < p->report->n_events; i++) {
			const Bancluster__Event *e = p->report->events[i];

			if (e->kind < BC_KIND_FIRST || e->kind > BC_KIND_MAX ||
			    !addr_ok(e->family, &e->addr,
				     e->family == 4 ? 32 : 128) ||
			    !text_ok(e->service, BC_NAME_MAX) ||
			    !text_ok(e->line, BC_WIRE_MAX_TEXT) ||
			    e->time_ms < 0)
				return -1;
		}
		return 0;
	case BANCLUSTER__PAYLOAD__BODY_SNAPSHOT:
		if (p->snapshot->n_bans > BC_WIRE_MAX_BANS_PER_MSG ||
		    p->snapshot->nonce.len != 16)
			return -1;
		for (i = 0; i < p->snapshot->n_bans; i++)
			if (!ban_ok(p->snapshot->bans[i]))
				return -1;
		if (p->snapshot->n_allows > BC_WIRE_MAX_ALLOWS)
			return -1;
		for (i = 0; i < p->snapshot->n_allows; i++)
			if (!allow_ok(p->snapshot->allows[i]))
				return -1;
		return 0;
	case BANCLUSTER__PAYLOAD__BODY_UPDATE:
		/* exactly one of a ban and an allow entry */
		if (p->update->seq == 0 ||
		    (p->update->ban != NULL) == (p->update->allow != NULL))
			return -1;
		return p->update->ban != NULL ? (ban_ok(p->update->ban) ? 0 : -1)
					      : (allow_ok(p->update->allow) ? 0 : -1);
	case BANCLUSTER__PAYLOAD__BODY_SNAPSHOT_REQ:
		return p->snapshot_req->nonce.len == 16 ? 0 : -1;
	case BANCLUSTER__PAYLOAD__BODY_ADMIN_REQ: {
		const Bancluster__AdminReq *r = p->admin_req;

		if (r->nonce.len != 16)
			return -1;
		switch (r->cmd_case) {
		case BANCLUSTER__ADMIN_REQ__CMD_BAN:
			return ban_ok(r->ban->ban) ? 0 : -1;
		case BANCLUSTER__ADMIN_REQ__CMD_UNBAN:
			return addr_ok(r->unban->family, &r->unban->addr,
				       r->unban->plen) &&
					       !(r->unban->fleet_only &&
						 r->unban->local_only)
				       ? 0
				       : -1;
		case BANCLUSTER__ADMIN_REQ__CMD_SHOW:
			return addr_ok(r->show->family, &r->show->addr,
				       r->show->plen) ? 0 : -1;
		case BANCLUSTER__ADMIN_REQ__CMD_LIST:
			return r->list->since_ms >= 0 ? 0 : -1;
		case BANCLUSTER__ADMIN_REQ__CMD_ALLOW_ADD:
			return addr_ok(r->allow_add->family, &r->allow_add->addr,
				       r->allow_add->plen) &&
				       r->allow_add->for_s <= BC_WIRE_MAX_ALLOW_S &&
				       text_ok(r->allow_add->comment, BC_WIRE_MAX_TEXT)
				       ? 0 : -1;
		case BANCLUSTER__ADMIN_REQ__CMD_ALLOW_REMOVE:
			return addr_ok(r->allow_remove->family, &r->allow_remove->addr,
				       r->allow_remove->plen) ? 0 : -1;
		case BANCLUSTER__ADMIN_REQ__CMD_ALLOW_LIST:
		case BANCLUSTER__ADMIN_REQ__CMD_STATUS:
		case BANCLUSTER__ADMIN_REQ__CMD_AUDIT:
			return 0;
		/* enrolment: the name and key are judged by the coordinator,
		 * which answers a bad one with a reason; here only bounds */
		case BANCLUSTER__ADMIN_REQ__CMD_ENROL_ADD:
			return key_role_ok(r->enrol_add->role) &&
				       text_ok(r->enrol_add->name, BC_WIRE_MAX_TEXT) &&
				       r->enrol_add->public_key.len <= 64
				       ? 0 : -1;
		case BANCLUSTER__ADMIN_REQ__CMD_ENROL_REMOVE:
			return key_role_ok(r->enrol_remove->role) &&
				       text_ok(r->enrol_remove->name, BC_WIRE_MAX_TEXT)
				       ? 0 : -1;
		case BANCLUSTER__ADMIN_REQ__CMD_ENROL_LIST:
			return key_role_ok(r->enrol_list->role) ? 0 : -1;
		default:
			return -1;
		}
	}
	case BANCLUSTER__PAYLOAD__BODY_ADMIN_REPLY:
		if (p->admin_reply->nonce.len != 16 ||
		    !text_ok(p->admin_reply->error, BC_WIRE_MAX_TEXT))
			return -1;
		for (i = 0; i < p->admin_reply->n_bans; i++)
			if (!ban_ok(p->admin_reply->bans[i]))
				return -1;
		if (p->admin_reply->n_allows > BC_WIRE_MAX_ALLOWS * 2)
			return -1; /* the CLI's entries and the configuration's */
		for (i = 0; i < p->admin_reply->n_allows; i++)
			if (!allow_ok(p->admin_reply->allows[i]))
				return -1;
		if (p->admin_reply->allowed_by != NULL &&
		    !allow_ok(p->admin_reply->allowed_by))
			return -1;
		if (!bc_wire_software_ok(p->admin_reply->software) ||
		    !wire_range_ok(p->admin_reply->wire_min,
				   p->admin_reply->wire_max))
			return -1;
		for (i = 0; i < p->admin_reply->n_agents; i++) {
			const Bancluster__AgentStatus *a = p->admin_reply->agents[i];

			if (!text_ok(a->id, BC_NAME_MAX) ||
			    !text_ok(a->audit, BC_NAME_MAX) ||
			    !bc_wire_software_ok(a->software) ||
			    !wire_range_ok(a->wire_min, a->wire_max))
				return -1;
		}
		for (i = 0; i < p->admin_reply->n_decisions; i++) {
			const Bancluster__Decision *d = p->admin_reply->decisions[i];
			size_t j;

			if (!text_ok(d->action, BC_NAME_MAX) ||
			    !text_ok(d->addr, BC_NAME_MAX) ||
			    !text_ok(d->reason, BC_WIRE_MAX_TEXT) ||
			    !text_ok(d->origin, BC_WIRE_MAX_TEXT) ||
			    !text_ok(d->signer, BC_NAME_MAX) ||
			    d->n_evidence > BC_WIRE_MAX_EVIDENCE)
				return -1;
			for (j = 0; j < d->n_evidence; j++)
				if (!evidence_ok(d->evidence[j]))
					return -1;
		}
		if (!local_entries_ok(p->admin_reply->local,
				      p->admin_reply->n_local) ||
		    !local_entries_ok(p->admin_reply->local_covering,
				      p->admin_reply->n_local_covering))
			return -1;
		if (p->admin_reply->n_keys > 2 * BC_MAX_PEERS)
			return -1;
		for (i = 0; i < p->admin_reply->n_keys; i++) {
			const Bancluster__KeyEntry *k = p->admin_reply->keys[i];

			if (!text_ok(k->name, BC_NAME_MAX) || !key_role_ok(k->role) ||
			    k->public_key.len != 32 || k->last_seen_ms < 0)
				return -1;
		}
		if (p->admin_reply->n_decisions > BC_WIRE_MAX_DECISIONS ||
		    p->admin_reply->n_recent > BC_WIRE_MAX_EVIDENCE)
			return -1;
		for (i = 0; i < p->admin_reply->n_recent; i++)
			if (!evidence_ok(p->admin_reply->recent[i]))
				return -1;
		return 0;
	case BANCLUSTER__PAYLOAD__BODY_HEARTBEAT:
		return p->heartbeat->fleet_hash.len <= 64 &&
			       bc_wire_software_ok(p->heartbeat->software) &&
			       wire_range_ok(p->heartbeat->wire_min,
					     p->heartbeat->wire_max)
			       ? 0
			       : -1;
	case BANCLUSTER__PAYLOAD__BODY_HUGZ:
		return bc_wire_software_ok(p->hugz->software) &&
			       wire_range_ok(p->hugz->wire_min, p->hugz->wire_max)
			       ? 0
			       : -1;
	case BANCLUSTER__PAYLOAD__BODY_ACK:
		return 0;
	case BANCLUSTER__PAYLOAD__BODY_LOCAL_BANS:
		if (p->local_bans->gen == 0 ||
		    p->local_bans->n_bans > BC_WIRE_MAX_LOCAL_PER_MSG)
			return -1;
		for (i = 0; i < p->local_bans->n_bans; i++)
			if (!local_ban_ok(p->local_bans->bans[i]))
				return -1;
		return 0;
	case BANCLUSTER__PAYLOAD__BODY_LOCAL_LIFT:
		if (p->local_lift->n_lifts > BC_WIRE_MAX_LOCAL_PER_MSG ||
		    !text_ok(p->local_lift->admin, BC_NAME_MAX))
			return -1;
		for (i = 0; i < p->local_lift->n_lifts; i++) {
			const Bancluster__LocalTarget *t = p->local_lift->lifts[i];

			if (!addr_ok(t->family, &t->addr, t->plen) ||
			    t->created_ms < 0)
				return -1;
		}
		return 0;
	default:
		return -1;
	}
}

enum bc_reject bc_wire_open(struct bc_keyring *kr, const uint8_t *buf,
			    size_t len, size_t maxlen, uint32_t allowed,
			    enum bc_chan chan, const char *cluster,
			    int64_t now_ms, Bancluster__Payload **out,
			    struct bc_peer **from)
{
	struct bc_wire_seen seen;

	return bc_wire_open_seen(kr, buf, len, maxlen, allowed, chan, cluster,
				 now_ms, out, from, &seen);
}

bool bc_wire_peek_update(const uint8_t *buf, size_t len, uint64_t *epoch,
			 uint64_t *seq)
{
	Bancluster__Envelope *env;
	Bancluster__Payload *p = NULL;
	bool ok = false;

	if (len > BC_WIRE_MAX_FRAME)
		return false;
	env = bancluster__envelope__unpack(NULL, len, buf);
	if (env == NULL)
		return false;
	if (env->type == BANCLUSTER__MSG_TYPE__MSG_UPDATE)
		p = bancluster__payload__unpack(NULL, env->payload.len,
						env->payload.data);
	if (p != NULL && p->body_case == BANCLUSTER__PAYLOAD__BODY_UPDATE) {
		*epoch = p->update->epoch;
		*seq = p->update->seq;
		ok = true;
	}
	if (p != NULL)
		bancluster__payload__free_unpacked(p, NULL);
	bancluster__envelope__free_unpacked(env, NULL);
	return ok;
}

int bc_wire_preverify(const struct bc_keyring *kr, const uint8_t *buf,
		      size_t len, size_t maxlen)
{
	Bancluster__Envelope *env;
	const struct bc_peer *peer;
	int ok = 0;

	if (len > maxlen || len > BC_WIRE_MAX_FRAME)
		return 0;
	env = bancluster__envelope__unpack(NULL, len, buf);
	if (env == NULL)
		return 0;
	if (env->version >= BC_WIRE_VERSION_MIN &&
	    env->version <= BC_WIRE_VERSION && env->type != 0 &&
	    env->type <= TYPE_MAX &&
	    env->signature.len == crypto_sign_BYTES) {
		peer = bc_keyring_find_id(kr, env->key_id.data, env->key_id.len);
		ok = peer != NULL &&
		     verify(peer->pk, env->type, env->payload.data,
			    env->payload.len, env->signature.data) == 0;
	}
	bancluster__envelope__free_unpacked(env, NULL);
	return ok;
}

enum bc_reject bc_wire_open_seen(struct bc_keyring *kr, const uint8_t *buf,
				 size_t len, size_t maxlen, uint32_t allowed,
				 enum bc_chan chan, const char *cluster,
				 int64_t now_ms, Bancluster__Payload **out,
				 struct bc_peer **from, struct bc_wire_seen *seen)
{
	return bc_wire_open_pre(kr, buf, len, maxlen, allowed, chan, cluster,
				now_ms, 0, NULL, out, from, seen);
}

enum bc_reject bc_wire_open_pre(struct bc_keyring *kr, const uint8_t *buf,
				size_t len, size_t maxlen, uint32_t allowed,
				enum bc_chan chan, const char *cluster,
				int64_t now_ms, int preverified,
				ProtobufCAllocator *alloc,
				Bancluster__Payload **out, struct bc_peer **from,
				struct bc_wire_seen *seen)
{
	Bancluster__Envelope *env;
	Bancluster__Payload *p;
	struct bc_peer *peer;
	enum bc_reject r = BC_REJ_OK;

	*out = NULL;
	memset(seen, 0, sizeof(*seen));
	if (len > maxlen || len > BC_WIRE_MAX_FRAME)
		return BC_REJ_SIZE;
	env = bancluster__envelope__unpack(alloc, len, buf);
	if (env == NULL)
		return BC_REJ_ENVELOPE;
	/* no version (0) is no envelope of any release; a version this
	 * release does not speak is told apart before anything that a later
	 * version may have changed (type numbers, signature length) */
	if (env->version == 0) {
		r = BC_REJ_ENVELOPE;
		goto out;
	}
	if (env->version < BC_WIRE_VERSION_MIN ||
	    env->version > BC_WIRE_VERSION) {
		r = BC_REJ_VERSION;
		goto out;
	}
	if (env->type == 0 ||
	    env->type > TYPE_MAX ||
	    env->signature.len != crypto_sign_BYTES) {
		r = BC_REJ_ENVELOPE;
		goto out;
	}
	seen->version = env->version;
	if (env->key_id.len == BC_KEY_ID_BYTES) {
		memcpy(seen->key_id, env->key_id.data, BC_KEY_ID_BYTES);
		seen->key_id_len = BC_KEY_ID_BYTES;
	}
	peer = bc_keyring_find_id(kr, env->key_id.data, env->key_id.len);
	seen->peer = peer;
	if (peer == NULL) {
		r = BC_REJ_SIGNER;
		goto out;
	}
	if (!preverified &&
	    verify(peer->pk, env->type, env->payload.data, env->payload.len,
		   env->signature.data) != 0) {
		r = BC_REJ_SIGNATURE;
		goto out;
	}
	p = bancluster__payload__unpack(alloc, env->payload.len,
					env->payload.data);
	if (p == NULL) {
		r = BC_REJ_PAYLOAD;
		goto out;
	}
	seen->verified = true;
	seen->type = env->type;
	snprintf(seen->sender, sizeof(seen->sender), "%s", p->sender);
	snprintf(seen->cluster, sizeof(seen->cluster), "%s", p->cluster);
	if (p->body_case == BANCLUSTER__PAYLOAD__BODY_ADMIN_REQ &&
	    p->admin_req->nonce.len == sizeof(seen->nonce)) {
		memcpy(seen->nonce, p->admin_req->nonce.data, sizeof(seen->nonce));
		seen->nonce_len = sizeof(seen->nonce);
	}
	if ((uint32_t)p->body_case != env->type + 10 ||
	    (allowed & (1u << env->type)) == 0 ||
	    (peer->allowed_types != 0 &&
	     (peer->allowed_types & (1u << env->type)) == 0)) {
		r = BC_REJ_TYPE;
	} else if (strcmp(p->cluster, cluster) != 0 ||
		   strcmp(p->sender, peer->name) != 0) {
		r = BC_REJ_SENDER;
	} else if (p->counter <= peer->last_counter[chan]) {
		r = BC_REJ_REPLAY;
	} else if (p->sent_ms < now_ms - BC_WIRE_SKEW_MS ||
		   p->sent_ms > now_ms + BC_WIRE_SKEW_MS) {
		r = BC_REJ_SKEW;
	} else if (bc_wire_check_ranges(p) < 0) {
		r = BC_REJ_RANGE;
	}
	if (r != BC_REJ_OK) {
		bancluster__payload__free_unpacked(p, alloc);
		goto out;
	}
	peer->last_counter[chan] = p->counter;
	peer->wire_version = env->version;
	*out = p;
	*from = peer;
out:
	bancluster__envelope__free_unpacked(env, alloc);
	return r;
}

/* ---- the bump region ----------------------------------------------- */

#define BUMP_ALIGN 16

static void *bump_alloc(void *data, size_t size)
{
	struct bc_wire_bump *b = data;
	size_t at = (b->used + BUMP_ALIGN - 1) & ~(size_t)(BUMP_ALIGN - 1);

	/* a pointer handed out is inside the block (bump_free tells them
	 * apart by that), a zero-size one too */
	if (at < b->cap && size <= b->cap - at) {
		b->used = at + size;
		return b->buf + at;
	}
	b->spilled++;
	return malloc(size ? size : 1);
}

static void bump_free(void *data, void *ptr)
{
	struct bc_wire_bump *b = data;
	uintptr_t p = (uintptr_t)ptr, lo = (uintptr_t)b->buf;

	/* the block's memory comes back at the reset; the rest now */
	if (ptr != NULL && (p < lo || p - lo >= b->cap))
		free(ptr);
}

int bc_wire_bump_init(struct bc_wire_bump *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->buf = malloc(cap);
	if (b->buf == NULL)
		return -1;
	b->cap = cap;
	b->pa.alloc = bump_alloc;
	b->pa.free = bump_free;
	b->pa.allocator_data = b;
	return 0;
}

void bc_wire_bump_reset(struct bc_wire_bump *b)
{
	b->used = 0;
}

void bc_wire_bump_free(struct bc_wire_bump *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

int bc_wire_addr(uint32_t family, const ProtobufCBinaryData *bin,
		 uint32_t plen, struct bc_addr *a)
{
	if (family == 4 && bin->len == 4 && plen <= 32) {
		bc_addr_from_bin(a, AF_INET, bin->data, plen);
		return 0;
	}
	if (family == 6 && bin->len == 16 && plen <= 128) {
		bc_addr_from_bin(a, AF_INET6, bin->data, plen);
		return 0;
	}
	return -1;
}

int bc_wire_ban_addr(const Bancluster__Ban *b, struct bc_addr *a)
{
	return bc_wire_addr(b->family, &b->addr, b->plen, a);
}

void bc_wire_addr_fill(const struct bc_addr *a, uint32_t *family,
		       ProtobufCBinaryData *bin, uint32_t *plen)
{
	*family = a->family == AF_INET ? 4 : 6;
	bin->data = (uint8_t *)(uintptr_t)a->a;
	bin->len = bc_addr_bytes(a);
	*plen = a->plen;
}
