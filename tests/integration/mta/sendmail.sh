# sendmail.sh - sourced by test_mta_corpus.sh: Sendmail 8.17 (sendmail-bin
# and sendmail-cf from `apt-get download` + `dpkg -x`, sendmail.cf built
# with the m4 of the same tree) in a private mount namespace: /etc is a
# read-only overlay with mail/sendmail.cf, mail/service.switch (hosts from
# files only), sasl2/Sendmail.conf (Cyrus SASL, auxprop sasldb: users
# alice/alicepass and bob/bobpass made with sasl2-bin's saslpasswd2), hosts,
# and passwd/group holding the local users alice and bob; /dev is a private
# tmpfs whose /dev/log leads to mta/syslogd.py, which writes the log the
# way rsyslog does.
#
# Two daemons, the same cases against each, each from its own addresses:
#   sendmail          198.18.0.4, LogLevel 9 (Debian's)   clients 198.18.3.x
#   sendmail-ll14     198.18.0.6, LogLevel 14             clients 198.18.5.x
# Ports 25 (MTA) and 587 (MSA, M=Ea), STARTTLS, AUTH PLAIN/LOGIN only over
# TLS (AuthOptions=p), relaying only for authenticated clients. Stock
# Sendmail has no check that MAIL FROM belongs to the login: the "forged
# sender" case shows what it logs, which is no violation.
#
# Two more daemons add a site's sender-ownership check, a Local_check_mail
# ruleset in the .mc (SM_SITE_RULES, shown in docs/sender-acl.md), and run
# only the cases it is about (sm_acl_cases):
#   sendmail-acl       198.18.0.10, LogLevel 9    clients 198.18.9.x
#   sendmail-acl-ll14  198.18.0.11, LogLevel 14   clients 198.18.10.x

# A site's sender-ownership check (docs/sender-acl.md), appended to the
# .mc: a logged-in user sends only as LOGIN@one-of-our-domains ($=w),
# nobody sends as one of our domains without logging in, bounces (<>)
# pass. Sendmail logs each refusal as "ruleset=check_mail, arg1=<S>,
# relay=..., reject=550 5.7.1 <S>... TEXT". LHS, RHS and comment are
# separated by tabs.
# shellcheck disable=SC2016 # sendmail's macros, not the shell's
SM_SITE_RULES='LOCAL_RULESETS
SLocal_check_mail
R$*					$: $>canonify $1			user<@domain.>
R<@>					$@ OK				the null sender
R$*					$: $&{auth_authen} $| $1		login $| sender
R$@ $| $* < @ $=w . >			$#error $@ 5.7.1 $: "550 Sender address rejected: not logged in"
R$@ $| $*				$@ OK				no login, foreign sender
R$+ $| $&{auth_authen} < @ $=w . >	$@ OK				the login at our domain
R$+ $| $*				$#error $@ 5.7.1 $: "550 Sender address rejected: not owned by user " $1
'

# The .debs: Sendmail, its m4 files, and what deploy/deps.sh does not
# install (liblockfile1, m4, and saslpasswd2 from sasl2-bin)
SM_DEBS="sendmail-bin sendmail-cf liblockfile1 m4 sasl2-bin"

# sm_conf NAME ADDR LOGLEVEL CLIENTNET [RULES]: $W/NAME/etc/... and the
# queue. With RULES (SM_SITE_RULES), appended to the .mc, the config is a
# site's: Debian's default of refusing sender domains that do not resolve
# (no accept_unresolvable_domains; lab.test and example.org resolve from
# /etc/hosts)
sm_conf() {
	_s=$W/$1
	_unres="FEATURE(\`accept_unresolvable_domains')dnl"
	[ -n "${5:-}" ] && _unres="dnl sender domains must resolve (Debian's default)"
	mkdir -p "$_s/etc/mail" "$_s/etc/sasl2" "$_s/mqueue" "$_s/dev"
	chmod 0700 "$_s/mqueue"
	: >"$_s/statistics"
	etc_with_user "$_s/etc" alice 64991
	echo "bob:x:64992:64992::/nonexistent:/usr/sbin/nologin" >>"$_s/etc/passwd"
	echo "bob:x:64992:" >>"$_s/etc/group"
	# clients have PTR names (but .27, to see the 450 of a missing one)
	{
		printf '127.0.0.1 localhost\n%s mail.lab.test mail\n' "$2"
		[ -n "${5:-}" ] && printf '%s lab.test\n192.0.2.25 example.org\n' "$2"
		for _i in $(seq 11 49); do
			[ "$_i" = 27 ] || echo "$4.$_i c$_i.clients.example"
		done
	} >"$_s/etc/hosts"
	printf 'hosts files\naliases files\n' >"$_s/etc/mail/service.switch"
	install -m 0600 "$LAB/tls/key.pem" "$_s/key.pem"
	printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s/sasldb2\nmech_list: PLAIN LOGIN\n' \
		"$_s" >"$_s/etc/sasl2/Sendmail.conf"
	echo alicepass | saslpasswd2 -p -c -f "$_s/sasldb2" -u mail.lab.test alice &&
		echo bobpass | saslpasswd2 -p -c -f "$_s/sasldb2" -u mail.lab.test bob || return 1
	chmod 0600 "$_s/sasldb2"
	cat >"$_s/lab.mc" <<EOM
include(\`$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(\`bancluster test_mta_corpus')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mail.lab.test')dnl
define(\`QUEUE_DIR', \`$_s/mqueue')dnl
define(\`STATUS_FILE', \`$_s/statistics')dnl
define(\`confPID_FILE', \`$_s/sendmail.pid')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confLOG_LEVEL', \`$3')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
$_unres
define(\`confDELIVERY_MODE', \`queueonly')dnl
define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl
define(\`confAUTH_OPTIONS', \`A p')dnl
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
define(\`confCACERT_PATH', \`$LAB/tls')dnl
define(\`confCACERT', \`$LAB/tls/cert.pem')dnl
define(\`confSERVER_CERT', \`$LAB/tls/cert.pem')dnl
define(\`confSERVER_KEY', \`$_s/key.pem')dnl
FEATURE(\`no_default_msa')dnl
DAEMON_OPTIONS(\`Port=smtp, Addr=$2, Name=MTA')dnl
DAEMON_OPTIONS(\`Port=submission, Addr=$2, Name=MSA, M=Ea')dnl
LOCAL_DOMAIN(\`lab.test')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOM
	printf '%s' "${5:-}" >>"$_s/lab.mc"
	"$SM_ROOT/usr/bin/m4" "$_s/lab.mc" >"$_s/etc/mail/sendmail.cf" 2>"$_s/m4.err" ||
		return 1
	# the receiver writes what Sendmail sends to /dev/log
	: >"$_s/maillog"
	python3 "$MTA/syslogd.py" "$_s/log.sock" "$_s/maillog" mail >"$_s/syslogd.out" 2>&1 &
	PIDS="$PIDS $!"
}

# sm_start NAME: sendmail -bD (foreground) in its mount namespace
sm_start() {
	_s=$W/$1
	# shellcheck disable=SC2016 # expanded by the inner shell
	ip netns exec "$LAB_SRV" unshare --mount --uts sh -c '
		mount -t overlay bcm-etc -o "ro,lowerdir=$1/etc:/etc" /etc || exit 1
		mount -t tmpfs -o mode=0755 bcm-dev /dev || exit 1
		mknod -m 0666 /dev/null c 1 3 && mknod -m 0666 /dev/zero c 1 5 &&
			mknod -m 0666 /dev/random c 1 8 && mknod -m 0666 /dev/urandom c 1 9 &&
			ln -s "$1/log.sock" /dev/log || exit 1
		hostname mail.lab.test
		LD_LIBRARY_PATH=$2/usr/lib/x86_64-linux-gnu:$2/lib/x86_64-linux-gnu
		export LD_LIBRARY_PATH
		exec "$2/usr/libexec/sendmail/sendmail" -bD' sh "$_s" "$SM_ROOT" \
		>"$_s/stdout" 2>&1 &
	PIDS="$PIDS $!"
}

# sm_cases NAME ADDR NET
sm_cases() {
	n=$1 E=$2 N=$3
	tc "$n" "$N.11" "auth_fail=1" "wrong password (swaks, STARTTLS, AUTH LOGIN)"
	swsub --auth LOGIN --auth-user alice --auth-password wrong1 --quit-after AUTH
	tc "$n" "$N.12" "auth_fail=2" "wrong password in two sessions (AUTH PLAIN)"
	swsub --auth PLAIN --auth-user alice --auth-password wrong2 --quit-after AUTH
	swsub --auth PLAIN --auth-user alice --auth-password wrong3 --quit-after AUTH
	tc "$n" "$N.13" "auth_fail=1" "unknown user"
	swsub --auth LOGIN --auth-user nosuchuser --auth-password x --quit-after AUTH
	tc "$n" "$N.14" "auth_fail=3" "three wrong passwords in one session (raw)"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:alice" "b64:bad1" \
		"AUTH LOGIN" "b64:alice" "b64:bad2" \
		"AUTH PLAIN $(printf '\0bob\0bad3' | base64)" QUIT
	tc "$n" "$N.15" "auth_fail=1" "wrong password, then the client hangs up"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:alice" "b64:bad4" '!close'
	tc "$n" "$N.16" "auth_success=1" "forged sender after a good login (Sendmail does not check)"
	swsub --auth PLAIN --auth-user alice --auth-password alicepass \
		--from bob@lab.test --to bob@lab.test
	tc "$n" "$N.17" "sender_violation=1" "relay attempt on 25 (two recipients)"
	sw --server "$E" --port 25 --from someone@example.org --to victim@example.net,other@example.net
	# Sendmail 8.17 logs nothing about an AUTH dropped or cancelled inside
	# TLS (only "did not issue MAIL/EXPN/VRFY/ETRN"): nothing to count
	tc "$n" "$N.18" "" "AUTH LOGIN dropped after the username (not logged)"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:alice" '!close'
	tc "$n" "$N.19" "" "AUTH PLAIN dropped before the response (not logged)"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" "AUTH PLAIN" '!close'
	tc "$n" "$N.20" "" "AUTH cancelled with * (not logged)"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" "AUTH LOGIN" "*" QUIT
	tc "$n" "$N.21" "" "AUTH before STARTTLS (not offered)"
	rc "$E" 587 "EHLO c.example" "AUTH LOGIN" QUIT
	tc "$n" "$N.27" "" "relay attempt from an address without PTR (450, temporary)"
	sw --server "$E" --port 25 --from someone@example.org --to victim@example.net
	tc "$n" "$N.28" "" "AUTH on 25 without TLS (not offered), then the client hangs up (not logged)"
	rc "$E" 25 "EHLO c.example" "AUTH LOGIN" '!close'
	tc "$n" "$N.22" "auth_success=1" "good login, one message"
	swsub --auth LOGIN --auth-user alice --auth-password alicepass \
		--from alice@lab.test --to bob@lab.test
	tc "$n" "$N.23" "auth_success=1" "good login, two messages in one session"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH PLAIN $(printf '\0alice\0alicepass' | base64)" \
		"MAIL FROM:<alice@lab.test>" "RCPT TO:<bob@lab.test>" DATA '!data' \
		"MAIL FROM:<alice@lab.test>" "RCPT TO:<victim@example.net>" DATA '!data' QUIT
	tc "$n" "$N.24" "auth_success=1" "good login, no mail"
	swsub --auth PLAIN --auth-user bob --auth-password bobpass --quit-after AUTH
	tc "$n" "$N.25" "" "plain inbound mail on 25"
	sw --server "$E" --port 25 --from friend@example.org --to alice@lab.test
	tc "$n" "$N.26" "" "inbound mail with STARTTLS on 25, unknown recipient"
	sw --server "$E" --port 25 --tls --from friend@example.org --to nobody@lab.test

	# --- injection: relay=, user= and arg1= are what Sendmail's lines hold
	tc "$n" "$N.31" "auth_fail=1" "username carrying ', relay=[$X]'"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:x, relay=[$X]" "b64:x" QUIT
	tc "$n" "$N.32" "auth_fail=1" "username with a newline and a whole fake syslog line"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH PLAIN $(printf '\0x\nJan  1 00:00:00 mail sm-mta[1]: 40AF01xx007001: AUTH failure (PLAIN): authentication failure (-13), user=x, relay=[%s]\0y' "$X" | base64 -w0)" QUIT
	# two ", relay=" in a check_rcpt line: the parser refuses it (documented)
	tc "$n" "$N.33" "sender_violation=1" "HELO and recipient with fake relay= fields, relay attempt"
	rc "$E" 25 "EHLO [$X]" "MAIL FROM:<a@example.org>" \
		"RCPT TO:<\"x>, relay=[$X], reject=550 5.7.1 <x>... Relaying denied\"@example.net>" QUIT
	tc "$n" "$N.34" "" "garbage commands carrying fake phrases"
	rc "$E" 25 "EHLO c.example" "$FAKE_ALL" "AUTH LOGIN $FAKE_ALL" QUIT
	tc "$n" "$N.35" "sender_violation=1" "control bytes in HELO and sender, relay attempt"
	rc "$E" 25 "EHLO a\\x01\\x1b[2J[$X]\\x7f" "MAIL FROM:<\"\\x07\\x1b]0;[$X]\"@evil.example>" \
		"RCPT TO:<victim@example.net>" QUIT
	# "SMTP violation, input too long": Sendmail ends the session there
	tc "$n" "$N.36" "" "over-long HELO (3000 bytes of fake fields), then a relay attempt"
	rc "$E" 25 "EHLO $LONG" "MAIL FROM:<a@example.org>" "RCPT TO:<victim@example.net>" QUIT
	tc "$n" "$N.37" "auth_fail=1" "over-long username (3000 bytes of fake fields)"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:$LONG" "b64:x" QUIT
	tc "$n" "$N.38" "" "AUTH dropped, username made of a fake lost-input line (not logged)"
	rc "$E" 587 "EHLO c.example" '!starttls' "EHLO c.example" \
		"AUTH LOGIN" "b64:lost input channel from [$X] to MTA after auth" '!close'
	tc "$n" "$N.39" "sender_violation=1" "IPv6 literal as HELO and in the sender, relay attempt"
	rc "$E" 25 "EHLO [IPv6:2001:db8::9]" "MAIL FROM:<\"relay=[IPv6:2001:db8::9]\"@example.org>" \
		"RCPT TO:<victim@example.net>" QUIT
}

# sm_acl_cases NAME ADDR NET: the site's Local_check_mail (SM_SITE_RULES)
# against ADDR from NET.x. Each refused sender is one sender_violation
# (Sendmail logs the login itself as AUTH=server: auth_success); the
# negative controls (the user's own address, inbound mail, a bounce, a
# sender made of the reject phrases) give no sender_violation.
sm_acl_cases() {
	n=$1 E=$2 N=$3
	tc "$n" "$N.11" "auth_success=1 sender_violation=1" "logged in as alice, MAIL FROM bob (not owned by user)"
	tl "ruleset=check_mail, arg1=<bob@lab.test>, .*, reject=550 5.7.1 <bob@lab.test>... Sender address rejected: not owned by user alice$"
	swsub --auth PLAIN --auth-user alice --auth-password alicepass \
		--from bob@lab.test --to bob@lab.test
	tc "$n" "$N.12" "auth_success=1 sender_violation=1" "logged in as alice, MAIL FROM a foreign domain (not owned by user)"
	tl "ruleset=check_mail, .*, reject=550 5.7.1 <alice@example.org>... Sender address rejected: not owned by user alice$"
	swsub --auth LOGIN --auth-user alice --auth-password alicepass \
		--from alice@example.org --to friend@example.net
	tc "$n" "$N.13" "sender_violation=1" "no login, MAIL FROM alice on 25 (not logged in)"
	tl "ruleset=check_mail, .*, reject=550 5.7.1 <alice@lab.test>... Sender address rejected: not logged in$"
	sw --server "$E" --port 25 --from alice@lab.test --to bob@lab.test
	tc "$n" "$N.14" "sender_violation=1" "no login, STARTTLS, MAIL FROM bob on 25 (not logged in)"
	tl "ruleset=check_mail, .*, reject=550 5.7.1 <bob@lab.test>... Sender address rejected: not logged in$"
	sw --server "$E" --port 25 --tls --from bob@lab.test --to alice@lab.test
	tc "$n" "$N.15" "auth_success=1" "logged in as alice, MAIL FROM alice (her own address)"
	tl "from=<alice@lab.test>, size=[0-9]+, class=0, nrcpts=1, .*proto=ESMTPSA"
	swsub --auth PLAIN --auth-user alice --auth-password alicepass \
		--from alice@lab.test --to friend@example.net
	tc "$n" "$N.16" "" "no login, inbound mail from a foreign domain on 25"
	tl "from=<friend@example.org>, size=[0-9]+, class=0, nrcpts=1, "
	sw --server "$E" --port 25 --from friend@example.org --to alice@lab.test
	tc "$n" "$N.17" "" "no login, a bounce (MAIL FROM:<>) on 25"
	tl "from=<>, size=[0-9]+, class=0, nrcpts=1, "
	rc "$E" 25 "EHLO c.example" "MAIL FROM:<>" "RCPT TO:<alice@lab.test>" DATA '!data' QUIT
	tc "$n" "$N.18" "" "no login, foreign sender holding both reject phrases, on 25"
	tl 'from=<"x... Sender address rejected: .*nrcpts=1, '
	rc "$E" 25 "EHLO c.example" \
		"MAIL FROM:<\"x... Sender address rejected: not logged in, reject=550 5.7.1 <a>... Sender address rejected: not owned by user y\"@example.org>" \
		"RCPT TO:<alice@lab.test>" DATA '!data' QUIT
	# Sendmail's own check_mail 5xx, not about who owns the sender: a
	# relay forwarding mail whose sender domain does not exist (an
	# attacker can have an innocent relay do that) is no violation
	tc "$n" "$N.19" "" "no login, sender domain that does not exist (553 5.1.8, Sendmail's own check)"
	tl "ruleset=check_mail, .*, reject=553 5.1.8 <someone@nosuch.invalid>... Domain of sender address someone@nosuch.invalid does not exist$"
	sw --server "$E" --port 25 --from someone@nosuch.invalid --to alice@lab.test
}

sendmail_run() {
	SM_ROOT=$W/pkg/sendmail/root
	# shellcheck disable=SC2086 # one word per package
	if ! pkg_fetch "$W/pkg/sendmail" $SM_DEBS; then
		pkg_unavailable sendmail "$SM_DEBS"
		return
	fi
	note "sendmail: packages: $PKG_FROM"
	PATH=$SM_ROOT/usr/sbin:$PATH
	if ! sm_conf sendmail 198.18.0.4 9 198.18.3 || ! sm_conf sendmail-ll14 198.18.0.6 14 198.18.5 ||
		! sm_conf sendmail-acl 198.18.0.10 9 198.18.9 "$SM_SITE_RULES" ||
		! sm_conf sendmail-acl-ll14 198.18.0.11 14 198.18.10 "$SM_SITE_RULES"; then
		notok "sendmail: configuration built (m4, saslpasswd2: $(cat "$W"/sendmail*/m4.err | head -2))"
		return
	fi
	for d in sendmail sendmail-ll14 sendmail-acl sendmail-acl-ll14; do
		sm_start $d
	done
	for a in 198.18.0.4 198.18.0.6 198.18.0.10 198.18.0.11; do
		if ! wait_port $a 25 || ! wait_port $a 587; then
			notok "sendmail: daemon listening on $a:25 and :587 ($(cat "$W"/sendmail*/stdout "$W"/sendmail*/maillog 2>/dev/null | tail -4 | tr '\n' ' '))"
			return
		fi
	done
	ok "sendmail: Sendmail $(sed -n 's/^DZ//p' "$W/sendmail/etc/mail/sendmail.cf") up on 198.18.0.4, .6, .10 and .11, :25 and :587"
	sm_cases sendmail 198.18.0.4 198.18.3
	sm_cases sendmail-ll14 198.18.0.6 198.18.5
	sm_acl_cases sendmail-acl 198.18.0.10 198.18.9
	sm_acl_cases sendmail-acl-ll14 198.18.0.11 198.18.10
	for d in sendmail sendmail-ll14 sendmail-acl sendmail-acl-ll14; do
		settle "$W/$d/maillog"
		logged $d "$W/$d/maillog"
		verify $d sendmail "$W/$d/maillog"
	done
}
