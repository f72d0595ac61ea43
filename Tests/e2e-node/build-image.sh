#!/usr/bin/env bash
# Builds the guest image for `make e2e-node`: a Debian bookworm root filesystem made with
# debootstrap, written into a raw ext4 disk (mkfs.ext4 -d: no loop devices), plus the kernel and
# initramfs that Debian's linux-image-amd64 installed inside it. The test itself is not in the
# image: it comes from the 9p share at boot, so changing the test never rebuilds the image.
#
# Usage: build-image.sh OUTDIR    (OUTDIR gets disk.img, vmlinuz, initrd.img)
# The caller caches OUTDIR under a name made from this file's hash: edit this file, get a new image.
set -euo pipefail
out=${1:?usage: build-image.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)

# The mirror this machine's apt already uses (deb822 or one-line format), else Debian's own.
mirror=$(grep -hoE '^URIs: *http[^ ]*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | sed 's/^URIs: *//' || true)
[ -n "$mirror" ] || mirror=$(grep -hoE '^deb +http[^ ]*/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1 | awk '{print $2}' || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

# minbase, plus: the init system; the container runtime (containerd, runc, crun); iproute2 for the
# pods' veth pairs; python3 for the test runner; busybox-static for the containers' root
# filesystem; the kernel (its initramfs comes with it); libssl3, which the agent links for TLS
# (libcrypt1 is in minbase). docker.io is left out: it adds ~100 MB and
# a daemon the test does not use.
packages=systemd,systemd-sysv,dbus,containerd,runc,crun,iproute2,python3,busybox-static,kmod,linux-image-amd64,initramfs-tools,libssl3

work=$(mktemp -d "${out%/}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
echo "e2e-node: debootstrap bookworm from $mirror (minbase + $packages)"
debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 40 "$work/debootstrap.log"; echo "e2e-node: debootstrap failed" >&2; exit 1; }

# Guest configuration: hostname, the 9p share, the oneshot test unit, no getty noise on the
# console the host reads, and no network configuration at all (the guest has no NIC).
echo e2e-node >"$rootfs/etc/hostname"
printf '127.0.0.1 localhost e2e-node\n' >"$rootfs/etc/hosts"
mkdir -p "$rootfs/mnt/e2e"
printf 'e2e /mnt/e2e 9p trans=virtio,version=9p2000.L,msize=262144,nofail 0 0\n' >>"$rootfs/etc/fstab"
printf '9p\n9pnet_virtio\nveth\n' >"$rootfs/etc/modules-load.d/e2e.conf"
install -m 0644 "$here/guest/kubemeter-e2e.service" "$rootfs/etc/systemd/system/kubemeter-e2e.service"
ln -sf /etc/systemd/system/kubemeter-e2e.service "$rootfs/etc/systemd/system/multi-user.target.wants/kubemeter-e2e.service"
ln -sf /dev/null "$rootfs/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$rootfs/etc/systemd/system/getty@tty1.service"
: >"$rootfs/etc/machine-id"
rm -f "$rootfs"/var/cache/apt/archives/*.deb

kernel=$(ls "$rootfs"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$(ls "$rootfs"/boot/initrd.img-* | sort -V | tail -1)
mkdir -p "$out"
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"
basename "$kernel" | sed 's/^vmlinuz-//' >"$out/kernel-version"
mkfs.ext4 -q -F -L e2e-root -d "$rootfs" "$out/disk.img" 3G
echo "e2e-node: image ready: $(cat "$out/kernel-version"), $(du -sh "$rootfs" | cut -f1) root filesystem"
