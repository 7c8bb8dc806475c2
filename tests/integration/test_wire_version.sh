#!/bin/sh
# test_wire_version.sh - a mixed fleet during a rolling upgrade: a
# coordinator of this release (wire 1..2), an agent of this release (mx1)
# and an agent of the previous release (mx2, played by tests/tools/
# wire_peer: envelopes of version 1 without the fields of wire 2, and it
# checks that what the coordinator sends it is of version 1, all a wire
# 1 agent opens). The old agent's report is counted and its ban reaches
# both agents; `status` shows each agent's version and wire; an envelope
# of version 3 is rejected as unsupported_version (counted in /metrics,
# logged with the version seen), one without a version as bad_envelope.
# Then a coordinator of wire 1 (tests/tools/wire1_coord) replaces it: the
# agent of this release falls back to wire 1 and keeps working, and
# returns to wire 2 when this release's coordinator is back.
. "$(dirname "$0")/lib.sh"

VER=$(cat "$TOP/VERSION")
PEER="$BIN/tests/wire_peer"
[ -x "$PEER" ] || { echo "not ok - $PEER missing (make unit-bins)"; exit 1; }

fleet_init 2
sed -i '/^\[policy\]/i metrics_listen = 198.18.0.1:9712' "$WORK/coordinator.ini"
start_coord
start_agent 1
# mx2 is the old agent: its key is pinned, the new agent never started
peer() { ns mx2 "$PEER" "$WORK" mx2 tcp://198.18.0.1:7710 tcp://198.18.0.1:7711 "$@"; }
metric() { # metric REASON: bancluster_coordinator_rejected_total{reason}
	ns coord curl -s http://198.18.0.1:9712/metrics |
		awk -v r="bancluster_coordinator_rejected_total{reason=\"$1\"}" '$1 == r {print $2}'
}
mx1_synced() { bc status 2>/dev/null | grep -q '^mx1 .* in_sync '; }
check "mx1 (this release) in sync" wait_for 20 mx1_synced

# ---- this release on both ends ----------------------------------------
check "mx1 logs the coordinator's range once: coordinator $VER speaks wire 1..2, this agent 1..2: sending wire 2" \
	wait_for 5 sh -c "[ \$(grep -c 'coordinator $VER speaks wire 1..2, this agent 1..2: sending wire 2\$' $WORK/mx1.log) = 1 ]"
check "the coordinator logs mx1's versions: agent mx1 runs $VER, speaks wire 1..2" \
	grep -q "agent mx1 runs $VER, speaks wire 1\.\.2\$" "$WORK/coordinator.log"
check "coordinator start line names its version and wire 1..2" \
	grep -q "started: .*; version $VER, wire 1\.\.2\$" "$WORK/coordinator.log"
mx1_json() { # version, envelope version and range of mx1 in status --json
	bc status --json 2>/dev/null | python3 -c "import json,sys; a={x['id']: x for x in json.load(sys.stdin)['agents']}['mx1']; print(a['version'], a['wire'], a['wire_min'], a['wire_max'])"
}
mx1_is() { [ "$(mx1_json)" = "$1" ]; }
check "status --json: mx1 runs $VER, sends wire 2, states 1..2" \
	wait_for 5 mx1_is "$VER 2 1 2"

# ---- an agent of wire 1 ----------------------------------------------
peer hugz hb:1 report:1:5:198.18.5.5 update:198.18.5.5 >"$WORK/peer1.out" 2>"$WORK/peer1.err"
RC=$?
note "wire 1 agent: $(tr '\n' ';' <"$WORK/peer1.out") $(cat "$WORK/peer1.err")"
[ $RC -eq 0 ]
verdict "the wire 1 agent's steps all completed (exit $RC)"
check "the coordinator's hugz is of version 1 (a wire 1 agent opens it) and states wire 1..2, software $VER" \
	grep -qx "hugz version 1 wire 1\.\.2 software $VER" "$WORK/peer1.out"
check "its wire 1 report is acknowledged in version 1" \
	grep -qE '^ack [0-9]+ version 1$' "$WORK/peer1.out"
check "the ban its 5 events caused reaches it as an update of version 1" \
	grep -qx "update 198.18.5.5 version 1" "$WORK/peer1.out"
check "the same ban is in mx1's kernel (this release's agent)" \
	wait_for 5 in_set 1 fleet4 198.18.5.5
check "the coordinator counted the wire 1 agent's 5 events" \
	[ "$(events_of 2)" = 5 ]
check "the coordinator logs: agent mx2 states no version: an agent of wire 1 (an older release)" \
	grep -q "agent mx2 states no version: an agent of wire 1 (an older release)\$" "$WORK/coordinator.log"
bc status >"$WORK/status.txt" 2>&1
note "status: $(tr '\n' '|' <"$WORK/status.txt")"
check "status: coordinator version $VER, wire 1..2" \
	grep -qx "coordinator version $VER, wire 1\.\.2" "$WORK/status.txt"
check "status header ends with VERSION and WIRE" \
	grep -qE '^AGENT +STATE +LAST SEEN +APPLIED +BANS +EVENTS +VERSION +WIRE$' "$WORK/status.txt"
check "status: mx1 $VER 1..2" \
	grep -qE "^mx1 .* $VER +1\.\.2\$" "$WORK/status.txt"
check "status: mx2 (wire 1) unknown 1, 5 events" \
	grep -qE "^mx2 .* 5 +unknown +1\$" "$WORK/status.txt"
bc status --json >"$WORK/status.json"
check "status --json: mx2 version null, wire 1, no range; coordinator $VER 1..2" \
	python3 -c "
import json, sys
s = json.load(open('$WORK/status.json'))
a = {x['id']: x for x in s['agents']}['mx2']
c = s['coordinator']
sys.exit(not (a['version'] is None and a['wire'] == 1 and a['wire_min'] is None
	and a['wire_max'] is None and a['events'] == 5 and c['version'] == '$VER'
	and c['wire_min'] == 1 and c['wire_max'] == 2))"

# ---- local bans (issue 14) never reach an agent of wire 1 ---------------
# mx1 bans 198.18.7.7 alone (10 events: its [local] maxretry); an unban
# lifts it there; the wire 1 agent, heartbeating meanwhile, sees nothing
# but types and versions of wire 1 (the fleet ban and its removal)
peer hb:1 quiet:6000 >"$WORK/peer4.out" 2>"$WORK/peer4.err" &
QPID=$!
ns mx1 "$BIN/bancluster" report 198.18.7.7 --kind auth_fail --count 10 \
	--socket "$WORK/state-mx1/agent.sock" >/dev/null 2>&1
check "mx1 bans 198.18.7.7 locally" wait_for 5 in_set 1 local4 198.18.7.7
check "list --local shows it on mx1" wait_for 6 sh -c \
	"ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list --local | grep -Eq '^mx1 +198\.18\.7\.7 '"
bc unban 198.18.7.7 >"$WORK/u4.out" 2>&1
check "unban lifts it on mx1 ($(cat "$WORK/u4.out"))" \
	grep -Eq 'locally: 198\.18\.7\.7 on mx1$' "$WORK/u4.out"
check "gone from mx1's local4" wait_for 2 sh -c "! ip netns exec $NSP-mx1 nft get element inet bancluster local4 '{ 198.18.7.7 }' >/dev/null 2>&1"
wait "$QPID"
RC=$?
note "wire 1 agent while a local ban was made and lifted: $(cat "$WORK/peer4.out" "$WORK/peer4.err")"
[ $RC -eq 0 ] && grep -qE '^quiet [0-9]+ frames, all of wire 1$' "$WORK/peer4.out"
verdict "the wire 1 agent got only messages of wire 1 types in version 1 (no local_bans/local_lift)"
check "the coordinator names mx2 as reporting no local list" sh -c \
	"ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list --local | grep -q '^mx2: list not reported'"

# ---- replies follow the request's version ------------------------------
peer report:2:1:198.18.5.9 >"$WORK/peer2.out" 2>&1
check "a report in version 2 from the same key is acknowledged in version 2" \
	grep -qE '^ack [0-9]+ version 2$' "$WORK/peer2.out"

# ---- versions this release does not speak -----------------------------
check "no unsupported_version before" [ "$(metric unsupported_version)" = 0 ]
envs=$(metric bad_envelope)
peer hb:3 hb:3 hb:0 hb:1 >"$WORK/peer3.out" 2>&1
unsupported_is() { [ "$(metric unsupported_version)" = "$1" ]; }
check "two version 3 envelopes: bancluster_coordinator_rejected_total{reason=\"unsupported_version\"} 2 ($(metric unsupported_version))" \
	wait_for 3 unsupported_is 2
check "an envelope without a version: bad_envelope +1 ($envs -> $(metric bad_envelope))" \
	[ "$(metric bad_envelope)" = $((envs + 1)) ]
check "the log names the version seen and the range spoken" \
	grep -q 'rejected message: unsupported_version: wire 3, this coordinator speaks 1\.\.2 (total 2)$' "$WORK/coordinator.log"
check "the version 3 envelope never reads as bad_envelope in the log" \
	sh -c "! grep -q 'rejected message: bad_envelope.*wire 3' $WORK/coordinator.log"
check "events unchanged by the rejected envelopes (6)" [ "$(events_of 2)" = 6 ]
check "mx1 is still in sync" wait_for 5 mx1_synced

# ---- a coordinator of wire 1 (rolled back, or agents upgraded first) --
# tests/tools/wire1_coord answers like the releases before: hugz without
# versions, envelopes of version 1 only; its third hugz says version 3
kill "$COORD_PID"
wait "$COORD_PID" 2>/dev/null
ns coord "$BIN/tests/wire1_coord" "$WORK" tcp://198.18.0.1:7710 tcp://198.18.0.1:7711 8 \
	>"$WORK/wire1_coord.out" 2>&1
note "wire 1 coordinator saw: $(sort "$WORK/wire1_coord.out" | uniq -c | tr -s ' \n' ' ')"
check "mx1 falls back: coordinator states no version: it speaks wire 1 only (an older release), this agent 1..2: sending wire 1" \
	grep -q 'coordinator states no version: it speaks wire 1 only (an older release), this agent 1\.\.2: sending wire 1$' "$WORK/mx1.log"
check "the wire 1 coordinator opens mx1's heartbeats (version 1, stating 1..2 and $VER)" \
	grep -qx "heartbeat from mx1 version 1 wire 1\.\.2 software $VER" "$WORK/wire1_coord.out"
check "mx1 resynced from it (snapshot request in version 1)" \
	grep -qx "snapshot for mx1" "$WORK/wire1_coord.out"
check "after its first version 1 heartbeat, nothing of version 2 from mx1" \
	awk '/^heartbeat from mx1 version 1/ {v1 = 1} v1 && /^rejected version 2/ {bad = 1} END {exit !(v1 && !bad)}' "$WORK/wire1_coord.out"
check "mx1 rejects a hugz of version 3: unsupported_version: wire 3, this agent speaks 1..2" \
	grep -q 'rejected message on updates: unsupported_version: wire 3, this agent speaks 1\.\.2 (total 1)$' "$WORK/mx1.log"
start_coord
check "coordinator of this release back: mx1 in sync" wait_for 20 mx1_synced
check "mx1 logs the coordinator's range again (second time): sending wire 2" \
	wait_for 5 sh -c "[ \$(grep -c 'coordinator $VER speaks wire 1..2, this agent 1..2: sending wire 2\$' $WORK/mx1.log) = 2 ]"
check "status --json: mx1 sends wire 2 again" wait_for 5 mx1_is "$VER 2 1 2"

fleet_done
