"""Helpers for tests that make the real kernel and auditd write records.

A test loads rules keyed for itself, does real things (kills), waits until auditd has written
the records, reads the new part of the log, and removes its rules. Kernel audit state is
global: every helper here takes the machine-wide test lock (tests/lib/auditlock.py).
"""
import contextlib
import os
import platform
import pwd
import re
import shutil
import subprocess
import time
import uuid

from tests.lib import hoststate

AUDITCTL = shutil.which("auditctl") or "/sbin/auditctl"
AUSEARCH = shutil.which("ausearch") or "/sbin/ausearch"
ENV = dict(os.environ, LC_ALL="C")


def run(argv, check=True, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    kwargs.setdefault("env", ENV)
    kwargs.setdefault("universal_newlines", True)
    return subprocess.run(argv, check=check, **kwargs)


def audit_available():
    """None when the kernel and auditd can be used here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.exists(AUDITCTL):
        return "auditctl is not installed"
    res = run([AUDITCTL, "-s"], check=False)
    if res.returncode != 0:
        return "kernel audit not available: %s" % res.stderr.strip()
    status = dict(line.split(None, 1) for line in res.stdout.splitlines() if " " in line)
    if status.get("enabled", "").strip() == "2":
        return "audit rules are immutable (enabled 2) on this machine"
    if status.get("pid", "0").strip() in ("0", ""):
        return "auditd is not running (auditctl -s reports pid 0)"
    return None


def log_file():
    path = "/var/log/audit/audit.log"
    try:
        with open("/etc/audit/auditd.conf") as f:
            for line in f:
                m = re.match(r"\s*log_file\s*=\s*(\S+)", line)
                if m:
                    path = m.group(1)
    except OSError:
        pass
    return path


def new_key(prefix="afut"):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:10])


def native_and_compat_arch():
    machine = platform.machine()
    return {"x86_64": ("b64", "b32"), "aarch64": ("b64", "b32"), "ppc64le": ("b64", None),
            "s390x": ("b64", "b32")}.get(machine, ("b64", None))


@contextlib.contextmanager
def kill_rules(key, syscalls=("kill", "tkill", "tgkill"), fields=()):
    """Load kill rules keyed KEY (b64 and, where the kernel runs it, b32); remove them after.

    FIELDS (e.g. "ppid=1234") narrow what the rule records: other processes on the machine
    send signals too, and a test that counts kills must see only its own.
    """
    loaded = []
    try:
        for arch in native_and_compat_arch():
            if arch is None:
                continue
            spec = ["-a", "always,exit", "-F", "arch=%s" % arch, "-S", ",".join(syscalls)]
            for field in fields:
                spec += ["-F", field]
            spec += ["-k", key]
            res = run([AUDITCTL] + spec, check=False)
            if res.returncode == 0:
                loaded.append(spec)
            elif arch == "b64":
                raise RuntimeError("auditctl %s failed: %s" % (" ".join(spec), res.stderr))
        yield loaded
    finally:
        for spec in loaded:
            run([AUDITCTL, "-d"] + spec[1:], check=False)
        leftover = run([AUDITCTL, "-l"], check=False).stdout
        assert key not in leftover, "rules keyed %s still loaded:\n%s" % (key, leftover)


class LogTail(object):
    """The part of the audit log written after this object was made (rotation-aware)."""

    def __init__(self, path=None):
        self.path = path or log_file()
        st = os.stat(self.path)
        self.inode, self.offset = st.st_ino, st.st_size

    def read(self):
        st = os.stat(self.path)
        chunks = []
        if st.st_ino != self.inode:  # rotated meanwhile: the rest of the old file is .1
            old = self.path + ".1"
            if os.path.exists(old) and os.stat(old).st_ino == self.inode:
                with open(old, "rb") as f:
                    f.seek(self.offset)
                    chunks.append(f.read())
            with open(self.path, "rb") as f:
                chunks.append(f.read())
        else:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunks.append(f.read())
        return b"".join(chunks)

    def wait_for(self, predicate, timeout=15.0):
        """Re-read until predicate(bytes) is true; return the bytes (auditd writes lazily)."""
        deadline = time.time() + timeout
        while True:
            data = self.read()
            if predicate(data) or time.time() > deadline:
                return data
            time.sleep(0.2)


def ensure_user(name):
    """Create a system user for the test if missing; return (pwd entry, created)."""
    try:
        return pwd.getpwnam(name), False
    except KeyError:
        run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
        return pwd.getpwnam(name), True


def remove_user(name):
    run(["userdel", name], check=False)


def as_user(uid=None, gid=None, loginuid=None):
    """preexec_fn that sets the login uid (auid) and then drops to uid/gid."""
    def prepare():
        if loginuid is not None:
            with open("/proc/self/loginuid", "w") as f:
                f.write(str(loginuid))
        if gid is not None:
            os.setgroups([])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)
    return prepare


def free_pid():
    """A pid that no process has (for ESRCH)."""
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists("/proc/%d" % pid):
            return pid
    raise RuntimeError("no free pid")


def loaded_rules():
    """The kernel's rules as auditctl -l prints them (no lines for "No rules")."""
    out = run([AUDITCTL, "-l"]).stdout
    return [line for line in out.splitlines() if line.startswith("-")]


def rules_watching(syscalls, rules=None):
    """The loaded rules whose -S list names one of SYSCALLS."""
    wanted = set(syscalls)
    found = []
    for line in loaded_rules() if rules is None else rules:
        words = line.split()
        named = set()
        for index, flag in enumerate(words[:-1]):
            if flag == "-S":
                named.update(words[index + 1].split(","))
        if named & wanted:
            found.append(line)
    return found


def build_i386(workdir, name, source):
    """A static i386 program built from SOURCE without libc (gcc -m32 -nostdlib, so no
    multilib is needed), or (None, why not)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        return None, "gcc is not installed"
    if native_and_compat_arch()[1] is None or os.uname().machine != "x86_64":
        return None, "no i386 compat ABI on %s" % os.uname().machine
    src = os.path.join(workdir, name + ".c")
    with open(src, "w") as f:
        f.write(source)
    out = os.path.join(workdir, name)
    res = run([gcc, "-m32", "-O1", "-nostdlib", "-static", "-fno-pic", "-fno-stack-protector",
               "-o", out, src], check=False, stderr=subprocess.STDOUT)
    if res.returncode != 0:
        return None, "gcc -m32 cannot build here: %s" % res.stdout.strip()[-200:]
    return out, None


_AUSEARCH_HEAD = re.compile(r"^type=(\w+) msg=audit\([^)]*:(\d+)\) : (.*)$")
_AUSEARCH_FIELD = re.compile(r"(\w+)=(\S*)")


def ausearch_interpreted(data, key):
    """ausearch -i of the log bytes DATA for KEY: {serial: {record type: [fields, ...]}}.

    Values are ausearch's interpretation (names for uids, syscalls and errnos); the values
    of PROCTITLE, which may hold spaces, are not used.
    """
    import tempfile
    fd, path = tempfile.mkstemp()
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        res = run([AUSEARCH, "--input", path, "-k", key, "-i"], check=False)
    finally:
        os.unlink(path)
    events = {}
    for line in res.stdout.splitlines():
        m = _AUSEARCH_HEAD.match(line)
        if m and m.group(1) != "PROCTITLE":
            fields = dict(_AUSEARCH_FIELD.findall(m.group(3)))
            events.setdefault(int(m.group(2)), {}).setdefault(m.group(1), []).append(fields)
    return events


def wait_exec(pid, comm, timeout=5.0):
    """Wait until the child PID has exec'd (its comm is COMM), so OBJ_PID records name it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == comm[:15]:
                    return
        except OSError:
            return
        time.sleep(0.01)


AUDITD_CONF = "/etc/audit/auditd.conf"


def restart_auditd():
    """Restart auditd the way the platform allows (tests/lib/hoststate.py: never `systemctl
    restart`); then wait until it runs. It reloads rules.d: load a test's rules afterwards.
    Hold the test lock."""
    hoststate.restart_auditd()
    deadline = time.time() + 20
    while audit_available() is not None and time.time() < deadline:
        time.sleep(0.2)
    assert audit_available() is None


@contextlib.contextmanager
def auditd_log_format(fmt):
    """auditd writing log_format FMT (RAW or ENRICHED) for the block: auditd.conf changed and
    auditd restarted, both put back after. Hold the test lock."""
    with open(AUDITD_CONF) as f:
        saved = f.read()
    try:
        with open(AUDITD_CONF, "w") as f:
            f.write(re.sub(r"(?m)^log_format\s*=.*$", "log_format = %s" % fmt, saved))
        restart_auditd()
        yield
    finally:
        with open(AUDITD_CONF, "w") as f:
            f.write(saved)
        restart_auditd()


def log_format():
    """auditd.conf's log_format (ENRICHED, auditd 3's default, when the line is missing)."""
    try:
        with open(AUDITD_CONF) as f:
            for line in f:
                m = re.match(r"\s*log_format\s*=\s*(\S+)", line)
                if m:
                    return m.group(1).upper()
    except OSError:
        pass
    return "ENRICHED"
