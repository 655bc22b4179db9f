#!/usr/bin/env bash
# Integration test of auditfleet.auditd.audit_rule on this machine's real auditd: the playbook
# applies a rule set keyed for this run, checks idempotence and check mode, kills a process and
# finds the kill, heals drift, survives a rejected load and removes everything. setup_auditd
# runs it under the guard: the test lock held, the host's audit state put back and checked after.
set -euo pipefail
source "$(dirname "$0")/../setup_auditd/setup.sh"

key="afint_$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')"
ansible-playbook -i localhost, -c local audit_rule.yml -e "key=$key" "$@"
