"""audit_rule_sets and controls.loginuid_immutable (--loginuid-immutable): as for audit_rule
(test_audit_rule_loginuid.py), never part of the one load, set on its own after every set is
proven, proven by auditctl -s, never rolled back; a failure in any set leaves login uids
changeable. The outside world is that file's FakeLoginuid (a model of auditctl with the login uid
feature); everything else is the module's real code."""
import pytest

from tests.lib import modulerun
from tests.unit.plugins.modules.test_audit_rule_harness import needs_ansible
from tests.unit.plugins.modules.test_audit_rule_lock import REJECTED, files_of, install_fake
from tests.unit.plugins.modules.test_audit_rule_loginuid import LUID, FakeLoginuid, in_a_load, loginuid_commands

pytestmark = [needs_ansible]


@pytest.fixture(params=["own_dir", "default_dir"])
def fake(request, tmp_path, monkeypatch):
    return install_fake(FakeLoginuid, request.param, tmp_path, monkeypatch)


def two_sets(fake, *extra, **controls):
    return {"rules_dir": fake.rules_dir, "sets": [
        {"name": "afrsu-base", "priority": 10, "controls": dict({"loginuid_immutable": True}, **controls),
         "rules": [{"syscalls": ["kill"], "arch": "b64", "key": "afrsu_kill"}]},
        {"name": "afrsu-other", "rules": [{"syscalls": ["ptrace"], "arch": "b64", "key": "afrsu_other"}]
         + list(extra)}]}


def test_login_uids_become_immutable_once_every_set_is_proven(fake):
    res = modulerun.run_module("audit_rule_sets", two_sets(fake, immutable=True))
    assert not res.get("failed"), res["msg"]
    assert all(r["loaded"] for r in res["sets"].values()) and fake.loginuid_locked and fake.locked
    assert res["host"]["loginuid_immutable"] is False            # as auditctl -s said before the run
    loads = [i for i, (argv, content) in enumerate(fake.commands) if "-R" in argv or argv[1:] == ["--load"]]
    proofs = [i for i, (argv, content) in enumerate(fake.commands) if argv[1:] == ["-l"]]
    tails = [(i, argv[1:]) for i, (argv, content) in enumerate(fake.commands)
             if argv[1:] in ([LUID], ["-e", "2"])]
    assert len(loads) == 1 and in_a_load(fake) == []
    assert [t for _i, t in tails] == [[LUID], ["-e", "2"]] and loads[0] < max(proofs) < tails[0][0]
    again = modulerun.run_module("audit_rule_sets", two_sets(fake, immutable=True))
    assert again["changed"] is False and len(loginuid_commands(fake)) == 1
    assert again["host"]["loginuid_immutable"] is True


def test_a_failure_in_the_other_set_leaves_login_uids_changeable(fake):
    files, kernel = files_of(fake), list(fake.rules)
    bad = {"syscalls": ["openat"], "arch": "b64", "key": "afrsu_other", "fields": [REJECTED + "/x"]}
    res = modulerun.run_module("audit_rule_sets", two_sets(fake, bad))
    assert res["failed"] is True and res["rolled_back"] is True and "sets[1] (afrsu-other)" in res["msg"]
    assert loginuid_commands(fake) == [] and not fake.loginuid_locked
    assert files_of(fake) == files and fake.rules == kernel


def test_a_kernel_that_does_not_take_it_is_rolled_back(fake):
    fake.loginuid_fails = True
    files, kernel = files_of(fake), list(fake.rules)
    res = modulerun.run_module("audit_rule_sets", two_sets(fake))
    assert res["failed"] is True and res["rolled_back"] is True
    assert "did not make login uids immutable" in res["msg"] and LUID in res["load_error"]
    assert files_of(fake) == files and fake.rules == kernel and not fake.loginuid_locked
