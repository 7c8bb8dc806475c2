#!/bin/sh
# fleet.sh - end-to-end figures for the Foundation issue, on a fleet of
# network namespaces (tests/integration/lib.sh):
#   1. ban latency: from `bancluster ban` returning to the element being
#      in the fleet4 set of all three agents (nft monitor events), over
#      N bans (BANS, default 200): median and p99;
#   2. a 100,000-ban snapshot applied by a fresh agent;
#   3. agent and coordinator RSS at rest and with 100,000 bans.
# Side by side: fail2ban's one-nft-process-per-ban action and CrowdSec's
# 10 s bouncer poll (DESIGN.md figures, and `nft add element` measured here).
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/integration/lib.sh
NSP=bcb
BANS=${BANS:-200}
BIG=${BIG:-100000}

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }

fleet_init 3
start_coord
for i in 1 2 3; do start_agent "$i"; done
wait_for 10 agents_synced || { echo "agents did not sync"; exit 1; }
sleep 1
c_rss0=$(rss "$COORD_PID")
a_rss0=$(rss "$AGENT_PID_1")

python3 - "$NSP" "$BIN" "$WORK" "$BANS" <<'PY'
import subprocess, sys, threading, time, statistics
nsp, binp, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
seen = {}          # (mx, addr) -> monotonic time
lock = threading.Lock()
def watch(mx):
    p = subprocess.Popen(["ip", "netns", "exec", f"{nsp}-{mx}", "nft", "monitor", "new", "elements"],
                         stdout=subprocess.PIPE, text=True, bufsize=1)
    for line in p.stdout:
        t = time.monotonic()
        if "fleet4" not in line: continue
        for tok in line.replace("{", " ").replace("}", " ").replace(",", " ").split():
            if tok.count(".") == 3:
                with lock: seen.setdefault((mx, tok), t)
for mx in ("mx1", "mx2", "mx3"):
    threading.Thread(target=watch, args=(mx,), daemon=True).start()
time.sleep(1.0)
after, total = [], []
for i in range(n):
    addr = f"198.51.{100 + i // 250}.{1 + i % 250}"
    t0 = time.monotonic()
    subprocess.run(["ip", "netns", "exec", f"{nsp}-coord", f"{binp}/bancluster", "-c", f"{work}/cli.ini",
                    "ban", addr, "--for", "1h"], check=True, stdout=subprocess.DEVNULL)
    t1 = time.monotonic()
    deadline = t1 + 5
    while time.monotonic() < deadline:
        with lock:
            ts = [seen.get((mx, addr)) for mx in ("mx1", "mx2", "mx3")]
        if all(ts): break
        time.sleep(0.0002)
    else:
        print(f"ban {addr}: not on every agent within 5 s"); sys.exit(1)
    last = max(ts)
    after.append(max(0.0, last - t1) * 1000)
    total.append((last - t0) * 1000)
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
print(f"ban latency over {n} bans, 3 agents (ms):")
print(f"  {'':38} {'median':>8} {'p99':>8} {'max':>8}")
print(f"  {'CLI return -> in all 3 kernel sets':38} {statistics.median(after):8.2f} {pct(after,99):8.2f} {max(after):8.2f}")
print(f"  {'CLI start  -> in all 3 kernel sets':38} {statistics.median(total):8.2f} {pct(total,99):8.2f} {max(total):8.2f}")
print(f"  {'CrowdSec bouncer poll (shipped default)':38} {'~5000':>8} {'10000':>8}")
PY
rc=$?
[ "$rc" -eq 0 ] || exit "$rc"

# one nft process per ban, as fail2ban's nftables action does
ns mx1 nft add table inet f2b
ns mx1 nft add set inet f2b s '{ type ipv4_addr; flags timeout; }'
t0=$(date +%s%N)
for i in $(seq 1 50); do ns mx1 nft add element inet f2b s "{ 203.0.113.$i timeout 3h }"; done
t1=$(date +%s%N)
echo "  nft process per ban (fail2ban style), empty ruleset: $(( (t1 - t0) / 50000 )) us per ban"
ns mx1 nft delete table inet f2b

# 100,000 bans: written into the coordinator's store, then a fresh agent
echo
echo "snapshot of $BIG bans to a fresh agent:"
kill "$COORD_PID"; wait "$COORD_PID" 2>/dev/null
python3 - "$WORK/coordinator.db" "$BIG" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2]); now = int(time.time() * 1000)
rows = []
for i in range(n):
    # every other address, and expiries a second apart: 100,000 distinct
    # kernel elements (adjacent bans with one expiry would merge)
    b = bytes([10, i >> 15 & 255, i >> 7 & 255, (i & 127) * 2])
    rows.append((".".join(map(str, b)), 4, b, 32, now, now + 3600_000 + (i % 3600) * 1000, "bench", "bench"))
db.executemany("INSERT OR REPLACE INTO bans(addr, family, bin, plen, created_ms, expires_ms, reason, origin) VALUES(?,?,?,?,?,?,?,?)", rows)
db.commit()
PY
start_coord
# every agent resyncs on the new epoch; let them finish before timing mx3
wait_for 60 agents_synced
kill "$AGENT_PID_3"; wait "$AGENT_PID_3" 2>/dev/null
ns mx3 nft delete table inet bancluster
: >"$WORK/mx3.log"
t0=$(date +%s%N)
start_agent 3
wait_for 30 grep -q 'snapshot applied' "$WORK/mx3.log" || { echo "no snapshot"; cat "$WORK/mx3.log"; exit 1; }
t1=$(date +%s%N)
grep 'snapshot applied' "$WORK/mx3.log" | sed 's/^.*info: /  agent log: /'
echo "  agent start -> $BIG bans in the kernel: $(( (t1 - t0) / 1000000 )) ms (fail2ban restores bans one nft process each)"
n=$(ns mx3 nft list set inet bancluster fleet4 | grep -o '10\.[0-9]*\.[0-9]*\.[0-9]*' | wc -l)
echo "  addresses listed in mx3 fleet4 by nft: $n"
wait_for 10 agents_synced
sleep 1
echo
echo "resident memory (kB):        at rest   with $BIG bans"
echo "  coordinator               $(printf '%8s' "$c_rss0")   $(printf '%8s' "$(rss "$COORD_PID")")"
echo "  agent                     $(printf '%8s' "$a_rss0")   $(printf '%8s' "$(rss "$AGENT_PID_3")")"
FAIL=0
PASS=0
stop_all >/dev/null
