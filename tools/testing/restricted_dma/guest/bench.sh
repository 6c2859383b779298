#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench`, in the guest: one boot carries three DMA paths at once, our
# region, a mainline restricted-dma-pool of the same size, and direct DMA,
# each with an empty transport (for the kernel's dma_map_benchmark) and a
# virtio-blk; and a fourth for virtio-blk alone, a virtio-blk-pci through our
# region (its host bridge names it); and for each of the three, a pair of
# virtio-net NICs alone on a QEMU hub. Prints one "bench:" line per run for
# the host to collect; runs of one measure are interleaved across the paths,
# so that a slow moment of this shared machine falls on all of them.
# `rdma.bench=PART,...` on the kernel command line (harness/guest.sh passes
# $RDMA_APPEND there) runs only those parts: map, blk, blk4, net (all by
# default), or contention (the map cells of 4 threads alone: harness/bench.sh
# repeats them in more boots). `rdma.boot=N` numbers the boot in the lines.
. ./lib.sh
load
SECS=${SECS:-1}
RUNS=${RUNS:-5}
VCPUS=$(nproc)
PARTS=$(sed -n 's/.*rdma\.bench=\([a-z0-9,]*\).*/\1/p' /proc/cmdline)
BOOT=$(sed -n 's/.*rdma\.boot=\([0-9]*\).*/\1/p' /proc/cmdline)
BOOT=${BOOT:-1}
part() {
	case ",${PARTS:-map,blk,blk4,net}," in *",$1,"*) return 0 ;; esac
	return 1
}
part map || part contention || RUNS=0

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
	# Under -icount (one vCPU): one thread, every granule, every direction,
	# once, beside rdma_test's exact counts below.
	RUNS=1
	for g in 1 4 16 64; do
		for d in 0 1 2; do CELLS="$CELLS 1:$g:$d"; done
	done
else
	THREADS="1 2 4"
	part map || THREADS=4
	for t in $THREADS; do
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
			echo "bench: map path=$p vcpus=$VCPUS threads=$t granule=$g dir=$d run=$r boot=$BOOT map_us=${map:-nan} unmap_us=${unmap:-nan}"
		done
	done
	r=$((r + 1))
done

# `rdma.profile=PATH:PAGES:DIR` (harness/profile.sh): only rdma_test's cost
# command, once, on PATH, inside the marks where a QEMU plugin counts each
# instruction the kernel runs; and where the modules' functions are, to name
# what it counted.
PROFILE=$(sed -n 's/.*rdma\.profile=\([a-z_:0-9-]*\).*/\1/p' /proc/cmdline)
if [ "${ICOUNT:-0}" = 1 ] && [ -n "$PROFILE" ]; then
	load_test
	IFS=:
	set -- $PROFILE
	unset IFS
	grep '\[[a-z_]*\]$' /proc/kallsyms | sed 's/^/bench: sym /'
	e=$(empty_of "$1")
	if bind_bench "$e" && tcmd cost "$2" "$3" "$e"; then
		echo "bench: profile $(tresult)"
	else
		echo "bench: profile: cost failed: $(tresult)"
	fi
	unbind_bench "$e"
fi

# Under -icount, the exact counts: rdma_test times each map and unmap as
# dma_map_benchmark does, but with interrupts off and summed in ns (8 ns an
# instruction), on the same bound transports; two runs, to show that they
# are the same. Then the copy alone: what a bounce of that many pages cannot
# avoid (rdma_test times 1000 memcpy() of it), and the zero-fill alone, what
# a receive buffer's map cannot avoid (1000 memset()).
if [ "${ICOUNT:-0}" = 1 ] && [ -z "$PROFILE" ]; then
	load_test
	for r in 1 2; do
		for g in 1 4 16 64; do
			for d in 0 1 2; do
				for p in $PATHS; do
					e=$(empty_of "$p")
					bind_bench "$e" || { echo "bench: cannot bind $e"; continue; }
					if tcmd cost "$g" "$d" "$e"; then
						echo "bench: $(tresult) path=$p run=$r"
					else
						echo "bench: cost path=$p failed: $(tresult)"
					fi
					unbind_bench "$e"
				done
			done
		done
	done
	for g in 1 4 16 64; do
		for c in memcpy memset; do
			tcmd "$c" "$g" && echo "bench: $(tresult)"
		done
	done
fi

# 2. virtio-blk throughput, one disk per path (RUNS_BLK rounds of 2 s runs);
# not under -icount, where time is instructions.
[ "${ICOUNT:-0}" = 1 ] && RUNS_BLK=0
part blk || RUNS_BLK=0
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

# 2b. virtio-blk with 4 queues (each disk has num-queues=4) and 4 O_DIRECT
# streams at once, one pinned to each vCPU, so each stream has a queue of its
# own: the pool's lock under real I/O. The streams' MB/s are summed. Only
# with 4 vCPUs or more; not under -icount.
[ "${ICOUNT:-0}" = 1 ] && RUNS_BLK4=0
[ "$VCPUS" -ge 4 ] || RUNS_BLK4=0
part blk4 || RUNS_BLK4=0
r=1
while [ $r -le "${RUNS_BLK4:-3}" ]; do
	for op in read write; do
		for bs in 4096 65536; do
			for p in $PATHS; do
				dev=$(blk_of "$(blk_t_of "$p")") || { echo "bench: no disk for $p"; continue; }
				s=0
				while [ $s -lt 4 ]; do
					taskset -c $s ./odirect bench "$dev" rand "$op" "$bs" 2 > /tmp/blk4.$s 2>&1 &
					s=$((s + 1))
				done
				wait
				total=$(cat /tmp/blk4.0 /tmp/blk4.1 /tmp/blk4.2 /tmp/blk4.3 |
					awk -F'mbps=' 'NF == 2 { split($2, a, " "); t += a[1]; n++ } END { if (n == 4) printf "%.2f", t; else print "nan" }')
				q=$(ls "/sys/block/${dev#/dev/}/mq" | grep -c .)
				echo "bench: blk4 path=$p vcpus=$VCPUS streams=4 queues=$q pattern=rand op=$op bs=$bs run=$r mbps=$total"
			done
		done
	done
	r=$((r + 1))
done

# 3. virtio-net throughput: for each path, rawframe floods raw frames from
# one NIC of its pair to the other for NET_SECS s and counts those that
# arrive intact (RUNS_NET rounds; MTU 1500 and 9000: frames of 1514 and
# 9014 B). Not under -icount.
[ "${ICOUNT:-0}" = 1 ] && RUNS_NET=0
part net || RUNS_NET=0
NET_SECS=${NET_SECS:-2}
nic_region() { # PATH -> the region its NICs name (- for none)
	case $1 in
	restricted_dma) pat='^restricted@' ;;
	restricted-dma-pool) pat='^restricted-pool@' ;;
	*) pat='^-$' ;;
	esac
	expect device | awk -v p="$pat" '$1 == "net" && $3 ~ p { print $3; exit }'
}
iface_of() { # TRANSPORT -> its network interface
	n=$(ls /sys/bus/platform/devices/"$1"/virtio*/net 2>/dev/null | head -n 1)
	[ -n "$n" ] && echo "$n"
}
nics_of() { case $1 in restricted_dma) echo "$ours_n" ;; restricted-dma-pool) echo "$main_n" ;; *) echo "$direct_n" ;; esac; }
pair_of() { # PATH -> "OUT IN": the interfaces of its two NICs
	for t in $(expect device | awk -v g="$(nic_region "$1")" '$1 == "net" && $3 == g { print $2 }'); do
		wait_for iface_of "$t" > /dev/null && iface_of "$t"
	done | tr '\n' ' '
}
if [ "${RUNS_NET:-5}" -gt 0 ]; then
	ours_n=$(pair_of restricted_dma) main_n=$(pair_of restricted-dma-pool) direct_n=$(pair_of direct)
	for p in $PATHS; do
		set -- $(nics_of "$p")
		[ $# = 2 ] || echo "bench: no interface for $p (the NICs behind $(nic_region "$p"): $*)"
	done
fi
r=1
while [ $r -le "${RUNS_NET:-5}" ]; do
	for size in 1514 9014; do
		for p in $PATHS; do
			set -- $(nics_of "$p")
			out=$(./rawframe flood "$1" "$2" "$size" "$NET_SECS" 2> /tmp/rawframe.err)
			rc=$?
			echo "bench: net path=$p vcpus=$VCPUS size=$size run=$r status=$rc ${out:-fps=nan mbps=nan}"
			[ $rc = 0 ] || sed "s/^/rawframe: $p $size B: /" /tmp/rawframe.err
		done
	done
	r=$((r + 1))
done
# What the NICs' regions kept mapped at most, of their slots: were they large
# enough? (Ours and mainline's name their counters alike.)
if [ "${RUNS_NET:-5}" -gt 0 ]; then
	for p in restricted_dma restricted-dma-pool; do
		g=$(nic_region "$p")
		d=$DBG/$g
		[ -d "$d" ] || d=/sys/kernel/debug/swiotlb/$g
		[ -d "$d" ] || d=/sys/kernel/debug/$g
		echo "bench: netpool path=$p vcpus=$VCPUS region=$g slots_hiwater=$(cat "$d/io_tlb_used_hiwater" 2>/dev/null || echo nan) slots=$(cat "$d/io_tlb_nslabs" 2>/dev/null || echo nan)"
	done
fi
echo "bench: done vcpus=$VCPUS"
