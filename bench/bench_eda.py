"""Benchmark of the EDA event source auditfleet.auditd.audit_log: how many events per second it
sustains while a log grows, and its latency from the write to the queue.

    python bench/bench_eda.py [--size 64M] [--rates 1000,4000,16000,64000] [--step 2] [--poll 0.25]

1. bench/gen_log.py writes a log (several hosts, kill events keyed kill_rule among the others).
2. Baseline, same lines, same process: the parser's plain rate (grouping every record and
   making the kill reports of kill_rule, as the source does: kill_reports() without keys,
   filtered), and the key fast path (kill_reports(keys=[kill_rule])) for reference.
3. Catch-up: the source (main(queue, args), from_start, an asyncio.Queue(1) as ansible-rulebook
   gives it, a consumer that takes at once) reads the whole file: its top rate.
4. Growing rate: another process appends the log's lines to a new file at RATE events per
   second (all events, of which the source sends the kill_rule kills), each rate for STEP
   seconds, and notes when each kill's last line was written; the consumer notes when the kill
   reached it. Latency = that difference (CLOCK_MONOTONIC of both processes). A rate is
   sustained when the source has sent every kill written at that rate within a second.
Figures only; nothing is asserted.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import runpy
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.lib.env import COLLECTION_LINK, import_collection  # noqa: E402

import_collection()
from ansible_collections.auditfleet.auditd.plugins.module_utils._killreport import kill_reports  # noqa: E402

PLUGIN = os.path.join(COLLECTION_LINK, "extensions", "eda", "plugins", "event_source", "audit_log.py")
KEY = "kill_rule"
_ID = re.compile(rb"msg=audit\((\d+\.\d+:\d+)\)")
_ENDS = re.compile(rb"type=(PROCTITLE|EOE) ")


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def plan(path):
    """Byte offset where each event's last line ends (file order), and (node, event id) -> the
    index of the event in that order."""
    last = {}
    offset = 0
    with open(path, "rb") as f:
        for line in f:
            offset += len(line)
            m = _ID.search(line)
            if m is None:
                continue
            node = line[5:line.index(b" ")] if line.startswith(b"node=") else b""
            key = (node, m.group(1))
            last[key] = offset
    ordered = sorted(last.items(), key=lambda kv: kv[1])
    ends = [end for _k, end in ordered]
    index = {(k[0].decode(), k[1].decode()): i for i, (k, _end) in enumerate(ordered)}
    return ends, index


def writer(src, dst, ends, rates, step, times_out):
    """Append SRC's bytes to DST at RATE events per second, each rate for STEP seconds; write
    [monotonic time its last line was written, rate then] for every event to TIMES_OUT."""
    written_events = 0
    times = []
    with open(src, "rb") as fin, open(dst, "ab", buffering=0) as fout:
        pos = 0
        for rate in rates:
            begin = time.monotonic()
            base = written_events
            while True:
                now = time.monotonic()
                if now - begin >= step or written_events >= len(ends):
                    break
                due = min(len(ends), base + int(rate * (now - begin)))
                if due > written_events:
                    end = ends[due - 1]
                    fout.write(fin.read(end - pos))
                    pos = end
                    stamp = time.monotonic()
                    times.extend([stamp, rate] for _n in range(due - written_events))
                    written_events = due
                time.sleep(0.002)
    with open(times_out, "w") as f:
        json.dump(times, f)


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def consume_until(run_main, args, want, idle_stop, received):
    queue = asyncio.Queue(1)
    task = asyncio.ensure_future(run_main(queue, args))
    last = time.monotonic()
    try:
        while len(received) < want:
            try:
                item = await asyncio.wait_for(queue.get(), 0.5)
            except asyncio.TimeoutError:
                if task.done():
                    task.result()
                if idle_stop():
                    break
                continue
            report = item["auditd"]["report"]
            received.append(((report["node"] or "", report["event_id"]), time.monotonic()))
            last = time.monotonic()
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    return last


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--size", default="64M", help="size of the generated log (default 64M)")
    parser.add_argument("--rates", default="1000,4000,16000,64000",
                        help="events per second written, one step each, until the log's end (default 1000,4000,16000,64000)")
    parser.add_argument("--step", type=float, default=2.0, help="seconds per rate (default 2)")
    parser.add_argument("--poll", type=float, default=0.25, help="the source's poll_interval (default 0.25)")
    opts = parser.parse_args()
    rates = [int(r) for r in opts.rates.split(",")]
    out = os.path.join(ROOT, "bench", "out")
    os.makedirs(out, exist_ok=True)
    src = os.path.join(out, "eda-source.log")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_log.py"), "--size", opts.size, "--out", src],
                   check=True, stderr=subprocess.DEVNULL)
    size = os.path.getsize(src)
    ends, index = plan(src)

    # 2. baselines
    t0 = time.perf_counter()
    plain = [r for r in kill_reports(src) if KEY in r["keys"]]
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast = sum(1 for _r in kill_reports(src, keys=[KEY]))
    t_fast = time.perf_counter() - t0
    kill_index = {(r["node"] or "", r["event_id"]): index[(r["node"] or "", r["event_id"])] for r in plain}
    print("log: %s, %.1f MiB, %d events, %d kill_rule kill events" % (src, size / 1048576.0, len(ends), len(kill_index)))
    print("baseline parser, every record grouped: %.2f s, %.0f events/s, %.1f MiB/s (%d kills)"
          % (t_plain, len(ends) / t_plain, size / 1048576.0 / t_plain, len(plain)))
    print("baseline parser, key fast path:        %.2f s, %.0f events/s, %.1f MiB/s (%d kills)"
          % (t_fast, len(ends) / t_fast, size / 1048576.0 / t_fast, fast))

    plugin = runpy.run_path(PLUGIN)
    rss0 = rss_mib()

    # 3. catch-up: the whole file at once
    received = []
    t0 = time.perf_counter()
    asyncio.run(consume_until(plugin["main"], {"path": src, "keys": [KEY], "from_start": True, "poll_interval": opts.poll},
                              len(plain), lambda: False, received))
    t_src = time.perf_counter() - t0
    same = [k[1] for k, _t in received] == [r["event_id"] for r in plain]
    print("source, catch-up (whole file, Queue(1)): %.2f s, %.0f events/s, %.1f MiB/s, %d kills sent%s"
          % (t_src, len(ends) / t_src, size / 1048576.0 / t_src, len(received),
             "" if same else " (DIFFERENT from the parser's)"))
    print("ratio source/parser (same lines, same work): %.2f" % (t_plain / t_src))

    # 4. growing rate
    dst = os.path.join(out, "eda-growing.log")
    times_out = os.path.join(out, "eda-growing.times.json")
    for path in (dst, times_out):
        if os.path.exists(path):
            os.unlink(path)
    open(dst, "wb").close()
    proc = multiprocessing.get_context("fork").Process(target=writer, args=(src, dst, ends, rates, opts.step, times_out))
    received = []
    args = {"path": dst, "keys": [KEY], "from_start": True, "poll_interval": opts.poll}

    def writer_done():
        return not proc.is_alive()

    async def growing():
        proc.start()
        await consume_until(plugin["main"], args, len(kill_index), writer_done, received)

    asyncio.run(growing())
    proc.join()
    with open(times_out) as f:
        times = json.load(f)
    step_of = [rate for _t, rate in times]
    times = [t for t, _rate in times]
    print("growing log (poll_interval %.2f s; writer: %d of %d events written):" % (opts.poll, len(times), len(ends)))
    print("  %8s %9s %8s %8s %8s %8s %8s  %s" % ("rate/s", "kills", "sent", "p50 ms", "p95 ms", "p99 ms", "max ms", "sustained"))
    sustained = 0
    got = dict(received)
    for rate in rates:
        lat, written, sent = [], 0, 0
        for key, index in kill_index.items():
            if index >= len(times) or index >= len(step_of) or step_of[index] != rate:
                continue
            written += 1
            if key in got:
                sent += 1
                lat.append((got[key] - times[index]) * 1000.0)
        if not written:
            continue
        ok = sent == written and percentile(lat, 0.99) < 1000.0
        if ok:
            sustained = rate
        print("  %8d %9d %8d %8.1f %8.1f %8.1f %8.1f  %s" % (
            rate, written, sent, percentile(lat, 0.5), percentile(lat, 0.95), percentile(lat, 0.99),
            max(lat) if lat else float("nan"), "yes" if ok else "no"))
    print("sustained: %d events/s (every kill sent, p99 under 1 s); catch-up top rate %.0f events/s"
          % (sustained, len(ends) / t_src))
    print("peak RSS: %.1f MiB before the source ran, %.1f MiB after (the baselines ran first)" % (rss0, rss_mib()))


if __name__ == "__main__":
    main()
