#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A driver that leaks a mapping: unload keeps the region reserved and mapped
# (a device may still write to it), marks its node, and every later load
# refuses the region, saying why, until the guest reboots. The devices behind
# it are refused rather than run around it. Run last: it spoils the region.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 7
if skip_if_builtin 7 "a mapping leaked across unload"; then
	ktap_finished
	exit
fi
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
mark_log
unload
result "unload keeps the region, saying why" \
	log_has "slot(s) still in use at unload: region kept reserved and mapped"
load
result "reload refuses the region, saying why" \
	sh -c "dmesg | tail -n +$((LOG_MARK + 1)) | grep -F '$R: rejected: ' | grep -qF 'still in use'"
result "...publishes nothing of it" not test -e "$DBG/$R"
result "...and refuses the device behind it" \
	sh -c "dmesg | tail -n +$((LOG_MARK + 1)) | grep -qF '$blk_t: names a restricted region that was not claimed'"
load_test
result "no page of the region reached the page allocator" tcmd reserved "$base" "$size"
result "no warning in the kernel log" log_clean
ktap_finished
