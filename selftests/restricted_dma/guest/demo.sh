#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run`: load the module, show what it claimed and what uses it.
. ./lib.sh
echo "== insmod restricted_dma.ko"
load
dmesg | grep 'restricted_dma' | sed 's/^\[[ 0-9.]*\] /  /'
for d in "$DBG"/*/; do
	[ -d "$d" ] || continue
	echo "== debugfs $d"
	for f in "$d"*; do
		printf '  %-22s %s\n' "$(basename "$f")" "$(tr '\n' ' ' < "$f")"
	done
done
for v in /sys/bus/virtio/devices/*; do
	[ -e "$v/features" ] || continue
	f=$(cat "$v/features")
	# Feature bit 33 (counting from 0, left to right) is VIRTIO_F_ACCESS_PLATFORM.
	ap=$(echo "$f" | cut -c34)
	echo "== $(basename "$v") on $(basename "$(readlink -f "$v/..")"): ACCESS_PLATFORM=$ap"
done
if [ -b /dev/vda ]; then
	echo "== 1 MiB O_DIRECT write and read back on /dev/vda"
	dd if=/dev/urandom of=/tmp/src bs=64k count=16 2>/dev/null
	dd if=/tmp/src of=/dev/vda bs=64k oflag=direct 2>/dev/null
	dd if=/dev/vda of=/tmp/back bs=64k count=16 iflag=direct 2>/dev/null
	if cmp -s /tmp/src /tmp/back; then echo "  data intact"; else echo "  DATA DIFFERS"; fi
	for d in "$DBG"/*/; do
		echo "== counters of $(basename "$d") after the I/O"
		for f in io_tlb_used io_tlb_used_hiwater maps unmaps bytes_to_device bytes_from_device allocs; do
			printf '  %-22s %s\n' "$f" "$(cat "$d$f")"
		done
	done
fi
echo "== rmmod restricted_dma"
unload
dmesg | grep 'restricted_dma' | tail -n 2 | sed 's/^\[[ 0-9.]*\] /  /'
