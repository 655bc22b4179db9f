"""Target-side code runs on managed hosts, down to Python 3.6 (RHEL 8's platform-python).

Every Python the machine has (pyenv 3.6 ... 3.13, the system python3) imports the parser,
parses the same log and must return exactly what this interpreter returns.
"""
import glob
import json
import os
import subprocess

import pytest

from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import parse_events
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports

from tests.lib.env import COLLECTIONS

HERE = os.path.dirname(os.path.abspath(__file__))

GS = "\x1d"
SAMPLE = "\n".join([
    'node=h1 type=SYSCALL msg=audit(1700000000.100:5): arch=c000003e syscall=62 success=no exit=-1 '
    'a0=fffffc18 a1=9 a2=0 a3=0 items=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 '
    'egid=0 sgid=0 fsgid=0 tty=pts1 ses=2 comm=6B696C6C206572 exe="/usr/bin/kill" '
    'key=6B696C6C5F72756C65016F74686572' + GS + 'ARCH=x86_64 SYSCALL=kill AUID="alice" UID="root"',
    'node=h1 type=OBJ_PID msg=audit(1700000000.100:5): opid=44 oauid=-1 ouid=0 oses=-1 ocomm="sleep"',
    'node=h1 type=PROCTITLE msg=audit(1700000000.100:5): proctitle=6B696C6C002D39002D31303030',
    "type=USER_CMD msg=audit(1700000001.200:6): pid=1 uid=0 auid=1000 ses=1 msg='cwd=\"/\" "
    "cmd=6C73202D6C exe=\"/usr/bin/sudo\" terminal=pts/0 res=success'",
    'type=EXECVE msg=audit(1700000002.300:7): argc=2 a0="ls" a1_len=4 a1[0]=6869 a1[1]=FF69',
    'type=AVC msg=audit(1700000003.400:8): apparmor="DENIED" info="a b" signal=term',
    "garbage \xff line",
])

SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import parse_events, ParseStats
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports
data = sys.stdin.buffer.read()
stats = ParseStats()
events = list(parse_events(data, stats=stats))
reports = list(kill_reports(events=events))
sys.stdout.write(json.dumps({"events": events, "reports": reports, "stats": stats.as_dict()}, sort_keys=True))
"""


def pythons():
    found = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    if os.path.exists("/usr/bin/python3"):
        found.append("/usr/bin/python3")
    return found


def real_log_tail():
    path = "/var/log/audit/audit.log"
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 200000))
            f.readline()  # drop the partial first line
            return f.read()
    except OSError:
        return b""


def shape_logs():
    """The hand-written logs of fixtures/shapes (issue 9's record shapes), one after the other."""
    root = os.path.join(HERE, "fixtures", "shapes")
    parts = []
    for name in sorted(os.listdir(root)):
        if name.endswith(".log"):
            with open(os.path.join(root, name), "rb") as f:
                parts.append(f.read().rstrip(b"\n"))
    return b"\n".join(parts) + b"\n"


def expected(data):
    from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import ParseStats
    stats = ParseStats()
    events = list(parse_events(data, stats=stats))
    return json.loads(json.dumps({"events": events, "reports": list(kill_reports(events=events)),
                                  "stats": stats.as_dict()}, sort_keys=True))


@pytest.mark.parametrize("python", pythons() or ["none"])
@pytest.mark.parametrize("source", ["sample", "real_log", "shapes"])
def test_same_result_on_every_target_python(python, source):
    if python == "none":
        pytest.skip("no other Python found (pyenv versions or /usr/bin/python3)")
    data = {"sample": lambda: SAMPLE.encode("utf-8", "surrogateescape"), "real_log": real_log_tail,
            "shapes": shape_logs}[source]()
    if not data:
        pytest.skip("the real audit log is not readable here")
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2] >= (3, 6))"],
                             stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout.strip()
    if version != "True":
        pytest.skip("%s is older than 3.6, which the collection does not support" % python)
    res = subprocess.run([python, "-c", SCRIPT, os.path.abspath(COLLECTIONS)], input=data,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(res.stdout.decode()) == expected(data)
