/*
 * test_etcd.c - the etcd client's parts that need no server
 * (coordinator/etcd.h, etcd_int.h): endpoint lists, strict integers and
 * base64 from JSON, prefix ends, kv and range parsing, and a call with
 * every endpoint refusing. The calls against a real cluster are in
 * tests/integration/test_etcd.sh.
 */
#include "coordinator/etcd.h"
#include "coordinator/etcd_int.h"
#include "common/clock.h"
#include "tests/unit/tap.h"

#include <inttypes.h>
#include <string.h>

static void endpoints(void)
{
	static const struct { const char *in; int n; const char *first, *want; } c[] = {
		{"https://a:2379, https://b:2379  http://c:1/", 3, "https://a:2379", NULL},
		{"http://127.0.0.1:23791", 1, "http://127.0.0.1:23791", NULL},
		{"", 0, NULL, "no endpoint"},
		{" , ", 0, NULL, "no endpoint"},
		{"ftp://a:1", 0, NULL, "expected http://host:port"},
		{"a:2379", 0, NULL, "expected http://host:port"},
		{"https://", 0, NULL, "expected scheme://host:port"},
		{"https://a:1/v3", 0, NULL, "expected scheme://host:port"},
	};
	char err[BC_ETCD_ERR_MAX];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct bc_etcd_opts o = {.endpoints = c[i].in};
		struct bc_etcd *e;

		err[0] = '\0';
		e = bc_etcd_new(&o, err, sizeof(err));
		if (c[i].want == NULL)
			CHECK(e && (int)bc_etcd_endpoint_count(e) == c[i].n &&
				      strcmp(bc_etcd_endpoint(e), c[i].first) == 0,
			      "endpoints \"%s\": %d, first %s", c[i].in, c[i].n, c[i].first);
		else
			CHECK(e == NULL && strstr(err, c[i].want), "endpoints \"%s\" refused: %s", c[i].in, err);
		bc_etcd_free(&e);
		CHECK(e == NULL, "bc_etcd_free sets NULL");
	}
	{
		char many[17 * 20] = "";
		struct bc_etcd_opts o = {.endpoints = many};

		for (int i = 0; i < 17; i++)
			snprintf(many + strlen(many), sizeof(many) - strlen(many), "http://h%d:1,", i);
		CHECK(bc_etcd_new(&o, err, sizeof(err)) == NULL && strstr(err, "more than 16"),
		      "17 endpoints refused: %s", err);
	}
}

static void integers(void)
{
	static const struct { const char *json; int rc; int64_t v; } c[] = {
		{"{\"x\":\"12\"}", 0, 12},
		{"{\"x\":\"-5\"}", 0, -5},
		{"{\"x\":7}", 0, 7},
		{"{}", 0, 0},
		{"{\"x\":null}", 0, 0},
		{"{\"x\":\"9223372036854775807\"}", 0, INT64_MAX},
		{"{\"x\":\"9223372036854775808\"}", -1, 0},
		{"{\"x\":\"99999999999999999999999\"}", -1, 0},
		{"{\"x\":\"12x\"}", -1, 0},
		{"{\"x\":\" 1\"}", -1, 0},
		{"{\"x\":\"+1\"}", -1, 0},
		{"{\"x\":\"\"}", -1, 0},
		{"{\"x\":true}", -1, 0},
		{"{\"x\":1.5}", -1, 0},
		{"{\"x\":[1]}", -1, 0},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		json_t *j = json_loads(c[i].json, 0, NULL);
		int64_t v = 99;
		int rc = bc_etcd_j_i64(j, "x", &v);

		CHECK(j && rc == c[i].rc && (rc < 0 || v == c[i].v), "int64 %s: rc %d value %" PRId64,
		      c[i].json, rc, v);
		json_decref(j);
	}
	{
		json_t *j = json_loads("{\"a\":\"18446744073709551615\",\"b\":\"-1\",\"c\":-1}", 0, NULL);
		uint64_t u = 0;

		CHECK(bc_etcd_j_u64(j, "a", &u) == 0 && u == UINT64_MAX, "uint64 max");
		CHECK(bc_etcd_j_u64(j, "b", &u) < 0 && bc_etcd_j_u64(j, "c", &u) < 0, "uint64 negative refused");
		json_decref(j);
	}
}

static void base64(void)
{
	json_t *j = json_loads("{\"a\":\"YQ==\",\"bad\":\"!!!\",\"num\":5,\"part\":\"YQ\"}", 0, NULL);
	uint8_t *b = NULL;
	size_t n = 9;

	CHECK(bc_etcd_unb64(j, "a", &b, &n) == 0 && n == 1 && b[0] == 'a' && b[1] == 0, "base64 YQ== is a");
	free(b);
	CHECK(bc_etcd_unb64(j, "absent", &b, &n) == 0 && n == 0 && b && b[0] == 0, "absent is empty");
	free(b);
	CHECK(bc_etcd_unb64(j, "bad", &b, &n) < 0 && b == NULL, "base64 !!! refused");
	CHECK(bc_etcd_unb64(j, "num", &b, &n) < 0, "base64 of a number refused");
	CHECK(bc_etcd_unb64(j, "part", &b, &n) < 0, "base64 without padding refused");
	json_decref(j);
}

static bool b64_is(json_t *s, const void *want, size_t n)
{
	json_t *o = json_object();
	uint8_t *b = NULL;
	size_t len = 0;
	bool same;

	json_object_set_new(o, "k", s);
	same = bc_etcd_unb64(o, "k", &b, &len) == 0 && len == n && memcmp(b, want, n) == 0;
	free(b);
	json_decref(o);
	return same;
}

static void prefixes(void)
{
	CHECK(b64_is(bc_etcd_prefix_end("ab", 2), "ac", 2), "prefix end of ab is ac");
	CHECK(b64_is(bc_etcd_prefix_end("a\xff", 2), "b", 1), "prefix end of a 0xff is b");
	CHECK(b64_is(bc_etcd_prefix_end("\xff\xff", 2), "\0", 1), "prefix end of 0xff 0xff is NUL (to the end)");
	{
		json_t *o = json_object();

		bc_etcd_set_key(o, "", 0, true);
		CHECK(b64_is(json_incref(json_object_get(o, "key")), "\0", 1) &&
			      b64_is(json_incref(json_object_get(o, "range_end")), "\0", 1),
		      "empty prefix: key NUL, range_end NUL (every key)");
		json_decref(o);
	}
}

static void parse(void)
{
	static const struct { const char *json; int rc; } c[] = {
		{"{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"YQ==\",\"value\":\"Yg==\",\"mod_revision\":\"9\",\"lease\":\"3\"}],\"count\":\"1\"}", 0},
		{"{\"header\":{\"revision\":\"9\"}}", 0},
		{"{\"header\":\"x\"}", -1},
		{"{\"kvs\":{}}", -1},
		{"{\"kvs\":[5]}", -1},
		{"{\"kvs\":[{\"key\":\"YQ==\",\"version\":[]}]}", -1},
		{"{\"kvs\":[{\"key\":\"YQ==\"},{\"key\":\"%%%\"}]}", -1},
		{"{\"more\":\"yes\"}", -1},
		{"[]", -1},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		json_t *j = json_loads(c[i].json, 0, NULL);
		struct bc_etcd_range r;
		int rc = bc_etcd_range_parse(j, &r);

		CHECK(rc == c[i].rc && (rc < 0 ? r.n == 0 && r.kvs == NULL : true), "range %s: %d", c[i].json, rc);
		if (rc == 0 && i == 0)
			CHECK(r.revision == 9 && r.count == 1 && r.n == 1 && r.kvs[0].key_len == 1 &&
				      r.kvs[0].value[0] == 'b' && r.kvs[0].lease == 3 && r.kvs[0].mod_revision == 9,
			      "range fields read");
		bc_etcd_range_free(&r);
		json_decref(j);
	}
}

static void refused(void)
{
	struct bc_etcd_opts o = {.endpoints = "http://127.0.0.1:1, http://127.0.0.1:2", .timeout_ms = 300};
	char err[BC_ETCD_ERR_MAX] = "";
	struct bc_etcd *e = bc_etcd_new(&o, err, sizeof(err));
	int64_t t0 = bc_mono_ms(), rev = 0;
	int rc = e ? bc_etcd_put(e, "k", 1, "v", 1, 0, &rev, err, sizeof(err)) : -2;
	int64_t took = bc_mono_ms() - t0;

	CHECK(rc == -1 && strstr(err, "http://127.0.0.1:") && !bc_etcd_outcome_unknown(e) && took < 1500,
	      "every endpoint refusing: error in %" PRId64 " ms, not of unknown outcome: %s", took, err);
	CHECK(bc_etcd_put(e, "k", 1, "v", 1, 0, NULL, NULL, 0) == -1, "no error buffer: -1 all the same");
	o.endpoints = "";
	CHECK(bc_etcd_new(&o, NULL, 0) == NULL, "bc_etcd_new without an error buffer: NULL");
	bc_etcd_free(&e);
}

int main(void)
{
	endpoints();
	integers();
	base64();
	prefixes();
	parse();
	refused();
	return tap_done();
}
