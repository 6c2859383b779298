#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench-profile`: where the instructions of one map and one unmap go,
# by function, exactly. One boot of the icount guest (one vCPU, -icount
# shift=3, nokaslr) runs rdma_test's cost command once, as `make
# bench-icount` does, with a QEMU plugin (profile/insn-count.c) that counts
# each kernel instruction executed inside the command's timed loop, where
# interrupts are off and nothing else runs. The module's functions are named
# from the guest's /proc/kallsyms, the kernel's from vmlinux, and the
# module's source files through the inlining, from its line tables.
#   profile.sh [PATH [PAGES [DIR [TEXT]]]]
#     PATH: restricted_dma (the default), restricted-dma-pool or direct;
#     PAGES: 1 to 64 (1); DIR: 0 bidirectional (the default), 1 to the
#     device, 2 from it; TEXT: also each instruction of the functions whose
#     name contains TEXT, at its offset (to read beside objdump).
# The raw counts stay in $RDMA_CACHE/profile.
set -euo pipefail
. "$(dirname "$0")/env.sh"
path=${1:-restricted_dma} pages=${2:-1} dir=${3:-0}
out=$RDMA_CACHE/profile
mkdir -p "$out"
plugin=$out/insn-count.so
gcc -O2 -shared -fPIC -Wall -o "$plugin" "$RDMA_HARNESS/profile/insn-count.c"
[ -f "$RDMA_KBUILD/vmlinux" ] || { echo "profile: no $RDMA_FLAVOUR kernel: run 'make module'" >&2; exit 1; }
# The module the guest loads is built with line tables, in a directory of
# its own, so that the report can name the source files through the
# inlining. Debug information reorders some instructions, so this is not
# byte for byte `make module`'s build (whose counts `make bench-icount`
# gives): on 2f30ebc a pair's total was 2,120 in both.
rm -f "$out/counts.txt" "$out/debug.ko"
ko=
if [ "$RDMA_FLAVOUR" != builtin ]; then
  RDMA_MODBUILD=$RDMA_CACHE/modbuild-$RDMA_FLAVOUR-lines "$RDMA_HARNESS/module.sh" \
    KRUSTFLAGS=-Cdebuginfo=line-tables-only KCFLAGS=-g1 modules >/dev/null
  ko=$RDMA_CACHE/modbuild-$RDMA_FLAVOUR-lines/restricted_dma/restricted_dma.ko
  cp "$ko" "$out/debug.ko"
fi
RDMA_KO=$ko RDMA_SMP=1 RDMA_GUEST_TIMEOUT=900 RDMA_QEMU_PLUGIN="$plugin,out=$out/counts.txt" \
  RDMA_APPEND="nokaslr rdma.bench=profile rdma.profile=$path:$pages:$dir ${RDMA_APPEND:-}" \
  "$RDMA_HARNESS/guest.sh" icount bench >/dev/null
console=$RDMA_CACHE/guest/$RDMA_FLAVOUR/bench/console.log
tr -d '\r' < "$console" | grep '^bench: \(sym\|profile\)' > "$out/guest.txt" || true
grep -q '^bench: profile cost ' "$out/guest.txt" ||
  { echo "profile: the guest did not run the cost command: see $console" >&2; exit 1; }
llvm-nm -n --defined-only "$RDMA_KBUILD/vmlinux" > "$out/vmlinux.syms"
python3 "$RDMA_HARNESS/profile/report.py" "$out" "$path, $pages page(s), dir $dir" ${4:+"$4"}
