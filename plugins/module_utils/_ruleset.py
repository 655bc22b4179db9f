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

from ansible_collections.auditfleet.auditd.plugins.module_utils import _command, _files, _hostreport, _presets
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
from ansible_collections.auditfleet.auditd.plugins.module_utils._hostplan import (
    HostDirSnapshot, plan_host)
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruleplan import (
    DirSnapshot, KernelSnapshot, RuleSetSpec, outcome, plan_rule_set, prove)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import (
    AUDIT_RULES, FILE_MODE, managed_name, read_rules_dir, rule_file_name, sorted_rule_files, _text)
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


def kernel_snapshot(module, auditctl):
    """The kernel as read once: a KernelSnapshot of auditctl -s and (when kernel audit is
    available) auditctl -l. Without auditctl: not available, nothing listed."""
    status = get_status(module, auditctl) if auditctl else {
        "available": False, "immutable": False,
        "message": "auditctl is not installed, so the kernel's rules cannot be read"}
    listing = []
    if status.get("available") and not status.get("timed_out"):
        listing = list_rules(module, auditctl)
    return KernelSnapshot(status, listing)


def clean_stale_temp_files(rules_dir):
    """Remove what an interrupted run left (hold the host lock); a warning, or None."""
    stale = remove_stale_temp_files([rules_dir, os.path.dirname(AUDIT_RULES)])
    if stale:
        return ("removed %d temporary file(s) that an interrupted audit_rule run left: %s"
                % (len(stale), ", ".join(map(_files.show, stale))))
    return None


def file_states(paths, loader, need_load):
    """The _FileState of every path the apply step may touch (and of audit.rules and its .prev
    copy when the load rewrites them), taken before anything changes."""
    states = [_FileState(p) for p in paths]
    if loader and loader.touches_audit_rules and need_load:
        states += [_FileState(AUDIT_RULES), _FileState(AUDIT_RULES + ".prev")]
    return states


def kernel_diff(before, after, predicted=False):
    """The diff entry of the kernel's rule list (auditctl -l)."""
    return {"before_header": "kernel rules (auditctl -l)",
            "after_header": "kernel rules (auditctl -l)%s" % (
                ", predicted" if predicted else ""),
            "before": "".join(line + "\n" for line in before),
            "after": "".join(line + "\n" for line in after)}


def settings_diff(controls, before, after, predicted=False):
    """The diff entry of the kernel settings CONTROLS set (auditctl -s)."""
    keys = []
    for c in controls:
        if c.status_key not in keys:
            keys.append(c.status_key)
    return {"before_header": "kernel audit settings (auditctl -s)",
            "after_header": "kernel audit settings (auditctl -s)%s" % (
                ", predicted" if predicted else ""),
            "before": "".join("%s %s\n" % (k, before.get(k, "?")) for k in keys),
            "after": "".join("%s %s\n" % (k, after.get(k, "?")) for k in keys)}


def predicted_status(status_before, controls, need_load):
    """auditctl -s as it would be after the load (check mode)."""
    predicted = dict(status_before)
    if need_load:
        predicted.update((c.status_key, c.value) for c in controls)
    return predicted


def delete_left(auditctl, left):
    """Delete rules that should be gone one by one (auditctl -d/-W); the problems."""
    problems = []
    for rule in left:
        args = rule.delete_args()
        if args:
            rc, out, err, timed_out = _step([auditctl] + args)
            if rc != 0:
                problems.append("auditctl %s: %s" % (" ".join(args), (err or out).strip()))
    return problems


def shown(item, status):
    """A missing rule or setting for a message: a setting (Control) with the value auditctl -s
    reports, a rule as auditctl -l lists it."""
    return item.describe(status) if hasattr(item, "satisfied") else item.listing()


def rollback_said(rolled_back, notes):
    """The last sentence of a failed run's message."""
    if rolled_back:
        return "The previous rule files and kernel rules were put back (rolled_back)."
    return "Rolling back did not fully succeed: %s" % "; ".join(notes)


def load_failure(load, missing, left, problems, what_left="rule(s) of the removed set are still loaded"):
    """(load_error, load_output) of a failed load: the command and its exit, the line auditctl
    stopped at, what the proof found missing (strings) or left, and the other problems."""
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
                     "load: %s" % (len(missing), "; ".join(missing)))
    if left:
        parts.append("%s: %s" % (what_left, "; ".join(left)))
    parts.extend(problems)
    load_error = ". ".join(parts)
    if said:
        load_error += ". Output: %s" % said
    output = {"rc": load["rc"], "stdout": load["stdout"], "stderr": load["stderr"],
              "command": load["command"]}
    return load_error, output


def restore_settings(module, auditctl, controls, status_before, held=()):
    """Put back the kernel settings CONTROLS declared, as they were before the load; the
    problems, and what cannot be put back (the lock, immutable login uids: only a reboot undoes
    them). HELD: what the load held out to set after the proof (Loader.load's lock)."""
    if not controls and not held:
        return []
    notes = []
    now = get_status(module, auditctl)
    if now.get("timed_out"):
        return ["cannot put the kernel settings back: %s" % now["message"]]
    if now.get("immutable") and not status_before.get("immutable"):
        return ["the failed load made audit rules immutable (enabled 2): nothing can be "
                "put back until the host reboots"]
    if now.get("loginuid_immutable") == 1 and status_before.get("loginuid_immutable") == 0:
        notes.append("login uids were made immutable (auditctl -s: loginuid_immutable 1) and "
                     "stay so until the host reboots")
    done = set()
    for control in controls:
        old = status_before.get(control.status_key)
        if control.irreversible or old is None or now.get(control.status_key) == old \
                or control.status_key in done:
            continue
        done.add(control.status_key)
        rc, out, err, timed_out = _step([auditctl, control.flag, str(old)])
        if rc != 0:
            notes.append("cannot set %s back to %s: %s" % (control.flag, old, (err or out).strip()))
    return notes


def rollback(module, loader, auditctl, snapshot, kernel_before, controls, status_before, held=()):
    """Put back every file of SNAPSHOT (_FileState), load again, put the settings of CONTROLS
    back, and make the kernel list KERNEL_BEFORE. (rolled back, notes, kernel list now). The
    reload never locks the kernel nor makes login uids immutable (Loader.load leaves them to its
    caller); HELD as for restore_settings."""
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
        notes.extend(restore_settings(module, auditctl, controls, status_before, held))
        now = list_rules(module, auditctl)
        if now != kernel_before:
            # the reload did not give the old list back (the kernel had drifted before, or
            # the old files do not load either): load the list that was there
            tmp = _temp_rules(("-D\n" + "".join(line + "\n" for line in kernel_before)).encode("utf-8"),
                              prefix=RESTORE_PREFIX)
            try:
                rc, out, err, timed_out = _step([auditctl, "-R", tmp])
            finally:
                os.unlink(tmp)
            now = list_rules(module, auditctl)
            if now != kernel_before:
                notes.append("reloading the previous files exited %d, and loading the previous "
                             "kernel list back exited %d (%s); the kernel now has %d rules "
                             "instead of %d" % (again["rc"], rc, (err or out).strip(), len(now),
                                                len(kernel_before)))
    except AuditRuleError as e:
        notes.append(e.msg)
        now = ["# the kernel's rules cannot be read: %s" % e.msg]
    return not notes, notes, now


def refuse_non_regular(path):
    """AuditRuleError when PATH (a file the engine writes or removes) is a symbolic link, a FIFO
    or another special file: refused before anything changes, never read or followed."""
    try:
        kind = _files.lstat_kind(path)
    except _files.FileProblem as e:
        raise AuditRuleError(e.msg)
    if kind is not None:
        target = ""
        if kind == "a symbolic link":
            target = " to %s" % _files.show(os.readlink(path))
        raise AuditRuleError(
            "%s is %s%s, not a regular file: refused before anything changed (audit_rule "
            "writes and removes only regular files, and does not read or follow this "
            "one); remove it" % (_files.show(path), kind, target))


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
        if self.inapplicable == "skip" and self.state == "present" and self.host.auditctl_syscalls is None:
            # once per host: audit_rule_sets' sets share one HostArch
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
            refuse_non_regular(path)
            try:
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

    def declare(self, auditctl):
        """Read and validate the set's options (nothing on the host changes): its RuleSetSpec.
        Sets self.controls, self.file_name, self.path. Raises AuditRuleError."""
        self._check_params()
        declared = self._declared(auditctl)
        self.controls = self._controls() if self.state == "present" else []
        self.file_name = rule_file_name(self.name, self.priority)
        self.path = os.path.join(self.rules_dir, self.file_name)
        return RuleSetSpec(self.name, self.file_name, self.state, declared, self.controls,
                           self.reload, self.check_mode)

    def run(self):
        self._check_params()
        auditctl = self.module.get_bin_path("auditctl", required=self.reload)
        declared = self.declare(auditctl).rules   # validation: nothing on the host has changed
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
        return directory, kernel_snapshot(self.module, auditctl)

    def _run_locked(self, declared, auditctl):
        """Snapshot, plan, and (unless check mode) apply; the result is built from the plan."""
        if not self.check_mode:
            # this run holds the host lock: no other run is writing these
            stale = clean_stale_temp_files(self.rules_dir)
            if stale:
                self.warnings.append(stale)
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
            result["diff"] = diffs + [kernel_diff(kernel_before, plan.predicted_kernel,
                                                  predicted=True)]
            if self.controls:
                result["diff"].append(settings_diff(
                    self.controls, self.status_before,
                    predicted_status(self.status_before, self.controls, need_load), True))
            return self._done(result)
        return self._done(self._apply(plan, directory, kernel, loader, auditctl, result, diffs))

    def _apply(self, plan, directory, kernel, loader, auditctl, result, diffs):
        """Carry the plan out: back up, write and remove files, load, prove against a fresh
        auditctl -l (and -s), roll back on failure (AuditRuleError). Returns the result."""
        spec, own, kernel_before = plan.spec, directory.own, kernel.listing
        snapshot = file_states([os.path.join(self.rules_dir, n) for n in sorted(set(own) | {self.file_name})],
                               loader, plan.need_load)
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
        result["diff"] = diffs + [kernel_diff(kernel_before, kernel_after)]
        if self.controls:
            result["diff"].append(settings_diff(self.controls, self.status_before,
                                                status_after or self.status_before))
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
                problems.extend(delete_left(auditctl, left))
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
        load_error, load_output = load_failure(
            load, [shown(r, self.status_after) for r in missing], [r.listing() for r in left], problems)
        method = loader.method
        rolled_back, rollback_notes, kernel_now = rollback(
            self.module, loader, auditctl, snapshot, kernel_before, self.controls, self.status_before,
            self.held)
        result["load_method"] = method
        result.update({
            "changed": True, "rolled_back": rolled_back, "load_error": load_error,
            "missing": [r.listing() for r in missing], "loaded": False,
            "load_output": load_output,
            "diff": diffs + [kernel_diff(kernel_before, kernel_now)],
        })
        if rollback_notes:
            result["rollback_error"] = "; ".join(rollback_notes)
        if not self.diff_mode:
            result.pop("diff")
        msg = "loading the rule set %s failed: %s. %s" % (
            self.name, load_error, rollback_said(rolled_back, rollback_notes))
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


class HostRuleSetsManager(object):
    """Every rule set of a host in one run: validate every set, then under the host lock one
    snapshot of rules.d and the kernel, one plan (_hostplan.plan_host), and unless in check
    mode: write and remove every file, ONE load, one proof per set against one fresh listing,
    the lock (-e 2) only after the proof, and on any failure every file and the kernel list put
    back. The result is built from the plan and the outcome; per set what audit_rule returns.

    params: the audit_rule_sets module's options (sets, remove_undeclared, remove_unmanaged,
    reload, backup, rules_dir, auditd_conf, auditd_conf_path, when_unavailable). run() returns
    the result dict or raises AuditRuleError (with result keys)."""

    def __init__(self, module, params, host=None):
        self.module = module
        self.params = params
        self.sets_param = params["sets"] or []
        self.remove_undeclared = params.get("remove_undeclared", False)
        self.remove_unmanaged = params.get("remove_unmanaged", False)
        self.reload = params.get("reload", True)
        self.backup = params.get("backup", False)
        self.rules_dir = params["rules_dir"]
        self.when_unavailable = params.get("when_unavailable") or "fail"
        self.check_mode = module.check_mode
        self.diff_mode = getattr(module, "_diff", False)
        self.host = host or HostArch()
        self.warnings = []

    # ---- inputs ----------------------------------------------------------------------------

    @staticmethod
    def label(index, name):
        return "sets[%d] (%s)" % (index, _files.show(name) if isinstance(name, str) else repr(name))

    def _check_params(self):
        problems = []
        bad = control_problem(self.rules_dir) if isinstance(self.rules_dir, str) else None
        if bad:
            problems.append("rules_dir %s" % bad)
        elif not os.path.isabs(self.rules_dir or ""):
            problems.append("rules_dir %r is not an absolute path" % (self.rules_dir,))
        names = [s.get("name") for s in self.sets_param]
        for i, name in enumerate(names):
            if name in names[:i]:
                problems.append("%s: rule set %s is declared more than once (first as sets[%d])"
                                % (self.label(i, name), name, names.index(name)))
        if problems:
            raise AuditRuleError("; ".join(problems), errors=problems)

    def _declare(self, auditctl):
        """A RuleSetManager per set reads and validates it (the same options, checks and error
        texts as audit_rule), each error prefixed with sets[i] (name). Every set's problems
        at once; nothing on the host has changed."""
        managers, specs, problems, errors = [], [], [], []
        for i, item in enumerate(self.sets_param):
            params = dict(item)
            params.update(reload=self.reload, backup=self.backup, rules_dir=self.rules_dir)
            rsm = RuleSetManager(self.module, params, host=self.host)
            label = self.label(i, item.get("name"))
            try:
                specs.append(rsm.declare(auditctl))
            except AuditRuleError as e:
                problems.append("%s: %s" % (label, e.msg))
                errors.extend("%s: %s" % (label, x) for x in (e.result.get("errors") or [e.msg]))
                continue
            managers.append(rsm)
            self.warnings.extend("%s: %s" % (label, w) for w in rsm.warnings)
        if problems:
            raise AuditRuleError("; ".join(problems), errors=errors)
        return managers, specs

    # ---- the run ---------------------------------------------------------------------------

    def run(self):
        """The result; AuditRuleError (with result keys, host among them when it can be
        read) when the run fails."""
        self.conf = None
        try:
            return self._run()
        except AuditRuleError as e:
            if "host" not in e.result and self.conf is not None:
                # the report is read-only: a failed run still says what the host has
                try:
                    auditctl = self.module.get_bin_path("auditctl")
                    status = get_status(self.module, auditctl) if auditctl else None
                    e.result["host"] = _hostreport.host_report(self.module, auditctl, status, self.conf)
                except AuditRuleError:
                    pass
            raise

    def _run(self):
        conf = self.conf = _hostreport.AuditdConf(
            self.params.get("auditd_conf") or {},
            self.params.get("auditd_conf_path") or _hostreport.AUDITD_CONF)
        self._check_params()
        auditctl = self.module.get_bin_path("auditctl")
        if not auditctl and self.when_unavailable == "report":
            report = _hostreport.host_report(self.module, None, None, conf)
            return self._done(self._empty_result(
                report, "auditctl is not installed on this host (when_unavailable=report): "
                "nothing was planned or changed; the host report says what is missing"))
        if not auditctl and self.reload:
            raise AuditRuleError("auditctl is not installed on this host (install auditd/audit): "
                                 "the rules cannot be loaded; nothing was changed (with "
                                 "when_unavailable=report the module only reports the host)")
        managers, specs = self._declare(auditctl)
        self.managers = dict((m.name, (i, m)) for i, m in enumerate(managers))
        if not os.path.isdir(self.rules_dir):
            if not any(s.present for s in specs) and not self.remove_unmanaged:
                kernel = kernel_snapshot(self.module, auditctl)
                report = _hostreport.host_report(self.module, auditctl, kernel.status, conf)
                result = self._empty_result(report, "every rule set is absent (%s does not exist)"
                                            % _files.show(self.rules_dir))
                result["kernel_audit"] = kernel.available
                return self._done(result)
            raise AuditRuleError("rules_dir %s does not exist (is auditd installed?)"
                                 % _files.show(self.rules_dir))
        with HostLock(create=not self.check_mode):
            return self._run_locked(specs, auditctl, conf)

    def _empty_result(self, report, msg):
        return {"changed": False, "msg": msg, "sets": {}, "removed_sets": [], "removed_files": [],
                "kept_unmanaged_files": [], "load_method": None, "kernel_audit": False,
                "reboot_required": False, "pending": [], "rolled_back": False, "host": report,
                "diff": []}

    def _snapshot(self, auditctl):
        """The whole rules directory (every *.rules file augenrules reads, as bytes, with mode
        and owner; a symbolic link is read through, as augenrules does, and noted in
        self.links) and the kernel, each read once."""
        try:
            names = sorted_rule_files(os.listdir(self.rules_dir))
        except OSError as e:
            raise AuditRuleError("cannot list %s: %s" % (_files.show(self.rules_dir), e.strerror))
        files, modes, self.stats, self.links = {}, {}, {}, set()
        for name in names:
            path = os.path.join(self.rules_dir, name)
            if os.path.isdir(path):
                continue   # augenrules' cat skips directories too
            try:
                if _files.lstat_kind(path) == "a symbolic link":
                    self.links.add(name)
                content, st = _files.read_regular(path, follow=True, what="rule file")
            except _files.FileProblem as e:
                raise AuditRuleError(e.msg)
            if content is None:
                continue
            files[name] = content
            modes[name] = (st.st_mode, st.st_uid, st.st_gid)
            self.stats[name] = st
        return HostDirSnapshot(self.rules_dir, files, modes), kernel_snapshot(self.module, auditctl)

    def _describe(self, label):
        if label in self.managers:
            return self.label(self.managers[label][0], label)
        return "rule set %s" % label if "." not in label else "file %s" % _files.show(label)

    def _run_locked(self, specs, auditctl, conf):
        if not self.check_mode:
            stale = clean_stale_temp_files(self.rules_dir)
            if stale:
                self.warnings.append(stale)
        directory, kernel = self._snapshot(auditctl)
        self.status_before = kernel.status
        report = _hostreport.host_report(self.module, auditctl, kernel.status, conf)
        # the files this run may write or remove must be regular files (never followed)
        declared, undeclared, unmanaged = directory.classify(specs)
        touched = set(s.file_name for s in specs)
        touched.update(n for names in declared.values() for n in names)
        if self.remove_undeclared:
            touched.update(n for names in undeclared.values() for n in names)
        if self.remove_unmanaged:
            touched.update(unmanaged)
        for name in sorted(touched):
            refuse_non_regular(os.path.join(self.rules_dir, name))
        hp = plan_host(specs, directory, kernel, self.host, self.remove_undeclared,
                       self.remove_unmanaged, os.geteuid(), self.reload, self.check_mode,
                       describe=self._describe)
        self.plan = hp
        self.warnings.extend(hp.warnings)
        self.controls = [c for s in specs for c in s.controls]
        loader = Loader(self.module, self.rules_dir, auditctl) if hp.need_load else None
        result = {
            "changed": hp.changed,
            "removed_sets": list(hp.removed_undeclared),
            "removed_files": [os.path.join(self.rules_dir, n) for n in hp.remove
                              if n not in set(f for f, _c in hp.write)],
            "kept_unmanaged_files": [os.path.join(self.rules_dir, n) for n in hp.kept_unmanaged],
            "load_method": loader.method_of(hp.load_kind) if loader else None,
            "kernel_audit": kernel.available,
            "reboot_required": hp.reboot_required,
            "pending": hp.pending,
            "rolled_back": False,
            "host": report,
        }
        if not kernel.available:
            result["kernel_audit_message"] = kernel.status["message"]
        diffs = self._file_diffs(directory, hp)
        if self.check_mode:
            result["sets"] = self._set_results(hp, kernel.listing, kernel.status, kernel.available)
            result["diff"] = diffs + [kernel_diff(kernel.listing, hp.predicted_kernel, predicted=True)]
            if self.controls:
                result["diff"].append(settings_diff(
                    self.controls, kernel.status,
                    predicted_status(kernel.status, hp.controls_unset, hp.need_load), True))
            return self._done(result)
        return self._done(self._apply(hp, directory, kernel, loader, auditctl, result, diffs))

    def _set_results(self, hp, listing, status, available, backups=None):
        """{set name: what audit_rule returns for the set} from the plan and one kernel listing."""
        outcome_by = hp.outcome(listing, status, available)
        sets = {}
        for _kind, label, p in hp.units:
            if label not in self.managers:
                continue
            rsm = self.managers[label][1]
            r = {"path": p.path, "rules": [x.render() for x in p.spec.rules],
                 "controls": [c.render() for c in p.spec.controls],
                 "drift": p.drift, "reboot_required": p.reboot_required, "pending": p.pending,
                 "skipped_rules": rsm.skipped, "preset_file": rsm.preset_file,
                 "backup_file": (backups or {}).get(label),
                 "changed": p.file_changed or p.need_load}
            r.update(outcome_by[label])
            sets[label] = r
        return sets

    def _file_diffs(self, directory, hp):
        diffs = []
        for name, desired in hp.write:
            path = os.path.join(self.rules_dir, name)
            diffs.append({"before_header": path, "after_header": path,
                          "before": _text(directory.files.get(name)) or "", "after": _text(desired)})
        written = set(n for n, _c in hp.write)
        for name in hp.remove:
            if name in written:
                continue
            path = os.path.join(self.rules_dir, name)
            diffs.append({"before_header": path, "after_header": "%s (removed)" % path,
                          "before": _text(directory.files.get(name)) or "", "after": ""})
        return diffs

    def _apply(self, hp, directory, kernel, loader, auditctl, result, diffs):
        """Carry the plan out: back up, write, remove, one load, one proof, roll back on failure."""
        kernel_before = kernel.listing
        snapshot = file_states(hp.rollback_files, loader, hp.need_load)
        backups = {}
        if self.backup:
            for _kind, label, p in hp.units:
                if not p.content_changed:
                    continue
                for n in sorted(set(p.to_remove) | ({p.spec.file_name} if p.spec.present else set())):
                    if n not in directory.files:
                        continue
                    try:
                        bak = _files.backup_copy(os.path.join(self.rules_dir, n), directory.files[n],
                                                 self.stats[n])
                    except _files.FileProblem as e:
                        raise AuditRuleError(e.msg)
                    if n == p.spec.file_name or label not in backups:
                        backups[label] = bak
        for name, content in hp.write:
            _write_atomic(os.path.join(self.rules_dir, name), content, FILE_MODE, module=self.module)
        written = set(n for n, _c in hp.write)
        for name in hp.remove:
            path = os.path.join(self.rules_dir, name)
            if name not in written and os.path.lexists(path):
                os.unlink(path)

        kernel_after, status_after = kernel_before, kernel.status
        if hp.need_load:
            kernel_after, status_after = self._load_and_prove(loader, auditctl, hp, snapshot,
                                                              kernel_before, result, diffs, backups)
        result["sets"] = self._set_results(hp, kernel_after, status_after, kernel.available, backups)
        result["diff"] = diffs + [kernel_diff(kernel_before, kernel_after)]
        if self.controls:
            result["diff"].append(settings_diff(self.controls, kernel.status, status_after))
        return result

    def _prove(self, auditctl, hp):
        """(kernel list, status, {label: (missing, left)}) from one fresh listing."""
        listing = list_rules(self.module, auditctl)
        status = self.status_before
        if self.controls:
            status = get_status(self.module, auditctl)
            if status.get("timed_out"):
                raise AuditRuleError(status["message"])
        return listing, status, hp.prove(listing, status)

    def _load_and_prove(self, loader, auditctl, hp, snapshot, kernel_before, result, diffs, backups):
        add, own_lock = load_plan(hp.controls_unset, hp.load_add)
        load = loader.load(add=add, delete=hp.load_delete, lock=own_lock)
        result["load_method"] = loader.method
        kernel_after, status_after, proof, problems = kernel_before, self.status_before, {}, []
        lock_missing = []
        self.held = load["lock"]

        def failed(proof):
            return dict((k, v) for k, v in proof.items() if v[0] or v[1])

        try:
            kernel_after, status_after, proof = self._prove(auditctl, hp)
            bad = failed(proof)
            if load["rc"] == 0 and bad and not any(m for m, _l in bad.values()):
                # no -D in the compiled rules: remove the sets' old rules one by one
                problems.extend(delete_left(auditctl, [r for _m, left in bad.values() for r in left]))
                kernel_after, status_after, proof = self._prove(auditctl, hp)
            if load["rc"] == 0 and not failed(proof) and not problems and load["lock"]:
                # the rules are in and proven: now, and only now, what only a reboot undoes
                status_after, failed_lock = set_irreversible(self.module, auditctl, load["lock"],
                                                             status_after)
                if failed_lock:
                    problems.extend(failed_lock)
                    lock_missing = [c for c in load["lock"] if not c.satisfied(status_after)]
        except AuditRuleError as e:   # a query timed out or failed: the load is not proven
            problems.append(e.msg)
        bad = failed(proof)
        if load["rc"] == 0 and not bad and not problems:
            return kernel_after, status_after

        # ---- failed: say what, put everything back, fail ----
        missing = ["%s: %s" % (self._describe(k), shown(r, status_after))
                   for k, (m, _l) in sorted(bad.items()) for r in m]
        missing += [c.describe(status_after) for c in lock_missing]
        left = ["%s: %s" % (self._describe(k), r.listing()) for k, (_m, lf) in sorted(bad.items())
                for r in lf]
        load_error, load_output = load_failure(load, missing, left, problems,
                                               what_left="rule(s) that should be gone are still loaded")
        method = loader.method
        rolled_back, notes, kernel_now = rollback(self.module, loader, auditctl, snapshot,
                                                  kernel_before, self.controls, self.status_before,
                                                  self.held)
        result["load_method"] = method
        result.update({
            "changed": True, "rolled_back": rolled_back, "load_error": load_error,
            "load_output": load_output,
            "diff": diffs + [kernel_diff(kernel_before, kernel_now)],
        })
        # per set: what the kernel has now (after the rollback), and what was missing
        status_now = self.status_before
        result["sets"] = self._set_results(hp, kernel_now if rolled_back else kernel_after,
                                           status_now, True, backups)
        for label, (m, _l) in bad.items():
            if label in result["sets"]:
                result["sets"][label]["loaded"] = False
                result["sets"][label]["missing"] = [shown(r, status_after) for r in m]
        if notes:
            result["rollback_error"] = "; ".join(notes)
        if not self.diff_mode:
            result.pop("diff")
        names = sorted(set(self._describe(k) for k in bad)) or ["the host"]
        msg = "loading the rule sets failed (%s): %s. %s" % (
            ", ".join(names), load_error, rollback_said(rolled_back, notes))
        for w in self.warnings:
            self.module.warn(w)
        raise AuditRuleError(msg, **result)

    # ---- the result ------------------------------------------------------------------------

    def _done(self, result):
        result["msg"] = result.get("msg") or self._summary(result)
        report = result.get("host") or {}
        for w in report.get("warnings", []):
            self.warnings.append(w)
        for w in self.warnings:
            self.module.warn(w)
        if not self.diff_mode:
            result.pop("diff", None)
        return result

    def _summary(self, result):
        would = "would be " if self.check_mode else ""
        sets = result.get("sets", {})
        changed = sorted(n for n, r in sets.items() if r["changed"])
        parts = []
        if not result["changed"]:
            parts.append("%d rule set(s) in place, nothing to do" % len(sets))
        else:
            if changed:
                parts.append("rule set(s) %s %schanged" % (", ".join(changed), would))
            if result["removed_sets"]:
                parts.append("undeclared rule set(s) %s %sremoved" % (
                    ", ".join(result["removed_sets"]), would))
            unmanaged = [p for p in result["removed_files"]
                         if os.path.basename(p) in self.plan.removed_unmanaged]
            if unmanaged:
                parts.append("%d unmanaged file(s) %sremoved" % (len(unmanaged), would))
            if result["load_method"]:
                parts.append("%sloaded once with %s" % (would, result["load_method"]))
        if not result["kernel_audit"]:
            parts.append("kernel audit is not available, nothing was loaded")
        elif result["reboot_required"]:
            parts.append("audit rules are immutable: reboot to load them")
        else:
            not_loaded = sorted(n for n, r in sets.items() if not r["loaded"])
            if not_loaded:
                parts.append("rule set(s) %s not fully in the kernel" % ", ".join(not_loaded))
            elif sets:
                parts.append("every declared rule is in the kernel")
        return "; ".join(parts)
