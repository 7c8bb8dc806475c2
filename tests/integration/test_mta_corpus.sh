#!/bin/sh
# test_mta_corpus.sh - the parsers against lines written by REAL mail
# servers (issue 3, "Tests": the real-MTA corpus and log injection).
#
# Postfix 3.7 + Dovecot SASL (submission 587 with STARTTLS,
# smtpd_tls_auth_only, reject_sender_login_mismatch; lab.sh's hardened
# settings), Exim 4.96 and Sendmail 8.17 run in the server namespace
# bcm-srv-$$; clients run in bcm-cli-$$. Every case connects from its OWN
# source address, so the per-address counts of
#     $B/bancluster replay --format FMT LOG --json
# can be compared exactly with what was driven (mta/check.py): auth_fail
# for wrong passwords and unknown users, sender_violation for a forged
# sender after a good login and for relay attempts, auth_abort for AUTH
# dropped half-way, auth_success for good logins, nothing for plain
# inbound mail. Log-injection cases carry IP-looking text and fake log
# phrases (unknown[203.0.113.9], rip=203.0.113.9, relay=[203.0.113.9],
# "authentication failed"), brackets, quotes, control bytes and over-long
# text in usernames, HELO names, sender/recipient addresses and raw SMTP
# commands: no address but the connecting one may get an event, and
# 203.0.113.9 (nobody's address) must never appear.
#
# Exim and Sendmail conflict with Postfix as Debian packages: their .debs
# (EXIM_DEBS and SM_DEBS below: with the libraries deploy/deps.sh does not
# install) are taken from BC_DEB_CACHE (default
# /var/cache/bancluster-test/debs, filled by `make deps`) or else fetched
# with `apt-get download`, unpacked with `dpkg -x` into $W/pkg, and each
# daemon runs in a private mount namespace (unshare --mount --uts) with a
# read-only overlay of its generated config over /etc; the real /etc is
# never modified. Sendmail logs only through syslog(3): its namespace gets
# a private /dev whose /dev/log is served by mta/syslogd.py. If a package
# is neither in the cache (`make deps` fills it) nor downloadable, that
# MTA fails: its detection is never left unchecked.
#
# Besides the cases of every kind, each of Exim and Sendmail also runs a
# sender-ownership ACL written the way a site writes it (docs/sender-acl.md):
# a forged MAIL FROM after AUTH and a local sender without AUTH must each
# give sender_violation for the client, the user's own address nothing
# but its login.
#
# MTAS="postfix exim sendmail" (the default) picks the servers to run.
# The logs are kept in $W (KEEP=1 keeps $W); SAVE_CORPUS=DIR copies them
# to DIR (used to make tests/corpus/real/).
# Root only: B=build sh tests/integration/test_mta_corpus.sh (~60 s).
set -u
: "${B:=build}"
: "${BC_DEB_CACHE:=/var/cache/bancluster-test/debs}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$TOP/$B
MTA=$TOP/tests/integration/mta
LAB_DIR=$TOP/tests/integration/audit
# shellcheck source=tests/integration/audit/lab.sh
. "$LAB_DIR/lab.sh"
# shellcheck disable=SC2034 # read by lab.sh
LAB_SRV=bcm-srv-$$
# shellcheck disable=SC2034
LAB_CLI=bcm-cli-$$
PASS=0
FAIL=0
PIDS=""
T0=$(date +%s)

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
note() { echo "# $*"; }

cleanup() {
	if [ -n "${LAB:-}" ] && [ -f "$LAB/pf/etc/main.cf" ]; then
		in_srv postfix -c "$LAB/pf/etc" stop >/dev/null 2>&1
	fi
	for p in $LAB_PIDS $PIDS; do kill "$p" 2>/dev/null; done
	if [ -n "${LAB:-}" ] && [ -f "$LAB/pf/spool/pid/master.pid" ]; then
		kill "$(tr -d ' ' <"$LAB/pf/spool/pid/master.pid")" 2>/dev/null
	fi
	sleep 0.3
	# whatever is left in our namespaces (Exim and Sendmail children)
	for n in "$LAB_SRV" "$LAB_CLI"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	[ -n "${W:-}" ] && [ "${KEEP:-}" != 1 ] && rm -rf "$W"
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for c in postfix dovecot swaks openssl python3 apt-get dpkg unshare; do
	command -v "$c" >/dev/null 2>&1 || { notok "prerequisite $c installed"; exit 1; }
done
[ -x "$BIN/bancluster" ] || { notok "$BIN/bancluster built"; exit 1; }

W=$(mktemp -d /tmp/bcm.XXXXXX) || exit 1
chmod 0755 "$W" # the MTAs drop privileges inside it
LAB=$W/lab
mkdir -p "$LAB"

# --- network: server 198.18.0.2 (Postfix) .3 (Exim) .5 (Exim, more log
# selectors) .4 (Sendmail) .6 (Sendmail, LogLevel 14); clients 198.18.1.x
# (Postfix), 198.18.2.x (Exim), 198.18.4.x (Exim +selectors), 198.18.3.x
# (Sendmail), 198.18.5.x (Sendmail LogLevel 14). The sites' sender ACLs:
# server .7 .8 .9 (Exim: default, +selectors, at RCPT), .10 .11 (Sendmail:
# LogLevel 9, 14); clients 198.18.6.x .7.x .8.x (Exim), .9.x .10.x (Sendmail)
net_up() {
	ip netns add "$LAB_SRV" || return 1
	ip netns add "$LAB_CLI" || return 1
	ip -n "$LAB_SRV" link add vs type veth peer name vc netns "$LAB_CLI" || return 1
	ip -n "$LAB_SRV" link set lo up || return 1
	ip -n "$LAB_CLI" link set lo up || return 1
	for a in 2 3 4 5 6 7 8 9 10 11; do
		ip -n "$LAB_SRV" addr add "198.18.0.$a/16" dev vs || return 1
	done
	ip -n "$LAB_CLI" addr add 198.18.0.1/16 dev vc || return 1
	ip -n "$LAB_SRV" link set vs up || return 1
	ip -n "$LAB_CLI" link set vc up
}
net_up || { notok "namespaces $LAB_SRV / $LAB_CLI"; exit 1; }
lab_cert || { notok "test certificate (openssl)"; exit 1; }

# --- case helpers ------------------------------------------------------------
# tc NAME ADDR EXPECT DESC: a new case of log NAME from source ADDR (added to
# the client namespace, kept in $S); EXPECT is what check.py wants for ADDR
# ("auth_fail=1 ...", "" for nothing).
tc() {
	S=$2
	echo "$S $3 # $4" >>"$W/$1.expect"
	ip -n "$LAB_CLI" addr add "$S/16" dev vc 2>/dev/null
	echo "=== $S $4" >>"$W/client.out"
}
# tl ERE: the MTA itself must log, for the current case, a line holding
# [$S] and matching ERE (checked by `logged`): what the server did, apart
# from what the parser makes of it
tl() { printf '%s\t%s\n' "$S" "$1" >>"$W/$n.logged"; }
# logged NAME LOG: every tl of NAME found in LOG
logged() {
	[ -f "$W/$1.logged" ] || return 0
	while IFS='	' read -r _a _re; do
		if grep -F "[$_a]" "$2" | grep -Eq -- "$_re"; then
			ok "$1: the MTA logged for $_a: $_re"
		else
			notok "$1: the MTA logged for $_a: $_re (got: $(grep -F "[$_a]" "$2" | tail -1 | cut -c1-300))"
		fi
	done <"$W/$1.logged"
}
# sw ARGS...: swaks from $S
sw() {
	ip netns exec "$LAB_CLI" swaks --local-interface "$S" --timeout 10 \
		--helo client.lab.example "$@" >>"$W/client.out" 2>&1
}
# swsub ARGS...: swaks to submission ($E:587) with STARTTLS
swsub() { sw --server "$E" --port 587 --tls "$@"; }
# rc HOST PORT STEP...: the raw client (mta/smtpc.py) from $S
rc() {
	_h=$1 _p=$2
	shift 2
	ip netns exec "$LAB_CLI" python3 "$MTA/smtpc.py" --source "$S" "$_h" "$_p" "$@" \
		>>"$W/client.out" 2>&1
}
# wait_port ADDR PORT: until it accepts connections from the client (10 s)
wait_port() {
	_i=0
	while [ $_i -lt 50 ]; do
		ip netns exec "$LAB_CLI" python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1)' \
			"$1" "$2" 2>/dev/null && return 0
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}
# settle FILE: wait until FILE stops growing (the MTA wrote its last line)
settle() {
	_prev=-1
	_i=0
	while [ $_i -lt 30 ]; do
		_n=$(wc -c <"$1" 2>/dev/null || echo 0)
		[ "$_n" = "$_prev" ] && return 0
		_prev=$_n
		sleep 0.5
		_i=$((_i + 1))
	done
}
# verify NAME FORMAT LOG: replay LOG, compare with $W/NAME.expect
verify() {
	if [ ! -f "$3" ]; then
		notok "$1: the MTA wrote a log ($3)"
		return
	fi
	echo "never 203.0.113.9 # the address in every injected text" >>"$W/$1.expect"
	"$BIN/bancluster" replay --format "$2" "$3" --json >"$W/$1.json" 2>"$W/$1.err"
	_rc=$?
	if [ $_rc -ne 0 ]; then
		notok "$1: replay --format $2 exits 0 (rc $_rc: $(head -1 "$W/$1.err"))"
		return
	fi
	python3 "$MTA/check.py" "$1" "$W/$1.json" "$W/$1.expect" >"$W/$1.check" 2>&1
	_rc=$?
	cat "$W/$1.check"
	PASS=$((PASS + $(grep -c '^ok - ' "$W/$1.check")))
	FAIL=$((FAIL + $(grep -c '^not ok - ' "$W/$1.check")))
	# a checker that died (a traceback) printed no "not ok": its status says
	if [ $_rc -ne 0 ] && ! grep -q '^not ok - ' "$W/$1.check"; then
		notok "$1: check.py exits 0 (rc $_rc)"
	fi
	if [ -n "${SAVE_CORPUS:-}" ]; then
		mkdir -p "$SAVE_CORPUS"
		cp "$3" "$SAVE_CORPUS/$1.log"
		cp "$W/$1.expect" "$SAVE_CORPUS/$1.cases"
	fi
}

# pkg_fetch DIR PKG...: the .debs of PKG... unpacked with `dpkg -x` into
# DIR/root (nothing is installed). Each PKG is taken from $BC_DEB_CACHE
# (PKG_*_ARCH.deb or PKG_*_all.deb, the newest version; `make deps` fills
# it) when it is there, the others with `apt-get download` into DIR/deb;
# when that fails for another reason than the network, one `apt-get
# update` is tried (stale lists). PKG_FROM says where they came from.
pkg_fetch() {
	_d=$1
	shift
	mkdir -p "$_d/deb" "$_d/root"
	_arch=$(dpkg --print-architecture)
	_debs="" _miss="" _hit=0
	for _p in "$@"; do
		_f=$(for _c in "$BC_DEB_CACHE/${_p}_"*"_$_arch.deb" "$BC_DEB_CACHE/${_p}_"*_all.deb; do
			[ -f "$_c" ] && echo "$_c"
		done | sort -V | tail -1)
		if [ -n "$_f" ]; then
			_debs="$_debs $_f"
			_hit=$((_hit + 1))
		else
			_miss="$_miss $_p"
		fi
	done
	PKG_FROM="$_hit of $# from $BC_DEB_CACHE" PKG_MISS=$_miss
	if [ -n "$_miss" ]; then
		PKG_FROM="$PKG_FROM, apt-get download$_miss"
		echo "# apt-get download$_miss" >>"$W/apt.out"
		# shellcheck disable=SC2086 # one word per package
		if ! (cd "$_d/deb" && apt-get download $_miss) >"$W/apt.try" 2>&1; then
			cat "$W/apt.try" >>"$W/apt.out"
			grep -Eq 'Temporary failure resolving|Could not connect|unreachable' "$W/apt.try" &&
				return 1
			apt-get update -qq >>"$W/apt.out" 2>&1
			# shellcheck disable=SC2086
			(cd "$_d/deb" && apt-get download $_miss) >>"$W/apt.out" 2>&1 || return 1
		fi
		_debs="$_debs $(ls "$_d"/deb/*.deb)"
	fi
	for _f in $_debs; do
		dpkg -x "$_f" "$_d/root" || return 1
	done
}
# pkg_unavailable MTA PKGS: pkg_fetch failed. `make test` runs `make
# deps` first, which fills BC_DEB_CACHE: an MTA that cannot be unpacked
# is a failure, never a skip (its detection would go unchecked).
pkg_unavailable() {
	notok "$1: .debs in $BC_DEB_CACHE (make deps), or downloadable: missing$PKG_MISS ($(tail -1 "$W/apt.out"))"
}

# etc_with_user DIR USER UID: DIR/passwd and DIR/group = the real ones plus
# USER (uid = gid = UID), for an overlay over /etc
etc_with_user() {
	mkdir -p "$1"
	{ cat /etc/passwd; echo "$2:x:$3:$3::/nonexistent:/usr/sbin/nologin"; } >"$1/passwd"
	{ cat /etc/group; echo "$2:x:$3:"; } >"$1/group"
}

# Injected text: fake log phrases around an address nobody connects from.
X=203.0.113.9
FAKE_PF="unknown[$X]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"
FAKE_ALL="unknown[$X] rip=$X, relay=[$X] H=([$X]) [$X] authentication failed"
LONG=$(python3 -c "print(('relay=[$X] unknown[$X] rip=$X ' * 120)[:3000])")

# shellcheck source=tests/integration/mta/postfix.sh
. "$MTA/postfix.sh"
# shellcheck source=tests/integration/mta/exim.sh
. "$MTA/exim.sh"
# shellcheck source=tests/integration/mta/sendmail.sh
. "$MTA/sendmail.sh"

# MTAS="exim" runs only some of them (while working on one)
for m in ${MTAS:-postfix exim sendmail}; do
	"${m}_run"
done

note "runtime $(($(date +%s) - T0)) s (logs in $W${KEEP:+, kept})"
echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
