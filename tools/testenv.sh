#!/usr/bin/env bash
# Idempotent test bootstrap, called by `make venv` (and so by `make test`):
#   1. Debian packages the tests need (auditd, python3-audit, shellcheck for ansible-test sanity),
#   2. auditd running (unit and integration tests read what it writes),
#   3. one virtualenv per ansible-core toolchain under .venv/, from tests/requirements/ansible-X.Y.txt;
#      `release` is the release toolchain .venv/release (tests/requirements/release.txt: galaxy-importer,
#      ansible-builder, ansible-runner, the docs site), which also needs Debian's pandoc,
#   4. .venv/ansible-rulebook (tests/requirements/ansible-rulebook.txt) and Java 17 for the live test of
#      the EDA event source; NOT RUN (recorded in .venv/ansible-rulebook.notrun) where it cannot be built,
#   5. .venv/browser (selenium, tests/requirements/browser.txt) with Debian's chromium and
#      chromium-driver, for the HTML report's browser test (tests/unit/plugins/filter/test_report_browser.py).
# Usage: tools/testenv.sh [X.Y|release ...]   (default: 2.16 2.21)
# A toolchain that cannot be built here (no suitable Python) is not an error: it is reported loudly
# as NOT RUN and recorded in .venv/ansible-X.Y.notrun, which tools/stage.sh turns into NOT RUN stages.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENVS="$ROOT/.venv"
PYENV_VERSIONS="${PYENV_ROOT:-$HOME/.pyenv}/versions"

log() { printf '[testenv] %s\n' "$*"; }

# Python minor versions each toolchain may use, preferred first.
# 2.16: Python 3.11 (the machine's default, inside ansible-core 2.16's controller range 3.10-3.12).
# 2.21: the newest Python inside ansible-core 2.21's controller range 3.12-3.14.
python_candidates() {
    case "$1" in
        2.16) echo "3.11" ;;
        2.21) echo "3.14 3.13 3.12" ;;
        release) echo "3.11" ;;
        rulebook) echo "3.11 3.12" ;;
        browser) echo "3.11" ;;
        *) return 1 ;;
    esac
}

# Newest installed CPython X.Y.Z for minor version X.Y: pyenv first, then the system.
find_python() {
    local minor=$1 best="" p
    for p in "$PYENV_VERSIONS/$minor".*/bin/python"$minor"; do
        [[ -x "$p" ]] || continue
        # only plain releases (3.11.7), not 3.11.7t or 3.11-dev
        [[ "$(basename "$(dirname "$(dirname "$p")")")" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || continue
        best=$(printf '%s\n%s\n' "$best" "$p" | sed '/^$/d' | sort -V | tail -n 1)
    done
    if [[ -z "$best" ]] && command -v "python$minor" >/dev/null && "python$minor" -c '' 2>/dev/null; then
        best=$(command -v "python$minor")
    fi
    [[ -n "$best" ]] && echo "$best"
}

ensure_packages() {
    local missing=() pkg
    for pkg in auditd python3-audit shellcheck chromium chromium-driver ${EXTRA_PACKAGES:-}; do
        if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    # ansible-rulebook's rule engine runs on a Java 17 runtime
    command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
    if ((${#missing[@]} == 0)); then
        log "Debian packages present: auditd python3-audit shellcheck chromium chromium-driver ${EXTRA_PACKAGES:-}"
        return
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # DPkg::Lock::Timeout: wait for another apt run on this machine instead of failing at once.
    apt-get -o DPkg::Lock::Timeout=600 update -q
    # policy-rc.d may forbid starting services during apt here; auditd is started below instead.
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" </dev/null
}

# auditd installed and running: tests/lib/hoststate.py, under the machine-wide test lock (as any
# auditd start), without the init script (it would replace every rule loaded in the kernel, other
# tests' rules included); tests load the rules they need themselves.
ensure_auditd() {
    "$AF_PYTHON" "$ROOT/tests/lib/hoststate.py" ensure-running
    log "auditd is running"
}

# Build .venv/ansible-X.Y (or .venv/release) unless its stamp matches the requirements file and interpreter.
ensure_venv() {
    local ver=$1 name="ansible-$1"
    [[ "$ver" == release || "$ver" == browser ]] && name=$ver
    local req="$ROOT/tests/requirements/$name.txt" dir="$VENVS/$name"
    local notrun="$VENVS/$name.notrun" python="" minor stamp
    [[ -f "$req" ]] || { log "ERROR: no requirements file $req"; return 1; }
    for minor in $(python_candidates "$ver"); do
        python=$(find_python "$minor") && break
    done
    if [[ -z "$python" ]]; then
        local reason
        reason="no Python $(python_candidates "$ver" | tr ' ' '/') found in $PYENV_VERSIONS or PATH"
        printf '%s\n' "$reason" >"$notrun"
        local what="ansible-core $ver toolchain (lint, sanity, unit, integration)"
        [[ "$ver" == rulebook ]] && what="ansible-rulebook toolchain (the live test of the EDA event source)"
        [[ "$ver" == browser ]] && what="browser toolchain (the HTML report's browser test)"
        printf '\n!!!!!!!!\nNOT RUN: %s because %s\n!!!!!!!!\n\n' "$what" "$reason"
        return 0
    fi
    rm -f "$notrun"
    stamp="$(sha256sum "$req" | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version.split()[0])') $python"
    if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$stamp" ]] && "$dir/bin/python" -c '' 2>/dev/null; then
        log "$name: up to date ($dir, $("$dir/bin/python" -V))"
        return
    fi
    log "$name: building $dir with $python"
    rm -rf "$dir"
    "$python" -m venv "$dir"
    # The file pins every package, so no resolver run is needed; pip check proves it is complete.
    # -qq: this machine's pip config names index directories that may not exist (a warning per package).
    "$dir/bin/python" -m pip install -qq --no-deps --no-input -r "$req"
    "$dir/bin/python" -m pip check
    printf '%s\n' "$stamp" >"$dir/.stamp"   # written last: an interrupted build is redone
    log "$name: ready ($("$dir/bin/python" -V)$([[ -x "$dir/bin/ansible" ]] && "$dir/bin/ansible" --version | head -n 1 | sed 's/^/, /'))"
}

build_venvs() {
    local v
    for v in "$@"; do
        ensure_venv "$v"
    done
    ensure_venv rulebook
    ensure_venv browser
}

main() {
    mkdir -p "$VENVS"
    # The real path: a venv's scripts name their interpreter by the path it was built at, and
    # .venv may be a symlink that goes away (a worktree's link to a shared .venv).
    VENVS=$(cd "$VENVS" && pwd -P)
    if [[ "${1:-}" == --locked ]]; then   # the run below, holding the lock
        shift
        build_venvs "$@"
        return
    fi
    local versions=("$@")
    ((${#versions[@]})) || versions=(2.16 2.21)
    [[ " ${versions[*]} " == *" release "* ]] && EXTRA_PACKAGES=pandoc
    ensure_packages
    # shellcheck source=../tests/lib/env.sh
    source "$ROOT/tests/lib/env.sh"   # (needs a python3: the packages above bring Debian's)
    ensure_auditd
    # Several people may run make in this tree at once: one venv build at a time.
    af_lock_file "$VENVS/.lock" bash "${BASH_SOURCE[0]}" --locked "${versions[@]}"
}

main "$@"
