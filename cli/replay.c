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
 *     as the agent runs it when alone) and its [detect] reasons.
 * The policy is common/policy.c in every case.
 *
 * This file is the command line, the reading and the feeding; the
 * counts and bans are replay_policy.c, the policy's source
 * replay_site.c, the report replay_report.c (state: replay_run.h).
 * Exit: 0, EX_USAGE with one line naming the bad argument, EX_CONFIG
 * when --config cannot be loaded, 1 when the file cannot be read.
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
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/replay_run.h"
#include "common/addr.h"
#include "common/clock.h"
#include "common/log.h"

#define REPLAY_EXIT_READ 1
#define REPLAY_READ_CHUNK 65536
#define REPLAY_ADDRS_LIMIT (1u << 26) /* highest --max-addresses */
#define REPLAY_ESC_MAX (4 * BC_PARSE_LINE_MAX + 1) /* every byte as \xHH */
#define REPLAY_ADDR_TEXT_MAX 45       /* longest address text (IPv6) */

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
static void print_line(struct bc_replay *r, const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\r')
		len--; /* the parser ignores a CRLF's CR too */
	bc_escape(r->esc, REPLAY_ESC_MAX, line, len);
	fputs(r->esc, stdout);
	putchar('\n');
}

static void feed(struct bc_replay *r, struct bc_parser *p, const char *line,
		 size_t len)
{
	struct bc_event ev;
	enum bc_parse_result res = bc_parser_feed(p, line, len, &ev);

	r->lines++;
	if (res == BC_PARSE_MATCH) {
		r->matched++;
		bc_replay_event(r, &ev);
	} else if (res == BC_PARSE_MALFORMED) {
		r->malformed++;
	} else {
		r->ignored++;
	}
	if (r->print != BC_REPLAY_PRINT_NONE &&
	    (r->print == BC_REPLAY_PRINT_MATCHED ? res == BC_PARSE_MATCH
				       : res != BC_PARSE_MATCH &&
						 names_address(line, len)))
		print_line(r, line, len);
	while (bc_parser_flush(p, 0, &ev) == 1)
		bc_replay_event(r, &ev);
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
static int read_lines(struct bc_replay *r, struct bc_parser *p, int fd)
{
	size_t cap = BC_PARSE_LINE_MAX + REPLAY_READ_CHUNK, have = 0;
	char *buf = malloc(cap);
	/* no progress line among the lines --print-* writes to a terminal */
	struct progress pg = {.state = r->print != BC_REPLAY_PRINT_NONE ? -1 : 0};
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
	return EX_USAGE;
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
	struct bc_replay r;
	struct bc_parser *p = NULL;
	struct bc_replay_rec **v = NULL;
	const char *config = NULL;
	char err[768];
	int i, fd = -1, rc = 0;

	memset(&r, 0, sizeof(r));
	r.fmt = BC_FMT_AUTO;
	r.max_addrs = REPLAY_ADDRS_MAX;
	r.addrs.size = sizeof(struct bc_replay_rec);
	r.keys.size = sizeof(struct bc_replay_key);
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
			enum bc_replay_print m = strcmp(a, "--print-matched") == 0
						 ? BC_REPLAY_PRINT_MATCHED
						 : BC_REPLAY_PRINT_MISSED;

			if (r.print != BC_REPLAY_PRINT_NONE && r.print != m)
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
	if (r.json && r.print != BC_REPLAY_PRINT_NONE)
		return usage_error(r.print == BC_REPLAY_PRINT_MATCHED
					   ? "--print-matched prints lines, not JSON: "
					     "drop --json"
					   : "--print-missed prints lines, not JSON: "
					     "drop --json",
				   NULL);
	if (bc_replay_site_load(&r, config, err, sizeof(err)) < 0) {
		fprintf(stderr, "replay: --config %s\n", err);
		rc = EX_CONFIG;
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
	    (r.print != BC_REPLAY_PRINT_NONE && (r.esc = malloc(REPLAY_ESC_MAX)) == NULL)) {
		fprintf(stderr, "replay: out of memory\n");
		rc = REPLAY_EXIT_READ;
		goto out;
	}
	if (bc_replay_site_reasons(&r.site, p, err, sizeof(err)) < 0) {
		fprintf(stderr, "replay: --config %s\n", err);
		rc = EX_CONFIG;
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
	if (r.print == BC_REPLAY_PRINT_NONE) {
		v = bc_replay_table_sorted(&r.addrs);
		if (v == NULL) {
			fprintf(stderr, "replay: out of memory\n");
			rc = REPLAY_EXIT_READ;
			goto out;
		}
		if (r.json) {
			if (bc_replay_print_json(&r, v) != 0)
				rc = REPLAY_EXIT_READ;
		} else
			bc_replay_print_text(&r, v);
	}
	if (fflush(stdout) != 0)
		rc = REPLAY_EXIT_READ;
out:
	if (fd > STDIN_FILENO)
		close(fd);
	free(v);
	free(r.esc);
	bc_parser_free(&p);
	bc_replay_table_free(&r.addrs);
	bc_replay_table_free(&r.keys);
	free(r.bans);
	bc_policy_free(&r.pol);
	bc_replay_site_free(&r.site);
	return rc;
}

