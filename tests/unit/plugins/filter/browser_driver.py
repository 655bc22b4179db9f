"""Drive Debian's chromium over the HTML fleet report and print what the page shows, as JSON.

Run by test_report_browser.py with the Python of .venv/browser (selenium, tests/requirements/
browser.txt), never collected by pytest itself:

    python browser_driver.py PAGE.html TAMPERED.html OUTDIR [BIG.html]

PAGE.html is the report under test; TAMPERED.html the same page with one extra inline script
that its Content-Security-Policy must block (the control that proves violations are seen);
BIG.html a report of 10,000 kills, sorted and filtered once each (with their duration).
The driver records CSP violations (a listener installed through the DevTools protocol before
any of the page's own code runs, so the page's CSP does not apply to it) and the browser
console, then acts as a person would - sort a column by its header button, sort it again,
type in a table's filter box, open a target in the per-target view - and reads the DOM after
each step. Screenshots go to OUTDIR. It asserts nothing: the test does.
Exit status 3 with a message on stderr: chromium could not be started here.
"""

import json
import os
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = os.environ.get("AUDITFLEET_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AUDITFLEET_CHROMEDRIVER", "/usr/bin/chromedriver")

RECORDER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push({directive: e.effectiveDirective || e.violatedDirective, blocked: e.blockedURI,
                     sample: e.sample || "", line: e.lineNumber});
}, true);
"""


def start(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", "--user-data-dir=%s" % profile):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
    return driver


def load(driver, path):
    driver.get("file://" + os.path.abspath(path))
    for _attempt in range(100):
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.05)
    time.sleep(0.2)       # CSP violation events are dispatched asynchronously
    return {
        "title": driver.title,
        "ready": driver.execute_script("return document.documentElement.getAttribute('data-ready')"),
        "csp_violations": driver.execute_script("return window.__csp"),
        "console": [{"level": e.get("level"), "message": e.get("message")} for e in driver.get_log("browser")],
    }


def column(driver, table_id, index):
    """The text of one column of a table's visible rows, in the order shown."""
    return driver.execute_script("""
        var rows = document.getElementById(arguments[0]).tBodies[0].rows, out = [];
        for (var i = 0; i < rows.length; i++) {
          if (!rows[i].hidden) { out.push(rows[i].cells[arguments[1]].textContent); }
        }
        return out;""", table_id, index)


def header_button(driver, table_id, name):
    for button in driver.find_elements(By.CSS_SELECTOR, "#%s thead th button" % table_id):
        if button.text.strip() == name:
            return button
    raise LookupError("no column %s in table %s" % (name, table_id))


def sort_state(driver, table_id):
    return driver.execute_script("""
        var out = {};
        document.querySelectorAll('#' + arguments[0] + ' thead th').forEach(function (th) {
          if (th.getAttribute('aria-sort')) { out[th.textContent.trim()] = th.getAttribute('aria-sort'); }
        });
        return out;""", table_id)


def layout(driver):
    """Wrapping: the lines each time cell of the kills table takes, and whether a number in a
    command line cell was split over two lines (a Range over each digit run of each cell)."""
    return driver.execute_script("""
        var table = document.getElementById('t-kills');
        var result = {time_lines: [], split_numbers: [], wrapped_cmd_cells: 0, checked_numbers: 0};
        var rows = table.tBodies[0].rows;
        for (var i = 0; i < rows.length; i++) {
          var time = rows[i].cells[0];
          var range = document.createRange();
          range.selectNodeContents(time);
          var tops = {};
          Array.prototype.forEach.call(range.getClientRects(), function (r) { tops[Math.round(r.top)] = 1; });
          result.time_lines.push(Object.keys(tops).length);
          var cmd = rows[i].cells[7], node = cmd.firstChild;
          if (!node) { continue; }
          var whole = document.createRange();
          whole.selectNodeContents(cmd);
          var lineTops = {};
          Array.prototype.forEach.call(whole.getClientRects(), function (r) { lineTops[Math.round(r.top)] = 1; });
          if (Object.keys(lineTops).length > 1) { result.wrapped_cmd_cells += 1; }
          var re = /\\d{3,}/g, m;
          while ((m = re.exec(node.data)) !== null) {
            var part = document.createRange();
            part.setStart(node, m.index);
            part.setEnd(node, m.index + m[0].length);
            var ptops = {};
            Array.prototype.forEach.call(part.getClientRects(), function (r) {
              if (r.width > 0) { ptops[Math.round(r.top)] = 1; }
            });
            result.checked_numbers += 1;
            if (Object.keys(ptops).length > 1) { result.split_numbers.push(m[0]); }
          }
        }
        result.max_time_lines = Math.max.apply(null, result.time_lines.concat([0]));
        result.time_cells = result.time_lines.length;
        delete result.time_lines;
        return result;""")


def big_page(driver, path):
    """Sort and filter the kills table of a big report; durations in ms, as the page measures them."""
    out = load(driver, path)
    out["rows"] = driver.execute_script("return document.getElementById('t-kills').tBodies[0].rows.length")
    out["sort_ms"] = driver.execute_script("""
        var button = Array.prototype.filter.call(document.querySelectorAll('#t-kills thead button'),
                                                 function (b) { return b.textContent.trim() === 'Host'; })[0];
        var start = performance.now();
        button.click();
        return performance.now() - start;""")
    hosts = column(driver, "t-kills", 1)
    out["sorted"] = hosts == sorted(hosts, key=lambda h: h.lower())
    out["filter_ms"] = driver.execute_script("""
        var input = document.querySelector('#kills input.filter');
        input.value = 'nginx sigkill';
        var start = performance.now();
        input.dispatchEvent(new Event('input'));
        return new Promise(function (resolve) {
          (function wait() {
            if (document.querySelector('#kills .count').textContent.indexOf(' of ') !== -1) {
              resolve(performance.now() - start);
            } else { setTimeout(wait, 5); }
          }());
        });""")
    out["filter_count"] = driver.find_element(By.CSS_SELECTOR, "#kills .count").text
    out["after"] = driver.execute_script("return window.__csp")
    return out


def screenshot(driver, path, full=True):
    if full:
        height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 12000)")
        driver.set_window_size(1400, max(height, 800))
        time.sleep(0.2)
    driver.save_screenshot(path)
    driver.set_window_size(1400, 1000)


def main(page, tampered, outdir, big=None):
    os.makedirs(outdir, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="auditfleet-chromium-")
    try:
        driver = start(profile)
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        sys.stderr.write("chromium cannot be started here: %s\n" % (str(exc).strip().splitlines() or ["?"])[0])
        return 3
    out = {}
    try:
        out["tampered"] = load(driver, tampered)
        out["load"] = load(driver, page)
        out["chart_bars"] = len(driver.find_elements(By.CSS_SELECTOR, "#timeline-chart rect"))
        out["killer_bars"] = len(driver.find_elements(By.CSS_SELECTOR, "#killers-chart rect"))
        out["sigkill_fill"] = driver.execute_script(
            "var r = document.querySelector('#timeline-chart rect.k-sigkill');"
            "return r ? getComputedStyle(r).fill : null")
        out["failed_fill"] = driver.execute_script(
            "var r = document.querySelector('#timeline-chart rect.k-failed');"
            "return r ? getComputedStyle(r).fill : null")
        out["other_fill"] = driver.execute_script(
            "var r = document.querySelector('#timeline-chart rect.k-other');"
            "return r ? getComputedStyle(r).fill : null")
        out["filter_visible"] = driver.execute_script(
            "return !document.querySelector('#kills input.filter').hidden")
        screenshot(driver, os.path.join(outdir, "top.png"), full=False)
        for section in ("timeline", "killers", "targets", "kills"):
            driver.execute_script("document.getElementById(arguments[0]).scrollIntoView()", section)
            screenshot(driver, os.path.join(outdir, "section-%s.png" % section), full=False)
        driver.execute_script("window.scrollTo(0, 0)")
        out["kills_hosts_before"] = column(driver, "t-kills", 1)
        header_button(driver, "t-kills", "Host").click()
        out["kills_hosts_sorted"] = column(driver, "t-kills", 1)
        out["sort_after_first_click"] = sort_state(driver, "t-kills")
        header_button(driver, "t-kills", "Host").click()
        out["kills_hosts_sorted_desc"] = column(driver, "t-kills", 1)
        header_button(driver, "t-targets", "Kills").click()
        out["targets_by_kills"] = [t.split("\n")[0] for t in column(driver, "t-targets", 0)]
        out["targets_kills"] = column(driver, "t-targets", 1)
        box = driver.find_element(By.CSS_SELECTOR, "#kills input.filter")
        box.send_keys("nginx alice")
        time.sleep(0.6)
        out["filtered_rows"] = driver.execute_script("""
            var rows = document.getElementById('t-kills').tBodies[0].rows, out = [];
            for (var i = 0; i < rows.length; i++) {
              if (!rows[i].hidden) { out.push(Array.prototype.map.call(rows[i].cells, function (c) { return c.textContent; })); }
            }
            return out;""")
        out["filter_count"] = driver.find_element(By.CSS_SELECTOR, "#kills .count").text
        box.clear()
        box.send_keys(" ")
        time.sleep(0.6)
        out["unfiltered_count"] = driver.find_element(By.CSS_SELECTOR, "#kills .count").text
        summary = None
        for element in driver.find_elements(By.CSS_SELECTOR, "#t-targets summary"):
            if element.text.strip() == "nginx":
                summary = element
        out["nginx_open_before"] = driver.execute_script("return arguments[0].parentNode.open", summary)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
        summary.click()
        out["nginx_open_after"] = driver.execute_script("return arguments[0].parentNode.open", summary)
        out["nginx_items"] = [li.text for li in summary.find_element(By.XPATH, "..").find_elements(By.TAG_NAME, "li")]
        out["nginx_items_visible"] = all(li.is_displayed() for li in
                                         summary.find_element(By.XPATH, "..").find_elements(By.TAG_NAME, "li"))
        screenshot(driver, os.path.join(outdir, "per-target.png"), full=False)
        driver.execute_script("window.scrollTo(0, 0)")
        out["layout"] = layout(driver)
        driver.set_window_size(900, 1000)
        time.sleep(0.2)
        out["layout_narrow"] = layout(driver)
        driver.set_window_size(1400, 1000)
        out["after"] = {"csp_violations": driver.execute_script("return window.__csp"),
                        "console": [{"level": e.get("level"), "message": e.get("message")}
                                    for e in driver.get_log("browser")]}
        load(driver, page)
        screenshot(driver, os.path.join(outdir, "kill_report.png"), full=True)
        if big:
            out["big"] = big_page(driver, big)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
