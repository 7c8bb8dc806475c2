#!/bin/sh
# test_cluster.sh - cluster mode (docs/ha.md): three coordinators on a
# three-member etcd cluster with client-certificate TLS, three agents
# with real nftables, all in namespaces (tests/integration/cluster.sh).
#   - one leader; an admin ban through a follower is in every
#     coordinator's list and every kernel; an unban through another;
#     the unban's record on a lease of an hour (its deletion taken for
#     nothing), a rule ban's on none, its offence history on one of
#     recidive_window + 2 h (docs/ha.md "Space");
#   - a burst of 1,000 events from 200 attackers spread over the MX, the
#     leading coordinator killed -9 half-way: every attacker banned on
#     every MX, each exactly once (200 decisions, seq 200 after them),
#     the new leader made the bans after the kill;
#   - SIGSTOP of the leader for longer than its lease: another leads,
#     decisions go on; after SIGCONT the old leader writes nothing;
#   - kill -9 of etcd's raft leader member: bans resume;
#   - etcd majority lost: status says so, an admin ban fails with one
#     line, existing bans stay in the kernels; majority back: decisions
#     resume, nothing duplicated;
#   - a coordinator restarted: it reads the cluster's bans back;
#   - expiry committed once by the leader; the leader cut off from etcd
#     by a firewall rule; an unban right after the leader died;
#   - garbage put into etcd: logged as malformed, never applied;
#   - an agent that follows one coordinator alone, which dies: the
#     others ban meanwhile, it catches up when that one is back;
#   - 1,550 events written at once (batches through each coordinator's
#     putter thread): 310 attackers banned on every MX, each once;
#   - a second coordinator with a name in use is refused.
# Skips when /usr/bin/etcd is missing. Env: B, NSP.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/cluster.sh"

cluster_need_etcd
# seq: the cluster's decision counter in etcd
cseq() { etcdctl_ get --print-value-only /bancluster/bancluster/seq 2>/dev/null; }
# leads_other N: a coordinator other than cN holds PREFIX/leader
leads_other() {
	_l=$(leader_node)
	[ -n "$_l" ] && [ "$_l" != "$1" ]
}
follower() { for _n in 1 2 3; do [ "$_n" != "$1" ] && { echo "$_n"; return; }; done; }

CLUSTER_TTL=1s
cluster_init 3 || { notok "cluster set-up"; exit 1; }
mail_logs
for n in 1 2 3; do start_cnode $n; done
wait_for 15 leads_other 0
L=$(leader_node)
check "one coordinator leads (c$L)" test -n "$L"
for i in 1 2 3; do start_agent $i; done
start_listeners
check "agents in sync" wait_for 20 agents_synced

# ---- admin ban through a follower, unban through another ---------------------
F=$(follower "$L")
out=$(bcn "$F" ban 203.0.113.250 --for 1h 2>&1)
check "admin ban through follower c$F: $out" test $? -eq 0
for n in 1 2 3; do
	check "c$n lists the ban" sh -c "$(command -v ip) netns exec $NSP-$(cnode_ns $n) $BIN/bancluster -c $WORK/cli-c$n.ini list | grep -q '^203.0.113.250 '"
done
check "the ban reaches every kernel" wait_for 5 all_in_set fleet4 203.0.113.250
G=$(follower "$F")
[ "$G" = "$F" ] && G=$L
out=$(bcn "$G" unban 203.0.113.250 2>&1)
check "unban through c$G: $out" test $? -eq 0
check "the unban reaches every kernel" wait_for 5 none_in_set fleet4 203.0.113.250
S0=$(cseq)
check "two decisions, seq 2 (got $S0)" test "$S0" = 2
# what etcd may forget goes on a lease: lease_ttl KEY prints the TTL etcd
# granted the lease KEY is on, 0 when it is on none
lease_ttl() {
	_l=$(etcdctl_ get -w json "$1" 2>/dev/null | python3 -c '
import json, sys
kv = json.load(sys.stdin).get("kvs", [])
print(kv[0].get("lease", 0) if kv else "missing")')
	case "$_l" in
	0 | missing | "") echo "${_l:-missing}" ;;
	*) etcdctl_ lease timetolive "$(printf '%x' "$_l")" 2>/dev/null |
		sed -n 's/.*granted with TTL(\([0-9]*\)s).*/\1/p' ;;
	esac
}
t=$(lease_ttl /bancluster/bancluster/d/203.0.113.250/32)
check "the unban's record is on a lease etcd ends in an hour (TTL $t)" test "$t" = 3600
# what the lease's end does, now: the deletion changes nothing anywhere
etcdctl_ del /bancluster/bancluster/d/203.0.113.250/32 >/dev/null
sleep 0.5
for n in 1 2 3; do
	eval "_p=\$CPID_$n"
	check "c$n took the record's deletion for nothing: running, answering, no ban" sh -c "kill -0 $_p && $(command -v ip) netns exec $NSP-$(cnode_ns $n) $BIN/bancluster -c $WORK/cli-c$n.ini list >$WORK/del-c$n.out && ! grep -q '^203.0.113.250 ' $WORK/del-c$n.out"
done
check "no coordinator took the deletion for a malformed record" sh -c "! grep -q 'd/203.0.113.250.*malformed' $WORK/c1.log $WORK/c2.log $WORK/c3.log"

# ---- burst of 1,000 events from 200 attackers, leader killed half-way --------
# attacker k (1..200) is 203.0.113.k when k <= 200; each fails 5 times,
# the five spread over the three MX
burst() { # burst FROM TO: appended to the three logs at once
	awk -v from="$1" -v to="$2" -v w="$WORK" -v pid=$((LOGPID + $1 * 10)) \
		-v ts="$(date '+%b %e %H:%M:%S')" 'BEGIN {
		for (k = from; k <= to; k++)
			for (j = 1; j <= 5; j++) {
				m = (k + j) % 3 + 1
				printf "%s mx%d postfix/submission/smtpd[%d]: warning: unknown[203.0.113.%d]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n", ts, m, pid++, k >> (w "/mx" m "-mail.log")
			}
	}'
}
T0=$(date +%s%3N)
# 20 attackers every 50 ms; the leader killed half-way
OLD=$L
k=1
while [ "$k" -le 200 ]; do
	burst "$k" $((k + 19))
	k=$((k + 20))
	if [ "$k" = 101 ]; then
		note "killing c$OLD (leader) after 500 of 1,000 events ($(cseq) decisions made)"
		kill_cnode "$OLD"
	fi
	sleep 0.05
done
check "another coordinator leads after the kill" wait_for 10 leads_other "$OLD"
# its port refuses connections: a follower revokes its lease rather than
# waiting up to lease_ttl + etcd's 0.5 s expiry check for it to lapse
gone_seen() {
	for _n in 1 2 3; do
		[ "$_n" = "$OLD" ] && continue
		grep -q "cluster: leader c$OLD is gone (its endpoint closed the connection and refuses a new one): its lease [0-9a-f]* revoked" "$WORK/c$_n.log" && return 0
	done
	return 1
}
check "a follower saw c$OLD's process gone and revoked its lease" gone_seen
L=$(leader_node)
note "c$L leads now"
all_banned() {
	for _m in 1 2 3; do
		_c=$(ns "mx$_m" nft -j list set inet bancluster fleet4 2>/dev/null | python3 -c '
import json, sys
n = 0
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        v = e.get("elem", {}).get("val", e) if isinstance(e, dict) else e
        if isinstance(v, str) and v.startswith("203.0.113."):
            n += 1
print(n)' 2>/dev/null)
		[ "${_c:-0}" -ge 200 ] || return 1
	done
}
check "all 200 attackers banned on every MX" wait_for 30 all_banned
T1=$(date +%s%3N)
note "burst to the last ban in every kernel: $((T1 - T0)) ms"
S1=$(cseq)
check "each banned exactly once: 200 rule decisions (seq $S0 -> $S1)" test "$S1" = $((S0 + 200))
n=$(etcdctl_ get --prefix --keys-only /bancluster/bancluster/d/203.0.113. 2>/dev/null | grep -c .)
check "200 decision records in etcd (got $n)" test "$n" -ge 200
after=$(etcdctl_ get --prefix --print-value-only /bancluster/bancluster/d/203.0.113. 2>/dev/null | grep -c "\"n\":\"c$L\"")
check "the new leader c$L made bans after the kill ($after)" test "$after" -gt 0
t=$(lease_ttl /bancluster/bancluster/d/203.0.113.7/32)
check "a ban's record is on no lease ($t)" test "$t" = 0
t=$(lease_ttl /bancluster/bancluster/off/203.0.113.7/32)
check "its offence history ends recidive_window (7 d) + 2 h after (TTL $t)" test "$t" = 612000

# ---- a killed coordinator comes back and reads the cluster -----------------
start_cnode "$OLD"
check "restarted c$OLD lists the 200 bans" wait_for 15 sh -c "ip netns exec $NSP-$(cnode_ns "$OLD") $BIN/bancluster -c $WORK/cli-c$OLD.ini list 2>/dev/null | grep -q '^2.. active bans'"

# ---- SIGSTOP of the leader longer than its lease ----------------------------
L=$(leader_node)
S2=$(cseq)
own_before=$(grep -c "origin=rule" "$WORK/c$L.log")
kill_cnode "$L" STOP
note "c$L (leader) stopped"
check "another leads while c$L is stopped" wait_for 10 leads_other "$L"
for j in 1 2 3 4 5; do fail $((j % 3 + 1)) 198.51.100.7; done
check "a ban while c$L is stopped" wait_for 10 all_in_set fleet4 198.51.100.7
kill_cnode "$L" CONT
sleep 2
stale=$(etcdctl_ get --prefix --print-value-only /bancluster/bancluster/d/ 2>/dev/null | grep "\"n\":\"c$L\"" | grep -c '"q":'"$((S2 + 1))"',')
check "the resumed old leader c$L did not write (fenced)" test "$stale" -eq 0
own_after=$(grep -c "origin=rule" "$WORK/c$L.log")
check "no decision of c$L's since it was stopped ($own_before -> $own_after rule bans in its log)" test "$own_after" -eq "$own_before"
check "c$L says it no longer leads" grep -q "c$L no longer leads" "$WORK/c$L.log"

# ---- etcd's raft leader member killed ----------------------------------------
EL=""
for i in 1 2 3; do
	eval "_ep=\$ETCD_EP_$i"
	if etcd_run "$ETCDCTL_BIN" --endpoints "$_ep" --cacert "$ETCD_CA" --cert "$ETCD_CERT" --key "$ETCD_KEY" \
		endpoint status 2>/dev/null | awk -F', ' '{print $5}' | grep -q true; then EL=$i; fi
done
note "etcd leader: e$EL"
TK=$(date +%s%3N)
etcd_kill "$EL"
for j in 1 2 3 4 5; do fail $((j % 3 + 1)) 198.51.100.8; done
check "a ban after the etcd leader's death" wait_for 15 all_in_set fleet4 198.51.100.8
note "etcd leader killed -> ban in every kernel: $(($(date +%s%3N) - TK)) ms"
etcd_start "$EL"

# ---- expiry: committed once, by the leader -------------------------------------
out=$(bcn "$(follower "$(leader_node)")" ban 192.0.2.60 --for 2s 2>&1)
check "a 2 s ban through a follower: $out" test $? -eq 0
expired() { etcdctl_ get --print-value-only /bancluster/bancluster/d/192.0.2.60/32 2>/dev/null | grep -q '"x":"expire"'; }
check "the leader commits its expiry" wait_for 10 expired
for n in 1 2 3; do
	check "c$n no longer lists it" sh -c "! ip netns exec $NSP-$(cnode_ns $n) $BIN/bancluster -c $WORK/cli-c$n.ini list 2>/dev/null | grep -q '^192.0.2.60 '"
done

# ---- the leader cut off from etcd by a firewall rule -------------------------
X=$(leader_node)
ns "$(cnode_ns "$X")" nft -f - <<'NFT'
table inet bc_cut {
	chain out {
		type filter hook output priority 0;
		ip daddr 198.18.0.21-198.18.0.23 drop
	}
}
NFT
note "c$X (leader) cut off from etcd"
check "another leads while c$X is cut off" wait_for 10 leads_other "$X"
for j in 1 2 3 4 5; do fail $((j % 3 + 1)) 198.51.100.10; done
check "a ban while c$X is cut off" wait_for 20 all_in_set fleet4 198.51.100.10
no_majority() { bcn "$1" status 2>&1 | grep -qi "no majority"; }
check "c$X's status says it has no majority of etcd" wait_for 5 no_majority "$X"
no_majority "$X" || bcn "$X" status 2>&1 | sed 's/^/#   /' 
ns "$(cnode_ns "$X")" nft delete table inet bc_cut
check "c$X reaches etcd again" wait_for 10 sh -c "ip netns exec $NSP-$(cnode_ns "$X") $BIN/bancluster -c $WORK/cli-c$X.ini status 2>/dev/null | grep -q 'etcd: majority up'"
check "c$X applied the ban made while it was cut off" wait_for 10 sh -c "ip netns exec $NSP-$(cnode_ns "$X") $BIN/bancluster -c $WORK/cli-c$X.ini list 2>/dev/null | grep -q '^198.51.100.10 '"

# ---- an unban during a failover ---------------------------------------------
L=$(leader_node)
F=$(follower "$L")
kill_cnode "$L"
out=$(bcn "$F" unban 203.0.113.7 2>&1)
check "unban through c$F right after the leader c$L died: $out" test $? -eq 0
check "the unban reaches every kernel" wait_for 10 none_in_set fleet4 203.0.113.7
start_cnode "$L"

# ---- garbage in etcd: counted and logged, never applied ---------------------
etcdctl_ put /bancluster/bancluster/d/192.0.2.99/32 'not json' >/dev/null
etcdctl_ put /bancluster/bancluster/ev/x/1 'BCE1garbage' >/dev/null
etcdctl_ put /bancluster/bancluster/off/192.0.2.98/32 '{"t":["x"]}' >/dev/null
bad_logged() { grep -q "malformed decision" "$WORK/c$1.log" && grep -q "malformed event batch" "$WORK/c$1.log" && grep -q "malformed offence history" "$WORK/c$1.log"; }
F=$(follower "$(leader_node)")
check "c$F logs the three malformed keys" wait_for 5 bad_logged "$F"
dropped_malformed() { grep -q '^bancluster_coordinator_cluster_dropped_total{reason="malformed"} [3-9]' "$WORK/c$1.prom" 2>/dev/null; }
check "and counts them (metrics_file: dropped_total{reason=\"malformed\"} >= 3)" wait_for 15 dropped_malformed "$F"
check "and bans nothing for them" sh -c "! ip netns exec $NSP-$(cnode_ns "$F") $BIN/bancluster -c $WORK/cli-c$F.ini list 2>/dev/null | grep -q '^192.0.2.99 '"
for j in 1 2 3 4 5; do fail $((j % 3 + 1)) 198.51.100.11; done
check "decisions go on after the garbage" wait_for 10 all_in_set fleet4 198.51.100.11

# ---- an agent that follows only one coordinator, which dies -----------------
ONE=$(follower "$(leader_node)")
stop_agent3() { eval "kill \$AGENT_PID_3; wait \$AGENT_PID_3" 2>/dev/null; }
stop_agent3
sed -i -e "s|^coordinator *=.*|coordinator     = tcp://198.18.0.$ONE:7710|" \
	-e "s|^updates *=.*|updates         = tcp://198.18.0.$ONE:7711|" "$WORK/mx3.ini"
start_agent 3
check "mx3 follows c$ONE alone" wait_for 15 sh -c "grep -q 'snapshot applied' $WORK/mx3.log"
kill_cnode "$ONE"
for j in 1 2 3 4 5; do fail $((j % 2 + 1)) 198.51.100.12; done
wait_for 10 in_set 1 fleet4 198.51.100.12 && wait_for 5 in_set 2 fleet4 198.51.100.12
verdict "mx1 and mx2 get the ban made while c$ONE is dead"
check "mx3 (following dead c$ONE) does not have it yet" sh -c "! ip netns exec $NSP-mx3 nft get element inet bancluster fleet4 '{ 198.51.100.12 }' >/dev/null 2>&1"
start_cnode "$ONE"
check "mx3 gets it once c$ONE is back (resync from a restarted coordinator)" wait_for 20 in_set 3 fleet4 198.51.100.12

# ---- etcd majority lost, then restored --------------------------------------
etcd_wait_healthy 20 >/dev/null
A=$(follower 0)
etcd_kill 1
etcd_kill 2
sleep 3
out=$(bcn "$A" status 2>&1)
echo "$out" | grep -qi "no majority"
verdict "status says etcd has no majority"
out=$(bcn "$A" ban 192.0.2.77 2>&1)
rc=$?
check "an admin ban without etcd fails ($out)" test "$rc" -ne 0
check "existing bans stay in the kernels" all_in_set fleet4 198.51.100.7
etcd_start 1
etcd_start 2
etcd_wait_healthy 30 >/dev/null
S3=$(cseq)
for j in 1 2 3 4 5; do fail $((j % 3 + 1)) 198.51.100.9; done
check "decisions resume with the majority back" wait_for 20 all_in_set fleet4 198.51.100.9
sleep 1
S4=$(cseq)
check "one decision for one attacker after the outage ($S3 -> $S4)" test "$S4" = $((S3 + 1))

# ---- a larger burst at once: event batches through the putter thread ---------
# 310 attackers x 5 failures (1,550 events) written to the three logs at
# once: the reports (~130 events each) make batches over CL_EV_INLINE
# (1 KiB), so the coordinators hand them to their putter thread and ack
# the reports once they landed (cluster_events.c; 6 hand-overs in a run
# traced aside). Every attacker banned on every MX, each once.
S5=$(cseq)
F0=$(cat "$WORK/c1.log" "$WORK/c2.log" "$WORK/c3.log" | grep -c 'events not written to etcd')
awk -v w="$WORK" -v pid=$((LOGPID + 50000)) -v ts="$(date '+%b %e %H:%M:%S')" 'BEGIN {
	for (k = 0; k < 310; k++) {
		a = (k < 155 ? "192.0.2." : "198.51.100.") (100 + k % 155)
		for (j = 1; j <= 5; j++) {
			m = (k + j) % 3 + 1
			printf "%s mx%d postfix/submission/smtpd[%d]: warning: unknown[%s]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n", ts, m, pid++, a >> (w "/mx" m "-mail.log")
		}
	}
}'
big_banned() {
	for _m in 1 2 3; do
		_c=$(ns "mx$_m" nft -j list set inet bancluster fleet4 2>/dev/null | python3 -c '
import json, sys
want = {f"192.0.2.{i}" for i in range(100, 255)} | {f"198.51.100.{i}" for i in range(100, 255)}
got = set()
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        v = e.get("elem", {}).get("val", e) if isinstance(e, dict) else e
        if isinstance(v, str) and v in want:
            got.add(v)
print(len(got))' 2>/dev/null)
		[ "${_c:-0}" -ge 310 ] || return 1
	done
}
check "a burst of 1,550 events at once: all 310 attackers banned on every MX" wait_for 30 big_banned
sleep 1
S6=$(cseq)
check "each banned exactly once: 310 decisions ($S5 -> $S6)" test "$S6" = $((S5 + 310))
F1=$(cat "$WORK/c1.log" "$WORK/c2.log" "$WORK/c3.log" | grep -c 'events not written to etcd')
check "no event batch failed during it ($F0 -> $F1 failures logged)" test "$F1" = "$F0"

# ---- one name, one coordinator ----------------------------------------------
sed -e 's|:7710|:7720|' -e 's|:7711|:7721|' -e 's|^database .*|database    = c1-dup.db|' "$WORK/c1.ini" >"$WORK/c1-dup.ini"
out=$(timeout 20 ip netns exec "$NSP-coord" "$BIN/bancluster-coordinator" -c "$WORK/c1-dup.ini" 2>&1)
rc=$?
check "a second coordinator named c1 is refused (exit $rc)" test "$rc" -eq 1
echo "$out" | grep -q "name c1: another coordinator of this name is running"
verdict "and says why ($(echo "$out" | tail -1 | cut -c1-160))"

fleet_done
