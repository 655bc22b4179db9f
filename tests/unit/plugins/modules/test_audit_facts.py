"""audit_facts on the real auditd: who killed what, RAW and ENRICHED logs, the cursor.

Each test loads kill rules keyed for itself under the machine-wide test lock, makes real
processes kill real processes (as root, as a test user with its own login uid, and as root
with the test user's login uid: the sudo case), runs the module for real and removes its
rules. The RAW test switches auditd.conf's log_format and restarts auditd, then puts both
back; the cursor test rotates the log with auditd's own signal.
"""
import gzip
import json
import os
import shutil
import stat
import subprocess
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.lib import hoststate, liveaudit
from tests.lib.auditlock import audit_test_lock
from tests.lib.modulerun import run_module

REASON = liveaudit.audit_available()
live = pytest.mark.skipif(REASON is not None, reason="real auditd needed: %s" % REASON)

USER = "afut-facts"
KILL = shutil.which("kill", path="/usr/bin:/bin")


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


@live
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


@live
def test_status_loaded_rules_and_counts(keyed):
    key, kill = keyed
    pid = kill()
    wait_logged(key, [pid])
    result = facts(key)
    f = result["ansible_facts"]
    assert f["auditd_status"]["enabled"] in (1, 2) and f["auditd_status"]["pid"] > 0
    assert f["auditd_status"]["available"] is True and f["auditd_status"]["daemon_running"] is True
    assert not [w for w in result["warnings"] if "auditd is not running" in w]
    assert any(key in rule and "kill" in rule for rule in f["auditd_loaded_rules"])
    summary = f["auditd_log_summary"]
    assert summary["key_counts"][key] >= 1 and summary["total_kill_reports"] >= 1
    assert summary["stats"]["skipped"] == {}
    assert result["changed"] is False


@live
def test_max_events_keeps_the_most_recent_and_says_truncated(keyed):
    key, kill = keyed
    pids = [kill(), kill(), kill()]
    wait_logged(key, pids)
    f = facts(key, max_events=2)["ansible_facts"]
    assert [r["target_pid"] for r in f["auditd_kill_reports"]] == pids[1:]
    assert f["auditd_log_summary"]["truncated"] is True
    assert f["auditd_log_summary"]["total_kill_reports"] == 3


@live
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


@live
def test_raw_log_names_come_from_the_host(user):
    key = liveaudit.new_key("afraw")
    # the restart reloads rules.d: ours are loaded afterwards
    with audit_test_lock(), liveaudit.auditd_log_format("RAW"):
        with liveaudit.kill_rules(key, fields=["ppid=%d" % os.getpid()]):
            sleeper = subprocess.Popen(["/bin/sleep", "300"])
            time.sleep(0.05)
            subprocess.run([KILL, "-TERM", str(sleeper.pid)], check=True,
                           preexec_fn=liveaudit.as_user(loginuid=user.pw_uid))
            sleeper.wait()
            reports = wait_logged(key, [sleeper.pid])
            raw = facts(key, resolve_names=False)["ansible_facts"]["auditd_kill_reports"]
    r = reports[sleeper.pid]
    assert r["killer"]["login_user"] == USER and r["killer"]["user"] == "root"
    assert r["targets"][0]["user"] == "root"
    unresolved = [x for x in raw if x["target_pid"] == sleeper.pid][0]
    assert unresolved["killer"]["login_user"] is None and unresolved["killer"]["auid"] == user.pw_uid


@live
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


@live
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


@live
def test_not_root_is_a_clear_error(monkeypatch):
    """The effective uid is the outside world here: the module must refuse before reading."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = run_module("audit_facts", {"status": False})
    assert result["failed"] and "root" in result["msg"] and "become" in result["msg"]


# ---------------------------------------------------------------------------------------
# Hostile and broken input, cursor edge cases. These read hand-made logs through `paths`
# (the lines are in the shapes auditd writes; the tests above read what it really wrote)
# and keep the cursor in the test's own directory.

root = pytest.mark.skipif(os.geteuid() != 0, reason="the module reads as root (become: true)")
KILL_LINES = [
    'type=SYSCALL msg=audit(%(t)s:%(n)d): arch=c000003e syscall=62 success=yes exit=0 a0=%(pid)x '
    'a1=f a2=0 a3=0 items=0 ppid=10 pid=20 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 '
    'sgid=0 fsgid=0 tty=pts0 ses=3 comm="kill" exe="/usr/bin/kill" key="kill_rule"',
    'type=OBJ_PID msg=audit(%(t)s:%(n)d): opid=%(pid)d oauid=-1 ouid=0 oses=-1 ocomm="sleep"',
    'type=PROCTITLE msg=audit(%(t)s:%(n)d): proctitle=%(title)s',
]


def kill_lines(serial, stamp=None, pid=None, title="6B696C6C002D390031303030"):
    """The three records of a kill event, as auditd writes them (old times by default)."""
    values = {"t": stamp or "1700000000.%03d" % (serial % 1000), "n": serial,
              "pid": pid or 1000 + serial, "title": title}
    return [line % values for line in KILL_LINES]


def write(path, lines, mode="w"):
    with open(str(path), mode) as f:
        f.write("".join(line + "\n" for line in lines))


def hand_facts(log_paths, **args):
    """audit_facts on hand-made logs; returns the result, failed or not."""
    args.setdefault("status", False)
    args["paths"] = [str(p) for p in log_paths]
    return run_module("audit_facts", args, check_mode=args.pop("check", False))


def pids(result, facts=True):
    where = result["ansible_facts"] if facts else result
    return [r["target_pid"] for r in where["auditd_kill_reports"]]


@root
@pytest.mark.parametrize("args,field,shown", [
    ({"keys": [""]}, "keys", "empty"),
    ({"keys": ["kill\nrule"]}, "keys", "'kill\\nrule'"),
    ({"syscalls": ["kil"]}, "syscalls", "'kil'"),
    ({"syscalls": [""]}, "syscalls", "empty"),
    ({"host_name": "web1\x1b[2J"}, "host_name", "'web1\\x1b[2J'"),
    ({"cursor": True, "cursor_path": "/tmp/x\ny"}, "cursor_path", "'/tmp/x\\ny'"),
])
def test_wrong_option_values_get_a_clear_error(tmp_path, args, field, shown):
    log = tmp_path / "audit.log"
    write(log, kill_lines(1))
    result = hand_facts([log], **args)
    assert result.get("failed"), result
    assert result["msg"].startswith(field + ":") and shown in result["msg"], result["msg"]
    assert "Traceback" not in result["msg"]


@root
def test_bad_lines_never_fail_the_report_they_are_counted(tmp_path):
    """A time beyond time_t used to fail the whole host with "cannot read the audit log"."""
    log = tmp_path / "audit.log"
    write(log, kill_lines(1) + [
        "type=SYSCALL msg=audit(99999999999999999999.000:1): arch=c000003e syscall=62 key=\"kill_rule\"",
        "type=SYSCALL msg=audit(1700000000.000:%s): arch=c000003e syscall=62 key=\"kill_rule\"" % ("7" * 40),
        "type=SYSCALL msg=audit(1700000000.004:4): a0=" + "A" * (2 << 20),
        "\x00\x01 not a record",
    ] + kill_lines(2))
    packed = gzip.compress("".join(line + "\n" for line in kill_lines(3)).encode())
    cut = tmp_path / "audit.log.1.gz"
    cut.write_bytes(packed[:len(packed) // 2])
    for keys in (None, ["kill_rule"]):
        result = hand_facts([cut, log], keys=keys)
        assert not result.get("failed"), result
        assert pids(result) == [1001, 1002]
        stats = result["ansible_facts"]["auditd_log_summary"]["stats"]
        assert stats["skipped"].get("bad_gzip_data") == 1
        if keys is None:
            assert stats["skipped"] == {"time_out_of_range": 1, "bad_event_id": 1, "line_too_long": 1,
                                        "not_a_record": 1, "bad_gzip_data": 1}


@root
def test_an_event_that_cannot_be_decoded_is_skipped_and_named(tmp_path, monkeypatch):
    """The safety net itself: no known input gets there (the fuzz tests look for one), so a
    failure is made in the kill-report step for one event."""
    from ansible_collections.auditfleet.auditd.plugins.module_utils import _auditfacts
    real = _auditfacts.report_from_records

    def failing(pending):
        if pending.event_id.endswith(":2"):
            raise ValueError("made to fail")
        return real(pending)
    monkeypatch.setattr(_auditfacts, "report_from_records", failing)
    log = tmp_path / "audit.log"
    write(log, kill_lines(1) + kill_lines(2) + kill_lines(3))
    result = hand_facts([log])
    assert not result.get("failed") and pids(result) == [1001, 1003]
    assert result["ansible_facts"]["auditd_log_summary"]["stats"]["skipped"] == {"undecodable_events": 1}
    assert any("1 event(s) could not be decoded" in w and "made to fail" in w for w in result["warnings"])


@root
def test_reports_only_in_the_registered_result(tmp_path):
    log = tmp_path / "audit.log"
    write(log, kill_lines(1))
    as_facts = hand_facts([log], report="both")
    assert pids(as_facts) == [1001] and len(as_facts["ansible_facts"]["auditd_events"]) == 1
    assert "auditd_kill_reports" not in as_facts
    registered = hand_facts([log], report="both", reports_as_facts=False)
    assert pids(registered, facts=False) == [1001] and len(registered["auditd_events"]) == 1
    assert "auditd_kill_reports" not in registered["ansible_facts"]
    assert "auditd_events" not in registered["ansible_facts"]
    assert registered["ansible_facts"]["auditd_log_summary"]["total_kill_reports"] == 1


@root
def test_the_returned_reports_are_bounded_in_bytes(tmp_path):
    # 12 kills with a command line of 1 MB of hex each: max_events allows them all, the
    # 8 MiB bound on the log text of the returned reports keeps the most recent ones
    log = tmp_path / "audit.log"
    title = ("61" * 499999) + "00"
    write(log, [line for n in range(1, 13) for line in kill_lines(n, title=title)])
    result = hand_facts([log])
    got = pids(result)
    assert 4 <= len(got) < 12 and got == list(range(1013 - len(got), 1013))
    summary = result["ansible_facts"]["auditd_log_summary"]
    assert summary["truncated"] is True and summary["total_kill_reports"] == 12
    assert any("left out to keep the result within 8 MiB" in w for w in result["warnings"])


def _cursor_run(log, cursor, **args):
    result = hand_facts([log], cursor=True, cursor_path=str(cursor), **args)
    assert not result.get("failed"), result
    return result


@root
@pytest.mark.parametrize("field,value", [
    ("offset", "12"), ("offset", -1), ("offset", 1.5), ("offset", None), ("file", None),
    ("file.inode", "x"), ("file.head_len", 99999), ("file.head_sha256", "zz"),
    ("held_lines", "one line"), ("held_lines", [1]), ("held_lines", ["two\nlines"]),
    ("recent_ids", [1]), ("recent_ids", None), ("last_time", "yesterday"), ("last_time", True),
    ("path", 7), ("version", True), ("", []),
])
def test_a_cursor_with_wrong_types_is_a_clear_error(tmp_path, field, value):
    """Valid JSON with wrong types used to raise inside the module (TypeError, KeyError)."""
    log, cursor = tmp_path / "audit.log", tmp_path / "cursor"
    write(log, kill_lines(1))
    _cursor_run(log, cursor)
    with open(str(cursor)) as f:
        state = json.load(f)
    if not field:
        state = value
    elif "." in field:
        outer, inner = field.split(".")
        state[outer][inner] = value
    else:
        state[field] = value
    with open(str(cursor), "w") as f:
        json.dump(state, f)
    result = hand_facts([log], cursor=True, cursor_path=str(cursor))
    assert result.get("failed"), result
    assert str(cursor) in result["msg"] and "remove it to start over" in result["msg"]
    if field:
        assert "version" in result["msg"] if field == "version" else field.split(".")[-1] in result["msg"]


def _valid_cursor(tmp_path):
    from ansible_collections.auditfleet.auditd.plugins.module_utils._auditfacts import collect
    log = tmp_path / "audit.log"
    write(log, kill_lines(1) + kill_lines(2))
    _result, cursor = collect({"files": [str(log)], "use_cursor": True})
    return str(log), json.loads(json.dumps(cursor))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["version", "file", "path", "offset", "held_lines", "last_time", "recent_ids",
                        "updated", "file.inode", "file.device", "file.size", "file.head_len",
                        "file.head_sha256", "extra"]), JSON_VALUES)
def test_fuzz_the_cursor_loader(tmp_path, field, value):
    """Any value in any field of a cursor file: a clear FactsError, or a cursor with which
    the whole read never raises."""
    from ansible_collections.auditfleet.auditd.plugins.module_utils._auditfacts import (
        FactsError, collect, load_cursor)
    log, state = _valid_cursor(tmp_path)
    if "." in field:
        state["file"][field.split(".")[1]] = value
    else:
        state[field] = value
    path = str(tmp_path / "fuzzed.cursor")
    with open(path, "w") as f:
        json.dump(state, f, allow_nan=True)
    os.chmod(path, 0o600)
    try:
        cursor = load_cursor(path)
    except FactsError as exc:
        assert path in str(exc)
        return
    result, new_cursor = collect({"files": [log], "use_cursor": True, "cursor_state": cursor})
    json.dumps(result)
    assert new_cursor["offset"] >= 0


@root
def test_a_cursor_path_that_is_a_directory_keeps_the_facts_and_warns(tmp_path):
    log, cursor = tmp_path / "audit.log", tmp_path / "cursor"
    write(log, kill_lines(1))
    cursor.mkdir()
    result = _cursor_run(log, cursor)
    assert pids(result) == [1001]
    assert result["changed"] is False
    assert result["ansible_facts"]["auditd_log_summary"]["cursor"]["advanced"] is False
    assert any(str(cursor) in w and "directory" in w for w in result["warnings"]), result["warnings"]
    assert os.listdir(str(cursor)) == [] and sorted(os.listdir(str(tmp_path))) == ["audit.log", "cursor"]


@root
def test_a_cursor_that_cannot_be_saved_keeps_the_facts_and_warns(tmp_path):
    log, blocker = tmp_path / "audit.log", tmp_path / "not-a-dir"
    write(log, kill_lines(1))
    blocker.write_text("a file where the cursor's directory should be")
    result = _cursor_run(log, blocker / "cursor")
    assert pids(result) == [1001] and result["changed"] is False
    assert any("cannot save the cursor" in w and "a part of it is not a directory" in w
               and "reads these events again" in w for w in result["warnings"]), result["warnings"]


@root
def test_the_cursor_and_its_temp_file_never_follow_a_symlink(tmp_path):
    log, cursor, victim = tmp_path / "audit.log", tmp_path / "cursor", tmp_path / "victim"
    write(log, kill_lines(1))
    victim.write_text("precious\n")
    # the temp name of development versions was predictable: <cursor>.tmp.<pid>
    os.symlink(str(victim), str(cursor) + ".tmp.%d" % os.getpid())
    result = _cursor_run(log, cursor)
    assert victim.read_text() == "precious\n"
    assert pids(result) == [1001] and os.path.isfile(str(cursor)) and not os.path.islink(str(cursor))
    assert stat.S_IMODE(os.stat(str(cursor)).st_mode) == 0o600
    # a symlink at the cursor path: not read, not written through
    os.unlink(str(cursor))
    os.symlink(str(victim), str(cursor))
    result = _cursor_run(log, cursor)
    assert victim.read_text() == "precious\n" and pids(result) == [1001]
    assert any("symbolic link" in w and "not read or followed" in w for w in result["warnings"]), result["warnings"]
    # a cursor another user could have written is not trusted
    os.unlink(str(cursor))
    _cursor_run(log, cursor)
    os.chmod(str(cursor), 0o666)
    result = _cursor_run(log, cursor)
    assert pids(result) == [1001]
    assert any("not trusted" in w for w in result["warnings"])


@root
def test_stale_cursor_temp_files_are_removed_on_the_next_run(tmp_path):
    log, cursor = tmp_path / "audit.log", tmp_path / "cursor"
    write(log, kill_lines(1))
    stale = [".cursor.k3j5x_0q.auditfleet-tmp", "cursor.tmp.4242"]
    fresh = ".cursor.abcdefgh.auditfleet-tmp"
    others = ["cursor.tmp.x", "other.tmp.1", ".other.aaaaaaaa.auditfleet-tmp"]
    hour_ago = time.time() - 3600
    for name in stale + [fresh] + others:
        (tmp_path / name).write_text("left over")
        if name != fresh:
            os.utime(str(tmp_path / name), (hour_ago, hour_ago))
    os.symlink("/etc/passwd", str(tmp_path / ".cursor.symlink1.auditfleet-tmp"))
    os.utime(str(tmp_path / ".cursor.symlink1.auditfleet-tmp"), (hour_ago, hour_ago), follow_symlinks=False)
    checked = hand_facts([log], cursor=True, cursor_path=str(cursor), check=True)
    assert checked["changed"] is True and not os.path.exists(str(cursor))
    assert all(os.path.lexists(str(tmp_path / n)) for n in stale)  # check mode changes nothing
    result = _cursor_run(log, cursor)
    removed = result["ansible_facts"]["auditd_log_summary"]["cursor"]["removed_temp_files"]
    assert removed == sorted(stale)
    # a link planted at a temp name is neither followed nor removed (mkstemp never uses it)
    left = sorted(os.listdir(str(tmp_path)))
    assert left == sorted(["audit.log", "cursor", fresh, ".cursor.symlink1.auditfleet-tmp"] + others)
    assert os.path.exists("/etc/passwd")


@root
def test_a_cursor_offset_past_the_end_warns_and_reads_again(tmp_path):
    """It used to mute every later event, silently and for good."""
    log, cursor = tmp_path / "audit.log", tmp_path / "cursor"
    write(log, kill_lines(1) + kill_lines(2))
    assert pids(_cursor_run(log, cursor)) == [1001, 1002]
    with open(str(cursor)) as f:
        state = json.load(f)
    state["offset"] = 10 ** 9
    with open(str(cursor), "w") as f:
        json.dump(state, f)
    write(log, kill_lines(3), mode="a")
    result = _cursor_run(log, cursor)
    assert pids(result) == [1003]  # the new one, not those reported before
    assert any("past the end" in w for w in result["warnings"])
    write(log, kill_lines(4), mode="a")
    assert pids(_cursor_run(log, cursor)) == [1004]  # and on from there


@root
def test_a_gap_in_the_rotated_logs_is_read_past_and_named(tmp_path, monkeypatch):
    """The rotated set used to stop at the gap, silently. The log's place comes from
    auditd.conf on a host: here the test's own directory stands in for it."""
    import ansible_collections.auditfleet.auditd.plugins.modules.audit_facts as module
    base = tmp_path / "audit.log"
    for suffix, serial in ((".3", 1), (".1", 2), ("", 3)):
        write(str(base) + suffix, kill_lines(serial))
    monkeypatch.setattr(module, "default_log_file", lambda: str(base))
    result = run_module("audit_facts", {"status": False})
    assert not result.get("failed"), result
    assert pids(result) == [1001, 1002, 1003]
    assert result["ansible_facts"]["auditd_log_summary"]["rotated_gaps"] == [str(base) + ".2"]
    assert any(str(base) + ".2 missing" in w for w in result["warnings"])


@root
def test_an_open_event_across_a_copytruncate_keeps_one_of_each_target(tmp_path):
    """logrotate's copytruncate copies the log (a new inode) and empties it: the cursor then
    reads both files again, and an event it held back open was in both."""
    log, rotated, cursor = tmp_path / "audit.log", tmp_path / "audit.log.1", tmp_path / "cursor"
    write(log, kill_lines(1))
    stamp = "%.3f" % time.time()  # young: the cursor holds it back, it may still grow
    lines = kill_lines(7, stamp=stamp)
    write(log, lines[:2], mode="a")
    first = hand_facts([log], cursor=True, cursor_path=str(cursor))
    assert pids(first) == [1001]
    assert first["ansible_facts"]["auditd_log_summary"]["held_back_records"] == 2
    shutil.copyfile(str(log), str(rotated))  # copytruncate
    with open(str(log), "w"):
        pass
    write(log, lines[2:], mode="a")
    second = hand_facts([rotated, log], cursor=True, cursor_path=str(cursor))
    reports = second["ansible_facts"]["auditd_kill_reports"]
    assert [r["target_pid"] for r in reports] == [1007]
    assert reports[0]["targets"] == [{"pid": 1007, "comm": "sleep", "uid": 0, "user": "root",
                                      "auid": None, "login_user": None, "ses": None}]


@live
def test_a_stopped_auditd_is_reported(tmp_path):
    """With no audit daemon the kernel sends kills to printk only: the facts say so. Stops
    the machine's auditd under the test lock and starts it again (tests/lib/hoststate.py)."""
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("auditd is managed by systemd here; this test stops and starts the daemon "
                    "only where it runs without an init system (as tools/testenv.sh starts it)")
    log = tmp_path / "audit.log"
    write(log, kill_lines(1))
    with hoststate.guarded_host() as before:
        assert before.running, "auditd is not running before the test"
        hoststate.stop_auditd()
        stopped = hand_facts([log], status=True)
        hoststate.start_auditd()
        _wait_for(lambda: liveaudit.audit_available() is None, "auditd to start")
        running = hand_facts([log], status=True)
    assert not stopped.get("failed"), stopped
    status = stopped["ansible_facts"]["auditd_status"]
    assert status["available"] is True and status["pid"] == 0 and status["daemon_running"] is False
    assert any("auditd is not running (auditctl -s: pid 0)" in w for w in stopped["warnings"])
    assert pids(stopped) == [1001]  # the log is still read
    assert running["ansible_facts"]["auditd_status"]["daemon_running"] is True
    assert not [w for w in running["warnings"] if "not running" in w]


def _wait_for(predicate, what, timeout=20):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out waiting for %s" % what
        time.sleep(0.1)


@live
def test_a_failing_auditctl_listing_keeps_the_reports_and_warns(tmp_path, monkeypatch):
    """auditctl -l failing (here made to answer rc 1, the outside world) used to end the module
    with a traceback and no facts; the kill reports are what was asked for."""
    from ansible_collections.auditfleet.auditd.plugins.module_utils import _command
    real = _command.run

    def failing_listing(argv, *args, **kwargs):
        if argv[1:] == ["-l"]:
            return 1, "", "made to fail"
        return real(argv, *args, **kwargs)
    monkeypatch.setattr(_command, "run", failing_listing)
    log = tmp_path / "audit.log"
    write(log, kill_lines(1))
    result = hand_facts([log], status=True)
    assert not result.get("failed"), result
    assert pids(result) == [1001]
    facts = result["ansible_facts"]
    assert facts["auditd_loaded_rules"] == []
    assert "auditctl -l failed (rc 1): made to fail" in facts["auditd_status"]["rules_error"]
    assert any("the loaded rules could not be read" in w for w in result["warnings"])
