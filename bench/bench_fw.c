/*
 * bench_fw.c - the firewall writer against nft(8), side by side.
 *
 * In a private network namespace (the host ruleset is never touched):
 *   1. bc_fw_replace() of 100 000 elements with timeouts into a fresh
 *      table, and again over a full set;
 *   2. with 100 000 elements present, bc_fw_apply() of one element:
 *      median and p99 over 1000 adds, and the same for deletes;
 *   3. the same jobs done the usual way: one `nft add element` process
 *      per ban (on an empty set and at 100 000 elements), and one
 *      `nft -f` batch of 100 000 elements.
 * Prints a table; exits non-zero if a step fails.
 */
#include "agent/fw_nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests/unit/netns.h"

#define BIG_N 100000
#define SINGLE_OPS 1000
#define NFT_RUNS_FULL 3      /* each takes seconds at 100k elements */
#define NFT_RUNS_EMPTY 20
#define TIMEOUT_MS (3ULL * 3600 * 1000)
#define ERRLEN 256
#define CMDLEN 512
#define BIG_BASE 0x0a000000u    /* 10.0.0.0, every other address */
#define SINGLE_BASE 0x0b000000u /* 11.0.0.0 */
#define NFT_BASE 0x0c000000u    /* 12.0.0.0 */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

static struct bc_fw_elem host4(int op, uint32_t a, uint64_t timeout_ms)
{
	struct bc_fw_elem e;
	uint32_t n = htonl(a);

	memset(&e, 0, sizeof e);
	e.op = (uint8_t)op;
	e.set = BC_FW_FLEET;
	e.family = AF_INET;
	e.timeout_ms = timeout_ms;
	memcpy(e.first, &n, 4);
	memcpy(e.last, &n, 4);
	return e;
}

static void fmt_ip(uint32_t a, char *buf, size_t len)
{
	uint32_t n = htonl(a);

	inet_ntop(AF_INET, &n, buf, (socklen_t)len);
}

/* Wall time of one shell command, or -1 if it failed. */
static double time_cmd(const char *cmd)
{
	double t0 = now_s();
	int st = system(cmd);

	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return now_s() - t0;
}

static void row(const char *what, const char *ours, const char *theirs)
{
	printf("%-46s %14s %18s\n", what, ours, theirs);
}

static void fmt_s(char *buf, size_t len, double s)
{
	if (s < 0)
		snprintf(buf, len, "failed");
	else if (s < 1e-3)
		snprintf(buf, len, "%.1f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.1f ms", s * 1e3);
	else
		snprintf(buf, len, "%.2f s", s);
}

/* Median and p99 of n single-op applies; ops built by make(i). */
static int single_ops(struct bc_fw *fw, int op, double *med, double *p99)
{
	double *t = calloc(SINGLE_OPS, sizeof *t);
	char err[ERRLEN];

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < SINGLE_OPS; i++) {
		struct bc_fw_elem e = host4(op, SINGLE_BASE + 2u * (uint32_t)i,
					    TIMEOUT_MS);
		double t0 = now_s();

		if (bc_fw_apply(fw, &e, 1, err, sizeof err) < 0) {
			fprintf(stderr, "bench_fw: apply: %s\n", err);
			free(t);
			return -1;
		}
		t[i] = now_s() - t0;
	}
	qsort(t, SINGLE_OPS, sizeof *t, cmp_double);
	*med = t[SINGLE_OPS / 2];
	*p99 = t[SINGLE_OPS * 99 / 100];
	free(t);
	return 0;
}

/* Time of one bc_fw_apply() carrying SINGLE_OPS ops of the given kind. */
static double batch_ops(struct bc_fw *fw, int op)
{
	struct bc_fw_elem *e = calloc(SINGLE_OPS, sizeof *e);
	char err[ERRLEN];
	double t0;
	int rc;

	if (e == NULL)
		return -1;
	for (size_t i = 0; i < SINGLE_OPS; i++)
		e[i] = host4(op, SINGLE_BASE + 2u * (uint32_t)i, TIMEOUT_MS);
	t0 = now_s();
	rc = bc_fw_apply(fw, e, SINGLE_OPS, err, sizeof err);
	t0 = now_s() - t0;
	free(e);
	if (rc < 0)
		fprintf(stderr, "bench_fw: apply: %s\n", err);
	return rc < 0 ? -1 : t0;
}

/* Mean time of `runs` single `nft add element` processes. */
static double nft_singles(int runs, uint32_t base)
{
	double sum = 0;

	for (int i = 0; i < runs; i++) {
		char cmd[CMDLEN], ip[INET_ADDRSTRLEN];
		double t;

		fmt_ip(base + 2u * (uint32_t)i, ip, sizeof ip);
		snprintf(cmd, sizeof cmd,
			 "nft add element inet bancluster fleet4 "
			 "'{ %s timeout 3h }'",
			 ip);
		t = time_cmd(cmd);
		if (t < 0)
			return -1;
		sum += t;
	}
	return sum / runs;
}

/* nft -f of one batch adding BIG_N elements to fleet4 (flushed first). */
static double nft_batch(void)
{
	char path[] = "/tmp/bench_fw.XXXXXX", cmd[CMDLEN];
	int fd = mkstemp(path);
	FILE *f;
	double t;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(f, "flush set inet bancluster fleet4\n"
		   "add element inet bancluster fleet4 {\n");
	for (uint32_t i = 0; i < BIG_N; i++) {
		char ip[INET_ADDRSTRLEN];

		fmt_ip(NFT_BASE + 2u * i, ip, sizeof ip);
		fprintf(f, "%s timeout 3h%s\n", ip, i + 1 < BIG_N ? "," : "");
	}
	fprintf(f, "}\n");
	fclose(f);
	snprintf(cmd, sizeof cmd, "nft -f %s", path);
	t = time_cmd(cmd);
	unlink(path);
	return t;
}

int main(void)
{
	struct bc_fw_config cfg = {.ports = {25, 465, 587}, .nports = 3};
	char err[ERRLEN], a[32], b[32];
	struct bc_fw_elem *big;
	struct bc_fw *fw;
	double t0, t_fresh, t_again, add_med, add_p99, del_med, del_p99;
	double nft_empty, nft_full, nft_f, b_add, b_del;

	if (enter_netns() < 0) {
		printf("bench_fw: skipped: no network namespace: %s\n",
		       strerror(errno));
		return 0;
	}
	big = calloc(BIG_N, sizeof *big);
	if (big == NULL)
		return 1;
	for (uint32_t i = 0; i < BIG_N; i++)
		big[i] = host4(BC_FW_ADD, BIG_BASE + 2u * i, TIMEOUT_MS);

	/* nft on an empty set first: the per-process baseline. */
	fw = bc_fw_open(&cfg, err, sizeof err);
	if (fw == NULL) {
		fprintf(stderr, "bench_fw: %s\n", err);
		return 1;
	}
	nft_empty = nft_singles(NFT_RUNS_EMPTY, NFT_BASE + 1);
	bc_fw_close(&fw);
	if (system("nft delete table inet bancluster") != 0)
		return 1;

	fw = bc_fw_open(&cfg, err, sizeof err);
	if (fw == NULL) {
		fprintf(stderr, "bench_fw: %s\n", err);
		return 1;
	}
	t0 = now_s();
	if (bc_fw_replace(fw, BC_FW_FLEET, big, BIG_N, err, sizeof err) < 0) {
		fprintf(stderr, "bench_fw: replace: %s\n", err);
		return 1;
	}
	t_fresh = now_s() - t0;
	t0 = now_s();
	if (bc_fw_replace(fw, BC_FW_FLEET, big, BIG_N, err, sizeof err) < 0) {
		fprintf(stderr, "bench_fw: replace: %s\n", err);
		return 1;
	}
	t_again = now_s() - t0;
	if (single_ops(fw, BC_FW_ADD, &add_med, &add_p99) < 0 ||
	    single_ops(fw, BC_FW_DEL, &del_med, &del_p99) < 0)
		return 1;
	b_add = batch_ops(fw, BC_FW_ADD);
	b_del = batch_ops(fw, BC_FW_DEL);
	if (b_add < 0 || b_del < 0)
		return 1;
	nft_full = nft_singles(NFT_RUNS_FULL, NFT_BASE + 1);
	nft_f = nft_batch();
	bc_fw_close(&fw);
	free(big);

	printf("firewall writer: libnftnl batches vs nft(8), "
	       "IPv4 set with flags interval,timeout\n\n");
	row("operation", "bancluster", "nft(8)");
	row("---------", "----------", "------");
	fmt_s(a, sizeof a, t_fresh);
	fmt_s(b, sizeof b, nft_f);
	row("load 100k elements, fresh table (one txn)", a, b);
	fmt_s(a, sizeof a, t_again);
	row("replace 100k by 100k (flush + add, one txn)", a, b);
	fmt_s(a, sizeof a, add_med);
	fmt_s(b, sizeof b, nft_full);
	row("add 1 element at 100k: median", a, b);
	fmt_s(a, sizeof a, add_p99);
	row("add 1 element at 100k: p99", a, "");
	fmt_s(a, sizeof a, del_med);
	row("delete 1 element at 100k: median", a, "");
	fmt_s(a, sizeof a, del_p99);
	row("delete 1 element at 100k: p99", a, "");
	fmt_s(a, sizeof a, b_add);
	row("add 1000 elements at 100k, one apply", a, "");
	fmt_s(a, sizeof a, b_del);
	row("delete 1000 elements at 100k, one apply", a, "");
	fmt_s(b, sizeof b, nft_empty);
	row("add 1 element, empty set (nft per process)", "", b);
	printf("\nnft(8) columns: load/replace = one `nft -f` batch of 100k; "
	       "add = mean of %d `nft add element` processes at 100k, "
	       "%d on an empty set.\nbancluster add/delete: %d single-op "
	       "bc_fw_apply() calls, each its own transaction.\n",
	       NFT_RUNS_FULL, NFT_RUNS_EMPTY, SINGLE_OPS);
	return nft_empty < 0 || nft_full < 0 || nft_f < 0;
}
