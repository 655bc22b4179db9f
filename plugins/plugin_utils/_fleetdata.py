# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report filters' boundary with ansible-core: plain data in, untrusted text out,
and the checking of options (each error names the plugin, the option and the value)."""

from __future__ import annotations

import functools
import gc
from collections.abc import Mapping

try:  # ansible-core 2.19+: no string is a template unless it is tagged trusted; nothing to do
    from ansible.template import trust_as_template as _trust_probe  # noqa: F401  pylint: disable=unused-import
    _AnsibleUnsafeText = None
except ImportError:  # ansible-core < 2.19: strings are templates unless marked unsafe
    from ansible.utils.unsafe_proxy import AnsibleUnsafeText as _AnsibleUnsafeText


def plain(value):
    """A lazy container of ansible-core 2.19+ as the plain container it wraps; anything else as is.

    From 2.19 on, filters get their arguments as lazy containers that run each value through the
    templating engine when it is read: tens of microseconds a value, which is nearly all the
    time of a report of thousands of kills. The contents are data (module results, facts, filter
    results), so they are taken as they are, without templating (a string that looks like a
    template stays text, which is what log data must do). Nested containers come out plain
    too. The method is internal to ansible-core: when it is missing, the lazy path is used.
    """
    copier = getattr(value, "_non_lazy_copy", None)
    if copier is None:
        return value
    try:
        return copier()
    except Exception:  # pylint: disable=broad-except
        return value


def untrusted(text):
    """Text made from log data, marked so that ansible-core < 2.19 never templates it.

    There, a string stored with set_fact is templated again each time it is read: a command
    line holding "{{ lookup('pipe', ...) }}" would run on the controller. 2.19+ never templates
    data it does not trust, so the text is returned as it is.
    """
    if _AnsibleUnsafeText is None or text is None:
        return text
    return _AnsibleUnsafeText(text)


def untrusted_data(value):
    """untrusted() applied to every string of a structure of dicts and lists."""
    if isinstance(value, str):
        return untrusted(value)
    if isinstance(value, Mapping):
        return {untrusted_data(k): untrusted_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [untrusted_data(v) for v in value]
    return value


def bool_option(value, option, plugin):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "on", "1", "no", "false", "off", "0"):
        return value.strip().lower() in ("yes", "true", "on", "1")
    if isinstance(value, int):
        return bool(value)
    raise TypeError("%s: option %s must be a boolean, not %r" % (plugin, option, value))


def int_option(value, option, plugin, minimum=0):
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise TypeError("%s: option %s must be an integer, not %r" % (plugin, option, value))
    if isinstance(value, bool) or number < minimum:
        raise ValueError("%s: option %s must be an integer >= %d, not %r" % (plugin, option, minimum, value))
    return number


def str_option(value, option, plugin, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise TypeError("%s: option %s must be a string, not %s" % (plugin, option, type(value).__name__))
    return str(value)


def choice_option(value, option, plugin, choices):
    if value not in choices:
        raise ValueError("%s: option %s must be one of %s, not %r" % (plugin, option, ", ".join(choices), value))
    return str(value)


def host_list(value, option, plugin):
    """A list of host names (one name is a list of one)."""
    if value is None:
        return None
    value = plain(value)
    if isinstance(value, (str, bytes)):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise TypeError("%s: option %s must be a list of host names, not %s"
                        % (plugin, option, type(value).__name__))
    out = []
    for item in items:
        if isinstance(item, bytes):
            item = item.decode("utf-8", "replace")
        if not isinstance(item, str):
            raise TypeError("%s: option %s must hold host names (strings); %r is %s"
                            % (plugin, option, item, type(item).__name__))
        out.append(str(item))
    return out


def report_list(value, where, plugin):
    """A list of kill reports (dicts), or None; anything else is an error naming what it is."""
    value = plain(value)
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or isinstance(value, Mapping):
        raise TypeError("%s: %s must be a list of kill reports, not %s" % (plugin, where, type(value).__name__))
    try:
        items = list(value)
    except TypeError:
        raise TypeError("%s: %s must be a list of kill reports, not %s" % (plugin, where, type(value).__name__))
    for index, item in enumerate(items):
        if not isinstance(item, (dict, Mapping)):
            raise TypeError("%s: item %d of %s is %s, not a kill report (dict)"
                            % (plugin, index, where, type(item).__name__))
    return items


def gc_paused(func):
    """Run a report filter with Python's cyclic garbage collector paused.

    Aggregating and rendering make millions of short-lived lists, dicts and strings and no
    reference cycles; the collector's repeated passes over the growing heap took about half of
    the rendering time (bench/bench_report.py). Reference counting still frees everything; the
    collector is switched back on (if it was on) when the filter returns or raises.
    """
    @functools.wraps(func)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()
    return paused
