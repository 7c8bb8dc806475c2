/*
 * replay_report.c - the report of `bancluster replay` on stdout
 * (replay_run.h): counts per kind, the policy that ran, every address
 * with its events and verdict, and the bans that would be made, as text
 * for people or as JSON (cli/jout.c; schema bancluster/replay, the shape
 * of DESIGN.md and docs/replay.md; byte for byte stable, scripts
 * compare it).
 *
 * Nothing of the log reaches the report but counts, times and addresses
 * formatted from their binary form; the file and --config names (ours)
 * are escaped anyway (text) or go into JSON as any text does. Kinds print by name from common/event.h, in kind
 * order. Write errors are the caller's (fflush of stdout).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/jout.h"
#include "cli/replay_run.h"
#include "common/log.h"

#define REPLAY_TEXT_LIST_MAX 8        /* allow entries shown in the text */
/* one "addresses" element: two addresses, a count per kind (names under
 * 24 bytes, up to 19 digits) and the fixed text, with room to spare */
#define ITEM_MAX (2 * BC_ADDR_STRLEN + (BC_KIND_MAX + 1) * 56 + 192)

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

static const char *role_name(enum bc_replay_role role)
{
	return role == BC_REPLAY_COORDINATOR ? "coordinator"
	       : role == BC_REPLAY_AGENT	? "agent"
					: "defaults";
}

/* ["a", "b"] of a list, for JSON. */
static void json_list(json_t *o, const char *key, const struct bc_addr_list *l)
{
	json_t *arr = bc_jout_arr(o, key);
	char a[BC_ADDR_STRLEN];
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		bc_jout_push_str(arr, bc_addr_format(&l->v[i], a, sizeof(a)));
}

/* {"auth_fail": N, ...}: a count per kind, in kind order. */
static void json_counts(json_t *o, const char *key, const uint64_t *n)
{
	json_t *c = bc_jout_obj(o, key);
	int k;

	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
		bc_jout_uint(c, bc_kind_name((enum bc_kind)k), n[k]);
}

/* {"auth_fail": 1, ...}: every kind's weight, in kind order. */
static void json_weights(json_t *o, const struct bc_policy_cfg *c)
{
	json_t *w = bc_jout_obj(o, "weights");
	int k;

	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
		bc_jout_num(w, bc_kind_name(k), c->weight[k]);
}

static void json_policy(json_t *d, const struct bc_replay *r)
{
	const struct bc_policy_cfg *c = &r->cfg;
	json_t *p = bc_jout_obj(d, "policy"), *arr;
	char a[BC_ADDR_STRLEN];
	size_t i;

	if (r->site.role == BC_REPLAY_DEFAULT) {
		bc_jout_num(p, "maxretry", c->maxretry);
		bc_jout_int(p, "findtime_s", c->findtime_ms / 1000);
		bc_jout_int(p, "bantime_s", r->site.bantime_s);
		bc_jout_uint(p, "ipv6_prefix", c->ipv6_prefix);
		json_weights(p, c);
		arr = bc_jout_arr(p, "allow");
		bc_jout_push_str(arr, "127.0.0.0/8");
		bc_jout_push_str(arr, "::1");
		return;
	}
	bc_jout_str(p, "config", r->site.path);
	bc_jout_str(p, "role", role_name(r->site.role));
	bc_jout_num(p, "maxretry", c->maxretry);
	bc_jout_int(p, "findtime_s", c->findtime_ms / 1000);
	bc_jout_int(p, "bantime_s", r->site.bantime_s);
	bc_jout_num(p, "bantime_factor", r->site.factor);
	bc_jout_int(p, "bantime_max_s", r->site.bantime_max_s);
	bc_jout_int(p, "recidive_window_s", r->site.recidive_ms / 1000);
	bc_jout_uint(p, "ipv6_prefix", c->ipv6_prefix);
	bc_jout_uint(p, "min_hosts", r->site.min_hosts);
	bc_jout_uint(p, "max_tracked", c->max_tracked);
	json_weights(p, c);
	json_list(p, "allow", r->site.allow);
	arr = bc_jout_arr(p, "nat64_prefixes");
	bc_jout_push_str(arr, BC_ADDR_NAT64_WKP);
	for (i = 0; r->site.nat64 != NULL && i < r->site.nat64->n; i++)
		bc_jout_push_str(arr, bc_addr_format(&r->site.nat64->v[i], a, sizeof(a)));
}

/* A JSON item being formatted (json_item); bounded, see ITEM_MAX. */
struct item {
	char b[ITEM_MAX];
	size_t n;
};

static void put_s(struct item *it, const char *s, size_t n)
{
	if (n > ITEM_MAX - it->n) /* cannot happen: ITEM_MAX has room */
		bc_fatal(1, "--json: an address element over %d bytes", ITEM_MAX);
	memcpy(it->b + it->n, s, n);
	it->n += n;
}
#define PUT_LIT(it, lit) put_s((it), (lit), sizeof(lit) - 1)

/* An unsigned integer, as bc_jout_uint writes it (above INT64_MAX:
 * INT64_MAX). */
static void put_u(struct item *it, uint64_t v)
{
	char d[20];
	size_t k = sizeof(d);

	if (v > INT64_MAX)
		v = INT64_MAX;
	do {
		d[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	put_s(it, d + k, sizeof(d) - k);
}

/* "address" text, as bc_jout_addr writes it (no byte needs an escape). */
static void put_addr(struct item *it, const struct bc_addr *a)
{
	char s[BC_ADDR_STRLEN];

	bc_addr_format(a, s, sizeof(s));
	PUT_LIT(it, "\"");
	put_s(it, s, strlen(s));
	PUT_LIT(it, "\"");
}

/*
 * One element of "addresses", byte for byte what jansson prints for the
 * object {"address", "events" {kind: count, ...}, "allowed", "would_ban"
 * [, "ban_prefix", "bans"]} (jansson's default separators ", " and ": "),
 * without a jansson object per address: the array is most of a large
 * replay's report. Only addresses formatted from binary, the kinds'
 * fixed names and numbers go in (bc_jout_stream_push_raw checks it).
 */
static void json_item(struct item *it, const struct bc_replay_rec *x,
		      const struct bc_replay_key *g, int ban)
{
	int k;

	it->n = 0;
	PUT_LIT(it, "{\"address\": ");
	put_addr(it, &x->addr);
	PUT_LIT(it, ", \"events\": {");
	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++) {
		const char *name = bc_kind_name(k);

		if (k > BC_KIND_FIRST)
			PUT_LIT(it, ", ");
		PUT_LIT(it, "\"");
		put_s(it, name, strlen(name));
		PUT_LIT(it, "\": ");
		put_u(it, x->n[k]);
	}
	PUT_LIT(it, "}, \"allowed\": ");
	if (x->allowed)
		PUT_LIT(it, "true");
	else
		PUT_LIT(it, "false");
	if (!ban) {
		PUT_LIT(it, ", \"would_ban\": false}");
		return;
	}
	PUT_LIT(it, ", \"would_ban\": true, \"ban_prefix\": ");
	put_addr(it, &g->addr);
	PUT_LIT(it, ", \"bans\": ");
	put_u(it, g->bans);
	PUT_LIT(it, "}");
}

/*
 * The document is streamed (jout.h): one address object at a time, so
 * a million addresses never make a million objects in memory.
 */
int bc_replay_print_json(const struct bc_replay *r, struct bc_replay_rec **v)
{
	struct bc_jout_stream st;
	json_t *d = bc_jout_new("replay", BC_REPLAY_JSON_VERSION), *o;
	struct item it;
	size_t i;

	bc_jout_str(d, "file", r->path);
	bc_jout_str(d, "format", bc_format_name(r->fmt));
	bc_jout_uint(d, "lines", r->lines);
	bc_jout_uint(d, "matched", r->matched);
	bc_jout_uint(d, "ignored", r->ignored);
	bc_jout_uint(d, "malformed", r->malformed);
	json_counts(d, "events", r->events);
	json_policy(d, r);
	bc_jout_stream_open(&st, &d);
	bc_jout_stream_array(&st, "addresses");
	for (i = 0; i < r->addrs.n; i++) {
		const struct bc_replay_rec *x = v[i];
		const struct bc_replay_key *g = bc_replay_key_of(r, x);
		int ban = !x->allowed && g != NULL && g->bans > 0;

		json_item(&it, x, g, ban);
		bc_jout_stream_push_raw(&st, it.b, it.n);
	}
	bc_jout_stream_array_close(&st);
	bc_jout_stream_array(&st, "bans");
	for (i = 0; i < r->nbans; i++) {
		o = json_object();
		if (o == NULL)
			bc_fatal(1, "--json: out of memory");
		bc_jout_addr(o, "address", &r->bans[i].prefix);
		bc_jout_time(o, "time", r->bans[i].at);
		bc_jout_time(o, "expires", r->bans[i].until);
		bc_jout_num(o, "score", r->bans[i].score);
		bc_jout_stream_push(&st, &o);
	}
	bc_jout_stream_array_close(&st);
	o = json_object();
	if (o == NULL)
		bc_fatal(1, "--json: out of memory");
	bc_jout_uint(o, "untracked_events", r->untracked);
	if (r->site.role != BC_REPLAY_DEFAULT)
		bc_jout_uint(o, "bans_refused_by_allow", r->refused);
	return bc_jout_stream_close(&st, &o);
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

/* v in decimal, as printf's PRIu64 (d holds 21 bytes at least). */
static void u64_text(char *d, uint64_t v)
{
	char t[20];
	size_t k = sizeof(t), n;

	do {
		t[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	n = sizeof(t) - k;
	memcpy(d, t + k, n);
	d[n] = '\0';
}

/* s left- (right = false) or right-aligned in width columns, as printf's
 * "%-Ns" and "%Ns": never cut. */
static void put_pad(struct item *it, const char *s, size_t width, bool right)
{
	size_t n = strlen(s);
	static const char sp[] = "                                        ";

	if (right && n < width)
		put_s(it, sp, width - n);
	put_s(it, s, n);
	if (!right && n < width)
		put_s(it, sp, width - n);
}

void bc_replay_print_text(const struct bc_replay *r, struct bc_replay_rec **v)
{
	char file[256], a[BC_ADDR_STRLEN], t1[32], t2[32];
	struct item it;
	size_t i;
	int k;

	bc_escape(file, sizeof(file), r->path, strlen(r->path));
	printf("replay of %s (format %s)\n", file, bc_format_name(r->fmt));
	printf("lines %" PRIu64 "  matched %" PRIu64 "  ignored %" PRIu64
	       "  malformed %" PRIu64 "\n",
	       r->lines, r->matched, r->ignored, r->malformed);
	printf("events:");
	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
		printf("%s%s %" PRIu64, k > BC_KIND_FIRST ? "  " : " ",
		       bc_kind_name(k), r->events[k]);
	printf("\n");
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
	/* one column per kind in kind order, headed by a short name: a new
	 * kind needs its heading here */
	_Static_assert(BC_KIND_MAX == 4, "replay's text table: one heading per kind");
	printf("%-39s %9s %9s %9s %9s  %s\n", "ADDRESS", "AUTH_FAIL",
	       "SENDER", "ABORT", "SUCCESS", "VERDICT");
	for (i = 0; i < r->addrs.n; i++) {
		const struct bc_replay_rec *x = v[i];
		const struct bc_replay_key *g = bc_replay_key_of(r, x);

		/* printf's "%-39s", " %9" PRIu64 per kind, "  VERDICT\n",
		 * written by hand: one row per address of a large log */
		it.n = 0;
		bc_addr_format(&x->addr, a, sizeof(a));
		put_pad(&it, a, 39, false);
		for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++) {
			char d[24];

			u64_text(d, x->n[k]);
			PUT_LIT(&it, " ");
			put_pad(&it, d, 9, true);
		}
		PUT_LIT(&it, "  ");
		if (x->allowed) {
			PUT_LIT(&it, "allowed");
		} else if (g != NULL && g->bans > 0) {
			PUT_LIT(&it, "ban");
			if (g->addr.plen != bc_addr_maxlen(&g->addr)) {
				bc_addr_format(&g->addr, a, sizeof(a));
				PUT_LIT(&it, " ");
				put_s(&it, a, strlen(a));
			}
		} else {
			PUT_LIT(&it, "-");
		}
		PUT_LIT(&it, "\n");
		fwrite(it.b, 1, it.n, stdout);
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

