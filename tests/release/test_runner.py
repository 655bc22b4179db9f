"""The collection's playbooks through ansible-runner, the engine AWX / Automation Controller runs
every job with: a private data directory (project, inventory, env), the installed tarball, and
then what AWX reads back: the status, the return code, the job events and the artifacts.

Against this machine (localhost, connection local, real auditd), as root. Kernel audit state is
global: rules are loaded under the machine-wide test lock (tests/lib/auditlock.py), the demo runs
under the guard of tests/lib/hoststate.py (the host's audit state put back and checked after),
with rule keys and a rule set name unique to the test.
"""
import glob
import json
import os
import subprocess
import time

import pytest
import yaml

from conftest import release_tool, run
from tests.lib import hoststate, liveaudit
from tests.lib.auditlock import audit_test_lock
from tests.lib.env import target_python

REASON = liveaudit.audit_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason="needs the kernel audit subsystem and auditd: %s" % REASON)

PYTHON = target_python()


def make_job(base, installed, playbook, extravars):
    """A private data directory whose project imports the collection's playbook by its FQCN."""
    pdd = os.path.join(str(base), "job")
    for sub in ("project", "inventory", "env"):
        os.makedirs(os.path.join(pdd, sub))
    with open(os.path.join(pdd, "project", playbook + ".yml"), "w") as f:
        yaml.safe_dump([{"name": "auditfleet.auditd." + playbook,
                         "ansible.builtin.import_playbook": "auditfleet.auditd." + playbook}], f)
    with open(os.path.join(pdd, "inventory", "hosts"), "w") as f:
        f.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % PYTHON)
    collections = installed[0]
    with open(os.path.join(pdd, "env", "envvars"), "w") as f:
        yaml.safe_dump({"ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
                        "ANSIBLE_LOCAL_TEMP": os.path.join(str(base), "tmp"), "ANSIBLE_NOCOLOR": "1",
                        "ANSIBLE_RETRY_FILES_ENABLED": "false"}, f)
    with open(os.path.join(pdd, "env", "extravars"), "w") as f:
        yaml.safe_dump(extravars, f)
    return pdd


def run_job(pdd, playbook, ident):
    res = run([release_tool("ansible-runner"), "run", pdd, "-p", playbook + ".yml", "--ident", ident],
              stdin=subprocess.DEVNULL)
    artifacts = os.path.join(pdd, "artifacts", ident)
    events = []
    for path in glob.glob(os.path.join(artifacts, "job_events", "*.json")):
        with open(path) as f:
            events.append(json.load(f))
    events.sort(key=lambda e: e["counter"])
    return res, artifacts, events


def read(path):
    with open(path) as f:
        return f.read()


def task_events(events, task, kind="runner_on_ok"):
    return [e for e in events if e["event"] == kind and e["event_data"].get("task") == task]


def check_job(res, artifacts, events, plays):
    """What AWX looks at: status, rc, stdout, the event stream from start to stats."""
    assert res.returncode == 0, res.stdout
    assert read(os.path.join(artifacts, "status")) == "successful"
    assert read(os.path.join(artifacts, "rc")) == "0"
    assert "PLAY RECAP" in read(os.path.join(artifacts, "stdout"))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "playbook_on_start" and kinds[-1] == "playbook_on_stats", kinds
    assert [e["counter"] for e in events] == list(range(1, len(events) + 1))  # none lost
    assert not [e for e in events if e["event"] in ("runner_on_failed", "runner_on_unreachable")]
    assert [e["event_data"]["play"] for e in events if e["event"] == "playbook_on_play_start"] == plays
    stats = events[-1]["event_data"]
    assert stats["failures"] == {} and stats["dark"] == {} and stats["ok"].get("localhost", 0) > 0
    return stats


def test_kill_report_job(installed, tmp_path):
    key = liveaudit.new_key("afrun")
    tail = liveaudit.LogTail()
    with audit_test_lock():
        with liveaudit.kill_rules(key):
            victim = subprocess.Popen(["sleep", "300"])
            try:
                subprocess.run(["/usr/bin/kill", "-TERM", str(victim.pid)], check=True, timeout=30)
                victim.wait(timeout=30)
            finally:
                if victim.poll() is None:
                    victim.kill()
            data = tail.wait_for(lambda d: ('key="%s"' % key).encode() in d)
            assert ('key="%s"' % key).encode() in data, "auditd did not write the kill"
    time.sleep(0.1)

    pdd = make_job(tmp_path, installed, "kill_report", {})
    report_dir = os.path.join(pdd, "artifacts", "kill_report", "report")
    with open(os.path.join(pdd, "env", "extravars"), "w") as f:
        yaml.safe_dump({"kill_report_keys": [key], "kill_report_since": "1h", "kill_report_dir": report_dir}, f)
    res, artifacts, events = run_job(pdd, "kill_report", "kill_report")
    print(res.stdout[-3000:])
    stats = check_job(res, artifacts, events, ["Kill report - read the kill reports of every host",
                                               "Kill report - write the fleet report on the controller"])
    assert stats["changed"].get("localhost", 0) >= 4  # the four files

    # the audit_facts task on the host returned the kill, with who did it
    (gather,) = task_events(events, "Read the audit log (kill reports, auditd status)")
    assert gather["event_data"]["host"] == "localhost"
    assert gather["event_data"]["task_action"] == "auditfleet.auditd.audit_facts"
    reports = gather["event_data"]["res"]["ansible_facts"]["auditd_kill_reports"]
    mine = [r for r in reports if r["target_pid"] == victim.pid]
    assert len(mine) == 1 and mine[0]["signal_name"] == "SIGTERM" and mine[0]["killer"]["comm"] == "kill"
    for name in ("json", "csv", "md", "html"):
        (written,) = task_events(events, "Write kill_report.%s" % name)
        assert written["event_data"]["res"]["changed"] is True
        assert written["event_data"]["res"]["dest"] == os.path.join(report_dir, "kill_report." + name)

    # the report files, in the job's artifacts directory
    assert sorted(os.listdir(report_dir)) == ["kill_report.csv", "kill_report.html", "kill_report.json",
                                              "kill_report.md"]
    with open(os.path.join(report_dir, "kill_report.json")) as f:
        report = json.load(f)
    assert report["totals"]["hosts_ok"] == 1 and report["totals"]["kills"] >= 1
    assert [r["host"] for r in report["reports"] if r["target_pid"] == victim.pid] == ["localhost"]
    assert str(victim.pid) in read(os.path.join(report_dir, "kill_report.csv"))
    # ansible-runner's fact cache (AWX keeps it per job) holds the facts of the host
    assert os.path.exists(os.path.join(artifacts, "fact_cache", "localhost"))


def test_demo_job(installed, tmp_path):
    suffix = liveaudit.new_key("afrun")
    extravars = {"auditfleet_demo_key": suffix, "auditfleet_demo_rule_set": suffix.replace("_", "-")}
    pdd = make_job(tmp_path, installed, "demo", extravars)
    start = time.time()
    with hoststate.guarded_host():
        print("waited %.1fs for the audit test lock" % (time.time() - start))
        start = time.time()
        before = liveaudit.run([liveaudit.AUDITCTL, "-l"]).stdout
        res, artifacts, events = run_job(pdd, "demo", "demo")
        after = liveaudit.run([liveaudit.AUDITCTL, "-l"]).stdout
    print("demo job: %.1fs" % (time.time() - start))
    print(res.stdout[-3000:])
    check_job(res, artifacts, events, ["Demo: who killed the sleep? Kill monitoring with auditfleet.auditd"])
    # the demo loaded the kill rule (under its key), printed the report, then removed what it added
    # the demo prints the kill set's rules from the role's result, which the module proved against
    # the kernel's rule list after the load (the demo itself no longer runs auditctl)
    (loaded,) = task_events(events, "Print the loaded kill rules")
    assert any(suffix in rule for rule in loaded["event_data"]["res"]["msg"]), loaded["event_data"]["res"]
    assert task_events(events, "Check that the kill rules are loaded")
    (printed,) = task_events(events, "Print the kill report")
    lines = printed["event_data"]["res"]["msg"]
    assert lines[0].startswith("Kill report, event ") and ("rule key %s" % suffix) in lines[0]
    assert any(line.startswith("who ") and "auditfleet-demo" in line for line in lines), lines
    assert any(line.startswith("signal ") and "SIGTERM" in line for line in lines), lines
    assert task_events(events, "Check the report names the demo user, root, the kill and the sleep")
    assert task_events(events, "Remove the kill rule set and unload its rules (it was not there before)")
    assert suffix not in after
    assert after == before
    assert not os.path.exists("/etc/audit/rules.d/50-%s.rules" % extravars["auditfleet_demo_rule_set"])
