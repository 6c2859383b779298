#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench`: the kernel's dma_map_benchmark on three empty transports of
# one guest: behind our region, behind mainline's restricted-dma-pool, and
# with no region (direct DMA). Prints one "bench:" line per run for the host.
. ./lib.sh
load
SECS=${SECS:-3}
run() { # TRANSPORT PATH-NAME
	t=$1
	echo dma_map_benchmark > "/sys/bus/platform/devices/$t/driver_override"
	echo "$t" > /sys/bus/platform/drivers/dma_map_benchmark/bind || { echo "bench: cannot bind $t"; return; }
	for threads in 1 2; do
		for granule in 1 16; do
			out=$(./dma_map_benchmark -t "$threads" -s "$SECS" -g "$granule" -d 0 2>&1)
			map=$(echo "$out" | sed -n 's/.*average map latency(us):\([0-9.]*\).*/\1/p')
			unmap=$(echo "$out" | sed -n 's/.*average unmap latency(us):\([0-9.]*\).*/\1/p')
			echo "bench: $2 threads=$threads granule=$granule map=${map:-?} unmap=${unmap:-?}"
		done
	done
	echo "$t" > /sys/bus/platform/drivers/dma_map_benchmark/unbind
	echo > "/sys/bus/platform/devices/$t/driver_override"
}
run "$(expect device | awk '$3 ~ /^restricted@/ { print $2; exit }')" restricted_dma
run "$(expect device | awk '$3 ~ /^restricted-pool@/ { print $2; exit }')" restricted-dma-pool
run "$(expect device | awk '$3 == "-" { print $2; exit }')" direct
for f in maps bytes_to_device failed_maps io_tlb_used; do echo "bench: counter $f $(counter "$f")"; done
