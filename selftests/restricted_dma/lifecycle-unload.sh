#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unload under load: four processes keep O_DIRECT I/O going on the block
# device behind the region while the module is removed. The removal unbinds
# the device; its pending I/O completes or fails with an error, never with
# wrong data; no mapping is left behind, nothing warns; reload brings the
# device back working.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 6
if skip_if_builtin 6 "unload under load"; then
	ktap_finished
	exit
fi
load
t=$(transport_of blk)
dev=$(wait_blk "$t") || ktap_exit_fail_msg "no block device behind $t"
mark_log
./odirect stress "$dev" 8 4 8388608 > /tmp/busy.log 2>&1 &
pid=$!
sleep 2
rmmod restricted_dma
rc=$?
wait $pid
io=$?
sed 's/^/# /' /tmp/busy.log
result "rmmod succeeds while I/O is running" [ $rc -eq 0 ]
# 0: the load finished first; 2: an I/O failed once the disk went. 1 would
# be data that came back wrong.
result "the running I/O ran, and completed or failed cleanly, no wrong data (exit $io)" clean_under_load $io /tmp/busy.log
result "the device was left unbound" [ ! -e "/sys/bus/platform/devices/$t/driver" ]
result "no mapping was left behind" sh -c '! dmesg | grep -q "still in use at unload"'
result "no warning in the kernel log" log_clean
load
dev=$(wait_blk "$t")
result "after reload the device works again" ./odirect roundtrip "$dev" 1048576 0 0 5
ktap_finished
