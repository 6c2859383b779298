#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# rustfmt and clippy over the module (through Kbuild, CLIPPY=1) and the pool
# crate (through cargo). Fails on any finding.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$RDMA_REPO"
export PATH=/usr/bin:/bin:$PATH
rustfmt --edition 2021 --check --config-path "$RDMA_KSRC/.rustfmt.toml" \
  rust/restricted_dma.rs rust/pool/lib.rs
(cd rust/pool && CARGO_TARGET_DIR=$RDMA_CACHE/cargo-target \
  "$RDMA_CARGO" clippy --quiet --all-targets -- -D warnings)
touch rust/restricted_dma.rs
"$RDMA_SELFTESTS/harness/module.sh" CLIPPY=1 modules 2>&1 | tee /tmp/rdma-clippy.log
# rustc colours its output: strip the escapes before looking for findings.
! sed 's/\x1b\[[0-9;]*m//g' /tmp/rdma-clippy.log | grep -Eq '^(warning|error)' || exit 1
echo "lint: clean"
