# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: kill_report_html
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: A fleet kill report as one self-contained HTML page
description:
  - Renders the output of P(auditfleet.auditd.fleet_kill_report#filter) as one HTML page - the
    summary and warnings (hosts that did not answer, hosts whose auditd is stopped or whose
    audit is disabled, reports cut by C(max_events), lost records), the hosts with their
    state, architecture and whether audit records, a timeline picture (kills per hour, or per
    bucket of a size that fits the time range in 48 bars, for all hosts and for each of the 12
    busiest, failed kills and SIGKILL apart from other signals), a picture and a table of the
    top killers, the per-target view ("who killed nginx?" - each target command with its
    kills, killers, hosts, first and last time, and its most recent kills), the counts per
    login user, signal and command (most first), the kills and the probes (signal 0) by time,
    and the hosts that failed.
  - Every table sorts by any column (its header is a button) and has a filter box (rows
    that hold every word typed); both work on tens of thousands of rows. Without script (a
    mail reader) the page is the same, unsorted and unfiltered.
  - The page is one self-contained file - inline CSS and script, inline SVG pictures, no
    external resource (fonts, images, stylesheets, scripts). Its Content-Security-Policy lets
    nothing load and allows only its own inline style and script, by their SHA-256 hashes
    computed when the page is rendered. It can be mailed or archived as it is.
  - Rendered from a Jinja2 template with autoescape (log data is untrusted - a command name
    or command line can hold anything, C(<script>) included); control characters are shown as
    C(\xNN). O(template) replaces the template, the escaping stays.
  - Times do not wrap; command lines break at spaces only, never inside a number.
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

- name: The same, from the site's own template (which may extend the collection's)
  ansible.builtin.copy:
    content: "{{ fleet | auditfleet.auditd.kill_report_html(template='/etc/ansible/templates/kill_report.html.j2') }}"
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

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetdata import gc_paused, int_option, untrusted
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetmodel import fleet_input
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleettemplates import render_html, template_path
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetview import build_view

NAME = "auditfleet.auditd.kill_report_html"


@gc_paused
def kill_report_html(data, title="Fleet kill report", max_rows=0, template=None):
    try:
        report = fleet_input(data, NAME)
        view = build_view(report, title=str(title), max_rows=int_option(max_rows, "max_rows", NAME))
        return untrusted(render_html(view, report, template=template_path(template, "template", NAME), plugin=NAME))
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"kill_report_html": kill_report_html}
