// SPDX-License-Identifier: GPL-2.0

//! Thin, typed wrappers around the C API this module uses.
//!
//! Every call into C through [`crate::ffi`] lives in this directory, and each
//! `unsafe` block here carries the proof of its safety. The code above these
//! wrappers (region handling, attaching, the DMA operations) is safe Rust.

use crate::ffi as bindings;
use core::fmt;
use kernel::prelude::*;

#[cfg(not(MODULE))]
pub(crate) mod builtin;
pub(crate) mod bus;
pub(crate) mod debugfs;
pub(crate) mod device;
pub(crate) mod dma;
pub(crate) mod gate;
pub(crate) mod lock;
pub(crate) mod memory;
pub(crate) mod of;
pub(crate) mod slot;
pub(crate) mod sysfs;
pub(crate) mod trace;
pub(crate) mod virtio;
pub(crate) mod work;

/// What a debugfs or sysfs file prints of its owner, on every read.
pub(crate) type Show<T> = fn(&T, &mut dyn fmt::Write) -> fmt::Result;

/// The CPU this code runs on (a hint: the caller may migrate right after).
pub(crate) fn this_cpu() -> usize {
    // SAFETY: `raw_smp_processor_id` has no preconditions.
    unsafe { bindings::rsdma_cpu() as usize }
}

/// The number of possible CPU ids (`nr_cpu_ids`).
pub(crate) fn possible_cpus() -> usize {
    // SAFETY: Reads a variable fixed at boot.
    unsafe { bindings::rsdma_nr_cpu_ids() as usize }
}

/// Whether a rate-limited message may be printed now (one shared limit, the
/// kernel's default: at most 10 messages every 5 seconds).
pub(crate) fn ratelimit() -> bool {
    // SAFETY: `__ratelimit` on a static state has no preconditions.
    unsafe { bindings::rsdma_ratelimit() }
}

/// Sleeps for at least `ms` milliseconds (process context only).
pub(crate) fn sleep_ms(ms: u32) {
    // SAFETY: `msleep` may be called from any process context that may sleep;
    // our callers are the module's load and unload paths.
    unsafe { bindings::msleep(ms) };
}

/// Sleeps until `done` returns true, asking it every 100 ms (process
/// context only). While it is not done, `report` says what it waits for: at
/// once, then every `every_ms` milliseconds. For unload, which waits for
/// what could still call the module's code, and names it.
pub(crate) fn wait_until(every_ms: u32, mut done: impl FnMut() -> bool, mut report: impl FnMut()) {
    const POLL_MS: u32 = 100;
    let mut report_in_ms = 0;
    while !done() {
        if report_in_ms == 0 {
            report();
            report_in_ms = every_ms;
        }
        sleep_ms(POLL_MS);
        report_in_ms = report_in_ms.saturating_sub(POLL_MS);
    }
}

/// Dropped at unload, once no device has our tables: waits until no DMA op
/// or deferred task of ours that started before it is still running
/// anywhere (an op's last lines, a late free's kick of the deferred task),
/// so that what they use (the regions, then the module's text) can go.
/// Taking a table off a device stops new calls, not those under way.
pub(crate) struct Quiesce;

impl Drop for Quiesce {
    fn drop(&mut self) {
        // SAFETY: Process context (module unload), no locks held.
        unsafe { bindings::rsdma_quiesce() };
    }
}

/// Keeps `value` alive for good, past the module's unload.
///
/// It goes into an allocation that kmemleak is told is no leak: kmemleak
/// still scans it, so what `value` refers to stays referenced too. Should
/// that allocation fail, `value` is leaked all the same (and kmemleak may
/// report it): never dropped.
pub(crate) fn keep_forever<T>(value: T) {
    match KBox::<T>::new_uninit(GFP_KERNEL) {
        Ok(slot) => {
            let raw = KBox::into_raw(KBox::write(slot, value));
            // SAFETY: `raw` is the start of a live allocation we just made
            // and never free; `kmemleak_not_leak` only flags it.
            unsafe { bindings::rsdma_kmemleak_not_leak(raw.cast()) };
        }
        Err(_) => core::mem::forget(value),
    }
}

/// A reference on this module: while one is held, the module cannot be
/// unloaded (`delete_module` answers `-EWOULDBLOCK`, which `rmmod` reports as
/// "Resource temporarily unavailable"). Built in, it holds nothing: the module
/// never goes.
///
/// Dropping one lets the module go: drop it only where unload waits for the
/// code that drops it to finish (a bus notifier, which unload unregisters, or
/// a [`work::Deferred`] task, which unload flushes).
pub(crate) struct ModulePin(());

impl ModulePin {
    /// Takes a reference; `None` once the module is unloading.
    pub(crate) fn take() -> Option<Self> {
        // SAFETY: `try_module_get` on our own module has no preconditions.
        // (`then`, not `then_some`: a pin made and dropped would put a
        // reference never taken.)
        unsafe { bindings::rsdma_module_pin() }.then(|| Self(()))
    }
}

impl Drop for ModulePin {
    fn drop(&mut self) {
        // SAFETY: We hold the reference `take` got (type invariant).
        unsafe { bindings::rsdma_module_unpin() };
    }
}

/// An errno printed by name where we know it (this kernel has no
/// `CONFIG_SYMBOLIC_ERRNAME` to name it), by number otherwise.
pub(crate) struct Errno(pub(crate) Error);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = [
            (EINVAL, "EINVAL"),
            (EBUSY, "EBUSY"),
            (ENOSPC, "ENOSPC"),
            (ENOMEM, "ENOMEM"),
            (EAGAIN, "EAGAIN"),
            (EPERM, "EPERM"),
        ];
        match known.iter().find(|(e, _)| *e == self.0) {
            Some((_, name)) => write!(f, "-{}", name),
            None => write!(f, "errno {}", self.0.to_errno()),
        }
    }
}
