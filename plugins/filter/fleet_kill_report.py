# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_kill_report
author: auditfleet developers (@auditfleet)
version_added: 1.0.0
short_description: One kill report for a whole fleet, from the kill reports of every host
description:
  - Gathers the kill reports of many hosts (usually C(hostvars) after
    M(auditfleet.auditd.audit_facts) ran on them) into one fleet report - every kill sorted
    by time, counts per host, per login user, per signal and per killer command, the probes
    (signal 0) apart or hidden, and the hosts that failed or were unreachable, with a reason
    when it is known.
  - The result is what P(auditfleet.auditd.kill_report_csv#filter),
    P(auditfleet.auditd.kill_report_markdown#filter) and
    P(auditfleet.auditd.kill_report_html#filter) render, and what the playbook
    C(auditfleet.auditd.kill_report) writes as C(kill_report.json).
  - Reports are sorted by time; reports of the same time by host, then by event serial.
  - Only hosts that answered contribute kill reports. The reports a failed host may still
    have in its facts (from a fact cache, or an earlier run) are left out, so stale data never
    passes for fresh.
options:
  _input:
    description:
      - C(hostvars), or any dict of host name to that host's variables - the kill reports are
        read from its C(ansible_facts.auditd_kill_reports) (or the variable
        C(auditd_kill_reports)), the auditd status from C(auditd_status) and the truncation
        flag from C(auditd_log_summary), as set by M(auditfleet.auditd.audit_facts).
      - Or a dict of host name to the list of that host's kill reports.
      - Or a list of kill reports (each with its C(host); a report without one is counted
        under "(none)").
    type: raw
    required: true
  hosts:
    description:
      - The hosts that were asked, for example C(ansible_play_hosts_all) of the play that
        gathered the facts. Each is listed in the report, as answered or as failed.
      - By default every key of a dict input (with C(hostvars), every host of the inventory),
        or the hosts named by the reports of a list input.
    type: list
    elements: str
  answered:
    description:
      - The hosts that answered, for example C(ansible_play_hosts) at the end of the play that
        gathered the facts. Any host of O(hosts) not in this list is listed as failed.
      - By default a host answered when it has kill reports in its facts (dict input), or
        every host answered (list input).
    type: list
    elements: str
  result_var:
    description:
      - The name of a host variable that holds the registered result of the task that
        gathered the facts (run with C(ignore_errors) and C(ignore_unreachable), so that the
        play goes on). A host whose result is failed or unreachable is listed as such, with
        the result's message as the reason.
      - Only with a dict input.
    type: str
  probes:
    description: What to do with probes (signal 0, which only checks that a process exists).
    type: str
    choices:
      apart: listed in C(probes), apart from the kills in C(reports); counted in C(probe_counts)
      hide: not listed; still counted in C(totals.probes), C(probe_counts) and per host
      include: listed in C(reports) and counted in C(counts) with the kills, under the signal "0 (probe)"
    default: apart
  parameters:
    description:
      - Anything worth recording about how the reports were gathered (for example the keys,
        since and max_events given to M(auditfleet.auditd.audit_facts)); copied to
        C(parameters) and shown by the renderers.
    type: dict
  generated_at:
    description: The time the report is made, as text. By default now, in UTC (ISO 8601).
    type: str
  format:
    description:
      - V(dict) returns the report. V(json) returns it as JSON text (indented, keys sorted,
        ASCII), which the renderers also take as input.
      - Prefer V(json) for big reports (tens of thousands of kills) - ansible-core templates a
        dict that a task stores or passes on value by value, which takes minutes for such a
        report (ansible-core before 2.19 even turns it into text and back), while text goes through
        in one piece. C(to_nice_json) on the dict is slow for the same reason on ansible-core 2.19+.
    type: str
    choices: [dict, json]
    default: dict
notes:
  - Login users are counted by name; a login uid without a name (RAW logs read by the filters)
    is counted as C(auid N), and a killer without a login uid (a daemon, a process started at
    boot) as "(none)". Missing hosts, signals and commands are also counted as "(none)".
  - The filter reads nothing but its input; it aggregates 100,000 reports in about a second.
  - Values are taken as data, never templated - a command line that looks like a Jinja template
    stays text. On ansible-core before 2.19 the text it makes is marked unsafe for the same reason.
seealso:
  - module: auditfleet.auditd.audit_facts
  - plugin: auditfleet.auditd.kill_reports
    plugin_type: filter
"""

EXAMPLES = r"""
# In a play on localhost after a play that ran auditfleet.auditd.audit_facts on the fleet
# and kept its ansible_play_hosts_all / ansible_play_hosts (the kill_report playbook does this).
- name: One report for the fleet
  ansible.builtin.set_fact:
    fleet: >-
      {{ hostvars | auditfleet.auditd.fleet_kill_report(hosts=gathered_hosts, answered=answered_hosts,
                                                        result_var='gather_result', probes='hide') }}

- name: Who killed the most
  ansible.builtin.debug:
    msg: "{{ fleet.counts.by_login_user }}"

- name: A big report as JSON text (fast), rendered from the text
  ansible.builtin.copy:
    content: "{{ hostvars | auditfleet.auditd.fleet_kill_report(hosts=gathered_hosts, format='json') | auditfleet.auditd.kill_report_markdown }}"
    dest: /srv/reports/kill_report.md
    mode: "0640"

- name: From kill reports at hand, for example read on the controller with the lookup
  ansible.builtin.set_fact:
    fleet: "{{ query('auditfleet.auditd.audit_log', 'logs/*/audit.log*', report='kill') | auditfleet.auditd.fleet_kill_report }}"

- name: Hosts whose kills are missing from the report
  ansible.builtin.debug:
    msg: "{{ fleet.failed_hosts | map(attribute='host') | list }}"
"""

RETURN = r"""
_value:
  description: The fleet report (as JSON text with O(format=json)).
  type: dict
  contains:
    generated_at: {description: When the report was made (O(generated_at))., type: str, sample: "2026-11-26T10:00:00Z"}
    parameters: {description: The O(parameters) given., type: dict}
    probe_mode: {description: The O(probes) option used., type: str, sample: apart}
    complete:
      description: True when every host answered and no host's reports were cut by C(max_events).
      type: bool
    time_range:
      description: The first and last time (C(first), C(last); and C(first_timestamp), C(last_timestamp)) of all kill reports collected, probes included.
      type: dict
    totals:
      description:
        - C(hosts) (asked), C(hosts_ok), C(hosts_failed) (failed or unreachable), C(hosts_truncated),
          C(kill_reports) (all collected), C(kills) (not probes), C(unsuccessful) (kills that failed),
          C(probes) and C(listed) (the length of C(reports)).
      type: dict
    hosts:
      description:
        - One entry per host, by name, with C(host), C(state) (C(ok), C(failed) or C(unreachable)),
          C(reason), C(kills), C(probes), C(unsuccessful), C(first), C(last), C(truncated),
          C(total_kill_reports) (before C(max_events)) and C(auditd) (C(available), C(enabled), C(pid),
          C(lost), C(backlog), C(backlog_limit), C(message) from C(auditd_status), or V(null)).
      type: list
      elements: dict
    failed_hosts:
      description: The hosts that failed or were unreachable, by name, each with C(host), C(state) and C(reason) (V(null) when unknown).
      type: list
      elements: dict
    counts:
      description:
        - Counts of the reports in C(reports), most first - C(by_host), C(by_login_user),
          C(by_signal) (signal names) and C(by_command) (the killer's C(comm)).
      type: dict
      sample: {by_host: {web1: 3}, by_login_user: {alice: 2, (none): 1}, by_signal: {SIGKILL: 2, SIGTERM: 1}, by_command: {kill: 3}}
    probe_counts: {description: The same counts for probes (also when they are hidden)., type: dict}
    reports:
      description:
        - The kills (and with O(probes=include) the probes), sorted by time, in the kill-report
          schema of P(auditfleet.auditd.kill_reports#filter), each with its C(host).
      type: list
      elements: dict
    probes:
      description: The probes, sorted by time, with O(probes=apart); else empty.
      type: list
      elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetreport import (
    aggregate, to_json_text, untrusted)

NAME = "auditfleet.auditd.fleet_kill_report"


def fleet_kill_report(data, hosts=None, answered=None, result_var=None, probes="apart",
                      parameters=None, generated_at=None, format="dict"):  # pylint: disable=redefined-builtin
    try:
        if format not in ("dict", "json"):
            raise ValueError("%s: option format must be dict or json, not %r" % (NAME, format))
        report = aggregate(data, hosts=hosts, answered=answered, result_var=result_var,
                           probes=probes, parameters=parameters, generated_at=generated_at, plugin=NAME)
        if format == "json":
            return untrusted(to_json_text(report))
        return report
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"fleet_kill_report": fleet_kill_report}
