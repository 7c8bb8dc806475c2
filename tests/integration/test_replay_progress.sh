#!/bin/sh
# test_replay_progress.sh - bancluster replay's progress line: on stderr
# only when stderr is a terminal (script(1) gives it a pseudo-terminal),
# first after 1 s, rewritten in place ("\rreplay: N MiB[ of N MiB (P%)],
# N lines, N lines/s\033[K") and erased ("\r\033[K") before the results;
# never on stdout (text and --json byte for byte as without a terminal),
# not with stderr to a file or TERM=dumb, not for a file read in under a
# second. No namespaces. Env: B.
. "$(dirname "$0")/lib.sh"

if ! command -v script >/dev/null 2>&1; then
	echo "# SKIP replay progress: no script(1)"
	exit 0
fi
WORK=$(mktemp -d /tmp/bc-progress.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
R="$BIN/bancluster replay"

# 200,000 Postfix SASL failures from 250 addresses (26 MB)
python3 - "$WORK/mail.log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        f.write("Dec  6 21:54:52 mx1 postfix/submission/smtpd[%d]: warning: "
                "unknown[198.51.100.%d]: SASL LOGIN authentication failed: "
                "UGFzc3dvcmQ6\n" % (1000 + i, i % 250))
PY
head -100000 "$WORK/mail.log" >"$WORK/part1"
tail -100000 "$WORK/mail.log" >"$WORK/part2"

# on_tty CMD: run CMD (a shell command line) with stdin, stdout and stderr
# on a pseudo-terminal; what reaches the terminal goes to $WORK/tty
on_tty() {
	TERM=xterm script -qec "$1" /dev/null </dev/null >"$WORK/tty" 2>&1
}
# slow_fifo: $WORK/fifo gets part1, then after 1.5 s part2 (no size known)
slow_fifo() {
	rm -f "$WORK/fifo"
	mkfifo "$WORK/fifo"
	(cat "$WORK/part1"; sleep 1.5; cat "$WORK/part2") >"$WORK/fifo" &
}
esc=$(printf '\033')
cr=$(printf '\r')

# reference: stdout with no terminal at all, from the same lines
$R "$WORK/mail.log" 2>"$WORK/ref.err" | sed 1d >"$WORK/ref.txt"
$R "$WORK/mail.log" --json 2>/dev/null | sed 's/"file": "[^"]*", //' >"$WORK/ref.json"
check "no terminal: nothing on stderr" [ ! -s "$WORK/ref.err" ]
check "the reference --json, without its file name, still lists addresses" \
	grep -q '^{"schema": "bancluster/replay", "schema_version": 2, "format": .*"addresses": \[{"address": ' "$WORK/ref.json"

# a pipe that pauses 1.5 s after 100,000 lines
slow_fifo
on_tty "$R $WORK/fifo >$WORK/out.txt"
tty=$(cat "$WORK/tty")
case "$tty" in
"${cr}replay: 12."[0-9]" MiB, 100000 lines, "*" lines/s${esc}[K"*) r=0 ;;
*) r=1 ;;
esac
check "stderr a terminal, a pipe paused 1.5 s: '\\rreplay: 12.x MiB, 100000 lines, N lines/s\\033[K' (no size, no %)" [ $r -eq 0 ]
case "$tty" in *"${cr}${esc}[K") r=0 ;; *) r=1 ;; esac
check "  the line is erased at the end ('\\r\\033[K' last)" [ $r -eq 0 ]
check "  exactly one progress line in 1.5 s (first after 1 s, then every 0.5 s)" \
	[ "$(printf '%s' "$tty" | tr '\r' '\n' | grep -c '^replay: ')" -eq 1 ]
sed 1d "$WORK/out.txt" | cmp -s - "$WORK/ref.txt"
verdict "  stdout: the same results as without a terminal"

# --json: the same progress on stderr, stdout byte for byte
slow_fifo
on_tty "$R $WORK/fifo --json >$WORK/out.json"
case "$(cat "$WORK/tty")" in "${cr}replay: 12."[0-9]" MiB, 100000 lines, "*"${cr}${esc}[K") r=0 ;; *) r=1 ;; esac
check "--json: progress on the terminal's stderr too" [ $r -eq 0 ]
sed 's/"file": "[^"]*", //' "$WORK/out.json" | cmp -s - "$WORK/ref.json"
verdict "  --json stdout the same as without a terminal"

# not with stderr to a file, nor with TERM=dumb
slow_fifo
on_tty "$R $WORK/fifo >$WORK/out.txt 2>$WORK/err.txt"
[ ! -s "$WORK/tty" ] && [ ! -s "$WORK/err.txt" ]
verdict "stderr to a file: no progress anywhere"
slow_fifo
TERM=dumb script -qec "$R $WORK/fifo >$WORK/out.txt" /dev/null </dev/null >"$WORK/tty" 2>&1
check "TERM=dumb: no progress" [ ! -s "$WORK/tty" ]

# a file read in well under a second: nothing
on_tty "$R $WORK/mail.log >$WORK/out.txt"
check "a 26 MB file read in under 1 s: no progress" [ ! -s "$WORK/tty" ]

# a regular file (known size): "of N MiB (P%)". A sparse 1 GiB file: the
# kernel hands out its zeros slower than 1 GiB/s here, and it takes no disk
head -1000 "$WORK/mail.log" >"$WORK/sparse.log"
truncate -s 1G "$WORK/sparse.log"
start=$(date +%s%N)
on_tty "$R $WORK/sparse.log >$WORK/out.txt"
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$ms" -lt 1300 ]; then
	note "skip the percentage: the 1 GiB sparse file was read in $ms ms (under 1 s)"
else
	printf '%s' "$(cat "$WORK/tty")" | tr '\r' '\n' | grep '^replay: ' | sed 's/\x1b\[K$//' >"$WORK/lines"
	check "a regular file ($ms ms): 'replay: N MiB of 1024.0 MiB (P%), 1001 lines, N lines/s' ($(head -1 "$WORK/lines"))" \
		grep -Eqx 'replay: [0-9]+\.[0-9] MiB of 1024\.0 MiB \([0-9]{1,2}%\), 1001 lines, [0-9]+ lines/s' "$WORK/lines"
	check "  at most one line per 0.5 s ($(wc -l <"$WORK/lines") lines in $ms ms)" \
		[ "$(wc -l <"$WORK/lines")" -le $((ms / 500)) ]
fi
check "  the results follow on a clean line" grep -q '^lines 1001  matched 1000  ignored 0  malformed 1$' "$WORK/out.txt"
rm -f "$WORK/sparse.log"

echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
