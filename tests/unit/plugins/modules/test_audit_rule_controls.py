"""audit_rule's controls (kernel audit settings in the rule file) on the real auditd.

The settings are global to the machine: the `host` fixture (tests/lib/hoststate.py) puts them
back with rules.d and auditctl -l. Immutable mode (-e 2) and immutable login uids
(--loginuid-immutable) are never set here: once set, only a reboot undoes them (the fleet VMs
test them for real). -e 2 is tried in check mode only; --loginuid-immutable in check mode and
in a real load whose one step that would set it is stubbed where the module runs programs
(OneStepStubbed), which refuses anything else that would set it.
"""
import os
import re

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _command
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecontrols import irreversible_of
from tests.lib import liveaudit
from tests.unit.plugins.modules.test_audit_rule_harness import (
    AUDITCTL, RULES_DIR, HostState, auditctl_list, needs_ansible, needs_audit, run_module)

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


def test_loginuid_immutable_in_check_mode_only(host):
    before = HostState()
    res = run_module({"name": "afut-loginuid", "priority": 11, "controls": {"loginuid_immutable": True}},
                     check_mode=True, diff=True)
    assert res["changed"] and res["controls"] == ["--loginuid-immutable"]
    assert res["missing"] == ["--loginuid-immutable"] and not res["loaded"]
    assert "--loginuid-immutable" in res["diff"][0]["after"]
    settings = [d for d in res["diff"] if "settings" in d["before_header"]][0]
    assert (settings["before"], settings["after"]) == ("loginuid_immutable 0\n", "loginuid_immutable 1\n")
    assert HostState() == before and status()["loginuid_immutable"] == "0"


def _sets_loginuid(words):
    """Would auditctl, given these words as one line, make login uids immutable? (getopt_long
    takes any abbreviation of the long option, anywhere in the line)"""
    return irreversible_of(" ".join(words)) is not None or any(
        len(w) > 2 and "--loginuid-immutable".startswith(w) for w in words)


class OneStepStubbed(object):
    """The module's command runner (_command.run) with the one step that would make login uids
    immutable (`auditctl --loginuid-immutable`, alone) answered here instead of by the kernel;
    from then on `auditctl -s` says `loginuid_immutable 1 locked`, as the kernel would. Any other
    command that would set it (a -R file with the line or an -e 2, augenrules --load or the
    audit-rules service on a rules.d that has it) is refused, not run, and recorded."""

    def __init__(self, real):
        self.real, self.commands, self.stubbed, self.refused = real, [], [], []

    def run(self, argv, data=None, timeout=None):
        argv = list(argv)
        tool, words = os.path.basename(argv[0]), argv[1:]
        content = None
        if tool == "auditctl" and "-R" in words:
            with open(words[words.index("-R") + 1]) as f:
                content = f.read()
        self.commands.append((argv, content))
        if tool == "auditctl" and words == ["--loginuid-immutable"]:
            self.stubbed.append(len(self.commands) - 1)
            return 0, "", ""
        lines = [words] + [line.split() for line in (content or "").split("\n")]
        loads_rules_d = (tool == "augenrules" and "--load" in words) or (tool == "systemctl" and "start" in words)
        if loads_rules_d:
            for name in os.listdir(RULES_DIR):
                with open(os.path.join(RULES_DIR, name)) as f:
                    lines.extend(line.split() for line in f.read().split("\n"))
        if (tool == "auditctl" or loads_rules_d) and any(_sets_loginuid(ws) or ws in (["-e", "2"], ["-e2"])
                                                         for ws in lines):
            self.refused.append(argv)
            return 1, "", "refused by the test: this would reach the kernel\n"
        rc, out, err = self.real(argv, data=data, timeout=timeout)
        if tool == "auditctl" and words == ["-s"] and self.stubbed:
            out = re.sub(r"(?m)^loginuid_immutable 0 unlocked$", "loginuid_immutable 1 locked", out)
        return rc, out, err


def test_the_stub_refuses_whatever_would_reach_the_kernel(tmp_path):
    """The guard of the test below, on its own: nothing it refuses is run (no kernel here)."""
    ran = []
    stub = OneStepStubbed(lambda argv, data=None, timeout=None: ran.append(argv) or (0, "", ""))
    rules = tmp_path / "x.rules"
    for text in ("-a always,exit -F arch=b64 -S kill -F key=k\n--loginuid-immutable\n", "--login\n",
                 "-w /etc/passwd -p wa --loginuid\n", "-e 2\n", "-e2\n"):
        rules.write_text(text)
        assert stub.run([AUDITCTL, "-R", str(rules)])[0] == 1, text
    for words in (["--loginuid"], ["--l"], ["--loginuid-immutable", "x"], ["-e", "2"]):
        assert stub.run([AUDITCTL] + words)[0] == 1, words
    assert ran == [] and len(stub.refused) == 9 and stub.stubbed == []
    rules.write_text("-a always,exit -F arch=b64 -S kill -F key=k\n")
    assert stub.run([AUDITCTL, "-R", str(rules)]) == (0, "", "") and len(ran) == 1
    assert stub.run([AUDITCTL, "--loginuid-immutable"]) == (0, "", "") and len(ran) == 1 and stub.stubbed == [10]


@pytest.mark.parametrize("layout", ["minus_d", "rule_by_rule"])
def test_loginuid_immutable_stays_out_of_a_real_load(host, tmp_path, monkeypatch, layout):
    """A set with the control loads its rules into the real kernel; the line never reaches it, and
    the one step that would set it comes alone, after the proof. A later change still loads."""
    stub = OneStepStubbed(_command.run)
    monkeypatch.setattr(_command, "run", stub.run)
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    if layout == "minus_d":     # the whole directory is loaded (auditctl -R of it compiled)
        (rules_dir / "10-base.rules").write_text("-D\n")
    kill = {"syscalls": ["kill"], "arch": "b64", "key": "afut_luid"}
    args = {"name": "afut-luid", "priority": 11, "rules_dir": str(rules_dir), "rules": [kill],
            "controls": {"loginuid_immutable": True}}
    res = run_module(args)
    assert not res.get("failed"), res["msg"]
    assert res["changed"] and res["loaded"] and res["missing"] == [] and res["load_method"] == "auditctl"
    assert "-a always,exit -F arch=b64 -S kill -F key=afut_luid" in auditctl_list()
    assert stub.refused == [] and len(stub.stubbed) == 1
    proofs = [i for i, (argv, _c) in enumerate(stub.commands) if argv[1:] == ["-l"]]
    loads = [i for i, (argv, content) in enumerate(stub.commands) if content is not None]
    assert loads and max(loads) < max(proofs) < stub.stubbed[0]
    assert stub.commands[stub.stubbed[0] + 1][0][1:] == ["-s"]
    assert "--loginuid-immutable" in (rules_dir / "11-afut-luid.rules").read_text().splitlines()
    assert status()["loginuid_immutable"] == "0"     # the real kernel never saw it

    # a later change on the same host loads; the login uid step is not repeated
    more = {"name": "afut-luid-more", "priority": 50, "rules_dir": str(rules_dir),
            "rules": [{"syscalls": ["ptrace"], "arch": "b64", "key": "afut_luid2"}]}
    count = len(stub.commands)
    res = run_module(more)
    assert not res.get("failed") and res["changed"] and res["loaded"], res["msg"]
    assert "-a always,exit -F arch=b64 -S ptrace -F key=afut_luid2" in auditctl_list()
    assert stub.refused == [] and stub.stubbed[-1] < count
    assert not any(_sets_loginuid(line.split()) for _a, c in stub.commands if c for line in c.split("\n"))

    for name in ("afut-luid-more", "afut-luid"):
        gone = run_module({"name": name, "rules_dir": str(rules_dir), "state": "absent"})
        assert not gone.get("failed") and gone["changed"], gone["msg"]
    assert gone["reboot_required"]       # the stubbed kernel keeps login uids immutable
    assert stub.refused == [] and len(stub.stubbed) == 1 and status()["loginuid_immutable"] == "0"


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
