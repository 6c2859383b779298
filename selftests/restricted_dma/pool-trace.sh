#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What an operator without debugfs sees of a region: the trace events
# (tracefs, events/restricted_dma/), the counters in sysfs and the sizing
# line in the log. Reads from a virtio-blk are one map and one unmap event
# each, naming the device, the region and the pool's use, and so are a
# coherent block, a sync and a free; a full pool is a failure event naming
# each device that met it, as many as sysfs counts; a
# device bound again says what it held at most while it probed, and one
# whose probe asks for more than a mapping may be is named. The sizing file
# (debugfs) adds up to the region's use. After pool-soak.sh, in its
# guest.
. ./ktap_helpers.sh
. ./lib.sh

T=/sys/kernel/tracing
ktap_print_header
ktap_set_plan 11
R=$(first good 1)
load
blk=$(expect device | awk '$1 == "blk" { print $2; exit }')
rng=$(transport_of rng)
tdev=rdma_test.0
dev=$(wait_blk "$blk")
nslots=$(cat "$SYS/$R/io_tlb_nslabs")
[ -d "$T/events" ] || mount -t tracefs nodev "$T"
E=$T/events/restricted_dma
ktap_print_msg "events: $(ls "$E" | grep -v '^enable$\|^filter$' | tr '\n' ' ')"

# N reads of 4 KiB from $dev, with O_DIRECT: N data buffers of 4 KiB that
# the device writes.
reads() {
	dd if="$dev" of=/dev/null bs=4096 count="$1" iflag=direct 2>/dev/null
}
# The trace's lines of event $1 by device $2 ("map: DEV region=...").
events() {
	grep -F -- "restricted_dma_$1: $2 " "$T/trace"
}

# The control: with the events off, the same reads trace nothing.
echo 0 > "$E/enable"
echo > "$T/trace"
reads 16
result "no restricted_dma event is recorded while the events are off" \
	not grep -q 'restricted_dma_' "$T/trace"

echo 1 > "$E/enable"
echo > "$T/trace"
reads 16
echo 0 > "$E/enable"
data="region=$R dma=0x[0-9a-f]* size=4096 dir=from_device used=[0-9]*/$nslots\$"
maps=$(events map "$blk" | grep -c -- "$data")
unmaps=$(events unmap "$blk" | grep -c -- "$data")
ktap_print_msg "16 reads: $maps map and $unmaps unmap events of 4 KiB from $blk; $(grep -c 'restricted_dma_' "$T/trace") events in all"
events map "$blk" | head -n 3 | sed 's/^ */# /'
one_each() {
	[ "$maps" -eq 16 ] && [ "$unmaps" -eq 16 ]
}
result "each 4 KiB read is one map and one unmap event of $blk in $R, from the device" one_each
# Every event of the reads names $blk's region and the pool's use.
named() {
	grep 'restricted_dma_' "$T/trace" | grep -v '^#' > /tmp/trace-reads
	[ -s /tmp/trace-reads ] && ! grep -v -- "region=$R .*used=[0-9]*/$nslots" /tmp/trace-reads | grep -q .
}
result "every event names the region and the pool's use" named

# The test driver's device ($tdev): its probe's coherent block (16 KiB),
# a sync of a receive buffer, and the block's free at its deletion are
# events too.
echo 1 > "$E/enable"
echo > "$T/trace"
load_test
tcmd add 0
tcmd sync 0
tcmd del 0
echo 0 > "$E/enable"
others() {
	rest="region=$R dma=0x[0-9a-f]* size=$2 dir=$3 used=[0-9]*/$nslots\$"
	events "$1" "$tdev" | grep -q -- "$rest"
}
all_others() {
	others alloc 16384 none && others sync_for_cpu 4096 from_device && others free 16384 none
}
events alloc "$tdev" | head -n 1 | sed 's/^ */# /'
result "a coherent allocation, a sync and a free are events of their own" all_others

# A full pool: the test driver's device takes every slot; the map that
# finds none, and an rng read after it, are failure events (only those
# enabled now), as many as sysfs counts.
mark_log
tcmd add 0
# The control of the "large" probe below: this probe maps nothing.
named_large=$(log_since_mark | grep -c -- "asked $R for a map of")
echo 1 > "$E/restricted_dma_fail/enable"
echo > "$T/trace"
fails0=$(cat "$SYS/$R/failed_maps")
tcmd fill 0
ktap_print_msg "$(tresult)"
# The sizing file while the device holds the region: one line a device,
# "NAME BUCKET USED HIWATER LARGEST" (devices of one bucket counted
# together): every slot in use is some device's.
sed 's/^/# sizing: /' "$DBG/$R/sizing"
adds_up() {
	sum=$(awk '!($2 in seen) { seen[$2]; n += $3 } END { print n + 0 }' "$DBG/$R/sizing")
	[ "$sum" -eq "$(cat "$SYS/$R/io_tlb_used")" ]
}
result "the devices' slots in use, in the sizing file, add up to the region's" adds_up
full="op=map .*used=$nslots/$nslots: bounce buffer pool is full\$"
result "the map that found $R full is a failure event naming $tdev, at $nslots of $nslots slots" \
	sh -c "grep -F -- 'restricted_dma_fail: $tdev region=$R ' $T/trace | grep -q -- '$full'"
dd if=/dev/hwrng of=/tmp/trace-rng bs=64 count=1 2>/dev/null &
rng_pid=$!
wait_up_to 30 sh -c "grep -qF -- 'restricted_dma_fail: $rng region=$R ' $T/trace"
events fail "$rng" | head -n 1 | sed 's/^ */# /'
result "an rng read that met the full pool is a failure event naming $rng" \
	sh -c "grep -F -- 'restricted_dma_fail: $rng region=$R ' $T/trace | grep -q -- '$full'"
# The full region as sysfs shows it (README's "Watching a region").
(cd "$SYS/$R" && grep . io_tlb_used io_tlb_nslabs failed_maps) | sed 's/^/# /'
tcmd release 0
tcmd del 0
wait "$rng_pid"
echo 0 > "$E/restricted_dma_fail/enable"
nfail=$(grep -c 'restricted_dma_fail: ' "$T/trace")
counted=$(( $(cat "$SYS/$R/failed_maps") - fails0 ))
ktap_print_msg "$nfail failure events; sysfs counted $counted failed maps"
result "as many failure events as sysfs counts failed maps" [ "$nfail" -eq "$counted" ]

# A driver whose probe asks for more than one mapping of the region may
# be (the test driver's "large" probe maps 512 KiB at once) is named at
# bind; the probe above, which asked for nothing, was not.
echo large > "$TDBG/probe"
mark_log
tcmd add 0
echo ok > "$TDBG/probe"
log_since_mark | grep -F -- "$tdev: " | sed 's/^/# /'
too_large() {
	[ "$named_large" -eq 0 ] &&
		log_since_mark_has "$tdev: asked $R for a map of 524288 bytes, more than the "
}
result "$tdev, whose probe asked for 512 KiB at once, is told that $R is too small for it" too_large
tcmd del 0

# The sizing line of a device bound again: what it keeps at rest, the most
# it held while it probed (never less) and its largest map.
echo "$blk" > /sys/bus/platform/drivers/virtio-mmio/unbind
mark_log
echo "$blk" > /sys/bus/platform/drivers/virtio-mmio/bind
wait_blk "$blk" > /dev/null
line=$(log_since_mark | grep -F -- "$blk: bound through $R: " | head -n 1)
ktap_print_msg "${line#*] }"
set -- $(echo "$line" | sed -n 's/.*keeps \([0-9]*\) slot.* held at most \([0-9]*\) while it probed, its largest map \([0-9]*\) bytes.*/\1 \2 \3/p')
sizing_line() {
	[ $# -eq 3 ] && [ "$2" -ge "$1" ] && [ "$3" -gt 0 ]
}
result "bound again, $blk says what it keeps, the most it held while it probed and its largest map" \
	sizing_line "$@"
result "the reads work after all this" reads 16
ktap_finished
