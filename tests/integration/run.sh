#!/usr/bin/env bash
# Run the integration targets with one toolchain against localhost, in place (what `make test` runs).
# Usage: tests/integration/run.sh X.Y [TARGET...]   (default: every target ansible-test would run)
#
# The targets are in ansible-test's shape (docs/testing.md): each tests/integration/targets/<name>/
# has an `aliases` file and a runme.sh, run with bash from the target's directory, as
#   ansible-test integration --local --allow-destructive <name>
# would run it (tools/ansible_test_integration.sh does exactly that). Like ansible-test, this
# skips hidden targets (setup_*, `hidden`), and `disabled` or `unsupported` ones unless named,
# and says NOT RUN for `needs/root` targets when not root. The environment is tests/lib/env.sh's:
# this checkout as auditfleet.auditd, the toolchain's bin/ first in PATH, the target interpreter.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ver=${1:?usage: $0 X.Y [TARGET...]}
shift
venv="$ROOT/.venv/ansible-$ver"
[[ -x "$venv/bin/ansible-playbook" ]] || { echo "no toolchain $venv: run make venv" >&2; exit 1; }

export PATH="$venv/bin:$PATH"
# shellcheck source=../lib/env.sh
source "$ROOT/tests/lib/env.sh"
af_ansible_env
export ANSIBLE_LOCAL_TEMP="$ROOT/build/ansible-tmp-$ver"

targets_dir="$ROOT/tests/integration/targets"
has_alias() { grep -qxF -- "$2" "$targets_dir/$1/aliases" 2>/dev/null; }

named=$#
if ((named)); then
    targets=("$@")
else
    targets=()
    while IFS= read -r -d '' d; do
        t=$(basename "$d")
        [[ $t == setup_* || $t == prepare_* ]] && continue
        has_alias "$t" hidden || has_alias "$t" disabled || has_alias "$t" unsupported && continue
        targets+=("$t")
    done < <(find "$targets_dir" -mindepth 1 -maxdepth 1 -type d -print0 | sort -z)
fi
if ((${#targets[@]} == 0)); then
    echo "integration (ansible-core $ver): no targets in tests/integration/targets yet: nothing to run"
    exit 0
fi

passed=() failed=() notrun=()
for t in "${targets[@]}"; do
    dir="$targets_dir/$t"
    echo "---- integration target $t (ansible-core $ver)"
    if [[ ! -f "$dir/aliases" ]]; then
        echo "---- $t: FAIL (no aliases file: see docs/testing.md)"
        failed+=("$t")
        continue
    fi
    if has_alias "$t" needs/root && [[ $(id -u) != 0 ]]; then
        echo "---- $t: NOT RUN (needs/root: run as root)"
        notrun+=("$t")
        continue
    fi
    start=$SECONDS
    status=0
    if [[ -x "$dir/runme.sh" ]]; then
        (cd "$dir" && ./runme.sh </dev/null) || status=$?
    else
        echo "target $t has no executable runme.sh"
        status=1
    fi
    if ((status == 0)); then
        passed+=("$t")
        echo "---- $t: PASS ($((SECONDS - start))s)"
    else
        failed+=("$t")
        echo "---- $t: FAIL (exit status $status, $((SECONDS - start))s)"
    fi
done

echo "integration (ansible-core $ver): ${#passed[@]} targets passed, ${#failed[@]} failed${failed:+: ${failed[*]}}${notrun:+, NOT RUN: ${notrun[*]}}"
((${#failed[@]} == 0 && ${#notrun[@]} == 0))
