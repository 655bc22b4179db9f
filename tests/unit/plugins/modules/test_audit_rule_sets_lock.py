"""audit_rule_sets and the immutable lock (-e 2): every set is loaded in one load and proven,
the lock is set on its own afterwards, and a failure in any set leaves the host unlocked and
every file and the kernel rolled back.

-e 2 is never set on this machine, so the outside world is FakeAudit of test_audit_rule_lock (a
small model of auditctl, augenrules and the kernel's audit state behind the command runner);
everything else is the module's real code. The fleet scenario 70-immutable tests the real thing.
"""
import os

import pytest

from tests.unit.plugins.modules.test_audit_rule_harness import needs_ansible
from tests.unit.plugins.modules.test_audit_rule_lock import (
    DROPPED, REJECTED, FakeAudit, files_of, install_fake, lock_commands)
from tests.lib import modulerun

pytestmark = [needs_ansible]


@pytest.fixture(params=["own_dir", "default_dir"])
def fake(request, tmp_path, monkeypatch):
    """FakeAudit behind the command runner, for a rules_dir of its own (auditctl -R) or for the
    default directory (a -D file: augenrules), as test_audit_rule_lock sets it up."""
    return install_fake(FakeAudit, request.param, tmp_path, monkeypatch)


def run_sets(args, check_mode=False, diff=False):
    return modulerun.run_module("audit_rule_sets", args, check_mode=check_mode, diff=diff)


def two_sets(fake, *extra_b, **kw):
    args = {"rules_dir": fake.rules_dir, "sets": [
        {"name": "afrs-lock", "priority": 90, "controls": {"immutable": True, "rate_limit": 50},
         "rules": [{"syscalls": ["kill"], "arch": "b64", "key": "afrs_lock"}]},
        {"name": "afrs-other", "rules": [{"path": "/etc/passwd", "permissions": "wa", "key": "afrs_other"}]
         + list(extra_b)}]}
    args.update(kw)
    return args


def loads(fake):
    return [i for i, (argv, content) in enumerate(fake.commands)
            if "-R" in argv or argv[1:] == ["--load"]]


def test_one_load_for_both_sets_then_the_proof_then_the_lock(fake):
    res = run_sets(two_sets(fake))
    assert not res.get("failed"), res["msg"]
    assert all(r["loaded"] for r in res["sets"].values()) and fake.locked
    assert fake.status["rate_limit"] == 50
    assert len(loads(fake)) == 1, fake.commands
    locks = lock_commands(fake)
    proofs = [i for i, (argv, content) in enumerate(fake.commands) if argv[1:] == ["-l"]]
    assert locks == [len(fake.commands) - 2] and fake.commands[locks[0]][0][1:] == ["-e", "2"]
    assert loads(fake)[0] < max(proofs) < locks[0]
    assert "-a always,exit -F arch=b64 -S kill -F key=afrs_lock" in fake.rules
    assert "-w /etc/passwd -p wa -k afrs_other" in fake.rules


def test_a_rule_that_fails_in_the_other_set_rolls_back_everything_and_never_locks(fake):
    for bad in (REJECTED, DROPPED):
        files, kernel = files_of(fake), list(fake.rules)
        rule = {"syscalls": ["openat"], "arch": "b64", "key": "afrs_other", "fields": [bad + "/x"]}
        res = run_sets(two_sets(fake, rule))
        assert res["failed"] is True and res["rolled_back"] is True, res
        assert "sets[1] (afrs-other)" in res["msg"]
        assert not fake.locked and lock_commands(fake) == [], fake.commands
        assert files_of(fake) == files and fake.rules == kernel
        assert fake.status["rate_limit"] == 0          # the setting was put back too


def test_a_lock_the_kernel_does_not_take_is_rolled_back(fake):
    fake.lock_fails = True
    files, kernel = files_of(fake), list(fake.rules)
    res = run_sets(two_sets(fake))
    assert res["failed"] is True and res["rolled_back"] is True
    assert "did not lock the audit configuration" in res["msg"] and "-e 2" in res["load_error"]
    assert files_of(fake) == files and fake.rules == kernel and not fake.locked


def test_check_mode_predicts_the_lock_and_runs_nothing_that_changes(fake):
    res = run_sets(two_sets(fake), check_mode=True, diff=True)
    assert not res.get("failed") and res["changed"] and res["load_method"] == "auditctl"
    assert sorted(argv[1:] for argv, _c in fake.commands) == [["-l"], ["-s"]]
    assert not fake.locked and fake.rules == []
    settings = [d for d in res["diff"] if d["before_header"].startswith("kernel audit settings")]
    assert len(settings) == 1 and "rate_limit 50" in settings[0]["after"]
    assert os.listdir(fake.rules_dir) == ([] if fake.kind == "own_dir" else ["10-base.rules"])
