# mailfleet.sh - real Postfix 3.7 + Dovecot SASL on every MX of a fleet
# made by lib.sh (fleet_init N), for the demo and the end-to-end test.
# Sourced after lib.sh. Uses tests/integration/audit/lab.sh (lab_cert,
# lab_dovecot, lab_postfix): hardened submission on 587 (STARTTLS, TLS
# before AUTH, reject_sender_login_mismatch), Postfix logging through
# postlogd to $WORK/mxN-mail.log, which each agent tails (format postfix).
#
#   mailfleet_up [EXTRA_SUB_FOR_MX2]  start everything; 1 on failure
#   mailfleet_down                    stop Postfix and Dovecot (by PID)

LAB_DIR=$TOP/tests/integration/audit
# shellcheck source=tests/integration/audit/lab.sh
. "$LAB_DIR/lab.sh"

HARD_MAIN="mynetworks = 127.0.0.0/8
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_exclude_ciphers = aNULL, eNULL, kRSA
smtpd_tls_mandatory_exclude_ciphers = aNULL, eNULL, kRSA
smtpd_sender_restrictions = reject_sender_login_mismatch
disable_vrfy_command = yes
smtpd_banner = \$myhostname ESMTP"
HARD_SUB="-o smtpd_tls_security_level=encrypt -o smtpd_relay_restrictions=permit_sasl_authenticated,reject -o syslog_name=postfix/submission"

# mx_env N: point lab.sh at mxN
# shellcheck disable=SC2034 # LAB_SRV is read by lab.sh
mx_env() {
	LAB=$WORK/mx$1
	LAB_SRV=$NSP-mx$1
}

# dovecot_up N: start mxN's Dovecot, master pid in DV_PID_N
dovecot_up() {
	mx_env "$1"
	lab_dovecot
	eval "DV_PID_$1=${LAB_PIDS##* }"
	wait_for 10 ns "mx$1" nc -z 127.0.0.1 12345
}

mailfleet_down() {
	_m=1
	while [ "$_m" -le "${MXN:-0}" ]; do
		[ -f "${WORK:-/nonexistent}/mx$_m/pf/etc/main.cf" ] &&
			ip netns exec "$NSP-mx$_m" postfix -c "$WORK/mx$_m/pf/etc" stop >/dev/null 2>&1
		_m=$((_m + 1))
	done
	for _p in $LAB_PIDS; do kill "$_p" 2>/dev/null; done
	_m=1
	while [ "$_m" -le "${MXN:-0}" ]; do
		_f=${WORK:-/nonexistent}/mx$_m/pf/spool/pid/master.pid
		[ -f "$_f" ] && kill "$(tr -d ' ' <"$_f")" 2>/dev/null
		_m=$((_m + 1))
	done
	LAB_PIDS=""
	sleep 0.3
}

mailfleet_up() {
	_up=0
	chmod 0755 "$WORK" # Postfix and Dovecot drop privileges inside it
	_m=1
	while [ "$_m" -le "$MXN" ]; do
		mx_env "$_m"
		mkdir -p "$LAB"
		: >"$WORK/mx$_m-mail.log"
		lab_cert || _up=1
		dovecot_up "$_m" || _up=1
		mx_env "$_m"
		_extra=""
		[ "$_m" = 2 ] && _extra=${1:-}
		lab_postfix pf "198.18.0.1$_m" "$HARD_MAIN
maillog_file = $WORK/mx$_m-mail.log
maillog_file_prefixes = $WORK" "$HARD_SUB $_extra" || _up=1
		cat >>"$WORK/mx$_m.ini" <<INI
[source.mail]
type = file
path = mx$_m-mail.log
format = postfix
INI
		_m=$((_m + 1))
	done
	_m=1
	while [ "$_m" -le "$MXN" ]; do
		for _p in 25 465 587; do
			wait_for 10 can_connect 198.18.0.100 "198.18.0.1$_m" "$_p" || _up=1
		done
		_m=$((_m + 1))
	done
	return $_up
}
