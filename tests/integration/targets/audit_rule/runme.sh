#!/usr/bin/env bash
# Integration test of auditfleet.auditd.audit_rule on this machine's real auditd.
# Kernel audit state is global: hold the machine-wide test lock (tests/lib/auditlock.py uses
# the same flock), snapshot /etc/audit/rules.d, audit.rules(.prev) and `auditctl -l`, run the
# playbook, then put back whatever differs and check the host is exactly as it was.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
umask 077   # auditctl -R refuses rule files that other users can read


lock=${AUDITFLEET_TEST_LOCK:-/run/auditfleet-tests.lock}
exec 9>>"$lock"
flock 9

rules_d=/etc/audit/rules.d
snap=$(mktemp -d /tmp/afint-audit_rule.XXXXXX)
cp -a "$rules_d" "$snap/rules.d"
for f in audit.rules audit.rules.prev; do
    if [[ -e /etc/audit/$f ]]; then cp -a "/etc/audit/$f" "$snap/$f"; fi
done
auditctl -l > "$snap/kernel"

restore() {
    local status=$? failed=0
    find "$rules_d" -mindepth 1 -maxdepth 1 -exec rm -f {} +
    cp -a "$snap/rules.d/." "$rules_d/"
    for f in audit.rules audit.rules.prev; do
        if [[ -e "$snap/$f" ]]; then cp -a "$snap/$f" "/etc/audit/$f"; else rm -f "/etc/audit/$f"; fi
    done
    if ! auditctl -l | cmp -s - "$snap/kernel"; then
        auditctl -D >/dev/null
        grep -v '^No rules$' "$snap/kernel" > "$snap/kernel.rules" || true
        if [[ -s "$snap/kernel.rules" ]]; then auditctl -R "$snap/kernel.rules" >/dev/null; fi
    fi
    diff -r "$snap/rules.d" "$rules_d" || failed=1
    auditctl -l | diff "$snap/kernel" - || failed=1
    rm -rf "$snap"
    if ((failed)); then
        echo "audit_rule integration: the host was not put back as it was" >&2
        exit 1
    fi
    exit "$status"
}
trap restore EXIT

# Interpreter discovery can pick a pyenv shim that fails for all but the global version; the
# managed host's own Python is /usr/bin/python3 on Debian.
case "${ANSIBLE_PYTHON_INTERPRETER:-auto}" in
    auto*) if [[ -x /usr/bin/python3 ]]; then export ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3; fi ;;
esac

key="afint_$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')"
ansible-playbook -i localhost, -c local audit_rule.yml -e "key=$key" "$@"
