#!/bin/sh
# quickstart.sh - run the README's "Quick start from source" block as it
# stands, then check its outcome: the first ban is in the kernel and mx1
# is in sync. The block installs into /usr/local, adds the user
# "bancluster" and writes /etc/bancluster: run this only on a disposable
# machine, as CI does through ../shared/tools/fresh-debian:
#
#   ../shared/tools/fresh-debian 'sh tests/quickstart.sh'
#
# It refuses to run where /etc/bancluster or the user already exist
# (never overwrites a real set-up). Exit 0 when every outcome was seen;
# else 1 with one line "quickstart: FAILED: ..." naming the step.
set -u
cd "$(dirname "$0")/.."
die() { echo "quickstart: FAILED: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "run as root, on a disposable machine"
[ -e /etc/bancluster ] && die "/etc/bancluster exists: not a fresh machine, refusing"
getent passwd bancluster >/dev/null && die "user bancluster exists: not a fresh machine, refusing"

block=$(mktemp /tmp/quickstart.XXXXXX)
awk '/^<!-- quickstart -->$/ {on = 1; next} /^<!-- \/quickstart -->$/ {on = 0} on && !/^```/' \
	README.md >"$block"
[ "$(grep -c . "$block")" -ge 10 ] || die "no quickstart block in README.md"
# Each line runs as written, in this shell (so the daemons started with &
# are this shell's jobs); the first line that fails ends the run.
# The daemons a line starts with & are stopped at the end, by PID: $!
# changes after such a line (jobs -p says nothing in a non-interactive sh).
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	done
	rm -f "$block"
}
trap cleanup EXIT
n=0
last=""
while IFS= read -r line; do
	n=$((n + 1))
	[ -n "$line" ] || continue
	echo "+ $line"
	eval "$line" || die "README quickstart line $n failed: $line"
	if [ -n "${!:-}" ] && [ "$!" != "$last" ]; then
		last=$!
		PIDS="$PIDS $!"
	fi
done <"$block"
[ "$(echo $PIDS | wc -w)" -eq 2 ] || die "expected the README to start 2 daemons with &, saw: ${PIDS:-none}"

i=0
until nft get element inet bancluster fleet4 '{ 192.0.2.1 }' >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || die "192.0.2.1 not in set fleet4 5 s after 'bancluster ban'"
	sleep 0.1
done
# the agent reports the sequence it applied with its next heartbeat (1 s)
i=0
until bancluster status | grep -q '^mx1 .* in_sync '; do
	i=$((i + 1))
	[ $i -lt 10 ] || { bancluster status; die "mx1 not in_sync in 'bancluster status' 5 s after the ban"; }
	sleep 0.5
done
bancluster list | grep -q '^192.0.2.1 ' || die "'bancluster list' does not show 192.0.2.1"
for m in bancluster.1 bancluster.ini.5 bancluster-agent.8 bancluster-coordinator.8; do
	sec=${m##*.}
	[ -f "/usr/local/share/man/man$sec/$m" ] || die "man page $m not installed"
done
cleanup
trap - EXIT
for p in $PIDS; do
	kill -0 "$p" 2>/dev/null && die "daemon $p still running after SIGTERM"
done
echo "quickstart: ok: README quick start ran as written; 192.0.2.1 is in fleet4, mx1 in sync; both daemons stopped"
