#!/bin/sh
# test_fleet.sh - Foundation: manual bans reach the kernel sets of three
# agents in network namespaces and block real TCP connections; unban,
# expiry, late joiners, kill -9 of either daemon, and forged admin keys.
. "$(dirname "$0")/lib.sh"

fleet_init 3
# ban digest through a stand-in sendmail that records argv and the mail
cat >"$WORK/sendmail" <<'SH'
#!/bin/sh
printf '%s\n' "$@" >"${0%/*}/mail.argv"
cat >"${0%/*}/mail.txt"
SH
chmod +x "$WORK/sendmail"
printf '[coordinator]\ndigest_to = admin@example.org\ndigest_interval = 2s\nsendmail = sendmail\n' >>"$WORK/coordinator.ini"
start_coord
# mx2's key belongs to the reader's own uid: only Landlock keeps it out of reach
chown nobody "$WORK/mx2.key"
# mx3 starts the way the shipped unit starts it: as the user, with
# CAP_NET_ADMIN in the ambient set, no root at all
start_agent_as_user() {
	chown -R nobody:nogroup "$WORK/state-mx$1"
	chown nobody "$WORK/mx$1.key"
	ip netns exec "$NSP-mx$1" setpriv --reuid=nobody --regid=nogroup --init-groups \
		--inh-caps=+net_admin --ambient-caps=+net_admin \
		"$BIN/bancluster-agent" -c "$WORK/mx$1.ini" >>"$WORK/mx$1.log" 2>&1 &
	eval "AGENT_PID_$1=$!"
	PIDS="$PIDS $!"
}
start_agent 1
start_agent 2
start_agent_as_user 3
start_listeners
att_addr 198.18.7.5
att_addr 198.18.8.5
att_addr fd00:0:0:7::5
att_addr fd00:0:0:8::5
check "three agents connect and sync" wait_for 10 agents_synced

# privilege separation: three processes, each with only what it needs
capeff() { awk '/^CapEff/ {print $2}' "/proc/$1/status"; }
uid_of() { awk '/^Uid/ {print $2}' "/proc/$1/status"; }
child() { for c in $(pgrep -P "$AGENT_PID_1"); do [ "$(cat /proc/$c/comm)" = "$1" ] && echo "$c"; done; }
RD=$(child bc-reader)
FW=$(child bc-firewall)
[ -n "$RD" ] && [ -n "$FW" ]; verdict "agent runs as signer, reader and firewall processes"
check "reader: no capability at all" [ "$(capeff "$RD")" = 0000000000000000 ]
check "reader: unprivileged user" [ "$(uid_of "$RD")" = "$(id -u nobody)" ]
check "reader cannot open the key file (its own check, logged)" grep -q 'reader: uid [0-9]*, capabilities 0, landlock on, key file out of reach' "$WORK/mx1.log"
check "reader: Landlock keeps out a key its uid owns" grep -q 'reader: uid [0-9]*, capabilities 0, landlock on, key file out of reach' "$WORK/mx2.log"
[ "$(capeff "$AGENT_PID_1")" = 0000000000000000 ] && [ "$(uid_of "$AGENT_PID_1")" != 0 ]; verdict "signer: no capability, unprivileged user"
check "firewall: CAP_NET_ADMIN alone" [ "$(capeff "$FW")" = 0000000000001000 ]
check "firewall: Landlock on (no file, no TCP from it)" grep -q 'firewall: uid [0-9]*, capabilities 1000, landlock on' "$WORK/mx1.log"
RD3=$(AGENT_PID_1=$AGENT_PID_3 child bc-reader)
FW3=$(AGENT_PID_1=$AGENT_PID_3 child bc-firewall)
[ -n "$RD3" ] && [ -n "$FW3" ]; verdict "started as the user with ambient CAP_NET_ADMIN: three processes"
[ "$(capeff "$RD3")" = 0000000000000000 ] && [ "$(capeff "$AGENT_PID_3")" = 0000000000000000 ]; verdict "  reader and signer: no capability"
[ "$(capeff "$FW3")" = 0000000000001000 ] && [ "$(awk '/^CapAmb/ {print $2}' "/proc/$FW3/status")" = 0000000000000000 ]; verdict "  firewall: CAP_NET_ADMIN alone, ambient set empty"
# a process that is not dumpable has its /proc files owned by root
undumpable() { [ "$(stat -c %u "/proc/$1/mem")" = 0 ]; }
undumpable "$AGENT_PID_3" && undumpable "$RD3" && undumpable "$FW3"; verdict "  signer, reader and firewall not dumpable: no ptrace by the same uid"
check "  reader: key out of reach" grep -q 'reader: uid [0-9]*, capabilities 0, landlock on, key file out of reach' "$WORK/mx3.log"

check "before any ban: connect from 198.18.7.5 to mx1" can_connect 198.18.7.5 198.18.0.11
check "before any ban: connect from fd00:0:0:7::5 to mx2" can_connect fd00:0:0:7::5 fd00::12

out=$(bc ban 198.18.7.0/24 --for 1h --reason "test /24")
check "ban /24 prints what it did" [ "$(echo "$out" | grep -c 'banned 198.18.7.0/24 for 1h')" = 1 ]
bc ban fd00:0:0:7::/64 --for 2h >/dev/null
bc ban 192.0.2.7 --for 1h >/dev/null
check "v4 /24 in fleet4 of every MX" wait_for 3 all_in_set fleet4 198.18.7.0/24
check "v6 /64 in fleet6 of every MX" wait_for 3 all_in_set fleet6 fd00:0:0:7::/64
check "v4 address in fleet4 of every MX" wait_for 3 all_in_set fleet4 192.0.2.7
check "the address is an element of the hash set fleet4, the /24 of fleet4_nets" \
	sh -c "ip netns exec $NSP-mx1 nft get element inet bancluster fleet4 '{ 192.0.2.7 }' >/dev/null &&
	ip netns exec $NSP-mx1 nft get element inet bancluster fleet4_nets '{ 198.18.7.0/24 }' >/dev/null &&
	ip netns exec $NSP-mx1 nft list set inet bancluster fleet4 | grep -q 'flags timeout\$' &&
	! ip netns exec $NSP-mx1 nft list set inet bancluster fleet4 | grep -q 198.18.7"
for i in 1 2 3; do
	check "mx$i: connect from inside the /24 fails" cannot_connect 198.18.7.5 198.18.0.1$i
	check "mx$i: connect from outside the /24 works" can_connect 198.18.8.5 198.18.0.1$i
	check "mx$i: connect from inside the /64 fails" cannot_connect fd00:0:0:7::5 fd00::1$i
	check "mx$i: connect from outside the /64 works" can_connect fd00:0:0:8::5 fd00::1$i
done
ip netns exec "$NSP-mx1" python3 -c 'import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(("0.0.0.0",8080));s.listen();time.sleep(30)' &
PIDS="$PIDS $!"
wait_for 5 sh -c "ip netns exec $NSP-mx1 ss -ltn | grep -q ':8080 '"
check "a non-protected port stays open to the banned /24" can_connect 198.18.7.5 198.18.0.11 8080
timeout_ms=$(ns mx1 nft -j list set inet bancluster fleet4_nets | python3 -c '
import json,sys
for o in json.load(sys.stdin)["nftables"]:
    s=o.get("set")
    if not s: continue
    for e in s.get("elem",[]):
        el=e.get("elem",{})
        v=el.get("val",{})
        if isinstance(v,dict) and v.get("prefix",{}).get("addr")=="198.18.7.0": print(el.get("timeout"))
')
[ "${timeout_ms:-0}" -ge 3590 ] && [ "${timeout_ms:-0}" -le 3600 ]; verdict "kernel timeout equals the ban's time ($timeout_ms s)"
list=$(bc list --json)
check "list --json shows the three bans" [ "$(echo "$list" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["bans"]))')" = 3 ]
check "list --json carries the reason" sh -c "echo '$list' | grep -q 'test /24'"

bc unban 198.18.7.0/24 >/dev/null
check "unban leaves every fleet4" wait_for 3 none_in_set fleet4 198.18.7.0/24
check "after unban: connect from 198.18.7.5 works again" can_connect 198.18.7.5 198.18.0.13
out=$(bc unban 198.18.7.0/24 2>&1)
rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q 'not banned'; verdict "unban of an address not banned: exit 1 + message"

bc ban 203.0.113.9 --for 3s >/dev/null
check "3 s ban reaches every MX" wait_for 3 all_in_set fleet4 203.0.113.9
sleep 3.2
check "3 s ban left every kernel set on time" none_in_set fleet4 203.0.113.9

# the digest: one mail, argv only, attacker text inert
bc ban 192.0.2.99 --for 1h --reason 'x"; touch /tmp/bc-pwned; $(id) `id`' >/dev/null
check "digest mailed through sendmail with a fixed argv" wait_for 6 sh -c "[ \"\$(tr '\n' ' ' <$WORK/mail.argv)\" = '-oi -- admin@example.org ' ]"
check "digest lists the new bans" wait_for 3 grep -q '192.0.2.99' "$WORK/mail.txt"
check "digest subject counts them" grep -q '^Subject: bancluster bancluster: [0-9]* new fleet ban' "$WORK/mail.txt"
check "a reason with shell syntax ran nothing" [ ! -e /tmp/bc-pwned ]

# a late agent gets the bans from the snapshot
kill "$AGENT_PID_3"
wait "$AGENT_PID_3" 2>/dev/null
ns mx3 nft delete table inet bancluster
check "mx3 table gone while its agent is down" sh -c "! ip netns exec $NSP-mx3 nft list table inet bancluster >/dev/null 2>&1"
start_agent_as_user 3
check "late agent gets existing bans from the snapshot" wait_for 5 in_set 3 fleet6 fd00:0:0:7::/64

# coordinator kill -9: bans survive, agents resync, new bans flow
bc ban 198.51.100.0/24 --for 1h >/dev/null
kill -9 "$COORD_PID"
wait "$COORD_PID" 2>/dev/null
check "coordinator down: kernel bans stay" all_in_set fleet4 198.51.100.5
start_coord
check "after restart: bans still listed" wait_for 5 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list | grep -q 198.51.100.0/24"
check "after restart: agents resync" wait_for 10 agents_synced
bc ban 198.51.100.77 --for 1h >/dev/null 2>&1
check "after restart: new bans flow" wait_for 3 all_in_set fleet4 198.51.100.77

# agent kill -9: kernel keeps the bans, restart gives exact state
kill -9 "$AGENT_PID_2"
wait "$AGENT_PID_2" 2>/dev/null
check "agent kill -9: kernel keeps the bans" in_set 2 fleet4 198.51.100.5
bc ban 203.0.113.200 --for 1h >/dev/null
start_agent 2
check "restarted agent gets the ban made while it was down" wait_for 5 in_set 2 fleet4 203.0.113.200
count=$(set_text 2 fleet4 | grep -o '198\.51\.100\.[0-9/]*' | sort | uniq -c | awk '{print $1}' | sort -u)
check "no duplicate elements after restart" [ "$count" = 1 ]
sets_of() { set_text "$1" fleet4 | grep -o '[0-9.]*/[0-9]*\|[0-9]*\.[0-9]*\.[0-9]*\.[0-9]*' | sort | tr '\n' ' '; }
# both non-empty: two MX that cannot list their sets would be "equal"
check "restarted agent holds exactly what mx1 holds" \
	sh -c '[ -n "$1" ] && [ "$1" = "$2" ]' - "$(sets_of 2)" "$(sets_of 1)"

# a ban signed by a key not in admins_dir changes nothing
"$BIN/bancluster" keygen --out "$WORK/intruder" >/dev/null
sed "s/admin.key/intruder.key/" "$WORK/cli.ini" >"$WORK/intruder.ini"
sed -i 's/timeout .*/timeout = 2s/' "$WORK/intruder.ini"
out=$(ns coord "$BIN/bancluster" -c "$WORK/intruder.ini" ban 192.0.2.66 2>&1)
rc=$?
check "unknown admin key: non-zero exit" [ "$rc" -ne 0 ]
check "unknown admin key: one-line error" [ "$(echo "$out" | wc -l)" = 1 ]
sleep 0.5
check "unknown admin key: nothing on any agent" none_in_set fleet4 192.0.2.66
check "unknown admin key: not listed" sh -c "! ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list | grep -q 192.0.2.66"
check "coordinator logged the refused CURVE key" grep -qE 'rejected connection: unknown_signer: CURVE key [0-9a-f]{64} is not in agents_dir or admins_dir' "$WORK/coordinator.log"

# agent SIGHUP: the protected ports follow agent.ini, kernel bans stay
sed -i 's/^ports = 25, 465, 587$/ports = 25, 8025/' "$WORK/mx1.ini"
kill -HUP "$AGENT_PID_1"
check "agent SIGHUP reload is logged" wait_for 3 grep -q 'reloaded' "$WORK/mx1.log"
check "after reload the new port list is in mx1's chain" sh -c "ip netns exec $NSP-mx1 nft list chain inet bancluster input | grep -q 8025"
check "after reload mx1 keeps its bans" in_set 1 fleet4 198.51.100.5
printf '[local]\nmaxretry = 0\n' >>"$WORK/mx1.ini"
kill -HUP "$AGENT_PID_1"
check "a broken agent.ini on SIGHUP is refused, the agent runs on" wait_for 3 grep -q 'reload refused' "$WORK/mx1.log"
check "the refused reload names the file and line" grep -q 'mx1.ini:[0-9]*: \[local\] maxretry' "$WORK/mx1.log"

# bad CLI input: one line naming the value, exit 64
for arg in "192.0.2.300" "192.0.2.0/33" "2001:db8::/129" "nonsense" "192.0.2.1/" "::ffff:1.2.3.4/95"; do
	out=$(bc ban "$arg" 2>&1)
	rc=$?
	[ "$rc" = 64 ] && echo "$out" | grep -qF "$arg"; verdict "ban $arg: exit 64 naming the value"
done
out=$(bc ban 192.0.2.1 --for 3x 2>&1)
[ $? = 64 ] && echo "$out" | grep -q '3x'; verdict "ban --for 3x: exit 64 naming the value"
out=$(bc frobnicate 2>&1)
[ $? = 64 ] && echo "$out" | grep -q frobnicate; verdict "unknown command: exit 64"
bc ban ::ffff:192.0.2.55 --for 1h >/dev/null
check "IPv4-mapped IPv6 is banned as IPv4" wait_for 3 all_in_set fleet4 192.0.2.55
out=$(bc ban 127.0.0.1 2>&1)
[ $? = 1 ] && echo "$out" | grep -q 'allow list'; verdict "allowlisted address refused without --force"
fleet_done
