#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make module` (and `make clean`): Kbuild, out of tree, against the cached
# kernel build: module.sh [TARGET...], default `modules`.
set -euo pipefail
. "$(dirname "$0")/env.sh"
export PATH=/usr/bin:/bin:$PATH
exec "${RDMA_KMAKE[@]}" -C "$RDMA_KBUILD" M="$RDMA_REPO" "${@:-modules}"
