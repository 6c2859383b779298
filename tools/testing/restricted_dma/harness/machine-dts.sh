#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# machine-dts.sh MACHINE: prints the path of QEMU's own DT source for
# `-M MACHINE` (as `virt` or `virt,iommu=smmuv3`) with RDMA_SMP vCPUs (2 by
# default: the DT lists the CPUs), made once and cached in $RDMA_CACHE/guest.
# The guests and dt-check start from it. The options are the guests' own
# (guest.sh); -nic none: QEMU's default NIC needs efi-virtio.rom, which is
# not installed.
set -euo pipefail
. "$(dirname "$0")/env.sh"
machine=${1:-virt}
smp=${RDMA_SMP:-2}
dts=$RDMA_CACHE/guest/machine-$(echo "$machine" | tr ',=' '--')-smp$smp.dts
if ! [ -s "$dts" ]; then
  mkdir -p "$RDMA_CACHE/guest"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  qemu-system-aarch64 -M "$machine" -cpu cortex-a57 -smp "$smp" -m 1024 -nographic -no-reboot -nic none \
    -machine dumpdtb="$tmp/m.dtb" >"$tmp/qemu.log" 2>&1 || { cat "$tmp/qemu.log" >&2; exit 1; }
  # Written under another name first: a failed run leaves no half-made file.
  dtc -q -I dtb -O dts -o "$tmp/m.dts" "$tmp/m.dtb" && mv "$tmp/m.dts" "$dts"
fi
echo "$dts"
