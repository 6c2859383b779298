// SPDX-License-Identifier: GPL-2.0

//! The entry points `ffi/early.c` calls when the module is built in.
//!
//! A user implements [`Early`] and defines the table the C side calls
//! through, which must be named `RSDMA_EARLY`:
//!
//! ```ignore
//! #[no_mangle]
//! static RSDMA_EARLY: EarlyOps = EarlyOps::new::<Builtin>();
//! ```
//!
//! The trampolines here turn the raw values into typed ones.

use super::device::Device;
use crate::ffi as bindings;
use core::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::str::CStr;

/// What a built-in module does at early boot and after.
pub(crate) trait Early: 'static {
    /// Judges a `/reserved-memory` node while the tree is still flat; false
    /// (after saying why) leaves it unclaimed.
    fn check(facts: &FlatNodeFacts<'_>, name: &CStr) -> bool;
    /// Starts the module, at `arch_initcall`.
    fn start() -> Result;
    /// The start failed with `err`: make sure no device behind a region
    /// runs unrestricted, with nothing to allocate.
    fn fail_closed(err: Error);
    /// A driver asked for the region at `base` for `dev`
    /// (`of_reserved_mem_device_init()`).
    fn device_init(base: u64, dev: &Device) -> Result;
    /// At `late_initcall_sync`: checks the claimed regions again, now that
    /// the kernel has freed what it frees late.
    fn recheck();
}

/// The facts of a `/reserved-memory` node, read from the flat tree at early
/// boot by `rsdma_rmem_init()`.
pub(crate) struct FlatNodeFacts<'a>(&'a bindings::rsdma_node_facts);

impl FlatNodeFacts<'_> {
    /// The first `reg` entry, if any, and whether there are more.
    pub(crate) fn reg(&self) -> (Option<(u64, u64)>, bool) {
        let f = self.0;
        (f.has_reg.then_some((f.reg_base, f.reg_size)), f.more_ranges)
    }

    /// Whether the node has each of `size`, `reusable`,
    /// `linux,cma-default`, `linux,dma-default` and `no-map`.
    pub(crate) fn flags(&self) -> [bool; 5] {
        let f = self.0;
        [
            f.size_prop,
            f.reusable,
            f.cma_default,
            f.dma_default,
            f.no_map,
        ]
    }

    /// Whether the node is a `restricted-dma-pool` (mainline's compatible),
    /// which may be placed at boot.
    pub(crate) fn placed_at_boot(&self) -> bool {
        self.0.placed_at_boot
    }

    /// Who else owns memory of the node's range, as early boot sees it.
    pub(crate) fn owned(&self) -> Option<super::memory::Owned> {
        super::memory::Owned::from_raw(self.0.owned, self.0.owned_at)
    }

    /// What the boot code reserved for the node.
    pub(crate) fn reserved(&self) -> (u64, u64) {
        (self.0.reserved_base, self.0.reserved_size)
    }
}

/// The table `early.c` calls (`struct rsdma_early_ops`), which holds only
/// function pointers.
#[repr(transparent)]
pub(crate) struct EarlyOps(bindings::rsdma_early_ops);

// SAFETY: Immutable, and only function pointers that any thread may call.
unsafe impl Sync for EarlyOps {}

impl EarlyOps {
    /// The table of `E`.
    pub(crate) const fn new<E: Early>() -> Self {
        Self(bindings::rsdma_early_ops {
            check: Some(check::<E>),
            start: Some(start::<E>),
            fail_closed: Some(fail_closed::<E>),
            device_init: Some(device_init::<E>),
            recheck: Some(recheck::<E>),
        })
    }
}

/// Judges a node at early boot; 0 to accept it, -ENOENT after reporting why
/// not.
///
/// # Safety
///
/// Called by `rsdma_rmem_init()` only, with facts and a name valid for the
/// call.
unsafe extern "C" fn check<E: Early>(
    facts: *const bindings::rsdma_node_facts,
    name: *const c_char,
) -> c_int {
    // SAFETY: Valid for the call (the caller's requirement); `name` is
    // the node's NUL-terminated name, which lives in the flat tree.
    let (facts, name) = unsafe { (FlatNodeFacts(&*facts), CStr::from_char_ptr(name)) };
    if E::check(&facts, name) {
        0
    } else {
        ENOENT.to_errno()
    }
}

/// Starts the module at `arch_initcall`.
extern "C" fn start<E: Early>() -> c_int {
    match E::start() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// After a failed start (`err`, a negative errno): fails closed.
extern "C" fn fail_closed<E: Early>(err: c_int) {
    E::fail_closed(Error::from_errno(err));
}

/// `device_init` of the `reserved_mem_ops` of the region at `base`.
///
/// # Safety
///
/// Called by `of_reserved_mem_device_init_by_idx()` only, with a live device
/// (whose driver is probing it).
unsafe extern "C" fn device_init<E: Early>(base: u64, dev: *mut bindings::device) -> c_int {
    // SAFETY: A live device for the call (the caller's requirement).
    let dev = unsafe { Device::from_raw(dev) };
    match E::device_init(base, dev) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// At `late_initcall_sync`.
extern "C" fn recheck<E: Early>() {
    E::recheck();
}
