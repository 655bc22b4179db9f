# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running auditctl and augenrules: status, rule listing, loading.

Public functions other modules may use (they take an AnsibleModule for get_bin_path, run
their commands through ``_command.run`` with a timeout, and never change the host):

- ``parse_status(text)`` / ``get_status(module)``: ``auditctl -s`` as a dict.
- ``list_rules(module)``: the lines of ``auditctl -l`` (``[]`` for "No rules").
- ``canonical_listing(module)``: those rules in the collection's canonical form (each line as
  ``Rule.listing()`` prints it; see ``_rulemodel``).

``Loader`` loads a rules directory into the kernel the way the platform does (augenrules,
audit-rules.service or ``auditctl -R``). Every command is an argument list run with LC_ALL=C
and a timeout, never through a shell (``_command``); every file it writes goes through
``_files`` (no symbolic link is followed)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import tempfile
import time

from ansible_collections.auditfleet.auditd.plugins.module_utils import _command, _files
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import (
    AuditRuleError)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulesdir import (
    AUDIT_RULES, DEFAULT_RULES_DIR, FILE_MODE, LOAD_ALL, LOAD_RULE_BY_RULE, compile_rules, load_kind, lock_of,
    read_rules_dir, unlocked, _read, _text)
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import (
    parse_rule_lines)

_ERROR_LINE = re.compile(r"error in line ([0-9]+) of (\S+)")

# Temporary files of this module: rules for auditctl -R in the temporary directory, and the
# files write_atomic makes next to the file it replaces. A run killed with -9 leaves them; the
# next run that holds the host lock removes those older than STALE_AFTER seconds.
TEMP_PREFIX, TEMP_SUFFIX = "auditfleet-rules-", ".rules"
RESTORE_PREFIX = "auditfleet-restore-"
WRITE_PREFIX, WRITE_SUFFIX = ".audit_rule-", ".tmp"
_MKSTEMP = "[a-z0-9_]{8}"   # tempfile's random part
_STALE_TEMP = re.compile(r"(?:%s|%s)%s%s" % (
    re.escape(TEMP_PREFIX), re.escape(RESTORE_PREFIX), _MKSTEMP, re.escape(TEMP_SUFFIX)))
_STALE_WRITE = re.compile(r"%s%s%s" % (re.escape(WRITE_PREFIX), _MKSTEMP, re.escape(WRITE_SUFFIX)))
STALE_AFTER = 60


def _run(argv, data=None, timeout=None):
    """A command that reads the host's state; a timeout is an error naming it."""
    try:
        return _command.run(argv, data=data, timeout=timeout or _command.QUERY_TIMEOUT)
    except _command.CommandTimeout as e:
        raise AuditRuleError(e.msg, command=_command.command_line(argv))


def _step(argv, timeout=None):
    """A command that changes the host: (rc, stdout, stderr, timed_out). A timeout is a failed
    step (rc -1, the message in stderr), so that the caller rolls back as for any failure."""
    try:
        rc, out, err = _command.run(argv, timeout=timeout or _command.CHANGE_TIMEOUT)
        return rc, out, err, False
    except _command.CommandTimeout as e:
        return -1, e.stdout, (e.stderr.rstrip() + "\n" if e.stderr.strip() else "") + e.msg, True


def _num(text):
    try:
        return int(text)
    except ValueError:
        return text


def parse_status(text):
    """``auditctl -s`` output -> dict (numbers as int).

    Reads the audit 3.x/4.x form (``enabled 1`` per line; ``loginuid_immutable 0 unlocked``
    gives ``loginuid_immutable`` and ``loginuid_immutable_state``) and the audit 2.x one line
    form (``AUDIT_STATUS: enabled=1 flag=1 pid=...``, flag becoming ``failure``).
    """
    status = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("AUDIT_STATUS:"):
            for key, value in re.findall(r"(\w+)=(\S+)", line):
                status["failure" if key == "flag" else key] = _num(value)
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or not re.match(r"\A[a-z_]+\Z", parts[0]):
            continue
        key, value = parts
        if key == "loginuid_immutable":
            words = value.split()
            status[key] = _num(words[0])
            if len(words) > 1:
                status["loginuid_immutable_state"] = words[1]
        else:
            status[key] = _num(value.strip())
    return status


def get_status(module, auditctl=None):
    """The kernel's audit status, as a dict.

    Always has ``available`` (bool: kernel audit can be read and configured from here),
    ``immutable`` (bool: enabled is 2, rules cannot change until reboot) and ``message``
    (why it is not available, else ""), plus the fields of ``auditctl -s`` (enabled, failure,
    pid, rate_limit, backlog_limit, lost, backlog, backlog_wait_time, ...). When ``auditctl -s``
    does not answer in time, ``timed_out`` is true and ``message`` says so.
    """
    auditctl = auditctl or module.get_bin_path("auditctl")
    if not auditctl:
        return {"available": False, "immutable": False,
                "message": "auditctl is not installed (install auditd/audit)"}
    try:
        rc, out, err = _command.run([auditctl, "-s"], timeout=_command.QUERY_TIMEOUT)
    except _command.CommandTimeout as e:
        return {"available": False, "immutable": False, "timed_out": True, "message": e.msg}
    status = parse_status(out)
    status["available"] = rc == 0 and "enabled" in status
    status["immutable"] = status.get("enabled") == 2
    if status["available"]:
        status["message"] = ""
    else:
        said = " ".join((err or out or "").split()) or "no output"
        status["message"] = (
            "kernel audit is not available here: auditctl -s exited %d (%s). Typical causes: "
            "a container or user namespace without CAP_AUDIT_CONTROL (Operation not permitted), "
            "audit not reachable from this namespace (Connection refused), a kernel without "
            "audit support (Protocol not supported)" % (rc, said))
    return status


def list_rules(module, auditctl=None):
    """The rules loaded in the kernel, as ``auditctl -l`` prints them (one string each)."""
    auditctl = auditctl or module.get_bin_path("auditctl", required=True)
    rc, out, err = _run([auditctl, "-l"])
    if rc != 0:
        raise AuditRuleError("auditctl -l failed (rc %d): %s" % (rc, (err or out).strip()))
    return [line for line in out.splitlines() if line.strip() and line.strip() != "No rules"]


def canonical_listing(module, auditctl=None, host=None):
    """The kernel's rules in canonical form (``Rule.listing()`` of each ``auditctl -l`` line)."""
    return [rule.listing() for rule in parse_rule_lines(list_rules(module, auditctl), host)]


def auditctl_version(module, auditctl):
    """(major, minor, ...) of ``auditctl -v``, or None."""
    rc, out, err = _run([auditctl, "-v"])
    m = re.search(r"version\s+([0-9]+(?:\.[0-9]+)*)", out + err)
    return tuple(int(x) for x in m.group(1).split(".")) if m else None


def auditctl_syscalls(module, host):
    """{arch: set of syscall names} that this host's auditctl knows, per ABI of HOST (b64, b32,
    and None for a rule without -F arch, which auditctl reads with the native table), from
    `ausyscall ARCH --dump` (same package, same libaudit tables). None when ausyscall is missing;
    an ABI whose dump fails is left out (the collection's table is then all there is)."""
    ausyscall = module.get_bin_path("ausyscall")
    if not ausyscall:
        return None
    tables = {}
    for arch in (("b64", "b32") if host.is64 else ("b32",)):
        if host.table(arch) is None:
            continue
        try:
            rc, out, err = _command.run([ausyscall, arch, "--dump"], timeout=_command.QUERY_TIMEOUT)
        except _command.CommandTimeout:
            continue
        names = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                names.add(parts[1])
        if rc == 0 and names:
            tables[arch] = names
    native = "b64" if host.is64 else "b32"
    if native in tables:
        tables[None] = tables[native]
    return tables or None


def load_plan(controls, rules):
    """(what to add with one auditctl -R, the settings to set after the proof).

    The settings come first and the rules after them, as augenrules orders a file. What only a
    reboot undoes (--loginuid-immutable, the lock -e 2: Control.irreversible) is never part of
    the load: loaded with the rules, a rule the kernel rejects would leave the host locked (or
    its login uids immutable) without it until the next boot, and the rollback could not undo
    it. Those are set on their own once the rules are proven, in the order of CONTROLS (the
    lock last).
    """
    settings = [c for c in controls if not c.irreversible]
    lock = [c for c in controls if c.irreversible]
    return settings + list(rules), lock


class Loader(object):
    """Loads the rules of a rules directory into the kernel, the way the platform does.

    When the compiled directory starts with -D (it replaces every loaded rule; the default
    files of the distributions have it):
    - rules_dir is /etc/audit/rules.d and systemd runs audit-rules.service (audit 4.x), a oneshot
      unit that does not stay active: ``systemctl start audit-rules.service``, which runs it
      again. Not ``restart``: auditd.service Requires= audit-rules.service, so systemd restarts
      auditd along with it (measured on Debian 13, audit 4.0.2);
    - rules_dir is /etc/audit/rules.d and augenrules exists (also where audit-rules.service
      stays active, RemainAfterExit=yes, which a start would not run again):
      ``augenrules --load``, what the unit runs;
    - otherwise the directory is compiled here exactly as augenrules does it (into
      /etc/audit/audit.rules for the default directory, into a private temporary file for
      another one) and loaded with ``auditctl -R``.
    When the compiled rules hold what only a reboot undoes (-e 2, --loginuid-immutable:
    ``_rulesdir.lock_of``), neither augenrules --load nor the service is used:
    /etc/audit/audit.rules is compiled for the next boot (augenrules without --load), and the
    compiled rules without those lines are loaded with ``auditctl -R``. Their Controls are
    returned (``result["lock"]``) for the caller to set once the rules are proven.
    Without -D, loading the whole directory again would stop at the first rule that is already
    loaded (Rule exists), so the change is applied rule by rule: the set's dropped rules are
    deleted (``auditctl -d``/``-W``) and its missing ones added (``auditctl -R`` on them only);
    /etc/audit/audit.rules is still recompiled (``augenrules`` without --load) for the next boot.
    Never ``systemctl restart auditd`` (systemd refuses it: RefuseManualStop).
    Every command has a timeout (``_command``); one that runs out is a failed load.
    """

    def __init__(self, module, rules_dir, auditctl):
        self.module = module
        self.rules_dir = rules_dir
        self.auditctl = auditctl
        self.default_dir = os.path.realpath(rules_dir) == os.path.realpath(DEFAULT_RULES_DIR)
        self.argv = None
        self.augenrules = None
        self.compiled_path = AUDIT_RULES if self.default_dir else None
        self.full_method = "auditctl"
        if self.default_dir:
            self.augenrules = module.get_bin_path("augenrules")
            systemctl = module.get_bin_path("systemctl") if os.path.isdir("/run/systemd/system") else None
            if systemctl and self._unit_runs_again(systemctl, "audit-rules.service"):
                self.full_method = "augenrules"
                self.argv = [systemctl, "start", "audit-rules.service"]
            elif self.augenrules:
                self.full_method = "augenrules"
                self.argv = [self.augenrules, "--load"]
        self.method = self.full_method

    def _unit_runs_again(self, systemctl, unit):
        """Is UNIT there, and does `systemctl start` run it again (it does not stay active)?"""
        rc, out, err = _run([systemctl, "show", "-p", "LoadState", "-p", "RemainAfterExit", unit])
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return rc == 0 and props.get("LoadState") == "loaded" and props.get("RemainAfterExit") == "no"

    @property
    def touches_audit_rules(self):
        """Does loading rewrite /etc/audit/audit.rules (and augenrules' .prev copy)?"""
        return self.default_dir

    def compile(self, replace=None):
        """(lines, origins) of the compiled directory (see _rulesdir.compile_rules)."""
        return compile_rules(read_rules_dir(self.rules_dir, replace), self.rules_dir)

    def method_of(self, kind):
        """The method name of a load of this kind (_rulesdir.load_kind): the platform's full
        method for a load of the whole directory, else auditctl."""
        return self.full_method if kind == LOAD_ALL else "auditctl"

    def method_for(self, replace=None):
        return self.method_of(load_kind(self.compile(replace)[0]))

    def load(self, add=(), delete=(), lock=()):
        """Load the directory; return dict(rc, stdout, stderr, command, seconds, error_line,
        timed_out, lock): lock is the list of Controls (Control.irreversible: --loginuid-immutable,
        -e 2, in that order) for the caller to set once the rules are proven, [] when none.
        Nothing here locks the kernel or makes login uids immutable.

        add/delete: Rule and Control objects for the rule by rule path (used when there is no
        -D); lock: the set's own irreversible Controls for that path."""
        started = time.time()
        lines, origins = self.compile()
        kind = load_kind(lines)
        self.method = self.method_of(kind)
        if kind != LOAD_RULE_BY_RULE:
            held = lock_of(lines)
            result = self._load_all(lines, held)
        else:
            result = self._load_rules(lines, add, delete)
            held = list(lock)
        result["lock"] = held
        result["seconds"] = round(time.time() - started, 3)
        return result

    def _compiled_file(self, lines):
        """Write the compiled rules where auditctl -R reads them; return (path, temporary)."""
        content = ("\n".join(lines) + "\n").encode("utf-8")
        if self.compiled_path:
            _write_atomic(self.compiled_path, content, FILE_MODE)
            return self.compiled_path, False
        return _temp_rules(content), True

    def _boot_file(self, lines, steps):
        """Keep /etc/audit/audit.rules right for the next boot (default directory only)."""
        if not self.default_dir:
            return
        if self.augenrules:
            steps.append(([self.augenrules],) + _step([self.augenrules]))
        else:
            _write_atomic(AUDIT_RULES, ("\n".join(lines) + "\n").encode("utf-8"), FILE_MODE)

    def _load_all(self, lines, held):
        tmp = None
        steps = []
        try:
            if not held and self.argv is not None:
                argv = self.argv
            elif not held:
                target, temporary = self._compiled_file(lines)
                tmp = target if temporary else None
                argv = [self.auditctl, "-R", target]
            else:
                # compiled for the boot with the lock; loaded now without it
                self._boot_file(lines, steps)
                tmp = _temp_rules(("\n".join(unlocked(lines)) + "\n").encode("utf-8"))
                argv = [self.auditctl, "-R", tmp]
            steps.append((argv,) + _step(argv))
            return self._steps_result(steps, tmp)
        finally:
            if tmp:
                os.unlink(tmp)

    def _load_rules(self, lines, add, delete):
        steps = []
        self._boot_file(lines, steps)
        for rule in delete:
            args = rule.delete_args()
            if not args:
                continue
            argv = [self.auditctl] + args
            steps.append((argv,) + _step(argv))
        tmp = None
        try:
            if add:
                tmp = _temp_rules("".join(rule.render() + "\n" for rule in add).encode("utf-8"))
                argv = [self.auditctl, "-R", tmp]
                steps.append((argv,) + _step(argv))
            return self._steps_result(steps, tmp)
        finally:
            if tmp:
                os.unlink(tmp)

    def _steps_result(self, steps, tmp):
        """One result for the commands run: the first failure's rc, all the output."""
        rc = 0
        for step in steps:
            rc = rc or step[1]
        result = {"rc": rc, "stdout": "".join(s[2] for s in steps),
                  "stderr": "".join(s[3] for s in steps),
                  "command": "; ".join(_command.command_line(s[0]) for s in steps) or "nothing to do",
                  "timed_out": any(s[4] for s in steps), "error_line": None}
        m = _ERROR_LINE.search(result["stderr"]) or _ERROR_LINE.search(result["stdout"])
        if m:
            result["error_line"] = self._explain_line(int(m.group(1)), m.group(2), tmp)
        return result

    def _explain_line(self, number, path, tmp):
        """'line N of FILE: RULE (from RULES FILE)' for auditctl's 'error in line N of FILE'."""
        try:
            data = _read(tmp or path) if (tmp or os.path.isabs(path)) else None
            others = read_rules_dir(self.rules_dir)
        except AuditRuleError:
            data, others = None, []
        lines = _text(data).split("\n") if data is not None else []
        if not 0 < number <= len(lines):
            return "line %d of %s" % (number, path)
        line = lines[number - 1]
        origin = None
        for name, text in others:
            if line in text.split("\n"):
                origin = os.path.join(self.rules_dir, name)
                break
        where = " (from %s)" % _files.show(origin) if origin else ""
        return "line %d of %s: %s%s" % (number, path, line, where)


def _temp_rules(content, prefix=TEMP_PREFIX):
    """A private (0600, root) temporary rules file for auditctl -R; the caller removes it."""
    return _files.private_temp(content, prefix, TEMP_SUFFIX)


def _write_atomic(path, content, mode, module=None, owner=(0, 0)):
    """Replace PATH with CONTENT through a temporary file in its directory (never following a
    symbolic link, see _files.write_atomic); SELinux hosts get the default context."""
    try:
        _files.write_atomic(path, content, mode, owner, WRITE_PREFIX, WRITE_SUFFIX)
    except _files.FileProblem as e:
        raise AuditRuleError(e.msg)
    if module is not None and module.selinux_enabled():
        module.set_default_selinux_context(path, False)


def remove_stale_temp_files(directories):
    """Temporary files of this module that a killed run left (see STALE_AFTER): removed, and
    returned. Call it only while holding the host lock (no other run is writing them)."""
    removed = _files.remove_stale(tempfile.gettempdir(), _STALE_TEMP, STALE_AFTER)
    seen = set()
    for directory in directories:
        real = os.path.realpath(directory)
        if real not in seen:
            seen.add(real)
            removed += _files.remove_stale(directory, _STALE_WRITE, STALE_AFTER)
    return removed
