# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit rule model: validation, rendering, canonical form, parsing of rule lines.

Nothing here runs a program or changes the host: the module's decisions are made from these
objects, and `_auditctl.py` carries them out. The only host reads are the ones validation needs
(the machine's syscall ABIs, user and group names), and each can be passed in instead.

Three forms of one rule:
- ``render()``: the line written to the rule file (what the user declared, normalised).
- ``listing()``: the line as ``auditctl -l`` (audit 3.0.9) prints that rule back; this is
  the canonical form shown to users (``missing``, ``pending``, the kernel side of the diff).
- ``canon()``: a hashable comparison key, equal for every spelling of the same kernel rule
  (``-k x`` and ``-F key=x``; ``exit,always`` and ``always,exit``; auid ``unset``, ``-1`` and
  ``4294967295``; syscall order and duplicates; user names and uids; errno names and numbers).

Syscall names are checked against the collection's generated tables (``_audit_tables``), the
same data the log parser uses: ``b64`` against the machine's native table, ``b32`` against its
32-bit compat table.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib
import grp
import gzip
import io
import platform
import pwd
import os
import re
import zlib

from ansible_collections.auditfleet.auditd.plugins.module_utils import _files
from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import (
    ERRNOS, MACHINES, RECORD_TYPES, RULE_FIELDS, SYSCALLS)

MANAGED_HEADER = "## Managed by auditfleet.auditd (audit_rule name=%s). Do not edit: changes are overwritten."
_MANAGED_RE = re.compile(r"^## Managed by auditfleet\.auditd \(audit_rule name=([a-z0-9_-]+)\)")
NAME_RE = re.compile(r"\A[a-z0-9_-]+\Z")
NAME_MAX = 64

ACTIONS = ("always", "never")
LISTS = ("exit", "user", "exclude", "task", "filesystem", "io_uring")
ARCH_CHOICES = ("b64", "b32", "both", "auto")
OPERATORS = ("=", "!=", "<", ">", "<=", ">=", "&", "&=")
PERMS = "rwxa"
KEY_MAX_BYTES = 31
MASK32 = 0xFFFFFFFF
UNSET = 0xFFFFFFFF
UNSET_WORDS = ("unset", "-1", "4294967295")

# uname -m of kernels that run 64-bit programs (b64); the rest run only 32-bit ones (b32).
MACHINES_64 = ("x86_64", "aarch64", "ppc64", "ppc64le", "s390x")
# Machine names auditctl accepts for -F arch= (besides b64/b32), by the ABI they select.
_ARCH_ALIASES = {
    "x86_64": "b64", "aarch64": "b64", "ppc64": "b64", "ppc64le": "b64", "s390x": "b64",
    "i386": "b32", "i486": "b32", "i586": "b32", "i686": "b32", "arm": "b32", "armeb": "b32",
    "armv7l": "b32", "armv6l": "b32", "ppc": "b32", "s390": "b32",
}

# S_IF* values auditctl 3.0.9 turns filetype names into (and prints back as numbers).
FILETYPES = {"file": 0o100000, "dir": 0o040000, "socket": 0o140000, "link": 0o120000,
             "character": 0o020000, "block": 0o060000, "fifo": 0o010000}
# The filesystem types auditctl 3.0.9 knows by name (lib/fstypetab.h).
FSTYPES = ("debugfs", "tracefs")
# The kernel's AF_MAX (Linux 6.x): saddr_fam must be lower.
AF_MAX = 46

_REL = ("=", "!=", "<", ">", "<=", ">=")
_EQ = ("=", "!=")
_LSM_SUBJ = ("subj_user", "subj_role", "subj_type", "subj_sen", "subj_clr")
_LSM_OBJ = ("obj_user", "obj_role", "obj_type", "obj_lev_low", "obj_lev_high")
_LSM_LEVELS = ("subj_sen", "subj_clr", "obj_lev_low", "obj_lev_high")
_UIDS = ("uid", "euid", "suid", "fsuid", "obj_uid")
_GIDS = ("gid", "egid", "sgid", "fsgid", "obj_gid")

# field name -> (kind, operators). Names come from libaudit (RULE_FIELDS, generated); this
# table adds what each one takes. A RULE_FIELDS name missing here is accepted as "raw".
FIELD_KINDS = {}
for _n in _UIDS:
    FIELD_KINDS[_n] = ("uid", _REL)
for _n in _GIDS:
    FIELD_KINDS[_n] = ("gid", _REL)
for _n in ("pid", "ppid", "pers", "inode", "devmajor", "devminor"):
    FIELD_KINDS[_n] = ("uint", _REL)
for _n in _LSM_SUBJ + _LSM_OBJ:
    FIELD_KINDS[_n] = ("lsm", _REL if _n in _LSM_LEVELS else _EQ)
for _n in ("a0", "a1", "a2", "a3"):
    FIELD_KINDS[_n] = ("arg", OPERATORS)
FIELD_KINDS.update({
    "auid": ("auid", _REL),
    "sessionid": ("sessionid", _REL),
    "exit": ("exit", _REL),
    "success": ("success", _EQ),
    "msgtype": ("msgtype", _REL),
    "path": ("path", ("=",)),
    "dir": ("dir", ("=",)),
    "exe": ("exe", _EQ),
    "perm": ("perm", ("=",)),
    "filetype": ("filetype", _EQ),
    "fstype": ("fstype", _EQ),
    "saddr_fam": ("saddr_fam", _REL),
})
# Spellings auditctl accepts that libaudit's name table lists under another name.
FIELD_ALIASES = {"loginuid": "auid"}
# Names that are not -F fields of the `fields` option.
_FIELD_ELSEWHERE = {
    "key": "set the key with the rule's `key` option",
    "arch": "set the ABI with the rule's `arch` option (b64, b32, both, auto)",
    "field_compare": "inter-field comparisons (auditctl -C) are not supported by this module",
}

_TASK_FIELDS = frozenset(_UIDS + _GIDS + _LSM_SUBJ + ("auid", "pid", "ppid", "pers", "sessionid", "exe"))
_USER_FIELDS = frozenset(("uid", "auid", "gid", "pid", "msgtype", "exe") + _LSM_SUBJ)
_EXCLUDE_FIELDS = frozenset(_UIDS[:4] + _GIDS[:4] + _LSM_SUBJ + ("auid", "pid", "msgtype"))
_LIST_FIELDS = {
    "task": (_TASK_FIELDS, "fields known when a task is created"),
    "user": (_USER_FIELDS, "uid, auid, gid, pid, msgtype, exe and subj_*"),
    "exclude": (_EXCLUDE_FIELDS, "msgtype, uid/euid/suid/fsuid, gid/egid/sgid/fsgid, auid, pid and subj_*"),
    "filesystem": (frozenset(("fstype",)), "fstype"),
}

_SYSCALL_KEYS = ("syscalls", "key", "action", "list", "arch", "fields")
_WATCH_KEYS = ("path", "permissions", "key")
_FIELD_DICT_KEYS = ("name", "op", "value")
_OP_RE = re.compile(r"\A([A-Za-z0-9_]+)([=!<>&]+)(.*)\Z", re.S)
_INT_RE = re.compile(r"\A(-?)(0[xX][0-9A-Fa-f]+|0|[1-9][0-9]*)\Z")
_OCTAL_RE = re.compile(r"\A-?0[0-7]+\Z")
_SYSCALL_RE = re.compile(r"\A[a-z0-9_]+\Z")
_DIGITS_RE = re.compile(r"\A[0-9]+\Z")


class AuditRuleError(Exception):
    """The module's one domain error; `result` holds extra keys for fail_json."""

    def __init__(self, msg, **result):
        super(AuditRuleError, self).__init__(msg)
        self.msg = msg
        self.result = result


class _Invalid(ValueError):
    """A value that does not fit; the text says what is allowed."""


# What no value written into a rule file, a file name, a key or a path may hold: C0 controls
# (newline, tab, NUL, ESC...), DEL, C1 controls, and the Unicode line and paragraph separators
# (str.splitlines() breaks lines there). Whole strings are checked, before anything is rendered.
_CONTROL_RE = re.compile(u"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_problem(value):
    """None, or why the string VALUE cannot be used: it holds a control character. The text
    shows VALUE escaped; the caller puts the option's name in front of it."""
    m = _CONTROL_RE.search(value)
    if m is None:
        return None
    return ("%r contains a control character (%r at position %d), which no value written into "
            "a rule file, a file name, a key or a path may hold (a trailing newline counts: a "
            "YAML block scalar such as | adds one)" % (value, m.group(), m.start()))


# --------------------------------------------------------------------------------------------
# The host: which ABIs its kernel runs, which syscall table each uses
# --------------------------------------------------------------------------------------------

def _config_options(text):
    opts = {}
    for line in text.splitlines():
        m = re.match(r"\A(CONFIG_[A-Za-z0-9_]+)=(.*)\Z", line)
        if m:
            opts[m.group(1)] = m.group(2).strip('"')
        else:
            m = re.match(r"^# (CONFIG_[A-Za-z0-9_]+) is not set", line)
            if m:
                opts[m.group(1)] = "n"
    return opts


def _kernel_bool(value):
    return value.lower() in ("1", "y", "yes", "on", "true")


def compat_from_config(machine, config_text, cmdline=""):
    """Does this kernel run 32-bit programs? True/False from its build config, None if unknown.

    x86_64: CONFIG_IA32_EMULATION (and ia32_emulation= on the command line, which overrides
    CONFIG_IA32_EMULATION_DEFAULT_DISABLED); other 64-bit machines: CONFIG_COMPAT.
    """
    if config_text is None:
        return None
    opts = _config_options(config_text)
    if machine == "x86_64":
        if opts.get("CONFIG_IA32_EMULATION") != "y":
            return False
        m = re.search(r"(?:^|\s)ia32_emulation=(\S+)", cmdline or "")
        if m:
            return _kernel_bool(m.group(1))
        return opts.get("CONFIG_IA32_EMULATION_DEFAULT_DISABLED") != "y"
    return opts.get("CONFIG_COMPAT") == "y"


def _read_small(path, binary=False):
    """A regular file's content (text unless binary), or None when it is missing, unreadable
    or not a regular file (a FIFO is refused, never opened blocking)."""
    try:
        data = _files.read_regular(path)[0]
    except _files.FileProblem:
        return None
    if data is None or binary:
        return data
    return data.decode("utf-8", "replace")


def read_kernel_config(release=None):
    """The running kernel's build config (/proc/config.gz or /boot/config-RELEASE), or None."""
    data = _read_small("/proc/config.gz", binary=True)
    if data is not None:
        try:
            return gzip.GzipFile(fileobj=io.BytesIO(data)).read().decode("utf-8", "replace")
        except (IOError, OSError, EOFError, zlib.error):
            pass
    release = release or platform.release()
    return _read_small("/boot/config-%s" % release)


def _read_cmdline():
    return _read_small("/proc/cmdline") or ""


class HostArch(object):
    """The ABIs of one machine: syscall table per arch (b64/b32) and whether b32 runs.

    `compat` is True/False when known (kernel config), None when unknown: then x86_64 and
    s390x are assumed to run 32-bit programs (the safe side: a rule for an ABI nobody uses
    costs nothing, a missing one lets 32-bit programs slip past).
    """

    def __init__(self, machine=None, compat="detect"):
        self.machine = machine or platform.machine()
        native, compat_table = MACHINES.get(self.machine, (None, None))
        self.known = native is not None
        self.is64 = self.machine in MACHINES_64
        self.native_table = native
        self.compat_table = compat_table if self.is64 else None
        if compat == "detect":
            compat = None
            if self.compat_table is not None:
                compat = compat_from_config(self.machine, read_kernel_config(), _read_cmdline())
        if self.compat_table is None:
            compat = False
        self.compat = compat

    def table(self, arch):
        """Syscall table name for b64/b32 on this machine, or None when it has no such ABI."""
        if arch is None:
            return self.native_table
        if self.is64:
            return self.native_table if arch == "b64" else self.compat_table
        return self.native_table if arch == "b32" else None

    def runs_compat(self):
        if self.compat is None:
            return self.machine in ("x86_64", "s390x")
        return bool(self.compat)

    def arches(self, choice):
        """Expand an `arch` choice into the list of -F arch= values, or raise _Invalid."""
        if not self.is64:
            if choice in ("b64", "both"):
                raise _Invalid("%s is a 32-bit machine: it has no b64 ABI (use b32 or auto)"
                               % self.machine)
            return ["b32"]
        if choice == "b64":
            return ["b64"]
        if choice in ("b32", "both"):
            if not self.runs_compat():
                raise _Invalid("this %s kernel does not run 32-bit programs (%s), so there is "
                               "no b32 ABI to audit (use b64 or auto)"
                               % (self.machine, self._compat_why()))
            return ["b32"] if choice == "b32" else ["b64", "b32"]
        return ["b64", "b32"] if self.runs_compat() else ["b64"]

    def _compat_why(self):
        if self.compat_table is None:
            return "%s has no 32-bit compat ABI" % self.machine
        if self.machine == "x86_64":
            return "CONFIG_IA32_EMULATION is off or disabled at boot"
        return "CONFIG_COMPAT is not set"

    def syscall_names(self, arch):
        table = self.table(arch)
        return SYSCALLS.get(table, {}) if table else {}


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

def _parse_int(text, what):
    """Decimal or 0x hex integer. Leading-zero numbers are refused: auditctl reads them as octal."""
    m = _INT_RE.match(text)
    if not m:
        if _OCTAL_RE.match(text):
            raise _Invalid("%r has a leading 0, which auditctl reads as octal (%s = %d): write "
                           "the number without it" % (text, text, int(text, 8)))
        raise _Invalid("%r is not a number (%s)" % (text, what))
    value = int(m.group(2), 0)
    return -value if m.group(1) else value


def _signed32(value):
    value &= MASK32
    return value - (1 << 32) if value & 0x80000000 else value


def _id_value(text, kind, lookup, lookup_what, lenient=False):
    """uid/gid-like values -> unsigned 32-bit number (names resolved on this host)."""
    if kind in ("auid", "sessionid") and text.lower() in UNSET_WORDS:
        return UNSET
    if re.match(r"^-?[0-9]", text):
        allowed = "a number 0..4294967294"
        if kind == "auid":
            allowed += ", a user name, or unset (also -1, 4294967295)"
        elif kind == "sessionid":
            allowed += ", or unset (also -1, 4294967295)"
        elif lookup is not None:
            allowed += " or a %s name (-1/unset is refused by the kernel for this field)" % lookup_what
        value = _parse_int(text, allowed)
        if lenient and -(1 << 31) <= value < 0:   # auditctl -l prints ids as signed numbers
            return value & MASK32
        if value < 0 or value >= UNSET:
            raise _Invalid("%r is out of range: expected %s" % (text, allowed))
        return value
    if lookup is None:
        raise _Invalid("%r is not a number (expected a number, or unset)" % text)
    try:
        return lookup(text)
    except KeyError:
        raise _Invalid("%r is not a %s name known on this host (expected a number or an "
                       "existing %s name)" % (text, lookup_what, lookup_what))


def _uid_of(name):
    return pwd.getpwnam(name).pw_uid


def _gid_of(name):
    return grp.getgrnam(name).gr_gid


_ERRNO_NUMBERS = dict((name, num) for num, name in ERRNOS.items())
_MSGTYPE_NAMES = dict((num, name) for name, num in RECORD_TYPES.items())


def _check_text(text, what, absolute=False):
    if text == "":
        raise _Invalid("empty %s" % what)
    bad = control_problem(text)
    if bad:
        raise _Invalid(bad)
    if any(ch.isspace() for ch in text):
        raise _Invalid("%r contains whitespace, which a rule line cannot hold (auditctl splits "
                       "rule lines at whitespace)" % text)
    if absolute and not text.startswith("/"):
        raise _Invalid("%r is not an absolute path (it must start with /)" % text)


def normalize_value(kind, name, text, lenient=False):
    """(canonical value, rendered text) of one field value, or raise _Invalid.

    lenient: the value comes from auditctl -l or a rule file of someone else, so names that
    do not resolve are kept as text instead of refused.
    """
    if kind in ("uid", "auid"):
        return _id_value(text, kind, _uid_of, "user", lenient), text
    if kind == "gid":
        return _id_value(text, kind, _gid_of, "group", lenient), text
    if kind == "sessionid":
        return _id_value(text, kind, None, None, lenient), text
    if kind == "uint":
        value = _parse_int(text, "expected a number 0..4294967295")
        if value < 0 or value > MASK32:
            raise _Invalid("%r is out of range: expected a number 0..4294967295" % text)
        return value, text
    if kind == "saddr_fam":
        value = _parse_int(text, "expected an address family number: AF_INET is 2, AF_INET6 is 10")
        if value < 0 or value >= AF_MAX:
            raise _Invalid("%r is out of range: expected an address family number 0..%d"
                           % (text, AF_MAX - 1))
        return value, text
    if kind == "arg":
        value = _parse_int(text, "expected a number; syscall arguments are compared as 32-bit values")
        if value < -(1 << 31) or value > MASK32:
            raise _Invalid("%r does not fit in 32 bits: the kernel compares a0..a3 as 32-bit "
                           "values and would silently cut it" % text)
        return value & MASK32, text
    if kind == "exit":
        upper = text.upper()
        bare = upper[1:] if upper.startswith("-") else upper
        if bare in _ERRNO_NUMBERS:
            num = _ERRNO_NUMBERS[bare]
            return (-num if upper.startswith("-") else num), upper
        if re.match(r"^-?[A-Za-z]", text):
            raise _Invalid("%r is not an errno name known to auditctl (expected a number or "
                           "-Exxx, e.g. -EPERM, -EACCES)" % text)
        value = _parse_int(text, "expected a number or an errno name such as -EPERM")
        if value < -(1 << 31) or value > MASK32:
            raise _Invalid("%r does not fit in 32 bits (expected a syscall exit value)" % text)
        return _signed32(value), text
    if kind == "success":
        if text not in ("0", "1"):
            raise _Invalid("%r is not allowed: success takes 1 (the syscall succeeded) or 0 "
                           "(it failed)" % text)
        return int(text), text
    if kind == "msgtype":
        if re.match(r"^[0-9]", text):
            value = _parse_int(text, "expected a record type name or number")
            return value, text
        upper = text.upper()
        if upper not in RECORD_TYPES:
            raise _Invalid("%r is not a record type known to libaudit (e.g. SYSCALL, CWD, "
                           "PATH, AVC)" % text)
        return RECORD_TYPES[upper], upper
    if kind == "perm":
        if not text or any(c not in PERMS for c in text):
            raise _Invalid("%r is not a permission set: use any of r, w, x, a" % text)
        perms = "".join(c for c in PERMS if c in text)
        return perms, perms
    if kind == "filetype":
        if text not in FILETYPES:
            if lenient and re.match(r"\A[0-9]+\Z", text):
                return int(text), text
            raise _Invalid("%r is not a file type: use one of %s"
                           % (text, ", ".join(sorted(FILETYPES))))
        return FILETYPES[text], text
    if kind == "fstype":
        if text not in FSTYPES:
            raise _Invalid("%r is not a file system type auditctl knows: use one of %s"
                           % (text, ", ".join(FSTYPES)))
        return text, text
    if kind == "path":
        _check_text(text, "path", absolute=True)
        if len(text) > 1 and text.endswith("/"):
            raise _Invalid("%r ends with /: the kernel refuses path= on a directory; use "
                           "dir= for a directory tree" % text)
        return text, text
    if kind == "dir":
        _check_text(text, "directory", absolute=True)
        return (text.rstrip("/") or "/"), text
    if kind == "exe":
        _check_text(text, "program path", absolute=True)
        return text, text
    _check_text(text, "value")
    return text, text


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

class Field(object):
    """One -F name OP value of a syscall rule."""

    __slots__ = ("name", "op", "text", "value", "kind")

    def __init__(self, name, op, text, value, kind):
        self.name, self.op, self.text, self.value, self.kind = name, op, text, value, kind

    def render(self):
        return "%s%s%s" % (self.name, self.op, self.text)

    def listing(self):
        """The field as auditctl -l prints it."""
        v, kind = self.value, self.kind
        if isinstance(v, tuple):  # lenient raw value
            return "%s%s%s" % (self.name, self.op, v[1])
        if kind in ("uid", "auid", "gid", "sessionid"):
            text = str(_signed32(v))
        elif kind == "arg":
            text = "0x%X" % v
        elif kind == "exit":
            text = ("-" + ERRNOS[-v]) if v < 0 and -v in ERRNOS else str(v)
        elif kind == "msgtype":
            text = _MSGTYPE_NAMES.get(v, str(v))
        elif kind == "dir":
            text = self.text
        elif kind in ("uint", "saddr_fam", "success", "filetype"):
            text = str(v)
        else:
            text = str(v)
        return "%s%s%s" % (self.name, self.op, text)

    def canon(self):
        # auditctl 3.0.9 prints exe!=X as exe=X, so the operator of exe cannot be compared.
        op = "=" if self.kind == "exe" else self.op
        return (self.name, op, self.value)


class Rule(object):
    """Common interface: render(), listing(), canon(), keys."""

    kind = None
    keys = ()

    def __eq__(self, other):
        return isinstance(other, Rule) and self.canon() == other.canon()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.canon())

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.render())


class WatchRule(Rule):
    """-w PATH -p PERMS [-k KEY]... (a file or directory watch)."""

    kind = "watch"

    def __init__(self, path, perms, keys=()):
        self.path = path.rstrip("/") or "/"
        self.perms = "".join(c for c in PERMS if c in perms)
        self.keys = tuple(keys)

    def render(self):
        parts = ["-w", self.path, "-p", self.perms]
        for k in self.keys:
            parts += ["-k", k]
        return " ".join(parts)

    def listing(self):
        return self.render()

    def canon(self):
        return ("w", self.path, self.perms, tuple(sorted(self.keys)))

    def delete_args(self):
        args = ["-W", self.path, "-p", self.perms]
        for k in self.keys:
            args += ["-k", k]
        return args


class SyscallRule(Rule):
    """-a ACTION,LIST [-F arch=A] [-S names] [-F field]... [-F key=K]..."""

    kind = "syscall"

    def __init__(self, action, list_, arch, syscalls, fields, keys=(), table=None, extra=()):
        self.action = action
        self.list = list_
        self.arch = arch
        self.syscalls = tuple(syscalls)
        self.fields = tuple(fields)
        self.keys = tuple(keys)
        self.table = table          # syscall table name, for the listing order
        self.extra = tuple(extra)   # tokens kept as they are (-C comparisons)

    def render(self):
        parts = ["-a", "%s,%s" % (self.action, self.list)]
        if self.arch:
            parts += ["-F", "arch=%s" % self.arch]
        if self.syscalls:
            parts += ["-S", ",".join(self.syscalls)]
        for f in self.fields:
            parts += ["-F", f.render()]
        parts += list(self.extra)
        for k in self.keys:
            parts += ["-F", "key=%s" % k]
        return " ".join(parts)

    def _as_watch(self):
        """auditctl prints an exit rule on all syscalls of every ABI whose only fields are
        path= or dir= and perm= as a watch (-w), whatever its action."""
        if self.list != "exit" or self.arch is not None or self.extra:
            return None
        if self.syscalls not in ((), ("all",)):
            return None
        by_name = dict((f.name, f) for f in self.fields)
        if len(self.fields) != 2 or len(by_name) != 2 or "perm" not in by_name:
            return None
        target = by_name.get("path") or by_name.get("dir")
        if target is None or target.op != "=" or by_name["perm"].op != "=":
            return None
        if isinstance(target.value, tuple) or isinstance(by_name["perm"].value, tuple):
            return None
        return WatchRule(target.text, by_name["perm"].value, self.keys)

    def _sorted_syscalls(self):
        if not self.syscalls or "all" in self.syscalls:
            return "all"
        numbers = dict((name, num) for num, name in SYSCALLS.get(self.table, {}).items())
        return ",".join(sorted(set(self.syscalls), key=lambda s: (numbers.get(s, 1 << 30), s)))

    def listing(self):
        watch = self._as_watch()
        if watch is not None:
            return watch.listing()
        parts = ["-a", "%s,%s" % (self.action, self.list)]
        if self.arch:
            parts += ["-F", "arch=%s" % self.arch]
        if self.list in ("exit", "io_uring") or self.syscalls:
            parts += ["-S", self._sorted_syscalls()]
        for f in self.fields:
            parts += ["-F", f.listing()]
        parts += list(self.extra)
        for k in self.keys:
            parts += ["-F", "key=%s" % k]
        return " ".join(parts)

    def canon(self):
        watch = self._as_watch()
        if watch is not None:
            return watch.canon()
        if self.list in ("exit", "io_uring") and (not self.syscalls or "all" in self.syscalls):
            syscalls = "all"
        else:
            syscalls = tuple(sorted(set(self.syscalls)))
        return ("a", self.list, self.action, self.arch, syscalls,
                tuple(sorted((f.canon() for f in self.fields), key=repr)),
                tuple(self.extra), tuple(sorted(self.keys)))

    def delete_args(self):
        args = self.render().split()
        args[0] = "-d"
        return args


class RawRule(Rule):
    """A rule line this model does not understand; compared as whitespace-normalised text."""

    kind = "raw"

    def __init__(self, text):
        self.text = " ".join(text.split())

    def render(self):
        return self.text

    def listing(self):
        return self.text

    def canon(self):
        return ("raw", self.text)

    def delete_args(self):
        return None


# --------------------------------------------------------------------------------------------
# Validation of declared rules
# --------------------------------------------------------------------------------------------

def _label(index, item):
    key = item.get("key") if isinstance(item, dict) else None
    if isinstance(key, str) and key:
        return "rules[%d] (key %r)" % (index, key)
    return "rules[%d] (no key)" % index


def _suggest(word, choices):
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return " (did you mean %r?)" % close[0] if close else ""


def _type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", dict: "mapping", list: "list"}.get(
        type(value), type(value).__name__)


def check_key(key):
    """The problem with a filter key, or None. Keys go into rule files and log records."""
    if not isinstance(key, str):
        return "key must be a string, got %s %r" % (_type_name(key), key)
    if key == "":
        return "key must not be empty (leave it out for a rule without a key)"
    bad = control_problem(key)
    if bad:
        return "key %s" % bad
    for ch in key:
        if ch.isspace():
            return ("key %r contains whitespace, which would split the rule line (allowed: "
                    "printable characters without whitespace, quotes or backslashes)" % key)
        if ch in "\"'`\\":
            return ("key %r contains a quote or backslash, which auditctl would keep as part "
                    "of the key (allowed: printable characters without whitespace, quotes or "
                    "backslashes)" % key)
    size = len(key.encode("utf-8"))
    if size > KEY_MAX_BYTES:
        return "key %r is %d bytes long: the kernel allows at most %d" % (key, size, KEY_MAX_BYTES)
    return None


def check_name(name):
    """The problem with a rule set name (it becomes part of a file name), or None."""
    bad = control_problem(name) if isinstance(name, str) else None
    if bad:
        return "name %s" % bad
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > NAME_MAX:
        return ("name %r is not allowed: use 1 to %d characters of a-z, 0-9, _ and -"
                % (name, NAME_MAX))
    return None


def parse_field_spec(spec):
    """A `fields` item (string 'name<op>value' or mapping name/op/value) -> (name, op, value).

    Raises _Invalid with what is wrong.
    """
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in _FIELD_DICT_KEYS]
        if unknown:
            raise _Invalid("field %r has unknown keys %s: a field mapping takes name, op and "
                           "value" % (spec, ", ".join(sorted(map(str, unknown)))))
        if "name" not in spec or "value" not in spec:
            raise _Invalid("field %r needs name and value (op defaults to =)" % (spec,))
        name, op, value = spec["name"], spec.get("op", "="), spec["value"]
        if not isinstance(name, str):
            raise _Invalid("field name must be a string, got %s %r" % (_type_name(name), name))
        if not isinstance(op, str):
            raise _Invalid("field %r: op must be a string, got %s %r" % (name, _type_name(op), op))
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _Invalid("field %r: value must be a string or an integer, got %s %r"
                           % (name, _type_name(value), value))
        for part, text in (("name", name), ("op", op), ("value", str(value))):
            bad = control_problem(text)
            if bad:
                raise _Invalid("field %r: %s %s" % (spec, part, bad))
        if op not in OPERATORS:
            raise _Invalid("field %r: operator %r is not one of auditctl's: %s"
                           % (name, op, " ".join(OPERATORS)))
        return name, op, str(value)
    if not isinstance(spec, str):
        raise _Invalid("field %r must be a string such as 'auid>=1000' or a mapping with "
                       "name, op and value, got %s" % (spec, _type_name(spec)))
    bad = control_problem(spec)
    if bad:
        raise _Invalid("field %s" % bad)
    text = spec.strip()
    m = _OP_RE.match(text)
    if not m:
        raise _Invalid("field %r is not of the form name<op>value with op one of %s"
                       % (spec, " ".join(OPERATORS)))
    name, op, value = m.groups()
    if op not in OPERATORS:
        raise _Invalid("field %r: operator %r is not one of auditctl's: %s"
                       % (spec, op, " ".join(OPERATORS)))
    return name, op, value


def make_field(name, op, text, list_=None, lenient=False):
    """Validate one field -> Field, or raise _Invalid naming the field, value and what is allowed."""
    label = "%s%s%s" % (name, op, text)
    name = FIELD_ALIASES.get(name, name)
    if name in _FIELD_ELSEWHERE:
        raise _Invalid("field %r: %s" % (label, _FIELD_ELSEWHERE[name]))
    if name not in RULE_FIELDS and name not in FIELD_KINDS:
        known = sorted(set(RULE_FIELDS) - set(_FIELD_ELSEWHERE)) + sorted(FIELD_ALIASES)
        raise _Invalid("field %r: unknown field name %r%s; known fields: %s"
                       % (label, name, _suggest(name, known), ", ".join(known)))
    kind, ops = FIELD_KINDS.get(name, ("raw", _REL))
    if op not in ops:
        raise _Invalid("field %r: operator %r is not allowed for %s (allowed: %s)"
                       % (label, op, name, " ".join(ops)))
    if list_ is not None and not lenient:
        if list_ in _LIST_FIELDS:
            allowed, what = _LIST_FIELDS[list_]
            if name not in allowed:
                raise _Invalid("field %r: %s cannot be used on the %s list (allowed there: %s)"
                               % (label, name, list_, what))
        elif name in ("msgtype",):
            raise _Invalid("field %r: msgtype can only be used on the user and exclude lists"
                           % label)
        elif name == "fstype":
            raise _Invalid("field %r: fstype can only be used on the filesystem list" % label)
        elif name == "perm" and list_ == "io_uring":
            raise _Invalid("field %r: the kernel refuses perm on the io_uring list" % label)
    try:
        value, rendered = normalize_value(kind, name, text, lenient=lenient)
    except _Invalid as e:
        if not lenient:
            raise _Invalid("field %r: %s value %s" % (label, name, e))
        value, rendered = ("raw", text), text
    return Field(name, op, rendered, value, kind)


def _check_syscalls(names, arches, host, errors, where):
    """Validate syscall names for every arch of a rule.

    Returns {arch: names normalised (lowercase, numbers turned into names, deduplicated)}; a
    name unknown to every arch is reported once, one unknown to some arches once per arch.
    """
    if "all" in [str(n).strip().lower() for n in names]:
        if len(names) > 1:
            errors.append("%s: syscalls: 'all' must be alone (it already means every syscall)"
                          % where)
        return dict((arch, ["all"]) for arch in arches)
    out = dict((arch, []) for arch in arches)
    for raw in names:
        name = str(raw).strip().lower()
        if not _SYSCALL_RE.match(name):
            errors.append("%s: syscalls: %r is not a syscall name (names are a-z, 0-9 and _)"
                          % (where, raw))
            continue
        if name.isdigit() and len(arches) > 1:
            errors.append("%s: syscalls: number %s means a different syscall in each ABI (%s); "
                          "use the name, or one arch per rule" % (where, name, " and ".join(arches)))
            continue
        unknown = []
        for arch in arches:
            numbers = host.syscall_names(arch)
            if name.isdigit():
                resolved = numbers.get(int(name))
            else:
                resolved = name if name in numbers.values() else None
            if resolved is None:
                unknown.append(arch)
            elif resolved not in out[arch]:
                out[arch].append(resolved)
        if not unknown:
            continue
        tables = ", ".join("%s: %s table" % (a, host.table(a)) for a in unknown)
        what = " or ".join(unknown)
        if name.isdigit():
            errors.append("%s: syscalls: number %s is not a syscall of arch %s on %s (%s)"
                          % (where, name, what, host.machine, tables))
            continue
        hint = _suggest(name, host.syscall_names(unknown[0]).values())
        known = [a for a in ("b64", "b32") if a not in unknown and host.table(a)
                 and name in host.syscall_names(a).values()]
        if known:
            hint += ("; only the %s ABI has it: set arch: %s on this rule (and give the %s ABI "
                     "its own rule)" % (known[0], known[0], what))
        errors.append("%s: syscalls: %r is not a syscall of arch %s on %s (%s)%s"
                      % (where, raw, what, host.machine, tables, hint))
    return out


def _validate_watch(index, item, host, errors):
    where = _label(index, item)
    bad = [k for k in item if k not in _WATCH_KEYS]
    conflicts = [k for k in bad if k in _SYSCALL_KEYS]
    if conflicts:
        errors.append("%s: a watch rule (path) cannot have %s: a watch takes only path, "
                      "permissions and key (use a syscall rule with a path= or dir= field "
                      "for more)" % (where, ", ".join(sorted(conflicts))))
    for k in sorted(set(bad) - set(conflicts)):
        errors.append("%s: unknown option %r%s; a watch rule takes path, permissions, key"
                      % (where, k, _suggest(k, _WATCH_KEYS)))
    path = item.get("path")
    ok = True
    if not isinstance(path, str):
        errors.append("%s: path must be a string, got %s %r" % (where, _type_name(path), path))
        ok = False
    else:
        try:
            _check_text(path, "path", absolute=True)
        except _Invalid as e:
            errors.append("%s: path %s" % (where, e))
            ok = False
        else:
            if any(c in path for c in "*?["):
                errors.append("%s: path %r has a wildcard: auditctl does not expand them (a "
                              "watch is on one file or directory)" % (where, path))
                ok = False
    perms = item.get("permissions", PERMS)
    if not isinstance(perms, str) or not perms or any(c not in PERMS for c in perms):
        errors.append("%s: permissions %r is not allowed: use any of r, w, x, a (e.g. wa)"
                      % (where, perms))
        ok = False
    keys = []
    if item.get("key") is not None:
        problem = check_key(item["key"])
        if problem:
            errors.append("%s: %s" % (where, problem))
            ok = False
        else:
            keys = [item["key"]]
    if not ok or conflicts:
        return []
    return [WatchRule(path, perms, keys)]


def _validate_syscall_rule(index, item, host, errors, auditctl_version):
    where = _label(index, item)
    n_errors = len(errors)
    for k in sorted(k for k in item if k not in _SYSCALL_KEYS):
        if k in ("permissions",):
            errors.append("%s: permissions belongs to a watch rule (with path); a syscall rule "
                          "takes a perm= field" % where)
        else:
            errors.append("%s: unknown option %r%s; a syscall rule takes %s, a watch rule %s"
                          % (where, k, _suggest(k, _SYSCALL_KEYS + _WATCH_KEYS),
                             ", ".join(_SYSCALL_KEYS), ", ".join(_WATCH_KEYS)))

    def choice(opt, choices, default):
        value = item.get(opt)
        if value is None:
            return default
        if not isinstance(value, str) or value not in choices:
            errors.append("%s: %s %r is not allowed: use one of %s"
                          % (where, opt, value, ", ".join(choices)))
            return None
        return value

    action = choice("action", ACTIONS, "always")
    list_ = choice("list", LISTS, "exit")
    syscall_list = list_ in ("exit", "io_uring")
    arch_choice = choice("arch", ARCH_CHOICES, "auto" if list_ == "exit" else None)
    if list_ is not None and list_ != "exit" and item.get("arch") is not None:
        errors.append("%s: arch %r: only rules of the exit list take arch (list is %s)"
                      % (where, item.get("arch"), list_))
        arch_choice = None

    syscalls = item.get("syscalls")
    syscalls_ok = True
    if syscalls is not None and not isinstance(syscalls, list):
        errors.append("%s: syscalls must be a list of syscall names, got %s %r"
                      % (where, _type_name(syscalls), syscalls))
        syscalls_ok = False
    elif syscalls:
        for s in syscalls:
            if isinstance(s, bool) or not isinstance(s, (str, int)):
                errors.append("%s: syscalls: %r is a %s, not a syscall name"
                              % (where, s, _type_name(s)))
                syscalls_ok = False
                break
            bad = control_problem(s) if isinstance(s, str) else None
            if bad:
                errors.append("%s: syscalls: %s" % (where, bad))
                syscalls_ok = False
                break
    if list_ is not None and syscalls_ok:
        if syscall_list and not syscalls:
            errors.append("%s: syscalls is empty: a rule of the %s list needs at least one "
                          "syscall (use [all] for every syscall)" % (where, list_))
        elif not syscall_list and syscalls:
            errors.append("%s: syscalls %s: the %s list does not take syscalls (only exit and "
                          "io_uring rules do)" % (where, syscalls, list_))

    keys = []
    if item.get("key") is not None:
        problem = check_key(item["key"])
        if problem:
            errors.append("%s: %s" % (where, problem))
        else:
            keys = [item["key"]]

    raw_fields = item.get("fields") or []
    if not isinstance(raw_fields, list):
        errors.append("%s: fields must be a list (of 'name<op>value' strings or name/op/value "
                      "mappings), got %s %r" % (where, _type_name(raw_fields), raw_fields))
        raw_fields = []
    fields = []
    for spec in raw_fields:
        try:
            name, op, text = parse_field_spec(spec)
            fields.append(make_field(name, op, text, list_=list_))
        except _Invalid as e:
            errors.append("%s: %s" % (where, e))
    names = [f.name for f in fields]
    for once in ("exe", "perm"):
        if names.count(once) > 1:
            errors.append("%s: fields: %s can be used only once in a rule" % (where, once))
    if names.count("path") + names.count("dir") > 1:
        errors.append("%s: fields: a rule can watch one path= or dir= only" % where)
    if list_ == "filesystem" and "fstype" not in names:
        errors.append("%s: a rule of the filesystem list needs an fstype field (e.g. "
                      "fstype=debugfs)" % where)
    if list_ in ("user", "exclude") and not fields:
        errors.append("%s: a rule of the %s list without fields would match every %s; give "
                      "at least one field (e.g. msgtype=CWD)"
                      % (where, list_, "user-space message" if list_ == "user" else "event"))
    if keys and list_ in ("task", "exclude"):
        errors.append("%s: key %r: auditctl refuses a key on the %s list"
                      % (where, keys[0], list_))
    if keys and list_ == "user" and "exe" not in names:
        errors.append("%s: key %r: auditctl accepts a key on the user list only after an exe "
                      "field" % (where, keys[0]))
    if list_ == "io_uring":
        if auditctl_version is not None and auditctl_version < (3, 1):
            errors.append("%s: list io_uring needs audit userspace 3.1 or later; this host has "
                          "auditctl %s" % (where, ".".join(map(str, auditctl_version))))
        elif auditctl_version is None:
            errors.append("%s: list io_uring needs audit userspace 3.1 or later, and the "
                          "auditctl version of this host is unknown" % where)

    arches = [None]
    if list_ == "exit" and arch_choice is not None:
        if not host.known:
            errors.append("%s: this machine (%s) has no syscall table in the collection, so "
                          "its syscall rules cannot be checked" % (where, host.machine))
            arches = []
        else:
            try:
                arches = host.arches(arch_choice)
            except _Invalid as e:
                errors.append("%s: arch %s: %s" % (where, arch_choice, e))
                arches = []
    if len(errors) > n_errors:
        return []
    by_arch = {}
    if syscalls and list_ == "exit":
        by_arch = _check_syscalls(syscalls, arches, host, errors, where)
    rules = []
    for arch in arches:
        names_for_arch = by_arch.get(arch, [])
        if syscalls and list_ == "io_uring":
            for s in syscalls:
                s = str(s).strip().lower()
                if not _SYSCALL_RE.match(s):
                    errors.append("%s: syscalls: %r is not an io_uring operation name"
                                  % (where, s))
                elif s not in names_for_arch:
                    names_for_arch.append(s)
        rules.append(SyscallRule(action, list_, arch, names_for_arch, fields, keys,
                                 table=host.table(arch) if list_ == "exit" else None))
    if len(errors) > n_errors:
        return []
    return rules


def validate_rules(items, host=None, auditctl_version=None):
    """Declared rules (the module's `rules` option) -> expanded Rule objects.

    Each item becomes one rule, or one per ABI for syscall rules (arch both/auto). Raises
    AuditRuleError listing every problem found, each naming the rule (index and key), the
    option or field, the value and what is allowed.
    """
    host = host or HostArch()
    errors = []
    if not isinstance(items, list):
        raise AuditRuleError("rules must be a list of rule mappings, got %s"
                             % _type_name(items), errors=["rules: not a list"])
    out = []
    origin = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append("rules[%d]: a rule must be a mapping (with syscalls or path), got "
                          "%s %r" % (index, _type_name(item), item))
            continue
        if "path" in item:
            rules = _validate_watch(index, item, host, errors)
        else:
            rules = _validate_syscall_rule(index, item, host, errors, auditctl_version)
        for rule in rules:
            out.append(rule)
            origin.append(index)
    seen = {}
    for rule, index in zip(out, origin):
        c = rule.canon()
        if c in seen and seen[c] != index:
            errors.append("%s: it is the same kernel rule as rules[%d] (%s); auditctl would "
                          "refuse the second one (Rule exists)"
                          % (_label(index, items[index]), seen[c], rule.listing()))
        seen.setdefault(c, index)
    if errors:
        raise AuditRuleError(_error_summary(errors), errors=errors)
    unique = []
    done = set()
    for rule in out:
        if rule.canon() not in done:
            done.add(rule.canon())
            unique.append(rule)
    return unique


def _error_summary(errors):
    if len(errors) == 1:
        return "invalid rule: %s" % errors[0]
    return "%d problems in the declared rules: %s" % (len(errors), "; ".join(errors))


# --------------------------------------------------------------------------------------------
# Parsing rule lines (auditctl -l output, rule files)
# --------------------------------------------------------------------------------------------

_CONTROL = frozenset(("-D", "-b", "-f", "-e", "-r", "-c", "-i", "-s", "-l", "-q", "-t", "-W",
                      "-d", "--backlog_wait_time", "--loginuid-immutable", "--reset-lost",
                      "--reset_backlog_wait_time_actual", "--signal", "-v", "-m"))


def _arch_of(value, host):
    """-F arch= value -> b64/b32 (auditctl takes machine names too), else the value."""
    if value in ("b64", "b32"):
        return value
    if value in _ARCH_ALIASES:
        return _ARCH_ALIASES[value] if host.is64 else "b32"
    return value


def parse_rule_line(line, host=None):
    """One rule line (auditctl -l output or a rule file) -> Rule; None for control lines,
    comments and blank lines. Never raises: what it cannot read becomes a RawRule."""
    host = host or HostArch(compat=None)
    text = line.strip()
    if not text or text.startswith("#") or text == "No rules":
        return None
    tokens = text.split()
    if tokens[0] in _CONTROL:
        return None
    try:
        if tokens[0] == "-w":
            return _parse_watch(tokens, host)
        if tokens[0] in ("-a", "-A"):
            return _parse_syscall(tokens, host)
    except (_Invalid, IndexError, KeyError, ValueError):
        pass
    return RawRule(text)


def _parse_watch(tokens, host):
    path, perms, keys, fields = tokens[1], PERMS, [], []
    i = 2
    while i < len(tokens):
        opt = tokens[i]
        arg = tokens[i + 1]
        if opt == "-p":
            perms = arg
        elif opt == "-k":
            keys.append(arg)
        elif opt == "-F":
            fields.append(arg)
        else:
            raise _Invalid(opt)
        i += 2
    if any(c not in PERMS for c in perms):
        raise _Invalid(perms)
    if not fields:
        return WatchRule(path, perms, keys)
    # -w with -F fields is loaded as a syscall rule on path= (or dir=) and perm=
    tokens2 = ["-a", "always,exit", "-F", "path=%s" % path, "-F", "perm=%s" % perms]
    for f in fields:
        tokens2 += ["-F", f]
    for k in keys:
        tokens2 += ["-k", k]
    return _parse_syscall(tokens2, host)


def _parse_syscall(tokens, host):
    parts = tokens[1].split(",")
    if len(parts) != 2:
        raise _Invalid(tokens[1])
    if parts[0] in ACTIONS:
        action, list_ = parts
    else:
        list_, action = parts
    if action not in ACTIONS or list_ not in LISTS:
        raise _Invalid(tokens[1])
    arch, syscalls, fields, keys, extra = None, [], [], [], []
    i = 2
    while i < len(tokens):
        opt, arg = tokens[i], tokens[i + 1]
        i += 2
        if opt == "-S":
            syscalls.extend(s for s in arg.split(",") if s)
        elif opt == "-k":
            keys.append(arg)
        elif opt == "-C":
            extra += [opt, arg]
        elif opt == "-F":
            m = _OP_RE.match(arg)
            if not m:
                raise _Invalid(arg)
            name, op, value = m.groups()
            if name == "key":
                if value:
                    keys.append(value)
            elif name == "arch" and op == "=":
                arch = _arch_of(value, host)
            else:
                fields.append(make_field(name, op, value, list_=list_, lenient=True))
        else:
            raise _Invalid(opt)
    table = host.table(arch) if arch in (None, "b64", "b32") else None
    numbers = SYSCALLS.get(table, {}) if table else {}
    names = []
    for s in syscalls:
        s = s.lower()
        if _DIGITS_RE.match(s) and int(s) in numbers:
            s = numbers[int(s)]
        if s not in names:
            names.append(s)
    if "all" in names:
        names = ["all"]
    return SyscallRule(action, list_, arch, names, fields, keys, table=table, extra=extra)


def parse_rule_lines(lines, host=None):
    host = host or HostArch(compat=None)
    out = []
    for line in lines:
        rule = parse_rule_line(line, host)
        if rule is not None:
            out.append(rule)
    return out


# --------------------------------------------------------------------------------------------
# Kernel audit settings a rule file carries (-b, -f, --backlog_wait_time, -r, -e 2)
# --------------------------------------------------------------------------------------------

FAILURE_MODES = {"silent": 0, "printk": 1, "panic": 2}
# (option, auditctl flag, the auditctl -s line that proves it, highest value allowed)
CONTROLS = (
    ("buffer_size", "-b", "backlog_limit", 0x7FFFFFFF),
    ("failure_mode", "-f", "failure", 2),
    # the kernel refuses more than 10 * 60 * HZ; 600000 fits the largest HZ (1000)
    ("backlog_wait_time", "--backlog_wait_time", "backlog_wait_time", 600000),
    ("rate_limit", "-r", "rate_limit", 0x7FFFFFFF),
    ("immutable", "-e", "enabled", 2),
)


class Control(object):
    """One kernel audit setting: how a rule file says it, and how auditctl -s proves it."""

    def __init__(self, option, flag, value, status_key):
        self.option, self.flag, self.value, self.status_key = option, flag, value, status_key

    def render(self):
        return "%s %d" % (self.flag, self.value)

    listing = render

    def satisfied(self, status):
        return status.get(self.status_key) == self.value

    def describe(self, status):
        return "%s (auditctl -s: %s %s)" % (self.render(), self.status_key,
                                            status.get(self.status_key, "?"))

    def __repr__(self):
        return "Control(%s)" % self.render()


def validate_controls(controls):
    """The controls option -> [Control]; errors name the setting, the value and what is
    allowed. immutable=false adds nothing (immutable mode cannot be undone by a rule)."""
    if not controls:
        return []
    if not isinstance(controls, dict):
        raise AuditRuleError("controls must be a dict of %s, not %s"
                             % (", ".join(c[0] for c in CONTROLS), _type_name(controls)))
    known = [c[0] for c in CONTROLS]
    errors = ["controls: %r is not a setting: use %s" % (k, ", ".join(known))
              for k in sorted(controls, key=str) if k not in known]
    out = []
    for option, flag, status_key, highest in CONTROLS:
        value = controls.get(option)
        if value is None:
            continue
        if option == "immutable":
            if value not in (True, False):
                errors.append("controls.immutable %r is not a boolean" % (value,))
            elif value:
                out.append(Control(option, flag, 2, status_key))
            continue
        if option == "failure_mode" and isinstance(value, str) and value.lower() in FAILURE_MODES:
            value = FAILURE_MODES[value.lower()]
        elif isinstance(value, str) and _INT_RE.match(value.strip()) and not value.strip().startswith("-"):
            value = int(value.strip(), 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= highest:
            allowed = ("0 (silent), 1 (printk) or 2 (panic), or silent, printk, panic"
                       if option == "failure_mode" else "an integer from 0 to %d" % highest)
            errors.append("controls.%s %r is not allowed: use %s" % (option, value, allowed))
            continue
        out.append(Control(option, flag, value, status_key))
    if errors:
        raise AuditRuleError("invalid controls: %s" % "; ".join(errors), errors=errors)
    return out


def control_overrides(controls, lines, origins, own_file, rules_dir):
    """Controls of OWN_FILE that another file overrides in the compiled rules (augenrules
    keeps the last -b, -f and -e; later --backlog_wait_time and -r lines run after ours).
    Returns ["controls.X: ..."] problems, empty when every control takes effect."""
    problems = []
    for control in controls:
        last = None
        for line, origin in zip(lines, origins):
            words = line.split()
            if words and words[0] == control.flag:
                last = (line.strip(), origin)
        if last is not None and last[1] != own_file and last[0] != control.render():
            problems.append(
                "controls.%s: %s in %s would not take effect: '%s' in %s comes after it (augenrules "
                "keeps the last %s); remove that line or file, or set the same value"
                % (control.option, control.render(), os.path.join(rules_dir, own_file), last[0],
                   os.path.join(rules_dir, last[1] or "?"), control.flag))
    return problems


# --------------------------------------------------------------------------------------------
# Rule files
# --------------------------------------------------------------------------------------------

def render_file(name, rules, controls=()):
    """The managed rule file of rule set NAME: a header line, its control lines, then one
    line per rule. Validation keeps control characters out of every value; this checks the
    result once more, so that no line can ever be split or hidden."""
    lines = [MANAGED_HEADER % name]
    lines.extend(control.render() for control in controls)
    lines.extend(rule.render() for rule in rules)
    for line in lines:
        bad = control_problem(line)
        if bad:
            raise AuditRuleError("internal error, nothing was written: the rendered line %s" % bad)
    return "\n".join(lines) + "\n"


def managed_name(content):
    """The rule set name in a file's managed header, or None when the file is not ours."""
    if content is None:
        return None
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    m = _MANAGED_RE.match(content)
    return m.group(1) if m else None


def rule_file_name(name, priority):
    if check_name(name) or not 0 <= priority <= 99:
        raise AuditRuleError("internal error: no rule file name for name %r, priority %r"
                             % (name, priority))
    return "%02d-%s.rules" % (priority, name)


def _version_key(name):
    """Sort key close to `ls -v` (GNU version sort), the order augenrules reads files in."""
    # (the odd parts of the split are the ASCII digit runs; str.isdigit() would take "²" too)
    return [(0, int(p), p) if i % 2 else (1, 0, p) for i, p in enumerate(re.split(r"([0-9]+)", name))]


def sorted_rule_files(names):
    """The *.rules names augenrules would read (ls -1v, no dot files), in its order."""
    return sorted((n for n in names if n.endswith(".rules") and not n.startswith(".")),
                  key=_version_key)


_AWK_E = re.compile(r"^\s*-e", re.A)
_AWK_D = re.compile(r"^\s*-D\s*\Z", re.A)
_AWK_F = re.compile(r"^\s*-f", re.A)
_AWK_B = re.compile(r"^\s*-b", re.A)
_AWK_COMMENT = re.compile(r"^\s*#", re.A)


def compile_rules(files, source_dir):
    """Concatenate rule files the way augenrules does.

    files: [(file name, text)] in augenrules' order. Returns (lines, origins): the compiled
    file's lines and, for each, the file it came from (None for the generated ones). The last
    bare -D goes first, then the last -b and -f, the other lines in order, the last -e last.
    """
    minus = {"e": ("", None), "D": ("", None), "f": ("", None), "b": ("", None)}
    rules = []
    for fname, text in files:
        for line in text.split("\n"):
            if not line:
                continue
            if _AWK_COMMENT.match(line):
                continue
            if _AWK_E.match(line):
                minus["e"] = (line, fname)
            elif _AWK_D.match(line):
                minus["D"] = (line, fname)
            elif _AWK_F.match(line):
                minus["f"] = (line, fname)
            elif _AWK_B.match(line):
                minus["b"] = (line, fname)
            else:
                rules.append((line, fname))
    out = [("## This file is automatically generated from %s" % source_dir, None),
           minus["D"], minus["b"], minus["f"]] + rules + [minus["e"]]
    return [pair[0] for pair in out], [pair[1] for pair in out]
