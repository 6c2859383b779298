#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A virtio-balloon behind a region is refused. Its driver tells the host
# the page numbers of guest memory it gives up (and, with free page
# reporting, of free memory): data about memory outside the window, which
# the pool cannot keep from the host. 6.12's virtio_balloon declines
# VIRTIO_F_ACCESS_PLATFORM itself (its validate(): the host must reach those
# pages), so the virtio core refuses it behind a region, as any device
# without the feature, before virtio_balloon's probe runs. Were a balloon
# driver to keep the feature, the module would decline it by the device's
# type (rust/virtio.rs), as it does for virtio-mem, virtio-pmem and devices
# with a shared memory region (a virtio-fs DAX window); this QEMU has no
# virtio-pmem or virtio-mem for arm64 virt to show that with. The host then
# checks that QEMU finds none of the balloon's queues set up (check.sh).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 4
set -- $(expect device | awk '$1 == "balloon" && $3 != "-" { print $2, $3; exit }')
bal=$1 R=$2

load
refused0=$(counter virtio_refused "$R")
mark_log
bind_held "$bal" 2> /dev/null
v=$(basename "$(ls -d "/sys/bus/platform/devices/$bal"/virtio* 2>/dev/null | head -n 1)")
ktap_print_msg "$bal ($v) behind $R"
why=$(log_since_mark | grep -m 1 "on $bal: refused: " | sed 's/.*: refused: //')
ktap_print_msg "refused: $why"
result "the balloon on $bal behind $R is refused, with its reason" \
	eval 'case "$why" in "did not negotiate VIRTIO_F_ACCESS_PLATFORM, and its DMA is restricted to $R" | \
		"a balloon tells the host the page numbers of guest memory, and its DMA is restricted to $R") true ;;
		*) false ;; esac'
result "...before virtio_balloon ran: the core refused its features" \
	log_since_mark_has "$v: device must provide VIRTIO_F_ACCESS_PLATFORM"
result "...and it has no driver" eval '[ -n "$v" ] && [ ! -e "/sys/bus/virtio/devices/$v/driver" ]'
result "...counted in $R's virtio_refused" [ "$(counter virtio_refused "$R")" -eq $((refused0 + 1)) ]
ask_host virtqueues
sleep 3
ktap_finished
