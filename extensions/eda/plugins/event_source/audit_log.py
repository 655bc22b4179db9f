# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""auditfleet.auditd.audit_log: an ansible-rulebook event source that follows an audit log.

The log is read with the collection's one parser (plugins/module_utils/_auditlog.py, grouping
through its GroupFeed) and kill reports are made by _killreport.py, as everywhere else in the
collection. This file only follows the file (rotation, truncation, the file gone for a while),
keeps the cursor, and puts events on the queue.

Reading, grouping and building events run in one worker thread; the event loop only waits for
it and puts what it made on the queue. The next part of the log is read only after everything
made from the previous part is on the queue, so a slow consumer holds the reader back (memory
stays bounded by one read, READ_LIMIT bytes, whatever the log rate).
"""

import asyncio
import concurrent.futures
import hashlib
import importlib
import json
import logging
import os
import socket
import sys
import tempfile
import time
from typing import Any

DOCUMENTATION = r"""
---
short_description: Follow a Linux audit log and send kill reports or events as they happen.
description:
  - An ansible-rulebook event source plugin that follows an audit log (the file auditd writes)
    and puts each matching event on the queue as soon as it is complete.
  - Events are read with the collection's audit-log parser, the one its modules, filters and
    lookup use; kill reports have the fields of the collection's kill report
    (C(docs/kill-report.md)).
  - Follows the log through rotation by rename (auditd's C(max_log_file_action = ROTATE) and
    C(auditctl --signal USR1)) and by copy and truncate (logrotate's C(copytruncate)), through
    auditd restarts and through the file missing for a while.
  - An event whose last record has not come yet when the log goes idle is completed after
    2 seconds without new lines (auditd's C(end_of_event_timeout)).
  - Lines that are not audit records are skipped and counted (logged as a warning), never fatal.
  - Memory is bounded whatever the log rate; a slow consumer slows the reader down.
  - >-
    Each event is C({"auditd": {"type": "kill", "host": HOST, "report": KILL_REPORT}}) with
    O(report=kill), or C({"auditd": {"type": "event", "host": HOST, "event": EVENT}}) with
    O(report=events).
options:
  path:
    description:
      - The audit log to follow (an absolute path). Its rotated files are C(PATH.1), C(PATH.2) and
        so on, as auditd names them.
    type: str
    default: /var/log/audit/audit.log
  keys:
    description:
      - Only events with one of these audit rule keys (C(-k)). Without it, every kill
        (O(report=kill)) or every event (O(report=events)).
    type: list
    elements: str
  report:
    description:
      - V(kill) sends the kill report of each kill, tkill and tgkill event; V(events) sends
        each parsed event.
    type: str
    choices: [kill, events]
    default: kill
  from_start:
    description:
      - Read what the file already holds first. By default only events written after the
        source started are sent (an event it started in the middle of is sent whole).
      - Ignored when O(cursor) names a cursor file that exists.
    type: bool
    default: false
  cursor:
    description:
      - A file (absolute path) where the source keeps how far it has read. After a restart it
        continues there, through rotations that happened meanwhile, so that no event is lost
        or sent twice. Its directory must exist; the file is created with mode 0600.
      - After a clean stop nothing is lost or repeated. After a crash, the events sent in the
        last second before it may be sent again.
    type: str
  host:
    description:
      - The host name put in each event (and in each kill report's C(host)).
      - By default the host name of the machine the source runs on.
    type: str
  poll_interval:
    description:
      - Seconds between two looks at an idle log (0.01 to 60).
    type: float
    default: 0.25
"""

EXAMPLES = r"""
- name: Kill reports of the kill rule, from the log auditd writes
  auditfleet.auditd.audit_log:
    keys: [kill_rule]

- name: Every event of two keys, resuming where the last run stopped
  auditfleet.auditd.audit_log:
    path: /var/log/audit/audit.log
    keys: [kill_rule, identity]
    report: events
    cursor: /var/lib/auditfleet/eda_audit_log.cursor
"""

LOG = logging.getLogger("auditfleet.auditd.audit_log")

DEFAULT_PATH = "/var/log/audit/audit.log"
REPORTS = ("kill", "events")
OPTIONS = ("path", "keys", "report", "from_start", "cursor", "host", "poll_interval")
# at most this many bytes of the log per read: what one read can make is what memory holds
READ_LIMIT = 256 * 1024
# with from_start false, this much of the file's end is grouped (and not sent) to find the
# events the source starts in the middle of
START_TAIL = 64 * 1024
HEAD_BYTES = 4096  # a file is recognised by its first bytes (and a copy of it likewise)
SAVE_INTERVAL = 1.0  # seconds between two cursor writes while events flow
STATS_INTERVAL = 60.0  # seconds between two warnings about skipped lines
CURSOR_VERSION = 1
CURSOR_KIND = "auditfleet.auditd.audit_log"
CURSOR_MAX_BYTES = 16 << 20
RECENT_IDS = 1000


# ---------------------------------------------------------------------------------------------
# The collection's parser. ansible-rulebook runs this file with runpy, outside Ansible's
# collection loader: the directory that holds ansible_collections/ must be on sys.path.

def _import_parser():
    here = os.path.abspath(__file__)
    collection = here
    for _level in range(5):  # event_source, plugins, eda, extensions, <name>
        collection = os.path.dirname(collection)
    namespace = os.path.dirname(collection)
    top = os.path.dirname(namespace)
    if (os.path.basename(top) == "ansible_collections" and os.path.basename(namespace) == "auditfleet"
            and os.path.basename(collection) == "auditd"):
        root = os.path.dirname(top)
        if root not in sys.path:
            sys.path.append(root)
    names = ("_auditlog", "_killreport", "_auditfacts", "_rulecheck")
    try:
        return [importlib.import_module("ansible_collections.auditfleet.auditd.plugins.module_utils." + name)
                for name in names]
    except ImportError as exc:
        raise ImportError(
            "auditfleet.auditd.audit_log cannot import the collection's parser (%s): run it from an "
            "installed collection (a path ending in ansible_collections/auditfleet/auditd), not "
            "from a copy of the plugin file; this one is %s" % (exc, here))


_auditlog, _killreport, _auditfacts, _rulecheck = _import_parser()


# ---------------------------------------------------------------------------------------------
# Arguments

class OptionError(ValueError):
    """An argument the source cannot run with; the message names it and its value."""


def _control_chars(text):
    return any(ord(ch) < 32 or ord(ch) == 127 or 0x80 <= ord(ch) < 0xA0 for ch in text)


def _type_name(value):
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", dict: "mapping", list: "list",
            str: "string"}.get(type(value), type(value).__name__)


def _string(name, value, limit=4096):
    if not isinstance(value, str):
        raise OptionError("audit_log: %s must be a string, got %s %r" % (name, _type_name(value), value))
    if not value:
        raise OptionError("audit_log: %s must not be empty" % name)
    if _control_chars(value):
        raise OptionError("audit_log: %s %r contains a control character" % (name, value))
    if len(value) > limit:
        raise OptionError("audit_log: %s is %d characters long (at most %d): %r..."
                          % (name, len(value), limit, value[:64]))
    return value


def _abspath(name, value):
    _string(name, value)
    if not os.path.isabs(value):
        raise OptionError("audit_log: %s %r must be an absolute path" % (name, value))
    return os.path.normpath(value)


def _boolean(name, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "off", "0"):
        return False
    raise OptionError("audit_log: %s must be true or false, got %s %r" % (name, _type_name(value), value))


def parse_options(args):
    """The source's arguments, checked and with defaults -> dict. Raises OptionError."""
    if not isinstance(args, dict):
        raise OptionError("audit_log: the arguments must be a mapping, got %s" % _type_name(args))
    unknown = sorted(str(k) for k in args if k not in OPTIONS and not str(k).startswith("eda_"))
    if unknown:
        raise OptionError("audit_log: unknown argument %r (known: %s)" % (unknown[0], ", ".join(OPTIONS)))
    opts = {}
    opts["path"] = _abspath("path", args.get("path", DEFAULT_PATH))
    keys = args.get("keys")
    if keys is not None:
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys:
            raise OptionError("audit_log: keys must be a non-empty list of rule keys, got %s %r"
                              % (_type_name(keys), keys))
        for key in keys:
            problem = _rulecheck.check_key(key)
            if problem:
                raise OptionError("audit_log: keys: %s" % problem)
    opts["keys"] = keys
    report = args.get("report", "kill")
    if report not in REPORTS:
        raise OptionError("audit_log: report must be one of %s, got %r" % (", ".join(REPORTS), report))
    opts["report"] = report
    opts["from_start"] = _boolean("from_start", args.get("from_start", False))
    cursor = args.get("cursor")
    if cursor is not None:
        cursor = _abspath("cursor", cursor)
        directory = os.path.dirname(cursor)
        if not os.path.isdir(directory):
            raise OptionError("audit_log: cursor %r: its directory %r does not exist" % (cursor, directory))
        if os.path.islink(cursor):
            raise OptionError("audit_log: cursor %r is a symbolic link; name the file itself" % cursor)
        if os.path.lexists(cursor) and not os.path.isfile(cursor):
            raise OptionError("audit_log: cursor %r exists and is not a regular file" % cursor)
    opts["cursor"] = cursor
    host = args.get("host")
    opts["host"] = socket.gethostname() if host is None else _string("host", host, limit=255)
    interval = args.get("poll_interval", 0.25)
    if isinstance(interval, str):
        try:
            interval = float(interval)
        except ValueError:
            pass
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0.01 <= interval <= 60:
        raise OptionError("audit_log: poll_interval must be a number of seconds from 0.01 to 60, got %s %r"
                          % (_type_name(interval), interval))
    opts["poll_interval"] = float(interval)
    return opts


# ---------------------------------------------------------------------------------------------
# Following the file

class _Limited:
    """Reads of a binary file that stop (return b"") after LIMIT bytes."""

    def __init__(self, fobj, limit):
        self.fobj = fobj
        self.left = limit

    def read(self, size):
        if self.left <= 0:
            return b""
        data = self.fobj.read(min(size, self.left))
        self.left -= len(data)
        return data


def _head_matches(fd, head):
    return os.pread(fd, len(head), 0) == head


class _File:
    """One log file open for reading: how far its whole lines were handed out, and its first
    bytes (up to HEAD_BYTES), which recognise it after a rename and find its copy."""

    def __init__(self, path, fobj, offset=0):
        st = os.fstat(fobj.fileno())
        self.path = path
        self.fobj = fobj
        self.device, self.inode = st.st_dev, st.st_ino
        self.offset = offset
        self.head = os.pread(fobj.fileno(), min(HEAD_BYTES, offset), 0)
        self.in_long_line = False  # skipping the rest of a line longer than the parser's limit

    @classmethod
    def open(cls, path, offset=0):
        try:
            fobj = open(path, "rb", buffering=0)  # noqa: SIM115 (kept open while followed)
        except FileNotFoundError:
            return None
        return cls(path, fobj, offset)

    def same_inode(self, st):
        return (st.st_dev, st.st_ino) == (self.device, self.inode)

    def size(self):
        return os.fstat(self.fobj.fileno()).st_size

    def read(self, stats, limit=READ_LIMIT, final=False):
        """Text blocks of the whole lines after the offset, about LIMIT bytes at most.
        FINAL: the file is complete; a last line without a newline is handed out too."""
        if self.in_long_line and not self._skip_rest_of_line():
            return []
        position = [self.offset]
        self.fobj.seek(self.offset)
        reader = _Limited(self.fobj, limit)
        blocks = list(_auditlog._blocks_from_binary(reader, stats, position, partial_tail=False))
        if not blocks and reader.left <= 0 and limit < _auditlog.MAX_LINE + 2:
            return self.read(stats, _auditlog.MAX_LINE + 2, final)  # a line longer than LIMIT
        if position[0] > self.offset and os.pread(self.fobj.fileno(), 1, position[0] - 1) != b"\n":
            self.in_long_line = True  # the parser skipped the start of an overlong line
        if final and reader.left > 0 and position[0] < self.size():
            self.fobj.seek(position[0])
            blocks.extend(_auditlog._blocks_from_binary(self.fobj, stats, position, partial_tail=True))
        self.offset = position[0]
        if len(self.head) < HEAD_BYTES and self.offset > len(self.head):
            self.head = os.pread(self.fobj.fileno(), min(HEAD_BYTES, self.offset), 0)
        return blocks

    def _skip_rest_of_line(self):
        """Past the newline that ends the overlong line being skipped; False: not written yet."""
        self.fobj.seek(self.offset)
        while True:
            data = self.fobj.read(1 << 16)
            if not data:
                return False
            cut = data.find(b"\n")
            if cut >= 0:
                self.offset += cut + 1
                self.in_long_line = False
                return True
            self.offset += len(data)

    def identity(self):
        return {"device": self.device, "inode": self.inode, "head_len": len(self.head),
                "head_sha256": hashlib.sha256(self.head).hexdigest()}

    def close(self):
        self.fobj.close()


def _same_content(path, identity, offset):
    """PATH holds at least OFFSET bytes and begins as the file IDENTITY describes."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_size < offset:
                return False
            head = f.read(identity["head_len"])
    except OSError:
        return False
    return hashlib.sha256(head).hexdigest() == identity["head_sha256"]


class Follower:
    """The log at PATH, followed through rotation: read() returns text blocks of new lines.

    - Rename (auditd's rotation): once PATH is another file, the old one is read to its end,
      then its successor in the rotated set (PATH.N ... PATH.1, PATH), or PATH itself.
    - Copy and truncate: when the file is shorter than what was read (or begins with other
      bytes), the part not read yet is read from the copy (a file beside it that begins with
      the same bytes), then the file again from its start.
    - PATH missing: the open file is still read (auditd may go on writing to it); a new file
      at PATH is read from its start.
    """

    def __init__(self, path, stats):
        self.path = path
        self.stats = stats
        self.cur = None  # the _File being read
        self.then = None  # after cur's end (copy and truncate: the truncated file)
        self.retired = False  # cur is no longer at PATH: read it to its end, then move on
        self.notes = []  # what happened, for the log: (level, message)

    def state(self):
        if self.cur is None:
            return None, 0
        return self.cur.identity(), self.cur.offset

    def start_at(self, path, offset):
        self.cur = _File.open(path, offset)

    def _rotated_set(self):
        return _auditlog.rotated_log_set(self.path)

    def _copy_candidates(self):
        found = []
        directory = os.path.dirname(self.path) or "."
        prefix = os.path.basename(self.path)
        try:
            names = os.listdir(directory)
        except OSError:
            return found
        for name in sorted(names):
            if name.startswith(prefix) and name != prefix and not name.endswith(".gz"):
                found.append(os.path.join(directory, name))
        return found[:64]

    def _check_truncated(self):
        cur = self.cur
        if cur.offset == 0:
            return
        fd = cur.fobj.fileno()
        if cur.size() >= cur.offset and _head_matches(fd, cur.head):
            return
        ident = cur.identity()
        for candidate in self._copy_candidates():
            try:
                st = os.stat(candidate)
            except OSError:
                continue
            if cur.same_inode(st) or not _same_content(candidate, ident, cur.offset):
                continue
            copy = _File.open(candidate, cur.offset)
            if copy is not None:
                self.notes.append((logging.INFO, "%s was truncated: reading its last %d bytes from its copy %s"
                                   % (cur.path, copy.size() - cur.offset, candidate)))
                cur.offset, cur.head = 0, b""
                self.cur, self.then = copy, cur
                return
        self.notes.append((logging.WARNING, "%s was truncated and no copy of it was found: what was "
                           "written after byte %d before the truncation is lost" % (cur.path, cur.offset)))
        cur.offset, cur.head = 0, b""

    def _moved(self):
        """PATH names another file now (rotated, or made anew)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return False  # gone for now: auditd may still write to the open file
        return not self.cur.same_inode(st)

    def _successor(self):
        files = self._rotated_set()
        for index, path in enumerate(files):
            try:
                st = os.stat(path)
            except OSError:
                continue
            if self.cur.same_inode(st):
                if index + 1 < len(files):
                    return _File.open(files[index + 1])
                break
        return _File.open(self.path)

    def read(self):
        if self.cur is None:
            self.cur = _File.open(self.path)
            if self.cur is None:
                return []
            self.notes.append((logging.INFO, "reading %s" % self.path))
        if self.then is None and not self.retired:
            self._check_truncated()
        blocks = self.cur.read(self.stats)
        if blocks:
            return blocks
        if self.then is not None:  # the copy is read: back to the truncated file
            blocks = self.cur.read(self.stats, final=True)
            self.cur.close()
            self.cur, self.then = self.then, None
            return blocks
        if not self.retired:
            if not self._moved():
                return []
            self.retired = True
            blocks = self.cur.read(self.stats)  # written before the rename
            if blocks:
                return blocks
        successor = self._successor()
        if successor is None:
            return []  # PATH not there yet
        blocks = self.cur.read(self.stats, final=True)
        self.notes.append((logging.INFO, "%s was rotated or replaced: now reading %s" % (self.cur.path, successor.path)))
        self.cur.close()
        self.cur, self.retired = successor, False
        return blocks

    def close(self):
        for f in (self.cur, self.then):
            if f is not None:
                f.close()


# ---------------------------------------------------------------------------------------------
# The cursor

def load_cursor(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OptionError("audit_log: cannot read the cursor file %r: %s" % (path, exc))
    with os.fdopen(fd, "rb") as f:
        data = f.read(CURSOR_MAX_BYTES + 1)
    if len(data) > CURSOR_MAX_BYTES:
        raise OptionError("audit_log: the cursor file %r is larger than %d bytes; remove it to start over"
                          % (path, CURSOR_MAX_BYTES))
    try:
        cursor = json.loads(data.decode("utf-8"))
    except ValueError:
        raise OptionError("audit_log: the cursor file %r is not valid JSON; remove it to start over" % path)
    if not isinstance(cursor, dict) or cursor.get("kind") != CURSOR_KIND or cursor.get("version") != CURSOR_VERSION:
        raise OptionError("audit_log: %r is not a cursor of this source (kind %s, version %d); remove it "
                          "to start over" % (path, CURSOR_KIND, CURSOR_VERSION))
    ident = cursor.get("file")
    checks = [
        ("offset", isinstance(cursor.get("offset"), int) and cursor["offset"] >= 0),
        ("file", ident is None or (isinstance(ident, dict) and isinstance(ident.get("head_len"), int)
                                   and isinstance(ident.get("head_sha256"), str))),
        ("held_lines", _str_list(cursor.get("held_lines"))),
        ("skip", _str_list(cursor.get("skip"))),
        ("recent_ids", _str_list(cursor.get("recent_ids"))),
        ("last_time", cursor.get("last_time") is None or isinstance(cursor.get("last_time"), (int, float))),
        ("prestart", isinstance(cursor.get("prestart"), dict)),
    ]
    for name, good in checks:
        if not good:
            raise OptionError("audit_log: the cursor file %r has a bad %r; remove it to start over" % (path, name))
    return cursor


def _str_list(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def save_cursor(path, state, put_ids):
    """Write the cursor atomically: a new file in the same directory (mkstemp: O_EXCL, mode
    0600, no symlink followed), then renamed over the old one."""
    data = dict(state, skip=list(put_ids), version=CURSOR_VERSION, kind=CURSOR_KIND, updated=time.time())
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------------------------------------
# The source

def _group_key(group):
    return "%s %s" % (group.node, group.event_id) if group.node else group.event_id


class AuditLogSource:
    """The source's state. start() and poll() run in the worker thread, one at a time."""

    def __init__(self, opts):
        self.opts = opts
        self.stats = _auditlog.ParseStats()
        self.feed = _auditlog.GroupFeed(self.stats)
        self.follower = Follower(opts["path"], self.stats)
        keys = opts["keys"]
        self.key_set = frozenset(keys) if keys else None
        # the parser's cheap tests, before any field is read: the keys (from the raw key=
        # fields) and, for kill reports, the syscall
        syscalls = _killreport.KILL_SYSCALLS if opts["report"] == "kill" else None
        self.window = _auditlog._Filter(keys, None, None, None, syscalls)
        self.names = _auditfacts._Names()
        self.last_data = time.monotonic()
        self.last_time = None
        self.recent_ids = []
        self.skip = set()  # events put before a restart whose cursor did not say so yet
        self.prestart = {}  # events open when the source started: key -> records then
        self.skip_before = None  # (time, ids): the cursor's file was gone, its events are older
        self.carried = []  # groups completed by the lines a cursor held (sent by the first poll)

    # -- start

    def start(self, cursor):
        """Where to begin: the cursor, or the end (or start) of the file. -> the first state."""
        opts = self.opts
        if cursor is not None:
            self._resume(cursor)
        elif opts["from_start"]:
            self.follower.start_at(opts["path"], 0)
        else:
            self._start_at_end()
        return self.state()

    def _resume(self, cursor):
        follower = self.follower
        ident, offset = cursor["file"], cursor["offset"]
        self.skip = set(cursor["skip"])
        self.prestart = {k: v for k, v in cursor["prestart"].items() if isinstance(v, int)}
        self.last_time, self.recent_ids = cursor["last_time"], list(cursor["recent_ids"])
        files = follower._rotated_set()
        found = None
        if ident is not None:
            matches = [p for p in files if _same_content(p, ident, offset)]
            for path in matches:
                st = os.stat(path)
                if (st.st_dev, st.st_ino) == (ident.get("device"), ident.get("inode")):
                    found = path
                    break
            if found is None and matches:
                found = matches[0]
        if found is not None:
            follower.start_at(found, offset)
            follower.notes.append((logging.INFO, "resuming %s at byte %d (cursor %s)" % (found, offset, self.opts["cursor"])))
            if cursor["held_lines"]:  # the events open then, read again before the new lines
                self.carried = self.feed.feed("\n".join(cursor["held_lines"]))
        elif ident is None:
            follower.start_at(self.opts["path"], 0)  # the file was not there: all it holds is new
        else:
            # the cursor's file is gone (rotated away while stopped): read every file there is,
            # skipping events up to the last one seen before
            start = files[0] if files else self.opts["path"]
            follower.start_at(start, 0)
            self.skip_before = (self.last_time, frozenset(self.recent_ids))
            follower.notes.append((logging.INFO, "the cursor's file is gone (rotated away): reading from %s, skipping events "
                                   "up to %s" % (start, self.last_time)))

    def _start_at_end(self):
        follower = self.follower
        f = _File.open(self.opts["path"])
        if f is None:
            follower.notes.append((logging.INFO, "%s does not exist yet: waiting for it" % self.opts["path"]))
            return
        size = f.size()
        begin = max(0, size - START_TAIL)
        if begin:
            f.fobj.seek(begin)
            skipped = f.fobj.read(min(size - begin, _auditlog.MAX_LINE)).find(b"\n")
            begin = size if skipped < 0 else begin + skipped + 1
        f.offset = begin
        while f.offset < size:
            blocks = f.read(self.stats, limit=size - f.offset)
            if not blocks:
                break
            for block in blocks:
                self.feed.feed(block)  # complete before the start: not sent
        f.head = os.pread(f.fobj.fileno(), min(HEAD_BYTES, f.offset), 0)
        for group in self.feed.open_groups:
            self.prestart[_group_key(group)] = len(group.records)
        follower.cur = f
        follower.notes.append((logging.INFO, "following %s from byte %d" % (self.opts["path"], f.offset)))

    # -- reading

    def poll(self):
        """Read one part of the log -> (events made, [(key, event)]; state or None if
        nothing changed)."""
        blocks = self.follower.read()
        out = []
        changed = bool(blocks) or bool(self.carried)
        for group in self.carried:
            self._consume(group, out)
        self.carried = []
        for block in blocks:
            for group in self.feed.feed(block):
                self._consume(group, out)
        now = time.monotonic()
        if blocks:
            self.last_data = now
        elif self.feed.open_groups and now - self.last_data >= _auditlog.DEFAULT_EOE_TIMEOUT:
            changed = True
            for group in self.feed.flush():
                self._consume(group, out)
        return out, (self.state() if changed else None), bool(blocks)

    def _consume(self, group, out):
        item = self._output(group)
        if item is not None:
            out.append(item)

    def _output(self, group):
        key = _group_key(group)
        stamp = group.sec  # whole seconds: the fallback compares them, and the ids of the last one
        if self.last_time is None or stamp > self.last_time:
            self.last_time, self.recent_ids = stamp, []
        if stamp == self.last_time and len(self.recent_ids) < RECENT_IDS:
            self.recent_ids.append(key)
        if self.prestart:
            before = self.prestart.pop(key, None)
            if before is not None and before == len(group.records):
                return None  # complete before the source started
        if key in self.skip:
            self.skip.discard(key)
            return None  # put before the restart
        if self.skip_before is not None:
            last, ids = self.skip_before
            if last is not None and (stamp < last or (stamp == last and key in ids)):
                return None
        stats = self.stats
        stats.events += 1
        if self.window.active and not self.window.accepts(group):
            return None
        host = self.opts["host"]
        if self.opts["report"] == "kill":
            report = _killreport.report_from_records(group)
            if report is None or (self.key_set is not None and self.key_set.isdisjoint(report["keys"])):
                return None
            report["host"] = host
            if report["node"] is None:
                self.names.fill(report)
            item = {"auditd": {"type": "kill", "host": host, "report": report}}
        else:
            item = {"auditd": {"type": "event", "host": host, "event": _auditlog.build_event(group, True)}}
        stats.matched += 1
        return key, item

    def state(self):
        ident, offset = self.follower.state()  # reading a copy: the copy's, resumed there
        return {
            "path": self.follower.cur.path if self.follower.cur is not None else None,
            "file": ident,
            "offset": offset,
            "held_lines": [line for group in self.feed.open_groups for line in group.lines()],
            "prestart": dict(self.prestart),
            "last_time": self.last_time,
            "recent_ids": list(self.recent_ids),
        }


class _Reporter:
    """Logs what the follower noticed, and skipped lines (at most once a minute)."""

    def __init__(self, source):
        self.source = source
        self.reported = {}
        self.when = None

    def __call__(self, force=False):
        follower = self.source.follower
        while follower.notes:
            level, message = follower.notes.pop(0)
            LOG.log(level, "audit_log: %s", message)
        stats = self.source.stats
        counts = dict(stats.skipped)
        counts.update(("repaired." + k, v) for k, v in stats.repaired.items())
        now = time.monotonic()
        if counts != self.reported and (force or self.when is None or now - self.when >= STATS_INTERVAL):
            LOG.warning("audit_log: %s: %d lines skipped or repaired so far (%s); %d events read, %d sent",
                        self.source.opts["path"], sum(counts.values()),
                        ", ".join("%s %d" % kv for kv in sorted(counts.items())), stats.events, stats.matched)
            self.reported, self.when = counts, now


async def main(queue: asyncio.Queue, args: dict[str, Any]) -> None:
    """Follow the audit log and put each matching event on QUEUE, until cancelled."""
    opts = parse_options(args)
    cursor_path = opts["cursor"]
    cursor = load_cursor(cursor_path) if cursor_path else None
    source = AuditLogSource(opts)
    report = _Reporter(source)
    loop = asyncio.get_running_loop()
    worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit_log")
    committed = None  # a state all of whose events are on the queue
    put_ids = []  # events put since that state
    saved = time.monotonic()
    try:
        committed = await loop.run_in_executor(worker, source.start, cursor)
        if cursor_path:
            await loop.run_in_executor(worker, save_cursor, cursor_path, committed, put_ids)
        report()
        while True:
            events, state, got_data = await loop.run_in_executor(worker, source.poll)
            for key, item in events:
                await queue.put(item)
                if cursor_path:
                    put_ids.append(key)
                    if time.monotonic() - saved >= SAVE_INTERVAL:
                        await loop.run_in_executor(worker, save_cursor, cursor_path, committed, list(put_ids))
                        saved = time.monotonic()
            if state is not None:
                committed, put_ids = state, []
                if cursor_path and (not got_data or time.monotonic() - saved >= SAVE_INTERVAL):
                    await loop.run_in_executor(worker, save_cursor, cursor_path, committed, put_ids)
                    saved = time.monotonic()
            report()
            if not got_data:
                await asyncio.sleep(opts["poll_interval"])
    finally:
        if cursor_path and committed is not None:
            try:
                save_cursor(cursor_path, committed, put_ids)
            except OSError as exc:
                LOG.error("audit_log: cannot write the cursor %s: %s", cursor_path, exc)
        report(force=True)
        worker.shutdown(wait=False)


if __name__ == "__main__":
    # Run alone: print the events of the log (python audit_log.py [PATH] [KEY...]).

    class _PrintQueue:
        async def put(self, event):
            print(json.dumps(event, sort_keys=True))  # noqa: T201

    logging.basicConfig(level=logging.INFO)
    _args = {"path": sys.argv[1]} if len(sys.argv) > 1 else {}
    if len(sys.argv) > 2:
        _args["keys"] = sys.argv[2:]
    asyncio.run(main(_PrintQueue(), _args))
