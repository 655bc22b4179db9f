# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument specs of the rule-set modules, in one place: the options of one rule set
(audit_rule's options, and each item of audit_rule_sets' ``sets``) and the run-wide ones."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


def rule_set_options():
    """The options of one rule set (the rules themselves are validated by the rule model, which
    names the rule, field and value)."""
    return dict(
        name=dict(type="str", required=True),
        priority=dict(type="int"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        # items are validated by the rule model, which names the rule, field and value
        rules=dict(type="list", elements="dict"),
        # rule-file text: a string or a list of lines, parsed by the rule model
        lines=dict(type="raw"),
        preset=dict(type="str"),
        inapplicable=dict(type="str", default="fail", choices=["fail", "skip"]),
        controls=dict(type="dict", options=dict(
            buffer_size=dict(type="int"),
            failure_mode=dict(type="str", choices=["0", "1", "2", "silent", "printk", "panic"]),
            backlog_wait_time=dict(type="int"),
            rate_limit=dict(type="int"),
            loginuid_immutable=dict(type="bool", default=False),
            immutable=dict(type="bool", default=False),
        )),
    )


RULE_SOURCES = ("rules", "lines", "preset")   # mutually exclusive


def run_options():
    """The options of a run: one load, backups, the rules directory."""
    return dict(
        reload=dict(type="bool", default=True),
        backup=dict(type="bool", default=False),
        rules_dir=dict(type="path", default="/etc/audit/rules.d"),
    )


def audit_rule_spec():
    spec = rule_set_options()
    spec.update(run_options())
    return spec


def audit_rule_sets_spec():
    spec = dict(
        sets=dict(type="list", elements="dict", required=True, options=rule_set_options(),
                  mutually_exclusive=[RULE_SOURCES]),
        remove_undeclared=dict(type="bool", default=False),
        remove_unmanaged=dict(type="bool", default=False),
        auditd_conf=dict(type="dict", default={}),
        auditd_conf_path=dict(type="path", default="/etc/audit/auditd.conf"),
        when_unavailable=dict(type="str", default="fail", choices=["fail", "report"]),
    )
    spec.update(run_options())
    return spec
