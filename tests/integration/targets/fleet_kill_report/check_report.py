"""Check the four files of the kill_report playbook against the kills runme.sh made.

Usage: check_report.py REPORT_DIR EXPECTED_TSV HOST UNREACHABLE_HOST
EXPECTED_TSV: target_pid, signal, login_user ("" for none), user, killer comm, target comm, success.
"""
import csv
import io
import json
import os
import sys

SIGNAL_NAMES = {0: None, 1: "SIGHUP", 9: "SIGKILL", 10: "SIGUSR1", 15: "SIGTERM"}


def fail(msg):
    sys.exit("fleet_kill_report check: " + msg)


def main(report_dir, expected_path, host, unreachable):
    with open(expected_path) as f:
        expected = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    files = {name: os.path.join(report_dir, "kill_report." + name) for name in ("json", "csv", "md", "html")}
    for path in files.values():
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            fail("%s is missing or empty" % path)
    with open(files["json"]) as f:
        report = json.load(f)
    with open(files["csv"], newline="") as f:
        rows = list(csv.DictReader(io.StringIO(f.read(), newline="")))
    with open(files["md"]) as f:
        markdown = f.read()
    with open(files["html"]) as f:
        page = f.read()

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
        if len(csv_rows) != 1 or (csv_rows[0]["host"], csv_rows[0]["killer_login_user"], csv_rows[0]["targets"]) != (
                host, login, "%d:%s" % (target, target_comm)):
            fail("%s: not in kill_report.csv as expected: %r" % (what, csv_rows))
        # Markdown and HTML: one table row with the killer (comm and pid), the login user, the
        # signal (not for probes: their table has no signal column) and the target
        killer = "%s (pid %d)" % (comm, r["killer"]["pid"])
        cells = [host, login or "(none)", killer, "%s (%d)" % (target_comm, target)]
        if signal:
            cells.append(SIGNAL_NAMES[signal])
        md_cells = ["| %s |" % c.replace("_", "\\_") for c in cells]
        md_rows = [line for line in markdown.splitlines() if line.startswith("|") and "| %s |" % killer in line]
        html_rows = [line for line in page.splitlines() if "<td>%s</td>" % killer in line]
        if len(md_rows) != 1 or not all(c in md_rows[0] for c in md_cells):
            fail("%s: not in kill_report.md as expected (%r): %r" % (what, md_cells, md_rows))
        if len(html_rows) != 1 or not all("<td>%s</td>" % c in html_rows[0] for c in cells):
            fail("%s: not in kill_report.html as expected (%r): %r" % (what, cells, html_rows))

    hosts = {h["host"]: h for h in report["hosts"]}
    if hosts[host]["state"] != "ok" or not (hosts[host]["auditd"] or {}).get("available"):
        fail("%s: %r" % (host, hosts[host]))
    if [(f["host"], f["state"]) for f in report["failed_hosts"]] != [(unreachable, "unreachable")]:
        fail("failed hosts: %r" % report["failed_hosts"])
    if "<script" in page.lower() or "Content-Security-Policy" not in page:
        fail("kill_report.html is not the self-contained page it should be")
    for text, name in ((markdown, "md"), (page, "html")):
        if unreachable not in text:
            fail("kill_report.%s does not name the unreachable host" % name)
    print("fleet_kill_report check: %d kills found in the JSON, CSV, Markdown and HTML; %s listed as unreachable"
          % (len(expected), unreachable))


if __name__ == "__main__":
    main(*sys.argv[1:])
