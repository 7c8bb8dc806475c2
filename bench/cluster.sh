#!/bin/sh
# cluster.sh - the figures of cluster mode (docs/ha.md, issue 13), on
# three etcd members (client-certificate TLS, tuned timings), three
# coordinators and three agents with real nftables, all in network
# namespaces (tests/integration/cluster.sh):
#   1. log line on one MX -> ban in every kernel (nft monitor on each MX),
#      over ATTACKERS (default 200): the four earlier failures of every
#      attacker are written first (on mx2, mx3), then each attacker's 5th
#      on mx1, one at a time: median, p99, max; the same against ONE
#      coordinator without etcd (lib.sh's) in the same run, as reference;
#   2. kill -9 of the leading coordinator -> the next ban in every kernel
#      (an attacker's 5th failure written right after the kill), KILLS
#      times (default 5), the killed coordinator restarted in between;
#   3. kill -9 of etcd's raft leader member -> the next ban in every
#      kernel, KILLS times, the member restarted in between;
#   4. a burst of BURST attackers (default 10,000) x 5 failures written
#      at once: time to etcd's seq +BURST and to every kernel holding
#      them; rule bans committed per second, and where the time went.
# Prints a table: figure, measured, goal, reference (one coordinator).
# A figure that cannot be measured is said so and the bench exits 1; a
# goal missed is printed as missed (the exit status stays 0).
# Env: B, NSP (default bcc), ATTACKERS, KILLS, BURST, CLUSTER_TTL (1s),
# TXN_OPS (max_txn_ops and etcd's --max-txn-ops; default 128).
set -u
cd "$(dirname "$0")/.." || exit 1
NSP=${NSP:-bcc}
. tests/integration/lib.sh
. tests/integration/etcd.sh
. tests/integration/cluster.sh
N=${ATTACKERS:-200}
K=${KILLS:-5}
BURST=${BURST:-10000}
CLUSTER_TTL=${CLUSTER_TTL:-1s}
TXN_OPS=${TXN_OPS:-128}

if [ ! -x "$ETCD_BIN" ]; then
	echo "cannot measure: $ETCD_BIN missing (apt-get install etcd-server etcd-client, or make deps)"
	exit 1
fi
[ "$TXN_OPS" != 128 ] && ETCD_EXTRA="--max-txn-ops=$TXN_OPS"
RES=""   # rows of the table: figure|measured|goal|reference|verdict
BAD=0    # figures that could not be measured
row() { RES="$RES$1|$2|$3|$4|$5
"; }
cannot() { echo "cannot measure: $*"; BAD=$((BAD + 1)); }
now_ms() { date +%s%3N; }
# goal_ok VALUE OP GOAL: met / missed (numbers, awk compares)
goal_ok() { awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN {
	if (v == "") { print "not measured"; exit }
	ok = (op == "<=") ? v + 0 <= g + 0 : v + 0 >= g + 0
	print ok ? "met" : "MISSED" }'; }
# stats FILE: "median max" of one number a line
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END {
	if (NR == 0) exit 1
	m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "%d %d\n", m, v[NR] }'; }

echo "set-up: 3 etcd members (TLS, heartbeat 50 ms, election 500 ms), 3 coordinators (lease_ttl $CLUSTER_TTL, max_txn_ops $TXN_OPS), 3 agents"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
T_START=$(date +%s)
cluster_init 3 || { cannot "cluster set-up"; exit 1; }
mail_logs
for n in 1 2 3; do
	sed -i "/^\[coordinator\]/a metrics_listen = 127.0.0.1:9310" "$WORK/c$n.ini"
	echo "max_txn_ops = $TXN_OPS" >>"$WORK/c$n.ini"
	# the agents of the one-coordinator reference
	sed -e "s|^coordinator *=.*|coordinator     = tcp://198.18.0.1:7710|" \
		-e "s|^updates *=.*|updates         = tcp://198.18.0.1:7711|" \
		"$WORK/mx$n.ini" >"$WORK/mx$n-one.ini"
done
sed -i "/^\[coordinator\]/a metrics_listen = 127.0.0.1:9310" "$WORK/coordinator.ini"

# start_agent_ini N INI: agent of mxN on INI (lib.sh's start_agent uses mxN.ini)
start_agent_ini() {
	ip netns exec "$NSP-mx$1" "$BIN/bancluster-agent" -c "$2" >>"$WORK/mx$1.log" 2>&1 &
	eval "AGENT_PID_$1=$!"
	PIDS="$PIDS $!"
}
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
stop_agents() { for i in 1 2 3; do eval "stop_pid \$AGENT_PID_$i"; done; }

# latency PHASE BASE OUT: figure 1 (python: writes the lines, watches the
# three kernels with nft monitor); OUT gets "median p99 max" in ms
latency() {
	python3 - "$NSP" "$WORK" "$N" "$2" "$1" "$3" <<'PY'
import subprocess, sys, threading, time, statistics
nsp, work, n, base, phase, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
hosts = ["mx1", "mx2", "mx3"]
seen, lock, procs = {}, threading.Lock(), []
def watch(mx):
    p = subprocess.Popen(["ip", "netns", "exec", f"{nsp}-{mx}", "nft", "monitor", "new", "elements"],
                         stdout=subprocess.PIPE, text=True, bufsize=1)
    procs.append(p)
    for line in p.stdout:
        t = time.monotonic()
        if "fleet4" not in line: continue
        for tok in line.replace("{", " ").replace("}", " ").replace(",", " ").split():
            if tok.count(".") == 3:
                with lock: seen.setdefault((mx, tok), t)
for mx in hosts: threading.Thread(target=watch, args=(mx,), daemon=True).start()
time.sleep(1.0)
pid = [base * 100000]
addrs = [f"198.19.{base + i // 250}.{1 + i % 250}" for i in range(n)]
def lines(mx, addr):
    pid[0] += 1
    return time.strftime("%b %e %H:%M:%S") + f" {mx} postfix/submission/smtpd[{pid[0]}]: warning: unknown[{addr}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n"
# the four earlier failures of every attacker, two on mx2, two on mx3
for mx in ("mx2", "mx3"):
    with open(f"{work}/{mx}-mail.log", "a") as f:
        f.write("".join(lines(mx, a) + lines(mx, a) for a in addrs))
time.sleep(3.0)
lat = []
for addr in addrs:
    t0 = time.monotonic()
    with open(f"{work}/mx1-mail.log", "a") as f:
        f.write(lines("mx1", addr))      # the 5th: the offending line
    deadline = t0 + 5
    while time.monotonic() < deadline:
        with lock: ts = [seen.get((mx, addr)) for mx in hosts]
        if all(ts): break
        time.sleep(0.0002)
    else:
        print(f"{phase}: {addr} not banned on all three MX within 5 s")
        sys.exit(1)
    lat.append((max(ts) - t0) * 1000)
    time.sleep(0.01)
for p in procs: p.terminate()
lat.sort()
p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
print(f"  {phase}: log line on mx1 -> in all 3 kernels, {n} attackers: median {statistics.median(lat):.2f} ms, p99 {p99:.2f} ms, max {lat[-1]:.2f} ms")
with open(out, "w") as f: f.write(f"{statistics.median(lat):.2f} {p99:.2f} {lat[-1]:.2f}\n")
PY
}

# ---- 1a. the reference: one coordinator without etcd ------------------------
echo
echo "1. log line on one MX -> ban in every kernel"
start_coord
for i in 1 2 3; do start_agent_ini "$i" "$WORK/mx$i-one.ini"; done
if wait_for 20 agents_synced; then
	latency "one coordinator, no etcd" 10 "$WORK/lat-one" || cannot "latency with one coordinator"
else
	cannot "agents did not sync with one coordinator"
fi
stop_agents
stop_pid "$COORD_PID"

# ---- 1b. three coordinators on etcd -------------------------------------------
for n in 1 2 3; do start_cnode $n; done
has_leader() { [ -n "$(leader_node)" ]; }
wait_for 15 has_leader || { cannot "no coordinator leads after 15 s"; exit 1; }
for i in 1 2 3; do start_agent "$i"; done
if wait_for 20 agents_synced; then
	latency "three coordinators, etcd" 20 "$WORK/lat-three" || cannot "latency with three coordinators"
else
	cannot "agents did not sync with three coordinators"
fi
one=$(cat "$WORK/lat-one" 2>/dev/null)
three=$(cat "$WORK/lat-three" 2>/dev/null)
row "log line -> every kernel, median" "$(echo "$three" | cut -d' ' -f1) ms" "" "$(echo "$one" | cut -d' ' -f1) ms" ""
p99=$(echo "$three" | cut -d' ' -f2)
row "log line -> every kernel, p99" "$p99 ms" "<= 20 ms" "$(echo "$one" | cut -d' ' -f2) ms" "$(goal_ok "$p99" "<=" 20)"

# a watcher for figures 2 and 3: "TIME_MS MX ADDR" for each element added
# to fleet4 on each MX (nft monitor), in $SEEN
SEEN=$WORK/seen
: >"$SEEN"
python3 - "$NSP" "$SEEN" <<'PY' &
import subprocess, sys, threading, time
nsp, out = sys.argv[1], sys.argv[2]
f, lock = open(out, "a"), threading.Lock()
def watch(mx):
    p = subprocess.Popen(["ip", "netns", "exec", f"{nsp}-{mx}", "nft", "monitor", "new", "elements"],
                         stdout=subprocess.PIPE, text=True, bufsize=1)
    for line in p.stdout:
        t = time.time_ns() // 1000000
        if "fleet4" not in line: continue
        for tok in line.replace("{", " ").replace("}", " ").replace(",", " ").split():
            if tok.count(".") == 3:
                with lock:
                    f.write(f"{t} {mx} {tok}\n"); f.flush()
ts = [threading.Thread(target=watch, args=(mx,), daemon=True) for mx in ("mx1", "mx2", "mx3")]
for t in ts: t.start()
for t in ts: t.join()
PY
WATCH_PID=$!
PIDS="$PIDS $WATCH_PID"
sleep 1
# seen_all ADDR: the time (ms) ADDR was in the last of the three kernels
seen_all() {
	awk -v a="$1" '$3 == a && !($2 in m) { m[$2] = 1; c++; if ($1 > t) t = $1 }
		END { if (c == 3) print t }' "$SEEN"
}
# wait_seen ADDR SECONDS: print seen_all once it is known
wait_seen() {
	_end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -le "$_end" ]; do
		_t=$(seen_all "$1")
		[ -n "$_t" ] && { echo "$_t"; return 0; }
		sleep 0.02
	done
	return 1
}
# four failures of ADDR, two on mx2, two on mx3 (its 5th goes to mx1)
four() { fail 2 "$1"; fail 3 "$1"; fail 2 "$1"; fail 3 "$1"; }

# ---- 2. kill -9 of the leading coordinator -------------------------------------
echo
echo "2. kill -9 of the leading coordinator -> the next ban in every kernel (lease_ttl $CLUSTER_TTL)"
: >"$WORK/kill-coord"
r=1
while [ "$r" -le "$K" ]; do
	L=$(leader_node)
	[ -n "$L" ] || { wait_for 10 has_leader; L=$(leader_node); }
	[ -n "$L" ] || { cannot "no leader before kill $r"; break; }
	a=198.19.30.$r
	four "$a"
	sleep 1
	t0=$(now_ms)
	kill_cnode "$L"
	fail 1 "$a"
	if t1=$(wait_seen "$a" 15); then
		echo "  kill $r: c$L killed -> $a in all 3 kernels: $((t1 - t0)) ms (now c$(leader_node) leads)"
		echo $((t1 - t0)) >>"$WORK/kill-coord"
	else
		cannot "kill $r: $a not in every kernel 15 s after c$L was killed"
	fi
	start_cnode "$L"
	wait_for 15 sh -c "ip netns exec $NSP-$(cnode_ns "$L") $BIN/bancluster -c $WORK/cli-c$L.ini status >/dev/null 2>&1" ||
		cannot "c$L did not answer 15 s after its restart"
	sleep 2 # the agents reconnect to it
	r=$((r + 1))
done
if s=$(stats "$WORK/kill-coord"); then
	m=${s% *} x=${s#* }
	row "kill -9 leading coordinator -> ban, median" "$m ms" "" "-" ""
	row "kill -9 leading coordinator -> ban, max ($(grep -c . "$WORK/kill-coord") kills)" "$x ms" "<= 1000 ms" "-" "$(goal_ok "$x" "<=" 1000)"
fi

# ---- 3. kill -9 of etcd's raft leader member ----------------------------------
echo
echo "3. kill -9 of etcd's raft leader member -> the next ban in every kernel"
etcd_leader() {
	for _i in 1 2 3; do
		eval "_ep=\$ETCD_EP_$_i"
		if etcd_run "$ETCDCTL_BIN" --endpoints "$_ep" --cacert "$ETCD_CA" --cert "$ETCD_CERT" \
			--key "$ETCD_KEY" endpoint status 2>/dev/null | awk -F', ' '{print $5}' | grep -q true; then
			echo "$_i"
			return 0
		fi
	done
	return 1
}
: >"$WORK/kill-etcd"
r=1
while [ "$r" -le "$K" ]; do
	EL=$(etcd_leader) || { cannot "no etcd leader before kill $r"; break; }
	a=198.19.31.$r
	four "$a"
	sleep 1
	t0=$(now_ms)
	etcd_kill "$EL"
	fail 1 "$a"
	if t1=$(wait_seen "$a" 15); then
		echo "  kill $r: e$EL killed -> $a in all 3 kernels: $((t1 - t0)) ms"
		echo $((t1 - t0)) >>"$WORK/kill-etcd"
	else
		cannot "kill $r: $a not in every kernel 15 s after e$EL was killed"
	fi
	etcd_start "$EL"
	etcd_wait_healthy 30 || cannot "etcd not healthy 30 s after e$EL restarted"
	sleep 2 # the coordinators' watches and leases settle
	r=$((r + 1))
done
if s=$(stats "$WORK/kill-etcd"); then
	m=${s% *} x=${s#* }
	row "kill -9 etcd leader member -> ban, median" "$m ms" "" "-" ""
	row "kill -9 etcd leader member -> ban, max ($(grep -c . "$WORK/kill-etcd") kills)" "$x ms" "<= 2000 ms" "-" "$(goal_ok "$x" "<=" 2000)"
fi
stop_pid "$WATCH_PID"

# ---- 4. a burst of BURST attackers x 5 failures ----------------------------------
echo
echo "4. burst: $BURST attackers x 5 failures written at once"
cseq() { etcdctl_ get --print-value-only /bancluster/bancluster/seq 2>/dev/null; }
# metric NAME: the sum over the three coordinators of NAME's samples
metric() {
	for _n in 1 2 3; do
		ns "$(cnode_ns $_n)" curl -s -m 1 http://127.0.0.1:9310/metrics 2>/dev/null
	done | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $2 } END { printf "%d\n", s }'
}
# in_kernel MX: burst addresses (198.19.100.0 and up) in mxN's fleet4
in_kernel() {
	ns "mx$1" nft list set inet bancluster fleet4 2>/dev/null |
		grep -o '198\.19\.1[0-9][0-9]\.[0-9]*' | wc -l
}
S0=$(cseq)
E0=$(metric bancluster_coordinator_events_total)
C0=$(metric bancluster_coordinator_cluster_commits_total)
P0=$(metric bancluster_coordinator_cluster_event_puts_total)
[ -n "$S0" ] || { cannot "etcd's seq"; S0=0; }
want=$((S0 + BURST))
T0=$(now_ms)
awk -v n="$BURST" -v w="$WORK" -v ts="$(date '+%b %e %H:%M:%S')" 'BEGIN {
	pid = 5000000
	for (k = 0; k < n; k++)
		for (j = 1; j <= 5; j++) {
			m = (k + j) % 3 + 1
			printf "%s mx%d postfix/submission/smtpd[%d]: warning: unknown[198.19.%d.%d]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n", ts, m, pid++, 100 + int(k / 250), 1 + k % 250 >> (w "/mx" m "-mail.log")
		}
}'
TW=$(now_ms)
t_ev="" t_seq="" t_k1="" t_k2="" t_k3="" seq=""
end=$((T0 + 120000))
while [ "$(now_ms)" -lt "$end" ]; do
	t=$(now_ms)
	if [ -z "$t_ev" ]; then
		e=$(metric bancluster_coordinator_events_total)
		[ $((e - E0)) -ge $((BURST * 5)) ] && t_ev=$t
	fi
	if [ -z "$t_seq" ]; then
		seq=$(cseq)
		[ -n "$seq" ] && [ "$seq" -ge "$want" ] && t_seq=$t
	fi
	for i in 1 2 3; do
		eval "_d=\$t_k$i"
		if [ -z "$_d" ] && [ "$(in_kernel $i)" -ge "$BURST" ]; then
			eval "t_k$i=\$(now_ms)"
		fi
	done
	[ -n "$t_seq" ] && [ -n "$t_k1" ] && [ -n "$t_k2" ] && [ -n "$t_k3" ] && break
	sleep 0.1
done
E1=$(metric bancluster_coordinator_events_total)
C1=$(metric bancluster_coordinator_cluster_commits_total)
P1=$(metric bancluster_coordinator_cluster_event_puts_total)
echo "  the $((BURST * 5)) lines written in $((TW - T0)) ms"
if [ -n "$t_ev" ]; then
	echo "  all $((BURST * 5)) events counted by the coordinators' intake (sum of events_total): $((t_ev - T0)) ms"
else
	echo "  events counted by the coordinators' intake: $((E1 - E0)) of $((BURST * 5))"
fi
echo "  event batches put to etcd: $((P1 - P0)); decision txns: $((C1 - C0)) ($(awk -v b="$BURST" -v c=$((C1 - C0)) 'BEGIN { if (c > 0) printf "%.1f", b / c; else print "-" }') bans a txn)"
if [ -n "$t_seq" ]; then
	rate=$((BURST * 1000 / (t_seq - T0 > 0 ? t_seq - T0 : 1)))
	echo "  etcd seq $S0 -> $seq: $((t_seq - T0)) ms after the write: $rate bans/s"
	row "burst: rule bans committed/s ($BURST, write -> seq +$BURST)" "$rate /s" ">= 10000 /s" "-" "$(goal_ok "$rate" ">=" 10000)"
else
	cannot "burst: etcd seq reached $seq of $want in 120 s"
fi
if [ -n "$t_k1" ] && [ -n "$t_k2" ] && [ -n "$t_k3" ]; then
	tk=$t_k1
	[ "$t_k2" -gt "$tk" ] && tk=$t_k2
	[ "$t_k3" -gt "$tk" ] && tk=$t_k3
	krate=$((BURST * 1000 / (tk - T0)))
	echo "  all $BURST in the 3 kernels: $((tk - T0)) ms after the write (mx1 $((t_k1 - T0)), mx2 $((t_k2 - T0)), mx3 $((t_k3 - T0)) ms; polled every 0.1 s + nft list): $krate bans/s"
	row "burst: write -> all $BURST in every kernel" "$((tk - T0)) ms ($krate /s)" "" "-" ""
else
	cannot "burst: not every kernel holds the $BURST bans after 120 s ($(in_kernel 1), $(in_kernel 2), $(in_kernel 3))"
fi

# ---- the table ------------------------------------------------------------------
echo
echo "cluster figures ($N attackers, $K kills each, burst $BURST; load average now $(cut -d' ' -f1-3 /proc/loadavg); $(($(date +%s) - T_START)) s):"
printf '  %-58s %-18s %-12s %-18s %s\n' figure measured goal "one coordinator" ""
printf '%s' "$RES" | while IFS='|' read -r f m g ref v; do
	printf '  %-58s %-18s %-12s %-18s %s\n' "$f" "$m" "$g" "$ref" "$v"
done
PASS=0
FAIL=0
stop_all >/dev/null
[ "$BAD" -eq 0 ]
