/*
 * fuzz_parse.c - libFuzzer harness for the log parsers (all of logparse/:
 * the framer logparse/syslog.c, the dispatch of logparse/parse.c and the
 * four scanners).
 *
 * `make fuzz` builds one target per format (fuzz_parse_auto, _postfix,
 * _exim, _sendmail, _dovecot) from every logparse/ file plus
 * common/addr.c and common/event.c, and runs each FUZZ_SECONDS seeded
 * with tests/corpus (tests/fuzz/run.sh). By hand, from the repository
 * root (clang from Debian; STAR is '*', spelled out because it cannot
 * appear before '/' in a C comment):
 *
 *   clang -g -O1 -std=c11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
 *     tests/fuzz/fuzz_parse.c logparse/STAR.c common/addr.c common/event.c \
 *     -o build-fuzz/fuzz_parse
 *   mkdir -p build-fuzz/corpus
 *   for f in tests/corpus/STAR/STAR.log; do cp $f build-fuzz/corpus/$(echo $f | tr / _); done
 *   build-fuzz/fuzz_parse -max_total_time=300 -max_len=9000 build-fuzz/corpus
 *
 * The input is split at newlines and each line is fed, in order, to one
 * parser per format (so session state is exercised across lines): every
 * format without FUZZ_FORMAT, the one format with it; no byte of the
 * input picks the format. Checks beyond
 * the sanitizers: results are in range, every event has a valid address
 * family and kind, and the pending queue drains.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "logparse/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bc_parser *parsers[BC_FMT_DOVECOT + 1];

static void check_event(const struct bc_event *ev)
{
	if (ev->kind < BC_KIND_AUTH_FAIL || ev->kind > BC_KIND_MAX)
		abort();
	if (ev->addr.family != AF_INET && ev->addr.family != AF_INET6)
		abort();
	if (ev->addr.plen != (ev->addr.family == AF_INET ? 32 : 128))
		abort();
	if (memchr(ev->service, '\0', sizeof(ev->service)) == NULL)
		abort();
}

/*
 * `make fuzz` builds one target per parser with -DFUZZ_FORMAT=BC_FMT_...
 * (all formats see every line without it).
 */
#ifdef FUZZ_FORMAT
#define FMT_FIRST FUZZ_FORMAT
#define FMT_LAST FUZZ_FORMAT
#else
#define FMT_FIRST BC_FMT_AUTO
#define FMT_LAST BC_FMT_DOVECOT
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	int f;

	for (f = FMT_FIRST; f <= FMT_LAST; f++)
		if (parsers[f] == NULL &&
		    (parsers[f] = bc_parser_new((enum bc_format)f)) == NULL)
			abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		/* copy so ASan sees reads past the line's end */
		char *line = malloc(len ? len : 1);

		if (line == NULL)
			abort();
		memcpy(line, p, len);
		for (f = FMT_FIRST; f <= FMT_LAST; f++) {
			struct bc_event ev;
			enum bc_parse_result r;
			int n = 0;

			r = bc_parser_feed(parsers[f], line, len, &ev);
			if (r != BC_PARSE_NOMATCH && r != BC_PARSE_MATCH &&
			    r != BC_PARSE_MALFORMED)
				abort();
			if (r == BC_PARSE_MATCH)
				check_event(&ev);
			while (bc_parser_flush(parsers[f], 0, &ev) == 1) {
				check_event(&ev);
				if (++n > BC_PARSE_PENDING)
					abort();
			}
		}
		free(line);
		p = nl ? nl + 1 : end;
	}
	return 0;
}
