#!/usr/bin/env bash
# The filters and the lookup on what the real auditd writes: a kill rule keyed for this run,
# a real kill, then the log read back three ways. Kernel audit state is global, so the run
# holds the machine-wide test lock (tests/lib/auditlock.py uses the same file); -o keeps it
# from children (a daemon started meanwhile would hold it for ever).
set -euo pipefail
cd "$(dirname "$0")"
exec flock -o "${AUDITFLEET_TEST_LOCK:-/run/auditfleet-tests.lock}" \
  ansible-playbook -i localhost, -c local \
  -e ansible_python_interpreter="{{ ansible_playbook_python }}" playbook.yml "$@"
