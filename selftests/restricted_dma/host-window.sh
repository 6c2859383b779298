#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The host's view, from the guest: two vhost-user-blk devices whose backend
# is a process on the host (window-backend). The first sits behind a region:
# its backend maps only that window of guest memory, so every ring, request
# and buffer of it must lie there or it could not be served at all. The
# second names no region, as a control: its backend maps all of guest memory
# and counts what falls outside the window (check.sh's host view holds the
# first to zero accesses outside and the second to many).
# Round trips from 512 B to 1 MiB, on and off page boundaries, several
# processes at once; the module unloaded while the device is busy and
# loaded again, then more I/O. Every I/O is bounded in time: one that the
# backend cannot serve would otherwise wait for ever.
. ./ktap_helpers.sh
. ./lib.sh

SIZES="512 4096 65536 262144 1048576"
ktap_print_header
ktap_set_plan 21

# io ARGS...: odirect, bounded in time (exit 124 or 143 when it was not served).
io() {
	timeout 120 ./odirect "$@"
}

vu_t=$(expect device | awk '$1 == "vublk" && $3 != "-" { print $2; exit }')
ctl_t=$(expect device | awk '$1 == "vublk" && $3 == "-" { print $2; exit }')
R=$(first good 1)
load
bind_held "$vu_t"
dev=$(wait_blk "$vu_t")
ctl=$(wait_blk "$ctl_t")
ktap_print_msg "vhost-user-blk behind $R: $vu_t ($dev); control, no region: $ctl_t ($ctl)"

# Feature bit N of the virtio device on transport T: feature T N.
feature() {
	for v in /sys/bus/platform/devices/$1/virtio*; do
		[ -e "$v/features" ] && cut -c$(($2 + 1)) "$v/features"
	done
}
queues=$(ls "/sys/block/${dev#/dev/}/mq" 2>/dev/null | wc -l)
ktap_print_msg "$dev: ACCESS_PLATFORM $(feature "$vu_t" 33), indirect $(feature "$vu_t" 28), EVENT_IDX $(feature "$vu_t" 29), $queues queue(s)"
result "the vhost-user-blk behind $R has a block device, negotiated ACCESS_PLATFORM, indirect descriptors and EVENT_IDX, and runs 2 queues" \
	[ -n "$dev" -a "$(feature "$vu_t" 33)$(feature "$vu_t" 28)$(feature "$vu_t" 29)" = 111 -a "$queues" -eq 2 ]
result "...and its DMA goes through $R (debugfs devices)" serves "$R" "$vu_t"

maps0=$(counter maps "$R") to0=$(counter bytes_to_device "$R")
off=0 seed=1
for size in $SIZES; do
	for mis in 0 512; do
		result "O_DIRECT round trip of $size bytes, buffer at +$mis in its page" \
			io roundtrip "$dev" "$size" "$mis" "$off" "$seed"
		off=$((off + 1048576)) seed=$((seed + 1))
	done
done
io stress "$dev" 4 4 8388608 > /tmp/stress.log 2>&1
rc=$?
sed 's/^/# /' /tmp/stress.log
result "4 processes of random O_DIRECT I/O for 4 s, every block intact" [ $rc -eq 0 ]
ktap_print_msg "$R: $(( $(counter maps "$R") - maps0 )) maps, $(( $(counter bytes_to_device "$R") - to0 )) bytes to the device"
result "$R bounced at least the data written (2 x 1.3 MiB)" \
	[ $(( $(counter bytes_to_device "$R") - to0 )) -ge 2800000 ]

# --- the control device: no region, served from anywhere in guest memory ---
m0=$(counter maps "$R")
result "the control vhost-user-blk (no region) works: 1 MiB round trip intact" \
	io roundtrip "$ctl" 1048576 0 0 21
result "...through no pool" [ "$(counter maps "$R")" -eq "$m0" ]
io stress "$ctl" 2 2 8388608 > /tmp/ctl.log 2>&1
rc=$?
sed 's/^/# /' /tmp/ctl.log
result "control: 2 processes of random O_DIRECT I/O for 2 s, every block intact" [ $rc -eq 0 ]

# --- unload while the window device is busy, reload, more I/O ---
if skip_if_builtin 4 "unload while the vhost-user-blk is busy"; then
	ktap_finished
	exit
fi
mark_log
io stress "$dev" 6 4 8388608 > /tmp/busy.log 2>&1 &
pid=$!
sleep 2
rmmod restricted_dma
rc=$?
wait $pid
busy=$?
sed 's/^/# /' /tmp/busy.log
result "rmmod succeeds while the vhost-user-blk is busy" [ $rc -eq 0 ]
# 0: done before the device went; 2: an I/O failed once it went. Never 1
# (wrong data), nor a timeout.
result "its I/O ran, and completed or failed cleanly (exit $busy)" clean_under_load $busy /tmp/busy.log
load
bind_held "$vu_t"
dev=$(wait_blk "$vu_t")
back() {
	serves "$R" "$vu_t" && io roundtrip "$dev" 1048576 512 0 31
}
result "after reload it is restricted again and a 1 MiB round trip is intact" back
io stress "$dev" 3 4 8388608 > /tmp/after.log 2>&1
rc=$?
sed 's/^/# /' /tmp/after.log
result "after reload: 4 processes of random O_DIRECT I/O for 3 s, every block intact" [ $rc -eq 0 ]
ktap_finished
