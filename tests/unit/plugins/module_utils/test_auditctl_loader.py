"""How the Loader chooses to load /etc/audit/rules.d: the platform's way, never restarting auditd.

Only the outside world is stood in for: whether systemd runs the host (/run/systemd/system),
where the programs are, and what `systemctl show` says about audit-rules.service (the unit as
Debian 13 and upstream audit 4 ship it: a oneshot that does not stay active).
"""
import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _auditctl
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditctl import Loader
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import DEFAULT_RULES_DIR


class FakeModule(object):
    def get_bin_path(self, name, required=False, opt_dirs=None):
        return {"systemctl": "/usr/bin/systemctl", "augenrules": "/usr/sbin/augenrules"}.get(name)


@pytest.fixture
def systemd(monkeypatch):
    """A host run by systemd; `systemctl show` answers what the test sets in .show."""
    real_isdir = _auditctl.os.path.isdir
    monkeypatch.setattr(_auditctl.os.path, "isdir",
                        lambda path: True if path == "/run/systemd/system" else real_isdir(path))
    answer = {"show": ""}

    def run(argv, data=None, timeout=None):
        if list(argv[:2]) == ["/usr/bin/systemctl", "show"]:
            return 0, answer["show"], ""
        raise AssertionError("unexpected command %r" % (argv,))

    monkeypatch.setattr(_auditctl._command, "run", run)
    return answer


def test_audit_rules_service_is_started_not_restarted(systemd):
    # restart would restart auditd.service as well: it Requires= audit-rules.service
    systemd["show"] = "LoadState=loaded\nRemainAfterExit=no\n"
    module = FakeModule()
    loader = Loader(module, DEFAULT_RULES_DIR, "/usr/sbin/auditctl")
    assert loader.argv == ["/usr/bin/systemctl", "start", "audit-rules.service"]
    assert loader.full_method == "augenrules"
    assert "restart" not in loader.argv


def test_audit_rules_service_that_stays_active_is_left_to_augenrules(systemd):
    # a start of an active unit runs nothing: load with what the unit runs instead
    systemd["show"] = "LoadState=loaded\nRemainAfterExit=yes\n"
    module = FakeModule()
    loader = Loader(module, DEFAULT_RULES_DIR, "/usr/sbin/auditctl")
    assert loader.argv == ["/usr/sbin/augenrules", "--load"]


@pytest.mark.parametrize("show", ["LoadState=not-found\nRemainAfterExit=no\n", ""])
def test_without_audit_rules_service_augenrules_loads(systemd, show):
    systemd["show"] = show
    module = FakeModule()
    loader = Loader(module, DEFAULT_RULES_DIR, "/usr/sbin/auditctl")
    assert loader.argv == ["/usr/sbin/augenrules", "--load"]
    assert loader.full_method == "augenrules"
