"""The machine-wide test lock (tests/lib/auditlock.py, af_locked of tests/lib/env.sh): held while
the command runs, and kept by no child after it, a daemon started under it least of all.
These tests use a lock file of their own, not the machine-wide one."""
import fcntl
import os
import select
import subprocess
import time

import pytest

from tests.lib import auditlock
from tests.lib.env import ROOT

ENV_SH = os.path.join(ROOT, "tests", "lib", "env.sh")


def is_free(path):
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def holders(path):
    """Pids of processes with a descriptor open on PATH."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == path:
                    found.append(int(pid))
            except OSError:
                pass
    return found


def test_python_lock_is_exclusive_and_not_inherited(tmp_path):
    path = str(tmp_path / "lock")
    with auditlock.audit_test_lock(path):
        assert not is_free(path)
        child = subprocess.Popen(["sleep", "30"], close_fds=False)  # even when a caller passes fds on
        try:
            assert holders(path) == [os.getpid()]
        finally:
            child.kill()
            child.wait()
    assert is_free(path)


def test_shell_lock_held_while_the_command_runs_and_not_by_a_daemon_it_starts(tmp_path):
    path = str(tmp_path / "lock")
    marker = tmp_path / "daemon.pid"
    # the command checks the lock is held, then starts a daemon (setsid, in the background, with
    # every descriptor it has) and exits: as a test that restarts auditd does
    script = ('source "$1"; af_locked bash -c \'flock -n "$AUDITFLEET_TEST_LOCK" true && exit 7; '
              'setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $! > "$2"\'')
    env = dict(os.environ, AUDITFLEET_TEST_LOCK=path)
    res = subprocess.run(["bash", "-c", script.replace('"$2"', '"%s"' % marker), "bash", ENV_SH],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stdout  # 7: the lock was not held while the command ran
    daemon = int(marker.read_text())
    try:
        assert os.path.exists("/proc/%d" % daemon)
        assert daemon not in holders(path)
        assert is_free(path)
    finally:
        os.kill(daemon, 9)


def test_shell_lock_passes_the_exit_status_and_waits_for_the_holder(tmp_path):
    path = str(tmp_path / "lock")
    env = dict(os.environ, AUDITFLEET_TEST_LOCK=path)
    with auditlock.audit_test_lock(path):
        proc = subprocess.Popen(["bash", "-c", 'source "$1"; af_locked sh -c "echo ran; exit 3"', "bash", ENV_SH],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        ready, _w, _x = select.select([proc.stdout], [], [], 120)
        assert ready, "af_locked said nothing in 120 s"
        first = proc.stdout.readline()
        assert first == "waiting for the audit test lock %s\n" % path
        time.sleep(0.5)
        assert proc.poll() is None, "af_locked ran while another process held the lock"
    rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == 3 and rest == "ran\n", rest


@pytest.mark.parametrize("argv", [[], ["--"], ["--file"], ["--bogus", "--", "true"]])
def test_cli_usage(argv, capsys):
    assert auditlock.main(argv) == 2
    assert "usage: auditlock.py" in capsys.readouterr().err
