"""Rule-file text (the audit_rule module's `lines` and `preset` options, the filter
audit_rules_from_text): the rule-line parser on every line form that the audit package's sample
rule files (audit 3.0.9 and 4.0.2) use and on the forms CIS and community sets use (written here
as the project's own lines), control lines, syntax errors, numbers as auditctl reads them, and
inapplicable=skip on hosts described in the test (an old kernel, an old auditctl, missing paths).
No kernel here: the same forms are loaded into the real kernel by test_auditrules_text_live.py,
and the listings below are what auditctl 3.0.9 printed for them.
"""
import gzip
import os

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _presets, _rulehost, _rulemodel
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import validate_rule_set, validate_rules
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import HostArch
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_line, rules_from_text
from tests.lib import composedrules


def x86(**attrs):
    host = HostArch("x86_64", compat=True)
    host.release = "6.18.0"
    host.isdir = lambda p: True
    host.exists = lambda p: True
    for k, v in attrs.items():
        setattr(host, k, v)
    return host


X86 = x86()


def one(line, host=X86):
    """LINE -> (the item of the rules option, the rules it validates into)."""
    parsed = rules_from_text(line)
    assert parsed.errors == [], parsed.errors
    assert len(parsed.items) == 1
    return parsed.items[0], validate_rules(parsed.items, host)


# (rule line as a sample file writes it, what auditctl 3.0.9 lists for it: one line per rule).
# All measured on this machine (kernel 6.18, auditctl 3.0.9).
FORMS = [
    # 30-stig, 30-nispom, 30-pci-dss: several syscalls of one ABI, in another order than listed
    ("-a always,exit -F arch=b32 -S adjtimex,settimeofday,stime -F key=time-change",
     ["-a always,exit -F arch=b32 -S stime,settimeofday,adjtimex -F key=time-change"]),
    # hex argument values
    ("-a always,exit -F arch=b64 -S clock_settime -F a0=0x0 -F key=time-change",
     ["-a always,exit -F arch=b64 -S clock_settime -F a0=0x0 -F key=time-change"]),
    ("-a always,exit -F arch=b32 -S clone -F a0&0x7C020000 -F key=container-create",
     ["-a always,exit -F arch=b32 -S clone -F a0&0x7C020000 -F key=container-create"]),
    # octal argument masks (30-ospp-v42: O_CREAT is 0100, write access 01003 and 03)
    ("-a always,exit -F arch=b64 -S openat,open_by_handle_at -F a2&0100 -F exit=-EACCES "
     "-F auid>=1000 -F auid!=unset -F key=unsuccessful-create",
     ["-a always,exit -F arch=b64 -S openat,open_by_handle_at -F a2&0x40 -F exit=-EACCES "
      "-F auid>=1000 -F auid!=-1 -F key=unsuccessful-create"]),
    ("-a always,exit -F arch=b64 -S open -F a1&01003 -F success=1 -F auid>=1000 -F auid!=unset "
     "-F key=successful-modification",
     ["-a always,exit -F arch=b64 -S open -F a1&0x203 -F success=1 -F auid>=1000 -F auid!=-1 "
      "-F key=successful-modification"]),
    # watches: -p, no -p, trailing /
    ("-w /etc/localtime -p wa -k time-change", ["-w /etc/localtime -p wa -k time-change"]),
    ("-w /var/log/audit/ -k audit-logs", ["-w /var/log/audit -p rwxa -k audit-logs"]),
    ("-w /etc/sudoers.d/ -p wa -k actions", ["-w /etc/sudoers.d -p wa -k actions"]),
    # a rule on a path or directory without arch and -S: every syscall, listed as a watch
    ("-a always,exit -F dir=/etc/selinux/ -F perm=wa -F key=MAC-policy",
     ["-w /etc/selinux/ -p wa -k MAC-policy"]),
    ("-a always,exit -F path=/etc/sudoers -F perm=wa -F key=10.2.2-priv-config-changes",
     ["-w /etc/sudoers -p wa -k 10.2.2-priv-config-changes"]),
    # ... with more fields it stays a rule, on all syscalls
    ("-a always,exit -F path=/usr/bin/passwd -F perm=x -F auid>=1000 -F auid!=unset "
     "-F key=special-config-changes",
     ["-a always,exit -S all -F path=/usr/bin/passwd -F perm=x -F auid>=1000 -F auid!=-1 "
      "-F key=special-config-changes"]),
    # 44-installers: perm before path (auditctl 3.0.9 lists it in a broken form of its own)
    ("-a always,exit -F perm=x -F path=/usr/bin/dnf-3 -F key=software-installer",
     [" -p x-w /usr/bin/dnf-3 -k software-installer"]),
    # audit 4.0.2's samples: the same with an arch
    ("-a always,exit -F arch=b64 -F perm=x -F path=/usr/bin/dnf-3 -F key=software-installer",
     ["-a always,exit -F arch=b64 -S all -F perm=x -F path=/usr/bin/dnf-3 -F key=software-installer"]),
    ("-a always,exit -F arch=b32 -F path=/etc/localtime -F perm=wa -F key=time-change",
     ["-a always,exit -F arch=b32 -S all -F path=/etc/localtime -F perm=wa -F key=time-change"]),
    # -S given more than once (30-nispom)
    ("-a always,exit -F arch=b64 -S rename -S renameat -S truncate -F exit=-EPERM -F key=mods",
     ["-a always,exit -F arch=b64 -S truncate,rename,renameat -F exit=-EPERM -F key=mods"]),
    # exe, comparisons (-C) anywhere among the fields, in the order auditctl prints a pair
    ("-a always,exit -F arch=b64 -S setuid -F a0=0 -F exe=/usr/bin/su -F key=elevated",
     ["-a always,exit -F arch=b64 -S setuid -F a0=0x0 -F exe=/usr/bin/su -F key=elevated"]),
    ("-a always,exit -F arch=b64 -S execve -C uid!=euid -F euid=0 -F key=setuid",
     ["-a always,exit -F arch=b64 -S execve -C uid!=euid -F euid=0 -F key=setuid"]),
    ("-a always,exit -F dir=/home -F uid=0 -F auid>=1000 -F auid!=unset -C auid!=obj_uid "
     "-F key=power-abuse",
     ["-a always,exit -S all -F dir=/home -F uid=0 -F auid>=1000 -F auid!=-1 -C auid!=obj_uid "
      "-F key=power-abuse"]),
    ("-a always,exit -F arch=b64 -S execve -C obj_uid!=auid -C sgid=egid -F key=cmp",
     ["-a always,exit -F arch=b64 -S execve -C auid!=obj_uid -C egid=sgid -F key=cmp"]),
    # never rules, all syscalls, other lists (70-einval, 21-no32bit, 23-ignore-filesystems,
    # 10-no-audit)
    ("-a never,exit -F arch=b64 -S rt_sigreturn", ["-a never,exit -F arch=b64 -S rt_sigreturn"]),
    ("-a always,exit -S all -F exit=-EINVAL -F key=einval-retcode",
     ["-a always,exit -S all -F exit=-EINVAL -F key=einval-retcode"]),
    ("-a always,exit -F arch=b32 -S all -F key=32bit-abi",
     ["-a always,exit -F arch=b32 -S all -F key=32bit-abi"]),
    ("-a never,filesystem -F fstype=tracefs", ["-a never,filesystem -F fstype=tracefs"]),
    ("-a task,never", ["-a never,task"]),
    # forms of CIS and community sets (the project's own lines): exit,never (list after
    # action); -p on a rule, with and without arch; fields before -S; auid 4294967295 and -1;
    # -k; a never rule on a directory with a key; exclude and user lists; several spaces and
    # trailing spaces
    ("-a exit,never -F arch=b64 -S adjtimex -F exe=/usr/sbin/chronyd",
     ["-a never,exit -F arch=b64 -S adjtimex -F exe=/usr/sbin/chronyd"]),
    ("-a exit,never -F arch=b32 -S all -F exe=/usr/sbin/cron",
     ["-a never,exit -F arch=b32 -S all -F exe=/usr/sbin/cron"]),
    ("-a always,exit -F arch=b64 -F dir=/etc/selinux/ -p wa -F key=cfg",
     ["-a always,exit -F arch=b64 -S all -F dir=/etc/selinux/ -F perm=wa -F key=cfg"]),
    ("-a always,exit -F arch=b32 -F path=/etc/ssh/sshd_config -p wa -F key=sshd-cfg",
     ["-a always,exit -F arch=b32 -S all -F path=/etc/ssh/sshd_config -F perm=wa -F key=sshd-cfg"]),
    ("-a always,exit -F arch=b64 -F egid=0 -F auid>=500 -F auid!=-1 -S execveat -k rootgrp",
     ["-a always,exit -F arch=b64 -S execveat -F egid=0 -F auid>=500 -F auid!=-1 -F key=rootgrp"]),
    ("-a always,exit -F path=/usr/bin/newgrp -F perm=x -F auid>=500 -F auid!=4294967295 -k priv",
     ["-a always,exit -S all -F path=/usr/bin/newgrp -F perm=x -F auid>=500 -F auid!=-1 -F key=priv"]),
    ("-a always,exit -F perm=x -F auid!=-1 -F path=/usr/bin/su -k priv2",
     ["-a always,exit -S all -F perm=x -F auid!=-1 -F path=/usr/bin/su -F key=priv2"]),
    ("-a never,exit -F arch=b64 -F dir=/run/lock/ -F key=lock-noise",
     ["-a never,exit -F arch=b64 -S all -F dir=/run/lock/ -F key=lock-noise"]),
    ("-a always,exit -F arch=b64 -S socket -F a0=10  -k net6", ["-a always,exit -F arch=b64 -S socket -F a0=0xA -F key=net6"]),
    ("-w /etc/security/limits.conf -p wa  -k limits  ", ["-w /etc/security/limits.conf -p wa -k limits"]),
    ("-a always,exclude -F msgtype=CRYPTO_SESSION", ["-a always,exclude -F msgtype=CRYPTO_SESSION"]),
    ("-a never,user -F subj_type=ntpd_t", ["-a never,user -F subj_type=ntpd_t"]),
    ("-a never,exit -F subj_type=sshd_t", ["-a never,exit -S all -F subj_type=sshd_t"]),
    ("-w /etc/passwd -p wa -F auid>=1000 -k ident",
     ["-a always,exit -S all -F path=/etc/passwd -F perm=wa -F auid>=1000 -F key=ident"]),
    ("-w /etc/passwd -p wa -k two -k keys", ["-w /etc/passwd -p wa -k two -k keys"]),
    # numbers as auditctl reads them (strtoul base 0), syscalls too
    ("-a always,exit -F arch=b64 -S openat -F uid=0100 -F gid=0x10 -F auid=010 -F key=num",
     ["-a always,exit -F arch=b64 -S openat -F uid=64 -F gid=16 -F auid=8 -F key=num"]),
    ("-a always,exit -F arch=b64 -S 0x3e -F key=hex", ["-a always,exit -F arch=b64 -S kill -F key=hex"]),
    ("-a always,exit -F arch=b64 -S 062 -F key=oct", ["-a always,exit -F arch=b64 -S listen -F key=oct"]),
    ("-a always,exit -F arch=b64 -S openat -F exit=-010 -F key=e", ["-a always,exit -F arch=b64 -S openat -F exit=-ENOEXEC -F key=e"]),
    ("-a always,exit -F arch=x86_64 -S kill -F key=machine", ["-a always,exit -F arch=b64 -S kill -F key=machine"]),
    # a rule without arch on named syscalls (auditctl warns, and uses the native table)
    ("-a always,exit -S adjtimex -k noarch", ["-a always,exit -S adjtimex -F key=noarch"]),
]


@pytest.mark.parametrize("line, listed", FORMS, ids=[f[0][:60] for f in FORMS])
def test_every_line_form_gives_the_rule_auditctl_lists(line, listed):
    item, rules = one(line)
    assert [r.listing() for r in rules] == listed
    # the line as written, the rendered line and auditctl's listing are one kernel rule
    assert parse_rule_line(line, X86).canon() == rules[0].canon()
    assert [parse_rule_line(r.render(), X86).canon() for r in rules] == [r.canon() for r in rules]
    assert [parse_rule_line(x, X86).canon() for x in listed] == [r.canon() for r in rules]
    # auditctl's own lines read back the same (a -w line is read as a watch given with -w, whose
    # trailing / auditctl drops; auditctl lists dir=/x/ with it: same kernel rule, see above)
    assert all(parse_rule_line(x, X86).listing() == x for x in listed if not x.endswith("/ -p wa -k MAC-policy"))
    # the rendered rule is the line again (normalised): no arch added, no syscall invented
    assert len(rules) == 1


def test_text_items_are_the_rules_option():
    items = rules_from_text("\n".join([
        "## comment",
        "",
        "   ",
        "-w /etc/localtime -p wa -k time-change",
        "-w /var/log/audit/ -k audit-logs",
        "-a always,exit -F arch=b64 -S execve -C uid!=euid -F euid=0 -F key=setuid",
        "-a always,exit -F perm=x -F path=/usr/bin/dnf-3 -F key=software-installer",
        "-a exit,never -F arch=b32 -S adjtimex",
        "-a never,exclude -F msgtype=CWD",
        "-w /etc/passwd -p wa -k two -k keys",
        "-a always,exit -F arch=b64 -F dir=/etc -p wa -F key=cfg",
        "\t# a comment after a tab",
    ])).items
    assert items == [
        {"path": "/etc/localtime", "permissions": "wa", "key": "time-change"},
        {"path": "/var/log/audit/", "key": "audit-logs"},
        {"arch": "b64", "syscalls": ["execve"], "key": "setuid",
         "fields": [{"name": "uid", "op": "!=", "field": "euid"}, "euid=0"]},
        {"arch": "none", "fields": ["perm=x", "path=/usr/bin/dnf-3"], "key": "software-installer"},
        {"action": "never", "arch": "b32", "syscalls": ["adjtimex"]},
        {"action": "never", "list": "exclude", "fields": ["msgtype=CWD"]},
        {"path": "/etc/passwd", "permissions": "wa", "key": ["two", "keys"]},
        {"arch": "b64", "fields": ["dir=/etc", "perm=wa"], "key": "cfg"},
    ]


def test_the_labels_name_the_line():
    parsed = rules_from_text(["# c", "-w /etc/passwd -k a", "", "-w /etc/group -k b"])
    assert parsed.labels == ["line 2", "line 4"]
    assert parsed.texts == ["-w /etc/passwd -k a", "-w /etc/group -k b"]


# ---- control lines ------------------------------------------------------------------------------

def test_settings_map_to_controls():
    parsed = rules_from_text("-b 8192\n-f 1\n--backlog_wait_time 60000\n-r 0x64\n-e 2\n-b 0x2000\n")
    assert parsed.errors == [] and parsed.items == []
    assert parsed.controls == {"buffer_size": 8192, "failure_mode": "1", "backlog_wait_time": 60000,
                               "rate_limit": 100, "immutable": True}
    assert parsed.control_lines["buffer_size"] == "line 1 (-b 8192)"


def test_loginuid_immutable_is_the_setting_controls_loginuid_immutable():
    # the audit package's 11-loginuid.rules: a comment and the line
    parsed = rules_from_text("## Make the loginuid immutable.\n--loginuid-immutable\n")
    assert (parsed.errors, parsed.items, parsed.controls) == ([], [], {"loginuid_immutable": True})
    assert parsed.control_lines == {"loginuid_immutable": "line 2 (--loginuid-immutable)"}


@pytest.mark.parametrize("line, needle", [
    ("-D", "A rule set does not delete the other sets' rules"),
    ("-i", "set inapplicable: skip"),
    ("-c", "set inapplicable: skip"),
    ("--loginuid-immutable 1", "--loginuid-immutable takes no value"),
    ("--loginuid", "is --loginuid-immutable abbreviated (auditctl takes it so): write it in full"),
    ("-e2", "is an auditctl command"),
    ("-e 1", "auditd enables auditing itself"),
    ("-e 0", "would turn auditing off"),
    ("-A always,exit -F arch=b64 -S kill", "Use -a, and give rules that must match first a set with a lower priority"),
    ("-l", "is an auditctl command, not a line of a rule file"),
    ("-d always,exit -F arch=b64 -S kill", "is an auditctl command"),
    ("-W /etc/passwd", "is an auditctl command"),
    ("--reset-lost", "is an auditctl command"),
    ("-f 3", "controls.failure_mode"),
    ("-b -1", "not a number 0 or more"),
    ("-b 08", "auditctl would read it as 0"),
    ("--backlog_wait_time 600001", "backlog_wait_time"),
    ("-b", "takes one value"),
])
def test_refused_control_lines_say_where_they_belong(line, needle):
    errors = rules_from_text("-w /etc/passwd -k a\n" + line).errors
    assert len(errors) == 1 and errors[0].startswith("line 2 (%s): " % line), errors
    assert needle in errors[0], errors[0]


def test_a_setting_given_twice_must_agree():
    assert rules_from_text("-b 8192\n-b 8192").errors == []
    errors = rules_from_text("-b 8192\n-b 16384").errors
    assert "sets buffer_size again, to another value than line 1 (-b 8192) did" in errors[0]


# ---- what auditctl refuses, or reads otherwise than it says ------------------------------------

@pytest.mark.parametrize("line, needle", [
    ("-a always,exit -F arch=b64 -S openat -F arch=b32", "comes after -S (\"arch must be before -S\")"),
    ("-a always,exit -F arch=b64 -F arch=b32 -S openat", "-F arch is given twice"),
    # -k without its value, before a field: the field's value becomes a stray word
    ("-a always,exit -F path=/usr/bin/chage -F perm=x -k -F account-changes",
     "'account-changes' is not an option (\"parameter passed without an option given\")"),
    ("-a always,exit -F arch=b64 -S kill -F key=k # comment", "a comment must be on a line of its own"),
    ("-w /etc/passwd -S openat -k k", "a watch (-w) takes no syscalls (auditctl ignores them)"),
    ("-w /etc/passwd -p wa -p r -k k", "-p is given twice"),
    ("-a always,exit -F arch=b64 -S kill -F key=", "-F key= has no key"),
    ("-a always,exit -F arch=b64 -k k -S kill", "(\"key option needs a watch or syscall given prior to it\")"),
    ("-a always,exit -F arch=b64 -S open -k", "option -k needs a value"),
    ("-a always,exit,never -S openat", "bad keyword 'always,exit,never'"),
    ("-a sometimes,exit -S openat", "bad keyword"),
    ("-a always,exit -F arch=b64 -S kill -Z x", "option '-Z' is not one of a rule's"),
    ("-a always,exit -F arch=b64 -S kill -C uid<euid", "-C 'uid<euid' is not of the form"),
    ("-a always,exit -F arch=b64 -S kill -F uid", "-F 'uid' is not of the form name<op>value"),
    ("-w", "-w needs a path"),
    ("-a always,exit -F arch=b64 -S kill -F key=a\tb", "contains a control character ('\\t'"),
    ("-a always,exit -F arch=b64 -S kill -F key=k\r", "contains a control character ('\\r'"),
])
def test_lines_auditctl_refuses_or_misreads_are_errors(line, needle):
    errors = rules_from_text(line).errors
    assert len(errors) == 1 and needle in errors[0], errors


@pytest.mark.parametrize("line, needle", [
    ("-a always,exit -F arch=b64 -S connect -F dir=spool/agent -F key=k", "is not an absolute path"),
    ("-a always,exit -F arch=b64 -S connect -F dir=+ -F key=k", "is not an absolute path"),
    ("-a always,exit -F arch=b64 -S connect -F dir=/etc -F obj=/usr/sbin/sshd -F key=k",
     "unknown field name 'obj'"),
    ("-a always,exit -F arch=b64 -S kill -F a2=08 -F key=k", "auditctl would read it as 0 and ignore the rest"),
    ("-a always,exit -F arch=b64 -S kill -F uid=12abc -F key=k", "auditctl would read it as 12"),
    ("-a always,exit -F arch=b64 -S 08 -F key=k", "is not a syscall name or number"),
    ("-a always,exit -F arch=b64 -S kill,all -F key=k", "'all' must be alone"),
    ("-a always,exit -F arch=b64 -F uid=0 -F key=k", "auditctl refuses a key on an exit rule without syscalls"),
    ("-a always,user -C uid!=euid", "-C can only be used on the exit list"),
    ("-a always,exit -F arch=b64 -S kill -C auid!=gid", "two different uid fields or two different gid fields"),
    ("-a always,exit -F arch=b64 -S kill -C uid=uid", "two different uid fields"),
    ("-a always,exit -F arch=b64 -S kill -C auid=loginuid", "'loginuid' is not one of them"),
    ("-a always,exit -F arch=b64 -S kill -F path=/etc/a -F path=/etc/b", "one path= or dir= only"),
])
def test_wrong_rules_are_errors_in_both_modes(line, needle):
    items = rules_from_text(line).items
    for mode in ("fail", "skip"):
        with pytest.raises(AuditRuleError) as e:
            validate_rule_set(items, X86, inapplicable=mode, labels=["line 1"])
        assert needle in e.value.msg and e.value.msg.startswith("invalid rule: line 1: "), e.value.msg


# ---- numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("0", 0), ("0100", 64), ("01003", 515), ("03", 3), ("0x0", 0), ("0X1f", 31), ("0x7C020000", 0x7C020000),
    ("10", 10), ("-1", -1), ("-010", -8), ("4294967295", 4294967295),
])
def test_numbers_are_read_as_auditctl_reads_them(text, value):
    assert _rulemodel._parse_int(text, "") == value


@pytest.mark.parametrize("text, read", [("08", "0"), ("0x", "0"), ("12abc", "12"), ("-09", "-0"), ("1e3", "1")])
def test_numbers_auditctl_would_cut_are_refused_and_say_how(text, read):
    with pytest.raises(_rulemodel._Invalid) as e:
        _rulemodel._parse_int(text, "a number")
    assert "auditctl would read it as %s and ignore the rest" % int(read) in str(e.value)


# ---- structured rules: no syscalls, arch none, comparisons, several keys ------------------------

def test_an_exit_rule_without_syscalls_is_on_every_syscall():
    rules = validate_rules([{"arch": "none", "fields": ["path=/usr/bin/su", "perm=x", "auid>=1000"],
                             "key": "priv"},
                            {"fields": ["path=/usr/bin/su", "perm=x", "auid>=1000"], "key": "priv2"}], X86)
    assert [r.render() for r in rules] == [
        "-a always,exit -F path=/usr/bin/su -F perm=x -F auid>=1000 -F key=priv",
        "-a always,exit -F arch=b64 -F path=/usr/bin/su -F perm=x -F auid>=1000 -F key=priv2",
        "-a always,exit -F arch=b32 -F path=/usr/bin/su -F perm=x -F auid>=1000 -F key=priv2"]
    assert [r.listing() for r in rules][0] == "-a always,exit -S all -F path=/usr/bin/su -F perm=x -F auid>=1000 -F key=priv"
    assert rules[0].canon() == parse_rule_line("-a always,exit -S all -F path=/usr/bin/su -F perm=x "
                                               "-F auid>=1000 -F key=priv", X86).canon()


def test_comparisons_as_mappings():
    rules = validate_rules([{"syscalls": ["execve"], "arch": "b64", "key": "k",
                             "fields": [{"name": "obj_uid", "op": "!=", "field": "auid"}, "euid=0"]}], X86)
    assert rules[0].render() == "-a always,exit -F arch=b64 -S execve -C obj_uid!=auid -F euid=0 -F key=k"
    assert rules[0].listing() == "-a always,exit -F arch=b64 -S execve -C auid!=obj_uid -F euid=0 -F key=k"
    with pytest.raises(AuditRuleError) as e:
        validate_rules([{"syscalls": ["execve"], "arch": "b64",
                         "fields": [{"name": "uid", "value": 0, "field": "euid"}]}], X86)
    assert "needs name and value" in e.value.msg


def test_several_keys():
    rules = validate_rules([{"path": "/etc/passwd", "key": ["a", "b"]},
                            {"syscalls": ["kill"], "arch": "b64", "key": ["c", "d"]}], X86)
    assert [r.render() for r in rules] == ["-w /etc/passwd -p rwxa -k a -k b",
                                           "-a always,exit -F arch=b64 -S kill -F key=c -F key=d"]
    for key, needle in ((["a", "a"], "given twice"), ([], "empty list"), (["k%02d" % i + "x" * 28 for i in range(9)], "take 287 bytes together")):
        with pytest.raises(AuditRuleError) as e:
            validate_rules([{"path": "/etc/passwd", "key": key}], X86)
        assert needle in e.value.msg


# ---- inapplicable=skip: hosts that differ ------------------------------------------------------

KILL = {"syscalls": ["kill", "tkill", "tgkill", "pidfd_send_signal", "rt_sigqueueinfo",
                     "rt_tgsigqueueinfo"], "key": "kill_rule"}


def test_the_kill_set_on_a_current_kernel_has_all_six_in_both_abis():
    rules, skipped = validate_rule_set([KILL], X86, inapplicable="skip")
    assert skipped == []
    assert [r.listing() for r in rules] == [
        "-a always,exit -F arch=%s -S kill,rt_sigqueueinfo,tkill,tgkill,rt_tgsigqueueinfo,"
        "pidfd_send_signal -F key=kill_rule" % arch for arch in ("b64", "b32")]


def test_a_syscall_an_old_kernel_lacks_is_left_out_with_a_note(monkeypatch):
    monkeypatch.setattr(_rulehost, "_kallsyms_syscalls", lambda names: set())
    host = x86(release="4.18.0-553.el8_10.x86_64")
    rules, skipped = validate_rule_set([KILL], host, inapplicable="skip")
    assert [r.render() for r in rules] == [
        "-a always,exit -F arch=%s -S kill,tkill,tgkill,rt_sigqueueinfo,rt_tgsigqueueinfo "
        "-F key=kill_rule" % arch for arch in ("b64", "b32")]
    assert [(s["arch"], s["syscalls"]) for s in skipped] == [("b64", ["pidfd_send_signal"]),
                                                             ("b32", ["pidfd_send_signal"])]
    assert "older than Linux 5.1" in skipped[0]["reason"] and "loaded with kill,tkill" in skipped[0]["reason"]
    assert "/proc/kallsyms has no sys_pidfd_send_signal" in skipped[0]["reason"]
    assert skipped[0]["where"] == "rules[0] (key 'kill_rule')"
    # fail (the default) does not look at the kernel: the rule loads, as it does today
    assert len(validate_rule_set([KILL], host)[0][0].syscalls) == 6


def test_a_backported_syscall_is_found_in_kallsyms(monkeypatch):
    monkeypatch.setattr(_rulehost, "_kallsyms_syscalls", set)
    rules, skipped = validate_rule_set([KILL], x86(release="4.18.0-553.el8_10.x86_64"), inapplicable="skip")
    assert skipped == [] and len(rules[0].syscalls) == 6


def test_a_syscall_the_hosts_auditctl_lacks_is_left_out():
    tables = dict((arch, set(X86.syscall_names(arch).values()) - {"rt_tgsigqueueinfo"})
                  for arch in ("b64", "b32"))
    rules, skipped = validate_rule_set([KILL], x86(auditctl_syscalls=tables), inapplicable="skip")
    assert [s["syscalls"] for s in skipped] == [["rt_tgsigqueueinfo"]] * 2
    assert "this host's auditctl does not know it (`ausyscall b64 --dump` does not list it)" in skipped[0]["reason"]
    assert all("rt_tgsigqueueinfo" not in r.syscalls and len(r.syscalls) == 5 for r in rules)


def test_a_rule_is_never_left_without_syscalls(monkeypatch):
    """Left with none, a rule on the exit list would be on every syscall: it is left out."""
    monkeypatch.setattr(_rulehost, "_kallsyms_syscalls", lambda names: set())
    host = x86(release="4.9.0")
    rules, skipped = validate_rule_set(
        [{"syscalls": ["pidfd_send_signal", "openat2"], "key": "new"}, {"syscalls": ["kill"], "key": "old"}],
        host, inapplicable="skip")
    assert [r.render() for r in rules] == ["-a always,exit -F arch=b64 -S kill -F key=old",
                                           "-a always,exit -F arch=b32 -S kill -F key=old"]
    assert [(s["arch"], s["syscalls"]) for s in skipped] == [("b64", ["pidfd_send_signal", "openat2"]),
                                                             ("b32", ["pidfd_send_signal", "openat2"])]
    assert skipped[0]["reason"].startswith("none of its syscalls can be audited here")


def test_an_abi_the_host_lacks():
    host = x86(compat=False)
    rules, skipped = validate_rule_set([{"syscalls": ["kill"], "arch": "both", "key": "k"},
                                        {"syscalls": ["kill"], "arch": "b32", "key": "j"}],
                                       host, inapplicable="skip")
    assert [r.render() for r in rules] == ["-a always,exit -F arch=b64 -S kill -F key=k"]
    assert [s.get("arch") for s in skipped] == ["b32", None]
    assert "does not run 32-bit programs" in skipped[1]["reason"]
    with pytest.raises(AuditRuleError):
        validate_rule_set([{"syscalls": ["kill"], "arch": "both", "key": "k"}], host)


def test_a_syscall_only_one_abi_has():
    rules, skipped = validate_rule_set([{"syscalls": ["stime", "settimeofday"], "key": "time"}], X86,
                                       inapplicable="skip")
    assert [r.render() for r in rules] == ["-a always,exit -F arch=b64 -S settimeofday -F key=time",
                                           "-a always,exit -F arch=b32 -S stime,settimeofday -F key=time"]
    assert skipped[0]["arch"] == "b64" and skipped[0]["syscalls"] == ["stime"]


def test_paths_users_and_groups_the_host_lacks():
    dirs = set(["/", "/etc", "/usr", "/usr/bin", "/usr/libexec", "/opt", "/var"])
    host = x86(isdir=lambda p: p in dirs, exists=lambda p: p in dirs or p == "/etc/passwd")
    text = "\n".join([
        "-a always,exit -F dir=/etc/NetworkManager/ -F perm=wa -F key=a",     # dir= needs the path
        "-w /etc/sysconfig/network -p wa -k b",                               # a watch its directory
        "-w /etc/sysconfig -p wa -k c",                                       # ... whose parent is /etc
        "-a always,exit -F path=/usr/libexec/afcs-agent/helper -F perm=x -k d",  # path= its directory
        "-a always,exit -F arch=b64 -S execve -F exe=/opt/x/y -k e",          # exe= its directory
        "-a always,exit -F arch=b64 -S adjtimex -F uid=nosuchuser_afut -k f",
        "-a always,exit -F arch=b64 -S adjtimex -F gid!=nosuchgroup_afut -k g",
        "-w /etc/passwd -p wa -k h",
    ])
    parsed = rules_from_text(text)
    rules, skipped = validate_rule_set(parsed.items, host, inapplicable="skip", labels=parsed.labels,
                                       texts=parsed.texts)
    assert [r.render() for r in rules] == ["-w /etc/sysconfig -p wa -k c", "-w /etc/passwd -p wa -k h"]
    assert [s["where"] for s in skipped] == ["line 1", "line 2", "line 4", "line 5", "line 6", "line 7"]
    assert skipped[0]["rule"] == "-a always,exit -F dir=/etc/NetworkManager/ -F perm=wa -F key=a"
    assert "/etc/NetworkManager does not exist on this host" in skipped[0]["reason"]
    assert "the directory /etc/sysconfig does not exist" in skipped[1]["reason"]
    assert "'nosuchuser_afut' is not a user name known on this host" in skipped[4]["reason"]
    # fail: the user and group are errors (as before); paths are left to the kernel at load time
    with pytest.raises(AuditRuleError) as e:
        validate_rule_set(parsed.items, host, labels=parsed.labels)
    assert [x.split(":")[0] for x in e.value.result["errors"]] == ["line 6", "line 7"]


def test_kallsyms_is_read_line_by_line(tmp_path):
    p = tmp_path / "kallsyms"
    p.write_text("ffffffff8137b8a0 T __x64_sys_kill\n0000000000000000 T __ia32_sys_pidfd_send_signal\n"
                 "ffffffff81000000 W __x64_sys_openat2\nffffffff81000001 t sys_rseq\n"
                 "ffffffff81000002 T __x64_sys_tkill_other\n")
    assert _rulehost._kallsyms_syscalls(["kill", "pidfd_send_signal", "openat2", "rseq", "tkill"], str(p)) == \
        set(["kill", "pidfd_send_signal", "rseq"])
    assert _rulehost._kallsyms_syscalls(["kill"], str(tmp_path / "none")) is None
    os.mkfifo(str(tmp_path / "fifo"))
    assert _rulehost._kallsyms_syscalls(["kill"], str(tmp_path / "fifo")) is None


def test_kernel_versions():
    assert x86(release="4.18.0-553.el8_10.x86_64").kernel_version() == (4, 18)
    assert x86(release="6.18.44-fc-v973").kernel_version() == (6, 18)
    assert x86(release="weird").kernel_version() is None
    assert x86(release="weird").syscall_lack("pidfd_send_signal", "b64") is None


# ---- every sample file and a large composed set parse ------------------------------------------

RULE_TEXTS = sorted(_presets.available()) + ["composed"]


@pytest.mark.parametrize("name", RULE_TEXTS)
def test_rule_files_of_this_host_parse_and_agree_with_the_lenient_parser(name):
    """Each sample file of this host's audit package, and the large set composed from all of
    them and the project's own CIS- and community-style rules (tests/lib/composedrules.py)."""
    text = composedrules.compose().text if name == "composed" else _presets.read(name)[0]
    parsed = rules_from_text(text)
    lines = text.split("\n")
    # wrong rule lines (control lines are errors too: tested above)
    wrong = set(n for n in (int(e.split(" ")[1]) for e in parsed.errors)
                if lines[n - 1].strip().startswith(("-a ", "-w ")))
    for item, label, line in zip(parsed.items, parsed.labels, parsed.texts, strict=True):
        try:
            rules, skipped = validate_rule_set([item], X86, inapplicable="skip")
        except AuditRuleError:
            wrong.add(int(label.split(" ")[1]))
            continue
        if skipped:
            continue    # a user, group or syscall this test host lacks (validated live elsewhere)
        lenient = parse_rule_line(line, X86)
        assert lenient.kind != "raw", line
        if len(rules) == 1:
            assert lenient.canon() == rules[0].canon(), (label, line)
    # wrong lines: none in the samples; in the composed set, exactly its section of mistakes
    assert sorted(wrong) == (composedrules.compose().rule_numbers(section=composedrules.MISTAKES)
                             if name == "composed" else [])


# ---- presets ------------------------------------------------------------------------------------

def test_presets_are_found_in_the_first_directory_that_has_them(tmp_path):
    new, old = tmp_path / "audit-rules", tmp_path / "sample-rules"
    new.mkdir()
    old.mkdir()
    (old / "30-stig.rules").write_text("-w /etc/passwd -p wa -k old\n")
    (new / "30-stig.rules").write_text("-w /etc/passwd -p wa -k new\n")
    (old / "43-module-load.rules.gz").write_bytes(gzip.compress(b"-a always,exit -F arch=b64 -S init_module -k m\n"))
    (old / "README-rules").write_text("x")
    dirs = [str(new), str(old), str(tmp_path / "missing")]
    assert _presets.available(dirs) == {"stig": str(new / "30-stig.rules"),
                                        "module-load": str(old / "43-module-load.rules.gz")}
    assert _presets.read("stig", dirs) == ("-w /etc/passwd -p wa -k new\n", str(new / "30-stig.rules"), 30)
    assert _presets.read("30-stig", dirs)[2] == 30
    assert _presets.read("module-load", dirs)[0] == "-a always,exit -F arch=b64 -S init_module -k m\n"
    with pytest.raises(_presets.PresetError) as e:
        _presets.find("nispom", dirs)
    assert "no sample rule file NN-nispom.rules" in e.value.msg and "presets found: module-load, stig" in e.value.msg
    for bad in ("../stig", "stig\n", "ST IG", "", None):
        with pytest.raises(_presets.PresetError):
            _presets.find(bad, dirs)
    with pytest.raises(_presets.PresetError) as e:
        _presets.find("stig", [str(tmp_path / "none")])
    assert "the audit package is not installed, or the image leaves /usr/share/doc out" in e.value.msg


def test_a_preset_larger_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_presets, "MAX_BYTES", 100)
    (tmp_path / "30-big.rules").write_text("#" * 101)
    (tmp_path / "31-bomb.rules.gz").write_bytes(gzip.compress(b"#" * 1000))
    for name in ("big", "bomb"):
        with pytest.raises(_presets.PresetError) as e:
            _presets.read(name, [str(tmp_path)])
        assert "100 bytes" in e.value.msg
