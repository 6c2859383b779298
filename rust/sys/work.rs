// SPDX-License-Identifier: GPL-2.0

//! One task deferred to process context: the module's single work item.
//!
//! The DMA ops run in any context, interrupts included, and some of what
//! must follow them cannot: dropping a device reference or the module
//! reference that a detached device holds. So an op [`Deferred::kick`]s a
//! task, and the kernel's workqueue runs it soon after, in process context.
//! The module has one such task ([`Task`]); kicking it again before it ran
//! runs it once.
//!
//! Unload drops the [`Deferred`], which waits for a run in progress: no
//! run outlives the module's text, even one that drops the module's last
//! reference.

use crate::ffi as bindings;
use core::marker::PhantomData;

/// What the deferred task does.
pub(crate) trait Task: 'static {
    /// Runs in process context (it may sleep).
    fn run();
}

/// The work function's call into Rust.
///
/// # Safety
///
/// Called by `rsdma_deferred_run()` in `helpers.c`, in process context.
unsafe extern "C" fn run<T: Task>() {
    T::run();
}

/// The deferred task `T`, from its start to its drop.
pub(crate) struct Deferred<T: Task>(PhantomData<T>);

impl<T: Task> Deferred<T> {
    /// Makes `T` the task that [`Deferred::kick`] runs.
    pub(crate) fn start() -> Self {
        // SAFETY: `run::<T>` is a function of this module, and `drop` clears
        // it and waits for a run in progress before the module can go.
        unsafe { bindings::rsdma_defer_set(Some(run::<T>)) };
        Self(PhantomData)
    }

    /// Has the task run soon, in process context; safe in any context.
    /// Does nothing once the `Deferred` is dropped.
    pub(crate) fn kick() {
        // SAFETY: `schedule_work` on a static work item has no preconditions.
        unsafe { bindings::rsdma_defer_kick() };
    }
}

impl<T: Task> Drop for Deferred<T> {
    fn drop(&mut self) {
        // SAFETY: Clearing the function has no preconditions; `flush_work`
        // then waits for a run that had already read it.
        unsafe {
            bindings::rsdma_defer_set(None);
            bindings::rsdma_defer_flush();
        }
    }
}
