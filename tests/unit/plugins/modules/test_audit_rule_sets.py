"""The audit_rule_sets module on the real auditd of this machine.

Each test runs the module for real (its main(), as Ansible would; see test_audit_rule_harness)
against the kernel, under the machine-wide test lock: the `host` fixture puts rules.d,
/etc/audit/audit.rules(.prev), auditd.conf and `auditctl -l` back exactly as they were. Rules use
keys unique to the test; most tests use a temporary rules directory (loaded with auditctl -R, as
the module does for a directory other than /etc/audit/rules.d), one the real one (augenrules).

Loads are counted by wrapping Loader.load (it still runs: nothing is replaced). Only one answer
of the outside world is replaced, where this machine cannot show it: get_bin_path("auditctl")
says "not installed" for when_unavailable=report.
"""
import glob
import os

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _auditctl
from tests.lib import liveaudit
from tests.unit.plugins.modules.test_audit_rule_harness import (
    AUDITCTL, RULES_DIR, HostState, auditctl_list, needs_ansible, needs_audit)
from tests.lib import modulerun

pytestmark = [needs_ansible, needs_audit]

HEADER = "## Managed by auditfleet.auditd (audit_rule name=%s)."


def run_sets(args, check_mode=False, diff=False):
    return modulerun.run_module("audit_rule_sets", args, check_mode=check_mode, diff=diff)


def ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.fixture
def loads(monkeypatch):
    """The Loader.load calls of the test (each still loads for real)."""
    calls = []
    real = _auditctl.Loader.load

    def counting(self, *a, **kw):
        result = real(self, *a, **kw)
        calls.append(result["command"])
        return result

    monkeypatch.setattr(_auditctl.Loader, "load", counting)
    return calls


def two_sets(key):
    return [{"name": "afrs-a-%s" % key[-6:], "priority": 40,
             "rules": [{"syscalls": ["kill", "tkill"], "key": key + "a", "arch": "b64"},
                       {"path": "/etc/passwd", "permissions": "wa", "key": key + "a"}]},
            {"name": "afrs-b-%s" % key[-6:],
             "lines": "-w /etc/group -p wa -k %sb\n-a always,exit -F arch=b64 -S tgkill -F key=%sb\n"
                      % (key, key)}]


def expected_lines(key):
    return ["-a always,exit -F arch=b64 -S kill,tkill -F key=%sa" % key,
            "-w /etc/passwd -p wa -k %sa" % key,
            "-w /etc/group -p wa -k %sb" % key,
            "-a always,exit -F arch=b64 -S tgkill -F key=%sb" % key]


def with_key(key):
    return [line for line in auditctl_list() if key in line]


def files_of(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name)) as f:
            out[name] = f.read()
    return out


# ---- two sets, one load; idempotence; check mode ---------------------------------------------

def test_two_sets_in_one_call_load_once_and_a_second_run_changes_nothing(host, tmp_path, loads):
    key = liveaudit.new_key("afrs")
    sets = two_sets(key)
    args = {"sets": sets, "rules_dir": str(tmp_path)}
    first = ok(run_sets(args))
    assert first["changed"] is True and first["rolled_back"] is False
    assert len(loads) == 1, loads                     # one load for the whole host
    assert first["load_method"] == "auditctl" and first["kernel_audit"] is True
    assert sorted(with_key(key)) == sorted(expected_lines(key))
    a, b = sets[0]["name"], sets[1]["name"]
    assert sorted(first["sets"]) == sorted([a, b])
    for name, path in ((a, "40-%s.rules" % a), (b, "50-%s.rules" % b)):
        r = first["sets"][name]
        assert r["path"] == str(tmp_path / path) and r["loaded"] is True and r["missing"] == []
        assert r["changed"] is True and r["drift"] is False and r["backup_file"] is None
        with open(r["path"]) as f:
            lines = f.read().splitlines()
        assert lines[0].startswith(HEADER % name) and lines[1:] == r["rules"]
        st = os.stat(r["path"])
        assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 0, 0)
    assert first["host"]["auditctl_found"] is True

    state = HostState()
    second = ok(run_sets(args))
    assert second["changed"] is False and len(loads) == 1
    assert all(r["changed"] is False and r["loaded"] is True for r in second["sets"].values())
    assert files_of(str(tmp_path)) == dict((os.path.basename(r["path"]), open(r["path"]).read())
                                           for r in first["sets"].values())
    assert HostState() == state

    gone = ok(run_sets({"sets": [dict(name=s["name"], state="absent") for s in sets],
                        "rules_dir": str(tmp_path)}))
    assert gone["changed"] is True and len(loads) == 2
    assert with_key(key) == [] and os.listdir(str(tmp_path)) == []
    assert sorted(gone["removed_files"]) == sorted(r["path"] for r in first["sets"].values())
    again = ok(run_sets({"sets": [dict(name=s["name"], state="absent") for s in sets],
                         "rules_dir": str(tmp_path)}))
    assert again["changed"] is False and len(loads) == 2


def test_check_mode_changes_nothing_and_predicts_the_real_run(host, tmp_path, loads):
    key = liveaudit.new_key("afrs")
    args = {"sets": two_sets(key), "rules_dir": str(tmp_path)}
    before = HostState()
    kernel_before = auditctl_list()
    check = ok(run_sets(args, check_mode=True, diff=True))
    assert check["changed"] is True and loads == []
    assert HostState() == before and os.listdir(str(tmp_path)) == []
    assert all(r["loaded"] is False and r["changed"] is True for r in check["sets"].values())
    kernel_diff = [d for d in check["diff"] if d["before_header"].startswith("kernel rules")]
    assert len(kernel_diff) == 1 and kernel_diff[0]["before"] == "".join(x + "\n" for x in kernel_before)
    file_diffs = dict((d["after_header"], d["after"]) for d in check["diff"] if d["before_header"].startswith("/"))
    assert sorted(file_diffs) == sorted(r["path"] for r in check["sets"].values())

    real = ok(run_sets(args, diff=True))
    assert kernel_diff[0]["after"] == "".join(x + "\n" for x in auditctl_list())   # predicted = real
    for r in real["sets"].values():
        with open(r["path"]) as f:
            assert f.read() == file_diffs[r["path"]]
    assert check["load_method"] == real["load_method"]
    # check mode on a converged host: nothing to do
    assert ok(run_sets(args, check_mode=True))["changed"] is False


def test_the_real_rules_dir_is_loaded_once_with_augenrules(host, loads):
    key = liveaudit.new_key("afrs")
    sets = two_sets(key)
    first = ok(run_sets({"sets": sets, "rules_dir": RULES_DIR}))
    assert len(loads) == 1 and first["load_method"] == "augenrules"
    assert sorted(with_key(key)) == sorted(expected_lines(key))
    assert ok(run_sets({"sets": sets, "rules_dir": RULES_DIR}))["changed"] is False
    gone = ok(run_sets({"sets": [dict(name=s["name"], state="absent") for s in sets],
                        "rules_dir": RULES_DIR}))
    assert gone["changed"] is True and with_key(key) == [] and len(loads) == 2


# ---- failure: one rollback of everything -------------------------------------------------------

def test_a_rule_the_kernel_rejects_in_one_set_rolls_back_every_file_and_the_kernel(host, tmp_path, loads):
    key = liveaudit.new_key("afrs")
    sets = two_sets(key)
    ok(run_sets({"sets": sets, "rules_dir": str(tmp_path)}))
    files_before, kernel_before = files_of(str(tmp_path)), auditctl_list()
    # set a changes, set b is unchanged, set c is new and holds a rule the kernel refuses
    # (a dir= on a path that does not exist: it passes validation, auditctl -R fails on it)
    sets[0]["rules"].append({"path": "/etc/hosts", "permissions": "wa", "key": key + "a"})
    sets.append({"name": "afrs-c-%s" % key[-6:],
                 "lines": "-a always,exit -F arch=b64 -S openat -F dir=/nonexistent-%s -F key=%sc\n"
                          % (key, key)})
    res = run_sets({"sets": sets, "rules_dir": str(tmp_path)}, diff=True)
    assert res["failed"] is True and res["rolled_back"] is True and "rollback_error" not in res
    assert len(loads) == 3    # the first run, the failed load, the reload of the old files
    assert "sets[2] (%s)" % sets[2]["name"] in res["msg"] and "dir=/nonexistent-" in res["load_error"]
    assert files_of(str(tmp_path)) == files_before        # every file, also the changed set a
    assert auditctl_list() == kernel_before
    assert res["load_output"]["rc"] != 0
    assert res["sets"][sets[2]["name"]]["loaded"] is False


# ---- removing what is not declared ----------------------------------------------------------------

def test_remove_undeclared_removes_and_unloads_other_sets_of_the_collection(host, tmp_path, loads):
    key = liveaudit.new_key("afrs")
    sets = two_sets(key)
    first = ok(run_sets({"sets": sets, "rules_dir": str(tmp_path)}))
    b = sets[1]["name"]
    kept = ok(run_sets({"sets": sets[:1], "rules_dir": str(tmp_path)}))
    assert kept["changed"] is False and kept["removed_sets"] == [] and kept["kept_unmanaged_files"] == []
    assert os.path.exists(first["sets"][b]["path"]) and len(with_key(key + "b")) == 2

    check = ok(run_sets({"sets": sets[:1], "rules_dir": str(tmp_path), "remove_undeclared": True},
                        check_mode=True))
    assert check["changed"] is True and check["removed_sets"] == [b]
    assert os.path.exists(first["sets"][b]["path"]) and len(with_key(key + "b")) == 2
    gone = ok(run_sets({"sets": sets[:1], "rules_dir": str(tmp_path), "remove_undeclared": True}))
    assert gone["changed"] is True and gone["removed_sets"] == [b]
    assert gone["removed_files"] == [first["sets"][b]["path"]] and list(gone["sets"]) == [sets[0]["name"]]
    assert not os.path.exists(first["sets"][b]["path"]) and with_key(key + "b") == []
    assert len(with_key(key + "a")) == 2
    assert ok(run_sets({"sets": sets[:1], "rules_dir": str(tmp_path),
                        "remove_undeclared": True}))["changed"] is False


def test_remove_unmanaged_removes_and_unloads_files_not_written_here(host, tmp_path, loads):
    key = liveaudit.new_key("afrs")
    sets = two_sets(key)[:1]
    hand = tmp_path / "20-by-hand.rules"
    hand.write_text("-w /etc/shadow -p wa -k %sh\n" % key)
    liveaudit.run([AUDITCTL, "-w", "/etc/shadow", "-p", "wa", "-k", key + "h"])
    first = ok(run_sets({"sets": sets, "rules_dir": str(tmp_path)}))
    assert first["kept_unmanaged_files"] == [str(hand)] and hand.exists()
    assert with_key(key + "h") == ["-w /etc/shadow -p wa -k %sh" % key]

    gone = ok(run_sets({"sets": sets, "rules_dir": str(tmp_path), "remove_unmanaged": True}))
    assert gone["changed"] is True and gone["removed_files"] == [str(hand)]
    assert gone["kept_unmanaged_files"] == [] and not hand.exists()
    assert with_key(key + "h") == [] and len(with_key(key + "a")) == 2
    assert any("20-by-hand.rules" in w and "not written by auditfleet.auditd" in w
               for w in gone.get("warnings", []))
    assert ok(run_sets({"sets": sets, "rules_dir": str(tmp_path),
                        "remove_unmanaged": True}))["changed"] is False


# ---- errors name the set, before anything changes -------------------------------------------------

def test_errors_name_the_set_and_nothing_changes(host, tmp_path, loads):
    key = liveaudit.new_key("afrs")
    sets = two_sets(key)
    sets.append({"name": "afrs-bad", "rules": [{"syscalls": ["no_such_syscall"], "key": key}]})
    res = run_sets({"sets": sets, "rules_dir": str(tmp_path)})
    assert res["failed"] is True and res["msg"].startswith("sets[2] (afrs-bad): ")
    assert "no_such_syscall" in res["msg"] and all(e.startswith("sets[2] (afrs-bad): ") for e in res["errors"])
    assert os.listdir(str(tmp_path)) == [] and loads == [] and with_key(key) == []
    assert res["host"]["auditctl_found"] is True and res["host"]["auditd_pid"] > 0   # read-only, filled

    # a rule in two sets: both are named, each with the other's file (auditctl would stop at
    # the second: Rule exists)
    twice = two_sets(key)
    twice[1]["lines"] += "-w /etc/passwd -p wa -k %sa\n" % key
    res = run_sets({"sets": twice, "rules_dir": str(tmp_path)})
    assert res["failed"] is True and "repeats rules of other files" in res["msg"]
    a, b = twice[0]["name"], twice[1]["name"]
    assert res["msg"].startswith("sets[0] (%s): " % a) and "; sets[1] (%s): " % b in res["msg"]
    assert "already in %s" % (tmp_path / ("50-%s.rules" % b)) in res["msg"]
    assert os.listdir(str(tmp_path)) == [] and loads == []

    same = run_sets({"sets": [two_sets(key)[0], two_sets(key)[0]], "rules_dir": str(tmp_path)})
    assert same["failed"] is True and "declared more than once" in same["msg"] and "sets[1]" in same["msg"]

    per_set = run_sets({"sets": [dict(two_sets(key)[0], reload=False)], "rules_dir": str(tmp_path)})
    assert per_set["failed"] is True and "reload" in per_set["msg"]


# ---- auditctl missing: report ----------------------------------------------------------------------

def test_when_unavailable_report_without_auditctl_changes_nothing(host, tmp_path, monkeypatch, loads):
    from ansible.module_utils.basic import AnsibleModule
    real = AnsibleModule.get_bin_path

    def without_auditctl(self, arg, *a, **kw):
        return None if arg == "auditctl" else real(self, arg, *a, **kw)

    monkeypatch.setattr(AnsibleModule, "get_bin_path", without_auditctl)
    key = liveaudit.new_key("afrs")
    before = HostState()
    args = {"sets": two_sets(key), "rules_dir": str(tmp_path), "when_unavailable": "report"}
    res = ok(run_sets(args))
    assert res["changed"] is False and res["sets"] == {} and loads == []
    assert "auditctl is not installed" in res["msg"]
    assert res["host"]["auditctl_found"] is False and res["host"]["ready"] is False
    assert res["host"]["auditd_found"] is True       # the report still looks at the rest
    assert os.listdir(str(tmp_path)) == [] and HostState() == before

    failed = run_sets(dict(args, when_unavailable="fail"))
    assert failed["failed"] is True and "auditctl is not installed" in failed["msg"]
    assert os.listdir(str(tmp_path)) == [] and HostState() == before


# ---- the host report against this machine ---------------------------------------------------------

def _real_auditd_pid():
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/comm" % pid) as f:
                    if f.read().strip() == "auditd":
                        return int(pid)
            except OSError:
                continue
    return 0


def test_the_host_report_tells_this_machine_as_it_is(host, tmp_path):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs here: this test checks the SysV answer (no systemd as PID 1)")
    res = ok(run_sets({"sets": [], "rules_dir": str(tmp_path)}))
    rep = res["host"]
    pid = _real_auditd_pid()
    assert pid != 0, "auditd is not running on this machine"
    assert rep["auditd_pid"] == pid and rep["auditd_running"] is True
    assert rep["auditctl_found"] is True and rep["auditd_found"] is True
    starts = glob.glob("/etc/rc[2345].d/S??auditd")
    stops = glob.glob("/etc/rc[2345].d/K??auditd")
    assert rep["enabled_at_boot"] is (True if starts else False if stops else None)
    with open("/proc/cmdline") as f:
        words = f.read().split()
    audit = [w for w in words if w.startswith("audit=")]
    assert rep["booted_with_audit"] is ({"audit=1": True, "audit=0": False}.get(audit[-1]) if audit else None)
    if rep["booted_with_audit"] is not True:
        assert any("audit=1" in w for w in res["warnings"])
    out = liveaudit.run([AUDITCTL, "-s"]).stdout
    immutable = [line.split()[1] for line in out.splitlines() if line.startswith("loginuid_immutable")]
    assert rep["loginuid_immutable"] is (bool(int(immutable[0])) if immutable else None)
    assert rep["auditd_conf_found"] is True and rep["auditd_conf_matches"] is True
    assert rep["ready"] is (rep["enabled_at_boot"] is not False)
    assert res["changed"] is False and os.listdir(str(tmp_path)) == []


def test_auditd_conf_match_and_differ_on_a_conf_file(tmp_path):
    conf = tmp_path / "auditd.conf"
    conf.write_text("# a comment = no\nlog_file = /var/log/audit/audit.log\nMax_Log_File=8\n"
                    "write_logs = yes\nnum_logs = 4\nnum_logs = 5\n")
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()

    def report(wanted):
        return ok(run_sets({"sets": [], "rules_dir": str(rules_dir), "auditd_conf": wanted,
                            "auditd_conf_path": str(conf)}, check_mode=True))["host"]

    same = report({"max_log_file": 8, "WRITE_LOGS": True, "num_logs": "5"})
    assert same["auditd_conf_found"] is True and same["auditd_conf_matches"] is True
    assert same["auditd_conf_differs"] == {}
    other = report({"max_log_file": 16, "write_logs": False, "space_left": 75})
    assert other["auditd_conf_matches"] is False and other["ready"] is False
    assert other["auditd_conf_differs"] == {"max_log_file": {"have": "8", "want": "16"},
                                            "write_logs": {"have": "yes", "want": "no"},
                                            "space_left": {"have": None, "want": "75"}}
    missing = ok(run_sets({"sets": [], "rules_dir": str(rules_dir), "auditd_conf": {"num_logs": 5},
                           "auditd_conf_path": str(tmp_path / "none.conf")}))["host"]
    assert missing["auditd_conf_found"] is False and missing["auditd_conf_matches"] is False
    bad = run_sets({"sets": [], "rules_dir": str(rules_dir), "auditd_conf": {"num_logs": "5\nx = y"},
                    "auditd_conf_path": str(conf)})
    assert bad["failed"] is True and "auditd_conf.num_logs" in bad["msg"] and "\\n" in bad["msg"]
    assert conf.read_text().endswith("num_logs = 5\n")   # read only


def test_audit_rule_and_audit_rule_sets_agree_on_one_set(host, tmp_path):
    """The same set through both modules: the same file, the same kernel, the same result keys;
    each one's run is the other's second run (changed=0)."""
    key = liveaudit.new_key("afrs")
    one = two_sets(key)[0]
    sets = ok(run_sets({"sets": [one], "rules_dir": str(tmp_path)}))
    files = files_of(str(tmp_path))
    rule = ok(modulerun.run_module("audit_rule", dict(one, rules_dir=str(tmp_path))))
    assert rule["changed"] is False and files_of(str(tmp_path)) == files
    mine = sets["sets"][one["name"]]
    for k in ("path", "rules", "controls", "loaded", "missing", "drift", "reboot_required", "pending",
              "skipped_rules", "preset_file", "backup_file"):
        assert mine[k] == rule[k], k
    gone = ok(modulerun.run_module("audit_rule", {"name": one["name"], "state": "absent",
                                                  "rules_dir": str(tmp_path)}))
    assert gone["changed"] is True and with_key(key) == []
    assert ok(run_sets({"sets": [{"name": one["name"], "state": "absent"}],
                        "rules_dir": str(tmp_path)}))["changed"] is False


def test_a_hostile_set_name_is_shown_escaped_and_refused(tmp_path):
    res = run_sets({"sets": [{"name": "ok-set", "rules": [{"path": "/etc/passwd", "key": "k"}]},
                             {"name": "bad\nname\x1b[31m", "rules": [{"path": "/etc/passwd", "key": "k"}]}],
                    "rules_dir": str(tmp_path)}, check_mode=True)
    assert res["failed"] is True and res["msg"].startswith("sets[1] ('bad\\nname\\x1b[31m'): ")
    assert "\n" not in res["msg"] and "\x1b" not in res["msg"] and os.listdir(str(tmp_path)) == []


def test_the_hosts_auditctl_syscall_table_is_read_once_for_every_set(tmp_path, monkeypatch):
    from ansible_collections.auditfleet.auditd.plugins.module_utils import _ruleset
    calls = []
    real = _ruleset.auditctl_syscalls

    def counting(module, h):
        calls.append(1)
        return real(module, h)

    monkeypatch.setattr(_ruleset, "auditctl_syscalls", counting)
    key = liveaudit.new_key("afrs")
    sets = [dict(s, inapplicable="skip") for s in two_sets(key)]
    res = ok(run_sets({"sets": sets, "rules_dir": str(tmp_path)}, check_mode=True))
    assert res["changed"] is True and len(calls) == 1
