#!/usr/bin/env bash
# The filters and the lookup on what the real auditd writes: a kill rule keyed for this run,
# a real kill, then the log read back three ways. setup_auditd runs it under the guard (the
# machine-wide test lock, the host's audit state put back and checked after).
set -euo pipefail
source "$(dirname "$0")/../setup_auditd/setup.sh"

ansible-playbook -i localhost, -c local playbook.yml "$@"
