"""The generated tables agree with the platform and with libaudit."""
import errno
import os
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
