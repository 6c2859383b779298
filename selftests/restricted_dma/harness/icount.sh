#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench-icount`: the cost of a map and an unmap in guest instructions,
# for our pool, mainline's restricted-dma-pool and direct DMA. One vCPU under
# QEMU's -icount shift=3,sleep=off: guest time advances 8 ns per instruction,
# so dma_map_benchmark's average latencies (printed in 0.1 us steps) are
# instruction counts to within 12.5, the same on every run and host. Every
# granule (1, 4, 16, 64 pages) and direction (0 bidirectional, 1 to the
# device, 2 from the device), two runs each. Prints a table and keeps the raw
# lines in $RDMA_CACHE/icount.txt.
set -euo pipefail
. "$(dirname "$0")/env.sh"
raw=$RDMA_CACHE/icount.txt
RDMA_SMP=1 RDMA_GUEST_TIMEOUT=1800 "$RDMA_SELFTESTS/harness/guest.sh" icount bench >/dev/null
tr -d '\r' < "$RDMA_CACHE/guest/$RDMA_FLAVOUR/bench/console.log" | grep '^bench: map ' > "$raw"
awk '
  { for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    k = f["path"] " " f["granule"] " " f["dir"]
    m = f["map_us"] * 125; u = f["unmap_us"] * 125
    if (f["run"] == 1) { map1[k] = m; unmap1[k] = u; order[++n] = k }
    else { map2[k] = m; unmap2[k] = u } }
  END {
    print "| path | pages | dir | map (instr) | unmap (instr) | run 2 agrees |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= n; i++) {
      k = order[i]; split(k, p, " ")
      same = (map1[k] == map2[k] && unmap1[k] == unmap2[k]) ? "yes" : sprintf("no (%d, %d)", map2[k], unmap2[k])
      printf "| %s | %s | %s | %d | %d | %s |\n", p[1], p[2], p[3], map1[k], unmap1[k], same
    }
  }' "$raw"
