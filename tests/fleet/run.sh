#!/usr/bin/env bash
# run.sh [SCENARIO...]: the fleet test stage (`make test-fleet`), see tests/fleet/README.md.
# Builds the VM images of the fleet (or reuses them; several at once), optionally runs the
# Molecule scenario (molecule/default on a fleet of its own: create boots it, converge,
# idempotence, verify, destroy), boots the fleet (FLEET_HOSTS: one VM per image named, default
# images.sh's FLEET_HOSTS_DEFAULT), runs the scenario playbooks (default: every
# tests/fleet/scenarios/[0-9]*.yml in name order; or the ones named, as paths or file names),
# and always stops the VMs, whatever happened.
# Prints one timing line per phase (and the build time of each image) and exits non-zero if any
# phase failed.
# Knobs: FLEET_HOSTS, FLEET_WORKDIR, ANSIBLE_BIN_DIR (where ansible-playbook is; else PATH),
# FLEET_MOLECULE (1: run Molecule first, installing it into ANSIBLE_BIN_DIR's venv from
# requirements.txt if missing; default 0; `make test-fleet-all` sets 1),
# FLEET_SCENARIO_TIMEOUT (s per scenario, 1800), FLEET_FAIL_FAST=1 (stop at the first failed
# scenario; a failed 00-smoke always stops the run), FLEET_ANSIBLE_ARGS (extra arguments),
# FLEET_BUILD_JOBS (images built at once, 2).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FLEET=$HERE/fleet.sh
# shellcheck source=images.sh
. "$HERE/images.sh"
read -r -a HOSTS <<< "${FLEET_HOSTS:-$FLEET_HOSTS_DEFAULT}"
N=${#HOSTS[@]}
SCENARIO_TIMEOUT=${FLEET_SCENARIO_TIMEOUT:-1800}

if [ -n "${ANSIBLE_BIN_DIR:-}" ]; then export PATH="$ANSIBLE_BIN_DIR:$PATH"; fi
command -v ansible-playbook >/dev/null || {
  echo "fleet: no ansible-playbook in ANSIBLE_BIN_DIR or PATH" >&2; exit 2; }

# One work dir for everything below (fleet.sh, Molecule's create/destroy, the scenarios).
export FLEET_WORKDIR
FLEET_WORKDIR=$(realpath -m "${FLEET_WORKDIR:-$HERE/.work}")

# Scenarios to run.
scenarios=()
MOLECULE=${FLEET_MOLECULE:-0}
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

# The checkout as the collection auditfleet.auditd (tests/lib/env.sh: the link, AF_COLLECTIONS).
# shellcheck source=../lib/env.sh
source "$ROOT/tests/lib/env.sh"
export ANSIBLE_COLLECTIONS_PATH=$AF_COLLECTIONS

T0=$(date +%s)
summary=()
failed=0          # any phase failed
n_pass=0 n_fail=0 # scenarios; a failed image/up/down phase counts as one failure too

CHILD="" CURRENT="" UP="" MOLECULE_RAN=""
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
  # Molecule's state says "created" after `test --destroy never`: its destroy (fleet.sh down and
  # an empty instance config) puts it back to "not created", so that a later molecule.sh
  # converge by hand does not look for VMs that are gone.
  if [ -n "$MOLECULE_RAN" ]; then
    "$HERE/molecule.sh" destroy >"$FLEET_WORKDIR/molecule-destroy.log" 2>&1 \
      || echo "fleet: molecule destroy failed (see $FLEET_WORKDIR/molecule-destroy.log); fleet.sh down follows"
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

# Molecule comes from ANSIBLE_BIN_DIR (else PATH); if it is missing and ANSIBLE_BIN_DIR is a
# virtualenv, the pins of requirements.txt are installed into it (--no-deps: every other pin
# equals tests/requirements/ansible-2.16.txt, so nothing else changes; pip check proves it).
ensure_molecule() {
  command -v molecule >/dev/null && return 0
  local py=${ANSIBLE_BIN_DIR:+$ANSIBLE_BIN_DIR/python}
  if [ -z "$py" ] || [ ! -x "$py" ]; then
    echo "fleet: no molecule in PATH and no ANSIBLE_BIN_DIR virtualenv to install it into" >&2
    return 1
  fi
  echo "fleet: installing Molecule into $(dirname "$ANSIBLE_BIN_DIR") from tests/fleet/requirements.txt"
  "$py" -m pip install -qq --no-deps --no-input -r "$HERE/requirements.txt" && "$py" -m pip check
}
# `molecule test`: destroy, syntax, create (fleet.sh up: the default fleet, images.sh's
# FLEET_HOSTS_DEFAULT, one host per platform of molecule.yml), converge, idempotence, verify,
# destroy. Its VMs are not reused: the scenarios start from hosts that never had auditd.
# Molecule skips create when its state says "created" (a run killed before its teardown):
# `molecule destroy` first resets that state. exec: a signal to the phase reaches Molecule
# itself (through timeout).
molecule_test() {
  ensure_molecule || return 1
  "$HERE/molecule.sh" destroy >"$FLEET_WORKDIR/molecule-reset.log" 2>&1 \
    || { echo "fleet: molecule destroy failed:" >&2; tail -n 20 "$FLEET_WORKDIR/molecule-reset.log" >&2; return 1; }
  FLEET_HOSTS=$FLEET_HOSTS_DEFAULT exec timeout --kill-after=30 "$SCENARIO_TIMEOUT" "$HERE/molecule.sh" test
}

echo "fleet: $(ansible-playbook --version 2>/dev/null | sed -n 1p), $N hosts (${HOSTS[*]}), ${#scenarios[@]} scenario(s), molecule $([ "$MOLECULE" = 1 ] && echo yes || echo no)"
images=("${HOSTS[@]}")
if [ "$MOLECULE" = 1 ]; then read -r -a more <<< "$FLEET_HOSTS_DEFAULT"; images+=("${more[@]}"); fi
mapfile -t images < <(printf '%s\n' "${images[@]}" | awk '!seen[$0]++')
image_rc=0
phase "image (${#images[@]}, ${FLEET_BUILD_JOBS:-2} at once)" "$HERE/build-image.sh" "${images[@]}" || image_rc=1
# The build time of each image built in this run (they overlap when built at once).
for image in "${images[@]}"; do
  f=$FLEET_WORKDIR/img/$image/build.seconds
  if [ -f "$f" ] && [ -n "$(find "$f" -newermt "@$T0" 2>/dev/null)" ]; then
    summary+=("$(printf 'fleet:   image %-22s built in %5ds' "$image" "$(cat "$f")")")
  elif [ -f "$f" ]; then
    summary+=("$(printf 'fleet:   image %-22s up to date' "$image")")
  fi
done
[ "$image_rc" = 0 ] || exit 1
# A fleet left over from an interrupted run in this work dir would hold the ports.
"$FLEET" down
if [ "$MOLECULE" = 1 ]; then
  MOLECULE_RAN=1
  if phase molecule molecule_test; then
    n_pass=$((n_pass + 1))
  else
    n_fail=$((n_fail + 1))
    if [ "${FLEET_FAIL_FAST:-0}" = 1 ]; then exit 1; fi
  fi
  "$FLEET" down
fi
phase "up $N" "$FLEET" up "${HOSTS[@]}" || exit 1
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
