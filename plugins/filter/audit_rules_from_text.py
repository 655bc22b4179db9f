# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_rules_from_text
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: Audit rule-file text as the rules option of audit_rule
description:
  - Turns auditctl rule-file text (what a C(.rules) file of C(/etc/audit/rules.d) holds) into
    the list that the O(auditfleet.auditd.audit_rule#module:rules) option takes, one mapping
    per rule line, for people who want to keep or review their rules as YAML.
  - Read by the same parser the module uses for its O(auditfleet.auditd.audit_rule#module:lines)
    option, so that both give the same kernel rules. A line without C(-F arch) gets
    C(arch) V(none) (one rule for every ABI, as auditctl loads it), C(-C) comparisons become
    mappings with C(name), C(op) and C(field), C(-p) on a rule a C(perm=) field, and a rule
    with several keys a list of keys.
  - Comments and blank lines are skipped. Control lines (C(-b), C(-f), C(-r), C(-e),
    C(--backlog_wait_time), C(--loginuid-immutable)) are not rules - the filter fails and says
    which option of O(auditfleet.auditd.audit_rule#module:controls) each one is - and neither are
    lines the module refuses (C(-D), C(-i), C(-c), C(-A), auditctl commands) or lines
    auditctl would refuse or read otherwise than they say; the error names every such line.
  - Values are not checked here (user names, syscalls and paths are the managed host's); the
    module checks them on each host.
options:
  _input:
    description: Rule-file text, as a string or a list of lines.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Keep a rule file as YAML rules
  ansible.builtin.set_fact:
    site_rules: "{{ lookup('ansible.builtin.file', 'files/40-site.rules') | auditfleet.auditd.audit_rules_from_text }}"

- name: Two lines
  ansible.builtin.debug:
    msg: >-
      {{ ['-w /etc/sudoers -p wa -k actions',
          '-a always,exit -F arch=b64 -S execve -C uid!=euid -F euid=0 -k setuid']
         | auditfleet.auditd.audit_rules_from_text }}
  # [{"path": "/etc/sudoers", "permissions": "wa", "key": "actions"},
  #  {"arch": "b64", "syscalls": ["execve"], "key": "setuid",
  #   "fields": [{"name": "uid", "op": "!=", "field": "euid"}, "euid=0"]}]
"""

RETURN = r"""
_value:
  description: The rules, one mapping per rule line, in the form of the audit_rule module's
    O(auditfleet.auditd.audit_rule#module:rules) option.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruletext import rules_from_text


def audit_rules_from_text(text):
    try:
        parsed = rules_from_text(text, what="input")
    except AuditRuleError as exc:
        raise AnsibleFilterError("audit_rules_from_text: %s" % exc.msg)
    errors = list(parsed.errors) + [
        "%s is a setting, not a rule: give it to audit_rule as controls.%s" % (line, option)
        for option, line in sorted(parsed.control_lines.items())]
    if errors:
        raise AnsibleFilterError("audit_rules_from_text: %d line(s) are not rules: %s"
                                 % (len(errors), "; ".join(errors)))
    return parsed.items


class FilterModule(object):
    def filters(self):
        return {"audit_rules_from_text": audit_rules_from_text}
