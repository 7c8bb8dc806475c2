# lab.sh - sourced by test_audit_smtp.sh: a Postfix + Dovecot lab in network
# namespaces for `bancluster audit smtp`.
#
#   bcaud-srv-$$  server namespace, veth address 198.18.0.2 (hardened Postfix)
#                 and 198.18.0.3 (weak Postfix), Dovecot auth on 127.0.0.1
#                 and 198.18.0.4 (a hostile fake server, fake_smtp.py)
#   bcaud-cli-$$  auditor namespace, 198.18.0.1 and 198.18.0.11/.12
#
# Both Postfix instances run from private config/queue directories under
# $LAB (never /etc/postfix); Dovecot runs from a private config file. Every
# process is recorded by PID and stopped by lab_cleanup, which also deletes
# the namespaces. Nothing is sent outside these namespaces.

LAB_SRV=bcaud-srv-$$
LAB_CLI=bcaud-cli-$$
LAB_HARD=198.18.0.2
LAB_WEAK=198.18.0.3
LAB_FAKE=198.18.0.4
LAB_ME=198.18.0.1
LAB_PIDS=""
LAB_DIR=${LAB_DIR:-$(dirname "$0")/audit}

# Run a command in the server / auditor namespace.
in_srv() { ip netns exec "$LAB_SRV" "$@"; }
in_cli() { ip netns exec "$LAB_CLI" "$@"; }

lab_net() {
	ip netns add "$LAB_SRV" || return 1
	ip netns add "$LAB_CLI" || return 1
	ip -n "$LAB_SRV" link add vs type veth peer name vc netns "$LAB_CLI" || return 1
	ip -n "$LAB_SRV" link set lo up
	ip -n "$LAB_CLI" link set lo up
	ip -n "$LAB_SRV" addr add "$LAB_HARD/24" dev vs
	ip -n "$LAB_SRV" addr add "$LAB_WEAK/24" dev vs
	ip -n "$LAB_SRV" addr add "$LAB_FAKE/24" dev vs
	ip -n "$LAB_CLI" addr add "$LAB_ME/24" dev vc
	ip -n "$LAB_CLI" addr add 198.18.0.11/24 dev vc
	ip -n "$LAB_CLI" addr add 198.18.0.12/24 dev vc
	ip -n "$LAB_SRV" link set vs up
	ip -n "$LAB_CLI" link set vc up
}

lab_cert() {
	mkdir -p "$LAB/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=mail.lab.test \
		-addext subjectAltName=DNS:mail.lab.test \
		-keyout "$LAB/tls/key.pem" -out "$LAB/tls/cert.pem" >/dev/null 2>&1 || return 1
	chmod 0644 "$LAB/tls/key.pem" "$LAB/tls/cert.pem"
}

lab_dovecot() {
	d=$LAB/dv
	mkdir -p "$d/run" "$d/state"
	# alice may send as alice@lab.test only; bob exists too.
	printf 'alice@lab.test:{PLAIN}alicepass\nbob@lab.test:{PLAIN}bobpass\n' >"$d/users"
	chmod 0644 "$d/users"
	cat >"$d/dovecot.conf" <<EOC
protocols =
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = scheme=PLAIN $d/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  inet_listener {
    address = 127.0.0.1
    port = 12345
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOC
	# Not through in_srv: $! must be the daemon itself (ip netns exec execs).
	ip netns exec "$LAB_SRV" dovecot -c "$d/dovecot.conf" -F >"$d/stdout" 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
}

# lab_postfix NAME ADDR MAIN_EXTRA MASTER_SUBMISSION_OPTS
lab_postfix() {
	name=$1 addr=$2 extra=$3 subopts=$4
	d=$LAB/$name
	mkdir -p "$d/etc" "$d/lib"
	cat >"$d/etc/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $d/spool
data_directory = $d/lib
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = $addr
inet_protocols = ipv4
myhostname = mail.lab.test
mydomain = lab.test
myorigin = lab.test
mydestination = lab.test, mail.lab.test
local_recipient_maps = texthash:$d/etc/recipients
alias_maps =
alias_database =
default_transport = discard:lab
local_transport = discard:lab
relay_transport = discard:lab
maillog_file = $d/maillog
maillog_file_prefixes = $LAB
smtpd_tls_cert_file = $LAB/tls/cert.pem
smtpd_tls_key_file = $LAB/tls/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:12345
smtpd_sender_login_maps = texthash:$d/etc/senders
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_error_sleep_time = 0
$extra
EOC
	printf 'postmaster x\nalice x\nbob x\n' >"$d/etc/recipients"
	printf 'alice@lab.test alice@lab.test\nbob@lab.test bob@lab.test\n' >"$d/etc/senders"
	{
		echo "$addr:25 inet n - n - - smtpd"
		echo "$addr:587 inet n - n - - smtpd -o smtpd_sasl_auth_enable=yes $subopts"
		echo "$addr:465 inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes $subopts"
		grep -v '^smtp *inet' /etc/postfix/master.cf | sed -e 's/^\([a-z]* *unix *[-n] *[-n] *\)y/\1n/'
	} >"$d/etc/master.cf"
	mkdir -p "$d/spool"
	chown postfix "$d/lib"
	in_srv postfix -c "$d/etc" post-install create-missing >"$d/start.out" 2>&1 || return 1
	in_srv postfix -c "$d/etc" start >>"$d/start.out" 2>&1 || return 1
}

lab_setup() {
	LAB=$(mktemp -d /tmp/bcaud.XXXXXX) || return 1
	chmod 0755 "$LAB"
	lab_net || return 1
	lab_cert || return 1
	lab_dovecot
	# Hardened: TLS before AUTH, TLS >= 1.2, no aNULL/eNULL/kRSA, sender
	# ownership enforced, submission requires AUTH, VRFY off, plain banner.
	lab_postfix pfhard "$LAB_HARD" "mynetworks = 127.0.0.0/8
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_exclude_ciphers = aNULL, eNULL, kRSA
smtpd_tls_mandatory_exclude_ciphers = aNULL, eNULL, kRSA
smtpd_sender_restrictions = reject_sender_login_mismatch
disable_vrfy_command = yes
smtpd_banner = \$myhostname ESMTP" \
		"-o smtpd_tls_security_level=encrypt -o smtpd_relay_restrictions=permit_sasl_authenticated,reject" || return 1
	# Weak: AUTH in cleartext, TLS 1.0 at security level 0, relay for the
	# auditor's network, no sender ownership check, VRFY on, versioned banner.
	lab_postfix pfweak "$LAB_WEAK" "mynetworks = 127.0.0.0/8, 198.18.0.0/24
smtpd_sasl_auth_enable = yes
smtpd_tls_auth_only = no
tls_config_file = none
tls_low_cipherlist = ALL:@SECLEVEL=0
smtpd_tls_ciphers = low
smtpd_tls_mandatory_ciphers = low
smtpd_tls_protocols = >=TLSv1
smtpd_tls_mandatory_protocols = >=TLSv1
disable_vrfy_command = no
smtpd_banner = \$myhostname ESMTP \$mail_name (Debian/GNU)" "" || return 1
	lab_wait "$LAB_HARD" 25 && lab_wait "$LAB_HARD" 587 && lab_wait "$LAB_HARD" 465 &&
		lab_wait "$LAB_WEAK" 25 && lab_wait "$LAB_WEAK" 587 && lab_wait "$LAB_WEAK" 465
}

# Wait until ADDR:PORT accepts connections from the auditor (10 s).
lab_wait() {
	i=0
	while [ $i -lt 50 ]; do
		in_cli bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
		sleep 0.2
		i=$((i + 1))
	done
	echo "# $1:$2 never came up"
	return 1
}

# Start the hostile fake SMTP server on $LAB_FAKE:2525.
lab_fake() {
	ip netns exec "$LAB_SRV" python3 "$LAB_DIR/fake_smtp.py" "$LAB_FAKE" 2525 \
		>/dev/null 2>&1 &
	LAB_PIDS="$LAB_PIDS $!"
	lab_wait "$LAB_FAKE" 2525
}

# A stand-in for a ban system: once the weak Postfix has logged N SASL
# failures from SRC, drop SRC's traffic to the weak server's mail ports
# with an nftables rule in the server namespace.
lab_ban_watch() {
	src=$1 n=$2
	(
		while :; do
			c=$(grep -cF "[$src]: SASL PLAIN authentication failed" \
				"$LAB/pfweak/maillog" 2>/dev/null)
			if [ "${c:-0}" -ge "$n" ]; then
				in_srv nft -f - <<EON
table inet bcaudt {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr $src ip daddr $LAB_WEAK tcp dport { 25, 465, 587 } drop
	}
}
EON
				exit 0
			fi
			sleep 0.2
		done
	) &
	LAB_PIDS="$LAB_PIDS $!"
}

lab_cleanup() {
	for n in pfhard pfweak; do
		[ -f "${LAB:-/nonexistent}/$n/etc/main.cf" ] &&
			in_srv postfix -c "$LAB/$n/etc" stop >/dev/null 2>&1
	done
	for p in $LAB_PIDS; do
		kill "$p" 2>/dev/null
	done
	# Postfix masters by their pid files (started by us).
	for n in pfhard pfweak; do
		f=${LAB:-/nonexistent}/$n/spool/pid/master.pid
		[ -f "$f" ] && kill "$(tr -d ' ' <"$f")" 2>/dev/null
	done
	sleep 0.3
	ip netns del "$LAB_SRV" 2>/dev/null
	ip netns del "$LAB_CLI" 2>/dev/null
	[ -n "${LAB:-}" ] && [ "${KEEP_LAB:-}" != 1 ] && rm -rf "$LAB"
	return 0
}
