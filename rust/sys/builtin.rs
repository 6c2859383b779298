// SPDX-License-Identifier: GPL-2.0

//! The entry points `ffi/early.c` calls when the module is built in: raw
//! values in, the glue's typed calls out (`crate::builtin`).

use super::device::Device;
use crate::ffi as bindings;
use core::ffi::{c_char, c_int};
use kernel::prelude::*;
use kernel::str::CStr;

/// The facts of a `/reserved-memory` node, read from the flat tree at early
/// boot by `rdma_rmem_init()`.
pub(crate) struct FlatNodeFacts<'a>(&'a bindings::rdma_node_facts);

impl FlatNodeFacts<'_> {
    /// The first `reg` entry, if any, and whether there are more.
    pub(crate) fn reg(&self) -> (Option<(u64, u64)>, bool) {
        let f = self.0;
        (f.has_reg.then_some((f.reg_base, f.reg_size)), f.more_ranges)
    }

    /// `size`, `reusable`, `linux,cma-default`, `linux,dma-default`,
    /// `no-map`: whether the node has each.
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

    /// What the boot code reserved for the node.
    pub(crate) fn reserved(&self) -> (u64, u64) {
        (self.0.reserved_base, self.0.reserved_size)
    }
}

/// Judges a node at early boot; 0 to accept it, -ENOENT after reporting why
/// not.
///
/// # Safety
///
/// Called by `rdma_rmem_init()` only, with facts and a name valid for the
/// call.
#[no_mangle]
unsafe extern "C" fn rdma_early_check(
    facts: *const bindings::rdma_node_facts,
    name: *const c_char,
) -> c_int {
    // SAFETY: Valid for the call (the caller's requirement); `name` is
    // the node's NUL-terminated name, which lives in the flat tree.
    let (facts, name) = unsafe { (FlatNodeFacts(&*facts), CStr::from_char_ptr(name)) };
    if crate::builtin::early_check(&facts, name) {
        0
    } else {
        ENOENT.to_errno()
    }
}

/// Starts the module at `subsys_initcall`.
#[no_mangle]
extern "C" fn rdma_builtin_start() -> c_int {
    match crate::builtin::start() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `device_init` of the `reserved_mem_ops` of the region at `base`.
///
/// # Safety
///
/// Called by `of_reserved_mem_device_init_by_idx()` only, with a live device
/// (whose driver is probing it).
#[no_mangle]
unsafe extern "C" fn rdma_rmem_device_init(base: u64, dev: *mut bindings::device) -> c_int {
    // SAFETY: A live device for the call (the caller's requirement).
    let dev = unsafe { Device::from_raw(dev) };
    match crate::builtin::device_init(base, dev) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
