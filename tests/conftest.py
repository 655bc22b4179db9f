"""Make the checkout importable as ansible_collections.auditfleet.auditd.

The repository root is the collection root; pytest needs it under an
ansible_collections/<namespace>/<name> path, so a symlink tree is kept in build/.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "auditfleet", "auditd")

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

try:  # Ansible's plugin loaders (lookup_loader.get("auditfleet.auditd...")) need its finder
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
except ImportError:  # target-side tests also run on Pythons without ansible-core
    _AnsibleCollectionFinder = None
if _AnsibleCollectionFinder is not None:
    _AnsibleCollectionFinder(paths=[COLLECTIONS], scan_sys_paths=False)._install()
