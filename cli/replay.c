/*
 * replay.c - dry run of the log parsers and the default ban policy.
 *
 *   bancluster replay [--format FMT] FILE [--json]     (FILE "-" = stdin)
 *
 * Reads the file line by line (lines over BC_PARSE_LINE_MAX are skipped to
 * their end and counted as malformed, never buffered whole), feeds every
 * line to one parser, and runs the coordinator's default policy over the
 * events in file order: maxretry 5 within findtime 10m, weights auth_fail
 * 1, sender_violation 1, auth_abort 0.5, a successful login clears the
 * address' auth_abort weight, IPv6 counted per /64, allow 127.0.0.0/8 and
 * ::1 (counted, never banned). A ban lasts bantime 3h, doubled for each
 * repeat, at most 24h.
 *
 * Untrusted: the file. Nothing from it is printed but counts, addresses
 * formatted from their binary form, and times; the file name (ours) is
 * escaped anyway. Memory: one record per distinct address, at most
 * REPLAY_ADDRS_MAX (further addresses are counted, not tracked).
 */
#include "cli/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/parse.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/policy.h"

#define REPLAY_EXIT_USAGE 64
#define REPLAY_EXIT_READ 1
#define REPLAY_READ_CHUNK 65536
#define REPLAY_ADDRS_MAX (1u << 20)
/*
 * The coordinator's defaults (DESIGN.md, Decisions): the counting itself
 * is common/policy.c with bc_policy_cfg_defaults, as on the coordinator;
 * the ban durations are the coordinator's [policy] defaults.
 */
#define POL_BANTIME_S (3LL * 3600)
#define POL_BANTIME_FACTOR 2.0
#define POL_BANTIME_MAX_S (24LL * 3600)
#define POL_ALLOW "127.0.0.0/8, ::1"

/* One per address (events) and one per ban key (/32 or /64). */
struct rec {
	struct bc_addr addr;
	uint64_t n[BC_KIND_MAX + 1];
	int allowed;
	/* ban key state */
	unsigned bans;
	int64_t banned_until;
};

struct table {
	struct rec **slot;
	size_t cap, n;
};

struct ban {
	struct bc_addr prefix;
	int64_t at, until;
	double score; /* weighted events in findtime when it fired */
};

struct replay {
	enum bc_format fmt;
	int json;
	const char *path;
	uint64_t lines, matched, ignored, malformed, untracked;
	uint64_t events[BC_KIND_MAX + 1];
	int64_t last_t;
	struct bc_addr_list allow;
	struct bc_policy_cfg cfg;
	struct bc_policy *pol;
	struct table addrs, keys;
	struct ban *bans;
	size_t nbans, capbans;
};

/* ---- tables -------------------------------------------------------- */

static uint64_t addr_hash(const struct bc_addr *a)
{
	uint64_t h = 1469598103934665603ULL ^ a->family ^ ((uint64_t)a->plen << 8);
	size_t i;

	for (i = 0; i < 16; i++) {
		h ^= a->a[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int table_grow(struct table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024, i;
	struct rec **ns = calloc(ncap, sizeof(*ns));

	if (ns == NULL)
		return -1;
	for (i = 0; i < t->cap; i++) {
		struct rec *r = t->slot[i];
		size_t j;

		if (r == NULL)
			continue;
		for (j = addr_hash(&r->addr) & (ncap - 1); ns[j] != NULL;
		     j = (j + 1) & (ncap - 1))
			;
		ns[j] = r;
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
	return 0;
}

static const struct rec *table_find(const struct table *t,
				    const struct bc_addr *a)
{
	size_t j;

	if (t->cap == 0)
		return NULL;
	for (j = addr_hash(a) & (t->cap - 1); t->slot[j] != NULL;
	     j = (j + 1) & (t->cap - 1))
		if (bc_addr_equal(&t->slot[j]->addr, a))
			return t->slot[j];
	return NULL;
}

/* Find or add; NULL when full or out of memory. */
static struct rec *table_get(struct table *t, const struct bc_addr *a)
{
	size_t j;

	if (t->cap == 0 || (t->n + 1) * 4 > t->cap * 3) {
		if (t->n >= REPLAY_ADDRS_MAX || table_grow(t) < 0)
			goto find_only;
	}
	for (j = addr_hash(a) & (t->cap - 1); t->slot[j] != NULL;
	     j = (j + 1) & (t->cap - 1))
		if (bc_addr_equal(&t->slot[j]->addr, a))
			return t->slot[j];
	t->slot[j] = calloc(1, sizeof(struct rec));
	if (t->slot[j] == NULL)
		return NULL;
	t->slot[j]->addr = *a;
	t->n++;
	return t->slot[j];
find_only:
	return (struct rec *)table_find(t, a);
}

static void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static int cmp_rec(const void *x, const void *y)
{
	return bc_addr_cmp(&(*(struct rec *const *)x)->addr,
			   &(*(struct rec *const *)y)->addr);
}

/* Records of a table in address order (caller frees the array). */
static struct rec **table_sorted(const struct table *t)
{
	struct rec **v = malloc((t->n ? t->n : 1) * sizeof(*v));
	size_t i, k = 0;

	if (v == NULL)
		return NULL;
	for (i = 0; i < t->cap; i++)
		if (t->slot[i] != NULL)
			v[k++] = t->slot[i];
	qsort(v, k, sizeof(*v), cmp_rec);
	return v;
}

/* ---- policy -------------------------------------------------------- */

static struct bc_addr ban_key(const struct replay *r, const struct bc_addr *a)
{
	struct bc_addr k;

	bc_policy_key(r->pol, a, &k);
	return k;
}

static int add_ban(struct replay *r, const struct bc_addr *k, int64_t at,
		   int64_t until, double score)
{
	if (r->nbans == r->capbans) {
		size_t nc = r->capbans ? r->capbans * 2 : 64;
		struct ban *nb = realloc(r->bans, nc * sizeof(*nb));

		if (nb == NULL)
			return -1;
		r->bans = nb;
		r->capbans = nc;
	}
	r->bans[r->nbans].prefix = *k;
	r->bans[r->nbans].at = at;
	r->bans[r->nbans].until = until;
	r->bans[r->nbans].score = score;
	r->nbans++;
	return 0;
}

/*
 * The fleet policy over this log as if one host reported it; an address
 * already banned sends nothing more (the firewall drops it). Escalation
 * counts the earlier bans of this replay.
 */
static void policy(struct replay *r, const struct bc_event *ev)
{
	struct bc_addr k = ban_key(r, &ev->addr);
	struct bc_policy_event pe;
	struct bc_policy_hit hit;
	struct rec *g;
	int64_t t = ev->time_ms ? ev->time_ms : r->last_t, len;

	if (ev->time_ms)
		r->last_t = ev->time_ms;
	g = table_get(&r->keys, &k);
	if (g == NULL)
		return;
	if (g->bans > 0 && t < g->banned_until)
		return;
	memset(&pe, 0, sizeof(pe));
	pe.time_ms = t;
	pe.kind = ev->kind;
	pe.addr = ev->addr;
	if (bc_policy_event(r->pol, &pe, t, &hit) != BC_POLICY_BAN)
		return;
	len = bc_policy_bantime(POL_BANTIME_S, POL_BANTIME_FACTOR,
				POL_BANTIME_MAX_S, g->bans) * 1000;
	g->bans++;
	g->banned_until = t + len;
	(void)add_ban(r, &k, t, t + len, hit.score);
}

static void on_event(struct replay *r, const struct bc_event *ev)
{
	struct rec *a;

	if (ev->kind < 1 || ev->kind > BC_KIND_MAX)
		return;
	r->events[ev->kind]++;
	a = table_get(&r->addrs, &ev->addr);
	if (a == NULL) {
		r->untracked++;
		return;
	}
	a->n[ev->kind]++;
	if (bc_addr_list_match(&r->allow, &ev->addr)) {
		a->allowed = 1;
		return;
	}
	policy(r, ev);
}

/* ---- reading --------------------------------------------------------- */

static void feed(struct replay *r, struct bc_parser *p, const char *line,
		 size_t len)
{
	struct bc_event ev;
	enum bc_parse_result res = bc_parser_feed(p, line, len, &ev);

	r->lines++;
	if (res == BC_PARSE_MATCH) {
		r->matched++;
		on_event(r, &ev);
	} else if (res == BC_PARSE_MALFORMED) {
		r->malformed++;
	} else {
		r->ignored++;
	}
	while (bc_parser_flush(p, 0, &ev) == 1)
		on_event(r, &ev);
}

/*
 * Progress of a long replay on a terminal: only when stderr is one (and
 * TERM is not "dumb"), first after PROGRESS_AFTER_MS, then at most every
 * PROGRESS_EVERY_MS, one line on stderr rewritten in place:
 *   replay: 412.0 MiB of 1205.3 MiB (34%), 3120000 lines, 2412337 lines/s
 * ("of ... (%)" only for a regular file, whose size is known). Called
 * after every read(2) with its result; n <= 0 (end or error) erases the
 * line, so the results and any error start on a clean line. stdout is
 * never touched: the text and --json output stay the same. errno is
 * kept for the caller.
 */
#define PROGRESS_AFTER_MS 1000
#define PROGRESS_EVERY_MS 500

struct progress {
	int state;          /* 0 not decided yet, 1 on, -1 off */
	int shown;          /* a line is on the terminal */
	uint64_t bytes, size;
	int64_t start_ms, last_ms;
};

static int64_t progress_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void progress(struct progress *pg, int fd, ssize_t n, uint64_t lines)
{
	const char *term = getenv("TERM");
	int saved = errno;
	int64_t now, ms;
	struct stat st;

	if (pg->state == 0) {
		pg->state = isatty(STDERR_FILENO) &&
				    (term == NULL || strcmp(term, "dumb") != 0)
			    ? 1
			    : -1;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			pg->size = (uint64_t)st.st_size;
		pg->start_ms = progress_now_ms();
	}
	if (pg->state < 0)
		return;
	if (n <= 0) {
		if (pg->shown)
			fputs("\r\033[K", stderr);
		pg->shown = 0;
		errno = saved;
		return;
	}
	pg->bytes += (uint64_t)n;
	now = progress_now_ms();
	ms = now - pg->start_ms;
	if (ms < PROGRESS_AFTER_MS || now - pg->last_ms < PROGRESS_EVERY_MS)
		return;
	pg->last_ms = now;
	fprintf(stderr, "\rreplay: %.1f MiB", (double)pg->bytes / 1048576.0);
	if (pg->size > 0)
		fprintf(stderr, " of %.1f MiB (%u%%)",
			(double)pg->size / 1048576.0,
			(unsigned)(pg->bytes >= pg->size ? 100
							 : pg->bytes * 100 / pg->size));
	fprintf(stderr, ", %" PRIu64 " lines, %" PRIu64 " lines/s\033[K", lines,
		lines * 1000 / (uint64_t)ms);
	pg->shown = 1;
	errno = saved;
}

/* Read fd to its end, one line at a time. Returns 0 or -1 (errno set). */
static int read_lines(struct replay *r, struct bc_parser *p, int fd)
{
	size_t cap = BC_PARSE_LINE_MAX + REPLAY_READ_CHUNK, have = 0;
	char *buf = malloc(cap);
	struct progress pg = {0};
	int skipping = 0;

	if (buf == NULL)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + have, cap - have);
		char *s = buf, *end, *nl;

		progress(&pg, fd, n, r->lines);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		end = buf + have + n;
		while ((nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
			if (skipping) {
				skipping = 0;
			} else {
				feed(r, p, s, (size_t)(nl - s));
			}
			s = nl + 1;
		}
		have = (size_t)(end - s);
		if (n == 0) {
			if (have > 0 && !skipping)
				feed(r, p, s, have);
			break;
		}
		if (have > BC_PARSE_LINE_MAX + 1) {
			/* over-long line: count it once, drop to its newline */
			if (!skipping) {
				r->lines++;
				r->malformed++;
				skipping = 1;
			}
			have = 0;
			continue;
		}
		memmove(buf, s, have);
	}
	free(buf);
	return 0;
}

/* ---- output -------------------------------------------------------- */

static const char *fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const struct rec *key_of(const struct replay *r, const struct rec *a)
{
	struct bc_addr k = ban_key(r, &a->addr);

	return table_find(&r->keys, &k);
}

static void print_json(const struct replay *r, struct rec **v)
{
	char file[512], a[BC_ADDR_STRLEN], t1[32], t2[32];
	size_t i;
	int k;

	bc_json_escape(file, sizeof(file), r->path, strlen(r->path));
	printf("{\"file\": \"%s\", \"format\": \"%s\",\n", file,
	       bc_format_name(r->fmt));
	printf(" \"lines\": %" PRIu64 ", \"matched\": %" PRIu64
	       ", \"ignored\": %" PRIu64 ", \"malformed\": %" PRIu64 ",\n",
	       r->lines, r->matched, r->ignored, r->malformed);
	printf(" \"events\": {");
	for (k = 1; k <= BC_KIND_MAX; k++)
		printf("%s\"%s\": %" PRIu64, k > 1 ? ", " : "",
		       bc_kind_name((enum bc_kind)k), r->events[k]);
	printf("},\n");
	printf(" \"policy\": {\"maxretry\": %g, \"findtime_s\": %lld, "
	       "\"bantime_s\": %lld, \"ipv6_prefix\": %u, \"weights\": "
	       "{\"auth_fail\": %g, \"sender_violation\": %g, \"auth_abort\": %g, "
	       "\"auth_success\": %g}, \"allow\": [\"127.0.0.0/8\", \"::1\"]},\n",
	       r->cfg.maxretry, (long long)(r->cfg.findtime_ms / 1000),
	       POL_BANTIME_S, r->cfg.ipv6_prefix,
	       r->cfg.weight[BC_KIND_AUTH_FAIL], r->cfg.weight[BC_KIND_SENDER_VIOLATION],
	       r->cfg.weight[BC_KIND_AUTH_ABORT], r->cfg.weight[BC_KIND_AUTH_SUCCESS]);
	printf(" \"addresses\": [");
	for (i = 0; i < r->addrs.n; i++) {
		const struct rec *x = v[i], *g = key_of(r, x);
		int ban = !x->allowed && g != NULL && g->bans > 0;

		printf("%s\n  {\"address\": \"%s\", \"events\": {", i ? "," : "",
		       bc_addr_format(&x->addr, a, sizeof(a)));
		for (k = 1; k <= BC_KIND_MAX; k++)
			printf("%s\"%s\": %" PRIu64, k > 1 ? ", " : "",
			       bc_kind_name((enum bc_kind)k), x->n[k]);
		printf("}, \"allowed\": %s, \"would_ban\": %s",
		       x->allowed ? "true" : "false", ban ? "true" : "false");
		if (ban) {
			struct bc_addr kk = ban_key(r, &x->addr);

			printf(", \"ban_prefix\": \"%s\", \"bans\": %u",
			       bc_addr_format(&kk, a, sizeof(a)), g->bans);
		}
		printf("}");
	}
	printf("%s],\n \"bans\": [", r->addrs.n ? "\n " : "");
	for (i = 0; i < r->nbans; i++)
		printf("%s\n  {\"prefix\": \"%s\", \"time\": \"%s\", \"time_ms\": %" PRId64
		       ", \"until\": \"%s\", \"score\": %g}",
		       i ? "," : "", bc_addr_format(&r->bans[i].prefix, a, sizeof(a)),
		       fmt_time(r->bans[i].at, t1, sizeof(t1)), r->bans[i].at,
		       fmt_time(r->bans[i].until, t2, sizeof(t2)),
		       r->bans[i].score);
	printf("%s],\n \"untracked_events\": %" PRIu64 "}\n",
	       r->nbans ? "\n " : "", r->untracked);
}

static void print_text(const struct replay *r, struct rec **v)
{
	char file[256], a[BC_ADDR_STRLEN], t1[32], t2[32];
	size_t i;

	bc_escape(file, sizeof(file), r->path, strlen(r->path));
	printf("replay of %s (format %s)\n", file, bc_format_name(r->fmt));
	printf("lines %" PRIu64 "  matched %" PRIu64 "  ignored %" PRIu64
	       "  malformed %" PRIu64 "\n",
	       r->lines, r->matched, r->ignored, r->malformed);
	printf("events: auth_fail %" PRIu64 "  sender_violation %" PRIu64
	       "  auth_abort %" PRIu64 "  auth_success %" PRIu64 "\n",
	       r->events[BC_KIND_AUTH_FAIL], r->events[BC_KIND_SENDER_VIOLATION],
	       r->events[BC_KIND_AUTH_ABORT], r->events[BC_KIND_AUTH_SUCCESS]);
	printf("policy: maxretry %g in %lldm, auth_abort counts %g, IPv6 per /%u,"
	       " allow %s\n\n",
	       r->cfg.maxretry, (long long)(r->cfg.findtime_ms / 60000),
	       r->cfg.weight[BC_KIND_AUTH_ABORT], r->cfg.ipv6_prefix, POL_ALLOW);
	if (r->addrs.n == 0) {
		printf("no events\n");
		return;
	}
	printf("%-39s %9s %9s %9s %9s  %s\n", "ADDRESS", "AUTH_FAIL",
	       "SENDER", "ABORT", "SUCCESS", "VERDICT");
	for (i = 0; i < r->addrs.n; i++) {
		const struct rec *x = v[i], *g = key_of(r, x);
		const char *verdict = "-";
		char vb[80];

		if (x->allowed) {
			verdict = "allowed";
		} else if (g != NULL && g->bans > 0) {
			struct bc_addr kk = ban_key(r, &x->addr);

			if (kk.plen != bc_addr_maxlen(&kk)) {
				snprintf(vb, sizeof(vb), "ban %s",
					 bc_addr_format(&kk, t1, sizeof(t1)));
				verdict = vb;
			} else {
				verdict = "ban";
			}
		}
		printf("%-39s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64
		       "  %s\n",
		       bc_addr_format(&x->addr, a, sizeof(a)),
		       x->n[BC_KIND_AUTH_FAIL], x->n[BC_KIND_SENDER_VIOLATION],
		       x->n[BC_KIND_AUTH_ABORT], x->n[BC_KIND_AUTH_SUCCESS], verdict);
	}
	printf("\n%zu ban%s would be made\n", r->nbans, r->nbans == 1 ? "" : "s");
	for (i = 0; i < r->nbans; i++)
		printf("  %-39s at %s until %s (%g events in %lldm)\n",
		       bc_addr_format(&r->bans[i].prefix, a, sizeof(a)),
		       fmt_time(r->bans[i].at, t1, sizeof(t1)),
		       fmt_time(r->bans[i].until, t2, sizeof(t2)),
		       r->bans[i].score, (long long)(r->cfg.findtime_ms / 60000));
	if (r->untracked)
		printf("%" PRIu64 " events from addresses past the %u-address"
		       " limit were counted but not tracked\n",
		       r->untracked, REPLAY_ADDRS_MAX);
}

/* ---- main ---------------------------------------------------------- */

static int usage_error(const char *what, const char *val)
{
	char esc[128];

	if (val != NULL) {
		bc_escape(esc, sizeof(esc), val, strlen(val));
		fprintf(stderr, "replay: %s \"%s\"\n", what, esc);
	} else {
		fprintf(stderr, "replay: %s\n", what);
	}
	return REPLAY_EXIT_USAGE;
}

int bc_replay_main(int argc, char **argv)
{
	struct replay r;
	struct bc_parser *p = NULL;
	struct rec **v = NULL;
	char err[128];
	int i, fd = -1, rc = 0;

	memset(&r, 0, sizeof(r));
	r.fmt = BC_FMT_AUTO;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0) {
			r.json = 1;
		} else if (strcmp(a, "--format") == 0 ||
			   strncmp(a, "--format=", 9) == 0) {
			const char *v0 = a[8] == '=' ? a + 9 : NULL;

			if (v0 == NULL) {
				if (i + 1 >= argc)
					return usage_error("--format needs a value", NULL);
				v0 = argv[++i];
			}
			if (bc_format_parse(v0, &r.fmt) < 0)
				return usage_error("--format: expected auto, postfix, "
						   "exim, sendmail or dovecot, got",
						   v0);
		} else if (strcmp(a, "--") == 0 && i + 1 < argc && r.path == NULL &&
			   i + 2 == argc) {
			r.path = argv[++i];
		} else if (a[0] == '-' && a[1] != '\0') {
			return usage_error("unknown option", a);
		} else if (r.path == NULL) {
			r.path = a;
		} else {
			return usage_error("more than one FILE:", a);
		}
	}
	if (r.path == NULL)
		return usage_error("FILE is required (\"-\" reads stdin); usage: replay [--format FMT] FILE [--json]", NULL);
	if (strcmp(r.path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(r.path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			char esc[256];

			bc_escape(esc, sizeof(esc), r.path, strlen(r.path));
			fprintf(stderr, "replay: %s: %s\n", esc, strerror(errno));
			return REPLAY_EXIT_READ;
		}
	}
	bc_policy_cfg_defaults(&r.cfg);
	r.cfg.max_tracked = REPLAY_ADDRS_MAX;
	r.cfg.allow = &r.allow;
	if (bc_addr_list_parse(&r.allow, POL_ALLOW, err, sizeof(err)) < 0 ||
	    (r.pol = bc_policy_new(&r.cfg)) == NULL ||
	    (p = bc_parser_new(r.fmt)) == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		rc = REPLAY_EXIT_READ;
		goto out;
	}
	if (read_lines(&r, p, fd) < 0) {
		char esc[256];
		int e = errno;

		bc_escape(esc, sizeof(esc), r.path, strlen(r.path));
		fprintf(stderr, "replay: %s: %s\n", esc, strerror(e));
		rc = REPLAY_EXIT_READ;
		goto out;
	}
	v = table_sorted(&r.addrs);
	if (v == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		rc = REPLAY_EXIT_READ;
		goto out;
	}
	if (r.json)
		print_json(&r, v);
	else
		print_text(&r, v);
	if (fflush(stdout) != 0)
		rc = REPLAY_EXIT_READ;
out:
	if (fd > STDIN_FILENO)
		close(fd);
	free(v);
	bc_parser_free(&p);
	table_free(&r.addrs);
	table_free(&r.keys);
	free(r.bans);
	bc_policy_free(&r.pol);
	bc_addr_list_free(&r.allow);
	return rc;
}
