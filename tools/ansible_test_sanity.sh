#!/usr/bin/env bash
# Run `ansible-test sanity` on this checkout with one toolchain.
# Usage: tools/ansible_test_sanity.sh X.Y [ansible-test sanity options...]   (X.Y: 2.16, 2.21, ...)
#
# ansible-test needs the collection at .../ansible_collections/auditfleet/auditd and lists its files
# with git, so the checkout's files (tracked, plus untracked ones not ignored: uncommitted work is
# tested too) are copied to build/sanity-X.Y/ansible_collections/auditfleet/auditd, made a git repo.
# (Not the collection link that tools/ansible_test_integration.sh uses: with --venv, ansible-test
# delegates to its venv with the content root resolved to the checkout, which it then rejects.)
#
# Invocation, measured here (ansible-core 2.16.19 and 2.21.5; no internet, PyPI through pip's config):
#   without the offline get-pip stand-in both fail (get-pip download: name resolution). With it both
#   work and take the same time (small tree: ~60 s with an empty ~/.ansible/test, ~20 s with its
#   per-test venvs cached; most of a cold run is creating those venvs, one per test and Python).
#   We use --venv: ansible-test runs from a virtualenv of its own, so it never pip-installs into the
#   pinned toolchain in .venv/ (with --local --requirements it may install its own pins there).
# Python versions: the controller tests run on the toolchain's Python; compile and import of
# modules/module_utils run on every Python the ansible-test release supports that exists under
# pyenv (3.6+ per tests/config.yml), found through a directory of pythonX.Y links: pyenv's shims
# cannot be used, they exist for every version but fail for all but the global one.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
locked=false
if [[ "${1:-}" == --locked ]]; then locked=true; shift; fi
ver=${1:?usage: $0 X.Y [ansible-test sanity options...]}
shift
venv="$ROOT/.venv/ansible-$ver"
python="$venv/bin/python"
[[ -x "$venv/bin/ansible-test" ]] || { echo "no toolchain $venv: run make venv" >&2; exit 1; }

work="$ROOT/build/sanity-$ver"
coll="$work/ansible_collections/auditfleet/auditd"
pybin="$work/pybin"

# ansible-test's cache in ~/.ansible/test is shared by every checkout on the machine: one sanity
# run at a time creates its per-test venvs (and so one per toolchain in this tree). The rest of
# this script runs again holding that lock (tests/lib/env.sh).
mkdir -p "$work" "$HOME/.ansible/test/cache"
if ! $locked; then
    # shellcheck source=../tests/lib/env.sh
    source "$ROOT/tests/lib/env.sh"
    af_lock_file "$HOME/.ansible/test/.auditfleet-sanity.lock" bash "${BASH_SOURCE[0]}" --locked "$ver" "$@"
    exit
fi

# 1. Offline get-pip stand-in for every pip version this ansible-test bootstraps (read from
#    ansible_test itself: it depends on the target Python version).
pip_versions=$("$python" - <<'EOF'
import types
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS
print(" ".join(sorted({get_venv_packages(types.SimpleNamespace(version=v))["pip"] for v in SUPPORTED_PYTHON_VERSIONS})))
EOF
)
for pv in $pip_versions; do
    install -m 0644 "$ROOT/tools/get_pip_offline.py" "$HOME/.ansible/test/cache/get_pip_${pv//./_}.py"
done

# 2. Real interpreters for the Python versions ansible-test supports.
rm -rf "$pybin"
mkdir -p "$pybin"
supported=$("$python" -c 'from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS as v; print(" ".join(v))')
found=()
for minor in $supported; do
    best=""
    for p in "${PYENV_ROOT:-$HOME/.pyenv}/versions/$minor".*/bin/"python$minor"; do
        [[ -x "$p" ]] && best=$(printf '%s\n%s\n' "$best" "$p" | sed '/^$/d' | sort -V | tail -n 1)
    done
    [[ -n "$best" ]] || continue
    ln -s "$best" "$pybin/python$minor"
    found+=("$minor")
done
echo "ansible-test $ver: controller Python $("$python" -c 'import platform; print(platform.python_version())'), target Pythons found: ${found[*]}"

# 3. The collection tree: checkout files only (no .venv, build, caches), as a fresh git repo.
# ansible-test's delegation venv (tests/output/.tmp/delegation: made, and pip bootstrapped, when it
# is missing) is kept from the last run, at the same path, instead of being made again.
keep="$work/delegation.keep"
rm -rf "$keep"
if [[ -d "$coll/tests/output/.tmp/delegation" ]]; then mv "$coll/tests/output/.tmp/delegation" "$keep"; fi
rm -rf "$work/ansible_collections"
mkdir -p "$coll"
(
    cd "$ROOT"
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            # a tracked file deleted in the work tree is not part of what we test
            if [[ -e "$f" || -L "$f" ]]; then printf '%s\0' "$f"; fi
        done |
        tar --null --no-recursion -T - -cf -
) | tar -xf - -C "$coll"
git -C "$coll" init -q
git -C "$coll" add -A
if [[ -d "$keep" ]]; then mkdir -p "$coll/tests/output/.tmp" && mv "$keep" "$coll/tests/output/.tmp/delegation"; fi

# 4. Run. PATH: pythonX.Y links first, then the toolchain (ansible-test, ansible-doc), no pyenv shims.
clean_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -e '/\.pyenv/shims$' -e '/\.pyenv/plugins/' | paste -sd:)
cd "$coll"
PATH="$pybin:$venv/bin:$clean_path" "$venv/bin/ansible-test" sanity --venv --color no "$@"
