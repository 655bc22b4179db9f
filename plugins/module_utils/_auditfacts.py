# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit_facts module's engine: read a host's audit log with the collection's parser,
incrementally through a cursor if asked, and return kill reports, events and counts.

The cursor is a small JSON file on the host. It names the last file read by its inode and
the hash of its first bytes (a rotated file keeps its inode under a new name; a new file
with a recycled inode has other content), the offset read up to, and the lines of events
that were still open when the log ended (they may still grow: the next run reads them
again, before the new lines, so an event is reported once and whole).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import gzip
import hashlib
import json
import os
import pwd
import re
import time

from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    DEFAULT_EOE_TIMEOUT, ParseStats, _blocks_from_binary, _Filter, build_event, event_keys,
    event_time, group_records, keyed_groups)
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import (
    report_from_event, report_from_records)

AUDITD_CONF = "/etc/audit/auditd.conf"
DEFAULT_LOG = "/var/log/audit/audit.log"
CURSOR_VERSION = 1
HEAD_BYTES = 4096
# events that ended with the input and are younger than this may still get records
HOLD_SECONDS = DEFAULT_EOE_TIMEOUT + 1


class FactsError(Exception):
    """A problem the user must fix; the message says what and where."""


def read_auditd_conf(path=AUDITD_CONF):
    """auditd.conf -> dict of its settings (keys lower case)."""
    settings = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*([A-Za-z_]+)\s*=\s*(.*?)\s*$", line)
            if m:
                settings[m.group(1).lower()] = m.group(2)
    return settings


def default_log_file(conf_path=AUDITD_CONF):
    try:
        return read_auditd_conf(conf_path).get("log_file") or DEFAULT_LOG
    except (IOError, OSError):
        return DEFAULT_LOG


# --------------------------------------------------------------------------------------
# File identity and the cursor

def file_identity(fd):
    """Inode, device, size and the hash of the first bytes of the open file FD (its raw
    bytes: the identity of the file on disk, compressed or not)."""
    st = os.fstat(fd)
    head = os.pread(fd, HEAD_BYTES, 0)
    return {"inode": st.st_ino, "device": st.st_dev, "size": st.st_size,
            "head_len": len(head), "head_sha256": hashlib.sha256(head).hexdigest()}


def same_file(path, ident):
    """True when PATH is the file IDENT described: same inode and device, and its first
    head_len bytes are the ones seen then (a file only grows at the end)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if st.st_ino != ident.get("inode") or st.st_dev != ident.get("device"):
        return False
    if st.st_size < ident.get("size", 0):
        return False  # shorter than when it was read: not the same content
    with open(path, "rb") as f:
        head = f.read(ident.get("head_len", 0))
    return hashlib.sha256(head).hexdigest() == ident.get("head_sha256")


def load_cursor(path):
    try:
        with open(path) as f:
            cursor = json.load(f)
    except (IOError, OSError):
        return None
    except ValueError:
        raise FactsError("cursor file %s is not valid JSON; remove it to start over" % path)
    if not isinstance(cursor, dict) or cursor.get("version") != CURSOR_VERSION:
        raise FactsError("cursor file %s is not an audit_facts cursor (version %s); remove it "
                         "to start over" % (path, CURSOR_VERSION))
    return cursor


def save_cursor(path, cursor):
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(cursor, f, sort_keys=True)
    os.rename(tmp, path)


def plan_reads(files, cursor):
    """Which files to read from which offset, given the cursor of the last run.

    Returns (plan, how): plan is a list of (path, offset); how says what was found.
    """
    if not cursor:
        return [(path, 0) for path in files], "no cursor: read everything"
    last = cursor.get("file") or {}
    for index, path in enumerate(files):
        if same_file(path, last):
            return ([(path, cursor.get("offset", 0))] + [(p, 0) for p in files[index + 1:]],
                    "continued %s at byte %d" % (path, cursor.get("offset", 0)))
    return [(path, 0) for path in files], (
        "the file of the last run is gone (rotated away): read everything, skipping events "
        "reported before")


class _Reader(object):
    """Blocks of the planned reads, after the lines the cursor held back; remembers how far
    the last file was read."""

    def __init__(self, plan, held_lines, stats):
        self.plan = plan
        self.held_lines = held_lines
        self.stats = stats
        self.last_path = None
        self.last_offset = 0
        self.last_identity = None

    def blocks(self):
        if self.held_lines:
            yield "\n".join(self.held_lines)
        for path, offset in self.plan:
            position = [offset]
            with open(path, "rb") as raw:
                # who the file is, from the file opened (it may be renamed while it is read)
                identity = file_identity(raw.fileno())
                fobj = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
                if offset:
                    fobj.seek(offset)
                yield from _blocks_from_binary(fobj, self.stats, position, partial_tail=False)
            self.last_path, self.last_offset, self.last_identity = path, position[0], identity


# --------------------------------------------------------------------------------------
# Names from the host's user database (RAW logs have no ENRICHED part)

class _Names(object):
    def __init__(self):
        self.cache = {}

    def user(self, uid):
        if uid is None or not isinstance(uid, int):
            return None
        if uid not in self.cache:
            try:
                self.cache[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self.cache[uid] = None
        return self.cache[uid]

    def fill(self, report):
        killer = report["killer"]
        if killer["user"] is None:
            killer["user"] = self.user(killer["uid"])
        if killer["login_user"] is None:
            killer["login_user"] = self.user(killer["auid"])
        for target in report["targets"]:
            if target["user"] is None:
                target["user"] = self.user(target["uid"])
            if target["login_user"] is None:
                target["login_user"] = self.user(target["auid"])


# --------------------------------------------------------------------------------------
# Collection

def collect(params, now=None):
    """Read the log as PARAMS say; return (result dict, new cursor or None)."""
    now = time.time() if now is None else now
    stats = ParseStats()
    files = params["files"]
    cursor = params.get("cursor_state")
    plan, how = plan_reads(files, cursor)
    reported_before = set(cursor.get("recent_ids", [])) if cursor else set()
    skip_before = cursor.get("last_time") if cursor and how.startswith("the file of the last") else None
    held = cursor.get("held_lines", []) if cursor else []
    reader = _Reader(plan, held, stats)
    keys = params.get("keys") or None
    key_set = frozenset(keys) if keys else None
    # time and syscall filters: the parser's own (keys are checked below, key_counts needs them)
    wanted = _Filter(None, None, params.get("since"), params.get("until"), params.get("syscalls"))
    report = params.get("report", "kill")
    limit = params.get("max_events") or None
    want_kills = report in ("kill", "both")
    want_events = report in ("events", "both")
    use_cursor = params.get("use_cursor", False)

    kills = collections.deque(maxlen=limit)
    events = collections.deque(maxlen=limit)
    key_counts = {}
    total_kills = total_events = 0
    hold, recent_ids, last_time = [], [], (cursor or {}).get("last_time")
    names = _Names() if params.get("resolve_names", True) else None
    blocks = reader.blocks()
    groups = keyed_groups(blocks, keys, stats) if keys else group_records(blocks, stats)
    for pending in groups:
        stats.events += 1
        if use_cursor and pending.closed_by == "end" and pending.sec > now - HOLD_SECONDS:
            hold.extend(pending.lines())  # may still grow: read it again next time
            continue
        if pending.event_id in reported_before:
            continue
        stamp = event_time(pending.event_id)
        if skip_before is not None and stamp < skip_before:
            continue
        if wanted.active and not wanted.accepts(pending):
            continue
        ev_keys = event_keys(pending.records)
        if key_set is not None and key_set.isdisjoint(ev_keys):
            continue
        stats.matched += 1
        for key in ev_keys:
            key_counts[key] = key_counts.get(key, 0) + 1
        if last_time is None or stamp >= last_time:
            if last_time is None or stamp > last_time:
                recent_ids = []
            last_time = stamp
            recent_ids.append(pending.event_id)
        # with report=both the event is built once and the kill report taken from it
        event = build_event(pending, True) if want_events else None
        if want_kills:
            rep = report_from_records(pending) if event is None else report_from_event(event)
            if rep is not None:
                rep["host"] = params.get("host_name")
                if names is not None:
                    names.fill(rep)
                kills.append(rep)
                total_kills += 1
        if event is not None:
            events.append(event)
            total_events += 1

    new_cursor = None
    if use_cursor and reader.last_path is not None:
        new_cursor = {
            "version": CURSOR_VERSION,
            "file": reader.last_identity,
            "path": reader.last_path,
            "offset": reader.last_offset,
            "held_lines": hold,
            "last_time": last_time,
            "recent_ids": recent_ids[-1000:],
            "updated": now,
        }
        # the identity must describe the file as far as it was read
        new_cursor["file"]["size"] = min(new_cursor["file"]["size"], reader.last_offset)
    result = {
        "kill_reports": list(kills),
        "events": list(events),
        "summary": {
            "files": [{"path": path, "offset": offset} for path, offset in plan],
            "read": how,
            "bytes_read": stats.bytes,  # the held-back lines are not read again from the file
            "key_counts": key_counts,
            "matched_events": stats.matched,
            "total_kill_reports": total_kills,
            "returned": {"kill_reports": len(kills), "events": len(events)},
            "truncated": bool(limit) and (total_kills > limit or total_events > limit),
            "held_back_records": len(hold),
            "stats": stats.as_dict(),
        },
    }
    return result, new_cursor
