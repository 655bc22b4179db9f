"""Fixtures for the event source tests: the plugin loaded as ansible-rulebook loads it (runpy),
and real kill events captured from this machine's auditd."""
import os
import re
import runpy
import signal
import subprocess

import pytest

from tests.lib import liveaudit
from tests.lib.eventsource import PLUGIN
from tests.lib.auditlock import audit_test_lock

KILLS = 30  # tests that use real_kills use events 0 .. KILLS - 1
_ID = re.compile(rb"msg=audit\((\d+\.\d+:\d+)\)")


@pytest.fixture(scope="session")
def plugin():
    """The plugin's globals, from runpy.run_path as ansible-rulebook's engine runs it."""
    return runpy.run_path(PLUGIN)


class RealKills(object):
    """Kill events the kernel and auditd of this machine wrote: each a list of log lines
    (bytes, as written), in the order auditd wrote them."""

    def __init__(self, key, events):
        self.key = key
        self.events = events  # [(event_id, [line, ...])]

    def ids(self, indexes):
        return [self.events[i][0] for i in indexes]

    def lines(self, indexes):
        return [line for i in indexes for line in self.events[i][1]]


def keyed_events(data, needle):
    """[(event id, its lines)] of the events whose SYSCALL record has NEEDLE and whose last
    record (PROCTITLE) is written, in log order."""
    keyed, order, lines = set(), [], {}
    for line in data.split(b"\n"):
        m = _ID.search(line)
        if m is None:
            continue
        event_id = m.group(1).decode()
        if needle in line and b"type=SYSCALL " in line:
            keyed.add(event_id)
        if event_id not in lines:
            order.append(event_id)
            lines[event_id] = []
        lines[event_id].append(line)
    return [(i, lines[i]) for i in order if i in keyed and lines[i][-1].startswith(b"type=PROCTITLE ")]


@pytest.fixture(scope="session")
def real_kills():
    """KILLS real kill syscalls (kill -s SIG PID by children of this test) under a rule keyed
    for this run, captured from the audit log as auditd wrote them."""
    key = liveaudit.new_key("afeda")
    sleepers = []
    signals = [signal.SIGTERM, signal.SIGKILL, signal.SIGHUP, signal.SIGUSR1, signal.SIGINT, 0]
    try:
        with audit_test_lock():  # (another test may be restarting auditd until it is ours)
            reason = liveaudit.audit_available()
            if reason is not None:
                pytest.skip("real auditd needed to capture kill events: %s" % reason)
            tail = liveaudit.LogTail()
            with liveaudit.kill_rules(key, syscalls=("kill",), fields=("ppid=%d" % os.getpid(),)):
                for n in range(KILLS):
                    sleeper = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL)
                    sleepers.append(sleeper)
                    sig = int(signals[n % len(signals)])
                    subprocess.run(["kill", "-s", str(sig), str(sleeper.pid)], check=True,
                                   env=dict(os.environ, LC_ALL="C"), timeout=10)
                needle = ('key="%s"' % key).encode()
                data = tail.wait_for(lambda d: len(keyed_events(d, needle)) >= KILLS, timeout=30)
    finally:
        for sleeper in sleepers:
            if sleeper.poll() is None:
                sleeper.kill()
            sleeper.wait()
    events = keyed_events(data, needle)
    assert len(events) == KILLS, "auditd wrote %d of %d kill events" % (len(events), KILLS)
    for _event_id, event_lines in events:
        assert event_lines[-1].split(b" ", 1)[0] == b"type=PROCTITLE", event_lines
    return RealKills(key, events)
