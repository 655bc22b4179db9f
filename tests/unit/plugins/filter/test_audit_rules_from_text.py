"""The filter audit_rules_from_text: rule-file text as the audit_rule module's `rules` option.

Its items must validate into exactly the rules that the module makes of the same text given as
`lines` (one parser, one validation); control lines and lines the module refuses are errors that
name the line and where a setting belongs.
"""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.filter.audit_rules_from_text import (
    audit_rules_from_text)
from ansible_collections.auditfleet.auditd.plugins.module_utils import _presets
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import validate_rules
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import HostArch
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_line, rules_from_text
from tests.lib import composedrules

X86 = HostArch("x86_64", compat=True)

TEXT = """## sample
-w /etc/sudoers -p wa -k actions
-a always,exit -F arch=b64 -S execve -C uid!=euid -F euid=0 -k setuid
-a always,exit -F perm=x -F path=/usr/bin/su -F auid>=1000 -F auid!=unset -F key=privileged
-a always,exit -F arch=b32 -S open -F a1&01003 -F exit=-EACCES -F key=modify
"""


def test_the_rules_form_of_text():
    assert audit_rules_from_text(TEXT) == [
        {"path": "/etc/sudoers", "permissions": "wa", "key": "actions"},
        {"arch": "b64", "syscalls": ["execve"], "key": "setuid",
         "fields": [{"name": "uid", "op": "!=", "field": "euid"}, "euid=0"]},
        {"arch": "none", "fields": ["perm=x", "path=/usr/bin/su", "auid>=1000", "auid!=unset"],
         "key": "privileged"},
        {"arch": "b32", "syscalls": ["open"], "fields": ["a1&01003", "exit=-EACCES"], "key": "modify"},
    ]
    assert audit_rules_from_text(TEXT.splitlines()) == audit_rules_from_text(TEXT)


def _texts():
    """Names of the texts without control lines and errors: the sample files of this host's
    audit package that have none, and the large set composed from all of them and the project's
    own rules (tests/lib/composedrules.py), without its section of mistakes."""
    names = []
    for name in sorted(_presets.available()):
        parsed = rules_from_text(_presets.read(name)[0])
        if not parsed.errors and not parsed.controls:
            names.append(name)
    return names + ["composed"]


@pytest.mark.parametrize("name", _texts())
def test_the_filter_and_the_lines_option_give_the_same_rules(name):
    text = composedrules.compose(with_mistakes=False).text if name == "composed" else _presets.read(name)[0]
    items = audit_rules_from_text(text)
    parsed = rules_from_text(text)
    assert items == parsed.items     # what the module's lines option validates, item for item
    if name == "composed":
        assert len(items) >= 400
    for item, line in zip(items, parsed.texts, strict=True):
        try:
            rules = validate_rules([item], X86)
        except AuditRuleError:   # a user or syscall this host lacks: the module checks it on each host
            continue
        # each item is its line: the same kernel rule as the line read by the lenient parser
        assert [r.canon() for r in rules] == [parse_rule_line(line, X86).canon()], line


@pytest.mark.parametrize("text, needles", [
    ("-D\n-b 8192\n-w /etc/passwd -k a\n", [
        "line 1 (-D): -D deletes every loaded rule",
        "line 2 (-b 8192) is a setting, not a rule: give it to audit_rule as controls.buffer_size"]),
    ("-e 2", ["controls.immutable"]),
    ("--loginuid-immutable\n", [
        "line 1 (--loginuid-immutable) is a setting, not a rule: give it to audit_rule as "
        "controls.loginuid_immutable"]),
    ("-a always,exit -F arch=b64 -S kill -k k # c", ["a comment must be on a line of its own"]),
    (42, ["must be rule-file text (a string) or a list of lines, got integer"]),
    (["-w /etc/passwd", 5], ["input[1]: a line must be a string"]),
])
def test_what_is_not_a_rule_is_an_error_naming_the_line(text, needles):
    with pytest.raises(AnsibleFilterError) as e:
        audit_rules_from_text(text)
    for needle in needles:
        assert needle in str(e.value), str(e.value)
