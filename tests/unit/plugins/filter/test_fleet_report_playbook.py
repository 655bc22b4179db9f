"""The kill_report playbook itself (playbooks/kill_report.yml), run by ansible-playbook on
made-up facts: no root, no auditd.

The collection is assembled in a temporary tree from this checkout's playbooks and plugins
(tests/lib/env.py's collection_tree()), with one difference: auditfleet.auditd.audit_facts is a stand-in action plugin that returns the facts
each host holds in its inventory variable fake_facts (or fails, or raises the connection error
of an unreachable host). Play 1 thus runs as written, and play 2 aggregates and writes the files
with the real filters, through the real templating of the ansible-core under test.
"""
import csv
import io
import json
import os
import subprocess
import sys

import pytest

from fleet_data import FORMULA, SCRIPT, kill_event, reports_for
from tests.lib.env import ROOT, ansible_env, collection_tree

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

STUB = '''
from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    """Stand-in for auditfleet.auditd.audit_facts: returns the host's fake_facts."""

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        if task_vars.get("fake_unreachable"):
            raise AnsibleConnectionFailure(task_vars["fake_unreachable"])
        if task_vars.get("fake_failure"):
            return dict(result, failed=True, msg=task_vars["fake_failure"])
        args = dict(self._task.args)
        expected = task_vars.get("fake_expect_args")
        norm = lambda value: value if isinstance(value, list) else str(value)  # 2.16 templates ints to text
        if expected is not None and any(norm(args.get(k)) != norm(v) for k, v in expected.items()):
            return dict(result, failed=True, msg="unexpected arguments %r" % (args,))
        facts = dict(task_vars["fake_facts"])
        facts["auditd_kill_reports"] = [dict(r, host=args["host_name"]) for r in facts["auditd_kill_reports"]]
        return dict(result, changed=False, ansible_facts=facts)
'''


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    if not os.path.exists(PLAYBOOK_BIN):
        pytest.skip("no ansible-playbook next to %s" % sys.executable)
    return collection_tree(tmp_path_factory.mktemp("fleetpb"),
                           ["galaxy.yml", "meta", "playbooks", "plugins/filter", "plugins/plugin_utils",
                            "plugins/module_utils", "plugins/lookup"],
                           {"plugins/action/audit_facts.py": STUB})


def facts(*events, truncated=False, total=None, lost=0, pid=99):
    reports = reports_for(None, *events)
    return {
        "auditd_kill_reports": reports,
        "auditd_status": {"enabled": 1, "failure": 1, "pid": pid, "backlog": 0, "backlog_limit": 8192,
                          "lost": lost, "rate_limit": 0, "available": True, "message": ""},
        "auditd_log_summary": {"files": [], "key_counts": {"kill_rule": len(reports)},
                               "total_kill_reports": total if total is not None else len(reports),
                               "truncated": truncated, "stats": {}},
    }


NASTY = ("sh", "-c", 'kill -9 $(pgrep x) | tee "a,b"\nline2 ' + SCRIPT)
# Log data that looks like a template must stay text: never run on the controller.
INJECTION = ("sh", "-c", "{{ lookup('ansible.builtin.pipe', 'touch PWNED') }} {{ 7 * 7 }}")


def inventory(path):
    hosts = {
        "web1": {"fake_facts": facts(
            kill_event(1, 10.0, signal=15, login="alice", user="root"),
            kill_event(2, 12.0, signal=9, comm="<script>", argv=NASTY, target_comm="x|y", login="eve", user="root"),
            kill_event(3, 13.0, signal=0, comm="monit", argv=("monit",), login=None, user="root"),
            kill_event(5, 14.0, signal=1, comm="{{ 6 * 7 }}", argv=INJECTION, login="mallory", user="root")),
            "fake_expect_args": {"keys": ["kill_rule", "other"], "host_name": "web1", "since": "7d", "max_events": 500}},
        "web2": {"fake_facts": facts(kill_event(4, 11.0, signal=9, auid=1001, success=False),
                                     truncated=True, total=2000, lost=3)},
        # auditd stopped (auditctl -s: pid 0) after zed's kills: a warning, not a healthy host
        "web3": {"fake_facts": facts(*[kill_event(10 + i, 20.0 + i, signal=15, comm=FORMULA[:15], argv=(FORMULA,),
                                                  login="zed", user="root") for i in range(3)], pid=0)},
        # a central log server: its log holds the records of other machines, each with its node=
        "logserver": {"fake_facts": facts(*[kill_event(20 + i, 30.0 + i, node="node%d" % (i % 2), login="ops",
                                                       user="root") for i in range(4)])},
        "db1": {"fake_failure": "auditd is not installed on this host"},
        "ghost": {"fake_unreachable": "Failed to connect to the host via ssh: Connection refused"},
    }
    path.write_text(json.dumps({"all": {"hosts": hosts, "vars": {"ansible_connection": "local"}}}))


def run_playbook(collection, tmp_path, *extra):
    inv = tmp_path / "inventory.json"
    inventory(inv)
    env = ansible_env(collection, base=tmp_path, ANSIBLE_INVENTORY_ENABLED="yaml")
    out = tmp_path / "out"
    argv = [PLAYBOOK_BIN, "auditfleet.auditd.kill_report", "-i", str(inv), "-e", "kill_report_dir=%s" % out]
    proc = subprocess.run(argv + list(extra), cwd=str(tmp_path), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=600, check=False)
    return proc, out


def test_playbook_writes_the_four_files_and_names_failed_hosts(collection, tmp_path):
    proc, out = run_playbook(collection, tmp_path, "-e", '{"kill_report_keys": ["kill_rule", "other"]}',
                             "-e", "kill_report_since=7d", "-e", '{"kill_report_max_events": 500}')
    # every host of play 1 ran (failed ones ignored), play 2 wrote the files, then failed on purpose
    assert proc.returncode == 2, proc.stdout
    assert "2 of 6 hosts did not answer: db1, ghost" in proc.stdout
    assert "web3: auditd is not running (auditctl -s: pid 0)" in proc.stdout     # the summary says it too
    assert sorted(os.listdir(str(out))) == ["kill_report.csv", "kill_report.html", "kill_report.json", "kill_report.md"]
    assert oct(os.stat(str(out / "kill_report.csv")).st_mode & 0o777) == "0o640"

    report = json.loads((out / "kill_report.json").read_text())
    assert {(f["host"], f["state"], f["reason"]) for f in report["failed_hosts"]} == {
        ("db1", "failed", "auditd is not installed on this host"),
        ("ghost", "unreachable", "Failed to connect to the host via ssh: Connection refused"),
    }
    kills = [(r["host"], r["signal_name"], r["killer"]["login_user"], r["targets"][0]["comm"]) for r in report["reports"]]
    assert kills == [("web1", "SIGTERM", "alice", "sleep"), ("web2", "SIGKILL", None, "sleep"),
                     ("web1", "SIGKILL", "eve", "x|y"), ("web1", "SIGHUP", "mallory", "sleep")] + \
        [("web3", "SIGTERM", "zed", "sleep")] * 3 + [("logserver", "SIGKILL", "ops", "sleep")] * 4
    assert [(p["host"], p["killer"]["comm"]) for p in report["probes"]] == [("web1", "monit")]
    assert report["parameters"] == {"hosts": "all", "keys": ["kill_rule", "other"], "since": "7d", "max_events": 500}
    hosts = {h["host"]: h for h in report["hosts"]}
    assert hosts["web2"]["truncated"] is True and hosts["web2"]["total_kill_reports"] == 2000
    assert hosts["web2"]["auditd"]["lost"] == 3
    assert hosts["web3"]["recording"] is False and "auditd is not running" in hosts["web3"]["warnings"][0]
    assert hosts["web1"]["arch"] == os.uname().machine and hosts["web1"]["arch_source"] == "facts"   # setup ran
    assert list(report["counts"]["by_login_user"]) == ["ops", "zed", "alice", "auid 1001", "eve", "mallory"]
    assert report["complete"] is False

    rows = list(csv.DictReader(io.StringIO((out / "kill_report.csv").read_text(), newline="")))
    assert [r["host"] for r in rows] == ["web1", "web2", "web1", "web1", "web1"] + ["web3"] * 3 + ["logserver"] * 4
    assert rows[2]["killer_cmdline"] == " ".join(NASTY) and rows[2]["killer_comm"] == "<script>"
    assert rows[3]["probe"] == "true"
    # a process named =cmd|' /C calc'!A0 (prctl and argv): no formula in the CSV by default
    assert rows[5]["killer_comm"] == "'" + FORMULA[:15] and rows[5]["killer_cmdline"] == "'" + FORMULA
    assert rows[5]["arch"] == "x86_64"

    # the template-looking command line is text in every file, and nothing ran: the pipe
    # lookup would run in the playbook's directory (this checkout's playbooks/), or in the cwd
    ran = [p for p in (str(tmp_path / "PWNED"), os.path.join(ROOT, "playbooks", "PWNED")) if os.path.lexists(p)]
    for path in ran:
        os.unlink(path)
    assert ran == [], "log data was templated and ran on the controller"
    assert report["reports"][3]["killer"]["cmdline"] == " ".join(INJECTION)
    assert rows[4]["killer_cmdline"] == " ".join(INJECTION) and rows[4]["killer_comm"] == "{{ 6 * 7 }}"
    for name, star in (("kill_report.md", "\\*"), ("kill_report.html", "*")):
        text = (out / name).read_text()
        assert "{{ 7 %s 7 }}" % star in text and "{{ 6 %s 7 }} (pid" % star in text, name
        assert " 49" not in text and "42 (pid" not in text, name

    md = (out / "kill_report.md").read_text()
    logins = md.split("## Kills per login user\n", 1)[1].split("\n## ", 1)[0]
    assert [line.split(" | ")[0][2:] for line in logins.splitlines() if line.startswith("| ")][1:] == [
        "ops", "zed", "alice", "auid 1001", "eve", "mallory"]                # most first, not alphabetical
    assert "> - web3: auditd is not running (auditctl -s: pid 0)" in md
    assert "| web1 | SIGKILL | kill (x86\\_64) | ok | eve | root | \\<script\\> (pid 5002) |" in md
    assert "| ghost | unreachable | Failed to connect to the host via ssh: Connection refused |" in md
    assert "web2: only the most recent 1 of 2000 kill reports were collected" in md

    page = (out / "kill_report.html").read_text()
    assert page.lower().count("<script") == 1 and "&lt;script&gt; (pid 5002)" in page
    assert '<td class="s-warning">warning</td>' in page
    assert "auditd is not installed on this host" in page


def test_playbook_hosts_and_probes_options(collection, tmp_path):
    proc, out = run_playbook(collection, tmp_path, "-e", "kill_report_hosts=web1", "-e", "kill_report_probes=hide",
                             "-e", json.dumps({"kill_report_title": "Web <tier>"}))
    # web1 expects other arguments (keys, since, max_events) than the defaults the playbook sends
    assert proc.returncode == 2, proc.stdout
    report = json.loads((out / "kill_report.json").read_text())
    assert report["failed_hosts"][0]["reason"].startswith("unexpected arguments")
    proc, out = run_playbook(collection, tmp_path, "-e", "kill_report_hosts=web2", "-e", "kill_report_probes=hide",
                             "-e", json.dumps({"kill_report_title": "Web <tier>"}))
    assert proc.returncode == 0, proc.stdout
    report = json.loads((out / "kill_report.json").read_text())
    assert report["probe_mode"] == "hide" and [h["host"] for h in report["hosts"]] == ["web2"]
    assert report["failed_hosts"] == [] and report["parameters"]["max_events"] is None
    assert (out / "kill_report.md").read_text().startswith("# Web \\<tier\\>\n")
    assert "<title>Web &lt;tier&gt;</title>" in (out / "kill_report.html").read_text()


def test_playbook_central_log_server_and_site_options(collection, tmp_path):
    """kill_report_node_as_host: a log server's log gives one host per node; the CSV raw for
    programs; the site's own Markdown template."""
    site = tmp_path / "site.md.j2"
    site.write_text("# {{ view.title }}\n{% for row in view.hosts.rows %}- {{ row[0] }}: {{ row[4] }}\n{% endfor %}")
    proc, out = run_playbook(collection, tmp_path, "-e", "kill_report_hosts=logserver,web3",
                             "-e", "kill_report_node_as_host=true", "-e", "kill_report_csv_spreadsheet_safe=false",
                             "-e", "kill_report_markdown_template=%s" % site)
    assert proc.returncode == 0, proc.stdout
    report = json.loads((out / "kill_report.json").read_text())
    assert report["counts"]["by_host"] == {"web3": 3, "node0": 2, "node1": 2}
    hosts = {h["host"]: h for h in report["hosts"]}
    assert set(hosts) == {"logserver", "node0", "node1", "web3"}
    assert hosts["node0"]["collected_from"] == "logserver" and hosts["logserver"]["kills"] == 0
    rows = list(csv.DictReader(io.StringIO((out / "kill_report.csv").read_text(), newline="")))
    assert [r["killer_comm"] for r in rows if r["host"] == "web3"] == [FORMULA[:15]] * 3
    assert (out / "kill_report.md").read_text() == (
        "# Fleet kill report\n- logserver: 0\n- node0: 2\n- node1: 2\n- web3: 3\n")
