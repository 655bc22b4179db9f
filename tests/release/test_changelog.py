"""The changelog: fragments lint clean, and the release the integrator runs last
(`antsibull-changelog release`, version from galaxy.yml) works: it is run here on a copy of the
checkout, never on the checkout itself.
"""
import os
import tarfile

import yaml

from conftest import ROOT, build_tarball, copy_checkout, galaxy_yml, release_tool, run


def test_lint():
    res = run([release_tool("antsibull-changelog"), "lint"], cwd=ROOT)
    assert res.returncode == 0, res.stdout
    assert res.stdout.strip() == "", res.stdout


def test_release_on_a_copy(tmp_path):
    """Before the release: run it on a copy. After it: check what it wrote into the checkout."""
    src = copy_checkout(str(tmp_path / "auditd"))
    version = galaxy_yml(src)["version"]
    fragments_dir = os.path.join(src, "changelogs", "fragments")
    with open(os.path.join(src, "changelogs", "changelog.yaml")) as f:
        already = version in ((yaml.safe_load(f) or {}).get("releases") or {})
    if not already:
        fragments = sorted(os.listdir(fragments_dir))  # after the release there may be none, nor the directory
        res = run([release_tool("antsibull-changelog"), "release", "--date", "2026-12-01"], cwd=src)
        assert res.returncode == 0, res.stdout
        assert os.listdir(fragments_dir) == []  # keep_fragments: false
    with open(os.path.join(src, "changelogs", "changelog.yaml")) as f:
        release = yaml.safe_load(f)["releases"][version]
    if not already:
        assert release["release_date"] == "2026-12-01"
        assert sorted(release["fragments"]) == fragments
    changes = release["changes"]
    assert changes["release_summary"].startswith("First release")
    assert changes["minor_changes"] and changes["known_issues"]
    assert {m["name"] for m in release["modules"]} == {"audit_rule", "audit_facts"}
    assert {p["name"] for p in release["plugins"]["filter"]} >= {"kill_reports", "fleet_kill_report"}
    assert [p["name"] for p in release["plugins"]["lookup"]] == ["audit_log"]
    assert [r["name"] for r in release["objects"]["role"]] == ["auditd_syscall"]

    with open(os.path.join(src, "CHANGELOG.md")) as f:
        changelog = f.read()
    text = changelog.replace("\\", "")  # the Markdown escapes punctuation: auditfleet\.auditd
    assert text.startswith("# auditfleet.auditd Release Notes")
    assert "## v%s" % version in text
    for heading in ("Release Summary", "Minor Changes", "Known Issues", "New Plugins", "New Modules",
                    "New Roles"):
        assert "### " + heading in text, heading
    for name in ("auditfleet.auditd.audit_rule", "auditfleet.auditd.audit_facts", "auditfleet.auditd.audit_log",
                 "auditfleet.auditd.kill_reports", "auditfleet.auditd.auditd_syscall"):
        assert name in text, name

    # the released tree builds a tarball with CHANGELOG.md, and the changelog lints clean
    with tarfile.open(build_tarball(src, str(tmp_path / "dist"))) as tar:
        assert "CHANGELOG.md" in tar.getnames()
    res = run([release_tool("antsibull-changelog"), "lint"], cwd=src)
    assert res.returncode == 0 and res.stdout.strip() == "", res.stdout
