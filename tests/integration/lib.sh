# lib.sh - shared set-up for integration tests and the demo: a fleet of
# network namespaces joined by a bridge, fresh keys and configs, and the
# daemons started by hand. Sourced by tests/integration/test_*.sh and
# tests/demo.sh. Every namespace and process made here is removed by
# fleet_cleanup (installed as an EXIT trap by fleet_init).
#
# Addresses (DESIGN.md "Test hosts"): 198.18.0.0/15 and fd00::/48.
#   coordinator 198.18.0.1   fd00::1
#   mxN         198.18.0.1N  fd00::1N
#   attacker    198.18.0.100 fd00::100, plus extra addresses on request

: "${B:=build}"
TOP=$(cd "$(dirname "$0")/../.." 2>/dev/null && pwd)
[ -x "$TOP/$B/bancluster" ] || TOP=$(pwd)
BIN="$TOP/$B"
NSP=${NSP:-bct}
PASS=0
FAIL=0
PIDS=""

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
check() { # check NAME CMD...: ok when CMD succeeds
	name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}
verdict() { # CMD1 && CMD2; verdict NAME: ok when that whole list succeeded
	if [ "$?" -eq 0 ]; then ok "$1"; else notok "$1"; fi
}
note() { echo "# $*"; }

fleet_cleanup() {
	if [ "$FAIL" -gt 0 ] && [ -n "${WORK:-}" ]; then
		for f in "$WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- tail of $(basename "$f")"
			tail -15 "$f" | sed 's/^/#   /'
		done
	fi
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	for _nn in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NSP-"); do
		ip netns pids "$_nn" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$_nn" 2>/dev/null
	done
	[ -n "${WORK:-}" ] && [ -z "${KEEP:-}" ] && rm -rf "$WORK"
}

# ns NAME CMD...: run in namespace NAME
ns() {
	_ns=$1
	shift
	ip netns exec "$NSP-$_ns" "$@"
}

# host_add NAME V4 V6: a namespace with one veth on the bridge
host_add() {
	name=$1 v4=$2 v6=$3
	ip netns add "$NSP-$name"
	ip link add "${NSP}v$name" type veth peer name eth0 netns "$NSP-$name"
	ip link set "${NSP}v$name" netns "$NSP-br"
	ns br ip link set "${NSP}v$name" master br0 up
	ns "$name" ip link set lo up
	ns "$name" ip link set eth0 up
	ns "$name" ip addr add "$v4/15" dev eth0
	ns "$name" ip -6 addr add "$v6/48" dev eth0 nodad
}

# fleet_init N: bridge, coordinator, N MX namespaces and the attacker;
# keys and config files in $WORK.
fleet_init() {
	_n=$1
	trap fleet_cleanup EXIT
	trap 'exit 1' INT TERM
	fleet_cleanup
	WORK=$(mktemp -d /tmp/bc-fleet.XXXXXX)
	chmod 755 "$WORK" # the agents' unprivileged processes read their logs here
	ip netns add "$NSP-br"
	ns br ip link add br0 type bridge
	ns br ip link set br0 up
	ns br ip link set lo up
	host_add coord 198.18.0.1 fd00::1
	i=1
	while [ "$i" -le "$_n" ]; do
		host_add "mx$i" "198.18.0.1$i" "fd00::1$i"
		i=$((i + 1))
	done
	host_add att 198.18.0.100 fd00::100
	MXN=$_n
	mkdir -p "$WORK/agents.d" "$WORK/admins.d"
	"$BIN/bancluster" keygen --out "$WORK/coordinator" >/dev/null
	"$BIN/bancluster" keygen --out "$WORK/admin" >/dev/null
	cp "$WORK/admin.pub" "$WORK/admins.d/admin.pub"
	cat >"$WORK/coordinator.ini" <<INI
[coordinator]
listen      = tcp://198.18.0.1:7710
publish     = tcp://198.18.0.1:7711
key         = coordinator.key
agents_dir  = agents.d
admins_dir  = admins.d
database    = coordinator.db
[policy]
maxretry = 5
INI
	cat >"$WORK/cli.ini" <<INI
[cli]
coordinator     = tcp://198.18.0.1:7710
key             = admin.key
coordinator_key = coordinator.pub
timeout         = 3s
INI
	i=1
	while [ "$i" -le "$_n" ]; do
		"$BIN/bancluster" keygen --out "$WORK/mx$i" >/dev/null
		cp "$WORK/mx$i.pub" "$WORK/agents.d/mx$i.pub"
		mkdir -p "$WORK/state-mx$i"
		cat >"$WORK/mx$i.ini" <<INI
[agent]
id              = mx$i
coordinator     = tcp://198.18.0.1:7710
updates         = tcp://198.18.0.1:7711
key             = mx$i.key
coordinator_key = coordinator.pub
state_dir       = state-mx$i
user            = ${AGENT_USER-nobody}
[firewall]
ports = ${AGENT_PORTS:-25, 465, 587}
INI
		i=$((i + 1))
	done
}

# start_coord: coordinator in its namespace, pid in COORD_PID
start_coord() {
	# not through ns(): a backgrounded function would be a subshell and
	# $! its pid; ip netns exec execs the daemon in place
	ip netns exec "$NSP-coord" "$BIN/bancluster-coordinator" \
		-c "$WORK/coordinator.ini" >>"$WORK/coordinator.log" 2>&1 &
	COORD_PID=$!
	PIDS="$PIDS $COORD_PID"
}

# start_agent N: agent of mxN, pid in AGENT_PID_N
start_agent() {
	ip netns exec "$NSP-mx$1" "$BIN/bancluster-agent" -c "$WORK/mx$1.ini" \
		>>"$WORK/mx$1.log" 2>&1 &
	eval "AGENT_PID_$1=$!"
	PIDS="$PIDS $!"
}

# start_listeners: a TCP listener on port 25 (v4 and v6) of every MX
start_listeners() {
	i=1
	while [ "$i" -le "$MXN" ]; do
		ip netns exec "$NSP-mx$i" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1]))); s.listen(128)
while True:
    c, a = s.accept(); c.close()
' 25 >/dev/null 2>&1 &
		PIDS="$PIDS $!"
		i=$((i + 1))
	done
	# each must be bound before a test asks "reaches mxN before the ban":
	# five Pythons starting at once on a loaded machine take seconds
	i=1
	while [ "$i" -le "$MXN" ]; do
		wait_for 10 sh -c "ip netns exec $NSP-mx$i ss -ltnH 'sport = :25' | grep -q ." ||
			note "mx$i: nothing listens on port 25 after 10 s"
		i=$((i + 1))
	done
}

bc() { ns coord "$BIN/bancluster" -c "$WORK/cli.ini" "$@"; }

# can_connect SRC DST [PORT]: TCP connect from the attacker namespace
can_connect() {
	ns att nc -z -w 1 -s "$1" "$2" "${3:-25}" 2>/dev/null
}

cannot_connect() { ! can_connect "$@"; }

# att_addr ADDR: extra source address on the attacker
att_addr() {
	case "$1" in
	*:*) ns att ip -6 addr add "$1/48" dev eth0 nodad ;;
	*) ns att ip addr add "$1/15" dev eth0 ;;
	esac
}

# in_set MX SET ADDR[/LEN]: an element of SET or SET_nets covers ADDR (the
# kernel answers the lookup). SET (fleet4, local6, ...) is the hash set of
# single addresses, SET_nets the interval set of wider ranges, so an
# address is looked up in both and a prefix in SET_nets (nested bans may
# split a prefix into ranges there).
in_set() {
	case "$3" in
	*/*) ;;
	*) ns "mx$1" nft get element inet bancluster "$2" "{ $3 }" \
		>/dev/null 2>&1 && return 0 ;;
	esac
	ns "mx$1" nft get element inet bancluster "${2}_nets" "{ $3 }" \
		>/dev/null 2>&1
}

# set_text MX SET: `nft list set` of SET, then of SET_nets; fails if
# either is missing
set_text() {
	ns "mx$1" nft list set inet bancluster "$2" &&
		ns "mx$1" nft list set inet bancluster "${2}_nets"
}

# wait_for SECONDS CMD...: poll every 0.1 s until CMD succeeds
wait_for() {
	_t=$(($1 * 10))
	shift
	while [ "$_t" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_t=$((_t - 1))
	done
	return 1
}

# all_in_set SET ADDR: on every MX
all_in_set() {
	_i=1
	while [ "$_i" -le "$MXN" ]; do
		in_set "$_i" "$1" "$2" || return 1
		_i=$((_i + 1))
	done
}
# none_in_set SET ADDR: on no MX; SET and SET_nets must both be there to
# be asked (a missing table or a dead agent is not "not banned")
none_in_set() {
	_i=1
	while [ "$_i" -le "$MXN" ]; do
		set_text "$_i" "$1" >/dev/null 2>&1 || return 1
		in_set "$_i" "$1" "$2" && return 1
		_i=$((_i + 1))
	done
	return 0
}

# agents_synced: status shows every agent in_sync
agents_synced() {
	[ "$(bc status 2>/dev/null | grep -c ' in_sync ')" -eq "$MXN" ]
}

# stop_all: SIGTERM every process started here and wait for them, so
# sanitizer builds write their reports; then any report is a failure.
stop_all() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=""
	if grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
		"$WORK"/*.log >/dev/null 2>&1; then
		notok "sanitizer reports in daemon logs"
		grep -hE -A12 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
			"$WORK"/*.log | head -60 | sed 's/^/#   /'
	else
		ok "daemons stopped cleanly, no sanitizer report"
	fi
}

# mail_logs: every agent tails $WORK/mxN-mail.log (Postfix format)
mail_logs() {
	_i=1
	while [ "$_i" -le "$MXN" ]; do
		: >"$WORK/mx$_i-mail.log"
		cat >>"$WORK/mx$_i.ini" <<INI
[source.mail]
type = file
path = mx$_i-mail.log
format = postfix
INI
		_i=$((_i + 1))
	done
}

# fail MX ADDR: one SASL failure from ADDR in mxN's log, as Postfix
# writes it (a new smtpd pid each time: one attempt per session)
LOGPID=1000
fail() {
	LOGPID=$((LOGPID + 1))
	printf '%s mx%s postfix/submission/smtpd[%s]: warning: unknown[%s]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n' \
		"$(date '+%b %e %H:%M:%S')" "$1" "$LOGPID" "$2" >>"$WORK/mx$1-mail.log"
}

# events_of [N...]: events the coordinator counted from mxN (sum), as
# `status --json` reports them (persisted across coordinator restarts)
events_of() {
	for _try in 1 2 3; do
		_ev=$(bc status --json 2>/dev/null | python3 -c '
import json, sys
want = {"mx" + n for n in sys.argv[1:]}
print(sum(a["events"] for a in json.load(sys.stdin)["agents"] if a["id"] in want))' "$@" 2>/dev/null) &&
			[ -n "$_ev" ] && { echo "$_ev"; return 0; }
		sleep 0.5
	done
	echo "status-failed"
	return 1
}

# kernel_timeout MX SET ADDR: seconds left on the element holding ADDR
# (in SET or SET_nets)
kernel_timeout() {
	{ ns "mx$1" nft -j list set inet bancluster "$2"; echo
	  ns "mx$1" nft -j list set inet bancluster "${2}_nets"; } | python3 -c '
import json, sys
want = sys.argv[1]
objs = [o for line in sys.stdin if line.strip()
        for o in json.loads(line)["nftables"]]
for o in objs:
    for e in o.get("set", {}).get("elem", []):
        el = e.get("elem", {})
        v = el.get("val")
        if v == want or (isinstance(v, dict) and "%s/%s" % (v.get("prefix", {}).get("addr"), v.get("prefix", {}).get("len")) == want):
            print(el.get("timeout", 0))' "$3"
}

fleet_done() {
	stop_all
	echo "# $PASS passed, $FAIL failed (fleet logs: $WORK)"
	[ "$FAIL" -eq 0 ]
}
