/*
 * bench_fw.c - the firewall writer against nft(8), side by side.
 *
 * Each part runs in a private network namespace of its own (a forked
 * child; the host ruleset is never touched):
 *   1. load: bc_fw_replace() of 100 000 host bans with timeouts into a
 *      fresh table (one transaction), then again over the full set, and
 *      one `nft -f` batch of the same 100 000 elements into the same
 *      empty set, in the same run;
 *   2. for 100 000 and 1 000 000 host bans present: bc_fw_apply() of one
 *      host ban, each its own transaction (median and p99 over
 *      BENCH_FW_OPS adds, default 1000, and as many deletes), one apply
 *      of 1000 adds, and at 100 000 the usual way, one `nft add element`
 *      process per ban;
 *   3. with 10 000 prefix bans (/24) present, one /24 ban added: the
 *      interval sets' cost, which the host path no longer pays.
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

#define LOAD_N 100000
#define SIZE_SMALL 100000
#define SIZE_LARGE 1000000
#define NETS_N 10000
#define SINGLE_OPS 1000
#define BATCH_OPS 1000
#define NFT_RUNS_FULL 3      /* each takes seconds at 100k elements */
#define NFT_RUNS_EMPTY 20
#define TIMEOUT_MS (3ULL * 3600 * 1000)
#define ERRLEN 256
#define CMDLEN 512
#define BIG_BASE 0x0a000000u    /* 10.0.0.0, every other address */
#define SINGLE_BASE 0x0b000000u /* 11.0.0.0 */
#define NFT_BASE 0x0c000000u    /* 12.0.0.0 */
#define NETS_BASE 0x14000000u   /* 20.0.0.0, every other /24 */
#define NET_ADD_BASE 0x20000000u /* 32.0.0.0 */

static size_t single_ops_n = SINGLE_OPS;

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

/* An IPv4 range [a, a + size - 1] of the fleet sets. */
static struct bc_fw_elem range4(int op, uint32_t a, uint32_t size,
				uint64_t timeout_ms)
{
	struct bc_fw_elem e;
	uint32_t f = htonl(a), l = htonl(a + size - 1);

	memset(&e, 0, sizeof e);
	e.op = (uint8_t)op;
	e.set = BC_FW_FLEET;
	e.family = AF_INET;
	e.timeout_ms = timeout_ms;
	memcpy(e.first, &f, 4);
	memcpy(e.last, &l, 4);
	return e;
}

static struct bc_fw_elem host4(int op, uint32_t a, uint64_t timeout_ms)
{
	return range4(op, a, 1, timeout_ms);
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
	printf("%-52s %14s %18s\n", what, ours, theirs);
	fflush(stdout);
}

static void fmt_s(char *buf, size_t len, double s)
{
	if (s < 0)
		snprintf(buf, len, "failed");
	else if (s < 1e-3)
		snprintf(buf, len, "%.1f us", s * 1e6);
	else if (s < 1)
		snprintf(buf, len, "%.2f ms", s * 1e3);
	else
		snprintf(buf, len, "%.2f s", s);
}

static void fmt_rate(char *buf, size_t len, double n, double s)
{
	if (s <= 0)
		snprintf(buf, len, "failed");
	else
		snprintf(buf, len, "%.0fk el/s", n / s / 1e3);
}

/* Print a row with a time in each column ("" for none: t < -1). */
static void row_s(const char *what, double ours, double theirs)
{
	char a[32] = "", b[32] = "";

	if (ours >= -1)
		fmt_s(a, sizeof a, ours);
	if (theirs >= -1)
		fmt_s(b, sizeof b, theirs);
	row(what, a, b);
}

#define NONE (-2.0)

/* Median and p99 of single-op applies of range4(op, base + 2*size*i). */
static int single_ops(struct bc_fw *fw, int op, uint32_t base, uint32_t size,
		      double *med, double *p99)
{
	double *t = calloc(single_ops_n, sizeof *t);
	char err[ERRLEN];

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < single_ops_n; i++) {
		struct bc_fw_elem e = range4(op, base + 2u * size * (uint32_t)i,
					     size, TIMEOUT_MS);
		double t0 = now_s();

		if (bc_fw_apply(fw, &e, 1, err, sizeof err) < 0) {
			fprintf(stderr, "bench_fw: apply: %s\n", err);
			free(t);
			return -1;
		}
		t[i] = now_s() - t0;
	}
	qsort(t, single_ops_n, sizeof *t, cmp_double);
	*med = t[single_ops_n / 2];
	*p99 = t[single_ops_n * 99 / 100];
	free(t);
	return 0;
}

/* Time of one bc_fw_apply() carrying BATCH_OPS host ops of one kind. */
static double batch_ops(struct bc_fw *fw, int op, uint32_t base)
{
	struct bc_fw_elem *e = calloc(BATCH_OPS, sizeof *e);
	char err[ERRLEN];
	double t0;
	int rc;

	if (e == NULL)
		return -1;
	for (size_t i = 0; i < BATCH_OPS; i++)
		e[i] = host4(op, base + 2u * (uint32_t)i, TIMEOUT_MS);
	t0 = now_s();
	rc = bc_fw_apply(fw, e, BATCH_OPS, err, sizeof err);
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

/* nft -f of one batch adding n host elements to fleet4 (flushed first). */
static double nft_batch(uint32_t base, uint32_t n)
{
	char path[] = "/tmp/bench_fw.XXXXXX", cmd[CMDLEN];
	int fd = mkstemp(path);
	FILE *f;
	double t;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fprintf(f, "flush set inet bancluster fleet4\n"
		   "add element inet bancluster fleet4 {\n");
	for (uint32_t i = 0; i < n; i++) {
		char ip[INET_ADDRSTRLEN];

		fmt_ip(base + 2u * i, ip, sizeof ip);
		fprintf(f, "%s timeout 3h%s\n", ip, i + 1 < n ? "," : "");
	}
	fprintf(f, "}\n");
	fclose(f);
	snprintf(cmd, sizeof cmd, "nft -f %s", path);
	t = time_cmd(cmd);
	unlink(path);
	return t;
}

static const struct bc_fw_config cfg = {.ports = {25, 465, 587},
					.nports = 3};

/* A table in this namespace; NULL after a message. */
static struct bc_fw *open_fw(void)
{
	char err[ERRLEN];
	struct bc_fw *fw = bc_fw_open(&cfg, err, sizeof err);

	if (fw == NULL)
		fprintf(stderr, "bench_fw: open: %s\n", err);
	return fw;
}

/* Replace the fleet sets with n elements at base, size addresses each
 * and 2*size apart; the time it took, or -1. */
static double load(struct bc_fw *fw, uint32_t base, uint32_t size, size_t n)
{
	struct bc_fw_elem *v = calloc(n, sizeof *v);
	char err[ERRLEN];
	double t0;
	int rc;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		v[i] = range4(BC_FW_ADD, base + 2u * size * (uint32_t)i, size,
			      TIMEOUT_MS);
	t0 = now_s();
	rc = bc_fw_replace(fw, BC_FW_FLEET, v, n, err, sizeof err);
	t0 = now_s() - t0;
	free(v);
	if (rc < 0) {
		fprintf(stderr, "bench_fw: replace: %s\n", err);
		return -1;
	}
	return t0;
}

/* Part 1: loads of LOAD_N hosts, ours and nft -f. 0 or -1. */
static int part_load(void)
{
	struct bc_fw *fw;
	double fresh, again, nft_f;
	char a[32], b[32];

	/* nft first, into an empty table of ours: the same sets. */
	if ((fw = open_fw()) == NULL)
		return -1;
	nft_f = nft_batch(NFT_BASE, LOAD_N);
	bc_fw_close(&fw);
	if (system("nft delete table inet bancluster") != 0)
		return -1;
	if ((fw = open_fw()) == NULL)
		return -1;
	fresh = load(fw, BIG_BASE, 1, LOAD_N);
	again = load(fw, BIG_BASE, 1, LOAD_N);
	bc_fw_close(&fw);
	row_s("load 100k host bans, fresh table (one txn)", fresh, nft_f);
	fmt_rate(a, sizeof a, LOAD_N, fresh);
	fmt_rate(b, sizeof b, LOAD_N, nft_f);
	row("  rate", a, b);
	if (fresh > 0 && nft_f > 0) {
		snprintf(a, sizeof a, "%.1fx nft -f", nft_f / fresh);
		row("  speed-up", a, "");
	}
	row_s("replace 100k by 100k (flush + add, one txn)", again, NONE);
	return fresh < 0 || again < 0 || nft_f < 0 ? -1 : 0;
}

static void count_elem(const struct bc_fw_elem *e, void *arg)
{
	(void)e;
	(*(size_t *)arg)++;
}

/* The agent's self-check reads the sets back (agent/fleetcheck.c): the
 * IPv4 fleet sets dumped once, in seconds; -1 on failure. */
static double read_back(struct bc_fw *fw, size_t *count)
{
	char err[ERRLEN];
	double t0 = now_s();

	*count = 0;
	if (bc_fw_dump(fw, BC_FW_FLEET, AF_INET, count_elem, count, err,
		       sizeof err) < 0) {
		fprintf(stderr, "bench_fw: dump: %s\n", err);
		return -1;
	}
	return now_s() - t0;
}

/* The read-back as the agent runs it: pages of BC_FWR_PAGE_MS (2 ms)
 * with the writer free in between. Total seconds (-1 on failure), the
 * longest page (how long the agent waits at most) and the pages. */
static double read_paged(struct bc_fw *fw, size_t *count, double *longest,
			 size_t *pages)
{
	char err[ERRLEN];
	struct bc_fw_pager *pg;
	double t0 = now_s(), total = 0;
	int rc;

	*count = *pages = 0;
	*longest = 0;
	pg = bc_fw_pager_open(fw, BC_FW_FLEET, AF_INET, err, sizeof err);
	if (pg == NULL) {
		fprintf(stderr, "bench_fw: pager: %s\n", err);
		return -1;
	}
	do {
		double p0 = now_s(), dt;

		rc = bc_fw_pager_next(pg, 2, count_elem, count, err, sizeof err);
		dt = now_s() - p0;
		total += dt;
		if (dt > *longest)
			*longest = dt;
		(*pages)++;
	} while (rc > 0);
	bc_fw_pager_close(&pg);
	if (rc < 0) {
		fprintf(stderr, "bench_fw: page: %s\n", err);
		return -1;
	}
	(void)t0;
	return total;
}

/* Part 2: single ops with n host bans present. 0 or -1. */
static int part_present(size_t n)
{
	struct bc_fw *fw;
	double t, med, p99, dmed, dp99, badd, bdel, rb, nft = NONE;
	double pt, plong;
	size_t got = 0, pgot = 0, pages = 0;
	char what[80];
	int rc = 0;

	if ((fw = open_fw()) == NULL)
		return -1;
	t = load(fw, BIG_BASE, 1, n);
	snprintf(what, sizeof what, "load %zuk host bans (one txn)", n / 1000);
	row_s(what, t, NONE);
	if (t < 0 ||
	    single_ops(fw, BC_FW_ADD, SINGLE_BASE, 1, &med, &p99) < 0 ||
	    single_ops(fw, BC_FW_DEL, SINGLE_BASE, 1, &dmed, &dp99) < 0) {
		bc_fw_close(&fw);
		return -1;
	}
	badd = batch_ops(fw, BC_FW_ADD, SINGLE_BASE);
	bdel = batch_ops(fw, BC_FW_DEL, SINGLE_BASE);
	rb = read_back(fw, &got);
	pt = read_paged(fw, &pgot, &plong, &pages);
	if (n <= SIZE_SMALL)
		nft = nft_singles(NFT_RUNS_FULL, NFT_BASE + 1);
	bc_fw_close(&fw);
	snprintf(what, sizeof what, "add 1 host ban at %zuk: median", n / 1000);
	row_s(what, med, nft);
	snprintf(what, sizeof what, "add 1 host ban at %zuk: p99", n / 1000);
	row_s(what, p99, NONE);
	snprintf(what, sizeof what, "delete 1 host ban at %zuk: median",
		 n / 1000);
	row_s(what, dmed, NONE);
	snprintf(what, sizeof what, "delete 1 host ban at %zuk: p99", n / 1000);
	row_s(what, dp99, NONE);
	snprintf(what, sizeof what, "add %d host bans at %zuk, one apply",
		 BATCH_OPS, n / 1000);
	row_s(what, badd, NONE);
	snprintf(what, sizeof what, "delete %d host bans at %zuk, one apply",
		 BATCH_OPS, n / 1000);
	row_s(what, bdel, NONE);
	snprintf(what, sizeof what, "read back %zuk host bans at once",
		 got / 1000);
	row_s(what, rb, NONE);
	snprintf(what, sizeof what, "  the same in %zu pages (self-check)",
		 pages);
	row_s(what, pt, NONE);
	row_s("  longest page: the agent's longest wait", plong, NONE);
	if (badd < 0 || bdel < 0 || rb < 0 || got < n || pt < 0 || pgot < n ||
	    (n <= SIZE_SMALL && nft < 0))
		rc = -1;
	return rc;
}

/* Part 3: one /24 ban added with NETS_N /24 bans present. 0 or -1. */
static int part_nets(void)
{
	struct bc_fw *fw;
	double t, med, p99;

	if ((fw = open_fw()) == NULL)
		return -1;
	t = load(fw, NETS_BASE, 256, NETS_N);
	if (t < 0 ||
	    single_ops(fw, BC_FW_ADD, NET_ADD_BASE, 256, &med, &p99) < 0) {
		bc_fw_close(&fw);
		return -1;
	}
	bc_fw_close(&fw);
	row_s("add 1 /24 ban at 10k /24 bans: median", med, NONE);
	row_s("add 1 /24 ban at 10k /24 bans: p99", p99, NONE);
	return 0;
}

/* Run part(arg) in a child in a network namespace of its own: 0, -1 on
 * failure, NO_NETNS when no namespace could be made. */
#define NO_NETNS 2
static int in_netns(int (*part)(size_t), size_t arg)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (enter_netns() < 0) {
			printf("bench_fw: skipped: no network namespace: "
			       "%s\n", strerror(errno));
			_exit(NO_NETNS);
		}
		_exit(part(arg) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	if (WEXITSTATUS(st) == NO_NETNS)
		return NO_NETNS;
	return WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int p_load(size_t n)
{
	(void)n;
	return part_load();
}

static int p_nets(size_t n)
{
	(void)n;
	return part_nets();
}

static int p_empty_nft(size_t n)
{
	struct bc_fw *fw = open_fw();
	double t;

	(void)n;
	if (fw == NULL)
		return -1;
	t = nft_singles(NFT_RUNS_EMPTY, NFT_BASE + 1);
	bc_fw_close(&fw);
	row_s("add 1 host ban, empty set (nft per process)", NONE, t);
	return t < 0 ? -1 : 0;
}

int main(void)
{
	const char *ops = getenv("BENCH_FW_OPS");
	int failed = 0, rc;

	if (ops != NULL && atoi(ops) >= 100)
		single_ops_n = (size_t)atoi(ops);
	printf("firewall writer: libnftnl batches vs nft(8); host bans in "
	       "fleet4, prefixes in fleet4_nets\n\n");
	row("operation", "bancluster", "nft(8)");
	row("---------", "----------", "------");
	rc = in_netns(p_empty_nft, 0);
	if (rc == NO_NETNS)
		return 0; /* the child said why */
	failed |= rc != 0;
	failed |= in_netns(p_load, 0) < 0;
	failed |= in_netns(part_present, SIZE_SMALL) < 0;
	failed |= in_netns(part_present, SIZE_LARGE) < 0;
	failed |= in_netns(p_nets, 0) < 0;
	printf("\nnft(8) columns: load = one `nft -f` batch of 100k into the "
	       "same empty set; add = mean of %d `nft add element` processes "
	       "at 100k, %d on an empty set.\nbancluster add/delete: %zu "
	       "single-op bc_fw_apply() calls, each its own transaction.\n",
	       NFT_RUNS_FULL, NFT_RUNS_EMPTY, single_ops_n);
	return failed;
}
