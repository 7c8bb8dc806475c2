#!/bin/sh
# test_allow.sh - `bancluster allow add|list|remove` driven as an admin
# does it (issue 14: "the allow list has no CLI"), with a real
# coordinator and two agents in network namespaces and real nftables.
# An address inside an entry is banned neither by the coordinator (no
# rule ban, no manual ban without --force) nor by the MX's local policy
# (local maxretry 3 here, below the fleet's 5, so a local ban would come
# first): the kernel sets are read with nft, and the same attack from an
# address outside every entry is banned on both levels. list shows the
# entries (comment, expiry, the configuration's marked), --for expires
# and the next attack is banned, remove takes effect at once, entries
# survive a coordinator restart, an agent that connects later gets them
# in its snapshot, and bad arguments get one line and the exit status.
. "$(dirname "$0")/lib.sh"

fleet_init 2
mail_logs
for i in 1 2; do printf '[local]\nmaxretry = 3\n' >>"$WORK/mx$i.ini"; done
start_coord
start_agent 1

# a ARGS...: `bancluster allow ARGS`; exit status in RC, stdout in OUT,
# stderr in ERR
a() {
	bc allow "$@" >"$WORK/a.out" 2>"$WORK/a.err"
	RC=$?
	OUT=$(cat "$WORK/a.out")
	ERR=$(cat "$WORK/a.err")
}
# expect NAME RC STDOUT STDERR: the last a exactly so (STDOUT an ERE
# matching the whole output, because of the sequence number)
expect() {
	if [ "$RC" = "$2" ] && printf '%s' "$OUT" | python3 -c '
import re, sys
sys.exit(0 if re.fullmatch(sys.argv[1], sys.stdin.read()) else 1)' "$3" &&
		[ "$ERR" = "$4" ]; then
		ok "$1"
	else
		notok "$1: exit $RC, stdout \"$OUT\", stderr \"$ERR\"; want exit $2, stdout /$3/, stderr \"$4\""
	fi
}
synced() { bc status 2>/dev/null | grep -q "^mx$1 .* in_sync "; }
# attack MX ADDR: 8 SASL failures from ADDR in mxN's log, and wait until
# the coordinator has counted them (so "not banned" is not "not yet")
attack() {
	_before=$(events_of "$1")
	for _k in 1 2 3 4 5 6 7 8; do fail "$1" "$2"; done
	wait_for 10 sh -c "[ \"\$(ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini status --json |
		python3 -c 'import json,sys; print(sum(a[\"events\"] for a in json.load(sys.stdin)[\"agents\"] if a[\"id\"] == \"mx$1\"))')\" -ge $((_before + 8)) ]" ||
		note "the coordinator did not count the 8 events of $2 from mx$1"
	sleep 0.5 # a decision, its update and the agent's batch
}
# banned_on MX SET ADDR / free_on MX SET ADDR: the kernel of mxN (the set
# must exist, so a missing table is not "not banned")
free_on() { ns "mx$1" nft list set inet bancluster "$2" >/dev/null 2>&1 && ! in_set "$1" "$2" "$3"; }
log_has() { grep -qF -- "$2" "$WORK/$1.log"; }

check "mx1 connects and syncs" wait_for 10 synced 1

# ---- add, list ----------------------------------------------------------
a add 192.0.2.0/24 --comment "office NAT"
expect "allow add: exit 0, one line" 0 'allowed 192\.0\.2\.0/24 until removed \(seq [0-9]+\)' ""
check "coordinator logs the entry with the admin's name" wait_for 3 log_has coordinator "allow 192.0.2.0/24 until removed by admin seq="
check "mx1 applies the entry from the update stream" wait_for 3 log_has mx1 "allow entry 192.0.2.0/24 from the coordinator"
a list
printf '%s\n' "$OUT" | grep -Eqx '192\.0\.2\.0/24 +never +- +admin +office NAT' &&
	printf '%s\n' "$OUT" | grep -Eqx '127\.0\.0\.0/8 +never +- +\(configuration\) +\[policy\] allow: change it in coordinator\.ini' &&
	printf '%s\n' "$OUT" | grep -Eqx '::1 +never .*\(configuration\).*' &&
	printf '%s\n' "$OUT" | tail -1 | grep -qx '3 allow entries (2 from the configuration)'
verdict "allow list: the entry with its comment and admin, the configuration's marked (exit $RC)"
a list --json
printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
e = {x["address"]: x for x in d["allow"]}
c = e["192.0.2.0/24"]
assert c["source"] == "cli" and c["added_by"] == "admin" and c["comment"] == "office NAT"
assert c["expires"] is None and c["expires_ms"] is None and c["created_ms"] > 0
assert e["127.0.0.0/8"]["source"] == "config" and e["127.0.0.0/8"]["added_by"] is None
assert d["total"] == 3'
verdict "allow list --json: source, added_by, comment, expires null, total 3"

# ---- the attack: no fleet ban, no local ban -----------------------------
attack 1 192.0.2.7
check "allowed 192.0.2.7 after 8 failures: not in mx1's fleet4" free_on 1 fleet4 192.0.2.7
check "allowed 192.0.2.7 after 8 failures: not in mx1's local4 (local maxretry 3)" free_on 1 local4 192.0.2.7
check "the coordinator says why it did not ban" log_has coordinator \
	"not banning 192.0.2.7: it overlaps the allow list (192.0.2.0/24, allow add by admin)"
attack 1 198.51.100.9
check "the same attack from outside the allow list: local ban on mx1" wait_for 3 in_set 1 local4 198.51.100.9
check "... and a fleet ban" wait_for 3 in_set 1 fleet4 198.51.100.9
out=$(bc show 192.0.2.7)
printf '%s\n' "$out" | head -1 | grep -qx '192\.0\.2\.7  (in the allow list: never banned)' &&
	printf '%s\n' "$out" | grep -qx '  allowed: 192\.0\.2\.0/24 by admin until removed: office NAT'
verdict "show 192.0.2.7: allowed, by admin, until removed, with the comment"
out=$(bc show 192.0.2.0/24)
printf '%s\n' "$out" | grep -Eq '^    [0-9TZ:-]+ allow +192\.0\.2\.0/24 by admin$' &&
	printf '%s\n' "$out" | grep -qx '      reason: office NAT'
verdict "show 192.0.2.0/24: the decision 'allow ... by admin' with its comment"

# ---- manual bans: refused, --force; an entry over a banned address ------
out=$(bc ban 192.0.2.8 2>&1)
rc=$?
[ "$rc" = 1 ] && [ "$out" = "bancluster: 192.0.2.8 overlaps the allow list (192.0.2.0/24, allow add by admin); use --force to ban it anyway" ]
verdict "ban inside the entry: exit 1, the entry named ($out)"
bc ban 192.0.2.8 --force --for 10m >/dev/null
check "ban --force inside the entry reaches the kernel" wait_for 3 in_set 1 fleet4 192.0.2.8
bc ban 203.0.113.5 --for 1h >/dev/null
check "203.0.113.5 banned" wait_for 3 in_set 1 fleet4 203.0.113.5
a add 203.0.113.0/24 --for 1h
expect "allow add over a banned address: the ban named, to lift with unban" 0 \
	'allowed 203\.0\.113\.0/24 for 1h \(seq [0-9]+\)\n1 active ban inside 203\.0\.113\.0/24; lift it with unban' ""
sleep 0.5
check "... and that ban stays in the kernel" in_set 1 fleet4 203.0.113.5

# ---- --for: expiry --------------------------------------------------------
a add 198.51.100.128/25 --for 3s --comment "short"
expect "allow add --for 3s" 0 'allowed 198\.51\.100\.128/25 for 3s \(seq [0-9]+\)' ""
a list
printf '%s\n' "$OUT" | grep -Eqx '198\.51\.100\.128/25 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z +[1-3]s +admin +short'
verdict "allow list: the entry with its expiry time and remaining seconds"
wait_for 3 log_has mx1 "allow entry 198.51.100.128/25 from the coordinator" >/dev/null
for k in 1 2 3 4 5 6 7 8; do fail 1 198.51.100.130; done
sleep 1
check "while allowed: 198.51.100.130 not in local4" free_on 1 local4 198.51.100.130
check "while allowed: 198.51.100.130 not in fleet4" free_on 1 fleet4 198.51.100.130
check "the coordinator expires the entry" wait_for 5 log_has coordinator "allow-expire 198.51.100.128/25 (added by admin) seq="
check "mx1 drops it from the update stream" wait_for 3 log_has mx1 "allow entry 198.51.100.128/25 removed by the coordinator"
a list
! printf '%s\n' "$OUT" | grep -q '^198\.51\.100\.128/25 '
verdict "allow list: the expired entry is gone"
attack 1 198.51.100.131
check "after the expiry the next attack is banned: local4" wait_for 3 in_set 1 local4 198.51.100.131
check "after the expiry the next attack is banned: fleet4" wait_for 3 in_set 1 fleet4 198.51.100.131

# ---- remove ---------------------------------------------------------------
a remove 192.0.2.0/24
expect "allow remove: exit 0" 0 'removed 192\.0\.2\.0/24 from the allow list \(seq [0-9]+\)' ""
check "mx1 drops the removed entry" wait_for 3 log_has mx1 "allow entry 192.0.2.0/24 removed by the coordinator"
attack 1 192.0.2.9
check "after remove: 192.0.2.9 banned locally" wait_for 3 in_set 1 local4 192.0.2.9
check "after remove: 192.0.2.9 banned fleet-wide" wait_for 3 in_set 1 fleet4 192.0.2.9
out=$(bc show 192.0.2.0/24)
printf '%s\n' "$out" | grep -Eq '^    [0-9TZ:-]+ allow-remove 192\.0\.2\.0/24 by admin$'
verdict "show: the removal recorded with the admin's name"

# ---- bad arguments: one line, exit status --------------------------------
a add 192.0.2.300
[ "$RC" = 64 ] && [ -z "$OUT" ] && [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] &&
	printf '%s\n' "$ERR" | grep -q '^bancluster: .*192\.0\.2\.300'
verdict "allow add 192.0.2.300: exit 64, one line naming it ($ERR)"
a add 192.0.2.0/24 --for 5x
[ "$RC" = 64 ] && [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] &&
	printf '%s\n' "$ERR" | grep -q '^bancluster: allow add --for .*5x'
verdict "allow add --for 5x: exit 64, one line naming it ($ERR)"
a add 192.0.2.0/24 --for 0
expect "allow add --for 0: exit 64" 64 "" "bancluster: allow add --for 0: expected 1s..3650d"
a remove 127.0.0.0/8
expect "allow remove of a configuration entry: exit 1" 1 "" \
	"bancluster: 127.0.0.0/8 is in [policy] allow of the coordinator's configuration: remove it there and reload"
a remove 192.0.2.77
expect "allow remove of an absent entry: exit 1" 1 "" "bancluster: 192.0.2.77: not in the allow list"
a frob
expect "allow frob: exit 64" 64 "" 'bancluster: allow: expected "add", "list" or "remove", got "frob"'
a add
expect "allow add without an address: exit 64" 64 "" "bancluster: allow add: expected one ADDR[/LEN]"
a list
[ "$(printf '%s\n' "$OUT" | tail -1)" = "3 allow entries (2 from the configuration)" ]
verdict "after the refusals: the list as it was (203.0.113.0/24 and the configuration's)"

# ---- survives a coordinator restart --------------------------------------
a add 2001:db8:77::/48 --comment "v6 partner"
expect "allow add of an IPv6 /48" 0 'allowed 2001:db8:77::/48 until removed \(seq [0-9]+\)' ""
kill "$COORD_PID"
wait "$COORD_PID" 2>/dev/null
start_coord
check "the coordinator is back" wait_for 10 sh -c "[ \$(grep -c 'started: epoch' $WORK/coordinator.log) -ge 2 ]"
a list
printf '%s\n' "$OUT" | grep -Eqx '2001:db8:77::/48 +never +- +admin +v6 partner' &&
	printf '%s\n' "$OUT" | grep -Eqx '203\.0\.113\.0/24 +[0-9T:Z-]+ +[0-9hms]+ +admin +'
verdict "after a restart: both entries listed with their comment and expiry"
check "mx1 resyncs to the new epoch" wait_for 10 synced 1
check "mx1's snapshot carries the two entries" wait_for 3 log_has mx1 "2 entries in the coordinator's allow list"
attack 1 2001:db8:77::9
check "after the restart: allowed 2001:db8:77::9 not in fleet6" free_on 1 fleet6 2001:db8:77::9
check "after the restart: allowed 2001:db8:77::9 not in local6" free_on 1 local6 2001:db8:77::9
attack 1 2001:db8:99::9
check "the same attack from 2001:db8:99::9: local ban" wait_for 3 in_set 1 local6 2001:db8:99::9
check "... and a fleet ban" wait_for 3 in_set 1 fleet6 2001:db8:99::9

# ---- an agent that connects later: the list in its snapshot --------------
start_agent 2
check "mx2 connects later and syncs" wait_for 10 synced 2
check "mx2's snapshot carries the two entries" wait_for 3 log_has mx2 "2 entries in the coordinator's allow list"
attack 2 203.0.113.40
check "mx2: allowed 203.0.113.40 not in local4" free_on 2 local4 203.0.113.40
check "mx2: allowed 203.0.113.40 not in fleet4" free_on 2 fleet4 203.0.113.40
attack 2 2001:db8:77::10
check "mx2: allowed 2001:db8:77::10 not in local6" free_on 2 local6 2001:db8:77::10
attack 2 198.51.100.77
check "mx2: the same attack from outside: local ban" wait_for 3 in_set 2 local4 198.51.100.77
check "every agent in sync at the end" wait_for 5 agents_synced
fleet_done
