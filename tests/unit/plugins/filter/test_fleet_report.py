"""The fleet kill report: aggregation (fleet_kill_report) and the renderers (CSV, Markdown, HTML).

The kill reports come from the collection's own kill_reports filter, over audit log text made
here (RAW and ENRICHED records), so the reports have exactly the shape the parser gives.
"""
import copy
import csv
import io
import json
import re

import pytest

from ansible.errors import AnsibleFilterError
from ansible.plugins.loader import filter_loader

from ansible_collections.auditfleet.auditd.plugins.filter.fleet_kill_report import fleet_kill_report
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_csv import kill_report_csv
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_html import kill_report_html
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_markdown import kill_report_markdown
from ansible_collections.auditfleet.auditd.plugins.filter.kill_reports import kill_reports
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetcsv import COLUMNS as CSV_COLUMNS

from fleet_data import BASE, kill_event, reports_for

NOW = "2026-11-26T10:00:00Z"


@pytest.fixture
def fleet():
    """Three hosts; web1 and web2 kill at the same second (a tie broken by host name)."""
    return {
        "web2": reports_for("web2",
                            kill_event(1, 10.0, signal=15, login="alice", user="root"),
                            kill_event(2, 30.0, signal=0, comm="monit", argv=("monit",), login="alice", user="root")),
        "web1": reports_for("web1",
                            kill_event(7, 10.0, signal=9, auid=None, user="root"),
                            kill_event(8, 5.0, signal=9, auid=1001, success=False)),   # RAW: no names
        "db1": reports_for("db1",
                           kill_event(3, 20.0, signal=15, comm="pkill", argv=("pkill", "postgres"),
                                      login="bob", user="bob"),
                           kill_event(4, 21.0, signal=0, login="bob", user="bob")),
    }


def test_reports_sorted_by_time_then_host(fleet):
    report = fleet_kill_report(fleet, generated_at=NOW)
    assert [(r["time"][-7:], r["host"]) for r in report["reports"]] == [
        ("05.000Z", "web1"), ("10.000Z", "web1"), ("10.000Z", "web2"), ("20.000Z", "db1")]
    assert [r["host"] for r in report["probes"]] == ["db1", "web2"]
    assert report["generated_at"] == NOW and report["probe_mode"] == "apart"
    assert report["time_range"]["first"].endswith("0:05.000Z")
    assert report["time_range"]["last"].endswith("0:30.000Z")     # probes count for the time range
    assert report["complete"] is True


def test_counts(fleet):
    counts = fleet_kill_report(fleet)["counts"]
    assert counts["by_host"] == {"web1": 2, "db1": 1, "web2": 1}
    # no login uid -> "(none)"; a login uid without a name (RAW) -> "auid N"
    assert counts["by_login_user"] == {"(none)": 1, "alice": 1, "auid 1001": 1, "bob": 1}
    assert counts["by_signal"] == {"SIGKILL": 2, "SIGTERM": 2}
    assert counts["by_command"] == {"kill": 3, "pkill": 1}
    assert counts["by_target"] == {"sleep": 4}
    assert list(counts["by_host"]) == ["web1", "db1", "web2"]      # most first, then by name


def test_totals_and_hosts(fleet):
    report = fleet_kill_report(fleet)
    assert report["totals"] == {"hosts": 3, "hosts_ok": 3, "hosts_failed": 0, "hosts_truncated": 0,
                                "hosts_not_recording": 0, "hosts_with_warnings": 0,
                                "kill_reports": 6, "kills": 4, "unsuccessful": 1, "probes": 2, "listed": 4}
    hosts = {h["host"]: h for h in report["hosts"]}
    assert [h["host"] for h in report["hosts"]] == ["db1", "web1", "web2"]
    assert (hosts["web1"]["kills"], hosts["web1"]["probes"], hosts["web1"]["unsuccessful"]) == (2, 0, 1)
    assert (hosts["web2"]["kills"], hosts["web2"]["probes"]) == (1, 1)
    assert hosts["db1"]["state"] == "ok" and hosts["db1"]["reason"] is None


@pytest.mark.parametrize("mode, listed, apart, signals", [
    ("apart", 4, 2, {"SIGKILL": 2, "SIGTERM": 2}),
    ("hide", 4, 0, {"SIGKILL": 2, "SIGTERM": 2}),
    ("include", 6, 0, {"SIGKILL": 2, "SIGTERM": 2, "0 (probe)": 2}),
])
def test_probe_modes(fleet, mode, listed, apart, signals):
    report = fleet_kill_report(fleet, probes=mode)
    assert len(report["reports"]) == listed and len(report["probes"]) == apart
    assert report["counts"]["by_signal"] == signals
    assert report["totals"]["probes"] == 2                           # counted even when hidden
    assert report["probe_counts"]["by_host"] == {"db1": 1, "web2": 1}
    times = [r["timestamp"] for r in report["reports"]]
    assert times == sorted(times)


def test_bad_probes_option(fleet):
    with pytest.raises(AnsibleFilterError, match="probes.*apart, hide, include"):
        fleet_kill_report(fleet, probes="sometimes")


def hostvars_like(fleet, results=None):
    """What hostvars holds after audit_facts: facts under ansible_facts, plus a registered result."""
    out = {}
    for host, reports in fleet.items():
        out[host] = {
            "ansible_facts": {
                "auditd_kill_reports": reports,
                "auditd_status": {"enabled": 1, "available": True, "lost": 0, "pid": 77, "message": ""},
                "auditd_log_summary": {"truncated": False, "total_kill_reports": len(reports)},
            },
            "gather": {"changed": False},
        }
    for host, result in (results or {}).items():
        out.setdefault(host, {})["gather"] = result
    return out


def test_failed_and_unreachable_hosts(fleet):
    data = hostvars_like(fleet, {
        "web2": {"failed": True, "msg": "auditd is not installed on this host"},   # stale facts ignored
        "ghost": {"unreachable": True, "msg": "Failed to connect to the host via ssh: Connection refused"},
        "py": {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
               "module_stderr": "/bin/sh: 1: /usr/bin/python3: not found\n"},
    })
    report = fleet_kill_report(data, hosts=["web1", "web2", "db1", "ghost", "py", "gone", "late"],
                               answered=["web1", "web2", "db1", "ghost", "py", "gone"], result_var="gather")
    failed = {f["host"]: (f["state"], f["reason"]) for f in report["failed_hosts"]}
    assert failed == {
        "web2": ("failed", "auditd is not installed on this host"),
        "ghost": ("unreachable", "Failed to connect to the host via ssh: Connection refused"),
        "py": ("failed", "MODULE FAILURE: /bin/sh: 1: /usr/bin/python3: not found"),
        "gone": ("failed", "not in the input (not a host of the inventory?)"),
        "late": ("failed", "left the play before its end (failed or unreachable; no result recorded)"),
    }
    assert [f["host"] for f in report["failed_hosts"]] == sorted(failed)
    assert {r["host"] for r in report["reports"] + report["probes"]} == {"web1", "db1"}
    assert report["totals"]["hosts"] == 7 and report["totals"]["hosts_failed"] == 5
    assert report["complete"] is False


def test_host_without_facts_and_truncation(fleet):
    data = hostvars_like(fleet)
    data["web1"]["ansible_facts"]["auditd_log_summary"] = {"truncated": True, "total_kill_reports": 900}
    data["web1"]["ansible_facts"]["auditd_status"]["lost"] = 12
    data["new"] = {"inventory_hostname": "new"}
    report = fleet_kill_report(data, hosts=["web1", "db1", "new"])
    hosts = {h["host"]: h for h in report["hosts"]}
    assert hosts["new"]["state"] == "failed" and "auditd_kill_reports" in hosts["new"]["reason"]
    assert hosts["web1"]["truncated"] is True and hosts["web1"]["total_kill_reports"] == 900
    assert hosts["web1"]["auditd"]["lost"] == 12
    assert report["totals"]["hosts_truncated"] == 1 and not report["complete"]
    md = kill_report_markdown(report)
    assert "web1: only the most recent 2 of 900 kill reports" in md
    assert "web1: the kernel lost 12 audit records" in md


def test_injected_facts_and_host_filled_in(fleet):
    """Facts as top-level variables (INJECT_FACTS_AS_VARS) and reports without a host."""
    reports = kill_reports(kill_event(1, 1.0))
    assert reports[0]["host"] is None
    report = fleet_kill_report({"h1": {"auditd_kill_reports": reports}})
    assert report["reports"][0]["host"] == "h1"
    assert reports[0]["host"] is None                                # the input is not changed


def test_list_input_and_answered(fleet):
    reports = [r for rs in fleet.values() for r in rs]
    before = copy.deepcopy(reports)
    report = fleet_kill_report(reports, hosts=["web1", "web2", "db1", "idle"], answered=["web1", "db1", "idle"])
    assert reports == before
    assert {r["host"] for r in report["reports"]} == {"web1", "db1"}
    states = {h["host"]: h["state"] for h in report["hosts"]}
    assert states == {"web1": "ok", "web2": "failed", "db1": "ok", "idle": "ok"}
    nameless = fleet_kill_report(kill_reports(kill_event(1, 1.0)))
    assert nameless["counts"]["by_host"] == {"(none)": 1}


def test_tagged_like_inputs(fleet):
    """Filters get str subclasses and list/dict subclasses (ansible-core's unsafe and tagged values)."""
    class Text(str):
        pass

    class Items(list):
        pass
    data = {Text(h): Items(r) for h, r in fleet.items()}
    report = fleet_kill_report(data, hosts=Items([Text("web1"), Text("db1")]), probes=Text("hide"))
    assert report["totals"]["kills"] == 3 and not isinstance(report["probe_mode"], Text)


@pytest.mark.parametrize("bad, words", [
    ("text", ["str"]),
    (42, ["int"]),
    ([1], ["item 0", "int"]),
    ({"h": [1]}, ["host h", "int"]),
    ({"h": {"auditd_kill_reports": "x"}}, ["host h", "str"]),
])
def test_bad_input_is_a_clear_error(bad, words):
    with pytest.raises(AnsibleFilterError) as err:
        fleet_kill_report(bad)
    for word in words:
        assert word in str(err.value)


def test_bad_options():
    with pytest.raises(AnsibleFilterError, match="hosts"):
        fleet_kill_report([], hosts=[1])
    with pytest.raises(AnsibleFilterError, match="parameters"):
        fleet_kill_report([], parameters="x")
    with pytest.raises(AnsibleFilterError, match="max_rows"):
        kill_report_markdown([], max_rows="lots")
    with pytest.raises(AnsibleFilterError, match="not a fleet report"):
        kill_report_html({"a": 1})


# ---- CSV ---------------------------------------------------------------------------------------

NASTY_ARGV = ("sh", "-c", 'kill -9 "$(pidof a,b)"; echo \'x\'\nsecond line, "quoted"')


def read_csv(text):
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_round_trip(fleet):
    fleet["web1"] += reports_for("web1", kill_event(9, 40.0, comm="evil,\"c", argv=NASTY_ARGV,
                                                    target_comm="a;b", login="carol", user="root"))
    report = fleet_kill_report(fleet)
    rows = read_csv(kill_report_csv(report))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + 5 + 2                                     # kills and probes, merged by time
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [row["time"] for row in body] == sorted(row["time"] for row in body)
    nasty = body[-1]
    assert nasty["killer_cmdline"] == " ".join(NASTY_ARGV)
    assert nasty["killer_comm"] == 'evil,"c'
    assert nasty["targets"] == "4242:a;b"
    assert (nasty["host"], nasty["killer_login_user"], nasty["signal"], nasty["signal_name"]) == ("web1", "carol", "9", "SIGKILL")
    assert (nasty["probe"], nasty["success"], nasty["errno"], nasty["target_tid"]) == ("false", "true", "", "")
    failed = [row for row in body if row["success"] == "false"]
    assert [(row["errno"], row["killer_auid"]) for row in failed] == [("EPERM", "1001")]
    assert sum(row["probe"] == "true" for row in body) == 2


def test_csv_options_and_list_input(fleet):
    report = fleet_kill_report(fleet)
    assert len(read_csv(kill_report_csv(report, probes=False))) == 1 + 4
    assert len(read_csv(kill_report_csv(report, header=False))) == 6
    reports = fleet["web2"]
    rows = read_csv(kill_report_csv(reports))
    assert [r[CSV_COLUMNS.index("signal")] for r in rows[1:]] == ["15", "0"]   # a list: as given
    formula = reports_for("x", kill_event(1, 1.0, argv=("=HYPERLINK(\"http://x\")",), comm="@cmd"))
    safe = read_csv(kill_report_csv(formula))[1]                    # spreadsheet-safe by default
    assert safe[CSV_COLUMNS.index("killer_cmdline")].startswith("'=HYPERLINK")
    assert safe[CSV_COLUMNS.index("killer_comm")] == "'@cmd"
    assert safe[CSV_COLUMNS.index("target_pid")] == "4242"
    assert read_csv(kill_report_csv(formula, spreadsheet_safe=False))[1][CSV_COLUMNS.index("killer_comm")] == "@cmd"


# ---- Markdown and HTML -------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def hostile(fleet):
    fleet["web1"] += reports_for("web1", kill_event(
        9, 40.0, comm="<script>", argv=("sh", "-c", "a | b || c " + SCRIPT + " [x](http://e) *b* `c`\nline2"),
        target_comm="x|y", login="eve", user="root"))
    data = hostvars_like(fleet, {"bad|host": {"failed": True, "msg": "oops | " + SCRIPT}})
    return fleet_kill_report(data, hosts=["web1", "web2", "db1", "bad|host"], result_var="gather",
                             generated_at=NOW, parameters={"keys": ["kill_rule"], "since": "7d"})


def table_rows(md, heading):
    section = md.split("## %s\n" % heading, 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def cells(line):
    """Split a Markdown table row on the pipes that are not escaped."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def test_markdown(hostile):
    md = kill_report_markdown(hostile, title="Kills | fleet")
    assert md.startswith("# Kills \\| fleet\n")
    kills = table_rows(md, "Kills, by time")
    assert len(kills) == 2 + 5
    widths = {len(cells(line)) for line in kills}
    assert widths == {11}                                            # no | in the data split a cell
    nasty = cells(kills[-1])
    assert nasty[8] == "sh \\-c a \\| b \\|\\| c \\<script\\>alert(1)\\</script\\> \\[x\\](http://e) \\*b\\* \\`c\\`<br>line2".replace("\\-", "-")
    assert nasty[1] == "web1" and nasty[5] == "eve" and nasty[10] == "x\\|y (4242)"
    assert nasty[3] == "kill (x86\\_64)"                              # the syscall column
    assert re.findall(r"(?<!\\)<(?!br>)", md) == []                 # every < of the data is escaped
    assert [cells(line)[0] for line in table_rows(md, "Hosts that failed or were unreachable")[2:]] == ["bad\\|host"]
    for heading in ("Hosts", "Kills per login user", "Kills per signal", "Kills per command",
                    "Probes (signal 0), by time"):
        assert table_rows(md, heading), heading
    assert "- Parameters: keys: kill\\_rule; since: 7d" in md
    assert "Incomplete: 1 of 4 hosts did not answer (bad\\|host)" in md


def test_markdown_order_and_modes(fleet):
    md = kill_report_markdown(fleet_kill_report(fleet, probes="hide"))
    order = [md.index(h) for h in ("# Fleet kill report", "## Hosts\n", "## Kills per login user",
                                   "## Kills per signal", "## Kills, by time", "## Hosts that failed")]
    assert order == sorted(order)
    assert "2 probes (signal 0) are hidden." in md and "## Probes" not in md
    md = kill_report_markdown(fleet_kill_report(fleet, probes="include"))
    assert "## Kills and probes, by time" in md and "0 (probe)" in md
    md = kill_report_markdown(fleet_kill_report(fleet), max_rows=1)
    assert len(table_rows(md, "Kills, by time")) == 3
    assert "The 3 earliest are not shown here" in md


def test_markdown_of_a_list():
    md = kill_report_markdown(kill_reports(kill_event(1, 1.0)))
    assert "| (none) |" in md and "None: every host answered." in md


def test_html_escapes_everything(hostile):
    page = kill_report_html(hostile, title="<b>Fleet</b>")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.lower().count("<script") == 1                       # the page's own, at its end
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>&lt;b&gt;Fleet&lt;/b&gt;</title>" in page
    assert "oops | &lt;script&gt;" in page and "bad|host" in page
    assert "a | b || c" in page and "\nline2" in page               # shown as a line break (pre-wrap)
    # self-contained: nothing external; links and url() only to the page itself
    for needle in ("<link", "<img", "src=", "@import", "<iframe", "<object", "<embed", "http://e\"", "javascript:"):
        assert needle not in page.lower(), needle
    anchors = {"#hosts", "#timeline", "#killers", "#targets", "#counts", "#kills", "#probes", "#failed"}
    assert set(re.findall(r'href="([^"]*)"', page)) <= anchors
    assert re.findall(r"url\(([^)]*)\)", page) == ["#k-hatch"]
    assert "Content-Security-Policy" in page and page.count("<style>") == 1
    # same content as the Markdown: the same headings and the same number of kill rows
    md = kill_report_markdown(hostile)
    assert re.findall(r"^## (.*)$", md, re.M) == [
        h.replace("&amp;", "&") for h in re.findall(r"<h2>(.*?)</h2>", page)]
    kills_table = page.split("<h2>Kills, by time</h2>", 1)[1].split("</table>", 1)[0]
    assert kills_table.count("<tr>") == 1 + 5


def test_control_characters_are_visible():
    reports = reports_for("h", kill_event(1, 1.0, argv=("x\x1b[31mred", "y")))
    assert "x\\\\x1b\\[31mred y" in kill_report_markdown(reports)    # renders as x\x1b[31mred
    assert "x\\x1b[31mred y" in kill_report_html(reports)


def test_json_text_in_and_out(fleet):
    report = fleet_kill_report(fleet, generated_at=NOW)
    text = fleet_kill_report(fleet, generated_at=NOW, format="json")
    assert json.loads(text) == json.loads(json.dumps(report))
    assert text.isascii() and text.endswith("}\n")
    assert kill_report_markdown("\n" + text) == kill_report_markdown(report)
    assert kill_report_csv(text) == kill_report_csv(report)
    assert kill_report_html(text.encode()) == kill_report_html(report)
    with pytest.raises(AnsibleFilterError, match="format"):
        fleet_kill_report(fleet, format="yaml")
    with pytest.raises(AnsibleFilterError, match="not the JSON of a fleet report"):
        kill_report_markdown("type=SYSCALL msg=audit(1.0:1): x=1")


def test_text_made_from_log_data_is_never_a_template(fleet):
    """ansible-core < 2.19 templates a stored string again when it is read unless it is marked
    unsafe; 2.19+ never templates untrusted data, so there the text is plain."""
    outputs = [fleet_kill_report(fleet, format="json"), kill_report_csv(fleet["web1"]),
               kill_report_markdown(fleet["web1"]), kill_report_html(fleet["web1"])]
    try:
        from ansible.template import trust_as_template  # noqa: F401  pylint: disable=unused-import
    except ImportError:
        assert all(getattr(text, "__UNSAFE__", False) for text in outputs)
    else:
        from ansible.template import is_trusted_as_template
        assert not any(is_trusted_as_template(text) for text in outputs)


# ---- through Ansible's plugin loader, and speed -------------------------------------------------

def test_filters_load_by_fqcn():
    for name in ("fleet_kill_report", "kill_report_csv", "kill_report_markdown", "kill_report_html"):
        assert filter_loader.get("auditfleet.auditd." + name) is not None, name


def test_many_reports():
    """20,000 reports of 50 hosts through every renderer (bench/bench_report.py times 100,000)."""
    template = reports_for("h0", kill_event(1, 1.0, login="alice", user="root"))[0]
    reports = []
    for i in range(20000):
        report = dict(template, host="h%d" % (i % 50), timestamp=BASE + (i * 7919) % 20000,
                      event_id="%d.000:%d" % (BASE, i))
        reports.append(report)
    report = fleet_kill_report(reports)
    assert report["totals"]["kills"] == 20000 and len(report["hosts"]) == 50
    assert len(read_csv(kill_report_csv(report))) == 20001
    assert len(table_rows(kill_report_markdown(report), "Kills, by time")) == 20002
    assert kill_report_html(report).count("<tr>") > 20000
