#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make fuzz`: libFuzzer on the pool core (rust/pool/fuzz), for a bounded
# time (FUZZ_SECONDS, default 300), starting from the corpus kept in the
# repository. At the end the corpus is minimised (libFuzzer's merge) and
# the repository's copy replaced by it: commit what it found. `make check`
# replays that corpus as a plain cargo test (rust/pool/tests/props.rs).
#
# Needs a nightly Rust (cargo fuzz builds with -Z flags) and cargo-fuzz; it
# installs cargo-fuzz from crates.io if missing. Not part of `make check`.
set -euo pipefail
. "$(dirname "$0")/env.sh"
secs=${FUZZ_SECONDS:-300}
fuzz=$RDMA_REPO/rust/pool/fuzz
corpus=$fuzz/corpus/pool
work=$RDMA_CACHE/fuzz
mkdir -p "$work/corpus" "$work/merged"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: needs a nightly Rust toolchain (rustup toolchain install nightly)" >&2
  exit 2
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz >/dev/null

export CARGO_TARGET_DIR=$work/target
cp -n "$corpus"/* "$work/corpus/" 2>/dev/null || true
cd "$fuzz"
start=$(date +%s)
cargo +nightly fuzz run --release pool "$work/corpus" -- \
  -max_total_time="$secs" -max_len=4096 -print_final_stats=1 2>&1 | tee "$work/run.log" |
  grep -E '^(#[0-9]+ +(pulse|DONE)|stat::number_of_executed_units|stat::average_exec_per_sec|==|SUMMARY)' || true
status=${PIPESTATUS[0]}
echo "fuzz: ran $(( $(date +%s) - start )) s"
grep -E 'stat::number_of_executed_units|stat::new_units_added' "$work/run.log" || true
if [ "$status" -ne 0 ]; then
  echo "fuzz: libFuzzer found a failure; its input is under $fuzz/artifacts/pool" >&2
  exit 1
fi
# Keep a minimal corpus that covers what the run reached.
rm -rf "$work/merged" && mkdir -p "$work/merged"
cargo +nightly fuzz run --release pool "$work/merged" "$work/corpus" -- -merge=1 2>&1 | tail -n 1
rm -f "$corpus"/* && cp "$work/merged"/* "$corpus/"
echo "fuzz: $(ls "$corpus" | wc -l) inputs kept in $corpus"
