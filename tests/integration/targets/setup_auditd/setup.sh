# shellcheck shell=bash
# Sourced first by the runme.sh of every target that touches the host's audit state (its aliases
# say destructive, needs/root, needs/target/setup_auditd):
#
#   source "$(dirname "$0")/../setup_auditd/setup.sh"
#
# 1. Finds the collection (under ansible-test, through ANSIBLE_COLLECTIONS_PATH: the target runs
#    from a copy in tests/output/.tmp) and sources its tests/lib/env.sh.
# 2. Runs the calling runme.sh again under the guard (tests/lib/hoststate.py): the machine-wide
#    audit test lock, auditd installed and started if needed, the host's audit state (rules.d,
#    audit.rules, auditd.conf, the kernel's rules and settings, whether auditd runs) saved; when
#    the script ends, however it ends, whatever differs is put back and checked. The guard exits
#    with the script's status, or 1 if the host could not be put back; this file exits with it.
# 3. In the run under the guard: exports what ansible-playbook needs (af_ansible_env: this
#    checkout as auditfleet.auditd, the target interpreter, no colour), goes to the target's
#    directory, and defines af_run_role (below).

_af_setup_find_root() {
    local d candidates=()
    [[ -n "${AF_ROOT:-}" ]] && candidates+=("$AF_ROOT")
    local IFS=:
    for d in ${ANSIBLE_COLLECTIONS_PATH:-}; do candidates+=("$d/ansible_collections/auditfleet/auditd"); done
    candidates+=("$(dirname "${BASH_SOURCE[0]}")/../../../..")
    for d in "${candidates[@]}"; do
        if [[ -f "$d/tests/lib/env.sh" ]]; then (cd "$d" && pwd -P); return 0; fi
    done
    echo "setup_auditd: cannot find the collection (tests/lib/env.sh) from ${candidates[*]}" >&2
    return 1
}

_af_setup_root=$(_af_setup_find_root) || exit 1
# shellcheck source=../../../lib/env.sh
source "$_af_setup_root/tests/lib/env.sh" || exit 1
unset _af_setup_root

_af_setup_script="$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")"
if [[ "${AF_GUARDED_SCRIPT:-}" != "$_af_setup_script" ]]; then
    echo "setup_auditd: running $(basename "$(dirname "$_af_setup_script")") under the audit state guard"
    AF_GUARDED_SCRIPT=$_af_setup_script af_guarded bash "$_af_setup_script" "$@"
    exit $?
fi
unset _af_setup_script

af_ansible_env
cd "$(dirname "$0")" || exit 1

# af_run_role [ansible-playbook options...]: this target's tasks/main.yml as a role on localhost,
# as ansible-test runs a role target (roles path: the targets directory).
af_run_role() {
    local name play
    name=$(basename "$PWD")
    play=$(mktemp "${TMPDIR:-/tmp}/af-role-$name.XXXXXX.yml")
    printf -- '- name: Integration target %s\n  hosts: localhost\n  gather_facts: false\n  roles: [%s]\n' "$name" "$name" >"$play"
    local status=0
    ANSIBLE_ROLES_PATH="$(cd .. && pwd)" ansible-playbook -i localhost, -c local "$play" "$@" || status=$?
    rm -f "$play"
    return "$status"
}
