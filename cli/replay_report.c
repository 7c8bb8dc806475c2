/*
 * replay_report.c - the report of `bancluster replay` on stdout
 * (replay_run.h): counts per kind, the policy that ran, every address
 * with its events and verdict, and the bans that would be made, as text
 * for people or as JSON (the shape of DESIGN.md; byte for byte stable,
 * scripts compare it).
 *
 * Nothing of the log reaches the report but counts, times and addresses
 * formatted from their binary form; the file and --config names (ours)
 * are escaped anyway. Kinds print by name from common/event.h, in kind
 * order. Write errors are the caller's (fflush of stdout).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/replay_run.h"
#include "common/log.h"

#define REPLAY_TEXT_LIST_MAX 8        /* allow entries shown in the text */

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

/* {"auth_fail": 1, ...}: every kind's weight, in kind order. */
static void print_json_weights(const struct bc_policy_cfg *c)
{
	int k;

	printf("{");
	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
		printf("%s\"%s\": %g", k > BC_KIND_FIRST ? ", " : "",
		       bc_kind_name(k), c->weight[k]);
	printf("}");
}

static void print_json_policy(const struct bc_replay *r)
{
	const struct bc_policy_cfg *c = &r->cfg;
	char file[1024];

	if (r->site.role == BC_REPLAY_DEFAULT) {
		/* the exact text of every replay before --config */
		printf(" \"policy\": {\"maxretry\": %g, \"findtime_s\": %lld, "
		       "\"bantime_s\": %lld, \"ipv6_prefix\": %u, \"weights\": ",
		       c->maxretry, (long long)(c->findtime_ms / 1000),
		       (long long)r->site.bantime_s, c->ipv6_prefix);
		print_json_weights(c);
		printf(", \"allow\": [\"127.0.0.0/8\", \"::1\"]},\n");
		return;
	}
	bc_json_escape(file, sizeof(file), r->site.path, strlen(r->site.path));
	printf(" \"policy\": {\"config\": \"%s\", \"role\": \"%s\", "
	       "\"maxretry\": %g, \"findtime_s\": %lld, \"bantime_s\": %lld, "
	       "\"bantime_factor\": %g, \"bantime_max_s\": %lld, "
	       "\"recidive_window_s\": %lld, \"ipv6_prefix\": %u, "
	       "\"min_hosts\": %u, \"max_tracked\": %zu, \"weights\": ",
	       file, role_name(r->site.role), c->maxretry,
	       (long long)(c->findtime_ms / 1000), (long long)r->site.bantime_s,
	       r->site.factor, (long long)r->site.bantime_max_s,
	       (long long)(r->site.recidive_ms / 1000), c->ipv6_prefix,
	       r->site.min_hosts, c->max_tracked);
	print_json_weights(c);
	printf(", \"allow\": ");
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

void bc_replay_print_json(const struct bc_replay *r, struct bc_replay_rec **v)
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
	for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
		printf("%s\"%s\": %" PRIu64, k > BC_KIND_FIRST ? ", " : "",
		       bc_kind_name((enum bc_kind)k), r->events[k]);
	printf("},\n");
	print_json_policy(r);
	printf(" \"addresses\": [");
	for (i = 0; i < r->addrs.n; i++) {
		const struct bc_replay_rec *x = v[i];
		const struct bc_replay_key *g = bc_replay_key_of(r, x);
		int ban = !x->allowed && g != NULL && g->bans > 0;

		printf("%s\n  {\"address\": \"%s\", \"events\": {", i ? "," : "",
		       bc_addr_format(&x->addr, a, sizeof(a)));
		for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
			printf("%s\"%s\": %" PRIu64, k > BC_KIND_FIRST ? ", " : "",
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

void bc_replay_print_text(const struct bc_replay *r, struct bc_replay_rec **v)
{
	char file[256], a[BC_ADDR_STRLEN], t1[32], t2[32];
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
		printf("%-39s", bc_addr_format(&x->addr, a, sizeof(a)));
		for (k = BC_KIND_FIRST; k <= BC_KIND_MAX; k++)
			printf(" %9" PRIu64, x->n[k]);
		printf("  %s\n", verdict);
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

