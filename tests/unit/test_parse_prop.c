/*
 * test_parse_prop.c - property test of the log parsers against attacker
 * text (issue 11, "A property test in the suite").
 *
 * Every line shape the parsers read, for every MTA, is a template below
 * whose client-controlled fields are marked (client name, HELO, MAIL FROM,
 * RCPT TO, SASL user, Dovecot user, Exim ident, TLS SNI, the <X> of a
 * reject, callout replies, quoted SMTP commands, header text). The test
 * fills those fields with attacker text built from every reason phrase the
 * parsers (and the MTAs) use, IP-looking text for addresses nobody
 * connects from, pieces of other templates' lines, punctuation, newlines
 * (as the MTA or syslog escapes them), random bytes and long runs up to the
 * 8 KiB line cap, and checks two differential properties against the same
 * template filled with benign text (the "base" line):
 *   (a) a template whose base yields events (kind K, count n, for the
 *       client's own address C) yields exactly those, whatever the fields
 *       hold;
 *   (b) a template whose base yields nothing yields nothing.
 * A failure is one of
 *   FOREIGN  an event for an address that is not the client's (a ban on
 *            an innocent address: the worst case)
 *   KIND     a kind the base line does not give (the kind came from
 *            client text, or client text changed it)
 *   COUNT    the base line's kinds, another number of events
 *   MISSED   no event where the base line has one (evasion): client
 *            text made the client's own line ambiguous, and the parser
 *            gave nothing rather than guess (docs/detection.md, known
 *            evasions). It frames no one, so it is reported with an
 *            example but fails only above MISS_MAX_PCT of a template's
 *            lines (a parser that stopped reading a shape), or at all
 *            for T_MAY_MISS templates (a junk HELO that makes Exim's
 *            host field ambiguous)
 * Each (template, failure, guilty field) prints one "not ok" line with the
 * count and a minimal example; the guilty field is the one client field
 * that fails the line that way on its own ("several fields together" if
 * none does). The shortest failing line is shrunk (other fields back to
 * benign text, then bytes cut, addresses kept whole) while it still fails
 * the same way. A "# summary" table gives the failures per template.
 *
 * Positive control: each base line must give the events the template
 * names (so a parser that returns nothing for everything fails), the same
 * in every header form, for IPv4 and IPv6 clients, and with format auto as
 * with the MTA's own format. Templates whose outcome the issue leaves to
 * decide (T_UNDECIDED) are checked only for that consistency and
 * differentially. A new line shape is a new template: its text with the
 * placeholders below, and the events its base line must give.
 *
 * Each line gets fresh parser state: its own pid, queue id, session id,
 * client address (198.18.0.0/15 or 2001:db8:c1::/48) and a time 3 s
 * after the previous one, so session rules (one attempt counted once) do
 * not join lines. Lines: BC_PROP_LINES (default 200000), seed
 * BC_PROP_SEED (default fixed: the run is deterministic); BC_PROP_DUMP=FILE
 * writes every failing line there (class, template, line escaped).
 */
#include "logparse/parse.h"
#include "tap.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define PROP_LINES_DEFAULT 200000
#define PROP_SEED_DEFAULT 0x11bc0ffee11ULL
#define RAW_MAX 8192    /* longest raw field value */
#define OUT_MAX 262144  /* rendered line before the cap is enforced */
#define MAX_EV 64
#define SHRINK_BUDGET 6000 /* evaluations per example */
#define EXAMPLE_CUT 300    /* bytes of an escaped example line shown */

/* ---- templates ----------------------------------------------------- */

enum mta { PF, EX, SM, DV, N_MTA };

#define T_UNDECIDED 1u /* the issue leaves the outcome to decide */
#define T_MAY_MISS 2u  /* client text may make the line no event */
#define MISS_MAX_PCT 25 /* misses above this share of a template's lines fail */

#define AF BC_KIND_AUTH_FAIL
#define SV BC_KIND_SENDER_VIOLATION
#define AA BC_KIND_AUTH_ABORT
#define AS BC_KIND_AUTH_SUCCESS

struct tmpl {
	const char *name;
	enum mta mta;
	const char *text;
	uint8_t kind;  /* expected kind for the client (0: no event) */
	uint8_t count; /* number of events of that kind */
	unsigned flags;
	const char *kbenign; /* benign {K}; NULL = "hello" */
};

/*
 * Placeholders. Server-written: {h} syslog header (RFC 3164, rsyslog ISO
 * 8601, or none as a journal source gives it), {e} Exim header (mainlog,
 * mainlog +pid, syslog copy, syslog copy +pid), {d} Dovecot's own log
 * file header, {P} pid, {Q} Postfix queue id, {q} Sendmail queue id, {M}
 * Exim message id, {Z} Dovecot session id, {C} client address, {c} the
 * same as Sendmail writes it ("IPv6:" before an IPv6 address).
 * Client-written: {N} client host name (rDNS: hostname characters),
 * {H} HELO, {J} Exim HELO accepted as junk, {S}/{s} MAIL FROM (quoted as
 * the MTA logs it / Postfix's unquoted form in a reply), {R}/{r} RCPT TO,
 * {U} SASL or login user, {u} user in a Dovecot auth-process line, {I}
 * Exim ident (U=), {K} other client text (SMTP command, header, callout
 * reply, password), {T} TLS SNI.
 */
#define PFH "{h}postfix/smtpd[{P}]: "
#define PFS "{h}postfix/submission/smtpd[{P}]: "
#define PFR "NOQUEUE: reject: RCPT from {N}[{C}]: "
#define PFT "; from=<{S}> to=<{R}> proto=ESMTP helo=<{H}>"
#define TLSX "X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=no"
#define SMQ "{h}sm-mta[{P}]: {q}: "
#define SMA "AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user={U}, "
#define DVS "{h}dovecot[{P}]: "
#define DVL ", method=PLAIN, rip={C}, lip=198.51.100.1, TLS, session=<{Z}>"

static const struct tmpl tmpls[] = {
	/* Postfix smtpd, cleanup */
	{"postfix SASL LOGIN failed", PF, PFS "warning: {N}[{C}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={U}", AF, 1, 0, NULL},
	{"postfix SASL PLAIN failed, port", PF, PFH "warning: {N}[{C}]:54321: SASL PLAIN authentication failed: (reason unavailable), sasl_username={U}", AF, 1, 0, NULL},
	{"postfix SASL failed, no user", PF, PFS "warning: {N}[{C}]: SASL LOGIN authentication failed: authentication failure", AF, 1, 0, NULL},
	{"postfix SASL backend failure", PF, PFS "warning: {N}[{C}]: SASL PLAIN authentication failed: Connection lost to authentication server, sasl_username={U}", 0, 0, 0, NULL},
	{"postfix SASL aborted", PF, PFS "warning: {N}[{C}]: SASL LOGIN authentication aborted", AA, 1, 0, NULL},
	{"postfix lost connection after AUTH", PF, PFS "lost connection after AUTH from {N}[{C}]", AA, 1, 0, NULL},
	{"postfix timeout after AUTH", PF, PFS "timeout after AUTH from {N}[{C}]", AA, 1, 0, NULL},
	{"postfix disconnect auth=0/1", PF, PFS "disconnect from {N}[{C}] ehlo=2 starttls=1 auth=0/1 quit=1 commands=4/5", AA, 1, 0, NULL},
	{"postfix disconnect auth=1", PF, PFS "disconnect from {N}[{C}] ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=8", AS, 1, 0, NULL},
	{"postfix disconnect auth=1/2 (item 9)", PF, PFS "disconnect from {N}[{C}] ehlo=2 starttls=1 auth=1/2 mail=1 rcpt=1 data=1 quit=1 commands=8/9", 0, 0, T_UNDECIDED, NULL},
	{"postfix disconnect without AUTH", PF, PFH "disconnect from {N}[{C}] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", 0, 0, 0, NULL},
	{"postfix client= with SASL", PF, PFS "{Q}: client={N}[{C}], sasl_method=PLAIN, sasl_username={U}", AS, 1, 0, NULL},
	{"postfix client= without SASL", PF, PFH "{Q}: client={N}[{C}]", 0, 0, 0, NULL},
	{"postfix connect", PF, PFH "connect from {N}[{C}]", 0, 0, 0, NULL},
	{"postfix lost connection after RCPT", PF, PFH "lost connection after RCPT from {N}[{C}]", 0, 0, 0, NULL},
	{"postfix reject Relay access denied", PF, PFH PFR "554 5.7.1 <{r}>: Relay access denied" PFT, SV, 1, 0, NULL},
	{"postfix reject Relay access denied 454, queue id", PF, PFH "{Q}: reject: RCPT from {N}[{C}]: 454 4.7.1 <{r}>: Relay access denied" PFT, SV, 1, 0, NULL},
	{"postfix reject not owned by user", PF, PFS PFR "553 5.7.1 <{s}>: Sender address rejected: not owned by user alice@lab.test" PFT, SV, 1, 0, NULL},
	{"postfix reject not logged in", PF, PFH PFR "553 5.7.1 <{s}>: Sender address rejected: not logged in" PFT, SV, 1, 0, NULL},
	{"postfix reject MAIL not logged in", PF, PFH "NOQUEUE: reject: MAIL from {N}[{C}]: 553 5.7.1 <{s}>: Sender address rejected: not logged in; from=<{S}> proto=ESMTP helo=<{H}>", SV, 1, 0, NULL},
	{"postfix reject User unknown (item 1)", PF, PFH PFR "550 5.1.1 <{r}>: Recipient address rejected: User unknown in virtual mailbox table" PFT, 0, 0, 0, NULL},
	{"postfix reject greylisted (item 1)", PF, PFH PFR "450 4.2.0 <{r}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/lab.test.html" PFT, 0, 0, 0, NULL},
	{"postfix reject Helo command rejected", PF, PFH PFR "450 4.7.1 <{H}>: Helo command rejected: Host not found" PFT, 0, 0, 0, NULL},
	{"postfix reject RBL", PF, PFH PFR "554 5.7.1 Service unavailable; Client host [{C}] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/{C}" PFT, 0, 0, 0, NULL},
	{"postfix reject unverified sender, callout reply (item 2)", PF, PFH PFR "450 4.1.7 <{s}>: Sender address rejected: unverified address: host mx.evil.example[203.0.113.66] said: 550 {K} (in reply to RCPT TO command)" PFT, 0, 0, 0, "5.1.1 <a1@evil.example>: Recipient address rejected: User unknown in local recipient table"},
	{"postfix reject cannot find your hostname", PF, PFH PFR "450 4.7.25 Client host rejected: cannot find your hostname, [{C}]" PFT, 0, 0, 0, NULL},
	{"postfix reject Recipient Access denied", PF, PFH PFR "554 5.7.1 <{r}>: Recipient address rejected: Access denied" PFT, 0, 0, 0, NULL},
	{"postfix reject sender Domain not found", PF, PFH PFR "450 4.1.8 <{s}>: Sender address rejected: Domain not found" PFT, 0, 0, 0, NULL},
	{"postfix cleanup header_checks reject", PF, "{h}postfix/cleanup[{P}]: {Q}: reject: header Subject: {K} from {N}[{C}]; from=<{S}> to=<{R}> proto=ESMTP helo=<{H}>: 5.7.1 Message content rejected", 0, 0, 0, NULL},
	{"postfix non-SMTP command", PF, PFH "warning: non-SMTP command from {N}[{C}]: {K}", 0, 0, 0, "GET / HTTP/1.1"},
	{"postfix Illegal address syntax", PF, PFH "warning: Illegal address syntax from {N}[{C}] in RCPT command: <{K}>", 0, 0, 0, "a b@example.net"},
	{"postfix improper pipelining", PF, PFH "improper command pipelining after EHLO from {N}[{C}]: {K}", 0, 0, 0, "MAIL FROM:<a@example.org>"},

	/* Exim */
	{"exim authenticator failed", EX, "{e}login authenticator failed for ({H}) [{C}]: 535 Incorrect authentication data (set_id={U})", AF, 1, 0, NULL},
	{"exim authenticator failed, name, port, I=, ident", EX, "{e}dovecot_login authenticator failed for {N} ({H}) [{C}]:41556 I=[198.51.100.1]:587 U={I}: 535 Incorrect authentication data (set_id={U})", AF, 1, 0, NULL},
	{"exim authenticator failed, Ci=", EX, "{e}dovecot_plain authenticator failed for ({H}) [{C}]:21298 I=[198.51.100.1]:465 Ci=30416: 535 Incorrect authentication data (set_id={U})", AF, 1, 0, NULL},
	{"exim authenticator failed, junk HELO", EX, "{e}plain authenticator failed for ({J}) [{C}]: 535 Incorrect authentication data (set_id={U})", AF, 1, T_MAY_MISS, NULL},
	{"exim Authentication cancelled", EX, "{e}login authenticator failed for ({H}) [{C}]: 501 Authentication cancelled", AA, 1, 0, NULL},
	{"exim 435 Unable to authenticate", EX, "{e}plain authenticator failed for ({H}) [{C}]: 435 Unable to authenticate at present (set_id={U})", 0, 0, 0, NULL},
	{"exim no MAIL after AUTH", EX, "{e}no MAIL in SMTP connection from ({H}) [{C}] D=0s " TLSX " SNI={T} C=EHLO,STARTTLS,EHLO,AUTH", AA, 1, 0, NULL},
	{"exim no MAIL after a login", EX, "{e}no MAIL in SMTP connection from {N} ({H}) [{C}] D=2s A=plain:{U} C=EHLO,AUTH,QUIT", AS, 1, 0, NULL},
	{"exim AUTH when not advertised", EX, "{e}SMTP protocol error in \"AUTH LOGIN{K}\" H=({H}) [{C}] AUTH command used when not advertised", AA, 1, 0, ""},
	{"exim AUTH when not advertised, ident (item 3)", EX, "{e}SMTP protocol error in \"AUTH LOGIN\" H=({H}) [{C}] U={I} AUTH command used when not advertised", AA, 1, 0, NULL},
	{"exim rejected RCPT relay not permitted", EX, "{e}H=({H}) [{C}] F=<{S}> rejected RCPT <{R}>: relay not permitted", SV, 1, 0, NULL},
	{"exim rejected RCPT relay, name, I=, SNI=", EX, "{e}H={N} ({H}) [{C}]:43030 I=[198.51.100.1]:25 Ci=7326 CV=no SNI={T} F=<{S}> rejected RCPT <{R}>: relay not permitted", SV, 1, 0, NULL},
	{"exim rejected RCPT relay, ident", EX, "{e}H=({H}) [{C}] U={I} F=<{S}> rejected RCPT <{R}>: relay not permitted", SV, 1, 0, NULL},
	{"exim rejected MAIL not owned by authenticated user", EX, "{e}H=({H}) [{C}] " TLSX " rejected MAIL <{S}>: sender address not owned by authenticated user", SV, 1, 0, NULL},
	{"exim rejected MAIL not owned by user USER (item 5)", EX, "{e}H=({H}) [{C}] " TLSX " rejected MAIL <{S}>: Sender address rejected: not owned by user alice@lab.test", SV, 1, 0, NULL},
	{"exim rejected MAIL not logged in (item 5)", EX, "{e}H=({H}) [{C}] rejected MAIL <{S}>: Sender address rejected: not logged in", SV, 1, 0, NULL},
	{"exim rejected RCPT Unknown user", EX, "{e}H={N} [{C}] F=<{S}> rejected RCPT <{R}>: Unknown user", 0, 0, 0, NULL},
	{"exim rejected RCPT RBL", EX, "{e}H=({H}) [{C}] F=<{S}> rejected RCPT <{R}>: {C} is listed at zen.spamhaus.org", 0, 0, 0, NULL},
	{"exim sender verify fail, callout reply (item 2)", EX, "{e}H=({H}) [{C}] sender verify fail for <{S}>: response to \"RCPT TO:<{S}>\" from mx.evil.example [203.0.113.66] was: 550 {K}", 0, 0, 0, "5.1.1 User unknown"},
	{"exim rejected RCPT Sender verify failed", EX, "{e}H=({H}) [{C}] F=<{S}> rejected RCPT <{R}>: Sender verify failed", 0, 0, 0, NULL},
	{"exim <= with AUTH", EX, "{e}{M} <= {S} H=({H}) [{C}] P=esmtpsa " TLSX " A=login:{U} S=502 id={K}", AS, 1, 0, "20261128233823.019728@vm"},
	{"exim <= without AUTH", EX, "{e}{M} <= {S} H={N} ({H}) [{C}] P=esmtps " TLSX " S=509 id={K}", 0, 0, 0, "20261128233824.019795@vm"},
	{"exim rejected EHLO", EX, "{e}rejected EHLO from [{C}]: syntactically invalid argument(s): {K}", 0, 0, 0, "a b"},
	{"exim TLS error", EX, "{e}TLS error on connection from ({H}) [{C}] (recv): The TLS connection was non-properly terminated.", 0, 0, 0, NULL},
	{"exim SMTP call dropped", EX, "{e}SMTP call from ({H}) [{C}] dropped: too many syntax or protocol errors (last command was \"{K}\",  C=EHLO,STARTTLS,EHLO,AUTH)", 0, 0, T_UNDECIDED, "YmFkNQ=="},

	/* Sendmail */
	{"sendmail AUTH failure", SM, SMQ SMA "relay={N} [{c}]", AF, 1, 0, NULL},
	{"sendmail AUTH failure, may be forged", SM, SMQ "AUTH failure (PLAIN): authentication failure (-13) SASL(-13): authentication failure: Password verification failed, user={U}, relay={N} [{c}] (may be forged)", AF, 1, 0, NULL},
	{"sendmail AUTH failure, no name", SM, SMQ "AUTH failure (LOGIN): user not found (-20) SASL(-13): user not found: checkpass failed, user={U}, relay=[{c}]", AF, 1, 0, NULL},
	{"sendmail AUTH failure, backend", SM, SMQ "AUTH failure (PLAIN): generic failure (-1) SASL(-1): generic failure: checkpass failed, user={U}, relay=[{c}]", 0, 0, 0, NULL},
	{"sendmail lost input channel after auth", SM, SMQ "lost input channel from {N} [{c}] to MSA after auth", AA, 1, 0, NULL},
	{"sendmail lost input channel after rcpt", SM, SMQ "lost input channel from {N} [{c}] to MTA after rcpt", 0, 0, 0, NULL},
	{"sendmail AUTH=server", SM, "{h}sm-mta[{P}]: AUTH=server, relay={N} [{c}], authid=alice, mech=PLAIN, bits=0", AS, 1, 0, NULL},
	{"sendmail check_rcpt Relaying denied", SM, SMQ "ruleset=check_rcpt, arg1=<{R}>, relay={N} [{c}], reject=550 5.7.1 <{R}>... Relaying denied. Proper authentication required.", SV, 1, 0, NULL},
	{"sendmail check_rcpt Relaying denied, forged", SM, SMQ "ruleset=check_rcpt, arg1=<{R}>, relay={N} [{c}] (may be forged), reject=550 5.7.1 <{R}>... Relaying denied. IP name possibly forged [{c}]", SV, 1, 0, NULL},
	{"sendmail check_rcpt Relaying denied, no name", SM, SMQ "ruleset=check_rcpt, arg1=<{R}>, relay=[{c}], reject=550 5.7.1 <{R}>... Relaying denied", SV, 1, 0, NULL},
	{"sendmail check_rcpt User unknown", SM, SMQ "ruleset=check_rcpt, arg1=<{R}>, relay={N} [{c}], reject=550 5.1.1 <{R}>... User unknown", 0, 0, 0, NULL},
	{"sendmail check_rcpt Access denied (item 1)", SM, SMQ "ruleset=check_rcpt, arg1=<{R}>, relay={N} [{c}], reject=550 5.7.1 <{R}>... Access denied", 0, 0, 0, NULL},
	{"sendmail check_rcpt Relaying temporarily denied", SM, SMQ "ruleset=check_rcpt, arg1=<{R}>, relay=[{c}], reject=450 4.4.0 <{R}>... Relaying temporarily denied. Cannot resolve PTR record for {C}", 0, 0, 0, NULL},
	/* not a sender violation: an honest forwarder passes such senders on
	 * (docs/detection.md); only ownership/authorisation reasons count */
	{"sendmail check_mail 553 5.1.8 (item 5)", SM, SMQ "ruleset=check_mail, arg1=<{S}>, relay={N} [{c}], reject=553 5.1.8 <{S}>... Domain of sender address {S} does not exist", 0, 0, 0, NULL},
	/* an access-map REJECT of the sender: about the sender's system, which
	 * a forwarder passes on, not about who may use it: no event */
	{"sendmail check_mail 550 Access denied (item 5)", SM, SMQ "ruleset=check_mail, arg1=<{S}>, relay={N} [{c}], reject=550 5.7.1 <{S}>... Access denied", 0, 0, 0, NULL},
	{"sendmail check_mail 550 sender-ownership rule (item 5)", SM, SMQ "ruleset=check_mail, arg1=<{S}>, relay={N} [{c}], reject=550 5.7.1 <{S}>... Sender address rejected: not owned by user alice", SV, 1, 0, NULL},
	{"sendmail check_mail 451", SM, SMQ "ruleset=check_mail, arg1=<{S}>, relay={N} [{c}], reject=451 4.1.8 Domain of sender address {S} does not resolve", 0, 0, 0, NULL},
	{"sendmail from= line", SM, SMQ "from=<{S}>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA, relay={N} [{c}]", 0, 0, 0, NULL},
	{"sendmail possible SMTP attack", SM, SMQ "{N} [{c}]: possible SMTP attack: command=AUTH, count=3", 0, 0, T_UNDECIDED, NULL},
	{"sendmail did not issue MAIL", SM, SMQ "{N} [{c}] did not issue MAIL/EXPN/VRFY/ETRN during connection to MSA", 0, 0, T_UNDECIDED, NULL},

	/* Dovecot login processes */
	{"dovecot auth failed, 2 attempts", DV, DVS "imap-login: Disconnected (auth failed, 2 attempts in 4 secs): user=<{U}>" DVL, AF, 2, 0, NULL},
	{"dovecot Login aborted, 3 attempts", DV, DVS "imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<{U}>" DVL, AF, 3, 0, NULL},
	{"dovecot pop3 Aborted login", DV, "{h}dovecot: pop3-login: Aborted login (auth failed, 1 attempts in 2 secs): user=<{U}>, method=PLAIN, rip={C}, lip=198.51.100.1, session=<{Z}>", AF, 1, 0, NULL},
	{"dovecot own log, Inactivity", DV, "{d}pop3-login: Info: Disconnected: Inactivity (auth failed, 1 attempts in 178 secs): user=<{U}>, method=PLAIN, rip={C}, lip=198.51.100.1, session=<{Z}>", AF, 1, 0, NULL},
	{"dovecot Login", DV, DVS "imap-login: Login: user=<{U}>, method=PLAIN, rip={C}, lip=198.51.100.1, mpid={P}, TLS, session=<{Z}>", AS, 1, 0, NULL},
	{"dovecot no auth attempts", DV, DVS "imap-login: Disconnected (no auth attempts in 0 secs): user=<{U}>, rip={C}, lip=198.51.100.1, TLS, session=<{Z}>", 0, 0, 0, NULL},
	{"dovecot disconnected while authenticating (item 9)", DV, DVS "imap-login: Disconnected (disconnected while authenticating, waited 31 secs): user=<{U}>" DVL, 0, 0, T_UNDECIDED, NULL},
	{"dovecot aborted authentication", DV, DVS "pop3-login: Disconnected (aborted authentication): user=<{U}>" DVL, AA, 1, 0, NULL},
	{"dovecot proxy dest auth failed", DV, DVS "imap-login: Disconnected (proxy dest auth failed): user=<{U}>" DVL, 0, 0, 0, NULL},
	/* Dovecot mail processes: the user is the client's */
	{"dovecot imap(USER) Logged out (item 4)", DV, DVS "imap({U})<{P}><{Z}>: Logged out in=10 out=20", 0, 0, 0, NULL},
	{"dovecot own log imap(USER) Logged out (item 4)", DV, "{d}imap({U})<{P}><{Z}>: Info: Logged out in=10 out=20", 0, 0, 0, NULL},
	{"dovecot imap(USER) Connection closed (item 4)", DV, DVS "imap({U})<{P}><{Z}>: Disconnected: Connection closed (IDLE running for 0.001 + waiting input for 28.9 secs) in=410 out=1232", 0, 0, 0, NULL},
	/* Dovecot auth process (item 6) */
	{"dovecot auth passwd-file Password mismatch (item 6)", DV, "{h}dovecot: auth: passwd-file({u},{C}): Password mismatch", AF, 1, 0, NULL},
	{"dovecot auth passwd-file unknown user (item 6)", DV, DVS "auth: passwd-file({u},{C},<{Z}>): unknown user", AF, 1, 0, NULL},
	{"dovecot auth ldap unknown user (item 6)", DV, "{h}dovecot: auth: ldap({u},{C},<{Z}>): unknown user", AF, 1, 0, NULL},
	{"dovecot auth-worker pam (item 6)", DV, DVS "auth-worker({P}): pam({u},{C},<{Z}>): pam_authenticate() failed: Authentication failure (password mismatch?)", AF, 1, 0, NULL},
	{"dovecot own log auth-worker sql (item 6)", DV, "{d}auth-worker({P}): Info: sql({u},{C},<{Z}>): Password mismatch", AF, 1, 0, NULL},
	{"dovecot own log given password (item 6)", DV, "{d}auth: Info: passwd-file({u},{C},<{Z}>): Password mismatch (given password: {K})", AF, 1, 0, "secret"},
	{"dovecot own log 2.4 auth line", DV, "{d}auth({u},{C},sasl:login)<{Z}>: Info: sql: Password mismatch (given password: {K})", 0, 0, T_UNDECIDED, "secret"},
};
#define N_TMPL (sizeof(tmpls) / sizeof(tmpls[0]))

/* ---- random numbers (splitmix64: deterministic, seedable) ---------- */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
	return n ? (unsigned)(rnd64() % n) : 0;
}

/* ---- attacker text --------------------------------------------------- */

/* Reason phrases the parsers look for, and the MTAs' own. */
static const char *const phrases[] = {
	/* Postfix */
	"connect from ", "warning: ", "unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
	": SASL PLAIN authentication failed", " authentication failed: ", "SASL LOGIN authentication aborted",
	" authentication aborted", "lost connection after AUTH from ", "lost connection after AUTH from unknown[203.0.113.9]",
	"timeout after AUTH from ", "disconnect from ", "disconnect from unknown[203.0.113.9] ehlo=1 auth=0/1 commands=1/2",
	" auth=0/1", " auth=0/9 commands=0/9", " auth=1", "client=", "client=unknown[203.0.113.9], sasl_method=PLAIN",
	", sasl_method=PLAIN", ", sasl_username=", "NOQUEUE: reject: RCPT from unknown[203.0.113.9]: ",
	"reject: MAIL from ", ": Relay access denied;", "x: Relay access denied; from=<", "Relay access denied",
	": Sender address rejected: not owned by user ", "Sender address rejected: not owned by user alice",
	": Sender address rejected: not logged in;", "not logged in;", "not logged in", "; from=<", "> to=<",
	" proto=ESMTP helo=<", "554 5.7.1 <", "553 5.7.1 <x>: ", "Connection lost to authentication server",
	"authentication failure", "(reason unavailable)", "said: 550 5.7.1 ", "(in reply to RCPT TO command)",
	/* Exim */
	" authenticator failed for ", "login authenticator failed for (x) [203.0.113.9]: 535 Incorrect authentication data",
	"535 Incorrect authentication data", ": 535 ", "501 Authentication cancelled", "no MAIL in SMTP connection from ",
	" D=0s", " C=EHLO,AUTH", ",AUTH", " A=plain:x", "SMTP protocol error in \"", " AUTH command used when not advertised",
	"TLS error on connection from ", " (recv): The TLS connection was non-properly terminated.",
	" rejected RCPT ", " rejected MAIL ", ": relay not permitted", "relay not permitted",
	": sender address not owned by authenticated user", ": Sender address rejected: not owned by user",
	": sender not authorised", ": sender not authorized", ": sender mismatch", " F=<", " P=esmtpsa", " P=esmtpa",
	" I=[203.0.113.9]:25", " U=", " Ci=1", " H=", "<= a@b H=(x) [203.0.113.9] P=esmtpa A=plain:x",
	"response to \"RCPT TO:<a@b>\" from mx.evil.example [203.0.113.9] was: 550 ", "sender verify fail for <",
	/* Sendmail */
	"AUTH failure (LOGIN): ", "user=", ", relay=", " (may be forged)", "lost input channel from ",
	" to MTA after auth", "ruleset=check_rcpt, arg1=", "ruleset=check_mail, arg1=",
	", reject=550 5.7.1 <x>... Relaying denied", "... Relaying denied", "Relaying denied", "... Access denied",
	"Access denied", "AUTH=server, relay=", ", authid=", "generic failure", "temporary failure",
	/* Dovecot */
	"imap-login: ", "pop3-login: ", "Disconnected", " (auth failed, 9 attempts in 1 secs)", "auth failed, 9 attempts",
	"Login: ", ": user=<", ": method=", ": rip=", ", method=PLAIN", ", lip=198.51.100.1", ", TLS, session=<abc>",
	"(disconnected while authenticating", "(aborted authentication)", "(client didn't finish SASL auth",
	"auth: passwd-file(x,203.0.113.9): Password mismatch", "Password mismatch", "unknown user",
	"pam_authenticate() failed: Authentication failure (password mismatch?)", "auth-worker(1): sql(a,203.0.113.9,<x>): ",
	"imap(", ")<4242><AbCd>: Logged out in=10 out=20", "-login: ",
	"imap-login: Disconnected (auth failed, 9 attempts in 1 secs): user=<a>, rip=203.0.113.10, lip=1)",
	/* generic */
	"authentication failed", "Authentication failed", "auth failed",
	/* whole reason tails, as an MTA ends a line with them */
	"x rejected RCPT <y>: relay not permitted", " rejected MAIL <y>: sender address not owned by authenticated user",
	"x: Relay access denied; from=<1@lab.test>", "<x>... Relaying denied", "... Relaying denied. Proper authentication required.",
	": 535 Incorrect authentication data (set_id=x)", " AUTH command used when not advertised",
	" D=1s C=EHLO,AUTH", "): user=<a>, method=PLAIN, rip=203.0.113.9, lip=198.51.100.1, TLS, session=<x>",
};

/* Addresses nobody connects from, in every wrapping the MTAs use. */
static const char *const addr_atoms[] = {
	"[203.0.113.9]", "203.0.113.9", "rip=203.0.113.9", ", rip=203.0.113.10", "relay=x [203.0.113.9]",
	", relay=[203.0.113.9]", " H=(y) [203.0.113.9]", "H=([203.0.113.9]) [203.0.113.9]", "from unknown[203.0.113.9]",
	"unknown[203.0.113.9]:25", "x.example[192.0.2.50]", "[IPv6:2001:db8::9]", "[2001:db8::9]:25", "2001:db8::9",
	"rip=2001:db8::9", "[::ffff:203.0.113.9]", "rip=::ffff:203.0.113.10", "64:ff9b::cb00:7109", "[198.51.100.77]",
	"(x) [203.0.113.9]", ") [203.0.113.9] ", "(x) [203.0.113.9]:25 I=[203.0.113.9]:25: 535 (y",
	"passwd-file(a,203.0.113.9): ", "a,203.0.113.9", ",203.0.113.9,<x>",
};

static const char *const punct_atoms[] = {
	"\"", ">", "<", ";", ": ", ")", "(", ",", ", ", " ", "]", "[", "=", "\n", "#012", "\r\n", "\t", "'",
	"\\", "@", "...", "\\n", "\x1b[2J", "%s", "<>", ">: ", "\">", ")]", ">, ",
};

static const char *const domains[] = {
	"[203.0.113.9]", "[IPv6:2001:db8::9]", "evil.example", "relay-access-denied.example", "example.org",
};

/* Base lines of every template with a foreign client address. */
static char *mimic[N_TMPL];
static size_t mimic_len[N_TMPL];

struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const void *s, size_t n)
{
	if (n > b->cap - b->n)
		n = b->cap - b->n;
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Attacker text: 1..n atoms of every sort. */
static size_t gen_raw(char *out, size_t cap)
{
	struct buf b = {out, 0, cap};
	unsigned natoms = 1 + rnd(4), k;

	if (rnd(8) == 0)
		natoms += rnd(8);
	for (k = 0; k < natoms && b.n < cap; k++) {
		unsigned c = rnd(100);

		if (c < 34) {
			puts_(&b, phrases[rnd(sizeof(phrases) / sizeof(phrases[0]))]);
		} else if (c < 52) {
			puts_(&b, addr_atoms[rnd(sizeof(addr_atoms) / sizeof(addr_atoms[0]))]);
		} else if (c < 67) {
			puts_(&b, punct_atoms[rnd(sizeof(punct_atoms) / sizeof(punct_atoms[0]))]);
		} else if (c < 84) {
			/* a piece of another template's line */
			unsigned t = rnd(N_TMPL);
			size_t off = rnd(2) ? 0 : rnd((unsigned)mimic_len[t]);
			size_t n = mimic_len[t] - off;

			if (rnd(4) == 0)
				n = rnd((unsigned)n + 1);
			put(&b, mimic[t] + off, n);
		} else if (c < 92) {
			unsigned n = 1 + rnd(24), i;

			for (i = 0; i < n && b.n < cap; i++)
				b.p[b.n++] = (char)(1 + rnd(255));
		} else if (c < 96) {
			/* long run toward the line cap */
			unsigned n = 200 + rnd(7000), i;

			if (rnd(2)) {
				for (i = 0; i < n && b.n < cap; i++)
					b.p[b.n++] = 'A';
			} else {
				const char *a = addr_atoms[rnd(sizeof(addr_atoms) / sizeof(addr_atoms[0]))];

				while (n > 0 && b.n < cap) {
					puts_(&b, a);
					puts_(&b, " ");
					n = n > 20 ? n - 20 : 0;
				}
			}
		} else {
			puts_(&b, "x");
		}
	}
	return b.n;
}

/* ---- fields ---------------------------------------------------------- */

enum { SL_N, SL_H, SL_J, SL_S, SL_R, SL_U, SL_UA, SL_I, SL_K, SL_T, NSLOT };
static const char slot_letter[NSLOT] = {'N', 'H', 'J', 'S', 'R', 'U', 'u', 'I', 'K', 'T'};
static const char *const slot_name[NSLOT + 1] = {
	"client name", "HELO", "HELO (junk)", "MAIL FROM", "RCPT TO", "user",
	"user", "ident", "other client text", "SNI",
	"several fields together",
};

static int slot_of(char c)
{
	switch (c) {
	case 'N': return SL_N;
	case 'H': return SL_H;
	case 'J': return SL_J;
	case 'S': case 's': return SL_S;
	case 'R': case 'r': return SL_R;
	case 'U': return SL_U;
	case 'u': return SL_UA;
	case 'I': return SL_I;
	case 'K': return SL_K;
	case 'T': return SL_T;
	default: return -1;
	}
}

/* One line to render: template, variant, and the raw client text. */
struct pcase {
	unsigned t;
	int fam;    /* 0 IPv4 client, 1 IPv6 */
	int fmtsel; /* 0 format auto, 1 the MTA's format */
	int hdr;    /* header form */
	char *v[NSLOT];   /* raw client text; NULL = benign */
	size_t vn[NSLOT];
	char *d[NSLOT];   /* domain of S and R; NULL = benign */
	size_t dn[NSLOT];
};

static const char *benign(const struct tmpl *t, int slot)
{
	switch (slot) {
	case SL_N: return t->mta == PF ? "unknown" : "c17.clients.example";
	case SL_H: case SL_J: return "client.lab.example";
	case SL_S: return "someone";
	case SL_R: return "victim";
	case SL_U: case SL_UA: return "alice@lab.test";
	case SL_I: return "alice";
	case SL_K: return t->kbenign ? t->kbenign : "hello";
	case SL_T: return "mail.lab.test";
	default: return "";
	}
}

enum esc { ESC_Q, ESC_QW, ESC_X, ESC_R };

/* Client text as the MTA logs it: control bytes escaped its way. */
static void put_esc(struct buf *b, const unsigned char *s, size_t n,
		    enum esc e, size_t max, int drop_quotes)
{
	size_t start = b->n, i;
	char tmp[8];

	for (i = 0; i < n && b->n - start < max; i++) {
		unsigned c = s[i];

		if (drop_quotes && (c == '"' || c == '\\'))
			continue;
		if (c >= 0x20 && c != 0x7f && !(e == ESC_X && c >= 0x80) &&
		    !(e == ESC_QW && c == ' ')) {
			if (b->n < b->cap)
				b->p[b->n++] = (char)c;
			continue;
		}
		switch (e) {
		case ESC_Q: /* Postfix, Dovecot: '?' */
		case ESC_QW:
			put(b, "?", 1);
			break;
		case ESC_X: /* Exim string_printing() */
			if (c == '\n')
				puts_(b, "\\n");
			else if (c == '\r')
				puts_(b, "\\r");
			else if (c == '\t')
				puts_(b, "\\t");
			else {
				snprintf(tmp, sizeof(tmp), "\\%03o", c);
				puts_(b, tmp);
			}
			break;
		case ESC_R: /* rsyslog's control-character escape */
			snprintf(tmp, sizeof(tmp), "#%03o", c);
			puts_(b, tmp);
			break;
		}
	}
	if (b->n - start > max)
		b->n = start + max;
}

static bool host_char(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* A host name the client's DNS can hold: other bytes become '-'. */
static void put_host(struct buf *b, const unsigned char *s, size_t n,
		     size_t max)
{
	size_t start = b->n, i;
	char prev = '.';

	for (i = 0; i < n && b->n - start < max && b->n < b->cap; i++) {
		char c = host_char(s[i]) ? (char)s[i] : '-';

		if (c == '.' && prev == '.')
			continue;
		b->p[b->n++] = c;
		prev = c;
	}
	while (b->n > start && (b->p[b->n - 1] == '.' || b->p[b->n - 1] == '-'))
		b->n--;
	if (b->n == start)
		puts_(b, "x");
}

/* "[ADDR]" or "[IPv6:ADDR]" with a valid address? */
static bool addr_literal(const char *s, size_t n)
{
	char tmp[64];
	unsigned char bin[16];
	size_t off = 1;

	if (n < 3 || n > 60 || s[0] != '[' || s[n - 1] != ']')
		return false;
	if (n > 6 && memcmp(s + 1, "IPv6:", 5) == 0)
		off = 6;
	memcpy(tmp, s + off, n - 1 - off);
	tmp[n - 1 - off] = '\0';
	return inet_pton(AF_INET, tmp, bin) == 1 ||
	       inet_pton(AF_INET6, tmp, bin) == 1;
}

static bool atext(unsigned c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '/': case '=': case '?':
	case '^': case '_': case '`': case '{': case '|': case '}':
	case '~':
		return true;
	default:
		return false;
	}
}

static enum esc mta_esc(enum mta m)
{
	return m == EX ? ESC_X : m == SM ? ESC_R : ESC_Q;
}

/* MAIL FROM / RCPT TO as logged: quoted when the local part needs it. */
static void put_addr(struct buf *b, const struct tmpl *t, const char *l,
		     size_t ln, const char *d, size_t dn, int quoted)
{
	static char lb[RAW_MAX * 4];
	struct buf lbuf = {lb, 0, sizeof(lb)};
	size_t maxl = t->mta == SM ? 150 : t->mta == EX ? 4000 : 2000, i;
	int need = 0;

	put_esc(&lbuf, (const unsigned char *)l, ln, mta_esc(t->mta), maxl, 1);
	if (lbuf.n == 0)
		put(&lbuf, "x", 1);
	for (i = 0; i < lbuf.n; i++)
		if (!atext((unsigned char)lb[i]) &&
		    !(lb[i] == '.' && i > 0 && i + 1 < lbuf.n && lb[i + 1] != '.'))
			need = 1;
	if (quoted && need)
		put(b, "\"", 1);
	put(b, lb, lbuf.n);
	if (quoted && need)
		put(b, "\"", 1);
	put(b, "@", 1);
	if (addr_literal(d, dn))
		put(b, d, dn);
	else
		put_host(b, (const unsigned char *)d, dn, 255);
}

/* One client field, sanitized as its MTA writes it. */
static void put_field(struct buf *b, const struct tmpl *t, int slot,
		      const char *v, size_t n)
{
	const unsigned char *u = (const unsigned char *)v;
	enum esc e = mta_esc(t->mta);

	switch (slot) {
	case SL_N:
		put_host(b, u, n, t->mta == SM ? 60 : 253);
		break;
	case SL_H:
		if (t->mta == PF) {
			put_esc(b, u, n, ESC_QW, 2000, 0); /* spaces too */
			break;
		}
		/* Exim by default: a host name or an address literal */
		if (addr_literal(v, n))
			put(b, v, n);
		else
			put_host(b, u, n, 253);
		break;
	case SL_J:
		put_esc(b, u, n, ESC_X, 2000, 0);
		break;
	case SL_UA: {
		/* Dovecot's auth log: str_sanitize(user, 64) */
		size_t s0 = b->n;

		put_esc(b, u, n, ESC_Q, 1000, 0);
		if (b->n - s0 > 64) {
			b->n = s0 + 61;
			puts_(b, "...");
		}
		break;
	}
	case SL_I: {
		/* Exim keeps what follows "USERID : OS :", blanks trimmed */
		size_t s0 = b->n;

		while (n > 0 && (*u == ' ' || *u == '\t')) {
			u++;
			n--;
		}
		put_esc(b, u, n, e, 128, 0);
		while (b->n > s0 && b->p[b->n - 1] == ' ')
			b->n--;
		if (b->n == s0)
			put(b, "x", 1);
		break;
	}
	case SL_T:
		put_esc(b, u, n, e, 255, 0);
		break;
	case SL_U:
		put_esc(b, u, n, e, t->mta == SM ? 200 : t->mta == EX ? 4000 : 2000, 0);
		break;
	default:
		/* Postfix: line_length_limit 2048; Exim reads 16 KiB lines */
		put_esc(b, u, n, e, t->mta == EX ? 4000 : 2000, 0);
		break;
	}
}

/* ---- rendering -------------------------------------------------------- */

#define T0_EPOCH 1795909090LL /* 2026-11-28, like the real corpus */
#define T_STEP 3 /* s between lines: past Exim's 2 s "same exchange" */

static void client_addr(uint64_t k, int fam, char *out, size_t len)
{
	unsigned x = (unsigned)(k % 120000);

	if (fam == 0)
		snprintf(out, len, "198.%u.%u.%u", 18 + x / 60000,
			 (x % 60000) / 250, x % 250 + 2);
	else
		snprintf(out, len, "2001:db8:c1::%x:%x",
			 (unsigned)((k >> 16) % 0xffff) + 1,
			 (unsigned)(k % 0xffff) + 1); /* groups 1..ffff */
}

static void alnum_id(char *out, size_t n, uint64_t k)
{
	static const char al[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t i;

	for (i = n; i > 0; i--) {
		out[i - 1] = al[k % 62];
		k /= 62;
	}
	out[n] = '\0';
}

/* Number of header forms of a template. */
static int n_hdr(const struct tmpl *t)
{
	if (strstr(t->text, "{e}"))
		return 4;
	if (strstr(t->text, "{h}"))
		return 3;
	return 1;
}

/*
 * Render the case for line key k into out. cforce replaces the client
 * address (mimic lines). Returns the length; contrib (if not NULL) gets
 * the bytes each client field put in the line.
 */
static size_t render_c(const struct pcase *c, uint64_t k, const char *cforce,
		       char *out, size_t cap, size_t *contrib)
{
	const struct tmpl *t = &tmpls[c->t];
	struct buf b = {out, 0, cap};
	char ca[64], tmp[128], ts[64];
	const char *p;
	time_t when = (time_t)(T0_EPOCH + (int64_t)(k % 40000000) * T_STEP);
	struct tm tm;
	unsigned pid = 1000 + (unsigned)(k % 2000000000);
	size_t s0;

	gmtime_r(&when, &tm);
	if (cforce)
		snprintf(ca, sizeof(ca), "%s", cforce);
	else
		client_addr(k, c->fam, ca, sizeof(ca));
	for (p = t->text; *p; p++) {
		int slot;

		if (*p != '{' || p[1] == '\0' || p[2] != '}') {
			put(&b, p, 1);
			continue;
		}
		p++;
		switch (*p) {
		case 'h':
			if (c->hdr == 0) {
				strftime(ts, sizeof(ts), "%b %e %H:%M:%S mail ", &tm);
				puts_(&b, ts);
			} else if (c->hdr == 1) {
				strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S.123456+00:00 mail ", &tm);
				puts_(&b, ts);
			}
			break;
		case 'd':
			strftime(ts, sizeof(ts), "%b %e %H:%M:%S ", &tm);
			puts_(&b, ts);
			break;
		case 'e':
			if (c->hdr >= 2) {
				strftime(ts, sizeof(ts), "%b %e %H:%M:%S mx ", &tm);
				puts_(&b, ts);
				snprintf(tmp, sizeof(tmp), "exim[%u]: ", pid);
				puts_(&b, tmp);
			}
			strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S ", &tm);
			puts_(&b, ts);
			if (c->hdr == 1 || c->hdr == 3) {
				snprintf(tmp, sizeof(tmp), "[%u] ", pid);
				puts_(&b, tmp);
			}
			break;
		case 'P':
			snprintf(tmp, sizeof(tmp), "%u", pid);
			puts_(&b, tmp);
			break;
		case 'Q':
			snprintf(tmp, sizeof(tmp), "%010llX",
				 (unsigned long long)(0x4A00000000ULL + k));
			puts_(&b, tmp);
			break;
		case 'q':
			memcpy(tmp, "6ASN", 4);
			alnum_id(tmp + 4, 10, k);
			puts_(&b, tmp);
			break;
		case 'M':
			memcpy(tmp, "1xXRzr-", 7);
			alnum_id(tmp + 7, 6, k);
			puts_(&b, tmp);
			puts_(&b, "-0w");
			break;
		case 'Z':
			memcpy(tmp, "AbCd", 4);
			alnum_id(tmp + 4, 12, k);
			puts_(&b, tmp);
			break;
		case 'C':
			puts_(&b, ca);
			break;
		case 'c':
			if (strchr(ca, ':'))
				puts_(&b, "IPv6:");
			puts_(&b, ca);
			break;
		default:
			slot = slot_of(*p);
			s0 = b.n;
			if (slot < 0) {
				put(&b, p - 1, 3);
			} else if (slot == SL_S || slot == SL_R) {
				const char *l = c->v[slot] ? c->v[slot] : benign(t, slot);
				size_t ln = c->v[slot] ? c->vn[slot] : strlen(l);
				const char *d = c->d[slot] ? c->d[slot]
					: slot == SL_S ? "example.org" : "example.net";
				size_t dn = c->d[slot] ? c->dn[slot] : strlen(d);

				put_addr(&b, t, l, ln, d, dn, *p == 'S' || *p == 'R');
			} else if (c->v[slot]) {
				put_field(&b, t, slot, c->v[slot], c->vn[slot]);
			} else {
				const char *s = benign(t, slot);

				put_field(&b, t, slot, s, strlen(s));
			}
			if (slot >= 0 && contrib != NULL)
				contrib[slot] += b.n - s0;
			break;
		}
		p++;
	}
	return b.n;
}

static size_t render(const struct pcase *c, uint64_t k, const char *cforce,
		     char *out, size_t cap)
{
	return render_c(c, k, cforce, out, cap, NULL);
}

/* Render and keep the line within BC_PARSE_LINE_MAX (cutting raw text). */
static size_t render_fit(struct pcase *c, uint64_t k, char *out, size_t cap)
{
	size_t contrib[NSLOT] = {0}, orig_len[NSLOT];
	size_t n = render_c(c, k, NULL, out, cap, contrib), prev;
	int guard = 0, last = -1, s0;

	for (s0 = 0; s0 < NSLOT; s0++)
		orig_len[s0] = c->vn[s0];
	while (n > BC_PARSE_LINE_MAX && guard++ < 64) {
		int s, best = -1;
		size_t bc = 0, excess = n - BC_PARSE_LINE_MAX;

		for (s = 0; s < NSLOT; s++) {
			if (c->v[s] == NULL || c->vn[s] == 0)
				continue;
			if (contrib[s] > bc) {
				bc = contrib[s];
				best = s;
			}
		}
		if (best < 0)
			break;
		/* shrink in proportion to what the field puts in the line
		 * (escapes make it longer than the raw text, a field's cap
		 * shorter); the last field cut grows back below */
		if (excess >= bc) {
			c->vn[best] = 0;
		} else {
			size_t r = c->vn[best] < bc ? c->vn[best] : bc;

			c->vn[best] = r * (bc - excess) / bc;
			if (c->vn[best] > 0)
				c->vn[best]--;
		}
		memset(contrib, 0, sizeof(contrib));
		prev = n;
		n = render_c(c, k, NULL, out, cap, contrib);
		if (n >= prev) { /* capped twice in the line: halve */
			c->vn[best] /= 2;
			memset(contrib, 0, sizeof(contrib));
			n = render_c(c, k, NULL, out, cap, contrib);
		}
		last = best;
	}
	/* grow the last field cut back to the longest that fits: lines at
	 * exactly the cap are the interesting ones */
	if (last >= 0 && n < BC_PARSE_LINE_MAX) {
		size_t lo = c->vn[last], hi = lo + (BC_PARSE_LINE_MAX - n);

		if (hi > orig_len[last])
			hi = orig_len[last];
		while (lo < hi) {
			size_t mid = lo + (hi - lo + 1) / 2;

			c->vn[last] = mid;
			if (render(c, k, NULL, out, cap) <= BC_PARSE_LINE_MAX)
				lo = mid;
			else
				hi = mid - 1;
		}
		c->vn[last] = lo;
		n = render(c, k, NULL, out, cap);
	}
	return n;
}

/* ---- running a line -------------------------------------------------- */

struct got {
	size_t n;
	int malformed;
	struct bc_event ev[MAX_EV];
};

static struct bc_parser *parsers[2][N_MTA];

static void run_line(struct bc_parser *p, const char *line, size_t len,
		     struct got *g)
{
	struct bc_event ev;
	enum bc_parse_result r;

	g->n = 0;
	g->malformed = 0;
	r = bc_parser_feed(p, line, len, &ev);
	if (r == BC_PARSE_MALFORMED)
		g->malformed = 1;
	if (r == BC_PARSE_MATCH && g->n < MAX_EV)
		g->ev[g->n++] = ev;
	while (bc_parser_flush(p, 0, &ev) == 1)
		if (g->n < MAX_EV)
			g->ev[g->n++] = ev;
}

/* What a line gave, relative to its client: counts per kind. */
struct outcome {
	unsigned kc[BC_KIND_MAX + 1];
	unsigned foreign;
	int malformed;
	char foreign_addr[BC_ADDR_STRLEN];
	uint8_t foreign_kind;
};

enum fclass { F_OK, F_FOREIGN, F_KIND, F_COUNT, F_MISSED, F_MISSED_OK, N_FCLASS };
static const char *const fclass_name[N_FCLASS] = {
	"ok", "FOREIGN", "KIND", "COUNT", "MISSED", "missed (allowed)",
};

static uint64_t line_key; /* every evaluation gets fresh keys */
static char *linebuf;
static size_t linelen;
static uint64_t parse_ns, parse_lines; /* time inside the parser */

static void evaluate(struct pcase *c, struct outcome *o)
{
	const struct tmpl *t = &tmpls[c->t];
	struct got g;
	struct bc_addr ca;
	char cs[64];
	size_t i;
	uint64_t k = line_key++;
	struct timespec t0, t1;

	linelen = render_fit(c, k, linebuf, OUT_MAX);
	client_addr(k, c->fam, cs, sizeof(cs));
	bc_addr_parse_host(&ca, cs, strlen(cs));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_line(parsers[c->fmtsel][t->mta], linebuf, linelen, &g);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	parse_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
			       (t1.tv_nsec - t0.tv_nsec));
	parse_lines++;
	memset(o, 0, sizeof(*o));
	o->malformed = g.malformed;
	for (i = 0; i < g.n; i++) {
		if (!bc_addr_equal(&g.ev[i].addr, &ca)) {
			if (o->foreign++ == 0) {
				bc_addr_format(&g.ev[i].addr, o->foreign_addr,
					       sizeof(o->foreign_addr));
				o->foreign_kind = g.ev[i].kind;
			}
			continue;
		}
		if (g.ev[i].kind >= 1 && g.ev[i].kind <= BC_KIND_MAX)
			o->kc[g.ev[i].kind]++;
	}
}

static enum fclass classify(const struct outcome *o, const struct outcome *ref,
			    unsigned flags)
{
	int k, same_set = 1, any = 0, same = 1;

	if (o->foreign)
		return F_FOREIGN;
	for (k = 1; k <= BC_KIND_MAX; k++) {
		if (o->kc[k] != ref->kc[k])
			same = 0;
		if ((o->kc[k] != 0) != (ref->kc[k] != 0))
			same_set = 0;
		if (o->kc[k])
			any = 1;
	}
	if (same)
		return F_OK;
	if (!any)
		return (flags & T_MAY_MISS) ? F_MISSED_OK : F_MISSED;
	return same_set ? F_COUNT : F_KIND;
}

static void fmt_outcome(const struct outcome *o, char *buf, size_t len)
{
	size_t off = 0;
	int k;

	buf[0] = '\0';
	if (o->foreign)
		off += (size_t)snprintf(buf + off, len - off, "%u event(s) for others, first %s %s; ",
					o->foreign, bc_kind_name(o->foreign_kind), o->foreign_addr);
	for (k = 1; k <= BC_KIND_MAX && off < len; k++)
		if (o->kc[k])
			off += (size_t)snprintf(buf + off, len - off, "%u %s; ",
						o->kc[k], bc_kind_name((enum bc_kind)k));
	if (o->malformed && off < len)
		off += (size_t)snprintf(buf + off, len - off, "malformed; ");
	if (off == 0)
		snprintf(buf, len, "nothing");
	else if (off >= 2 && off < len)
		buf[off - 2] = '\0';
}

/* Escaped (printable ASCII, \xNN) and cut. */
static void escape(const char *s, size_t n, char *out, size_t cap, size_t cut)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 8 < cap && o < cut; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	if (i < n && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* ---- cases: copy, free, shrink --------------------------------------- */

static char *dupmem(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		abort();
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static struct pcase *case_dup(const struct pcase *c)
{
	struct pcase *d = calloc(1, sizeof(*d));
	int s;

	if (d == NULL)
		abort();
	*d = *c;
	for (s = 0; s < NSLOT; s++) {
		d->v[s] = c->v[s] ? dupmem(c->v[s], c->vn[s]) : NULL;
		d->d[s] = c->d[s] ? dupmem(c->d[s], c->dn[s]) : NULL;
	}
	return d;
}

static void case_free(struct pcase **c)
{
	int s;

	if (*c == NULL)
		return;
	for (s = 0; s < NSLOT; s++) {
		free((*c)->v[s]);
		free((*c)->d[s]);
	}
	free(*c);
	*c = NULL;
}

static struct outcome refs[N_TMPL][2][2]; /* [template][fmtsel][fam] */

static bool still_fails(struct pcase *c, enum fclass want, int *budget)
{
	struct outcome o;

	(*budget)--;
	evaluate(c, &o);
	return classify(&o, &refs[c->t][c->fmtsel][c->fam], tmpls[c->t].flags) == want;
}

/* Addresses of the attacker text, kept whole when an example is shrunk. */
static const char *const keep_whole[] = {
	"[203.0.113.9]", "[IPv6:2001:db8::9]", "203.0.113.9", "203.0.113.10", "203.0.113.66", "198.51.100.77",
	"192.0.2.50", "2001:db8::9", "64:ff9b::cb00:7109", "198.51.100.1",
};

/* Would cutting [i, i + n) cut one of those addresses in part? */
static bool cuts_address(const char *v, size_t len, size_t i, size_t n)
{
	size_t w;

	for (w = 0; w < sizeof(keep_whole) / sizeof(keep_whole[0]); w++) {
		size_t fl = strlen(keep_whole[w]);
		const char *q = v, *end = v + len;

		while ((q = memmem(q, (size_t)(end - q), keep_whole[w], fl)) != NULL) {
			size_t a = (size_t)(q - v), b = a + fl;

			if (a < i + n && i < b && !(i <= a && b <= i + n))
				return true;
			q++;
		}
	}
	return false;
}

/* Cut bytes out of one raw value while the failure stays the same. */
static void shrink_bytes(struct pcase *c, char *v, size_t *vn,
			 enum fclass want, int *budget)
{
	size_t chunk, w;

	/* whole addresses first */
	for (w = 0; w < sizeof(keep_whole) / sizeof(keep_whole[0]); w++) {
		size_t fl = strlen(keep_whole[w]);
		char *q;

		while (*budget > 0 &&
		       (q = memmem(v, *vn, keep_whole[w], fl)) != NULL) {
			size_t i = (size_t)(q - v), n = *vn;

			memmove(q, q + fl, n - i - fl);
			*vn = n - fl;
			if (still_fails(c, want, budget))
				continue;
			memmove(q + fl, q, n - i - fl);
			memcpy(q, keep_whole[w], fl);
			*vn = n;
			break;
		}
	}
	for (chunk = *vn / 2; chunk >= 1 && *budget > 0; chunk /= 2) {
		size_t i = 0;

		while (i + chunk <= *vn && *budget > 0) {
			char save[RAW_MAX];
			size_t n = *vn;

			if (cuts_address(v, n, i, chunk)) {
				i++;
				continue;
			}
			memcpy(save, v + i, chunk);
			memmove(v + i, v + i + chunk, n - i - chunk);
			*vn = n - chunk;
			if (still_fails(c, want, budget))
				continue;
			memmove(v + i + chunk, v + i, n - i - chunk);
			memcpy(v + i, save, chunk);
			*vn = n;
			i += chunk;
		}
	}
}

/*
 * A smaller line that fails the same way (the example printed), keeping
 * the field that fails alone (keep < NSLOT). False when the line does not
 * fail again on its own (state from other lines).
 */
static bool shrink(struct pcase *c, enum fclass want, int keep)
{
	int budget = SHRINK_BUDGET, s, h = c->hdr;

	if (!still_fails(c, want, &budget))
		return false;
	if (h != 0) {
		c->hdr = 0;
		if (!still_fails(c, want, &budget))
			c->hdr = h;
	}
	for (s = 0; s < NSLOT; s++) {
		char *v = c->v[s], *d = c->d[s];

		if (s == keep)
			continue;
		if (v != NULL) {
			c->v[s] = NULL;
			if (still_fails(c, want, &budget))
				free(v);
			else
				c->v[s] = v;
		}
		if (d != NULL) {
			c->d[s] = NULL;
			if (still_fails(c, want, &budget))
				free(d);
			else
				c->d[s] = d;
		}
	}
	for (s = 0; s < NSLOT; s++) {
		if (c->v[s] != NULL)
			shrink_bytes(c, c->v[s], &c->vn[s], want, &budget);
		if (c->d[s] != NULL)
			shrink_bytes(c, c->d[s], &c->dn[s], want, &budget);
	}
	return true;
}

/* ---- the test ---------------------------------------------------------- */

struct tstat {
	uint64_t lines;
	uint64_t fails[N_FCLASS];
	uint64_t malformed;
	/* by class and by the one field that fails alone (NSLOT: none) */
	uint64_t by[N_FCLASS][NSLOT + 1];
	struct pcase *ex[N_FCLASS][NSLOT + 1]; /* shortest failing case */
	size_t ex_len[N_FCLASS][NSLOT + 1];
};

/* The client field that makes the line fail this way on its own. */
static int culprit(const struct pcase *c, enum fclass cl)
{
	int s;

	for (s = 0; s < NSLOT; s++) {
		struct pcase z;
		struct outcome o;
		int j;

		if (c->v[s] == NULL)
			continue;
		z = *c;
		for (j = 0; j < NSLOT; j++) {
			if (j == s)
				continue;
			z.v[j] = NULL;
			z.d[j] = NULL;
		}
		evaluate(&z, &o);
		if (classify(&o, &refs[c->t][c->fmtsel][c->fam],
			     tmpls[c->t].flags) == cl)
			return s;
	}
	return NSLOT;
}

static struct tstat stats[N_TMPL];

static bool same_outcome(const struct outcome *a, const struct outcome *b)
{
	return memcmp(a->kc, b->kc, sizeof(a->kc)) == 0 &&
	       a->foreign == b->foreign && a->malformed == b->malformed;
}

static enum bc_format mta_fmt(enum mta m)
{
	switch (m) {
	case PF: return BC_FMT_POSTFIX;
	case EX: return BC_FMT_EXIM;
	case SM: return BC_FMT_SENDMAIL;
	default: return BC_FMT_DOVECOT;
	}
}

/* Base lines: the reference of every template, and the positive control. */
static void control(void)
{
	size_t t;
	char got[256], buf[256], line[EXAMPLE_CUT + 16];

	for (t = 0; t < N_TMPL; t++) {
		const struct tmpl *tp = &tmpls[t];
		struct pcase c;
		struct outcome o, want;
		int fmtsel, fam, hdr;
		const char *bad = NULL;
		char where[96] = "";

		memset(&c, 0, sizeof(c));
		c.t = (unsigned)t;
		memset(&want, 0, sizeof(want));
		if (tp->kind)
			want.kc[tp->kind] = tp->count;
		for (fmtsel = 1; fmtsel >= 0 && !bad; fmtsel--) {
			for (fam = 0; fam < 2 && !bad; fam++) {
				c.fmtsel = fmtsel;
				c.fam = fam;
				c.hdr = 0;
				evaluate(&c, &refs[t][fmtsel][fam]);
				for (hdr = 0; hdr < n_hdr(tp) && !bad; hdr++) {
					c.hdr = hdr;
					evaluate(&c, &o);
					if (o.foreign || o.malformed)
						bad = "an event for another address, or malformed";
					else if (!same_outcome(&o, &refs[t][fmtsel][fam]))
						bad = "header forms differ";
					else if (fmtsel == 0 && !same_outcome(&o, &refs[t][1][fam]))
						bad = "format auto differs from the MTA's format";
					else if (fam == 1 && !same_outcome(&o, &refs[t][fmtsel][0]))
						bad = "IPv6 differs from IPv4";
					else if (!(tp->flags & T_UNDECIDED) && !same_outcome(&o, &want))
						bad = "not the events the template names";
					if (bad)
						snprintf(where, sizeof(where), "%s, %s, header form %d",
							 fmtsel ? "own format" : "format auto",
							 fam ? "IPv6" : "IPv4", hdr);
				}
			}
		}
		fmt_outcome(&want, buf, sizeof(buf));
		if (bad) {
			fmt_outcome(&o, got, sizeof(got));
			escape(linebuf, linelen, line, sizeof(line), EXAMPLE_CUT);
			CHECK(0, "control %s: base line gives %s, want %s: %s (%s): %s",
			      tp->name, got, tp->flags & T_UNDECIDED ? "the same in every form" : buf,
			      bad, where, line);
		} else {
			fmt_outcome(&refs[t][1][0], got, sizeof(got));
			CHECK(1, "control %s: base line gives %s%s", tp->name, got,
			      tp->flags & T_UNDECIDED ? " (undecided: checked differentially only)" : "");
		}
	}
}

/* One random line of template t. */
static void make_case(struct pcase *c, unsigned t, char raw[NSLOT][RAW_MAX],
		      char dom[NSLOT][256])
{
	const struct tmpl *tp = &tmpls[t];
	int present[NSLOT] = {0}, s, any = 0, npresent = 0;
	const char *p;

	memset(c, 0, sizeof(*c));
	c->t = t;
	c->fam = rnd(4) == 0;
	c->fmtsel = (int)rnd(2);
	c->hdr = (int)rnd((unsigned)n_hdr(tp));
	for (p = tp->text; *p; p++)
		if (*p == '{' && p[1] && p[2] == '}' && (s = slot_of(p[1])) >= 0)
			present[s] = 1;
	for (s = 0; s < NSLOT; s++)
		npresent += present[s];
	if (npresent == 0)
		return;
	while (!any) {
		for (s = 0; s < NSLOT; s++) {
			if (!present[s] || rnd(10) < 4)
				continue;
			any = 1;
			if ((s == SL_H && tp->mta == EX && rnd(10) < 3)) {
				const char *a = rnd(2) ? "[203.0.113.9]" : "[IPv6:2001:db8::9]";

				c->vn[s] = strlen(a);
				memcpy(raw[s], a, c->vn[s]);
			} else {
				c->vn[s] = gen_raw(raw[s], RAW_MAX);
			}
			c->v[s] = raw[s];
			if ((s == SL_S || s == SL_R) && rnd(10) < 3) {
				const char *d = domains[rnd(sizeof(domains) / sizeof(domains[0]))];

				c->dn[s] = strlen(d);
				memcpy(dom[s], d, c->dn[s]);
				c->d[s] = dom[s];
			}
		}
	}
}

static enum bc_format mta_fmt(enum mta m);

/*
 * Evaluate with parsers of its own: no session state from other lines
 * (client text can name a session, e.g. a fake "postfix[1]:" tag).
 */
static void evaluate_fresh(struct pcase *c, struct outcome *o)
{
	struct bc_parser *save[2][N_MTA];
	int m;

	memcpy(save, parsers, sizeof(save));
	for (m = 0; m < N_MTA; m++) {
		parsers[0][m] = m == 0 ? bc_parser_new(BC_FMT_AUTO) : parsers[0][0];
		parsers[1][m] = bc_parser_new(mta_fmt((enum mta)m));
		if (parsers[0][m] == NULL || parsers[1][m] == NULL)
			abort();
	}
	evaluate(c, o);
	for (m = 0; m < N_MTA; m++) {
		if (m == 0)
			bc_parser_free(&parsers[0][0]);
		bc_parser_free(&parsers[1][m]);
	}
	memcpy(parsers, save, sizeof(save));
}

static void report(void)
{
	size_t t;
	int cl, f;
	char line[EXAMPLE_CUT + 64], got[256], want[256], fields[1024];

	for (t = 0; t < N_TMPL; t++) {
		struct tstat *st = &stats[t];
		int failed = 0;
		bool miss_ok = st->fails[F_MISSED] * 100 <= st->lines * MISS_MAX_PCT;

		for (cl = F_FOREIGN; cl <= F_MISSED; cl++) {
		for (f = 0; f <= NSLOT; f++) {
			struct pcase *c = st->ex[cl][f], *orig;
			struct outcome o;
			size_t off = 0;
			int s;
			bool alone;

			if (st->by[cl][f] == 0)
				continue;
			if (cl != F_MISSED || !miss_ok)
				failed = 1;
			orig = case_dup(c);
			(void)shrink(c, (enum fclass)cl, f);
			evaluate_fresh(c, &o);
			if (classify(&o, &refs[t][c->fmtsel][c->fam], tmpls[t].flags) !=
			    (enum fclass)cl) {
				/* shrunk too far for a parser of its own: show
				 * the line as found */
				case_free(&st->ex[cl][f]);
				st->ex[cl][f] = c = orig;
				orig = NULL;
				evaluate_fresh(c, &o);
			}
			case_free(&orig);
			alone = classify(&o, &refs[t][c->fmtsel][c->fam], tmpls[t].flags) ==
				(enum fclass)cl;
			fmt_outcome(&o, got, sizeof(got));
			fmt_outcome(&refs[t][c->fmtsel][c->fam], want, sizeof(want));
			fields[0] = '\0';
			for (s = 0; s < NSLOT && off < sizeof(fields) - 1; s++) {
				char e[160];

				if (c->v[s] == NULL)
					continue;
				escape(c->v[s], c->vn[s], e, sizeof(e), 120);
				off += (size_t)snprintf(fields + off, sizeof(fields) - off,
							"%s%c=\"%s\"", off ? ", " : "",
							slot_letter[s], e);
			}
			escape(linebuf, linelen, line, sizeof(line), EXAMPLE_CUT);
			if (cl == F_MISSED && miss_ok) {
				printf("# evasion (allowed, at most %d%% of lines): prop %s: MISSED from %s in %llu of %llu lines; e.g. client text %s gives %s, the base line %s: %s\n",
				       MISS_MAX_PCT, tmpls[t].name, slot_name[f],
				       (unsigned long long)st->by[cl][f],
				       (unsigned long long)st->lines,
				       fields[0] ? fields : "(none: header form)", got, want, line);
				continue;
			}
			CHECK(0, "prop %s: %s from %s in %llu of %llu lines; e.g. client text %s gives %s, the base line %s (%s, %s%s): %s",
			      tmpls[t].name, fclass_name[cl], slot_name[f],
			      (unsigned long long)st->by[cl][f],
			      (unsigned long long)st->lines, fields[0] ? fields : "(none: header form)",
			      got, want, c->fmtsel ? "own format" : "format auto",
			      c->fam ? "IPv6" : "IPv4",
			      alone ? "" : "; fails only after other lines", line);
		}
		}
		if (!failed)
			CHECK(1, "prop %s: %llu lines, every one as its base line%s",
			      tmpls[t].name, (unsigned long long)st->lines,
			      st->fails[F_MISSED_OK] || st->fails[F_MISSED]
				      ? " or no event (allowed)" : "");
	}
	printf("# summary: lines foreign kind count missed missed-allowed malformed  template\n");
	for (t = 0; t < N_TMPL; t++) {
		struct tstat *st = &stats[t];

		printf("# %7llu %7llu %7llu %7llu %7llu %7llu %7llu  %s\n",
		       (unsigned long long)st->lines,
		       (unsigned long long)st->fails[F_FOREIGN],
		       (unsigned long long)st->fails[F_KIND],
		       (unsigned long long)st->fails[F_COUNT],
		       (unsigned long long)st->fails[F_MISSED],
		       (unsigned long long)st->fails[F_MISSED_OK],
		       (unsigned long long)st->malformed, tmpls[t].name);
	}
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtoull(s, &end, 0);
	return *end == '\0' ? (uint64_t)v : def;
}

int main(void)
{
	static char raw[NSLOT][RAW_MAX];
	static char dom[NSLOT][256];
	uint64_t nlines = env_u64("BC_PROP_LINES", PROP_LINES_DEFAULT), i;
	uint64_t seed = env_u64("BC_PROP_SEED", PROP_SEED_DEFAULT);
	uint64_t long_lines = 0, cap_lines = 0;
	const char *dump_path = getenv("BC_PROP_DUMP");
	FILE *dump = dump_path && *dump_path ? fopen(dump_path, "w") : NULL;
	struct timespec t0, t1, c0, c1;
	double secs, cpu;
	size_t t;
	int m;

	rng_state = seed;
	linebuf = malloc(OUT_MAX);
	if (linebuf == NULL)
		return 1;
	for (m = 0; m < N_MTA; m++) {
		parsers[0][m] = m == 0 ? bc_parser_new(BC_FMT_AUTO) : parsers[0][0];
		parsers[1][m] = bc_parser_new(mta_fmt((enum mta)m));
		if (parsers[0][m] == NULL || parsers[1][m] == NULL)
			return 1;
	}
	/* mimic lines: each base line, for a client nobody connects from */
	for (t = 0; t < N_TMPL; t++) {
		struct pcase c;

		memset(&c, 0, sizeof(c));
		c.t = (unsigned)t;
		mimic_len[t] = render(&c, t, t % 2 ? "2001:db8::9" : "203.0.113.9",
				      linebuf, OUT_MAX);
		mimic[t] = dupmem(linebuf, mimic_len[t]);
	}
	printf("# %zu templates, %llu lines, seed 0x%llx\n", N_TMPL,
	       (unsigned long long)nlines, (unsigned long long)seed);
	control();

	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	for (i = 0; i < nlines; i++) {
		unsigned tt = (unsigned)(i % N_TMPL);
		struct pcase c;
		struct outcome o;
		enum fclass cl;
		struct tstat *st = &stats[tt];

		make_case(&c, tt, raw, dom);
		evaluate(&c, &o);
		long_lines += linelen > 4096;
		cap_lines += linelen == BC_PARSE_LINE_MAX;
		st->lines++;
		st->malformed += (uint64_t)o.malformed;
		cl = classify(&o, &refs[tt][c.fmtsel][c.fam], tmpls[tt].flags);
		if (cl == F_OK)
			continue;
		st->fails[cl]++;
		if (dump != NULL) {
			static char esc[4 * BC_PARSE_LINE_MAX + 16];

			escape(linebuf, linelen, esc, sizeof(esc), sizeof(esc));
			fprintf(dump, "%s\t%s\t%s\n", fclass_name[cl],
				tmpls[tt].name, esc);
		}
		if (cl != F_MISSED_OK) {
			size_t len = linelen;
			int f = culprit(&c, cl);

			st->by[cl][f]++;
			if (st->ex[cl][f] == NULL || len < st->ex_len[cl][f]) {
				case_free(&st->ex[cl][f]);
				st->ex[cl][f] = case_dup(&c);
				st->ex_len[cl][f] = len;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	printf("# %llu lines in %.2f s wall, %.2f s CPU (%.0f lines/s of CPU with "
	       "rendering and checks; the parser alone %.0f lines/s wall over "
	       "%llu lines fed)\n",
	       (unsigned long long)nlines, secs, cpu, cpu > 0 ? (double)nlines / cpu : 0.0,
	       parse_ns ? (double)parse_lines * 1e9 / (double)parse_ns : 0.0,
	       (unsigned long long)parse_lines);
	printf("# %llu lines over 4 KiB, %llu of exactly %d bytes (the cap)\n",
	       (unsigned long long)long_lines, (unsigned long long)cap_lines,
	       BC_PARSE_LINE_MAX);
	CHECK(nlines >= 1 && stats[0].lines > 0, "property run: %llu lines over %zu templates",
	      (unsigned long long)nlines, N_TMPL);
	if (dump != NULL)
		fclose(dump);
	report();

	for (t = 0; t < N_TMPL; t++) {
		int cl, f;

		for (cl = 0; cl < N_FCLASS; cl++)
			for (f = 0; f <= NSLOT; f++)
				case_free(&stats[t].ex[cl][f]);
		free(mimic[t]);
	}
	for (m = 0; m < N_MTA; m++) {
		if (m == 0)
			bc_parser_free(&parsers[0][0]);
		bc_parser_free(&parsers[1][m]);
	}
	free(linebuf);
	return tap_done();
}
