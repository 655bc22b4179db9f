"""The machine-wide lock of tests that touch kernel audit state: the one implementation.

Kernel audit rules are global to the machine, and `augenrules --load` replaces every loaded
rule. Two test runs at once (two developers, or unit and integration tests in parallel) would
remove each other's rules, so every test that loads rules, reloads auditd or restarts it holds
this lock. It is not the lock of the audit_rule module (that one lives under /run and is taken
by the module itself), so a test holding this lock can still run the module.

The descriptor is opened close-on-exec: no child, above all no auditd (re)started by a test,
keeps the lock after the test. Shell scripts take the same lock through tests/lib/env.sh
(`af_locked CMD...`, `af_guarded CMD...`), which ask this file to run the command:

    python3 tests/lib/auditlock.py [--file PATH] [--wait-message TEXT] -- COMMAND...

runs COMMAND holding the lock (PATH: another lock file, e.g. a toolchain build's) and exits
with its status.
"""
import contextlib
import fcntl
import os
import signal
import subprocess
import sys

LOCK_PATH = os.environ.get("AUDITFLEET_TEST_LOCK", "/run/auditfleet-tests.lock")


@contextlib.contextmanager
def audit_test_lock(path=LOCK_PATH, wait_message=None):
    """Hold the lock PATH (by default the machine-wide audit test lock) while the block runs.
    WAIT_MESSAGE is printed to stderr when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if wait_message:
                sys.stderr.write("%s\n" % wait_message)
                sys.stderr.flush()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock


def run_child(argv):
    """Run ARGV as a child with this process's stdio; return its exit status (128 + N after
    signal N). SIGTERM and SIGHUP sent to this process are passed on to the child, which is
    waited for, so that whoever called this can still clean up after it. SIGINT is ignored
    here: Ctrl-C reaches the child from the terminal itself (a second one could cut short the
    child's own cleanup)."""
    child = subprocess.Popen(argv)

    def forward(signum, _frame):
        if child.poll() is None:
            child.send_signal(signum)

    saved = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN)}
    saved.update((s, signal.signal(s, forward)) for s in (signal.SIGTERM, signal.SIGHUP))
    try:
        status = child.wait()
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    return 128 - status if status < 0 else status


def main(argv):
    path, wait_message = LOCK_PATH, None
    while argv and argv[0] != "--":
        if argv[0] == "--file" and len(argv) > 1:
            path, argv = argv[1], argv[2:]
        elif argv[0] == "--wait-message" and len(argv) > 1:
            wait_message, argv = argv[1], argv[2:]
        else:
            sys.stderr.write("usage: auditlock.py [--file PATH] [--wait-message TEXT] -- COMMAND...\n")
            return 2
    if len(argv) < 2:
        sys.stderr.write("usage: auditlock.py [--file PATH] [--wait-message TEXT] -- COMMAND...\n")
        return 2
    with audit_test_lock(path, wait_message):
        return run_child(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
