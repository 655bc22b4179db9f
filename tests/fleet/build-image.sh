#!/usr/bin/env bash
# build-image.sh [IMAGE...]: the fleet's VM images, one per (Debian release, architecture)
# (tests/fleet/README.md; the names and what differs between them are in images.sh).
# Default: the images of $FLEET_HOSTS (else images.sh's FLEET_HOSTS_DEFAULT).
#
# Writes $FLEET_WORKDIR/img/IMAGE/ (default tests/fleet/.work/img/IMAGE/):
#   base.qcow2 (root fs, ext4 on the first virtio disk), vmlinuz, initrd.img (direct kernel
#   boot), id_ed25519 (+.pub: the key root and user 'ansible' accept), build.hash,
#   build.seconds (how long the build took).
# An image is rebuilt only when what it is built from changes (this script, images.sh, the
# sources of its 32-bit killer, FLEET_IMAGE_SIZE): build.hash holds the hash it was built from
# and is written last, so an interrupted build never counts as done. FLEET_REBUILD=1 forces it.
# FLEET_BUILD_JOBS (default 2) images are built at once; each build logs to
# $FLEET_WORKDIR/build-IMAGE.log.
#
# Root file systems are made with mmdebstrap. A foreign architecture's programs (arm64, s390x)
# run through qemu-user-static and binfmt_misc during the build; i386 runs natively on the
# x86_64 build host. The images do not have auditd: a VM is a host that never had it, as a
# fresh rollout finds it. The guests have no network, so each image carries an offline apt repo
# (/opt/fleet-repo), its only apt source, holding auditd, audispd-plugins and their whole
# dependency closure: a role installs auditd (and can purge and reinstall it) with no network.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=images.sh
. "$HERE/images.sh"
WORK=$(realpath -m "${FLEET_WORKDIR:-$HERE/.work}")
SIZE=${FLEET_IMAGE_SIZE:-4G}
JOBS=${FLEET_BUILD_JOBS:-2}

T0=$(date +%s)
log() { printf 'build-image: [%4ds] %s\n' $(( $(date +%s) - T0 )) "$*" >&2; }

ONE=""
if [ "${1:-}" = --one ]; then ONE=${2:?--one IMAGE}; set -- "$ONE"; fi
if [ "$#" -gt 0 ]; then images=("$@"); else read -r -a images <<< "${FLEET_HOSTS:-$FLEET_HOSTS_DEFAULT}"; fi
mapfile -t images < <(printf '%s\n' "${images[@]}" | awk '!seen[$0]++')
for name in "${images[@]}"; do
  image_vars "$name" || { log "unknown image $name (images.sh knows debNN-ARCH: $FLEET_HOSTS_ALL)"; exit 2; }
done

image_hash() {
  local name=$1
  image_vars "$name"
  { sha256sum < "$HERE/build-image.sh"; sha256sum < "$HERE/images.sh"
    if [ -n "$IMG_KILL32" ]; then sha256sum < "$HERE/files/$IMG_KILL32"; fi
    echo "image=$name size=$SIZE"; } | sha256sum | cut -d' ' -f1
}

up_to_date() {
  local d=$WORK/img/$1 f
  [ "${FLEET_REBUILD:-0}" != 1 ] && [ -f "$d/build.hash" ] && [ "$(cat "$d/build.hash")" = "$(image_hash "$1")" ] || return 1
  for f in base.qcow2 vmlinuz initrd.img id_ed25519; do [ -f "$d/$f" ] || return 1; done
}

# Foreign architectures first: their builds take longest (their programs run under qemu-user).
todo=()
for foreign in 1 0; do
  for name in "${images[@]}"; do
    image_vars "$name"
    [ "$IMG_FOREIGN" = "$foreign" ] || continue
    if up_to_date "$name"; then log "$name: up to date ($WORK/img/$name)"; else todo+=("$name"); fi
  done
done
[ "${#todo[@]}" -gt 0 ] || exit 0

[ "$(id -u)" = 0 ] || { log "must run as root (mmdebstrap, chroot, mkfs -d with root-owned files)"; exit 2; }

# Host tools: install what is missing (Debian host).
declare -A tool_pkg=(
  [mmdebstrap]=mmdebstrap [qemu-img]=qemu-utils [apt-ftparchive]=apt-utils [ssh]=openssh-client
  [ssh-keygen]=openssh-client [mkfs.ext4]=e2fsprogs [gcc]=gcc
)
for name in "${todo[@]}"; do
  image_vars "$name"
  tool_pkg[$IMG_QEMU]=$(image_qemu_pkg "$IMG_QEMU")
  if [ "$IMG_FOREIGN" = 1 ]; then
    tool_pkg[arch-test]=arch-test tool_pkg[update-binfmts]=binfmt-support
    tool_pkg[qemu-$( [ "$IMG_ARCH" = arm64 ] && echo aarch64 || echo "$IMG_ARCH" )-static]=qemu-user-static
  fi
  if [ "$IMG_KILL32" = kill32-armhf.c ]; then
    tool_pkg[arm-linux-gnueabihf-gcc]=gcc-arm-linux-gnueabihf
  fi
done
missing=()
for t in "${!tool_pkg[@]}"; do command -v "$t" >/dev/null || missing+=("${tool_pkg[$t]}"); done
if [ "$IMG_KILL32" = kill32-armhf.c ] && [ ! -e /usr/arm-linux-gnueabihf/lib/libc.a ]; then missing+=(libc6-dev-armhf-cross); fi
if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing host tools: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # DPkg::Lock::Timeout: CI builds the images while `make test` may be installing packages.
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

mkdir -p "$WORK/img"
# One build at a time per work dir (a --one child runs under its parent's lock); never replace
# an image under running VMs.
if [ -z "$ONE" ]; then
  exec 9>"$WORK/.build.lock"
  flock -n 9 || { log "another build holds $WORK/.build.lock"; exit 2; }
fi
for pidf in "$WORK"/run/*.pid; do
  [ -e "$pidf" ] || continue
  if kill -0 "$(cat "$pidf")" 2>/dev/null; then
    log "VMs from $WORK are running on the old images: run fleet.sh down first"; exit 2
  fi
done

# The Debian mirror this machine already uses (deb822 or one-line format).
MIRROR=${MIRROR:-}
if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
  MIRROR=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources | head -n 1)
fi
if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then
  MIRROR=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
fi
[ -n "$MIRROR" ] || { log "no Debian mirror found: set MIRROR=http://..."; exit 2; }

# Foreign architectures: their programs run through qemu-user-static, registered with
# binfmt_misc (mounted here if it is not; the registration is left enabled, it is harmless).
enable_binfmt() {
  local arch=$1 fmt
  case "$arch" in arm64) fmt=qemu-aarch64 ;; *) fmt=qemu-$arch ;; esac
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  [ -e "/proc/sys/fs/binfmt_misc/$fmt" ] || update-binfmts --enable "$fmt"
  grep -qx enabled "/proc/sys/fs/binfmt_misc/$fmt" || { echo "binfmt $fmt is not enabled" >&2; return 1; }
}

# build_one IMAGE: the whole build of one image, in $WORK/stage-IMAGE, swapped in at the end.
build_one() {
  local name=$1 t0 R NEW STAGE REPO closure pkgs
  t0=$(date +%s)
  image_vars "$name"
  blog() { printf 'build-image %s: [%4ds] %s\n' "$name" $(( $(date +%s) - t0 )) "$*"; }
  STAGE=$WORK/stage-$name
  R=$STAGE/rootfs
  NEW=$STAGE/img
  rm -rf "$STAGE"
  mkdir -p "$R" "$NEW"
  if [ "$IMG_FOREIGN" = 1 ]; then enable_binfmt "$IMG_ARCH"; fi

  # libnss-myhostname: each VM resolves its own name (set from the kernel command line) with
  # no /etc/hosts edit, so sudo and getfqdn never wait on DNS (there is none).
  # dbus: without it `shutdown -r` (ansible.builtin.reboot) fails ("Failed to connect to bus").
  pkgs=$IMG_KERNEL,systemd-sysv,udev,dbus,openssh-server,python3,python3-apt,sudo,procps
  pkgs+=,iproute2,libnss-myhostname,less
  blog "mmdebstrap $IMG_SUITE $IMG_ARCH from $MIRROR"
  # The small initramfs is configured before the kernel is installed, so that it is made once,
  # small: a full one takes minutes to make under qemu-user and seconds more to unpack at boot.
  # MODULES=list and a hook that adds (and loads) only the modules the root fs needs.
  # force-unsafe-io: no fsync per file (the tree is packed into an image at the end anyway).
  # shellcheck disable=SC2016  # the hooks' $1 is mmdebstrap's root directory, expanded by its hook shell
  if ! timeout 2400 mmdebstrap --variant=minbase --architectures="$IMG_ARCH" --include="$pkgs" \
      --dpkgopt=force-unsafe-io \
      --setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"' \
      --setup-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/fleet.conf"' \
      --setup-hook="printf '%s\n' '#!/bin/sh' '[ \"\$1\" = prereqs ] && exit 0' \
          '. /usr/share/initramfs-tools/hook-functions' \
          'for m in $IMG_MODULES; do manual_add_modules \$m; force_load \$m; done' \
          > \"\$1/etc/initramfs-tools/hooks/fleet-modules\" && chmod 755 \"\$1/etc/initramfs-tools/hooks/fleet-modules\"" \
      "$IMG_SUITE" "$R" "$MIRROR"; then
    blog "mmdebstrap failed"
    return 1
  fi
  blog "root file system made ($(du -sh "$R" | cut -f1))"

  ssh-keygen -q -t ed25519 -N '' -f "$NEW/id_ed25519" -C "fleet-test-$name"

  # Offline apt repo: auditd, audispd-plugins and everything they depend on (also what the
  # image already has, so that a purge of anything can be undone), from the same mirror and suite.
  REPO=$R/opt/fleet-repo
  mkdir -p "$REPO"
  cp /etc/resolv.conf "$R/etc/resolv.conf"
  chroot "$R" apt-get update -q
  mapfile -t closure < <(chroot "$R" apt-cache depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances auditd audispd-plugins | grep '^[a-z0-9]' | sort -u)
  [ "${#closure[@]}" -ge 10 ] || { blog "dependency closure of auditd looks wrong: ${closure[*]}"; return 1; }
  chroot "$R" /bin/sh -c 'cd /opt/fleet-repo && exec apt-get -q -o APT::Sandbox::User=root download "$@"' sh "${closure[@]}"
  (cd "$REPO" && apt-ftparchive packages . > Packages && apt-ftparchive release . > Release)
  blog "offline repo: ${#closure[@]} packages, $(du -sh "$REPO" | cut -f1)"
  echo 'deb [trusted=yes] file:/opt/fleet-repo ./' > "$R/etc/apt/sources.list"
  rm -f "$R"/etc/apt/sources.list.d/*
  rm -rf "$R"/var/lib/apt/lists/*
  chroot "$R" apt-get update -q
  chroot "$R" apt-get clean

  # The 32-bit killer of the scenarios (30-kill-report): a program of the kernel's compat ABI.
  if [ -n "$IMG_KILL32" ]; then
    mkdir -p "$R/usr/local/libexec/fleet"
    case "$IMG_KILL32" in
      kill32-i386.c)
        gcc -m32 -O1 -nostdlib -static -fno-pic -fno-stack-protector \
          -o "$R/usr/local/libexec/fleet/kill32" "$HERE/files/$IMG_KILL32" ;;
      kill32-armhf.c)
        arm-linux-gnueabihf-gcc -O1 -static -o "$R/usr/local/libexec/fleet/kill32" "$HERE/files/$IMG_KILL32" ;;
    esac
    blog "32-bit killer: $(file -b "$R/usr/local/libexec/fleet/kill32" 2>/dev/null | cut -d, -f1-2 || echo built)"
  fi

  # Boot: the kernel and initrd are handed to qemu directly, root on the first virtio disk.
  printf '/dev/vda / ext4 defaults,noatime 0 1\n' > "$R/etc/fstab"
  echo fleet > "$R/etc/hostname"
  printf '127.0.0.1 localhost\n' > "$R/etc/hosts"
  # qemu user networking: the guest is always 10.0.2.15. A static address from systemd-networkd:
  # no DHCP and no ifupdown (whose udev settle cost 15-25 s per boot under emulation).
  # No resolver: the guests reach nothing outside (restrict=on).
  cat > "$R/etc/systemd/network/10-eth0.network" <<'UNIT'
[Match]
Name=eth0
[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
LinkLocalAddressing=no
IPv6AcceptRA=no
UNIT
  rm -f "$R/etc/resolv.conf"
  : > "$R/etc/resolv.conf"

  # root and user 'ansible' (passwordless sudo, for become tests) log in by key only.
  install -d -m 700 "$R/root/.ssh"
  install -m 600 "$NEW/id_ed25519.pub" "$R/root/.ssh/authorized_keys"
  chroot "$R" useradd -m -s /bin/bash ansible
  install -d -m 700 "$R/home/ansible/.ssh"
  install -m 600 "$NEW/id_ed25519.pub" "$R/home/ansible/.ssh/authorized_keys"
  chroot "$R" chown -R ansible:ansible /home/ansible/.ssh
  echo 'ansible ALL=(ALL) NOPASSWD:ALL' > "$R/etc/sudoers.d/ansible"
  chmod 440 "$R/etc/sudoers.d/ansible"
  # Only an ed25519 host key: RSA key generation took 15-25 s of first boot under emulation.
  printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\n' \
    > "$R/etc/ssh/sshd_config.d/fleet.conf"

  # Each VM makes its own SSH host key and machine-id on first boot.
  rm -f "$R"/etc/ssh/ssh_host_*
  cat > "$R/etc/systemd/system/fleet-hostkeys.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys if missing
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
[Install]
WantedBy=multi-user.target
UNIT
  chroot "$R" systemctl enable fleet-hostkeys.service ssh.service systemd-networkd.service
  chroot "$R" systemctl disable systemd-networkd-wait-online.service
  chroot "$R" systemctl set-default multi-user.target
  # Timers that would take the dpkg lock or load the disk in the middle of a test (those that exist).
  local u units=()
  for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
           e2scrub_reap.service fstrim.timer; do
    if [ -e "$R/lib/systemd/system/$u" ] || [ -e "$R/usr/lib/systemd/system/$u" ]; then units+=("$u"); fi
  done
  if [ "${#units[@]}" -gt 0 ]; then chroot "$R" systemctl mask "${units[@]}"; fi
  # RefuseManualStop=yes, as auditd.service has on RHEL, Fedora, SUSE and Arch (Debian patches it
  # out): `systemctl stop|restart auditd` and Debian's `service auditd restart` are refused, as on
  # most of a real fleet, so the role's restart must take its signal path here. Not part of the
  # auditd package: it applies as soon as the role installs auditd, and survives `apt purge auditd`.
  mkdir -p "$R/etc/systemd/system/auditd.service.d"
  printf '[Unit]\nRefuseManualStop=yes\n' > "$R/etc/systemd/system/auditd.service.d/refuse-manual-stop.conf"
  : > "$R/etc/machine-id"
  rm -f "$R/var/lib/dbus/machine-id"

  cp "$R"/boot/vmlinuz-* "$NEW/vmlinuz"
  cp "$R"/boot/initrd.img-* "$NEW/initrd.img"
  chmod 644 "$NEW/vmlinuz" "$NEW/initrd.img"
  blog "file system image (initrd $(du -sh "$NEW/initrd.img" | cut -f1))"
  truncate -s "$SIZE" "$NEW/base.raw"
  mkfs.ext4 -q -F -L fleetroot -d "$R" "$NEW/base.raw"
  qemu-img convert -O qcow2 "$NEW/base.raw" "$NEW/base.qcow2"
  rm -f "$NEW/base.raw"

  # Swap in the new image, then mark it done.
  rm -rf "${WORK:?}/img/$name"
  mv "$NEW" "$WORK/img/$name"
  rm -rf "$STAGE"
  echo $(( $(date +%s) - t0 )) > "$WORK/img/$name/build.seconds"
  image_hash "$name" > "$WORK/img/$name/build.hash"
  blog "done: $(du -sh "$WORK/img/$name/base.qcow2" | cut -f1) base.qcow2"
}

if [ "${ONE:-}" != "" ]; then build_one "$ONE"; exit 0; fi

# Build the images, JOBS at a time, each by a process of its own (build-image.sh --one IMAGE)
# writing its own log and exit status; a failed build shows the end of its log.
for name in "${todo[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
  log "$name: building (log: $WORK/build-$name.log)"
  rm -f "$WORK/build-$name.rc"
  ( rc=0; "$HERE/build-image.sh" --one "$name" > "$WORK/build-$name.log" 2>&1 || rc=$?
    echo "$rc" > "$WORK/build-$name.rc" ) &
done
wait
rc=0
for name in "${todo[@]}"; do
  if [ "$(cat "$WORK/build-$name.rc" 2>/dev/null)" = 0 ]; then
    log "$name: built in $(cat "$WORK/img/$name/build.seconds") s"
  else
    rc=1
    tail -n 40 "$WORK/build-$name.log" >&2
    log "$name: build FAILED (whole log: $WORK/build-$name.log)"
  fi
done
exit "$rc"
