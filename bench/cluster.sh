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
#   4. a burst of BURST attackers (default 10,000, at most 13,750) x 5
#      failures written at once: time to the BURST decision records in
#      etcd and to every kernel holding them (rule bans per second), and
#      where the time went; the same burst (other addresses) against the
#      one coordinator, to every kernel, at most 60 s;
#   5. coordinator intake of batched reports (bench_intake) in cluster
#      mode on this etcd, beside the same coordinator alone.
# Prints a table: figure, measured, goal, reference (one coordinator).
# A figure that cannot be measured is said so and the bench exits 1; a
# goal missed is printed as missed (the exit status stays 0).
# Env: B, NSP (default bcc), ATTACKERS, KILLS, BURST, CLUSTER_TTL (1s),
# TXN_OPS (max_txn_ops and etcd's --max-txn-ops; default 128), PARTS
# (the figures to measure, default "1 2 3 4 5").
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
[ "$BURST" -le 13750 ] || { echo "BURST: at most 13750"; exit 1; }
PARTS=${PARTS:-1 2 3 4 5}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

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
	echo "max_txn_ops = $TXN_OPS" >>"$WORK/c$n.ini"
	# the agents of the one-coordinator reference: a state and mail log
	# of their own, so nothing they leave unread reaches the cluster
	sed -e "s|^coordinator *=.*|coordinator     = tcp://198.18.0.1:7710|" \
		-e "s|^updates *=.*|updates         = tcp://198.18.0.1:7711|" \
		-e "s|^state_dir *=.*|state_dir       = state-mx$n-one|" \
		-e "s|^path *= *mx$n-mail.log|path = mx$n-one-mail.log|" \
		"$WORK/mx$n.ini" >"$WORK/mx$n-one.ini"
	mkdir -p "$WORK/state-mx$n-one"
	: >"$WORK/mx$n-one-mail.log"
done

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
import os, subprocess, sys, threading, time, statistics
nsp, work, n, base, phase, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
sfx = os.environ.get("LOGSFX", "")   # mxN-one-mail.log: the one coordinator's agents
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
    with open(f"{work}/{mx}{sfx}-mail.log", "a") as f:
        f.write("".join(lines(mx, a) + lines(mx, a) for a in addrs))
time.sleep(3.0)
lat, wall = [], {}
for addr in addrs:
    t0 = time.monotonic()
    wall[addr] = time.time() * 1000
    with open(f"{work}/mx1{sfx}-mail.log", "a") as f:
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
# the deciding coordinator logs "ban ADDR ..." once the ban is applied
# (with etcd: committed and back through its watch), before publishing
import datetime, glob, re
logged = {}
for fn in glob.glob(f"{work}/c[0-9].log" if base == 20 else f"{work}/coordinator.log"):
    for line in open(fn, errors="replace"):
        m = re.match(r"(\S+)Z \S+ info: ban (\S+) for ", line)
        if m and m.group(2) in wall:
            t = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
            logged[m.group(2)] = t - wall[m.group(2)]
if logged:
    d = sorted(logged.values())
    print(f"  {phase}: of which log line -> ban applied by the deciding coordinator (its log, 1 ms steps): median {statistics.median(d):.1f} ms, p99 {d[min(len(d) - 1, int(round(0.99 * (len(d) - 1))))]:.1f} ms")
lat.sort()
p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
print(f"  {phase}: log line on mx1 -> in all 3 kernels, {n} attackers: median {statistics.median(lat):.2f} ms, p99 {p99:.2f} ms, max {lat[-1]:.2f} ms")
with open(out, "w") as f: f.write(f"{statistics.median(lat):.2f} {p99:.2f} {lat[-1]:.2f}\n")
PY
}

# burst_run MODE BASE OUT WAIT: python writes the lines (attacker k is
# 198.19.(BASE + k / 250).(1 + k % 250), its five failures spread over
# the three MX as test_cluster.sh's burst), then samples in threads, each
# as fast as its command answers: each MX's fleet4 (nft list) and, MODE
# three, etcd's seq (etcdctl); then (three) reads from etcd when the
# coordinators received each report (event batches) and the decisions'
# txns. Prints the stages and a timeline; OUT gets "MADE RATE
# COMMIT_RATE KERNEL_MS KERNEL_MIN" ("-": not reached within WAIT s).
burst_run() {
	python3 - "$NSP" "$WORK" "$BURST" "$(etcd_ns 1)" "$ETCDCTL_BIN" "$ETCD_EP" "$ETCD_CA" "$ETCD_CERT" "$ETCD_KEY" \
		"$3" "$1" "$2" "$4" <<'PY'
import os, re, subprocess, sys, threading, time
nsp, work, burst, etcdns, ctl, ep, ca, cert, key, out, mode, base, wait = sys.argv[1:14]
burst, base, wait, three = int(burst), int(base), float(wait), mode == "three"
env = dict(os.environ, ETCDCTL_API="3")
def run(cmd):
    try: return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=10).stdout
    except subprocess.TimeoutExpired: return ""
import json
nblk = (burst + 249) // 250
pat = re.compile(r"198\.19\.(?:%s)\.[0-9]+" % "|".join(str(base + i) for i in range((burst + 249) // 250)))
samples = {"seq": [], "mx1": [], "mx2": [], "mx3": []}
procs = []
def stream(name, cmd):
    # each new address of the burst stamped when its line arrives: the
    # figures are at most a pipe's delay late, never early; no polling
    # (polling nft list and etcdctl took a third of both cores)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
    procs.append(p)
    got = set()
    for line in p.stdout:
        if name != "seq" and "fleet4" not in line: continue
        if name == "seq" and "/d/198.19." not in line: continue
        new = [a for a in pat.findall(line) if a not in got]
        if new:
            got.update(new)
            samples[name].append((time.monotonic(), len(got)))
if three:
    threading.Thread(target=stream, daemon=True, args=("seq", ["ip", "netns", "exec", etcdns, ctl, "--endpoints", ep,
        "--cacert", ca, "--cert", cert, "--key", key, "watch", "--prefix", "/bancluster/bancluster/d/198.19."])).start()
for mx in ("mx1", "mx2", "mx3"):
    threading.Thread(target=stream, daemon=True, args=(mx, ["ip", "netns", "exec", f"{nsp}-{mx}", "nft", "monitor",
        "new", "elements"])).start()
time.sleep(1.5)
pid = 5000000
ts = time.strftime("%b %e %H:%M:%S")
buf = {1: [], 2: [], 3: []}
for k in range(burst):
    for j in range(1, 6):
        m = (k + j) % 3 + 1
        pid += 1
        buf[m].append(f"{ts} mx{m} postfix/submission/smtpd[{pid}]: warning: unknown[198.19.{base + k // 250}.{1 + k % 250}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n")
text = {m: "".join(v) for m, v in buf.items()}
t0, wall0 = time.monotonic(), time.time() * 1000
for m in (1, 2, 3):
    with open(f"{work}/mx{m}{os.environ.get('LOGSFX', '')}-mail.log", "a") as f: f.write(text[m])
tw = time.monotonic()
def first(name, at_least):
    for t, v in list(samples[name]):
        if v >= at_least: return t
    return None
while time.monotonic() - t0 < wait:
    time.sleep(0.2)
    if (not three or first("seq", burst)) and all(first(mx, burst) for mx in ("mx1", "mx2", "mx3")): break
for p in procs: p.kill()
ms = lambda t: "-" if t is None else f"{(t - t0) * 1000:.0f} ms"
last = lambda n: samples[n][-1][1] if samples[n] else 0
print(f"  {5 * burst} lines written in {(tw - t0) * 1000:.0f} ms; timed by etcdctl watch and nft monitor as each address arrives")
if three: print(f"  decisions in etcd (the burst's records): first {ms(first('seq', 1))}, half {ms(first('seq', burst // 2))}, all {burst} {ms(first('seq', burst))} ({last('seq')} made)")
tk = [first(mx, burst) for mx in ("mx1", "mx2", "mx3")]
print(f"  {mode} coordinator{'s' if three else ''}: kernels: all {burst} in mx1 {ms(tk[0])}, mx2 {ms(tk[1])}, mx3 {ms(tk[2])}")
if not three:
    tk = [first(mx, burst) for mx in ("mx1", "mx2", "mx3")]
    with open(out, "w") as f:
        kall = f"{(max(tk) - t0) * 1000:.0f}" if all(tk) else "-"
        made = min(last(mx) for mx in ("mx1", "mx2", "mx3"))
        rate = burst / (max(tk) - t0) if all(tk) else made / (time.monotonic() - t0)
        f.write(f"{made} {rate:.0f} - {kall} {made}\n")
    sys.exit(0)
print("  timeline (ms after the write: the burst's decisions in etcd / in mx1's kernel):")
row, nxt = [], 0.0
step = max(0.5, (samples["seq"][-1][0] - t0) / 24) if samples["seq"] else 0.5
for t, v in samples["seq"]:
    if t - t0 < nxt: continue
    nxt = t - t0 + step
    k1 = max([x for u, x in samples["mx1"] if u <= t] or [0])
    row.append(f"{(t - t0) * 1000:.0f}: {v}/{k1}")
for i in range(0, len(row), 6): print("    " + "   ".join(row[i:i + 6]))
# where the time went, from etcd: each event batch holds the time its
# coordinator received each report; each decision record its creation
# time, and the txn that wrote it is its mod_revision
import base64, json, struct
def kvs(prefix):
    o = run(["ip", "netns", "exec", etcdns, ctl, "--endpoints", ep, "--cacert", ca, "--cert", cert,
             "--key", key, "--command-timeout", "10s", "get", "--prefix", prefix, "-w", "json"])
    try: return json.loads(o).get("kvs", [])
    except ValueError: return []
reps = []   # (recv_ms, node, agent, burst events)
for kv in kvs("/bancluster/bancluster/ev/"):
    v = base64.b64decode(kv["value"])
    if v[:4] not in (b"BCE1", b"BCE2"): continue
    v2 = v[:4] == b"BCE2"
    nl = v[4]; node = v[5:5 + nl].decode(); off = 5 + nl
    while off < len(v):
        al = v[off]; agent = v[off + 1:off + 1 + al].decode(); off += 1 + al
        recv, row, rid, n = struct.unpack_from("<qqqI", v, off); off += 28
        addrs = []   # the IPv4 addresses of the report's events
        if v2:
            nbytes = struct.unpack_from("<I", v, off)[0]; off += 4
            o, end = off, off + nbytes
            while o < end:   # flags, kind, zigzag LEB128 time, address
                six = v[o] == 1; o += 2
                while v[o] & 0x80: o += 1
                o += 1
                if not six: addrs.append(v[o:o + 4])
                o += 16 if six else 4
            off = end
        else:
            addrs = [v[off + i * 26 + 10:off + i * 26 + 14] for i in range(n) if v[off + i * 26] == 4]
            off += n * 26
        nb = sum(1 for a in addrs if a[:2] == bytes([198, 19]) and base <= a[2] < base + (burst + 249) // 250)
        if nb: reps.append((recv, node, agent, nb))
rel = lambda w: f"+{w - wall0:.0f}"
if reps:
    reps.sort()
    print(f"  intake, from etcd's event batches: {len(reps)} reports with {sum(r[3] for r in reps)} of the burst's events, received by the coordinators at (ms after the write):")
    print("    " + ", ".join(f"{r[2]}->{r[1]} {rel(r[0])} ({r[3]})" for r in reps[:24]) + (" ..." if len(reps) > 24 else ""))
txns = {}
for kv in kvs(f"/bancluster/bancluster/d/198.19."):
    try: d = json.loads(base64.b64decode(kv["value"]))
    except ValueError: continue
    third = d.get("a", "0.0.0.0").split(".")
    if len(third) != 4 or not base <= int(third[2]) < base + (burst + 249) // 250: continue
    txns.setdefault(int(kv["mod_revision"]), []).append(d.get("c", 0))
if txns:
    tl = sorted((min(c), len(c)) for c in txns.values())
    gaps = sorted(((tl[i][0] - tl[i - 1][0], tl[i - 1][0]) for i in range(1, len(tl))), reverse=True)[:3]
    print(f"  decisions, from etcd's records: {sum(n for _, n in tl)} in {len(tl)} txns (at most {max(n for _, n in tl)} a txn); created {rel(tl[0][0])} .. {rel(tl[-1][0])} ms;"
          f" longest pauses between txns: " + ", ".join(f"{g:.0f} ms after {rel(t)}" for g, t in gaps))
ts_ = first("seq", burst)
with open(out, "w") as f:
    # MADE RATE COMMIT_RATE KERNEL_MS KERNEL_MIN ("-": not reached in 120 s;
    # then RATE is what was made per second of the whole wait)
    made, tend = last("seq"), time.monotonic()
    rate = burst / (ts_ - t0) if ts_ else made / (tend - t0)
    first_c = first("seq", 1)
    crate = f"{burst / (ts_ - first_c):.0f}" if ts_ and first_c and ts_ > first_c else "-"
    kall = f"{(max(tk) - t0) * 1000:.0f}" if all(tk) else "-"
    f.write(f"{made} {rate:.0f} {crate} {kall} {min(last(mx) for mx in ('mx1', 'mx2', 'mx3'))}\n")
PY
}

# ---- the reference: one coordinator without etcd (figures 1 and 4) --------
part 4 || BURST=0
if part 1 || [ "$BURST" -gt 0 ]; then
	echo
	echo "reference: one coordinator without etcd"
	start_coord
	for i in 1 2 3; do start_agent_ini "$i" "$WORK/mx$i-one.ini"; done
	if ! wait_for 20 agents_synced; then
		cannot "agents did not sync with one coordinator"
	else
		if part 1; then
			echo "1. log line on one MX -> ban in every kernel"
			LOGSFX=-one latency "one coordinator, no etcd" 10 "$WORK/lat-one" || cannot "latency with one coordinator"
		fi
		if [ "$BURST" -gt 0 ]; then
			echo "4. burst: $BURST attackers x 5 failures written at once (at most 60 s)"
			LOGSFX=-one burst_run one 200 "$WORK/burst-one" 60
		fi
	fi
	stop_agents
	stop_pid "$COORD_PID"
	echo
	echo "three coordinators on etcd"
fi

# ---- 1b. three coordinators on etcd -------------------------------------------
for n in 1 2 3; do start_cnode $n; done
has_leader() { [ -n "$(leader_node)" ]; }
wait_for 15 has_leader || { cannot "no coordinator leads after 15 s"; exit 1; }
for i in 1 2 3; do start_agent "$i"; done
wait_for 20 agents_synced || { cannot "agents did not sync with three coordinators"; exit 1; }
if part 1; then
	echo "1. log line on one MX -> ban in every kernel"
	latency "three coordinators, etcd" 20 "$WORK/lat-three" || cannot "latency with three coordinators"
	one=$(cat "$WORK/lat-one" 2>/dev/null)
	three=$(cat "$WORK/lat-three" 2>/dev/null)
	[ -n "$one" ] || one="- - -"
	[ -n "$three" ] || three="- - -"
	row "log line -> every kernel, median ($N attackers)" "$(echo "$three" | cut -d' ' -f1) ms" "" "$(echo "$one" | cut -d' ' -f1) ms" ""
	p99=$(echo "$three" | cut -d' ' -f2)
	row "log line -> every kernel, p99" "$p99 ms" "<= 20 ms" "$(echo "$one" | cut -d' ' -f2) ms" "$(goal_ok "$p99" "<=" 20)"
fi

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
# log_ms FILE PATTERN: the time (ms) of the last line of FILE matching
# PATTERN (the daemons' ISO UTC timestamps)
log_ms() {
	_l=$(grep -- "$2" "$1" 2>/dev/null | tail -1 | cut -d' ' -f1)
	[ -n "$_l" ] && date -d "$_l" +%s%3N
}
# four failures of ADDR, two on mx2, two on mx3 (its 5th goes to mx1)
four() { fail 2 "$1"; fail 3 "$1"; fail 2 "$1"; fail 3 "$1"; }

# ---- 2. kill -9 of the leading coordinator -------------------------------------
part 2 || K2=0
echo
part 2 && echo "2. kill -9 of the leading coordinator -> the next ban in every kernel (lease_ttl $CLUSTER_TTL)"
: >"$WORK/kill-coord"
r=1
while [ "$r" -le "${K2:-$K}" ]; do
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
		nl=$(leader_node)
		tl=$(log_ms "$WORK/c$nl.log" "cluster: c$nl leads")
		tb=$(log_ms "$WORK/c$nl.log" "info: ban $a ")
		how=""
		[ -n "$tl" ] && [ -n "$tb" ] && [ "$tl" -ge "$t0" ] &&
			how="; c$nl leads after $((tl - t0)) ms (its log), applies the ban $((tb - tl)) ms later"
		echo "  kill $r: c$L killed -> $a in all 3 kernels: $((t1 - t0)) ms$how"
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
part 3 || K3=0
part 3 && echo && echo "3. kill -9 of etcd's raft leader member -> the next ban in every kernel"
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
while [ "$r" -le "${K3:-$K}" ]; do
	EL=$(etcd_leader) || { cannot "no etcd leader before kill $r"; break; }
	a=198.19.31.$r
	four "$a"
	sleep 1
	t0=$(now_ms)
	etcd_kill "$EL"
	fail 1 "$a"
	if t1=$(wait_seen "$a" 15); then
		how=""
		for n in 1 2 3; do
			tn=$(log_ms "$WORK/c$n.log" "cluster: c$n no longer leads")
			[ -n "$tn" ] && [ "$tn" -ge "$t0" ] && how="; c$n lost the lead $((tn - t0)) ms after the kill"
		done
		if [ -n "$how" ]; then
			nl=$(leader_node)
			tl=$(log_ms "$WORK/c$nl.log" "cluster: c$nl leads")
			[ -n "$tl" ] && [ "$tl" -ge "$t0" ] && how="$how, c$nl leads again after $((tl - t0)) ms"
		fi
		echo "  kill $r: e$EL killed -> $a in all 3 kernels: $((t1 - t0)) ms$how"
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
if [ "$BURST" -gt 0 ]; then
	echo "4. burst: $BURST attackers x 5 failures written at once"
	burst_run three 100 "$WORK/burst" 120
	set -- $(cat "$WORK/burst-one" 2>/dev/null)
	ref1="-" ref2="-"
	if [ $# -eq 5 ]; then
		ref1="$2 /s" ref2="$4 ms"
		[ "$4" = - ] && ref1="$2 /s (only $1 in 60 s)" ref2="> 60 s"
	fi
	set -- $(cat "$WORK/burst" 2>/dev/null)
	if [ $# -ne 5 ]; then
		cannot "burst: no figures"
	else
		if [ "$1" -ge "$BURST" ]; then
			row "burst: rule bans/s, write -> $BURST in etcd (ref.: -> kernels)" "$2 /s" ">= 10000 /s" "$ref1" "$(goal_ok "$2" ">=" 10000)"
			row "burst: rule bans/s, first decision -> $BURST in etcd" "$3 /s" "" "-" ""
		else
			row "burst: rule bans/s (only $1 of $BURST in 120 s)" "$2 /s" ">= 10000 /s" "$ref1" "MISSED"
		fi
		if [ "$4" != - ]; then
			row "burst: write -> all $BURST in every kernel" "$4 ms" "" "$ref2" ""
		else
			row "burst: write -> all $BURST in every kernel" "> 120 s ($5 in the last)" "" "$ref2" ""
		fi
	fi
fi

# ---- 5. intake of one coordinator in cluster mode ------------------------------
# bench_intake's coordinator, once alone and once in cluster mode on this
# etcd (BC_BENCH_ETCD): batched reports, every drain's events put to
# etcd before the ack
if part 5; then
	echo
	echo "5. intake, batched reports (bench_intake), one coordinator vs cluster mode"
	if [ -x "$BIN/bench/bench_intake" ]; then
		# intake AGENTS [etcd]: events/s of bench_intake's batched reports
		intake() {
			if [ -n "${2:-}" ]; then
				BC_BENCH_AGENTS=$1 BC_BENCH_ETCD=$ETCD_EP BC_BENCH_ETCD_CERT=$ETCD_CERT \
					BC_BENCH_ETCD_KEY=$ETCD_KEY BC_BENCH_ETCD_CA=$ETCD_CA \
					ns coord "$BIN/bench/bench_intake" 2>&1
			else
				BC_BENCH_AGENTS=$1 ns coord "$BIN/bench/bench_intake" 2>&1
			fi | sed -n 's/^  batched reports of [0-9]* events[^:]*: *\([0-9]*\) events.*/\1/p'
		}
		# one agent has one report in flight: its rate is bounded by the
		# round trip (in cluster mode the etcd put before the ack); a
		# coordinator's intake is that of its fleet: 4 agents at once
		one=$(intake 1) one4=$(intake 4) cl=$(intake 1 etcd) cl4=$(intake 4 etcd)
		echo "  one agent: cluster ${cl:-?} ev/s, one coordinator ${one:-?} ev/s; 4 agents at once: cluster ${cl4:-?} ev/s, one coordinator ${one4:-?} ev/s"
		if [ -n "$cl" ] && [ -n "$one" ] && [ -n "$cl4" ] && [ -n "$one4" ]; then
			row "intake, batched reports, per coordinator (4 agents)" "$cl4 ev/s" ">= 326000" "$one4 ev/s" "$(goal_ok "$cl4" ">=" 326000)"
			row "intake, batched reports, one agent" "$cl ev/s" "" "$one ev/s" ""
		else
			cannot "bench_intake gave no figure (cluster '$cl' '$cl4', one '$one' '$one4')"
		fi
	else
		cannot "$BIN/bench/bench_intake not built (make bench)"
	fi
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
