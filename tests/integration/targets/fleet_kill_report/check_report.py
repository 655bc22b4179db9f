"""Check the four files of the kill_report playbook against the kills runme.sh made.

Usage: check_report.py REPORT_DIR EXPECTED_TSV HOST UNREACHABLE_HOST
EXPECTED_TSV: target_pid, signal, login_user ("" for none), user, killer comm, target comm, success.
Comms may be hostile (a spreadsheet formula, a terminal escape sequence): the CSV must
neutralise them (a leading ', control characters as \\xNN), the Markdown and HTML show them
escaped, and no file may hold a raw control character.
"""
import csv
import html
import io
import json
import os
import re
import sys

SIGNAL_NAMES = {0: None, 1: "SIGHUP", 9: "SIGKILL", 10: "SIGUSR1", 15: "SIGTERM"}
RAW_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def fail(msg):
    sys.exit("fleet_kill_report check: " + msg)


def visible(text):
    """What the collection shows of a control character: \\xNN."""
    return "".join("\\x%02x" % ord(c) if (ord(c) < 0x20 and c not in "\t\n") or 0x7f <= ord(c) < 0xa0 else c
                   for c in text)


def spreadsheet(text):
    text = visible(text)
    return "'" + text if text.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")) else text


def md_rows(text):
    """Cells of every Markdown table row, backslash escapes undone."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| ") and line.endswith(" |"):
            cells = re.split(r"(?<!\\) \| ", line[2:-2])
            rows.append([re.sub(r"\\(.)", r"\1", c) for c in cells])
    return rows


def html_rows(text):
    return [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", text, re.S)]


def main(report_dir, expected_path, host, unreachable):
    with open(expected_path) as f:
        expected = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    files = {name: os.path.join(report_dir, "kill_report." + name) for name in ("json", "csv", "md", "html")}
    texts = {}
    for name, path in files.items():
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            fail("%s is missing or empty" % path)
        with open(path, newline="") as f:
            texts[name] = f.read()
        raw = RAW_CONTROL.findall(texts[name].replace("\r\n", "\n") if name == "csv" else texts[name])
        if raw:
            fail("kill_report.%s holds raw control characters: %r" % (name, sorted(set(raw))))
    report = json.loads(texts["json"])
    rows = list(csv.DictReader(io.StringIO(texts["csv"], newline="")))
    md = md_rows(texts["md"])
    page = html_rows(texts["html"])

    everything = report["reports"] + report["probes"]
    for target, signal, login, user, comm, target_comm, success in expected:
        signal, target = int(signal), int(target)
        what = "signal %d to %d" % (signal, target)
        found = [r for r in everything if r["target_pid"] == target and r["signal"] == signal]
        if len(found) != 1:
            fail("%s: %d reports in kill_report.json, expected 1" % (what, len(found)))
        r = found[0]
        got = (r["host"], r["signal_name"], r["probe"], r["success"], r["killer"]["login_user"],
               r["killer"]["user"], r["killer"]["comm"], [t["comm"] for t in r["targets"]])
        want = (host, SIGNAL_NAMES[signal], signal == 0, success == "true", login or None, user, comm, [target_comm])
        if got != want:
            fail("%s: got %r, expected %r" % (what, got, want))
        if (r in report["probes"]) != (signal == 0):
            fail("%s: a probe must be listed apart (probes), a kill with the kills (reports)" % what)
        if not success == "true" and r["errno"] != "EPERM":
            fail("%s: errno %r, expected EPERM" % (what, r["errno"]))
        csv_rows = [row for row in rows if row["target_pid"] == str(target) and row["signal"] == str(signal)]
        want_csv = (host, login, spreadsheet(comm), "%d:%s" % (target, visible(target_comm)),
                    spreadsheet(r["killer"]["cmdline"]), r["arch"])
        if len(csv_rows) != 1 or (csv_rows[0]["host"], csv_rows[0]["killer_login_user"], csv_rows[0]["killer_comm"],
                                  csv_rows[0]["targets"], csv_rows[0]["killer_cmdline"], csv_rows[0]["arch"]) != want_csv:
            fail("%s: not in kill_report.csv as expected %r: %r" % (what, want_csv, csv_rows))
        # Markdown and HTML: one row of the kill table (Time, Host, Signal, Syscall, Result, Login
        # user, User, Killer, Command line, Target, Target processes); probes have no Signal column.
        # The syscall is the kill(1) binary's, kill(2), in this machine's ABI.
        cells = [r["time"], host] + ([SIGNAL_NAMES[signal]] if signal else []) + [
            "kill (%s)" % os.uname().machine, "ok" if success == "true" else "EPERM", login or "(none)", user,
            "%s (pid %d)" % (visible(comm), r["killer"]["pid"])]
        tail = [str(target), "%s (%d)" % (visible(target_comm), target)]
        for name, table in (("md", md), ("html", page)):
            matches = [row for row in table if row[:len(cells)] == cells and row[-2:] == tail]
            if len(matches) != 1:
                fail("%s: %d rows in kill_report.%s for %r ... %r" % (what, len(matches), name, cells, tail))

    hosts = {h["host"]: h for h in report["hosts"]}
    if hosts[host]["state"] != "ok" or not (hosts[host]["auditd"] or {}).get("available") or hosts[host]["recording"] is not True:
        fail("%s: %r" % (host, hosts[host]))
    if hosts[host]["arch"] != os.uname().machine or hosts[host]["arch_source"] != "facts":
        fail("%s: architecture %r from %r, expected %s from facts"
             % (host, hosts[host]["arch"], hosts[host]["arch_source"], os.uname().machine))
    if [(f["host"], f["state"]) for f in report["failed_hosts"]] != [(unreachable, "unreachable")]:
        fail("failed hosts: %r" % report["failed_hosts"])
    if texts["html"].lower().count("<script") != 1 or "Content-Security-Policy" not in texts["html"]:
        fail("kill_report.html is not the self-contained page it should be")
    for name in ("md", "html"):
        if unreachable not in texts[name]:
            fail("kill_report.%s does not name the unreachable host" % name)
    print("fleet_kill_report check: %d kills found in the JSON, CSV, Markdown and HTML (hostile names neutralised);"
          " %s listed as unreachable" % (len(expected), unreachable))


if __name__ == "__main__":
    main(*sys.argv[1:])
