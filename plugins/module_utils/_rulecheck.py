# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of declared rules: the ``rules`` option's items (and the items the rule-line
parser makes of text) -> rule objects of ``_rulemodel``, every problem named with its field
and value; ``inapplicable=skip`` leaves out what cannot apply on the host (``_rulehost``).

Syscall names are checked against the collection's generated tables (``_audit_tables``), the
same data the log parser uses: ``b64`` against the machine's native table, ``b32`` against its
32-bit compat table."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import difflib
import os

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import (
    RULE_FIELDS)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulehost import (
    HostArch)
from ansible_collections.auditfleet.auditd.plugins.module_utils._rulemodel import (
    ACTIONS, ARCH_CHOICES, AuditRuleError, FIELD_ALIASES, FIELD_KINDS, Field, KEYS_MAX_BYTES,
    KEY_MAX_BYTES, LISTS, NAME_MAX, NAME_RE, OPERATORS, PERMS, SyscallRule, WatchRule,
    control_problem, make_compare, normalize_value, _FIELD_DICT_KEYS, _FIELD_ELSEWHERE,
    _Inapplicable, _Invalid, _LIST_FIELDS, _OP_RE, _REL, _SYSCALL_KEYS, _SYSCALL_RE, _WATCH_KEYS,
    _auditctl_reads, _check_text, _int_of)

INAPPLICABLE_CHOICES = ("fail", "skip")


def _label(index, item):
    key = item.get("key") if isinstance(item, dict) else None
    if isinstance(key, list) and key and isinstance(key[0], str):
        key = key[0]
    if isinstance(key, str) and key:
        return "rules[%d] (key %r)" % (index, key)
    return "rules[%d] (no key)" % index


def _suggest(word, choices):
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return " (did you mean %r?)" % close[0] if close else ""


def _type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", dict: "mapping", list: "list"}.get(
        type(value), type(value).__name__)


def check_key(key):
    """The problem with a filter key, or None. Keys go into rule files and log records."""
    if not isinstance(key, str):
        return "key must be a string, got %s %r" % (_type_name(key), key)
    if key == "":
        return "key must not be empty (leave it out for a rule without a key)"
    bad = control_problem(key)
    if bad:
        return "key %s" % bad
    for ch in key:
        if ch.isspace():
            return ("key %r contains whitespace, which would split the rule line (allowed: "
                    "printable characters without whitespace, quotes or backslashes)" % key)
        if ch in "\"'`\\":
            return ("key %r contains a quote or backslash, which auditctl would keep as part "
                    "of the key (allowed: printable characters without whitespace, quotes or "
                    "backslashes)" % key)
    size = len(key.encode("utf-8"))
    if size > KEY_MAX_BYTES:
        return "key %r is %d bytes long: the kernel allows at most %d" % (key, size, KEY_MAX_BYTES)
    return None


def _keys_of(value, where, errors):
    """The `key` option: a string, or a list of strings for a rule with several keys (auditctl
    takes -k more than once) -> [keys]; problems go to ERRORS."""
    if value is None:
        return []
    if isinstance(value, list):
        if not value:
            errors.append("%s: key is an empty list (leave it out for a rule without a key)" % where)
            return []
        values = value
    else:
        values = [value]
    keys = []
    for k in values:
        problem = check_key(k)
        if problem:
            errors.append("%s: %s" % (where, problem))
        elif k in keys:
            errors.append("%s: key %r is given twice" % (where, k))
        else:
            keys.append(k)
    joined = len("\x01".join(keys).encode("utf-8"))
    if joined > KEYS_MAX_BYTES:
        errors.append("%s: the keys %s take %d bytes together: the kernel allows at most %d"
                      % (where, keys, joined, KEYS_MAX_BYTES))
    return keys


def check_name(name):
    """The problem with a rule set name (it becomes part of a file name), or None."""
    bad = control_problem(name) if isinstance(name, str) else None
    if bad:
        return "name %s" % bad
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > NAME_MAX:
        return ("name %r is not allowed: use 1 to %d characters of a-z, 0-9, _ and -"
                % (name, NAME_MAX))
    return None


def parse_field_spec(spec):
    """A `fields` item -> (name, op, value, other).

    A string 'name<op>value' or a mapping with name, op (default =) and value is a -F field
    (other is None); a mapping with name, op and field instead of value is a -C comparison of
    two fields (value is None, other the second field's name). Raises _Invalid with what is wrong.
    """
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in _FIELD_DICT_KEYS]
        if unknown:
            raise _Invalid("field %r has unknown keys %s: a field mapping takes name, op and "
                           "value (or field, to compare two fields)"
                           % (spec, ", ".join(sorted(map(str, unknown)))))
        if "name" not in spec or ("value" in spec) == ("field" in spec):
            raise _Invalid("field %r needs name and value (op defaults to =), or name and field "
                           "to compare two fields" % (spec,))
        name, op = spec["name"], spec.get("op", "=")
        if not isinstance(name, str):
            raise _Invalid("field name must be a string, got %s %r" % (_type_name(name), name))
        if not isinstance(op, str):
            raise _Invalid("field %r: op must be a string, got %s %r" % (name, _type_name(op), op))
        if "field" in spec:
            other = spec["field"]
            if not isinstance(other, str):
                raise _Invalid("field %r: field (the one compared with) must be a field name, "
                               "got %s %r" % (name, _type_name(other), other))
            return name, op, None, other
        value = spec["value"]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise _Invalid("field %r: value must be a string or an integer, got %s %r"
                           % (name, _type_name(value), value))
        for part, text in (("name", name), ("op", op), ("value", str(value))):
            bad = control_problem(text)
            if bad:
                raise _Invalid("field %r: %s %s" % (spec, part, bad))
        if op not in OPERATORS:
            raise _Invalid("field %r: operator %r is not one of auditctl's: %s"
                           % (name, op, " ".join(OPERATORS)))
        return name, op, str(value), None
    if not isinstance(spec, str):
        raise _Invalid("field %r must be a string such as 'auid>=1000' or a mapping with "
                       "name, op and value, got %s" % (spec, _type_name(spec)))
    bad = control_problem(spec)
    if bad:
        raise _Invalid("field %s" % bad)
    text = spec.strip()
    m = _OP_RE.match(text)
    if not m:
        raise _Invalid("field %r is not of the form name<op>value with op one of %s"
                       % (spec, " ".join(OPERATORS)))
    name, op, value = m.groups()
    if op not in OPERATORS:
        raise _Invalid("field %r: operator %r is not one of auditctl's: %s"
                       % (spec, op, " ".join(OPERATORS)))
    return name, op, value, None


def make_field(name, op, text, list_=None, lenient=False):
    """Validate one field -> Field, or raise _Invalid naming the field, value and what is
    allowed (_Inapplicable when the value is right but this host lacks it: a user name)."""
    label = "%s%s%s" % (name, op, text)
    name = FIELD_ALIASES.get(name, name)
    if name in _FIELD_ELSEWHERE:
        raise _Invalid("field %r: %s" % (label, _FIELD_ELSEWHERE[name]))
    if name not in RULE_FIELDS and name not in FIELD_KINDS:
        known = sorted(set(RULE_FIELDS) - set(_FIELD_ELSEWHERE)) + sorted(FIELD_ALIASES)
        raise _Invalid("field %r: unknown field name %r%s; known fields: %s"
                       % (label, name, _suggest(name, known), ", ".join(known)))
    kind, ops = FIELD_KINDS.get(name, ("raw", _REL))
    if op not in ops:
        raise _Invalid("field %r: operator %r is not allowed for %s (allowed: %s)"
                       % (label, op, name, " ".join(ops)))
    if list_ is not None and not lenient:
        if list_ in _LIST_FIELDS:
            allowed, what = _LIST_FIELDS[list_]
            if name not in allowed:
                raise _Invalid("field %r: %s cannot be used on the %s list (allowed there: %s)"
                               % (label, name, list_, what))
        elif name in ("msgtype",):
            raise _Invalid("field %r: msgtype can only be used on the user and exclude lists"
                           % label)
        elif name == "fstype":
            raise _Invalid("field %r: fstype can only be used on the filesystem list" % label)
        elif name == "perm" and list_ == "io_uring":
            raise _Invalid("field %r: the kernel refuses perm on the io_uring list" % label)
    try:
        value, rendered = normalize_value(kind, name, text, lenient=lenient)
    except _Invalid as e:
        if not lenient:
            raise type(e)("field %r: %s value %s" % (label, name, e))
        value, rendered = ("raw", text), text
    return Field(name, op, rendered, value, kind)


def _syscall_number(name):
    """A syscall given as a number (auditctl reads it with base 0: 0x3e is 62, 076 is 62)."""
    return _int_of(name) if name[:1].isdigit() else None


def _check_syscalls(names, arches, host, errors, where, skip=False):
    """Validate syscall names for every arch of a rule.

    Returns ({arch: names normalised (lowercase, numbers turned into names, deduplicated)},
    {arch: [(name, why it is left out)]}). Without skip, a name unknown to every arch is
    reported (to ERRORS) once, one unknown to some arches once per arch. With skip, a name that
    the collection's table of an arch, the host's auditctl (host.auditctl_syscalls) or the
    running kernel lacks is left out of that arch's rule instead.
    """
    out = dict((arch, []) for arch in arches)
    dropped = dict((arch, []) for arch in arches)
    if "all" in [str(n).strip().lower() for n in names]:
        if len(names) > 1:
            errors.append("%s: syscalls: 'all' must be alone (it already means every syscall)"
                          % where)
        return dict((arch, ["all"]) for arch in arches), dropped
    for raw in names:
        name = str(raw).strip().lower()
        if not _SYSCALL_RE.match(name):
            errors.append("%s: syscalls: %r is not a syscall name (names are a-z, 0-9 and _)"
                          % (where, raw))
            continue
        number = _syscall_number(name)
        if name[:1].isdigit() and number is None:
            errors.append("%s: syscalls: %r is not a syscall name or number (numbers are "
                          "decimal, octal with a leading 0, or hex)%s"
                          % (where, raw, _auditctl_reads(name)))
            continue
        if number is not None and len(arches) > 1:
            errors.append("%s: syscalls: number %s means a different syscall in each ABI (%s); "
                          "use the name, or one arch per rule" % (where, name, " and ".join(arches)))
            continue
        unknown = []
        for arch in arches:
            table = host.syscall_names(arch)
            if number is not None:
                resolved = table.get(number)
            else:
                resolved = name if name in table.values() else None
            if resolved is None:
                unknown.append(arch)
                if skip:
                    dropped[arch].append((name, "not a syscall of arch %s on %s (%s table)"
                                          % (arch or "(none: the native ABI)", host.machine,
                                             host.table(arch))))
                continue
            lack = host.syscall_lack(resolved, arch) if skip else None
            if lack:
                dropped[arch].append((resolved, lack))
            elif resolved not in out[arch]:
                out[arch].append(resolved)
        if not unknown or skip:
            continue
        tables = ", ".join("%s: %s table" % (a or "no arch", host.table(a)) for a in unknown)
        what = " or ".join(a or "(none)" for a in unknown)
        if number is not None:
            errors.append("%s: syscalls: number %s is not a syscall of arch %s on %s (%s)"
                          % (where, name, what, host.machine, tables))
            continue
        hint = _suggest(name, host.syscall_names(unknown[0]).values())
        known = [a for a in ("b64", "b32") if a not in unknown and host.table(a)
                 and name in host.syscall_names(a).values()]
        if known and None not in unknown:
            hint += ("; only the %s ABI has it: set arch: %s on this rule (and give the %s ABI "
                     "its own rule)" % (known[0], known[0], what))
        errors.append("%s: syscalls: %r is not a syscall of arch %s on %s (%s)%s"
                      % (where, raw, what, host.machine, tables, hint))
    return out, dropped


def _path_lack(field_name, path, host):
    """Why the kernel would refuse a rule on PATH here (ENOENT, ENOTDIR), or None.

    Measured (Linux 6.x): a watch (-w, path=) or exe= needs the directory that holds the path;
    dir= needs the path itself; -w on an existing directory watches its tree like dir=."""
    path = path.rstrip("/") or "/"
    parent = os.path.dirname(path) or "/"
    if field_name == "dir":
        if not host.exists(path):
            return "%s does not exist on this host (the kernel refuses dir= on a missing path)" % path
        return None
    if field_name == "watch" and host.isdir(path):
        return None
    if not host.isdir(parent):
        what = {"exe": "exe=", "path": "path=", "watch": "a watch"}[field_name]
        return ("the directory %s does not exist on this host (the kernel refuses %s on a path "
                "whose directory is missing)" % (parent, what))
    return None


class _Problems(object):
    """What validating one rule found: errors (wrong everywhere), lacks (the rule cannot apply
    on this host: the whole rule) and drops (parts of the rule left out on this host: syscalls,
    or the rule of one ABI: {arch, reason[, syscalls]})."""

    def __init__(self, where, skip):
        self.where, self.skip = where, skip
        self.errors, self.lacks, self.drops = [], [], []

    def error(self, text):
        self.errors.append("%s: %s" % (self.where, text))

    def lack(self, text):
        self.lacks.append("%s: %s" % (self.where, text))


def _validate_watch(item, host, p):
    where = p.where
    bad = [k for k in item if k not in _WATCH_KEYS]
    conflicts = [k for k in bad if k in _SYSCALL_KEYS]
    if conflicts:
        p.error("a watch rule (path) cannot have %s: a watch takes only path, permissions and "
                "key (use a syscall rule with a path= or dir= field for more)"
                % ", ".join(sorted(conflicts)))
    for k in sorted(set(bad) - set(conflicts)):
        p.error("unknown option %r%s; a watch rule takes path, permissions, key"
                % (k, _suggest(k, _WATCH_KEYS)))
    path = item.get("path")
    ok = True
    if not isinstance(path, str):
        p.error("path must be a string, got %s %r" % (_type_name(path), path))
        ok = False
    else:
        try:
            _check_text(path, "path", absolute=True)
        except _Invalid as e:
            p.error("path %s" % e)
            ok = False
        else:
            if any(c in path for c in "*?["):
                p.error("path %r has a wildcard: auditctl does not expand them (a watch is on "
                        "one file or directory)" % path)
                ok = False
    perms = item.get("permissions", PERMS)
    if not isinstance(perms, str) or not perms or any(c not in PERMS for c in perms):
        p.error("permissions %r is not allowed: use any of r, w, x, a (e.g. wa)" % (perms,))
        ok = False
    keys = _keys_of(item.get("key"), where, p.errors)
    if p.errors or not ok:
        return []
    if p.skip:
        lack = _path_lack("watch", path, host)
        if lack:
            p.lack("path %s" % lack)
            return []
    return [WatchRule(path, perms, keys)]


def _validate_syscall_rule(item, host, p, auditctl_version):
    where = p.where
    for k in sorted(k for k in item if k not in _SYSCALL_KEYS):
        if k in ("permissions",):
            p.error("permissions belongs to a watch rule (with path); a syscall rule takes a "
                    "perm= field")
        else:
            p.error("unknown option %r%s; a syscall rule takes %s, a watch rule %s"
                    % (k, _suggest(k, _SYSCALL_KEYS + _WATCH_KEYS),
                       ", ".join(_SYSCALL_KEYS), ", ".join(_WATCH_KEYS)))

    def choice(opt, choices, default):
        value = item.get(opt)
        if value is None:
            return default
        if not isinstance(value, str) or value not in choices:
            p.error("%s %r is not allowed: use one of %s" % (opt, value, ", ".join(choices)))
            return None
        return value

    action = choice("action", ACTIONS, "always")
    list_ = choice("list", LISTS, "exit")
    arch_choice = choice("arch", ARCH_CHOICES, "auto" if list_ == "exit" else None)
    if list_ is not None and list_ != "exit" and item.get("arch") is not None:
        p.error("arch %r: only rules of the exit list take arch (list is %s)"
                % (item.get("arch"), list_))
        arch_choice = None

    syscalls = item.get("syscalls")
    syscalls_ok = True
    if syscalls is not None and not isinstance(syscalls, list):
        p.error("syscalls must be a list of syscall names, got %s %r"
                % (_type_name(syscalls), syscalls))
        syscalls_ok = False
    elif syscalls:
        for s in syscalls:
            if isinstance(s, bool) or not isinstance(s, (str, int)):
                p.error("syscalls: %r is a %s, not a syscall name" % (s, _type_name(s)))
                syscalls_ok = False
                break
            bad = control_problem(s) if isinstance(s, str) else None
            if bad:
                p.error("syscalls: %s" % bad)
                syscalls_ok = False
                break
    if list_ is not None and syscalls_ok:
        if list_ == "io_uring" and not syscalls:
            p.error("syscalls is empty: a rule of the io_uring list needs at least one "
                    "operation (use [all] for every one)")
        elif list_ not in ("exit", "io_uring") and syscalls:
            p.error("syscalls %s: the %s list does not take syscalls (only exit and io_uring "
                    "rules do)" % (syscalls, list_))

    keys = _keys_of(item.get("key"), where, p.errors)

    raw_fields = item.get("fields") or []
    if not isinstance(raw_fields, list):
        p.error("fields must be a list (of 'name<op>value' strings or name/op/value mappings), "
                "got %s %r" % (_type_name(raw_fields), raw_fields))
        raw_fields = []
    fields = []
    for spec in raw_fields:
        try:
            name, op, text, other = parse_field_spec(spec)
            if other is not None:
                fields.append(make_compare(name, op, other, list_=list_))
            else:
                fields.append(make_field(name, op, text, list_=list_))
        except _Inapplicable as e:
            p.lack(str(e))
        except _Invalid as e:
            p.error(str(e))
    names = [f.name for f in fields if f.flag == "-F"]
    for once in ("exe", "perm"):
        if names.count(once) > 1:
            p.error("fields: %s can be used only once in a rule" % once)
    if names.count("path") + names.count("dir") > 1:
        p.error("fields: a rule can watch one path= or dir= only")
    if list_ == "filesystem" and "fstype" not in names:
        p.error("a rule of the filesystem list needs an fstype field (e.g. fstype=debugfs)")
    if list_ in ("user", "exclude") and not raw_fields:
        p.error("a rule of the %s list without fields would match every %s; give at least one "
                "field (e.g. msgtype=CWD)"
                % (list_, "user-space message" if list_ == "user" else "event"))
    if keys and list_ in ("task", "exclude"):
        p.error("key %r: auditctl refuses a key on the %s list" % (keys[0], list_))
    if keys and list_ == "user" and "exe" not in names:
        p.error("key %r: auditctl accepts a key on the user list only after an exe field" % keys[0])
    if keys and list_ == "exit" and syscalls_ok and not syscalls and not (
            set(names) & set(("path", "dir", "exe", "perm"))):
        p.error("key %r: auditctl refuses a key on an exit rule without syscalls and without a "
                "path=, dir=, perm= or exe= field (\"Key field needs a watch, syscall or exe path "
                "given prior to it\"): give syscalls (syscalls: [all] for every one) or such a "
                "field" % keys[0])
    if list_ == "io_uring":
        if auditctl_version is not None and auditctl_version < (3, 1):
            p.lack("list io_uring needs audit userspace 3.1 or later; this host has auditctl %s"
                   % ".".join(map(str, auditctl_version)))
        elif auditctl_version is None:
            p.error("list io_uring needs audit userspace 3.1 or later, and the auditctl version "
                    "of this host is unknown")

    arches = [None]
    if list_ == "exit" and arch_choice not in (None, "none"):
        if not host.known:
            p.error("this machine (%s) has no syscall table in the collection, so its syscall "
                    "rules cannot be checked" % host.machine)
            arches = []
        else:
            try:
                arches = host.arches(arch_choice)
            except _Invalid as e:
                if p.skip and arch_choice == "both" and host.is64:
                    arches = ["b64"]
                    p.drops.append({"arch": "b32", "reason": "arch both: %s" % e})
                else:
                    p.lack("arch %s: %s" % (arch_choice, e))
                    arches = []
    elif list_ == "exit" and arch_choice == "none" and syscalls and not host.known:
        p.error("this machine (%s) has no syscall table in the collection, so its syscall "
                "rules cannot be checked" % host.machine)
    if p.errors:
        return []
    if p.skip:
        for f in fields:
            if f.flag == "-F" and f.name in ("path", "dir", "exe") and f.op == "=":
                lack = _path_lack(f.name, f.text, host)
                if lack:
                    p.lack("%s=%s: %s" % (f.name, f.text, lack))
    if p.lacks:
        return []
    by_arch, dropped = {}, {}
    if syscalls and list_ == "exit":
        by_arch, dropped = _check_syscalls(syscalls, arches, host, p.errors, where, skip=p.skip)
    rules = []
    for arch in arches:
        names_for_arch = by_arch.get(arch, [])
        gone = dropped.get(arch) or []
        if gone:
            left_out = [n for n, why in gone]
            reasons = "; ".join("%s: %s" % (n, why) for n, why in gone)
            if not names_for_arch:
                # never a rule without syscalls: on the exit list that would be every syscall
                p.drops.append({"arch": arch, "syscalls": left_out,
                                "reason": "none of its syscalls can be audited here (%s)" % reasons})
                continue
            p.drops.append({"arch": arch, "syscalls": left_out,
                            "reason": "left out of the rule, which is loaded with %s (%s)"
                            % (",".join(names_for_arch), reasons)})
        if syscalls and list_ == "io_uring":
            for s in syscalls:
                s = str(s).strip().lower()
                if not _SYSCALL_RE.match(s):
                    p.error("syscalls: %r is not an io_uring operation name" % s)
                elif s not in names_for_arch:
                    names_for_arch.append(s)
        rules.append(SyscallRule(action, list_, arch, names_for_arch, fields, keys,
                                 table=host.table(arch) if list_ == "exit" else None))
    if p.errors:
        return []
    return rules


def _item_text(item):
    """A declared rule as a rule line, for `skipped` (best effort: the item may be invalid)."""
    if not isinstance(item, dict):
        return repr(item)
    keys = item.get("key")
    keys = keys if isinstance(keys, list) else ([keys] if keys is not None else [])
    if "path" in item:
        return " ".join(["-w", str(item.get("path")), "-p", str(item.get("permissions", PERMS))]
                        + ["-k %s" % k for k in keys])
    parts = ["-a", "%s,%s" % (item.get("action", "always"), item.get("list", "exit"))]
    if item.get("arch") not in (None, "none"):
        parts.append("-F arch=%s" % item["arch"])
    if item.get("syscalls"):
        parts.append("-S %s" % ",".join(map(str, item["syscalls"])))
    for spec in item.get("fields") or []:
        if isinstance(spec, dict) and "field" in spec:
            parts.append("-C %s%s%s" % (spec.get("name"), spec.get("op", "="), spec.get("field")))
        elif isinstance(spec, dict):
            parts.append("-F %s%s%s" % (spec.get("name"), spec.get("op", "="), spec.get("value")))
        else:
            parts.append("-F %s" % (spec,))
    parts.extend("-F key=%s" % k for k in keys)
    return " ".join(parts)


def validate_rule_set(items, host=None, auditctl_version=None, inapplicable="fail",
                      labels=None, texts=None):
    """Declared rules (the module's `rules` option, or the items of rule text) -> (expanded
    Rule objects, skipped).

    Each item becomes one rule, or one per ABI for syscall rules (arch both/auto). Raises
    AuditRuleError listing every problem found, each naming the rule (LABELS, else its index
    and key), the option or field, the value and what is allowed.

    inapplicable: what to do with a rule that is right but cannot apply on this host (a user or
    group it does not have, a syscall its ABI lacks, b32 on a kernel without 32-bit programs,
    the io_uring list with an old auditctl; with skip also a path whose directory is missing,
    a syscall the host's auditctl or running kernel lacks). fail: an error, as above. skip: the
    rule (or the syscalls, or the ABI's rule, it cannot have) is left out and listed in
    skipped (the module's skipped_rules), each entry {where, rule, reason[, arch][, syscalls]}; a rule never loses all its
    syscalls (that would be every syscall): then the rule itself is left out. TEXTS: the source
    line of each item, shown as its rule in skipped.
    """
    host = host or HostArch()
    skip = inapplicable == "skip"
    errors = []
    skipped = []
    if not isinstance(items, list):
        raise AuditRuleError("rules must be a list of rule mappings, got %s"
                             % _type_name(items), errors=["rules: not a list"])
    out = []
    origin = []
    for index, item in enumerate(items):
        where = labels[index] if labels else _label(index, item)
        if not isinstance(item, dict):
            errors.append("%s: a rule must be a mapping (with syscalls or path), got %s %r"
                          % (where, _type_name(item), item))
            continue
        p = _Problems(where, skip)
        if "path" in item:
            rules = _validate_watch(item, host, p)
        else:
            rules = _validate_syscall_rule(item, host, p, auditctl_version)
        if p.errors:
            errors.extend(p.errors)
            continue
        text = texts[index] if texts else _item_text(item)
        if p.lacks:
            if skip:
                skipped.append({"where": where, "rule": text,
                                "reason": "; ".join(x[len(where) + 2:] for x in p.lacks)})
            else:
                errors.extend(p.lacks)
            continue
        for drop in p.drops:
            entry = {"where": where, "rule": text}
            entry.update(drop)
            skipped.append(entry)
        for rule in rules:
            out.append(rule)
            origin.append(where)
    seen = {}
    for rule, where in zip(out, origin):
        c = rule.canon()
        if c in seen and seen[c] != where:
            errors.append("%s: it is the same kernel rule as %s (%s); auditctl would refuse the "
                          "second one (Rule exists)" % (where, seen[c], rule.listing()))
        seen.setdefault(c, where)
    if errors:
        raise AuditRuleError(_error_summary(errors), errors=errors)
    unique = []
    done = set()
    for rule in out:
        if rule.canon() not in done:
            done.add(rule.canon())
            unique.append(rule)
    return unique, skipped


def validate_rules(items, host=None, auditctl_version=None):
    """validate_rule_set with inapplicable=fail: the expanded Rule objects."""
    return validate_rule_set(items, host, auditctl_version)[0]


def _error_summary(errors):
    if len(errors) == 1:
        return "invalid rule: %s" % errors[0]
    return "%d problems in the declared rules: %s" % (len(errors), "; ".join(errors))
