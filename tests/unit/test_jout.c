/*
 * test_jout.c - the CLI's --json output (cli/jout.c): text of any bytes
 * (valid UTF-8 byte for byte, each invalid byte U+FFFD), the controls
 * escaped in the printed line (C0 by jansson; DEL, C1, bidi and line
 * separators by jout), times in both forms, numbers, the document head,
 * and a streamed document byte for byte the same as one printed whole.
 * The printed line is captured by pointing stdout at a temporary file.
 */
#include "cli/jout.h"
#include "common/log.h"
#include "tap.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char out[1 << 18];

/* Print *doc (bc_jout_print) or stream it (stream != 0) into out[]. */
static int capture(json_t **doc, int stream)
{
	char path[] = "/tmp/bc-jout.XXXXXX";
	int fd = mkstemp(path), saved, rc;
	ssize_t n;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (stream) {
		struct bc_jout_stream st;
		json_t *tail = json_object(), *item;
		int i;

		bc_jout_stream_open(&st, doc);
		bc_jout_stream_array(&st, "items");
		for (i = 0; i < 3; i++) {
			item = json_object();
			bc_jout_int(item, "n", i);
			bc_jout_str(item, "t", stream == 2 ? "plain" : "M\xc3\xbcller\x7f");
			if (stream == 2 && i != 1) { /* as the caller formats it */
				char raw[64];
				int rn = snprintf(raw, sizeof(raw),
						 "{\"n\": %d, \"t\": \"plain\"}", i);

				json_decref(item);
				bc_jout_stream_push_raw(&st, raw, (size_t)rn);
				continue;
			}
			bc_jout_stream_push(&st, &item);
		}
		bc_jout_stream_array_close(&st);
		bc_jout_stream_array(&st, "none");
		bc_jout_stream_array_close(&st);
		bc_jout_int(tail, "total", 3);
		rc = bc_jout_stream_close(&st, &tail);
	} else {
		rc = bc_jout_print(doc);
	}
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

/* The value bc_jout_text makes of (in, len) equals want (wlen bytes). */
static int text_is(const char *in, size_t len, const char *want, size_t wlen)
{
	json_t *v = bc_jout_text(in, len);
	int ok = v != NULL && json_string_length(v) == wlen &&
		 memcmp(json_string_value(v), want, wlen) == 0;

	json_decref(v);
	return ok;
}
#define TEXT_IS(in, want) text_is(in, sizeof(in) - 1, want, sizeof(want) - 1)

/*
 * 2,000 strings of random bytes (biased to UTF-8 lead and continuation
 * bytes and controls) in one document: the printed line loads back with
 * jansson, each string equal to its input with invalid bytes as U+FFFD,
 * and the line holds no raw control: no byte below 0x20 but the final
 * newline, no DEL, no C1, no bidi override.
 */
static void test_random(void)
{
	static const unsigned char pool[] = {
		'a', 'Z', ' ', '"', '\\', '/', 0x01, 0x1b, '\n', 0x7f, 0x80, 0x9b,
		0xbf, 0xc2, 0xc3, 0xe2, 0x80, 0xae, 0xed, 0xa0, 0xf0, 0x9f, 0xf4,
		0xff, 0xd8, 0x9c, 0x81, 0xa6};
	enum { N = 2000, LEN = 24 };
	static char in[N][LEN + 1], want[N][3 * LEN + 1];
	json_t *d = bc_jout_new("r", 1), *a = bc_jout_arr(d, "s"), *back;
	json_error_t err;
	unsigned seed = 12345;
	size_t i, k, bad = 0, raw = 0;

	for (i = 0; i < N; i++) {
		size_t len = (seed = seed * 1103515245u + 12345u) >> 16 & 15, o = 0, n;

		for (k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			in[i][k] = (char)pool[(seed >> 16) % sizeof(pool)];
			if (in[i][k] == 0)
				in[i][k] = 'x';
		}
		in[i][len] = '\0';
		for (k = 0; k < len; k += n) { /* the expected value */
			n = bc_utf8_seq((const unsigned char *)in[i] + k, len - k);
			if (n == 0) {
				memcpy(want[i] + o, "\xef\xbf\xbd", 3);
				o += 3;
				n = 1;
			} else {
				memcpy(want[i] + o, in[i] + k, n);
				o += n;
			}
		}
		want[i][o] = '\0';
		bc_jout_push_str(a, in[i]);
	}
	CHECK(capture(&d, 0) == 0, "random strings: printed");
	for (k = 0; out[k] != '\0'; k++) {
		const unsigned char *p = (const unsigned char *)out + k;

		if ((*p < 0x20 && out[k + 1] != '\0') || *p == 0x7f ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) ||
		    (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae))
			raw++;
	}
	CHECK(raw == 0, "random strings: no raw control on stdout (%zu)", raw);
	back = json_loads(out, 0, &err);
	CHECK(back != NULL && json_array_size(json_object_get(back, "s")) == N,
	      "random strings: the line loads back (%s)", back ? "ok" : err.text);
	for (i = 0; back != NULL && i < N; i++) {
		const char *v = json_string_value(json_array_get(json_object_get(back, "s"), i));

		if (v == NULL || strcmp(v, want[i]) != 0)
			bad++;
	}
	CHECK(back != NULL && bad == 0,
	      "random strings: each comes back as given, invalid bytes as U+FFFD (%zu differ)", bad);
	json_decref(back);
}

/*
 * push_raw's test, eight bytes a step: every byte value at every place
 * of an element (in a word, in the tail after the last word), next to
 * every kind of neighbour (a 0xff before it carries in the word test).
 */
static void test_raw_plain(void)
{
	static const unsigned char fill[] = {'a', 0x7e, 0x20, 0xff, 0x5b};
	char e[19];
	unsigned b, pos, f, wrong = 0, n = 0;

	for (f = 0; f < sizeof(fill); f++)
		for (pos = 0; pos < sizeof(e); pos++)
			for (b = 0; b < 256; b++) {
				bool want;
				size_t k;

				memset(e, (char)fill[f], sizeof(e));
				e[pos] = (char)b;
				want = true;
				for (k = 0; k < sizeof(e); k++) {
					unsigned char c = (unsigned char)e[k];

					if (c < 0x20 || c > 0x7e || c == '\\')
						want = false;
				}
				n++;
				wrong += bc_jout_raw_plain(e, sizeof(e)) != want;
			}
	CHECK(wrong == 0, "raw elements: %u of %u verdicts (every byte, every "
	      "place, five neighbours) as a byte-by-byte test", n - wrong, n);
	CHECK(bc_jout_raw_plain("", 0) && bc_jout_raw_plain("{\"n\": 1}", 8),
	      "raw elements: empty and plain accepted");
}

int main(void)
{
	test_raw_plain();
	json_t *d, *o, *a;

	CHECK(TEXT_IS("M\xc3\xbcller", "M\xc3\xbcller"), "valid UTF-8 kept byte for byte (Müller)");
	CHECK(TEXT_IS("\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x82\xac \xf0\x9f\x98\x80"),
	      "3- and 4-byte characters kept");
	CHECK(TEXT_IS("a\xff" "b", "a\xef\xbf\xbd" "b"), "an invalid byte is U+FFFD, the rest kept");
	CHECK(TEXT_IS("M\xfcller", "M\xef\xbf\xbdller"), "Latin-1 M\\xfcller: the one byte replaced");
	CHECK(TEXT_IS("x\xc3", "x\xef\xbf\xbd"), "a sequence cut by the end: U+FFFD");
	CHECK(TEXT_IS("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"), "overlong form: one U+FFFD per byte");
	CHECK(TEXT_IS("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
	      "surrogate: one U+FFFD per byte");
	CHECK(TEXT_IS("\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
	      "above U+10FFFF: one U+FFFD per byte");
	CHECK(text_is("a\0b", 3, "a\0b", 3), "a NUL inside a counted text is kept (\\u0000)");

	/* the printed line: head, escapes, times, numbers */
	d = bc_jout_new("test", 7);
	bc_jout_str(d, "reason", "M\xc3\xbcller \"q\" \\ \x1b[31m\n\t\x01\x7f");
	bc_jout_str(d, "c1", "\xc2\x9b" "2J \xc2\x85");
	bc_jout_str(d, "bidi", "a\xe2\x80\xae" "b\xe2\x81\xa6" "c\xe2\x80\xa8" "d\xd8\x9c" "e\xe2\x80\x8f");
	bc_jout_str(d, "bad", "\xff");
	bc_jout_str(d, "none", NULL);
	bc_jout_time(d, "at", 1704888005123);
	bc_jout_time(d, "never", 0);
	bc_jout_num(d, "whole", 5.0);
	bc_jout_num(d, "half", 0.5);
	bc_jout_num(d, "sum", 0.1 + 0.2);
	bc_jout_uint(d, "big", UINT64_MAX);
	bc_jout_bool(d, "yes", true);
	o = bc_jout_obj(d, "o");
	a = bc_jout_arr(o, "a");
	bc_jout_push_str(a, "x");
	bc_jout_push_obj(a);
	CHECK(capture(&d, 0) == 0 && d == NULL, "printed, freed, exit 0");
	CHECK(strcmp(out,
		     "{\"schema\": \"bancluster/test\", \"schema_version\": 7, "
		     "\"reason\": \"M\xc3\xbcller \\\"q\\\" \\\\ \\u001B[31m\\n\\t\\u0001\\u007F\", "
		     "\"c1\": \"\\u009B2J \\u0085\", "
		     "\"bidi\": \"a\\u202Eb\\u2066c\\u2028d\\u061Ce\\u200F\", "
		     "\"bad\": \"\xef\xbf\xbd\", \"none\": null, "
		     "\"at\": \"2024-01-10T12:00:05.123Z\", \"at_ms\": 1704888005123, "
		     "\"never\": null, \"never_ms\": null, "
		     "\"whole\": 5, \"half\": 0.5, \"sum\": 0.3, "
		     "\"big\": 9223372036854775807, \"yes\": true, "
		     "\"o\": {\"a\": [\"x\", {}]}}\n") == 0,
	      "the line, exactly: %s", out);
	CHECK(strchr(out, '\n') == out + strlen(out) - 1, "one line, ending in a newline");

	/* streamed: the same bytes as the whole tree printed at once */
	{
		char whole[sizeof(out)];
		json_t *w = bc_jout_new("s", 1), *items;
		int i;

		bc_jout_str(w, "k", "v");
		items = bc_jout_arr(w, "items");
		for (i = 0; i < 3; i++) {
			json_t *it = bc_jout_push_obj(items);

			bc_jout_int(it, "n", i);
			bc_jout_str(it, "t", "M\xc3\xbcller\x7f");
		}
		bc_jout_arr(w, "none");
		bc_jout_int(w, "total", 3);
		capture(&w, 0);
		memcpy(whole, out, sizeof(whole));
		d = bc_jout_new("s", 1);
		bc_jout_str(d, "k", "v");
		CHECK(capture(&d, 1) == 0 && d == NULL, "streamed document: exit 0");
		CHECK(strcmp(out, whole) == 0, "streamed byte for byte as printed whole: %s", out);
		CHECK(strstr(out, "\"t\": \"M\xc3\xbcller\\u007F\"}, {\"n\": 1") != NULL,
		      "streamed items escaped and separated as jansson does");
	}
	/* raw elements: the bytes jansson prints for the same objects */
	{
		char whole[sizeof(out)];
		json_t *w = bc_jout_new("s", 1), *items;
		int i, st;
		pid_t pid;

		bc_jout_str(w, "k", "v");
		items = bc_jout_arr(w, "items");
		for (i = 0; i < 3; i++) {
			json_t *it = bc_jout_push_obj(items);

			bc_jout_int(it, "n", i);
			bc_jout_str(it, "t", "plain");
		}
		bc_jout_arr(w, "none");
		bc_jout_int(w, "total", 3);
		capture(&w, 0);
		memcpy(whole, out, sizeof(whole));
		d = bc_jout_new("s", 1);
		bc_jout_str(d, "k", "v");
		CHECK(capture(&d, 2) == 0, "raw elements streamed: exit 0");
		CHECK(strcmp(out, whole) == 0,
		      "raw elements byte for byte as jansson prints them: %s", out);

		/* a raw element with a byte that needs an escape: a bug, the
		 * program ends before any of it is written */
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			struct bc_jout_stream s2 = {0, 0};
			int dn = open("/dev/null", O_WRONLY);

			dup2(dn, STDERR_FILENO);
			bc_jout_stream_push_raw(&s2, "{\"t\": \"\x1b[2J\"}",
						strlen("{\"t\": \"\x1b[2J\"}"));
			_exit(0);
		}
		CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
			      WEXITSTATUS(st) == 1,
		      "a raw element holding ESC ends the program with exit 1");
	}
	test_random();
	return tap_done();
}
