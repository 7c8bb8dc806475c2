/*
 * addr.h - IPv4/IPv6 addresses and CIDR prefixes in one fixed-size record.
 *
 * A struct bc_addr always holds the canonical form: IPv4-mapped IPv6 is
 * turned into IPv4, host bits below the prefix are cleared, and the
 * address is stored in network byte order in the first 4 or 16 bytes.
 *
 * The parsers take untrusted text (log fields, datagrams, config, the
 * command line) as (ptr, len), read nothing beyond it and never resolve
 * names (inet_pton). Errors are -1, with a one-line reason in err where
 * the function takes one; nothing prints. A struct bc_addr_list owns its
 * array (bc_addr_list_free).
 */
#ifndef BC_ADDR_H
#define BC_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BC_ADDR_STRLEN 64 /* enough for "ffff:...:ffff/128" and a NUL */

struct bc_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t plen;   /* prefix length: 0..32 or 0..128 */
	uint8_t pad[2];
	uint8_t a[16];  /* network byte order; IPv4 uses a[0..3], rest zero */
};

/*
 * Parse "ADDR" or "ADDR/LEN" from (s, len) without needing a NUL.
 * Without /LEN the prefix is the full host length. IPv4-mapped IPv6
 * (::ffff:a.b.c.d, with a prefix >= 96) becomes IPv4. Host bits are
 * cleared. Returns 0, or -1 and a one-line reason in err.
 */
int bc_addr_parse(struct bc_addr *out, const char *s, size_t len, char *err,
		  size_t errlen);

/* Parse a plain host address (no prefix), as found in a log line. */
int bc_addr_parse_host(struct bc_addr *out, const char *s, size_t len);

/* Build from binary: family, 4 or 16 bytes, prefix. Normalizes. */
void bc_addr_from_bin(struct bc_addr *out, int family, const void *bin,
		      unsigned plen);

/* Format as "a.b.c.d" for host prefixes, "a.b.c.0/24" otherwise. */
const char *bc_addr_format(const struct bc_addr *a, char *buf, size_t len);

/* Maximum prefix for the family: 32 or 128. */
unsigned bc_addr_maxlen(const struct bc_addr *a);

/* Address bytes used by the family: 4 or 16. */
size_t bc_addr_bytes(const struct bc_addr *a);

/* Clear host bits below plen (and set plen). */
void bc_addr_mask(struct bc_addr *a, unsigned plen);

/* First and last address (inclusive) of the prefix, in network order. */
void bc_addr_range(const struct bc_addr *a, uint8_t first[16],
		   uint8_t last[16]);

/* True when prefix `outer` contains address or prefix `inner`. */
bool bc_addr_contains(const struct bc_addr *outer, const struct bc_addr *inner);

/* Equality of family, prefix and address (inline: every hash table's
 * probe calls it). */
static inline bool bc_addr_equal(const struct bc_addr *x,
				 const struct bc_addr *y)
{
	return x->family == y->family && x->plen == y->plen &&
	       memcmp(x->a, y->a, 16) == 0;
}

/*
 * Keyed hash of family, prefix length and address: SipHash (libsodium's
 * crypto_shorthash) under a key of BC_ADDR_HASH_KEYBYTES drawn for each
 * table, for tables whose keys an attacker picks (an IPv6 /32 holds
 * 2^32 /64s: with a public hash he could put them all in one chain).
 */
#define BC_ADDR_HASH_KEYBYTES 16
uint64_t bc_addr_hash(const struct bc_addr *a,
		      const uint8_t key[BC_ADDR_HASH_KEYBYTES]);

/* Total order: family, then address, then prefix (shorter first). */
int bc_addr_cmp(const struct bc_addr *x, const struct bc_addr *y);

/*
 * The address a client field of a log line stands for, normalised in
 * place (a must be a host address, as bc_addr_parse_host makes it):
 *   - IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d become the
 *     IPv4 address a.b.c.d (a dual-stack socket logs an IPv4 client this
 *     way; the kernel sees the IPv4 packet). ::1 stays the IPv6 loopback.
 *   - NAT64 addresses (64:ff9b::a.b.c.d, RFC 6052) stay the IPv6 /128;
 *     the embedded IPv4 address must itself be usable. Counting them per
 *     embedded host is the policy's part (bc_policy_key).
 * Returns -1, and leaves a unchanged, for an address no event may name:
 * unspecified and "this network" (0.0.0.0/8, ::), limited broadcast
 * (255.255.255.255), multicast (224.0.0.0/4, ff00::/8), link-local
 * (169.254.0.0/16, fe80::/10), and a prefix rather than a host.
 */
int bc_addr_client(struct bc_addr *a);

struct bc_addr_list; /* below */

/* 64:ff9b::/96, the well-known NAT64 prefix (RFC 6052). */
#define BC_ADDR_NAT64_WKP "64:ff9b::/96"

/*
 * True when a is an IPv6 address inside 64:ff9b::/96 or inside one of
 * the site's NAT64 prefixes (site may be NULL). Such an address stands
 * for one IPv4 host behind the translator: it is counted and banned as
 * itself, never widened to a /64.
 */
bool bc_addr_is_nat64(const struct bc_addr *a, const struct bc_addr_list *site);

/*
 * Check a site's list of NAT64 prefixes: IPv6 only, and of a length RFC
 * 6052 defines (32, 40, 48, 56, 64 or 96). Returns 0, or -1 and a
 * one-line reason naming the entry in err.
 */
int bc_addr_nat64_check(const struct bc_addr_list *l, char *err,
			size_t errlen);

/*
 * The IPv4 address embedded in a by a NAT64 prefix of length plen
 * (32, 40, 48, 56, 64 or 96; RFC 6052 section 2.2, bits 64..71 skipped).
 */
void bc_addr_nat64_v4(const struct bc_addr *a, unsigned plen, uint8_t v4[4]);

/*
 * A list of prefixes, such as an allow list: "127.0.0.0/8, ::1".
 * bc_addr_list_parse appends; entries are separated by commas or spaces.
 */
struct bc_addr_list {
	struct bc_addr *v;
	size_t n;
	size_t cap;
};
int bc_addr_list_parse(struct bc_addr_list *l, const char *s, char *err,
		       size_t errlen);
int bc_addr_list_add(struct bc_addr_list *l, const struct bc_addr *a);
bool bc_addr_list_match(const struct bc_addr_list *l, const struct bc_addr *a);
/* True when a shares any address with an entry (contains or is inside). */
bool bc_addr_list_overlaps(const struct bc_addr_list *l,
			   const struct bc_addr *a);
void bc_addr_list_free(struct bc_addr_list *l);

/*
 * Parse "HOST:PORT" (HOST an IPv4 address or [IPv6 address], PORT
 * 1..65535; no names). Fills ss/len when not NULL. Returns 0, or -1 with
 * a reason in err.
 */
int bc_addr_parse_hostport(const char *s, void *ss, unsigned *sslen, char *err,
			   size_t errlen);

#endif
