"""The host plan (plugins/module_utils/_hostplan.py): every rule set of a host against one snapshot.

From hand-built snapshots, as test_ruleplan.py: no root, no auditd, no file system
(test_the_host_plan_tests_pass_as_nobody runs them again as uid 65534).

- For one set, plan_host decides what plan_rule_set decides: every scenario of test_ruleplan.py
  is planned both ways and compared, attribute by attribute, with the proof and the outcome.
- For several sets: one write per changed set, one load, one prediction, one proof per set over
  one listing; duplicates and overridden settings between declared sets; a rule moved from one
  set to another; undeclared sets of this collection and unmanaged files, kept by default and
  removed when asked (their loaded rules are stale, a removed -D file changes how the load goes).
"""
import os

import pytest

import test_ruleplan as single
from ansible_collections.auditfleet.auditd.plugins.module_utils import _ruleplan
from ansible_collections.auditfleet.auditd.plugins.module_utils._hostplan import (
    HostDirSnapshot, plan_host)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruleplan import (
    outcome, plan_rule_set, prove)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import (
    LOAD_ALL, LOAD_ALL_UNLOCKED, LOAD_RULE_BY_RULE, render_file)
from tests.lib.asnobody import run_as_nobody, zero_arg_tests

HOST, DIR, UP, BASE = single.HOST, single.DIR, single.UP, single.BASE
KILL, PASSWD = single.KILL, single.PASSWD
SHADOW = {"path": "/etc/shadow", "permissions": "wa", "key": "afpl_sh"}
PTRACE = {"syscalls": ["ptrace"], "key": "afpl_pt"}
rules, listing, spec, kernel = single.rules, single.listing, single.spec, single.kernel


def managed(name, priority, items, controls=None):
    """{file name: bytes} of set NAME as this collection writes it."""
    return {"%02d-%s.rules" % (priority, name): render_file(
        name, rules(*items), single.validate_controls(controls or {})).encode("utf-8")}


def snapshot(*file_dicts, **kw):
    """A HostDirSnapshot of these files (bytes or text), each mode 0640 root:root."""
    files = {}
    for d in file_dicts:
        files.update((n, c if isinstance(c, bytes) else c.encode("utf-8")) for n, c in dict(d).items())
    files.update(kw.get("text", {}))
    return HostDirSnapshot(DIR, files, dict((n, (0o100640, 0, 0)) for n in files))


def base():
    return {BASE[0]: BASE[1]}


def test_this_suite_runs_without_root_where_asked():
    if os.environ.get("AUDITFLEET_PLAN_AS_NOBODY"):
        assert os.geteuid() == 65534


def test_the_host_plan_tests_pass_as_nobody():
    """Every test of this file that takes no arguments, again as uid/gid 65534 (tests/lib/asnobody.py)."""
    if os.geteuid() != 0:
        pytest.skip("not root: this whole run already proves the plan needs no privilege")
    names = zero_arg_tests(globals(), exclude=("test_the_host_plan_tests_pass_as_nobody",
                                               "test_this_suite_runs_without_root_where_asked"))
    got = run_as_nobody(globals(), names)
    assert (got["uid"], got["euid"]) == (65534, 65534)
    assert got["failed"] == [] and got["ran"] == len(names) >= 15, got


# ---- one set: plan_host([s]) is plan_rule_set(s), on every scenario of test_ruleplan.py ----------

PLAN_ATTRS = ("path", "current", "desired", "to_remove", "warnings", "content_changed", "attrs_changed",
              "file_changed", "need_load", "drift", "reboot_required", "pending", "load_kind",
              "compiled_after", "predicted_kernel")
RULE_ATTRS = ("stale_candidates", "missing_before", "stale_before", "load_add", "load_delete")


def shown(items):
    return [x.listing() if hasattr(x, "listing") else x.render() for x in items]


def as_host(d):
    """The HostDirSnapshot of the files a single-set DirSnapshot was built from."""
    files = dict(d.own)
    files.update((n, t.encode("utf-8")) for n, t in d.others)
    modes = dict((n, (0o100640, 0, 0)) for n, _t in d.others)
    modes.update(d.own_modes)
    return HostDirSnapshot(d.rules_dir, files, modes)


def compare_one(s, d, k, host, euid=0):
    """plan_rule_set(s) and plan_host([s]) on the same files: the same plan, or the same error."""
    try:
        p = plan_rule_set(s, d, k, host, euid)
    except AuditRuleError as e:
        with pytest.raises(AuditRuleError) as h:
            plan_host([s], as_host(d), k, host, euid=euid)
        assert (h.value.msg, h.value.result) == (e.msg, e.result)
        raise
    hd = as_host(d)
    declared, undeclared, unmanaged = hd.classify([s])
    assert sorted(declared[s.name]) == sorted(d.own), "the host snapshot sees the set's own files"
    hp = plan_host([s], hd, k, host, euid=euid)
    (kind, label, q), = hp.units
    assert (kind, label) == ("declared", s.name)
    for attr in PLAN_ATTRS:
        assert getattr(q, attr) == getattr(p, attr), attr
    for attr in RULE_ATTRS:
        assert shown(getattr(q, attr)) == shown(getattr(p, attr)), attr
    # the combined decision of one set is the set's own
    assert (hp.file_changed, hp.content_changed, hp.need_load, hp.drift, hp.load_kind, hp.reboot_required) == (
        p.file_changed, p.content_changed, p.need_load, p.drift, p.load_kind, p.reboot_required)
    assert (hp.predicted_kernel, hp.pending, hp.warnings, hp.remove, hp.compiled_after) == (
        p.predicted_kernel, p.pending, p.warnings, p.to_remove, p.compiled_after)
    assert hp.write == ([(s.file_name, p.desired)] if s.present and p.file_changed else [])
    assert shown(hp.load_add) == shown(p.load_add) and shown(hp.load_delete) == shown(p.load_delete)
    for lst in (k.listing, p.predicted_kernel, []):
        assert hp.outcome(lst, k.status, k.available)[s.name] == outcome(
            s, lst, k.status, k.available, p.stale_candidates, host)
        got, want = hp.prove(lst, k.status)[s.name], prove(s, lst, k.status, p.stale_candidates, host)
        assert (shown(got[0]), shown(got[1])) == (shown(want[0]), shown(want[1]))
    return p


def single_set_scenarios():
    """(name, call) of every test of test_ruleplan.py that plans: the zero-argument ones and the
    parametrized ones with each of their parameter sets."""
    skip = ("test_the_plan_tests_pass_as_nobody", "test_this_suite_runs_without_root_where_asked",
            "test_the_directory_is_compiled_once_per_content")     # counts compile_rules itself
    out = [(n, getattr(single, n)) for n in zero_arg_tests(vars(single), exclude=skip)]
    for n, f in sorted(vars(single).items()):
        for mark in getattr(f, "pytestmark", []):
            if n.startswith("test_") and mark.name == "parametrize":
                names = mark.args[0]
                names = [x.strip() for x in names.split(",")] if isinstance(names, str) else list(names)
                # one argument name: each value is the argument (pytest does not unpack it)
                sets = [(v,) for v in mark.args[1]] if len(names) == 1 else mark.args[1]
                out += [("%s%r" % (n, tuple(args)), (lambda f=f, args=args: f(*args)))
                        for args in sets]
    return out


def test_one_set_is_planned_as_plan_rule_set_plans_it_in_every_single_set_scenario():
    compared = []

    def both(s, d, k, host, euid=0):
        compared.append(s.name)
        return compare_one(s, d, k, host, euid)

    scenarios = single_set_scenarios()
    saved = single.plan_rule_set
    single.plan_rule_set = both
    try:
        for _name, call in scenarios:
            call()
    finally:
        single.plan_rule_set = saved
    assert len(scenarios) >= 28 and len(compared) >= 30, (len(scenarios), len(compared))


def test_the_comparison_itself_fails_when_the_host_plan_differs():
    # the equivalence test above must be able to fail: a host plan that drops a warning is caught
    s = spec([KILL])
    d = single.directory({"50-afpl.rules": b"-w /tmp -p w\n"})
    compare_one(s, d, kernel(), HOST)
    real = _ruleplan.plan_rule_set

    def lossy(*a, **kw):
        p = real(*a, **kw)
        p.warnings = []
        return p
    import ansible_collections.auditfleet.auditd.plugins.module_utils._hostplan as hostplan
    hostplan.plan_rule_set = lossy
    try:
        with pytest.raises(AssertionError):
            compare_one(s, d, kernel(), HOST)
    finally:
        hostplan.plan_rule_set = real


# ---- several declared sets -----------------------------------------------------------------------

def two_sets(**kw):
    return [spec([KILL], name="alpha", priority=30, **kw), spec([PASSWD, SHADOW], name="beta", priority=50, **kw)]


def test_two_new_sets_are_written_and_loaded_once_with_the_whole_directory():
    hp = plan_host(two_sets(), snapshot(base()), kernel(), HOST)
    assert [n for n, _c in hp.write] == ["30-alpha.rules", "50-beta.rules"] and hp.remove == []
    assert hp.need_load and not hp.drift and hp.load_kind == LOAD_ALL and hp.changed
    assert hp.predicted_kernel == listing(KILL, PASSWD, SHADOW)      # augenrules' order: 30- then 50-
    assert hp.rollback_files == [DIR + "/30-alpha.rules", DIR + "/50-beta.rules"]
    proof = hp.prove(hp.predicted_kernel, UP)
    assert proof == {"alpha": ([], []), "beta": ([], [])}
    # one listing, per-set answers: beta's shadow watch did not load
    proof = hp.prove(listing(KILL, PASSWD), UP)
    assert proof["alpha"] == ([], []) and shown(proof["beta"][0]) == listing(SHADOW)
    assert hp.outcome(listing(KILL, PASSWD), UP, True) == {
        "alpha": {"missing": [], "loaded": True}, "beta": {"missing": listing(SHADOW), "loaded": False}}


def test_two_sets_in_place_plan_nothing():
    files = snapshot(base(), managed("alpha", 30, [KILL]), managed("beta", 50, [PASSWD, SHADOW]))
    hp = plan_host(two_sets(), files, kernel(listing(KILL, PASSWD, SHADOW)), HOST)
    assert (hp.changed, hp.write, hp.remove, hp.need_load, hp.warnings) == (False, [], [], False, [])
    assert hp.predicted_kernel == listing(KILL, PASSWD, SHADOW)


def test_one_set_changed_one_in_place_is_one_write_and_one_load():
    files = snapshot(base(), managed("alpha", 30, [KILL]), managed("beta", 50, [PASSWD]))
    hp = plan_host(two_sets(), files, kernel(listing(KILL, PASSWD)), HOST)
    assert [n for n, _c in hp.write] == ["50-beta.rules"] and hp.need_load and not hp.drift
    assert not hp.plan("alpha").need_load and hp.plan("beta").need_load
    assert hp.predicted_kernel == listing(KILL, PASSWD, SHADOW)


def test_drift_in_one_set_reloads_the_host_and_says_drift():
    files = snapshot(base(), managed("alpha", 30, [KILL]), managed("beta", 50, [PASSWD, SHADOW]))
    hp = plan_host(two_sets(), files, kernel(listing(KILL, PASSWD)), HOST)
    assert hp.write == [] and hp.need_load and hp.drift and hp.plan("beta").drift and not hp.plan("alpha").drift


def test_a_rule_two_declared_sets_both_hold_stops_the_plan_naming_both():
    sets = [spec([KILL], name="alpha", priority=30), spec([KILL, PASSWD], name="beta", priority=50)]
    with pytest.raises(AuditRuleError) as e:
        plan_host(sets, snapshot(base()), kernel(), HOST)
    errors = e.value.result["errors"]
    # each set names the other's file, for each of KILL's two rules (b64 and b32)
    assert [x.split(": ")[0] for x in errors] == ["rule set alpha"] * 2 + ["rule set beta"] * 2
    assert all(x.endswith("is already in %s/50-beta.rules" % DIR) for x in errors[:2])
    assert all(x.endswith("is already in %s/30-alpha.rules" % DIR) for x in errors[2:])


def test_a_rule_moved_from_one_set_to_another_is_neither_duplicate_nor_stale():
    # alpha had KILL and PASSWD; now PASSWD is beta's. Judged against the directory as it will be,
    # PASSWD stays loaded (no delete, no add); set by set against the disk it would be a duplicate.
    files = snapshot(managed("alpha", 30, [KILL, PASSWD]), managed("beta", 50, [SHADOW]))
    sets = [spec([KILL], name="alpha", priority=30), spec([PASSWD, SHADOW], name="beta", priority=50)]
    k = kernel(listing(KILL, PASSWD, SHADOW))
    hp = plan_host(sets, files, k, HOST)
    assert hp.load_kind == LOAD_RULE_BY_RULE and hp.need_load       # the files change
    assert hp.load_add == [] and hp.load_delete == [] and hp.plan("alpha").stale_candidates == []
    assert sorted(hp.predicted_kernel) == sorted(k.listing)
    with pytest.raises(AuditRuleError):            # what two single-set runs would meet first
        plan_rule_set(sets[1], files.view(["50-beta.rules"], "50-beta.rules",
                                          dict((n, c.decode()) for n, c in files.files.items())),
                      k, HOST)


def test_a_setting_a_later_set_overrides_stops_the_plan():
    sets = [spec([KILL], name="alpha", priority=30, controls={"buffer_size": 16384}),
            spec([PASSWD], name="beta", priority=50, controls={"buffer_size": 320})]
    with pytest.raises(AuditRuleError) as e:
        plan_host(sets, snapshot(), kernel(), HOST)
    assert "controls.buffer_size: -b 16384 in %s/30-alpha.rules" % DIR in e.value.msg
    assert "'-b 320' in %s/50-beta.rules" % DIR in e.value.msg
    # the same value in both is no conflict
    sets[1] = spec([PASSWD], name="beta", priority=50, controls={"buffer_size": 16384})
    hp = plan_host(sets, snapshot(), kernel(), HOST)
    assert shown(hp.controls_unset) == ["-b 16384"] and hp.compiled_after[2] == "-b 16384"


def test_an_absent_set_and_a_present_set_in_one_plan():
    files = snapshot(base(), managed("alpha", 30, [KILL]), managed("beta", 50, [PASSWD]))
    sets = [spec(name="alpha", priority=30, state="absent"), spec([PASSWD, SHADOW], name="beta", priority=50)]
    hp = plan_host(sets, files, kernel(listing(KILL, PASSWD)), HOST)
    assert hp.remove == ["30-alpha.rules"] and [n for n, _c in hp.write] == ["50-beta.rules"]
    assert hp.predicted_kernel == listing(PASSWD, SHADOW)
    assert hp.prove(listing(KILL, PASSWD, SHADOW), UP)["alpha"][1] == rules(KILL)
    assert hp.outcome(listing(PASSWD, SHADOW), UP, True)["alpha"] == {"missing": [], "loaded": True}


def test_kernel_warnings_are_given_once_for_the_host():
    hp = plan_host(two_sets(), snapshot(base()), kernel(enabled=0, pid=0), HOST)
    assert [w.split(" (")[0] for w in hp.warnings] == ["kernel audit is disabled", "auditd is not running"]
    assert len(hp.plan("alpha").warnings) == 2 and len(hp.plan("beta").warnings) == 2


def test_a_status_query_that_timed_out_is_one_error():
    k = kernel(available=False, timed_out=True, message="auditctl -s did not answer in 30 s")
    with pytest.raises(AuditRuleError) as e:
        plan_host(two_sets(), snapshot(base()), k, HOST)
    assert e.value.msg == "auditctl -s did not answer in 30 s; nothing was changed"


def test_immutable_host_one_changed_set_asks_for_a_reboot():
    files = snapshot(base(), managed("alpha", 30, [KILL]))
    k = kernel(listing(KILL), enabled=2, immutable=True)
    hp = plan_host(two_sets(), files, k, HOST)
    assert hp.reboot_required and not hp.need_load and hp.pending == listing(PASSWD, SHADOW)
    assert not hp.plan("alpha").reboot_required and hp.predicted_kernel == listing(KILL)
    assert len(hp.warnings) == 1 and hp.warnings[0].startswith("audit rules are immutable")


def test_a_set_declared_twice_and_sets_that_disagree_on_reload_are_refused():
    with pytest.raises(AuditRuleError) as e:
        plan_host([spec([KILL]), spec([PASSWD])], snapshot(), kernel(), HOST)
    assert e.value.msg == "rule set(s) declared more than once: afpl"
    with pytest.raises(AuditRuleError) as e:
        plan_host([spec([KILL], name="a"), spec([PASSWD], name="b", reload=False)], snapshot(), kernel(), HOST)
    assert "disagree on reload" in e.value.msg


def test_the_directory_is_compiled_once_for_the_whole_host():
    calls = []
    real = _ruleplan.compile_rules
    _ruleplan.compile_rules = lambda files, d: calls.append(1) or real(files, d)
    try:
        files = snapshot(base(), managed("old", 40, [PTRACE]), text={"70-local.rules": b"-w /srv -p w\n"})
        sets = [spec([KILL], name="alpha", priority=30, controls={"rate_limit": 10}),
                spec([PASSWD], name="beta", priority=50, controls={"buffer_size": 16384})]
        plan_host(sets, files, kernel(), HOST, remove_undeclared=True, remove_unmanaged=False)
    finally:
        _ruleplan.compile_rules = real
    assert len(calls) == 1       # two override checks, four plans, the host's load: one directory


# ---- sets no longer declared, files not ours -----------------------------------------------------

def old_and_local():
    """alpha declared; "old" a set of this collection no longer declared; two unmanaged files:
    one without our header, one with a header whose name is not its file's."""
    return snapshot(managed("alpha", 30, [KILL]), managed("old", 40, [PTRACE]),
                    text={"70-local.rules": b"-w /srv -p w -k local\n",
                          "80-copy.rules": render_file("other", rules(SHADOW)).encode()})


def test_classify_sorts_files_into_declared_undeclared_and_unmanaged():
    d = old_and_local()
    declared, undeclared, unmanaged = d.classify([spec([KILL], name="alpha", priority=30)])
    assert declared == {"alpha": ["30-alpha.rules"]} and undeclared == {"old": ["40-old.rules"]}
    assert unmanaged == ["70-local.rules", "80-copy.rules"]
    # a declared set's file name is the set's whatever it holds (replaced with a warning)
    declared, _u, unmanaged = d.classify([spec([SHADOW], name="local", priority=70)])
    assert declared == {"local": ["70-local.rules"]} and "70-local.rules" not in unmanaged


def test_undeclared_sets_and_unmanaged_files_are_kept_by_default():
    k = kernel(listing(KILL, PTRACE) + ["-w /srv -p w -k local"] + listing(SHADOW))
    hp = plan_host([spec([KILL], name="alpha", priority=30)], old_and_local(), k, HOST)
    assert (hp.changed, hp.remove, hp.removed_undeclared, hp.removed_unmanaged) == (False, [], [], [])
    assert hp.kept_undeclared == ["old"] and hp.kept_unmanaged == ["70-local.rules", "80-copy.rules"]


def test_remove_undeclared_removes_the_sets_of_this_collection_and_their_loaded_rules():
    k = kernel(listing(KILL, PTRACE) + ["-w /srv -p w -k local"] + listing(SHADOW))
    hp = plan_host([spec([KILL], name="alpha", priority=30)], old_and_local(), k, HOST, remove_undeclared=True)
    assert hp.remove == ["40-old.rules"] and hp.removed_undeclared == ["old"] and hp.kept_undeclared == []
    assert hp.kept_unmanaged == ["70-local.rules", "80-copy.rules"]
    assert hp.need_load and hp.load_kind == LOAD_RULE_BY_RULE and hp.load_delete == rules(PTRACE)
    assert PTRACE["key"] not in "".join(hp.predicted_kernel) and "-k local" in "".join(hp.predicted_kernel)
    assert hp.warnings == []                     # ours: removed without a warning
    assert hp.prove(k.listing, UP)["old"] == ([], rules(PTRACE))
    assert hp.prove(hp.predicted_kernel, UP) == {"alpha": ([], []), "old": ([], [])}


def test_remove_unmanaged_is_opt_in_and_warns_for_each_file():
    k = kernel(listing(KILL) + ["-w /srv -p w -k local"] + listing(SHADOW))
    hp = plan_host([spec([KILL], name="alpha", priority=30)], old_and_local(), k, HOST, remove_unmanaged=True)
    assert hp.remove == ["70-local.rules", "80-copy.rules"] and hp.kept_undeclared == ["old"]
    assert hp.removed_unmanaged == ["70-local.rules", "80-copy.rules"]
    assert hp.warnings == [
        "%s/70-local.rules was not written by auditfleet.auditd; it is removed" % DIR,
        "%s/80-copy.rules has the header of rule set other but not its file name (this collection "
        "never wrote it); it is removed as unmanaged" % DIR]
    assert hp.predicted_kernel == listing(KILL)
    left = hp.prove(k.listing, UP)
    assert shown(left["70-local.rules"][1]) == ["-w /srv -p w -k local"] and left["80-copy.rules"][1] == rules(SHADOW)


def test_removing_the_unmanaged_file_with_minus_d_changes_how_the_load_goes():
    files = snapshot(base(), managed("alpha", 30, [KILL]))
    k = kernel(listing(KILL))
    assert plan_host([spec([KILL], name="alpha", priority=30)], files, k, HOST).changed is False
    hp = plan_host([spec([KILL], name="alpha", priority=30)], files, k, HOST, remove_unmanaged=True)
    assert hp.remove == [BASE[0]] and hp.need_load and hp.load_kind == LOAD_RULE_BY_RULE
    assert hp.compiled_after[1] == "" and hp.predicted_kernel == listing(KILL)
    # and one with the lock: the rest of the directory loads without it
    files = snapshot(base(), managed("alpha", 30, [KILL]), text={"99-finalize.rules": b"-e 2\n"})
    hp = plan_host([spec([PASSWD], name="alpha", priority=30)], files, kernel(listing(KILL)), HOST)
    assert hp.load_kind == LOAD_ALL_UNLOCKED


def test_a_renamed_set_is_a_duplicate_unless_the_old_name_is_removed():
    # "old" held PTRACE; the same rule is now declared as set "renamed"
    files = snapshot(base(), managed("old", 40, [PTRACE]))
    k = kernel(listing(PTRACE))
    with pytest.raises(AuditRuleError) as e:
        plan_host([spec([PTRACE], name="renamed", priority=45)], files, k, HOST)
    assert "40-old.rules" in e.value.msg
    hp = plan_host([spec([PTRACE], name="renamed", priority=45)], files, k, HOST, remove_undeclared=True)
    assert hp.remove == ["40-old.rules"] and [n for n, _c in hp.write] == ["45-renamed.rules"]
    assert hp.load_delete == [] and hp.load_add == [] and hp.predicted_kernel == listing(PTRACE)


def test_no_declared_set_and_remove_undeclared_removes_all_of_ours():
    files = snapshot(base(), managed("alpha", 30, [KILL]), managed("beta", 50, [PASSWD]))
    hp = plan_host([], files, kernel(listing(KILL, PASSWD)), HOST, remove_undeclared=True, reload=True)
    assert hp.remove == ["30-alpha.rules", "50-beta.rules"] and hp.write == []
    assert hp.load_kind == LOAD_ALL and hp.predicted_kernel == [] and hp.need_load
    assert plan_host([], files, kernel(listing(KILL, PASSWD)), HOST).changed is False


def test_file_names_from_the_disk_are_escaped_in_warnings_and_errors():
    hostile = "70-\x1b[2J\nx.rules"
    files = snapshot(managed("alpha", 30, [KILL]), text={hostile: b"-w /srv -p w\n"})
    hp = plan_host([spec([KILL], name="alpha", priority=30)], files, kernel(listing(KILL)), HOST,
                   remove_unmanaged=True)
    assert hp.removed_unmanaged == [hostile] and hp.warnings == [
        "%r was not written by auditfleet.auditd; it is removed" % (DIR + "/" + hostile)]
    assert all(w.isprintable() for w in hp.warnings)
    copied = render_file("other", rules(SHADOW)).encode()
    files = snapshot(text={hostile: copied})
    hp = plan_host([], files, kernel(), HOST, remove_unmanaged=True)
    assert len(hp.warnings) == 1 and "\x1b" not in hp.warnings[0] and "\\x1b" in hp.warnings[0]
    files = snapshot(text={hostile: b"-w /srv -p w\n"})
    with pytest.raises(AuditRuleError) as e:
        plan_host([spec([{"path": "/srv", "permissions": "w"}], name="alpha")], files, kernel(), HOST)
    assert e.value.msg.isprintable() and repr(DIR + "/" + hostile) in e.value.msg
