#!/usr/bin/env python3
"""syslogd.py - a minimal syslog receiver for test_mta_corpus.sh.

    syslogd.py SOCKET LOGFILE HOSTNAME

Binds a Unix datagram socket at SOCKET (the test links it as /dev/log in
Sendmail's private /dev) and appends every message to LOGFILE the way
rsyslog's default (RSYSLOG_TraditionalFileFormat) writes it:

    Nov 28 23:33:03 HOSTNAME sm-mta[123]: MESSAGE

glibc's syslog(3) sends "<PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE"; the
priority is dropped, HOSTNAME inserted after the time stamp, a trailing
newline removed, and control characters escaped as "#ooo" (octal), as
rsyslog does with $EscapeControlCharactersOnReceive (on by default).
Runs until killed.
"""
import os
import socket
import sys


def escape(b):
    out = bytearray()
    for c in b:
        if c < 0x20 or c == 0x7F:
            out += b"#%03o" % c
        else:
            out.append(c)
    return bytes(out)


def main():
    path, logfile, host = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    with open(logfile, "ab", buffering=0) as out:
        while True:
            m = s.recv(65536)
            if m.startswith(b"<"):
                e = m.find(b">")
                if 0 < e < 5:
                    m = m[e + 1:]
            m = m.rstrip(b"\n").rstrip(b"\0")
            if len(m) > 16 and m[15:16] == b" ":
                line = m[:15] + b" " + host + b" " + escape(m[16:])
            else:
                line = escape(m)
            out.write(line + b"\n")


if __name__ == "__main__":
    main()
