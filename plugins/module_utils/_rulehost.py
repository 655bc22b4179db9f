# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host a rule set is validated for: which ABIs its kernel runs (b64, b32), which syscall
table each uses, which syscalls and paths it has (``HostArch``).

The only host reads are small files (``/proc/config.gz``, ``/boot/config-*``, ``/proc/cmdline``,
``/proc/kallsyms``); ``HostArch(machine, compat)`` can be built without any of them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import io
import os
import platform
import re
import stat
import zlib

from ansible_collections.auditfleet.auditd.plugins.module_utils import _files
from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import (
    MACHINES, SYSCALLS)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import (
    _Invalid)

# uname -m of kernels that run 64-bit programs (b64); the rest run only 32-bit ones (b32).
MACHINES_64 = ("x86_64", "aarch64", "ppc64", "ppc64le", "s390x")

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


def read_cmdline():
    """The kernel command line, "" when it cannot be read."""
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
                compat = compat_from_config(self.machine, read_kernel_config(), read_cmdline())
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
