#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-9p behind the window. The 9p client maps its request buffers, and
# for transfers over 1 KiB the data's own pages, in the same scatter list
# (its zero-copy requests: the host's check of the descriptor table sees
# those pages, bounced, for the share without indirect descriptors). A
# share behind a region, a
# virtio-9p-pci share behind the host bridge's region and a control share
# with no region, each a host directory: the guest reads the host's files
# of 1 B to 4 MiB and checks them against the host's sums (in its
# initramfs), and writes its own, which the host checks (check.sh: each
# file's sum, as the guest printed it, against the file on the host's disk;
# and a control file printed with the sum of other bytes, which must not
# match).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 9
SIZES="1 4095 4096 65537 1048576 4194304"
# Mount tags (variants.py): shareK for the k-th virtio-mmio device,
# pshareK for the k-th PCI device.
set -- $(expect device | awk '$1 == "9p" && $3 != "-" { print $2, $3, "share" NR - 1; exit }')
fs=$1 R=$2 fs_tag=$3
set -- $(expect device | awk '$1 == "9p" && $3 == "-" { print $2, "share" NR - 1; exit }')
ctl=$1 ctl_tag=$2
RP=$(expect good | awk -v p=pcie@10000000 '$4 ~ p { print $1; exit }')
pci=$(pcidev_of 9p on)
pci_tag=$(expect pcidevice | awk -v b="$pci" '$2 == b { print "pshare" NR - 1 }')

mount_all() {
	for t in "$fs_tag" "$pci_tag" "$ctl_tag"; do
		mkdir -p "/mnt/$t" &&
			mount -t 9p -o trans=virtio,version=9p2000.L "$t" "/mnt/$t" || return 1
	done
}
# reads TAG: every file of the host, read through the share, matches the
# host's sum.
reads() {
	(cd "/mnt/$1" && sha256sum -c -s "/etc/restricted_dma/$1.sums.to-guest")
}
# writes TAG [REGION]: files of every size, written through the share in
# 1 MiB requests and read back through it; their sums go to the host. With
# REGION, adds to written_to what REGION copied to the device during the
# writes alone (the read-back requests would count too).
writes() {
	for n in $SIZES; do
		head -c "$n" /dev/urandom > /tmp/9p.out || return 1
		[ -z "$2" ] || _t=$(counter bytes_to_device "$2")
		dd if=/tmp/9p.out of="/mnt/$1/to-host.$n" bs=1048576 2> /dev/null || return 1
		[ -z "$2" ] || written_to=$((written_to + $(counter bytes_to_device "$2") - _t))
		cmp /tmp/9p.out "/mnt/$1/to-host.$n" || return 1
		ask_host 9p-sum "$1" "to-host.$n" "$(sha256sum /tmp/9p.out | cut -d ' ' -f 1)"
	done
	# The host's control: a file, and the sum of other bytes, which its
	# check must find differing.
	head -c 4096 /dev/urandom > "/mnt/$1/to-host.control" &&
		ask_host 9p-control "$1" to-host.control "$(head -c 4096 /dev/urandom | sha256sum | cut -d ' ' -f 1)"
}
both() {
	reads "$1" && writes "$1"
}

load
ktap_print_msg "$fs ($fs_tag) behind $R, $pci ($pci_tag) behind $RP, $ctl ($ctl_tag) behind none"
restricted() {
	serves "$R" "$fs" && serves "$RP" "$pci"
}
result "$fs is restricted to $R, $pci to $RP" restricted
result "$ctl, with no region, is restricted to none" \
	not grep -qx "$ctl" "$DBG/$R/devices" "$DBG/$RP/devices"
result "the three shares mount" mount_all

from0=$(counter bytes_from_device "$R") written_to=0 rto0=$(counter bytes_to_device "$R")
result "the host's files of $SIZES B read back intact through $fs_tag" reads "$fs_tag"
read_to=$(( $(counter bytes_to_device "$R") - rto0 ))
result "files of $SIZES B written through $fs_tag, and read back intact" writes "$fs_tag" "$R"
moved=0
for n in $SIZES; do moved=$((moved + n)); done
dfrom=$(( $(counter bytes_from_device "$R") - from0 ))
ktap_print_msg "$R copied $written_to bytes to the device during the writes of $moved ($read_to during the reads), and $dfrom back for $moved read twice"
# A bound, not a proof: a request's buffers for the device to read are
# copied in (a reply buffer is zeroed in the window instead, and copied back
# whole, whatever the device wrote: $read_to bytes went in during the reads,
# their requests). What proves the path is the host's: every descriptor of
# the share without indirect descriptors lies in $R (check.sh).
result "...$R copied at least the bytes written to the device during the writes, and twice the bytes read back" \
	[ "$written_to" -ge "$moved" -a "$dfrom" -ge $((2 * moved)) ]
# Sizing (docs/operating.md): $R serves this share alone, so its high-water mark is
# the share's peak.
ktap_print_msg "sizing: $fs_tag keeps $(counter io_tlb_used "$R") slots (2 KiB) of $R mapped when idle, and used at most $(counter io_tlb_used_hiwater "$R") of $(counter io_tlb_nslabs "$R") during the transfers"
result "the same through $pci_tag (virtio-9p-pci behind $RP)" both "$pci_tag"
result "the same through $ctl_tag (no region)" both "$ctl_tag"
unmount_all() {
	umount "/mnt/$fs_tag" && umount "/mnt/$pci_tag" && umount "/mnt/$ctl_tag"
}
ask_host virtqueues
# The host's agent polls the console: give it time to ask QEMU.
sleep 3
result "the three shares unmount" unmount_all
ktap_finished
