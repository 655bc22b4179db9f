"""The generated tables agree with the platform and with libaudit."""
import errno
import os
import re
import signal
import subprocess
import sys

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import (
    ARCHES, ERRNOS, MACHINES, SIGNALS, SYSCALLS)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux numbering")
def test_signal_names_match_this_platform():
    for number in range(1, 32):
        assert getattr(signal, SIGNALS[number]) == number
    assert SIGNALS[64] == "SIGRTMAX" and SIGNALS[34] == "SIGRTMIN+2"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux numbering")
def test_errno_names_match_this_platform():
    for number, name in ERRNOS.items():
        if hasattr(errno, name):
            assert getattr(errno, name) == number, name
    assert ERRNOS[1] == "EPERM" and ERRNOS[3] == "ESRCH"


def test_kill_family_in_every_table():
    expect = {"x86_64": (62, 200, 234), "i386": (37, 238, 270), "aarch64": (129, 130, 131),
              "arm": (37, 238, 268), "ppc": (37, 208, 250), "s390x": (37, 237, 241)}
    for table, (kill, tkill, tgkill) in expect.items():
        assert (SYSCALLS[table][kill], SYSCALLS[table][tkill], SYSCALLS[table][tgkill]) == \
            ("kill", "tkill", "tgkill"), table


def test_every_arch_and_machine_names_a_known_table():
    for code, (_name, table) in ARCHES.items():
        assert table is None or table in SYSCALLS, code
    for machine, (native, compat) in MACHINES.items():
        assert native in SYSCALLS and (compat is None or compat in SYSCALLS), machine


def test_committed_tables_are_what_libaudit_gives():
    res = subprocess.run(["/usr/bin/python3", "-c", "import audit"], stderr=subprocess.PIPE, check=False)
    if res.returncode != 0:
        pytest.skip("python3-audit (libaudit bindings) is not installed for /usr/bin/python3")
    res = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "gen_audit_tables.py"), "--check"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert res.returncode == 0, res.stdout


# The kernel's numbers (arch/*/syscall*.tbl, include/uapi/asm-generic/unistd.h) of the six
# syscalls that send a signal to another process.
SIGNAL_SYSCALLS = {
    # table: (kill, tkill, tgkill, pidfd_send_signal, rt_sigqueueinfo, rt_tgsigqueueinfo)
    "x86_64": (62, 200, 234, 424, 129, 297),
    "i386": (37, 238, 270, 424, 178, 335),
    "aarch64": (129, 130, 131, 424, 138, 240),
    "arm": (37, 238, 268, 424, 178, 363),
    "ppc": (37, 208, 250, 424, 177, 322),
    "s390x": (37, 237, 241, 424, 178, 330),
    "s390": (37, 237, 241, 424, 178, 330),
}
SIGNAL_NAMES = ("kill", "tkill", "tgkill", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo")


def test_signal_syscalls_in_every_table():
    assert set(SIGNAL_SYSCALLS) == set(SYSCALLS)
    for table, numbers in SIGNAL_SYSCALLS.items():
        assert tuple(SYSCALLS[table][nr] for nr in numbers) == SIGNAL_NAMES, table


@pytest.mark.parametrize("table, header", [
    ("x86_64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    ("i386", "/usr/include/x86_64-linux-gnu/asm/unistd_32.h"),
    ("aarch64", "/usr/include/asm-generic/unistd.h"),
])
def test_signal_syscalls_match_this_machines_kernel_headers(table, header):
    if not os.path.exists(header):
        pytest.skip("%s is not installed (linux-libc-dev)" % header)
    with open(header) as f:
        text = f.read()
    for name in SIGNAL_NAMES:
        m = re.search(r"^#define __NR_%s (\d+)$" % name, text, re.M)
        assert m, "%s: no __NR_%s" % (header, name)
        assert SYSCALLS[table][int(m.group(1))] == name


def test_generator_refuses_a_table_without_a_signal_syscall():
    """A libaudit that lacks one of the six for an ABI would make those kills vanish: the
    generator stops and names the table and the syscall."""
    res = subprocess.run(["/usr/bin/python3", "-c", "import audit"], stderr=subprocess.PIPE, check=False)
    if res.returncode != 0:
        pytest.skip("python3-audit (libaudit bindings) is not installed for /usr/bin/python3")
    script = (
        "import sys, types\n"
        "sys.path.insert(0, %r)\n"
        "import gen_audit_tables as g\n"
        "real = g.syscalls_from_bindings\n"
        "def lacking(audit, libname):\n"
        "    table = real(audit, libname)\n"
        "    return dict((k, v) for k, v in table.items() if not (libname == 'i386' and v == 'rt_tgsigqueueinfo'))\n"
        "g.syscalls_from_bindings = lacking\n"
        "g.collect(types.SimpleNamespace(kernel_tbl=[]))\n" % os.path.join(ROOT, "tools"))
    res = subprocess.run(["/usr/bin/python3", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, check=False)
    assert res.returncode == 1
    assert "the i386 syscall table from libaudit bindings lacks rt_tgsigqueueinfo" in res.stderr
