#!/bin/sh
# test_cluster_import.sh - moving a site from one coordinator to a
# cluster (docs/ha.md): a single coordinator bans by hand and by rule
# (an offence), stops; `bancluster-coordinator --cluster-import` copies
# its active bans, its `bancluster allow` entries and offence history
# into etcd; three coordinators start on it: each lists the bans and the
# allow list entry (its comment kept), every agent's kernel has them, and
# the imported offence counts (the address banned again is offence 2,
# banned twice as long). A second import is refused with one line.
# Skips when /usr/bin/etcd is missing. Env: B, NSP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/cluster.sh"

cluster_need_etcd
cluster_init 2 || { notok "cluster set-up"; exit 1; }
mail_logs
# the site as it was: one coordinator (lib.sh's coordinator.ini) and
# agents following it alone
cp "$WORK/mx1.ini" "$WORK/mx1-cluster.ini"
cp "$WORK/mx2.ini" "$WORK/mx2-cluster.ini"
for i in 1 2; do
	sed -i -e "s|^coordinator *=.*|coordinator     = tcp://198.18.0.1:7710|" \
		-e "s|^updates *=.*|updates         = tcp://198.18.0.1:7711|" "$WORK/mx$i.ini"
done
start_coord
start_agent 1
start_agent 2
check "single coordinator: agents in sync" wait_for 20 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli-c1.ini status 2>/dev/null | grep -c ' in_sync ' | grep -qx 2"
check "manual ban" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli-c1.ini ban 192.0.2.10 --for 2h >/dev/null"
check "manual ban of a prefix" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli-c1.ini ban 198.51.100.0/24 --for 2h >/dev/null"
for j in 1 2 3 4 5; do fail $((j % 2 + 1)) 203.0.113.9; done
check "a rule ban (offence 1)" wait_for 10 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli-c1.ini list 2>/dev/null | grep -q '^203.0.113.9 .*offence 1'"
check "allow add 192.0.2.128/25" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli-c1.ini allow add 192.0.2.128/25 --comment 'office NAT' >/dev/null"
kill "$COORD_PID"
wait "$COORD_PID" 2>/dev/null
for i in 1 2; do
	eval "kill \$AGENT_PID_$i; wait \$AGENT_PID_$i" 2>/dev/null
	cp "$WORK/mx$i-cluster.ini" "$WORK/mx$i.ini"
done

cp "$WORK/coordinator.db" "$WORK/c1.db"
out=$(ns coord "$BIN/bancluster-coordinator" -c "$WORK/c1.ini" --cluster-import 2>&1)
rc=$?
note "$out"
check "import exits 0" test "$rc" -eq 0
nk=$(ls "$WORK"/agents.d/*.pub "$WORK"/admins.d/*.pub | wc -l)
echo "$out" | grep -qE "imported 3 active bans, 1 allow list entries, 1 offence histories \(the last [0-9]+s\) and $nk enrolled keys"
verdict "import says what it copied (3 bans, 1 allow list entry, 1 history, $nk keys)"
check "the $nk enrolled keys in etcd (k/agent/, k/admin/)" test "$(etcdctl_ get --prefix --keys-only /bancluster/bancluster/k/ | grep -c .)" -eq "$nk"
check "3 decision records in etcd" test "$(etcdctl_ get --prefix --keys-only /bancluster/bancluster/d/ | grep -c .)" -eq 3
check "1 allow list record in etcd" test "$(etcdctl_ get --prefix --keys-only /bancluster/bancluster/al/ | grep -c .)" -eq 1
check "seq 4 in etcd" test "$(etcdctl_ get --print-value-only /bancluster/bancluster/seq)" = 4
# the imported history goes on a lease etcd ends recidive_window (7 d) +
# 2 h later, as the leader's histories (docs/ha.md "Space")
lease=$(etcdctl_ get -w json /bancluster/bancluster/off/203.0.113.9/32 | python3 -c '
import json, sys
kv = json.load(sys.stdin).get("kvs", [])
print(kv[0].get("lease", 0) if kv else "missing")')
ttl=$(etcdctl_ lease timetolive "$(printf '%x' "${lease:-0}" 2>/dev/null)" 2>/dev/null | sed -n 's/.*granted with TTL(\([0-9]*\)s).*/\1/p')
check "the imported offence history is on a lease of 612000 s (lease $lease, TTL ${ttl:-none})" test "${ttl:-0}" = 612000

for n in 1 2 3; do start_cnode $n; done
for n in 1 2 3; do
	check "c$n lists the 3 imported bans" wait_for 15 sh -c "ip netns exec $NSP-$(cnode_ns $n) $BIN/bancluster -c $WORK/cli-c$n.ini list 2>/dev/null | grep -q '^3 active bans'"
	check "c$n lists the imported allow list entry with its comment" sh -c "ip netns exec $NSP-$(cnode_ns $n) $BIN/bancluster -c $WORK/cli-c$n.ini allow list 2>/dev/null | grep '^192.0.2.128/25 ' | grep -q 'office NAT'"
done
check "c1 (the old store) keeps its entry without a warning" sh -c "! grep -q 'is not in etcd' '$WORK/c1.log'"
start_agent 1
start_agent 2
wait_for 15 all_in_set fleet4 192.0.2.10 && wait_for 5 all_in_set fleet4 203.0.113.9 && wait_for 5 all_in_set fleet4 198.51.100.0/24
verdict "the imported bans reach every kernel"

# the imported offence history counts
check "unban 203.0.113.9" sh -c "ip netns exec $NSP-c2 $BIN/bancluster -c $WORK/cli-c2.ini unban 203.0.113.9 >/dev/null"
for j in 1 2 3 4 5; do fail $((j % 2 + 1)) 203.0.113.9; done
check "banned again as offence 2, for 6h" wait_for 15 sh -c "ip netns exec $NSP-c3 $BIN/bancluster -c $WORK/cli-c3.ini list 2>/dev/null | grep '^203.0.113.9 ' | grep -q 'offence 2, banned 6h'"

out=$(ns coord "$BIN/bancluster-coordinator" -c "$WORK/c1.ini" --cluster-import 2>&1)
rc=$?
check "a second import is refused (exit $rc: $out)" test "$rc" -eq 1
echo "$out" | grep -q "holds 6 decisions already"
verdict "and says why"

fleet_done
