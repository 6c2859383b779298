#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A driver that leaks a mapping and is then deleted: the device keeps the
# ops that take the mapping back, for as long as the mapping lives, and the
# loadable module cannot be unloaded meanwhile (a module reference held for
# the device: rmmod answers EAGAIN). The region keeps working for the other
# devices, and no page of it reaches the page allocator. Run last: the
# module stays in for the rest of the boot.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 7
R=$(first good 1)
base=$(first good 2)
size=$(first good 3)
blk_t=$(transport_of blk)
load
load_test
echo ok > "$TDBG/probe"
tcmd add 0
tcheck "rdma_test.0 maps a page and never unmaps it" leak 0
tcmd del 0
result "deleted with its leaked mapping: the log names the device and what it holds" \
	log_has "rdma_test.0: device deleted while holding 1 block(s) of $R"
result "...and the region's holders list it" grep -qx "rdma_test.0 1" "$DBG/$R/holders"
if ! skip_if_builtin 1 "unload refused while a deleted device holds a mapping"; then
	result "unload is refused for as long as the mapping lives" \
		sh -c "! rmmod restricted_dma 2>/dev/null && grep -q '^restricted_dma ' /proc/modules"
fi
blk_works() {
	d=$(wait_blk "$blk_t") && ./odirect roundtrip "$d" 65536 0 0 3 && serves "$R" "$blk_t"
}
result "the region keeps serving $blk_t" blk_works
result "no page of the region reached the page allocator" tcmd reserved "$base" "$size"
result "no warning in the kernel log" log_clean
ktap_finished
