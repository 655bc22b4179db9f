#!/usr/bin/env bash
# run.sh [SCENARIO...]: the fleet test stage (`make test-fleet`), see tests/fleet/README.md.
# Builds the VM image (or reuses it), boots FLEET_N VMs (default 4), runs the scenario
# playbooks (default: every tests/fleet/scenarios/[0-9]*.yml in name order; or the ones
# named, as paths or file names), and always stops the VMs, whatever happened.
# Prints one timing line per phase and exits non-zero if any phase failed.
# Knobs: FLEET_N, FLEET_WORKDIR, ANSIBLE_BIN_DIR (where ansible-playbook is; else PATH),
# FLEET_SCENARIO_TIMEOUT (s per scenario, 1800), FLEET_FAIL_FAST=1 (stop at the first failed
# scenario; a failed 00-smoke always stops the run), FLEET_ANSIBLE_ARGS (extra arguments).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FLEET=$HERE/fleet.sh
N=${FLEET_N:-4}
SCENARIO_TIMEOUT=${FLEET_SCENARIO_TIMEOUT:-1800}

if [ -n "${ANSIBLE_BIN_DIR:-}" ]; then export PATH="$ANSIBLE_BIN_DIR:$PATH"; fi
command -v ansible-playbook >/dev/null || {
  echo "fleet: no ansible-playbook in ANSIBLE_BIN_DIR or PATH" >&2; exit 2; }

# Scenarios to run.
scenarios=()
if [ "$#" -gt 0 ]; then
  for s in "$@"; do
    if [ -f "$s" ]; then scenarios+=("$(realpath "$s")")
    elif [ -f "$HERE/scenarios/$s" ]; then scenarios+=("$HERE/scenarios/$s")
    else echo "fleet: no scenario $s" >&2; exit 2; fi
  done
else
  mapfile -t scenarios < <(find "$HERE/scenarios" -maxdepth 1 -name '[0-9]*.yml' | LC_ALL=C sort)
fi
[ "${#scenarios[@]}" -gt 0 ] || { echo "fleet: no scenarios in $HERE/scenarios" >&2; exit 2; }

# The collection as ansible_collections/auditfleet/auditd (the layout tests/conftest.py keeps).
link=$ROOT/build/collections/ansible_collections/auditfleet/auditd
if [ ! -L "$link" ]; then
  mkdir -p "$(dirname "$link")"
  ln -s "$ROOT" "$link"
fi
export ANSIBLE_COLLECTIONS_PATH=$ROOT/build/collections

T0=$(date +%s)
summary=()
failed=0          # any phase failed
n_pass=0 n_fail=0 # scenarios; a failed image/up/down phase counts as one failure too

CHILD="" CURRENT="" UP=""
# phase NAME CMD...: run, time and record one phase; returns its status.
# The command runs in the background and is waited for, so that a signal to this script
# is handled at once (bash defers traps while a foreground command runs).
phase() {
  local name=$1 t rc=0
  shift
  t=$(date +%s)
  echo "fleet: ---- phase $name: start $(date -Is) (load $(cut -d' ' -f1-3 /proc/loadavg))"
  CURRENT=$name
  "$@" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD="" CURRENT=""
  local line
  line=$(printf 'fleet: phase %-28s %-6s %5ds' "$name" "$([ "$rc" = 0 ] && echo ok || echo FAILED)" $(( $(date +%s) - t )))
  [ "$rc" = 0 ] || { line+=" (exit $rc)"; failed=1; }
  echo "$line (load $(cut -d' ' -f1-3 /proc/loadavg))"
  summary+=("$line")
  return "$rc"
}

finish() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$UP" ]; then
    # For the log: memory per VM and whether every VM survived the scenarios.
    "$FLEET" status || echo "fleet: not every VM is up after the scenarios"
  fi
  # Always stop the VMs; down is idempotent and stops only what this work dir started.
  phase down "$FLEET" down || rc=1
  echo "fleet: ==== summary"
  printf '%s\n' "${summary[@]}"
  [ "$failed" = 0 ] || rc=1
  echo "fleet: total $(( $(date +%s) - T0 ))s, $([ "$rc" = 0 ] && echo passed || echo FAILED)"
  if [ "$rc" != 0 ] && [ "$n_fail" = 0 ]; then n_fail=1; fi
  # The closing line CI reads: scenarios passed and failed.
  echo "fleet: $n_pass passed, $n_fail failed"
  exit "$rc"
}
interrupted() {
  echo "fleet: interrupted: stopping the running phase, then the VMs" >&2
  if [ -n "$CHILD" ]; then
    kill -TERM "$CHILD" 2>/dev/null || echo "fleet: the phase had ended" >&2
    wait "$CHILD" || echo "fleet: the phase ended with $?" >&2
    summary+=("$(printf 'fleet: phase %-28s %-6s' "$CURRENT" INTERRUPTED)")
  fi
  failed=1
  exit 130
}
trap finish EXIT
trap interrupted INT TERM

echo "fleet: $(ansible-playbook --version | head -n 1), N=$N, ${#scenarios[@]} scenario(s)"
phase image "$HERE/build-image.sh" || exit 1
# A fleet left over from an interrupted run in this work dir would hold the ports.
"$FLEET" down
phase "up $N" "$FLEET" up "$N" || exit 1
UP=1
eval "$("$FLEET" env)"
export ANSIBLE_CONFIG FLEET_INVENTORY FLEET_SH FLEET_WORKDIR

extra=()
if [ -n "${FLEET_ANSIBLE_ARGS:-}" ]; then read -r -a extra <<< "$FLEET_ANSIBLE_ARGS"; fi
for s in "${scenarios[@]}"; do
  name=$(basename "$s" .yml)
  if phase "$name" timeout --kill-after=30 "$SCENARIO_TIMEOUT" ansible-playbook "${extra[@]+"${extra[@]}"}" "$s"; then
    n_pass=$((n_pass + 1))
  else
    n_fail=$((n_fail + 1))
    if [ "$name" = 00-smoke ]; then echo "fleet: the smoke scenario failed: the fleet is not usable, stopping"; exit 1; fi
    if [ "${FLEET_FAIL_FAST:-0}" = 1 ]; then exit 1; fi
  fi
done
