#!/usr/bin/env python3
"""smtpc.py - a tiny raw SMTP client for test_mta_corpus.sh.

    smtpc.py --source ADDR HOST PORT STEP...

Connects from ADDR, reads the greeting, then runs each STEP in order:

    TEXT           send TEXT + CRLF, read the (multi-line) reply
    b64:TEXT       send base64(TEXT) + CRLF, read the reply
    !starttls      send STARTTLS, read 220, wrap the socket in TLS
    !data          send a small message body and ".", read the reply
    !close         close the connection at once (no QUIT)
    !noreply:TEXT  send TEXT + CRLF without waiting for a reply
    !sleep:SEC     wait

TEXT (and b64:TEXT) may hold Python escapes (\\x00, \\r, \\t, \\x1b, ...),
decoded to bytes as latin-1, so control bytes reach the server as they
are. When the connection is gone the remaining steps are skipped. Prints
one line per exchange (bytes escaped), exits 0 when every step ran. The
certificate is not checked (lab).
"""
import argparse
import base64
import codecs
import socket
import ssl
import sys
import time


def unescape(t):
    return codecs.decode(t, "unicode_escape").encode("latin-1")


class Conn:
    def __init__(self, host, port, source, timeout):
        self.s = socket.create_connection((host, port), timeout=timeout,
                                          source_address=(source, 0))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        lines = []
        while True:
            while b"\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    raise ConnectionError("closed by server")
                self.buf += d
            line, self.buf = self.buf.split(b"\n", 1)
            lines.append(line.rstrip(b"\r"))
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def tls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.s = ctx.wrap_socket(self.s)
        self.buf = b""


def show(tag, data):
    t = data if isinstance(data, str) else data.decode("latin-1")
    t = t.encode("unicode_escape").decode("ascii")
    print("%s %s" % (tag, t[:200]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("steps", nargs="*")
    ap.add_argument("--source", required=True)
    ap.add_argument("--timeout", type=float, default=10)
    o = ap.parse_args()

    c = Conn(o.host, o.port, o.source, o.timeout)
    try:
        show("<", c.reply()[0])
        for st in o.steps:
            if st == "!starttls":
                c.send(b"STARTTLS\r\n")
                r = c.reply()
                show("< STARTTLS", r[-1])
                if not r[-1].startswith(b"220"):
                    return 1
                c.tls()
            elif st == "!data":
                c.send(b"Subject: lab\r\nFrom: lab\r\n\r\nhello\r\n.\r\n")
                show("< DATA", c.reply()[-1])
            elif st == "!close":
                c.s.close()
                show("=", "closed")
                return 0
            elif st.startswith("!sleep:"):
                time.sleep(float(st[7:]))
            elif st.startswith("!noreply:"):
                c.send(unescape(st[9:]) + b"\r\n")
                show(">", st[9:])
            else:
                if st.startswith("b64:"):
                    data = base64.b64encode(unescape(st[4:]))
                else:
                    data = unescape(st)
                c.send(data + b"\r\n")
                r = c.reply()
                show("> " + st[:60] + " <", r[-1])
    except (OSError, ConnectionError) as e:
        show("!", str(e))
        return 1
    c.s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
