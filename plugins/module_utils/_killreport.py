# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kill reports: who sent which signal to whom, from kill, tkill and tgkill events.

The field names here are the collection's API (docs/kill-report.md documents them).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import SIGNALS
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    ParseStats, parse_events)

KILL_SYSCALLS = ("kill", "tkill", "tgkill")


def signed32(hex_value):
    """A syscall argument register (hex) as the C int it carried: ffffffff -> -1."""
    try:
        value = int(hex_value, 16) & 0xFFFFFFFF
    except (TypeError, ValueError):
        return None
    return value - 0x100000000 if value & 0x80000000 else value


def signal_name(number):
    if number is None or number == 0:
        return None
    return SIGNALS.get(number, "SIG%d" % number)


def _name(enriched, key):
    """A user name from the ENRICHED part; "unset" (no login uid) is no name."""
    value = enriched.get(key)
    if value is None or value in ("unset", "?", ""):
        return None
    return value


def _scope(syscall, pid):
    if syscall != "kill":
        return "thread"
    if pid is None:
        return None
    if pid > 0:
        return "process"
    if pid == -1:
        return "all"
    return "process_group"  # 0: the caller's own group; < -1: group -pid


def _cmdline(argv):
    return " ".join(argv) if argv else None


def report_from_event(event):
    """An interpreted event -> a kill report dict, or None if it is not a kill syscall."""
    if event.get("syscall") not in KILL_SYSCALLS:
        return None
    syscall_rec = proctitle = None
    targets = []
    for record in event["records"]:
        rtype = record["type"]
        if rtype == "SYSCALL" and syscall_rec is None:
            syscall_rec = record
        elif rtype == "OBJ_PID":
            f, e = record["fields"], record["enriched"]
            targets.append({
                "pid": f.get("opid"),
                "comm": f.get("ocomm"),
                "uid": f.get("ouid"),
                "user": _name(e, "OUID"),
                "auid": f.get("oauid"),
                "login_user": _name(e, "OAUID"),
                "ses": f.get("oses"),
            })
        elif rtype == "PROCTITLE" and proctitle is None:
            proctitle = record["fields"].get("proctitle")
    if syscall_rec is None:
        return None
    f, e = syscall_rec["fields"], syscall_rec["enriched"]
    syscall = event["syscall"]
    a0, a1, a2 = signed32(f.get("a0")), signed32(f.get("a1")), signed32(f.get("a2"))
    target_tid = None
    if syscall == "tgkill":
        target_pid, target_tid, sig = a0, a1, a2
    elif syscall == "tkill":
        target_pid, target_tid, sig = a0, a0, a1
    else:
        target_pid, sig = a0, a1
    argv = proctitle if isinstance(proctitle, list) else None
    return {
        "event_id": event["event_id"],
        "time": event["time"],
        "timestamp": event["timestamp"],
        "node": event["node"],
        "host": None,
        "key": event["key"],
        "keys": event["keys"],
        "arch": event["arch"],
        "syscall": syscall,
        "signal": sig,
        "signal_name": signal_name(sig),
        "probe": sig == 0,
        "target_pid": target_pid,
        "target_tid": target_tid,
        "scope": _scope(syscall, target_pid),
        "success": event["success"],
        "exit": event["exit"],
        "errno": event["errno"],
        "killer": {
            "pid": f.get("pid"),
            "ppid": f.get("ppid"),
            "auid": f.get("auid"),
            "login_user": _name(e, "AUID"),
            "uid": f.get("uid"),
            "user": _name(e, "UID"),
            "euid": f.get("euid"),
            "gid": f.get("gid"),
            "comm": f.get("comm"),
            "exe": f.get("exe"),
            "tty": f.get("tty"),
            "ses": f.get("ses"),
            "cmdline": _cmdline(argv),
            "argv": argv,
        },
        "targets": targets,
    }


def kill_reports(source=None, keys=None, since=None, until=None, stats=None, paths=None,
                 events=None):
    """Yield kill reports from log text/lines/files (like parse_events) or from EVENTS.

    With EVENTS (an iterable of event dicts from parse_events), no log is read.
    """
    if events is None:
        if stats is None:
            stats = ParseStats()
        events = parse_events(source, keys=keys, since=since, until=until,
                              syscalls=KILL_SYSCALLS, interpret=True, stats=stats, paths=paths)
    elif keys:
        wanted = set([keys] if isinstance(keys, str) else keys)
        events = (ev for ev in events if wanted.intersection(ev.get("keys") or ()))
    for event in events:
        report = report_from_event(event)
        if report is not None:
            yield report
