#!/usr/bin/env python3
# fake_smtp.py ADDR PORT - a hostile SMTP server for test_audit_smtp.sh.
# Its greeting carries terminal escape sequences, control bytes and a very
# long text, so the test can check that the audit escapes and cuts server
# text. It answers EHLO with AUTH (no STARTTLS), everything else with 502,
# QUIT with 221. One connection at a time; runs until killed.
import socket
import sys

addr, port = sys.argv[1], int(sys.argv[2])
banner = (b"220 evil.lab.test \x1b[31mRED\x1b[0m \x07\x01 ESMTP "
          + b"A" * 3000 + b"\r\n")
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(16)
while True:
    conn, _ = srv.accept()
    conn.settimeout(10)
    try:
        conn.sendall(banner)
        buf = b""
        while True:
            data = conn.recv(4096)
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                verb = line.strip().upper()
                if verb.startswith(b"EHLO"):
                    conn.sendall(b"250-evil.lab.test \x1b]0;pwned\x07\r\n"
                                 b"250 AUTH PLAIN LOGIN\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    raise EOFError
                else:
                    conn.sendall(b"502 5.5.2 \x1b[2Jno\r\n")
    except (EOFError, OSError):
        pass
    conn.close()
