"""Property-based fuzzing: whatever the input, the parser returns events and never raises."""
import json

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    ParseStats, parse_events)
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports

SEEDS = [
    'type=SYSCALL msg=audit(1700000000.100:5): arch=c000003e syscall=62 success=no exit=-3 '
    'a0=fffffc18 a1=9 a2=0 a3=0 items=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 '
    'fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts1 ses=2 comm="kill" exe="/usr/bin/kill" '
    'key=6B696C6C5F72756C65\x1dARCH=x86_64 SYSCALL=kill AUID="alice" UID="root"',
    'type=OBJ_PID msg=audit(1700000000.100:5): opid=44 oauid=-1 ouid=0 oses=-1 ocomm="sle ep"',
    'type=PROCTITLE msg=audit(1700000000.100:5): proctitle=6B696C6C002D39003130',
    "node=n1 type=USER_CMD msg=audit(1700000000.200:6): pid=1 uid=0 auid=1000 ses=1 "
    "msg='cwd=\"/\" cmd=6C73 exe=\"/usr/bin/sudo\" terminal=pts/0 res=success'",
    'type=EXECVE msg=audit(1700000000.300:7): argc=2 a0="ls" a1_len=4 a1[0]=6869 a1[1]=6869',
    'type=AVC msg=audit(1700000000.400:8): apparmor="DENIED" info="a b" signal=term',
]


def _consume(data):
    stats = ParseStats()
    events = list(parse_events(data, stats=stats))
    reports = list(kill_reports(events=events))
    json.dumps(events)
    json.dumps(reports)
    json.dumps(stats.as_dict())
    return events, reports, stats


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    _consume(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=30))
def test_random_text_lines(lines):
    _consume(lines)


@st.composite
def mutated_log(draw):
    lines = draw(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=12))
    out = []
    for line in lines:
        op = draw(st.sampled_from(["keep", "cut", "insert", "delete", "dup"]))
        if op == "cut" and line:
            line = line[:draw(st.integers(0, len(line)))]
        elif op == "insert":
            pos = draw(st.integers(0, len(line)))
            line = line[:pos] + draw(st.text(max_size=8)) + line[pos:]
        elif op == "delete" and line:
            pos = draw(st.integers(0, len(line) - 1))
            line = line[:pos] + line[pos + draw(st.integers(1, 10)):]
        elif op == "dup":
            out.append(line)
        out.append(line)
    return "\n".join(out)


@settings(max_examples=500, deadline=None)
@given(mutated_log())
def test_mutated_real_shaped_lines(text):
    events, _reports, stats = _consume(text)
    # every line that still parses as a record is in exactly one event
    assert sum(len(ev["records"]) for ev in events) == stats.records


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(SEEDS[:3]), min_size=3, max_size=60), st.randoms())
def test_shuffled_records_never_lose_one(lines, rnd):
    rnd.shuffle(lines)
    events, _reports, stats = _consume(lines)
    assert sum(len(ev["records"]) for ev in events) == stats.records == len(lines)
