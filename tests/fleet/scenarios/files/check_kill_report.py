#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of 30-kill-report: check the fleet kill report against the kills made.

    check_kill_report.py REPORT_DIR EXPECTED_JSON

EXPECTED_JSON: {"host1": {"started": EPOCH, "machine": UNAME_M, "kills": [{case, target_pid,
signal, signal_name, login_user, auid, user, uid, killer_pid, comm, syscall, arch}, ...]}, ...},
from files/fleet_kills.py on each host.

Other processes on a host send signals too (systemd, sshd, ...), so the report is narrowed to
the test's own victims: reports of the host with one of its victims' pids as target, at or after
the moment the test started on that host. That set must be exactly the kills made: one report
per kill, none more, with the right host, login user (auid), user (uid), killer command,
target, signal, success, syscall name and audit arch (the native ABI's, or the 32-bit compat
ABI's for the 32-bit killer). So each host's report shows that host's architecture: every host
must have its native arch, and its compat arch where the test killed through it.
kill_report.csv must have a row for each (by event id) with the
same facts, kill_report.md and kill_report.html a row in their kill table. The report must
also cover every host (all answered, none failed). Exits 1 with every mismatch listed.
"""
from __future__ import absolute_import, division, print_function

import csv
import datetime
import html
import json
import os
import re
import sys

problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def epoch(iso):
    dt = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (dt - datetime.datetime(1970, 1, 1)).total_seconds()


def md_rows(text):
    """Cells of every Markdown table row (backslash escapes undone, | inside cells kept)."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("| ") or not line.endswith(" |"):
            continue
        cells = re.split(r"(?<!\\) \| ", line[2:-2])
        rows.append([re.sub(r"\\(.)", r"\1", c) for c in cells])
    return rows


def html_rows(text):
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", text, re.S)]


def main(argv):
    outdir, expected_path = argv[1], argv[2]
    with open(expected_path) as f:
        expected = json.load(f)
    with open(os.path.join(outdir, "kill_report.json")) as f:
        report = json.loads(f.read())
    totals = report["totals"]
    check(totals["hosts"] == len(expected) and totals["hosts_ok"] == len(expected),
          "report covers %s hosts, %s answered; expected %d" % (totals["hosts"], totals["hosts_ok"], len(expected)))
    check(not report["failed_hosts"], "failed hosts in the report: %s" % report["failed_hosts"])
    check(sorted(h["host"] for h in report["hosts"]) == sorted(expected),
          "hosts in the report: %s" % [h["host"] for h in report["hosts"]])

    victims = {}
    for host, data in expected.items():
        for kill in data["kills"]:
            victims[(host, kill["target_pid"])] = kill
    # the test's own part of the report: its victims, since it started (probes included, so
    # that a stray signal 0 to a victim would count as an extra report too)
    ours = [r for r in report.get("reports", []) + report.get("probes", [])
            if (r.get("host"), r.get("target_pid")) in victims
            and epoch(r["time"]) >= float(expected[r["host"]]["started"]) - 1]
    matched = []
    for (host, pid), kill in sorted(victims.items()):
        mine = [r for r in ours if r["host"] == host and r["target_pid"] == pid]
        what = "%s: %s kill of pid %d" % (host, kill["case"], pid)
        if not check(len(mine) == 1, "%s: %d reports, expected exactly 1: %s" % (what, len(mine), mine)):
            continue
        r = mine[0]
        k = r.get("killer") or {}
        targets = r.get("targets") or []
        want = {"signal_name": kill["signal_name"], "signal": kill["signal"], "success": True, "probe": False,
                "syscall": kill["syscall"], "arch": kill["arch"], "key": "kill_rule",
                "killer.login_user": kill["login_user"],
                "killer.auid": kill["auid"], "killer.user": kill["user"], "killer.uid": kill["uid"],
                "killer.comm": kill["comm"], "targets": [(pid, "sleep")]}
        got = {"signal_name": r.get("signal_name"), "signal": r.get("signal"), "success": r.get("success"),
               "probe": r.get("probe"), "syscall": r.get("syscall"), "arch": r.get("arch"), "key": r.get("key"),
               "killer.login_user": k.get("login_user"), "killer.auid": k.get("auid"), "killer.user": k.get("user"),
               "killer.uid": k.get("uid"), "killer.comm": k.get("comm"),
               "targets": [(t.get("pid"), t.get("comm")) for t in targets]}
        if kill.get("killer_pid") is not None:
            want["killer.pid"], got["killer.pid"] = kill["killer_pid"], k.get("pid")
        for name in sorted(want):
            check(got[name] == want[name], "%s: %s is %r, expected %r" % (what, name, got[name], want[name]))
        matched.append((kill, r))
    check(len(ours) == len(victims), "%d reports target the test's victims, expected %d" % (len(ours), len(victims)))
    # each host's architecture(s), as its kill reports name them
    arches = {}
    for _kill, r in matched:
        arches.setdefault(r["host"], set()).add(r.get("arch"))
    for host, data in sorted(expected.items()):
        want_arches = set(k["arch"] for k in data["kills"])
        check(arches.get(host) == want_arches, "%s (%s): kill reports with arch %s, expected %s"
              % (host, data.get("machine"), sorted(arches.get(host) or []), sorted(want_arches)))

    # CSV: one row per kill report, found by event id
    with open(os.path.join(outdir, "kill_report.csv"), newline="") as f:
        rows = {row["event_id"]: row for row in csv.DictReader(f)}
    for kill, r in matched:
        row = rows.get(r["event_id"])
        what = "kill_report.csv: %s %s kill of pid %d (event %s)" % (r["host"], kill["case"], kill["target_pid"], r["event_id"])
        if not check(row is not None, "%s: no row" % what):
            continue
        want = {"host": r["host"], "target_pid": str(kill["target_pid"]), "signal_name": kill["signal_name"],
                "signal": str(kill["signal"]), "success": "true", "killer_login_user": kill["login_user"],
                "killer_auid": str(kill["auid"]), "killer_user": kill["user"], "killer_uid": str(kill["uid"]),
                "killer_comm": kill["comm"], "targets": "%d:sleep" % kill["target_pid"]}
        for name in sorted(want):
            check(row.get(name) == want[name], "%s: %s is %r, expected %r" % (what, name, row.get(name), want[name]))

    # Markdown and HTML: a row of the kill table (Time, Host, Signal, Syscall, Result, Login user,
    # User, Killer, Command line, Target, Target processes); Syscall names the ABI: kill (x86_64)
    for fname, parse in (("kill_report.md", md_rows), ("kill_report.html", html_rows)):
        with open(os.path.join(outdir, fname)) as f:
            rows = parse(f.read())
        for kill, r in matched:
            want = [r["time"], r["host"], kill["signal_name"], "%s (%s)" % (kill["syscall"], kill["arch"]), "ok",
                    kill["login_user"], kill["user"]]
            found = [row for row in rows if len(row) == 11 and row[:7] == want
                     and row[9] == str(kill["target_pid"]) and row[10] == "sleep (%d)" % kill["target_pid"]
                     and row[7].startswith("%s (pid " % kill["comm"])]
            check(len(found) == 1, "%s: %d rows for %s (%s kill of pid %d), expected 1"
                  % (fname, len(found), want, kill["case"], kill["target_pid"]))

    for kill, r in matched:
        print("ok: %-6s %-10s %-8s %-4s %-7s login %-9s user %-9s %-6s -> pid %-6d (%s)  event %s"
              % (r["host"], kill["case"], r["signal_name"], r["syscall"], r["arch"], r["killer"]["login_user"],
                 r["killer"]["user"], r["killer"]["comm"], r["target_pid"], r["targets"][0]["comm"], r["event_id"]))
    for host, data in sorted(expected.items()):
        print("arch: %-6s %-8s kill reports with arch %s" % (host, data.get("machine"), ", ".join(sorted(arches.get(host) or []))))
    if problems:
        print("\n".join("PROBLEM: " + p for p in problems))
        return 1
    print("kill report: %d kills on %d hosts, exactly the test's, in JSON, CSV, Markdown and HTML"
          % (len(matched), len(expected)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
