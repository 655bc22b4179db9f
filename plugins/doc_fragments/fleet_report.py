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
    type: int
    default: 0
"""
