#!/bin/sh
# run.sh - run each libFuzzer target for FUZZ_SECONDS, seeded from the
# test corpus (log lines for the parsers, the example configs for the
# config loader, tests/fuzz/smtp_reply/ for the SMTP reply reader of
# audit smtp, tests/fuzz/etcd_reply/ for the etcd client's readers). Any crash or sanitizer report fails; its reproducer is
# kept in $FZ/crash-*. Ends with "N passed, N failed".
set -u
FZ=${FZ:-build-fuzz}
S=${FUZZ_SECONDS:-20}
pass=0
fail=0
for t in "$@"; do
	seeds="$FZ/seeds-$t"
	rm -rf "$seeds"
	mkdir -p "$seeds"
	case "$t" in
	parse_*) for f in tests/corpus/*/*.log; do cp "$f" "$seeds/$(echo "$f" | tr / _)"; done ;;
	config) cp deploy/*.ini "$seeds/" ;;
	smtp_reply) cp tests/fuzz/smtp_reply/* "$seeds/" ;;
	etcd) cp tests/fuzz/etcd_reply/* "$seeds/" ;;
	cluster) cp tests/fuzz/cluster/* "$seeds/" ;;
	esac
	if "$FZ/fuzz_$t" -max_total_time="$S" -max_len=9000 -artifact_prefix="$FZ/crash-$t-" \
		"$seeds" >"$FZ/fuzz_$t.log" 2>&1; then
		echo "ok - fuzz_$t: $(grep -o 'Done [0-9]* runs' "$FZ/fuzz_$t.log" | tail -1) in ${S}s, no finding"
		pass=$((pass + 1))
	else
		echo "not ok - fuzz_$t: finding, see $FZ/fuzz_$t.log"
		grep -E 'ERROR|SUMMARY|runtime error' "$FZ/fuzz_$t.log" | head -5 | sed 's/^/#   /'
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
