"""The collection's docs site (antsibull-docs + Sphinx), built offline.

  python tools/docsite.py rst [--check]
      docs/*.md -> docs/docsite/rst/*.rst (pandoc); --check only compares, and exits 1 when a
      file is out of date (make docsite-rst)
  python tools/docsite.py build --tarball T --dest D
      install the collection tarball T, then `antsibull-docs sphinx-init` and `collection`, and
      `sphinx-build -W` into D (html in D/site/build/html) (make docsite)

Why generated rst: antsibull-docs takes extra docs only as reStructuredText in docs/docsite/rst
(it has no Markdown support), while the docs are written in Markdown for the README, GitHub and
Automation Hub (which renders docs/*.md). The rst files are generated from the Markdown with
pandoc and committed, so that the tarball carries them and `antsibull-docs lint-collection-docs`
can check docs/docsite/extra-docs.yml against them; `rst --check` (in tests/release) says when a
Markdown file changed without `make docsite-rst`.

Why stub inventories: Sphinx resolves references to other sites (the Ansible docs, Python,
Jinja2) through intersphinx inventories that it downloads. This machine and CI are offline, so
the build uses small local inventories (written here) holding the labels the generated pages
refer to, and no network at all: a missing label is an error under -W, never a silent download.

Run `build` with the Python of the release toolchain (.venv/release: antsibull-docs, Sphinx,
sphinx-ansible-theme, ansible-core); `rst` needs only pandoc (Debian package) and the standard
library.
"""
from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
RST_DIR = os.path.join(DOCS, "docsite", "rst")
COLLECTION = "auditfleet.auditd"
LABEL_PREFIX = f"ansible_collections.{COLLECTION}.docsite."
REPOSITORY = "https://github.com/auditfleet/auditd/blob/main/"
# Markdown docs that are for developers of the collection (the tarball leaves them out too,
# galaxy.yml build_ignore): not in the site.
DEVELOPMENT_ONLY = {"fleet-tests.md", "testing.md"}
TIMEOUT = 300

# pandoc renders [text](target) as `text <target>`__ (anonymous) or `text <target>`_, and a link
# whose text is code, [`text`](target), as ```text`` <target>`__, which rst cannot nest: plain text
_LINK = re.compile(r"`(?P<text>[^`<]*?)\s*<(?P<target>[^`<>]+)>`__?")
_CODE_LINK = re.compile(r"```(?P<text>[^`<]+)`` <(?P<target>[^`<>]+)>`__?")


def _run(argv, **kwargs):
    """An external program: argument list, C locale, a timeout; fails loudly."""
    env = dict(os.environ, LC_ALL="C.UTF-8")
    return subprocess.run(argv, env=env, timeout=TIMEOUT, check=True, **kwargs)


def label_of(md_name: str) -> str:
    return LABEL_PREFIX + os.path.splitext(md_name)[0].replace("-", "_")


def markdown_docs() -> list[str]:
    """The user-facing Markdown docs: docs/*.md but the development-only ones, sorted."""
    return sorted(
        n for n in os.listdir(DOCS)
        if n.endswith(".md") and n not in DEVELOPMENT_ONLY and os.path.isfile(os.path.join(DOCS, n))
    )


def _relink(rst: str, md_name: str) -> str:
    """Links between docs become :ref:s; other relative links point into the repository."""
    names = set(markdown_docs())

    def repl(m):
        text, target = m.group("text"), m.group("target")
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            return m.group(0)
        path, dummy, anchor = target.partition("#")
        if path in names:
            label = label_of(path)
            return f":ref:`{text or path} <{label}>`" if not anchor else f":ref:`{text} <{label}>`"
        repo_path = os.path.normpath(os.path.join("docs", path)) if path else f"docs/{md_name}"
        return f"`{text or repo_path} <{REPOSITORY}{repo_path}{'#' + anchor if anchor else ''}>`__"

    return _LINK.sub(repl, _CODE_LINK.sub(r"`\g<text> <\g<target>>`__", rst))


def md_to_rst(md_name: str, pandoc: str) -> str:
    with open(os.path.join(DOCS, md_name), encoding="utf-8") as f:
        markdown = f.read()
    out = _run(
        [pandoc, "--from=gfm-gfm_auto_identifiers", "--to=rst", "--wrap=preserve", "--columns=10000"],
        input=markdown, capture_output=True, text=True,
    ).stdout
    header = (
        f".. Generated from docs/{md_name} by tools/docsite.py (make docsite-rst): edit that file.\n\n"
        f".. _{label_of(md_name)}:\n\n"
    )
    return header + _relink(out, md_name).rstrip() + "\n"


def cmd_rst(args) -> int:
    pandoc = shutil.which("pandoc")
    if not pandoc:
        print("docsite: pandoc is missing (apt-get install pandoc; tools/testenv.sh release installs it)",
              file=sys.stderr)
        return 2
    wanted = {os.path.splitext(n)[0] + ".rst": md_to_rst(n, pandoc) for n in markdown_docs()}
    present = set(os.listdir(RST_DIR)) if os.path.isdir(RST_DIR) else set()
    stale = []
    for name, text in sorted(wanted.items()):
        path = os.path.join(RST_DIR, name)
        old = None
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old == text:
            continue
        stale.append(name)
        if args.check:
            diff = difflib.unified_diff((old or "").splitlines(True), text.splitlines(True),
                                        f"docs/docsite/rst/{name}", "generated", n=1)
            sys.stdout.writelines(list(diff)[:40])
        else:
            os.makedirs(RST_DIR, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    extra = sorted(n for n in present - set(wanted) if n.endswith(".rst"))
    if args.check:
        if stale or extra:
            print(f"docsite: out of date: {', '.join(stale) or '-'}; without a Markdown source: "
                  f"{', '.join(extra) or '-'}. Run `make docsite-rst` and commit docs/docsite/rst.")
            return 1
        print(f"docsite: {len(wanted)} rst files up to date with docs/*.md")
        return 0
    for name in extra:
        os.unlink(os.path.join(RST_DIR, name))
    print(f"docsite: wrote {len(stale)} of {len(wanted)} rst files, removed {len(extra)}")
    return 0


# ---- the site ---------------------------------------------------------------------------------

# Labels of other sites that the generated pages refer to (antsibull-docs writes them into every
# plugin, module and role page). Each inventory: (project, base URL, [(name, domain:role, uri,
# display name)]). A page that needs a label missing here fails the -W build with
# "undefined label": add it here, with the page of the real site it names.
_ANSIBLE_DEVEL = "https://docs.ansible.com/projects/ansible/devel/"
STUB_INVENTORIES = {
    "ansible_devel": ("Ansible", _ANSIBLE_DEVEL, [
        # the environment variables page (collections/environment_variables.rst)
        ("ansible_configuration_settings", "std:label", "reference_appendices/config.html",
         "Ansible Configuration Settings"),
        # module pages: "Common return values are documented here"
        ("common_return_values", "std:label", "reference_appendices/common_return_values.html",
         "Return Values"),
        # audit_events' documentation names the file lookup
        ("ansible_collections.ansible.builtin.file_lookup", "std:label",
         "collections/ansible/builtin/file_lookup.html", "ansible.builtin.file lookup"),
    ]),
}


def write_inventory(path: str, project: str, entries) -> None:
    """A Sphinx objects.inv (format version 2) with the given entries."""
    lines = "".join(f"{name} {role} 1 {uri} {disp}\n" for name, role, uri, disp in entries)
    with open(path, "wb") as f:
        f.write(
            f"# Sphinx inventory version 2\n# Project: {project}\n# Version: stub\n"
            "# The remainder of this file is compressed using zlib.\n".encode()
        )
        f.write(zlib.compress(lines.encode()))


def cmd_build(args) -> int:
    bindir = os.path.dirname(sys.executable)
    dest = os.path.abspath(args.dest)
    shutil.rmtree(dest, ignore_errors=True)
    collections = os.path.join(dest, "collections")
    site = os.path.join(dest, "site")
    os.makedirs(site)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_LOCAL_TEMP=os.path.join(dest, "tmp"), LC_ALL="C.UTF-8",
               PATH=bindir + os.pathsep + os.environ.get("PATH", ""))

    def run(argv, cwd=None):
        print("+ " + " ".join(argv), flush=True)
        subprocess.run(argv, env=env, cwd=cwd, timeout=TIMEOUT, check=True)

    # The site is made from the tarball, as users install it: what it lacks, the site lacks.
    run([os.path.join(bindir, "ansible-galaxy"), "collection", "install", "--offline", "--force",
         "-p", collections, os.path.abspath(args.tarball)])
    run([os.path.join(bindir, "antsibull-docs"), "sphinx-init", "--use-current", "--fail-on-error",
         "--dest-dir", site, COLLECTION])
    stubs = os.path.join(site, "intersphinx")
    os.makedirs(stubs)
    mapping = {}
    for name, (project, url, entries) in STUB_INVENTORIES.items():
        path = os.path.join(stubs, f"{name}.inv")
        write_inventory(path, project, entries)
        mapping[name] = (url, path)
    with open(os.path.join(site, "conf.py"), "a", encoding="utf-8") as f:
        f.write(
            "\n# Added by tools/docsite.py: offline, local stub inventories only (no download).\n"
            f"intersphinx_mapping = {mapping!r}\n"
        )
    rst = os.path.join(site, "rst")  # sphinx-init wrote rst/index.rst; as its build.sh does:
    os.makedirs(rst, exist_ok=True)
    os.chmod(rst, 0o755)  # antsibull-docs wants that directory writable by itself only
    run([os.path.join(bindir, "antsibull-docs"), "--config-file", os.path.join(site, "antsibull-docs.cfg"),
         "collection", "--use-current", "--cleanup", "everything", "--fail-on-error",
         "--dest-dir", rst, COLLECTION], cwd=site)
    # -W: every warning (an undefined label, a bad directive, a broken toctree) fails the build
    run([os.path.join(bindir, "sphinx-build"), "-M", "html", rst, os.path.join(site, "build"),
         "-c", site, "-W", "--keep-going", "-q"], cwd=site)
    print(f"docsite: {os.path.join(site, 'build', 'html', 'index.html')}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_rst = sub.add_parser("rst", help="generate docs/docsite/rst from docs/*.md")
    p_rst.add_argument("--check", action="store_true", help="only say whether the files are up to date")
    p_build = sub.add_parser("build", help="build the site from a collection tarball")
    p_build.add_argument("--tarball", required=True)
    p_build.add_argument("--dest", required=True)
    args = parser.parse_args(argv)
    try:
        return cmd_rst(args) if args.command == "rst" else cmd_build(args)
    except subprocess.CalledProcessError as exc:
        print(f"docsite: {exc.cmd[0]} failed with exit status {exc.returncode}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
