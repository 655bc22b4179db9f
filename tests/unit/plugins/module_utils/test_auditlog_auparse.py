"""The parser against libauparse (python3-audit, run by /usr/bin/python3 where it is installed):
the same events, records and field values, with the differences listed in docs/parser.md
("Compared with auparse") and nothing else.

Compared on:
- logs that the real kernel and auditd of this machine write during the test: kills (kill,
  tkill, tgkill), execve with odd arguments (spaces, quotes, tabs, non-ASCII: hex EXECVE and
  PROCTITLE), opens that fail (ENOENT, EACCES), user messages (auditctl -m, ASCII only), and the
  daemon's own records, once in the log_format auditd.conf has (ENRICHED, auditd 3's default,
  on this machine) and once in the other (auditd.conf switched and auditd restarted, then
  both put back);
- the minimal lines of issue 9, the hand-written shapes of fixtures/shapes and the lines of
  test_auditlog_conformance.py.
"""
import collections
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import MACHINES, SYSCALLS
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    KEY_RECORD_TYPES, ParseStats, parse_events)
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports
from tests.lib import liveaudit
from tests.lib.auditlock import audit_test_lock
from tests.unit.plugins.module_utils.test_auditlog_conformance import hand_written_logs

SYSTEM_PYTHON = "/usr/bin/python3"
SHAPES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "shapes")

# The minimal lines of issue 9 (its text; "..." filled in with made-up values).
ISSUE_9 = {
    "eoe-after-proctitle": [
        'type=SYSCALL msg=audit(1700000000.100:42): arch=c000003e syscall=62 success=yes exit=0 a0=3e8 a1=9 '
        'a2=0 a3=0 items=0 ppid=1 pid=20 auid=1001 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 '
        'tty=pts0 ses=3 comm="kill" exe="/usr/bin/kill" key="kill_rule"',
        'type=PROCTITLE msg=audit(1700000000.100:42): proctitle=6B696C6C002D390031303030',
        'type=EOE msg=audit(1700000000.100:42): '],
    "anom-promiscuous": [
        'type=ANOM_PROMISCUOUS msg=audit(1708689989.768:339749193): dev=veth5f40f62 prom=256 old_prom=0 '
        'auid=4294967295 uid=0 gid=0 ses=4294967295',
        'type=SYSCALL msg=audit(1708689989.768:339749193): arch=c000003e syscall=44 success=yes exit=32 a0=3 '
        'a1=7ffc0000 a2=20 a3=0 items=0 ppid=1 pid=512 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 '
        'egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="netd" exe="/usr/sbin/netd" key=(null)',
        'type=SOCKADDR msg=audit(1708689989.768:339749193): saddr=100000000000000000000000'],
    "audit-1x": [
        "type=USER_START msg=audit(1100000000.250:88): user pid=2345 uid=0 auid=500 msg='PAM: session open "
        "acct=root : exe=\"/bin/su\" (hostname=?, addr=?, terminal=pts/1 res=success)'"],
    "daemon-no-colon": [
        'type=DAEMON_CONFIG msg=audit(1490239800.477:34) config changed, auid=0 pid=1512 res=success'],
    "avc-sysv-key": [
        'type=AVC msg=audit(1700000000.100:9): avc:  denied  { associate } for  pid=20 comm="ipcs" '
        'key=1291864389 scontext=u:r:t:s0 tcontext=u:r:t:s0 tclass=sem permissive=0'],
}

# --- the comparison -----------------------------------------------------------------------

# Run by /usr/bin/python3 with python3-audit: every event of each file, as JSON.
AUPARSE_DUMP = r'''
import json, sys
import auparse
out = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "surrogateescape")
    au = auparse.AuParser(auparse.AUSOURCE_BUFFER, text)
    events = []
    while au.parse_next_event():
        ts = au.get_timestamp()
        event = {"id": "%d.%03d:%d" % (ts.sec, ts.milli, ts.serial), "host": ts.host, "records": []}
        au.first_record()
        while True:
            try:
                name = au.get_type_name()
            except LookupError:
                name = "UNKNOWN[%d]" % au.get_type()
            fields = []
            if au.first_field():
                while True:
                    try:
                        interp = au.interpret_field()
                    except UnicodeDecodeError:
                        interp = None
                    fields.append([au.get_field_name(), au.get_field_str(), interp])
                    if not au.next_field():
                        break
            event["records"].append({"type": name, "fields": fields})
            if not au.next_record():
                break
        events.append(event)
    out[path] = events
json.dump(out, sys.stdout)
'''


def _auparse_present():
    try:
        res = subprocess.run([SYSTEM_PYTHON, "-c", "import auparse"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=False, timeout=60)
    except OSError:
        return False
    return res.returncode == 0


needs_auparse = pytest.mark.skipif(
    not _auparse_present(), reason="libauparse's Python bindings (python3-audit) are not installed "
    "for /usr/bin/python3: the differential test needs them")

# Types that auparse 3.0.x ends an event with, where the records of the same event follow
# (docs/parser.md): its groups of the same id are joined again before comparing.
AUPARSE_SPLITS_AFTER = frozenset(["LOGIN"] + ["MAC_%s" % t for t in (
    "UNLBL_ALLOW", "CIPSOV4_ADD", "CIPSOV4_DEL", "MAP_ADD", "MAP_DEL", "IPSEC_ADDSA", "IPSEC_DELSA",
    "IPSEC_ADDSPD", "IPSEC_DELSPD", "IPSEC_EVENT", "UNLBL_STCADD", "UNLBL_STCDEL", "CALIPSO_ADD",
    "CALIPSO_DEL")])
NULLS = ("(null)", "(none)", "?", "", '"(null)"', "4294967295", "-1")
HEX = re.compile(r"[0-9A-Fa-f]+\Z")


def _joined(events):
    """auparse's events, the parts of one it split after AUPARSE_SPLITS_AFTER joined (the
    part that comes next with the same id, not always the next event: auparse hands events
    out in time order)."""
    out, split = [], {}
    for event in events:
        key = (event["host"], event["id"])
        first = split.pop(key, None)
        if first is not None:
            first["records"].extend(event["records"])
            event = first
        else:
            out.append(event)
        if event["records"][-1]["type"] in AUPARSE_SPLITS_AFTER:
            split[key] = event
    return out


def _split_quote(raw):
    """A piece of a quoted value with spaces: auparse splits fields at every space."""
    return raw[:1] == '"' and (len(raw) == 1 or raw[-1:] != '"')


def _octal_escaped(value):
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: "\\%03o" % ord(m.group()), value)


def _same_value(ours, raw, interp, name):
    if ours is None:
        return raw in NULLS or interp == "unset"
    if isinstance(ours, bool):
        return False
    if isinstance(ours, int):
        try:
            return int(raw) == ours
        except ValueError:
            return False
    if isinstance(ours, list):  # proctitle; auparse shows control characters as \ooo (docs/parser.md)
        return _octal_escaped(" ".join(ours)) == interp or ours == [raw.strip('"')]
    if ours in (raw, raw.strip('"'), interp):
        return True
    if HEX.match(raw) and not len(raw) & 1:  # hex: auparse shows control characters escaped
        return ours == bytes.fromhex(raw).decode("utf-8", "backslashreplace")
    return False


def _compare_event(where, ours, theirs, problems):
    mine = collections.defaultdict(list)
    for record in ours["records"]:
        mine[record["type"]].append(record)
    keys = []
    for record in theirs["records"]:
        rtype = record["type"]
        if not mine[rtype]:
            problems.append("%s: no %s record" % (where, rtype))
            continue
        got = mine[rtype].pop(0)
        fields, enriched = got["fields"], got["enriched"]
        values = collections.OrderedDict()
        for name, raw, interp in record["fields"]:
            if name in ("type", "node"):
                continue
            if name == "key":
                # auparse keeps a key= that starts with "(" as it is (a null key)
                if rtype in KEY_RECORD_TYPES and raw not in NULLS and raw[:1] != "(":
                    keys.append(raw.strip('"'))
                continue
            values.setdefault(name, []).append((raw, interp))
        for name, seen in values.items():
            if all(_split_quote(raw) for raw, _i in seen):
                continue
            if name not in fields:
                problems.append("%s %s: no field %s (auparse: %r)" % (where, rtype, name, seen))
                continue
            # a name that repeats: ours keeps the last, auparse finds the first
            if not any(_same_value(fields[name], raw, interp, name) for raw, interp in (seen[0], seen[-1])):
                problems.append("%s %s.%s: ours %r, auparse %r" % (where, rtype, name, fields[name], seen))
            elif enriched.get(name.upper()) is not None and seen[0][1] is not None \
                    and name != "saddr" and enriched[name.upper()] != seen[0][1]:
                problems.append("%s %s.%s: ENRICHED %r, auparse %r" % (
                    where, rtype, name, enriched[name.upper()], seen[0][1]))
        extra = [n for n in fields if n not in values and n != "key" and not (n == "msg" and rtype.startswith("USER"))]
        if extra:
            problems.append("%s %s: fields auparse does not have: %s" % (where, rtype, extra))
        if rtype == "SYSCALL":
            interp = dict((n, i) for n, _r, i in record["fields"])
            raw = dict((n, r) for n, r, _i in record["fields"])
            if not interp.get("syscall", "").startswith("unknown") and ours["syscall"] != interp.get("syscall"):
                problems.append("%s syscall: ours %r, auparse %r" % (where, ours["syscall"], interp.get("syscall")))
            if not interp.get("arch", "").startswith("unknown") and ours["arch"] != interp.get("arch"):
                problems.append("%s arch: ours %r, auparse %r" % (where, ours["arch"], interp.get("arch")))
            if "exit" in raw and ours["exit"] != int(raw["exit"]):
                problems.append("%s exit: ours %r, auparse %r" % (where, ours["exit"], raw["exit"]))
            if "success" in raw and ours["success"] != (raw["success"] == "yes"):
                problems.append("%s success: ours %r, auparse %r" % (where, ours["success"], raw["success"]))
    for key in keys:
        if key not in ours["keys"]:
            problems.append("%s: key %r not among %r" % (where, key, ours["keys"]))
    return len(theirs["records"])


def auparse_events(texts, tmp_path):
    """{name: auparse's events} of the logs {name: text}."""
    paths = {}
    for index, (name, data) in enumerate(sorted(texts.items())):
        path = tmp_path / ("log%03d" % index)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape"))
        paths[name] = str(path)
    res = subprocess.run([SYSTEM_PYTHON, "-c", AUPARSE_DUMP] + list(paths.values()), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True, timeout=600)
    dumped = json.loads(res.stdout.decode())
    return dict((name, dumped[path]) for name, path in paths.items())


def compare(texts, tmp_path):
    """Problems found comparing ours with auparse on the logs {name: text}; and the number of
    events and records compared."""
    dumped = auparse_events(texts, tmp_path)
    problems = []
    events_total = compared = 0
    for name, data in sorted(texts.items()):
        theirs = _joined(dumped[name])
        ours = list(parse_events(data))
        shape = collections.Counter((e["node"], e["event_id"], tuple(e["types"])) for e in ours)
        other = collections.Counter((e["host"], e["id"], tuple(r["type"] for r in e["records"])) for e in theirs)
        if shape != other:
            problems.append("%s: events ours only %s, auparse only %s" % (
                name, sorted(shape - other)[:3], sorted(other - shape)[:3]))
            continue
        by_id = collections.defaultdict(list)
        for event in ours:
            by_id[(event["node"], event["event_id"], tuple(event["types"]))].append(event)
        for event in theirs:
            mine = by_id[(event["host"], event["id"], tuple(r["type"] for r in event["records"]))].pop(0)
            compared += _compare_event("%s %s" % (name, event["id"]), mine, event, problems)
            events_total += 1
    return problems, events_total, compared


def shape_logs():
    out = {}
    for name in sorted(os.listdir(SHAPES)):
        with open(os.path.join(SHAPES, name), "rb") as f:
            out["shapes/" + name] = f.read()
    return out


# Lines of test_auditlog_conformance.py that this parser reads otherwise than auparse 3.0.9:
# its USER_AVC's "addr=fe80:: ... y=a,'" gives addr "fe80:" and y "a," in auparse (one colon
# taken off an address, the comma of the last field kept); here "fe80::" and "a".
NOT_AS_AUPARSE = ("user-avc",)


@needs_auparse
def test_hand_written_lines_are_read_as_libauparse_reads_them(tmp_path):
    texts = shape_logs()
    texts.update(("issue9/" + name, "\n".join(lines) + "\n") for name, lines in ISSUE_9.items())
    texts.update(("conformance/" + name, data) for name, data in hand_written_logs().items()
                 if name not in NOT_AS_AUPARSE)
    problems, events_total, compared = compare(texts, tmp_path)
    assert not problems, "\n".join(problems[:40])
    assert events_total >= 50 and compared >= 90  # the comparison covered the lines


# --- real logs ----------------------------------------------------------------------------

REASON = liveaudit.audit_available()
live = pytest.mark.skipif(REASON is not None, reason="real auditd needed: %s" % REASON)
# kill by number, through libc's syscall(): tkill and tgkill have no command of their own
SIGNAL_BY_NUMBER = "import ctypes, sys; sys.exit(ctypes.CDLL(None).syscall(*[int(a) for a in sys.argv[1:]]) != 0)"
ODD_ARGV = ["two words", "naïve café ✓", "tab\there", 'a "quoted" one', "x" * 300]


def syscall_number(name):
    table = MACHINES.get(platform.machine(), (None, None))[0]
    return dict((v, k) for k, v in SYSCALLS.get(table, {}).items())[name]


@contextlib.contextmanager
def rules(key, specs):
    """Load the b64 rules SPECS (each an auditctl list between the arch and -k) keyed KEY;
    remove exactly them after."""
    loaded = []
    try:
        for spec in specs:
            argv = ["-a", "always,exit", "-F", "arch=b64"] + spec + ["-k", key]
            liveaudit.run([liveaudit.AUDITCTL] + argv)
            loaded.append(argv)
        yield
    finally:
        for argv in loaded:
            liveaudit.run([liveaudit.AUDITCTL, "-d"] + argv[1:], check=False)
        leftover = liveaudit.run([liveaudit.AUDITCTL, "-l"], check=False).stdout
        assert key not in leftover, "rules keyed %s still loaded:\n%s" % (key, leftover)


def write_real_log(key):
    """Make the kernel and auditd write kills, odd execs, failed opens and a user message
    (under rules keyed KEY that only this process's children match); return the new part of
    the log, once every keyed event of it is whole."""
    me = "ppid=%d" % os.getpid()
    specs = [["-S", "kill,tkill,tgkill", "-F", me], ["-S", "execve", "-F", me],
             ["-S", "openat", "-F", "success=0", "-F", me]]
    tail = liveaudit.LogTail()
    sleepers = []
    with rules(key, specs):
        try:
            for _i in range(3):
                proc = subprocess.Popen(["/bin/sleep", "300"], stdin=subprocess.DEVNULL)
                liveaudit.wait_exec(proc.pid, "sleep")
                sleepers.append(proc)
            liveaudit.run([shutil.which("kill", path="/usr/bin:/bin"), "-TERM", str(sleepers[0].pid)])
            liveaudit.run([sys.executable, "-c", SIGNAL_BY_NUMBER, str(syscall_number("tkill")),
                           str(sleepers[1].pid), "15"])
            liveaudit.run([sys.executable, "-c", SIGNAL_BY_NUMBER, str(syscall_number("tgkill")),
                           str(sleepers[2].pid), str(sleepers[2].pid), "15"])
            liveaudit.run(["/bin/echo"] + ODD_ARGV)
            liveaudit.run(["/bin/cat", "/nonexistent-%s/file" % key], check=False)
            liveaudit.run(["/bin/cat", "/etc/shadow"], check=False, preexec_fn=liveaudit.as_user(uid=65534, gid=65534))
            marker = "afut message %s with spaces" % key  # auditctl -m takes ASCII only
            liveaudit.run([liveaudit.AUDITCTL, "-m", marker])
        finally:
            for proc in sleepers:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()

        def whole(data):
            keyed = list(parse_events(data, keys=[key]))
            kills = [e for e in keyed if e["syscall"] in ("kill", "tkill", "tgkill")]
            return marker.encode() in data and len(kills) >= 3 and all(e["types"][-1] == "PROCTITLE" for e in keyed)
        tail.wait_for(whole, timeout=30)
        time.sleep(0.5)  # records of other events auditd had in hand
        return tail.read()


def check_real_log(data, key, enriched):
    """What the log must hold, so that the comparison covered what it names."""
    stats = ParseStats()
    events = list(parse_events(data, stats=stats))
    assert stats.skipped == {}, stats.skipped
    keyed = [e for e in events if key in e["keys"]]
    assert sorted(e["syscall"] for e in keyed if "kill" in e["syscall"]) == ["kill", "tgkill", "tkill"]
    assert len(list(kill_reports(data, keys=[key]))) == 3
    [echo] = [e for e in keyed if e["syscall"] == "execve" and "EXECVE" in e["types"]
              and e["records"][e["types"].index("EXECVE")]["fields"].get("a0") == "/bin/echo"]
    assert echo["records"][-1]["fields"]["proctitle"][1:3] == ODD_ARGV[:2]
    execve = echo["records"][echo["types"].index("EXECVE")]["fields"]
    assert [execve["a%d" % i] for i in range(1, len(ODD_ARGV) + 1)] == ODD_ARGV
    errnos = set(e["errno"] for e in keyed if e["syscall"] == "openat")
    assert {"ENOENT", "EACCES"} <= errnos, errnos
    [line] = [x for x in data.split(b"\n") if x.startswith(b"type=USER ") and key.encode() in x]
    [user] = [e for e in events if e["types"] == ["USER"] and e["event_id"].encode() in line]
    assert user["records"][0]["fields"]["exe"] == "/usr/sbin/auditctl"
    assert any(r["enriched"] for e in keyed for r in e["records"]) == enriched


@live
@needs_auparse
def test_real_logs_are_read_as_libauparse_reads_them(tmp_path):
    written = liveaudit.log_format()
    other = "RAW" if written == "ENRICHED" else "ENRICHED"
    if not shutil.which("service"):
        pytest.skip("no service command to restart auditd with (for the %s log)" % other)
    logs = {}
    with audit_test_lock():
        key = liveaudit.new_key("afaup")
        logs[written] = (key, write_real_log(key))
        with liveaudit.auditd_log_format(other):
            key = liveaudit.new_key("afaup")
            logs[other] = (key, write_real_log(key))
    for fmt, (key, data) in logs.items():
        check_real_log(data, key, fmt == "ENRICHED")
    problems, events_total, compared = compare(dict((fmt, data) for fmt, (_k, data) in logs.items()), tmp_path)
    assert not problems, "\n".join(problems[:40])
    assert events_total >= 30 and compared >= 60
