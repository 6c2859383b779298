#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make run`: load the module, show what it claimed and attached, move some
# data through every kind of device, show each region's counters, unload.
. ./lib.sh

say() { printf '\n== %s\n' "$*"; }
klog() { dmesg | grep 'restricted_dma' | sed 's/^\[[ 0-9.]*\] /  /'; }

if is_builtin; then
	# Built in: everything happened at boot, before any driver probed.
	say "restricted_dma, built in: what it did at boot, with the virtio drivers' first words"
	dmesg | grep -E 'restricted_dma|initialized node restricted|virtio_blk virtio[0-9]+: \[' |
		sed 's/^\[ *\([0-9.]*\)\] /  \1 /'
	dmesg -c > /dev/null
else
	say "insmod restricted_dma.ko"
	dmesg -c > /dev/null
	load
	sleep 0.5
	klog
fi
# Devices the DT held back from probing at boot: bound now, through their pool.
expect device | awk '$6 == "held" { print $2 }' | while read -r t; do
	bind_held "$t" && echo "  $t: held back at boot, bound now"
done
sleep 0.5

say "devices"
expect pcidevice | while read -r kind t region iommu; do
	drv=$(basename "$(readlink "/sys/bus/pci/devices/$t/driver" 2>/dev/null)" 2>/dev/null)
	ap=-
	for v in /sys/bus/pci/devices/$t/virtio*; do
		[ -e "$v/features" ] && ap=$(cut -c34 "$v/features")
	done
	printf '  %-8s %-20s region %-22s ACCESS_PLATFORM=%s driver=%s %s\n' "$kind-pci" "$t" "$region" "$ap" "${drv:--}" "$(blk_of "$t")"
done
expect device | while read -r kind t region iommu; do
	drv=$(basename "$(readlink "/sys/bus/platform/devices/$t/driver" 2>/dev/null)" 2>/dev/null)
	ap=-
	for v in /sys/bus/platform/devices/$t/virtio*; do
		[ -e "$v/features" ] && ap=$(cut -c34 "$v/features")
	done
	extra=
	[ "$kind" = blk ] || [ "$kind" = vublk ] && extra=$(blk_of "$t")
	printf '  %-8s %-20s region %-22s ACCESS_PLATFORM=%s driver=%s %s\n' "$kind" "$t" "$region" "$ap" "${drv:--}" "$extra"
done

say "traffic"
{ expect pcidevice; expect device; } | while read -r kind t region iommu; do
	case "$kind" in
	blk | vublk)
		dev=$(blk_of "$t") || { echo "  $t: no block device (refused?)"; continue; }
		if ./odirect roundtrip "$dev" 1048576 512 0 1; then
			echo "  $dev ($region): 1 MiB O_DIRECT write + read back, intact"
		else
			echo "  $dev ($region): DATA DIFFERS"
		fi ;;
	rng)
		dd if=/dev/hwrng of=/tmp/rng bs=1024 count=8 2>/dev/null
		echo "  /dev/hwrng ($(cat /sys/class/misc/hw_random/rng_current)): read $(stat -c %s /tmp/rng) bytes" ;;
	console)
		for p in /sys/class/virtio-ports/*; do
			name=$(cat "$p/name" 2>/dev/null)
			case "$name" in rdma.*) ;; *) continue ;; esac
			c=con${name#rdma.}
			timeout 10 head -c 65536 "/dev/$(basename "$p")" > /tmp/con.in
			cmp -s /tmp/con.in "/etc/restricted_dma/$c.to-guest" && ok=intact || ok=DIFFERS
			cat "/etc/restricted_dma/$c.to-host" > "/dev/$(basename "$p")"
			echo "  /dev/$(basename "$p") ($name): 64 KiB from the host ($ok), 64 KiB sent back"
		done ;;
	esac
done

for d in "$DBG"/*/; do
	r=$(basename "$d")
	say "debugfs $DBG/$r"
	for f in base size shared devices io_tlb_nslabs io_tlb_used io_tlb_used_hiwater areas maps unmaps \
		bytes_to_device bytes_from_device allocs failed_maps bad_unmaps virtio_refused; do
		printf '  %-20s %s\n' "$f" "$(tr '\n' ' ' < "$d$f")"
	done
done

if ! is_builtin; then
	say "rmmod restricted_dma"
	dmesg -c > /dev/null
	unload
	klog
fi
