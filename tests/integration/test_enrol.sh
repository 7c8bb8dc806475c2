#!/bin/sh
# test_enrol.sh - enrolment without copying files (issue 14: "a key
# generated per host, .pub files copied by hand into agents_dir under the
# right name, coordinator.pub copied back"). A real coordinator and two
# agents in network namespaces, every agent key made by
# `bancluster-agent --init`, the coordinator's key installed on each MX by
# `--coordinator-key`, and the keys enrolled by signed admin requests:
#   - --init: key owned by [agent] user, 0600, .pub 0644; the printed
#     public key, fingerprint and `agent add` line; a second --init
#     refuses (exit 1, key unchanged); the coordinator's --init and
#     --admin likewise;
#   - agent add -> the agent's events are counted and it is in status;
#     agents_dir/NAME.pub written 0644 with the agent's key;
#   - agent remove -> its next report is refused, the coordinator's log
#     names its fingerprint as not enrolled, and it leaves status;
#   - admin add: the new admin can ban; admin remove: its requests are
#     refused; an admin cannot remove itself;
#   - bad names, bad keys, duplicates: one line and the exit code, from
#     the CLI and (raw requests through tests/tools/wire_peer) from the
#     coordinator itself;
#   - a coordinator running as an unprivileged user (as under the unit)
#     names the directory it cannot write, then writes it once given;
#   - key directories that do not load: add and remove change nothing.
# Env: B, NSP.
. "$(dirname "$0")/lib.sh"

fleet_init 2
mail_logs
# no hand-made agent keys: each MX gets a directory of its own for them,
# outside $WORK (the directory of the mail logs, which the agent's reader
# may read: a key there would be in its reach, and the agent refuses that)
rm -f "$WORK"/mx*.key "$WORK"/mx*.pub "$WORK"/agents.d/*
ETCS=$(mktemp -d /tmp/bc-enrol-etc.XXXXXX)
chmod 755 "$ETCS"
trap 'fleet_cleanup; rm -rf "$ETCS"' EXIT
for i in 1 2; do
	mkdir -p "$ETCS/etc-mx$i"
	sed -i -e "s|^key .*|key             = $ETCS/etc-mx$i/mx$i.key|" \
		-e "s|^coordinator_key .*|coordinator_key = $ETCS/etc-mx$i/coordinator.pub|" \
		"$WORK/mx$i.ini"
done
AUSER=${AGENT_USER-nobody}

# r CMD...: run; RC, OUT, ERR
r() {
	"$@" >"$WORK/r.out" 2>"$WORK/r.err"
	RC=$?
	OUT=$(cat "$WORK/r.out")
	ERR=$(cat "$WORK/r.err")
}
# fpr FILE: the key id of a .pub in hex (BLAKE2b-128 of the public key)
fpr() {
	python3 -c 'import base64,hashlib,sys
pk = base64.b64decode(open(sys.argv[1]).read().split()[1])
print(hashlib.blake2b(pk, digest_size=16).hexdigest())' "$1"
}
b64() { awk '{print $2}' "$1"; }
# in_status NAME [STATE]: NAME's line in `status` (STATE: with that state)
in_status() {
	bc status 2>/dev/null | grep -q "^$1 .*${2:-}"
}

# ---- bancluster-agent --init ------------------------------------------
r "$BIN/bancluster-agent" -c "$WORK/mx1.ini" --init
K=$ETCS/etc-mx1/mx1
F1=$(fpr "$K.pub")
P1=$(b64 "$K.pub")
[ "$RC" -eq 0 ] && [ -z "$ERR" ] &&
	printf '%s\n' "$OUT" | grep -qxF "public key:  $P1" &&
	printf '%s\n' "$OUT" | grep -qxF "fingerprint: $F1" &&
	printf '%s\n' "$OUT" | grep -qxF "  bancluster agent add mx1 $P1"
verdict "agent --init: exit 0, prints public key, fingerprint $F1 and 'bancluster agent add mx1 KEY'"
check "agent --init: mx1.key mode 600 owner $AUSER ($(stat -c '%a %U' "$K.key"))" \
	[ "$(stat -c '%a %U' "$K.key")" = "600 $AUSER" ]
check "agent --init: mx1.pub mode 644 ($(stat -c '%a %U' "$K.pub"))" \
	[ "$(stat -c '%a' "$K.pub")" = 644 ]
sum=$(sha256sum "$K.key" "$K.pub")
r "$BIN/bancluster-agent" -c "$WORK/mx1.ini" --init
want="bancluster-agent: $K.key exists: not overwritten (this agent has its key; remove the file first to make a new one)"
[ "$RC" -eq 1 ] && [ "$ERR" = "$want" ] && [ -z "$OUT" ] &&
	[ "$(sha256sum "$K.key" "$K.pub")" = "$sum" ]
verdict "agent --init twice: exit 1 with \"$ERR\", key unchanged"
r "$BIN/bancluster-agent" -c "$WORK/mx2.ini" --init
P2=$(b64 "$ETCS/etc-mx2/mx2.pub")
F2=$(fpr "$ETCS/etc-mx2/mx2.pub")
check "agent --init for mx2" [ "$RC" -eq 0 ]

# ---- command lines that make no sense: usage, exit 64 -------------------
r "$BIN/bancluster-agent" -c "$WORK/mx2.ini" --init --check-config
check "agent --init --check-config: exit 64 ($(printf '%s' "$ERR" | head -1))" [ "$RC" -eq 64 ]
r "$BIN/bancluster-agent" -c "$WORK/mx2.ini" --admin x y
check "agent --admin (a coordinator option): exit 64 ($(printf '%s' "$ERR" | head -1))" [ "$RC" -eq 64 ]
r "$BIN/bancluster-coordinator" -c "$WORK/coordinator.ini" --admin alice
[ "$RC" -eq 64 ] && printf '%s\n' "$ERR" | head -1 | grep -qx "bancluster-coordinator: --admin NAME PUBKEY: missing PUBKEY"
verdict "coordinator --admin NAME without PUBKEY: exit 64 ($(printf '%s' "$ERR" | head -1))"
r "$BIN/bancluster-coordinator" -c "$WORK/coordinator.ini" --user nobody
check "coordinator --user without --init: exit 64" [ "$RC" -eq 64 ]
r "$BIN/bancluster-agent" --help
printf '%s\n' "$OUT" | grep -qF -- "--coordinator-key PUBKEY" && printf '%s\n' "$OUT" | grep -qF -- "--init"
verdict "agent --help names --init and --coordinator-key"

# ---- --coordinator-key ------------------------------------------------
CP=$(b64 "$WORK/coordinator.pub")
r "$BIN/bancluster-agent" -c "$WORK/mx1.ini" --coordinator-key "not-a-key"
[ "$RC" -eq 1 ] && [ "$ERR" = "bancluster-agent: --coordinator-key: not a bancluster public key (expected the 44 base64 characters of a .pub file)" ] &&
	[ ! -e "$ETCS/etc-mx1/coordinator.pub" ]
verdict "--coordinator-key garbage: exit 1 with \"$ERR\", nothing written"
r "$BIN/bancluster-agent" -c "$WORK/mx1.ini" --coordinator-key "$CP"
[ "$RC" -eq 0 ] && cmp -s "$ETCS/etc-mx1/coordinator.pub" "$WORK/coordinator.pub" &&
	[ "$(stat -c %a "$ETCS/etc-mx1/coordinator.pub")" = 644 ]
verdict "--coordinator-key KEY: exit 0, coordinator.pub written as the coordinator's, 0644 ($OUT)"
r "$BIN/bancluster-agent" -c "$WORK/mx1.ini" --coordinator-key "$CP"
check "--coordinator-key the same key again: exit 0 ($OUT)" [ "$RC" -eq 0 ]
r "$BIN/bancluster-agent" -c "$WORK/mx1.ini" --coordinator-key "$P2"
[ "$RC" -eq 1 ] && cmp -s "$ETCS/etc-mx1/coordinator.pub" "$WORK/coordinator.pub" &&
	printf '%s\n' "$ERR" | grep -qF "holds another key"
verdict "--coordinator-key another key: exit 1, not overwritten ($ERR)"
# the whole .pub line works as well (as "\$(cat coordinator.pub)")
r "$BIN/bancluster-agent" -c "$WORK/mx2.ini" --coordinator-key "$(cat "$WORK/coordinator.pub")"
check "--coordinator-key \"\$(cat coordinator.pub)\": exit 0" [ "$RC" -eq 0 ]

# ---- bancluster-coordinator --init and --admin (a scratch set-up) -----
mkdir -p "$WORK/c2/agents.d" "$WORK/c2/admins.d"
cat >"$WORK/c2/coordinator.ini" <<INI
[coordinator]
listen      = tcp://127.0.0.1:17710
publish     = tcp://127.0.0.1:17711
key         = coordinator.key
agents_dir  = agents.d
admins_dir  = admins.d
database    = coordinator.db
INI
r "$BIN/bancluster-coordinator" -c "$WORK/c2/coordinator.ini" --init
CF=$(fpr "$WORK/c2/coordinator.pub" 2>/dev/null)
[ "$RC" -eq 0 ] && [ "$(stat -c %a "$WORK/c2/coordinator.key")" = 600 ] &&
	printf '%s\n' "$OUT" | grep -qxF "fingerprint: $CF" &&
	printf '%s\n' "$OUT" | grep -qF -- "--coordinator-key $(b64 "$WORK/c2/coordinator.pub")"
verdict "coordinator --init: exit 0, key 0600, prints fingerprint $CF and the --coordinator-key line"
r "$BIN/bancluster-coordinator" -c "$WORK/c2/coordinator.ini" --init
[ "$RC" -eq 1 ] && [ "$(fpr "$WORK/c2/coordinator.pub")" = "$CF" ] &&
	[ "$ERR" = "bancluster-coordinator: $WORK/c2/coordinator.key exists: not overwritten (the coordinator has its key; every agent and admin pins it)" ]
verdict "coordinator --init twice: exit 1 with \"$ERR\""
r "$BIN/bancluster-coordinator" -c "$WORK/c2/coordinator.ini" --admin admin "$(cat "$WORK/admin.pub")"
[ "$RC" -eq 0 ] && cmp -s "$WORK/c2/admins.d/admin.pub" "$WORK/admin.pub"
verdict "coordinator --admin admin KEY: admins.d/admin.pub written ($OUT)"
r "$BIN/bancluster-coordinator" -c "$WORK/c2/coordinator.ini" --admin other "$(cat "$WORK/admin.pub")"
[ "$RC" -eq 1 ] && [ ! -e "$WORK/c2/admins.d/other.pub" ] &&
	[ "$ERR" = "bancluster-coordinator: --admin other: admin admin is enrolled already with that key" ]
verdict "coordinator --admin, same key under another name: exit 1 with \"$ERR\""
r "$BIN/bancluster-coordinator" -c "$WORK/c2/coordinator.ini" --admin ../x "$(cat "$WORK/admin.pub")"
[ "$RC" -eq 1 ] && [ -z "$(ls "$WORK/c2/admins.d" | grep -v '^admin.pub$')" ]
verdict "coordinator --admin ../x: exit 1 ($ERR)"
r "$BIN/bancluster-coordinator" -c "$WORK/c2/coordinator.ini" --check-config
check "the scratch coordinator set up by --init and --admin passes --check-config ($OUT$ERR)" [ "$RC" -eq 0 ]

# ---- the fleet: mx1 runs before it is enrolled -------------------------
start_coord
check "coordinator answers the admin" wait_for 10 bc status
start_agent 1
sleep 1.5
bc status >"$WORK/st.out" 2>&1
check "mx1, not enrolled yet, is not in status" sh -c "! grep -q '^mx1 ' '$WORK/st.out'"
check "mx1's log names the refusal, its fingerprint and the agent add line" \
	wait_for 5 grep -qF "refused this agent's key (fingerprint $F1): it is not enrolled there; on the admin host: bancluster agent add mx1 $P1 (tried again after 3 s, then at most every 30 s)" "$WORK/mx1.log"
# whichever of its two sockets' handshakes failed first names its endpoint
check "... naming the coordinator's endpoint (7710, or 7711 for updates)" \
	grep -qE "^[^ ]+ bancluster-agent: warning: coordinator tcp://198\.18\.0\.1:771[01] refused this agent's key" "$WORK/mx1.log"

r bc agent add mx1 "$P1"
[ "$RC" -eq 0 ] && [ -z "$ERR" ] &&
	printf '%s\n' "$OUT" | grep -qxF "added agent mx1 (fingerprint $F1)" &&
	printf '%s\n' "$OUT" | grep -qF -- "--coordinator-key $CP"
verdict "agent add mx1: exit 0, names fingerprint $F1 and the coordinator's key"
cmp -s "$WORK/agents.d/mx1.pub" "$K.pub" && [ "$(stat -c %a "$WORK/agents.d/mx1.pub")" = 644 ] &&
	[ -z "$(ls -A "$WORK/agents.d" | grep -v '^mx1.pub$')" ]
verdict "agents.d/mx1.pub written, 0644, the agent's key, no temporary file left"
check "coordinator log: admin admin added agent mx1 with its fingerprint" \
	grep -qF "enrolment: admin admin added agent mx1 (key $F1)" "$WORK/coordinator.log"
check "mx1 connects and is in status after agent add" wait_for 15 in_status mx1 " in_sync "
for n in 1 2 3; do fail 1 198.51.100.7; done
check "mx1's reports are accepted: 3 events counted" wait_for 10 test "$(events_of 1)" = 3

r bc agent list --json
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = d["agents"]
assert d["total"] == 1 and len(a) == 1, d
assert a[0]["name"] == "mx1" and a[0]["fingerprint"] == sys.argv[1], a
assert a[0]["public_key"] == sys.argv[2] and a[0]["last_seen_ms"] > 0, a
' "$F1" "$P1" 2>"$WORK/py.err"
verdict "agent list --json: mx1 with its fingerprint, key and last_seen ($(cat "$WORK/py.err"))"
r bc agent list
printf '%s\n' "$OUT" | awk -v f="$F1" -v p="$P1" '$1 == "mx1" && $2 == f && $3 == p && $4 ~ /^20/ {n++} END {exit n != 1}' &&
	printf '%s\n' "$OUT" | tail -1 | grep -qx "1 agent"
verdict "agent list: mx1, its fingerprint, key and last seen"

# ---- bad input: one line, exit 64 (CLI) or 1 (coordinator) --------------
badname() { # badname NAME LABEL
	r bc agent add "$1" "$P2"
	[ "$RC" -eq 64 ] && [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] &&
		printf '%s\n' "$ERR" | grep -qF 'expected 1 to 63 of A-Z a-z 0-9 . _ -'
	verdict "agent add $2: exit 64, one line ($ERR)"
}
badname ../x "../x"
badname "" "(empty name)"
badname "$(printf 'a%.0s' $(seq 64))" "(64 characters)"
badname ".hidden" ".hidden"
r bc agent add mx2 "AAAA"
[ "$RC" -eq 64 ] && [ "$ERR" = "bancluster: agent add mx2: PUBKEY: not a bancluster public key (expected the 44 base64 characters of a .pub file)" ]
verdict "agent add with a bad key: exit 64 with \"$ERR\""
r bc agent add mx2 "$(sed 's/public/secret/' "$K.pub")"
[ "$RC" -eq 64 ] && printf '%s\n' "$ERR" | grep -qF "that is a secret key"
verdict "agent add with a secret key's line: exit 64 ($ERR)"
r bc agent add mx1 "$P2"
[ "$RC" -eq 1 ] && [ "$ERR" = "bancluster: agent mx1 exists already (key $F1): remove it first to give it another key" ]
verdict "agent add of an existing name: exit 1 with \"$ERR\""
r bc agent add mx9 "$P1"
[ "$RC" -eq 1 ] && [ "$ERR" = "bancluster: key $F1 is enrolled already, as agent mx1" ] && [ ! -e "$WORK/agents.d/mx9.pub" ]
verdict "agent add of an enrolled key under another name: exit 1 with \"$ERR\""
r bc agent add admin "$P2"
[ "$RC" -eq 1 ] && printf '%s\n' "$ERR" | grep -qF "admin admin exists already"
verdict "agent add with an admin's name: exit 1 ($ERR)"
r bc agent remove mx7
[ "$RC" -eq 1 ] && [ "$ERR" = "bancluster: no agent named mx7" ]
verdict "agent remove of an unknown agent: exit 1 with \"$ERR\""
r bc agent frob
check "agent frob: exit 64 ($ERR)" [ "$RC" -eq 64 ]

# ---- the coordinator's own checks, past the CLI's (raw admin requests) --
hex() { python3 -c 'import base64,sys; print(base64.b64decode(open(sys.argv[1]).read().split()[1]).hex())' "$1"; }
H2=$(hex "$ETCS/etc-mx2/mx2.pub")
HC=$(hex "$WORK/coordinator.pub")
long=$(printf 'a%.0s' $(seq 64))
ns coord "$BIN/tests/wire_peer" "$WORK" admin tcp://198.18.0.1:7710 tcp://198.18.0.1:7711 \
	"enrol:1:../x:$H2" "enrol:1::$H2" "enrol:1:$long:$H2" "enrol:1:.hidden:$H2" \
	"enrol:1:a/b:$H2" "enrol:1:ok1:abcd" "enrol:1:ok1:$(printf '0%.0s' $(seq 64))" \
	"enrol:2:ok1:$HC" "unenrol:2:admin" "unenrol:1:../mx1" >"$WORK/peer.out" 2>"$WORK/peer.err"
check "raw enrolment requests: 10 replies (wire_peer exit $?: $(cat "$WORK/peer.err"))" \
	[ "$(grep -c '^reply 1 ' "$WORK/peer.out")" -eq 10 ]
want() { # want N TEXT: reply N is "reply 1 TEXT"
	got=$(sed -n "${1}p" "$WORK/peer.out")
	[ "$got" = "reply 1 $2" ]
	verdict "coordinator refuses: $2 (got: $got)"
}
rule='expected 1 to 63 of A-Z a-z 0-9 . _ -, not starting with "."'
want 1 "agent name \"../x\": $rule"
want 2 "agent name \"\": $rule"
want 3 "agent name \"$(printf 'a%.0s' $(seq 63))...\": $rule"
want 4 "agent name \".hidden\": $rule"
want 5 "agent name \"a/b\": $rule"
want 6 "agent ok1: not a valid Ed25519 public key"
want 7 "agent ok1: not a valid Ed25519 public key"
want 8 "key $(fpr "$WORK/coordinator.pub") is the coordinator's own key"
want 9 "admin admin cannot remove its own key: another admin must (and the last admin cannot be removed)"
want 10 "agent name \"../mx1\": $rule"
[ -z "$(ls -A "$WORK/agents.d" | grep -v '^mx1.pub$')" ] && [ ! -e "$WORK/x.pub" ] &&
	[ -z "$(ls -A "$WORK/admins.d" | grep -v '^admin.pub$')" ]
verdict "nothing written by the refused requests (agents.d: $(ls -A "$WORK/agents.d" | tr '\n' ' '))"
ns coord "$BIN/tests/wire_peer" "$WORK" admin tcp://198.18.0.1:7710 tcp://198.18.0.1:7711 \
	"enrol:3:x:$H2" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -qF "rejected message: out_of_range: key $(fpr "$WORK/admin.pub"), enrolled as admin \"admin\"" "$WORK/coordinator.log"
verdict "an unknown role is out_of_range: no reply, logged with the admin's fingerprint (wire_peer exit $rc)"

# ---- mx2 enrolled while the coordinator runs, then mx1 removed ----------
r bc agent add mx2 "$P2"
check "agent add mx2: exit 0" [ "$RC" -eq 0 ]
start_agent 2
check "mx2 in status" wait_for 15 in_status mx2 " in_sync "
r bc agent remove mx1
[ "$RC" -eq 0 ] && printf '%s\n' "$OUT" | grep -qF "removed agent mx1 (fingerprint $F1)" &&
	[ ! -e "$WORK/agents.d/mx1.pub" ] && [ -e "$WORK/agents.d/mx2.pub" ] &&
	[ -z "$(ls -A "$WORK/agents.d" | grep -v '^mx2.pub$')" ]
verdict "agent remove mx1: exit 0, agents.d/mx1.pub gone, mx2.pub kept ($OUT)"
check "coordinator log: admin admin removed agent mx1" \
	grep -qF "enrolment: admin admin removed agent mx1 (key $F1" "$WORK/coordinator.log"
fail 1 198.51.100.8
check "mx1's next message is refused: the log names its fingerprint as not enrolled" \
	wait_for 10 grep -qF "rejected message: unknown_signer: key $F1 is not in agents_dir or admins_dir" "$WORK/coordinator.log"
bc status >"$WORK/st.out" 2>&1
! grep -q '^mx1 ' "$WORK/st.out" && grep -q '^mx2 ' "$WORK/st.out"
verdict "mx1 left status, mx2 stays"
check "mx1's events after removal are not counted" [ "$(events_of 2)" = 0 ]

# ---- admins --------------------------------------------------------------
"$BIN/bancluster" keygen --out "$WORK/bob" >"$WORK/keygen.out" 2>&1
BP=$(b64 "$WORK/bob.pub")
BF=$(fpr "$WORK/bob.pub")
grep -qxF "public key:  $BP" "$WORK/keygen.out" && grep -qxF "fingerprint: $BF" "$WORK/keygen.out" &&
	grep -qxF "  bancluster admin add bob $BP" "$WORK/keygen.out"
verdict "keygen prints the public key, fingerprint and the admin add line"
cat >"$WORK/cli-bob.ini" <<INI
[cli]
coordinator     = tcp://198.18.0.1:7710
key             = bob.key
coordinator_key = coordinator.pub
timeout         = 3s
INI
r bc admin add bob "$BP"
check "admin add bob: exit 0 ($OUT$ERR)" [ "$RC" -eq 0 ]
r ns coord "$BIN/bancluster" -c "$WORK/cli-bob.ini" ban 192.0.2.77 --for 1h
check "bob, added by admin, can ban ($OUT$ERR)" [ "$RC" -eq 0 ]
r bc admin list --json
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [a["name"] for a in d["admins"]] == ["admin", "bob"], d
assert "last_seen" not in d["admins"][0], d
' 2>"$WORK/py.err"
verdict "admin list --json: admin, bob ($(cat "$WORK/py.err"))"
r ns coord "$BIN/bancluster" -c "$WORK/cli-bob.ini" admin remove bob
[ "$RC" -eq 1 ] && [ "$ERR" = "bancluster: admin bob cannot remove its own key: another admin must (and the last admin cannot be removed)" ]
verdict "an admin removing itself: exit 1 with \"$ERR\""
r bc admin remove admin
check "admin removing itself, the last but one: exit 1" [ "$RC" -eq 1 ]
r bc admin remove bob
check "admin remove bob: exit 0 ($OUT$ERR)" [ "$RC" -eq 0 ]
check "coordinator log: admin admin removed admin bob" \
	grep -qF "enrolment: admin admin removed admin bob (key $BF" "$WORK/coordinator.log"
r ns coord "$BIN/bancluster" -c "$WORK/cli-bob.ini" ban 192.0.2.78
[ "$RC" -eq 69 ] && printf '%s\n' "$ERR" | grep -qF "refused this admin key"
verdict "bob's requests after removal: exit 69, refused ($ERR)"
bc list >"$WORK/list.out" 2>&1
check "bob's ban after removal did not happen" sh -c "! grep -q '^192.0.2.78 ' '$WORK/list.out'"
r bc admin remove admin
[ "$RC" -eq 1 ] && printf '%s\n' "$ERR" | grep -qF "cannot remove its own key"
verdict "the last admin cannot remove itself ($ERR)"
r bc admin list
printf '%s\n' "$OUT" | tail -1 | grep -qx "1 admin"
verdict "admin list: 1 admin left"

# ---- a coordinator that runs unprivileged writes the key directories ---
# as the shipped unit does (User=bancluster): here as nobody, with the key
# --init gave to it; agents.d first not writable by it, then given to it
C3=$WORK/c3
mkdir -p "$C3/agents.d" "$C3/admins.d"
cat >"$C3/coordinator.ini" <<INI
[coordinator]
listen      = tcp://127.0.0.1:17710
publish     = tcp://127.0.0.1:17711
key         = coordinator.key
agents_dir  = agents.d
admins_dir  = admins.d
database    = coordinator.db
INI
r "$BIN/bancluster-coordinator" -c "$C3/coordinator.ini" --init --user nobody
[ "$RC" -eq 0 ] && [ "$(stat -c '%a %U' "$C3/coordinator.key")" = "600 nobody" ] &&
	printf '%s\n' "$OUT" | grep -qF "(secret, mode 0600, owner nobody)"
verdict "coordinator --init --user nobody: key 0600 owned by nobody ($(stat -c '%a %U' "$C3/coordinator.key"))"
r "$BIN/bancluster-coordinator" -c "$C3/coordinator.ini" --admin admin "$(cat "$WORK/admin.pub")"
check "coordinator --admin admin: exit 0" [ "$RC" -eq 0 ]
chown nobody "$C3"
ip netns exec "$NSP-coord" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$BIN/bancluster-coordinator" -c "$C3/coordinator.ini" >>"$WORK/c3.log" 2>&1 &
PIDS="$PIDS $!"
cat >"$WORK/cli-c3.ini" <<INI
[cli]
coordinator     = tcp://127.0.0.1:17710
key             = admin.key
coordinator_key = c3/coordinator.pub
timeout         = 3s
INI
c3() { ns coord "$BIN/bancluster" -c "$WORK/cli-c3.ini" "$@"; }
check "the coordinator running as nobody answers" wait_for 10 c3 status
r c3 agent add mx5 "$P2"
want="bancluster: $C3/agents.d/mx5.pub: Permission denied (the coordinator runs as nobody: it needs write access to $C3/agents.d; the packages and the unit give it /etc/bancluster/agents.d and admins.d)"
[ "$RC" -eq 1 ] && [ "$ERR" = "$want" ] && [ -z "$(ls -A "$C3/agents.d")" ]
verdict "agents.d not writable by the coordinator's user: exit 1 with \"$ERR\", nothing left"
chown nobody:nogroup "$C3/agents.d"
chmod 0750 "$C3/agents.d"
r c3 agent add mx5 "$P2"
[ "$RC" -eq 0 ] && [ "$(stat -c '%a %U' "$C3/agents.d/mx5.pub")" = "644 nobody" ] &&
	cmp -s "$C3/agents.d/mx5.pub" "$ETCS/etc-mx2/mx2.pub"
verdict "agents.d given to its user: agent add writes mx5.pub, 0644, owned by nobody ($OUT$ERR)"
r c3 agent remove mx5
[ "$RC" -eq 0 ] && [ ! -e "$C3/agents.d/mx5.pub" ] && [ -z "$(ls -A "$C3/agents.d")" ]
verdict "agent remove as nobody: the file is gone, nothing left aside ($OUT$ERR)"

# ---- a key set that does not load: nothing changes ----------------------
echo "garbage" >"$WORK/agents.d/broken.pub"
r bc agent add mx9 "$BP"
[ "$RC" -eq 1 ] && [ ! -e "$WORK/agents.d/mx9.pub" ] &&
	printf '%s\n' "$ERR" | grep -qF "agent mx9 not added: the key directories do not load"
verdict "agent add while agents.d holds a broken file: exit 1, not added ($ERR)"
r bc agent remove mx2
[ "$RC" -eq 1 ] && [ -e "$WORK/agents.d/mx2.pub" ] && [ -z "$(ls -A "$WORK/agents.d" | grep -v '^mx2.pub$' | grep -v '^broken.pub$')" ]
verdict "agent remove then: exit 1, mx2.pub put back ($ERR)"
rm -f "$WORK/agents.d/broken.pub"
check "mx2 still in status" in_status mx2
fleet_done
