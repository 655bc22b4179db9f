"""galaxy-importer (the import checks of Galaxy and Automation Hub) on the built tarball, with
Automation Hub's settings (tests/release/galaxy-importer.cfg): it must pass with no warning.
"""
import json
import os
import re

import pytest

from conftest import RELEASE_BIN, build_tarball, copy_checkout, run

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "galaxy-importer.cfg")


def import_tarball(tarball, cwd):
    python = os.path.join(RELEASE_BIN, "python")
    if not os.access(python, os.X_OK):
        pytest.fail("no release toolchain: run `tools/testenv.sh release`")
    res = run([python, "-m", "galaxy_importer.main", tarball], cwd=cwd,
              env={"GALAXY_IMPORTER_CONFIG": CONFIG,
                   "GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP": os.path.join(cwd, "ansible-tmp"),
                   "GALAXY_IMPORTER_TMP_ROOT_DIR": cwd})
    result = None
    path = os.path.join(cwd, "importer_result.json")
    if os.path.exists(path):
        with open(path) as f:
            result = json.load(f)
    return res, result


@pytest.fixture(scope="module")
def imported(tarball, tmp_path_factory):
    return import_tarball(tarball, str(tmp_path_factory.mktemp("importer")))


def test_import_passes_with_no_warning(imported):
    res, result = imported
    print(res.stdout)
    assert res.returncode == 0, res.stdout
    # galaxy-importer prints INFO lines bare and everything else as "LEVEL: message"
    flagged = [line for line in res.stdout.splitlines() if re.match(r"^(WARNING|ERROR|CRITICAL)\b", line)]
    assert not flagged, "\n".join(flagged)
    assert "Importer processing completed successfully" in res.stdout
    assert "Linting collection via ansible-lint" in res.stdout  # the lint did run
    assert result is not None


def test_import_result(imported):
    result = imported[1]
    meta = result["metadata"]
    assert meta["version"] == "1.0.0" or int(meta["version"].split(".")[0]) >= 1
    assert meta["license_file"] == "COPYING"
    assert {"linux", "security", "monitoring"} <= set(meta["tags"])
    assert result["requires_ansible"] == ">=2.16.0"
    contents = {(c["content_type"], c["name"]) for c in result["contents"]}
    for item in [("module", "audit_rule"), ("module", "audit_facts"), ("lookup", "audit_log"),
                 ("filter", "kill_reports"), ("filter", "fleet_kill_report"), ("role", "auditd_syscall"),
                 ("playbook", "kill_report.yml"), ("playbook", "demo.yml")]:
        assert item in contents
    # ansible-doc rendered every module, plugin and role (doc_strings is None where it failed)
    docs = {(c["content_type"], c["content_name"]): c for c in result["docs_blob"]["contents"]}
    for kind in ("module", "lookup", "filter"):
        names = [n for (t, n) in docs if t == kind]
        assert names, kind
        for name in names:
            assert docs[(kind, name)]["doc_strings"], (kind, name)
    assert docs[("role", "auditd_syscall")]["readme_html"]
    doc_files = {d["name"] for d in result["docs_blob"]["documentation_files"]}
    assert {"kill-report.md", "fleet-report.md", "architecture.md", "execution-environment.md"} <= doc_files
    assert not {"fleet-tests.md", "testing.md"} & doc_files


def test_hub_settings_are_in_force(tmp_path):
    """The same import refuses a 0.x version (REQUIRE_V1_OR_GREATER): the settings are read."""
    src = copy_checkout(str(tmp_path / "auditd"))
    path = os.path.join(src, "galaxy.yml")
    with open(path) as f:
        text = f.read()
    text, count = re.subn(r"(?m)^version: .*$", "version: 0.9.0", text)
    assert count == 1
    with open(path, "w") as f:
        f.write(text)
    res = import_tarball(build_tarball(src, str(tmp_path / "dist")), str(tmp_path))[0]
    assert res.returncode != 0
    assert "requires version to be 1.0.0 or greater" in res.stdout, res.stdout
