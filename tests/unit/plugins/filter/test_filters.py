"""The filters' own behaviour: input forms, options and errors (parsing itself is tested
on the parser). Filters must never read files: a string is log text."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.auditfleet.auditd.plugins.filter.audit_events import audit_events
from ansible_collections.auditfleet.auditd.plugins.filter.kill_reports import kill_reports

KILL = ('type=SYSCALL msg=audit(1700000000.100:5): arch=c000003e syscall=62 success=yes exit=0 '
        'a0=3e8 a1=9 a2=0 a3=0 items=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 '
        'egid=0 sgid=0 fsgid=0 tty=pts1 ses=2 comm="kill" exe="/usr/bin/kill" key="kill_rule"\n'
        'type=OBJ_PID msg=audit(1700000000.100:5): opid=1000 oauid=-1 ouid=0 oses=-1 ocomm="sleep"\n'
        'type=PROCTITLE msg=audit(1700000000.100:5): proctitle=6B696C6C002D39\n')
OTHER = KILL.replace(":5)", ":6)").replace("kill_rule", "other").replace("1700000000.100", "1700000500.100")


def test_text_lines_and_events_give_the_same_reports():
    from_text = kill_reports(KILL + OTHER)
    assert [r["key"] for r in from_text] == ["kill_rule", "other"]
    assert kill_reports((KILL + OTHER).splitlines()) == from_text
    assert kill_reports(audit_events(KILL + OTHER)) == from_text
    assert kill_reports(audit_events(KILL + OTHER), keys="other") == from_text[1:]


def test_options_filter():
    assert [e["key"] for e in audit_events(KILL + OTHER, keys=["other"])] == ["other"]
    assert [e["key"] for e in audit_events(KILL + OTHER, since="2023-11-14T22:20:00Z")] == ["other"]
    assert [e["key"] for e in audit_events(KILL + OTHER, until=1700000100)] == ["kill_rule"]
    assert audit_events(KILL, types="OBJ_PID")[0]["types"] == ["SYSCALL", "OBJ_PID", "PROCTITLE"]
    raw = audit_events(KILL, interpret=False)[0]
    assert raw["records"][0]["fields"]["uid"] == "0" and "syscall" not in raw


def test_a_path_is_not_read(tmp_path):
    path = tmp_path / "audit.log"
    path.write_text(KILL)
    assert kill_reports(str(path)) == []


@pytest.mark.parametrize("bad, words", [
    ({"a": 1}, ["dict"]),
    ([1, 2], ["item 0", "int"]),
    (42, ["int"]),
])
def test_bad_input_is_a_clear_error(bad, words):
    with pytest.raises(AnsibleFilterError) as err:
        kill_reports(bad)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("option, value", [("since", "soonish"), ("until", "2026-13-40")])
def test_bad_times_name_option_and_value(option, value):
    with pytest.raises(AnsibleFilterError) as err:
        audit_events(KILL, **{option: value})
    assert option in str(err.value) and value in str(err.value)


def test_bad_keys_option():
    with pytest.raises(AnsibleFilterError) as err:
        audit_events(KILL, keys=[1])
    assert "keys" in str(err.value)


def test_since_on_events_is_refused():
    with pytest.raises(AnsibleFilterError) as err:
        kill_reports(audit_events(KILL), since="1h")
    assert "since" in str(err.value)
