# shellcheck shell=bash disable=SC2034  # sourced: build-image.sh and fleet.sh use what it sets
# images.sh: the fleet's images, one per (Debian release, architecture). Sourced by
# build-image.sh and fleet.sh; see tests/fleet/README.md.
#
# An image is named debNN-ARCH (ARCH as Debian names it). image_vars NAME sets, for that image:
#   IMG_SUITE      Debian suite (bookworm, trixie)
#   IMG_ARCH       Debian architecture (amd64, arm64, i386, s390x)
#   IMG_KERNEL     kernel package
#   IMG_QEMU       qemu system emulator, IMG_QEMU_ARGS its machine/CPU arguments
#   IMG_CONSOLE    serial console device of the guest kernel
#   IMG_MODULES    modules the small initramfs needs to mount the root file system
#   IMG_KILL32     source (tests/fleet/files/) of the 32-bit killer the image carries
#                  (/usr/local/libexec/fleet/kill32), empty where the native ABI is 32-bit
#   IMG_FOREIGN    1 when the build runs the image's programs through qemu-user (binfmt_misc)
# and returns 1 for an unknown name. Nothing here is passed to the collection: the role and
# the modules find out what a host is themselves; the scenarios only check what they found.

# The fleet `make test-fleet` boots (CI), and the one `make test-fleet-all` boots.
FLEET_HOSTS_DEFAULT="deb12-amd64 deb13-amd64 deb12-arm64 deb12-i386"
FLEET_HOSTS_ALL="deb12-amd64 deb13-amd64 deb12-arm64 deb12-i386 deb13-arm64"
# What `fleet.sh up N` boots N of (the old homogeneous fleet; bench/bench_fleet.py uses it).
FLEET_IMAGE_DEFAULT=deb12-amd64

image_vars() {
  local name=$1 release arch
  case "$name" in
    deb12-*) release=bookworm ;;
    deb13-*) release=trixie ;;
    *) return 1 ;;
  esac
  arch=${name#deb1[23]-}
  IMG_SUITE=$release IMG_ARCH=$arch IMG_FOREIGN=0 IMG_KILL32=""
  IMG_MODULES="virtio_pci virtio_blk virtio_net virtio_rng ext4"
  case "$arch" in
    amd64)
      IMG_KERNEL=linux-image-amd64 IMG_QEMU=qemu-system-x86_64 IMG_QEMU_ARGS="" IMG_CONSOLE=ttyS0
      IMG_KILL32=kill32-i386.c ;;
    i386)
      # A 32-bit kernel on a 32-bit machine (trixie has no i386 kernel any more).
      [ "$release" = bookworm ] || return 1
      IMG_KERNEL=linux-image-686 IMG_QEMU=qemu-system-i386 IMG_QEMU_ARGS="-cpu max" IMG_CONSOLE=ttyS0 ;;
    arm64)
      IMG_KERNEL=linux-image-arm64 IMG_QEMU=qemu-system-aarch64 IMG_CONSOLE=ttyAMA0 IMG_FOREIGN=1
      # cortex-a57 runs AArch32 programs at EL0, so the kernel's 32-bit compat ABI can be used.
      IMG_QEMU_ARGS="-machine virt -cpu cortex-a57"
      IMG_MODULES="$IMG_MODULES virtio_mmio"
      IMG_KILL32=kill32-armhf.c ;;
    s390x)
      IMG_KERNEL=linux-image-s390x IMG_QEMU=qemu-system-s390x IMG_CONSOLE=ttysclp0 IMG_FOREIGN=1
      IMG_QEMU_ARGS="-machine s390-ccw-virtio -cpu max"
      IMG_MODULES="virtio_blk virtio_net virtio_rng ext4" ;;
    *) return 1 ;;
  esac
}

# The Debian package that has IMG_QEMU.
image_qemu_pkg() {
  case "$1" in
    qemu-system-x86_64|qemu-system-i386) echo qemu-system-x86 ;;
    qemu-system-aarch64) echo qemu-system-arm ;;
    qemu-system-s390x) echo qemu-system-misc ;;
  esac
}
