#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The DMA API's contract, kept through the pool (driven by rdma_test.ko):
# coherent blocks aligned to their order, dma_alloc_pages() and
# dma_alloc_noncontiguous() with their syncs, masks and bus limits honoured,
# misuse refused and counted, only memory in the linear map bounced, no bytes
# of one mapping shown to the next, and syncs that work even when dma-direct
# had let the device skip them. And dma_pool, whose blocks lie in the window
# (kernel-patches/0006 keeps its free list out of them).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 18
R=$(first good 1)
base=$(first good 2)
size=$(first good 3)
load
wait_blk "$(transport_of blk)" > /dev/null
load_test
base_used=$(counter io_tlb_used "$R")
echo ok > "$TDBG/probe"
tcmd add 0
tcmd window 0 "$base" "$size"
probed=$(counter io_tlb_used "$R")

tcheck "coherent blocks of 1 to 64 pages: in the region, aligned to their order, zeroed" coherent 0
syncs=$(counter bad_syncs "$R")
tcheck "dma_alloc_pages() and dma_alloc_noncontiguous(): in the region, synced, freed" pages 0
result "...their syncs are not counted as bad" [ "$(counter bad_syncs "$R")" -eq "$syncs" ]
tcheck "dma_pool blocks: in the region; a free one shows the host no kernel address; its rewrite and a double free change nothing" dmapool 0
tcheck "maps and allocations honour dma_mask, coherent_dma_mask and bus_dma_limit; dma_set_mask checks the region" masks 0
unmaps=$(counter bad_unmaps "$R") syncs=$(counter bad_syncs "$R")
# On a debug kernel the DMA-API checker reports each misuse too: logcheck.sh
# expects exactly these.
errors=$(dma_api_errors)
tcheck "misuse (wrong size, wrong direction, not the start, double unmap, sync past the end) is refused" misuse 0
echo $(( $(dma_api_errors) - errors )) >> /tmp/rdma-expected-dma-api-errors
result "...and counted: 4 bad unmaps, 2 bad syncs" \
	[ $(( $(counter bad_unmaps "$R") - unmaps )) -eq 4 -a $(( $(counter bad_syncs "$R") - syncs )) -eq 2 ]
result "...and nothing of it stays in the pool" [ "$(counter io_tlb_used "$R")" -eq "$probed" ]
# Two devices of one region: the first one's stale unmap of an address the
# second one's mapping has now (the area's cache hands a freed page to the
# next map at once) must not free that mapping.
tcmd add 2
unmaps=$(counter bad_unmaps "$R")
errors=$(dma_api_errors)
syncs=$(counter bad_syncs "$R")
tcheck "a stale unmap and sync of an address another device's mapping has now are refused" stale 0 2
echo $(( $(dma_api_errors) - errors )) >> /tmp/rdma-expected-dma-api-errors
result "...and counted: 1 bad unmap, 1 bad sync" \
	[ $(( $(counter bad_unmaps "$R") - unmaps )) -eq 1 -a $(( $(counter bad_syncs "$R") - syncs )) -eq 1 ]
tcmd del 2
tcheck "a map of no page (6.12's virtio_net passes one for AF_XDP zero-copy) fails, no oops" nopage 0
# A page of the no-map shared-dma-pool beside the region (lifecycle-wall.sh's).
nomap=$(expect testnode | awk '$3 != "-" { print $3 }' | head -n 1)
tcheck "only memory in the linear map is bounced: the page's flags, memblock where they cannot tell" \
	linear 0 "${nomap#*@}"
mark_log
tcheck "a bounce buffer never shows a previous mapping's bytes, even after the pool filled up" fresh 0
result "...and its maps with DMA_ATTR_NO_WARN failed without a word when it was full" \
	not log_since_mark_has "failed in $R"

# A device that dma-direct had let skip syncs (dma_skip_sync) gets them back
# with the pool's ops, even if its driver never calls dma_set_mask().
echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/unbind
tcmd taint 0
echo nomask > "$TDBG/probe"
echo rdma_test.0 > /sys/bus/platform/drivers/rdma_test/bind
echo ok > "$TDBG/probe"
tcheck "a device bound with a stale dma_skip_sync still has its syncs copied" sync 0

tcmd del 0
result "the pool is back at its baseline" [ "$(counter io_tlb_used "$R")" -eq "$base_used" ]
result "no page of the region reached the page allocator" tcmd reserved "$base" "$size"
result "no warning in the kernel log" log_clean
ktap_finished
