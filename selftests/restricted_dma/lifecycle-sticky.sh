#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A driver that must never be unbound (suppress_bind_attrs, as many built-in
# drivers are) must never be unbound by restricted_dma either. Its device,
# bound through the pool, keeps the loadable module in (rmmod refused, the
# log says why) instead of being unbound at unload; once the device is
# deleted, the module may go; and so it may once such a driver's probe
# failed (nothing is bound to keep it in for). rdma_test's "sticky" command
# makes such a device, for its driver rdma_test_sticky.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 11
R=$(first good 1)
load
load_test
echo ok > "$TDBG/probe"
tcmd del 0
tcmd sticky 0
sticky_restricted() {
	[ "$(basename "$(readlink /sys/bus/platform/devices/rdma_test.0/driver 2>/dev/null)")" = rdma_test_sticky ] &&
		serves "$R" rdma_test.0
}
result "rdma_test.0, bound to a driver that cannot be unbound, is restricted" sticky_restricted
if ! skip_if_builtin 5 "unload with a device whose driver cannot be unbound"; then
	result "...the log says the module stays while it is bound" \
		log_has "rdma_test.0: its driver cannot be unbound (suppress_bind_attrs): restricted_dma cannot unload while it is bound"

	result "unload is refused, and the device stays bound to its driver" \
		sh -c "! rmmod restricted_dma 2>/dev/null && grep -q '^restricted_dma ' /proc/modules && [ -e /sys/bus/platform/devices/rdma_test.0/driver ]"
	tcmd del 0
	result "once the device is deleted, unload works" unload
	load
	# The same driver, whose probe fails: the pin taken at the bind goes.
	echo enodev > "$TDBG/probe"
	tcmd sticky 0
	echo ok > "$TDBG/probe"
	result "a driver that cannot be unbound failed its probe: not bound" \
		not test -e /sys/bus/platform/devices/rdma_test.0/driver
	result "...and unload works, the device still there" unload
	load
	tcmd del 0
else
	tcmd del 0
fi
# Bound before load to such a driver, with a node that would have the
# load unbind it: one that says it is a PCI host bridge, one that names
# another memory pool beside its region (each added while the module was
# out, so neither is fenced nor walled). Load must leave both alone.
if ! skip_if_builtin 4 "load with devices bound to a driver that cannot be unbound"; then
	h=$(expect testnode | awk '$5 == "pcitype" { print $1; exit }')
	w=$(wall_pools | head -n 1)
	unload
	tcmd sticky "$h"
	tcmd sticky "$w"
	load
	result "rdma_test.$h, a host bridge by its node, bound before load to a driver that cannot be unbound: still bound" \
		test -e "/sys/bus/platform/devices/rdma_test.$h/driver"
	result "...and the log says it is left alone, not restricted" \
		log_has "rdma_test.$h: was bound before the module loaded to a driver that cannot be unbound (suppress_bind_attrs), and its node says it is a PCI host bridge, which it is not: left alone, NOT restricted"
	result "rdma_test.$w, naming another pool, bound before load to such a driver: still bound" \
		test -e "/sys/bus/platform/devices/rdma_test.$w/driver"
	result "...and the log says it is left alone, not restricted" \
		log_has "rdma_test.$w: was bound before the module loaded to a driver that cannot be unbound (suppress_bind_attrs), and it names a memory pool that another handler serves: left alone, NOT restricted"
	tcmd del "$h"
	tcmd del "$w"
fi
result "no warning in the kernel log" log_clean
ktap_finished
