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
        flag from C(auditd_log_summary), as set by M(auditfleet.auditd.audit_facts), and the
        architecture from C(ansible_facts.architecture) when the host's facts were gathered.
      - Or a dict of host name to the list of that host's kill reports.
      - Or a list of kill reports, each counted under its C(host), or without one (the lookup
        P(auditfleet.auditd.audit_log#lookup) and the filters set none) under its C(node) - a
        central log server's log gives one host per sending machine - or else under "(none)".
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
  node_as_host:
    description:
      - Count each kill report under its C(node) (the name auditd writes in front of each record
        of a log it receives from other machines, with C(name_format) set on them) instead of the
        inventory host whose log it was read from. For a central log server - run
        M(auditfleet.auditd.audit_facts) on it and every sending machine gets its own entry in
        C(hosts), with C(collected_from) naming the server. Reports without a C(node) (the
        server's own events) stay with the host that read them.
      - A report without a C(host) (from the lookup or the filters) is counted under its C(node)
        whatever this option says, and under "(none)" without either.
    type: bool
    default: false
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
      - V(dict) returns the report. V(json) returns it as the text of C(kill_report.json) (keys
        sorted, ASCII; the summary indented, each kill report on a line of its own), which the
        renderers also take as input.
      - To write several files from one report, pass the dict on within one expression, or use
        P(auditfleet.auditd.kill_report_files#filter), as the C(kill_report) playbook does - a
        task that stores a big dict with C(set_fact) costs ansible-core minutes for tens of
        thousands of kills (before 2.19 it turns the dict into text and back).
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

- name: Aggregate and render in one expression (the dict is never stored)
  ansible.builtin.copy:
    content: "{{ hostvars | auditfleet.auditd.fleet_kill_report(hosts=gathered_hosts) | auditfleet.auditd.kill_report_markdown }}"
    dest: /srv/reports/kill_report.md
    mode: "0640"

- name: A central log server's log, read on the controller, one host per node name
  ansible.builtin.copy:
    content: >-
      {{ query('auditfleet.auditd.audit_log', '/srv/logs/audit.log', report='kill')
         | auditfleet.auditd.fleet_kill_report | auditfleet.auditd.kill_report_html }}
    dest: /srv/reports/central.html
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
    node_as_host: {description: The O(node_as_host) option used., type: bool}
    complete:
      description:
        - True when every host answered, no host's reports were cut by C(max_events), and the
          audit log of every host was being written (no host with C(recording) false).
      type: bool
    warnings:
      description:
        - Every warning, one sentence each - hosts that did not answer, then per host (C(host) then
          the text) a stopped auditd or disabled audit, reports cut by C(max_events), lost records.
      type: list
      elements: str
    time_range:
      description: The first and last time (C(first), C(last); and C(first_timestamp), C(last_timestamp)) of all kill reports collected, probes included.
      type: dict
    totals:
      description:
        - C(hosts) (asked), C(hosts_ok), C(hosts_failed) (failed or unreachable), C(hosts_truncated),
          C(hosts_not_recording), C(hosts_with_warnings), C(kill_reports) (all collected), C(kills)
          (not probes), C(unsuccessful) (kills that failed), C(probes) and C(listed) (the length of C(reports)).
      type: dict
    hosts:
      description:
        - One entry per host, by name, with C(host), C(state) (C(ok), C(failed) or C(unreachable)),
          C(reason), C(kills), C(probes), C(unsuccessful), C(first), C(last), C(truncated),
          C(total_kill_reports) (before C(max_events)) and C(auditd) (C(available), C(enabled), C(pid),
          C(daemon_running), C(lost), C(backlog), C(backlog_limit), C(message) from C(auditd_status), or V(null)).
        - C(arch) - the host's architecture, from its facts (C(ansible_facts.architecture), when
          they were gathered) or else from its kill reports (the 64-bit ABI when a 64-bit one
          was seen, so an x86_64 host whose 32-bit programs kill shows x86_64); C(arch_source)
          says which (C(facts), C(reports), or V(null) when unknown).
        - C(recording) - whether the kernel writes audit records to the log - V(false) when
          C(auditd_status) says auditd is not running (C(pid) 0, or C(daemon_running) false),
          audit is disabled (C(enabled) 0) or not available; V(null) when unknown.
        - C(warnings) - that host's warnings (sentences); C(collected_from) - with
          O(node_as_host), the inventory host whose log held its reports.
      type: list
      elements: dict
    failed_hosts:
      description: The hosts that failed or were unreachable, by name, each with C(host), C(state) and C(reason) (V(null) when unknown).
      type: list
      elements: dict
    counts:
      description:
        - Counts of the reports in C(reports), most first - C(by_host), C(by_login_user),
          C(by_signal) (signal names), C(by_command) (the killer's C(comm)) and C(by_target)
          (the C(comm) of each process signalled; "(no process)" when the kernel named none).
        - C(kill_report.json) writes its keys sorted by name; the renderers sort them again.
      type: dict
      sample: {by_host: {web1: 3}, by_login_user: {alice: 2, (none): 1}, by_signal: {SIGKILL: 2, SIGTERM: 1}, by_command: {kill: 3}, by_target: {nginx: 3}}
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

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetdata import bool_option, gc_paused, untrusted
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetjson import render_json
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetmodel import aggregate

NAME = "auditfleet.auditd.fleet_kill_report"


@gc_paused
def fleet_kill_report(data, hosts=None, answered=None, result_var=None, probes="apart",
                      parameters=None, generated_at=None, format="dict", node_as_host=False):  # pylint: disable=redefined-builtin
    try:
        if format not in ("dict", "json"):
            raise ValueError("%s: option format must be dict or json, not %r" % (NAME, format))
        report = aggregate(data, hosts=hosts, answered=answered, result_var=result_var,
                           probes=probes, parameters=parameters, generated_at=generated_at,
                           node_as_host=bool_option(node_as_host, "node_as_host", NAME), plugin=NAME)
        if format == "json":
            return untrusted(render_json(report))
        return report
    except (TypeError, ValueError, KeyError) as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"fleet_kill_report": fleet_kill_report}
