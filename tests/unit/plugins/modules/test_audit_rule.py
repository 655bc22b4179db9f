"""The audit_rule module on the real auditd of this machine.

Each test runs the module for real (its main(), as Ansible would; see test_audit_rule_harness)
against /etc/audit/rules.d, augenrules and the kernel, under the machine-wide test lock, and the
`host` fixture puts rules.d, /etc/audit/audit.rules(.prev) and `auditctl -l` back exactly as
they were. Only the outside world is replaced where the machine cannot show it (an immutable
kernel, a kernel without 32-bit programs); those tests say so.
"""
import os
import shutil
import signal
import subprocess
import time

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _rulehost, _ruleset
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import parse_events
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import validate_rules
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import HostArch
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_line
from tests.lib import liveaudit
from tests.unit.plugins.modules.test_audit_rule_harness import (
    AUDITCTL, RULES_DIR, HostState, auditctl_list, needs_ansible, needs_audit, run_module,
    run_module_subprocess)

pytestmark = [needs_ansible, needs_audit]


HEADER = "## Managed by auditfleet.auditd (audit_rule name=%s)."


def kill_args(key, **extra):
    args = {"name": "afut-%s" % key.replace("_", "-"),
            "rules": [{"syscalls": ["kill", "tkill", "tgkill"], "key": key},
                      {"path": "/etc/passwd", "permissions": "wa", "key": key}]}
    args.update(extra)
    return args


def listings(result):
    """The canonical (auditctl -l) form of the rules a result declares."""
    host = HostArch()
    return [parse_rule_line(line, host).listing() for line in result["rules"]]


def ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


# ---- first run, second run, check mode, diff ------------------------------------------------

def test_first_run_changes_second_run_does_not(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    started = time.time()
    first = ok(run_module(args))
    first_s = time.time() - started
    path = first["path"]
    assert path == os.path.join(RULES_DIR, "50-%s.rules" % args["name"])
    assert first["changed"] is True and first["loaded"] is True and first["missing"] == []
    assert first["drift"] is False and first["rolled_back"] is False
    assert first["load_method"] == "augenrules" and first["kernel_audit"] is True
    assert first["rules"] == ["-a always,exit -F arch=b64 -S kill,tkill,tgkill -F key=%s" % key,
                              "-a always,exit -F arch=b32 -S kill,tkill,tgkill -F key=%s" % key,
                              "-w /etc/passwd -p wa -k %s" % key]
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines[0].startswith(HEADER % args["name"]) and lines[1:] == first["rules"]
    st = os.stat(path)
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 0, 0)
    kernel = auditctl_list()
    assert all(line in kernel for line in listings(first))
    state = HostState()

    started = time.time()
    second = ok(run_module(args))
    second_s = time.time() - started
    assert second["changed"] is False and second["loaded"] is True and second["drift"] is False
    assert second["load_method"] is None
    assert HostState() == state
    print("first run %.3f s, second run %.3f s" % (first_s, second_s))


def test_check_mode_reports_the_change_and_touches_nothing(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    res = ok(run_module(args, check_mode=True, diff=True))
    assert res["changed"] is True and res["load_method"] == "augenrules"
    assert res["loaded"] is False and res["missing"] == listings(res)
    assert HostState() == host
    file_diff, kernel_diff = res["diff"]
    assert file_diff["before"] == "" and file_diff["after"].splitlines()[1:] == res["rules"]
    assert kernel_diff["after_header"].endswith("predicted")
    assert [line for line in kernel_diff["after"].splitlines() if key in line] == listings(res)

    ok(run_module(args))
    installed = HostState()
    assert ok(run_module(args, check_mode=True))["changed"] is False
    changed = dict(args, rules=args["rules"][:1])
    res = ok(run_module(changed, check_mode=True, diff=True))
    assert res["changed"] is True
    assert HostState() == installed
    assert "/etc/passwd" in res["diff"][1]["before"] and "/etc/passwd" not in res["diff"][1]["after"]


def test_an_absent_set_in_an_empty_or_missing_directory_is_no_change(tmp_path):
    res = ok(run_module({"name": "afar-x", "state": "absent", "rules_dir": str(tmp_path)},
                        check_mode=True))
    assert res["changed"] is False and os.listdir(str(tmp_path)) == []
    res = ok(run_module({"name": "afar-x", "state": "absent", "rules_dir": str(tmp_path / "none")}))
    assert res["changed"] is False and not (tmp_path / "none").exists()
    res = run_module({"name": "afar-x", "rules_dir": str(tmp_path / "none"), "reload": False,
                      "rules": [{"path": "/etc/passwd"}]})
    assert res["failed"] is True and "does not exist" in res["msg"]


def test_diff_has_the_file_and_the_kernel_list_before_and_after(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    res = ok(run_module(args, diff=True))
    file_diff, kernel_diff = res["diff"]
    assert file_diff["before_header"] == res["path"] and file_diff["before"] == ""
    assert file_diff["after"].splitlines()[1:] == res["rules"]
    assert key not in kernel_diff["before"]
    assert [line for line in kernel_diff["after"].splitlines() if key in line] == listings(res)

    smaller = dict(args, rules=args["rules"][1:])
    res = ok(run_module(smaller, diff=True))
    file_diff, kernel_diff = res["diff"]
    assert "-S kill,tkill,tgkill" in file_diff["before"] and "-S kill" not in file_diff["after"]
    assert "-S kill,tkill,tgkill" in kernel_diff["before"] and "-S kill" not in kernel_diff["after"]
    assert "-w /etc/passwd -p wa -k %s" % key in kernel_diff["after"]


# ---- proof: in the kernel, and it fires ------------------------------------------------------

def test_the_rule_is_in_the_kernel_and_fires(host):
    key = liveaudit.new_key("afar")
    res = ok(run_module({"name": "afar-fires", "rules": [
        {"syscalls": ["kill", "tkill", "tgkill"], "key": key}]}))
    assert res["loaded"] is True
    kernel = auditctl_list()
    assert "-a always,exit -F arch=b64 -S kill,tkill,tgkill -F key=%s" % key in kernel
    tail = liveaudit.LogTail()
    sleeper = subprocess.Popen(["/bin/sleep", "300"])
    try:
        time.sleep(0.2)
        os.kill(sleeper.pid, signal.SIGTERM)
        sleeper.wait()
        data = tail.wait_for(lambda d: key.encode() in d and b"OBJ_PID" in d)
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
    events = list(parse_events(data, keys=[key]))
    hits = [ev for ev in events if ev["syscall"] == "kill" and any(
        r["type"] == "OBJ_PID" and str(r["fields"].get("opid")) == str(sleeper.pid) for r in ev["records"])]
    assert len(hits) == 1, events
    assert hits[0]["keys"] == [key] and hits[0]["success"] is True


# ---- drift, rollback, absent, priority, backup ----------------------------------------------

def test_drift_is_healed(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    ok(run_module(args))
    with open(os.path.join(RULES_DIR, "50-%s.rules" % args["name"]), "rb") as f:
        content = f.read()
    liveaudit.run([AUDITCTL, "-D", "-k", key])
    assert not any(key in line for line in auditctl_list())
    res = ok(run_module(args))
    assert res["changed"] is True and res["drift"] is True and res["loaded"] is True
    assert res["missing"] == [] and res["load_method"] == "augenrules"
    assert all(line in auditctl_list() for line in listings(res))
    with open(res["path"], "rb") as f:
        assert f.read() == content
    again = ok(run_module(args))
    assert again["changed"] is False and again["drift"] is False


def bad_update(args, key):
    """The set plus a rule that passes validation but the kernel rejects (no such directory)."""
    return dict(args, rules=args["rules"] + [
        {"syscalls": ["openat"], "arch": "b64", "fields": ["dir=/nonexistent/afar-dir"], "key": key}])


def test_a_rejected_load_rolls_back_files_and_kernel_exactly(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    ok(run_module(args))
    before = HostState()
    started = time.time()
    res = run_module(bad_update(args, key), diff=True)
    took = time.time() - started
    assert res["failed"] is True and res["rolled_back"] is True and res["loaded"] is False
    assert "No such file or directory" in res["load_error"]
    assert "dir=/nonexistent/afar-dir" in res["load_error"] and "stopped at line" in res["load_error"]
    assert res["missing"] == ["-a always,exit -F arch=b64 -S openat -F dir=/nonexistent/afar-dir -F key=%s" % key]
    assert "rolled_back" in res["msg"] or "put back" in res["msg"]
    after = HostState()
    assert after == before, before.differences(after)
    print("failed load + rollback %.3f s" % took)


def test_a_rejected_new_set_is_removed_again(host):
    key = liveaudit.new_key("afar")
    res = run_module(bad_update({"name": "afar-new", "rules": []}, key))
    assert res["failed"] is True and res["rolled_back"] is True
    assert not os.path.exists(res["path"])
    assert HostState() == host


def test_rollback_restores_a_kernel_list_that_had_drifted(host):
    """The kernel had a rule no file has (added by hand): the rollback's reload would drop it,
    so the module loads the previous list back."""
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    ok(run_module(args))
    liveaudit.run([AUDITCTL, "-a", "always,exit", "-F", "arch=b64", "-S", "ptrace", "-k", key + "h"])
    before = HostState()
    res = run_module(bad_update(args, key))
    assert res["failed"] is True and res["rolled_back"] is True, res.get("rollback_error")
    after = HostState()
    assert after == before, before.differences(after)


def test_state_absent_removes_the_file_and_unloads(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    ok(run_module(args))
    res = ok(run_module({"name": args["name"], "state": "absent"}, diff=True))
    assert res["changed"] is True and res["loaded"] is True and res["load_method"] == "augenrules"
    assert not os.path.exists(res["path"])
    assert not any(key in line for line in auditctl_list())
    assert res["diff"][0]["after"] == "" and key in res["diff"][1]["before"]
    assert key not in res["diff"][1]["after"]
    now = HostState()
    assert (now.files, now.kernel) == (host.files, host.kernel), host.differences(now)
    again = ok(run_module({"name": args["name"], "state": "absent"}))
    assert again["changed"] is False


def test_state_absent_with_the_rules_still_given_unloads_them(host):
    # a playbook often flips state and keeps the rules: absent must not look for them after
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    ok(run_module(args))
    res = ok(run_module(dict(args, state="absent")))
    assert res["changed"] and res["loaded"] and not res["rolled_back"] and res["missing"] == []
    assert not os.path.exists(res["path"])
    assert not any(key in line for line in auditctl_list())


def test_changing_the_priority_moves_the_file(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    ok(run_module(args))
    res = ok(run_module(dict(args, priority=7), diff=True))
    assert res["changed"] is True and res["path"].endswith("/07-%s.rules" % args["name"])
    assert not os.path.exists(os.path.join(RULES_DIR, "50-%s.rules" % args["name"]))
    assert res["loaded"] is True and len(res["diff"]) == 3
    assert ok(run_module(dict(args, priority=7)))["changed"] is False
    ok(run_module({"name": args["name"], "state": "absent"}))
    assert not [n for n in os.listdir(RULES_DIR) if args["name"] in n]


def test_backup_keeps_the_replaced_file(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    ok(run_module(args))
    with open(os.path.join(RULES_DIR, "50-%s.rules" % args["name"]), "rb") as f:
        old = f.read()
    res = ok(run_module(dict(args, rules=args["rules"][:1], backup=True)))
    assert res["backup_file"] and os.path.dirname(res["backup_file"]) == RULES_DIR
    with open(res["backup_file"], "rb") as f:
        assert f.read() == old
    assert not res["backup_file"].endswith(".rules")  # augenrules does not read it


def test_reload_false_only_writes(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key, reload=False)
    res = ok(run_module(args))
    assert res["changed"] is True and res["load_method"] is None
    assert res["loaded"] is False and res["missing"] == listings(res)
    assert os.path.exists(res["path"])
    assert auditctl_list() == host.kernel
    assert ok(run_module(args))["changed"] is False


def test_an_unmanaged_file_of_that_name_is_replaced_with_a_warning(host):
    key = liveaudit.new_key("afar")
    args = kill_args(key)
    path = os.path.join(RULES_DIR, "50-%s.rules" % args["name"])
    with open(path, "w") as f:
        f.write("-w /etc/group -p wa -k %s\n" % key)
    res = ok(run_module(args))
    assert any("was not written by auditfleet.auditd" in w for w in res["warnings"])
    assert res["loaded"] is True


def test_a_rule_another_file_has_is_refused_before_anything_changes(host):
    key = liveaudit.new_key("afar")
    other = os.path.join(RULES_DIR, "99-afar-other-%s.rules" % key.split("_")[1])
    with open(other, "w") as f:
        f.write("-a exit,always -F arch=b64 -S tgkill -S kill -S tkill -k %s\n" % key)
    before = HostState()
    res = run_module(kill_args(key))
    assert res["failed"] is True and other in res["msg"] and "Rule exists" in res["msg"]
    assert HostState() == before


# ---- another rules directory: compiled here, loaded with auditctl -R -------------------------

def test_another_rules_dir_is_compiled_and_loaded_with_auditctl(host, tmp_path):
    key = liveaudit.new_key("afar")
    rules_dir = str(tmp_path)
    args = kill_args(key, rules_dir=rules_dir)
    res = ok(run_module(args))
    assert res["load_method"] == "auditctl" and res["loaded"] is True
    assert all(line in auditctl_list() for line in listings(res))
    # no -D in this directory: the rules dropped from the set are deleted one by one
    res = ok(run_module(dict(args, rules=args["rules"][1:])))
    assert res["loaded"] is True
    kernel = [line for line in auditctl_list() if key in line]
    assert kernel == ["-w /etc/passwd -p wa -k %s" % key]
    res = ok(run_module({"name": args["name"], "state": "absent", "rules_dir": rules_dir}))
    assert res["loaded"] is True and not any(key in line for line in auditctl_list())
    assert HostState().audit_files == host.audit_files  # /etc/audit/audit.rules untouched


# ---- the kernel cannot be used: no audit, immutable ------------------------------------------

@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare is not installed")
def test_without_kernel_audit_the_file_is_written_and_the_task_does_not_fail(host, tmp_path):
    """In a user namespace auditctl cannot reach kernel audit (as in a container)."""
    key = liveaudit.new_key("afar")
    res = run_module_subprocess(kill_args(key, rules_dir=str(tmp_path)), prefix=["unshare", "-U", "-r"])
    assert not res.get("failed"), res
    if res["kernel_audit"]:
        pytest.skip("kernel audit works inside a user namespace here")
    assert res["kernel_audit"] is False and "not available" in res["kernel_audit_message"]
    assert res["changed"] is True and res["loaded"] is False and res["load_method"] is None
    assert res["missing"] == listings(res)
    assert os.path.exists(res["path"])
    assert any("not available" in str(w) for w in res["warnings"])
    assert auditctl_list() == host.kernel


def test_immutable_rules_write_the_file_load_nothing_and_ask_for_a_reboot(host, tmp_path, monkeypatch):
    real = _ruleset.get_status

    def immutable_status(module, auditctl=None):
        return dict(real(module, auditctl), enabled=2, immutable=True)

    monkeypatch.setattr(_ruleset, "get_status", immutable_status)
    key = liveaudit.new_key("afar")
    args = kill_args(key, rules_dir=str(tmp_path))
    res = ok(run_module(args))
    assert res["changed"] is True and res["reboot_required"] is True
    assert res["pending"] == listings(res) and res["load_method"] is None and res["loaded"] is False
    assert any("immutable" in w and "next boot" in w for w in res["warnings"])
    assert os.path.exists(res["path"]) and auditctl_list() == host.kernel
    again = ok(run_module(args))
    assert again["changed"] is False and again["reboot_required"] is True  # still pending
    monkeypatch.setattr(_ruleset, "get_status", real)
    loaded = ok(run_module(args))
    assert loaded["drift"] is True and loaded["loaded"] is True
    monkeypatch.setattr(_ruleset, "get_status", immutable_status)
    done = ok(run_module(args))
    assert done["changed"] is False and done["reboot_required"] is False and done["pending"] == []
    gone = ok(run_module({"name": args["name"], "state": "absent", "rules_dir": str(tmp_path)}))
    assert gone["changed"] is True and gone["reboot_required"] is True
    assert sorted(gone["pending"]) == sorted(listings(loaded))


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86_64 kernel config names")
def test_b32_is_refused_on_a_kernel_without_32bit_programs(host, tmp_path, monkeypatch):
    monkeypatch.setattr(_rulehost, "read_kernel_config", lambda release=None: "# CONFIG_IA32_EMULATION is not set\n")
    key = liveaudit.new_key("afar")
    res = run_module({"name": "afar-b32", "rules_dir": str(tmp_path), "reload": False,
                      "rules": [{"syscalls": ["kill"], "arch": "b32", "key": key}]})
    assert res["failed"] is True and "does not run 32-bit programs" in res["msg"]
    assert "rules[0] (key '%s'): arch b32" % key in res["msg"]
    res = ok(run_module({"name": "afar-b32", "rules_dir": str(tmp_path), "reload": False,
                         "rules": [{"syscalls": ["kill"], "key": key}]}))
    assert res["rules"] == ["-a always,exit -F arch=b64 -S kill -F key=%s" % key]


# ---- the host lock ---------------------------------------------------------------------------

def test_two_runs_on_one_host_do_not_interleave(host, tmp_path):
    args = {"name": "afar-lock", "rules_dir": str(tmp_path), "reload": False,
            "rules": [{"path": "/etc/passwd", "permissions": "wa"}]}
    with _ruleset.HostLock():
        proc = run_module_subprocess(args, cwd="/")
        time.sleep(2.0)
        waiting = proc.poll() is None and os.listdir(str(tmp_path)) == []
    out, err = proc.communicate(timeout=60)
    assert waiting, "the second run did not wait for the lock: %s %s" % (out, err)
    assert '"changed": true' in out and os.listdir(str(tmp_path)) == ["50-afar-lock.rules"]


def test_validation_happens_before_the_lock_and_the_host(tmp_path):
    """A bad rule fails at once even while another run holds the lock."""
    with _ruleset.HostLock():
        res = run_module({"name": "afar-x", "rules_dir": str(tmp_path),
                          "rules": [{"syscalls": ["nosuchcall"], "key": "k"}]})
    assert res["failed"] is True and "'nosuchcall'" in res["msg"]


def test_declared_rules_validate_the_same_here_as_in_the_model():
    rules = validate_rules([{"syscalls": ["kill"], "key": "k"}], HostArch())
    assert [r.render() for r in rules][0] == "-a always,exit -F arch=b64 -S kill -F key=k"
