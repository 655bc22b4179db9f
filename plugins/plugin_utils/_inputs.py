# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers shared by the filters and the lookup: option checking."""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.auditfleet.auditd.plugins.module_utils._timeutil import (
    TimeSpecError, parse_time)


def log_lines(data, plugin):
    """Filter input -> a list of log lines, or None when it is a list of events (dicts).

    Strings are always log text here, never paths: a filter must not read controller files.
    """
    if data is None:
        return []
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if isinstance(data, str):
        return data.split("\n")
    if isinstance(data, Mapping):
        raise TypeError("%s: the input is a dict; give the log text, a list of log lines "
                        "or a list of events" % plugin)
    try:
        items = list(data)
    except TypeError:
        raise TypeError("%s: the input must be log text, a list of log lines or a list of "
                        "events, not %s" % (plugin, type(data).__name__))
    if items and all(isinstance(item, Mapping) for item in items):
        return None
    for index, item in enumerate(items):
        if not isinstance(item, (str, bytes)):
            raise TypeError("%s: item %d of the input is %s; a list must hold log lines "
                            "(strings) or events (dicts)" % (plugin, index, type(item).__name__))
    return [item.decode("utf-8", "replace") if isinstance(item, bytes) else item for item in items]


def str_list(value, option, plugin):
    """An option that takes one string or a list of strings."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        return [value.decode() if isinstance(value, bytes) else value]
    try:
        values = list(value)
    except TypeError:
        raise TypeError("%s: option %s must be a string or a list of strings, not %s"
                        % (plugin, option, type(value).__name__))
    for item in values:
        if not isinstance(item, str):
            raise TypeError("%s: option %s must hold strings; %r is %s"
                            % (plugin, option, item, type(item).__name__))
    return values or None


def time_option(value, option, plugin):
    """since/until: epoch seconds, ISO 8601 or relative (30m, 1h, 7d) -> epoch seconds."""
    try:
        return parse_time(value, name="%s: option %s" % (plugin, option))
    except TimeSpecError as exc:
        raise ValueError(str(exc))
