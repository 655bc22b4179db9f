"""Hostile input to audit_rule on the real auditd: control characters, FIFOs, hanging
commands, planted symbolic links, temporary files a killed run left behind.

Each case runs the module for real (its main(), as Ansible would) against
/etc/audit/rules.d with reload on, under the machine-wide test lock, and where it makes sense
in check mode too. The `host` fixture puts rules.d, /etc/audit/audit.rules and `auditctl -l`
back and checks that they are exactly as before. Where a program has to hang or a run has to
die, a stand-in for auditctl or augenrules is put first in PATH (the module resolves programs
with get_bin_path, which searches PATH first); it runs the real auditctl for everything else.
"""
import json
import os
import re
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _command, _rulesdir
from tests.lib import liveaudit
from tests.unit.plugins.modules.test_audit_rule_harness import (
    AUDITCTL, RULES_DIR, HostState, needs_ansible, needs_audit, run_module, run_module_subprocess)

pytestmark = [needs_ansible, needs_audit]

K = "afar_hostile"
CONTROL = re.compile(u"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MODES = [pytest.param(True, id="check"), pytest.param(False, id="real")]


def kill_rule(**kw):
    rule = {"syscalls": ["kill"], "arch": "b64", "key": K}
    rule.update(kw)
    return rule


def args_of(name="afar-hostile", **kw):
    args = {"name": name, "rules": [kill_rule()]}
    args.update(kw)
    return args


# ansible-core 2.21 (not 2.16) logs a module's string options to syslog before the module runs,
# and refuses the task when one holds a NUL: the module never sees the value.
ANSIBLE_SYSLOG_NUL = "Failed to log to syslog (embedded null character)"


def refused(res, needles, host):
    assert res.get("failed") is True, res
    if not res["msg"].startswith(ANSIBLE_SYSLOG_NUL):
        for needle in needles:
            assert needle in res["msg"], (needle, res["msg"])
    assert not CONTROL.search(res["msg"]), "the message shows a raw control character: %r" % res["msg"]
    after = HostState()
    assert after == host, host.differences(after)


# ---- 1. control characters, a trailing newline above all ------------------------------------

CONTROL_CASES = [
    ("name-trailing-newline", args_of(name="afar-x\n"),
     ["name 'afar-x\\n' contains a control character ('\\n' at position 6)"]),
    ("name-nul", args_of(name="afar\x00x"), ["name 'afar\\x00x' contains a control character"]),
    ("field-mapping-value-newline", args_of(rules=[kill_rule(fields=[{"name": "uid", "value": "0\n"}])]),
     ["value '0\\n' contains a control character"]),
    ("field-mapping-name-newline", args_of(rules=[kill_rule(fields=[{"name": "uid\n", "value": "0"}])]),
     ["name 'uid\\n' contains a control character"]),
    ("field-mapping-op-newline", args_of(rules=[kill_rule(fields=[{"name": "uid", "op": "=\n", "value": "0"}])]),
     ["op '=\\n' contains a control character"]),
    ("field-string-trailing-newline", args_of(rules=[kill_rule(fields=["uid=0\n"])]),
     ["field 'uid=0\\n' contains a control character"]),
    ("field-number-trailing-newline", args_of(rules=[kill_rule(fields=[{"name": "a0", "value": "0x10\n"}])]),
     ["value '0x10\\n' contains"]),
    ("field-dir-tab", args_of(rules=[kill_rule(fields=["dir=/etc\t"])]), ["'dir=/etc\\t' contains a control character"]),
    ("field-exe-del", args_of(rules=[kill_rule(fields=["exe=/usr/bin/x\x7f"])]), ["contains a control character ('\\x7f'"]),
    ("syscall-trailing-newline", args_of(rules=[kill_rule(syscalls=["kill\n"])]),
     ["syscalls: 'kill\\n' contains a control character"]),
    ("key-trailing-newline", args_of(rules=[kill_rule(key="afar_k\n")]), ["key 'afar_k\\n' contains a control character"]),
    ("key-escape-sequence", args_of(rules=[kill_rule(key="afar\x1b[31m")]), ["key 'afar\\x1b[31m' contains"]),
    ("key-c1-next-line", args_of(rules=[kill_rule(key="afar\x85k")]), ["key 'afar\\x85k' contains"]),
    ("watch-path-trailing-newline", args_of(rules=[{"path": "/etc/passwd\n", "key": K}]),
     ["path '/etc/passwd\\n' contains a control character"]),
    ("watch-path-line-separator", args_of(rules=[{"path": "/etc/pass\u2028wd", "key": K}]),
     ["path '/etc/pass\\u2028wd' contains"]),
    ("watch-permissions-newline", args_of(rules=[{"path": "/etc/passwd", "permissions": "wa\n", "key": K}]),
     ["permissions 'wa\\n' is not allowed"]),
    ("arch-newline", args_of(rules=[kill_rule(arch="b64\n")]), ["arch 'b64\\n' is not allowed"]),
    ("rules-dir-trailing-newline", args_of(rules_dir=RULES_DIR + "\n"),
     ["rules_dir '/etc/audit/rules.d\\n' contains a control character"]),
]


@pytest.mark.parametrize("check_mode", MODES)
@pytest.mark.parametrize("args, needles", [pytest.param(a, n, id=i) for i, a, n in CONTROL_CASES])
def test_a_control_character_is_refused_naming_the_field(host, args, needles, check_mode):
    res = run_module(args, check_mode=check_mode)
    refused(res, needles, host)


def test_a_yaml_block_scalar_name_writes_nothing_even_without_reload(host):
    """`name: |` adds a newline: the file 50-x\\n.rules used to be written (its header wrapped
    into a rule line) and stayed, breaking every later load of the directory."""
    res = run_module(args_of(name="afar-block\n", reload=False))
    refused(res, ["name 'afar-block\\n'"], host)
    assert not [n for n in os.listdir(RULES_DIR) if "afar-block" in n]


# ---- 3. special files, hanging commands ------------------------------------------------------

@pytest.mark.parametrize("check_mode", MODES)
@pytest.mark.parametrize("where", ["own-path", "other-file"])
def test_a_fifo_in_rules_dir_is_refused_without_blocking(host, check_mode, where):
    key = liveaudit.new_key("afar")
    name = "afar-fifo"
    fifo = os.path.join(RULES_DIR, "50-%s.rules" % name if where == "own-path" else "99-afar-%s.rules" % key)
    os.mkfifo(fifo, 0o600)
    try:
        args = dict(args_of(name=name, rules=[kill_rule(key=key)]), check=check_mode)
        try:
            res = run_module_subprocess(args, timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("the module blocked on the FIFO %s" % fifo)
        assert res.get("failed") is True, res
        assert fifo in res["msg"] and "FIFO" in res["msg"] and "not a regular file" in res["msg"], res["msg"]
    finally:
        _unblock_and_remove(fifo)
    after = HostState()
    assert after == host, host.differences(after)


def _unblock_and_remove(fifo):
    """Remove the FIFO; a reader stuck in it (the old code, a cat of augenrules) gets EOF."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    except OSError:
        pass
    os.unlink(fifo)


STAND_IN = """#!/bin/sh
# a stand-in for %(tool)s: hangs (with a child in its process group) on %(hang)s, else runs the real one
echo "run $$ $*" >> %(log)s
for a in "$@"; do
  if [ "$a" = "%(hang)s" ]; then
    echo "hang $$" >> %(log)s
    sleep 60 &
    echo "child $!" >> %(log)s
    wait
    exit 0
  fi
done
exec %(real)s "$@"
"""


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """stand_in(tool, hang_on): put a stand-in for TOOL first in PATH; returns its log path."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ.get("PATH", "")))
    made = []

    def make(tool, hang, real):
        log = str(tmp_path / ("%s.log" % tool))
        path = bindir / tool
        path.write_text(STAND_IN % {"tool": tool, "hang": hang, "log": log, "real": real})
        path.chmod(0o755)
        made.append(log)
        return log

    yield make
    for log in made:   # nothing the stand-ins started may outlive the test
        _kill_hung(log)


def _pids(log):
    """The pids of the stand-in's hanging shells and their sleep children."""
    return [int(line.split()[1]) for line in _lines(log) if line.split()[0] in ("hang", "child")]


def _kill_hung(log):
    """Kill what the stand-in left hanging, by pid, and only if that pid is still one of its
    processes (the stand-in's shell or its `sleep 60`), never a pid that was reused."""
    for pid in _pids(log):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read().split(b"\0")
        except IOError:
            continue
        if cmdline[:2] == [b"sleep", b"60"] or any(os.path.dirname(log).encode() in a for a in cmdline):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except IOError:
        return False


def test_a_hanging_load_times_out_names_the_command_and_rolls_back(host, stand_in, monkeypatch):
    log = stand_in("augenrules", "--load", "/usr/sbin/augenrules")
    monkeypatch.setattr(_command, "CHANGE_TIMEOUT", 3)
    started = time.time()
    res = run_module(args_of(rules=[kill_rule(key=liveaudit.new_key("afar"))]))
    took = time.time() - started
    assert res["failed"] is True and res["rolled_back"] is True, res
    assert "augenrules --load did not finish within 3 s and was killed" in res["msg"], res["msg"]
    assert took < 60, took
    pids = _pids(log)
    assert len(pids) >= 2 and not any(_alive(pid) for pid in pids), "the stand-in or its child survived"
    after = HostState()
    assert after == host, host.differences(after)


@pytest.mark.parametrize("check_mode", MODES)
def test_a_hanging_status_query_fails_before_anything_changes(host, stand_in, monkeypatch, check_mode):
    stand_in("auditctl", "-s", AUDITCTL)
    monkeypatch.setattr(_command, "QUERY_TIMEOUT", 2)
    res = run_module(args_of(), check_mode=check_mode)
    refused(res, ["auditctl -s did not finish within 2 s and was killed", "nothing was changed"], host)


# ---- 4. symbolic links -------------------------------------------------------------------------

@pytest.mark.parametrize("check_mode", MODES)
def test_a_symlink_at_the_rule_path_is_refused_and_never_read(host, tmp_path, check_mode):
    secret = tmp_path / "secret"
    secret.write_text("-w /etc/afar-secret-content -p wa\n")
    before = (secret.read_bytes(), secret.stat().st_mtime)
    link = os.path.join(RULES_DIR, "50-afar-link.rules")
    os.symlink(str(secret), link)
    try:
        res = run_module(args_of(name="afar-link", backup=True), check_mode=check_mode, diff=True)
        assert res.get("failed") is True, res
        assert "is a symbolic link to %s" % secret in res["msg"] and "refused" in res["msg"], res["msg"]
        assert "afar-secret-content" not in json.dumps(res)
        assert (secret.read_bytes(), secret.stat().st_mtime) == before
        assert os.path.islink(link) and not [n for n in os.listdir(RULES_DIR) if "afar-link.rules." in n]
    finally:
        os.unlink(link)
    after = HostState()
    assert after == host, host.differences(after)


def test_a_backup_never_follows_a_link_planted_at_its_name(host, tmp_path):
    """ansible's backup_local names the copy FILE.PID.TIME~ and copies through a link found
    there; every such name for the next seconds is planted, pointing at a victim file."""
    args = args_of(name="afar-bak", rules=[kill_rule(key=liveaudit.new_key("afar"))])
    res = run_module(args)
    assert not res.get("failed"), res["msg"]
    with open(res["path"], "rb") as f:
        old = f.read()
    victim = tmp_path / "victim"
    victim.write_text("victim\n")
    now = time.time()
    planted = ["%s.%d.%s~" % (res["path"], os.getpid(), time.strftime("%Y-%m-%d@%H:%M:%S", time.localtime(now + s)))
               for s in range(-1, 15)]
    for p in planted:
        os.symlink(str(victim), p)
    try:
        res = run_module(dict(args, rules=args["rules"] + [{"path": "/etc/passwd", "permissions": "wa", "key": K}],
                              backup=True))
        assert not res.get("failed"), res["msg"]
        assert victim.read_text() == "victim\n"
        bak = res["backup_file"]
        assert bak not in planted and stat.S_ISREG(os.lstat(bak).st_mode)
        assert re.match(r"\A%s\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d\.[a-z0-9_]{8}~\Z" % re.escape(res["path"]), bak), bak
        with open(bak, "rb") as f:
            assert f.read() == old
        assert oct(os.lstat(bak).st_mode & 0o7777) == oct(0o640)
    finally:
        for p in planted:
            os.unlink(p)
        for n in os.listdir(RULES_DIR):
            if n.startswith("50-afar-bak.rules."):
                os.unlink(os.path.join(RULES_DIR, n))


# ---- 5. temporary files a killed run left ------------------------------------------------------

def _plant(path, age, uid=None):
    with open(path, "w") as f:
        f.write("-D\n")
    if uid is not None:
        os.chown(path, uid, uid)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


def test_stale_temp_files_of_the_module_are_removed_and_nothing_else(host, tmp_path):
    tmp = tempfile.gettempdir()
    etc = os.path.dirname(_rulesdir.AUDIT_RULES)
    stale = [_plant(os.path.join(tmp, "auditfleet-rules-afar0001.rules"), 600),
             _plant(os.path.join(tmp, "auditfleet-restore-afar0002.rules"), 600),
             _plant(os.path.join(RULES_DIR, ".audit_rule-afar0003.tmp"), 600),
             _plant(os.path.join(etc, ".audit_rule-afar0004.tmp"), 600)]
    victim = tmp_path / "victim"
    victim.write_text("victim\n")
    link = os.path.join(tmp, "auditfleet-rules-afar0005.rules")
    os.symlink(str(victim), link)
    os.utime(link, (time.time() - 600, time.time() - 600), follow_symlinks=False)
    kept = [_plant(os.path.join(tmp, "auditfleet-rules-afar0006.rules"), 0),         # fresh
            _plant(os.path.join(tmp, "auditfleet-rules-afar0007.rules.bak"), 600),   # not a name of ours
            _plant(os.path.join(tmp, "auditfleet-rules-afar0008.rules"), 600, uid=65534),  # not our user
            link]
    try:
        res = run_module(args_of(rules=[kill_rule(key=liveaudit.new_key("afar"))]), check_mode=True)
        assert not res.get("failed") and all(os.path.lexists(p) for p in stale + kept), "check mode removed files"
        res = run_module(args_of(rules=[kill_rule(key=liveaudit.new_key("afar"))]))
        assert not res.get("failed"), res["msg"]
        assert [p for p in stale if os.path.lexists(p)] == []
        assert all(os.path.lexists(p) for p in kept) and victim.read_text() == "victim\n"
        assert any("temporary file(s) that an interrupted audit_rule run left" in w
                   and all(p in w for p in stale) for w in res["warnings"]), res["warnings"]
    finally:
        for p in stale + kept:
            if os.path.lexists(p):
                os.unlink(p)


def test_a_run_killed_with_9_leaves_a_temp_file_the_next_run_removes(host, tmp_path, stand_in):
    log = stand_in("auditctl", "-R", AUDITCTL)
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    args = args_of(rules=[kill_rule(key=liveaudit.new_key("afar"))], rules_dir=str(rules_dir))
    proc = run_module_subprocess(args, cwd="/")
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not [line for line in _lines(log) if " -R " in line]:
            time.sleep(0.1)
        loading = [line for line in _lines(log) if " -R " in line]
        assert loading, "the module never ran auditctl -R: %s" % (proc.poll(),)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        _kill_hung(log)
    left = loading[0].split(" -R ")[1].split()[0]
    assert os.path.basename(left).startswith("auditfleet-rules-") and os.path.exists(left)
    os.utime(left, (time.time() - 120, time.time() - 120))   # a minute later
    os.unlink(str(tmp_path / "bin" / "auditctl"))            # the real auditctl again
    res = run_module(args)
    assert not res.get("failed"), res["msg"]
    assert not os.path.exists(left)
    assert any(left in w for w in res["warnings"]), res["warnings"]
    assert res["loaded"] is True
    res = run_module(dict(args, state="absent"))
    assert not res.get("failed") and res["loaded"] is True


def _lines(log):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return f.read().splitlines()
