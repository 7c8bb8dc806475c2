#!/bin/sh
# test_agent_coords.sh - an agent that follows several coordinators
# ([agent] coordinator and updates as lists, issue 13), with real sockets
# and real kernel sets:
#   - mx1 lists first an endpoint where nothing listens, then one that
#     accepts TCP and never speaks (a host gone silent), then the live
#     coordinator: it syncs, its events are acknowledged and counted, the
#     coordinator bans at maxretry and the fleet ban reaches its kernel;
#   - mx2's updates list the coordinator and a second publisher
#     (wire_peer mirror: the same stream 40 ms later, sealed with the
#     coordinator's key and its own counter, 10 s ahead): every update is
#     applied once (as many as mx1, which follows one), every copy is
#     counted as a duplicate, nothing is rejected, no resync;
#   - reports go to one coordinator while it answers (one DEALER per
#     endpoint, not round-robin): 7750 (wire_peer swallow: takes every
#     message and answers none, ZMTP heartbeats included) gets none
#     until mx1's path to the live coordinator is cut with a report on
#     its way; that report moves on to 7750, then, unacknowledged, back
#     to the live one when the path returns: every event counted once;
#   - the coordinator's host vanishes without a FIN (namespace deleted
#     with its link down) and comes back with a new coordinator: the
#     agents' SUB, which sends nothing, learns its connection is dead
#     only from ZMTP heartbeats; without them mx1 kept resyncing
#     ("resync: coordinator silent" every few seconds) for good.
# Env: B, NSP.
. "$(dirname "$0")/lib.sh"

PEER="$BIN/tests/wire_peer"
[ -x "$PEER" ] || { echo "not ok - $PEER missing (make unit-bins)"; exit 1; }

fleet_init 3
mail_logs
MXN=2 # mx3 is enrolled later
C=tcp://198.18.0.1
rm "$WORK/agents.d/mx3.pub"
sed -i "s|^coordinator .*|coordinator     = $C:7722, $C:7710|;
	s|^updates .*|updates         = $C:7723, $C:7711|" "$WORK/mx3.ini"
sed -i "s|^coordinator .*|coordinator     = $C:7722, $C:7720, $C:7750, $C:7740, $C:7710|;
	s|^updates .*|updates         = $C:7723, $C:7721, $C:7711|" "$WORK/mx1.ini"
sed -i "s|^updates .*|updates         = $C:7711, $C:7731|" "$WORK/mx2.ini"
for i in 1 2; do
	sed -i "/^state_dir/a metrics_file    = state-mx$i/mx$i.prom" "$WORK/mx$i.ini"
	printf '[local]\nmaxretry = 1000\n' >>"$WORK/mx$i.ini"
done
for k in relay sink; do # wire_peer's keys: mirror, swallow
	"$BIN/bancluster" keygen --out "$WORK/$k" >/dev/null
	cp "$WORK/$k.pub" "$WORK/agents.d/$k.pub"
done

# metric FILE NAME[{LABELS}]: its value, or -1
metric() {
	awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print -1 }' \
		"$WORK/$1" 2>/dev/null || echo -1
}

# 7720 and 7721 accept and never answer (ZMTP never starts)
ip netns exec "$NSP-coord" python3 -c '
import socket, select
ls = []
for p in (7720, 7721):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.18.0.1", p)); s.listen(16); ls.append(s)
held = []
while True:
    r, _, _ = select.select(ls, [], [])
    for s in r:
        held.append(s.accept()[0])
' >/dev/null 2>&1 &
PIDS="$PIDS $!"
start_coord
wait_for 10 sh -c "ip netns exec $NSP-coord ss -ltnH 'sport = :7711' | grep -q ." ||
	note "the coordinator does not listen after 10 s"
ip netns exec "$NSP-coord" "$PEER" "$WORK" relay $C:7710 $C:7711 \
	mirror:$C:7731:300000:40:1 >"$WORK/mirror.log" 2>&1 &
MIRROR=$!
PIDS="$PIDS $MIRROR"
# 7750 takes everything and answers nothing, ZMTP heartbeats included
ip netns exec "$NSP-coord" "$PEER" "$WORK" sink $C:7710 $C:7711 \
	swallow:$C:7750:300000 >"$WORK/swallow.log" 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
start_agent 1
start_agent 2
check "both agents sync (mx1 past a dead and a silent endpoint)" wait_for 15 agents_synced
check "mx1's start line names every endpoint of both lists" grep -qF \
	"started: agent mx1, coordinator $C:7722, $C:7720, $C:7750, $C:7740, $C:7710, updates $C:7723, $C:7721, $C:7711;" \
	"$WORK/mx1.log"

# ---- events through the list: acked, counted, banned ----------------------
for n in 1 2 3 4 5; do fail 1 198.18.0.100; done
check "mx1's 5 events banned 198.18.0.100 (maxretry 5) in mx1's and mx2's kernel" \
	wait_for 15 all_in_set fleet4 198.18.0.100
check "mx1's 5 events counted by the coordinator ($(events_of 1))" [ "$(events_of 1)" = 5 ]
check "the attacker cannot reach mx1" cannot_connect 198.18.0.100 198.18.0.11
i=1
while [ $i -le 10 ]; do
	bc ban 203.0.113.$i --for 1h >/dev/null || notok "ban 203.0.113.$i"
	i=$((i + 1))
done
check "10 admin bans in both kernels" wait_for 15 all_in_set fleet4 203.0.113.10
all_in_set fleet4 203.0.113.1 && all_in_set fleet4 203.0.113.5
verdict "... the first and the fifth too"

# ---- the coordinator answering mx1 cut off with a report on its way -------
# mx1's DEALER path to 7710 is cut (its packets dropped, new connections
# reset; the SUB's path to 7711 stays): ZMTP heartbeats drop the
# connection, the report in flight moves on to the next endpoint of the
# list that is up, 7750, which swallows it; 3 s without an ack, it moves
# on again, past 7740 (nothing there), to 7710 once the path is back.
# Reports go to one coordinator while it answers: 7750 gets nothing
# before the cut (a round-robin DEALER gave it every other report).
sw0=$(grep -c '^swallowed 1$' "$WORK/swallow.log")
check "before the cut, 7750 took no report of mx1 ($sw0): they go to the one that acks" \
	[ "$sw0" = 0 ]
ns coord nft -f - <<NFT
table inet bccut {
	chain in {
		type filter hook input priority -10;
		ip saddr 198.18.0.11 tcp dport 7710 tcp flags & (syn | ack) == syn reject with tcp reset
		ip saddr 198.18.0.11 tcp dport 7710 drop
	}
}
NFT
# a resync now: its snapshot request goes to 7710 (cut), then on
mark=$(wc -l <"$WORK/mx1.log")
kill -HUP "$AGENT_PID_1"
snap_after_reload() {
	tail -n +"$((mark + 1))" "$WORK/mx1.log" | grep -qE 'snapshot applied: 1[12] bans'
}
att_addr 198.18.0.101
for n in 1 2 3 4 5 6 7 8; do fail 1 198.18.0.101; sleep 0.4; done
sleep 3
ns coord nft delete table inet bccut
check "8 events while mx1's path to 7710 was cut: 198.18.0.101 banned in both kernels" \
	wait_for 20 all_in_set fleet4 198.18.0.101
check "mx1's resync (reload) completed from the live coordinator: 11 bans (12 if 198.18.0.101's came first)" \
	wait_for 10 snap_after_reload
sleep 4 # one more ack timeout: a report counted twice would show now
check "all 13 events counted exactly once by the live coordinator ($(events_of 1))" \
	[ "$(events_of 1)" = 13 ]
resent() {
	s=$(metric state-mx1/mx1.prom 'bancluster_agent_reports_total{state="sent"}')
	a=$(metric state-mx1/mx1.prom 'bancluster_agent_reports_total{state="acked"}')
	[ "${s%.*}" -gt "${a%.*}" ] && [ "${a%.*}" -gt 0 ]
}
check "reports not acknowledged were sent again (sent > acked)" \
	wait_for 15 resent
sw=$(grep -c '^swallowed 1$' "$WORK/swallow.log")
check "the swallowing coordinator (7750) took the report in flight during the cut ($sw), counted once elsewhere" \
	[ "$sw" -ge 1 ]
moved=$(metric state-mx1/mx1.prom bancluster_agent_coordinator_switches_total)
# at least: the report from 7710 (cut) to 7750, then on from 7750 (and
# the start's snapshot request, when 7750's connection was up first)
check "mx1 moved on from an endpoint that did not answer at least twice: 7710 cut, 7750 silent ($moved)" \
	[ "${moved%.*}" -ge 2 ]
note "7750 swallowed $(grep -c '^swallowed 3$' "$WORK/swallow.log") snapshot requests, $(grep -c '^swallowed 2$' "$WORK/swallow.log") heartbeats"

# ---- duplicates from a second publisher ------------------------------------
applied() { metric "state-mx$1/mx$1.prom" bancluster_agent_updates_applied_total; }
# mx1 resynced on its reload (an update may have come in its snapshot):
# mx2, which never resynced, must have applied all 12 as updates
mx2_applied() { [ "$(applied 2)" = 12 ]; }
check "mx2 applied each of the 12 updates once ($(applied 2); mx1 $(applied 1))" \
	wait_for 15 mx2_applied
dups=$(metric state-mx2/mx2.prom bancluster_agent_updates_duplicate_total)
check "mx2 skipped the mirror's copy of every update ($dups duplicates, >= 12)" \
	[ "${dups%.*}" -ge 12 ]
check "no resync on mx2 but the one at start" \
	[ "$(grep -c 'resync:' "$WORK/mx2.log")" = 1 ]
check "no message rejected on mx2 (no 'rejected message' line)" \
	sh -c "! grep 'rejected message' '$WORK/mx2.log'"
rej=$(grep '^bancluster_agent_rejected_total' "$WORK/state-mx2/mx2.prom" |
	awk '{ s += $2 } END { print s + 0 }')
check "bancluster_agent_rejected_total of mx2 is 0 ($rej)" [ "$rej" = 0 ]
check "no resync on mx1 but the one at start and the reload's" \
	[ "$(grep -c 'resync:' "$WORK/mx1.log")" = 2 ]
# the mirror states wire 1..1 (a release behind), the coordinator 1..2:
# mx2 seals what it sends with 1, which both open, and says so once
check "mx2 logged each coordinator's wire range once (2 lines)" \
	[ "$(grep -c 'speaks wire' "$WORK/mx2.log")" = 2 ]
check "... the mirror's, and sends wire 1" \
	grep -qF "coordinator mirror-old speaks wire 1..1, this agent 1..2: sending wire 1" "$WORK/mx2.log"
wire_of_mx2() {
	bc status --json 2>/dev/null | python3 -c 'import json,sys; print([a["wire"] for a in json.load(sys.stdin)["agents"] if a["id"] == "mx2"][0])'
}
w2=$(wire_of_mx2)
check "the coordinator sees mx2's messages sealed as wire 1 ($w2)" [ "$w2" = 1 ]

# ---- enrolment with a list: the refused endpoint is retried ----------------
start_agent 3
check "mx3, not enrolled, logs the refusal naming the live endpoint of its list" \
	wait_for 10 grep -qE "warning: coordinator $C:771[01] refused this agent's key \(fingerprint" "$WORK/mx3.log"
P3=$(sed 's/^bancluster-ed25519-public //' "$WORK/mx3.pub")
bc agent add mx3 "$P3" >/dev/null || notok "agent add mx3"
MXN=3
check "after agent add, mx3 syncs without a restart (its refused endpoint connected again)" \
	wait_for 20 agents_synced
check "... and holds the fleet bans" wait_for 5 in_set 3 fleet4 203.0.113.10

# ---- the coordinator's host gone without a FIN, back with a new process ----
# its namespace deleted with its link down (no FIN, no RST reaches the
# agents: their connections stay open on their side), then made again
# and the coordinator started on the same address: only ZMTP heartbeats
# tell the SUB its connection is dead (it sends nothing else)
MAC=$(ns coord cat /sys/class/net/eth0/address) # the same host comes back
ns coord ip link set eth0 down
for p in $PIDS; do
	[ "$p" = "$AGENT_PID_1" ] || [ "$p" = "$AGENT_PID_2" ] ||
		[ "$p" = "$AGENT_PID_3" ] || kill -9 "$p" 2>/dev/null
done
sleep 0.5
ip netns pids "$NSP-coord" 2>/dev/null | xargs -r kill -9 2>/dev/null
sleep 0.3
ns br ip link del "${NSP}vcoord" # both ends: the new host gets the name
ip netns del "$NSP-coord"
PIDS="$AGENT_PID_1 $AGENT_PID_2 $AGENT_PID_3"
host_add coord 198.18.0.1 fd00::1
ns coord ip link set eth0 address "$MAC"
mark=$(wc -l <"$WORK/mx1.log")
start_coord
check "after the host came back, the three agents in sync with the new coordinator" \
	wait_for 20 agents_synced
sleep 6
mark2=$(wc -l <"$WORK/mx1.log")
bc ban 203.0.113.77 --for 1h >/dev/null || notok "ban 203.0.113.77"
check "a new ban reaches the three kernels within 3 s (the updates flow again)" \
	wait_for 3 all_in_set fleet4 203.0.113.77
sleep 4
silent=$(tail -n +"$((mark2 + 1))" "$WORK/mx1.log" | grep -c 'resync: coordinator silent')
check "mx1 stays in sync: no 'coordinator silent' resync 6 s after the restart ($silent)" \
	[ "$silent" = 0 ]
note "mx1 after the restart: $(tail -n +"$((mark + 1))" "$WORK/mx1.log" | grep -c 'resync:') resyncs"
fleet_done
