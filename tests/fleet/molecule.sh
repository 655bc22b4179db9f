#!/usr/bin/env bash
# molecule.sh [MOLECULE ARGS...]: run Molecule on the fleet scenario (tests/fleet/molecule/),
# e.g. `tests/fleet/molecule.sh test`, `... list`, `... create`, `... destroy`.
# Molecule finds its scenarios in the current directory, and the role under test is
# auditfleet.auditd.auditd_syscall, so this wrapper cds into tests/fleet and sources
# tests/lib/env.sh, which links the checkout as the collection and exports AF_COLLECTIONS
# (molecule.yml points ANSIBLE_COLLECTIONS_PATH there). Ansible and Molecule come from
# ANSIBLE_BIN_DIR if set, else PATH.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ -n "${ANSIBLE_BIN_DIR:-}" ]; then export PATH="$ANSIBLE_BIN_DIR:$PATH"; fi
command -v molecule >/dev/null || { echo "molecule.sh: no molecule in ANSIBLE_BIN_DIR or PATH (pip install -r tests/fleet/requirements.txt)" >&2; exit 2; }
# shellcheck source=../lib/env.sh
source "$ROOT/tests/lib/env.sh"
# Molecule colours its output even into a file or a CI log; plain text there.
if [ ! -t 1 ]; then export NO_COLOR=1 MOLECULE_NO_COLOR=1 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0; fi
cd "$HERE"
exec molecule "$@"
