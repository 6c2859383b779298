#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-net behind the window. Every NIC of the guest sits on one QEMU hub
# (nothing leaves QEMU): two virtio-net-device NICs behind a region, one with
# mergeable receive buffers (6.12 maps those page fragments itself, once,
# with DMA_ATTR_SKIP_CPU_SYNC, and syncs one sub-range per packet) and one
# without (big packets), a virtio-net-pci behind the host bridge's region,
# and a control NIC with no region. Raw frames of 60 B to 9014 B (MTU 9000)
# go between them and are checked byte for byte (rawframe.c); the regions
# count what they bounced; unload and reload leave them working. The host
# then checks where QEMU finds every restricted NIC's rings (check.sh).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 12
R=$(first good 1)
RP=$(expect good | awk -v p=pcie@10000000 '$4 ~ p { print $1; exit }')
set -- $(expect device | awk -v r="$R" '$1 == "net" && $3 == r { print $2 }')
mrg=$1 big=$2
ctl=$(expect device | awk '$1 == "net" && $3 == "-" { print $2; exit }')
pci=$(pcidev_of net on)
SIZES="60 1500 9014"
COUNT=20

# The network interface of the virtio device below sysfs device $1.
iface_of() {
	n=$(ls "$1"/virtio*/net 2>/dev/null | head -n 1)
	[ -n "$n" ] && echo "$n"
}
wait_iface() {
	wait_for iface_of "$1" > /dev/null && iface_of "$1"
}
# frames OUT IN: frames of every size from interface OUT to IN, intact.
frames() {
	for size in $SIZES; do
		./rawframe "$1" "$2" "$size" "$COUNT" "$size" > /tmp/rawframe.log 2>&1 ||
			{ ktap_print_msg "$(cat /tmp/rawframe.log)"; return 1; }
	done
}
find_ifaces() {
	if_mrg=$(wait_iface "/sys/bus/platform/devices/$mrg") &&
		if_big=$(wait_iface "/sys/bus/platform/devices/$big") &&
		if_ctl=$(wait_iface "/sys/bus/platform/devices/$ctl") &&
		if_pci=$(wait_iface "/sys/bus/pci/devices/$pci")
}

load
find_ifaces || ktap_print_msg "an interface is missing"
ktap_print_msg "$R: $mrg ($if_mrg, mergeable), $big ($if_big, big packets); $RP: $pci ($if_pci); no region: $ctl ($if_ctl)"

result "$mrg and $big are restricted to $R, $pci to $RP" \
	sh -c "grep -qx $mrg $DBG/$R/devices && grep -qx $big $DBG/$R/devices && grep -qx $pci $DBG/$RP/devices"
result "$ctl, with no region, is not restricted" not serves "$R" "$ctl"

to0=$(counter bytes_to_device "$R") from0=$(counter bytes_from_device "$R")
result "$COUNT frames each of $SIZES B from $if_mrg to $if_big, intact" frames "$if_mrg" "$if_big"
result "...and from $if_big to $if_mrg (mergeable receive buffers)" frames "$if_big" "$if_mrg"
moved=0
for size in $SIZES; do moved=$((moved + 2 * COUNT * size)); done
dto=$(( $(counter bytes_to_device "$R") - to0 )) dfrom=$(( $(counter bytes_from_device "$R") - from0 ))
ktap_print_msg "$R bounced $dto bytes to the devices and $dfrom back, for $moved sent and $moved received"
# Each frame went out through one restricted NIC and came in through the
# other: the region bounced it both ways.
result "...$R bounced every byte both ways" [ "$dto" -ge "$moved" -a "$dfrom" -ge "$moved" ]

ktap_print_msg "with both NICs up, $R has $(counter io_tlb_used "$R") slots (2 KiB) in use, at most $(counter io_tlb_used_hiwater "$R")"
result "frames from $if_mrg to $if_pci (virtio-net-pci behind $RP), intact" frames "$if_mrg" "$if_pci"
result "...and from $if_pci to $if_big" frames "$if_pci" "$if_big"
with_control() {
	frames "$if_ctl" "$if_mrg" && frames "$if_mrg" "$if_ctl"
}
result "frames from $if_ctl (no region) to $if_mrg, and back, intact" with_control
ask_host virtqueues

if ! skip_if_builtin 3 "unload and reload with NICs behind a region"; then
	mark_log
	unload
	result "unload unbinds the restricted NICs, nothing left mapped" \
		sh -c "! [ -e /sys/bus/platform/devices/$mrg/driver ] && ! [ -e /sys/bus/pci/devices/$pci/driver ] && ! dmesg | tail -n +$((LOG_MARK + 1)) | grep -q 'still in use'"
	load
	result "reload brings them back" find_ifaces
	result "...and frames go from $if_big to $if_pci again, intact" frames "$if_big" "$if_pci"
fi
result "no warning in the kernel log" log_clean
ktap_finished
