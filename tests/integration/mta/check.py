#!/usr/bin/env python3
"""check.py - compare `bancluster replay --json` with what a test drove.

    check.py NAME REPLAY.json EXPECT

EXPECT holds one line per case:

    ADDR [KIND=N ...]  # what was driven
    never ADDR         # ADDR must not appear in the replay at all

Every KIND not given for ADDR must be 0. Every address in the replay must
be listed (an event for an address nobody connected from fails). Prints
TAP-style "ok - " / "not ok - " lines; exit 1 on any failure.
"""
import json
import sys

KINDS = ("auth_fail", "sender_violation", "auth_abort", "auth_success")


def main():
    name, rpath, epath = sys.argv[1:4]
    try:
        with open(rpath) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        print("not ok - %s: replay JSON readable (%s)" % (name, e))
        return 1
    got = {}
    for a in rep.get("addresses", []):
        got[a["address"]] = {k: int(a["events"].get(k, 0)) for k in KINDS}
    want, never, what = {}, [], {}
    with open(epath) as f:
        for line in f:
            text, _, comment = line.partition("#")
            tok = text.split()
            if not tok:
                continue
            if tok[0] == "never":
                never.append(tok[1])
                continue
            w = {k: 0 for k in KINDS}
            for t in tok[1:]:
                k, _, n = t.partition("=")
                if k not in KINDS:
                    print("not ok - %s: bad expectation %r" % (name, t))
                    return 1
                w[k] = int(n)
            want[tok[0]] = w
            what[tok[0]] = comment.strip()
    fails = 0

    def fmt(d):
        return " ".join("%s=%d" % (k, d[k]) for k in KINDS if d[k]) or "nothing"

    for addr, w in want.items():
        g = got.get(addr, {k: 0 for k in KINDS})
        ok = g == w
        fails += not ok
        print("%s - %s: %s %s: want %s, got %s" % (
            "ok" if ok else "not ok", name, addr, what[addr], fmt(w), fmt(g)))
    stray = sorted(set(got) - set(want))
    ok = not stray
    fails += not ok
    print("%s - %s: no event for an address no case connected from%s" % (
        "ok" if ok else "not ok", name,
        "" if ok else " (got " + ", ".join(
            "%s: %s" % (a, fmt(got[a])) for a in stray) + ")"))
    for addr in never:
        ok = addr not in got
        fails += not ok
        print("%s - %s: %s never appears in the replay" % (
            "ok" if ok else "not ok", name, addr))
    print("# %s: %d lines, %d matched, %d malformed" % (
        name, rep.get("lines", 0), rep.get("matched", 0),
        rep.get("malformed", 0)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
