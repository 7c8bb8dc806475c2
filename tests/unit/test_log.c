/*
 * test_log.c - the escapers of common/log.c. bc_json_escape_as in both
 * styles: valid UTF-8 kept whole, every malformed byte (stray
 * continuation, overlong, surrogate, above U+10FFFF, cut by the end of
 * the input) one \ufffd; control characters, '"' and '\\' escaped; the
 * output cut at dstlen - 1 never inside an escape or a character and
 * always NUL-terminated. For ASCII input bc_json_escape gives exactly
 * what the per-byte \u00HH escaper it replaced gave (the CLI's --json
 * output is unchanged on ASCII). bc_escape and bc_printable as before.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "tap.h"

/* The JSON escaper before UTF-8 support, for ASCII only (the reference). */
static void old_json(char *dst, size_t dstlen, const char *src, size_t len)
{
	size_t o = 0, i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 6 >= dstlen)
				break;
			snprintf(dst + o, dstlen - o, "\\u%04x", c);
			o += 6;
		}
	}
	dst[o] = '\0';
}

static const char *esc(enum bc_json_style st, const char *s, size_t dstlen)
{
	static char out[512];

	memset(out, 'X', sizeof(out));
	return bc_json_escape_as(out, dstlen, s, strlen(s), st);
}

int main(void)
{
	static const struct {
		const char *in, *uhex, *shrt;
	} cases[] = {
		{"plain text 1.2.3.4", "plain text 1.2.3.4", "plain text 1.2.3.4"},
		{"a\"b\\c", "a\\u0022b\\u005cc", "a\\\"b\\\\c"},
		{"l1\nl2\r\t", "l1\\u000al2\\u000d\\u0009", "l1\\nl2\\r\\t"},
		{"\x01\x1f\x7f", "\\u0001\\u001f\\u007f", "\\u0001\\u001f\\u007f"},
		{"M\xc3\xbcller", "M\xc3\xbcller", "M\xc3\xbcller"},           /* ü */
		{"\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x82\xac \xf0\x9f\x98\x80",
		 "\xe2\x82\xac \xf0\x9f\x98\x80"},                             /* € U+1F600 */
		{"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"}, /* U+10FFFF */
		{"\xed\x9f\xbf", "\xed\x9f\xbf", "\xed\x9f\xbf"},             /* U+D7FF */
		{"bad\xff", "bad\\ufffd", "bad\\ufffd"},
		{"\xc3", "\\ufffd", "\\ufffd"},                                /* truncated */
		{"\xe2\x82", "\\ufffd\\ufffd", "\\ufffd\\ufffd"},              /* truncated */
		{"\xf0\x9f\x98", "\\ufffd\\ufffd\\ufffd", "\\ufffd\\ufffd\\ufffd"},
		{"\xc3(", "\\ufffd(", "\\ufffd("},
		{"\xc0\xaf", "\\ufffd\\ufffd", "\\ufffd\\ufffd"},              /* overlong '/' */
		{"\xc1\xbf", "\\ufffd\\ufffd", "\\ufffd\\ufffd"},              /* overlong */
		{"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd", "\\ufffd\\ufffd\\ufffd"}, /* overlong */
		{"\xf0\x8f\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd",
		 "\\ufffd\\ufffd\\ufffd\\ufffd"},                              /* overlong */
		{"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd", "\\ufffd\\ufffd\\ufffd"}, /* surrogate */
		{"\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd", "\\ufffd\\ufffd\\ufffd"}, /* surrogate */
		{"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd",
		 "\\ufffd\\ufffd\\ufffd\\ufffd"},                              /* > U+10FFFF */
		{"\xf8\x88\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd",
		 "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"},
		{"\x80x", "\\ufffdx", "\\ufffdx"},                             /* lone continuation */
		{"\xc3\xbc\xbc", "\xc3\xbc\\ufffd", "\xc3\xbc\\ufffd"},        /* extra continuation */
	};
	static const struct {
		const char *in;
		size_t dstlen;
		const char *want;
	} cuts[] = {
		{"abc", 1, ""},
		{"abc", 3, "ab"},
		{"abc", 4, "abc"},
		{"a\xc3\xbc", 2, "a"},          /* ü needs 2: not split */
		{"a\xc3\xbc", 3, "a"},
		{"a\xc3\xbc", 4, "a\xc3\xbc"},
		{"\xf0\x9f\x98\x80z", 4, ""},   /* 4-byte character whole or not at all */
		{"\xf0\x9f\x98\x80z", 5, "\xf0\x9f\x98\x80"},
		{"\xf0\x9f\x98\x80z", 6, "\xf0\x9f\x98\x80z"},
		{"a\"", 7, "a"},                /* \u0022 needs 6 */
		{"a\"", 8, "a\\u0022"},
		{"a\xff", 7, "a"},              /* \ufffd needs 6 */
		{"a\xff", 8, "a\\ufffd"},
	};
	char out[512], ref[512];
	size_t i;
	int c, same = 1;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(strcmp(esc(BC_JSON_UHEX, cases[i].in, sizeof(out)), cases[i].uhex) == 0,
		      "uhex %zu: got %s, want %s", i, esc(BC_JSON_UHEX, cases[i].in, sizeof(out)),
		      cases[i].uhex);
		CHECK(strcmp(esc(BC_JSON_SHORT, cases[i].in, sizeof(out)), cases[i].shrt) == 0,
		      "short %zu: got %s, want %s", i, esc(BC_JSON_SHORT, cases[i].in, sizeof(out)),
		      cases[i].shrt);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(strcmp(bc_json_escape(out, sizeof(out), cases[i].in, strlen(cases[i].in)),
			     cases[i].uhex) == 0,
		      "bc_json_escape is the \\u00HH style (%zu)", i);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		CHECK(strcmp(esc(BC_JSON_UHEX, cuts[i].in, cuts[i].dstlen), cuts[i].want) == 0,
		      "cut %zu at dstlen %zu: got %s, want %s", i, cuts[i].dstlen,
		      esc(BC_JSON_UHEX, cuts[i].in, cuts[i].dstlen), cuts[i].want);
	CHECK(strcmp(esc(BC_JSON_SHORT, "ab\n", 4), "ab") == 0 &&
		      strcmp(esc(BC_JSON_SHORT, "ab\n", 5), "ab\\n") == 0,
	      "short escape: whole or not at all");
	memset(out, 'X', sizeof(out));
	bc_json_escape(out, 0, "abc", 3);
	CHECK(out[0] == 'X', "dstlen 0: nothing written");
	{
		/* 6 * len + 1 never cuts: 80 bytes that all take 6 */
		char in[81];

		memset(in, 0x01, 80);
		in[80] = '\0';
		bc_json_escape(out, 6 * 80 + 1, in, 80);
		CHECK(strlen(out) == 480, "6 * len + 1 bytes hold any input (%zu)", strlen(out));
		bc_json_escape(out, 6 * 80, in, 80);
		CHECK(strlen(out) == 474, "one byte less: the last escape left out (%zu)",
		      strlen(out));
	}
	/* every ASCII byte alone and within text: exactly the old output */
	for (c = 0; c < 0x80; c++) {
		char in[8] = {'x', (char)c, 'y', '\0'};
		size_t len = 3;

		old_json(ref, sizeof(ref), in, len);
		bc_json_escape(out, sizeof(out), in, len);
		if (strcmp(out, ref) != 0) {
			same = 0;
			printf("# byte 0x%02x: got %s, old %s\n", c, out, ref);
		}
		for (i = 1; i < 12; i++) { /* and the same cut points */
			old_json(ref, i, in, len);
			bc_json_escape(out, i, in, len);
			if (strcmp(out, ref) != 0) {
				same = 0;
				printf("# byte 0x%02x dstlen %zu: got %s, old %s\n", c, i, out, ref);
			}
		}
	}
	CHECK(same, "ASCII: bc_json_escape byte-identical to the old per-byte escaper, cuts included");

	/* the other two escapers are unchanged */
	CHECK(strcmp(bc_escape(out, sizeof(out), "a\"\\\x01\xc3\xbc", 6),
		     "a\\x22\\x5c\\x01\\xc3\\xbc") == 0,
	      "bc_escape: \\xHH for '\"', '\\\\', controls and every byte >= 0x80 (%s)", out);
	CHECK(strcmp(bc_printable(out, sizeof(out), "a\\x22\x01", 6), "a\\x22\\x01") == 0,
	      "bc_printable: backslash kept, other bytes \\xHH (%s)", out);
	CHECK(strcmp(bc_escape(out, 6, "ab\x01", 3), "ab") == 0,
	      "bc_escape: cut before an escape that does not fit (%s)", out);
	return tap_done();
}
