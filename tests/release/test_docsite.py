"""The antsibull-docs site: extra docs generated from docs/*.md are up to date, and the site
builds from the tarball with `sphinx-build -W` (warnings are errors), offline.
"""
import os
import re
import shutil

import pytest
import yaml

from conftest import RELEASE_BIN, ROOT, run

TOOL = os.path.join(ROOT, "tools", "docsite.py")
EXTRA_DOCS = os.path.join(ROOT, "docs", "docsite", "extra-docs.yml")


def test_rst_is_generated_from_the_markdown():
    if not shutil.which("pandoc"):
        pytest.fail("pandoc is missing: tools/testenv.sh release installs it (apt-get install pandoc)")
    res = run([os.path.join(RELEASE_BIN, "python"), TOOL, "rst", "--check"])
    assert res.returncode == 0, res.stdout


def test_every_user_doc_is_in_the_site():
    with open(EXTRA_DOCS) as f:
        refs = [entry for section in yaml.safe_load(f)["sections"] for entry in section["toctree"]]
    docs = sorted(n[:-3] for n in os.listdir(os.path.join(ROOT, "docs")) if n.endswith(".md"))
    assert sorted(refs + ["fleet-tests", "testing"]) == docs  # for developers, not shipped
    for name in ("kill-report", "fleet-report", "architecture", "execution-environment"):
        assert name in refs


@pytest.fixture(scope="module")
def site(tarball, tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("docsite"))
    # no proxy, no network: the build must not try (intersphinx reads local stub inventories)
    res = run([os.path.join(RELEASE_BIN, "python"), TOOL, "build", "--tarball", tarball, "--dest", dest],
              env={"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"})
    print(res.stdout)
    assert res.returncode == 0, res.stdout
    assert "WARNING" not in res.stdout and "ERROR" not in res.stdout
    return os.path.join(dest, "site", "build", "html")


def test_site_pages(site):
    coll = os.path.join(site, "collections", "auditfleet", "auditd")
    for page in ("index", "audit_rule_module", "audit_facts_module", "audit_log_lookup", "kill_reports_filter",
                 "fleet_kill_report_filter", "auditd_syscall_role"):
        assert os.path.isfile(os.path.join(coll, page + ".html")), page
    with open(os.path.join(coll, "index.html")) as f:
        index = f.read()
    for doc, title in [("kill-report", "The kill report"), ("fleet-report", "The fleet kill report"),
                       ("architecture", "Architecture of auditfleet.auditd"),
                       ("execution-environment", "Execution environments, AWX and ansible-runner")]:
        assert re.search(r'href="docsite/%s\.html">%s</a>' % (re.escape(doc), re.escape(title)), index), doc
    # a link between docs became a reference inside the site
    with open(os.path.join(coll, "docsite", "fleet-report.html")) as f:
        assert 'href="kill-report.html' in f.read()
    # links.yml: the issue tracker and the changelog are on the collection page
    assert "https://github.com/auditfleet/auditd/issues" in index
    assert "CHANGELOG.md" in index
