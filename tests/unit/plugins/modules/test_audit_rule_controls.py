"""audit_rule's controls (kernel audit settings in the rule file) on the real auditd.

The settings are global to the machine: the `host` fixture (tests/lib/hoststate.py) puts them
back with rules.d and auditctl -l. Immutable mode (-e 2)
is only ever tried in check mode here: once set, only a reboot undoes it (the fleet VMs test
it for real).
"""
import os

import pytest

from tests.lib import liveaudit
from tests.unit.plugins.modules.test_audit_rule_harness import (
    AUDITCTL, RULES_DIR, HostState, needs_ansible, needs_audit, run_module)

pytestmark = [needs_ansible, needs_audit]


def status():
    out = liveaudit.run([AUDITCTL, "-s"]).stdout
    return dict((k, v.split()[0]) for k, v in (line.split(None, 1) for line in out.splitlines() if " " in line))


def debian_sets(flag):
    """The line of another rules.d file that sets FLAG, if any (Debian's audit.rules sets -b)."""
    for name in sorted(os.listdir(RULES_DIR)):
        with open(os.path.join(RULES_DIR, name)) as f:
            for line in f:
                if line.split()[:1] == [flag]:
                    return os.path.join(RULES_DIR, name), line.strip()
    return None


def test_a_setting_is_loaded_proven_idempotent_and_healed(host):
    old = int(status()["rate_limit"])
    want = 4321 if old != 4321 else 4322
    args = {"name": "afut-controls", "controls": {"rate_limit": want}}
    first = run_module(args, diff=True)
    assert not first.get("failed"), first["msg"]
    assert first["changed"] and first["loaded"] and first["missing"] == []
    assert first["controls"] == ["-r %d" % want]
    assert status()["rate_limit"] == str(want)
    settings = [d for d in first["diff"] if "settings" in d["before_header"]][0]
    assert "rate_limit %d" % old in settings["before"] and "rate_limit %d" % want in settings["after"]
    with open(first["path"]) as f:
        assert "-r %d\n" % want in f.read()

    second = run_module(args)
    assert second["changed"] is False and second["loaded"]

    liveaudit.run([AUDITCTL, "-r", str(old)])     # someone changes it by hand
    healed = run_module(args)
    assert healed["changed"] and healed["drift"] and status()["rate_limit"] == str(want)

    gone = run_module(dict(args, state="absent"))
    assert gone["changed"] and not os.path.exists(first["path"])


def test_check_mode_predicts_and_changes_nothing(host):
    before = HostState()
    rate = status()["rate_limit"]
    res = run_module({"name": "afut-controls", "controls": {"rate_limit": 777}}, check_mode=True, diff=True)
    assert res["changed"] and HostState() == before and status()["rate_limit"] == rate
    settings = [d for d in res["diff"] if "settings" in d["before_header"]][0]
    assert "predicted" in settings["after_header"] and "rate_limit 777" in settings["after"]


def test_immutable_in_check_mode_only(host):
    before = HostState()
    res = run_module({"name": "afut-immutable", "priority": 99, "controls": {"immutable": True}},
                     check_mode=True, diff=True)
    assert res["changed"] and res["controls"] == ["-e 2"]
    assert "-e 2" in res["diff"][0]["after"]
    assert "enabled 2" in [d for d in res["diff"] if "settings" in d["before_header"]][0]["after"]
    assert HostState() == before and status()["enabled"] != "2"


def test_a_setting_another_file_overrides_is_refused_before_anything_changes(host):
    other = debian_sets("-b")
    if other is None:
        pytest.skip("no rules.d file sets -b here (Debian's audit.rules does)")
    path, line = other
    before = HostState()
    want = int(line.split()[1]) + 1024
    res = run_module({"name": "afut-controls", "priority": 10, "controls": {"buffer_size": want}})
    assert res["failed"] and "controls.buffer_size" in res["msg"]
    assert path in res["msg"] and line in res["msg"]
    assert HostState() == before
    same = run_module({"name": "afut-controls", "priority": 10,
                       "controls": {"buffer_size": int(line.split()[1])}})
    assert not same.get("failed") and same["loaded"], same["msg"]


@pytest.mark.parametrize("controls, words", [
    ({"buffer_size": -1}, ["controls.buffer_size", "-1", "0 to"]),
    ({"backlog_wait_time": 700000}, ["controls.backlog_wait_time", "700000", "600000"]),
    ({"rate_limit": "many"}, ["rate_limit"]),
    ({"failure_mode": "boom"}, ["failure_mode", "boom"]),
    ({"buffer_sise": 10}, ["buffer_sise"]),
])
def test_bad_settings_name_the_setting_and_value(host, controls, words):
    before = HostState()
    res = run_module({"name": "afut-controls", "controls": controls})
    assert res["failed"]
    for word in words:
        assert word in res["msg"], res["msg"]
    assert HostState() == before


def test_model_validates_like_the_module():
    from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecontrols import validate_controls
    from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
    assert [c.render() for c in validate_controls({"failure_mode": "panic", "immutable": True})] == \
        ["-f 2", "-e 2"]
    assert validate_controls({"immutable": False}) == []
    with pytest.raises(AuditRuleError) as err:
        validate_controls({"buffer_size": True})
    assert "buffer_size" in err.value.msg
