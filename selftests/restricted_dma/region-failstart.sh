#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Built in, a start that fails must not leave the devices behind a region to
# probe on dma-direct. The guest boots with "restricted_dma.test_fail_start",
# which makes the start fail as an allocation failure would: the module then
# refuses every device behind a region from its bind, with listeners that
# need no allocation, and keeps the virtio rule: a virtio device behind a
# region that did not negotiate VIRTIO_F_ACCESS_PLATFORM would bypass the
# DMA API, and with it the refusing ops. A device that names another memory
# pool beside the region is still held behind the wall from when it is
# added: refusing ops would not stop the coherent allocations that pool
# serves (dev->dma_mem). A device made below a refused one, with no node, is
# refused too. A device with no region works as usual.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 12
if ! is_builtin; then
	for c in "reported" "refused" "no block device" "virtio rule" "no block device" "walled" "not probed" "not bound" "deferred" "child refused" "child served nothing" "others work"; do
		ktap_test_skip "a failed start at boot ($c): the switch is a built-in module's"
	done
	ktap_finished
	exit
fi
R=$(first good 1)
blk_t=$(expect device | awk -v r="$R" '$1 == "blk" && $3 == r && $4 == "on" { print $2; exit }')
legacy_t=$(expect device | awk -v r="$R" '$1 == "blk" && $3 == r && $4 == "off" { print $2; exit }')
free_t=$(expect device | awk '$1 == "blk" && $3 == "-" { print $2; exit }')
result "the failed start is reported" \
	log_has "restricted_dma: could not start (-ENOMEM): every device behind a restricted region is refused"
result "$blk_t behind $R is refused, with the reason" \
	log_has "$blk_t: restricted_dma did not start ($R); all its DMA will be refused"
result "...and has no block device" no_blk "$blk_t"
result "$legacy_t behind $R, without ACCESS_PLATFORM, is refused by the virtio rule" \
	log_has "on $legacy_t: refused: did not negotiate VIRTIO_F_ACCESS_PLATFORM, and its restricted region is unusable"
result "...and has no block device" no_blk "$legacy_t"
load_test
wall_cases "$R"
# A device a driver makes below a refused device, with no node of its own
# (an MFD cell, a PCI glue's platform child): refused too, as after a good
# start. Its parent's driver does no DMA, so it binds with the refusing ops.
c=$(expect testnode | awk -v r="$R" '$2 == r && $3 == "-" { print $1; exit }')
echo nodma > "$TDBG/probe"
tcmd add "$c"
echo ok > "$TDBG/probe"
mark_log
tcmd child "$c"
ktap_print_msg "$(tresult)"
result "rdma_test_child.$c, made below refused rdma_test.$c with no node, is refused, and the log says why" \
	log_since_mark_has "rdma_test_child.$c: made below rdma_test.$c, whose DMA is restricted, and names no region of its own"
result "...its coherent allocation was refused, none served outside the region" \
	eval 'log_since_mark_has "rdma_test_child.$c: child: coherent refused" &&
		not log_since_mark_has "rdma_test_child.$c: child: coherent at"'
tcmd del "$c"
free_works() {
	d=$(wait_blk "$free_t") && ./odirect roundtrip "$d" 65536 0 0 5
}
result "$free_t, with no region, works as usual" free_works
# The host looks: QEMU must find no queue of a device behind $R set up, and
# the free blk's outside every region (check.sh).
ask_host virtqueues
sleep 3
ktap_finished
