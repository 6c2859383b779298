#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The bounce path: O_DIRECT round trips on the virtio-blk device behind the
# region, from 512 B to 1 MiB, from user buffers on and off page boundaries,
# all data intact; the region's counters grow by what the I/O did, and every
# streaming slot is free again afterwards.
. ./ktap_helpers.sh
. ./lib.sh

SIZES="512 4096 65536 262144 1048576"
MISALIGN="0 512"
ktap_print_header
ktap_set_plan 16

load
dev=$(wait_blk "$(transport_of blk)") || ktap_exit_fail_msg "no block device behind $(transport_of blk)"
ktap_print_msg "testing $dev behind $(first good 1)"

maps0=$(counter maps) unmaps0=$(counter unmaps) used0=$(counter io_tlb_used)
to0=$(counter bytes_to_device) from0=$(counter bytes_from_device) z0=$(counter bytes_zeroed)
bytes=0 off=0 seed=1
for size in $SIZES; do
	for mis in $MISALIGN; do
		if ./odirect roundtrip "$dev" "$size" "$mis" "$off" "$seed"; then
			ktap_test_pass "O_DIRECT round trip of $size bytes, buffer at +$mis in its page"
		else
			ktap_test_fail "O_DIRECT round trip of $size bytes, buffer at +$mis in its page"
		fi
		bytes=$((bytes + size)) off=$((off + 1048576)) seed=$((seed + 1))
	done
done

dmaps=$(( $(counter maps) - maps0 )) dunmaps=$(( $(counter unmaps) - unmaps0 ))
dto=$(( $(counter bytes_to_device) - to0 )) dfrom=$(( $(counter bytes_from_device) - from0 ))
dz=$(( $(counter bytes_zeroed) - z0 ))
ktap_print_msg "$dmaps maps, $dunmaps unmaps, $dto bytes in, $dz zeroed, $dfrom bytes out for $bytes bytes each way"
# Each request maps at least its data; requests also map a 16-byte header and
# a status byte, allowed for with 64 bytes a map.
result "maps grew by at least one per transfer" [ "$dmaps" -ge 20 ]
result "every map was unmapped" [ "$dunmaps" -eq "$dmaps" ]
# Toward the device: the written data only. A read buffer's old contents
# are not the device's to see: its slots are zeroed instead (and so no stale
# slot bytes can come back either).
result "bytes_to_device grew by the data written, not read" \
	[ "$dto" -ge "$bytes" -a "$dto" -le $((bytes + 64 * dmaps)) ]
result "bytes_zeroed grew by the data read" \
	[ "$dz" -ge "$bytes" -a "$dz" -le $((bytes + 64 * dmaps)) ]
result "bytes_from_device grew by the data read" \
	[ "$dfrom" -ge "$bytes" -a "$dfrom" -le $((bytes + 64 * dmaps)) ]
result "io_tlb_used back to the coherent baseline ($used0 slots)" [ "$(counter io_tlb_used)" -eq "$used0" ]
# The host looks at every queue again now that data moved (check.sh holds
# the last answer to the regions).
ask_host virtqueues
sleep 3
ktap_finished
