# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: kill_report_markdown
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: A fleet kill report as Markdown
description:
  - Renders the output of P(auditfleet.auditd.fleet_kill_report#filter) as a Markdown
    document (GitHub-flavoured tables) - a title, a summary with warnings (hosts that did not
    answer, hosts whose auditd is stopped or whose audit is disabled, hosts whose reports were
    cut by C(max_events), lost audit records), the hosts with their state, architecture and
    whether audit records, the timeline as a table (kills per hour or per adaptive bucket,
    SIGKILL and failed kills counted apart, the busiest hosts of each bucket), the top
    killers, the per-target view (each target command with its kills, hosts, killers, first
    and last time), the counts per login user, signal and command (most first), the kills
    sorted by time, the probes (signal 0) apart, and the hosts that failed or were
    unreachable with their reason.
  - P(auditfleet.auditd.kill_report_html#filter) renders the same content as HTML, with
    pictures.
  - Rendered from a Jinja2 template whose every C({{ }}) is escaped when printed - text from
    the logs is untrusted. Markdown punctuation in it (C(|), C(*), C(_), C(`), C([), C(]),
    C(<), C(>), C(&), C(~), C($), C(!), C(#), C(\)) is escaped with a backslash, so it can
    neither split a table cell nor make links, images, HTML or emphasis. Newlines in a cell
    become C(<br>); control characters (C0, DEL, C1, bidirectional overrides) are shown as
    C(\xNN), so that no escape sequence reaches a terminal that shows the file.
  - A list of kill reports is aggregated first, with the defaults of
    P(auditfleet.auditd.fleet_kill_report#filter).
extends_documentation_fragment:
  - auditfleet.auditd.fleet_report.input
  - auditfleet.auditd.fleet_report.document
"""

EXAMPLES = r"""
- name: Write the fleet report as Markdown
  ansible.builtin.copy:
    content: "{{ fleet | auditfleet.auditd.kill_report_markdown(title='Kills on the web tier') }}"
    dest: /srv/reports/kill_report.md
    mode: "0640"
  delegate_to: localhost

- name: The 50 most recent kills of one host, as Markdown
  ansible.builtin.debug:
    msg: "{{ ansible_facts.auditd_kill_reports | auditfleet.auditd.kill_report_markdown(max_rows=50) }}"
"""

RETURN = r"""
_value:
  description: The Markdown document.
  type: str
  sample: |
    # Fleet kill report

    - Generated: 2026-11-26T10:00:00Z
    - Hosts: 3 targeted, 2 answered, 1 failed or unreachable
    ...
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetdata import gc_paused, int_option, untrusted
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetmodel import fleet_input
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleettemplates import render_markdown, template_path
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetview import build_view

NAME = "auditfleet.auditd.kill_report_markdown"


@gc_paused
def kill_report_markdown(data, title="Fleet kill report", max_rows=0, template=None):
    try:
        report = fleet_input(data, NAME)
        view = build_view(report, title=str(title), max_rows=int_option(max_rows, "max_rows", NAME))
        return untrusted(render_markdown(view, report, template=template_path(template, "template", NAME), plugin=NAME))
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"kill_report_markdown": kill_report_markdown}
