#!/bin/sh
# test_cli_args.sh - the command line of the three programs, without
# namespaces of its own: --check-config refuses what start refuses, with
# one line "PROG: FILE:LINE: [section] key: reason" and exit 1, and start
# refuses it the same way (a database of a newer schema too); --version names the version of the VERSION
# file, the wire protocol and each program's libraries; --help and -h
# print the usage on stdout and exit 0 (every CLI command too); usage
# errors stay on stderr with exit 64. Env: B.
. "$(dirname "$0")/lib.sh"

WORK=$(mktemp -d /tmp/bc-args.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK" # the unreadable-directory case runs as nobody
ROOT=0
[ "$(id -u)" -eq 0 ] && ROOT=1
# started as root the agent switches to [agent] user; otherwise it must
# be the user it runs as
if [ $ROOT -eq 1 ]; then AUSER=nobody; else AUSER=$(id -un); fi

for k in mx1 coordinator admin; do
	"$BIN/bancluster" keygen --out "$WORK/$k" >/dev/null || notok "keygen $k"
done
mkdir "$WORK/agents.d" "$WORK/admins.d" "$WORK/state"
cp "$WORK/mx1.pub" "$WORK/agents.d/"
cp "$WORK/admin.pub" "$WORK/admins.d/"
A=$WORK/agent.ini
C=$WORK/coordinator.ini
cat >"$A" <<INI
[agent]
id              = mx1
coordinator     = tcp://127.0.0.1:7710
updates         = tcp://127.0.0.1:7711
key             = mx1.key
coordinator_key = coordinator.pub
state_dir       = state
user            = $AUSER
INI
cat >"$C" <<INI
[coordinator]
listen      = tcp://127.0.0.1:7710
publish     = tcp://127.0.0.1:7711
key         = coordinator.key
agents_dir  = agents.d
admins_dir  = admins.d
database    = state/coordinator.db
INI
cat >"$WORK/cli.ini" <<INI
[cli]
coordinator     = tcp://127.0.0.1:7710
key             = admin.key
coordinator_key = coordinator.pub
timeout         = 1s
INI

# variant BASE SED NAME: a copy of BASE changed by SED, as $WORK/NAME
variant() {
	sed "$2" "$1" >"$WORK/$3"
	echo "$WORK/$3"
}

# run PROG ARGS...: exit status in RC, stdout in OUT, stderr in ERR
run() {
	"$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

# refuses NAME PROG FILE WANT: --check-config exits 1 with exactly WANT
# (one line) on stderr and nothing on stdout
refuses() {
	run "$BIN/$2" -c "$3" --check-config
	if [ $RC -eq 1 ] && [ -z "$OUT" ] && [ "$ERR" = "$4" ]; then
		ok "$1"
	else
		notok "$1: exit $RC, stdout \"$OUT\", stderr \"$ERR\", want \"$4\""
	fi
}

# start_refuses NAME PROG FILE WANT: started for real (in a network
# namespace of its own, with a time limit, in case it does start), the
# daemon stops with the same line
start_refuses() {
	if [ $ROOT -ne 1 ]; then
		note "skip $1: needs root (unshare -n)"
		return
	fi
	run timeout 10 unshare -n "$BIN/$2" -c "$3"
	if [ $RC -eq 1 ] && [ "$ERR" = "$4" ]; then
		ok "$1"
	else
		notok "$1: exit $RC, stderr \"$ERR\", want \"$4\""
	fi
}

# ---- the files as they are: OK ------------------------------------------
run "$BIN/bancluster-agent" -c "$A" --check-config
[ $RC -eq 0 ] && [ "$OUT" = "$A: OK (agent mx1, 0 sources)" ] && [ -z "$ERR" ]
verdict "agent --check-config: OK ($OUT$ERR)"
run "$BIN/bancluster-coordinator" -c "$C" --check-config
[ $RC -eq 0 ] && [ "$OUT" = "$C: OK (2 trusted keys)" ] && [ -z "$ERR" ]
verdict "coordinator --check-config: OK ($OUT$ERR)"

# ---- agent refusals ----------------------------------------------------
PA="bancluster-agent:"
if [ $ROOT -eq 1 ]; then
	f=$(variant "$A" 's/^user .*/user = bc-no-such-user/' a-user.ini)
	refuses "agent: a user that does not exist, as root" bancluster-agent "$f" \
		"$PA $f:8: [agent] user: user \"bc-no-such-user\": no such user"
	start_refuses "agent start: the same user refused the same way" \
		bancluster-agent "$f" \
		"$PA $f:8: [agent] user: user \"bc-no-such-user\": no such user"
	f=$(variant "$A" '/^user /d' a-nouser.ini)
	refuses "agent: the default user bancluster, absent here, named without a line" \
		bancluster-agent "$f" \
		"$PA $f: [agent] user: user \"bancluster\": no such user"
	if getent passwd bancluster >/dev/null; then
		note "the default case is wrong here: a user bancluster exists"
	fi
else
	note "skip the nonexistent-user case: needs root"
fi
f=$(variant "$A" 's|^coordinator .*|coordinator = 127.0.0.1:7710|' a-scheme.ini)
refuses "agent: coordinator without tcp://" bancluster-agent "$f" \
	"$PA $f:3: [agent] coordinator: expected tcp://HOST:PORT with PORT 1..65535, got \"127.0.0.1:7710\""
start_refuses "agent start: coordinator without tcp:// refused the same way" \
	bancluster-agent "$f" \
	"$PA $f:3: [agent] coordinator: expected tcp://HOST:PORT with PORT 1..65535, got \"127.0.0.1:7710\""
f=$(variant "$A" 's|^updates .*|updates = tcp://127.0.0.1:99999|' a-port99999.ini)
refuses "agent: updates port 99999" bancluster-agent "$f" \
	"$PA $f:4: [agent] updates: expected tcp://HOST:PORT with PORT 1..65535, got \"tcp://127.0.0.1:99999\""
f=$(variant "$A" 's|^coordinator .*|coordinator = tcp://127.0.0.1:0|' a-port0.ini)
refuses "agent: coordinator port 0" bancluster-agent "$f" \
	"$PA $f:3: [agent] coordinator: expected tcp://HOST:PORT with PORT 1..65535, got \"tcp://127.0.0.1:0\""
f=$(variant "$A" 's|^coordinator .*|coordinator = tcp://*:7710|' a-star.ini)
refuses "agent: coordinator tcp://*:7710 (binds only)" bancluster-agent "$f" \
	"$PA $f:3: [agent] coordinator: expected tcp://HOST:PORT with PORT 1..65535, got \"tcp://*:7710\" (\"*\" only binds: name the host to connect to)"
f=$(variant "$A" 's|^state_dir .*|state_dir = no-state|' a-state.ini)
refuses "agent: state_dir missing" bancluster-agent "$f" \
	"$PA $f:7: [agent] state_dir: \"$WORK/no-state\": No such file or directory"
f=$(variant "$A" 's|^key .*|key = no-key|' a-key.ini)
refuses "agent: key missing" bancluster-agent "$f" \
	"$PA $f:5: [agent] key: $WORK/no-key.key: No such file or directory"
f=$(variant "$A" 's|^coordinator .*|coordinator = tcp://[::1]:7710|' a-v6.ini)
run "$BIN/bancluster-agent" -c "$f" --check-config
check "agent: coordinator tcp://[::1]:7710 accepted ($OUT$ERR)" [ $RC -eq 0 ]
# lists of coordinators (a cluster, issue 13)
f=$(variant "$A" 's|^coordinator .*|coordinator = tcp://127.0.0.1:7710, tcp://127.0.0.2:7710,tcp://[::1]:7710|; s|^updates .*|updates = tcp://127.0.0.1:7711 , tcp://127.0.0.2:7711|' a-list.ini)
run "$BIN/bancluster-agent" -c "$f" --check-config
check "agent: lists of 3 and 2 coordinators accepted ($OUT$ERR)" \
	[ $RC -eq 0 ] && [ "$OUT" = "$f: OK (agent mx1, 0 sources)" ]
f=$(variant "$A" 's|^coordinator .*|coordinator = tcp://127.0.0.1:7710, 127.0.0.2:7710|' a-list-bad.ini)
refuses "agent: a list with an endpoint without tcp://" bancluster-agent "$f" \
	"$PA $f:3: [agent] coordinator: expected tcp://HOST:PORT with PORT 1..65535, got \"127.0.0.2:7710\""
start_refuses "agent start: the same list refused the same way" bancluster-agent "$f" \
	"$PA $f:3: [agent] coordinator: expected tcp://HOST:PORT with PORT 1..65535, got \"127.0.0.2:7710\""
f=$(variant "$A" 's|^updates .*|updates = tcp://127.0.0.1:7711, tcp://127.0.0.2:7711, tcp://127.0.0.1:7711|' a-list-twice.ini)
refuses "agent: an updates endpoint listed twice" bancluster-agent "$f" \
	"$PA $f:4: [agent] updates: tcp://127.0.0.1:7711 is listed twice"
f=$(variant "$A" 's|^coordinator .*|coordinator = tcp://a:1, tcp://a:2, tcp://a:3, tcp://a:4, tcp://a:5, tcp://a:6, tcp://a:7, tcp://a:8, tcp://a:9|' a-list-9.ini)
refuses "agent: 9 coordinators" bancluster-agent "$f" \
	"$PA $f:3: [agent] coordinator: more than 8 endpoints"
f=$(variant "$A" 's|^coordinator .*|coordinator = tcp://127.0.0.1:7710,,tcp://127.0.0.2:7710|' a-list-empty.ini)
refuses "agent: an empty element in the list" bancluster-agent "$f" \
	"$PA $f:3: [agent] coordinator: empty endpoint in the list (tcp://HOST:PORT, comma separated)"

# ---- coordinator refusals ----------------------------------------------
PC="bancluster-coordinator:"
f=$(variant "$C" 's|^publish .*|publish = tcp://127.0.0.1:7710|' c-same.ini)
refuses "coordinator: publish = listen" bancluster-coordinator "$f" \
	"$PC $f:3: [coordinator] publish: \"tcp://127.0.0.1:7710\": port 7710 of this host is listen's (\"tcp://127.0.0.1:7710\"); give them different ports"
start_refuses "coordinator start: publish = listen refused the same way" \
	bancluster-coordinator "$f" \
	"$PC $f:3: [coordinator] publish: \"tcp://127.0.0.1:7710\": port 7710 of this host is listen's (\"tcp://127.0.0.1:7710\"); give them different ports"
f=$(variant "$C" 's|^publish .*|publish = tcp://*:7710|' c-same-any.ini)
refuses "coordinator: publish on * and listen on 127.0.0.1, one port" \
	bancluster-coordinator "$f" \
	"$PC $f:3: [coordinator] publish: \"tcp://*:7710\": port 7710 of this host is listen's (\"tcp://127.0.0.1:7710\"); give them different ports"
f=$(variant "$C" 's|^publish .*|publish = tcp://127.0.0.2:7710|' c-other-host.ini)
run "$BIN/bancluster-coordinator" -c "$f" --check-config
check "coordinator: one port on two addresses accepted ($OUT$ERR)" [ $RC -eq 0 ]
f=$(variant "$C" 's|^agents_dir .*|agents_dir = no-agents.d|' c-agents.ini)
refuses "coordinator: agents_dir missing" bancluster-coordinator "$f" \
	"$PC $f:5: [coordinator] agents_dir: \"$WORK/no-agents.d\": No such file or directory"
f=$(variant "$C" 's|^listen .*|listen = tcp://127.0.0.1:99999|' c-port.ini)
refuses "coordinator: listen port 99999" bancluster-coordinator "$f" \
	"$PC $f:2: [coordinator] listen: expected tcp://HOST:PORT with PORT 1..65535, got \"tcp://127.0.0.1:99999\""
f=$(variant "$C" 's|^listen .*|listen = 0.0.0.0:7710|' c-scheme.ini)
refuses "coordinator: listen without tcp://" bancluster-coordinator "$f" \
	"$PC $f:2: [coordinator] listen: expected tcp://HOST:PORT with PORT 1..65535, got \"0.0.0.0:7710\""
f=$(variant "$C" 's|^database .*|database = no-dir/coordinator.db|' c-db.ini)
refuses "coordinator: database directory missing" bancluster-coordinator "$f" \
	"$PC $f:7: [coordinator] database: directory \"$WORK/no-dir\": No such file or directory"
# [cluster] (docs/ha.md): checked as start checks it, connecting to nothing
f="$WORK/c-etcd-scheme.ini"
{ cat "$C"; printf '[cluster]\netcd = ftp://10.0.0.1:2379\n'; } >"$f"
refuses "coordinator: [cluster] etcd not http(s)" bancluster-coordinator "$f" \
	"$PC $f: [cluster] etcd: etcd endpoint \"ftp://10.0.0.1:2379\": expected http://host:port or https://host:port"
f="$WORK/c-etcd-cert.ini"
{ cat "$C"; printf '[cluster]\netcd = https://10.0.0.1:2379\netcd_cert = no-cert.pem\netcd_key = no-cert.key\n'; } >"$f"
refuses "coordinator: [cluster] etcd_cert missing" bancluster-coordinator "$f" \
	"$PC $f: [cluster] etcd_cert: $WORK/no-cert.pem: No such file or directory"
f="$WORK/c-node-name.ini"
{ cat "$C"; printf '[cluster]\netcd = https://10.0.0.1:2379\nname = c1/../x\n'; } >"$f"
run "$BIN/bancluster-coordinator" -c "$f" --check-config
check "coordinator: [cluster] name not a name refused ($ERR)" sh -c "[ $RC -eq 1 ] && echo '$ERR' | grep -q \"\\[cluster\\] name: \\\"c1/../x\\\": use letters\""
f="$WORK/c-etcd-ttl.ini"
{ cat "$C"; printf '[cluster]\netcd = https://10.0.0.1:2379\nlease_ttl = 0s\n'; } >"$f"
run "$BIN/bancluster-coordinator" -c "$f" --check-config
check "coordinator: [cluster] lease_ttl 0s refused ($ERR)" sh -c "[ $RC -eq 1 ] && echo '$ERR' | grep -q 'lease_ttl'"
# a database of a schema newer than this coordinator's (docs/upgrade.md):
# refused by --check-config and by start with the same line, and left as
# it was (no -wal or -shm made either)
SCHEMA=$(sed -n 's/^#define BC_STORE_SCHEMA \([0-9]*\)$/\1/p' "$TOP/coordinator/store_schema.h")
check "BC_STORE_SCHEMA of coordinator/store_schema.h: $SCHEMA" [ -n "$SCHEMA" ]
NEWER=$((SCHEMA + 1))
mkdir "$WORK/state-newer"
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA journal_mode=WAL")
c.execute("CREATE TABLE bans(addr TEXT)")
c.execute("PRAGMA user_version = %d" % int(sys.argv[2]))
c.commit()
c.close()' "$WORK/state-newer/coordinator.db" "$NEWER"
sum=$(sha256sum <"$WORK/state-newer/coordinator.db")
f=$(variant "$C" 's|^database .*|database = state-newer/coordinator.db|' c-newer.ini)
want="$PC $WORK/state-newer/coordinator.db: schema version $NEWER is newer than this coordinator ($SCHEMA): upgrade the coordinator, or restore the backup taken before the upgrade"
refuses "coordinator: a database of schema version $NEWER (this build: $SCHEMA)" \
	bancluster-coordinator "$f" "$want"
start_refuses "coordinator start: the newer database refused the same way" \
	bancluster-coordinator "$f" "$want"
[ "$(sha256sum <"$WORK/state-newer/coordinator.db")" = "$sum" ] &&
	[ "$(ls "$WORK/state-newer")" = "coordinator.db" ]
verdict "coordinator: the newer database untouched, nothing beside it ($(ls "$WORK/state-newer" | tr '\n' ' '))"
f=$(variant "$C" 's|^listen .*|listen = tcp://localhost:7710|' c-dns.ini)
refuses "coordinator: listen on a DNS name (ZeroMQ binds none)" bancluster-coordinator "$f" \
	"$PC $f:2: [coordinator] listen: expected tcp://HOST:PORT with PORT 1..65535, got \"tcp://localhost:7710\" (to bind, HOST is *, an address or an interface of this host)"
# IPv6 endpoints pass the check and work: a coordinator on [::1] answers
# a CLI that connects to [::1] (in a network namespace of its own)
if [ $ROOT -eq 1 ]; then
	mkdir "$WORK/state6"
	f=$(variant "$C" 's|^listen .*|listen = tcp://[::1]:7710|; s|^publish .*|publish = tcp://[::]:7711|; s|^database .*|database = state6/c.db|' c-v6.ini)
	f6=$(variant "$WORK/cli.ini" 's|^coordinator .*|coordinator = tcp://[::1]:7710|' cli-v6.ini)
	run "$BIN/bancluster-coordinator" -c "$f" --check-config
	check "coordinator: listen tcp://[::1]:7710, publish tcp://[::]:7711 accepted ($OUT$ERR)" [ $RC -eq 0 ]
	run timeout 30 unshare -n sh -c '
		ip link set lo up
		"$1" -c "$2" >"$4" 2>&1 &
		p=$!
		i=0
		until "$3" -c "$5" status >/dev/null 2>&1 || [ $i -ge 20 ] ||
			! kill -0 $p 2>/dev/null; do
			sleep 0.2
			i=$((i + 1))
		done
		"$3" -c "$5" status
		rc=$?
		kill $p
		wait $p
		exit $rc' - "$BIN/bancluster-coordinator" "$f" "$BIN/bancluster" "$WORK/coord6.log" "$f6"
	[ $RC -eq 0 ] && printf '%s\n' "$OUT" | grep -q '^coordinator tcp://\[::1\]:7710: up since'
	verdict "a coordinator on tcp://[::1]:7710 answers bancluster status over IPv6 (exit $RC: $(head -c 300 "$WORK/coord6.log" | tr '\n' ' ')$ERR)"
else
	note "skip the IPv6 round trip: needs root (unshare -n)"
fi
# unreadable admins_dir: root reads any directory, so run it as nobody,
# the key given to nobody as the unit gives it to bancluster
chmod 000 "$WORK/admins.d"
if [ $ROOT -eq 1 ]; then
	chown nobody "$WORK/coordinator.key"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$BIN/bancluster-coordinator" -c "$C" --check-config
	chown root "$WORK/coordinator.key"
else
	run "$BIN/bancluster-coordinator" -c "$C" --check-config
fi
chmod 755 "$WORK/admins.d"
want="$PC $C:6: [coordinator] admins_dir: \"$WORK/admins.d\": Permission denied"
[ $RC -eq 1 ] && [ "$ERR" = "$want" ]
verdict "coordinator: admins_dir unreadable (exit $RC, \"$ERR\")"

# ---- cli.ini -----------------------------------------------------------
f=$(variant "$WORK/cli.ini" 's|^coordinator .*|coordinator = 127.0.0.1:7710|' cli-scheme.ini)
run "$BIN/bancluster" -c "$f" status
[ $RC -eq 78 ] && [ "$ERR" = "bancluster: $f:2: [cli] coordinator: expected tcp://HOST:PORT with PORT 1..65535, got \"127.0.0.1:7710\"" ]
verdict "cli.ini: coordinator without tcp:// (exit $RC, \"$ERR\")"
# a list of coordinators (issue 13): each checked, no repeats, at most 8
f=$(variant "$WORK/cli.ini" 's|^coordinator .*|coordinator = tcp://127.0.0.1:7710, tcp://127.0.0.1:7710|' cli-twice.ini)
run "$BIN/bancluster" -c "$f" status
[ $RC -eq 78 ] && [ -z "$OUT" ] && [ "$ERR" = "bancluster: $f:2: [cli] coordinator: tcp://127.0.0.1:7710 is listed twice" ]
verdict "cli.ini: an endpoint listed twice (exit $RC, \"$ERR\")"
f=$(variant "$WORK/cli.ini" 's|^coordinator .*|coordinator = tcp://127.0.0.1:7710, 127.0.0.1:7711|' cli-bad2.ini)
run "$BIN/bancluster" -c "$f" status
[ $RC -eq 78 ] && [ "$ERR" = "bancluster: $f:2: [cli] coordinator: expected tcp://HOST:PORT with PORT 1..65535, got \"127.0.0.1:7711\"" ]
verdict "cli.ini: a bad endpoint second in the list (exit $RC, \"$ERR\")"
f=$(variant "$WORK/cli.ini" "s|^coordinator .*|coordinator = $(seq -s, -f 'tcp://h%g:7710' 1 9)|" cli-nine.ini)
run "$BIN/bancluster" -c "$f" status
[ $RC -eq 78 ] && [ "$ERR" = "bancluster: $f:2: [cli] coordinator: more than 8 endpoints" ]
verdict "cli.ini: 9 endpoints (exit $RC, \"$ERR\")"
f=$(variant "$WORK/cli.ini" 's|^coordinator .*|coordinator = tcp://127.0.0.1:7710,,tcp://127.0.0.1:7711|' cli-empty.ini)
run "$BIN/bancluster" -c "$f" status
[ $RC -eq 78 ] && [ "$ERR" = "bancluster: $f:2: [cli] coordinator: empty endpoint in the list (tcp://HOST:PORT, comma separated)" ]
verdict "cli.ini: an empty place in the list (exit $RC, \"$ERR\")"

# ---- --version ---------------------------------------------------------
VER=$(cat "$TOP/VERSION")
WIRE=$(sed -n 's/^#define BC_WIRE_VERSION \([0-9]*\) .*$/\1/p' "$TOP/proto/wire.h")
WIRE_MIN=$(sed -n 's/^#define BC_WIRE_VERSION_MIN \([0-9]*\) .*$/\1/p' "$TOP/proto/wire.h")
# has_lib NAME: a line "  NAME VERSION" with a version, not "unknown"
has_lib() {
	printf '%s\n' "$OUT" | grep -Eq "^  $1 +[0-9][0-9A-Za-z.+~-]*( \(built with\))?\$"
}
for spec in "bancluster-agent:libzmq libsodium libprotobuf-c libnftnl libmnl libsystemd inih" \
	"bancluster-coordinator:libzmq libsodium libprotobuf-c sqlite3 inih" \
	"bancluster:libzmq libsodium libprotobuf-c OpenSSL inih"; do
	prog=${spec%%:*}
	for opt in --version -V; do
		run "$BIN/$prog" $opt
		[ $RC -eq 0 ] && [ -z "$ERR" ]
		verdict "$prog $opt: exit 0, stdout only ($RC)"
		check "$prog $opt: first line \"$prog $VER\" (got \"$(printf '%s\n' "$OUT" | head -1)\")" \
			[ "$(printf '%s\n' "$OUT" | head -1)" = "$prog $VER" ]
		check "$prog $opt: wire protocol $WIRE (accepts $WIRE_MIN..$WIRE)" \
			[ -n "$WIRE" ] && [ -n "$WIRE_MIN" ] &&
			[ "$(printf '%s\n' "$OUT" | sed -n 2p)" = "wire protocol $WIRE (accepts $WIRE_MIN..$WIRE)" ]
	done
	missing=""
	for lib in ${spec#*:}; do
		has_lib "$lib" || missing="$missing $lib"
	done
	check "$prog --version: each library with its version (missing:${missing:- none})" \
		[ -z "$missing" ]
done
run "$BIN/bancluster-agent" --version
nv=$(pkg-config --modversion libnftnl 2>/dev/null)
printf '%s\n' "$OUT" | grep -qx "  libnftnl *$nv (built with)"
verdict "build-time versions are pkg-config's (libnftnl $nv)"
[ "$WIRE" = 2 ] && [ "$WIRE_MIN" = 1 ]
verdict "the wire protocol is 2, accepting 1 (got $WIRE, $WIRE_MIN)"
[ -n "$VER" ] && printf '%s\n' "$VER" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$'
verdict "VERSION holds X.Y.Z ($VER)"

# ---- --help: stdout, exit 0 ------------------------------------------
# helps NAME CMD...: exit 0, usage on stdout, nothing on stderr
helps() {
	name=$1
	shift
	run "$@"
	if [ $RC -eq 0 ] && [ -z "$ERR" ] && printf '%s\n' "$OUT" | head -1 | grep -q '^usage: '; then
		ok "$name"
	else
		notok "$name: exit $RC, stdout \"$(printf '%s' "$OUT" | head -1)\", stderr \"$ERR\""
	fi
}
for prog in bancluster-agent bancluster-coordinator bancluster; do
	helps "$prog --help: stdout, exit 0" "$BIN/$prog" --help
	helps "$prog -h: stdout, exit 0" "$BIN/$prog" -h
done
for cmd in keygen ban unban list show status replay report "audit fleet" "audit smtp"; do
	# shellcheck disable=SC2086
	helps "bancluster $cmd --help: stdout, exit 0" "$BIN/bancluster" $cmd --help
done
helps "bancluster ban ADDR -h: stdout, exit 0" "$BIN/bancluster" ban 192.0.2.1 -h
run "$BIN/bancluster" ban --help
check "bancluster ban --help names ban's options" \
	[ "$OUT" = "usage: bancluster [-c cli.ini] ban ADDR[/LEN] [--for DURATION|permanent] [--reason TEXT] [--force]" ]
# the value of an option is not a request for help: --reason -h bans
# (with no cli.ini here: 78, not 0)
run "$BIN/bancluster" -c "$WORK/absent.ini" ban 192.0.2.1 --reason -h
check "bancluster ban ADDR --reason -h: -h is the reason (exit $RC)" [ $RC -eq 78 ]

# ---- usage errors: stderr, exit 64 -------------------------------------
# usage_error NAME CMD...: exit 64, nothing on stdout, something on stderr
usage_error() {
	name=$1
	shift
	run "$@"
	if [ $RC -eq 64 ] && [ -z "$OUT" ] && [ -n "$ERR" ]; then
		ok "$name"
	else
		notok "$name: exit $RC, stdout \"$OUT\", stderr \"$ERR\""
	fi
}
for prog in bancluster-agent bancluster-coordinator; do
	usage_error "$prog --bogus: exit 64 on stderr" "$BIN/$prog" --bogus
	usage_error "$prog -c without FILE: exit 64" "$BIN/$prog" -c
	usage_error "$prog extra argument: exit 64" "$BIN/$prog" -c "$A" extra
done
usage_error "bancluster --bogus: exit 64 on stderr" "$BIN/bancluster" --bogus
usage_error "bancluster -c without FILE: exit 64" "$BIN/bancluster" -c
usage_error "bancluster with no command: exit 64, usage on stderr" "$BIN/bancluster"
check "bancluster with no command: the usage ($(printf '%s' "$ERR" | head -1))" \
	[ "$(printf '%s\n' "$ERR" | head -1)" = "usage: bancluster [-c cli.ini] COMMAND [ARGS]" ]
usage_error "bancluster nosuchcommand: exit 64" "$BIN/bancluster" nosuchcommand
usage_error "bancluster ban --bogus: exit 64" "$BIN/bancluster" ban --bogus
usage_error "bancluster list --since (no value): exit 64" "$BIN/bancluster" list --since

# unban [--covering]: the command line is checked before cli.ini is read
# (a cli.ini that is not there would be 78), one line naming what is wrong
# unban_refused NAME WANT-FIRST-STDERR-LINE ARGS...: exit 64, stdout empty
unban_refused() {
	name=$1 want=$2
	shift 2
	run "$BIN/bancluster" -c "$WORK/absent.ini" unban "$@"
	if [ $RC -eq 64 ] && [ -z "$OUT" ] && [ "$(printf '%s\n' "$ERR" | head -1)" = "$want" ]; then
		ok "$name"
	else
		notok "$name: exit $RC, stdout \"$OUT\", stderr \"$ERR\", want 64 and \"$want\""
	fi
}
unban_refused "unban --bogus ADDR: exit 64, the option named" \
	"unban: unrecognized option '--bogus'" --bogus 192.0.2.1
unban_refused "unban -x ADDR: exit 64, the option named" \
	"unban: invalid option -- 'x'" -x 192.0.2.1
unban_refused "unban --covering=yes: takes no value, exit 64" \
	"unban: option '--covering' doesn't allow an argument" --covering=yes 192.0.2.1
unban_refused "unban with no address: exit 64" \
	"bancluster: unban: expected one ADDR[/LEN]"
unban_refused "unban --covering with no address: exit 64" \
	"bancluster: unban: expected one ADDR[/LEN]" --covering
unban_refused "unban --covering with two addresses: exit 64" \
	"bancluster: unban: expected one ADDR[/LEN]" --covering 192.0.2.1 192.0.2.2
unban_refused "unban --covering of a bad address: exit 64 naming it" \
	"bancluster: \"192.0.2.300\": not an IP address" --covering 192.0.2.300
unban_refused "unban --covering of a bad prefix: exit 64 naming it" \
	"bancluster: \"192.0.2.0/33\": prefix length 33 over /32" 192.0.2.0/33 --covering
run "$BIN/bancluster" -c "$WORK/absent.ini" unban --covering 192.0.2.0/24
check "unban --covering PREFIX is a request: it gets as far as cli.ini (exit $RC)" [ $RC -eq 78 ]
run "$BIN/bancluster" unban --help
check "bancluster unban --help names --covering, --fleet-only and --local-only" \
	[ "$OUT" = "usage: bancluster [-c cli.ini] unban ADDR[/LEN] [--covering] [--fleet-only|--local-only]" ]

echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
