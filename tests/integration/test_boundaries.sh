#!/bin/sh
# test_boundaries.sh - every folder is a link boundary (Makefile,
# docs/architecture.md), checked on the built programs in $B, without
# namespaces:
#   - the coordinator holds no nftables writer: nm shows no nftnl_, mnl_
#     or bc_fw_ symbol (defined or undefined), ldd no libnftnl or libmnl;
#   - no program holds another role's objects: no global symbol defined
#     in libbc_agent.a or libbc_coord.a is defined in bancluster, none of
#     libbc_coord.a or libbc_cli.a in the agent, none of libbc_agent.a,
#     libbc_cli.a or libbc_logparse.a in the coordinator (each program's
#     own library must show up in it, so nm is known to work on it);
#   - the agent links no SQLite (ldd); only the CLI links jansson;
#   - a crossing is a link error: a file that calls bc_fw_apply, compiled
#     and linked by the very commands make uses for the coordinator's
#     main.o and binary (make -n -B), fails with "undefined reference to
#     `bc_fw_apply'"; by the agent's commands it links (the probe works).
# Works on a SANITIZE=1 build too (B=build-san). Env: B.
. "$(dirname "$0")/lib.sh"

WORK=$(mktemp -d /tmp/bc-bound.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$TOP" || exit 1
COORD=$BIN/bancluster-coordinator
AGENT=$BIN/bancluster-agent
CLI=$BIN/bancluster

# The names a file defines: global ones of an archive's members, every
# one (global or local) of a program.
lib_syms() { nm --defined-only -g "$1" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u; }
prog_syms() { nm --defined-only "$1" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u; }

for f in "$COORD" "$AGENT" "$CLI"; do
	if [ ! -x "$f" ]; then
		notok "$f: not built (make all B=$B)"
		echo "# $PASS passed, $FAIL failed"
		exit 1
	fi
done

# a sanitizer build links libasan: the programs refer to __asan_init
SAN=
nm "$CLI" 2>/dev/null | grep -q ' __asan_init$' && SAN=1
note "build $B${SAN:+ (SANITIZE=1)}"

# --- the coordinator holds no nftables writer -------------------------
nm "$COORD" >"$WORK/coord.nm" 2>&1
n=$(wc -l <"$WORK/coord.nm")
grep -E '^[0-9a-f ]+ [A-Za-z] (nftnl_|mnl_|bc_fw_)' "$WORK/coord.nm" >"$WORK/coord.bad"
if [ "$n" -lt 100 ]; then
	notok "nm bancluster-coordinator: only $n lines (stripped? $(head -1 "$WORK/coord.nm"))"
elif [ -s "$WORK/coord.bad" ]; then
	notok "bancluster-coordinator has nftables symbols: $(head -5 "$WORK/coord.bad" | awk '{print $NF}' | tr '\n' ' ')"
else
	ok "bancluster-coordinator: no nftnl_/mnl_/bc_fw_ symbol among $n"
fi

# ldd: "not found" or an error is a failure, not a pass
ldd_has() { # ldd_has PROG REGEX: prints the matching libraries
	ldd "$1" >"$WORK/ldd.out" 2>&1 || echo "ldd failed: $(head -1 "$WORK/ldd.out")"
	grep -q 'libc\.so' "$WORK/ldd.out" || echo "ldd lists no libc"
	grep 'not found' "$WORK/ldd.out"
	awk '{print $1}' "$WORK/ldd.out" | grep -E "$2"
}
bad=$(ldd_has "$COORD" '^lib(nftnl|mnl)\.')
check "ldd bancluster-coordinator: no libnftnl, no libmnl${bad:+ (got: $(echo $bad))}" [ -z "$bad" ]
bad=$(ldd_has "$AGENT" '^libsqlite3\.')
check "ldd bancluster-agent: no libsqlite3${bad:+ (got: $(echo $bad))}" [ -z "$bad" ]
# the same ldd reading sees what each program does link
bad=$(ldd_has "$AGENT" '^libnftnl\.')
check "ldd bancluster-agent: libnftnl (the check can see a library)" [ -n "$bad" ]
# jansson: the CLI's --json and the coordinator's etcd client (cluster
# mode); never the agent's
bad=$(ldd_has "$AGENT" '^libjansson\.')
check "ldd bancluster-agent: no libjansson${bad:+ (got: $(echo $bad))}" [ -z "$bad" ]
bad=$(ldd_has "$COORD" '^libjansson\.')
check "ldd bancluster-coordinator: libjansson (cluster mode's etcd client)" [ -n "$bad" ]
bad=$(ldd_has "$CLI" '^libjansson\.')
check "ldd bancluster: libjansson (its --json)" [ -n "$bad" ]

# --- no program holds another role's objects --------------------------
# no_objects PROG NAME OWN-LIB OTHER-LIB...: no global symbol of the
# other libraries is defined in PROG; OWN-LIB's are (nm reads PROG)
no_objects() {
	prog=$1 pname=$2 own=$3
	shift 3
	prog_syms "$prog" >"$WORK/prog.syms"
	mine=$(lib_syms "$BIN/$own" | comm -12 - "$WORK/prog.syms" | wc -l)
	check "$pname: $mine symbols of its own $own found (nm reads it)" [ "$mine" -gt 0 ]
	for lib in "$@"; do
		if [ ! -f "$BIN/$lib" ]; then
			notok "$pname vs $lib: $BIN/$lib missing"
			continue
		fi
		lib_syms "$BIN/$lib" >"$WORK/lib.syms"
		total=$(wc -l <"$WORK/lib.syms")
		both=$(comm -12 "$WORK/lib.syms" "$WORK/prog.syms")
		if [ "$total" -eq 0 ]; then
			notok "$pname vs $lib: no global symbol in $lib (nm failed?)"
		elif [ -n "$both" ]; then
			notok "$pname holds objects of $lib: $(echo $both | cut -c1-300)"
		else
			ok "$pname: none of the $total global symbols of $lib"
		fi
	done
}
no_objects "$CLI" bancluster libbc_cli.a libbc_agent.a libbc_coord.a
no_objects "$AGENT" bancluster-agent libbc_agent.a libbc_coord.a libbc_cli.a
no_objects "$COORD" bancluster-coordinator libbc_coord.a libbc_agent.a \
	libbc_cli.a libbc_logparse.a

# --- a crossing is a link error ----------------------------------------
# The commands make runs for a program's main.o and binary, with the
# probe put in the place of main.c / main.o.
make_line() { # make_line WHAT: the command of make that has WHAT in it
	make -n -B B="$B" ${SAN:+SANITIZE=1} "$B/bancluster-coordinator" \
		"$B/bancluster-agent" 2>/dev/null | grep -F -- "$1" | head -1
}
cat >"$WORK/probe.c" <<'EOF'
/* calls into the firewall writer of agent/ */
int bc_fw_apply(void);
int main(void)
{
	return bc_fw_apply();
}
EOF
cc_line=$(make_line "-c -o $B/coordinator/main.o coordinator/main.c")
coord_ld=$(make_line "-o $B/bancluster-coordinator $B/coordinator/main.o ")
agent_ld=$(make_line "-o $B/bancluster-agent $B/agent/main.o ")
note "coordinator link: $coord_ld"
if [ -z "$cc_line" ] || [ -z "$coord_ld" ] || [ -z "$agent_ld" ]; then
	notok "make -n -B: the compile or link line of the daemons not found"
else
	probe_cc=$(echo "$cc_line" | sed "s|-o $B/coordinator/main.o coordinator/main.c|-o $WORK/probe.o $WORK/probe.c|")
	sh -c "$probe_cc" >"$WORK/cc.out" 2>&1
	check "the probe compiles with the coordinator's flags$( [ -s "$WORK/cc.out" ] && echo ": $(head -3 "$WORK/cc.out")")" \
		[ -f "$WORK/probe.o" ]

	# linked as the coordinator: bc_fw_apply is in no library it links
	ld=$(echo "$coord_ld" | sed "s|-o $B/bancluster-coordinator $B/coordinator/main.o |-o $WORK/probe-coord $WORK/probe.o |")
	sh -c "$ld" >"$WORK/ld-coord.out" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q "undefined reference to \`bc_fw_apply'" "$WORK/ld-coord.out"; then
		ok "linked as the coordinator, a call to bc_fw_apply is a link error (undefined reference)"
	else
		notok "linked as the coordinator, a call to bc_fw_apply: exit $rc, $(head -3 "$WORK/ld-coord.out" | tr '\n' ' ')"
	fi

	# linked as the agent it links: the probe can tell
	ld=$(echo "$agent_ld" | sed "s|-o $B/bancluster-agent $B/agent/main.o |-o $WORK/probe-agent $WORK/probe.o |")
	sh -c "$ld" >"$WORK/ld-agent.out" 2>&1
	rc=$?
	check "linked as the agent, the same probe links (exit $rc$( [ "$rc" -ne 0 ] && echo ", $(head -2 "$WORK/ld-agent.out" | tr '\n' ' ')"))" \
		[ "$rc" -eq 0 -a -x "$WORK/probe-agent" ]
fi

echo "# $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
