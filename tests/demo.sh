#!/bin/sh
# demo.sh - `make demo`: the whole story on one machine, narrated. A
# coordinator and three MX hosts running real Postfix + Dovecot (SASL on
# 587 with STARTTLS), each with a bancluster agent tailing its mail log,
# and an attacker, all in network namespaces. The attacker spreads
# password guesses over the three MX, too few on each for any one server
# to notice; the coordinator adds them up and every MX drops it within
# milliseconds, even the one it barely touched. Then `show` gives the
# evidence, `audit fleet` proves every kernel holds the ban, and an admin
# bans and unbans an address by hand. Everything is removed at the end.
NSP=bcdemo
. "$(dirname "$0")/integration/lib.sh"
. "$TOP/tests/integration/e2e/mailfleet.sh"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
	say() { printf '\n==> %s\n' "$*"; }
fi
run() { # show the command as an admin would type it
	case "$1" in
	bc) shift; printf '$ bancluster %s\n' "$*"; bc "$@" ;;
	*) printf '$ %s\n' "$*"; "$@" ;;
	esac
}
probe() { # probe SRC: try SMTP submission (587) on every MX from SRC
	for i in 1 2 3; do
		if can_connect "$1" "198.18.0.1$i" 587; then
			printf '   %s -> mx%s:587  connected\n' "$1" "$i"
		else
			printf '   %s -> mx%s:587  BLOCKED (no answer)\n' "$1" "$i"
		fi
	done
}
guess() { # guess MX: one wrong password from the attacker, as a bot would
	ns att swaks --server "198.18.0.1$1" --port 587 --local-interface 198.18.0.100 \
		--tls --auth LOGIN --auth-user alice@lab.test --auth-password "guess$2" \
		--quit-after AUTH --timeout 10 >>"$WORK/swaks.out" 2>&1
	printf '   guess %s on mx%s: %s\n' "$2" "$1" \
		"$(grep -F '[198.18.0.100]' "$WORK/mx$1-mail.log" | grep -F 'authentication failed' | tail -1 | sed 's/^.*warning: //')"
}

say "Building the fleet: coordinator 198.18.0.1, mx1..mx3 198.18.0.11-13, attacker 198.18.0.100"
fleet_init 3
trap 'mailfleet_down; fleet_cleanup' EXIT
say "Starting Postfix + Dovecot on mx1..mx3 (submission 587: STARTTLS, then AUTH)"
mailfleet_up || { echo "Postfix/Dovecot did not start"; FAIL=1; exit 1; }
start_coord
for i in 1 2 3; do start_agent "$i"; done
wait_for 10 agents_synced || { echo "agents did not sync"; FAIL=1; exit 1; }
echo "   each agent: reader (no capability, user nobody), signer (key), firewall (CAP_NET_ADMIN only)"
run bc status

say "The attacker reaches SMTP submission on every MX"
probe 198.18.0.100

say "It spreads 5 password guesses over the fleet: 2 on mx1, 2 on mx2, 1 on mx3 (each MX alone would wait for 10)"
guess 1 1
guess 1 2
guess 2 3
guess 2 4
t0=$(date +%s%N)
guess 3 5
wait_for 10 all_in_set fleet4 198.18.0.100
t1=$(date +%s%N)
echo "   in the kernel of all three MX $(( (t1 - t0) / 1000000 )) ms after the 5th guess started (a TLS session, AUTH, then the log line)"

say "Every MX now drops it (nftables set fleet4 in table inet bancluster)"
probe 198.18.0.100

say "Why? The coordinator kept the evidence of every host"
run bc show 198.18.0.100

say "Every agent's kernel holds exactly the coordinator's bans"
run bc audit fleet

say "An admin can also ban by hand, here a /24, for 1 hour"
att_addr 198.18.7.5
run bc ban 198.18.7.0/24 --for 1h --reason "abuse report from a partner"
wait_for 5 all_in_set fleet4 198.18.7.5
probe 198.18.7.5
run bc list
run bc unban 198.18.7.0/24
wait_for 5 none_in_set fleet4 198.18.7.5
probe 198.18.7.5

say "Cleaning up: stopping every process and deleting the namespaces"
FAIL=0
