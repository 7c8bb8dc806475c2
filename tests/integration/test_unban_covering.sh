#!/bin/sh
# test_unban_covering.sh - `unban ADDR` for an address inside a banned
# prefix (issue 14: "unban 198.51.100.7 says not banned although show
# says it is covered by 198.51.100.0/24"). A real coordinator and two
# agents in network namespaces with real nftables: a plain unban of a
# covered host fails with one line naming each covering prefix and leaves
# the prefix in every kernel (and blocking); `--covering` lifts the
# prefix bans, which leave the agents' fleet*_nets sets and `list`; an
# address banned itself and covered loses its own ban and is told about
# the prefix still blocking it. IPv6 and prefix arguments alike.
. "$(dirname "$0")/lib.sh"

fleet_init 2
start_coord
start_agent 1
start_agent 2
start_listeners
att_addr 198.18.9.5
check "two agents connect and sync" wait_for 10 agents_synced

# u ARGS...: `bancluster unban ARGS` in the coordinator's namespace;
# exit status in RC, stdout in OUT, stderr in ERR
u() {
	bc unban "$@" >"$WORK/u.out" 2>"$WORK/u.err"
	RC=$?
	OUT=$(cat "$WORK/u.out")
	ERR=$(cat "$WORK/u.err")
}
# expect NAME RC STDOUT STDERR: the last u exactly so (STDOUT an ERE,
# anchored, because of the sequence number)
expect() {
	if [ "$RC" = "$2" ] && printf '%s\n' "$OUT" | grep -Eqx -- "$3" &&
		[ "$(printf '%s\n' "$OUT" | wc -l)" = 1 ] && [ "$ERR" = "$4" ]; then
		ok "$1"
	else
		notok "$1: exit $RC, stdout \"$OUT\", stderr \"$ERR\"; want exit $2, stdout /$3/, stderr \"$4\""
	fi
}
# in_nets MX SET PREFIX: exactly this prefix is an element of SET_nets
in_nets() { ns "mx$1" nft get element inet bancluster "${2}_nets" "{ $3 }" >/dev/null 2>&1; }
both_nets() { in_nets 1 "$1" "$2" && in_nets 2 "$1" "$2"; }
listed() { bc list | grep -q "^$1 "; }
# sync: every agent has applied the coordinator's sequence
sync() { wait_for 5 agents_synced; }

# ---- a host inside a banned /24: named, refused, the /24 stays ---------
bc ban 198.51.100.0/24 --for 1h --reason "fleet /24" >/dev/null
check "the /24 is in fleet4_nets of both MX" wait_for 3 both_nets fleet4 198.51.100.0/24
u 198.51.100.7
expect "unban of a host inside a banned /24: exit 1, one line naming the /24" 1 "" \
	"bancluster: 198.51.100.7 is not banned itself; it is inside 198.51.100.0/24 (fleet ban): use --covering to lift that ban"
sync
check "after the refused unban: the /24 still in both kernels (fleet4_nets)" both_nets fleet4 198.51.100.0/24
check "after the refused unban: 198.51.100.7 still matches the kernel set" all_in_set fleet4 198.51.100.7
check "after the refused unban: list still shows the /24" listed 198.51.100.0/24
check "the refused unban recorded no decision" sh -c "! ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini show 198.51.100.0/24 | grep -q ' unban '"

# ---- --covering lifts it ----------------------------------------------
u --covering 198.51.100.7
expect "unban --covering: exit 0, names the /24 it lifted" 0 \
	"unbanned 198\.51\.100\.0/24 covering 198\.51\.100\.7 \(seq [0-9]+\)" ""
check "after --covering: the /24 gone from both kernels" wait_for 3 none_in_set fleet4 198.51.100.0/24
check "after --covering: 198.51.100.7 matches no kernel set" none_in_set fleet4 198.51.100.7
check "after --covering: list no longer shows the /24" sh -c "! ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list | grep -q '^198.51.100.0/24 '"
check "the lift is recorded as an unban by the admin" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini show 198.51.100.0/24 | grep -q ' unban  *198.51.100.0/24 by admin$'"
u --covering 198.51.100.7
expect "unban --covering of an address nothing covers any more: exit 1, not banned" 1 "" \
	"bancluster: 198.51.100.7: not banned"

# ---- real connections: refused unban keeps blocking, --covering opens --
bc ban 198.18.9.0/24 --for 1h >/dev/null
check "198.18.9.0/24 in both kernels" wait_for 3 both_nets fleet4 198.18.9.0/24
check "banned /24: 198.18.9.5 cannot connect to mx1" cannot_connect 198.18.9.5 198.18.0.11
u 198.18.9.5
expect "unban 198.18.9.5 inside the /24: exit 1" 1 "" \
	"bancluster: 198.18.9.5 is not banned itself; it is inside 198.18.9.0/24 (fleet ban): use --covering to lift that ban"
sync
check "after the refused unban: 198.18.9.5 still cannot connect to mx2" cannot_connect 198.18.9.5 198.18.0.12
u 198.18.9.5 --covering
expect "unban ADDR --covering (option after the address): exit 0" 0 \
	"unbanned 198\.18\.9\.0/24 covering 198\.18\.9\.5 \(seq [0-9]+\)" ""
check "after --covering: 198.18.9.5 connects to mx1 again" wait_for 3 can_connect 198.18.9.5 198.18.0.11
check "after --covering: 198.18.9.5 connects to mx2 again" wait_for 3 can_connect 198.18.9.5 198.18.0.12

# ---- banned itself and covered ------------------------------------------
bc ban 203.0.113.0/24 --for 1h >/dev/null
bc ban 203.0.113.9 --for 1h >/dev/null
check "203.0.113.9 in both hash sets (fleet4)" wait_for 3 sh -c \
	"ip netns exec $NSP-mx1 nft get element inet bancluster fleet4 '{ 203.0.113.9 }' >/dev/null 2>&1 &&
	ip netns exec $NSP-mx2 nft get element inet bancluster fleet4 '{ 203.0.113.9 }' >/dev/null 2>&1"
u 203.0.113.9
expect "unban of an address banned itself and covered: exit 0, its own ban lifted, the /24 named" 0 \
	"unbanned 203\.0\.113\.9 \(seq [0-9]+\), but it is still inside 203\.0\.113\.0/24 \(fleet ban\): use --covering to lift that ban" ""
check "its own element left both hash sets" wait_for 3 sh -c \
	"ip netns exec $NSP-mx1 nft list set inet bancluster fleet4 >/dev/null &&
	! ip netns exec $NSP-mx1 nft get element inet bancluster fleet4 '{ 203.0.113.9 }' >/dev/null 2>&1 &&
	! ip netns exec $NSP-mx2 nft get element inet bancluster fleet4 '{ 203.0.113.9 }' >/dev/null 2>&1"
check "the covering /24 stays in both kernels" both_nets fleet4 203.0.113.0/24
check "list: the /24 listed, 203.0.113.9 not" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list >$WORK/list.txt &&
	grep -q '^203.0.113.0/24 ' $WORK/list.txt && ! grep -q '^203.0.113.9 ' $WORK/list.txt"
u 203.0.113.9
expect "unbanned again: now only covered, exit 1" 1 "" \
	"bancluster: 203.0.113.9 is not banned itself; it is inside 203.0.113.0/24 (fleet ban): use --covering to lift that ban"

# ---- two covering prefixes, and its own ban, lifted at once -------------
bc ban 203.0.0.0/16 --for 1h >/dev/null
bc ban 203.0.113.10 --for 1h >/dev/null
u 203.0.113.11
expect "a host inside a /16 and a /24: both named, widest first" 1 "" \
	"bancluster: 203.0.113.11 is not banned itself; it is inside 203.0.0.0/16 (fleet ban) and 203.0.113.0/24 (fleet ban): use --covering to lift those bans"
check "the /16 and the /24 in both kernels" wait_for 3 sh -c \
	"for m in 1 2; do for p in 203.0.0.0/16 203.0.113.0/24; do
	ip netns exec $NSP-mx\$m nft get element inet bancluster fleet4_nets \"{ \$p }\" >/dev/null 2>&1 || exit 1; done; done"
u --covering 203.0.113.10
expect "unban --covering of a host banned itself and by two prefixes: all three lifted" 0 \
	"unbanned 203\.0\.113\.10, 203\.0\.0\.0/16 and 203\.0\.113\.0/24 covering it \(seq [0-9]+\)" ""
check "after --covering: nothing of 203.0.113.0/24 in any kernel" wait_for 3 none_in_set fleet4 203.0.113.10
check "after --covering: the /16 gone too" none_in_set fleet4 203.0.5.5
check "list: none of the three" sh -c "! ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list | grep -q '^203\.0\.'"

# ---- a prefix argument inside a wider ban -------------------------------
bc ban 192.0.2.0/24 --for 1h >/dev/null
u 192.0.2.0/25
expect "unban of a /25 inside a banned /24: refused, the /24 named" 1 "" \
	"bancluster: 192.0.2.0/25 is not banned itself; it is inside 192.0.2.0/24 (fleet ban): use --covering to lift that ban"
u --covering 192.0.2.128/26
expect "unban --covering of a /26 lifts the /24 around it" 0 \
	"unbanned 192\.0\.2\.0/24 covering 192\.0\.2\.128/26 \(seq [0-9]+\)" ""
check "the /24 gone from both kernels" wait_for 3 none_in_set fleet4 192.0.2.0/24

# ---- IPv6 ---------------------------------------------------------------
bc ban 2001:db8:7::/48 --for 1h >/dev/null
check "2001:db8:7::/48 in both fleet6_nets" wait_for 3 both_nets fleet6 2001:db8:7::/48
u 2001:db8:7::5
expect "unban of an IPv6 host inside a banned /48: refused, named" 1 "" \
	"bancluster: 2001:db8:7::5 is not banned itself; it is inside 2001:db8:7::/48 (fleet ban): use --covering to lift that ban"
sync
check "the /48 stays in both kernels" both_nets fleet6 2001:db8:7::/48
u --covering 2001:db8:7::5
expect "unban --covering of the IPv6 host: the /48 lifted" 0 \
	"unbanned 2001:db8:7::/48 covering 2001:db8:7::5 \(seq [0-9]+\)" ""
check "the /48 gone from both fleet6_nets" wait_for 3 none_in_set fleet6 2001:db8:7::/48

# ---- what did not change ------------------------------------------------
bc ban 198.51.100.20 --for 1h >/dev/null
u 198.51.100.20
expect "a plain unban of a banned host prints what it always did" 0 \
	"unbanned 198\.51\.100\.20 \(seq [0-9]+\)" ""
u --covering 198.51.100.21
expect "--covering of an address neither banned nor covered: exit 1, not banned" 1 "" \
	"bancluster: 198.51.100.21: not banned"
u --bogus 198.51.100.21
[ "$RC" = 64 ] && [ -z "$OUT" ] && printf '%s\n' "$ERR" | grep -q "unrecognized option '--bogus'"
verdict "unban --bogus: exit 64, the option named"
check "every agent in sync with the coordinator at the end" sync
fleet_done
