#!/bin/sh
# test_dropin.sh - configuration drop-ins as configuration management
# writes them: the coordinator started with coordinator.d/50-policy.ini
# lowering maxretry from 5 to 2 bans after 2 failures; the agent's mail
# log source comes from a drop-in of its own (mx1.d/50-mail.ini); the CLI
# finds its coordinator through cli.d/; --check-config names the drop-ins
# it read and refuses a bad one with the drop-in's FILE:LINE; SIGHUP
# re-reads them. Env: B, NSP.
. "$(dirname "$0")/lib.sh"

fleet_init 1
# coordinator: the main file keeps maxretry = 5, a drop-in says 2
mkdir "$WORK/coordinator.d" "$WORK/mx1.d" "$WORK/cli.d"
printf '# managed by config management\n[policy]\nmaxretry = 2\n' \
	>"$WORK/coordinator.d/50-policy.ini"
# not read: not *.ini, or hidden
printf '[policy]\nmaxretry = 1\n' >"$WORK/coordinator.d/50-policy.ini.dpkg-old"
printf '[policy]\nmaxretry = 1\n' >"$WORK/coordinator.d/.50-policy.ini.swp"
# agent: one drop-in per log source, its path relative to mx1.ini's directory
: >"$WORK/mx1-mail.log"
printf '[source.mail]\ntype = file\npath = mx1-mail.log\nformat = postfix\n' \
	>"$WORK/mx1.d/50-mail.ini"
# CLI: the main file names a port nobody listens on, the drop-in the right one
sed -i 's|^coordinator .*|coordinator     = tcp://198.18.0.1:7799|' "$WORK/cli.ini"
printf '[cli]\ncoordinator = tcp://198.18.0.1:7710\n' >"$WORK/cli.d/10-endpoint.ini"

C=$WORK/coordinator.ini
A=$WORK/mx1.ini
out=$("$BIN/bancluster-coordinator" -c "$C" --check-config 2>&1)
check "coordinator --check-config names its drop-in ($out)" \
	[ "$out" = "$C: OK (2 trusted keys, 1 drop-in in $WORK/coordinator.d: 50-policy.ini)" ]
out=$(ip netns exec "$NSP-mx1" "$BIN/bancluster-agent" -c "$A" --check-config 2>&1)
check "agent --check-config: the source from the drop-in ($out)" \
	[ "$out" = "$A: OK (agent mx1, 1 sources, 1 drop-in in $WORK/mx1.d: 50-mail.ini)" ]

# a bad drop-in: refused by --check-config and by start, with its own file:line
printf '[policy]\nbantime = 1h\nmaxretry = 0\n' >"$WORK/coordinator.d/60-bad.ini"
out=$("$BIN/bancluster-coordinator" -c "$C" --check-config 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$out" = "bancluster-coordinator: $WORK/coordinator.d/60-bad.ini:3: [policy] maxretry: expected 1..1000, got \"0\"" ]
verdict "a bad value in a drop-in: exit 1 and its own file:line ($rc: $out)"
printf '[policy]\ncolour = blue\n' >"$WORK/coordinator.d/60-bad.ini"
out=$(timeout 10 "$BIN/bancluster-coordinator" -c "$C" 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$out" = "bancluster-coordinator: $WORK/coordinator.d/60-bad.ini:2: [policy] colour: unknown key" ]
verdict "an unknown key in a drop-in: start refuses it the same way ($rc: $out)"
printf '[local]\nmaxretry = 5\nmaxretry = 6\n' >"$WORK/mx1.d/60-bad.ini"
out=$(ip netns exec "$NSP-mx1" "$BIN/bancluster-agent" -c "$A" --check-config 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$out" = "bancluster-agent: $WORK/mx1.d/60-bad.ini:3: [local] maxretry: set twice" ]
verdict "agent: a key set twice within one drop-in ($rc: $out)"
# a check made after loading points into the drop-in that set the key
printf '[agent]\nstate_dir = no-such-dir\n' >"$WORK/mx1.d/60-bad.ini"
out=$(ip netns exec "$NSP-mx1" "$BIN/bancluster-agent" -c "$A" --check-config 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$out" = "bancluster-agent: $WORK/mx1.d/60-bad.ini:2: [agent] state_dir: \"$WORK/no-such-dir\": No such file or directory" ]
verdict "agent: a check after loading names the drop-in's line ($rc: $out)"
rm -f "$WORK/coordinator.d/60-bad.ini" "$WORK/mx1.d/60-bad.ini"

start_coord
start_agent 1
start_listeners
check "the CLI reaches the coordinator through cli.d/10-endpoint.ini" wait_for 10 agents_synced

# behaviour: 1 failure bans nothing, the 2nd (< the main file's 5) bans
fail 1 198.51.100.31
sleep 1.5
check "one failure in the drop-in's log source: counted, no ban" none_in_set fleet4 198.51.100.31
fail 1 198.51.100.31
check "two failures: fleet ban (maxretry 2 of the drop-in, not 5 of the main file)" \
	wait_for 5 in_set 1 fleet4 198.51.100.31

# SIGHUP re-reads the drop-ins: maxretry 3 now
printf '[policy]\nmaxretry = 3\n' >"$WORK/coordinator.d/50-policy.ini"
kill -HUP "$COORD_PID"
check "SIGHUP: reloaded with the drop-in's new maxretry 3" \
	wait_for 5 grep -q "reloaded $C: .*maxretry 3" "$WORK/coordinator.log"
fail 1 198.51.100.32
fail 1 198.51.100.32
sleep 1.5
check "after the reload two failures ban nothing" none_in_set fleet4 198.51.100.32
fail 1 198.51.100.32
check "the third bans" wait_for 5 in_set 1 fleet4 198.51.100.32
# a reload with a bad drop-in changes nothing
printf '[policy]\nmaxretry = x\n' >"$WORK/coordinator.d/70-bad.ini"
kill -HUP "$COORD_PID"
check "SIGHUP with a bad drop-in: refused with its file:line, running configuration kept" \
	wait_for 5 grep -q "reload refused, running configuration kept: $WORK/coordinator.d/70-bad.ini:2: \[policy\] maxretry: expected 1..1000, got \"x\"" "$WORK/coordinator.log"

# without the CLI's drop-in the main file's wrong port is used: no answer
rm "$WORK/cli.d/10-endpoint.ini"
bc status >/dev/null 2>&1
rc=$?
check "without cli.d/10-endpoint.ini: cli.ini's port 7799, no answer (exit $rc, want 69)" [ $rc -eq 69 ]
fleet_done
