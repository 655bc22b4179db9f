# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel audit settings a rule file carries (-b, -f, --backlog_wait_time, -r,
--loginuid-immutable, -e 2): the ``controls`` option (``Control``, ``validate_controls``), the
settings no load may carry (``Control.irreversible``, ``irreversible_of``) and the check that no
later file of the rules directory overrides a set's setting (``control_overrides``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.auditfleet.auditd.plugins.module_utils._files import show
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import (
    _type_name)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import (
    AuditRuleError, _int_of)

FAILURE_MODES = {"silent": 0, "printk": 1, "panic": 2}
# (option, auditctl flag, the auditctl -s line that proves it, highest value allowed; for the
# two switches, the value auditctl -s shows once they are set)
CONTROLS = (
    ("buffer_size", "-b", "backlog_limit", 0x7FFFFFFF),
    ("failure_mode", "-f", "failure", 2),
    # the kernel refuses more than 10 * 60 * HZ; 600000 fits the largest HZ (1000)
    ("backlog_wait_time", "--backlog_wait_time", "backlog_wait_time", 600000),
    ("rate_limit", "-r", "rate_limit", 0x7FFFFFFF),
    # The two settings nothing undoes but a reboot (IRREVERSIBLE): true or absent, in the order
    # they are set after the proof (the lock of the configuration last).
    ("loginuid_immutable", "--loginuid-immutable", "loginuid_immutable", 1),
    ("immutable", "-e", "enabled", 2),
)
# Options whose setting no load may carry: a rejected rule after them could not be rolled back.
# They are set on their own, after the rules are proven (see _ruleset.set_irreversible).
IRREVERSIBLE = ("loginuid_immutable", "immutable")


class Control(object):
    """One kernel audit setting: how a rule file says it, and how auditctl -s proves it."""

    def __init__(self, option, flag, value, status_key):
        self.option, self.flag, self.value, self.status_key = option, flag, value, status_key

    @property
    def irreversible(self):
        """Only a reboot undoes it: never loaded with the rules, set after their proof."""
        return self.option in IRREVERSIBLE

    def render(self):
        if self.option == "loginuid_immutable":
            return self.flag    # a switch: auditctl takes no value
        return "%s %d" % (self.flag, self.value)

    listing = render

    def satisfied(self, status):
        return status.get(self.status_key) == self.value

    def describe(self, status):
        return "%s (auditctl -s: %s %s)" % (self.render(), self.status_key,
                                            status.get(self.status_key, "?"))

    def __repr__(self):
        return "Control(%s)" % self.render()


def validate_controls(controls):
    """The controls option -> [Control]; errors name the setting, the value and what is
    allowed. immutable=false and loginuid_immutable=false add nothing (neither can be undone
    by a rule)."""
    if not controls:
        return []
    if not isinstance(controls, dict):
        raise AuditRuleError("controls must be a dict of %s, not %s"
                             % (", ".join(c[0] for c in CONTROLS), _type_name(controls)))
    known = [c[0] for c in CONTROLS]
    errors = ["controls: %r is not a setting: use %s" % (k, ", ".join(known))
              for k in sorted(controls, key=str) if k not in known]
    out = []
    for option, flag, status_key, highest in CONTROLS:
        value = controls.get(option)
        if value is None:
            continue
        if option in IRREVERSIBLE:
            if value not in (True, False):
                errors.append("controls.%s %r is not a boolean" % (option, value))
            elif value:
                out.append(Control(option, flag, highest, status_key))
            continue
        if option == "failure_mode" and isinstance(value, str) and value.lower() in FAILURE_MODES:
            value = FAILURE_MODES[value.lower()]
        elif isinstance(value, str) and _int_of(value.strip()) is not None and not value.strip().startswith("-"):
            value = _int_of(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= highest:
            allowed = ("0 (silent), 1 (printk) or 2 (panic), or silent, printk, panic"
                       if option == "failure_mode" else "an integer from 0 to %d" % highest)
            errors.append("controls.%s %r is not allowed: use %s" % (option, value, allowed))
            continue
        out.append(Control(option, flag, value, status_key))
    if errors:
        raise AuditRuleError("invalid controls: %s" % "; ".join(errors), errors=errors)
    return out


def control_overrides(controls, lines, origins, own_file, rules_dir):
    """Controls of OWN_FILE that another file overrides in the compiled rules (augenrules
    keeps the last -b, -f and -e; later --backlog_wait_time and -r lines run after ours).
    Returns ["controls.X: ..."] problems, empty when every control takes effect."""
    problems = []
    for control in controls:
        last = None
        for line, origin in zip(lines, origins):
            words = line.split()
            if words and words[0] == control.flag:
                last = (line.strip(), origin)
        if last is not None and last[1] != own_file and last[0] != control.render():
            problems.append(
                "controls.%s: %s in %s would not take effect: '%s' in %s comes after it (augenrules "
                "keeps the last %s); remove that line or file, or set the same value"
                % (control.option, control.render(), show(os.path.join(rules_dir, own_file)), show(last[0]),
                   show(os.path.join(rules_dir, last[1] or "?")), control.flag))
    return problems


def irreversible_of(line):
    """The Control of a rule-file LINE that sets what only a reboot undoes, or None for any other
    line. auditctl reads a line with getopt_long, so besides ``--loginuid-immutable`` and
    ``-e 2`` it takes ``-e2`` and any abbreviation of the long option (``--loginuid``, ``--l``),
    and sets the login uids immutable as soon as it reads the option, whatever follows."""
    words = line.split()
    if not words:
        return None
    head = words[0]
    if len(head) > 2 and head.startswith("--") and "loginuid-immutable".startswith(head[2:]):
        return validate_controls({"loginuid_immutable": True})[0]
    if words in (["-e", "2"], ["-e2"]):
        return validate_controls({"immutable": True})[0]
    return None
