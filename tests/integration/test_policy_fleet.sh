#!/bin/sh
# test_policy_fleet.sh - Fleet decisions on five agents fed through their
# log files: escalation of repeat offenders (3 h, 6 h, 12 h in every
# kernel set), allow_file, min_hosts and subnet escalation switched on by
# SIGHUP, and a coordinator kill -9 in the middle of a burst of reports
# losing no acknowledged event and no ban.
. "$(dirname "$0")/lib.sh"

fleet_init 5
mail_logs
printf '# trusted partners\n192.0.2.128/25\n2001:db8:aa::/48  # v6 office\n' >"$WORK/allow.txt"
cat >>"$WORK/coordinator.ini" <<INI
allow_file = allow.txt
INI
start_coord
for i in 1 2 3 4 5; do start_agent "$i"; done
check "five agents sync" wait_for 10 agents_synced

offend() { # offend ADDR: one failure on each of the five hosts
	for i in 1 2 3 4 5; do fail "$i" "$1"; done
}
# all_timeouts_near ADDR SECONDS: every kernel holds ADDR with that time
all_timeouts_near() {
	for i in 1 2 3 4 5; do
		t=$(kernel_timeout "$i" fleet4 "$1")
		[ -n "$t" ] && [ "$t" -le "$2" ] && [ "$t" -gt $(($2 - 30)) ] || return 1
	done
}
A=203.0.113.50
offend $A
check "1st offence: banned on all five" wait_for 5 all_in_set fleet4 $A
check "1st offence: 3 h in every kernel set" all_timeouts_near $A 10800
bc unban $A >/dev/null
check "unban clears every kernel" wait_for 3 none_in_set fleet4 $A
offend $A
check "2nd offence within recidive_window: 6 h everywhere" wait_for 5 all_timeouts_near $A 21600
bc unban $A >/dev/null
wait_for 3 none_in_set fleet4 $A
offend $A
check "3rd offence: 12 h everywhere" wait_for 5 all_timeouts_near $A 43200
out=$(bc show $A)
check "show lists the three bans and two unbans" [ "$(echo "$out" | grep -cE ' (ban|unban) ')" = 5 ]
check "show names the offence count" sh -c "echo '$out' | grep -q 'offence 3'"

# allow_file
i=0
while [ "$i" -lt 40 ]; do fail $((i % 5 + 1)) 192.0.2.200; i=$((i + 1)); done
sleep 1.5
check "allow_file address with 40 events: never banned" none_in_set fleet4 192.0.2.200
out=$(bc ban 192.0.2.201 2>&1)
[ $? = 1 ] && echo "$out" | grep -q 'allow list'; verdict "manual ban inside allow_file refused"
out=$(bc ban 192.0.2.0/24 2>&1)
[ $? = 1 ] && echo "$out" | grep -q 'allow list'; verdict "manual ban of a prefix covering allow_file refused"
bc ban 192.0.2.201 --force --for 1m >/dev/null
check "--force bans it anyway" wait_for 3 all_in_set fleet4 192.0.2.201

# min_hosts and subnet escalation, switched on by SIGHUP
cat >>"$WORK/coordinator.ini" <<INI
min_hosts = 2
subnet_threshold = 3
INI
kill -HUP "$COORD_PID"
check "SIGHUP reload is logged" wait_for 3 grep -q 'reloaded' "$WORK/coordinator.log"
B1=198.51.100.10
i=0
while [ "$i" -lt 12 ]; do fail 1 $B1; i=$((i + 1)); done
sleep 1.5
check "min_hosts=2: one noisy agent alone bans nothing in the fleet" none_in_set fleet4 $B1
fail 2 $B1
check "min_hosts=2: one event from a second host bans" wait_for 5 all_in_set fleet4 $B1
check "bans survived the reload" all_in_set fleet4 $A
for x in 21 22; do fail 1 198.51.100.$x; fail 2 198.51.100.$x; fail 3 198.51.100.$x; fail 4 198.51.100.$x; fail 5 198.51.100.$x; done
check "subnet_threshold=3: third banned address bans the /24" wait_for 5 all_in_set fleet4 198.51.100.0/24
check "the /24 shows up as its own decision" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list | grep -q '198.51.100.0/24 .*rule:subnet'"

# kill -9 in the middle of a burst: no acknowledged event lost, none twice
before=$(events_of 1 2 3 4 5)
for o in 1 2 3 4 5 6 7 8; do
	for h in 1 2 3 4 5; do
		j=0
		while [ "$j" -lt 20 ]; do fail "$h" "203.0.113.$((100 + j))"; j=$((j + 1)); done
		[ "$o" = 4 ] && [ "$h" = 3 ] && { kill -9 "$COORD_PID"; wait "$COORD_PID" 2>/dev/null; start_coord; }
	done
done
# every address got 8 failures on each of 5 hosts: each must end up banned
all_twenty() {
	j=0
	while [ "$j" -lt 20 ]; do
		all_in_set fleet4 "203.0.113.$((100 + j))" || return 1
		j=$((j + 1))
	done
}
check "after kill -9 mid-burst: all 20 attackers banned on every host" wait_for 20 all_twenty
burst() { echo $(( $(events_of 1 2 3 4 5) - before )); }
wait_for 20 sh -c "[ \$(ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini status --json | python3 -c 'import json,sys; print(sum(a[\"events\"] for a in json.load(sys.stdin)[\"agents\"]))') -ge $((before + 800)) ]"
sleep 3.5 # one more resend period: a doubled report would show now
check "all 800 events of the burst counted exactly once ($(burst))" [ "$(burst)" = 800 ]
fleet_done
