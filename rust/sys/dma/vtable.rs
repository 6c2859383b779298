// SPDX-License-Identifier: GPL-2.0

//! The C side of a `struct dma_map_ops`: one `extern "C"` trampoline per
//! op, which turns the raw arguments into typed ones and calls the
//! [`DmaOps`] method of what its [`Lookup`] finds; [`table`] fills a table
//! with the trampolines of one `Lookup` (`tables.rs` has one per registry
//! entry, `refuse.rs` the refusing one).

use super::operations::{Attrs, DmaOps, Report, SyncFor};
use super::scatterlist::SgIter;
use crate::ffi as bindings;
use crate::pool::{Block, Direction};
use crate::sys::device::Device;
use crate::sys::memory::Original;
use core::ffi::{c_int, c_ulong, c_void};
use kernel::prelude::*;

/// `DMA_MAPPING_ERROR`: the address that says a mapping failed.
const MAPPING_ERROR: u64 = u64::MAX;

// The pool reads a direction in the kernel's numbers (`Direction::from_raw`):
// hold it to this kernel's. The DMA core never passes `DMA_NONE` to ops.
const _: () = {
    assert!(matches!(
        Direction::from_raw(bindings::dma_data_direction_DMA_BIDIRECTIONAL),
        Some(Direction::Bidirectional)
    ));
    assert!(matches!(
        Direction::from_raw(bindings::dma_data_direction_DMA_TO_DEVICE),
        Some(Direction::ToDevice)
    ));
    assert!(matches!(
        Direction::from_raw(bindings::dma_data_direction_DMA_FROM_DEVICE),
        Some(Direction::FromDevice)
    ));
    assert!(Direction::from_raw(bindings::dma_data_direction_DMA_NONE).is_none());
};

/// How a table's trampolines find the [`DmaOps`] they call.
pub(super) trait Lookup: 'static {
    /// What the table's ops call.
    type Target: DmaOps;

    /// Whether the table drains: refuses new work, takes back the old.
    const DRAINING: bool = false;

    /// Runs `f` on the target; `None` when there is none (an empty entry).
    fn with<X>(f: impl FnOnce(&Self::Target) -> X) -> Option<X>;

    /// A draining table's refusal of `what`; true when the call is refused.
    fn refuses_new(dev: &Device, what: &str) -> bool {
        if Self::DRAINING {
            Self::with(|o| o.refused_late(dev, what));
        }
        Self::DRAINING
    }

    /// After an unmap or free: tells a draining table's target.
    fn released(dev: &Device) {
        if Self::DRAINING {
            Self::with(|o| o.released_late(dev));
        }
    }
}

/// Safe view of a device for the ops, from the pointer the DMA core passes.
///
/// # Safety
///
/// `dev` is the live device the DMA core calls an op for; it stays alive for
/// the call.
unsafe fn dev<'a>(dev: *mut bindings::device) -> &'a Device {
    // SAFETY: The caller's requirement.
    unsafe { Device::from_raw(dev) }
}

// The trampolines of table `L`. Each converts its arguments and calls the
// target's `DmaOps` method. SAFETY for all of them: the DMA core calls them
// with a live device that has this table, with pointers that are valid for
// the call as the DMA API documents, and `Lookup::with` is sound for the
// reasons given at `Registry::with`.

/// `map_page`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn map_page<L: Lookup>(
    d: *mut bindings::device,
    page: *mut bindings::page,
    offset: c_ulong,
    size: usize,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) -> bindings::dma_addr_t {
    // SAFETY: See above: `page` is a valid page the caller maps, or null
    // (a driver's bug, refused).
    let buf = unsafe { Original::of_page(page, offset as usize, size) };
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    // An offset that overflows is the caller's bug: refuse it, never panic.
    let (Some(buf), Some(dir)) = (buf, Direction::from_raw(dir)) else {
        return MAPPING_ERROR;
    };
    if L::refuses_new(dev, "map") {
        return MAPPING_ERROR;
    }
    L::with(|o| o.map(dev, buf, dir, Attrs(attrs)))
        .flatten()
        .unwrap_or(MAPPING_ERROR)
}

/// `unmap_page`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn unmap_page<L: Lookup>(
    d: *mut bindings::device,
    addr: bindings::dma_addr_t,
    size: usize,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    if let Some(dir) = Direction::from_raw(dir) {
        L::with(|o| o.unmap(dev, addr, size, dir, Attrs(attrs)));
    }
    L::released(dev);
}

/// `map_sg`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn map_sg<L: Lookup>(
    d: *mut bindings::device,
    sg: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) -> c_int {
    // SAFETY: See above: `sg` has `nents` entries, ours for the call.
    let (dev, sg) = unsafe { (dev(d), SgIter::new(sg, nents)) };
    let Some(dir) = Direction::from_raw(dir) else {
        return EINVAL.to_errno();
    };
    if L::refuses_new(dev, "map") {
        return EIO.to_errno();
    }
    L::with(|o| o.map_sg(dev, sg, dir, Attrs(attrs)))
        .unwrap_or(Err(EIO))
        .unwrap_or_else(|e| e.to_errno())
}

/// `unmap_sg`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn unmap_sg<L: Lookup>(
    d: *mut bindings::device,
    sg: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
    attrs: c_ulong,
) {
    // SAFETY: See above.
    let (dev, sg) = unsafe { (dev(d), SgIter::new(sg, nents)) };
    if let Some(dir) = Direction::from_raw(dir) {
        L::with(|o| o.unmap_sg(dev, sg, dir, Attrs(attrs)));
    }
    L::released(dev);
}

/// The sync of one range: `sync_single_for_cpu` (`DEVICE` false) or
/// `sync_single_for_device` (true).
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn sync_single<L: Lookup, const DEVICE: bool>(
    d: *mut bindings::device,
    addr: bindings::dma_addr_t,
    size: usize,
    dir: bindings::dma_data_direction,
) {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    let to = if DEVICE {
        SyncFor::Device
    } else {
        SyncFor::Cpu
    };
    if let Some(dir) = Direction::from_raw(dir) {
        L::with(|o| o.sync(dev, addr, size, dir, to));
    }
}

/// The sync of a scatterlist: `sync_sg_for_cpu` (`DEVICE` false) or
/// `sync_sg_for_device` (true).
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn sync_sg<L: Lookup, const DEVICE: bool>(
    d: *mut bindings::device,
    sg: *mut bindings::scatterlist,
    nents: c_int,
    dir: bindings::dma_data_direction,
) {
    // SAFETY: See above.
    let (dev, sg) = unsafe { (dev(d), SgIter::new(sg, nents)) };
    let to = if DEVICE {
        SyncFor::Device
    } else {
        SyncFor::Cpu
    };
    if let Some(dir) = Direction::from_raw(dir) {
        L::with(|o| o.sync_sg(dev, sg, dir, to));
    }
}

/// `alloc`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn alloc<L: Lookup>(
    d: *mut bindings::device,
    size: usize,
    handle: *mut bindings::dma_addr_t,
    gfp: bindings::gfp_t,
    _attrs: c_ulong,
) -> *mut c_void {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    if L::refuses_new(dev, "coherent allocation") {
        return core::ptr::null_mut();
    }
    let Some((cpu_addr, dma)) =
        L::with(|o| o.alloc(dev, size, Block::Coherent, Report::of_gfp(gfp))).flatten()
    else {
        return core::ptr::null_mut();
    };
    // SAFETY: `handle` is the caller's out-parameter, valid for writes.
    unsafe { *handle = dma };
    cpu_addr.as_ptr()
}

/// `free`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn free<L: Lookup>(
    d: *mut bindings::device,
    size: usize,
    vaddr: *mut c_void,
    handle: bindings::dma_addr_t,
    _attrs: c_ulong,
) {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    L::with(|o| o.free(dev, size, vaddr, handle, Block::Coherent));
    L::released(dev);
}

/// `alloc_pages_op`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn alloc_pages_op<L: Lookup>(
    d: *mut bindings::device,
    size: usize,
    handle: *mut bindings::dma_addr_t,
    _dir: bindings::dma_data_direction,
    gfp: bindings::gfp_t,
) -> *mut bindings::page {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    if L::refuses_new(dev, "page allocation") {
        return core::ptr::null_mut();
    }
    let Some((cpu_addr, dma)) =
        L::with(|o| o.alloc(dev, size, Block::Pages, Report::of_gfp(gfp))).flatten()
    else {
        return core::ptr::null_mut();
    };
    // SAFETY: `handle` is the caller's out-parameter, valid for writes.
    unsafe { *handle = dma };
    // SAFETY: `DmaOps::alloc` hands out `Pages` blocks in the linear map
    // only, so `cpu_addr` has a `struct page`.
    unsafe { bindings::rsdma_virt_to_page(cpu_addr.as_ptr()) }
}

/// `free_pages`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn free_pages<L: Lookup>(
    d: *mut bindings::device,
    size: usize,
    page: *mut bindings::page,
    handle: bindings::dma_addr_t,
    _dir: bindings::dma_data_direction,
) {
    // SAFETY: See above: `page` is what `alloc_pages_op` returned, whose
    // linear-map address is where `alloc` said the block was.
    let (dev, vaddr) = unsafe {
        (
            dev(d),
            bindings::rsdma_phys_to_virt(bindings::rsdma_page_to_phys(page)),
        )
    };
    L::with(|o| o.free(dev, size, vaddr, handle, Block::Pages));
    L::released(dev);
}

/// `map_resource`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn map_resource<L: Lookup>(
    d: *mut bindings::device,
    phys: bindings::phys_addr_t,
    size: usize,
    _dir: bindings::dma_data_direction,
    _attrs: c_ulong,
) -> bindings::dma_addr_t {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    if L::refuses_new(dev, "map_resource") {
        return MAPPING_ERROR;
    }
    L::with(|o| o.map_resource(dev, phys, size))
        .flatten()
        .unwrap_or(MAPPING_ERROR)
}

/// `dma_supported`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn dma_supported<L: Lookup>(d: *mut bindings::device, mask: u64) -> c_int {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    L::with(|o| o.dma_supported(dev, mask)).unwrap_or(false) as c_int
}

/// `get_required_mask`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn get_required_mask<L: Lookup>(d: *mut bindings::device) -> u64 {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    L::with(|o| o.required_mask(dev)).unwrap_or(0)
}

/// `max_mapping_size`.
///
/// # Safety
///
/// Called by the DMA core only, under the DMA API contract above.
unsafe extern "C" fn max_mapping_size<L: Lookup>(d: *mut bindings::device) -> usize {
    // SAFETY: See above.
    let dev = unsafe { dev(d) };
    L::with(|o| o.max_mapping_size(dev)).unwrap_or(0)
}

/// The ops table whose trampolines call what `L` finds.
pub(super) const fn table<L: Lookup>() -> bindings::dma_map_ops {
    bindings::dma_map_ops {
        alloc: Some(alloc::<L>),
        free: Some(free::<L>),
        alloc_pages_op: Some(alloc_pages_op::<L>),
        free_pages: Some(free_pages::<L>),
        mmap: None,
        get_sgtable: None,
        map_page: Some(map_page::<L>),
        unmap_page: Some(unmap_page::<L>),
        map_sg: Some(map_sg::<L>),
        unmap_sg: Some(unmap_sg::<L>),
        map_resource: Some(map_resource::<L>),
        unmap_resource: None,
        sync_single_for_cpu: Some(sync_single::<L, false>),
        sync_single_for_device: Some(sync_single::<L, true>),
        sync_sg_for_cpu: Some(sync_sg::<L, false>),
        sync_sg_for_device: Some(sync_sg::<L, true>),
        cache_sync: None,
        dma_supported: Some(dma_supported::<L>),
        get_required_mask: Some(get_required_mask::<L>),
        max_mapping_size: Some(max_mapping_size::<L>),
        opt_mapping_size: None,
        get_merge_boundary: None,
    }
}
