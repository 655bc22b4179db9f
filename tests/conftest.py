"""Make the checkout importable as ansible_collections.auditfleet.auditd.

The repository root is the collection root; Python and Ansible's plugin loaders need it under an
ansible_collections/<namespace>/<name> path: tests/lib/env.py keeps that link in build/.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.lib.env import import_collection  # noqa: E402  (the checkout first on sys.path)

COLLECTIONS = import_collection()

try:  # Ansible's plugin loaders (lookup_loader.get("auditfleet.auditd...")) need its finder
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
except ImportError:  # target-side tests also run on Pythons without ansible-core
    _AnsibleCollectionFinder = None
if _AnsibleCollectionFinder is not None:
    _AnsibleCollectionFinder(paths=[COLLECTIONS], scan_sys_paths=False)._install()
