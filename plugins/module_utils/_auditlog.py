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
  stands alone), when a later record is more than `eoe_timeout` seconds newer (as auditd's
  end_of_event_timeout), when too many events are open at once, or at end of input.
- Bad input never raises: lines that are not records, overlong lines and undecodable bytes
  are counted in ParseStats and skipped or repaired.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import glob
import gzip
import io
import os
import re
import time

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import (
    ARCHES, ERRNOS, RECORD_TYPES, SYSCALLS)
from ansible_collections.auditfleet.auditd.plugins.module_utils._timeutil import iso_utc

BLOCK_SIZE = 1 << 20
MAX_LINE = 1 << 20
MAX_OPEN_EVENTS = 2048
DEFAULT_EOE_TIMEOUT = 2

ENRICHED_SEP = "\x1d"
UNSET_IDS = frozenset(("4294967295", "-1"))

# msg=audit(SEC.MSEC:SERIAL) after an optional node= prefix: the form auditd writes.
_HEADER = re.compile(r"(?:node=(\S*) )?type=(\S+) msg=audit\(((\d+)\.\d+:\d+)\): ?")
# Every line of a block: records fill the first four groups, other lines only the last.
_LINE = re.compile(r"^(?:(?:node=(\S*) )?type=(\S+) msg=audit\(((\d+)\.\d+:\d+)\): ?)?(.*)$", re.M)
# Looser form for lines that went through syslog or the kernel ring buffer
# ("... audit: type=1400 audit(1.2:3): ...").
_HEADER_LOOSE = re.compile(r"(?:node=(\S*) )?type=(\S+) (?:msg=)?audit\(((\d+)\.\d+:\d+)\): ?")
# name=value with quoted ("..." or '...'), braced ({ ... }) or bare values; an unterminated
# quote (a truncated line) runs to the end.
_FIELD = re.compile(r"""([^\s=]+)=("[^"]*"?|'[^']*'?|\{[^}]*\}?|\S*)""")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+\Z")
_SYSCALL_FIELDS = re.compile(r"(?:^| )arch=([0-9a-fA-F]+) syscall=(\d+)")
_EXECVE_ARG = re.compile(r"a(\d+)(?:\[(\d+)\])?\Z")
_UNKNOWN_TYPE = re.compile(r"UNKNOWN\[(\d+)\]\Z")

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


def rotated_log_set(log_file):
    """The log file and its rotated siblings (log_file.1 ... log_file.N), oldest first."""
    found = []
    num = 1
    while os.path.exists("%s.%d" % (log_file, num)):
        found.append("%s.%d" % (log_file, num))
        num += 1
    found.reverse()
    if os.path.exists(log_file):
        found.append(log_file)
    return found


def open_log(path):
    """Open a log file for reading as bytes; .gz files are decompressed."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return io.open(path, "rb")


def _blocks_from_binary(fobj, stats, position=None, partial_tail=True):
    """Yield decoded text blocks of whole lines from a binary file object.

    POSITION, a one-item list, is advanced by the bytes of every line handed out (or
    skipped as too long). Without PARTIAL_TAIL, a last line with no newline yet (auditd is
    still writing it) is not handed out: a later read starts there.
    """
    rest = b""
    skipping = False  # inside a line longer than MAX_LINE
    while True:
        data = fobj.read(BLOCK_SIZE)
        if not data:
            break
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
        yield _decode_block(data[:cut], stats)
    if rest and partial_tail:
        if position is not None:
            position[0] += len(rest)
        yield _decode_block(rest, stats)


def _decode_block(data, stats):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        stats.repair("invalid_utf8_lines", sum(1 for line in text.split("\n") if u"\ufffd" in line))
    if "\r" in text:
        # CRLF line ends; a block ends before the last line's \n, so its \r stands alone
        text = text.replace("\r\n", "\n")
        if text[-1:] == "\r":
            text = text[:-1]
    return text


def _blocks_from_lines(lines, stats):
    """Group an iterable of lines (str or bytes) into text blocks."""
    batch, size = [], 0
    for line in lines:
        if isinstance(line, bytes):
            stats.bytes += len(line)
            line = _decode_block(line, stats)
        else:
            stats.bytes += len(line)
        line = line.rstrip("\n")
        if "\r" in line:  # CRLF line ends, as _decode_block drops them from bytes
            line = line.replace("\r\n", "\n").rstrip("\r")
        batch.append(line)
        size += len(line)
        if size >= BLOCK_SIZE:
            yield "\n".join(batch)
            batch, size = [], 0
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
    return "\n" not in value and len(value) < 4096 and os.path.isfile(value)


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


# ---------------------------------------------------------------------------------------
# Record types

def record_type_number(name):
    """Numeric record type for a type name (SYSCALL, UNKNOWN[1334], 1300), or None."""
    number = RECORD_TYPES.get(name)
    if number is not None:
        return number
    if name.isdigit():
        return int(name)
    m = _UNKNOWN_TYPE.match(name)
    return int(m.group(1)) if m else None


_TYPE_NAMES = dict((v, k) for k, v in RECORD_TYPES.items())


def _normalise_type(name):
    """Kernel ring-buffer lines give numbers (type=1400): use the name auditd would write."""
    if name.isdigit():
        number = int(name)
        return _TYPE_NAMES.get(number, "UNKNOWN[%d]" % number)
    return name


def ends_event(type_name):
    """True when a record of this type is the last of its event.

    PROCTITLE is the last record the kernel writes for a syscall; EOE ends one explicitly.
    User-space and daemon messages (1100-1299, 2100-2999), anomalies and integrity records
    (1700-1999) and AUDIT_KERNEL (2000) stand alone. Kernel records below 1100 (LOGIN, for
    example) are written inside a syscall's event, and 1300-1699 records belong to syscall
    or SELinux/AppArmor events, so they wait for more records.
    """
    if type_name in ("PROCTITLE", "EOE"):
        return True
    number = record_type_number(type_name)
    if number is None:
        return False
    return 1100 <= number < 1300 or number >= 1700


# ---------------------------------------------------------------------------------------
# Value decoding and interpretation

def unhex(value):
    """Hex text -> str; bytes that are not UTF-8 are kept as \\xNN escapes."""
    return bytes.fromhex(value).decode("utf-8", "backslashreplace")


def decode_keys(raw):
    """A key= value -> list of keys (hex form holds several keys separated by 0x01)."""
    if raw is None or raw in NULL_VALUES or raw == "":
        return []
    if raw[0] == '"':
        raw = raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:]
        return [raw] if raw and raw != "(null)" else []
    if _HEX.match(raw):
        return [k for k in unhex(raw).split("\x01") if k]
    return [raw]


def _decode_proctitle(value):
    if _HEX.match(value):
        parts = bytes.fromhex(value).split(b"\x00")
        while parts and parts[-1] == b"":
            parts.pop()
        return [p.decode("utf-8", "backslashreplace") for p in parts]
    return [value]


def _strip_quotes(value):
    if len(value) > 1 and value[-1] == value[0]:
        return value[1:-1]
    return value[1:]  # truncated: opening quote only


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
    if value in NULL_VALUES:
        return None
    if name in ESCAPED_FIELDS and _HEX.match(value):
        return _decode_proctitle(value) if name == "proctitle" else unhex(value)
    return value


def _interpret_value(name, value):
    if value is None or value.__class__ is not str:
        return value
    if name in ID_FIELDS:
        if value in UNSET_IDS:
            return None
    elif name not in INT_FIELDS:
        return value
    try:
        return int(value)
    except ValueError:
        return value


def parse_fields(text, interpret=False):
    """name=value text -> dict of decoded values.

    Quoted values lose their quotes; hex values of escaped fields are decoded; (null),
    (none) and ? become None; proctitle becomes an argv list; a name that repeats keeps
    its last value (old LOGIN records say "old auid=... new auid=..."). The msg='...' of
    user-space records is flattened into the record without overriding the record's own
    fields. With INTERPRET, id and counter fields become int (unset ids: None).
    """
    fields = {}
    nested = None
    for name, value in _FIELD.findall(text):
        if name == "msg" and value[:1] == "'":
            nested = _strip_quotes(value)
            continue
        value = _decode_value(name, value)
        fields[name] = _interpret_value(name, value) if interpret else value
    if nested is not None:
        inner = parse_fields(nested, interpret)
        if not inner:
            fields["msg"] = nested
        for name, value in inner.items():
            if name not in fields:
                fields[name] = value
    return fields


# Records repeat most of what they say (uid=0, tty=(none), comm="sshd", a process's whole
# identity), so decoded values are kept in bounded caches, one set per interpretation mode:
# - single name=value tokens;
# - the tail of a record after its per-event values (CUT_BEFORE): for a SYSCALL record
#   everything from auid= on, which repeats for every syscall of the same process.

class _Memo(object):
    """A bounded cache that keeps what is still used: two generations of at most SIZE entries;
    when the new one is full it becomes the old one, and a hit in the old one moves back."""
    __slots__ = ("size", "new", "old")

    def __init__(self, size):
        self.size = size
        self.new, self.old = {}, {}

    def get(self, key):
        value = self.new.get(key)
        if value is None:
            value = self.old.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key, value):
        if len(self.new) >= self.size:
            self.old, self.new = self.new, {}
        self.new[key] = value


# Sizes measured on bench/gen_log.py's 1 GiB log of three busy hosts: about 87% of record
# tails and 91% of proctitles are found in the cache, and the whole parse peaks at about
# 42 MiB (a tail and its decoded fields take about 2 KiB).
TOKEN_ENTRIES = 1 << 14
_TOKEN_CACHE = {False: {}, True: {}}   # plain dicts: looked up once per token, the hot path
_TAIL_CACHE = {False: _Memo(4096), True: _Memo(4096)}
_PROCTITLE_CACHE = _Memo(2048)
_ENRICHED_CACHE = _Memo(1024)
# values unique to one record: caching them would only churn the cache
UNCACHED_FIELDS = frozenset(("a0", "a1", "a2", "a3", "pid", "ppid", "opid", "inode"))
CUT_BEFORE = {
    "SYSCALL": " auid=", "OBJ_PID": " oauid=", "PATH": " dev=", "USER_ACCT": " uid=",
    "USER_AUTH": " uid=", "USER_START": " uid=", "USER_END": " uid=", "USER_LOGIN": " uid=",
    "USER_LOGOUT": " uid=", "USER_CMD": " uid=", "CRED_ACQ": " uid=", "CRED_DISP": " uid=",
    "CRED_REFR": " uid=", "USER_ERR": " uid=", "USER_AVC": " uid=", "SERVICE_START": " uid=",
    "SERVICE_STOP": " uid=", "CRYPTO_KEY_USER": " uid=", "USER_ROLE_CHANGE": " uid=",
}
# The fixed start of a SYSCALL record (kernel/auditsc.c audit_log_exit), read in one match.
_SYSCALL_HEAD = re.compile(
    r"arch=([0-9a-f]+) syscall=(\d+) (?:per=([0-9a-f]+) )?(?:success=(yes|no) exit=(-?\d+) )?"
    r"a0=([0-9a-f]+) a1=([0-9a-f]+) a2=([0-9a-f]+) a3=([0-9a-f]+) items=(\d+) ppid=(\d+) pid=(\d+)\Z")


class _NeedsTokenizer(Exception):
    """A token that only the full tokenizer reads right (spaces inside quotes, msg='...')."""


def _token(token, cache, interpret):
    """Decode one name=value token and remember it; raise _NeedsTokenizer if it cannot be."""
    name, sep, value = token.partition("=")
    if sep and value.isalnum() and name not in ESCAPED_FIELDS:  # plain: nothing to decode
        value = _interpret_value(name, value) if interpret else value
        pair = (name, value)
        if name not in UNCACHED_FIELDS:
            if len(cache) >= TOKEN_ENTRIES:
                cache.clear()
            cache[token] = pair
        return pair
    first = value[:1]
    if not sep or not name or first in ("'", "{") or (
            first == '"' and (len(value) < 2 or value[-1] != '"')):
        raise _NeedsTokenizer()
    value = _decode_value(name, value)
    if interpret:
        value = _interpret_value(name, value)
    pair = (name, value)
    if value.__class__ is not list and name not in UNCACHED_FIELDS:  # lists are mutable
        if len(cache) >= TOKEN_ENTRIES:
            cache.clear()
        cache[token] = pair
    return pair


def _fast_fields(raw, interpret):
    """parse_fields for the common case: name=value tokens separated by single spaces, no
    spaces inside quotes. None when the record needs parse_fields."""
    cache = _TOKEN_CACHE[interpret]
    get = cache.get
    try:
        return dict([get(t) or _token(t, cache, interpret) for t in raw.split(" ")])
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


def _fields(type_name, raw, interpret):
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
                    tail = parse_fields(tail_text, interpret)
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
            fields = _fast_fields(raw, interpret) or parse_fields(raw, interpret)
            title = fields.get("proctitle")
            if len(fields) != 1 or not isinstance(title, list):
                return fields
            argv = tuple(title)
            _PROCTITLE_CACHE.put(raw, argv)
        return {"proctitle": list(argv)}
    fields = _fast_fields(raw, interpret)
    return parse_fields(raw, interpret) if fields is None else fields


def parse_enriched(text, shared=False):
    """The ENRICHED part after 0x1d: NAME="value" pairs, kept as names.

    The same text gives the same dict; with SHARED the cached dict itself is returned (the
    caller must not change it), otherwise a copy.
    """
    cached = _ENRICHED_CACHE.get(text)
    if cached is None:
        cached = {}
        for name, value in _FIELD.findall(text):
            cached[name] = _strip_quotes(value) if value[:1] in ('"', "'") else value
        _ENRICHED_CACHE.put(text, cached)
    return cached if shared else dict(cached)


_ARCH_NAMES = {}
_SYSCALL_NAMES = {}


def arch_name(code):
    """arch= code (c000003e) -> name (x86_64); unknown codes are returned as given."""
    if code is None:
        return None
    name = _ARCH_NAMES.get(code)
    if name is None:
        entry = ARCHES.get(code.lower().zfill(8))
        name = _ARCH_NAMES[code] = entry[0] if entry else code
    return name


def syscall_name(arch_code, number):
    """Syscall name for arch= code and syscall= number, or the number as text if unknown."""
    cached = _SYSCALL_NAMES.get((arch_code, number))
    if cached is not None:
        return cached
    entry = ARCHES.get((arch_code or "").lower().zfill(8))
    table = SYSCALLS.get(entry[1]) if entry and entry[1] else None
    try:
        nr = int(number)
    except (TypeError, ValueError):
        return number
    name = str(nr) if table is None else table.get(nr, str(nr))
    if len(_SYSCALL_NAMES) < 65536:  # arches x syscalls: small, but never unbounded
        _SYSCALL_NAMES[(arch_code, number)] = name
    return name


def errno_name(exit_code):
    """Negative exit value -> errno name (-1 -> EPERM); None when not an error."""
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
    if isinstance(argc, str) and argc.isdigit():
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


def record_parts(type_name, body, interpret=True, shared=False):
    """One record's body (the text after the header) -> (fields, enriched).

    With SHARED, the enriched dict may be shared with other records (the caller only reads
    it); otherwise every record gets its own.
    """
    sep = body.find(ENRICHED_SEP)
    if sep >= 0:
        raw, enriched = body[:sep], parse_enriched(body[sep + 1:], shared)
    else:
        raw, enriched = body, {}
    if raw[:1] == " " or raw[-1:] == " ":
        raw = raw.strip(" ")
    if type_name == "EXECVE":
        return _parse_execve(raw, interpret), enriched
    return (_fields(type_name, raw, interpret) if raw else {}), enriched


def _parse_execve(raw, interpret):
    """EXECVE arguments (a0, a1[0], ...) are hex whenever they are not quoted (the kernel
    quotes an argument only when it has no space, quote or control character)."""
    fields = {}
    tokens = raw.split(" ")
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep or (value[:1] == '"' and (len(value) < 2 or value[-1] != '"')):
            fields = None  # not the kernel's form: read it with the tokenizer
            break
        fields[name] = value
    if fields is None:
        fields = dict(_FIELD.findall(raw))
    for name, value in fields.items():
        if name[:1] == "a" and _EXECVE_ARG.match(name) and _HEX.match(value):
            fields[name] = unhex(value)
        else:
            value = _decode_value(name, value)
            fields[name] = _interpret_value(name, value) if interpret else value
    return fields


# ---------------------------------------------------------------------------------------
# Grouping records into events

class _Open(object):
    """The records of one event while they are gathered; closed_by says what completed it:
    "record" (its last record came), "timeout", "limit" (too many open events), "end"
    (the input ended first, so it may still grow: the facts module's cursor holds these back)
    or "idle" (GroupFeed.flush(): a followed log went idle while it was open)."""
    __slots__ = ("node", "event_id", "sec", "records", "closed_by")

    def __init__(self, node, event_id, sec):
        self.node = node
        self.event_id = event_id
        self.sec = sec
        self.records = []
        self.closed_by = "record"

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
    """Keys of an event from the raw key= fields of its records, in order, without repeats."""
    keys = []
    for _rtype, body in records:
        if "key=" in body:
            for key in decode_keys(_raw_key(body)):
                if key not in keys:
                    keys.append(key)
    return keys


def build_event(pending, interpret=True):
    """A complete group of records -> the event dict the collection returns."""
    event_id = pending.event_id
    serial = event_id[event_id.rfind(":") + 1:]
    records, types, keys = [], [], []
    syscall = None
    for rtype, body in pending.records:
        fields, enriched = record_parts(rtype, body, interpret)
        record = {"type": rtype, "fields": fields, "enriched": enriched}
        if rtype == "SYSCALL":
            if syscall is None:
                syscall = fields
        elif rtype == "EXECVE":
            record["argv"] = _execve_argv(fields)
        records.append(record)
        types.append(rtype)
        raw_key = fields.get("key")
        if raw_key and isinstance(raw_key, str):
            for key in raw_key.split("\x01"):
                if key and key not in keys:
                    keys.append(key)
    event = {
        "event_id": event_id,
        "node": pending.node,
        "timestamp": event_time(event_id),
        "time": event_iso_time(event_id),
        "serial": int(serial) if serial.isdigit() else serial,
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
            event["syscall"] = syscall_name(code, syscall.get("syscall"))
            event["success"] = None if success is None else success == "yes"
            event["exit"] = exit_code
            event["errno"] = errno_name(exit_code)
        else:
            event["arch"] = event["syscall"] = event["success"] = None
            event["exit"] = event["errno"] = None
    return event


_ISO_CACHE = [None, None]


def event_iso_time(event_id):
    """ISO 8601 UTC time of an event id, with the milliseconds it carries."""
    dot = event_id.find(".")
    colon = event_id.find(":", dot)
    try:
        secs = int(event_id[:dot])
    except ValueError:
        return iso_utc(event_time(event_id))
    if _ISO_CACHE[0] != secs:
        _ISO_CACHE[0] = secs
        _ISO_CACHE[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return "%s.%sZ" % (_ISO_CACHE[1], event_id[dot + 1:colon])


def group_records(blocks, stats, eoe_timeout=DEFAULT_EOE_TIMEOUT, max_open=MAX_OPEN_EVENTS):
    """Text blocks -> complete record groups (_Open objects), in the order they complete."""
    loose = _HEADER_LOOSE.search
    open_events = {}
    ends_cache = {}
    high = None  # newest second seen
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
                block.open = list(open_events.values())
                yield None
                continue
            rows = _LINE.findall(block)
            lines += len(rows)
            for node, rtype, event_id, sec, body in rows:
                if not rtype:  # not in auditd's own form
                    m = loose(body)
                    if m is None:
                        if body.strip():
                            stats.skip("not_a_record")
                        else:
                            lines -= 1  # blank lines are not counted
                        continue
                    stats.repair("syslog_prefixed_records")
                    node, rtype, event_id, sec = m.group(1, 2, 3, 4)
                    rtype = _normalise_type(rtype)
                    body = body[m.end():]
                records += 1
                key = node + " " + event_id if node else event_id
                pending = open_events.get(key)
                if pending is None:
                    if sec != last_sec:
                        last_sec = sec
                        now = int(sec)
                        if high is None or now > high:
                            high = now
                            if open_events:
                                limit = now - eoe_timeout
                                expired = [k for k, p in open_events.items() if p.sec < limit]
                                for k in expired:
                                    pending = open_events.pop(k)
                                    pending.closed_by = "timeout"
                                    yield pending
                    pending = open_events[key] = _Open(node or None, event_id, int(sec))
                    if len(open_events) > max_open:
                        stats.repair("events_closed_early")
                        # the first key is the oldest event: dicts keep insertion order
                        oldest = open_events.pop(next(iter(open_events), None))
                        oldest.closed_by = "limit"
                        yield oldest
                pending.records.append((rtype, body))
                ends = ends_cache.get(rtype)
                if ends is None:
                    ends = ends_cache[rtype] = ends_event(rtype)
                if ends:
                    del open_events[key]
                    yield pending
        for pending in list(open_events.values()):
            pending.closed_by = "end"
            yield pending
        open_events.clear()
    finally:
        stats.lines += lines
        stats.records += records


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
KEYED_LOOKBACK = 1024
KEYED_LOOKAHEAD = 1 << 18
# node= prefix and record type come before msg=audit(...): how far into a line to look for it
HEADER_SPAN = 320


_ENDS_CACHE = {}


def ends_event_cached(type_name):
    ends = _ENDS_CACHE.get(type_name)
    if ends is None:
        ends = _ENDS_CACHE[type_name] = ends_event(type_name)
    return ends


def _records_before(previous, block, begin, tag, node, header):
    """(type, body) of the records of event TAG written before its keyed record (AVC,
    CONFIG_CHANGE, ...), up to KEYED_LOOKBACK characters back, into the previous block."""
    low = begin - KEYED_LOOKBACK
    spans = [(block, max(low, 0), begin)]
    if low < 0 and previous:
        spans.insert(0, (previous[low:], 0, -low))
    found = []
    for text, start, stop in spans:
        pos = text.find(tag, start, stop)
        while pos >= 0:
            line_start = text.rfind("\n", 0, pos) + 1
            line_end = text.find("\n", pos)
            line_end = len(text) if line_end < 0 else line_end
            m = header(text, line_start)
            if m is not None and m.group(1) == node:
                found.append((m.group(2), text[m.end():line_end]))
            pos = text.find(tag, line_end, stop)
    return found


def keyed_groups(blocks, keys, stats):
    """Blocks -> complete record groups (_Open) of the events that carry one of KEYS.

    The fast path for key filters: each block is searched for the key at memory speed, and
    only the records of the events around each hit are read, instead of grouping every line.
    An event's records are looked for up to KEYED_LOOKBACK characters before its keyed
    record and up to KEYED_LOOKAHEAD after it (into the next block), until its last record
    (PROCTITLE, EOE, ...). Lines outside keyed events are not looked at: `lines` and
    `records` count only the lines of keyed events.
    """
    needles = _key_needles(keys)
    wanted = frozenset(keys)
    header = _HEADER.match
    ends_cache = _ENDS_CACHE
    previous = ""
    carried = []  # events still waiting for their last record at the previous block's end

    def follow(text, event, tag, start, limit):
        """Append the records of EVENT found after START (the newline ending a line, -1 for
        the start of TEXT) and before LIMIT; True once its last one is in. The next line is
        tried first: an event's records are usually adjacent."""
        records, node = event.records, event.node
        while True:
            # the next line, where the event's next record usually is
            line_start = start + 1
            pos = text.find(tag, line_start, line_start + HEADER_SPAN)
            if pos < 0 or text.rfind("\n", line_start, pos) >= 0:  # not in the next line
                pos = text.find(tag, line_start, limit)
                if pos < 0:
                    return False
                line_start = text.rfind("\n", 0, pos) + 1
            start = text.find("\n", pos)
            if start < 0:
                start = len(text)
            m = header(text, line_start)
            if m is not None and m.group(1) == node:
                rtype = m.group(2)
                records.append((rtype, text[m.end():start]))
                ends = ends_cache.get(rtype)
                if ends is None:
                    ends = ends_event_cached(rtype)
                if ends:
                    return True
            if start >= limit:
                return False

    for block in blocks:
        complete = []  # (position of the keyed record, event)
        still_open = []  # (event, tag, how much further to look)
        done = set()
        for event, tag, budget in carried:
            done.add((event.node, event.event_id))
            if follow(block, event, tag, -1, budget):
                complete.append((-1, event))
            elif budget <= len(block):
                event.closed_by = "timeout"  # looked as far as a key search looks
                complete.append((-1, event))
            else:
                still_open.append((event, tag, budget - len(block)))
        for needle in needles:
            quoted = needle[0] == "k"
            pos = block.find(needle)
            while pos >= 0:
                line_start = block.rfind("\n", 0, pos) + 1
                line_end = block.find("\n", pos)
                line_end = len(block) if line_end < 0 else line_end
                m = header(block, line_start)
                if m is not None:
                    node, rtype, event_id = m.group(1, 2, 3)
                    body = block[m.end():line_end]
                    end = pos + len(needle)
                    if (node, event_id) not in done and (
                            # key="K" as a whole token, not the tail of another value
                            (block[pos - 1] == " " and (end == len(block) or block[end] in " \n\x1d"))
                            if quoted else wanted.intersection(event_keys([(rtype, body)]))):
                        done.add((node, event_id))
                        tag = "msg=audit(%s):" % event_id
                        event = _Open(node, event_id, int(m.group(4)))
                        event.records = _records_before(previous, block, line_start, tag, node, header)
                        event.records.append((rtype, body))
                        limit = line_end + KEYED_LOOKAHEAD
                        if ends_event_cached(rtype) or follow(block, event, tag, line_end, limit):
                            complete.append((line_start, event))
                        elif limit <= len(block):
                            event.closed_by = "timeout"
                            complete.append((line_start, event))
                        else:
                            still_open.append((event, tag, limit - len(block)))
                pos = block.find(needle, line_end)
        complete.sort(key=lambda item: item[0])
        for _pos, event in complete:
            stats.lines += len(event.records)
            stats.records += len(event.records)
            yield event
        carried = still_open
        previous = block[-KEYED_LOOKBACK:]
    for event, _tag, _budget in carried:
        event.closed_by = "end"
        stats.lines += len(event.records)
        stats.records += len(event.records)
        yield event


def complete_groups(source=None, keys=None, stats=None, paths=None,
                    eoe_timeout=DEFAULT_EOE_TIMEOUT):
    """Complete record groups (_Open) from a source, through the key fast path if KEYS."""
    blocks = iter_blocks(source, paths, stats)
    if keys:
        return keyed_groups(blocks, keys, stats)
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
        if wanted.active and not wanted.accepts(pending):
            continue
        stats.matched += 1
        yield build_event(pending, interpret)
