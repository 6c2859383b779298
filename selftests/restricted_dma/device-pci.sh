#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio over PCI: the host bridge's node names a region, so every device
# behind it goes through that region's pool. A blk and an rng that negotiated
# VIRTIO_F_ACCESS_PLATFORM work through it; a blk that did not is refused; a
# virtio-mmio blk on another region works beside them, each region counting
# only its own. Unbind and rebind, remove and rescan, a device the VMM adds to
# the running guest (QEMU's device_add into a PCIe root port), unload and
# reload keep every one of them restricted. A blk whose own DT node names
# another memory pool and no region (the host writes both nodes) is held
# behind the wall: its driver could take that pool, which serves coherent
# allocations before any ops.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
expect pciwalled > /tmp/pciwalled
ktap_set_plan $((24 + 3 * $(grep -c . /tmp/pciwalled)))
RP=$(expect good | awk -v p=pcie@10000000 '$4 ~ p { print $1; exit }')
RM=$(expect device | awk '$1 == "blk" { print $3; exit }')
blk=$(pcidev_of blk on) rng=$(pcidev_of rng on) refused=$(pcidev_of blk off)
mmio=$(transport_of blk)
load
dev=$(wait_blk "$blk")
mdev=$(wait_blk "$mmio")
ktap_print_msg "$RP behind pcie@10000000: blk $blk ($dev), rng $rng, refused $refused; $RM: blk $mmio ($mdev)"

result "$blk (virtio-blk-pci) is restricted to $RP" serves "$RP" "$blk"
result "$rng (virtio-rng-pci) is restricted to $RP" serves "$RP" "$rng"

to0=$(counter bytes_to_device "$RP") from0=$(counter bytes_from_device "$RP") m0=$(counter maps "$RM")
ok=1
for size in 512 4096 65536 1048576; do
	./odirect roundtrip "$dev" "$size" 0 0 "$size" || { ok=0; ktap_print_msg "$size-byte round trip failed"; }
done
./odirect roundtrip "$dev" 12288 512 0 5 || ok=0
result "$blk: O_DIRECT round trips of 512 B to 1 MiB, aligned and not, intact" [ $ok = 1 ]
moved=$((512 + 4096 + 65536 + 1048576 + 12288))
dto=$(( $(counter bytes_to_device "$RP") - to0 )) dfrom=$(( $(counter bytes_from_device "$RP") - from0 ))
ktap_print_msg "$RP bounced $dto bytes in and $dfrom out for $moved written and read"
# Writes go in, reads come out (their buffers are zeroed in the window, not
# copied in).
result "...$RP counted the bytes: in and out >= 1x what was moved" \
	[ "$dto" -ge "$moved" -a "$dfrom" -ge "$moved" -a "$dto" -lt $((moved + 1048576)) ]
result "...and the virtio-mmio region $RM counted none of them" [ "$(counter maps "$RM")" -eq "$m0" ]

from0=$(counter bytes_from_device "$RP")
dd if=/dev/hwrng of=/tmp/rng bs=1024 count=8 2>/dev/null
cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
ktap_print_msg "current hwrng: $cur"
result "virtio-rng-pci: 8 KiB read from /dev/hwrng" [ "$(stat -c %s /tmp/rng)" -eq 8192 ]
result "...bounced back through $RP" [ $(( $(counter bytes_from_device "$RP") - from0 )) -ge 8192 ]

result "$refused, without ACCESS_PLATFORM, is refused, and the log names it" \
	log_has "on $refused: refused: did not negotiate VIRTIO_F_ACCESS_PLATFORM, and its DMA is restricted to $RP"
result "...it has no block device" no_blk "$refused"

# The rng behind the bridge keeps feeding the entropy pool from a kthread,
# a few bytes at a time: the PCI region may count that, never the 1 MiB.
b0=$(( $(counter bytes_to_device "$RP") + $(counter bytes_from_device "$RP") ))
m0=$(counter bytes_to_device "$RM")
result "virtio-mmio blk on $RM works beside them" ./odirect roundtrip "$mdev" 1048576 0 0 21
rp_moved=$(( $(counter bytes_to_device "$RP") + $(counter bytes_from_device "$RP") - b0 ))
ktap_print_msg "meanwhile $RP bounced $rp_moved bytes, $RM took $(( $(counter bytes_to_device "$RM") - m0 )) in"
result "...and $RP counted none of it (under 64 KiB of background rng reads)" \
	[ "$rp_moved" -lt 65536 -a $(( $(counter bytes_to_device "$RM") - m0 )) -ge 1048576 ]

# Unbind and rebind by hand.
echo "$blk" > /sys/bus/pci/drivers/virtio-pci/unbind
result "unbound by hand, $blk leaves the pool's devices" not serves "$RP" "$blk"
echo "$blk" > /sys/bus/pci/drivers/virtio-pci/bind
rebound() {
	d=$(wait_blk "$blk") && serves "$RP" "$blk" && ./odirect roundtrip "$d" 262144 0 0 22
}
result "bound again by hand, it works through the pool again" rebound

# A device added after load: remove it, then let the bus find it again.
echo 1 > "/sys/bus/pci/devices/$blk/remove"
result "removed, $blk is gone from the pool's devices" not serves "$RP" "$blk"
echo 1 > /sys/bus/pci/rescan
result "added again by a rescan after load, it is restricted from its first probe and works" rebound

# A device the VMM adds to the running guest, long after load: the host's
# device_add (qmp-agent.py) into the root port that was empty at boot. pciehp
# finds it and the driver core binds it: restricted from its first probe.
# Not under lockdep (skip_hot_add in lib.sh says why).
hot=
if ! skip_hot_add "the blk" "restricted" "restricted from its first probe" "works"; then
	port=$(hotplug_of blk | cut -d' ' -f1)
	mark_log
	hot=$(hot_add blk)
	hdev=$( [ -n "$hot" ] && wait_blk "$hot")
	ktap_print_msg "device_add into $port: ${hot:-nothing appeared} (${hdev:-no block device})"
	[ -n "$hdev" ] || log_since_mark | grep -i 'pci' | tail -n 12 | while read -r l; do ktap_print_msg "$l"; done
	result "hot-added by the VMM, ${hot:-the blk} behind $port is restricted to $RP" serves "$RP" "$hot"
	hot_first_probe() {
		v=$(basename "$(ls -d /sys/bus/pci/devices/"$hot"/virtio* | head -n 1)")
		ours=$(first_since_mark "restricted_dma: $hot: DMA restricted to $RP")
		probe=$(first_since_mark "virtio_blk $v: [")
		ktap_print_msg "$hot ($v): ops at log line ${ours:-none}, virtio_blk's first word at ${probe:-none}"
		comes_before "$ours" "$probe" && not log_since_mark_has 're-probing it'
	}
	result "...from its first probe: the pool before virtio_blk's first word, no re-probe" hot_first_probe
	result "...and its O_DIRECT round trips are intact" \
		sh -c "[ -n '$hdev' ] && ./odirect roundtrip '$hdev' 1048576 0 0 23 && ./odirect roundtrip '$hdev' 12288 512 0 24"
fi
# The host looks again (check.sh reads QEMU's last answer): the hot-added
# device's rings must lie in the region too.
ask_host virtqueues
sleep 3

# The root port is a PCI bridge: no ops of ours (it does no DMA), and it is
# never unbound by us (see attach.rs: clearing its Bus Master Enable before
# its children go would stop their DMA on real PCIe).
port=$(expect pcihotplug | awk '{ print $2; exit }')
result "the root port $port is a bridge: not restricted" not serves "$RP" "$port"

# Unload with everything quiet: every PCI device behind the bridge is
# unbound and fenced, nothing stays mapped; reload brings them back.
if ! skip_if_builtin 4 "unload and reload with PCI devices"; then
	mark_log
	unload
	# With no driver_override in its way: only the gate (sys/gate.rs) is.
	bind_by_hand() {
		echo > "/sys/bus/pci/devices/$blk/driver_override"
		echo "$blk" > /sys/bus/pci/drivers/virtio-pci/bind 2>/dev/null
		pci_bound "$blk"
	}
	fenced() {
		not pci_bound "$blk" && not pci_bound "$rng" && not pci_bound "${hot:-none}" &&
			not bind_by_hand
	}
	result "while unloaded, no PCI device behind the bridge is bound, nor can be bound by hand" fenced
	result "...but the root port $port stays bound to its port driver" pci_bound "$port"
	result "...nothing stayed mapped at unload" not log_since_mark_has 'still in use'
	load
	result "reload brings $blk back through the pool, working" rebound
fi
while read -r bdf pool; do
	result "$bdf, whose own node names $pool and no region, is held back from probing, and the log says why" \
		log_has "$bdf: names a memory pool that another handler serves, beside its restricted region or as it"
	result "...it is not bound" not pci_bound "$bdf"
	result "...the driver core says which supplier it waits for" \
		grep -q "$bdf.*restricted_dma_wall" /sys/kernel/debug/devices_deferred
done < /tmp/pciwalled
result "no warning in the kernel log" log_clean
ktap_finished
