"""Issue 14's rule, checked on the whole tree: the collection link and the machine-wide audit
test lock are written out only in the bootstrap (tests/lib) and in documentation, and only the
lock helper calls flock() on the lock. Everything else takes them from tests/lib/env.py,
tests/lib/env.sh, tests/lib/auditlock.py and tests/lib/hoststate.py, so that a second way to
make the link or take the lock cannot come back unnoticed (as a new test or script would).

Files the rule does not apply to are listed with the reason; the test fails too when one of
them no longer needs the exception (the list stays honest)."""
import os
import subprocess

import pytest

from tests.lib import env

HELPERS = {"tests/lib/env.py", "tests/lib/env.sh", "tests/lib/auditlock.py", "tests/lib/hoststate.py"}
THIS = "tests/unit/lib/test_bootstrap_once.py"
# Tests whose subject is the rule or the helpers themselves (they name what they look for).
ABOUT_THE_RULE = {THIS, "tests/unit/lib/test_integration_targets.py", "tests/unit/lib/test_auditlock.py"}
EXCEPTIONS = {
    # Runs on the fleet's VMs, copied there alone by ansible.builtin.script (tests/lib is not
    # there): it takes the same lock by its path, in case it is ever run on a developer's machine.
    "tests/fleet/scenarios/files/preset_reference.py":
        "a host-side script of fleet scenario 68-presets, run alone on the VMs",
}
LINK_WORDS = ("build/collections/ansible_collections",)
# (the default path: AUDITFLEET_TEST_LOCK may name another file in this run)
LOCK_NAME = "auditfleet-tests.lock"
LOCK_WORDS = (LOCK_NAME, "fcntl.flock", "flock ")


def tracked_files():
    """The checkout's files as git sees them (tracked, or new and not ignored)."""
    if not os.path.isdir(os.path.join(env.ROOT, ".git")) and not os.path.isfile(os.path.join(env.ROOT, ".git")):
        pytest.skip("not a git checkout: the files of the tree are those git knows")
    out = subprocess.run(["git", "-C", env.ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         stdout=subprocess.PIPE, check=True, timeout=60).stdout
    return sorted(name for name in out.decode("utf-8", "surrogateescape").split("\0")
                  if name and os.path.isfile(os.path.join(env.ROOT, name)))


def is_documentation(name):
    return name.endswith((".md", ".rst")) or name.startswith("docs/") or name.startswith("changelogs/")


def holders(words):
    """{file: [the words it contains]} for the files that are neither helpers nor documentation."""
    found = {}
    for name in tracked_files():
        if name in HELPERS or name in ABOUT_THE_RULE or is_documentation(name):
            continue
        if name.startswith("plugins/"):
            continue  # the collection itself: its own host lock, and `flock` as a syscall name
        with open(os.path.join(env.ROOT, name), "rb") as f:
            text = f.read().decode("utf-8", "replace")
        hits = [w for w in words if w in text]
        if hits:
            found[name] = hits
    return found


def test_the_link_path_is_written_only_in_the_helpers():
    assert holders(LINK_WORDS) == {}, "make the link through tests/lib/env.py or tests/lib/env.sh"


def test_the_lock_is_taken_only_by_the_helpers():
    found = holders(LOCK_WORDS)
    # The fleet's own locks (a VM's, an image build's) are not the audit test lock: they guard
    # the fleet's work directory, not this machine's kernel audit state.
    fleet_locks = {"tests/fleet/fleet.sh", "tests/fleet/build-image.sh"}
    for name in fleet_locks & set(found):
        assert LOCK_NAME not in found[name], name
        del found[name]
    assert set(found) - set(EXCEPTIONS) == set(), (
        "take the lock through tests/lib/auditlock.py, af_locked or af_guarded: %r" % found)
    stale = set(EXCEPTIONS) - set(found)
    assert not stale, "no longer needs its exception here: %s" % sorted(stale)


def test_the_helpers_do_hold_what_the_others_may_not():
    """The rule above would pass on an empty tree: the words are where they belong."""
    texts = {}
    for name in HELPERS:
        with open(os.path.join(env.ROOT, name)) as f:
            texts[name] = f.read()
    assert "build/collections/ansible_collections" in texts["tests/lib/env.sh"]
    assert "fcntl.flock" in texts["tests/lib/auditlock.py"]
    assert LOCK_NAME in texts["tests/lib/auditlock.py"]
