"""Real rule sets through audit_rule on this machine's auditd, each proven against auditctl.

- Every sample rule file of this host's audit package that holds rules (the module's `preset`
  option reads it on the host: on Debian 12, /usr/share/doc/auditd/examples/rules).
- A large real-world set of several hundred rule lines, composed at test time from what this
  host has (tests/lib/composedrules.py): all the sample files concatenated as a site would, and
  CIS- and community-style rules the project writes itself over this host's setuid programs,
  configuration files, users and groups, some of which the host lacks.

The differential test: auditctl itself loads the same file (`auditctl -D`, then `auditctl -R` on
a copy whose first line is `-c`, so that it goes on past the lines it cannot load here and names
each of them), and the kernel's rule list it leaves is the reference. The module then deploys the
file with inapplicable=skip: the kernel's rule list after it must be exactly the reference (the
same lines, in the same order), the lines the module left out (skipped_rules) exactly the lines
auditctl could not load, a second run changes nothing, and removing the set leaves rules.d and
the kernel exactly as before. Everything runs under the machine-wide test lock (the `host`
fixture), which also puts rules.d, audit.rules and the kernel's list back afterwards.
"""
import os
import re
import tempfile

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils import _presets, _rulehost, _ruleset
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import compile_rules, read_rules_dir
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_lines, rules_from_text
from tests.lib import composedrules, liveaudit
from tests.unit.plugins.modules.test_audit_rule_harness import (
    AUDITCTL, RULES_DIR, HostState, auditctl_list, needs_ansible, needs_audit, run_module)

pytestmark = [needs_ansible, needs_audit]

_LINE_NO = re.compile(r"\bline ([0-9]+)\b")


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def holds_rules(text):
    return any(line.strip().startswith(("-a ", "-w ", "-A ")) for line in text.splitlines())


# The sample files of this host's audit package (name -> path), those that hold rules.
PRESETS = _presets.available()
RULE_PRESETS = sorted(name for name, path in PRESETS.items() if holds_rules(_read(path)))


def auditctl_reference(text):
    """(kernel list, {number: auditctl's message} of the lines auditctl could not load) when
    auditctl loads TEXT (line numbers of TEXT). Leaves the kernel empty; call it holding the test
    lock, and put the host back after it.

    Two ways, which must agree: `auditctl -R` of the whole file with -c as its first line (it
    goes on past the lines it cannot load; it does not name all of them: a line with an unknown
    user fails without a message), and each rule line on its own, in order, on top of the ones
    before (what -R does), which tells exactly which lines fail."""
    fd, tmp = tempfile.mkstemp(suffix=".rules", prefix="afrs-ref-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("-c\n" + text)
        liveaudit.run([AUDITCTL, "-D"])
        liveaudit.run([AUDITCTL, "-R", tmp], check=False)
        whole = auditctl_list()
    finally:
        os.unlink(tmp)
    liveaudit.run([AUDITCTL, "-D"])
    failed = {}
    try:
        for number, line in enumerate(text.split("\n"), 1):
            if line.strip().startswith(("-a ", "-A ", "-w ")):
                res = liveaudit.run([AUDITCTL] + [w for w in line.split(" ") if w], check=False)
                if res.returncode != 0:
                    failed[number] = " ".join(res.stderr.split())
        one_by_one = auditctl_list()
    finally:
        liveaudit.run([AUDITCTL, "-D"])
    assert whole == one_by_one, (whole, one_by_one)
    return whole, failed


def line_numbers(entries):
    """The line numbers named by skipped_rules entries or error strings ('... line N')."""
    out = set()
    for e in entries:
        where = e["where"] if isinstance(e, dict) else e
        m = _LINE_NO.search(where)
        assert m, where
        out.add(int(m.group(1)))
    return out


def rules_d_without_rules():
    """Skip when rules.d loads rules of its own: the reference (auditctl -R of the file alone)
    would then not be what augenrules loads."""
    lines = compile_rules(read_rules_dir(RULES_DIR), RULES_DIR)[0]
    own = parse_rule_lines(lines)
    if own:
        pytest.skip("rules.d of this machine loads rules of its own (%s): the differential test "
                    "needs a rules.d with settings only" % own[0].render())


def ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


def deploy_and_compare(before, args, reference, failed, text_lines):
    """Run the module with ARGS; the kernel must be REFERENCE, skipped_rules the FAILED lines;
    then a second run (changed=0) and removal (host as BEFORE)."""
    first = ok(run_module(args))
    assert first["changed"] is True and first["loaded"] is True and first["missing"] == []
    kernel = auditctl_list()
    assert kernel == reference, "\n".join(
        ["module and auditctl differ:"] + ["- %s" % x for x in reference if x not in kernel]
        + ["+ %s" % x for x in kernel if x not in reference] + ["order: %r" % (kernel,)])
    skipped = line_numbers(first["skipped_rules"])
    assert skipped == set(failed), "skipped %s, auditctl failed on %s" % (
        sorted(skipped), ["%d: %s" % (n, text_lines[n - 1]) for n in sorted(failed)])
    second = ok(run_module(args))
    assert second["changed"] is False and second["loaded"] is True
    assert auditctl_list() == kernel
    gone = ok(run_module({"name": args["name"], "state": "absent"}))
    assert gone["changed"] is True
    assert_as_before(before)
    return first


def assert_as_before(before):
    """rules.d, /etc/audit/audit.rules and the kernel's list are as BEFORE (augenrules keeps
    its previous compiled file as audit.rules.prev, which a load and an unload do change)."""
    now = HostState()
    assert (now.files, now.kernel, now.audit_files["/etc/audit/audit.rules"]) == (
        before.files, before.kernel, before.audit_files["/etc/audit/audit.rules"]), \
        before.differences(now)


@pytest.mark.skipif(not RULE_PRESETS, reason="this host's audit package has no sample rule files "
                    "(searched %s)" % ", ".join(_presets.preset_dirs()))
@pytest.mark.parametrize("name", RULE_PRESETS)
def test_sample_rule_file_deploys_as_auditctl_loads_it(host, name):
    rules_d_without_rules()
    path = PRESETS[name]
    text = _read(path)
    lines = text.split("\n")
    reference, failed = auditctl_reference(text)
    host.restore()
    assert HostState() == host
    refused = rules_from_text(text).errors
    set_name = "afrs-%s" % name
    if refused:
        # only 10-no-audit.rules: its -D is refused (a rule set does not delete the others'
        # rules); the preset fails before anything changes, and its rules deploy without it
        assert all(" -D " in e or e.split(": ", 1)[1].startswith("-D ") for e in refused), refused
        res = run_module({"name": set_name, "preset": name})
        assert res.get("failed") and "-D deletes every loaded rule" in res["msg"], res["msg"]
        assert HostState() == host
        numbers = line_numbers(refused)
        kept = "\n".join(line for n, line in enumerate(lines, 1) if n not in numbers)
        args = {"name": set_name, "lines": kept, "inapplicable": "skip",
                "priority": int(os.path.basename(path).split("-")[0])}
    else:
        args = {"name": set_name, "preset": name, "inapplicable": "skip"}
    if not reference:
        # every rule fails here (22-ignore-chrony: uid=chrony, no such user): the module
        # refuses the set before anything changes, in both modes
        res = run_module(args)
        assert res.get("failed") and "every rule of the set was skipped" in res["msg"], res
        assert line_numbers(res["skipped_rules"]) == set(failed)
        res = run_module(dict(args, inapplicable="fail"))
        assert res.get("failed") and "is not a user name known on this host" in res["msg"]
        assert HostState() == host
        return
    first = deploy_and_compare(host, args, reference, failed, lines)
    if "preset" in args:
        assert first["preset_file"] == path
        assert os.path.basename(first["path"]) == "%s-%s.rules" % (
            os.path.basename(path).split("-")[0], set_name)
    if not failed:
        # nothing is host-specific: the default (inapplicable=fail) loads the same
        ok(run_module(dict(args, inapplicable="fail")))
        assert auditctl_list() == reference
        ok(run_module({"name": set_name, "state": "absent"}))
        assert_as_before(host)
    else:
        # with fail, the lines that cannot apply here fail the set: validation refuses an
        # unknown user; a missing directory is refused by the kernel, and rolled back
        res = run_module(dict(args, inapplicable="fail"))
        assert res.get("failed"), res
        assert_as_before(host)


# auditctl's message for a line it cannot load on this host (the host lacks a directory, a user,
# a group, a syscall), and what the module's reason for leaving it out says then
CANNOT_APPLY_HERE = (
    ("(No such file or directory)", "does not exist on this host"),
    ("Unknown user", "is not a user name known on this host"),
    ("Unknown group", "is not a group name known on this host"),
    ("Syscall name unknown", "syscall"),
)


def test_a_large_composed_rule_set_deploys_with_skip_as_auditctl_loads_it(host):
    """Several hundred rule lines, composed here from what this host has (composedrules): every
    sample file of its audit package, concatenated, and the project's own CIS- and
    community-style rules, some on programs, files, users and syscalls this host lacks."""
    rules_d_without_rules()
    composed = composedrules.compose()
    lines = composed.lines
    assert len(composed.rule_numbers()) >= 400, len(composed.rule_numbers())
    assert composed.rule_numbers("sample"), "no sample rule files of the audit package found"
    # the samples' control lines were left out, as the module requires: to it each is a
    # setting or a refused line, never a rule
    for path, line in composedrules.control_lines():
        parsed = rules_from_text(line)
        assert parsed.items == [] and (parsed.errors or parsed.controls), (path, line)
    assert all(not x.strip() or x.strip().startswith(("#", "-a ", "-w ")) for x in lines)

    # As it is, the module refuses the set before anything changes, naming each line it
    # refuses: the mistakes, and the rules given twice (the samples repeat each other).
    res = run_module({"name": "afrs-composed", "lines": composed.text, "inapplicable": "skip"})
    assert res.get("failed") is True
    assert HostState() == host
    refused = line_numbers(res["errors"])
    repeated = line_numbers(e for e in res["errors"] if "it is the same kernel rule as" in e)

    reference, failed = auditctl_reference(composed.text)
    host.restore()
    assert HostState() == host
    # auditctl fails on every line the module refuses: on the repeated ones as existing, on the
    # others as wrong (never as something this host lacks)
    assert refused <= set(failed), ["%d: %s" % (n, lines[n - 1]) for n in sorted(refused - set(failed))]
    assert repeated == set(n for n in refused if failed[n].endswith("(Rule exists)")), \
        ["%d: %s: %s" % (n, lines[n - 1], failed[n]) for n in sorted(refused)]
    assert not [n for n in refused for message, dummy in CANNOT_APPLY_HERE if message in failed[n]]

    # Without them (each made a comment: the numbering stays), with inapplicable=skip: the kernel
    # has exactly what auditctl loaded, the rules left out are exactly the other lines auditctl
    # failed on, a second run changes nothing, and removal puts the host back.
    kept = "\n".join("# (refused by the module)" if n in refused else line
                     for n, line in enumerate(lines, 1))
    here = dict((n, m) for n, m in failed.items() if n not in refused)
    first = deploy_and_compare(host, {"name": "afrs-composed", "lines": kept, "inapplicable": "skip"},
                               reference, here, lines)
    # and each was left out for the reason auditctl gives
    for entry in first["skipped_rules"]:
        n = line_numbers([entry]).pop()
        assert [why for message, why in CANNOT_APPLY_HERE if message in here[n] and why in entry["reason"]], \
            (lines[n - 1], here[n], entry["reason"])

    counts = {}
    for n in composed.rule_numbers():
        kind = composed.origin[n - 1][0]
        what = "refused" if n in refused else "skipped" if n in here else "loaded"
        counts[kind, what] = counts.get((kind, what), 0) + 1
    print("%d rule lines (%d from the %d sample files, %d the project's own): %d kernel rules loaded, "
          "%d lines skipped here, %d refused everywhere (%d rules given twice, %d mistakes); %s"
          % (len(composed.rule_numbers()), len(composed.rule_numbers("sample")),
             len(set(o[1] for o in composed.origin if o[0] == "sample")),
             len(composed.rule_numbers("own")), len(reference), len(here), len(refused),
             len(repeated), len(refused - repeated), sorted(counts.items())))


# ---- the kill rule set: every signal-sending syscall, only what the host has -----------------

SIX = ["kill", "tkill", "tgkill", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo"]


def kill_set(key):
    return {"name": "afrs-kill", "inapplicable": "skip",
            "rules": [{"syscalls": list(SIX), "key": key, "fields": ["pid=%d" % os.getpid()]}]}


def test_the_kill_set_watches_all_six_and_records_pidfd_send_signal(host):
    """All six exist here (kernel 6.18, auditctl 3.0.9, both ABIs): nothing is left out, the
    kernel lists them in number order, and a signal sent through a pidfd is recorded."""
    key = liveaudit.new_key("afrs")
    first = ok(run_module(kill_set(key)))
    assert first["skipped_rules"] == [] and first["loaded"] is True
    ours = [line for line in auditctl_list() if key in line]
    assert ours == ["-a always,exit -F arch=%s -S kill,rt_sigqueueinfo,tkill,tgkill,rt_tgsigqueueinfo,"
                    "pidfd_send_signal -F pid=%d -F key=%s" % (arch, os.getpid(), key)
                    for arch in ("b64", "b32")]
    if not hasattr(os, "pidfd_open"):
        pytest.skip("this Python has no os.pidfd_open (3.9+) to send a signal through a pidfd")
    import signal
    import subprocess
    import time
    tail = liveaudit.LogTail()
    child = subprocess.Popen(["sleep", "60"])
    try:
        fd = os.pidfd_open(child.pid)
        try:
            signal.pidfd_send_signal(fd, signal.SIGTERM)
        finally:
            os.close(fd)
        child.wait(10)
        deadline = time.time() + 20
        while time.time() < deadline:
            text = tail.read().decode("utf-8", "replace")
            hits = [line for line in text.splitlines()
                    if 'key="%s"' % key in line and " syscall=424 " in line]
            if hits:
                break
            time.sleep(0.2)
        assert hits, "no SYSCALL record of pidfd_send_signal (424) keyed %s" % key
        assert "a1=f " in hits[0], hits[0]       # SIGTERM (15) is the second argument
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert ok(run_module(kill_set(key)))["changed"] is False
    ok(run_module({"name": "afrs-kill", "state": "absent"}))
    assert_as_before(host)


def test_on_an_older_kernel_pidfd_send_signal_is_left_out_with_a_note(host, monkeypatch):
    """This machine described as RHEL 8's kernel (4.18, no sys_pidfd_send_signal in kallsyms):
    the set loads with the five others in both ABIs, and says what it left out and why."""
    monkeypatch.setattr(_rulehost.HostArch, "release", "4.18.0-553.el8_10.x86_64")
    monkeypatch.setattr(_rulehost, "_kallsyms_syscalls", lambda names: set())
    key = liveaudit.new_key("afrs")
    first = ok(run_module(kill_set(key)))
    assert [(s["arch"], s["syscalls"]) for s in first["skipped_rules"]] == [
        ("b64", ["pidfd_send_signal"]), ("b32", ["pidfd_send_signal"])]
    assert "older than Linux 5.1" in first["skipped_rules"][0]["reason"]
    assert any("left out" in w and "pidfd_send_signal" in w for w in first.get("warnings", [])), first.get("warnings")
    ours = [line for line in auditctl_list() if key in line]
    assert ours == ["-a always,exit -F arch=%s -S kill,rt_sigqueueinfo,tkill,tgkill,rt_tgsigqueueinfo "
                    "-F pid=%d -F key=%s" % (arch, os.getpid(), key) for arch in ("b64", "b32")]
    second = ok(run_module(kill_set(key)))
    assert second["changed"] is False and len(second["skipped_rules"]) == 2
    ok(run_module({"name": "afrs-kill", "state": "absent"}))
    assert_as_before(host)


def test_a_syscall_the_hosts_auditctl_does_not_know_is_left_out(host, monkeypatch):
    """An auditctl whose table lacks rt_tgsigqueueinfo (as `ausyscall --dump` would show it)."""
    real = _ruleset.auditctl_syscalls

    def older(module, h):
        tables = real(module, h)
        assert tables and "rt_tgsigqueueinfo" in tables["b64"]   # the real ausyscall was read
        return dict((arch, names - set(["rt_tgsigqueueinfo"])) for arch, names in tables.items())
    monkeypatch.setattr(_ruleset, "auditctl_syscalls", older)
    key = liveaudit.new_key("afrs")
    first = ok(run_module(kill_set(key)))
    assert [s["syscalls"] for s in first["skipped_rules"]] == [["rt_tgsigqueueinfo"]] * 2
    assert all("rt_tgsigqueueinfo" not in line for line in auditctl_list() if key in line)
    ok(run_module({"name": "afrs-kill", "state": "absent"}))
    assert_as_before(host)


def test_controls_in_text_and_option_must_agree_and_refused_lines_change_nothing(host):
    res = run_module({"name": "afrs-ctl", "lines": "-b 8192\n-w /etc/passwd -p wa -k afrs_ctl\n",
                      "controls": {"buffer_size": 16384}})
    assert res.get("failed") and "controls.buffer_size is 16384, but the rule text sets 8192" in res["msg"]
    res = run_module({"name": "afrs-ctl", "lines": "-D\n-w /etc/passwd -p wa -k afrs_ctl\n-i\n"})
    assert res.get("failed") and res["msg"].startswith("lines: 2 problem(s): line 1 (-D): -D deletes")
    assert "line 3 (-i): -i makes auditctl ignore" in res["msg"]
    res = run_module({"name": "afrs-ctl", "lines": "-w /etc/passwd -p wa -k a", "preset": "stig"})
    assert res.get("failed") and "mutually exclusive" in res["msg"]
    assert HostState() == host
    # a setting of the text that agrees with the option and with Debian's audit.rules (-b 8192)
    first = ok(run_module({"name": "afrs-ctl", "lines": "-b 8192\n-w /etc/passwd -p wa -k afrs_ctl\n",
                           "controls": {"buffer_size": 8192}}))
    assert first["controls"] == ["-b 8192"] and first["rules"] == ["-w /etc/passwd -p wa -k afrs_ctl"]
    ok(run_module({"name": "afrs-ctl", "state": "absent"}))
    assert_as_before(host)
