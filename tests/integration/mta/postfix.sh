# postfix.sh - sourced by test_mta_corpus.sh: Postfix 3.7 + Dovecot SASL
# (lab.sh's lab_cert, lab_dovecot and lab_postfix with the hardened
# settings of its lab_setup) on 198.18.0.2, logging through postlogd to
# $LAB/pf/maillog; clients from 198.18.1.x. Dovecot's users: alice@lab.test
# (alicepass, may send as alice@lab.test only) and bob@lab.test.

PF=198.18.0.2

postfix_run() {
	lab_dovecot
	lab_postfix pf "$PF" "mynetworks = 127.0.0.0/8
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_sender_restrictions = reject_sender_login_mismatch
smtpd_peername_lookup = no
disable_vrfy_command = yes
smtpd_banner = \$myhostname ESMTP" \
		"-o smtpd_tls_security_level=encrypt -o smtpd_relay_restrictions=permit_sasl_authenticated,reject -o syslog_name=postfix/submission" ||
		{ notok "postfix: started ($(tail -1 "$LAB/pf/start.out"))"; return; }
	if ! wait_port "$PF" 25 || ! wait_port "$PF" 587; then
		notok "postfix: listening on $PF:25 and :587"
		return
	fi
	# shellcheck disable=SC2034 # read by swsub
	E=$PF
	ok "postfix: Postfix $(postconf -d -h mail_version) + Dovecot $(dovecot --version | cut -d' ' -f1) up on $PF:25, :587"

	# --- what real clients and attackers do -------------------------------
	tc postfix 198.18.1.11 "auth_fail=1" "wrong password (swaks, STARTTLS, AUTH LOGIN)"
	swsub --auth LOGIN --auth-user alice@lab.test --auth-password wrong1 --quit-after AUTH
	tc postfix 198.18.1.12 "auth_fail=2" "wrong password in two sessions (AUTH PLAIN)"
	swsub --auth PLAIN --auth-user alice@lab.test --auth-password wrong2 --quit-after AUTH
	swsub --auth PLAIN --auth-user alice@lab.test --auth-password wrong3 --quit-after AUTH
	tc postfix 198.18.1.13 "auth_fail=1" "unknown user"
	swsub --auth LOGIN --auth-user nosuchuser@lab.test --auth-password x --quit-after AUTH
	tc postfix 198.18.1.14 "auth_fail=3" "three wrong passwords in one session (raw)"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:alice@lab.test" "b64:bad1" \
		"AUTH LOGIN" "b64:alice@lab.test" "b64:bad2" \
		"AUTH PLAIN $(printf '\0bob@lab.test\0bad3' | base64)" QUIT
	tc postfix 198.18.1.15 "auth_fail=1 auth_abort=1" "wrong password, then the client hangs up"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:alice@lab.test" "b64:bad4" '!close'
	tc postfix 198.18.1.16 "auth_success=1 sender_violation=1" "forged sender after a good login (two recipients)"
	swsub --auth PLAIN --auth-user alice@lab.test --auth-password alicepass \
		--from bob@lab.test --to bob@lab.test,postmaster@lab.test
	tc postfix 198.18.1.17 "sender_violation=1" "relay attempt on 25"
	sw --server "$PF" --port 25 --from someone@example.org --to victim@example.net
	tc postfix 198.18.1.18 "auth_abort=1" "AUTH LOGIN dropped after the username"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:alice@lab.test" '!close'
	tc postfix 198.18.1.19 "auth_abort=1" "AUTH PLAIN dropped before the response"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" "AUTH PLAIN" '!close'
	tc postfix 198.18.1.20 "auth_abort=1" "AUTH cancelled with *"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" "AUTH LOGIN" "*" QUIT
	tc postfix 198.18.1.21 "auth_abort=1" "AUTH before STARTTLS (refused: TLS required)"
	rc "$PF" 587 "EHLO c.example" "AUTH LOGIN" QUIT
	tc postfix 198.18.1.22 "auth_success=1" "good login, one message"
	swsub --auth LOGIN --auth-user alice@lab.test --auth-password alicepass \
		--from alice@lab.test --to bob@lab.test
	tc postfix 198.18.1.23 "auth_success=1" "good login, two messages in one session"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH PLAIN $(printf '\0alice@lab.test\0alicepass' | base64)" \
		"MAIL FROM:<alice@lab.test>" "RCPT TO:<bob@lab.test>" DATA '!data' \
		"MAIL FROM:<alice@lab.test>" "RCPT TO:<postmaster@lab.test>" DATA '!data' QUIT
	tc postfix 198.18.1.24 "auth_success=1" "good login, no mail"
	swsub --auth PLAIN --auth-user bob@lab.test --auth-password bobpass --quit-after AUTH
	tc postfix 198.18.1.25 "" "plain inbound mail on 25"
	sw --server "$PF" --port 25 --from friend@example.org --to alice@lab.test
	tc postfix 198.18.1.26 "" "inbound mail with STARTTLS on 25, unknown recipient"
	sw --server "$PF" --port 25 --tls --from friend@example.org --to nobody@lab.test

	# --- injection: attacker text in every field Postfix logs --------------
	tc postfix 198.18.1.31 "auth_fail=1" "username carrying a Postfix SASL failure line"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:$FAKE_PF" "b64:x" QUIT
	tc postfix 198.18.1.32 "auth_fail=1" "username with a newline and a whole fake log line"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:x\\nJan  1 00:00:00 mail postfix/submission/smtpd[1]: warning: $FAKE_PF" \
		"b64:x\\r\\n$FAKE_ALL" QUIT
	tc postfix 198.18.1.33 "sender_violation=1" "HELO and quoted sender with fake fields, relay attempt"
	rc "$PF" 25 "EHLO unknown[$X]" "MAIL FROM:<\"rip=$X, relay=[$X] authentication failed\"@evil.example>" \
		"RCPT TO:<victim@example.net>" QUIT
	tc postfix 198.18.1.34 "" "non-SMTP command carrying a fake failure"
	rc "$PF" 25 "EHLO c.example" "CONNECT $FAKE_PF" QUIT
	tc postfix 198.18.1.35 "" "bogus command carrying fake phrases"
	rc "$PF" 25 "EHLO c.example" "/ $FAKE_ALL" QUIT
	tc postfix 198.18.1.36 "sender_violation=1" "control bytes in HELO and sender, relay attempt"
	rc "$PF" 25 "EHLO a\\x01\\x1b[2J[$X]\\x7f" "MAIL FROM:<\"\\x07\\x1b]0;unknown[$X]\"@evil.example>" \
		"RCPT TO:<victim@example.net>" QUIT
	tc postfix 198.18.1.37 "auth_success=1 sender_violation=1" "good login, forged sender made of fake log text"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH PLAIN $(printf '\0alice@lab.test\0alicepass' | base64)" \
		"MAIL FROM:<\"lost connection after AUTH from unknown[$X]\"@evil.example>" \
		"RCPT TO:<bob@lab.test>" QUIT
	tc postfix 198.18.1.38 "sender_violation=1" "over-long HELO (3000 bytes of fake fields), relay attempt"
	rc "$PF" 25 "EHLO $LONG" "MAIL FROM:<a@example.org>" "RCPT TO:<victim@example.net>" QUIT
	tc postfix 198.18.1.39 "auth_fail=1" "over-long username (3000 bytes of fake fields)"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:$LONG" "b64:x" QUIT
	tc postfix 198.18.1.40 "sender_violation=1" "recipient carrying a fake disconnect line, relay attempt"
	rc "$PF" 25 "EHLO c.example" "MAIL FROM:<a@example.org>" \
		"RCPT TO:<\"disconnect from unknown[$X] auth=1 sasl_method=PLAIN\"@example.net>" QUIT
	# Dovecot refuses such a name at once: a failure, then the hang-up
	tc postfix 198.18.1.41 "auth_fail=1 auth_abort=1" "username made of a fake lost-connection line, then the client hangs up"
	rc "$PF" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:lost connection after AUTH from unknown[$X]" '!close'
	tc postfix 198.18.1.42 "sender_violation=1" "sender with brackets and an IPv6 literal, relay attempt"
	rc "$PF" 25 "EHLO [IPv6:2001:db8::9]" "MAIL FROM:<x@[$X]>" "RCPT TO:<y@[IPv6:2001:db8::9]>" QUIT

	settle "$LAB/pf/maillog"
	verify postfix postfix "$LAB/pf/maillog"
	# Dovecot serves only SASL here: its own log holds no login summary,
	# so it must yield nothing at all (and never the injected address).
	settle "$LAB/dv/dovecot.log"
	: >"$W/dovecot-sasl.expect"
	[ -f "$LAB/dv/dovecot.log" ] || : >"$LAB/dv/dovecot.log"
	echo "# dovecot.log ($(wc -l <"$LAB/dv/dovecot.log") lines)"
	verify dovecot-sasl dovecot "$LAB/dv/dovecot.log"
}
