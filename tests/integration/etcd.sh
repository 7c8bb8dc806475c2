# etcd.sh - a throwaway three-member etcd cluster with client-certificate
# TLS, for tests (sourced; lib.sh is not needed but may be sourced too).
#
#   etcd_init            temp dir ($ETCD_DIR), CA + server + client certs
#                        (openssl, EC P-256, valid 2 days), the namespace
#   etcd_start_all       start the three members (etcd_start N each)
#   etcd_wait_healthy S  every member answers a health check within S s
#   etcd_start N / etcd_kill N   member N (1..3): start (again, on its
#                        data dir) / kill -9, by its recorded PID only
#   etcd_run CMD...      run CMD where the members' addresses reach
#   etcdctl_ CMD...      etcdctl with the client certificate, every member
#   etcd_cleanup         kill -9 the PIDs started here, delete the namespace
#                        made here, remove $ETCD_DIR (unless KEEP is set)
#
# By default the members run in one private network namespace,
# "$NSP-etcd" (NSP: the caller's prefix, as in lib.sh), on 127.0.0.1,
# client ports 23791..23793 and peer ports 23801..23803: nothing collides
# with another test or with an etcd of the host on 2379/2380. To put
# member N on an existing host of lib.sh instead, set ETCD_HOSTS to three
# "NAMESPACE:ADDRESS" words before etcd_init (e.g. "$NSP-e1:198.18.0.21
# ..."); the ports stay the same. Timings are the tuned ones of docs/ha.md:
# --heartbeat-interval=50 --election-timeout=500. ETCD_EXTRA (optional):
# more flags for every member, split on blanks (e.g. --max-txn-ops=1024).
#
# Set after etcd_init: ETCD_EP (client URLs, comma-separated), ETCD_EP_N,
# ETCD_CA, ETCD_CERT, ETCD_KEY (the client's), ETCD_PID_N, ETCD_PIDS.
# The caller installs the trap (trap etcd_cleanup EXIT, or calls it from
# its own cleanup).

: "${NSP:=bct}"
ETCD_BIN=${ETCD_BIN:-/usr/bin/etcd}
ETCDCTL_BIN=${ETCDCTL_BIN:-/usr/bin/etcdctl}
ETCD_PIDS=""
ETCD_OWN_NS=""

etcd_host() { # etcd_host N: "namespace address" of member N
	if [ -n "${ETCD_HOSTS:-}" ]; then
		# shellcheck disable=SC2086
		set -- "$1" $ETCD_HOSTS
		_h=""
		eval "_h=\${$(($1 + 1))}"
		echo "${_h%%:*} ${_h#*:}"
	else
		echo "$NSP-etcd 127.0.0.1"
	fi
}

etcd_ns() { etcd_host "$1" | cut -d' ' -f1; }
etcd_addr() { etcd_host "$1" | cut -d' ' -f2; }

etcd_certs() {
	_d=$ETCD_DIR/pki
	mkdir -p "$_d"
	_san="IP:127.0.0.1,DNS:localhost"
	for _i in 1 2 3; do
		_a=$(etcd_addr $_i)
		case "$_san" in *"IP:$_a,"* | *"IP:$_a") ;; *) _san="$_san,IP:$_a" ;; esac
	done
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=bancluster test CA $NSP" -keyout "$_d/ca.key" -out "$_d/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || return 1
	# server: also the peers' client certificate (serverAuth + clientAuth)
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n' \
		"$_san" >"$_d/server.ext"
	printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' >"$_d/client.ext"
	for _n in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/CN=bancluster-test-$_n" -keyout "$_d/$_n.key" -out "$_d/$_n.csr" 2>/dev/null &&
			openssl x509 -req -in "$_d/$_n.csr" -CA "$_d/ca.pem" -CAkey "$_d/ca.key" \
				-CAcreateserial -days 2 -extfile "$_d/$_n.ext" -out "$_d/$_n.pem" 2>/dev/null ||
			return 1
	done
	ETCD_CA=$_d/ca.pem
	ETCD_CERT=$_d/client.pem
	ETCD_KEY=$_d/client.key
}

etcd_init() {
	ETCD_DIR=$(mktemp -d /tmp/bc-etcd.XXXXXX)
	etcd_certs || { echo "# etcd_init: openssl could not make the certificates"; return 1; }
	if [ -z "${ETCD_HOSTS:-}" ]; then
		ip netns del "$NSP-etcd" 2>/dev/null
		ip netns add "$NSP-etcd" || return 1
		ETCD_OWN_NS="$NSP-etcd"
		ip netns exec "$NSP-etcd" ip link set lo up
	fi
	ETCD_EP=""
	_cl=""
	for _i in 1 2 3; do
		_a=$(etcd_addr $_i)
		eval "ETCD_EP_$_i=https://$_a:$((23790 + _i))"
		ETCD_EP="${ETCD_EP:+$ETCD_EP,}https://$_a:$((23790 + _i))"
		_cl="${_cl:+$_cl,}e$_i=https://$_a:$((23800 + _i))"
	done
	ETCD_CLUSTER=$_cl
}

# etcd_start N: member N in its namespace; ip netns exec execs etcd in
# place, so $! is etcd's own PID
etcd_start() {
	_a=$(etcd_addr "$1")
	_p=$ETCD_DIR/pki
	ip netns exec "$(etcd_ns "$1")" "$ETCD_BIN" --name "e$1" --data-dir "$ETCD_DIR/e$1" \
		--listen-client-urls "https://$_a:$((23790 + $1))" \
		--advertise-client-urls "https://$_a:$((23790 + $1))" \
		--listen-peer-urls "https://$_a:$((23800 + $1))" \
		--initial-advertise-peer-urls "https://$_a:$((23800 + $1))" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new \
		--initial-cluster-token "bc-test-$NSP" \
		--heartbeat-interval=50 --election-timeout=500 \
		--cert-file "$_p/server.pem" --key-file "$_p/server.key" \
		--trusted-ca-file "$_p/ca.pem" --client-cert-auth \
		--peer-cert-file "$_p/server.pem" --peer-key-file "$_p/server.key" \
		--peer-trusted-ca-file "$_p/ca.pem" --peer-client-cert-auth \
		--logger zap --log-outputs stderr --log-level warn ${ETCD_EXTRA:-} \
		>>"$ETCD_DIR/e$1.log" 2>&1 &
	eval "ETCD_PID_$1=$!"
	ETCD_PIDS="$ETCD_PIDS $!"
}

etcd_start_all() {
	etcd_start 1
	etcd_start 2
	etcd_start 3
}

etcd_kill() {
	eval "_pid=\${ETCD_PID_$1:-}"
	[ -n "$_pid" ] && kill -9 "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	eval "ETCD_PID_$1="
}

etcd_run() { ip netns exec "$(etcd_ns 1)" "$@"; }

etcdctl_() {
	ETCDCTL_API=3 etcd_run "$ETCDCTL_BIN" --endpoints "$ETCD_EP" --cacert "$ETCD_CA" \
		--cert "$ETCD_CERT" --key "$ETCD_KEY" --dial-timeout 2s --command-timeout 3s "$@"
}

# etcd_wait_healthy SECONDS: 0 when every member (ETCD_PID_N set) is healthy
etcd_wait_healthy() {
	_end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$_end" ]; do
		_eps=""
		for _i in 1 2 3; do
			_ep=""
			eval "_pid=\${ETCD_PID_$_i:-}"
			eval "_ep=\$ETCD_EP_$_i"
			[ -n "$_pid" ] && _eps="${_eps:+$_eps,}$_ep"
		done
		if ETCDCTL_API=3 etcd_run "$ETCDCTL_BIN" --endpoints "$_eps" --cacert "$ETCD_CA" \
			--cert "$ETCD_CERT" --key "$ETCD_KEY" --dial-timeout 1s --command-timeout 2s \
			endpoint health >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

etcd_cleanup() {
	for _pid in $ETCD_PIDS; do kill -9 "$_pid" 2>/dev/null; done
	for _pid in $ETCD_PIDS; do wait "$_pid" 2>/dev/null; done
	ETCD_PIDS=""
	[ -n "$ETCD_OWN_NS" ] && ip netns del "$ETCD_OWN_NS" 2>/dev/null
	ETCD_OWN_NS=""
	[ -n "${ETCD_DIR:-}" ] && [ -z "${KEEP:-}" ] && rm -rf "$ETCD_DIR"
	ETCD_DIR=""
}
