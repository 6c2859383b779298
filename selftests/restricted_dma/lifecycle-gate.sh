#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The gate that fences restricted devices while the loadable module is out
# (sys/gate.rs) must be the module's own: a DT node can make a platform
# device of any name. This guest's DT has a node /restricted_dma_gate, bound
# here to another driver (dma_map_benchmark) before the module first loads,
# as a host-named decoy would be. The module must make its own gate
# (restricted_dma_gate.N.auto, no OF node), fence through it, and leave the
# decoy alone: after rmmod, a restricted blk cannot be bound by hand.
. ./ktap_helpers.sh
. ./lib.sh

ktap_print_header
ktap_set_plan 4
if skip_if_builtin 4 "the gate of a loadable module"; then
	ktap_finished
	exit
fi
blk_t=$(transport_of blk)
decoy=/sys/bus/platform/devices/restricted_dma_gate
echo dma_map_benchmark > "$decoy/driver_override"
echo restricted_dma_gate > /sys/bus/platform/drivers/dma_map_benchmark/bind
result "the DT's decoy restricted_dma_gate is bound to dma_map_benchmark" \
	test "$(basename "$(readlink "$decoy/driver")")" = dma_map_benchmark
load
own() {
	for g in /sys/bus/platform/devices/restricted_dma_gate.*.auto; do
		[ "$(basename "$(readlink "$g/driver")")" = restricted_dma_gate ] &&
			! [ -e "$g/of_node" ] && return 0
	done
	return 1
}
result "the module's gate is its own device, bound to its driver, with no OF node" own
wait_blk "$blk_t" > /dev/null
rmmod restricted_dma
fenced() {
	echo "$blk_t" > /sys/bus/platform/drivers/virtio-mmio/bind 2> /dev/null
	! [ -e "/sys/bus/platform/devices/$blk_t/driver" ]
}
result "while unloaded, $blk_t cannot be bound by hand" fenced
load
result "...and it binds through the module when it loads again" wait_blk "$blk_t"
echo restricted_dma_gate > /sys/bus/platform/drivers/dma_map_benchmark/unbind
echo > "$decoy/driver_override"
ktap_finished
