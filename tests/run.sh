#!/bin/sh
# run.sh - run every unit test binary and integration script, count the
# "ok - " and "not ok - " lines they print, and end with "N passed, N failed".
# A test program that exits non-zero without printing a failure counts as
# one failure. Environment: B = build directory (build or build-san).
# ONLY=pattern runs only the tests whose file name matches.
set -u
B=${B:-build}
export B
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
log=$(mktemp -d /tmp/bc-test.XXXXXX)
pass=0
fail=0
run_one() {
	name=$1
	shift
	case "$name" in *${ONLY:-}*) ;; *) return ;; esac
	echo "# $name"
	out="$log/$(basename "$name").out"
	"$@" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^ok - ' "$out")
	f=$(grep -c '^not ok - ' "$out")
	grep -E '^(not ok - |# )' "$out" | grep -v '^# ok' | head -50
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited $rc"
		tail -20 "$out" | sed 's/^/#   /'
		f=1
	elif [ "$f" -ne 0 ]; then
		tail -30 "$out" | grep -v '^ok - ' | sed 's/^/#   /'
	fi
	echo "# $name: $p passed, $f failed"
	pass=$((pass + p))
	fail=$((fail + f))
}
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$t" "$t"
done
for t in tests/integration/test_*.sh; do
	[ -f "$t" ] || continue
	run_one "$t" sh "$t"
done
echo "logs in $log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
