#!/bin/sh
# test_reject_peer.sh - a rejected admin names itself (issue 14,
# Enrolment: "an admin key whose .pub sits under another name makes the
# CLI wait 5 s and then print 'is it running, and is this admin key in
# its admins_dir?', while the coordinator logs only `rejected message:
# wrong_sender` without naming the peer"). A real coordinator in a
# network namespace: a key enrolled as alice but used as bob gets a
# signed error at once naming alice, and the coordinator's log names the
# key's fingerprint and both names; a key in no directory is refused at
# the handshake, and the CLI says so at once with the CURVE key the
# coordinator logs; a pinned key of another cluster times out naming
# only clock skew and the cluster, with the fingerprint the log names;
# with no coordinator the CLI names only that cause. Env: B, NSP.
. "$(dirname "$0")/lib.sh"

fleet_init 0
for k in bob carol; do
	"$BIN/bancluster" keygen --out "$WORK/$k" >/dev/null || notok "keygen $k"
done
cp "$WORK/bob.pub" "$WORK/admins.d/alice.pub" # enrolled under another name
# cli NAME KEY [EXTRA]: $WORK/cli-NAME.ini signing with KEY.key
cli() {
	cat >"$WORK/cli-$1.ini" <<INI
[cli]
coordinator     = tcp://198.18.0.1:7710
key             = $2.key
coordinator_key = coordinator.pub
timeout         = 3s
$3
INI
}
cli bob bob
cli carol carol
cli other admin "cluster = other"
# fpr NAME: the key id of NAME.pub in hex (BLAKE2b-128 of the public key)
fpr() {
	python3 -c 'import base64,hashlib,sys
pk = base64.b64decode(open(sys.argv[1]).read().split()[1])
print(hashlib.blake2b(pk, digest_size=16).hexdigest())' "$WORK/$1.pub"
}
# r INI ARGS...: the CLI in the coordinator's namespace; RC, ERR, MS
r() {
	_ini=$1
	shift
	_t0=$(date +%s%N)
	ns coord "$BIN/bancluster" -c "$WORK/$_ini" "$@" >"$WORK/r.out" 2>"$WORK/r.err"
	RC=$?
	MS=$((($(date +%s%N) - _t0) / 1000000))
	ERR=$(cat "$WORK/r.err")
}
start_coord
check "coordinator answers the enrolled admin" wait_for 10 bc status

# 1. bob.key, enrolled as alice: answered at once, signed, naming alice
r cli-bob.ini status
want='bancluster: this admin key is enrolled as "alice" in admins_dir; set key = .../alice in cli.ini or rename the .pub'
[ "$RC" -eq 1 ] && [ "$ERR" = "$want" ] && [ "$MS" -lt 1500 ]
verdict "key enrolled under another name: exit 1 in ${MS}ms (< 1500, timeout 3s) with \"$ERR\""
F=$(fpr bob)
line="rejected message: wrong_sender: key $F is enrolled as admin \"alice\", the message says \"bob\" (total 1)"
check "coordinator log names fingerprint $F and both names" grep -qF "$line" "$WORK/coordinator.log"

# 2. carol.key, in no directory: the ZAP refusal, told at once
r cli-carol.ini status
CK=$(printf '%s\n' "$ERR" | sed -n 's/.*CURVE key \([0-9a-f]\{64\}\)).*/\1/p')
want="bancluster: coordinator tcp://198.18.0.1:7710 refused this admin key ($WORK/carol.key, CURVE key $CK): it is not in the coordinator's admins_dir; an enrolled admin adds it with: bancluster admin add carol $(awk '{print $2}' "$WORK/carol.pub")"
[ "$RC" -eq 69 ] && [ -n "$CK" ] && [ "$ERR" = "$want" ] && [ "$MS" -lt 1500 ]
verdict "unknown key: exit 69 in ${MS}ms with \"$ERR\""
check "coordinator log names that CURVE key as not enrolled" grep -qE \
	"rejected connection: unknown_signer: CURVE key $CK is not in agents_dir or admins_dir \(total [0-9]+\)" \
	"$WORK/coordinator.log"

# 3. the enrolled admin key, another cluster: silence, then the causes left
r cli-other.ini status
F=$(fpr admin)
want="bancluster: coordinator tcp://198.18.0.1:7710 accepted this admin key (fingerprint $F) but did not answer within 3s: clock skew over 120s, cluster \"other\" not the coordinator's, or a coordinator of wire 1 (its log names the key and why)"
[ "$RC" -eq 69 ] && [ "$ERR" = "$want" ] && [ "$MS" -ge 2900 ]
verdict "pinned key, other cluster: exit 69 after ${MS}ms with \"$ERR\""
line="rejected message: wrong_sender: key $F is enrolled as admin \"admin\", the message is for cluster \"other\", this is \"bancluster\" (total 2)"
check "coordinator log names fingerprint and both clusters" grep -qF "$line" "$WORK/coordinator.log"

# 4. no coordinator at all
kill "$COORD_PID"
wait "$COORD_PID" 2>/dev/null
r cli.ini status
want="bancluster: coordinator tcp://198.18.0.1:7710: no connection within 3s: it is not running or not reachable at that address"
[ "$RC" -eq 69 ] && [ "$ERR" = "$want" ]
verdict "no coordinator: exit 69 with \"$ERR\""
fleet_done
