#!/bin/sh
# test_json.sh - every --json output through jansson (issue 14: "a reason
# Müller comes back as MÃ¼ller; only audit smtp has a schema_version").
# A real coordinator and one agent in network namespaces. Bans are made
# with `bancluster ban --reason` holding UTF-8, control characters, an
# invalid UTF-8 byte, C1 and bidi controls; `list --json` and `show
# --json` are parsed by Python's json and each reason compared exactly
# (valid UTF-8 as typed, each invalid byte U+FFFD), and the raw line is
# checked for the escapes (no raw ESC, DEL, C1 or bidi byte on stdout,
# Müller's bytes as they are). Every --json document (list, show,
# status, audit fleet, replay, audit smtp) parses, is one line, opens
# with schema and schema_version, and gives times as KEY + KEY_ms.
. "$(dirname "$0")/lib.sh"

fleet_init 1
start_coord
start_agent 1
check "the agent connects and syncs" wait_for 10 agents_synced

# the reasons, as bytes (printf: \033 ESC, \177 DEL, \377 not UTF-8,
# \302\233 the C1 CSI, \342\200\256 RLO)
R1="Müller"
R2=$(printf 'tab\there\033[31mred\177')
R3=$(printf 'bad \377 byte')
R4=$(printf 'csi \302\233 rlo \342\200\256 end')
bc ban 198.51.100.1 --for 1h --reason "$R1" >/dev/null &&
	bc ban 198.51.100.2 --for 1h --reason "$R2" >/dev/null &&
	bc ban 198.51.100.3 --for 1h --reason "$R3" >/dev/null &&
	bc ban 198.51.100.4 --for 1h --reason "$R4" >/dev/null &&
	bc ban 2001:db8:9::/64 --for permanent >/dev/null
verdict "five bans made with --reason of UTF-8, controls, an invalid byte"

bc list --json >"$WORK/list.json" 2>"$WORK/list.err"
check "list --json: exit 0" [ $? -eq 0 ]
# jcheck FILE PYTHON: PYTHON runs with d = the parsed document
jcheck() {
	python3 -c '
import json, sys
raw = open(sys.argv[1], "rb").read()
d = json.loads(raw)
exec(sys.argv[2])
' "$1" "$2" 2>"$WORK/jcheck.err" || { note "$(tail -1 "$WORK/jcheck.err")"; return 1; }
}
# the four reasons as Python expects them back
WANT='want = {"198.51.100.1": "Müller", "198.51.100.2": "tab\there\x1b[31mred\x7f",
        "198.51.100.3": "bad \ufffd byte", "198.51.100.4": "csi \x9b rlo \u202e end"}'
check "list --json: every reason comes back exactly (Müller, controls, U+FFFD for the invalid byte)" \
	jcheck "$WORK/list.json" "$WANT
got = {b['address']: b['reason'] for b in d['bans']}
for a, r in want.items():
    assert got.get(a) == r, (a, got.get(a), r)"
check "list --json: Müller's UTF-8 bytes on stdout as they are" \
	grep -qF 'Müller' "$WORK/list.json"
check "list --json: ESC and DEL as u001B and u007F escapes, the tab as backslash-t" \
	grep -qF '"tab\there\u001B[31mred\u007F"' "$WORK/list.json"
check "list --json: C1 CSI and RLO as u009B and u202E escapes" \
	grep -qF '"csi \u009B rlo \u202E end"' "$WORK/list.json"
check "list --json: no raw control byte (ESC, DEL, C1, RLO) and no invalid UTF-8 on stdout" \
	jcheck "$WORK/list.json" "
raw.decode('utf-8')
for b in (b'\x1b', b'\x7f', b'\xc2\x9b', b'\xe2\x80\xae', b'\xff'):
    assert b not in raw, b"
check "list --json: one line, schema bancluster/list version 2, total 5" \
	jcheck "$WORK/list.json" "
assert raw.count(b'\n') == 1 and raw.endswith(b'\n')
assert list(d)[:2] == ['schema', 'schema_version'], list(d)
assert d['schema'] == 'bancluster/list' and d['schema_version'] == 2 and d['total'] == 5"
check "list --json: a ban's keys and times (KEY + KEY_ms, null when permanent)" \
	jcheck "$WORK/list.json" "
b = {x['address']: x for x in d['bans']}
one, perm = b['198.51.100.1'], b['2001:db8:9::/64']
assert list(one) == ['address', 'permanent', 'expires', 'expires_ms', 'remaining_s',
                     'created', 'created_ms', 'origin', 'reason'], list(one)
import datetime
t = datetime.datetime.strptime(one['expires'], '%Y-%m-%dT%H:%M:%S.%fZ').replace(tzinfo=datetime.timezone.utc)
assert int(t.timestamp() * 1000) == one['expires_ms'], (one['expires'], one['expires_ms'])
assert 3500 < one['remaining_s'] <= 3600 and one['permanent'] is False
assert one['origin'] == 'manual:admin' and one['created_ms'] > 0
assert perm['permanent'] is True and perm['expires'] is None and perm['expires_ms'] is None
assert perm['remaining_s'] == 0"

for a in 1 2 3 4; do
	bc show "198.51.100.$a" --json >"$WORK/show$a.json" || note "show 198.51.100.$a --json: exit $?"
done
check "show --json: the decision's reason comes back exactly, for each of the four" \
	jcheck "$WORK/show1.json" "$WANT
for a in '1234':
    s = json.load(open(sys.argv[1].replace('show1', 'show' + a)))
    r = s['decisions'][0]['reason']
    assert r == want['198.51.100.' + a], (a, r)"
check "show --json: schema bancluster/show 2, the ban as in list, decision times" \
	jcheck "$WORK/show1.json" "
assert d['schema'] == 'bancluster/show' and d['schema_version'] == 2
assert d['banned'] is True and d['address'] == '198.51.100.1'
assert list(d['bans'][0]) == ['address', 'permanent', 'expires', 'expires_ms', 'remaining_s',
                              'created', 'created_ms'], list(d['bans'][0])
x = d['decisions'][0]
assert x['action'] == 'ban' and x['signer'] == 'admin' and x['time_ms'] > 0
assert x['time'].endswith('Z') and x['expires_ms'] == d['bans'][0]['expires_ms']"

# the agent's heartbeat states the five bans applied (once a second)
wait_for 10 agents_synced
bc status --json >"$WORK/status.json"
check "status --json: schema bancluster/status 3; the address that answered, cluster null (one coordinator); mx1 state in_sync, fleet_bans 5, last_seen + last_seen_ms" \
	jcheck "$WORK/status.json" "
assert d['schema'] == 'bancluster/status' and d['schema_version'] == 3
assert list(d) == ['schema', 'schema_version', 'coordinator', 'cluster', 'agents'], list(d)
assert d['cluster'] is None
c = d['coordinator']
assert c['address'] == 'tcp://198.18.0.1:7710', c['address']
assert c['started'].endswith('Z') and c['started_ms'] > 0 and c['bans'] == 5
a = d['agents'][0]
assert a['id'] == 'mx1' and a['state'] == 'in_sync' and a['in_sync'] is True, a
assert a['fleet_bans'] == 5 and a['last_seen_ms'] > 0 and a['last_seen'].endswith('Z'), a"

bc audit fleet --json >"$WORK/audit.json"
check "audit fleet --json: schema bancluster/audit-fleet 2; mx1 in_sync with fleet_bans and last_seen" \
	jcheck "$WORK/audit.json" "
assert d['schema'] == 'bancluster/audit-fleet' and d['schema_version'] == 2 and d['in_sync'] is True
a = d['agents'][0]
assert a['state'] == 'in_sync' and a['fleet_bans'] == 5 and a['last_seen_ms'] > 0, a"

# replay and audit smtp need no coordinator
for i in 1 2 3 4 5; do
	echo "2024-01-10T12:00:0${i}Z mx1 postfix/smtpd[1$i]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"
done >"$WORK/mail.log"
"$BIN/bancluster" replay "$WORK/mail.log" --json >"$WORK/replay.json"
check "replay --json: schema bancluster/replay 2, one ban with address, time and expires pairs" \
	jcheck "$WORK/replay.json" "
assert d['schema'] == 'bancluster/replay' and d['schema_version'] == 2
b = d['bans'][0]
assert list(b) == ['address', 'time', 'time_ms', 'expires', 'expires_ms', 'score'], list(b)
assert b['address'] == '192.0.2.7' and b['time'] == '2024-01-10T12:00:05.000Z'
assert b['expires_ms'] - b['time_ms'] == 3 * 3600 * 1000 and b['score'] == 5"
ns coord "$BIN/bancluster" audit smtp 127.0.0.1 --ports 1:mx --timeout 1 --json \
	>"$WORK/smtp.json" 2>/dev/null
RC=$?
check "audit smtp --json, nothing reachable: exit 3, schema bancluster/audit-smtp 1, error unreachable" \
	jcheck "$WORK/smtp.json" "
assert $RC == 3
assert d['schema'] == 'bancluster/audit-smtp' and d['schema_version'] == 1
assert d['error'] == 'unreachable' and d['checks'] == [] and d['summary'] == {'exit_code': 3}"
check "every --json document is one line opening with schema and schema_version" \
	sh -c 'for f in "$@"; do python3 -c "
import json, sys
raw = open(sys.argv[1], \"rb\").read()
assert raw.count(b\"\\n\") == 1, sys.argv[1]
assert list(json.loads(raw))[:2] == [\"schema\", \"schema_version\"], sys.argv[1]" "$f" || exit 1; done' - \
	"$WORK/list.json" "$WORK/show1.json" "$WORK/status.json" "$WORK/audit.json" \
	"$WORK/replay.json" "$WORK/smtp.json"

# a document that cannot be written: exit 1, one line naming why
bc list --json >/dev/full 2>"$WORK/full.err"
RC=$?
check "list --json to a full device: exit 1, one line on stderr ($RC: $(head -1 "$WORK/full.err"))" \
	sh -c '[ $1 -eq 1 ] && [ "$(cat "$2")" = "bancluster: --json: writing stdout: No space left on device" ]' - "$RC" "$WORK/full.err"
"$BIN/bancluster" replay "$WORK/mail.log" --json >/dev/full 2>"$WORK/full.err"
RC=$?
check "replay --json to a full device: exit 1, one line on stderr ($RC: $(head -1 "$WORK/full.err"))" \
	sh -c '[ $1 -eq 1 ] && [ "$(cat "$2")" = "bancluster: --json: writing stdout: No space left on device" ]' - "$RC" "$WORK/full.err"

# the text output is the terminal's: bytes outside printable ASCII as \xHH
check "list (text): the reasons escaped for the terminal as before" \
	sh -c "bc() { ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini \"\$@\"; }
		bc list | grep -qF 'M\\xc3\\xbcller' && bc list | grep -qF 'tab\\x09here\\x1b[31mred\\x7f'"
fleet_done
