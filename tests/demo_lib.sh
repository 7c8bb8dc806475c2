# demo_lib.sh - what `make demo` (tests/demo.sh) and `make demo-ha`
# (tests/demo_ha.sh) share, sourced after lib.sh: the narration (say,
# die), the attacker's probes and password guesses, and the waits for a
# ban in every MX's kernel, each dying with one line naming the MX and
# what did not happen. GUESS_WAIT: seconds a guess's log line may take
# (default 5).

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
	say() { printf '\n==> %s\n' "$*"; }
fi
die() { # one line naming what did not happen, then cleanup, exit 1
	printf 'demo: FAILED: %s\n' "$*"
	FAIL=1
	exit 1
}

# probe_all SRC WANT: every MX's 587 from SRC is WANT (connected|blocked);
# prints each result; on the first that is not, dies naming the MX
probe_all() {
	for i in 1 2 3; do
		if can_connect "$1" "198.18.0.1$i" 587; then got=connected; else got=blocked; fi
		if [ "$got" = connected ]; then
			printf '   %s -> mx%s:587  connected\n' "$1" "$i"
		else
			printf '   %s -> mx%s:587  BLOCKED (no answer)\n' "$1" "$i"
		fi
		[ "$got" = "$2" ] || die "$1 $( [ "$2" = blocked ] && echo 'not blocked' || echo 'blocked' ) on mx$i:587 ($3)"
	done
}
# logged_failures MX: Postfix lines saying the attacker's AUTH failed
logged_failures() {
	grep -F '[198.18.0.100]' "$WORK/mx$1-mail.log" | grep -cF 'authentication failed'
}
guess() { # guess MX N: one wrong password from the attacker, as a bot would
	before=$(logged_failures "$1")
	ns att swaks --server "198.18.0.1$1" --port 587 --local-interface 198.18.0.100 \
		--tls --auth LOGIN --auth-user alice@lab.test --auth-password "guess$2" \
		--quit-after AUTH --timeout 10 >"$WORK/swaks-$2.out" 2>&1
	wait_for "${GUESS_WAIT:-5}" test "$(logged_failures "$1")" -gt "$before" ||
		die "guess $2 on mx$1: Postfix logged no authentication failure (swaks: $(grep -v '^ *$' "$WORK/swaks-$2.out" | tail -1))"
	LOGGED=$(date +%s%N) # the line was seen (polled every 0.1 s)
	printf '   guess %s on mx%s: %s\n' "$2" "$1" \
		"$(grep -F '[198.18.0.100]' "$WORK/mx$1-mail.log" | grep -F 'authentication failed' | tail -1 | sed 's/^.*warning: //')"
}
# wait_all_sets SECONDS SET ADDR [WHY]: ADDR in SET on every MX, or die
# naming the first MX whose kernel does not hold it (and WHY)
wait_all_sets() {
	wait_for "$1" all_in_set "$2" "$3" && return 0
	for i in 1 2 3; do
		in_set "$i" "$2" "$3" || die "$3 not in set $2 of mx$i after $1 s${4:+ ($4)}"
	done
	die "$3 not in set $2 on every MX after $1 s${4:+ ($4)}"
}
wait_no_sets() {
	wait_for "$1" none_in_set "$2" "$3" && return 0
	for i in 1 2 3; do
		in_set "$i" "$2" "$3" && die "$3 still in set $2 of mx$i $1 s after the unban"
	done
	die "set $2 not readable on every MX"
}
