#!/bin/sh
# detect_latency.sh - end to end on five agents: from the offending log
# line appended on mx1 (the 5th failure of an address, the other four
# already seen on mx2..mx5) to the ban being in the fleet4 set of all
# five kernels (nft monitor events), over N addresses (BANS, default 200).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/integration/lib.sh
NSP=bcl
BANS=${BANS:-200}
fleet_init 5
mail_logs
start_coord
for i in 1 2 3 4 5; do start_agent "$i"; done
wait_for 15 agents_synced || { echo "agents did not sync"; exit 1; }
python3 - "$NSP" "$WORK" "$BANS" <<'PY'
import subprocess, sys, threading, time, statistics
nsp, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
hosts = ["mx%d" % i for i in range(1, 6)]
seen, lock = {}, threading.Lock()
def watch(mx):
    p = subprocess.Popen(["ip", "netns", "exec", f"{nsp}-{mx}", "nft", "monitor", "new", "elements"],
                         stdout=subprocess.PIPE, text=True, bufsize=1)
    for line in p.stdout:
        t = time.monotonic()
        if "fleet4" not in line: continue
        for tok in line.replace("{", " ").replace("}", " ").replace(",", " ").split():
            if tok.count(".") == 3:
                with lock: seen.setdefault((mx, tok), t)
for mx in hosts: threading.Thread(target=watch, args=(mx,), daemon=True).start()
time.sleep(1.0)
pid = [20000]
def fail(mx, addr):
    pid[0] += 1
    with open(f"{work}/{mx}-mail.log", "a") as f:
        f.write(time.strftime("%b %e %H:%M:%S") + f" {mx} postfix/submission/smtpd[{pid[0]}]: warning: unknown[{addr}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n")
lat = []
for i in range(n):
    addr = f"203.0.{113 if i < 250 else 114}.{1 + i % 250}"
    for mx in hosts[1:]: fail(mx, addr)
    time.sleep(0.25)           # the four earlier failures reach the coordinator
    t0 = time.monotonic()
    fail("mx1", addr)          # the offending line
    deadline = t0 + 5
    while time.monotonic() < deadline:
        with lock: ts = [seen.get((mx, addr)) for mx in hosts]
        if all(ts): break
        time.sleep(0.0002)
    else:
        print(f"{addr}: not banned on all five within 5 s"); sys.exit(1)
    lat.append((max(ts) - t0) * 1000)
lat.sort()
p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
print(f"log line on mx1 -> ban in the kernel sets of all 5 agents, {n} bans (ms):")
print(f"  median {statistics.median(lat):.2f}   p99 {p99:.2f}   max {lat[-1]:.2f}")
print( "  (CrowdSec: ~1 s to push a decision plus its bouncer's 10 s poll)")
PY
rc=$?
PASS=0; FAIL=0
stop_all >/dev/null
exit $rc
