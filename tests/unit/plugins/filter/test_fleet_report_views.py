"""The fleet report's views: count order, host health and architecture, central log servers,
the timeline, top killers and per-target view, the files filter, JSON layout, templates."""
import base64
import csv
import hashlib
import io
import json
import re

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.filter.fleet_kill_report import fleet_kill_report
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_csv import kill_report_csv
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_files import kill_report_files
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_html import kill_report_html
from ansible_collections.auditfleet.auditd.plugins.filter.kill_report_markdown import kill_report_markdown
from ansible_collections.auditfleet.auditd.plugins.plugin_utils import _fleetview
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetview import bucket_size

from fleet_data import demo_fleet, host_vars, kill_event, reports_for, status

NOW = "2026-11-27T12:00:00Z"


def md_table(md, heading):
    section = md.split("## %s\n" % heading, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in rows]


def html_table(page, table_id):
    body = page.split('<table id="t-%s">' % table_id, 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


@pytest.fixture(scope="module")
def demo():
    data, hosts = demo_fleet()
    return fleet_kill_report(data, hosts=hosts, result_var="gather", generated_at=NOW)


# ---- count tables: most first, whatever the input ----------------------------------------------

@pytest.fixture
def skewed():
    """Login users, signals and commands whose alphabetical order is not their count order."""
    events = [kill_event(1, 1.0, login="alice", user="root", signal=1, comm="aaa")]
    events += [kill_event(i, float(i), login="zed", user="root", signal=15, comm="zzz") for i in range(2, 5)]
    events += [kill_event(i, float(i), login="mia", user="root", signal=9, comm="mmm") for i in range(5, 7)]
    return {"h1": reports_for("h1", *events)}


@pytest.mark.parametrize("as_json", [False, True], ids=["dict", "json-text"])
def test_count_tables_are_most_first_in_every_renderer(skewed, as_json):
    """kill_report.json writes counts with sorted keys in older versions (and any JSON reader may
    reorder them); the renderers got them alphabetical from the playbook's JSON text."""
    report = fleet_kill_report(skewed, generated_at=NOW, format="json" if as_json else "dict")
    if as_json:
        # what an older kill_report.json holds: every key sorted by name
        report = json.dumps(json.loads(report), sort_keys=True)
    md = kill_report_markdown(report)
    page = kill_report_html(report)
    expected = {"Kills per login user": ["zed", "mia", "alice"], "Kills per signal": ["SIGTERM", "SIGKILL", "SIGHUP"],
                "Kills per command": ["zzz", "mmm", "aaa"]}
    ids = {"Kills per login user": "by-login-user", "Kills per signal": "by-signal", "Kills per command": "by-command"}
    for heading, order in expected.items():
        assert [row[0] for row in md_table(md, heading)] == order, heading
        assert [row[1] for row in md_table(md, heading)] == ["3", "2", "1"], heading
        assert [row[0] for row in html_table(page, ids[heading])] == order, heading


def test_json_keeps_counts_most_first(skewed):
    text = fleet_kill_report(skewed, format="json")
    counts = json.loads(text)["counts"]
    assert list(counts["by_login_user"]) == ["zed", "mia", "alice"]
    assert text.index('"zed"') < text.index('"alice"')


# ---- host health: a stopped auditd is a warning -------------------------------------------------

@pytest.mark.parametrize("auditd, why", [
    (status(pid=0), "auditd is not running (auditctl -s: pid 0)"),
    (status(pid=812, daemon_running=False), "auditd is not running"),
    (status(enabled=0), "kernel audit is disabled"),
    (status(available=False, pid=None), "kernel audit is not available"),
])
def test_host_not_recording_is_a_warning_in_every_format(auditd, why):
    data = {"quiet": host_vars([], auditd=auditd), "busy": host_vars(reports_for("busy", kill_event(1, 1.0)))}
    report = fleet_kill_report(data, generated_at=NOW)
    hosts = {h["host"]: h for h in report["hosts"]}
    assert hosts["quiet"]["recording"] is False and hosts["busy"]["recording"] is True
    assert hosts["quiet"]["state"] == "ok" and why in hosts["quiet"]["warnings"][0]
    assert hosts["busy"]["warnings"] == []
    assert report["complete"] is False and report["totals"]["hosts_not_recording"] == 1
    assert any(line.startswith("quiet: " + why) for line in report["warnings"])
    text = fleet_kill_report(data, generated_at=NOW, format="json")
    assert json.loads(text)["hosts"][1]["warnings"] == hosts["quiet"]["warnings"]
    md = kill_report_markdown(report)
    assert "> - quiet: " + why in md
    assert [row[:2] for row in md_table(md, "Hosts")] == [["busy", "ok"], ["quiet", "warning"]]
    page = kill_report_html(report)
    assert "<li>quiet: " + why in page and '<td class="s-warning">warning</td>' in page
    files = kill_report_files(report)
    assert any(line.startswith("quiet: " + why) for line in files["summary"]["lines"])


def test_running_auditd_is_not_a_warning():
    data = {"h": host_vars([], auditd=status(pid=812, daemon_running=True))}
    report = fleet_kill_report(data)
    assert report["hosts"][0]["recording"] is True and report["warnings"] == [] and report["complete"]


def test_reports_of_older_versions_get_their_warnings_worked_out():
    data = {"quiet": host_vars([], auditd=status(pid=0))}
    report = json.loads(fleet_kill_report(data, format="json"))
    for entry in report["hosts"]:
        del entry["warnings"]
    del report["warnings"]
    assert "quiet: auditd is not running" in kill_report_markdown(report)


# ---- architecture -------------------------------------------------------------------------------

def test_host_architecture_from_facts_or_kills(demo):
    hosts = {h["host"]: (h["arch"], h["arch_source"]) for h in demo["hosts"]}
    assert hosts == {"web1": ("x86_64", "facts"), "web2": ("x86_64", "reports"), "arm1": ("aarch64", "facts"),
                     "legacy32": ("i386", "facts"), "db1": ("x86_64", "facts"), "ghost": (None, None)}
    only32 = fleet_kill_report({"h": reports_for("h", kill_event(1, 1.0, arch="i386"))})
    assert only32["hosts"][0]["arch"] == "i386"
    mixed = fleet_kill_report({"h": reports_for("h", *[kill_event(i, i, arch="i386") for i in range(1, 5)]
                                                + [kill_event(9, 9.0, arch="aarch64")])})
    assert mixed["hosts"][0]["arch"] == "aarch64"          # a 64-bit ABI names the kernel
    md = kill_report_markdown(demo)
    assert {row[0]: row[2] for row in md_table(md, "Hosts")}["web2"] == "x86\\_64 (from kills)"
    rows = list(csv.DictReader(io.StringIO(kill_report_csv(demo), newline="")))
    assert {r["arch"] for r in rows if r["host"] == "web2"} == {"x86_64", "i386"}
    assert {r["arch"] for r in rows if r["host"] == "arm1"} == {"aarch64"}


# ---- central log servers: node as host ---------------------------------------------------------

def central_log():
    events = [kill_event(i, float(i), node="node%d" % (i % 3), login="alice", user="root") for i in range(1, 10)]
    events.append(kill_event(10, 10.0, login="root", user="root"))     # the server's own event: no node=
    return "".join(events)


def test_reports_without_host_count_under_their_node():
    from ansible_collections.auditfleet.auditd.plugins.filter.kill_reports import kill_reports
    report = fleet_kill_report(kill_reports(central_log()))
    assert report["counts"]["by_host"] == {"node0": 3, "node1": 3, "node2": 3, "(none)": 1}
    assert [h["host"] for h in report["hosts"]] == ["(none)", "node0", "node1", "node2"]
    assert {r["host"] for r in report["reports"]} == {"node0", "node1", "node2", None}


def test_node_as_host_for_a_central_log_server():
    reports = reports_for("logserver", central_log())           # audit_facts sets host: the server
    data = {"logserver": host_vars(reports), "web9": host_vars([])}
    plain = fleet_kill_report(data)
    assert plain["counts"]["by_host"] == {"logserver": 10}
    report = fleet_kill_report(data, node_as_host=True)
    assert report["counts"]["by_host"] == {"node0": 3, "node1": 3, "node2": 3, "logserver": 1}
    hosts = {h["host"]: h for h in report["hosts"]}
    assert hosts["node1"]["collected_from"] == "logserver" and hosts["logserver"]["collected_from"] is None
    assert hosts["node1"]["state"] == "ok" and hosts["web9"]["kills"] == 0
    assert report["node_as_host"] is True
    md = kill_report_markdown(report)
    assert "read from the log of logserver (node name)" in md
    assert "- Hosts are the node names in the logs (a central log server's log)" in md


# ---- timeline, top killers, per target ----------------------------------------------------------

@pytest.mark.parametrize("span, seconds", [(0, 60), (40 * 60, 60), (3 * 3600, 300), (30 * 3600, 3600),
                                           (20 * 86400, 12 * 3600), (30 * 86400, 86400), (400 * 86400, 30 * 86400)])
def test_bucket_size_fits_48_bars(span, seconds):
    first = 1795653000.0
    assert bucket_size(first, first + span)[0] == seconds


def test_timeline_counts_per_kind_and_host(demo):
    md = kill_report_markdown(demo)
    rows = md_table(md, "Timeline")
    assert sum(int(r[1]) for r in rows) == demo["totals"]["kills"]
    assert sum(int(r[2]) for r in rows) == sum(1 for r in demo["reports"] if r["signal"] == 9 and r["success"])
    assert sum(int(r[3]) for r in rows) == demo["totals"]["unsuccessful"]
    assert "Kills per hour (UTC)" in md
    page = kill_report_html(demo)
    svg = page.split('id="timeline-chart"', 1)[1].split("</svg>", 1)[0]
    strips = re.findall(r'<g class="strip"><title>(.*?): (\d+) in all</title>', svg)
    assert strips[0] == ("All hosts", str(demo["totals"]["kills"]))
    by_host = demo["counts"]["by_host"]
    assert [s[0] for s in strips[1:]] == sorted(by_host, key=lambda h: (-by_host[h], h))   # most kills first
    assert [int(s[1]) for s in strips[1:]] == sorted(by_host.values(), reverse=True)
    assert {"k-other", "k-sigkill", "k-failed"} <= set(re.findall(r'class="(k-[a-z]+)"', svg))
    bar_titles = re.findall(r"<g><title>(All hosts, [^<]*)</title>", svg)
    assert sum(int(re.search(r": (\d+) kills?", t).group(1)) for t in bar_titles) == demo["totals"]["kills"]


def test_timeline_groups_the_quiet_hosts():
    fleet = {"h%02d" % i: reports_for("h%02d" % i, *[kill_event(j, 60.0 * j) for j in range(1, i + 2)])
             for i in range(15)}
    page = kill_report_html(fleet_kill_report(fleet))
    strips = re.findall(r'<g class="strip"><title>(.*?): (\d+) in all</title>', page)
    assert len(strips) == 1 + 12 + 1 and strips[-1] == ("3 other hosts", str(1 + 2 + 3))


def test_top_killers(demo):
    md = kill_report_markdown(demo)
    rows = md_table(md, "Top killers")
    kills = [int(r[2]) for r in rows]
    assert kills == sorted(kills, reverse=True) and len(rows) == 15
    expected = {}
    for r in demo["reports"]:
        key = (r["killer"]["login_user"] or "(none)", r["killer"]["comm"])
        expected[key] = expected.get(key, 0) + 1
    top = max(expected.items(), key=lambda item: item[1])
    assert (rows[0][0], rows[0][1], kills[0]) == (top[0][0], top[0][1], top[1])
    page = kill_report_html(demo)
    assert page.split('id="killers-chart"', 1)[1].split("</svg>")[0].count("<g>") == 15


def test_per_target_view_answers_who_killed_nginx(demo):
    nginx = [r for r in demo["reports"] if any(t["comm"] == "nginx" for t in r["targets"])]
    md = kill_report_markdown(demo)
    rows = {r[0]: r for r in md_table(md, "Who killed what (per target)")}
    assert int(rows["nginx"][1]) == len(nginx)
    assert int(rows["nginx"][2]) == sum(1 for r in nginx if r["signal"] == 9 and r["success"])
    assert int(rows["nginx"][3]) == sum(1 for r in nginx if not r["success"])
    assert (rows["nginx"][6], rows["nginx"][7]) == (nginx[0]["time"], nginx[-1]["time"])
    page = kill_report_html(demo)
    row = [r for r in html_table(page, "targets") if "<summary>nginx</summary>" in r[0]][0]
    items = re.findall(r"<li>(.*?)</li>", row[0], re.S)
    assert len(items) == min(20, len(nginx))
    latest = nginx[-1]
    assert items[0].startswith('<span class="when">%s</span> %s: ' % (latest["time"], latest["host"]))
    assert "and %d earlier" % (len(nginx) - 20) in row[0]


# ---- kill_report_files: the playbook's one expression ------------------------------------------

def test_files_are_the_renderers_texts(demo):
    files = kill_report_files(demo, title="T", max_rows=50)
    assert files["json"].startswith("\n{") and json.loads(files["json"]) == json.loads(json.dumps(demo))
    assert files["csv"] == kill_report_csv(demo)
    assert files["markdown"] == kill_report_markdown(demo, title="T", max_rows=50)
    assert files["html"] == kill_report_html(demo, title="T", max_rows=50)
    assert files["summary"]["totals"] == demo["totals"] and files["summary"]["complete"] is False
    assert files["summary"]["lines"][0] == "ghost unreachable: Failed to connect to the host via ssh: Connection refused"
    assert set(kill_report_files(demo, formats=["csv"])) == {"summary", "csv"}
    with pytest.raises(AnsibleFilterError, match="formats: 'pdf'"):
        kill_report_files(demo, formats=["pdf"])


def test_json_file_layout(demo):
    text = fleet_kill_report(demo["reports"][:3], format="json")
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    starts = [i for i, line in enumerate(lines) if line.startswith('    {"event_id": ')]
    assert len(starts) == 3                                  # one line per kill report
    assert text.isascii()


# ---- templates: a site's own, escaping that stays, errors that say where ----------------------

def test_site_template_extends_the_collections(tmp_path, demo):
    site = tmp_path / "kill_report.html.j2"
    site.write_text('{% extends "auditfleet.auditd/kill_report.html.j2" %}'
                    '{% block style %}{{ super() }}\nbody{background:#eee}{% endblock %}'
                    '{% block body %}<p id="mine">{{ view.kills.rows[0][7] }} {{ report.totals.kills }}</p>{% endblock %}')
    page = kill_report_html(demo, template=str(site))
    assert '<p id="mine">' in page and "<h2>Hosts</h2>" not in page
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert style.endswith("body{background:#eee}")
    assert csp_sources(page)["style-src"] == [sha256(style)]


def test_site_template_cannot_print_data_unescaped(tmp_path):
    reports = reports_for("h", kill_event(1, 1.0, comm="<img>", argv=("<script>x</script>", "\x1b[2J")))
    md_site = tmp_path / "r.md.j2"
    md_site.write_text("{% for r in report.reports %}{{ r.killer.cmdline }}|{{ r.killer.comm }}\n{% endfor %}")
    assert kill_report_markdown(reports, template=str(md_site)) == "\\<script\\>x\\</script\\> \\\\x1b\\[2J|\\<img\\>\n"
    html_site = tmp_path / "r.html.j2"
    html_site.write_text("{% for r in report.reports %}{{ r.killer.cmdline }}{% endfor %}")
    assert kill_report_html(reports, template=str(html_site)) == "&lt;script&gt;x&lt;/script&gt; \\x1b[2J"


@pytest.mark.parametrize("body, words", [
    ("{% for x in %}", ["bad.j2", "line 1"]),
    ("{{ view.nothing_here.x }}", ["bad.j2", "nothing_here"]),
    ('{% include "missing.j2" %}', ["bad.j2", "missing.j2"]),
])
def test_template_errors_name_the_template(tmp_path, body, words):
    (tmp_path / "bad.j2").write_text(body)
    with pytest.raises(AnsibleFilterError) as err:
        kill_report_markdown([], template=str(tmp_path / "bad.j2"))
    for word in words:
        assert word in str(err.value)


def test_template_option_must_be_a_file(tmp_path):
    with pytest.raises(AnsibleFilterError, match="option template: .*nope.j2 is not a file"):
        kill_report_html([], template=str(tmp_path / "nope.j2"))
    with pytest.raises(AnsibleFilterError, match="option template must be the path"):
        kill_report_html([], template=["x"])


def sha256(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def csp_sources(page):
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page).group(1)
    policy = policy.replace("&#39;", "'")
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_csp_allows_exactly_the_pages_own_style_and_script(demo):
    page = kill_report_html(demo)
    sources = csp_sources(page)
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    assert sources == {"default-src": ["'none'"], "base-uri": ["'none'"], "form-action": ["'none'"],
                       "style-src": [sha256(style)], "script-src": [sha256(script)]}
    assert "\r" not in style + script                      # the browser hashes what it parsed
    assert not re.search(r"\son[a-z]+=", page)               # no inline event handler
    assert " style=" not in page


@pytest.mark.parametrize("report, text", [
    ({"syscall": "kill", "target_pid": 42, "scope": "process"}, "42"),
    ({"syscall": "tgkill", "target_pid": 42, "target_tid": 43, "scope": "thread"}, "thread 43 of 42"),
    ({"syscall": "rt_tgsigqueueinfo", "target_pid": 42, "target_tid": 43, "scope": "thread"}, "thread 43 of 42"),
    ({"syscall": "rt_sigqueueinfo", "target_pid": 42, "scope": "process"}, "42"),
    ({"syscall": "pidfd_send_signal", "pidfd": 3, "target_pid": 42, "scope": "process"}, "process 42 (pidfd 3)"),
    ({"syscall": "pidfd_send_signal", "pidfd": 3, "target_pid": None, "scope": "process"}, "unknown (pidfd 3)"),
    ({"syscall": "pidfd_send_signal", "pidfd": 5, "target_pid": None, "scope": "process_group"}, "group of pidfd 5"),
])
def test_target_text_of_every_signal_syscall(report, text):
    """Each of the six syscalls names its target as its arguments do (no 'group None')."""
    assert _fleetview.target_text(report) == text


def test_syscall_column_tells_the_syscalls_apart():
    assert _fleetview.syscall_text({"syscall": "pidfd_send_signal", "arch": "i386"}) == "pidfd_send_signal (i386)"
    assert _fleetview.syscall_text({"syscall": "kill", "arch": None}) == "kill"
