#!/bin/sh
# agent_tail.sh - agent memory while tailing a busy mail log: 1,000,000
# Postfix lines (1 in 20 a SASL failure, from 50,000 addresses) appended
# to the log an agent follows; prints lines/s through the agent, the
# events the coordinator counted, and the agent's memory: resident (peak
# and after) and proportional (PSS from /proc/PID/smaps_rollup, pages
# shared between the three processes counted once) at rest and 2 s after
# the last event was counted. Goals: PSS <= 4 MB at rest, <= 6 MB after.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/integration/lib.sh
NSP=bcr
LINES=${LINES:-1000000}
fleet_init 1
mail_logs
sed -i 's/^maxretry = 5$/maxretry = 1000/' "$WORK/coordinator.ini"
printf '[local]\nmaxretry = 1000\n' >>"$WORK/mx1.ini"
python3 - "$WORK/big.log" "$LINES" <<'PY'
import sys, time
n = int(sys.argv[2]); t = time.strftime("%b %e %H:%M:%S")
with open(sys.argv[1], "w") as f:
    for i in range(n):
        if i % 20 == 0:
            a = i // 20 % 50000
            f.write(f"{t} mx1 postfix/submission/smtpd[{10000 + i % 30000}]: warning: unknown[100.{64 + a // 65536}.{a // 256 % 256}.{a % 256}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n")
        else:
            f.write(f"{t} mx1 postfix/smtpd[{10000 + i % 30000}]: connect from mail{i % 977}.example.net[198.51.100.{i % 250 + 1}]\n")
PY
start_coord
start_agent 1
wait_for 10 agents_synced || exit 1
# "at rest": once the start's heap is given back (bc_trim_tick: at the
# latest 10 s after work began; the agent hears from its coordinator
# every second, so it is never quiet for the 1 s the trim waits for)
sleep 11
# the agent is three processes (privilege separation): signer + children
procs() { echo "$AGENT_PID_1 $(pgrep -P "$AGENT_PID_1" | tr '\n' ' ')"; }
rss() { for p in $(procs); do awk -v f="$1" '$1 == f":" {print $2}' "/proc/$p/status"; done | awk '{s += $1} END {print s}'; }
pss() { for p in $(procs); do awk '$1 == "Pss:" {print $2}' "/proc/$p/smaps_rollup"; done | awk '{s += $1} END {print s}'; }
each() { for p in $(procs); do printf '%s %s kB, ' "$(cat /proc/$p/comm)" "$(awk '/VmRSS/ {print $2}' /proc/$p/status)"; done; }
rss0=$(rss VmRSS)
pss0=$(pss)
each0=$(each)
want=$((LINES / 20))
t0=$(date +%s%N)
cat "$WORK/big.log" >>"$WORK/mx1-mail.log"
wait_for 120 sh -c "[ \$(ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"agents\"][0][\"events\"])') -ge $want ]"
t1=$(date +%s%N)
got=$(events_of 1)
# "after": 2 s after the last event was counted, once the burst is over
sleep 2
pss2=$(pss)
each2=$(each)
rss2=$(rss VmRSS)
# and 10 s later: what stays (the burst's counting windows, for findtime)
sleep 10
ms=$(( (t1 - t0) / 1000000 ))
echo "agent tailing a busy log: $LINES lines appended at once"
echo "  through agent -> coordinator: $ms ms ($(( LINES * 1000 / (ms ? ms : 1) )) lines/s), $got of $want events counted"
echo "  agent resident memory, three processes together: at rest $rss0 kB, peaks $(rss VmHWM) kB, 2 s after $rss2 kB, 12 s after $(rss VmRSS) kB (goal: 8192 kB)"
echo "  agent proportional memory (PSS, shared pages counted once), three processes together: at rest $pss0 kB, 2 s after $pss2 kB, 12 s after $(pss) kB (goals: 4096 / 6144 kB)"
echo "    at rest:     $each0"
echo "    2 s after:   $each2"
echo "    12 s after:  $(each)"
PASS=0; FAIL=0
stop_all >/dev/null
