"""The import graph of plugins/module_utils, read from the source with ast (no import runs).

- No import cycle among module_utils files (at module level or inside functions).
- The rule engine is layered as docs/architecture.md draws it: each file imports only the files
  below it in ENGINE_LAYERS.
- Nothing outside module_utils (modules, filters, lookups, plugin_utils, the EDA source) imports a
  private name (leading underscore) of a module_utils file.
"""
import ast
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
MU = os.path.join(ROOT, "plugins", "module_utils")
PKG = "ansible_collections.auditfleet.auditd.plugins.module_utils"

# bottom to top; a file may import files of earlier layers only
ENGINE_LAYERS = [
    ["_rulemodel"],       # values, fields, rules; AuditRuleError
    ["_rulehost"],        # the host's ABIs, syscalls and paths
    ["_rulecheck"],       # declared items -> rules
    ["_rulecontrols"],    # kernel settings (-b, -f, -r, --backlog_wait_time, -e)
    ["_ruletext"],        # the rule-line parser
    ["_rulesdir"],        # rules.d: read, compile, render, name
    ["_auditctl"],        # auditctl: status, listing, loader
    ["_ruleplan"],        # the pure plan of one rule set (no IO)
    ["_hostplan", "_hostreport"],  # the pure plan of every rule set of a host (no IO);
                                   # the read-only host report (auditd, boot, auditd.conf)
    ["_ruleset"],         # the engine: lock, snapshot, plan, apply
]
HELPERS = {"_command", "_files", "_presets", "_audit_tables"}   # leaf helpers any layer may use


def imports_of(path):
    """{module_utils file name imported by PATH: [names imported from it]}."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == PKG:
                for alias in node.names:
                    found.setdefault(alias.name, [])
            elif node.module.startswith(PKG + "."):
                found.setdefault(node.module[len(PKG) + 1:], []).extend(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PKG + "."):
                    found.setdefault(alias.name[len(PKG) + 1:], [])
    return found


def graph():
    return dict((name[:-3], sorted(imports_of(os.path.join(MU, name))))
                for name in os.listdir(MU) if name.endswith(".py") and name != "__init__.py")


def find_cycle(edges):
    """A cycle as a list of nodes, or None (depth-first search with colours)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in edges.get(node, ()):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None


def test_module_utils_has_no_import_cycle():
    edges = graph()
    assert "_rulemodel" in edges and "_ruleset" in edges
    assert find_cycle(edges) is None


def test_every_module_utils_import_names_an_existing_file():
    edges = graph()
    missing = sorted("%s -> %s" % (a, b) for a, bs in edges.items() for b in bs if b not in edges)
    assert missing == []


def test_the_rule_engine_imports_only_downwards():
    edges = graph()
    rank = {}
    for level, names in enumerate(ENGINE_LAYERS):
        for name in names:
            rank[name] = level
    present = [name for name in rank if name in edges]
    assert len(present) >= 8, present
    wrong = []
    for name in present:
        for dep in edges[name]:
            if dep in HELPERS:
                continue
            if dep not in rank or rank[dep] >= rank[name]:
                wrong.append("%s imports %s" % (name, dep))
    assert wrong == []


def _outside_files():
    for top in ("plugins", "extensions"):
        for dirpath, _dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            if os.path.abspath(dirpath).startswith(MU):
                continue
            for name in filenames:
                if name.endswith(".py"):
                    yield os.path.join(dirpath, name)


@pytest.mark.parametrize("path", sorted(_outside_files()), ids=lambda p: os.path.relpath(p, ROOT))
def test_nothing_outside_module_utils_imports_its_private_names(path):
    private = ["%s.%s" % (mod, name) for mod, names in imports_of(path).items()
               for name in names if name.startswith("_")]
    assert private == []
