# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kill reports as CSV (kill_report.csv): one row per report, RFC 4180 quoting.

Spreadsheet-safe by default: every text cell (a value that is a string in the report, so
never a number such as a negative target pid) has its control characters shown as \\xNN and,
when a spreadsheet would read it as a formula, a leading '. spreadsheet_safe=False writes the
values exactly as the reports hold them, for programs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetmodel import is_probe, killer_of
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._textsafe import spreadsheet_cell

COLUMNS = (
    "time", "host", "node", "key", "syscall", "arch", "signal", "signal_name", "probe", "success",
    "errno", "target_pid", "target_tid", "scope", "targets",
    "killer_pid", "killer_ppid", "killer_auid", "killer_login_user", "killer_uid", "killer_user",
    "killer_comm", "killer_exe", "killer_tty", "killer_ses", "killer_cmdline", "event_id",
)
_KILLER_FIELDS = ("pid", "ppid", "auid", "login_user", "uid", "user", "comm", "exe", "tty", "ses", "cmdline")
_REPORT_FIELDS = ("time", "host", "node", "key", "syscall", "arch", "signal", "signal_name", "success",
                  "errno", "target_pid", "target_tid", "scope", "event_id")


def targets_cell(report):
    """The targets as "pid:comm;pid:comm"."""
    parts = []
    for target in report.get("targets") or ():
        if isinstance(target, Mapping):
            pid, comm = target.get("pid"), target.get("comm")
            parts.append("%s:%s" % ("" if pid is None else pid, "" if comm is None else comm))
    return ";".join(parts)


def _cell(value, safe):
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return spreadsheet_cell(value) if safe else value
    return str(value)


def row_of(report, spreadsheet_safe=True):
    values = {name: report.get(name) for name in _REPORT_FIELDS}
    values["probe"] = is_probe(report)
    values["targets"] = targets_cell(report)
    killer = killer_of(report)
    for field in _KILLER_FIELDS:
        values["killer_" + field] = killer.get(field)
    return [_cell(values[column], spreadsheet_safe) for column in COLUMNS]


def render_csv(reports, header=True, spreadsheet_safe=True):
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL)
    if header:
        writer.writerow(COLUMNS)
    for report in reports:
        writer.writerow(row_of(report, spreadsheet_safe))
    return out.getvalue()
