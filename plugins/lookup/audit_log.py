# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_log
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: Read Linux audit logs on the controller as events or kill reports
description:
  - Reads audit log files on the Ansible controller (for example logs fetched from hosts,
    or the controller's own C(/var/log/audit/audit.log)) and returns their events or kill
    reports, parsed by the collection's one audit-log parser.
  - Globs are expanded; the files of a rotated set are read oldest first
    (C(audit.log.3), C(audit.log.2), C(audit.log.1), C(audit.log)). Files ending in C(.gz) are decompressed.
  - To read the logs of managed hosts where they are, use M(auditfleet.auditd.audit_facts).
options:
  _terms:
    description: Paths or globs of audit log files.
    required: true
    type: list
    elements: str
  report:
    description:
      - What to return for each event.
      - V(events) returns every event (see P(auditfleet.auditd.audit_events#filter) for the fields).
      - V(kill) returns kill reports of the events of the syscalls that send signals (see P(auditfleet.auditd.kill_reports#filter)).
    type: str
    choices: [events, kill]
    default: events
  keys:
    description: Keep only events with one of these audit rule keys.
    type: list
    elements: str
  since:
    description: Keep only events at or after this time (epoch seconds, ISO 8601, or C(30m), C(1h), C(7d) before now).
    type: raw
  until:
    description: Keep only events at or before this time (same forms as O(since)).
    type: raw
  rotated:
    description:
      - For each plain path (not a glob), also read its rotated files (C(PATH.1), C(PATH.2), ...), oldest first.
      - Every numbered file is read, also past a gap in the numbering (a file removed by hand, C(num_logs) lowered);
        the lookup warns and names the missing files.
    type: bool
    default: false
notes:
  - Use C(query) (or C(lookup) with C(wantlist=true)) to get a list.
  - Reading C(/var/log/audit) needs root (or the C(adm) group on Debian).
  - Reports and events have no C(host) (there is no inventory host here); each has the C(node)
    auditd wrote before the record, when it did. A central log server (auditd receiving the
    records of many machines, which set C(name_format)) writes every machine's records with its
    own C(node=). P(auditfleet.auditd.fleet_kill_report#filter) counts a report without C(host)
    under its C(node), so the kill reports of such a log make one host per machine. See also
    the C(kill_report_node_as_host) variable of the C(auditfleet.auditd.kill_report) playbook,
    which does the same with the log server as a managed host.
"""

EXAMPLES = r"""
- name: Who killed what, according to the controller's own audit log and its rotated files
  ansible.builtin.debug:
    msg: "{{ query('auditfleet.auditd.audit_log', '/var/log/audit/audit.log', rotated=true, report='kill', keys=['kill_rule']) }}"

- name: The kills of a central log server's log, one host per machine (node name), as HTML
  ansible.builtin.copy:
    content: >-
      {{ query('auditfleet.auditd.audit_log', '/var/log/audit/audit.log', rotated=true, report='kill', keys=['kill_rule'])
         | auditfleet.auditd.fleet_kill_report | auditfleet.auditd.kill_report_html }}
    dest: /srv/reports/central.html
    mode: "0640"

- name: Events of the last hour from logs fetched from hosts
  ansible.builtin.set_fact:
    recent: "{{ query('auditfleet.auditd.audit_log', 'fetched/*/audit.log*', since='1h') }}"
"""

RETURN = r"""
_raw:
  description:
    - Events (O(report=events)) or kill reports (O(report=kill)), in file order.
    - The fields are documented in P(auditfleet.auditd.audit_events#filter) and P(auditfleet.auditd.kill_reports#filter).
  type: list
  elements: dict
"""

import glob
import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    expand_log_paths, parse_events, rotated_log_set)
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._inputs import (
    str_list, time_option)

NAME = "auditfleet.auditd.audit_log"
display = Display()


def resolve_paths(terms, rotated):
    """Paths and globs -> files to read, each rotated set oldest first; errors name the path."""
    paths = []
    for term in terms:
        if glob.has_magic(term):
            found = expand_log_paths([term])
            if not found:
                raise AnsibleLookupError("%s: no file matches %s" % (NAME, term))
        elif rotated:
            gaps = []
            found = rotated_log_set(term, gaps)
            if not found:
                raise AnsibleLookupError("%s: %s does not exist" % (NAME, term))
            if gaps:
                display.warning("%s: the rotated files of %s have a gap: %s missing (removed by hand, "
                                "or num_logs lowered?); the files past it are read too, what was in the "
                                "missing ones is not" % (NAME, term, ", ".join(gaps[:10]) + (" ..." if len(gaps) > 10 else "")))
        else:
            found = [term]
        for path in found:
            if not os.path.isfile(path):
                raise AnsibleLookupError("%s: %s is not a file" % (NAME, path))
            if not os.access(path, os.R_OK):
                raise AnsibleLookupError("%s: %s is not readable by this user" % (NAME, path))
            if path not in paths:
                paths.append(path)
    return paths


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        try:
            keys = str_list(self.get_option("keys"), "keys", NAME)
            since = time_option(self.get_option("since"), "since", NAME)
            until = time_option(self.get_option("until"), "until", NAME)
        except (TypeError, ValueError) as exc:
            raise AnsibleLookupError(str(exc))
        paths = resolve_paths([str(t) for t in terms], self.get_option("rotated"))
        try:
            if self.get_option("report") == "kill":
                return list(kill_reports(paths=paths, keys=keys, since=since, until=until))
            return list(parse_events(paths=paths, keys=keys, since=since, until=until))
        except (IOError, OSError) as exc:
            raise AnsibleLookupError("%s: cannot read %s: %s" % (NAME, getattr(exc, "filename", paths), exc))
