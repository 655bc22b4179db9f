# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: audit_events
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: Parse Linux audit log text into events
description:
  - Groups the records of a Linux audit log (as auditd writes C(/var/log/audit/audit.log))
    into events by node, timestamp and serial, decodes quoted and hex-encoded values and
    interprets arch, syscall, exit and unset ids.
  - Uses the collection's one audit-log parser (C(plugins/module_utils/_auditlog.py)), the
    same one as the P(auditfleet.auditd.audit_log#lookup) lookup and the
    M(auditfleet.auditd.audit_facts) module.
  - Lines that are not audit records are skipped; the filter never fails on log content.
options:
  _input:
    description:
      - Audit log text (one string), or a list of log lines.
      - A string is always log text, never a file name; read files with
        P(auditfleet.auditd.audit_log#lookup) or P(ansible.builtin.file#lookup).
    type: raw
    required: true
  keys:
    description: Keep only events with one of these audit rule keys (C(-k)).
    type: list
    elements: str
  types:
    description: Keep only events with a record of one of these types (for example C(SYSCALL), C(USER_LOGIN)).
    type: list
    elements: str
  since:
    description:
      - Keep only events at or after this time.
      - Epoch seconds, ISO 8601 (C(2026-11-26T10:00:00Z); without an offset it is UTC),
        or a time before now such as C(30m), C(1h), C(7d).
    type: raw
  until:
    description: Keep only events at or before this time (same forms as O(since)).
    type: raw
  interpret:
    description:
      - Convert id and counter fields to integers (unset ids to V(null)) and add the arch,
        syscall, success, exit and errno of syscall events.
      - With V(false), field values stay the decoded strings.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Events of the kill rule in a log read from the controller
  ansible.builtin.debug:
    msg: "{{ lookup('ansible.builtin.file', 'audit.log') | auditfleet.auditd.audit_events(keys=['kill_rule']) }}"

- name: Logins of the last hour from log lines gathered elsewhere
  ansible.builtin.set_fact:
    logins: "{{ audit_lines | auditfleet.auditd.audit_events(types=['USER_LOGIN'], since='1h') }}"
"""

RETURN = r"""
_value:
  description: The events, in the order they completed.
  type: list
  elements: dict
  contains:
    event_id:
      description: C(seconds.milliseconds:serial) as in C(msg=audit(...)).
      type: str
      sample: "1795653040.498:8"
    node:
      description: The C(node=) name of the record, or V(null).
      type: str
    time:
      description: ISO 8601 UTC time of the event.
      type: str
      sample: "2026-11-26T00:30:40.498Z"
    timestamp:
      description: Epoch seconds.
      type: float
    serial:
      description: The event serial number.
      type: int
    key:
      description: The first audit rule key of the event, or V(null).
      type: str
    keys:
      description: All keys of the event.
      type: list
      elements: str
    types:
      description: The record types of the event, in order.
      type: list
      elements: str
    records:
      description:
        - The records, each with C(type), C(fields) (decoded values; C(proctitle) is a list
          of arguments) and C(enriched) (the names auditd added in ENRICHED format).
        - EXECVE records also have C(argv).
      type: list
      elements: dict
    arch:
      description: Architecture name of a syscall event (C(x86_64), C(i386), ...), else V(null). Only with O(interpret).
      type: str
    syscall:
      description:
        - Syscall name of a syscall event, else V(null). Only with O(interpret).
        - C(socketcall) and C(ipc), which 32-bit programs call for socket and SysV IPC calls, are named with their
          sub-call as libauparse names them (C(socketcall(connect))). An event with a SECCOMP record and no SYSCALL
          record has the syscall the seccomp filter acted on (and its C(arch)).
      type: str
    success:
      description: Whether the syscall succeeded. Only with O(interpret).
      type: bool
    exit:
      description: The syscall's return value. Only with O(interpret).
      type: int
    errno:
      description: The errno name of a negative exit (C(EPERM)), else V(null). Only with O(interpret).
      type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import parse_events
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._inputs import (
    log_lines, str_list, time_option)

NAME = "auditfleet.auditd.audit_events"


def audit_events(data, keys=None, types=None, since=None, until=None, interpret=True):
    try:
        lines = log_lines(data, NAME)
        if lines is None:
            raise TypeError("%s: the input is a list of events already" % NAME)
        return list(parse_events(
            lines, keys=str_list(keys, "keys", NAME), types=str_list(types, "types", NAME),
            since=time_option(since, "since", NAME), until=time_option(until, "until", NAME),
            interpret=bool(interpret)))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"audit_events": audit_events}
