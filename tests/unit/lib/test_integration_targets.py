"""The integration targets are in ansible-test's shape (docs/testing.md): every target has an
aliases file and an executable runme.sh; a target that sources setup_auditd's setup.sh (it
changes the host's audit state) says so in its aliases, as ansible-test needs to copy
setup_auditd next to it and to skip it where it may not run."""
import os

import pytest

from tests.lib.env import ROOT

TARGETS = os.path.join(ROOT, "tests", "integration", "targets")
NAMES = sorted(n for n in os.listdir(TARGETS) if os.path.isdir(os.path.join(TARGETS, n)))


def aliases(name):
    with open(os.path.join(TARGETS, name, "aliases")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("name", NAMES)
def test_target_shape(name):
    assert os.path.isfile(os.path.join(TARGETS, name, "aliases")), "%s has no aliases file" % name
    if name.startswith("setup_"):
        return
    runme = os.path.join(TARGETS, name, "runme.sh")
    assert os.access(runme, os.X_OK), "%s: no executable runme.sh" % name
    with open(runme) as f:
        text = f.read()
    if "setup_auditd/setup.sh" in text:
        assert {"destructive", "needs/root", "needs/target/setup_auditd"} <= set(aliases(name)), name
    for word in ("flock", "auditctl -D", "build/collections", "/run/auditfleet-tests.lock"):
        assert word not in text, "%s: %r is the helpers' job (tests/lib)" % (name, word)


def test_the_template_target_is_there():
    """docs/testing.md names audit_facts as the template of a live role target."""
    assert os.path.isfile(os.path.join(TARGETS, "audit_facts", "tasks", "main.yml"))
    assert "needs/target/setup_auditd" in aliases("audit_facts")
