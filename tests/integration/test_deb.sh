#!/bin/sh
# test_deb.sh - build the three Debian packages with deploy/deb/build.sh,
# check their control data and contents, install them with dpkg -i on
# this machine, check the system user, directories and modes, make the
# keys the shipped examples name, run both daemons' --check-config on the
# shipped files, find the man pages, verify the units, then purge the
# packages and remove what the test made, leaving the machine as it was.
#
# Runs as root on a throwaway machine (CI); skipped, with a "# SKIP" line,
# where it cannot run without touching an existing installation. Env: B.
# The conditions given to checkx are single-quoted on purpose: evaluated later.
# shellcheck disable=SC2016
set -u
: "${B:=build}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 1
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok - deb: $*"; }
notok() { FAIL=$((FAIL + 1)); echo "not ok - deb: $*"; }
check() { # check NAME CMD...: ok when CMD succeeds
	name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}
checkx() { # checkx NAME 'SHELL CONDITION': ok when it holds (evaluated here)
	if eval "$2"; then ok "$1"; else notok "$1"; fi
}
note() { echo "# $*"; }
skip() { echo "# SKIP deb: $*"; exit 0; }

PKGS="bancluster bancluster-agent bancluster-coordinator"
ETC=/etc/bancluster
VAR=/var/lib/bancluster
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
known() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -qv 'not-installed'; }

[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i)"
command -v dpkg-deb >/dev/null 2>&1 || skip "not a Debian system"
for p in $PKGS; do
	[ -x "$B/$p" ] || { notok "$B/$p not built (make B=$B all)"; exit 1; }
	# never purge an installation that was here before
	! known "$p" || skip "package $p is already present on this machine"
done
[ ! -e "$ETC" ] || skip "$ETC exists already"
[ ! -e "$VAR" ] || skip "$VAR exists already"

user_before=0
group_before=0
getent passwd bancluster >/dev/null && user_before=1
getent group bancluster >/dev/null && group_before=1
WORK=$(mktemp -d /tmp/bc-deb.XXXXXX)

cleanup() {
	trap - EXIT INT TERM
	for p in bancluster-agent bancluster-coordinator bancluster; do
		if known "$p"; then
			dpkg --purge "$p" >>"$WORK/dpkg.log" 2>&1 ||
				echo "# cleanup: dpkg --purge $p failed"
		fi
	done
	# the keys and directories this test made (both dirs were absent)
	for k in mx1 coordinator admin; do
		rm -f "$ETC/$k.key" "$ETC/$k.pub"
	done
	rm -f "$ETC/agents.d/mx1.pub" "$ETC/admins.d/admin.pub"
	rmdir "$ETC/agents.d" "$ETC/admins.d" "$ETC" 2>/dev/null
	rmdir "$VAR" 2>/dev/null
	if [ "$user_before" -eq 0 ] && getent passwd bancluster >/dev/null; then
		deluser --system --quiet bancluster >/dev/null 2>&1 ||
			userdel bancluster 2>/dev/null
	fi
	if [ "$group_before" -eq 0 ] && getent group bancluster >/dev/null; then
		delgroup --system --quiet bancluster >/dev/null 2>&1 ||
			groupdel bancluster 2>/dev/null
	fi
	left=""
	for p in $PKGS; do known "$p" && left="$left package:$p"; done
	[ -e "$ETC" ] && left="$left $ETC"
	[ -e "$VAR" ] && left="$left $VAR"
	[ "$user_before" -eq 0 ] && getent passwd bancluster >/dev/null && left="$left user"
	[ "$group_before" -eq 0 ] && getent group bancluster >/dev/null && left="$left group"
	if [ -z "$left" ]; then
		ok "machine left as it was (packages, user, group, $ETC, $VAR gone)"
	else
		notok "left behind:$left"
	fi
	if [ "$FAIL" -gt 0 ]; then
		for f in "$WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- tail of $(basename "$f")"
			tail -15 "$f" | sed 's/^/#   /'
		done
	fi
	rm -rf "$WORK"
	echo "# test_deb: $PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit $?
}
trap cleanup EXIT
trap 'notok "interrupted by a signal"; exit 1' INT TERM

# ---- build ---------------------------------------------------------------
if sh deploy/deb/build.sh "$B" >"$WORK/build.log" 2>&1; then
	ok "build.sh $B built the packages"
else
	notok "build.sh $B failed"
	exit 1
fi
sed 's/^/# /' "$WORK/build.log"
arch=$(dpkg --print-architecture)
debof() { # debof PKG: the one PKG_*_ARCH.deb in $B/deb
	set -- "$B"/deb/"$1"_*_"$arch".deb
	[ $# -eq 1 ] && [ -f "$1" ] && echo "$1"
}
for p in $PKGS; do
	debof "$p" >/dev/null || { notok "exactly one ${p}_*_$arch.deb in $B/deb"; exit 1; }
done
deb_bancluster=$(debof bancluster)
deb_bancluster_agent=$(debof bancluster-agent)
deb_bancluster_coordinator=$(debof bancluster-coordinator)
ver=$(dpkg-deb -f "$deb_bancluster" Version)

# ---- control data ------------------------------------------------------
field() { dpkg-deb -f "$1" "$2"; }
for p in $PKGS; do
	d=$(debof "$p")
	checkx "$p: Package, Architecture $arch, Version $ver" \
		'[ "$(field "$d" Package)" = "$p" ] &&
		[ "$(field "$d" Architecture)" = "$arch" ] &&
		[ "$(field "$d" Version)" = "$ver" ]'
	deps=$(field "$d" Depends)
	check "$p: Depends names libc6, libzmq5, libsodium23, libprotobuf-c1 ($deps)" \
		sh -c 'for l in libc6 libzmq5 libsodium23 libprotobuf-c1 libinih1; do
			echo "$1" | grep -Eq "(^|, )$l( |,|\$)" || exit 1; done' - "$deps"
	checkx "$p: Maintainer, Description and Installed-Size present" \
		'[ -n "$(field "$d" Maintainer)" ] &&
		[ -n "$(field "$d" Description)" ] &&
		[ "$(field "$d" Installed-Size)" -gt 0 ]'
done
deps=$(field "$deb_bancluster_agent" Depends)
check "bancluster-agent depends on libnftnl11, libmnl0, adduser, bancluster (= $ver)" \
	sh -c 'for l in libnftnl11 libmnl0 adduser "bancluster (= $2)"; do
		case "$1" in *"$l"*) ;; *) exit 1 ;; esac; done' - "$deps" "$ver"
deps=$(field "$deb_bancluster_coordinator" Depends)
check "bancluster-coordinator depends on libsqlite3-0, adduser, bancluster (= $ver)" \
	sh -c 'for l in libsqlite3-0 adduser "bancluster (= $2)"; do
		case "$1" in *"$l"*) ;; *) exit 1 ;; esac; done' - "$deps" "$ver"

# ---- contents ------------------------------------------------------------
# has DEB MODE-OWNER PATH: dpkg-deb -c lists PATH with these bits and owner
has() {
	dpkg-deb -c "$1" | awk -v m="$2" -v p="./$3" '$1 " " $2 == m && $6 == p { f = 1 } END { exit !f }'
}
check "bancluster: /usr/bin/bancluster 0755 root" \
	has "$deb_bancluster" "-rwxr-xr-x root/root" usr/bin/bancluster
checkx "bancluster: bancluster.1 and bancluster.ini.5" \
	'has "$deb_bancluster" "-rw-r--r-- root/root" usr/share/man/man1/bancluster.1.gz &&
	has "$deb_bancluster" "-rw-r--r-- root/root" usr/share/man/man5/bancluster.ini.5.gz'
check "bancluster: README.md where the units' Documentation= points" \
	has "$deb_bancluster" "-rw-r--r-- root/root" usr/share/doc/bancluster/README.md
for r in agent coordinator; do
	d=$(debof "bancluster-$r")
	check "bancluster-$r: /usr/sbin/bancluster-$r 0755 root" \
		has "$d" "-rwxr-xr-x root/root" "usr/sbin/bancluster-$r"
	check "bancluster-$r: unit in /lib/systemd/system" \
		has "$d" "-rw-r--r-- root/root" "lib/systemd/system/bancluster-$r.service"
	checkx "bancluster-$r: $ETC/$r.ini, listed in conffiles" \
		'has "$d" "-rw-r--r-- root/root" "etc/bancluster/$r.ini" &&
		[ "$(dpkg-deb -I "$d" conffiles)" = "$ETC/$r.ini" ]'
	check "bancluster-$r: bancluster-$r.8" \
		has "$d" "-rw-r--r-- root/root" "usr/share/man/man8/bancluster-$r.8.gz"
	checkx "bancluster-$r: postinst, prerm, postrm" \
		'dpkg-deb -I "$d" postinst >/dev/null && dpkg-deb -I "$d" prerm >/dev/null &&
		dpkg-deb -I "$d" postrm >/dev/null'
	checkx "bancluster-$r: maintainer scripts pass sh -n" \
		'for f in postinst prerm postrm; do
			dpkg-deb -I "$d" $f | sh -n || exit 1; done'
	dpkg-deb -c "$d" | awk '$1 !~ /^d/ {print $6}' | sort >"$WORK/files-$r"
done
dpkg-deb -c "$deb_bancluster" | awk '$1 !~ /^d/ {print $6}' | sort >"$WORK/files-cli"
check "no file in two packages (dpkg -i would refuse)" \
	[ -z "$(sort "$WORK"/files-* | uniq -d)" ]
checkx "bancluster-coordinator: examples/cli.ini, agents.d and admins.d" \
	'has "$deb_bancluster_coordinator" "-rw-r--r-- root/root" \
		usr/share/doc/bancluster-coordinator/examples/cli.ini &&
	has "$deb_bancluster_coordinator" "drwxr-xr-x root/root" etc/bancluster/agents.d/ &&
	has "$deb_bancluster_coordinator" "drwxr-xr-x root/root" etc/bancluster/admins.d/'
sizes=""
for p in $PKGS; do
	sizes="$sizes $p $(($(stat -c %s "$(debof "$p")") / 1024)) KiB;"
done
note "package sizes:$sizes"

# ---- install ------------------------------------------------------------
if dpkg -i "$deb_bancluster" "$deb_bancluster_agent" "$deb_bancluster_coordinator" \
	>"$WORK/dpkg.log" 2>&1; then
	ok "dpkg -i of the three packages"
else
	notok "dpkg -i of the three packages"
	exit 1
fi
for p in $PKGS; do
	check "$p $ver installed" sh -c \
		'[ "$(dpkg-query -W -f="\${Status} \${Version}" "$1")" = "install ok installed $2" ]' - "$p" "$ver"
done
checkx "installed unit files identical to deploy/" \
	'cmp -s /lib/systemd/system/bancluster-agent.service deploy/bancluster-agent.service &&
	cmp -s /lib/systemd/system/bancluster-coordinator.service deploy/bancluster-coordinator.service'
checkx "installed programs executable: /usr/bin/bancluster, /usr/sbin/bancluster-{agent,coordinator}" \
	'[ -x /usr/sbin/bancluster-agent ] && [ -x /usr/sbin/bancluster-coordinator ] && [ -x /usr/bin/bancluster ]'

# ---- user, group, directories -----------------------------------------
pw=$(getent passwd bancluster)
checkx "system user bancluster ($pw), home $VAR" \
	'[ -n "$pw" ] && [ "$(echo "$pw" | cut -d: -f3)" -lt 1000 ] &&
	[ "$(echo "$pw" | cut -d: -f6)" = "$VAR" ]'
check "its shell does not log in" \
	sh -c 'case "$1" in */nologin|*/false) ;; *) exit 1 ;; esac' - "$(echo "$pw" | cut -d: -f7)"
check "system group bancluster is its primary group" \
	[ "$(id -gn bancluster 2>/dev/null)" = bancluster ]
check "no home directory made beyond $VAR" \
	[ ! -e /home/bancluster ]
check "$ETC is 0750 root:bancluster ($(stat -c '%a %U:%G' $ETC))" \
	[ "$(stat -c '%a %U:%G' $ETC)" = "750 root:bancluster" ]
check "$VAR is 0750 bancluster:bancluster ($(stat -c '%a %U:%G' $VAR))" \
	[ "$(stat -c '%a %U:%G' $VAR)" = "750 bancluster:bancluster" ]

# reinstalling runs postinst again: nothing changes, nothing fails
if dpkg -i "$deb_bancluster" "$deb_bancluster_agent" "$deb_bancluster_coordinator" \
	>>"$WORK/dpkg.log" 2>&1; then
	ok "dpkg -i again (postinst idempotent)"
else
	notok "dpkg -i again (postinst idempotent)"
fi
checkx "same user after reinstall, dirs unchanged" \
	'[ "$(getent passwd bancluster)" = "$pw" ] &&
	[ "$(stat -c "%a %U:%G" $ETC $VAR | tr "\n" " ")" = "750 root:bancluster 750 bancluster:bancluster " ]'

# ---- keys at the paths the shipped examples name; --check-config --------
keygen() { /usr/bin/bancluster keygen --out "$1" >>"$WORK/keygen.log" 2>&1; }
checkx "bancluster keygen --out $ETC/mx1, $ETC/coordinator, $ETC/admin" \
	'keygen $ETC/mx1 && keygen $ETC/coordinator && keygen $ETC/admin'
cp $ETC/mx1.pub $ETC/agents.d/mx1.pub
cp $ETC/admin.pub $ETC/admins.d/admin.pub
check "secret keys 0600" \
	[ "$(stat -c %a $ETC/mx1.key $ETC/coordinator.key | tr '\n' ' ')" = "600 600 " ]
out=$(/usr/sbin/bancluster-agent -c $ETC/agent.ini --check-config 2>&1)
check "bancluster-agent --check-config on the shipped agent.ini: $out" \
	[ "$out" = "$ETC/agent.ini: OK (agent mx1, 1 sources)" ]
out=$(/usr/sbin/bancluster-coordinator -c $ETC/coordinator.ini --check-config 2>&1)
check "bancluster-coordinator --check-config on the shipped coordinator.ini: $out" \
	[ "$out" = "$ETC/coordinator.ini: OK (2 trusted keys)" ]
# the unit's ExecStartPre, exactly as written there
pre=$(sed -n 's/^ExecStartPre=//p' /lib/systemd/system/bancluster-agent.service)
check "the agent unit's ExecStartPre passes ($pre)" sh -c "$pre >/dev/null 2>&1"
pre=$(sed -n 's/^ExecStartPre=//p' /lib/systemd/system/bancluster-coordinator.service)
check "the coordinator unit's ExecStartPre passes ($pre)" sh -c "$pre >/dev/null 2>&1"
ex=/usr/share/doc/bancluster-coordinator/examples/cli.ini
if [ -f $ex ]; then
	# no coordinator runs: 69 (no answer) proves cli.ini and both keys
	# loaded; a configuration or key error would be 78
	/usr/bin/bancluster -c $ex status >"$WORK/cli.log" 2>&1
	rc=$?
	check "bancluster -c examples/cli.ini status: cli.ini and keys load (exit $rc, 69 = no coordinator)" \
		[ "$rc" -eq 69 ]
else
	note "skip examples/cli.ini: not installed (dpkg path-exclude for /usr/share/doc?)"
fi

# ---- man pages ---------------------------------------------------------
if [ -f /usr/share/man/man1/bancluster.1.gz ]; then
	if command -v man >/dev/null 2>&1 && installed man-db; then
		check "man -w bancluster finds the page" \
			[ "$(man -w bancluster 2>/dev/null)" = /usr/share/man/man1/bancluster.1.gz ]
		checkx "man -w finds bancluster-agent(8), bancluster-coordinator(8), bancluster.ini(5)" \
			'[ "$(man -w 8 bancluster-agent 2>/dev/null)" = /usr/share/man/man8/bancluster-agent.8.gz ] &&
			[ "$(man -w 8 bancluster-coordinator 2>/dev/null)" = /usr/share/man/man8/bancluster-coordinator.8.gz ] &&
			[ "$(man -w 5 bancluster.ini 2>/dev/null)" = /usr/share/man/man5/bancluster.ini.5.gz ]'
	else
		note "skip man -w: man-db not installed"
	fi
	if command -v groff >/dev/null 2>&1; then
		for m in man1/bancluster.1 man5/bancluster.ini.5 man8/bancluster-agent.8 \
			man8/bancluster-coordinator.8; do
			w=$(zcat /usr/share/man/$m.gz | groff -man -Tutf8 -ww -z 2>&1)
			check "groff -man -ww: $m.gz renders without a warning" [ -z "$w" ]
		done
	fi
else
	note "skip man pages: not installed (dpkg path-exclude for /usr/share/man?)"
fi

# ---- systemd units ---------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	for u in bancluster-agent bancluster-coordinator; do
		# works offline (PID 1 need not be systemd): unit syntax, the
		# directives, and that ExecStart/ExecStartPre name executables
		if systemd-analyze verify /lib/systemd/system/$u.service >"$WORK/verify-$u.log" 2>&1; then
			ok "systemd-analyze verify $u.service"
		else
			notok "systemd-analyze verify $u.service"
			sed 's/^/#   /' "$WORK/verify-$u.log"
		fi
		e=$(systemd-analyze security --offline=true /lib/systemd/system/$u.service 2>/dev/null |
			sed -n 's/.*Overall exposure level for [^:]*: *\([0-9.]* [A-Z]*\).*/\1/p')
		[ -z "$e" ] || note "systemd-analyze security --offline=true $u.service: exposure $e"
	done
else
	note "skip systemd-analyze: not installed"
fi

# ---- purge -------------------------------------------------------------
# state as the daemons would leave it, to see purge remove it
: >"$VAR/coordinator.db"
: >"$VAR/coordinator.db-wal"
: >"$VAR/coordinator.db.counter"
: >"$VAR/mx1.counter"
: >"$VAR/source-mail.cursor"
if dpkg --purge bancluster-agent bancluster-coordinator bancluster >>"$WORK/dpkg.log" 2>&1; then
	ok "dpkg --purge of the three packages"
else
	notok "dpkg --purge of the three packages"
fi
for p in $PKGS; do
	check "$p purged" sh -c '! dpkg-query -W -f="\${Status}" "$1" 2>/dev/null | grep -qv not-installed' - "$p"
done
check "binaries, units, conffiles, man pages gone" \
	sh -c 'for f in /usr/bin/bancluster /usr/sbin/bancluster-agent /usr/sbin/bancluster-coordinator \
		/lib/systemd/system/bancluster-agent.service /lib/systemd/system/bancluster-coordinator.service \
		/etc/bancluster/agent.ini /etc/bancluster/coordinator.ini \
		/usr/share/man/man1/bancluster.1.gz; do [ ! -e "$f" ] || exit 1; done'
check "purge removed the state in $VAR and the empty directory" [ ! -e "$VAR" ]
checkx "purge kept the keys in $ETC" \
	'[ -f $ETC/mx1.key ] && [ -f $ETC/coordinator.key ] && [ -f $ETC/agents.d/mx1.pub ]'
# cleanup (the EXIT trap) removes the keys, the directories, user and group
