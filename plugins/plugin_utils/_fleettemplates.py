# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Markdown and HTML from Jinja2 templates that escape everything they print.

The default templates are in templates/ next to this file. A site gives its own with the
renderers' `template` option (a path on the controller). Its directory is searched first, then
the defaults, which are also reachable as "auditfleet.auditd/NAME", so a site template can
`{% extends "auditfleet.auditd/kill_report.html.j2" %}` and replace only some blocks.

Escaping is not up to the template: every `{{ ... }}` is escaped when it is printed.
- HTML: Jinja2's autoescape (markupsafe), after control characters are made visible
  (\\xNN); `|safe` is the only way around it.
- Markdown: the environment's finalize backslash-escapes Markdown punctuation, shows control
  characters as \\xNN and newlines as <br>; `|md_safe` is the only way around it.

The HTML's Content-Security-Policy is computed at render time: csp(style=..., script=...)
returns a policy that allows exactly the given inline style and script (their SHA-256) and
nothing else, no remote resource of any kind.
"""

from __future__ import annotations

import base64
import hashlib
import os

from jinja2 import (ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined,
                    TemplateError, TemplateNotFound, TemplateSyntaxError)
from markupsafe import Markup

from ansible_collections.auditfleet.auditd.plugins.plugin_utils._fleetsvg import (
    KIND_NAMES, KINDS, timeline_chart, top_killers_chart)
from ansible_collections.auditfleet.auditd.plugins.plugin_utils._textsafe import (
    markdown_text, one_line, visible_controls)

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
PREFIX = "auditfleet.auditd"
DEFAULTS = {"html": "kill_report.html.j2", "markdown": "kill_report.md.j2"}


class MarkdownSafe(str):
    """Markdown that the template means as markup (|md_safe): printed as it is."""


def _html_finalize(value):
    if value is None:
        return ""
    if isinstance(value, Markup) or isinstance(value, (int, float)):
        return value
    return visible_controls(value)


def _markdown_finalize(value):
    if value is None:
        return ""
    if isinstance(value, MarkdownSafe) or isinstance(value, (int, float)):
        return value
    return markdown_text(value)


def csp_source(text):
    """The CSP hash source of an inline element's text: 'sha256-BASE64'."""
    digest = hashlib.sha256(str(text).encode("utf-8")).digest()
    return "'sha256-%s'" % base64.b64encode(digest).decode("ascii")


def content_security_policy(style="", script=""):
    """Nothing may load; only the given inline style and script may apply."""
    parts = ["default-src 'none'", "base-uri 'none'", "form-action 'none'"]
    parts.append("style-src %s" % csp_source(style) if style else "style-src 'none'")
    parts.append("script-src %s" % csp_source(script) if script else "script-src 'none'")
    return "; ".join(parts)


_TD = {"time": Markup('<td class="t">'), "num": Markup('<td class="n">'), "cmd": Markup('<td class="c">'),
       "wide": Markup('<td class="w">'), "state": ""}


def td_open(kind):
    """The opening tag of a table cell of a column kind ("" for state: its class is its value)."""
    return _TD.get(kind, Markup("<td>"))


_ENVIRONMENTS = {}


def _environment(kind, site_dir):
    key = (kind, site_dir)
    env = _ENVIRONMENTS.get(key)
    if env is not None:
        return env
    defaults = FileSystemLoader(TEMPLATE_DIR)
    loaders = [FileSystemLoader(site_dir)] if site_dir else []
    loaders += [PrefixLoader({PREFIX: defaults}), defaults]
    env = Environment(loader=ChoiceLoader(loaders), autoescape=(kind == "html"), undefined=StrictUndefined,
                      finalize=_html_finalize if kind == "html" else _markdown_finalize,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["one_line"] = one_line
    env.filters["md_safe"] = MarkdownSafe
    env.filters["td_open"] = td_open
    env.globals.update(csp=content_security_policy, kinds=KINDS, kind_names=KIND_NAMES, zip=zip)
    _ENVIRONMENTS[key] = env
    return env


def template_path(value, option, plugin):
    """The template option: None (the default) or the path of a readable file."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError("%s: option %s must be the path of a template file, not %s"
                        % (plugin, option, type(value).__name__))
    path = os.path.abspath(os.path.expanduser(str(value)))
    if not os.path.isfile(path):
        raise ValueError("%s: option %s: %s is not a file" % (plugin, option, one_line(path)))
    if not os.access(path, os.R_OK):
        raise ValueError("%s: option %s: %s is not readable" % (plugin, option, one_line(path)))
    return path


def render(kind, context, template=None, plugin="auditfleet.auditd"):
    """Render the default template of kind (html, markdown), or the site's template file."""
    if template:
        site_dir, name = os.path.split(template)
    else:
        site_dir, name = None, DEFAULTS[kind]
    env = _environment(kind, site_dir)
    try:
        return env.get_template(name).render(context)
    except TemplateSyntaxError as exc:
        raise ValueError("%s: template %s, line %s: %s" % (plugin, one_line(exc.filename or name), exc.lineno,
                                                           one_line(exc.message or exc)))
    except TemplateNotFound as exc:
        raise ValueError("%s: template %s: %s not found" % (plugin, one_line(name), one_line(exc.name)))
    except TemplateError as exc:
        raise ValueError("%s: template %s: %s" % (plugin, one_line(name), one_line(exc)))


def render_markdown(view, report, template=None, plugin="auditfleet.auditd.kill_report_markdown"):
    return render("markdown", {"view": view, "report": report}, template, plugin)


def render_html(view, report, template=None, plugin="auditfleet.auditd.kill_report_html"):
    charts = {"timeline": timeline_chart(view["timeline"]),
              "killers": top_killers_chart(view["killers"]["chart"])}
    return render("html", {"view": view, "report": report, "charts": charts}, template, plugin)
