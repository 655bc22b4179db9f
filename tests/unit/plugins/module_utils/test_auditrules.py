"""The rule model without the host: validation, rendering, canonical form, parsing, compiling.

Everything here is pure (no auditctl, no lock). What auditctl really prints for each form is
checked against the real kernel in test_auditrules_live.py.
"""
import glob
import json
import os
import subprocess

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _rulecheck, _rulecontrols, _rulehost, _rulesdir
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditctl import load_plan, parse_status
from tests.lib.env import COLLECTIONS
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import validate_rules
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import HostArch, compat_from_config
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import (
    compile_rules, managed_name, render_file, sorted_rule_files)
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_line

X86 = HostArch("x86_64", compat=True)
X86_NO32 = HostArch("x86_64", compat=False)
ARM64 = HostArch("aarch64", compat=True)
I686 = HostArch("i686")
RISCV = HostArch("riscv64")


def errors_of(items, host=X86, version=None):
    with pytest.raises(AuditRuleError) as e:
        validate_rules(items, host, version)
    return e.value.result["errors"]


def rendered(items, host=X86):
    return [r.render() for r in validate_rules(items, host)]


# ---- expansion per ABI ---------------------------------------------------------------------

def test_auto_is_b64_and_b32_where_the_kernel_runs_32bit_programs():
    assert rendered([{"syscalls": ["kill", "tkill", "tgkill"], "key": "kill_rule"}]) == [
        "-a always,exit -F arch=b64 -S kill,tkill,tgkill -F key=kill_rule",
        "-a always,exit -F arch=b32 -S kill,tkill,tgkill -F key=kill_rule",
    ]


def test_auto_is_b64_only_without_compat():
    assert rendered([{"syscalls": ["kill"], "key": "k"}], X86_NO32) == [
        "-a always,exit -F arch=b64 -S kill -F key=k"]


def test_b32_and_both_fail_without_compat():
    for arch in ("b32", "both"):
        errs = errors_of([{"syscalls": ["kill"], "key": "k", "arch": arch}], X86_NO32)
        assert "does not run 32-bit programs" in errs[0] and arch in errs[0]


def test_32bit_machine_has_only_b32():
    assert rendered([{"syscalls": ["kill"]}], I686) == ["-a always,exit -F arch=b32 -S kill"]
    assert "no b64 ABI" in errors_of([{"syscalls": ["kill"], "arch": "b64"}], I686)[0]


def test_unknown_machine_cannot_check_syscalls_but_watches_work():
    assert "riscv64" in errors_of([{"syscalls": ["kill"]}], RISCV)[0]
    assert rendered([{"path": "/etc/passwd", "permissions": "wa"}], RISCV) == [
        "-w /etc/passwd -p wa"]


def test_syscalls_are_checked_per_abi():
    errs = errors_of([{"syscalls": ["accept"], "key": "net"}])
    assert "'accept' is not a syscall of arch b32" in errs[0] and "set arch: b64" in errs[0]
    assert rendered([{"syscalls": ["accept"], "arch": "b64"}]) == ["-a always,exit -F arch=b64 -S accept"]
    assert rendered([{"syscalls": ["socketcall"], "arch": "b32"}]) == ["-a always,exit -F arch=b32 -S socketcall"]
    errs = errors_of([{"syscalls": ["open"]}], ARM64)
    assert "aarch64 table" in errs[0] and "did you mean 'openat'" in errs[0]


def test_syscall_numbers_names_case_and_duplicates():
    assert rendered([{"syscalls": ["62", "KILL", "kill", 234], "arch": "b64"}]) == [
        "-a always,exit -F arch=b64 -S kill,tgkill"]
    assert rendered([{"syscalls": ["all"], "arch": "b32", "fields": ["auid=0"]}]) == [
        "-a always,exit -F arch=b32 -S all -F auid=0"]


# ---- fields --------------------------------------------------------------------------------

def test_fields_as_strings_and_mappings():
    assert rendered([{"syscalls": ["kill"], "arch": "b64", "key": "k", "fields": [
        "auid>=1000", "auid!=unset", {"name": "uid", "op": "=", "value": 0},
        {"name": "loginuid", "value": "1000"}, " success=1 ", "exit=-eperm", "a0&=0x10",
        "exe=/usr/bin/kill", "perm=aw", "filetype=file", "sessionid!=unset"]}]) == [
        "-a always,exit -F arch=b64 -S kill -F auid>=1000 -F auid!=unset -F uid=0 -F auid=1000 "
        "-F success=1 -F exit=-EPERM -F a0&=0x10 -F exe=/usr/bin/kill -F perm=wa -F filetype=file "
        "-F sessionid!=unset -F key=k"]


@pytest.mark.parametrize("field, needle", [
    ("uidd=0", "unknown field name 'uidd' (did you mean 'uid'?)"),
    ("loginuid_set=1", "unknown field name 'loginuid_set'"),
    ("uid=>0", "operator '=>' is not one of auditctl's"),
    ("uid<>0", "operator '<>'"),
    ("uid==0", "operator '=='"),
    ("uid&0x10", "operator '&' is not allowed for uid"),
    ("path!=/etc/passwd", "operator '!=' is not allowed for path"),
    ("perm!=wa", "operator '!=' is not allowed for perm"),
    ("exe>/bin/x", "operator '>' is not allowed for exe"),
    ("auid>=nosuchuser_afut", "'nosuchuser_afut' is not a user name known on this host"),
    ("gid=nosuchgroup_afut", "'nosuchgroup_afut' is not a group name"),
    ("uid=-1", "out of range"),
    ("uid=4294967295", "out of range"),
    ("auid=4294967296", "out of range"),
    ("pid=-1", "out of range"),
    ("pid=abc", "'abc' is not a number"),
    ("pid=08", "auditctl would read it as 0 and ignore the rest"),
    ("uid=12abc", "auditctl would read it as 12 and ignore the rest"),
    ("a0=0x", "is not a number"),
    ("success=2", "success takes 1"),
    ("success=yes", "success takes 1"),
    ("perm=z", "'z' is not a permission set"),
    ("exit=-ENOSUCH", "not an errno name"),
    ("exit=99999999999", "does not fit in 32 bits"),
    ("a1=4294967296", "does not fit in 32 bits"),
    ("filetype=0x8000", "is not a file type"),
    ("exe=bin/x", "is not an absolute path"),
    ("dir=relative", "is not an absolute path"),
    ("path=/etc/", "ends with /"),
    ("path=/etc/pass wd", "whitespace"),
    ("exe=/bin/x\n-D", "field 'exe=/bin/x\\n-D' contains a control character ('\\n' at position 10)"),
    ("saddr_fam=AF_INET", "not a number"),
    ("saddr_fam=46", "out of range"),
    ("msgtype=CWD", "msgtype can only be used on the user and exclude lists"),
    ("fstype=debugfs", "fstype can only be used on the filesystem list"),
    ("key=x", "set the key with the rule's `key` option"),
    ("arch=b64", "set the ABI with the rule's `arch` option"),
    ("field_compare=1", "compare two fields (auditctl -C) with a mapping of name, op and field"),
    ("uid", "not of the form name<op>value"),
    ({"name": "uid"}, "needs name and value"),
    ({"name": "uid", "value": 0, "opp": "="}, "unknown keys opp"),
    ({"name": "uid", "value": [0]}, "value must be a string or an integer"),
    ({"name": "uid", "op": "=>", "value": 0}, "operator '=>'"),
    (5, "must be a string such as 'auid>=1000'"),
])
def test_bad_fields_name_field_value_and_what_is_allowed(field, needle):
    errs = errors_of([{"syscalls": ["kill"], "arch": "b64", "key": "k", "fields": [field]}])
    assert len(errs) == 1 and errs[0].startswith("rules[0] (key 'k'): ")
    assert needle in errs[0]


def test_user_and_group_names_resolve_to_ids_in_the_canonical_form():
    by_name = validate_rules([{"syscalls": ["kill"], "arch": "b64", "fields": ["uid=root", "gid=root"]}], X86)
    by_id = validate_rules([{"syscalls": ["kill"], "arch": "b64", "fields": ["uid=0", "gid=0"]}], X86)
    assert by_name[0].canon() == by_id[0].canon()
    assert by_name[0].render().endswith("-F uid=root -F gid=root")
    assert by_name[0].listing().endswith("-F uid=0 -F gid=0")


# ---- keys, watches, lists, conflicts -------------------------------------------------------

@pytest.mark.parametrize("key, needle", [
    ("k" * 32, "is 32 bytes long: the kernel allows at most 31"),
    ("\u00e9" * 16, "is 32 bytes long"),
    ("k -D", "contains whitespace"),
    ("k\n-D", "key 'k\\n-D' contains a control character"),
    ("k\x01x", "control character"),
    ("k\x7f", "control character"),
    ('k"x', "quote or backslash"),
    ("k'x", "quote or backslash"),
    ("k\\x", "quote or backslash"),
    ("", "must not be empty"),
    (5, "key must be a string, got integer 5"),
    (True, "got boolean"),
])
def test_bad_keys(key, needle):
    for item in ({"syscalls": ["kill"], "arch": "b64", "key": key}, {"path": "/etc/passwd", "key": key}):
        errs = errors_of([item])
        assert any(needle in e for e in errs), errs


def test_good_keys():
    assert _rulecheck.check_key("k" * 31) is None
    assert _rulecheck.check_key("\u00e9t\u00e9") is None
    assert _rulecheck.check_key("kill_rule-1,a#b") is None


@pytest.mark.parametrize("item, needle", [
    ({"path": "etc/passwd"}, "not an absolute path"),
    ({"path": "/etc/passwd\n-D"}, "path '/etc/passwd\\n-D' contains a control character"),
    ({"path": "/etc/pass wd"}, "whitespace"),
    ({"path": "/etc/*.conf"}, "wildcard"),
    ({"path": 5}, "path must be a string, got integer"),
    ({"path": "/etc/passwd", "syscalls": ["kill"]}, "cannot have syscalls"),
    ({"path": "/etc/passwd", "arch": "b64"}, "cannot have arch"),
    ({"path": "/etc/passwd", "fields": ["uid=0"]}, "cannot have fields"),
    ({"path": "/etc/passwd", "permissions": "rwz"}, "permissions 'rwz' is not allowed"),
    ({"path": "/etc/passwd", "permissions": ""}, "permissions '' is not allowed"),
    ({"path": "/etc/passwd", "perms": "wa"}, "unknown option 'perms'"),
    ({"syscalls": ["kill"], "permissions": "wa"}, "permissions belongs to a watch rule"),
    ({"syscalls": ["kill"], "keys": "k"}, "unknown option 'keys' (did you mean 'key'?)"),
    ({"list": "io_uring"}, "needs at least one operation"),
    ({"list": "io_uring", "syscalls": []}, "needs at least one operation"),
    ({"syscalls": "kill"}, "syscalls must be a list"),
    ({"syscalls": [{"a": 1}]}, "is a mapping, not a syscall name"),
    ({"syscalls": ["kil"]}, "did you mean 'kill'"),
    ({"syscalls": ["kill;rm"]}, "is not a syscall name"),
    ({"syscalls": ["99999"], "arch": "b64"}, "number 99999 is not a syscall of arch b64"),
    ({"syscalls": ["62"]}, "number 62 means a different syscall in each ABI"),
    ({"syscalls": ["all", "kill"], "arch": "b64"}, "'all' must be alone"),
    ({"syscalls": ["kill"], "action": "sometimes"}, "action 'sometimes' is not allowed"),
    ({"syscalls": ["kill"], "list": "exits"}, "list 'exits' is not allowed"),
    ({"syscalls": ["kill"], "arch": "x86_64"}, "arch 'x86_64' is not allowed"),
    ({"syscalls": ["kill"], "list": "user", "fields": ["uid=0"]}, "the user list does not take syscalls"),
    ({"syscalls": ["kill"], "list": "exclude", "fields": ["msgtype=CWD"]}, "exclude list does not take"),
    ({"list": "task", "arch": "b64", "fields": ["uid=0"]}, "only rules of the exit list take arch"),
    ({"list": "exclude", "fields": ["msgtype=CWD"], "key": "k"}, "refuses a key on the exclude list"),
    ({"list": "task", "fields": ["uid=0"], "key": "k"}, "refuses a key on the task list"),
    ({"list": "user", "fields": ["uid=0"], "key": "k"}, "only after an exe field"),
    ({"list": "exclude"}, "without fields would match every event"),
    ({"list": "filesystem"}, "needs an fstype field"),
    ({"list": "filesystem", "fields": ["fstype=proc"]}, "'proc' is not a file system type"),
    ({"list": "exclude", "fields": ["exe=/bin/x"]}, "exe cannot be used on the exclude list"),
    ({"list": "task", "fields": ["path=/etc/passwd"]}, "path cannot be used on the task list"),
    ({"syscalls": ["kill"], "arch": "b64", "fields": ["exe=/a", "exe=/b"]}, "exe can be used only once"),
    ({"syscalls": ["openat"], "arch": "b64", "fields": ["dir=/etc", "path=/etc/passwd"]}, "one path= or dir="),
    ({"syscalls": ["kill"], "fields": "uid=0"}, "fields must be a list"),
    ({"list": "io_uring", "syscalls": ["openat"]}, "needs audit userspace 3.1 or later; this host has auditctl 3.0.9"),
    ("-a always,exit -S kill", "a rule must be a mapping"),
])
def test_bad_rules(item, needle):
    errs = errors_of([item], version=(3, 0, 9))
    assert any(needle in e for e in errs), errs
    assert all(e.startswith("rules[0]") for e in errs)


def test_every_problem_is_reported_at_once():
    errs = errors_of([{"syscalls": ["kil"], "key": "k1"}, {"path": "rel", "key": "k2"},
                      {"syscalls": ["kill"], "key": "k" * 40}])
    assert [e.split(":")[0] for e in errs] == ["rules[0] (key 'k1')", "rules[1] (key 'k2')",
                                               "rules[2] (key '%s')" % ("k" * 40)]
    assert "'kil' is not a syscall of arch b64 or b32" in errs[0]


def test_duplicate_rules_in_one_set_are_refused():
    errs = errors_of([{"syscalls": ["kill", "tkill"], "key": "k", "arch": "b64"},
                      {"syscalls": ["tkill", "kill"], "key": "k", "arch": "b64"}])
    assert "same kernel rule as rules[0]" in errs[0] and errs[0].startswith("rules[1]")


def test_other_lists_render():
    assert rendered([
        {"list": "exclude", "action": "never", "fields": ["msgtype=cwd"]},
        {"list": "user", "action": "never", "fields": ["exe=/usr/bin/x"], "key": "u"},
        {"list": "task", "action": "never"},
        {"list": "filesystem", "action": "never", "fields": ["fstype=debugfs"], "key": "fs"},
        {"path": "/etc/ssh/", "key": "sshd"},
    ]) == ["-a never,exclude -F msgtype=CWD", "-a never,user -F exe=/usr/bin/x -F key=u",
           "-a never,task", "-a never,filesystem -F fstype=debugfs -F key=fs",
           "-w /etc/ssh -p rwxa -k sshd"]


def test_io_uring_with_a_new_enough_auditctl():
    rules = validate_rules([{"list": "io_uring", "syscalls": ["openat"], "key": "u"}], X86, (3, 1, 2))
    assert [r.render() for r in rules] == ["-a always,io_uring -S openat -F key=u"]


# ---- canonical form ------------------------------------------------------------------------

SAME = [
    ("-a always,exit -F arch=b64 -S kill -k x", "-a exit,always -F arch=b64 -S kill -F key=x"),
    ("-a always,exit -F arch=b64 -S kill,tgkill -F key=x", "-a always,exit -F arch=b64 -S tgkill -S kill -S kill -F key=x"),
    ("-a always,exit -F arch=b64 -S kill -F auid!=unset", "-a always,exit -F arch=b64 -S kill -F auid!=-1"),
    ("-a always,exit -F arch=b64 -S kill -F auid!=4294967295", "-a always,exit -F arch=b64 -S kill -F auid!=-1"),
    ("-a always,exit -F arch=b64 -S kill -F loginuid=0", "-a always,exit -F arch=b64 -S kill -F auid=0"),
    ("-a always,exit -F arch=b64 -S kill -F uid=root", "-a always,exit -F arch=b64 -S kill -F uid=0"),
    ("-a always,exit -F arch=b64 -S kill -F uid>0x10", "-a always,exit -F arch=b64 -S kill -F uid>16"),
    ("-a always,exit -F arch=b64 -S kill -F uid=4294967294", "-a always,exit -F arch=b64 -S kill -F uid=-2"),
    ("-a always,exit -F arch=b64 -S kill -F exit=-13", "-a always,exit -F arch=b64 -S kill -F exit=-EACCES"),
    ("-a always,exit -F arch=b64 -S kill -F exit=4294967295", "-a always,exit -F arch=b64 -S kill -F exit=-EPERM"),
    ("-a always,exit -F arch=b64 -S kill -F a0=-1", "-a always,exit -F arch=b64 -S kill -F a0=0xFFFFFFFF"),
    ("-a always,exit -F arch=b64 -S kill -F a0&=16", "-a always,exit -F arch=b64 -S kill -F a0&=0x10"),
    ("-a always,exit -F arch=b64 -S openat -F filetype=dir", "-a always,exit -F arch=b64 -S openat -F filetype=16384"),
    ("-a always,exit -F arch=b64 -S kill -F perm=aw", "-a always,exit -F arch=b64 -S kill -F perm=wa"),
    ("-a always,exit -F arch=b64 -S kill -F uid=0 -F gid=0", "-a always,exit -F arch=b64 -S kill -F gid=0 -F uid=0"),
    ("-a always,exit -F arch=b64 -S 62", "-a always,exit -F arch=b64 -S kill"),
    ("-a always,exit -F arch=x86_64 -S kill", "-a always,exit -F arch=b64 -S kill"),
    ("-a always,exit -F arch=i386 -S kill", "-a always,exit -F arch=b32 -S kill"),
    ("-a always,exclude -F msgtype=1307", "-a always,exclude -F msgtype=CWD"),
    ("-a always,exit -F arch=b64 -S kill -F exe!=/bin/x", "-a always,exit -F arch=b64 -S kill -F exe=/bin/x"),
    ("-a always,exit -F arch=b64 -S kill -F sessionid=unset", "-a always,exit -F arch=b64 -S kill -F sessionid=-1"),
    ("-w /etc/passwd -p aw -k identity", "-w /etc/passwd -p wa -k identity"),
    ("-w /etc/ssh/ -p wa", "-w /etc/ssh -p wa"),
    ("-w /etc/passwd", "-w /etc/passwd -p rwxa"),
    ("-w /etc/passwd -p wa -k a -k b", "-w /etc/passwd -p wa -k b -k a"),
    ("-a always,exit -F path=/etc/shadow -F perm=wa -k a", "-w /etc/shadow -p wa -k a"),
    ("-a never,exit -F path=/etc/shadow -F perm=wa", "-w /etc/shadow -p wa"),
    ("-a always,exit -S all -F dir=/etc/ -F perm=wa", "-w /etc -p wa"),
    ("-w /etc/shadow -p wa -F auid>=1000 -k x",
     "-a always,exit -S all -F path=/etc/shadow -F perm=wa -F auid>=1000 -F key=x"),
    ("-a always,exit -F path=/etc/passwd -k a", "-a always,exit -S all -F path=/etc/passwd -F key=a"),
]
DIFFERENT = [
    ("-a always,exit -F arch=b64 -S kill -k x", "-a always,exit -F arch=b32 -S kill -k x"),
    ("-a always,exit -F arch=b64 -S kill -k x", "-a always,exit -F arch=b64 -S kill -k y"),
    ("-a always,exit -F arch=b64 -S kill -k x", "-a always,exit -F arch=b64 -S kill"),
    ("-a always,exit -F arch=b64 -S kill -k x", "-a never,exit -F arch=b64 -S kill -k x"),
    ("-a always,exit -F arch=b64 -S kill", "-a always,exit -F arch=b64 -S kill,tkill"),
    ("-a always,exit -F arch=b64 -S kill -F auid>=1000", "-a always,exit -F arch=b64 -S kill -F auid>1000"),
    ("-a always,exit -F arch=b64 -S kill -F uid=0", "-a always,exit -F arch=b64 -S kill -F euid=0"),
    ("-w /etc/passwd -p wa", "-w /etc/passwd -p w"),
    ("-w /etc/passwd -p wa", "-w /etc/group -p wa"),
    ("-a always,exit -F arch=b64 -S all -F path=/etc/hosts -F perm=wa", "-w /etc/hosts -p wa"),
]


@pytest.mark.parametrize("a, b", SAME)
def test_same_kernel_rule_same_canonical_form(a, b):
    ra, rb = parse_rule_line(a, X86), parse_rule_line(b, X86)
    assert ra.kind != "raw" and rb.kind != "raw"
    assert ra.canon() == rb.canon()


@pytest.mark.parametrize("a, b", DIFFERENT)
def test_different_kernel_rules_differ(a, b):
    assert parse_rule_line(a, X86).canon() != parse_rule_line(b, X86).canon()


def test_declared_rules_match_their_listing():
    rules = validate_rules([
        {"syscalls": ["tgkill", "kill", "tkill"], "key": "kill_rule", "fields": ["auid>=1000", "auid!=unset"]},
        {"path": "/etc/passwd", "permissions": "aw", "key": "identity"},
    ], X86)
    listed = [
        "-a always,exit -F arch=b64 -S kill,tkill,tgkill -F auid>=1000 -F auid!=-1 -F key=kill_rule",
        "-a always,exit -F arch=b32 -S kill,tkill,tgkill -F auid>=1000 -F auid!=-1 -F key=kill_rule",
        "-w /etc/passwd -p wa -k identity",
    ]
    assert [r.listing() for r in rules] == listed
    assert [r.canon() for r in rules] == [parse_rule_line(line, X86).canon() for line in listed]


def test_parse_skips_control_lines_and_keeps_what_it_cannot_read():
    for line in ("-D", "-b 8192", "-f 1", "-e 1", "--backlog_wait_time 60000", "# c", "", "No rules",
                 "--loginuid-immutable", "-r 100"):
        assert parse_rule_line(line, X86) is None
    raw = parse_rule_line("-a always,exit -F arch=b64 -S kill -Z", X86)
    assert raw.kind == "raw" and raw.listing() == "-a always,exit -F arch=b64 -S kill -Z"
    cmp_ = parse_rule_line("-a always,exit -F arch=b64 -S kill -C uid!=auid -F key=a", X86)
    assert cmp_.kind == "syscall" and cmp_.listing() == "-a always,exit -F arch=b64 -S kill -C uid!=auid -F key=a"


# ---- files, compiling, status, compat --------------------------------------------------------

def test_render_file_and_managed_header():
    rules = validate_rules([{"path": "/etc/passwd", "permissions": "wa", "key": "identity"}], X86)
    text = render_file("identity", rules)
    assert text == ("## Managed by auditfleet.auditd (audit_rule name=identity). Do not edit: "
                    "changes are overwritten.\n-w /etc/passwd -p wa -k identity\n")
    assert managed_name(text) == "identity" and managed_name(text.encode()) == "identity"
    assert managed_name("-D\n") is None and managed_name(None) is None
    assert _rulesdir.rule_file_name("x", 5) == "05-x.rules" and _rulesdir.rule_file_name("x", 50) == "50-x.rules"


def test_rule_files_in_augenrules_order():
    names = ["50-b.rules", "10-base-config.rules", "9-a.rules", "100-z.rules", ".hidden.rules",
             "x.rules.bak", "audit.rules", "50-a.rules", ".audit_rule-1.tmp"]
    assert sorted_rule_files(names) == ["9-a.rules", "10-base-config.rules", "50-a.rules",
                                        "50-b.rules", "100-z.rules", "audit.rules"]


def test_compile_like_augenrules():
    files = [("10-base.rules", "## c\n-D\n-b 8192\n\n-f 1\n  # indented comment\n-a never,task\n"),
             ("50-x.rules", "-w /etc/passwd -p wa\n-e 1\n-b 320\n--backlog_wait_time 60000\n-D -k x\n")]
    lines, origins = compile_rules(files, "/etc/audit/rules.d")
    assert lines == ["## This file is automatically generated from /etc/audit/rules.d", "-D", "-b 320",
                     "-f 1", "-a never,task", "-w /etc/passwd -p wa", "--backlog_wait_time 60000",
                     "-D -k x", "-e 1"]
    assert origins == [None, "10-base.rules", "50-x.rules", "10-base.rules", "10-base.rules",
                       "50-x.rules", "50-x.rules", "50-x.rules", "50-x.rules"]
    lines = compile_rules([("a.rules", "-w /etc/passwd -p wa\n")], "/d")[0]
    assert lines == ["## This file is automatically generated from /d", "", "", "", "-w /etc/passwd -p wa", ""]


def test_compile_matches_the_real_augenrules_output():
    """The compiled /etc/audit/audit.rules of this machine is what compile_rules makes of rules.d
    (when audit.rules is up to date: augenrules --check says No change)."""
    res = subprocess.run(["augenrules", "--check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, env=dict(os.environ, LC_ALL="C"), check=False)
    if res.returncode != 0 or "No change" not in res.stdout:
        pytest.skip("augenrules --check: %s" % res.stdout.strip())
    from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import read_rules_dir
    lines = compile_rules(read_rules_dir("/etc/audit/rules.d"), "/etc/audit/rules.d")[0]
    with open("/etc/audit/audit.rules") as f:
        assert f.read() == "\n".join(lines) + "\n"


def test_parse_status_3x_and_2x():
    text = ("enabled 2\nfailure 1\npid 2135\nrate_limit 0\nbacklog_limit 8192\nlost 0\nbacklog 0\n"
            "backlog_wait_time 60000\nbacklog_wait_time_actual 0\nloginuid_immutable 0 unlocked\n")
    st = parse_status(text)
    assert st["enabled"] == 2 and st["pid"] == 2135 and st["backlog_limit"] == 8192
    assert st["loginuid_immutable"] == 0 and st["loginuid_immutable_state"] == "unlocked"
    old = parse_status("AUDIT_STATUS: enabled=1 flag=1 pid=42 rate_limit=0 backlog_limit=320 lost=0 backlog=0")
    assert old == {"enabled": 1, "failure": 1, "pid": 42, "rate_limit": 0, "backlog_limit": 320,
                   "lost": 0, "backlog": 0}
    assert parse_status("") == {} and parse_status("The audit system is disabled\n") == {}


@pytest.mark.parametrize("machine, config, cmdline, expected", [
    ("x86_64", "CONFIG_IA32_EMULATION=y\n", "", True),
    ("x86_64", "# CONFIG_IA32_EMULATION is not set\n", "", False),
    ("x86_64", "CONFIG_IA32_EMULATION=y\nCONFIG_IA32_EMULATION_DEFAULT_DISABLED=y\n", "", False),
    ("x86_64", "CONFIG_IA32_EMULATION=y\nCONFIG_IA32_EMULATION_DEFAULT_DISABLED=y\n", "ro ia32_emulation=1", True),
    ("x86_64", "CONFIG_IA32_EMULATION=y\n", "quiet ia32_emulation=false", False),
    ("aarch64", "CONFIG_COMPAT=y\n", "", True),
    ("aarch64", "# CONFIG_COMPAT is not set\n", "", False),
    ("s390x", None, "", None),
])
def test_compat_from_kernel_config(machine, config, cmdline, expected):
    assert compat_from_config(machine, config, cmdline) is expected


def test_unknown_compat_assumes_32bit_on_x86_64_only():
    assert HostArch("x86_64", compat=None).arches("auto") == ["b64", "b32"]
    assert HostArch("s390x", compat=None).arches("auto") == ["b64", "b32"]
    assert HostArch("aarch64", compat=None).arches("auto") == ["b64"]
    assert HostArch("ppc64le", compat=None).table("b32") == "ppc"


def test_this_host():
    host = HostArch()
    config = _rulehost.read_kernel_config()
    if host.machine == "x86_64" and config and "CONFIG_IA32_EMULATION=y" in config:
        assert host.compat is True and host.arches("auto") == ["b64", "b32"]


# ---- Python 3.6+ on the target ---------------------------------------------------------------

SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.auditfleet.auditd.plugins.module_utils import _rulecheck, _rulehost, _rulemodel, _rulesdir, _ruletext
# every file of the rule engine imports (the module imports _ruleset, which imports the rest)
from ansible_collections.auditfleet.auditd.plugins.module_utils import _auditctl, _rulecontrols, _ruleset  # noqa: F401
host = _rulehost.HostArch("x86_64", compat=True)
items = json.loads(sys.argv[2])
rules = _rulecheck.validate_rules(items, host)
out = {"render": [r.render() for r in rules], "listing": [r.listing() for r in rules],
       "file": _rulesdir.render_file("x", rules),
       "parsed": [repr(_ruletext.parse_rule_line(r.listing(), host).canon()) for r in rules]}
try:
    _rulecheck.validate_rules([{"syscalls": ["kil"], "key": "k" * 40}], host)
except _rulemodel.AuditRuleError as e:
    out["errors"] = e.result["errors"]
# rule text, skip on this host (its paths, /proc/kallsyms read for a kernel said to be 4.18),
# and the presets of its audit package
from ansible_collections.auditfleet.auditd.plugins.module_utils import _presets
text = ("-b 8192\n-a always,exit -F arch=b64 -S openat -F a2&0100 -C obj_uid!=auid -k t\n"
        "-a always,exit -F perm=x -F path=/usr/bin/su -k p\n-w /nonexistent_afut/x -p wa -k w\n"
        "-D\n-a always,exit -F arch=b64 -S kill -F key=k # c\n")
parsed = _ruletext.rules_from_text(text)
host.release = "4.18.0"
rules, skipped = _rulecheck.validate_rule_set(
    parsed.items + [{"syscalls": ["pidfd_send_signal", "kill"], "key": "k6"}], host,
    inapplicable="skip", labels=parsed.labels + ["k6"], texts=parsed.texts + ["k6"])
out["text"] = {"items": parsed.items, "controls": parsed.controls, "errors": parsed.errors,
               "render": [r.render() for r in rules], "listing": [r.listing() for r in rules],
               "skipped": skipped, "presets": sorted(_presets.available())}
# the host report's pure parts and the shared option specs
from ansible_collections.auditfleet.auditd.plugins.module_utils import _hostreport, _ruleargs
out["hostreport"] = [_hostreport.booted_with_audit(c) for c in ("ro audit=1", "audit=1 audit=0", "ro")] + [
    list(_hostreport.AuditdConf({"Num_Logs": 5, "write_logs": True}, "/nonexistent/auditd.conf").compare()),
    sorted(_ruleargs.audit_rule_sets_spec()["sets"]["options"])]
sys.stdout.write(json.dumps(out, sort_keys=True))
"""
ITEMS = [{"syscalls": ["kill", "tkill", "tgkill"], "key": "kill_rule", "fields": ["auid>=1000", "auid!=unset", "uid=0"]},
         {"path": "/etc/passwd", "permissions": "wa", "key": "identity"},
         {"list": "exclude", "action": "never", "fields": ["msgtype=CWD"]},
         {"syscalls": ["openat"], "arch": "b64", "fields": ["exit=-EACCES", "a0&=0x10", "filetype=file"]}]


def target_pythons():
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    if os.path.exists("/usr/bin/python3"):
        found.append("/usr/bin/python3")
    return found


@pytest.mark.parametrize("python", target_pythons() or [pytest.param(None, marks=pytest.mark.skip)])
def test_model_runs_the_same_on_every_target_python(python):
    argv = ["-c", SCRIPT, COLLECTIONS, json.dumps(ITEMS)]
    mine = subprocess.run(["python3"] + argv, stdout=subprocess.PIPE, universal_newlines=True, check=True)
    res = subprocess.run([python] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == json.loads(mine.stdout)


def test_the_lock_is_never_loaded_with_the_rules():
    # -e 2 in the same auditctl -R as the rules would lock the host even when a rule is
    # rejected or missing afterwards: the lock is set on its own, after the proof
    controls = _rulecontrols.validate_controls({"immutable": True, "buffer_size": 8192})
    rules = _rulecheck.validate_rules([{"syscalls": ["kill"], "key": "k"}], _rulehost.HostArch())
    load, lock = load_plan(controls, rules)
    assert [item.render() for item in load] == ["-b 8192"] + [r.render() for r in rules]
    assert [c.render() for c in lock] == ["-e 2"]
