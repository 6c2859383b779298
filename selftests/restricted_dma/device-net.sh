#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-net behind the window. Every NIC of the guest sits on one QEMU hub
# (nothing leaves QEMU): a virtio-net-device with mergeable receive buffers
# (6.12 maps those page fragments itself, once, with DMA_ATTR_SKIP_CPU_SYNC,
# and syncs one sub-range per packet), one without (big packets) behind a
# region of its own, a virtio-net-pci behind the host bridge's region, and a
# control NIC with no region. Raw frames of 60 B to 9014 B (MTU 9000) go
# between them and are checked byte for byte (rawframe.c); the regions count
# what they bounced each way, measured while only one restricted NIC sends
# or receives (to or from the control: leg in lib.sh), and what each NIC
# keeps mapped once up (the sizing
# advice in docs/operating.md); unload and reload leave them working. The host then
# checks where QEMU finds every restricted NIC's rings (check.sh).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 15
RP=$(expect good | awk -v p=pcie@10000000 '$4 ~ p { print $1; exit }')
# The two mmio NICs behind a region: the first has mergeable buffers.
set -- $(expect device | awk '$1 == "net" && $3 != "-" { print $2, $3 }')
mrg=$1 RM=$2 big=$3 RB=$4
ctl=$(expect device | awk '$1 == "net" && $3 == "-" { print $2; exit }')
pci=$(pcidev_of net on)
SIZES="60 1500 9014"
COUNT=20

find_ifaces() {
	if_mrg=$(wait_iface "/sys/bus/platform/devices/$mrg") &&
		if_big=$(wait_iface "/sys/bus/platform/devices/$big") &&
		if_ctl=$(wait_iface "/sys/bus/platform/devices/$ctl") &&
		if_pci=$(wait_iface "/sys/bus/pci/devices/$pci")
}

load
find_ifaces || ktap_print_msg "an interface is missing"
ktap_print_msg "$mrg ($if_mrg, mergeable) behind $RM, $big ($if_big, big packets) behind $RB, $pci ($if_pci) behind $RP, $ctl ($if_ctl) behind none"

restricted() {
	serves "$RM" "$mrg" && serves "$RB" "$big" && serves "$RP" "$pci"
}
result "$mrg is restricted to $RM, $big to $RB, $pci to $RP" restricted
result "$ctl, with no region, is restricted to none" \
	not grep -qx "$ctl" "$DBG/$RM/devices" "$DBG/$RB/devices" "$DBG/$RP/devices"

idle_m=$(counter io_tlb_used "$RM") idle_b=$(counter io_tlb_used "$RB")
result "$COUNT frames each of $SIZES B from $if_mrg to $if_big, intact" frames "$if_mrg" "$if_big"
result "...and from $if_big to $if_mrg (mergeable receive buffers)" frames "$if_big" "$if_mrg"
ktap_print_msg "up, a NIC keeps mapped: mergeable $(( $(counter io_tlb_used "$RM") - idle_m )) slots (2 KiB) more than down, big packets $(( $(counter io_tlb_used "$RB") - idle_b )) more; in use $(counter io_tlb_used "$RM") of $(counter io_tlb_nslabs "$RM") and $(counter io_tlb_used "$RB") of $(counter io_tlb_nslabs "$RB")"

result "frames from $if_mrg to $if_pci (virtio-net-pci behind $RP), intact" frames "$if_mrg" "$if_pci"
result "...and from $if_pci to $if_big" frames "$if_pci" "$if_big"
# With the control NIC at the other end, what the region copied each way
# (legs_through in lib.sh): every byte $if_mrg sends, and every byte it
# receives.
legs_through "$if_mrg" "$if_mrg" "$if_ctl" "$RM"
result "frames from $if_ctl to $if_big (big packets), intact" leg "$if_ctl" "$if_big" "$RB"
ktap_print_msg "$RB copied $leg_from bytes back while $if_big received $leg_sent"
result "...$RB bounced every byte $if_big received" [ "$leg_from" -ge "$leg_sent" ]
ask_host virtqueues
# The host's agent polls the console: give it time to ask QEMU before the
# unload below resets the queues (as device-pci.sh and lifecycle-firstprobe.sh do).
sleep 3

if ! skip_if_builtin 3 "unload and reload with NICs behind a region"; then
	mark_log
	unload
	gone() {
		not is_bound "$mrg" && not is_bound "$big" && not pci_bound "$pci" &&
			not log_since_mark_has "still in use"
	}
	result "unload unbinds the restricted NICs, nothing left mapped" gone
	load
	result "reload brings them back" find_ifaces
	result "...and frames go from $if_big to $if_pci again, intact" frames "$if_big" "$if_pci"
fi
result "no warning in the kernel log" log_clean
ktap_finished
