"""audit_rule and controls.loginuid_immutable (--loginuid-immutable): never part of a load, set
on its own after the rules are proven, proven by auditctl -s, never rolled back.

Only a reboot makes login uids changeable again, so it is never set on this machine: as in
test_audit_rule_lock.py, the command runner is given to a model of auditctl, augenrules and the
kernel's audit state (FakeAudit, extended here with the login uid feature), which records every
command and every file handed to auditctl -R. The rest is the module's real code.
test_audit_rule_controls.py runs it against the real kernel with that one step stubbed, and the
fleet scenario 69-loginuid-immutable sets it for real on throwaway VMs.
"""
import os

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecontrols import irreversible_of
from tests.unit.plugins.modules.test_audit_rule_harness import needs_ansible, run_module
from tests.unit.plugins.modules.test_audit_rule_lock import REJECTED, FakeAudit, files_of, install_fake

pytestmark = [needs_ansible]

LUID = "--loginuid-immutable"


class FakeLoginuid(FakeAudit):
    """FakeAudit with the kernel's login uid feature: auditctl -s reports it (as audit 3.x and 4.x
    print it), --loginuid-immutable sets and locks it; nothing unsets it."""

    def __init__(self, *args, **kw):
        self.loginuid_fails = kw.pop("loginuid_fails", False)
        super(FakeLoginuid, self).__init__(*args, **kw)
        self.status["loginuid_immutable"] = "0 unlocked"

    @property
    def loginuid_locked(self):
        return self.status["loginuid_immutable"] == "1 locked"

    def _one(self, words):
        control = irreversible_of(" ".join(words))   # any form auditctl's getopt_long takes
        if control is not None and control.option == "loginuid_immutable":
            if self.loginuid_fails:
                return 255, "Error setting loginuid immutable (Operation not permitted)\n"
            self.status["loginuid_immutable"] = "1 locked"
            return 0, ""
        if control is not None:     # -e2 is -e 2
            return super(FakeLoginuid, self)._one(["-e", "2"])
        return super(FakeLoginuid, self)._one(words)


@pytest.fixture(params=["own_dir", "default_dir"])
def fake(request, tmp_path, monkeypatch):
    """As test_audit_rule_lock's fixture: a rules_dir of its own (rule by rule), or the default
    directory with a -D file (augenrules)."""
    return install_fake(FakeLoginuid, request.param, tmp_path, monkeypatch)


def rule_set(fake, *extra, **kw):
    args = {"name": "aful-base", "rules_dir": fake.rules_dir, "priority": 10,
            "controls": {"loginuid_immutable": True},
            "rules": [{"syscalls": ["kill"], "arch": "b64", "key": "aful_kill"}] + list(extra)}
    args.update(kw)
    return args


def loginuid_commands(fake):
    """Indexes of the commands that set --loginuid-immutable (in any form auditctl takes), alone
    or inside a file given to auditctl -R (augenrules --load counts with the file it loads)."""
    out = []
    for i, (argv, content) in enumerate(fake.commands):
        lines = [" ".join(argv[1:])] + (content.split("\n") if content is not None else [])
        if any(irreversible_of(line) is not None and irreversible_of(line).option == "loginuid_immutable"
               for line in lines):
            out.append(i)
    return out


def in_a_load(fake):
    """Commands that handed the login uid line to the kernel together with other lines."""
    return [fake.commands[i] for i in loginuid_commands(fake) if fake.commands[i][1] is not None]


def test_it_is_set_alone_after_the_rules_are_loaded_and_proven(fake):
    res = run_module(rule_set(fake), diff=True)
    assert not res.get("failed"), res["msg"]
    assert res["changed"] and res["loaded"] is True and res["missing"] == [] and res["controls"] == [LUID]
    assert fake.loginuid_locked and not fake.locked
    sets = loginuid_commands(fake)
    assert len(sets) == 1 and fake.commands[sets[0]][0][1:] == [LUID], fake.commands
    assert in_a_load(fake) == []
    loads = [i for i, (argv, content) in enumerate(fake.commands) if "-R" in argv]
    proofs = [i for i, (argv, content) in enumerate(fake.commands) if argv[1:] == ["-l"]]
    assert loads and max(loads) < max(proofs) < sets[0]
    assert fake.commands[sets[0] + 1][0][1:] == ["-s"] and sets[0] + 2 == len(fake.commands)   # proven
    assert res["load_method"] == "auditctl"      # not augenrules --load: it would load the line
    with open(os.path.join(fake.rules_dir, "10-aful-base.rules")) as f:
        assert f.read().splitlines()[1] == LUID  # the next boot sets it while loading the rules
    if fake.kind == "default_dir":
        with open(fake.audit_rules) as f:
            assert LUID in f.read().splitlines()
    settings = [d for d in res["diff"] if "settings" in d["before_header"]][0]
    assert (settings["before"], settings["after"]) == ("loginuid_immutable 0\n", "loginuid_immutable 1\n")

    again = run_module(rule_set(fake))
    assert again["changed"] is False and again["loaded"] and len(loginuid_commands(fake)) == 1


def test_a_later_change_on_the_host_still_loads_and_does_not_set_it_again(fake):
    assert not run_module(rule_set(fake)).get("failed")
    count = len(fake.commands)
    other = {"name": "aful-other", "rules_dir": fake.rules_dir, "priority": 50,
             "rules": [{"syscalls": ["ptrace"], "arch": "b64", "key": "aful_other"}]}
    res = run_module(other)
    assert not res.get("failed") and res["changed"] and res["loaded"], res["msg"]
    assert "-a always,exit -F arch=b64 -S ptrace -F key=aful_other" in fake.rules
    assert loginuid_commands(fake) and max(loginuid_commands(fake)) < count and in_a_load(fake) == []


def test_with_the_lock_the_login_uids_come_first_and_the_lock_last(fake):
    res = run_module(rule_set(fake, controls={"loginuid_immutable": True, "immutable": True}))
    assert not res.get("failed"), res["msg"]
    assert res["controls"] == [LUID, "-e 2"] and fake.loginuid_locked and fake.locked
    tails = [argv[1:] for argv, content in fake.commands if argv[1:] in ([LUID], ["-e", "2"])]
    assert tails == [[LUID], ["-e", "2"]] and in_a_load(fake) == []


@pytest.mark.parametrize("with_lock", [False, True])
def test_a_set_whose_rules_fail_is_rolled_back_and_login_uids_stay_changeable(fake, with_lock):
    bad = {"syscalls": ["openat"], "arch": "b64", "key": "aful_kill", "fields": [REJECTED + "/x"]}
    files, kernel = files_of(fake), list(fake.rules)
    controls = {"loginuid_immutable": True, "immutable": with_lock}
    res = run_module(rule_set(fake, bad, controls=controls), diff=True)
    assert res["failed"] is True and res["rolled_back"] is True, res
    assert loginuid_commands(fake) == [] and not fake.loginuid_locked and not fake.locked
    assert files_of(fake) == files and fake.rules == kernel


def test_a_kernel_that_does_not_take_it_is_rolled_back(fake):
    fake.loginuid_fails = True
    files, kernel = files_of(fake), list(fake.rules)
    res = run_module(rule_set(fake, controls={"loginuid_immutable": True, "immutable": True}))
    assert res["failed"] is True and res["rolled_back"] is True
    assert "did not make login uids immutable" in res["msg"] and "Operation not permitted" in res["msg"]
    assert "auditctl -s: loginuid_immutable 0" in res["msg"]
    assert res["missing"] == [LUID, "-e 2"]
    # the lock was not tried once the login uids failed
    assert [argv for argv, content in fake.commands if argv[1:] == ["-e", "2"]] == []
    assert files_of(fake) == files and fake.rules == kernel and not fake.locked


def test_the_rollback_never_sets_it_even_when_the_old_files_did(fake):
    res = run_module(rule_set(fake, reload=False))
    assert not res.get("failed") and not fake.loginuid_locked
    bad = {"syscalls": ["openat"], "arch": "b64", "key": "aful_kill", "fields": [REJECTED + "/x"]}
    files = files_of(fake)
    res = run_module(rule_set(fake, bad, controls={}))
    assert res["failed"] is True and res["rolled_back"] is True
    assert loginuid_commands(fake) == [] and not fake.loginuid_locked and files_of(fake) == files


def test_check_mode_predicts_it_and_runs_nothing_that_changes(fake):
    res = run_module(rule_set(fake), check_mode=True, diff=True)
    assert not res.get("failed") and res["changed"] and res["missing"][-1] == LUID
    assert sorted(argv[1:] for argv, _content in fake.commands) == [["-l"], ["-s"]]
    settings = [d for d in res["diff"] if "settings" in d["before_header"]][0]
    assert settings["after"] == "loginuid_immutable 1\n" and "predicted" in settings["after_header"]
    assert not fake.loginuid_locked and fake.rules == []


def test_an_immutable_kernel_writes_the_file_and_asks_for_a_reboot(fake):
    fake.status["enabled"] = 2
    res = run_module(rule_set(fake))
    assert not res.get("failed") and res["changed"] and res["reboot_required"]
    assert LUID in res["pending"] and loginuid_commands(fake) == [] and not fake.loginuid_locked


def test_removing_it_warns_that_login_uids_stay_immutable_until_the_reboot(fake):
    assert not run_module(rule_set(fake)).get("failed") and fake.loginuid_locked
    res = run_module({"name": "aful-base", "rules_dir": fake.rules_dir, "state": "absent"})
    assert not res.get("failed") and res["changed"] and res["reboot_required"] and res["pending"] == []
    assert any("login uids stay immutable until the next boot" in w for w in res["warnings"])
    assert "10-aful-base.rules" not in files_of(fake) and fake.loginuid_locked
    again = run_module({"name": "aful-base", "rules_dir": fake.rules_dir, "state": "absent"})
    assert again["changed"] is False and again["reboot_required"] is False


def test_an_auditctl_that_does_not_report_it_is_refused_before_anything_changes(fake):
    del fake.status["loginuid_immutable"]
    files = files_of(fake)
    res = run_module(rule_set(fake))
    assert res["failed"] and res["msg"].startswith("controls.loginuid_immutable: auditctl -s on this host "
                                                   "does not report loginuid_immutable")
    assert files_of(fake) == files and fake.rules == [] and [a[1:] for a, _c in fake.commands] in (
        [["-s"], ["-l"]], [["-l"], ["-s"]])


@pytest.mark.parametrize("bad", [False, True])
def test_the_short_forms_auditctl_takes_in_other_files_are_held_out_of_the_load_too(fake, bad):
    """Another file of rules.d with `--loginuid` (getopt_long's abbreviation) and `-e2`: neither
    is loaded with the rules; after the proof both are set alone (login uids first), and a load
    that fails sets neither."""
    if fake.kind != "default_dir":
        pytest.skip("another file's lines are loaded only with the whole directory (a -D file)")
    with open(os.path.join(fake.rules_dir, "11-short.rules"), "w") as f:
        f.write("--loginuid\n")
    with open(os.path.join(fake.rules_dir, "99-short.rules"), "w") as f:
        f.write("-e2\n")
    extra = [{"syscalls": ["openat"], "arch": "b64", "key": "aful_kill", "fields": [REJECTED + "/x"]}] if bad else []
    res = run_module(rule_set(fake, *extra, controls={}))
    assert in_a_load(fake) == [] and not any(
        irreversible_of(line) for _a, c in fake.commands if c for line in c.split("\n")), fake.commands
    if bad:
        assert res["failed"] and res["rolled_back"] and not fake.loginuid_locked and not fake.locked
        return
    assert not res.get("failed") and res["loaded"], res["msg"]
    tails = [argv[1:] for argv, content in fake.commands if argv[1:] in ([LUID], ["-e", "2"])]
    assert tails == [[LUID], ["-e", "2"]] and fake.loginuid_locked and fake.locked


def test_a_lock_that_fails_after_the_login_uids_were_set_says_they_stay_so(fake):
    """Login uids set, then -e 2 refused: the rules and files are put back, the lock was never
    set, but nothing can take the login uids back: the result says so (rolled_back false)."""
    fake.lock_fails = True
    files, kernel = files_of(fake), list(fake.rules)
    res = run_module(rule_set(fake, controls={"loginuid_immutable": True, "immutable": True}))
    assert res["failed"] is True and res["rolled_back"] is False
    assert "did not lock the audit configuration" in res["msg"] and res["missing"] == ["-e 2"]
    assert "login uids were made immutable" in res["rollback_error"] and "until the host reboots" in res["rollback_error"]
    assert fake.loginuid_locked and not fake.locked
    assert files_of(fake) == files and fake.rules == kernel
