"""GroupFeed: group_records fed block by block, as a reader that follows a log does."""
import os
import random
import subprocess
import sys

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    GroupFeed, ParseStats, group_records, iter_blocks)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated log (bench/gen_log.py: several nodes, interleaved events, RAW and ENRICHED)."""
    path = str(tmp_path_factory.mktemp("groupfeed") / "audit.log")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_log.py"), "--size", "1M", "--out", path],
                   check=True, stderr=subprocess.DEVNULL)
    with open(path) as f:
        return f.read()


def shape(group, closed_by=None):
    return (group.node, group.event_id, tuple(group.records), closed_by or group.closed_by)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fed_in_pieces_groups_as_the_whole_input(generated, seed):
    whole = ParseStats()
    expected = [shape(g) for g in group_records(iter_blocks(generated, stats=whole), whole)]
    stats = ParseStats()
    feed = GroupFeed(stats)
    got = []
    lines = generated.rstrip("\n").split("\n")
    rng = random.Random(seed)
    i = 0
    while i < len(lines):
        n = rng.randint(1, 40)
        got.extend(shape(g) for g in feed.feed("\n".join(lines[i:i + n])))
        i += n
    # what the input's end completes in group_records, flush() completes here
    got.extend(shape(g, "end") for g in feed.flush())
    assert got == expected and len(got) > 1000
    assert (stats.lines, stats.records) == (whole.lines, whole.records)


def test_open_groups_and_flush():
    feed = GroupFeed()
    done = feed.feed('type=SYSCALL msg=audit(100.001:7): arch=c000003e syscall=62 key="k"\n'
                     'type=OBJ_PID msg=audit(100.001:7): opid=5 ocomm="sleep"\n'
                     "type=USER_END msg=audit(100.002:8): pid=1 msg='op=x res=success'")
    assert [g.event_id for g in done] == ["100.002:8"]  # a record that stands alone
    assert [g.event_id for g in feed.open_groups] == ["100.001:7"]
    assert feed.open_groups[0].lines() == [
        'type=SYSCALL msg=audit(100.001:7): arch=c000003e syscall=62 key="k"',
        'type=OBJ_PID msg=audit(100.001:7): opid=5 ocomm="sleep"']
    assert feed.feed("") == [] and len(feed.open_groups) == 1
    flushed = feed.flush()
    assert [(g.event_id, g.closed_by, len(g.records)) for g in flushed] == [("100.001:7", "idle", 2)]
    assert feed.open_groups == []
    # and it goes on: the next event is grouped as before
    done = feed.feed("type=PROCTITLE msg=audit(103.000:9): proctitle=736C656570")
    assert [(g.event_id, g.closed_by) for g in done] == [("103.000:9", "record")]


def test_time_rule_and_counters_between_feeds():
    stats = ParseStats()
    feed = GroupFeed(stats)
    assert feed.feed("type=SYSCALL msg=audit(100.000:1): syscall=62\nnot a record") == []
    assert stats.lines == 2 and stats.records == 1 and stats.skipped == {"not_a_record": 1}
    # a record more than 2 s newer completes the older event (auditd's end_of_event_timeout)
    done = feed.feed("type=SYSCALL msg=audit(103.000:2): syscall=62")
    assert [(g.event_id, g.closed_by) for g in done] == [("100.000:1", "timeout")]
    assert stats.lines == 3 and stats.records == 2
