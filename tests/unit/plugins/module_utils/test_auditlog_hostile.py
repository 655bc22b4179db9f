"""Hostile input: the parser stays linear in time, bounded in memory, and never raises.

The lines here are hand-made: a local user cannot make auditd write most of them (the kernel
hex-encodes what it does not trust), but a log read by the filters or the lookup, a log
forwarded by another host, or a file given to audit_facts' `paths` can hold anything.
The behaviour on the logs auditd really writes is tested in test_auditlog_live.py.

Time is checked without timing normal input: a hostile line of a few hundred KB is parsed
in a child process with a generous timeout. The code before this test file took hours
for some of them (the time grew with the square of the line), so it could not pass.
Memory is checked the same way: peak RSS of a child process (ru_maxrss).
"""
import gzip
import io
import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.auditfleet.auditd.plugins.module_utils import _auditlog
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    MAX_EPOCH, MAX_FIELDS, ParseStats, event_iso_time, group_records, parse_events,
    parse_fields, rotated_log_set)
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports
from ansible_collections.auditfleet.auditd.plugins.module_utils._timeutil import iso_utc

from tests.lib.env import COLLECTIONS

GS = "\x1d"
KILL = ('type=SYSCALL msg=audit(1700000000.%03d:%d): arch=c000003e syscall=62 success=yes exit=0 '
        'a0=3e8 a1=9 a2=0 a3=0 items=0 ppid=10 pid=20 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 '
        'egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="kill" exe="/usr/bin/kill" key="kill_rule"')
TARGET = 'type=OBJ_PID msg=audit(1700000000.%03d:%d): opid=1000 oauid=-1 ouid=0 oses=-1 ocomm="sleep"'
TITLE = "type=PROCTITLE msg=audit(1700000000.%03d:%d): proctitle=6B696C6C002D390031303030"


def kill_event(serial):
    return [fmt % (serial % 1000, serial) for fmt in (KILL, TARGET, TITLE)]


def text(lines):
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# Time: linear in the input

HEADER = "type=USER_AVC msg=audit(1700000000.000:1): pid=1 uid=0 auid=0 ses=1 "
# name -> (text of one hostile line of about SIZE characters, keys to search for or None)
SHAPES = {
    # the field pattern used to try every start inside a word without "=" (issue 8, item 6)
    "word_without_equals": lambda n: HEADER + "a" * n,
    # the loose header pattern used to scan from every "type=" to the end of the word
    "repeated_type": lambda n: "audit(1.1:1) " + "type=" * (n // 5),
    "repeated_type_before_a_stamp": lambda n: "type=" * (n // 5) + " audit(1.1:1): x=1",
    "repeated_node": lambda n: "node=" * (n // 5) + " type=AVC audit(1.1:1): x=1",
    "type_words_and_stamps": lambda n: "type=a x audit(1.1:1): " * (n // 23),
    "enriched_without_equals": lambda n: HEADER + GS + "A" * n,
    "msg_without_equals": lambda n: HEADER + "msg='" + "a" * n + "'",
    # int() of a long digit string costs its length squared before Python 3.12
    "long_number": lambda n: HEADER + "pid=" + "9" * n,
    "long_serial": lambda n: "type=SYSCALL msg=audit(1700000000.000:%s): a=1" % ("9" * n),
    "long_time": lambda n: "type=SYSCALL msg=audit(%s.000:1): a=1" % ("9" * n),
    "long_record_type": lambda n: "type=%s msg=audit(1700000000.000:1): a=1" % ("9" * n),
    # keys used to be collected in a list searched for each new one
    "many_keys": lambda n: KILL % (0, 1) + " key=" + "\x01".join(
        "k%d" % i for i in range(n // 8)).encode().hex().upper(),
    # and the kill report merged the keys of its records the same way
    "many_keys_in_two_records": lambda n: "\n".join([
        KILL % (0, 3) + " key=" + "\x01".join("a%d" % i for i in range(n // 16)).encode().hex().upper(),
        (TARGET % (0, 3)) + " key=" + "\x01".join("b%d" % i for i in range(n // 16)).encode().hex().upper(),
        TITLE % (0, 3)]),
    # the key search used to look for the start of each line holding a tag far back
    "planted_tags_keyed": lambda n: (KILL % (0, 2)).replace(
        "comm=", "name=" + "msg=audit(1700000000.000:2):" * (n // 28) + " comm="),
    "tiny_fields": lambda n: HEADER + "f=1 " * (n // 4),
    # the key search checks the lines between an event's records for a later second (issue
    # 9): thousands of keyed events with their last record far away, other records between
    "keyed_events_far_apart": lambda n: _far_apart(
        n, 'type=CWD msg=audit(1700000000.500:9%d): cwd="/" ' + "x" * 40),
    "keyed_events_far_apart_syslog": lambda n: _far_apart(
        n, "Nov 1 host x: type=CWD audit(1700000000.500:9%d): cwd=1 audit(1.1:1): audit(1.1:1): xxxx"),
}


def _far_apart(n, between):
    count = n // 3 // 160
    return "\n".join([KILL % (i % 1000, i) for i in range(count)] + [between % i for i in range(count)]
                     + [TITLE % (i % 1000, i) for i in range(count)])


CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import ParseStats, parse_events
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports
line = sys.stdin.read()
out = {}
for keys in (None, ["kill_rule"]):
    stats = ParseStats()
    events = list(parse_events(line, keys=keys, stats=stats))
    out[str(keys)] = {"events": len(events), "stats": stats.as_dict(),
                      "reports": len(list(kill_reports(line, keys=keys)))}
print(json.dumps(out))
"""


def _pythons():
    """This Python, and the oldest the collection supports on hosts if pyenv has it."""
    import glob
    return [sys.executable] + sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.6*/bin/python3")))[:1]


@pytest.mark.parametrize("python", _pythons(), ids=lambda p: "this" if p == sys.executable else "py3.6")
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_hostile_line_is_parsed_in_linear_time(shape, python):
    """300 KB of each shape: a few hundred ms now; before, minutes to hours (3 / 10 / 43 s at
    20k / 40k / 80k characters for a word without "="). The timeout is generous for a
    loaded machine and far below what the quadratic code needs."""
    line = SHAPES[shape](300000)
    try:
        res = subprocess.run([python, "-c", CHILD, COLLECTIONS], input=line.encode(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("%s: a 300 KB line was not parsed within 120 s: not linear" % shape)
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    out = json.loads(res.stdout.decode())
    stats = out["None"]["stats"]
    lines = line.count("\n") + 1
    assert stats["lines"] == lines and stats["records"] + stats["skipped_total"] == lines
    if shape in ("long_serial",):
        assert stats["skipped"] == {"bad_event_id": 1}
    if shape == "long_time":
        assert stats["skipped"] == {"time_out_of_range": 1}
    if shape == "tiny_fields":
        assert stats["repaired"] == {"fields_over_limit": 1}


def test_the_cap_on_fields_keeps_the_first_ones():
    fields = parse_fields(" ".join("f%d=%d" % (i, i) for i in range(MAX_FIELDS + 50)), stats=ParseStats())
    assert len(fields) == MAX_FIELDS and fields["f0"] == "0" and "f%d" % MAX_FIELDS not in fields


# The patterns the parser used before, kept here as the specification of what the linear
# code must still find.
OLD_LOOSE_HEADER = re.compile(r"(?:node=(\S*) )?type=(\S+) (?:msg=)?audit\(((\d+)\.\d+:\d+)\): ?")
OLD_FIELD = re.compile(r"""([^\s=]+)=("[^"]*"?|'[^']*'?|\{[^}]*\}?|\S*)""")
FRAGMENTS = st.sampled_from([
    "node=", "type=", " ", "  ", "\t", "\x0b", "msg=", "audit(", "msg=audit(1.2:3)", "1", "22",
    ".", ":", ")", ": ", "x", "=", '"', "'", "{", "}", GS, "a", "node=h ", "type=AVC ",
    "audit(1.2:3): ", "key=", "6B31"])
TEXTS = st.lists(FRAGMENTS, max_size=30).map("".join)


@settings(max_examples=3000, deadline=None)
@given(TEXTS)
def test_loose_header_finds_what_the_old_pattern_found(line):
    m = OLD_LOOSE_HEADER.search(line)
    got = _auditlog._loose_header(line)
    if m is None:
        assert got is None
    else:
        assert got == (m.group(1), m.group(2), m.group(3), m.group(4), m.end(), m.start(3))


@settings(max_examples=3000, deadline=None)
@given(TEXTS)
def test_field_pattern_finds_what_the_old_pattern_found(line):
    assert [pair for pair in _auditlog._FIELD.findall(line) if pair[0]] == OLD_FIELD.findall(line)


TIME_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.auditfleet.auditd.plugins.module_utils._timeutil import TimeSpecError, parse_time
spaces = " " * 200000
try:
    parse_time("1h" + spaces + "x", name="since")
    raise SystemExit("accepted")
except TimeSpecError:
    pass
assert parse_time(spaces + "1h ago" + spaces, now=7200.0) == 3600.0
assert parse_time("2026-01-01T00:00:00" + spaces + "Z" + spaces) == 1767225600.0
"""


def test_time_options_with_long_whitespace_runs_are_read_in_linear_time():
    """The time patterns had two whitespace runs that could share the same spaces: 20000
    spaces took 5 s, 200000 would take about 9 minutes."""
    try:
        res = subprocess.run([sys.executable, "-c", TIME_CHILD, COLLECTIONS], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("time options with 200000 spaces were not read within 60 s: not linear")
    assert res.returncode == 0, res.stderr.decode()[-2000:]


# ---------------------------------------------------------------------------------------
# Memory: bounded in bytes whatever the input

MEMORY_CHILD = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import ParseStats, parse_events
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports
count, mode = int(sys.argv[2]), sys.argv[3]
SIZE = 1000000


def lines():
    # every record holds a value of about 1 MB that no other record holds, in the places
    # the parser keeps values: tokens, record tails, command lines, ENRICHED parts, type
    # names, arch codes, open events (records that never end, some of 4-byte characters)
    for i in range(count):
        tok = ("%07d" % i) * (SIZE // 7)
        ev = "1700000000.%03d:%d" % (i % 1000, i)
        k = i % 9
        if k == 0:
            yield "type=USER_CMD msg=audit(%s): pid=1 tok=%s" % (ev, tok)
        elif k == 1:
            yield ("type=SYSCALL msg=audit(%s): arch=c000003e syscall=62 success=yes exit=0 a0=1 "
                   "a1=2 a2=0 a3=0 items=0 ppid=1 pid=2 auid=0 uid=0 comm=\"x\" key=\"kill_rule\" "
                   "tok=%s" % (ev, tok))
            yield "type=PROCTITLE msg=audit(%s): proctitle=%s" % (ev, tok.encode().hex()[:SIZE])
        elif k == 2:
            yield "type=USER_CMD msg=audit(%s): pid=1\x1dA=%s" % (ev, tok)
        elif k == 3:
            yield ("type=SYSCALL msg=audit(%s): arch=c000003e syscall=62 key=\"kill_rule\" tok=%s"
                   "\U0001F600" % (ev, tok))
        elif k == 4:
            yield "\n" * SIZE
        elif k == 5:
            yield "type=USER_CMD msg=audit(%s): " % ev + " ".join(
                "f%d=%d" % (j, i) for j in range(SIZE // 14))
        elif k == 6:
            yield "type=%s msg=audit(%s): a=1" % (tok, ev)
        elif k == 7:
            yield ("type=SYSCALL msg=audit(%s): arch=%s syscall=62 success=yes exit=0 a0=1 a1=2 a2=0 "
                   "a3=0 items=0 ppid=1 pid=2 auid=0 key=\"kill_rule\"" % (ev, tok[:SIZE // 2]))
            yield ("type=OBJ_PID msg=audit(%s): opid=1 oauid=-1 ouid=0 oses=-1 ocomm=%s"
                   % (ev, tok.encode().hex()[:SIZE]))
        else:
            yield ("type=EXECVE msg=audit(%s): argc=3 a0=%s a1=\"x\" a2=%s"
                   % (ev, tok.encode().hex()[:SIZE // 2], tok[:SIZE // 4]))


stats = ParseStats()
if mode == "events":
    found = parse_events(lines(), stats=stats)
elif mode == "keyed":
    found = parse_events(lines(), keys=["kill_rule"], stats=stats)
else:
    found = kill_reports(lines(), stats=stats)
n = sum(1 for _ in found)
# VmHWM, the peak of this process's own memory: Linux carries ru_maxrss over exec(), so a
# child started by a big process (pytest) would report its parent's peak
with open("/proc/self/status") as f:
    hwm = [int(line.split()[1]) for line in f if line.startswith("VmHWM:")]
peak = hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"out": n, "stats": stats.as_dict(), "peak_rss_mib": peak / 1024.0}))
"""


@pytest.mark.parametrize("mode,count", [("events", 400), ("keyed", 400), ("kill_reports", 200)])
def test_peak_memory_stays_within_64_mib_whatever_the_input(mode, count):
    """Before, 400 records with a unique 1 MB token each reached 1.2 GiB (caches bounded by
    entries, open events by count): now about 45 MiB, a baseline of about 17 of it."""
    res = subprocess.run([sys.executable, "-c", MEMORY_CHILD, COLLECTIONS, str(count), mode],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900, check=False)
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    out = json.loads(res.stdout.decode())
    assert out["out"] > 0 and out["stats"]["bytes"] > count * 10 ** 6  # read it all
    assert out["peak_rss_mib"] < 64, out


def test_open_events_are_bounded_in_bytes_not_only_in_count():
    # 40 events of 100 KB each that never end: far fewer than MAX_OPEN_EVENTS, but 4 MB
    stats = ParseStats()
    lines = ["type=SYSCALL msg=audit(1700000000.000:%d): a=%s" % (n, "x" * 100000) for n in range(40)]
    groups = list(group_records(iter([text(lines)]), stats))
    assert sorted(g.event_id for g in groups) == sorted("1700000000.000:%d" % n for n in range(40))
    assert stats.repaired["events_closed_early"] >= 15
    assert [g.closed_by for g in groups].count("limit") == stats.repaired["events_closed_early"]


def test_every_record_lands_in_one_event_when_events_are_closed_early():
    # records of an event closed early start a new group with the same id: none is lost
    lines = []
    for n in range(30):
        lines.append("type=SYSCALL msg=audit(1700000000.000:%d): a=%s" % (n, "x" * 50000))
    for n in range(30):
        lines.append("type=PROCTITLE msg=audit(1700000000.000:%d): proctitle=6869" % n)
    stats = ParseStats()
    groups = list(group_records(iter([text(lines)]), stats, max_open_bytes=1 << 20))
    assert sum(len(g.records) for g in groups) == stats.records == 60


def test_caches_hold_no_long_values():
    long_token = "tok=" + "x" * (_auditlog.CACHED_TOKEN_MAX + 1)
    list(parse_events("type=USER_CMD msg=audit(1700000000.000:1): pid=1 %s uid=0\n" % long_token))
    assert long_token not in _auditlog._TOKEN_CACHE[True]
    assert all(len(k) <= _auditlog.CACHED_TOKEN_MAX for k in _auditlog._TOKEN_CACHE[True])
    assert _auditlog._TOKEN_USED[True] <= _auditlog.TOKEN_CACHE_BYTES
    for memo in (_auditlog._TAIL_CACHE[True], _auditlog._PROCTITLE_CACHE, _auditlog._ENRICHED_CACHE,
                 _auditlog._RECORD_CACHE[True], _auditlog._MESSAGE_CACHE[True]):
        assert memo.used <= memo.budget
    long_message = "type=USER_CMD msg=audit(1700000000.000:2): pid=1 msg='cmd=%s'\n" % ("x" * 600000)
    long_path = 'type=PATH msg=audit(1700000000.000:3): item=0 name="%s"\n' % ("y" * 600000)
    list(parse_events(long_message + long_path))
    for memo in (_auditlog._RECORD_CACHE[True], _auditlog._MESSAGE_CACHE[True]):
        assert all(len(str(key)) < 100000 for key in list(memo.new) + list(memo.old))
    assert len(_auditlog._ISO_CACHE) <= _auditlog.ISO_CACHE_ENTRIES
    unique_arches = ["type=SYSCALL msg=audit(1700000000.000:%d): arch=%s syscall=62 a=1\n" % (
        n, "c%07x" % n * 40) for n in range(300)]
    list(parse_events("".join(unique_arches)))
    assert all(len(code) <= _auditlog.CACHED_CODE_MAX for code in _auditlog._ARCH_NAMES)


# ---------------------------------------------------------------------------------------
# Never raises: one bad line is counted and the rest is read

def test_a_time_beyond_time_t_is_skipped_not_raised():
    lines = (kill_event(1) + ["type=SYSCALL msg=audit(99999999999999999999.000:1): arch=c000003e a=1",
                              "type=SYSCALL msg=audit(%d.000:2): a=1" % (MAX_EPOCH + 1),
                              "type=SYSCALL msg=audit(1700000000.000:%s): a=1" % ("9" * 30)]
             + kill_event(3))
    for keyed in (None, ["kill_rule"]):
        stats = ParseStats()
        evs = list(parse_events(text(lines), keys=keyed, stats=stats))
        assert [e["serial"] for e in evs] == [1, 3]
        if keyed is None:
            assert stats.skipped == {"time_out_of_range": 2, "bad_event_id": 1}
    # the last second ISO 8601 can write is read
    last = list(parse_events("type=AVC msg=audit(%d.999:1): a=1\n" % MAX_EPOCH))
    assert last[0]["time"] == "9999-12-31T23:59:59.999Z"
    assert event_iso_time("%d.000:1" % (MAX_EPOCH + 1)) is None
    assert iso_utc(1e300) is None and iso_utc(float("nan")) is None


def test_a_truncated_or_corrupt_gzip_keeps_what_was_read(tmp_path):
    whole = text([line for n in range(1, 2001) for line in kill_event(n)]).encode()
    packed = gzip.compress(whole)
    cut = tmp_path / "audit.log.1.gz"
    cut.write_bytes(packed[:len(packed) // 2])
    plain = tmp_path / "audit.log"
    plain.write_text(text(kill_event(5000)))
    not_gzip = tmp_path / "audit.log.2.gz"
    not_gzip.write_bytes(b"this is not gzip data\n")
    stats = ParseStats()
    evs = list(parse_events(paths=[str(not_gzip), str(cut), str(plain)], stats=stats))
    assert stats.skipped.get("bad_gzip_data") == 2
    serials = [e["serial"] for e in evs]
    before_cut = [s for s in serials if s != 5000]
    assert 5000 in serials and 100 < len(before_cut) < 2000
    assert before_cut == list(range(1, len(before_cut) + 1))  # in order, none twice


def test_empty_keys_match_nothing_and_a_nul_in_text_is_not_a_path():
    data = text(kill_event(1))
    assert list(parse_events(data, keys=[""])) == []
    assert list(kill_reports(data, keys=[""])) == []
    assert list(parse_events("type=AVC msg=audit(1700000000.000:1): x=\x00\n"))


def test_numbers_of_any_length_never_raise():
    big = "9" * 5000  # past Python's int() digit limit (3.11+), and slow before it
    lines = ["type=EXECVE msg=audit(1700000000.000:1): argc=%s a%s=x a0=%s" % (big, big, big),
             "type=SYSCALL msg=audit(1700000000.000:1): arch=c000003e syscall=%s success=no "
             "exit=-%s a0=1 a1=2 a2=3 a3=4 items=%s ppid=%s pid=%s auid=%s uid=0" % ((big,) * 6),
             "type=%s msg=audit(1700000000.000:1): pid=1" % big,
             "type=UNKNOWN[%s] msg=audit(1700000000.000:1): pid=1" % big,
             "type=PROCTITLE msg=audit(1700000000.000:1): proctitle=6869"]
    stats = ParseStats()
    evs = list(parse_events(text(lines), stats=stats))
    assert len(evs) == 1 and stats.skipped == {}
    ev = evs[0]
    assert ev["records"][1]["fields"]["pid"] == big  # kept as text
    assert ev["syscall"] == big and ev["errno"] is None
    assert list(kill_reports(events=evs)) == []


def test_a_planted_tag_in_another_record_does_not_join_the_keyed_event():
    # a file name may hold "msg=audit(<id>):" (the kernel does not escape it): the record
    # that holds it belongs to its own event, not to the event the tag names
    planted = ('type=PATH msg=audit(1700000000.000:9): item=0 name="msg=audit(1700000000.001:1):" '
               'inode=1 dev=08:01 mode=0100644')
    lines = [KILL % (1, 1), planted, TARGET % (1, 1), TITLE % (1, 1),
             "type=PROCTITLE msg=audit(1700000000.000:9): proctitle=6869"]
    full = [e for e in parse_events(text(lines)) if "kill_rule" in e["keys"]]
    fast = list(parse_events(text(lines), keys=["kill_rule"]))
    assert [e["types"] for e in fast] == [e["types"] for e in full] == [["SYSCALL", "OBJ_PID", "PROCTITLE"]]
    assert fast == full


def test_long_lines_given_as_text_or_lines_are_skipped_as_in_files():
    long_line = "type=AVC msg=audit(1700000000.000:2): x=" + "y" * (_auditlog.MAX_LINE + 5)
    data = text(kill_event(1) + [long_line] + kill_event(3))
    for source in (data, [data], io.StringIO(data)):
        stats = ParseStats()
        assert [e["serial"] for e in parse_events(source, stats=stats)] == [1, 3]
        assert stats.skipped == {"line_too_long": 1}


def test_a_rotated_set_with_a_gap_is_read_whole_and_the_gap_named(tmp_path):
    base = str(tmp_path / "audit.log")
    for suffix, serial in ((".4", 1), (".2", 2), (".1", 3), ("", 4)):
        with open(base + suffix, "w") as f:
            f.write(text(kill_event(serial)))
    (tmp_path / "audit.log.07").write_text("not auditd's numbering")
    (tmp_path / "audit.log.x").write_text("nor this")
    gaps = []
    files = rotated_log_set(base, gaps)
    assert files == [base + ".4", base + ".2", base + ".1", base]
    assert gaps == [base + ".3"]
    assert [e["serial"] for e in parse_events(paths=files)] == [1, 2, 3, 4]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    TEXTS,
    st.builds(lambda sec, ms, serial, body: "type=SYSCALL msg=audit(%s.%s:%s): %s" % (sec, ms, serial, body),
              st.sampled_from(["1700000000", "99999999999999999999", "0", str(MAX_EPOCH), "1" * 40]),
              st.sampled_from(["000", "1", "0" * 12]),
              st.sampled_from(["1", "2", "9" * 25]), TEXTS),
    st.builds(lambda head, body: head + body,
              st.sampled_from(["type=EXECVE msg=audit(1.2:3): ", "type=PROCTITLE msg=audit(1.2:3): ",
                               "node=x type=SYSCALL msg=audit(1.2:3): ", "type=OBJ_PID msg=audit(1.2:3): "]),
              TEXTS)), max_size=20))
def test_fuzz_hostile_fragments_never_raise_and_lose_no_record(lines):
    data = "\n".join(lines)
    for keys in (None, ["kill_rule"], ["k1", ""]):
        stats = ParseStats()
        events = list(parse_events(data, keys=keys, stats=stats))
        json.dumps(events)
        list(kill_reports(events=events))
        if keys is None:
            assert sum(len(e["records"]) for e in events) == stats.records
            assert stats.skipped.get("undecodable_events", 0) == 0
    for max_open, max_bytes in ((1, 1 << 20), (2048, 64)):
        stats = ParseStats()
        groups = list(group_records(iter([data]), stats, max_open=max_open, max_open_bytes=max_bytes))
        assert sum(len(g.records) for g in groups) == stats.records
