/*
 * cluster_codec.h - the two formats cluster mode keeps in etcd, read
 * back strictly (cluster.h has the design): decision records (JSON under
 * PREFIX/d/) and event batches (binary under PREFIX/ev/). Pure
 * functions: no coordinator, no etcd, so the unit tests and the fuzz
 * target (tests/fuzz/fuzz_cluster.c) drive them alone.
 *
 * Event batch: "BCE2", node length (1 byte) and node, then reports:
 * agent length (1) and agent, receive time (8), store row (8), report
 * id (8), count n (4), the records' bytes (4), then n records: flags (1:
 * 0 IPv4, 1 IPv6), kind (1), the event time less the receive time
 * (zigzag LEB128, 1 to 10 bytes), address (4 or 16): 8 bytes for an
 * IPv4 event of the last 8 s. Integers are little-endian. Read too:
 * "BCE1" (until December 2026), the same without the records' bytes,
 * each record CL_EV_REC1 bytes: family (4 or 6), kind, event time (8),
 * address (16, IPv4 in the first 4).
 */
#ifndef BC_COORD_CLUSTER_CODEC_H
#define BC_COORD_CLUSTER_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/allowlist.h"
#include "common/keys.h"
#include "common/policy.h"
#include "coordinator/store.h"

#define CL_NAME_MAX 64
#define CL_EV_MAGIC "BCE2"
#define CL_EV_MAGIC1 "BCE1"   /* read, no longer written */
#define CL_EV_REC1 26         /* BCE1: family, kind, time_ms (8), addr (16) */
#define CL_EV_REC_MAX 28      /* BCE2: flags, kind, time (<= 10), addr (16) */
#define CL_EV_REC_MIN 7       /* BCE2: flags, kind, time (1), addr (4) */
#define CL_EV_REPORT_HDR 28   /* after the agent: recv, row, id, n (BCE2:
			       * then the records' bytes, 4) */

/* 8 bytes at p, little-endian */
uint64_t cl_rd64(const uint8_t *p);

/* A decision record. */
struct cl_rec {
	uint64_t seq;
	char action[16];          /* ban, extend, unban, expire */
	char signer[128];
	char node[CL_NAME_MAX];
	bool rule;
	struct bc_store_ban sb;
};

/* 0, or -1 with the reason in err (not JSON, a field missing, mistyped
 * or out of range, an unknown action, a bad address). */
int cl_rec_parse(const uint8_t *v, size_t len, struct cl_rec *r, char *err,
		 size_t errlen);

/* A change of the allow list of `bancluster allow`: {"q": seq, "x":
 * "allow" | "allow-remove" | "allow-expire", "a": "ADDR/PLEN", "c":
 * created, "e": expires (0: until removed), "m": comment, "s": added by
 * (an allow) or removed by, "n": the node that wrote it}. */
struct cl_allow_rec {
	uint64_t seq;
	char action[16];
	char signer[BC_ALLOW_BY_MAX];
	char node[CL_NAME_MAX];
	struct bc_allow e;        /* e.by: the signer of an "allow" */
};

/* 0, or -1 with the reason in err (as cl_rec_parse; a comment longer
 * than BC_ALLOW_COMMENT_MAX is malformed). */
int cl_allow_parse(const uint8_t *v, size_t len, struct cl_allow_rec *r,
		   char *err, size_t errlen);

/* A lift of an agent's local ban (PREFIX/lift/AGENT/ADDR/PLEN): {"c":
 * the local ban's creation time (0: whichever), "s": the admin, "n": the
 * node that took the unban}. */
struct cl_lift_rec {
	int64_t created_ms;
	char admin[BC_NAME_MAX];
	char node[CL_NAME_MAX];
};

/* 0, or -1 with the reason in err. */
int cl_lift_parse(const uint8_t *v, size_t len, struct cl_lift_rec *r,
		  char *err, size_t errlen);

/* One report of a batch; recs points into the batch (reclen bytes, n
 * records). */
struct cl_ev_report {
	char agent[BC_NAME_MAX + 1];
	int64_t recv_ms, row;
	uint64_t report_id;
	uint32_t n;
	bool compact;             /* BCE2's records */
	const uint8_t *recs;
	size_t reclen;
};

/* Check the whole batch, then call fn for each report in order. -1 (and
 * no call) when any part is malformed; node gets the writer's name. */
int cl_ev_parse(const uint8_t *v, size_t len, char node[CL_NAME_MAX],
		void (*fn)(void *arg, const struct cl_ev_report *r), void *arg);

/* The record of r at *pos (start at 0) as a policy event (time, kind,
 * address; host and ref left 0), *pos moved past it: 1, or 0 after the
 * last one; -1 for a record to skip (BCE1: a family other than 4 or 6)
 * or a malformed one (*pos then at the end: 0 next). */
int cl_ev_next(const struct cl_ev_report *r, size_t *pos,
	       struct bc_policy_event *pe);

/* Write pe as a BCE2 record of a report received at recv_ms into p (at
 * least CL_EV_REC_MAX bytes): its length. */
size_t cl_ev_encode(uint8_t *p, int64_t recv_ms, const struct bc_policy_event *pe);

#endif
