# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule-line parser: ``auditctl -l`` output, rule files and the ``lines``/``preset``
text, read as auditctl reads them (``parse_rule_line``, ``parse_rule_lines``, ``rules_from_text``)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import re

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import (
    SYSCALLS)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecheck import (
    make_field, _syscall_number, _type_name)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulecontrols import (
    validate_controls)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import (
    HostArch)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import (
    ACTIONS, AuditRuleError, LISTS, PERMS, RawRule, SyscallRule, WatchRule, control_problem,
    make_compare, _ARCH_ALIASES, _Invalid, _OP_RE, _auditctl_reads, _int_of)

# Words that start a line which is not a rule (kernel settings and auditctl commands).
_CONTROL = frozenset(("-D", "-b", "-f", "-e", "-r", "-c", "-i", "-s", "-l", "-q", "-t", "-W",
                      "-d", "--backlog_wait_time", "--loginuid-immutable", "--reset-lost",
                      "--reset_backlog_wait_time_actual", "--signal", "-v", "-m", "-h", "-R"))
# Control lines of rule text that are settings of the `controls` option.
_LINE_CONTROLS = {"-b": "buffer_size", "-f": "failure_mode", "-r": "rate_limit",
                  "--backlog_wait_time": "backlog_wait_time", "-e": "immutable",
                  "--loginuid-immutable": "loginuid_immutable"}
# Control lines of rule text the module refuses, and where they belong instead.
_LINE_REFUSED = {
    "-D": ("deletes every loaded rule. A rule set does not delete the other sets' rules: "
           "augenrules already starts the compiled rules with -D when any file of rules.d has "
           "one (the distribution's base file: audit.rules, or the audit package's "
           "10-base-config.rules), and the role's auditfleet-base set keeps the kernel settings. "
           "Remove the line"),
    "-i": ("makes auditctl ignore every rule that fails to load. audit_rule checks each rule "
           "instead: set inapplicable: skip to leave out (and list in skipped) the rules that "
           "cannot apply on a host; a rule that is wrong everywhere stays an error. Remove the "
           "line"),
    "-c": ("makes auditctl go on past rules that fail to load. audit_rule checks each rule "
           "instead: set inapplicable: skip to leave out (and list in skipped) the rules that "
           "cannot apply on a host. Remove the line"),
    "-A": ("adds the rule at the front of its list; audit_rule loads rules in file order. Use "
           "-a, and give rules that must match first a set with a lower priority"),
}


class _ParsedLine(object):
    """One rule line read by the auditctl grammar (see _read_words).

    kind: watch (-w PATH) or syscall (-a LIST,ACTION); for a watch: path, perms (None when no
    -p), keys, items (-F/-C given with -w); for a syscall rule: action, list, arch (the -F arch
    value or None), syscalls (None without -S), items ([("-F", name, op, value) or ("-C",
    name, op, other) or ("-p", perms)] in order), keys."""

    def __init__(self, kind):
        self.kind = kind
        self.path = self.perms = self.arch = self.syscalls = None
        self.action = self.list = None
        self.items, self.keys = [], []


def _read_words(words, strict=True):
    """The auditctl grammar of one rule line -> _ParsedLine; raise _Invalid on what auditctl
    refuses (as auditctl 3.0.9 says it), and, when strict, also on what it takes silently but
    means something else than it says (-S with -w, arch twice, -p twice, an empty key)."""
    first = words[0]
    if first == "-w":
        if len(words) < 2:
            raise _Invalid("-w needs a path")
        parsed = _ParsedLine("watch")
        parsed.path = words[1]
    elif first in ("-a", "-A"):
        if first == "-A" and strict:
            raise _Invalid("-A %s" % _LINE_REFUSED["-A"])
        if len(words) < 2:
            raise _Invalid("%s needs list,action (for example always,exit)" % first)
        parsed = _ParsedLine("syscall")
        parts = words[1].split(",")
        if len(parts) != 2:
            raise _Invalid("bad keyword %r: %s takes list,action (for example always,exit)"
                           % (words[1], first))
        if parts[0] in ACTIONS:
            parsed.action, parsed.list = parts
        else:
            parsed.list, parsed.action = parts
        if parsed.action not in ACTIONS or parsed.list not in LISTS:
            raise _Invalid("bad keyword %r: the lists are %s, the actions %s"
                           % (words[1], ", ".join(LISTS), ", ".join(ACTIONS)))
    else:
        raise _Invalid("%r does not start a rule (-a, -w)" % first)
    i = 2
    while i < len(words):
        opt = words[i]
        if not opt.startswith("-"):
            if opt.startswith("#"):
                raise _Invalid("a comment must be on a line of its own: auditctl reads %r as "
                               "part of the rule (\"parameter passed without an option given\")"
                               % " ".join(words[i:]))
            raise _Invalid("%r is not an option (\"parameter passed without an option given\")"
                           % opt)
        if opt not in ("-F", "-S", "-k", "-p", "-C"):
            raise _Invalid("option %r is not one of a rule's (-F, -S, -k, -p, -C)" % opt)
        if i + 1 >= len(words):
            raise _Invalid("option %s needs a value" % opt)
        arg = words[i + 1]
        i += 2
        if opt == "-S":
            if parsed.kind == "watch":
                if strict:
                    raise _Invalid("-S %s: a watch (-w) takes no syscalls (auditctl ignores "
                                   "them); use -a always,exit -F path=... -S ..." % arg)
                continue
            parsed.syscalls = (parsed.syscalls or []) + [s for s in arg.split(",") if s]
        elif opt == "-k":
            if strict and parsed.kind == "syscall" and parsed.syscalls is None and not any(
                    it[0] == "-p" or (it[0] == "-F" and it[1] in ("path", "dir", "perm", "exe"))
                    for it in parsed.items):
                raise _Invalid("-k %s comes before any -S or path, dir, perm or exe field "
                               "(\"key option needs a watch or syscall given prior to it\")" % arg)
            parsed.keys.append(arg)
        elif opt == "-p":
            if parsed.kind == "watch":
                if parsed.perms is not None and strict:
                    raise _Invalid("-p is given twice (auditctl keeps only the last)")
                parsed.perms = arg
            else:
                parsed.items.append(("-p", arg))
        elif opt == "-C":
            m = re.match(r"\A([a-z_]+)(=|!=)([a-z_]+)\Z", arg)
            if not m:
                raise _Invalid("-C %r is not of the form field=field or field!=field" % arg)
            parsed.items.append(("-C",) + m.groups())
        else:
            m = _OP_RE.match(arg)
            if not m:
                raise _Invalid("-F %r is not of the form name<op>value" % arg)
            name, op, value = m.groups()
            if name == "key" and op == "=":
                if value:
                    parsed.keys.append(value)
                elif strict:
                    raise _Invalid("-F key= has no key (auditctl ignores it)")
            elif name == "arch" and op == "=" and parsed.kind == "syscall":
                if parsed.syscalls is not None:
                    raise _Invalid("-F arch=%s comes after -S (\"arch must be before -S\")" % value)
                if parsed.arch is not None and strict:
                    raise _Invalid("-F arch is given twice")
                parsed.arch = value
            else:
                parsed.items.append(("-F", name, op, value))
    return parsed


_GARBLED_WATCH = re.compile(r"\A-p ([rwxa]+)-w (\S+)((?: -k \S+)*)\Z")


def _arch_of(value, host):
    """-F arch= value -> b64/b32 (auditctl takes machine names too), else the value."""
    if value in ("b64", "b32"):
        return value
    if value in _ARCH_ALIASES:
        return _ARCH_ALIASES[value] if host.is64 else "b32"
    return value


def parse_rule_line(line, host=None):
    """One rule line (auditctl -l output or a rule file) -> Rule; None for control lines,
    comments and blank lines. Never raises: what it cannot read becomes a RawRule. Names that
    do not resolve here (a user) are kept as text."""
    host = host or HostArch(compat=None)
    text = line.strip()
    if not text or text.startswith("#") or text == "No rules":
        return None
    words = text.split()
    if words[0] in _CONTROL:
        return None
    try:
        m = _GARBLED_WATCH.match(" ".join(words))
        if m:
            # auditctl 3.0.9 lists `-F perm=P -F path=X` (perm first, no arch) this way
            keys = m.group(3).split()[1::2]
            return SyscallRule("always", "exit", None, [], [
                make_field("perm", "=", m.group(1), lenient=True),
                make_field("path", "=", m.group(2), lenient=True)], keys)
        return _rule_of(_read_words(words, strict=False), host)
    except (_Invalid, IndexError, KeyError, ValueError):
        pass
    return RawRule(text)


def _rule_of(parsed, host):
    """A _ParsedLine -> Rule, leniently (auditctl -l output, someone else's rule file)."""
    if parsed.kind == "watch" and not parsed.items:
        if any(c not in PERMS for c in parsed.perms or PERMS):
            raise _Invalid(parsed.perms)
        return WatchRule(parsed.path, parsed.perms or PERMS, parsed.keys)
    fields = []
    list_ = parsed.list or "exit"
    for item in _items_of(parsed):
        if item[0] == "-C":
            fields.append(make_compare(item[1], item[2], item[3], list_=list_))
        else:
            fields.append(make_field(item[1], item[2], item[3], list_=list_, lenient=True))
    arch = _arch_of(parsed.arch, host) if parsed.arch is not None else None
    table = host.table(arch) if arch in (None, "b64", "b32") else None
    numbers = SYSCALLS.get(table, {}) if table else {}
    names = []
    for s in parsed.syscalls or []:
        s = s.lower()
        number = _syscall_number(s)
        if number is not None and number in numbers:
            s = numbers[number]
        if s not in names:
            names.append(s)
    if "all" in names:
        names = ["all"]
    return SyscallRule(parsed.action or "always", list_, arch, names, fields, parsed.keys,
                       table=table)


def _items_of(parsed):
    """The -F/-C items of a parsed line in kernel order; a watch with fields becomes the exit
    rule auditctl makes of it (path= and perm= first), -p on a rule a perm= field."""
    items = []
    if parsed.kind == "watch":
        items = [("-F", "path", "=", parsed.path.rstrip("/") or "/"),
                 ("-F", "perm", "=", parsed.perms or PERMS)]
    for item in parsed.items:
        items.append(("-F", "perm", "=", item[1]) if item[0] == "-p" else item)
    return items


def parse_rule_lines(lines, host=None):
    host = host or HostArch(compat=None)
    out = []
    for line in lines:
        rule = parse_rule_line(line, host)
        if rule is not None:
            out.append(rule)
    return out


def _declared_item(parsed):
    """A _ParsedLine -> one item of the `rules` option that validates into the same kernel
    rule (the form audit_rules_from_text returns)."""
    keys = parsed.keys[0] if len(parsed.keys) == 1 else (list(parsed.keys) or None)
    if parsed.kind == "watch" and not parsed.items:
        item = {"path": parsed.path}
        if parsed.perms is not None:
            item["permissions"] = parsed.perms
    else:
        item = {}
        if parsed.kind == "syscall":
            if parsed.action != "always":
                item["action"] = parsed.action
            if parsed.list != "exit":
                item["list"] = parsed.list
        list_ = parsed.list or "exit"
        if parsed.arch is not None:
            item["arch"] = _ARCH_ALIASES.get(parsed.arch, parsed.arch)
        elif list_ == "exit":
            item["arch"] = "none"
        if parsed.syscalls is not None:
            item["syscalls"] = list(parsed.syscalls)
        fields = []
        for it in _items_of(parsed):
            if it[0] == "-C":
                fields.append({"name": it[1], "op": it[2], "field": it[3]})
            else:
                fields.append("%s%s%s" % it[1:])
        if fields:
            item["fields"] = fields
    if keys is not None:
        item["key"] = keys
    return item


def _text_lines(text, what="lines"):
    """The `lines` option (a string, or a list of strings, one line each) -> [(line number,
    line)]. A rule file's lines end at newlines; every line is checked whole for control
    characters (a carriage return from a CRLF file included)."""
    if isinstance(text, str):
        raw = text.split("\n")
        if raw and raw[-1] == "":
            raw.pop()
    elif isinstance(text, list):
        raw = []
        for n, line in enumerate(text, 1):
            if not isinstance(line, str):
                raise AuditRuleError("%s[%d]: a line must be a string, got %s %r"
                                     % (what, n - 1, _type_name(line), line))
            raw.append(line)
    else:
        raise AuditRuleError("%s must be rule-file text (a string) or a list of lines, got %s"
                             % (what, _type_name(text)))
    return list(enumerate(raw, 1))


RuleText = collections.namedtuple("RuleText", "items labels texts controls control_lines errors")


def rules_from_text(text, what="lines"):
    """Rule-file text (a string or a list of lines, as auditctl -R and augenrules read it) ->
    RuleText(items, labels, texts, controls, control_lines, errors).

    items: the rules in the form of the `rules` option (one per rule line, in order), labels:
    'line N' for each, texts: each source line (stripped), controls: {controls option: value}
    from the -b, -f, -r, --backlog_wait_time, --loginuid-immutable and -e 2 lines
    (control_lines: {option: 'line N (the line)'}), errors: every line that is not
    a rule auditctl would take (naming the line, showing it escaped), and every control line
    that audit_rule refuses (-D, -i, -c, -e 0/1, commands), saying where it belongs. Comments (# at the start of a line) and blank lines are skipped. Values are
    checked later, by validate_rule_set and validate_controls, the same as `rules` are."""
    items, labels, texts, controls, errors, origin = [], [], [], {}, [], {}
    for number, line in _text_lines(text, what):
        where = "line %d" % number
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue    # comments are not written anywhere: a tab in one is fine
        bad = control_problem(line)
        if bad:
            # auditctl splits a rule line at spaces only: a tab would become part of a word
            errors.append("%s: %s" % (where, bad))
            continue
        words = stripped.split()
        head = words[0]
        try:
            if head in _LINE_CONTROLS:
                option, value = _line_control(head, words)
                if option in controls and controls[option] != value:
                    raise _Invalid("%s sets %s again, to another value than %s did (%r): a "
                                   "rule set has one value per setting"
                                   % (stripped, option, origin[option], controls[option]))
                controls[option] = value
                origin.setdefault(option, "%s (%s)" % (where, stripped))
                continue
            if head in _LINE_REFUSED:
                raise _Invalid("%s %s" % (head, _LINE_REFUSED[head]))
            if len(head) > 2 and "--loginuid-immutable".startswith(head):
                raise _Invalid("%s is --loginuid-immutable abbreviated (auditctl takes it so): write "
                               "it in full, the setting controls.loginuid_immutable" % head)
            if head in _CONTROL or (head.startswith("-") and head not in ("-a", "-w")):
                raise _Invalid("%s is an auditctl command, not a line of a rule file" % head)
            items.append(_declared_item(_read_words(words)))
            labels.append(where)
            texts.append(stripped)
        except _Invalid as e:
            errors.append("%s (%s): %s" % (where, stripped, e))
    return RuleText(items, labels, texts, controls, origin, errors)


def _line_control(head, words):
    """A control line -> (option of `controls`, value); raise _Invalid for what the module
    does not set."""
    option = _LINE_CONTROLS[head]
    if head == "--loginuid-immutable":
        if len(words) != 1:
            raise _Invalid("%s takes no value" % head)
        return option, True
    if len(words) != 2:
        raise _Invalid("%s takes one value" % head)
    value = words[1]
    if head == "-e":
        if value != "2":
            raise _Invalid("-e %s: %s; a rule set only locks the configuration (-e 2, "
                           "controls.immutable)" % (value, "auditd enables auditing itself when it "
                                                    "starts" if value == "1" else
                                                    "-e 0 would turn auditing off"))
        return option, True
    number = _int_of(value)
    if number is None or number < 0:
        raise _Invalid("%s %r: the value is not a number 0 or more%s"
                       % (head, value, _auditctl_reads(value)))
    try:
        validate_controls({option: str(number) if option == "failure_mode" else number})
    except AuditRuleError as e:
        raise _Invalid("%s %s: %s" % (head, value, e.msg))
    return option, (str(number) if option == "failure_mode" else number)
