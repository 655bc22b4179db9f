# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers of the fleet kill report: aggregation and the renderers' shared parts.

aggregate() turns the kill reports of many hosts (hostvars after audit_facts, or a list of
reports) into one fleet report dict; the filters fleet_kill_report, kill_report_csv,
kill_report_markdown and kill_report_html are thin wrappers over this module.

The human renderers (Markdown, HTML) render the same document, built once by document():
a list of blocks (headings, bullet lists, warnings, tables) of plain text. Each renderer
escapes every piece of text itself: log data is untrusted (a command line can hold anything).

Everything here is pure: no files, no network, no clock except generated_at's default.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import json
import re
from collections.abc import Mapping

try:  # ansible-core 2.19+: no string is a template unless it is tagged trusted; nothing to do
    from ansible.template import trust_as_template as _trust_probe  # noqa: F401  pylint: disable=unused-import
    _AnsibleUnsafeText = None
except ImportError:  # ansible-core < 2.19: strings are templates unless marked unsafe
    from ansible.utils.unsafe_proxy import AnsibleUnsafeText as _AnsibleUnsafeText

NONE = "(none)"
PROBE_SIGNAL = "0 (probe)"
PROBE_MODES = ("apart", "hide", "include")
FACT = "auditd_kill_reports"
STATUS_FACT = "auditd_status"
SUMMARY_FACT = "auditd_log_summary"
MAX_TARGETS_SHOWN = 10
MAX_REASON = 500

CSV_COLUMNS = (
    "time", "host", "node", "key", "syscall", "signal", "signal_name", "probe", "success",
    "errno", "target_pid", "target_tid", "scope", "targets",
    "killer_pid", "killer_ppid", "killer_auid", "killer_login_user", "killer_uid", "killer_user",
    "killer_comm", "killer_exe", "killer_tty", "killer_ses", "killer_cmdline", "event_id",
)
# Columns whose text comes from the log or the user database (spreadsheet_safe applies to these).
CSV_TEXT_COLUMNS = frozenset((
    "host", "node", "key", "targets", "killer_login_user", "killer_user", "killer_comm",
    "killer_exe", "killer_tty", "killer_cmdline",
))
_KILLER_FIELDS = ("pid", "ppid", "auid", "login_user", "uid", "user", "comm", "exe", "tty", "ses", "cmdline")


# ---- input as plain data -----------------------------------------------------------------------

def plain(value):
    """A lazy container of ansible-core 2.19+ as the plain container it wraps; anything else as is.

    From 2.19 on, filters get their arguments as lazy containers that run each value through the
    templating engine when it is read: tens of microseconds a value, which is nearly all the
    time of a report of thousands of kills. The contents are data (module results, facts, filter
    results), so they are taken as they are, without templating (a string that looks like a
    template stays text, which is what log data must do). Nested containers come out plain
    too. The method is internal to ansible-core: when it is missing, the lazy path is used.
    """
    copier = getattr(value, "_non_lazy_copy", None)
    if copier is None:
        return value
    try:
        return copier()
    except Exception:  # pylint: disable=broad-except
        return value


def untrusted(text):
    """Text made from log data, marked so that ansible-core < 2.19 never templates it.

    There, a string stored with set_fact is templated again each time it is read: a command
    line holding "{{ lookup('pipe', ...) }}" would run on the controller. 2.19+ never templates
    data it does not trust, so the text is returned as it is.
    """
    if _AnsibleUnsafeText is None or text is None:
        return text
    return _AnsibleUnsafeText(text)


def to_json_text(report):
    """The fleet report as JSON text: indented, keys sorted, ASCII only (so any byte of the log
    survives as an escape)."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=True, default=_json_default) + "\n"


def _json_default(value):
    """What json cannot encode by itself: other mappings and sequences, and the raw items that
    json's C encoder reads straight out of a lazy list of ansible-core 2.19+ (its values wait,
    wrapped, to be templated; they are data here)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if type(value).__name__ == "_LazyValue" and hasattr(value, "value"):
        return value.value
    raise TypeError("cannot write %s as JSON" % type(value).__name__)


# ---- small accessors ---------------------------------------------------------------------------

def _killer(report):
    killer = report.get("killer")
    if isinstance(killer, (dict, Mapping)):     # dict first: the ABC check is slow
        return killer
    return {}


def _serial(report):
    event_id = report.get("event_id")
    if isinstance(event_id, str):
        try:
            return int(event_id.rpartition(":")[2])
        except ValueError:
            pass
    return 0


def sort_key(report):
    """Time, then host, then the event serial: the order of every list in the fleet report."""
    stamp = report.get("timestamp")
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        stamp = 0.0
    return (stamp, report.get("host") or "", _serial(report))


def is_probe(report):
    probe = report.get("probe")
    if probe is None:
        return report.get("signal") == 0
    return bool(probe)


def host_label(report):
    return report.get("host") or NONE


def login_user_label(report):
    """The killer's login user; "auid N" when the login uid has no name; "(none)" when unset."""
    killer = _killer(report)
    name = killer.get("login_user")
    if name:
        return str(name)
    auid = killer.get("auid")
    if auid is not None:
        return "auid %s" % auid
    return NONE


def signal_label(report):
    name = report.get("signal_name")
    if name:
        return str(name)
    signal = report.get("signal")
    if signal == 0:
        return PROBE_SIGNAL
    if signal is None:
        return NONE
    return str(signal)


def command_label(report):
    return _killer(report).get("comm") or NONE


def _sorted_counts(table):
    """Most first, then by name: the order of the count tables in the renderers."""
    return dict(sorted(table.items(), key=lambda item: (-item[1], item[0])))


_COUNTED_BY = (("by_host", host_label), ("by_login_user", login_user_label),
               ("by_signal", signal_label), ("by_command", command_label))


def counts_of(reports):
    """Reports per host, login user, signal and command, labelled as the renderers show them."""
    tables = {name: {} for name, _label in _COUNTED_BY}
    for report in reports:
        for name, label_of in _COUNTED_BY:
            table, label = tables[name], label_of(report)
            table[label] = table.get(label, 0) + 1
    return {name: _sorted_counts(table) for name, table in tables.items()}


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- aggregation -------------------------------------------------------------------------------

def _get(mapping, name):
    """mapping[name] or None; hostvars (a lazy mapping) raises KeyError for a missing name."""
    try:
        return plain(mapping[name])
    except (KeyError, TypeError):
        return None


def _host_facts(host_vars, name):
    """A fact from a host's variables: from ansible_facts first (works without
    INJECT_FACTS_AS_VARS), else the injected variable."""
    facts = _get(host_vars, "ansible_facts")
    if isinstance(facts, Mapping):
        value = _get(facts, name)
        if value is not None:
            return value
    return _get(host_vars, name)


def _reason(result):
    msg = result.get("msg")
    msg = str(msg).strip() if msg else ""
    if not msg or msg.startswith("MODULE FAILURE") or "See stdout/stderr for the exact error" in msg:
        for field in ("module_stderr", "stderr", "module_stdout"):
            text = result.get(field)
            lines = [line.strip() for line in str(text).splitlines() if line.strip()] if text else []
            if lines:
                msg = msg.replace("See stdout/stderr for the exact error", "").strip().rstrip(".")
                msg = "%s: %s" % (msg, lines[-1]) if msg else lines[-1]
                break
    if msg.startswith("Task failed: "):     # ansible-core 2.19+ prefixes its own messages
        msg = msg[len("Task failed: "):]
    msg = " ".join(msg.split()) or None
    if msg and len(msg) > MAX_REASON:
        msg = msg[:MAX_REASON - 1] + "\u2026"
    return untrusted(msg)


def result_outcome(result):
    """A registered task result -> (state, reason): ok, failed or unreachable."""
    if not isinstance(result, Mapping):
        return None
    if result.get("unreachable"):
        return "unreachable", _reason(result) or "unreachable"
    if result.get("failed"):
        return "failed", _reason(result) or "the gathering task failed (no message)"
    if result.get("skipped"):
        return "failed", "the gathering task was skipped on this host"
    return "ok", None


def _str_list(value, option, plugin):
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise TypeError("%s: option %s must be a list of host names, not %s"
                        % (plugin, option, type(value).__name__))
    out = []
    for item in items:
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if not isinstance(item, str):
            raise TypeError("%s: option %s must hold host names (strings); %r is %s"
                            % (plugin, option, item, type(item).__name__))
        out.append(str(item))
    return out


def report_list(value, where, plugin):
    value = plain(value)
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or isinstance(value, Mapping):
        raise TypeError("%s: %s must be a list of kill reports, not %s" % (plugin, where, type(value).__name__))
    try:
        items = list(value)
    except TypeError:
        raise TypeError("%s: %s must be a list of kill reports, not %s" % (plugin, where, type(value).__name__))
    for index, item in enumerate(items):
        if not isinstance(item, (dict, Mapping)):
            raise TypeError("%s: item %d of %s is %s, not a kill report (dict)"
                            % (plugin, index, where, type(item).__name__))
    return items


def _host_entry(name):
    return {"host": name, "state": "ok", "reason": None, "kills": 0, "probes": 0,
            "unsuccessful": 0, "first": None, "last": None, "truncated": None,
            "total_kill_reports": None, "auditd": None}


def _status_summary(status):
    if not isinstance(status, Mapping):
        return None
    return {name: status.get(name) for name in
            ("available", "enabled", "pid", "lost", "backlog", "backlog_limit", "message")}


def aggregate(data, hosts=None, answered=None, result_var=None, probes="apart", parameters=None,
              generated_at=None, plugin="auditfleet.auditd.fleet_kill_report"):
    """The fleet report dict; see the fleet_kill_report filter's documentation."""
    if probes not in PROBE_MODES:
        raise ValueError("%s: option probes must be one of %s, not %r" % (plugin, ", ".join(PROBE_MODES), probes))
    probes = str(probes)
    hosts = _str_list(hosts, "hosts", plugin)
    answered_list = _str_list(answered, "answered", plugin)
    answered_set = None if answered_list is None else set(answered_list)
    if result_var is not None and not isinstance(result_var, str):
        raise TypeError("%s: option result_var must be the name of a variable (a string)" % plugin)
    parameters = plain(parameters)
    if parameters is not None and not isinstance(parameters, Mapping):
        raise TypeError("%s: option parameters must be a dict, not %s" % (plugin, type(parameters).__name__))
    if generated_at is not None and not isinstance(generated_at, str):
        raise TypeError("%s: option generated_at must be a string (ISO 8601)" % plugin)

    entries = {}          # host name -> its entry in "hosts" (insertion order is irrelevant)
    collected = []        # every kill report taken, host filled in

    data = plain(data)
    if isinstance(data, Mapping):
        # hostvars: read each host's variables untemplated (HostVars.raw_get). Facts and task
        # results are data, never templates, and templating them value by value is most of the
        # time of a big report.
        raw_get = getattr(data, "raw_get", None)
        names = hosts if hosts is not None else [str(name) for name in data]
        for name in names:
            entry = entries.setdefault(name, _host_entry(name))
            host_vars = None
            if name in data:
                host_vars = plain(raw_get(name) if raw_get is not None else data[name])
                if raw_get is not None and not isinstance(host_vars, Mapping):
                    host_vars = None      # an undefined value: not a host of the inventory
            outcome = None
            if result_var and isinstance(host_vars, Mapping):
                outcome = result_outcome(_get(host_vars, result_var))
            if outcome is not None and outcome[0] != "ok":
                entry["state"], entry["reason"] = outcome
                continue
            if answered_set is not None and name not in answered_set:
                entry["state"] = "failed"
                entry["reason"] = "left the play before its end (failed or unreachable; no result recorded)"
                continue
            if host_vars is None:
                entry["state"], entry["reason"] = "failed", "not in the input (not a host of the inventory?)"
                continue
            if isinstance(host_vars, Mapping):
                reports = _host_facts(host_vars, FACT)
                status = _host_facts(host_vars, STATUS_FACT)
                summary = _host_facts(host_vars, SUMMARY_FACT)
            else:     # a mapping of host -> list of reports
                reports, status, summary = host_vars, None, None
            reports = report_list(reports, "the %s of host %s" % (FACT, name), plugin)
            if reports is None:
                entry["state"] = "failed"
                entry["reason"] = "no kill reports in its facts (%s is not set)" % FACT
                continue
            entry["auditd"] = _status_summary(status)
            if isinstance(summary, Mapping):
                truncated = summary.get("truncated")
                entry["truncated"] = None if truncated is None else bool(truncated)
                entry["total_kill_reports"] = summary.get("total_kill_reports")
            for report in reports:
                report = dict(report)
                if not report.get("host"):
                    report["host"] = name
                collected.append(report)
    else:
        if data is None or isinstance(data, (str, bytes)):
            raise TypeError("%s: the input must be hostvars, a dict of host to kill reports, or a list "
                            "of kill reports, not %s" % (plugin, type(data).__name__))
        reports = report_list(data, "the input", plugin)
        for name in hosts or ():
            entries.setdefault(name, _host_entry(name))
        for name, entry in entries.items():
            if answered_set is not None and name not in answered_set:
                entry["state"] = "failed"
                entry["reason"] = "did not answer (not in the list of hosts that answered)"
        failed = {name for name, entry in entries.items() if entry["state"] != "ok"}
        for report in reports:
            if report.get("host") in failed:
                continue
            collected.append(dict(report))

    kills, probe_list = [], []
    for report in collected:
        name = report.get("host") or NONE
        entry = entries.get(name)
        if entry is None:
            entry = entries[name] = _host_entry(name)
        time_text = report.get("time")
        if time_text is not None:
            if entry["first"] is None or time_text < entry["first"]:
                entry["first"] = time_text
            if entry["last"] is None or time_text > entry["last"]:
                entry["last"] = time_text
        if is_probe(report):
            entry["probes"] += 1
            probe_list.append(report)
        else:
            entry["kills"] += 1
            if report.get("success") is False:
                entry["unsuccessful"] += 1
            kills.append(report)

    kills.sort(key=sort_key)
    probe_list.sort(key=sort_key)
    everything_first = min((r for r in (kills[:1] + probe_list[:1])), key=sort_key, default=None)
    everything_last = max((r for r in (kills[-1:] + probe_list[-1:])), key=sort_key, default=None)
    probe_counts = counts_of(probe_list)
    if probes == "include":
        listed = sorted(kills + probe_list, key=sort_key)
        listed_probes = []
    else:
        listed = kills
        listed_probes = probe_list if probes == "apart" else []

    host_entries = [entries[name] for name in sorted(entries)]
    failed_hosts = [{"host": e["host"], "state": e["state"], "reason": e["reason"]}
                    for e in host_entries if e["state"] != "ok"]
    ok_hosts = len(host_entries) - len(failed_hosts)
    truncated = [e["host"] for e in host_entries if e["truncated"]]
    return {
        "generated_at": generated_at or now_iso(),
        "parameters": dict(parameters) if parameters is not None else {},
        "probe_mode": probes,
        "complete": not failed_hosts and not truncated,
        "time_range": {
            "first": everything_first.get("time") if everything_first else None,
            "last": everything_last.get("time") if everything_last else None,
            "first_timestamp": everything_first.get("timestamp") if everything_first else None,
            "last_timestamp": everything_last.get("timestamp") if everything_last else None,
        },
        "totals": {
            "hosts": len(host_entries),
            "hosts_ok": ok_hosts,
            "hosts_failed": len(failed_hosts),
            "hosts_truncated": len(truncated),
            "kill_reports": len(kills) + len(probe_list),
            "kills": len(kills),
            "unsuccessful": sum(1 for r in kills if r.get("success") is False),
            "probes": len(probe_list),
            "listed": len(listed),
        },
        "hosts": host_entries,
        "failed_hosts": failed_hosts,
        "counts": counts_of(listed),
        "probe_counts": probe_counts,
        "reports": listed,
        "probes": listed_probes,
    }


def fleet_input(data, plugin):
    """A renderer's input -> a fleet report dict. A list of kill reports is aggregated first
    (probes apart), so the renderers also work on the output of kill_reports or audit_facts;
    text is the JSON of a fleet report (fleet_kill_report with format=json, kill_report.json)."""
    data = plain(data)
    if isinstance(data, bytes):
        data = data.decode("utf-8")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ValueError("%s: the input is text but not the JSON of a fleet report: %s" % (plugin, exc))
        if not isinstance(data, Mapping):
            raise TypeError("%s: the input is JSON text but not of a fleet report (a %s, not an object)"
                            % (plugin, type(data).__name__))
    if isinstance(data, Mapping):
        if "reports" not in data or "totals" not in data:
            raise TypeError("%s: the input is a dict but not a fleet report (no reports or totals): "
                            "give the output of auditfleet.auditd.fleet_kill_report or a list of "
                            "kill reports" % plugin)
        return data
    if data is None:
        raise TypeError("%s: the input must be a fleet report (auditfleet.auditd.fleet_kill_report), "
                        "its JSON text, or a list of kill reports, not None" % plugin)
    return aggregate(data, plugin=plugin)


def bool_option(value, option, plugin):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "on", "1", "no", "false", "off", "0"):
        return value.strip().lower() in ("yes", "true", "on", "1")
    if isinstance(value, int):
        return bool(value)
    raise TypeError("%s: option %s must be a boolean, not %r" % (plugin, option, value))


def int_option(value, option, plugin, minimum=0):
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise TypeError("%s: option %s must be an integer, not %r" % (plugin, option, value))
    if isinstance(value, bool) or number < minimum:
        raise ValueError("%s: option %s must be an integer >= %d, not %r" % (plugin, option, minimum, value))
    return number


# ---- CSV ---------------------------------------------------------------------------------------

def targets_cell(report):
    """The targets as "pid:comm;pid:comm"."""
    targets = report.get("targets") or ()
    parts = []
    for target in targets:
        if isinstance(target, Mapping):
            pid, comm = target.get("pid"), target.get("comm")
            parts.append("%s:%s" % ("" if pid is None else pid, "" if comm is None else comm))
    return ";".join(parts)


def _csv_value(value):
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_row(report, spreadsheet_safe=False):
    killer = _killer(report)
    row = {
        "time": report.get("time"), "host": report.get("host"), "node": report.get("node"),
        "key": report.get("key"), "syscall": report.get("syscall"), "signal": report.get("signal"),
        "signal_name": report.get("signal_name"), "probe": is_probe(report),
        "success": report.get("success"), "errno": report.get("errno"),
        "target_pid": report.get("target_pid"), "target_tid": report.get("target_tid"),
        "scope": report.get("scope"), "targets": targets_cell(report),
        "event_id": report.get("event_id"),
    }
    for field in _KILLER_FIELDS:
        row["killer_" + field] = killer.get(field)
    cells = []
    for column in CSV_COLUMNS:
        text = _csv_value(row[column])
        if spreadsheet_safe and column in CSV_TEXT_COLUMNS and text.startswith(_FORMULA_START):
            text = "'" + text
        cells.append(text)
    return cells


def render_csv(reports, header=True, spreadsheet_safe=False):
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL)
    if header:
        writer.writerow(CSV_COLUMNS)
    for report in reports:
        writer.writerow(csv_row(report, spreadsheet_safe))
    return out.getvalue()


# ---- the human document (Markdown and HTML render the same blocks) -----------------------------

_CONTROLS = [c for c in range(0x20) if c not in (0x09, 0x0a, 0x0d)] + [0x7f]
_VISIBLE = {c: "\\x%02x" % c for c in _CONTROLS}


def visible_controls(text):
    """Control characters other than tab, newline and carriage return as \\xNN, so they
    cannot hide in a cell."""
    return text.translate(_VISIBLE)


def _target_text(report):
    pid, tid, scope = report.get("target_pid"), report.get("target_tid"), report.get("scope")
    syscall = report.get("syscall")
    if scope == "all":
        return "all (-1)"
    if scope == "process_group":
        return "own group (0)" if pid == 0 else "group %s" % (-pid if isinstance(pid, int) else pid)
    if scope == "thread" or syscall in ("tkill", "tgkill"):
        if syscall == "tgkill":
            return "thread %s of %s" % (tid, pid)
        return "thread %s" % (tid if tid is not None else pid)
    return "" if pid is None else str(pid)


def _targets_text(report):
    targets = [t for t in (report.get("targets") or ()) if isinstance(t, Mapping)]
    parts = ["%s (%s)" % (t.get("comm") or "?", t.get("pid")) for t in targets[:MAX_TARGETS_SHOWN]]
    if len(targets) > MAX_TARGETS_SHOWN:
        parts.append("and %d more" % (len(targets) - MAX_TARGETS_SHOWN))
    return ", ".join(parts)


def _result_text(report):
    success = report.get("success")
    if success is True:
        return "ok"
    if success is False:
        return report.get("errno") or "failed (exit %s)" % report.get("exit")
    return ""


def _who(value):
    return NONE if value is None else str(value)


KILL_HEADERS = ("Time", "Host", "Signal", "Result", "Login user", "User", "Killer", "Command line",
                "Target", "Target processes")


def kill_row(report):
    killer = _killer(report)
    comm = killer.get("comm")
    who = "%s (pid %s)" % (comm if comm is not None else "?", killer.get("pid"))
    user = killer.get("user")
    if user is None and killer.get("uid") is not None:
        user = "uid %s" % killer.get("uid")
    return [
        _who(report.get("time")), host_label(report), signal_label(report), _result_text(report),
        login_user_label(report), _who(user), who, killer.get("cmdline") or "",
        _target_text(report), _targets_text(report),
    ]


def _table(headers, rows, numeric=(), wide=()):
    return {"kind": "table", "headers": list(headers), "rows": rows, "numeric": set(numeric), "wide": set(wide)}


def _count_table(title, table, what="Kills"):
    return _table((title, what), [[name, str(count)] for name, count in table.items()], numeric=(1,))


def _limited(reports, max_rows):
    """The most recent MAX_ROWS reports (all with 0 / None) and how many were left out."""
    if max_rows and len(reports) > max_rows:
        return reports[-max_rows:], len(reports) - max_rows
    return reports, 0


def _parameters_text(parameters):
    parts = []
    for name, value in parameters.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        parts.append("%s: %s" % (name, value))
    return "; ".join(parts)


def warnings_of(report):
    lines = []
    totals = report.get("totals") or {}
    if not report.get("hosts"):
        lines.append("No host was targeted: nothing was collected.")
    failed = report.get("failed_hosts") or []
    if failed:
        lines.append("Incomplete: %d of %d hosts did not answer (%s); their kills are not in this report."
                     % (len(failed), totals.get("hosts", len(failed)), ", ".join(f["host"] for f in failed)))
    for entry in report.get("hosts") or ():
        if entry.get("truncated"):
            lines.append("%s: only the most recent %d of %s kill reports were collected (max_events)."
                         % (entry["host"], entry["kills"] + entry["probes"], entry.get("total_kill_reports")))
        auditd = entry.get("auditd") or {}
        if auditd.get("available") is False:
            lines.append("%s: kernel audit is not available (%s)." % (entry["host"], auditd.get("message") or "no reason given"))
        elif auditd.get("enabled") == 0:
            lines.append("%s: kernel audit is disabled (enabled 0): no kills are recorded." % entry["host"])
        if auditd.get("lost"):
            lines.append("%s: the kernel lost %s audit records (auditctl -s); kills may be missing." % (entry["host"], auditd["lost"]))
    return lines


def document(report, title="Fleet kill report", max_rows=None):
    """The blocks of the human report. Text only: the renderers escape it."""
    totals = report.get("totals") or {}
    time_range = report.get("time_range") or {}
    mode = report.get("probe_mode") or "apart"
    blocks = [{"kind": "h1", "text": title}]
    summary = [
        "Generated: %s" % (report.get("generated_at") or "?"),
        "Time range: %s to %s" % (time_range.get("first") or "-", time_range.get("last") or "-")
        if time_range.get("first") else "Time range: no kill reports",
        "Hosts: %d targeted, %d answered, %d failed or unreachable"
        % (totals.get("hosts", 0), totals.get("hosts_ok", 0), totals.get("hosts_failed", 0)),
        "Kills: %d (%d unsuccessful)" % (totals.get("kills", 0), totals.get("unsuccessful", 0)),
        "Probes (signal 0): %d, %s" % (totals.get("probes", 0), {
            "apart": "listed apart", "hide": "hidden", "include": "listed with the kills"}.get(mode, mode)),
    ]
    params = _parameters_text(report.get("parameters") or {})
    if params:
        summary.append("Parameters: %s" % params)
    blocks.append({"kind": "list", "items": summary})
    warnings = warnings_of(report)
    if warnings:
        blocks.append({"kind": "warn", "items": warnings})

    blocks.append({"kind": "h2", "text": "Hosts"})
    rows = []
    for entry in report.get("hosts") or ():
        note = entry.get("reason") or ""
        if entry.get("truncated"):
            note = "truncated: %s of %s kill reports" % (entry["kills"] + entry["probes"], entry.get("total_kill_reports"))
        rows.append([entry["host"], entry["state"], str(entry["kills"]), str(entry["probes"]),
                     str(entry["unsuccessful"]), entry.get("first") or "", entry.get("last") or "", note])
    if rows:
        blocks.append(_table(("Host", "State", "Kills", "Probes", "Unsuccessful", "First", "Last", "Note"),
                             rows, numeric=(2, 3, 4), wide=(7,)))
    else:
        blocks.append({"kind": "p", "text": "No hosts."})

    counts = report.get("counts") or {}
    what = "Kills" if mode != "include" else "Kills and probes"
    for heading, name, column in (("per login user", "by_login_user", "Login user"),
                                  ("per signal", "by_signal", "Signal"),
                                  ("per command", "by_command", "Command")):
        blocks.append({"kind": "h2", "text": "%s %s" % (what, heading)})
        table = counts.get(name) or {}
        if table:
            blocks.append(_count_table(column, table, what))
        else:
            blocks.append({"kind": "p", "text": "No kills."})

    blocks.append({"kind": "h2", "text": "%s, by time" % what})
    listed, left_out = _limited(report.get("reports") or [], max_rows)
    if left_out:
        blocks.append({"kind": "p", "text": "The %d earliest are not shown here (max_rows %d); the CSV and JSON files have all of them."
                       % (left_out, max_rows)})
    if listed:
        blocks.append(_table(KILL_HEADERS, [kill_row(r) for r in listed], wide=(7,)))
    else:
        blocks.append({"kind": "p", "text": "No kills."})

    if mode == "apart":
        blocks.append({"kind": "h2", "text": "Probes (signal 0), by time"})
        blocks.append({"kind": "p", "text": "Signal 0 only checks that a process exists and may be signalled: nothing was killed."})
        probes, left_out = _limited(report.get("probes") or [], max_rows)
        if left_out:
            blocks.append({"kind": "p", "text": "The %d earliest are not shown here (max_rows %d)." % (left_out, max_rows)})
        if probes:
            headers = [h for h in KILL_HEADERS if h != "Signal"]
            blocks.append(_table(headers, [row[:2] + row[3:] for row in map(kill_row, probes)], wide=(6,)))
        else:
            blocks.append({"kind": "p", "text": "No probes."})
    elif mode == "hide" and totals.get("probes"):
        blocks.append({"kind": "p", "text": "%d probes (signal 0) are hidden." % totals["probes"]})

    blocks.append({"kind": "h2", "text": "Hosts that failed or were unreachable"})
    failed = report.get("failed_hosts") or []
    if failed:
        blocks.append(_table(("Host", "State", "Reason"),
                             [[f["host"], f["state"], f.get("reason") or "unknown"] for f in failed], wide=(2,)))
    else:
        blocks.append({"kind": "p", "text": "None: every host answered."})
    return blocks


# ---- Markdown ----------------------------------------------------------------------------------

# Backslash escapes (CommonMark: any ASCII punctuation may be escaped): no emphasis, code, link,
# HTML, entity, strikethrough or math can come out of log data, and | cannot split a table cell.
# One translation table does it all: escapes, line breaks as <br>, control characters as \xNN
# (its backslash escaped in turn, so it renders as \xNN).
_MD_TABLE = {ord(c): "\\" + c for c in "\\`*_[]<>|~&$"}
_MD_TABLE.update({c: "\\" + v for c, v in _VISIBLE.items()})
_MD_TABLE.update({0x0a: "<br>", 0x0d: "<br>", 0x09: " "})


def md_text(value):
    text = value if isinstance(value, str) else str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(_MD_TABLE)


def md_heading_text(value):
    return md_text(value).replace("<br>", " ").lstrip("#").strip() or "-"


def render_markdown(blocks):
    out = []
    for block in blocks:
        kind = block["kind"]
        if kind == "h1":
            out.append("# %s\n" % md_heading_text(block["text"]))
        elif kind == "h2":
            out.append("## %s\n" % md_heading_text(block["text"]))
        elif kind == "p":
            out.append("%s\n" % md_text(block["text"]))
        elif kind == "list":
            out.append("".join("- %s\n" % md_text(item) for item in block["items"]))
        elif kind == "warn":
            out.append("> **Warning**\n>\n" + "".join("> - %s\n" % md_text(item) for item in block["items"]))
        elif kind == "table":
            headers, numeric = block["headers"], block["numeric"]
            lines = ["| %s |" % " | ".join(md_text(h) for h in headers),
                     "|%s|" % "|".join("---:" if i in numeric else "---" for i in range(len(headers)))]
            lines.extend("| %s |" % " | ".join(md_text(cell) for cell in row) for row in block["rows"])
            out.append("\n".join(lines) + "\n")
    return "\n".join(out)


# ---- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em;color:#1b1b1b;background:#fff}
h1{font-size:1.6em;margin-bottom:.3em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0;position:sticky;top:0}tr:nth-child(even) td{background:#fafafa}
td.num,th.num{text-align:right}td.wide{font-family:ui-monospace,Menlo,Consolas,monospace;
word-break:break-all;max-width:40em}
.warn{border-left:4px solid #c60;background:#fff4e5;padding:.5em 1em;margin:1em 0}
.state-failed,.state-unreachable{color:#a00;font-weight:bold}
""".strip()


def html_text(value):
    text = html.escape(visible_controls(value if isinstance(value, str) else str(value)), quote=True)
    if "\n" in text or "\r" in text:
        text = text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")
    return text


def render_html(blocks, title):
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        # No script, no external resource may load, whatever the page holds.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title>" % html_text(title),
        "<style>%s</style>" % _CSS,
        "</head>",
        "<body>",
    ]
    for block in blocks:
        kind = block["kind"]
        if kind in ("h1", "h2"):
            out.append("<%s>%s</%s>" % (kind, html_text(block["text"]), kind))
        elif kind == "p":
            out.append("<p>%s</p>" % html_text(block["text"]))
        elif kind == "list":
            out.append("<ul>%s</ul>" % "".join("<li>%s</li>" % html_text(item) for item in block["items"]))
        elif kind == "warn":
            out.append('<div class="warn"><strong>Warning</strong><ul>%s</ul></div>'
                       % "".join("<li>%s</li>" % html_text(item) for item in block["items"]))
        elif kind == "table":
            headers, numeric, wide = block["headers"], block["numeric"], block["wide"]
            classes = ['num' if i in numeric else 'wide' if i in wide else '' for i in range(len(headers))]
            state_col = headers.index("State") if "State" in headers else None
            head = "".join('<th%s>%s</th>' % (' class="num"' if classes[i] == "num" else "", html_text(h))
                           for i, h in enumerate(headers))
            rows = []
            for row in block["rows"]:
                cells = []
                for i, cell in enumerate(row):
                    cls = classes[i] if i < len(classes) else ""
                    if i == state_col:
                        cls = "state-%s" % re.sub(r"[^a-z]", "", str(cell))
                    cells.append('<td%s>%s</td>' % (' class="%s"' % cls if cls else "", html_text(cell)))
                rows.append("<tr>%s</tr>" % "".join(cells))
            out.append("<table>\n<thead><tr>%s</tr></thead>\n<tbody>\n%s\n</tbody>\n</table>" % (head, "\n".join(rows)))
    out.extend(["</body>", "</html>", ""])
    return "\n".join(out)
