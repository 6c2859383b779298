#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Another module may stand in front of restricted_dma's virtio memory-access
# callback (virtio_check_mem_acc_cb is one pointer for the whole system),
# calling ours for the devices it does not claim. A restricted device bound
# then is named in the log, since it is held to VIRTIO_F_ACCESS_PLATFORM only
# through the other callback. Unload must not free our callback while the
# other one may still call it: it waits until ours is put back, still
# fencing the devices added meanwhile. rdma_test's hook and unhook commands
# play the other module.
#
# Likewise a driver may copy a restricted device's DMA ops pointer to a
# child device (remoteproc_virtio.c does): unload waits until that child is
# gone, naming it. rdma_test's copy and uncopy commands play that driver.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 10
R=$(first good 1)
blk_t=$(transport_of blk)
load
wait_blk "$blk_t" > /dev/null
load_test
blk_works() {
	d=$(wait_blk "$blk_t") && ./odirect roundtrip "$d" 65536 0 0 3 && serves "$R" "$blk_t"
}
tcmd hook
ktap_print_msg "$(tresult)"
mark_log
echo "$blk_t" > /sys/bus/platform/drivers/virtio-mmio/unbind
echo "$blk_t" > /sys/bus/platform/drivers/virtio-mmio/bind
result "$blk_t, bound behind another module's callback, is named in the log" \
	log_since_mark_has "$blk_t: virtio_check_mem_acc_cb is not restricted_dma's"
result "...and works through its pool (that callback calls ours)" blk_works
if ! skip_if_builtin 4 "unload while another module's callback calls ours"; then
	mark_log
	rmmod restricted_dma 2> /dev/null &
	rmmod_pid=$!
	waiting() {
		log_since_mark_has "virtio_check_mem_acc_cb is not restricted_dma's any more"
	}
	result "unload waits while the callback in front may call ours" wait_for waiting
	result "...and does not finish meanwhile" kill -0 "$rmmod_pid"
	# The bus listeners are still up during that wait (before, they went
	# first, and a device added meanwhile bound on dma-direct).
	tcmd del 0
	tcmd add 0
	result "...and a device added meanwhile is fenced: it does not bind" not is_bound rdma_test.0
	tcmd unhook
	wait "$rmmod_pid"
	result "...once ours is put back, unload finishes" not is_loaded
	load

	tcmd del 0
	tcmd add 0
	tcmd copy 0
	ktap_print_msg "$(tresult)"
	mark_log
	rmmod restricted_dma 2> /dev/null &
	rmmod_pid=$!
	copy_waiting() {
		log_since_mark_has "rdma_test_copy.0: has restricted_dma's DMA ops, copied below rdma_test.0"
	}
	result "unload waits while rdma_test_copy.0 has our ops, copied from rdma_test.0, and names it" \
		wait_for copy_waiting
	result "...and does not finish meanwhile" kill -0 "$rmmod_pid"
	tcmd uncopy 0
	wait "$rmmod_pid"
	result "...once the copy is gone, unload finishes" not is_loaded
	tcmd del 0
	load
else
	tcmd unhook
	ktap_test_skip "unload with a copy of our ops: restricted_dma is built in and never unloads"
	ktap_test_skip "unload with a copy of our ops: restricted_dma is built in and never unloads"
	ktap_test_skip "unload with a copy of our ops: restricted_dma is built in and never unloads"
fi
result "no warning in the kernel log" log_clean
ktap_finished
