#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command with its audit login uid set to a user, as pam_loginuid does at login.

Usage: with_loginuid.py USER COMMAND [ARG...]

The kernel keeps a login uid (auid) per process: pam_loginuid sets it when a user logs in, and
it survives su and sudo, so audit records name the person behind a root command. This wrapper
writes USER's uid to /proc/self/loginuid and then runs COMMAND as its child, so COMMAND runs with
the same uid as the caller (root) and the login uid of USER - what `ssh USER@host` then
`sudo COMMAND` gives. COMMAND runs in a child process (not exec'd in place) because the kernel
keeps the first command line it audits for a process (the PROCTITLE record) through exec: the
write to /proc/self/loginuid is audited (a LOGIN record), so an exec'd COMMAND would be reported
with this wrapper's command line. Exits with COMMAND's exit status. Root may change its login uid unless the kernel's loginuid is immutable
(auditctl --loginuid-immutable, auditctl -s: loginuid_immutable 1 locked).

Runs on the managed host with any Python 3.6+ (no walrus, no f-strings needed).
"""
from __future__ import absolute_import, division, print_function

import pwd
import subprocess
import sys


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: %s USER COMMAND [ARG...]\n" % argv[0])
        return 2
    user, command = argv[1], argv[2:]
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        sys.stderr.write("with_loginuid: no user %r on this host\n" % user)
        return 2
    try:
        with open("/proc/self/loginuid", "w") as f:
            f.write(str(uid))
    except (IOError, OSError) as e:
        sys.stderr.write(
            "with_loginuid: cannot set the login uid to %d (%s): %s. Setting it needs root "
            "(CAP_AUDIT_CONTROL) once a login uid is set, and is refused while the kernel's "
            "loginuid is immutable.\n" % (uid, user, e))
        return 1
    try:
        return subprocess.call(command)
    except OSError as e:
        sys.stderr.write("with_loginuid: cannot run %s: %s\n" % (command[0], e))
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv))
