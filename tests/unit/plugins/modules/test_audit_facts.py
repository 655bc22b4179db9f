"""audit_facts on the real auditd: who killed what, RAW and ENRICHED logs, the cursor.

Each test loads kill rules keyed for itself under the machine-wide test lock, makes real
processes kill real processes (as root, as a test user with its own login uid, and as root
with the test user's login uid: the sudo case), runs the module for real and removes its
rules. The RAW test switches auditd.conf's log_format and restarts auditd, then puts both
back; the cursor test rotates the log with auditd's own signal.
"""
import os
import re
import shutil
import subprocess
import time

import pytest

from tests.lib import liveaudit
from tests.lib.auditlock import audit_test_lock
from tests.lib.modulerun import run_module

REASON = liveaudit.audit_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason="real auditd needed: %s" % REASON)

USER = "afut-facts"
KILL = shutil.which("kill", path="/usr/bin:/bin")
CONF = "/etc/audit/auditd.conf"


@pytest.fixture(scope="module")
def user():
    with audit_test_lock():
        entry, created = liveaudit.ensure_user(USER)
    yield entry
    if created:
        liveaudit.remove_user(USER)


@pytest.fixture
def keyed(user):
    """A kill rule keyed for this test, loaded under the lock; yields (key, killer)."""
    key = liveaudit.new_key("afac")
    children = []

    def kill(as_user=None, login_of=None, signal="TERM"):
        """Start a sleep (owned by AS_USER if given) and kill it as AS_USER (or root) with
        the login uid of LOGIN_OF; return the sleep's pid once auditd has logged the kill."""
        owner = liveaudit.as_user(user.pw_uid, user.pw_gid) if as_user else None
        sleeper = subprocess.Popen(["/bin/sleep", "300"], preexec_fn=owner)
        children.append(sleeper)
        time.sleep(0.05)
        prepare = liveaudit.as_user(
            uid=user.pw_uid if as_user else None, gid=user.pw_gid if as_user else None,
            loginuid=user.pw_uid if (as_user or login_of) else None)
        subprocess.run([KILL, "-" + signal, str(sleeper.pid)], preexec_fn=prepare, check=True)
        sleeper.wait()
        return sleeper.pid

    with audit_test_lock():
        # only kills by this test's own children: other processes signal each other too
        with liveaudit.kill_rules(key, fields=["ppid=%d" % os.getpid()]):
            try:
                yield key, kill
            finally:
                for child in children:
                    if child.poll() is None:
                        child.kill()
                        child.wait()


def facts(key, **args):
    args.setdefault("keys", [key])
    args.setdefault("host_name", "testhost")
    result = run_module("audit_facts", args, check_mode=args.pop("check", False))
    assert not result.get("failed"), result
    return result


def wait_logged(key, pids):
    """Until the log has a kill report for each pid (auditd writes asynchronously)."""
    deadline = time.time() + 15
    while True:
        got = facts(key, status=False)["ansible_facts"]["auditd_kill_reports"]
        if set(pids) <= set(r["target_pid"] for r in got) or time.time() > deadline:
            return dict((r["target_pid"], r) for r in got)
        time.sleep(0.2)


def test_who_killed_what_root_user_and_sudo_case(keyed, user):
    key, kill = keyed
    by_root = kill()
    by_user = kill(as_user=True)
    by_sudo = kill(login_of=user, signal="KILL")
    reports = wait_logged(key, [by_root, by_user, by_sudo])

    r = reports[by_root]
    assert r["host"] == "testhost" and r["key"] == key and r["signal_name"] == "SIGTERM"
    assert r["killer"]["uid"] == 0 and r["killer"]["user"] == "root"
    assert r["killer"]["auid"] is None and r["killer"]["login_user"] is None
    assert r["killer"]["comm"] == "kill" and r["killer"]["cmdline"].endswith("-TERM %d" % by_root)
    assert r["targets"] == [{"pid": by_root, "comm": "sleep", "uid": 0, "user": "root",
                             "auid": None, "login_user": None, "ses": None}]

    r = reports[by_user]
    assert r["killer"]["uid"] == user.pw_uid and r["killer"]["user"] == USER
    assert r["killer"]["auid"] == user.pw_uid and r["killer"]["login_user"] == USER
    assert r["targets"][0]["uid"] == user.pw_uid and r["targets"][0]["user"] == USER

    r = reports[by_sudo]
    assert r["signal_name"] == "SIGKILL" and r["success"] is True
    assert r["killer"]["uid"] == 0 and r["killer"]["user"] == "root"
    assert r["killer"]["auid"] == user.pw_uid and r["killer"]["login_user"] == USER


def test_status_loaded_rules_and_counts(keyed):
    key, kill = keyed
    pid = kill()
    wait_logged(key, [pid])
    result = facts(key)
    f = result["ansible_facts"]
    assert f["auditd_status"]["enabled"] in (1, 2) and f["auditd_status"]["pid"] > 0
    assert f["auditd_status"]["available"] is True
    assert any(key in rule and "kill" in rule for rule in f["auditd_loaded_rules"])
    summary = f["auditd_log_summary"]
    assert summary["key_counts"][key] >= 1 and summary["total_kill_reports"] >= 1
    assert summary["stats"]["skipped"] == {}
    assert result["changed"] is False


def test_max_events_keeps_the_most_recent_and_says_truncated(keyed):
    key, kill = keyed
    pids = [kill(), kill(), kill()]
    wait_logged(key, pids)
    f = facts(key, max_events=2)["ansible_facts"]
    assert [r["target_pid"] for r in f["auditd_kill_reports"]] == pids[1:]
    assert f["auditd_log_summary"]["truncated"] is True
    assert f["auditd_log_summary"]["total_kill_reports"] == 3


def test_since_and_events_report(keyed):
    key, kill = keyed
    old = kill()
    wait_logged(key, [old])
    time.sleep(1.2)
    mark = time.time()
    new = kill()
    wait_logged(key, [new])
    f = facts(key, since=str(mark), report="both")["ansible_facts"]
    assert [r["target_pid"] for r in f["auditd_kill_reports"]] == [new]
    assert [e["syscall"] for e in f["auditd_events"]] == ["kill"]
    f = facts(key, since="1h")["ansible_facts"]
    assert [r["target_pid"] for r in f["auditd_kill_reports"]] == [old, new]


def _set_log_format(fmt):
    with open(CONF) as f:
        text = f.read()
    with open(CONF, "w") as f:
        f.write(re.sub(r"(?m)^log_format\s*=.*$", "log_format = %s" % fmt, text))


def _restart_auditd():
    """The restart a non-systemd host allows (the init script); then wait until it runs."""
    subprocess.run(["service", "auditd", "restart"], check=True, stdout=subprocess.DEVNULL,
                   env=liveaudit.ENV)
    deadline = time.time() + 20
    while liveaudit.audit_available() is not None and time.time() < deadline:
        time.sleep(0.2)
    assert liveaudit.audit_available() is None


def test_raw_log_names_come_from_the_host(user):
    if not shutil.which("service"):
        pytest.skip("no service command to restart auditd with")
    key = liveaudit.new_key("afraw")
    with open(CONF) as f:
        saved = f.read()
    with audit_test_lock():
        try:
            _set_log_format("RAW")
            _restart_auditd()  # the restart reloads rules.d: load ours afterwards
            with liveaudit.kill_rules(key, fields=["ppid=%d" % os.getpid()]):
                sleeper = subprocess.Popen(["/bin/sleep", "300"])
                time.sleep(0.05)
                subprocess.run([KILL, "-TERM", str(sleeper.pid)], check=True,
                               preexec_fn=liveaudit.as_user(loginuid=user.pw_uid))
                sleeper.wait()
                reports = wait_logged(key, [sleeper.pid])
                raw = facts(key, resolve_names=False)["ansible_facts"]["auditd_kill_reports"]
        finally:
            with open(CONF, "w") as f:
                f.write(saved)
            _restart_auditd()
    r = reports[sleeper.pid]
    assert r["killer"]["login_user"] == USER and r["killer"]["user"] == "root"
    assert r["targets"][0]["user"] == "root"
    unresolved = [x for x in raw if x["target_pid"] == sleeper.pid][0]
    assert unresolved["killer"]["login_user"] is None and unresolved["killer"]["auid"] == user.pw_uid


def test_cursor_reads_only_new_kills_across_a_rotation(keyed, tmp_path):
    key, kill = keyed
    cursor = str(tmp_path / "cursor")
    first = kill()
    wait_logged(key, [first])
    run1 = facts(key, cursor=True, cursor_path=cursor)
    assert first in [r["target_pid"] for r in run1["ansible_facts"]["auditd_kill_reports"]]
    assert run1["changed"] is True and os.path.exists(cursor)

    # nothing new: nothing returned, almost nothing read
    run2 = facts(key, cursor=True, cursor_path=cursor)
    assert run2["ansible_facts"]["auditd_kill_reports"] == []
    assert run2["ansible_facts"]["auditd_log_summary"]["bytes_read"] < 65536

    # a kill, a rotation (auditctl, our child, signals auditd: a kill too), another kill:
    # all once, nothing older
    before_rotation = kill()
    wait_logged(key, [before_rotation])
    log = liveaudit.log_file()
    inode = os.stat(log).st_ino
    subprocess.run([liveaudit.AUDITCTL, "--signal", "USR1"], check=True, env=liveaudit.ENV)
    deadline = time.time() + 10
    while os.stat(log).st_ino == inode and time.time() < deadline:
        time.sleep(0.1)
    assert os.stat(log).st_ino != inode, "auditd did not rotate its log"
    after_rotation = kill()
    wait_logged(key, [after_rotation])
    run3 = facts(key, cursor=True, cursor_path=cursor)
    reports = run3["ansible_facts"]["auditd_kill_reports"]
    rotate = [r for r in reports if r["killer"]["comm"] == "auditctl"]
    assert len(rotate) == 1 and rotate[0]["signal_name"] == "SIGUSR1"
    assert [r["target_pid"] for r in reports if r not in rotate] == [before_rotation, after_rotation]
    assert run3["ansible_facts"]["auditd_log_summary"]["files"][0]["path"] == log + ".1"

    # check mode reads but does not advance
    last = kill()
    wait_logged(key, [last])
    with open(cursor) as f:
        saved = f.read()
    checked = facts(key, cursor=True, cursor_path=cursor, check=True)
    assert [r["target_pid"] for r in checked["ansible_facts"]["auditd_kill_reports"]] == [last]
    with open(cursor) as f:
        assert f.read() == saved
    run4 = facts(key, cursor=True, cursor_path=cursor)
    assert [r["target_pid"] for r in run4["ansible_facts"]["auditd_kill_reports"]] == [last]


def test_clear_errors(tmp_path):
    missing = str(tmp_path / "nope.log")
    result = run_module("audit_facts", {"paths": [missing]})
    assert result["failed"] and missing in result["msg"]
    result = run_module("audit_facts", {"since": "soonish", "status": False})
    assert result["failed"] and "since" in result["msg"] and "soonish" in result["msg"]
    result = run_module("audit_facts", {"max_events": -1, "status": False})
    assert result["failed"] and "max_events" in result["msg"]
    bad = tmp_path / "cursor"
    bad.write_text("{not json")
    result = run_module("audit_facts", {"cursor": True, "cursor_path": str(bad), "status": False})
    assert result["failed"] and str(bad) in result["msg"]


def test_not_root_is_a_clear_error(monkeypatch):
    """The effective uid is the outside world here: the module must refuse before reading."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = run_module("audit_facts", {"status": False})
    assert result["failed"] and "root" in result["msg"] and "become" in result["msg"]
