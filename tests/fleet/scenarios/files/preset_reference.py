#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host side of 68-presets: the audit package's sample rule files on this host, and what
auditctl itself makes of each. Found out here, independently of the collection (its own list of
directories, its own reading of the files), so that the scenario compares two implementations.

    preset_reference.py --run [NAME ...]

With names (stig, ospp-v42, ...), only those samples; without, every one. It empties the
kernel's rule list for a while: it refuses to start without --run, and holds the machine-wide
test lock (/run/auditfleet-tests.lock, flock) while it works, so that it waits for (and never
disturbs) a test of the collection running on the same machine.

Prints one JSON object: {"presets": {name: {path, reference, failed, added, whole}}, "restored",
"kernel_before", "left_out": {name: why}}, for every sample file (NN-name.rules) that holds
rules, found in the first of the directories below that has it (but those of NATIVE_32BIT_ONLY
on a kernel whose own ABI is 32-bit):
  reference  the kernel's rule list (`auditctl -l`) after `auditctl -D` and each rule line of
             the file loaded on its own, in order, on top of the ones before (what -R does)
  failed     the numbers of the lines auditctl refused that way
  added      {line number: the rules that line added to the list}
  whole      the list after `auditctl -D` and `auditctl -R` of the file with `-c` first: must be
             the reference (auditctl does not name every line it refuses with -c, so the failed
             lines come from the loading line by line)
Then the kernel's list is put back: `auditctl -D` and `auditctl -R /etc/audit/audit.rules` (what
the host's rules.d compiles to), checked against the list before ("restored"). Runs with the
host's python3 (3.6+). Lines are split at spaces only, as auditctl splits them.
"""
from __future__ import absolute_import, division, print_function

import fcntl
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile

ENV = dict(os.environ, LC_ALL="C")
DIRS = ("/usr/share/audit-rules", "/usr/share/audit/sample-rules",
        "/usr/share/doc/auditd/examples/audit-rules", "/usr/share/doc/auditd/examples/rules")
NAME = re.compile(r"\A[0-9]+-(.+)\.rules(\.gz)?\Z")
# Samples written for 64-bit hosts that must not be loaded where the kernel's own ABI is 32-bit
# (the fleet's i386 host): 21-no32bit's one rule, -a always,exit -F arch=b32 -S all, catches the
# 32-bit programs of a 64-bit host (its comment says so); on an i386 kernel it would audit every
# syscall of every process, this script's and the module's runs included, and flood auditd.
NATIVE_32BIT_ONLY = {"no32bit": "-F arch=b32 -S all on a 32-bit kernel audits every syscall of every process"}
MACHINE_32BIT = re.compile(r"\A(i[3-6]86|arm(?!64)\w*)\Z")


def auditctl(*args):
    proc = subprocess.Popen(("auditctl",) + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=ENV, universal_newlines=True)
    out, err = proc.communicate()
    return proc.returncode, out, err


def listing():
    out = auditctl("-l")[1]
    return [line for line in out.splitlines() if line.strip() and line.strip() != "No rules"]


def read(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def sample_files():
    found = {}
    for directory in DIRS:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for fname in names:
            m = NAME.match(fname)
            if m and m.group(1) not in found:
                found[m.group(1)] = os.path.join(directory, fname)
    return found


def is_rule(line):
    return line.strip().startswith(("-a ", "-w ", "-A "))


def reference(text):
    auditctl("-D")
    failed, added = [], {}
    for number, line in enumerate(text.split("\n"), 1):
        if not is_rule(line):
            continue
        before = listing()
        rc = auditctl(*[w for w in line.split(" ") if w])[0]
        if rc != 0:
            failed.append(number)
        else:
            added[str(number)] = [x for x in listing() if x not in before]
    one_by_one = listing()
    fd, tmp = tempfile.mkstemp(suffix=".rules")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("-c\n" + text)
        auditctl("-D")
        auditctl("-R", tmp)
        whole = listing()
    finally:
        os.unlink(tmp)
    return {"reference": one_by_one, "failed": failed, "added": added, "whole": whole}


def main():
    if sys.argv[1:2] != ["--run"]:
        sys.stderr.write(__doc__)
        return 2
    wanted = set(sys.argv[2:])
    lock = os.open("/run/auditfleet-tests.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        return work(wanted)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)


def work(wanted):
    kernel_before = listing()
    native_32bit = bool(MACHINE_32BIT.match(os.uname()[4]))
    out = {"presets": {}, "kernel_before": kernel_before, "left_out": {}}
    try:
        for name, path in sorted(sample_files().items()):
            if wanted and name not in wanted:
                continue
            if native_32bit and name in NATIVE_32BIT_ONLY:
                out["left_out"][name] = NATIVE_32BIT_ONLY[name]
                continue
            text = read(path)
            if not any(is_rule(line) for line in text.split("\n")):
                continue
            entry = reference(text)
            entry["path"] = path
            out["presets"][name] = entry
    finally:
        # what rules.d compiles to, without its -e line (never lock here), else the list itself
        try:
            compiled = [line for line in read("/etc/audit/audit.rules").split("\n")
                        if not line.strip().startswith("-e")]
        except (IOError, OSError):
            compiled = []
        for lines in (compiled, ["-D"] + kernel_before):
            fd, tmp = tempfile.mkstemp(suffix=".rules")
            with os.fdopen(fd, "w") as f:
                f.write("".join(line + "\n" for line in lines))
            auditctl("-D")
            auditctl("-R", tmp)
            os.unlink(tmp)
            if listing() == kernel_before:
                break
        out["restored"] = listing() == kernel_before
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
