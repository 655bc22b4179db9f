#!/usr/bin/env bash
# build-image.sh: the Debian bookworm VM image for the fleet harness (tests/fleet/README.md).
#
# Writes $FLEET_WORKDIR/img/ (default tests/fleet/.work/img/):
#   base.qcow2 (root fs, ext4 on /dev/vda), vmlinuz, initrd.img (direct kernel boot),
#   id_ed25519 (+.pub: the key root and user 'ansible' accept), build.hash.
# The image is rebuilt only when this script (or FLEET_IMAGE_SIZE) changes: build.hash holds
# the hash it was built from and is written last, so an interrupted build never counts as done.
# FLEET_REBUILD=1 forces a rebuild.
#
# The guests have no network, so the image carries an offline apt repo (/opt/fleet-repo),
# its only apt source, holding auditd, audispd-plugins and their whole dependency closure:
# a role can purge and reinstall auditd with no network.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(realpath -m "${FLEET_WORKDIR:-$HERE/.work}")
IMG=$WORK/img
SIZE=${FLEET_IMAGE_SIZE:-4G}
SELF=$HERE/build-image.sh

T0=$(date +%s)
log() { printf 'build-image: [%4ds] %s\n' $(( $(date +%s) - T0 )) "$*" >&2; }

want_hash=$( { sha256sum < "$SELF"; echo "size=$SIZE"; } | sha256sum | cut -d' ' -f1)
if [ "${FLEET_REBUILD:-0}" != 1 ] && [ -f "$IMG/build.hash" ] && [ "$(cat "$IMG/build.hash")" = "$want_hash" ] \
   && [ -f "$IMG/base.qcow2" ] && [ -f "$IMG/vmlinuz" ] && [ -f "$IMG/initrd.img" ] && [ -f "$IMG/id_ed25519" ]; then
  log "image up to date ($IMG)"
  exit 0
fi

[ "$(id -u)" = 0 ] || { log "must run as root (debootstrap, chroot, mkfs -d with root-owned files)"; exit 2; }

# Host tools: install what is missing (Debian host).
declare -A tool_pkg=(
  [debootstrap]=debootstrap [qemu-system-x86_64]=qemu-system-x86 [qemu-img]=qemu-utils
  [apt-ftparchive]=apt-utils [ssh]=openssh-client [ssh-keygen]=openssh-client [mkfs.ext4]=e2fsprogs
)
missing=()
for t in "${!tool_pkg[@]}"; do command -v "$t" >/dev/null || missing+=("${tool_pkg[$t]}"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing host tools: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q debootstrap qemu-system-x86 qemu-utils apt-utils openssh-client e2fsprogs
fi

mkdir -p "$WORK"
# One build at a time per work dir; never replace the base image under running VMs.
exec 9>"$WORK/.build.lock"
flock -n 9 || { log "another build holds $WORK/.build.lock"; exit 2; }
for pidf in "$WORK"/run/*.pid; do
  [ -e "$pidf" ] || continue
  if kill -0 "$(cat "$pidf")" 2>/dev/null; then
    log "VMs from $WORK are running on the old image: run fleet.sh down first"; exit 2
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

STAGE=$WORK/stage
R=$STAGE/rootfs
NEW=$STAGE/img
rm -rf "$STAGE"
mkdir -p "$R" "$NEW"

# libnss-myhostname: each VM resolves its own name (set from the kernel command line) with
# no /etc/hosts edit, so sudo and getfqdn never wait on DNS (there is none).
# dbus: without it `shutdown -r` (ansible.builtin.reboot) fails ("Failed to connect to bus").
PKGS=linux-image-amd64,systemd-sysv,udev,dbus,openssh-server,python3,python3-apt,auditd,sudo,procps,
PKGS+=iproute2,libnss-myhostname,less
log "debootstrap bookworm from $MIRROR"
# Its thousand lines of progress go to a file; the end of it is shown if it fails.
if ! timeout 1500 debootstrap --variant=minbase --include="$PKGS" bookworm "$R" "$MIRROR" > "$WORK/debootstrap.log" 2>&1; then
  tail -n 40 "$WORK/debootstrap.log" >&2
  log "debootstrap failed (whole log: $WORK/debootstrap.log)"
  exit 1
fi

ssh-keygen -q -t ed25519 -N '' -f "$NEW/id_ed25519" -C fleet-test

# Offline apt repo: auditd, audispd-plugins and everything they depend on, at the versions
# debootstrap installed (the chroot's only source is the same mirror and suite).
log "offline apt repo"
REPO=$R/opt/fleet-repo
mkdir -p "$REPO"
chroot "$R" apt-get update -q
mapfile -t closure < <(chroot "$R" apt-cache depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances auditd audispd-plugins | grep '^[a-z0-9]' | sort -u)
[ "${#closure[@]}" -ge 10 ] || { log "dependency closure of auditd looks wrong: ${closure[*]}"; exit 1; }
chroot "$R" /bin/sh -c 'cd /opt/fleet-repo && exec apt-get -q -o APT::Sandbox::User=root download "$@"' sh "${closure[@]}"
(cd "$REPO" && apt-ftparchive packages . > Packages && apt-ftparchive release . > Release)
log "offline repo: ${#closure[@]} packages, $(du -sh "$REPO" | cut -f1)"
echo 'deb [trusted=yes] file:/opt/fleet-repo ./' > "$R/etc/apt/sources.list"
rm -f "$R"/etc/apt/sources.list.d/*
rm -rf "$R"/var/lib/apt/lists/*
chroot "$R" apt-get update -q
chroot "$R" apt-get clean

# Boot: root=/dev/vda, kernel and initrd handed to qemu directly. A small initramfs
# (only the virtio and ext4 modules) decompresses much faster under emulation.
printf '/dev/vda / ext4 defaults,noatime 0 1\n' > "$R/etc/fstab"
sed -i 's/^MODULES=.*/MODULES=list/' "$R/etc/initramfs-tools/initramfs.conf"
printf '%s\n' virtio_pci virtio_blk virtio_net virtio_rng ext4 > "$R/etc/initramfs-tools/modules"
chroot "$R" update-initramfs -u -k all
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
chroot "$R" systemctl enable fleet-hostkeys.service ssh.service auditd.service systemd-networkd.service
chroot "$R" systemctl disable systemd-networkd-wait-online.service
chroot "$R" systemctl set-default multi-user.target
# Timers that would take the dpkg lock or load the disk in the middle of a test.
chroot "$R" systemctl mask apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer
# RefuseManualStop=yes, as auditd.service has on RHEL, Fedora, SUSE and Arch (Debian patches it
# out): `systemctl stop|restart auditd` and Debian's `service auditd restart` are refused, as on
# most of a real fleet, so the role's restart must take its signal path here. Not part of the
# auditd package: it survives an `apt purge auditd`.
mkdir -p "$R/etc/systemd/system/auditd.service.d"
printf '[Unit]\nRefuseManualStop=yes\n' > "$R/etc/systemd/system/auditd.service.d/refuse-manual-stop.conf"
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"

cp "$R"/boot/vmlinuz-* "$NEW/vmlinuz"
cp "$R"/boot/initrd.img-* "$NEW/initrd.img"
chmod 644 "$NEW/vmlinuz" "$NEW/initrd.img"
log "file system image"
truncate -s "$SIZE" "$NEW/base.raw"
mkfs.ext4 -q -F -L fleetroot -d "$R" "$NEW/base.raw"
qemu-img convert -O qcow2 "$NEW/base.raw" "$NEW/base.qcow2"
rm -f "$NEW/base.raw"

# Swap in the new image, then mark it done.
rm -rf "$IMG"
mv "$NEW" "$IMG"
rm -rf "$STAGE"
echo "$want_hash" > "$IMG/build.hash"
log "done: $IMG ($(du -sh "$IMG/base.qcow2" | cut -f1) base.qcow2, initrd $(du -sh "$IMG/initrd.img" | cut -f1))"
