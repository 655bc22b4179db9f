"""The collection tarball (ansible-galaxy collection build): what a user installs.

Both ways: nothing that only serves development is in it, and everything a user needs is, which
is every file of the checkout under plugins/, roles/, playbooks/, meta/, docs/, changelogs/ and
extensions/ (the EDA event source and rulebook)
(so a new module or doc cannot be left out by a build_ignore pattern without this failing).
"""
import fnmatch
import os
import tarfile

import yaml

from conftest import ROOT, build_tarball, checkout_files, copy_checkout, galaxy_yml

# Top-level entries a user's tarball may have, and the only file it ships from tests/.
ALLOWED_TOP = {"MANIFEST.json", "FILES.json", "README.md", "COPYING", "CHANGELOG.md", "bindep.txt",
               "meta", "plugins", "roles", "playbooks", "docs", "changelogs", "tests", "extensions"}
ALLOWED_TESTS = {"tests", "tests/config.yml"}
# Development-only files and trees (fnmatch on member names); named so a failure says which.
FORBIDDEN = ["Makefile", "ruff.toml", ".ansible-lint", ".gitignore", ".ci", ".ci/*", ".git*",
             "bench", "bench/*", "tools", "tools/*", "build", "build/*", ".venv*", ".cache*",
             "*__pycache__*", "*.pyc", "*.tar.gz", ".hypothesis*", ".pytest_cache*", ".ruff_cache*",
             "tests/fleet*", "tests/unit*", "tests/integration*", "tests/lib*", "tests/requirements*",
             "tests/release*", "tests/output*", "tests/conftest.py", "docs/fleet-tests.md", "docs/testing.md",
             "docs/execution-environment/context*", "docs/execution-environment/*.tar.gz"]
# Shipped trees: every checkout file in them must be in the tarball.
SHIPPED_TREES = ("plugins/", "roles/", "playbooks/", "meta/", "docs/", "changelogs/", "extensions/")
DEVELOPMENT_DOCS = {"docs/fleet-tests.md", "docs/testing.md"}
# Files a user (or Galaxy, Automation Hub, ansible-builder, antsibull-docs) reads.
REQUIRED = {"MANIFEST.json", "FILES.json", "README.md", "COPYING", "bindep.txt", "meta/runtime.yml",
            "meta/execution-environment.yml", "tests/config.yml", "changelogs/changelog.yaml",
            "changelogs/config.yaml", "docs/docsite/extra-docs.yml", "docs/docsite/links.yml",
            "docs/execution-environment/execution-environment.yml",
            "docs/execution-environment/requirements.yml", "playbooks/kill_report.yml", "playbooks/demo.yml",
            "roles/auditd_syscall/meta/argument_specs.yml"}


def released():
    with open(os.path.join(ROOT, "changelogs", "changelog.yaml")) as f:
        return bool((yaml.safe_load(f) or {}).get("releases"))


def test_no_development_files(members):
    bad = sorted(n for n in members if any(fnmatch.fnmatch(n, p) for p in FORBIDDEN))
    assert not bad, "development files in the tarball: %s" % bad
    top = sorted({n.split("/")[0] for n in members} - ALLOWED_TOP)
    assert not top, "unexpected top-level entries (development files? add them to build_ignore): %s" % top
    tests = sorted(n for n in members if n.startswith("tests") and n not in ALLOWED_TESTS)
    assert not tests, "tests/ ships only tests/config.yml: %s" % tests


def test_everything_a_user_needs(members):
    required = set(REQUIRED)
    if released():  # CHANGELOG.md exists from the first `antsibull-changelog release` on
        required.add("CHANGELOG.md")
    shipped = {n for n in checkout_files() if n.startswith(SHIPPED_TREES) and n not in DEVELOPMENT_DOCS}
    assert len(shipped) > 50
    missing = sorted((required | shipped) - set(members))
    assert not missing, "missing from the tarball: %s" % missing
    for name in ("plugins/modules/audit_rule.py", "plugins/modules/audit_facts.py", "plugins/lookup/audit_log.py"):
        assert name in members


def test_development_junk_is_left_out(tmp_path):
    """build_ignore, not only git: caches, build trees and work directories in the tree stay out."""
    src = copy_checkout(str(tmp_path / "auditd"))
    junk = ["tests/fleet/.work/vm1/disk.qcow2", "bench/out/report.json", ".cache/ruff/x", "build/demo/x",
            ".venv/ansible-2.16/bin/python", "plugins/modules/__pycache__/audit_rule.cpython-311.pyc",
            "tests/output/.tmp/x", ".pytest_cache/v", ".hypothesis/examples/x", "old-auditfleet-auditd-0.1.0.tar.gz",
            "docs/execution-environment/context/Containerfile",
            "docs/execution-environment/auditfleet-auditd-1.0.0.tar.gz"]
    for name in junk:
        os.makedirs(os.path.dirname(os.path.join(src, name)) or src, exist_ok=True)
        with open(os.path.join(src, name), "w") as f:
            f.write("junk\n")
    with tarfile.open(build_tarball(src, str(tmp_path / "dist"))) as tar:
        names = tar.getnames()
    checkout_dirs = {os.path.dirname(n) for n in checkout_files()}
    junk_dirs = {os.path.dirname(j) for j in junk if "/" in j} - checkout_dirs
    leaked = sorted(n for n in names if n in junk or n.rstrip("/") in junk_dirs
                    or any(fnmatch.fnmatch(n, p) for p in FORBIDDEN))
    assert not leaked, leaked


def test_manifest_version_and_licence(manifest):
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"]) == ("auditfleet", "auditd")
    assert info["version"] == galaxy_yml()["version"]
    major = int(info["version"].split(".")[0])
    assert major >= 1, "Automation Hub refuses versions below 1.0.0: %s" % info["version"]
    # galaxy.yml takes `license` or `license_file`, not both: the file, so the text is shown.
    assert info["license_file"] == "COPYING" and info["license"] == []


def test_copying_is_the_gplv3(tarball):
    with tarfile.open(tarball) as tar:
        text = tar.extractfile("COPYING").read().decode("utf-8")
    assert text.lstrip().startswith("GNU GENERAL PUBLIC LICENSE")
    assert "Version 3, 29 June 2007" in text.splitlines()[1]
    assert text.rstrip().endswith("<https://www.gnu.org/licenses/why-not-lgpl.html>.")
    debian = "/usr/share/common-licenses/GPL-3"  # where COPYING comes from (Debian's base-files)
    if os.path.exists(debian):
        with open(debian, encoding="utf-8") as f:
            assert text == f.read()
    # the headers say GPL-3.0-or-later and point to COPYING
    with open(os.path.join(ROOT, "plugins", "modules", "audit_rule.py")) as f:
        head = f.read(2000)
    assert "General Public License v3.0+ (see COPYING" in head
