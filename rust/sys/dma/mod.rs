// SPDX-License-Identifier: GPL-2.0

//! The `dma_map_ops` edge: raw pointers in, typed values out.
//!
//! A user of this module implements [`DmaOps`] (what each DMA operation does
//! for a device: every method refuses by default) and [`Registered`] (where
//! its instances and their tables live), and declares the statics. The
//! module's one user is `Region`: its [`DmaOps`] are in `dma_ops.rs`, where
//! every trampoline here lands, and its statics stand beside `Published` in
//! `region.rs`:
//!
//! ```ignore
//! static REGISTRY: Registry<Region> = Registry::new();
//! static TABLES: Tables = Tables::new::<Region>();
//! ```
//!
//! The DMA core calls a device's ops with nothing but the device, so each
//! instance gets an ops table of its own: table `k` is a monomorphised copy
//! of the same trampolines, which find instance `k` of the [`Registry`] with
//! one atomic load, no lookup and no lock, and call its [`DmaOps`] methods
//! with typed arguments. A device that must never do DMA gets the refusing
//! table ([`Table::Refuse`]: the trait's defaults).
//!
//! Each entry has a second table, its *draining* one ([`Table::Drain`]), for
//! a device whose driver is gone: it refuses every new mapping and
//! allocation (telling [`DmaOps::refused_late`]) and takes back what the
//! device still holds (telling [`DmaOps::released_late`] after each unmap or
//! free). A buffer may outlive its driver's binding (videobuf2, DRM GEM
//! objects, anything refcounted), and its free must still reach the pool.
//!
//! One file per C object, in the order a call crosses them:
//! - `tables.rs`: the `struct dma_map_ops` tables, and which one a device
//!   has (`dev->dma_ops`);
//! - `vtable.rs`: the tables' `extern "C"` trampolines;
//! - `registry.rs`: the instances the trampolines find, and their lifetime;
//! - `operations.rs`: [`DmaOps`], what the trampolines call;
//! - `refuse.rs`: the refusing table;
//! - `scatterlist.rs`: `struct scatterlist`, as the ops are handed one.

mod operations;
mod refuse;
mod registry;
mod scatterlist;
mod tables;
mod vtable;

pub(crate) use operations::{Attrs, DmaOps, Report, SyncFor};
pub(crate) use registry::{Registry, MAX_TABLES};
pub(crate) use scatterlist::SgIter;
pub(crate) use tables::{given, install, installed, uninstall, Registered, Table, Tables};
