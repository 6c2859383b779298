#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Built in, restricted_dma restricts every device behind a region from its
# first probe: the region was claimed at early boot and the bus notifiers
# registered at arch_initcall, before drivers register. So nothing is re-probed,
# and each restricted virtio-blk had its pool before its driver first ran.
# (A loadable module restricts devices only from its load, re-probing those
# bound before: there these cases are skipped.)
. ./ktap_helpers.sh
. ./lib.sh

# The restricted virtio-blks that work: "TRANSPORT BUS REGION" lines.
{
	expect device | awk '$1 == "blk" && $3 != "-" && $4 == "on" && $5 == "coherent" { print $2, "platform", $3 }'
	expect pcidevice | awk '$1 == "blk" && $3 != "-" && $4 == "on" { print $2, "pci", $3 }'
} > /tmp/firstprobe
n=$(grep -c . /tmp/firstprobe)
# In every flavour: the host asks QEMU where each device's queues are, and
# check.sh holds them to the regions (the devices' own view of where their
# rings are, not ours).
for t in $(awk '{ print $1 }' /tmp/firstprobe); do wait_blk "$t" > /dev/null; done
ask_host virtqueues
sleep 3
ktap_print_header
ktap_set_plan $((1 + 2 * n))
if ! is_builtin; then
	i=0
	while [ $i -lt $((1 + 2 * n)) ]; do
		ktap_test_skip "restricted from the first probe: restricted_dma is a loadable module here, which restricts devices from its load"
		i=$((i + 1))
	done
	ktap_finished
	exit
fi
# Built in, the module started at boot: the whole log counts.
mark_log_before_load

result "nothing was re-probed" not log_since_mark_has 're-probing it'
while read -r t bus r; do
	wait_blk "$t" > /dev/null
	v=$(basename "$(ls -d /sys/bus/$bus/devices/$t/virtio* | head -n 1)")
	ours=$(first_since_mark "restricted_dma: $t: DMA restricted to $r")
	probe=$(first_since_mark "virtio_blk $v: [")
	ktap_print_msg "$t ($v): ops at log line ${ours:-none}, virtio_blk's first word at ${probe:-none}"
	result "$t had the pool of $r before virtio_blk first probed it" comes_before "$ours" "$probe"
	result "...its first probe allocated its rings from $r" [ "$(counter allocs "$r")" -ge 1 ]
done < /tmp/firstprobe
ktap_finished
