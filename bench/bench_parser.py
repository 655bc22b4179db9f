"""Benchmark the collection's audit-log parser against auparse and ausearch on one log.

    python bench/bench_parser.py                       # generates bench/out/audit-100M-....log
    python bench/bench_parser.py --size 1G --repeat 3
    python bench/bench_parser.py --log /var/log/audit/audit.log --runs ab

Runs, each in its own process so that its peak RSS is its own:
  a  ours: parse_events(log, interpret=True)          every event, interpreted
  b  ours: kill_reports(log, keys=[KEY])              kill reports for one key
  c  auparse (python3-audit): every event, record and field, interpret_field() on each
  d  ausearch -i -if LOG                              every event, interpreted
  e  ausearch -k KEY --raw -if LOG                    the events of one key
  h  ours on hostile lines (no log needed): a 1 MiB line of each shape that used to cost
     time quadratic in its length (a word without "=", repeated "type=", many keys, ...),
     parsed --hostile-lines times in its own process, against a normal line of the same
     size (a PATH record with a 1 MiB file name) measured in the same run
A benchmark, not a test: targets are printed with PASS/MISS, nothing is asserted.
The last line is `ratios: full_vs_auparse_interp=X kill_vs_ausearch_k_raw=Y peak_rss_mib=Z
hostile_vs_normal_max=H` (H: the slowest hostile shape, full or keyed parse, over the
normal line; run h only: `--runs h`).
"""

import argparse
import collections
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
MODULE_UTILS = os.path.join(ROOT, "plugins", "module_utils")
PARSER_FILES = ("_auditlog.py", "_killreport.py", "_audit_tables.py", "_timeutil.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # the interpreter Debian's python3-audit (auparse) is built for
AUSEARCH = "/usr/sbin/ausearch"
ENV = dict(os.environ, LC_ALL="C")
sys.path.insert(0, ROOT)
from tests.lib.env import COLLECTIONS, ensure_collection_link  # noqa: E402  (imports need ansible_collections/<ns>/<name>)

TARGETS = {"full_vs_auparse_interp": (">=", 2.0), "kill_vs_ausearch_k_raw": (">=", 0.5),
           "peak_rss_mib": ("<=", 64.0), "hostile_vs_normal_max": ("<=", 100.0)}

# Children print one JSON line: what they counted.
OURS_FULL = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import ParseStats, parse_events
stats = ParseStats()
n = 0
for e in parse_events(sys.argv[2], interpret=True, stats=stats):
    n += 1
with open("/proc/self/status") as f:
    hwm = [int(l.split()[1]) / 1024.0 for l in f if l.startswith("VmHWM:")]
print(json.dumps({"events": n, "stats": stats.as_dict(), "hwm_mib": hwm[0] if hwm else None}))
"""
OURS_KILL = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import ParseStats
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports
stats = ParseStats()
n = 0
for r in kill_reports(sys.argv[2], keys=[sys.argv[3]], stats=stats):
    n += 1
with open("/proc/self/status") as f:
    hwm = [int(l.split()[1]) / 1024.0 for l in f if l.startswith("VmHWM:")]
print(json.dumps({"reports": n, "stats": stats.as_dict(), "hwm_mib": hwm[0] if hwm else None}))
"""
AUPARSE_FULL = """
import json, sys
import auparse
au = auparse.AuParser(auparse.AUSOURCE_FILE, sys.argv[1])
events = records = fields = undecodable = 0
while au.parse_next_event():
    events += 1
    while True:
        records += 1
        au.first_field()
        while True:
            try:
                au.interpret_field()
            except UnicodeDecodeError:  # the binding decodes as UTF-8; logs may hold any bytes
                undecodable += 1
            fields += 1
            if not au.next_field():
                break
        if not au.next_record():
            break
print(json.dumps({"events": events, "records": records, "fields": fields,
                  "undecodable": undecodable}))
"""

EVENT_ID = re.compile(rb"(?:node=(\S+) )?type=\S+ msg=audit\(([^)]*)\)")

# Run h: one line of about 1 MiB per shape. "normal" is the baseline: a record auditd could
# write, only longer. The others are the shapes that cost time quadratic in the line's
# length before the parser was made linear (issue 8), and a few more of the same kind.
HOSTILE_HEAD = "type=USER_AVC msg=audit(1700000000.000:%d): pid=1 uid=0 auid=0 ses=1 "
HOSTILE_KILL = ('type=SYSCALL msg=audit(1700000000.000:%d): arch=c000003e syscall=62 success=yes '
                'exit=0 a0=1 a1=9 a2=0 a3=0 items=0 ppid=1 pid=2 auid=0 uid=0 comm="kill" '
                'key="kill_rule"')
HOSTILE_SHAPES = collections.OrderedDict([
    ("normal", lambda n: ('type=PATH msg=audit(1700000000.000:%d): item=0 name="/' + "a" * n
                          + '" inode=1 dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL')),
    ("word_without_equals", lambda n: HOSTILE_HEAD + "a" * n),
    ("enriched_without_equals", lambda n: HOSTILE_HEAD + "\x1d" + "A" * n),
    ("msg_without_equals", lambda n: HOSTILE_HEAD + "msg='" + "a" * n + "'"),
    ("repeated_type", lambda n: "audit(1.1:%d) " + "type=" * (n // 5)),
    ("repeated_type_before_stamp", lambda n: "type=" * (n // 5) + " audit(1.1:%d): x=1"),
    ("stamps_without_type", lambda n: "x audit(1.1:%d): type=" + "x audit(1.1:1): " * (n // 16)),
    ("type_words_and_stamps", lambda n: "x audit(1.1:%d): " + "type=a x audit(1.1:1): " * (n // 23)),
    ("long_number", lambda n: HOSTILE_HEAD + "pid=" + "9" * n),
    ("many_keys", lambda n: HOSTILE_KILL + " key=" + "\x01".join(
        "k%d" % i for i in range(n // 11)).encode().hex().upper()),
    ("tiny_fields", lambda n: HOSTILE_HEAD + "f=1 " * (n // 4)),
    ("planted_tags", lambda n: HOSTILE_KILL.replace(
        "comm=", "name=" + "msg=audit(1700000000.000:1):" * (n // 28) + " comm=")),
])
OURS_HOSTILE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.auditfleet.auditd.plugins.module_utils._auditlog import ParseStats, parse_events
lines = [line.replace("%d", str(n + 1), 1) for n, line in enumerate([sys.stdin.read()] * int(sys.argv[2]))]
out = {}
for name, keys in (("full", None), ("keyed", ["kill_rule"])):
    stats = ParseStats()
    start = time.process_time()
    for line in lines:
        for _ in parse_events(line, keys=keys, stats=stats):
            pass
    out[name] = time.process_time() - start
    out[name + "_stats"] = stats.as_dict()
with open("/proc/self/status") as f:  # this process's own peak (ru_maxrss survives exec)
    out["rss"] = [int(l.split()[1]) for l in f if l.startswith("VmHWM:")][0] / 1024.0
print(json.dumps(out))
"""


def size_arg(text):
    """--size as gen_log.py takes it, normalized for the file name (100m -> 100M)."""
    text = text.strip().upper()
    if not re.fullmatch(r"\d+(?:\.\d+)?[KMG]?", text):
        raise argparse.ArgumentTypeError("bad size %r (e.g. 100M, 1G)" % text)
    return text


def format_list(text):
    """--format raw,enriched -> ["raw", "enriched"]."""
    formats = [f.strip() for f in text.split(",") if f.strip()]
    if not formats or any(f not in ("raw", "enriched", "mixed") for f in formats):
        raise argparse.ArgumentTypeError("bad format list %r (raw, enriched, mixed, comma-separated)" % text)
    return formats


def ensure_log(args, fmt):
    """The generated log for these arguments, made once and reused (bench/out/ is git-ignored)."""
    name = "audit-%s-%s-n%d-i%g-k%s-s%d.log" % (
        args.size, fmt, args.nodes, args.interleave, args.key, args.seed)
    path = os.path.join(OUT, name)
    if os.path.exists(path):
        return path
    os.makedirs(OUT, exist_ok=True)
    tmp = path + ".part"  # renamed when complete: an interrupted run is never reused
    cmd = [sys.executable, os.path.join(BENCH, "gen_log.py"), "--size", args.size, "--out", tmp,
           "--format", fmt, "--nodes", str(args.nodes), "--interleave", str(args.interleave),
           "--kill-key", args.key, "--seed", str(args.seed)]
    print("generating %s ..." % path, flush=True)
    res = subprocess.run(cmd, env=ENV, stderr=subprocess.PIPE, check=True)
    for line in res.stderr.decode().splitlines():
        if line.startswith("summary-json: "):
            with open(path + ".summary.json", "w") as f:
                f.write(line[len("summary-json: "):] + "\n")
        else:
            print(line)
    os.replace(tmp, path)
    return path


def load_summary(log):
    try:
        with open(log + ".summary.json") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def parser_fingerprint():
    """Short hash of the parser's sources: the tree is edited while benchmarks run, and
    repeats of one run must not silently mix versions."""
    h = hashlib.sha256()
    for name in PARSER_FILES:
        try:
            with open(os.path.join(MODULE_UTILS, name), "rb") as f:
                h.update(f.read())
        except FileNotFoundError:
            h.update(b"missing " + name.encode())
    return h.hexdigest()[:12]


def run_measured(argv, capture):
    """Run argv once; return wall s, cpu s, peak RSS MiB and its stdout (if captured)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                                stderr=err, env=ENV)
        out = proc.stdout.read() if capture else b""
        # wait4 gives this child's own rusage; RUSAGE_CHILDREN would be the maximum over
        # every child this process has waited for so far.
        status, usage = os.wait4(proc.pid, 0)[1:]
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if capture:
            proc.stdout.close()
        err.seek(0)
        errtext = err.read().decode(errors="replace").strip()
    ok = proc.returncode == 0 or (argv[0] == AUSEARCH and proc.returncode == 1 and
                                  "<no matches>" not in errtext)
    if not ok:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv[:3]), proc.returncode, errtext[-2000:]))
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": usage.ru_maxrss / 1024.0, "out": out}


def count_ausearch_events(argv):
    """Distinct events (node, timestamp:serial) in ausearch's output. Not its '----'
    separators: ausearch -i prints a LOGIN apart from the SYSCALL of the same event, sometimes
    with other events between them. The parts are near each other: a bounded window will do."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
    n, recent = 0, collections.OrderedDict()
    for line in proc.stdout:
        m = EVENT_ID.match(line)
        if m and m.groups() not in recent:
            n += 1
            recent[m.groups()] = None
            if len(recent) > 4096:
                recent.popitem(last=False)
    proc.wait()
    return n


def warm_cache(path):
    # Every tool then reads the log from the page cache: the figures compare parsers, not disks.
    with open(path, "rb") as f:
        while f.read(8 << 20):
            pass


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def tool_version(argv):
    try:
        res = subprocess.run(argv, env=ENV, capture_output=True, timeout=20, check=False)
    except OSError:
        return "?"
    return (res.stdout or res.stderr).decode().strip().splitlines()[0]


def verdict(name, value):
    if value is None:
        return "n/a"
    op, limit = TARGETS[name]
    ok = value >= limit if op == ">=" else value <= limit
    return "%s (target %s %g)" % ("PASS" if ok else "MISS", op, limit)


def fmt(v, spec="%.2f"):
    return "n/a" if v is None else spec % v


def hostile_lines(args):
    """Run h: each shape's line parsed --hostile-lines times (full and keyed), cpu seconds,
    in a child process each (fresh caches, its own peak memory). Returns the worst ratio."""
    size = 1 << 20
    print("hostile lines: %d lines of %d KiB per shape, each shape in its own process (cpu "
          "seconds; timeout %d s)" % (args.hostile_lines, size >> 10, args.hostile_timeout), flush=True)
    results = collections.OrderedDict()
    for name, make in HOSTILE_SHAPES.items():
        line = make(size - 200)[:size]
        try:
            res = subprocess.run([args.python, "-c", OURS_HOSTILE, COLLECTIONS, str(args.hostile_lines)],
                                 input=line.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=ENV, timeout=args.hostile_timeout, check=True)
            results[name] = json.loads(res.stdout.decode())
        except subprocess.TimeoutExpired:
            results[name] = None
        except subprocess.CalledProcessError as exc:
            results[name] = {"error": exc.stderr.decode(errors="replace").strip().splitlines()[-1:]}
    base = results.get("normal")
    print("%-28s %9s %8s %8s %9s %8s %8s   %s" % (
        "shape", "full s", "MiB/s", "x normal", "keyed s", "x normal", "RSS MiB",
        "full parse: skipped / repaired"))
    worst = None
    for name, r in results.items():
        if r is None or "error" in r:
            print("%-28s %s" % (name, "TIMEOUT (> %d s)" % args.hostile_timeout if r is None
                                else "ERROR %s" % r["error"]))
            worst = float("inf")
            continue
        ratios = [r[k] / base[k] if base and base.get(k) else None for k in ("full", "keyed")]
        if name != "normal":
            worst = max([worst or 0.0] + [x for x in ratios if x is not None])
        st = r["full_stats"]
        print("%-28s %9.3f %8.1f %8s %9.3f %8s %8.1f   %s / %s" % (
            name, r["full"], args.hostile_lines * size / 2.0 ** 20 / max(r["full"], 1e-9),
            fmt(ratios[0], "%.1f"), r["keyed"], fmt(ratios[1], "%.1f"), r["rss"],
            json.dumps(st["skipped"], sort_keys=True), json.dumps(st["repaired"], sort_keys=True)))
    print("(x normal: cpu time over the normal line's in the same run; the keyed parse searches "
          "for the key kill_rule)")
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    ap.add_argument("--log", help="existing audit log (default: generate one under bench/out/)")
    ap.add_argument("--size", type=size_arg, default="100M", help="size of the generated log: 100M, 1G, ...")
    ap.add_argument("--key", default="kill_rule", help="audit rule key of the kill events")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per tool; the best is kept")
    ap.add_argument("--runs", default="abcdeh", help="which runs, e.g. ab for ours only, h for hostile lines")
    ap.add_argument("--python", default=sys.executable, help="interpreter for our parser")
    ap.add_argument("--seed", type=int, default=1, help="generator seed")
    ap.add_argument("--nodes", type=int, default=3, help="generator node count")
    ap.add_argument("--format", type=format_list, default=["raw", "enriched"],
                    help="log formats to generate and run, in order (raw, enriched, mixed; comma-separated)")
    ap.add_argument("--interleave", type=float, default=0.10)
    ap.add_argument("--hostile-lines", type=int, default=8, help="run h: lines per shape")
    ap.add_argument("--hostile-timeout", type=int, default=600, help="run h: seconds per shape")
    args = ap.parse_args()
    if args.repeat < 1 or not set(args.runs) <= set("abcdeh"):
        ap.error("--repeat must be >= 1 and --runs letters from abcdeh")
    if args.runs == "h":  # no log needed
        ensure_collection_link()
        h = hostile_lines(args)
        print()
        print("targets:")
        print("  hostile_vs_normal_max  = slowest hostile shape / normal line = %s  %s" % (
            fmt(h, "%.1f"), verdict("hostile_vs_normal_max", h)))
        print("ratios[hostile]: hostile_vs_normal_max=%s" % fmt(h, "%.1f"))
        return 0

    if args.log:
        logs = [("log", args.log)]
    else:
        logs = [(fmt, ensure_log(args, fmt)) for fmt in args.format]
    found = collections.OrderedDict()
    for label, log in logs:
        print("=" * 100)
        print("[%s] %s" % (label, log))
        found[label] = bench_log(args, log, label)
    h = None
    if "h" in args.runs:
        print()
        h = hostile_lines(args)
    print()
    print("=" * 100)
    for label, (x, y, z, size, cpu) in found.items():
        scope = "" if size >= 1 << 30 else "  [targets are set for a 1 GiB log; this one is %.1f MiB]" % (size / 2**20)
        print("targets [%s]:%s" % (label, scope))
        print("  full_vs_auparse_interp = auparse wall / ours full wall      = %s  %s" % (
            fmt(x), verdict("full_vs_auparse_interp", x)))
        print("  kill_vs_ausearch_k_raw = ausearch -k wall / ours kill wall = %s  %s" % (
            fmt(y), verdict("kill_vs_ausearch_k_raw", y)))
        print("  peak_rss_mib           = max peak RSS of runs a and b       = %s  %s" % (
            fmt(z, "%.1f"), verdict("peak_rss_mib", z)))
        print("  same ratios on cpu time: full_vs_auparse_interp=%s kill_vs_ausearch_k_raw=%s" % (
            fmt(cpu[0]), fmt(cpu[1])))
    if "h" in args.runs:
        print("targets [hostile lines]:")
        print("  hostile_vs_normal_max  = slowest hostile shape / normal line = %s  %s" % (
            fmt(h, "%.1f"), verdict("hostile_vs_normal_max", h)))
    for label, (x, y, z, _size, _cpu) in found.items():
        print("ratios[%s]: full_vs_auparse_interp=%s kill_vs_ausearch_k_raw=%s peak_rss_mib=%s" % (
            label, fmt(x), fmt(y), fmt(z, "%.1f")))
    if "h" in args.runs:
        print("ratios[hostile]: hostile_vs_normal_max=%s" % fmt(h, "%.1f"))
    return 0


def bench_log(args, log, label):
    """Runs a-e on one log; returns (full ratio, kill ratio, peak RSS, log size, cpu ratios)."""
    size = os.path.getsize(log)
    mib = size / 2**20
    summary = load_summary(log)
    have_parser = os.path.exists(os.path.join(MODULE_UTILS, "_auditlog.py"))
    have_kill = have_parser and os.path.exists(os.path.join(MODULE_UTILS, "_killreport.py"))
    if have_parser:
        ensure_collection_link()

    runs = {
        "a": ("ours parse_events(interpret=True)", [args.python, "-c", OURS_FULL, COLLECTIONS, log],
              have_parser),
        "b": ("ours kill_reports(keys=[%s])" % args.key,
              [args.python, "-c", OURS_KILL, COLLECTIONS, log, args.key], have_kill),
        "c": ("auparse + interpret_field()", [SYSTEM_PYTHON, "-c", AUPARSE_FULL, log], True),
        "d": ("ausearch -i", [AUSEARCH, "-i", "-if", log], True),
        "e": ("ausearch -k %s --raw" % args.key, [AUSEARCH, "-k", args.key, "--raw", "-if", log], True),
    }
    selected = [k for k in "abcde" if k in args.runs]  # h runs after them
    for k in selected:
        if not runs[k][2]:
            print("run %s skipped: plugins/module_utils/%s does not exist yet" % (
                k, "_auditlog.py" if k == "a" else "_killreport.py"))
    active = [k for k in selected if runs[k][2]]

    print("log: %s (%.1f MiB)" % (log, mib))
    if summary:
        kinds = summary["events_by_kind"]
        print("generator: events %d (avc %d, login %d), kill events %d, kill events with key %d, "
              "events carrying the key %d, interleaved pairs %d" % (
                  summary["events"], kinds.get("avc", 0), kinds.get("login", 0), summary["kill_events"],
                  summary["kill_events_with_key"], summary["events_with_kill_key"],
                  summary["interleaved_pairs"]))
    print("machine: %s, kernel %s, %d CPUs, %.1f GiB RAM; ours on %s; auparse on %s; %s" % (
        os_name(), platform.release(), os.cpu_count(),
        os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        tool_version([args.python, "--version"]), tool_version([SYSTEM_PYTHON, "--version"]),
        tool_version([AUSEARCH, "-v"])))
    load_start = os.getloadavg()
    print("timing: best of %d wall-clock runs per tool, tools interleaved round-robin, log in page "
          "cache; load average at start %.2f %.2f %.2f" % ((args.repeat,) + load_start), flush=True)

    warm_cache(log)
    results = {k: [] for k in active}
    counts = {}
    versions = collections.OrderedDict()  # parser fingerprint -> runs that used it
    for i in range(args.repeat):
        for k in active:
            if k in "ab":
                versions.setdefault(parser_fingerprint(), []).append("%s%d" % (k, i + 1))
            res = run_measured(runs[k][1], capture=k in "abc")
            results[k].append(res)
            if res["out"]:
                counts[k] = json.loads(res["out"].decode().strip().splitlines()[-1])
                if counts[k].get("hwm_mib"):
                    # the child's own peak: Linux carries ru_maxrss over exec(), so wait4's
                    # figure is at least this (the benchmark's) process's peak
                    res["rss"] = counts[k]["hwm_mib"]
            print("  run %d/%d %s: %.2f s wall, %.2f s cpu, %.1f MiB RSS" % (
                i + 1, args.repeat, k, res["wall"], res["cpu"], res["rss"]), flush=True)
    # ausearch has no event counter: one more untimed pass, output counted.
    for k in "de":
        if k in active:
            counts[k] = {"events": count_ausearch_events(runs[k][1])}
    load_end = os.getloadavg()

    best = {}
    print()
    print("%-3s %-36s %8s %8s %8s %10s %11s %9s   %s" % (
        "", "run", "wall s", "cpu s", "MiB/s", "counted", "per s", "RSS MiB", "all wall s"))
    for k in active:
        rs = results[k]
        b = min(rs, key=lambda r: r["wall"])
        c = counts.get(k, {})
        n = c.get("events", c.get("reports"))
        best[k] = {"wall": b["wall"], "cpu": min(r["cpu"] for r in rs), "rss": max(r["rss"] for r in rs)}
        print("%-3s %-36s %8.2f %8.2f %8.1f %10s %11s %9.1f   %s" % (
            k, runs[k][0], b["wall"], best[k]["cpu"], mib / b["wall"],
            "n/a" if n is None else n,
            "n/a" if n is None else "%.0f" % (n / b["wall"]), best[k]["rss"],
            " ".join("%.2f" % r["wall"] for r in rs)))
    print("(wall = best run; cpu = least user+sys; RSS = peak over all runs; counted = events, for b "
          "kill reports; ausearch counted in an extra untimed pass)")
    if versions:
        print("parser sources (%s) sha256: %s" % (", ".join(PARSER_FILES), "; ".join(
            "%s for %s" % (v, " ".join(r)) for v, r in versions.items())))
        if len(versions) > 1:
            print("WARNING: the parser changed during the benchmark; runs a/b mix versions, "
                  "rerun for consistent figures")
    for k in "ab":
        if k in counts and counts[k].get("stats"):
            print("ours %s stats: %s" % (k, json.dumps(counts[k]["stats"], sort_keys=True)))
    if "c" in counts:
        print("auparse counted %(events)d events, %(records)d records, %(fields)d fields "
              "(%(undecodable)d interpretations not UTF-8)" % counts["c"])
    if summary:
        # Known differences of the reference tools on the same events (see bench/README.md).
        kinds = summary["events_by_kind"]
        expect = {"a": summary["events"], "b": summary["kill_events_with_key"],
                  "c": summary["events"] + kinds.get("login", 0),
                  "d": summary["events"] - kinds.get("avc", 0), "e": summary["events_with_kill_key"]}
        why = {"a": "generator events", "b": "kill events with the key",
               "c": "events + LOGIN events (auparse splits LOGIN from its SYSCALL)",
               "d": "events - AppArmor AVC events (ausearch skips them as malformed)",
               "e": "events carrying the key (kill syscalls + CONFIG_CHANGE)"}
        for k in active:
            c = counts.get(k, {})
            n = c.get("events", c.get("reports"))
            print("check %s: counted %s, expected %d = %s%s" % (
                k, n, expect[k], why[k], "" if n == expect[k] else "  <-- differs"))
    print("load average at end %.2f %.2f %.2f%s" % (load_end + (
        "  (busy machine: wall times inflated, compare cpu s)" if max(load_start[0], load_end[0])
        > os.cpu_count() else "",)))

    def ratio(num, den, field):
        if num in best and den in best:
            return best[num][field] / best[den][field]
        return None

    x, y = ratio("c", "a", "wall"), ratio("e", "b", "wall")
    rss = [best[k]["rss"] for k in "ab" if k in best]
    z = max(rss) if rss else None
    print("ratios[%s] (this log): full_vs_auparse_interp=%s kill_vs_ausearch_k_raw=%s peak_rss_mib=%s"
          % (label, fmt(x), fmt(y), fmt(z, "%.1f")))
    return x, y, z, size, (ratio("c", "a", "cpu"), ratio("e", "b", "cpu"))


if __name__ == "__main__":
    sys.exit(main())
