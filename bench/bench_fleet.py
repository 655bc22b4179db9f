"""Fleet benchmark: the role, the kill report and a hand-written equivalent on N qemu VMs.

    python bench/bench_fleet.py                 # boots its own fleet (tests/fleet), tears it down
    python bench/bench_fleet.py --reuse         # uses the running fleet (tests/fleet/fleet.sh up)
    python bench/bench_fleet.py --n 4 --repeat 3 --ansible-bin-dir .venv/ansible-2.16/bin

Wall time of each ansible-playbook run, controller start-up included, on the same N hosts in
one run of this script:

  (a) the role's first run: plays/role.yml (auditd_syscall, kill rule set) right after auditd
      was purged from every host (tests/fleet/bench/purge.yml), so it installs auditd;
  (b) its second run (nothing to change);
  (c) the fleet kill report: ansible-playbook auditfleet.auditd.kill_report, after a few kills;
  (d) a naive equivalent users write by hand today (tests/fleet/bench/naive.yml: apt, a
      template of /etc/audit/rules.d/kill.rules, an `augenrules --load` handler, a
      `service auditd restart` handler for auditd.conf keys, `ausearch -k kill_rule`), first run
      after another purge; its second run is printed too (for information);
  (e) the Ansible floor: one `ping` and one `command` per host (tests/fleet/bench/floor.yml).

(b), (c) and (e) run --repeat times, interleaved, and the median counts (emulated hosts are
noisy). Prints each time, its ratio to (e), and PASS/MISS against the targets: (b) <= 1.2x (e),
(c) <= 1.5x (e), (a) < (d). For a target missed it prints where the time went, per task (the
fleet_timer callback's JSON). Everything, per task, goes to bench/out/fleet-<time>.json.
A benchmark, not a test: it exits 0 whether the targets are met or not, and 1 only when a
run fails. Needs root (the fleet: qemu, debootstrap); see tests/fleet/README.md.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
FLEET_DIR = os.path.join(ROOT, "tests", "fleet")
sys.path.insert(0, ROOT)
from tests.lib.env import ensure_collection_link  # noqa: E402
FLEET_SH = os.path.join(FLEET_DIR, "fleet.sh")
PLAYS = {
    "role": os.path.join(FLEET_DIR, "scenarios", "plays", "role.yml"),
    "purge": os.path.join(FLEET_DIR, "bench", "purge.yml"),
    "naive": os.path.join(FLEET_DIR, "bench", "naive.yml"),
    "floor": os.path.join(FLEET_DIR, "bench", "floor.yml"),
    "kills": os.path.join(FLEET_DIR, "bench", "kills.yml"),
    "report": "auditfleet.auditd.kill_report",
}
TARGETS = {"b": 1.2, "c": 1.5}


def log(msg):
    print("bench-fleet: %s" % msg, flush=True)


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Fleet:
    def __init__(self, args):
        self.args = args
        self.env = dict(os.environ, LC_ALL="C.UTF-8")
        if args.ansible_bin_dir:
            self.env["PATH"] = os.path.abspath(args.ansible_bin_dir) + os.pathsep + self.env["PATH"]
        self.env["ANSIBLE_COLLECTIONS_PATH"] = ensure_collection_link()
        self.out = os.path.join(BENCH, "out", "fleet-%s" % time.strftime("%Y%m%dT%H%M%S"))
        self.runs = []

    def sh(self, argv, **kw):
        return subprocess.run(argv, env=self.env, check=True, **kw)

    def fleet_env(self):
        out = self.sh([FLEET_SH, "env"], stdout=subprocess.PIPE, universal_newlines=True).stdout
        # export A=x B=y ... (printf %q quoting: the paths here have no spaces)
        for word in out.split()[1:]:
            name, value = word.split("=", 1)
            self.env[name] = value

    def playbook(self, label, play, extra=None, quiet=True):
        """Run one playbook; return (wall seconds, fleet_timer JSON)."""
        os.makedirs(self.out, exist_ok=True)
        n = sum(1 for r in self.runs if r["label"] == label)
        # "(b) role second run" -> b-role-second-run-1.json
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower().replace("'", "2")).strip("-")
        jpath = os.path.join(self.out, "%s-%d.json" % (slug, n + 1))
        logpath = os.path.join(self.out, "%s-%d.log" % (slug, n + 1))
        argv = ["ansible-playbook", PLAYS[play]]
        for k, v in (extra or {}).items():
            argv += ["-e", json.dumps({k: v})]
        env = dict(self.env, FLEET_TIMER_JSON=jpath)
        started = time.monotonic()
        with open(logpath, "w") as logf:
            rc = subprocess.call(argv, env=env, stdout=logf, stderr=subprocess.STDOUT, cwd=ROOT)
        wall = time.monotonic() - started
        data = {}
        if os.path.exists(jpath):
            with open(jpath) as f:
                data = json.load(f)
        recap = data.get("recap", {})
        changed = {h: s["changed"] for h, s in recap.items()}
        run = {"label": label, "play": play, "wall": round(wall, 1), "rc": rc, "changed": changed,
               "tasks": data.get("tasks", []), "log": logpath, "load": load()}
        self.runs.append(run)
        log("%-22s %6.1f s  rc %d  changed %s  (load %s)" % (label, wall, rc, changed, run["load"]))
        if rc != 0:
            with open(logpath) as f:
                sys.stdout.write("".join(f.readlines()[-40:]))
            sys.exit("bench-fleet: %s failed (exit %d), log: %s" % (label, rc, logpath))
        return wall, data


def median(values):
    return statistics.median(values) if values else float("nan")


def where(run, top=8):
    """The slowest tasks of a run, as text lines."""
    tasks = sorted(run["tasks"], key=lambda t: -t.get("seconds", 0))
    remote = [t for t in run["tasks"] if t.get("seconds", 0) >= 1.0]
    lines = ["    %d tasks, %d of them >= 1 s (remote calls), %.1f s in those; slowest:"
             % (len(run["tasks"]), len(remote), sum(t["seconds"] for t in remote))]
    for t in tasks[:top]:
        lines.append("    %6.1f s  %s" % (t["seconds"], t["name"]))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=int(os.environ.get("FLEET_N", "4")), help="hosts (default 4)")
    ap.add_argument("--reuse", action="store_true", help="use the running fleet; leave it running")
    ap.add_argument("--repeat", type=int, default=3, help="runs of (b), (c) and (e), median counts (default 3)")
    ap.add_argument("--ansible-bin-dir", default=os.environ.get("ANSIBLE_BIN_DIR")
                    or (os.path.join(ROOT, ".venv", "ansible-2.16", "bin")
                        if os.path.isdir(os.path.join(ROOT, ".venv", "ansible-2.16", "bin")) else None),
                    help="where ansible-playbook is (default $ANSIBLE_BIN_DIR, else .venv/ansible-2.16/bin, else PATH)")
    args = ap.parse_args()

    fleet = Fleet(args)
    if not shutil.which("ansible-playbook", path=fleet.env["PATH"]):
        sys.exit("bench-fleet: no ansible-playbook (set --ansible-bin-dir or ANSIBLE_BIN_DIR)")
    version = subprocess.run(["ansible-playbook", "--version"], env=fleet.env, stdout=subprocess.PIPE, check=False,
                             universal_newlines=True).stdout.splitlines()[0]
    log("%s, N=%d, repeat %d, load %s" % (version, args.n, args.repeat, load()))
    t0 = time.monotonic()
    booted = False
    result = {}
    try:
        if args.reuse:
            if subprocess.call([FLEET_SH, "status"], env=fleet.env) != 0:
                sys.exit("bench-fleet: --reuse: the fleet is not (all) up; start it with tests/fleet/fleet.sh up %d" % args.n)
        else:
            t = time.monotonic()
            # `fleet.sh up N` boots N VMs of one image (FLEET_IMAGE, default deb12-amd64): build only that one
            fleet.sh([os.path.join(FLEET_DIR, "build-image.sh"), os.environ.get("FLEET_IMAGE", "deb12-amd64")])
            result["image"] = round(time.monotonic() - t, 1)
            fleet.sh([FLEET_SH, "down"])
            t = time.monotonic()
            booted = True
            fleet.sh([FLEET_SH, "up", str(args.n)])
            result["boot"] = round(time.monotonic() - t, 1)
            log("image %.1f s, boot of %d VMs %.1f s (not part of the ratios)" % (result["image"], args.n, result["boot"]))
        fleet.fleet_env()

        fleet.playbook("purge-1", "purge")
        a = fleet.playbook("(a) role first run", "role")[0]
        fleet.playbook("kills", "kills")
        b, c, e = [], [], []
        for _round in range(args.repeat):
            e.append(fleet.playbook("(e) floor", "floor")[0])
            b.append(fleet.playbook("(b) role second run", "role")[0])
            c.append(fleet.playbook("(c) kill report", "report", {"kill_report_dir": os.path.join(fleet.out, "kill_report")})[0])
        not_idem = [r["changed"] for r in fleet.runs if r["label"].startswith("(b)") and any(r["changed"].values())]
        fleet.playbook("purge-2", "purge")
        d = fleet.playbook("(d) naive first run", "naive")[0]
        d2 = fleet.playbook("(d') naive second run", "naive")[0]
    finally:
        if booted and not args.reuse:
            subprocess.call([FLEET_SH, "down"], env=fleet.env)

    mb, mc, me = median(b), median(c), median(e)
    rows = [
        ("(a) role, first run (after apt purge)", a, None),
        ("(b) role, second run (median of %d)" % len(b), mb, "b"),
        ("(c) kill report playbook (median of %d)" % len(c), mc, "c"),
        ("(d) naive equivalent, first run (after apt purge)", d, None),
        ("(d') naive equivalent, second run (information)", d2, None),
        ("(e) floor: ping + command (median of %d)" % len(e), me, None),
    ]
    print()
    print("fleet benchmark, N=%d, %s, load at the end %s, %.0f s in all" % (args.n, version, load(), time.monotonic() - t0))
    verdicts = {}
    for name, value, target in rows:
        line = "%-52s %7.1f s  %5.2fx floor" % (name, value, value / me)
        if target:
            ok = value <= TARGETS[target] * me
            verdicts[target] = ok
            line += "  %s (target <= %.1fx)" % ("PASS" if ok else "MISS", TARGETS[target])
        print(line)
    verdicts["a"] = a < d
    print("%-52s %7.2f     %s (target < 1.00: faster than the naive equivalent)"
          % ("(a) / (d): role first run vs naive first run", a / d, "PASS" if verdicts["a"] else "MISS"))
    print("runs of (b): %s s; (c): %s s; (e): %s s" % (b, c, e))
    if not_idem:
        print("NOTE: a second run of the role reported changes: %s" % not_idem)
    for key, label in (("b", "(b) role second run"), ("c", "(c) kill report"), ("a", "(a) role first run")):
        if not verdicts[key]:
            runs = [r for r in fleet.runs if r["label"] == label]
            # the run closest to the median
            run = sorted(runs, key=lambda r: abs(r["wall"] - median([x["wall"] for x in runs])))[0]
            print("where the time of %s goes (run of %.1f s):" % (label, run["wall"]))
            print("\n".join(where(run)))
    floor_run = [r for r in fleet.runs if r["label"] == "(e) floor"][0]
    print("the floor's own tasks:")
    print("\n".join(where(floor_run, top=2)))
    summary = {"n": args.n, "version": version, "seconds": {"a": a, "b": mb, "c": mc, "d": d, "d2": d2, "e": me},
               "runs": fleet.runs, "verdicts": verdicts, **result}
    with open(os.path.join(fleet.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("details: %s" % fleet.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
