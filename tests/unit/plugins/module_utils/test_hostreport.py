"""The read-only host report (plugins/module_utils/_hostreport.py) from files of a test's own.

No root and no auditd: auditd.conf, the kernel command line and the boot links are files in a
temporary directory (the module's live test, tests/unit/plugins/modules/test_audit_rule_sets.py,
checks the same answers against this machine)."""
import os

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _hostreport
from ansible_collections.auditfleet.auditd.plugins.module_utils._hostreport import (
    AuditdConf, booted_with_audit, enabled_at_boot, host_report)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError


class FakeModule(object):
    """get_bin_path's answers (the outside world), nothing else."""

    def __init__(self, bins=()):
        self.bins = dict(bins)

    def get_bin_path(self, name, *a, **kw):
        return self.bins.get(name)


@pytest.mark.parametrize("cmdline,want", [
    ("ro quiet audit=1", True), ("audit=0 ro", False), ("ro quiet", None),
    ("audit=1 audit=0", False), ("audit=0 audit=1", True), ("audit=on", True), ("audit=x", None),
    ("noaudit=1 audit_backlog_limit=8192", None)])
def test_booted_with_audit_reads_the_last_audit_word(cmdline, want):
    assert booted_with_audit(cmdline) is want


def test_auditd_conf_compares_keys_case_insensitively_and_booleans_as_yes_no(tmp_path):
    conf = tmp_path / "auditd.conf"
    conf.write_text("# max_log_file = 99\nMAX_LOG_FILE = 8\nwrite_logs=no\nflush = INCREMENTAL_ASYNC\n"
                    "num_logs = 4\nnum_logs = 5\nnot a line\n")
    assert AuditdConf({"max_log_file": 8, "Write_Logs": False, "num_logs": "5"}, str(conf)).compare() == (
        True, True, {})
    found, matches, differs = AuditdConf({"flush": "incremental_async", "write_logs": True,
                                          "space_left": 75}, str(conf)).compare()
    assert (found, matches) == (True, False)
    assert differs == {"flush": {"have": "INCREMENTAL_ASYNC", "want": "incremental_async"},
                       "write_logs": {"have": "no", "want": "yes"},
                       "space_left": {"have": None, "want": "75"}}
    assert AuditdConf({}, str(tmp_path / "none")).compare() == (False, True, {})
    assert AuditdConf({"num_logs": 5}, str(tmp_path / "none")).compare() == (
        False, False, {"num_logs": {"have": None, "want": "5"}})


@pytest.mark.parametrize("wanted,path,words", [
    ({"num_logs": "5\n"}, "/etc/audit/auditd.conf", ["auditd_conf.num_logs", "'5\\n'"]),
    ({"bad key": 1}, "/etc/audit/auditd.conf", ["auditd_conf key 'bad key'"]),
    ({"num_logs": [1]}, "/etc/audit/auditd.conf", ["auditd_conf.num_logs", "[1]"]),
    ({"num_logs": " 5"}, "/etc/audit/auditd.conf", ["auditd_conf.num_logs", "whitespace"]),
    ({"num_logs": 5, "NUM_LOGS": 5}, "/etc/audit/auditd.conf", ["given twice"]),
    ({}, "relative/auditd.conf", ["auditd_conf_path", "not an absolute path"]),
    ({}, "/etc/audit/auditd.conf\x1b", ["auditd_conf_path", "\\x1b"]),
])
def test_bad_auditd_conf_values_are_refused_naming_the_key_and_value(wanted, path, words):
    with pytest.raises(AuditRuleError) as e:
        AuditdConf(wanted, path)
    assert all(w in e.value.msg for w in words), e.value.msg


def test_a_fifo_as_auditd_conf_is_refused_not_read(tmp_path):
    fifo = tmp_path / "auditd.conf"
    os.mkfifo(str(fifo))
    with pytest.raises(AuditRuleError) as e:
        AuditdConf({"num_logs": 5}, str(fifo)).compare()
    assert "FIFO" in e.value.msg


@pytest.fixture
def boot(tmp_path, monkeypatch):
    """SysV runlevel and systemd directories of a test's own (no systemd running)."""
    root = tmp_path
    monkeypatch.setattr(_hostreport, "SYSV_RC", str(root / "rc[2345].d"))
    monkeypatch.setattr(_hostreport, "SYSTEMD_WANTS", str(root / "systemd/*.wants/auditd.service"))
    monkeypatch.setattr(_hostreport, "SYSTEMD_RUNNING", str(root / "run-systemd"))
    for n in "0123456":
        (root / ("rc%s.d" % n)).mkdir()
    return root


def test_enabled_at_boot_from_sysv_links(boot):
    module = FakeModule()
    assert enabled_at_boot(module) is None
    (boot / "rc0.d" / "K01auditd").write_text("")
    (boot / "rc2.d" / "K01auditd").write_text("")
    assert enabled_at_boot(module) is False
    (boot / "rc3.d" / "S01auditd").write_text("")
    assert enabled_at_boot(module) is True


def test_enabled_at_boot_from_a_systemd_wants_link(boot):
    wants = boot / "systemd" / "multi-user.target.wants"
    wants.mkdir(parents=True)
    os.symlink("/lib/systemd/system/auditd.service", str(wants / "auditd.service"))
    assert enabled_at_boot(FakeModule()) is True          # SysV cannot tell: the link says yes
    (boot / "rc2.d" / "K01auditd").write_text("")
    assert enabled_at_boot(FakeModule()) is False         # no systemd running: SysV decides
    (boot / "run-systemd").mkdir()
    assert enabled_at_boot(FakeModule()) is True          # systemd running: its link decides


def test_ready_needs_everything_and_a_report_without_auditctl_changes_nothing(boot, tmp_path):
    (boot / "rc2.d" / "S01auditd").write_text("")
    conf = tmp_path / "auditd.conf"
    conf.write_text("num_logs = 5\n")
    good = AuditdConf({"num_logs": 5}, str(conf))
    up = {"pid": 4242, "loginuid_immutable": 0, "available": True}
    rep = host_report(FakeModule({"auditd": "/sbin/auditd"}), "/sbin/auditctl", up, good)
    assert (rep["ready"], rep["auditd_pid"], rep["auditd_running"], rep["enabled_at_boot"]) == (True, 4242, True, True)
    assert rep["loginuid_immutable"] is False
    assert host_report(FakeModule({"auditd": "/sbin/auditd"}), "/sbin/auditctl", dict(up, pid=0), good)["ready"] is False
    assert host_report(FakeModule({}), "/sbin/auditctl", up, good)["ready"] is False
    assert host_report(FakeModule({"auditd": "/sbin/auditd"}), "/sbin/auditctl", up,
                       AuditdConf({"num_logs": 6}, str(conf)))["ready"] is False
    none = host_report(FakeModule({}), None, None, good)
    assert (none["auditctl_found"], none["auditd_pid"], none["auditd_running"], none["ready"],
            none["loginuid_immutable"]) == (False, 0, False, False, None)
    assert conf.read_text() == "num_logs = 5\n"
