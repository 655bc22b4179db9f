# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kill reports: who sent which signal to whom, from the events of the six syscalls that
send a signal to another process: kill, tkill, tgkill, pidfd_send_signal, rt_sigqueueinfo
and rt_tgsigqueueinfo.

The field names here are the collection's API (docs/kill-report.md documents them).
Reports are made in one place (_report) from the parts of an event: its SYSCALL record,
its OBJ_PID records and its command line. Those parts come either from events already
built by parse_events, or, when reading logs, straight from the grouped records, which
skips building event dicts that a kill report does not need.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import SIGNALS
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    ParseStats, _Filter, _record_parts, arch_name, complete_groups, errno_name, event_iso_time,
    event_keys, event_time, syscall_name)

KILL_SYSCALLS = ("kill", "tkill", "tgkill", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
_KILL_SET = frozenset(KILL_SYSCALLS)
# The syscalls whose exit rules make the kernel record the targets of every signal (OBJ_PID
# records): audit_match_signal() in kernel/auditfilter.c counts rules on these three only.
OBJ_PID_SYSCALLS = ("kill", "tkill", "tgkill")
# pidfd_send_signal: flags (a3, Linux 6.9+) and the sentinels that name the caller (Linux 6.15+).
PIDFD_SIGNAL_THREAD = 1
PIDFD_SIGNAL_THREAD_GROUP = 2
PIDFD_SIGNAL_PROCESS_GROUP = 4
PIDFD_SELF_THREAD = -10000
PIDFD_SELF_THREAD_GROUP = -10001
_NO_OBJ_PID = ("the kernel records the targets of signals only while an audit exit rule watches "
               "kill, tkill or tgkill")


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
    """A user name from the ENRICHED part, or None: "unset" (no login uid) is no name, and
    neither is "unknown(1001)", what auditd writes for a uid it found no name for (the
    number is in the report already; audit_facts looks the uid up again on the host)."""
    value = enriched.get(key)
    if value is None or value in ("unset", "?", "") or (value[:8] == "unknown(" and value[-1:] == ")"):
        return None
    return value


def _scope(syscall, pid):
    if syscall == "rt_sigqueueinfo":
        return "process"
    if syscall != "kill":
        return "thread"
    if pid is None:
        return None
    if pid > 0:
        return "process"
    if pid == -1:
        return "all"
    return "process_group"  # 0: the caller's own group; < -1: group -pid


def _pidfd_scope(pidfd, flags):
    """pidfd_send_signal's scope: from its flags (a3), else from the descriptor."""
    if flags == PIDFD_SIGNAL_THREAD:
        return "thread"
    if flags == PIDFD_SIGNAL_PROCESS_GROUP:
        return "process_group"
    if flags == PIDFD_SIGNAL_THREAD_GROUP:
        return "process"
    # no flag: as the descriptor says. A pidfd_open(PIDFD_THREAD) descriptor names a thread,
    # which the record does not show; the sentinel for the calling thread does.
    return "thread" if pidfd == PIDFD_SELF_THREAD else "process"


def _target(fields, enriched):
    get = fields.get
    return {
        "pid": get("opid"),
        "comm": get("ocomm"),
        "uid": get("ouid"),
        "user": _name(enriched, "OUID") if enriched else None,
        "auid": get("oauid"),
        "login_user": _name(enriched, "OAUID") if enriched else None,
        "ses": get("oses"),
    }


def _report(event_id, node, stamp, time_text, keys, syscall, f, e, targets, argv):
    """The kill report of one event: F and E are its SYSCALL record's fields and enriched
    names, TARGETS the OBJ_PID entries, ARGV the PROCTITLE arguments (or None)."""
    get = f.get
    a0, a1 = signed32(get("a0")), signed32(get("a1"))
    target_tid = pidfd = None
    if syscall == "pidfd_send_signal":
        # a0 is a file descriptor: the process it names is known from OBJ_PID only
        pidfd, sig = a0, a1
        scope = _pidfd_scope(pidfd, signed32(get("a3")))
        if scope == "process_group":
            target_pid = None  # the group led by the pidfd's process; OBJ_PID lists its members
        elif targets:
            target_pid = targets[0]["pid"]
        elif pidfd in (PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP):
            target_pid = get("pid")  # the caller itself
        else:
            target_pid = None
    else:
        if syscall == "tgkill" or syscall == "rt_tgsigqueueinfo":
            target_pid, target_tid, sig = a0, a1, signed32(get("a2"))
        elif syscall == "tkill":
            target_pid, target_tid, sig = a0, a0, a1
        else:  # kill, rt_sigqueueinfo
            target_pid, sig = a0, a1
        scope = _scope(syscall, target_pid)
    success = get("success")
    exit_code = get("exit")
    errno = errno_name(exit_code)
    argv = list(argv) if argv else None
    return {
        "event_id": event_id,
        "time": time_text,
        "timestamp": stamp,
        "node": node,
        "host": None,
        "key": keys[0] if keys else None,
        "keys": keys,
        "arch": arch_name(get("arch")),
        "syscall": syscall,
        "signal": sig,
        "signal_name": signal_name(sig),
        "probe": sig == 0,
        "target_pid": target_pid,
        "target_tid": target_tid,
        "scope": scope,
        "pidfd": pidfd,
        "success": None if success is None else success == "yes",
        "exit": exit_code,
        "errno": errno,
        "killer": {
            "pid": get("pid"),
            "ppid": get("ppid"),
            "auid": get("auid"),
            "login_user": _name(e, "AUID") if e else None,
            "uid": get("uid"),
            "user": _name(e, "UID") if e else None,
            "euid": get("euid"),
            "gid": get("gid"),
            "comm": get("comm"),
            "exe": get("exe"),
            "tty": get("tty"),
            "ses": get("ses"),
            "cmdline": " ".join(argv) if argv else None,
            "argv": argv,
        },
        "targets": targets,
        "warnings": _warnings(target_pid, targets, success, errno),
    }


def _warnings(target_pid, targets, success, errno):
    """Why a report lacks what a reader expects: no OBJ_PID record, so no target names.

    A kill of a pid that does not exist (ESRCH) has no target to record: that needs no word.
    """
    if targets or errno == "ESRCH":
        return []
    if success == "yes":
        why = _NO_OBJ_PID
    else:
        why = "the call failed with %s before a target was checked, or %s" % (errno or "?", _NO_OBJ_PID)
    if target_pid is None:
        return ["target unknown: no OBJ_PID record (%s)" % why]
    return ["target known by its pid only (no name, no users): no OBJ_PID record (%s)" % why]


def report_from_event(event):
    """An interpreted event (from parse_events) -> a kill report, or None if not a kill."""
    syscall = event.get("syscall")
    if syscall not in _KILL_SET:
        return None
    syscall_rec, argv, targets = None, None, []
    for record in event["records"]:
        rtype = record["type"]
        if rtype == "SYSCALL" and syscall_rec is None:
            syscall_rec = record
        elif rtype == "OBJ_PID":
            targets.append(_target(record["fields"], record["enriched"]))
        elif rtype == "PROCTITLE" and argv is None:
            argv = record["fields"].get("proctitle")
    if syscall_rec is None:
        return None
    return _report(event["event_id"], event["node"], event["timestamp"], event["time"],
                   list(event["keys"]), syscall, syscall_rec["fields"], syscall_rec["enriched"],
                   targets, argv if isinstance(argv, list) else None)


def report_from_records(pending):
    """A complete record group (from the parser's grouping) -> a kill report, or None.

    Only the records a kill report uses are parsed, and no event dict is built.
    """
    syscall_body, objects, title = None, [], None
    for rtype, body in pending.records:
        if rtype == "SYSCALL":
            if syscall_body is None:
                syscall_body = body
        elif rtype == "OBJ_PID":
            objects.append(body)
        elif rtype == "PROCTITLE" and title is None:
            title = body
    if syscall_body is None:
        return None
    # (the parts of these types are never kept whole: _record_parts, the enriched dicts shared)
    f, e = _record_parts("SYSCALL", syscall_body, True, None)
    syscall = syscall_name(f.get("arch"), f.get("syscall"))
    if syscall not in _KILL_SET:
        return None
    targets = [_target(*_record_parts("OBJ_PID", body, True, None)) for body in objects]
    argv = _record_parts("PROCTITLE", title, True, None)[0].get("proctitle") if title else None
    event_id = pending.event_id
    return _report(event_id, pending.node, event_time(event_id), event_iso_time(event_id),
                   event_keys(pending.records), syscall, f, e, targets,
                   argv if isinstance(argv, list) else None)


def kill_reports(source=None, keys=None, since=None, until=None, stats=None, paths=None,
                 events=None):
    """Yield kill reports from log text/lines/files (like parse_events) or from EVENTS.

    With EVENTS (an iterable of interpreted event dicts from parse_events) no log is read.
    """
    wanted = frozenset([keys] if isinstance(keys, str) else keys) if keys else None
    if events is not None:
        for event in events:
            if wanted is None or wanted.intersection(event.get("keys") or ()):
                report = report_from_event(event)
                if report is not None:
                    yield report
        return
    if stats is None:
        stats = ParseStats()
    # Without keys, most events are other syscalls: the parser's syscall filter drops them
    # before their records are decoded. With keys they are nearly all kills already.
    window = _Filter(None, None, since, until, None if wanted else KILL_SYSCALLS)
    for pending in complete_groups(source, sorted(wanted) if wanted else None, stats, paths):
        stats.events += 1
        if window.active and not window.accepts(pending):
            continue
        report = report_from_records(pending)
        if report is None or (wanted is not None and wanted.isdisjoint(report["keys"])):
            continue
        stats.matched += 1
        yield report
