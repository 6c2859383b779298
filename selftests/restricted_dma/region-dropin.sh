#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The device tree crosvm gives a protected VM through pvmfw: a
# /reserved-memory node of mainline's compatible, restricted-dma-pool, that
# the guest's kernel places at boot (size and alignment, no reg) and shares
# with the host, named by the PCI host bridge, with a virtio-blk-pci and a
# virtio-net-pci behind it.
# - Built in (a kernel without mainline's pool), restricted_dma claims the
#   node as its own (the drop-in): the window is where the boot code placed
#   it, shared whole and zeroed (the sharing ledger, kernel-patches/0004,
#   stands in for pKVM's hook), and both devices have its pool from their
#   first probe, nothing re-probed; reads from the disk go through it.
# - Loadable, beside mainline's pool, which has the node: the module leaves
#   it alone and says so, and the devices are not its.
# - Built in, with no sharing hook (the ledger told to be absent, the
#   nohook guest): nothing would tell the host where the window is, so the
#   node is refused by name, and both devices behind it; the control blk
#   works.
. ./ktap_helpers.sh
. ./lib.sh

L=/sys/kernel/debug/restricted_dma_ledger
R=$(first mainline 1)
blk=$(pcidev_of blk on)
nic=$(pcidev_of net on)
if is_builtin && grep -q 'restricted_dma_ledger\.absent=1' /proc/cmdline; then
	ktap_print_header
	ktap_set_plan 5
	# $1 is refused by name, in the log and in restricted_dma's list, and
	# its virtio device has no $2 (a disk, an interface).
	refused_without() {
		log_has "$1: names a restricted region that was not claimed ($R); all its DMA will be refused" &&
			grep -qx "$1" "$DBG/devices/refused" &&
			! ls -d /sys/bus/pci/devices/"$1"/virtio*/"$2"/* > /dev/null 2>&1
	}
	rejected() {
		log_has "/reserved-memory/$R: rejected: placed at boot ('size', no 'reg') with no sharing hook to tell the host where" &&
			! [ -e "$DBG/$R" ]
	}
	result "the ledger registered no hook" log_has "restricted_dma_ledger: absent: no sharing hook registered"
	result "$R, placed at boot with no sharing hook, is refused by name, and nothing of it claimed" rejected
	result "$blk behind it is refused by name, and has no disk" refused_without "$blk" block
	result "$nic behind it is refused by name, and has no interface" refused_without "$nic" net
	result "the control blk works" ./odirect roundtrip "$(wait_blk "$(transport_of blk)")" 65536 512 0 31
	ktap_finished
	exit
fi
disk=$(wait_up_to 10 sh -c "ls -d /sys/bus/pci/devices/$blk/virtio*/block/vd* 2>/dev/null | head -n 1")
disk=/dev/${disk##*/}
# Where the boot code placed $R: "OF: reserved mem: BASE..END (N KiB) ... $R".
set -- $(dmesg | sed -n "s/.*OF: reserved mem: \(0x[0-9a-f]*\)\.\.\(0x[0-9a-f]*\) .* $R\$/\1 \2/p" | head -n 1)
wbase=$(printf '%#x' "$(($1))") wsize=$(printf '%#x' "$(($2 - $1 + 1))")
ktap_print_header
mark_log_before_load
load
# Raw frames both ways between the restricted NIC and the control one (no
# region, on the same QEMU hub), which brings both up.
nif=$(wait_iface "/sys/bus/pci/devices/$nic")
cif=$(wait_iface "/sys/bus/platform/devices/$(transport_of net)")
COUNT=8 SIZES="64 1514"
frames "$nif" "$cif" && frames "$cif" "$nif"
passed=$?
# The host learns where the window is (a real host, from the share calls),
# then asks QEMU where each device's rings and descriptors are: check.sh holds
# the restricted ones to the window, and the controls to outside it.
ask_host window "$R" "$wbase" "$wsize"
ask_host virtqueues
sleep 3

# 256 KiB read from $disk with O_DIRECT, a map each 4 KiB.
reads() {
	dd if="$disk" of=/dev/null bs=4096 count=64 iflag=direct 2>/dev/null
}
# The frames above.
frames_passed() {
	[ "$passed" -eq 0 ]
}
# served_first DEV OPS_LINE PROBE_LINE DRIVER BOUND: DEV had $R's ops (at
# log line OPS_LINE) before DRIVER's first word (PROBE_LINE), DRIVER is
# BOUND to it, and $R lists it.
served_first() {
	comes_before "$2" "$3" && [ "$5" = "$4" ] && grep -qx "$1" "$DBG/$R/devices"
}
# Whether the window's pages were shared, and each held zeros then.
zeros_shared() {
	grep -q '^share ' /tmp/window-calls && ! grep -q '^share .* [1-9][0-9]*$' /tmp/window-calls
}
# Whether device $1 is in none of restricted_dma's lists.
not_ours() {
	! cat "$DBG"/*/devices "$DBG/devices/refused" 2>/dev/null | grep -qx "$1"
}
# Whether restricted_dma (its debugfs there) has nothing of $R, nor either
# device behind it.
unclaimed() {
	[ -d "$DBG/devices" ] && ! [ -e "$DBG/$R" ] && not_ours "$blk" && not_ours "$nic"
}
# Whether mainline's pool gave $R to both devices.
assigned() {
	log_has "$blk: assigned reserved memory node $R" && log_has "$nic: assigned reserved memory node $R"
}
# Whether restricted_dma claimed $R where the boot code placed it.
claimed_where_placed() {
	[ "$base+$size" = "$wbase+$wsize" ] && log_since_mark_has "/reserved-memory/$R: claimed $base+$size"
}

if ! is_builtin; then
	ktap_set_plan 6
	result "mainline's pool has $R" log_has "created restricted DMA pool at $(printf '0x%016x' "$wbase"),"
	result "...and gave it to $blk and $nic at their first probe" assigned
	result "restricted_dma leaves $R alone, and says so" \
		log_since_mark_has "/reserved-memory/$R: a restricted-dma-pool that mainline's pool has: left alone"
	result "...claims nothing of it, and neither device is its" unclaimed
	result "reads from $blk's disk work" reads
	result "frames pass both ways between $nic ($nif) and a control NIC" frames_passed
	ktap_finished
	exit
fi

ktap_set_plan 8
base=$(cat "$DBG/$R/base" 2>/dev/null) size=$(cat "$DBG/$R/size" 2>/dev/null)
ktap_print_msg "$R: placed at $wbase+$wsize; restricted_dma's window ${base:-none}+${size:-none}"
result "$R, a restricted-dma-pool placed at boot, is claimed by restricted_dma where it was placed (the drop-in)" \
	claimed_where_placed
# The ledger's calls in the window: "share|unshare PHYS PAGES RET NONZERO",
# addresses in decimal (awk here reads no hex).
grep -v '^#' "$L/log" 2>/dev/null | while read -r seq ns op phys pages ret nz; do
	echo "$op $((phys)) $pages $ret $nz"
done | awk -v b=$((wbase)) -v s=$((wsize)) '$2 >= b && $2 < b + s' > /tmp/window-calls
shared=$(awk '$1 == "share" && $4 == 0 { n += $3 } END { print n + 0 }' /tmp/window-calls)
ktap_print_msg "the ledger: $shared page(s) of $R shared in $(grep -c '' /tmp/window-calls) call(s)"
result "...every page of its window is shared with the host, once" [ "$shared" -eq $((wsize / 4096)) ]
result "...and each was zeros when it was shared" zeros_shared
result "nothing was re-probed" not log_since_mark_has 're-probing it'
for d in "$blk=virtio_blk" "$nic=virtio_net"; do
	t=${d%=*} drv=${d#*=}
	v=$(basename "$(ls -d /sys/bus/pci/devices/"$t"/virtio* | head -n 1)")
	ours=$(first_since_mark "restricted_dma: $t: DMA restricted to $R")
	bound=$(basename "$(readlink "/sys/bus/virtio/devices/$v/driver")")
	# virtio_blk's first word is its disk's size; virtio_net says nothing,
	# and "nothing was re-probed" stands for it.
	if [ "$drv" = virtio_blk ]; then
		probe=$(first_since_mark "$drv $v: [") said="$drv's first word at ${probe:-none}"
	else
		probe=$((ours + 1)) said="$drv says nothing at probe"
	fi
	ktap_print_msg "$t ($v, driven by $bound): ops at log line ${ours:-none}, $said"
	result "$t had the pool of $R before $drv first probed it, and $drv drives it" \
		served_first "$t" "$ours" "$probe" "$drv" "$bound"
done
m0=$(counter maps "$R")
reads
m=$(( $(counter maps "$R") - m0 ))
ktap_print_msg "reading 256 KiB from $disk: $m maps through $R"
result "reads from $blk's disk go through $R" [ "$m" -ge 64 ]
result "frames pass both ways between $nic ($nif) and a control NIC" frames_passed
ktap_finished
