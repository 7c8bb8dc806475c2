/*
 * audit_smtp_report.c - the findings of `bancluster audit smtp`
 * (audit_smtp_int.h): the catalogue of checks (section, title and a fix
 * line naming Postfix and Exim settings), recording a finding, the exit
 * code they add up to, and the report on stdout as text (sections,
 * colour on a terminal) or JSON (cli/jout.c; schema bancluster/audit-smtp,
 * docs/audit-smtp.md).
 *
 * A finding's detail is already escaped printable ASCII (the checks
 * escape server text before recording it); in JSON it is a string like
 * any other. Findings beyond BC_AUDIT_MAX_CHECKS are dropped. Nothing
 * here reads the network.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/audit_smtp.h"
#include "cli/audit_smtp_int.h"
#include "cli/jout.h"
#include "common/log.h"

/* Static description of every check id: section, title and fix line. */
struct bc_audit_check_def {
	const char *id;
	enum bc_audit_section sec;
	const char *title;
	const char *fix;        /* one line naming Postfix and Exim settings */
};

static const struct bc_audit_check_def check_defs[] = {
	{"conn.greeting", SEC_GEN, "greeting", NULL},
	{"gen.vantage", SEC_GEN, "audit vantage point",
	 "run the audit from an address outside the server's trusted networks "
	 "(--source ADDR, or another host)"},
	{"tls.starttls", SEC_A, "STARTTLS",
	 "Postfix: smtpd_tls_security_level = may (25) or encrypt (587) with "
	 "smtpd_tls_chain_files; Exim: tls_advertise_hosts = * with "
	 "tls_certificate/tls_privatekey"},
	{"tls.implicit", SEC_A, "implicit TLS",
	 "Postfix: master.cf submissions service with -o "
	 "smtpd_tls_wrappermode=yes; Exim: tls_on_connect_ports = 465"},
	{"auth.before_tls", SEC_A, "AUTH advertised before TLS",
	 "Postfix: smtpd_tls_auth_only = yes; Exim: auth_advertise_hosts = "
	 "${if eq{$tls_in_cipher}{}{}{*}}"},
	{"auth.plaintext", SEC_A, "cleartext AUTH accepted",
	 "Postfix: smtpd_tls_auth_only = yes; Exim: server_advertise_condition "
	 "= ${if def:tls_in_cipher} in every plaintext authenticator"},
	{"auth.after_tls", SEC_A, "AUTH after TLS",
	 "Postfix: -o smtpd_sasl_auth_enable=yes on the submission services; "
	 "Exim: a plaintext authenticator with server_condition"},
	{"auth.required", SEC_A, "submission requires AUTH",
	 "Postfix: -o smtpd_client_restrictions=permit_sasl_authenticated,reject "
	 "on 587/465; Exim: acl_smtp_rcpt: deny !authenticated = * on "
	 "submission ports"},
	{"tls.v1_0", SEC_A, "TLS 1.0",
	 "Postfix: smtpd_tls_protocols = >=TLSv1.2 and "
	 "smtpd_tls_mandatory_protocols = >=TLSv1.2; Exim: openssl_options = "
	 "+no_tlsv1 +no_tlsv1_1"},
	{"tls.v1_1", SEC_A, "TLS 1.1",
	 "Postfix: smtpd_tls_protocols = >=TLSv1.2 and "
	 "smtpd_tls_mandatory_protocols = >=TLSv1.2; Exim: openssl_options = "
	 "+no_tlsv1 +no_tlsv1_1"},
	{"tls.v1_2", SEC_A, "TLS 1.2",
	 "Postfix: smtpd_tls_protocols = >=TLSv1.2 (do not exclude TLSv1.2); "
	 "Exim: openssl_options without +no_tlsv1_2"},
	{"tls.v1_3", SEC_A, "TLS 1.3",
	 "Postfix: smtpd_tls_protocols = >=TLSv1.2 with OpenSSL 1.1.1 or later; "
	 "Exim: openssl_options without +no_tlsv1_3"},
	{"tls.cipher.null", SEC_A, "NULL (unencrypted) ciphers",
	 "Postfix: smtpd_tls_exclude_ciphers = aNULL, eNULL, kRSA; Exim: "
	 "tls_require_ciphers = ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"},
	{"tls.cipher.anon", SEC_A, "anonymous (aNULL) ciphers",
	 "Postfix: -o smtpd_tls_exclude_ciphers=aNULL,eNULL,kRSA on 587/465; "
	 "Exim: tls_require_ciphers = ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"},
	{"tls.cipher.nofs", SEC_A, "ciphers without forward secrecy",
	 "Postfix: smtpd_tls_exclude_ciphers = aNULL, eNULL, kRSA; Exim: "
	 "tls_require_ciphers = ECDHE+AESGCM:ECDHE+CHACHA20"},
	{"tls.cipher.legacy", SEC_A, "3DES/RC4/EXPORT ciphers",
	 "Postfix: smtpd_tls_mandatory_ciphers = high; Exim: "
	 "tls_require_ciphers = ECDHE+AESGCM:ECDHE+CHACHA20"},
	{"tls.cert.chain", SEC_A, "certificate chain",
	 "install a certificate chaining to a public CA: Postfix "
	 "smtpd_tls_chain_files (full chain); Exim tls_certificate (full chain)"},
	{"tls.cert.hostname", SEC_A, "certificate host name",
	 "use a certificate whose SAN covers the server name: Postfix "
	 "smtpd_tls_chain_files; Exim tls_certificate"},
	{"tls.cert.expiry", SEC_A, "certificate expiry",
	 "renew the certificate (e.g. certbot) and reload: Postfix "
	 "smtpd_tls_chain_files; Exim tls_certificate"},
	{"relay.open", SEC_B, "open relay (no AUTH)",
	 "Postfix: smtpd_relay_restrictions = permit_mynetworks, "
	 "permit_sasl_authenticated, reject_unauth_destination with a "
	 "mynetworks of only your hosts; Exim: relay_from_hosts = your hosts "
	 "only, acl_smtp_rcpt require verify = recipient / domains = "
	 "+local_domains"},
	{"sender.spoof_after_auth", SEC_B, "foreign MAIL FROM after AUTH",
	 "Postfix: smtpd_sender_login_maps plus reject_sender_login_mismatch in "
	 "smtpd_sender_restrictions; Exim: acl_smtp_mail: deny authenticated = * "
	 "condition = ${if !eqi{$sender_address}{$authenticated_id}}"},
	{"ban.auth", SEC_C, "ban after wrong logins",
	 "run bancluster-agent on every MX (or a fail2ban jail on SASL "
	 "failures), ban for 3-24 h after 3-10 offences"},
	{"ban.sender", SEC_C, "ban after unauthorised senders",
	 "run bancluster-agent on every MX (fail2ban: a custom failregex for "
	 "'Sender address rejected'), ban for 3-24 h after 3-10 offences"},
	{"ban.abort", SEC_C, "ban after AUTH dropped half-way",
	 "run bancluster-agent on every MX (fail2ban: postfix[mode=aggressive] "
	 "for 'lost connection after AUTH'), ban for 3-24 h"},
	{"enum.vrfy", SEC_HYG, "VRFY user enumeration",
	 "Postfix: disable_vrfy_command = yes; Exim: leave acl_smtp_vrfy unset "
	 "(deny)"},
	{"enum.expn", SEC_HYG, "EXPN list expansion",
	 "Postfix: has no EXPN; Exim: leave acl_smtp_expn unset (deny)"},
	{"info.banner", SEC_HYG, "banner discloses software",
	 "Postfix: smtpd_banner = $myhostname ESMTP; Exim: smtp_banner = "
	 "$smtp_active_hostname ESMTP"},
};

static const char *const section_names[SEC_COUNT] = {
	"general", "a", "b", "c", "hygiene"};
static const char *const section_titles[SEC_COUNT] = {
	"general",
	"(a) credentials only over TLS",
	"(b) MAIL FROM checked, no relay",
	"(c) repeated abuse is banned",
	"hygiene"};
static const char *const result_names[] = {"pass", "warn", "fail", "skip"};

static const struct bc_audit_check_def *check_def_find(const char *id)
{
	size_t i;

	for (i = 0; i < sizeof(check_defs) / sizeof(check_defs[0]); i++)
		if (strcmp(check_defs[i].id, id) == 0)
			return &check_defs[i];
	return NULL;
}

/*
 * Record a finding. fmt and its arguments must contain only text that is
 * already escaped (server text goes through bc_audit_esc first).
 */
__attribute__((format(printf, 6, 7)))
void bc_audit_add_check(struct bc_audit *a, const char *id, int port,
			enum bc_audit_result res, bool info, const char *fmt, ...)
{
	struct bc_audit_check *c;
	va_list ap;

	if (a->nchecks >= BC_AUDIT_MAX_CHECKS)
		return;
	c = &a->checks[a->nchecks++];
	c->id = id;
	c->port = port;
	c->res = res;
	c->info = info;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
}

static const char *role_name(enum bc_audit_role r)
{
	switch (r) {
	case ROLE_MX:
		return "mx";
	case ROLE_SUBMISSION:
		return "submission";
	case ROLE_SUBMISSIONS:
		return "submissions";
	}
	return "?";
}

/* Exit code from the findings (fail > could not audit > warn > ok). */
int bc_audit_exit_code(const struct bc_audit *a)
{
	size_t i;
	bool warn = false;

	for (i = 0; i < a->nchecks; i++) {
		if (a->checks[i].res == RES_FAIL)
			return BC_AUDIT_EXIT_FAIL;
		if (a->checks[i].res == RES_WARN)
			warn = true;
	}
	return warn ? BC_AUDIT_EXIT_WARN : BC_AUDIT_EXIT_OK;
}

int bc_audit_report_json(const struct bc_audit *a, int code)
{
	json_t *d = bc_jout_new("audit-smtp", BC_AUDIT_JSON_VERSION), *t, *arr, *o;
	size_t i;
	int n[4] = {0, 0, 0, 0};
	char h[BC_AUDIT_NAME_MAX * 4 + 8];

	bc_audit_escs(a->host, h, sizeof(h));
	t = bc_jout_obj(d, "target");
	bc_jout_str(t, "host", h);
	bc_jout_str(t, "address", a->dst_str);
	bc_jout_str(t, "source", a->src_str);
	bc_jout_str(t, "domain", a->domain);
	arr = bc_jout_arr(t, "ports");
	for (i = 0; i < a->nports; i++) {
		const struct bc_audit_port *p = &a->ports[i];

		o = bc_jout_push_obj(arr);
		bc_jout_int(o, "port", p->port);
		bc_jout_str(o, "role", role_name(p->role));
		bc_jout_bool(o, "reachable", p->reachable);
		bc_jout_str(o, "banner", p->banner);
		bc_jout_str(o, "tls_version", p->tls_version);
		bc_jout_str(o, "tls_cipher", p->tls_cipher);
	}
	arr = bc_jout_arr(d, "checks");
	for (i = 0; i < a->nchecks; i++) {
		const struct bc_audit_check *c = &a->checks[i];
		const struct bc_audit_check_def *def = check_def_find(c->id);

		n[c->res]++;
		o = bc_jout_push_obj(arr);
		bc_jout_str(o, "id", c->id);
		bc_jout_str(o, "section", def ? section_names[def->sec] : "general");
		bc_jout_int(o, "port", c->port);
		bc_jout_str(o, "result", result_names[c->res]);
		bc_jout_bool(o, "info", c->info);
		bc_jout_str(o, "title", def ? def->title : c->id);
		bc_jout_str(o, "detail", c->detail);
		bc_jout_str(o, "fix", def && def->fix && (c->res == RES_FAIL || c->res == RES_WARN)
					       ? def->fix : NULL);
	}
	o = bc_jout_obj(d, "summary");
	bc_jout_int(o, "pass", n[RES_PASS]);
	bc_jout_int(o, "warn", n[RES_WARN]);
	bc_jout_int(o, "fail", n[RES_FAIL]);
	bc_jout_int(o, "skip", n[RES_SKIP]);
	bc_jout_int(o, "sessions", a->sessions);
	bc_jout_int(o, "exit_code", code);
	return bc_jout_print(&d);
}

int bc_audit_report_json_unreachable(int code)
{
	json_t *d = bc_jout_new("audit-smtp", BC_AUDIT_JSON_VERSION);

	bc_jout_str(d, "error", "unreachable");
	bc_jout_arr(d, "checks");
	bc_jout_int(bc_jout_obj(d, "summary"), "exit_code", code);
	return bc_jout_print(&d);
}

void bc_audit_report_human(const struct bc_audit *a, int code)
{
	static const char *const col[] = {"\033[32m", "\033[33m", "\033[31m", ""};
	const char *reset = a->colour ? "\033[0m" : "";
	const char *head = a->colour ? "\033[36m" : "";
	int n[4] = {0, 0, 0, 0};
	char h[BC_AUDIT_NAME_MAX * 4 + 8];
	size_t i;
	int s;

	bc_audit_escs(a->host, h, sizeof(h));
	printf("%s# audit smtp %s (%s) from %s, domain %s%s\n", head, h,
	       a->dst_str, a->src_str[0] ? a->src_str : "?",
	       a->domain[0] ? a->domain : "?", reset);
	for (s = 0; s < SEC_COUNT; s++) {
		bool any = false;

		for (i = 0; i < a->nchecks; i++) {
			const struct bc_audit_check *c = &a->checks[i];
			const struct bc_audit_check_def *d = check_def_find(c->id);
			const char *word = c->info ? "info" : result_names[c->res];
			char port[16] = "-";

			if (!d || (int)d->sec != s)
				continue;
			if (!any)
				printf("\n%s# %s%s\n", head, section_titles[s], reset);
			any = true;
			if (c->port)
				bc_audit_fmt_cut(port, sizeof(port), "%d", c->port);
			printf("%s[%s]%s %-24s %-4s %s\n",
			       a->colour && !c->info ? col[c->res] : "", word,
			       a->colour && !c->info ? reset : "", c->id, port,
			       c->detail);
			if (d->fix && (c->res == RES_FAIL || c->res == RES_WARN))
				printf("       fix: %s\n", d->fix);
		}
	}
	for (i = 0; i < a->nchecks; i++)
		n[a->checks[i].res]++;
	printf("\n%s# summary%s\n%d pass, %d warn, %d fail, %d skip -> %s (exit %d)\n",
	       head, reset, n[RES_PASS], n[RES_WARN], n[RES_FAIL], n[RES_SKIP],
	       code == 2 ? "FAIL" : code == 1 ? "WARN" : "OK", code);
	if (a->ban_tests)
		printf("note: ban counts include earlier offences from this address "
		       "within the server's window (this audit's own probes too); "
		       "allowlisted addresses are never banned\n");
}

