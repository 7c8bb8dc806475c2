/*
 * test_cluster_codec.c - what cluster mode reads back from etcd
 * (coordinator/cluster_codec.h): decision records and event batches.
 * Valid ones decode field by field (BCE2 batches: every kind byte and
 * time delta, IPv4 and IPv6, read back as encoded; BCE1 still read);
 * every truncation of a valid batch,
 * a bad magic, an empty or NUL-holding name, a count beyond the bytes
 * left, and records with a missing, mistyped, duplicated or NUL-holding
 * field, an unknown action or a bad address are refused whole (no
 * report handed over from a batch that is malformed anywhere).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "coordinator/cluster_codec.h"
#include "tap.h"

static size_t put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return 8;
}

/* A batch's start: magic, node (2 bytes), first agent "mx1" */
static size_t start(uint8_t *b, const char *magic, const char *node)
{
	size_t o = 0;

	memcpy(b, magic, 4);
	o = 4;
	b[o++] = 2;
	memcpy(b + o, node, 2);
	o += 2;
	b[o++] = 3;
	memcpy(b + o, "mx1", 3);
	return o + 3;
}

/* node "c1"; report mx1 (recv 1000, row 7, id 42) with one IPv4 and one
 * IPv6 event; report mx2 (recv 2000, row 0, id 43) with none */
static size_t batch(uint8_t *b)
{
	size_t o = start(b, "BCE1", "c1");
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
				       0, 0, 0, 0, 0, 0, 0, 0x05};

	o += put64(b + o, 1000);
	o += put64(b + o, 7);
	o += put64(b + o, 42);
	b[o++] = 2; b[o++] = 0; b[o++] = 0; b[o++] = 0;
	b[o++] = 4; b[o++] = 1;
	o += put64(b + o, 900);
	memset(b + o, 0, 16);
	b[o] = 203; b[o + 1] = 0; b[o + 2] = 113; b[o + 3] = 7;
	o += 16;
	b[o++] = 6; b[o++] = 3;
	o += put64(b + o, 950);
	memcpy(b + o, v6, 16);
	o += 16;
	b[o++] = 3;
	memcpy(b + o, "mx2", 3);
	o += 3;
	o += put64(b + o, 2000);
	o += put64(b + o, 0);
	o += put64(b + o, 43);
	b[o++] = 0; b[o++] = 0; b[o++] = 0; b[o++] = 0;
	return o;
}

struct seen {
	int n;
	struct cl_ev_report r[4];
};

static void take(void *arg, const struct cl_ev_report *r)
{
	struct seen *s = arg;

	if (s->n < 4)
		s->r[s->n] = *r;
	s->n++;
}

static void test_batch(void)
{
	uint8_t b[512], c[512];
	size_t len = batch(b), cut;
	char node[CL_NAME_MAX], t[64];
	struct seen s = {0};
	struct bc_policy_event pe;
	int bad = 0;

	CHECK(cl_ev_parse(b, len, node, take, &s) == 0, "valid batch parses");
	CHECK(strcmp(node, "c1") == 0, "node c1 (%s)", node);
	CHECK(s.n == 2, "two reports (%d)", s.n);
	CHECK(strcmp(s.r[0].agent, "mx1") == 0 && s.r[0].recv_ms == 1000 &&
		      s.r[0].row == 7 && s.r[0].report_id == 42 && s.r[0].n == 2,
	      "report 1: mx1, recv 1000, row 7, id 42, 2 events");
	CHECK(strcmp(s.r[1].agent, "mx2") == 0 && s.r[1].report_id == 43 &&
		      s.r[1].n == 0, "report 2: mx2, id 43, no event");
	size_t pos = 0;

	CHECK(!s.r[0].compact && s.r[0].reclen == 2 * CL_EV_REC1, "BCE1: 2 records of 26 bytes");
	CHECK(cl_ev_next(&s.r[0], &pos, &pe) == 1 && pe.addr.family == AF_INET &&
		      pe.addr.plen == 32 && pe.time_ms == 900 && pe.kind == 1 &&
		      strcmp(bc_addr_format(&pe.addr, t, sizeof(t)), "203.0.113.7") == 0,
	      "event 1: 203.0.113.7, kind 1, time 900 (%s)", t);
	CHECK(cl_ev_next(&s.r[0], &pos, &pe) == 1 && pe.addr.family == AF_INET6 &&
		      pe.kind == 3 &&
		      strcmp(bc_addr_format(&pe.addr, t, sizeof(t)), "2001:db8::5") == 0,
	      "event 2: 2001:db8::5, kind 3 (%s)", t);
	CHECK(cl_ev_next(&s.r[0], &pos, &pe) == 0, "no event 3");
	/* every truncation but the cut between the two reports is refused,
	 * and hands over nothing */
	for (cut = 0; cut < len; cut++) {
		struct seen z = {0};
		int rc = cl_ev_parse(b, cut, node, take, &z);

		if (cut == 7 || cut == len - (1 + 3 + CL_EV_REPORT_HDR)) {
			/* the node alone, or the first report whole */
			if (rc != 0 || z.n != (cut == 7 ? 0 : 1))
				bad++;
		} else if (rc != -1 || z.n != 0) {
			bad++;
		}
	}
	CHECK(bad == 0, "every truncation refused whole but at the two report boundaries (%d wrong)", bad);
	memcpy(c, b, len);
	c[0] = 'X';
	CHECK(cl_ev_parse(c, len, node, NULL, NULL) < 0, "bad magic refused");
	memcpy(c, b, len);
	c[4] = 0;
	CHECK(cl_ev_parse(c, len, node, NULL, NULL) < 0, "empty node refused");
	memcpy(c, b, len);
	c[5] = 0;
	CHECK(cl_ev_parse(c, len, node, NULL, NULL) < 0, "NUL in the node refused");
	memcpy(c, b, len);
	c[8] = 0; /* mx1 -> m\0 1 */
	CHECK(cl_ev_parse(c, len, node, NULL, NULL) < 0, "NUL in an agent refused");
	memcpy(c, b, len);
	c[7 + 1 + 3 + 24] = 3; /* 3 events where 2 are */
	CHECK(cl_ev_parse(c, len, node, NULL, NULL) < 0, "a count beyond the bytes refused");
	memcpy(c, b, len);
	c[7 + 1 + 3 + 24 + 3] = 0xff; /* n = 2 + 0xff << 24 */
	CHECK(cl_ev_parse(c, len, node, NULL, NULL) < 0, "a huge count refused");
	memcpy(c, b, len);
	c[7 + 1 + 3 + 28] = 5; /* family 5 */
	s.n = 0;
	pos = 0;
	CHECK(cl_ev_parse(c, len, node, take, &s) == 0 &&
		      cl_ev_next(&s.r[0], &pos, &pe) < 0 &&
		      cl_ev_next(&s.r[0], &pos, &pe) == 1 && pe.kind == 3 &&
		      cl_ev_next(&s.r[0], &pos, &pe) == 0,
	      "a record of family 5 is refused alone, the next one read");
}

/* A BCE2 batch of node "c2": report mx1 (recv R, row 5, id 77) with the
 * n events ev[], then report mx2 (id 78) with none. */
static size_t batch2(uint8_t *b, int64_t recv, const struct bc_policy_event *ev,
		     size_t n)
{
	size_t o = start(b, "BCE2", "c2"), at, bytes = 0, i;

	o += put64(b + o, (uint64_t)recv);
	o += put64(b + o, 5);
	o += put64(b + o, 77);
	b[o++] = (uint8_t)n; b[o++] = (uint8_t)(n >> 8); b[o++] = 0; b[o++] = 0;
	at = o;
	o += 4;
	for (i = 0; i < n; i++) {
		size_t l = cl_ev_encode(b + o, recv, &ev[i]);

		o += l;
		bytes += l;
	}
	b[at] = (uint8_t)bytes; b[at + 1] = (uint8_t)(bytes >> 8);
	b[at + 2] = (uint8_t)(bytes >> 16); b[at + 3] = 0;
	b[o++] = 3;
	memcpy(b + o, "mx2", 3);
	o += 3;
	o += put64(b + o, (uint64_t)recv);
	o += put64(b + o, 0);
	o += put64(b + o, 78);
	memset(b + o, 0, 8);
	return o + 8;
}

static void test_batch2(void)
{
	/* event times around the receive time: the usual (a few seconds
	 * before), after it, and the extremes a 64-bit delta can take */
	static const int64_t dt[] = {0, -1, 1, -63, 64, -64, 65, -8191, 8192,
				     -2000, -7999, 3600000, -86400000,
				     INT64_MAX, INT64_MIN, INT64_MAX - 1,
				     INT64_MIN + 1};
	static const int64_t recvs[] = {1765140000000, 0, 1, INT64_MAX, INT64_MIN};
	enum { N = sizeof(dt) / sizeof(dt[0]) * 2 };
	struct bc_policy_event ev[N], pe;
	static uint8_t b[N * CL_EV_REC_MAX + 256], c[sizeof(b)];
	char node[CL_NAME_MAX];
	size_t i, r, len, pos, cut;
	int wrong = 0, bad = 0, short_ok = 0;

	for (r = 0; r < sizeof(recvs) / sizeof(recvs[0]); r++) {
		struct seen s = {0};

		for (i = 0; i < N; i++) {
			memset(&ev[i], 0, sizeof(ev[i]));
			ev[i].addr.family = i % 2 ? AF_INET6 : AF_INET;
			ev[i].addr.plen = i % 2 ? 128 : 32;
			for (size_t j = 0; j < 16; j++)
				ev[i].addr.a[j] = i % 2 || j < 4 ? (uint8_t)(i * 7 + j + 1) : 0;
			ev[i].kind = (uint8_t)(i * 37);
			/* time = recv + dt, wrapping as the encoder does */
			ev[i].time_ms = (int64_t)((uint64_t)recvs[r] + (uint64_t)dt[i / 2]);
		}
		len = batch2(b, recvs[r], ev, N);
		if (cl_ev_parse(b, len, node, take, &s) != 0 || s.n != 2 ||
		    strcmp(node, "c2") != 0 || !s.r[0].compact || s.r[0].n != N ||
		    s.r[0].report_id != 77 || s.r[1].n != 0 || s.r[1].report_id != 78) {
			wrong++;
			continue;
		}
		for (i = 0, pos = 0; i < N; i++)
			if (cl_ev_next(&s.r[0], &pos, &pe) != 1 ||
			    pe.time_ms != ev[i].time_ms || pe.kind != ev[i].kind ||
			    pe.addr.family != ev[i].addr.family ||
			    pe.addr.plen != ev[i].addr.plen ||
			    memcmp(pe.addr.a, ev[i].addr.a, 16) != 0)
				wrong++;
		if (cl_ev_next(&s.r[0], &pos, &pe) != 0)
			wrong++;
	}
	CHECK(wrong == 0, "BCE2: %d events (IPv4, IPv6, 34 kind bytes, time deltas 0 to "
	      "INT64_MIN/MAX) at 5 receive times read back as written (%d wrong)", N, wrong);
	/* the size that matters: an IPv4 event of the last 8 s in 8 bytes */
	memset(&pe, 0, sizeof(pe));
	pe.addr.family = AF_INET;
	pe.time_ms = 1765140000000 - 7999;
	CHECK(cl_ev_encode(c, 1765140000000, &pe) == 8, "an IPv4 event 8 s old: 8 bytes (BCE1: 26)");
	pe.addr.family = AF_INET6;
	pe.time_ms = INT64_MIN;
	CHECK(cl_ev_encode(c, INT64_MAX, &pe) <= CL_EV_REC_MAX, "the longest record fits CL_EV_REC_MAX");

	/* truncations: refused whole but at the report boundaries */
	len = batch2(b, 1765140000000, ev, N);
	for (cut = 0; cut < len; cut++) {
		struct seen z = {0};
		int rc = cl_ev_parse(b, cut, node, take, &z);

		if (cut == 7 || cut == len - (1 + 3 + CL_EV_REPORT_HDR + 4)) {
			if (rc != 0 || z.n != (cut == 7 ? 0 : 1))
				bad++;
			else
				short_ok++;
		} else if (rc != -1 || z.n != 0) {
			bad++;
		}
	}
	CHECK(bad == 0 && short_ok == 2, "BCE2: every truncation refused whole but at the two "
	      "report boundaries (%d wrong)", bad);
	{
		size_t hdr = 7 + 1 + 3 + CL_EV_REPORT_HDR; /* records' bytes at hdr */
		size_t rec = hdr + 4;                     /* the first record */
		struct seen z = {0};

		memcpy(c, b, len);
		c[rec] = 2; /* flags: neither IPv4 nor IPv6 */
		CHECK(cl_ev_parse(c, len, node, take, &z) < 0 && z.n == 0,
		      "BCE2: a record with unknown flags refuses the batch");
		memcpy(c, b, len);
		c[hdr] ^= 1; /* the records' bytes off by one */
		CHECK(cl_ev_parse(c, len, node, NULL, NULL) < 0,
		      "BCE2: records' bytes that do not match the records refused");
		memcpy(c, b, len);
		c[hdr - 4] ^= 1; /* one record more or fewer than the bytes hold */
		CHECK(cl_ev_parse(c, len, node, NULL, NULL) < 0,
		      "BCE2: a count that does not match the records refused");
		memcpy(c, b, len);
		c[hdr + 3] = 0x80; /* 2 GiB of records */
		CHECK(cl_ev_parse(c, len, node, NULL, NULL) < 0,
		      "BCE2: records' bytes beyond the batch refused");
	}
	{
		/* a varint of 11 bytes, and one of 10 whose last byte
		 * overflows 64 bits: refused */
		uint8_t v[64];
		size_t o = 0, k;

		memcpy(v, "BCE2\x01" "c\x01" "a", 8);
		o = 8;
		memset(v + o, 0, 24);
		o += 24;
		v[o++] = 1; v[o++] = 0; v[o++] = 0; v[o++] = 0; /* one record */
		v[o++] = 2 + 11 + 4; v[o++] = 0; v[o++] = 0; v[o++] = 0;
		v[o++] = 0; v[o++] = 1;
		for (k = 0; k < 10; k++)
			v[o++] = 0x80;
		v[o++] = 0x00;
		memcpy(v + o, "\xc0\x00\x02\x01", 4);
		o += 4;
		CHECK(cl_ev_parse(v, o, node, NULL, NULL) < 0, "BCE2: an 11-byte varint refused");
		o -= 4 + 11;
		v[o - 4 - 2] = 2 + 10 + 4;
		for (k = 0; k < 9; k++)
			v[o++] = 0xff;
		v[o++] = 0x02;
		memcpy(v + o, "\xc0\x00\x02\x01", 4);
		o += 4;
		CHECK(cl_ev_parse(v, o, node, NULL, NULL) < 0,
		      "BCE2: a 10-byte varint over 64 bits refused");
		v[o - 5] = 0x01;
		CHECK(cl_ev_parse(v, o, node, NULL, NULL) == 0,
		      "BCE2: the same at 64 bits read");
	}
}

static void test_record(void)
{
	struct cl_rec r;
	char err[128], t[64];
	static const char ok[] =
		"{\"q\":7,\"x\":\"ban\",\"a\":\"203.0.113.0/24\",\"c\":100,\"e\":200,"
		"\"o\":\"rule:subnet\",\"r\":\"why\",\"s\":\"\",\"n\":\"c2\",\"k\":true}";
	static const char *bad[] = {
		"not json",
		"[1,2]",
		"{\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"\",\"r\":\"\",\"s\":\"\",\"n\":\"c\"}",
		"{\"q\":0,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"\",\"r\":\"\",\"s\":\"\",\"n\":\"c\"}",
		"{\"q\":1,\"x\":\"nuke\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"\",\"r\":\"\",\"s\":\"\",\"n\":\"c\"}",
		"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.777/32\",\"c\":1,\"e\":2,\"o\":\"\",\"r\":\"\",\"s\":\"\",\"n\":\"c\"}",
		"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":-5,\"e\":2,\"o\":\"\",\"r\":\"\",\"s\":\"\",\"n\":\"c\"}",
		"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":\"2\",\"o\":\"\",\"r\":\"\",\"s\":\"\",\"n\":\"c\"}",
		"{\"q\":1,\"q\":2,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"\",\"r\":\"\",\"s\":\"\",\"n\":\"c\"}",
		"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"a\\u0000b\",\"r\":\"\",\"s\":\"\",\"n\":\"c\"}",
		"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"\",\"r\":\"\",\"s\":\"\"}",
	};
	size_t i;

	CHECK(cl_rec_parse((const uint8_t *)ok, strlen(ok), &r, err, sizeof(err)) == 0,
	      "a valid record parses (%s)", err);
	CHECK(r.seq == 7 && strcmp(r.action, "ban") == 0 && r.rule &&
		      r.sb.ban.created_ms == 100 && r.sb.ban.expires_ms == 200 &&
		      strcmp(r.sb.origin, "rule:subnet") == 0 &&
		      strcmp(r.sb.reason, "why") == 0 && strcmp(r.node, "c2") == 0 &&
		      strcmp(bc_addr_format(&r.sb.ban.addr, t, sizeof(t)), "203.0.113.0/24") == 0,
	      "every field of it");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(cl_rec_parse((const uint8_t *)bad[i], strlen(bad[i]), &r, err,
				   sizeof(err)) < 0 && err[0] != '\0',
		      "bad record %zu refused with a reason (%s)", i, err);
	}
	/* what reaches the log: names are names, the origin has no control */
	{
		static const char *forged[] = {
			"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"rule:maxretry\",\"r\":\"\",\"s\":\"\",\"n\":\"c1\\nban 198.51.100.1\"}",
			"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"rule:maxretry\",\"r\":\"\",\"s\":\"ops\\r\",\"n\":\"c1\"}",
			"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"rule\\nx\",\"r\":\"\",\"s\":\"\",\"n\":\"c1\"}",
			"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"rule\\u007f\",\"r\":\"\",\"s\":\"\",\"n\":\"c1\"}",
			"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,\"o\":\"rule\",\"r\":\"\",\"s\":\"\",\"n\":\"\"}",
		};
		static const char fine[] =
			"{\"q\":1,\"x\":\"ban\",\"a\":\"203.0.113.7/32\",\"c\":1,\"e\":2,"
			"\"o\":\"manual:ops via fail2ban\",\"r\":\"typed\\nby an admin\",\"s\":\"ops\",\"n\":\"mx-coord.example.org\"}";

		for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
			err[0] = '\0';
			CHECK(cl_rec_parse((const uint8_t *)forged[i], strlen(forged[i]), &r,
					   err, sizeof(err)) < 0 && err[0] != '\0',
			      "record %zu (a newline, a CR, a DEL in a name or the "
			      "origin, no node) refused: %s", i, err);
		}
		CHECK(cl_rec_parse((const uint8_t *)fine, strlen(fine), &r, err,
				   sizeof(err)) == 0 && strcmp(r.signer, "ops") == 0 &&
			      strcmp(r.node, "mx-coord.example.org") == 0,
		      "an admin's ban with spaces in its origin and a newline in its "
		      "reason (stored as typed) is accepted (%s)", err);
	}
}

/* allow list changes (PREFIX/al/) */
static void test_allow(void)
{
	const char *ok = "{\"q\":9,\"x\":\"allow\",\"a\":\"192.0.2.0/24\",\"c\":100,"
			 "\"e\":500,\"m\":\"partner relay\",\"s\":\"ops\",\"n\":\"c3\"}";
	char big[BC_ALLOW_COMMENT_MAX + 2], rec[512], err[128], t[64];
	const char *bad[] = {
		"",
		"{\"q\":9,\"x\":\"allow\",\"a\":\"192.0.2.0/24\",\"c\":100,\"e\":0,\"s\":\"ops\",\"n\":\"c3\"}",
		"{\"q\":9,\"x\":\"ban\",\"a\":\"192.0.2.0/24\",\"c\":100,\"e\":0,\"m\":\"\",\"s\":\"ops\",\"n\":\"c3\"}",
		"{\"q\":9,\"x\":\"allow\",\"a\":\"192.0.2.0/33\",\"c\":100,\"e\":0,\"m\":\"\",\"s\":\"ops\",\"n\":\"c3\"}",
		"{\"q\":9,\"x\":\"allow\",\"a\":\"192.0.2.0/24\",\"c\":100,\"e\":-1,\"m\":\"\",\"s\":\"ops\",\"n\":\"c3\"}",
		"{\"q\":-9,\"x\":\"allow\",\"a\":\"192.0.2.0/24\",\"c\":100,\"e\":0,\"m\":\"\",\"s\":\"ops\",\"n\":\"c3\"}",
		"{\"q\":9,\"x\":\"allow\",\"a\":\"192.0.2.0/24\",\"c\":100,\"e\":0,\"m\":\"a\\u0000b\",\"s\":\"ops\",\"n\":\"c3\"}",
		"{\"q\":9,\"x\":\"allow\",\"a\":\"192.0.2.0/24\",\"c\":100,\"e\":0,\"m\":\"\",\"s\":\"0123456789012345678901234567890123456789012345678901234567890123\",\"n\":\"c3\"}",
		"{\"q\":9,\"x\":\"allow\",\"x\":\"allow\",\"a\":\"192.0.2.0/24\",\"c\":100,\"e\":0,\"m\":\"\",\"s\":\"ops\",\"n\":\"c3\"}",
		"{\"q\":9,\"x\":\"allow\",\"a\":\"192.0.2.0/24\",\"c\":100,\"e\":0,\"m\":\"\",\"s\":\"ops\\r\",\"n\":\"c3\"}",
		"{\"q\":9,\"x\":\"allow\",\"a\":\"192.0.2.0/24\",\"c\":100,\"e\":0,\"m\":\"\",\"s\":\"ops\",\"n\":\"\"}",
	};
	struct cl_allow_rec r;
	size_t i;

	CHECK(cl_allow_parse((const uint8_t *)ok, strlen(ok), &r, err, sizeof(err)) == 0,
	      "a valid allow list change parses (%s)", err);
	CHECK(r.seq == 9 && strcmp(r.action, "allow") == 0 && r.e.created_ms == 100 &&
		      r.e.expires_ms == 500 && strcmp(r.e.comment, "partner relay") == 0 &&
		      strcmp(r.e.by, "ops") == 0 && strcmp(r.signer, "ops") == 0 &&
		      strcmp(r.node, "c3") == 0 &&
		      strcmp(bc_addr_format(&r.e.addr, t, sizeof(t)), "192.0.2.0/24") == 0,
	      "every field of it");
	for (i = 0; i < 2; i++) {
		const char *x = i == 0 ? "allow-remove" : "allow-expire";

		snprintf(rec, sizeof(rec), "{\"q\":10,\"x\":\"%s\",\"a\":\"2001:db8::/32\","
			 "\"c\":1,\"e\":0,\"m\":\"\",\"s\":\"\",\"n\":\"c1\"}", x);
		CHECK(cl_allow_parse((const uint8_t *)rec, strlen(rec), &r, err,
				     sizeof(err)) == 0 && strcmp(r.action, x) == 0 &&
			      r.e.addr.plen == 32,
		      "%s parses", x);
	}
	/* the longest comment an admin may give, and one more */
	memset(big, 'c', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 2; i++) {
		snprintf(rec, sizeof(rec), "{\"q\":1,\"x\":\"allow\",\"a\":\"192.0.2.1\","
			 "\"c\":1,\"e\":0,\"m\":\"%.*s\",\"s\":\"ops\",\"n\":\"c1\"}",
			 (int)(BC_ALLOW_COMMENT_MAX + i), big);
		CHECK((cl_allow_parse((const uint8_t *)rec, strlen(rec), &r, err,
				      sizeof(err)) == 0) == (i == 0),
		      "a comment of %d characters is %s", (int)(BC_ALLOW_COMMENT_MAX + i),
		      i == 0 ? "taken" : "refused");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(cl_allow_parse((const uint8_t *)bad[i], strlen(bad[i]), &r, err,
				     sizeof(err)) < 0 && err[0] != '\0',
		      "bad allow list change %zu refused with a reason (%s)", i, err);
	}
}

/* lifts of local bans (PREFIX/lift/) */
static void test_lift(void)
{
	const char *ok = "{\"c\":1765140000000,\"s\":\"ops\",\"n\":\"c1\"}";
	const char *bad[] = {
		"",
		"[]",
		"{\"c\":-1,\"s\":\"ops\",\"n\":\"c1\"}",
		"{\"c\":\"1\",\"s\":\"ops\",\"n\":\"c1\"}",
		"{\"c\":1,\"n\":\"c1\"}",
		"{\"c\":1,\"s\":\"ops\"}",
		"{\"c\":1,\"s\":\"o\\u0000ps\",\"n\":\"c1\"}",
		"{\"c\":1,\"s\":\"0123456789012345678901234567890123456789012345678901234567890123\",\"n\":\"c1\"}",
		"{\"c\":1,\"c\":2,\"s\":\"ops\",\"n\":\"c1\"}",
		"{\"c\":1,\"s\":\"ops\\n2026 forged log line\",\"n\":\"c1\"}",
		"{\"c\":1,\"s\":\"ops\",\"n\":\"c 1\"}",
	};
	struct cl_lift_rec r;
	char err[128];
	size_t i;

	CHECK(cl_lift_parse((const uint8_t *)ok, strlen(ok), &r, err, sizeof(err)) == 0 &&
		      r.created_ms == 1765140000000LL && strcmp(r.admin, "ops") == 0 &&
		      strcmp(r.node, "c1") == 0,
	      "a valid lift parses, every field");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(cl_lift_parse((const uint8_t *)bad[i], strlen(bad[i]), &r, err,
				    sizeof(err)) < 0 && err[0] != '\0',
		      "bad lift %zu refused with a reason (%s)", i, err);
	}
}

int main(void)
{
	test_batch();
	test_batch2();
	test_record();
	test_allow();
	test_lift();
	return tap_done();
}
