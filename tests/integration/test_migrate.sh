#!/bin/sh
# test_migrate.sh - an agent that finds the kernel layout before the split
# (fleet4, fleet6, local4, local6 as interval sets holding every ban, as an
# older agent left them) replaces it in one transaction: the same bans end
# up in the hash sets (single addresses) and the _nets sets (ranges) with
# their remaining timeouts, nft monitor sees one new generation doing all
# of it, and no connection from a banned address gets through meanwhile.
. "$(dirname "$0")/lib.sh"

fleet_init 2
start_coord
start_listeners
att_addr 198.18.9.5
att_addr 198.18.7.5
att_addr 198.18.8.5
wait_for 5 sh -c "ip netns exec $NSP-coord ss -ltn | grep -q ':7710 '"
bc ban 198.18.9.5 --for 1h >/dev/null
bc ban 198.18.7.0/24 --for 2h >/dev/null
bc ban fd00:0:0:7::/64 --for 1h >/dev/null
check "three fleet bans at the coordinator" \
	sh -c "[ \$(ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list | grep -c -e 198.18.9.5 -e 198.18.7.0/24 -e fd00:0:0:7::/64) = 3 ]"

# what an agent before the split left in mx1's kernel: the same bans, one
# local ban, every one of them in an interval set
cat >"$WORK/old.nft" <<'NFT'
table inet bancluster {
	set fleet4 { type ipv4_addr; flags interval,timeout;
		elements = { 198.18.9.5 timeout 1h, 198.18.7.0/24 timeout 2h } }
	set fleet6 { type ipv6_addr; flags interval,timeout;
		elements = { fd00:0:0:7::/64 timeout 1h } }
	set local4 { type ipv4_addr; flags interval,timeout;
		elements = { 198.18.9.6 timeout 10m } }
	set local6 { type ipv6_addr; flags interval,timeout; }
	chain input {
		type filter hook input priority -10; policy accept;
		meta nfproto ipv4 ip saddr @fleet4 tcp dport { 25, 465, 587 } counter drop
		meta nfproto ipv6 ip6 saddr @fleet6 tcp dport { 25, 465, 587 } counter drop
		meta nfproto ipv4 ip saddr @local4 tcp dport { 25, 465, 587 } counter drop
		meta nfproto ipv6 ip6 saddr @local6 tcp dport { 25, 465, 587 } counter drop
	}
}
NFT
check "old layout loaded into mx1" ns mx1 nft -f "$WORK/old.nft"
check "before: fleet4 is an interval set holding the host" \
	sh -c "ip netns exec $NSP-mx1 nft list set inet bancluster fleet4 | grep -q 'flags interval,timeout' &&
	ip netns exec $NSP-mx1 nft get element inet bancluster fleet4 '{ 198.18.9.5 }' >/dev/null"
check "before: no fleet4_nets" sh -c "! ip netns exec $NSP-mx1 nft list set inet bancluster fleet4_nets >/dev/null 2>&1"
check "before: 198.18.9.5 -> mx1:25 dropped" cannot_connect 198.18.9.5 198.18.0.11
check "before: 198.18.7.5 -> mx1:25 dropped" cannot_connect 198.18.7.5 198.18.0.11
check "before: 198.18.8.5 -> mx1:25 connects" can_connect 198.18.8.5 198.18.0.11

# probe SRC SECONDS: connect to mx1:25 again and again (20 ms per try),
# print "tries connected"
probe() {
	ns att python3 -c '
import select, socket, sys, time
src, secs = sys.argv[1], float(sys.argv[2])
end = time.time() + secs
tries = ok = 0
while time.time() < end:
    s = socket.socket()
    s.setblocking(False)
    s.bind((src, 0))
    try:
        s.connect(("198.18.0.11", 25))
    except BlockingIOError:
        pass
    w = select.select([], [s], [], 0.02)[1]
    if w and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
        ok += 1
    tries += 1
    s.close()
print(tries, ok)' "$1" "$2"
}

ip netns exec "$NSP-mx1" stdbuf -oL nft monitor >"$WORK/monitor.txt" 2>&1 &
MONPID=$!
PIDS="$PIDS $MONPID"
sleep 0.5
probe 198.18.9.5 5 >"$WORK/probe.host" &
P1=$!
probe 198.18.7.5 5 >"$WORK/probe.net" &
P2=$!
probe 198.18.8.5 5 >"$WORK/probe.free" &
P3=$!
sleep 1
start_agent 1
start_agent 2
check "agents connect and sync" wait_for 10 agents_synced
wait "$P1" "$P2" "$P3"
sleep 1
kill "$MONPID" 2>/dev/null

check "agent logs the migration" \
	grep -q 'firewall: old layout replaced in one transaction: 4 elements moved' "$WORK/mx1.log"
check "mx2 (fresh table) logs none" sh -c "! grep -q 'old layout' $WORK/mx2.log"
read -r t1 c1 <"$WORK/probe.host"
read -r t2 c2 <"$WORK/probe.net"
read -r t3 c3 <"$WORK/probe.free"
note "probes: host $c1/$t1, /24 $c2/$t2, free $c3/$t3 connected"
[ "${t1:-0}" -ge 20 ] && [ "${c1:-1}" = 0 ]
verdict "during the migration 198.18.9.5 never connected ($c1 of $t1)"
[ "${t2:-0}" -ge 20 ] && [ "${c2:-1}" = 0 ]
verdict "during the migration 198.18.7.5 (in the /24) never connected ($c2 of $t2)"
# the control shows the probe can connect at all (a few tries may miss
# their 20 ms on a loaded machine)
[ "${t3:-0}" -ge 20 ] && [ "$((${c3:-0} * 10))" -ge "$((t3 * 9))" ]
verdict "the control 198.18.8.5 connected (at least 90 %: $c3 of $t3)"

# the first generation after the monitor started is the agent's open:
# every change of the migration is in it
sed -n '1,/^# new generation/p' "$WORK/monitor.txt" >"$WORK/gen1.txt"
check "first generation made by the agent" grep -q '^# new generation [0-9]* by process [0-9]* (bancluster-agen' "$WORK/gen1.txt"
for want in \
	'^delete set inet bancluster fleet4$' \
	'^delete set inet bancluster local4$' \
	'^add set inet bancluster fleet4 { type ipv4_addr; flags timeout; gc-interval 1m; }' \
	'^add set inet bancluster fleet4_nets { type ipv4_addr; flags interval,timeout; }' \
	'^add element inet bancluster fleet4 { 198.18.9.5 timeout ' \
	'^add element inet bancluster fleet4_nets { 198.18.7.0/24 timeout ' \
	'^add element inet bancluster fleet6_nets { fd00:0:0:7::/64 timeout ' \
	'^add element inet bancluster local4 { 198.18.9.6 timeout ' \
	'^add rule inet bancluster input .*ip saddr @fleet4_nets tcp dport { 25, 465, 587 } counter packets 0 bytes 0 drop'; do
	grep -q "$want" "$WORK/gen1.txt"; verdict "one transaction: $want"
done

check "after: 198.18.9.5 in the hash set fleet4" in_set 1 fleet4 198.18.9.5
# has_elem SET ELEM: ELEM is in exactly the set SET of mx1
has_elem() { ns mx1 nft get element inet bancluster "$1" "{ $2 }" >/dev/null 2>&1; }
check "after: 198.18.9.5 is an element of fleet4 itself" has_elem fleet4 198.18.9.5
check "after: 198.18.7.0/24 in fleet4_nets" has_elem fleet4_nets 198.18.7.0/24
check "after: the /64 in fleet6_nets" has_elem fleet6_nets fd00:0:0:7::/64
check "after: the local ban in local4" has_elem local4 198.18.9.6
left=$(kernel_timeout 1 local4 198.18.9.6)
[ "${left:-0}" -gt 540 ] && [ "${left:-0}" -le 600 ]
verdict "the local ban kept its remaining timeout ($left s of 600)"
left=$(kernel_timeout 1 fleet4 198.18.9.5)
[ "${left:-0}" -gt 3500 ] && [ "${left:-0}" -le 3600 ]
verdict "the fleet host kept its timeout ($left s of 3600)"
check "after: fleet4 is a hash set with timeouts" \
	sh -c "ip netns exec $NSP-mx1 nft list set inet bancluster fleet4 | grep -q 'flags timeout\$'"
check "after: 198.18.9.5 and 198.18.7.5 -> mx1:25 dropped, 198.18.8.5 connects" \
	sh -c "! ip netns exec $NSP-att nc -z -w 1 -s 198.18.9.5 198.18.0.11 25 &&
	! ip netns exec $NSP-att nc -z -w 1 -s 198.18.7.5 198.18.0.11 25 &&
	ip netns exec $NSP-att nc -z -w 1 -s 198.18.8.5 198.18.0.11 25"
sets_of() { set_text "$1" fleet4 | grep -o '[0-9.]*/[0-9]*\|[0-9]*\.[0-9]*\.[0-9]*\.[0-9]*' | sort | tr '\n' ' '; }
# both non-empty: two MX that cannot list their sets would be "equal"
check "mx1 (migrated) holds what mx2 (fresh) holds" \
	sh -c '[ -n "$1" ] && [ "$1" = "$2" ]' - "$(sets_of 1)" "$(sets_of 2)"
check "audit fleet: both agents in sync" wait_for 5 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini audit fleet | grep -q 'all agents in sync'"
fleet_done
