// SPDX-License-Identifier: GPL-2.0

//! A spinlock that disables interrupts while held.
//!
//! DMA mappings are made and released in every context, hard interrupts
//! included (a virtio completion unmaps from its interrupt handler), so a lock
//! taken on the mapping path must keep interrupts off or a completion on the
//! same CPU would deadlock on it. The 6.12 kernel crate's `SpinLock` does not,
//! hence this small one over `spin_lock_irqsave`.

use crate::ffi as bindings;
use core::cell::UnsafeCell;
use kernel::init::PinInit;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Data of type `T` behind a `spinlock_t` taken with interrupts disabled.
///
/// # Invariants
///
/// `lock` is initialised (by [`IrqSpinLock::new`]) before any use, and `data`
/// is only accessed while `lock` is held.
#[pin_data]
pub(crate) struct IrqSpinLock<T> {
    #[pin]
    lock: Opaque<bindings::spinlock_t>,
    data: UnsafeCell<T>,
}

// SAFETY: The lock hands `&mut T` to one thread at a time, so `T: Send` suffices.
unsafe impl<T: Send> Send for IrqSpinLock<T> {}
// SAFETY: As above: all access to `T` is serialised by the lock.
unsafe impl<T: Send> Sync for IrqSpinLock<T> {}

impl<T> IrqSpinLock<T> {
    /// An initialiser for a lock around `data`.
    pub(crate) fn new(data: T) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes and pinned; `spin_lock_init`
            // initialises it in place.
            lock <- Opaque::ffi_init(|slot| unsafe { bindings::rsdma_spin_lock_init(slot) }),
            data: UnsafeCell::new(data),
        })
    }

    /// The same, for a lock that is held while locks made by
    /// [`IrqSpinLock::new`] are taken (never the other way round): it is in
    /// a lockdep class of its own, so that the nesting is not mistaken for
    /// a lock taken twice.
    pub(crate) fn new_outer(data: T) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: As in `new`.
            lock <- Opaque::ffi_init(|slot| unsafe { bindings::rsdma_spin_lock_init_outer(slot) }),
            data: UnsafeCell::new(data),
        })
    }

    /// Runs `f` with the lock held and interrupts disabled on this CPU.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: The lock was initialised (type invariant).
        let flags = unsafe { bindings::rsdma_spin_lock_irqsave(self.lock.get()) };
        // SAFETY: We hold the lock, so no other reference to `data` exists.
        let r = f(unsafe { &mut *self.data.get() });
        // SAFETY: We took the lock above with these flags.
        unsafe { bindings::rsdma_spin_unlock_irqrestore(self.lock.get(), flags) };
        r
    }
}
