#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make module` (and `make clean`, and lint's clippy run): Kbuild, out of tree,
# against the flavour's cached kernel build (env.sh):
#   module.sh [TARGET...]          restricted_dma.ko (not for the built-in flavour)
#   module.sh --test [TARGET...]   rdma_test.ko, the kselftests' test driver
#   module.sh --clippy             restricted_dma.ko through clippy (lint.sh)
#   module.sh --print-ko           where restricted_dma.ko lands
# Linux 6.12 writes an external module's objects beside its sources, so each
# flavour builds in a directory of its own under $RDMA_MODBUILD, a tree of
# symlinks to the repository's files: nothing is written into the repository.
set -euo pipefail
. "$(dirname "$0")/env.sh"
export PATH=/usr/bin:/bin:$PATH

case "${1:-}" in
--print-ko) echo "$RDMA_MODBUILD/restricted_dma/restricted_dma.ko"; exit 0 ;;
--print-test-ko) echo "$RDMA_MODBUILD/rdma_test/rdma_test.ko"; exit 0 ;;
--test) shift; name=rdma_test; sources=("$RDMA_SELFTESTS/rdma_test/"*) ;;
# clippy-driver compiles what it checks, with MIR optimisations off: its
# restricted_dma.ko is not rustc's (a map of it costs 4 instructions more),
# and must never be the one the tests and the bench load. So it builds in a
# directory of its own, from scratch each time, so that clippy sees all of
# the crate.
--clippy)
  name=restricted_dma sources=("$RDMA_REPO/Kbuild" "$RDMA_REPO/rust")
  RDMA_MODBUILD=$RDMA_MODBUILD-clippy
  rm -f "$RDMA_MODBUILD/$name/rust/restricted_dma.o"
  set -- CLIPPY=1 modules
  ;;
*) name=restricted_dma; sources=("$RDMA_REPO/Kbuild" "$RDMA_REPO/rust") ;;
esac
dir=$RDMA_MODBUILD/$name
mkdir -p "$dir"
# Fresh links each time, so that a file deleted from the repository is gone
# here too; make follows them to the sources' own times.
find "$dir" -type l -delete
cp -rs "${sources[@]}" "$dir/"
# Not cargo's output: `cargo test` in rust/pool leaves a target/ of its own
# (the harness's cargo runs build in $RDMA_CACHE instead).
find "$dir" -depth -type d -name target -exec rm -rf {} +
# Times alone cannot tell another checkout's sources from these: a clone or
# worktree older than the objects of another one (both build here, in the
# one cache) would link an old module, or half of one. So the build
# directory remembers what it was built from, and starts afresh (its
# objects deleted, the links kept) when the sources' content differs.
sum=$(for s in "${sources[@]}"; do
  (cd "$(dirname "$s")" && find "$(basename "$s")" -name target -prune -o -type f -print0 |
    sort -z | xargs -0 sha256sum)
done | sha256sum | cut -c1-16)
if [ "$(cat "$dir/.rdma-sources" 2>/dev/null)" != "$sum" ]; then
  find "$dir" -type f -delete
  echo "$sum" > "$dir/.rdma-sources"
fi
exec "${RDMA_KMAKE[@]}" -C "$RDMA_KBUILD" M="$dir" "${@:-modules}"
