#!/bin/sh
# test_demo_ha.sh - `make demo-ha` reports what it shows, and says when it
# fails. Runs tests/demo_ha.sh twice: as shipped (exit 0, the leader's
# kill narrated, another coordinator leading and the killed one gone from
# status, the attacker blocked on all three MX, the latency printed once,
# nothing left behind); and with the
# agents protecting a port the attacker does not use (the ban lands in
# every kernel but blocks nothing: exit 1, one line naming mx1 and the
# missing outcome, no success claimed, no namespace left). Skips when
# /usr/bin/etcd is missing, as test_cluster.sh does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"
if [ ! -x "$ETCD_BIN" ]; then
	ok "# SKIP $ETCD_BIN missing (apt-get install etcd-server etcd-client, or make deps)"
	exit 0
fi
W=$(mktemp -d /tmp/bc-demoha-test.XXXXXX)
trap 'rm -rf "$W"' EXIT
P=${NSP:-bct}

NSP=${P}h1 B=$B sh "$TOP/tests/demo_ha.sh" >"$W/ok.out" 2>&1
rc=$?
check "demo-ha as shipped exits 0" [ $rc -eq 0 ]
check "demo-ha as shipped: ok line, blocked on all three MX after the leader's kill" \
	grep -qE '^demo: ok: the attacker was blocked on all three MX after the leading coordinator c[123] was killed -9 mid-attack$' "$W/ok.out"
check "demo-ha as shipped: the kill of the leader narrated" \
	grep -qE '^\$ kill -9 [0-9]+   # bancluster-coordinator c[123], the leader$' "$W/ok.out"
check "demo-ha as shipped: another coordinator leads after the kill" \
	grep -qE '^   c[123] leads [0-9]+ ms after the kill' "$W/ok.out"
check "demo-ha as shipped: the killed leader gone from a survivor's status" \
	grep -qE '^   c[123] is gone from the coordinators' "$W/ok.out"
check "demo-ha as shipped: every probe after the ban blocked (3 MX)" \
	[ "$(grep -c '198.18.0.100 -> mx[123]:587  BLOCKED' "$W/ok.out")" -eq 3 ]
check "demo-ha as shipped: latency printed once, in ms" \
	[ "$(grep -cE '^   in the kernel of all three MX [0-9]+ ms after the 5th guess' "$W/ok.out")" -eq 1 ]
check "demo-ha as shipped: time from the kill to the ban printed once" \
	[ "$(grep -cE '^   and [0-9]+ ms after c[123] was killed' "$W/ok.out")" -eq 1 ]
check "demo-ha as shipped left no namespace" \
	sh -c "! ip netns list | grep -q '^${P}h1-'"
[ $rc -eq 0 ] || tail -20 "$W/ok.out" | sed 's/^/#   /'

NSP=${P}h2 DEMO_PORTS=2525 B=$B sh "$TOP/tests/demo_ha.sh" >"$W/ports.out" 2>&1
rc=$?
check "demo-ha whose ban blocks nothing exits 1" [ $rc -eq 1 ]
check "demo-ha whose ban blocks nothing names mx1 and the outcome in one line" \
	grep -qx 'demo: FAILED: 198.18.0.100 not blocked on mx1:587 (fleet4 holds it but port 587 is not protected (\[firewall\] ports = 2525))' "$W/ports.out"
check "demo-ha whose ban blocks nothing: one FAILED line" \
	[ "$(grep -c '^demo: FAILED' "$W/ports.out")" -eq 1 ]
check "demo-ha whose ban blocks nothing claims no success" \
	sh -c "! grep -q '^demo: ok' '$W/ports.out'"
check "demo-ha whose ban blocks nothing left no namespace" \
	sh -c "! ip netns list | grep -q '^${P}h2-'"
[ $rc -eq 1 ] || tail -20 "$W/ports.out" | sed 's/^/#   /'
echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
