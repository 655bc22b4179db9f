"""Bad input to the audit_rule module: refused before anything on the host changes.

Each case runs the module for real against /etc/audit/rules.d with reload on (so a module that
validated too late would write, run augenrules and change the kernel), under the test lock.
Each must fail with a message that names what is wrong (the rule, the field or option, the
value, what is allowed), and leave rules.d (names and contents), /etc/audit/audit.rules and
`auditctl -l` exactly as they were.
"""
import pytest

from tests.unit.plugins.modules.test_audit_rule_harness import (
    HostState, needs_ansible, needs_audit, run_module)

pytestmark = [needs_ansible, needs_audit]


K = "afar_bad"


def syscall_rule(**kw):
    rule = {"syscalls": ["kill"], "key": K}
    rule.update(kw)
    return rule


def field(f):
    return [syscall_rule(arch="b64", fields=[f])]


CASES = [
    # id, module arguments (name defaults to afar-bad), substrings the message must have
    ("unknown-syscall", {"rules": [syscall_rule(syscalls=["kil"])]},
     ["rules[0] (key 'afar_bad')", "'kil' is not a syscall of arch b64 or b32", "did you mean 'kill'"]),
    ("syscall-missing-in-b32", {"rules": [syscall_rule(syscalls=["accept"])]},
     ["'accept' is not a syscall of arch b32", "i386 table", "set arch: b64"]),
    ("syscall-missing-in-b64", {"rules": [syscall_rule(syscalls=["socketcall"], arch="b64")]},
     ["'socketcall' is not a syscall of arch b64", "x86_64 table"]),
    ("syscall-number-unknown", {"rules": [syscall_rule(syscalls=["99999"], arch="b64")]},
     ["number 99999 is not a syscall of arch b64"]),
    ("syscall-number-two-abis", {"rules": [syscall_rule(syscalls=["62"])]},
     ["number 62 means a different syscall in each ABI"]),
    ("syscall-injection", {"rules": [syscall_rule(syscalls=["kill -D"])]},
     ["'kill -D' is not a syscall name"]),
    ("all-with-others", {"rules": [syscall_rule(syscalls=["all", "kill"])]}, ["'all' must be alone"]),
    # an exit rule without syscalls is on every syscall, but auditctl takes a key only after
    # -S or a path=, dir= or exe= field (found by this test: it was a failed, rolled back load)
    ("empty-syscalls", {"rules": [syscall_rule(syscalls=[])]},
     ["auditctl refuses a key", "without syscalls", "syscalls: [all]"]),
    ("no-syscalls-no-path", {"rules": [{"key": K}]}, ["auditctl refuses a key"]),
    ("syscalls-not-a-list", {"rules": [syscall_rule(syscalls="kill")]},
     ["syscalls must be a list of syscall names, got str 'kill'"]),
    ("syscalls-element-mapping", {"rules": [syscall_rule(syscalls=[{"name": "kill"}])]},
     ["is a mapping, not a syscall name"]),
    ("unknown-field", {"rules": field("uidd=0")}, ["field 'uidd=0'", "unknown field name 'uidd'", "did you mean 'uid'"]),
    ("loginuid_set-unknown-to-3.0.9", {"rules": field("loginuid_set=1")}, ["unknown field name 'loginuid_set'"]),
    ("operator-arrow", {"rules": field("uid=>0")}, ["field 'uid=>0'", "operator '=>' is not one of auditctl's",
                                                    "= != < > <= >= & &="]),
    ("operator-diamond", {"rules": field("auid<>1000")}, ["operator '<>'"]),
    ("operator-bitmask-on-uid", {"rules": field("uid&0x10")}, ["operator '&' is not allowed for uid",
                                                               "allowed: = != < > <= >="]),
    ("operator-on-path", {"rules": field("path!=/etc/passwd")}, ["operator '!=' is not allowed for path"]),
    ("auid-not-a-user", {"rules": field("auid>=nosuchuser_afar")},
     ["field 'auid>=nosuchuser_afar'", "'nosuchuser_afar' is not a user name known on this host"]),
    ("uid-unset", {"rules": field("uid=4294967295")}, ["field 'uid=4294967295'", "out of range",
                                                       "-1/unset is refused by the kernel for this field"]),
    ("success-2", {"rules": field("success=2")}, ["field 'success=2'", "success takes 1", "or 0"]),
    ("perm-letters", {"rules": field("perm=rwz")}, ["field 'perm=rwz'", "use any of r, w, x, a"]),
    ("exit-errno", {"rules": field("exit=-ENOSUCH")}, ["field 'exit=-ENOSUCH'", "not an errno name"]),
    ("not-octal-pid", {"rules": field("pid=0758")}, ["field 'pid=0758'", "auditctl would read it as 61"]),
    ("trailing-garbage", {"rules": field("uid=12abc")}, ["field 'uid=12abc'", "auditctl would read it as 12"]),
    ("a0-over-32-bits", {"rules": field("a0=0x100000000")}, ["field 'a0=0x100000000'", "does not fit in 32 bits"]),
    ("filetype-number", {"rules": field("filetype=32768")}, ["'32768' is not a file type", "use one of block, character, dir, fifo, file, link, socket"]),
    ("exe-relative", {"rules": field("exe=usr/bin/kill")}, ["field 'exe=usr/bin/kill'", "not an absolute path"]),
    ("path-field-dir", {"rules": field("path=/etc/")}, ["ends with /", "use dir="]),
    ("field-value-injection", {"rules": field("exe=/usr/bin/x -F key=y")},
     ["field 'exe=/usr/bin/x -F key=y'", "whitespace"]),
    ("field-newline-injection", {"rules": field("uid=0\n-D")}, ["field 'uid=0\\n-D' contains a control character"]),
    ("msgtype-on-exit", {"rules": field("msgtype=CWD")}, ["msgtype can only be used on the user and exclude lists"]),
    ("key-as-field", {"rules": field("key=x")}, ["field 'key=x'", "`key` option"]),
    ("arch-as-field", {"rules": field("arch=b32")}, ["field 'arch=b32'", "`arch` option"]),
    ("field-mapping-no-value", {"rules": field({"name": "uid"})}, ["needs name and value"]),
    ("field-mapping-extra-key", {"rules": field({"name": "uid", "value": 0, "operator": "="})},
     ["unknown keys operator"]),
    ("field-wrong-type", {"rules": field(5)}, ["field 5 must be a string such as 'auid>=1000'"]),
    ("fields-not-a-list", {"rules": [syscall_rule(fields="uid=0")]}, ["fields must be a list"]),
    ("key-32-bytes", {"rules": [syscall_rule(key="k" * 32)]}, ["is 32 bytes long: the kernel allows at most 31"]),
    ("key-utf8-32-bytes", {"rules": [syscall_rule(key="\u00e9" * 16)]}, ["is 32 bytes long"]),
    ("key-space-injection", {"rules": [syscall_rule(key="k -D")]}, ["key 'k -D' contains whitespace"]),
    ("key-newline-injection", {"rules": [syscall_rule(key="k\n-D")]}, ["key 'k\\n-D' contains a control character ('\\n' at position 1)"]),
    ("key-control-char", {"rules": [syscall_rule(key="k\x01")]}, ["control character"]),
    ("key-quote", {"rules": [syscall_rule(key='k"x')]}, ["quote or backslash"]),
    ("key-not-a-string", {"rules": [syscall_rule(key=5)]}, ["key must be a string, got integer 5"]),
    ("key-empty", {"rules": [syscall_rule(key="")]}, ["key must not be empty"]),
    ("watch-relative", {"rules": [{"path": "etc/passwd", "key": K}]}, ["path 'etc/passwd' is not an absolute path"]),
    ("watch-newline-injection", {"rules": [{"path": "/etc/passwd\n-D", "key": K}]},
     ["path '/etc/passwd\\n-D' contains a control character"]),
    ("watch-space", {"rules": [{"path": "/etc/pass wd", "key": K}]}, ["whitespace"]),
    ("watch-wildcard", {"rules": [{"path": "/etc/*.conf", "key": K}]}, ["wildcard"]),
    ("watch-with-syscalls", {"rules": [{"path": "/etc/passwd", "syscalls": ["kill"], "key": K}]},
     ["a watch rule (path) cannot have syscalls"]),
    ("watch-with-arch", {"rules": [{"path": "/etc/passwd", "arch": "b64", "key": K}]}, ["cannot have arch"]),
    ("watch-permissions", {"rules": [{"path": "/etc/passwd", "permissions": "rwq", "key": K}]},
     ["permissions 'rwq' is not allowed: use any of r, w, x, a"]),
    ("list-user-with-syscalls", {"rules": [syscall_rule(list="user", fields=["uid=0"])]},
     ["the user list does not take syscalls"]),
    ("list-exclude-with-syscalls", {"rules": [{"list": "exclude", "syscalls": ["kill"], "fields": ["msgtype=CWD"]}]},
     ["the exclude list does not take syscalls"]),
    ("key-on-exclude", {"rules": [{"list": "exclude", "fields": ["msgtype=CWD"], "key": K}]},
     ["auditctl refuses a key on the exclude list"]),
    ("exclude-without-fields", {"rules": [{"list": "exclude", "action": "never"}]}, ["would match every event"]),
    ("arch-on-task", {"rules": [{"list": "task", "arch": "b64", "fields": ["uid=0"]}]},
     ["only rules of the exit list take arch"]),
    ("filesystem-without-fstype", {"rules": [{"list": "filesystem", "action": "never"}]}, ["needs an fstype field"]),
    ("io_uring-on-3.0.9", {"rules": [{"list": "io_uring", "syscalls": ["openat"], "key": K}]},
     ["list io_uring needs audit userspace 3.1 or later; this host has auditctl 3.0.9"]),
    ("bad-action", {"rules": [syscall_rule(action="sometimes")]}, ["action 'sometimes' is not allowed: use one of always, never"]),
    ("bad-list", {"rules": [syscall_rule(list="exits")]}, ["list 'exits' is not allowed: use one of exit, user"]),
    ("bad-arch", {"rules": [syscall_rule(arch="x86_64")]}, ["arch 'x86_64' is not allowed: use one of b64, b32, both, auto"]),
    ("unknown-option", {"rules": [syscall_rule(keys="x")]}, ["unknown option 'keys' (did you mean 'key'?)"]),
    # (checked by AnsibleModule: rules is a list of dicts in the argument spec)
    ("rule-not-a-mapping", {"rules": ["-a always,exit -S kill"]}, ["option 'rules'", "unable to convert to dict"]),
    ("duplicate-rules", {"rules": [syscall_rule(), syscall_rule(syscalls=["kill", "kill"])]},
     ["rules[1] (key 'afar_bad')", "same kernel rule as rules[0]"]),
    ("name-with-space", {"name": "Kill Rules", "rules": [syscall_rule()]}, ["name 'Kill Rules' is not allowed"]),
    ("name-path-traversal", {"name": "../../etc/x", "rules": [syscall_rule()]}, ["name '../../etc/x' is not allowed"]),
    ("priority-100", {"priority": 100, "rules": [syscall_rule()]}, ["priority 100 is not allowed: use 0..99"]),
    ("priority-not-a-number", {"priority": "high", "rules": [syscall_rule()]}, ["priority"]),
    ("present-without-rules", {"rules": []}, ["rules is empty: state=present needs at least one rule"]),
    ("rules-dir-relative", {"rules_dir": "etc/audit", "rules": [syscall_rule()]}, ["rules_dir", "not an absolute path"]),
    ("state-unknown", {"state": "loaded", "rules": [syscall_rule()]}, ["state"]),
    ("reload-not-a-bool", {"reload": "sometimes", "rules": [syscall_rule()]}, ["reload"]),
]


def test_at_least_forty_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("args, needles", [pytest.param(a, n, id=i) for i, a, n in CASES])
def test_bad_input_is_refused_and_changes_nothing(host, args, needles):
    args = dict(args)
    args.setdefault("name", "afar-bad")
    res = run_module(args)
    assert res.get("failed") is True, res
    for needle in needles:
        assert needle in res["msg"], (needle, res["msg"])
    after = HostState()
    assert after == host, host.differences(after)


def test_every_problem_of_a_set_is_in_one_message(host):
    res = run_module({"name": "afar-bad", "rules": [
        syscall_rule(syscalls=["kil"]), {"path": "rel", "key": K}, syscall_rule(fields=["uid=>0"])]})
    assert res["failed"] is True and res["msg"].startswith("3 problems in the declared rules")
    assert [e.split(":")[0] for e in res["errors"]] == ["rules[0] (key 'afar_bad')"] * 1 + [
        "rules[1] (key 'afar_bad')", "rules[2] (key 'afar_bad')"]
    assert HostState() == host
