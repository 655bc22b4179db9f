#!/usr/bin/env bash
# Run the integration targets with one toolchain against localhost (connection local).
# Usage: tests/integration/run.sh X.Y [TARGET...]   (default: every directory in targets/)
#
# Each tests/integration/targets/<name>/ holds either
#   runme.sh  - run with bash from the target directory (it may call ansible-playbook itself), or
#   main.yml  - a playbook, run as: ansible-playbook -i localhost, -c local main.yml
# Both see this checkout as the collection auditfleet.auditd (the same build/collections symlink
# tree that tests/conftest.py keeps) and the toolchain's bin/ first in PATH.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ver=${1:?usage: $0 X.Y [TARGET...]}
shift
venv="$ROOT/.venv/ansible-$ver"
[[ -x "$venv/bin/ansible-playbook" ]] || { echo "no toolchain $venv: run make venv" >&2; exit 1; }

collections="$ROOT/build/collections"
link="$collections/ansible_collections/auditfleet/auditd"
if [[ ! -L "$link" ]]; then
    mkdir -p "$(dirname "$link")"
    ln -s "$ROOT" "$link"
fi

targets_dir="$ROOT/tests/integration/targets"
if (($#)); then
    targets=("$@")
else
    targets=()
    if [[ -d "$targets_dir" ]]; then
        while IFS= read -r -d '' d; do targets+=("$(basename "$d")"); done \
            < <(find "$targets_dir" -mindepth 1 -maxdepth 1 -type d -print0 | sort -z)
    fi
fi
if ((${#targets[@]} == 0)); then
    echo "integration (ansible-core $ver): no targets in tests/integration/targets yet: nothing to run"
    exit 0
fi

export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$collections"
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false     # only this checkout, not a copy installed elsewhere
export ANSIBLE_LOCAL_TEMP="$ROOT/build/ansible-tmp-$ver"
export ANSIBLE_RETRY_FILES_ENABLED=false
export ANSIBLE_NOCOLOR=1
export ANSIBLE_FORCE_COLOR=0
export ANSIBLE_STDOUT_CALLBACK=default
# Modules run on the system Python, as on a managed Debian host. Interpreter discovery is not used:
# with pyenv, it picks shims such as /root/.pyenv/shims/python3.12 that fail for non-global versions.
export ANSIBLE_PYTHON_INTERPRETER="${ANSIBLE_PYTHON_INTERPRETER:-/usr/bin/python3}"
export LC_ALL=C.UTF-8

passed=() failed=()
for t in "${targets[@]}"; do
    dir="$targets_dir/$t"
    echo "---- integration target $t (ansible-core $ver)"
    start=$SECONDS
    status=0
    if [[ -f "$dir/runme.sh" ]]; then
        (cd "$dir" && bash ./runme.sh </dev/null) || status=$?
    elif [[ -f "$dir/main.yml" ]]; then
        (cd "$dir" && ansible-playbook -i localhost, -c local main.yml </dev/null) || status=$?
    else
        echo "target $t has neither runme.sh nor main.yml"
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

echo "integration (ansible-core $ver): ${#passed[@]} targets passed, ${#failed[@]} failed${failed:+: ${failed[*]}}"
((${#failed[@]} == 0))
