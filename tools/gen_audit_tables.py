"""Regenerate plugins/module_utils/_audit_tables.py from the audit userspace library.

The parser and the rule validator must agree with what auditd and auditctl know, so the
tables come from libaudit itself (Debian: python3-audit, run this with the system Python),
or from `ausyscall --dump` per arch when the bindings are missing. Kernel syscall tables in
the `.tbl` format (number, abi, name, ...) can be merged with --kernel-tbl ARCH=FILE to add
syscalls newer than the installed libaudit. What libaudit has no table for comes from the
kernel's uapi headers (Debian: linux-libc-dev): the x32 syscall numbers (asm/unistd_x32.h)
and the sub-calls of socketcall and ipc (linux/net.h, linux/ipc.h).

    /usr/bin/python3 tools/gen_audit_tables.py            # rewrite the module
    /usr/bin/python3 tools/gen_audit_tables.py --check    # exit 1 if it would change
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "plugins", "module_utils", "_audit_tables.py")

# Syscall table name -> the name libaudit/ausyscall knows it by.
SYSCALL_TABLES = {
    "x86_64": "x86_64",
    "i386": "i386",
    "aarch64": "aarch64",
    "arm": "armeb",       # libaudit has one ARM table, named armeb
    "ppc": "ppc",         # ppc, ppc64 and ppc64le share one table in libaudit
    "s390x": "s390x",
    "s390": "s390",
}

# Syscalls every table must name: the six that send a signal to another process (the kill
# reports are made from them). A libaudit without one of them would make kill reports of that
# ABI silently disappear: the generator stops instead (merge a kernel .tbl with --kernel-tbl).
REQUIRED_SYSCALLS = ("kill", "tkill", "tgkill", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo")

# AUDIT_ARCH_* values as the kernel prints them in arch=, and the syscall table each uses.
# (EM_* machine number | 0x80000000 for 64-bit | 0x40000000 for little endian.)
ARCHES = {
    "c000003e": ("x86_64", "x86_64"),
    "40000003": ("i386", "i386"),
    "c00000b7": ("aarch64", "aarch64"),
    "40000028": ("arm", "arm"),
    "00000028": ("armeb", "arm"),
    "80000015": ("ppc64", "ppc"),
    "c0000015": ("ppc64le", "ppc"),
    "00000014": ("ppc", "ppc"),
    "80000016": ("s390x", "s390x"),
    "00000016": ("s390", "s390"),
    "c00000f3": ("riscv64", None),
    "400000f3": ("riscv32", None),
}

# Which 64-bit host machine (uname -m) pairs with which compat (32-bit) ABI, and the
# syscall table of each: the rule validator checks b64 rules against the first and b32
# rules against the second.
MACHINES = {
    "x86_64": ("x86_64", "i386"),
    "aarch64": ("aarch64", "arm"),
    "ppc64": ("ppc", "ppc"),
    "ppc64le": ("ppc", "ppc"),
    "s390x": ("s390x", "s390"),
    "i386": ("i386", None),
    "i686": ("i386", None),
    "armv7l": ("arm", None),
    "armv6l": ("arm", None),
    "s390": ("s390", None),
    "ppc": ("ppc", None),
}

# Linux signal numbers shared by x86, arm, arm64, powerpc and s390 (asm-generic numbering).
SIGNALS = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
    13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
    18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG",
    24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO",
    30: "SIGPWR", 31: "SIGSYS",
}
# Real-time signals are named from the kernel's SIGRTMIN (32); glibc reserves 32 and 33,
# so what a shell calls SIGRTMIN is SIGRTMIN+2 here.
for _n in range(32, 65):
    SIGNALS[_n] = "SIGRTMIN" if _n == 32 else ("SIGRTMAX" if _n == 64 else "SIGRTMIN+%d" % (_n - 32))


# The uapi headers read, under --headers (the first path of each that exists).
X32_HEADERS = ("x86_64-linux-gnu/asm/unistd_x32.h", "asm/unistd_x32.h")
NET_HEADER = "linux/net.h"
IPC_HEADER = "linux/ipc.h"
# The ipc(2) sub-calls, as include/uapi/linux/ipc.h names them (libauparse's ipctab.h).
IPC_NAMES = ("SEMOP", "SEMGET", "SEMCTL", "SEMTIMEDOP", "MSGSND", "MSGRCV", "MSGGET", "MSGCTL",
             "SHMAT", "SHMDT", "SHMGET", "SHMCTL", "DIPC")


def _header(headers, names):
    for name in names:
        path = os.path.join(headers, name)
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
    sys.exit("no %s under %s: install the kernel's uapi headers (Debian: linux-libc-dev) or "
             "pass --headers" % (" or ".join(names), headers))


def x32_syscalls(headers):
    """x32 syscall number (without the 0x40000000 bit) -> name, from asm/unistd_x32.h."""
    text = _header(headers, X32_HEADERS)
    table = {}
    for m in re.finditer(r"^#define __NR_(\w+) \(__X32_SYSCALL_BIT \+ (\d+)\)$", text, re.M):
        table[int(m.group(2))] = m.group(1)
    if not table:
        sys.exit("no x32 syscall in the x32 header under %s" % headers)
    return table


def socketcalls(headers):
    """socketcall(2) sub-call number -> name (SYS_CONNECT 3 -> connect), from linux/net.h."""
    text = _header(headers, (NET_HEADER,))
    return dict((int(m.group(2)), m.group(1).lower())
                for m in re.finditer(r"^#define SYS_([A-Z0-9]+)\s+(\d+)\b", text, re.M))


def ipc_calls(headers):
    """ipc(2) sub-call number -> name (SHMAT 21 -> shmat), from linux/ipc.h."""
    text = _header(headers, (IPC_HEADER,))
    table = {}
    for name in IPC_NAMES:
        m = re.search(r"^#define %s\s+(\d+)\b" % name, text, re.M)
        if m is None:
            sys.exit("%s: no %s" % (IPC_HEADER, name))
        table[int(m.group(1))] = name.lower()
    return table


def syscalls_from_bindings(audit, libname):
    machine = audit.audit_name_to_machine(libname)
    table = {}
    for nr in range(0, 1100):
        name = audit.audit_syscall_to_name(nr, machine)
        if name:
            table[nr] = name
    return table


def syscalls_from_ausyscall(libname):
    ausyscall = shutil.which("ausyscall") or "/usr/bin/ausyscall"
    out = subprocess.run([ausyscall, libname, "--dump"], check=True, stdout=subprocess.PIPE,
                         env=dict(os.environ, LC_ALL="C"), universal_newlines=True).stdout
    table = {}
    for line in out.splitlines():
        m = re.match(r"^(\d+)\s+(\S+)$", line.strip())
        if m:
            table[int(m.group(1))] = m.group(2)
    return table


def merge_kernel_tbl(table, path, abis):
    """Add entries of a kernel syscall_*.tbl file (`nr abi name entry`) for the given ABIs."""
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and not parts[0].startswith("#") and parts[1] in abis:
                table.setdefault(int(parts[0]), parts[2])


def collect(args):
    try:
        import audit
    except ImportError:
        audit = None
    source = "libaudit bindings" if audit else "ausyscall --dump"
    syscalls = {}
    for table, libname in SYSCALL_TABLES.items():
        syscalls[table] = (syscalls_from_bindings(audit, libname) if audit
                           else syscalls_from_ausyscall(libname))
    for spec in args.kernel_tbl:
        table, path = spec.split("=", 1)
        abis = {"x86_64": ("common", "64"), "i386": ("i386",)}.get(table, ("common",))
        merge_kernel_tbl(syscalls[table], path, abis)
    for table in sorted(syscalls):
        missing = [name for name in REQUIRED_SYSCALLS if name not in syscalls[table].values()]
        if missing:
            sys.exit("the %s syscall table from %s lacks %s: merge the kernel's table with --kernel-tbl %s=FILE"
                     % (table, source, ", ".join(missing), table))
    record_types, errnos, rule_fields = {}, {}, []
    if audit:
        for nr in range(1000, 3000):
            name = audit.audit_msg_type_to_name(nr)
            if name:
                record_types[name] = nr
        for nr in range(1, 200):
            name = audit.audit_errno_to_name(nr)
            if name:
                errnos[nr] = name
        for nr in range(0, 400):
            name = audit.audit_field_to_name(nr)
            if name:
                rule_fields.append(name)
    else:
        sys.exit("python3-audit (the libaudit bindings) is needed for record types and errno names")
    version = "unknown"
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "libaudit1"], check=True,
                             stdout=subprocess.PIPE, universal_newlines=True).stdout
        version = out.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return {
        "source": "%s (libaudit %s) and the kernel's uapi headers" % (source, version),
        "syscalls": syscalls, "record_types": record_types, "errnos": errnos,
        "rule_fields": rule_fields, "x32": x32_syscalls(args.headers),
        "socketcalls": socketcalls(args.headers), "ipc_calls": ipc_calls(args.headers),
    }


def _wrapped(items, indent, width=99):
    """Items (already repr'd) packed into lines of at most WIDTH characters at INDENT."""
    lines, line = [], ""
    for item in items:
        piece = item + ","
        if line and len(" " * indent + line + " " + piece) > width:
            lines.append(" " * indent + line)
            line = piece
        else:
            line = (line + " " + piece) if line else piece
    if line:
        lines.append(" " * indent + line)
    return lines


def _dict_lines(name, mapping, indent=0):
    """NAME = { ... } (or 'NAME': { ... }, nested), hanging indents as pep8 wants them."""
    items = ["%r: %r" % (k, mapping[k]) for k in sorted(mapping)]
    return ([" " * indent + "%s{" % name] + _wrapped(items, indent + 4)
            + [" " * indent + ("}," if indent else "}")])


def render(data):
    parts = [
        "# -*- coding: utf-8 -*-",
        "# GENERATED by tools/gen_audit_tables.py from %s. Do not edit by hand." % data["source"],
        "# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)",
        '"""Audit lookup tables: arch codes, syscall numbers, record types, errno and signal names."""',
        "",
        "from __future__ import absolute_import, division, print_function",
        "__metaclass__ = type",
        "",
        "# arch= value -> (arch name, syscall table name or None)",
    ]
    parts += _dict_lines("ARCHES = ", ARCHES)
    parts += ["", "# uname -m -> (syscall table of the native ABI, syscall table of the 32-bit compat ABI)"]
    parts += _dict_lines("MACHINES = ", MACHINES)
    parts += ["", "# syscall table name -> {number: name}", "SYSCALLS = {"]
    for table in sorted(data["syscalls"]):
        parts += _dict_lines("%r: " % table, data["syscalls"][table], 4)
    parts += ["}", "", "# x32 syscall number (arch=c000003e, syscall= without its 0x40000000 bit) -> name"]
    parts += _dict_lines("X32_SYSCALLS = ", data["x32"])
    parts += ["", "# socketcall(2) sub-call (a0) -> name"]
    parts += _dict_lines("SOCKETCALLS = ", data["socketcalls"])
    parts += ["", "# ipc(2) sub-call (a0) -> name"]
    parts += _dict_lines("IPC_CALLS = ", data["ipc_calls"])
    parts += ["", "# record type name -> number"]
    parts += _dict_lines("RECORD_TYPES = ", data["record_types"])
    parts += ["", "# Linux errno number -> name"]
    parts += _dict_lines("ERRNOS = ", data["errnos"])
    parts += ["", "# Linux signal number -> name"]
    parts += _dict_lines("SIGNALS = ", SIGNALS)
    parts += ["", "# rule field names auditctl -F accepts", "RULE_FIELDS = ("]
    parts += _wrapped(["%r" % f for f in data["rule_fields"]], 4)
    parts += [")", ""]
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the module is out of date")
    parser.add_argument("--kernel-tbl", action="append", default=[], metavar="TABLE=FILE",
                        help="merge a kernel syscall .tbl file into a table (e.g. x86_64=syscall_64.tbl)")
    parser.add_argument("--headers", default="/usr/include",
                        help="where the kernel's uapi headers are (asm/unistd_x32.h, linux/net.h, linux/ipc.h)")
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    text = render(collect(args))
    if args.check:
        with open(args.out) as f:
            current = f.read()
        # the header names the libaudit version; compare the data only
        same = current.split("\n", 2)[2] == text.split("\n", 2)[2]
        print("up to date" if same else "OUT OF DATE: run tools/gen_audit_tables.py")
        return 0 if same else 1
    with open(args.out, "w") as f:
        f.write(text)
    print("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
