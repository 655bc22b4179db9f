#!/usr/bin/env bash
# The collection's demo, what `make demo` runs. As root on a Linux host with kernel audit:
#   1. a toolchain: .venv/ansible-2.16 when `make venv` built it, else .venv/demo with the same
#      pinned ansible-core (tests/requirements/ansible-2.16.txt), from the system Python;
#   2. builds the collection (ansible-galaxy collection build) from the checkout's files and
#      installs the tarball into build/demo/collections (not ~/.ansible);
#   3. runs `ansible-playbook auditfleet.auditd.demo` against localhost, holding the machine-wide
#      audit test lock: the role auditfleet.auditd.auditd_syscall with the kill rule set, a sleep
#      killed as root with the login uid of a demo user, the kill report read back with the lookup
#      auditfleet.auditd.audit_log; then everything it added is removed. Unless KEEP=1, it runs
#      under the guard of tests/lib/hoststate.py, which checks that the host's audit state is as
#      before (and puts back what the playbook left, saying so).
#
# Usage: tools/demo.sh [ansible-playbook options...]     e.g. tools/demo.sh -v
# Environment:
#   KEEP=1             keep the kill rule set, the demo user and auditd.conf (auditfleet_demo_keep)
#   DEMO_VENV=DIR      use this virtualenv's ansible-playbook (it must have ansible-core >= 2.16)
#   AUDITFLEET_TEST_LOCK=FILE   the audit test lock file (default: tests/lib/auditlock.py's LOCK_PATH)
#   AUDITFLEET_TARGET_PYTHON=PATH   the Python modules run on (default /usr/bin/python3, see tests/lib/env.py)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO_DIR="$ROOT/build/demo"
REQUIREMENTS="$ROOT/tests/requirements/ansible-2.16.txt"

log() { printf '[demo] %s\n' "$*"; }
die() { printf '[demo] ERROR: %s\n' "$*" >&2; exit 1; }

case "${KEEP:-0}" in
    1 | true | yes) keep=true ;;
    0 | false | no | "") keep=false ;;
    *) die "KEEP=${KEEP} is not understood: use KEEP=1 to keep what the demo adds" ;;
esac

[[ "$(id -u)" == 0 ]] || die "the demo loads audit rules and reads /var/log/audit: run it as root (sudo make demo)"
[[ "$(uname -s)" == Linux && -e /proc/self/loginuid ]] || die "the demo needs Linux with kernel audit (/proc/self/loginuid)"

# ---- 1. toolchain ---------------------------------------------------------------------------
# Python for the venv: the system's first (pyenv shims may point to a Python that is not there),
# within ansible-core 2.16's controller range 3.10-3.12.
pick_python() {
    local p
    for p in /usr/bin/python3 /usr/bin/python3.12 /usr/bin/python3.11 /usr/bin/python3.10 \
             "$(command -v python3.12 || true)" "$(command -v python3.11 || true)" \
             "$(command -v python3.10 || true)"; do
        [[ -n "$p" && -x "$p" ]] || continue
        "$p" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' 2>/dev/null || continue
        echo "$p"
        return 0
    done
    return 1
}

make_demo_venv() {
    local venv="$ROOT/.venv/demo" python pin stamp
    pin=$(sed -nE 's/^ansible-core==([0-9.]+).*/\1/p' "$REQUIREMENTS")
    [[ -n "$pin" ]] || die "no ansible-core pin in $REQUIREMENTS"
    python=$(pick_python) || die "no Python 3.10-3.12 found (apt-get install python3)"
    stamp="ansible-core==$pin $("$python" -c 'import sys; print(sys.version.split()[0])') $python"
    if [[ -f "$venv/.stamp" && "$(cat "$venv/.stamp")" == "$stamp" ]] && "$venv/bin/python" -c '' 2>/dev/null; then
        echo "$venv"
        return
    fi
    if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
        command -v apt-get >/dev/null || die "$python has no venv module; install it"
        log "installing python3-venv" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv </dev/null >&2
    fi
    log "building $venv (ansible-core $pin, $python)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # the requirements file pins every package of the toolchain; as constraints it pins
    # ansible-core's dependencies to the same versions
    "$venv/bin/python" -m pip install -qq --no-input -c "$REQUIREMENTS" "ansible-core==$pin" >&2
    printf '%s\n' "$stamp" >"$venv/.stamp"
    echo "$venv"
}

if [[ -n "${DEMO_VENV:-}" ]]; then
    venv=$DEMO_VENV
elif [[ -x "$ROOT/.venv/ansible-2.16/bin/ansible-playbook" ]]; then
    venv="$ROOT/.venv/ansible-2.16"
else
    venv=$(make_demo_venv)
fi
[[ -x "$venv/bin/ansible-playbook" ]] || die "no ansible-playbook in $venv"
log "toolchain: $venv ($("$venv/bin/ansible" --version | head -n 1))"

# The role installs auditd with the package manager; an empty apt cache has no candidate.
if command -v apt-get >/dev/null && ! dpkg -s auditd >/dev/null 2>&1; then
    candidate=$(apt-cache policy auditd 2>/dev/null | sed -n 's/^ *Candidate: //p' || true)
    if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
        log "apt has no candidate for auditd: apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
    fi
fi

# ---- 2. build and install the collection ----------------------------------------------------
rm -rf "$DEMO_DIR/src" "$DEMO_DIR/dist" "$DEMO_DIR/collections"
mkdir -p "$DEMO_DIR/src" "$DEMO_DIR/dist" "$DEMO_DIR/collections" "$DEMO_DIR/tmp"
# Build from the checkout's files only (tracked, or new and not ignored): toolchains, build
# trees, caches and test work directories (sockets among them) stay out.
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do
            if [[ -f "$ROOT/$f" ]]; then printf '%s\0' "$f"; fi   # tracked files deleted since
          done \
        | tar -C "$ROOT" --null -T - -cf - | tar -C "$DEMO_DIR/src" -xf -
else
    tar -C "$ROOT" --exclude=./.venv --exclude=./.git --exclude=./build --exclude=./.cache \
        --exclude=./tests/output --exclude=./tests/fleet/.work --exclude=./bench/out \
        --exclude=./.hypothesis --exclude='*.tar.gz' -cf - . | tar -C "$DEMO_DIR/src" -xf -
fi
log "building the collection"
"$venv/bin/ansible-galaxy" collection build --force --output-path "$DEMO_DIR/dist" "$DEMO_DIR/src" >/dev/null
tarball=$(ls "$DEMO_DIR"/dist/auditfleet-auditd-*.tar.gz)
log "installing $(basename "$tarball") into $DEMO_DIR/collections"
export ANSIBLE_COLLECTIONS_PATH="$DEMO_DIR/collections"
"$venv/bin/ansible-galaxy" collection install --force --offline -p "$DEMO_DIR/collections" "$tarball" >/dev/null

# ---- 3. run the demo ------------------------------------------------------------------------
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false     # this build, not another copy on the machine
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml         # the report prints as lines, not JSON
export ANSIBLE_LOCAL_TEMP="$DEMO_DIR/tmp" ANSIBLE_REMOTE_TEMP="$DEMO_DIR/tmp"
export ANSIBLE_RETRY_FILES_ENABLED=false
cd "$DEMO_DIR"     # no ansible.cfg of another directory applies
# The machine-wide audit test lock (tests/lib/env.sh: no child, an auditd the demo restarts least
# of all, keeps it); the guard also checks the host's audit state afterwards, unless KEEP=1.
# shellcheck source=../tests/lib/env.sh
source "$ROOT/tests/lib/env.sh"
if [[ $keep == true ]]; then under=af_locked; else under=af_guarded; fi
log "running ansible-playbook auditfleet.auditd.demo (auditfleet_demo_keep=$keep)"
start=$SECONDS
"$under" "$venv/bin/ansible-playbook" -i localhost, -c local \
    -e ansible_python_interpreter="$AF_TARGET_PYTHON" \
    -e auditfleet_demo_keep="$keep" \
    auditfleet.auditd.demo "$@"
log "done in $((SECONDS - start))s"
