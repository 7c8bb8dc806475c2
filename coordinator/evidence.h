/*
 * evidence.h - the events behind a decision, read back from the signed
 * reports the store keeps (evidence.c).
 */
#ifndef BC_COORD_EVIDENCE_H
#define BC_COORD_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/coord.h"

/*
 * Hand the events behind policy references (report row << 16 | index) to
 * cb, in the order given. Returns how many were found.
 */
size_t bc_coord_events(struct bc_coord *c, const uint64_t *refs, size_t n,
		       bc_store_event_cb cb, void *arg);
/* Empty the cache of decoded reports (after a prune; at exit). */
void bc_coord_events_forget(struct bc_coord *c);

#endif
