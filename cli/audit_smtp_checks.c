/*
 * audit_smtp_checks.c - the checks of `bancluster audit smtp` on one
 * port (audit_smtp_int.h): greeting and banner, AUTH before and after
 * TLS (probed without a password), STARTTLS or implicit TLS, the
 * certificate, relay with a control recipient, VRFY/EXPN, foreign
 * senders after AUTH (--user only, inside TLS), TLS versions and weak
 * cipher classes; and whether the vantage point is one the server
 * probably trusts.
 *
 * Sessions go through audit_smtp_client.c; they are lockstep, end with
 * QUIT where the protocol allows it and never send DATA. Server text
 * reaches a finding only through bc_smtp_rtext / bc_audit_escs (escaped,
 * cut). Every outcome, failures to connect included, is a finding
 * (bc_audit_add_check); a function returns -1 only to say the session is
 * no longer usable.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/audit_smtp_int.h"
#include "common/clock.h"

static bool role_is_submission(enum bc_audit_role r)
{
	return r == ROLE_SUBMISSION || r == ROLE_SUBMISSIONS;
}

/* Does the (escaped) banner name the software or a version? */
static bool banner_discloses(const char *b)
{
	static const char *const words[] = {
		"postfix", "exim", "sendmail", "microsoft", "exchange", "qmail",
		"hmailserver", "opensmtpd", "haraka", "zimbra", "debian",
		"ubuntu", "centos", "red hat", "freebsd", "mdaemon", "kerio",
		"courier", "smail"};
	size_t i;
	const char *p;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i]);

		for (p = b; *p; p++)
			if (strncasecmp(p, words[i], wl) == 0)
				return true;
	}
	/* A version number: digit '.' digit, not part of a host name. */
	for (p = b; p[0] && p[1] && p[2]; p++)
		if (p[0] >= '0' && p[0] <= '9' && p[1] == '.' &&
		    p[2] >= '0' && p[2] <= '9' && (p == b || p[-1] == ' ' ||
		    p[-1] == '/' || (p[-1] >= '0' && p[-1] <= '9')))
			return true;
	return false;
}

/* Remember the first word of the greeting as the domain when not given. */
static void learn_domain(struct bc_audit *a, const struct bc_smtp_reply *r)
{
	const char *t = r->n ? r->line[0] : "";
	size_t l = strcspn(t, " \t");
	size_t i;

	if (l == 0 || l > BC_AUDIT_NAME_MAX || !memchr(t, '.', l))
		return;
	for (i = 0; i < l; i++) {
		char ch = t[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			return;
	}
	if (a->domain[0] == '\0') {
		memcpy(a->domain, t, l);
		a->domain[l] = '\0';
	}
	if (a->tls_name[0] == '\0') {
		memcpy(a->tls_name, t, l);
		a->tls_name[l] = '\0';
	}
}

/* Certificate findings from the main handshake (severity by port role). */
static void check_cert(struct bc_audit *a, const struct bc_audit_port *p, SSL *ssl)
{
	bool sub = role_is_submission(p->role);
	enum bc_audit_result bad = sub ? RES_FAIL : RES_PASS;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	long vr = SSL_get_verify_result(ssl);
	int days = 0, secs = 0;

	if (!cert) {
		bc_audit_add_check(a, "tls.cert.chain", p->port, sub ? RES_FAIL : RES_SKIP,
				   false, "server sent no certificate");
		return;
	}
	if (vr == X509_V_OK)
		bc_audit_add_check(a, "tls.cert.chain", p->port, RES_PASS, false,
				   "chain verifies%s", a->ca_file ? " (against --ca-file)" : "");
	else
		bc_audit_add_check(a, "tls.cert.chain", p->port, bad, !sub,
				   "%s (X509 error %ld)%s", X509_verify_cert_error_string(vr),
				   vr, sub ? ": mail clients will refuse or warn"
				   : "; informational on an MX port (opportunistic TLS)");
	if (a->tls_name[0] == '\0')
		bc_audit_add_check(a, "tls.cert.hostname", p->port, RES_SKIP, false,
				   "no host name known (give HOST as a name)");
	else if (X509_check_host(cert, a->tls_name, 0, 0, NULL) == 1)
		bc_audit_add_check(a, "tls.cert.hostname", p->port, RES_PASS, false,
				   "certificate covers %s", a->tls_name);
	else
		bc_audit_add_check(a, "tls.cert.hostname", p->port, bad, !sub,
				   "certificate does not cover %s%s", a->tls_name,
				   sub ? "" : "; informational on an MX port");
	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) != 1)
		bc_audit_add_check(a, "tls.cert.expiry", p->port, RES_SKIP, false,
				   "cannot read notAfter");
	else if (days < 0 || (days == 0 && secs < 0))
		bc_audit_add_check(a, "tls.cert.expiry", p->port, bad, !sub,
				   "expired %d days ago", -days);
	else if (days < BC_AUDIT_CERT_WARN_DAYS)
		bc_audit_add_check(a, "tls.cert.expiry", p->port,
				   sub ? RES_WARN : RES_PASS, !sub,
				   "expires in %d days", days);
	else
		bc_audit_add_check(a, "tls.cert.expiry", p->port, RES_PASS, false,
				   "valid for %d more days", days);
	X509_free(cert);
}

/*
 * auth.plaintext: probe AUTH in cleartext without sending a password.
 * AUTH LOGIN -> 334 means the server would take a password now; cancel
 * with "*". Returns -1 when the session is no longer usable.
 */
static int probe_auth_plaintext(struct bc_audit *a, const struct bc_audit_port *p,
				struct bc_smtp_conn *c, const struct bc_smtp_caps *cp)
{
	struct bc_smtp_reply r, r2;
	char t[BC_AUDIT_DETAIL_MAX];
	const char *mech = "LOGIN";

	if (!cp->auth && p->role == ROLE_MX) {
		bc_audit_add_check(a, "auth.plaintext", p->port, RES_PASS, false,
				   "AUTH not advertised before TLS; not probed on an MX port");
		return 0;
	}
	if (bc_smtp_cmd(c, &r, "AUTH LOGIN") < 0) {
		bc_audit_add_check(a, "auth.plaintext", p->port, RES_SKIP, false,
				   "AUTH LOGIN: %s", bc_smtp_rtext(&r, t, sizeof(t)));
		return -1;
	}
	if (r.code == 504) {
		mech = "PLAIN";
		if (bc_smtp_cmd(c, &r, "AUTH PLAIN") < 0) {
			bc_audit_add_check(a, "auth.plaintext", p->port, RES_SKIP, false,
					   "AUTH PLAIN: %s", bc_smtp_rtext(&r, t, sizeof(t)));
			return -1;
		}
	}
	if (r.code == 334) {
		(void)bc_smtp_cmd(c, &r2, "*");
		bc_audit_add_check(a, "auth.plaintext", p->port, RES_FAIL, false,
				   "AUTH %s answered 334 before TLS: passwords are accepted "
				   "in cleartext (probe cancelled, no password sent)", mech);
		return r2.code ? 0 : -1;
	}
	if (r.code == 530 || r.code == 538 || r.code == 503 ||
	    r.code == 502 || r.code == 500)
		bc_audit_add_check(a, "auth.plaintext", p->port, RES_PASS, false,
				   "refused before TLS: %s", bc_smtp_rtext(&r, t, sizeof(t)));
	else if (r.code == 504)
		bc_audit_add_check(a, "auth.plaintext", p->port, RES_WARN, false,
				   "LOGIN and PLAIN refused (504) but AUTH %s advertised: "
				   "challenge-response only in cleartext", cp->mechs);
	else
		bc_audit_add_check(a, "auth.plaintext", p->port, RES_SKIP, false,
				   "inconclusive: %s", bc_smtp_rtext(&r, t, sizeof(t)));
	return r.code == 421 ? -1 : 0;
}

/*
 * relay.open and (on submission ports) auth.required, unauthenticated,
 * in the current session: MAIL FROM an outside sender, RCPT to the control
 * recipient postmaster@domain, RCPT to an outside domain, RSET. Never DATA.
 */
static int check_relay(struct bc_audit *a, const struct bc_audit_port *p,
		       struct bc_smtp_conn *c)
{
	struct bc_smtp_reply rm, rc, rr;
	char tm[BC_AUDIT_DETAIL_MAX], tc[BC_AUDIT_DETAIL_MAX], tr[BC_AUDIT_DETAIL_MAX];
	bool sub = role_is_submission(p->role);
	bool ctl_ok, relay_ok, refused_for_us;

	if (a->domain[0] == '\0') {
		bc_audit_add_check(a, "relay.open", p->port, RES_SKIP, false,
				   "no domain known for the control recipient (use --domain)");
		return 0;
	}
	if (bc_smtp_cmd(c, &rm, "MAIL FROM:<%s>", BC_AUDIT_PROBE_FROM) < 0) {
		bc_audit_add_check(a, "relay.open", p->port, RES_SKIP, false,
				   "MAIL: %s", bc_smtp_rtext(&rm, tm, sizeof(tm)));
		return -1;
	}
	if (rm.code != 250) {
		bool pol = bc_smtp_reply_policy(&rm) || rm.code == 530;

		if (pol && sub)
			bc_audit_add_check(a, "relay.open", p->port, RES_PASS, false,
					   "MAIL without AUTH refused: %s",
					   bc_smtp_rtext(&rm, tm, sizeof(tm)));
		else
			bc_audit_add_check(a, "relay.open", p->port, RES_SKIP, false,
					   "inconclusive, MAIL refused: %s",
					   bc_smtp_rtext(&rm, tm, sizeof(tm)));
		if (sub)
			bc_audit_add_check(a, "auth.required", p->port,
					   pol ? RES_PASS : RES_SKIP, false,
					   "unauthenticated MAIL refused: %s", tm);
		(void)bc_smtp_cmd(c, &rm, "RSET");
		return rm.code ? 0 : -1;
	}
	if (bc_smtp_cmd(c, &rc, "RCPT TO:<postmaster@%s>", a->domain) < 0 ||
	    bc_smtp_cmd(c, &rr, "RCPT TO:<%s>", BC_AUDIT_PROBE_RCPT) < 0) {
		bc_audit_add_check(a, "relay.open", p->port, RES_SKIP, false,
				   "connection lost during RCPT");
		return -1;
	}
	bc_smtp_rtext(&rc, tc, sizeof(tc));
	bc_smtp_rtext(&rr, tr, sizeof(tr));
	ctl_ok = rc.code == 250 || rc.code == 251;
	relay_ok = rr.code == 250 || rr.code == 251;
	/*
	 * On an MX port a refusal naming HELO or the client host is about us,
	 * not about relaying. On a submission port refusing everything to an
	 * unauthenticated client is exactly the point, whatever the text.
	 */
	refused_for_us = !sub && (bc_smtp_reply_has(&rc, "Helo command rejected") ||
			 bc_smtp_reply_has(&rc, "Client host rejected") ||
			 bc_smtp_reply_has(&rr, "Helo command rejected") ||
			 bc_smtp_reply_has(&rr, "Client host rejected"));
	if (relay_ok)
		bc_audit_add_check(a, "relay.open", p->port, RES_FAIL, false,
				   "RCPT TO:<%s> accepted without AUTH from %s: %s "
				   "(stopped at RCPT, nothing sent; if %s is in the "
				   "server's trusted networks, repeat from outside them)",
				   BC_AUDIT_PROBE_RCPT, a->src_str, tr, a->src_str);
	else if (!(bc_smtp_reply_policy(&rr) || rr.code == 530) || refused_for_us)
		bc_audit_add_check(a, "relay.open", p->port, RES_SKIP, false,
				   "inconclusive: outside recipient got %s; control got %s",
				   tr, tc);
	else if (ctl_ok)
		bc_audit_add_check(a, "relay.open", p->port, RES_PASS, false,
				   "outside recipient refused (%s); control postmaster@%s "
				   "accepted", tr, a->domain);
	else if (sub && (bc_smtp_reply_policy(&rc) || rc.code == 530))
		bc_audit_add_check(a, "relay.open", p->port, RES_PASS, false,
				   "every recipient refused without AUTH (%s)", tr);
	else
		bc_audit_add_check(a, "relay.open", p->port, RES_SKIP, false,
				   "inconclusive: control postmaster@%s refused too: %s",
				   a->domain, tc);
	if (sub) {
		if (ctl_ok || relay_ok)
			bc_audit_add_check(a, "auth.required", p->port, RES_FAIL, false,
					   "mail accepted without AUTH at RCPT: %s",
					   relay_ok ? tr : tc);
		else if ((bc_smtp_reply_policy(&rc) || rc.code == 530) && !refused_for_us)
			bc_audit_add_check(a, "auth.required", p->port, RES_PASS, false,
					   "unauthenticated mail refused at RCPT: %s", tc);
		else
			bc_audit_add_check(a, "auth.required", p->port, RES_SKIP, false,
					   "inconclusive: %s", tc);
	}
	if (bc_smtp_cmd(c, &rm, "RSET") < 0)
		return -1;
	return 0;
}

/* enum.vrfy and enum.expn: differential VRFY, any 250 to EXPN. */
static int check_enum(struct bc_audit *a, const struct bc_audit_port *p,
		      struct bc_smtp_conn *c)
{
	struct bc_smtp_reply r1, r2;
	char t1[BC_AUDIT_DETAIL_MAX], t2[BC_AUDIT_DETAIL_MAX], rnd[17];
	const char *d = a->domain[0] ? a->domain : "example.invalid";

	bc_audit_rand_hex(rnd, 8);
	if (bc_smtp_cmd(c, &r1, "VRFY postmaster@%s", d) < 0 ||
	    bc_smtp_cmd(c, &r2, "VRFY bcl-%s@%s", rnd, d) < 0) {
		bc_audit_add_check(a, "enum.vrfy", p->port, RES_SKIP, false,
				   "connection lost during VRFY");
		return -1;
	}
	bc_smtp_rtext(&r1, t1, sizeof(t1));
	bc_smtp_rtext(&r2, t2, sizeof(t2));
	if (r1.code / 100 == 2 && r1.code != r2.code)
		bc_audit_add_check(a, "enum.vrfy", p->port, RES_WARN, false,
				   "VRFY tells users apart: postmaster -> %s, random -> %s",
				   t1, t2);
	else if (r1.code / 100 == 2 && r1.code == 250)
		bc_audit_add_check(a, "enum.vrfy", p->port, RES_WARN, false,
				   "VRFY answers 250 for any address: %s", t1);
	else
		bc_audit_add_check(a, "enum.vrfy", p->port, RES_PASS, false,
				   "no oracle: %s", t1);
	if (bc_smtp_cmd(c, &r1, "EXPN postmaster") < 0) {
		bc_audit_add_check(a, "enum.expn", p->port, RES_SKIP, false,
				   "connection lost during EXPN");
		return -1;
	}
	bc_smtp_rtext(&r1, t1, sizeof(t1));
	bc_audit_add_check(a, "enum.expn", p->port, r1.code == 250 ? RES_WARN : RES_PASS,
			   false, "%s", t1);
	return 0;
}

/* Our own sender address for --user: the user, or user@domain. */
static void user_address(const struct bc_audit *a, char *out, size_t outsz)
{
	if (strchr(a->user, '@'))
		bc_audit_fmt_cut(out, outsz, "%s", a->user);
	else
		bc_audit_fmt_cut(out, outsz, "%s@%s", a->user, a->domain);
}

/*
 * sender.spoof_after_auth: log in as --user (inside TLS only), check the
 * own address is accepted through RCPT (control), then try foreign
 * senders. A foreign sender accepted at RCPT -> FAIL. Never DATA.
 */
static int check_spoof(struct bc_audit *a, const struct bc_audit_port *p,
		       struct bc_smtp_conn *c)
{
	struct bc_smtp_reply r;
	char t[BC_AUDIT_DETAIL_MAX], me[2 * BC_AUDIT_NAME_MAX + 2];
	char foreign[2][2 * BC_AUDIT_NAME_MAX + 2];
	char accepted[BC_AUDIT_DETAIL_MAX] = "";
	int nf = 0, i, refused = 0;

	if (!c->ssl) {
		bc_audit_add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
				   "no TLS on this port: the password is never sent in cleartext");
		return 0;
	}
	if (bc_smtp_auth_plain(c, &r, a->user, a->password) < 0) {
		bc_audit_add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
				   "AUTH PLAIN: no reply");
		return -1;
	}
	if (r.code != 235) {
		bc_audit_add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
				   "login as the --user account failed: %s",
				   bc_smtp_rtext(&r, t, sizeof(t)));
		return 0;
	}
	user_address(a, me, sizeof(me));
	if (bc_smtp_cmd(c, &r, "MAIL FROM:<%s>", me) < 0 || r.code != 250 ||
	    bc_smtp_cmd(c, &r, "RCPT TO:<postmaster@%s>", a->domain) < 0 ||
	    (r.code != 250 && r.code != 251)) {
		bc_audit_add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
				   "inconclusive: own address refused: %s",
				   bc_smtp_rtext(&r, t, sizeof(t)));
		(void)bc_smtp_cmd(c, &r, "RSET");
		return r.code ? 0 : -1;
	}
	if (bc_smtp_cmd(c, &r, "RSET") < 0)
		return -1;
	if (a->foreign[0]) {
		bc_audit_fmt_cut(foreign[nf++], sizeof(foreign[0]), "%s", a->foreign);
	} else {
		bc_audit_fmt_cut(foreign[nf++], sizeof(foreign[0]), "postmaster@%s",
			 a->domain);
		bc_audit_fmt_cut(foreign[nf++], sizeof(foreign[0]), "%s",
			 BC_AUDIT_SPOOF_EXTERNAL);
	}
	for (i = 0; i < nf; i++) {
		struct bc_smtp_reply rm, rr;

		if (bc_smtp_cmd(c, &rm, "MAIL FROM:<%s>", foreign[i]) < 0)
			return -1;
		if (rm.code == 250) {
			if (bc_smtp_cmd(c, &rr, "RCPT TO:<postmaster@%s>", a->domain) < 0)
				return -1;
		} else {
			rr = rm;
		}
		if (rr.code == 250 || rr.code == 251) {
			if (!accepted[0])
				bc_audit_fmt_cut(accepted, sizeof(accepted), "%s>: %s",
					 foreign[i], bc_smtp_rtext(&rr, t, sizeof(t)));
		} else if (bc_smtp_reply_policy(&rr) || rr.code == 530) {
			refused++;
		}
		if (bc_smtp_cmd(c, &r, "RSET") < 0)
			return -1;
	}
	if (accepted[0])
		bc_audit_add_check(a, "sender.spoof_after_auth", p->port, RES_FAIL, false,
				   "logged in as %s, MAIL FROM:<%s, accepted through RCPT "
				   "(nothing sent)", me, accepted);
	else if (refused == nf)
		bc_audit_add_check(a, "sender.spoof_after_auth", p->port, RES_PASS, false,
				   "%d foreign sender(s) refused after AUTH as %s", nf, me);
	else
		bc_audit_add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP, false,
				   "inconclusive: foreign senders refused for reasons other "
				   "than policy");
	return 0;
}

/*
 * A 465 port whose TLS handshake failed: does it speak cleartext SMTP?
 * One new connection, read for a few seconds, QUIT if it greeted.
 */
static bool implicit_speaks_plain(struct bc_audit *a, const struct bc_audit_port *p)
{
	struct bc_smtp_conn c;
	struct bc_smtp_reply r;
	bool plain = false;

	if (bc_smtp_conn_open(a, &c, p->port, a->timeout_s * 1000) < 0)
		return false;
	if (bc_smtp_read_reply_until(&c, &r, bc_mono_ms() + BC_AUDIT_IMPLICIT_PEEK_MS) == 0 &&
	    r.code == 220)
		plain = true;
	if (plain)
		bc_smtp_quit(&c);
	else
		bc_smtp_conn_close(&c);
	return plain;
}

/* Version probes (tls.v1_0 .. tls.v1_3), one session each. */
static void check_versions(struct bc_audit *a, const struct bc_audit_port *p)
{
	static const struct { int v; const char *id; const char *name; } vs[] = {
		{TLS1_VERSION, "tls.v1_0", "TLS 1.0"},
		{TLS1_1_VERSION, "tls.v1_1", "TLS 1.1"},
		{TLS1_2_VERSION, "tls.v1_2", "TLS 1.2"},
		{TLS1_3_VERSION, "tls.v1_3", "TLS 1.3"},
	};
	enum bc_smtp_hs got[4];
	char why[4][160];
	size_t i;

	for (i = 0; i < 4; i++) {
		SSL_CTX *ctx = bc_smtp_ctx_probe_new(vs[i].v, "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
		struct bc_smtp_conn c;
		struct bc_smtp_caps cp;

		why[i][0] = '\0';
		if (!ctx) {
			got[i] = HS_LOCAL;
			bc_audit_fmt_cut(why[i], sizeof(why[i]), "local OpenSSL cannot offer it");
			continue;
		}
		bc_smtp_conn_init(&c, a);
		got[i] = bc_smtp_session_tls(a, p, &c, ctx, &cp, why[i], sizeof(why[i]));
		if (got[i] == HS_OK) {
			if (SSL_version(c.ssl) != vs[i].v) {
				got[i] = HS_ERROR;
				bc_audit_fmt_cut(why[i], sizeof(why[i]), "negotiated %s instead",
					 SSL_get_version(c.ssl));
			}
			bc_smtp_quit(&c);
		}
		SSL_CTX_free(ctx);
	}
	for (i = 0; i < 4; i++) {
		const char *id = vs[i].id;

		if (got[i] == HS_LOCAL) {
			bc_audit_add_check(a, id, p->port, RES_SKIP, false,
					   "%s not testable from here: %s (try testssl.sh -p)",
					   vs[i].name, why[i]);
		} else if (got[i] == HS_ERROR) {
			bc_audit_add_check(a, id, p->port, RES_SKIP, false, "%s: %s",
					   vs[i].name, why[i]);
		} else if (i < 2) {
			if (got[i] == HS_OK)
				bc_audit_add_check(a, id, p->port, RES_FAIL, false,
						   "%s accepted (RFC 8996: deprecated)", vs[i].name);
			else
				bc_audit_add_check(a, id, p->port, RES_PASS, false,
						   "%s refused: %s", vs[i].name, why[i]);
		} else if (got[i] == HS_OK) {
			bc_audit_add_check(a, id, p->port, RES_PASS, false, "%s accepted",
					   vs[i].name);
		} else if (i == 3) {
			bc_audit_add_check(a, id, p->port, RES_PASS, true,
					   "TLS 1.3 not offered (%s)", why[i]);
		} else {
			bc_audit_add_check(a, id, p->port,
					   got[3] == HS_OK ? RES_PASS : RES_FAIL, got[3] == HS_OK,
					   "TLS 1.2 refused (%s)%s", why[i],
					   got[3] == HS_OK ? "; TLS 1.3 only"
					   : "; no modern TLS version");
		}
	}
}

/* Weak cipher class probes (TLS <= 1.2), one session each. */
static void check_ciphers(struct bc_audit *a, const struct bc_audit_port *p)
{
	static const struct {
		const char *id, *ciphers, *name;
		enum bc_audit_result mx, sub;
	} cl[] = {
		{"tls.cipher.null", "eNULL:@SECLEVEL=0", "NULL-encryption",
		 RES_FAIL, RES_FAIL},
		{"tls.cipher.anon", "aNULL:!eNULL:@SECLEVEL=0", "anonymous (aNULL)",
		 RES_PASS, RES_FAIL},
		{"tls.cipher.nofs", "kRSA:!aNULL:!eNULL:@SECLEVEL=0",
		 "static-RSA (no forward secrecy)", RES_PASS, RES_WARN},
	};
	size_t i;

	for (i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		SSL_CTX *ctx = bc_smtp_ctx_probe_new(0, cl[i].ciphers);
		struct bc_smtp_conn c;
		struct bc_smtp_caps cp;
		char why[160];
		enum bc_smtp_hs h;
		enum bc_audit_result bad = role_is_submission(p->role) ? cl[i].sub : cl[i].mx;

		if (!ctx) {
			bc_audit_add_check(a, cl[i].id, p->port, RES_SKIP, false,
					   "local OpenSSL cannot offer %s suites", cl[i].name);
			continue;
		}
		bc_smtp_conn_init(&c, a);
		h = bc_smtp_session_tls(a, p, &c, ctx, &cp, why, sizeof(why));
		if (h == HS_OK) {
			char e[80];

			bc_audit_escs(SSL_get_cipher_name(c.ssl), e, sizeof(e));
			bc_audit_add_check(a, cl[i].id, p->port, bad, bad == RES_PASS,
					   "%s suite accepted: %s%s", cl[i].name, e,
					   bad == RES_PASS ? " (informational on an MX port)" : "");
			bc_smtp_quit(&c);
		} else if (h == HS_REFUSED) {
			bc_audit_add_check(a, cl[i].id, p->port, RES_PASS, false,
					   "%s suites refused", cl[i].name);
		} else {
			bc_audit_add_check(a, cl[i].id, p->port, RES_SKIP, false, "%s: %s",
					   cl[i].name, why);
		}
		SSL_CTX_free(ctx);
	}
	bc_audit_add_check(a, "tls.cipher.legacy", p->port, RES_SKIP, false,
			   "3DES/RC4/EXPORT: local OpenSSL cannot offer them (use testssl.sh -s)");
}

/*
 * Everything on one port: the main session (greeting, EHLO, AUTH probe,
 * STARTTLS/implicit TLS, certificate, AUTH after TLS, relay, enumeration,
 * sender spoofing), then the TLS version and cipher probes.
 */
void bc_audit_check_port(struct bc_audit *a, struct bc_audit_port *p)
{
	struct bc_smtp_conn c;
	struct bc_smtp_reply r;
	struct bc_smtp_caps cp, cp2;
	char t[BC_AUDIT_DETAIL_MAX], why[160];
	int64_t t0;
	bool tls = false;

	t0 = bc_mono_ms();
	if (bc_smtp_conn_open(a, &c, p->port, a->timeout_s * 1000) < 0) {
		bc_audit_add_check(a, "conn.greeting", p->port, RES_SKIP, false,
				   "cannot connect: %s", strerror(c.err));
		return;
	}
	if (p->role == ROLE_SUBMISSIONS) {
		enum bc_smtp_hs h = bc_smtp_tls_handshake(a, &c, a->ctx_main, why, sizeof(why));

		if (h != HS_OK) {
			bc_smtp_conn_close(&c);
			if (implicit_speaks_plain(a, p)) {
				p->reachable = true;
				bc_audit_add_check(a, "conn.greeting", p->port, RES_PASS, false,
						   "cleartext 220 greeting");
				bc_audit_add_check(a, "tls.implicit", p->port, RES_FAIL, false,
						   "port %d speaks cleartext SMTP, not implicit TLS",
						   p->port);
			} else {
				p->reachable = true;
				bc_audit_add_check(a, "conn.greeting", p->port, RES_SKIP, false,
						   "TLS handshake failed: %s", why);
				bc_audit_add_check(a, "tls.implicit", p->port, RES_FAIL, false,
						   "TLS handshake failed: %s", why);
			}
			return;
		}
		tls = true;
	}
	if (bc_smtp_read_reply(&c, &r) < 0) {
		bc_audit_add_check(a, "conn.greeting", p->port, RES_SKIP, false,
				   "no greeting within %d s", a->timeout_s);
		bc_smtp_conn_close(&c);
		return;
	}
	if (r.code != 220) {
		bc_audit_add_check(a, "conn.greeting", p->port, RES_SKIP, false,
				   "server refuses us: %s", bc_smtp_rtext(&r, t, sizeof(t)));
		bc_smtp_quit(&c);
		return;
	}
	p->reachable = true;
	bc_audit_escs(r.n ? r.line[0] : "", p->banner, sizeof(p->banner));
	learn_domain(a, &r);
	bc_audit_add_check(a, "conn.greeting", p->port, RES_PASS, false,
			   "220 %s (%lld ms)", p->banner, (long long)(bc_mono_ms() - t0));
	if (banner_discloses(p->banner))
		bc_audit_add_check(a, "info.banner", p->port, RES_PASS, true,
				   "banner names software or a version: %s", p->banner);
	else
		bc_audit_add_check(a, "info.banner", p->port, RES_PASS, false,
				   "no software or version in the banner");
	if (bc_smtp_ehlo(a, &c, &cp) < 0) {
		bc_audit_add_check(a, p->role == ROLE_SUBMISSIONS ? "tls.implicit"
				   : "tls.starttls", p->port, RES_SKIP, false,
				   "EHLO and HELO refused");
		bc_smtp_quit(&c);
		return;
	}
	if (p->role == ROLE_SUBMISSIONS) {
		bc_audit_add_check(a, "tls.implicit", p->port, RES_PASS, false,
				   "implicit TLS: %s %s", SSL_get_version(c.ssl),
				   SSL_get_cipher_name(c.ssl));
		bc_audit_add_check(a, "auth.before_tls", p->port, RES_PASS, false,
				   "implicit TLS: no cleartext phase");
		bc_audit_add_check(a, "auth.plaintext", p->port, RES_PASS, false,
				   "implicit TLS: no cleartext phase");
		cp2 = cp;
	} else {
		if (cp.auth)
			bc_audit_add_check(a, "auth.before_tls", p->port, RES_FAIL, false,
					   "AUTH %s advertised before STARTTLS", cp.mechs);
		else
			bc_audit_add_check(a, "auth.before_tls", p->port, RES_PASS, false,
					   "AUTH not advertised before STARTTLS");
		if (probe_auth_plaintext(a, p, &c, &cp) < 0) {
			bc_smtp_conn_close(&c);
			return;
		}
		if (!cp.esmtp || !cp.starttls) {
			bc_audit_add_check(a, "tls.starttls", p->port,
					   p->role == ROLE_MX ? RES_WARN : RES_FAIL, false,
					   "%s", cp.esmtp ? "STARTTLS not offered"
					   : "no ESMTP (HELO only), so no STARTTLS");
		} else if (bc_smtp_cmd(&c, &r, "STARTTLS") < 0 || r.code != 220) {
			bc_audit_add_check(a, "tls.starttls", p->port, RES_FAIL, false,
					   "STARTTLS advertised but refused: %s",
					   bc_smtp_rtext(&r, t, sizeof(t)));
			if (r.code == 0) {
				bc_smtp_conn_close(&c);
				return;
			}
		} else {
			bool leftover = c.len > 0;
			enum bc_smtp_hs h = bc_smtp_tls_handshake(a, &c, a->ctx_main, why, sizeof(why));

			if (h != HS_OK) {
				bc_audit_add_check(a, "tls.starttls", p->port, RES_FAIL, false,
						   "TLS handshake after STARTTLS failed: %s", why);
				bc_smtp_conn_close(&c);
				p->tls_capable = true; /* still run the probes */
				goto probes;
			}
			if (bc_smtp_ehlo(a, &c, &cp2) < 0) {
				bc_audit_add_check(a, "tls.starttls", p->port, RES_FAIL, false,
						   "EHLO refused after TLS");
				bc_smtp_quit(&c);
				return;
			}
			tls = true;
			if (leftover)
				bc_audit_add_check(a, "tls.starttls", p->port, RES_FAIL, false,
						   "server sent data after 220 before the handshake "
						   "(CVE-2011-0411 class)");
			else
				bc_audit_add_check(a, "tls.starttls", p->port, RES_PASS, false,
						   "%s %s%s", SSL_get_version(c.ssl),
						   SSL_get_cipher_name(c.ssl),
						   cp2.starttls ? "; STARTTLS re-advertised after TLS"
						   : "");
		}
	}
	if (tls) {
		p->tls_capable = true;
		bc_audit_fmt_cut(p->tls_version, sizeof(p->tls_version), "%s",
			 SSL_get_version(c.ssl));
		bc_audit_escs(SSL_get_cipher_name(c.ssl), p->tls_cipher, sizeof(p->tls_cipher));
		check_cert(a, p, c.ssl);
		if (role_is_submission(p->role))
			bc_audit_add_check(a, "auth.after_tls", p->port,
					   cp2.auth ? RES_PASS : RES_FAIL, false, "%s%s",
					   cp2.auth ? "AUTH " : "no AUTH offered after TLS on a "
					   "submission port", cp2.auth ? cp2.mechs : "");
		else
			bc_audit_add_check(a, "auth.after_tls", p->port, RES_PASS, cp2.auth,
					   "%s%s", cp2.auth ? "AUTH offered on an MX port: "
					   : "no AUTH on the MX port", cp2.auth ? cp2.mechs : "");
	}
	if (check_relay(a, p, &c) < 0 || check_enum(a, p, &c) < 0) {
		bc_smtp_conn_close(&c);
		goto probes;
	}
	if (role_is_submission(p->role)) {
		if (!a->password)
			bc_audit_add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP,
					   false, "needs --user and --password-file");
		else if (tls && !cp2.auth)
			bc_audit_add_check(a, "sender.spoof_after_auth", p->port, RES_SKIP,
					   false, "no AUTH offered after TLS");
		else if (check_spoof(a, p, &c) < 0) {
			bc_smtp_conn_close(&c);
			goto probes;
		}
	}
	bc_smtp_quit(&c);
probes:
	if (p->tls_capable) {
		check_versions(a, p);
		check_ciphers(a, p);
	}
}

/* Does the source address look like one the server probably trusts? */
const char *bc_audit_trusted_source(const struct bc_audit *a)
{
	unsigned char b[16];

	if (a->src_str[0] == '\0')
		return NULL;
	if (strcmp(a->src_str, a->dst_str) == 0)
		return "the target itself";
	if (inet_pton(AF_INET, a->src_str, b) == 1) {
		if (b[0] == 127)
			return "loopback";
		if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		    (b[0] == 192 && b[1] == 168))
			return "a private (RFC 1918) range";
		if (b[0] == 100 && (b[1] & 0xc0) == 64)
			return "shared address space (RFC 6598)";
		if (b[0] == 169 && b[1] == 254)
			return "link-local";
		return NULL;
	}
	if (inet_pton(AF_INET6, a->src_str, b) == 1) {
		static const unsigned char lo[16] = {[15] = 1};

		if (memcmp(b, lo, 16) == 0)
			return "loopback";
		if ((b[0] & 0xfe) == 0xfc)
			return "a unique local (fc00::/7) range";
		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			return "link-local";
	}
	return NULL;
}

