/*
 * audit_smtp_bantest.c - the opt-in ban test (c) of `bancluster audit
 * smtp` (audit_smtp_int.h): a baseline probe, then up to --attempts
 * offences of one kind (wrong logins, foreign senders, AUTH dropped
 * half-way), each followed by fresh connections for a few seconds to see
 * whether the auditing address got banned and how (refused, dropped,
 * unreachable, 421/5xx greeting).
 *
 * It WILL get the auditing address banned when it works; the tests run
 * last and stop after the first ban. Server text reaches a finding only
 * escaped (bc_smtp_rtext). Random probe credentials are wiped after use;
 * --user's password is sent only inside TLS. Results are findings.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cli/audit_smtp_int.h"
#include "common/clock.h"

/* Sleep for ms milliseconds. */
static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static const char *probe_name(enum bc_audit_probe s)
{
	switch (s) {
	case PROBE_OPEN: return "open";
	case PROBE_REFUSED: return "connection refused (firewall reject)";
	case PROBE_TIMEOUT: return "connect timed out (firewall drop)";
	case PROBE_UNREACH: return "host unreachable (firewall reject)";
	case PROBE_CLOSED: return "closed before the greeting";
	case PROBE_SILENT: return "no greeting";
	case PROBE_THROTTLED: return "421 greeting";
	case PROBE_BLOCKED: return "5xx greeting";
	case PROBE_ERROR: return "error";
	}
	return "?";
}

/* A fresh connection: what does the client see? Polite QUIT when open. */
static enum bc_audit_probe ban_probe(struct bc_audit *a, int port, char *text,
				     size_t textsz)
{
	struct bc_smtp_conn c;
	struct bc_smtp_reply r;
	int64_t t0 = bc_mono_ms();

	text[0] = '\0';
	if (bc_smtp_conn_open(a, &c, port, a->timeout_s * 1000) < 0) {
		switch (c.err) {
		case ECONNREFUSED:
		case ECONNRESET:
			return PROBE_REFUSED;
		case ETIMEDOUT:
			return PROBE_TIMEOUT;
		case EHOSTUNREACH:
		case ENETUNREACH:
		case EACCES:
		case EPERM:
			return PROBE_UNREACH;
		default:
			return PROBE_ERROR;
		}
	}
	if (bc_smtp_read_reply(&c, &r) < 0) {
		bool silent = c.len == 0 &&
			      bc_mono_ms() - t0 >= (int64_t)a->timeout_s * 1000;

		bc_smtp_conn_close(&c);
		return silent ? PROBE_SILENT : PROBE_CLOSED;
	}
	bc_smtp_rtext(&r, text, textsz);
	bc_smtp_quit(&c);
	if (r.code == 220)
		return PROBE_OPEN;
	if (r.code == 421)
		return PROBE_THROTTLED;
	return PROBE_BLOCKED;
}

/* Start a session for an offence: TLS as on the audited port. */
static int offence_session(struct bc_audit *a, const struct bc_audit_port *p,
			   struct bc_smtp_conn *c, struct bc_smtp_caps *cp)
{
	char why[160];

	bc_smtp_conn_init(c, a);
	return bc_smtp_session_tls(a, p, c, a->ctx_main, cp, why, sizeof(why)) == HS_OK
		? 0 : -1;
}

/*
 * One offence of the given kind. Returns 0 when the offence was made
 * (server refused as expected), 1 when the server accepted it (nothing
 * to ban: detail in note), -1 when the session failed.
 */
static int offence(struct bc_audit *a, const struct bc_audit_port *p,
		   enum bc_audit_ban_kind k, char *note, size_t notesz)
{
	struct bc_smtp_conn c;
	struct bc_smtp_caps cp;
	struct bc_smtp_reply r;
	char t[BC_AUDIT_DETAIL_MAX], u[2 * BC_AUDIT_NAME_MAX + 2], rnd[33];
	int rc = 0;

	if (offence_session(a, p, &c, &cp) < 0)
		return -1;
	if (k == BAN_AUTH) {
		char user[sizeof(u)];

		bc_audit_rand_hex(rnd, 6);
		bc_audit_fmt_cut(user, sizeof(user), "bancluster-probe-%s@%s", rnd,
			 a->domain[0] ? a->domain : "example.invalid");
		bc_audit_rand_hex(rnd, 12);
		if (bc_smtp_auth_plain(&c, &r, user, rnd) < 0)
			rc = -1;
		else if (r.code == 235) {
			bc_audit_fmt_cut(note, notesz, "INVALID CREDENTIAL ACCEPTED: %s",
				 bc_smtp_rtext(&r, t, sizeof(t)));
			rc = 1;
		} else if (r.code != 535) {
			bc_audit_fmt_cut(note, notesz, "AUTH: %s", bc_smtp_rtext(&r, t, sizeof(t)));
			rc = r.code == 0 ? -1 : 1;
		}
		OPENSSL_cleanse(rnd, sizeof(rnd));
		bc_smtp_quit(&c);
	} else if (k == BAN_ABORT) {
		if (bc_smtp_cmd(&c, &r, "AUTH LOGIN") < 0 || r.code != 334) {
			bc_audit_fmt_cut(note, notesz, "AUTH LOGIN: %s", bc_smtp_rtext(&r, t, sizeof(t)));
			bc_smtp_quit(&c);
			return r.code ? 1 : -1;
		}
		bc_smtp_conn_close(&c); /* drop the session half-way through AUTH */
	} else {
		struct bc_smtp_reply rr;

		if (a->password) {
			if (bc_smtp_auth_plain(&c, &r, a->user, a->password) < 0 ||
			    r.code != 235) {
				bc_audit_fmt_cut(note, notesz, "login as --user failed: %s",
					 bc_smtp_rtext(&r, t, sizeof(t)));
				bc_smtp_quit(&c);
				return 1;
			}
		}
		bc_audit_fmt_cut(u, sizeof(u), "%s", a->foreign[0] ? a->foreign
			 : BC_AUDIT_SPOOF_EXTERNAL);
		if (bc_smtp_cmd(&c, &r, "MAIL FROM:<%s>", u) < 0) {
			bc_smtp_conn_close(&c);
			return -1;
		}
		rr = r;
		if (r.code == 250 &&
		    bc_smtp_cmd(&c, &rr, "RCPT TO:<postmaster@%s>", a->domain) < 0) {
			bc_smtp_conn_close(&c);
			return -1;
		}
		if (rr.code == 250 || rr.code == 251) {
			bc_audit_fmt_cut(note, notesz, "foreign sender accepted through RCPT");
			rc = 1;
		}
		(void)bc_smtp_cmd(&c, &r, "RSET");
		bc_smtp_quit(&c);
	}
	return rc;
}

/* Pick the port for the ban test: 587, then 465, then the first one. */
static struct bc_audit_port *ban_port(struct bc_audit *a)
{
	size_t i;

	for (i = 0; i < a->nports; i++)
		if (a->ports[i].reachable && a->ports[i].role == ROLE_SUBMISSION)
			return &a->ports[i];
	for (i = 0; i < a->nports; i++)
		if (a->ports[i].reachable && a->ports[i].role == ROLE_SUBMISSIONS)
			return &a->ports[i];
	for (i = 0; i < a->nports; i++)
		if (a->ports[i].reachable)
			return &a->ports[i];
	return NULL;
}

/*
 * One ban test: baseline probe, then up to --attempts offences, each
 * followed by probes for BC_AUDIT_BAN_SETTLE_S seconds. Returns true when
 * the auditor ended up banned (later tests are then skipped).
 */
static bool ban_test(struct bc_audit *a, enum bc_audit_ban_kind k, const char *id)
{
	struct bc_audit_port *p = ban_port(a);
	char text[BC_AUDIT_DETAIL_MAX], note[BC_AUDIT_DETAIL_MAX] = "";
	enum bc_audit_probe s;
	int i, accepted = 0;
	size_t j;

	if (!p) {
		bc_audit_add_check(a, id, 0, RES_SKIP, false, "no reachable port");
		return false;
	}
	s = ban_probe(a, p->port, text, sizeof(text));
	if (s != PROBE_OPEN) {
		bc_audit_add_check(a, id, p->port, RES_SKIP, false,
				   "baseline probe not open (%s): already banned?",
				   probe_name(s));
		return s != PROBE_ERROR;
	}
	for (i = 1; i <= a->attempts; i++) {
		int64_t until;
		int rc = offence(a, p, k, note, sizeof(note));

		if (rc < 0) {
			s = ban_probe(a, p->port, text, sizeof(text));
			if (s == PROBE_OPEN) {
				bc_audit_add_check(a, id, p->port, RES_SKIP, false,
						   "offence session %d failed, port still open", i);
				return false;
			}
		} else {
			if (rc == 1) {
				accepted++;
				if (strncmp(note, "INVALID", 7) == 0) {
					bc_audit_add_check(a, id, p->port, RES_FAIL, false, "%s", note);
					return false;
				}
			}
			until = bc_mono_ms() + BC_AUDIT_BAN_SETTLE_S * 1000;
			for (;;) {
				s = ban_probe(a, p->port, text, sizeof(text));
				if (s != PROBE_OPEN || bc_mono_ms() >= until)
					break;
				sleep_ms(1000);
			}
		}
		if (s != PROBE_OPEN && s != PROBE_ERROR) {
			char scope[BC_AUDIT_DETAIL_MAX] = "";
			size_t o = 0;

			for (j = 0; j < a->nports; j++) {
				struct bc_audit_port *q = &a->ports[j];
				char qt[BC_AUDIT_DETAIL_MAX];
				enum bc_audit_probe qs;

				if (q == p || !q->reachable || o >= sizeof(scope) - 40)
					continue;
				qs = ban_probe(a, q->port, qt, sizeof(qt));
				o += (size_t)bc_audit_fmt_cut(scope + o, sizeof(scope) - o,
						      "%s%d %s", o ? ", " : "; other ports: ",
						      q->port, qs == PROBE_OPEN ? "open" : "blocked");
			}
			bc_audit_add_check(a, id, p->port, RES_PASS, false,
					   "banned at or before attempt %d of %d: %s%s%s%s",
					   i, a->attempts, probe_name(s), text[0] ? " " : "",
					   text, scope);
			return true;
		}
	}
	bc_audit_add_check(a, id, p->port, RES_FAIL, false,
			   "not banned after %d attempts%s%s", a->attempts,
			   accepted ? "; the server accepted the offence: " : "",
			   accepted ? note : "");
	return false;
}

/* Run the requested ban tests last; skip lines for the others. */
void bc_audit_bans(struct bc_audit *a)
{
	static const struct { enum bc_audit_ban_kind k; const char *id, *opt; } t[] = {
		{BAN_AUTH, "ban.auth", "auth"},
		{BAN_SENDER, "ban.sender", "sender"},
		{BAN_ABORT, "ban.abort", "abort"},
	};
	bool banned = false;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (!(a->ban_tests & t[i].k))
			bc_audit_add_check(a, t[i].id, 0, RES_SKIP, false,
					   "opt-in: --ban-test %s (this WILL get the auditing "
					   "address banned)", t[i].opt);
		else if (banned)
			bc_audit_add_check(a, t[i].id, 0, RES_SKIP, false,
					   "already banned by an earlier ban test; run it alone or "
					   "from another --source");
		else
			banned = ban_test(a, t[i].k, t[i].id);
	}
}

