#!/bin/sh
# test_demo.sh - `make demo` reports what it shows, and says when it fails.
# Runs tests/demo.sh three times: as shipped (exit 0, the attacker blocked
# on all three MX, a latency printed); with the agents protecting a port
# the attacker does not use (the ban lands in every kernel but blocks
# nothing: exit 1, one line naming mx1 and the missing outcome, no
# "blocked on all three" claim); and with swaks unable to STARTTLS (exit 1
# before anything starts, naming the missing Perl module).
. "$(dirname "$0")/lib.sh"
W=$(mktemp -d /tmp/bc-demo-test.XXXXXX)
trap 'rm -rf "$W"' EXIT

NSP=${NSP:-bct}d1 B=$B sh "$TOP/tests/demo.sh" >"$W/ok.out" 2>&1
rc=$?
check "demo as shipped exits 0" [ $rc -eq 0 ]
check "demo as shipped: attacker blocked on all three MX" \
	grep -q '^demo: ok: the attacker was blocked on all three MX' "$W/ok.out"
check "demo as shipped: every probe after the ban blocked (3 MX)" \
	[ "$(grep -c '198.18.0.100 -> mx[123]:587  BLOCKED' "$W/ok.out")" -eq 3 ]
check "demo as shipped: latency printed once, in ms" \
	grep -qE '^   in the kernel of all three MX [0-9]+ ms after' "$W/ok.out"
[ $rc -eq 0 ] || tail -20 "$W/ok.out" | sed 's/^/#   /'

NSP=${NSP:-bct}d2 DEMO_PORTS=2525 B=$B sh "$TOP/tests/demo.sh" >"$W/ports.out" 2>&1
rc=$?
check "demo whose ban blocks nothing exits 1" [ $rc -eq 1 ]
check "demo whose ban blocks nothing names mx1 and the outcome" \
	grep -qx 'demo: FAILED: 198.18.0.100 not blocked on mx1:587 (fleet4 holds it but port 587 is not protected (\[firewall\] ports = 2525))' "$W/ports.out"
check "demo whose ban blocks nothing claims no success" \
	sh -c "! grep -q '^demo: ok' '$W/ports.out'"
check "demo whose ban blocks nothing left no namespace" \
	sh -c "! ip netns list | grep -q '^${NSP:-bct}d2-'"

mkdir -p "$W/bin"
printf '#!/bin/sh\nexit 2\n' >"$W/bin/perl"
chmod +x "$W/bin/perl"
PATH="$W/bin:$PATH" NSP=${NSP:-bct}d3 B=$B sh "$TOP/tests/demo.sh" >"$W/tls.out" 2>&1
rc=$?
check "demo without Net::SSLeay exits 1" [ $rc -eq 1 ]
check "demo without Net::SSLeay says swaks cannot STARTTLS" \
	grep -q '^demo: FAILED: swaks cannot STARTTLS: Perl module Net::SSLeay missing' "$W/tls.out"
check "demo without Net::SSLeay starts nothing" \
	sh -c "! grep -q 'Building the fleet' '$W/tls.out'"
echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
