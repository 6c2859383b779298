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
//! At load the module claims those regions ([`region`]), builds a bounce pool
//! over each ([`pool`], [`bounce`]), and gives every device behind a region
//! DMA ops that bounce through its pool ([`dma_ops`]), attaching them as
//! drivers bind ([`attach`]); a virtio device among them must have negotiated
//! VIRTIO_F_ACCESS_PLATFORM or is refused ([`virtio`]). What it claimed and
//! counted is in debugfs
//! ([`debugfs`]). Unload unbinds those devices first, so that no mapping is
//! live when a region goes.
//!
//! Layout: [`ffi`] is the C edge (bindings and helpers), [`sys`] the typed
//! wrappers over it (the only place with `unsafe`), [`pool`] the bounce
//! allocator (no kernel types: it also runs under `cargo test`), and the other
//! modules the glue in safe Rust.

use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

mod attach;
mod bounce;
#[cfg(not(MODULE))]
mod builtin;
mod debugfs;
mod dma_ops;
mod ffi;
pub mod pool;
mod region;
mod sys;
mod virtio;

use region::Region;
use sys::debugfs::Dir;
use sys::dma;

// Loadable: the kernel crate's module machinery. Built in, `builtin.rs`
// starts the module earlier than `module!` could (its initcall is at device
// level, with the drivers), so only the log prefix is needed here.
#[cfg(MODULE)]
module! {
    type: RestrictedDma,
    name: "restricted_dma",
    author: "restricted-dma developers",
    description: "Per-device bounce pools in restricted-dma-region windows",
    license: "GPL",
}

/// The prefix of the module's log lines (what `module!` defines when
/// loadable).
#[cfg(not(MODULE))]
const __LOG_PREFIX: &[u8] = b"restricted_dma\0";

/// The module's state, from load to unload. Teardown order matters and is
/// spelled out in [`Drop`].
struct RestrictedDma {
    attacher: Option<attach::Attacher>,
    virtio_hook: Option<sys::virtio::MemAccHook>,
    region_dirs: KVec<sys::debugfs::RegionDir>,
    root: Dir,
    regions: KVec<Arc<Region>>,
}

impl kernel::Module for RestrictedDma {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Self::start()
    }
}

impl RestrictedDma {
    /// Claims the regions, publishes them, hooks virtio and starts watching
    /// the buses (at load, or built in at `subsys_initcall`).
    fn start() -> Result<Self> {
        // From here on, an error return drops `this`, whose `Drop` undoes
        // whatever was done so far.
        let mut this = Self {
            attacher: None,
            virtio_hook: None,
            region_dirs: KVec::new(),
            root: Dir::new(c_str!("restricted_dma"), None),
            regions: region::discover()?,
        };
        for r in this.regions.iter() {
            dma::publish(r.index, r.clone())?;
            let dir = debugfs::publish(&this.root, r)?;
            this.region_dirs.push(dir, GFP_KERNEL)?;
        }
        // Before any device binds through us, so that every virtio device
        // behind a region is checked for ACCESS_PLATFORM.
        this.virtio_hook = Some(sys::virtio::MemAccHook::install());
        // Last: from here on devices bind through the pools.
        this.attacher = Some(attach::Attacher::start()?);
        pr_info!("loaded, {} region(s) claimed\n", this.regions.len());
        Ok(this)
    }
}

impl Drop for RestrictedDma {
    fn drop(&mut self) {
        // 1. Unbind every device we serve: their drivers release all their
        //    mappings and allocations, and no DMA op runs after this.
        self.attacher = None;
        // With no device of ours left, the virtio hook has nothing to answer.
        self.virtio_hook = None;
        // 2. The debugfs files, and the region references they hold.
        self.region_dirs = KVec::new();
        // 3. Take the regions out of the ops' reach and let them go. A region
        //    with slots still in use (a driver that leaked a mapping) is kept
        //    mapped, never handed back: a device may still write to it.
        for r in self.regions.iter() {
            let published = match dma::withdraw(r.index) {
                Ok(published) => Some(published),
                // Never published: a load that failed half way.
                Err(e) if e == ENOENT => None,
                // A device still has its ops: the slot keeps its reference,
                // so the region stays alive and mapped for good.
                Err(_) => {
                    pr_err!(
                        "{}: still in use by a device at unload: region kept reserved and mapped\n",
                        &*r.name
                    );
                    continue;
                }
            };
            let used = r.pool.stats().used;
            if used != 0 {
                pr_err!(
                    "{}: {} slot(s) still in use at unload: region kept reserved and mapped\n",
                    &*r.name,
                    used
                );
                // Keeping one reference for good keeps the region (and its
                // mapping) alive; the mark on its node keeps later loads
                // from claiming it again.
                if let Err(e) = r
                    .node
                    .mark(region::LEAKED, c_str!("slots in use at unload"))
                {
                    pr_err!(
                        "{}: cannot mark the node ({}): do not load restricted_dma again before reboot\n",
                        &*r.name,
                        region::Errno(e)
                    );
                }
                sys::keep_forever(published.unwrap_or_else(|| r.clone()));
            }
        }
        pr_info!("unloaded, {} region(s) released\n", self.regions.len());
    }
}
