#!/usr/bin/env python3
"""detect_truth.py - score bans against a generated log's ground truth.

    detect_truth.py LOG TRUTH.json REPLAY.json F2B_DIR

Called by detect_truth.sh (read it first). Inputs:
  LOG          the log gen-maillog.py wrote
  TRUTH.json   its --truth file: "lines", "attackers": [{"ip", "family",
               "lines", "ge5_in_600s", ...}], "attacker_ips"
  REPLAY.json  `bancluster replay LOG --json`
  F2B_DIR      one file per fail2ban jail, NAME.rows: the output of
               `fail2ban-regex --out row LOG FILTER` (one
               ['IP', EPOCH, {...}] row per matched line)

Benign addresses are every address the log names (in brackets, after
rip=, lip= or smtp:) that is not an attacker's. A ban covers an address
when the address lies inside the banned prefix (bancluster bans IPv6 per
/64, NAT64 per address; fail2ban bans addresses).

fail2ban's bans are made by fail2ban's own FailManager (its Python module,
so run this with the interpreter of fail2ban-regex) over the matched
lines' own times, as a jail drives it: one ticket per address, the count
scaled to the rate over findtime once the ticket is older than findtime,
a ban at maxretry, idle tickets dropped every 5 s. Jails count
separately; an address banned by any jail is banned. Defaults of
jail.conf's [DEFAULT]: maxretry 5, findtime 10m. For reference only, the
same count over the lines of all three filters pooled into one jail is
printed too.

Every figure printed is checked first; any failed check prints "FAIL:
..." and the exit status is 1. Nothing from the log is printed.
"""

import ast
import ipaddress
import json
import os
import re
import sys

MAXRETRY = 5
FINDTIME = 600.0
JAILS = ["postfix", "postfix-sasl", "dovecot"]  # jail.conf names

ADDR_RE = re.compile(rb"\[(?:IPv6:)?([0-9A-Fa-f:.]{2,45})\]|(?:rip|lip)=([0-9A-Fa-f:.]{2,45})|smtp:([0-9A-Fa-f:.]{2,45})\)")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)
    return cond


def log_addresses(path):
    seen = set()
    with open(path, "rb") as f:
        for line in f:
            for m in ADDR_RE.finditer(line):
                seen.add(m.group(1) or m.group(2) or m.group(3))
    out = set()
    for s in seen:
        try:
            out.add(ipaddress.ip_address(s.decode()))
        except ValueError:
            pass
    return out


class Bans:
    """A set of banned prefixes, asked address by address."""

    def __init__(self, prefixes):
        self.by_len = {}
        for p in prefixes:
            n = ipaddress.ip_network(p, strict=True)
            self.by_len.setdefault((n.version, n.prefixlen), set()).add(int(n.network_address))
        self.n = len(prefixes)

    def covers(self, a):
        bits = 32 if a.version == 4 else 128
        x = int(a)
        for (v, plen), nets in self.by_len.items():
            if v == a.version and ((x >> (bits - plen)) << (bits - plen)) in nets:
                return True
        return False


def fail2ban_jail(rows):
    """
    Addresses a jail bans, from (address, time) rows in time order, by
    fail2ban's own FailManager, as Filter.performBan and performSvc drive
    it: add the failure, ban at maxretry, clean up every 5 s of log time.
    """
    from fail2ban.server.failmanager import FailManager, FailManagerEmpty
    from fail2ban.server.mytime import MyTime
    from fail2ban.server.ticket import FailTicket

    fm = FailManager()
    fm.setMaxRetry(MAXRETRY)
    fm.setMaxTime(FINDTIME)
    banned = set()
    next_svc = None
    try:
        for ip, t in rows:
            MyTime.setTime(t)
            fm.addFailure(FailTicket(ip, t))
            try:
                fm.toBan(ip)
                banned.add(ip)
            except FailManagerEmpty:
                pass
            if next_svc is None or t >= next_svc:
                next_svc = t + 5
                fm.cleanup(t)
    finally:
        MyTime.setTime(None)
    return banned


def read_rows(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("["):
                continue
            r = ast.literal_eval(line.rstrip(","))
            rows.append((str(ipaddress.ip_address(r[0])), float(r[1])))
    rows.sort(key=lambda x: x[1])
    return rows


def pct(n, d):
    return "%d (%.1f %%)" % (n, 100.0 * n / d) if d else "%d" % n


def main():
    if len(sys.argv) != 5:
        print("usage: detect_truth.py LOG TRUTH.json REPLAY.json F2B_DIR")
        return 2
    log, truth_p, replay_p, f2b_dir = sys.argv[1:]
    truth = json.load(open(truth_p))
    rep = json.load(open(replay_p))
    atts = truth["attackers"]
    check(len(atts) == truth["attacker_ips"] and len(atts) > 0,
          "truth: %d attackers listed, %d announced" % (len(atts), truth["attacker_ips"]))
    check(rep["lines"] == truth["lines"],
          "replay read %d lines, the log has %d" % (rep["lines"], truth["lines"]))
    att_ip = {str(ipaddress.ip_address(a["ip"])) for a in atts}
    ge5 = {str(ipaddress.ip_address(a["ip"])) for a in atts if a["ge5_in_600s"]}
    check(len(ge5) == truth["attackers_ge5_in_600s"], "truth: ge5_in_600s count")
    everyone = log_addresses(log)
    benign = {a for a in everyone if str(a) not in att_ip}
    check(len(att_ip - {str(a) for a in everyone}) == 0,
          "every attacker address is found in the log")
    check(len(benign) > 0, "benign addresses found in the log")

    # bancluster: the bans replay would make
    bc = Bans([b["address"] for b in rep["bans"]])
    bc_att = {ip for ip in att_ip if bc.covers(ipaddress.ip_address(ip))}
    bc_ben = {a for a in benign if bc.covers(a)}
    bc_ge5 = bc_att & ge5

    # fail2ban: each stock jail, then their union
    f2b = {}
    for j in JAILS:
        p = os.path.join(f2b_dir, j + ".rows")
        if not check(os.path.exists(p), "fail2ban rows of jail %s" % j):
            continue
        rows = read_rows(p)
        check(len(rows) > 0, "fail2ban jail %s matched lines" % j)
        f2b[j] = (len(rows), fail2ban_jail(rows))
    f2b_all = set().union(*[b for _, b in f2b.values()]) if f2b else set()
    # for reference: one counter over the lines of all three filters
    pooled = []
    for j in JAILS:
        p = os.path.join(f2b_dir, j + ".rows")
        if os.path.exists(p):
            pooled += read_rows(p)
    pooled.sort(key=lambda x: x[1])
    f2b_pool = fail2ban_jail(pooled)
    f_att = f2b_all & att_ip
    f_ben = {a for a in benign if str(a) in f2b_all}
    f_ge5 = f_att & ge5

    check(len(bc_att) > 0, "bancluster bans some attackers")
    check(len(bc_ben) == 0, "bancluster bans no benign address (%d banned: %s)"
          % (len(bc_ben), ", ".join(sorted(str(a) for a in bc_ben)[:5])))
    check(len(f_att) > 0, "fail2ban bans some attackers")
    if failures:
        return 1

    A, G = len(att_ip), len(ge5)
    print("log: %d lines, %d attackers (%d IPv6), %d of them with >= 5 attack lines"
          " within 10 min; %d benign addresses" % (truth["lines"], A,
                                                    truth["attacker_ipv6"], G, len(benign)))
    print("%-40s %-26s %s" % ("", "bancluster replay", "fail2ban stock jails"))
    print("%-40s %-26s %s" % ("policy", "maxretry 5 weighted / 10m",
                              "maxretry 5 / 10m per jail"))
    print("%-40s %-26s %s" % ("attackers banned", pct(len(bc_att), A), pct(len(f_att), A)))
    print("%-40s %-26s %s" % ("  of those with >= 5 lines in 10 min", pct(len(bc_ge5), G),
                              pct(len(f_ge5), G)))
    print("%-40s %-26s %s" % ("  with < 5 lines in 10 min", len(bc_att - ge5), len(f_att - ge5)))
    print("%-40s %-26s %s" % ("benign addresses banned", len(bc_ben), len(f_ben)))
    print("%-40s %-26s %s" % ("ban decisions", bc.n, len(f2b_all)))
    for j in JAILS:
        if j in f2b:
            print("  fail2ban jail %-14s %7d matched lines, %5d addresses banned (%d attackers)"
                  % (j, f2b[j][0], len(f2b[j][1]), len(f2b[j][1] & att_ip)))
    print("  fail2ban, one counter over the three filters' lines (not a stock setup):"
          " %s attackers, %d benign" % (pct(len(f2b_pool & att_ip), A),
                                        len({a for a in benign if str(a) in f2b_pool})))
    ev = rep["events"]
    print("  bancluster events: auth_fail %d, sender_violation %d, auth_abort %d; %d lines matched"
          % (ev["auth_fail"], ev["sender_violation"], ev["auth_abort"], rep["matched"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
