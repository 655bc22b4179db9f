# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the human reports show, worked out once for Markdown and HTML: the view.

build_view() turns a fleet report (the model of _fleetmodel) into plain data for the templates:
the summary and warnings, the hosts table (state, architecture, whether audit records), the
timeline (kills per adaptive time bucket, per host), the top killers, the per-target view
("who killed nginx?"), the count tables (most first, whatever order the input had), the kills
and probes by time, and the hosts that failed. Every cell is text or a number, unescaped: the
templates escape (HTML by autoescape, Markdown by the environment's finalize).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetmodel import (
    NONE, command_label, fleet_warnings, host_label, host_warnings, is_probe, is_sigkill, killer_of,
    login_user_label, signal_label, sorted_counts, target_labels, timestamp_of, user_label)

MAX_TARGETS_SHOWN = 10        # target processes listed in one kill row
TIMELINE_MAX_BUCKETS = 48
TIMELINE_HOSTS = 12           # hosts with a row of their own in the timeline
TOP_KILLERS = 15
TARGET_RECENT = 20            # kills listed under each target in the per-target view
# Bucket sizes the timeline picks from: the smallest that fits the time range in 48 buckets.
BUCKETS = ((60, "minute"), (300, "5 minutes"), (900, "15 minutes"), (3600, "hour"),
           (3 * 3600, "3 hours"), (6 * 3600, "6 hours"), (12 * 3600, "12 hours"), (86400, "day"),
           (7 * 86400, "week"), (30 * 86400, "30 days"), (365 * 86400, "365 days"))


# ---- cells -------------------------------------------------------------------------------------

def _text(value):
    return "" if value is None else str(value)


def syscall_text(report):
    """The signal-sending syscall and its ABI: kill (x86_64), pidfd_send_signal (i386)."""
    syscall, arch = report.get("syscall"), report.get("arch")
    if not syscall:
        return NONE
    return "%s (%s)" % (syscall, arch) if arch else _text(syscall)


def _pidfd_target_text(report, pid, scope):
    # a0 of pidfd_send_signal is a descriptor; the pid comes from the OBJ_PID record, if any
    fd = "pidfd %s" % _text(report.get("pidfd"))
    if scope == "process_group":
        return "group of %s" % fd
    if pid is None:
        return "unknown (%s)" % fd
    return "%s %s (%s)" % ("thread" if scope == "thread" else "process", pid, fd)


def target_text(report):
    """The target as given to the syscall: 1234, group 1234, all (-1), thread T of P."""
    pid, tid, scope = report.get("target_pid"), report.get("target_tid"), report.get("scope")
    syscall = report.get("syscall")
    if syscall == "pidfd_send_signal":
        return _pidfd_target_text(report, pid, scope)
    if scope == "all":
        return "all (-1)"
    if scope == "process_group":
        return "own group (0)" if pid == 0 else "group %s" % (-pid if isinstance(pid, int) else pid)
    if scope == "thread" or syscall in ("tkill", "tgkill"):
        if syscall in ("tgkill", "rt_tgsigqueueinfo"):
            return "thread %s of %s" % (tid, pid)
        return "thread %s" % (tid if tid is not None else pid)
    return _text(pid)


def targets_text(report):
    targets = [t for t in (report.get("targets") or ()) if isinstance(t, Mapping)]
    parts = ["%s (%s)" % (t.get("comm") or "?", t.get("pid")) for t in targets[:MAX_TARGETS_SHOWN]]
    if len(targets) > MAX_TARGETS_SHOWN:
        parts.append("and %d more" % (len(targets) - MAX_TARGETS_SHOWN))
    return ", ".join(parts)


def result_text(report):
    success = report.get("success")
    if success is True:
        return "ok"
    if success is False:
        return report.get("errno") or "failed (exit %s)" % report.get("exit")
    return ""


def killer_text(report):
    killer = killer_of(report)
    comm = killer.get("comm")
    return "%s (pid %s)" % (comm if comm is not None else "?", killer.get("pid"))


def kind_of(report):
    """The class of a kill in the pictures: failed, SIGKILL (delivered) or another signal."""
    if report.get("success") is False:
        return "failed"
    if is_sigkill(report):
        return "sigkill"
    return "other"


# ---- tables ------------------------------------------------------------------------------------

def column(name, kind="text"):
    """A table column: its heading and its kind (text, time, num, cmd, state, wide)."""
    return {"name": name, "kind": kind}


def table(table_id, columns, rows, caption=None):
    return {"id": table_id, "columns": columns, "rows": rows, "caption": caption}


KILL_COLUMNS = (column("Time", "time"), column("Host"), column("Signal"), column("Syscall"), column("Result"),
                column("Login user"), column("User"), column("Killer"), column("Command line", "cmd"),
                column("Target"), column("Target processes", "cmd"))


def kill_row(report):
    return [
        _text(report.get("time")) or NONE, host_label(report), signal_label(report), syscall_text(report),
        result_text(report),
        login_user_label(report), user_label(report), killer_text(report),
        killer_of(report).get("cmdline") or "", target_text(report), targets_text(report),
    ]


def _limited(reports, max_rows):
    """The most recent max_rows reports (all with 0 / None) and how many were left out."""
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


def _count_table(table_id, title, counts, what):
    """A count table, most first: the input may be JSON whose keys were sorted by name."""
    rows = [[name, count] for name, count in sorted_counts(dict(counts)).items()]
    return table(table_id, [column(title), column(what, "num")], rows)


def _top(counter, limit):
    """"name (n), name (n)": the most frequent first."""
    ranked = sorted(counter.items(), key=lambda item: (-item[1], str(item[0])))
    text = ", ".join("%s (%d)" % (name, count) for name, count in ranked[:limit])
    if len(ranked) > limit:
        text += ", %d more" % (len(ranked) - limit)
    return text


def _bump(counter, key):
    counter[key] = counter.get(key, 0) + 1


# ---- hosts -------------------------------------------------------------------------------------

def host_state(entry):
    """ok, warning (answered, but its report is missing kills or may be), failed, unreachable."""
    if entry.get("state", "ok") != "ok":
        return entry["state"]
    warnings = entry.get("warnings")
    if warnings is None:
        warnings = host_warnings(entry)
    return "warning" if warnings else "ok"


def _audit_text(entry):
    recording = entry.get("recording")
    auditd = entry.get("auditd") or {}
    if recording is True:
        return "recording (auditd pid %s)" % auditd["pid"] if auditd.get("pid") else "recording"
    if recording is False:
        return "NOT recording"
    return ""


def hosts_table(report):
    rows = []
    for entry in report.get("hosts") or ():
        notes = []
        if entry.get("reason"):
            notes.append(entry["reason"])
        warnings = entry.get("warnings")
        if warnings is None:
            warnings = host_warnings(entry)
        notes.extend(warnings)
        if entry.get("collected_from"):
            notes.append("read from the log of %s (node name)" % entry["collected_from"])
        arch = entry.get("arch") or ""
        if arch and entry.get("arch_source") == "reports":
            arch += " (from kills)"
        rows.append([entry["host"], host_state(entry), arch, _audit_text(entry), entry.get("kills", 0),
                     entry.get("probes", 0), entry.get("unsuccessful", 0), entry.get("first") or "",
                     entry.get("last") or "", " ".join(notes)])
    return table("hosts", [column("Host"), column("State", "state"), column("Arch"), column("Audit"),
                           column("Kills", "num"), column("Probes", "num"), column("Unsuccessful", "num"),
                           column("First", "time"), column("Last", "time"), column("Note", "wide")], rows)


# ---- timeline ----------------------------------------------------------------------------------

def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def bucket_size(first, last, max_buckets=TIMELINE_MAX_BUCKETS):
    """(seconds, name) of the smallest bucket that shows [first, last] in max_buckets buckets."""
    for seconds, name in BUCKETS:
        start = first - first % seconds
        if (last - start) // seconds + 1 <= max_buckets:
            return seconds, name
    return BUCKETS[-1]


def _empty_bar():
    return {"other": 0, "sigkill": 0, "failed": 0, "total": 0}


def timeline(reports):
    """Kills per bucket: one row for all hosts, one for each of the busiest hosts, one for the others."""
    stamped = [(timestamp_of(r), r) for r in reports]
    stamped = [(s, r) for s, r in stamped if s is not None]
    if not stamped:
        return None
    first = min(s for s, _report in stamped)
    last = max(s for s, _report in stamped)
    seconds, name = bucket_size(first, last)
    start = first - first % seconds
    count = int((last - start) // seconds) + 1
    per_host = {}
    everything = [_empty_bar() for _index in range(count)]
    host_totals = {}
    for stamp, report in stamped:
        index = int((stamp - start) // seconds)
        kind = kind_of(report)
        host = host_label(report)
        bars = per_host.get(host)
        if bars is None:
            bars = per_host[host] = [_empty_bar() for _index in range(count)]
        for counts in (everything[index], bars[index]):
            counts[kind] += 1
            counts["total"] += 1
        _bump(host_totals, host)
    ranked = sorted(host_totals, key=lambda h: (-host_totals[h], h))
    shown = ranked[:TIMELINE_HOSTS]
    rows = [{"label": "All hosts", "total": len(stamped), "bars": everything, "all": True}]
    rows.extend({"label": h, "total": host_totals[h], "bars": per_host[h], "all": False} for h in shown)
    rest = ranked[TIMELINE_HOSTS:]
    if rest:
        others = [_empty_bar() for _index in range(count)]
        for host in rest:
            for index, counts in enumerate(per_host[host]):
                for key in others[index]:
                    others[index][key] += counts[key]
        rows.append({"label": "%d other hosts" % len(rest), "total": sum(host_totals[h] for h in rest),
                     "bars": others, "all": False})
    for row in rows:
        row["peak"] = max(counts["total"] for counts in row["bars"])
    buckets = []
    for index in range(count):
        begin = start + index * seconds
        top_hosts = {h: per_host[h][index]["total"] for h in per_host if per_host[h][index]["total"]}
        buckets.append(dict(everything[index], start=_iso(begin), end=_iso(begin + seconds),
                            hosts=_top(top_hosts, 3)))
    return {"bucket_seconds": seconds, "bucket_name": name, "start": _iso(start),
            "end": _iso(start + count * seconds), "count": count, "rows": rows, "buckets": buckets,
            "hosts_total": len(host_totals)}


# ---- who killed, and what ----------------------------------------------------------------------

def top_killers(reports, limit=TOP_KILLERS):
    """Killers by login user and command, most kills first."""
    killers = {}
    for report in reports:
        key = (login_user_label(report), command_label(report))
        entry = killers.get(key)
        if entry is None:
            entry = killers[key] = {"login_user": key[0], "command": key[1], "kills": 0, "other": 0,
                                    "sigkill": 0, "failed": 0, "hosts": {}, "targets": {}}
        entry["kills"] += 1
        entry[kind_of(report)] += 1
        _bump(entry["hosts"], host_label(report))
        for label in target_labels(report):
            _bump(entry["targets"], label)
    ranked = sorted(killers.values(), key=lambda e: (-e["kills"], e["login_user"], e["command"]))
    rows = [[e["login_user"], e["command"], e["kills"], e["sigkill"], e["failed"], len(e["hosts"]),
             _top(e["targets"], 3)] for e in ranked[:limit]]
    chart = [{"label": "%s: %s" % (e["login_user"], e["command"]), "total": e["kills"], "other": e["other"],
              "sigkill": e["sigkill"], "failed": e["failed"]} for e in ranked[:limit]]
    return {"table": table("killers", [column("Login user"), column("Command"), column("Kills", "num"),
                                       column("SIGKILL", "num"), column("Failed", "num"), column("Hosts", "num"),
                                       column("Targets", "wide")], rows),
            "chart": chart, "total": len(ranked), "shown": min(limit, len(ranked))}


def per_target(reports, recent=TARGET_RECENT):
    """Per target command: how often it was signalled, by whom, where and when; the most recent kills."""
    targets = {}
    for report in reports:
        for label in target_labels(report):
            entry = targets.get(label)
            if entry is None:
                entry = targets[label] = {"target": label, "kills": 0, "sigkill": 0, "failed": 0, "hosts": {},
                                          "killers": {}, "first": None, "last": None, "reports": []}
            entry["kills"] += 1
            kind = kind_of(report)
            if kind != "other":
                entry[kind] += 1
            _bump(entry["hosts"], host_label(report))
            _bump(entry["killers"], "%s: %s" % (login_user_label(report), command_label(report)))
            when = report.get("time")
            if when is not None:
                if entry["first"] is None or when < entry["first"]:
                    entry["first"] = when
                if entry["last"] is None or when > entry["last"]:
                    entry["last"] = when
            entry["reports"].append(report)
    ranked = sorted(targets.values(), key=lambda e: (-e["kills"], e["target"]))
    out = []
    for entry in ranked:
        listed = entry["reports"][-recent:]      # the reports are sorted by time
        out.append({
            "target": entry["target"], "kills": entry["kills"], "sigkill": entry["sigkill"],
            "failed": entry["failed"], "hosts": len(entry["hosts"]), "hosts_text": _top(entry["hosts"], 3),
            "killers_text": _top(entry["killers"], 3), "first": entry["first"] or "", "last": entry["last"] or "",
            "recent": [{"time": _text(r.get("time")), "host": host_label(r), "login_user": login_user_label(r),
                        "user": user_label(r), "signal": signal_label(r), "result": result_text(r),
                        "cmdline": killer_of(r).get("cmdline") or killer_of(r).get("comm") or "",
                        "kind": kind_of(r)} for r in reversed(listed)],
            "more": entry["kills"] - len(listed),
        })
    rows = [[t["target"], t["kills"], t["sigkill"], t["failed"], t["hosts_text"], t["killers_text"],
             t["first"], t["last"]] for t in out]
    return {"targets": out,
            "table": table("targets", [column("Target"), column("Kills", "num"), column("SIGKILL", "num"),
                                       column("Failed", "num"), column("Hosts", "wide"), column("Killed by", "wide"),
                                       column("First", "time"), column("Last", "time")], rows)}


# ---- the whole view ----------------------------------------------------------------------------

def build_view(report, title="Fleet kill report", max_rows=None):
    totals = report.get("totals") or {}
    time_range = report.get("time_range") or {}
    mode = report.get("probe_mode") or "apart"
    what = "Kills" if mode != "include" else "Kills and probes"
    listed = list(report.get("reports") or [])
    kills_only = [r for r in listed if not is_probe(r)]
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
    if report.get("node_as_host"):
        summary.append("Hosts are the node names in the logs (a central log server's log)")
    params = _parameters_text(report.get("parameters") or {})
    if params:
        summary.append("Parameters: %s" % params)

    counts = report.get("counts") or {}
    count_tables = []
    for table_id, heading, name, title_col in (("by-login-user", "per login user", "by_login_user", "Login user"),
                                               ("by-signal", "per signal", "by_signal", "Signal"),
                                               ("by-command", "per command", "by_command", "Command")):
        count_tables.append({"heading": "%s %s" % (what, heading),
                             "table": _count_table(table_id, title_col, counts.get(name) or {}, what)})

    shown, left_out = _limited(listed, max_rows)
    probes = None
    if mode == "apart":
        probe_reports, probes_left_out = _limited(list(report.get("probes") or []), max_rows)
        columns = [c for c in KILL_COLUMNS if c["name"] != "Signal"]
        probes = {"table": table("probes", columns, [row[:2] + row[3:] for row in map(kill_row, probe_reports)]),
                  "left_out": probes_left_out}

    failed = report.get("failed_hosts") or []
    return {
        "title": title,
        "what": what,
        "probe_mode": mode,
        "hidden_probes": totals.get("probes", 0) if mode == "hide" else 0,
        "max_rows": max_rows or 0,
        "summary": summary,
        "warnings": fleet_warnings(report),
        "hosts": hosts_table(report),
        "timeline": timeline(kills_only),
        "killers": top_killers(kills_only),
        "targets": per_target(kills_only),
        "counts": count_tables,
        "kills": table("kills", list(KILL_COLUMNS), [kill_row(r) for r in shown]),
        "kills_left_out": left_out,
        "probes": probes,
        "failed": table("failed", [column("Host"), column("State", "state"), column("Reason", "wide")],
                        [[f["host"], f["state"], f.get("reason") or "unknown"] for f in failed]),
    }
