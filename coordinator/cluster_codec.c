/*
 * cluster_codec.c - decision records and event batches read back from
 * etcd (cluster_codec.h). Written by coordinators holding the cluster's
 * client certificate, still parsed as untrusted: every length is checked
 * against what is left before it is used, JSON by jansson with
 * duplicate keys refused, every field type- and range-checked.
 */
#include "coordinator/cluster_codec.h"

#include "common/keys.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <jansson.h>

static int64_t jint(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int jstr(json_t *o, const char *name, char *out, size_t len)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_string(v) || json_string_length(v) >= len ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1; /* too long, or a NUL inside */
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* v as a JSON object (duplicate keys refused), or NULL + err. */
static json_t *jobject(const uint8_t *v, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o = json_loadb((const char *)v, len,
			       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);

	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(err, errlen, "not a JSON object");
		return NULL;
	}
	return o;
}

/* An origin ("rule:maxretry", "manual:NAME", "expire", or what an older
 * store imported holds): no control byte, so no line of its own. */
static bool origin_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/* A record's node and signer, names both (no signer: a rule's). */
static bool names_ok(const char *node, const char *signer)
{
	return bc_name_valid(node) && (signer[0] == '\0' || bc_name_valid(signer));
}

int cl_rec_parse(const uint8_t *v, size_t len, struct cl_rec *r, char *err,
		 size_t errlen)
{
	json_t *o;
	char addr[80];
	int64_t q;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	o = jobject(v, len, err, errlen);
	if (o == NULL)
		return -1;
	q = jint(o, "q");
	r->sb.ban.created_ms = jint(o, "c");
	r->sb.ban.expires_ms = jint(o, "e");
	r->rule = json_is_true(json_object_get(o, "k"));
	if (q <= 0 || r->sb.ban.created_ms < 0 || r->sb.ban.expires_ms < 0 ||
	    jstr(o, "x", r->action, sizeof(r->action)) < 0 ||
	    jstr(o, "a", addr, sizeof(addr)) < 0 ||
	    jstr(o, "o", r->sb.origin, sizeof(r->sb.origin)) < 0 ||
	    jstr(o, "r", r->sb.reason, sizeof(r->sb.reason)) < 0 ||
	    jstr(o, "s", r->signer, sizeof(r->signer)) < 0 ||
	    jstr(o, "n", r->node, sizeof(r->node)) < 0) {
		snprintf(err, errlen, "a field is missing or out of range");
		goto out;
	}
	/* what reaches the log: the node's and admin's names, the origin
	 * ("rule:...", "manual:NAME", "expire"...); a rule ban's reason is
	 * escaped where it is logged (an admin's is stored as typed) */
	if (!names_ok(r->node, r->signer)) {
		snprintf(err, errlen, "a node or admin name is not a name");
		goto out;
	}
	if (!origin_ok(r->sb.origin)) {
		snprintf(err, errlen, "the origin holds a control character");
		goto out;
	}
	if (strcmp(r->action, "ban") != 0 && strcmp(r->action, "extend") != 0 &&
	    strcmp(r->action, "unban") != 0 && strcmp(r->action, "expire") != 0) {
		snprintf(err, errlen, "unknown action");
		goto out;
	}
	if (bc_addr_parse(&r->sb.ban.addr, addr, strlen(addr), err, errlen) < 0)
		goto out;
	r->seq = (uint64_t)q;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int cl_allow_parse(const uint8_t *v, size_t len, struct cl_allow_rec *r,
		   char *err, size_t errlen)
{
	json_t *o;
	char addr[80];
	int64_t q;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	o = jobject(v, len, err, errlen);
	if (o == NULL)
		return -1;
	q = jint(o, "q");
	r->e.created_ms = jint(o, "c");
	r->e.expires_ms = jint(o, "e");
	if (q <= 0 || r->e.created_ms < 0 || r->e.expires_ms < 0 ||
	    jstr(o, "x", r->action, sizeof(r->action)) < 0 ||
	    jstr(o, "a", addr, sizeof(addr)) < 0 ||
	    jstr(o, "m", r->e.comment, sizeof(r->e.comment)) < 0 ||
	    jstr(o, "s", r->signer, sizeof(r->signer)) < 0 ||
	    jstr(o, "n", r->node, sizeof(r->node)) < 0) {
		snprintf(err, errlen, "a field is missing or out of range");
		goto out;
	}
	/* names reach the log: a node's and an admin's, nothing else */
	if (!names_ok(r->node, r->signer)) {
		snprintf(err, errlen, "a node or admin name is not a name");
		goto out;
	}
	if (strcmp(r->action, "allow") != 0 && strcmp(r->action, "allow-remove") != 0 &&
	    strcmp(r->action, "allow-expire") != 0) {
		snprintf(err, errlen, "unknown action");
		goto out;
	}
	if (bc_addr_parse(&r->e.addr, addr, strlen(addr), err, errlen) < 0)
		goto out;
	memcpy(r->e.by, r->signer, sizeof(r->e.by));
	r->seq = (uint64_t)q;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int cl_lift_parse(const uint8_t *v, size_t len, struct cl_lift_rec *r,
		  char *err, size_t errlen)
{
	json_t *o;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	o = jobject(v, len, err, errlen);
	if (o == NULL)
		return -1;
	r->created_ms = jint(o, "c");
	if (r->created_ms < 0 || jstr(o, "s", r->admin, sizeof(r->admin)) < 0 ||
	    jstr(o, "n", r->node, sizeof(r->node)) < 0) {
		snprintf(err, errlen, "a field is missing or out of range");
		goto out;
	}
	if (!bc_name_valid(r->admin) || !bc_name_valid(r->node)) {
		snprintf(err, errlen, "a node or admin name is not a name");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

uint64_t cl_rd64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* zigzag LEB128 (at most 10 bytes): small negative and positive deltas
 * in few bytes */
size_t cl_ev_encode(uint8_t *p, int64_t recv_ms, const struct bc_policy_event *pe)
{
	uint64_t d = (uint64_t)pe->time_ms - (uint64_t)recv_ms; /* wraps */
	uint64_t z = (d << 1) ^ (uint64_t)-(int64_t)(d >> 63);
	bool v6 = pe->addr.family == AF_INET6;
	size_t o = 2;

	p[0] = v6 ? 1 : 0;
	p[1] = pe->kind;
	while (z >= 0x80) {
		p[o++] = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	p[o++] = (uint8_t)z;
	memcpy(p + o, pe->addr.a, v6 ? 16 : 4);
	return o + (v6 ? 16 : 4);
}

/* One BCE2 record at v[*off..end): its event, *off moved past it; -1
 * when it is malformed (flags, an over-long varint, cut short). */
static int rec2(const uint8_t *v, size_t *off, size_t end, int64_t recv_ms,
		struct bc_policy_event *pe)
{
	size_t o = *off, al;
	uint64_t z = 0;
	int sh;

	if (end - o < 3 || v[o] > 1)
		return -1;
	al = v[o] ? 16 : 4;
	pe->addr.family = v[o] ? AF_INET6 : AF_INET;
	pe->addr.plen = v[o] ? 128 : 32;
	pe->kind = v[o + 1];
	o += 2;
	for (sh = 0;; sh += 7) {
		if (o == end || sh > 63 || (sh == 63 && v[o] > 1))
			return -1;
		z |= (uint64_t)(v[o] & 0x7f) << sh;
		if (!(v[o++] & 0x80))
			break;
	}
	if (end - o < al)
		return -1;
	memcpy(pe->addr.a, v + o, al);
	/* the delta back, in unsigned arithmetic (no overflow) */
	pe->time_ms = (int64_t)((uint64_t)recv_ms + ((z >> 1) ^ (uint64_t)-(int64_t)(z & 1)));
	*off = o + al;
	return 0;
}

int cl_ev_parse(const uint8_t *v, size_t len, char node[CL_NAME_MAX],
		void (*fn)(void *arg, const struct cl_ev_report *r), void *arg)
{
	size_t off = 4, nl, al;
	bool v2;

	/* all or nothing: the whole batch checked before any report goes */
	if (fn != NULL && cl_ev_parse(v, len, node, NULL, NULL) < 0)
		return -1;
	if (len < 5)
		return -1;
	if (memcmp(v, CL_EV_MAGIC, 4) == 0)
		v2 = true;
	else if (memcmp(v, CL_EV_MAGIC1, 4) == 0)
		v2 = false;
	else
		return -1;
	nl = v[off++];
	if (nl == 0 || nl >= CL_NAME_MAX || nl > len - off)
		return -1;
	memcpy(node, v + off, nl);
	node[nl] = '\0';
	if (memchr(node, '\0', nl) != NULL)
		return -1;
	off += nl;
	while (off < len) {
		struct cl_ev_report r;
		const uint8_t *h;

		al = v[off++];
		if (al == 0 || al > BC_NAME_MAX || al > len - off ||
		    len - off - al < (v2 ? CL_EV_REPORT_HDR + 4 : CL_EV_REPORT_HDR))
			return -1;
		memcpy(r.agent, v + off, al);
		r.agent[al] = '\0';
		if (memchr(r.agent, '\0', al) != NULL)
			return -1;
		off += al;
		h = v + off;
		r.recv_ms = (int64_t)cl_rd64(h);
		r.row = (int64_t)cl_rd64(h + 8);
		r.report_id = cl_rd64(h + 16);
		r.n = (uint32_t)h[24] | (uint32_t)h[25] << 8 |
		      (uint32_t)h[26] << 16 | (uint32_t)h[27] << 24;
		off += CL_EV_REPORT_HDR;
		r.compact = v2;
		if (v2) {
			size_t bytes = (size_t)h[28] | (size_t)h[29] << 8 |
				       (size_t)h[30] << 16 | (size_t)h[31] << 24;

			off += 4;
			if (bytes > len - off || (size_t)r.n > bytes / CL_EV_REC_MIN)
				return -1;
			r.reclen = bytes;
			if (fn == NULL) { /* the checking pass: every record */
				size_t o = off;
				uint32_t i;
				struct bc_policy_event pe;

				for (i = 0; i < r.n; i++)
					if (rec2(v, &o, off + bytes, r.recv_ms, &pe) < 0)
						return -1;
				if (o != off + bytes)
					return -1;
			}
		} else {
			if ((size_t)r.n > (len - off) / CL_EV_REC1)
				return -1;
			r.reclen = (size_t)r.n * CL_EV_REC1;
		}
		r.recs = v + off;
		off += r.reclen;
		if (fn != NULL)
			fn(arg, &r);
	}
	return 0;
}

int cl_ev_next(const struct cl_ev_report *r, size_t *pos,
	       struct bc_policy_event *pe)
{
	const uint8_t *e;

	memset(pe, 0, sizeof(*pe));
	if (*pos >= r->reclen)
		return 0;
	if (r->compact) {
		if (rec2(r->recs, pos, r->reclen, r->recv_ms, pe) == 0)
			return 1;
		*pos = r->reclen; /* nothing after a malformed record */
		return -1;
	}
	if (r->reclen - *pos < CL_EV_REC1) {
		*pos = r->reclen;
		return -1;
	}
	e = r->recs + *pos;
	*pos += CL_EV_REC1;
	if (e[0] != 4 && e[0] != 6)
		return -1;
	pe->addr.family = e[0] == 4 ? AF_INET : AF_INET6;
	pe->addr.plen = e[0] == 4 ? 32 : 128;
	memcpy(pe->addr.a, e + 10, e[0] == 4 ? 4 : 16);
	pe->kind = e[1];
	pe->time_ms = (int64_t)cl_rd64(e + 2);
	return 1;
}
