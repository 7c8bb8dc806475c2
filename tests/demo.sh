#!/bin/sh
# demo.sh - `make demo`: a narrated fleet on one machine. A coordinator,
# three MX hosts (mx1..mx3) and an attacker in network namespaces; the
# attacker reaches port 25 on every MX, an admin bans it once, and every
# MX drops it within milliseconds. Everything is removed at the end.
. "$(dirname "$0")/integration/lib.sh"
NSP=bcdemo

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
[ -t 1 ] && [ -z "${NO_COLOR:-}" ] || say() { printf '\n==> %s\n' "$*"; }
run() { # show the command as an admin would type it
	case "$1" in
	bc) shift; printf '$ bancluster %s\n' "$*"; bc "$@" ;;
	ns) printf '[%s]$ ' "$2"; shift 2; printf '%s\n' "$*"; ns "$_demo_ns" "$@" ;;
	*) printf '$ %s\n' "$*"; "$@" ;;
	esac
}
probe() { # probe SRC: try port 25 on every MX from SRC
	for i in 1 2 3; do
		if can_connect "$1" "198.18.0.1$i"; then
			printf '   %s -> mx%s:25  connected\n' "$1" "$i"
		else
			printf '   %s -> mx%s:25  BLOCKED (no answer)\n' "$1" "$i"
		fi
	done
}

say "Building the fleet: coordinator 198.18.0.1, mx1..mx3 198.18.0.11-13, attacker 198.18.0.100"
fleet_init 3
echo "   keys: $(ls "$WORK"/*.pub | wc -l) Ed25519 key pairs made with 'bancluster keygen' in $WORK"
start_coord
for i in 1 2 3; do start_agent "$i"; done
start_listeners
say "Waiting for the three agents to sync with the coordinator"
wait_for 10 agents_synced || { echo "agents did not sync"; exit 1; }
run bc status

say "The attacker (198.18.0.100) reaches SMTP on every MX"
probe 198.18.0.100

say "An admin bans it once, for 3 hours"
t0=$(date +%s%N)
run bc ban 198.18.0.100 --for 3h --reason "password guessing on mx1..mx3"
wait_for 5 all_in_set fleet4 198.18.0.100
t1=$(date +%s%N)
echo "   in the kernel set of all three MX $(( (t1 - t0) / 1000000 )) ms after the command was issued"

say "Every MX now drops it (nftables set 'fleet4' in table inet bancluster)"
probe 198.18.0.100
_demo_ns=mx2
run ns mx2 nft list set inet bancluster fleet4

say "Fleet state"
run bc list
run bc status

say "Unban: connections work again"
run bc unban 198.18.0.100
wait_for 5 none_in_set fleet4 198.18.0.100
probe 198.18.0.100

say "Cleaning up: stopping every process and deleting the namespaces"
FAIL=0
