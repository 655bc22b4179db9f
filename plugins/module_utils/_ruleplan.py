# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rule-set plan: what a run will do, decided from snapshots, with no IO at all.

Inputs (read once by ``_ruleset``, the engine; built by hand in tests):
- ``DirSnapshot``: the rules directory as augenrules would read it - this set's own files
  (bytes and mode/owner) and every other ``*.rules`` file (text). Compiled at most once per
  distinct content (memoised).
- ``KernelSnapshot``: ``auditctl -s`` (the status dict of ``_auditctl.get_status``) and
  ``auditctl -l`` (its lines), parsed into canonical form once.
- ``RuleSetSpec``: the declared set (name, file, state, rules, controls, reload, check mode).

``plan_rule_set`` returns a ``RuleSetPlan``: the file to write and the files to remove, their
content, the set's stale rules, whether to load and how (``load_kind``), drift, the predicted
kernel, ``reboot_required``/``pending`` and the warnings. It raises ``AuditRuleError`` for what
must stop the run before anything changes (duplicate rules, overridden settings, an
``auditctl -s`` that timed out, a --loginuid-immutable that ``auditctl -s`` cannot prove). The
engine then applies the plan (write, load, prove, roll back); ``outcome`` gives ``loaded``/``missing``/``still_loaded`` from any kernel listing.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.auditfleet.auditd.plugins.module_utils._files import show
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecontrols import control_overrides, irreversible_of
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError, CanonSet
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import (
    FILE_MODE, LOAD_RULE_BY_RULE, compile_rules, load_kind, managed_name,
    render_file, sorted_rule_files, _text)
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import parse_rule_line, parse_rule_lines


class DirSnapshot(object):
    """The rules directory as read once: own {file name: bytes}, own_modes {file name: (mode,
    uid, gid)} of this set's files, and others [(file name, text)] of every other *.rules file
    augenrules would read (in its order). cache: a dict of compiled directories to share with
    other snapshots of the same directory (the host plan's per-set views share one)."""

    def __init__(self, rules_dir, own, own_modes, others, cache=None):
        self.rules_dir = rules_dir
        self.own = dict(own)
        self.own_modes = dict(own_modes)
        self.others = list(others)
        self._compiled = {} if cache is None else cache

    def files_with(self, name, text):
        """[(file name, text)] of the directory with this set's files replaced by NAME holding
        TEXT (None: the set has no file), in augenrules' order."""
        files = dict(self.others)
        if text is not None:
            files[name] = text
        return [(n, files[n]) for n in sorted_rule_files(files)]

    def compile(self, name, text):
        """(lines, origins) of the directory with the set's file NAME holding TEXT (memoised by
        the directory's whole content, so views that give the same directory share it)."""
        files = tuple(self.files_with(name, text))
        if files not in self._compiled:
            self._compiled[files] = compile_rules(list(files), self.rules_dir)
        return self._compiled[files]


class KernelSnapshot(object):
    """The kernel as read once: status (get_status's dict) and listing (auditctl -l lines,
    [] when kernel audit is not available)."""

    def __init__(self, status, listing):
        self.status = status
        self.listing = list(listing)
        self._canon = None

    @property
    def available(self):
        return bool(self.status.get("available"))

    @property
    def immutable(self):
        return bool(self.status.get("immutable"))

    def canon(self, host):
        if self._canon is None:
            self._canon = CanonSet(parse_rule_lines(self.listing, host))
        return self._canon


class RuleSetSpec(object):
    """One declared rule set, validated (rules are Rule objects, controls Control objects)."""

    def __init__(self, name, file_name, state, rules, controls=(), reload=True, check_mode=False):
        self.name = name
        self.file_name = file_name
        self.state = state
        self.rules = list(rules)
        self.controls = list(controls)
        self.reload = reload
        self.check_mode = check_mode

    @property
    def present(self):
        return self.state == "present"


class RuleSetPlan(object):
    """What a run will do (see plan_rule_set); every attribute is set there."""

    def __repr__(self):
        return "RuleSetPlan(%s: file_changed=%s need_load=%s load_kind=%s drift=%s reboot_required=%s)" % (
            self.spec.name, self.file_changed, self.need_load, self.load_kind, self.drift,
            self.reboot_required)


def plan_rule_set(spec, directory, kernel, host, euid=0):
    """The plan of one rule set against one snapshot of the directory and of the kernel.

    Raises AuditRuleError (nothing has changed yet) when the set repeats rules of other files,
    when a later file overrides one of its settings, or when auditctl -s did not answer."""
    p = RuleSetPlan()
    p.spec = spec
    p.warnings = []
    own = directory.own
    present = spec.present
    path = os.path.join(directory.rules_dir, spec.file_name)
    p.path = path
    p.current = own.get(spec.file_name)
    p.desired = render_file(spec.name, spec.rules, spec.controls).encode("utf-8") if present else None
    p.to_remove = sorted(n for n in own if n != spec.file_name or not present)
    if p.current is not None and managed_name(p.current) is None:
        p.warnings.append("%s was not written by auditfleet.auditd; it is %s"
                          % (show(path), "replaced" if present else "removed"))

    # rules of every other file in rules_dir: a duplicate there makes auditctl stop
    other_canon = {}
    for fname, text in directory.others:
        for rule in parse_rule_lines(text.split("\n"), host):
            other_canon.setdefault(rule.canon(), fname)
    if present:
        dups = [(r, other_canon[r.canon()]) for r in spec.rules if r.canon() in other_canon]
        if dups:
            problems = ["%s is already in %s" % (r.listing(), show(os.path.join(directory.rules_dir, f)))
                        for r, f in dups]
            raise AuditRuleError(
                "the rule set repeats rules of other files, which auditctl refuses (Rule "
                "exists) and which would stop every later rule from loading: %s"
                % "; ".join(problems), errors=problems)

    after_text = _text(p.desired) if present else None
    if present and spec.controls:
        lines, origins = directory.compile(spec.file_name, after_text)
        problems = control_overrides(spec.controls, lines, origins, spec.file_name,
                                     directory.rules_dir)
        if problems:
            raise AuditRuleError("; ".join(problems), errors=problems)

    old_rules = []
    for fname in sorted(own):
        old_rules.extend(parse_rule_lines(_text(own[fname]).split("\n"), host))
    # state=absent: the rules given with it are to be unloaded too, like those of its files
    declared_canon = set(r.canon() for r in spec.rules) if present else set()
    candidates = old_rules if present else old_rules + list(spec.rules)
    seen = set()
    p.stale_candidates = []
    for r in candidates:
        c = r.canon()
        if c not in declared_canon and c not in other_canon and c not in seen:
            seen.add(c)
            p.stale_candidates.append(r)

    p.content_changed = (present and p.current != p.desired) or bool(p.to_remove)
    p.attrs_changed = False
    if present and p.current is not None and p.current == p.desired:
        mode, uid, gid = directory.own_modes[spec.file_name]
        p.attrs_changed = (mode & 0o7777) != FILE_MODE or (euid == 0 and (uid, gid) != (0, 0))
    p.file_changed = p.content_changed or p.attrs_changed

    # the kernel
    status = kernel.status
    if status.get("timed_out"):
        raise AuditRuleError("%s; nothing was changed" % status["message"])
    available, immutable = kernel.available, kernel.immutable
    kernel_canon = kernel.canon(host)
    missing_rules = [r for r in spec.rules if r.canon() not in kernel_canon] if present else []
    p.missing_before = list(missing_rules)
    if available:
        p.missing_before += [c for c in spec.controls if not c.satisfied(status)]
    p.stale_before = [r for r in p.stale_candidates if r.canon() in kernel_canon]
    if available and status.get("enabled") == 0:
        p.warnings.append("kernel audit is disabled (auditctl -s: enabled 0): rules are "
                          "loaded but nothing is audited until it is enabled")
    if available and status.get("pid") == 0:
        p.warnings.append("auditd is not running (auditctl -s: pid 0): events go to the "
                          "kernel log only")

    unproven = [c for c in spec.controls if c.irreversible and c.status_key not in status]
    if available and unproven:
        problems = ["controls.%s: auditctl -s on this host does not report %s (the kernel or auditctl "
                    "predates the audit features API), so %s could not be proven; nothing was changed"
                    % (c.option, c.status_key, c.render()) for c in unproven]
        raise AuditRuleError("; ".join(problems), errors=problems)
    # login uids made immutable by a file of the set that no longer asks for it stay so
    p.kept_until_boot = []
    if available and status.get("loginuid_immutable") == 1:
        before = set(c.option for n in own for c in map(irreversible_of, _text(own[n]).split("\n")) if c)
        after = set(c.option for c in spec.controls) if present else set()
        if "loginuid_immutable" in before - after and p.content_changed:
            p.kept_until_boot.append("loginuid_immutable")
            p.warnings.append(
                "login uids stay immutable until the next boot (auditctl -s: loginuid_immutable 1): "
                "%s no longer says --loginuid-immutable, but nothing undoes it but a reboot"
                % ("the rule set" if present else "the removed rule set"))

    can_load = spec.reload and available and not immutable
    p.need_load = bool(can_load and (p.content_changed or p.missing_before or p.stale_before))
    p.drift = p.need_load and not p.content_changed and bool(p.missing_before or p.stale_before)

    p.reboot_required, p.pending = bool(p.kept_until_boot), []
    if immutable:
        pending = p.missing_before if present else p.stale_before
        p.reboot_required = bool(pending) or p.content_changed or p.reboot_required
        p.pending = [r.listing() for r in pending]
        if p.reboot_required:
            p.warnings.append(
                "audit rules are immutable (auditctl -s: enabled 2): %s; nothing was loaded, "
                "the change applies at the next boot (reboot to load it)"
                % ("the rule file was written" if p.content_changed and not spec.check_mode
                   else "the rule file would be written" if p.content_changed
                   else "the rule file is already in place"))
    if not available:
        p.warnings.append("%s; the rule file %s but nothing is loaded" % (
            status["message"], "would be written" if spec.check_mode else "is written"))

    # how the load would go, and what the kernel would then list
    p.compiled_after = directory.compile(spec.file_name, after_text)[0]
    p.load_kind = load_kind(p.compiled_after)
    p.load_add = missing_rules
    p.load_delete = p.stale_before
    p.predicted_kernel = kernel.listing
    if p.need_load:
        p.predicted_kernel = predict_kernel(p.compiled_after, kernel, p.stale_before,
                                            spec.rules if present else [], host)
    return p


def predict_kernel(compiled, kernel, stale, declared, host):
    """The kernel list a load would give: the compiled directory when it starts with -D
    (replaces everything), else the current list plus what is new, minus what goes."""
    if load_kind(compiled) != LOAD_RULE_BY_RULE:
        return [r.listing() for r in parse_rule_lines(compiled[2:], host)]
    canon = kernel.canon(host)
    gone = CanonSet(stale)
    after = [line for line in kernel.listing if parse_rule_line(line, host).canon() not in gone]
    after += [r.listing() for r in declared if r.canon() not in canon]
    return after


def outcome(spec, kernel_listing, status, available, stale_candidates, host):
    """{loaded, missing[, still_loaded]} of the set against a kernel listing and status."""
    return outcome_of(spec, CanonSet(parse_rule_lines(kernel_listing, host)), status, available,
                      stale_candidates)


def outcome_of(spec, canon, status, available, stale_candidates):
    """outcome() against a kernel listing already canonicalised (CanonSet)."""
    result = {}
    if spec.present:
        missing = [r for r in spec.rules if r.canon() not in canon] if available else list(spec.rules)
        missing = missing + [c for c in spec.controls if not (available and c.satisfied(status))]
        result["missing"] = [r.listing() for r in missing]
        result["loaded"] = available and not missing
    else:
        left = [r for r in stale_candidates if r.canon() in canon]
        result["missing"] = []
        result["loaded"] = available and not left
        if left:
            result["still_loaded"] = [r.listing() for r in left]
    return result


def prove(spec, kernel_listing, status, stale_candidates, host):
    """(missing, left) after a load: the declared rules and settings not in the kernel (those
    only a reboot undoes aside: they are set only after this proof), and rules of the set that
    should be gone but are still loaded. Either one non-empty means the load failed and is rolled back. status is
    auditctl -s after the load (read only when the set has controls)."""
    return prove_of(spec, CanonSet(parse_rule_lines(kernel_listing, host)), status, stale_candidates)


def prove_of(spec, canon, status, stale_candidates):
    """prove() against a kernel listing already canonicalised (CanonSet)."""
    # with state=absent the declared rules are the ones to remove, not to find
    missing = [r for r in spec.rules if r.canon() not in canon] if spec.present else []
    missing += [c for c in spec.controls if not c.irreversible and not c.satisfied(status)]
    left = [r for r in stale_candidates if r.canon() in canon]
    return missing, left
