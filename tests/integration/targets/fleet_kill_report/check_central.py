"""Check the kill_report playbook's report of a central log server's log (make_central_log.py).

Usage: check_central.py REPORT_DIR EXPECTED_TSV NODES_TSV SERVER
Every kill of EXPECTED_TSV must be in kill_report.json under the node its event was given,
collected from SERVER; the server itself has no kill; kill_report.md lists each node.
"""
import json
import os
import sys


def fail(msg):
    sys.exit("fleet_kill_report central check: " + msg)


def main(report_dir, expected_path, nodes_path, server):
    with open(expected_path) as f:
        expected = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    with open(nodes_path) as f:
        node_of = dict(line.rstrip("\n").split("\t") for line in f if line.strip())
    with open(os.path.join(report_dir, "kill_report.json")) as f:
        report = json.load(f)
    with open(os.path.join(report_dir, "kill_report.md")) as f:
        markdown = f.read()
    everything = report["reports"] + report["probes"]
    for target, signal, *_rest in expected:
        found = [r for r in everything if r["target_pid"] == int(target) and r["signal"] == int(signal)]
        if len(found) != 1:
            fail("signal %s to %s: %d reports, expected 1" % (signal, target, len(found)))
        r = found[0]
        if r["host"] != node_of[r["event_id"]] or r["node"] != node_of[r["event_id"]]:
            fail("event %s: host %r node %r, expected %s" % (r["event_id"], r["host"], r["node"], node_of[r["event_id"]]))
    hosts = {h["host"]: h for h in report["hosts"]}
    nodes = sorted(set(node_of.values()))
    if sorted(hosts) != sorted(nodes + [server]):
        fail("hosts %r, expected %r and %s" % (sorted(hosts), nodes, server))
    for node in nodes:
        if hosts[node]["collected_from"] != server or hosts[node]["state"] != "ok":
            fail("%s: %r" % (node, hosts[node]))
        if "| %s | ok |" % node not in markdown:
            fail("kill_report.md has no row for %s" % node)
    if hosts[server]["kills"] or hosts[server]["probes"] or report["node_as_host"] is not True:
        fail("%s: %r" % (server, hosts[server]))
    print("fleet_kill_report central check: %d kills of a 3-node log, each under its node (%s)"
          % (len(expected), ", ".join("%s %d" % (n, hosts[n]["kills"] + hosts[n]["probes"]) for n in nodes)))


if __name__ == "__main__":
    main(*sys.argv[1:])
