"""Kill reports of pidfd_send_signal, rt_sigqueueinfo and rt_tgsigqueueinfo: edge cases a live
system does not produce on demand (other architectures, flags of newer kernels, failures), on
hand-made lines in the shapes the kernel writes. The behaviour on what this machine's kernel
and auditd really write is tested in test_killreport_live.py.
"""
import glob
import json
import os
import re
import subprocess

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import SYSCALLS
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import ParseStats, parse_events
from tests.lib.env import COLLECTIONS
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import (
    KILL_SYSCALLS, kill_reports)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")
GS = "\x1d"
# arch= code -> the syscall table the kernel numbers its syscalls from
ARCH_CODES = {"x86_64": "c000003e", "i386": "40000003", "aarch64": "c00000b7", "arm": "40000028",
              "ppc64le": "c0000015", "ppc": "00000014", "s390x": "80000016", "s390": "00000016"}
TABLE_OF = {"x86_64": "x86_64", "i386": "i386", "aarch64": "aarch64", "arm": "arm", "ppc64le": "ppc",
            "ppc": "ppc", "s390x": "s390x", "s390": "s390"}


def number(arch, name):
    return dict((v, k) for k, v in SYSCALLS[TABLE_OF[arch]].items())[name]


def event(serial, name, args, arch="x86_64", exit_=0, targets=((4242, "sleep"),), key="k"):
    stamp = "1700000000.%03d:%d" % (serial % 1000, serial)
    regs = " ".join("a%d=%s" % (i, a) for i, a in enumerate(list(args) + ["0"] * (4 - len(args))))
    lines = ['type=SYSCALL msg=audit(%s): arch=%s syscall=%d success=%s exit=%d %s items=0 ppid=1 '
             'pid=777 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=2 '
             'comm="systemd" exe="/usr/lib/systemd/systemd" key="%s"'
             % (stamp, ARCH_CODES[arch], number(arch, name), "yes" if exit_ == 0 else "no", exit_, regs, key)
             + GS + 'AUID="alice" UID="root"']
    for pid, comm in targets:
        lines.append('type=OBJ_PID msg=audit(%s): opid=%d oauid=-1 ouid=0 oses=-1 ocomm="%s"'
                     % (stamp, pid, comm) + GS + 'OAUID="unset" OUID="root"')
    lines.append("type=PROCTITLE msg=audit(%s): proctitle=%s" % (stamp, b"systemd".hex().upper()))
    return "\n".join(lines) + "\n"


def one(text, **kw):
    reports = list(kill_reports(text, **kw))
    assert len(reports) == 1, reports
    return reports[0]


@pytest.mark.parametrize("arch", sorted(ARCH_CODES))
def test_every_arch_names_the_three(arch):
    """Each ABI numbers them its own way (i386: 424, 178, 335); each report names them."""
    text = (event(1, "pidfd_send_signal", ["5", "f"], arch)
            + event(2, "rt_sigqueueinfo", ["10f2", "a", "7ffd0000"], arch)
            + event(3, "rt_tgsigqueueinfo", ["10f2", "10f3", "c", "7ffd0000"], arch))
    pidfd, queue, tgqueue = list(kill_reports(text))
    assert (pidfd["syscall"], pidfd["pidfd"], pidfd["signal_name"], pidfd["target_pid"]) == \
        ("pidfd_send_signal", 5, "SIGTERM", 4242)
    assert (queue["syscall"], queue["target_pid"], queue["target_tid"], queue["signal_name"], queue["scope"]) == \
        ("rt_sigqueueinfo", 0x10f2, None, "SIGUSR1", "process")
    assert (tgqueue["syscall"], tgqueue["target_pid"], tgqueue["target_tid"], tgqueue["signal_name"],
            tgqueue["scope"]) == ("rt_tgsigqueueinfo", 0x10f2, 0x10f3, "SIGUSR2", "thread")


@pytest.mark.parametrize("flags, scope, target_pid", [
    ("0", "process", 4242), ("1", "thread", 4242), ("2", "process", 4242),
    ("4", "process_group", None),   # the group the pidfd's process leads: OBJ_PID lists its members
])
def test_pidfd_flags_give_the_scope(flags, scope, target_pid):
    rep = one(event(1, "pidfd_send_signal", ["3", "9", "0", flags]))
    assert rep["scope"] == scope and rep["target_pid"] == target_pid and rep["target_tid"] is None
    assert rep["warnings"] == []


@pytest.mark.parametrize("sentinel, scope", [("ffffffffffffd8f0", "thread"),    # PIDFD_SELF_THREAD
                                             ("ffffffffffffd8ef", "process")])  # PIDFD_SELF_THREAD_GROUP
def test_pidfd_self_sentinels_name_the_caller_without_obj_pid(sentinel, scope):
    rep = one(event(1, "pidfd_send_signal", [sentinel, "0"], targets=()))
    assert rep["pidfd"] in (-10000, -10001) and rep["scope"] == scope
    assert rep["target_pid"] == 777 and rep["probe"] is True
    assert rep["warnings"] and "no OBJ_PID record" in rep["warnings"][0]


def test_pidfd_without_obj_pid_has_no_target_and_says_why():
    rep = one(event(1, "pidfd_send_signal", ["3", "f"], targets=()))
    assert rep["target_pid"] is None and rep["targets"] == [] and rep["success"] is True
    assert rep["warnings"] == [
        "target unknown: no OBJ_PID record (the kernel records the targets of signals only while "
        "an audit exit rule watches kill, tkill or tgkill)"]


def test_failures_before_a_target_say_so_and_esrch_needs_no_word():
    bad_fd = one(event(1, "pidfd_send_signal", ["63", "f"], exit_=-9, targets=()))
    assert bad_fd["errno"] == "EBADF" and bad_fd["target_pid"] is None
    assert "failed with EBADF before a target was checked" in bad_fd["warnings"][0]
    gone = one(event(2, "pidfd_send_signal", ["3", "f"], exit_=-3, targets=()))
    assert gone["errno"] == "ESRCH" and gone["warnings"] == []
    nosuch = one(event(3, "rt_sigqueueinfo", ["7fff", "a"], exit_=-3, targets=()))
    assert nosuch["target_pid"] == 0x7fff and nosuch["warnings"] == []


def test_sigqueue_without_obj_pid_keeps_the_target_of_its_arguments():
    rep = one(event(1, "rt_tgsigqueueinfo", ["64", "65", "2"], targets=()))
    assert (rep["target_pid"], rep["target_tid"], rep["signal_name"]) == (100, 101, "SIGINT")
    assert rep["warnings"][0].startswith("target known by its pid only")


def test_old_syscalls_gain_the_new_fields_only():
    rep = one(event(1, "kill", ["10f2", "9"]))
    assert rep["pidfd"] is None and rep["warnings"] == [] and rep["scope"] == "process"
    assert rep["target_pid"] == 0x10f2 and rep["signal_name"] == "SIGKILL"


def test_events_and_records_give_the_same_reports():
    """kill_reports from grouped records (the log path) equals the one from parsed events."""
    text = "".join(event(i, name, args, targets=targets) for i, (name, args, targets) in enumerate([
        ("pidfd_send_signal", ["3", "f", "0", "4"], ((10, "sh"), (11, "sleep"))),
        ("pidfd_send_signal", ["3", "0"], ()),
        ("rt_sigqueueinfo", ["10f2", "a"], ((4338, "sleep"),)),
        ("rt_tgsigqueueinfo", ["10f2", "10f3", "c"], ()),
    ]))
    from_records = list(kill_reports(text))
    from_events = list(kill_reports(events=parse_events(text)))
    assert len(from_records) == 4 and from_records == from_events


def test_syscall_prefilter_keeps_them():
    """Without keys, the parser drops other syscalls before decoding; these six stay."""
    text = "".join(event(i, name, ["10", "f", "11", "f"]) for i, name in enumerate(KILL_SYSCALLS))
    text += event(9, "getppid" if "getppid" in SYSCALLS["x86_64"].values() else "getpid", [])
    stats = ParseStats()
    assert [r["syscall"] for r in kill_reports(text, stats=stats)] == list(KILL_SYSCALLS)
    assert stats.matched == 6


def test_every_report_field_is_documented():
    """docs/kill-report.md and the kill_reports filter's RETURN name every field of a report."""
    rep = one(event(1, "pidfd_send_signal", ["3", "f"]))
    with open(os.path.join(ROOT, "docs", "kill-report.md")) as f:
        doc = f.read()
    table = set()
    for line in doc.splitlines():
        if line.startswith("| `"):
            table.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    assert set(rep) <= table, set(rep) - table
    with open(os.path.join(ROOT, "plugins", "filter", "kill_reports.py")) as f:
        plugin = f.read()
    returned = plugin[plugin.index('RETURN = r"""'):]
    for field in rep:
        assert re.search(r"^    %s:$" % field, returned, re.M), field
    for name in KILL_SYSCALLS:
        assert "`%s`" % name in doc and "C(%s)" % name in returned, name


def edge_log():
    return "".join([
        event(1, "pidfd_send_signal", ["3", "f", "0", "4"], targets=((10, "sh"), (11, "sleep"))),
        event(2, "pidfd_send_signal", ["ffffffffffffd8f0", "0"], targets=()),
        event(3, "pidfd_send_signal", ["63", "9"], exit_=-9, targets=()),
        event(4, "rt_sigqueueinfo", ["10f2", "a"], arch="i386"),
        event(5, "rt_tgsigqueueinfo", ["10f2", "10f3", "c"], arch="aarch64", targets=()),
    ])


def target_pythons():
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    return found or ["none"]


@pytest.mark.parametrize("python", target_pythons())
def test_same_reports_on_every_target_python(python):
    """Target-side code: the new branches give the same reports on Python 3.6 ... 3.13."""
    if python == "none":
        pytest.skip("no pyenv Pythons on this machine")
    script = ("import json, sys\n"
              "sys.path.insert(0, sys.argv[1])\n"
              "from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports\n"
              "print(json.dumps(list(kill_reports(sys.stdin.read())), sort_keys=True))\n")
    res = subprocess.run([python, "-c", script, COLLECTIONS],
                         input=edge_log(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == json.loads(json.dumps(list(kill_reports(edge_log())), sort_keys=True))
