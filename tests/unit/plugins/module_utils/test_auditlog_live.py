"""The parser on records the real kernel and auditd of this machine write during the test.

One module-scoped scenario loads kill rules keyed for this run, kills processes in many ways
(each kill is a real syscall by a real process), waits for auditd to write the records,
parses the new part of the log, and removes the rules. Each test then checks one kill.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import (
    MACHINES, SYSCALLS)
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    ParseStats, parse_events)
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports
from tests.lib import liveaudit
from tests.lib.auditlock import audit_test_lock

REASON = liveaudit.audit_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason="real auditd needed: %s" % REASON)

TEST_USER = "afut-killer"
KILL32_C = r"""
/* kill(pid, sig) through the i386 int 0x80 ABI, without libc (no multilib needed) */
static long sys3(long n, long a, long b, long c) {
    long r; __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
    return r; }
static long num(const char *s) { long v = 0, neg = 0; if (*s == '-') { neg = 1; s++; }
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0'); return neg ? -v : v; }
__attribute__((force_align_arg_pointer)) void start_c(long *sp) {
    char **argv = (char **)(sp + 1); long r = sys3(37, num(argv[1]), num(argv[2]), 0);
    sys3(1, r < 0 ? 1 : 0, 0, 0); for (;;) ; }
__asm__(".globl _start\n_start:\n mov %esp, %eax\n push %eax\n call start_c\n");
"""


def syscall_number(name):
    import platform
    table = MACHINES.get(platform.machine(), (None, None))[0]
    numbers = dict((v, k) for k, v in SYSCALLS.get(table, {}).items())
    return numbers[name]


def build_kill32(workdir):
    """A 32-bit killer, or (None, why not)."""
    return liveaudit.build_i386(workdir, "kill32", KILL32_C)


class Scenario(object):
    def __init__(self, workdir, user):
        self.workdir = workdir
        self.user = user
        self.children = []
        self.expect = {}

    def spawn(self, argv, **kwargs):
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, **kwargs)
        self.children.append(proc)
        return proc

    def sleeper(self, path="/bin/sleep", **kwargs):
        proc = self.spawn([path, "300"], **kwargs)
        liveaudit.wait_exec(proc.pid, os.path.basename(path))
        return proc

    def killer(self, argv, **kwargs):
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, **kwargs, check=False)
        return proc

    def cleanup(self):
        for proc in self.children:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


PY_SYSCALL = ("import ctypes, sys\n"
              "libc = ctypes.CDLL(None, use_errno=True)\n"
              "args = [int(a) for a in sys.argv[1:]]\n"
              "sys.exit(0 if libc.syscall(*args) == 0 else 1)\n")
PY_KILL = "import os, sys\ntry:\n    os.kill(int(sys.argv[1]), int(sys.argv[2]))\nexcept OSError:\n    sys.exit(1)\n"


@pytest.fixture(scope="module")
def live():
    """Run every kill once; yield (expectations, kill reports by name, raw log bytes, key)."""
    key = liveaudit.new_key()
    workdir = tempfile.mkdtemp(prefix="afut x ")  # a space, for names with spaces
    try:
        with audit_test_lock():
            user, created = liveaudit.ensure_user(TEST_USER)
            scen = Scenario(workdir, user)
            # the system Python: other users may run it (root's pyenv is not readable to them)
            py = os.path.realpath("/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                                  else sys.executable)
            kill_bin = shutil.which("kill", path="/usr/bin:/bin")
            spaced_kill = os.path.join(workdir, "kill er")
            shutil.copy(kill_bin, spaced_kill)
            spaced_sleep = os.path.join(workdir, "sle ep")
            shutil.copy("/bin/sleep", spaced_sleep)
            kill32, kill32_why = build_kill32(workdir)
            ex = scen.expect
            try:
                tail = liveaudit.LogTail()
                with liveaudit.kill_rules(key):
                    # 1. plain kill by root, no login uid
                    t = scen.sleeper()
                    r = scen.killer([kill_bin, "-TERM", str(t.pid)])
                    ex["kill"] = dict(target=t.pid, signal=15, ok=r.returncode == 0, comm="kill",
                                      exe=os.path.realpath(kill_bin), tcomm="sleep")
                    # 2. tkill and 3. tgkill through the raw syscalls
                    t = scen.sleeper()
                    scen.killer([py, "-c", PY_SYSCALL, str(syscall_number("tkill")), str(t.pid), "2"])
                    ex["tkill"] = dict(target=t.pid, signal=2, tcomm="sleep")
                    t = scen.sleeper()
                    scen.killer([py, "-c", PY_SYSCALL, str(syscall_number("tgkill")), str(t.pid),
                                 str(t.pid), "10"])
                    ex["tgkill"] = dict(target=t.pid, signal=10, tcomm="sleep")
                    # 4. signal 0: does it exist?
                    t = scen.sleeper()
                    scen.killer([py, "-c", PY_KILL, str(t.pid), "0"])
                    ex["probe"] = dict(target=t.pid, signal=0, tcomm="sleep")
                    # 5. a process group of three
                    g = scen.spawn(["/bin/sh", "-c", "/bin/sleep 300 & /bin/sleep 300 & wait"],
                                   start_new_session=True)
                    time.sleep(0.3)
                    members = [g.pid] + [int(p) for p in liveaudit.run(
                        ["pgrep", "-g", str(g.pid), "-x", "sleep"]).stdout.split()]
                    scen.killer([py, "-c", PY_KILL, str(-g.pid), "15"])
                    ex["group"] = dict(target=-g.pid, signal=15, members=sorted(members))
                    # 6. denied: the test user tries to kill root's process
                    t = scen.sleeper()
                    scen.killer([py, "-c", PY_KILL, str(t.pid), "9"],
                                preexec_fn=liveaudit.as_user(user.pw_uid, user.pw_gid, user.pw_uid))
                    ex["denied"] = dict(target=t.pid, signal=9, tcomm="sleep")
                    # 7. no such process
                    gone = liveaudit.free_pid()
                    scen.killer([py, "-c", PY_KILL, str(gone), "15"])
                    ex["nosuch"] = dict(target=gone, signal=15)
                    # 8. killer and target with spaces in their names
                    t = scen.sleeper(spaced_sleep)
                    scen.killer([spaced_kill, "-HUP", str(t.pid)])
                    ex["spaces"] = dict(target=t.pid, signal=1, exe=spaced_kill, tcomm="sle ep")
                    # 9. root with the test user's login uid (as after sudo)
                    t = scen.sleeper()
                    scen.killer([kill_bin, "-USR2", str(t.pid)],
                                preexec_fn=liveaudit.as_user(loginuid=user.pw_uid))
                    ex["sudo"] = dict(target=t.pid, signal=12, tcomm="sleep")
                    # 10. kill(-1): every process the test user may signal (only its two sleeps)
                    mine = [scen.sleeper(preexec_fn=liveaudit.as_user(user.pw_uid, user.pw_gid))
                            for _sleeper in range(2)]
                    scen.killer([py, "-c", PY_KILL, "-1", "15"],
                                preexec_fn=liveaudit.as_user(user.pw_uid, user.pw_gid, user.pw_uid))
                    ex["all"] = dict(target=-1, signal=15, members=sorted(p.pid for p in mine))
                    # 11. a 32-bit killer
                    if kill32:
                        t = scen.sleeper()
                        scen.killer([kill32, str(t.pid), "15"])
                        ex["i386"] = dict(target=t.pid, signal=15, exe=kill32, tcomm="sleep")
                    # The rules watch every process of the machine, so a count of keyed lines
                    # can be reached by someone else's kills before the last of ours is written:
                    # wait until each expected (target, signal) has its report.
                    wanted = set((e["target"], e["signal"]) for e in ex.values())

                    # auditd writes an event's records one at a time, and a report comes from
                    # the records there are: wait for the PROCTITLE (the last record) of each too.
                    def complete(d):
                        ours = [r for r in kill_reports(d, keys=[key])
                                if (r["target_pid"], r["signal"]) in wanted]
                        seen = set((r["target_pid"], r["signal"]) for r in ours)
                        return wanted <= seen and all(
                            ("type=PROCTITLE msg=audit(%s)" % r["event_id"]).encode() in d for r in ours)
                    data = tail.wait_for(complete, timeout=30.0)
            finally:
                scen.cleanup()
                if created:
                    liveaudit.remove_user(TEST_USER)
            stats = ParseStats()
            reports = list(kill_reports(data, keys=[key], stats=stats))
            by_target = {}
            for rep in reports:
                by_target.setdefault((rep["target_pid"], rep["signal"]), []).append(rep)
            found = {}
            for name, e in ex.items():
                reps = by_target.get((e["target"], e["signal"]), [])
                found[name] = reps[0] if reps else None
            yield {"expect": ex, "found": found, "data": data, "key": key, "stats": stats,
                   "reports": reports, "user": user, "kill32_why": kill32_why, "workdir": workdir}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def report(live, name):
    rep = live["found"][name]
    assert rep is not None, "no kill report for %s (%s); reports: %s" % (
        name, live["expect"][name], json.dumps(live["reports"], indent=1)[:3000])
    return rep


def enriched(live):
    return b"\x1d" in live["data"]


def test_plain_kill_by_root(live):
    rep = report(live, "kill")
    e = live["expect"]["kill"]
    assert rep["syscall"] == "kill" and rep["signal_name"] == "SIGTERM"
    assert rep["success"] is True and rep["exit"] == 0 and rep["errno"] is None
    assert rep["scope"] == "process" and rep["probe"] is False
    assert rep["key"] == live["key"] and rep["keys"] == [live["key"]]
    k = rep["killer"]
    assert k["comm"] == "kill" and k["exe"] == e["exe"]
    assert k["uid"] == 0 and k["auid"] is None and k["ses"] is None and k["login_user"] is None
    assert k["ppid"] == os.getpid()
    assert k["argv"][1:] == ["-TERM", str(e["target"])]
    assert k["cmdline"].endswith("-TERM %d" % e["target"])
    assert [t["pid"] for t in rep["targets"]] == [e["target"]]
    assert rep["targets"][0]["comm"] == "sleep" and rep["targets"][0]["uid"] == 0
    if enriched(live):
        assert k["user"] == "root" and rep["targets"][0]["user"] == "root"
    assert rep["time"].endswith("Z") and abs(rep["timestamp"] - time.time()) < 600


def test_tkill_names_the_thread(live):
    rep = report(live, "tkill")
    assert rep["syscall"] == "tkill" and rep["scope"] == "thread"
    assert rep["target_tid"] == live["expect"]["tkill"]["target"]
    assert rep["signal_name"] == "SIGINT" and rep["success"] is True
    assert rep["targets"][0]["comm"] == "sleep"


def test_tgkill_names_group_and_thread(live):
    rep = report(live, "tgkill")
    e = live["expect"]["tgkill"]
    assert rep["syscall"] == "tgkill" and rep["scope"] == "thread"
    assert rep["target_pid"] == e["target"] and rep["target_tid"] == e["target"]
    assert rep["signal"] == 10 and rep["signal_name"] == "SIGUSR1"


def test_signal_zero_is_a_probe(live):
    rep = report(live, "probe")
    assert rep["probe"] is True and rep["signal"] == 0 and rep["signal_name"] is None
    assert rep["success"] is True


def test_process_group_lists_every_member(live):
    rep = report(live, "group")
    e = live["expect"]["group"]
    assert rep["target_pid"] == e["target"] < -1
    assert rep["scope"] == "process_group"
    assert sorted(t["pid"] for t in rep["targets"]) == e["members"]
    assert sorted(t["comm"] for t in rep["targets"]) == ["sh", "sleep", "sleep"]


def test_denied_kill_by_another_user(live):
    rep = report(live, "denied")
    user = live["user"]
    assert rep["success"] is False and rep["exit"] == -1 and rep["errno"] == "EPERM"
    k = rep["killer"]
    assert k["uid"] == user.pw_uid and k["auid"] == user.pw_uid and k["ses"] is not None
    if enriched(live):
        assert k["user"] == TEST_USER and k["login_user"] == TEST_USER
    assert rep["targets"] and rep["targets"][0]["uid"] == 0


def test_kill_of_a_pid_that_does_not_exist(live):
    rep = report(live, "nosuch")
    assert rep["success"] is False and rep["errno"] == "ESRCH" and rep["exit"] == -3
    assert rep["targets"] == []


def test_names_with_spaces_are_decoded(live):
    rep = report(live, "spaces")
    e = live["expect"]["spaces"]
    k = rep["killer"]
    assert k["comm"] == "kill er" and k["exe"] == e["exe"]
    assert k["argv"][0] == e["exe"] and k["argv"][1:] == ["-HUP", str(e["target"])]
    assert rep["targets"][0]["comm"] == "sle ep"
    assert rep["signal_name"] == "SIGHUP"


def test_root_with_a_login_uid_is_the_sudo_case(live):
    rep = report(live, "sudo")
    user = live["user"]
    k = rep["killer"]
    assert k["uid"] == 0 and k["auid"] == user.pw_uid and k["ses"] is not None
    if enriched(live):
        assert k["user"] == "root" and k["login_user"] == TEST_USER
    assert rep["signal_name"] == "SIGUSR2"


def test_kill_minus_one_is_every_process_of_the_caller(live):
    rep = report(live, "all")
    e = live["expect"]["all"]
    assert rep["target_pid"] == -1 and rep["scope"] == "all" and rep["success"] is True
    # the kernel records every process it tried (before the permission check), so the
    # targets are many; the user's own two are among them, with the user's uid
    by_pid = dict((t["pid"], t) for t in rep["targets"])
    assert set(e["members"]) <= set(by_pid)
    assert all(by_pid[pid]["uid"] == live["user"].pw_uid for pid in e["members"])
    assert len(rep["targets"]) > len(e["members"])


def test_32bit_killer(live):
    if "i386" not in live["expect"]:
        pytest.skip("no 32-bit killer: %s" % live["kill32_why"])
    rep = report(live, "i386")
    assert rep["arch"] == "i386" and rep["syscall"] == "kill"
    assert rep["killer"]["exe"] == live["expect"]["i386"]["exe"]
    assert rep["success"] is True and rep["signal_name"] == "SIGTERM"


def test_no_line_of_the_real_log_was_skipped(live):
    stats = live["stats"].as_dict()
    assert stats["skipped"] == {} and stats["records"] > 0


def test_same_kill_events_as_ausearch(live):
    """auditd's own ausearch finds exactly the kill events the parser reports."""
    fd, path = tempfile.mkstemp()
    ids = set()
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(live["data"])
        # one -sc per run (ausearch keeps only the last); --arch first, so i386 numbers match
        for sc in ("kill", "tkill", "tgkill"):
            for arch in ("b64", "b32"):
                res = liveaudit.run([liveaudit.AUSEARCH, "--input", path, "-k", live["key"],
                                     "--raw", "--arch", arch, "-sc", sc], check=False)
                for line in res.stdout.splitlines():
                    start = line.find("msg=audit(")
                    if start >= 0:
                        ids.add(line[start + 10:line.index(")", start)])
    finally:
        os.unlink(path)
    assert ids
    assert ids == set(r["event_id"] for r in live["reports"])


def test_every_event_of_the_segment_parses(live):
    events = list(parse_events(live["data"]))
    assert all(ev["records"] for ev in events)
    kills = [ev for ev in events if ev["syscall"] in ("kill", "tkill", "tgkill")
             and live["key"] in ev["keys"]]
    assert len(kills) == len(live["reports"])
    assert all(ev["types"][0] == "SYSCALL" and ev["types"][-1] == "PROCTITLE" for ev in kills)


def test_rules_were_removed(live):
    out = liveaudit.run([liveaudit.AUDITCTL, "-l"]).stdout
    assert live["key"] not in out
