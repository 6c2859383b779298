#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The cost of a map and an unmap in guest instructions, for our pool,
# mainline's restricted-dma-pool and direct DMA. One vCPU under QEMU's
# -icount shift=3,sleep=off: guest time advances 8 ns per instruction. In
# the guest, rdma_test times each dma_map_single() and dma_unmap_single() on
# each path's transport as dma_map_benchmark does, with interrupts off and
# summed in ns over laps of 8 MiB, so the counts are exact and the same on
# every run (`cost` in rdma_test.c). Every granule (1, 4, 16, 64 pages) and
# direction (0 bidirectional, 1 to the device, 2 from the device), two runs
# each; dma_map_benchmark itself once beside them (its averages are printed
# in 0.1 us steps, 12.5 instructions). The raw lines stay in
# $RDMA_CACHE/icount.txt. Beside them, the pool core alone on the host
# (rust/pool/benches/icount.rs, no lock, no copy), counted exactly by
# callgrind: path "core", x86-64 instructions.
#   icount.sh             `make bench-icount`: a table
#   icount.sh --guest     the guest's counts alone, into the raw files (make
#                         bench's second boot: the core's are the same)
#   icount.sh --baseline  writes our pool's counts to the committed baseline
#   icount.sh --check     KTAP for `make check`: fails when a map or unmap of
#                         ours costs more than 1% over the baseline
set -euo pipefail
. "$(dirname "$0")/env.sh"
raw=$RDMA_CACHE/icount.txt
baseline=$RDMA_TOOLS/icount-baseline.txt
# The core on the host: one line per granule and direction, "core PAGES DIR
# MAP UNMAP", each the exact count of its function over ITERS calls, divided.
core_counts() {
  local bin iters=1000 pages dir f n
  bin=$(cd "$RDMA_REPO/rust/pool" && CARGO_TARGET_DIR=$RDMA_CARGO_TARGET \
    "$RDMA_CARGO" bench --bench icount --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*\)).*/\1/p')
  [ -x "$bin" ] || { echo "icount: cannot build rust/pool/benches/icount.rs" >&2; return 1; }
  for pages in 1 4 16 64; do
    for dir in 0 1 2; do
      printf 'core %s %s' "$pages" "$dir"
      for f in do_map do_unmap; do
        n=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "--toggle-collect=*icount::$f" \
          "$bin" "$pages" "$dir" "$iters" 2>&1 | awk '/Collected :/ { print $NF }')
        # No count is a failure, never a zero that passes the check.
        [ -n "$n" ] && [ "$n" -gt 0 ] || { echo "icount: callgrind counted nothing for $f" >&2; return 1; }
        printf ' %s' "$((n / iters))"
      done
      echo
    done
  done
}
[ "${1:-}" = --guest ] || core_counts > "$RDMA_CACHE/icount-core.txt"

# nokaslr: so that where the module lands (and whether its calls into the
# kernel take PLT veneers, by distance) cannot move the counts between boots.
RDMA_SMP=1 RDMA_GUEST_TIMEOUT=1800 RDMA_APPEND="nokaslr ${RDMA_APPEND:-}" \
  "$RDMA_HARNESS/guest.sh" icount bench >/dev/null || true
tr -d '\r' < "$RDMA_CACHE/guest/$RDMA_FLAVOUR/bench/console.log" | grep '^bench: \(map\|cost\) ' > "$raw" || true
# The copy and the zero-fill alone (rdma_test's memcpy and memset of 1 to
# 64 pages, 1000 times each).
tr -d '\r' < "$RDMA_CACHE/guest/$RDMA_FLAVOUR/bench/console.log" | grep '^bench: mem\(cpy\|set\) ' > "$RDMA_CACHE/icount-copies.txt" || true
# One line per path, granule and direction: PATH PAGES DIR MAP UNMAP (run 1)
# and MAP UNMAP (run 2), in instructions (one decimal), from rdma_test.
counts() {
  awk '
    $2 == "cost" { delete f; for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      k = f["path"] " " f["pages"] " " f["dir"]
      if (!(k in seen)) { seen[k] = 1; order[++n] = k }
      c[k, f["run"]] = sprintf("%.1f %.1f", f["map_ns"] / 8 / f["iters"], f["unmap_ns"] / 8 / f["iters"]) }
    END { for (i = 1; i <= n; i++) print order[i], c[order[i], 1], c[order[i], 2] }' "$raw"
}
# The same from dma_map_benchmark's one run: PATH PAGES DIR MAP UNMAP, its
# averages (0.1 us steps) as instructions.
dmb_counts() {
  awk '
    $2 == "map" { delete f; for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      printf "%s %s %s %d %d\n", f["path"], f["granule"], f["dir"], f["map_us"] * 125 + 0.5, f["unmap_us"] * 125 + 0.5 }' "$raw"
}

case "${1:-}" in
--guest) ;;
--baseline)
  {
    echo "# restricted_dma: instructions per map and unmap (make bench-icount), one thread,"
    echo "# under QEMU -icount shift=3. PATH PAGES DIR MAP UNMAP. Rewritten with"
    echo "# 'tools/testing/restricted_dma/harness/icount.sh --baseline', in the commit that"
    echo "# changes the cost, which says why."
    counts | awk '$1 == "restricted_dma" { print $1, $2, $3, $4, $5 }'
    cat "$RDMA_CACHE/icount-core.txt"
  } > "$baseline"
  echo "icount: wrote $baseline"
  ;;
--check)
  echo "TAP version 13"
  fail=0 k=0
  while read -r path pages dir bmap bunmap; do
    case $path in restricted_dma | core) ;; *) continue ;; esac
    k=$((k + 1))
    # Both kinds of count are exact (a timer tick in the loop moves a guest
    # count by a few hundredths of a percent): 1% is slack enough, and less
    # than a call frame's cost in a 1-page map (36 of 1,128 instructions).
    read -r map unmap <<< "$({ counts; cat "$RDMA_CACHE/icount-core.txt"; } |
      awk -v p="$path" -v g="$pages" -v d="$dir" '$1 == p && $2 == g && $3 == d { print $4, $5 }')"
    what="$path, $pages page(s), dir $dir: map ${map:-none} (baseline $bmap), unmap ${unmap:-none} (baseline $bunmap)"
    if [ -n "${map:-}" ] && awk -v m="$map" -v u="$unmap" -v bm="$bmap" -v bu="$bunmap" \
      'BEGIN { exit !(m <= bm * 1.01 && u <= bu * 1.01) }'; then
      echo "ok $k $what"
    else
      echo "not ok $k $what: more than 1% over"
      fail=1
    fi
  done < <(grep -v '^#' "$baseline")
  echo "1..$k"
  exit $fail
  ;;
*)
  echo "| host, x86-64: the core alone (no lock, no copy) | pages | dir | map (instr) | unmap (instr) |"
  echo "|---|---|---|---|---|"
  awk '{ printf "| %s | %s | %s | %d | %d |\n", $1, $2, $3, $4, $5 }' "$RDMA_CACHE/icount-core.txt"
  echo
  echo "| guest, arm64: one | of | instructions |"
  echo "|---|---|---|"
  awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
         printf "| %s | %s page(s) | %.1f |\n", $2, f["pages"], f["ns"] / f["iters"] / 8 }' "$RDMA_CACHE/icount-copies.txt"
  echo
  echo "| guest, arm64: path | pages | dir | map (instr) | unmap (instr) | run 2 | dma_map_benchmark (0.1 us steps) |"
  echo "|---|---|---|---|---|---|---|"
  { dmb_counts | sed 's/^/dmb /'; counts; } |
    awk '$1 == "dmb" { d[$2, $3, $4] = $5 ", " $6; next }
         { same = ($4 == $6 && $5 == $7) ? "the same" : sprintf("%s, %s", $6, $7)
           printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, same, d[$1, $2, $3] }'
  ;;
esac
