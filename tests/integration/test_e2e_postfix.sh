#!/bin/sh
# test_e2e_postfix.sh - the whole chain on real mail servers: Postfix 3.7 +
# Dovecot SASL on mx1..mx3 (namespaces bce-*), each logging through
# postlogd to $WORK/mxN-mail.log, tailed by its bancluster agent
# (format = postfix, ports 25, 465, 587), one coordinator (maxretry 5,
# default weights: auth_fail 1, sender_violation 1, auth_abort 0.5).
#
#  1. End to end (issue 3): the attacker (198.18.0.100) guesses passwords
#     with swaks (STARTTLS, AUTH LOGIN on 587) 2 times on mx1 and 3 times
#     on mx2, below every local threshold (10); the coordinator's
#     cross-host count bans it in every fleet4; its TCP connect to 587 of
#     mx3 (where it never tried) fails, another address still gets in;
#     `show` gives the evidence of mx1 and mx2.
#  2. Auth backend failure (.102): ten sessions on mx2 in which Dovecot's
#     auth worker is killed between EHLO and AUTH, so Postfix answers 454
#     and logs "Connection lost to authentication server": no event, no
#     ban.
#  3. Ban test (issue 5): `bancluster audit smtp 198.18.0.13:587
#     --ban-test auth|sender|abort` against mx3, run in parallel, each
#     from its own address (.104, .105, .106): every (c) check passes and
#     the audit exits 0. auth_abort keeps its default weight 0.5, so the
#     abort test runs with --attempts 12 (10 aborts are needed).
#
# Postfix and Dovecot come from tests/integration/audit/lab.sh (sourced,
# not edited): lab_cert, lab_dovecot and lab_postfix run once per MX with
# LAB=$WORK/mxN and LAB_SRV=bce-mxN, with the hardened settings of its
# lab_setup, maillog_file moved to $WORK/mxN-mail.log.
# Root only: B=build sh tests/integration/test_e2e_postfix.sh (~60 s).
NSP=bce
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
E2E=$TOP/tests/integration/e2e
# shellcheck source=tests/integration/e2e/mailfleet.sh
. "$E2E/mailfleet.sh"

for c in postfix dovecot swaks nft openssl nc pgrep python3; do
	command -v "$c" >/dev/null 2>&1 || { notok "prerequisite $c installed"; exit 1; }
done

# auth_kill N: kill the auth worker of mxN's Dovecot (the master stays and
# starts a new worker for the next connection); wait until it is gone
auth_kill() {
	eval "_p=\$DV_PID_$1"
	_a=$(pgrep -P "$_p" -f '^dovecot/auth')
	[ -n "$_a" ] || return 1
	kill "$_a"
	wait_for 5 not_running "$_a"
}
not_running() { ! kill -0 "$1" 2>/dev/null; }

fleet_init 3
trap 'mailfleet_down; fleet_cleanup' EXIT
T0=$(date +%s)

# --- Postfix + Dovecot on every MX ----------------------------------------
# mx2 serves one client per smtpd process, so that in part 2 every
# session has its own fresh connection to Dovecot's auth worker
up=true
mailfleet_up "-o max_use=1" || up=false
if ! $up; then
	notok "Postfix + Dovecot up on mx1..mx3"
	for f in "$WORK"/mx*/pf/start.out "$WORK"/mx*/dv/dovecot.log "$WORK"/mx*/dv/stdout; do
		[ -s "$f" ] && tail -5 "$f" | sed "s|^|# $f: |"
	done
	exit 1
fi
ok "Postfix + Dovecot up on mx1..mx3 (25, 465, 587)"

start_coord
for i in 1 2 3; do start_agent "$i"; done
check "three agents connect and sync" wait_for 10 agents_synced
for a in 101 102 103 104 105 106; do att_addr "198.18.0.$a"; done
echo alicepass >"$WORK/pw"
chmod 0600 "$WORK/pw"

# guess MX SRC: one wrong password, swaks, STARTTLS then AUTH LOGIN on 587
n=0
guess() {
	n=$((n + 1))
	ns att swaks --server "198.18.0.1$1" --port 587 --local-interface "$2" \
		--tls --auth LOGIN --auth-user alice@lab.test \
		--auth-password "wrong-$n" --quit-after AUTH --timeout 10 \
		>>"$WORK/swaks.out" 2>&1
}
# logged N ADDR TEXT: lines of mxN's mail log about [ADDR] holding TEXT
logged() { grep -F "[$2]" "$WORK/mx$1-mail.log" | grep -cF -- "$3"; }
# logged_is N ADDR TEXT COUNT / logged_ge: exactly / at least COUNT lines
logged_is() { [ "$(logged "$1" "$2" "$3")" -eq "$4" ]; }
logged_ge() { [ "$(logged "$1" "$2" "$3")" -ge "$4" ]; }
# events ADDR KIND: KIND lines in `show ADDR` (current window and evidence)
events() { bc show "$1" 2>/dev/null | awk -v k="$2" '$3 == k' | wc -l; }
events_ge() { [ "$(events "$1" "$2")" -ge "$3" ]; }
# evidence ADDR HOST: auth_fail lines from HOST under the ban's "evidence:"
evidence() {
	bc show "$1" 2>/dev/null |
		awk -v h="$2" '/evidence:/ { e = 1; next } e && $2 == h && $3 == "auth_fail"' | wc -l
}
# has TEXT PATTERN: grep -q on a string
has() { printf '%s\n' "$1" | grep -q -- "$2"; }
decided() { has "$(bc show "$1" 2>/dev/null)" 'by rule:maxretry'; }
no_events() { ! has "$(bc show "$1" 2>&1)" 'auth_fail\|auth_abort\|sender_violation'; }

SASL_FAIL='SASL LOGIN authentication failed: (reason unavailable)'
LOST='SASL LOGIN authentication failed: Connection lost to authentication server'

# --- 1. end to end (issue 3) -------------------------------------------------
check "attacker reaches mx3:587 before" can_connect 198.18.0.100 198.18.0.13 587
guess 1 198.18.0.100
guess 1 198.18.0.100
check "mx1's Postfix logged 2 SASL failures from the attacker" wait_for 3 logged_is 1 198.18.0.100 "$SASL_FAIL" 2
check "the coordinator has both (show: 2 auth_fail)" wait_for 5 events_ge 198.18.0.100 auth_fail 2
check "2 failures on mx1: not in fleet4" none_in_set fleet4 198.18.0.100
check "2 failures on mx1: not in local4" none_in_set local4 198.18.0.100
guess 2 198.18.0.100
guess 2 198.18.0.100
guess 2 198.18.0.100
check "mx2's Postfix logged 3 SASL failures from the attacker" wait_for 3 logged_is 2 198.18.0.100 "$SASL_FAIL" 3
check "5 failures over mx1 + mx2: banned in fleet4 of all three" wait_for 5 all_in_set fleet4 198.18.0.100
check "no host banned it alone (not in local4)" none_in_set local4 198.18.0.100
check "mx3's Postfix never saw a login from the attacker" logged_is 3 198.18.0.100 SASL 0
check "banned attacker cannot connect to mx3:587" cannot_connect 198.18.0.100 198.18.0.13 587
check "banned attacker cannot connect to mx3:25" cannot_connect 198.18.0.100 198.18.0.13 25
check "banned attacker cannot connect to mx3:465" cannot_connect 198.18.0.100 198.18.0.13 465
check "another attacker address still connects to mx3:587" can_connect 198.18.0.101 198.18.0.13 587
out=$(bc show 198.18.0.100 2>&1)
check "show: decided by rule:maxretry" has "$out" 'by rule:maxretry'
check "show: evidence from mx1 (2 auth_fail)" [ "$(evidence 198.18.0.100 mx1)" -eq 2 ]
check "show: evidence from mx2 (3 auth_fail)" [ "$(evidence 198.18.0.100 mx2)" -eq 3 ]
check "show: evidence carries Postfix's own log line" has "$out" "unknown\[198.18.0.100\]: $SASL_FAIL"

# --- 2. an auth backend failure is no attack -------------------------------
# Ten sessions from .102 on mx2: STARTTLS, EHLO (smtpd now holds a
# connection to Dovecot's auth worker), the worker is killed, AUTH LOGIN.
k=0
while [ $k -lt 10 ]; do
	k=$((k + 1))
	rm -f "$WORK/ready" "$WORK/go"
	ns att python3 "$E2E/authclient.py" --source 198.18.0.102 198.18.0.12 587 \
		--ready "$WORK/ready" --go "$WORK/go" >>"$WORK/authclient.out" 2>&1 &
	cpid=$!
	wait_for 10 [ -f "$WORK/ready" ] && auth_kill 2
	: >"$WORK/go"
	wait "$cpid" || break # cannot connect: .102 got banned
done
check "Postfix logged 'Connection lost to authentication server' for .102 10 times" \
	logged_is 2 198.18.0.102 "$LOST" 10
check "the client was told 454 4.7.0 (temporary failure)" grep -q '^AUTH 454 4.7.0' "$WORK/authclient.out"
check "no other SASL result for .102 (no real failure mixed in)" logged_is 2 198.18.0.102 "$SASL_FAIL" 0
guess 2 198.18.0.103 # sentinel: a real failure after them in mx2's log
check "a later real failure on mx2 reaches the coordinator" wait_for 5 events_ge 198.18.0.103 auth_fail 1
check "backend failures: no event for .102 at the coordinator" no_events 198.18.0.102
bc show 198.18.0.102 2>&1 | grep -E 'auth_|sender_|banned' | head -4 | cut -c1-220 | sed 's/^/#   show .102: /'
check "backend failures: .102 not banned by the fleet" none_in_set fleet4 198.18.0.102
check "backend failures: .102 not banned locally" none_in_set local4 198.18.0.102
check "backend failures: .102 still connects to mx3:587" can_connect 198.18.0.102 198.18.0.13 587

# --- 3. issue 5 ban test against the fleet (mx3), in parallel ---------------
# audit_ban SRC KIND ATTEMPTS [OPTS...]: results in $WORK/ban-KIND.{json,err,rc}
audit_ban() {
	_src=$1 _kind=$2 _n=$3
	shift 3
	ns att "$BIN/bancluster" audit smtp 198.18.0.13:587 --ban-test "$_kind" \
		--attempts "$_n" --source "$_src" --timeout 3 \
		--ca-file "$WORK/mx3/tls/cert.pem" --json "$@" \
		>"$WORK/ban-$_kind.json" 2>"$WORK/ban-$_kind.err"
	echo $? >"$WORK/ban-$_kind.rc"
}
# ban_field KIND FIELD: a field of the ban.KIND check (or the summary)
ban_field() {
	python3 - "$WORK/ban-$1.json" "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if sys.argv[3] == "exit_code":
    print(d["summary"]["exit_code"])
else:
    c = [c for c in d["checks"] if c["id"] == "ban." + sys.argv[2]][0]
    print(c[sys.argv[3]])
EOF
}
audit_ban 198.18.0.104 auth 8 &
a1=$!
audit_ban 198.18.0.105 sender 8 --user alice@lab.test --password-file "$WORK/pw" &
a2=$!
audit_ban 198.18.0.106 abort 12 &
a3=$!
wait $a1 $a2 $a3
for kind in auth sender abort; do
	detail=$(ban_field $kind detail 2>/dev/null)
	note "ban.$kind: $detail"
	check "ban.$kind on mx3:587 passes" [ "$(ban_field $kind result 2>/dev/null)/$(ban_field $kind port 2>/dev/null)" = pass/587 ]
	rc=$(cat "$WORK/ban-$kind.rc")
	check "audit --ban-test $kind exits 0, every check passed (rc $rc)" [ "$rc" = 0 ]
	check "audit --ban-test $kind: JSON summary.exit_code is the exit code" [ "$(ban_field $kind exit_code 2>/dev/null)" = "$rc" ]
	[ "$rc" = 0 ] || grep -o '{"id":"[^}]*"result":"\(fail\|warn\)"[^}]*}' "$WORK/ban-$kind.json" | head -5 | sed 's/^/#   /'
done
# the earliest attempt at which the ban can come: auth 5 (the audit's own
# cleartext AUTH probe adds 0.5), sender 3 (its spoof check already made
# 2), abort 9 (its probe made 1 abort); one more for a ban landing late
at() { ban_field "$1" detail 2>/dev/null | sed -n 's/.*at or before attempt \([0-9]*\) of.*/\1/p'; }
between() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
check "ban.auth: banned at attempt 5 or 6 ($(at auth))" between "$(at auth)" 5 6
check "ban.sender: banned at attempt 3 or 4 ($(at sender))" between "$(at sender)" 3 4
check "ban.abort: banned at attempt 9 or 10 ($(at abort))" between "$(at abort)" 9 10
for a in 104 105 106; do
	check "audit source 198.18.0.$a: banned in fleet4 of all three" all_in_set fleet4 "198.18.0.$a"
	check "audit source 198.18.0.$a: the coordinator decided it (rule:maxretry)" decided "198.18.0.$a"
done
check "sender offences reached Postfix as 'not owned by user'" logged_ge 3 198.18.0.105 \
	'reject: RCPT from unknown[198.18.0.105]: 553 5.7.1 <bancluster-spoof-probe@example.com>: Sender address rejected: not owned by user alice@lab.test' 3
check "abort offences reached Postfix as 'lost connection after AUTH'" logged_ge 3 198.18.0.106 \
	'lost connection after AUTH from unknown[198.18.0.106]' 9
check "show .105: sender_violation evidence" events_ge 198.18.0.105 sender_violation 5
check "show .106: auth_abort evidence" events_ge 198.18.0.106 auth_abort 10

note "runtime $(($(date +%s) - T0)) s"
fleet_done
