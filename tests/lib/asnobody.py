"""Run plain test functions again in a child that dropped to uid/gid 65534 (nobody) with no groups.

For the pure plan tests (test_ruleplan.py, test_hostplan.py): they prove the plan needs no
privilege. The child is forked, so it needs no access to the checkout or the toolchain (CI keeps
them under a mode-0700 directory); it never returns into pytest.
"""
import inspect
import json
import os

NOBODY = 65534


def zero_arg_tests(namespace, exclude=()):
    """Names of the test functions of NAMESPACE (a module's globals()) that take no argument."""
    return [n for n, f in sorted(namespace.items())
            if n.startswith("test_") and callable(f) and not inspect.signature(f).parameters
            and n not in exclude]


def run_as_nobody(namespace, names):
    """Run NAMESPACE[name]() for each of NAMES in a child as uid/gid 65534. Returns the child's
    report {uid, euid, ran, failed: ["name: error"]}; raises AssertionError when the child died."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run the tests, report, never return into pytest
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            failed = []
            for n in names:
                try:
                    namespace[n]()
                except BaseException as e:  # noqa: B036 - a test's failure of any kind is reported
                    failed.append("%s: %r" % (n, e))
            os.write(w, json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "ran": len(names),
                                    "failed": failed}).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _pid, status = os.waitpid(pid, 0)
    assert status == 0, data
    return json.loads(data.decode())
