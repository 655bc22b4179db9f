# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: kill_reports
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: Who killed which process, from Linux audit log text or events
description:
  - Turns the events of the syscalls that send signals (kill, tkill, tgkill, pidfd_send_signal,
    rt_sigqueueinfo and rt_tgsigqueueinfo) of a Linux audit log into kill reports that say who
    sent which signal to whom, when, and whether it worked.
  - The input is audit log text, a list of log lines, or the events returned by
    P(auditfleet.auditd.audit_events#filter).
  - The kernel records these events only for syscalls a rule watches, for example
    C(-a always,exit -F arch=b64 -S kill,tkill,tgkill,pidfd_send_signal,rt_sigqueueinfo,rt_tgsigqueueinfo -k kill_rule),
    which the M(auditfleet.auditd.audit_rule) module and the C(auditfleet.auditd.auditd_syscall)
    role deploy.
  - The kernel names the targets of signals (OBJ_PID records) only while a rule watches kill,
    tkill or tgkill; without one, reports of the other three say so in RV(_value[].warnings).
  - Which argument each field comes from, per syscall, and what the kill rules do not see
    (kernel-sent signals, the OOM killer, core dumps, seccomp kills) are in the collection's
    docs/kill-report.md.
options:
  _input:
    description:
      - Audit log text (one string), a list of log lines, or a list of events.
      - A string is always log text, never a file name.
    type: raw
    required: true
  keys:
    description: Keep only reports of events with one of these audit rule keys.
    type: list
    elements: str
  since:
    description:
      - Keep only kills at or after this time (log input only).
      - Epoch seconds, ISO 8601, or a time before now such as C(30m), C(1h), C(7d).
    type: raw
  until:
    description: Keep only kills at or before this time (log input only; same forms as O(since)).
    type: raw
"""

EXAMPLES = r"""
- name: Who killed what, from a log copied to the controller
  ansible.builtin.debug:
    msg: "{{ lookup('ansible.builtin.file', 'audit.log') | auditfleet.auditd.kill_reports(keys=['kill_rule']) }}"

- name: Kill reports from events already parsed
  ansible.builtin.set_fact:
    kills: "{{ events | auditfleet.auditd.kill_reports }}"

- name: Only real kills (signal 0 only checks that a process exists)
  ansible.builtin.debug:
    msg: "{{ log_text | auditfleet.auditd.kill_reports | rejectattr('probe') | list }}"
"""

RETURN = r"""
_value:
  description: One report per signal-sending syscall event. The field names are the collection's API.
  type: list
  elements: dict
  contains:
    event_id:
      description: "C(seconds.milliseconds:serial) of the event."
      type: str
      sample: "1529507591.700:304"
    time:
      description: "ISO 8601 UTC time."
      type: str
      sample: "2018-06-20T15:13:11.700Z"
    timestamp:
      description: "Epoch seconds."
      type: float
    node:
      description: "The C(node=) name of the record, else V(null)."
      type: str
    host:
      description: "The inventory host the report comes from; V(null) here (set by M(auditfleet.auditd.audit_facts))."
    key:
      description: "The first audit rule key, or V(null)."
      type: str
    keys:
      description: "All audit rule keys of the event."
      type: list
      elements: str
    arch:
      description: "Architecture of the killer (C(x86_64), C(i386), ...)."
      type: str
    syscall:
      description: "C(kill), C(tkill), C(tgkill), C(pidfd_send_signal), C(rt_sigqueueinfo) or C(rt_tgsigqueueinfo)."
      type: str
    signal:
      description: "The signal number."
      type: int
      sample: 9
    signal_name:
      description: "The signal name (C(SIGKILL)); V(null) for signal 0."
      type: str
    probe:
      description: "True when the signal is 0: an existence check, not a kill."
      type: bool
    target_pid:
      description:
        - For kill, the pid as the caller gave it, signed. V(-1234) is process group 1234, V(0) the
          caller's own group, V(-1) every process the caller may signal.
        - For tgkill, rt_sigqueueinfo and rt_tgsigqueueinfo the thread group id; for tkill the thread id.
        - For pidfd_send_signal the pid of the OBJ_PID record, V(null) without one (see RV(_value[].warnings))
          and for a process group.
      type: int
    target_tid:
      description: "The thread id for tkill, tgkill and rt_tgsigqueueinfo, else V(null)."
      type: int
    scope:
      description: "C(process), C(thread), C(process_group) or C(all)."
      type: str
    pidfd:
      description: "For pidfd_send_signal the file descriptor it was given, else V(null)."
      type: int
    success:
      description: "Whether the syscall succeeded."
      type: bool
    exit:
      description: "The syscall's return value (0 or a negative errno)."
      type: int
    errno:
      description: "C(EPERM), C(ESRCH), ... when it failed, else V(null)."
      type: str
    killer:
      description: The process that sent the signal.
      type: dict
      contains:
        pid:
          description: "Its pid."
          type: int
        ppid:
          description: "Its parent's pid."
          type: int
        auid:
          description: "Login uid (who logged in, kept across sudo and su); V(null) when unset."
          type: int
        login_user:
          description: "Name of the login uid (from ENRICHED logs; else V(null))."
          type: str
        uid:
          description: "Real uid."
          type: int
        user:
          description: "Name of the uid (from ENRICHED logs; else V(null))."
          type: str
        euid:
          description: "Effective uid."
          type: int
        gid:
          description: "Real gid."
          type: int
        comm:
          description: "Command name (15 characters at most)."
          type: str
        exe:
          description: "Executable path."
          type: str
        tty:
          description: "Terminal, or V(null)."
          type: str
        ses:
          description: "Audit session id, or V(null) when unset."
          type: int
        cmdline:
          description: "The command line (PROCTITLE arguments joined by spaces)."
          type: str
        argv:
          description: "The command line as a list of arguments."
          type: list
          elements: str
    targets:
      description:
        - One entry per process the kernel tried to signal (OBJ_PID records), possibly many
          for a process group or V(-1). Empty when no process matched (ESRCH).
      type: list
      elements: dict
      contains:
        pid:
          description: "Its pid."
          type: int
        comm:
          description: "Its command name."
          type: str
        uid:
          description: "Its uid."
          type: int
        user:
          description: "Name of its uid (ENRICHED logs)."
          type: str
        auid:
          description: "Its login uid, or V(null)."
          type: int
        login_user:
          description: "Name of its login uid (ENRICHED logs)."
          type: str
        ses:
          description: "Its audit session, or V(null)."
          type: int
    warnings:
      description:
        - Why the report lacks something a reader would expect; empty otherwise.
        - Today, no OBJ_PID record, so the target is unknown (pidfd_send_signal) or known by
          its pid only (rt_sigqueueinfo, rt_tgsigqueueinfo).
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports as _kill_reports
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._inputs import (
    log_lines, str_list, time_option)

NAME = "auditfleet.auditd.kill_reports"


def kill_reports(data, keys=None, since=None, until=None):
    try:
        keys = str_list(keys, "keys", NAME)
        lines = log_lines(data, NAME)
        if lines is None:
            if since is not None or until is not None:
                raise ValueError("%s: since and until apply to log input; filter the events "
                                 "with auditfleet.auditd.audit_events instead" % NAME)
            return list(_kill_reports(events=list(data), keys=keys))
        return list(_kill_reports(lines, keys=keys, since=time_option(since, "since", NAME),
                                  until=time_option(until, "until", NAME)))
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"kill_reports": kill_reports}
