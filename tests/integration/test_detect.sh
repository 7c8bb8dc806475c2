#!/bin/sh
# test_detect.sh - Detection end to end on log files: five agents tail
# their own mail.log; an attacker spread over several MX stays below
# every local threshold yet is banned fleet-wide by the coordinator's
# cross-host count; a host alone (coordinator down) bans by its local
# policy; events spooled during the outage reach the coordinator after
# it returns; `show` gives the evidence; `audit fleet` sees an element
# deleted by hand and the agent repairs it.
. "$(dirname "$0")/lib.sh"

fleet_init 5
mail_logs
printf '[agent]\nmetrics_file = state-mx1/mx1.prom\n' >>"$WORK/mx1.ini"
printf '[coordinator]\nmetrics_file = coordinator.prom\n' >>"$WORK/coordinator.ini"
start_coord
for i in 1 2 3 4 5; do start_agent "$i"; done
start_listeners
att_addr 198.18.0.101
att_addr fd00:0:0:9::1
att_addr fd00:0:0:9::2
check "five agents connect and sync" wait_for 10 agents_synced

check "attacker reaches mx4 before" can_connect 198.18.0.100 198.18.0.14
fail 1 198.18.0.100
fail 1 198.18.0.100
fail 2 198.18.0.100
fail 2 198.18.0.100
sleep 0.5
check "4 failures over two hosts: no ban yet" none_in_set fleet4 198.18.0.100
fail 3 198.18.0.100
check "5th failure on a third host: banned on all five" wait_for 5 all_in_set fleet4 198.18.0.100
check "no host banned it locally (each saw at most 2)" none_in_set local4 198.18.0.100
check "banned attacker cannot reach mx4 (never logged anything)" cannot_connect 198.18.0.100 198.18.0.14
left=$(kernel_timeout 4 fleet4 198.18.0.100)
[ "${left:-0}" -gt 10700 ] && [ "${left:-0}" -le 10800 ]; verdict "first offence: 3 h ban in the kernel ($left s)"
out=$(bc show 198.18.0.100)
check "show names the rule" sh -c "echo '$out' | grep -q 'rule:maxretry'"
check "show gives the evidence from three hosts" [ "$(echo "$out" | grep -c 'auth_fail')" -ge 5 ]
check "evidence carries the log line" sh -c "echo '$out' | grep -q 'SASL LOGIN authentication failed'"

# IPv6: two addresses of one /64 are counted together; the /64 is banned
fail 1 fd00:0:0:9::1
fail 2 fd00:0:0:9::2
fail 3 fd00:0:0:9::1
fail 4 fd00:0:0:9::2
fail 5 fd00:0:0:9::1
check "two addresses of one /64 add up: the /64 is banned" wait_for 5 all_in_set fleet6 fd00:0:0:9::/64
check "traffic from the /64 is dropped" cannot_connect fd00:0:0:9::2 fd00::13

# bancluster report (fail2ban's action): events handed to the local agent
out=$(ns mx2 "$BIN/bancluster" report 198.18.0.102 --kind auth_fail --count 3 \
	--service fail2ban/postfix-sasl --socket "$WORK/state-mx2/agent.sock" 2>&1)
check "report: three events accepted by mx2's agent ($out)" [ -z "$out" ]
ns mx4 "$BIN/bancluster" report 198.18.0.102 --kind auth_fail --count 2 --socket "$WORK/state-mx4/agent.sock"
check "report: 3 on mx2 + 2 on mx4 make a fleet ban" wait_for 5 all_in_set fleet4 198.18.0.102
out=$(ns mx2 "$BIN/bancluster" report 198.18.0.300 --kind auth_fail --socket "$WORK/state-mx2/agent.sock" 2>&1)
[ $? = 64 ] && echo "$out" | grep -q '198.18.0.300'; verdict "report: bad address refused with exit 64 ($out)"
out=$(ns mx2 "$BIN/bancluster" report 198.18.0.103 --kind brute --socket "$WORK/state-mx2/agent.sock" 2>&1)
[ $? = 64 ] && echo "$out" | grep -q 'brute'; verdict "report: unknown kind refused (exit 64)"
check "report: the local socket is private (mode 0600)" [ "$(stat -c %a "$WORK/state-mx2/agent.sock")" = 600 ]

# coordinator down: a host under attack bans alone (local policy)
before=$(events_of 5)
kill "$COORD_PID"
wait "$COORD_PID" 2>/dev/null
i=0
while [ "$i" -lt 10 ]; do fail 5 198.18.0.101; i=$((i + 1)); done
check "coordinator down: mx5 bans 10 failures locally" wait_for 5 in_set 5 local4 198.18.0.101
check "local ban drops traffic to mx5" cannot_connect 198.18.0.101 198.18.0.15
check "other hosts do not have it locally" sh -c "! ip netns exec $NSP-mx4 nft get element inet bancluster local4 '{ 198.18.0.101 }' >/dev/null 2>&1"
start_coord
check "spooled events reach the coordinator after it returns: fleet ban" wait_for 10 all_in_set fleet4 198.18.0.101
sleep 1
n=$(( $(events_of 5) - before ))
check "no event lost or counted twice across the outage ($n of 10)" [ "$n" = 10 ]

# audit fleet: an element deleted by hand is seen and repaired
check "audit fleet: all in sync" wait_for 10 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini audit fleet >/dev/null"
ns mx3 nft delete element inet bancluster fleet4 '{ 198.18.0.100 }'
check "audit fleet sees mx3 drifted" wait_for 3 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini audit fleet | grep -q 'mx3 .*drifted'"
out=$(bc audit fleet 2>&1)
rc=$?
check "audit fleet exits 0 again once mx3 repaired itself (rc $rc)" wait_for 8 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini audit fleet >/dev/null"
check "the repair is logged by the agent" grep -q 'repairing' "$WORK/mx3.log"
check "the element is back in mx3's kernel" in_set 3 fleet4 198.18.0.100
# metrics for node_exporter's textfile collector (rewritten every 10 s)
check "agent metrics count its auth_fail events, by service (postfix)" wait_for 12 sh -c \
	"[ \$(grep '^bancluster_agent_events_total{kind=\"auth_fail\",service=\"postfix\"} ' $WORK/state-mx1/mx1.prom | awk '{print \$2}' | cut -d. -f1) -ge 3 ]"
check "agent metrics: no postfix event counted as another service" sh -c \
	"grep '^bancluster_agent_events_total{kind=\"auth_fail\",service=\"\(exim\|sendmail\|dovecot\|other\)\"} ' $WORK/state-mx1/mx1.prom | awk '{s += \$2; n++} END {exit !(n == 4 && s == 0)}'"
check "coordinator metrics show active bans" wait_for 12 sh -c \
	"[ \$(grep '^bancluster_coordinator_bans_active ' $WORK/coordinator.prom | awk '{print \$2}' | cut -d. -f1) -ge 3 ]"
check "coordinator metrics list every agent as connected" wait_for 12 sh -c \
	"[ \$(grep -c 'bancluster_coordinator_agent_connected{agent=\"mx[1-5]\"} 1' $WORK/coordinator.prom) = 5 ]"
check "metrics files carry HELP and TYPE lines" grep -q '^# TYPE bancluster_agent_lag gauge' "$WORK/state-mx1/mx1.prom"
check "agent metrics carry the apply latency histogram" grep -q '^bancluster_agent_apply_seconds_bucket{le="+Inf"} [1-9]' "$WORK/state-mx1/mx1.prom"
fleet_done
