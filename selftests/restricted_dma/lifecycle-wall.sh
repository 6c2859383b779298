#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A device that names another memory pool beside its restricted region (a
# shared-dma-pool after it in memory-region, or a region node that also
# says shared-dma-pool, which that pool's handler took) never probes: a driver that
# takes that pool (of_reserved_mem_device_init_by_idx()) would have its
# coherent allocations served from it, dev->dma_mem, before any DMA ops are
# asked, outside the window. restricted_dma holds such a device behind the
# wall, a supplier no driver binds, from when the device is added (and
# those there at load). rdma_test's "pool" probe does what such a driver
# does. A device a driver makes below its restricted one, with no DT node
# and no ops given (dwc2's PCI glue, an MFD cell), is refused at its bind:
# on dma-direct its DMA would be outside the window. So it is fenced at
# unload: a bind while the module is out defers (before, it bound on
# dma-direct, its coherent block outside the window).
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan $((5 + 4 * $(wall_pools | wc -l)))
R=$(first good 1)
load
load_test
wall_cases "$R"

p=$(expect testnode | awk -v r="$R" '$2 == r && $3 == "-" && $5 == "-" { print $1 }' | tail -n 1)
tcmd del "$p"
tcmd add "$p"
mark_log
tcmd child "$p"
ktap_print_msg "$(tresult)"
result "rdma_test_child.$p, made below rdma-test-$p with no node, is refused, and the log says why" \
	log_since_mark_has "rdma_test_child.$p: made below rdma_test.$p, whose DMA is restricted, and names no region of its own"
result "...its coherent allocation was refused" log_since_mark_has "rdma_test_child.$p: child: coherent refused"
result "...none was made outside the region" not log_since_mark_has "rdma_test_child.$p: child: coherent at"
if ! skip_if_builtin 2 "a bind of the refused child while the module is out"; then
	unload
	mark_log
	echo "rdma_test_child.$p" > /sys/bus/platform/drivers/rdma_test_child/bind 2>/dev/null
	result "with restricted_dma out, rdma_test_child.$p cannot be bound: it is fenced" \
		not is_bound "rdma_test_child.$p"
	result "...and no coherent allocation was made outside the region" \
		not log_since_mark_has "rdma_test_child.$p: child: coherent at"
	load
fi
tcmd del "$p"
ktap_finished
