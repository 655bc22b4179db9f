"""The host's audit state saved and put back (tests/lib/hoststate.py) on this machine's real
auditd: files of rules.d, the kernel's rules and settings, auditd.conf with a restart, auditd
stopped; the guard command as integration targets and the demo use it. Each test changes the
host inside the guard under test, which holds the machine-wide test lock."""
import os
import subprocess
import sys

import pytest

from tests.lib import hoststate, liveaudit
from tests.lib.env import ROOT

with hoststate.audit_test_lock():  # (as the audit_rule harness: not while another test has auditd stopped)
    REASON = liveaudit.audit_available()
live = pytest.mark.skipif(REASON is not None, reason="real auditd needed: %s" % REASON)
HOSTSTATE = os.path.join(ROOT, "tests", "lib", "hoststate.py")


def guard(script, **kwargs):
    """The guard command around a bash SCRIPT; returns the finished process."""
    return subprocess.run([sys.executable, HOSTSTATE, "guard", "--", "bash", "-c", script], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False, **kwargs)


@live
def test_guard_puts_back_files_rules_and_settings_and_passes_the_status():
    key = liveaudit.new_key("afhs")
    name = "99-%s.rules" % key
    with hoststate.audit_test_lock():
        before = hoststate.HostState()
    rate = "4321" if before.settings["rate_limit"] != "4321" else "4322"
    script = """set -e
    printf '%%s\\n' '-w /etc/hosts -p wa -k {key}' > /etc/audit/rules.d/{name}
    echo '# touched' >> /etc/audit/audit.rules
    auditctl -a always,exit -F arch=b64 -S kill -k {key} >/dev/null
    auditctl -r {rate} >/dev/null
    auditctl -l | grep -q {key}
    exit 3""".format(key=key, name=name, rate=rate)
    res = guard(script)
    assert res.returncode == 3, res.stdout
    assert "hoststate: putting back:" in res.stdout and name in res.stdout and "rate_limit" in res.stdout
    with hoststate.audit_test_lock():
        after = hoststate.HostState()
    assert after == before, before.differences(after)
    assert not os.path.exists(os.path.join(hoststate.RULES_DIR, name))


@live
def test_guard_puts_back_auditd_conf_with_a_restart_and_starts_a_stopped_auditd():
    script = """set -e
    echo '# afhs: a line the guard must take away' >> /etc/audit/auditd.conf
    pid=$(auditctl -s | awk '$1 == "pid" {print $2}')
    kill -TERM "$pid"
    while [ -e /proc/$pid ]; do sleep 0.1; done"""
    with hoststate.audit_test_lock():
        before = hoststate.HostState()
    res = guard(script)
    assert res.returncode == 0, res.stdout
    assert "auditd.conf differs" in res.stdout and "auditd running -> not running" in res.stdout
    with hoststate.audit_test_lock():
        after = hoststate.HostState()
    assert after == before, before.differences(after)
    assert after.running and liveaudit.audit_available() is None


@live
def test_restore_replaces_a_planted_link_without_writing_through_it(tmp_path):
    """A test (or an attacker) may leave a symlink where a rules.d file was: putting the file
    back must replace the link, not write the saved bytes into whatever it points to."""
    victim = tmp_path / "victim"
    victim.write_text("not a rule file\n")
    os.chmod(str(victim), 0o644)
    with hoststate.guarded_host() as before:
        name = sorted(n for n, e in before.files.items() if e and isinstance(e[0], bytes))[0]
        path = os.path.join(hoststate.RULES_DIR, name)
        os.rename(path, path + ".afhs-moved")
        os.symlink(str(victim), path)
        hoststate.put_entry(path + ".afhs-moved", None)
    assert victim.read_text() == "not a rule file\n"
    assert oct(os.stat(str(victim)).st_mode & 0o777) == "0o644"
    assert not os.path.islink(path) and hoststate.read_entry(path) == before.files[name]


@live
def test_guarded_host_fails_when_the_host_cannot_be_put_back(monkeypatch):
    key = liveaudit.new_key("afhs")
    monkeypatch.setattr(hoststate.HostState, "restore", lambda self: None)  # a restore that does nothing
    with pytest.raises(AssertionError) as err:
        with hoststate.guarded_host():
            hoststate.auditctl("-a", "always,exit", "-F", "arch=b64", "-S", "kill", "-k", key)
    assert "the host was not put back" in str(err.value) and key in str(err.value)
    monkeypatch.undo()
    with hoststate.audit_test_lock():
        hoststate.auditctl("-d", "always,exit", "-F", "arch=b64", "-S", "kill", "-k", key)
    assert key not in "".join(hoststate.kernel_rules())


def test_cli_usage(capsys):
    assert hoststate.main(["guard"]) == 2
    assert hoststate.main(["nonsense"]) == 2
    assert "usage: hoststate.py" in capsys.readouterr().err
