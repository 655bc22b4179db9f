# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host plan: every declared rule set of a host against one snapshot, with no IO at all.

Inputs (read once by the engine; built by hand in tests):
- ``HostDirSnapshot``: every ``*.rules`` file augenrules would read, as bytes, with its mode and
  owner. ``classify`` sorts them into the files of each declared set (the set's file name, or
  ``NN-<name>.rules`` with this collection's header for that name: the same rule as the
  single-set engine's ``_own_files``), the files of sets of this collection that are not
  declared (``NN-<name>.rules`` with the header for ``<name>``), and unmanaged files (the rest).
- ``KernelSnapshot`` and ``RuleSetSpec`` of ``_ruleplan``.

``plan_host`` decides the directory after the run (each declared set's file, undeclared sets
removed when asked, unmanaged files removed only when opted in), then plans every set with
``_ruleplan.plan_rule_set`` against a view of the one snapshot in which every other file already
has its content after the run: duplicates between two declared sets, settings overridden by a
later set and stale rules are judged against the directory as it will be. A removed undeclared
set or unmanaged file is planned as a set with state=absent (its loaded rules are stale). For
one declared set and nothing to remove, the view is exactly the single-set snapshot, so
``plan_host([s])`` decides what ``plan_rule_set(s)`` decides (the tests compare them on every
scenario of test_ruleplan.py).

The ``HostPlan`` combines them: files to write and remove, one load (``load_kind`` of the one
compiled directory), the rules to add and delete when the load is rule by rule, the predicted
kernel, ``reboot_required``/``pending``, the warnings (each once), the files to snapshot for a
rollback, and ``prove``/``outcome`` over one kernel listing, per set.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.auditfleet.auditd.plugins.module_utils._files import show
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError, CanonSet
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruleplan import (
    DirSnapshot, RuleSetSpec, outcome_of, plan_rule_set, predict_kernel, prove_of)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import (
    load_kind, managed_name, render_file, sorted_rule_files, _text)
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_lines

# what a plan unit is: a declared set, a set of this collection that is no longer declared, or
# a file this collection did not write
DECLARED, UNDECLARED, UNMANAGED = "declared", "undeclared", "unmanaged"


def _set_file_pattern(name):
    """NN-<name>.rules, any priority (the single-set engine's pattern for its own files)."""
    return re.compile(r"\A[0-9]{1,2}-%s\.rules\Z" % re.escape(name))


class HostDirSnapshot(object):
    """The rules directory as read once: files {file name: bytes} of every *.rules file augenrules
    would read, modes {file name: (mode, uid, gid)} of them. Its compiled forms are memoised
    once for all the per-set views."""

    def __init__(self, rules_dir, files, modes):
        self.rules_dir = rules_dir
        self.files = dict(files)
        self.modes = dict(modes)
        self._compiled = {}

    def classify(self, specs):
        """(declared {set name: [file names]}, undeclared {set name: [file names]}, unmanaged
        [file names]), each list in augenrules' order. A declared set's file name belongs to it
        whatever it holds (a file not written by us there is replaced, with a warning); another
        NN-<name>.rules belongs to set <name> when its header names <name>. A file whose header
        names a set its file name does not is unmanaged: this collection never writes one."""
        by_file = dict((s.file_name, s.name) for s in specs)
        declared = dict((s.name, []) for s in specs)
        undeclared, unmanaged = {}, []
        for fname in sorted_rule_files(self.files):
            if fname in by_file:
                declared[by_file[fname]].append(fname)
                continue
            header = managed_name(self.files[fname])
            if header is not None and _set_file_pattern(header).match(fname):
                (declared if header in declared else undeclared).setdefault(header, []).append(fname)
            else:
                unmanaged.append(fname)
        return declared, undeclared, unmanaged

    def view(self, own, file_name, after):
        """The DirSnapshot of one set: its files OWN, and every file but those and its FILE_NAME
        with its content AFTER the run ({file name: text}; a file not in it is gone)."""
        others = [(n, after[n]) for n in sorted_rule_files(after) if n not in own and n != file_name]
        return DirSnapshot(self.rules_dir, dict((n, self.files[n]) for n in own),
                           dict((n, self.modes[n]) for n in own if n in self.modes), others,
                           cache=self._compiled)


class HostPlan(object):
    """What one run for the whole host will do (see plan_host); every attribute is set there.

    units: [(kind, label, RuleSetPlan)], declared sets in the order given, then the removed
    undeclared sets (by name), then the removed unmanaged files (labelled by file name: a set
    name never has a dot, so labels never collide)."""

    def __repr__(self):
        return "HostPlan(%s: file_changed=%s need_load=%s load_kind=%s drift=%s reboot_required=%s)" % (
            ", ".join(label for _k, label, _p in self.units), self.file_changed, self.need_load,
            self.load_kind, self.drift, self.reboot_required)

    def plan(self, label):
        for _kind, name, plan in self.units:
            if name == label:
                return plan
        raise KeyError(label)

    def prove(self, kernel_listing, status):
        """{label: (missing, left)} after the one load, from one listing canonicalised once
        (see _ruleplan.prove). Any non-empty value means the load failed and the whole host is
        rolled back."""
        canon = CanonSet(parse_rule_lines(kernel_listing, self.host))
        return dict((label, prove_of(p.spec, canon, status, p.stale_candidates))
                    for _k, label, p in self.units)

    def outcome(self, kernel_listing, status, available):
        """{label: {loaded, missing[, still_loaded]}} against one listing (see _ruleplan.outcome)."""
        canon = CanonSet(parse_rule_lines(kernel_listing, self.host))
        return dict((label, outcome_of(p.spec, canon, status, available, p.stale_candidates))
                    for _k, label, p in self.units)


def _one_flag(specs, attr, given, default):
    """The run-wide reload/check_mode: GIVEN, else what every spec says (they must agree)."""
    if given is not None:
        return given
    values = set(getattr(s, attr) for s in specs)
    if len(values) > 1:
        raise AuditRuleError("internal error: the rule sets disagree on %s; it is one value for "
                             "the whole host" % attr)
    return values.pop() if values else default


def _unique(items, key):
    seen, out = set(), []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def plan_host(specs, directory, kernel, host, remove_undeclared=False, remove_unmanaged=False,
              euid=0, reload=None, check_mode=None, describe=None):
    """The plan of every declared set of a host (SPECS: RuleSetSpec, each name once) against one
    HostDirSnapshot and one KernelSnapshot. remove_undeclared: remove the sets of this collection
    that SPECS do not name; remove_unmanaged: remove every file this collection did not write.
    reload/check_mode: for the whole run (default: what the specs say; they must agree).
    describe: a function {unit label: how errors name it} (e.g. "sets[2] (kill)"); with it,
    every problem of a set is prefixed with its name, even when only one set has one.

    Raises AuditRuleError (nothing has changed yet) with every set's problems at once: the
    problems of plan_rule_set, two specs with one name, or an auditctl -s that did not answer."""
    specs = list(specs)
    names = [s.name for s in specs]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise AuditRuleError("rule set(s) declared more than once: %s" % ", ".join(twice),
                             errors=["rule set %s is declared more than once" % n for n in twice])
    reload = _one_flag(specs, "reload", reload, True)
    check_mode = _one_flag(specs, "check_mode", check_mode, False)
    declared, undeclared, unmanaged = directory.classify(specs)

    # the directory after the run: {file name: text}
    removed = set()
    units = [(DECLARED, s, declared[s.name]) for s in specs]
    if remove_undeclared:
        units += [(UNDECLARED, RuleSetSpec(n, undeclared[n][0], "absent", [], [], reload, check_mode),
                   undeclared[n]) for n in sorted(undeclared)]
    if remove_unmanaged:
        units += [(UNMANAGED, RuleSetSpec(f, f, "absent", [], [], reload, check_mode), [f])
                  for f in unmanaged]
    for _kind, _spec, own in units:
        removed.update(own)
    after = dict((n, _text(c)) for n, c in directory.files.items() if n not in removed)
    for spec in specs:
        if spec.present:
            after[spec.file_name] = render_file(spec.name, spec.rules, spec.controls)

    # every unit against the one snapshot, every other file as it will be
    hp = HostPlan()
    hp.host, hp.rules_dir = host, directory.rules_dir
    hp.units, problems = [], []
    for kind, spec, own in units:
        view = directory.view(own, spec.file_name, after)
        try:
            plan = plan_rule_set(spec, view, kernel, host, euid)
        except AuditRuleError as e:
            problems.append((spec.name, e))
            continue
        if kind == UNMANAGED and managed_name(plan.current) is not None:
            # plan_rule_set warns about files not ours; this one has our header, wrongly named
            plan.warnings.append("%s has the header of rule set %s but not its file name (this "
                                 "collection never wrote it); it is removed as unmanaged"
                                 % (show(plan.path), managed_name(plan.current)))
        hp.units.append((kind, spec.name, plan))
    if problems:
        msgs = _unique([e.msg for _n, e in problems], key=lambda m: m)
        if len(msgs) == 1 and (describe is None or len(problems) > 1):
            raise problems[0][1]      # one problem (or the same one for every set): as is
        label = describe or (lambda n: "rule set %s" % n)
        errors = []
        for name, e in problems:
            errors.extend("%s: %s" % (label(name), x) for x in (e.result.get("errors") or [e.msg]))
        raise AuditRuleError("; ".join("%s: %s" % (label(n), e.msg) for n, e in problems),
                             errors=errors)

    plans = [p for _k, _l, p in hp.units]
    present = [p for p in plans if p.spec.present]
    hp.removed_undeclared = [label for k, label, _p in hp.units if k == UNDECLARED]
    hp.removed_unmanaged = [label for k, label, _p in hp.units if k == UNMANAGED]
    hp.kept_undeclared = [] if remove_undeclared else sorted(undeclared)
    hp.kept_unmanaged = [] if remove_unmanaged else list(unmanaged)

    hp.write = [(p.spec.file_name, p.desired) for p in present if p.file_changed]
    hp.remove = sorted(set(n for p in plans for n in p.to_remove))
    hp.rollback_files = [os.path.join(directory.rules_dir, n) for n in sorted(
        set(n for p in plans for n in p.to_remove) | set(n for n, _c in hp.write))]
    hp.content_changed = any(p.content_changed for p in plans)
    hp.file_changed = any(p.file_changed for p in plans)
    hp.need_load = any(p.need_load for p in plans)
    hp.drift = hp.need_load and not hp.content_changed and any(
        p.missing_before or p.stale_before for p in plans)
    hp.changed = hp.file_changed or hp.need_load
    hp.reboot_required = any(p.reboot_required for p in plans)
    hp.pending = [line for p in plans for line in p.pending]
    hp.warnings = _unique([w for p in plans for w in p.warnings], key=lambda w: w)

    # one load of the one directory after the run
    hp.compiled_after = DirSnapshot(directory.rules_dir, {}, {}, sorted(after.items()),
                                    cache=directory._compiled).compile(None, None)[0]
    hp.load_kind = load_kind(hp.compiled_after)
    declared_rules = [r for p in present for r in p.spec.rules]
    hp.load_add = _unique([r for p in present for r in p.load_add], key=lambda r: r.canon())
    hp.load_delete = _unique([r for p in plans for r in p.stale_before], key=lambda r: r.canon())
    hp.controls_unset = _unique([c for p in present for c in p.missing_before if hasattr(c, "satisfied")],
                                key=lambda c: c.render())
    hp.predicted_kernel = kernel.listing
    if hp.need_load:
        hp.predicted_kernel = predict_kernel(hp.compiled_after, kernel, hp.load_delete,
                                             declared_rules, host)
    return hp
