#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
---
module: audit_rule
short_description: Manage one set of Linux audit rules as a file in rules.d, load it, prove it
version_added: 1.0.0
description:
  - Manages one named rule set as one file C(<rules_dir>/<priority>-<name>.rules) (the
    priority is written with two digits, for example C(50-kill_monitoring.rules)). The file
    starts with a header line that marks it as managed by auditfleet.auditd.
  - The rules come from one of three sources - O(rules) (YAML), O(lines) (auditctl rule-file
    text, as in a C(.rules) file), or O(preset) (a sample rule file of the host's own audit
    package, read on the host). Text is read by the collection's own rule-line parser into the
    same rules, then validated, written, loaded and proven exactly like O(rules).
  - Every rule is validated before anything on the host changes. Syscall names are checked
    against the syscall table of each ABI the rule applies to (b64 against the machine's native
    table, b32 against its 32-bit compat table), field names against libaudit's list, operators
    and values against what auditctl and the kernel accept. Each error names the rule (index
    and key), the option or field, the value and what is allowed.
  - Every string that goes into the rule file, its name, a key or a path is checked as a whole
    string; a control character anywhere in it (a trailing newline included, as a YAML block
    scalar such as C(|) adds one) is refused, and the message names the option and shows the
    value escaped.
  - The file is rendered, compared and, when it differs, written atomically (a temporary file
    created exclusively in the same directory, then renamed over the old one), owned by root,
    mode 0640. No symbolic link is followed where the module writes; a symbolic link, FIFO or
    other special file at the path of a file of the set is refused before anything changes, and
    a FIFO among the other rule files too.
  - After a change the rules are loaded the way the platform does it. With the default
    O(rules_dir) that is C(systemctl start audit-rules.service) where systemd runs that oneshot
    unit (audit 4.x; not C(restart), which would restart auditd.service too, as that unit
    requires audit-rules.service), else C(augenrules --load); without augenrules, or with another
    O(rules_dir), the directory is compiled here exactly as augenrules does it and loaded with
    C(auditctl -R). C(systemctl restart auditd) is never used.
  - Loading replaces the kernel's rules with those of the whole rules directory when the
    directory has a C(-D) line (the distributions' default files have one); without it, rules
    of the set that were removed from the file are deleted one by one with C(auditctl -d)/C(-W).
  - After loading, the module reads C(auditctl -l) back and compares it with the declared rules
    in one canonical form (C(-k x) equals C(-F key=x); C(exit,always) equals C(always,exit);
    auid C(unset), C(-1) and C(4294967295) are equal; syscall order and duplicates, user names
    and uids, errno names and numbers do not matter; watches as auditctl prints them).
  - When loading fails or leaves declared rules out of the kernel, the previous files are put
    back, loaded again, and the kernel's rule list is made exactly what it was; the task fails
    with the output of augenrules and auditctl (RV(rolled_back), RV(load_error)).
  - A set with O(controls.immutable) is locked in two steps, never in one. The rules (and the
    other settings) are loaded without the lock and proven first, then C(auditctl -e 2) runs on
    its own and C(auditctl -s) must say C(enabled 2). If the rules are not all in the kernel,
    the host is not locked and the rollback restores files and kernel rules. The file keeps its
    C(-e 2) line, so the next boot locks after loading the rules.
  - O(controls.loginuid_immutable) (C(--loginuid-immutable)) is handled the same way, since only
    a reboot undoes it either. It is never loaded with the rules (nor is any form of it that
    auditctl takes, such as C(--loginuid), from another file of the directory); once the rules
    are proven, C(auditctl --loginuid-immutable) runs on its own and C(auditctl -s) must say
    C(loginuid_immutable 1) (before C(auditctl -e 2) when the set has both). A failed load is
    rolled back and login uids stay changeable; a rollback never sets it. A set that no longer
    has it (or is removed) while the kernel has it returns RV(reboot_required), with a warning.
  - Every command (C(auditctl), C(augenrules), C(systemctl)) runs with a timeout (30 s for a
    query, 120 s for a load); one that runs out is killed with its process group, and the task
    fails naming it (a load that runs out is rolled back).
  - Temporary files that a killed run left behind (C(/tmp/auditfleet-rules-*.rules),
    C(/tmp/auditfleet-restore-*.rules), C(.audit_rule-*.tmp) in O(rules_dir) and in
    C(/etc/audit)) are removed by the next run, once they are a minute old, with a warning.
  - Hosts differ. With O(inapplicable=skip), rules that cannot apply on this host (a path whose
    directory it lacks, a user or group it does not have, a syscall that its ABI, its auditctl or
    its running kernel lacks) are left out before anything changes, with a warning and a list in
    RV(skipped_rules); a rule that is wrong everywhere (a syntax error, an unknown field, a bad value)
    is still an error. A rule never loses all its syscalls (that would be every syscall); it is
    then left out whole.
  - When the rules are immutable (C(auditctl -s) reports C(enabled 2)) the file is still written
    (it applies at the next boot), nothing is loaded, and RV(reboot_required) and RV(pending)
    say so, with a warning.
  - When the file is already right but the kernel lacks some of its rules (someone ran
    C(auditctl -D)), the rules are loaded again and RV(drift) is true.
  - Without kernel audit (a container without CAP_AUDIT_CONTROL, a kernel without audit) the
    file is still written, nothing is loaded, RV(kernel_audit) is false and the task does not
    fail.
  - Two runs on one host do not interleave; each holds an exclusive lock on
    C(/run/auditfleet-audit_rule.lock) while it decides and acts.
author:
  - auditfleet developers (@auditfleet)
requirements:
  - auditd (audit userspace) on the managed host, with C(auditctl); C(augenrules) where the
    distribution ships it
  - root on the managed host (use C(become))
attributes:
  check_mode:
    support: full
    description: Decides everything (file, load, drift) and changes nothing.
  diff_mode:
    support: full
    description: Shows the rule file before and after, and the kernel's rule list
      (C(auditctl -l)) before and after (predicted in check mode).
  platform:
    support: full
    platforms: posix
    description: Linux with the kernel audit subsystem.
options:
  name:
    description:
      - Name of the rule set; the file is C(<rules_dir>/<priority>-<name>.rules).
      - 1 to 64 characters of C(a-z), C(0-9), C(_) and C(-).
    type: str
    required: true
  priority:
    description:
      - Order prefix of the file (augenrules reads the files in version order, so a lower
        number loads earlier; C(never) rules must come before the rules they exempt from).
      - Files of the same set at another priority (from an earlier run) are removed.
      - Default 50; with O(preset), the number of the sample file (C(30) for
        C(30-stig.rules)).
    type: int
  state:
    description:
      - V(present) writes the file and loads it; V(absent) removes the file (every priority
        of the set) and unloads its rules.
    type: str
    choices: [present, absent]
    default: present
  rules:
    description:
      - The rules of the set, in order. With O(state=present) one of O(rules), O(lines) and
        O(preset) is required (or O(controls) alone).
      - P(auditfleet.auditd.audit_rules_from_text#filter) turns rule-file text into this form.
      - An item with O(rules[].path) is a watch rule; any other item is a syscall rule.
      - A syscall rule with O(rules[].arch=both), or V(auto) on a host whose kernel runs 32-bit
        programs, becomes two lines, one per ABI.
    type: list
    elements: dict
    suboptions:
      syscalls:
        description:
          - Syscall rule. The syscalls to audit (names, or numbers of the rule's ABI, read as
            auditctl reads them - C(0x3e) and C(076) are 62), or V([all]). Left out (or empty)
            on the V(exit) list, the rule is on every syscall, as in auditctl (the usual form of
            rules on a C(path=) or C(dir=) field). Required for V(io_uring) (io_uring operation
            names); not allowed on the other lists.
          - Checked against the syscall table of every ABI the rule applies to, so a syscall
            that one ABI lacks (for example C(socketcall) exists on x86_64 only in the 32-bit
            ABI, C(open) does not exist on aarch64) is reported before anything changes.
        type: list
        elements: str
      key:
        description:
          - Filter key of the rule (C(-F key=) for syscall rules, C(-k) for watches); it is
            written into every record the rule makes, and ausearch and the collection's
            filters select by it.
          - At most 31 bytes; no whitespace, quotes, backslashes or control characters.
          - A list gives the rule several keys (as C(-k) given more than once does).
          - Not allowed on the V(task) and V(exclude) lists, and on the V(user) list only with
            an C(exe) field (auditctl refuses it there).
        type: raw
      action:
        description:
          - Syscall rule. V(always) makes a record when the rule matches, V(never) suppresses
            records (put V(never) rules in a file with a lower priority than the rules they
            exempt from, as the first matching rule wins).
        type: str
        choices: [always, never]
        default: always
      list:
        description:
          - Syscall rule. The kernel filter list. V(exit) (syscall exit, the usual one),
            V(user) (messages from user space), V(exclude) (event types to drop), V(task)
            (at fork/clone), V(filesystem) (whole file systems by C(fstype)), V(io_uring)
            (io_uring operations; needs audit userspace 3.1 or later).
        type: str
        choices: [exit, user, exclude, task, filesystem, io_uring]
        default: exit
      arch:
        description:
          - Syscall rule on the V(exit) list. The ABI (C(-F arch=)) the rule applies to.
          - V(b64) the native 64-bit ABI, V(b32) the 32-bit one, V(both) one line for each.
          - V(auto) is V(b64) plus V(b32) when the kernel runs 32-bit programs (x86_64 with
            CONFIG_IA32_EMULATION, not disabled on the command line; aarch64, ppc64, s390x with
            CONFIG_COMPAT; read from C(/proc/config.gz) or C(/boot/config-<release>); when the
            config cannot be read x86_64 and s390x are assumed to), so that the 32-bit ABI
            cannot be used to slip past a rule. On a 32-bit machine it is V(b32).
          - V(none) writes no C(-F arch) - one rule for every ABI, as auditctl does for a line
            without it. Fine for rules on all syscalls; with named syscalls their numbers are
            those of the native ABI, so a 32-bit program is matched by whatever its syscall of
            that number is (auditctl warns about it). O(lines) without C(-F arch) give V(none).
          - V(b32) and V(both) fail validation on a kernel that does not run 32-bit programs
            (with O(inapplicable=skip), the V(b32) rule is left out instead).
          - Not allowed on watch rules and on lists other than V(exit).
        type: str
        choices: [b64, b32, both, auto, none]
        default: auto
      fields:
        description:
          - Syscall rule. Conditions (C(-F)), all of which must hold, as strings such as
            C(auid>=1000), C(auid!=unset), C(uid=0), C(success=0), C(exe=/usr/bin/x),
            C(dir=/etc), C(path=/etc/shadow), C(perm=wa), C(exit=-EPERM), or as mappings with
            C(name), C(op) (default C(=)) and C(value).
          - Field names are libaudit's (for example C(pid), C(ppid), C(uid), C(euid), C(suid),
            C(fsuid), C(gid), C(egid), C(sgid), C(fsgid), C(auid) (also C(loginuid)),
            C(sessionid), C(pers), C(exit), C(success), C(a0)..C(a3), C(path), C(dir),
            C(perm), C(filetype), C(exe), C(inode), C(devmajor), C(devminor), C(obj_uid),
            C(obj_gid), C(msgtype), C(fstype), C(saddr_fam), C(subj_*), C(obj_*)); C(key) and
            C(arch) have their own options.
          - A mapping with C(name), C(op) and C(field) (instead of C(value)) compares two fields
            (auditctl C(-C)), for example C(name) V(auid), C(op) V(!=), C(field) V(obj_uid) - two of
            C(uid), C(auid), C(euid), C(suid), C(fsuid), C(obj_uid), or two of C(gid), C(egid),
            C(sgid), C(fsgid), C(obj_gid); C(=) or C(!=); exit list only.
          - Operators are auditctl's C(=), C(!=), C(<), C(>), C(<=), C(>=), C(&), C(&=);
            each field takes those the kernel accepts for it (C(&) and C(&=) only on
            C(a0)..C(a3); C(path), C(dir), C(perm) only C(=); strings only C(=) and C(!=)).
          - Values are checked. uids and gids as numbers or names that exist on the host
            (C(unset), C(-1), C(4294967295) only for C(auid) and C(sessionid)); C(success) 0 or
            1; C(perm) any of C(rwxa); C(exit) a number or an errno name such as C(-EACCES);
            C(filetype) one of C(file), C(dir), C(socket), C(link), C(character), C(block),
            C(fifo); paths absolute, without whitespace; numbers as auditctl reads them (C
            C(strtoul) with base 0 - C(0100) is octal 64, C(0x40) hex), whole (C(08) or C(12abc),
            which auditctl would cut to 0 and 12 silently, are refused) and within 32 bits.
        type: list
        elements: raw
      path:
        description:
          - Watch rule (C(-w PATH -p PERMISSIONS -k KEY)). The absolute path of the file or
            directory to watch (a directory is watched recursively). No wildcards, no
            whitespace. A trailing C(/) is dropped, as auditctl does.
          - A watch rule takes only O(rules[].path), O(rules[].permissions) and
            O(rules[].key).
        type: path
      permissions:
        description:
          - Watch rule. Which accesses to record, any of V(r) (read), V(w) (write), V(x)
            (execute), V(a) (attribute change).
        type: str
        default: rwxa
  lines:
    description:
      - The rules of the set as auditctl rule-file text - a string (for example from
        C(lookup('ansible.builtin.file', 'audit.rules'))) or a list of lines. Comments (a line
        starting with C(#)) and blank lines are ignored.
      - Read by the collection's rule-line parser (C(-a), C(-w), C(-F), C(-S), C(-k), C(-p),
        C(-C)) into the same rules as O(rules), then validated, written, loaded and proven the
        same way. A line auditctl would refuse, or would read differently from what it says
        (C(-F arch) after C(-S), C(-S) on a watch, a trailing comment), is an error naming the
        line.
      - Control lines C(-b), C(-f), C(-r), C(--backlog_wait_time), C(--loginuid-immutable) and
        C(-e 2) are the settings of O(controls) (given both ways, the values must agree). C(-D),
        C(-i), C(-c), C(-e 0), C(-e 1), C(-A) and auditctl commands are refused, with a message
        that says where they belong.
      - Mutually exclusive with O(rules) and O(preset).
    type: raw
  preset:
    description:
      - The name of a sample rule file of the host's own audit package, read on the managed host
        and deployed as O(lines) are - V(stig) is C(30-stig.rules), V(ospp-v42), V(pci-dss-v31),
        V(privileged), V(module-load), V(installers), and so on. RV(preset_file) says which file
        was read; the collection carries no copy of any of them.
      - Searched in C(/usr/share/audit-rules) (audit 4 - Fedora, RHEL 10, openSUSE),
        C(/usr/share/audit/sample-rules) (audit 3 - RHEL 8 and 9, SUSE 15),
        C(/usr/share/doc/auditd/examples/audit-rules) (Debian 13),
        C(/usr/share/doc/auditd/examples/rules) (Debian 12, Ubuntu),
        C(/usr/share/doc/audit/rules) and C(/usr/share/doc/audit-*/rules) (audit 2), in this
        order; a C(.rules.gz) file is read too.
      - Not with O(state=absent) (the set's files say what to remove).
      - Mutually exclusive with O(rules) and O(lines).
    type: str
  inapplicable:
    description:
      - What to do with a rule that is right but cannot apply on this host.
      - V(fail) - an error, as for any invalid rule (a user or group the host lacks, a syscall
        its ABI lacks, C(b32) on a kernel without 32-bit programs); a path whose directory is
        missing is refused by the kernel at load time, which is rolled back.
      - V(skip) - left out, decided before anything changes, with a warning and an entry in
        RV(skipped_rules). Checked on the host - C(path=) and watches need their directory,
        C(dir=) its path, C(exe=) its directory (the kernel refuses them otherwise); user and
        group names; each syscall against the collection's table of the rule's ABI, the host's
        auditctl (C(ausyscall --dump)) and the running kernel (the release that brought the
        syscall, confirmed in C(/proc/kallsyms)). A syscall that cannot be audited is left out
        of its rule; a rule left with none is left out whole. If no rule is left, the task
        fails.
    type: str
    choices: [fail, skip]
    default: fail
  controls:
    description:
      - Kernel audit settings the rule file carries, set when it is loaded and proven from
        C(auditctl -s) like the rules (a setting the kernel does not take is rolled back).
      - Another file that sets the same setting after this one (augenrules keeps the last
        C(-b), C(-f) and C(-e); later lines run last) would override it. That is refused before
        anything changes, naming the file. On Debian and Ubuntu the package's
        C(/etc/audit/rules.d/audit.rules) sets C(-b), C(-f) and C(--backlog_wait_time).
      - A rule set may hold only controls (O(rules) empty).
    type: dict
    suboptions:
      buffer_size:
        description: Kernel backlog of audit messages (C(-b)); C(auditctl -s) says C(backlog_limit).
        type: int
      failure_mode:
        description: What the kernel does on a critical audit error (C(-f)).
        type: str
        choices: ["0", "1", "2", silent, printk, panic]
      backlog_wait_time:
        description: How long the kernel waits when the backlog is full (C(--backlog_wait_time)), 0 to 600000.
        type: int
      rate_limit:
        description: Most messages per second (C(-r)); 0 is no limit.
        type: int
      loginuid_immutable:
        description:
          - Make login uids immutable (C(--loginuid-immutable)) once loaded, until the next boot.
            A process's login uid (C(auid), set by C(pam_loginuid) at login and inherited by the
            session, C(sudo) included) is then fixed once set; not even root can change it by
            writing to C(/proc/self/loginuid). It is the "who" of the kill reports.
          - Set with C(auditctl --loginuid-immutable) on its own, only after the rules are loaded
            and proven, and proven by C(auditctl -s) (C(loginuid_immutable 1 locked)); when the
            rules are not all in the kernel, it is not set and the load is rolled back.
          - Refused before anything changes where C(auditctl -s) does not report
            C(loginuid_immutable) (a kernel or auditctl older than the audit features API).
          - V(false) sets nothing; removing the line does not make login uids changeable
            again until the next boot (RV(reboot_required)).
        type: bool
        default: false
      immutable:
        description:
          - Lock the audit configuration (C(-e 2)) once loaded, until the next boot. Nothing can
            change the rules or settings afterwards, this module included (it then writes
            files and reports RV(reboot_required)).
          - The lock is set with C(auditctl -e 2) on its own, only after the rules are loaded
            and proven; when they are not, nothing is locked and the load is rolled back.
          - augenrules puts C(-e) last, whatever file it is in, so at boot the rules load first.
        type: bool
        default: false
  reload:
    description:
      - Load the rules into the kernel after a change (or when the kernel lacks them).
      - V(false) only writes the file; RV(loaded) and RV(missing) still describe the kernel.
    type: bool
    default: true
  backup:
    description:
      - Keep a timestamped copy of the rule file when it is replaced or removed
        (RV(backup_file)), next to it, under a name with a random part that is created
        exclusively (a link planted at a predictable name cannot redirect it).
    type: bool
    default: false
  rules_dir:
    description:
      - The directory of rule files. Change it for tests; with another directory than
        C(/etc/audit/rules.d) the module compiles that directory itself and loads it with
        C(auditctl -R) (augenrules reads only C(/etc/audit/rules.d)).
    type: path
    default: /etc/audit/rules.d
notes:
  - The module needs root; run it with C(become) from a normal account.
  - A rule that another file of O(rules_dir) already has is refused before anything changes;
    auditctl would stop at the duplicate (Rule exists) and every later rule would be left out.
  - The canonical form of RV(missing), RV(pending) and the kernel diff is the line as
    C(auditctl -l) (audit 3.0.9) prints the rule, for example
    C(-a always,exit -F arch=b64 -S kill,tkill,tgkill -F auid>=1000 -F auid!=-1 -F key=kill_rule).
  - auditctl 3.0.9 prints C(exe!=X) as C(exe=X), so the module cannot tell those two apart in the
    kernel's list.
seealso:
  - name: auditctl(8)
    description: The rule syntax this module writes.
    link: https://man7.org/linux/man-pages/man8/auditctl.8.html
  - name: audit.rules(7)
    description: Rule files and how augenrules builds audit.rules.
    link: https://man7.org/linux/man-pages/man7/audit.rules.7.html
"""

EXAMPLES = r"""
- name: Deploy the STIG rules of the host's own audit package, leaving out what cannot apply here
  auditfleet.auditd.audit_rule:
    name: stig
    preset: stig
    inapplicable: skip
  become: true

- name: Deploy a rule file as it is (auditctl syntax)
  auditfleet.auditd.audit_rule:
    name: site
    priority: 40
    lines: "{{ lookup('ansible.builtin.file', 'files/40-site.rules') }}"
    inapplicable: skip
  become: true

- name: The same rules as YAML, converted once
  auditfleet.auditd.audit_rule:
    name: privileged
    rules: "{{ lookup('ansible.builtin.file', 'files/31-privileged.rules') | auditfleet.auditd.audit_rules_from_text }}"
  become: true

- name: Record every signal sent to a process (64-bit and 32-bit ABI), only what this host has
  auditfleet.auditd.audit_rule:
    name: kill_monitoring
    inapplicable: skip
    rules:
      - syscalls: [kill, tkill, tgkill, pidfd_send_signal, rt_sigqueueinfo, rt_tgsigqueueinfo]
        key: kill_rule
  become: true

- name: Watch identity files and record failed opens by logged-in users
  auditfleet.auditd.audit_rule:
    name: identity
    priority: 30
    rules:
      - path: /etc/passwd
        permissions: wa
        key: identity
      - path: /etc/shadow
        permissions: wa
        key: identity
      - syscalls: [openat, truncate, ftruncate]
        fields:
          - auid>=1000
          - auid!=unset
          - exit=-EACCES
          - {name: dir, op: "=", value: /home}
        key: access_denied
  become: true

- name: Only write the file (load later, or at boot)
  auditfleet.auditd.audit_rule:
    name: kill_monitoring
    reload: false
    rules:
      - syscalls: [kill]
        key: kill_rule
  become: true

- name: Make login uids immutable after the rules of the set are loaded and proven
  auditfleet.auditd.audit_rule:
    name: base
    priority: 10
    controls:
      loginuid_immutable: true
  become: true

- name: Remove the rule set and unload its rules
  auditfleet.auditd.audit_rule:
    name: kill_monitoring
    state: absent
  become: true
"""

RETURN = r"""
changed:
  description: The file was (or in check mode would be) written or removed, or the rules were
    (would be) loaded.
  returned: always
  type: bool
msg:
  description: What was done, in one sentence.
  returned: always
  type: str
path:
  description: The rule file of the set.
  returned: always
  type: str
  sample: /etc/audit/rules.d/50-kill_monitoring.rules
rules:
  description: The rule lines of the file, as rendered (without the header line). Empty for
    O(state=absent).
  returned: always
  type: list
  elements: str
  sample:
    - -a always,exit -F arch=b64 -S kill,tkill,tgkill -F key=kill_rule
    - -a always,exit -F arch=b32 -S kill,tkill,tgkill -F key=kill_rule
controls:
  description: The control lines of the file (O(controls)), as rendered.
  returned: always
  type: list
  elements: str
  sample: ["-b 16384", "-f 1"]
loaded:
  description:
    - O(state=present) - every declared rule is in the kernel now (after the load), and every
      setting of O(controls) is what C(auditctl -s) reports.
    - O(state=absent) - none of the set's rules is left in the kernel (rules that other files
      also declare do not count).
    - In check mode it describes the kernel as it is (nothing was loaded).
    - False when kernel audit is not available.
  returned: always
  type: bool
missing:
  description: Declared rules that are not in the kernel, in canonical form (as C(auditctl -l)
    prints them), and settings of O(controls) the kernel does not have (as the file says
    them, for example C(-b 16384)). After a successful load it is empty.
  returned: always
  type: list
  elements: str
still_loaded:
  description: With O(state=absent), rules of the removed set that are still in the kernel.
  returned: when some are
  type: list
  elements: str
drift:
  description: The file was already right but the kernel lacked some of its rules (or still had
    rules removed from the set), so the rules were loaded again; RV(changed) is then true.
  returned: always
  type: bool
reboot_required:
  description: The kernel's rules are immutable (C(enabled 2)); the file is written but the
    change applies only after a reboot. Also true when the set drops
    O(controls.loginuid_immutable) (or is removed) while the kernel has login uids immutable,
    which only a reboot undoes.
  returned: always
  type: bool
pending:
  description: With immutable rules, the rules that apply only at the next boot, in canonical
    form (O(state=present) - declared rules and settings the kernel lacks, such as
    C(--loginuid-immutable); O(state=absent) - the set's rules the kernel still has).
  returned: always
  type: list
  elements: str
kernel_audit:
  description: Kernel audit can be read and configured from here (C(auditctl -s) works). False
    in a container without CAP_AUDIT_CONTROL or on a kernel without audit; the file is written
    anyway and RV(kernel_audit_message) says why nothing was loaded.
  returned: always
  type: bool
kernel_audit_message:
  description: Why kernel audit is not available (the output of C(auditctl -s)).
  returned: when RV(kernel_audit) is false
  type: str
load_method:
  description: How the rules were (or would be) loaded, V(augenrules) (C(augenrules --load) or
    C(systemctl start audit-rules.service)) or V(auditctl) (C(auditctl -R) on the compiled
    rules; also whenever the compiled rules lock the kernel with C(-e 2), as the lock is then
    set on its own after the proof); null when nothing was loaded.
  returned: always
  type: str
  sample: augenrules
backup_file:
  description: The copy of the replaced or removed file, with O(backup=true).
  returned: always (null without a backup)
  type: str
  sample: /etc/audit/rules.d/50-kill_monitoring.rules.2024-01-01@10:00:00.k3x9_q2a~
rolled_back:
  description: Loading failed or left declared rules out, and the previous files and kernel
    rule list were put back. The task fails.
  returned: always
  type: bool
load_error:
  description: What failed during the load, with the line auditctl stopped at, the rules that
    are missing, and the output of augenrules and auditctl.
  returned: when a load failed
  type: str
  sample: "augenrules --load exited 1. auditctl stopped at line 5 of /etc/audit/audit.rules:
    -a always,exit -F arch=b64 -S openat -F dir=/nonexistent -F key=x (from
    /etc/audit/rules.d/50-x.rules). Output: Error sending add rule data request (No such file
    or directory)"
load_output:
  description: rc, stdout, stderr and command of the failed load.
  returned: when a load failed
  type: dict
rollback_error:
  description: What could not be put back during the rollback.
  returned: when the rollback did not fully succeed
  type: str
skipped_rules:
  description:
    - With O(inapplicable=skip), what was left out because it cannot apply on this host, one
      entry per rule, per ABI or per syscall group; empty when nothing was.
  returned: always
  type: list
  elements: dict
  contains:
    where:
      description: The rule - C(line N) of O(lines) or of the preset file, or C(rules[N] (key K)).
      type: str
    rule:
      description: The rule as given (the line of text, or the rule as auditctl would read it).
      type: str
    reason:
      description: Why it cannot apply here.
      type: str
    arch:
      description: The ABI (C(b64), C(b32), or null for a rule without C(-F arch)) whose rule
        this entry is about; absent when the whole rule was left out.
      type: str
    syscalls:
      description: The syscalls left out of the rule. When the reason says the rule is loaded
        with the others, the rule is there without them; else the ABI's rule was left out.
      type: list
      elements: str
  sample:
    - where: line 9
      rule: -a always,exit -F dir=/etc/NetworkManager/ -F perm=wa -F key=system-locale
      reason: "dir=/etc/NetworkManager/: /etc/NetworkManager does not exist on this host (the
        kernel refuses dir= on a missing path)"
    - where: rules[0] (key 'kill_rule')
      rule: -a always,exit -S kill,tkill,tgkill,pidfd_send_signal -F key=kill_rule
      arch: b64
      syscalls: [pidfd_send_signal]
      reason: "left out of the rule, which is loaded with kill,tkill,tgkill (pidfd_send_signal:
        the running kernel (4.18.0-553.el8_10.x86_64) is older than Linux 5.1, which brought it,
        and /proc/kallsyms has no sys_pidfd_send_signal)"
preset_file:
  description: The sample rule file O(preset) was read from, on the managed host.
  returned: always (null without O(preset))
  type: str
  sample: /usr/share/doc/auditd/examples/rules/30-stig.rules
errors:
  description: Every validation problem, one string each.
  returned: when validation failed
  type: list
  elements: str
diff:
  description: With C(--diff), the rule file before and after (and files of the set removed at
    another priority), and the kernel's rule list (C(auditctl -l)) before and after (predicted
    in check mode).
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.auditfleet.auditd.plugins.module_utils._ruleargs import RULE_SOURCES, audit_rule_spec
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import AuditRuleError
from ansible_collections.auditfleet.auditd.plugins.module_utils._ruleset import RuleSetManager


def argument_spec():
    return audit_rule_spec()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[RULE_SOURCES])
    try:
        result = RuleSetManager(module, module.params).run()
    except AuditRuleError as e:
        module.fail_json(msg=e.msg, **e.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
