"""Property: a string with a control character in any string option of audit_rule is either
refused, with a message that names the option (and, for the module's own messages, shows the
value escaped), or rendered as exactly one rule line per rule.

Runs the module in check mode (its main(), as Ansible would), so nothing on the host changes;
the file it would write is read from the diff. Each option gets its valid value with a control
character put anywhere in it (a trailing newline is the case a YAML block scalar makes), and
random text holding one.
"""
import atexit
import re
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from tests.unit.plugins.modules.test_audit_rule_harness import needs_ansible, run_module

pytestmark = [needs_ansible]

CONTROL = re.compile(u"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_CHARS = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\x9b", "\u2028", "\u2029"]
RULES_DIR = tempfile.mkdtemp(prefix="afar-property-")   # check mode leaves it empty
atexit.register(shutil.rmtree, RULES_DIR, True)
# ansible-core 2.21 (not 2.16) logs a module's string options to syslog before the module runs,
# and refuses the task when one holds a NUL, naming no option: the module never sees the value.
ANSIBLE_SYSLOG_NUL = "Failed to log to syslog (embedded null character)"


def syscall_rule(**kw):
    rule = {"syscalls": ["kill"], "arch": "b64", "key": "afar_prop"}
    rule.update(kw)
    return rule


def watch_rule(**kw):
    rule = {"path": "/etc/passwd", "permissions": "wa", "key": "afar_prop"}
    rule.update(kw)
    return rule


def base_args(**kw):
    args = {"name": "afar-prop", "rules_dir": RULES_DIR, "rules": [syscall_rule()]}
    args.update(kw)
    return args


# option: (its valid value, module arguments with the value V, words the refusal must have,
#          True when the module itself words the refusal, False for AnsibleModule's own checks)
OPTIONS = {
    "name": ("afar-prop", lambda v: base_args(name=v), ["name"], True),
    "rules_dir": (RULES_DIR, lambda v: base_args(rules_dir=v), ["rules_dir"], True),
    "state": ("present", lambda v: base_args(state=v), ["state"], False),
    "priority": ("50", lambda v: base_args(priority=v), ["priority"], False),
    "syscalls": ("kill", lambda v: base_args(rules=[syscall_rule(syscalls=[v])]), ["syscalls"], True),
    "key": ("afar_prop", lambda v: base_args(rules=[syscall_rule(key=v)]), ["key"], True),
    "action": ("always", lambda v: base_args(rules=[syscall_rule(action=v)]), ["action"], True),
    "list": ("exit", lambda v: base_args(rules=[syscall_rule(list=v)]), ["list"], True),
    "arch": ("b64", lambda v: base_args(rules=[syscall_rule(arch=v)]), ["arch"], True),
    "fields (string)": ("auid>=1000", lambda v: base_args(rules=[syscall_rule(fields=[v])]), ["field"], True),
    "fields (name)": ("uid", lambda v: base_args(rules=[syscall_rule(fields=[{"name": v, "value": "0"}])]),
                      ["field"], True),
    "fields (op)": ("!=", lambda v: base_args(rules=[syscall_rule(fields=[{"name": "uid", "op": v, "value": "0"}])]),
                    ["field"], True),
    "fields (value)": ("0", lambda v: base_args(rules=[syscall_rule(fields=[{"name": "uid", "value": v}])]),
                       ["field"], True),
    "fields (path value)": ("/etc", lambda v: base_args(rules=[syscall_rule(fields=[{"name": "dir", "value": v}])]),
                            ["field"], True),
    "path": ("/etc/passwd", lambda v: base_args(rules=[watch_rule(path=v)]), ["path"], True),
    "permissions": ("wa", lambda v: base_args(rules=[watch_rule(permissions=v)]), ["permissions"], True),
    "controls.failure_mode": ("1", lambda v: base_args(controls={"failure_mode": v}), ["failure_mode"], False),
}


def with_control(valid):
    """The valid value with one or more control characters put in anywhere, or random text
    that holds at least one."""
    inserted = st.tuples(st.integers(0, len(valid)), st.lists(st.sampled_from(CONTROL_CHARS), min_size=1,
                                                              max_size=3)).map(
        lambda t: valid[:t[0]] + "".join(t[1]) + valid[t[0]:])
    anything = st.tuples(st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
                         st.sampled_from(CONTROL_CHARS),
                         st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)).map("".join)
    return st.one_of(inserted, anything)


def check(option, value):
    valid, make, words, ours = OPTIONS[option]
    res = run_module(make(value), check_mode=True, diff=True)
    if res.get("failed") and "\x00" in value and res["msg"].startswith(ANSIBLE_SYSLOG_NUL):
        return "refused by ansible-core"
    if res.get("failed"):
        for word in words:
            assert word in res["msg"], (option, value, res["msg"])
        if ours:
            assert not CONTROL.search(res["msg"]), ("a raw control character in the message", res["msg"])
        return "refused"
    after = res["diff"][0]["after"]
    lines = after.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == 1 + len(res["controls"]) + len(res["rules"]), (value, after)
    assert lines[1:-1] == res["controls"] + res["rules"]
    assert not CONTROL.search(after.replace("\n", "")) and not CONTROL.search(res["path"]), (value, after)
    return "rendered"


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_the_valid_value_renders(option):
    assert check(option, OPTIONS[option][0]) == "rendered"


@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_a_control_character_is_refused_or_rendered_as_one_line_per_rule(option):
    valid = OPTIONS[option][0]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(value=with_control(valid))
    @example(value=valid + "\n")      # a YAML block scalar (|)
    @example(value=valid + "\r\n")
    @example(value="\n" + valid)
    @example(value=valid + "\x00")
    def prop(value):
        check(option, value)

    prop()
