"""Release checks: the tarball as a user gets it, and the tools that take it further.

These tests run with a test toolchain's pytest (make release-check uses .venv/ansible-2.16) and
call the release toolchain .venv/release (tools/testenv.sh release: galaxy-importer,
ansible-builder, ansible-runner, antsibull-docs, Sphinx) by path, as separate programs.

The tarball is built once per session from this checkout's files as `git ls-files` lists them
(tracked, or new and not ignored), copied to a temporary tree, as a release from a clean clone
would be: a stray file in a developer's tree does not make a test pass or fail.
"""
import json
import os
import shutil
import subprocess
import tarfile

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RELEASE_VENV = os.environ.get("AUDITFLEET_RELEASE_VENV", os.path.join(ROOT, ".venv", "release"))
RELEASE_BIN = os.path.join(RELEASE_VENV, "bin")
TIMEOUT = 600


def release_tool(name):
    path = os.path.join(RELEASE_BIN, name)
    if not os.access(path, os.X_OK):
        pytest.fail("%s is missing: build the release toolchain with `tools/testenv.sh release` "
                    "(make release-check does)" % path)
    return path


def run(argv, **kwargs):
    """An external program: argument list, C locale, the release toolchain first in PATH."""
    env = dict(os.environ, LC_ALL="C.UTF-8", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               PATH=RELEASE_BIN + os.pathsep + os.environ.get("PATH", ""))
    env.update(kwargs.pop("env", {}))
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.STDOUT)
    kwargs.setdefault("universal_newlines", True)
    kwargs.setdefault("timeout", TIMEOUT)
    check = kwargs.pop("check", False)
    return subprocess.run(argv, env=env, check=check, **kwargs)


def checkout_files():
    """Files of the checkout a clean clone would have (relative paths)."""
    out = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         check=True, stdout=subprocess.PIPE, timeout=60).stdout
    names = [n for n in out.decode("utf-8", "surrogateescape").split("\0") if n]
    return sorted(n for n in names if os.path.isfile(os.path.join(ROOT, n)))


def copy_checkout(dest):
    """A copy of the checkout's files (see checkout_files) in DEST."""
    for name in checkout_files():
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), target, follow_symlinks=False)
    return dest


def build_tarball(src, out_dir):
    res = run([release_tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", out_dir, src])
    assert res.returncode == 0, res.stdout
    built = [n for n in os.listdir(out_dir) if n.endswith(".tar.gz")]
    assert len(built) == 1, built
    return os.path.join(out_dir, built[0])


def galaxy_yml(src=ROOT):
    with open(os.path.join(src, "galaxy.yml")) as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="session")
def source_tree(tmp_path_factory):
    return copy_checkout(str(tmp_path_factory.mktemp("source") / "auditd"))


@pytest.fixture(scope="session")
def tarball(source_tree, tmp_path_factory):
    return build_tarball(source_tree, str(tmp_path_factory.mktemp("dist")))


@pytest.fixture(scope="session")
def members(tarball):
    with tarfile.open(tarball) as tar:
        return {m.name.rstrip("/"): m for m in tar.getmembers()}


@pytest.fixture(scope="session")
def manifest(tarball):
    with tarfile.open(tarball) as tar:
        return json.load(tar.extractfile("MANIFEST.json"))


@pytest.fixture(scope="session")
def installed(tarball, tmp_path_factory):
    """The tarball installed with ansible-galaxy: (collections path, collection directory)."""
    path = str(tmp_path_factory.mktemp("installed"))
    res = run([release_tool("ansible-galaxy"), "collection", "install", "--offline", "--force", "-p", path, tarball])
    assert res.returncode == 0, res.stdout
    return path, os.path.join(path, "ansible_collections", "auditfleet", "auditd")
