#!/bin/sh
# test_audit_smtp.sh - `bancluster audit smtp` against real Postfix 3.7 +
# Dovecot SASL in network namespaces, audited from another namespace.
#
# Cases: bad arguments (64), unreachable host (3), a hardened server (every
# (a)/(b) check passes, exit 0), the same without a trusted CA (submission
# certificate FAILs, MX certificate is info only), a weak server (cleartext
# AUTH, TLS 1.0, no sender ownership check, relay for the auditor's network:
# each FAILs with its fix line, exit 2), TLS versions cross-checked with
# openssl s_client, --json schema, no password in any output, server text
# escaped and cut, colour only on a terminal, the vantage warning, and the
# opt-in ban test (no ban on the weak server -> fail; a simulated
# log-driven nftables ban -> pass).
#
# Runs as root (tests/run.sh). Prints "ok - NAME" / "not ok - NAME"; exits
# non-zero when any case failed. Namespaces are named bcaud-*-$$ and use
# 198.18.0.0/15; everything is removed by the EXIT trap, also on failure.
set -u
B=${B:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
case $B in
/*) BIN=$B/bancluster ;;
*) BIN=$top/$B/bancluster ;;
esac
LAB_DIR=$top/tests/integration/audit
. "$LAB_DIR/lab.sh"

fails=0
ok() { echo "ok - $1"; }
nok() {
	echo "not ok - $1"
	fails=$((fails + 1))
}
# check NAME CMD...: ok when CMD succeeds.
check() {
	n=$1
	shift
	if "$@"; then ok "$n"; else nok "$n"; fi
}
# jcheck_of FILE ID PORT: that check of a --json output as compact JSON
# (one line, "key":value, UTF-8 as is), or nothing.
jcheck_of() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for c in d.get("checks", []):
    if c["id"] == sys.argv[2] and c["port"] == int(sys.argv[3]):
        print(json.dumps(c, separators=(",", ":"), ensure_ascii=False))
        break' "$1" "$2" "$3" 2>/dev/null
}
# jres FILE ID PORT: the result field of that check in a --json output.
jres() {
	jcheck_of "$1" "$2" "$3" | sed -n 's/.*"result":"\([a-z]*\)".*/\1/p'
}
# jhas FILE ID PORT TEXT: the check's line contains TEXT.
jhas() { jcheck_of "$1" "$2" "$3" | grep -qF -- "$4"; }
# expect FILE ID PORT RESULT: a named case.
expect() {
	got=$(jres "$1" "$2" "$3")
	if [ "$got" = "$4" ]; then
		ok "$5: $2 port $3 is $4"
	else
		nok "$5: $2 port $3 is $4 (got '${got:-missing}')"
	fi
}

for c in postfix dovecot nft openssl ip python3; do
	command -v "$c" >/dev/null 2>&1 || { nok "prerequisite $c installed"; exit 1; }
done
[ "$(id -u)" = 0 ] || { nok "runs as root"; exit 1; }
[ -x "$BIN" ] || { nok "binary $BIN exists"; exit 1; }

trap 'lab_cleanup' EXIT
trap 'exit 1' INT TERM HUP
W=$(mktemp -d /tmp/bcaud-out.XXXXXX)
trap 'lab_cleanup; [ "${KEEP_LAB:-}" = 1 ] || rm -rf "$W"' EXIT

# --- bad arguments: exit 64, one line naming the bad value ---------------
badarg() {
	want=$1
	shift
	"$BIN" audit smtp "$@" >"$W/ba.out" 2>"$W/ba.err"
	rc=$?
	[ $rc -eq 64 ] && [ ! -s "$W/ba.out" ] && [ "$(wc -l <"$W/ba.err")" -eq 1 ] &&
		grep -qF -- "$want" "$W/ba.err"
}
check "bad --attempts 50 -> 64 naming 50" badarg '"50"' mail.example --attempts 50
check "bad --attempts 0 -> 64" badarg '"0"' mail.example --attempts 0
check "bad --timeout abc -> 64" badarg '"abc"' mail.example --timeout abc
check "bad --ports 70000 -> 64" badarg '"70000"' mail.example --ports 70000
check "bad --ports role -> 64" badarg '"25:relay"' mail.example --ports 25:relay
check "bad --ban-test nope -> 64" badarg '"nope"' mail.example --ban-test nope
check "bad --source -> 64" badarg '"1.2.3"' mail.example --source 1.2.3
check "unknown option -> 64" badarg '"--frobnicate"' mail.example --frobnicate
check "missing HOST -> 64" badarg 'HOST' --json
check "--user without --password-file -> 64" badarg '--password-file' mail.example --user a
check "unreadable --password-file -> 64" badarg '/nonexistent/pw' mail.example --user a --password-file /nonexistent/pw

# --- the lab -------------------------------------------------------------
if ! lab_setup; then
	nok "lab: postfix + dovecot started in namespaces"
	for f in "$LAB"/pf*/maillog "$LAB"/pf*/start.out "$LAB"/dv/dovecot.log; do
		[ -f "$f" ] && tail -5 "$f" | sed 's/^/#   /'
	done
	exit 1
fi
ok "lab: postfix + dovecot started in namespaces"
echo alicepass >"$W/pw"
chmod 0600 "$W/pw"
audit() { in_cli "$BIN" audit smtp "$@"; }

# --- unreachable host: exit 3 with one line ------------------------------
audit 198.18.0.99 --timeout 1 >"$W/un.out" 2>"$W/un.err"
rc=$?
check "unreachable host -> exit 3" [ $rc -eq 3 ]
check "unreachable host -> one line on stderr, nothing on stdout" \
	sh -c "[ \$(wc -l <'$W/un.err') -eq 1 ] && [ ! -s '$W/un.out' ]"
audit "$LAB_HARD" --ports 2525,2526 --timeout 2 >"$W/cl.out" 2>"$W/cl.err"
rc=$?
check "closed ports -> exit 3 with one line" sh -c "[ $rc -eq 3 ] && [ \$(wc -l <'$W/cl.err') -eq 1 ] && grep -q 'refused' '$W/cl.err'"

# --- hardened server -----------------------------------------------------
audit "$LAB_HARD" --timeout 5 --ca-file "$LAB/tls/cert.pem" \
	--user alice@lab.test --password-file "$W/pw" >"$W/hard.txt" 2>"$W/hard.err"
rc=$?
check "hardened: exit 0" [ $rc -eq 0 ]
check "hardened: no [fail] or [warn] line" sh -c "! grep -qE '^\[(fail|warn)\]' '$W/hard.txt'"
check "hardened: report grouped (a) (b) (c)" sh -c "grep -q '^# (a)' '$W/hard.txt' && grep -q '^# (b)' '$W/hard.txt' && grep -q '^# (c)' '$W/hard.txt'"
[ $rc -eq 0 ] || sed 's/^/#   /' "$W/hard.txt" | grep -E '\[(fail|warn)\]' | head -20

audit "$LAB_HARD" --timeout 5 --ca-file "$LAB/tls/cert.pem" --json \
	--user alice@lab.test --password-file "$W/pw" >"$W/hard.json" 2>"$W/hard.jerr"
rc=$?
check "hardened --json: exit 0" [ $rc -eq 0 ]
check "hardened --json: stdout is one valid JSON document" python3 -m json.tool "$W/hard.json" /dev/null
check "hardened --json: schema fields" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "bancluster/audit-smtp" and d["schema_version"] == 1
assert d["checks"], "no checks"
for c in d["checks"]:
    assert set(("id", "port", "result", "detail")) <= set(c), c
    assert c["result"] in ("pass", "warn", "fail", "skip"), c
    assert isinstance(c["port"], int)
ab = [c for c in d["checks"] if c["section"] in ("a", "b")]
bad = [c for c in ab if c["result"] in ("fail", "warn")]
assert not bad, bad
assert d["summary"]["exit_code"] == 0
' "$W/hard.json"
for p in 25 587; do
	expect "$W/hard.json" auth.before_tls $p pass hardened
	expect "$W/hard.json" tls.starttls $p pass hardened
done
expect "$W/hard.json" auth.plaintext 587 pass hardened
check "hardened: 587 cleartext AUTH probe refused with 530" jhas "$W/hard.json" auth.plaintext 587 "530 5.7.0"
expect "$W/hard.json" tls.implicit 465 pass hardened
for p in 25 465 587; do
	expect "$W/hard.json" tls.v1_0 $p pass hardened
	expect "$W/hard.json" tls.v1_1 $p pass hardened
	expect "$W/hard.json" tls.v1_2 $p pass hardened
	expect "$W/hard.json" tls.cert.chain $p pass hardened
	expect "$W/hard.json" relay.open $p pass hardened
done
expect "$W/hard.json" tls.cipher.anon 587 pass hardened
expect "$W/hard.json" auth.required 587 pass hardened
expect "$W/hard.json" auth.required 465 pass hardened
expect "$W/hard.json" sender.spoof_after_auth 587 pass hardened
expect "$W/hard.json" sender.spoof_after_auth 465 pass hardened
expect "$W/hard.json" enum.vrfy 25 pass hardened
expect "$W/hard.json" ban.auth 0 skip hardened

# Without the lab CA: submission certificate FAILs, port 25 is info only.
audit "$LAB_HARD" --timeout 5 --json >"$W/hardnoca.json" 2>/dev/null
rc=$?
check "hardened, self-signed cert untrusted: exit 2" [ $rc -eq 2 ]
expect "$W/hardnoca.json" tls.cert.chain 587 fail "self-signed"
expect "$W/hardnoca.json" tls.cert.chain 465 fail "self-signed"
expect "$W/hardnoca.json" tls.cert.chain 25 pass "self-signed"
check "self-signed: port 25 certificate marked info" jhas "$W/hardnoca.json" tls.cert.chain 25 '"info":true'

# --- weak server ---------------------------------------------------------
audit "$LAB_WEAK" --timeout 5 --user alice@lab.test --password-file "$W/pw" \
	>"$W/weak.txt" 2>"$W/weak.err"
rc=$?
check "weak: exit 2" [ $rc -eq 2 ]
audit "$LAB_WEAK" --timeout 5 --json --user alice@lab.test \
	--password-file "$W/pw" >"$W/weak.json" 2>/dev/null
rc=$?
check "weak --json: exit 2" [ $rc -eq 2 ]
check "weak --json: valid JSON" python3 -m json.tool "$W/weak.json" /dev/null
for p in 25 587; do
	expect "$W/weak.json" auth.before_tls $p fail weak
	expect "$W/weak.json" auth.plaintext $p fail weak
done
check "weak: cleartext AUTH found by 334 without a password" jhas "$W/weak.json" auth.plaintext 587 "answered 334"
for p in 25 465 587; do
	expect "$W/weak.json" tls.v1_0 $p fail weak
	expect "$W/weak.json" tls.v1_1 $p fail weak
	expect "$W/weak.json" relay.open $p fail weak
done
expect "$W/weak.json" sender.spoof_after_auth 587 fail weak
expect "$W/weak.json" sender.spoof_after_auth 465 fail weak
expect "$W/weak.json" auth.required 587 fail weak
expect "$W/weak.json" enum.vrfy 25 warn weak
check "weak: banner disclosure is info, not a failure" jhas "$W/weak.json" info.banner 25 '"result":"pass","info":true'
# fix lines: "[fail] ID PORT ..." followed by "fix: ..." naming the setting.
fixline() { grep -A1 -E "^\[fail\] $1 +$2 " "$W/weak.txt" | grep -qF -- "$3"; }
check "weak: auth.plaintext fix names smtpd_tls_auth_only" fixline auth.plaintext 587 "smtpd_tls_auth_only = yes"
check "weak: auth.before_tls fix names Exim auth_advertise_hosts" fixline auth.before_tls 587 "auth_advertise_hosts"
check "weak: tls.v1_0 fix names smtpd_tls_protocols" fixline tls.v1_0 587 "smtpd_tls_protocols = >=TLSv1.2"
check "weak: sender fix names reject_sender_login_mismatch" fixline sender.spoof_after_auth 587 "reject_sender_login_mismatch"
check "weak: relay fix names smtpd_relay_restrictions / mynetworks" fixline relay.open 25 "mynetworks"
check "weak: relay fix names Exim relay_from_hosts" fixline relay.open 25 "relay_from_hosts"

# --- TLS versions cross-checked with openssl s_client --------------------
# accepted by s_client (exit 0) <=> the audit says "accepted".
xcheck() {
	addr=$1 port=$2 flag=$3 id=$4 json=$5
	st=""
	[ "$port" = 465 ] || st="-starttls smtp"
	# shellcheck disable=SC2086
	in_cli timeout 15 openssl s_client -connect "$addr:$port" $st "-$flag" \
		-cipher 'ALL:@SECLEVEL=0' </dev/null >/dev/null 2>&1
	src=$?
	sacc=refused
	[ $src -eq 0 ] && sacc=accepted
	aacc=refused
	jhas "$json" "$id" "$port" "accepted" && aacc=accepted
	if [ "$sacc" = "$aacc" ]; then
		ok "s_client agrees: $addr:$port $flag ($sacc)"
	else
		nok "s_client agrees: $addr:$port $flag (s_client rc $src, audit $(jres "$json" "$id" "$port"))"
	fi
}
for port in 25 465 587; do
	for v in "tls1 tls.v1_0" "tls1_1 tls.v1_1" "tls1_2 tls.v1_2" "tls1_3 tls.v1_3"; do
		# shellcheck disable=SC2086 # split "flag id" on purpose
		set -- $v
		xcheck "$LAB_HARD" "$port" "$1" "$2" "$W/hard.json"
		xcheck "$LAB_WEAK" "$port" "$1" "$2" "$W/weak.json"
	done
done

# --- secrets, escaping, colour, vantage ----------------------------------
check "password never printed" sh -c "! cat '$W'/*.txt '$W'/*.json '$W'/*.err | grep -q alicepass"
b64=$(printf '\000alice@lab.test\000alicepass' | base64)
check "AUTH PLAIN blob never printed" sh -c "! cat '$W'/*.txt '$W'/*.json | grep -qF '$b64'"
check "no colour when stdout is not a terminal" sh -c "! grep -q \"\$(printf '\\033')\" '$W/weak.txt'"

if lab_fake; then
	audit "$LAB_FAKE" --ports 2525:mx --timeout 3 >"$W/fake.txt" 2>&1
	rc=$?
	check "hostile banner: audit completes (exit 2: AUTH before TLS)" [ $rc -eq 2 ]
	check "hostile banner: no raw ESC/BEL/SOH byte in the report" \
		sh -c "! LC_ALL=C grep -q \"\$(printf '[\\033\\007\\001]')\" '$W/fake.txt'"
	check "hostile banner: escape shown as \\x1b" grep -qF '\x1b[31mRED' "$W/fake.txt"
	check "hostile banner: text cut to a fixed length" sh -c "grep -q 'AAA\\.\\.\\.' '$W/fake.txt' && ! grep -q 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' '$W/fake.txt'"
	audit "$LAB_FAKE" --ports 2525:mx --timeout 3 --json >"$W/fake.json" 2>/dev/null
	check "hostile banner: --json still valid" python3 -m json.tool "$W/fake.json" /dev/null
else
	nok "fake hostile SMTP server started"
fi

# script(1) (bsdutils, essential) gives the audit a terminal; TERM is set
# here, not inherited: under TERM=dumb the audit rightly prints no colour.
TERM=xterm script -qec "ip netns exec $LAB_CLI $BIN audit smtp $LAB_HARD --ports 25 --timeout 5" /dev/null >"$W/tty.out" 2>&1
check "colour on a terminal" grep -q "$(printf '\033')\[32m\[pass\]" "$W/tty.out"
TERM=xterm NO_COLOR=1 script -qec "ip netns exec $LAB_CLI $BIN audit smtp $LAB_HARD --ports 25 --timeout 5" /dev/null >"$W/tty2.out" 2>&1
check "no colour with NO_COLOR on a terminal" sh -c "grep -q '\[pass\]' '$W/tty2.out' && ! grep -q \"\$(printf '\\033')\" '$W/tty2.out'"
TERM=dumb script -qec "ip netns exec $LAB_CLI $BIN audit smtp $LAB_HARD --ports 25 --timeout 5" /dev/null >"$W/tty3.out" 2>&1
check "no colour with TERM=dumb on a terminal" sh -c "grep -q '\[pass\]' '$W/tty3.out' && ! grep -q \"\$(printf '\\033')\" '$W/tty3.out'"

# From the server itself: the vantage warning (exit 1, nothing else wrong).
in_srv "$BIN" audit smtp "$LAB_HARD" --ports 25 --timeout 5 --json >"$W/self.json" 2>/dev/null
rc=$?
expect "$W/self.json" gen.vantage 0 warn "auditing from the server"
check "auditing from the server itself: exit 1" [ $rc -eq 1 ]

# --- (c) ban test --------------------------------------------------------
audit "$LAB_WEAK" --ports 587 --ban-test auth --attempts 3 --timeout 2 \
	--source 198.18.0.11 --json >"$W/ban1.json" 2>/dev/null
rc=$?
expect "$W/ban1.json" ban.auth 587 fail "no ban system"
check "no ban system: 'not banned after 3 attempts'" jhas "$W/ban1.json" ban.auth 587 "not banned after 3 attempts"
check "no ban system: exit 2" [ $rc -eq 2 ]

audit "$LAB_WEAK" --ports 587 --ban-test sender,abort --attempts 2 --timeout 2 \
	--source 198.18.0.11 --json >"$W/ban3.json" 2>/dev/null
expect "$W/ban3.json" ban.sender 587 fail "no ban system"
expect "$W/ban3.json" ban.abort 587 fail "no ban system"
expect "$W/ban3.json" ban.auth 0 skip "not requested"
check "abort offences reached the server as lost connections after AUTH" \
	sh -c "[ \$(grep -cF 'lost connection after AUTH from unknown[198.18.0.11]' '$LAB/pfweak/maillog') -ge 2 ]"

lab_ban_watch 198.18.0.12 2
audit "$LAB_WEAK" --ports 587 --ban-test auth --attempts 5 --timeout 2 \
	--source 198.18.0.12 --json >"$W/ban2.json" 2>/dev/null
expect "$W/ban2.json" ban.auth 587 pass "simulated nftables ban"
check "simulated ban: seen as a firewall drop at attempt 2 or 3" sh -c \
	"grep -q 'ban.auth.*attempt [23] of 5: connect timed out' '$W/ban2.json'"
jcheck_of "$W/ban2.json" ban.auth 587 | sed 's/^/# /'

[ "$fails" -eq 0 ]
