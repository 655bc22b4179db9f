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
import errno
import gzip
import hashlib
import json
import os
import pwd
import re
import stat
import time

from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    DEFAULT_EOE_TIMEOUT, GZIP_ERRORS, ParseStats, _blocks_from_binary, _Filter, build_event,
    event_keys, event_time, group_records, keyed_groups)
from ansible_collections.auditfleet.auditd.plugins.module_utils import _files
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import (
    report_from_event, report_from_records)

AUDITD_CONF = "/etc/audit/auditd.conf"
DEFAULT_LOG = "/var/log/audit/audit.log"
CURSOR_VERSION = 1
HEAD_BYTES = 4096
# events that ended with the input and are younger than this may still get records
HOLD_SECONDS = DEFAULT_EOE_TIMEOUT + 1


_CONF_NAME = re.compile(r"[A-Za-z_]+\Z")


class FactsError(Exception):
    """A problem the user must fix; the message says what and where."""


def read_auditd_conf(path=AUDITD_CONF):
    """auditd.conf -> dict of its settings (keys lower case)."""
    settings = {}
    with open(path) as f:
        for line in f:
            name, sep, value = line.partition("=")
            name = name.strip()
            if sep and _CONF_NAME.match(name):
                settings[name.lower()] = value.strip()
    return settings


def default_log_file(conf_path=AUDITD_CONF):
    try:
        return read_auditd_conf(conf_path).get("log_file") or DEFAULT_LOG
    except (IOError, OSError, ValueError):  # ValueError: not UTF-8
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


# A cursor holds the lines of events still open (bounded by the parser's MAX_OPEN_BYTES)
# and the ids of the last second's events: far less than this.
MAX_CURSOR_BYTES = 16 << 20
# Temp files of save_cursor: ".<cursor name>.<random>.auditfleet-tmp" next to the cursor;
# "<cursor name>.tmp.<pid>" is the name development versions used. Older ones than this are
# left over by a run that was killed, and removed by the next save.
TEMP_SUFFIX = ".auditfleet-tmp"
STALE_TEMP_SECONDS = 600
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


class CursorSaveError(Exception):
    """The cursor could not be saved; the facts read are still good."""


def _shown(value, limit=80):
    """VALUE for an error message: repr (control characters escaped), cut to LIMIT."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d characters)" % len(text)


def _is_int(value, low=0, high=None):
    return (isinstance(value, int) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high))


def _is_time(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and -1e13 < value < 1e13)


def check_cursor(cursor, path):
    """Raise FactsError naming the first field of CURSOR (loaded from PATH) that is not what
    save_cursor writes. A cursor that passes cannot make collect() fail."""
    def bad(field, value, what):
        raise FactsError("cursor file %s is not a valid audit_facts cursor: %s is %s, not %s; "
                         "remove it to start over" % (path, field, _shown(value), what))
    if not isinstance(cursor, dict):
        bad("the file", cursor, "a JSON object")
    if cursor.get("version") != CURSOR_VERSION or isinstance(cursor.get("version"), bool):
        raise FactsError("cursor file %s is not an audit_facts cursor (version %s); remove it "
                         "to start over" % (path, CURSOR_VERSION))
    ident = cursor.get("file")
    if not isinstance(ident, dict):
        bad("file", ident, "an object")
    for field in ("inode", "device", "size"):
        if not _is_int(ident.get(field)):
            bad("file." + field, ident.get(field), "an integer >= 0")
    if not _is_int(ident.get("head_len"), 0, HEAD_BYTES):
        bad("file.head_len", ident.get("head_len"), "an integer from 0 to %d" % HEAD_BYTES)
    sha = ident.get("head_sha256")
    if not isinstance(sha, str) or not _SHA256.match(sha):
        bad("file.head_sha256", sha, "a SHA-256 in hex")
    if not isinstance(cursor.get("path"), str):
        bad("path", cursor.get("path"), "a string")
    if not _is_int(cursor.get("offset")):
        bad("offset", cursor.get("offset"), "an integer >= 0")
    held = cursor.get("held_lines")
    if not isinstance(held, list):
        bad("held_lines", held, "a list")
    for line in held:
        if not isinstance(line, str) or "\n" in line or "\r" in line:
            bad("a line of held_lines", line, "a string of one line")
    last = cursor.get("last_time")
    if last is not None and not _is_time(last):
        bad("last_time", last, "a time in epoch seconds or null")
    ids = cursor.get("recent_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        bad("recent_ids", ids, "a list of event ids")
    if "updated" in cursor and not _is_time(cursor["updated"]):
        bad("updated", cursor["updated"], "a time in epoch seconds")


def load_cursor(path, warnings=None):
    """The cursor saved at PATH, or None (no cursor: read everything).

    Read with _files.read_regular: never through a symbolic link, never blocking on a FIFO.
    What cannot be read, or is not a regular file owned by this user and writable by it
    alone, is not trusted: a warning (in WARNINGS) says so and everything is read. A file
    that is not a cursor (bad JSON, wrong types) is a FactsError that names the field.
    """
    warnings = [] if warnings is None else warnings
    try:
        data, st = _files.read_regular(path, follow=False, what="cursor file",
                                       limit=MAX_CURSOR_BYTES)
    except _files.FileProblem as exc:
        if exc.kind == "too large":
            raise FactsError("%s: not an audit_facts cursor; remove it to start over" % exc.msg)
        if exc.kind is None and os.path.isdir(os.path.dirname(path) or ".") is False:
            return None  # a part of the path is not a directory: no cursor there yet
        warnings.append("%s; reading the whole log%s" % (
            exc.msg, ", and the cursor is not saved there" if exc.kind else ""))
        return None
    if data is None:
        return None
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        warnings.append("the cursor file %s is owned by uid %d or writable by others (mode "
                        "%04o): not trusted; reading the whole log" % (
                            _files.show(path), st.st_uid, stat.S_IMODE(st.st_mode)))
        return None
    try:
        cursor = json.loads(data.decode("utf-8"))
    except ValueError:  # bad JSON or UTF-8 (UnicodeDecodeError is a ValueError)
        raise FactsError("cursor file %s is not valid JSON; remove it to start over" % path)
    check_cursor(cursor, path)
    return cursor


def _temp_names(base):
    """The whole names of the temp files save_cursor makes for the cursor named BASE (mkstemp's
    8 random characters), and of those development versions made (BASE.tmp.<pid>)."""
    return re.compile(r"\.%s\.[a-z0-9_]{8}%s|%s\.tmp\.[0-9]+" % (
        re.escape(base), re.escape(TEMP_SUFFIX), re.escape(base)))


def save_cursor(path, cursor, now=None):
    """Write CURSOR to PATH atomically with _files.write_atomic (a new file made by mkstemp
    in the same directory, O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, synced, renamed over PATH).
    Temp files of this cursor left by runs that were killed (older than STALE_TEMP_SECONDS)
    are removed first. Returns their names; raises CursorSaveError if it cannot save (PATH
    is a directory or a link, its directory cannot be made or written, ...)."""
    directory = os.path.dirname(path) or "."
    base = os.path.basename(path)
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, 0o700)
        except OSError as exc:
            raise CursorSaveError("cannot save the cursor %s: cannot make its directory (%s)" % (
                _files.show(path), "a part of it is not a directory"
                if exc.errno in (errno.EEXIST, errno.ENOTDIR) else exc.strerror))
    removed = _files.remove_stale(directory, _temp_names(base), STALE_TEMP_SECONDS, now)
    try:
        kind = _files.lstat_kind(path)
        if kind is not None:
            raise CursorSaveError("cannot save the cursor: %s is %s, not a file" % (
                _files.show(path), kind))
        content = json.dumps(cursor, sort_keys=True).encode("utf-8")
        _files.write_atomic(path, content, 0o600, owner=None,
                            temp_prefix="." + base + ".", temp_suffix=TEMP_SUFFIX)
    except _files.FileProblem as exc:
        raise CursorSaveError("cannot save the cursor: %s" % exc.msg)
    return sorted(os.path.basename(p) for p in removed)


def plan_reads(files, cursor, warnings=None):
    """Which files to read from which offset, given the cursor of the last run.

    Returns (plan, how, restart): plan is a list of (path, offset); how says what was found;
    restart is True when the read does not continue the last one, so that events the
    cursor says were reported are skipped (by time and id).
    """
    warnings = [] if warnings is None else warnings
    if not cursor:
        return [(path, 0) for path in files], "no cursor: read everything", False
    last = cursor.get("file") or {}
    offset = cursor.get("offset", 0)
    for index, path in enumerate(files):
        if same_file(path, last):
            rest = [(p, 0) for p in files[index + 1:]]
            size = os.stat(path).st_size
            if not path.endswith(".gz") and offset > size:
                warnings.append(
                    "the cursor's offset %d is past the end of %s (%d bytes): read it again from "
                    "the start, skipping events reported before" % (offset, path, size))
                return [(path, 0)] + rest, "offset past the end of %s: read it again" % path, True
            return [(path, offset)] + rest, "continued %s at byte %d" % (path, offset), False
    return [(path, 0) for path in files], (
        "the file of the last run is gone (rotated away): read everything, skipping events "
        "reported before"), True


class _Reader(object):
    """Blocks of the planned reads, after the lines the cursor held back; remembers how far
    the last file was read."""

    def __init__(self, plan, held_lines, stats, warnings):
        self.plan = plan
        self.held_lines = held_lines
        self.stats = stats
        self.warnings = warnings
        self.last_path = None
        self.last_offset = 0
        self.last_identity = None
        self.restarted = False  # a compressed file's offset was past its end: read from 0

    def blocks(self):
        if self.held_lines:
            yield "\n".join(self.held_lines)
        for path, offset in self.plan:
            position = [offset]
            with open(path, "rb") as raw:
                # who the file is, from the file opened (it may be renamed while it is read)
                identity = file_identity(raw.fileno())
                fobj = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
                if offset and not self._seek(fobj, path, offset):
                    position = [0]
                yield from _blocks_from_binary(fobj, self.stats, position, partial_tail=False)
            self.last_path, self.last_offset, self.last_identity = path, position[0], identity

    def _seek(self, fobj, path, offset):
        """Seek to OFFSET; False (and back at 0) when it is past the end of the file, which
        only reading tells for compressed files."""
        try:
            reached = fobj.seek(offset)
        except GZIP_ERRORS:
            reached = -1
        if reached == offset:
            return True
        self.warnings.append("the cursor's offset %d is past the end of %s: read it again from "
                             "the start, skipping events reported before" % (offset, path))
        self.restarted = True
        try:
            fobj.seek(0)
        except GZIP_ERRORS:
            pass
        return False


# --------------------------------------------------------------------------------------
# Names from the host's user database (RAW logs have no ENRICHED part)

class _Names(object):
    """uid -> user name, remembered for at most ENTRIES uids (uids come from the log)."""
    ENTRIES = 4096

    def __init__(self):
        self.cache = {}

    def user(self, uid):
        if not isinstance(uid, int) or isinstance(uid, bool) or not 0 <= uid < 1 << 32:
            return None
        if uid not in self.cache:
            if len(self.cache) >= self.ENTRIES:
                self.cache.clear()
            try:
                self.cache[uid] = pwd.getpwuid(uid).pw_name
            except (KeyError, OverflowError):
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

# What the returned lists may hold, in characters of the events' log text (a kill report or
# an event takes about 3 times that as a dict, and again as JSON): far above 1000 real kill
# reports (about 1 KiB of text each) or execve events, but a bound on what an event
# with a huge command line or a kill(-1) with thousands of targets can do to the module's
# memory and to every fact cache.
RESULT_TEXT_BYTES = 8 << 20


class _Kept(object):
    """The most recent items, at most LIMIT of them (None: no count limit) and at most
    RESULT_TEXT_BYTES of log text; counts all it was given."""

    def __init__(self, limit):
        self.limit = limit
        self.items = collections.deque()
        self.size = 0
        self.total = 0
        self.dropped_for_size = 0

    def add(self, item, size):
        self.items.append((item, size))
        self.size += size
        self.total += 1
        if self.limit is not None and len(self.items) > self.limit:
            self.size -= self.items.popleft()[1]
        while self.size > RESULT_TEXT_BYTES and len(self.items) > 1:
            self.size -= self.items.popleft()[1]
            self.dropped_for_size += 1

    def values(self):
        return [item for item, _size in self.items]


def _event_size(pending):
    return sum(len(body) for _rtype, body in pending.records)


def collect(params, now=None):
    """Read the log as PARAMS say; return (result dict, new cursor or None).

    The result's "warnings" list what the caller should show (cursor edge cases, events
    that could not be decoded); nothing in the log makes this raise.
    """
    now = time.time() if now is None else now
    stats = ParseStats()
    warnings = []
    files = params["files"]
    cursor = params.get("cursor_state")
    plan, how, restart = plan_reads(files, cursor, warnings)
    reported_before = set(cursor.get("recent_ids", [])) if cursor else set()
    cursor_time = cursor.get("last_time") if cursor else None
    held = cursor.get("held_lines", []) if cursor else []
    # An event held back last time is read again from the held lines; when the read starts
    # over (copytruncate, an offset past the end), its records are in the files too: each
    # is kept once.
    held_events = _held_event_keys(held) if held else None
    reader = _Reader(plan, held, stats, warnings)
    keys = params.get("keys") or None
    key_set = frozenset(keys) if keys else None
    # time and syscall filters: the parser's own (keys are checked below, key_counts needs them)
    wanted = _Filter(None, None, params.get("since"), params.get("until"), params.get("syscalls"))
    report = params.get("report", "kill")
    limit = params.get("max_events") or None
    want_kills = report in ("kill", "both")
    want_events = report in ("events", "both")
    use_cursor = params.get("use_cursor", False)

    kills, events = _Kept(limit), _Kept(limit)
    key_counts = {}
    hold, recent_ids, last_time = [], [], cursor_time
    failed, first_error = 0, None
    names = _Names() if params.get("resolve_names", True) else None
    blocks = reader.blocks()
    groups = keyed_groups(blocks, keys, stats) if keys else group_records(blocks, stats)
    for pending in groups:
        stats.events += 1
        try:
            was_held = held_events is not None and (pending.node, pending.event_id) in held_events
            if was_held:
                _drop_repeated_records(pending)
            if use_cursor and pending.closed_by == "end" and pending.sec > now - HOLD_SECONDS:
                hold.extend(pending.lines())  # may still grow: read it again next time
                continue
            if pending.event_id in reported_before:
                continue
            stamp = event_time(pending.event_id)
            # read again from the start: what is older than the last run's newest event was
            # reported then, except the events it held back
            if (restart or reader.restarted) and cursor_time is not None and stamp < cursor_time \
                    and not was_held:
                continue
            if wanted.active and not wanted.accepts(pending):
                continue
            ev_keys = event_keys(pending.records)
            if key_set is not None and key_set.isdisjoint(ev_keys):
                continue
            # with report=both the event is built once and the kill report taken from it
            event = build_event(pending, True, stats) if want_events else None
            rep = None
            if want_kills:
                rep = report_from_records(pending) if event is None else report_from_event(event)
                if rep is not None:
                    rep["host"] = params.get("host_name")
                    if names is not None:
                        names.fill(rep)
        except Exception as exc:  # pylint: disable=broad-except
            # Nothing in a log should get here (the parser is fuzzed for it); if a bug does,
            # this event is counted and named in a warning, and the rest is still read.
            stats.skip("undecodable_events")
            failed += 1
            if first_error is None:
                first_error = "event %s: %s: %s" % (pending.event_id, type(exc).__name__, exc)
            continue
        stats.matched += 1
        for key in ev_keys:
            key_counts[key] = key_counts.get(key, 0) + 1
        if last_time is None or stamp >= last_time:
            if last_time is None or stamp > last_time:
                recent_ids = []
            last_time = stamp
            recent_ids.append(pending.event_id)
        size = _event_size(pending)
        if rep is not None:
            kills.add(rep, size)
        if event is not None:
            events.add(event, size)
    if failed:
        warnings.append("%d event(s) could not be decoded and were skipped (a bug: please report "
                        "it with the log lines); the first: %s" % (failed, first_error[:500]))
    for kept, what in ((kills, "kill reports"), (events, "events")):
        if kept.dropped_for_size:
            warnings.append(
                "%d older %s were left out to keep the result within %d MiB of log text (the "
                "events were unusually large)" % (kept.dropped_for_size, what, RESULT_TEXT_BYTES >> 20))

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
        "kill_reports": kills.values(),
        "events": events.values(),
        "warnings": warnings,
        "summary": {
            "files": [{"path": path, "offset": offset} for path, offset in plan],
            "read": how,
            "bytes_read": stats.bytes,  # the held-back lines are not read again from the file
            "key_counts": key_counts,
            "matched_events": stats.matched,
            "total_kill_reports": kills.total,
            "returned": {"kill_reports": len(kills.items), "events": len(events.items)},
            "truncated": len(kills.items) < kills.total or len(events.items) < events.total,
            "held_back_records": len(hold),
            "stats": stats.as_dict(),
        },
    }
    return result, new_cursor


def _held_event_keys(lines):
    """(node, event id) of the events of held-back lines."""
    found = set()
    for group in group_records(iter(["\n".join(lines)]), ParseStats()):
        found.add((group.node, group.event_id))
    return found


def _drop_repeated_records(pending):
    """Keep each record of PENDING once, in order: an event held back by the cursor and
    found again in the files (copytruncate) would otherwise have them twice, and a kill
    report two of each target."""
    seen = set()
    kept = []
    for record in pending.records:
        if record not in seen:
            seen.add(record)
            kept.append(record)
    pending.records = kept
