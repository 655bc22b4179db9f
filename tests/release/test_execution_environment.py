"""Execution environments: what the collection declares (meta/execution-environment.yml,
bindep.txt) and the example definition in docs/execution-environment/.

`ansible-builder create` runs for real (it needs neither network nor a container engine); the
image build (`ansible-builder build`) needs both and is not run here (docs/execution-environment.md).
The dependency introspection that the image build runs on the installed collections is run
here on the installed tarball, with the script ansible-builder put into the build context.
"""
import filecmp
import os
import shutil
import subprocess

import yaml

from conftest import ROOT, RELEASE_BIN, galaxy_yml, release_tool, run

EXAMPLE = os.path.join(ROOT, "docs", "execution-environment")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def test_meta_declares_the_system_requirements(installed):
    coll = installed[1]
    meta = load(os.path.join(coll, "meta", "execution-environment.yml"))
    assert meta["version"] == 1
    assert meta["dependencies"] == {"system": "bindep.txt"}  # no Python requirement: see the file
    assert os.path.isfile(os.path.join(coll, "bindep.txt"))
    # audit userspace is a managed-host package: not in the image
    with open(os.path.join(coll, "bindep.txt")) as f:
        entries = [line.split()[0] for line in f if line.strip() and not line.startswith("#")]
    assert entries == ["openssh-clients", "openssh-client"]
    assert not {"audit", "auditd"} & set(entries)


def test_bindep_file_is_valid(installed):
    """bindep (ansible-builder's dependency) parses the file and picks the dpkg entry here."""
    coll = installed[1]
    res = run([os.path.join(RELEASE_BIN, "bindep"), "--file", os.path.join(coll, "bindep.txt"), "--list_all", "newline"])
    assert res.returncode == 0, res.stdout
    if shutil.which("dpkg"):
        assert res.stdout.split() == ["openssh-client"], res.stdout


def test_builder_create_and_introspect(tarball, installed, tmp_path):
    definition = load(os.path.join(EXAMPLE, "execution-environment.yml"))
    assert definition["version"] == 3
    version = galaxy_yml()["version"]
    name = "auditfleet-auditd-%s.tar.gz" % version
    # the example names the tarball of this version, as `ansible-galaxy collection build` does
    assert [f["src"] for f in definition["additional_build_files"]] == [name]
    work = tmp_path / "ee"
    shutil.copytree(EXAMPLE, str(work))
    shutil.copy(tarball, str(work / name))

    res = run([release_tool("ansible-builder"), "create", "--file", "execution-environment.yml",
               "--context", "context", "--output-filename", "Containerfile", "-v", "2"], cwd=str(work))
    assert res.returncode == 0, res.stdout
    print(res.stdout)
    context = work / "context"
    with open(str(context / "Containerfile")) as f:
        containerfile = f.read()
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in containerfile
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "introspect.py introspect" in containerfile
    assert "COPY _build /build" in containerfile
    # the galaxy requirement points to the tarball as the image's build stage sees it
    reqs = load(str(context / "_build" / "requirements.yml"))["collections"]
    assert reqs == [{"name": "/build/collections/" + name, "type": "file"}]
    copied = context / "_build" / "collections" / name
    assert filecmp.cmp(str(copied), tarball, shallow=False)

    # What the image build's introspection step finds in the installed collection
    collections = installed[0]
    res = run([os.path.join(RELEASE_BIN, "python"), str(context / "_build" / "scripts" / "introspect.py"),
               "introspect", collections], stderr=subprocess.PIPE)
    assert res.returncode == 0, res.stdout + res.stderr
    print(res.stdout)
    found = yaml.safe_load(res.stdout)
    assert found["python"] == []
    assert found["system"] == ["openssh-clients [platform:rpm]  # from collection auditfleet.auditd",
                               "openssh-client [platform:dpkg]  # from collection auditfleet.auditd"]
