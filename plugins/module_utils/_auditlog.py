# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one audit-log parser.

Reads audit logs (files, rotated sets, strings or lines), groups records into events by
(node, timestamp, serial), decodes values and interprets the ones the collection reports on.
Every log reader in the collection (filters, lookup, facts module) goes through here.

Design:
- Input is read in 1 MiB blocks and split into lines; memory does not grow with input size.
- Grouping looks only at each line's header; a record's fields are parsed when its event is
  complete and has passed the cheap filters (time, key, syscall), so filtered runs stay fast.
- An event is complete when its last record ends events (PROCTITLE, EOE, or a type that
  stands alone), when a record of a second `eoe_timeout` or more after its own comes (as
  libauparse closes events, with auditd's end_of_event_timeout), when too many events are
  open at once, or at end of input. Record shapes are read as libauparse reads them
  (docs/parser.md, "Compared with auparse").
- Bad input never raises: lines that are not records, overlong lines, undecodable bytes,
  times beyond the year 9999 and corrupt compressed data are counted in ParseStats and
  skipped or repaired.
- Hostile input is part of the spec: every regular expression runs in time linear in its
  input (no pattern can backtrack over a run it already failed on), numbers are converted
  only when short (int() of a long digit string is quadratic before Python 3.12), and
  memory is bounded in bytes: blocks, open events (MAX_OPEN_BYTES), the rows of a block
  (ROWS_SPAN), the fields of a record (MAX_FIELDS) and every cache (*_CACHE_BYTES). The key
  search's checks between an event's records scan at most CLOSING_CHECKS times a block.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import glob
import gzip
import heapq
import io
import os
import re
import sys
import zlib

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import (
    ARCHES, ERRNOS, IPC_CALLS, RECORD_TYPES, SOCKETCALLS, SYSCALLS, X32_SYSCALLS)
from ansible_collections.auditfleet.auditd.plugins.module_utils._timeutil import iso_seconds, iso_utc

BLOCK_SIZE = 1 << 20
MAX_LINE = 1 << 20  # not smaller than BLOCK_SIZE: a block then holds only lines shorter than MAX_LINE
MAX_OPEN_EVENTS = 2048
# Memory (bytes of text) of the records of the events open at once; past it the oldest are
# closed early. Real events are a few KiB (the kernel writes records of at most 8970
# bytes) and few are open at once, so only hostile or broken input reaches it.
MAX_OPEN_BYTES = 2 << 20
# Fields read from one record (the kernel's largest records, EXECVE, hold about 1250);
# the rest of a longer record is dropped and counted (repaired.fields_over_limit).
MAX_FIELDS = 4096
# Lines of a block matched at once: the rows of a 64 KiB piece, not of a whole block of
# empty lines, are in memory together.
ROWS_SPAN = 1 << 16
DEFAULT_EOE_TIMEOUT = 2
# Event times are read up to the end of the year 9999 (ISO 8601's four-digit years; far
# beyond a 32-bit time_t, and within every platform's datetime).
MAX_EPOCH = 253402300799
# Numbers with more digits are kept as text: no audit field needs them, and int() of a long
# digit string costs time quadratic in its length before Python 3.12.
MAX_INT_DIGITS = 20

ENRICHED_SEP = "\x1d"
UNSET_IDS = frozenset(("4294967295", "-1"))

# msg=audit(SEC.MSEC:SERIAL): after an optional node= prefix: the form auditd writes. The
# colon may be missing: auditd 2.x wrote its own DAEMON records without it
# ("type=DAEMON_CONFIG msg=audit(1490239800.477:34) config changed, auid=0 ...").
_HEADER = re.compile(r"(?:node=(\S*) )?type=(\S+) msg=audit\(((\d+)\.\d+:\d+)\):? ?")
# Every line of a block: records fill the first four groups, other lines only the last.
_LINE = re.compile(r"^(?:(?:node=(\S*) )?type=(\S+) msg=audit\(((\d+)\.\d+:\d+)\):? ?)?(.*)$", re.M)
# Lines that went through syslog or the kernel ring buffer ("... audit: type=1400
# audit(1.2:3): ...") are read by _loose_header, with whole words only (each tried from its
# start, (?<!\S)): the word that holds "type=" (what comes before its first "type=" in
# group 2, the type in group 3), then the stamp; the word before it, if any, in group 1.
_LOOSE_HEADER = re.compile(
    r"(?<!\S)(?:(\S+) )??((?:(?!type=)\S)*)type=(\S+) (?:msg=)?audit\(((\d+)\.\d+:\d+)\): ?")
# name=value with quoted ("..." or '...'), braced ({ ... }) or bare values; an unterminated
# quote (a truncated line) runs to the end. The second branch takes a whole word without
# "=" in one step (its name is empty: callers drop it): without it, a word of n characters
# with no "=" costs n^2 steps, every start inside it scanning to its end again.
_FIELD = re.compile(r"""([^\s=]+)=("[^"]*"?|'[^']*'?|\{[^}]*\}?|\S*)|[^\s=]+""")
# Hex digits, in pairs (checked by _is_hex: a repeated pair costs the regex engine far
# more per character than a repeated character class).
_HEX_DIGITS = re.compile(r"[0-9A-Fa-f]+\Z")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]+")
_SYSCALL_FIELDS = re.compile(r"(?:^| )arch=([0-9a-fA-F]+) syscall=(\d+)")
_EXECVE_ARG = re.compile(r"a(\d{1,9})(?:\[(\d{1,9})\])?\Z")
_UNKNOWN_TYPE = re.compile(r"UNKNOWN\[(\d{1,20})\]\Z")
_SMALL_NUMBER = re.compile(r"-?[0-9]{1,%d}\Z" % MAX_INT_DIGITS)

# Fields whose value is hex when it holds spaces, quotes or control characters (the kernel's
# audit_log_untrustedstring), a quoted string otherwise.
ESCAPED_FIELDS = frozenset((
    "path", "comm", "exe", "file", "name", "watch", "cwd", "cmd", "acct", "dir", "key", "vm",
    "old-chardev", "new-chardev", "old-disk", "new-disk", "old-fs", "new-fs", "old-net",
    "new-net", "device", "cgroup", "ocomm", "grp", "new_group", "invalid_context", "sw",
    "root_dir", "old-rng", "new-rng", "data", "proctitle",
))
# Integer fields converted when interpreting; "unset" (4294967295 or -1) becomes None.
ID_FIELDS = frozenset((
    "pid", "ppid", "opid", "uid", "euid", "suid", "fsuid", "gid", "egid", "sgid", "fsgid",
    "ouid", "ogid", "auid", "oauid", "old-auid", "sauid", "ses", "oses", "old-ses", "iuid",
    "igid", "obj_uid", "obj_gid", "inode_uid", "inode_gid", "new_gid", "id",
))
INT_FIELDS = frozenset(("items", "exit", "argc", "sig"))
# The records the kernel writes a rule's key into: SYSCALL (URINGOP for io_uring operations)
# and the CONFIG_CHANGE records of rule changes. Their key= is the event's key (hex when the
# rule has several, joined by 0x01). Other records may hold a key= of their own (an AVC on a
# SysV IPC object names the object's key, key=1291864389): a value, not a rule key.
KEY_RECORD_TYPES = frozenset(("SYSCALL", "URINGOP", "CONFIG_CHANGE"))
NULL_VALUES = frozenset(("(null)", "(none)", "?"))


class ParseStats(object):
    """What a parse read and what it skipped, and why."""

    def __init__(self):
        self.bytes = 0
        self.lines = 0
        self.records = 0
        self.events = 0
        self.matched = 0
        self.skipped = {}
        self.repaired = {}

    def skip(self, reason, count=1):
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def repair(self, reason, count=1):
        self.repaired[reason] = self.repaired.get(reason, 0) + count

    def as_dict(self):
        return {
            "bytes": self.bytes, "lines": self.lines, "records": self.records,
            "events": self.events, "matched": self.matched, "skipped": dict(self.skipped),
            "skipped_total": sum(self.skipped.values()), "repaired": dict(self.repaired),
        }


# ---------------------------------------------------------------------------------------
# Sources

_ROTATED = re.compile(r"^(.*?)(?:\.(\d+))?(\.gz)?$")
_ROTATED_NUMBER = re.compile(r"[1-9][0-9]{0,8}\Z")


def _rotation_order(path):
    base, num, _gz = _ROTATED.match(path).groups()
    # audit.log.3, audit.log.2, audit.log.1, then audit.log: oldest first
    return (base, 0 if num else 1, -int(num or 0))


def expand_log_paths(patterns):
    """Paths and globs -> existing files, each rotated set ordered oldest first.

    A glob's matches are ordered by rotation (`audit.log.2`, `audit.log.1`, `audit.log`);
    plain paths keep the order given. A file is listed once.
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    result, seen = [], set()
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted((p for p in glob.glob(pattern) if os.path.isfile(p)), key=_rotation_order)
        else:
            matches = [pattern]
        for path in matches:
            if path not in seen:
                seen.add(path)
                result.append(path)
    return result


def rotated_log_set(log_file, gaps=None):
    """The log file and its rotated siblings (log_file.1 ... log_file.N), oldest first.

    Every numbered sibling is listed, also past a gap in the numbering (a file removed by
    hand, num_logs lowered): GAPS, a list if given, receives the missing names (the first 100).
    """
    directory, base = os.path.split(log_file)
    numbered = {}
    try:
        names = os.listdir(directory or ".")
    except OSError:
        names = []
    prefix = base + "."
    for name in names:
        num = name[len(prefix):]
        # as auditd numbers them: ASCII digits, no leading zero, no .gz
        if name.startswith(prefix) and _ROTATED_NUMBER.match(num) \
                and os.path.isfile(os.path.join(directory, name)):
            numbered[int(num)] = os.path.join(directory, name)
    numbers = sorted(numbered)
    if gaps is not None:
        expected = 1
        for num in numbers:  # the missing numbers below each present one, at most 100 named
            while expected < num and len(gaps) < 100:
                gaps.append("%s.%d" % (log_file, expected))
                expected += 1
            expected = num + 1
    found = [numbered[n] for n in reversed(numbers)]
    if os.path.isfile(log_file):  # a regular file: reading a FIFO would wait forever
        found.append(log_file)
    return found


def open_log(path):
    """Open a log file for reading as bytes; .gz files are decompressed."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return io.open(path, "rb")


# What gzip raises on compressed data that ends early or is corrupt (BadGzipFile, from
# Python 3.8 on, is an OSError; before, "Not a gzipped file" is one).
GZIP_ERRORS = (EOFError, zlib.error, OSError)


def _read_blocks(fobj, stats):
    """The bytes of FOBJ in blocks of BLOCK_SIZE. Compressed data that ends early or is
    corrupt ends the file (skipped.bad_gzip_data), not the whole parse, and what was
    decompressed before it is kept: a compressed file is read in small pieces."""
    if not isinstance(fobj, gzip.GzipFile):
        while True:
            data = fobj.read(BLOCK_SIZE)
            if not data:
                return
            yield data
    while True:
        pieces, size = [], 0
        try:
            while size < BLOCK_SIZE:
                piece = fobj.read1(BLOCK_SIZE - size)
                if not piece:
                    break
                pieces.append(piece)
                size += len(piece)
        except GZIP_ERRORS:
            stats.skip("bad_gzip_data")
            if pieces:
                yield b"".join(pieces)
            return
        if not pieces:
            return
        yield b"".join(pieces)


def _blocks_from_binary(fobj, stats, position=None, partial_tail=True):
    """Yield decoded text blocks of whole lines from a binary file object.

    POSITION, a one-item list, is advanced by the bytes of every line handed out (or
    skipped as too long). Without PARTIAL_TAIL, a last line with no newline yet (auditd is
    still writing it) is not handed out: a later read starts there.
    """
    rest = b""
    skipping = False  # inside a line longer than MAX_LINE
    for data in _read_blocks(fobj, stats):
        stats.bytes += len(data)
        if skipping:
            cut = data.find(b"\n")
            if cut < 0:
                if position is not None:
                    position[0] += len(data)
                continue
            skipping = False
            if position is not None:
                position[0] += cut + 1
            data = data[cut + 1:]
        elif rest:
            data = rest + data
            rest = b""
            first = data.find(b"\n")
            if first > MAX_LINE:
                stats.skip("line_too_long")
                if position is not None:
                    position[0] += first + 1
                data = data[first + 1:]
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) > MAX_LINE:
                stats.skip("line_too_long")
                if position is not None:
                    position[0] += len(data)
                skipping = True
            else:
                rest = data
            continue
        rest = data[cut + 1:]
        if len(rest) > MAX_LINE:
            stats.skip("line_too_long")
            if position is not None:
                position[0] += len(rest)
            rest = b""
            skipping = True
        if position is not None:
            position[0] += cut + 1
        text = _decode_block(data[:cut], stats)
        data = None  # not kept while the block is used
        yield text
    if rest and partial_tail:
        if position is not None:
            position[0] += len(rest)
        yield _decode_block(rest, stats)


def _count_lines_with(text, char):
    """Lines of TEXT that hold CHAR, counted without splitting TEXT into lines."""
    count = 0
    pos = text.find(char)
    while pos >= 0:
        count += 1
        end = text.find("\n", pos)
        if end < 0:
            break
        pos = text.find(char, end)
    return count


def _decode_block(data, stats):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        stats.repair("invalid_utf8_lines", _count_lines_with(text, u"\ufffd"))
    return _crlf(text)


def _crlf(text):
    if "\r" in text:
        # CRLF line ends; a block ends before the last line's \n, so its \r stands alone
        text = text.replace("\r\n", "\n")
        if text[-1:] == "\r":
            text = text[:-1]
    return text


def _split_text(text, stats):
    """Text of any length -> blocks of whole lines of about BLOCK_SIZE characters; lines
    longer than MAX_LINE are skipped, as in files."""
    pos, end = 0, len(text)
    if text.endswith("\n"):
        end -= 1
    while pos < end:
        stop = pos + BLOCK_SIZE
        if stop >= end:
            cut = end
        else:
            cut = text.rfind("\n", pos, stop)
            if cut < 0:  # a line longer than a block
                cut = text.find("\n", stop)
                if cut < 0:
                    cut = end
                if cut - pos > MAX_LINE:
                    stats.skip("line_too_long")
                    pos = cut + 1
                    continue
        yield _crlf(text[pos:cut])
        pos = cut + 1


def _blocks_from_lines(lines, stats):
    """Group an iterable of lines (str or bytes) into text blocks."""
    batch, size = [], 0
    for line in lines:
        if isinstance(line, bytes):
            stats.bytes += len(line)
            line = _decode_block(line, stats)
        else:
            stats.bytes += len(line)
        if len(line) > BLOCK_SIZE:  # several lines, or one too long: cut as a file is
            if batch:
                block, batch, size = "\n".join(batch), [], 0
                yield block
            yield from _split_text(line, stats)
            continue
        line = line.rstrip("\n")
        if "\r" in line:  # CRLF line ends, as _decode_block drops them from bytes
            line = line.replace("\r\n", "\n").rstrip("\r")
        if size + len(line) > BLOCK_SIZE and batch:
            block, batch, size = "\n".join(batch), [], 0  # the lines are not kept twice
            yield block
        batch.append(line)
        size += len(line)
    if batch:
        yield "\n".join(batch)


def _blocks_from_text(text, stats):
    if isinstance(text, bytes):
        return _blocks_from_binary(io.BytesIO(text), stats)
    return _blocks_from_lines(iter([text]), stats)


def _blocks_from_paths(paths, stats):
    for path in paths:
        with open_log(path) as fobj:
            yield from _blocks_from_binary(fobj, stats)


def _is_path(value):
    """A one-line string naming an existing file is a path; anything else is log text."""
    if "\n" in value or len(value) >= 4096 or "\x00" in value:
        return False
    try:
        return os.path.isfile(value)
    except (OSError, ValueError):  # Python < 3.8 raises on what cannot be a path
        return False


def iter_blocks(source=None, paths=None, stats=None):
    """Normalise any supported source into text blocks of whole lines."""
    if stats is None:
        stats = ParseStats()
    if paths is not None:
        if isinstance(paths, str):
            paths = [paths]
        return _blocks_from_paths(paths, stats)
    if source is None:
        return iter(())
    if isinstance(source, bytes):
        return _blocks_from_text(source, stats)
    if isinstance(source, str):
        if _is_path(source):
            return _blocks_from_paths([source], stats)
        return _blocks_from_text(source, stats)
    if hasattr(source, "read"):
        probe = source.read(0)
        if isinstance(probe, bytes):
            return _blocks_from_binary(source, stats)
        return _blocks_from_lines(source, stats)
    return _blocks_from_lines(source, stats)


def _small_number(text):
    """True for an integer of at most MAX_INT_DIGITS ASCII digits (an optional minus first):
    the numbers int() converts in time linear in their length, on every Python."""
    return len(text) <= MAX_INT_DIGITS + 1 and _SMALL_NUMBER.match(text) is not None


# ---------------------------------------------------------------------------------------
# Record types

def record_type_number(name):
    """Numeric record type for a type name (SYSCALL, UNKNOWN[1334], 1300), or None."""
    number = RECORD_TYPES.get(name)
    if number is not None:
        return number
    if _small_number(name):
        return int(name)
    m = _UNKNOWN_TYPE.match(name)
    return int(m.group(1)) if m else None


_TYPE_NAMES = dict((v, k) for k, v in RECORD_TYPES.items())


def _normalise_type(name):
    """The name auditd gives a record type: kernel ring-buffer lines give numbers
    (type=1400), and an auditd that did not know a type wrote UNKNOWN[N] (type=UNKNOWN[1327]
    is a PROCTITLE): both become the type's name when the tables know it."""
    if name in RECORD_TYPES:
        return name
    if (_small_number(name) and name[0] != "-") or _UNKNOWN_TYPE.match(name):
        number = record_type_number(name)
        return _TYPE_NAMES.get(number, "UNKNOWN[%d]" % number)
    return name


# The types that end an event as soon as they arrive, besides PROCTITLE and EOE, as
# libauparse decides (common/common.c audit_is_last_record): messages from user space and
# the daemon (AUDIT_USER, 1007-1299, 2100 and up) and AUDIT_KERNEL (2000).
# - 1700-1999 (kernel anomalies and integrity) do not end an event: the kernel logs them
#   with the current task's audit context (audit_log_start(audit_context(), ...)), so one
#   raised inside a syscall (ANOM_PROMISCUOUS from an ioctl or netlink request, ANOM_LINK
#   and ANOM_CREAT from open or link, INTEGRITY_* from exec, open or a securityfs write)
#   takes the syscall's serial, and the SYSCALL, PATH, SOCKADDR, ... records of the same
#   event follow it. The exception is ANOM_ABEND (1701): a core dump happens while a
#   signal is delivered, after the syscall's context is finished, so it gets a serial of
#   its own and stands alone.
# - The NetLabel records 1406-1419 (MAC_UNLBL_ALLOW ... MAC_CALIPSO_DEL), which auparse
#   ends at once, are logged with the audit context of the netlink request that changed
#   the configuration, so they wait for that request's SYSCALL record as well.
ANOM_ABEND = 1701


def ends_event(type_name):
    """True when a record of this type is the last of its event (see the notes above).

    Kernel records (LOGIN, 1300-1999 but PROCTITLE and EOE, 2001-2099) are written inside
    a syscall's event: they wait for more records.
    """
    if type_name in ("PROCTITLE", "EOE"):
        return True
    number = record_type_number(type_name)
    if number is None:
        return False
    return (number == 1005 or 1007 <= number < 1300 or number == 2000 or number >= 2100
            or number == ANOM_ABEND)


# ---------------------------------------------------------------------------------------
# Value decoding and interpretation

def _is_hex(value):
    """True for a non-empty even number of hex digits."""
    return not len(value) & 1 and _HEX_DIGITS.match(value) is not None


def unhex(value):
    """Hex text -> str; bytes that are not UTF-8 are kept as \\xNN escapes."""
    return bytes.fromhex(value).decode("utf-8", "backslashreplace")


def decode_keys(raw):
    """A key= value -> list of keys: "K", or hex (several keys separated by 0x01); (null)
    and any other form are no key."""
    if raw is None or raw in NULL_VALUES or raw == "":
        return []
    if raw[0] == '"':
        raw = raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:]
        return [raw] if raw and raw != "(null)" else []
    value = _unhex_key(raw)
    if value is not raw:
        return _unique(value.split("\x01"))
    return []  # not a form the kernel writes a key in (nor one a key search finds)


def _unhex_key(raw):
    """An unquoted key= value decoded from hex, or RAW itself when it is not hex. As
    libauparse reads it (au_unescape): the hex digits it starts with, when something else
    follows them (key=65786563013634626974" from some kernels: "exec" 0x01 "64bit")."""
    if _is_hex(raw):
        return unhex(raw)
    m = _HEX_RUN.match(raw)
    if m is not None and m.end() >= 2 and not m.end() & 1:
        return unhex(m.group())
    return raw


def _unique(items):
    """ITEMS in order, each once, without empty ones (a dict remembers what was seen, in
    C: linear and fast, also for the thousands of keys of a forged key= value)."""
    seen = dict.fromkeys(items)
    seen.pop("", None)
    return list(seen)


def _decode_proctitle(value):
    if _is_hex(value):
        parts = bytes.fromhex(value).split(b"\x00", MAX_FIELDS)
        if len(parts) > MAX_FIELDS:  # the kernel logs 128 bytes of a command line
            parts.pop()
        while parts and parts[-1] == b"":
            parts.pop()
        return [p.decode("utf-8", "backslashreplace") for p in parts]
    return [value]


def _strip_quotes(value):
    if len(value) > 1 and value[-1] == value[0]:
        return value[1:-1]
    return value[1:]  # truncated: opening quote only


def _trim(value):
    """A bare value without the punctuation that old formats put after it, as libauparse
    trims it: one ':', then one ',', then one "'", then one ')' at its end (not the ')' of
    (none) or (null)). "(hostname=?, addr=?, terminal=pts/1 res=success)" gives "?" and
    "success". A value that ends in "::" (an IPv6 address) keeps its colons."""
    last = value[-1:]
    if last == ":" and value[-2:] != "::":
        value = value[:-1]
        last = value[-1:]
    if last == ",":
        value = value[:-1]
        last = value[-1:]
    if last == "'":
        value = value[:-1]
        last = value[-1:]
    if last == ")" and value != "(none)" and value != "(null)":
        value = value[:-1]
    return value


def _decode_value(name, value):
    """One raw value (quotes included) -> decoded value; None for (null), (none) and ?."""
    first = value[:1]
    if first == '"':
        value = _strip_quotes(value)
        if name == "proctitle":
            return None if value == "(null)" else [value]
        return value
    if first == "'":
        return _strip_quotes(value)
    if first != "{" and value[-1:] in _TRIMMED:
        value = _trim(value)
    if value in NULL_VALUES:
        return None
    if name in ESCAPED_FIELDS and _is_hex(value):
        return _decode_proctitle(value) if name == "proctitle" else unhex(value)
    if name == "key":
        return _unhex_key(value)
    return value


_TRIMMED = frozenset(":,')")


def _interpret_value(name, value):
    if value is None or value.__class__ is not str:
        return value
    if name in ID_FIELDS:
        if value in UNSET_IDS:
            return None
    elif name not in INT_FIELDS:
        return value
    if len(value) > MAX_INT_DIGITS + 1:
        return value
    try:
        return int(value)
    except ValueError:
        return value


def _pairs(text, stats=None):
    """(name, raw value) of the first MAX_FIELDS fields of TEXT; words without "=" are not
    fields. A longer text's other fields are dropped (repaired.fields_over_limit)."""
    if len(text) < 2 * MAX_FIELDS:  # a field takes two characters at least ("a="): few enough
        return [pair for pair in _FIELD.findall(text) if pair[0]]
    pairs = []
    for m in _FIELD.finditer(text):  # one match at a time: a findall list could be huge
        name = m.group(1)
        if name is None:
            continue
        if len(pairs) >= MAX_FIELDS:
            if stats is not None:
                stats.repair("fields_over_limit")
            break
        pairs.append((name, m.group(2)))
    return pairs


def _user_message(text):
    """(start, end) of the text between msg=' and the last ' of TEXT (or its end), the
    message of a user-space record, or None. The last quote, not the next: a value inside
    may hold one (acct="system-property('xsl:vendor')/>")."""
    pos = text.find("msg='")
    while pos > 0 and text[pos - 1] != " ":
        pos = text.find("msg='", pos + 5)
    if pos < 0:
        return None
    close = text.rfind("'", pos + 5)
    return pos + 5, (len(text) if close < 0 else close)


def parse_fields(text, interpret=False, stats=None, nested=False):
    """name=value text -> dict of decoded values.

    Quoted values lose their quotes; hex values of escaped fields are decoded; (null),
    (none) and ? become None; proctitle becomes an argv list; a name that repeats keeps
    its last value (old LOGIN records say "old auid=... new auid=..."). Fields with an
    empty value are left out, and bare values and names lose the punctuation of old
    formats (_trim), as libauparse reads them. The msg='...' of user-space records is
    flattened into the record without overriding the record's own fields (not again inside
    it: NESTED). With INTERPRET, id and counter fields become int (unset ids: None). The
    first MAX_FIELDS fields are read (STATS, if given, counts the records cut short).
    """
    message = None if nested else _user_message(text)
    if message is not None:
        start, end = message
        outer = (text[:start - 5] + text[end + 1:]).strip(" ")
        fields = (_fast_fields(outer, interpret) if outer else {})
        if fields is None:
            fields = _tokenized(outer, interpret, stats)
        inner = _message_fields(text[start:end], interpret, stats)
        if not inner:
            fields["msg"] = text[start:end]
        elif fields.keys() & inner.keys():
            for name, value in inner.items():
                if name not in fields:
                    fields[name] = value
        else:
            fields.update(inner)
        return fields
    return _tokenized(text, interpret, stats)


def _tokenized(text, interpret, stats):
    fields = {}
    for name, value in _pairs(text, stats):
        if not value:
            continue
        if name[0] == "(":
            name = name[1:]
            if not name:
                continue
        value = _decode_value(name, value)
        fields[name] = _interpret_value(name, value) if interpret else value
    return fields


def _message_fields(message, interpret, stats):
    """The fields of a user-space record's message (read-only: the cache's own dict).
    Messages repeat: the same PAM stack, command, unit or terminal."""
    memo = _MESSAGE_CACHE[interpret]
    fields = memo.new.get(message)
    if fields is None:
        fields = memo.get(message)
        if fields is None:
            fields = _fast_fields(message, interpret)
            if fields is None:
                fields = _tokenized(message, interpret, stats)
            if list not in set(map(type, fields.values())):
                memo.put(message, fields)
    return fields


# Records repeat most of what they say (uid=0, tty=(none), comm="sshd", a process's whole
# identity), so decoded values are kept in caches, one set per interpretation mode:
# - single name=value tokens;
# - the tail of a record after its per-event values (CUT_BEFORE): for a SYSCALL record
#   everything from auid= on, which repeats for every syscall of the same process;
# - command lines (PROCTITLE) and ENRICHED parts.
# Every cache is bounded in bytes, not in entries: an entry's cost is an estimate, from
# above, of the memory its key and value take (checked with tracemalloc), and long values,
# which are unique in practice, are not kept at all.

class _Memo(object):
    """A cache bounded in bytes that keeps what is still used: two generations of at most
    BUDGET estimated bytes each; when the new one is full it becomes the old one, and a hit
    in the old one moves back. COST(key, value) estimates an entry's bytes; an entry that
    costs more than BUDGET / 64 is not kept."""
    __slots__ = ("budget", "cost", "new", "old", "used")

    def __init__(self, budget, cost):
        self.budget = budget
        self.cost = cost
        self.new, self.old = {}, {}
        self.used = 0

    def get(self, key):
        value = self.new.get(key)
        if value is None:
            value = self.old.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key, value):
        cost = self.cost(key, value)
        if cost > self.budget >> 6:
            return
        if self.used + cost > self.budget:
            self.old, self.new, self.used = self.new, {}, 0
        self.new[key] = value
        self.used += cost


def _dict_cost(key, value):
    # key text; per field a dict slot, a name and a value object, plus the value text
    return 2 * len(key) + 160 * len(value) + 240


def _record_cost(key, value):
    # (type, body) key; the fields (per field a slot, a name and a value object, the value
    # text); the enriched dict is the enriched cache's own
    return 2 * (len(key[0]) + len(key[1])) + 160 * len(value[0]) + 320


def _argv_cost(key, value):
    # hex key text; the tuple and one str per argument, plus the argument text (half the hex)
    return len(key) + (len(key) >> 1) + 64 * len(value) + 160


# Budgets per generation (a _Memo holds two): the caches together hold at most 22 MiB by
# these estimates, the token and tail caches of both interpretation modes included (a parse
# uses one), and the name caches below about 4 MiB more. The estimates were 0.7 to 1.0 times
# the real size on CPython 3.6, 3.11 and 3.13 (0.3 times for real SYSCALL tails, whose
# values are shared with the token cache). On bench/gen_log.py's 100 MiB log of three busy
# hosts a full parse finds as many command lines (91%) and misses 4% more tails than with
# the caches bounded by entries before, in the same time, and peaks at 29 MiB instead of 40.
TOKEN_CACHE_BYTES = 3 << 20   # per interpretation mode, cleared when full
TOKEN_COST = 272              # an entry without its text: key and name str, tuple, value, slot
CACHED_TOKEN_MAX = 512        # longer tokens are not kept
TAIL_CACHE_BYTES = 3 << 20    # per generation and interpretation mode
PROCTITLE_CACHE_BYTES = 1 << 20
ENRICHED_CACHE_BYTES = 1 << 20
RECORD_CACHE_BYTES = 2 << 20  # per generation and interpretation mode
MESSAGE_CACHE_BYTES = 1 << 20  # per generation and interpretation mode
_TOKEN_CACHE = {False: {}, True: {}}   # plain dicts: looked up once per token, the hot path
_TOKEN_USED = {False: 0, True: 0}      # estimated bytes in each
_TAIL_CACHE = {False: _Memo(TAIL_CACHE_BYTES, _dict_cost), True: _Memo(TAIL_CACHE_BYTES, _dict_cost)}
_PROCTITLE_CACHE = _Memo(PROCTITLE_CACHE_BYTES, _argv_cost)
_ENRICHED_CACHE = _Memo(ENRICHED_CACHE_BYTES, _dict_cost)
_MESSAGE_CACHE = {False: _Memo(MESSAGE_CACHE_BYTES, _dict_cost), True: _Memo(MESSAGE_CACHE_BYTES, _dict_cost)}
# values unique to one record: caching them would only churn the cache
UNCACHED_FIELDS = frozenset(("a0", "a1", "a2", "a3", "pid", "ppid", "opid", "inode"))
CUT_BEFORE = {"SYSCALL": " auid=", "OBJ_PID": " oauid=", "PATH": " dev="}
# The fixed start of a SYSCALL record (kernel/auditsc.c audit_log_exit), read in one match.
# Numbers of more than 20 digits are not the kernel's: the record then goes to the tokenizer.
_SYSCALL_HEAD = re.compile(
    r"arch=([0-9a-f]+) syscall=(\d{1,20}) (?:per=([0-9a-f]+) )?(?:success=(yes|no) exit=(-?\d{1,20}) )?"
    r"a0=([0-9a-f]+) a1=([0-9a-f]+) a2=([0-9a-f]+) a3=([0-9a-f]+) items=(\d{1,20}) ppid=(\d{1,20}) "
    r"pid=(\d{1,20})\Z")


class _NeedsTokenizer(Exception):
    """A token that only the full tokenizer reads right (spaces inside quotes, msg='...')."""


def _remember(cache, interpret, token, pair):
    """Keep a decoded token, within TOKEN_CACHE_BYTES (the cache is emptied when full)."""
    if len(token) > CACHED_TOKEN_MAX:
        return
    cost = TOKEN_COST + 2 * len(token)
    used = _TOKEN_USED[interpret] + cost
    if used > TOKEN_CACHE_BYTES:
        cache.clear()
        used = cost
    _TOKEN_USED[interpret] = used
    cache[token] = pair


def _token(token, cache, interpret):
    """Decode one name=value token and remember it; raise _NeedsTokenizer if it cannot be."""
    name, sep, value = token.partition("=")
    if sep and value.isalnum() and name not in ESCAPED_FIELDS:  # plain: nothing to decode
        value = _interpret_value(name, value) if interpret else value
        pair = (name, value)
        if name not in UNCACHED_FIELDS:
            _remember(cache, interpret, token, pair)
        return pair
    first = value[:1]
    if not sep or not name or not value or name[0] == "(" or first in ("'", "{") or (
            first == '"' and (len(value) < 2 or value[-1] != '"')):
        raise _NeedsTokenizer()
    value = _decode_value(name, value)
    if interpret:
        value = _interpret_value(name, value)
    pair = (name, value)
    if value.__class__ is not list and name not in UNCACHED_FIELDS:  # lists are mutable
        _remember(cache, interpret, token, pair)
    return pair


def _fast_fields(raw, interpret):
    """parse_fields for the common case: name=value tokens separated by single spaces, no
    spaces inside quotes, at most MAX_FIELDS of them. None when the record needs
    parse_fields."""
    cache = _TOKEN_CACHE[interpret]
    get = cache.get
    tokens = raw.split(" ", MAX_FIELDS)
    if len(tokens) > MAX_FIELDS:
        return None
    try:
        return dict([get(t) or _token(t, cache, interpret) for t in tokens])
    except _NeedsTokenizer:
        return None


def _syscall_head(head, interpret):
    m = _SYSCALL_HEAD.match(head)
    if m is None:
        return None
    arch, nr, per, success, exit_code, a0, a1, a2, a3, items, ppid, pid = m.groups()
    fields = {"arch": arch, "syscall": nr}
    if per is not None:
        fields["per"] = per
    if success is not None:
        fields["success"] = success
        fields["exit"] = int(exit_code) if interpret else exit_code
    fields["a0"], fields["a1"], fields["a2"], fields["a3"] = a0, a1, a2, a3
    if interpret:
        fields["items"], fields["ppid"], fields["pid"] = int(items), int(ppid), int(pid)
    else:
        fields["items"], fields["ppid"], fields["pid"] = items, ppid, pid
    return fields


def _fields(type_name, raw, interpret, stats=None):
    """Decoded fields of a record's raw text, through the caches where its shape allows."""
    cut = CUT_BEFORE.get(type_name)
    if cut is not None:
        pos = raw.find(cut)
        if pos > 0:
            tails = _TAIL_CACHE[interpret]
            tail_text = raw[pos + 1:]
            tail = tails.new.get(tail_text)
            if tail is None:
                tail = tails.get(tail_text)
            if tail is None:
                tail = _fast_fields(tail_text, interpret)
                if tail is None:
                    tail = parse_fields(tail_text, interpret, stats)
                tails.put(tail_text, tail)
            head_text = raw[:pos]
            if type_name == "SYSCALL":
                head = _syscall_head(head_text, interpret)
            elif " " not in head_text and head_text[head_text.find("=") + 1:].isdigit():
                # one number per event, such as OBJ_PID's opid=
                name, _sep, value = head_text.partition("=")
                head = {name: _interpret_value(name, value) if interpret else value}
            else:
                head = _fast_fields(head_text, interpret)
            if head is not None:
                head.update(tail)
                return head
    elif type_name == "PROCTITLE":
        argv = _PROCTITLE_CACHE.get(raw)
        if argv is None:
            fields = _fast_fields(raw, interpret) or parse_fields(raw, interpret, stats)
            title = fields.get("proctitle")
            if len(fields) != 1 or not isinstance(title, list):
                return fields
            argv = tuple(title)
            _PROCTITLE_CACHE.put(raw, argv)
        return {"proctitle": list(argv)}
    elif type_name == "AVC" and raw[:4] == "avc:":
        return _avc_fields(raw, interpret, stats)
    if "msg='" in raw:  # a user-space record: parse_fields reads its message (cached)
        return parse_fields(raw, interpret, stats)
    fields = _fast_fields(raw, interpret)
    return parse_fields(raw, interpret, stats) if fields is None else fields


# An SELinux AVC record starts "avc:  denied  { read write } for  pid=...": the result and
# the permissions have no names (libauparse calls them seresult and seperms).
_AVC_HEAD = re.compile(r"avc:\s+(\S+)(?:\s+\{([^}]*)\})?")


def _avc_fields(raw, interpret, stats):
    m = _AVC_HEAD.match(raw)
    rest = raw[m.end():]
    fields = {"seresult": m.group(1)}
    if m.group(2) is not None:
        fields["seperms"] = ",".join(m.group(2).split())
    more = _fast_fields(rest.strip(" "), interpret) if rest.strip(" ") else {}
    fields.update(parse_fields(rest, interpret, stats) if more is None else more)
    return fields


def parse_enriched(text, shared=False):
    """The ENRICHED part after 0x1d: NAME="value" pairs, kept as names.

    The same text gives the same dict; with SHARED the cached dict itself is returned (the
    caller must not change it), otherwise a copy.
    """
    cached = _ENRICHED_CACHE.new.get(text)
    if cached is None:
        cached = _ENRICHED_CACHE.get(text)
    if cached is None:
        cached = {}
        for name, value in _pairs(text):
            cached[name] = _strip_quotes(value) if value[:1] in ('"', "'") else value
        _ENRICHED_CACHE.put(text, cached)
    return cached if shared else dict(cached)


# Names of codes: arches x syscalls is small (about 10 x 450), but codes come from the log:
# only short ones are kept, and the caches are emptied when full.
_ARCH_NAMES = {}
_SYSCALL_NAMES = {}
NAME_CACHE_ENTRIES = 8192
CACHED_CODE_MAX = 16


def arch_name(code):
    """arch= code (c000003e) -> name (x86_64); unknown codes are returned as given."""
    if code is None:
        return None
    name = _ARCH_NAMES.get(code)
    if name is None:
        entry = ARCHES.get(code.lower().zfill(8)) if len(code) <= CACHED_CODE_MAX else None
        name = entry[0] if entry else code
        if len(code) <= CACHED_CODE_MAX:
            if len(_ARCH_NAMES) >= NAME_CACHE_ENTRIES:
                _ARCH_NAMES.clear()
            _ARCH_NAMES[code] = name
    return name


# x86_64 programs of the x32 ABI run with arch=c000003e and this bit in their syscall number.
X32_SYSCALL_BIT = 0x40000000


def syscall_name(arch_code, number):
    """Syscall name for arch= code and syscall= number, or the number as text if unknown.
    An x86_64 number with the x32 bit (0x40000000) is named from the x32 table."""
    cached = _SYSCALL_NAMES.get((arch_code, number))
    if cached is not None:
        return cached
    if isinstance(number, str) and not _small_number(number):
        return number
    entry = ARCHES.get((arch_code or "").lower().zfill(8))
    table = SYSCALLS.get(entry[1]) if entry and entry[1] else None
    try:
        nr = int(number)
    except (TypeError, ValueError):
        return number
    if table is not None and nr & X32_SYSCALL_BIT and entry[1] == "x86_64" and nr > 0:
        name = X32_SYSCALLS.get(nr & ~X32_SYSCALL_BIT, str(nr))
    else:
        name = str(nr) if table is None else table.get(nr, str(nr))
    if arch_code is None or len(arch_code) <= CACHED_CODE_MAX:
        if len(_SYSCALL_NAMES) >= NAME_CACHE_ENTRIES:
            _SYSCALL_NAMES.clear()
        _SYSCALL_NAMES[(arch_code, number)] = name
    return name


_SUBCALLS = {"socketcall": SOCKETCALLS, "ipc": IPC_CALLS}


def full_syscall_name(arch_code, number, a0):
    """syscall_name, with the sub-call of socketcall and ipc (32-bit ABIs multiplex their
    socket and SysV IPC calls through them) named as libauparse names it, from a0:
    socketcall(connect), ipc(shmat)."""
    name = syscall_name(arch_code, number)
    calls = _SUBCALLS.get(name)
    if calls is not None and isinstance(a0, str) and 0 < len(a0) <= 16:
        try:
            call = calls.get(int(a0, 16))
        except ValueError:
            call = None
        if call is not None:
            return "%s(%s)" % (name, call)
    return name


def errno_name(exit_code):
    """Negative exit value -> errno name (-1 -> EPERM); None when not an error."""
    if isinstance(exit_code, str) and not _small_number(exit_code):
        return None
    try:
        code = int(exit_code)
    except (TypeError, ValueError):
        return None
    if code >= 0:
        return None
    return ERRNOS.get(-code, "E%d" % -code)


def _execve_argv(fields):
    """EXECVE a0, a1, a1_len with a1[0], a1[1] chunks -> argv list."""
    argc = fields.get("argc")
    if isinstance(argc, str) and _small_number(argc):
        argc = int(argc)
    if isinstance(argc, int) and 0 <= argc <= len(fields) and "a%d" % argc not in fields:
        # the usual record: a0 ... a<argc-1>, no chunks
        names = ["a%d" % i for i in range(argc)]
        if all(fields.get(n) is not None for n in names):
            return [fields[n] for n in names]
    parts = {}
    for name, value in fields.items():
        m = _EXECVE_ARG.match(name)
        if m is None or value is None:
            continue
        index = int(m.group(1))
        chunk = int(m.group(2)) if m.group(2) is not None else -1
        parts.setdefault(index, []).append((chunk, value))
    argv = []
    for index in sorted(parts):
        argv.append("".join(v for _c, v in sorted(parts[index])))
    return argv


# Record types that repeat whole in a log (the same file, directory, address, command line),
# kept whole in _RECORD_CACHE: every type but those that carry a value of their own event
# (a pid, a serial, syscall arguments, a time), which are read in parts instead
# (CUT_BEFORE: the part that repeats is kept), and PROCTITLE, which has a cache of its own.
_NOT_KEPT_WHOLE = frozenset(("SYSCALL", "OBJ_PID", "PROCTITLE", "LOGIN", "SECCOMP", "TTY",
                             "URINGOP", "ANOM_ABEND", "ANOM_PROMISCUOUS", "ANOM_LINK", "ANOM_CREAT"))


def record_parts(type_name, body, interpret=True, shared=False, stats=None):
    """One record's body (the text after the header) -> (fields, enriched).

    With SHARED, the enriched dict may be shared with other records (the caller only reads
    it); otherwise every record gets its own. STATS, if given, counts records cut at
    MAX_FIELDS fields.
    """
    whole = _WHOLE.get(type_name, _UNSEEN)
    if whole is _UNSEEN:
        whole = _whole(type_name)
    if whole is not None and whole.on:
        memo = _RECORD_CACHE[interpret]
        key = (type_name, body)
        kept = memo.new.get(key)
        if kept is None:
            kept = memo.get(key)
        whole.looked += 1
        if kept is not None:
            whole.found += 1
            return dict(kept[0]), (kept[1] if shared else dict(kept[1]))
        if whole.looked >= whole.WINDOW:
            whole.review()
        fields, enriched = _record_parts(type_name, body, interpret, stats)
        if list not in set(map(type, fields.values())):  # lists are mutable: not kept
            memo.put(key, (fields, enriched))
            fields = dict(fields)
        return fields, (enriched if shared else dict(enriched))
    if whole is not None:
        whole.skipped += 1
        if whole.skipped >= whole.PAUSE:
            whole.on, whole.skipped = True, 0  # look again: the log may have changed
    fields, enriched = _record_parts(type_name, body, interpret, stats)
    return fields, (enriched if shared else dict(enriched))


def _record_parts(type_name, body, interpret, stats):
    """record_parts, no record cache: the enriched dict is the enriched cache's own."""
    sep = body.find(ENRICHED_SEP)
    if sep >= 0:
        raw, enriched = body[:sep], parse_enriched(body[sep + 1:], True)
    else:
        raw, enriched = body, _NO_NAMES
    if raw[:1] == " " or raw[-1:] == " ":
        raw = raw.strip(" ")
    if type_name == "EXECVE":
        return _parse_execve(raw, interpret, stats), enriched
    if not raw:
        return {}, enriched
    fields = _fields(type_name, raw, interpret, stats)
    if "key" in fields and type_name not in KEY_RECORD_TYPES:
        # not a rule key (an AVC on a SysV IPC object names the object's key): its text
        key_text = _raw_key(raw)
        fields["key"] = None if key_text is None else _plain_value(key_text)
    return fields, enriched


_NO_NAMES = {}  # the enriched part of a RAW record (never changed: callers get copies)
_RECORD_CACHE = {False: _Memo(RECORD_CACHE_BYTES, _record_cost), True: _Memo(RECORD_CACHE_BYTES, _record_cost)}
_UNSEEN = object()


class _Whole(object):
    """Whether the records of one type are kept whole in _RECORD_CACHE: while at least
    MIN_FOUND in WINDOW of those looked up are found there. A type whose records do not
    repeat (PATH records of files all different) is not kept for the next PAUSE records,
    then tried again."""
    __slots__ = ("on", "looked", "found", "skipped")
    WINDOW = 1024
    PAUSE = 16384
    MIN_FOUND = 128

    def __init__(self):
        self.on = True
        self.looked = self.found = self.skipped = 0

    def review(self):
        if self.found < self.MIN_FOUND:
            self.on = False
        self.looked = self.found = 0


def _whole(type_name):
    """The _Whole of a type seen for the first time; None for the types never kept whole
    (_NOT_KEPT_WHOLE, and user-space messages: they carry the pid of their sender)."""
    whole = None if (type_name in _NOT_KEPT_WHOLE or type_name[:5] == "USER_"
                     or len(type_name) > CACHED_TYPE_MAX) else _Whole()
    if len(type_name) <= CACHED_TYPE_MAX:
        if len(_WHOLE) >= NAME_CACHE_ENTRIES:
            _WHOLE.clear()
        _WHOLE[type_name] = whole
    return whole


_WHOLE = {}  # record type -> _Whole or None (types come from the log: bounded in _whole)


def _plain_value(value):
    """A raw value without its quotes, not decoded; None for (null), (none) and ?."""
    if value[:1] in ('"', "'"):
        return _strip_quotes(value)
    return None if value in NULL_VALUES else value


def _parse_execve(raw, interpret, stats=None):
    """EXECVE arguments (a0, a1[0], ...) are hex whenever they are not quoted (the kernel
    quotes an argument only when it has no space, quote or control character)."""
    fields = {}
    tokens = raw.split(" ", MAX_FIELDS)
    if len(tokens) > MAX_FIELDS:
        tokens = ()
        fields = None
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep or (value[:1] == '"' and (len(value) < 2 or value[-1] != '"')):
            fields = None  # not the kernel's form: read it with the tokenizer
            break
        fields[name] = value
    if fields is None:
        fields = dict(_pairs(raw, stats))
    for name, value in fields.items():
        if name[:1] == "a" and _EXECVE_ARG.match(name) and _is_hex(value):
            fields[name] = unhex(value)
        else:
            value = _decode_value(name, value)
            fields[name] = _interpret_value(name, value) if interpret else value
    return fields


# ---------------------------------------------------------------------------------------
# Grouping records into events

class _Open(object):
    """The records of one event while they are gathered; closed_by says what completed it:
    "record" (its last record came), "timeout", "limit" (too many open events, or too much
    text in them), "end" (the input ended first, so it may still grow: the facts module's
    cursor holds these back) or "idle" (GroupFeed.flush(): a followed log went idle while it
    was open)."""
    __slots__ = ("node", "event_id", "sec", "records", "closed_by", "size", "seq")

    def __init__(self, node, event_id, sec):
        self.node = node
        self.event_id = event_id
        self.sec = sec
        self.records = []
        self.closed_by = "record"
        self.size = 0  # bytes of text it holds (estimated by group_records)
        self.seq = 0  # the order group_records opened it in

    def lines(self):
        """The event's records as log lines again (to keep them for a later read)."""
        prefix = "node=%s " % self.node if self.node else ""
        return ["%stype=%s msg=audit(%s): %s" % (prefix, rtype, self.event_id, body)
                for rtype, body in self.records]


def event_time(event_id):
    stamp = event_id.split(":", 1)[0]
    try:
        return float(stamp)
    except ValueError:
        return 0.0


def _id_problem(event_id, sec):
    """Why the event id SEC.MSEC:SERIAL (SEC, MSEC and SERIAL digits) cannot be read, as a
    skip reason, or None. Called for each new event, before any int() of its parts."""
    if len(sec) > 11 and (len(sec) > 12 or int(sec) > MAX_EPOCH):
        return "time_out_of_range"
    if len(event_id) > 24:  # 10 + 1 + 3 + 1 + 9 is common; look closer
        colon = event_id.find(":")
        if colon - len(sec) - 1 > 9 or len(event_id) - colon - 1 > MAX_INT_DIGITS:
            return "bad_event_id"
    return None


class _Filter(object):
    """The cheap tests applied to a complete event before its fields are parsed."""

    def __init__(self, keys, types, since, until, syscalls):
        self.keys = frozenset(keys) if keys else None
        self.types = frozenset(types) if types else None
        self.since = since
        self.until = until
        self.syscalls = frozenset(syscalls) if syscalls else None
        self.active = any(x is not None for x in (
            self.keys, self.types, self.since, self.until, self.syscalls))

    def accepts(self, pending):
        if self.since is not None or self.until is not None:
            stamp = event_time(pending.event_id)
            if self.since is not None and stamp < self.since:
                return False
            if self.until is not None and stamp > self.until:
                return False
        records = pending.records
        if self.types is not None and not any(t in self.types for t, _b in records):
            return False
        if self.keys is not None:
            if not any(k in self.keys for k in event_keys(records)):
                return False
        if self.syscalls is not None:
            for rtype, body in records:
                if rtype == "SYSCALL":
                    m = _SYSCALL_FIELDS.search(body)
                    if m and syscall_name(m.group(1), m.group(2)) in self.syscalls:
                        break
            else:
                return False
        return True


def _raw_key(body):
    """The raw value of a record's key= field (before the ENRICHED part), or None."""
    end = body.find(ENRICHED_SEP)
    if end < 0:
        end = len(body)
    # key= is the last field of SYSCALL records, so search from the end
    pos = body.rfind(" key=", 0, end)
    if pos >= 0:
        start = pos + 5
    elif body.startswith("key="):
        start = 4
    else:
        return None
    stop = body.find(" ", start, end)
    return body[start:end if stop < 0 else stop]


def event_keys(records):
    """Keys of an event from the raw key= fields of its KEY_RECORD_TYPES records, in order,
    without repeats."""
    keys = []
    for rtype, body in records:
        if rtype in KEY_RECORD_TYPES and "key=" in body:
            keys.extend(decode_keys(_raw_key(body)))
    return _unique(keys) if len(keys) > 1 else keys


def build_event(pending, interpret=True, stats=None):
    """A complete group of records -> the event dict the collection returns."""
    event_id = pending.event_id
    serial = event_id[event_id.rfind(":") + 1:]
    records, keys = [], []
    types = [rtype for rtype, _body in pending.records]
    syscall = seccomp = None
    parts = record_parts
    append = records.append
    for rtype, body in pending.records:
        fields, enriched = parts(rtype, body, interpret, False, stats)
        record = {"type": rtype, "fields": fields, "enriched": enriched}
        append(record)
        if rtype in _EVENT_TYPES:
            if rtype == "EXECVE":
                record["argv"] = _execve_argv(fields)
                continue
            if rtype == "SECCOMP":
                if seccomp is None:
                    seccomp = fields
                continue
            if rtype == "SYSCALL" and syscall is None:
                syscall = fields
            if fields.get("key") is not None:  # a rule key (not key=(null))
                keys.extend(decode_keys(_raw_key(body)))
    if len(keys) > 1:
        keys = _unique(keys)
    event = {
        "event_id": event_id,
        "node": pending.node,
        "timestamp": event_time(event_id),
        "time": event_iso_time(event_id),
        "serial": int(serial) if len(serial) <= MAX_INT_DIGITS else serial,
        "keys": keys,
        "key": keys[0] if keys else None,
        "types": types,
        "records": records,
    }
    if interpret:
        if syscall is not None:
            code = syscall.get("arch")
            exit_code = syscall.get("exit")
            success = syscall.get("success")
            event["arch"] = arch_name(code)
            event["syscall"] = full_syscall_name(code, syscall.get("syscall"), syscall.get("a0"))
            event["success"] = None if success is None else success == "yes"
            event["exit"] = exit_code
            event["errno"] = errno_name(exit_code)
        else:
            event["arch"] = event["syscall"] = event["success"] = None
            event["exit"] = event["errno"] = None
            if seccomp is not None:
                # the syscall a seccomp filter acted on (the event has no SYSCALL record)
                code = seccomp.get("arch")
                event["arch"] = arch_name(code)
                event["syscall"] = syscall_name(code, seccomp.get("syscall"))
    return event


# The record types build_event looks into: the key records, EXECVE, SECCOMP.
_EVENT_TYPES = KEY_RECORD_TYPES | frozenset(("EXECVE", "SECCOMP"))
_ISO_CACHE = {}  # seconds (text) -> their ISO time
_ISO_DAYS = {}  # days since the epoch -> their ISO date
ISO_CACHE_ENTRIES = 4096


def event_iso_time(event_id):
    """ISO 8601 UTC time of an event id, with the milliseconds it carries (None for a time
    beyond the year 9999, which the parser does not hand out)."""
    dot = event_id.find(".")
    colon = event_id.find(":", dot)
    if dot < 0 or colon < 0:
        return iso_utc(event_time(event_id))
    sec_text = event_id[:dot]
    text = _ISO_CACHE.get(sec_text)
    if text is None:
        if len(sec_text) > 12 or not sec_text.isdigit():
            return iso_utc(event_time(event_id))
        day, second = divmod(int(sec_text), 86400)
        date = _ISO_DAYS.get(day)
        if date is None:
            try:
                date = iso_seconds(day * 86400)[:11]  # "2026-11-26T"
            except (OverflowError, ValueError):
                return None
            if len(_ISO_DAYS) >= ISO_CACHE_ENTRIES:
                _ISO_DAYS.clear()
            _ISO_DAYS[day] = date
        hour, second = divmod(second, 3600)
        text = "%s%02d:%02d:%02d" % (date, hour, second // 60, second % 60)
        if len(_ISO_CACHE) >= ISO_CACHE_ENTRIES:  # the seconds of a log go by
            _ISO_CACHE.clear()
        _ISO_CACHE[sec_text] = text
    return "%s.%sZ" % (text, event_id[dot + 1:colon])


def _loose_header(body):
    r"""The first "type=T audit(SEC.MSEC:SERIAL): " of a line that went through syslog or
    the kernel ring buffer, after an optional "node=N " word, as (node, type, event id,
    seconds, end of the header, start of the event id), or None.

    The same as searching for (?:node=(\S*) )?type=(\S+) (?:msg=)?audit\(...\): ? (the
    leftmost match: the first "type=" of its word, the first "node=" of the word before),
    but linear: that pattern, searched, scans from every "type=" of a long word to the
    word's end again. _LOOSE_HEADER tries each word from its start only, and never lets
    the part before "type=" pass a "type=". Its optional word before comes second (??):
    when the word itself is followed by a stamp, that one is the leftmost.
    """
    if "audit(" not in body or "type=" not in body:  # most lines that are not records
        return None
    m = _LOOSE_HEADER.search(body)
    if m is None:
        return None
    before, lead = m.group(1), m.group(2)
    node = None
    if before is not None and not lead:  # "node=N type=T": only with "type=" first in its word
        named = before.find("node=")
        if named >= 0:
            node = before[named + 5:]
    return node, m.group(3), m.group(4), m.group(5), m.end(), m.start(4)


def _row_pieces(block):
    """The rows (node, type, event id, seconds, body) of the lines of BLOCK, a list per
    piece of about ROWS_SPAN characters: never the rows of a whole block at once."""
    end = len(block)
    pos = 0
    while True:
        stop = block.find("\n", pos + ROWS_SPAN) if end - pos > ROWS_SPAN else -1
        if stop < 0:
            yield _LINE.findall(block, pos)
            return
        yield _LINE.findall(block, pos, stop)
        pos = stop + 1


_TYPE_INFO = {}
CACHED_TYPE_MAX = 64  # record type names are short; longer ones are not remembered


def type_info(raw_type):
    """(name, ends the event) of a record type as the log writes it (type=T)."""
    info = _TYPE_INFO.get(raw_type)
    if info is None:
        name = _normalise_type(raw_type)
        info = (name, ends_event(name))
        if len(raw_type) <= CACHED_TYPE_MAX:
            if len(_TYPE_INFO) >= NAME_CACHE_ENTRIES:
                _TYPE_INFO.clear()
            _TYPE_INFO[raw_type] = info
    return info


def ends_event_cached(type_name):
    return type_info(type_name)[1]


def group_records(blocks, stats, eoe_timeout=DEFAULT_EOE_TIMEOUT, max_open=MAX_OPEN_EVENTS,
                  max_open_bytes=MAX_OPEN_BYTES):
    """Text blocks -> complete record groups (_Open objects), in the order they complete.

    An event closes at its last record (ends_event), or, as libauparse closes it, at the
    first later record of any event whose second is EOE_TIMEOUT or more after its own
    (closed_by "timeout"). An EOE that would start an event is dropped: it ends an event
    already complete (auparse drops it too).

    At most MAX_OPEN events, holding at most MAX_OPEN_BYTES bytes of record text, are
    open at once: past either, the oldest are closed early (repaired.events_closed_early).
    """
    open_events = {}
    open_bytes = 0
    info_cache = _TYPE_INFO
    # (second, sequence, key) of every event opened, oldest second first: what a record
    # of a later second closes is at the top. Entries of events already closed stay until
    # they come up (or the heap is rebuilt from the open events).
    heap = []
    seq = 0
    last_sec = None
    lines = records = 0
    try:
        for block in blocks:
            if not isinstance(block, str):  # a GroupFeed pause between blocks: hand control back
                stats.lines += lines
                stats.records += records
                lines = records = 0
                if block.flush:
                    for pending in list(open_events.values()):
                        pending.closed_by = "idle"
                        yield pending
                    open_events.clear()
                    del heap[:]
                    open_bytes = 0
                block.open = list(open_events.values())
                yield None
                continue
            # bytes per character of this block's text: its slices are no wider (CPython
            # keeps a str in 1, 2 or 4 bytes per character; 4 is assumed for 2 and 4)
            width = 1 if sys.getsizeof(block) - len(block) < 128 else 4
            for rows in _row_pieces(block):
                lines += len(rows)
                for node, rtype, event_id, sec, body in rows:
                    if not rtype:  # not in auditd's own form
                        loose = _loose_header(body)
                        if loose is None:
                            if body.strip():
                                stats.skip("not_a_record")
                            else:
                                lines -= 1  # blank lines are not counted
                            continue
                        stats.repair("syslog_prefixed_records")
                        node, rtype, event_id, sec, header_end = loose[:5]
                        body = body[header_end:]
                    key = node + " " + event_id if node else event_id
                    pending = open_events.get(key)
                    if sec != last_sec:
                        if pending is None:
                            problem = _id_problem(event_id, sec)
                            if problem is not None:
                                stats.skip(problem)
                                continue
                        last_sec = sec
                        if heap and heap[0][0] <= int(sec) - eoe_timeout:
                            limit = int(sec) - eoe_timeout
                            expired = []
                            while heap and heap[0][0] <= limit:
                                _sec, number, old_key = heapq.heappop(heap)
                                done = open_events.get(old_key)
                                if done is not None and done.seq == number:
                                    del open_events[old_key]
                                    open_bytes -= done.size
                                    done.closed_by = "timeout"
                                    expired.append(done)
                            expired.sort(key=_opened)  # in the order they were opened
                            yield from expired
                    elif pending is None and len(event_id) > 24:
                        problem = _id_problem(event_id, sec)
                        if problem is not None:
                            stats.skip(problem)
                            continue
                    info = info_cache.get(rtype)
                    if info is None:
                        info = type_info(rtype)
                    rtype, ends = info
                    records += 1
                    if pending is None:
                        if rtype == "EOE":
                            continue  # the end of an event complete already
                        pending = open_events[key] = _Open(node or None, event_id, int(sec))
                        seq += 1
                        pending.seq = seq
                        pending.size = 2 * len(key) * width
                        open_bytes += pending.size
                        if not ends:
                            heapq.heappush(heap, (pending.sec, seq, key))
                            if len(heap) > 2 * len(open_events) + 64:  # mostly closed ones
                                heap = [(p.sec, p.seq, k) for k, p in open_events.items()]
                                heapq.heapify(heap)
                        if len(open_events) > max_open:
                            stats.repair("events_closed_early")
                            # the first key is the oldest event: dicts keep insertion order
                            oldest = open_events.pop(next(iter(open_events), None))
                            open_bytes -= oldest.size
                            oldest.closed_by = "limit"
                            yield oldest
                    pending.records.append((rtype, body))
                    size = (len(body) + len(rtype)) * width
                    pending.size += size
                    open_bytes += size
                    if ends:
                        del open_events[key]
                        open_bytes -= pending.size
                        yield pending
                    elif open_bytes > max_open_bytes:
                        # oldest first; the event just added to may be one of them
                        while open_bytes > max_open_bytes and open_events:
                            stats.repair("events_closed_early")
                            oldest = open_events.pop(next(iter(open_events), None))
                            open_bytes -= oldest.size
                            oldest.closed_by = "limit"
                            yield oldest
        for pending in list(open_events.values()):
            pending.closed_by = "end"
            yield pending
        open_events.clear()
    finally:
        stats.lines += lines
        stats.records += records


def _opened(pending):
    return pending.seq


class _Pause(object):
    """Put between blocks by GroupFeed: group_records yields None for it (after completing
    every open event, with FLUSH) and leaves the events still open in OPEN."""
    __slots__ = ("flush", "open")

    def __init__(self, flush=False):
        self.flush = flush
        self.open = []


class GroupFeed(object):
    """group_records for a log that is still being written: feed() text blocks of whole lines
    as they are read and get back the groups (_Open) they complete, in order; flush() completes
    the events still open (the input went idle: auditd's end_of_event_timeout); open_groups
    are the events still open after the last call (their lines() let a reader resume later).

    The grouping rules, limits and counters are group_records' own.
    """

    def __init__(self, stats=None, eoe_timeout=DEFAULT_EOE_TIMEOUT, max_open=MAX_OPEN_EVENTS):
        self.stats = ParseStats() if stats is None else stats
        self.open_groups = []
        self._items = collections.deque()
        self._groups = group_records(self._blocks(), self.stats, eoe_timeout, max_open)

    def _blocks(self):
        while True:
            yield self._items.popleft()

    def _run(self, items):
        self._items.extend(items)
        done = []
        for group in self._groups:
            if group is None:  # the pause: everything fed so far is grouped
                break
            done.append(group)
        self.open_groups = items[-1].open
        return done

    def feed(self, block):
        """A text block of whole lines -> the groups it completes."""
        return self._run([block, _Pause()])

    def flush(self):
        """Complete every open event (closed_by "idle") -> those groups."""
        return self._run([_Pause(flush=True)])


def _key_needles(keys):
    """Texts that a record holding one of KEYS contains: key="K", or K hex-encoded (the form
    auditd uses when a rule has several keys, joined by 0x01)."""
    needles = set()
    for key in keys:
        needles.add('key="%s"' % key)
        needles.add(key.encode("utf-8").hex().upper())
    return sorted(needles)


# How far from a keyed record the other records of its event are looked for. The kernel
# writes an event's records together; other events interleave only a little.
KEYED_LOOKBACK = 4096
KEYED_LOOKAHEAD = 1 << 18
# node= prefix and record type come before msg=audit(...): how far into a line to look for it
HEADER_SPAN = 320
# The text the checks for records of a later second between an event's records may scan in
# a block, in times its length (see _closes).
CLOSING_CHECKS = 4
_STAMP = "audit("  # what both header forms hold before the event id
# The header of every record line in auditd's own form (the header part of _LINE).
_RECORD_LINE = re.compile(r"^(?:node=\S* )?type=\S+ msg=audit\(((\d+)\.\d+:\d+)\)", re.M)


def _header_of_line(text, start, stop):
    """The header of the line that starts at START, read from text[START:STOP] only, as
    (node, raw type, event id, seconds, body start, id start), or None. A line in auditd's
    own form, else one that went through syslog, as group_records reads them."""
    m = _HEADER.match(text, start, stop)
    if m is not None:
        return m.group(1) or None, m.group(2), m.group(3), m.group(4), m.end(), m.start(3)
    loose = _loose_header(text[start:stop])
    if loose is None:
        return None
    node, rtype, event_id, sec, end, id_start = loose
    return node or None, rtype, event_id, sec, start + end, start + id_start


def _record_at(text, pos, tag, node):
    """The record whose header holds TAG ("audit(ID)") at POS, if it is one of NODE's, as
    (raw type, body, line start, line end), or None: the line must start at most HEADER_SPAN
    characters before POS and its header's stamp must be that very TAG (the same text deeper
    in a line, in a file name for example, is a value, not a header). Bounded: it never
    scans a long line but to find its end."""
    newline = text.rfind("\n", max(pos - HEADER_SPAN, 0), pos)
    if newline < 0 and pos > HEADER_SPAN:
        return None
    line_start = newline + 1
    found = _header_of_line(text, line_start, pos + len(tag) + 2)
    if found is None or found[5] != pos + len(_STAMP) or found[0] != node:
        return None
    line_end = text.find("\n", pos)
    if line_end < 0:
        line_end = len(text)
    return found[1], text[found[4]:line_end], line_start, line_end


def _closes(text, start, stop, limit, budget):
    """True if a record line that starts in text[START:STOP] (START is a line start) is of
    second LIMIT or later: in group_records, such a record closes the events of seconds up to
    LIMIT - eoe_timeout that are still open. Lines in auditd's form are found in one pass of
    a pattern; a line in syslog form is read only when one is there.

    BUDGET (a one-item list) is what is left of the characters the checks of a block may
    scan: each check is charged the text it looks at, and once the budget is spent the
    checks answer False without looking (keyed_groups then stays linear in its input on a
    log where many events keep their records far apart; no log auditd writes comes near)."""
    if stop <= start:
        return False
    budget[0] -= stop - start
    if budget[0] < 0:
        return False
    native = 0
    for m in _RECORD_LINE.finditer(text, start, stop):
        native += 1
        sec = m.group(2)
        if len(sec) <= 12 and int(sec) >= limit and _id_problem(m.group(1), sec) is None:
            return True
    if text.count(_STAMP, start, stop) <= native:  # every stamp is one of those headers
        return False
    budget[0] -= stop - start
    if budget[0] < 0:
        return False
    pos = start
    while pos < stop:
        end = text.find("\n", pos, stop)
        end = stop if end < 0 else end
        if text.find(_STAMP, pos, end) >= 0 and _HEADER.match(text, pos, end) is None:
            loose = _loose_header(text[pos:end])
            if loose is not None:
                sec = loose[3]
                if len(sec) <= 12 and int(sec) >= limit and _id_problem(loose[2], sec) is None:
                    return True
        pos = end + 1
    return False


def _records_before(window, tag, node, limit, budget):
    """The records of the event TAG names (of NODE) that group_records puts in one group
    with the record that follows WINDOW, as (type, body, line start in WINDOW): WINDOW is
    the text of whole lines before that record's line, at most KEYED_LOOKBACK characters.
    The records found are replayed as group_records reads them: a record that ends an event,
    or a record of second LIMIT or later between two of them, ends a group, and an EOE does
    not start one."""
    found = []
    pos = window.find(tag)
    while pos >= 0:
        record = _record_at(window, pos, tag, node)
        if record is None:
            pos = window.find(tag, pos + len(tag))
            continue
        found.append(record)
        pos = window.find(tag, record[3])
    group = []
    after = 0  # start of the line after the last record looked at
    for raw_type, body, line_start, line_end in found:
        if group and _closes(window, after, line_start, limit, budget):
            group = []
        after = line_end + 1
        name, ends = type_info(raw_type)
        if not group and name == "EOE":
            continue
        group.append((name, body, line_start))
        if ends:
            group = []
    if group and _closes(window, after, len(window), limit, budget):
        group = []
    return group


def keyed_groups(blocks, keys, stats, eoe_timeout=DEFAULT_EOE_TIMEOUT):
    """Blocks -> complete record groups (_Open) of the events that carry one of KEYS.

    The fast path for key filters: each block is searched for the key at memory speed, and
    only the records of the events around each hit are read, instead of grouping every line.
    A hit is a rule key (key= of a KEY_RECORD_TYPES record). The records of its event are
    looked for up to KEYED_LOOKBACK characters before it and up to KEYED_LOOKAHEAD after it
    (into the next block), and grouped as group_records groups them: an event ends at its
    last record (ends_event), or where a record of a second EOE_TIMEOUT or more after its
    own comes between two of its records; an EOE does not start an event. Lines outside
    keyed events are not looked at: `lines` and `records` count only the lines of keyed
    events. Empty keys match nothing.
    """
    keys = [k for k in keys if k]
    needles = _key_needles(keys)
    wanted = frozenset(keys)
    previous = ""  # the whole lines of the last KEYED_LOOKBACK characters of the last block
    carried = []  # (event, tag, how much further to look) still waiting at a block's end

    header = _HEADER.match
    info_cache = _TYPE_INFO

    def follow(text, event, tag, start, stop, claimed):
        """Append the records of EVENT found after START (the newline ending a line, -1 for
        the start of TEXT) and before STOP. Returns ("record", end) once its last record is
        in, ("timeout", end) at a record of a later second that closes it, (None, end) if
        neither came before STOP; END ends the line of the last record found (or is START).
        The next line is tried first: an event's records are usually adjacent."""
        records, node, limit, event_id = event.records, event.node, event.sec + eoe_timeout, event.event_id
        while True:
            line_start = start + 1
            # the next line, where the event's next record usually is: its header alone
            m = header(text, line_start, min(stop, line_start + HEADER_SPAN + len(tag) + 2))
            if m is not None and m.group(3) == event_id and (m.group(1) or None) == node:
                end = text.find("\n", m.end())
                if end < 0:
                    end = len(text)
                raw_type, body, begin = m.group(2), text[m.end():end], line_start
            else:
                pos = text.find(tag, line_start, stop)
                record = None
                while pos >= 0:
                    record = _record_at(text, pos, tag, node)
                    if record is not None:
                        break
                    pos = text.find(tag, pos + len(tag), stop)
                if record is None:
                    return None, start
                raw_type, body, begin, end = record
                if _closes(text, line_start, begin, limit, scan):
                    return "timeout", start
            info = info_cache.get(raw_type)
            if info is None:
                info = type_info(raw_type)
            records.append((info[0], body))
            claimed.add(begin)
            start = end
            if info[1]:
                return "record", start

    def finish(event, tag, start, text, claimed, complete, still_open, position, reach):
        """Follow EVENT from START in TEXT, at most REACH characters further; file it as
        complete or as still open at the end of TEXT."""
        stop = min(len(text), start + 1 + reach)
        how, end = follow(text, event, tag, start, stop, claimed)
        if how is None and stop < len(text):
            how = "timeout"  # looked as far as a key search looks
        elif how is None and _closes(text, end + 1, len(text), event.sec + eoe_timeout, scan):
            how = "timeout"  # a later second came after its last record
        if how is not None:
            event.closed_by = how
            complete.append((position, event))
        else:
            still_open.append((event, tag, reach - (stop - start - 1)))

    scan = [0]  # what the closing checks of a block may still scan (_closes)
    for block in blocks:
        scan[0] = CLOSING_CHECKS * len(block) + KEYED_LOOKBACK
        complete = []  # (position of the keyed record, event)
        still_open = []
        claimed = set()  # line starts of the records of this block already in a group
        for event, tag, reach in carried:
            finish(event, tag, -1, block, claimed, complete, still_open, -1, reach)
        for needle in needles:
            quoted = needle[0] == "k"
            pos = block.find(needle)
            while pos >= 0:
                line_start = block.rfind("\n", 0, pos) + 1
                line_end = block.find("\n", pos)
                line_end = len(block) if line_end < 0 else line_end
                found = None if line_start in claimed else _header_of_line(block, line_start, line_end)
                if found is not None and pos >= found[4]:
                    node, raw_type, event_id, sec, body_start, _id_start = found
                    name, ends = type_info(raw_type)
                    body = block[body_start:line_end]
                    end = pos + len(needle)
                    if name in KEY_RECORD_TYPES and (
                            # key="K" as a whole token, not the tail of another value
                            (block[pos - 1] == " " and (end == len(block) or block[end] in " \n\x1d"))
                            if quoted else wanted.intersection(event_keys([(name, body)]))):
                        problem = _id_problem(event_id, sec)
                        if problem is not None:
                            stats.skip(problem)
                            pos = block.find(needle, line_end)
                            continue
                        tag = "%s%s)" % (_STAMP, event_id)
                        event = _Open(node, event_id, int(sec))
                        limit = event.sec + eoe_timeout
                        if line_start >= KEYED_LOOKBACK:
                            low = block.find("\n", line_start - KEYED_LOOKBACK, line_start) + 1
                            if block.find(tag, low, line_start) < 0:  # the usual case
                                before = ()
                            else:
                                before = _records_before(block[low:line_start], tag, node, limit, scan)
                                claimed.update(low + b for _n, _b, b in before)
                        elif block.find(tag, 0, line_start) < 0 and previous.find(tag) < 0:
                            before = ()
                        else:
                            window = (previous + "\n" if previous else "") + block[:line_start]
                            before = _records_before(window, tag, node, limit, scan)
                            offset = len(window) - line_start
                            claimed.update(b - offset for _n, _b, b in before if b >= offset)
                        event.records = [(n, b) for n, b, _s in before]
                        event.records.append((name, body))
                        claimed.add(line_start)
                        if ends:
                            complete.append((line_start, event))
                        else:
                            finish(event, tag, line_end, block, claimed, complete, still_open,
                                   line_start, KEYED_LOOKAHEAD)
                pos = block.find(needle, line_end)
        complete.sort(key=lambda item: item[0])
        for _pos, event in complete:
            stats.lines += len(event.records)
            stats.records += len(event.records)
            yield event
        carried = still_open
        cut = block.find("\n", len(block) - KEYED_LOOKBACK) if len(block) > KEYED_LOOKBACK else -1
        previous = block[cut + 1:]
    for event, _tag, _reach in carried:
        event.closed_by = "end"
        stats.lines += len(event.records)
        stats.records += len(event.records)
        yield event


def complete_groups(source=None, keys=None, stats=None, paths=None,
                    eoe_timeout=DEFAULT_EOE_TIMEOUT):
    """Complete record groups (_Open) from a source, through the key fast path if KEYS."""
    blocks = iter_blocks(source, paths, stats)
    if keys:
        return keyed_groups(blocks, keys, stats, eoe_timeout)
    return group_records(blocks, stats, eoe_timeout)


def _as_list(value):
    return [value] if isinstance(value, str) else value


def parse_events(source=None, keys=None, types=None, since=None, until=None, syscalls=None,
                 interpret=True, stats=None, paths=None, eoe_timeout=DEFAULT_EOE_TIMEOUT):
    """Yield events (dicts) from SOURCE or PATHS.

    source: log text (str or bytes), a path, a file object, or an iterable of lines.
    paths: list of files read in the given order (use expand_log_paths or rotated_log_set).
    keys: keep events with one of these keys. types: keep events with a record of one of
    these types. since/until: epoch seconds (see _timeutil.parse_time). syscalls: keep
    events whose SYSCALL record is one of these syscall names.
    """
    if stats is None:
        stats = ParseStats()
    keys, types, syscalls = _as_list(keys), _as_list(types), _as_list(syscalls)
    wanted = _Filter(keys, types, since, until, syscalls)
    for pending in complete_groups(source, keys, stats, paths, eoe_timeout):
        stats.events += 1
        try:
            if wanted.active and not wanted.accepts(pending):
                continue
            event = build_event(pending, interpret, stats)
        except Exception:  # pylint: disable=broad-except
            # Nothing in the input should get here (the fuzz tests look for it); if a bug
            # does, one event is lost and counted, not the rest of the log.
            stats.skip("undecodable_events")
            continue
        stats.matched += 1
        yield event
