#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of the fleet scenarios: print the host's audit state as one JSON object, so that a
scenario reads everything it checks with one task (each task costs 10-30 s on the fleet).

    fleet_probe.py [--try-restart] [--delete-rules] [--key KEY]

Prints: boot_id, hostname, now (epoch), loginuid (of this process), platform (what the host is,
found out here, independently of the collection: machine (uname -m), os (ID VERSION_ID), abis
(the syscall ABIs the kernel runs: b64 on a 64-bit kernel, b32 where a 32-bit program runs,
tried with the image's 32-bit killer /usr/local/libexec/fleet/kill32, or natively on a 32-bit
kernel), arch_names (the audit arch name of each ABI, as the kill report names it)),
auditd (package version, systemd state, RefuseManualStop, main pid, pidof, start time of that
pid), audit_rules_service (audit 4: LoadState, InvocationID and result of audit-rules.service),
status (`auditctl -s` as a dict), rules (`auditctl -l` lines, [] for "No rules"), rules_by_key
({key: {arch: [syscalls]}} of the syscall rules), rules_d ({file: sha256} of
/etc/audit/rules.d), auditd_conf ({key: value}) and auditd_conf_mtime.

--try-restart    first try `systemctl restart auditd` and `service auditd restart` and report
                 their exit status and output under "restart_attempts" (both are refused where
                 auditd.service has RefuseManualStop=yes); the auditd pid is read after them.
--delete-rules   `auditctl -D` first (drift: the kernel loses its rules, the files stay).
--key KEY        also kill a process of ours and wait until ausearch finds the kill under KEY
                 ("recorded": the rule works in this kernel, not only listed).
Runs with the host's python3 (3.6+): no f-strings needed, no third-party modules.
"""
from __future__ import absolute_import, division, print_function

import hashlib
import json
import os
import subprocess
import sys
import time

ENV = dict(os.environ, LC_ALL="C")
RULES_D = "/etc/audit/rules.d"
CONF = "/etc/audit/auditd.conf"
KILL32 = "/usr/local/libexec/fleet/kill32"
# uname -m -> (audit arch name of the native ABI, of the 32-bit compat ABI), as the audit
# tables name AUDIT_ARCH_* (the kill report's `arch`); 64-bit machines only have b64 natively.
ARCH_NAMES = {"x86_64": ("x86_64", "i386"), "aarch64": ("aarch64", "arm"), "s390x": ("s390x", "s390"),
              "ppc64le": ("ppc64le", "ppc"), "i686": (None, "i386"), "i386": (None, "i386"),
              "armv7l": (None, "arm")}


def run(argv):
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=ENV, universal_newlines=True)
    except OSError as e:
        return {"rc": 127, "stdout": "", "stderr": str(e)}
    out, err = proc.communicate()
    return {"rc": proc.returncode, "stdout": out.strip(), "stderr": err.strip()}


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except (IOError, OSError):
        return default


def start_time(pid):
    """Epoch seconds at which process PID started (from /proc/PID/stat and the boot time)."""
    stat = read("/proc/%s/stat" % pid)
    if not stat:
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])
    btime = [int(line.split()[1]) for line in read("/proc/stat").splitlines() if line.startswith("btime ")][0]
    return btime + ticks / float(os.sysconf("SC_CLK_TCK"))


def kill_recorded(key):
    """Kill a sleep of ours and wait until ausearch finds it under KEY."""
    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    # kill only once the child runs sleep (a signal between fork and exec may hit python)
    for _attempt in range(100):
        if read("/proc/%d/comm" % victim.pid) == "sleep":
            break
        time.sleep(0.05)
    os.kill(victim.pid, 15)
    victim.wait()
    needle = " opid=%d " % victim.pid
    for _attempt in range(30):
        # --input-logs: ausearch reads stdin whenever stdin is not a terminal
        res = run(["ausearch", "--input-logs", "-k", key, "-m", "OBJ_PID"])
        if any(needle in line + " " for line in res["stdout"].splitlines()):
            return True
        time.sleep(1)
    return False


def platform_facts():
    machine = os.uname()[4]
    os_release = {}
    for line in (read("/etc/os-release", "") or "").splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            os_release[k] = v.strip('"')
    native, compat = ARCH_NAMES.get(machine, (machine, None))
    abis, names = [], {}
    if native is not None:
        abis.append("b64")
        names["b64"] = native
    # b32: natively on a 32-bit kernel, else where the image's 32-bit program runs
    if native is None or (os.path.exists(KILL32) and run([KILL32])["rc"] == 0):
        abis.append("b32")
        names["b32"] = compat
    return {"machine": machine, "os": "%s %s" % (os_release.get("ID"), os_release.get("VERSION_ID")),
            "abis": abis, "arch_names": names, "kill32": KILL32 if native is not None and "b32" in abis else None}


def rules_by_key(lines):
    """{key: {arch: sorted syscalls}} of `auditctl -l` syscall rules (arch "" when none)."""
    out = {}
    for line in lines:
        words = line.split()
        arch, syscalls, key = "", [], None
        for i, w in enumerate(words[:-1]):
            nxt = words[i + 1]
            if w == "-S":
                syscalls += nxt.split(",")
            elif w == "-F" and nxt.startswith("arch="):
                arch = nxt[5:]
            elif w == "-F" and nxt.startswith("key="):
                key = nxt[4:]
        if syscalls:
            out.setdefault(key, {}).setdefault(arch, [])
            out[key][arch] = sorted(set(out[key][arch] + syscalls))
    return out


def main(argv):
    out = {"boot_id": read("/proc/sys/kernel/random/boot_id"), "hostname": os.uname()[1],
           "loginuid": read("/proc/self/loginuid"), "platform": platform_facts()}
    if "--delete-rules" in argv:
        out["delete_rules"] = run(["auditctl", "-D"])
    if "--try-restart" in argv:
        out["pid_before_restart_attempts"] = run(["pidof", "auditd"])["stdout"]
        out["restart_attempts"] = {"systemctl": run(["systemctl", "restart", "auditd"]),
                                   "service": run(["service", "auditd", "restart"])}
    show = run(["systemctl", "show", "-p", "ActiveState,UnitFileState,RefuseManualStop,MainPID", "auditd"])
    props = dict(line.split("=", 1) for line in show["stdout"].splitlines() if "=" in line)
    pid = run(["pidof", "auditd"])["stdout"]
    out["auditd"] = {
        "version": run(["dpkg-query", "-W", "-f", "${Version} ${db:Status-Status}", "auditd"])["stdout"],
        "active": props.get("ActiveState"), "enabled": props.get("UnitFileState"),
        "refuse_manual_stop": props.get("RefuseManualStop"), "main_pid": props.get("MainPID"),
        "pid": pid, "started": start_time(pid) if pid and " " not in pid else None,
    }
    show = run(["systemctl", "show", "-p", "LoadState,InvocationID,Result,ExecMainStartTimestampMonotonic",
                "audit-rules.service"])
    out["audit_rules_service"] = dict(line.split("=", 1) for line in show["stdout"].splitlines() if "=" in line)
    out["audit_version"] = run(["auditctl", "-v"])["stdout"].split()[-1:] or [None]
    out["audit_version"] = out["audit_version"][0]
    status = run(["auditctl", "-s"])
    out["status"] = dict(line.split(" ", 1) for line in status["stdout"].splitlines() if " " in line)
    out["status_rc"] = status["rc"]
    listing = run(["auditctl", "-l"])
    out["rules"] = [line for line in listing["stdout"].splitlines() if line and line != "No rules"]
    out["rules_rc"] = listing["rc"]
    out["rules_by_key"] = rules_by_key(out["rules"])
    rules_d = {}
    if os.path.isdir(RULES_D):
        for name in sorted(os.listdir(RULES_D)):
            path = os.path.join(RULES_D, name)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    rules_d[name] = hashlib.sha256(f.read()).hexdigest()
    out["rules_d"] = rules_d
    conf = {}
    for line in (read(CONF, "") or "").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            conf[k.strip().lower()] = v.strip()
    out["auditd_conf"] = conf
    out["auditd_conf_mtime"] = os.stat(CONF).st_mtime if os.path.exists(CONF) else None
    if "--key" in argv:
        out["recorded"] = kill_recorded(argv[argv.index("--key") + 1])
    out["now"] = time.time()
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
