// SPDX-License-Identifier: GPL-2.0

//! The scatterlists handed to the ops: a `struct scatterlist` entry, and the
//! first entries of a list as an iterator.

use crate::ffi as bindings;
use crate::sys::memory::Original;
use core::ffi::c_int;
use core::ptr::NonNull;

/// One entry of a scatterlist handed to the ops.
///
/// # Invariants
///
/// Points to a live `struct scatterlist` entry for as long as the ops call
/// that made it runs (the DMA API owns the list for the call).
#[derive(Clone, Copy)]
pub(crate) struct SgEntry(NonNull<bindings::scatterlist>);

impl SgEntry {
    /// The entry's buffer; `None` when its address wraps or it has no
    /// page.
    pub(crate) fn original(&self) -> Option<Original> {
        // SAFETY: The entry is live (type invariant), and an entry handed
        // to `map_sg` has a page, or none (a driver's bug the helper
        // refuses).
        unsafe { Original::of_sg(self.0.as_ptr()) }
    }

    /// Length of the entry's buffer in bytes.
    pub(crate) fn len(&self) -> usize {
        // SAFETY: The entry is live (type invariant).
        unsafe { bindings::rsdma_sg_len(self.0.as_ptr()) as usize }
    }

    /// Sets the DMA address and length the device sees for this entry.
    pub(crate) fn set_dma(&self, addr: u64, len: usize) {
        // SAFETY: The entry is live (type invariant) and the DMA API lets the
        // map operation write its DMA fields.
        unsafe { bindings::rsdma_sg_set_dma(self.0.as_ptr(), addr, len as u32) };
    }

    /// The DMA address set by `map_sg`.
    pub(crate) fn dma_address(&self) -> u64 {
        // SAFETY: The entry is live (type invariant).
        unsafe { bindings::rsdma_sg_dma_address(self.0.as_ptr()) }
    }

    /// The DMA length set by `map_sg`.
    pub(crate) fn dma_len(&self) -> usize {
        // SAFETY: The entry is live (type invariant).
        unsafe { bindings::rsdma_sg_dma_len(self.0.as_ptr()) as usize }
    }
}

/// The first `nents` entries of a scatterlist, as an iterator.
#[derive(Clone, Copy)]
pub(crate) struct SgIter {
    next: *mut bindings::scatterlist,
    left: usize,
}

impl SgIter {
    /// # Safety
    ///
    /// `sg` heads a live list of at least `nents` entries that stays valid
    /// while the iterator and its entries are used (for one ops call).
    pub(super) unsafe fn new(sg: *mut bindings::scatterlist, nents: c_int) -> Self {
        Self {
            next: sg,
            left: usize::try_from(nents).unwrap_or(0),
        }
    }
}

impl Iterator for SgIter {
    type Item = SgEntry;

    fn next(&mut self) -> Option<SgEntry> {
        if self.left == 0 {
            return None;
        }
        let cur = NonNull::new(self.next)?;
        self.left -= 1;
        // SAFETY: `cur` is a live entry of the list (constructor's
        // requirement); `sg_next` follows chain links and returns the next one.
        self.next = unsafe { bindings::sg_next(cur.as_ptr()) };
        // INVARIANT: `cur` is live for the ops call (constructor's requirement).
        Some(SgEntry(cur))
    }
}
