"""Record shapes that real logs hold and parsers get wrong (issue 9), as minimal hand-made
lines next to the logs the real auditd writes in the live tests: each test names what libauparse
and the kernel do, and what the parser must do the same way on both of its paths (full
grouping and the key fast path)."""
import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._audit_tables import X32_SYSCALLS
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    GroupFeed, ParseStats, ends_event, parse_events)
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports

GS = "\x1d"
SYSCALL = ("type=SYSCALL msg=audit(%s): arch=%s syscall=%d success=yes exit=0 a0=%s a1=%s a2=0 a3=0 "
           "items=0 ppid=1 pid=%d auid=1001 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
           "tty=pts0 ses=3 comm=\"kill\" exe=\"/usr/bin/kill\" key=%s")


def syscall(stamp, nr=62, a0="3e8", a1="9", arch="c000003e", key='"kill_rule"', pid=20):
    return SYSCALL % (stamp, arch, nr, a0, a1, pid, key)


def obj_pid(stamp, opid=1000):
    return "type=OBJ_PID msg=audit(%s): opid=%d oauid=-1 ouid=0 oses=-1 ocomm=\"sleep\"" % (stamp, opid)


def proctitle(stamp, title="6B696C6C002D390031303030"):
    return "type=PROCTITLE msg=audit(%s): proctitle=%s" % (stamp, title)


def text(lines):
    return "\n".join(lines) + "\n"


def both_paths(lines, key="kill_rule"):
    """The events of LINES, full path and key fast path, which must agree; and the kill
    reports of both."""
    data = text(lines)
    full = list(parse_events(data))
    fast = list(parse_events(data, keys=[key]))
    assert sorted(map(repr, fast)) == sorted(map(repr, [e for e in full if key in e["keys"]]))
    reports = list(kill_reports(data, keys=[key]))
    assert sorted(map(repr, reports)) == sorted(map(repr, kill_reports(events=full, keys=[key])))
    assert sorted(map(repr, reports)) == sorted(map(repr, kill_reports(data)))
    return full, reports


def test_eoe_after_proctitle_is_the_same_event():
    stamp = "1700000000.100:42"
    full, reports = both_paths([syscall(stamp), obj_pid(stamp), proctitle(stamp),
                                "type=EOE msg=audit(%s): " % stamp])
    assert [e["types"] for e in full] == [["SYSCALL", "OBJ_PID", "PROCTITLE"]]
    assert len(reports) == 1 and reports[0]["killer"]["argv"] == ["kill", "-9", "1000"]
    # an EOE that ends an event without PROCTITLE is part of it
    full, _r = both_paths([syscall(stamp), obj_pid(stamp), "type=EOE msg=audit(%s):" % stamp])
    assert [e["types"] for e in full] == [["SYSCALL", "OBJ_PID", "EOE"]]


def test_an_eoe_alone_in_a_followed_log_is_no_event():
    feed = GroupFeed()
    stamp = "1700000000.100:42"
    done = feed.feed(text([syscall(stamp), proctitle(stamp)]))
    assert [g.event_id for g in done] == [stamp]
    assert feed.feed("type=EOE msg=audit(%s): " % stamp) == [] and feed.open_groups == []


ANOMALIES = [
    "type=ANOM_PROMISCUOUS msg=audit({s}): dev=eth7 prom=256 old_prom=0 auid=1001 uid=0 gid=0 ses=3",
    "type=ANOM_LINK msg=audit({s}): op=linkat ppid=1 pid=20 auid=1001 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 "
    "sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"ln\" exe=\"/usr/bin/ln\" res=0",
    "type=INTEGRITY_DATA msg=audit({s}): pid=20 uid=0 auid=1001 ses=3 op=appraise_data cause=invalid-signature "
    "comm=\"sh\" name=\"/usr/bin/x\" dev=\"sda1\" ino=42 res=0 errno=0",
]


def anomaly_lines(first):
    stamp = "1700000123.456:777"
    return [first.format(s=stamp), syscall(stamp, nr=44, key='"net"'),
            "type=SOCKADDR msg=audit(%s): saddr=100000000000000000000000" % stamp, proctitle(stamp)]


@pytest.mark.parametrize("first", ANOMALIES)
def test_kernel_anomalies_ride_along_with_their_syscall(first):
    # logged with the task's audit context inside the syscall: the SYSCALL of the same event
    # follows, and the anomaly keeps who did it
    full, _reports = both_paths(anomaly_lines(first), key="net")
    assert len(full) == 1 and full[0]["syscall"] == "sendto" and len(full[0]["types"]) == 4
    assert full[0]["keys"] == ["net"]


def test_which_types_end_an_event():
    for name in ("PROCTITLE", "EOE", "USER_START", "DAEMON_CONFIG", "KERNEL", "ANOM_LOGIN_FAILURES",
                 "ANOM_ABEND", "USER", "UNKNOWN[1105]"):
        assert ends_event(name) is True, name
    for name in ("SYSCALL", "LOGIN", "AVC", "ANOM_PROMISCUOUS", "ANOM_LINK", "ANOM_CREAT",
                 "INTEGRITY_DATA", "INTEGRITY_POLICY_RULE", "MAC_UNLBL_ALLOW", "SECCOMP",
                 "UNKNOWN[1999]", "NOT_A_TYPE"):
        assert ends_event(name) is False, name


ANOM_ABEND = ('type=ANOM_ABEND msg=audit(1700000200.010:901): auid=1001 uid=1001 gid=1001 '
              'ses=3 pid=4321 comm="crashy" exe="/usr/local/bin/crashy" sig=11 res=1')


def test_anom_abend_stands_alone():
    # a core dump is logged while a signal is delivered, after the syscall's audit context
    # is finished: a serial of its own, nothing follows
    feed = GroupFeed()
    done = feed.feed(ANOM_ABEND)
    assert [g.records[0][0] for g in done] == ["ANOM_ABEND"] and feed.open_groups == []


@pytest.mark.parametrize("written, name", [("UNKNOWN[1327]", "PROCTITLE"), ("UNKNOWN[1334]", "BPF"),
                                           ("1327", "PROCTITLE"), ("UNKNOWN[1999]", "UNKNOWN[1999]")])
def test_unknown_types_are_the_type_they_number(written, name):
    stamp = "1700000000.100:7"
    lines = [syscall(stamp), obj_pid(stamp),
             "type=%s msg=audit(%s): proctitle=6B696C6C002D390031303030" % (written, stamp)]
    full, reports = both_paths(lines)
    assert full[0]["types"] == ["SYSCALL", "OBJ_PID", name]
    # a kill whose command line came as UNKNOWN[1327] has it
    assert reports[0]["killer"]["cmdline"] == ("kill -9 1000" if name == "PROCTITLE" else None)


USER_1X = ("type=USER_START msg=audit(1100000000.250:88): user pid=2345 uid=0 auid=500 "
           "msg='PAM: session open acct=root : exe=\"/bin/su\" (hostname=?, addr=?, terminal=pts/1 res=success)'")


def test_audit_1x_user_message():
    [event] = list(parse_events(USER_1X))
    fields = event["records"][0]["fields"]
    assert fields["hostname"] is None and fields["addr"] is None
    assert fields["terminal"] == "pts/1" and fields["res"] == "success"
    assert fields["acct"] == "root" and fields["exe"] == "/bin/su" and fields["pid"] == 2345
    assert "(hostname" not in fields


USER_AVC = ("type=USER_AVC msg=audit(1.000:1): pid=1 uid=0 msg='avc:  received "
            "policyload notice (seqno=2)  exe=\"/bin/dbus\" addr=fe80:: x=(none) y=a,'")


def test_trailing_punctuation_is_trimmed_as_auparse_trims_it():
    [event] = list(parse_events(USER_AVC))
    fields = event["records"][0]["fields"]
    assert fields["seqno"] == "2" and fields["addr"] == "fe80::" and fields["x"] is None and fields["y"] == "a"


DAEMON_CONFIG = ("type=DAEMON_CONFIG msg=audit(1400000000.500:12) config changed, auid=0 pid=812 "
                 "subj=unconfined res=success")


def test_daemon_record_without_the_colon():
    stats = ParseStats()
    [event] = list(parse_events(DAEMON_CONFIG, stats=stats))
    assert stats.skipped == {} and event["types"] == ["DAEMON_CONFIG"]
    fields = event["records"][0]["fields"]
    assert fields == {"auid": 0, "pid": 812, "subj": "unconfined", "res": "success"}


def test_the_key_of_an_avc_on_a_sysv_object_is_no_event_key():
    stamp = "1700000000.100:9"
    avc = ("type=AVC msg=audit(%s): avc:  denied  { associate } for  pid=20 comm=\"kill\" key=1291864389 "
           "scontext=u:r:t:s0 tcontext=u:r:t:s0 tclass=sem permissive=0" % stamp)
    lines = [avc, syscall(stamp, nr=64, key="(null)"), proctitle(stamp)]
    [event] = list(parse_events(text(lines)))
    assert event["keys"] == [] and event["key"] is None
    fields = event["records"][0]["fields"]
    assert fields["key"] == "1291864389" and fields["tclass"] == "sem"  # as written, not hex-decoded
    assert (fields["seresult"], fields["seperms"]) == ("denied", "associate")
    # a key search for it finds nothing, as the full path
    hexed = "1291864389".encode().hex()
    assert list(parse_events(text(lines), keys=["1291864389"])) == []
    assert list(parse_events(text(lines).replace("1291864389", hexed.upper()), keys=["1291864389"])) == []
    # the rule key of the same event is its key
    lines[1] = syscall(stamp, nr=64, key='"ipc"')
    full, _r = both_paths(lines, key="ipc")
    assert full[0]["keys"] == ["ipc"]


def test_a_late_record_gives_the_same_kill_report_on_both_paths():
    # the OBJ_PID of kill event 1 comes after records 3 s newer: group_records closed event 1
    # there (as auparse does), so the late OBJ_PID is a group of its own; the key fast path
    # must not add it to the kill report either
    a, b = "1700000000.100:1", "1700000003.000:2"
    lines = [syscall(a), syscall(b, key="(null)", nr=1), proctitle(b), obj_pid(a), proctitle(a)]
    full, reports = both_paths(lines)
    assert [(e["event_id"], e["types"]) for e in full] == [
        (a, ["SYSCALL"]), (b, ["SYSCALL", "PROCTITLE"]), (a, ["OBJ_PID", "PROCTITLE"])]
    assert len(reports) == 1 and reports[0]["targets"] == [] and reports[0]["killer"]["cmdline"] is None
    # within the 2 s the late record joins its event, on both paths
    b = "1700000001.900:2"
    lines = [syscall(a), syscall(b, key="(null)", nr=1), proctitle(b), obj_pid(a), proctitle(a)]
    full, reports = both_paths(lines)
    assert [e["types"] for e in full if e["event_id"] == a] == [["SYSCALL", "OBJ_PID", "PROCTITLE"]]
    assert reports[0]["targets"][0]["pid"] == 1000


def test_a_late_keyed_record_is_its_own_event_on_both_paths():
    # a record of a later second between the records before the keyed one and the keyed
    # one: the keyed SYSCALL starts a new group on both paths
    a = "1700000000.100:1"
    lines = ["type=CWD msg=audit(%s): cwd=\"/\"" % a, syscall("1700000005.000:2", key="(null)", nr=1),
             syscall(a), proctitle(a)]
    full, reports = both_paths(lines)
    assert [e["types"] for e in full if e["event_id"] == a] == [["CWD"], ["SYSCALL", "PROCTITLE"]]
    assert len(reports) == 1


def test_seconds_are_compared_as_auparse_does():
    # an event closes at the first record of a second 2 or more after its own
    a = "1700000000.999:1"
    lines = [syscall(a), syscall("1700000002.000:2", key="(null)", nr=1), obj_pid(a), proctitle(a)]
    full, _r = both_paths(lines)
    assert [e["types"] for e in full if e["event_id"] == a] == [["SYSCALL"], ["OBJ_PID", "PROCTITLE"]]
    lines[1] = syscall("1700000001.999:2", key="(null)", nr=1)
    full, _r = both_paths(lines)
    assert [e["types"] for e in full if e["event_id"] == a] == [["SYSCALL", "OBJ_PID", "PROCTITLE"]]


def test_syslog_lines_give_the_same_reports_on_both_paths():
    stamp = "1700000000.100:5"
    prefix = "Nov 14 22:13:20 host audispd: "
    lines = [prefix + syscall(stamp), prefix + obj_pid(stamp), prefix + proctitle(stamp)]
    full, reports = both_paths(lines)
    assert len(full) == 1 and reports[0]["targets"][0]["pid"] == 1000


SUB_CALLS = [(102, "3", "socketcall(connect)"), (102, "14", "socketcall(sendmmsg)"), (117, "15", "ipc(shmat)"),
             (117, "10016", "ipc"), (102, "ff", "socketcall")]


@pytest.mark.parametrize("nr, a0, name", SUB_CALLS)
def test_socketcall_and_ipc_name_their_sub_call(nr, a0, name):
    line = syscall("1700000000.100:3", nr=nr, a0=a0, arch="40000003", key="(null)")
    [event] = list(parse_events(line))
    assert event["arch"] == "i386" and event["syscall"] == name
    # the syscalls filter takes the name rules use
    assert [e["event_id"] for e in parse_events(line, syscalls=[name.split("(")[0]])] == ["1700000000.100:3"]


def test_a_seccomp_record_names_its_syscall_with_its_arch():
    for arch, nr, name, arch_name in (("c000003e", 62, "kill", "x86_64"), ("40000003", 37, "kill", "i386"),
                                      ("c00000b7", 221, "execve", "aarch64")):
        line = ("type=SECCOMP msg=audit(1700000000.100:4): auid=1001 uid=1001 gid=1001 ses=3 pid=20 "
                "comm=\"x\" exe=\"/usr/bin/x\" sig=31 arch=%s syscall=%d compat=0 ip=0x7f code=0x0" % (arch, nr))
        [event] = list(parse_events(line))
        assert (event["arch"], event["syscall"]) == (arch_name, name)
        assert event["records"][0]["fields"]["syscall"] == str(nr)


X32 = [(62, "kill"), (524, "rt_sigqueueinfo"), (536, "rt_tgsigqueueinfo"), (200, "tkill")]


@pytest.mark.parametrize("nr, name", X32)
def test_x32_syscall_numbers(nr, name):
    assert X32_SYSCALLS[nr] == name
    stamp = "1700000000.100:6"
    lines = [syscall(stamp, nr=nr | 0x40000000), obj_pid(stamp), proctitle(stamp)]
    full, reports = both_paths(lines)
    assert full[0]["syscall"] == name and full[0]["arch"] == "x86_64"
    assert [r["syscall"] for r in reports] == [name]


def test_a_uid_without_a_name_gives_no_user_name():
    stamp = "1700000000.100:8"
    line = syscall(stamp) + GS + ('ARCH=x86_64 SYSCALL=kill AUID="unknown(1001)" UID="root" GID="root" '
                                  'EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"')
    target = obj_pid(stamp) + GS + 'OAUID="unset" OUID="unknown(4242)"'
    full, [report] = both_paths([line, target, proctitle(stamp)])
    assert full[0]["records"][0]["enriched"]["AUID"] == "unknown(1001)"  # the event keeps the text
    assert report["killer"]["auid"] == 1001 and report["killer"]["login_user"] is None
    assert report["killer"]["user"] == "root" and report["targets"][0]["user"] is None


def hand_written_logs():
    """The logs the tests above parse, by name, for the comparison with libauparse
    (test_auditlog_auparse.py). The syslog-prefixed lines are left out: auparse does not read
    that prefix."""
    a, stamp = "1700000000.100:1", "1700000000.100:42"
    logs = {
        "eoe": [syscall(stamp), obj_pid(stamp), proctitle(stamp), "type=EOE msg=audit(%s): " % stamp],
        "eoe-no-proctitle": [syscall(stamp), obj_pid(stamp), "type=EOE msg=audit(%s):" % stamp],
        "anom-abend": [ANOM_ABEND], "audit-1x": [USER_1X], "user-avc": [USER_AVC], "daemon": [DAEMON_CONFIG],
        "late-3s": [syscall(a), syscall("1700000003.000:2", key="(null)", nr=1), proctitle("1700000003.000:2"),
                    obj_pid(a), proctitle(a)],
        "late-1.8s": [syscall(a), syscall("1700000001.900:2", key="(null)", nr=1), proctitle("1700000001.900:2"),
                      obj_pid(a), proctitle(a)],
        "late-keyed": ["type=CWD msg=audit(%s): cwd=\"/\"" % a, syscall("1700000005.000:2", key="(null)", nr=1),
                       syscall(a), proctitle(a)],
    }
    for index, first in enumerate(ANOMALIES):
        logs["anomaly-%d" % index] = anomaly_lines(first)
    for written in ("UNKNOWN[1327]", "UNKNOWN[1334]", "1327"):
        s7 = "1700000000.100:7"
        logs["unknown-%s" % written] = [syscall(s7), obj_pid(s7),
                                        "type=%s msg=audit(%s): proctitle=6B696C6C002D390031303030" % (written, s7)]
    for nr, a0, _name in SUB_CALLS:
        logs["i386-%d-%s" % (nr, a0)] = [syscall("1700000000.100:3", nr=nr, a0=a0, arch="40000003", key="(null)")]
    for nr, _name in X32:
        s6 = "1700000000.100:6"
        logs["x32-%d" % nr] = [syscall(s6, nr=nr | 0x40000000), obj_pid(s6), proctitle(s6)]
    return dict((name, text(lines)) for name, lines in logs.items())
