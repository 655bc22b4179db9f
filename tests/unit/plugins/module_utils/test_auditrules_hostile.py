"""Hostile input to the rule model and to the helpers the audit_rule module runs on: whole-string
validation, the command runner (timeouts, process groups), and file access that never blocks on
a FIFO and never follows a planted symbolic link. No auditctl, no host lock: pure functions and
files in a temporary directory. The module-level cases are in
tests/unit/plugins/modules/test_audit_rule_hostile.py.
"""
import os
import re
import stat
import sys
import time

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import (
    _auditctl, _command, _files, _rulecheck, _rulehost, _rulemodel, _rulesdir, _ruleset)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import validate_rules
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import HostArch
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError, WatchRule
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import render_file

X86 = HostArch("x86_64", compat=True)
HERE = os.path.dirname(os.path.abspath(__file__))
PLUGINS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "plugins"))


def errors_of(items):
    with pytest.raises(AuditRuleError) as e:
        validate_rules(items, X86)
    return e.value.result["errors"]


# ---- whole strings, no control characters ------------------------------------------------------

def test_no_pattern_of_the_rule_engine_anchors_with_dollar():
    """`$` also matches before a final newline: 'x\\n' passed ^[a-z]+$. Every pattern of the
    engine anchors its end with \\Z (or is a prefix test)."""
    offenders = []
    engine = sorted("module_utils/" + name for name in os.listdir(os.path.join(PLUGINS, "module_utils"))
                    if name.startswith("_rule"))
    assert len(engine) >= 7, engine
    for rel in engine + ["module_utils/_auditctl.py", "module_utils/_command.py",
                         "module_utils/_files.py", "modules/audit_rule.py"]:
        with open(os.path.join(PLUGINS, rel)) as f:
            for number, line in enumerate(f, 1):
                for literal in re.findall(r"""re\.\w+\(\s*u?r?(["'])(.*?)\1""", line):
                    if literal[1].endswith("$") and not literal[1].endswith("\\$"):
                        offenders.append("%s:%d: %s" % (rel, number, line.strip()))
    assert offenders == []


@pytest.mark.parametrize("text", ["5\n", "0x10\n", "1000\n", "-1\n"])
def test_numbers_are_matched_as_whole_strings(text):
    with pytest.raises(_rulemodel._Invalid):
        _rulemodel._parse_int(text, "a number")


@pytest.mark.parametrize("bad", ["x\n", "x\r", "x\x00", "x\t", "\nx", "x\x1b", "x\x7f", "x\x85", "x\u2028"])
def test_control_characters_are_named_and_shown_escaped(bad):
    problem = _rulemodel.control_problem(bad)
    assert problem.startswith(repr(bad)) and "control character" in problem
    assert repr(bad[1] if bad[0] == "x" else bad[0]) in problem
    assert not _rulemodel._CONTROL_RE.search(problem)
    assert _rulecheck.check_name("afar" + bad).startswith("name %r contains a control character" % ("afar" + bad))
    assert _rulecheck.check_key("k" + bad).startswith("key %r contains a control character" % ("k" + bad))


def test_every_declared_string_is_checked_whole():
    cases = [
        ([{"syscalls": ["kill\n"], "arch": "b64"}], "syscalls: 'kill\\n' contains a control character"),
        ([{"syscalls": ["kill"], "arch": "b64", "fields": ["uid=0\n"]}], "field 'uid=0\\n' contains"),
        ([{"syscalls": ["kill"], "arch": "b64", "fields": [{"name": "uid", "value": "0\n"}]}],
         "value '0\\n' contains a control character"),
        ([{"syscalls": ["kill"], "arch": "b64", "fields": [{"name": "auid", "value": "root\n"}]}], "value 'root\\n'"),
        ([{"syscalls": ["kill"], "arch": "b64", "fields": [{"name": "uid", "value": "roo\x00t"}]}], "value 'roo\\x00t'"),
        ([{"syscalls": ["kill"], "arch": "b64", "fields": ["exit=-EPERM\n"]}], "field 'exit=-EPERM\\n'"),
        ([{"syscalls": ["kill"], "arch": "b64", "fields": ["msgtype=CWD\n"], "list": "user"}], "msgtype=CWD\\n"),
        ([{"path": "/etc/passwd\n"}], "path '/etc/passwd\\n' contains a control character"),
        ([{"path": "/etc/passwd", "permissions": "wa\n"}], "permissions 'wa\\n' is not allowed"),
        ([{"syscalls": ["kill"], "action": "always\n"}], "action 'always\\n' is not allowed"),
    ]
    for items, needle in cases:
        errs = errors_of(items)
        assert any(needle in e for e in errs), (items, errs)


def test_rendering_refuses_a_line_that_would_split():
    # validation never lets this through; render_file checks its output once more
    with pytest.raises(AuditRuleError) as e:
        render_file("x", [WatchRule("/etc/a\n-D", "wa")])
    assert "nothing was written" in e.value.msg and "'\\n'" in e.value.msg
    with pytest.raises(AuditRuleError):
        _rulesdir.rule_file_name("x\n", 50)


def test_file_names_with_other_digits_sort_without_crashing():
    # "²" is a digit to str.isdigit() but not to int(): ls -v order must not raise on it
    assert _rulesdir.sorted_rule_files(["5\u00b20.rules", "10-a.rules", "9-b.rules"]) == [
        "5\u00b20.rules", "9-b.rules", "10-a.rules"]


def test_own_file_pattern_and_status_keys_are_whole_strings():
    assert _auditctl.parse_status("enabled 1\nfoo\n 2\n") == {"enabled": 1}
    assert _rulesdir.managed_name(_rulesdir.MANAGED_HEADER % "x" + "\n") == "x"


# ---- the command runner -----------------------------------------------------------------------

def test_commands_run_with_lc_all_c_and_an_argument_list(tmp_path):
    rc, out, err = _command.run(["/usr/bin/env"])
    assert rc == 0 and "LC_ALL=C" in out.splitlines()
    rc, out, err = _command.run(["/bin/echo", "a b; rm -rf /tmp/x", "$HOME"])
    assert out == "a b; rm -rf /tmp/x $HOME\n"
    rc, out, err = _command.run(["/bin/cat"], data=b"in\n")
    assert (rc, out) == (0, "in\n")
    with pytest.raises(ValueError):
        _command.run(["echo", "x"])


def test_a_command_that_hangs_is_killed_with_its_process_group(tmp_path):
    pidfile = tmp_path / "pids"
    script = "sleep 60 & echo $! > %s; echo started; wait" % pidfile
    started = time.time()
    with pytest.raises(_command.CommandTimeout) as e:
        _command.run(["/bin/sh", "-c", script], timeout=1)
    took = time.time() - started
    assert took < 10, took
    assert e.value.msg.startswith("/bin/sh -c 'sleep 60") and "did not finish within 1 s and was killed" in e.value.msg
    assert e.value.stdout == "started\n"
    child = int(pidfile.read_text())
    deadline = time.time() + 5
    while os.path.exists("/proc/%d" % child) and time.time() < deadline:
        time.sleep(0.05)
    assert not os.path.exists("/proc/%d" % child) or "Z" in open("/proc/%d/stat" % child).read().split(") ")[1][:2]


def test_a_descendant_that_keeps_the_pipes_does_not_hang_the_runner(tmp_path):
    pidfile = tmp_path / "pid"
    # setsid takes the sleep out of the process group: it survives the kill and holds stdout
    script = "setsid sleep 30 & echo $! > %s; wait" % pidfile
    started = time.time()
    with pytest.raises(_command.CommandTimeout):
        _command.run(["/bin/sh", "-c", script], timeout=1)
    assert time.time() - started < 20
    pid = int(pidfile.read_text())
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        if f.read().split(b"\0")[:2] == [b"sleep", b"30"]:
            os.kill(pid, 9)


def test_messages_show_odd_arguments_escaped():
    assert _command.command_line(["/sbin/auditctl", "-R", "/tmp/a b\n"]) == "/sbin/auditctl -R '/tmp/a b\\n'"


# ---- files --------------------------------------------------------------------------------------

def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = str(tmp_path / "10-x.rules")
    os.mkfifo(fifo)
    started = time.time()
    with pytest.raises(_files.FileProblem) as e:
        _files.read_regular(fifo)
    assert "a FIFO (named pipe), not a regular file" in e.value.msg and time.time() - started < 5
    with pytest.raises(AuditRuleError) as e:
        _rulesdir.read_rules_dir(str(tmp_path))
    assert fifo in e.value.msg and "FIFO" in e.value.msg


def test_reads_refuse_links_when_asked_and_never_follow_them_to_special_files(tmp_path):
    target = tmp_path / "target"
    target.write_text("secret\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert _files.read_regular(str(link))[0] == b"secret\n"
    with pytest.raises(_files.FileProblem) as e:
        _files.read_regular(str(link), follow=False)
    assert "is a symbolic link: refused" in e.value.msg and "secret" not in e.value.msg
    os.mkfifo(str(tmp_path / "fifo"))
    (tmp_path / "fifo.rules").symlink_to(tmp_path / "fifo")
    with pytest.raises(_files.FileProblem):
        _files.read_regular(str(tmp_path / "fifo.rules"))
    assert _files.read_regular(str(tmp_path / "missing")) == (None, None)
    with pytest.raises(_files.FileProblem) as e:
        _files.read_regular(str(tmp_path))
    assert "a directory" in e.value.msg


def test_write_atomic_replaces_a_link_and_never_writes_through_it(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("victim\n")
    path = tmp_path / "50-x.rules"
    path.symlink_to(victim)
    _files.write_atomic(str(path), b"new\n", 0o640, owner=None)
    assert victim.read_text() == "victim\n"
    assert not path.is_symlink() and path.read_bytes() == b"new\n"
    assert stat.S_IMODE(os.lstat(str(path)).st_mode) == 0o640
    assert sorted(os.listdir(str(tmp_path))) == ["50-x.rules", "victim"]


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(_files.FileProblem) as e:
        _files.write_atomic(str(tmp_path / "dir"), b"x", 0o640, owner=None)
    assert "cannot write" in e.value.msg
    assert sorted(os.listdir(str(tmp_path))) == ["dir"]


def test_a_backup_name_cannot_be_guessed_and_keeps_mode_and_content(tmp_path):
    path = tmp_path / "50-x.rules"
    path.write_text("old\n")
    os.chmod(str(path), 0o640)
    st = os.stat(str(path))
    names = set()
    for _attempt in range(3):
        bak = _files.backup_copy(str(path), b"old\n", st)
        names.add(bak)
        assert re.match(r"\A%s\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d\.[a-z0-9_]{8}~\Z" % re.escape(str(path)), bak)
        assert open(bak, "rb").read() == b"old\n" and stat.S_IMODE(os.lstat(bak).st_mode) == 0o640
    assert len(names) == 3


def test_remove_stale_takes_only_old_regular_files_of_ours_and_follows_nothing(tmp_path):
    pattern = re.compile(r"auditfleet-rules-[a-z0-9_]{8}\.rules")
    old = time.time() - 600

    def plant(name, age=old):
        p = tmp_path / name
        p.write_text("x")
        os.utime(str(p), (age, age))
        return p

    gone = plant("auditfleet-rules-abcd1234.rules")
    fresh = plant("auditfleet-rules-abcd1235.rules", time.time())
    other = plant("auditfleet-rules-abcd1236.rules.keep")
    victim = plant("victim")
    link = tmp_path / "auditfleet-rules-abcd1237.rules"
    link.symlink_to(victim)
    os.utime(str(link), (old, old), follow_symlinks=False)
    removed = _files.remove_stale(str(tmp_path), pattern, 60)
    assert removed == [str(gone)]
    assert fresh.exists() and other.exists() and link.is_symlink() and victim.read_text() == "x"
    assert _files.remove_stale(str(tmp_path / "missing"), pattern, 60) == []


def test_the_lock_file_is_never_a_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("victim\n")
    link = tmp_path / "lock"
    link.symlink_to(victim)
    with pytest.raises(AuditRuleError) as e:
        with _ruleset.HostLock(path=str(link)):
            pass
    assert "cannot open the lock file" in e.value.msg and victim.read_text() == "victim\n"


@pytest.mark.skipif(sys.platform != "linux", reason="Linux /proc")
def test_kernel_config_reads_refuse_special_files(tmp_path, monkeypatch):
    os.mkfifo(str(tmp_path / "config"))
    assert _rulehost._read_small(str(tmp_path / "config")) is None
