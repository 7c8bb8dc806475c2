#!/bin/sh
# test_intake_pool.sh - the coordinator's intake under a burst: the
# reports of one pass over its ROUTER socket are verified on two cores
# (the verify pool), stored in one transaction (group commit) and acked
# after its commit. An agent (tests/tools/wire_peer, playing mx2) sends
# 400 single-event reports back to back, every 8th with a flipped
# signature bit, then 400 more without any: every good report is acked
# and counted once, no forged one is acked or counted, each forged one
# is counted as bad_signature in /metrics, and mx1 (a real agent) stays
# in sync throughout.
. "$(dirname "$0")/lib.sh"

PEER="$BIN/tests/wire_peer"
[ -x "$PEER" ] || { echo "not ok - $PEER missing (make unit-bins)"; exit 1; }

fleet_init 2
sed -i '/^\[policy\]/i metrics_listen = 198.18.0.1:9712' "$WORK/coordinator.ini"
# counting only: no ban from the burst's addresses
sed -i 's/^maxretry = 5$/maxretry = 1000/' "$WORK/coordinator.ini"
start_coord
start_agent 1
mx1_synced() { bc status 2>/dev/null | grep -q '^mx1 .* in_sync '; }
events_are() { [ "$(events_of 2)" = "$1" ]; }
check "mx1 in sync" wait_for 20 mx1_synced
peer() { ns mx2 "$PEER" "$WORK" mx2 tcp://198.18.0.1:7710 tcp://198.18.0.1:7711 "$@"; }
metric() { # metric REASON: bancluster_coordinator_rejected_total{reason}
	ns coord curl -s http://198.18.0.1:9712/metrics |
		awk -v r="bancluster_coordinator_rejected_total{reason=\"$1\"}" '$1 == r {print $2}'
}
SIG0=$(metric bad_signature)

peer burst:400:8:198.18.7 >"$WORK/burst1.out" 2>"$WORK/burst1.err"
RC=$?
note "burst 1: $(cat "$WORK/burst1.out") $(cat "$WORK/burst1.err")"
check "burst of 400 with 50 forged: exit 0 (no forged report acked)" [ $RC -eq 0 ]
check "... every one of the 350 good reports acked" \
	grep -qx "burst acked 350 of 350 good, sent 50 forged" "$WORK/burst1.out"
check "... the coordinator counted exactly their 350 events" wait_for 5 events_are 350
check "... and rejected the 50 forged ones as bad_signature ($(metric bad_signature) after ${SIG0:-0})" \
	[ "$(metric bad_signature)" = $((${SIG0:-0} + 50)) ]

peer burst:400:0:198.18.8 >"$WORK/burst2.out" 2>"$WORK/burst2.err"
RC=$?
note "burst 2: $(cat "$WORK/burst2.out") $(cat "$WORK/burst2.err")"
check "burst of 400 good ones: all acked" \
	sh -c '[ "$1" = 0 ] && grep -qx "burst acked 400 of 400 good, sent 0 forged" "$2"' - $RC "$WORK/burst2.out"
check "... 750 events counted in all" wait_for 5 events_are 750
check "... the report rows match: 750 stored for mx2" \
	[ "$(sqlite3 "$WORK/coordinator.db" "SELECT count(*) FROM reports WHERE sender = 'mx2'")" = 750 ]
check "mx1 still in sync" wait_for 5 mx1_synced
fleet_done
