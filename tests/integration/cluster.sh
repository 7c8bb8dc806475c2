# cluster.sh - a fleet with three coordinators on a three-member etcd
# cluster (docs/ha.md), for tests and `make demo-ha` (sourced after
# lib.sh and etcd.sh).
#
#   cluster_need_etcd  exit 0 (a SKIP line) when etcd is not installed
#   cluster_init N     fleet_init N (the MX and the attacker), namespaces
#                      c2, c3 (coordinators 2 and 3; 1 is lib.sh's
#                      "coord") and e1..e3 (etcd members) on the bridge,
#                      etcd with client-certificate TLS, started and
#                      healthy; config cN.ini per coordinator (one shared
#                      key, the same agents.d/admins.d, a database each),
#                      agents and cli.ini listing all three, cli-cN.ini
#                      for one coordinator alone
#   cluster_up         coordinators 1..3 started, a leader elected (15 s),
#                      agents 1..MXN started and in sync (20 s): checks
#   start_cnode N      coordinator N, pid in CPID_N, log cN.log
#   kill_cnode N [SIG] SIGKILL (or SIG) coordinator N by its pid
#   leader_node        the number of the leading coordinator (from etcd)
#   bcn N ARGS...      the CLI against coordinator N alone
#
# Addresses: coordinators 198.18.0.1..3, etcd members 198.18.0.21..23
# (client port 2379N, peer 2380N as etcd.sh has them).

cnode_ns() { if [ "$1" = 1 ]; then echo coord; else echo "c$1"; fi; }

# cluster_need_etcd: a test of cluster mode skips (exit 0) without etcd
cluster_need_etcd() {
	if [ ! -x "$ETCD_BIN" ]; then
		ok "# SKIP $ETCD_BIN missing (apt-get install etcd-server etcd-client, or make deps)"
		exit 0
	fi
}

cluster_init() {
	fleet_init "$1"
	host_add c2 198.18.0.2 fd00::2
	host_add c3 198.18.0.3 fd00::3
	host_add e1 198.18.0.21 fd00::21
	host_add e2 198.18.0.22 fd00::22
	host_add e3 198.18.0.23 fd00::23
	ETCD_HOSTS="$NSP-e1:198.18.0.21 $NSP-e2:198.18.0.22 $NSP-e3:198.18.0.23"
	etcd_init || return 1
	etcd_start_all
	etcd_wait_healthy 30 || { note "etcd not healthy in 30 s"; return 1; }
	_eps="tcp://198.18.0.1:7710, tcp://198.18.0.2:7710, tcp://198.18.0.3:7710"
	_ups="tcp://198.18.0.1:7711, tcp://198.18.0.2:7711, tcp://198.18.0.3:7711"
	for _n in 1 2 3; do
		cat >"$WORK/c$_n.ini" <<INI
[coordinator]
listen      = tcp://198.18.0.$_n:7710
publish     = tcp://198.18.0.$_n:7711
key         = coordinator.key
agents_dir  = agents.d
admins_dir  = admins.d
database    = c$_n.db
metrics_file = c$_n.prom
[policy]
maxretry = ${CLUSTER_MAXRETRY:-5}
[cluster]
etcd      = $ETCD_EP
etcd_cert = $ETCD_CERT
etcd_key  = $ETCD_KEY
etcd_ca   = $ETCD_CA
name      = c$_n
advertise = tcp://198.18.0.$_n:7710
lease_ttl = ${CLUSTER_TTL:-1s}
INI
		sed "s|^coordinator *=.*|coordinator     = tcp://198.18.0.$_n:7710|" \
			"$WORK/cli.ini" >"$WORK/cli-c$_n.ini"
	done
	sed -i "s|^coordinator *=.*|coordinator     = $_eps|" "$WORK/cli.ini"
	_i=1
	while [ "$_i" -le "$MXN" ]; do
		sed -i -e "s|^coordinator *=.*|coordinator     = $_eps|" \
			-e "s|^updates *=.*|updates         = $_ups|" "$WORK/mx$_i.ini"
		_i=$((_i + 1))
	done
	# etcd.sh's cleanup (its pids, its dir) runs with lib.sh's
	trap 'etcd_cleanup; fleet_cleanup' EXIT
}

cluster_has_leader() { [ -n "$(leader_node)" ]; }

cluster_up() {
	for _n in 1 2 3; do start_cnode "$_n"; done
	check "a leader is elected" wait_for 15 cluster_has_leader
	_i=1
	while [ "$_i" -le "$MXN" ]; do
		start_agent "$_i"
		_i=$((_i + 1))
	done
	check "the $MXN agents are in sync" wait_for 20 agents_synced
}

start_cnode() {
	ip netns exec "$NSP-$(cnode_ns "$1")" "$BIN/bancluster-coordinator" \
		-c "$WORK/c$1.ini" >>"$WORK/c$1.log" 2>&1 &
	eval "CPID_$1=$!"
	PIDS="$PIDS $!"
}

kill_cnode() {
	eval "_p=\${CPID_$1:-}"
	[ -n "$_p" ] || return 1
	kill "-${2:-KILL}" "$_p" 2>/dev/null
	case "${2:-KILL}" in KILL | TERM) wait "$_p" 2>/dev/null ;; esac
	return 0
}

bcn() {
	_n=$1
	shift
	ns "$(cnode_ns "$_n")" "$BIN/bancluster" -c "$WORK/cli-c$_n.ini" "$@"
}

# the leading coordinator's number, from PREFIX/leader ("" when none)
leader_node() {
	etcdctl_ get --print-value-only /bancluster/bancluster/leader 2>/dev/null |
		sed -n 's/^c\([0-9]\)$/\1/p'
}
