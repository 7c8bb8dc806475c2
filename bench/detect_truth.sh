#!/bin/sh
# detect_truth.sh - detection against ground truth, side by side with
# fail2ban's stock jails, on one generated mail log.
#
# Generates the 1,000,000-line Postfix + Dovecot log of
#   gen-maillog.py -n $LINES -s $SEED --truth T.json
# (5,000 attackers per million lines, truth per attacker), then in the
# same run:
#   - bancluster replay LOG --json (the coordinator's default policy);
#     lines/s, best of 3 runs;
#   - fail2ban-regex --out row LOG FILTER for the filters of jail.conf's
#     [postfix] (postfix[mode=more]), [postfix-sasl] (postfix[mode=auth])
#     and [dovecot] (dovecot);
#   - detect_truth.py: attackers banned (all, and those with >= 5 attack
#     lines within 10 minutes), benign addresses banned (must be 0 for
#     bancluster), fail2ban's bans made by its own FailManager with
#     maxretry 5 / findtime 10m over the matched lines' own times.
# Every step runs under a timeout; a step that fails or times out fails
# the bench and no figure of it is printed. Tools are checked first.
#
# Environment: B (build directory, default build), GEN (the generator,
# default ../shared/bench/gen-maillog.py beside the repository), LINES
# (1000000), SEED (1), F2B_TIMEOUT (seconds per fail2ban-regex run, 1800),
# KEEP=1 keeps the work directory.
set -u
B=${B:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
GEN=${GEN:-$top/../shared/bench/gen-maillog.py}
LINES=${LINES:-1000000}
SEED=${SEED:-1}
F2B_TIMEOUT=${F2B_TIMEOUT:-1800}
BIN=$top/$B/bancluster

missing=
for t in python3 timeout fail2ban-regex; do
	command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
[ -x "$BIN" ] || missing="$missing $BIN (make)"
[ -f "$GEN" ] || missing="$missing $GEN (set GEN=)"
if [ -n "$missing" ]; then
	echo "detect_truth: missing:$missing"
	echo "  (Debian: apt-get install fail2ban python3 coreutils; make)"
	exit 1
fi
# fail2ban's own FailManager decides its bans: its interpreter runs the
# scorer (python3 on PATH may be another one, without fail2ban's module)
F2B_PY=$(sed -n '1s/^#! *//p' "$(command -v fail2ban-regex)" | awk '{print $1}')
if [ -z "$F2B_PY" ] || ! "$F2B_PY" -c 'import fail2ban.server.failmanager' 2>/dev/null; then
	echo "detect_truth: missing: fail2ban's Python module (fail2ban.server.failmanager) for the interpreter of fail2ban-regex (${F2B_PY:-?})"
	exit 1
fi
for f in postfix dovecot; do
	if [ ! -f "/etc/fail2ban/filter.d/$f.conf" ]; then
		echo "detect_truth: missing: /etc/fail2ban/filter.d/$f.conf (fail2ban's stock filters)"
		exit 1
	fi
done

work=$(mktemp -d /tmp/bc-detect.XXXXXX) || exit 1
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT INT TERM
log=$work/mail.log

fail() {
	echo "detect_truth: FAIL: $*"
	exit 1
}

# now_ns: monotonic enough for a few seconds' runs
now_ns() { date +%s%N; }

echo "generating $LINES lines (seed $SEED) ..."
timeout 600 python3 "$GEN" -n "$LINES" -s "$SEED" --truth "$work/truth.json" \
	-o "$log" || fail "gen-maillog.py failed or timed out (600 s)"
n=$(wc -l <"$log")
[ "$n" -eq "$LINES" ] || fail "the log has $n lines, not $LINES"

best=
i=0
while [ $i -lt 3 ]; do
	t0=$(now_ns)
	timeout 300 "$BIN" replay "$log" --json >"$work/replay.json" ||
		fail "bancluster replay failed or timed out (300 s)"
	t1=$(now_ns)
	ns=$((t1 - t0))
	if [ -z "$best" ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
	i=$((i + 1))
done

for jail in postfix postfix-sasl dovecot; do
	case $jail in
	postfix) filter='postfix[mode=more]' ;;
	postfix-sasl) filter='postfix[mode=auth]' ;;
	dovecot) filter='dovecot' ;;
	esac
	echo "fail2ban-regex $filter (jail [$jail]) ..."
	timeout "$F2B_TIMEOUT" fail2ban-regex --out row "$log" "$filter" \
		>"$work/$jail.rows" 2>"$work/$jail.err" ||
		fail "fail2ban-regex $filter failed or timed out ($F2B_TIMEOUT s): $(tail -1 "$work/$jail.err")"
done

echo
"$F2B_PY" "$top/bench/detect_truth.py" "$log" "$work/truth.json" \
	"$work/replay.json" "$work" || fail "scoring (see the FAIL lines above)"
ms=$((best / 1000000))
[ "$ms" -gt 0 ] || ms=1
echo "bancluster replay: $LINES lines in $ms ms, $((LINES * 1000 / ms)) lines/s (best of 3, whole command: read, parse, policy, JSON)"
