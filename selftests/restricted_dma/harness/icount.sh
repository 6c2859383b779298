#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The cost of a map and an unmap in guest instructions, for our pool,
# mainline's restricted-dma-pool and direct DMA. One vCPU under QEMU's
# -icount shift=3,sleep=off: guest time advances 8 ns per instruction, so
# dma_map_benchmark's average latencies (printed in 0.1 us steps) are
# instruction counts to within 12.5, the same on every host. Every granule
# (1, 4, 16, 64 pages) and direction (0 bidirectional, 1 to the device, 2
# from the device), two runs each; the raw lines stay in $RDMA_CACHE/icount.txt.
#   icount.sh             `make bench-icount`: a table
#   icount.sh --baseline  writes our pool's counts to the committed baseline
#   icount.sh --check     KTAP for `make check`: fails when a map or unmap of
#                         ours costs more than 5% (plus one print step) over
#                         the baseline
set -euo pipefail
. "$(dirname "$0")/env.sh"
raw=$RDMA_CACHE/icount.txt
baseline=$RDMA_SELFTESTS/bench/icount-baseline.txt
RDMA_SMP=1 RDMA_GUEST_TIMEOUT=1800 "$RDMA_SELFTESTS/harness/guest.sh" icount bench >/dev/null || true
tr -d '\r' < "$RDMA_CACHE/guest/$RDMA_FLAVOUR/bench/console.log" | grep '^bench: map ' > "$raw" || true
# One line per path, granule and direction: PATH PAGES DIR MAP UNMAP (run 1)
# and MAP UNMAP (run 2), in instructions.
counts() {
  awk '
    { for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      k = f["path"] " " f["granule"] " " f["dir"]
      if (!(k in seen)) { seen[k] = 1; order[++n] = k }
      c[k, f["run"]] = sprintf("%d %d", f["map_us"] * 125 + 0.5, f["unmap_us"] * 125 + 0.5) }
    END { for (i = 1; i <= n; i++) print order[i], c[order[i], 1], c[order[i], 2] }' "$raw"
}

case "${1:-}" in
--baseline)
  {
    echo "# restricted_dma: instructions per map and unmap (make bench-icount), one thread,"
    echo "# under QEMU -icount shift=3. PATH PAGES DIR MAP UNMAP. Rewritten with"
    echo "# 'selftests/restricted_dma/harness/icount.sh --baseline', in the commit that"
    echo "# changes the cost, which says why."
    counts | awk '$1 == "restricted_dma" { print $1, $2, $3, $4, $5 }'
  } > "$baseline"
  echo "icount: wrote $baseline"
  ;;
--check)
  echo "TAP version 13"
  fail=0 k=0
  while read -r path pages dir bmap bunmap; do
    [ "$path" = restricted_dma ] || continue
    k=$((k + 1))
    read -r map unmap <<< "$(counts | awk -v p="$path" -v g="$pages" -v d="$dir" '$1 == p && $2 == g && $3 == d { print $4, $5 }')"
    what="$path, $pages page(s), dir $dir: map ${map:-none} (baseline $bmap), unmap ${unmap:-none} (baseline $bunmap)"
    # 5% over the baseline, plus one 0.1 us print step (12.5 instructions).
    if [ -n "${map:-}" ] && [ $((map * 100)) -le $((bmap * 105 + 1300)) ] &&
      [ $((unmap * 100)) -le $((bunmap * 105 + 1300)) ]; then
      echo "ok $k $what"
    else
      echo "not ok $k $what: more than 5% over"
      fail=1
    fi
  done < <(grep -v '^#' "$baseline")
  echo "1..$k"
  exit $fail
  ;;
*)
  echo "| path | pages | dir | map (instr) | unmap (instr) | run 2 agrees |"
  echo "|---|---|---|---|---|---|"
  counts | awk '{ same = ($4 == $6 && $5 == $7) ? "yes" : sprintf("within %d, %d", $6 - $4, $7 - $5)
                 printf "| %s | %s | %s | %d | %d | %s |\n", $1, $2, $3, $4, $5, same }'
  ;;
esac
