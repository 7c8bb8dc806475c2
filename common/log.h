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

/* Escape for a JSON string value: like bc_escape but uses \u00HH. */
char *bc_json_escape(char *dst, size_t dstlen, const char *src, size_t len);

#endif
