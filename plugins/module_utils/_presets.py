# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sample rule sets of the host's own audit package ("presets").

The audit package ships rule files written for compliance profiles and common needs
(30-stig.rules, 30-ospp-v42.rules, 30-pci-dss-v31.rules, 43-module-load.rules, ...). Where they
are depends on the distribution and the audit version (docs/rule-sets.md has the measurements
and sources):

- audit 4.x as built upstream (Fedora 40+, RHEL 10, openSUSE Tumbleweed: package audit-rules):
  /usr/share/audit-rules
- audit 3.x as built upstream (RHEL 8 and 9, Fedora up to 39, SUSE 15, Alpine):
  /usr/share/audit/sample-rules
- Debian and Ubuntu with audit 4 (Debian 13: auditd 4.0.2): /usr/share/doc/auditd/examples/audit-rules
- Debian and Ubuntu with audit 2.8 to 3.x (Debian 12: auditd 3.0.9): /usr/share/doc/auditd/examples/rules
- audit 2.x on Fedora/RHEL (%doc): /usr/share/doc/audit/rules, /usr/share/doc/audit-VERSION/rules (RHEL 7)

A preset is named by its file name without the number and .rules: ``stig`` is NN-stig.rules
(NN is its place in augenrules' order, and the default priority of the set). A file may be
compressed (``.rules.gz``). The first directory of PRESET_DIRS that has the preset wins, so a
host's newest layout is read first. Nothing here changes the host; the collection carries no
copy of any rule text: each host reads its own package's version.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re
import zlib

from ansible_collections.auditfleet.auditd.plugins.module_utils import _files

PRESET_DIRS = (
    "/usr/share/audit-rules",
    "/usr/share/audit/sample-rules",
    "/usr/share/doc/auditd/examples/audit-rules",
    "/usr/share/doc/auditd/examples/rules",
    "/usr/share/doc/audit/rules",
)
# RHEL 7 and older Fedora keep the documentation under a versioned name.
PRESET_GLOBS = ("/usr/share/doc/audit-[0-9]*/rules",)
PRESET_NAME_RE = re.compile(r"\A(?:[0-9]{1,2}-)?([a-z0-9][a-z0-9.-]{0,63})\Z")
_FILE_RE = re.compile(r"\A([0-9]{1,2})-([a-z0-9][a-z0-9._-]*?)\.rules(\.gz)?\Z")
MAX_BYTES = 1 << 20   # the largest sample file is about 10 KiB


class PresetError(Exception):
    def __init__(self, msg):
        super(PresetError, self).__init__(msg)
        self.msg = msg


def preset_dirs():
    """The directories searched, in order (the globbed ones sorted, newest version last)."""
    dirs = list(PRESET_DIRS)
    for pattern in PRESET_GLOBS:
        dirs.extend(sorted(glob.glob(pattern), reverse=True))
    return dirs


def available(dirs=None):
    """{preset name: path} of every preset in DIRS (the first directory that has a name wins)."""
    found = {}
    for directory in dirs if dirs is not None else preset_dirs():
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for fname in names:
            m = _FILE_RE.match(fname)
            if m and m.group(2) not in found:
                found[m.group(2)] = os.path.join(directory, fname)
    return found


def find(name, dirs=None):
    """(path, priority) of preset NAME (stig, or 30-stig); PresetError when the host's audit
    package does not have it, naming the directories searched and the presets found."""
    m = PRESET_NAME_RE.match(name) if isinstance(name, str) else None
    if m is None:
        raise PresetError("preset %r is not a preset name: use the name of a sample rule file of "
                          "the audit package without its number and .rules (for example stig, "
                          "ospp-v42, pci-dss-v31)" % (name,))
    dirs = dirs if dirs is not None else preset_dirs()
    found = available(dirs)
    path = found.get(m.group(1))
    if path is None:
        existing = [d for d in dirs if os.path.isdir(d)]
        raise PresetError(
            "preset %r: this host's audit package has no sample rule file NN-%s.rules (searched "
            "%s; %s)" % (name, m.group(1), ", ".join(dirs),
                         "presets found: %s" % ", ".join(sorted(found)) if found else
                         "none of them has sample rules: the audit package is not installed, "
                         "or the image leaves /usr/share/doc out (Debian and Ubuntu container "
                         "images do)" if not existing else "no sample rule file found there"))
    return path, int(_FILE_RE.match(os.path.basename(path)).group(1))


def read(name, dirs=None):
    """(text, path, priority) of preset NAME, read from the host (gzip when .gz), at most
    MAX_BYTES."""
    path, priority = find(name, dirs)
    try:
        data, st = _files.read_regular(path, what="sample rule file")
    except _files.FileProblem as e:
        raise PresetError(e.msg)
    if data is None:
        raise PresetError("preset %r: %s has gone" % (name, path))
    if len(data) > MAX_BYTES:
        raise PresetError("preset %r: %s is larger than %d bytes: refused" % (name, path, MAX_BYTES))
    if path.endswith(".gz"):
        try:
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = inflate.decompress(data, MAX_BYTES + 1)
        except zlib.error as e:
            raise PresetError("preset %r: %s is not a readable gzip file: %s" % (name, path, e))
        if len(data) > MAX_BYTES:
            raise PresetError("preset %r: %s holds more than %d bytes: refused"
                              % (name, path, MAX_BYTES))
    return data.decode("utf-8", "replace"), path, priority
