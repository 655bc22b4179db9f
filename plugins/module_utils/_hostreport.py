# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only host report of audit_rule_sets: is auditd installed, registered with the
kernel (``auditctl -s`` pid), enabled at boot, does auditd.conf hold the wanted values, was the
kernel booted with audit=1, is the login uid immutable. Nothing here changes the host; every
answer is read from files, from the ``auditctl -s`` the engine already read, or from a read-only
query (``systemctl is-enabled``).

``AuditdConf`` validates the wanted values (before anything on the host changes) and compares
them with the file; ``host_report`` puts it all together."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re

from ansible_collections.auditfleet.auditd.plugins.module_utils import _command, _files
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import read_cmdline
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError, control_problem

AUDITD_CONF = "/etc/audit/auditd.conf"
CONF_LIMIT = 1 << 20            # auditd.conf is a few KiB; refuse to read more than 1 MiB
SYSTEMD_RUNNING = "/run/systemd/system"
SYSTEMD_WANTS = "/etc/systemd/system/*.wants/auditd.service"
SYSV_RC = "/etc/rc[2345].d"
_KEY = re.compile(r"\A[A-Za-z0-9_]+\Z")


def conf_value(value):
    """How the role writes a value into auditd.conf: booleans as yes/no, the rest as text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class AuditdConf(object):
    """The wanted auditd.conf values ({key: value}, keys case-insensitive) and the file's path,
    validated when built (AuditRuleError naming the key and the value, escaped)."""

    def __init__(self, wanted, path=AUDITD_CONF):
        problems = []
        if not isinstance(wanted, dict):
            raise AuditRuleError("auditd_conf must be a dict of key: value, got %r" % (wanted,))
        bad = control_problem(path) if isinstance(path, str) else "is not a string"
        if bad:
            problems.append("auditd_conf_path %s" % bad)
        elif not os.path.isabs(path):
            problems.append("auditd_conf_path %r is not an absolute path" % (path,))
        self.wanted = {}
        for key in sorted(wanted, key=str):
            value = wanted[key]
            if not isinstance(key, str) or not _KEY.match(key):
                problems.append("auditd_conf key %r is not allowed: use letters, digits and _ "
                                "(an auditd.conf(5) key)" % (key,))
                continue
            if value is None or isinstance(value, (dict, list)):
                problems.append("auditd_conf.%s: %r is not a value for auditd.conf (use a string, "
                                "a number or a boolean)" % (key, value))
                continue
            text = conf_value(value)
            bad = control_problem(text)
            if bad:
                problems.append("auditd_conf.%s %s" % (key, bad))
            elif text != text.strip() or not text:
                problems.append("auditd_conf.%s %r: an empty value or one with leading or trailing "
                                "whitespace is not allowed" % (key, text))
            elif key.lower() in self.wanted:
                problems.append("auditd_conf key %s is given twice (keys are case-insensitive)" % key)
            else:
                self.wanted[key.lower()] = text
        if problems:
            raise AuditRuleError("; ".join(problems), errors=problems)
        self.path = path

    def read(self):
        """{key (lower case): value} of the file (the last line of a key counts, as the role's
        lineinfile replaces the last one), or None when the file does not exist."""
        try:
            content = _files.read_regular(self.path, what="auditd.conf", limit=CONF_LIMIT)[0]
        except _files.FileProblem as e:
            raise AuditRuleError(e.msg)
        if content is None:
            return None
        have = {}
        for line in content.decode("utf-8", "replace").splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            have[key.strip().lower()] = value.strip()
        return have

    def compare(self):
        """(found, matches, differs {key: {have, want}})."""
        have = self.read()
        differs = {}
        for key, want in sorted(self.wanted.items()):
            got = (have or {}).get(key)
            if got != want:
                differs[key] = {"have": got, "want": want}
        return have is not None, not differs and (have is not None or not self.wanted), differs


def booted_with_audit(cmdline=None):
    """True/False for audit=1/audit=0 on the kernel command line (the last one counts, as the
    kernel reads it), None when it is not there or cannot be read."""
    if cmdline is None:
        cmdline = read_cmdline()
    answer = None
    for word in cmdline.split():
        if word.startswith("audit="):
            value = word[len("audit="):]
            answer = True if value in ("1", "on") else False if value in ("0", "off") else answer
    return answer


def _sysv_enabled():
    """True: an S link of auditd in a multi-user runlevel; False: only K links there; None:
    no runlevel directory mentions auditd."""
    starts = glob.glob(os.path.join(SYSV_RC, "S[0-9][0-9]auditd"))
    if starts:
        return True
    stops = glob.glob(os.path.join(SYSV_RC, "K[0-9][0-9]auditd"))
    return False if stops else None


def _systemd_enabled(module):
    """True: a link auditd.service in a .wants directory of /etc/systemd/system, or systemctl
    is-enabled says so; False when it says disabled or masked; None when it cannot tell."""
    if any(os.path.islink(p) for p in glob.glob(SYSTEMD_WANTS)):
        return True
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return None
    try:
        rc, out, err = _command.run([systemctl, "is-enabled", "auditd.service"],
                                    timeout=_command.QUERY_TIMEOUT)
    except _command.CommandTimeout:
        return None
    said = out.strip().split("\n", maxsplit=1)[0] if out else ""
    if said in ("enabled", "enabled-runtime", "static", "alias", "indirect", "generated"):
        return True
    if said in ("disabled", "masked", "masked-runtime"):
        return False
    return None


def enabled_at_boot(module):
    """Is auditd started at boot: asked of systemd when it runs (PID 1), else of the SysV
    runlevel links; when those do not tell, a systemd .wants link still says yes. None when
    nothing can tell."""
    if os.path.isdir(SYSTEMD_RUNNING):
        return _systemd_enabled(module)
    answer = _sysv_enabled()
    if answer is None and any(os.path.islink(p) for p in glob.glob(SYSTEMD_WANTS)):
        answer = True
    return answer


def host_report(module, auditctl, status, conf):
    """The report (a dict; see the module's RETURN host). STATUS is the auditctl -s dict the
    engine read (None without auditctl); CONF an AuditdConf."""
    status = status or {}
    pid = status.get("pid") if isinstance(status.get("pid"), int) else 0
    found, matches, differs = conf.compare()
    booted = booted_with_audit()
    loginuid = status.get("loginuid_immutable")
    report = {
        "auditctl_found": bool(auditctl),
        "auditd_found": bool(module.get_bin_path("auditd")),
        "auditd_pid": pid,
        "auditd_running": pid != 0,
        "enabled_at_boot": enabled_at_boot(module),
        "auditd_conf_found": found,
        "auditd_conf_matches": matches,
        "auditd_conf_differs": differs,
        "auditd_conf_path": conf.path,
        "booted_with_audit": booted,
        "loginuid_immutable": None if loginuid is None else bool(loginuid),
        "warnings": [],
    }
    report["ready"] = bool(report["auditctl_found"] and report["auditd_found"]
                           and report["auditd_running"] and report["enabled_at_boot"] is not False
                           and report["auditd_conf_matches"])
    if booted is not True:
        report["warnings"].append(
            "the kernel was booted %s (/proc/cmdline): processes started before auditd are not "
            "audited (their audit context is not set); add audit=1 to the kernel command line"
            % ("with audit=0" if booted is False else "without audit=1"))
    return report
