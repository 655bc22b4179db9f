# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: kill_report_html
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: A fleet kill report as one self-contained HTML page
description:
  - Renders the output of P(auditfleet.auditd.fleet_kill_report#filter) as one HTML page with
    the same content as P(auditfleet.auditd.kill_report_markdown#filter) - summary and
    warnings, tables per host, per login user, per signal and per command, the kills sorted by
    time, the probes (signal 0) apart, and the hosts that failed or were unreachable.
  - The page is self-contained - inline CSS, no script, no external resource (fonts, images,
    stylesheets); its Content-Security-Policy forbids loading any. It can be mailed or
    archived as it is.
  - Every piece of text is escaped with Python's C(html.escape) (log data is untrusted - a
    command name or command line can hold anything, C(<script>) included). Newlines become
    C(<br>); other control characters are shown as C(\xNN).
  - A list of kill reports is aggregated first, with the defaults of
    P(auditfleet.auditd.fleet_kill_report#filter).
extends_documentation_fragment:
  - auditfleet.auditd.fleet_report.input
  - auditfleet.auditd.fleet_report.document
"""

EXAMPLES = r"""
- name: Write the fleet report as one HTML page
  ansible.builtin.copy:
    content: "{{ fleet | auditfleet.auditd.kill_report_html }}"
    dest: /srv/reports/kill_report.html
    mode: "0640"
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The HTML page (UTF-8 text, starting with C(<!DOCTYPE html>)).
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetreport import (
    document, fleet_input, int_option, render_html, untrusted)

NAME = "auditfleet.auditd.kill_report_html"


def kill_report_html(data, title="Fleet kill report", max_rows=0):
    try:
        report = fleet_input(data, NAME)
        title = str(title)
        blocks = document(report, title=title, max_rows=int_option(max_rows, "max_rows", NAME))
        return untrusted(render_html(blocks, title))
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"kill_report_html": kill_report_html}
