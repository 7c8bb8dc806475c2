/*
 * fleetcheck.c - the kernel side of the fleet-set hash (fleetcheck.h,
 * proto/fleethash.h), run by the signer.
 *
 * Input: the fleet sets' elements as the firewall process dumps them
 * (kernel data, relayed over the checked socketpair of fw_remote.h) and
 * the signer's own ban map. The hash keys are owned here and freed
 * before return. Errors: -1 with one line in err (a failed dump, or out
 * of memory); nothing prints.
 */
#include "agent/fleetcheck.h"

#include <stdio.h>
#include <sys/socket.h>

struct kernel_keys {
	struct bc_fleethash_keys k;
	int64_t now_ms;
};

static void dump_cb(const struct bc_fw_elem *e, void *arg)
{
	struct kernel_keys *kk = arg;

	bc_fleethash_add(&kk->k, e,
			 e->timeout_ms ? kk->now_ms + (int64_t)e->timeout_ms : 0);
}

int bc_fleetcheck_kernel(struct bc_fwr *fw, int64_t now_ms, int64_t cutoff_ms,
			 const struct bc_banmap *want,
			 struct bc_fleethash *out, size_t *missing,
			 size_t *extra, char *err, size_t errlen)
{
	struct kernel_keys kk = {.k = {.cutoff_ms = cutoff_ms}, .now_ms = now_ms};
	struct bc_fleethash_keys w = {.cutoff_ms = cutoff_ms};
	int rc = -1;

	*missing = *extra = 0;
	if (bc_fwr_dump(fw, BC_FW_FLEET, AF_INET, dump_cb, &kk, err, errlen) < 0 ||
	    bc_fwr_dump(fw, BC_FW_FLEET, AF_INET6, dump_cb, &kk, err, errlen) < 0)
		goto out;
	if (kk.k.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	bc_fleethash_final(&kk.k, out);
	if (want != NULL) {
		if (bc_fleethash_expected_keys(want, &w) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		bc_fleethash_sort(&w);
		bc_fleethash_diff(&kk.k, &w, missing, extra);
	}
	rc = 0;
out:
	bc_fleethash_keys_free(&kk.k);
	bc_fleethash_keys_free(&w);
	return rc;
}
