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

import collections
import difflib
import grp
import gzip
import io
import platform
import pwd
import os
import re
import stat
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
ARCH_CHOICES = ("b64", "b32", "both", "auto", "none")
OPERATORS = ("=", "!=", "<", ">", "<=", ">=", "&", "&=")
PERMS = "rwxa"
KEY_MAX_BYTES = 31
KEYS_MAX_BYTES = 256   # several keys of one rule, joined by \x01 (the kernel's AUDIT_MAX_KEY_LEN)
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

# Linux release that brought each syscall added after 3.10 (the oldest kernel the collection
# knows of in use, RHEL 7), by its name in the audit syscall tables. A name missing here is as
# old as 3.10. Used only with inapplicable=skip, to leave out what the running kernel lacks;
# /proc/kallsyms is read to confirm (a distribution may have backported it).
KERNEL_SINCE = {}
for _since, _names in (
        ((3, 14), "sched_setattr sched_getattr"), ((3, 15), "renameat2"),
        ((3, 17), "seccomp getrandom memfd_create"), ((3, 18), "bpf"), ((3, 19), "execveat"),
        ((4, 3), "userfaultfd membarrier"), ((4, 4), "mlock2"), ((4, 5), "copy_file_range"),
        ((4, 6), "preadv2 pwritev2"), ((4, 9), "pkey_mprotect pkey_alloc pkey_free"),
        ((4, 11), "statx"), ((4, 18), "io_pgetevents rseq"),
        ((5, 1), "pidfd_send_signal io_uring_setup io_uring_enter io_uring_register "
                 "clock_gettime64 clock_settime64 clock_adjtime64 clock_getres_time64 "
                 "clock_nanosleep_time64 timer_gettime64 timer_settime64 timerfd_gettime64 "
                 "timerfd_settime64 utimensat_time64 pselect6_time64 ppoll_time64 "
                 "io_pgetevents_time64 recvmmsg_time64 mq_timedsend_time64 "
                 "mq_timedreceive_time64 semtimedop_time64 rt_sigtimedwait_time64 futex_time64 "
                 "sched_rr_get_interval_time64"),
        ((5, 2), "open_tree move_mount fsopen fsconfig fsmount fspick"),
        ((5, 3), "pidfd_open clone3"), ((5, 6), "openat2 pidfd_getfd"), ((5, 8), "faccessat2"),
        ((5, 9), "close_range"), ((5, 10), "process_madvise"), ((5, 11), "epoll_pwait2"),
        ((5, 12), "mount_setattr"),
        ((5, 13), "landlock_create_ruleset landlock_add_rule landlock_restrict_self"),
        ((5, 14), "memfd_secret quotactl_fd"), ((5, 15), "process_mrelease"),
        ((5, 16), "futex_waitv"), ((5, 17), "set_mempolicy_home_node"), ((6, 5), "cachestat"),
        ((6, 6), "fchmodat2 map_shadow_stack"), ((6, 7), "futex_wake futex_wait futex_requeue"),
        ((6, 8), "statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules"),
        ((6, 10), "mseal"), ((6, 13), "setxattrat getxattrat listxattrat removexattrat"),
        ((6, 15), "open_tree_attr"), ((6, 17), "file_getattr file_setattr")):
    for _n in _names.split():
        KERNEL_SINCE[_n] = _since

INAPPLICABLE_CHOICES = ("fail", "skip")


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

    # ---- what a rule needs of the host (inapplicable=skip) ------------------------------------
    # release, auditctl_syscalls and the path tests are attributes, so that a caller (or a test)
    # can describe another host. auditctl_syscalls: {arch (b64/b32/None): set of names} as the
    # host's auditctl knows them (ausyscall --dump), or None when unknown (the collection's table
    # is then all there is).
    release = None
    auditctl_syscalls = None
    isdir = staticmethod(os.path.isdir)
    exists = staticmethod(os.path.exists)
    _kallsyms = None

    def kernel_version(self):
        """(major, minor) of the running kernel, or None."""
        m = re.match(r"\A([0-9]+)\.([0-9]+)", self.release or platform.release())
        return (int(m.group(1)), int(m.group(2))) if m else None

    def kernel_symbols(self, names):
        """The NAMES whose sys_NAME function the running kernel has (from /proc/kallsyms, read
        line by line), or None when it cannot be read."""
        if self._kallsyms is None:
            self._kallsyms = {}
        wanted = [n for n in names if n not in self._kallsyms]
        if wanted:
            found = _kallsyms_syscalls(wanted)
            if found is None:
                return None
            for n in wanted:
                self._kallsyms[n] = n in found
        return set(n for n in names if self._kallsyms.get(n))

    def syscall_lack(self, name, arch):
        """Why syscall NAME (in the collection's table of ARCH) cannot be audited on this host,
        or None: the host's auditctl does not know it, or the running kernel is older than the
        syscall (and /proc/kallsyms does not show it either)."""
        known = self.auditctl_syscalls.get(arch) if self.auditctl_syscalls else None
        if known is not None and name not in known:
            return ("this host's auditctl does not know it (`ausyscall %s--dump` does not "
                    "list it)" % (arch + " " if arch else ""))
        since = KERNEL_SINCE.get(name)
        version = self.kernel_version()
        if since is None or version is None or version >= since:
            return None
        present = self.kernel_symbols([name])
        if present is not None and name in present:
            return None
        return ("the running kernel (%s) is older than Linux %d.%d, which brought it%s"
                % (self.release or platform.release(), since[0], since[1],
                   "" if present is None else ", and /proc/kallsyms has no sys_%s" % name))


_KALLSYMS = "/proc/kallsyms"


def _kallsyms_syscalls(names, path=_KALLSYMS):
    """The NAMES for which PATH has a text symbol sys_NAME (any arch prefix, such as
    __x64_sys_), or None when PATH cannot be read. Streamed: memory is one line."""
    pattern = re.compile(r"(?:\A|_)sys_(%s)\Z" % "|".join(re.escape(n) for n in names))
    found = set()
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        with io.open(fd, "r", encoding="ascii", errors="replace", closefd=False) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in ("T", "t"):
                    m = pattern.search(parts[2])
                    if m:
                        found.add(m.group(1))
    except (IOError, OSError):
        return None
    finally:
        os.close(fd)
    return found


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

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

    def render(self):
        parts = ["-a", "%s,%s" % (self.action, self.list)]
        if self.arch:
            parts += ["-F", "arch=%s" % self.arch]
        if self.syscalls:
            parts += ["-S", ",".join(self.syscalls)]
        for f in self.fields:
            parts += [f.flag, f.render()]
        for k in self.keys:
            parts += ["-F", "key=%s" % k]
        return " ".join(parts)

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
        parts = ["-a", "%s,%s" % (self.action, self.list)]
        if self.arch:
            parts += ["-F", "arch=%s" % self.arch]
        if self.list in ("exit", "io_uring") or self.syscalls:
            parts += ["-S", self._sorted_syscalls()]
        for f in self.fields:
            parts += [f.flag, f.listing()]
        for k in self.keys:
            parts += ["-F", "key=%s" % k]
        return " ".join(parts)

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
    if isinstance(key, list) and key and isinstance(key[0], str):
        key = key[0]
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


def _keys_of(value, where, errors):
    """The `key` option: a string, or a list of strings for a rule with several keys (auditctl
    takes -k more than once) -> [keys]; problems go to ERRORS."""
    if value is None:
        return []
    if isinstance(value, list):
        if not value:
            errors.append("%s: key is an empty list (leave it out for a rule without a key)" % where)
            return []
        values = value
    else:
        values = [value]
    keys = []
    for k in values:
        problem = check_key(k)
        if problem:
            errors.append("%s: %s" % (where, problem))
        elif k in keys:
            errors.append("%s: key %r is given twice" % (where, k))
        else:
            keys.append(k)
    joined = len("\x01".join(keys).encode("utf-8"))
    if joined > KEYS_MAX_BYTES:
        errors.append("%s: the keys %s take %d bytes together: the kernel allows at most %d"
                      % (where, keys, joined, KEYS_MAX_BYTES))
    return keys


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
    """A `fields` item -> (name, op, value, other).

    A string 'name<op>value' or a mapping with name, op (default =) and value is a -F field
    (other is None); a mapping with name, op and field instead of value is a -C comparison of
    two fields (value is None, other the second field's name). Raises _Invalid with what is wrong.
    """
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in _FIELD_DICT_KEYS]
        if unknown:
            raise _Invalid("field %r has unknown keys %s: a field mapping takes name, op and "
                           "value (or field, to compare two fields)"
                           % (spec, ", ".join(sorted(map(str, unknown)))))
        if "name" not in spec or ("value" in spec) == ("field" in spec):
            raise _Invalid("field %r needs name and value (op defaults to =), or name and field "
                           "to compare two fields" % (spec,))
        name, op = spec["name"], spec.get("op", "=")
        if not isinstance(name, str):
            raise _Invalid("field name must be a string, got %s %r" % (_type_name(name), name))
        if not isinstance(op, str):
            raise _Invalid("field %r: op must be a string, got %s %r" % (name, _type_name(op), op))
        if "field" in spec:
            other = spec["field"]
            if not isinstance(other, str):
                raise _Invalid("field %r: field (the one compared with) must be a field name, "
                               "got %s %r" % (name, _type_name(other), other))
            return name, op, None, other
        value = spec["value"]
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
        return name, op, str(value), None
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
    return name, op, value, None


def make_field(name, op, text, list_=None, lenient=False):
    """Validate one field -> Field, or raise _Invalid naming the field, value and what is
    allowed (_Inapplicable when the value is right but this host lacks it: a user name)."""
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
            raise type(e)("field %r: %s value %s" % (label, name, e))
        value, rendered = ("raw", text), text
    return Field(name, op, rendered, value, kind)


def _syscall_number(name):
    """A syscall given as a number (auditctl reads it with base 0: 0x3e is 62, 076 is 62)."""
    return _int_of(name) if name[:1].isdigit() else None


def _check_syscalls(names, arches, host, errors, where, skip=False):
    """Validate syscall names for every arch of a rule.

    Returns ({arch: names normalised (lowercase, numbers turned into names, deduplicated)},
    {arch: [(name, why it is left out)]}). Without skip, a name unknown to every arch is
    reported (to ERRORS) once, one unknown to some arches once per arch. With skip, a name that
    the collection's table of an arch, the host's auditctl (host.auditctl_syscalls) or the
    running kernel lacks is left out of that arch's rule instead.
    """
    out = dict((arch, []) for arch in arches)
    dropped = dict((arch, []) for arch in arches)
    if "all" in [str(n).strip().lower() for n in names]:
        if len(names) > 1:
            errors.append("%s: syscalls: 'all' must be alone (it already means every syscall)"
                          % where)
        return dict((arch, ["all"]) for arch in arches), dropped
    for raw in names:
        name = str(raw).strip().lower()
        if not _SYSCALL_RE.match(name):
            errors.append("%s: syscalls: %r is not a syscall name (names are a-z, 0-9 and _)"
                          % (where, raw))
            continue
        number = _syscall_number(name)
        if name[:1].isdigit() and number is None:
            errors.append("%s: syscalls: %r is not a syscall name or number (numbers are "
                          "decimal, octal with a leading 0, or hex)%s"
                          % (where, raw, _auditctl_reads(name)))
            continue
        if number is not None and len(arches) > 1:
            errors.append("%s: syscalls: number %s means a different syscall in each ABI (%s); "
                          "use the name, or one arch per rule" % (where, name, " and ".join(arches)))
            continue
        unknown = []
        for arch in arches:
            table = host.syscall_names(arch)
            if number is not None:
                resolved = table.get(number)
            else:
                resolved = name if name in table.values() else None
            if resolved is None:
                unknown.append(arch)
                if skip:
                    dropped[arch].append((name, "not a syscall of arch %s on %s (%s table)"
                                          % (arch or "(none: the native ABI)", host.machine,
                                             host.table(arch))))
                continue
            lack = host.syscall_lack(resolved, arch) if skip else None
            if lack:
                dropped[arch].append((resolved, lack))
            elif resolved not in out[arch]:
                out[arch].append(resolved)
        if not unknown or skip:
            continue
        tables = ", ".join("%s: %s table" % (a or "no arch", host.table(a)) for a in unknown)
        what = " or ".join(a or "(none)" for a in unknown)
        if number is not None:
            errors.append("%s: syscalls: number %s is not a syscall of arch %s on %s (%s)"
                          % (where, name, what, host.machine, tables))
            continue
        hint = _suggest(name, host.syscall_names(unknown[0]).values())
        known = [a for a in ("b64", "b32") if a not in unknown and host.table(a)
                 and name in host.syscall_names(a).values()]
        if known and None not in unknown:
            hint += ("; only the %s ABI has it: set arch: %s on this rule (and give the %s ABI "
                     "its own rule)" % (known[0], known[0], what))
        errors.append("%s: syscalls: %r is not a syscall of arch %s on %s (%s)%s"
                      % (where, raw, what, host.machine, tables, hint))
    return out, dropped


def _path_lack(field_name, path, host):
    """Why the kernel would refuse a rule on PATH here (ENOENT, ENOTDIR), or None.

    Measured (Linux 6.x): a watch (-w, path=) or exe= needs the directory that holds the path;
    dir= needs the path itself; -w on an existing directory watches its tree like dir=."""
    path = path.rstrip("/") or "/"
    parent = os.path.dirname(path) or "/"
    if field_name == "dir":
        if not host.exists(path):
            return "%s does not exist on this host (the kernel refuses dir= on a missing path)" % path
        return None
    if field_name == "watch" and host.isdir(path):
        return None
    if not host.isdir(parent):
        what = {"exe": "exe=", "path": "path=", "watch": "a watch"}[field_name]
        return ("the directory %s does not exist on this host (the kernel refuses %s on a path "
                "whose directory is missing)" % (parent, what))
    return None


class _Problems(object):
    """What validating one rule found: errors (wrong everywhere), lacks (the rule cannot apply
    on this host: the whole rule) and drops (parts of the rule left out on this host: syscalls,
    or the rule of one ABI: {arch, reason[, syscalls]})."""

    def __init__(self, where, skip):
        self.where, self.skip = where, skip
        self.errors, self.lacks, self.drops = [], [], []

    def error(self, text):
        self.errors.append("%s: %s" % (self.where, text))

    def lack(self, text):
        self.lacks.append("%s: %s" % (self.where, text))


def _validate_watch(item, host, p):
    where = p.where
    bad = [k for k in item if k not in _WATCH_KEYS]
    conflicts = [k for k in bad if k in _SYSCALL_KEYS]
    if conflicts:
        p.error("a watch rule (path) cannot have %s: a watch takes only path, permissions and "
                "key (use a syscall rule with a path= or dir= field for more)"
                % ", ".join(sorted(conflicts)))
    for k in sorted(set(bad) - set(conflicts)):
        p.error("unknown option %r%s; a watch rule takes path, permissions, key"
                % (k, _suggest(k, _WATCH_KEYS)))
    path = item.get("path")
    ok = True
    if not isinstance(path, str):
        p.error("path must be a string, got %s %r" % (_type_name(path), path))
        ok = False
    else:
        try:
            _check_text(path, "path", absolute=True)
        except _Invalid as e:
            p.error("path %s" % e)
            ok = False
        else:
            if any(c in path for c in "*?["):
                p.error("path %r has a wildcard: auditctl does not expand them (a watch is on "
                        "one file or directory)" % path)
                ok = False
    perms = item.get("permissions", PERMS)
    if not isinstance(perms, str) or not perms or any(c not in PERMS for c in perms):
        p.error("permissions %r is not allowed: use any of r, w, x, a (e.g. wa)" % (perms,))
        ok = False
    keys = _keys_of(item.get("key"), where, p.errors)
    if p.errors or not ok:
        return []
    if p.skip:
        lack = _path_lack("watch", path, host)
        if lack:
            p.lack("path %s" % lack)
            return []
    return [WatchRule(path, perms, keys)]


def _validate_syscall_rule(item, host, p, auditctl_version):
    where = p.where
    for k in sorted(k for k in item if k not in _SYSCALL_KEYS):
        if k in ("permissions",):
            p.error("permissions belongs to a watch rule (with path); a syscall rule takes a "
                    "perm= field")
        else:
            p.error("unknown option %r%s; a syscall rule takes %s, a watch rule %s"
                    % (k, _suggest(k, _SYSCALL_KEYS + _WATCH_KEYS),
                       ", ".join(_SYSCALL_KEYS), ", ".join(_WATCH_KEYS)))

    def choice(opt, choices, default):
        value = item.get(opt)
        if value is None:
            return default
        if not isinstance(value, str) or value not in choices:
            p.error("%s %r is not allowed: use one of %s" % (opt, value, ", ".join(choices)))
            return None
        return value

    action = choice("action", ACTIONS, "always")
    list_ = choice("list", LISTS, "exit")
    arch_choice = choice("arch", ARCH_CHOICES, "auto" if list_ == "exit" else None)
    if list_ is not None and list_ != "exit" and item.get("arch") is not None:
        p.error("arch %r: only rules of the exit list take arch (list is %s)"
                % (item.get("arch"), list_))
        arch_choice = None

    syscalls = item.get("syscalls")
    syscalls_ok = True
    if syscalls is not None and not isinstance(syscalls, list):
        p.error("syscalls must be a list of syscall names, got %s %r"
                % (_type_name(syscalls), syscalls))
        syscalls_ok = False
    elif syscalls:
        for s in syscalls:
            if isinstance(s, bool) or not isinstance(s, (str, int)):
                p.error("syscalls: %r is a %s, not a syscall name" % (s, _type_name(s)))
                syscalls_ok = False
                break
            bad = control_problem(s) if isinstance(s, str) else None
            if bad:
                p.error("syscalls: %s" % bad)
                syscalls_ok = False
                break
    if list_ is not None and syscalls_ok:
        if list_ == "io_uring" and not syscalls:
            p.error("syscalls is empty: a rule of the io_uring list needs at least one "
                    "operation (use [all] for every one)")
        elif list_ not in ("exit", "io_uring") and syscalls:
            p.error("syscalls %s: the %s list does not take syscalls (only exit and io_uring "
                    "rules do)" % (syscalls, list_))

    keys = _keys_of(item.get("key"), where, p.errors)

    raw_fields = item.get("fields") or []
    if not isinstance(raw_fields, list):
        p.error("fields must be a list (of 'name<op>value' strings or name/op/value mappings), "
                "got %s %r" % (_type_name(raw_fields), raw_fields))
        raw_fields = []
    fields = []
    for spec in raw_fields:
        try:
            name, op, text, other = parse_field_spec(spec)
            if other is not None:
                fields.append(make_compare(name, op, other, list_=list_))
            else:
                fields.append(make_field(name, op, text, list_=list_))
        except _Inapplicable as e:
            p.lack(str(e))
        except _Invalid as e:
            p.error(str(e))
    names = [f.name for f in fields if f.flag == "-F"]
    for once in ("exe", "perm"):
        if names.count(once) > 1:
            p.error("fields: %s can be used only once in a rule" % once)
    if names.count("path") + names.count("dir") > 1:
        p.error("fields: a rule can watch one path= or dir= only")
    if list_ == "filesystem" and "fstype" not in names:
        p.error("a rule of the filesystem list needs an fstype field (e.g. fstype=debugfs)")
    if list_ in ("user", "exclude") and not raw_fields:
        p.error("a rule of the %s list without fields would match every %s; give at least one "
                "field (e.g. msgtype=CWD)"
                % (list_, "user-space message" if list_ == "user" else "event"))
    if keys and list_ in ("task", "exclude"):
        p.error("key %r: auditctl refuses a key on the %s list" % (keys[0], list_))
    if keys and list_ == "user" and "exe" not in names:
        p.error("key %r: auditctl accepts a key on the user list only after an exe field" % keys[0])
    if keys and list_ == "exit" and syscalls_ok and not syscalls and not (
            set(names) & set(("path", "dir", "exe", "perm"))):
        p.error("key %r: auditctl refuses a key on an exit rule without syscalls and without a "
                "path=, dir=, perm= or exe= field (\"Key field needs a watch, syscall or exe path "
                "given prior to it\"): give syscalls (syscalls: [all] for every one) or such a "
                "field" % keys[0])
    if list_ == "io_uring":
        if auditctl_version is not None and auditctl_version < (3, 1):
            p.lack("list io_uring needs audit userspace 3.1 or later; this host has auditctl %s"
                   % ".".join(map(str, auditctl_version)))
        elif auditctl_version is None:
            p.error("list io_uring needs audit userspace 3.1 or later, and the auditctl version "
                    "of this host is unknown")

    arches = [None]
    if list_ == "exit" and arch_choice not in (None, "none"):
        if not host.known:
            p.error("this machine (%s) has no syscall table in the collection, so its syscall "
                    "rules cannot be checked" % host.machine)
            arches = []
        else:
            try:
                arches = host.arches(arch_choice)
            except _Invalid as e:
                if p.skip and arch_choice == "both" and host.is64:
                    arches = ["b64"]
                    p.drops.append({"arch": "b32", "reason": "arch both: %s" % e})
                else:
                    p.lack("arch %s: %s" % (arch_choice, e))
                    arches = []
    elif list_ == "exit" and arch_choice == "none" and syscalls and not host.known:
        p.error("this machine (%s) has no syscall table in the collection, so its syscall "
                "rules cannot be checked" % host.machine)
    if p.errors:
        return []
    if p.skip:
        for f in fields:
            if f.flag == "-F" and f.name in ("path", "dir", "exe") and f.op == "=":
                lack = _path_lack(f.name, f.text, host)
                if lack:
                    p.lack("%s=%s: %s" % (f.name, f.text, lack))
    if p.lacks:
        return []
    by_arch, dropped = {}, {}
    if syscalls and list_ == "exit":
        by_arch, dropped = _check_syscalls(syscalls, arches, host, p.errors, where, skip=p.skip)
    rules = []
    for arch in arches:
        names_for_arch = by_arch.get(arch, [])
        gone = dropped.get(arch) or []
        if gone:
            left_out = [n for n, why in gone]
            reasons = "; ".join("%s: %s" % (n, why) for n, why in gone)
            if not names_for_arch:
                # never a rule without syscalls: on the exit list that would be every syscall
                p.drops.append({"arch": arch, "syscalls": left_out,
                                "reason": "none of its syscalls can be audited here (%s)" % reasons})
                continue
            p.drops.append({"arch": arch, "syscalls": left_out,
                            "reason": "left out of the rule, which is loaded with %s (%s)"
                            % (",".join(names_for_arch), reasons)})
        if syscalls and list_ == "io_uring":
            for s in syscalls:
                s = str(s).strip().lower()
                if not _SYSCALL_RE.match(s):
                    p.error("syscalls: %r is not an io_uring operation name" % s)
                elif s not in names_for_arch:
                    names_for_arch.append(s)
        rules.append(SyscallRule(action, list_, arch, names_for_arch, fields, keys,
                                 table=host.table(arch) if list_ == "exit" else None))
    if p.errors:
        return []
    return rules


def _item_text(item):
    """A declared rule as a rule line, for `skipped` (best effort: the item may be invalid)."""
    if not isinstance(item, dict):
        return repr(item)
    keys = item.get("key")
    keys = keys if isinstance(keys, list) else ([keys] if keys is not None else [])
    if "path" in item:
        return " ".join(["-w", str(item.get("path")), "-p", str(item.get("permissions", PERMS))]
                        + ["-k %s" % k for k in keys])
    parts = ["-a", "%s,%s" % (item.get("action", "always"), item.get("list", "exit"))]
    if item.get("arch") not in (None, "none"):
        parts.append("-F arch=%s" % item["arch"])
    if item.get("syscalls"):
        parts.append("-S %s" % ",".join(map(str, item["syscalls"])))
    for spec in item.get("fields") or []:
        if isinstance(spec, dict) and "field" in spec:
            parts.append("-C %s%s%s" % (spec.get("name"), spec.get("op", "="), spec.get("field")))
        elif isinstance(spec, dict):
            parts.append("-F %s%s%s" % (spec.get("name"), spec.get("op", "="), spec.get("value")))
        else:
            parts.append("-F %s" % (spec,))
    parts.extend("-F key=%s" % k for k in keys)
    return " ".join(parts)


def validate_rule_set(items, host=None, auditctl_version=None, inapplicable="fail",
                      labels=None, texts=None):
    """Declared rules (the module's `rules` option, or the items of rule text) -> (expanded
    Rule objects, skipped).

    Each item becomes one rule, or one per ABI for syscall rules (arch both/auto). Raises
    AuditRuleError listing every problem found, each naming the rule (LABELS, else its index
    and key), the option or field, the value and what is allowed.

    inapplicable: what to do with a rule that is right but cannot apply on this host (a user or
    group it does not have, a syscall its ABI lacks, b32 on a kernel without 32-bit programs,
    the io_uring list with an old auditctl; with skip also a path whose directory is missing,
    a syscall the host's auditctl or running kernel lacks). fail: an error, as above. skip: the
    rule (or the syscalls, or the ABI's rule, it cannot have) is left out and listed in
    skipped (the module's skipped_rules), each entry {where, rule, reason[, arch][, syscalls]}; a rule never loses all its
    syscalls (that would be every syscall): then the rule itself is left out. TEXTS: the source
    line of each item, shown as its rule in skipped.
    """
    host = host or HostArch()
    skip = inapplicable == "skip"
    errors = []
    skipped = []
    if not isinstance(items, list):
        raise AuditRuleError("rules must be a list of rule mappings, got %s"
                             % _type_name(items), errors=["rules: not a list"])
    out = []
    origin = []
    for index, item in enumerate(items):
        where = labels[index] if labels else _label(index, item)
        if not isinstance(item, dict):
            errors.append("%s: a rule must be a mapping (with syscalls or path), got %s %r"
                          % (where, _type_name(item), item))
            continue
        p = _Problems(where, skip)
        if "path" in item:
            rules = _validate_watch(item, host, p)
        else:
            rules = _validate_syscall_rule(item, host, p, auditctl_version)
        if p.errors:
            errors.extend(p.errors)
            continue
        text = texts[index] if texts else _item_text(item)
        if p.lacks:
            if skip:
                skipped.append({"where": where, "rule": text,
                                "reason": "; ".join(x[len(where) + 2:] for x in p.lacks)})
            else:
                errors.extend(p.lacks)
            continue
        for drop in p.drops:
            entry = {"where": where, "rule": text}
            entry.update(drop)
            skipped.append(entry)
        for rule in rules:
            out.append(rule)
            origin.append(where)
    seen = {}
    for rule, where in zip(out, origin):
        c = rule.canon()
        if c in seen and seen[c] != where:
            errors.append("%s: it is the same kernel rule as %s (%s); auditctl would refuse the "
                          "second one (Rule exists)" % (where, seen[c], rule.listing()))
        seen.setdefault(c, where)
    if errors:
        raise AuditRuleError(_error_summary(errors), errors=errors)
    unique = []
    done = set()
    for rule in out:
        if rule.canon() not in done:
            done.add(rule.canon())
            unique.append(rule)
    return unique, skipped


def validate_rules(items, host=None, auditctl_version=None):
    """validate_rule_set with inapplicable=fail: the expanded Rule objects."""
    return validate_rule_set(items, host, auditctl_version)[0]


def _error_summary(errors):
    if len(errors) == 1:
        return "invalid rule: %s" % errors[0]
    return "%d problems in the declared rules: %s" % (len(errors), "; ".join(errors))


# --------------------------------------------------------------------------------------------
# Parsing rule lines (auditctl -l output, rule files, the lines option)
# --------------------------------------------------------------------------------------------

# Words that start a line which is not a rule (kernel settings and auditctl commands).
_CONTROL = frozenset(("-D", "-b", "-f", "-e", "-r", "-c", "-i", "-s", "-l", "-q", "-t", "-W",
                      "-d", "--backlog_wait_time", "--loginuid-immutable", "--reset-lost",
                      "--reset_backlog_wait_time_actual", "--signal", "-v", "-m", "-h", "-R"))
# Control lines of rule text that are settings of the `controls` option.
_LINE_CONTROLS = {"-b": "buffer_size", "-f": "failure_mode", "-r": "rate_limit",
                  "--backlog_wait_time": "backlog_wait_time", "-e": "immutable"}
# Control lines of rule text the module refuses, and where they belong instead.
_LINE_REFUSED = {
    "-D": ("deletes every loaded rule. A rule set does not delete the other sets' rules: "
           "augenrules already starts the compiled rules with -D when any file of rules.d has "
           "one (the distribution's base file: audit.rules, or the audit package's "
           "10-base-config.rules), and the role's auditfleet-base set keeps the kernel settings. "
           "Remove the line"),
    "-i": ("makes auditctl ignore every rule that fails to load. audit_rule checks each rule "
           "instead: set inapplicable: skip to leave out (and list in skipped) the rules that "
           "cannot apply on a host; a rule that is wrong everywhere stays an error. Remove the "
           "line"),
    "-c": ("makes auditctl go on past rules that fail to load. audit_rule checks each rule "
           "instead: set inapplicable: skip to leave out (and list in skipped) the rules that "
           "cannot apply on a host. Remove the line"),
    "--loginuid-immutable": ("makes login uids immutable until the next boot, which audit_rule "
                             "does not set (it cannot be undone, so no load could be rolled "
                             "back). Keep it in a file of its own in rules.d, as the audit "
                             "package's 11-loginuid.rules is, for augenrules to load at boot"),
    "-A": ("adds the rule at the front of its list; audit_rule loads rules in file order. Use "
           "-a, and give rules that must match first a set with a lower priority"),
}


class _ParsedLine(object):
    """One rule line read by the auditctl grammar (see _read_words).

    kind: watch (-w PATH) or syscall (-a LIST,ACTION); for a watch: path, perms (None when no
    -p), keys, items (-F/-C given with -w); for a syscall rule: action, list, arch (the -F arch
    value or None), syscalls (None without -S), items ([("-F", name, op, value) or ("-C",
    name, op, other) or ("-p", perms)] in order), keys."""

    def __init__(self, kind):
        self.kind = kind
        self.path = self.perms = self.arch = self.syscalls = None
        self.action = self.list = None
        self.items, self.keys = [], []


def _read_words(words, strict=True):
    """The auditctl grammar of one rule line -> _ParsedLine; raise _Invalid on what auditctl
    refuses (as auditctl 3.0.9 says it), and, when strict, also on what it takes silently but
    means something else than it says (-S with -w, arch twice, -p twice, an empty key)."""
    first = words[0]
    if first == "-w":
        if len(words) < 2:
            raise _Invalid("-w needs a path")
        parsed = _ParsedLine("watch")
        parsed.path = words[1]
    elif first in ("-a", "-A"):
        if first == "-A" and strict:
            raise _Invalid("-A %s" % _LINE_REFUSED["-A"])
        if len(words) < 2:
            raise _Invalid("%s needs list,action (for example always,exit)" % first)
        parsed = _ParsedLine("syscall")
        parts = words[1].split(",")
        if len(parts) != 2:
            raise _Invalid("bad keyword %r: %s takes list,action (for example always,exit)"
                           % (words[1], first))
        if parts[0] in ACTIONS:
            parsed.action, parsed.list = parts
        else:
            parsed.list, parsed.action = parts
        if parsed.action not in ACTIONS or parsed.list not in LISTS:
            raise _Invalid("bad keyword %r: the lists are %s, the actions %s"
                           % (words[1], ", ".join(LISTS), ", ".join(ACTIONS)))
    else:
        raise _Invalid("%r does not start a rule (-a, -w)" % first)
    i = 2
    while i < len(words):
        opt = words[i]
        if not opt.startswith("-"):
            if opt.startswith("#"):
                raise _Invalid("a comment must be on a line of its own: auditctl reads %r as "
                               "part of the rule (\"parameter passed without an option given\")"
                               % " ".join(words[i:]))
            raise _Invalid("%r is not an option (\"parameter passed without an option given\")"
                           % opt)
        if opt not in ("-F", "-S", "-k", "-p", "-C"):
            raise _Invalid("option %r is not one of a rule's (-F, -S, -k, -p, -C)" % opt)
        if i + 1 >= len(words):
            raise _Invalid("option %s needs a value" % opt)
        arg = words[i + 1]
        i += 2
        if opt == "-S":
            if parsed.kind == "watch":
                if strict:
                    raise _Invalid("-S %s: a watch (-w) takes no syscalls (auditctl ignores "
                                   "them); use -a always,exit -F path=... -S ..." % arg)
                continue
            parsed.syscalls = (parsed.syscalls or []) + [s for s in arg.split(",") if s]
        elif opt == "-k":
            if strict and parsed.kind == "syscall" and parsed.syscalls is None and not any(
                    it[0] == "-p" or (it[0] == "-F" and it[1] in ("path", "dir", "perm", "exe"))
                    for it in parsed.items):
                raise _Invalid("-k %s comes before any -S or path, dir, perm or exe field "
                               "(\"key option needs a watch or syscall given prior to it\")" % arg)
            parsed.keys.append(arg)
        elif opt == "-p":
            if parsed.kind == "watch":
                if parsed.perms is not None and strict:
                    raise _Invalid("-p is given twice (auditctl keeps only the last)")
                parsed.perms = arg
            else:
                parsed.items.append(("-p", arg))
        elif opt == "-C":
            m = re.match(r"\A([a-z_]+)(=|!=)([a-z_]+)\Z", arg)
            if not m:
                raise _Invalid("-C %r is not of the form field=field or field!=field" % arg)
            parsed.items.append(("-C",) + m.groups())
        else:
            m = _OP_RE.match(arg)
            if not m:
                raise _Invalid("-F %r is not of the form name<op>value" % arg)
            name, op, value = m.groups()
            if name == "key" and op == "=":
                if value:
                    parsed.keys.append(value)
                elif strict:
                    raise _Invalid("-F key= has no key (auditctl ignores it)")
            elif name == "arch" and op == "=" and parsed.kind == "syscall":
                if parsed.syscalls is not None:
                    raise _Invalid("-F arch=%s comes after -S (\"arch must be before -S\")" % value)
                if parsed.arch is not None and strict:
                    raise _Invalid("-F arch is given twice")
                parsed.arch = value
            else:
                parsed.items.append(("-F", name, op, value))
    return parsed


_GARBLED_WATCH = re.compile(r"\A-p ([rwxa]+)-w (\S+)((?: -k \S+)*)\Z")


def _arch_of(value, host):
    """-F arch= value -> b64/b32 (auditctl takes machine names too), else the value."""
    if value in ("b64", "b32"):
        return value
    if value in _ARCH_ALIASES:
        return _ARCH_ALIASES[value] if host.is64 else "b32"
    return value


def parse_rule_line(line, host=None):
    """One rule line (auditctl -l output or a rule file) -> Rule; None for control lines,
    comments and blank lines. Never raises: what it cannot read becomes a RawRule. Names that
    do not resolve here (a user) are kept as text."""
    host = host or HostArch(compat=None)
    text = line.strip()
    if not text or text.startswith("#") or text == "No rules":
        return None
    words = text.split()
    if words[0] in _CONTROL:
        return None
    try:
        m = _GARBLED_WATCH.match(" ".join(words))
        if m:
            # auditctl 3.0.9 lists `-F perm=P -F path=X` (perm first, no arch) this way
            keys = m.group(3).split()[1::2]
            return SyscallRule("always", "exit", None, [], [
                make_field("perm", "=", m.group(1), lenient=True),
                make_field("path", "=", m.group(2), lenient=True)], keys)
        return _rule_of(_read_words(words, strict=False), host)
    except (_Invalid, IndexError, KeyError, ValueError):
        pass
    return RawRule(text)


def _rule_of(parsed, host):
    """A _ParsedLine -> Rule, leniently (auditctl -l output, someone else's rule file)."""
    if parsed.kind == "watch" and not parsed.items:
        if any(c not in PERMS for c in parsed.perms or PERMS):
            raise _Invalid(parsed.perms)
        return WatchRule(parsed.path, parsed.perms or PERMS, parsed.keys)
    fields = []
    list_ = parsed.list or "exit"
    for item in _items_of(parsed):
        if item[0] == "-C":
            fields.append(make_compare(item[1], item[2], item[3], list_=list_))
        else:
            fields.append(make_field(item[1], item[2], item[3], list_=list_, lenient=True))
    arch = _arch_of(parsed.arch, host) if parsed.arch is not None else None
    table = host.table(arch) if arch in (None, "b64", "b32") else None
    numbers = SYSCALLS.get(table, {}) if table else {}
    names = []
    for s in parsed.syscalls or []:
        s = s.lower()
        number = _syscall_number(s)
        if number is not None and number in numbers:
            s = numbers[number]
        if s not in names:
            names.append(s)
    if "all" in names:
        names = ["all"]
    return SyscallRule(parsed.action or "always", list_, arch, names, fields, parsed.keys,
                       table=table)


def _items_of(parsed):
    """The -F/-C items of a parsed line in kernel order; a watch with fields becomes the exit
    rule auditctl makes of it (path= and perm= first), -p on a rule a perm= field."""
    items = []
    if parsed.kind == "watch":
        items = [("-F", "path", "=", parsed.path.rstrip("/") or "/"),
                 ("-F", "perm", "=", parsed.perms or PERMS)]
    for item in parsed.items:
        items.append(("-F", "perm", "=", item[1]) if item[0] == "-p" else item)
    return items


def parse_rule_lines(lines, host=None):
    host = host or HostArch(compat=None)
    out = []
    for line in lines:
        rule = parse_rule_line(line, host)
        if rule is not None:
            out.append(rule)
    return out


def _declared_item(parsed):
    """A _ParsedLine -> one item of the `rules` option that validates into the same kernel
    rule (the form audit_rules_from_text returns)."""
    keys = parsed.keys[0] if len(parsed.keys) == 1 else (list(parsed.keys) or None)
    if parsed.kind == "watch" and not parsed.items:
        item = {"path": parsed.path}
        if parsed.perms is not None:
            item["permissions"] = parsed.perms
    else:
        item = {}
        if parsed.kind == "syscall":
            if parsed.action != "always":
                item["action"] = parsed.action
            if parsed.list != "exit":
                item["list"] = parsed.list
        list_ = parsed.list or "exit"
        if parsed.arch is not None:
            item["arch"] = _ARCH_ALIASES.get(parsed.arch, parsed.arch)
        elif list_ == "exit":
            item["arch"] = "none"
        if parsed.syscalls is not None:
            item["syscalls"] = list(parsed.syscalls)
        fields = []
        for it in _items_of(parsed):
            if it[0] == "-C":
                fields.append({"name": it[1], "op": it[2], "field": it[3]})
            else:
                fields.append("%s%s%s" % it[1:])
        if fields:
            item["fields"] = fields
    if keys is not None:
        item["key"] = keys
    return item


def _text_lines(text, what="lines"):
    """The `lines` option (a string, or a list of strings, one line each) -> [(line number,
    line)]. A rule file's lines end at newlines; every line is checked whole for control
    characters (a carriage return from a CRLF file included)."""
    if isinstance(text, str):
        raw = text.split("\n")
        if raw and raw[-1] == "":
            raw.pop()
    elif isinstance(text, list):
        raw = []
        for n, line in enumerate(text, 1):
            if not isinstance(line, str):
                raise AuditRuleError("%s[%d]: a line must be a string, got %s %r"
                                     % (what, n - 1, _type_name(line), line))
            raw.append(line)
    else:
        raise AuditRuleError("%s must be rule-file text (a string) or a list of lines, got %s"
                             % (what, _type_name(text)))
    return list(enumerate(raw, 1))


RuleText = collections.namedtuple("RuleText", "items labels texts controls control_lines errors")


def rules_from_text(text, what="lines"):
    """Rule-file text (a string or a list of lines, as auditctl -R and augenrules read it) ->
    RuleText(items, labels, texts, controls, control_lines, errors).

    items: the rules in the form of the `rules` option (one per rule line, in order), labels:
    'line N' for each, texts: each source line (stripped), controls: {controls option: value}
    from the -b, -f, -r, --backlog_wait_time and -e 2 lines (control_lines: {option: 'line N
    (the line)'}), errors: every line that is not
    a rule auditctl would take (naming the line, showing it escaped), and every control line
    that audit_rule refuses (-D, -i, -c, --loginuid-immutable, -e 0/1, commands), saying where
    it belongs. Comments (# at the start of a line) and blank lines are skipped. Values are
    checked later, by validate_rule_set and validate_controls, the same as `rules` are."""
    items, labels, texts, controls, errors, origin = [], [], [], {}, [], {}
    for number, line in _text_lines(text, what):
        where = "line %d" % number
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue    # comments are not written anywhere: a tab in one is fine
        bad = control_problem(line)
        if bad:
            # auditctl splits a rule line at spaces only: a tab would become part of a word
            errors.append("%s: %s" % (where, bad))
            continue
        words = stripped.split()
        head = words[0]
        try:
            if head in _LINE_CONTROLS:
                option, value = _line_control(head, words)
                if option in controls and controls[option] != value:
                    raise _Invalid("%s sets %s again, to another value than %s did (%r): a "
                                   "rule set has one value per setting"
                                   % (stripped, option, origin[option], controls[option]))
                controls[option] = value
                origin.setdefault(option, "%s (%s)" % (where, stripped))
                continue
            if head in _LINE_REFUSED:
                raise _Invalid("%s %s" % (head, _LINE_REFUSED[head]))
            if head in _CONTROL or (head.startswith("-") and head not in ("-a", "-w")):
                raise _Invalid("%s is an auditctl command, not a line of a rule file" % head)
            items.append(_declared_item(_read_words(words)))
            labels.append(where)
            texts.append(stripped)
        except _Invalid as e:
            errors.append("%s (%s): %s" % (where, stripped, e))
    return RuleText(items, labels, texts, controls, origin, errors)


def _line_control(head, words):
    """A control line -> (option of `controls`, value); raise _Invalid for what the module
    does not set."""
    if len(words) != 2:
        raise _Invalid("%s takes one value" % head)
    option, value = _LINE_CONTROLS[head], words[1]
    if head == "-e":
        if value != "2":
            raise _Invalid("-e %s: %s; a rule set only locks the configuration (-e 2, "
                           "controls.immutable)" % (value, "auditd enables auditing itself when it "
                                                    "starts" if value == "1" else
                                                    "-e 0 would turn auditing off"))
        return option, True
    number = _int_of(value)
    if number is None or number < 0:
        raise _Invalid("%s %r: the value is not a number 0 or more%s"
                       % (head, value, _auditctl_reads(value)))
    try:
        validate_controls({option: str(number) if option == "failure_mode" else number})
    except AuditRuleError as e:
        raise _Invalid("%s %s: %s" % (head, value, e.msg))
    return option, (str(number) if option == "failure_mode" else number)


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
        elif isinstance(value, str) and _int_of(value.strip()) is not None and not value.strip().startswith("-"):
            value = _int_of(value.strip())
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
