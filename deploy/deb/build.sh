#!/bin/sh
# build.sh - build the Debian binary packages bancluster (CLI),
# bancluster-agent and bancluster-coordinator from an existing build
# directory, with plain dpkg-deb (no debhelper, no source package).
#
#   sh deploy/deb/build.sh BUILD_DIR [VERSION]
#
# BUILD_DIR holds the three programs (make B=BUILD_DIR all); the packages
# are written to BUILD_DIR/deb/ as NAME_VERSION_ARCH.deb. VERSION defaults
# to the version the programs print (bancluster --version: the top-level
# VERSION file they were built with), so package and programs agree; a
# VERSION given must start with it (e.g. 0.3.0-1 for a Debian revision).
# Depends are computed by dpkg-shlibdeps when dpkg-dev is installed, else a
# fixed list of the Debian 12 runtime libraries is used. Environment:
# NOSTRIP=1 keeps the debugging symbols; MAINTAINER="Name <mail>" sets the
# Maintainer field (default: the author of the last commit).
set -eu

usage() {
	echo "usage: sh deploy/deb/build.sh BUILD_DIR [VERSION]" >&2
	exit 64
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
top=$(cd "$(dirname "$0")/../.." && pwd)
case "$1" in
/*) bdir=$1 ;;
*) bdir=$(pwd)/$1 ;;
esac
for p in bancluster bancluster-agent bancluster-coordinator; do
	if [ ! -x "$bdir/$p" ]; then
		echo "build.sh: $bdir/$p missing; run: make B=$1 all" >&2
		exit 1
	fi
done
for t in dpkg-deb dpkg gzip; do
	command -v "$t" >/dev/null 2>&1 || {
		echo "build.sh: $t not found (a Debian system is needed)" >&2
		exit 1
	}
done

# ---- version, architecture, maintainer --------------------------------
built=$("$bdir/bancluster" --version 2>/dev/null | sed -n '1s/^bancluster //p')
if [ -z "$built" ]; then
	echo "build.sh: $bdir/bancluster --version printed no version" >&2
	exit 1
fi
version=${2:-$built}
case "$version" in
"$built" | "$built"[-+~]*) ;;
*)
	echo "build.sh: version \"$version\" is not the programs' ($built, from VERSION)" >&2
	exit 64
	;;
esac
if ! echo "$version" | grep -Eq '^[0-9][A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$'; then
	echo "build.sh: \"$version\" is not a Debian version" >&2
	exit 64
fi
arch=$(dpkg --print-architecture)
maint=${MAINTAINER:-$(git -C "$top" log -1 --format='%an <%ae>' 2>/dev/null || true)}
[ -n "$maint" ] || maint="bancluster maintainers <root@localhost>"
date_r=$(git -C "$top" log -1 --format=%cD 2>/dev/null || date -R)
# "Copyright (c) YEAR HOLDER" of the MIT license in LICENSE
copyright=$(sed -n 's/^Copyright (c) //p' "$top/LICENSE" 2>/dev/null | head -1)
if [ -z "$copyright" ] || ! grep -q '^Permission is hereby granted' "$top/LICENSE"; then
	echo "build.sh: $top/LICENSE is not the MIT license text this script expects" >&2
	exit 1
fi

out=$bdir/deb
work=$out/work
rm -rf "$work"
mkdir -p "$work/debian"
rm -f "$out"/bancluster*_"$arch".deb

# ---- helpers ------------------------------------------------------------
# stage PKG: the package root, debian/PKG as dpkg-shlibdeps expects
stage() { echo "$work/debian/$1"; }

install_bin() { # install_bin PKG SRC DEST
	install -D -m 0755 "$2" "$(stage "$1")$3"
	if [ "${NOSTRIP:-}" != 1 ] && command -v strip >/dev/null 2>&1; then
		strip --strip-unneeded --remove-section=.comment \
			--remove-section=.note "$(stage "$1")$3"
	fi
}

install_man() { # install_man PKG FILE SECTION
	d="$(stage "$1")/usr/share/man/man$3"
	mkdir -p "$d"
	gzip -9n <"$top/deploy/man/$2" >"$d/$2.gz"
	chmod 0644 "$d/$2.gz"
}

install_doc() { # install_doc PKG: copyright (the top-level LICENSE) and changelog
	d="$(stage "$1")/usr/share/doc/$1"
	mkdir -p "$d"
	{
		cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: bancluster
Comment: Built from the bancluster source tree with deploy/deb/build.sh.
 The source tree's LICENSE file is the MIT license, which this format
 calls Expat.

Files: *
Copyright: $copyright
License: Expat

License: Expat
EOF
		# the text after the copyright line, one space in, "." for a blank line
		sed -n '/^Permission is hereby granted/,$p' "$top/LICENSE" |
			sed -e 's/^$/./' -e 's/^/ /'
	} >"$d/copyright"
	printf '%s (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- %s  %s\n' \
		"$1" "$version" \
		"$(git -C "$top" describe --always --dirty 2>/dev/null || echo "the source tree")" \
		"$maint" "$date_r" | gzip -9n >"$d/changelog.Debian.gz"
	chmod 0644 "$d/copyright" "$d/changelog.Debian.gz"
}

# The maintainer scripts shared by both daemons. $1 = unit name.
write_postinst() { # write_postinst PKG UNIT
	cat >"$(stage "$1")/DEBIAN/postinst" <<EOF
#!/bin/sh
# postinst of $1: system user and group "bancluster", /etc/bancluster
# (0750 root:bancluster), /var/lib/bancluster (0750 bancluster:bancluster),
# the coordinator's agents.d and admins.d (0750 bancluster:bancluster).
# Idempotent. A dpkg-statoverride on either directory is respected. The
# unit is not enabled: create the keys and edit the configuration first.
set -e
if [ "\$1" = configure ]; then
	if ! getent passwd bancluster >/dev/null; then
		if getent group bancluster >/dev/null; then
			grp="--ingroup bancluster"
		else
			grp="--group"
		fi
		adduser --system \$grp --no-create-home --home /var/lib/bancluster \\
			--gecos "bancluster daemons" --quiet bancluster
	fi
	if ! dpkg-statoverride --list /etc/bancluster >/dev/null 2>&1; then
		mkdir -p /etc/bancluster
		chown root:bancluster /etc/bancluster
		chmod 0750 /etc/bancluster
	fi
	if ! dpkg-statoverride --list /var/lib/bancluster >/dev/null 2>&1; then
		mkdir -p /var/lib/bancluster
		chown bancluster:bancluster /var/lib/bancluster
		chmod 0750 /var/lib/bancluster
	fi
	# the coordinator's key directories: it writes them on enrolment
	for d in /etc/bancluster/agents.d /etc/bancluster/admins.d; do
		if [ -d "\$d" ] && ! dpkg-statoverride --list "\$d" >/dev/null 2>&1; then
			chown bancluster:bancluster "\$d"
			chmod 0750 "\$d"
		fi
	done
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null 2>&1 || true
		if [ -n "\${2:-}" ]; then
			systemctl try-restart $2 >/dev/null 2>&1 || true
		fi
	fi
fi
exit 0
EOF
}

write_prerm() { # write_prerm PKG UNIT
	cat >"$(stage "$1")/DEBIAN/prerm" <<EOF
#!/bin/sh
# prerm of $1: on removal stop and disable the unit (an upgrade restarts
# it from the new postinst instead).
set -e
if [ "\$1" = remove ]; then
	if [ -d /run/systemd/system ]; then
		systemctl stop $2 >/dev/null 2>&1 || true
	fi
	if command -v systemctl >/dev/null 2>&1; then
		systemctl --no-reload disable $2 >/dev/null 2>&1 || true
	fi
fi
exit 0
EOF
}

write_postrm() { # write_postrm PKG UNIT STATE-FILES-SHELL
	cat >"$(stage "$1")/DEBIAN/postrm" <<EOF
#!/bin/sh
# postrm of $1: on purge remove this package's state under
# /var/lib/bancluster (files of a custom database or state_dir elsewhere
# are left alone), then the two directories if they are empty. Keys in
# /etc/bancluster and the user "bancluster" are never removed.
set -e
case "\$1" in
purge)
$3
	rmdir /var/lib/bancluster 2>/dev/null || true
	rmdir /etc/bancluster 2>/dev/null || true
	;;
esac
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null 2>&1 || true
fi
exit 0
EOF
}

# shlibs:Depends of the ELF files of PKG, or the fixed Debian 12 list.
depends_of() {
	d=""
	if command -v dpkg-shlibdeps >/dev/null 2>&1; then
		# paths under $work, split on blanks on purpose (one argument each)
		files=$(find "$(stage "$1")" -type f -perm -0100 ! -path '*/DEBIAN/*')
		# shellcheck disable=SC2086
		d=$(cd "$work" && dpkg-shlibdeps -O -p"$1" $files 2>"$work/shlibdeps-$1.log" |
			sed -n "s/^$1:Depends=//p") || d=""
	fi
	if [ -n "$d" ]; then
		echo "$d"
	else
		echo "build.sh: dpkg-shlibdeps unavailable or failed ($work/shlibdeps-$1.log); using the fixed Debian 12 list" >&2
		echo "libc6 (>= 2.34), libcurl4, libinih1, libjansson4, libmnl0, libnftnl11, libprotobuf-c1, libsodium23, libsqlite3-0, libssl3, libsystemd0, libzmq5"
	fi
}

write_control() { # write_control PKG SECTION DEPENDS EXTRA-FIELDS DESCRIPTION-FILE
	size=$(du -sk --exclude=DEBIAN "$(stage "$1")" | cut -f1)
	{
		echo "Package: $1"
		echo "Version: $version"
		echo "Architecture: $arch"
		echo "Maintainer: $maint"
		echo "Installed-Size: $size"
		echo "Depends: $3"
		[ -z "$4" ] || printf '%s\n' "$4"
		echo "Section: $2"
		echo "Priority: optional"
		cat "$5"
	} >"$(stage "$1")/DEBIAN/control"
}

# ---- the packages -------------------------------------------------------
printf 'Source: bancluster\nMaintainer: %s\n\nPackage: bancluster\nArchitecture: any\n\nPackage: bancluster-agent\nArchitecture: any\n\nPackage: bancluster-coordinator\nArchitecture: any\n' \
	"$maint" >"$work/debian/control"

# bancluster: the CLI, the man pages shared by the daemons (bancluster.ini.5
# documents the three files, so it lives here and the daemons depend on
# this package: two packages may not ship the same file) and the docs that
# the units' Documentation= names.
p=bancluster
mkdir -p "$(stage $p)/DEBIAN"
install_bin $p "$bdir/bancluster" /usr/bin/bancluster
install_man $p bancluster.1 1
install_man $p bancluster.ini.5 5
install_doc $p
install -m 0644 "$top/README.md" "$(stage $p)/usr/share/doc/$p/README.md"
# cli.ini for the admin commands (a conffile: the admin edits it), its
# drop-in directory, and the bash completion
mkdir -p "$(stage $p)/etc/bancluster/cli.d"
install -m 0644 "$top/deploy/cli.ini" "$(stage $p)/etc/bancluster/cli.ini"
echo "/etc/bancluster/cli.ini" >"$(stage $p)/DEBIAN/conffiles"
install -D -m 0644 "$top/deploy/completion/bancluster" \
	"$(stage $p)/usr/share/bash-completion/completions/bancluster"
mkdir -p "$(stage $p)/usr/share/doc/$p/docs"
install -m 0644 "$top"/docs/*.md "$(stage $p)/usr/share/doc/$p/docs/"
cat >"$work/desc-$p" <<'EOF'
Description: fleet-wide bans for mail servers - command line
 bancluster makes a fleet of mail servers (Postfix, Exim, Sendmail,
 Dovecot) defend as one host: agents turn mail log failures into signed
 events, a coordinator decides bans across the fleet, and every agent
 mirrors them into nftables.
 .
 This package holds the bancluster command: keygen, manual ban and unban,
 list, show, status, audit fleet, audit smtp (check an SMTP server from
 outside) and replay (dry run of the parsers over a log file), with its
 configuration /etc/bancluster/cli.ini and bash completion, the
 bancluster.ini(5) manual page and the documentation.
EOF
write_control $p admin "$(depends_of $p)" "" "$work/desc-$p"

for p in bancluster-agent bancluster-coordinator; do
	role=${p#bancluster-}
	s=$(stage $p)
	mkdir -p "$s/DEBIAN" "$s/etc/bancluster/$role.d"
	install_bin $p "$bdir/$p" /usr/sbin/$p
	install -D -m 0644 "$top/deploy/$p.service" "$s/lib/systemd/system/$p.service"
	install -m 0644 "$top/deploy/$role.ini" "$s/etc/bancluster/$role.ini"
	echo "/etc/bancluster/$role.ini" >"$s/DEBIAN/conffiles"
	install_man $p $p.8 8
	install_doc $p
	write_postinst $p $p.service
	write_prerm $p $p.service
done

p=bancluster-agent
# the fail2ban action (it runs "bancluster report", which talks to this
# host's agent): where fail2ban looks for actions, a conffile
install -D -m 0644 "$top/deploy/fail2ban/action.d/bancluster.conf" \
	"$(stage $p)/etc/fail2ban/action.d/bancluster.conf"
echo "/etc/fail2ban/action.d/bancluster.conf" >>"$(stage $p)/DEBIAN/conffiles"
# shellcheck disable=SC2016
write_postrm $p $p.service '	rm -f /var/lib/bancluster/source-*.cursor /var/lib/bancluster/agent.sock \
		/var/lib/bancluster/cursors/source-*.cursor
	rmdir /var/lib/bancluster/cursors 2>/dev/null || true
	for f in /var/lib/bancluster/*.counter; do
		[ -f "$f" ] || continue
		# a database'"'"'s counter (coordinator.db.counter) is not ours
		[ -e "${f%.counter}" ] || [ "${f##*/}" = coordinator.db.counter ] || rm -f "$f"
	done'
cat >"$(stage $p)/usr/share/doc/$p/README.Debian" <<'EOF'
bancluster-agent for Debian
---------------------------

The service is installed but not enabled. On each MX:

  editor /etc/bancluster/agent.ini                # id, endpoints, [source.*], [local] allow
  # or leave agent.ini as shipped and add drop-ins: /etc/bancluster/agent.d/*.ini
  bancluster-agent -c /etc/bancluster/agent.ini --init --coordinator-key KEY
  #   makes the agent's key (owned by bancluster, 0600) and prints the line
  #   for the admin host: bancluster agent add mx1 AGENTKEY
  #   KEY: the coordinator's public key, as its --init printed it
  bancluster-agent -c /etc/bancluster/agent.ini --check-config
  systemctl enable --now bancluster-agent

fail2ban: /etc/fail2ban/action.d/bancluster.conf hands the failures behind
each ban of a jail to this agent. Add it to a jail's action, e.g. in
/etc/fail2ban/jail.d/bancluster.local:

  [postfix-sasl]
  action = %(action_)s
           bancluster[kind=auth_fail]

State (message counter, log cursors) is kept in /var/lib/bancluster.
Purging the package removes that state and the configuration file, not
the keys in /etc/bancluster nor the system user "bancluster".
See bancluster-agent(8), bancluster.ini(5) and /usr/share/doc/bancluster/.
EOF
cat >"$work/desc-$p" <<'EOF'
Description: fleet-wide bans for mail servers - agent for each MX
 bancluster makes a fleet of mail servers defend as one host.
 .
 The agent follows the mail logs (files or the journal) of Postfix,
 Exim, Sendmail and Dovecot, sends auth_fail, sender_violation and
 auth_abort events signed with Ed25519 over CurveZMQ to the coordinator,
 and mirrors the fleet's bans into its own nftables table; it keeps a
 local policy when the coordinator is away.
EOF
write_control $p net "$(depends_of $p), adduser, bancluster (= $version)" \
	"Recommends: nftables
Suggests: fail2ban" "$work/desc-$p"

p=bancluster-coordinator
mkdir -p "$(stage $p)/etc/bancluster/agents.d" "$(stage $p)/etc/bancluster/admins.d"
# shellcheck disable=SC2016
write_postrm $p $p.service '	rm -f /var/lib/bancluster/coordinator.db /var/lib/bancluster/coordinator.db-wal \
		/var/lib/bancluster/coordinator.db-shm /var/lib/bancluster/coordinator.db.counter'
cat >"$(stage $p)/usr/share/doc/$p/README.Debian" <<'EOF'
bancluster-coordinator for Debian
---------------------------------

The service is installed but not enabled. On the admin host:

  editor /etc/bancluster/coordinator.ini          # listen, publish, [policy]
  # or drop-ins: /etc/bancluster/coordinator.d/*.ini, read after it
  bancluster keygen --out /etc/bancluster/alice   # your admin key
  bancluster-coordinator -c /etc/bancluster/coordinator.ini --init \
      --admin alice "$(cat /etc/bancluster/alice.pub)"
  #   the coordinator's key (owned by bancluster), printed for the MX hosts,
  #   and you as its first admin
  bancluster-coordinator -c /etc/bancluster/coordinator.ini --check-config
  systemctl enable --now bancluster-coordinator
  bancluster agent add mx1 AGENTKEY               # per MX: what its --init printed
  bancluster admin add bob ADMINKEY               # more admins

The coordinator writes agents.d and admins.d itself (both 0750 bancluster,
in the unit's ReadWritePaths); no reload is needed after agent add/remove.

The admins' /etc/bancluster/cli.ini comes with the package bancluster
(point its coordinator and key at this host's). The database is
/var/lib/bancluster/coordinator.db; back it up with sqlite3 ".backup".
Purging the package removes that database and the configuration file,
not the keys in /etc/bancluster nor the system user "bancluster".
See bancluster-coordinator(8), bancluster.ini(5) and /usr/share/doc/bancluster/.
EOF
cat >"$work/desc-$p" <<'EOF'
Description: fleet-wide bans for mail servers - coordinator
 bancluster makes a fleet of mail servers defend as one host.
 .
 The coordinator receives the signed events of every agent, counts them
 per address across the fleet, decides bans (escalating for repeat
 offenders) and publishes them to the agents; bans, decisions and their
 evidence are kept in SQLite. One coordinator per fleet, or several on
 an etcd cluster (cluster mode: no single point of failure).
EOF
write_control $p net "$(depends_of $p), adduser, bancluster (= $version)" \
	"Suggests: sqlite3, etcd-server, etcd-client" "$work/desc-$p"

# ---- build --------------------------------------------------------------
for p in bancluster bancluster-agent bancluster-coordinator; do
	s=$(stage $p)
	for f in postinst prerm postrm; do
		[ ! -f "$s/DEBIAN/$f" ] || chmod 0755 "$s/DEBIAN/$f"
	done
	[ ! -f "$s/DEBIAN/conffiles" ] || chmod 0644 "$s/DEBIAN/conffiles"
	chmod 0644 "$s/DEBIAN/control"
	# no group- or world-writable bits from the umask of the build
	find "$s" -type d -exec chmod 0755 {} +
	deb="$out/${p}_${version}_$arch.deb"
	dpkg-deb --root-owner-group -Zxz --build "$s" "$deb" >/dev/null
	echo "built $deb ($(du -k "$deb" | cut -f1) KiB)"
done
