# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: kill_report_csv
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: A fleet kill report, or kill reports, as CSV
description:
  - Renders the output of P(auditfleet.auditd.fleet_kill_report#filter) as CSV text - a
    header row, then one row per kill report, sorted by time.
  - The columns are C(time), C(host), C(node), C(key), C(syscall), C(arch) (the killer's ABI -
    C(x86_64), C(i386), C(aarch64), ...), C(signal), C(signal_name),
    C(probe), C(success), C(errno), C(target_pid), C(target_tid), C(scope), C(targets)
    (C(pid:comm) of each target, joined by C(;)), C(killer_pid), C(killer_ppid), C(killer_auid),
    C(killer_login_user), C(killer_uid), C(killer_user), C(killer_comm), C(killer_exe),
    C(killer_tty), C(killer_ses), C(killer_cmdline) and C(event_id).
  - Quoting follows RFC 4180 (Python's csv module) - fields with commas, quotes or newlines are
    quoted, lines end with CRLF. Booleans are C(true)/C(false); missing values are empty.
  - The input may also be a list of kill reports (from P(auditfleet.auditd.kill_reports#filter),
    the lookup or M(auditfleet.auditd.audit_facts)); it is written in the order given.
extends_documentation_fragment:
  - auditfleet.auditd.fleet_report.input
options:
  probes:
    description:
      - Also write the probes (signal 0) that the fleet report keeps apart
        (C(probes=apart)), merged by time with the kills; the column C(probe) tells them apart.
      - Hidden probes (C(probes=hide)) are not in the fleet report, so never in the CSV.
    type: bool
    default: true
  header:
    description: Write the header row.
    type: bool
    default: true
  spreadsheet_safe:
    description:
      - Make the file safe for people to open - in every text cell (host, users, command, command
        line, targets, ...; never a number, so a negative target pid stays C(-1)), show control
        characters as C(\xNN) (C1 controls such as the 8-bit CSI C(\x9b) and the Unicode
        bidirectional overrides, as C(\u202e), too; newlines and tabs are kept), so that no
        escape sequence reaches a terminal that shows the file, and prefix with C(') a cell that a
        spreadsheet would run as a formula - starting, after any spaces, with C(=), C(+), C(-),
        C(@), a tab, a carriage return or their full-width forms (CSV injection - any local user
        can name a process C(=cmd|' /C calc'!A0) with prctl).
      - The values are then no longer exactly the log's. V(false) writes them as they are, for
        programs that read the file.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Write the fleet report as CSV
  ansible.builtin.copy:
    content: "{{ fleet | auditfleet.auditd.kill_report_csv }}"
    dest: /srv/reports/kill_report.csv
    mode: "0640"
  delegate_to: localhost

- name: Kill reports of one host as CSV, values exactly as logged, for a program to read
  ansible.builtin.copy:
    content: "{{ ansible_facts.auditd_kill_reports | auditfleet.auditd.kill_report_csv(spreadsheet_safe=false) }}"
    dest: "/srv/reports/{{ inventory_hostname }}.csv"
    mode: "0640"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: CSV text, a header row and one row per kill report.
  type: str
  sample: |
    time,host,node,key,syscall,arch,signal,signal_name,probe,success,errno,target_pid,target_tid,scope,targets,killer_pid,...
    2026-11-26T00:30:40.498Z,web1,,kill_rule,kill,x86_64,15,SIGTERM,false,true,,2202,,process,2202:sleep,2194,...
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetcsv import render_csv
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetdata import (
    bool_option, gc_paused, plain, report_list, untrusted)
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetmodel import (
    fleet_input, is_probe, sort_key)

NAME = "auditfleet.auditd.kill_report_csv"


def csv_reports(data, probes=True):
    """The kill reports a CSV of this input has: a fleet report's kills (and probes, merged by
    time), or a list of kill reports in the order given."""
    data = plain(data)
    if isinstance(data, (Mapping, str, bytes)):
        report = fleet_input(data, NAME)
        reports = list(report.get("reports") or [])
        if probes and report.get("probes"):
            reports = sorted(reports + list(report["probes"]), key=sort_key)
        return reports
    return [r for r in report_list(data, "the input", NAME) if probes or not is_probe(r)]


@gc_paused
def kill_report_csv(data, probes=True, header=True, spreadsheet_safe=True):
    try:
        probes = bool_option(probes, "probes", NAME)
        header = bool_option(header, "header", NAME)
        spreadsheet_safe = bool_option(spreadsheet_safe, "spreadsheet_safe", NAME)
        return untrusted(render_csv(csv_reports(data, probes), header=header, spreadsheet_safe=spreadsheet_safe))
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"kill_report_csv": kill_report_csv}
