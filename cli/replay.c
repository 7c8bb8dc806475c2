/*
 * replay.c - dry run of the log parsers and a ban policy over a log file.
 *
 *   bancluster replay [--format FMT] [--config INI] [--max-addresses N]
 *                     [--print-matched|--print-missed] FILE [--json]
 *                                                      (FILE "-" = stdin)
 *
 * Reads the file line by line (lines over BC_PARSE_LINE_MAX are skipped to
 * their end and counted as malformed, never buffered whole), feeds every
 * line to one parser, and runs a policy over the events in file order:
 *   - without --config, the coordinator's defaults (maxretry 5 within
 *     findtime 10m, weights 1 / 1 / 0.5, a successful login clears the
 *     key's auth_abort weight, IPv6 per /64, allow 127.0.0.0/8 and ::1,
 *     bantime 3h doubled per repeat within 7d, at most 24h);
 *   - with --config coordinator.ini, its [policy] (allow_file included),
 *     exactly as bc_coord_policy_cfg makes it for the coordinator;
 *   - with --config agent.ini, its [local] policy (bc_agent_local_policy_cfg,
 *     as the agent runs it when alone) and its [detect] reasons
 *     (site_reasons below).
 * The policy is common/policy.c in every case.
 *
 * Untrusted: the file. Nothing from it is printed but counts, addresses
 * formatted from their binary form, times, and with --print-* the lines
 * themselves, escaped (bc_escape: control bytes, '\\' and '"' as \xHH).
 * The file name (ours) is escaped anyway. Memory: one record per distinct
 * address, at most max_addrs (events of further addresses are counted
 * and still reach the policy, whose own table is bounded and evicts), and
 * one per banned key.
 */
#include "cli/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/agent.h"
#include "logparse/parse.h"
#include "common/clock.h"
#include "common/addr.h"
#include "common/log.h"
#include "common/policy.h"
#include "cli/replay_site.h"

#define REPLAY_EXIT_USAGE 64
#define REPLAY_EXIT_READ 1
#define REPLAY_EXIT_CONFIG 78
#define REPLAY_READ_CHUNK 65536
#define REPLAY_ADDRS_MAX (1u << 20)   /* default --max-addresses */
#define REPLAY_ADDRS_LIMIT (1u << 26) /* highest --max-addresses */
#define REPLAY_KEYS_MAX (1u << 22)    /* banned keys remembered */
#define REPLAY_OFFENCES_MAX 16        /* ban times kept per key */
#define REPLAY_ESC_MAX (4 * BC_PARSE_LINE_MAX + 1) /* every byte as \xHH */
#define REPLAY_TEXT_LIST_MAX 8        /* allow entries shown in the text */
#define REPLAY_ADDR_TEXT_MAX 45       /* longest address text (IPv6) */
#define REPLAY_SECTION_MAX 64         /* longest [section] name looked at */
/*
 * The coordinator's defaults (DESIGN.md, Decisions): the counting itself
 * is common/policy.c with bc_policy_cfg_defaults, as on the coordinator;
 * the ban durations are the coordinator's [policy] defaults.
 */
#define POL_BANTIME_S (3LL * 3600)
#define POL_BANTIME_FACTOR 2.0
#define POL_BANTIME_MAX_S (24LL * 3600)
#define POL_RECIDIVE_S (7LL * 86400)
#define POL_ALLOW "127.0.0.0/8, ::1"

enum print_mode { PRINT_NONE, PRINT_MATCHED, PRINT_MISSED };

/* One per address with an event (the table's records start with addr). */
struct rec {
	struct bc_addr addr;
	uint64_t n[BC_KIND_MAX + 1];
	int allowed;
};

/* One per banned key (/32, /128 or /ipv6_prefix). */
struct key {
	struct bc_addr addr;
	unsigned bans;
	int64_t banned_until;
	int64_t offence[REPLAY_OFFENCES_MAX]; /* ring of ban times */
};

struct table {
	void **slot; /* records whose first member is a struct bc_addr */
	size_t cap, n, size;
};

struct ban {
	struct bc_addr prefix;
	int64_t at, until;
	double score; /* weighted events in findtime when it fired */
};

struct replay {
	enum bc_format fmt;
	int json;
	enum print_mode print;
	size_t max_addrs;
	const char *path;
	uint64_t lines, matched, ignored, malformed, untracked, refused;
	uint64_t events[BC_KIND_MAX + 1];
	int64_t last_t;
	struct bc_addr_list allow;  /* the defaults' allow list */
	struct bc_replay_site site;
	struct bc_policy_cfg cfg;
	struct bc_policy *pol;
	struct table addrs, keys;
	struct ban *bans;
	size_t nbans, capbans;
	char *esc;                  /* --print-*: one escaped line */
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

static const struct bc_addr *slot_addr(const struct table *t, size_t j)
{
	return (const struct bc_addr *)t->slot[j];
}

static int table_grow(struct table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 1024, i;
	void **ns = calloc(ncap, sizeof(*ns));

	if (ns == NULL)
		return -1;
	for (i = 0; i < t->cap; i++) {
		size_t j;

		if (t->slot[i] == NULL)
			continue;
		for (j = addr_hash(slot_addr(t, i)) & (ncap - 1); ns[j] != NULL;
		     j = (j + 1) & (ncap - 1))
			;
		ns[j] = t->slot[i];
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
	return 0;
}

/* Slot of a, or the empty slot where it would go (t->cap > 0). */
static size_t table_probe(const struct table *t, const struct bc_addr *a)
{
	size_t j;

	for (j = addr_hash(a) & (t->cap - 1); t->slot[j] != NULL;
	     j = (j + 1) & (t->cap - 1))
		if (bc_addr_equal(slot_addr(t, j), a))
			break;
	return j;
}

static void *table_find(const struct table *t, const struct bc_addr *a)
{
	return t->cap == 0 ? NULL : t->slot[table_probe(t, a)];
}

/*
 * Find or add. A new record is made only while the table holds fewer
 * than max (checked on every insert, not only when the table grows).
 * NULL when a is new and the table is full, or out of memory.
 */
static void *table_get(struct table *t, const struct bc_addr *a, size_t max)
{
	size_t j;

	if (t->cap > 0) {
		j = table_probe(t, a);
		if (t->slot[j] != NULL)
			return t->slot[j];
	}
	if (t->n >= max)
		return NULL;
	if ((t->n + 1) * 4 > t->cap * 3 && table_grow(t) < 0)
		return NULL;
	j = table_probe(t, a);
	t->slot[j] = calloc(1, t->size);
	if (t->slot[j] == NULL)
		return NULL;
	memcpy(t->slot[j], a, sizeof(*a));
	t->n++;
	return t->slot[j];
}

static void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	t->slot = NULL;
	t->cap = t->n = 0;
}

static int cmp_rec(const void *x, const void *y)
{
	return bc_addr_cmp(&(*(struct rec *const *)x)->addr,
			   &(*(struct rec *const *)y)->addr);
}

/* Records of the address table in address order (caller frees). */
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

/* Earlier bans of the key since `since` (the recidive window). */
static unsigned offences(const struct key *g, int64_t since)
{
	unsigned i, n = 0, kept = g->bans < REPLAY_OFFENCES_MAX
					   ? g->bans
					   : REPLAY_OFFENCES_MAX;

	for (i = 0; i < kept; i++)
		if (g->offence[i] >= since)
			n++;
	return n;
}

/*
 * The policy over this log as if one host reported it; a key already
 * banned sends nothing more (the firewall drops it). Escalation counts
 * the earlier bans of this replay within the recidive window. Every event
 * reaches this, whether or not its address is listed.
 */
static void policy(struct replay *r, const struct bc_event *ev)
{
	struct bc_addr k = ban_key(r, &ev->addr);
	struct bc_policy_event pe;
	struct bc_policy_hit hit;
	struct key *g;
	int64_t t = ev->time_ms ? ev->time_ms : r->last_t, len;
	unsigned off = 0;

	if (ev->time_ms)
		r->last_t = ev->time_ms;
	g = table_find(&r->keys, &k);
	if (g != NULL && t < g->banned_until)
		return;
	memset(&pe, 0, sizeof(pe));
	pe.time_ms = t;
	pe.kind = ev->kind;
	pe.addr = ev->addr;
	if (bc_policy_event(r->pol, &pe, t, &hit) != BC_POLICY_BAN)
		return;
	if (r->site.overlap && bc_addr_list_overlaps(r->site.allow, &k)) {
		r->refused++; /* the coordinator: "it overlaps the allow list" */
		return;
	}
	if (g == NULL)
		g = table_get(&r->keys, &k, REPLAY_KEYS_MAX);
	if (g != NULL)
		off = offences(g, t - r->site.recidive_ms);
	len = bc_policy_bantime(r->site.bantime_s, r->site.factor,
				r->site.bantime_max_s, off) * 1000;
	if (g != NULL) {
		g->offence[g->bans % REPLAY_OFFENCES_MAX] = t;
		g->bans++;
		g->banned_until = t + len;
	}
	(void)add_ban(r, &k, t, t + len, hit.score);
}

static void on_event(struct replay *r, const struct bc_event *ev)
{
	struct rec *a;

	if (ev->kind < 1 || ev->kind > BC_KIND_MAX)
		return;
	r->events[ev->kind]++;
	a = table_get(&r->addrs, &ev->addr, r->max_addrs);
	if (a != NULL)
		a->n[ev->kind]++;
	else
		r->untracked++;
	if (bc_addr_list_match(r->site.allow, &ev->addr)) {
		if (a != NULL)
			a->allowed = 1;
		return;
	}
	policy(r, ev);
}

/* ---- reading --------------------------------------------------------- */

/*
 * Does the line name an address the way the MTAs write a client's:
 * "[ADDR]" (Postfix name[addr], Exim and Sendmail [addr], "IPv6:" allowed)
 * or "rip=ADDR"? A cheap superset for --print-missed: any such address,
 * the server's own or a relay's included, wherever it is in the line.
 */
static bool names_address(const char *s, size_t len)
{
	const char *p = s, *end = s + len, *q;
	struct bc_addr a;

	while ((q = memchr(p, '[', (size_t)(end - p))) != NULL) {
		const char *b = q + 1, *rb;
		size_t room = (size_t)(end - b);

		if (room > REPLAY_ADDR_TEXT_MAX + 6)
			room = REPLAY_ADDR_TEXT_MAX + 6;
		rb = memchr(b, ']', room);
		if (rb != NULL) {
			if (rb - b > 5 && (memcmp(b, "IPv6:", 5) == 0 ||
					   memcmp(b, "ipv6:", 5) == 0))
				b += 5;
			if (bc_addr_parse_host(&a, b, (size_t)(rb - b)) == 0)
				return true;
		}
		p = q + 1;
	}
	for (p = s; (q = memmem(p, (size_t)(end - p), "rip=", 4)) != NULL;
	     p = q + 4) {
		const char *b = q + 4, *e = b;

		while (e < end && e - b <= REPLAY_ADDR_TEXT_MAX && *e != ',' &&
		       *e != ' ' && *e != ';' && *e != ')')
			e++;
		if (bc_addr_parse_host(&a, b, (size_t)(e - b)) == 0)
			return true;
	}
	return false;
}

/* One line on stdout, escaped: it is attacker text. */
static void print_line(struct replay *r, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--; /* the parser ignores a CRLF's CR too */
	bc_escape(r->esc, REPLAY_ESC_MAX, line, len);
	fputs(r->esc, stdout);
	putchar('\n');
}

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
	if (r->print != PRINT_NONE &&
	    (r->print == PRINT_MATCHED ? res == BC_PARSE_MATCH
				       : res != BC_PARSE_MATCH &&
						 names_address(line, len)))
		print_line(r, line, len);
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
		pg->start_ms = bc_mono_ms();
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
	now = bc_mono_ms();
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
	/* no progress line among the lines --print-* writes to a terminal */
	struct progress pg = {.state = r->print != PRINT_NONE ? -1 : 0};
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

static const struct key *key_of(const struct replay *r, const struct rec *a)
{
	struct bc_addr k = ban_key(r, &a->addr);

	return table_find(&r->keys, &k);
}

static const char *role_name(enum bc_replay_role role)
{
	return role == BC_REPLAY_COORDINATOR ? "coordinator"
	       : role == BC_REPLAY_AGENT	? "agent"
					: "defaults";
}

/* ["a", "b"] of a list, for JSON. */
static void print_json_list(const struct bc_addr_list *l)
{
	char a[BC_ADDR_STRLEN];
	size_t i;

	printf("[");
	for (i = 0; l != NULL && i < l->n; i++)
		printf("%s\"%s\"", i ? ", " : "",
		       bc_addr_format(&l->v[i], a, sizeof(a)));
	printf("]");
}

static void print_json_policy(const struct replay *r)
{
	const struct bc_policy_cfg *c = &r->cfg;
	char file[1024];

	if (r->site.role == BC_REPLAY_DEFAULT) {
		/* the exact text of every replay before --config */
		printf(" \"policy\": {\"maxretry\": %g, \"findtime_s\": %lld, "
		       "\"bantime_s\": %lld, \"ipv6_prefix\": %u, \"weights\": "
		       "{\"auth_fail\": %g, \"sender_violation\": %g, \"auth_abort\": %g, "
		       "\"auth_success\": %g}, \"allow\": [\"127.0.0.0/8\", \"::1\"]},\n",
		       c->maxretry, (long long)(c->findtime_ms / 1000),
		       (long long)r->site.bantime_s, c->ipv6_prefix,
		       c->weight[BC_KIND_AUTH_FAIL], c->weight[BC_KIND_SENDER_VIOLATION],
		       c->weight[BC_KIND_AUTH_ABORT], c->weight[BC_KIND_AUTH_SUCCESS]);
		return;
	}
	bc_json_escape(file, sizeof(file), r->site.path, strlen(r->site.path));
	printf(" \"policy\": {\"config\": \"%s\", \"role\": \"%s\", "
	       "\"maxretry\": %g, \"findtime_s\": %lld, \"bantime_s\": %lld, "
	       "\"bantime_factor\": %g, \"bantime_max_s\": %lld, "
	       "\"recidive_window_s\": %lld, \"ipv6_prefix\": %u, "
	       "\"min_hosts\": %u, \"max_tracked\": %zu, \"weights\": "
	       "{\"auth_fail\": %g, \"sender_violation\": %g, \"auth_abort\": %g, "
	       "\"auth_success\": %g}, \"allow\": ",
	       file, role_name(r->site.role), c->maxretry,
	       (long long)(c->findtime_ms / 1000), (long long)r->site.bantime_s,
	       r->site.factor, (long long)r->site.bantime_max_s,
	       (long long)(r->site.recidive_ms / 1000), c->ipv6_prefix,
	       r->site.min_hosts, c->max_tracked, c->weight[BC_KIND_AUTH_FAIL],
	       c->weight[BC_KIND_SENDER_VIOLATION], c->weight[BC_KIND_AUTH_ABORT],
	       c->weight[BC_KIND_AUTH_SUCCESS]);
	print_json_list(r->site.allow);
	printf(", \"nat64_prefixes\": [\"%s\"%s", BC_ADDR_NAT64_WKP,
	       r->site.nat64 != NULL && r->site.nat64->n ? ", " : "");
	if (r->site.nat64 != NULL && r->site.nat64->n) {
		char a[BC_ADDR_STRLEN];
		size_t i;

		for (i = 0; i < r->site.nat64->n; i++)
			printf("%s\"%s\"", i ? ", " : "",
			       bc_addr_format(&r->site.nat64->v[i], a, sizeof(a)));
	}
	printf("]},\n");
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
	print_json_policy(r);
	printf(" \"addresses\": [");
	for (i = 0; i < r->addrs.n; i++) {
		const struct rec *x = v[i];
		const struct key *g = key_of(r, x);
		int ban = !x->allowed && g != NULL && g->bans > 0;

		printf("%s\n  {\"address\": \"%s\", \"events\": {", i ? "," : "",
		       bc_addr_format(&x->addr, a, sizeof(a)));
		for (k = 1; k <= BC_KIND_MAX; k++)
			printf("%s\"%s\": %" PRIu64, k > 1 ? ", " : "",
			       bc_kind_name((enum bc_kind)k), x->n[k]);
		printf("}, \"allowed\": %s, \"would_ban\": %s",
		       x->allowed ? "true" : "false", ban ? "true" : "false");
		if (ban)
			printf(", \"ban_prefix\": \"%s\", \"bans\": %u",
			       bc_addr_format(&g->addr, a, sizeof(a)), g->bans);
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
	printf("%s],\n \"untracked_events\": %" PRIu64, r->nbans ? "\n " : "",
	       r->untracked);
	if (r->site.role != BC_REPLAY_DEFAULT)
		printf(", \"bans_refused_by_allow\": %" PRIu64, r->refused);
	printf("}\n");
}

/* "127.0.0.0/8, ::1" (at most REPLAY_TEXT_LIST_MAX entries, then "+N"). */
static void print_text_list(const struct bc_addr_list *l)
{
	char a[BC_ADDR_STRLEN];
	size_t i;

	if (l == NULL || l->n == 0) {
		printf("none");
		return;
	}
	for (i = 0; i < l->n && i < REPLAY_TEXT_LIST_MAX; i++)
		printf("%s%s", i ? ", " : "", bc_addr_format(&l->v[i], a, sizeof(a)));
	if (l->n > REPLAY_TEXT_LIST_MAX)
		printf(" and %zu more", l->n - REPLAY_TEXT_LIST_MAX);
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
	if (r->site.role != BC_REPLAY_DEFAULT) {
		bc_escape(file, sizeof(file), r->site.path, strlen(r->site.path));
		printf("policy of %s (%s%s): ", file, role_name(r->site.role),
		       r->site.role == BC_REPLAY_AGENT ? " [local]" : " [policy]");
	} else {
		printf("policy: ");
	}
	printf("maxretry %g in %lldm, auth_abort counts %g, IPv6 per /%u,"
	       " allow ",
	       r->cfg.maxretry, (long long)(r->cfg.findtime_ms / 60000),
	       r->cfg.weight[BC_KIND_AUTH_ABORT], r->cfg.ipv6_prefix);
	print_text_list(r->site.allow);
	if (r->site.nat64 != NULL && r->site.nat64->n > 0) {
		printf(", NAT64 per address in %s, ", BC_ADDR_NAT64_WKP);
		print_text_list(r->site.nat64);
	}
	printf("\n");
	if (r->site.min_hosts > 1)
		printf("note: min_hosts %u: one log is one host, so no rule ban "
		       "can fire\n", r->site.min_hosts);
	printf("\n");
	if (r->addrs.n == 0) {
		printf("no events\n");
		return;
	}
	printf("%-39s %9s %9s %9s %9s  %s\n", "ADDRESS", "AUTH_FAIL",
	       "SENDER", "ABORT", "SUCCESS", "VERDICT");
	for (i = 0; i < r->addrs.n; i++) {
		const struct rec *x = v[i];
		const struct key *g = key_of(r, x);
		const char *verdict = "-";
		char vb[80];

		if (x->allowed) {
			verdict = "allowed";
		} else if (g != NULL && g->bans > 0) {
			if (g->addr.plen != bc_addr_maxlen(&g->addr)) {
				snprintf(vb, sizeof(vb), "ban %s",
					 bc_addr_format(&g->addr, t1, sizeof(t1)));
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
	if (r->refused)
		printf("%" PRIu64 " ban%s not made: the key overlaps the allow list\n",
		       r->refused, r->refused == 1 ? "" : "s");
	if (r->untracked)
		printf("%" PRIu64 " events of addresses past the first %zu are in "
		       "the counts and the bans above, but not listed\n",
		       r->untracked, r->max_addrs);
}

/* ---- site configuration ------------------------------------------- */

/*
 * agent.ini or coordinator.ini? The first section header that only one
 * of them has decides: [coordinator], [policy], [cluster] or [agent],
 * [firewall], [local], [detect], [source.NAME].
 */
static int config_role(const char *path, enum bc_replay_role *role, char *err,
		       size_t errlen)
{
	static const char *const coord[] = {"coordinator", "policy", "cluster", NULL};
	static const char *const agent[] = {"agent", "firewall", "local",
					    "detect", NULL};
	char line[512];
	FILE *f = fopen(path, "r");
	size_t i;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s = line, *e;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '[' || (e = strchr(s, ']')) == NULL ||
		    e - s - 1 > REPLAY_SECTION_MAX)
			continue;
		*e = '\0';
		s++;
		for (i = 0; coord[i] != NULL; i++)
			if (strcmp(s, coord[i]) == 0) {
				*role = BC_REPLAY_COORDINATOR;
				fclose(f);
				return 0;
			}
		for (i = 0; agent[i] != NULL; i++)
			if (strcmp(s, agent[i]) == 0 ||
			    strncmp(s, "source.", 7) == 0) {
				*role = BC_REPLAY_AGENT;
				fclose(f);
				return 0;
			}
	}
	fclose(f);
	snprintf(err, errlen,
		 "%s: neither an agent.ini ([agent], [local], ...) nor a "
		 "coordinator.ini ([coordinator], [policy], ...)",
		 path);
	return -1;
}

/*
 * The site's [detect] settings (extra sender-violation reasons, Dovecot
 * auth-process lines) for replay's parser: an agent.ini's, as its agent
 * would run them; the defaults for a coordinator.ini or no --config.
 */
static int site_reasons(const struct bc_replay_site *s, struct bc_parser *p,
			char *err, size_t errlen)
{
	const struct bc_agent_cfg *cfg = s->agent;

	if (s->role != BC_REPLAY_AGENT || cfg == NULL)
		return 0;
	if (bc_parser_set_detect(p, &cfg->detect) < 0) {
		snprintf(err, errlen, "%s: [detect]: too many or too long reasons",
			 s->path);
		return -1;
	}
	return 0;
}

/* The defaults, or the policy of --config. Returns 0 or -1 with err. */
static int site_load(struct replay *r, const char *config, char *err,
		     size_t errlen)
{
	struct bc_replay_site *s = &r->site;

	s->path = config;
	s->role = BC_REPLAY_DEFAULT;
	if (config == NULL) {
		bc_policy_cfg_defaults(&r->cfg);
		r->cfg.max_tracked = REPLAY_ADDRS_MAX;
		if (bc_addr_list_parse(&r->allow, POL_ALLOW, err, errlen) < 0)
			return -1;
		r->cfg.allow = &r->allow;
		s->bantime_s = POL_BANTIME_S;
		s->factor = POL_BANTIME_FACTOR;
		s->bantime_max_s = POL_BANTIME_MAX_S;
		s->recidive_ms = POL_RECIDIVE_S * 1000;
		s->overlap = true;
	} else {
		if (config_role(config, &s->role, err, errlen) < 0)
			return -1;
		if (s->role == BC_REPLAY_COORDINATOR) {
			if (bc_replay_site_coord(s, &r->cfg, err, errlen) < 0)
				return -1;
		} else {
			struct bc_agent_cfg *ac = calloc(1, sizeof(*ac));

			if (ac == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			if (bc_agent_load_config(ac, config, err, errlen) < 0) {
				bc_agent_free_config(ac);
				free(ac);
				return -1;
			}
			s->agent = ac;
			bc_agent_local_policy_cfg(ac, &r->cfg);
			/* local bans: fixed length, no escalation, no overlap test */
			s->bantime_s = ac->local_bantime;
			s->factor = 1;
			s->bantime_max_s = ac->local_bantime;
			s->recidive_ms = 0;
			s->overlap = false;
		}
	}
	s->allow = r->cfg.allow;
	s->nat64 = r->cfg.nat64;
	s->min_hosts = r->cfg.min_hosts;
	return 0;
}

static void site_free(struct bc_replay_site *s)
{
	bc_replay_site_coord_free(s);
	if (s->agent != NULL) {
		bc_agent_free_config((struct bc_agent_cfg *)s->agent);
		free(s->agent);
		s->agent = NULL;
	}
}

/* ---- main ---------------------------------------------------------- */

#define REPLAY_USAGE                                                         \
	"usage: replay [--format FMT] [--config INI] [--max-addresses N] "   \
	"[--print-matched|--print-missed] FILE [--json]"

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

/* --opt VALUE or --opt=VALUE; NULL (after argv[i]) when there is none. */
static const char *opt_value(int argc, char **argv, int *i, size_t optlen)
{
	const char *a = argv[*i];

	if (a[optlen] == '=')
		return a + optlen + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static bool is_opt(const char *a, const char *opt)
{
	size_t n = strlen(opt);

	return strncmp(a, opt, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

/* Strict decimal in [1, max]. */
static int parse_count(const char *s, size_t max, size_t *out)
{
	size_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > max)
			return -1;
		v = v * 10 + (size_t)(*s - '0');
	}
	if (v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

int bc_replay_main(int argc, char **argv)
{
	struct replay r;
	struct bc_parser *p = NULL;
	struct rec **v = NULL;
	const char *config = NULL;
	char err[768];
	int i, fd = -1, rc = 0;

	memset(&r, 0, sizeof(r));
	r.fmt = BC_FMT_AUTO;
	r.max_addrs = REPLAY_ADDRS_MAX;
	r.addrs.size = sizeof(struct rec);
	r.keys.size = sizeof(struct key);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val;

		if (strcmp(a, "--json") == 0) {
			r.json = 1;
		} else if (is_opt(a, "--format")) {
			if ((val = opt_value(argc, argv, &i, 8)) == NULL)
				return usage_error("--format needs a value", NULL);
			if (bc_format_parse(val, &r.fmt) < 0)
				return usage_error("--format: expected auto, postfix, "
						   "exim, sendmail or dovecot, got",
						   val);
		} else if (is_opt(a, "--config")) {
			if ((val = opt_value(argc, argv, &i, 8)) == NULL ||
			    *val == '\0')
				return usage_error("--config needs a file "
						   "(agent.ini or coordinator.ini)",
						   NULL);
			if (config != NULL)
				return usage_error("--config given twice:", val);
			config = val;
		} else if (is_opt(a, "--max-addresses")) {
			if ((val = opt_value(argc, argv, &i, 15)) == NULL)
				return usage_error("--max-addresses needs a value", NULL);
			if (parse_count(val, REPLAY_ADDRS_LIMIT, &r.max_addrs) < 0)
				return usage_error("--max-addresses: expected "
						   "1..67108864, got",
						   val);
		} else if (strcmp(a, "--print-matched") == 0 ||
			   strcmp(a, "--print-missed") == 0) {
			enum print_mode m = strcmp(a, "--print-matched") == 0
						 ? PRINT_MATCHED
						 : PRINT_MISSED;

			if (r.print != PRINT_NONE && r.print != m)
				return usage_error("--print-matched and --print-missed "
						   "exclude each other", NULL);
			r.print = m;
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
		return usage_error("FILE is required (\"-\" reads stdin); " REPLAY_USAGE,
				   NULL);
	if (r.json && r.print != PRINT_NONE)
		return usage_error(r.print == PRINT_MATCHED
					   ? "--print-matched prints lines, not JSON: "
					     "drop --json"
					   : "--print-missed prints lines, not JSON: "
					     "drop --json",
				   NULL);
	if (site_load(&r, config, err, sizeof(err)) < 0) {
		fprintf(stderr, "replay: --config %s\n", err);
		rc = REPLAY_EXIT_CONFIG;
		goto out;
	}
	if (strcmp(r.path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(r.path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			char esc[256];

			bc_escape(esc, sizeof(esc), r.path, strlen(r.path));
			fprintf(stderr, "replay: %s: %s\n", esc, strerror(errno));
			rc = REPLAY_EXIT_READ;
			goto out;
		}
	}
	if ((r.pol = bc_policy_new(&r.cfg)) == NULL ||
	    (p = bc_parser_new(r.fmt)) == NULL ||
	    (r.print != PRINT_NONE && (r.esc = malloc(REPLAY_ESC_MAX)) == NULL)) {
		fprintf(stderr, "replay: out of memory\n");
		rc = REPLAY_EXIT_READ;
		goto out;
	}
	if (site_reasons(&r.site, p, err, sizeof(err)) < 0) {
		fprintf(stderr, "replay: --config %s\n", err);
		rc = REPLAY_EXIT_CONFIG;
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
	if (r.print == PRINT_NONE) {
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
	}
	if (fflush(stdout) != 0)
		rc = REPLAY_EXIT_READ;
out:
	if (fd > STDIN_FILENO)
		close(fd);
	free(v);
	free(r.esc);
	bc_parser_free(&p);
	table_free(&r.addrs);
	table_free(&r.keys);
	free(r.bans);
	bc_policy_free(&r.pol);
	bc_addr_list_free(&r.allow);
	site_free(&r.site);
	return rc;
}
