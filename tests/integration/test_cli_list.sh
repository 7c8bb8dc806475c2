#!/bin/sh
# test_cli_list.sh - cli.ini's coordinator as a list (issue 13): a
# request goes to the first coordinator that answers. One real
# coordinator in a network namespace; the dead endpoints are a host that
# is not on the bridge (198.18.0.9: no answer, the endpoint's share of
# the timeout is waited) and a port of the coordinator's host where
# nothing listens (7799: refused, left at once). With a dead endpoint
# first, status, ban and list work (exit 0, the ban listed, status names
# the coordinator that answered); with none alive, one line names each
# endpoint and why, exit 69, within the timeout; an admin key the
# coordinator refuses is named with the line that enrols it; a paused
# (SIGSTOP) coordinator first is left after its share of the timeout and,
# resumed, never applies the request.
. "$(dirname "$0")/lib.sh"

fleet_init 0
start_coord
check "the coordinator answers status" wait_for 10 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini status >/dev/null 2>&1"

# cli NAME LIST [TIMEOUT [KEY]]: $WORK/NAME.ini with coordinator = LIST
cli() {
	cat >"$WORK/$1.ini" <<INI
[cli]
coordinator     = $2
key             = ${4:-admin.key}
coordinator_key = coordinator.pub
timeout         = ${3:-4s}
INI
}
# run INI ARGS...: bancluster in the coordinator's namespace; exit status
# in RC, stdout in OUT, stderr in ERR, its time in MS (milliseconds)
run() {
	_ini=$1
	shift
	_t0=$(date +%s%N)
	ns coord "$BIN/bancluster" -c "$WORK/$_ini.ini" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	MS=$((($(date +%s%N) - _t0) / 1000000))
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

LIVE=tcp://198.18.0.1:7710
HOLE=tcp://198.18.0.9:7710
SHUT=tcp://198.18.0.1:7799

# ---- a dead endpoint first, the live coordinator second --------------
cli hole-first "$HOLE, $LIVE" 4s
run hole-first status
[ $RC -eq 0 ] && [ -z "$ERR" ] &&
	[ "$(printf '%s\n' "$OUT" | head -1 | sed 's/: up since.*//')" = "coordinator $LIVE" ]
verdict "status, no answer from the first: the second answers, status names it (exit $RC, \"$(printf '%s\n' "$OUT" | head -1)\" $ERR)"
[ $MS -ge 1900 ] && [ $MS -lt 4000 ]
verdict "status, no answer from the first: its share of timeout 4s (2 s) waited, then the second ($MS ms)"

cli shut-first "$SHUT, $LIVE" 4s
run shut-first ban 192.0.2.1 --for 1h --reason "through a list"
[ $RC -eq 0 ] && [ -z "$ERR" ]
verdict "ban, the first refusing connections: the second bans (exit $RC: $OUT $ERR)"
[ $MS -lt 1500 ]
verdict "ban, the first refusing connections: left at once ($MS ms)"
run shut-first list
[ $RC -eq 0 ] && printf '%s\n' "$OUT" | grep -q '^192\.0\.2\.1 .*through a list$'
verdict "list through the list of coordinators: the ban is listed (exit $RC: $OUT $ERR)"
run hole-first list --json
[ $RC -eq 0 ] && printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [b["address"] for b in d["bans"]] == ["192.0.2.1"], d' 2>/dev/null
verdict "list --json, no answer from the first: the ban (exit $RC)"
run shut-first status --json
[ $RC -eq 0 ] && printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["coordinator"]["address"] == "tcp://198.18.0.1:7710", d["coordinator"]
assert d["cluster"] is None and d["schema_version"] == 3 and d["coordinator"]["bans"] == 1' 2>/dev/null
verdict "status --json: coordinator.address is the endpoint that answered, cluster null (exit $RC: $OUT)"

# the live one first: the others are never tried
cli live-first "$LIVE, $HOLE" 4s
run live-first status
[ $RC -eq 0 ] && [ $MS -lt 1500 ]
verdict "status, the live coordinator first: answered at once (exit $RC, $MS ms)"

# ---- a coordinator paused (SIGSTOP) first -----------------------------
# a second, independent coordinator (its own database) on 7720: paused,
# its kernel still accepts the connection, it never answers; the request
# goes to the next, and once resumed the paused one never applies it
sed 's|:7710|:7720|; s|:7711|:7721|; s|coordinator.db|second.db|' \
	"$WORK/coordinator.ini" >"$WORK/second.ini"
ip netns exec "$NSP-coord" "$BIN/bancluster-coordinator" -c "$WORK/second.ini" \
	>>"$WORK/second.log" 2>&1 &
SECOND_PID=$!
PIDS="$PIDS $SECOND_PID"
SECOND=tcp://198.18.0.1:7720
cli second-cli "$SECOND" 4s
check "a second coordinator on 7720 answers" wait_for 10 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/second-cli.ini status >/dev/null 2>&1"
kill -STOP "$SECOND_PID"
cli paused-first "$SECOND, $LIVE" 4s
run paused-first ban 192.0.2.5 --for 1h
[ $RC -eq 0 ] && [ -z "$ERR" ] && [ $MS -ge 1900 ] && [ $MS -lt 4000 ]
verdict "ban, the first coordinator paused: its share (2 s), then the second bans (exit $RC, $MS ms: $OUT $ERR)"
cli paused-none "$SECOND, $SHUT" 2s
run paused-none status
[ $RC -eq 69 ] && [ "$ERR" = "bancluster: no coordinator answered: $SECOND (connected, no CurveZMQ handshake in 1 s), $SHUT (connection refused or unreachable)" ]
verdict "the paused one named as connected without a handshake (exit $RC, \"$ERR\")"
kill -CONT "$SECOND_PID"
sleep 2
run second-cli list
[ $RC -eq 0 ] && ! printf '%s\n' "$OUT" | grep -q '^192\.0\.2\.5 '
verdict "resumed, the paused coordinator never got the request (fresh socket per attempt, nothing left queued): not in its list (exit $RC: $OUT $ERR)"
run live-first list
[ $RC -eq 0 ] && printf '%s\n' "$OUT" | grep -q '^192\.0\.2\.5 '
verdict "the ban is on the coordinator that answered (exit $RC)"

# ---- none alive -------------------------------------------------------
cli none "$HOLE, $SHUT" 2s
run none status
want="bancluster: no coordinator answered: $HOLE (no answer in 1 s), $SHUT (connection refused or unreachable)"
[ $RC -eq 69 ] && [ -z "$OUT" ] && [ "$ERR" = "$want" ]
verdict "none answers: exit 69, one line naming each endpoint and why (exit $RC, \"$ERR\")"
[ $MS -ge 900 ] && [ $MS -lt 2500 ]
verdict "none answers: within timeout 2s ($MS ms)"
run none ban 192.0.2.2
[ $RC -eq 69 ] && [ "$ERR" = "$want" ]
verdict "none answers: ban exits 69 with the same line (exit $RC)"

# ---- an admin key the coordinator refuses -----------------------------
"$BIN/bancluster" keygen --out "$WORK/bob" >/dev/null
cli refused "$LIVE, $SHUT" 4s bob.key
run refused status
pub=$(cut -d' ' -f2 "$WORK/bob.pub")
case "$ERR" in
"bancluster: no coordinator answered: $LIVE (refused this admin key: not in its admins_dir), $SHUT (connection refused or unreachable); this admin key ($WORK/bob.key, CURVE key "*"): an enrolled admin adds it with: bancluster admin add bob $pub")
	[ $RC -eq 69 ] ;;
*) false ;;
esac
verdict "a coordinator refusing the admin key: the next tried, the refusal named with the line that enrols the key (exit $RC, \"$ERR\")"
[ $MS -lt 2000 ]
verdict "a coordinator refusing the admin key: left at once ($MS ms)"

fleet_done
