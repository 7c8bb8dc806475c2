/*
 * jout.c - the CLI's --json output through jansson (jout.h): documents
 * that start with their schema and version, setters that take remote
 * text of any bytes, times in both forms, and the one printer.
 *
 * Untrusted input: the text values (reasons, origins, agent ids,
 * evidence lines, server text, file names). They are checked with the
 * escapers' UTF-8 rule (bc_utf8_seq, common/log.c) and each byte that
 * does not start a well-formed sequence is replaced by U+FFFD before
 * jansson sees it, so no string is ever dropped. Errors: out of memory
 * ends the program (one line, exit 1); a failed write of stdout is
 * reported by bc_jout_print.
 */
#include "cli/jout.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define JOUT_EXIT_NOMEM 1          /* BC_EXIT_ERROR (cli.h) */
#define JOUT_EXIT_BUG 1            /* BC_EXIT_ERROR: a raw element not plain */
#define JOUT_KEY_MAX 40            /* a time's key, before "_ms" */
#define JOUT_REAL_DIGITS 15        /* significant digits of a fraction */

static void nomem(void) __attribute__((noreturn));
static void nomem(void)
{
	bc_fatal(JOUT_EXIT_NOMEM, "--json: out of memory");
}

/* o[key] = v, v's reference taken; out of memory ends the program. */
static void put(json_t *o, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		nomem();
}

json_t *bc_jout_new(const char *name, int version)
{
	json_t *d = json_object();
	char schema[64];

	if (d == NULL)
		nomem();
	snprintf(schema, sizeof(schema), "bancluster/%s", name);
	bc_jout_str(d, "schema", schema);
	bc_jout_int(d, "schema_version", version);
	return d;
}

json_t *bc_jout_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *v;
	char *fixed;
	size_t i, o = 0, n;

	for (i = 0; i < len; i += n)
		if ((n = bc_utf8_seq(p + i, len - i)) == 0)
			break;
	if (i == len) {
		if ((v = json_stringn(s, len)) == NULL)
			nomem();
		return v;
	}
	/* at most 3 bytes (U+FFFD) for each byte of input */
	if (len > (SIZE_MAX - 1) / 3 || (fixed = malloc(3 * len + 1)) == NULL)
		nomem();
	for (i = 0; i < len; i += n) {
		if ((n = bc_utf8_seq(p + i, len - i)) == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(fixed + o, s + i, n);
			o += n;
		}
	}
	v = json_stringn(fixed, o);
	free(fixed);
	if (v == NULL)
		nomem();
	return v;
}

void bc_jout_str(json_t *o, const char *key, const char *s)
{
	put(o, key, s == NULL ? json_null() : bc_jout_text(s, strlen(s)));
}

void bc_jout_int(json_t *o, const char *key, int64_t v)
{
	put(o, key, json_integer((json_int_t)v));
}

void bc_jout_uint(json_t *o, const char *key, uint64_t v)
{
	put(o, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
}

void bc_jout_bool(json_t *o, const char *key, bool v)
{
	put(o, key, json_boolean(v));
}

void bc_jout_null(json_t *o, const char *key)
{
	put(o, key, json_null());
}

void bc_jout_num(json_t *o, const char *key, double v)
{
	/* whole numbers as integers, as the reports always printed them */
	if (v > -9e15 && v < 9e15 && v == (double)(int64_t)v)
		put(o, key, json_integer((json_int_t)v));
	else if (isfinite(v))
		put(o, key, json_real(v));
	else
		put(o, key, json_null()); /* JSON has no NaN or infinity */
}

void bc_jout_addr(json_t *o, const char *key, const struct bc_addr *a)
{
	char s[BC_ADDR_STRLEN];

	bc_jout_str(o, key, bc_addr_format(a, s, sizeof(s)));
}

void bc_jout_time(json_t *o, const char *key, int64_t ms)
{
	char k[JOUT_KEY_MAX + 4], t[48];
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	snprintf(k, sizeof(k), "%s_ms", key);
	if (ms <= 0 || gmtime_r(&sec, &tm) == NULL) {
		bc_jout_null(o, key);
		bc_jout_null(o, k);
		return;
	}
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + strlen(t), sizeof(t) - strlen(t), ".%03dZ", (int)(ms % 1000));
	bc_jout_str(o, key, t);
	bc_jout_int(o, k, ms);
}

json_t *bc_jout_obj(json_t *o, const char *key)
{
	json_t *v = json_object();

	put(o, key, v);
	return v;
}

json_t *bc_jout_arr(json_t *o, const char *key)
{
	json_t *v = json_array();

	put(o, key, v);
	return v;
}

json_t *bc_jout_push_obj(json_t *a)
{
	json_t *v = json_object();

	if (v == NULL || json_array_append_new(a, v) != 0)
		nomem();
	return v;
}

void bc_jout_push_str(json_t *a, const char *s)
{
	if (json_array_append_new(a, bc_jout_text(s, strlen(s))) != 0)
		nomem();
}

/*
 * The code point of a control at p that jansson leaves as it is and a
 * terminal may act on: DEL, C1 (U+0080-U+009F), ALM U+061C, LRM/RLM
 * U+200E/F, U+2028/9, the embeddings and overrides U+202A-U+202E, the
 * isolates U+2066-U+2069. *len is its length in bytes; 0 for none. p is
 * inside jansson's output, valid UTF-8, so a lead byte found here starts
 * a character; these bytes only occur inside strings.
 */
static unsigned control_at(const unsigned char *p, size_t n, size_t *len)
{
	*len = 0;
	if (p[0] == 0x7f) {
		*len = 1;
		return 0x7f;
	}
	if (n >= 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
		*len = 2;
		return p[1];
	}
	if (n >= 2 && p[0] == 0xd8 && p[1] == 0x9c) {
		*len = 2;
		return 0x061c;
	}
	if (n >= 3 && p[0] == 0xe2 &&
	    ((p[1] == 0x80 && (p[2] == 0x8e || p[2] == 0x8f ||
			       (p[2] >= 0xa8 && p[2] <= 0xae))) ||
	     (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9))) {
		*len = 3;
		return 0x2000u + ((unsigned)(p[1] & 0x3f) << 6) + (p[2] & 0x3fu);
	}
	return 0;
}

/* Write n bytes of jansson's output s, controls escaped (control_at). */
static int write_text(const char *s, size_t n, FILE *f)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0, len;
	unsigned cp;

	while (i < n) {
		cp = control_at(p + i, n - i, &len);
		if (len == 0) {
			i++;
			continue;
		}
		if (fwrite(s + start, 1, i - start, f) != i - start ||
		    fprintf(f, "\\u%04X", cp) < 0)
			return -1;
		i += len;
		start = i;
	}
	return fwrite(s + start, 1, n - start, f) == n - start ? 0 : -1;
}

/* jansson's text of v (flags of every document), freed v; never NULL. */
static char *dump(json_t **v, size_t flags)
{
	char *s = json_dumps(*v, flags | JSON_REAL_PRECISION(JOUT_REAL_DIGITS));

	json_decref(*v);
	*v = NULL;
	if (s == NULL)
		nomem();
	return s;
}

static int write_done(int rc)
{
	if (rc == 0 && fflush(stdout) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "bancluster: --json: writing stdout: %s\n",
			strerror(errno));
	return rc;
}

int bc_jout_print(json_t **doc)
{
	char *s = dump(doc, 0);
	int rc = write_text(s, strlen(s), stdout) == 0 && fputc('\n', stdout) != EOF ? 0 : -1;

	free(s);
	return write_done(rc);
}

/* Write (s, n) unless the stream failed already. */
static void stream_put(struct bc_jout_stream *st, const char *s, size_t n)
{
	if (st->err == 0 && write_text(s, n, stdout) != 0)
		st->err = -1;
}

void bc_jout_stream_open(struct bc_jout_stream *st, json_t **head)
{
	char *s = dump(head, 0);

	st->err = 0;
	st->items = 0;
	stream_put(st, s, strlen(s) - 1); /* all but the closing brace */
	free(s);
}

void bc_jout_stream_array(struct bc_jout_stream *st, const char *key)
{
	json_t *k = bc_jout_text(key, strlen(key));
	char *s = dump(&k, JSON_ENCODE_ANY);

	stream_put(st, ", ", 2);
	stream_put(st, s, strlen(s));
	stream_put(st, ": [", 3);
	free(s);
	st->items = 0;
}

void bc_jout_stream_push(struct bc_jout_stream *st, json_t **item)
{
	char *s = dump(item, JSON_ENCODE_ANY);

	if (st->items++ > 0)
		stream_put(st, ", ", 2);
	stream_put(st, s, strlen(s));
	free(s);
}

bool bc_jout_raw_plain(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	const uint64_t ones = 0x0101010101010101ULL, high = ones * 0x80;
	const uint64_t bs = ones * '\\';
	uint64_t w, bad = 0;
	size_t i = 0;

	/* eight bytes a step (a replay's report pushes megabytes); each
	 * test is exact for "is there such a byte in w": below 0x20, above
	 * 0x7e (a carry only comes out of 0xff, itself caught by "| w"), a
	 * backslash */
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, u + i, 8);
		bad |= (w - ones * 0x20) & ~w & high;
		bad |= ((w + ones) | w) & high;
		bad |= ((w ^ bs) - ones) & ~(w ^ bs) & high;
	}
	for (; i < n; i++)
		bad |= (uint64_t)(u[i] < 0x20 || u[i] > 0x7e || u[i] == '\\');
	return bad == 0;
}

void bc_jout_stream_push_raw(struct bc_jout_stream *st, const char *s,
			     size_t n)
{
	size_t i;

	if (!bc_jout_raw_plain(s, n))
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
			    s[i] == '\\')
				bc_fatal(JOUT_EXIT_BUG, "--json: unescaped byte "
					 "0x%02x in a raw element", (unsigned char)s[i]);
	if (st->items++ > 0)
		stream_put(st, ", ", 2);
	/* printable ASCII: nothing for write_text's control filter */
	if (st->err == 0 && fwrite(s, 1, n, stdout) != n)
		st->err = -1;
}

void bc_jout_stream_array_close(struct bc_jout_stream *st)
{
	stream_put(st, "]", 1);
}

int bc_jout_stream_close(struct bc_jout_stream *st, json_t **tail)
{
	char *s = dump(tail, 0);
	size_t n = strlen(s);

	if (n > 2) { /* "{...}": its members after those written */
		stream_put(st, ", ", 2);
		stream_put(st, s + 1, n - 2);
	}
	free(s);
	stream_put(st, "}\n", 2);
	return write_done(st->err);
}
