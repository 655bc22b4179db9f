"""Benchmark N rule sets deployed by audit_rule (one call per set) against audit_rule_sets (one
call for all), on this machine's real auditd and /etc/audit/rules.d.

    python bench/bench_rule_sets.py               # 3 sets, 3 rounds
    python bench/bench_rule_sets.py --sets 6 --rounds 5

Each round, for both ways: the first run (write and load), the converged run (nothing to do),
and the removal. The modules' main() runs in this process as Ansible would run it on the host
(tests/lib/modulerun.py), so the figures are the modules' own work without Ansible's per-task
cost. Loads (Loader.load calls) and external commands (auditctl, augenrules) are counted. It
holds the machine-wide audit test lock and puts the host's audit state back (tests/lib/hoststate.py).
The last line is `ratios: first=X converged=Y removal=Z` (audit_rule_sets / audit_rule x N,
best round of each); it asserts nothing.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.lib.env import ensure_collection_link  # noqa: E402

sys.path.insert(0, ensure_collection_link())
from ansible_collections.auditfleet.auditd.plugins.module_utils import _auditctl, _command  # noqa: E402
from tests.lib import liveaudit, modulerun  # noqa: E402
from tests.lib.hoststate import guarded_host  # noqa: E402

COUNTS = {"load": 0, "cmd": 0}


def _counting():
    real_load, real_run = _auditctl.Loader.load, _command.run

    def load(self, *a, **kw):
        COUNTS["load"] += 1
        return real_load(self, *a, **kw)

    def run(argv, *a, **kw):
        COUNTS["cmd"] += 1
        return real_run(argv, *a, **kw)

    _auditctl.Loader.load, _command.run = load, run


def rule_sets(n, key):
    syscalls = ["kill", "tkill", "tgkill", "ptrace", "setuid", "setgid", "chown", "chmod"]
    paths = ["/etc/passwd", "/etc/group", "/etc/hosts", "/etc/shadow", "/etc/gshadow",
             "/etc/sudoers", "/etc/hostname", "/etc/fstab"]
    return [{"name": "afbe-%d-%s" % (i, key[-6:]),
             "rules": [{"syscalls": [syscalls[i % 8]], "arch": "b64", "key": "%s_%d" % (key, i)},
                       {"path": paths[i % 8], "permissions": "wa", "key": "%s_%d" % (key, i)}]}
            for i in range(n)]


def ok(result):
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return result


def timed(label, fn):
    COUNTS.update(load=0, cmd=0)
    started = time.time()
    fn()
    seconds = time.time() - started
    print("%-46s %7.3f s  loads=%d  commands=%d" % (label, seconds, COUNTS["load"], COUNTS["cmd"]))
    return seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--sets", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    _counting()
    sets = rule_sets(args.sets, liveaudit.new_key("afbe"))
    absent = [{"name": s["name"], "state": "absent"} for s in sets]

    def per_set(items):
        return lambda: [ok(modulerun.run_module("audit_rule", s)) for s in items]

    def one_call(items):
        return lambda: ok(modulerun.run_module("audit_rule_sets", {"sets": items}))

    best = {}
    with guarded_host():
        for r in range(args.rounds):
            print("round %d" % (r + 1))
            for way, run in (("audit_rule x%d" % args.sets, per_set), ("audit_rule_sets x1", one_call)):
                for phase, items in (("first", sets), ("converged", sets), ("removal", absent)):
                    s = timed("  %s, %s run" % (way, phase), run(items))
                    key = (way.split(" ")[0], phase)
                    best[key] = min(best.get(key, s), s)
    print("ratios: " + " ".join("%s=%.2f" % (phase, best[("audit_rule_sets", phase)] / best[("audit_rule", phase)])
                                for phase in ("first", "converged", "removal")))


if __name__ == "__main__":
    main()
