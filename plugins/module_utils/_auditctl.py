# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running auditctl and augenrules: status, rule listing, loading, the host lock, rule sets.

Public functions other modules may use (they take an AnsibleModule for get_bin_path, run
their commands through ``_command.run`` with a timeout, and never change the host):

- ``parse_status(text)`` / ``get_status(module)``: ``auditctl -s`` as a dict.
- ``list_rules(module)``: the lines of ``auditctl -l`` (``[]`` for "No rules").
- ``canonical_listing(module)``: those rules in the collection's canonical form (each line as
  ``Rule.listing()`` prints it; see ``_auditrules``).

``RuleSetManager`` is the audit_rule module's engine: it decides everything first, then, unless
in check mode, writes the rule file, loads it, proves the kernel has the rules and rolls back
when it does not. Every command is an argument list run with LC_ALL=C and a timeout, never
through a shell (``_command``); every file it reads or writes goes through ``_files`` (no FIFO
blocks it, no symbolic link is followed where it writes).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import os
import re
import stat
import tempfile
import time

from ansible_collections.auditfleet.auditd.plugins.module_utils import _command, _files, _presets
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditrules import (
    INAPPLICABLE_CHOICES, AuditRuleError, HostArch, check_name, compile_rules, control_problem,
    managed_name, parse_rule_line, parse_rule_lines, render_file, rule_file_name,
    rules_from_text, sorted_rule_files, validate_rule_set, validate_controls, control_overrides,
    _error_summary)

DEFAULT_RULES_DIR = "/etc/audit/rules.d"
AUDIT_RULES = "/etc/audit/audit.rules"   # what augenrules compiles rules.d into
LOCK_PATH = "/run/auditfleet-audit_rule.lock"
LOCK_TIMEOUT = 300
FILE_MODE = 0o640
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
# The kernel's audit lock: a compiled -e line that sets it is never loaded with the rules.
_LOCK_LINE = re.compile(r"\A\s*-e\s+2\s*\Z", re.A)


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


# --------------------------------------------------------------------------------------------
# Status and listing
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# The host lock
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

def _read(path, follow=True, what="file"):
    """The bytes of the regular file PATH, or None when it does not exist. A FIFO, socket,
    device or directory is refused (never opened blocking); follow=False refuses a symbolic
    link too (its target is never read)."""
    try:
        return _files.read_regular(path, follow=follow, what=what)[0]
    except _files.FileProblem as e:
        raise AuditRuleError(e.msg)


def _text(data):
    return None if data is None else data.decode("utf-8", "replace")


def read_rules_dir(rules_dir, replace=None):
    """[(file name, text)] of the *.rules files augenrules would read, in its order.

    replace: {file name: text or None} overrides the disk (None: the file is gone).
    Directories are skipped (augenrules' cat skips them too); a FIFO, socket or device named
    *.rules is refused: augenrules would hang or fail on it.
    """
    replace = replace or {}
    try:
        names = set(sorted_rule_files(os.listdir(rules_dir)))
    except OSError as e:
        raise AuditRuleError("cannot list %s: %s" % (_files.show(rules_dir), e.strerror))
    names.update(n for n, t in replace.items() if t is not None)
    out = []
    for name in sorted_rule_files(names):
        if name in replace:
            if replace[name] is not None:
                out.append((name, replace[name]))
            continue
        path = os.path.join(rules_dir, name)
        if os.path.isdir(path):
            continue
        text = _text(_read(path, what="rule file"))
        if text is not None:
            out.append((name, text))
    return out


def load_plan(controls, rules):
    """(what to add with one auditctl -R, the lock to set after the proof).

    The settings come first and the rules after them, as augenrules orders a file. The lock
    (-e 2) is never part of the load: loaded with the rules, a rule the kernel rejects would
    leave the host locked without it until the next boot, and the rollback could not undo
    anything. It is set on its own once the rules are proven.
    """
    settings = [c for c in controls if c.flag != "-e"]
    lock = [c for c in controls if c.flag == "-e"]
    return settings + list(rules), lock


def lock_of(lines):
    """The argv tail of the compiled rules' lock line (["-e", "2"]), or None."""
    for line in lines:
        if _LOCK_LINE.match(line):
            return line.split()
    return None


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
    When the compiled rules lock the kernel (-e 2), neither augenrules --load nor the service
    is used: /etc/audit/audit.rules is compiled for the next boot (augenrules without --load),
    and the compiled rules without the lock line are loaded with ``auditctl -R``. The lock is
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
        """(lines, origins) of the compiled directory (see _auditrules.compile_rules)."""
        return compile_rules(read_rules_dir(self.rules_dir, replace), self.rules_dir)

    def replaces_all(self, replace=None):
        """Does a load replace every kernel rule (the compiled rules start with -D)?"""
        return self.compile(replace)[0][1].strip() == "-D"

    def method_for(self, replace=None):
        lines = self.compile(replace)[0]
        if lines[1].strip() != "-D" or lock_of(lines):
            return "auditctl"
        return self.full_method

    def load(self, add=(), delete=(), lock=()):
        """Load the directory; return dict(rc, stdout, stderr, command, seconds, error_line,
        timed_out, lock): lock is the argv tail (["-e", "2"]) to run once the rules are proven,
        or None. Nothing here locks the kernel.

        add/delete: Rule and Control objects for the rule by rule path (used when there is no
        -D); lock: the set's own lock Controls for that path."""
        started = time.time()
        lines, origins = self.compile()
        if lines[1].strip() == "-D":
            held = lock_of(lines)
            self.method = self.full_method if held is None else "auditctl"
            result = self._load_all(lines, held)
        else:
            self.method = "auditctl"
            result = self._load_rules(lines, add, delete)
            held = lock[0].render().split() if lock else None
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
            if held is None and self.argv is not None:
                argv = self.argv
            elif held is None:
                target, temporary = self._compiled_file(lines)
                tmp = target if temporary else None
                argv = [self.auditctl, "-R", target]
            else:
                # compiled for the boot with the lock; loaded now without it
                self._boot_file(lines, steps)
                unlocked = [line for line in lines if not _LOCK_LINE.match(line)]
                tmp = _temp_rules(("\n".join(unlocked) + "\n").encode("utf-8"))
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


# --------------------------------------------------------------------------------------------
# One rule set on one host
# --------------------------------------------------------------------------------------------

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

    def _run_locked(self, declared, auditctl):
        module = self.module
        present = self.state == "present"
        if not self.check_mode:
            # this run holds the host lock: no other run is writing these
            stale = remove_stale_temp_files([self.rules_dir, os.path.dirname(AUDIT_RULES)])
            if stale:
                self.warnings.append("removed %d temporary file(s) that an interrupted audit_rule "
                                     "run left: %s" % (len(stale), ", ".join(map(_files.show, stale))))
        own = self._own_files()
        current = own.get(self.file_name)
        desired = render_file(self.name, declared, self.controls).encode("utf-8") if present else None
        to_remove = sorted(n for n in own if n != self.file_name or not present)

        if current is not None and managed_name(current) is None:
            self.warnings.append("%s was not written by auditfleet.auditd; it is %s"
                                 % (self.path, "replaced" if present else "removed"))

        # rules of every other file in rules_dir: a duplicate there makes auditctl stop
        others = read_rules_dir(self.rules_dir, dict((n, None) for n in own))
        other_canon = {}
        for fname, text in others:
            for rule in parse_rule_lines(text.split("\n"), self.host):
                other_canon.setdefault(rule.canon(), fname)
        if present:
            dups = [(r, other_canon[r.canon()]) for r in declared if r.canon() in other_canon]
            if dups:
                problems = ["%s is already in %s" % (r.listing(), os.path.join(self.rules_dir, f))
                            for r, f in dups]
                raise AuditRuleError(
                    "the rule set repeats rules of other files, which auditctl refuses (Rule "
                    "exists) and which would stop every later rule from loading: %s"
                    % "; ".join(problems), errors=problems)

        if present and self.controls:
            lines, origins = compile_rules(
                read_rules_dir(self.rules_dir, dict([(self.file_name, _text(desired))] +
                                                    [(n, None) for n in own if n != self.file_name])),
                self.rules_dir)
            problems = control_overrides(self.controls, lines, origins, self.file_name,
                                         self.rules_dir)
            if problems:
                raise AuditRuleError("; ".join(problems), errors=problems)

        old_rules = []
        for fname in sorted(own):
            old_rules.extend(parse_rule_lines(_text(own[fname]).split("\n"), self.host))
        declared_canon = set(r.canon() for r in declared)
        stale_candidates = [r for r in old_rules
                            if r.canon() not in declared_canon and r.canon() not in other_canon]

        content_changed = (present and current != desired) or bool(
            [n for n in to_remove if n in own])
        attrs_changed = False
        if present and current is not None and current == desired:
            st = self.own_stats[self.file_name]
            attrs_changed = (st.st_mode & 0o7777) != FILE_MODE or (
                os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0))
        file_changed = content_changed or attrs_changed

        # the kernel
        status = get_status(module, auditctl) if auditctl else {
            "available": False, "immutable": False,
            "message": "auditctl is not installed, so the kernel's rules cannot be read"}
        if status.get("timed_out"):
            raise AuditRuleError("%s; nothing was changed" % status["message"])
        available, immutable = status["available"], status["immutable"]
        kernel_before = list_rules(module, auditctl) if available else []
        kernel_canon = set(r.canon() for r in parse_rule_lines(kernel_before, self.host))
        missing_before = [r for r in declared if r.canon() not in kernel_canon]
        if available:
            missing_before += [c for c in self.controls if not c.satisfied(status)]
        self.status_before = status
        stale_before = [r for r in stale_candidates if r.canon() in kernel_canon]
        if available and status.get("enabled") == 0:
            self.warnings.append("kernel audit is disabled (auditctl -s: enabled 0): rules are "
                                 "loaded but nothing is audited until it is enabled")
        if available and status.get("pid") == 0:
            self.warnings.append("auditd is not running (auditctl -s: pid 0): events go to the "
                                 "kernel log only")

        can_load = self.reload and available and not immutable
        need_load = can_load and (content_changed or bool(missing_before) or bool(stale_before))
        drift = need_load and not content_changed and bool(missing_before or stale_before)
        loader = Loader(module, self.rules_dir, auditctl) if need_load else None

        result = {
            "changed": file_changed or need_load,
            "path": self.path,
            "rules": [r.render() for r in declared],
            "controls": [c.render() for c in self.controls],
            "loaded": False,
            "missing": [],
            "drift": drift,
            "reboot_required": False,
            "pending": [],
            "kernel_audit": available,
            "load_method": loader.method if (loader and need_load) else None,
            "backup_file": None,
            "rolled_back": False,
            "skipped_rules": self.skipped,
            "preset_file": self.preset_file,
        }
        if not available:
            result["kernel_audit_message"] = status["message"]
        if immutable:
            pending = missing_before if present else stale_before
            result["reboot_required"] = bool(pending) or content_changed
            result["pending"] = [r.listing() for r in pending]
            if result["reboot_required"]:
                self.warnings.append(
                    "audit rules are immutable (auditctl -s: enabled 2): %s; nothing was loaded, "
                    "the change applies at the next boot (reboot to load it)"
                    % ("the rule file was written" if content_changed and not self.check_mode
                       else "the rule file would be written" if content_changed
                       else "the rule file is already in place"))
        if not available:
            self.warnings.append("%s; the rule file %s but nothing is loaded" % (
                status["message"], "would be written" if self.check_mode else "is written"))

        # predicted kernel after (check mode) for the diff
        replace = {self.file_name: _text(desired) if present else None}
        for n in to_remove:
            replace[n] = None

        diffs = self._file_diffs(own, current, desired, to_remove)

        if self.check_mode:
            kernel_after = kernel_before
            if need_load:
                kernel_after = self._predict(loader, replace, kernel_before, declared, stale_before)
            # check mode changes nothing: loaded/missing describe the kernel as it is
            self._finish(result, declared, kernel_before, available, present, stale_candidates)
            result["diff"] = diffs + [self._kernel_diff(kernel_before, kernel_after, predicted=True)]
            if self.controls:
                predicted = dict(self.status_before)
                if need_load:
                    predicted.update((c.status_key, c.value) for c in self.controls)
                result["diff"].append(self._settings_diff(self.status_before, predicted, True))
            if need_load:
                result["load_method"] = loader.method_for(replace)
            return self._done(result)

        # ---- side effects from here on ----
        snapshot = [_FileState(os.path.join(self.rules_dir, n)) for n in sorted(set(own) | {self.file_name})]
        if loader and loader.touches_audit_rules and need_load:
            snapshot += [_FileState(AUDIT_RULES), _FileState(AUDIT_RULES + ".prev")]
        if self.backup and content_changed:
            for n in sorted(own):
                try:
                    bak = _files.backup_copy(os.path.join(self.rules_dir, n), own[n], self.own_stats[n])
                except _files.FileProblem as e:
                    raise AuditRuleError(e.msg)
                if n == self.file_name or result["backup_file"] is None:
                    result["backup_file"] = bak
        if present and file_changed:
            _write_atomic(self.path, desired, FILE_MODE, module=module)
        for n in to_remove:
            p = os.path.join(self.rules_dir, n)
            if os.path.lexists(p):
                os.unlink(p)

        kernel_after = kernel_before
        if need_load:
            kernel_after = self._load_and_prove(loader, auditctl, declared, stale_candidates,
                                                snapshot, kernel_before, result, diffs)
        self._finish(result, declared, kernel_after, available, present, stale_candidates,
                     getattr(self, "status_after", None))
        result["diff"] = diffs + [self._kernel_diff(kernel_before, kernel_after)]
        if self.controls:
            result["diff"].append(self._settings_diff(self.status_before, getattr(
                self, "status_after", None) or self.status_before))
        return self._done(result)

    # ---- helpers ---------------------------------------------------------------------------

    def _finish(self, result, declared, kernel_after, available, present, stale_candidates,
                status_after=None):
        canon = set(r.canon() for r in parse_rule_lines(kernel_after, self.host))
        if present:
            missing = [r for r in declared if r.canon() not in canon] if available else declared
            status = status_after if status_after is not None else self.status_before
            missing = missing + [c for c in self.controls if not (available and c.satisfied(status))]
            result["missing"] = [r.listing() for r in missing]
            result["loaded"] = available and not missing
        else:
            left = [r for r in stale_candidates if r.canon() in canon]
            result["missing"] = []
            result["loaded"] = available and not left
            if left:
                result["still_loaded"] = [r.listing() for r in left]

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

    def _predict(self, loader, replace, kernel_before, declared, stale):
        """The kernel list a load would give: the compiled directory when it starts with -D
        (replaces everything), else the current list plus what is new, minus what goes."""
        lines, origins = loader.compile(replace)
        if lines[1].strip() == "-D":
            return [r.listing() for r in parse_rule_lines(lines[2:], self.host)]
        canon = set(r.canon() for r in parse_rule_lines(kernel_before, self.host))
        gone = set(r.canon() for r in stale)
        after = [line for line in kernel_before
                 if parse_rule_line(line, self.host).canon() not in gone]
        after += [r.listing() for r in declared if r.canon() not in canon]
        return after

    def _load_and_prove(self, loader, auditctl, declared, stale_candidates, snapshot,
                        kernel_before, result, diffs):
        before = set(r.canon() for r in parse_rule_lines(kernel_before, self.host))
        unset = [c for c in self.controls if not c.satisfied(self.status_before)]
        add, own_lock = load_plan(unset, [r for r in declared if r.canon() not in before])
        load = loader.load(add=add, delete=[r for r in stale_candidates if r.canon() in before],
                           lock=own_lock)
        result["load_method"] = loader.method
        kernel_after, missing, left, problems = kernel_before, [], [], []
        self.status_after = None
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
                # the rules are in and proven: now, and only now, lock the configuration
                failed_lock = self._lock(auditctl, load["lock"])
                if failed_lock:
                    problems.extend(failed_lock)
                    missing.extend(own_lock)
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
        """(kernel list, missing, left) after a load: the declared rules and settings not in
        the kernel (the lock aside: it is set only after this proof), and rules of the set that
        should be gone but are still loaded. Sets self.status_after when the set has controls."""
        kernel = list_rules(self.module, auditctl)
        canon = set(r.canon() for r in parse_rule_lines(kernel, self.host))
        # with state=absent the declared rules are the ones to remove, not to find
        missing = [r for r in declared if r.canon() not in canon] if self.state == "present" else []
        if self.controls:
            self.status_after = get_status(self.module, auditctl)
            if self.status_after.get("timed_out"):
                raise AuditRuleError(self.status_after["message"])
            missing += [c for c in self.controls
                        if c.flag != "-e" and not c.satisfied(self.status_after)]
        left = [r for r in stale_candidates if r.canon() in canon]
        return kernel, missing, left

    def _lock(self, auditctl, lock):
        """Set the lock (auditctl -e 2) once the rules are proven; [] when auditctl -s then says
        enabled 2, else what went wrong (the kernel is then not locked, so it can be rolled back)."""
        argv = [auditctl] + list(lock)
        rc, out, err, timed_out = _step(argv)
        self.status_after = get_status(self.module, auditctl)
        if self.status_after.get("immutable"):
            return []
        return ["the rules were loaded and proven, but %s did not lock the audit configuration "
                "(%s; auditctl -s: enabled %s)" % (
                    _command.command_line(argv), (err or out).strip() or "exit %s" % rc,
                    self.status_after.get("enabled", "?"))]

    def _restore_settings(self, auditctl):
        """Put back the kernel settings this set declared, as they were before the load."""
        if not self.controls:
            return []
        notes = []
        now = get_status(self.module, auditctl)
        if now.get("timed_out"):
            return ["cannot put the kernel settings back: %s" % now["message"]]
        if now.get("immutable") and not self.status_before.get("immutable"):
            return ["the failed load made audit rules immutable (enabled 2): nothing can be "
                    "put back until the host reboots"]
        for control in self.controls:
            old = self.status_before.get(control.status_key)
            if control.option == "immutable" or old is None or now.get(control.status_key) == old:
                continue
            rc, out, err, timed_out = _step([auditctl, control.flag, str(old)])
            if rc != 0:
                notes.append("cannot set %s back to %s: %s" % (control.flag, old, (err or out).strip()))
        return notes

    def _rollback(self, loader, auditctl, snapshot, kernel_before):
        """Put back every file we touched, load again, and make the kernel list what it was.
        The reload never locks the kernel (Loader.load leaves the lock to its caller)."""
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
