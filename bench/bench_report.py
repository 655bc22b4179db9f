"""Benchmark the fleet kill report on the controller: 1000 hosts x 100 kills, through the playbook.

    python bench/bench_report.py                       # 1000 hosts x 100 kills, baseline 100 hosts
    python bench/bench_report.py --hosts 200 --kills 50 --baseline-hosts 20
    make bench-report                                  # the same, with ansible-core 2.16 and 2.21

What runs is the playbook auditfleet.auditd.kill_report itself (ansible-playbook, the filters
and templates of this checkout), on an inventory of N hosts with `ansible_connection=local`.
The one stand-in is auditfleet.auditd.audit_facts: an action plugin that returns, without
reading any log, K kill reports per host made from a report of the real parser (varied: time,
login user, command, signal, target, success), plus the auditd status and log summary. So
play 1 costs what Ansible costs per host, and play 2 (aggregate, then write JSON, CSV, Markdown
and HTML) is exactly what an operator's controller does.

Figures, per toolchain: wall seconds of the whole run and of play 2 alone (a callback times
each task), peak RSS of ansible-playbook (the largest process of the run), and the size of
each file. Baselines measured in the same run: the same playbook on --baseline-hosts hosts
(scaling: the ratio per kill), and in-process, on the same data, json.dumps of the kill
reports (the floor: serialising the data once) next to the filters called as the playbook
calls them. Nothing is asserted.
"""

import argparse
import re
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
sys.path.insert(0, ROOT)
from tests.lib.env import collection_tree, import_collection  # noqa: E402

# The kill report every stand-in report is made from: what the parser gives for one real
# kill event (the kill_reports filter over these records).
TEMPLATE_EVENT = (
    'type=SYSCALL msg=audit(1795653001.000:1): arch=c000003e syscall=62 success=yes exit=0 a0=1092 '
    'a1=f a2=0 a3=0 items=0 ppid=1 pid=5001 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 '
    'fsgid=0 tty=pts1 ses=3 comm="kill" exe="/usr/bin/kill" key="kill_rule"\x1dARCH=x86_64 SYSCALL=kill '
    'AUID="alice" UID="root"\n'
    'type=OBJ_PID msg=audit(1795653001.000:1): opid=4242 oauid=-1 ouid=0 oses=-1 ocomm="sleep"\n'
    'type=PROCTITLE msg=audit(1795653001.000:1): proctitle=6B696C6C002D5445524D0034323432\n'
)

STUB = r'''
"""Stand-in for auditfleet.auditd.audit_facts (bench/bench_report.py): K varied kill reports."""
import copy
import json
import os

from ansible.plugins.action import ActionBase

with open(os.path.join(os.path.dirname(__file__), "template.json")) as f:
    TEMPLATE = json.load(f)
USERS = ["alice", "bob", "carol", "dave", None, "erin", "frank", "grace"]
COMMANDS = [("kill", "/usr/bin/kill"), ("pkill", "/usr/bin/pkill"), ("systemd", "/usr/lib/systemd/systemd"),
            ("bash", "/usr/bin/bash"), ("monit", "/usr/bin/monit"), ("python3", "/usr/bin/python3.11")]
TARGETS = ["nginx", "postgres", "sleep", "java", "sshd", "cron", "node", "redis-server", "php-fpm8.2"]
SIGNALS = [(15, "SIGTERM"), (9, "SIGKILL"), (1, "SIGHUP"), (2, "SIGINT"), (10, "SIGUSR1"), (0, None)]
ARCHES = ["x86_64", "aarch64", "i386"]


def reports(host, index, count, start):
    out = []
    for i in range(count):
        n = index * 7919 + i * 104729
        r = copy.deepcopy(TEMPLATE)
        stamp = start + (n % 86400000) / 1000.0
        signal, name = SIGNALS[n % len(SIGNALS)]
        comm, exe = COMMANDS[(n // 7) % len(COMMANDS)]
        target = TARGETS[(n // 11) % len(TARGETS)]
        pid = 1000 + n % 60000
        user = USERS[(n // 3) % len(USERS)]
        ok = n % 13 != 0
        r.update(event_id="%.3f:%d" % (stamp, i + 1), timestamp=stamp,
                 time="%s.%03dZ" % (__import__("time").strftime("%Y-%m-%dT%H:%M:%S", __import__("time").gmtime(int(stamp))),
                                    int(round((stamp % 1) * 1000)) % 1000),
                 host=host, arch=ARCHES[index % 3] if i % 5 else "i386", signal=signal, signal_name=name,
                 probe=signal == 0, target_pid=pid, success=ok, exit=0 if ok else -1, errno=None if ok else "EPERM")
        k = r["killer"]
        k.update(pid=2000 + n % 30000, auid=None if user is None else 1000 + USERS.index(user), login_user=user,
                 comm=comm, exe=exe, cmdline="%s -%d %d" % (comm, signal, pid), argv=[comm, "-%d" % signal, str(pid)])
        r["targets"] = [dict(r["targets"][0], pid=pid, comm=target)]
        out.append(r)
    return out


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        host = args["host_name"]
        count = int(task_vars["bench_kills"])
        found = reports(host, int(task_vars["bench_index"]), count, 1795600000.0)
        facts = {
            "auditd_kill_reports": found,
            "auditd_status": {"enabled": 1, "failure": 1, "pid": 812, "backlog": 0, "backlog_limit": 8192,
                              "lost": 0, "rate_limit": 0, "available": True, "immutable": False, "message": ""},
            "auditd_log_summary": {"files": [], "key_counts": {"kill_rule": count}, "total_kill_reports": count,
                                   "truncated": False},
        }
        return dict(result, changed=False, ansible_facts=facts)
'''

TIMER = r'''
"""Times each task of the run (bench/bench_report.py reads the JSON it writes)."""
import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.rows, self.current, self.play = [], None, None

    def _close(self):
        if self.current:
            self.rows.append(dict(self.current, seconds=time.time() - self.current["start"]))
            self.current = None

    def v2_playbook_on_play_start(self, play):
        self._close()
        self.play = play.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = {"play": self.play, "task": task.get_name(), "start": time.time()}

    def v2_playbook_on_stats(self, stats):
        self._close()
        with open(os.environ["BENCH_TIMES"], "w") as f:
            json.dump(self.rows, f)
'''


def make_collection(work):
    """This checkout as auditfleet.auditd, with the stand-in audit_facts; returns its collections path."""
    collections = collection_tree(work, ["galaxy.yml", "meta", "playbooks"] + ["plugins/" + name for name in (
        "filter", "plugin_utils", "module_utils", "lookup", "doc_fragments")],
        {"plugins/action/audit_facts.py": STUB, "plugins/action/template.json": json.dumps(template_report())})
    callbacks = os.path.join(work, "callbacks")
    os.makedirs(callbacks)
    with open(os.path.join(callbacks, "bench_timer.py"), "w") as f:
        f.write(TIMER)
    return collections, callbacks


def template_report():
    import_collection()
    from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports
    return list(kill_reports(TEMPLATE_EVENT))[0]


def run_playbook(toolchain, work, hosts, kills, playbook):
    collections, callbacks = make_collection(work) if not os.path.isdir(os.path.join(work, "collections")) \
        else (os.path.join(work, "collections"), os.path.join(work, "callbacks"))
    inventory = os.path.join(work, "inventory-%d.json" % hosts)
    with open(inventory, "w") as f:
        json.dump({"all": {"hosts": {"h%04d" % i: {"bench_index": i} for i in range(hosts)},
                           "vars": {"ansible_connection": "local", "bench_kills": kills}}}, f)
    out = os.path.join(work, "report-%d" % hosts)
    times = os.path.join(work, "times-%d.json" % hosts)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_CALLBACK_PLUGINS=callbacks, ANSIBLE_CALLBACKS_ENABLED="bench_timer",
               ANSIBLE_LOCAL_TEMP=os.path.join(work, "tmp"), ANSIBLE_RETRY_FILES_ENABLED="false",
               ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_ENABLED="yaml", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_FORKS="10", BENCH_TIMES=times, LC_ALL="C.UTF-8")
    env.pop("ANSIBLE_CONFIG", None)
    # No platform facts: on N hosts with a local connection, setup would time this machine's
    # Python start-up N times, not the report.
    argv = [os.path.join(toolchain, "bin", "ansible-playbook"), playbook, "-i", inventory,
            "-e", "kill_report_dir=%s" % out, "-e", "kill_report_gather_arch=false"]
    started = time.time()
    proc = subprocess.Popen(argv, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.time() - started
    if status != 0:
        sys.exit("ansible-playbook failed (status %d):\n%s" % (status, output.decode(errors="replace")[-4000:]))
    with open(times) as f:
        rows = json.load(f)
    play2 = sum(r["seconds"] for r in rows if r["play"].startswith("Kill report - write"))
    sizes = {name: os.path.getsize(os.path.join(out, name)) for name in sorted(os.listdir(out))}
    # ru_maxrss of RUSAGE_CHILDREN-like usage from wait4: the largest process of the run
    return {"wall": wall, "play2": play2, "rss_mib": usage.ru_maxrss / 1024.0, "tasks": rows, "sizes": sizes}


def _hwm_kib():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def _reset_hwm():
    with open("/proc/self/clear_refs", "w") as f:     # Linux: the peak RSS starts again from now
        f.write("5")


def in_process(hosts, kills):
    """Run in a child: the same data as the playbook's hostvars; json.dumps of the reports (the
    floor: serialising the data once) and the filters called as the playbook calls them. Prints
    JSON: per step wall seconds, peak RSS during the step above the RSS before it, output size."""
    template = template_report()
    namespace = {}
    exec(compile(STUB.split("class ActionModule", maxsplit=1)[0].replace(
        'with open(os.path.join(os.path.dirname(__file__), "template.json")) as f:\n    TEMPLATE = json.load(f)',
        "TEMPLATE = None"), "stub", "exec"), namespace)
    namespace["TEMPLATE"] = template
    hostvars = {}
    for i in range(hosts):
        name = "h%04d" % i
        hostvars[name] = {"ansible_facts": {
            "auditd_kill_reports": namespace["reports"](name, i, kills, 1795600000.0),
            "auditd_status": {"enabled": 1, "pid": 812, "lost": 0, "available": True, "message": ""},
            "auditd_log_summary": {"truncated": False, "total_kill_reports": kills}},
            "kill_report_gather": {"changed": False}}
    from ansible_collections.auditfleet.auditd.plugins.filter.fleet_kill_report import fleet_kill_report
    from ansible_collections.auditfleet.auditd.plugins.filter import (
        kill_report_csv, kill_report_html, kill_report_markdown)
    from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_files import kill_report_files
    state = {}
    steps = (
        ("json.dumps of the reports", lambda: json.dumps(
            [r for h in hostvars.values() for r in h["ansible_facts"]["auditd_kill_reports"]])),
        ("fleet_kill_report", lambda: state.setdefault("report", fleet_kill_report(
            hostvars, hosts=list(hostvars), answered=list(hostvars), result_var="kill_report_gather"))),
        ("kill_report_files (all 4)", lambda: "".join(
            v for k, v in kill_report_files(state["report"]).items() if k != "summary")),
        ("  fleet_kill_report(json)", lambda: _json_file(state["report"])),
        ("  kill_report_csv", lambda: kill_report_csv.kill_report_csv(state["report"])),
        ("  kill_report_markdown", lambda: kill_report_markdown.kill_report_markdown(state["report"])),
        ("  kill_report_html", lambda: kill_report_html.kill_report_html(state["report"])),
    )
    figures = []
    for name, call in steps:
        before = _hwm_kib()
        _reset_hwm()
        base = _hwm_kib()
        start = time.perf_counter()
        out = call()
        seconds = time.perf_counter() - start
        peak = _hwm_kib()
        figures.append({"step": name, "seconds": seconds, "peak_mib": (peak - base) / 1024.0,
                        "size": len(out) if isinstance(out, str) else None, "hwm_before_mib": before / 1024.0})
        del out
    return figures


def _json_file(report):
    from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetjson import render_json
    return render_json(report)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=100, help="kill reports per host")
    parser.add_argument("--baseline-hosts", type=int, default=100)
    parser.add_argument("--toolchain", action="append",
                        help="a virtualenv with ansible-core (default: .venv/ansible-2.16 and .venv/ansible-2.21)")
    parser.add_argument("--playbook", default="auditfleet.auditd.kill_report")
    parser.add_argument("--skip-playbook", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    toolchains = [os.path.abspath(t) for t in args.toolchain] if args.toolchain else [os.path.join(ROOT, ".venv", "ansible-%s" % v) for v in ("2.16", "2.21")]

    if args.child:
        print(json.dumps(in_process(args.hosts, args.kills)))
        return
    # In a child: Linux keeps the parent's peak RSS in a forked child, so this process stays small.
    child = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--hosts", str(args.hosts),
                            "--kills", str(args.kills)], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    print("filters in one process (%s, Python %s): %d hosts x %d kills; peak = RSS growth during the step"
          % (sys.executable, sys.version.split()[0], args.hosts, args.kills))
    floor = figures[0]["seconds"]
    for fig in figures:
        print("  %-26s %7.2f s %6.2fx json.dumps  peak +%7.1f MiB%s" % (
            fig["step"], fig["seconds"], fig["seconds"] / floor, fig["peak_mib"],
            "" if fig["size"] is None else "  output %6.1f MiB" % (fig["size"] / 1048576.0)))
    if args.skip_playbook:
        return
    os.makedirs(OUT, exist_ok=True)
    for toolchain in toolchains:
        work = tempfile.mkdtemp(prefix="bench-report-", dir=OUT)
        try:
            version = subprocess.run([os.path.join(toolchain, "bin", "python"), "-c",
                                      "import ansible.release as r; print(r.__version__)"],
                                     stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
            print("\nansible-core %s (%s): the playbook" % (version, toolchain))
            results = {}
            for hosts in (args.baseline_hosts, args.hosts):
                res = results[hosts] = run_playbook(toolchain, work, hosts, args.kills, args.playbook)
                print("  %5d hosts x %d kills: run %7.1f s, play 2 %6.1f s, peak RSS %7.1f MiB; files %s" % (
                    hosts, args.kills, res["wall"], res["play2"], res["rss_mib"],
                    ", ".join("%s %.1f MiB" % (n, s / 1048576.0) for n, s in res["sizes"].items())))
                for row in res["tasks"]:
                    if row["play"].startswith("Kill report - write"):
                        print("        %6.2f s  %s" % (row["seconds"], row["task"]))
            base, big = results[args.baseline_hosts], results[args.hosts]
            scale = float(args.hosts) / args.baseline_hosts
            print("  ratio %d/%d hosts: run %.2fx, play 2 %.2fx (linear would be %.0fx)" % (
                args.hosts, args.baseline_hosts, big["wall"] / base["wall"], big["play2"] / max(base["play2"], 1e-9), scale))
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
