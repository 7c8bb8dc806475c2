/*
 * test_daemon.c - the heap trim after a burst (common/daemon.h): when
 * bc_trim_tick calls malloc_trim, and that the pages a burst freed leave
 * the resident set (not under ASan, whose allocator ignores malloc_trim).
 */
#include "common/daemon.h"
#include "tests/unit/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define BC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BC_ASAN 1
#endif
#endif

/* resident pages of this process, from /proc/self/statm */
static long resident_kb(void)
{
	long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_when(void)
{
	struct bc_trim t = {0};

	bc_trim_tick(&t, false, 5000);
	CHECK(t.trims == 0, "no trim before any work");
	bc_trim_tick(&t, true, 10000);
	bc_trim_tick(&t, false, 10000 + BC_TRIM_QUIET_MS - 1);
	CHECK(t.trims == 0, "no trim while the burst may go on (%d ms quiet)",
	      BC_TRIM_QUIET_MS - 1);
	bc_trim_tick(&t, false, 10000 + BC_TRIM_QUIET_MS);
	CHECK(t.trims == 1, "one trim once %d ms passed without work",
	      BC_TRIM_QUIET_MS);
	bc_trim_tick(&t, false, 20000);
	bc_trim_tick(&t, false, 30000);
	CHECK(t.trims == 1, "no second trim without new work");
	bc_trim_tick(&t, true, 40000);
	bc_trim_tick(&t, true, 40500);
	bc_trim_tick(&t, false, 40500 + BC_TRIM_QUIET_MS - 1);
	CHECK(t.trims == 1, "quiet time counts from the last work");
	bc_trim_tick(&t, false, 40500 + BC_TRIM_QUIET_MS);
	CHECK(t.trims == 2, "a trim after the second burst");
	/* never a quiet second: a message every 900 ms */
	for (int64_t now = 50000; now < 50000 + BC_TRIM_LATEST_MS; now += 900)
		bc_trim_tick(&t, true, now);
	CHECK(t.trims == 2, "no trim within %d ms of work that never stops",
	      BC_TRIM_LATEST_MS);
	bc_trim_tick(&t, true, 50000 + BC_TRIM_LATEST_MS);
	CHECK(t.trims == 3, "a trim %d ms after the work began, busy or not",
	      BC_TRIM_LATEST_MS);
	bc_trim_tick(&t, true, 50000 + BC_TRIM_LATEST_MS + 900);
	CHECK(t.trims == 3, "the next one not before another %d ms",
	      BC_TRIM_LATEST_MS);
}

/* A burst of small blocks (like policy windows, below the mmap
 * threshold), all freed but the last: glibc keeps the freed pages below
 * the live block until malloc_trim gives them back. */
static void test_returns_pages(void)
{
	enum { N = 60000, SIZE = 200 };
	static void *v[N];
	struct bc_trim t = {0};
	long before, freed, after;
	size_t i;

	for (i = 0; i < N; i++) {
		v[i] = malloc(SIZE);
		if (v[i] != NULL)
			((volatile char *)v[i])[0] = 1;
		if (v[i] != NULL)
			((volatile char *)v[i])[SIZE - 1] = 1;
	}
	before = resident_kb();
	for (i = 0; i + 1 < N; i++)
		free(v[i]);
	freed = resident_kb();
	bc_trim_tick(&t, true, 0);
	bc_trim_tick(&t, false, BC_TRIM_QUIET_MS);
	after = resident_kb();
	free(v[N - 1]);
#ifdef BC_ASAN
	CHECK(t.trims == 1, "trim called (ASan: resident set not checked)");
	(void)before;
	(void)freed;
	(void)after;
#else
	CHECK(before > 0 && freed > before - 2048,
	      "free() alone keeps the burst resident (%ld -> %ld kB)", before,
	      freed);
	CHECK(after >= 0 && freed - after >= (long)(N * SIZE / 1024) / 2,
	      "the trim gives back at least half of the %d kB freed (%ld -> "
	      "%ld kB)", N * SIZE / 1024, freed, after);
#endif
}

int main(void)
{
	test_when();
	test_returns_pages();
	return tap_done();
}
