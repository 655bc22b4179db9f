# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Geometry of the HTML report's two pictures, drawn by its template as inline SVG.

timeline_chart(): one strip per host (all hosts first), a stacked bar per time bucket; each
strip has its own scale (its peak is written at its right). top_killers_chart(): one
horizontal stacked bar per killer. A bar stacks its kills by kind, in this order from the
base: other signals, SIGKILL, failed; the stylesheet colours the classes k-other, k-sigkill
and k-failed (failed is also hatched, so the three differ without colour too).

Only numbers and the data's text (labels, titles) come out; the template escapes the text.
"""

from __future__ import annotations

KINDS = ("other", "sigkill", "failed")
KIND_NAMES = {"other": "other signals", "sigkill": "SIGKILL", "failed": "failed"}

WIDTH = 960
LABEL_W = 190
PEAK_W = 70
ROW_H = 28
FIRST_ROW_H = 64
GAP = 6
AXIS_H = 34


def short(label, limit=28):
    """A label cut to fit left of the plot (the full label is in the bar's title)."""
    return label if len(label) <= limit else label[:limit - 1] + "\u2026"


def _plural(count, word):
    return "%d %s%s" % (count, word, "" if count == 1 else "s")


def _segments(counts, x, width, base, height, peak):
    """The stacked rectangles of one bar, from the base up."""
    segments = []
    y = base
    for kind in KINDS:
        value = counts[kind]
        if not value:
            continue
        h = height * value / float(peak)
        y -= h
        segments.append({"x": round(x, 2), "y": round(y, 2), "w": round(width, 2), "h": round(h, 2), "kind": kind})
    return segments


def _breakdown(counts):
    parts = ["%d %s" % (counts[kind], KIND_NAMES[kind]) for kind in KINDS if counts[kind]]
    return ", ".join(parts)


def timeline_chart(timeline):
    if not timeline:
        return None
    count = timeline["count"]
    plot_w = WIDTH - LABEL_W - PEAK_W
    step = plot_w / float(count)
    bar_w = max(step * 0.8, 1.0)
    rows, y = [], 0
    for row in timeline["rows"]:
        height = FIRST_ROW_H if row["all"] else ROW_H
        base = y + height
        bars = []
        peak = row["peak"] or 1
        for index, counts in enumerate(row["bars"]):
            if not counts["total"]:
                continue
            bucket = timeline["buckets"][index]
            x = LABEL_W + index * step + (step - bar_w) / 2
            bars.append({
                "segments": _segments(counts, x, bar_w, base, height - 4, peak),
                "title": "%s, %s to %s UTC: %s (%s)" % (
                    row["label"], bucket["start"], bucket["end"], _plural(counts["total"], "kill"), _breakdown(counts)),
            })
        rows.append({"label": row["label"], "short": short(row["label"]), "y": y, "height": height, "base": base, "label_y": base - 6,
                     "peak": "max %d" % row["peak"], "total": row["total"], "bars": bars, "all": row["all"]})
        y = base + GAP
    ticks = []
    wanted = min(count, 6)
    starts = [b["start"] for b in timeline["buckets"]] + [timeline["end"]]
    same_day = starts[0][:10] == starts[-1][:10]
    for i in range(wanted + 1):
        index = int(round(i * count / float(wanted)))
        stamp = starts[index]          # "YYYY-MM-DD HH:MM"
        if same_day:
            label = stamp[11:]
        elif timeline["bucket_seconds"] >= 86400:
            label = stamp[5:10]
        else:
            label = stamp[5:]
        ticks.append({"x": round(LABEL_W + index * step, 2), "label": label,
                      "anchor": "start" if i == 0 else "end" if i == wanted else "middle"})
    height = y + AXIS_H
    return {"width": WIDTH, "height": height, "rows": rows, "ticks": ticks, "axis_y": y, "tick_y": y + 16,
            "plot_x": LABEL_W, "plot_w": plot_w, "peak_x": WIDTH - 4,
            "bucket": timeline["bucket_name"], "start": timeline["start"], "end": timeline["end"]}


def top_killers_chart(chart):
    if not chart:
        return None
    plot_w = WIDTH - LABEL_W - PEAK_W
    peak = max(entry["total"] for entry in chart) or 1
    rows = []
    for index, entry in enumerate(chart):
        y = index * (ROW_H - 6)
        segments, x = [], float(LABEL_W)
        for kind in KINDS:
            value = entry[kind]
            if not value:
                continue
            w = plot_w * value / float(peak)
            segments.append({"x": round(x, 2), "y": y + 3, "w": round(w, 2), "h": ROW_H - 12, "kind": kind})
            x += w
        rows.append({"label": entry["label"], "short": short(entry["label"]), "label_y": y + ROW_H - 12, "segments": segments,
                     "value_x": round(x + 6, 2), "total": entry["total"],
                     "title": "%s: %s (%s)" % (entry["label"], _plural(entry["total"], "kill"), _breakdown(entry))})
    return {"width": WIDTH, "height": len(chart) * (ROW_H - 6) + 6, "rows": rows, "plot_x": LABEL_W}
