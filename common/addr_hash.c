/*
 * addr_hash.c - bc_addr_hash (addr.h): apart from addr.c so that what
 * links the address functions alone (the parsers' fuzz targets) needs
 * no libsodium.
 */
#include "addr.h"

#include <sodium.h>
#include <string.h>

_Static_assert(BC_ADDR_HASH_KEYBYTES == crypto_shorthash_KEYBYTES,
	       "bc_addr_hash takes a crypto_shorthash key");

uint64_t bc_addr_hash(const struct bc_addr *a,
		      const uint8_t key[BC_ADDR_HASH_KEYBYTES])
{
	uint8_t in[18], out[crypto_shorthash_BYTES];
	uint64_t h;

	in[0] = a->family;
	in[1] = a->plen;
	memcpy(in + 2, a->a, 16);
	crypto_shorthash(out, in, sizeof(in), key);
	memcpy(&h, out, sizeof(h));
	return h;
}
