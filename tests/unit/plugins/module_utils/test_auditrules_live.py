"""The canonical form against the real auditctl and kernel of this machine.

Every rule form the module supports is validated and rendered by the model, the rendered file
is loaded with `auditctl -R`, and `auditctl -l` is read back: each listed line must have the
canonical form of its declared rule, and the model's listing() must print exactly what
auditctl printed (the forms are listed in FORMS below, as auditctl 3.0.9 prints them).
Holds the machine-wide test lock; the kernel's rule list is put back afterwards.
"""
import os
import tempfile

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import validate_rules

from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import HostArch

from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import render_file

from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_line
from tests.lib import liveaudit
from tests.unit.plugins.modules.test_audit_rule_harness import REASON, auditctl_list, guarded_host

pytestmark = pytest.mark.skipif(REASON is not None, reason="real auditd needed: %s" % REASON)

NOBODY = 4242  # a uid/gid no process of this machine has: the task/exclude rules stay inert


def forms(key):
    """(declared rule, what auditctl 3.0.9 prints for it, one line per ABI)."""
    b64 = "-a always,exit -F arch=b64"
    return [
        ({"syscalls": ["tgkill", "kill", "tkill"], "key": key, "fields": ["auid>=1000", "auid!=unset"]},
         ["%s -S kill,tkill,tgkill -F auid>=1000 -F auid!=-1 -F key=%s" % (b64, key),
          "-a always,exit -F arch=b32 -S kill,tkill,tgkill -F auid>=1000 -F auid!=-1 -F key=%s" % key]),
        ({"syscalls": ["kill"], "arch": "b64", "action": "never", "key": key, "fields": ["uid=%d" % NOBODY]},
         ["-a never,exit -F arch=b64 -S kill -F uid=%d -F key=%s" % (NOBODY, key)]),
        ({"syscalls": ["all"], "arch": "b32", "key": key, "fields": ["auid=unset", "euid>=1000"]},
         ["-a always,exit -F arch=b32 -S all -F auid=-1 -F euid>=1000 -F key=%s" % key]),
        ({"syscalls": ["62"], "arch": "b64", "key": key, "fields": ["uid=root", "gid=root", "sessionid!=unset"]},
         ["%s -S kill -F uid=0 -F gid=0 -F sessionid!=-1 -F key=%s" % (b64, key)]),
        ({"syscalls": ["kill"], "arch": "b64", "key": key,
          "fields": ["pid>=1", "ppid!=1", "pers=0", "obj_uid=0", "obj_gid=0", "fsuid=0", "sgid<5"]},
         ["%s -S kill -F pid>=1 -F ppid!=1 -F pers=0 -F obj_uid=0 -F obj_gid=0 -F fsuid=0 -F sgid<5 -F key=%s"
          % (b64, key)]),
        ({"syscalls": ["openat"], "arch": "b64", "key": key, "fields": ["exit=-EACCES", "success=0"]},
         ["%s -S openat -F exit=-EACCES -F success=0 -F key=%s" % (b64, key)]),
        ({"syscalls": ["openat"], "arch": "b64", "key": key, "fields": ["exit=-13", "uid=1"]},
         ["%s -S openat -F exit=-EACCES -F uid=1 -F key=%s" % (b64, key)]),
        ({"syscalls": ["openat"], "arch": "b64", "key": key, "fields": ["exit=EACCES", "uid=2"]},
         ["%s -S openat -F exit=13 -F uid=2 -F key=%s" % (b64, key)]),
        ({"syscalls": ["kill"], "arch": "b64", "key": key, "fields": ["a0&0x10", "a1=-1", "a2!=16", "a3<=9"]},
         ["%s -S kill -F a0&0x10 -F a1=0xFFFFFFFF -F a2!=0x10 -F a3<=0x9 -F key=%s" % (b64, key)]),
        ({"syscalls": ["openat"], "arch": "b64", "key": key, "fields": ["path=/etc/passwd", "perm=aw"]},
         ["%s -S openat -F path=/etc/passwd -F perm=wa -F key=%s" % (b64, key)]),
        ({"syscalls": ["openat"], "arch": "b64", "key": key, "fields": ["dir=/etc/", "perm=r", "filetype=dir"]},
         ["%s -S openat -F dir=/etc/ -F perm=r -F filetype=16384 -F key=%s" % (b64, key)]),
        ({"syscalls": ["all"], "arch": "b64", "key": key, "fields": ["path=/etc/hosts", "perm=wa"]},
         ["%s -S all -F path=/etc/hosts -F perm=wa -F key=%s" % (b64, key)]),
        ({"syscalls": ["kill"], "arch": "b64", "key": key, "fields": ["exe=/usr/bin/kill", "filetype!=file"]},
         ["%s -S kill -F exe=/usr/bin/kill -F filetype!=32768 -F key=%s" % (b64, key)]),
        ({"syscalls": ["openat"], "arch": "b64", "key": key,
          "fields": ["inode=12", "devmajor=0x8", "devminor=1", "subj_type=unconfined_t"]},
         ["%s -S openat -F inode=12 -F devmajor=8 -F devminor=1 -F subj_type=unconfined_t -F key=%s" % (b64, key)]),
        ({"syscalls": ["connect"], "arch": "b64", "key": key, "fields": ["saddr_fam=10"]},
         ["%s -S connect -F saddr_fam=10 -F key=%s" % (b64, key)]),
        ({"path": "/etc/passwd", "permissions": "aw", "key": key},
         ["-w /etc/passwd -p wa -k %s" % key]),
        ({"path": "/etc/ssh/", "permissions": "wa", "key": key},
         ["-w /etc/ssh -p wa -k %s" % key]),
        ({"path": "/etc/group", "key": key},
         ["-w /etc/group -p rwxa -k %s" % key]),
        ({"list": "exclude", "action": "never", "fields": ["msgtype=user_tty", "uid=%d" % NOBODY]},
         ["-a never,exclude -F msgtype=USER_TTY -F uid=%d" % NOBODY]),
        ({"list": "exclude", "action": "always", "fields": ["msgtype>=1300", "auid=%d" % NOBODY]},
         ["-a always,exclude -F msgtype>=SYSCALL -F auid=%d" % NOBODY]),
        ({"list": "user", "action": "never", "fields": ["exe=/usr/bin/true"], "key": key},
         ["-a never,user -F exe=/usr/bin/true -F key=%s" % key]),
        ({"list": "task", "action": "never", "fields": ["uid=%d" % NOBODY]},
         ["-a never,task -F uid=%d" % NOBODY]),
        ({"list": "filesystem", "action": "never", "fields": ["fstype=debugfs"], "key": key},
         ["-a never,filesystem -F fstype=debugfs -F key=%s" % key]),
    ]


# auditctl 3.0.9 prints exe!=X as exe=X: the one form whose listing the model cannot match.
QUIRKS = [({"syscalls": ["tkill"], "arch": "b64", "fields": ["exe!=/usr/bin/kill"]},
           "-a always,exit -F arch=b64 -S tkill -F exe=/usr/bin/kill -F key=%s")]


@pytest.fixture(scope="module")
def loaded():
    key = liveaudit.new_key("afrl")
    table = forms(key)
    quirk_items = []
    for item, line in QUIRKS:
        item = dict(item, key=key)
        quirk_items.append((item, line % key))
    host = HostArch()
    with guarded_host() as before:
        declared = []
        expected = []
        for item, lines in table + [(i, [line]) for i, line in quirk_items]:
            rules = validate_rules([item], host)
            assert len(rules) == len(lines), (item, [r.render() for r in rules])
            declared.extend(rules)
            expected.extend(lines)
        fd, path = tempfile.mkstemp(suffix=".rules")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(render_file("afrl", declared))
            res = liveaudit.run([liveaudit.AUDITCTL, "-R", path], check=False)
        finally:
            os.unlink(path)
        listed = [line for line in auditctl_list() if line not in before.kernel]
        yield {"declared": declared, "expected": expected, "listed": listed, "load": res,
               "quirks": len(quirk_items)}


def test_the_rendered_file_loads(loaded):
    assert loaded["load"].returncode == 0, loaded["load"].stderr
    assert len(loaded["listed"]) == len(loaded["declared"])


def _pairs(loaded):
    """(declared rule, expected line, listed line) matched by canonical form.

    The kernel keeps one list per filter (user, task, exit, exclude, filesystem) and auditctl
    prints them list by list, so the order of auditctl -l is not the file's order."""
    host = HostArch()
    by_canon = {}
    for line in loaded["listed"]:
        by_canon.setdefault(parse_rule_line(line, host).canon(), []).append(line)
    out = []
    assert len(loaded["declared"]) == len(loaded["expected"])
    for rule, expected in zip(loaded["declared"], loaded["expected"]):  # noqa: B905 (py3.6..3.9 too)
        found = by_canon.get(rule.canon(), [])
        assert len(found) == 1, (rule.render(), found, loaded["listed"])
        out.append((rule, expected, found[0]))
    return out


def test_auditctl_prints_each_rule_in_the_documented_form(loaded):
    for _rule, expected, listed in _pairs(loaded):
        assert listed == expected
    assert sorted(loaded["listed"]) == sorted(loaded["expected"])


def test_listing_emulates_auditctl_exactly(loaded):
    pairs = _pairs(loaded)
    n = len(pairs) - loaded["quirks"]
    for rule, _expected, listed in pairs[:n]:
        assert rule.listing() == listed


def test_every_listed_line_parses_to_a_rule(loaded):
    host = HostArch()
    assert all(parse_rule_line(line, host).kind != "raw" for line in loaded["listed"])


def test_exe_not_equal_is_printed_as_equal_by_auditctl_3_0_9(loaded):
    rule, expected, listed = _pairs(loaded)[-1]
    assert "-F exe!=/usr/bin/kill" in rule.render() and "-F exe=/usr/bin/kill" in listed
