/*
 * digest.h - e-mail digest of new fleet bans through the local sendmail
 * binary: argv only (never a shell), the recipient validated strictly,
 * attacker-influenced text (reasons) made printable and cut, at most one
 * mail per interval and BC_DIGEST_MAX_LINES bans listed in it.
 */
#ifndef BC_DIGEST_H
#define BC_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/banmap.h"

#define BC_DIGEST_MAX_LINES 200
#define BC_DIGEST_REASON 120

struct bc_digest_line {
	struct bc_addr addr;
	int64_t expires_ms;
	char origin[64];
	char reason[BC_DIGEST_REASON];
};

struct bc_digest {
	struct bc_digest_line v[BC_DIGEST_MAX_LINES];
	size_t n;
	uint64_t more;     /* bans beyond the listed ones */
	int64_t next_ms;   /* monotonic: earliest next mail */
	int child;         /* pid of a sendmail not yet reaped, or 0 */
	uint64_t sent, failed;
};

/* Remember one new ban for the next digest. */
void bc_digest_add(struct bc_digest *d, const struct bc_ban *b,
		   const char *origin, const char *reason);

/*
 * When the interval has passed and bans are pending, run
 * `sendmail -oi -- TO` with the digest on its standard input. Returns 1
 * when a mail was handed over, 0 when nothing was due, -1 on failure
 * (err says why). Also reaps the previous sendmail.
 */
int bc_digest_flush(struct bc_digest *d, const char *sendmail, const char *to,
		    const char *cluster, int64_t interval_ms, int64_t now_mono,
		    char *err, size_t errlen);

#endif
