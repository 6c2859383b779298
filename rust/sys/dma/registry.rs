// SPDX-License-Identifier: GPL-2.0

//! The registry: the instances behind the tables, entry `k` behind table
//! `k` (`tables.rs`), found by its ops with one atomic load, no lookup and no
//! lock.
//!
//! Lifetime: an instance is published in its entry before any device gets
//! one of the entry's tables, and withdrawn only when no device we gave
//! either of them has one any more (`Registry::withdraw`, in `tables.rs`,
//! asks the record `install` and `uninstall` keep of each device; a driver may
//! copy a table to a device of its own, `set_dma_ops(child,
//! get_dma_ops(parent))`, which the record does not count and the module
//! waits out before it unloads). A device loses our table only when it can
//! hold nothing of the instance any more, so no call can find a withdrawn
//! entry's instance gone.

use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

/// How many instances (each with an ops table of its own) a registry holds.
pub(crate) const MAX_TABLES: usize = 8;

/// Instances of `T`, entry `k` served by ops table `k`.
///
/// # Invariants
///
/// A non-null entry is a pointer from `Arc::into_raw` whose reference the
/// registry owns; it is only cleared by [`Registry::take`], when no
/// device has the entry's table.
pub(crate) struct Registry<T> {
    entries: [AtomicPtr<T>; MAX_TABLES],
}

impl<T: Send + Sync> Registry<T> {
    /// An empty registry.
    pub(crate) const fn new() -> Self {
        Self {
            entries: [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_TABLES],
        }
    }

    /// Publishes `value` in entry `k`, for table `k` to find.
    pub(crate) fn publish(&self, k: usize, value: Arc<T>) -> Result {
        let entry = self.entries.get(k).ok_or(EINVAL)?;
        let raw = Arc::into_raw(value).cast_mut();
        if entry
            .compare_exchange(
                core::ptr::null_mut(),
                raw,
                Ordering::Release,
                Ordering::Relaxed,
            )
            .is_err()
        {
            // SAFETY: `raw` came from `Arc::into_raw` just above and was not
            // stored.
            drop(unsafe { Arc::from_raw(raw) });
            return Err(EBUSY);
        }
        // INVARIANT: the entry owns the reference `into_raw` gave up.
        Ok(())
    }

    /// Takes the instance out of entry `k` and returns it (`None`: the
    /// entry is empty).
    ///
    /// # Safety
    ///
    /// No device may have one of entry `k`'s tables: no op may be running
    /// on the instance, nor start. (`Registry::withdraw`, in `tables.rs`,
    /// asks the record of devices before it calls this.)
    pub(super) unsafe fn take(&self, k: usize) -> Option<Arc<T>> {
        let raw = self
            .entries
            .get(k)?
            .swap(core::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: A non-null entry owns a reference from `Arc::into_raw`
        // (type invariant), which we take back; no op can be using the
        // instance (the caller's promise). INVARIANT: the entry is null.
        (!raw.is_null()).then(|| unsafe { Arc::from_raw(raw) })
    }

    /// The published instance for which `pred` holds, with a reference of
    /// its own. For slow paths (binding a device): it walks all entries.
    pub(crate) fn find(&self, mut pred: impl FnMut(&T) -> bool) -> Option<Arc<T>> {
        self.entries.iter().find_map(|entry| {
            let raw = entry.load(Ordering::Acquire);
            if raw.is_null() {
                return None;
            }
            // SAFETY: A non-null entry owns a reference (type invariant), and
            // our callers run where entries are not withdrawn under them (bus
            // events, the deferred task and the module's load, all before
            // its unload withdraws them); the borrow becomes a reference of
            // our own.
            let value: Arc<T> = unsafe { ArcBorrow::from_raw(raw) }.into();
            pred(&value).then_some(value)
        })
    }

    /// Calls `f` on every published instance. For slow paths, where entries
    /// are not withdrawn under the caller (as [`Registry::find`]).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        // `find` with a predicate that is never true visits every entry.
        let _ = self.find(|v| {
            f(v);
            false
        });
    }

    /// Runs `f` on the instance of entry `k`, for table `k`'s ops; `None`
    /// when the entry is empty. The borrow cannot outlive `f`.
    pub(super) fn with<X>(&self, k: usize, f: impl FnOnce(&T) -> X) -> Option<X> {
        let raw = self.entries.get(k)?.load(Ordering::Acquire);
        // SAFETY: A non-null entry owns a reference to a live instance (type
        // invariant). It is only cleared, and that reference dropped, when no
        // device has table `k`, whereas its ops run only for a device that
        // has it (see the module docs); so the instance outlives the op that
        // calls us, and the borrow ends with `f`.
        unsafe { raw.as_ref() }.map(f)
    }
}
