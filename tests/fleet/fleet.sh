#!/usr/bin/env bash
# fleet.sh: a fleet of Debian VMs under qemu (TCG), each with its own kernel, systemd and
# auditd, of the releases and architectures images.sh knows, booted from the images
# build-image.sh makes (tests/fleet/README.md).
#
#   fleet.sh up [IMAGE...] boot host1..hostN, one per IMAGE (default: $FLEET_HOSTS, else
#                          images.sh's FLEET_HOSTS_DEFAULT), wait for SSH, write the inventory
#                          and an ansible.cfg into $FLEET_WORKDIR/run/
#   fleet.sh up N          N hosts of one image ($FLEET_IMAGE, default deb12-amd64)
#   fleet.sh down          stop every VM started from this work dir; idempotent, exit 0 when none
#   fleet.sh reboot NAME   reboot guest NAME and start it again on the same overlay, wait for SSH;
#                          if its qemu has already ended, just start it again
#   fleet.sh status        one line per VM: state, pid, SSH port, RSS, restarts; exit 1 if not all up
#   fleet.sh inventory     print the path of the inventory file
#   fleet.sh env           print exports (ANSIBLE_CONFIG, FLEET_INVENTORY, FLEET_SH) for eval
#   fleet.sh ssh NAME [CMD...]   run a command on a VM as root
#
# qemu runs with -no-reboot: a guest reboot (or poweroff, or panic) ends its qemu. `up` also
# starts a supervisor that starts such a VM again on the same overlay within seconds, so a
# guest-initiated reboot (ansible.builtin.reboot, a role's handler) comes back like a real one.
# FLEET_SUPERVISE=0 turns it off: then a VM stays down until `fleet.sh reboot NAME`.
# Host I listens for SSH on 127.0.0.1:$((FLEET_BASEPORT + I)); user-mode networking with
# restrict=on: the guests reach nothing but that forwarded port.
# Knobs: FLEET_WORKDIR (tests/fleet/.work), FLEET_BASEPORT (2220), FLEET_MEM (MiB, 512),
# FLEET_BOOT_TIMEOUT (s, 900), FLEET_SHUTDOWN_TIMEOUT (s, 180), FLEET_MAX_RESTARTS (20),
# FLEET_HOSTS, FLEET_IMAGE.
# KVM does not work on the CI machines (its /dev/kvm runs only guest kernels built for it):
# qemu emulates the CPU (TCG).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=images.sh
. "$HERE/images.sh"
# shellcheck source=../lib/env.sh
source "$ROOT/tests/lib/env.sh"   # AF_COLLECTIONS: the checkout as auditfleet.auditd
WORK=$(realpath -m "${FLEET_WORKDIR:-$HERE/.work}")
IMG=$WORK/img
RUN=$WORK/run
BASEPORT=${FLEET_BASEPORT:-2220}
MEM=${FLEET_MEM:-512}
# tb-size: the translation cache per VM (MiB); larger bought no speed here, only memory.
ACCEL=${FLEET_ACCEL:-tcg,thread=multi,tb-size=64}
BOOT_TIMEOUT=${FLEET_BOOT_TIMEOUT:-900}
SHUTDOWN_TIMEOUT=${FLEET_SHUTDOWN_TIMEOUT:-180}
MAX_RESTARTS=${FLEET_MAX_RESTARTS:-20}
SSHOPTS=(-o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
         -o LogLevel=ERROR -o ConnectTimeout=10 -o BatchMode=yes -o ServerAliveInterval=5
         -o ServerAliveCountMax=3)

log() { printf 'fleet: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The pid of NAME's qemu if it is running: the pid file must name a live process whose
# command line is ours (a stale pid file could name a recycled pid).
vm_pid() {
  local name=$1 pid
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
  if tr '\0' '\n' 2>/dev/null < "/proc/$pid/cmdline" | grep -qxF "$RUN/$name.pid"; then echo "$pid"; fi
}

# Every qemu whose -pidfile lies in our run dir, pid file or not (for down after a crash).
our_qemu_pids() {
  local d
  for d in /proc/[0-9]*; do
    # Processes can vanish while we look: an unreadable cmdline is just skipped.
    if tr '\0' '\n' 2>/dev/null < "$d/cmdline" | grep -qxF -e "-pidfile" && \
       tr '\0' '\n' 2>/dev/null < "$d/cmdline" | grep -q "^$RUN/[^/]*\.pid\$"; then
      echo "${d#/proc/}"
    fi
  done
  return 0
}

port_of() { cat "$RUN/$1.port"; }
image_of() { cat "$RUN/$1.image"; }
key_of() { echo "$IMG/$(image_of "$1")/id_ed25519"; }

ssh_vm() {
  local name=$1; shift
  ssh "${SSHOPTS[@]}" -i "$(key_of "$name")" -p "$(port_of "$name")" root@127.0.0.1 "$@"
}

ssh_ok() {
  timeout 30 ssh "${SSHOPTS[@]}" -i "$(key_of "$1")" -p "$(port_of "$1")" root@127.0.0.1 true 2>/dev/null </dev/null
}

start_vm() {
  local name=$1 port image bus=pci machine=()
  port=$(port_of "$name")
  image=$(image_of "$name")
  image_vars "$image" || { log "$name: unknown image $image"; return 1; }
  read -r -a machine <<< "$IMG_QEMU_ARGS"
  # s390x has no PCI by default: its virtio devices sit on the channel subsystem (ccw).
  if [ "$IMG_ARCH" = s390x ]; then bus=ccw; fi
  local qemu=(
    "$IMG_QEMU" -name "$name"
    "${machine[@]+"${machine[@]}"}"
    -accel "$ACCEL" -m "$MEM" -smp 1
    -nodefaults -display none -no-reboot
    -kernel "$IMG/$image/vmlinuz" -initrd "$IMG/$image/initrd.img"
    # panic=-1: a kernel panic reboots, which with -no-reboot ends qemu: no hang.
    # audit=1 (FLEET_KERNEL_ARGS): audit is on from boot, so that processes started before
    # auditd (systemd as PID 1 above all) are audited too; without it the kernel never audits
    # their syscalls, and systemd's signals (systemctl stop, kill) are in no kill report.
    -append "root=/dev/vda rw console=$IMG_CONSOLE net.ifnames=0 quiet mitigations=off panic=-1 systemd.hostname=$name ${FLEET_KERNEL_ARGS-audit=1}"
    -drive "file=$RUN/$name.qcow2,if=none,id=d0,format=qcow2,cache=unsafe"
    -device "virtio-blk-$bus,drive=d0"
    -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22"
    -device "virtio-net-$bus,netdev=n0"
    -device "virtio-rng-$bus"
    # append=on: the console of every boot of this VM goes to one file
    -chardev "file,id=ser0,path=$RUN/$name.serial,append=on" -serial chardev:ser0
    -monitor "unix:$RUN/$name.mon,server,nowait"
    -pidfile "$RUN/$name.pid" -daemonize
  )
  rm -f "$RUN/$name.pid" "$RUN/$name.mon"
  printf '\n===== fleet: start %s at %s =====\n' "$name" "$(date -Is)" >> "$RUN/$name.serial"
  # 8>&-: the VM lock's descriptor must not live on in the daemonized qemu.
  "${qemu[@]}" 8>&- || { log "qemu for $name did not start (port $port in use?)"; return 1; }
}

# Wait until every named VM answers SSH; fail early for one whose qemu has ended
# (unless the supervisor is there to start it again).
wait_ssh() {
  local deadline=$(( $(date +%s) + BOOT_TIMEOUT )) pending=("$@") still name
  while [ "${#pending[@]}" -gt 0 ]; do
    still=()
    for name in "${pending[@]}"; do
      if [ -z "$(vm_pid "$name")" ] && ! supervisor_running; then
        log "$name: qemu ended while booting; end of its console:"
        tail -n 30 "$RUN/$name.serial" >&2
        return 1
      fi
      # Not up yet is the normal case here, so a failed probe only means: try again.
      ssh_ok "$name" || still+=("$name")
    done
    pending=("${still[@]+"${still[@]}"}")
    [ "${#pending[@]}" -eq 0 ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "not ready after ${BOOT_TIMEOUT}s: ${pending[*]} (console: $RUN/<name>.serial)"
      return 1
    fi
    sleep 2
  done
}

write_ansible_files() {
  local n name image cp=$RUN/cp
  # ssh ControlPath is a unix socket path (108 bytes at most): fall back to /tmp if long.
  if [ "${#cp}" -gt 60 ]; then cp=/tmp/fleet-cp-$(printf '%s' "$RUN" | sha256sum | cut -c1-12); fi
  rm -rf "$cp"
  mkdir -p "$cp"
  printf '%s\n' "$cp" > "$RUN/cp.path"
  n=$(wc -l < "$RUN/hosts")
  # fleet_image names what the harness booted: only the scenarios' checks read it (the
  # collection finds out what each host is itself). A group per image (deb12_arm64, ...).
  {
    echo "[fleet]"
    while read -r name; do
      image=$(image_of "$name")
      echo "$name ansible_host=127.0.0.1 ansible_port=$(port_of "$name") ansible_ssh_private_key_file=$IMG/$image/id_ed25519 fleet_image=$image"
    done < "$RUN/hosts"
    for image in $(while read -r name; do image_of "$name"; done < "$RUN/hosts" | sort -u); do
      echo
      echo "[${image//-/_}]"
      while read -r name; do [ "$(image_of "$name")" != "$image" ] || echo "$name"; done < "$RUN/hosts"
    done
    echo
    echo "[fleet:vars]"
    echo "ansible_user=root"
    echo "ansible_python_interpreter=/usr/bin/python3"
  } > "$RUN/inventory.ini"
  cat > "$RUN/ansible.cfg" <<EOF
# Written by tests/fleet/fleet.sh for the running fleet: ANSIBLE_CONFIG=$RUN/ansible.cfg
[defaults]
inventory = $RUN/inventory.ini
forks = $n
host_key_checking = False
retry_files_enabled = False
# emulated guests are slow to answer while several of them boot or work
timeout = 60
collections_path = $AF_COLLECTIONS:~/.ansible/collections:/usr/share/ansible/collections
# wall time per task: every task costs seconds on emulated hosts
callback_plugins = $HERE/callback_plugins
callbacks_enabled = fleet_timer

[ssh_connection]
pipelining = True
control_path_dir = $cp
ssh_args = -o ControlMaster=auto -o ControlPersist=120s -o IdentitiesOnly=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -o ServerAliveInterval=5 -o ServerAliveCountMax=6
EOF
}

supervisor_running() {
  local pid
  [ -f "$RUN/supervisor.pid" ] || return 1
  pid=$(cat "$RUN/supervisor.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Internal (`fleet.sh _supervise`, started by up): start again every VM whose qemu ended.
# Each start happens under the VM's lock, which `reboot NAME` holds while it works on it.
cmd_supervise() {
  local name n
  echo "$$" > "$RUN/supervisor.pid"
  while [ -f "$RUN/supervise" ]; do
    while read -r name; do
      exec 8>"$RUN/$name.lock"
      if flock -n 8; then
        if [ -f "$RUN/supervise" ] && [ -z "$(vm_pid "$name")" ]; then
          n=$(( $(cat "$RUN/$name.restarts") + 1 ))
          if [ "$n" -le "$MAX_RESTARTS" ]; then
            echo "$n" > "$RUN/$name.restarts"
            log "$(date -Is) $name: qemu ended (guest reboot, poweroff or panic): start $n"
            start_vm "$name" || log "$name: start failed"
          fi
        fi
        flock -u 8
      fi
      exec 8>&-
    done < "$RUN/hosts"
    sleep 2
  done
}

stop_supervisor() {
  local pid i name
  rm -f "$RUN/supervise"
  if supervisor_running; then
    pid=$(cat "$RUN/supervisor.pid")
    kill "$pid" 2>/dev/null || log "supervisor $pid ended by itself"
    for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -f "$RUN/supervisor.pid"
  # A start the supervisor had begun finishes under the VM's lock: wait for it, so that
  # the qemu it starts is there to be stopped.
  if [ -f "$RUN/hosts" ]; then
    while read -r name; do
      flock -w 60 "$RUN/$name.lock" true || log "$name: lock still held after 60 s"
    done < "$RUN/hosts"
  fi
}

cmd_up() {
  local i name names=() images=() image t0 f
  if [ "$#" -eq 1 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
    if [ "$1" -lt 1 ] || [ "$1" -gt 50 ]; then die "up N: N from 1 to 50"; fi
    for i in $(seq 1 "$1"); do images+=("${FLEET_IMAGE:-$FLEET_IMAGE_DEFAULT}"); done
  elif [ "$#" -gt 0 ]; then
    images=("$@")
  else
    read -r -a images <<< "${FLEET_HOSTS:-$FLEET_HOSTS_DEFAULT}"
  fi
  [ "${#images[@]}" -le 50 ] || die "up: at most 50 VMs"
  for image in $(printf '%s\n' "${images[@]}" | sort -u); do
    image_vars "$image" || die "unknown image $image (images.sh knows: $FLEET_HOSTS_ALL)"
    command -v "$IMG_QEMU" >/dev/null || die "no $IMG_QEMU: apt-get install $(image_qemu_pkg "$IMG_QEMU")"
    for f in base.qcow2 vmlinuz initrd.img id_ed25519; do
      [ -f "$IMG/$image/$f" ] || die "no $IMG/$image/$f: run build-image.sh $image first"
    done
  done
  [ -z "$(our_qemu_pids)" ] || die "a fleet from $WORK is running: fleet.sh down first"
  t0=$(date +%s)
  rm -rf "$RUN"
  mkdir -p "$RUN"
  # A failed up stops what it started (consoles stay in $RUN); FLEET_KEEP_ON_FAIL=1 keeps them.
  if [ "${FLEET_KEEP_ON_FAIL:-0}" != 1 ]; then trap 'log "up failed: stopping the VMs"; cmd_down' EXIT; fi
  for i in $(seq 1 "${#images[@]}"); do
    name=host$i
    names+=("$name")
    echo $((BASEPORT + i)) > "$RUN/$name.port"
    echo "${images[$((i - 1))]}" > "$RUN/$name.image"
    echo 0 > "$RUN/$name.restarts"
    qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/${images[$((i - 1))]}/base.qcow2" "$RUN/$name.qcow2"
    start_vm "$name" || exit 1
  done
  printf '%s\n' "${names[@]}" > "$RUN/hosts"
  write_ansible_files
  if [ "${FLEET_SUPERVISE:-1}" = 1 ]; then
    touch "$RUN/supervise"
    setsid "$HERE/fleet.sh" _supervise </dev/null >>"$RUN/supervisor.log" 2>&1 &
  fi
  wait_ssh "${names[@]}"
  trap - EXIT
  log "${#names[@]} VMs ready in $(( $(date +%s) - t0 ))s ($(for name in "${names[@]}"; do printf '%s=%s ' "$name" "$(image_of "$name")"; done)); ANSIBLE_CONFIG=$RUN/ansible.cfg"
}

cmd_down() {
  local pids pid i n=0
  [ -d "$RUN" ] && stop_supervisor
  mapfile -t pids < <(our_qemu_pids)
  for pid in "${pids[@]+"${pids[@]}"}"; do
    # A VM may end by itself between listing and kill: that is what we want anyway.
    if kill "$pid" 2>/dev/null; then n=$((n + 1)); fi
  done
  for pid in "${pids[@]+"${pids[@]}"}"; do
    for i in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    # Still there after 10 s of SIGTERM: SIGKILL (it may end meanwhile, hence no error check).
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || log "pid $pid ended by itself"; fi
  done
  if [ -d "$RUN" ]; then
    # Overlays go (the next up makes fresh ones); consoles and logs stay for a look.
    rm -f "$RUN"/*.pid "$RUN"/*.mon "$RUN"/*.qcow2
    if [ -f "$RUN/cp.path" ]; then rm -rf "$(cat "$RUN/cp.path")"; fi
  fi
  log "down: stopped $n VM(s)"
}

cmd_reboot() {
  local name=${1:?reboot NAME} pid t0 i
  if [ ! -f "$RUN/$name.qcow2" ] || [ ! -f "$RUN/$name.port" ]; then die "no VM $name in $RUN"; fi
  t0=$(date +%s)
  # The VM's lock keeps the supervisor off this VM until it runs again.
  exec 8>"$RUN/$name.lock"
  flock -w 60 8 || die "$name: its lock is held by something else"
  pid=$(vm_pid "$name")
  if [ -n "$pid" ]; then
    # The SSH session dies with the guest, so its exit status says nothing: qemu ending does.
    timeout 60 ssh "${SSHOPTS[@]}" -i "$(key_of "$name")" -p "$(port_of "$name")" root@127.0.0.1 systemctl reboot </dev/null || true
    for i in $(seq 1 "$SHUTDOWN_TIMEOUT"); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not shut down in ${SHUTDOWN_TIMEOUT}s: power cycle"
      kill -9 "$pid" 2>/dev/null || log "$name: qemu ended by itself"
      sleep 1
    fi
    log "$name shut down in $(( $(date +%s) - t0 ))s"
  else
    log "$name was not running (guest reboot or poweroff): starting it"
  fi
  start_vm "$name" || exit 1
  flock -u 8
  wait_ssh "$name"
  log "$name rebooted in $(( $(date +%s) - t0 ))s"
}

cmd_status() {
  local name pid rss state rc=0
  [ -f "$RUN/hosts" ] || { log "no fleet in $WORK"; return 1; }
  printf '%-8s %-12s %-8s %-8s %-6s %-7s %s\n' NAME IMAGE STATE PID PORT RSS_MB RESTARTS
  while read -r name; do
    pid=$(vm_pid "$name")
    if [ -z "$pid" ]; then
      state=stopped rss=- rc=1
    else
      rss=$(( $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status") / 1024 ))
      if ssh_ok "$name"; then state=up; else state=no-ssh rc=1; fi
    fi
    printf '%-8s %-12s %-8s %-8s %-6s %-7s %s\n' "$name" "$(image_of "$name")" "$state" "${pid:--}" "$(port_of "$name")" "$rss" \
      "$(cat "$RUN/$name.restarts")"
  done < "$RUN/hosts"
  if supervisor_running; then log "supervisor: pid $(cat "$RUN/supervisor.pid")"; else log "supervisor: not running"; fi
  return "$rc"
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  reboot) shift; cmd_reboot "$@" ;;
  status) cmd_status ;;
  inventory) [ -f "$RUN/inventory.ini" ] || die "no fleet in $WORK"; echo "$RUN/inventory.ini" ;;
  env)
    printf 'export FLEET_WORKDIR=%q FLEET_INVENTORY=%q ANSIBLE_CONFIG=%q FLEET_SH=%q\n' \
      "$WORK" "$RUN/inventory.ini" "$RUN/ansible.cfg" "$HERE/fleet.sh" ;;
  ssh) shift; ssh_vm "$@" ;;
  _supervise) cmd_supervise ;;
  *) sed -n '2,28s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
