#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# rustfmt and clippy over the module (through Kbuild, CLIPPY=1, against the
# plain kernel) and the pool crate (through cargo). Fails on any finding.
set -euo pipefail
export RDMA_FLAVOUR=module
. "$(dirname "$0")/env.sh"
cd "$RDMA_REPO"
export PATH=/usr/bin:/bin:$PATH
rustfmt --edition 2021 --check --config-path "$RDMA_KSRC/.rustfmt.toml" \
  rust/restricted_dma.rs rust/pool/lib.rs rust/pool/tests/mod.rs rust/pool/benches/core.rs \
  rust/pool/fuzz/fuzz_targets/pool.rs
(cd rust/pool && CARGO_TARGET_DIR=$RDMA_CARGO_TARGET \
  "$RDMA_CARGO" clippy --quiet --all-targets -- -D warnings)
# The window backend, a host program: rustfmt's default style, and clippy.
(cd "$RDMA_REPO/tools/window-backend" && "$RDMA_CARGO" fmt --check &&
  CARGO_TARGET_DIR=$RDMA_CACHE/window-backend-target \
  "$RDMA_CARGO" clippy --quiet --release --all-targets --locked -- -D warnings)
# The module through clippy-driver, in a build directory of its own (module.sh).
"$RDMA_HARNESS/module.sh" --clippy 2>&1 | tee "$RDMA_CACHE/clippy.log"
# rustc colours its output: strip the escapes before looking for findings.
! sed 's/\x1b\[[0-9;]*m//g' "$RDMA_CACHE/clippy.log" | grep -Eq '^(warning|error)' || exit 1
echo "lint: clean"
