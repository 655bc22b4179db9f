"""A machine-wide lock for tests that touch kernel audit state.

Kernel audit rules are global to the machine, and `augenrules --load` replaces every loaded
rule. Two test runs at once (two developers, or unit and integration tests in parallel) would
remove each other's rules, so every test that loads rules, reloads auditd or restarts it holds
this lock. It is not the lock of the audit_rule module (that one lives under /run and is taken
by the module itself), so a test holding this lock can still run the module.
"""
import contextlib
import fcntl
import os

LOCK_PATH = os.environ.get("AUDITFLEET_TEST_LOCK", "/run/auditfleet-tests.lock")


@contextlib.contextmanager
def audit_test_lock(path=LOCK_PATH):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
