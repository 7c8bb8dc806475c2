#!/usr/bin/env python3
"""authclient.py - a tiny SMTP submission client for test_e2e_postfix.sh.

    authclient.py --source ADDR HOST PORT [--user U] [--password P]
                  [--tries N] [--ready FILE --go FILE]

One session from ADDR: EHLO, STARTTLS, EHLO; then, with --ready/--go,
create the ready file and wait (10 s at most) for the go file, so the
caller can break the SASL backend at exactly this point; then N times
AUTH LOGIN with U and P (stopping at the first reply that is not 334),
and QUIT. Prints "AUTH CODE TEXT" for the last reply of each try; exits
0 when the session ran to QUIT (non-zero on connect failure, timeout 5 s).
Swaks cannot pause between EHLO and AUTH; that is all this adds. The
certificate is not checked (lab).
"""
import argparse
import base64
import os
import smtplib
import ssl
import sys
import time


def b64(text):
    return base64.b64encode(text.encode()).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--source", required=True)
    ap.add_argument("--user", default="alice@lab.test")
    ap.add_argument("--password", default="wrong-password")
    ap.add_argument("--tries", type=int, default=1)
    ap.add_argument("--ready")
    ap.add_argument("--go")
    o = ap.parse_args()

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(o.host, o.port, source_address=(o.source, 0), timeout=5)
    s.ehlo("client.e2e.invalid")
    s.starttls(context=ctx)
    s.ehlo("client.e2e.invalid")
    if o.ready and o.go:
        open(o.ready, "w").close()
        t = time.time() + 10
        while not os.path.exists(o.go):
            if time.time() > t:
                print("no go file", file=sys.stderr)
                return 1
            time.sleep(0.02)
    for _ in range(o.tries):
        code, msg = s.docmd("AUTH", "LOGIN")
        if code == 334:
            code, msg = s.docmd(b64(o.user))
        if code == 334:
            code, msg = s.docmd(b64(o.password))
        print("AUTH %d %s" % (code, msg.decode(errors="replace")))
    s.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
