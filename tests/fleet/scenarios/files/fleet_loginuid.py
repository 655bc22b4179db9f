#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of 69-loginuid-immutable: as root with someone's login uid (a user logged in by ssh,
then sudo), try to change the login uid the way a root who wants to hide would, then kill a
process of ours from that same process, and print what happened as JSON.

    fleet_loginuid.py [NEW_UID]     (default 0)
    fleet_loginuid.py features      only the FEATURE_CHANGE records (below)

A child process writes NEW_UID to /proc/self/loginuid (root may, while login uids are
changeable: CAP_AUDIT_CONTROL), reads its login uid back, then sends SIGUSR1 with kill(2) to a
`sleep` started here in a session of its own. The kill rule records that kill with the child's
login uid (auid) at that moment: the login user's when the write was refused, NEW_UID when it
was not. Also prints the FEATURE_CHANGE records of the login uid feature in the audit log
(ausearch), the kernel's own record of each time something set it.
Prints {"started", "loginuid_before", "new_uid", "write" ("ok" or the error), "loginuid_after",
"killer_pid", "victim_pid", "victim_signal", "feature_changes": [{"serial", "old", "new",
"old_lock", "new_lock", "res", "comm"}]}. Runs with the host's python3 (3.6+).
"""
from __future__ import absolute_import, division, print_function

import json
import os
import re
import signal
import subprocess
import sys
import time

ENV = dict(os.environ, LC_ALL="C")


def read_loginuid():
    with open("/proc/self/loginuid") as f:
        return int(f.read().strip())


def feature_changes():
    """The FEATURE_CHANGE records of loginuid_immutable in the audit log, oldest first ([] when
    there are none or ausearch is not installed)."""
    try:
        res = subprocess.run(["ausearch", "--input-logs", "-m", "FEATURE_CHANGE", "--raw"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                             universal_newlines=True, timeout=60, check=False)
    except OSError:
        return []
    out = []
    for line in res.stdout.splitlines():
        if "feature=loginuid_immutable" not in line:
            continue
        fields = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
        serial = re.search(r"msg=audit\([0-9.]+:([0-9]+)\)", line)
        out.append({"serial": int(serial.group(1)) if serial else None,
                    "old": fields.get("old"), "new": fields.get("new"),
                    "old_lock": fields.get("old_lock"), "new_lock": fields.get("new_lock"),
                    "res": fields.get("res"), "comm": fields.get("comm", "").strip('"')})
    return out


def main(argv):
    if argv == ["features"]:
        print(json.dumps({"feature_changes": feature_changes()}, sort_keys=True))
        return 0
    new_uid = int(argv[0]) if argv else 0
    started = time.time()
    before = read_loginuid()
    victim = subprocess.Popen(["sleep", "300"], start_new_session=True)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: try to change the login uid, then kill with whatever it has
        code = 1
        try:
            os.close(r)
            try:
                with open("/proc/self/loginuid", "w") as f:
                    f.write(str(new_uid))
                write = "ok"
            except (IOError, OSError) as e:
                write = "%s: %s" % (type(e).__name__, e)
            after = read_loginuid()
            os.kill(victim.pid, signal.SIGUSR1)
            os.write(w, json.dumps({"write": write, "loginuid_after": after}).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        child = json.loads(f.read().decode() or "{}")
    os.waitpid(pid, 0)
    try:
        victim.wait(timeout=30)
    except subprocess.TimeoutExpired:
        victim.kill()
        victim.wait()
    out = {"started": int(started), "loginuid_before": before, "new_uid": new_uid,
           "write": child.get("write"), "loginuid_after": child.get("loginuid_after"),
           "killer_pid": pid, "victim_pid": victim.pid, "victim_signal": -victim.returncode,
           "feature_changes": feature_changes()}
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
