# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text from the audit log made safe for people: terminals, spreadsheets, Markdown.

Log data is untrusted: any local user names a process what they like (prctl(PR_SET_NAME),
argv), and a remote log's node name comes from another machine. What a person opens (a
terminal that cats the CSV or the Markdown, a spreadsheet, a Markdown viewer) must not run
or hide anything:

- visible_controls(): every control character that a terminal interprets (C0 but tab and
  newline, DEL, C1 such as the 8-bit CSI 0x9b), the Unicode bidirectional overrides (which
  reorder what is shown) and the line and paragraph separators become visible escapes:
  \\x1b, \\x9b, \\u202e.
- spreadsheet_cell(): a cell that a spreadsheet would read as a formula (=, +, -, @, tab, CR,
  also after leading spaces) gets a leading ' (the OWASP rule for CSV injection).
- markdown_text(): Markdown punctuation backslash-escaped, newlines as <br>.

HTML is escaped by the templates' autoescape (after visible_controls).
"""

from __future__ import annotations

import re

_C0 = [c for c in range(0x20) if c not in (0x09, 0x0a)]
_C1 = list(range(0x80, 0xa0))
_BIDI = list(range(0x202a, 0x202f)) + list(range(0x2066, 0x206a)) + [0x200e, 0x200f, 0x061c, 0x2028, 0x2029]

VISIBLE = {c: "\\x%02x" % c for c in _C0 + [0x7f] + _C1}
VISIBLE.update({c: "\\u%04x" % c for c in _BIDI})
# A visible escape of the two line-break characters that are kept in multi-line cells.
_ONE_LINE = dict(VISIBLE)
_ONE_LINE.update({0x09: " ", 0x0a: " "})
# Most text has none of these: one regex search is much cheaper than a translate().
_ANY_CONTROL = re.compile("[%s]" % "".join("\\x%02x" % c if c < 0x100 else "\\u%04x" % c for c in sorted(VISIBLE)))


def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def visible_controls(value):
    """Text with every control character but tab and newline shown as \\xNN (\\r\\n becomes \\n)."""
    text = _text(value)
    if _ANY_CONTROL.search(text) is None:
        return text
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(VISIBLE)


def one_line(value):
    """visible_controls(), with tabs and newlines as spaces: for terminal messages and headings."""
    text = _text(value)
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(_ONE_LINE)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def is_formula(text):
    """Would a spreadsheet (Excel, LibreOffice, Google Sheets) read this cell as a formula?"""
    stripped = text.lstrip(" ")
    return stripped.startswith(_FORMULA_START)


def spreadsheet_cell(value):
    """A text cell safe to open in a spreadsheet: controls visible, a formula prefixed with '."""
    text = visible_controls(value)
    if is_formula(text):
        return "'" + text
    return text


# CommonMark: any ASCII punctuation may be backslash-escaped. Escaping these means log data can
# make no emphasis, code, link, image, HTML, entity, strikethrough or math, and | cannot split
# a table cell. Controls are made visible first (their backslash escaped in turn, so that they
# render as \xNN), newlines become <br>.
_MD = {ord(c): "\\" + c for c in "\\`*_[]<>|~&$!#"}
_MD.update({c: "\\" + v for c, v in VISIBLE.items()})
_MD.update({0x0a: "<br>", 0x09: " "})
_ANY_MD = re.compile("[%s]" % "".join("\\x%02x" % c if c < 0x100 else "\\u%04x" % c for c in sorted(_MD)))


def markdown_text(value):
    text = _text(value)
    if _ANY_MD.search(text) is None:
        return text
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(_MD)
