// SPDX-License-Identifier: GPL-2.0

//! Built into the kernel: judged at early boot, started before any driver.
//!
//! A loadable module arrives after the kernel has probed every device once,
//! without a pool: by then a virtio driver has negotiated features and set
//! up its rings outside the window, which a protected guest's host cannot
//! reach. Built in, `ffi/early.c` makes the module the reserved-memory
//! handler of `restricted-dma-region` nodes, which judges each node while
//! the tree is still flat ([`early_check`], the same rules and messages as
//! [`region::check`] at load), and starts the module at `subsys_initcall`
//! ([`start`]), before any driver registers: every restricted device gets
//! its pool at its first bind, and nothing is re-probed. The module state is
//! kept for good. Drivers that call `of_reserved_mem_device_init()` get the
//! region's ops from [`device_init`].

use crate::attach;
use crate::region::{self, NodeFacts, DEFAULT_POOLS};
use crate::sys::builtin::FlatNodeFacts;
use crate::sys::device::Device;
use crate::RestrictedDma;
use kernel::prelude::*;
use kernel::str::CStr;

/// Judges node `name` at early boot; false, after reporting why, to leave it
/// unclaimed (and still reserved).
pub(crate) fn early_check(flat: &FlatNodeFacts<'_>, name: &CStr) -> bool {
    let (reg, more_ranges) = flat.reg();
    let [size_prop, reusable, cma_default, dma_default, no_map] = flat.flags();
    let facts = NodeFacts {
        reg,
        more_ranges,
        size_prop,
        reusable,
        default_pool: [cma_default, dma_default]
            .into_iter()
            .zip(DEFAULT_POOLS)
            .find_map(|(has, p)| has.then_some(p)),
        no_map,
        // A fresh boot: no earlier load can have left a mark.
        leaked: false,
        reserved: Some(flat.reserved()),
    };
    match region::check(&facts) {
        Ok(()) => true,
        Err(why) => {
            region::report(name, &why);
            false
        }
    }
}

/// Starts the module for good: claims the regions the early handler
/// accepted and starts watching the buses.
pub(crate) fn start() -> Result {
    let this = RestrictedDma::start()?;
    crate::sys::keep_forever(this);
    Ok(())
}

/// A driver asked for the region at `base` for `dev`
/// (`of_reserved_mem_device_init()`).
pub(crate) fn device_init(base: u64, dev: &Device) -> Result {
    attach::attach_by_driver(dev, base)
}
