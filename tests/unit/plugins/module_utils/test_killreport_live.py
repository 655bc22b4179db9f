"""Kill reports of pidfd_send_signal, rt_sigqueueinfo and rt_tgsigqueueinfo, on records the real
kernel and auditd of this machine write during the test.

One module-scoped scenario runs twice under rules keyed for this run:
- phase A, with the kill family in the rule (kill, tkill, tgkill and the three others): the
  kernel records the targets of every signal (OBJ_PID records);
- phase B, with a rule on the three others only: the kernel records who sent which signal,
  but no OBJ_PID record (audit_match_signal() in kernel/auditfilter.c counts kill-family rules
  only). The reports must still be made, with the target known from the arguments where the
  syscall has them (rt_sigqueueinfo, rt_tgsigqueueinfo) and unknown, with a warning, where it
  does not (pidfd_send_signal: a0 is a file descriptor).
Every signal is a real syscall by a real process (a Python program through os.pidfd_open,
signal.pidfd_send_signal and ctypes syscall(), and a 32-bit program built with gcc -m32);
each report is cross-checked with ausearch -i on the same log.
"""
import csv
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.auditfleet.auditd.plugins.filter.fleet_kill_report import fleet_kill_report
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_csv import kill_report_csv
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_html import kill_report_html
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_markdown import kill_report_markdown
from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import MACHINES, SYSCALLS
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import parse_events
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import (
    OBJ_PID_SYSCALLS, PIDFD_SELF_THREAD, PIDFD_SIGNAL_PROCESS_GROUP, kill_reports)
from tests.lib import liveaudit
from tests.lib.auditlock import audit_test_lock

REASON = liveaudit.audit_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason="real auditd needed: %s" % REASON)

TEST_USER = "afut-signaller"
NEW_SYSCALLS = ("pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
BURST = 10  # rounds of the three syscalls from one process

# The sender: reads a list of operations (JSON) on stdin, makes each syscall, prints what each
# returned (the pidfd it used, the result or -errno).
SENDER = r'''
import ctypes, json, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
spec = json.load(sys.stdin)
NR = spec["nr"]

def siginfo(sig):
    buf = ctypes.create_string_buffer(128)                    # siginfo_t
    ctypes.memmove(buf, (ctypes.c_int * 3)(sig, 0, -1), 12)   # si_signo, si_errno, si_code=SI_QUEUE
    return buf

def syscall(*args):
    res = libc.syscall(*[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return res if res >= 0 else -ctypes.get_errno()

def pidfd(pid, sig, flags=0):
    fd = os.pidfd_open(pid)
    try:
        signal.pidfd_send_signal(fd, sig, None, flags)
        return [fd, 0]
    except OSError as exc:
        return [fd, -exc.errno]
    finally:
        os.close(fd)

out = []
for op in spec["ops"]:
    name, args = op[0], op[1:]
    if name == "pidfd":
        out.append(pidfd(*args))
    elif name == "pidfd_raw":         # a descriptor value as is (the PIDFD_SELF_* sentinels)
        out.append([args[0], syscall(NR["pidfd_send_signal"], args[0], args[1], None, 0)])
    elif name == "q":
        out.append([None, syscall(NR["rt_sigqueueinfo"], args[0], args[1], siginfo(args[1]))])
    elif name == "tq":
        out.append([None, syscall(NR["rt_tgsigqueueinfo"], args[0], args[1], args[2], siginfo(args[2]))])
json.dump(out, sys.stdout)
'''

# A root-owned target with a second thread named afut-worker; prints that thread's id. It
# catches the signals the tests send, so one target serves them all.
THREADED = r'''
import signal, sys, threading, time
for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP):
    signal.signal(s, lambda *a: None)
def work():
    with open("/proc/thread-self/comm", "w") as f:
        f.write("afut-worker")
    sys.stdout.write("%d\n" % threading.get_native_id())
    sys.stdout.flush()
    while True:
        time.sleep(600)
threading.Thread(target=work, daemon=True).start()
while True:
    time.sleep(600)
'''

SENDER32_C = r"""
/* Signals through the i386 int 0x80 ABI, without libc. argv[1]: q PID SIG (rt_sigqueueinfo),
   t TGID TID SIG (rt_tgsigqueueinfo), p PID SIG (pidfd_open, then pidfd_send_signal). */
static int info[32];  /* siginfo_t */
static long sys4(long n, long a, long b, long c, long d) {
    long r; __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
    return r; }
static long num(const char *s) { long v = 0, neg = 0; if (*s == '-') { neg = 1; s++; }
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0'); return neg ? -v : v; }
__attribute__((force_align_arg_pointer)) void start_c(long *sp) {
    char **argv = (char **)(sp + 1); long r, x = num(argv[2]), y = num(argv[3]);
    info[2] = -1;  /* si_code = SI_QUEUE */
    if (argv[1][0] == 'q') { info[0] = y; r = sys4(178, x, y, (long)info, 0); }
    else if (argv[1][0] == 't') { long s = num(argv[4]); info[0] = s; r = sys4(335, x, y, s, (long)info); }
    else { r = sys4(434, x, 0, 0, 0); if (r >= 0) r = sys4(424, r, y, 0, 0); }
    sys4(1, r < 0 ? 1 : 0, 0, 0, 0); for (;;) ; }
__asm__(".globl _start\n_start:\n mov %esp, %eax\n push %eax\n call start_c\n");
"""


SECCOMP_KILL_C = r"""
/* Installs a seccomp filter that kills the process on getppid(), then calls getppid(). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
        return 2;
    syscall(__NR_getppid);
    return 3;
}
"""


def memory_cgroup():
    """A directory where a child memory cgroup can be made (v1 or v2), or (None, why not)."""
    if os.path.exists("/sys/fs/cgroup/memory/cgroup.procs"):
        return "/sys/fs/cgroup/memory", None
    try:
        with open("/sys/fs/cgroup/cgroup.subtree_control") as f:
            if "memory" in f.read().split():
                return "/sys/fs/cgroup", None
    except OSError:
        pass
    return None, "no memory cgroup controller to confine an OOM kill to"


def deaths(scen, workdir, py):
    """Processes that die of signals no syscall sent (and two that a syscall did send):
    {name: (pid, return code)}, and {name: why not run}."""
    import resource
    done, notes = {}, {}

    def run(name, argv, **kwargs):
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir,
                                **kwargs)
        if "stdout" in kwargs:
            proc.stdout.close()   # the reader is gone: the writer gets SIGPIPE
        proc.wait(timeout=60)
        done[name] = (proc.pid, proc.returncode)

    def no_core():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def cpu_limit():
        no_core()
        resource.setrlimit(resource.RLIMIT_CPU, (1, 3))

    run("segv", [py, "-c", "import ctypes; ctypes.string_at(0)"], preexec_fn=no_core)
    run("xcpu", [py, "-c", "while True: pass"], preexec_fn=cpu_limit)
    run("pipe", ["/usr/bin/yes"], stdout=subprocess.PIPE)
    run("quit", [py, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGQUIT)"], preexec_fn=no_core)
    run("abort", [py, "-c", "import os; os.abort()"], preexec_fn=no_core)
    gcc = shutil.which("gcc")
    if gcc:
        src, binary = os.path.join(workdir, "seccomp_kill.c"), os.path.join(workdir, "seccomp_kill")
        with open(src, "w") as f:
            f.write(SECCOMP_KILL_C)
        res = liveaudit.run([gcc, "-O1", "-o", binary, src], check=False)
        if res.returncode == 0:
            run("seccomp", [binary], preexec_fn=no_core)
        else:
            notes["seccomp"] = "gcc cannot build the seccomp program: %s" % res.stderr[-200:]
    else:
        notes["seccomp"] = "gcc is not installed"
    parent, notes["oom"] = memory_cgroup()
    if parent:
        group = os.path.join(parent, liveaudit.new_key("afut_oom"))
        os.mkdir(group)
        try:
            limit = "memory.limit_in_bytes" if os.path.exists(os.path.join(group, "memory.limit_in_bytes")) \
                else "memory.max"
            with open(os.path.join(group, limit), "w") as f:
                f.write(str(64 << 20))

            def enter():
                with open(os.path.join(group, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
            run("oom", [py, "-c", "x = []\nwhile True: x.append(bytearray(1 << 20))"], preexec_fn=enter)
        finally:
            for _try in range(50):
                try:
                    os.rmdir(group)
                    break
                except OSError:
                    time.sleep(0.1)
    for name in list(notes):
        if notes[name] is None:
            del notes[name]
    return done, notes


def native_numbers():
    import platform
    table = MACHINES.get(platform.machine(), (None, None))[0]
    numbers = dict((name, nr) for nr, name in SYSCALLS.get(table, {}).items())
    return dict((name, numbers[name]) for name in NEW_SYSCALLS)


class Scenario(object):
    def __init__(self, workdir, py, user):
        self.workdir, self.py, self.user = workdir, py, user
        self.sender = os.path.join(workdir, "sender.py")
        with open(self.sender, "w") as f:
            f.write(SENDER)
        os.chmod(self.sender, 0o644)
        self.children = []
        self.nr = native_numbers()

    def spawn(self, argv, **kwargs):
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
        self.children.append(proc)
        return proc

    def sleeper(self, **kwargs):
        proc = self.spawn(["/bin/sleep", "600"], **kwargs)
        liveaudit.wait_exec(proc.pid, "sleep")
        return proc

    def threaded(self):
        """A target with a second thread: (process, the thread's id)."""
        proc = self.spawn([self.py, "-c", THREADED], stdout=subprocess.PIPE)
        ready, _w, _x = select.select([proc.stdout], [], [], 10)
        assert ready, "the threaded target did not start"
        return proc, int(proc.stdout.readline())

    def send(self, ops, user=None):
        """Run the sender with OPS; return (its pid, what each op returned)."""
        kwargs = {}
        if user is not None:
            kwargs["preexec_fn"] = liveaudit.as_user(user.pw_uid, user.pw_gid, user.pw_uid)
        proc = subprocess.Popen([self.py, self.sender, "afut"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, **kwargs)
        out, err = proc.communicate(json.dumps({"nr": self.nr, "ops": ops}), timeout=60)
        assert proc.returncode == 0, "sender failed: %s" % err
        return proc.pid, json.loads(out)

    def send32(self, binary, *args):
        proc = subprocess.Popen([binary] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc.wait(timeout=30)
        return proc.pid, proc.returncode

    def cleanup(self):
        for proc in self.children:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout:
                proc.stdout.close()


def wait_reports(tail, key, want, also=None):
    """Read the log until every sender pid in WANT ({pid: count}) has its reports (and ALSO(data))."""
    deadline = time.time() + 20
    while True:
        data = tail.read()
        got = {}
        for rep in kill_reports(data, keys=[key]):
            got[rep["killer"]["pid"]] = got.get(rep["killer"]["pid"], 0) + 1
        if all(got.get(pid, 0) >= count for pid, count in want.items()) and (also is None or also(data)):
            return data
        if time.time() > deadline:
            return data
        time.sleep(0.2)


@pytest.fixture(scope="module")
def live():
    key_a, key_b = liveaudit.new_key("afsig"), liveaudit.new_key("afsig")
    workdir = tempfile.mkdtemp(prefix="afut-sig ")
    os.chmod(workdir, 0o755)  # the test user runs the sender from here
    # the system Python: other users may run it (root's pyenv is not readable to them)
    py = os.path.realpath("/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable)
    ex = {}      # name -> what was done
    notes = {}   # name -> why a case was not run
    try:
        with audit_test_lock():
            user, created = liveaudit.ensure_user(TEST_USER)
            scen = Scenario(workdir, py, user)
            sender32, notes["i386"] = liveaudit.build_i386(workdir, "sender32", SENDER32_C)
            try:
                # ---- phase A: the rule names the kill family too: OBJ_PID records ----
                tail_a = liveaudit.LogTail()
                with liveaudit.kill_rules(key_a, syscalls=OBJ_PID_SYSCALLS + NEW_SYSCALLS):
                    victim, proc_victim, keeper = scen.sleeper(), scen.sleeper(), scen.sleeper()
                    threaded, tid = scen.threaded()
                    tgid = threaded.pid

                    def record(name, ops, user=None, **facts):
                        pid, res = scen.send(ops, user)
                        ex[name] = dict(facts, killer=pid, results=res, user=user is not None)

                    record("pidfd", [["pidfd", victim.pid, 15]], target=victim.pid, signal=15, tcomm="sleep")
                    record("pidfd_probe", [["pidfd", keeper.pid, 0]], target=keeper.pid, signal=0, tcomm="sleep")
                    record("pidfd_denied", [["pidfd", keeper.pid, 9]], user=user, target=keeper.pid, signal=9,
                           tcomm="sleep")
                    record("sigqueue", [["q", proc_victim.pid, 10]], target=proc_victim.pid, signal=10,
                           tcomm="sleep")
                    record("sigqueue_probe", [["q", keeper.pid, 0]], target=keeper.pid, signal=0, tcomm="sleep")
                    record("sigqueue_denied", [["q", keeper.pid, 15]], user=user, target=keeper.pid, signal=15,
                           tcomm="sleep")
                    record("tgsigqueue", [["tq", tgid, tid, 12]], target=tgid, tid=tid, signal=12,
                           tcomm="afut-worker")
                    record("tgsigqueue_probe", [["tq", tgid, tid, 0]], target=tgid, tid=tid, signal=0,
                           tcomm="afut-worker")
                    record("tgsigqueue_denied", [["tq", tgid, tid, 10]], user=user, target=tgid, tid=tid,
                           signal=10, tcomm="afut-worker")
                    record("burst", [op for _round in range(BURST) for op in (
                        ["pidfd", keeper.pid, 0], ["q", keeper.pid, 0], ["tq", tgid, tid, 0])])
                    # PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9+): the group the pidfd's process leads
                    group = scen.spawn(["/bin/sh", "-c", "/bin/sleep 600 & /bin/sleep 600 & wait"],
                                       start_new_session=True)
                    time.sleep(0.3)
                    members = [group.pid] + [int(p) for p in liveaudit.run(
                        ["pgrep", "-g", str(group.pid), "-x", "sleep"]).stdout.split()]
                    record("pidfd_group", [["pidfd", group.pid, 15, PIDFD_SIGNAL_PROCESS_GROUP]],
                           members=sorted(members), signal=15)
                    # PIDFD_SELF_THREAD (Linux 6.15+): the caller's own thread, no descriptor
                    record("pidfd_self", [["pidfd_raw", PIDFD_SELF_THREAD, 0]], signal=0)
                    if sender32:
                        for name, args in (("i386_sigqueue", ("q", tgid, 10)),
                                           ("i386_tgsigqueue", ("t", tgid, tid, 12)),
                                           ("i386_pidfd", ("p", tgid, 1))):
                            pid, rc = scen.send32(sender32, *args)
                            ex[name] = dict(killer=pid, rc=rc, target=tgid, signal=int(args[-1]))
                    want_a = dict((e["killer"], len(e.get("results") or [1])) for e in ex.values())
                    dead, death_notes = deaths(scen, workdir, py)
                    notes.update(death_notes)
                    abends = [dead[n][0] for n in ("segv", "xcpu", "abort", "seccomp") if n in dead]
                    data_a = wait_reports(tail_a, key_a, want_a, lambda d: all(
                        re.search(br"type=ANOM_ABEND .*\bpid=%d\b" % pid, d) for pid in abends))

                # ---- phase B: a rule on the three alone: no OBJ_PID records ----
                others = liveaudit.rules_watching(OBJ_PID_SYSCALLS)
                if others:
                    notes["holdout"] = "a kill-family rule is loaded on this machine: %s" % others
                    data_b = b""
                else:
                    tail_b = liveaudit.LogTail()
                    with liveaudit.kill_rules(key_b, syscalls=NEW_SYSCALLS):
                        loaded = liveaudit.loaded_rules()
                        victim_b = scen.sleeper()
                        for name, ops, facts in (
                                ("holdout_pidfd", [["pidfd", victim_b.pid, 15]], dict(target=victim_b.pid, signal=15)),
                                ("holdout_sigqueue", [["q", tgid, 10]], dict(target=tgid, signal=10)),
                                ("holdout_tgsigqueue", [["tq", tgid, tid, 12]], dict(target=tgid, tid=tid, signal=12))):
                            pid, res = scen.send(ops)
                            ex[name] = dict(facts, killer=pid, results=res, user=False)
                        data_b = wait_reports(tail_b, key_b, dict(
                            (ex[n]["killer"], 1) for n in ("holdout_pidfd", "holdout_sigqueue", "holdout_tgsigqueue")))
                    ex["holdout_rules"] = loaded
            finally:
                scen.cleanup()
                if created:
                    liveaudit.remove_user(TEST_USER)
            reports = {key_a: list(kill_reports(data_a, keys=[key_a])),
                       key_b: list(kill_reports(data_b, keys=[key_b])) if data_b else []}
            by_killer = {}
            for key in (key_a, key_b):
                for rep in reports[key]:
                    by_killer.setdefault(rep["killer"]["pid"], []).append(rep)
            yield {"expect": ex, "notes": notes, "dead": dead, "by_killer": by_killer, "reports": reports,
                   "data": {key_a: data_a, key_b: data_b}, "key_a": key_a, "key_b": key_b,
                   "user": user, "py": py, "sender": scen.sender, "sender32": sender32}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def reports_of(live, name):
    e = live["expect"][name]
    reps = live["by_killer"].get(e["killer"], [])
    assert reps, "no kill report for %s (%s); reports: %s" % (
        name, e, json.dumps(live["reports"], indent=1)[:3000])
    return reps


def report(live, name):
    reps = reports_of(live, name)
    assert len(reps) == 1, reps
    return reps[0]


def enriched(live):
    return b"\x1d" in live["data"][live["key_a"]]


def check_killer(live, rep, name):
    e = live["expect"][name]
    k = rep["killer"]
    assert k["pid"] == e["killer"] and k["exe"] == live["py"]
    assert k["comm"] == os.path.basename(live["py"])[:15]
    user = live["user"]
    if not e["user"]:
        assert k["argv"] == [live["py"], live["sender"], "afut"]
    # else the kernel kept the command line it recorded when the child wrote its login uid,
    # before the exec (docs/kill-report.md): pytest's
    if e["user"]:
        assert k["uid"] == user.pw_uid and k["auid"] == user.pw_uid and k["ses"] is not None
        if enriched(live):
            assert k["user"] == TEST_USER and k["login_user"] == TEST_USER
    else:
        assert k["uid"] == 0
        if enriched(live):
            assert k["user"] == "root"


def check_target(rep, e):
    assert [t["pid"] for t in rep["targets"]] == [e["target"]]
    target = rep["targets"][0]
    assert target["comm"] == e["tcomm"] and target["uid"] == 0
    assert rep["warnings"] == []


# ---- pidfd_send_signal ---------------------------------------------------------------------------

def test_pidfd_send_signal_by_root(live):
    rep = report(live, "pidfd")
    e = live["expect"]["pidfd"]
    fd, result = e["results"][0]
    assert result == 0
    assert rep["syscall"] == "pidfd_send_signal" and rep["signal"] == 15 and rep["signal_name"] == "SIGTERM"
    assert rep["pidfd"] == fd and rep["target_pid"] == e["target"] and rep["target_tid"] is None
    assert rep["scope"] == "process" and rep["probe"] is False
    assert rep["success"] is True and rep["exit"] == 0 and rep["errno"] is None
    assert rep["key"] == live["key_a"]
    check_killer(live, rep, "pidfd")
    check_target(rep, e)


def test_pidfd_send_signal_denied_to_another_user(live):
    rep = report(live, "pidfd_denied")
    e = live["expect"]["pidfd_denied"]
    assert e["results"][0][1] == -1  # -EPERM, as the sender saw it
    assert rep["syscall"] == "pidfd_send_signal" and rep["signal_name"] == "SIGKILL"
    assert rep["success"] is False and rep["exit"] == -1 and rep["errno"] == "EPERM"
    assert rep["target_pid"] == e["target"] and rep["pidfd"] == e["results"][0][0]
    check_killer(live, rep, "pidfd_denied")
    check_target(rep, e)  # recorded before the permission check


def test_pidfd_send_signal_process_group_flag(live):
    rep = report(live, "pidfd_group")
    e = live["expect"]["pidfd_group"]
    if e["results"][0][1] == -22:
        pytest.skip("this kernel has no PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9+): EINVAL")
    assert e["results"][0][1] == 0 and rep["success"] is True
    assert rep["scope"] == "process_group" and rep["target_pid"] is None
    assert sorted(t["pid"] for t in rep["targets"]) == e["members"]
    assert sorted(t["comm"] for t in rep["targets"]) == ["sh", "sleep", "sleep"]
    assert rep["warnings"] == []


def test_pidfd_send_signal_to_the_calling_thread(live):
    rep = report(live, "pidfd_self")
    e = live["expect"]["pidfd_self"]
    if e["results"][0][1] == -9:
        pytest.skip("this kernel has no PIDFD_SELF_THREAD (Linux 6.15+): EBADF")
    assert rep["pidfd"] == PIDFD_SELF_THREAD and rep["success"] is True and rep["probe"] is True
    assert rep["scope"] == "thread" and rep["target_pid"] == e["killer"]
    assert [t["pid"] for t in rep["targets"]] == [e["killer"]]


# ---- rt_sigqueueinfo and rt_tgsigqueueinfo ---------------------------------------------------

def test_rt_sigqueueinfo_by_root(live):
    rep = report(live, "sigqueue")
    e = live["expect"]["sigqueue"]
    assert rep["syscall"] == "rt_sigqueueinfo" and rep["signal_name"] == "SIGUSR1"
    assert rep["target_pid"] == e["target"] and rep["target_tid"] is None and rep["pidfd"] is None
    assert rep["scope"] == "process" and rep["success"] is True and rep["errno"] is None
    check_killer(live, rep, "sigqueue")
    check_target(rep, e)


def test_rt_sigqueueinfo_denied_to_another_user(live):
    rep = report(live, "sigqueue_denied")
    e = live["expect"]["sigqueue_denied"]
    assert rep["syscall"] == "rt_sigqueueinfo" and rep["signal_name"] == "SIGTERM"
    assert rep["success"] is False and rep["errno"] == "EPERM" and rep["target_pid"] == e["target"]
    check_killer(live, rep, "sigqueue_denied")
    check_target(rep, e)


def test_rt_tgsigqueueinfo_to_a_thread(live):
    rep = report(live, "tgsigqueue")
    e = live["expect"]["tgsigqueue"]
    assert e["tid"] != e["target"]  # a second thread, not the main one
    assert rep["syscall"] == "rt_tgsigqueueinfo" and rep["signal_name"] == "SIGUSR2"
    assert rep["target_pid"] == e["target"] and rep["target_tid"] == e["tid"]
    assert rep["scope"] == "thread" and rep["success"] is True
    check_killer(live, rep, "tgsigqueue")
    # OBJ_PID names the thread group (opid) and the thread's own comm
    check_target(rep, e)


def test_rt_tgsigqueueinfo_denied_to_another_user(live):
    rep = report(live, "tgsigqueue_denied")
    e = live["expect"]["tgsigqueue_denied"]
    assert rep["syscall"] == "rt_tgsigqueueinfo" and rep["errno"] == "EPERM" and rep["success"] is False
    assert rep["target_pid"] == e["target"] and rep["target_tid"] == e["tid"]
    check_killer(live, rep, "tgsigqueue_denied")
    check_target(rep, e)


@pytest.mark.parametrize("name", ["pidfd_probe", "sigqueue_probe", "tgsigqueue_probe"])
def test_signal_zero_is_a_probe(live, name):
    rep = report(live, name)
    e = live["expect"][name]
    assert rep["probe"] is True and rep["signal"] == 0 and rep["signal_name"] is None
    assert rep["success"] is True and rep["target_pid"] == e["target"]
    check_target(rep, e)


def test_a_burst_loses_nothing(live):
    reps = reports_of(live, "burst")
    e = live["expect"]["burst"]
    assert [r for _fd, r in e["results"]] == [0] * (3 * BURST)
    assert [r["syscall"] for r in reps] == ["pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo"] * BURST
    assert all(r["success"] and r["probe"] and r["targets"] for r in reps)
    serials = [int(r["event_id"].rsplit(":", 1)[1]) for r in reps]
    assert serials == sorted(serials) and len(set(serials)) == len(serials)


@pytest.mark.parametrize("name, syscall", [("i386_sigqueue", "rt_sigqueueinfo"),
                                           ("i386_tgsigqueue", "rt_tgsigqueueinfo"),
                                           ("i386_pidfd", "pidfd_send_signal")])
def test_32bit_sender(live, name, syscall):
    """i386 numbers the three differently (178, 335, 424): the report still names them."""
    if not live["sender32"]:
        pytest.skip("no 32-bit sender: %s" % live["notes"]["i386"])
    e = live["expect"][name]
    rep = report(live, name)
    assert e["rc"] == 0
    assert rep["arch"] == "i386" and rep["syscall"] == syscall and rep["killer"]["exe"] == live["sender32"]
    assert rep["signal"] == e["signal"] and rep["success"] is True
    assert rep["target_pid"] == e["target"] and [t["pid"] for t in rep["targets"]] == [e["target"]]


# ---- without OBJ_PID: a rule set without a kill-family rule ----------------------------------

def holdout(live, name):
    if "holdout" in live["notes"]:
        pytest.skip(live["notes"]["holdout"])
    return report(live, name), live["expect"][name]


def test_holdout_rules_name_no_kill_family_syscall(live):
    if "holdout" in live["notes"]:
        pytest.skip(live["notes"]["holdout"])
    rules = live["expect"]["holdout_rules"]
    assert any(live["key_b"] in r for r in rules)
    assert liveaudit.rules_watching(OBJ_PID_SYSCALLS, rules) == []


def test_holdout_pidfd_target_is_unknown_with_a_warning(live):
    rep, e = holdout(live, "holdout_pidfd")
    assert rep["key"] == live["key_b"] and rep["syscall"] == "pidfd_send_signal"
    assert rep["success"] is True and rep["signal_name"] == "SIGTERM" and rep["pidfd"] == e["results"][0][0]
    assert rep["target_pid"] is None and rep["targets"] == []
    assert len(rep["warnings"]) == 1 and "target unknown: no OBJ_PID record" in rep["warnings"][0]
    assert "kill, tkill or tgkill" in rep["warnings"][0]
    # the same call with a kill-family rule loaded named its target
    assert report(live, "pidfd")["target_pid"] == live["expect"]["pidfd"]["target"]


@pytest.mark.parametrize("name, syscall", [("holdout_sigqueue", "rt_sigqueueinfo"),
                                           ("holdout_tgsigqueue", "rt_tgsigqueueinfo")])
def test_holdout_sigqueue_target_comes_from_the_arguments(live, name, syscall):
    rep, e = holdout(live, name)
    assert rep["syscall"] == syscall and rep["success"] is True and rep["signal"] == e["signal"]
    assert rep["target_pid"] == e["target"] and rep["target_tid"] == e.get("tid")
    assert rep["targets"] == []
    assert len(rep["warnings"]) == 1 and "no OBJ_PID record" in rep["warnings"][0]


# ---- cross-checks ----------------------------------------------------------------------------

def test_same_events_as_ausearch(live):
    """ausearch -i (auditd's own interpretation) of the same log: the same events, syscall
    names, senders, results, arguments and OBJ_PID targets."""
    checked = 0
    for key in (live["key_a"], live["key_b"]):
        if not live["data"][key]:
            continue
        theirs = liveaudit.ausearch_interpreted(live["data"][key], key)
        # the rule changes carry the key too (CONFIG_CHANGE records): not signals
        theirs = dict((s, ev) for s, ev in theirs.items() if "CONFIG_CHANGE" not in ev)
        ours = dict((int(r["event_id"].rsplit(":", 1)[1]), r) for r in live["reports"][key])
        assert set(theirs) == set(ours)
        for serial, rep in ours.items():
            sc = theirs[serial]["SYSCALL"][0]
            assert sc["syscall"] == rep["syscall"], serial
            assert int(sc["pid"]) == rep["killer"]["pid"]
            if rep["killer"]["user"]:
                assert sc["uid"] == rep["killer"]["user"]
            assert sc["success"] == ("yes" if rep["success"] else "no")
            assert sc["exit"] == "0" if rep["success"] else sc["exit"].startswith(rep["errno"] + "(")
            args = [int(sc[a], 16) for a in ("a0", "a1", "a2")] if rep["syscall"] in NEW_SYSCALLS else None
            if rep["syscall"] == "pidfd_send_signal":
                assert (args[0] & 0xFFFFFFFF, args[1]) == (rep["pidfd"] & 0xFFFFFFFF, rep["signal"])
            elif rep["syscall"] == "rt_tgsigqueueinfo":
                assert args[:3] == [rep["target_pid"], rep["target_tid"], rep["signal"]]
            elif rep["syscall"] == "rt_sigqueueinfo":
                assert args[:2] == [rep["target_pid"], rep["signal"]]
            # (ausearch prints an event's records in its own order, not the log's)
            objs = theirs[serial].get("OBJ_PID", [])
            assert sorted((int(o["opid"]), o["ocomm"]) for o in objs) == \
                sorted((t["pid"], t["comm"]) for t in rep["targets"])
            if rep["syscall"] in NEW_SYSCALLS:
                checked += 1
    assert checked >= 3 * BURST + 9


def test_fleet_report_shows_them_like_any_kill(live):
    """CSV, Markdown and HTML of the fleet report list each of them, told apart by syscall."""
    names = ["pidfd", "pidfd_denied", "sigqueue", "sigqueue_denied", "tgsigqueue", "tgsigqueue_denied",
             "pidfd_probe", "sigqueue_probe"]
    if "holdout" not in live["notes"]:
        names += ["holdout_pidfd", "holdout_sigqueue"]
    reps = [dict(report(live, n), host="localhost") for n in names]
    doc = fleet_kill_report({"localhost": reps})
    assert doc["totals"]["kills"] == len(names) - 2 and doc["totals"]["probes"] == 2
    rows = list(csv.DictReader(io.StringIO(str(kill_report_csv(doc)))))
    by_event = dict((row["event_id"], row) for row in rows)
    assert len(rows) == len(reps) and set(by_event) == set(r["event_id"] for r in reps)
    for rep in reps:
        row = by_event[rep["event_id"]]
        assert row["syscall"] == rep["syscall"] and row["killer_pid"] == str(rep["killer"]["pid"])
        assert row["signal"] == str(rep["signal"]) and row["errno"] == (rep["errno"] or "")
        assert row["target_pid"] == ("" if rep["target_pid"] is None else str(rep["target_pid"]))
        assert row["targets"] == ";".join("%s:%s" % (t["pid"], t["comm"]) for t in rep["targets"])
    md, html = str(kill_report_markdown(doc)), str(kill_report_html(doc))
    for rep in reps:
        who = "(pid %d)" % rep["killer"]["pid"]
        md_rows = [line for line in md.splitlines() if who in line]
        html_rows = [row for row in html.split("<tr") if who in row]
        assert len(md_rows) == 1 and len(html_rows) == 1, rep["event_id"]
        result = "ok" if rep["success"] else rep["errno"]
        for cell in (result, rep["signal_name"] or ""):
            assert cell in md_rows[0] and cell in html_rows[0]
        for target in rep["targets"]:
            assert "(%d)" % target["pid"] in md_rows[0]


# ---- what the kill rules do not see (docs/kill-report.md) ------------------------------------

def records_of(live, pid):
    """The records of the phase A log that name PID as the process (pid=), by type."""
    found = {}
    for ev in parse_events(live["data"][live["key_a"]]):
        for rec in ev["records"]:
            if rec["fields"].get("pid") == pid:
                found.setdefault(rec["type"], []).append(rec["fields"])
    return found


def kill_reports_about(live, pid):
    return [r for r in live["reports"][live["key_a"]]
            if r["killer"]["pid"] == pid or r["target_pid"] == pid or any(t["pid"] == pid for t in r["targets"])]


def died(live, name):
    if name not in live["dead"]:
        pytest.skip(live["notes"].get(name, "not run"))
    return live["dead"][name]


@pytest.mark.parametrize("name, signal", [("segv", 11), ("xcpu", 24)])
def test_kernel_sent_core_signals_are_anom_abend_records_not_kills(live, name, signal):
    """A fault (SIGSEGV) or a CPU limit (SIGXCPU): no syscall sent it, so no kill report, even
    with the kill rules loaded; the death is an ANOM_ABEND record (with core dumps off)."""
    pid, rc = died(live, name)
    assert rc == -signal
    assert kill_reports_about(live, pid) == []
    abends = records_of(live, pid).get("ANOM_ABEND", [])
    assert [a["sig"] for a in abends] == [signal]


def test_sigpipe_leaves_no_record(live):
    pid, rc = died(live, "pipe")
    assert rc == -13
    assert kill_reports_about(live, pid) == [] and records_of(live, pid) == {}


def test_sigquit_dumps_core_without_anom_abend(live):
    """The kernel skips SIGQUIT in audit_core_dumps(); the kill() that sent it is a kill report."""
    pid, rc = died(live, "quit")
    assert rc == -3
    assert "ANOM_ABEND" not in records_of(live, pid)
    reps = kill_reports_about(live, pid)
    assert [(r["syscall"], r["signal_name"], r["target_pid"]) for r in reps] == [("kill", "SIGQUIT", pid)]


def test_abort_is_a_tgkill_to_itself_and_an_anom_abend(live):
    pid, rc = died(live, "abort")
    assert rc == -6
    reps = kill_reports_about(live, pid)
    assert [(r["syscall"], r["signal_name"], r["killer"]["pid"], r["target_pid"]) for r in reps] == \
        [("tgkill", "SIGABRT", pid, pid)]
    assert [a["sig"] for a in records_of(live, pid)["ANOM_ABEND"]] == [6]


def test_seccomp_kill_is_a_seccomp_record(live):
    pid, rc = died(live, "seccomp")
    assert rc == -31
    assert kill_reports_about(live, pid) == []
    recs = records_of(live, pid)
    seccomp = recs["SECCOMP"]
    assert len(seccomp) == 1 and seccomp[0]["sig"] == 31 and seccomp[0]["code"] == "0x80000000"
    native = MACHINES.get(os.uname().machine, (None, None))[0]
    if native:
        assert SYSCALLS[native][int(seccomp[0]["syscall"])] == "getppid"  # the syscall refused
    assert [a["sig"] for a in recs["ANOM_ABEND"]] == [31]  # SIGSYS dumps core


def test_oom_kill_leaves_no_audit_record(live):
    pid, rc = died(live, "oom")
    assert rc == -9
    assert kill_reports_about(live, pid) == [] and records_of(live, pid) == {}
    res = liveaudit.run(["dmesg"], check=False)
    if res.returncode == 0:
        assert re.search(r"Killed process %d \(" % pid, res.stdout), "no OOM line for %d in dmesg" % pid


def test_rules_were_removed(live):
    out = liveaudit.run([liveaudit.AUDITCTL, "-l"]).stdout
    assert live["key_a"] not in out and live["key_b"] not in out
