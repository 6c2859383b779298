// SPDX-License-Identifier: GPL-2.0

//! A value the module publishes from load to unload, for code that is only
//! ever called, never handed it: bus listeners, the deferred task.
//!
//! A static [`Slot`] holds it; [`Slot::publish`] fills the slot and returns
//! the [`Publication`], whose [`Publication::withdraw`] (or drop) empties it
//! again and waits until no reader that found the value is still using it.
//! Readers ([`Slot::with`]) may run in any context; withdrawing sleeps.

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::SeqCst};
use kernel::prelude::*;

/// A static place for one published value of type `T`.
///
/// # Invariants
///
/// `ptr` is null or a pointer from `KBox::into_raw` owned by the one live
/// [`Publication`] of this slot, which frees it only after it has set `ptr`
/// back to null and seen `readers` at 0 after that.
pub(crate) struct Slot<T> {
    ptr: AtomicPtr<T>,
    /// Readers between their count and their last use of the value.
    readers: AtomicUsize,
}

impl<T: Send + Sync> Slot<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(core::ptr::null_mut()),
            readers: AtomicUsize::new(0),
        }
    }

    /// Publishes `value` until the returned publication is withdrawn;
    /// `EBUSY` (and `value` dropped) if something is published already.
    pub(crate) fn publish(&'static self, value: KBox<T>) -> Result<Publication<T>> {
        let raw = KBox::into_raw(value);
        if self
            .ptr
            .compare_exchange(core::ptr::null_mut(), raw, SeqCst, SeqCst)
            .is_err()
        {
            // SAFETY: `raw` came from `KBox::into_raw` just above and was not
            // stored.
            drop(unsafe { KBox::from_raw(raw) });
            return Err(EBUSY);
        }
        // INVARIANT: the publication owns `raw`, which the slot holds.
        Ok(Publication { slot: self })
    }

    /// Runs `f` on the published value; `None` when there is none.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        // Counted before the value is looked at: a withdrawal that empties
        // the slot after this waits for us.
        self.readers.fetch_add(1, SeqCst);
        let raw = self.ptr.load(SeqCst);
        // SAFETY: A non-null `ptr` is a live value (type invariant) that is
        // not freed before `readers` falls back to 0 after the slot is
        // emptied, and we hold one count until `f` returns.
        let result = unsafe { raw.as_ref() }.map(f);
        self.readers.fetch_sub(1, SeqCst);
        result
    }
}

/// The published value of a [`Slot`], and its owner.
pub(crate) struct Publication<T: Send + Sync + 'static> {
    slot: &'static Slot<T>,
}

impl<T: Send + Sync + 'static> Publication<T> {
    /// Empties the slot and waits until no reader is still using the value;
    /// returns it.
    pub(crate) fn withdraw(self) -> KBox<T> {
        let slot = self.slot;
        core::mem::forget(self);
        Self::take(slot)
    }

    fn take(slot: &'static Slot<T>) -> KBox<T> {
        let raw = slot.ptr.swap(core::ptr::null_mut(), SeqCst);
        while slot.readers.load(SeqCst) != 0 {
            super::sleep_ms(1);
        }
        // SAFETY: Ours (type invariant of `Slot`): the slot no longer hands
        // it out and no reader that found it is left; it was published, so
        // it is not null.
        unsafe { KBox::from_raw(raw) }
    }
}

impl<T: Send + Sync + 'static> Drop for Publication<T> {
    fn drop(&mut self) {
        drop(Self::take(self.slot));
    }
}
