#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_rule_sets
short_description: Manage all of a host's Linux audit rule sets in one call, with one load, and report the host
version_added: 1.1.0
description:
  - "Deploys every rule set of a host at once. Each item of O(sets) is one rule set, with the
    options of M(auditfleet.auditd.audit_rule) (the same validation and error texts, each error
    starting with the set's index and name, for example sets[2] (kill) followed by a colon), written as one file
    C(<rules_dir>/<priority>-<name>.rules)."
  - Every set is validated before anything on the host changes. Then, holding the host lock that
    M(auditfleet.auditd.audit_rule) holds too, the rules directory and the kernel
    (C(auditctl -s), C(auditctl -l)) are read once, and every set is planned against that one
    snapshot - duplicates between two sets, a setting that a later file overrides, and stale
    rules are judged against the directory as it will be after the run, so a rule moved from
    one set to another is neither a duplicate nor stale.
  - Unless in check mode, every file is written or removed, the rules are loaded once for the
    whole host (as M(auditfleet.auditd.audit_rule) loads one set - C(augenrules --load),
    C(systemctl start audit-rules.service) or C(auditctl -R), rule by rule when the directory
    has no C(-D)), and every set is proven against one fresh C(auditctl -l). When the load fails
    or any set is not proven, every file of the run and the kernel's rule list are put back and
    the task fails naming the sets (RV(rolled_back), RV(load_error)). A lock (C(-e 2)) is set
    only after the proof.
  - O(remove_undeclared) removes this collection's rule sets that O(sets) does not name;
    O(remove_unmanaged) removes every other C(*.rules) file. Their rules are unloaded in the
    same single load.
  - The result has, per set, what M(auditfleet.auditd.audit_rule) returns for it (RV(sets)), and a
    read-only report on the host (RV(host)) - whether auditctl and auditd are installed, auditd
    registered with the kernel (the C(auditctl -s) pid) and enabled at boot, whether auditd.conf
    holds O(auditd_conf), and whether the kernel was booted with C(audit=1). The report never
    changes anything, so one call can tell a role what else it has to do.
  - With O(when_unavailable=report) a host without auditctl is not an error - nothing is planned
    or changed, RV(sets) is empty, and RV(host) says what is missing.
author:
  - auditfleet developers (@auditfleet)
requirements:
  - auditd (audit userspace) on the managed host, with C(auditctl); C(augenrules) where the
    distribution ships it
  - root on the managed host (use C(become))
attributes:
  check_mode:
    support: full
    description: Decides everything (files, load, drift) for every set and changes nothing; the
      host report is filled as in a normal run.
  diff_mode:
    support: full
    description: Shows every rule file written or removed, the kernel's rule list
      (C(auditctl -l)) before and after (predicted in check mode) and the kernel settings the
      sets declare.
  platform:
    support: full
    platforms: posix
    description: Linux with the kernel audit subsystem.
options:
  sets:
    description:
      - The rule sets of the host, each one as M(auditfleet.auditd.audit_rule) takes it (the same
        keys, validation and errors). A name given twice is an error.
      - A set with O(sets[].state=absent) is removed and its rules unloaded.
      - There is no per-set O(reload), O(backup) or O(rules_dir) - the whole host is loaded once.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the rule set, as M(auditfleet.auditd.audit_rule)'s O(auditfleet.auditd.audit_rule#module:name).
        type: str
        required: true
      priority:
        description: Order prefix of the file, as M(auditfleet.auditd.audit_rule)'s
          O(auditfleet.auditd.audit_rule#module:priority) (default 50; with a preset, its number).
        type: int
      state:
        description: V(present) writes and loads the set, V(absent) removes it (every priority) and
          unloads its rules.
        type: str
        choices: [present, absent]
        default: present
      rules:
        description: The rules of the set in YAML, exactly as M(auditfleet.auditd.audit_rule)'s
          O(auditfleet.auditd.audit_rule#module:rules). Mutually exclusive with O(sets[].lines) and
          O(sets[].preset).
        type: list
        elements: dict
      lines:
        description: The rules of the set as auditctl rule-file text (a string or a list of lines),
          as M(auditfleet.auditd.audit_rule)'s O(auditfleet.auditd.audit_rule#module:lines).
        type: raw
      preset:
        description: A sample rule file of the host's own audit package, as
          M(auditfleet.auditd.audit_rule)'s O(auditfleet.auditd.audit_rule#module:preset).
        type: str
      inapplicable:
        description: What to do with a rule that cannot apply on this host, as
          M(auditfleet.auditd.audit_rule)'s O(auditfleet.auditd.audit_rule#module:inapplicable).
        type: str
        choices: [fail, skip]
        default: fail
      controls:
        description:
          - Kernel audit settings the set's file carries, as M(auditfleet.auditd.audit_rule)'s
            O(auditfleet.auditd.audit_rule#module:controls). A setting that a later file of the
            directory (another set included) sets too is refused.
        type: dict
        suboptions:
          buffer_size:
            description: C(-b).
            type: int
          failure_mode:
            description: C(-f).
            type: str
            choices: ["0", "1", "2", silent, printk, panic]
          backlog_wait_time:
            description: C(--backlog_wait_time).
            type: int
          rate_limit:
            description: C(-r).
            type: int
          loginuid_immutable:
            description: C(--loginuid-immutable), set only after every set is loaded and proven,
              never rolled back (only a reboot undoes it).
            type: bool
            default: false
          immutable:
            description: C(-e 2), set only after every set is loaded and proven.
            type: bool
            default: false
  remove_undeclared:
    description:
      - Remove the files of this collection's rule sets (C(NN-<name>.rules) with the collection's
        header for C(<name>)) that O(sets) does not name, and unload their rules
        (RV(removed_sets)).
      - Off by default - sets written by other plays with M(auditfleet.auditd.audit_rule) are
        undeclared here too.
    type: bool
    default: false
  remove_unmanaged:
    description:
      - Remove every C(*.rules) file of O(rules_dir) that this collection did not write (the
        distribution's C(audit.rules) included), with a warning per file, and unload its rules
        (RV(removed_files)). Rules loaded by hand that no file holds are left alone.
      - Without it such files are kept and listed in RV(kept_unmanaged_files).
    type: bool
    default: false
  reload:
    description:
      - Load the rules into the kernel after a change (or when the kernel lacks them), once for
        the whole host. V(false) only writes the files.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of every file replaced or removed (C(backup_file) of the set in RV(sets)),
      as M(auditfleet.auditd.audit_rule)'s O(auditfleet.auditd.audit_rule#module:backup).
    type: bool
    default: false
  rules_dir:
    description:
      - The directory of rule files. With another directory than C(/etc/audit/rules.d) the module
        compiles it itself and loads it with C(auditctl -R) (augenrules reads only
        C(/etc/audit/rules.d)).
    type: path
    default: /etc/audit/rules.d
  auditd_conf:
    description:
      - auditd.conf keys and the values wanted for them, compared read-only with
        O(auditd_conf_path) (RV(host.auditd_conf_matches), RV(host.auditd_conf_differs)); nothing
        is written. Keys are case-insensitive; booleans are compared as C(yes)/C(no), other
        values as text.
    type: dict
    default: {}
  auditd_conf_path:
    description: The auditd.conf file O(auditd_conf) is compared with.
    type: path
    default: /etc/audit/auditd.conf
  when_unavailable:
    description:
      - What to do when C(auditctl) is not installed on the host.
      - V(fail) - the task fails (with O(reload=false) the files are still written).
      - V(report) - nothing is planned or changed; the task returns RV(host) (with
        RV(host.auditctl_found=false)), an empty RV(sets), RV(changed=false) and a RV(msg) that
        says why. A role can call the module first with it, install what the report says is
        missing, and call it again.
    type: str
    choices: [fail, report]
    default: fail
notes:
  - The module needs root; run it with C(become) from a normal account.
  - The rules of all sets go into the kernel in one load, so a rule the kernel refuses in one set
    rolls back every set of the run.
seealso:
  - module: auditfleet.auditd.audit_rule
    description: One rule set per call, with the same options per set.
  - name: auditctl(8)
    description: The rule syntax this module writes.
    link: https://man7.org/linux/man-pages/man8/auditctl.8.html
"""

EXAMPLES = r"""
- name: Deploy every rule set of the host with one load, and report the host
  auditfleet.auditd.audit_rule_sets:
    sets:
      - name: identity
        priority: 30
        rules:
          - path: /etc/passwd
            permissions: wa
            key: identity
      - name: kill_monitoring
        inapplicable: skip
        rules:
          - syscalls: [kill, tkill, tgkill]
            key: kill_rule
      - name: stig
        preset: stig
        inapplicable: skip
      - name: old_set
        state: absent
    auditd_conf:
      max_log_file: 16
      write_logs: true
  register: rules
  become: true

- name: Say what the host still lacks
  ansible.builtin.debug:
    msg: "auditd running: {{ rules.host.auditd_running }}, auditd.conf differs in {{ rules.host.auditd_conf_differs | list }}"
  when: not rules.host.ready

- name: Only the sets declared here, nothing else in rules.d
  auditfleet.auditd.audit_rule_sets:
    sets:
      - name: kill_monitoring
        rules:
          - syscalls: [kill]
            key: kill_rule
    remove_undeclared: true
    remove_unmanaged: true
  become: true

- name: Report first on a host that may not have auditd yet
  auditfleet.auditd.audit_rule_sets:
    sets: []
    when_unavailable: report
  register: report
  become: true
"""

RETURN = r"""
changed:
  description: A file was (or in check mode would be) written or removed, or the rules were
    (would be) loaded.
  returned: always
  type: bool
msg:
  description: What was done, in one sentence.
  returned: always
  type: str
sets:
  description:
    - Per declared set (by name), what M(auditfleet.auditd.audit_rule) returns for one set -
      C(path), C(rules), C(controls), C(loaded), C(missing), C(still_loaded) (when some are),
      C(drift), C(reboot_required), C(pending), C(skipped_rules), C(preset_file),
      C(backup_file), and C(changed) (the set's file changed, or the set needed the load).
    - Empty with O(when_unavailable=report) on a host without auditctl.
  returned: always
  type: dict
  sample:
    kill_monitoring:
      path: /etc/audit/rules.d/50-kill_monitoring.rules
      rules: ["-a always,exit -F arch=b64 -S kill,tkill,tgkill -F key=kill_rule"]
      controls: []
      loaded: true
      missing: []
      drift: false
      reboot_required: false
      pending: []
      skipped_rules: []
      preset_file: null
      backup_file: null
      changed: true
removed_sets:
  description: The rule sets of this collection that O(sets) does not name and that were
    (would be) removed (O(remove_undeclared)).
  returned: always
  type: list
  elements: str
removed_files:
  description: Every file that was (would be) removed - files of absent and undeclared sets,
    files of a set at another priority, unmanaged files (O(remove_unmanaged)).
  returned: always
  type: list
  elements: str
kept_unmanaged_files:
  description: The C(*.rules) files this collection did not write, kept (without
    O(remove_unmanaged)).
  returned: always
  type: list
  elements: str
  sample: [/etc/audit/rules.d/audit.rules]
load_method:
  description: How the rules were (would be) loaded, V(augenrules) or V(auditctl), as
    M(auditfleet.auditd.audit_rule)'s RV(auditfleet.auditd.audit_rule#module:load_method); null when
    nothing was loaded.
  returned: always
  type: str
kernel_audit:
  description: Kernel audit can be read and configured from here (C(auditctl -s) works).
  returned: always
  type: bool
kernel_audit_message:
  description: Why kernel audit is not available.
  returned: when RV(kernel_audit) is false (not when O(when_unavailable=report) found no auditctl)
  type: str
reboot_required:
  description: The kernel's rules are immutable (C(enabled 2)); some set's change applies only
    after a reboot.
  returned: always
  type: bool
pending:
  description: With immutable rules, the rules of every set that apply only at the next boot.
  returned: always
  type: list
  elements: str
rolled_back:
  description: The load failed or left a set unproven, and every file of the run and the kernel
    rule list were put back. The task fails.
  returned: always
  type: bool
load_error:
  description: What failed during the load, naming the sets whose rules are missing.
  returned: when a load failed
  type: str
load_output:
  description: rc, stdout, stderr and command of the failed load.
  returned: when a load failed
  type: dict
rollback_error:
  description: What could not be put back during the rollback.
  returned: when the rollback did not fully succeed
  type: str
errors:
  description: Every validation problem, one string each, starting with the set's index and name
    (for example sets[2] (kill) followed by a colon).
  returned: when validation failed
  type: list
  elements: str
host:
  description: The read-only report on the host; nothing was changed to fill it. Also when the task
    fails, unless O(auditd_conf) or O(auditd_conf_path) is what is wrong, or auditd.conf cannot be read.
  returned: always
  type: dict
  contains:
    auditctl_found:
      description: C(auditctl) is installed.
      type: bool
    auditd_found:
      description: The C(auditd) binary is installed (searched in PATH and the sbin directories).
      type: bool
    auditd_pid:
      description: The pid of the audit daemon registered with the kernel (C(auditctl -s)); 0 when none.
      type: int
    auditd_running:
      description: An audit daemon is registered with the kernel (RV(host.auditd_pid) is not 0).
      type: bool
    enabled_at_boot:
      description:
        - auditd starts at boot - where systemd runs, a link C(auditd.service) in a C(.wants)
          directory of C(/etc/systemd/system) or C(systemctl is-enabled auditd.service);
          elsewhere an C(S) link in C(/etc/rc[2345].d) (V(false) when there are only C(K) links).
        - null when neither can tell.
      type: bool
    auditd_conf_found:
      description: O(auditd_conf_path) exists.
      type: bool
    auditd_conf_matches:
      description: Every key of O(auditd_conf) has its value in O(auditd_conf_path).
      type: bool
    auditd_conf_differs:
      description: The keys that differ (lower case), each with C(have) (null when the key is
        absent) and C(want).
      type: dict
      sample: {max_log_file: {have: "8", want: "16"}}
    auditd_conf_path:
      description: The file that was compared.
      type: str
    booted_with_audit:
      description: C(audit=1) (true) or C(audit=0) (false) on the kernel command line; null when
        absent. Without C(audit=1), processes started before auditd are not audited (a warning
        says so).
      type: bool
    loginuid_immutable:
      description: The login uid cannot be changed once set (C(auditctl -s)); null when not known.
      type: bool
    warnings:
      description: The report's warnings (also given as the task's warnings).
      type: list
      elements: str
    ready:
      description: auditctl and auditd are installed, auditd is running, it is not known to be
        disabled at boot, and auditd.conf matches - nothing needs installing, starting or
        configuring.
      type: bool
diff:
  description: With C(--diff), every rule file written or removed, the kernel's rule list
    (C(auditctl -l)) before and after (predicted in check mode), and the kernel settings the sets
    declare.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.auditfleet.auditd.plugins.module_utils._ruleargs import audit_rule_sets_spec
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruleset import HostRuleSetsManager


def main():
    module = AnsibleModule(argument_spec=audit_rule_sets_spec(), supports_check_mode=True)
    try:
        result = HostRuleSetsManager(module, module.params).run()
    except AuditRuleError as e:
        module.fail_json(msg=e.msg, **e.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
