/*
 * event.h - what an attack event is, everywhere: the kinds, their names
 * on the wire of text (logs, metrics, the local datagram, JSON), the
 * default weight each kind has in a policy, and the event record the
 * parsers hand out and the agent reports.
 *
 * One table (bc_kinds) holds every kind's name and default weight; code
 * that needs a list of kinds loops over BC_KIND_FIRST..BC_KIND_MAX and
 * never spells a kind out. The numbers are part of the wire
 * (proto/bancluster.proto's Event.kind) and of the store: never renumber.
 * A kind read from outside (wire, datagram, store) is a number to check
 * against BC_KIND_FIRST..BC_KIND_MAX before it indexes anything;
 * bc_kind_name takes any int.
 */
#ifndef BC_EVENT_H
#define BC_EVENT_H

#include <stdint.h>

#include "common/addr.h"

enum bc_kind {
	BC_KIND_AUTH_FAIL = 1,    /* wrong user or password */
	BC_KIND_SENDER_VIOLATION, /* MAIL FROM not allowed, relay attempt */
	BC_KIND_AUTH_ABORT,       /* connection dropped inside/after AUTH */
	BC_KIND_AUTH_SUCCESS,     /* a good login */
};
#define BC_KIND_FIRST BC_KIND_AUTH_FAIL
#define BC_KIND_MAX BC_KIND_AUTH_SUCCESS
#define BC_KINDS (BC_KIND_MAX + 1) /* arrays indexed by kind; [0] unused */

struct bc_kind_info {
	const char *name;      /* "auth_fail", ... */
	double weight;         /* default policy weight; 0 = never counts */
};

/* Indexed by enum bc_kind; [0] is {NULL, 0}. */
extern const struct bc_kind_info bc_kinds[BC_KINDS];

/* The kind's name, or "?" for a value outside the table. */
const char *bc_kind_name(int k);

/* The kind named s (exact match), or 0 when s names none. */
int bc_kind_parse(const char *s);

/* "auth_fail, sender_violation, auth_abort or auth_success", for error
 * messages. */
const char *bc_kind_list(void);

struct bc_event {
	int64_t time_ms;     /* from the line (ms since the epoch), 0 if unknown */
	uint8_t kind;        /* enum bc_kind */
	struct bc_addr addr; /* client address, host prefix */
	char service[32];    /* "postfix/smtpd", "exim", "dovecot/imap", ... */
};

#endif
