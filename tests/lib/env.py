"""The test bootstrap: this checkout as the collection auditfleet.auditd, and how tests run Ansible.

The one place for what every test, script, benchmark and the demo needs (tests/lib/env.sh is
its face for shell scripts and takes its values from here):

- COLLECTIONS and COLLECTION_LINK: Ansible, ansible-test and Python imports need the collection
  at .../ansible_collections/auditfleet/auditd; the checkout is the collection root, so
  build/collections/ansible_collections/auditfleet/auditd links to it (ensure_collection_link()).
- collection_tree(): a private collection made of parts of the checkout plus files of a test's
  own (a stand-in plugin), for tests and benchmarks that run a playbook against made-up data.
- ansible_env(): the environment for ansible-playbook run by a test (this checkout only).
- target_python(): the interpreter modules run on in tests (ansible_python_interpreter).
- The machine-wide test lock is tests/lib/auditlock.py; the host's audit state, saved and put
  back, is tests/lib/hoststate.py.

Target-side tests run this file on Pythons down to 3.6: no newer syntax here.

    python3 tests/lib/env.py shell    # make the link; print the shell variables env.sh sets
"""
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
if ROOT not in sys.path:  # run as a script: tests.lib is importable from the checkout
    sys.path.insert(0, ROOT)

from tests.lib.auditlock import LOCK_PATH  # noqa: E402  (after the path set-up above)

NAMESPACE, NAME = "auditfleet", "auditd"
COLLECTIONS = os.path.join(ROOT, "build", "collections")
COLLECTION_LINK = os.path.join(COLLECTIONS, "ansible_collections", NAMESPACE, NAME)
# Where modules run in tests: the system's Python, as on a managed Debian host (python3-apt and
# python3-audit are built for it). Not interpreter discovery: with pyenv it picks shims such as
# /root/.pyenv/shims/python3.12 that fail for every version but the global one.
SYSTEM_PYTHON = "/usr/bin/python3"


def ensure_collection_link():
    """Make COLLECTION_LINK point to this checkout (once; concurrent callers are fine).
    Returns COLLECTIONS, the directory for ANSIBLE_COLLECTIONS_PATH and sys.path."""
    if os.path.realpath(COLLECTION_LINK) != os.path.realpath(ROOT):
        parent = os.path.dirname(COLLECTION_LINK)
        if not os.path.isdir(parent):
            os.makedirs(parent, exist_ok=True)
        tmp = "%s.%d.tmp" % (COLLECTION_LINK, os.getpid())
        os.symlink(ROOT, tmp)
        os.rename(tmp, COLLECTION_LINK)  # atomic: a reader never sees no link
    return COLLECTIONS


def import_collection():
    """Make `import ansible_collections.auditfleet.auditd...` work in this process."""
    ensure_collection_link()
    for path in (COLLECTIONS, ROOT):
        if path not in sys.path:
            sys.path.insert(0, path)
    return COLLECTIONS


def collection_tree(base, parts, files=None):
    """A collection auditfleet.auditd under BASE/collections made of PARTS of this checkout
    (relative paths, linked: "playbooks", "plugins/filter") and FILES of the caller's own
    ({relative path: text}, e.g. a stand-in action plugin). Returns BASE/collections."""
    base = str(base)
    collections = os.path.join(base, "collections")
    coll = os.path.join(collections, "ansible_collections", NAMESPACE, NAME)
    os.makedirs(coll)
    for part in parts:
        dest = os.path.join(coll, part)
        if not os.path.isdir(os.path.dirname(dest)):
            os.makedirs(os.path.dirname(dest))
        os.symlink(os.path.join(ROOT, part), dest)
    for rel, text in sorted((files or {}).items()):
        dest = os.path.join(coll, rel)
        if not os.path.isdir(os.path.dirname(dest)):
            os.makedirs(os.path.dirname(dest))
        with open(dest, "w") as f:
            f.write(text)
    return collections


def target_python():
    """The interpreter modules run on in tests: $AUDITFLEET_TARGET_PYTHON if set, else the
    system's /usr/bin/python3 where it runs, else this Python."""
    chosen = os.environ.get("AUDITFLEET_TARGET_PYTHON")
    if chosen:
        return chosen
    if os.access(SYSTEM_PYTHON, os.X_OK):
        try:
            subprocess.check_call([SYSTEM_PYTHON, "-c", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  timeout=60)
            return SYSTEM_PYTHON
        except (OSError, subprocess.SubprocessError):
            pass
    return sys.executable


def ansible_env(collections=None, base=None, **extra):
    """os.environ plus what an ansible-playbook run by a test needs: this checkout (or the
    COLLECTIONS of collection_tree()) as the only copy of auditfleet.auditd, the target
    interpreter, no colour, no retry files, its temporary files under BASE if given."""
    env = dict(os.environ)
    env.pop("ANSIBLE_CONFIG", None)  # no ansible.cfg of the caller's
    env.update(ANSIBLE_COLLECTIONS_PATH=collections or ensure_collection_link(),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_PYTHON_INTERPRETER=target_python(),
               ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               LC_ALL="C.UTF-8")
    if base is not None:
        env["ANSIBLE_LOCAL_TEMP"] = os.path.join(str(base), "tmp")
    env.update(extra)
    return env


def shell_values():
    """The variables tests/lib/env.sh sets, after making the link."""
    ensure_collection_link()
    return [("AF_ROOT", ROOT), ("AF_COLLECTIONS", COLLECTIONS), ("AF_COLLECTION_LINK", COLLECTION_LINK),
            ("AF_LOCK", LOCK_PATH), ("AF_TARGET_PYTHON", target_python())]


def main(argv):
    if argv != ["shell"]:
        sys.stderr.write("usage: env.py shell\n")
        return 2
    for name, value in shell_values():
        sys.stdout.write("%s=%s\n" % (name, shlex.quote(value)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
