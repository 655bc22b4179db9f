"""Helpers for the audit_rule tests: run the module for real, snapshot and restore the host.

run_module() runs the module's main() in this process with the given arguments, exactly as
Ansible would (AnsibleModule reads them, the result is the JSON the module prints), for
ansible-core 2.16 and 2.19+ (tests/lib/modulerun.py).

HostState (tests/lib/hoststate.py) is everything of the host's audit configuration a test could
change: rules.d, audit.rules(.prev), auditd.conf, the kernel's rules and settings, whether auditd
runs. The `host` fixture takes the machine-wide test lock, snapshots it, and at the end puts
back whatever differs and checks that the host is exactly as before (guarded_host()).

This file also tests the harness itself.
"""
import contextlib
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.lib import liveaudit, modulerun
from tests.lib.auditlock import audit_test_lock
from tests.lib.env import COLLECTIONS, ROOT
from tests.lib.hoststate import RULES_DIR, HostState, guarded_host, kernel_rules as auditctl_list

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
# The host's audit state (tests/lib/hoststate.py: HostState, guarded_host)
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def host_guard():
    """guarded_host() for a test that runs the module (skips where it cannot run).

    The `host` fixture of tests/unit/plugins/modules/conftest.py is this.
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
