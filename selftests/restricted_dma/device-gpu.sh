#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Virtio-gpu behind the window. The driver maps each object's pages once
# (dma_map_sgtable: its framebuffer, for as long as it exists) and, before
# each transfer to the host, syncs them for the device: a missed sync shows
# as a stale picture, not as an error. A gpu behind a region (held from
# probing at boot, bound once restricted_dma is there) and a control gpu
# with no region, each drawn with a pattern of its own through the DRM
# fbdev emulation and flushed with a full update (fbdraw.c); the host takes
# QEMU's screendump of each and compares it pixel for pixel with the
# pattern (check.sh, with a control pattern that must not match), checks
# that the window holds every row of the picture drawn on the gpu behind it
# and none of the control's (where the device reads the framebuffer), and
# checks where QEMU finds each gpu's rings and every descriptor. Last, a
# virtio-gpu-pci behind the host bridge, whose node names a region of its
# own, drawn and dumped the same way (QEMU 7.2 cannot hot-add one: it is
# there from boot, and the loadable module rebinds it at load).
#
# fbdraw.c maps the framebuffer and writes it, as programs that draw on
# fbdev do; the emulation's deferred I/O flushes the pages written a few
# jiffies later. Drawn with write() instead, the screen behind a bounce
# pool stayed black in 6.12 (behind mainline's restricted-dma-pool as
# behind ours), while the control showed the pattern: seen, not explained.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 8
set -- $(expect device | awk '$1 == "gpu" && $3 != "-" { print $2, $3; exit }')
gpu=$1 R=$2
ctl=$(expect device | awk '$1 == "gpu" && $3 == "-" { print $2; exit }')

# The framebuffer device (/dev/fbN) of the gpu on transport $1 (virtio_gpu
# makes it the transport's), or on PCI device $1 with "pci" as $2.
fb_of() {
	f=$(ls -d "/sys/bus/${2:-platform}/devices/$1"/graphics/fb* 2>/dev/null | head -n 1)
	[ -n "$f" ] && echo "/dev/${f##*/}"
}
# draw DEVICE SEED [pci]: draws the pattern of SEED on the screen of the gpu
# on transport DEVICE (or PCI device DEVICE); the host dumps it.
draw() {
	f=$(fb_of "$1" "$3") && ./fbdraw "$f" "$2" > /tmp/fbdraw.log 2>&1
	rc=$?
	ktap_print_msg "$1: $(cat /tmp/fbdraw.log)"
	# (QEMU takes the transfer and the flush from its control queue.)
	sleep 1
	ask_host screendump "$1" "$2"
	sleep 2
	return $rc
}

# frame_scan TAG REGION SEED: asks the host to look for the rows of the
# picture of SEED, as the last draw drew them, in REGION's window (TAG
# "frame": all must be there; "framecontrol": none).
frame_scan() {
	rows=$(sed -n 's/.* drew [0-9]*x\([0-9]*\) .*/\1/p' /tmp/fbdraw.log)
	set -- "$1" $(expect good | awk -v r="$2" '$1 == r { print $2, $3 }') "$3"
	ask_host window-scan "$1" "$2" "$3" "frame:$4:${rows:-0}"
	sleep 3
}

load
bind_held "$ctl"
ctl_fb=$(wait_for fb_of "$ctl" > /dev/null && fb_of "$ctl")
idle=$(counter io_tlb_used "$R")
bind_held "$gpu"
gpu_fb=$(wait_for fb_of "$gpu" > /dev/null && fb_of "$gpu")
ktap_print_msg "$gpu ($gpu_fb) behind $R, $ctl ($ctl_fb) behind none"
result "$gpu is restricted to $R with a framebuffer, $ctl to none" \
	eval '[ -n "$gpu_fb" ] && serves "$R" "$gpu" && not grep -qx "$ctl" "$DBG/$R/devices"'
up=$(( $(counter io_tlb_used "$R") - idle ))
to0=$(counter bytes_to_device "$R")
result "the pattern of seed 1 drawn on $gpu_fb" draw "$gpu" 1
to=$(( $(counter bytes_to_device "$R") - to0 ))
ktap_print_msg "$R copied $to bytes to the device for the drawing"
# 320 x 200 pixels of 4 bytes: the framebuffer's pages, synced for the
# device before the transfer.
result "...went to the device through $R's pool (the framebuffer synced for the device)" [ "$to" -ge 256000 ]
frame_scan frame "$R" 1
result "the pattern of seed 2 drawn on the control $ctl_fb" draw "$ctl" 2
frame_scan framecontrol "$R" 2
result "...and none of it through $R" [ "$(counter bytes_to_device "$R")" -eq "$(( to0 + to ))" ]
# Sizing (docs/operating.md): $R serves this gpu alone.
ktap_print_msg "sizing: a virtio-gpu of 320x200 keeps $up slots (2 KiB) of $R mapped once up (its framebuffer among them), at most $(( $(counter io_tlb_used_hiwater "$R") - idle ))"

# The PCI gpu, behind the host bridge's region.
pgpu=$(pcidev_of gpu on)
RP=$(expect pcidevice | awk '$1 == "gpu" { print $3; exit }')
pci_fb=$(wait_for fb_of "$pgpu" pci > /dev/null && fb_of "$pgpu" pci)
ktap_print_msg "$pgpu ($pci_fb) behind $RP"
result "the virtio-gpu-pci $pgpu is restricted to $RP, with a framebuffer" \
	eval '[ -n "$pci_fb" ] && serves "$RP" "$pgpu"'
pto0=$(counter bytes_to_device "$RP")
result "the pattern of seed 3 drawn on its $pci_fb" draw "$pgpu" 3 pci
pto=$(( $(counter bytes_to_device "$RP") - pto0 ))
result "...went to the device through $RP's pool ($pto bytes)" [ "$pto" -ge 256000 ]
frame_scan frame "$RP" 3
ask_host virtqueues
sleep 3
ktap_finished
