# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit rule model: values, fields, comparisons and rules, in three forms each.

Nothing here runs a program or reads the host beyond user and group names (``pwd``/``grp``,
for uid/gid fields). ``AuditRuleError`` is the rule engine's one domain error.

Three forms of one rule:
- ``render()``: the line written to the rule file (what the user declared, normalised).
- ``listing()``: the line as ``auditctl -l`` (audit 3.0.9) prints that rule back; this is
  the canonical form shown to users (``missing``, ``pending``, the kernel side of the diff).
- ``canon()``: a hashable comparison key, equal for every spelling of the same kernel rule
  (``-k x`` and ``-F key=x``; ``exit,always`` and ``always,exit``; auid ``unset``, ``-1`` and
  ``4294967295``; syscall order and duplicates; user names and uids; errno names and numbers)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import pwd
import re

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import (
    ERRNOS, RECORD_TYPES, SYSCALLS)

NAME_RE = re.compile(r"\A[a-z0-9_-]+\Z")
NAME_MAX = 64

ACTIONS = ("always", "never")
LISTS = ("exit", "user", "exclude", "task", "filesystem", "io_uring")
ARCH_CHOICES = ("b64", "b32", "both", "auto", "none")
OPERATORS = ("=", "!=", "<", ">", "<=", ">=", "&", "&=")
PERMS = "rwxa"
KEY_MAX_BYTES = 31
KEYS_MAX_BYTES = 256   # several keys of one rule, joined by \x01 (the kernel's AUDIT_MAX_KEY_LEN)
MASK32 = 0xFFFFFFFF
UNSET = 0xFFFFFFFF
UNSET_WORDS = ("unset", "-1", "4294967295")

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
    "field_compare": ("compare two fields (auditctl -C) with a mapping of name, op and field, "
                      "for example {name: auid, op: '!=', field: obj_uid}"),
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
_FIELD_DICT_KEYS = ("name", "op", "value", "field")
_OP_RE = re.compile(r"\A([A-Za-z0-9_]+)([=!<>&]+)(.*)\Z", re.S)
# A number as auditctl reads it whole (C strtoul/strtol with base 0): hex, octal, decimal.
_INT_RE = re.compile(r"\A(-?)(0[xX][0-9A-Fa-f]+|0[0-7]*|[1-9][0-9]*)\Z")
_C_PREFIX_RE = re.compile(r"\A\s*([+-]?)(0[xX][0-9A-Fa-f]+|0[0-7]*|[1-9][0-9]*)")
_SYSCALL_RE = re.compile(r"\A[a-z0-9_]+\Z")

# -C: the fields one may compare (two uids or two gids), in the order auditctl prints a pair.
COMPARE_GROUPS = (("uid", "auid", "euid", "suid", "fsuid", "obj_uid"),
                  ("gid", "egid", "sgid", "fsgid", "obj_gid"))
_COMPARE_RANK = dict((name, (g, i)) for g, group in enumerate(COMPARE_GROUPS)
                     for i, name in enumerate(group))


class AuditRuleError(Exception):
    """The module's one domain error; `result` holds extra keys for fail_json."""

    def __init__(self, msg, **result):
        super(AuditRuleError, self).__init__(msg)
        self.msg = msg
        self.result = result


class _Invalid(ValueError):
    """A value that does not fit; the text says what is allowed."""


class _Inapplicable(_Invalid):
    """A value that is right but cannot apply on this host (a user or group it does not have, a
    path whose directory it lacks): an error with inapplicable=fail, a skipped rule with skip."""


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


def _c_number(digits):
    """The value of a C number literal without sign (0x hex, leading 0 octal, decimal)."""
    if digits[:2] in ("0x", "0X"):
        return int(digits[2:], 16)
    if len(digits) > 1 and digits[0] == "0":
        return int(digits[1:], 8)
    return int(digits)


def _auditctl_reads(text):
    """What auditctl (strtoul base 0, which stops at the first character it cannot use) makes
    of TEXT, as a phrase for a message."""
    m = _C_PREFIX_RE.match(text)
    if not m:
        return ""
    value = _c_number(m.group(2))
    return "; auditctl would read it as %s and ignore the rest" % (-value if m.group(1) == "-" else value)


def _parse_int(text, what):
    """A number as auditctl reads it (C strtoul with base 0): decimal, octal with a leading 0
    (0100 is 64), hex with 0x. Only whole numbers: '08' or '12abc', which auditctl would cut
    silently (to 0 and 12), are refused."""
    m = _INT_RE.match(text)
    if not m:
        raise _Invalid("%r is not a number (%s; numbers are decimal, octal with a leading 0 as in "
                       "0100, or hex as in 0x40)%s" % (text, what, _auditctl_reads(text)))
    value = _c_number(m.group(2))
    return -value if m.group(1) else value


def _int_of(text):
    """TEXT as a number the way auditctl reads it, or None."""
    try:
        return _parse_int(text, "")
    except _Invalid:
        return None


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
        raise _Inapplicable("%r is not a %s name known on this host (expected a number or an "
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


class Field(object):
    """One -F name OP value of a syscall rule."""

    __slots__ = ("name", "op", "text", "value", "kind")
    flag = "-F"

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


class Compare(object):
    """One -C name OP name of a syscall rule: two uid fields or two gid fields compared (the
    kernel's AUDIT_FIELD_COMPARE). auditctl prints each pair in one order (COMPARE_GROUPS), so
    obj_uid!=auid is listed as auid!=obj_uid."""

    __slots__ = ("name", "op", "other")
    flag = "-C"
    kind = "compare"

    def __init__(self, name, op, other):
        self.name, self.op, self.other = name, op, other

    def render(self):
        return "%s%s%s" % (self.name, self.op, self.other)

    def _pair(self):
        return tuple(sorted((self.name, self.other), key=lambda n: _COMPARE_RANK[n]))

    def listing(self):
        first, second = self._pair()
        return "%s%s%s" % (first, self.op, second)

    def canon(self):
        return ("-C", self.op) + self._pair()


def make_compare(name, op, other, list_=None):
    """Validate one -C comparison -> Compare, or raise _Invalid saying what auditctl takes."""
    label = "%s%s%s" % (name, op, other)
    for part in (name, other):
        bad = control_problem(part)
        if bad:
            raise _Invalid("comparison %s" % bad)
    if op not in ("=", "!="):
        raise _Invalid("comparison %r: operator %r is not allowed: -C takes = and != only"
                       % (label, op))
    groups = " / ".join(", ".join(g) for g in COMPARE_GROUPS)
    if name not in _COMPARE_RANK or other not in _COMPARE_RANK:
        raise _Invalid("comparison %r: -C compares two of %s; %r is not one of them"
                       % (label, groups, name if name not in _COMPARE_RANK else other))
    if _COMPARE_RANK[name][0] != _COMPARE_RANK[other][0] or name == other:
        raise _Invalid("comparison %r: -C compares two different uid fields or two different "
                       "gid fields (%s)" % (label, groups))
    if list_ is not None and list_ != "exit":
        raise _Invalid("comparison %r: -C can only be used on the exit list (auditctl refuses "
                       "it on the %s list)" % (label, list_))
    return Compare(name, op, other)


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
    """-a ACTION,LIST [-F arch=A] [-S names] [-F field | -C comparison]... [-F key=K]...

    fields holds Field and Compare objects in the order given (the kernel keeps that order, and
    auditctl -l prints it). No syscalls on the exit list means every syscall, as in auditctl.
    """

    kind = "syscall"

    def __init__(self, action, list_, arch, syscalls, fields, keys=(), table=None):
        self.action = action
        self.list = list_
        self.arch = arch
        self.syscalls = tuple(syscalls)
        self.fields = tuple(fields)
        self.keys = tuple(keys)
        self.table = table          # syscall table name, for the listing order

    def _words(self, syscalls, field_text):
        """The rule as one line: SYSCALLS (text, or None for no -S) and each field as FIELD_TEXT
        gives it. render() and listing() differ only in these two."""
        parts = ["-a", "%s,%s" % (self.action, self.list)]
        if self.arch:
            parts += ["-F", "arch=%s" % self.arch]
        if syscalls:
            parts += ["-S", syscalls]
        for f in self.fields:
            parts += [f.flag, field_text(f)]
        for k in self.keys:
            parts += ["-F", "key=%s" % k]
        return " ".join(parts)

    def render(self):
        return self._words(",".join(self.syscalls), lambda f: f.render())

    def _as_watch(self):
        """auditctl prints an exit rule on all syscalls of every ABI whose only fields are
        path= or dir= and perm= as a watch (-w), whatever its action. Returns (the WatchRule,
        the path as given, whether perm came first) or None."""
        if self.list != "exit" or self.arch is not None:
            return None
        if self.syscalls not in ((), ("all",)):
            return None
        if len(self.fields) != 2 or any(f.flag != "-F" for f in self.fields):
            return None
        by_name = dict((f.name, f) for f in self.fields)
        if len(by_name) != 2 or "perm" not in by_name:
            return None
        target = by_name.get("path") or by_name.get("dir")
        if target is None or target.op != "=" or by_name["perm"].op != "=":
            return None
        if isinstance(target.value, tuple) or isinstance(by_name["perm"].value, tuple):
            return None
        watch = WatchRule(target.text, by_name["perm"].value, self.keys)
        return watch, target.text, self.fields[0].name == "perm"

    def _sorted_syscalls(self):
        if not self.syscalls or "all" in self.syscalls:
            return "all"
        numbers = dict((name, num) for num, name in SYSCALLS.get(self.table, {}).items())

        def order(s):
            num = numbers.get(s, _int_of(s))
            return (num if num is not None else 1 << 30, s)
        return ",".join(sorted(set(self.syscalls), key=order))

    def listing(self):
        watch = self._as_watch()
        if watch is not None:
            rule, path, perm_first = watch
            if perm_first:
                # auditctl 3.0.9 prints perm= before path= this way (its own printing bug)
                return " -p %s-w %s%s" % (rule.perms, path, "".join(" -k %s" % k for k in self.keys))
            return " ".join(["-w", path, "-p", rule.perms] + ["-k %s" % k for k in self.keys])
        listed = self.list in ("exit", "io_uring") or self.syscalls
        return self._words(self._sorted_syscalls() if listed else None, lambda f: f.listing())

    def canon(self):
        watch = self._as_watch()
        if watch is not None:
            return watch[0].canon()
        if self.list in ("exit", "io_uring") and (not self.syscalls or "all" in self.syscalls):
            syscalls = "all"
        else:
            syscalls = tuple(sorted(set(self.syscalls)))
        return ("a", self.list, self.action, self.arch, syscalls,
                tuple(sorted((f.canon() for f in self.fields), key=repr)),
                tuple(sorted(self.keys)))

    def delete_args(self):
        args = self.render().split()
        args[0] = "-d"
        return args


def _perm_key(canon):
    """(key, all_syscalls) of an exit rule's canon that has a perm= field, else None: the canon
    without its syscalls, and whether it was written without -S."""
    if canon[0] != "a" or not any(f[0] == "perm" for f in canon[5]):
        return None
    return canon[:4] + canon[5:], canon[4] == "all"


class CanonSet(object):
    """The canonical forms of a rule list (the kernel's, mostly), for `canon in CanonSet`.

    Exact match, with one exception: auditctl 4 loads an exit rule written without -S but with
    perm= on the syscalls of that permission class only (`-F perm=x` without -S is listed as
    `-S execve -F perm=x`; audit 3 lists `-S all`), from libaudit's tables of its version. Such
    a rule matches a rule that differs from it only in its syscalls, in either direction; rules
    written with explicit syscalls on both sides still match exactly."""

    def __init__(self, rules=()):
        self.exact = set()
        self._perm_any = set()   # perm keys of every member that has perm=
        self._perm_all = set()   # perm keys of members written without -S
        for rule in rules:
            self.add(rule.canon())

    def add(self, canon):
        self.exact.add(canon)
        pk = _perm_key(canon)
        if pk is not None:
            self._perm_any.add(pk[0])
            if pk[1]:
                self._perm_all.add(pk[0])

    def __contains__(self, canon):
        if canon in self.exact:
            return True
        pk = _perm_key(canon)
        if pk is None:
            return False
        return pk[0] in (self._perm_any if pk[1] else self._perm_all)


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
