# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report model: the kill reports of many hosts aggregated into one dict.

aggregate() reads hostvars after audit_facts (or a dict of host -> reports, or a list of kill
reports) and returns the fleet report that the fleet_kill_report filter documents: every kill
sorted by time, per host its state, architecture, auditd status and warnings, counts, and the
hosts that failed. fleet_input() turns what a renderer is given (that dict, its JSON text, a
list of kill reports) into it. Rendering lives elsewhere (_fleetview and the renderers).

Everything here is pure: no files, no network, no clock except generated_at's default.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetdata import (
    choice_option, host_list, plain, report_list, untrusted)
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._textsafe import one_line

NONE = "(none)"
NO_TARGET = "(no process)"
PROBE_SIGNAL = "0 (probe)"
PROBE_MODES = ("apart", "hide", "include")
FACT = "auditd_kill_reports"
STATUS_FACT = "auditd_status"
SUMMARY_FACT = "auditd_log_summary"
MAX_REASON = 500
STATUS_FIELDS = ("available", "enabled", "pid", "daemon_running", "lost", "backlog", "backlog_limit", "message")
# Kernel ABIs that are 64-bit: a host that ran one of them has a 64-bit kernel; its 32-bit
# programs (i386 on x86_64, arm on aarch64) show their own ABI in the kill reports.
ABI_64 = frozenset(("x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "mips64", "mips64el",
                    "riscv64", "loongarch64", "sparc64", "alpha", "ia64", "parisc64"))


# ---- small accessors ---------------------------------------------------------------------------

def killer_of(report):
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


def timestamp_of(report):
    stamp = report.get("timestamp")
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        return None
    return float(stamp)


def sort_key(report):
    """Time, then host, then the event serial: the order of every list in the fleet report."""
    stamp = timestamp_of(report)
    return (0.0 if stamp is None else stamp, report.get("host") or "", _serial(report))


def is_probe(report):
    probe = report.get("probe")
    if probe is None:
        return report.get("signal") == 0
    return bool(probe)


def is_sigkill(report):
    return report.get("signal") == 9


def host_label(report):
    return report.get("host") or report.get("node") or NONE


def login_user_label(report):
    """The killer's login user; "auid N" when the login uid has no name; "(none)" when unset."""
    killer = killer_of(report)
    name = killer.get("login_user")
    if name:
        return str(name)
    auid = killer.get("auid")
    if auid is not None:
        return "auid %s" % auid
    return NONE


def user_label(report):
    killer = killer_of(report)
    user = killer.get("user")
    if user:
        return str(user)
    if killer.get("uid") is not None:
        return "uid %s" % killer.get("uid")
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
    return killer_of(report).get("comm") or NONE


def target_labels(report):
    """The distinct commands of the processes a kill reached (the kernel's OBJ_PID records),
    in order; "(no process)" when there is none (ESRCH, or a pid that the log does not name)."""
    labels = []
    for target in report.get("targets") or ():
        if isinstance(target, Mapping):
            comm = target.get("comm") or "?"
            if comm not in labels:
                labels.append(comm)
    return labels or [NO_TARGET]


def sorted_counts(table):
    """Most first, then by name: the order of every count table."""
    return dict(sorted(table.items(), key=lambda item: (-item[1], str(item[0]))))


_COUNTED_BY = (("by_host", host_label), ("by_login_user", login_user_label),
               ("by_signal", signal_label), ("by_command", command_label))


def counts_of(reports):
    """Reports per host, login user, signal, command and target command, most first."""
    tables = {name: {} for name, _label in _COUNTED_BY}
    tables["by_target"] = {}
    by_target = tables["by_target"]
    for report in reports:
        for name, label_of in _COUNTED_BY:
            table, label = tables[name], label_of(report)
            table[label] = table.get(label, 0) + 1
        for label in target_labels(report):
            by_target[label] = by_target.get(label, 0) + 1
    return {name: sorted_counts(table) for name, table in tables.items()}


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- reading hosts -----------------------------------------------------------------------------

def _get(mapping, name):
    """mapping[name] or None; hostvars (a lazy mapping) raises KeyError for a missing name."""
    try:
        return plain(mapping[name])
    except (KeyError, TypeError):
        return None


def _host_facts(host_vars, name, injected=None):
    """A fact from a host's variables: from ansible_facts first (works without
    INJECT_FACTS_AS_VARS), else the injected variable."""
    facts = _get(host_vars, "ansible_facts")
    if isinstance(facts, Mapping):
        value = _get(facts, name)
        if value is not None:
            return value
    return _get(host_vars, injected or name)


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
    # One line, no control character: the reason is shown on terminals (the playbook's summary).
    msg = " ".join(one_line(msg).split()) or None
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


def _host_entry(name):
    return {"host": name, "state": "ok", "reason": None, "arch": None, "arch_source": None,
            "collected_from": None, "kills": 0, "probes": 0, "unsuccessful": 0, "first": None,
            "last": None, "truncated": None, "total_kill_reports": None, "auditd": None,
            "recording": None, "warnings": []}


def _status_summary(status):
    if not isinstance(status, Mapping):
        return None
    return {name: status.get(name) for name in STATUS_FIELDS}


def _arch_from_reports(abis):
    """The host's architecture as the kill reports show it: its 64-bit ABI when one was seen
    (x86_64 next to i386 programs), else the ABI seen most."""
    if not abis:
        return None
    ranked = sorted(abis.items(), key=lambda item: (-item[1], item[0]))
    for abi, _count in ranked:
        if abi in ABI_64:
            return abi
    return ranked[0][0]


# ---- per-host health ---------------------------------------------------------------------------

def recording_state(auditd):
    """Whether the host's kernel writes kill records to the audit log, from auditd_status:
    (True / False / None when unknown, why not)."""
    if not isinstance(auditd, Mapping):
        return None, None
    if auditd.get("available") is False:
        return False, "kernel audit is not available (%s)" % (auditd.get("message") or "no reason given")
    if auditd.get("enabled") == 0:
        return False, "kernel audit is disabled (enabled 0)"
    running = auditd.get("daemon_running")
    pid = auditd.get("pid")
    if running is False or (running is None and pid == 0):
        return False, ("auditd is not running (auditctl -s: pid %s): the kernel sends audit records to the "
                       "kernel log, not to the audit log" % (pid if pid is not None else "?"))
    if running is True or (isinstance(pid, int) and not isinstance(pid, bool) and pid > 0):
        return True, None
    return None, None


def host_warnings(entry):
    """The warnings of one host entry, as sentences without the host name."""
    warnings = []
    if entry.get("state", "ok") != "ok":
        return warnings
    recording, why = recording_state(entry.get("auditd"))
    if recording is False:
        warnings.append("%s; kills on this host are missing from this report." % why)
    if entry.get("truncated"):
        warnings.append("only the most recent %d of %s kill reports were collected (max_events)."
                        % (entry.get("kills", 0) + entry.get("probes", 0), entry.get("total_kill_reports")))
    lost = (entry.get("auditd") or {}).get("lost")
    if lost:
        warnings.append("the kernel lost %s audit records (auditctl -s); kills may be missing." % lost)
    return warnings


def fleet_warnings(report):
    """Every warning of a fleet report as one line each: hosts that did not answer, then each
    host's own warnings, "host: warning"."""
    lines = []
    totals = report.get("totals") or {}
    if not report.get("hosts"):
        lines.append("No host was targeted: nothing was collected.")
    failed = report.get("failed_hosts") or []
    if failed:
        lines.append("Incomplete: %d of %d hosts did not answer (%s); their kills are not in this report."
                     % (len(failed), totals.get("hosts", len(failed)), ", ".join(f["host"] for f in failed)))
    for entry in report.get("hosts") or ():
        found = entry.get("warnings")
        if found is None:       # a report from an older version: worked out again
            found = host_warnings(entry)
        lines.extend("%s: %s" % (entry["host"], text) for text in found)
    return lines


# ---- aggregation -------------------------------------------------------------------------------

def aggregate(data, hosts=None, answered=None, result_var=None, probes="apart", parameters=None,
              generated_at=None, node_as_host=False, plugin="auditfleet.auditd.fleet_kill_report"):
    """The fleet report dict; see the fleet_kill_report filter's documentation."""
    probes = choice_option(probes, "probes", plugin, PROBE_MODES)
    hosts = host_list(hosts, "hosts", plugin)
    answered_list = host_list(answered, "answered", plugin)
    answered_set = None if answered_list is None else set(answered_list)
    if result_var is not None and not isinstance(result_var, str):
        raise TypeError("%s: option result_var must be the name of a variable (a string)" % plugin)
    parameters = plain(parameters)
    if parameters is not None and not isinstance(parameters, Mapping):
        raise TypeError("%s: option parameters must be a dict, not %s" % (plugin, type(parameters).__name__))
    if generated_at is not None and not isinstance(generated_at, str):
        raise TypeError("%s: option generated_at must be a string (ISO 8601)" % plugin)
    node_as_host = bool(node_as_host)

    entries = {}          # host name -> its entry in "hosts"
    collected = []        # (report, inventory host that read it or None)
    facts_arch = {}       # host -> architecture from its facts

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
                arch = _host_facts(host_vars, "architecture", "ansible_architecture")
                if isinstance(arch, str) and arch:
                    facts_arch[name] = one_line(arch)
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
                collected.append((report, name))
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
            collected.append((report, None))

    kills, probe_list = [], []
    abis = {}             # host -> {abi: count}
    for report, reader in collected:
        report = dict(report)
        node = report.get("node")
        if node_as_host and node:
            name = node
        else:
            name = report.get("host") or reader or node or NONE
        if name != report.get("host") and name != NONE:
            report["host"] = untrusted(name)
        entry = entries.get(name)
        if entry is None:
            entry = entries[name] = _host_entry(name)
        if reader is not None and name != reader:
            entry["collected_from"] = reader
        arch = report.get("arch")
        if arch:
            seen = abis.setdefault(name, {})
            seen[arch] = seen.get(arch, 0) + 1
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

    for name, entry in entries.items():
        if name in facts_arch:
            entry["arch"], entry["arch_source"] = facts_arch[name], "facts"
        elif name in abis:
            entry["arch"], entry["arch_source"] = one_line(_arch_from_reports(abis[name])), "reports"
        entry["recording"] = recording_state(entry["auditd"])[0]
        entry["warnings"] = host_warnings(entry)

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
    not_recording = [e["host"] for e in host_entries if e["recording"] is False]
    report = {
        "generated_at": generated_at or now_iso(),
        "parameters": dict(parameters) if parameters is not None else {},
        "probe_mode": probes,
        "node_as_host": node_as_host,
        "complete": not failed_hosts and not truncated and not not_recording,
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
            "hosts_not_recording": len(not_recording),
            "hosts_with_warnings": sum(1 for e in host_entries if e["warnings"]),
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
    warnings = fleet_warnings(report)
    ordered = {}
    for key, value in report.items():      # the warnings right after "complete" (JSON keeps this order)
        ordered[key] = value
        if key == "complete":
            ordered["warnings"] = warnings
    return ordered


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
