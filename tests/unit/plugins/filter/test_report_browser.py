"""The HTML fleet report in a real browser: Debian's chromium, driven by selenium.

tools/testenv.sh installs chromium and chromium-driver (Debian) and .venv/browser (selenium,
pinned in tests/requirements/browser.txt). The page is rendered here, by the filter, from a
mixed fleet; browser_driver.py (run with .venv/browser's Python) loads it, sorts a column,
filters, opens a target of the per-target view and reports what the DOM shows, the CSP
violations and the console. Screenshots and the pages go to tests/output/report-browser/.
Skipped, saying why, where chromium or the driver's virtualenv is missing or cannot start.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.auditfleet.auditd.plugins.filter.fleet_kill_report import fleet_kill_report
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_html import kill_report_html
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetview import build_view

from fleet_data import demo_fleet

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
OUT = os.path.join(ROOT, "tests", "output", "report-browser")
PYTHON = os.path.join(ROOT, ".venv", "browser", "bin", "python")
CHROMIUM = os.environ.get("AUDITFLEET_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AUDITFLEET_CHROMEDRIVER", "/usr/bin/chromedriver")


def skip_reason():
    for path, what in ((CHROMIUM, "chromium (Debian package chromium)"),
                       (CHROMEDRIVER, "chromedriver (Debian package chromium-driver)"),
                       (PYTHON, "the virtualenv .venv/browser with selenium")):
        if not os.access(path, os.X_OK):
            return "%s is not installed (%s missing); make venv (tools/testenv.sh) installs it" % (what, path)
    return None


@pytest.fixture(scope="module")
def browser_run():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    data, hosts = demo_fleet()
    report = fleet_kill_report(data, hosts=hosts, result_var="gather", generated_at="2026-11-27T12:00:00Z",
                               parameters={"keys": ["kill_rule"], "since": "2d"})
    page = kill_report_html(report)
    paths = {name: os.path.join(OUT, name + ".html") for name in ("kill_report", "tampered", "big")}
    with open(paths["kill_report"], "w") as f:
        f.write(page)
    with open(paths["tampered"], "w") as f:      # one inline script more, which the CSP must block
        f.write(page.replace("<body>", "<body><script>document.title = 'tampered';</script>", 1))
    big_data, big_hosts = demo_fleet(kills=10000, seed=11)
    with open(paths["big"], "w") as f:
        f.write(kill_report_html(fleet_kill_report(big_data, hosts=big_hosts, result_var="gather")))
    proc = subprocess.run([PYTHON, os.path.join(HERE, "browser_driver.py"), paths["kill_report"], paths["tampered"],
                           OUT, paths["big"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=600, check=False)
    if proc.returncode == 3:
        pytest.skip(proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    with open(os.path.join(OUT, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    return report, result


def test_the_page_loads_and_its_csp_blocks_nothing_it_needs(browser_run):
    _report, result = browser_run
    assert result["load"]["ready"] == "1"                    # the script ran: the CSP allowed it
    assert result["load"]["csp_violations"] == [] and result["after"]["csp_violations"] == []
    assert result["load"]["console"] == [] and result["after"]["console"] == []
    assert result["filter_visible"] is True


def test_the_csp_violation_recorder_sees_a_blocked_script(browser_run):
    """The control: the same page with an extra inline script, which must be blocked and seen."""
    _report, result = browser_run
    tampered = result["tampered"]
    assert tampered["title"] == "Fleet kill report"         # the extra script did not run
    assert [v["directive"] for v in tampered["csp_violations"]] == ["script-src-elem"]
    assert any("Content Security Policy" in e["message"] for e in tampered["console"])
    assert tampered["ready"] == "1"                         # the page's own script still ran


def test_sorting_a_column(browser_run):
    _report, result = browser_run
    before = result["kills_hosts_before"]
    assert before != sorted(before)                          # by time, not by host
    assert result["kills_hosts_sorted"] == sorted(before)
    assert result["sort_after_first_click"] == {"Host": "ascending"}
    assert result["kills_hosts_sorted_desc"] == sorted(before, reverse=True)
    kills = [int(k) for k in result["targets_kills"]]
    assert kills == sorted(kills, reverse=True)             # a number column sorts most first


def test_filtering_rows(browser_run):
    report, result = browser_run
    rows = build_view(report)["kills"]["rows"]
    expected = [r for r in rows if all(w in "".join(str(c) for c in r).lower() for w in ("nginx", "alice"))]
    assert len(expected) > 0
    assert len(result["filtered_rows"]) == len(expected)
    for row in result["filtered_rows"]:
        assert "nginx" in "".join(row).lower() and "alice" in "".join(row).lower()
    assert result["filter_count"] == "%d of %d rows" % (len(expected), len(rows))
    assert result["unfiltered_count"] == "%d rows" % len(rows)


def test_per_target_view_opens(browser_run):
    report, result = browser_run
    nginx = [r for r in report["reports"] if any(t["comm"] == "nginx" for t in r["targets"])]
    assert result["nginx_open_before"] is False and result["nginx_open_after"] is True
    assert result["nginx_items_visible"] is True
    assert len(result["nginx_items"]) == min(20, len(nginx))
    latest = nginx[-1]
    assert result["nginx_items"][0].startswith("%s %s: " % (latest["time"], latest["host"]))


def test_times_do_not_wrap_and_numbers_do_not_break(browser_run):
    _report, result = browser_run
    for name in ("layout", "layout_narrow"):
        layout = result[name]
        assert layout["max_time_lines"] == 1, name
        assert layout["split_numbers"] == [], name
        assert layout["checked_numbers"] > 100, name
    assert result["layout_narrow"]["wrapped_cmd_cells"] >= 1  # command lines did wrap: at spaces


def test_pictures_tell_kinds_apart(browser_run):
    _report, result = browser_run
    assert result["chart_bars"] > 30 and result["killer_bars"] >= 15
    fills = {result["other_fill"], result["sigkill_fill"], result["failed_fill"]}
    assert len(fills) == 3 and re.match(r'url\("#k-hatch"\)', result["failed_fill"])


def test_ten_thousand_rows_sort_and_filter(browser_run):
    _report, result = browser_run
    big = result["big"]
    assert big["rows"] == 10000 + 4 and big["sorted"] is True
    assert big["csp_violations"] == [] and big["after"] == []
    assert re.fullmatch(r"\d+ of 10004 rows", big["filter_count"])
    # durations are figures, not assertions (a busy machine): the test prints them
    print("10,004 rows: sort %.0f ms, filter %.0f ms (150 ms debounce included)" % (big["sort_ms"], big["filter_ms"]))


def test_screenshots_are_written(browser_run):
    for name in ("top.png", "kill_report.png", "per-target.png", "section-timeline.png"):
        path = os.path.join(OUT, name)
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
