"""The test bootstrap (tests/lib/env.py and its shell face tests/lib/env.sh): the collection
link, the environment for ansible-playbook, the target interpreter, private collection trees."""
import os
import subprocess
import sys

from tests.lib import env

ENV_SH = os.path.join(env.ROOT, "tests", "lib", "env.sh")


def test_the_link_is_the_checkout_and_is_repaired():
    assert os.path.realpath(env.ensure_collection_link()) == os.path.realpath(env.COLLECTIONS)
    assert os.path.realpath(env.COLLECTION_LINK) == os.path.realpath(env.ROOT)
    import ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog as parser
    assert os.path.realpath(parser.__file__).startswith(os.path.realpath(env.ROOT) + os.sep)


def test_a_link_to_another_tree_is_pointed_back(tmp_path, monkeypatch):
    link = tmp_path / "collections" / "ansible_collections" / "auditfleet" / "auditd"
    link.parent.mkdir(parents=True)
    os.symlink(str(tmp_path), str(link))  # e.g. build/ copied from another checkout
    monkeypatch.setattr(env, "COLLECTIONS", str(tmp_path / "collections"))
    monkeypatch.setattr(env, "COLLECTION_LINK", str(link))
    assert env.ensure_collection_link() == str(tmp_path / "collections")
    assert os.path.realpath(str(link)) == os.path.realpath(env.ROOT)


def test_shell_values_are_the_python_ones(tmp_path):
    out = subprocess.run(["bash", "-c", 'source "$1" && af_ansible_env && env', "bash", ENV_SH],
                         stdout=subprocess.PIPE, universal_newlines=True, timeout=120, check=True,
                         env=dict(os.environ, AUDITFLEET_TARGET_PYTHON=sys.executable)).stdout
    got = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert got["AF_ROOT"] == os.path.realpath(env.ROOT)
    assert got["AF_COLLECTION_LINK"] == env.COLLECTION_LINK
    assert got["ANSIBLE_COLLECTIONS_PATH"] == env.COLLECTIONS
    assert got["ANSIBLE_COLLECTIONS_SCAN_SYS_PATH"] == "false"
    assert got["ANSIBLE_PYTHON_INTERPRETER"] == sys.executable == got["AF_TARGET_PYTHON"]
    assert got["AF_LOCK"] == env.LOCK_PATH


def test_target_python(monkeypatch):
    monkeypatch.setenv("AUDITFLEET_TARGET_PYTHON", "/opt/py/bin/python3")
    assert env.target_python() == "/opt/py/bin/python3"
    monkeypatch.delenv("AUDITFLEET_TARGET_PYTHON")
    expected = env.SYSTEM_PYTHON if os.access(env.SYSTEM_PYTHON, os.X_OK) else sys.executable
    assert env.target_python() == expected
    assert env.ansible_env()["ANSIBLE_PYTHON_INTERPRETER"] == expected


def test_collection_tree_links_parts_and_writes_files(tmp_path):
    collections = env.collection_tree(tmp_path, ["galaxy.yml", "plugins/filter"], {"plugins/action/x.py": "X = 1\n"})
    coll = os.path.join(collections, "ansible_collections", "auditfleet", "auditd")
    assert os.path.realpath(os.path.join(coll, "plugins", "filter")) == os.path.join(os.path.realpath(env.ROOT),
                                                                                     "plugins", "filter")
    assert open(os.path.join(coll, "plugins", "action", "x.py")).read() == "X = 1\n"
    assert sorted(os.listdir(coll)) == ["galaxy.yml", "plugins"]
    assert env.ansible_env(collections, base=tmp_path)["ANSIBLE_COLLECTIONS_PATH"] == collections
