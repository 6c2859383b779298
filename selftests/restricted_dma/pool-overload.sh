#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A region too small for the load: twelve processes keep more large O_DIRECT
# transfers in flight than the pool holds. Maps then fail (counted in
# failed_maps); virtio-blk answers a failed map with "resource busy" and
# retries, so the I/O waits for slots rather than failing. Nothing may be
# corrupted, nothing may crash, and the device works normally afterwards.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 6
load
dev=$(wait_blk "$(transport_of blk)") || ktap_exit_fail_msg "no block device behind $(transport_of blk)"
ktap_print_msg "$dev behind $(first good 1): $(counter io_tlb_nslabs) slots"
fails0=$(counter failed_maps)
mark_log
# Transfers of up to 1 MiB: each is one or two requests the size of half
# the region, so a few at once overfill it.
./odirect stress "$dev" 5 12 4194304 1048576 > /tmp/stress.log 2>&1
rc=$?
sed 's/^/# /' /tmp/stress.log
ktap_print_msg "failed_maps $fails0 -> $(counter failed_maps), high-water $(counter io_tlb_used_hiwater) of $(counter io_tlb_nslabs) slots"
result "every block intact under overload" [ $rc -eq 0 ]
result "the pool ran full (failed_maps grew)" [ "$(counter failed_maps)" -gt "$fails0" ]
result "the full pool was reported in the log" log_has "failed in $(first good 1): bounce buffer pool is full"
# What an operator without debugfs sees of it (the region is idle now).
as_in_debugfs() {
	for f in "$@"; do
		[ "$(cat "$SYS/$(first good 1)/$f" 2>/dev/null)" = "$(counter "$f")" ] || return 1
	done
}
(cd "$SYS/$(first good 1)" && grep . io_tlb_nslabs io_tlb_used io_tlb_used_hiwater failed_maps) |
	sed 's/^/# /'
result "sysfs shows it too: failed_maps and the high-water mark as in debugfs" \
	as_in_debugfs failed_maps io_tlb_used_hiwater
result "the device works once the load drops" ./odirect roundtrip "$dev" 1048576 512 0 42
# The host looks at the queues after maps failed for want of room
# (check.sh): a map that fell back around the pool would show there.
ask_host virtqueues
sleep 3
result "no warning in the kernel log" log_clean
ktap_finished
