#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-scsi behind the window. The driver maps each command's request and
# response headers and its data's scatter list, and keeps eight event
# buffers mapped for as long as it is bound. A controller behind a region
# (held from probing at boot, bound once restricted_dma is there: 6.12's
# virtio_scsi leaves those event buffers mapped when it is removed, so it
# is never unbound here) with one scsi-hd, without indirect descriptors so
# that the data's bounce slots sit in the descriptor table the host checks;
# and a control controller with no region. O_DIRECT round trips of 512 B to
# 1 MiB through each disk, checked byte for byte (odirect.c). Then the host
# hot-adds a virtio-scsi-pci controller and its disk (device_add) into a
# root port behind the host bridge, whose node names a region of its own:
# restricted from its first probe, bound once, round trips through it. The
# host then checks where QEMU finds each controller's rings and every
# descriptor (check.sh), and dumps the first controller's window after its
# first commands, looking for kernel addresses (check.sh: none; the control,
# the kernel's own data, has them).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 11
set -- $(expect device | awk '$1 == "scsi" && $3 != "-" { print $2, $3; exit }')
hba=$1 R=$2
ctl=$(expect device | awk '$1 == "scsi" && $3 == "-" { print $2; exit }')

# The SCSI disk (/dev/sdX) below transport $1.
sd_of() {
	for b in /sys/block/sd*; do
		case "$(readlink -f "$b/device")" in
		*/"$1"/*) echo "/dev/${b##*/}"; return 0 ;;
		esac
	done
	return 1
}
# roundtrips DISK SEED: O_DIRECT writes read back intact, page-aligned and
# not, 512 B to 1 MiB, at offsets across the disk.
roundtrips() {
	[ -n "$1" ] || return 1
	for c in "512 0 0" "4096 512 4096" "65536 0 1048576" "1048576 0 4194304" "12288 512 8388608"; do
		set -- "$1" "$(($2 + 1))"
		# shellcheck disable=SC2086
		./odirect roundtrip "$1" $c "$2" || return 1
	done
}

load
idle=$(counter io_tlb_used "$R")
bind_held "$hba"
# (Up to 20 s: the SCSI scan of a new host.)
disk=$(wait_up_to 20 sd_of "$hba")
cdisk=$(sd_of "$ctl")
ktap_print_msg "$hba ($disk) behind $R, $ctl ($cdisk) behind none"
result "$hba is restricted to $R, $ctl to none" \
	eval 'serves "$R" "$hba" && not grep -qx "$ctl" "$DBG/$R/devices"'
# What the host reads in the window once the disk is up (its first commands
# and a read of its zeros): no kernel address (kernel-patches/0007: each
# request's tag was its scsi_cmnd's address). The control, the same search
# over the kernel's own data, the first MiB of it, must find some.
scan_kaddr() {
	set -- $(expect good | awk -v r="$R" '$1 == r { print $2, $3 }')
	[ $# -eq 2 ] && dd if="$disk" of=/dev/null bs=4096 skip=1024 count=16 2>/dev/null || return 1
	ask_host window-scan kaddr "$1" "$2" kaddr
	kaddr_control || return 1
	# The host's agent polls the console: give it time to dump both.
	sleep 3
}
result "the host dumps $R, once $disk is up, and the kernel's data (the control), for kernel addresses" scan_kaddr
up=$(( $(counter io_tlb_used "$R") - idle ))
maps0=$(counter maps "$R")
to0=$(counter bytes_to_device "$R")
result "O_DIRECT round trips through $disk, 512 B to 1 MiB, are intact" roundtrips "$disk" 10
maps=$(( $(counter maps "$R") - maps0 ))
to=$(( $(counter bytes_to_device "$R") - to0 ))
ktap_print_msg "$R mapped $maps buffers and copied $to bytes to the device"
# The five writes alone are 1131008 bytes (the reads' buffers are zeroed in the
# window, not copied in).
result "...their data went through $R's pool" [ "$to" -ge 1131008 ]
result "O_DIRECT round trips through the control $cdisk are intact" roundtrips "$cdisk" 20
result "...and none of it went through $R" [ "$(counter maps "$R")" -eq "$(( maps0 + maps ))" ]
result "$R is back to its idle slots plus the controller's own" pool_at "$R" "$(( idle + up ))"
# Sizing (docs/operating.md): $R serves this controller alone.
ktap_print_msg "sizing: a virtio-scsi controller keeps $up slots (2 KiB) of $R mapped once up, at most $(( $(counter io_tlb_used_hiwater "$R") - idle ))"

# The controller the VMM adds to the running guest (not under lockdep:
# skip_hot_add in lib.sh says why).
if ! skip_hot_add virtio-scsi-pci "restricted from its first probe" "its disk's round trips" "...through its region" "...and none through $R"; then
	set -- $(hotplug_of scsi)
	port=$1 RP=$2
	pidle=$(counter io_tlb_used "$RP")
	mark_log
	hot=$(hot_add scsi)
	pdisk=$( [ -n "$hot" ] && wait_up_to 20 sd_of "$hot")
	ktap_print_msg "device_add into $port: ${hot:-nothing appeared} (${pdisk:-no disk})"
	hot_first_probe() {
		v=$(basename "$(ls -d /sys/bus/pci/devices/"$hot"/virtio* | head -n 1)")
		ours=$(first_since_mark "restricted_dma: $hot: DMA restricted to $RP")
		probe=$(first_since_mark "scsi host")
		ktap_print_msg "$hot ($v): ops at log line ${ours:-none}, the SCSI host's first word at ${probe:-none}"
		serves "$RP" "$hot" && comes_before "$ours" "$probe" && not log_since_mark_has 're-probing it'
	}
	result "the virtio-scsi-pci the VMM hot-added, ${hot:-none} behind $port, is restricted to $RP from its first probe" hot_first_probe
	pto0=$(counter bytes_to_device "$RP") rmaps0=$(counter maps "$R")
	result "...O_DIRECT round trips through its disk ${pdisk:-none}, 512 B to 1 MiB, are intact" roundtrips "$pdisk" 30
	result "...their data went through $RP's pool" [ "$(( $(counter bytes_to_device "$RP") - pto0 ))" -ge 1131008 ]
	ktap_print_msg "sizing: the PCI controller keeps $(( $(counter io_tlb_used "$RP") - pidle )) slots of $RP mapped once its I/O is done"
	result "...and none of it through $R, the mmio controller's region" [ "$(counter maps "$R")" -eq "$rmaps0" ]
fi
ask_host virtqueues
# The host's agent polls the console: give it time to ask QEMU.
sleep 3
ktap_finished
