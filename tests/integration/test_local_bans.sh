#!/bin/sh
# test_local_bans.sh - every ban, one view (issue 14): an agent's local
# bans (its [local] policy, kernel sets local4/local6) are reported to
# the coordinator and seen and lifted from the CLI like fleet bans. A
# real coordinator and two agents in network namespaces with real
# nftables, driven as an admin would: `list --local` names the MX,
# `show` names it, `unban` takes the element out of that MX's local4
# within a second and clears the agent's window, --local-only and
# --fleet-only narrow it, an agent offline during the unban loses the
# ban when it reconnects, and after an agent or a coordinator restart
# `list --local` is complete again without anyone doing anything.
. "$(dirname "$0")/lib.sh"

fleet_init 2
# the coordinator's threshold out of reach: the bans here are local ones
sed -i 's/^maxretry = 5$/maxretry = 50/' "$WORK/coordinator.ini"
for i in 1 2; do
	printf '[local]\nmaxretry = 3\n' >>"$WORK/mx$i.ini"
done
printf '[agent]\nmetrics_file = state-mx1/mx1.prom\n' >>"$WORK/mx1.ini"
start_coord
start_agent 1
start_agent 2
check "two agents connect and sync" wait_for 10 agents_synced

# rep MX ADDR N: N auth_fail events handed to mxMX's agent
rep() { ns "mx$1" "$BIN/bancluster" report "$2" --kind auth_fail --count "$3" \
	--socket "$WORK/state-mx$1/agent.sock" >/dev/null 2>&1; }
# local_has MX ADDR: ADDR (a host) is an element of local4/local6 on mxMX
local_has() {
	case "$2" in *:*) s=local6 ;; *) s=local4 ;; esac
	ns "mx$1" nft list set inet bancluster "$s" >/dev/null 2>&1 || return 2
	in_set "$1" "$s" "$2"
}
local_gone() { ns "mx$1" nft list set inet bancluster local4 >/dev/null 2>&1 && ! local_has "$@"; }
# listed_local MX ADDR: `list --local` has a line for ADDR on mxMX
listed_local() { bc list --local 2>/dev/null | grep -Eq "^mx$1 +$2 "; }
u() {
	bc unban "$@" >"$WORK/u.out" 2>"$WORK/u.err"
	RC=$?
	OUT=$(cat "$WORK/u.out")
	ERR=$(cat "$WORK/u.err")
}
expect() { # NAME RC STDOUT-ERE STDERR
	if [ "$RC" = "$2" ] && printf '%s\n' "$OUT" | grep -Eqx -- "$3" &&
		[ "$ERR" = "$4" ]; then
		ok "$1"
	else
		notok "$1: exit $RC, stdout \"$OUT\", stderr \"$ERR\"; want exit $2, stdout /$3/, stderr \"$4\""
	fi
}

# ---- a local ban is seen: list --local, show, audit fleet ---------------
rep 1 198.51.100.20 3
check "mx1 bans 198.51.100.20 locally (local4)" wait_for 5 local_has 1 198.51.100.20
check "no fleet ban for it (3 events < maxretry 50)" none_in_set fleet4 198.51.100.20
check "list --local names mx1 and the address" wait_for 5 listed_local 1 198.51.100.20
bc list --local >"$WORK/ll.txt"
check "list --local: the reason and the event count" grep -Eq '^mx1 +198\.51\.100\.20 .* 3 +local policy: 3 events in [0-9]+s$' "$WORK/ll.txt"
check "list --local: mx2 holds nothing of it" sh -c "! grep -q '^mx2 ' $WORK/ll.txt"
check "list --local: the count line" grep -qx '1 local ban' "$WORK/ll.txt"
# both agents' lists: mx2 sends its (empty) one when the coordinator
# asks, within about 2 s of connecting
ll_json() {
	bc list --local --json >"$WORK/ll.json" &&
		python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
b = d["local_bans"]
assert len(b) == 1 and d["total"] == 1, d
assert b[0]["host"] == "mx1" and b[0]["address"] == "198.51.100.20", b
assert b[0]["events"] == 3 and b[0]["lift_pending"] is False and b[0]["permanent"] is False, b
assert 10700 < b[0]["remaining_s"] <= 10800, b
assert [a["reported"] for a in d["agents"]] == [True, True], d
' "$WORK/ll.json" 2>"$WORK/ll.err"
}
check "list --local --json: host, address, events, lift_pending" wait_for 5 ll_json
if [ -s "$WORK/ll.err" ]; then note "$(tail -n 1 "$WORK/ll.err")"; fi
bc show 198.51.100.20 >"$WORK/show.txt"
check "show names the MX that holds it" grep -Eq '^  banned locally on mx1: 198\.51\.100\.20 until .* left\), 3 events$' "$WORK/show.txt"
check "show: not 'not banned'" sh -c "! grep -q 'not banned' $WORK/show.txt"
bc show 198.51.100.20 --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [(x["host"], x["address"]) for x in d["local_bans"]] == [("mx1", "198.51.100.20")], d
'
verdict "show --json: local_bans names mx1"
bc audit fleet >"$WORK/audit.txt"
check "audit fleet: all in sync, and says there is a local ban" sh -c \
	"grep -qx 'all agents in sync' $WORK/audit.txt && grep -qx 'local bans: 1 on 1 agent' $WORK/audit.txt"
check "audit fleet: mx1's LOCAL column is 1" grep -Eq '^mx1 +in_sync +[0-9:]+ +[0-9]+ +[0-9]+ +[0-9]+ +1 ' "$WORK/audit.txt"

# ---- unban lifts it on mx1 at once, and clears mx1's window -------------
rep 1 198.51.100.20 2 # two more while banned: still counted by mx1
u 198.51.100.20
expect "unban of a local ban: exit 0, names the MX" 0 \
	"unbanned locally: 198\.51\.100\.20 on mx1" ""
check "the element left mx1's local4 within a second" wait_for 1 local_gone 1 198.51.100.20
check "list --local no longer shows it" wait_for 3 sh -c "! ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list --local | grep -q '198.51.100.20'"
check "the coordinator logged the lift with the admin's name" grep -q 'unban local 198.51.100.20 on mx1 by admin admin: lift sent' "$WORK/coordinator.log"
check "mx1 logged it" grep -q 'local ban 198.51.100.20 lifted by admin admin' "$WORK/mx1.log"
rep 1 198.51.100.20 1
sleep 1
check "one more event after the lift does not ban it again (window cleared)" local_gone 1 198.51.100.20
u 198.51.100.20
expect "unban again: not banned" 1 "" "bancluster: 198.51.100.20: not banned"

# ---- --local-only leaves the fleet ban, --fleet-only the local one ------
bc ban 203.0.113.5 --for 1h >/dev/null
rep 2 203.0.113.5 3
check "203.0.113.5: fleet ban on both, local on mx2" wait_for 5 sh -c \
	"ip netns exec $NSP-mx2 nft get element inet bancluster local4 '{ 203.0.113.5 }' >/dev/null 2>&1 &&
	ip netns exec $NSP-mx1 nft get element inet bancluster fleet4 '{ 203.0.113.5 }' >/dev/null 2>&1"
check "list --local shows it on mx2" wait_for 5 listed_local 2 203.0.113.5
u --local-only 203.0.113.5
expect "unban --local-only: only the local ban" 0 "unbanned locally: 203\.0\.113\.5 on mx2" ""
check "--local-only: gone from mx2's local4" wait_for 1 local_gone 2 203.0.113.5
check "--local-only: the fleet ban stays in both kernels" all_in_set fleet4 203.0.113.5
check "--local-only: list still shows the fleet ban" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list | grep -q '^203.0.113.5 '"
u --local-only 203.0.113.5
expect "unban --local-only of an address with a fleet ban only: refused" 1 "" \
	"bancluster: 203.0.113.5: not banned locally on any MX"
rep 1 203.0.113.5 3
check "local ban of 203.0.113.5 on mx1 listed" wait_for 5 listed_local 1 203.0.113.5
u --fleet-only 203.0.113.5
expect "unban --fleet-only: the fleet ban alone" 0 "unbanned 203\.0\.113\.5 \(seq [0-9]+\)" ""
check "--fleet-only: the fleet ban left both kernels" wait_for 3 none_in_set fleet4 203.0.113.5
check "--fleet-only: the local ban stays on mx1" local_has 1 203.0.113.5
u 203.0.113.5
expect "then a plain unban lifts the local one" 0 "unbanned locally: 203\.0\.113\.5 on mx1" ""
check "and it left mx1's local4" wait_for 1 local_gone 1 203.0.113.5
u --fleet-only --local-only 203.0.113.5
[ "$RC" = 64 ] && printf '%s\n' "$ERR" | grep -q 'exclude each other'
verdict "--fleet-only with --local-only: exit 64"

# ---- fleet and local at once -------------------------------------------
bc ban 203.0.113.7 --for 1h >/dev/null
rep 2 203.0.113.7 3
check "203.0.113.7 listed locally on mx2" wait_for 5 listed_local 2 203.0.113.7
u 203.0.113.7
expect "unban of an address banned fleet-wide and locally: both named" 0 \
	"unbanned 203\.0\.113\.7 \(seq [0-9]+\); locally: 203\.0\.113\.7 on mx2" ""
check "both gone from the kernels" wait_for 3 sh -c \
	"! ip netns exec $NSP-mx2 nft get element inet bancluster local4 '{ 203.0.113.7 }' >/dev/null 2>&1 &&
	! ip netns exec $NSP-mx2 nft get element inet bancluster fleet4 '{ 203.0.113.7 }' >/dev/null 2>&1"

# ---- a local IPv6 /64: the covering rule ---------------------------------
rep 1 2001:db8:5::7 3
check "mx1 bans the /64 of 2001:db8:5::7 locally (local6_nets)" wait_for 5 in_set 1 local6 2001:db8:5::/64
check "list --local shows the /64 on mx1" wait_for 5 listed_local 1 2001:db8:5::/64
u 2001:db8:5::7
expect "unban of a host inside a local /64: refused, the MX named" 1 "" \
	"bancluster: 2001:db8:5::7 is not banned itself; it is inside 2001:db8:5::/64 (local ban on mx1): use --covering to lift that ban"
check "after the refused unban the /64 stays" in_set 1 local6 2001:db8:5::/64
u --covering 2001:db8:5::7
expect "unban --covering lifts the local /64" 0 "unbanned locally: 2001:db8:5::/64 on mx1" ""
check "the /64 left mx1's local6_nets" wait_for 1 sh -c "! ip netns exec $NSP-mx1 nft get element inet bancluster local6_nets '{ 2001:db8:5::/64 }' >/dev/null 2>&1"

# ---- an agent offline during the unban ---------------------------------
rep 2 198.51.100.30 3
check "198.51.100.30 listed locally on mx2" wait_for 5 listed_local 2 198.51.100.30
kill "$AGENT_PID_2"
wait "$AGENT_PID_2" 2>/dev/null
check "mx2 offline for the coordinator" wait_for 10 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini status | grep -q '^mx2 *offline'"
u 198.51.100.30
expect "unban while mx2 is offline: says it is lifted when mx2 reconnects" 0 \
	"unbanned locally: 198\.51\.100\.30 on mx2 \(offline: lifted when it reconnects\)" ""
check "list --local marks the lift pending" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list --local | grep -Eq '^mx2 +198\.51\.100\.30 .*\[lift pending\]$'"
bc audit fleet >"$WORK/audit2.txt"
check "audit fleet names the lift not yet applied" grep -q 'local lift not yet applied (mx2)' "$WORK/audit2.txt"
check "the kernel of mx2 still holds it (nobody there to lift it)" local_has 2 198.51.100.30
start_agent 2
check "mx2 back: the element leaves its local4" wait_for 10 local_gone 2 198.51.100.30
check "list --local: gone, nothing pending" wait_for 5 sh -c "! ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list --local | grep -q '198.51.100.30'"
check "audit fleet: no lift pending any more" wait_for 5 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini audit fleet | grep -qx 'local bans: 0 on 0 agents'"

# ---- restarts: the view is complete again by itself ----------------------
rep 1 198.51.100.40 3
rep 2 198.51.100.41 3
check "two local bans listed" wait_for 5 sh -c "listed_local() { ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list --local | grep -Eq \"^mx\$1 +\$2 \"; }; listed_local 1 198.51.100.40 && listed_local 2 198.51.100.41"
rep 1 2001:db8:6::1 3
check "and a local /64 on mx1" wait_for 5 listed_local 1 2001:db8:6::/64
kill -HUP "$COORD_PID"
sleep 0.5
check "coordinator reload (SIGHUP): the local lists stay" sh -c \
	"ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list --local >$WORK/ll1.txt &&
	grep -Eq '^mx1 +198\.51\.100\.40 ' $WORK/ll1.txt && grep -Eq '^mx2 +198\.51\.100\.41 ' $WORK/ll1.txt &&
	grep -qx '3 local bans' $WORK/ll1.txt"
kill "$AGENT_PID_1"
wait "$AGENT_PID_1" 2>/dev/null
start_agent 1
check "agent restart: mx1 reads its 2 local bans back from the kernel" wait_for 10 grep -q 'local bans: 2 found in the kernel' "$WORK/mx1.log"
check "agent restart: list --local shows them again" wait_for 10 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list --local >$WORK/ll3.txt &&
	grep -Eq '^mx1 +198\.51\.100\.40 .*found in the kernel at agent start$' $WORK/ll3.txt &&
	grep -Eq '^mx1 +2001:db8:6::/64 .*found in the kernel at agent start$' $WORK/ll3.txt"
kill "$COORD_PID"
wait "$COORD_PID" 2>/dev/null
start_coord
check "coordinator restart: list --local complete again" wait_for 15 sh -c \
	"ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list --local >$WORK/ll2.txt 2>/dev/null &&
	grep -Eq '^mx1 +198\.51\.100\.40 ' $WORK/ll2.txt && grep -Eq '^mx2 +198\.51\.100\.41 ' $WORK/ll2.txt &&
	grep -qx '3 local bans' $WORK/ll2.txt"
u 198.51.100.40
expect "after the restarts the ban is still liftable" 0 "unbanned locally: 198\.51\.100\.40 on mx1" ""
check "and leaves mx1's local4" wait_for 1 local_gone 1 198.51.100.40
check "mx1's metrics: 1 local ban held (the /64), 1 lifted since its restart" wait_for 12 sh -c \
	"grep -qx 'bancluster_agent_local_bans 1' $WORK/state-mx1/mx1.prom &&
	grep -qx 'bancluster_agent_local_lifts_total 1' $WORK/state-mx1/mx1.prom"
check "every agent in sync with the coordinator at the end" wait_for 10 agents_synced
fleet_done
