"""The host's audit state: saved before a test, put back after it, checked. The one implementation.

Every test that changes what auditd and the kernel hold uses it: unit tests through
guarded_host() (the `host` fixture of tests/unit/plugins/modules), integration targets through
tests/integration/targets/setup_auditd, scripts and the demo through `af_guarded` of
tests/lib/env.sh, which runs the `guard` command below.

HostState is what a test may change:
  - /etc/audit/rules.d: every entry (bytes, mode, owner; what it is, if not a regular file),
  - /etc/audit/audit.rules and its .prev copy, /etc/audit/auditd.conf,
  - the kernel's rules (auditctl -l),
  - the kernel settings tests set (auditctl -s): enabled, failure, rate_limit, backlog_limit,
    backlog_wait_time,
  - whether auditd runs.
restore() puts back what differs, in this order: the files; auditd restarted if auditd.conf
changed (stopped by signal, then started: never `systemctl restart`, which systemd refuses on
RHEL-like hosts); auditd started or stopped as it was; the kernel's rules; the settings.

    python3 tests/lib/hoststate.py guard -- COMMAND...
        holds the machine-wide test lock (tests/lib/auditlock.py), installs and starts auditd
        if needed, saves the state, runs COMMAND, puts back what differs and checks it; exits
        with COMMAND's status, or 1 if the host could not be put back
    python3 tests/lib/hoststate.py ensure-running
        installs auditd if it is missing, starts it if it is not running (holding the lock)
    python3 tests/lib/hoststate.py show
        prints the state

Runs on Python 3.6+ (no newer syntax): the system's Python may be the only one on a host.
"""
import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

if __name__ == "__main__":  # run as a script: tests.lib is importable from the checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))

from tests.lib.auditlock import LOCK_PATH, audit_test_lock, run_child  # noqa: E402

AUDIT_DIR = "/etc/audit"
RULES_DIR = os.path.join(AUDIT_DIR, "rules.d")
AUDIT_FILES = (os.path.join(AUDIT_DIR, "audit.rules"), os.path.join(AUDIT_DIR, "audit.rules.prev"))
AUDITD_CONF = os.path.join(AUDIT_DIR, "auditd.conf")
# auditctl -s name -> the auditctl option that sets it
# (auditctl -s name, the flag that puts it back; None: only a reboot changes it, a test that did is
# an error the host cannot recover from here)
SETTINGS = (("enabled", "-e"), ("failure", "-f"), ("rate_limit", "-r"), ("backlog_limit", "-b"),
            ("backlog_wait_time", "--backlog_wait_time"), ("loginuid_immutable", None))
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
ENV = dict(os.environ, LC_ALL="C")
TIMEOUT = 120
START_LOG = os.path.join(tempfile.gettempdir(), "auditfleet-auditd-start.log")


class HostStateError(Exception):
    """The host could not be read or put back."""


def tool(name):
    found = shutil.which(name, path=SBIN_PATH)
    if found is None:
        raise HostStateError("%s is not installed" % name)
    return found


def run(argv, check=True, **kwargs):
    """An external program: argument list, C locale, a timeout, text output."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    res = subprocess.run(argv, env=ENV, universal_newlines=True, timeout=TIMEOUT, check=False, **kwargs)
    if check and res.returncode != 0:
        raise HostStateError("%s failed (exit %d): %s" % (" ".join(argv), res.returncode, (res.stderr or "").strip()))
    return res


def auditctl(*args, **kwargs):
    return run([tool("auditctl")] + list(args), **kwargs)


def audit_status():
    """auditctl -s as {name: first word of the value}; {} where the kernel has no audit."""
    res = auditctl("-s", check=False)
    if res.returncode != 0:
        return {}
    return dict((k, v.split()[0]) for k, v in (line.split(None, 1) for line in res.stdout.splitlines()
                                               if len(line.split(None, 1)) == 2))


def auditd_pid(status=None):
    """The pid of the audit daemon the kernel talks to, if it is alive; else 0."""
    pid = int((status if status is not None else audit_status()).get("pid", "0") or 0)
    return pid if pid and os.path.exists("/proc/%d" % pid) else 0


def kernel_rules():
    """The kernel's rules as auditctl -l prints them (no line for "No rules")."""
    out = auditctl("-l").stdout
    return [line for line in out.splitlines() if line.strip() and line.strip() != "No rules"]


def read_entry(path):
    """(bytes, mode, uid, gid) of a regular file; for anything else (a FIFO or a link a test
    planted) what it is, without opening it (a FIFO would block); None if there is nothing."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return ("not a regular file", stat.S_IFMT(st.st_mode), st.st_uid, st.st_gid)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        return (f.read(), st.st_mode & 0o7777, st.st_uid, st.st_gid)


def put_entry(path, state):
    """Make PATH what STATE (from read_entry) says: removed, or a regular file with that
    content, mode and owner, written to a new file and renamed over (no link followed)."""
    if read_entry(path) == state:
        return
    if state is None:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)  # a directory a test made in rules.d
        elif os.path.lexists(path):
            os.unlink(path)
        return
    content, mode, uid, gid = state
    if not isinstance(content, bytes):
        raise HostStateError("%s was %s before the test: cannot be made again" % (path, content))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".hoststate-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, mode)
        os.chown(tmp, uid, gid)
        os.rename(tmp, path)  # replaces a link or FIFO a test planted, never writes through it
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def systemd():
    return os.path.isdir("/run/systemd/system")


def _wait(predicate, what, timeout=30.0):
    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            raise HostStateError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(0.1)


def _daemon_command(argv):
    """Run a command that starts a daemon: its output to a file, not to our caller's pipes
    (a daemon keeping CI's output pipe open would hang it); no descriptor of ours passed on."""
    with open(START_LOG, "ab") as out:
        res = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=ENV,
                             timeout=TIMEOUT, start_new_session=True, close_fds=True, check=False)
    if res.returncode != 0:
        with open(START_LOG, "rb") as f:
            tail = f.read()[-2000:].decode("utf-8", "replace")
        raise HostStateError("%s failed (exit %d): %s" % (" ".join(argv), res.returncode, tail))


def start_auditd():
    """Start auditd: `systemctl start auditd` under systemd; else the daemon alone (the init
    script would also replace the kernel's rules with audit.rules)."""
    if auditd_pid():
        return
    if systemd():
        _daemon_command([tool("systemctl"), "start", "auditd"])
    else:
        _daemon_command([tool("auditd")])
    _wait(lambda: auditd_pid() != 0, "auditd to start (its output: %s)" % START_LOG, 20)


def stop_auditd():
    """Stop auditd with a signal, as systemd hosts allow (RefuseManualStop=yes refuses systemctl)."""
    pid = auditd_pid()
    if not pid:
        return
    os.kill(pid, signal.SIGTERM)
    _wait(lambda: not auditd_pid() and not os.path.exists("/proc/%d" % pid), "auditd (pid %d) to stop" % pid)


def restart_auditd():
    """Restart auditd the way each platform allows: never `systemctl restart`."""
    legacy = "/usr/libexec/initscripts/legacy-actions/auditd/restart"
    if systemd() and os.access(legacy, os.X_OK):
        _daemon_command([legacy])
        _wait(lambda: auditd_pid() != 0, "auditd to start again", 20)
    else:
        stop_auditd()
        start_auditd()


def ensure_installed():
    """Install auditd with the host's package manager if auditctl is missing."""
    if shutil.which("auditctl", path=SBIN_PATH):
        return
    if shutil.which("apt-get", path=SBIN_PATH):
        env = dict(ENV, DEBIAN_FRONTEND="noninteractive")
        apt = [tool("apt-get"), "-o", "DPkg::Lock::Timeout=600", "-q"]
        run(apt + ["update"], env=env, stdout=None, stderr=None)
        run(apt + ["install", "-y", "--no-install-recommends", "auditd"], env=env, stdout=None, stderr=None)
    elif shutil.which("dnf", path=SBIN_PATH):
        run([tool("dnf"), "install", "-y", "audit"], stdout=None, stderr=None)
    elif shutil.which("zypper", path=SBIN_PATH):
        run([tool("zypper"), "--non-interactive", "install", "audit"], stdout=None, stderr=None)
    else:
        raise HostStateError("auditctl is missing and no apt-get, dnf or zypper to install it with")
    tool("auditctl")


def ensure_running():
    """auditd installed and running (the caller holds the lock)."""
    ensure_installed()
    start_auditd()


class HostState(object):
    """A snapshot of the host's audit state (see the module's docstring)."""

    def __init__(self, rules_dir=RULES_DIR):
        self.rules_dir = rules_dir
        self.files = dict((name, read_entry(os.path.join(rules_dir, name))) for name in sorted(os.listdir(rules_dir)))
        self.audit_files = dict((path, read_entry(path)) for path in AUDIT_FILES)
        self.conf = read_entry(AUDITD_CONF)
        self.kernel = kernel_rules()
        status = audit_status()
        self.settings = dict((name, status.get(name)) for name, _flag in SETTINGS)
        self.running = bool(auditd_pid(status))

    def _parts(self):
        return (self.files, self.audit_files, self.conf, self.kernel, self.settings, self.running)

    def __eq__(self, other):
        return self._parts() == other._parts()

    def __ne__(self, other):
        return not self == other

    def differences(self, other):
        """What differs from OTHER (a later snapshot), one line each."""
        out = []
        for name in sorted(set(self.files) | set(other.files)):
            if self.files.get(name) != other.files.get(name):
                out.append("%s/%s: %s -> %s" % (self.rules_dir, name, _short(self.files.get(name)),
                                                _short(other.files.get(name))))
        for path in AUDIT_FILES:
            if self.audit_files[path] != other.audit_files[path]:
                out.append("%s: %s -> %s" % (path, _short(self.audit_files[path]), _short(other.audit_files[path])))
        if self.conf != other.conf:
            out.append("%s differs" % AUDITD_CONF)
        if self.kernel != other.kernel:
            gone = [r for r in self.kernel if r not in other.kernel]
            new = [r for r in other.kernel if r not in self.kernel]
            out.append("auditctl -l: %d rules -> %d%s%s" % (len(self.kernel), len(other.kernel),
                                                            "; gone: %r" % gone if gone else "",
                                                            "; added: %r" % new if new else ""))
        for name, _flag in SETTINGS:
            if self.settings[name] != other.settings[name]:
                out.append("auditctl -s %s: %s -> %s" % (name, self.settings[name], other.settings[name]))
        if self.running != other.running:
            out.append("auditd %s -> %s" % (_run_word(self.running), _run_word(other.running)))
        return out

    def restore(self):
        """Put back whatever differs from this snapshot (the caller holds the lock)."""
        for name in os.listdir(self.rules_dir):
            if name not in self.files:
                put_entry(os.path.join(self.rules_dir, name), None)
        for name, state in self.files.items():
            put_entry(os.path.join(self.rules_dir, name), state)
        for path, state in self.audit_files.items():
            put_entry(path, state)
        conf_changed = read_entry(AUDITD_CONF) != self.conf
        put_entry(AUDITD_CONF, self.conf)
        if self.running:
            if conf_changed and auditd_pid():
                restart_auditd()
            else:
                start_auditd()
        else:
            stop_auditd()
        if kernel_rules() != self.kernel:
            auditctl("-D")
            if self.kernel:
                fd, path = tempfile.mkstemp(suffix=".rules")  # mode 0600: auditctl -R refuses others
                try:
                    with os.fdopen(fd, "w") as f:
                        f.write("".join(line + "\n" for line in self.kernel))
                    auditctl("-R", path)
                finally:
                    os.unlink(path)
        status = audit_status()
        for name, flag in SETTINGS:
            want, have = self.settings[name], status.get(name)
            if want is None or want == have:
                continue
            if flag is None:
                raise HostStateError("auditctl -s %s is %s, was %s: only a reboot changes it"
                                     % (name, have, want))
            if name == "enabled" and (want not in ("0", "1") or have == "2"):
                raise HostStateError("auditctl -s enabled is %s, was %s: only a reboot changes immutable mode"
                                     % (have, want))
            auditctl(flag, want)


def _short(entry):
    if entry is None:
        return "absent"
    if isinstance(entry[0], bytes):
        return "%d bytes, mode %o, owner %d:%d" % (len(entry[0]), entry[1], entry[2], entry[3])
    return "%s (type %o)" % (entry[0], entry[1])


def _run_word(running):
    return "running" if running else "not running"


def put_back(before, out=sys.stderr):
    """Put the host back as BEFORE if it differs; check it. Returns the problems left ([] if
    the host is as before), and says on OUT what it put back."""
    now = HostState()
    if now == before:
        return []
    out.write("hoststate: putting back: %s\n" % "; ".join(before.differences(now)))
    try:
        before.restore()
    except (HostStateError, OSError, subprocess.SubprocessError) as exc:
        return ["restore failed: %s" % exc] + before.differences(HostState())
    return before.differences(HostState())


@contextlib.contextmanager
def guarded_host():
    """Lock, snapshot, run the block, put back what differs, and check that the host is
    exactly as before (AssertionError if not). Yields the snapshot."""
    with audit_test_lock():
        before = HostState()
        try:
            yield before
        finally:
            problems = put_back(before)
            assert not problems, "the host was not put back:\n" + "\n".join(problems)


def guard(argv, out=sys.stderr):
    """The `guard` command: lock, auditd ready, snapshot, ARGV, put back, check."""
    with audit_test_lock(wait_message="waiting for the audit test lock %s" % LOCK_PATH):
        ensure_running()
        before = HostState()
        status = run_child(argv)
        problems = put_back(before, out)
    if problems:
        out.write("hoststate: the host was NOT put back as it was before %s:\n  %s\n"
                  % (" ".join(argv), "\n  ".join(problems)))
        return status or 1
    return status


def main(argv):
    usage = "usage: hoststate.py guard -- COMMAND... | ensure-running | show\n"
    if len(argv) >= 3 and argv[:2] == ["guard", "--"]:
        return guard(argv[2:])
    if argv == ["ensure-running"]:
        if shutil.which("auditctl", path=SBIN_PATH) and auditd_pid():
            return 0  # nothing to do: no need to wait for the lock
        with audit_test_lock(wait_message="waiting for the audit test lock %s" % LOCK_PATH):
            ensure_running()
        return 0
    if argv == ["show"]:
        state = HostState()
        for name, entry in sorted(state.files.items()):
            sys.stdout.write("%s/%s: %s\n" % (state.rules_dir, name, _short(entry)))
        for path, entry in sorted(state.audit_files.items()) + [(AUDITD_CONF, state.conf)]:
            sys.stdout.write("%s: %s\n" % (path, _short(entry)))
        sys.stdout.write("auditctl -l: %d rules\n" % len(state.kernel))
        sys.stdout.write("auditctl -s: %s\n" % ", ".join("%s %s" % (n, state.settings[n]) for n, _f in SETTINGS))
        sys.stdout.write("auditd: %s\n" % _run_word(state.running))
        return 0
    sys.stderr.write(usage)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except HostStateError as exc:
        sys.stderr.write("hoststate: %s\n" % exc)
        sys.exit(1)
