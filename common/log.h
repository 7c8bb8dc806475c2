/*
 * log.h - graded diagnostics for the daemons and the CLI (Postfix style:
 * info / warn / error / fatal), one line each, and escaping of untrusted
 * text before it reaches any log, file or JSON output.
 */
#ifndef BC_LOG_H
#define BC_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum bc_log_level { BC_LOG_DEBUG, BC_LOG_INFO, BC_LOG_WARN, BC_LOG_ERR };

/* Program name used as the line prefix; level below which nothing prints. */
void bc_log_init(const char *progname, enum bc_log_level min);

void bc_log(enum bc_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define bc_info(...) bc_log(BC_LOG_INFO, __VA_ARGS__)
#define bc_warn(...) bc_log(BC_LOG_WARN, __VA_ARGS__)
#define bc_debug(...) bc_log(BC_LOG_DEBUG, __VA_ARGS__)

/* Print "prog: message" on stderr and exit(status). Start-up code only. */
void bc_fatal(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/*
 * Escape (src, len) into dst: printable ASCII except '\\' and '"' is kept,
 * everything else becomes \xHH; output is cut at dstlen - 1 bytes (never
 * in the middle of an escape) and always NUL-terminated. Safe for logs
 * and JSON strings. Returns dst.
 */
char *bc_escape(char *dst, size_t dstlen, const char *src, size_t len);

/*
 * For terminal text output of data that was escaped at its source (log
 * excerpts escaped by the agent): printable ASCII, backslash included, is
 * kept as is, so it is not escaped twice; any other byte becomes \xHH.
 */
char *bc_printable(char *dst, size_t dstlen, const char *src, size_t len);

/*
 * The one JSON string escaper (the text between the quotes; src is
 * untrusted). Valid UTF-8 (RFC 3629) passes through whole characters;
 * every byte that does not start a well-formed sequence (a stray
 * continuation byte, an overlong form, a surrogate, anything above
 * U+10FFFF, a sequence cut by the end of src) becomes \ufffd, one per
 * byte. Control characters (0x00-0x1f, 0x7f), '"' and '\\' are escaped
 * in one of two styles:
 *   BC_JSON_UHEX   always \u00HH ('"' is \u0022): the CLI's --json output
 *                  (docs/cli.md, Escaping), bc_json_escape()
 *   BC_JSON_SHORT  \" \\ \n \t \r, the other controls \u00HH: the hook
 *                  and webhook JSON (docs/hooks.md)
 * Printable ASCII other than '"' and '\\' is copied as is. The output is
 * cut at dstlen - 1 bytes, never in the middle of an escape or of a UTF-8
 * character, and is always NUL-terminated (when dstlen > 0); a byte of
 * input needs at most 6 bytes of output, so dstlen >= 6 * len + 1 never
 * cuts. Returns dst.
 */
enum bc_json_style { BC_JSON_UHEX, BC_JSON_SHORT };
char *bc_json_escape_as(char *dst, size_t dstlen, const char *src,
			size_t len, enum bc_json_style style);

/*
 * Length of the well-formed UTF-8 sequence at s (n > 0 bytes available;
 * RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
 * 1 for an ASCII byte, 0 when none starts there. The one UTF-8 check of
 * the escapers above and of the CLI's JSON output (cli/jout.c).
 */
size_t bc_utf8_seq(const unsigned char *s, size_t n);

/* bc_json_escape_as(..., BC_JSON_UHEX) */
char *bc_json_escape(char *dst, size_t dstlen, const char *src, size_t len);

#endif
