// SPDX-License-Identifier: GPL-2.0

//! libFuzzer drives the pool with operation sequences decoded from its
//! bytes, checked after every step against the model of
//! `restricted_dma_pool::model` (answers, bytes, counters, invariants).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    restricted_dma_pool::model::fuzz(data);
});
