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

mod attach;
mod bounce;
#[cfg(not(MODULE))]
mod builtin;
mod dma_ops;
mod ffi;
mod lifetime;
pub mod pool;
mod publish;
mod region;
mod sys;
mod virtio;

use region::{Published, Region};
use sys::debugfs::{Dir, Files};
use sys::sysfs::Class;
use sys::virtio::MemAccHook;
use sys::Errno;

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

/// The module's state, from load to unload.
///
/// Field order is drop order, the order of unload: every restricted device
/// is unbound and fenced first (no new DMA op starts after that), then the
/// virtio hook goes, then the sysfs and debugfs files, then the module waits
/// for the ops and the deferred work still under way (an op borrows its
/// region from the registry without a reference), and last the regions are
/// withdrawn (or kept, if a device may still write to one).
struct RestrictedDma {
    _attacher: attach::Attacher,
    _virtio: MemAccHook<virtio::Policy>,
    _sysfs: Option<Class<Region>>,
    _files: KVec<Files<Region>>,
    _devices: Files<publish::AllDevices>,
    _root: Dir,
    _quiesce: sys::Quiesce,
    regions: KVec<Published>,
}

impl kernel::Module for RestrictedDma {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Self::start().inspect_err(|e| {
            pr_err!(
                "load failed ({}): what it did is undone, as at unload\n",
                Errno(*e)
            )
        })
    }
}

impl RestrictedDma {
    /// Claims the regions, publishes them, hooks virtio and starts watching
    /// the buses (at load, or built in at `arch_initcall`). On an error
    /// what was done is undone, in the reverse order, by the locals' drops.
    fn start() -> Result<Self> {
        let mut regions = KVec::new();
        for r in region::discover()? {
            regions.push(Published::new(r)?, GFP_KERNEL)?;
        }
        // Dropped before `regions` on an error return too: a device may
        // have bound through a pool before a later step failed.
        let quiesce = sys::Quiesce;
        let root = Dir::new(c_str!("restricted_dma"), None);
        let mut files = KVec::with_capacity(regions.len(), GFP_KERNEL)?;
        for p in regions.iter() {
            files.push(publish::debugfs(&root, p.region())?, GFP_KERNEL)?;
        }
        let devices = publish::debugfs_devices(&root)?;
        let sysfs = publish::sysfs(regions.iter().map(Published::region));
        // Before any device binds through us, so that every virtio device
        // behind a region is checked for ACCESS_PLATFORM.
        let virtio = MemAccHook::<virtio::Policy>::install();
        // Last: from here on devices bind through the pools.
        let attacher = attach::Attacher::start()?;
        pr_info!("loaded, {} region(s) claimed\n", regions.len());
        Ok(Self {
            _attacher: attacher,
            _virtio: virtio,
            _sysfs: sysfs,
            _files: files,
            _devices: devices,
            _root: root,
            _quiesce: quiesce,
            regions,
        })
    }
}

impl Drop for RestrictedDma {
    fn drop(&mut self) {
        // The fields do the work, in their order, after this.
        pr_info!("unloading, {} region(s) to release\n", self.regions.len());
    }
}
