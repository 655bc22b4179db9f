#!/usr/bin/env bash
# tasks/main.yml as a role on localhost, under setup_auditd's guard (the test lock held, the
# host's audit state put back and checked after). Copy this directory to add a live target.
set -euo pipefail
source "$(dirname "$0")/../setup_auditd/setup.sh"
af_run_role "$@"
