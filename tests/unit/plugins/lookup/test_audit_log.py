"""The lookup through Ansible's plugin loader: paths, globs, rotation order, errors."""
import gzip

import pytest

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader

LINE = ('type=SYSCALL msg=audit(%d.100:%d): arch=c000003e syscall=62 success=yes exit=0 '
        'a0=3e8 a1=f a2=0 a3=0 items=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 '
        'egid=0 sgid=0 fsgid=0 tty=pts1 ses=2 comm="kill" exe="/usr/bin/kill" key="%s"\n'
        'type=PROCTITLE msg=audit(%d.100:%d): proctitle=6B696C6C\n')


def write(path, serial, key="kill_rule"):
    path.write_text(LINE % (1700000000 + serial, serial, key, 1700000000 + serial, serial))


@pytest.fixture
def lookup():
    return lookup_loader.get("auditfleet.auditd.audit_log")


def test_rotated_files_oldest_first(tmp_path, lookup):
    for serial, name in [(3, "audit.log"), (2, "audit.log.1"), (1, "audit.log.2")]:
        write(tmp_path / name, serial)
    events = lookup.run([str(tmp_path / "audit.log*")], {})
    assert [e["serial"] for e in events] == [1, 2, 3]
    assert [e["serial"] for e in lookup.run([str(tmp_path / "audit.log")], {}, rotated=True)] == [1, 2, 3]
    assert [e["serial"] for e in lookup.run([str(tmp_path / "audit.log")], {})] == [3]


def test_kill_report_with_keys_and_gzip(tmp_path, lookup):
    write(tmp_path / "a.log", 1)
    with gzip.open(str(tmp_path / "b.log.gz"), "wt") as f:
        f.write(LINE % (1700000002, 2, "other", 1700000002, 2))
    reports = lookup.run([str(tmp_path / "*.log*")], {}, report="kill")
    assert sorted(r["key"] for r in reports) == ["kill_rule", "other"]
    reports = lookup.run([str(tmp_path / "*.log*")], {}, report="kill", keys=["other"])
    assert [r["signal_name"] for r in reports] == ["SIGTERM"]


def test_missing_file_names_the_path(tmp_path, lookup):
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run([str(tmp_path / "nope.log")], {})
    assert "nope.log" in str(err.value)
    with pytest.raises(AnsibleLookupError) as err:
        lookup.run([str(tmp_path / "nope*.log")], {})
    assert "no file matches" in str(err.value)


def test_bad_report_choice(tmp_path, lookup):
    write(tmp_path / "a.log", 1)
    with pytest.raises(Exception) as err:
        lookup.run([str(tmp_path / "a.log")], {}, report="kills")
    assert "kills" in str(err.value)


def test_central_log_server_kills_count_under_their_nodes(tmp_path, lookup):
    """A log server's log (bench/gen_log.py writes node= before every record, as auditd does for
    the records it receives): the fleet report has one host per node, not one "(none)"."""
    import json
    import os
    import subprocess
    import sys

    from ansible_collections.auditfleet.auditd.plugins.filter.fleet_kill_report import fleet_kill_report
    from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_markdown import kill_report_markdown

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    log = tmp_path / "audit.log"
    proc = subprocess.run([sys.executable, os.path.join(root, "bench", "gen_log.py"), "--size", "1M", "--nodes", "3",
                           "--seed", "3", "--out", str(log)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=True)
    summary = json.loads(proc.stderr.split("summary-json: ", 1)[1].splitlines()[0])
    nodes = sorted(summary["nodes"])
    reports = lookup.run([str(log)], {}, report="kill", keys=["kill_rule"])
    assert len(reports) > 100 and {r["host"] for r in reports} == {None}
    per_node = {}
    for report in reports:
        per_node[report["node"]] = per_node.get(report["node"], 0) + 1
    assert sorted(per_node) == nodes
    fleet = fleet_kill_report(reports)
    assert sorted(h["host"] for h in fleet["hosts"]) == nodes
    listed = {}
    for report in fleet["reports"]:
        listed[report["host"]] = listed.get(report["host"], 0) + 1
    assert listed == {node: per_node[node] - sum(1 for r in reports if r["node"] == node and r["probe"])
                      for node in nodes}
    assert "(none)" not in fleet["counts"]["by_host"]
    md = kill_report_markdown(fleet)
    for node in nodes:
        assert "| %s | ok |" % node in md


def test_a_gap_in_the_rotated_files_is_read_past_and_warned_about(tmp_path, lookup, monkeypatch):
    import ansible_collections.auditfleet.auditd.plugins.lookup.audit_log as plugin
    warnings = []
    monkeypatch.setattr(plugin.display, "warning", warnings.append)
    for serial, name in [(3, "audit.log"), (2, "audit.log.1"), (1, "audit.log.3")]:  # no .2
        write(tmp_path / name, serial)
    events = lookup.run([str(tmp_path / "audit.log")], {}, rotated=True)
    assert [e["serial"] for e in events] == [1, 2, 3]
    assert len(warnings) == 1 and "gap" in warnings[0] and str(tmp_path / "audit.log.2") in warnings[0]
    # no gap, no warning
    (tmp_path / "audit.log.3").rename(tmp_path / "audit.log.2")
    assert [e["serial"] for e in lookup.run([str(tmp_path / "audit.log")], {}, rotated=True)] == [1, 2, 3]
    assert len(warnings) == 1
