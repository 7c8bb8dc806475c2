/*
 * replay.c - dry run of the log parsers and a ban policy over a log file.
 *
 *   bancluster replay [--format FMT] [--config INI] [--max-addresses N]
 *                     [--print-matched|--print-missed] FILE [--json]
 *                                                      (FILE "-" = stdin)
 *
 * Reads the file line by line (lines over BC_PARSE_LINE_MAX are skipped to
 * their end and counted as malformed, never buffered whole), feeds every
 * line to one parser, and runs a policy over the events in file order
 * (reading and the policy on the calling thread, scanning on a second
 * one: read_lines):
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
#include <pthread.h>
#include <sched.h>
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

/*
 * Scan one framed line (the scanner thread, below): the line counts,
 * --print-*, and its events appended to *evs for the policy.
 */
struct evbuf {
	struct bc_event *ev;
	size_t n, cap;
};

static int push_event(struct evbuf *b, const struct bc_event *ev)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1024;
		struct bc_event *ne = realloc(b->ev, nc * sizeof(*ne));

		if (ne == NULL)
			return -1;
		b->ev = ne;
		b->cap = nc;
	}
	b->ev[b->n++] = *ev;
	return 0;
}

static int feed(struct bc_replay *r, struct bc_parser *p,
		const struct bc_frame *fr, struct evbuf *evs)
{
	struct bc_event ev;
	enum bc_parse_result res = bc_parser_feed_frame(p, fr, &ev);
	int rc = 0;

	r->lines++;
	if (res == BC_PARSE_MATCH) {
		r->matched++;
		rc |= push_event(evs, &ev);
	} else if (res == BC_PARSE_MALFORMED) {
		r->malformed++;
	} else {
		r->ignored++;
	}
	if (r->print != BC_REPLAY_PRINT_NONE &&
	    (r->print == BC_REPLAY_PRINT_MATCHED
		     ? res == BC_PARSE_MATCH
		     : res != BC_PARSE_MATCH && names_address(fr->line, fr->len)))
		print_line(r, fr->line, fr->len);
	while (bc_parser_flush(p, 0, &ev) == 1)
		rc |= push_event(evs, &ev);
	return rc;
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

/*
 * The reading is a pipeline of two threads, so that a replay takes about
 * the time of its slower half rather than of both. The calling thread
 * reads the file and cuts it into lines, then runs the policy over the
 * events; a scanner thread frames the lines (logparse's bc_framer:
 * header, time, program), scans them (bc_parser_feed_frame: the MTAs'
 * messages and their sessions) and counts and prints them. Events keep
 * file order: blocks go round a ring of RING_BLOCKS, each FREE (the
 * reader fills it), FULL (the scanner scans it) then SCANNED (the reader
 * runs the policy over its events, then fills it again). A block holds
 * up to BLOCK_BYTES read at once after the unfinished line carried from
 * the block before, at most BLOCK_LINES lines, and the events scanned
 * from them. An over-long line (no newline within BC_PARSE_LINE_MAX + 1
 * bytes) is one OVERLONG frame without text (--print-* cannot show it),
 * the rest of it skipped.
 *
 * Framing is shared: while the reader would wait for a block, it frames
 * the newest FULL block's lines from its end, CHUNK_LINES at a time,
 * with a framer of its own, as the scanner frames from the front; a
 * chunk is claimed by one of them (claim: the next chunk from the front
 * and from the back, in one word, moved by compare-and-swap), and the
 * scanner scans a chunk the reader claimed once the reader marked it
 * ready. The two framers give the same frames (a framer's state is a
 * cache, and the clock for lines without a year, read per log hour).
 *
 * The scanner owns the parser and the counts it writes (lines, matched,
 * ignored, malformed, esc), the reader the rest of struct bc_replay. A
 * read error ends the input where it happened; an event the scanner had
 * no memory for fails the replay (ENOMEM) once every block has been
 * through.
 */
#define BLOCK_BYTES (256 * 1024)
#define BLOCK_LINES 4096
#define RING_BLOCKS 4
#define CHUNK_LINES 64
#define BLOCK_CHUNKS (BLOCK_LINES / CHUNK_LINES)

enum block_state { BLOCK_FREE, BLOCK_FULL, BLOCK_SCANNED };

struct block {
	char *buf;                /* 2 * BLOCK_BYTES */
	struct bc_frame *fr;      /* BLOCK_LINES: line and len set by the
				   * reader, the rest by a framer */
	size_t n;                 /* lines */
	struct evbuf evs;         /* what the scanner found in them */
	enum block_state state;
	int last;                 /* the input ends with this block */
	int err;                  /* errno of a failed read (last set) */
	uint32_t claim;           /* chunks [front, back): unclaimed;
				   * front | back << 16, atomic */
	uint8_t ready[BLOCK_CHUNKS]; /* the reader framed it (atomic) */
};

struct pipe_ring {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct block b[RING_BLOCKS];
	struct bc_replay *r;
	struct bc_parser *p;
	struct bc_framer *fm;     /* the scanner's */
	int nomem;                /* the scanner lost an event: ENOMEM */
};

/* Wait until block b is in one of the states of mask (the other side
 * moves it); returns its state. */
static enum block_state wait_block(struct pipe_ring *q, struct block *b,
				   unsigned mask)
{
	enum block_state st;

	pthread_mutex_lock(&q->mu);
	while (!((1u << b->state) & mask))
		pthread_cond_wait(&q->cv, &q->mu);
	st = b->state;
	pthread_mutex_unlock(&q->mu);
	return st;
}

static void set_block(struct pipe_ring *q, struct block *b,
		      enum block_state st)
{
	pthread_mutex_lock(&q->mu);
	__atomic_store_n(&b->state, st, __ATOMIC_RELEASE); /* peek_block */
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Is b in one of the states of mask now (a hint: wait_block decides)? */
static bool peek_block(struct block *b, unsigned mask)
{
	return ((1u << __atomic_load_n(&b->state, __ATOMIC_ACQUIRE)) & mask) != 0;
}

/* Claim b's next unclaimed chunk from the front (scanner) or the back
 * (reader): its number, or -1 when none is left. */
static int claim_chunk(struct block *b, bool back)
{
	uint32_t c = __atomic_load_n(&b->claim, __ATOMIC_ACQUIRE), nc;
	unsigned front, end;

	do {
		front = c & 0xffff;
		end = c >> 16;
		if (front >= end)
			return -1;
		nc = back ? front | (end - 1) << 16 : (front + 1) | end << 16;
	} while (!__atomic_compare_exchange_n(&b->claim, &c, nc, false,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	return back ? (int)end - 1 : (int)front;
}

static void frame_chunk(struct bc_framer *fm, struct block *b, int ch)
{
	size_t j = (size_t)ch * CHUNK_LINES,
	       end = j + CHUNK_LINES < b->n ? j + CHUNK_LINES : b->n;

	for (; j < end; j++)
		if (b->fr[j].status != BC_FRAME_OVERLONG)
			bc_framer_frame(fm, b->fr[j].line, b->fr[j].len, &b->fr[j]);
}

static void *scanner_main(void *arg)
{
	struct pipe_ring *q = arg;
	unsigned k;

	for (k = 0;; k++) {
		struct block *b = &q->b[k % RING_BLOCKS];
		int last, ch, mine;
		size_t nch, j;

		wait_block(q, b, 1u << BLOCK_FULL);
		b->evs.n = 0;
		nch = (b->n + CHUNK_LINES - 1) / CHUNK_LINES;
		for (ch = 0; ch < (int)nch; ch++) {
			mine = claim_chunk(b, false);
			if (mine == ch) {
				frame_chunk(q->fm, b, ch);
			} else { /* the reader's: framed, or being framed */
				while (!__atomic_load_n(&b->ready[ch], __ATOMIC_ACQUIRE))
					sched_yield();
			}
			for (j = (size_t)ch * CHUNK_LINES;
			     j < b->n && j < (size_t)(ch + 1) * CHUNK_LINES; j++)
				if (feed(q->r, q->p, &b->fr[j], &b->evs) < 0)
					q->nomem = 1; /* said at the end */
		}
		last = b->last;
		set_block(q, b, BLOCK_SCANNED);
		if (last)
			break;
	}
	return NULL;
}

/* The policy over a scanned block's events, in their order. */
static int run_events(struct bc_replay *r, struct block *b)
{
	size_t j;

	for (j = 0; j < b->evs.n; j++)
		bc_replay_event(r, &b->evs.ev[j]);
	b->evs.n = 0;
	return b->err;
}

/*
 * Fill block b: the carry, then one read when less than BLOCK_BYTES is
 * there, then frames up to BLOCK_LINES; what is left goes back to
 * carry. Sets b->last at the end of the input or on a read error.
 */
struct reader {
	int fd;
	struct bc_framer *fm; /* the reader's, for help_frame */
	struct progress pg;
	char *carry;   /* 2 * BLOCK_BYTES */
	size_t have;   /* bytes in carry */
	uint64_t lines;
	int eof, skipping;
};

static void fill_block(struct reader *rd, struct block *b)
{
	char *s, *end, *nl;
	size_t have = rd->have;

	b->n = 0;
	b->last = 0;
	b->err = 0;
	if (have > 0)
		memcpy(b->buf, rd->carry, have);
	while (!rd->eof && have < BLOCK_BYTES) {
		ssize_t n = read(rd->fd, b->buf + have, BLOCK_BYTES);

		progress(&rd->pg, rd->fd, n, rd->lines);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			b->err = errno;
			b->last = 1;
		} else if (n == 0) {
			rd->eof = 1;
		} else {
			have += (size_t)n;
		}
		break;
	}
	s = b->buf;
	end = b->buf + have;
	while (b->n < BLOCK_LINES &&
	       (nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		if (rd->skipping)
			rd->skipping = 0;
		else
			b->fr[b->n++] = (struct bc_frame){
				.line = s, .len = (size_t)(nl - s),
				.status = BC_FRAME_NONE};
		s = nl + 1;
	}
	have = (size_t)(end - s);
	if (b->n < BLOCK_LINES && have > 0) {
		/* no newline in what is left */
		if (rd->eof && !rd->skipping) {
			b->fr[b->n++] = (struct bc_frame){
				.line = s, .len = have, .status = BC_FRAME_NONE};
			have = 0;
		} else if (have > BC_PARSE_LINE_MAX + 1 || rd->skipping) {
			/* over-long: one frame, the rest dropped */
			if (!rd->skipping)
				b->fr[b->n++] = (struct bc_frame){
					.line = s, .status = BC_FRAME_OVERLONG};
			rd->skipping = 1;
			have = 0;
		}
	}
	if (have > 0)
		memcpy(rd->carry, s, have);
	rd->have = have;
	rd->lines += b->n; /* as the scanner will count them */
	if (rd->eof && have == 0)
		b->last = 1;
	memset(b->ready, 0, sizeof(b->ready));
	b->claim = (uint32_t)((b->n + CHUNK_LINES - 1) / CHUNK_LINES) << 16;
}

/*
 * While block next is not the reader's yet, frame chunks of block b
 * from its end. Returns once next is FREE or SCANNED (or b has no chunk
 * left: then wait_block waits).
 */
static void help_frame(struct bc_framer *fm, struct block *b,
		       struct block *next)
{
	int ch;

	while (!peek_block(next, 1u << BLOCK_FREE | 1u << BLOCK_SCANNED) &&
	       (ch = claim_chunk(b, true)) >= 0) {
		frame_chunk(fm, b, ch);
		__atomic_store_n(&b->ready[ch], 1, __ATOMIC_RELEASE);
	}
}

/* Read fd to its end, one line at a time. Returns 0 or -1 (errno set). */
static int read_lines(struct bc_replay *r, struct bc_parser *p, int fd)
{
	struct pipe_ring q = {.r = r, .p = p};
	struct reader rd = {
		.fd = fd,
		.pg = {.state = r->print != BC_REPLAY_PRINT_NONE ? -1 : 0}};
	pthread_t th;
	int i, err = 0, e;
	unsigned k, done;

	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.cv, NULL);
	q.fm = bc_framer_new();
	rd.fm = bc_framer_new();
	rd.carry = malloc(2 * BLOCK_BYTES);
	if (q.fm == NULL || rd.fm == NULL || rd.carry == NULL)
		err = ENOMEM;
	for (i = 0; i < RING_BLOCKS; i++) {
		q.b[i].buf = malloc(2 * BLOCK_BYTES);
		q.b[i].fr = malloc(BLOCK_LINES * sizeof(*q.b[i].fr));
		if (q.b[i].buf == NULL || q.b[i].fr == NULL)
			err = ENOMEM;
	}
	if (err == 0 && (e = pthread_create(&th, NULL, scanner_main, &q)) != 0)
		err = e;
	if (err != 0)
		goto out;
	/* block k is filled once block k - RING_BLOCKS's events have run;
	 * done counts the blocks whose events have */
	for (k = 0, done = 0;; k++) {
		struct block *b = &q.b[k % RING_BLOCKS];

		if (wait_block(&q, b, 1u << BLOCK_FREE | 1u << BLOCK_SCANNED) ==
		    BLOCK_SCANNED) {
			if ((e = run_events(r, b)) != 0 && err == 0)
				err = e;
			done++;
		}
		fill_block(&rd, b);
		set_block(&q, b, BLOCK_FULL);
		if (b->last)
			break;
		help_frame(rd.fm, b, &q.b[(k + 1) % RING_BLOCKS]);
	}
	/* the blocks still out, in order, up to the last one */
	for (; done <= k; done++) {
		struct block *b = &q.b[done % RING_BLOCKS];

		wait_block(&q, b, 1u << BLOCK_SCANNED);
		if ((e = run_events(r, b)) != 0 && err == 0)
			err = e;
		if (b->last)
			break;
	}
	pthread_join(th, NULL);
	if (q.nomem && err == 0)
		err = ENOMEM;
	progress(&rd.pg, fd, 0, rd.lines);
out:
	for (i = 0; i < RING_BLOCKS; i++) {
		free(q.b[i].buf);
		free(q.b[i].fr);
		free(q.b[i].evs.ev);
	}
	bc_framer_free(&q.fm);
	bc_framer_free(&rd.fm);
	free(rd.carry);
	pthread_mutex_destroy(&q.mu);
	pthread_cond_destroy(&q.cv);
	errno = err;
	return err != 0 ? -1 : 0;
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

