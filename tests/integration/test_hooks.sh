#!/bin/sh
# test_hooks.sh - Integrations: on_ban/on_unban programs get every change
# as JSON on stdin (manual ban, unban, rule ban; exact fields), a hook past
# hook_timeout is killed with what it started, a hook that is gone is
# logged and counted while bans still reach the kernel; the webhook POSTs
# the same JSON to a receiver in the coordinator's namespace, retries a
# 500, waits out a slow or dead receiver without slowing bans; GET
# /metrics (promtool-clean, the metrics_file's text) and /healthz on
# metrics_listen, strict answers to bad requests, a 100 KiB request line
# and many idle connections; the agent's resync counters over a 5 s
# coordinator outage.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || { echo "not ok - promtool missing (sh deploy/deps.sh)"; exit 1; }
command -v curl >/dev/null || { echo "not ok - curl missing (sh deploy/deps.sh)"; exit 1; }

fleet_init 1
mail_logs
mkdir -p "$WORK/hooks"
# the hook: its argv, then its stdin, into one file per run; its open
# descriptors and its environment as exec gave them beside it
cat >"$WORK/hook.sh" <<'PY'
#!/usr/bin/python3
import os, sys, time
f = "%s/hooks/%d.%d" % (os.path.dirname(os.path.abspath(sys.argv[0])), time.time_ns(), os.getpid())
fds = []
for fd in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        fds.append("%s -> %s" % (fd, os.readlink("/proc/self/fd/" + fd)))
    except OSError:
        pass
open(f + ".fds", "w").write("\n".join(fds) + "\n")
open(f + ".env", "wb").write(open("/proc/self/environ", "rb").read().replace(b"\0", b"\n"))
data = sys.stdin.buffer.read()
open(f + ".tmp", "wb").write(("%s\n" % " ".join(sys.argv[1:])).encode() + data)
os.rename(f + ".tmp", f + ".run")
PY
# a hook that outlives hook_timeout, with a child of its own
cat >"$WORK/slow.sh" <<'SH'
#!/bin/sh
echo $$ >"$(dirname "$0")/slow.pid"
sleep 30 &
echo $! >"$(dirname "$0")/slow.child"
wait
SH
cp "$WORK/hook.sh" "$WORK/gone.sh"
chmod +x "$WORK/hook.sh" "$WORK/slow.sh" "$WORK/gone.sh"
# the webhook receiver: MODE file says ok, slow (1.5 s before answering)
# or fail1 (500 to the first POST of each sequence); every POST is one
# JSON line in the log with the answer given
cat >"$WORK/receiver.py" <<'PY'
import http.server, json, sys, time
mode_file, log = sys.argv[1], sys.argv[2]
failed = set()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = open(mode_file).read().strip()
        code = 200
        if mode == "slow":
            time.sleep(1.5)
        if mode == "fail1":
            seq = json.loads(body)["sequence"]
            if seq not in failed:
                failed.add(seq)
                code = 500
        with open(log, "a") as f:
            f.write(json.dumps({"code": code, "path": self.path,
                                "ctype": self.headers.get("Content-Type"),
                                "ua": self.headers.get("User-Agent"),
                                "body": body.decode()}) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", 8080), H).serve_forever()
PY
echo ok >"$WORK/mode"
: >"$WORK/posts"
start_receiver() {
	ip netns exec "$NSP-coord" python3 "$WORK/receiver.py" "$WORK/mode" "$WORK/posts" >>"$WORK/receiver.log" 2>&1 &
	RECV_PID=$!
	PIDS="$PIDS $RECV_PID"
	wait_for 5 sh -c "ip netns exec $NSP-coord ss -ltn | grep -q '127.0.0.1:8080 '"
}
cat >>"$WORK/coordinator.ini" <<INI
[coordinator]
metrics_listen = 127.0.0.1:9310
metrics_file = coordinator.prom
on_ban = hook.sh
on_unban = hook.sh
hook_timeout = 2s
hook_max = 2
webhook = http://127.0.0.1:8080/bancluster
webhook_timeout = 3s
webhook_retries = 3
INI
printf '[agent]\nmetrics_file = state-mx1/mx1.prom\n' >>"$WORK/mx1.ini"

# --check-config refuses hooks that cannot run and bad endpoints
conf_refused() { # NAME LINE WANT
	sed "s|^$2\$|$3|" "$WORK/coordinator.ini" >"$WORK/bad.ini"
	out=$(ns coord "$BIN/bancluster-coordinator" -c "$WORK/bad.ini" --check-config 2>&1)
	rc=$?
	ln=$(grep -n "^$(echo "$3" | cut -d' ' -f1) " "$WORK/bad.ini" | tail -1 | cut -d: -f1)
	[ "$rc" = 1 ] && [ "$out" = "bancluster-coordinator: $WORK/bad.ini:$ln: [coordinator] $4" ]
	verdict "--check-config refuses $1 (exit $rc: $out)"
}
conf_refused "an on_ban that does not exist" "on_ban = hook.sh" "on_ban = nothere.sh" \
	"on_ban: \"$WORK/nothere.sh\": No such file or directory"
conf_refused "an on_unban that is not executable" "on_unban = hook.sh" "on_unban = receiver.py" \
	"on_unban: \"$WORK/receiver.py\": not executable: Permission denied"
conf_refused "a webhook that is not http(s)" "webhook = http://127.0.0.1:8080/bancluster" "webhook = ftp://x/y" \
	"webhook: \"ftp://x/y\": expected https://HOST/... or http://HOST/..."
conf_refused "a metrics_listen with a name" "metrics_listen = 127.0.0.1:9310" "metrics_listen = localhost:9310" \
	"metrics_listen: \"localhost:9310\": expected ADDRESS:PORT (127.0.0.1:9310, [::1]:9310; an address, not a name; port 1..65535)"
conf_refused "a metrics_listen without a port" "metrics_listen = 127.0.0.1:9310" "metrics_listen = 127.0.0.1" \
	"metrics_listen: \"127.0.0.1\": expected ADDRESS:PORT (127.0.0.1:9310, [::1]:9310; an address, not a name; port 1..65535)"

start_receiver
start_coord
start_agent 1
check "agent connects and syncs" wait_for 10 agents_synced

# ---- on_ban / on_unban: the JSON, field by field ----------------------
runs_at_least() { [ "$(ls "$WORK/hooks/"*.run 2>/dev/null | wc -l)" -ge "$1" ]; }
# nth_run N: the Nth run file (oldest first)
nth_run() { ls "$WORK/hooks/"*.run | sort | sed -n "${1}p"; }
REASON=$(printf 'Müller "q" back\\slash tab\tctl\001 bad\377 $(id) `id`')
out=$(bc ban 198.51.100.7 --for 1h --reason "$REASON")
SEQ=$(echo "$out" | sed -n 's/.*(seq \([0-9]*\)).*/\1/p')
check "manual ban: on_ban ran" wait_for 3 runs_at_least 1
R1=$(nth_run 1)
check "on_ban argv: ban ADDRESS" [ "$(head -1 "$R1")" = "ban 198.51.100.7" ]
# fields: exact values; the reason back byte for byte (UTF-8 kept,
# control characters escaped, the 0xff byte as U+FFFD)
jcheck() { # FILE PYTHON-ASSERTIONS (j = the JSON object)
	sed 1d "$1" | python3 -c '
import json, sys
raw = sys.stdin.read()
j = json.loads(raw)
exec(sys.argv[1])
' "$2"
}
jcheck "$R1" "
want = {'schema_version', 'action', 'address', 'prefix', 'family', 'origin', 'rule', 'signer', 'reason',
        'created', 'expires', 'time', 'sequence', 'epoch', 'cluster'}
assert set(j) == want, set(j) ^ want
assert j['action'] == 'ban' and j['address'] == '198.51.100.7' and j['prefix'] == 32 and j['family'] == 'ipv4'
assert j['origin'] == 'manual' and j['rule'] is None and j['signer'] == 'admin'
assert j['reason'] == 'Müller \"q\" back\\\\slash tab\\tctl\\x01 bad\\ufffd \$(id) \`id\`', repr(j['reason'])
assert j['sequence'] == $SEQ and j['cluster'] == 'bancluster' and j['schema_version'] == 1
import datetime
t = lambda s: datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%fZ')
d = (t(j['expires']) - t(j['created'])).total_seconds()
assert 3595 <= d <= 3600, d
assert raw.isascii() is False and '\\\\u0001' in raw and '\\\\t' in raw, raw
"
verdict "on_ban JSON of a manual ban: every field exact, UTF-8 kept, control bytes escaped"
note "hook's descriptors: $(tr '\n' ' ' <"${R1%.run}.fds")"
check "hook descriptors: stdin a pipe, stdout /dev/null, nothing else of the coordinator's" \
	sh -c "grep -q '^0 -> pipe:' ${R1%.run}.fds && grep -qx '1 -> /dev/null' ${R1%.run}.fds &&
	       [ \$(grep -vc '^[0-2] ' ${R1%.run}.fds) = 0 ] && ! grep -q 'socket:\\|coordinator.db' ${R1%.run}.fds"
check "hook environment: PATH alone" [ "$(cat "${R1%.run}.env")" = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]

out=$(bc unban 198.51.100.7)
USEQ=$(echo "$out" | sed -n 's/.*(seq \([0-9]*\)).*/\1/p')
check "unban: on_unban ran" wait_for 3 runs_at_least 2
R2=$(nth_run 2)
check "on_unban argv: unban ADDRESS" [ "$(head -1 "$R2")" = "unban 198.51.100.7" ]
jcheck "$R2" "
assert j['action'] == 'unban' and j['address'] == '198.51.100.7' and j['prefix'] == 32
assert j['origin'] == 'manual' and j['signer'] == 'admin' and j['rule'] is None and j['reason'] is None
assert j['sequence'] == $USEQ, (j['sequence'], '$USEQ')
"
verdict "on_unban JSON of an unban: action, origin, signer, no reason, its sequence"

# a rule ban from log lines; a /24 prefix ban shows address + prefix
for n in 1 2 3 4 5; do fail 1 203.0.113.9; done
check "rule ban reaches the kernel" wait_for 5 in_set 1 fleet4 203.0.113.9
check "rule ban: on_ban ran" wait_for 3 runs_at_least 3
R3=$(nth_run 3)
jcheck "$R3" "
assert j['action'] == 'ban' and j['address'] == '203.0.113.9' and j['prefix'] == 32
assert j['origin'] == 'rule' and j['rule'] == 'maxretry' and j['signer'] is None
assert j['reason'].startswith('5 weighted events from 1 host in '), j['reason']
"
verdict "on_ban JSON of a rule ban: origin rule, rule maxretry, no signer, the rule's reason"
bc ban 2001:db8:7::/48 --for 2h >/dev/null
check "prefix ban: on_ban ran" wait_for 3 runs_at_least 4
R4=$(nth_run 4)
[ "$(head -1 "$R4")" = "ban 2001:db8:7::/48" ] && jcheck "$R4" "
assert j['address'] == '2001:db8:7::' and j['prefix'] == 48 and j['family'] == 'ipv6'
"
verdict "prefix ban: argv ADDRESS/LEN, JSON address + prefix + family"

# ---- the webhook: the same JSON -----------------------------------------
posts_at_least() { [ "$(wc -l <"$WORK/posts")" -ge "$1" ]; }
check "webhook: four POSTs arrived" wait_for 5 posts_at_least 4
python3 - "$WORK/posts" "$R1" "$R3" <<'PY'
import json, sys
posts = [json.loads(l) for l in open(sys.argv[1])]
want = [open(f).read().split("\n", 1)[1] for f in sys.argv[2:]]
bodies = [p["body"] for p in posts]
assert all(w in bodies for w in want), "hook JSON not among the POST bodies"
assert all(p["ctype"] == "application/json" and p["path"] == "/bancluster" for p in posts)
assert all(p["ua"].startswith("bancluster-coordinator/") for p in posts), posts[0]["ua"]
PY
verdict "webhook bodies are the hooks' JSON byte for byte, Content-Type application/json"

# a receiver that answers 500 first: retried, then delivered
echo fail1 >"$WORK/mode"
out=$(bc ban 192.0.2.50 --for 1h)
S50=$(echo "$out" | sed -n 's/.*(seq \([0-9]*\)).*/\1/p')
# codes_of SEQ: the answers the receiver gave to the POSTs of SEQ
codes_of() { python3 -c '
import json, sys
print(" ".join(str(p["code"]) for p in map(json.loads, open(sys.argv[1]))
               if json.loads(p["body"])["sequence"] == int(sys.argv[2])))' "$WORK/posts" "$1"; }
codes_are() { [ "$(codes_of "$1")" = "$2" ]; }
check "500 then 200: the POST is retried after back-off" wait_for 4 codes_are "$S50" "500 200"
note "POST answers for seq $S50: $(codes_of "$S50")"
check "the retry is logged with its back-off" wait_for 3 grep -q "webhook: ban 192.0.2.50 seq $S50: HTTP 500; retry 1 of 3 in 1000 ms" "$WORK/coordinator.log"
check "delivered at attempt 2 is logged" wait_for 3 grep -q "webhook: ban 192.0.2.50 seq $S50 delivered (HTTP 200) at attempt 2" "$WORK/coordinator.log"

# a slow receiver: bans flow at their usual speed, the POST still arrives
echo slow >"$WORK/mode"
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
t0=$(date +%s%N)
bc ban 192.0.2.51 --for 1h >/dev/null
bc ban 192.0.2.52 --for 1h >/dev/null
check "receiver slow (1.5 s): ban reaches the kernel within 2 s" wait_for 2 in_set 1 fleet4 192.0.2.52
note "two bans with a slow receiver: in the kernel after $(ms_since "$t0") ms"
check "slow receiver gets its POSTs" wait_for 6 posts_at_least 8

# the receiver down: bans unaffected; retries deliver once it is back
echo ok >"$WORK/mode"
kill "$RECV_PID"
wait "$RECV_PID" 2>/dev/null
t0=$(date +%s%N)
out=$(bc ban 192.0.2.60 --for 1h)
S60=$(echo "$out" | sed -n 's/.*(seq \([0-9]*\)).*/\1/p')
check "receiver down: ban reaches the kernel within 2 s" wait_for 2 in_set 1 fleet4 192.0.2.60
note "receiver down: ban in the kernel after $(ms_since "$t0") ms"
check "receiver down: the failed attempt is logged, a retry planned" wait_for 3 grep -q "webhook: ban 192.0.2.60 seq $S60: .*; retry 1 of 3" "$WORK/coordinator.log"
start_receiver
check "receiver back: the change is delivered by a retry" wait_for 8 codes_are "$S60" 200
check "... and logged as delivered after retries" wait_for 2 grep -q "webhook: ban 192.0.2.60 seq $S60 delivered (HTTP 200) at attempt [2-4]" "$WORK/coordinator.log"

# ---- hooks that fail --------------------------------------------------
# past hook_timeout: killed, with its child; counted; bans flow
sed -i 's|^on_ban = hook.sh$|on_ban = slow.sh|' "$WORK/coordinator.ini"
kill -HUP "$COORD_PID"
wait_for 3 grep -q 'reloaded' "$WORK/coordinator.log"
t0=$(date +%s%N)
bc ban 192.0.2.70 --for 1h >/dev/null
check "slow hook: the ban reaches the kernel within 2 s" wait_for 2 in_set 1 fleet4 192.0.2.70
check "slow hook started" wait_for 3 test -s "$WORK/slow.child"
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" | cut -c1)" = Z ]; }
check "slow hook killed after hook_timeout (2 s)" wait_for 4 gone "$(cat "$WORK/slow.pid")"
note "slow hook gone after $(ms_since "$t0") ms"
check "... and the process it started too (process group)" wait_for 2 gone "$(cat "$WORK/slow.child")"
check "the kill is logged" wait_for 3 grep -q "on_ban $WORK/slow.sh 192.0.2.70: killed after [0-9]* ms (hook_timeout)" "$WORK/coordinator.log"

# a hook removed after start: logged, counted, decisions go on
sed -i 's|^on_ban = slow.sh$|on_ban = gone.sh|' "$WORK/coordinator.ini"
kill -HUP "$COORD_PID"
wait_for 3 sh -c "[ \$(grep -c reloaded $WORK/coordinator.log) -ge 2 ]"
rm "$WORK/gone.sh"
t0=$(date +%s%N)
bc ban 192.0.2.80 --for 1h >/dev/null
check "hook gone: the ban still reaches the kernel within 2 s" wait_for 2 in_set 1 fleet4 192.0.2.80
check "hook gone: logged with the reason" wait_for 2 grep -q "on_ban $WORK/gone.sh 192.0.2.80: cannot run: No such file or directory" "$WORK/coordinator.log"

# ---- GET /metrics and /healthz -----------------------------------------
URL=http://127.0.0.1:9310
hcurl() { ns coord curl -s --max-time 5 "$@"; }
metric() { hcurl "$URL/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
hdr=$(hcurl -D - -o "$WORK/metrics.txt" "$URL/metrics")
code=$(echo "$hdr" | head -1 | tr -d '\r')
check "GET /metrics: 200 ($code)" [ "$code" = "HTTP/1.1 200 OK" ]
check "GET /metrics: Content-Type of the text format 0.0.4" sh -c "echo '$hdr' | grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8'"
for m in bancluster_coordinator_bans_active bancluster_coordinator_agent_connected bancluster_coordinator_hooks_total \
	bancluster_coordinator_webhook_changes_total bancluster_coordinator_http_requests_total; do
	check "GET /metrics has $m" grep -q "^# TYPE $m " "$WORK/metrics.txt"
done
out=$(promtool check metrics <"$WORK/metrics.txt" 2>&1)
rc=$?
check "promtool check metrics passes on GET /metrics (exit $rc${out:+: $out})" [ "$rc" = 0 ]
check "counted: the slow hook as a timeout" [ "$(metric 'bancluster_coordinator_hooks_total{hook="on_ban",result="timeout"}')" = 1 ]
check "counted: the missing hook as not_run" [ "$(metric 'bancluster_coordinator_hooks_total{hook="on_ban",result="not_run"}')" = 1 ]
check "counted: on_unban ran once, ok" [ "$(metric 'bancluster_coordinator_hooks_total{hook="on_unban",result="ok"}')" = 1 ]
check "counted: webhook retries" [ "$(metric 'bancluster_coordinator_webhook_retries_total')" -ge 2 ]
# every change so far: the bans of .7, .9, the /48, .50, .51, .52, .60, .70,
# .80 and one unban, each delivered once (one lost delivery fails this)
check "counted: webhook changes delivered: all 10" [ "$(metric 'bancluster_coordinator_webhook_changes_total{result="delivered"}')" = 10 ]
# the metrics_file is the same text (values may have moved on)
check "metrics_file written" wait_for 12 test -s "$WORK/coordinator.prom"
check "metrics_file and GET /metrics carry the same series" sh -c "
	[ \"\$(grep -v '^#' $WORK/coordinator.prom | sed 's/ .*//' | sort)\" = \"\$(grep -v '^#' $WORK/metrics.txt | sed 's/ .*//' | sort)\" ] &&
	[ \"\$(grep '^#' $WORK/coordinator.prom)\" = \"\$(grep '^#' $WORK/metrics.txt)\" ]"
sed -n '/^## Example alert rules/,$p' "$TOP/docs/metrics.md" | sed -n '/^```yaml$/,/^```$/p' | sed '1d;$d' >"$WORK/rules.yml"
out=$(promtool check rules "$WORK/rules.yml" 2>&1)
rc=$?
check "promtool check rules passes on metrics.md's alert rules (exit $rc)" [ "$rc" = 0 ]
out=$(hcurl -i "$URL/healthz" | tr -d '\r')
check "GET /healthz: 200 ok" sh -c "echo '$out' | head -1 | grep -qx 'HTTP/1.1 200 OK' && echo '$out' | tail -1 | grep -qx ok"
# another process holds the database's write lock (a long transaction, a
# backup tool): /healthz says so at once instead of waiting for it
python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(2)
c.execute("ROLLBACK")' "$WORK/coordinator.db" "$WORK/locked" &
LOCKER=$!
wait_for 3 test -e "$WORK/locked"
t0=$(date +%s%N)
out=$(hcurl -i "$URL/healthz" | tr -d '\r')
ms=$(ms_since "$t0")
check "database locked by another process: /healthz 503 with the reason, in $ms ms" \
	sh -c "echo '$out' | head -1 | grep -qx 'HTTP/1.1 503 Service Unavailable' && echo '$out' | tail -1 | grep -qx 'store: database is locked' && [ $ms -lt 1000 ]"
wait "$LOCKER"
out=$(hcurl -i "$URL/healthz" | tr -d '\r')
check "lock released: /healthz 200 again" sh -c "echo '$out' | head -1 | grep -qx 'HTTP/1.1 200 OK'"

# strict answers: only the first line of each answer counts
cat >"$WORK/http.py" <<'PY'
import socket, sys, time
def ask(data, wait=5):
    s = socket.create_connection(("127.0.0.1", 9310), timeout=wait)
    try:
        s.sendall(data)
    except OSError:
        pass
    out = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
    except OSError as e:
        out += b"<" + str(e).encode() + b">"
    s.close()
    return out.split(b"\r\n")[0].decode(errors="replace")
cmd = sys.argv[1]
if cmd == "raw":
    print(ask(sys.argv[2].encode().decode("unicode_escape").encode("latin-1")))
elif cmd == "big":   # a request line of 100 KiB
    print(ask(b"GET /" + b"a" * 102400 + b" HTTP/1.1\r\n\r\n"))
elif cmd == "idle":  # N idle connections for S seconds; then who closed them
    n, secs = int(sys.argv[2]), float(sys.argv[3])
    cs = [socket.create_connection(("127.0.0.1", 9310)) for _ in range(n)]
    time.sleep(secs)
    closed = 0
    for c in cs:
        c.settimeout(0.2)
        try:
            if c.recv(1) == b"":
                closed += 1
        except OSError:
            pass
    print(closed)
PY
hraw() { ns coord python3 "$WORK/http.py" raw "$1"; }
check "request line without a version: 400" [ "$(hraw 'GET /metrics\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ]
check "garbage: 400" [ "$(hraw '\x16\x03\x01\x00\xa5\x01\x00')" = "HTTP/1.1 400 Bad Request" ]
check "lower-case method: 400" [ "$(hraw 'get /metrics HTTP/1.1\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ]
check "HTTP/2.0: 400" [ "$(hraw 'GET /metrics HTTP/2.0\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ]
check "a control byte in a header: 400" [ "$(hraw 'GET /metrics HTTP/1.1\r\nX: a\x01b\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ]
check "unknown path: 404" [ "$(hraw 'GET /admin HTTP/1.1\r\nHost: x\r\n\r\n')" = "HTTP/1.1 404 Not Found" ]
check "path with a prefix of /metrics: 404" [ "$(hraw 'GET /metricsX HTTP/1.0\r\n\r\n')" = "HTTP/1.1 404 Not Found" ]
check "POST /metrics: 405" [ "$(hraw 'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n')" = "HTTP/1.1 405 Method Not Allowed" ]
check "405 names the method allowed" sh -c "ip netns exec $NSP-coord curl -s -i -X DELETE $URL/metrics | grep -q '^Allow: GET'"
check "a query string is ignored: 200" [ "$(hraw 'GET /healthz?x=1 HTTP/1.0\r\n\r\n')" = "HTTP/1.1 200 OK" ]
check "headers over 8 KiB: 431" [ "$(ns coord python3 "$WORK/http.py" raw "GET /metrics HTTP/1.1\\r\\n$(python3 -c 'print("X-A: " + "b" * 9000)')\\r\\n\\r\\n")" = "HTTP/1.1 431 Request Header Fields Too Large" ]
out=$(ns coord python3 "$WORK/http.py" big)
check "a 100 KiB request line: 414 ($out)" [ "$out" = "HTTP/1.1 414 URI Too Long" ]
check "coordinator alive after the 100 KiB line" kill -0 "$COORD_PID"
check "... and still answers /metrics" [ "$(hcurl -o /dev/null -w '%{http_code}' "$URL/metrics")" = 200 ]

# 40 idle connections (more than the 16 served at once), held 7 s
ns coord python3 "$WORK/http.py" idle 40 7 >"$WORK/idle.out" 2>&1 &
IDLE=$!
PIDS="$PIDS $IDLE"
sleep 1
t0=$(date +%s%N)
bc ban 192.0.2.90 --for 1h >/dev/null
check "40 idle HTTP connections: a ban reaches the kernel within 2 s" wait_for 2 in_set 1 fleet4 192.0.2.90
note "with 40 idle HTTP connections: ban in the kernel after $(ms_since "$t0") ms"
check "40 idle HTTP connections: GET /metrics still answered" [ "$(hcurl -o /dev/null -w '%{http_code}' "$URL/metrics")" = 200 ]
check "40 idle HTTP connections: status still answers" sh -c "ip netns exec $NSP-coord $BIN/bancluster -c $WORK/cli.ini status >/dev/null"
wait "$IDLE"
check "idle connections closed by the coordinator (40 of 40, 5 s deadline or dropped for newer ones)" [ "$(cat "$WORK/idle.out")" = 40 ]
check "counted: dropped and timed-out connections" sh -c "
	[ \$(ip netns exec $NSP-coord curl -s $URL/metrics | awk '\$1 ~ /status=\"(dropped|timeout)\"/ {s += \$2} END {print s}') -ge 40 ]"

# ---- the agent's resync counters over a 5 s coordinator outage --------
prom() { awk -v k="$1" '$1 == k {print $2}' "$WORK/state-mx1/mx1.prom"; }
check "agent metrics_file written" wait_for 12 sh -c "grep -q '^bancluster_agent_snapshot_requests_failed_total ' $WORK/state-mx1/mx1.prom"
R0=$(prom bancluster_agent_resyncs_total)
A0=$(prom bancluster_agent_snapshot_requests_total)
F0=$(prom bancluster_agent_snapshot_requests_failed_total)
# three failures of 203.0.113.44 counted (maxretry 5: no ban); the restart
# lowers maxretry to 3, so the ban comes from the reports counted again
# at start: on_ban runs for it too
EV0=$(events_of 1)
for n in 1 2 3; do fail 1 203.0.113.44; done
events_grew() { [ "$(events_of 1)" -ge $(($1 + $2)) ] 2>/dev/null; }
check "three events of 203.0.113.44 counted, no ban" wait_for 5 events_grew "$EV0" 3
check "... no ban yet" none_in_set fleet4 203.0.113.44
RUNS0=$(ls "$WORK/hooks/"*.run | wc -l)
OUT0=$(date +%s%N)
kill "$COORD_PID"
wait "$COORD_PID" 2>/dev/null
sed -i 's|^on_ban = gone.sh$|on_ban = hook.sh|' "$WORK/coordinator.ini" # start refuses a missing hook
sed -i 's|^maxretry = 5$|maxretry = 3|' "$WORK/coordinator.ini"
sleep 5
start_coord
check "coordinator back: agent in sync again" wait_for 10 agents_synced
# at most one failed request per 500 ms of the outage as the agent saw it
# (5 s, and the restart: longer on a loaded machine)
OUT_MS=$(( ($(date +%s%N) - OUT0) / 1000000 ))
check "a rule ban made at start from stored reports runs on_ban" wait_for 3 runs_at_least $((RUNS0 + 1))
R5=$(nth_run $((RUNS0 + 1)))
[ "$(head -1 "$R5")" = "ban 203.0.113.44" ] && jcheck "$R5" "
assert j['origin'] == 'rule' and j['rule'] == 'maxretry' and j['address'] == '203.0.113.44'
assert j['reason'].startswith('3 weighted events'), j['reason']
"
verdict "... its JSON: the rule ban of 203.0.113.44 with the 3 events counted again"
check "... and the ban reaches the kernel" wait_for 3 in_set 1 fleet4 203.0.113.44
touch "$WORK/synced.mark"
check "agent metrics_file rewritten after the resync" wait_for 12 test "$WORK/state-mx1/mx1.prom" -nt "$WORK/synced.mark"
R1=$(prom bancluster_agent_resyncs_total)
A1=$(prom bancluster_agent_snapshot_requests_total)
F1=$(prom bancluster_agent_snapshot_requests_failed_total)
note "5 s outage: resyncs +$((R1 - R0)), snapshot requests +$((A1 - A0)), of which failed +$((F1 - F0))"
check "one outage, one resync (resyncs_total +$((R1 - R0)))" [ $((R1 - R0)) = 1 ]
check "failed requests while the coordinator was away ($OUT_MS ms): 1..$((OUT_MS / 500 + 1)), one per 500 ms (+$((F1 - F0)))" \
	sh -c '[ "$1" -ge 1 ] && [ "$1" -le "$2" ]' - $((F1 - F0)) $((OUT_MS / 500 + 1))
check "requests that went out: 1 or 2 (+$((A1 - A0 - F1 + F0)))" \
	sh -c '[ "$1" -ge 1 ] && [ "$1" -le 2 ]' - $((A1 - A0 - F1 + F0))
check "the resync is logged once" [ "$(grep -c 'resync: coordinator silent' "$WORK/mx1.log")" = 1 ]
fleet_done
