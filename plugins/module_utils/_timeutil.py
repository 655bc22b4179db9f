# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Times as the collection's options take them: epoch seconds, ISO 8601, or relative ("1h")."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar
import datetime
import re
import time

# Matched against the stripped text: no pattern has two whitespace runs that could share
# the same characters (which backtracks quadratically over a run of spaces).
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|d|day|w|week)s?(?:\s*ago)?\Z", re.I)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600,
          "d": 86400, "day": 86400, "w": 604800, "week": 604800}
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(?:\s*(Z|[+-]\d{2}:?\d{2}))?\Z", re.I)
_NUMBER = re.compile(r"\d+(?:\.\d+)?\Z")
_EPOCH = datetime.datetime(1970, 1, 1)


class TimeSpecError(ValueError):
    """A time option that is neither epoch seconds, ISO 8601 nor a relative time."""


def parse_time(value, now=None, name="time"):
    """Return epoch seconds (float) for VALUE, or None when VALUE is None or empty.

    Accepted: a number (epoch seconds); a string of digits; ISO 8601 date or date and time
    (without an offset it is UTC); a relative time before NOW such as "90s", "30m", "1h",
    "7d", "2w" (an optional "ago" is allowed); "now".
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TimeSpecError("%s: %r is not a time" % (name, value))
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise TimeSpecError("%s: %r is not a time" % (name, value))
    text = str(value).strip()
    if now is None:
        now = time.time()
    if text.lower() == "now":
        return float(now)
    if _NUMBER.match(text):
        return float(text)
    m = _RELATIVE.match(text)
    if m:
        return float(now) - float(m.group(1)) * _UNITS[m.group(2).lower()]
    m = _ISO.match(text)
    if m:
        year, month, day, hour, minute, second, frac, zone = m.groups()
        try:
            secs = calendar.timegm((int(year), int(month), int(day), int(hour or 0),
                                    int(minute or 0), int(second or 0), 0, 0, 0))
        except (ValueError, OverflowError):
            raise TimeSpecError("%s: %r is not a valid date" % (name, text))
        if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31 and int(hour or 0) < 24
                and int(minute or 0) < 60 and int(second or 0) < 61):
            raise TimeSpecError("%s: %r is not a valid date" % (name, text))
        if frac:
            secs += float("0." + frac)
        if zone and zone.upper() != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        return float(secs)
    raise TimeSpecError(
        "%s: %r is not a time; use epoch seconds, ISO 8601 (2026-11-26T10:00:00Z) "
        "or a relative time such as 30m, 1h, 7d" % (name, text))


def iso_seconds(secs):
    """Whole epoch seconds -> "2026-11-26T00:30:40" (UTC), from the year 1 to 9999, also
    where time_t has 32 bits (date arithmetic, not the C library's gmtime). Beyond that
    range: OverflowError."""
    d = _EPOCH + datetime.timedelta(seconds=secs)
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (d.year, d.month, d.day, d.hour, d.minute, d.second)


def iso_utc(epoch):
    """ISO 8601 UTC with milliseconds, the form the collection returns: 2026-11-26T00:30:40.498Z.
    None for a time that has no such form (beyond the year 9999, not a number)."""
    try:
        secs = int(epoch)
        millis = int(round((epoch - secs) * 1000))
        if millis == 1000:
            secs, millis = secs + 1, 0
        return iso_seconds(secs) + ".%03dZ" % millis
    except (OverflowError, ValueError, TypeError):
        return None
