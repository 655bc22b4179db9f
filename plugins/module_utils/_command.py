# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running an external program on the host: the collection's one command runner.

``run(argv, data=None, timeout=...)`` runs an argument list (never a shell) whose first item is
an absolute path (resolve it with ``AnsibleModule.get_bin_path``), with ``LC_ALL=C``, stdin
closed unless data is given, in a process group of its own. When it does not finish within
``timeout`` seconds the whole process group is killed and ``CommandTimeout`` is raised, naming
the command. ``AnsibleModule.run_command`` has no timeout on ansible-core 2.16, which is why
this exists.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import re
import signal
import subprocess

ENV = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C"}
# Reading state (auditctl -s/-l/-v, systemctl show) and changing it (auditctl -R, augenrules,
# systemctl restart): a load on a slow host with many rules takes longer than a query.
QUERY_TIMEOUT = 30
CHANGE_TIMEOUT = 120
# After the kill: how long to wait for the pipes to close before giving up on the output.
_REAP_SECONDS = 5
_PLAIN = re.compile(r"\A[A-Za-z0-9_@%+=:,./-]+\Z")


class CommandTimeout(Exception):
    """The command did not finish in time; its process group was killed."""

    def __init__(self, argv, timeout, stdout="", stderr=""):
        self.argv, self.timeout, self.stdout, self.stderr = list(argv), timeout, stdout, stderr
        self.msg = ("%s did not finish within %s s and was killed (with its process group)"
                    % (command_line(argv), timeout))
        super(CommandTimeout, self).__init__(self.msg)


def command_line(argv):
    """The argument list as one line for messages; an argument with anything but plain
    characters is shown quoted and escaped (repr)."""
    return " ".join(a if _PLAIN.match(a) else repr(a) for a in argv)


def _text(data):
    return (data or b"").decode("utf-8", "replace")


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError as e:  # already gone
        if e.errno != errno.ESRCH:
            raise


def run(argv, data=None, timeout=None):
    """Run ARGV; return (rc, stdout, stderr) as text. Raise CommandTimeout after TIMEOUT s
    (default QUERY_TIMEOUT).

    data: bytes (or text, sent as UTF-8) for the program's stdin.
    """
    timeout = timeout or QUERY_TIMEOUT
    argv = list(argv)
    if not argv or not os.path.isabs(argv[0]):
        raise ValueError("the command %r must start with an absolute path (from get_bin_path)"
                         % (argv,))
    if data is not None and not isinstance(data, bytes):
        data = data.encode("utf-8")
    env = dict(os.environ)
    env.update(ENV)
    # Not AnsibleModule.run_command: it has no timeout, and a hung auditctl must not hold the
    # host lock forever; this kills the command's whole process group on timeout.
    proc = subprocess.Popen(  # pylint: disable=ansible-bad-function
        argv, stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, close_fds=True,
        start_new_session=True)
    try:
        out, err = proc.communicate(input=data, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=_REAP_SECONDS)
        except subprocess.TimeoutExpired:
            # a descendant left the process group and still holds the pipes: stop reading
            out, err = b"", b""
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            proc.wait()
        raise CommandTimeout(argv, timeout, _text(out), _text(err))
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    return proc.returncode, _text(out), _text(err)
