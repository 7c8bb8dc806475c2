#!/bin/sh
# test_schema.sh - upgrading the coordinator's database as an admin does
# it (docs/upgrade.md): a real coordinator of this build started on a copy
# of tests/data/coordinator-0.3.0.db (made by the 0.3.0 coordinator, agent
# and CLI, schema version 1 without a version number) logs the migration
# and the backup it took, and through the real CLI every ban, decision,
# unban, reason and evidence line of the old file is still there; the
# offence history still escalates a new rule ban; user_version is now the
# current version and the backup holds the database as it was. Started
# again it migrates nothing. Env: B, NSP.
. "$(dirname "$0")/lib.sh"

fleet_init 1
mail_logs
# the committed file's decisions are from 2026-12-07: keep them however
# old the file gets (retention's maximum), and count its offences for as
# long as they can count (recidive_window's maximum)
cat >>"$WORK/coordinator.ini" <<INI
retention = 3650d
recidive_window = 365d
INI
cp "$TOP/tests/data/coordinator-0.3.0.db" "$WORK/coordinator.db"
chmod 600 "$WORK/coordinator.db"
DB=$WORK/coordinator.db
SCHEMA=$(sed -n 's/^#define BC_STORE_SCHEMA \([0-9]*\)$/\1/p' "$TOP/coordinator/store_schema.h")
check "BC_STORE_SCHEMA of coordinator/store_schema.h: $SCHEMA" [ -n "$SCHEMA" ]

# sqlq FILE SQL: one value, through Python's sqlite3 (read-only)
sqlq() {
	python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute(sys.argv[2]).fetchone()[0])' "$1" "$2"
}

check "the file of 0.3.0 has no schema version (user_version 0)" \
	[ "$(sqlq "$DB" 'PRAGMA user_version')" = 0 ]
start_coord
wait_for 15 grep -q 'started: epoch' "$WORK/coordinator.log" ||
	note "the coordinator did not start"
check "start-up log: store: schema version $SCHEMA (migrated from 1; the database as it was is in $DB.v1.bak)" \
	grep -qF "info: store: schema version $SCHEMA (migrated from 1; the database as it was is in $DB.v1.bak)" \
	"$WORK/coordinator.log"
check "start-up log: 4 active bans loaded" grep -q 'started: epoch [0-9]*, 4 active bans' \
	"$WORK/coordinator.log"

# ---- the bans, decisions and evidence of 0.3.0, through the CLI -------------
list=$(bc list 2>&1)
# (the reason's UTF-8 escaped for the terminal, or passed through)
for want in '^203\.0\.113\.7 .* never .* manual:admin .*M(\\xc3\\xbc|ü)ller: spam run$' \
	'^198\.51\.100\.0/24 .* never .* manual:admin .*abusive range$' \
	'^2001:db8:5::/48 .* never .* manual:admin .*v6 range$'; do
	printf '%s\n' "$list" | grep -Eq "$want"
	verdict "list: the permanent ban of 0.3.0 /$want/"
done
NOW_MS=$(($(date +%s) * 1000))
if [ "$NOW_MS" -lt 1828143296169 ]; then
	printf '%s\n' "$list" | grep -q '^198\.18\.9\.9 .*2027-12-07T01:34:56Z .*rule:maxretry .*offence 2, banned 365d$'
	verdict "list: the rule ban of 0.3.0, until 2027-12-07T01:34:56Z"
else
	note "the rule ban of the committed file has expired (2027-12-07): not in list"
fi
show=$(bc show 198.18.9.9 2>&1)
for want in '    2026-12-07T01:34:56Z ban    198.18.9.9 by rule:maxretry until 2027-12-07T01:34:56Z' \
	'    2026-12-07T01:34:55Z unban  198.18.9.9 by admin' \
	'    2026-12-07T01:26:55Z ban    198.18.9.9 by rule:maxretry until 2027-12-07T01:26:55Z' \
	'      reason: 5 weighted events from 1 host in 0s (auth_fail 5, sender_violation 0, auth_abort 0); offence 1, banned 365d'; do
	printf '%s\n' "$show" | grep -qxF "$want"
	verdict "show 198.18.9.9: \"$want\""
done
n=$(printf '%s\n' "$show" | grep -c '^        2026-12-07T01:[23][0-9]:5[56]Z  mx1        auth_fail        198\.18\.9\.9 .*SASL LOGIN authentication failed')
check "show 198.18.9.9: the 10 evidence lines of its two rule bans ($n)" [ "$n" = 10 ]
show=$(bc show 192.0.2.9 2>&1)
printf '%s\n' "$show" | grep -q '^  not banned$' &&
	printf '%s\n' "$show" | grep -qxF '    2026-12-07T01:26:55Z unban  192.0.2.9 by admin' &&
	printf '%s\n' "$show" | grep -qxF '      reason: short'
verdict "show 192.0.2.9: not banned, its ban and unban of 0.3.0 kept"

# ---- the offences of 0.3.0 still escalate -----------------------------------
# two offences on 2026-12-07: a third rule ban within recidive_window is
# offence 3 (bantime 3h * 2^2 = 12h)
if [ "$NOW_MS" -lt 1828142815209 ]; then
	start_agent 1
	wait_for 20 agents_synced || note "mx1 not in sync"
	bc unban 198.18.9.9 >/dev/null 2>&1
	for i in 1 2 3 4 5 6; do fail 1 198.18.9.9; done
	wait_for 20 sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini list 2>/dev/null |
		grep -q '^198\.18\.9\.9 .*rule:maxretry'"
	bc list 2>&1 | grep -q '^198\.18\.9\.9 .*rule:maxretry .*offence 3, banned 12h$'
	verdict "a new rule ban of 198.18.9.9 counts the two offences of 0.3.0: offence 3, banned 12h ($(bc list 2>&1 | grep '^198\.18\.9\.9'))"
else
	note "the offences of the committed file are older than recidive_window's maximum (365d): escalation not checked (test_store checks them)"
fi

# ---- the database now, and the backup ---------------------------------------
stop_all
check "user_version is now $SCHEMA" [ "$(sqlq "$DB" 'PRAGMA user_version')" = "$SCHEMA" ]
check "the backup is the file of 0.3.0: user_version 0, 8 decisions, 2 offences" \
	[ "$(sqlq "$DB.v1.bak" 'PRAGMA user_version') $(sqlq "$DB.v1.bak" 'SELECT count(*) FROM decisions') $(sqlq "$DB.v1.bak" 'SELECT count(*) FROM offences')" = "0 8 2" ]
check "the backup has the database's mode (600)" [ "$(stat -c %a "$DB.v1.bak")" = 600 ]

# ---- started again: nothing to migrate --------------------------------------
rm -f "$DB.v1.bak" "$DB.v1.bak-wal" "$DB.v1.bak-shm"
: >"$WORK/coordinator.log"
start_coord
wait_for 15 grep -q 'started: epoch' "$WORK/coordinator.log" ||
	note "the coordinator did not start again"
grep -qx ".*info: store: schema version $SCHEMA" "$WORK/coordinator.log" &&
	! ls "$WORK" | grep -q '\.bak$'
verdict "restart: store: schema version $SCHEMA, no migration, no backup"
fleet_done
