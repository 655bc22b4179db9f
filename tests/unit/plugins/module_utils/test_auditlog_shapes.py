"""The record shapes of issue 9 as small hand-written logs (fixtures/shapes), one file a shape.

Written for this collection in the shapes the issue names (records from the dispatcher with
EOE, kernel anomalies inside a syscall, UNKNOWN[N] types, audit 1.x user messages, DAEMON
records without the colon, SELinux AVCs, hex keys, a late record, the serial rollover); the
values are made up. Every file parses whole, the key fast path gives the events and kill
reports of the full path for every key, and each shape has a test of what it must give.
test_auditlog_auparse.py compares them with libauparse.
"""
import os

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import ParseStats, parse_events
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports

SHAPES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "shapes")
NAMES = sorted(name for name in os.listdir(SHAPES) if name.endswith(".log"))
# "type=UNKNOWN[1329] msg=?" (AUDIT_REPLACE) carries no audit(...) stamp: no record (auparse
# skips it too)
NOT_RECORDS = {"daemon-no-colon.log": {"not_a_record": 1}}
# an EOE alone (the rest of its event is not in the file) is no event
NO_EVENTS = ("eoe-alone.log",)


def shape_text(name):
    with open(os.path.join(SHAPES, name), "rb") as f:
        return f.read().decode("utf-8", "surrogateescape")


def events_of(name, **kw):
    return list(parse_events(shape_text(name), **kw))


def test_the_shapes_are_there():
    assert len(NAMES) >= 11


@pytest.mark.parametrize("name", NAMES)
def test_every_shape_is_read_whole_and_alike_on_both_paths(name):
    text = shape_text(name)
    stats = ParseStats()
    events = list(parse_events(text, stats=stats))
    assert (not events) == (name in NO_EVENTS)
    assert stats.skipped == NOT_RECORDS.get(name, {}), (name, stats.skipped)
    assert sum(len(e["records"]) for e in events) <= stats.records
    keys = sorted(set(k for e in events for k in e["keys"]))
    for key in keys:
        full = [e for e in events if key in e["keys"]]
        fast = list(parse_events(text, keys=[key]))
        assert sorted(map(repr, fast)) == sorted(map(repr, full)), (name, key)
        assert sorted(map(repr, kill_reports(text, keys=[key]))) == \
            sorted(map(repr, kill_reports(events=full, keys=[key]))), (name, key)


def test_eoe_after_proctitle_is_not_a_second_event():
    events = events_of("eoe-after-proctitle.log")
    assert [(e["event_id"], e["types"]) for e in events] == [
        ("1700001000.100:501", ["SYSCALL", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE"]),
        ("1700001000.200:502", ["SYSCALL", "OBJ_PID", "PROCTITLE"])]
    [report] = kill_reports(shape_text("eoe-after-proctitle.log"), keys=["kills"])
    assert report["killer"]["argv"] == ["kill", "1000"] and report["targets"][0]["pid"] == 1000
    assert not events_of("eoe-alone.log")


def test_an_anomaly_and_eoe_stay_in_the_event_of_their_syscall():
    [event] = events_of("anom-promiscuous.log")
    assert event["types"] == ["ANOM_PROMISCUOUS", "SYSCALL", "SOCKADDR", "EOE"]
    assert event["syscall"] == "sendto" and event["records"][1]["fields"]["comm"] == "containerd"
    assert event["records"][0]["fields"]["dev"] == "veth1a2b3c4"
    assert event["records"][0]["enriched"] == {"AUID": "unset", "UID": "root", "GID": "root"}


def test_unknown_type_numbers_are_read_as_the_type():
    kill, bpf = events_of("unknown-types.log")
    assert kill["types"] == ["SYSCALL", "OBJ_PID", "PROCTITLE"]
    assert kill["records"][-1]["fields"]["proctitle"] == ["/bin/sh", "-c", "kill -TERM 4242"]
    [report] = kill_reports(shape_text("unknown-types.log"), keys=["kills"])
    assert report["killer"]["cmdline"] == "/bin/sh -c kill -TERM 4242"
    assert bpf["types"] == ["BPF"] and bpf["records"][0]["fields"]["prog-id"] == "12"


def test_old_user_message_format():
    su, cron = events_of("audit1-user-message.log")
    fields = su["records"][0]["fields"]
    assert fields["terminal"] == "pts/1" and fields["res"] == "success" and fields["exe"] == "/bin/su"
    assert fields["hostname"] is None and fields["addr"] is None and fields["acct"] == "root"
    fields = cron["records"][0]["fields"]
    assert fields["terminal"] == "cron" and fields["exe"] == "/usr/sbin/crond"
    for event in (su, cron):
        assert not [n for n in event["records"][0]["fields"] if n.startswith("(") or n.endswith(":")]


def test_daemon_records_without_the_colon():
    events = dict((e["event_id"], e) for e in events_of("daemon-no-colon.log"))
    assert sorted((i, e["types"]) for i, e in events.items()) == [
        ("1400000000.100:5400", ["DAEMON_START"]), ("1400000000.200:5", ["CONFIG_CHANGE"]),
        ("1400000000.500:12", ["DAEMON_CONFIG"]), ("1400000900.000:5401", ["DAEMON_END"])]
    fields = events["1400000000.500:12"]["records"][0]["fields"]
    assert fields == {"auid": 0, "pid": 812, "subj": "unconfined", "res": "success"}
    assert events["1400000000.100:5400"]["records"][0]["fields"]["format"] == "raw"


def test_selinux_avc_result_and_permissions():
    [denied] = [e for e in events_of("avc.log") if e["event_id"] == "1100000100.700:90"]
    fields = denied["records"][0]["fields"]
    assert (fields["seresult"], fields["seperms"]) == ("denied", "read,write")
    assert fields["tclass"] == "dir" and fields["comm"] == "mailer"
    [granted] = [e for e in events_of("avc.log") if e["event_id"] == "1700005000.500:940"]
    assert (granted["records"][0]["fields"]["seresult"], granted["records"][0]["fields"]["seperms"]) == \
        ("granted", "setsecparam")


def test_a_quote_inside_a_user_message():
    [event] = events_of("user-message-quote.log")
    fields = event["records"][0]["fields"]
    assert fields["acct"] == "it's <me>" and fields["res"] == "failed"
    assert fields["exe"] == "/usr/bin/python3.11" and fields["op"] == "PAM:authentication"


def test_a_hex_key_with_a_stray_quote():
    [event] = events_of("hex-key.log")
    assert event["keys"] == ["run", "64bit"]
    assert [e["event_id"] for e in events_of("hex-key.log", keys=["64bit"])] == ["1700006000.600:1050"]


def test_a_late_record_gives_the_same_events_on_both_paths():
    # event 60's second PATH comes 7 s later, after event 61's SYSCALL: the full path closes
    # event 60 when that SYSCALL comes, and the late PATH is a group of its own
    text = shape_text("out-of-order.log")
    full = list(parse_events(text))
    assert [(e["event_id"], e["types"]) for e in full if e["event_id"] == "1700007000.038:60"] == [
        ("1700007000.038:60", ["SYSCALL", "EXECVE", "CWD", "PATH"]), ("1700007000.038:60", ["PATH"])]
    fast = list(parse_events(text, keys=["commands"]))
    assert fast == [e for e in full if "commands" in e["keys"]]
    assert [e["event_id"] for e in fast] == ["1700007000.036:59", "1700007000.038:60"]


def test_the_serial_rolls_over():
    # the serial after 4294967295 is 0: four events, in the order written, on both paths
    ids = ["1700008000.100:4294967294", "1700008009.700:4294967295", "1700008009.700:0", "1700008009.701:1"]
    assert [(e["event_id"], e["types"]) for e in events_of("rollover.log")] == \
        [(i, ["SYSCALL", "PROCTITLE"]) for i in ids]
    assert [e["event_id"] for e in events_of("rollover.log", keys=["net"])] == ids
