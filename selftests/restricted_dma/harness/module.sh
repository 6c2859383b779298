#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make module` (and `make clean`, and lint's clippy run): Kbuild, out of tree,
# against the flavour's cached kernel build (env.sh):
#   module.sh [TARGET...]          restricted_dma.ko (not for the built-in flavour)
#   module.sh --test [TARGET...]   rdma_test.ko, the kselftests' test driver
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
*) name=restricted_dma; sources=("$RDMA_REPO/Kbuild" "$RDMA_REPO/rust") ;;
esac
dir=$RDMA_MODBUILD/$name
mkdir -p "$dir"
# Fresh links each time, so that a file deleted from the repository is gone
# here too; make follows them to the sources' own times.
find "$dir" -type l -delete
cp -rs "${sources[@]}" "$dir/"
exec "${RDMA_KMAKE[@]}" -C "$RDMA_KBUILD" M="$dir" "${@:-modules}"
