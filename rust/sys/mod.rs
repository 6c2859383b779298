// SPDX-License-Identifier: GPL-2.0

//! Thin, typed wrappers around the C API this module uses.
//!
//! Every call into C through [`crate::ffi`] lives in this directory, and each
//! `unsafe` block here carries the proof of its safety. The code above these
//! wrappers (region handling, attaching, the DMA operations) is safe Rust.

pub mod debugfs;
pub mod device;
pub mod lock;
pub mod memory;
pub mod of;
