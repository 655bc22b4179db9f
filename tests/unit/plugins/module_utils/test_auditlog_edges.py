"""Parser edge cases that a live system does not produce on demand.

The lines here are hand-made in the shapes real auditd, kernels and aggregators write
(node= prefixes from remote logging, serial rollover, truncation, garbage, AppArmor, ...).
The behaviour on what the real auditd writes is tested in test_auditlog_live.py.
"""
import gzip
import io
import os

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import (
    BLOCK_SIZE, MAX_LINE, ParseStats, decode_keys, ends_event, expand_log_paths, parse_events,
    parse_fields, rotated_log_set)
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import (
    kill_reports, signed32)

GS = "\x1d"


def syscall(stamp, serial, nr=62, a0="3e8", a1="9", arch="c000003e", key='"k1"', node=None,
            extra="", success="yes", exit_="0", enriched=True, comm='"kill"'):
    prefix = "node=%s " % node if node else ""
    line = ("%stype=SYSCALL msg=audit(%s:%d): arch=%s syscall=%d success=%s exit=%s a0=%s a1=%s "
            "a2=0 a3=0 items=0 ppid=10 pid=20 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 "
            "sgid=0 fsgid=0 tty=pts0 ses=3 comm=%s exe=\"/usr/bin/kill\"%s key=%s"
            % (prefix, stamp, serial, arch, nr, success, exit_, a0, a1, comm, extra, key))
    if enriched:
        line += GS + 'ARCH=x86_64 SYSCALL=kill AUID="alice" UID="root" GID="root"'
    return line


def obj_pid(stamp, serial, opid=1000, ocomm='"sleep"', node=None):
    prefix = "node=%s " % node if node else ""
    return ('%stype=OBJ_PID msg=audit(%s:%d): opid=%d oauid=-1 ouid=0 oses=-1 ocomm=%s'
            % (prefix, stamp, serial, opid, ocomm)) + GS + 'OAUID="unset" OUID="root"'


def proctitle(stamp, serial, title="6B696C6C002D390031303030", node=None):
    prefix = "node=%s " % node if node else ""
    return "%stype=PROCTITLE msg=audit(%s:%d): proctitle=%s" % (prefix, stamp, serial, title)


def kill_event(stamp, serial, **kw):
    node = kw.pop("node", None)
    return [syscall(stamp, serial, node=node, **kw), obj_pid(stamp, serial, node=node),
            proctitle(stamp, serial, node=node)]


def text(lines):
    return "\n".join(lines) + "\n"


def events(lines, **kw):
    stats = kw.pop("stats", None) or ParseStats()
    return list(parse_events(text(lines), stats=stats, **kw)), stats


def test_one_kill_event_decoded():
    evs, stats = events(kill_event("1700000000.123", 5))
    assert len(evs) == 1 and stats.skipped == {}
    ev = evs[0]
    assert ev["event_id"] == "1700000000.123:5" and ev["serial"] == 5
    assert ev["time"] == "2023-11-14T22:13:20.123Z"
    assert ev["types"] == ["SYSCALL", "OBJ_PID", "PROCTITLE"]
    assert ev["arch"] == "x86_64" and ev["syscall"] == "kill" and ev["success"] is True
    fields = ev["records"][0]["fields"]
    assert fields["tty"] == "pts0" and fields["auid"] == 1000 and fields["key"] == "k1"
    assert ev["records"][0]["enriched"]["AUID"] == "alice"
    assert ev["records"][2]["fields"]["proctitle"] == ["kill", "-9", "1000"]


def test_node_prefix_groups_per_node():
    # the same timestamp and serial on two nodes are two events
    lines = kill_event("1700000000.100", 7, node="web1") + kill_event("1700000000.100", 7, node="db2")
    evs = events(lines)[0]
    assert sorted(ev["node"] for ev in evs) == ["db2", "web1"]
    assert all(len(ev["records"]) == 3 for ev in evs)


def test_interleaved_events_are_kept_apart():
    a = kill_event("1700000000.100", 1)
    b = kill_event("1700000000.100", 2, a0="7d0")
    lines = [a[0], b[0], a[1], b[1], a[2], b[2]]
    evs = events(lines)[0]
    assert [ev["serial"] for ev in evs] == [1, 2]
    reps = list(kill_reports(text(lines)))
    assert [r["target_pid"] for r in reps] == [1000, 2000]


def test_serial_rollover_does_not_merge_events():
    lines = kill_event("1700000000.100", 4294967295) + kill_event("1700000000.101", 0) + \
        kill_event("1700000000.102", 1)
    evs = events(lines)[0]
    assert [ev["serial"] for ev in evs] == [4294967295, 0, 1]


def test_event_without_proctitle_completes_on_timeout_and_at_end():
    lines = [syscall("1700000000.000", 1),                  # never gets a PROCTITLE
             obj_pid("1700000000.000", 1),
             syscall("1700000005.000", 2, key="(null)")]    # 5 s later: 1 cannot grow
    evs = events(lines)[0]
    assert [ev["serial"] for ev in evs] == [1, 2]
    assert evs[0]["types"] == ["SYSCALL", "OBJ_PID"]


def test_late_record_after_timeout_is_a_separate_partial_event():
    lines = [syscall("1700000000.000", 1), syscall("1700000009.000", 2, key="(null)"),
             obj_pid("1700000000.000", 1), proctitle("1700000009.000", 2)]
    evs = events(lines)[0]
    # the late OBJ_PID opens a group of its own, which the next record of a later second
    # closes (as libauparse does), before event 2 ends
    assert [(ev["serial"], ev["types"]) for ev in evs] == [
        (1, ["SYSCALL"]), (1, ["OBJ_PID"]), (2, ["SYSCALL", "PROCTITLE"])]


def test_eoe_ends_an_event_and_standalone_types_stand_alone():
    lines = [syscall("1700000000.000", 1), "type=EOE msg=audit(1700000000.000:1): ",
             "type=USER_START msg=audit(1700000000.001:2): pid=1 uid=0 auid=0 ses=1 "
             "msg='op=PAM:session_open acct=\"root\" exe=\"/usr/bin/sudo\" res=success'",
             "type=DAEMON_START msg=audit(1700000000.002:3): op=start ver=3.0.9 res=success"]
    evs = events(lines)[0]
    assert [ev["types"] for ev in evs] == [["SYSCALL", "EOE"], ["USER_START"], ["DAEMON_START"]]
    fields = evs[1]["records"][0]["fields"]
    assert fields["op"] == "PAM:session_open" and fields["acct"] == "root"
    assert fields["exe"] == "/usr/bin/sudo" and fields["uid"] == 0 and fields["res"] == "success"


def test_login_record_stays_with_its_syscall():
    lines = ["type=LOGIN msg=audit(1700000000.000:9): pid=5 uid=0 subj=unconfined old-auid=4294967295 "
             "auid=1000 tty=(none) old-ses=4294967295 ses=4 res=1",
             syscall("1700000000.000", 9, nr=1, key="(null)"), proctitle("1700000000.000", 9)]
    evs = events(lines)[0]
    assert len(evs) == 1 and evs[0]["types"] == ["LOGIN", "SYSCALL", "PROCTITLE"]
    login = evs[0]["records"][0]["fields"]
    assert login["old-auid"] is None and login["auid"] == 1000 and login["old-ses"] is None
    assert ends_event("LOGIN") is False and ends_event("USER_LOGIN") is True


def test_hex_values_nulls_and_multiple_keys():
    key = "6B696C6C5F72756C65016F74686572"     # "kill_rule" 0x01 "other"
    lines = [syscall("1700000000.000", 1, key=key, comm="6B696C6C206572"),  # "kill er"
             obj_pid("1700000000.000", 1, ocomm="736C65206570"),               # "sle ep"
             proctitle("1700000000.000", 1, title='"(null)"')]
    ev = events(lines)[0][0]
    assert ev["keys"] == ["kill_rule", "other"] and ev["key"] == "kill_rule"
    assert ev["records"][0]["fields"]["comm"] == "kill er"
    assert ev["records"][1]["fields"]["ocomm"] == "sle ep"
    assert ev["records"][2]["fields"]["proctitle"] is None
    rep = list(kill_reports(text(lines), keys=["other"]))[0]
    assert rep["killer"]["comm"] == "kill er" and rep["targets"][0]["comm"] == "sle ep"
    assert rep["killer"]["cmdline"] is None


def test_non_utf8_inside_hex_is_kept_escaped():
    lines = [syscall("1700000000.000", 1, comm="66FF6F")]   # f, 0xff, o
    ev = events(lines)[0][0]
    assert ev["records"][0]["fields"]["comm"] == "f\\xffo"


def test_quoted_values_that_look_like_hex_stay_text():
    ev = events([syscall("1700000000.000", 1, comm='"414243"')])[0][0]
    assert ev["records"][0]["fields"]["comm"] == "414243"


def test_decode_keys_forms():
    assert decode_keys('"kill_rule"') == ["kill_rule"]
    assert decode_keys("(null)") == [] and decode_keys(None) == []
    assert decode_keys("61016201") == ["a", "b"]


def test_signed_pid_and_signal_from_registers():
    assert signed32("ffffffff") == -1 and signed32("fffffc18") == -1000
    assert signed32("ffffffffffff fc18".replace(" ", "")) == -1000
    assert signed32("3e8") == 1000 and signed32("zz") is None
    lines = kill_event("1700000000.000", 1, a0="fffffc18", a1="0")
    rep = list(kill_reports(text(lines)))[0]
    assert rep["target_pid"] == -1000 and rep["scope"] == "process_group" and rep["probe"] is True


def test_i386_and_aarch64_syscall_tables():
    lines = kill_event("1700000000.000", 1, arch="40000003", nr=270, a0="64", a1="65", extra=" a2x=1")
    lines[0] = lines[0].replace("a2=0", "a2=f")
    rep = list(kill_reports(text(lines)))[0]
    assert rep["arch"] == "i386" and rep["syscall"] == "tgkill"
    assert (rep["target_pid"], rep["target_tid"], rep["signal"]) == (100, 101, 15)
    lines = kill_event("1700000000.000", 2, arch="c00000b7", nr=129)
    assert list(kill_reports(text(lines)))[0]["syscall"] == "kill"


def test_unknown_arch_and_syscall_do_not_raise():
    ev = events([syscall("1700000000.000", 1, arch="deadbeef", nr=9999)])[0][0]
    assert ev["arch"] == "deadbeef" and ev["syscall"] == "9999"


def test_truncated_lines_keep_what_they_have():
    full = syscall("1700000000.000", 1)
    lines = [full[:120], 'type=PROCTITLE msg=audit(1700000000.000:1): proctitle="unterminated',
             "type=SYSC", "type=SYSCALL msg=audit(17000"]
    evs, stats = events(lines)
    assert len(evs) == 1
    assert evs[0]["records"][0]["fields"]["arch"] == "c000003e"
    assert evs[0]["records"][1]["fields"]["proctitle"] == ["unterminated"]
    assert stats.skipped == {"not_a_record": 2}


def test_garbage_and_blank_lines_are_counted_not_raised():
    data = b"\x00\x01\x02garbage\n\n   \n" + text(kill_event("1700000000.000", 1)).encode() + b"\xff\xfe\n"
    stats = ParseStats()
    evs = list(parse_events(data, stats=stats))
    assert len(evs) == 1
    assert stats.skipped == {"not_a_record": 2}
    assert stats.repaired == {"invalid_utf8_lines": 1}
    assert stats.lines == 5


def test_line_over_one_mib_is_skipped(tmp_path):
    path = tmp_path / "audit.log"
    with open(path, "wb") as f:
        f.write(text(kill_event("1700000000.000", 1)).encode())
        f.write(b"type=SYSCALL msg=audit(1700000000.000:2): a0=" + b"A" * (MAX_LINE + BLOCK_SIZE + 10) + b"\n")
        f.write(text(kill_event("1700000000.000", 3)).encode())
    stats = ParseStats()
    evs = list(parse_events(str(path), stats=stats))
    assert [ev["serial"] for ev in evs] == [1, 3]
    assert stats.skipped == {"line_too_long": 1}


def test_apparmor_avc_and_unknown_types():
    lines = ['type=AVC msg=audit(1700000000.000:1): apparmor="DENIED" operation="signal" '
             'profile="snap.x" pid=4 comm="kill" requested_mask="send" denied_mask="send" '
             'signal=term peer="unconfined"',
             'type=AVC msg=audit(1700000001.000:2): apparmor="STATUS" operation="profile_replace" '
             'info="same as current profile, skipping" profile="unconfined" name="x" pid=9 comm="apparmor_parser"',
             "type=UNKNOWN[1334] msg=audit(1700000002.000:3): prog-id=45 op=UNLOAD",
             'type=SOCKADDR msg=audit(1700000003.000:4): saddr=0100' + GS + 'SADDR={ fam=local path=/tmp/x y }']
    evs, stats = events(lines)
    assert stats.skipped == {}
    by_serial = dict((ev["serial"], ev) for ev in evs)
    assert by_serial[1]["records"][0]["fields"]["operation"] == "signal"
    assert by_serial[2]["records"][0]["fields"]["info"] == "same as current profile, skipping"
    assert by_serial[3]["types"] == ["BPF"]  # an auditd that did not know 1334 wrote UNKNOWN[1334]
    assert by_serial[4]["records"][0]["enriched"]["SADDR"] == "{ fam=local path=/tmp/x y }"


def test_broken_values_and_duplicates_do_not_raise():
    fields = parse_fields(" subj==/usr/sbin/ntpd (enforce) uid=0 uid=5 a=\"b\" lone= =x")
    assert fields["subj"] == "=/usr/sbin/ntpd" and fields["uid"] == "5"  # the last one wins
    assert fields["a"] == "b" and "lone" not in fields  # an empty value: no field, as in auparse


def test_execve_arguments_are_reassembled():
    lines = ['type=EXECVE msg=audit(1700000000.000:1): argc=3 a0="echo" a1_len=6 a1[0]=686920 '
             'a1[1]=746865 a2=2F746D702F61206220',
             proctitle("1700000000.000", 1)]
    ev = events(lines)[0][0]
    assert ev["records"][0]["argv"] == ["echo", "hi the", "/tmp/a b "]


def test_syslog_and_kernel_ring_buffer_forms():
    lines = ['Nov 26 10:00:00 host kernel: audit: type=1400 audit(1700000000.000:1): apparmor="DENIED" pid=3',
             "Nov 26 10:00:01 host audispd: node=h1 type=SYSCALL msg=audit(1700000001.000:2): arch=c000003e "
             "syscall=62 success=yes exit=0 a0=1 a1=9 pid=5 key=\"k\""]
    evs, stats = events(lines)
    assert sorted(ev["types"][0] for ev in evs) == ["AVC", "SYSCALL"]
    assert stats.repaired == {"syslog_prefixed_records": 2}


def test_filters_keys_types_since_until_syscalls():
    lines = kill_event("1700000000.000", 1) + kill_event("1700000100.000", 2, key='"other"') + \
        [syscall("1700000200.000", 3, nr=59, key='"exec"'), proctitle("1700000200.000", 3)]
    assert [e["serial"] for e in events(lines, keys=["k1"])[0]] == [1]
    assert [e["serial"] for e in events(lines, since=1700000050)[0]] == [2, 3]
    assert [e["serial"] for e in events(lines, until=1700000150)[0]] == [1, 2]
    assert [e["serial"] for e in events(lines, syscalls=["execve"])[0]] == [3]
    assert [e["serial"] for e in events(lines, types=["OBJ_PID"])[0]] == [1, 2]
    stats = ParseStats()
    list(parse_events(text(lines), types=["NOPE"], stats=stats))
    assert stats.events == 3 and stats.matched == 0
    # with a key filter, lines without the key are not even grouped
    stats = ParseStats()
    list(parse_events(text(lines), keys=["nope"], stats=stats))
    assert stats.events == 0 and stats.lines == 0 and stats.bytes == len(text(lines))


def test_old_login_format_keeps_the_new_auid():
    line = "type=LOGIN msg=audit(1170021601.343:296): login pid=13015 uid=0 old auid=4294967295 new auid=0"
    ev = events([line])[0][0]
    assert ev["records"][0]["fields"]["auid"] == 0


def test_sources_lines_bytes_fileobj_and_paths(tmp_path):
    lines = kill_event("1700000000.000", 1)
    assert len(list(parse_events(lines))) == 1
    assert len(list(parse_events([line.encode() + b"\n" for line in lines]))) == 1
    assert len(list(parse_events(io.BytesIO(text(lines).encode())))) == 1
    assert len(list(parse_events(io.StringIO(text(lines))))) == 1
    path = tmp_path / "audit.log.1.gz"
    with gzip.open(str(path), "wb") as f:
        f.write(text(lines).encode())
    assert len(list(parse_events(paths=[str(path)]))) == 1


@pytest.mark.parametrize("form", ["str", "str lines", "bytes", "bytes lines"])
def test_crlf_line_ends_read_like_lf_on_every_path(form):
    # a log copied through Windows: every source form, keyed or not, reads the same events
    lines = kill_event("1700000000.000", 1, key='"kill_rule"')
    want = list(kill_reports(text(lines)))
    assert want and want[0]["killer"]["argv"] == ["kill", "-9", "1000"]
    assert want[0]["killer"]["login_user"] == "alice"

    def source():
        # (not str.splitlines: it also splits at the ENRICHED separator 0x1d)
        crlf = [line + "\r\n" for line in lines]
        return {"str": "".join(crlf), "str lines": crlf, "bytes": "".join(crlf).encode(),
                "bytes lines": [line.encode() for line in crlf]}[form]

    assert list(kill_reports(source())) == want
    assert list(kill_reports(source(), keys=["kill_rule"])) == want


def test_rotated_files_are_read_oldest_first(tmp_path):
    base = str(tmp_path / "audit.log")
    for i, name in enumerate([base + ".2", base + ".1", base, base + ".10"]):
        with open(name, "w") as f:
            f.write(text(kill_event("17000000%02d.000" % i, i)))
    assert expand_log_paths([base + "*"]) == [base + ".10", base + ".2", base + ".1", base]
    os.remove(base + ".10")
    assert rotated_log_set(base) == [base + ".2", base + ".1", base]
    evs = list(parse_events(paths=rotated_log_set(base)))
    assert [ev["serial"] for ev in evs] == [0, 1, 2]


def test_many_open_events_stay_bounded():
    # events that never complete (no PROCTITLE) within one second: the bound closes the oldest
    lines = [syscall("1700000000.000", n, key="(null)") for n in range(5000)]
    stats = ParseStats()
    evs = list(parse_events(text(lines), stats=stats))
    assert len(evs) == 5000
    assert stats.repaired.get("events_closed_early", 0) > 0


@pytest.mark.parametrize("bad", [None, "", [], b""])
def test_empty_sources(bad):
    assert list(parse_events(bad)) == []


def _keyed_equals_full(data, key):
    """The key fast path gives exactly the events and reports the full path gives."""
    full = [e for e in parse_events(data) if key in e["keys"]]
    fast = list(parse_events(data, keys=[key]))
    assert sorted(e["event_id"] for e in fast) == sorted(e["event_id"] for e in full)
    by_id = dict((e["event_id"], e) for e in full)
    for event in fast:
        assert event == by_id[event["event_id"]]
    assert sorted(map(repr, kill_reports(data, keys=[key]))) == \
        sorted(map(repr, kill_reports(events=full)))
    return fast


def test_key_fast_path_matches_full_path_on_tricky_layouts(monkeypatch):
    import ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog as auditlog
    monkeypatch.setattr(auditlog, "BLOCK_SIZE", 700)  # events straddle block boundaries
    avc = ('type=AVC msg=audit(1700000000.000:1): apparmor="DENIED" operation="signal" '
           'profile="p" pid=20 comm="kill" requested_mask="send" signal=kill peer="x"')
    a = kill_event("1700000000.000", 1)
    b = kill_event("1700000000.000", 2, key="6B31016B32")      # two keys, hex: k1, k2
    c = kill_event("1700000000.000", 3, key='"other"')
    d = kill_event("1700000001.000", 4, node="n2")
    lines = [avc, a[0], c[0], a[1], b[0], c[1], a[2], b[1], c[2], b[2]] + d
    data = text(lines).encode()
    fast = _keyed_equals_full(data, "k1")
    assert sorted(e["serial"] for e in fast) == [1, 2, 4]
    assert [e for e in fast if e["serial"] == 1][0]["types"] == ["AVC", "SYSCALL", "OBJ_PID", "PROCTITLE"]
    assert [e["serial"] for e in _keyed_equals_full(data, "k2")] == [2]
    # a key text inside another value (a proctitle that says "k1") is not a hit
    noise = [syscall("1700000002.000", 5, key='"x"'), proctitle("1700000002.000", 5, title='"key=\\"k1\\""')]
    assert [e["serial"] for e in _keyed_equals_full(text(lines + noise).encode(), "k1")] == [1, 2, 4]


def test_key_fast_path_matches_full_path_on_a_generated_log(tmp_path):
    gen = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "bench", "gen_log.py")
    out = str(tmp_path / "gen.log")
    import subprocess
    import sys
    subprocess.run([sys.executable, gen, "--size", "3M", "--seed", "11", "--out", out],
                   check=True, stderr=subprocess.DEVNULL)
    with open(out, "rb") as f:
        data = f.read()
    assert len(_keyed_equals_full(data, "kill_rule")) > 100


def test_execve_argc_that_disagrees_with_the_arguments():
    # a record that says argc=0 but has a0 (seen in the wild): the arguments it has count
    ev = events(['type=EXECVE msg=audit(1700000000.000:1): argc=0 a0="whoami"'])[0][0]
    assert ev["records"][0]["argv"] == ["whoami"]
    ev = events(['type=EXECVE msg=audit(1700000000.000:2): argc=2 a0="ls" a1=2D6C'])[0][0]
    assert ev["records"][0]["argv"] == ["ls", "-l"]
