"""audit_rule and the immutable lock (-e 2): the rules are loaded and proven first, the lock
is set on its own afterwards, and a failed load leaves the host unlocked and rolled back.

-e 2 is never set on this machine (only a reboot undoes it), so the outside world is replaced:
the command runner (`_command.run`, through which the module runs every program) is given to
FakeAudit, a small model of auditctl, augenrules and the kernel's audit state. It records
every command the module runs, in order, with the content of each file handed to auditctl -R.
Everything else (validation, the rule files on disk, compiling, proving, the rollback) is the
module's real code, run in this process. The fleet scenario 70-immutable tests the real thing.
"""
import os

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _auditctl, _command, _ruleset
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import HostArch
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import compile_rules
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_line
from tests.unit.plugins.modules.test_audit_rule_harness import needs_ansible, run_module

pytestmark = [needs_ansible]

REJECTED = "dir=/nonexistent"           # the kernel refuses the rule (ENOENT), auditctl says so
DROPPED = "exe=/afar/dropped"           # auditctl exits 0, but the rule is not in the kernel


class FakeAudit(object):
    """auditctl, augenrules and kernel audit state, as far as audit_rule uses them."""

    def __init__(self, rules_dir, audit_rules, lock_fails=False):
        self.rules_dir, self.audit_rules, self.lock_fails = rules_dir, audit_rules, lock_fails
        self.rules = []
        self.status = {"enabled": 1, "failure": 1, "pid": 4242, "rate_limit": 0,
                       "backlog_limit": 8192, "lost": 0, "backlog": 0,
                       "backlog_wait_time": 60000, "backlog_wait_time_actual": 0}
        self.commands = []      # (argv, content of the -R file or None)
        self.host = HostArch()

    # ---- what the module sees --------------------------------------------------------------

    def run(self, argv, data=None, timeout=None):
        assert timeout and timeout > 0, "%s was run without a timeout" % argv
        entry = [list(argv), None]    # the rules a load hands to the kernel, if it is one
        if "-R" in argv:
            with open(argv[argv.index("-R") + 1]) as f:
                entry[1] = f.read()
        self.commands.append(entry)
        tool = os.path.basename(argv[0])
        if tool == "augenrules":
            result = self._augenrules(argv[1:])
            if "--load" in argv:
                with open(self.audit_rules) as f:
                    entry[1] = f.read()
            return result
        assert tool == "auditctl", argv
        return self._auditctl(argv[1:])

    @property
    def locked(self):
        return self.status["enabled"] == 2

    # ---- the model -------------------------------------------------------------------------

    def _augenrules(self, args):
        names = sorted(n for n in os.listdir(self.rules_dir) if n.endswith(".rules"))
        files = []
        for n in names:
            with open(os.path.join(self.rules_dir, n)) as f:
                files.append((n, f.read()))
        lines, _sources = compile_rules(files, self.rules_dir)
        with open(self.audit_rules, "w") as f:
            f.write("\n".join(lines) + "\n")
        if args == ["--load"]:
            return self._auditctl(["-R", self.audit_rules])
        return 0, "", ""

    def _auditctl(self, args):
        if args == ["-s"]:
            return 0, "".join("%s %s\n" % kv for kv in self.status.items()), ""
        if args == ["-l"]:
            return 0, "".join(r + "\n" for r in self.rules) or "No rules\n", ""
        if args == ["-v"]:
            return 0, "auditctl version 3.0.9\n", ""
        if args[0] == "-R":
            return self._file(args[1])
        rc, err = self._one(args)
        return rc, "", err

    def _file(self, path):
        """auditctl -R: line by line, stopping at the first error unless -c came before."""
        go_on, rc, errs = False, 0, []
        with open(path) as f:
            lines = f.read().split("\n")
        for number, line in enumerate(lines, 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words == ["-c"]:
                go_on = True
                continue
            r, err = self._one(words)
            if r != 0:
                errs.append("%sThere was an error in line %d of %s\n" % (err, number, path))
                rc = 1
                if not go_on:
                    break
        return rc, "", "".join(errs)

    def _one(self, words):
        flag = words[0]
        if flag in ("-a", "-A", "-w", "-D", "-d", "-W") and self.locked:
            return 0, "The audit system is in immutable mode, no rule changes allowed\n"
        if flag == "-e":
            if self.locked:
                return 255, "Error sending enable request (Operation not permitted)\n"
            if self.lock_fails and words[1] == "2":
                return 255, "Error sending enable request (Operation not permitted)\n"
            self.status["enabled"] = int(words[1])
            return 0, ""
        if flag in ("-b", "-f", "-r", "--backlog_wait_time"):
            key = {"-b": "backlog_limit", "-f": "failure", "-r": "rate_limit",
                   "--backlog_wait_time": "backlog_wait_time"}[flag]
            self.status[key] = int(words[1])
            return 0, ""
        if flag == "-D":
            self.rules = []
            return 0, ""
        line = " ".join(words)
        if flag in ("-d", "-W"):
            added = "-a" if flag == "-d" else "-w"
            gone = parse_rule_line(" ".join([added] + words[1:]), self.host).canon()
            self.rules = [r for r in self.rules if parse_rule_line(r, self.host).canon() != gone]
            return 0, ""
        if REJECTED in line:
            return 1, "Error sending add rule data request (No such file or directory)\n"
        if DROPPED in line:
            return 0, ""
        listing = parse_rule_line(line, self.host).listing()
        if listing in self.rules:
            return 1, "Error sending add rule data request (Rule exists)\n"
        self.rules.append(listing)
        return 0, ""


def install_fake(fake_class, kind, tmp_path, monkeypatch):
    """FAKE_CLASS behind the module's command runner, for a rules_dir of its own (KIND own_dir:
    rules added one by one with auditctl -R) or for the default directory (default_dir: a -D
    file, so augenrules). The fixtures of the lock and loginuid tests all use it."""
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    audit_rules = str(tmp_path / "audit.rules")
    if kind == "default_dir":
        monkeypatch.setattr(_auditctl, "DEFAULT_RULES_DIR", str(rules_dir))
        for module in (_auditctl, _ruleset):   # the loader and the engine name the boot file
            monkeypatch.setattr(module, "AUDIT_RULES", audit_rules)
        (rules_dir / "10-base.rules").write_text("-D\n")
    audit = fake_class(str(rules_dir), audit_rules)
    monkeypatch.setattr(_command, "run", audit.run)
    audit.kind = kind
    return audit


@pytest.fixture(params=["own_dir", "default_dir"])
def fake(request, tmp_path, monkeypatch):
    """FakeAudit behind the module's command runner, for a rules_dir of its own (rules added
    one by one with auditctl -R) or for the default directory (a -D file: augenrules)."""
    return install_fake(FakeAudit, request.param, tmp_path, monkeypatch)


def rule_set(fake, *extra, **kw):
    args = {"name": "afar-lock", "rules_dir": fake.rules_dir, "priority": 90,
            "controls": {"immutable": True},
            "rules": [{"syscalls": ["kill"], "arch": "b64", "key": "afar_lock"}] + list(extra)}
    args.update(kw)
    return args


def files_of(fake):
    out = {}
    for name in sorted(os.listdir(fake.rules_dir)):
        with open(os.path.join(fake.rules_dir, name)) as f:
            out[name] = f.read()
    return out


def lock_commands(fake):
    """Indexes of the commands that set -e 2, alone or inside a file given to auditctl -R."""
    out = []
    for i, (argv, content) in enumerate(fake.commands):
        if argv[1:] == ["-e", "2"]:
            out.append(i)
        elif content is not None and any(line.split() == ["-e", "2"] for line in content.split("\n")):
            out.append(i)
    return out


def test_the_lock_comes_last_after_the_rules_are_loaded_and_proven(fake):
    res = run_module(rule_set(fake))
    assert not res.get("failed"), res["msg"]
    assert res["loaded"] is True and res["missing"] == [] and fake.locked
    assert res["load_method"] == "auditctl"
    locks = lock_commands(fake)
    assert locks == [len(fake.commands) - 2], fake.commands   # then one auditctl -s
    assert fake.commands[locks[0]][0][1:] == ["-e", "2"]
    loads = [i for i, (argv, content) in enumerate(fake.commands) if "-R" in argv]
    proofs = [i for i, (argv, content) in enumerate(fake.commands) if argv[1:] == ["-l"]]
    assert loads and max(loads) < max(proofs) < locks[0]
    assert "-a always,exit -F arch=b64 -S kill -F key=afar_lock" in fake.rules
    with open(os.path.join(fake.rules_dir, "90-afar-lock.rules")) as f:
        assert f.read().splitlines()[1] == "-e 2"    # the boot still locks, after the rules
    if fake.kind == "default_dir":
        with open(fake.audit_rules) as f:
            assert f.read().rstrip("\n").splitlines()[-1] == "-e 2"


@pytest.mark.parametrize("case", ["rejected_with_continue", "rejected", "dropped"])
def test_a_set_whose_rules_fail_is_rolled_back_and_the_host_is_not_locked(fake, case):
    if case == "rejected_with_continue":
        # -c (continue after errors) in another file: auditctl goes on past the rejected rule
        with open(os.path.join(fake.rules_dir, "20-continue.rules"), "w") as f:
            f.write("-c\n")
    bad = {"syscalls": ["openat"], "arch": "b64", "key": "afar_lock",
           "fields": [(REJECTED if case.startswith("rejected") else DROPPED) + "/x"]}
    files, kernel = files_of(fake), list(fake.rules)
    res = run_module(rule_set(fake, bad), diff=True)
    assert res["failed"] is True and res["rolled_back"] is True, res
    assert not fake.locked and fake.status["enabled"] == 1
    assert lock_commands(fake) == [], fake.commands
    assert files_of(fake) == files and fake.rules == kernel
    assert "rolled_back" in res["msg"] or "put back" in res["msg"]


def test_a_lock_the_kernel_does_not_take_is_rolled_back(fake):
    fake.lock_fails = True
    files, kernel = files_of(fake), list(fake.rules)
    res = run_module(rule_set(fake))
    assert res["failed"] is True and res["rolled_back"] is True
    assert "did not lock the audit configuration" in res["msg"] and "Operation not permitted" in res["msg"]
    assert res["missing"] == ["-e 2"]
    assert files_of(fake) == files and fake.rules == kernel and not fake.locked


def test_the_rollback_never_locks_even_when_the_old_files_did(fake):
    """A lock written earlier with reload=false (never loaded) is not set by the rollback's
    reload of the old files."""
    res = run_module(rule_set(fake, reload=False))
    assert not res.get("failed") and not fake.locked and fake.commands[-1][0][1:] == ["-l"]
    bad = {"syscalls": ["openat"], "arch": "b64", "key": "afar_lock", "fields": [REJECTED + "/x"]}
    files = files_of(fake)
    res = run_module(rule_set(fake, bad, controls={}))
    assert res["failed"] is True and res["rolled_back"] is True
    assert not fake.locked and lock_commands(fake) == [] and files_of(fake) == files


def test_check_mode_predicts_the_lock_and_runs_nothing_that_changes(fake):
    res = run_module(rule_set(fake), check_mode=True, diff=True)
    assert not res.get("failed") and res["changed"] and res["load_method"] == "auditctl"
    assert [argv[1:] for argv, _result in fake.commands] in ([["-s"], ["-l"]], [["-l"], ["-s"]])
    assert not fake.locked and fake.rules == []
