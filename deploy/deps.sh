#!/bin/sh
# deps.sh - install every build and test dependency from Debian 12 packages.
# Idempotent and non-interactive. "--check" only reports whether all are there.
set -eu
PKGS="build-essential pkg-config libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
 libsodium-dev libnftnl-dev libmnl-dev libinih-dev libsqlite3-dev libssl-dev
 libsystemd-dev nftables iproute2 sqlite3 clang libclang-rt-14-dev openssl
 swaks procps psmisc python3 postfix dovecot-core libsasl2-modules
 socat netcat-openbsd systemd systemd-journal-remote"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ "${1:-}" = "--check" ]; then
	[ -z "$missing" ] && exit 0
	echo "missing packages:$missing" >&2
	exit 1
fi
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }
export DEBIAN_FRONTEND=noninteractive
# Postfix must install without asking and without configuring a mail system.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
