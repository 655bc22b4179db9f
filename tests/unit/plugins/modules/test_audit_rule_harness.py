"""Helpers for the audit_rule tests: run the module for real, snapshot and restore the host.

run_module() runs the module's main() in this process with the given arguments, exactly as
Ansible would (AnsibleModule reads them, the result is the JSON the module prints), for
ansible-core 2.16 and 2.19+ (tests/lib/modulerun.py).

HostState is everything of the host's audit configuration a test could change: the files of
/etc/audit/rules.d (bytes, mode, owner), /etc/audit/audit.rules and its .prev copy, and the
kernel's rule list (auditctl -l). The `host` fixture takes the machine-wide test lock, snapshots
it, and at the end puts back whatever differs and checks that the host is exactly as before.

This file also tests the harness itself.
"""
import contextlib
import importlib.util
import json
import os
import stat
import subprocess
import sys
import tempfile

import pytest

from tests.lib import liveaudit, modulerun
from tests.lib.auditlock import audit_test_lock

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
RULES_DIR = "/etc/audit/rules.d"
AUDIT_FILES = ("/etc/audit/audit.rules", "/etc/audit/audit.rules.prev")
AUDITCTL = liveaudit.AUDITCTL
# (a child run by run_module_subprocess does not ask: under unshare, auditctl -s takes 8 s)


def _audit_reason():
    """Why the live tests cannot run here, or None. Asked under the machine-wide test lock: a test
    elsewhere that restarts auditd holds it until auditd is back, and would otherwise make every
    test of this run skip ("auditd is not running")."""
    if os.environ.get("AUDITFLEET_HARNESS_CHILD"):
        return None
    with audit_test_lock():
        return liveaudit.audit_available()


REASON = _audit_reason()

HAVE_ANSIBLE = importlib.util.find_spec("ansible") is not None

needs_ansible = pytest.mark.skipif(not HAVE_ANSIBLE, reason="ansible-core is not installed")
needs_audit = pytest.mark.skipif(REASON is not None, reason="real auditd needed: %s" % REASON)


# --------------------------------------------------------------------------------------------
# Running the module
# --------------------------------------------------------------------------------------------

def run_module(args, check_mode=False, diff=False):
    """Run audit_rule's main() with ARGS; return the module's result (dict, 'failed' if it did)."""
    return modulerun.run_module("audit_rule", args, check_mode=check_mode, diff=diff)


RUN_IN_SUBPROCESS = r"""
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from tests.unit.plugins.modules.test_audit_rule_harness import run_module
args = json.loads(sys.argv[3])
sys.stdout.write(json.dumps(run_module(args, check_mode=args.pop("check", False))))
"""


def run_module_subprocess(args, prefix=(), timeout=120, **popen):
    """Run the module in a child Python (optionally under PREFIX, e.g. unshare); return result.

    With popen arguments the Popen is returned instead (the caller waits)."""
    argv = list(prefix) + [sys.executable, "-c", RUN_IN_SUBPROCESS, COLLECTIONS, ROOT,
                           json.dumps(args)]
    env = dict(os.environ, AUDITFLEET_HARNESS_CHILD="1")
    if popen:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, env=env, **popen)
    res = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=timeout, env=env, check=False)
    assert res.stdout, "no result; stderr: %s" % res.stderr[-2000:]
    return json.loads(res.stdout)


# --------------------------------------------------------------------------------------------
# The host's audit state
# --------------------------------------------------------------------------------------------

def auditctl_list():
    out = liveaudit.run([AUDITCTL, "-l"]).stdout
    return [line for line in out.splitlines() if line.strip() and line.strip() != "No rules"]


def _file(path):
    """(bytes, mode, uid, gid) of a regular file; for anything else (a FIFO or a link a test
    planted) what it is, without opening it (a FIFO would block)."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return ("not a regular file", stat.S_IFMT(st.st_mode), st.st_uid, st.st_gid)
        with open(path, "rb") as f:
            return (f.read(), st.st_mode & 0o7777, st.st_uid, st.st_gid)
    except FileNotFoundError:
        return None


class HostState(object):
    """rules.d (every file: bytes, mode, owner), audit.rules(.prev), auditctl -l."""

    def __init__(self, rules_dir=RULES_DIR):
        self.rules_dir = rules_dir
        self.files = dict((name, _file(os.path.join(rules_dir, name)))
                          for name in sorted(os.listdir(rules_dir)))
        self.audit_files = dict((p, _file(p)) for p in AUDIT_FILES)
        self.kernel = auditctl_list()

    def _parts(self):
        return (self.files, self.audit_files, self.kernel)

    def __eq__(self, other):
        return self._parts() == other._parts()

    def __ne__(self, other):
        return not self == other

    def differences(self, other):
        out = []
        for name in sorted(set(self.files) | set(other.files)):
            if self.files.get(name) != other.files.get(name):
                out.append("rules.d/%s: %r -> %r" % (name, self.files.get(name), other.files.get(name)))
        for p in AUDIT_FILES:
            if self.audit_files[p] != other.audit_files[p]:
                out.append("%s differs" % p)
        if self.kernel != other.kernel:
            out.append("auditctl -l: %r -> %r" % (self.kernel, other.kernel))
        return "\n".join(out) or "no difference"

    def restore(self):
        """Put back every file and the kernel list this snapshot holds."""
        for name in os.listdir(self.rules_dir):
            if name not in self.files:
                os.unlink(os.path.join(self.rules_dir, name))
        for name, state in self.files.items():
            _put(os.path.join(self.rules_dir, name), state)
        for path, state in self.audit_files.items():
            _put(path, state)
        if auditctl_list() != self.kernel:
            liveaudit.run([AUDITCTL, "-D"])
            if self.kernel:
                fd, tmp = tempfile.mkstemp(suffix=".rules")
                try:
                    with os.fdopen(fd, "w") as f:
                        f.write("".join(line + "\n" for line in self.kernel))
                    liveaudit.run([AUDITCTL, "-R", tmp])
                finally:
                    os.unlink(tmp)


def _put(path, state):
    if state is None:
        if os.path.lexists(path):
            os.unlink(path)
        return
    if _file(path) == state:
        return
    content, mode, uid, gid = state
    with open(path, "wb") as f:
        f.write(content)
    os.chmod(path, mode)
    os.chown(path, uid, gid)


@contextlib.contextmanager
def guarded_host():
    """Lock, snapshot, run, restore, and check the host is exactly as before."""
    with audit_test_lock():
        before = HostState()
        try:
            yield before
        finally:
            if HostState() != before:
                before.restore()
            after = HostState()
            assert after == before, "the host was not put back:\n" + before.differences(after)


@contextlib.contextmanager
def host_guard():
    """guarded_host() for a test that runs the module (skips where it cannot run).

    The `host` fixture of tests/unit/plugins/modules/conftest.py is this; a test file that
    needs more put back (test_audit_rule_controls) defines its own around it.
    """
    if REASON is not None:
        pytest.skip("real auditd needed: %s" % REASON)
    if not HAVE_ANSIBLE:
        pytest.skip("ansible-core is not installed")
    with guarded_host() as before:
        yield before


# --------------------------------------------------------------------------------------------
# Tests of the harness
# --------------------------------------------------------------------------------------------

@needs_ansible
def test_harness_returns_the_modules_failure():
    res = run_module({"name": "Bad Name", "rules": [{"syscalls": ["kill"]}], "reload": False,
                      "rules_dir": "/nonexistent"})
    assert res["failed"] is True and "name 'Bad Name' is not allowed" in res["msg"]


@needs_ansible
def test_harness_passes_check_and_diff_mode(tmp_path):
    res = run_module({"name": "harness", "rules": [{"path": "/etc/passwd", "key": "h"}],
                      "reload": False, "rules_dir": str(tmp_path)}, check_mode=True, diff=True)
    assert res["changed"] is True and "diff" in res
    assert os.listdir(str(tmp_path)) == []


@needs_audit
@needs_ansible
def test_host_state_restores_what_a_test_changed(tmp_path):
    key = liveaudit.new_key("afar")
    with guarded_host() as before:
        liveaudit.run([AUDITCTL, "-a", "always,exit", "-F", "arch=b64", "-S", "kill", "-k", key])
        with open(os.path.join(RULES_DIR, "99-harness-%s.rules" % key), "w") as f:
            f.write("# nothing\n")
        assert HostState() != before
    assert key not in "".join(auditctl_list())
    assert not any(key in n for n in os.listdir(RULES_DIR))
