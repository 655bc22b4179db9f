"""Hostile log data in every output of the fleet report: no formula a spreadsheet runs, no
control character that a terminal interprets, whatever the renderer.

A local user names a process what they like: prctl(PR_SET_NAME) sets comm (15 bytes), argv
sets the command line. tests/integration/targets/fleet_kill_report does the same with real
processes, on the machine's auditd.
"""
import csv
import io
import json
import re

import pytest

from ansible_collections.auditfleet.auditd.plugins.filter.fleet_kill_report import fleet_kill_report
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_csv import kill_report_csv
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_files import kill_report_files
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_html import kill_report_html
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_markdown import kill_report_markdown
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._textsafe import (
    is_formula, spreadsheet_cell, visible_controls)

from fleet_data import ESCAPES, FORMULA, host_vars, kill_event, reports_for

BIDI = "\u202eevil\u202c"
# Every character a terminal may act on: C0 but tab and newline, DEL, C1, and the
# bidirectional controls that reorder what is shown.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029]")


@pytest.fixture
def hostile():
    events = [
        kill_event(1, 1.0, comm=FORMULA[:15], argv=(FORMULA, "-9", "1234"), target_comm="nginx",
                   login="mallory", user="root"),
        kill_event(2, 2.0, comm="x\x1b[31m", argv=("sh", "-c", "echo " + ESCAPES), target_comm="\x1b]0;t\x07",
                   login="mallory", user="root"),
        kill_event(3, 3.0, comm="+cmd", argv=("@SUM(1+1)*cmd|' /C calc'!A0", BIDI), target_comm="-x",
                   login="mallory", user="root"),
        kill_event(4, 4.0, comm="kill", argv=("kill", "-9", "-1"), target=-1 & 0xFFFFFFFF, login="bob", user="root"),
    ]
    data = {"web1": host_vars(reports_for("web1", *events)),
            "bad": {"gather": {"failed": True, "msg": "boom \x1b[2J\x9b31m" + BIDI, "module_stderr": ""}}}
    return fleet_kill_report(data, hosts=["web1", "bad"], result_var="gather", generated_at="2026-11-27T00:00:00Z")


def rows_of(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_neutralises_formulas_by_default(hostile):
    rows = rows_of(kill_report_csv(hostile))
    first = rows[0]
    assert first["killer_comm"] == "'" + FORMULA[:15]
    assert first["killer_cmdline"] == "'" + FORMULA + " -9 1234"
    third = rows[2]
    assert third["killer_comm"] == "'+cmd"
    assert third["killer_cmdline"].startswith("'@SUM(1+1)")
    # text cells only: numbers stay numbers (a negative target pid is no formula)
    assert rows[3]["target_pid"] == "-1" and rows[3]["signal"] == "9"
    for row in rows:
        for column, value in row.items():
            if re.fullmatch(r"-?\d+(\.\d+)?", value):
                continue                                         # a number: a spreadsheet reads -1 as -1
            assert not is_formula(value), (column, value)


def test_csv_targets_cell_is_neutralised_as_a_whole(hostile):
    rows = rows_of(kill_report_csv(hostile))
    assert rows[2]["targets"].endswith(":-x")                # "pid:comm" starts with the pid: no formula
    single = rows_of(kill_report_csv(reports_for("h", kill_event(1, 1.0, target_comm="x"))))
    assert single[0]["targets"] == "4242:x"


def test_csv_without_spreadsheet_safe_is_exact(hostile):
    rows = rows_of(kill_report_csv(hostile, spreadsheet_safe=False))
    assert rows[0]["killer_comm"] == FORMULA[:15]
    assert rows[1]["killer_cmdline"] == "sh -c echo " + ESCAPES      # raw, for programs
    assert rows[2]["killer_cmdline"] == "@SUM(1+1)*cmd|' /C calc'!A0 " + BIDI


def test_csv_shows_control_characters(hostile):
    rows = rows_of(kill_report_csv(hostile))
    assert rows[1]["killer_comm"] == "x\\x1b[31m"
    assert rows[1]["killer_cmdline"] == "sh -c echo \\x1b]0;owned\\x07\\x1b[2J\\x9b31m"
    assert rows[1]["targets"].endswith(":\\x1b]0;t\\x07")
    assert rows[2]["killer_cmdline"].endswith("\\u202eevil\\u202c")


@pytest.mark.parametrize("render", ["csv", "markdown", "html", "json", "files"])
def test_no_raw_control_character_in_any_output(hostile, render):
    if render == "csv":
        texts = [kill_report_csv(hostile).replace("\r\n", "\n")]     # the CSV's own line ends
    elif render == "markdown":
        texts = [kill_report_markdown(hostile)]
    elif render == "html":
        texts = [kill_report_html(hostile)]
    elif render == "json":
        texts = [fleet_kill_report(hostile["reports"], format="json")]
    else:
        files = kill_report_files(hostile)
        texts = [files[name] for name in ("json", "markdown", "html")] + [files["csv"].replace("\r\n", "\n")]
        texts.append(json.dumps(files["summary"], ensure_ascii=False))
        texts.extend(files["summary"]["lines"])
    for text in texts:
        found = RAW_CONTROL.findall(text)
        assert found == [], sorted(set(found))


def test_failure_reasons_are_one_line_without_controls(hostile):
    reason = {f["host"]: f["reason"] for f in hostile["failed_hosts"]}["bad"]
    assert reason == "boom \\x1b[2J\\x9b31m\\u202eevil\\u202c"


def test_markdown_and_html_show_escapes_visibly(hostile):
    md = kill_report_markdown(hostile)
    assert "echo \\\\x1b\\]0;owned\\\\x07\\\\x1b\\[2J\\\\x9b31m" in md
    page = kill_report_html(hostile)
    assert "echo \\x1b]0;owned\\x07\\x1b[2J\\x9b31m" in page
    assert "=cmd|&#39; /C calc&#39;!A0 -9 1234" in page


@pytest.mark.parametrize("text, formula", [("=1+1", True), ("  =1", True), ("+x", True), ("-2", True), ("@x", True),
                                           ("\t=x", True), ("\uff1dcmd", True), ("a=b", False), ("", False),
                                           ("'=x", False)])
def test_is_formula(text, formula):
    assert is_formula(text) is formula
    assert spreadsheet_cell(text).startswith("'") is (formula or text.startswith("'"))


def test_visible_controls_keeps_text_and_lines():
    assert visible_controls("a\tb\nc\r\nd") == "a\tb\nc\nd"
    assert visible_controls("\x00\x1b\x7f\x85\x9b\u202e\u2066") == "\\x00\\x1b\\x7f\\x85\\x9b\\u202e\\u2066"
    assert visible_controls("caf\u00e9 \u00a0ok") == "caf\u00e9 \u00a0ok"
