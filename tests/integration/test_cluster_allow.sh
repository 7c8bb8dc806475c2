#!/bin/sh
# test_cluster_allow.sh - `bancluster allow` in cluster mode (docs/ha.md):
# three coordinators on etcd, two MX with real nftables. An entry added
# through one coordinator is an etcd change numbered like a decision
# (PREFIX/al/), applied and published by every coordinator: each one
# lists it, refuses a manual ban inside it and decides no rule ban inside
# it, and the agents (local maxretry 3, below the fleet's 5) get it, so
# an attack from inside it is banned on no level while the same attack
# from outside is banned everywhere. The entry survives kill -9 of the
# leader; a removal through another coordinator takes effect everywhere
# and the next attack is banned; an entry added with --for is expired by
# the leader through etcd on every coordinator; a coordinator that was
# down meanwhile reads the list at start and drops, from its own store,
# the entry removed while it was away. A malformed record in etcd is
# logged and changes nothing. Skips when /usr/bin/etcd is missing.
# Env: B, NSP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/cluster.sh"

cluster_need_etcd
cluster_init 2 || { notok "cluster set-up"; exit 1; }
mail_logs
for i in 1 2; do printf '[local]\nmaxretry = 3\n' >>"$WORK/mx$i.ini"; done
cluster_up

# lists N ADDR: `allow list` through coordinator N alone shows ADDR
lists() { bcn "$1" allow list 2>/dev/null | grep -q "^$2 "; }
log_has() { grep -qF -- "$2" "$WORK/$1.log"; }
# attack ADDR CONTROL: 8 failures from each, spread over mx1 and mx2 (4
# each: under the fleet's 5 on either MX alone, over the MX's local 3),
# then wait until CONTROL is banned on both (so the events of ADDR,
# interleaved with its, were counted: "not banned" is not "not yet")
attack() {
	for _k in 1 2 3 4; do
		fail 1 "$1"
		fail 1 "$2"
		fail 2 "$1"
		fail 2 "$2"
	done
	wait_for 15 all_in_set fleet4 "$2" || note "control $2 not banned on both MX"
	sleep 0.5
}

# ---- add through a follower ------------------------------------------------
L=$(leader_node)
F=$((L % 3 + 1))
out=$(bcn "$F" allow add 192.0.2.0/24 --comment "partner relay" 2>&1)
rc=$?
[ "$rc" = 0 ] && printf '%s\n' "$out" | grep -Eq '^allowed 192\.0\.2\.0/24 until removed \(seq [0-9]+\)$'
verdict "allow add through follower c$F: exit 0 ($out)"
for n in 1 2 3; do
	check "c$n lists 192.0.2.0/24" wait_for 5 lists "$n" 192.0.2.0/24
done
bcn "$L" allow list 2>/dev/null | grep -E '^192\.0\.2\.0/24 ' | grep -q 'partner relay'
verdict "... with its comment on the leader c$L"
for i in 1 2; do
	check "mx$i gets the entry" wait_for 5 log_has "mx$i" "allow entry 192.0.2.0/24 from the coordinator"
done
seqs=$(for n in 1 2 3; do grep -E "allow 192\.0\.2\.0/24 .* seq=[0-9]+ node c$F" "$WORK/c$n.log" | sed 's/.* seq=\([0-9]*\) .*/\1/'; done | sort -u)
[ -n "$seqs" ] && [ "$(printf '%s\n' "$seqs" | wc -l)" = 1 ]
verdict "every coordinator published it as the same seq ($seqs)"

# ---- it holds on every coordinator and agent -------------------------------
for n in 1 2 3; do
	out=$(bcn "$n" ban 192.0.2.8 2>&1)
	rc=$?
	[ "$rc" = 1 ] && [ "$out" = "bancluster: 192.0.2.8 overlaps the allow list (192.0.2.0/24, allow add by admin); use --force to ban it anyway" ]
	verdict "ban inside the entry through c$n: exit 1 ($out)"
done
attack 192.0.2.9 198.51.100.40
check "the control 198.51.100.40 is banned on both MX" all_in_set fleet4 198.51.100.40
check "192.0.2.9 is banned on no MX (no rule ban, no local ban)" none_in_set fleet4 192.0.2.9
check "... nor in a local set" none_in_set local4 192.0.2.9

# ---- kill -9 of the leader: the entry stays ---------------------------------
kill_cnode "$L" KILL
new_leader() { _l=$(leader_node); [ -n "$_l" ] && [ "$_l" != "$L" ]; }
check "another coordinator leads after kill -9 of c$L" wait_for 15 new_leader
L2=$(leader_node)
check "c$L2 still lists 192.0.2.0/24" lists "$L2" 192.0.2.0/24
attack 192.0.2.10 198.51.100.41
check "after the kill: control 198.51.100.41 banned" all_in_set fleet4 198.51.100.41
check "after the kill: 192.0.2.10 banned on no MX" none_in_set fleet4 192.0.2.10

# ---- remove through the other live coordinator, c$L down ---------------------
R=1
while [ "$R" = "$L" ] || [ "$R" = "$L2" ]; do R=$((R + 1)); done
out=$(bcn "$R" allow remove 192.0.2.0/24 2>&1)
rc=$?
[ "$rc" = 0 ] && printf '%s\n' "$out" | grep -Eq '^removed 192\.0\.2\.0/24 from the allow list \(seq [0-9]+\)$'
verdict "allow remove through c$R: exit 0 ($out)"
gone() { ! lists "$1" "$2"; }
for n in "$L2" "$R"; do
	check "c$n no longer lists it" wait_for 5 gone "$n" 192.0.2.0/24
done
for i in 1 2; do
	check "mx$i drops the entry" wait_for 5 log_has "mx$i" "allow entry 192.0.2.0/24 removed by the coordinator"
done
out=$(bcn "$R" allow remove 192.0.2.0/24 2>&1)
[ "$out" = "bancluster: 192.0.2.0/24: not in the allow list" ]
verdict "a second remove: not in the allow list ($out)"
attack 192.0.2.11 198.51.100.42
check "after the removal 192.0.2.11 is banned on both MX" all_in_set fleet4 192.0.2.11

# ---- the coordinator that was down: reads the list at start -----------------
start_cnode "$L"
back() { bcn "$L" status >/dev/null 2>&1; }
check "c$L answers again" wait_for 15 back
check "c$L does not list the entry removed while it was down" gone "$L" 192.0.2.0/24
python3 - "$WORK/c$L.db" <<'PY'
import sqlite3, sys
n = sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM allows WHERE addr LIKE '192.0.2.0%'").fetchone()[0]
sys.exit(0 if n == 0 else 1)
PY
verdict "... nor keeps it in its store"
if grep -q "is not in etcd: removed here" "$WORK/c$L.log"; then
	notok "c$L warned about an entry etcd removed in the normal way"
else
	ok "c$L took the removal without a warning"
fi

# ---- --for: the leader expires it through etcd -------------------------------
out=$(bcn "$R" allow add 203.0.113.0/24 --for 3s 2>&1)
[ $? = 0 ]
verdict "allow add 203.0.113.0/24 --for 3s: exit 0 ($out)"
for n in 1 2 3; do
	check "c$n lists the entry for 3s" wait_for 5 lists "$n" 203.0.113.0/24
done
expired() { log_has "c$1" "allow-expire 203.0.113.0/24"; }
for n in 1 2 3; do
	check "c$n applies its expiry" wait_for 10 expired "$n"
	check "c$n lists it no more" gone "$n" 203.0.113.0/24
done
seqs=$(for n in 1 2 3; do grep "allow-expire 203.0.113.0/24 seq=" "$WORK/c$n.log" | sed 's/.* seq=\([0-9]*\) .*/\1/'; done | sort -u)
[ -n "$seqs" ] && [ "$(printf '%s\n' "$seqs" | wc -l)" = 1 ]
verdict "one expiry, the same seq on every coordinator ($seqs)"
for i in 1 2; do
	check "mx$i drops the expired entry" wait_for 5 log_has "mx$i" "allow entry 203.0.113.0/24 removed by the coordinator"
done

# ---- a malformed record in etcd ---------------------------------------------
etcdctl_ put /bancluster/bancluster/al/192.0.2.0/24 '{"q":1,"x":"allow","a":"192.0.2.0/24"}' >/dev/null
check "a malformed record is logged" wait_for 5 log_has "c$R" "malformed allow list change"
check "... and not applied" gone "$R" 192.0.2.0/24

# ---- bad arguments: one line, as with one coordinator -------------------------
out=$(bcn "$R" allow add 192.0.2.0/24 --comment "$(head -c 201 /dev/zero | tr '\0' c)" 2>&1)
rc=$?
[ "$rc" != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ]
verdict "an over-long comment: refused in one line ($out)"

fleet_done
