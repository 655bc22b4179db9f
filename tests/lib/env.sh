# shellcheck shell=bash
# The test bootstrap for shell: sourced by the test scripts, the integration targets (through
# tests/integration/targets/setup_auditd/setup.sh), the Makefile's recipes, tools/*.sh and the demo.
#
#   source tests/lib/env.sh
#
# Values come from tests/lib/env.py (which also makes the collection link
# build/collections/ansible_collections/auditfleet/auditd -> this checkout):
#   AF_ROOT             this checkout (the collection root)
#   AF_COLLECTIONS      the directory for ANSIBLE_COLLECTIONS_PATH (it holds the link)
#   AF_COLLECTION_LINK  the link
#   AF_LOCK             the machine-wide audit test lock (/run/auditfleet-tests.lock)
#   AF_TARGET_PYTHON    the interpreter modules run on in tests (AUDITFLEET_TARGET_PYTHON overrides)
#   AF_PYTHON           the Python that runs these helpers (AF_PYTHON overrides; any 3.6+)
# Functions:
#   af_ansible_env      export what ansible-playbook needs in a test: this checkout as the only
#                       auditfleet.auditd, AF_TARGET_PYTHON as the interpreter, no colour
#   af_locked CMD...    run CMD holding the machine-wide audit test lock
#   af_guarded CMD...   run CMD under the guard of tests/lib/hoststate.py: the lock, auditd
#                       installed and running, the host's audit state saved, then put back and
#                       checked (fails if it could not be put back)
#   af_lock_file FILE CMD...   run CMD holding another lock file (toolchain builds, ansible-test's cache)
# The locks are taken by tests/lib/auditlock.py with a close-on-exec descriptor: no child, a
# daemon least of all, keeps a lock after CMD. There is no form that locks the rest of a script.

AF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
if [[ -z "${AF_PYTHON:-}" ]]; then
    AF_PYTHON=$(command -v python3 || true)
    if [[ -z "$AF_PYTHON" ]] || ! "$AF_PYTHON" -c '' 2>/dev/null; then AF_PYTHON=/usr/bin/python3; fi
fi
_af_values=$("$AF_PYTHON" "$AF_ROOT/tests/lib/env.py" shell) || {
    echo "tests/lib/env.sh: $AF_PYTHON $AF_ROOT/tests/lib/env.py shell failed" >&2
    return 1
}
eval "$_af_values"
unset _af_values
export AF_ROOT AF_COLLECTIONS AF_COLLECTION_LINK AF_LOCK AF_TARGET_PYTHON AF_PYTHON

af_ansible_env() {
    export ANSIBLE_COLLECTIONS_PATH="$AF_COLLECTIONS"
    export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false   # not a copy installed elsewhere
    export ANSIBLE_PYTHON_INTERPRETER="$AF_TARGET_PYTHON"
    export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_STDOUT_CALLBACK=default
    export ANSIBLE_RETRY_FILES_ENABLED=false
    export LC_ALL=C.UTF-8
}

af_locked() {
    "$AF_PYTHON" "$AF_ROOT/tests/lib/auditlock.py" --wait-message "waiting for the audit test lock $AF_LOCK" -- "$@"
}

af_guarded() {
    "$AF_PYTHON" "$AF_ROOT/tests/lib/hoststate.py" guard -- "$@"
}

af_lock_file() {
    local file=$1
    shift
    "$AF_PYTHON" "$AF_ROOT/tests/lib/auditlock.py" --file "$file" --wait-message "waiting for the lock $file" -- "$@"
}
