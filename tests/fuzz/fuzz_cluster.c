/*
 * fuzz_cluster.c - libFuzzer harness for what cluster mode reads back
 * from etcd (coordinator/cluster_codec.c): the first byte picks the
 * reader, the rest is the value a hostile or broken writer left.
 *   0 mod 4: an event batch (cl_ev_parse, then cl_ev_next over every
 *            event of every report handed over)
 *   1 mod 4: a decision record (cl_rec_parse)
 *   2 mod 4: an allow list change (cl_allow_parse)
 *   3 mod 4: a lift of a local ban (cl_lift_parse)
 * Aborts when the contract breaks: a report whose events lie outside the
 * input or do not read one by one to their end (a BCE2 record that
 * parsed but does not read), a name that is not NUL-terminated within its bound, a record
 * accepted with an unknown action or an over-long comment. Built and run by `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/cluster_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *base;
static size_t blen;

static void each(void *arg, const struct cl_ev_report *r)
{
	struct bc_policy_event pe;
	size_t pos = 0, prev;
	uint32_t i;
	int got;

	(void)arg;
	if (r->recs < base || r->reclen > (size_t)(base + blen - r->recs) ||
	    memchr(r->agent, '\0', sizeof(r->agent)) == NULL)
		abort();
	/* every record of a batch that parsed reads (BCE2), and the walk
	 * ends at the records' end */
	for (i = 0; i <= r->n; i++) {
		prev = pos;
		got = cl_ev_next(r, &pos, &pe);
		if (pos > r->reclen || (got != 0 && pos <= prev) ||
		    (got == 0 && i != r->n) || (got < 0 && r->compact))
			abort();
		if (got == 0)
			break;
	}
	if (i > r->n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char node[CL_NAME_MAX], err[128];
	struct cl_rec r;

	if (size < 1)
		return 0;
	base = data + 1;
	blen = size - 1;
	if (data[0] % 4 == 3) {
		struct cl_lift_rec l;

		if (cl_lift_parse(base, blen, &l, err, sizeof(err)) == 0 &&
		    (l.created_ms < 0 || memchr(l.admin, '\0', sizeof(l.admin)) == NULL ||
		     memchr(l.node, '\0', sizeof(l.node)) == NULL))
			abort();
	} else if (data[0] % 4 == 0) {
		if (cl_ev_parse(base, blen, node, each, NULL) == 0 &&
		    memchr(node, '\0', sizeof(node)) == NULL)
			abort();
	} else if (data[0] % 4 == 2) {
		struct cl_allow_rec a;

		if (cl_allow_parse(base, blen, &a, err, sizeof(err)) == 0 &&
		    ((strcmp(a.action, "allow") != 0 &&
		      strcmp(a.action, "allow-remove") != 0 &&
		      strcmp(a.action, "allow-expire") != 0) ||
		     memchr(a.e.comment, '\0', sizeof(a.e.comment)) == NULL ||
		     memchr(a.e.by, '\0', sizeof(a.e.by)) == NULL))
			abort();
	} else if (cl_rec_parse(base, blen, &r, err, sizeof(err)) == 0 &&
		   strcmp(r.action, "ban") != 0 && strcmp(r.action, "extend") != 0 &&
		   strcmp(r.action, "unban") != 0 && strcmp(r.action, "expire") != 0) {
		abort();
	}
	return 0;
}
