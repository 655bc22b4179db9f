#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of 30-kill-report: kill processes of our own as different users, print what the
kill report must show for each kill, as JSON.

    fleet_kills.py root OTHER_USER   as root (ssh root@host: login uid 0), three or four kills:
        root          root kills a root process (SIGTERM)                     auid root,  uid root
        user          OTHER_USER, with its own login uid, kills its process   auid OTHER, uid OTHER
                      (SIGINT)
        sudo          root with OTHER_USER's login uid kills a root process   auid OTHER, uid root
                      (SIGHUP): what `ssh OTHER@host` then `sudo kill` gives
        compat        root kills a root process with the image's 32-bit      auid root,  uid root
                      killer (/usr/local/libexec/fleet/kill32, SIGALRM), only on a 64-bit kernel
                      that runs it: the kill goes through the kernel's 32-bit compat ABI
    fleet_kills.py login             as a user logged in by ssh (pam_loginuid set its login uid),
                                     two kills:
        login_user    the user kills its own process (SIGUSR1)                auid USER, uid USER
        login_sudo    the user runs `sudo -n kill` on a root process          auid USER, uid root
                      (SIGUSR2): a real sudo

The login uid is set the way pam_loginuid does it: by writing /proc/self/loginuid, in a child
that then starts kill as its own child. kill runs in a grandchild because the kernel keeps the
command line it first audits for a process (PROCTITLE) through exec, and the write to
/proc/self/loginuid is audited (a LOGIN record) in the child (playbooks/files/with_loginuid.py
does the same). Every victim is a `sleep` started here, in a session of its own; the kill must
end it with the expected signal. Each kill also says the syscall and the audit arch name its
killer used: `kill` (procps) is a program of the host's native ABI (x86_64, aarch64, i386 on a
32-bit kernel), kill32 one of the 32-bit compat ABI (i386 on x86_64, arm on aarch64).
Prints {"started": epoch, "loginuid": N, "machine": uname -m, "kills": [...]}.
Runs with the host's python3 (3.6+).
"""
from __future__ import absolute_import, division, print_function

import json
import os
import pwd
import signal
import subprocess
import sys
import time

KILL = "/usr/bin/kill" if os.path.exists("/usr/bin/kill") else "/bin/kill"
KILL32 = "/usr/local/libexec/fleet/kill32"
ENV = dict(os.environ, LC_ALL="C")
MACHINE = os.uname()[4]
# uname -m -> audit arch name (AUDIT_ARCH_*, as the kill report names it) of the native ABI and
# of the 32-bit compat ABI
ARCH_NAMES = {"x86_64": ("x86_64", "i386"), "aarch64": ("aarch64", "arm"), "s390x": ("s390x", "s390"),
              "i686": ("i386", None), "i386": ("i386", None)}
NATIVE_ARCH, COMPAT_ARCH = ARCH_NAMES.get(MACHINE, (MACHINE, None))


def fail(msg):
    sys.stderr.write("fleet_kills: %s\n" % msg)
    sys.exit(1)


def wait_exec(pid, comm="sleep"):
    """Wait until PID runs COMM: a signal that lands between fork and exec hits the wrong program."""
    for _attempt in range(200):
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == comm:
                    return
        except (IOError, OSError):
            fail("victim %d vanished before it ran %s" % (pid, comm))
        time.sleep(0.05)
    fail("victim %d does not run %s after 10 s" % (pid, comm))


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (IOError, OSError):
        return True


def dropper(user):
    def drop():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    return drop


def kill_with(sig, pid, loginuid=None, run_as=None, killer=None):
    """Send SIG to PID with `kill` (or KILLER, which takes PID and the signal number), in a
    grandchild with login uid LOGINUID (None: inherited) and user RUN_AS (None: root).
    Returns the pid of the kill process."""
    rfd, wfd = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(rfd)
            if loginuid is not None:
                with open("/proc/self/loginuid", "w") as f:
                    f.write(str(loginuid))
            argv = ([KILL, "-s", sig, str(pid)] if killer is None
                    else [killer, str(pid), str(int(getattr(signal, "SIG" + sig)))])
            proc = subprocess.Popen(argv, env=ENV, preexec_fn=dropper(run_as) if run_as else None)
            os.write(wfd, str(proc.pid).encode())
            os.close(wfd)
            os._exit(proc.wait())
        except BaseException as e:  # the child must never return into the parent's code
            sys.stderr.write("fleet_kills: kill in child failed: %s\n" % e)
            os._exit(99)
    os.close(wfd)
    killer = os.read(rfd, 32).decode()
    os.close(rfd)
    dummy, status = os.waitpid(child, 0)
    if status != 0:
        fail("kill -s %s %d (login uid %s, user %s) failed: status %d"
             % (sig, pid, loginuid, run_as.pw_name if run_as else "root", status))
    return int(killer)


def entry(case, sig, victim, killer_pid, auid, uid, comm="kill", arch=NATIVE_ARCH):
    return {"case": case, "signal_name": "SIG" + sig, "signal": int(getattr(signal, "SIG" + sig)),
            "target_pid": victim, "killer_pid": killer_pid,
            "auid": auid, "login_user": pwd.getpwuid(auid).pw_name,
            "uid": uid, "user": pwd.getpwuid(uid).pw_name,
            "comm": comm, "syscall": "kill", "arch": arch}


def runs_kill32():
    """A 64-bit kernel that runs the image's 32-bit killer (its compat ABI)."""
    if COMPAT_ARCH is None or not os.path.exists(KILL32):
        return False
    return subprocess.call([KILL32]) == 0


def as_root(other_name):
    if os.geteuid() != 0:
        fail("'root' mode needs root")
    other = pwd.getpwnam(other_name)
    my_auid = int(open("/proc/self/loginuid").read())
    kills = []
    cases = [("root", "TERM", None, None, None, None),
             ("user", "INT", other, other.pw_uid, other, None),
             ("sudo", "HUP", None, other.pw_uid, None, None)]
    if runs_kill32():
        cases.append(("compat", "ALRM", None, None, None, KILL32))
    for case, sig, victim_user, loginuid, run_as, killer_prog in cases:
        victim = subprocess.Popen(["sleep", "300"], start_new_session=True, stdin=subprocess.DEVNULL,
                                  preexec_fn=dropper(victim_user) if victim_user else None)
        wait_exec(victim.pid)
        killer = kill_with(sig, victim.pid, loginuid=loginuid, run_as=run_as, killer=killer_prog)
        try:
            rc = victim.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fail("victim %d survived SIG%s" % (victim.pid, sig))
        if rc != -getattr(signal, "SIG" + sig):
            fail("victim %d ended with %s, not by SIG%s" % (victim.pid, rc, sig))
        kills.append(entry(case, sig, victim.pid, killer,
                           my_auid if loginuid is None else loginuid,
                           0 if run_as is None else run_as.pw_uid,
                           comm="kill" if killer_prog is None else os.path.basename(killer_prog),
                           arch=NATIVE_ARCH if killer_prog is None else COMPAT_ARCH))
    return my_auid, kills


def as_login_user():
    me = pwd.getpwuid(os.getuid())
    my_auid = int(open("/proc/self/loginuid").read())
    if os.getuid() == 0 or my_auid != me.pw_uid:
        fail("'login' mode needs a user logged in by ssh with its own login uid (uid %d, login uid %d)"
             % (os.getuid(), my_auid))
    kills = []
    # its own process
    victim = subprocess.Popen(["sleep", "300"], start_new_session=True, stdin=subprocess.DEVNULL)
    wait_exec(victim.pid)
    killer = subprocess.Popen([KILL, "-s", "USR1", str(victim.pid)], env=ENV)
    if killer.wait() != 0:
        fail("kill -s USR1 %d failed" % victim.pid)
    if victim.wait(timeout=30) != -signal.SIGUSR1:
        fail("victim %d did not end by SIGUSR1" % victim.pid)
    kills.append(entry("login_user", "USR1", victim.pid, killer.pid, my_auid, me.pw_uid))
    # a root process, killed through sudo
    out = subprocess.check_output(["sudo", "-n", "sh", "-c", "setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!"])
    pid = int(out.decode().strip())
    wait_exec(pid)
    killer = subprocess.Popen(["sudo", "-n", KILL, "-s", "USR2", str(pid)], env=ENV)
    if killer.wait() != 0:
        fail("sudo kill -s USR2 %d failed" % pid)
    for _attempt in range(300):
        if gone(pid):
            break
        time.sleep(0.1)
    else:
        fail("victim %d survived sudo kill -s USR2" % pid)
    # the kill process is sudo's child: its pid is not known here (None: not checked)
    kills.append(entry("login_sudo", "USR2", pid, None, my_auid, 0))
    return my_auid, kills


def main(argv):
    started = time.time()
    if argv[:1] == ["root"] and len(argv) == 2:
        auid, kills = as_root(argv[1])
    elif argv == ["login"]:
        auid, kills = as_login_user()
    else:
        fail("usage: fleet_kills.py root OTHER_USER | fleet_kills.py login")
    print(json.dumps({"started": started, "loginuid": auid, "machine": MACHINE, "kills": kills}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
