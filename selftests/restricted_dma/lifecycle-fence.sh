#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# While the loadable module is out, no device that names a region binds,
# whatever started its probe (sys/gate.rs): the driver core checks a device's
# suppliers under its lock at the start of every probe, and each such device
# is a consumer of restricted_dma_gate, which has no driver then.
#
# - A bind by hand with nothing else in its way: its driver_override cleared,
#   as for a bind_store() or driver_attach() that matched before any fence
#   went up (they never match again, and platform_probe() does not look).
# - A driver that registers while the module is out and probes
#   asynchronously (rdma_test's "rdma_test_async").
# - Rounds of that registration and of binds by hand racing rmmod: no
#   restricted device is bound at the end of any round.
. ./ktap_helpers.sh
. ./lib.sh

ROUNDS=10
ktap_print_header
ktap_set_plan 8
if skip_if_builtin 8 "the fence while unloaded"; then
	# Built in, the blk has run since boot: the host looks at it here.
	ask_host virtqueues
	sleep 3
	ktap_finished
	exit
fi
R=$(first good 1)
blk_t=$(transport_of blk)
load
load_test
echo ok > "$TDBG/probe"
tcmd unregister
tcmd del 0
tcmd async 0
mark_log

# Whether platform device $1 is a consumer of restricted_dma_gate, and the
# link says the gate is not there (dormant: it has no driver).
gated() {
	# (The gate is named restricted_dma_gate.N.auto: a name no DT node
	# takes from it.)
	s=$(cat /sys/class/devlink/platform:restricted_dma_gate.*--platform:"$1"/status 2>/dev/null | head -n 1)
	[ -n "$s" ] || ktap_print_msg "links: $(ls /sys/class/devlink | grep -e "$1" -e gate | tr '\n' ' ')"
	ktap_print_msg "$1's link to restricted_dma_gate: ${s:-none}"
	[ "$s" = dormant ]
}
hand_bind() {
	echo > "/sys/bus/platform/devices/$1/driver_override"
	echo "$1" > "/sys/bus/platform/drivers/$2/bind" 2>/dev/null
}

# A device added after load whose node says it is a PCI host bridge's
# (device_type = "pci", which the host can write on any node): refused
# while loaded, it names no region that restricts it as a device, so only
# unload can fence it, as it unbinds it.
h=$(expect testnode | awk '$5 == "pcitype" { print $1; exit }')
tcmd add "$h"

wait_blk "$blk_t" > /dev/null
unload
hand_bind "$blk_t" virtio-mmio
result "while unloaded, $blk_t does not bind by hand, even with no driver_override" \
	not is_bound "$blk_t"
result "...it is a consumer of restricted_dma_gate, which has no driver" gated "$blk_t"
hand_bind "rdma_test.$h" rdma_test
result "rdma_test.$h, added after load, its node a PCI host bridge's: it does not bind by hand either" \
	eval '[ -e "/sys/bus/platform/devices/rdma_test.$h" ] && not is_bound "rdma_test.$h"'
result "...it is a consumer of restricted_dma_gate" gated "rdma_test.$h"

# rdma_test.0 was made while the module was loaded, for rdma_test_async,
# which was not registered: it is unbound, and keeps its driver_override.
tcmd register
sleep 1
result "a driver registered while unloaded does not bind rdma_test.0, probing asynchronously" \
	not is_bound rdma_test.0
tcmd unregister

clean=1
round=0
while [ $round -lt $ROUNDS ]; do
	load || { clean=0; ktap_print_msg "round $round: insmod failed"; break; }
	wait_for is_bound "$blk_t" || ktap_print_msg "round $round: $blk_t not bound after load"
	tcmd register &
	reg=$!
	(
		n=0
		while [ $n -lt 50 ]; do
			hand_bind "$blk_t" virtio-mmio
			n=$((n + 1))
		done
	) &
	binder=$!
	rmmod restricted_dma || { clean=0; ktap_print_msg "round $round: rmmod failed"; }
	wait $reg $binder
	# Give an asynchronous probe that escaped the time to finish.
	sleep 0.5
	for d in "$blk_t" rdma_test.0; do
		is_bound "$d" && { clean=0; ktap_print_msg "round $round: $d is bound while unloaded"; }
	done
	tcmd unregister
	round=$((round + 1))
done
result "$ROUNDS rounds of an async driver registering and binds by hand racing rmmod: nothing restricted bound after any" \
	[ $clean = 1 ]

load
tcmd register
back() {
	d=$(wait_blk "$blk_t") && ./odirect roundtrip "$d" 65536 0 0 7 &&
		serves "$R" "$blk_t" && wait_for serves "$R" rdma_test.0
}
result "reload brings $blk_t and rdma_test.0 back, through the pool" back
# The host looks where the blk's rings and buffers are now (check.sh).
ask_host virtqueues
sleep 3
tcmd unregister
tcmd del 0
tcmd del "$h"
result "no warning in the kernel log" log_clean
ktap_finished
