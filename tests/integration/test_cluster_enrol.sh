#!/bin/sh
# test_cluster_enrol.sh - enrolment in cluster mode (docs/ha.md): three
# coordinators on etcd, each with its own agents.d and admins.d (as on
# three hosts). `agent add` through one coordinator enrols the key on
# all three (PREFIX/k/agent/NAME in etcd, applied from each one's
# watch): an agent enrolled that way is accepted by every coordinator
# of its list, without a restart. `agent remove` through another removes
# it everywhere, also on a coordinator that was down meanwhile (it reads
# the removal at start). An admin added through one coordinator signs
# requests every coordinator accepts. A malformed enrolment in etcd is
# logged and changes nothing. Skips when /usr/bin/etcd is missing.
# Env: B, NSP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/cluster.sh"

cluster_need_etcd
cluster_init 2 || { notok "cluster set-up"; exit 1; }
mail_logs
# mx2 is not enrolled anywhere yet; each coordinator its own directories
P2=$(sed 's/^bancluster-ed25519-public //' "$WORK/agents.d/mx2.pub")
rm "$WORK/agents.d/mx2.pub"
for n in 1 2 3; do
	cp -r "$WORK/agents.d" "$WORK/agents-c$n.d"
	cp -r "$WORK/admins.d" "$WORK/admins-c$n.d"
	sed -i -e "s|^agents_dir .*|agents_dir  = agents-c$n.d|" \
		-e "s|^admins_dir .*|admins_dir  = admins-c$n.d|" "$WORK/c$n.ini"
done
for n in 1 2 3; do start_cnode "$n"; done
has_leader() { [ -n "$(leader_node)" ]; }
check "a leader is elected" wait_for 15 has_leader
start_agent 1
start_agent 2
MXN=1
check "mx1 syncs" wait_for 20 agents_synced
check "mx2, not enrolled, is refused" wait_for 10 grep -q "refused this agent's key" "$WORK/mx2.log"

# ---- agent add through c1: enrolled on all three --------------------------
out=$(bcn 1 agent add mx2 "$P2" 2>&1)
check "agent add mx2 through c1: exit 0 ($out)" test $? -eq 0
has_key() { [ -f "$WORK/agents-c$1.d/$2.pub" ]; }
for n in 1 2 3; do
	check "agents-c$n.d/mx2.pub written" wait_for 5 has_key "$n" mx2
done
cmp -s "$WORK/agents-c1.d/mx2.pub" "$WORK/agents-c3.d/mx2.pub"
verdict "... with the same key on c1 and c3"
check "c3 lists mx2" sh -c "ip netns exec $NSP-c3 $BIN/bancluster -c $WORK/cli-c3.ini agent list 2>/dev/null | grep -q '^mx2 '"
check "c2 logs the enrolment from the cluster" grep -q "enrolment: cluster: agent mx2 (key " "$WORK/c2.log"
# heartbeats go to every coordinator of mx2's list: each one sees it
heard_by() {
	bcn "$1" status --json 2>/dev/null | python3 -c 'import json,sys; sys.exit(0 if any(a["id"] == "mx2" and a["connected"] for a in json.load(sys.stdin)["agents"]) else 1)'
}
for n in 1 2 3; do
	check "c$n accepts mx2 without a restart (it hears its heartbeats)" wait_for 20 heard_by "$n"
done
MXN=2
check "both agents in sync" wait_for 20 agents_synced
for j in 1 2 3 4 5; do fail 2 198.51.100.40; done
check "mx2's events ban 198.51.100.40 on both MX" wait_for 15 all_in_set fleet4 198.51.100.40

# ---- agent remove through c2 while c3 is down -----------------------------
kill_cnode 3 TERM
out=$(bcn 2 agent remove mx2 2>&1)
check "agent remove mx2 through c2 (c3 down): exit 0 ($out)" test $? -eq 0
gone_key() { [ ! -f "$WORK/agents-c$1.d/$2.pub" ]; }
check "removed from c1's agents-c1.d" wait_for 5 gone_key 1 mx2
check "c3 still has it while down" has_key 3 mx2
start_cnode 3
check "c3 removes it at start (the removal is kept in etcd)" wait_for 15 gone_key 3 mx2
check "c3 no longer lists mx2" wait_for 5 sh -c "! ip netns exec $NSP-c3 $BIN/bancluster -c $WORK/cli-c3.ini agent list 2>/dev/null | grep -q '^mx2 '"

# ---- admin add through c2: the new admin is accepted by c1 and c3 ----------
"$BIN/bancluster" keygen --out "$WORK/ops2" >/dev/null
PO=$(sed 's/^bancluster-ed25519-public //' "$WORK/ops2.pub")
out=$(bcn 2 admin add ops2 "$PO" 2>&1)
check "admin add ops2 through c2: exit 0 ($out)" test $? -eq 0
for n in 1 3; do
	sed "s|^key .*|key             = ops2.key|" "$WORK/cli-c$n.ini" >"$WORK/cli-ops2-c$n.ini"
	ops2_status() { ns "$(cnode_ns "$1")" "$BIN/bancluster" -c "$WORK/cli-ops2-c$1.ini" status >/dev/null 2>&1; }
	check "ops2 is an admin on c$n (status exit 0)" wait_for 5 ops2_status "$n"
done

# ---- garbage in etcd: logged, nothing enrolled ----------------------------
etcdctl_ put /bancluster/bancluster/k/agent/evil 'not a key' >/dev/null
etcdctl_ put /bancluster/bancluster/k/agent/../x "$P2" >/dev/null
bad_enrol() { grep -q "k/agent/evil: malformed enrolment" "$WORK/c$1.log"; }
check "c1 logs the malformed enrolment" wait_for 5 bad_enrol 1
check "nothing named evil in agents-c1.d" test ! -e "$WORK/agents-c1.d/evil.pub"
check "a name with a path is refused (nothing outside agents-c1.d)" \
	sh -c "[ ! -e '$WORK/x.pub' ] && [ ! -e '$WORK/agents-c1.d/../x.pub' ]"
check "... and logged" wait_for 5 grep -q 'k/agent/\.\./x: agent name' "$WORK/c1.log"
# a key with a control byte: not applied, logged escaped (no raw tab)
etcdctl_ put "$(printf '/bancluster/bancluster/k/agent/a\tb')" "$P2" >/dev/null
ctl_logged() { grep -q 'k/agent/a.*b: malformed key (skipped)' "$WORK/c1.log"; }
check "a key with a tab: logged as malformed, escaped" wait_for 5 ctl_logged
check "... no raw tab in c1's log" sh -c "! grep -q \"$(printf '\t')\" '$WORK/c1.log'"
fleet_done
