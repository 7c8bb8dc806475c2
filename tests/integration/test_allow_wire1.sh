#!/bin/sh
# test_allow_wire1.sh - an agent of the release before (wire 1, 0.3.0)
# under a coordinator whose allow list changes (docs/upgrade.md, "Agents
# of wire 1 and the allow list"). Such an agent requires a ban in every
# Update: it must reject an allow update as out_of_range, resync, keep
# every ban in its kernel and go on applying bans, without crashing.
#
# Needs the 0.3.0 agent binary, which the build does not make:
#   git archive 0.3.0-commit | tar -x -C /tmp/old && make -C /tmp/old build/bancluster-agent
#   BC_OLD_AGENT=/tmp/old/build/bancluster-agent NSP=xx sh tests/run.sh
# (0.3.0-commit: the parent of the commit that introduced wire 2). Without
# BC_OLD_AGENT it says so and passes nothing. Env: B, NSP, BC_OLD_AGENT.
. "$(dirname "$0")/lib.sh"

if [ -z "${BC_OLD_AGENT:-}" ] || [ ! -x "$BC_OLD_AGENT" ]; then
	echo "# SKIP: BC_OLD_AGENT (a bancluster-agent of 0.3.0) not set"
	exit 0
fi
fleet_init 1
start_coord
ip netns exec "$NSP-mx1" "$BC_OLD_AGENT" -c "$WORK/mx1.ini" >>"$WORK/mx1.log" 2>&1 &
OLD_PID=$!
PIDS="$PIDS $OLD_PID"
check "the 0.3.0 agent connects and syncs" wait_for 10 agents_synced
check "status shows it as wire 1" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini status | grep -Eq '^mx1 .* unknown +1\$'"
bc ban 203.0.113.9 --for 1h >/dev/null
check "a ban reaches its kernel" wait_for 3 in_set 1 fleet4 203.0.113.9

bc allow add 192.0.2.0/24 --comment "office" >/dev/null
check "it rejects the allow update as out_of_range" wait_for 3 grep -q \
	'rejected message on updates: out_of_range' "$WORK/mx1.log"
check "it resyncs (the sequence moved past it)" wait_for 3 grep -Eq \
	'resync: (missed updates|gap in update sequence)' "$WORK/mx1.log"
check "and is in sync again" wait_for 10 agents_synced
check "it is still running" kill -0 "$OLD_PID"
check "the ban made before is still in its kernel" in_set 1 fleet4 203.0.113.9
bc ban 198.51.100.3 --for 1h >/dev/null
check "a ban made after reaches its kernel" wait_for 3 in_set 1 fleet4 198.51.100.3
bc allow remove 192.0.2.0/24 >/dev/null
check "an allow removal: rejected and resynced again" wait_for 5 sh -c \
	"[ \$(grep -c 'rejected message on updates: out_of_range' $WORK/mx1.log) -ge 2 ]"
check "in sync after the removal" wait_for 10 agents_synced
in_set 1 fleet4 203.0.113.9 && in_set 1 fleet4 198.51.100.3
verdict "both bans still in its kernel after two resyncs"
check "it is still running at the end" kill -0 "$OLD_PID"
fleet_done
