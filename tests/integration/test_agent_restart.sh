#!/bin/sh
# test_agent_restart.sh - rotation and restarts while the log is being
# written: 3000 failure lines appended over ~3 s, the log rotated by
# rename + create and later by copytruncate, the agent restarted (SIGTERM)
# in the middle; the coordinator must count every event exactly once.
. "$(dirname "$0")/lib.sh"

fleet_init 1
mail_logs
sed -i 's/^maxretry = 5$/maxretry = 1000/' "$WORK/coordinator.ini"
printf '[local]\nmaxretry = 1000\n' >>"$WORK/mx1.ini"
start_coord
start_agent 1
check "agent syncs" wait_for 10 agents_synced
sleep 1.2 # first start begins at the end of the file: let it open it
LOG="$WORK/mx1-mail.log"
python3 - "$LOG" <<'PY' &
import os, sys, time
log = sys.argv[1]
t = time.strftime("%b %e %H:%M:%S")
for i in range(3000):
    if i == 1000:                       # rename + create
        os.rename(log, log + ".1")
        open(log, "w").close()
    if i == 2000:                       # copytruncate
        with open(log) as src, open(log + ".2", "w") as dst:
            dst.write(src.read())
        open(log, "w").close()
    a = f"100.64.{i // 250}.{i % 250 + 1}"
    with open(log, "a") as f:
        f.write(f"{t} mx1 postfix/submission/smtpd[{30000 + i}]: warning: unknown[{a}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n")
    time.sleep(0.001)
PY
WRITER=$!
sleep 0.8
kill "$AGENT_PID_1"
wait "$AGENT_PID_1" 2>/dev/null
[ $? = 0 ] && grep -q 'stopping' "$WORK/mx1.log"; verdict "agent stopped cleanly (exit 0) while lines were being written"
# as an older agent left it: the cursor in state_dir itself; it must move
mv "$WORK/state-mx1/cursors/source-mail.cursor" "$WORK/state-mx1/source-mail.cursor"
sleep 0.3
start_agent 1
wait "$WRITER"
check "a cursor in state_dir moves to state_dir/cursors at start" \
	grep -q 'source mail: cursor moved to .*/state-mx1/cursors/source-mail.cursor' "$WORK/mx1.log"
check "all 3000 events counted" wait_for 20 sh -c "[ \$(ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"agents\"][0][\"events\"])') -ge 3000 ]"
sleep 4 # a resend period: a duplicate would show now
n=$(events_of 1)
check "every event counted exactly once across rotation, copytruncate and a restart ($n of 3000)" [ "$n" = 3000 ]
fleet_done
