// SPDX-License-Identifier: GPL-2.0

//! restricted_dma: keeps every DMA of a device inside one static window.
//!
//! Some virtual machines share a single static range of memory with whoever
//! implements their devices: pKVM-style protected guests, a primary VM serving
//! a secondary one. Every DMA of such a device, streaming or coherent, must
//! then stay inside that window. The device tree names the window with a
//! `/reserved-memory` node `compatible = "restricted-dma-region"` and points
//! each device at it with `memory-region`.
//!
//! This module claims those regions at load ([`region`]) and publishes what it
//! claimed in debugfs ([`debugfs`]).
//!
//! Layout: [`ffi`] is the C edge (bindings and helpers), [`sys`] the typed
//! wrappers over it (the only place with `unsafe`), and the modules at the top
//! level are the module's logic in safe Rust.

use kernel::c_str;
use kernel::prelude::*;

mod debugfs;
mod ffi;
mod region;
mod sys;

use region::Region;
use sys::debugfs::Dir;

module! {
    type: RestrictedDma,
    name: "restricted_dma",
    author: "restricted-dma developers",
    description: "Per-device bounce pools in restricted-dma-region windows",
    license: "GPL",
}

/// The module's state, from load to unload.
struct RestrictedDma {
    // Field order is drop order: debugfs files point into the regions, so the
    // directories go first, then the root, then the regions themselves.
    region_dirs: KVec<Dir>,
    _root: Dir,
    regions: KVec<KBox<Region>>,
}

impl kernel::Module for RestrictedDma {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let regions = region::discover()?;
        let root = Dir::new(c_str!("restricted_dma"), None);
        let mut region_dirs = KVec::with_capacity(regions.len(), GFP_KERNEL)?;
        for r in regions.iter() {
            region_dirs.push(debugfs::publish(&root, r)?, GFP_KERNEL)?;
        }
        pr_info!("loaded, {} region(s) claimed\n", regions.len());
        Ok(Self { region_dirs, _root: root, regions })
    }
}

impl Drop for RestrictedDma {
    fn drop(&mut self) {
        self.region_dirs = KVec::new();
        pr_info!("unloading, releasing {} region(s)\n", self.regions.len());
    }
}
