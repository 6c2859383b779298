#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-net with several queue pairs behind the window: three
# virtio-net-pci NICs of 4 queue pairs each behind the host bridge's
# region, on 4 vCPUs, and a control mmio NIC with no region. QEMU's hub has
# one queue a port, so the NICs sit on multi-queue taps joined by a bridge
# in a network namespace of QEMU's own (harness/guest.sh). Raw frames of
# 60 B to 9014 B (MTU 9000) go from one NIC to the other, sent from each
# vCPU in turn: the transmit queue is the sending CPU's (virtio_net sets one
# queue pair a CPU in XPS), so every pair carries frames, and the host then
# finds descriptors in each NIC's every transmit queue (check.sh). The
# third NIC sends from vCPU 0 only, and the host must find its other
# transmit queues empty: the control of that check (IPv6 is off on every
# NIC, so that nothing but these frames leaves them). The control vq's
# commands (the number of queue pairs, the receive mode) go through the
# pool too. Unload and reload tear the pairs down and set them up again.
# Where the host could not give QEMU taps, the NICs run on the hub with one
# queue pair, and the multi-queue cases say so as SKIPs.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 12
RP=$(first good 1)
set -- $(expect pcinet | awk '{ print $1, $2, $3 }')
a=$1 pairs=$2 b=$4 c=$7 c_senders=$9
ctl=$(expect device | awk '$1 == "net" && $3 == "-" { print $2; exit }')
taps=$(expect taps)
SIZES="60 1500 9014"
COUNT=5

find_ifaces() {
	if_a=$(wait_iface "/sys/bus/pci/devices/$a") &&
		if_b=$(wait_iface "/sys/bus/pci/devices/$b") &&
		if_c=$(wait_iface "/sys/bus/pci/devices/$c") &&
		if_ctl=$(wait_iface "/sys/bus/platform/devices/$ctl") ||
		{ ktap_print_msg "interfaces: $a ${if_a:-none}, $b ${if_b:-none}, $c ${if_c:-none}, $ctl ${if_ctl:-none}"; return 1; }
}
# from_each_cpu OUT IN: frames from OUT to IN sent from every vCPU in turn.
from_each_cpu() {
	cpu=0
	while [ $cpu -lt "$(ncpus)" ]; do
		frames "$1" "$2" $cpu || return 1
		cpu=$((cpu + 1))
	done
}
# The guest's vCPUs (busybox has no nproc).
ncpus() {
	grep -c '^processor' /proc/cpuinfo
}
# The queue pairs interface $1 runs (its transmit queues).
pairs_of() {
	ls -d "/sys/class/net/$1/queues"/tx-* 2>/dev/null | grep -c .
}
# skip_unless_taps N WHAT: without taps, N SKIPs that say why; fails then.
skip_unless_taps() {
	[ "$taps" = on ] && return 1
	i=0
	while [ $i -lt "$1" ]; do
		ktap_test_skip "$2: no taps here, one queue pair a NIC (${taps#off })"
		i=$((i + 1))
	done
}

# No IPv6 on the NICs: its neighbour discovery would send frames of its
# own, from any vCPU, and fill transmit queues the host must find empty.
echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6

load
find_ifaces || ktap_print_msg "an interface is missing"
ktap_print_msg "$a ($if_a), $b ($if_b) and $c ($if_c) behind $RP, $ctl ($if_ctl) behind none; $(ncpus) vCPUs; taps $taps"
result "$a, $b and $c are restricted to $RP, $ctl to none" \
	eval 'serves "$RP" "$a" && serves "$RP" "$b" && serves "$RP" "$c" && not serves "$RP" "$ctl"'
if ! skip_unless_taps 1 "each NIC runs $pairs queue pairs"; then
	result "each NIC runs $pairs queue pairs ($if_a: $(pairs_of "$if_a"), $if_b: $(pairs_of "$if_b"), $if_c: $(pairs_of "$if_c"))" \
		eval '[ "$(pairs_of "$if_a")" -eq "$pairs" ] && [ "$(pairs_of "$if_b")" -eq "$pairs" ] && [ "$(pairs_of "$if_c")" -eq "$pairs" ]'
fi

idle=$(counter io_tlb_used "$RP")
result "$COUNT frames each of $SIZES B from $if_a to $if_b, sent from each vCPU, intact" from_each_cpu "$if_a" "$if_b"
result "...and from $if_b to $if_a" from_each_cpu "$if_b" "$if_a"
# The host's control: $c sends from its first $c_senders transmit queue(s) only.
from_first() {
	q=0
	while [ $q -lt "$c_senders" ]; do
		frames "$if_c" "$if_a" $q && frames "$if_a" "$if_c" $q || return 1
		q=$((q + 1))
	done
}
result "frames from $if_c to $if_a and back, sent from vCPU 0..$((c_senders - 1)) only, intact" from_first
# (The NICs were down until rawframe brought them up, MTU 9000.)
ktap_print_msg "sizing: three NICs of $(pairs_of "$if_a") queue pairs, up, keep $(( $(counter io_tlb_used "$RP") - idle )) slots (2 KiB) of $RP more than down; in use $(counter io_tlb_used "$RP") of $(counter io_tlb_nslabs "$RP"), at most $(counter io_tlb_used_hiwater "$RP")"
# With the control NIC at the other end, what the region copied each way
# (legs_through in lib.sh): every byte $if_b sends, and every byte $if_a
# receives.
legs_through "$if_b" "$if_a" "$if_ctl" "$RP"
ask_host virtqueues
# The host's agent polls the console: give it time to ask QEMU before the
# unload below resets the queues.
sleep 3

if ! skip_if_builtin 3 "unload and reload with multi-queue NICs behind a region"; then
	mark_log
	unload
	gone() {
		not pci_bound "$a" && not pci_bound "$b" && not pci_bound "$c" && not log_since_mark_has "still in use"
	}
	result "unload unbinds the restricted NICs, nothing left mapped" gone
	load
	result "reload brings them back" find_ifaces
	result "...and frames go from $if_b to $if_a again, from each vCPU, intact" from_each_cpu "$if_b" "$if_a"
fi
result "no warning in the kernel log" log_clean
ktap_finished
