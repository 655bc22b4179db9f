"""The rule-set plan (plugins/module_utils/_ruleplan.py), from hand-built snapshots.

No root, no auditd, no file system: these tests run as an unprivileged user
(test_the_plan_tests_pass_as_nobody runs them again in a child that dropped to uid 65534). What they decide is what the live module
tests (tests/unit/plugins/modules/test_audit_rule*.py) see on the real kernel: drift, immutable,
kernel audit not available, -D sets and sets without -D, removal, settings and their order,
duplicates, and the proof after a load that decides a rollback.
"""
import os

import pytest

from tests.lib.asnobody import run_as_nobody, zero_arg_tests
from ansible_collections.auditfleet.auditd.plugins.module_utils import _ruleplan
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditctl import load_plan
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import validate_rules
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecontrols import irreversible_of, validate_controls
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import HostArch
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruleplan import (
    DirSnapshot, KernelSnapshot, RuleSetSpec, outcome, plan_rule_set, prove)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import (
    LOAD_ALL, LOAD_ALL_UNLOCKED, LOAD_RULE_BY_RULE, lock_of, render_file, unlocked)

HOST = HostArch("x86_64", compat=True)
DIR = "/etc/audit/rules.d"
KILL = {"syscalls": ["kill"], "key": "afpl_kill"}
PASSWD = {"path": "/etc/passwd", "permissions": "wa", "key": "afpl_id"}
UP = {"enabled": 1, "pid": 4242, "available": True, "immutable": False, "message": "",
      "backlog_limit": 8192, "failure": 1, "rate_limit": 0, "backlog_wait_time": 60000,
      "loginuid_immutable": 0, "loginuid_immutable_state": "unlocked"}
BASE = ("10-base.rules", "-D\n-b 8192\n-f 1\n")


def rules(*items):
    return validate_rules(list(items), HOST)


def listing(*items):
    return [r.listing() for r in rules(*items)]


def spec(items=(), state="present", controls=None, name="afpl", priority=50, **kw):
    return RuleSetSpec(name, "%02d-%s.rules" % (priority, name), state, rules(*items),
                       validate_controls(controls or {}), **kw)


def own_file(name, items, controls=None):
    return {name: render_file(name.split("-", 1)[1][:-6], rules(*items),
                              validate_controls(controls or {})).encode("utf-8")}


def directory(own=None, others=(BASE,), mode=0o640, owner=(0, 0)):
    own = own or {}
    return DirSnapshot(DIR, own, dict((n, (0o100000 | mode,) + owner) for n in own), list(others))


def kernel(lines=(), **status):
    st = dict(UP)
    st.update(status)
    if not st["available"]:
        lines = ()
    return KernelSnapshot(st, list(lines))


def test_this_suite_runs_without_root_where_asked():
    """Run as nobody (uid 65534) by the test below, to prove the plan needs no privilege."""
    if os.environ.get("AUDITFLEET_PLAN_AS_NOBODY"):
        assert os.geteuid() == 65534


def test_the_plan_tests_pass_as_nobody():
    """Every plan test of this file that takes no arguments, again in a child that dropped to
    uid/gid 65534 with no groups (tests/lib/asnobody.py): the plan needs no privilege."""
    if os.geteuid() != 0:
        pytest.skip("not root: this whole run already proves the plan needs no privilege")
    names = zero_arg_tests(globals(), exclude=("test_the_plan_tests_pass_as_nobody",
                                               "test_this_suite_runs_without_root_where_asked"))
    got = run_as_nobody(globals(), names)
    assert (got["uid"], got["euid"]) == (65534, 65534)
    assert got["failed"] == [] and got["ran"] == len(names) >= 25, got


# ---- in place, first deployment, drift ---------------------------------------------------------

def test_a_set_in_place_plans_nothing():
    s = spec([KILL, PASSWD])
    d = directory(own_file("50-afpl.rules", [KILL, PASSWD]))
    p = plan_rule_set(s, d, kernel(listing(KILL, PASSWD)), HOST)
    assert (p.file_changed, p.need_load, p.drift, p.reboot_required, p.to_remove) == (False, False, False, False, [])
    assert p.warnings == [] and p.predicted_kernel == listing(KILL, PASSWD)
    assert outcome(s, listing(KILL, PASSWD), UP, True, p.stale_candidates, HOST) == {"missing": [], "loaded": True}


def test_a_new_set_is_written_and_loaded_with_the_whole_directory_when_it_has_minus_d():
    s = spec([KILL])
    p = plan_rule_set(s, directory(), kernel(), HOST)
    assert p.content_changed and p.file_changed and p.need_load and not p.drift
    assert p.desired.decode().splitlines()[1:] == ["-a always,exit -F arch=b64 -S kill -F key=afpl_kill",
                                                   "-a always,exit -F arch=b32 -S kill -F key=afpl_kill"]
    assert p.load_kind == LOAD_ALL
    assert p.compiled_after[:4] == ["## This file is automatically generated from %s" % DIR, "-D", "-b 8192", "-f 1"]
    assert p.predicted_kernel == listing(KILL)


def test_without_minus_d_the_load_is_rule_by_rule_and_keeps_what_the_kernel_has():
    other = listing(PASSWD)
    p = plan_rule_set(spec([KILL]), directory(others=()), kernel(other), HOST)
    assert p.load_kind == LOAD_RULE_BY_RULE and p.need_load
    assert p.load_add == rules(KILL) and p.load_delete == []
    assert p.predicted_kernel == other + listing(KILL)


def test_drift_the_file_is_right_but_the_kernel_lacks_a_rule():
    s = spec([KILL, PASSWD])
    d = directory(own_file("50-afpl.rules", [KILL, PASSWD]))
    p = plan_rule_set(s, d, kernel(listing(KILL)), HOST)
    assert not p.file_changed and p.need_load and p.drift
    assert [r.listing() for r in p.missing_before] == listing(PASSWD)
    assert outcome(s, listing(KILL), UP, True, [], HOST) == {"missing": listing(PASSWD), "loaded": False}


def test_a_dropped_rule_still_loaded_is_stale_and_deleted():
    s = spec([KILL])
    d = directory(own_file("50-afpl.rules", [KILL, PASSWD]))
    p = plan_rule_set(s, d, kernel(listing(KILL, PASSWD)), HOST)
    assert p.content_changed and p.need_load and not p.drift     # the file changes too
    assert [r.listing() for r in p.stale_before] == listing(PASSWD) and p.load_delete == p.stale_before
    assert p.predicted_kernel == listing(KILL)


def test_drift_the_file_is_right_but_a_rule_of_its_old_content_is_still_loaded():
    # an earlier run wrote KILL and PASSWD, this one wrote KILL only, and the kernel kept PASSWD:
    # the stale rule is known only from the file's old content, so this is plain "in place"
    s = spec([KILL])
    d = directory(own_file("50-afpl.rules", [KILL]))
    p = plan_rule_set(s, d, kernel(listing(KILL, PASSWD)), HOST)
    assert not p.need_load and p.stale_candidates == []


def test_reload_false_writes_the_file_and_loads_nothing():
    p = plan_rule_set(spec([KILL], reload=False), directory(), kernel(), HOST)
    assert p.file_changed and not p.need_load and p.predicted_kernel == []


def test_mode_and_owner_are_part_of_in_place():
    s = spec([KILL])
    loose = directory(own_file("50-afpl.rules", [KILL]), mode=0o644)
    p = plan_rule_set(s, loose, kernel(listing(KILL)), HOST)
    assert p.file_changed and not p.content_changed and not p.need_load
    foreign = directory(own_file("50-afpl.rules", [KILL]), owner=(1000, 1000))
    assert plan_rule_set(s, foreign, kernel(listing(KILL)), HOST, euid=0).file_changed
    assert not plan_rule_set(s, foreign, kernel(listing(KILL)), HOST, euid=1000).file_changed


# ---- removal, other priorities, files not ours --------------------------------------------------

def test_absent_removes_every_file_of_the_set_and_unloads_its_rules():
    own = own_file("50-afpl.rules", [KILL])
    own.update(own_file("20-afpl.rules", [PASSWD]))
    s = spec(state="absent")
    p = plan_rule_set(s, directory(own), kernel(listing(KILL, PASSWD)), HOST)
    assert p.to_remove == ["20-afpl.rules", "50-afpl.rules"] and p.desired is None
    assert p.need_load and p.predicted_kernel == []        # -D: the directory without the set
    assert outcome(s, listing(KILL), UP, True, p.stale_candidates, HOST) == {
        "missing": [], "loaded": False, "still_loaded": listing(KILL)}


def test_absent_with_its_rules_given_unloads_them_too():
    """state=absent with the set's rules given (as a role passes a set it turned off): the file
    goes and those rules are unloaded, like the file's own rules (they were kept loaded)."""
    s = spec([KILL, PASSWD], state="absent")
    p = plan_rule_set(s, directory(own_file("50-afpl.rules", [KILL]), others=()),
                      kernel(listing(KILL, PASSWD)), HOST)
    assert p.need_load and p.load_add == [] and p.missing_before == []
    assert sorted(r.listing() for r in p.load_delete) == sorted(listing(KILL, PASSWD))
    assert p.predicted_kernel == []
    assert prove(s, listing(PASSWD), UP, p.stale_candidates, HOST)[1] == rules(PASSWD)
    assert outcome(s, listing(KILL, PASSWD), UP, True, p.stale_candidates, HOST)["loaded"] is False


def test_absent_with_its_rules_given_and_gone_plans_nothing():
    """...and once file and rules are gone, the next run has nothing to do (idempotent)."""
    s = spec([KILL, PASSWD], state="absent")
    p = plan_rule_set(s, directory(others=()), kernel([]), HOST)
    assert (p.file_changed, p.need_load, p.drift, p.missing_before) == (False, False, False, [])
    assert outcome(s, [], UP, True, p.stale_candidates, HOST) == {"missing": [], "loaded": True}
    # half of it still loaded: only that goes, and the prediction does not bring the other back
    p = plan_rule_set(s, directory(others=()), kernel(listing(KILL)), HOST)
    assert p.need_load and [r.listing() for r in p.load_delete] == listing(KILL)
    assert p.predicted_kernel == []


def test_a_new_priority_moves_the_set_and_removes_the_old_file():
    p = plan_rule_set(spec([KILL], priority=30), directory(own_file("50-afpl.rules", [KILL])),
                      kernel(listing(KILL)), HOST)
    assert p.to_remove == ["50-afpl.rules"] and p.content_changed and p.need_load


def test_a_file_of_that_name_not_written_by_us_is_replaced_with_a_warning():
    p = plan_rule_set(spec([KILL]), directory({"50-afpl.rules": b"-w /tmp -p w\n"}), kernel(), HOST)
    assert p.warnings == ["%s/50-afpl.rules was not written by auditfleet.auditd; it is replaced" % DIR]


def test_rules_repeated_from_another_file_stop_the_plan_and_name_the_file():
    others = [BASE, ("30-other.rules", "-w /etc/passwd -p wa -k afpl_id\n")]
    with pytest.raises(AuditRuleError) as e:
        plan_rule_set(spec([KILL, PASSWD]), directory(others=others), kernel(), HOST)
    assert e.value.result["errors"] == ["-w /etc/passwd -p wa -k afpl_id is already in %s/30-other.rules" % DIR]


def test_a_removed_rule_that_another_file_also_has_is_not_stale():
    others = [BASE, ("30-other.rules", "-w /etc/passwd -p wa -k afpl_id\n")]
    p = plan_rule_set(spec([KILL]), directory(own_file("50-afpl.rules", [KILL, PASSWD]), others),
                      kernel(listing(KILL, PASSWD)), HOST)
    assert p.stale_candidates == [] and p.stale_before == []


# ---- kernel states ------------------------------------------------------------------------------

def test_immutable_writes_nothing_to_the_kernel_and_asks_for_a_reboot():
    k = kernel(listing(PASSWD), enabled=2, immutable=True)
    p = plan_rule_set(spec([KILL]), directory(), k, HOST)
    assert p.file_changed and not p.need_load and p.reboot_required and p.pending == listing(KILL)
    assert p.warnings == ["audit rules are immutable (auditctl -s: enabled 2): the rule file was written; "
                          "nothing was loaded, the change applies at the next boot (reboot to load it)"]
    c = plan_rule_set(spec([KILL], check_mode=True), directory(), k, HOST)
    assert "the rule file would be written" in c.warnings[0]


def test_immutable_with_the_file_in_place_but_rules_missing_still_needs_a_reboot():
    k = kernel([], enabled=2, immutable=True)
    p = plan_rule_set(spec([KILL]), directory(own_file("50-afpl.rules", [KILL])), k, HOST)
    assert not p.file_changed and p.reboot_required and "already in place" in p.warnings[0]


def test_immutable_with_every_rule_loaded_but_a_new_file_still_needs_a_reboot():
    # the kernel has the set's rules, but the file changes (a rule dropped): the boot loads it
    k = kernel(listing(KILL, PASSWD), enabled=2, immutable=True)
    p = plan_rule_set(spec([KILL]), directory(own_file("50-afpl.rules", [KILL, PASSWD])), k, HOST)
    assert p.pending == [] and p.content_changed and p.reboot_required


def test_immutable_and_converged_needs_no_reboot():
    k = kernel(listing(KILL), enabled=2, immutable=True)
    p = plan_rule_set(spec([KILL]), directory(own_file("50-afpl.rules", [KILL])), k, HOST)
    assert not p.reboot_required and p.pending == [] and p.warnings == []


def test_no_kernel_audit_writes_the_file_and_says_why_nothing_loads():
    k = kernel(available=False, message="kernel audit is not available here: X")
    s = spec([KILL], controls={"rate_limit": 10})
    p = plan_rule_set(s, directory(), k, HOST)
    assert p.file_changed and not p.need_load
    assert p.warnings == ["kernel audit is not available here: X; the rule file is written but nothing is loaded"]
    assert outcome(s, [], k.status, False, [], HOST)["missing"] == listing(KILL) + ["-r 10"]


def test_a_status_query_that_timed_out_stops_before_any_change():
    k = kernel(available=False, timed_out=True, message="auditctl -s did not answer in 30 s")
    with pytest.raises(AuditRuleError) as e:
        plan_rule_set(spec([KILL]), directory(), k, HOST)
    assert e.value.msg == "auditctl -s did not answer in 30 s; nothing was changed"


def test_disabled_audit_and_a_stopped_auditd_are_warned_about():
    p = plan_rule_set(spec([KILL]), directory(), kernel(enabled=0, pid=0), HOST)
    assert [w.split(" (")[0] for w in p.warnings] == ["kernel audit is disabled", "auditd is not running"]


# ---- -D sets, -e 2 and the order of settings ----------------------------------------------------

def test_a_directory_with_the_lock_loads_without_it():
    others = [BASE, ("99-finalize.rules", "-e 2\n")]
    p = plan_rule_set(spec([KILL]), directory(others=others), kernel(), HOST)
    assert p.load_kind == LOAD_ALL_UNLOCKED and p.compiled_after[-1] == "-e 2"


def test_settings_of_the_set_are_planned_and_compiled_before_its_rules():
    s = spec([KILL], controls={"buffer_size": 16384, "rate_limit": 100, "immutable": True})
    p = plan_rule_set(s, directory(others=()), kernel(listing(KILL)), HOST)
    body = p.desired.decode().splitlines()[1:]
    assert body[:3] == ["-b 16384", "-r 100", "-e 2"] and body[3].startswith("-a always,exit")
    assert [c.render() for c in p.missing_before] == ["-b 16384", "-r 100", "-e 2"]
    assert p.compiled_after[2] == "-b 16384" and p.compiled_after[-1] == "-e 2"
    add, lock = load_plan([c for c in s.controls if not c.satisfied(UP)], rules(KILL))
    assert [x.render() for x in add][:2] == ["-b 16384", "-r 100"] and [x.render() for x in lock] == ["-e 2"]


def test_a_later_file_that_overrides_a_setting_of_the_set_stops_the_plan():
    others = [("99-late.rules", "-b 320\n")]
    with pytest.raises(AuditRuleError) as e:
        plan_rule_set(spec([KILL], controls={"buffer_size": 16384}), directory(others=others), kernel(), HOST)
    assert "99-late.rules" in e.value.msg and "-b" in e.value.msg


def test_settings_already_in_the_kernel_are_not_missing():
    s = spec([KILL], controls={"buffer_size": 8192})
    p = plan_rule_set(s, directory(own_file("50-afpl.rules", [KILL], {"buffer_size": 8192}), others=()),
                      kernel(listing(KILL)), HOST)
    assert not p.need_load and p.missing_before == []


# ---- the proof after a load, which decides a rollback --------------------------------------------

def test_the_proof_finds_missing_rules_settings_and_rules_left_behind():
    s = spec([KILL], controls={"rate_limit": 100, "immutable": True})
    stale = rules(PASSWD)
    missing, left = prove(s, listing(PASSWD), dict(UP, rate_limit=0), stale, HOST)
    assert [m.listing() for m in missing] == listing(KILL) + ["-r 100"]   # the lock is set after the proof
    assert [r.listing() for r in left] == listing(PASSWD)
    assert prove(s, listing(KILL), dict(UP, rate_limit=100), stale, HOST) == ([], [])


def test_the_proof_of_a_removal_looks_only_for_rules_left():
    s = spec(state="absent")
    assert prove(s, listing(KILL), UP, rules(KILL), HOST)[1] == rules(KILL)
    assert prove(s, [], UP, rules(KILL), HOST) == ([], [])


# ---- --loginuid-immutable: like -e 2, never in a load, set after the proof ----------------------
# Only a reboot makes login uids changeable again, so, as for the lock, no load may carry it: a
# rule the kernel rejects after it could not be rolled back. These decide what the module does;
# tests/unit/plugins/modules/test_audit_rule_loginuid.py checks the commands it then runs, and the
# fleet scenario 69-loginuid-immutable the real kernel.
LUID = "--loginuid-immutable"


def test_loginuid_immutable_is_a_switch_set_after_the_proof_and_before_the_lock():
    s = spec([KILL], controls={"loginuid_immutable": True, "immutable": True, "rate_limit": 100})
    assert [c.render() for c in s.controls] == ["-r 100", LUID, "-e 2"]
    assert [c.irreversible for c in s.controls] == [False, True, True]
    p = plan_rule_set(s, directory(others=()), kernel(), HOST)
    assert p.desired.decode().splitlines()[1:4] == ["-r 100", LUID, "-e 2"]
    assert [c.render() for c in p.missing_before] == listing(KILL) + ["-r 100", LUID, "-e 2"]
    add, lock = load_plan([c for c in s.controls if not c.satisfied(UP)], rules(KILL))
    assert [x.render() for x in add] == ["-r 100"] + [r.render() for r in rules(KILL)]
    assert [c.render() for c in lock] == [LUID, "-e 2"]      # login uids first, the lock last


def test_a_directory_with_loginuid_immutable_loads_without_it():
    s = spec([KILL], controls={"loginuid_immutable": True})
    p = plan_rule_set(s, directory(), kernel(), HOST)
    assert p.load_kind == LOAD_ALL_UNLOCKED and LUID in p.compiled_after   # the boot file keeps it
    assert [c.render() for c in lock_of(p.compiled_after)] == [LUID]
    assert LUID not in unlocked(p.compiled_after) and len(unlocked(p.compiled_after)) == len(p.compiled_after) - 1
    # the same from any other file of the directory, in any form auditctl takes
    for line in (LUID, "  --loginuid-immutable ", "--loginuid", "--l"):
        p = plan_rule_set(spec([KILL]), directory(others=[BASE, ("11-loginuid.rules", line + "\n")]), kernel(), HOST)
        assert p.load_kind == LOAD_ALL_UNLOCKED, line
        assert [c.render() for c in lock_of(p.compiled_after)] == [LUID], line
        assert line not in unlocked(p.compiled_after), line


def test_the_lines_that_only_a_reboot_undoes_are_found_in_every_form_auditctl_takes():
    found = [(line, c.render() if c else None) for line, c in (
        (line, irreversible_of(line)) for line in (
            LUID, " --loginuid-immutable", "--loginuid-imm", "--l", "--loginuid-immutable x",
            "-e 2", "-e2", "-e   2 ", "-e 1", "-e 0", "--", "--x", "--loginuid-immutable=1",
            "# --loginuid-immutable", "-w /etc/passwd -k l", "--backlog_wait_time 1", ""))]
    assert found == [
        (LUID, LUID), (" --loginuid-immutable", LUID), ("--loginuid-imm", LUID), ("--l", LUID),
        ("--loginuid-immutable x", LUID), ("-e 2", "-e 2"), ("-e2", "-e 2"), ("-e   2 ", "-e 2"),
        ("-e 1", None), ("-e 0", None), ("--", None), ("--x", None), ("--loginuid-immutable=1", None),
        ("# --loginuid-immutable", None), ("-w /etc/passwd -k l", None), ("--backlog_wait_time 1", None),
        ("", None)]
    both = ["## generated", "-D", "", "", LUID, "-a always,exit -F arch=b64 -S kill -F key=k", "-e 2"]
    assert [c.render() for c in lock_of(both)] == [LUID, "-e 2"]
    assert [c.render() for c in lock_of(["## generated", "-D", "-e 2", "--loginuid"])] == [LUID, "-e 2"]
    assert unlocked(both) == ["## generated", "-D", "", "", "-a always,exit -F arch=b64 -S kill -F key=k"]


def test_the_proof_does_not_look_for_loginuid_immutable_but_the_outcome_does():
    s = spec([KILL], controls={"loginuid_immutable": True})
    assert prove(s, listing(KILL), UP, [], HOST) == ([], [])       # set only after this proof
    assert outcome(s, listing(KILL), UP, True, [], HOST) == {"missing": [LUID], "loaded": False}
    locked = dict(UP, loginuid_immutable=1, loginuid_immutable_state="locked")
    assert outcome(s, listing(KILL), locked, True, [], HOST) == {"missing": [], "loaded": True}


def test_loginuid_immutable_in_place_plans_nothing_and_missing_is_drift():
    s = spec([KILL], controls={"loginuid_immutable": True})
    d = directory(own_file("50-afpl.rules", [KILL], {"loginuid_immutable": True}))
    p = plan_rule_set(s, d, kernel(listing(KILL), loginuid_immutable=1, loginuid_immutable_state="locked"), HOST)
    assert (p.file_changed, p.need_load, p.reboot_required, p.warnings) == (False, False, False, [])
    # the file asks for it and the kernel does not have it (the boot did not load rules.d): loaded again
    p = plan_rule_set(s, d, kernel(listing(KILL)), HOST)
    assert p.need_load and p.drift and [c.render() for c in p.missing_before] == [LUID]


def test_an_immutable_kernel_leaves_loginuid_immutable_pending_until_the_reboot():
    s = spec([KILL], controls={"loginuid_immutable": True})
    p = plan_rule_set(s, directory(), kernel(listing(KILL), enabled=2, immutable=True), HOST)
    assert not p.need_load and p.reboot_required and p.pending == [LUID]
    assert p.warnings[0].startswith("audit rules are immutable (auditctl -s: enabled 2)")


def test_a_kernel_that_does_not_report_loginuid_immutable_stops_the_plan_before_any_change():
    status = dict(UP)
    del status["loginuid_immutable"], status["loginuid_immutable_state"]
    k = KernelSnapshot(status, [])
    with pytest.raises(AuditRuleError) as e:
        plan_rule_set(spec([KILL], controls={"loginuid_immutable": True}), directory(), k, HOST)
    assert e.value.msg.startswith("controls.loginuid_immutable: auditctl -s on this host does not report "
                                  "loginuid_immutable") and e.value.msg.endswith("nothing was changed")
    # a set without it does not care; without kernel audit nothing is proven anyway
    assert plan_rule_set(spec([KILL]), directory(), k, HOST).need_load
    plan_rule_set(spec([KILL], controls={"loginuid_immutable": True}), directory(),
                  KernelSnapshot({"available": False, "immutable": False, "message": "x"}, []), HOST)


@pytest.mark.parametrize("state", ["absent", "present"])
def test_dropping_loginuid_immutable_while_the_kernel_has_it_asks_for_a_reboot(state):
    d = directory(own_file("50-afpl.rules", [KILL], {"loginuid_immutable": True}))
    s = spec([KILL] if state == "present" else (), state=state)
    locked = kernel(listing(KILL), loginuid_immutable=1, loginuid_immutable_state="locked")
    p = plan_rule_set(s, d, locked, HOST)
    assert p.content_changed and p.reboot_required and p.pending == []
    assert p.warnings == ["login uids stay immutable until the next boot (auditctl -s: loginuid_immutable 1): "
                          "the %srule set no longer says --loginuid-immutable, but nothing undoes it but a reboot"
                          % ("removed " if state == "absent" else "")]
    assert p.need_load and p.load_kind == LOAD_ALL    # the rest of the change loads as ever
    # a kernel that never had it (reload=false earlier, or the boot did not load it): nothing to say
    p = plan_rule_set(s, d, kernel(listing(KILL)), HOST)
    assert not p.reboot_required and p.warnings == []


# ---- one read, one compile -----------------------------------------------------------------------

def test_the_directory_is_compiled_once_per_content(monkeypatch):
    calls = []
    real = _ruleplan.compile_rules
    monkeypatch.setattr(_ruleplan, "compile_rules", lambda files, d: calls.append(1) or real(files, d))
    d = directory(others=[BASE, ("20-x.rules", "-w /etc/shadow -p wa -k afpl_s\n")])
    s = spec([KILL], controls={"buffer_size": 16384})
    plan_rule_set(s, d, kernel(), HOST)
    assert len(calls) == 1    # the override check and the load prediction share one compile
    plan_rule_set(s, d, kernel(), HOST)
    assert len(calls) == 1
    k = kernel(listing(KILL, PASSWD))
    plan_rule_set(spec([KILL, PASSWD]), d, k, HOST)
    assert k._canon is not None and len(calls) == 2


# ---- auditctl 4: rules written without -S but with perm= ---------------------------------------
# auditctl 4.0.2 (Debian 13) loads `-F perm=x` without -S on the syscalls of that permission only
# and lists them (`-S execve -F perm=x ...`); auditctl 3.0.9 lists `-S all`. These listing lines
# are what auditctl -l printed on the fleet's Debian 13 host (audit 4.0.2) for 44-installers'
# rules; before CanonSet the set was "missing" after every load there and was rolled back.

PERM_X = "-a always,exit -F arch=b64 -F perm=x -F path=/usr/bin/dnf-3 -F key=software-installer"
PERM_X_AUDIT4 = "-a always,exit -F arch=b64 -S execve -F perm=x -F path=/usr/bin/dnf-3 -F key=software-installer"
PERM_WA_AUDIT4 = ("-a always,exit -F arch=b64 -S open,bind,truncate,ftruncate,rename,mkdir,rmdir,creat,link,"
                  "unlink,symlink,chmod,fchmod,chown,fchown,lchown,mknod,acct,swapon,quotactl,setxattr,"
                  "lsetxattr,fsetxattr,removexattr,lremovexattr,fremovexattr,openat,mkdirat,mknodat,fchownat,"
                  "unlinkat,renameat,linkat,symlinkat,fchmodat,fallocate,renameat2,openat2 -F perm=wa "
                  "-F path=/etc/shadow -F key=afpl_wa")
PERM_WA = "-a always,exit -F arch=b64 -F perm=wa -F path=/etc/shadow -F key=afpl_wa"


def line_spec(*lines, **kw):
    from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_line
    return RuleSetSpec("afpl", "50-afpl.rules", kw.get("state", "present"),
                       [parse_rule_line(line, HOST) for line in lines], [])


@pytest.mark.parametrize("declared, listed", [(PERM_X, PERM_X_AUDIT4), (PERM_WA, PERM_WA_AUDIT4),
                                              (PERM_X, PERM_X.replace("-F perm", "-S all -F perm"))])
def test_a_perm_rule_without_syscalls_is_found_as_auditctl_4_and_3_list_it(declared, listed):
    s = line_spec(declared)
    assert prove(s, [listed], UP, [], HOST) == ([], [])
    assert outcome(s, [listed], UP, True, [], HOST) == {"missing": [], "loaded": True}
    p = plan_rule_set(s, directory(), kernel([listed]), HOST)
    assert p.missing_before == [] and p.drift is False


def test_a_perm_rule_is_not_found_when_another_field_differs_or_syscalls_were_explicit():
    # another path: missing
    assert len(prove(line_spec(PERM_X), [PERM_X_AUDIT4.replace("dnf-3", "yum")], UP, [], HOST)[0]) == 1
    # a rule written with -S matches only the same syscalls
    explicit = "-a always,exit -F arch=b64 -S open -F perm=x -F path=/usr/bin/dnf-3 -F key=software-installer"
    assert len(prove(line_spec(explicit), [PERM_X_AUDIT4], UP, [], HOST)[0]) == 1
    # no perm=: exact only
    nopermdecl = "-a always,exit -F arch=b64 -F path=/usr/bin/dnf-3 -F key=k"
    assert len(prove(line_spec(nopermdecl), ["-a always,exit -F arch=b64 -S execve -F path=/usr/bin/dnf-3 -F key=k"],
                     UP, [], HOST)[0]) == 1


def test_a_removed_perm_rule_listed_by_auditctl_4_is_stale_and_gone_from_the_prediction():
    s = line_spec(PERM_X, state="absent")
    old = own_file("50-afpl.rules", [KILL])
    d = DirSnapshot(DIR, {"50-afpl.rules": old["50-afpl.rules"].replace(
        b"-a always,exit", (PERM_X + "\n-a always,exit").encode(), 1)}, {"50-afpl.rules": (0o100640, 0, 0)}, [BASE])
    assert outcome(s, [PERM_X_AUDIT4], UP, True, line_spec(PERM_X).rules, HOST)["loaded"] is False
    assert prove(s, [PERM_X_AUDIT4], UP, line_spec(PERM_X).rules, HOST)[1] != []
    p = plan_rule_set(s, d, kernel([PERM_X_AUDIT4]), HOST)
    assert p.need_load
    assert all("dnf-3" not in line for line in (p.predicted_kernel or []))


def test_an_overriding_file_name_and_line_read_from_the_disk_are_shown_escaped():
    """Another file's name (any bytes a local admin gave it) reaches the error escaped."""
    from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecontrols import control_overrides
    controls = validate_controls({"buffer_size": 8192})
    lines = ["-b 8192", "-b 100\x1b[2J"]
    problems = control_overrides(controls, lines, ["50-own.rules", "99-x\x1b[31m.rules"], "50-own.rules", "/etc/audit/rules.d")
    assert len(problems) == 1
    assert "\x1b" not in problems[0]
    assert "99-x\\x1b[31m.rules" in problems[0] and "-b 100\\x1b[2J" in problems[0]
