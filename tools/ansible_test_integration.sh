#!/usr/bin/env bash
# Run the integration targets with ansible-test itself, on this machine, offline.
# Usage: tools/ansible_test_integration.sh X.Y [TARGET...] [ansible-test integration options...]
#
# The same targets tests/integration/run.sh runs (what `make test` runs; docs/testing.md says why),
# here through `ansible-test integration --local --allow-destructive`: ansible-test reads their
# aliases, skips the hidden ones, copies each target with its needs/target/ dependencies to
# tests/output/.tmp and runs its runme.sh there, with the environment it gives tests (inventory
# /dev/null, a sentinel ANSIBLE_PYTHON_INTERPRETER; setup_auditd puts tests/lib/env.sh's in place).
# ansible-test needs the collection at .../ansible_collections/auditfleet/auditd: it is pointed at
# the collection link (ANSIBLE_TEST_CONTENT_ROOT), so the checkout is tested in place, uncommitted
# changes included. Nothing is installed: --local uses the toolchain as it is (no --requirements).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ver=${1:?usage: $0 X.Y [TARGET...] [ansible-test integration options...]}
shift
venv="$ROOT/.venv/ansible-$ver"
[[ -x "$venv/bin/ansible-test" ]] || { echo "no toolchain $venv: run make venv" >&2; exit 1; }

# PATH: the toolchain first, no pyenv shims (they exist for every version but fail for all but one).
PATH="$venv/bin:$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -e '/\.pyenv/shims$' -e '/\.pyenv/plugins/' | paste -sd:)"
export PATH
# shellcheck source=../tests/lib/env.sh
source "$ROOT/tests/lib/env.sh"
cd "$AF_COLLECTION_LINK"
ANSIBLE_TEST_CONTENT_ROOT="$AF_COLLECTION_LINK" "$venv/bin/ansible-test" integration --local --allow-destructive \
    --python "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" --color no "$@"
