"""The auditfleet.auditd.audit_log event source: main(queue, args) on a log file that the test
writes, rotates and truncates, with kill events the kernel and auditd of this machine wrote
(conftest.real_kills); hand-written lines only for edge cases (garbage lines, a lost last record).

Every test ends by appending one more event (the sentinel) and waiting for it: an event sent
twice, or late, would arrive before it, so "exactly these, in this order" is checked without
waiting for something not to happen.
"""
import asyncio
import json
import logging
import os
import subprocess
import sys
import tracemalloc

import pytest
import yaml

from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports

from tests.lib.eventsource import ROOT, Log, Run

KILLS = 30  # conftest.real_kills

FAST = 0.02  # poll_interval of the tests
SENTINEL = KILLS - 1


def args_for(log, real_kills, **extra):
    args = {"path": log.path, "keys": [real_kills.key], "poll_interval": FAST}
    args.update(extra)
    return args


async def finish(run, log, real_kills, expected):
    """Append the sentinel, wait for it, check that exactly EXPECTED then it arrived."""
    log.append(real_kills.lines([SENTINEL]))
    await run.wait_for(len(expected) + 1)
    assert run.ids() == real_kills.ids(expected + [SENTINEL])


def test_follows_a_growing_file_and_sends_each_kill_once(plugin, real_kills, tmp_path):
    log = Log(str(tmp_path / "audit.log"))
    log.append(real_kills.lines([0, 1]))  # before the start: not sent

    async def scenario():
        async with Run(plugin, args_for(log, real_kills)) as run:
            await asyncio.sleep(0.2)
            log.append(real_kills.lines(range(2, 8)))
            await run.wait_for(6)
            report = run.got[0]["auditd"]
            assert report["type"] == "kill" and report["host"] and report["report"]["host"] == report["host"]
            first = report["report"]
            assert first["event_id"] == real_kills.events[2][0]
            assert first["syscall"] == "kill" and first["key"] == real_kills.key
            assert first["killer"]["comm"] == "kill" and first["killer"]["ppid"] == os.getpid()
            assert first["targets"][0]["comm"] == "sleep" and first["targets"][0]["pid"] == first["target_pid"]
            assert first["signal_name"] == "SIGHUP"  # conftest's signals: TERM, KILL, HUP, ...
            await finish(run, log, real_kills, list(range(2, 8)))

    asyncio.run(scenario())


def test_rename_rotation_loses_nothing_and_repeats_nothing(plugin, real_kills, tmp_path):
    log = Log(str(tmp_path / "audit.log"))

    async def scenario():
        async with Run(plugin, args_for(log, real_kills)) as run:
            await asyncio.sleep(0.2)
            log.append(real_kills.lines(range(0, 4)))
            await run.wait_for(1)
            # the consumer stops taking: the source is blocked with the old file part read
            run.hold()
            await asyncio.sleep(0.2)
            log.append(real_kills.lines(range(4, 6)))  # written to the old file, not read yet
            event6 = real_kills.events[6][1]
            log.append(event6[:-1])  # an event whose last record goes to the next file
            log.rotate()
            log.append(event6[-1:])
            log.append(real_kills.lines(range(7, 10)))
            run.release()
            await run.wait_for(10)
            # rotated while idle, twice before the source looks again is not needed: once more
            log.rotate()
            log.append(real_kills.lines(range(10, 12)))
            await finish(run, log, real_kills, list(range(0, 12)))

    asyncio.run(scenario())


def test_copytruncate_reads_the_unread_part_from_the_copy(plugin, real_kills, tmp_path):
    log = Log(str(tmp_path / "audit.log"))

    async def scenario():
        async with Run(plugin, args_for(log, real_kills)) as run:
            await asyncio.sleep(0.2)
            log.append(real_kills.lines(range(0, 4)))
            await run.wait_for(1)
            run.hold()
            await asyncio.sleep(0.2)
            log.append(real_kills.lines(range(4, 8)))  # only in the copy once truncated
            log.copytruncate()
            log.append(real_kills.lines(range(8, 10)))  # the truncated file grows again
            run.release()
            await run.wait_for(10)
            log.copytruncate()  # while idle: nothing unread
            log.append(real_kills.lines(range(10, 12)))
            await finish(run, log, real_kills, list(range(0, 12)))

    asyncio.run(scenario())


def test_cursor_restart_repeats_nothing_and_loses_nothing(plugin, real_kills, tmp_path):
    log = Log(str(tmp_path / "audit.log"))
    cursor = str(tmp_path / "cursor.json")
    args = args_for(log, real_kills, cursor=cursor)
    sent = []

    async def first():
        async with Run(plugin, args) as run:
            await asyncio.sleep(0.2)
            run.hold()
            log.append(real_kills.lines(range(0, 10)))  # read at once, in one batch
            await asyncio.sleep(0.2)
            run.allow(3)  # the consumer takes three, the source waits in the middle of the batch
            await run.wait_for(3)
            await asyncio.sleep(0.2)
            log.append(real_kills.events[10][1][:-1])  # an event still open at the stop
            await asyncio.sleep(0.2)
            await run.stop()
        sent.extend(run.got)

    async def second():
        async with Run(plugin, args) as run:
            log.append(real_kills.events[10][1][-1:])
            log.append(real_kills.lines(range(11, 14)))
            await run.wait_for(14 - len(sent))
            sent.extend(run.got)
            run.got = list(sent)
            await finish(run, log, real_kills, list(range(0, 14)))

    asyncio.run(first())
    assert 3 <= len(sent) < 10, "the first run should stop in the middle: %d sent" % len(sent)
    with open(cursor) as f:
        saved = json.load(f)
    assert saved["kind"] == "auditfleet.auditd.audit_log" and saved["held_lines"] == []
    assert oct(os.stat(cursor).st_mode & 0o777) == "0o600"
    asyncio.run(second())


def test_cursor_restart_across_a_rotation_while_stopped(plugin, real_kills, tmp_path):
    log = Log(str(tmp_path / "audit.log"))
    cursor = str(tmp_path / "cursor.json")
    args = args_for(log, real_kills, cursor=cursor)
    sent = []

    async def first():
        async with Run(plugin, args) as run:
            await asyncio.sleep(0.2)
            log.append(real_kills.lines(range(0, 3)))
            await run.wait_for(3)
            log.append(real_kills.events[3][1][:-1])  # open at the stop: kept in the cursor
            await asyncio.sleep(0.3)
            await run.stop()
        sent.extend(run.got)

    async def second():
        async with Run(plugin, args) as run:
            await run.wait_for(8 - len(sent))
            run.got = sent + run.got
            await finish(run, log, real_kills, list(range(0, 8)))

    asyncio.run(first())
    with open(cursor) as f:
        assert len(json.load(f)["held_lines"]) == 2  # SYSCALL and OBJ_PID of event 3
    log.append(real_kills.events[3][1][-1:])
    log.append(real_kills.lines([4, 5]))
    log.rotate()
    log.append(real_kills.lines([6, 7]))
    asyncio.run(second())


def test_file_gone_for_a_while(plugin, real_kills, tmp_path):
    log = Log(str(tmp_path / "audit.log"))

    async def scenario():
        async with Run(plugin, args_for(log, real_kills)) as run:
            await asyncio.sleep(0.2)
            log.append(real_kills.lines(range(0, 2)))
            await run.wait_for(2)
            with open(log.path, "ab") as old:  # auditd keeps writing to the file it has open
                os.unlink(log.path)
                await asyncio.sleep(0.2)
                old.write(b"".join(line + b"\n" for line in real_kills.lines(range(2, 4))))
                old.flush()
                await run.wait_for(4)
                await asyncio.sleep(0.3)  # the source looks for the file and does not find it
            # auditd restarted: a new file
            log.append(real_kills.lines(range(4, 6)))
            await finish(run, log, real_kills, list(range(0, 6)))

    asyncio.run(scenario())


def test_file_missing_at_start(plugin, real_kills, tmp_path):
    path = str(tmp_path / "audit.log")

    async def scenario():
        async with Run(plugin, {"path": path, "keys": [real_kills.key], "poll_interval": FAST}) as run:
            await asyncio.sleep(0.2)
            log = Log(path)
            log.append(real_kills.lines(range(0, 2)))  # a new file: all of it is new
            await finish(run, log, real_kills, [0, 1])

    asyncio.run(scenario())


def test_from_start_and_an_event_the_start_cuts(plugin, real_kills, tmp_path):
    log = Log(str(tmp_path / "audit.log"))
    log.append(real_kills.lines(range(0, 3)))
    log.append(real_kills.events[3][1][:-1])  # started in the middle of event 3

    async def scenario(from_start, expected):
        async with Run(plugin, args_for(log, real_kills, from_start=from_start)) as run:
            await asyncio.sleep(0.3)
            if not from_start:
                log.append(real_kills.events[3][1][-1:])
                log.append(real_kills.lines([4]))
            await run.wait_for(len(expected))
            await finish(run, log, real_kills, expected)

    asyncio.run(scenario(False, [3, 4]))  # event 3 whole, though it began before the start
    asyncio.run(scenario(True, [0, 1, 2, 3, 4, SENTINEL]))


def test_event_left_open_is_sent_when_the_log_goes_idle(plugin, real_kills, tmp_path):
    """Edge case by hand: a kill event whose PROCTITLE never comes (auditd lost it)."""
    log = Log(str(tmp_path / "audit.log"))

    async def scenario():
        async with Run(plugin, args_for(log, real_kills)) as run:
            await asyncio.sleep(0.2)
            log.append(real_kills.events[0][1][:-1])
            await run.wait_for(1, timeout=20)  # after 2 s without new lines
            report = run.got[0]["auditd"]["report"]
            assert report["event_id"] == real_kills.events[0][0]
            assert report["killer"]["cmdline"] is None and report["targets"][0]["comm"] == "sleep"
            await finish(run, log, real_kills, [0])

    asyncio.run(scenario())


def test_lines_that_are_not_records_are_counted_not_fatal(plugin, real_kills, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="auditfleet.auditd.audit_log")
    log = Log(str(tmp_path / "audit.log"))

    async def scenario():
        async with Run(plugin, args_for(log, real_kills)) as run:
            await asyncio.sleep(0.2)
            log.append([b"garbage \x00\xff not a record", b"type=SYSCALL msg=audit(broken"])
            log.append(real_kills.lines([0]))
            log.append([b"x" * (2 << 20)])  # a line longer than the parser's 1 MiB limit
            log.append(real_kills.lines([1]))
            await finish(run, log, real_kills, [0, 1])

    asyncio.run(scenario())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("not_a_record 2" in w and "line_too_long 1" in w for w in warnings), warnings


def test_events_report(plugin, real_kills, tmp_path):
    log = Log(str(tmp_path / "audit.log"))

    async def scenario():
        async with Run(plugin, args_for(log, real_kills, report="events", host="h1")) as run:
            await asyncio.sleep(0.2)
            log.append([b"type=USER_END msg=audit(1.000:1): pid=1 uid=0 msg='op=x res=success'"])
            log.append(real_kills.lines([0]))
            await run.wait_for(1)
            body = run.got[0]["auditd"]
            assert body["type"] == "event" and body["host"] == "h1"
            event = body["event"]
            assert event["event_id"] == real_kills.events[0][0] and event["key"] == real_kills.key
            assert event["types"] == ["SYSCALL", "OBJ_PID", "PROCTITLE"] and event["syscall"] == "kill"
            await finish(run, log, real_kills, [0])

    asyncio.run(scenario())


def gen_log(path, size):
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_log.py"), "--size", size, "--out", path],
                   check=True, stderr=subprocess.DEVNULL)


def read_position(path):
    """How far this process has read PATH (the source's file offset, from /proc)."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/%s" % fd) == path:
                with open("/proc/self/fdinfo/%s" % fd) as f:
                    return int(f.readline().split()[1])
        except OSError:
            continue
    return None


def test_slow_consumer_holds_the_reader_back(plugin, tmp_path):
    """Backpressure on a generated 16 MiB log: while the consumer takes nothing, the source
    reads no further and its memory does not grow; then every kill arrives, as the parser
    reads them from the whole file."""
    path = str(tmp_path / "audit.log")
    gen_log(path, "16M")
    size = os.path.getsize(path)
    # in the order events complete (the parser's grouping without the key fast path, which
    # orders interleaved events by their keyed record instead)
    expected = [r["event_id"] for r in kill_reports(path) if "kill_rule" in r["keys"]]
    assert sorted(expected) == sorted(r["event_id"] for r in kill_reports(path, keys=["kill_rule"]))
    assert len(expected) > 2000

    async def scenario():
        async with Run(plugin, {"path": path, "keys": ["kill_rule"], "from_start": True, "poll_interval": FAST}) as run:
            # exactly 20 taken, then none: a consumer left free until hold() raced the reader
            # chunks ahead on an idle machine (the bound below is about the source, not that race)
            run.hold()
            run.allow(20)
            await run.wait_for(20)
            await asyncio.sleep(0.5)
            held = len(run.got)
            position = read_position(path)
            tracemalloc.start()
            await asyncio.sleep(1.0)  # the consumer takes nothing for a second
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert len(run.got) == held
            assert position is not None and position <= 2 * plugin["READ_LIMIT"], (position, size)
            assert read_position(path) == position  # no further while held back
            assert peak < 1 << 20, peak  # nothing allocated while it waits
            run.release()
            await run.wait_for(len(expected), timeout=120)
            assert run.ids() == expected

    asyncio.run(scenario())


def test_memory_is_bounded_by_one_read(plugin, tmp_path):
    """A fast consumer through a 16 MiB log: peak memory stays far below the file's size."""
    path = str(tmp_path / "audit.log")
    gen_log(path, "16M")
    count = sum(1 for _r in kill_reports(path, keys=["kill_rule"]))

    async def scenario():
        tracemalloc.start()
        async with Run(plugin, {"path": path, "keys": ["kill_rule"], "from_start": True, "poll_interval": FAST}) as run:
            await run.wait_for(count, timeout=120)
            run.got = []  # what the consumer keeps is not the source's memory
            await asyncio.sleep(0.1)
            _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak

    peak = asyncio.run(scenario())
    assert peak < 12 << 20, "peak %.1f MiB reading a 16 MiB log" % (peak / 1048576.0)


# ---------------------------------------------------------------------------------------------
# Arguments

@pytest.mark.parametrize("args, message", [
    ({"path": "var/log/audit/audit.log"}, "path 'var/log/audit/audit.log' must be an absolute path"),
    ({"path": "/var/log/audit\n.log"}, "path '/var/log/audit\\n.log' contains a control character"),
    ({"path": 3}, "path must be a string, got integer 3"),
    ({"keys": "bad key"}, "key 'bad key' contains whitespace"),
    ({"keys": ["ok", "k\x1b[31m"]}, "key 'k\\x1b[31m' contains a control character"),
    ({"keys": []}, "keys must be a non-empty list of rule keys, got list []"),
    ({"report": "both"}, "report must be one of kill, events, got 'both'"),
    ({"from_start": "maybe"}, "from_start must be true or false, got string 'maybe'"),
    ({"cursor": "relative.json"}, "cursor 'relative.json' must be an absolute path"),
    ({"cursor": "/nonexistent-dir/c.json"}, "cursor '/nonexistent-dir/c.json': its directory '/nonexistent-dir' does not exist"),
    ({"host": ""}, "host must not be empty"),
    ({"host": "a\x00b"}, "host 'a\\x00b' contains a control character"),
    ({"poll_interval": 0}, "poll_interval must be a number of seconds from 0.01 to 60, got integer 0"),
    ({"poll_interval": True}, "poll_interval must be a number of seconds from 0.01 to 60, got boolean True"),
    ({"pth": "/x"}, "unknown argument 'pth'"),
])
def test_bad_arguments_are_refused_with_the_field_and_value(plugin, args, message):
    with pytest.raises(ValueError) as info:
        asyncio.run(plugin["main"](asyncio.Queue(), args))
    assert message in str(info.value)


def test_documentation_matches_the_arguments(plugin):
    doc = yaml.safe_load(plugin["DOCUMENTATION"])
    assert sorted(doc["options"]) == sorted(plugin["OPTIONS"])
    assert doc["options"]["report"]["choices"] == list(plugin["REPORTS"])
    defaults = plugin["parse_options"]({"host": "h"})
    for name, spec in doc["options"].items():
        if "default" in spec:
            assert defaults[name] == spec["default"], name
    examples = yaml.safe_load(plugin["EXAMPLES"])
    for example in examples:  # valid as they are (but the cursor's directory, not made here)
        args = dict(example["auditfleet.auditd.audit_log"], cursor=None)
        plugin["parse_options"](args)


def test_defaults(plugin):
    opts = plugin["parse_options"]({"eda_feedback_queue": object()})
    assert opts["path"] == "/var/log/audit/audit.log" and opts["report"] == "kill"
    assert opts["from_start"] is False and opts["cursor"] is None and opts["keys"] is None
    assert opts["host"] and opts["poll_interval"] == 0.25


def test_cursor_symlink_is_refused_and_never_followed(plugin, tmp_path):
    target = tmp_path / "target"
    target.write_text("precious")
    link = tmp_path / "cursor.json"
    link.symlink_to(target)
    with pytest.raises(ValueError) as info:
        plugin["parse_options"]({"cursor": str(link)})
    assert "is a symbolic link" in str(info.value)
    # a link planted after the start is replaced, not written through
    plugin["save_cursor"](str(link), {"file": None, "offset": 0}, [])
    assert target.read_text() == "precious" and not link.is_symlink()
    assert json.loads(link.read_text())["kind"] == "auditfleet.auditd.audit_log"


def test_bad_cursor_file_is_refused(plugin, tmp_path):
    cursor = tmp_path / "cursor.json"
    cursor.write_text("{not json")
    with pytest.raises(ValueError) as info:
        asyncio.run(plugin["main"](asyncio.Queue(), {"path": str(tmp_path / "a.log"), "cursor": str(cursor)}))
    assert "is not valid JSON; remove it to start over" in str(info.value)
    cursor.write_text(json.dumps({"kind": "auditfleet.auditd.audit_log", "version": 1, "offset": -1}))
    with pytest.raises(ValueError) as info:
        asyncio.run(plugin["main"](asyncio.Queue(), {"path": str(tmp_path / "a.log"), "cursor": str(cursor)}))
    assert "has a bad 'offset'" in str(info.value)
