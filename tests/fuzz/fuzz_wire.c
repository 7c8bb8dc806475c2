/*
 * fuzz_wire.c - libFuzzer harness for the envelope decoder: every frame
 * goes through bc_wire_open with a ring holding one pinned key, on every
 * channel and type mask. Also checks that a rejected frame never changes
 * the replay counter. The same bytes are also decoded as a payload and
 * range-checked, as they would be behind a valid signature, and peeked
 * at as an agent does before the signature check (bc_wire_peek_update).
 * Built and run by `make fuzz`.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bc_keyring ring;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Bancluster__Payload *p = NULL;
	struct bc_peer *from = NULL;
	uint64_t before;
	int chan;

	if (ring.n == 0) {
		struct bc_peer pe;
		uint8_t sk[64];

		if (sodium_init() < 0)
			abort();
		memset(&pe, 0, sizeof(pe));
		strcpy(pe.name, "mx1");
		/* a fixed key so the corpus can hold validly signed frames */
		crypto_sign_seed_keypair(pe.pk, sk, (const uint8_t *)"bancluster-fuzz-seed-0123456789!");
		crypto_generichash(pe.id, sizeof(pe.id), pe.pk, 32, NULL, 0);
		bc_keyring_add(&ring, &pe);
	}
	/* the payload decoder and range checks behind a valid signature */
	p = bancluster__payload__unpack(NULL, size, data);
	if (p != NULL) {
		(void)bc_wire_check_ranges(p);
		bancluster__payload__free_unpacked(p, NULL);
		p = NULL;
	}
	{
		uint64_t e, q;

		(void)bc_wire_peek_update(data, size, &e, &q);
	}
	for (chan = 0; chan < 3; chan++) {
		before = ring.v[0].last_counter[chan];
		if (bc_wire_open(&ring, data, size, BC_WIRE_MAX_FRAME, 0xffffffffu,
				 (enum bc_chan)chan, BC_CLUSTER_DEFAULT, 0, &p,
				 &from) == BC_REJ_OK) {
			if (p == NULL || from != &ring.v[0] ||
			    bc_wire_check_ranges(p) != 0)
				abort();
			bancluster__payload__free_unpacked(p, NULL);
		} else if (ring.v[0].last_counter[chan] != before || p != NULL) {
			abort();
		}
	}
	return 0;
}
