#!/bin/sh
# run.sh - run every benchmark binary in $B/bench (bench_*), one after the
# other, each under its own heading. A benchmark prints its own table and
# exits non-zero on failure; this script then exits non-zero at the end.
# Shell benchmarks (bench/*.sh but this one) run after the binaries, with
# B exported: detect_truth.sh (detection vs ground truth and fail2ban's
# stock jails), detect_latency.sh, fleet.sh, agent_tail.sh, cluster.sh
# (cluster mode on etcd, docs/ha.md).
# Environment: B = build directory (default build). ONLY=pattern runs
# only the benchmarks whose name matches. BC_SSHG_PARSER names sshguard's
# sshg-parser when it is not installed (else it is unpacked from the
# downloaded .deb, see below).
set -u
B=${B:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# sshguard's parser, bench_parse's reference: the installed one, else the
# one in the sshguard .deb that deploy/deps.sh downloads (unpacked here,
# never installed), passed as BC_SSHG_PARSER.
if [ -z "${BC_SSHG_PARSER:-}" ] && [ ! -x /usr/libexec/sshguard/sshg-parser ]; then
	deb=$(ls "${BC_DEB_CACHE:-/var/cache/bancluster-test/debs}"/sshguard_*.deb 2>/dev/null | sort -V | tail -1)
	if [ -n "$deb" ] && rm -rf "$B/bench/peers" && mkdir -p "$B/bench/peers" &&
		dpkg-deb -x "$deb" "$B/bench/peers" &&
		[ -x "$B/bench/peers/usr/libexec/sshguard/sshg-parser" ]; then
		BC_SSHG_PARSER=$top/$B/bench/peers/usr/libexec/sshguard/sshg-parser
		export BC_SSHG_PARSER
	fi
fi
failed=0
ran=0
for b in "$B"/bench/bench_*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	name=$(basename "$b")
	case "$name" in *${ONLY:-}*) ;; *) continue ;; esac
	echo "=== $name"
	"$b"
	rc=$?
	ran=$((ran + 1))
	if [ "$rc" -ne 0 ]; then
		echo "=== $name FAILED (exit $rc)"
		failed=$((failed + 1))
	fi
	echo
done
for b in bench/*.sh; do
	[ -f "$b" ] || continue
	[ "$(basename "$b")" = run.sh ] && continue
	name=$(basename "$b" .sh)
	case "$name" in *${ONLY:-}*) ;; *) continue ;; esac
	echo "=== $name"
	B=$B sh "$b"
	rc=$?
	ran=$((ran + 1))
	if [ "$rc" -ne 0 ]; then
		echo "=== $name FAILED (exit $rc)"
		failed=$((failed + 1))
	fi
	echo
done
if [ "$ran" -eq 0 ]; then
	echo "no benchmarks in $B/bench (build them with make bench)"
	exit 1
fi
echo "$ran benchmarks, $failed failed"
[ "$failed" -eq 0 ]
