#!/bin/sh
# detect_latency.sh - end to end on five agents: from the offending log
# line appended on mx1 (the 5th failure of an address, the other four
# already seen on mx2..mx5) to the ban being in the fleet4 set of all
# five kernels (nft monitor events), over N addresses (BANS, default 200).
# Two rounds in the same run:
#   1. empty kernel sets, no other traffic (the reference);
#   2. LOADED bans (default 1,000,000) present in the coordinator and in
#      every kernel, while BACKGROUND failures a second (default 10,000,
#      each from an address of its own, spread over the five MX) are
#      appended to the logs (issue 15's goal: p99 <= 10 ms).
# LOADED=0 runs the reference only.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/integration/lib.sh
NSP=bcl
BANS=${BANS:-200}
LOADED=${LOADED:-1000000}
BACKGROUND=${BACKGROUND:-10000}
fleet_init 5
mail_logs
start_coord
for i in 1 2 3 4 5; do start_agent "$i"; done
wait_for 15 agents_synced || { echo "agents did not sync"; exit 1; }


# measure ROUND BACKGROUND OUT: the latency over BANS attackers (addresses
# 203.0.(113 + 2 ROUND).x), BACKGROUND lines a second written meanwhile;
# prints its lines, OUT gets "median p99 max"
measure() {
	python3 - "$NSP" "$WORK" "$BANS" "$1" "$2" "$3" <<'PY'
import subprocess, sys, threading, time, statistics
nsp, work, n, rnd, bg, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
hosts = ["mx%d" % i for i in range(1, 6)]
seen, lock = {}, threading.Lock()
offs = {mx: 0 for mx in hosts}
# a stamper per MX: the kernel's nf_tables notifications on a raw
# netlink socket (NFNLGRP_NFTABLES), each attacker address (203.0.x.y as
# 4 bytes) stamped with CLOCK_MONOTONIC, the clock measured here. Not nft
# monitor: it reads the whole ruleset first, minutes with a million
# elements, and its buffer held a snapshot's notifications until the
# machine ran out of memory
STAMPER = r"""
import socket, sys, time
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)   # NETLINK_NETFILTER
s.bind((0, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.setsockopt(270, 1, 7)   # SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES
out = open(sys.argv[1], "a", buffering=1)
print("ready", flush=True)
while True:
    try: m = s.recv(1 << 20)
    except OSError:            # ENOBUFS: notifications dropped (said)
        out.write(f"{time.monotonic()} ENOBUFS\n")
        continue
    t, i = time.monotonic(), m.find(b"\xcb\x00")
    while i >= 0:
        if i + 4 <= len(m) and 113 <= m[i + 2] <= 125:
            out.write(f"{t} 203.0.{m[i + 2]}.{m[i + 3]}\n")
        i = m.find(b"\xcb\x00", i + 1)
"""
procs = []
for mx in hosts:
    open(f"{work}/seen-{mx}", "w").close()
    p = subprocess.Popen(["ip", "netns", "exec", f"{nsp}-{mx}", "python3", "-c", STAMPER, f"{work}/seen-{mx}"],
                         stdout=subprocess.PIPE, text=True)
    procs.append(p)
    if p.stdout.readline().strip() != "ready":
        print(f"  cannot measure: no netlink listener in {mx}"); sys.exit(1)
def stamps():
    # what the stampers wrote since the last look
    for mx in hosts:
        with open(f"{work}/seen-{mx}") as f:
            f.seek(offs[mx])
            data = f.read()
        end = data.rfind("\n") + 1
        offs[mx] += len(data[:end].encode())
        for ln in data[:end].splitlines():
            t, a = ln.split()
            seen.setdefault((mx, a), float(t))
pid = [20000 + 100000 * rnd]
files = {mx: open(f"{work}/{mx}-mail.log", "a") for mx in hosts}
flock = threading.Lock()
def line(mx, addr):
    pid[0] += 1
    return time.strftime("%b %e %H:%M:%S") + f" {mx} postfix/submission/smtpd[{pid[0]}]: warning: unknown[{addr}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n"
def fail(mx, addr):
    with flock:
        files[mx].write(line(mx, addr))
        files[mx].flush()
# background: every 10 ms, bg / 100 failures, each from an address of its
# own in 100.64.0.0/10 (counted, never banned), round robin over the MX
stop, bg_sent = threading.Event(), [0]
def background():
    k, t_next = 0, time.monotonic()
    while not stop.is_set():
        t_next += 0.01
        per = {mx: [] for mx in hosts}
        for _ in range(bg // 100):
            a = f"100.{64 + (k >> 16) % 64}.{(k >> 8) & 255}.{k & 255}"
            per[hosts[k % 5]].append(line(hosts[k % 5], a))
            k += 1
        with flock:
            for mx, v in per.items():
                if v:
                    files[mx].write("".join(v))
                    files[mx].flush()
        bg_sent[0] = k
        d = t_next - time.monotonic()
        if d > 0: time.sleep(d)
if bg > 0:
    bt = threading.Thread(target=background, daemon=True)
    bt.start()
    time.sleep(3.0)            # the background in full swing first
t_bg0, k0 = time.monotonic(), bg_sent[0]
lat, unstamped = [], [0]
for i in range(n):
    addr = f"203.0.{113 + 2 * rnd + i // 250}.{1 + i % 250}"
    for mx in hosts[1:]: fail(mx, addr)
    time.sleep(0.25)           # the four earlier failures reach the coordinator
    t0 = time.monotonic()
    fail("mx1", addr)          # the offending line
    deadline = t0 + 5
    while time.monotonic() < deadline:
        stamps()
        ts = [seen.get((mx, addr)) for mx in hosts]
        if all(ts): break
        time.sleep(0.001)
    else:
        # no stamp from some MX: the ban missing from its kernel, or its
        # notification lost (the listener's buffer overflowed): the set
        # itself says which
        missing = [mx for mx in hosts if not seen.get((mx, addr))]
        inset = {}
        for mx in missing:
            r = subprocess.run(["ip", "netns", "exec", f"{nsp}-{mx}", "nft", "get", "element",
                                "inet", "bancluster", "fleet4", "{ " + addr + " }"],
                               capture_output=True, text=True, timeout=120)
            inset[mx] = r.returncode == 0
        lost = [mx for mx in missing if any(k[0] == mx and k[1] == "ENOBUFS" for k in seen)]
        print(f"  {addr}: no notification within 5 s from {', '.join(missing)}; in the set: " +
              ", ".join(f"{mx} {'yes' if inset[mx] else 'NO'}" for mx in missing) +
              (f"; notifications dropped (ENOBUFS) on {', '.join(lost)}" if lost else ""))
        if all(inset.values()):
            unstamped[0] += 1  # banned, its time unknown: left out of the figures
            continue
        stop.set()
        for p in procs: p.kill()
        sys.exit(1)
    lat.append((max(ts) - t0) * 1000)
rate = (bg_sent[0] - k0) / (time.monotonic() - t_bg0)
stop.set()
for p in procs: p.kill()
if len(lat) < n // 2:
    print(f"  cannot measure: {unstamped[0]} of {n} bans without a notification"); sys.exit(1)
lat.sort()
p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
print(f"  median {statistics.median(lat):.2f}   p99 {p99:.2f}   max {lat[-1]:.2f}" +
      (f"   (background written: {rate:.0f} failures/s)" if bg else "") +
      (f"   ({unstamped[0]} banned without a notification: not counted)" if unstamped[0] else ""))
with open(out, "w") as f: f.write(f"{statistics.median(lat):.2f} {p99:.2f} {lat[-1]:.2f} {rate:.0f}\n")
PY
}

echo "log line on mx1 -> ban in the kernel sets of all 5 agents, $BANS bans (ms):"
echo " empty sets, no other traffic:"
measure 0 0 "$WORK/round0" || { stop_all >/dev/null; exit 1; }
rc=0
if [ "$LOADED" -gt 0 ]; then
	# LOADED bans written into the coordinator's store (10.x.y.z, every
	# other address, expiries a second apart: distinct kernel elements),
	# then every agent takes them in its snapshot
	kill "$COORD_PID"
	wait "$COORD_PID" 2>/dev/null
	python3 - "$WORK/coordinator.db" "$LOADED" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2]); now = int(time.time() * 1000)
def rows():
    for i in range(n):
        b = bytes([10, i >> 15 & 255, i >> 7 & 255, (i & 127) * 2])
        yield (".".join(map(str, b)), 4, b, 32, now, now + 3600_000 + (i % 3600) * 1000, "bench", "bench")
db.executemany("INSERT OR REPLACE INTO bans(addr, family, bin, plen, created_ms, expires_ms, reason, origin) VALUES(?,?,?,?,?,?,?,?)", rows())
db.commit()
PY
	t0=$(date +%s)
	start_coord
	if ! wait_for 300 agents_synced; then
		echo "agents did not take the $LOADED bans within 300 s"
		stop_all >/dev/null
		exit 1
	fi
	# the kernel's walk of a hash set it is still growing gives some
	# keys twice and others not at all (test_fw_nft): distinct keys are
	# counted, and the walk is made again (up to 10 times, 3 s apart)
	# until it gives every one
	count_fleet() {
		ns mx5 nft list set inet bancluster fleet4 |
			grep -o '10\.[0-9]*\.[0-9]*\.[0-9]*' | sort -u | wc -l
	}
	walks=1
	n=$(count_fleet)
	while [ "$n" -lt "$LOADED" ] && [ "$walks" -lt 10 ]; do
		sleep 3
		n=$(count_fleet)
		walks=$((walks + 1))
	done
	[ "$walks" -gt 1 ] && echo " (mx5's fleet4 walked $walks times: the kernel was still growing the set)"
	echo " $LOADED bans present ($n in mx5's fleet4, every agent synced $(( $(date +%s) - t0 )) s after the coordinator's start), $BACKGROUND failures/s of background:"
	if [ "$n" -lt "$LOADED" ]; then
		echo "  cannot measure: mx5 holds $n of $LOADED bans"
		rc=1
	elif measure 1 "$BACKGROUND" "$WORK/round1"; then
		set -- $(cat "$WORK/round0") $(cat "$WORK/round1")
		v=$(awk -v p="$6" 'BEGIN { print (p <= 10) ? "met" : "MISSED" }')
		echo " p99 with $LOADED bans and $8 failures/s: $6 ms (empty: $2 ms); goal <= 10 ms: $v"
	else
		rc=1
	fi
fi
echo "  (CrowdSec: ~1 s to push a decision plus its bouncer's 10 s poll)"
PASS=0; FAIL=0
stop_all >/dev/null
exit $rc
