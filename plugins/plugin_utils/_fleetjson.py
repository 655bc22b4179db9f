# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as JSON text (kill_report.json).

Keys in the report's own order (so the count tables are most first, as everywhere), ASCII only
(every byte of the log survives as an escape, and no control character reaches a terminal that
shows the file). The summary parts are indented; each kill report of "reports" and "probes" is
one line: as readable with grep and diff, and several times faster
than indenting everything (Python's json module only uses its C encoder without indent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

_LISTS = ("reports", "probes")


def _default(value):
    """What json cannot encode by itself: other mappings and sequences, and the raw items that
    json's C encoder reads straight out of a lazy list of ansible-core 2.19+ (its values wait,
    wrapped, to be templated; they are data here)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if type(value).__name__ == "_LazyValue" and hasattr(value, "value"):
        return value.value
    raise TypeError("cannot write %s as JSON" % type(value).__name__)


def _dumps(value, **kwargs):
    return json.dumps(value, ensure_ascii=True, default=_default, **kwargs)


def render_json(report):
    """The fleet report as JSON text, ending with a newline."""
    parts = []
    for key in report:
        if key in _LISTS:
            items = report.get(key) or []
            if items:
                body = "[\n%s\n  ]" % ",\n".join("    " + _dumps(item, separators=(", ", ": ")) for item in items)
            else:
                body = "[]"
        else:
            body = _dumps(report[key], indent=2).replace("\n", "\n  ")
        parts.append("  %s: %s" % (_dumps(key), body))
    return "{\n%s\n}\n" % ",\n".join(parts)
