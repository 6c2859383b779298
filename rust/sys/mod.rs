// SPDX-License-Identifier: GPL-2.0

//! Thin, typed wrappers around the C API this module uses.
//!
//! Every call into C through [`crate::ffi`] lives in this directory, and each
//! `unsafe` block here carries the proof of its safety. The code above these
//! wrappers (region handling, attaching, the DMA operations) is safe Rust.

use crate::ffi as bindings;

pub(crate) mod bus;
pub(crate) mod debugfs;
pub(crate) mod device;
pub(crate) mod dma;
pub(crate) mod lock;
pub(crate) mod memory;
pub(crate) mod of;
pub(crate) mod virtio;

/// The CPU this code runs on (a hint: the caller may migrate right after).
pub(crate) fn this_cpu() -> usize {
    // SAFETY: `raw_smp_processor_id` has no preconditions.
    unsafe { bindings::rdma_cpu() as usize }
}

/// The number of possible CPU ids (`nr_cpu_ids`).
pub(crate) fn possible_cpus() -> usize {
    // SAFETY: Reads a variable fixed at boot.
    unsafe { bindings::rdma_nr_cpu_ids() as usize }
}

/// Whether a rate-limited message may be printed now (one shared limit, the
/// kernel's default: at most 10 messages every 5 seconds).
pub(crate) fn ratelimit() -> bool {
    // SAFETY: `__ratelimit` on a static state has no preconditions.
    unsafe { bindings::rdma_ratelimit() }
}

/// Sleeps for at least `ms` milliseconds (process context only).
pub(crate) fn sleep_ms(ms: u32) {
    // SAFETY: `msleep` may be called from any process context that may sleep;
    // our callers are the module's load and unload paths.
    unsafe { bindings::msleep(ms) };
}
