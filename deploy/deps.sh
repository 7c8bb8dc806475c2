#!/bin/sh
# deps.sh - install every build and test dependency from Debian 12 packages.
# Idempotent and non-interactive. "--check" only reports whether all are there.
#
# Installs with --no-install-recommends, so every package a command of the
# suite or the demo really uses is named here (swaks needs libnet-ssleay-perl
# for STARTTLS: without it no password guess ever reaches Postfix).
# Exim and Sendmail conflict with Postfix as installed packages: their .debs
# are only downloaded, into $BC_DEB_CACHE, and unpacked by the tests into a
# private tree (tests/integration/mta/), so the suite runs them without a
# network (the fresh-machine check runs the suite in a namespace without one).
# etcd-server is for tests/integration/test_etcd.sh, which runs its own
# members on other ports in a namespace; the package's own service (enabled
# and started by the package only where systemd runs; without systemd as
# PID 1 nothing is started) is stopped and disabled when this script
# installed it, so a test machine serves no etcd on localhost:2379.
set -eu
PKGS="build-essential pkg-config libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
 libsodium-dev libnftnl-dev libmnl-dev libinih-dev libsqlite3-dev libssl-dev
 libsystemd-dev libcurl4-openssl-dev libjansson-dev nftables iproute2 sqlite3 clang libclang-rt-14-dev openssl
 swaks libnet-ssleay-perl procps psmisc python3 postfix dovecot-core
 libsasl2-modules socat netcat-openbsd util-linux systemd systemd-journal-remote
 ca-certificates curl prometheus groff-base etcd-server etcd-client"
# Downloaded, not installed: what tests/integration/mta/{exim,sendmail}.sh unpack,
# and sshguard, whose sshg-parser bench/run.sh unpacks for `make bench` (the
# installed package would start a firewall daemon on the test machine).
DEBS="exim4-daemon-light libidn12 libgnutls-dane0 libunbound8 libevent-2.1-7
 sendmail-bin sendmail-cf liblockfile1 m4 sasl2-bin sshguard"
CACHE=${BC_DEB_CACHE:-/var/cache/bancluster-test/debs}

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
missing_debs=""
for p in $DEBS; do
	ls "$CACHE/${p}_"*.deb >/dev/null 2>&1 || missing_debs="$missing_debs $p"
done
if [ "${1:-}" = "--check" ]; then
	[ -z "$missing$missing_debs" ] && exit 0
	[ -n "$missing" ] && echo "missing packages:$missing" >&2
	[ -n "$missing_debs" ] && echo "missing downloaded .debs in $CACHE:$missing_debs" >&2
	exit 1
fi
[ -z "$missing$missing_debs" ] && { echo "deps: all installed"; exit 0; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ -n "$missing" ]; then
	# Postfix must install without asking and without configuring a mail system.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
	case " $missing " in
	*" etcd-server "*)
		if [ -d /run/systemd/system ]; then
			systemctl disable --now etcd.service >/dev/null 2>&1 || true
		fi
		;;
	esac
fi
if [ -n "$missing_debs" ]; then
	mkdir -p "$CACHE"
	# apt-get download writes into the current directory, as user _apt
	# when it can: the directory must be writable by it.
	chmod 0755 "$CACHE"
	# shellcheck disable=SC2086
	(cd "$CACHE" && apt-get download $missing_debs)
fi
echo "deps: all installed"
