#!/bin/sh
# test_etcd.sh - the coordinator's etcd client (coordinator/etcd.h, the
# foundation of cluster mode, docs/ha.md) against a real three-member
# etcd 3.4 cluster with client-certificate TLS (tests/integration/etcd.sh),
# driven by tests/tools/etcd_probe:
#   - kv: put, get, prefix get at a revision, txn compares on value,
#     version, create and mod revision both ways, delete, binary keys;
#   - lease: a key on a lease gone after revoke; a txn fenced on a lease
#     that expired fails; a put on it is refused;
#   - watch: events in revision order from a given revision; cancel from
#     another thread; a compacted start revision is COMPACTED;
#   - TLS: a client without a certificate is refused (error, no data);
#   - malformed and oversized replies of a fake server are clean errors;
#   - bench: put, txn of 100 puts, lease-fenced txn (figures as "# bench");
#   - failover: kill -9 of the member the client talks to, then of the
#     leader: the next put succeeds through another endpoint in bound.
# Skips (one ok line saying so) when /usr/bin/etcd is missing. Env: B,
# NSP, ETCD_BENCH (calls per bench, default 300), ETCD_KILLS (leader kills,
# default 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"

if [ ! -x "$ETCD_BIN" ]; then
	ok "# SKIP $ETCD_BIN missing (apt-get install etcd-server etcd-client, or make deps)"
	exit 0
fi
PROBE=$BIN/tests/etcd_probe
if [ ! -x "$PROBE" ]; then
	notok "$PROBE: not built (make unit-bins B=$B)"
	exit 1
fi
FAKE_PID=""
cleanup() {
	[ -n "$FAKE_PID" ] && kill -9 "$FAKE_PID" 2>/dev/null
	if [ "$FAIL" -gt 0 ] && [ -n "${ETCD_DIR:-}" ]; then
		for f in "$ETCD_DIR"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- tail of $(basename "$f")"
			tail -8 "$f" | cut -c1-300 | sed 's/^/#   /'
		done
	fi
	etcd_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

etcd_init || { notok "etcd_init"; exit 1; }
etcd_start_all
if etcd_wait_healthy 30; then
	ok "three etcd members with client-certificate TLS healthy"
else
	notok "three etcd members healthy within 30 s"
	exit 1
fi
# probe ARGS: etcd_probe on the cluster; a non-zero exit without a "not ok"
# line of its own (a sanitizer's report, a crash) is a failure too
checked() {
	"$@" >"$ETCD_DIR/probe.out" 2>&1
	_rc=$?
	cat "$ETCD_DIR/probe.out"
	if [ "$_rc" -ne 0 ] && ! grep -q '^not ok - ' "$ETCD_DIR/probe.out"; then
		notok "etcd_probe $* exited $_rc"
	fi
}
probe() { checked etcd_run "$PROBE" -e "$ETCD_EP" -c "$ETCD_CERT" -k "$ETCD_KEY" -a "$ETCD_CA" "$@"; }

probe kv
probe lease
probe watch

# TLS: the server requires a client certificate
out=$(etcd_run "$PROBE" -e "$ETCD_EP_1" -a "$ETCD_CA" -t 2000 put /hx/nocert x 2>&1)
rc=$?
case "$out" in
*revision*) notok "put without a client certificate was accepted: $out" ;;
*) [ "$rc" -ne 0 ] && ok "put without a client certificate refused: $out" ||
	notok "put without a client certificate: exit $rc: $out" ;;
esac
out=$(etcd_run "$PROBE" -e "$ETCD_EP" -a "$ETCD_CA" -t 2000 status 2>&1)
rc=$?
# (the TLS alert or the closed connection, whichever curl sees first)
case "$out" in
*leader*) notok "status without a client certificate answered: $out" ;;
*"etcd_probe: etcd https://"*) [ "$rc" -ne 0 ] && ok "status without a client certificate refused by every member: $out" ||
	notok "status without a client certificate: exit $rc: $out" ;;
*) notok "status without a client certificate: exit $rc: $out" ;;
esac
# and the client checks the server against the CA it was given
out=$(etcd_run "$PROBE" -e "$ETCD_EP_1" -c "$ETCD_CERT" -k "$ETCD_KEY" -a "$ETCD_DIR/pki/client.pem" \
	-t 2000 put /hx/wrongca x 2>&1)
rc=$?
[ "$rc" -ne 0 ] && ok "server certificate not signed by the given CA refused: $out" ||
	notok "server certificate with the wrong CA: exit $rc: $out"
out=$(etcdctl_ get /hx/nocert --print-value-only 2>&1)
[ -z "$out" ] && ok "nothing written without a client certificate" ||
	notok "a key written without a client certificate: $out"

# malformed replies: a fake gateway in the same namespace
# (ip netns exec execs python3 in this background job: $! is the fake's
# own pid; through the etcd_run function it was a subshell's, and the
# fake outlived the test)
ip netns exec "$(etcd_ns 1)" python3 "$(dirname "$0")/etcd_fake.py" 23799 >/dev/null 2>&1 &
FAKE_PID=$!
wait_for 10 sh -c "ip netns exec $(etcd_ns 1) ss -ltnH 'sport = :23799' | grep -q ." ||
	note "fake server not listening after 10 s"
checked etcd_run "$PROBE" -e http://127.0.0.1:23799,http://127.0.0.1:23799 -t 1000 -m 1048576 malformed

probe bench "${ETCD_BENCH:-300}"

# failover: the member the client talks to, then the leader
pids="$ETCD_EP_1=$ETCD_PID_1 $ETCD_EP_2=$ETCD_PID_2 $ETCD_EP_3=$ETCD_PID_3"
# shellcheck disable=SC2086
probe failover 3000 $pids
restart_killed() {
	for i in 1 2 3; do
		eval "p=\$ETCD_PID_$i"
		if ! kill -0 "$p" 2>/dev/null; then
			wait "$p" 2>/dev/null
			etcd_start "$i"
		fi
	done
	etcd_wait_healthy 30 && ok "killed member restarted on its data dir, cluster healthy" ||
		notok "killed member restarted, cluster healthy within 30 s"
}
restart_killed
k=0
while [ "$k" -lt "${ETCD_KILLS:-1}" ]; do
	pids="$ETCD_EP_1=$ETCD_PID_1 $ETCD_EP_2=$ETCD_PID_2 $ETCD_EP_3=$ETCD_PID_3"
	# shellcheck disable=SC2086
	probe leaderkill 3000 $pids
	restart_killed
	k=$((k + 1))
done
echo "# $PASS passed, $FAIL failed (plus the probe's lines)"
