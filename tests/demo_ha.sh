#!/bin/sh
# demo_ha.sh - `make demo-ha`: cluster mode (docs/ha.md) on one machine,
# narrated. Three etcd members (client-certificate TLS), three
# coordinators c1..c3 on them, three MX running real Postfix + Dovecot
# (SASL on 587 with STARTTLS), each with a bancluster agent that lists
# all three coordinators, and an attacker, all in network namespaces
# (tests/integration/cluster.sh, tests/integration/e2e/mailfleet.sh).
# The attacker guesses 2 passwords on mx1; the leading coordinator is
# killed with kill -9; another takes the lead; 3 more guesses on mx2 and
# mx3 make 5 (maxretry): the attacker is banned in every kernel and
# blocked on every MX, which only happens if the first two guesses
# survived the leader's death. `show` and `list` answer through the
# coordinators left; the killed one is started again and reads the ban
# back from etcd. Everything is removed at the end.
#
# Every outcome is checked before it is narrated: the first one that does
# not happen ends the demo with exit 1 and one line "demo: FAILED: ..."
# naming what did not happen. The tools it drives are checked first
# (exit 1, naming what is missing). A latency is printed only for a ban
# that was seen in every kernel.
#
# Environment: NSP (namespace prefix, default bchademo); DEMO_PORTS
# (default "25, 465, 587") is the agents' [firewall] ports: the test
# suite sets it to a port the attacker does not use to prove that a ban
# which blocks nothing is reported as a failure.
NSP=${NSP:-bchademo}
AGENT_PORTS=${DEMO_PORTS:-25, 465, 587}
. "$(dirname "$0")/integration/lib.sh"
. "$TOP/tests/integration/etcd.sh"
. "$TOP/tests/integration/cluster.sh"
. "$TOP/tests/demo_lib.sh"
GUESS_WAIT=10
. "$TOP/tests/integration/e2e/mailfleet.sh"

run() { # show the command as an admin would type it; its exit status
	case "$1" in
	bc) shift; printf '$ bancluster %s\n' "$*"; bc "$@" ;;
	bcn) _c=$2; shift 2; printf '[c%s]$ bancluster %s\n' "$_c" "$*"; bcn "$_c" "$@" ;;
	*) printf '$ %s\n' "$*"; "$@" ;;
	esac
}

# --- what the demo drives must be there and able to do its part ----------
[ "$(id -u)" -eq 0 ] || die "run as root (it creates network namespaces and nftables tables)"
for t in ip nft nc swaks postfix dovecot openssl python3; do
	command -v "$t" >/dev/null 2>&1 || die "$t is not installed (run: make deps)"
done
for t in "$ETCD_BIN" "$ETCDCTL_BIN"; do
	[ -x "$t" ] || die "$t is not installed (apt-get install etcd-server etcd-client, or: make deps)"
done
perl -MNet::SSLeay -e1 2>/dev/null ||
	die "swaks cannot STARTTLS: Perl module Net::SSLeay missing (apt-get install libnet-ssleay-perl, or: make deps)"
for b in bancluster bancluster-agent bancluster-coordinator; do
	[ -x "$BIN/$b" ] || die "$BIN/$b not built (run: make)"
done

has_leader() { [ -n "$(leader_node)" ]; }
# leads_other N: a coordinator other than cN holds the leader key
leads_other() {
	_l=$(leader_node)
	[ -n "$_l" ] && [ "$_l" != "$1" ]
}
# lists_ban N ADDR: coordinator N's `list` has a line for ADDR
lists_ban() { bcn "$1" list 2>/dev/null | grep -q "^$2 "; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

say "Building the cluster: etcd e1..e3 198.18.0.21-23 (client-certificate TLS), coordinators c1..c3 198.18.0.1-3, mx1..mx3 198.18.0.11-13, attacker 198.18.0.100"
cluster_init 3
rc=$?
# cluster.sh's trap, with the mail servers stopped first
trap 'mailfleet_down; etcd_cleanup; fleet_cleanup' EXIT
[ $rc -eq 0 ] || die "etcd did not start healthy on e1..e3 within 30 s (its logs: KEEP=1)"
echo "   etcd 3 members, peer and client TLS; only holders of a client certificate signed by its CA may read or write"
etcdctl_ endpoint health 2>&1 | sed 's/^/   /'
say "Starting Postfix + Dovecot on mx1..mx3 (submission 587: STARTTLS, then AUTH)"
mailfleet_up || die "Postfix/Dovecot did not start on every MX (logs in $WORK, kept: KEEP=1)"

say "Starting coordinators c1..c3: one leads (an etcd lease of 1 s), every decision is an etcd transaction"
for n in 1 2 3; do start_cnode $n; done
wait_for 20 has_leader || die "no coordinator leads 20 s after start"
for n in 1 2 3; do start_agent "$n"; done
echo "   each agent lists all three: coordinator = $(sed -n 's/^coordinator *= *//p' "$WORK/mx1.ini")"
if ! wait_for 20 agents_synced; then
	bc status
	die "not every agent in_sync 20 s after start (see status above)"
fi
L=$(leader_node)
[ -n "$L" ] || die "no coordinator leads after the agents started"
run bc status >"$WORK/status1.out" 2>&1 || { cat "$WORK/status1.out"; die "bancluster status failed"; }
cat "$WORK/status1.out"
grep -q "leader c$L, lease " "$WORK/status1.out" || die "status does not name c$L as the leader with its lease"
[ "$(grep -cE '^e[123] .* yes ' "$WORK/status1.out")" -eq 3 ] || die "status does not show three healthy etcd members"

say "The attacker reaches SMTP submission on every MX"
probe_all 198.18.0.100 connected "before any ban"

say "It guesses 2 passwords on mx1 (the cluster bans at 5, each MX alone would wait for 10)"
guess 1 1
guess 1 2

L=$(leader_node)
[ -n "$L" ] || die "no coordinator leads before the kill"
eval "LPID=\$CPID_$L"
say "Mid-attack, the leading coordinator c$L dies: kill -9"
printf '$ kill -9 %s   # bancluster-coordinator c%s, the leader\n' "$LPID" "$L"
TK=$(date +%s%N)
kill_cnode "$L"
S=1
[ "$S" = "$L" ] && S=2
if ! wait_for 20 leads_other "$L"; then
	bcn "$S" status
	die "no other coordinator leads 20 s after c$L was killed"
fi
N=$(leader_node)
echo "   c$N leads $(ms_since "$TK") ms after the kill (c$L's lease expired; c$N won the election in etcd)"
# c$S's session thread sees the new leader within its next cycle (100 ms)
names_leader() { bcn "$S" status 2>/dev/null | grep -q "leader c$N, lease "; }
wait_for 5 names_leader
run bcn "$S" status >"$WORK/status2.out" 2>&1
rc=$?
cat "$WORK/status2.out"
[ $rc -eq 0 ] || die "bancluster status through c$S exited $rc"
grep -q "leader c$N, lease " "$WORK/status2.out" || die "status through c$S does not name c$N as the leader"
grep -q "^c$L " "$WORK/status2.out" && die "status through c$S still lists c$L among the coordinators"
echo "   c$L is gone from the coordinators (its registration lived on the lease that expired)"

say "It goes on: 3 more guesses on mx2 and mx3, 5 in all: banned only if the cluster kept the 2 made before the kill"
guess 2 3
guess 2 4
t0=$(date +%s%N)
guess 3 5
wait_all_sets 20 fleet4 198.18.0.100 "the 5 guesses were not all counted across the failover"
t1=$(date +%s%N)
echo "   in the kernel of all three MX $(( (t1 - t0) / 1000000 )) ms after the 5th guess started (a TLS session, AUTH, then the log line), $(( (t1 - LOGGED) / 1000000 )) ms after its log line was seen"
echo "   and $(( (t1 - TK) / 1000000 )) ms after c$L was killed (3 guesses on the way)"

say "Every MX now drops it (nftables set fleet4 in table inet bancluster)"
probe_all 198.18.0.100 blocked "fleet4 holds it but port 587 is not protected ([firewall] ports = $AGENT_PORTS)"

say "Why? Ask a coordinator that is still up"
run bcn "$S" show 198.18.0.100 >"$WORK/show.out" 2>&1
rc=$?
cat "$WORK/show.out"
[ $rc -eq 0 ] || die "bancluster show through c$S exited $rc"
grep -q '^  banned: 198.18.0.100 until ' "$WORK/show.out" || die "show through c$S does not say 198.18.0.100 is banned"
grep -q 'reason: 5 weighted events from 3 hosts' "$WORK/show.out" ||
	die "show through c$S: the ban's reason does not count 5 events from 3 hosts (the 2 guesses on mx1 before the kill)"

say "Every coordinator left lists the ban"
for n in 1 2 3; do
	[ "$n" = "$L" ] && continue
	run bcn "$n" list >"$WORK/list-c$n.out" 2>&1
	rc=$?
	cat "$WORK/list-c$n.out"
	[ $rc -eq 0 ] || die "bancluster list through c$n exited $rc"
	grep -q '^198.18.0.100 ' "$WORK/list-c$n.out" || die "c$n does not list 198.18.0.100"
done

say "c$L starts again: it reads the cluster's decisions back from etcd"
start_cnode "$L"
wait_for 20 lists_ban "$L" 198.18.0.100 || die "restarted c$L does not list 198.18.0.100 after 20 s"
run bcn "$L" list || die "bancluster list through c$L failed"

say "Cleaning up: stopping every process and deleting the namespaces"
FAIL=0
echo "demo: ok: the attacker was blocked on all three MX after the leading coordinator c$L was killed -9 mid-attack"
