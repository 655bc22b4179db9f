# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rule-set engine: the host lock and ``RuleSetManager``, the audit_rule module's engine.

It decides everything first, then, unless in check mode, writes the rule file, loads it
(``_auditctl.Loader``), proves the kernel has the rules and rolls back when it does not."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import os
import re
import stat
import time

from ansible_collections.auditfleet.auditd.plugins.module_utils import _command, _files, _presets
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditctl import (
    Loader, RESTORE_PREFIX, auditctl_syscalls, auditctl_version, get_status, list_rules, load_plan,
    remove_stale_temp_files, _step, _temp_rules, _write_atomic)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import (
    INAPPLICABLE_CHOICES, check_name, validate_rule_set, _error_summary)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecontrols import (
    validate_controls)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import (
    HostArch)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import (
    AuditRuleError, control_problem)
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruleplan import (
    DirSnapshot, KernelSnapshot, RuleSetSpec, outcome, plan_rule_set, prove)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import (
    AUDIT_RULES, FILE_MODE, managed_name, read_rules_dir, rule_file_name, _text)
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import (
    rules_from_text)

LOCK_PATH = "/run/auditfleet-audit_rule.lock"
LOCK_TIMEOUT = 300


class HostLock(object):
    """An exclusive fcntl lock on a file under /run: one audit_rule run at a time per host.

    create=False (check mode) takes the lock only when its file already exists, so a check
    run leaves nothing behind.
    """

    def __init__(self, path=LOCK_PATH, timeout=LOCK_TIMEOUT, create=True):
        self.path, self.timeout, self.create = path, timeout, create
        self.fd = None

    def __enter__(self):
        if not self.create and not os.path.exists(self.path):
            return self
        try:
            # never through a symbolic link; O_RDWR does not block on a FIFO, fstat refuses it
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as e:
            raise AuditRuleError("cannot open the lock file %s: %s" % (self.path, e))
        if not stat.S_ISREG(os.fstat(self.fd).st_mode):
            os.close(self.fd)
            self.fd = None
            raise AuditRuleError("the lock file %s is not a regular file: refused" % self.path)
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError) as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            if time.time() > deadline:
                os.close(self.fd)
                self.fd = None
                raise AuditRuleError("another audit_rule run has held %s for more than %d s"
                                     % (self.path, self.timeout))
            time.sleep(0.1)

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False


# What set_irreversible says a Control did not do, by option.
_NOT_DONE = {"immutable": "lock the audit configuration",
             "loginuid_immutable": "make login uids immutable"}


def set_irreversible(module, auditctl, controls, status):
    """Set what only a reboot undoes (Control.irreversible: --loginuid-immutable, then the lock
    -e 2), each with auditctl on its own. Call it only once the loaded rules are proven: it is
    the one step of a run that no rollback can take back. STATUS is auditctl -s before it; a
    control it already shows is not set again. Stops at the first one auditctl -s does not then
    show. Returns (auditctl -s after, problems: [] when every control is proven)."""
    for control in controls:
        if control.satisfied(status):
            continue
        argv = [auditctl] + control.render().split()
        rc, out, err, timed_out = _step(argv)
        status = get_status(module, auditctl)
        if not control.satisfied(status):
            return status, ["the rules were loaded and proven, but %s did not %s (%s; auditctl -s: %s %s)" % (
                _command.command_line(argv), _NOT_DONE.get(control.option, "take effect"),
                (err or out).strip() or "exit %s" % rc, control.status_key, status.get(control.status_key, "?"))]
    return status, []


class _FileState(object):
    """A file's bytes and owner/mode before we touched it (None: it did not exist). A symbolic
    link or a special file there is refused before anything changes."""

    def __init__(self, path):
        self.path = path
        try:
            self.content, self.stat = _files.read_regular(path, follow=False)
        except _files.FileProblem as e:
            raise AuditRuleError(e.msg)

    def restore(self):
        if self.content is None:
            if os.path.lexists(self.path):
                os.unlink(self.path)
            return
        _write_atomic(self.path, self.content, self.stat.st_mode & 0o7777,
                      owner=(self.stat.st_uid, self.stat.st_gid))


class RuleSetManager(object):
    """Decide, then (unless check mode) write, load, prove and roll back one rule set.

    params: the module's options (name, priority, state, rules, lines, preset, inapplicable,
    controls, reload, backup, rules_dir). run() returns the result dict or raises
    AuditRuleError (with result keys).
    """

    def __init__(self, module, params, host=None):
        self.module = module
        self.name = params["name"]
        self.priority = params.get("priority")
        self.state = params["state"]
        self.rules_param = params.get("rules")
        self.lines_param = params.get("lines")
        self.preset = params.get("preset")
        self.inapplicable = params.get("inapplicable") or "fail"
        self.controls_param = params.get("controls")
        self.reload = params["reload"]
        self.backup = params["backup"]
        self.rules_dir = params["rules_dir"]
        self.check_mode = module.check_mode
        self.diff_mode = getattr(module, "_diff", False)
        self.host = host or HostArch()
        self.warnings = []
        self.skipped = []
        self.preset_file = None
        self.line_controls = {}
        self.held = []      # what only a reboot undoes, held out of the load (Loader.load's lock)

    # ---- inputs ----------------------------------------------------------------------------

    def _sources(self):
        return [n for n, v in (("rules", self.rules_param), ("lines", self.lines_param),
                               ("preset", self.preset)) if v not in (None, [], "")]

    def _check_params(self):
        problems = []
        bad = check_name(self.name)
        if bad:
            problems.append(bad)
        if self.priority is not None and (
                isinstance(self.priority, bool) or not isinstance(self.priority, int)
                or not 0 <= self.priority <= 99):
            problems.append("priority %r is not allowed: use 0..99 (the file's order prefix)"
                            % (self.priority,))
        bad = control_problem(self.rules_dir) if isinstance(self.rules_dir, str) else None
        if bad:
            problems.append("rules_dir %s" % bad)
        elif not os.path.isabs(self.rules_dir or ""):
            problems.append("rules_dir %r is not an absolute path" % (self.rules_dir,))
        if self.inapplicable not in INAPPLICABLE_CHOICES:
            problems.append("inapplicable %r is not allowed: use %s"
                            % (self.inapplicable, " or ".join(INAPPLICABLE_CHOICES)))
        sources = self._sources()
        if len(sources) > 1:
            problems.append("%s are mutually exclusive: a rule set takes its rules from one of "
                            "rules, lines or preset" % " and ".join(sources))
        if self.preset is not None and not isinstance(self.preset, str):
            problems.append("preset must be a string, got %r" % (self.preset,))
        elif isinstance(self.preset, str):
            bad = control_problem(self.preset)
            if bad:
                problems.append("preset %s" % bad)
        if self.state == "present" and not sources and not self._any_control():
            problems.append("rules is empty: state=present needs at least one rule or control "
                            "(rules, lines or preset; use state=absent to remove the rule set)")
        if problems:
            raise AuditRuleError("; ".join(problems), errors=problems)

    def _any_control(self):
        return bool(self.controls_param) and any(
            v not in (None, False) for v in self.controls_param.values())

    def _read_preset(self):
        """The preset's text, read from this host's audit package; sets the priority from the
        file's number when none was given."""
        try:
            text, path, number = _presets.read(self.preset)
        except _presets.PresetError as e:
            raise AuditRuleError(e.msg)
        self.preset_file = path
        if self.priority is None:
            self.priority = number
        return text

    def _items(self):
        """(items, labels, texts, source, text errors) of the declared rules, from rules, lines or
        the preset; the control lines of text go to self.line_controls. Text is parsed by the rule
        model's one parser, then validated exactly as the rules option is."""
        if self.lines_param is None and self.preset is None:
            return self.rules_param or [], None, None, "rules", []
        if self.state == "absent":
            # a set is removed by its files (they say what it loaded): no text is read
            return [], None, None, "rules", []
        if self.preset is not None:
            text, source = self._read_preset(), "preset %s (%s)" % (self.preset, self.preset_file)
        else:
            text, source = self.lines_param, "lines"
        parsed = rules_from_text(text, what="lines")
        if not parsed.items and not parsed.controls and not parsed.errors:
            raise AuditRuleError("%s holds no rule and no setting (only comments or blank lines)"
                                 % source)
        labels = parsed.labels
        if self.preset is not None:
            labels = ["%s %s" % (os.path.basename(self.preset_file), label) for label in labels]
        self.line_controls = parsed.controls
        return parsed.items, labels, parsed.texts, source, parsed.errors

    def _controls(self):
        """The controls option and the settings of control lines in lines/preset, merged; the
        same setting given two ways must have the same value."""
        merged = dict(self.controls_param or {})
        problems = []
        for option, value in sorted(self.line_controls.items()):
            given = merged.get(option)
            if given not in (None, False) and str(given) != str(value):
                problems.append("controls.%s is %r, but the rule text sets %r" % (option, given, value))
            merged[option] = value
        if problems:
            raise AuditRuleError("; ".join(problems), errors=problems)
        return validate_controls(merged)

    def _declared(self, auditctl):
        items, labels, texts, source, text_errors = self._items()
        if self.priority is None:
            self.priority = 50
        if self.state == "absent" and not items:
            return []
        version = None
        if auditctl and any(isinstance(r, dict) and r.get("list") == "io_uring" for r in items):
            version = auditctl_version(self.module, auditctl)
        if self.inapplicable == "skip" and self.state == "present":
            self.host.auditctl_syscalls = auditctl_syscalls(self.module, self.host)
        try:
            declared, self.skipped = validate_rule_set(
                items, self.host, version, self.inapplicable if self.state == "present" else "fail",
                labels=labels, texts=texts)
            rule_errors = []
        except AuditRuleError as e:
            rule_errors = e.result.get("errors") or [e.msg]
        if text_errors or rule_errors:
            # every problem of the text at once: lines that are not rules, then rules that are wrong
            if source == "rules":
                raise AuditRuleError(_error_summary(rule_errors), errors=rule_errors)
            errors = ["%s: %s" % (source, e) for e in text_errors + rule_errors]
            raise AuditRuleError(
                "%s: %d problem(s): %s" % (source, len(errors), "; ".join(text_errors + rule_errors)),
                errors=errors)
        if self.skipped:
            shown = "; ".join("%s (%s): %s%s" % (
                s["where"], s["rule"], "%s left out: " % ",".join(s["syscalls"]) if s.get("syscalls")
                else "arch %s left out: " % s["arch"] if s.get("arch") else "", s["reason"])
                for s in self.skipped[:10])
            self.warnings.append(
                "%d rule(s) or part(s) of rules cannot apply on this host and are left out "
                "(inapplicable=skip; the list is in the result's skipped_rules): %s%s"
                % (len(self.skipped), shown, "; ..." if len(self.skipped) > 10 else ""))
        if self.state == "present" and items and not declared and not self.line_controls \
                and not self._any_control():
            raise AuditRuleError(
                "every rule of the set was skipped: none can apply on this host (%s); nothing "
                "was changed" % "; ".join("%s: %s" % (s["where"], s["reason"]) for s in self.skipped),
                skipped_rules=self.skipped, errors=[s["reason"] for s in self.skipped])
        return declared

    def _own_files(self):
        """Files of this rule set in rules_dir: {file name: content} (other priorities too);
        their stat in self.own_stats.

        Every NN-<name>.rules must be a regular file: a symbolic link (or a FIFO, a device, a
        directory) there is refused before anything changes, and never read or followed, so
        the content of whatever it points to never shows in a diff or a backup."""
        pattern = re.compile(r"\A[0-9]{1,2}-%s\.rules\Z" % re.escape(self.name))
        own = {}
        self.own_stats = {}
        try:
            names = os.listdir(self.rules_dir)
        except OSError as e:
            raise AuditRuleError("cannot list %s: %s" % (self.rules_dir, e.strerror))
        for fname in sorted(names):
            if not pattern.match(fname):
                continue
            path = os.path.join(self.rules_dir, fname)
            try:
                kind = _files.lstat_kind(path)
                if kind is not None:
                    target = ""
                    if kind == "a symbolic link":
                        target = " to %s" % _files.show(os.readlink(path))
                    raise AuditRuleError(
                        "%s is %s%s, not a regular file: refused before anything changed (audit_rule "
                        "writes and removes only regular files, and does not read or follow this "
                        "one); remove it" % (_files.show(path), kind, target))
                content, st = _files.read_regular(path, follow=False, what="rule file")
            except _files.FileProblem as e:
                raise AuditRuleError(e.msg)
            if content is None:
                continue
            if fname == self.file_name or managed_name(content) == self.name:
                own[fname] = content
                self.own_stats[fname] = st
        return own

    # ---- the run ---------------------------------------------------------------------------

    def run(self):
        self._check_params()
        auditctl = self.module.get_bin_path("auditctl", required=self.reload)
        declared = self._declared(auditctl)   # validation: nothing on the host has changed
        self.controls = self._controls() if self.state == "present" else []
        self.file_name = rule_file_name(self.name, self.priority)
        self.path = os.path.join(self.rules_dir, self.file_name)
        if not os.path.isdir(self.rules_dir):
            if self.state == "absent":
                result = {"changed": False, "path": self.path, "rules": [], "loaded": True,
                          "missing": [], "drift": False, "reboot_required": False, "pending": [],
                          "kernel_audit": bool(auditctl) and get_status(self.module, auditctl)["available"],
                          "load_method": None, "backup_file": None,
                          "rolled_back": False, "skipped_rules": [], "preset_file": None,
                          "msg": "rule set %s is absent (%s does not exist)" % (self.name, self.rules_dir)}
                return result
            raise AuditRuleError("rules_dir %s does not exist (is auditd installed?)"
                                 % self.rules_dir)
        with HostLock(create=not self.check_mode):
            return self._run_locked(declared, auditctl)

    def _snapshot(self, auditctl):
        """Read the rules directory and the kernel once: (DirSnapshot, KernelSnapshot)."""
        own = self._own_files()
        others = read_rules_dir(self.rules_dir, dict((n, None) for n in own))
        modes = dict((n, (st.st_mode, st.st_uid, st.st_gid)) for n, st in self.own_stats.items())
        directory = DirSnapshot(self.rules_dir, own, modes, others)
        status = get_status(self.module, auditctl) if auditctl else {
            "available": False, "immutable": False,
            "message": "auditctl is not installed, so the kernel's rules cannot be read"}
        listing = []
        if status.get("available") and not status.get("timed_out"):
            listing = list_rules(self.module, auditctl)
        return directory, KernelSnapshot(status, listing)

    def _run_locked(self, declared, auditctl):
        """Snapshot, plan, and (unless check mode) apply; the result is built from the plan."""
        if not self.check_mode:
            # this run holds the host lock: no other run is writing these
            stale = remove_stale_temp_files([self.rules_dir, os.path.dirname(AUDIT_RULES)])
            if stale:
                self.warnings.append("removed %d temporary file(s) that an interrupted audit_rule "
                                     "run left: %s" % (len(stale), ", ".join(map(_files.show, stale))))
        directory, kernel = self._snapshot(auditctl)
        spec = RuleSetSpec(self.name, self.file_name, self.state, declared, self.controls,
                           self.reload, self.check_mode)
        plan = plan_rule_set(spec, directory, kernel, self.host, os.geteuid())
        self.plan, self.spec = plan, spec
        self.warnings.extend(plan.warnings)
        self.status_before = kernel.status
        available, need_load = kernel.available, plan.need_load
        kernel_before = kernel.listing
        loader = Loader(self.module, self.rules_dir, auditctl) if need_load else None

        result = {
            "changed": plan.file_changed or need_load,
            "path": self.path,
            "rules": [r.render() for r in declared],
            "controls": [c.render() for c in self.controls],
            "loaded": False,
            "missing": [],
            "drift": plan.drift,
            "reboot_required": plan.reboot_required,
            "pending": plan.pending,
            "kernel_audit": available,
            "load_method": loader.method_of(plan.load_kind) if loader else None,
            "backup_file": None,
            "rolled_back": False,
            "skipped_rules": self.skipped,
            "preset_file": self.preset_file,
        }
        if not available:
            result["kernel_audit_message"] = kernel.status["message"]

        diffs = self._file_diffs(directory.own, plan.current, plan.desired, plan.to_remove)

        if self.check_mode:
            # check mode changes nothing: loaded/missing describe the kernel as it is
            result.update(outcome(spec, kernel_before, self.status_before, available,
                                  plan.stale_candidates, self.host))
            result["diff"] = diffs + [self._kernel_diff(kernel_before, plan.predicted_kernel,
                                                        predicted=True)]
            if self.controls:
                predicted = dict(self.status_before)
                if need_load:
                    predicted.update((c.status_key, c.value) for c in self.controls)
                result["diff"].append(self._settings_diff(self.status_before, predicted, True))
            return self._done(result)
        return self._done(self._apply(plan, directory, kernel, loader, auditctl, result, diffs))

    def _apply(self, plan, directory, kernel, loader, auditctl, result, diffs):
        """Carry the plan out: back up, write and remove files, load, prove against a fresh
        auditctl -l (and -s), roll back on failure (AuditRuleError). Returns the result."""
        spec, own, kernel_before = plan.spec, directory.own, kernel.listing
        snapshot = [_FileState(os.path.join(self.rules_dir, n)) for n in sorted(set(own) | {self.file_name})]
        if loader and loader.touches_audit_rules and plan.need_load:
            snapshot += [_FileState(AUDIT_RULES), _FileState(AUDIT_RULES + ".prev")]
        if self.backup and plan.content_changed:
            for n in sorted(own):
                try:
                    bak = _files.backup_copy(os.path.join(self.rules_dir, n), own[n], self.own_stats[n])
                except _files.FileProblem as e:
                    raise AuditRuleError(e.msg)
                if n == self.file_name or result["backup_file"] is None:
                    result["backup_file"] = bak
        if spec.present and plan.file_changed:
            _write_atomic(self.path, plan.desired, FILE_MODE, module=self.module)
        for n in plan.to_remove:
            p = os.path.join(self.rules_dir, n)
            if os.path.lexists(p):
                os.unlink(p)

        kernel_after = kernel_before
        if plan.need_load:
            kernel_after = self._load_and_prove(loader, auditctl, plan, snapshot, kernel_before,
                                                result, diffs)
        status_after = getattr(self, "status_after", None)
        result.update(outcome(spec, kernel_after,
                              status_after if status_after is not None else self.status_before,
                              kernel.available, plan.stale_candidates, self.host))
        result["diff"] = diffs + [self._kernel_diff(kernel_before, kernel_after)]
        if self.controls:
            result["diff"].append(self._settings_diff(self.status_before, status_after or self.status_before))
        return result

    # ---- helpers ---------------------------------------------------------------------------

    def _done(self, result):
        result["msg"] = self._summary(result)
        if self.warnings:
            for w in self.warnings:
                self.module.warn(w)
        if not self.diff_mode:
            result.pop("diff", None)
        return result

    def _summary(self, result):
        would = self.check_mode
        if not result["changed"]:
            what = "rule set %s is in place" % self.name if self.state == "present" else \
                "rule set %s is absent" % self.name
        elif result["drift"]:
            what = "rule set %s: the file is right but the kernel %s, so the rules %s loaded again" % (
                self.name, "lacked some of its rules" if self.state == "present" else
                "still had rules of the set", "would be" if would else "were")
        elif self.state == "present":
            what = "rule set %s %s %s" % (self.name, "would be written to" if would else "written to",
                                          self.path)
        else:
            what = "rule set %s %s" % (self.name, "would be removed" if would else "removed")
        if result["load_method"] and not result["drift"]:
            what += "; %s with %s" % (
                ("would be " if would else "") + ("loaded" if self.state == "present" else "unloaded"),
                result["load_method"])
        if not result["kernel_audit"]:
            what += "; kernel audit is not available, nothing was loaded"
        elif result["reboot_required"]:
            what += "; audit rules are immutable: reboot to load them"
        elif self.state == "present":
            what += "; all declared rules are in the kernel" if result["loaded"] else \
                "; %d declared rule(s) are not in the kernel" % len(result["missing"])
        return what

    def _file_diffs(self, own, current, desired, to_remove):
        diffs = [{"before_header": self.path, "after_header": self.path,
                  "before": _text(current) or "", "after": _text(desired) or ""}]
        for n in to_remove:
            if n == self.file_name:
                continue
            p = os.path.join(self.rules_dir, n)
            diffs.append({"before_header": p, "after_header": "%s (removed)" % p,
                          "before": _text(own.get(n)) or "", "after": ""})
        return diffs

    @staticmethod
    def _kernel_diff(before, after, predicted=False):
        return {"before_header": "kernel rules (auditctl -l)",
                "after_header": "kernel rules (auditctl -l)%s" % (
                    ", predicted" if predicted else ""),
                "before": "".join(line + "\n" for line in before),
                "after": "".join(line + "\n" for line in after)}

    def _settings_diff(self, before, after, predicted=False):
        keys = [c.status_key for c in self.controls]
        return {"before_header": "kernel audit settings (auditctl -s)",
                "after_header": "kernel audit settings (auditctl -s)%s" % (
                    ", predicted" if predicted else ""),
                "before": "".join("%s %s\n" % (k, before.get(k, "?")) for k in keys),
                "after": "".join("%s %s\n" % (k, after.get(k, "?")) for k in keys)}

    def _load_and_prove(self, loader, auditctl, plan, snapshot, kernel_before, result, diffs):
        # what to add and delete was decided by the plan against this same kernel snapshot
        declared, stale_candidates = plan.spec.rules, plan.stale_candidates
        unset = [c for c in self.controls if not c.satisfied(self.status_before)]
        add, own_lock = load_plan(unset, plan.load_add)
        load = loader.load(add=add, delete=plan.load_delete, lock=own_lock)
        result["load_method"] = loader.method
        kernel_after, missing, left, problems = kernel_before, [], [], []
        self.status_after = None
        self.held = load["lock"]
        try:
            kernel_after, missing, left = self._prove(auditctl, declared, stale_candidates)
            if load["rc"] == 0 and not missing and left:
                # no -D in the compiled rules: remove this set's old rules one by one
                for rule in left:
                    args = rule.delete_args()
                    if args:
                        rc, out, err, timed_out = _step([auditctl] + args)
                        if rc != 0:
                            problems.append("auditctl %s: %s" % (" ".join(args), (err or out).strip()))
                kernel_after, missing, left = self._prove(auditctl, declared, stale_candidates)
            if load["rc"] == 0 and not missing and not left and not problems and load["lock"]:
                # the rules are in and proven: now, and only now, what only a reboot undoes
                status = self.status_after if self.status_after is not None else self.status_before
                self.status_after, failed = set_irreversible(self.module, auditctl, load["lock"], status)
                if failed:
                    problems.extend(failed)
                    missing.extend(c for c in own_lock if not c.satisfied(self.status_after))
        except AuditRuleError as e:   # a query timed out or failed: the load is not proven
            problems.append(e.msg)
        if load["rc"] == 0 and not missing and not left and not problems:
            return kernel_after

        # ---- failed: say what, put everything back, fail ----
        if load["timed_out"]:
            parts = ["%s did not finish in time" % load["command"]]
        else:
            parts = ["%s exited %d" % (load["command"], load["rc"])]
        # auditctl's errors are on stderr; stdout has the status it prints after -b/-f/-e lines
        said = (load["stderr"] or "").strip() or (load["stdout"] or "").strip()
        if load["error_line"]:
            parts.append("auditctl stopped at %s" % load["error_line"])
        if missing:
            parts.append("%d declared rule(s) or setting(s) are not in the kernel after the "
                         "load: %s" % (len(missing), "; ".join(
                             r.describe(self.status_after) if hasattr(r, "satisfied") else r.listing()
                             for r in missing)))
        if left:
            parts.append("rule(s) of the removed set are still loaded: %s"
                         % "; ".join(r.listing() for r in left))
        parts.extend(problems)
        load_error = ". ".join(parts)
        if said:
            load_error += ". Output: %s" % said
        method = loader.method
        rolled_back, rollback_notes, kernel_now = self._rollback(loader, auditctl, snapshot,
                                                                 kernel_before)
        result["load_method"] = method
        result.update({
            "changed": True, "rolled_back": rolled_back, "load_error": load_error,
            "missing": [r.listing() for r in missing], "loaded": False,
            "load_output": {"rc": load["rc"], "stdout": load["stdout"], "stderr": load["stderr"],
                            "command": load["command"]},
            "diff": diffs + [self._kernel_diff(kernel_before, kernel_now)],
        })
        if rollback_notes:
            result["rollback_error"] = "; ".join(rollback_notes)
        if not self.diff_mode:
            result.pop("diff")
        msg = "loading the rule set %s failed: %s. %s" % (
            self.name, load_error,
            "The previous rule files and kernel rules were put back (rolled_back)."
            if rolled_back else "Rolling back did not fully succeed: %s" % "; ".join(rollback_notes))
        raise AuditRuleError(msg, **result)

    def _prove(self, auditctl, declared, stale_candidates):
        """(kernel list, missing, left) after a load (see _ruleplan.prove). Sets
        self.status_after when the set has controls."""
        kernel = list_rules(self.module, auditctl)
        status = {}
        if self.controls:
            self.status_after = get_status(self.module, auditctl)
            if self.status_after.get("timed_out"):
                raise AuditRuleError(self.status_after["message"])
            status = self.status_after
        missing, left = prove(self.spec, kernel, status, stale_candidates, self.host)
        return kernel, missing, left

    def _restore_settings(self, auditctl):
        """Put back the kernel settings this set declared, as they were before the load; say
        what cannot be put back (the lock, immutable login uids: only a reboot undoes them)."""
        if not self.controls and not self.held:
            return []
        notes = []
        now = get_status(self.module, auditctl)
        if now.get("timed_out"):
            return ["cannot put the kernel settings back: %s" % now["message"]]
        if now.get("immutable") and not self.status_before.get("immutable"):
            return ["the failed load made audit rules immutable (enabled 2): nothing can be "
                    "put back until the host reboots"]
        if now.get("loginuid_immutable") == 1 and self.status_before.get("loginuid_immutable") == 0:
            notes.append("login uids were made immutable (auditctl -s: loginuid_immutable 1) and "
                         "stay so until the host reboots")
        for control in self.controls:
            old = self.status_before.get(control.status_key)
            if control.irreversible or old is None or now.get(control.status_key) == old:
                continue
            rc, out, err, timed_out = _step([auditctl, control.flag, str(old)])
            if rc != 0:
                notes.append("cannot set %s back to %s: %s" % (control.flag, old, (err or out).strip()))
        return notes

    def _rollback(self, loader, auditctl, snapshot, kernel_before):
        """Put back every file we touched, load again, and make the kernel list what it was.
        The reload never locks the kernel nor makes login uids immutable (Loader.load leaves
        them to its caller)."""
        notes = []
        boot_files = (AUDIT_RULES, AUDIT_RULES + ".prev")

        def restore(states):
            for state in states:
                try:
                    state.restore()
                except (IOError, OSError, AuditRuleError) as e:
                    notes.append("cannot restore %s: %s" % (state.path, getattr(e, "msg", e)))

        restore([state for state in snapshot if state.path not in boot_files])
        try:
            again = loader.load()
        except AuditRuleError as e:
            again = {"rc": -1}
            notes.append("cannot load the previous files again: %s" % e.msg)
        restore([state for state in snapshot if state.path in boot_files])
        try:
            notes.extend(self._restore_settings(auditctl))
            now = list_rules(self.module, auditctl)
            if now != kernel_before:
                # the reload did not give the old list back (the kernel had drifted before, or
                # the old files do not load either): load the list that was there
                tmp = _temp_rules(("-D\n" + "".join(line + "\n" for line in kernel_before)).encode("utf-8"),
                                  prefix=RESTORE_PREFIX)
                try:
                    rc, out, err, timed_out = _step([auditctl, "-R", tmp])
                finally:
                    os.unlink(tmp)
                now = list_rules(self.module, auditctl)
                if now != kernel_before:
                    notes.append("reloading the previous files exited %d, and loading the previous "
                                 "kernel list back exited %d (%s); the kernel now has %d rules "
                                 "instead of %d" % (again["rc"], rc, (err or out).strip(), len(now),
                                                    len(kernel_before)))
        except AuditRuleError as e:
            notes.append(e.msg)
            now = ["# the kernel's rules cannot be read: %s" % e.msg]
        return not notes, notes, now
