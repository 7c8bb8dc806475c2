/*
 * test_hooks.c - the JSON of a change (coordinator/hooks.c): exact text
 * for a manual ban, a rule ban, a prefix, an unban and an expiry; text
 * fields through the escaper (UTF-8 passed through, control bytes
 * escaped, every kind of malformed UTF-8 replaced by U+FFFD); the
 * capacity limit; and which webhook URLs the configuration accepts.
 */
#include <string.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "coordinator/hooks.h"
#include "tap.h"

static struct bc_ban ban_of(const char *a, int64_t created, int64_t expires)
{
	struct bc_ban b;
	char err[128];

	memset(&b, 0, sizeof(b));
	bc_addr_parse(&b.addr, a, strlen(a), err, sizeof(err));
	b.created_ms = created;
	b.expires_ms = expires;
	return b;
}

/* The "reason" value of the JSON for reason r. */
static const char *reason_json(const char *r, char *out, size_t outlen)
{
	static char buf[BC_HOOK_JSON_MAX];
	struct bc_ban b = ban_of("192.0.2.1", 0, 0);
	struct bc_hook_event e = {false, &b, "manual:alice", r, "alice", "c", 1, 2, 0};
	const char *p, *q;

	out[0] = '\0';
	if (bc_hook_json(&e, buf, sizeof(buf)) == 0)
		return out;
	p = strstr(buf, "\"reason\":");
	q = p ? strstr(p, ",\"created\":") : NULL;
	if (p == NULL || q == NULL)
		return out;
	p += strlen("\"reason\":");
	snprintf(out, outlen, "%.*s", (int)(q - p), p);
	return out;
}

int main(void)
{
	static const struct {
		const char *in, *want;
	} text[] = {
		{"manual ban", "\"manual ban\""},
		{"M\xc3\xbcller", "\"M\xc3\xbcller\""},                 /* ü kept */
		{"\xe2\x82\xac \xf0\x9f\x98\x80", "\"\xe2\x82\xac \xf0\x9f\x98\x80\""}, /* € and U+1F600 */
		{"\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""},           /* U+10FFFF */
		{"a\"b\\c", "\"a\\\"b\\\\c\""},
		{"l1\nl2\r\t", "\"l1\\nl2\\r\\t\""},
		{"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
		{"\x1b[31mred", "\"\\u001b[31mred\""},
		{"bad\xff", "\"bad\\ufffd\""},
		{"\xc3", "\"\\ufffd\""},                                 /* cut sequence */
		{"\xc3(", "\"\\ufffd(\""},
		{"\xc0\xaf", "\"\\ufffd\\ufffd\""},                       /* overlong '/' */
		{"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""},            /* overlong */
		{"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},            /* surrogate */
		{"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* > U+10FFFF */
		{"\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""},
		{"\x80x", "\"\\ufffdx\""},                                /* lone continuation */
		{"$(id) `id`; rm -rf /", "\"$(id) `id`; rm -rf /\""},
	};
	char out[4096], buf[BC_HOOK_JSON_MAX], err[256];
	size_t i, n;

	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		CHECK(strcmp(reason_json(text[i].in, out, sizeof(out)), text[i].want) == 0,
		      "reason %zu: got %s, want %s", i, out, text[i].want);

	{
		struct bc_ban b = ban_of("198.51.100.7", 1796594154340, 1796597754326);
		struct bc_hook_event e = {false, &b, "manual:alice", "test", "alice",
					  "bancluster", 1796594154, 1, 1796594154340};

		n = bc_hook_json(&e, buf, sizeof(buf));
		CHECK(n == strlen(buf) && strcmp(buf,
			"{\"schema_version\":1,\"action\":\"ban\",\"address\":\"198.51.100.7\","
			"\"prefix\":32,\"family\":\"ipv4\",\"origin\":\"manual\",\"rule\":null,"
			"\"signer\":\"alice\",\"reason\":\"test\","
			"\"created\":\"2026-12-06T21:55:54.340Z\",\"expires\":\"2026-12-06T22:55:54.326Z\","
			"\"time\":\"2026-12-06T21:55:54.340Z\",\"sequence\":1,\"epoch\":1796594154,"
			"\"cluster\":\"bancluster\"}\n") == 0,
		      "manual ban: exact JSON, one line");
		CHECK(bc_hook_json(&e, buf, n) == 0, "one byte short of room: 0");
		CHECK(bc_hook_json(&e, buf, n + 1) == n, "exactly enough room: the JSON");
	}
	{
		struct bc_ban b = ban_of("2001:db8:7::/64", 1000, 0);
		struct bc_hook_event e = {false, &b, "rule:maxretry", "5 weighted events", "",
					  "c", 9, 42, 1000};

		bc_hook_json(&e, buf, sizeof(buf));
		CHECK(strstr(buf, "\"address\":\"2001:db8:7::\",\"prefix\":64,\"family\":\"ipv6\","
				  "\"origin\":\"rule\",\"rule\":\"maxretry\",\"signer\":null,") != NULL,
		      "rule ban of an IPv6 prefix: address, prefix, family, rule, no signer");
		CHECK(strstr(buf, "\"expires\":null,") != NULL, "permanent: expires null");
	}
	{
		struct bc_ban b = ban_of("203.0.113.0/24", 1000, 2000);
		struct bc_hook_event e = {false, &b, "rule:subnet", "r", "", "c", 1, 3, 1000};

		bc_hook_json(&e, buf, sizeof(buf));
		CHECK(strstr(buf, "\"address\":\"203.0.113.0\",\"prefix\":24,") != NULL &&
			      strstr(buf, "\"rule\":\"subnet\"") != NULL,
		      "prefix escalation: /24, rule subnet");
	}
	{
		struct bc_ban b = ban_of("198.51.100.7", 1000, 2000);
		struct bc_hook_event e = {true, &b, "unban", NULL, "bob", "c", 1, 4, 1500};

		bc_hook_json(&e, buf, sizeof(buf));
		CHECK(strstr(buf, "\"action\":\"unban\"") != NULL &&
			      strstr(buf, "\"origin\":\"manual\",\"rule\":null,\"signer\":\"bob\",\"reason\":null,") != NULL,
		      "unban: action unban, origin manual, signer, reason null");
		e.origin = "expire";
		e.signer = "";
		bc_hook_json(&e, buf, sizeof(buf));
		CHECK(strstr(buf, "\"origin\":\"expiry\",\"rule\":null,\"signer\":null,\"reason\":null,") != NULL,
		      "expiry: origin expiry, no signer, reason null");
	}
	{
		/* the longest reason the store keeps, all escapes: still fits */
		char r[512];
		struct bc_ban b = ban_of("192.0.2.1", 0, 0);
		struct bc_hook_event e = {false, &b, "manual:x", r, "x", "c", 1, 1, 0};

		memset(r, 1, sizeof(r) - 1);
		r[sizeof(r) - 1] = '\0';
		CHECK(bc_hook_json(&e, buf, sizeof(buf)) > 511 * 6,
		      "511 control bytes (6 bytes each escaped) fit BC_HOOK_JSON_MAX");
	}

	{
		static const struct {
			const char *url;
			bool ok;
		} urls[] = {
			{"https://chat.example.org/hooks/x", true},
			{"http://127.0.0.1:8080/bancluster", true},
			{"https://[2001:db8::1]:8443/h?k=v", true},
			{"ftp://example.org/x", false},
			{"file:///etc/passwd", false},
			{"https://", false},
			{"https://exa mple.org/", false},
			{"https://example.org/\x01", false},
			{"https://example.org/\xc3\xbc", false},
			{"example.org/hook", false},
			{"", false},
		};

		for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
			CHECK(bc_hooks_url_ok(urls[i].url, err, sizeof(err)) == urls[i].ok,
			      "webhook \"%s\": %s (%s)", urls[i].url,
			      urls[i].ok ? "accepted" : "refused", err);
	}
	return tap_done();
}
