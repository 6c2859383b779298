#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench`, in the guest: one boot carries three DMA paths at once, our
# region, a mainline restricted-dma-pool of the same size, and direct DMA,
# each with an empty transport (for the kernel's dma_map_benchmark) and a
# virtio-blk; and a fourth for virtio-blk alone, a virtio-blk-pci through our
# region (its host bridge names it). Prints one "bench:" line per run for the
# host to collect; runs of one measure are interleaved across the paths, so
# that a slow moment of this shared machine falls on all of them.
. ./lib.sh
load
SECS=${SECS:-1}
RUNS=${RUNS:-5}
VCPUS=$(nproc)

# The transport and the blk device of each path, by the region they name.
path_of() { # REGION-PATTERN -> "EMPTY-TRANSPORT BLK-TRANSPORT"
	e=$(expect device | awk -v p="$1" '$1 == "empty" && $3 ~ p { print $2; exit }')
	b=$(expect device | awk -v p="$1" '$1 == "blk" && $3 ~ p { print $2; exit }')
	echo "$e $b"
}
set -- $(path_of '^restricted@')
ours_e=$1 ours_b=$2
set -- $(path_of '^restricted-pool@')
main_e=$1 main_b=$2
set -- $(path_of '^-$')
direct_e=$1 direct_b=$2
PATHS="restricted_dma restricted-dma-pool direct"
pci_b=$(expect pcidevice | awk '$1 == "blk" { print $2; exit }')
BLK_PATHS="$PATHS${pci_b:+ restricted_dma-pci}"
empty_of() { case $1 in restricted_dma) echo "$ours_e" ;; restricted-dma-pool) echo "$main_e" ;; *) echo "$direct_e" ;; esac; }
blk_t_of() {
	case $1 in
	restricted_dma) echo "$ours_b" ;; restricted-dma-pool) echo "$main_b" ;;
	restricted_dma-pci) echo "$pci_b" ;; *) echo "$direct_b" ;;
	esac
}

bind_bench() {
	echo dma_map_benchmark > "/sys/bus/platform/devices/$1/driver_override"
	echo "$1" > /sys/bus/platform/drivers/dma_map_benchmark/bind
}
unbind_bench() {
	echo "$1" > /sys/bus/platform/drivers/dma_map_benchmark/unbind
	echo > "/sys/bus/platform/devices/$1/driver_override"
}

# 1. dma_map_benchmark: the cells, then RUNS rounds over all cells and paths.
# dma_map_benchmark binds to one device at a time: each run binds its path.
CELLS=
if [ "${ICOUNT:-0}" = 1 ]; then
	# Under -icount (one vCPU): one thread, every granule, every direction;
	# two runs, to show that they agree.
	RUNS=2
	for g in 1 4 16 64; do
		for d in 0 1 2; do CELLS="$CELLS 1:$g:$d"; done
	done
else
	for t in 1 2 4; do
		for g in 1 4 16 64; do CELLS="$CELLS $t:$g:0"; done
		for d in 1 2; do CELLS="$CELLS $t:1:$d"; done
	done
fi
r=1
while [ $r -le "$RUNS" ]; do
	for c in $CELLS; do
		t=${c%%:*} rest=${c#*:} g=${rest%%:*} d=${rest#*:}
		for p in $PATHS; do
			e=$(empty_of "$p")
			bind_bench "$e" || { echo "bench: cannot bind $e"; continue; }
			out=$(./dma_map_benchmark -t "$t" -s "$SECS" -g "$g" -d "$d" 2>&1)
			unbind_bench "$e"
			map=$(echo "$out" | sed -n 's/.*average map latency(us):\([0-9.]*\).*/\1/p')
			unmap=$(echo "$out" | sed -n 's/.*average unmap latency(us):\([0-9.]*\).*/\1/p')
			echo "bench: map path=$p vcpus=$VCPUS threads=$t granule=$g dir=$d run=$r map_us=${map:-nan} unmap_us=${unmap:-nan}"
		done
	done
	r=$((r + 1))
done

# Under -icount, the copy alone: what a bounce of that many pages cannot
# avoid (rdma_test times 1000 memcpy() of it; ns / 8 are instructions).
if [ "${ICOUNT:-0}" = 1 ]; then
	load_test
	for g in 1 4 16 64; do
		tcmd memcpy "$g" && echo "bench: $(tresult)"
	done
fi

# 2. virtio-blk throughput, one disk per path (RUNS_BLK rounds of 2 s runs);
# not under -icount, where time is instructions.
[ "${ICOUNT:-0}" = 1 ] && RUNS_BLK=0
r=1
while [ $r -le "${RUNS_BLK:-3}" ]; do
	for pat in seq rand; do
		for op in write read; do
			for bs in 4096 65536; do
				for p in $BLK_PATHS; do
					dev=$(blk_of "$(blk_t_of "$p")") || { echo "bench: no disk for $p"; continue; }
					out=$(./odirect bench "$dev" "$pat" "$op" "$bs" 2)
					echo "bench: blk path=$p vcpus=$VCPUS pattern=$pat op=$op bs=$bs run=$r $out"
				done
			done
		done
	done
	r=$((r + 1))
done
echo "bench: done vcpus=$VCPUS"
