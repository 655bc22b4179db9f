# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the fleet report renderers (kill_report_csv, _markdown, _html)."""

from __future__ import annotations


class ModuleDocFragment(object):

    # The input every renderer takes
    INPUT = r"""
options:
  _input:
    description:
      - A fleet report (from P(auditfleet.auditd.fleet_kill_report#filter)), its JSON text
        (O(auditfleet.auditd.fleet_kill_report#filter:format=json), or C(kill_report.json) read back),
        or a list of kill reports.
    type: raw
    required: true
"""

    # The options of the human-readable documents (Markdown and HTML)
    DOCUMENT = r"""
options:
  title:
    description: The title of the document.
    type: str
    default: Fleet kill report
  max_rows:
    description:
      - Show at most this many kills (and this many probes), the most recent ones, and say
        how many were left out. V(0) shows all of them.
      - The timeline, the top killers, the per-target view and the counts always cover every kill.
    type: int
    default: 0
  template:
    description:
      - The path (on the controller) of a Jinja2 template to render instead of the collection's
        own (C(plugins/plugin_utils/templates/kill_report.md.j2) and C(kill_report.html.j2) in
        the collection; copy one to start from).
      - It gets C(view) (what the report shows - C(title), C(summary), C(warnings), C(hosts),
        C(timeline), C(killers), C(targets), C(counts), C(kills), C(probes), C(failed); tables
        are C(columns) and C(rows)), C(report) (the fleet report itself) and, for HTML,
        C(charts) (the geometry of the two pictures).
      - Its directory is searched first for C(include), C(import) and C(extends), then the
        collection's templates, also reachable as C(auditfleet.auditd/NAME) - so
        C({% extends "auditfleet.auditd/kill_report.html.j2" %}) changes only the blocks it
        overrides (C(style), C(script), C(body)).
      - Whatever the template, every C({{ }}) is escaped when it is printed (HTML - autoescape;
        Markdown - backslash escapes), and control characters are shown as C(\xNN). Only
        C(|safe) (HTML) and C(|md_safe) (Markdown) print text as it is - never use them on data.
      - In HTML the Content-Security-Policy is C(csp(style=..., script=...)), the SHA-256 hashes
        of the page's one inline style and one inline script, computed when it is rendered -
        an inline event handler (C(onclick)) or another inline script would be blocked.
    type: path
"""
