#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: benchmarks users can compare. Never part of `make check`.
#   1. the pool core on the host (cargo bench: rust/pool/benches/core.rs);
#   2. one guest with 2 vCPUs, then one with 4, each carrying three DMA paths
#      at once: our region, mainline's restricted-dma-pool of the same size,
#      and direct DMA (guest/bench.sh: dma_map_benchmark cells, virtio-blk
#      throughput with one stream and with four on four queues, and
#      virtio-net frames between two NICs, runs interleaved across the
#      paths); then two more boots with 4 vCPUs of the 4-thread cells alone;
#      then two boots of one vCPU under -icount (harness/icount.sh);
#   3. bench-report.py: BENCHMARKS.md (ratios with the raw medians beside
#      them), docs/bench/results.csv and its plots.
# About 25 minutes on this project's 2-core machine.
set -euo pipefail
. "$(dirname "$0")/env.sh"
raw=$RDMA_CACHE/bench
out=$RDMA_REPO/docs/bench
rm -rf "$raw" && mkdir -p "$raw"
start=$(date +%s)

echo "bench: the pool core on the host (cargo bench)"
(cd "$RDMA_REPO/rust/pool" && CARGO_TARGET_DIR=$RDMA_CARGO_TARGET \
  "$RDMA_CARGO" bench --quiet --bench core 2>/dev/null) | tee "$raw/core.txt" | grep '^bench:'

for vcpus in 2 4; do
  echo "bench: guest with $vcpus vCPUs (about 8 minutes)"
  RDMA_SMP=$vcpus RDMA_GUEST_TIMEOUT=1200 "$RDMA_HARNESS/guest.sh" bench bench >/dev/null
  tr -d '\r' < "$RDMA_CACHE/guest/$RDMA_FLAVOUR/bench/console.log" | grep '^bench: ' > "$raw/guest-$vcpus.txt"
  if grep -q '^bench: cannot\|^bench: no disk\|^bench: no interface' "$raw/guest-$vcpus.txt"; then
    grep '^bench: cannot\|^bench: no disk\|^bench: no interface' "$raw/guest-$vcpus.txt" >&2
    exit 1
  fi
  # A virtio-net run that failed (a frame came wrong, or none came) is left
  # out of the report's medians, which says so; say it here too.
  if grep -q '^bench: net .* status=[^0]' "$raw/guest-$vcpus.txt"; then
    echo "bench: virtio-net runs that failed, $vcpus vCPUs:" >&2
    tr -d '\r' < "$RDMA_CACHE/guest/$RDMA_FLAVOUR/bench/console.log" | grep '^bench: net .* status=[^0]\|^rawframe: ' >&2
  fi
  grep -q "^bench: done vcpus=$vcpus" "$raw/guest-$vcpus.txt" || { echo "bench: the $vcpus-vCPU guest did not finish" >&2; exit 1; }
done

# The contention cells (4 threads on 4 vCPUs) vary from boot to boot more
# than from run to run: two more boots of them alone, so that the report can
# judge the target on the median across three boots, with their spread.
for boot in 2 3; do
  echo "bench: guest with 4 vCPUs, the 4-thread cells again (boot $boot of 3, about 2 minutes)"
  RDMA_SMP=4 RDMA_GUEST_TIMEOUT=1200 RDMA_APPEND="rdma.bench=contention rdma.boot=$boot" \
    "$RDMA_HARNESS/guest.sh" bench bench >/dev/null
  tr -d '\r' < "$RDMA_CACHE/guest/$RDMA_FLAVOUR/bench/console.log" | grep '^bench: ' > "$raw/guest-4-boot$boot.txt"
  grep -q "^bench: done vcpus=4" "$raw/guest-4-boot$boot.txt" || { echo "bench: the 4-vCPU guest (boot $boot) did not finish" >&2; exit 1; }
done

# Twice, in two boots: the report shows that the exact counts are the same
# from boot to boot, not only between the two runs of one boot.
echo "bench: instructions per map and unmap, under -icount (boot 1 of 2, about a minute)"
"$RDMA_HARNESS/icount.sh"
cp "$RDMA_CACHE/icount.txt" "$RDMA_CACHE/icount-core.txt" "$RDMA_CACHE/icount-copies.txt" "$raw/"
echo "bench: instructions per map and unmap, under -icount (boot 2 of 2, about a minute)"
"$RDMA_HARNESS/icount.sh" --guest
cp "$RDMA_CACHE/icount.txt" "$raw/icount-boot2.txt"

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "host cores: $(nproc)"
  echo "kernel: Linux $(dpkg-query -W -f='${Version}' linux-source-6.12) (Debian linux-source-6.12), arm64, restricted_dma loadable"
  echo "qemu: $(qemu-system-aarch64 --version | head -n1), TCG"
  echo "guest: QEMU virt, cortex-a57, 2 and 4 vCPUs, 1 GiB; regions of 4 MiB (ours and mainline's), their NIC pairs on regions of 32 MiB of their own"
  echo "runs: dma_map_benchmark 5 runs of 1 s a cell (the 4-thread cells on 4 vCPUs in three boots); virtio-blk 3 runs of 2 s a case (one stream; and 4 streams on 4 queues, 4 vCPUs); virtio-net 5 runs of 2 s a case"
} > "$raw/info.txt"
"$RDMA_CACHE/venv/bin/python" "$RDMA_HARNESS/bench-report.py" "$raw" "$out" "$RDMA_REPO/BENCHMARKS.md"
echo "bench: wrote BENCHMARKS.md and $out in $(( $(date +%s) - start )) s"
