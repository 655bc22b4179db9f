"""The packages the role auditfleet.auditd.auditd_syscall installs, per platform, resolved by the
role itself: ansible-playbook includes the role's tasks/set_vars.yml (and its vars) on made-up
hosts whose facts are set with set_fact (cacheable, so they are ansible_facts), and prints what
__auditd_syscall_packages is there. No module runs on a host; no root, no auditd.

EXPECTED is what the role's per-platform vars files (vars/<os_family>.yml, <distribution>.yml,
<distribution>_<major>.yml, loaded most generic first) answered before they became one map in
vars/main.yml: this test passed on both.
"""
import json
import os
import re
import subprocess
import sys

import pytest

from tests.lib.env import ansible_env, collection_tree

PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

AUDIT = ["audit"]
AUDIT4 = ["audit", "audit-rules"]
# (os_family, distribution, major version, full version) -> packages
EXPECTED = [
    ("Debian", "Debian", "11", "11.9", ["auditd"]),
    ("Debian", "Debian", "12", "12.8", ["auditd"]),
    ("Debian", "Debian", "13", "13.0", ["auditd"]),
    ("Debian", "Ubuntu", "22", "22.04", ["auditd"]),
    ("Debian", "Ubuntu", "24", "24.04", ["auditd"]),
    ("Debian", "Kali", "2024", "2024.4", ["auditd"]),
    ("RedHat", "RedHat", "8", "8.10", AUDIT),
    ("RedHat", "RedHat", "9", "9.5", AUDIT),
    ("RedHat", "RedHat", "10", "10.0", AUDIT4),
    ("RedHat", "CentOS", "9", "9", AUDIT),
    ("RedHat", "CentOS", "10", "10", AUDIT4),
    ("RedHat", "Rocky", "9", "9.5", AUDIT),
    ("RedHat", "Rocky", "10", "10.0", AUDIT4),
    ("RedHat", "AlmaLinux", "8", "8.10", AUDIT),
    ("RedHat", "AlmaLinux", "10", "10.0", AUDIT4),
    ("RedHat", "OracleLinux", "9", "9.5", AUDIT),
    ("RedHat", "OracleLinux", "10", "10.0", AUDIT4),
    # every Fedora (the file was Fedora.yml, not per version)
    ("RedHat", "Fedora", "39", "39", AUDIT4),
    ("RedHat", "Fedora", "42", "42", AUDIT4),
    ("RedHat", "Amazon", "2023", "2023.6", AUDIT),
    ("Suse", "SLES", "15", "15.6", AUDIT),
    ("Suse", "openSUSE Leap", "15", "15.6", AUDIT),
    ("Suse", "openSUSE Tumbleweed", "20250101", "20250101", AUDIT),
    ("Archlinux", "Archlinux", "NA", "NA", AUDIT),
    ("Gentoo", "Gentoo", "2", "2.17", AUDIT),
]

PLAYBOOK = """
- name: Resolve the role's packages on made-up hosts
  hosts: all
  gather_facts: false
  tasks:
    - name: Made-up facts
      ansible.builtin.set_fact:
        os_family: "{{ fake[0] }}"
        distribution: "{{ fake[1] }}"
        distribution_major_version: "{{ fake[2] }}"
        distribution_version: "{{ fake[3] }}"
        service_mgr: systemd
        cacheable: true
    - name: The role's platform variables
      ansible.builtin.include_role:
        name: auditfleet.auditd.auditd_syscall
        tasks_from: set_vars
        public: true
    - name: Print them
      ansible.builtin.debug:
        msg: "PKGS {{ inventory_hostname }} {{ __auditd_syscall_packages | to_json }}"
"""


def test_packages_per_platform(tmp_path):
    if not os.path.exists(PLAYBOOK_BIN):
        pytest.skip("no ansible-playbook next to %s" % sys.executable)
    collections = collection_tree(tmp_path, ["galaxy.yml", "meta", "roles"])
    hosts = {"h%02d" % i: {"ansible_connection": "local", "fake": list(p[:4])} for i, p in enumerate(EXPECTED)}
    (tmp_path / "inventory.json").write_text(json.dumps({"all": {"hosts": hosts}}))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    out = subprocess.run(
        [PLAYBOOK_BIN, "-i", str(tmp_path / "inventory.json"), str(tmp_path / "play.yml"), "--forks", "5"],
        env=ansible_env(collections, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout
    got = {}
    for quoted in re.findall(r'^\s*"msg": (".*")$', out.stdout, re.M):
        host, packages = json.loads(quoted).split(" ", 2)[1:]
        got[host] = json.loads(packages)
    want = {"h%02d" % i: p[4] for i, p in enumerate(EXPECTED)}
    assert got == want, "\n".join(
        "%s %s: got %s, want %s" % (EXPECTED[int(h[1:])][:4], h, got.get(h), w)
        for h, w in sorted(want.items()) if got.get(h) != w)
