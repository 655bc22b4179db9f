# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: kill_report_files
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: Every file of the fleet kill report, rendered from one report
description:
  - Renders one fleet report (the dict of P(auditfleet.auditd.fleet_kill_report#filter)) in
    every format the C(auditfleet.auditd.kill_report) playbook writes - the text of
    C(kill_report.json), C(kill_report.csv), C(kill_report.md) and C(kill_report.html) - and
    a small summary for the tasks that follow.
  - This is how the playbook keeps the report a dict - aggregated once, rendered by each
    renderer from the same dict within one expression, JSON made only for the file - instead
    of storing the report with C(set_fact), which ansible-core pays for value by value (and,
    before 2.19, by turning the dict into text and back).
  - The texts are the same as those of P(auditfleet.auditd.kill_report_csv#filter),
    P(auditfleet.auditd.kill_report_markdown#filter),
    P(auditfleet.auditd.kill_report_html#filter) and
    O(auditfleet.auditd.fleet_kill_report#filter:format=json) with the same options.
extends_documentation_fragment:
  - auditfleet.auditd.fleet_report.input
options:
  title:
    description: The title of the Markdown and HTML documents.
    type: str
    default: Fleet kill report
  max_rows:
    description:
      - Kills (and probes) shown in the Markdown and HTML, the most recent; V(0) shows all.
        JSON and CSV always have all of them.
    type: int
    default: 0
  spreadsheet_safe:
    description: The CSV's O(auditfleet.auditd.kill_report_csv#filter:spreadsheet_safe) option.
    type: bool
    default: true
  markdown_template:
    description: The Markdown's O(auditfleet.auditd.kill_report_markdown#filter:template) option.
    type: path
  html_template:
    description: The HTML's O(auditfleet.auditd.kill_report_html#filter:template) option.
    type: path
  formats:
    description: The files to render.
    type: list
    elements: str
    choices: [json, csv, markdown, html]
    default: [json, csv, markdown, html]
"""

EXAMPLES = r"""
- name: Aggregate once and render every file
  ansible.builtin.set_fact:
    kill_report_files: >-
      {{ hostvars | auditfleet.auditd.fleet_kill_report(hosts=ansible_play_hosts_all)
                  | auditfleet.auditd.kill_report_files(title='Kills on the web tier') }}

- name: Write the CSV
  ansible.builtin.copy:
    content: "{{ kill_report_files.csv }}"
    dest: /srv/reports/kill_report.csv
    mode: "0640"

- name: Say how many kills
  ansible.builtin.debug:
    msg: "{{ kill_report_files.summary.totals.kills }} kills; {{ kill_report_files.summary.lines | join('; ') }}"
"""

RETURN = r"""
_value:
  description: The texts of the files, and a summary.
  type: dict
  contains:
    json:
      description:
        - The text of C(kill_report.json), starting with an empty line (ansible-core before 2.19
          would parse a text that starts with C({) back into a dict).
      type: str
    csv: {description: The text of C(kill_report.csv)., type: str}
    markdown: {description: The text of C(kill_report.md)., type: str}
    html: {description: The text of C(kill_report.html)., type: str}
    summary:
      description:
        - C(generated_at), C(complete), C(totals), C(failed_hosts) and C(warnings) of the
          report, and C(lines) - the failed hosts with their reasons and the warnings as
          sentences without control characters, for a terminal.
      type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetcsv import render_csv
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetdata import (
    bool_option, gc_paused, int_option, untrusted, untrusted_data)
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetjson import render_json
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetmodel import fleet_input, sort_key
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleettemplates import (
    render_html, render_markdown, template_path)
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetview import build_view
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._textsafe import one_line

NAME = "auditfleet.auditd.kill_report_files"
FORMATS = ("json", "csv", "markdown", "html")


def summary_of(report):
    lines = ["%s %s: %s" % (f["host"], f["state"], f.get("reason") or "unknown") for f in report.get("failed_hosts") or ()]
    lines.extend(report.get("warnings") or ())
    return {
        "generated_at": report.get("generated_at"),
        "complete": report.get("complete"),
        "totals": dict(report.get("totals") or {}),
        "failed_hosts": [dict(f) for f in report.get("failed_hosts") or ()],
        "warnings": list(report.get("warnings") or ()),
        "lines": [one_line(line) for line in lines],
    }


@gc_paused
def kill_report_files(data, title="Fleet kill report", max_rows=0, spreadsheet_safe=True, markdown_template=None,
                      html_template=None, formats=FORMATS):
    try:
        report = fleet_input(data, NAME)
        spreadsheet_safe = bool_option(spreadsheet_safe, "spreadsheet_safe", NAME)
        max_rows = int_option(max_rows, "max_rows", NAME)
        if isinstance(formats, str):
            formats = [formats]
        formats = list(formats)
        for name in formats:
            if name not in FORMATS:
                raise ValueError("%s: option formats: %r is not one of %s" % (NAME, name, ", ".join(FORMATS)))
        markdown_template = template_path(markdown_template, "markdown_template", NAME)
        html_template = template_path(html_template, "html_template", NAME)
        out = {"summary": untrusted_data(summary_of(report))}
        if "json" in formats:
            out["json"] = untrusted("\n" + render_json(report))
        if "csv" in formats:
            everything = sorted(list(report.get("reports") or []) + list(report.get("probes") or []), key=sort_key)
            out["csv"] = untrusted(render_csv(everything, spreadsheet_safe=spreadsheet_safe))
        if "markdown" in formats or "html" in formats:
            view = build_view(report, title=str(title), max_rows=max_rows)
            if "markdown" in formats:
                out["markdown"] = untrusted(render_markdown(view, report, markdown_template, plugin=NAME))
            if "html" in formats:
                out["html"] = untrusted(render_html(view, report, html_template, plugin=NAME))
        return out
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"kill_report_files": kill_report_files}
