"""The `host` fixture of the module tests that change the host's audit state."""
import pytest

from tests.unit.plugins.modules.test_audit_rule_harness import host_guard


@pytest.fixture
def host():
    """The host's audit state before the test; put back after it (see the harness).
    Skips where the real auditd or ansible-core is missing."""
    with host_guard() as before:
        yield before
