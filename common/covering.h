/*
 * covering.h - the words unban uses for bans on wider prefixes that
 * contain an address (the coordinator's refusal and the CLI's line after
 * an unban that left such bans in place say it the same way):
 *
 *   inside 198.51.100.0/24 (fleet ban): use --covering to lift that ban
 *   inside 198.51.0.0/16 (fleet ban) and 198.51.100.0/24 (fleet ban):
 *     use --covering to lift those bans
 *
 * The prefixes are the caller's (the coordinator's ban table, or a reply
 * the CLI has range-checked); the text is built in the caller's buffer,
 * never longer than it: what does not fit is counted ("and 3 more").
 */
#ifndef BC_COVERING_H
#define BC_COVERING_H

#include <stddef.h>

#include "addr.h"

/* The most prefixes that can contain one prefix: /0 to /127. */
#define BC_COVERING_MAX 128

/*
 * "inside P (fleet ban), Q (fleet ban) and R (fleet ban): use --covering
 * to lift those bans" for the n prefixes of v (n >= 1), in their order,
 * into buf (len >= 1; always terminated). When the whole list does not
 * fit, as many as fit followed by "and N more"; when none fits,
 * "inside N fleet bans: ...", cut at len. Returns buf.
 */
const char *bc_covering_text(const struct bc_addr *v, size_t n, char *buf,
			     size_t len);

/*
 * The same with a label per prefix instead of "fleet ban" (labels[i]
 * for v[i], the caller's text: "local ban on mx1"); labels NULL is
 * bc_covering_text. When none fits: "inside N bans: ...".
 */
const char *bc_covering_text_labelled(const struct bc_addr *v,
				      const char *const *labels, size_t n,
				      char *buf, size_t len);

#endif
