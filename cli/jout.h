/*
 * jout.h - the CLI's --json output (docs/cli.md, "JSON output"): one
 * jansson tree per command, printed as one line on stdout.
 *
 *   json_t *d = bc_jout_new("list", 2);     {"schema": "bancluster/list",
 *                                            "schema_version": 2}
 *   json_t *a = bc_jout_arr(d, "bans");
 *   json_t *b = bc_jout_push_obj(a);
 *   bc_jout_str(b, "reason", text);         any bytes (remote text)
 *   bc_jout_time(b, "expires", ms);         "expires" + "expires_ms"
 *   return bc_jout_print(&d) ? BC_EXIT_ERROR : 0;
 *
 * Keys are string literals of the caller, kept in insertion order
 * (jansson). The setters never fail: a value jansson cannot make (out of
 * memory) ends the program with one line on stderr and exit 1, so a
 * command never prints half a document. Text values may hold any bytes:
 * valid UTF-8 passes through intact, each byte that does not start a
 * well-formed sequence becomes U+FFFD (jansson refuses invalid UTF-8).
 * Only the CLI links jansson (the Makefile's CLI_LIBS).
 */
#ifndef BC_JOUT_H
#define BC_JOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

/* A document: {"schema": "bancluster/NAME", "schema_version": VERSION}. */
json_t *bc_jout_new(const char *name, int version);

/*
 * Print *doc as one line and a newline on stdout, flush, free it and set
 * *doc to NULL. In the output, besides jansson's escapes (\" \\ \n \t
 * \r \b \f, other C0 controls \u00XX), DEL, the C1 controls and the
 * Unicode bidirectional and line-separator controls are written as
 * \uXXXX: the same text to a JSON parser, nothing a terminal acts on.
 * 0, or -1 after one line on stderr when stdout cannot be written.
 */
int bc_jout_print(json_t **doc);

/*
 * A document too large for one tree (replay's addresses): printed in
 * pieces, byte for byte what bc_jout_print of the whole would print.
 *   bc_jout_stream_open(&st, &head);       head's members, brace left open
 *   bc_jout_stream_array(&st, "addresses"); then per element:
 *   bc_jout_stream_push(&st, &item);        item printed and freed
 *   bc_jout_stream_array_close(&st);        (more arrays may follow)
 *   rc = bc_jout_stream_close(&st, &tail);  tail's members, "}" and newline
 * head (a non-empty object, from bc_jout_new) and tail (an object, may be
 * empty) are freed and set to NULL. Only the close reports a failed
 * write (0 or -1 after one line on stderr).
 */
struct bc_jout_stream {
	size_t items;
	int err;
};
void bc_jout_stream_open(struct bc_jout_stream *st, json_t **head);
void bc_jout_stream_array(struct bc_jout_stream *st, const char *key);
void bc_jout_stream_push(struct bc_jout_stream *st, json_t **item);
/*
 * An element the caller formatted as JSON itself, for arrays too long to
 * build in jansson one object at a time (replay's addresses): it must be
 * printable ASCII (0x20-0x7e) without a backslash, so only numbers,
 * literals and strings that need no escape (addresses formatted from
 * binary, fixed names), which jansson would print byte for byte the
 * same. Any other byte is a bug of the caller: the program ends (one
 * line on stderr, exit 1) before anything of it is written.
 */
void bc_jout_stream_push_raw(struct bc_jout_stream *st, const char *s,
			     size_t n);
/* The test push_raw makes: every byte printable ASCII, none a backslash. */
bool bc_jout_raw_plain(const char *s, size_t n);
void bc_jout_stream_array_close(struct bc_jout_stream *st);
int bc_jout_stream_close(struct bc_jout_stream *st, json_t **tail);

/* The string value of (s, len): any bytes, invalid UTF-8 as U+FFFD. */
json_t *bc_jout_text(const char *s, size_t len);

/* Set o[key]. bc_jout_str: s NUL-terminated, NULL gives null. */
void bc_jout_str(json_t *o, const char *key, const char *s);
void bc_jout_int(json_t *o, const char *key, int64_t v);
void bc_jout_uint(json_t *o, const char *key, uint64_t v); /* > INT64_MAX: INT64_MAX */
void bc_jout_bool(json_t *o, const char *key, bool v);
void bc_jout_null(json_t *o, const char *key);
/* a number: an integer when v is whole (5, not 5.0), else up to 15 digits */
void bc_jout_num(json_t *o, const char *key, double v);
/* an address or prefix as text: "192.0.2.7", "2001:db8::/64" */
void bc_jout_addr(json_t *o, const char *key, const struct bc_addr *a);

/*
 * A point in time, as two keys: KEY the UTC time "2026-12-01T10:00:00.123Z"
 * (RFC 3339) and KEY_ms the Unix time in ms; both null when ms <= 0
 * (never: permanent, never seen). KEY is at most 40 bytes.
 */
void bc_jout_time(json_t *o, const char *key, int64_t ms);

/* A new empty object or array set as o[key]; returned (o owns it). */
json_t *bc_jout_obj(json_t *o, const char *key);
json_t *bc_jout_arr(json_t *o, const char *key);

/* Append to array a: a new empty object (returned, a owns it), a text. */
json_t *bc_jout_push_obj(json_t *a);
void bc_jout_push_str(json_t *a, const char *s);

#endif
