#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: audit_facts
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: Who killed which process, and the state of auditd, as facts of each host
description:
  - Reads the host's Linux audit log with the collection's audit-log parser and returns the
    kill reports of its signal-sending syscall events (kill, tkill, tgkill, pidfd_send_signal,
    rt_sigqueueinfo, rt_tgsigqueueinfo), which say who sent which signal to whom, when, and
    whether it worked. Optionally also all matching events, counts per audit rule key, the kernel's
    audit status (C(auditctl -s)) and the rules loaded in the kernel.
  - By default reads the O(paths) auditd writes to (C(log_file) in C(/etc/audit/auditd.conf))
    and its rotated files, oldest first.
  - With O(cursor=true), a later run reads only what was written since the last one, and
    notices log rotation between runs (a rotated file is recognised by inode and content).
  - Kill events are recorded only for syscalls an audit rule watches; deploy one with the
    C(auditfleet.auditd.auditd_syscall) role (O(ignore:auditd_syscall_kill_rules_enabled=true))
    or the M(auditfleet.auditd.audit_rule) module.
options:
  paths:
    description:
      - Audit log files to read, in this order, instead of the log auditd writes and its
        rotated files. Files ending in C(.gz) are decompressed.
      - The cursor (O(cursor)) follows the last file of the list.
    type: list
    elements: path
  keys:
    description:
      - Keep only events with one of these audit rule keys (C(-k)). The log is then searched for the keys instead of read line by line.
      - A key must not be empty nor hold control characters.
    type: list
    elements: str
  syscalls:
    description:
      - Keep only syscall events of these syscalls (names, for example C(kill), C(execve), or numbers).
      - A name no architecture knows is an error.
    type: list
    elements: str
  since:
    description:
      - Keep only events at or after this time.
      - Epoch seconds, ISO 8601 (C(2026-11-26T10:00:00Z); UTC without an offset), or a time
        before now on the host such as C(30m), C(1h), C(7d).
    type: str
  until:
    description: Keep only events at or before this time (same forms as O(since)).
    type: str
  report:
    description:
      - What to return. V(kill) returns kill reports (fact C(auditd_kill_reports)), V(events) the
        matching events (fact C(auditd_events)), V(both) both.
    type: str
    choices: [kill, events, both]
    default: kill
  max_events:
    description:
      - Return at most this many kill reports and this many events, the most recent ones.
        C(auditd_log_summary) then says C(truncated) and still counts all.
      - V(0) returns everything. Mind the controller's memory, which keeps every host's facts
        (a kill report takes about 2 KiB).
      - Whatever this says, each list holds at most 8 MiB of log text (events with huge
        command lines, a C(kill(-1)) with thousands of targets); a warning says when that
        left older ones out.
    type: int
    default: 1000
  reports_as_facts:
    description:
      - Return the kill reports and events as host facts (C(ansible_facts.auditd_kill_reports),
        C(ansible_facts.auditd_events)). Facts are kept for the rest of the play and go into
        fact caches (C(fact_caching)).
      - With V(false) they are returned only in the module's result (register it), as
        C(auditd_kill_reports) and C(auditd_events). C(auditd_log_summary), C(auditd_status)
        and C(auditd_loaded_rules) stay facts.
    type: bool
    default: true
  cursor:
    description:
      - Read incrementally. The position reached is kept in O(cursor_path); the next run
        with the same O(cursor_path) starts there and returns only new events.
      - Events still open when the log ended are read again by the next run (so each is
        reported once, whole).
      - In check mode the cursor is read but not advanced.
    type: bool
    default: false
  cursor_path:
    description:
      - Where the cursor is kept on the host. Use one per consumer.
      - The file is written atomically (a new file in the same directory, then renamed) and
        never through a symbolic link. A cursor file not owned by the user the module runs
        as, or writable by others, is not trusted (a warning, and the whole log is read).
      - When the cursor cannot be saved (the path is a directory, the directory is not
        writable), the facts are still returned, with a warning.
    type: path
    default: /var/lib/auditfleet/audit_facts.cursor
  host_name:
    description:
      - The name put in the C(host) field of each kill report.
      - Playbooks usually pass C({{ inventory_hostname }}); by default the host's node name.
    type: str
  resolve_names:
    description:
      - Fill C(user) and C(login_user) of killers and targets from the host's user database
        when the log does not name them (C(log_format = RAW)).
    type: bool
    default: true
  status:
    description:
      - Also return the kernel's audit status and loaded rules (runs C(auditctl -s) and C(auditctl -l)).
      - Warns when the audit daemon is not running (the kernel then writes its records to the
        kernel log, not to the audit log).
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check mode and return what it would do without changing the host.
    support: full
    details: Reads everything and returns the facts; the cursor is not advanced.
  diff_mode:
    description: Returns details on what changed, when in diff mode.
    support: none
  facts:
    description: Returns an C(ansible_facts) dictionary that updates the host's facts.
    support: full
  platform:
    description: Target OS and families it runs on.
    support: full
    platforms: posix
notes:
  - Needs root (C(become=true)) to read C(/var/log/audit) and to run C(auditctl).
  - The kill-report fields are described in the collection's C(docs/kill-report.md) and in
    the C(auditfleet.auditd.kill_reports) filter.
seealso:
  - plugin: auditfleet.auditd.kill_reports
    plugin_type: filter
  - plugin: auditfleet.auditd.audit_log
    plugin_type: lookup
  - module: auditfleet.auditd.audit_rule
"""

EXAMPLES = r"""
- name: Who killed what on every host, according to the kill rule
  auditfleet.auditd.audit_facts:
    keys: [kill_rule]
    host_name: "{{ inventory_hostname }}"
  become: true

- name: Kills of the last hour
  auditfleet.auditd.audit_facts:
    keys: [kill_rule]
    since: 1h
  become: true

- name: Those made by logged-in users
  ansible.builtin.debug:
    msg: "{{ ansible_facts.auditd_kill_reports | selectattr('killer.login_user') | list }}"

- name: Kill reports in the registered result only, not in the host's facts (nor a fact cache)
  auditfleet.auditd.audit_facts:
    keys: [kill_rule]
    reports_as_facts: false
  become: true
  register: kills

- name: Show them
  ansible.builtin.debug:
    msg: "{{ kills.auditd_kill_reports | length }} kills"

- name: Only what is new since the last run of this task
  auditfleet.auditd.audit_facts:
    keys: [kill_rule]
    cursor: true
    cursor_path: /var/lib/auditfleet/kill_report.cursor
  become: true

- name: Every execve of the last 30 minutes, no kill reports
  auditfleet.auditd.audit_facts:
    syscalls: [execve]
    since: 30m
    report: events
    max_events: 500
  become: true
"""

RETURN = r"""
auditd_kill_reports:
  description: The kill reports, as in C(ansible_facts.auditd_kill_reports), when they are not facts.
  returned: when O(reports_as_facts=false) and O(report) is C(kill) or C(both)
  type: list
  elements: dict
auditd_events:
  description: The matching events, as in C(ansible_facts.auditd_events), when they are not facts.
  returned: when O(reports_as_facts=false) and O(report) is C(events) or C(both)
  type: list
  elements: dict
ansible_facts:
  description: Facts about the host's audit log and auditd.
  returned: always
  type: dict
  contains:
    auditd_kill_reports:
      description:
        - One report per signal-sending syscall event, oldest first, at most O(max_events)
          (the most recent). Fields as in the C(auditfleet.auditd.kill_reports) filter, with
          C(host) set to O(host_name).
      returned: when O(report) is C(kill) or C(both), and O(reports_as_facts=true)
      type: list
      elements: dict
      sample:
        - event_id: "1795653040.498:8"
          time: "2026-11-26T00:30:40.498Z"
          host: web1
          key: kill_rule
          syscall: kill
          signal: 15
          signal_name: SIGTERM
          probe: false
          target_pid: 2202
          scope: process
          success: true
          errno: null
          killer: {pid: 2194, auid: 1000, login_user: alice, uid: 0, user: root, comm: kill, exe: /usr/bin/kill, cmdline: kill -TERM 2202}
          targets: [{pid: 2202, comm: sleep, uid: 0, user: root}]
    auditd_events:
      description: The matching events (fields as in the C(auditfleet.auditd.audit_events) filter), at most O(max_events).
      returned: when O(report) is C(events) or C(both), and O(reports_as_facts=true)
      type: list
      elements: dict
    auditd_status:
      description:
        - The kernel's audit status from C(auditctl -s) (C(enabled), C(failure), C(pid), C(rate_limit),
          C(backlog_limit), C(lost), C(backlog), C(backlog_wait_time), ...), plus C(available)
          (false in a container without audit), C(immutable) (enabled is 2), C(message) and
          C(daemon_running).
        - C(daemon_running) is true when the kernel names an audit daemon (C(pid) is not 0) and
          that process is alive. When it is false, the kernel sends its records to the kernel
          log (printk), not to the audit log, so new kills are not in these facts (a warning
          says so).
        - C(rules_error) is there only when C(auditctl -l) failed or printed a rule that could
          not be read; O(status) then returns no loaded rules and a warning, and the reports
          are returned as usual.
      returned: when O(status) is true
      type: dict
      sample: {enabled: 1, failure: 1, pid: 2135, rate_limit: 0, backlog_limit: 8192, lost: 0, backlog: 0,
               available: true, immutable: false, message: "", daemon_running: true}
    auditd_loaded_rules:
      description: The rules loaded in the kernel, in the canonical form of M(auditfleet.auditd.audit_rule).
      returned: when O(status) is true
      type: list
      elements: str
      sample: ["-a always,exit -F arch=b64 -S kill,tgkill,tkill -F key=kill_rule"]
    auditd_log_summary:
      description: What was read and found.
      returned: always
      type: dict
      contains:
        files:
          description: "The files read and the offset each was read from."
          type: list
          elements: dict
        read:
          description: "How the cursor placed the read."
          type: str
        bytes_read:
          description: "Bytes read from the files."
          type: int
        key_counts:
          description: "Matching events per audit rule key."
          type: dict
        matched_events:
          description: "Events that passed the filters."
          type: int
        total_kill_reports:
          description: "Kill reports found (before O(max_events))."
          type: int
        returned:
          description: "How many kill reports and events are returned."
          type: dict
        truncated:
          description: "True when O(max_events) left some out."
          type: bool
        held_back_records:
          description: "Records of events still open at the end of the log, kept for the next cursor run."
          type: int
        stats:
          description:
            - "The parser's counts: lines, records, events, and lines skipped or repaired, by
              reason (the collection's C(docs/parser.md) lists the reasons)."
          type: dict
        rotated_gaps:
          description: "Rotated log files missing from the numbering (C(audit.log.2) when C(audit.log.3) exists); the files past a gap are read."
          type: list
          elements: str
        cursor:
          description:
            - "The cursor file, whether it was advanced, its offset, and the stale temp files of
              earlier runs it removed (C(removed_temp_files))."
          type: dict
"""

import errno
import os
import platform
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import SYSCALLS
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditfacts import (
    AUDITD_CONF, CursorSaveError, FactsError, collect, default_log_file, load_cursor,
    save_cursor)
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import rotated_log_set
from ansible_collections.auditfleet.auditd.plugins.module_utils._timeutil import (
    TimeSpecError, parse_time)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SYSCALL_NAMES = frozenset(name for table in SYSCALLS.values() for name in table.values())


def _check_strings(option, values, what):
    """Each of VALUES (the list option OPTION) is a non-empty string without control
    characters; the error names the option and shows the value escaped."""
    for value in values or ():
        if value == "":
            raise FactsError("%s: an empty string is not %s" % (option, what))
        if _CONTROL.search(value):
            raise FactsError("%s: %r holds a control character; it is not %s" % (option, value, what))


def _check_params(params):
    _check_strings("keys", params["keys"], "an audit rule key")
    _check_strings("syscalls", params["syscalls"], "a syscall")
    for name in params["syscalls"] or ():
        if name not in _SYSCALL_NAMES and not name.isdigit():
            raise FactsError("syscalls: %r is not a syscall name of any architecture the "
                             "collection knows (kill, tgkill, execve, ... or a number)" % name)
    _check_strings("paths", params["paths"], "a file")
    if params["host_name"] is not None:
        _check_strings("host_name", [params["host_name"]], "a host name")
    _check_strings("cursor_path", [params["cursor_path"]], "a file name")
    if params["max_events"] < 0:
        raise FactsError("max_events: %d is negative; use 0 for no bound" % params["max_events"])


def _log_files(module, warnings, summary_extra):
    if module.params["paths"]:
        for path in module.params["paths"]:
            if not os.path.isfile(path):
                raise FactsError("paths: %s does not exist or is not a file" % path)
            if not os.access(path, os.R_OK):
                raise FactsError("paths: %s is not readable (run with become: true)" % path)
        return list(module.params["paths"])
    if not os.path.exists(AUDITD_CONF) and not module.get_bin_path("auditctl"):
        raise FactsError("auditd is not installed on this host (no %s, no auditctl): deploy it, "
                         "for example with the auditfleet.auditd.auditd_syscall role" % AUDITD_CONF)
    log_file = default_log_file()
    gaps = []
    files = rotated_log_set(log_file, gaps)
    if os.path.exists(log_file) and not os.path.isfile(log_file):
        raise FactsError("the audit log %s (log_file in %s) is not a regular file" % (log_file, AUDITD_CONF))
    if not files:
        raise FactsError("the audit log %s (log_file in %s) does not exist: is auditd running "
                         "and writing logs (write_logs = yes)?" % (log_file, AUDITD_CONF))
    if gaps:
        summary_extra["rotated_gaps"] = gaps
        warnings.append("the rotated audit logs have a gap: %s missing (removed by hand, or "
                        "num_logs lowered?); the files past it are read too, what was in the "
                        "missing ones is not" % ", ".join(gaps[:10]) + (" ..." if len(gaps) > 10 else ""))
    for path in files:
        if not os.access(path, os.R_OK):
            raise FactsError("the audit log %s is not readable by this user (run with become: true)" % path)
    return files


def _alive(pid):
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM  # alive, only not ours to signal
    return True


def _status(module, warnings):
    from ansible_collections.auditfleet.auditd.plugins.module_utils._auditctl import (
        canonical_listing, get_status)
    from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
    status = get_status(module)
    rules = []
    if status.get("available"):
        try:
            rules = canonical_listing(module)
        except AuditRuleError as exc:
            # the kill reports are what was asked for: an unreadable listing must not lose them
            status["rules_error"] = str(exc)
            warnings.append("the loaded rules could not be read, auditd_loaded_rules is empty: %s" % exc)
    pid = status.get("pid")
    status["daemon_running"] = bool(status.get("available")) and _alive(pid)
    if status.get("available") and not status["daemon_running"]:
        said = "pid 0" if not pid else "pid %s, which is not running" % pid
        warnings.append(
            "auditd is not running (auditctl -s: %s): the kernel sends audit records to the "
            "kernel log, not to the audit log, so kills from now on are missing from these "
            "facts until auditd is started again" % said)
    return status, rules


def run(module):
    params = module.params
    warnings = []
    if os.geteuid() != 0 and not params["paths"]:
        raise FactsError("audit_facts needs root to read the audit log and run auditctl: "
                         "run it with become: true")
    _check_params(params)
    try:
        since = parse_time(params["since"], name="since")
        until = parse_time(params["until"], name="until")
    except TimeSpecError as exc:
        raise FactsError(str(exc))
    summary_extra = {}
    files = _log_files(module, warnings, summary_extra)
    cursor_state = load_cursor(params["cursor_path"], warnings) if params["cursor"] else None
    result, new_cursor = collect({
        "files": files, "keys": params["keys"], "syscalls": params["syscalls"],
        "since": since, "until": until, "report": params["report"],
        "max_events": params["max_events"], "use_cursor": params["cursor"],
        "cursor_state": cursor_state, "resolve_names": params["resolve_names"],
        "host_name": params["host_name"] or platform.node(),
    })
    warnings.extend(result["warnings"])
    summary = result["summary"]
    summary.update(summary_extra)
    changed = False
    if params["cursor"]:
        moved = new_cursor is not None and (
            cursor_state is None
            or {k: v for k, v in new_cursor.items() if k != "updated"}
            != {k: v for k, v in cursor_state.items() if k != "updated"})
        saved, removed = False, []
        if moved and not module.check_mode:
            try:
                removed = save_cursor(params["cursor_path"], new_cursor)
                saved = True
            except CursorSaveError as exc:
                warnings.append("%s; the facts read are returned, and the next run reads these "
                                "events again" % exc)
        changed = saved or (moved and module.check_mode)  # check mode: what it would do
        summary["cursor"] = {"path": params["cursor_path"], "advanced": saved,
                             "offset": new_cursor["offset"] if new_cursor else None,
                             "removed_temp_files": removed}
    facts = {"auditd_log_summary": summary}
    lists = {}
    if params["report"] in ("kill", "both"):
        lists["auditd_kill_reports"] = result["kill_reports"]
    if params["report"] in ("events", "both"):
        lists["auditd_events"] = result["events"]
    if params["status"]:
        facts["auditd_status"], facts["auditd_loaded_rules"] = _status(module, warnings)
    out = {"changed": changed, "ansible_facts": facts}
    if params["reports_as_facts"]:
        facts.update(lists)
    else:
        out.update(lists)
    return out, warnings


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path"),
            keys=dict(type="list", elements="str", no_log=False),
            syscalls=dict(type="list", elements="str"),
            since=dict(type="str"),
            until=dict(type="str"),
            report=dict(type="str", default="kill", choices=["kill", "events", "both"]),
            max_events=dict(type="int", default=1000),
            reports_as_facts=dict(type="bool", default=True),
            cursor=dict(type="bool", default=False),
            cursor_path=dict(type="path", default="/var/lib/auditfleet/audit_facts.cursor"),
            host_name=dict(type="str"),
            resolve_names=dict(type="bool", default=True),
            status=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        result, warnings = run(module)
    except FactsError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s" % (getattr(exc, "filename", None) or "the audit log", exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
