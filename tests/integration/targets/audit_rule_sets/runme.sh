#!/usr/bin/env bash
# Integration test of auditfleet.auditd.audit_rule_sets on this machine's real auditd: the playbook
# deploys two rule sets keyed for this run in one call, checks check mode, idempotence and the
# host report, heals drift, survives a rejected load in one set (every file and the kernel put
# back) and removes everything. setup_auditd runs it under the guard: the test lock held, the
# host's audit state put back and checked after.
set -euo pipefail
source "$(dirname "$0")/../setup_auditd/setup.sh"

key="afsets_$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')"
ansible-playbook -i localhost, -c local audit_rule_sets.yml -e "key=$key" "$@"
