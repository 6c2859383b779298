#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A restricted device keeps its pool from the first DMA call of its driver
# to the last, on every path the driver core takes: a probe that fails or
# defers after devm allocations, remove() freeing with dmam_*, a device
# deleted while bound, an unbind by hand before unload. After each, the pool
# is back at its baseline and not one page of the region has reached the page
# allocator. The driver is rdma_test.ko (rdma_test/rdma_test.c).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 18
R=$(first good 1)
base=$(first good 2)
size=$(first good 3)
blk_t=$(transport_of blk)
load
wait_blk "$blk_t" > /dev/null
load_test
base_used=$(counter io_tlb_used "$R")
ktap_print_msg "$R at $base+$size; io_tlb_used $base_used with $blk_t's rings"

pool_idle() {
	pool_at "$R" "$base_used"
}
reserved() {
	region_reserved "$base" "$size"
}
unbound_and_idle() {
	not is_bound "$1" && pool_idle
}
bound_and_served() {
	is_bound "$1" && serves "$R" "$1"
}
# The DMA address rdma_test.N's last probe got, from its log line.
probe_addr() {
	dmesg | sed -n "s/.*rdma_test rdma_test.$1: probe ([a-z]*): 16 KiB coherent at 0x\([0-9a-f]*\).*/\1/p" | tail -n 1
}
in_region() {
	[ -n "$1" ] && [ $((0x$1)) -ge $((base)) ] && [ $((0x$1)) -lt $((base + size)) ]
}

# --- a probe that fails after dmam_alloc_coherent() ---
echo enodev > "$TDBG/probe"
tcmd add 0
ktap_print_msg "the failed probe's block: 0x$(probe_addr 0)"
result "probe failing with -ENODEV: its devres block went back to the pool" unbound_and_idle rdma_test.0
result "...and no page of the region reached the page allocator" reserved
tcmd del 0

echo defer > "$TDBG/probe"
tcmd add 0
result "probe deferring: its devres block went back to the pool" unbound_and_idle rdma_test.0
result "...and no page of the region reached the page allocator" reserved
# A successful probe elsewhere retries the deferred one, which now succeeds.
echo ok > "$TDBG/probe"
tcmd add 2
result "the deferred probe succeeds on retry, through the pool" wait_for bound_and_served rdma_test.0
result "...its block lies in the region" in_region "$(probe_addr 0)"

# --- remove() freeing with dmam_free_coherent() and devres ---
echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/unbind
result "unbound by hand: the pool lists it no more" not serves "$R" rdma_test.0

# --- a device deleted while bound ---
result "rdma_test.2 is bound and served" bound_and_served rdma_test.2
tcmd del 2
result "rdma_test.2 deleted while bound: remove() ran" log_has "rdma_test rdma_test.2: removed"
result "...remove() and devres freed into the pool: it is back at its baseline" pool_idle
result "...and no page of the region reached the page allocator" reserved
result "...and the pool lists it no more" not serves "$R" rdma_test.2

# --- memory-region = <0 &region>: an empty phandle first ---
tcmd add 1
result "memory-region = <0 &region>: rdma_test.1 is restricted" bound_and_served rdma_test.1
result "...its block lies in the region" in_region "$(probe_addr 1)"
tcmd del 1
tcmd del 0

# --- unbound by hand before unload, bound by hand while unloaded ---
if ! skip_if_builtin 2 "the fence while unloaded"; then
	echo "$blk_t" > /sys/bus/platform/drivers/virtio-mmio/unbind
	unload
	echo "$blk_t" > /sys/bus/platform/drivers/virtio-mmio/bind 2>/dev/null
	result "$blk_t, unbound by hand before unload, cannot be bound by hand while unloaded" \
		not is_bound "$blk_t"
	load
	blk_works() {
		d=$(wait_blk "$blk_t") && ./odirect roundtrip "$d" 65536 0 0 3 && serves "$R" "$blk_t"
	}
	result "reload lifts the fence and $blk_t works again, through the pool" blk_works
fi
settled() {
	wait_for pool_idle && reserved
}
result "the pool is back at its baseline, and no page of the region left it" settled
result "no warning in the kernel log" log_clean
ktap_finished
