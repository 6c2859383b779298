#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: dma_map_benchmark through our pool, mainline's
# restricted-dma-pool and direct DMA, measured in one guest boot (absolute
# figures under TCG mean little; the ratios within one boot are the point).
set -euo pipefail
. "$(dirname "$0")/env.sh"
"$RDMA_SELFTESTS/harness/guest.sh" bench bench >/dev/null
log=$RDMA_CACHE/guest/$RDMA_FLAVOUR/bench/console.log
echo "dma_map_benchmark, $(nproc) host cores, QEMU TCG guest with 2 vCPUs, bidirectional, ${SECS:-3} s a run"
echo
echo "| DMA path | threads | pages a map | map µs | unmap µs |"
echo "|---|---|---|---|---|"
tr -d '\r' < "$log" | sed -n 's/^bench: \([^ ]*\) threads=\([0-9]*\) granule=\([0-9]*\) map=\([^ ]*\) unmap=\([^ ]*\)$/| \1 | \2 | \3 | \4 | \5 |/p'
echo
tr -d '\r' < "$log" | sed -n 's/^bench: counter \(.*\)/restricted_dma counter after the runs: \1/p'
if tr -d '\r' < "$log" | grep -q '^bench: cannot'; then tr -d '\r' < "$log" | grep '^bench: cannot'; exit 1; fi
echo
# Memory: the pool's bookkeeping per 2 KiB slot, from the type itself.
(cd "$RDMA_REPO/rust/pool" && CARGO_TARGET_DIR=$RDMA_CACHE/cargo-target \
  "$RDMA_CARGO" test --release --quiet print_slot_size -- --nocapture 2>&1 | grep -i 'slot' | grep -v '^test ' | head -n 3)
