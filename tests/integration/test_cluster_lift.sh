#!/bin/sh
# test_cluster_lift.sh - an admin's lift of a local ban in cluster mode
# (docs/ha.md): three coordinators on etcd, two MX with real nftables and
# a local policy (maxretry 3; the fleet's is out of reach). mx2 bans an
# address locally and goes offline; `unban` through c1 takes the lift
# (the agent is away: lifted when it reconnects) and c1 is killed with
# -9 before mx2 is back. The lift is in etcd (PREFIX/lift/mx2/...): c2
# and c3 hold it pending (list --local says so), send it when mx2
# reconnects, and the element leaves mx2's kernel; nothing is pending
# afterwards. c1, started again, reads the lift back and drops it once
# mx2's list no longer holds the ban. A malformed lift in etcd is logged
# and changes nothing. Skips when /usr/bin/etcd is missing. Env: B, NSP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/cluster.sh"

cluster_need_etcd
CLUSTER_MAXRETRY=50 cluster_init 2 || { notok "cluster set-up"; exit 1; }
for i in 1 2; do printf '[local]\nmaxretry = 3\n' >>"$WORK/mx$i.ini"; done
cluster_up

# rep MX ADDR N: N auth_fail events handed to mxMX's agent
rep() { ns "mx$1" "$BIN/bancluster" report "$2" --kind auth_fail --count "$3" \
	--socket "$WORK/state-mx$1/agent.sock" >/dev/null 2>&1; }
local_has() { in_set "$1" local4 "$2"; }
local_gone() { ns "mx$1" nft list set inet bancluster local4 >/dev/null 2>&1 && ! local_has "$@"; }
# listed N MX ADDR [pending]: `list --local` through coordinator N alone
listed() {
	_l=$(bcn "$1" list --local 2>/dev/null | grep -E "^mx$2 +$3 ") || return 1
	[ -z "${4:-}" ] || printf '%s\n' "$_l" | grep -q '\[lift pending\]$'
}

rep 2 198.51.100.30 3
check "mx2 bans 198.51.100.30 locally" wait_for 5 local_has 2 198.51.100.30
for n in 1 2 3; do
	check "c$n lists the local ban" wait_for 10 listed "$n" 2 198.51.100.30
done
kill "$AGENT_PID_2"
wait "$AGENT_PID_2" 2>/dev/null
offline() { bcn 1 status 2>/dev/null | grep -q '^mx2 *offline'; }
check "c1 sees mx2 offline" wait_for 15 offline

out=$(bcn 1 unban 198.51.100.30 2>&1)
rc=$?
[ "$rc" = 0 ] && [ "$out" = "unbanned locally: 198.51.100.30 on mx2 (offline: lifted when it reconnects)" ]
verdict "unban through c1 while mx2 is offline: exit 0 ($out)"
in_etcd() { [ "$(etcdctl_ get --print-value-only /bancluster/bancluster/lift/mx2/198.51.100.30/32 | grep -c '"s":"admin"')" = 1 ]; }
check "the lift is in etcd (lift/mx2/198.51.100.30/32, by admin)" wait_for 5 in_etcd
lease=$(etcdctl_ get -w json /bancluster/bancluster/lift/mx2/198.51.100.30/32 | python3 -c '
import json, sys
kv = json.load(sys.stdin).get("kvs", [])
print(kv[0].get("lease", 0) if kv else 0)')
check "... on a lease (etcd forgets it within the hour)" test "${lease:-0}" != 0
for n in 2 3; do
	check "c$n holds the lift pending" wait_for 5 listed "$n" 2 198.51.100.30 pending
done
kill_cnode 1 KILL
check "the kernel of mx2 still holds it (mx2 is away)" local_has 2 198.51.100.30

start_agent 2
check "mx2 back, c1 dead: the element leaves its local4" wait_for 15 local_gone 2 198.51.100.30
check "mx2 logs the lift" wait_for 5 grep -q "local ban 198.51.100.30 lifted by admin admin" "$WORK/mx2.log"
for n in 2 3; do
	check "c$n: gone from list --local, nothing pending" wait_for 10 sh -c "! ip netns exec $NSP-$(cnode_ns $n) $BIN/bancluster -c $WORK/cli-c$n.ini list --local 2>/dev/null | grep -q '198.51.100.30'"
done
lifts=$(grep -c "local ban 198.51.100.30 lifted by admin" "$WORK/mx2.log")
check "lifted once on mx2 ($lifts)" test "$lifts" = 1

# a new local ban of the same address is not lifted by the old lift
rep 2 198.51.100.30 3
check "mx2 bans 198.51.100.30 again" wait_for 5 local_has 2 198.51.100.30
start_cnode 1
back() { bcn 1 status >/dev/null 2>&1; }
check "c1 answers again" wait_for 15 back
check "c1 read the lift back at start" wait_for 5 grep -q "unban local 198.51.100.30 on mx2 by admin admin" "$WORK/c1.log"
check "c1 lists the new ban, no lift pending once mx2's list came" wait_for 15 sh -c \
	"ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli-c1.ini list --local 2>/dev/null | grep -E '^mx2 +198\.51\.100\.30 ' | grep -vq 'lift pending'"
sleep 2
check "the new ban stays in mx2's kernel" local_has 2 198.51.100.30

# a malformed lift in etcd
etcdctl_ put /bancluster/bancluster/lift/mx2/198.51.100.99/32 'not json' >/dev/null
check "a malformed lift is logged" wait_for 5 grep -q "lift/mx2/198.51.100.99/32: malformed local lift" "$WORK/c2.log"
etcdctl_ put /bancluster/bancluster/lift/nosuch/198.51.100.98/32 '{"c":0,"s":"admin","n":"c3"}' >/dev/null
check "a lift for an agent not enrolled is logged" wait_for 5 grep -q "agent nosuch not enrolled here" "$WORK/c2.log"

fleet_done
