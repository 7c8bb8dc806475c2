#!/usr/bin/env python3
# etcd_fake.py PORT - a fake etcd v3 gateway on 127.0.0.1:PORT answering
# with broken replies, for test_etcd.sh (etcd_probe malformed). The reply
# is chosen by the request's key (base64 in "key", create_request.key or
# the first txn op's key): the key names the breakage. Test only.
import base64
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HDR = '"header":{"cluster_id":"1","member_id":"2","revision":"5","raft_term":"2"}'


def result(body):
    return ('{"result":{' + HDR + (',' + body if body else '') + '}}\n').encode()


def kv(key, rev):
    k = base64.b64encode(key.encode()).decode()
    return '{"kv":{"key":"%s","create_revision":"%d","mod_revision":"%d","version":"1","value":"eA=="}}' % (k, rev, rev)


UNARY = {
    "garbage": (200, b"\x00\xffnot json at all"),
    "array": (200, b"[1,2,3]"),
    "types": (200, b'{"header":{"revision":"abc"},"kvs":"x"}'),
    "b64": (200, ('{' + HDR + ',"kvs":[{"key":"!!!not base64!!!","mod_revision":"5"}],"count":"1"}').encode()),
    "bigint": (200, b'{"header":{"revision":"99999999999999999999999"}}'),
    "huge": (200, b'{"header":{"revision":"5"},"kvs":[{"key":"' + b"QUFB" * (3 << 18) + b'"}]}'),
    "deep": (200, b"[" * 200000),
    "trunc": (200, ('{' + HDR + ',"kvs":[{"key":"YQ==","mod_rev').encode()),
    "err500": (500, b'{"error":"x","message":"boom\\u001b[31m\\nsecond line","code":2}'),
    "kvtypes": (200, ('{' + HDR + ',"kvs":[{"key":"YQ==","mod_revision":{"x":1},"version":"1"}],"count":"1"}').encode()),
    "dup": (200, ('{' + HDR + ',' + HDR + '}').encode()),
    "tmo": (503, b'{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}'),
    "noleader": (503, b'{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}'),
    "txnmismatch": (200, ('{' + HDR + ',"succeeded":true,"responses":[{"response_put":{}}]}').encode()),
}

WATCH = {
    "wgarbage": [result('"created":true'), b"{{{ garbage\n"],
    "worder": [result('"created":true'), result('"events":[%s,%s]' % (kv("a", 7), kv("b", 6)))],
    "whuge": [result('"created":true'), b'{"result":{"events":[' + b"x" * (3 << 20)],
    "wold": [result('"created":true'), result('"events":[%s]' % kv("a", 2))],
    "wcompact": [result('"canceled":true,"compact_revision":"9"')],
    "wtype": [result('"created":true'), result('"events":[{"type":"EXPLODE","kv":{"key":"YQ==","mod_revision":"6"}}]')],
    "wcancel": [result('"created":true'), result('"canceled":true,"cancel_reason":"\\u001b]0;pwned\\u0007 no"')],
}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def mode(self, body):
        try:
            j = json.loads(body)
        except ValueError:
            return ""
        k = j.get("key") or j.get("create_request", {}).get("key")
        if not k and j.get("success"):
            op = j["success"][0]
            k = next(iter(op.values())).get("key")
        return base64.b64decode(k).decode(errors="replace") if k else ""

    def send(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        m = self.mode(body)
        if self.path == "/v3/maintenance/status":
            return self.send(200, b'{"header":{"member_id":"-5"},"leader":[],"raftTerm":true}')
        if self.path == "/v3/watch" and m in WATCH:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            for chunk in WATCH[m]:
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(0.05)
            self.close_connection = True
            return None
        if m == "drop":  # read the request, close without an answer
            self.close_connection = True
            return None
        if m == "slow":
            time.sleep(10)
            return self.send(200, b"{}")
        code, reply = UNARY.get(m, (404, b'{"error":"unknown mode","code":5}'))
        return self.send(code, reply)


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
