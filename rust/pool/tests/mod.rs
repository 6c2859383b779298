// SPDX-License-Identifier: GPL-2.0

//! Host tests of the pool, by subject. The simulated machine and the model
//! they share are in `model.rs`, which the fuzzer uses too.

mod props;
mod threads;
mod unit;
