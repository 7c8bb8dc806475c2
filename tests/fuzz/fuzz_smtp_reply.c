/*
 * fuzz_smtp_reply.c - libFuzzer harness for the reply reader of `audit
 * smtp` (cli/audit_smtp_client.c): the input is what a hostile server
 * sends, written into one end of a socket pair whose other end is the
 * client's connection, so conn_fill, the line splitter and the reply
 * parser run as they do on a real socket. Every reply read is then taken
 * apart the way the checks do (bc_smtp_rtext, bc_smtp_reply_policy,
 * bc_smtp_reply_has, bc_smtp_parse_caps). Aborts when a reply breaks the
 * reader's contract: a code outside 200..599, more lines kept than
 * BC_AUDIT_REPLY_KEEP, a kept line not NUL-terminated within its slot,
 * or escaped text that is not printable ASCII. Seeds: tests/fuzz/smtp_reply/.
 * Built and run by `make fuzz`.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/audit_smtp_int.h"

#define FUZZ_INPUT_MAX 65536 /* well under a socket pair's buffer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable_or_abort(const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
	if (i == max)
		abort(); /* not terminated */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_smtp_conn *c;
	struct bc_smtp_reply r;
	struct bc_smtp_caps cp;
	char text[BC_AUDIT_DETAIL_MAX];
	int sv[2], i, k;

	if (size > FUZZ_INPUT_MAX)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
		abort();
	close(sv[1]); /* the server hangs up after its bytes */
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	c->fd = sv[0];
	c->ssl = NULL;
	c->timeout_ms = 1000;
	for (i = 0; i < (int)size + 1; i++) { /* every reply eats >= 4 bytes */
		if (bc_smtp_read_reply(c, &r) < 0) {
			if (r.code != 0)
				abort();
			break;
		}
		if (r.code < 200 || r.code > 599 || r.n < 1 ||
		    r.n > BC_AUDIT_REPLY_KEEP)
			abort();
		for (k = 0; k < r.n; k++)
			if (memchr(r.line[k], '\0', sizeof(r.line[k])) == NULL)
				abort();
		bc_smtp_rtext(&r, text, sizeof(text));
		printable_or_abort(text, sizeof(text));
		(void)bc_smtp_reply_policy(&r);
		(void)bc_smtp_reply_has(&r, "Client host rejected");
		bc_smtp_parse_caps(&r, &cp);
		printable_or_abort(cp.mechs, sizeof(cp.mechs));
	}
	bc_smtp_conn_close(c);
	free(c);
	return 0;
}
